// SPDX-License-Identifier: MIT
/*
 * HTTP/2 connection parser: frames from two passively captured byte streams, stream lifetimes,
 * HPACK through libnghttp2's inflater and DATA bodies through body.c, delivered as http.h
 * exchanges. Nothing here enforces flow control or SETTINGS limits: we watch, we do not police.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "body.h"
#include "http2.h"
#include "log.h"

#define H2_FRAME_HDR_LEN 9
#define H2_MAX_STREAMS 512 /* open streams tracked; the oldest is flushed beyond */
#define H2_CLOSED_RING 256 /* recently closed ids whose late frames are ignored */
#define H2_MAX_HEADERS 256 /* fields stored per header block */
#define H2_MAX_HEADER_BYTES (256 * 1024)
#define H2_MAX_BODY_TS 65536
#define H2_DEFAULT_TABLE 4096	 /* RFC 9113 §6.5.2 initial SETTINGS_HEADER_TABLE_SIZE */
#define H2_MIDSTREAM_TABLE 65536 /* assumed when the SETTINGS exchange was not seen */
#define H2_MAX_TABLE (1u << 20)	 /* cap on what a peer may announce, bounds inflater memory */
/*
 * A direction that does not start with the preface is only believed to be HTTP/2 if its first
 * frame is a known type no longer than this: printable text (HTTP/1.x, JSON) decodes as a
 * frame length of at least 2 MiB, so this rejects it without limiting synchronised frames.
 */
#define H2_FIRST_FRAME_MAX (1u << 20)

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

/* How a direction's bytes began; decides who is the client and whether we joined late. */
enum h2_start { H2_START_NONE, H2_START_PREFACE, H2_START_SETTINGS, H2_START_OTHER };

/* How sure we are which direction is the client; stronger evidence replaces weaker. */
enum h2_role { H2_ROLE_DEFAULT, H2_ROLE_SETTINGS, H2_ROLE_HEADERS, H2_ROLE_PREFACE };

static const char h2_preface[HTTP2_PREFACE_LEN] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static const char ERR_GAP[] = "capture gap: HPACK state lost";
static const char ERR_MIDSTREAM[] = "connection seen mid-stream";
static const char ERR_FRAMING[] = "HTTP/2 framing error";
static const char ERR_HPACK[] = "HPACK decode error";
static const char ERR_CLOSED[] = "connection closed before end of stream";
static const char ERR_GOAWAY[] = "stream not processed (GOAWAY)";
static const char ERR_TOO_MANY[] = "too many concurrent streams";
static const char ERR_NO_HEADERS[] = "DATA without HEADERS";
static const char ERR_HDR_LIMIT[] = "header list too large, fields dropped";
static const char ERR_NOMEM[] = "out of memory";
static const char ERR_STATUS[] = "invalid :status";
static const char ERR_CODING[] = "unsupported content-encoding";
static const char ERR_CORRUPT[] = "corrupt content-encoding data";

/* The message one direction sends on a stream. */
struct h2_half {
	struct http_msg m;
	struct body_decoder *dec; /* NULL on the identity path */
	size_t body_cap;	  /* bytes allocated for m.body on the identity path */
	size_t dropped;		  /* decoded body bytes beyond max_body */
	uint64_t last_ns;	  /* last frame byte seen, the end of an unfinished message */
	bool seen;		  /* any frame of it */
	bool hdrs;		  /* its final header block arrived (decoded or not) */
	bool hdr_lost;		  /* ... but could not be decoded */
	bool has_body;
	bool body_started; /* decoder chosen */
	bool body_dead;	   /* stop decoding: unsupported or corrupt coding */
	bool ended;	   /* END_STREAM, or the promised request of a push */
};

struct h2_stream {
	uint32_t id;
	struct h2_half half[2]; /* by enum bt_dir of the sender */
};

/* A header block (HEADERS or PUSH_PROMISE plus CONTINUATIONs) being decoded. */
struct h2_block {
	struct http_msg m; /* only this block's fields */
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

static void role_note(struct http2_conn *c, int client_dir, enum h2_role ev)
{
	if (ev <= c->role)
		return;
	c->role = ev;
	c->client_dir = client_dir;
}

/*
 * SETTINGS_HEADER_TABLE_SIZE only bounds the size updates the peer's encoder may send; the
 * updates themselves, in band, drive the table (RFC 7541 §4.2, §6.3). A passive observer cannot
 * tell which of the peer's in-flight header blocks were encoded before it applied a smaller
 * value, so the bound is only ever raised: the inflater's table then holds a superset of the
 * encoder's newest entries, which index identically, and decoding stays exact.
 */
static void table_bound_raise(struct h2_dir *d, size_t bound)
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

static void midstream_set(struct http2_conn *c)
{
	if (c->midstream)
		return;
	c->midstream = true;
	table_bound_raise(&c->dir[0], H2_MIDSTREAM_TABLE);
	table_bound_raise(&c->dir[1], H2_MIDSTREAM_TABLE);
}

/* ---- streams ---- */

static struct h2_stream *stream_find(struct http2_conn *c, uint32_t id)
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
	body_decoder_free(h->dec);
	h->dec = NULL;
	http_msg_clear(&h->m);
}

static void stream_free(struct h2_stream *s)
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
	body_decoder_free(h->dec);
	h->dec = NULL;
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

	if (h->ended || !h->hdrs || h->hdr_lost || h->m.lost_bytes || h->body_dead)
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
static void stream_end_by_length(struct http2_conn *c, struct h2_stream *s)
{
	struct h2_half *h;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		if (!half_length_done(c, s, dir))
			continue;
		h = &s->half[dir];
		h->ended = true;
		h->m.end_ns = h->last_ns;
		if (h->dec && body_decoder_finish(h->dec) < 0) {
			h->m.truncated = true;
			if (!h->m.error)
				h->m.error = ERR_CORRUPT;
		}
		h->m.complete = true;
	}
}

/* Hands the exchange of @s to the callback and frees @s; @why explains unfinished halves. */
static void stream_deliver(struct http2_conn *c, struct h2_stream *s, const char *why)
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
	stream_free(s);

	c->cb(c->ctx, &ex);
	http_exchange_clear(&ex);
}

static void stream_deliver_all(struct http2_conn *c, const char *why)
{
	while (c->n_streams)
		stream_deliver(c, c->streams[0], why);
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
		stream_deliver(c, s, NULL);
}

static void stream_check_all(struct http2_conn *c)
{
	size_t i = 0;

	while (i < c->n_streams) {
		if (stream_done(c, c->streams[i]))
			stream_deliver(c, c->streams[i], NULL);
		else
			i++;
	}
}

/* Returns the open stream @id, opening it when @create allows; NULL to ignore its frames. */
static struct h2_stream *stream_get(struct http2_conn *c, uint32_t id, bool create)
{
	struct h2_stream *s = stream_find(c, id), **grown;
	size_t cap;

	if (s || !create || stream_was_closed(c, id))
		return s;
	if (c->n_streams == H2_MAX_STREAMS)
		stream_deliver(c, c->streams[0], ERR_TOO_MANY);
	if (c->n_streams == c->cap_streams) {
		cap = c->cap_streams ? c->cap_streams * 2 : 16;
		grown = realloc(c->streams, cap * sizeof(*grown));
		if (grown) {
			c->streams = grown;
			c->cap_streams = cap;
		}
	}
	s = c->n_streams < c->cap_streams ? calloc(1, sizeof(*s)) : NULL;
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

static void half_touch(struct h2_half *h, uint64_t ts, uint64_t tag)
{
	if (!h->seen) {
		h->seen = true;
		h->m.start_ns = ts;
		h->m.tag = tag;
	}
	h->last_ns = ts;
}

static void half_end(struct http2_conn *c, struct h2_stream *s, int dir, uint64_t ts)
{
	struct h2_half *h = &s->half[dir];

	if (h->ended)
		return;
	h->ended = true;
	h->last_ns = ts;
	h->m.end_ns = ts;
	if (h->dec && !h->body_dead && body_decoder_finish(h->dec) < 0) {
		h->m.truncated = true;
		if (!h->m.error)
			h->m.error = ERR_CORRUPT;
	}
	h->m.complete = h->hdrs && !h->hdr_lost;
	stream_check(c, s);
}

/* ---- bodies ---- */

static void body_ts_note(struct http_msg *m, size_t off, uint64_t ts)
{
	struct http_body_ts *last = m->n_body_ts ? &m->body_ts[m->n_body_ts - 1] : NULL, *grown;
	size_t n = m->n_body_ts;

	if (last && last->ts_ns == ts)
		return;
	/* Nothing came out of the decoder since: those bytes appear at the later time. */
	if (last && last->off == off) {
		last->ts_ns = ts;
		return;
	}
	if (n == H2_MAX_BODY_TS)
		return;
	if ((n & (n - 1)) == 0) { /* capacity is the next power of two */
		grown = realloc(m->body_ts, (n ? n * 2 : 1) * sizeof(*grown));
		if (!grown)
			return;
		m->body_ts = grown;
	}
	m->body_ts[n].off = off;
	m->body_ts[n].ts_ns = ts;
	m->n_body_ts = n + 1;
}

static void body_start(struct h2_half *h)
{
	const char *ce = http_msg_header(&h->m, "content-encoding");

	h->body_started = true;
	if (!ce || !*ce || strcasecmp(ce, "identity") == 0)
		return;
	h->dec = body_decoder_new(ce);
	if (!h->dec) {
		h->body_dead = true;
		h->m.error = h->m.error ?: (errno == ENOMEM ? ERR_NOMEM : ERR_CODING);
	}
}

static void body_keep(struct http2_conn *c, struct h2_half *h, const uint8_t *p, size_t n)
{
	struct http_msg *m = &h->m;
	size_t room = c->lim.max_body > m->body_len ? c->lim.max_body - m->body_len : 0;
	size_t keep = n < room ? n : room, cap;
	uint8_t *grown;

	if (keep && m->body_len + keep > h->body_cap) {
		cap = h->body_cap ? h->body_cap : 4096;
		while (cap < m->body_len + keep)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (cap > c->lim.max_body)
			cap = c->lim.max_body;
		grown = realloc(m->body, cap);
		if (!grown) {
			keep = 0;
			m->error = m->error ?: ERR_NOMEM;
		} else {
			m->body = grown;
			h->body_cap = cap;
		}
	}
	if (keep) {
		memcpy(m->body + m->body_len, p, keep);
		m->body_len += keep;
	}
	if (keep < n) {
		h->dropped += n - keep;
		m->truncated = true;
	}
}

static void body_feed(struct http2_conn *c, struct h2_half *h, const uint8_t *p, size_t n,
		      uint64_t ts)
{
	struct http_msg *m = &h->m;
	size_t dropped = 0;
	int err;

	if (!n || h->ended)
		return;
	if (!h->has_body) {
		h->has_body = true;
		m->first_body_ns = ts;
	}
	h->last_ns = ts;
	m->wire_body_len += n;
	body_ts_note(m, m->body_len + h->dropped, ts);
	if (!h->body_started)
		body_start(h);
	if (h->body_dead)
		return;
	if (!h->dec) {
		body_keep(c, h, p, n);
		return;
	}
	err = body_decoder_feed(h->dec, p, n, &m->body, &m->body_len, c->lim.max_body, &dropped);
	h->dropped += dropped;
	if (dropped)
		m->truncated = true;
	if (err == -EBADMSG || err == -ENOMEM) {
		h->body_dead = true;
		m->truncated = true;
		if (!m->error)
			m->error = err == -ENOMEM ? ERR_NOMEM : ERR_CORRUPT;
	}
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
	struct http_header *grown, *h;
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
	if ((n & (n - 1)) == 0) { /* capacity is the next power of two */
		grown = realloc(b->m.headers, (n ? n * 2 : 1) * sizeof(*grown));
		if (!grown) {
			b->drop = ERR_NOMEM;
			return;
		}
		b->m.headers = grown;
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
static void hpack_feed(struct h2_dir *d, const uint8_t *p, size_t n, bool final)
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

static void block_begin(struct http2_conn *c, int dir, struct h2_stream *s, uint32_t id, int target,
			bool promise)
{
	struct h2_dir *d = &c->dir[dir];
	struct h2_block *b = &d->blk;

	http_msg_clear(&b->m);
	b->bytes = 0;
	b->s = s && !s->half[target].ended ? s : NULL;
	b->stream_id = id;
	b->target = target;
	b->drop = NULL;
	b->active = true;
	b->failed = d->hpack_dead;
	b->end_stream = !promise && (d->flags & H2_F_END_STREAM);
	b->promise = promise;
	if (b->s)
		half_touch(&s->half[target], d->frame_ts, d->frame_tag);
}

static void headers_move(struct http_msg *dst, struct http_msg *src)
{
	struct http_header *grown;
	size_t n = dst->n_headers + src->n_headers;

	if (!src->n_headers)
		return;
	if (!dst->headers) {
		dst->headers = src->headers;
		dst->n_headers = src->n_headers;
		src->headers = NULL;
		src->n_headers = 0;
		return;
	}
	grown = realloc(dst->headers, n * sizeof(*grown));
	if (!grown) {
		dst->error = dst->error ?: ERR_NOMEM;
		return; /* src keeps them and frees them */
	}
	memcpy(&grown[dst->n_headers], src->headers, src->n_headers * sizeof(*grown));
	dst->headers = grown;
	dst->n_headers = n;
	free(src->headers);
	src->headers = NULL;
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
		role_note(c, b->target, H2_ROLE_HEADERS);
	else if (bm->status)
		role_note(c, !dir, H2_ROLE_HEADERS);
	if (h->hdrs || h->has_body) {
		headers_move(m, bm); /* trailers: pseudo-headers are not allowed there */
	} else if (bm->status >= 100 && bm->status < 200) {
		return; /* interim response, the final one follows */
	} else {
		take_str(&m->method, &bm->method);
		take_str(&m->target, &bm->target);
		take_str(&m->authority, &bm->authority);
		take_str(&m->scheme, &bm->scheme);
		m->status = bm->status;
		headers_move(m, bm);
		host = http_msg_header(m, "host");
		if (!m->authority && host)
			m->authority = strdup(host);
		h->hdrs = true;
	}
	if (!m->error)
		m->error = bm->error ?: b->drop;
}

static void block_end(struct http2_conn *c, int dir, uint64_t ts)
{
	struct h2_dir *d = &c->dir[dir];
	struct h2_block *b = &d->blk;
	struct h2_stream *s;
	struct h2_half *h;

	hpack_feed(d, NULL, 0, true);
	b->active = false;
	if (d->pending_bound) {
		table_bound_raise(d, d->pending_bound);
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
			half_end(c, s, dir, ts);
		}
	}
	http_msg_clear(&b->m);
	b->s = NULL;
}

/* ---- frames ---- */

static void conn_poison(struct http2_conn *c, int dir, const char *why)
{
	pr_debug("http2: %s bytes are not HTTP/2: %s\n", dir == BT_DIR_SEND ? "sent" : "received",
		 why);
	c->poisoned = true;
	c->dir[0].dead = c->dir[1].dead = ERR_FRAMING;
	stream_deliver_all(c, ERR_FRAMING);
}

static void goaway(struct http2_conn *c, int dir, uint32_t last_id)
{
	/* Streams the GOAWAY's receiver opened above last_id were never processed. */
	uint32_t parity = dir == c->client_dir ? 0 : 1;
	size_t i = 0;

	while (i < c->n_streams) {
		struct h2_stream *s = c->streams[i];

		if (s->id > last_id && (s->id & 1) == parity)
			stream_deliver(c, s, ERR_GOAWAY);
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
	if (d->type > H2_WINDOW_UPDATE || d->len > H2_FIRST_FRAME_MAX)
		return -EPROTO;
	if (d->type == H2_SETTINGS && !(d->flags & H2_F_ACK)) {
		/* The server connection preface (RFC 9113 §3.4). */
		d->start = H2_START_SETTINGS;
		if (other == H2_START_SETTINGS || other == H2_START_OTHER)
			midstream_set(c);
		else
			role_note(c, !dir, H2_ROLE_SETTINGS);
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

	d->len = (uint32_t)d->hdr[0] << 16 | (uint32_t)d->hdr[1] << 8 | d->hdr[2];
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

	switch (d->type) {
	case H2_DATA:
		bad = !d->stream_id;
		d->padded = d->flags & H2_F_PADDED;
		break;
	case H2_HEADERS:
		bad = !d->stream_id;
		d->padded = d->flags & H2_F_PADDED;
		fixed = d->flags & H2_F_PRIORITY ? 5 : 0;
		break;
	case H2_PRIORITY:
		bad = !d->stream_id;
		break;
	case H2_RST_STREAM:
		bad = !d->stream_id || d->len != 4;
		fixed = 4;
		break;
	case H2_SETTINGS:
		bad = d->stream_id || d->len % 6 || ((d->flags & H2_F_ACK) && d->len);
		break;
	case H2_PUSH_PROMISE:
		bad = !d->stream_id;
		d->padded = d->flags & H2_F_PADDED;
		fixed = 4;
		break;
	case H2_PING:
		bad = d->stream_id || d->len != 8;
		break;
	case H2_GOAWAY:
		bad = d->stream_id || d->len < 8;
		fixed = 8;
		break;
	case H2_WINDOW_UPDATE:
		bad = d->len != 4;
		break;
	case H2_CONTINUATION:
		bad = !d->blk.active;
		break;
	default:
		break; /* extension frames are ignored (RFC 9113 §5.5) */
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
		s = stream_get(c, d->stream_id, create);
		if (s && !s->half[dir].ended) {
			d->cur = s;
			half_touch(&s->half[dir], d->frame_ts, d->frame_tag);
		}
		break;
	case H2_HEADERS:
		s = stream_get(c, d->stream_id, true);
		block_begin(c, dir, s, d->stream_id, dir, false);
		break;
	case H2_PUSH_PROMISE:
		id = be32(fx) & 0x7fffffffu;
		if (!id)
			return -EPROTO;
		/* Only a server pushes; the promised request is its peer's half. */
		role_note(c, !dir, H2_ROLE_HEADERS);
		s = stream_get(c, id, true);
		block_begin(c, dir, s, d->stream_id, !dir, true);
		break;
	case H2_RST_STREAM:
		s = stream_find(c, d->stream_id);
		if (!s)
			break;
		/*
		 * NO_ERROR, STREAM_CLOSED, CANCEL: the sender is done with the stream, not failing
		 * it. curl resets each stream whose content-length it has read, before END_STREAM.
		 */
		code = be32(fx);
		if (code == 0x0 || code == 0x5 || code == 0x8)
			stream_end_by_length(c, s);
		stream_deliver(c, s, rst_reason(code));
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
			body_feed(c, &d->cur->half[dir], p, n, ts);
		break;
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		hpack_feed(d, p, n, false);
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
				table_bound_raise(&c->dir[!dir], be32(d->rec + 2));
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
			half_end(c, s, dir, ts);
		break;
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		if (d->flags & H2_F_END_HEADERS)
			block_end(c, dir, ts);
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
		role_note(c, dir, H2_ROLE_PREFACE);
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
	stream_check_all(c);
}

void http2_conn_close(struct http2_conn *c, uint64_t ts_ns)
{
	size_t i;

	(void)ts_ns;
	if (!c || c->finished)
		return;
	c->finished = true;
	for (i = 0; i < c->n_streams; i++)
		stream_end_by_length(c, c->streams[i]);
	stream_deliver_all(c, ERR_CLOSED);
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
		stream_free(c->streams[i]);
	free(c->streams);
	for (dir = 0; dir < 2; dir++) {
		if (c->dir[dir].inflater)
			nghttp2_hd_inflate_del(c->dir[dir].inflater);
		http_msg_clear(&c->dir[dir].blk.m);
	}
	free(c);
}
