/* SPDX-License-Identifier: MIT */
/*
 * HTTP message bodies, for both HTTP/1.1 (http1.c) and HTTP/2 (http2_stream.c). Pure over byte
 * buffers; zlib does the inflating.
 *
 * Owns: the default and the rule of the max-body limit, streaming content decoding (RFC 9110
 * §8.4.1: gzip, x-gzip and deflate, zlib-wrapped or raw, identity, and comma-separated lists
 * of them, undone in reverse order), the body arrival timeline (http_msg.body_ts), and what a
 * message carries when its coding cannot be undone.
 *
 * That last rule, the same for every HTTP version: a body whose coding is unsupported, corrupt,
 * or stops before its end although the message framing completed is delivered as the bytes
 * that crossed the wire (up to the limit, timeline in wire offsets), with msg.error naming the
 * problem, and msg.truncated only when bytes are really missing (limit, capture gap, message
 * cut short). The peer sent every byte, so this is the peer's fault, not a capture loss (span:
 * ERROR, bedtrace.http.parse_error); the bytes are what a user inspects in a dump (a mislabelled
 * plain body parses downstream as it is), and never half a decode passed off as the body.
 * A message cut short by the capture keeps what was decoded up to there and is truncated.
 */
#ifndef BT_BODY_H
#define BT_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/http.h"

/* Decoded body bytes kept per message unless --max-body says otherwise (README). */
#define BT_DEFAULT_MAX_BODY (64u << 20)

/* Body timeline entries kept per message; later pieces are timed by the last one. */
#define BODY_MAX_TS 65536

/* msg.error values set here */
#define BODY_ERR_UNSUPPORTED "unsupported content-encoding"
#define BODY_ERR_CORRUPT "corrupt content-encoding"
#define BODY_ERR_TRUNCATED "truncated content-encoding stream"
#define BODY_ERR_NOMEM "out of memory"

/* ---- the body of one message ---- */

/*
 * Storing state of the body of one message; zeroed (or body_store_free'd) between messages.
 * The body itself lives in the http_msg passed to each call, so the message owns it.
 */
struct body_store {
	struct body_decoder *dec; /* NULL on the identity path */
	size_t max;		  /* body bytes stored at most */
	bool started;		  /* body_store_begin() called */
	bool frozen;		  /* nothing more is stored (a gap broke decoding, or no memory) */
	size_t body_cap, ts_cap;
	uint8_t *raw; /* coded bytes kept while decoding, the body if decoding fails */
	size_t raw_len, raw_cap;
	struct http_body_ts *raw_ts; /* the timeline in coded offsets, for the same case */
	size_t n_raw_ts, raw_ts_cap;
	size_t dropped;	    /* decoded bytes beyond max */
	uint64_t decoded;   /* decoded bytes so far, stored or dropped */
	uint64_t raw_total; /* coded bytes so far */
};

/*
 * Starts the body of @m: @codings (may be NULL, not kept) lists the codings applied to it in
 * order, at most @max bytes of it will be stored. An unsupported coding sets @m->error and the
 * body is then stored as it arrives.
 */
void body_store_begin(struct body_store *b, struct http_msg *m, const char *codings, size_t max);

/*
 * Adds @n body bytes of @m that arrived at @ts: counts them in wire_body_len, stores what the
 * limit allows (decoded), extends the timeline. Sets first_body_ns, end_ns, and on failure
 * error and truncated as body.h's rule says.
 */
void body_store_data(struct body_store *b, struct http_msg *m, const uint8_t *p, size_t n,
		     uint64_t ts);

/*
 * Records that @n body bytes of @m crossed the wire at @ts but were not captured, on purpose
 * (nobody reads this body): counted in wire_body_len and omitted_bytes, not truncated; nothing
 * more of the body is stored.
 */
void body_store_omit(struct body_store *b, struct http_msg *m, uint64_t n, uint64_t ts);

/* Records that @lost body bytes of @m are missing at @ts: @m is truncated, decoding stops. */
void body_store_gap(struct body_store *b, struct http_msg *m, uint64_t lost, uint64_t ts);

/*
 * Ends the body of @m. @complete: the message framing reached its end, so a coded stream that
 * has not reached its own end is an error (body.h's rule). Releases what @b holds; @m keeps the
 * body. Harmless on a store never begun.
 */
void body_store_end(struct body_store *b, struct http_msg *m, bool complete);

/* Releases what @b holds for a message never ended (not the message's body); @b is zeroed. */
void body_store_free(struct body_store *b);

/* ---- content decoding ---- */

struct body_decoder;

/*
 * Where decoded bytes go: @data (caller frees) holds @len bytes in @cap allocated; at most @max
 * are stored, the rest is only counted in @dropped.
 */
struct body_buf {
	uint8_t *data;
	size_t len, cap;
	size_t max;
	size_t dropped;
};

/*
 * Returns a decoder for a Content-Encoding value (caller frees with body_decoder_free).
 * NULL, "" and "identity" give a pass-through decoder. NULL + EINVAL for a coding that is not
 * supported (br, zstd, compress...), NULL + ENOMEM when out of memory.
 */
struct body_decoder *body_decoder_new(const char *content_encoding);

/*
 * Decodes @len bytes of @in and appends the output to @out (grown by this function).
 * Returns 0, -E2BIG when this call dropped output, -EBADMSG when the input is corrupt (the
 * decoder then refuses further input with -EBADMSG), -ENOMEM.
 */
int body_decoder_feed(struct body_decoder *d, const uint8_t *in, size_t len, struct body_buf *out);

/*
 * Returns 0 if every coded stream reached its end (or no input was ever fed, an empty body),
 * -EBADMSG if the input was corrupt or stopped in the middle of a stream.
 */
int body_decoder_finish(struct body_decoder *d);

/* Frees @d; NULL is fine. */
void body_decoder_free(struct body_decoder *d);

#endif
