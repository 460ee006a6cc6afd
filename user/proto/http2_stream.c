// SPDX-License-Identifier: MIT
/*
 * HTTP/2 streams, header blocks and bodies; see http2_stream.h for what it owns.
 *
 * A stream is delivered as soon as both halves are done or can no longer be seen, so a
 * long-lived connection never holds more than its open streams. Every header block is decoded,
 * even for streams not tracked, because HPACK state is shared by the whole direction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/http2_stream.h"
#include "util/grow.h"
#include "util/log.h"

#define H2_MAX_STREAMS 512 /* open streams tracked; the oldest is flushed beyond */
#define H2_MAX_HEADERS 256 /* fields stored per header block */
#define H2_MAX_HEADER_BYTES (256 * 1024)
#define H2_MAX_TABLE (1u << 20) /* cap on what a peer may announce, bounds inflater memory */

static const char ERR_MIDSTREAM[] = "connection seen mid-stream";
static const char ERR_HPACK[] = "HPACK decode error";
static const char ERR_TOO_MANY[] = "too many concurrent streams";
static const char ERR_NO_HEADERS[] = "DATA without HEADERS";
static const char ERR_HDR_LIMIT[] = "header list too large, fields dropped";
static const char ERR_NOMEM[] = "out of memory";
static const char ERR_STATUS[] = "invalid :status";

/* ---- HPACK table bound ---- */

/*
 * SETTINGS_HEADER_TABLE_SIZE only bounds the size updates the peer's encoder may send; the
 * updates themselves, in band, drive the table (RFC 7541 §4.2, §6.3). A passive observer cannot
 * tell which of the peer's in-flight header blocks were encoded before it applied a smaller
 * value, so the bound is only ever raised: the inflater's table then holds a superset of the
 * encoder's newest entries, which index identically, and decoding stays exact.
 */
void h2_table_bound_raise(struct h2_dir *d, size_t bound)
{
	if (bound > H2_MAX_TABLE)
		bound = H2_MAX_TABLE;
	if (bound <= d->table_bound)
		return;
	if (d->blk.active) {
		if (bound > d->pending_bound)
			d->pending_bound = bound;
		return;
	}
	if (nghttp2_hd_inflate_change_table_size(d->inflater, bound) == 0)
		d->table_bound = bound;
}

/* ---- stream table ---- */

struct h2_stream *h2_stream_find(struct http2_conn *c, uint32_t id)
{
	size_t i;

	for (i = c->n_streams; i > 0; i--)
		if (c->streams[i - 1]->id == id)
			return c->streams[i - 1];
	return NULL;
}

static bool stream_was_closed(const struct http2_conn *c, uint32_t id)
{
	size_t i;

	for (i = 0; i < H2_CLOSED_RING; i++)
		if (c->closed[i] == id)
			return true;
	return false;
}

static void half_free(struct h2_half *h)
{
	body_store_free(&h->body);
	http_msg_clear(&h->m);
}

void h2_stream_free(struct h2_stream *s)
{
	half_free(&s->half[0]);
	half_free(&s->half[1]);
	free(s);
}

/* Unlinks @s from the table and from whatever frame is being read into it; caller frees. */
static void stream_unlink(struct http2_conn *c, struct h2_stream *s)
{
	size_t i;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		if (c->dir[dir].cur == s)
			c->dir[dir].cur = NULL;
		if (c->dir[dir].blk.s == s)
			c->dir[dir].blk.s = NULL;
	}
	for (i = 0; i < c->n_streams; i++) {
		if (c->streams[i] != s)
			continue;
		memmove(&c->streams[i], &c->streams[i + 1],
			(c->n_streams - i - 1) * sizeof(c->streams[0]));
		c->n_streams--;
		break;
	}
	c->closed[c->closed_next] = s->id;
	c->closed_next = (c->closed_next + 1) % H2_CLOSED_RING;
}

/* Settles what an unfinished half says about itself before it is handed out. */
static void half_settle(struct http2_conn *c, struct h2_half *h, int dir, const char *why)
{
	struct http_msg *m = &h->m;

	if (!h->ended) {
		m->complete = false;
		if (h->seen) {
			m->truncated = true;
			m->end_ns = h->last_ns;
		}
		if (c->dir[dir].dead)
			why = c->dir[dir].dead;
		else if (c->midstream && !h->seen)
			why = ERR_MIDSTREAM;
		if (!m->error)
			m->error = why;
	}
	if (h->seen && !h->hdrs && !m->error)
		m->error = c->midstream ? ERR_MIDSTREAM : ERR_NO_HEADERS;
	body_store_end(&h->body, m, false);
}

/*
 * True when half @dir of @s, unended, already holds its whole body as its headers framed it:
 * DATA summing to content-length (RFC 9113 §8.1.1), or no body where none can follow (a response
 * to HEAD, 204, 304). A client that has read content-length bytes is done with the stream and
 * may close without reading the END_STREAM frame that follows (curl does), so at connection close
 * this, not END_STREAM, says whether the message was cut short.
 */
static bool half_length_done(const struct http2_conn *c, const struct h2_stream *s, int dir)
{
	const struct h2_half *h = &s->half[dir], *req = &s->half[c->client_dir];
	const char *cl, *method;
	unsigned long long v;
	char *end;

	if (h->ended || !h->hdrs || h->hdr_lost || h->m.lost_bytes)
		return false;
	if (dir != c->client_dir && !h->has_body) {
		method = req->hdrs ? req->m.method : NULL;
		if ((method && !strcmp(method, "HEAD")) || h->m.status == 204 || h->m.status == 304)
			return true;
	}
	cl = http_msg_header(&h->m, "content-length");
	if (!cl)
		return false;
	while (*cl == ' ' || *cl == '\t')
		cl++;
	if (*cl < '0' || *cl > '9')
		return false;
	errno = 0;
	v = strtoull(cl, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	return !errno && !*end && v == h->m.wire_body_len;
}

/*
 * Ends the halves of @s that half_length_done finds whole, at their last frame, as END_STREAM
 * would have; for streams that end without it (connection closed, RST_STREAM).
 */
void h2_stream_end_by_length(struct http2_conn *c, struct h2_stream *s)
{
	struct h2_half *h;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		if (!half_length_done(c, s, dir))
			continue;
		h = &s->half[dir];
		h->ended = true;
		h->m.end_ns = h->last_ns;
		body_store_end(&h->body, &h->m, true);
		h->m.complete = true;
	}
}

/* Hands the exchange of @s to the callback and frees @s; @why explains unfinished halves. */
void h2_stream_deliver(struct http2_conn *c, struct h2_stream *s, const char *why)
{
	struct http_exchange ex = {0};
	int cd = c->client_dir, sd = !c->client_dir;

	stream_unlink(c, s);
	half_settle(c, &s->half[cd], cd, why);
	half_settle(c, &s->half[sd], sd, why);

	ex.version = 20;
	ex.server_side = cd == BT_DIR_RECV;
	ex.stream_id = s->id;
	ex.has_request = s->half[cd].seen;
	ex.has_response = s->half[sd].seen;
	ex.req = s->half[cd].m;
	ex.resp = s->half[sd].m;
	memset(&s->half[cd].m, 0, sizeof(s->half[cd].m));
	memset(&s->half[sd].m, 0, sizeof(s->half[sd].m));
	ex.incomplete = c->midstream || !ex.req.complete || !ex.resp.complete;
	h2_stream_free(s);

	c->cb(c->ctx, &ex);
	http_exchange_clear(&ex);
}

void h2_stream_deliver_all(struct http2_conn *c, const char *why)
{
	while (c->n_streams)
		h2_stream_deliver(c, c->streams[0], why);
}

/*
 * Done when each side has ended or can no longer be seen. Joined mid-stream, a response that
 * ends with no request frame seen answers a request sent before we attached.
 */
static bool stream_done(const struct http2_conn *c, const struct h2_stream *s)
{
	int cd = c->client_dir, sd = !c->client_dir;
	const struct h2_half *req = &s->half[cd], *resp = &s->half[sd];
	bool req_done, resp_done;

	req_done = req->ended || c->dir[cd].dead || (c->midstream && !req->seen && resp->ended);
	resp_done = resp->ended || c->dir[sd].dead;
	return req_done && resp_done;
}

static void stream_check(struct http2_conn *c, struct h2_stream *s)
{
	if (stream_done(c, s))
		h2_stream_deliver(c, s, NULL);
}

void h2_stream_check_all(struct http2_conn *c)
{
	size_t i = 0;

	while (i < c->n_streams) {
		if (stream_done(c, c->streams[i]))
			h2_stream_deliver(c, c->streams[i], NULL);
		else
			i++;
	}
}

/* Returns the open stream @id, opening it when @create allows; NULL to ignore its frames. */
struct h2_stream *h2_stream_get(struct http2_conn *c, uint32_t id, bool create)
{
	struct h2_stream *s = h2_stream_find(c, id);

	if (s || !create || stream_was_closed(c, id))
		return s;
	if (c->n_streams == H2_MAX_STREAMS)
		h2_stream_deliver(c, c->streams[0], ERR_TOO_MANY);
	if (!grow(&c->streams, &c->cap_streams, c->n_streams + 1, sizeof(*c->streams)))
		s = calloc(1, sizeof(*s));
	if (!s) {
		pr_warn("http2: out of memory, stream %u not traced\n", id);
		return NULL;
	}
	s->id = id;
	c->streams[c->n_streams++] = s;
	if (id > c->max_id[id & 1])
		c->max_id[id & 1] = id;
	return s;
}

void h2_half_touch(struct h2_half *h, uint64_t ts, uint64_t tag)
{
	if (!h->seen) {
		h->seen = true;
		h->m.start_ns = ts;
		h->m.tag = tag;
	}
	h->last_ns = ts;
}

void h2_half_end(struct http2_conn *c, struct h2_stream *s, int dir, uint64_t ts)
{
	struct h2_half *h = &s->half[dir];

	if (h->ended)
		return;
	h->ended = true;
	h->last_ns = ts;
	h->m.end_ns = ts;
	body_store_end(&h->body, &h->m, true);
	h->m.complete = h->hdrs && !h->hdr_lost;
	stream_check(c, s);
}

/* ---- bodies ---- */

void h2_body_feed(struct http2_conn *c, struct h2_half *h, const uint8_t *p, size_t n, uint64_t ts)
{
	if (!n || h->ended)
		return;
	h->has_body = true;
	h->last_ns = ts;
	if (!h->body.started)
		body_store_begin(&h->body, &h->m, http_msg_header(&h->m, "content-encoding"),
				 c->lim.max_body);
	body_store_data(&h->body, &h->m, p, n, ts);
}

/* ---- header blocks ---- */

/* Returns a NUL-terminated copy of a header name or value (caller frees), NULL on ENOMEM. */
static char *dup_field(const uint8_t *s, size_t n, bool lower)
{
	char *out = malloc(n + 1);
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++)
		out[i] = lower && s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : (char)s[i];
	out[n] = '\0';
	return out;
}

static bool name_is(const nghttp2_nv *nv, const char *name)
{
	return nv->namelen == strlen(name) && memcmp(nv->name, name, nv->namelen) == 0;
}

static void block_pseudo(struct h2_block *b, const nghttp2_nv *nv)
{
	char **slot = NULL;
	const uint8_t *v = nv->value;

	if (name_is(nv, ":method"))
		slot = &b->m.method;
	else if (name_is(nv, ":path"))
		slot = &b->m.target;
	else if (name_is(nv, ":authority"))
		slot = &b->m.authority;
	else if (name_is(nv, ":scheme"))
		slot = &b->m.scheme;
	else if (name_is(nv, ":status") && !b->m.status) {
		if (nv->valuelen == 3 && v[0] >= '1' && v[0] <= '9' && v[1] >= '0' && v[1] <= '9' &&
		    v[2] >= '0' && v[2] <= '9')
			b->m.status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
		else
			b->m.error = ERR_STATUS;
	}
	if (slot && !*slot) {
		*slot = dup_field(v, nv->valuelen, false);
		if (!*slot)
			b->drop = ERR_NOMEM;
	}
}

static void block_add(struct h2_block *b, const nghttp2_nv *nv)
{
	struct http_header *h;
	size_t n = b->m.n_headers;

	if (!b->s)
		return;
	if (nv->namelen && nv->name[0] == ':') {
		block_pseudo(b, nv);
		return;
	}
	if (n == H2_MAX_HEADERS || b->bytes + nv->namelen + nv->valuelen > H2_MAX_HEADER_BYTES) {
		b->drop = ERR_HDR_LIMIT;
		return;
	}
	if (grow(&b->m.headers, &b->hdr_cap, n + 1, sizeof(*b->m.headers))) {
		b->drop = ERR_NOMEM;
		return;
	}
	h = &b->m.headers[n];
	h->name = dup_field(nv->name, nv->namelen, true);
	h->value = dup_field(nv->value, nv->valuelen, false);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		b->drop = ERR_NOMEM;
		return;
	}
	b->m.n_headers = n + 1;
	b->bytes += nv->namelen + nv->valuelen;
}

/* Feeds header block bytes to this direction's inflater; a failure kills its HPACK for good. */
void h2_hpack_feed(struct h2_dir *d, const uint8_t *p, size_t n, bool final)
{
	static const uint8_t none[1];
	struct h2_block *b = &d->blk;
	nghttp2_nv nv;
	ssize_t rv;
	int flags;

	if (b->failed)
		return;
	if (!p)
		p = none;
	for (;;) {
		flags = 0;
		rv = nghttp2_hd_inflate_hd2(d->inflater, &nv, &flags, p, n, final);
		if (rv < 0) {
			pr_debug("http2: HPACK: %s\n", nghttp2_strerror((int)rv));
			d->hpack_dead = true;
			b->failed = true;
			return;
		}
		p += rv;
		n -= (size_t)rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			block_add(b, &nv);
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inflater);
			return;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && n == 0)
			return;
	}
}

void h2_block_begin(struct http2_conn *c, int dir, struct h2_stream *s, uint32_t id, int target,
		    bool promise, bool end_stream)
{
	struct h2_dir *d = &c->dir[dir];
	struct h2_block *b = &d->blk;

	http_msg_clear(&b->m);
	b->hdr_cap = 0;
	b->bytes = 0;
	b->s = s && !s->half[target].ended ? s : NULL;
	b->stream_id = id;
	b->target = target;
	b->drop = NULL;
	b->active = true;
	b->failed = d->hpack_dead;
	b->end_stream = end_stream;
	b->promise = promise;
	if (b->s)
		h2_half_touch(&s->half[target], d->frame_ts, d->frame_tag);
}

/* Moves the fields of block @b to the end of half @h's. */
static void headers_move(struct h2_half *h, struct h2_block *b)
{
	struct http_msg *dst = &h->m, *src = &b->m;

	if (!src->n_headers)
		return;
	if (!dst->headers) {
		dst->headers = src->headers;
		dst->n_headers = src->n_headers;
		h->hdr_cap = b->hdr_cap;
		src->headers = NULL;
		src->n_headers = 0;
		b->hdr_cap = 0;
		return;
	}
	if (grow(&dst->headers, &h->hdr_cap, dst->n_headers + src->n_headers,
		 sizeof(*dst->headers))) {
		dst->error = dst->error ?: ERR_NOMEM;
		return; /* src keeps them and frees them */
	}
	memcpy(&dst->headers[dst->n_headers], src->headers, src->n_headers * sizeof(*src->headers));
	dst->n_headers += src->n_headers;
	src->n_headers = 0;
}

static void take_str(char **dst, char **src)
{
	if (*dst || !*src)
		return;
	*dst = *src;
	*src = NULL;
}

/* Applies a finished block to its half: the message head, an interim response, or trailers. */
static void block_apply(struct http2_conn *c, int dir, struct h2_block *b)
{
	struct h2_half *h = &b->s->half[b->target];
	struct http_msg *m = &h->m, *bm = &b->m;
	const char *host;

	if (b->failed) {
		if (!h->hdrs && !h->has_body)
			h->hdr_lost = true;
		h->hdrs = true;
		m->error = m->error ?: (c->midstream ? ERR_MIDSTREAM : ERR_HPACK);
		return;
	}
	if (bm->method || b->promise)
		h2_role_note(c, b->target, H2_ROLE_HEADERS);
	else if (bm->status)
		h2_role_note(c, !dir, H2_ROLE_HEADERS);
	if (h->hdrs || h->has_body) {
		headers_move(h, b); /* trailers: pseudo-headers are not allowed there */
	} else if (bm->status >= 100 && bm->status < 200) {
		return; /* interim response, the final one follows */
	} else {
		take_str(&m->method, &bm->method);
		take_str(&m->target, &bm->target);
		take_str(&m->authority, &bm->authority);
		take_str(&m->scheme, &bm->scheme);
		m->status = bm->status;
		headers_move(h, b);
		host = http_msg_header(m, "host");
		if (!m->authority && host)
			m->authority = strdup(host);
		h->hdrs = true;
	}
	if (!m->error)
		m->error = bm->error ?: b->drop;
}

void h2_block_end(struct http2_conn *c, int dir, uint64_t ts)
{
	struct h2_dir *d = &c->dir[dir];
	struct h2_block *b = &d->blk;
	struct h2_stream *s;
	struct h2_half *h;

	h2_hpack_feed(d, NULL, 0, true);
	b->active = false;
	if (d->pending_bound) {
		h2_table_bound_raise(d, d->pending_bound);
		d->pending_bound = 0;
	}
	s = b->s;
	if (s) {
		h = &s->half[b->target];
		block_apply(c, dir, b);
		h->last_ns = ts;
		if (b->promise) {
			/* A pushed request is complete as promised (RFC 9113 §8.4). */
			h->ended = true;
			h->m.end_ns = ts;
			h->m.complete = h->hdrs && !h->hdr_lost;
		} else if (b->end_stream) {
			h2_half_end(c, s, dir, ts);
		}
	}
	http_msg_clear(&b->m);
	b->hdr_cap = 0;
	b->s = NULL;
}
