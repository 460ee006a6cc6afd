/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x connection parser (RFC 9112): turns the two captured byte streams of one connection
 * into request/response exchanges (http.h). Pure: no I/O, no BPF.
 *
 * Owns: message framing (Content-Length, chunked with extensions and trailers, close-delimited),
 * client/server role detection, FIFO pairing of pipelined requests with responses, interim 1xx
 * responses, HEAD/204/304, CONNECT and Upgrade hand-off, resynchronisation after garbage, capture
 * gaps or a connection first seen mid-message, and content decoding through body.h.
 *
 * Bytes arrive per direction in any chunking. Exchanges are delivered through the callback in
 * request order, when both messages are finished (complete, abandoned or lost); the exchange and
 * everything in it is freed when the callback returns. Callbacks must not call back into the
 * same connection.
 */
#ifndef BT_HTTP1_H
#define BT_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/http.h"

#define HTTP1_DEFAULT_MAX_HEADER_BYTES (64 * 1024)

/*
 * A direction that never found a message start gives up (-EPROTO) after skipping this much:
 * enough to ride out a large body the capture started in the middle of.
 */
#define HTTP1_RESYNC_BUDGET (64ull * 1024 * 1024)

struct http1_conn;

struct http1_limits {
	/* decoded body bytes stored per message; beyond: counted, not stored, msg.truncated.
	 * http1_conn_new(NULL, ...) selects BT_DEFAULT_MAX_BODY (body.h) */
	size_t max_body;
	/* start line + header fields (and, separately, a trailer section or a chunk-size line);
	 * beyond: the message is abandoned with msg.error and the stream resynchronises.
	 * 0 selects HTTP1_DEFAULT_MAX_HEADER_BYTES */
	size_t max_header_bytes;
};

/*
 * Returns a new parser (caller frees with http1_conn_free) or NULL + errno. @lim NULL selects
 * the defaults. @cb is called once per exchange when it is done.
 */
struct http1_conn *http1_conn_new(const struct http1_limits *lim, http_exchange_cb cb, void *ctx);

/*
 * Feeds @len bytes seen in @dir at @ts_ns; @tag is copied to the message whose first byte is
 * here. Returns 0, or -EPROTO when the stream is not (or no longer, after Upgrade/CONNECT)
 * HTTP/1.x: the caller then stops feeding; the parser stays usable for http1_conn_close().
 */
int http1_conn_feed(struct http1_conn *c, enum bt_dir dir, const uint8_t *data, size_t len,
		    uint64_t ts_ns, uint64_t tag);

/*
 * Records that @lost bytes are missing at this point of @dir. Inside a body of known length
 * they are skipped (the message is marked truncated); inside header or chunk framing the message
 * is abandoned and the stream resynchronises at the next message start.
 */
void http1_conn_gap(struct http1_conn *c, enum bt_dir dir, uint64_t lost, uint64_t ts_ns);

/*
 * How many of the next bytes of @dir the parser would store as body and nothing else: the rest
 * of a Content-Length body or of a chunk's data, when the body has no content coding to undo;
 * 0 otherwise. *@ex (may be NULL) gets the exchange of that message, request head parsed.
 */
uint64_t http1_conn_body_ahead(const struct http1_conn *c, enum bt_dir dir,
			       const struct http_exchange **ex);

/*
 * How many bytes of @dir come before its next message head: 0 between messages, the rest of a
 * Content-Length body; -1 when that is not known (inside a head, a chunked or close-delimited
 * body, a direction not in step yet, responses owed to more than one request).
 */
int64_t http1_conn_next_head(const struct http1_conn *c, enum bt_dir dir);

/*
 * The next @n bytes of @dir crossed the wire but were not captured, on purpose: they are the
 * body bytes http1_conn_body_ahead() announced, counted (body.h: body_store_omit) and not
 * stored. Returns 0, or -ERANGE when they are not (more than announced, or the stream moved on):
 * nothing is changed and the caller reports them as a gap.
 */
int http1_conn_omit(struct http1_conn *c, enum bt_dir dir, uint64_t n, uint64_t ts_ns);

/*
 * The connection ended at @ts_ns: completes close-delimited bodies and delivers every pending
 * exchange (a request without response gets has_response=false, incomplete=true).
 */
void http1_conn_close(struct http1_conn *c, uint64_t ts_ns);

/* Frees @c without delivering anything still pending; NULL is fine. */
void http1_conn_free(struct http1_conn *c);

/* Returns true if @data starts like an HTTP/1.x request line or status line. */
bool http1_detect(const uint8_t *data, size_t len);

#endif
