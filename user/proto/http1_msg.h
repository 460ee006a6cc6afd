/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x message syntax (RFC 9112), internal to http1.c: pure functions over a line or a
 * section the caller has already buffered; no state, no I/O.
 *
 * Owns: start-line recognition (request line, status line, a start line found after junk, and
 * what an unfinished line can still become), field-line parsing into struct http_msg (obs-fold,
 * lower-cased names), body framing (RFC 9112 §6.3: Content-Length lists, Transfer-Encoding,
 * which codings to undo), chunk-size lines, the authority of a request, and telling TLS or the
 * HTTP/2 preface from HTTP/1.x.
 */
#ifndef BT_HTTP1_MSG_H
#define BT_HTTP1_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/http.h"

enum h1_kind { KIND_NONE, KIND_REQ, KIND_RESP };
enum h1_framing { FRAME_NONE, FRAME_LEN, FRAME_CHUNKED, FRAME_CLOSE };

/* A parsed start line; method and target point into the parsed line, not NUL-terminated. */
struct h1_start {
	const char *method, *target;
	size_t method_len, target_len;
	int status;
};

/* Parses whole start line @l (line ending removed) into @s; returns its kind, KIND_NONE if bad. */
enum h1_kind h1_parse_start(const char *l, size_t n, struct h1_start *s);

/* Returns whether the first @n bytes of an unfinished line can still become a start line. */
bool h1_start_prefix_ok(const char *l, size_t n);

/*
 * Looks for a start line beginning after junk inside line @l (without line ending), of the kinds
 * @req/@resp allow. Returns its offset and sets *@kind, or -1.
 */
ssize_t h1_find_start(const char *l, size_t n, bool req, bool resp, enum h1_kind *kind);

/* Returns whether unfinished line @l looks like a status line or a standard-method request. */
bool h1_partial_start_ok(const char *l, size_t n);

/* Returns true if a direction's first @n bytes @b are TLS or the HTTP/2 preface. */
bool h1_not_http1(const uint8_t *b, size_t n);

/*
 * Parses field lines (up to and including the empty line) of @len bytes at @b, appending to
 * @m's headers (owned by @m). Returns NULL, or a static error string.
 */
const char *h1_parse_fields(struct http_msg *m, const char *b, size_t len);

/*
 * Decides the body framing of @m per RFC 9112 §6.3 (1xx, 101 and CONNECT tunnels are left to
 * the caller): *@fr, *@len for FRAME_LEN, and in *@codings (malloc'd, caller frees; NULL for
 * none) the codings to undo in the order they were applied. Returns NULL, or a static error
 * string with *@codings NULL.
 */
const char *h1_framing(const struct http_msg *m, bool is_req, const char *req_method,
		       enum h1_framing *fr, uint64_t *len, char **codings);

/* Sets @m->authority (malloc'd, owned by @m; stays NULL if unknown) from Host or the target. */
void h1_set_authority(struct http_msg *m);

/*
 * Parses chunk-size line @l of @n bytes (without its '\n'): 1*HEXDIG [BWS] [; chunk-ext].
 * Returns 0 with *@size set, or -EINVAL if malformed or too large.
 */
int h1_parse_chunk_size(const char *l, size_t n, uint64_t *size);

#endif
