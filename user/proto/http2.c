// SPDX-License-Identifier: MIT
/*
 * HTTP/2 connection parser: the client preface and frames of two passively captured byte
 * streams, which direction is the client, whether we joined late, SETTINGS, RST_STREAM, GOAWAY,
 * capture gaps and the http2.h API. What a frame carries for a stream (header blocks, DATA,
 * stream lifetimes) goes to http2_stream.c. Nothing here enforces flow control or SETTINGS
 * limits: we watch, we do not police.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "proto/http2.h"
#include "proto/http2_stream.h"
#include "util/log.h"

#define H2_DEFAULT_TABLE 4096	 /* RFC 9113 §6.5.2 initial SETTINGS_HEADER_TABLE_SIZE */
#define H2_MIDSTREAM_TABLE 65536 /* assumed when the SETTINGS exchange was not seen */
/*
 * Bytes not known to be HTTP/2 (a direction that does not start with the preface, detection)
 * are only believed to be frames no longer than this: printable text (HTTP/1.x, JSON) decodes
 * as a frame length of at least 2 MiB, so this rejects it without limiting synchronised frames.
 */
#define H2_PLAUSIBLE_FRAME_MAX (1u << 20)
/* Frame headers detection checks in a chunk joined mid-stream. */
#define H2_DETECT_FRAMES 16

enum h2_type {
	H2_DATA = 0x0,
	H2_HEADERS = 0x1,
	H2_PRIORITY = 0x2,
	H2_RST_STREAM = 0x3,
	H2_SETTINGS = 0x4,
	H2_PUSH_PROMISE = 0x5,
	H2_PING = 0x6,
	H2_GOAWAY = 0x7,
	H2_WINDOW_UPDATE = 0x8,
	H2_CONTINUATION = 0x9,
};

#define H2_F_END_STREAM 0x01
#define H2_F_ACK 0x01
#define H2_F_END_HEADERS 0x04
#define H2_F_PADDED 0x08
#define H2_F_PRIORITY 0x20
#define H2_SETTINGS_HEADER_TABLE_SIZE 0x1

static const char h2_preface[HTTP2_PREFACE_LEN] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static const char ERR_GAP[] = "capture gap: HPACK state lost";
static const char ERR_FRAMING[] = "HTTP/2 framing error";
static const char ERR_CLOSED[] = "connection closed before end of stream";
static const char ERR_GOAWAY[] = "stream not processed (GOAWAY)";

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool http2_detect_preface(const uint8_t *data, size_t len)
{
	if (!data || len == 0)
		return false;
	if (len > HTTP2_PREFACE_LEN)
		len = HTTP2_PREFACE_LEN;
	return memcmp(data, h2_preface, len) == 0;
}

/* ---- frame rules ---- */

static uint32_t frame_len(const uint8_t *h)
{
	return (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
}

/*
 * What RFC 9113 §6 says a frame header of @type must carry: stream 0 or not, a payload length
 * the type allows. Unknown types pass: extension frames are ignored (§5.5).
 */
static bool frame_shape_ok(uint8_t type, uint8_t flags, uint32_t len, uint32_t sid)
{
	switch (type) {
	case H2_DATA:
	case H2_HEADERS:
	case H2_CONTINUATION:
		return sid != 0;
	case H2_PRIORITY:
		return sid != 0 && len == 5;
	case H2_RST_STREAM:
		return sid != 0 && len == 4;
	case H2_SETTINGS:
		return sid == 0 && len % 6 == 0 && (!(flags & H2_F_ACK) || len == 0);
	case H2_PUSH_PROMISE:
		return sid != 0 && len >= 4;
	case H2_PING:
		return sid == 0 && len == 8;
	case H2_GOAWAY:
		return sid == 0 && len >= 8;
	case H2_WINDOW_UPDATE:
		return len == 4;
	default:
		return true;
	}
}

/*
 * True for the 9-byte header @h of a frame believable where the bytes are not known to be
 * HTTP/2: a known type (CONTINUATION never @first, it only follows a header block), the shape
 * §6 requires, the reserved stream-id bit clear and at most H2_PLAUSIBLE_FRAME_MAX long.
 */
static bool frame_plausible(const uint8_t *h, bool first)
{
	uint32_t len = frame_len(h), sid = be32(h + 5);
	uint8_t type = h[3];

	if (type > H2_CONTINUATION || (first && type == H2_CONTINUATION) ||
	    len > H2_PLAUSIBLE_FRAME_MAX || (sid & 0x80000000u))
		return false;
	return frame_shape_ok(type, h[4], len, sid);
}

enum http2_detect http2_detect(const uint8_t *data, size_t len)
{
	if (http2_detect_preface(data, len))
		return len >= HTTP2_PREFACE_LEN ? HTTP2_YES : HTTP2_MORE;
	if (len >= H2_FRAME_HDR_LEN && data[3] == H2_SETTINGS && frame_plausible(data, true))
		return HTTP2_MAYBE;
	return HTTP2_NO;
}

/*
 * Several plausible frame headers in a row, or one frame that fills the chunk exactly, or one
 * that is not DATA and runs on: a lone frame-sized prefix of random binary data is too easy to
 * match.
 */
enum http2_detect http2_detect_mid(const uint8_t *data, size_t len)
{
	size_t off = 0, frames = 0;
	bool last_data = false;

	if (!data)
		return HTTP2_NO;
	if (len >= HTTP2_PREFACE_LEN && http2_detect_preface(data, HTTP2_PREFACE_LEN))
		return HTTP2_YES;
	while (off + H2_FRAME_HDR_LEN <= len && frames < H2_DETECT_FRAMES) {
		if (!frame_plausible(data + off, frames == 0))
			return HTTP2_NO;
		last_data = data[off + 3] == H2_DATA;
		frames++;
		off += H2_FRAME_HDR_LEN + frame_len(data + off);
	}
	if (!frames)
		return HTTP2_NO;
	return frames > 1 || off == len || !last_data ? HTTP2_YES : HTTP2_NO;
}

static const char *rst_reason(uint32_t code)
{
	static const char *const reason[] = {
	    "stream reset: NO_ERROR",
	    "stream reset: PROTOCOL_ERROR",
	    "stream reset: INTERNAL_ERROR",
	    "stream reset: FLOW_CONTROL_ERROR",
	    "stream reset: SETTINGS_TIMEOUT",
	    "stream reset: STREAM_CLOSED",
	    "stream reset: FRAME_SIZE_ERROR",
	    "stream reset: REFUSED_STREAM",
	    "stream reset: CANCEL",
	    "stream reset: COMPRESSION_ERROR",
	    "stream reset: CONNECT_ERROR",
	    "stream reset: ENHANCE_YOUR_CALM",
	    "stream reset: INADEQUATE_SECURITY",
	    "stream reset: HTTP_1_1_REQUIRED",
	};

	if (code < sizeof(reason) / sizeof(reason[0]))
		return reason[code];
	return "stream reset";
}

static void midstream_set(struct http2_conn *c)
{
	if (c->midstream)
		return;
	c->midstream = true;
	h2_table_bound_raise(&c->dir[0], H2_MIDSTREAM_TABLE);
	h2_table_bound_raise(&c->dir[1], H2_MIDSTREAM_TABLE);
}

/* ---- frames ---- */

static void conn_poison(struct http2_conn *c, int dir, const char *why)
{
	pr_debug("http2: %s bytes are not HTTP/2: %s\n", dir == BT_DIR_SEND ? "sent" : "received",
		 why);
	c->poisoned = true;
	c->dir[0].dead = c->dir[1].dead = ERR_FRAMING;
	h2_stream_deliver_all(c, ERR_FRAMING);
}

static void goaway(struct http2_conn *c, int dir, uint32_t last_id)
{
	/* Streams the GOAWAY's receiver opened above last_id were never processed. */
	uint32_t parity = dir == c->client_dir ? 0 : 1;
	size_t i = 0;

	while (i < c->n_streams) {
		struct h2_stream *s = c->streams[i];

		if (s->id > last_id && (s->id & 1) == parity)
			h2_stream_deliver(c, s, ERR_GOAWAY);
		else
			i++;
	}
}

/* The first frame of a direction that did not start with the preface. */
static int first_frame(struct http2_conn *c, int dir)
{
	struct h2_dir *d = &c->dir[dir];
	enum h2_start other = c->dir[!dir].start;

	d->first_frame = false;
	if (!frame_plausible(d->hdr, true))
		return -EPROTO;
	if (d->type == H2_SETTINGS && !(d->flags & H2_F_ACK)) {
		/* The server connection preface (RFC 9113 §3.4). */
		d->start = H2_START_SETTINGS;
		if (other == H2_START_SETTINGS || other == H2_START_OTHER)
			midstream_set(c);
		else
			h2_role_note(c, !dir, H2_ROLE_SETTINGS);
	} else {
		d->start = H2_START_OTHER;
		if (other != H2_START_PREFACE)
			midstream_set(c);
	}
	return 0;
}

static int frame_begin(struct http2_conn *c, int dir)
{
	struct h2_dir *d = &c->dir[dir];
	size_t fixed = 0;
	bool bad = false;
	int err;

	d->len = frame_len(d->hdr);
	d->type = d->hdr[3];
	d->flags = d->hdr[4];
	d->stream_id = be32(d->hdr + 5) & 0x7fffffffu;
	d->off = 0;
	d->pad = 0;
	d->rec_len = 0;
	d->cur = NULL;
	d->padded = false;

	if (d->first_frame) {
		err = first_frame(c, dir);
		if (err)
			return err;
	}
	if (d->blk.active && (d->type != H2_CONTINUATION || d->stream_id != d->blk.stream_id))
		return -EPROTO;

	bad = !frame_shape_ok(d->type, d->flags, d->len, d->stream_id);
	switch (d->type) {
	case H2_DATA:
		d->padded = d->flags & H2_F_PADDED;
		break;
	case H2_HEADERS:
		d->padded = d->flags & H2_F_PADDED;
		fixed = d->flags & H2_F_PRIORITY ? 5 : 0;
		break;
	case H2_RST_STREAM:
		fixed = 4;
		break;
	case H2_PUSH_PROMISE:
		d->padded = d->flags & H2_F_PADDED;
		fixed = 4;
		break;
	case H2_GOAWAY:
		fixed = 8;
		break;
	case H2_CONTINUATION:
		bad = bad || !d->blk.active;
		break;
	default:
		break;
	}
	d->pre_len = (d->padded ? 1 : 0) + fixed;
	if (bad || d->len < d->pre_len)
		return -EPROTO;
	return 0;
}

/* The fixed fields opening the payload are in d->pre: act on what they name. */
static int frame_prefix(struct http2_conn *c, int dir)
{
	struct h2_dir *d = &c->dir[dir];
	const uint8_t *fx = d->pre + (d->padded ? 1 : 0);
	struct h2_stream *s;
	uint32_t id, code;
	bool create;

	if (d->padded) {
		d->pad = d->pre[0];
		if (d->pad > d->len - d->pre_len)
			return -EPROTO;
	}
	switch (d->type) {
	case H2_DATA:
		create = c->midstream || d->stream_id > c->max_id[d->stream_id & 1];
		s = h2_stream_get(c, d->stream_id, create);
		if (s && !s->half[dir].ended) {
			d->cur = s;
			h2_half_touch(&s->half[dir], d->frame_ts, d->frame_tag);
		}
		break;
	case H2_HEADERS:
		s = h2_stream_get(c, d->stream_id, true);
		h2_block_begin(c, dir, s, d->stream_id, dir, false, d->flags & H2_F_END_STREAM);
		break;
	case H2_PUSH_PROMISE:
		id = be32(fx) & 0x7fffffffu;
		if (!id)
			return -EPROTO;
		/* Only a server pushes; the promised request is its peer's half. */
		h2_role_note(c, !dir, H2_ROLE_HEADERS);
		s = h2_stream_get(c, id, true);
		h2_block_begin(c, dir, s, d->stream_id, !dir, true, false);
		break;
	case H2_RST_STREAM:
		s = h2_stream_find(c, d->stream_id);
		if (!s)
			break;
		/*
		 * NO_ERROR, STREAM_CLOSED, CANCEL: the sender is done with the stream, not failing
		 * it. curl resets each stream whose content-length it has read, before END_STREAM.
		 */
		code = be32(fx);
		if (code == 0x0 || code == 0x5 || code == 0x8)
			h2_stream_end_by_length(c, s);
		h2_stream_deliver(c, s, rst_reason(code));
		break;
	case H2_GOAWAY:
		goaway(c, dir, be32(fx) & 0x7fffffffu);
		break;
	default:
		break;
	}
	return 0;
}

static void frame_content(struct http2_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	struct h2_dir *d = &c->dir[dir];
	size_t take;

	switch (d->type) {
	case H2_DATA:
		if (d->cur)
			h2_body_feed(c, &d->cur->half[dir], p, n, ts);
		break;
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		h2_hpack_feed(d, p, n, false);
		break;
	case H2_SETTINGS:
		while (n) {
			take = sizeof(d->rec) - d->rec_len;
			take = take < n ? take : n;
			memcpy(d->rec + d->rec_len, p, take);
			d->rec_len += take;
			p += take;
			n -= take;
			if (d->rec_len < sizeof(d->rec))
				break;
			d->rec_len = 0;
			/* Our peer's encoder writes the other direction. */
			if ((d->rec[0] << 8 | d->rec[1]) == H2_SETTINGS_HEADER_TABLE_SIZE)
				h2_table_bound_raise(&c->dir[!dir], be32(d->rec + 2));
		}
		break;
	default:
		break;
	}
}

static void frame_end(struct http2_conn *c, int dir, uint64_t ts)
{
	struct h2_dir *d = &c->dir[dir];
	struct h2_stream *s = d->cur;

	switch (d->type) {
	case H2_DATA:
		if (!s)
			break;
		s->half[dir].last_ns = ts;
		if (d->flags & H2_F_END_STREAM)
			h2_half_end(c, s, dir, ts);
		break;
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		if (d->flags & H2_F_END_HEADERS)
			h2_block_end(c, dir, ts);
		break;
	default:
		break;
	}
	d->cur = NULL;
	d->hdr_len = 0;
}

/* Consumes payload bytes of the current frame; the caller ends the frame when it is whole. */
static int frame_payload(struct http2_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	struct h2_dir *d = &c->dir[dir];
	size_t take, content_end;
	int err;

	while (n) {
		if (d->off < d->pre_len) {
			take = d->pre_len - d->off;
			take = take < n ? take : n;
			memcpy(d->pre + d->off, p, take);
			d->off += take;
			if (d->off == d->pre_len) {
				err = frame_prefix(c, dir);
				if (err)
					return err;
			}
		} else {
			content_end = d->len - d->pad;
			if (d->off < content_end) {
				take = content_end - d->off;
				take = take < n ? take : n;
				frame_content(c, dir, p, take, ts);
			} else {
				take = d->len - d->off; /* padding */
				take = take < n ? take : n;
			}
			d->off += take;
		}
		p += take;
		n -= take;
	}
	return 0;
}

/* A direction's first byte tells whether it carries the client preface. */
static void dir_start(struct http2_conn *c, int dir, uint8_t first)
{
	struct h2_dir *d = &c->dir[dir];

	if (first == (uint8_t)h2_preface[0] && c->dir[!dir].start != H2_START_PREFACE) {
		d->start = H2_START_PREFACE;
		h2_role_note(c, dir, H2_ROLE_PREFACE);
		return;
	}
	d->preface_off = HTTP2_PREFACE_LEN;
	d->first_frame = true;
	d->start = H2_START_OTHER; /* refined by first_frame() */
}

static int feed_one(struct http2_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts,
		    uint64_t tag, size_t *used)
{
	struct h2_dir *d = &c->dir[dir];
	size_t take;
	int err;

	if (d->start == H2_START_NONE)
		dir_start(c, dir, p[0]);
	if (d->preface_off < HTTP2_PREFACE_LEN) {
		take = HTTP2_PREFACE_LEN - d->preface_off;
		take = take < n ? take : n;
		if (memcmp(p, h2_preface + d->preface_off, take) != 0)
			return -EPROTO;
		d->preface_off += take;
		*used = take;
		return 0;
	}
	if (d->hdr_len < H2_FRAME_HDR_LEN) {
		if (d->hdr_len == 0) {
			d->frame_ts = ts;
			d->frame_tag = tag;
		}
		take = H2_FRAME_HDR_LEN - d->hdr_len;
		take = take < n ? take : n;
		memcpy(d->hdr + d->hdr_len, p, take);
		d->hdr_len += take;
		*used = take;
		if (d->hdr_len < H2_FRAME_HDR_LEN)
			return 0;
		err = frame_begin(c, dir);
		if (!err && d->pre_len == 0)
			err = frame_prefix(c, dir);
	} else {
		take = d->len - d->off;
		take = take < n ? take : n;
		*used = take;
		err = frame_payload(c, dir, p, take, ts);
	}
	if (!err && d->off == d->len && !c->poisoned)
		frame_end(c, dir, ts);
	return err;
}

int http2_conn_feed(struct http2_conn *c, enum bt_dir dir, const uint8_t *data, size_t len,
		    uint64_t ts_ns, uint64_t tag)
{
	size_t used;
	int err;

	if (!c || (dir != BT_DIR_SEND && dir != BT_DIR_RECV) || (!data && len))
		return -EINVAL;
	if (c->poisoned)
		return -EPROTO;
	while (len && !c->finished && !c->dir[dir].dead) {
		used = 0;
		err = feed_one(c, dir, data, len, ts_ns, tag, &used);
		if (err) {
			conn_poison(c, dir, "invalid preface or frame");
			return -EPROTO;
		}
		data += used;
		len -= used;
	}
	return 0;
}

void http2_conn_gap(struct http2_conn *c, enum bt_dir dir, uint64_t lost, uint64_t ts_ns)
{
	struct h2_dir *d;
	struct h2_half *h;
	size_t i;

	(void)ts_ns;
	if (!c || (dir != BT_DIR_SEND && dir != BT_DIR_RECV) || c->poisoned || c->finished)
		return;
	d = &c->dir[dir];
	if (!d->dead) {
		d->dead = ERR_GAP;
		d->cur = NULL;
		d->blk.active = false;
		d->blk.s = NULL;
		http_msg_clear(&d->blk.m);
	}
	for (i = 0; i < c->n_streams; i++) {
		h = &c->streams[i]->half[dir];
		if (h->ended)
			continue;
		h->m.lost_bytes += lost;
		h->m.truncated = true;
		if (!h->m.error)
			h->m.error = ERR_GAP;
	}
	h2_stream_check_all(c);
}

void http2_conn_close(struct http2_conn *c, uint64_t ts_ns)
{
	size_t i;

	(void)ts_ns;
	if (!c || c->finished)
		return;
	c->finished = true;
	for (i = 0; i < c->n_streams; i++)
		h2_stream_end_by_length(c, c->streams[i]);
	h2_stream_deliver_all(c, ERR_CLOSED);
}

struct http2_conn *http2_conn_new(const struct http2_limits *lim, http_exchange_cb cb, void *ctx)
{
	struct http2_conn *c;
	int dir, rv;

	if (!lim || !cb) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->lim = *lim;
	c->cb = cb;
	c->ctx = ctx;
	c->client_dir =
	    BT_DIR_SEND; /* most traced processes call out; evidence may say otherwise */
	for (dir = 0; dir < 2; dir++) {
		rv = nghttp2_hd_inflate_new(&c->dir[dir].inflater);
		if (rv) {
			http2_conn_free(c);
			errno = ENOMEM;
			return NULL;
		}
		c->dir[dir].table_bound = H2_DEFAULT_TABLE;
	}
	return c;
}

void http2_conn_free(struct http2_conn *c)
{
	size_t i;
	int dir;

	if (!c)
		return;
	for (i = 0; i < c->n_streams; i++)
		h2_stream_free(c->streams[i]);
	free(c->streams);
	for (dir = 0; dir < 2; dir++) {
		if (c->dir[dir].inflater)
			nghttp2_hd_inflate_del(c->dir[dir].inflater);
		http_msg_clear(&c->dir[dir].blk.m);
	}
	free(c);
}
