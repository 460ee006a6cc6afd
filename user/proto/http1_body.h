/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x message bodies, internal to http1.c: storing the body bytes http1.c has framed into
 * struct http_msg. Pure: no I/O.
 *
 * Owns: the max_body limit (bytes beyond are counted, not stored, and mark the message
 * truncated), the body arrival timeline (body_ts), undoing content and transfer codings through
 * body.h with a fall-back to the coded bytes when decoding fails, and capture gaps inside a body.
 * Also the buffer growth rule http1.c shares for its line and section buffers.
 */
#ifndef BT_HTTP1_BODY_H
#define BT_HTTP1_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/body.h"
#include "proto/http.h"

/* Decoding state of the body of one message in progress; zeroed between messages. */
struct h1_body {
	struct body_decoder *dec;
	bool frozen; /* stop storing body bytes (decoding broken by a gap, or no memory) */
	size_t body_cap, ts_cap;
	uint8_t *raw; /* coded payload kept while decoding, the body if decoding fails */
	size_t raw_len, raw_cap;
	struct http_body_ts *raw_ts; /* body_ts in coded offsets, for the same case */
	size_t n_raw_ts, raw_ts_cap;
	size_t dropped;
	uint64_t decoded, raw_total;
};

/*
 * Grows *@buf of *@cap elements of @elem bytes to hold @need, never beyond @max elements when
 * @max suffices. Returns 0, or -ENOMEM with *@buf untouched.
 */
int h1_grow(void **buf, size_t *cap, size_t need, size_t elem, size_t max);

/*
 * Starts the body of @m; @codings (may be NULL, not kept) lists the codings to undo in applied
 * order. An unusable coding sets @m->error and the body is then stored as it arrives.
 */
void h1_body_begin(struct h1_body *b, struct http_msg *m, const char *codings);

/* Adds @n body bytes that arrived at @ts to @m, storing at most @max decoded bytes in all. */
void h1_body_data(struct h1_body *b, struct http_msg *m, const uint8_t *p, size_t n, uint64_t ts,
		  size_t max);

/* Records that @lost body bytes of @m are missing at @ts; @m becomes truncated. */
void h1_body_gap(struct h1_body *b, struct http_msg *m, uint64_t lost, uint64_t ts);

/* Ends the body of @m (finishing decoding when @complete) and releases what @b held. */
void h1_body_end(struct h1_body *b, struct http_msg *m, bool complete);

/* Releases what @b holds for a message never ended; @b is left empty. */
void h1_body_free(struct h1_body *b);

#endif
