/* SPDX-License-Identifier: MIT */
/*
 * HTTP/2 streams, internal to http2.c: what happens to the frames http2.c has cut out of the
 * two byte streams once they name a stream. Pure: no I/O, no BPF.
 *
 * Owns: the stream table (opening, the closed-id ring, the oldest flushed past H2_MAX_STREAMS),
 * when a stream's exchange is done and handing it to the callback, header blocks (HPACK through
 * the per-direction nghttp2 inflater, its dynamic table bound, pseudo-headers, trailers, interim
 * responses, push promises) and DATA bodies (handed to body.h, which stores and decodes them).
 *
 * The connection and direction state is declared here too, because stream bookkeeping reads
 * the limits, the callback and each direction's inflater and frame in progress; only http2.c
 * and http2_stream.c include this header.
 */
#ifndef BT_HTTP2_STREAM_H
#define BT_HTTP2_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "proto/body.h"
#include "proto/http.h"
#include "proto/http2.h"

#define H2_FRAME_HDR_LEN 9
#define H2_CLOSED_RING 256 /* recently closed ids whose late frames are ignored */

/* How a direction's bytes began; decides who is the client and whether we joined late. */
enum h2_start { H2_START_NONE, H2_START_PREFACE, H2_START_SETTINGS, H2_START_OTHER };

/* How sure we are which direction is the client; stronger evidence replaces weaker. */
enum h2_role { H2_ROLE_DEFAULT, H2_ROLE_SETTINGS, H2_ROLE_HEADERS, H2_ROLE_PREFACE };

/* The message one direction sends on a stream. */
struct h2_half {
	struct http_msg m;
	struct body_store body; /* begun at the first DATA byte */
	size_t hdr_cap;		/* m.headers allocated */
	uint64_t last_ns;	/* last frame byte seen, the end of an unfinished message */
	bool seen;		/* any frame of it */
	bool hdrs;		/* its final header block arrived (decoded or not) */
	bool hdr_lost;		/* ... but could not be decoded */
	bool has_body;
	bool ended; /* END_STREAM, or the promised request of a push */
};

struct h2_stream {
	uint32_t id;
	struct h2_half half[2]; /* by enum bt_dir of the sender */
};

/* A header block (HEADERS or PUSH_PROMISE plus CONTINUATIONs) being decoded. */
struct h2_block {
	struct http_msg m; /* only this block's fields */
	size_t hdr_cap;	   /* m.headers allocated */
	size_t bytes;
	struct h2_stream *s; /* NULL: decode to keep HPACK in sync, then discard */
	uint32_t stream_id;  /* CONTINUATION must name it */
	int target;	     /* half receiving the fields: the sender, or its peer for a push */
	const char *drop;    /* why fields were dropped */
	bool active;
	bool failed;
	bool end_stream;
	bool promise;
};

struct h2_dir {
	nghttp2_hd_inflater *inflater;
	size_t table_bound;   /* largest dynamic table size update the inflater accepts */
	size_t pending_bound; /* raise waiting for the end of the block being decoded */
	enum h2_start start;
	const char *dead;   /* set once nothing more of this direction can be decoded */
	bool hpack_dead;    /* framing still followed, header blocks no longer decoded */
	bool first_frame;   /* next frame is the first of a direction without preface */
	size_t preface_off; /* preface bytes matched, while < HTTP2_PREFACE_LEN */

	uint8_t hdr[H2_FRAME_HDR_LEN];
	size_t hdr_len;
	uint32_t len, stream_id;
	uint8_t type, flags;
	bool padded;
	size_t off;	/* payload bytes consumed */
	size_t pre_len; /* pad length byte and fixed fields opening the payload */
	size_t pad;
	uint8_t pre[8];
	uint8_t rec[6]; /* SETTINGS parameter being read */
	size_t rec_len;
	uint64_t frame_ts, frame_tag; /* chunk holding the frame's first byte */
	struct h2_stream *cur;	      /* DATA frame target, NULL to discard */
	struct h2_block blk;
};

struct http2_conn {
	struct http2_limits lim;
	http_exchange_cb cb;
	void *ctx;
	struct h2_dir dir[2];
	struct h2_stream **streams; /* oldest first */
	size_t n_streams, cap_streams;
	uint32_t closed[H2_CLOSED_RING];
	size_t closed_next;
	uint32_t max_id[2]; /* highest stream id opened, by parity */
	int client_dir;
	enum h2_role role;
	bool midstream;
	bool poisoned;
	bool finished;
};

/* Records evidence @ev that @client_dir is the client, if stronger than what was known. */
static inline void h2_role_note(struct http2_conn *c, int client_dir, enum h2_role ev)
{
	if (ev <= c->role)
		return;
	c->role = ev;
	c->client_dir = client_dir;
}

/*
 * Raises the dynamic table size updates direction @d's inflater accepts to @bound (capped),
 * deferred to the end of a header block being decoded. Never lowers it.
 */
void h2_table_bound_raise(struct h2_dir *d, size_t bound);

/* Returns the open stream @id, or NULL. */
struct h2_stream *h2_stream_find(struct http2_conn *c, uint32_t id);

/*
 * Returns the open stream @id, opening it when @create allows and it was not recently closed;
 * NULL to ignore its frames. The stream belongs to @c.
 */
struct h2_stream *h2_stream_get(struct http2_conn *c, uint32_t id, bool create);

/* Hands the exchange of @s to the callback and frees @s; @why explains unfinished halves. */
void h2_stream_deliver(struct http2_conn *c, struct h2_stream *s, const char *why);

/* Delivers every open stream, oldest first; @why explains unfinished halves. */
void h2_stream_deliver_all(struct http2_conn *c, const char *why);

/* Delivers every stream that is now done (after a direction died). */
void h2_stream_check_all(struct http2_conn *c);

/* Ends the halves of @s whose headers say their body is whole, as END_STREAM would have. */
void h2_stream_end_by_length(struct http2_conn *c, struct h2_stream *s);

/* Frees @s and its messages without delivering them. */
void h2_stream_free(struct h2_stream *s);

/* Notes a frame of half @h seen at @ts: the first one starts the message and carries @tag. */
void h2_half_touch(struct h2_half *h, uint64_t ts, uint64_t tag);

/* END_STREAM of half @dir of @s at @ts; may deliver and free @s. */
void h2_half_end(struct http2_conn *c, struct h2_stream *s, int dir, uint64_t ts);

/* Adds @n DATA payload bytes that arrived at @ts to half @h. */
void h2_body_feed(struct http2_conn *c, struct h2_half *h, const uint8_t *p, size_t n, uint64_t ts);

/*
 * Starts the header block of a HEADERS (@promise false) or PUSH_PROMISE frame that @dir sent on
 * @id, for half @target of @s (NULL: decode only to keep HPACK in sync).
 */
void h2_block_begin(struct http2_conn *c, int dir, struct h2_stream *s, uint32_t id, int target,
		    bool promise, bool end_stream);

/* Feeds header block fragment bytes to @d's inflater; @final once the block is whole. */
void h2_hpack_feed(struct h2_dir *d, const uint8_t *p, size_t n, bool final);

/* END_HEADERS on @dir at @ts: applies the block to its stream, which may be delivered. */
void h2_block_end(struct http2_conn *c, int dir, uint64_t ts);

#endif
