/* SPDX-License-Identifier: MIT */
/*
 * Passive HTTP/2 connection parser (RFC 9113) over the two plaintext byte streams of one
 * connection: framing, stream state, HPACK (RFC 7541, decoded by libnghttp2's inflater, one per
 * direction), DATA bodies (content-encoding undone by body.c) and per-stream exchanges in the
 * http.h model. Pure: no I/O, no BPF. Owns every byte it buffers and every exchange until the
 * callback returns.
 *
 * The traced process may be either end: the direction that carries the client connection
 * preface is the client. A connection first seen after its start is still followed; what cannot
 * be known (HPACK state, requests sent earlier) is reported, never guessed.
 */
#ifndef BT_HTTP2_H
#define BT_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/http.h"

/* "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" */
#define HTTP2_PREFACE_LEN 24

struct http2_conn;

struct http2_limits {
	size_t max_body; /* decoded body bytes kept per message; beyond: counted, not stored */
};

/*
 * Returns a new parser (free with http2_conn_free) or NULL + errno. @cb fires once per stream
 * when its exchange is done: END_STREAM both ways, RST_STREAM, GOAWAY covering it, a capture gap
 * or framing error that ends it, or http2_conn_close().
 */
struct http2_conn *http2_conn_new(const struct http2_limits *lim, http_exchange_cb cb, void *ctx);

/*
 * Feeds @len bytes the traced process sent (BT_DIR_SEND) or received (BT_DIR_RECV), seen at
 * @ts_ns with caller tag @tag. Returns 0, -EINVAL for bad arguments, or -EPROTO when the bytes
 * are not HTTP/2: the connection is then dead, its open exchanges have been delivered (as
 * incomplete, "HTTP/2 framing error") and later calls return -EPROTO. Bytes fed after a gap in
 * @dir or after http2_conn_close() are ignored.
 */
int http2_conn_feed(struct http2_conn *c, enum bt_dir dir, const uint8_t *data, size_t len,
		    uint64_t ts_ns, uint64_t tag);

/*
 * Records a capture gap of @lost bytes in @dir. HPACK cannot resynchronise, so that direction
 * is no longer decoded: its open messages are truncated ("capture gap: HPACK state lost") and
 * exchanges complete on what the other direction still delivers.
 */
void http2_conn_gap(struct http2_conn *c, enum bt_dir dir, uint64_t lost, uint64_t ts_ns);

/* Delivers every open exchange as incomplete; later feeds are ignored. Idempotent. */
void http2_conn_close(struct http2_conn *c, uint64_t ts_ns);

/* Frees @c and anything still buffered, without calling back (close first). NULL is fine. */
void http2_conn_free(struct http2_conn *c);

/* Returns true if @data starts with the client connection preface, or is a prefix of it. */
bool http2_detect_preface(const uint8_t *data, size_t len);

/* What bytes say about being HTTP/2, for protocol detection (pure, no state). */
enum http2_detect {
	HTTP2_NO,    /* not HTTP/2 as far as these bytes tell */
	HTTP2_YES,   /* HTTP/2 */
	HTTP2_MORE,  /* a strict prefix of the client preface: more bytes decide */
	HTTP2_MAYBE, /* a server's first SETTINGS frame: HTTP/2 if the other direction is too */
};

/*
 * The first @len bytes of a direction: HTTP2_YES for the whole client connection preface,
 * HTTP2_MORE for a prefix of it, HTTP2_MAYBE for a plausible SETTINGS frame (the server
 * connection preface, RFC 9113 §3.4), else HTTP2_NO (fewer than the 9 bytes of a frame header
 * cannot show SETTINGS yet: a caller holding the bytes asks again with more).
 */
enum http2_detect http2_detect(const uint8_t *data, size_t len);

/*
 * Bytes of a direction joined mid-stream: HTTP2_YES when they begin with the client preface or
 * with HTTP/2 frames (every frame header in them plausible, and either several, or one that
 * fills @len exactly, or one that is not DATA), else HTTP2_NO.
 */
enum http2_detect http2_detect_mid(const uint8_t *data, size_t len);

#endif
