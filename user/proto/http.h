/* SPDX-License-Identifier: MIT */
/*
 * Protocol-neutral HTTP exchange produced by the HTTP/1.1 (http1.c) and HTTP/2 (http2.c)
 * connection parsers and consumed by the span builders (httpspan.c, bedrock.c).
 * The parsers own every exchange they hand to a callback; it is freed when the callback returns.
 */
#ifndef BT_HTTP_H
#define BT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which way bytes went, seen from the traced process. */
enum bt_dir {
	BT_DIR_SEND = 0, /* written by the traced process (SSL_write, write, send...) */
	BT_DIR_RECV = 1, /* read by the traced process */
};

struct http_header {
	char *name; /* lowercased */
	char *value;
};

/* Time at which the body byte at decoded offset @off (and those after it) was seen. */
struct http_body_ts {
	size_t off;
	uint64_t ts_ns;
};

struct http_msg {
	/* request only */
	char *method;	    /* "GET", ... */
	char *target;	    /* request-target / :path as sent */
	char *authority;    /* Host header or :authority, NULL if absent */
	char *scheme;	    /* :scheme (HTTP/2) or NULL */
	uint32_t path_hash; /* HTTP/1: bt_path_hash (http_head.h) of "METHOD /path" as sent */
	/* response only */
	int status; /* 0 when not a response */

	struct http_header *headers;
	size_t n_headers;

	uint8_t *body; /* decoded: chunking and content-encoding removed; when the coding cannot be
			* undone (error says why), the bytes as received (body.h) */
	size_t body_len;
	size_t wire_body_len; /* body bytes as they crossed the wire */
	struct http_body_ts *body_ts;
	size_t n_body_ts;

	uint64_t start_ns;	/* first byte of the message */
	uint64_t end_ns;	/* last byte of the message */
	uint64_t first_body_ns; /* first body byte, 0 when there is no body */
	uint64_t tag;		/* tag passed with the chunk holding the first byte */

	uint64_t lost_bytes;	/* bytes known to be missing (capture gaps) */
	uint64_t omitted_bytes; /* body bytes not captured on purpose (http1_conn_omit): nobody
				 * reads this body, so body holds at most what came before them */
	bool truncated;		/* body incomplete: gap, limit, or stream ended early */
	bool complete;		/* the message reached its end as framed */
	const char *error;	/* static string naming a parse/decode problem, or NULL */
};

struct http_exchange {
	int version;	    /* 11 or 20 */
	bool server_side;   /* the traced process received the request */
	uint32_t stream_id; /* HTTP/2 stream, 0 for HTTP/1.1 */
	bool has_request, has_response;
	bool incomplete; /* connection first seen mid-stream or ended before the exchange did */
	struct http_msg req;
	struct http_msg resp;
};

typedef void (*http_exchange_cb)(void *ctx, struct http_exchange *ex);

/* Returns the first header named @name (case-insensitive) or NULL. */
const char *http_msg_header(const struct http_msg *m, const char *name);
/* Frees everything owned by @m and zeroes it. */
void http_msg_clear(struct http_msg *m);
void http_exchange_clear(struct http_exchange *ex);
/* Returns the body timestamp for decoded offset @off (last seen at or before it), 0 if none. */
uint64_t http_msg_body_time(const struct http_msg *m, size_t off);

#endif
