// SPDX-License-Identifier: MIT
/*
 * HTTP/1.x connection parser; see http1.h for what it owns. This file is the per-direction state
 * machine, the exchange FIFO and the http1.h API; the syntax of start lines, field sections and
 * framing is in http1_msg.c, storing and decoding bodies in body.c.
 *
 * Each direction is a state machine fed in arbitrary pieces. A line that may start a message is
 * collected in lbuf together with the timestamp and tag of the pieces it came from; a header or
 * trailer section in hbuf. Body bytes are never buffered here: they go straight into the message,
 * through body.h when content-coded. An exchange joins a FIFO when its first message starts and
 * leaves it when both sides are finished, which is how pipelined requests meet their responses
 * (RFC 9112 §9.3.2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "http_head.h"
#include "proto/http1.h"
#include "proto/body.h"
#include "proto/http1_msg.h"
#include "util/grow.h"
#include "util/log.h"

#define H1_MAX_MARKS 32
/* unanswered exchanges kept before the oldest is given up as having lost its response */
#define H1_MAX_PENDING 1024

enum h1_state {
	H1_START,      /* between messages: the next line must be a start line */
	H1_RESYNC,     /* skipping lines until one looks like a start line */
	H1_HEADERS,    /* start line accepted, collecting the header section */
	H1_BODY_LEN,   /* Content-Length body */
	H1_CHUNK_SIZE, /* chunk-size [ext] line */
	H1_CHUNK_DATA,
	H1_CHUNK_END, /* CRLF after chunk data */
	H1_TRAILERS,
	H1_BODY_CLOSE, /* body delimited by the connection closing */
};

enum h1_part { PART_NONE, PART_ACTIVE, PART_DONE };
enum h1_role { ROLE_UNKNOWN, ROLE_CLIENT, ROLE_SERVER };

struct h1_ex {
	struct http_exchange ex;
	enum h1_part req, resp;
	struct h1_ex *next;
};

/* Timestamp and tag of the piece whose bytes start at @off in lbuf. */
struct h1_mark {
	size_t off;
	uint64_t ts, tag;
};

struct h1_dir {
	enum h1_state state;
	bool synced;	  /* a message start was found in this direction */
	bool mid;	  /* the first bytes were not a message start */
	uint64_t skipped; /* bytes skipped while never synced */
	uint8_t head[14]; /* first bytes of the direction, to recognise TLS or HTTP/2 */
	size_t head_len;

	char *lbuf;
	size_t llen, lcap, line_total;
	struct h1_mark marks[H1_MAX_MARKS];
	size_t n_marks;

	char *hbuf;
	size_t hlen, hcap;
	size_t h_start;	       /* length of the start line in hbuf */
	size_t h_line, h_from; /* section scan: current line start, where its '\n' search resumes */

	struct h1_ex *ex; /* exchange of the message in progress */
	struct http_msg *msg;
	bool is_req;
	uint64_t remaining; /* body or chunk bytes left */
	bool got_cr;

	struct body_store body;
};

struct http1_conn {
	struct http1_limits lim;
	http_exchange_cb cb;
	void *ctx;
	enum h1_role role;
	bool synced; /* some direction found a message start */
	bool dead;   /* upgraded, tunnelled or not HTTP/1: no more bytes accepted */
	bool closed;
	bool placeholder_done;
	struct h1_dir dir[2];
	struct h1_ex *head, *tail;
	struct h1_ex *await; /* oldest exchange without a response; all after it have none either */
	size_t n_pending;
};

static size_t hdr_cap(const struct http1_conn *c)
{
	return c->lim.max_header_bytes;
}

static int req_dir(const struct http1_conn *c)
{
	return c->role == ROLE_SERVER ? BT_DIR_RECV : BT_DIR_SEND;
}

/* ---- exchange queue ---- */

static void deliver(struct http1_conn *c, struct h1_ex *x)
{
	struct http_exchange *ex = &x->ex;

	ex->version = 11;
	ex->server_side = c->role == ROLE_SERVER;
	ex->stream_id = 0;
	if (!ex->has_request || !ex->has_response || !ex->req.complete || !ex->resp.complete)
		ex->incomplete = true;
	/* a placeholder nothing ever filled carries no information */
	if ((ex->has_request || ex->has_response || ex->req.error || ex->resp.error ||
	     ex->req.lost_bytes || ex->resp.lost_bytes) &&
	    c->cb)
		c->cb(c->ctx, ex);
	http_exchange_clear(ex);
	free(x);
}

static struct h1_ex *pop(struct http1_conn *c)
{
	struct h1_ex *x = c->head;

	c->head = x->next;
	if (!c->head)
		c->tail = NULL;
	if (c->await == x)
		c->await = x->next;
	c->n_pending--;
	return x;
}

static void deliver_ready(struct http1_conn *c)
{
	while (c->head && c->head->req == PART_DONE && c->head->resp == PART_DONE)
		deliver(c, pop(c));
}

/* Returns a new exchange at the tail of the FIFO, or NULL when out of memory. */
static struct h1_ex *ex_append(struct http1_conn *c)
{
	struct h1_ex *x;

	if (c->n_pending >= H1_MAX_PENDING && c->head->req != PART_ACTIVE &&
	    c->head->resp != PART_ACTIVE) {
		pr_debug("http1: %zu unanswered requests, giving up on the oldest\n", c->n_pending);
		c->head->req = c->head->resp = PART_DONE;
		deliver(c, pop(c));
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	if (c->tail)
		c->tail->next = x;
	else
		c->head = x;
	c->tail = x;
	if (!c->await)
		c->await = x;
	c->n_pending++;
	return x;
}

/* Returns the exchange the next response belongs to (a new response-only one if no request
 * waits), now marked as having its response taken; NULL when out of memory. */
static struct h1_ex *take_await(struct http1_conn *c)
{
	struct h1_ex *x = c->await ? c->await : ex_append(c);

	if (!x)
		return NULL;
	if (x->req == PART_NONE) {
		x->req = PART_DONE;
		x->ex.incomplete = true;
	}
	x->resp = PART_ACTIVE;
	c->await = x->next;
	return x;
}

/*
 * The request direction started in the middle of a request: its response is still to come, so
 * an exchange without request holds its place in the FIFO.
 */
static void ensure_placeholder(struct http1_conn *c)
{
	struct h1_ex *x;

	if (c->role == ROLE_UNKNOWN || c->placeholder_done || !c->dir[req_dir(c)].mid)
		return;
	c->placeholder_done = true;
	x = ex_append(c);
	if (!x)
		return;
	x->req = PART_DONE;
	x->ex.incomplete = true;
	x->ex.req.truncated = true;
}

/*
 * Something that is not a message took a message's place (@err), or a gap swallowed a message
 * start (@lost): an exchange records it so later responses still pair in order.
 */
static void lost_message(struct http1_conn *c, int di, const char *err, uint64_t lost, uint64_t ts,
			 uint64_t tag)
{
	struct http_msg *m;
	struct h1_ex *x;

	if (di == req_dir(c)) {
		x = ex_append(c);
		if (!x)
			return;
		x->req = PART_DONE;
		m = &x->ex.req;
	} else {
		if (!c->await)
			return; /* no request is waiting: nothing to pair it with */
		x = take_await(c);
		x->resp = PART_DONE;
		m = &x->ex.resp;
	}
	x->ex.incomplete = true;
	m->error = err;
	m->lost_bytes = lost;
	m->truncated = lost > 0;
	m->start_ns = m->end_ns = ts;
	m->tag = tag;
	deliver_ready(c);
}

/* ---- line buffer (START, RESYNC, chunk-size lines) ---- */

static void line_reset(struct h1_dir *d)
{
	d->llen = 0;
	d->line_total = 0;
	d->n_marks = 0;
}

static const struct h1_mark *mark_at(const struct h1_dir *d, size_t off)
{
	size_t i = 0;

	while (i + 1 < d->n_marks && d->marks[i + 1].off <= off)
		i++;
	return &d->marks[i];
}

/*
 * Appends to lbuf. Only a line's last max_header_bytes can hold a start line, so a longer line
 * keeps at least that tail; compacting at twice the limit keeps appends amortised O(1).
 */
static int line_append(struct http1_conn *c, struct h1_dir *d, const uint8_t *p, size_t n,
		       uint64_t ts, uint64_t tag)
{
	size_t keep = hdr_cap(c) + 2, drop, i, j; /* the longest start line and its CRLF */

	d->line_total += n;
	if (n > keep) {
		p += n - keep;
		n = keep;
	}
	if (d->llen + n > 2 * keep) {
		drop = d->llen + n - keep;
		memmove(d->lbuf, d->lbuf + drop, d->llen - drop);
		d->llen -= drop;
		for (i = 0, j = 0; i < d->n_marks; i++) {
			if (i + 1 < d->n_marks && d->marks[i + 1].off <= drop)
				continue;
			d->marks[j] = d->marks[i];
			d->marks[j].off = d->marks[i].off < drop ? 0 : d->marks[i].off - drop;
			j++;
		}
		d->n_marks = j;
	}
	if (grow(&d->lbuf, &d->lcap, d->llen + n, 1))
		return -ENOMEM;
	/* past H1_MAX_MARKS pieces in one line, later pieces count as part of the last one */
	if (d->n_marks < H1_MAX_MARKS && (!d->n_marks || d->marks[d->n_marks - 1].ts != ts ||
					  d->marks[d->n_marks - 1].tag != tag))
		d->marks[d->n_marks++] = (struct h1_mark){d->llen, ts, tag};
	memcpy(d->lbuf + d->llen, p, n);
	d->llen += n;
	return 0;
}

/* ---- messages ---- */

static void msg_finish(struct http1_conn *c, int di, bool complete)
{
	struct h1_dir *d = &c->dir[di];

	if (!d->msg)
		return;
	body_store_end(&d->body, d->msg, complete);
	d->msg->complete = complete;
	if (d->is_req)
		d->ex->req = PART_DONE;
	else
		d->ex->resp = PART_DONE;
	d->msg = NULL;
	d->ex = NULL;
	d->state = complete ? H1_START : H1_RESYNC;
	d->hlen = 0;
	line_reset(d);
	deliver_ready(c);
}

/* Gives up on the message in progress (delivered as it is) and resynchronises. */
static void abandon(struct http1_conn *c, int di, const char *err)
{
	struct h1_dir *d = &c->dir[di];

	if (d->msg) {
		if (err && !d->msg->error)
			d->msg->error = err;
		pr_debug("http1: %s message abandoned: %s\n", d->is_req ? "request" : "response",
			 err ? err : "capture gap");
	}
	msg_finish(c, di, false);
	d->state = H1_RESYNC;
}

/* The header section of the message in progress is in hbuf: decide what follows. */
static void headers_done(struct http1_conn *c, int di)
{
	struct h1_dir *d = &c->dir[di];
	struct http_msg *m = d->msg;
	const char *err, *method = d->ex->ex.req.method;
	enum h1_framing fr;
	uint64_t len = 0;
	char *codings = NULL;

	err = h1_parse_fields(m, d->hbuf + d->h_start, d->hlen - d->h_start);
	if (err) {
		abandon(c, di, err);
		return;
	}
	d->hlen = 0;
	if (d->is_req)
		h1_set_authority(m);
	if (!d->is_req && m->status < 200 && m->status != 101) {
		/* interim response: the final one is still to come for the same request */
		http_msg_clear(m);
		d->ex->ex.has_response = false;
		d->ex->resp = PART_NONE;
		c->await = d->ex;
		d->ex = NULL;
		d->msg = NULL;
		d->state = H1_START;
		return;
	}
	if (!d->is_req &&
	    (m->status == 101 || (method && strcmp(method, "CONNECT") == 0 && m->status < 300))) {
		/* Upgrade (RFC 9110 §15.2.2) or a tunnel: what follows is not HTTP/1 */
		msg_finish(c, di, true);
		c->dead = true;
		return;
	}
	err = h1_framing(m, d->is_req, method, &fr, &len, &codings);
	if (err) {
		abandon(c, di, err);
		return;
	}
	if (fr == FRAME_NONE || (fr == FRAME_LEN && len == 0)) {
		free(codings);
		msg_finish(c, di, true);
		return;
	}
	body_store_begin(&d->body, m, codings, c->lim.max_body);
	free(codings);
	d->remaining = len;
	d->state = fr == FRAME_LEN	 ? H1_BODY_LEN
		   : fr == FRAME_CHUNKED ? H1_CHUNK_SIZE
					 : H1_BODY_CLOSE;
}

/* A start line of @kind begins at @off in lbuf (@n bytes without line ending). */
static void begin_message(struct http1_conn *c, int di, enum h1_kind kind, size_t off, size_t n,
			  uint64_t ts)
{
	struct h1_dir *d = &c->dir[di];
	const struct h1_mark *mk = mark_at(d, off);
	struct http_msg *m;
	struct h1_start s;
	struct h1_ex *x;
	size_t len = d->llen - off;

	if (c->role == ROLE_UNKNOWN) {
		c->role = (kind == KIND_REQ) == (di == BT_DIR_SEND) ? ROLE_CLIENT : ROLE_SERVER;
		ensure_placeholder(c);
	}
	d->synced = c->synced = true;
	h1_parse_start(d->lbuf + off, n, &s);
	x = kind == KIND_REQ ? ex_append(c) : take_await(c);
	if (!x)
		goto nomem;
	if (kind == KIND_REQ) {
		x->req = PART_ACTIVE;
		x->ex.has_request = true;
		m = &x->ex.req;
		m->method = strndup(s.method, s.method_len);
		m->target = strndup(s.target, s.target_len);
		/* the path: the target up to a query or fragment */
		if (m->target)
			m->path_hash =
			    bt_path_hash(s.method, s.method_len + 1 + strcspn(m->target, "?#"));
	} else {
		x->ex.has_response = true;
		m = &x->ex.resp;
		m->status = s.status;
	}
	d->ex = x;
	d->msg = m;
	d->is_req = kind == KIND_REQ;
	m->start_ns = mk->ts;
	m->end_ns = ts;
	m->tag = mk->tag;
	d->state = H1_HEADERS;
	if (kind == KIND_REQ && (!m->method || !m->target)) {
		line_reset(d);
		abandon(c, di, "out of memory");
		return;
	}
	if (len > hdr_cap(c)) {
		line_reset(d);
		abandon(c, di, "header section too large");
		return;
	}
	if (grow(&d->hbuf, &d->hcap, len, 1)) {
		line_reset(d);
		abandon(c, di, "out of memory");
		return;
	}
	memcpy(d->hbuf, d->lbuf + off, len);
	d->hlen = d->h_start = d->h_line = d->h_from = len;
	line_reset(d);
	return;
nomem:
	pr_warn("http1: out of memory, message skipped\n");
	line_reset(d);
	d->state = H1_RESYNC;
}

/* The line in START could not start a message: resynchronise, recording why. */
static void start_failed(struct http1_conn *c, int di, bool too_long)
{
	struct h1_dir *d = &c->dir[di];
	const struct h1_mark *mk = mark_at(d, 0);
	const char *err;

	d->state = H1_RESYNC;
	if (!d->synced) {
		if (!d->mid) {
			d->mid = true;
			ensure_placeholder(c);
		}
		return;
	}
	if (too_long)
		err = "start line too long";
	else
		err = di == req_dir(c) ? "malformed request line" : "malformed status line";
	lost_message(c, di, err, 0, mk->ts, mk->tag);
}

/* A whole line is in lbuf (START or RESYNC). */
static void line_done(struct http1_conn *c, int di, uint64_t ts)
{
	struct h1_dir *d = &c->dir[di];
	size_t n = d->llen - 1;
	bool req_ok = c->role == ROLE_UNKNOWN || di == req_dir(c);
	bool resp_ok = c->role == ROLE_UNKNOWN || di != req_dir(c);
	struct h1_start s;
	enum h1_kind k;
	ssize_t off;
	size_t base;

	if (n && d->lbuf[n - 1] == '\r')
		n--;
	if (d->state == H1_START && d->line_total <= hdr_cap(c)) {
		k = h1_parse_start(d->lbuf, n, &s);
		if ((k == KIND_REQ && req_ok) || (k == KIND_RESP && resp_ok)) {
			begin_message(c, di, k, 0, n, ts);
			return;
		}
	} else if (d->state == H1_START) {
		/* as if the line had come in pieces: too long is known before it ends */
		start_failed(c, di, true);
	}
	base = n > hdr_cap(c) ? n - hdr_cap(c) : 0;
	off = h1_find_start(d->lbuf + base, n - base, req_ok, resp_ok, &k);
	if (off >= 0) {
		off += (ssize_t)base;
		if (!d->synced && !d->mid && (off > 0 || d->line_total > d->llen)) {
			d->mid = true; /* junk before the first message: it began mid-message */
			ensure_placeholder(c);
		}
		pr_debug("http1: skipped %zu bytes before a message start\n",
			 (size_t)off + (d->line_total - d->llen));
		begin_message(c, di, k, (size_t)off, n - (size_t)off, ts);
		return;
	}
	if (d->state == H1_START)
		start_failed(c, di, false);
	line_reset(d);
}

static ssize_t feed_line(struct http1_conn *c, int di, const uint8_t *p, size_t len, uint64_t ts,
			 uint64_t tag)
{
	struct h1_dir *d = &c->dir[di];
	const uint8_t *nl;
	size_t n = 0;

	if (d->state == H1_START && !d->llen) {
		/* RFC 9112 §2.2: empty lines before a start line are ignored */
		while (n < len && (p[n] == '\r' || p[n] == '\n'))
			n++;
	}
	if (!n) {
		nl = memchr(p, '\n', len);
		n = nl ? (size_t)(nl - p) + 1 : len;
		/* the first bytes this direction ever carried tell TLS and HTTP/2 apart */
		if (!c->synced && d->skipped == d->line_total && d->head_len < sizeof(d->head)) {
			size_t k =
			    n < sizeof(d->head) - d->head_len ? n : sizeof(d->head) - d->head_len;

			memcpy(d->head + d->head_len, p, k);
			d->head_len += k;
			if (h1_not_http1(d->head, d->head_len))
				return -EPROTO;
		}
		if (line_append(c, d, p, n, ts, tag))
			return -ENOMEM;
		if (d->state == H1_START && !d->synced) {
			if (!d->mid && !h1_start_prefix_ok(d->lbuf, d->llen)) {
				d->mid = true;
				ensure_placeholder(c);
			}
		}
		if (nl)
			line_done(c, di, ts);
		else if (d->state == H1_START && d->line_total > hdr_cap(c))
			start_failed(c, di, true);
	}
	if (!d->synced) {
		d->skipped += n;
		if (!c->synced && d->skipped > HTTP1_RESYNC_BUDGET)
			return -EPROTO;
	}
	return (ssize_t)n;
}

/* Header or trailer section bytes; returns how many belong to it. */
static size_t feed_section(struct http1_conn *c, int di, const uint8_t *p, size_t len, uint64_t ts)
{
	struct h1_dir *d = &c->dir[di];
	size_t cap = hdr_cap(c), take = cap > d->hlen ? cap - d->hlen : 0, old = d->hlen, end = 0;
	const char *err;

	take = len < take ? len : take;
	if (take && grow(&d->hbuf, &d->hcap, d->hlen + take, 1)) {
		abandon(c, di, "out of memory");
		return 0;
	}
	memcpy(d->hbuf + d->hlen, p, take);
	d->hlen += take;
	d->msg->end_ns = ts;
	/* the section ends at its first empty line; d->h_line is always at a line start */
	while (d->h_line < d->hlen) {
		const char *b = d->hbuf, *q;

		if (b[d->h_line] == '\n' ||
		    (b[d->h_line] == '\r' && d->h_line + 1 < d->hlen && b[d->h_line + 1] == '\n')) {
			end = d->h_line + (b[d->h_line] == '\n' ? 1 : 2);
			break;
		}
		if (d->h_from < d->h_line)
			d->h_from = d->h_line;
		q = memchr(b + d->h_from, '\n', d->hlen - d->h_from);
		if (!q) {
			d->h_from = d->hlen;
			break;
		}
		d->h_line = d->h_from = (size_t)(q - b) + 1;
	}
	if (!end) {
		if (d->hlen >= cap)
			abandon(c, di,
				d->state == H1_HEADERS ? "header section too large"
						       : "trailer section too large");
		return take;
	}
	d->hlen = end;
	if (d->state == H1_HEADERS) {
		headers_done(c, di);
	} else {
		err = h1_parse_fields(d->msg, d->hbuf, d->hlen);
		/* the framing ended cleanly, so a bad trailer only taints the message */
		if (err && !d->msg->error)
			d->msg->error = "malformed trailer section";
		msg_finish(c, di, true);
	}
	return end - old;
}

/* A chunk-size line is in lbuf. */
static void chunk_line_done(struct http1_conn *c, int di)
{
	struct h1_dir *d = &c->dir[di];
	uint64_t size = 0;
	int err = h1_parse_chunk_size(d->lbuf, d->llen - 1, &size);

	line_reset(d);
	if (err) {
		abandon(c, di, "bad chunk size");
		return;
	}
	if (size) {
		d->remaining = size;
		d->state = H1_CHUNK_DATA;
		return;
	}
	d->state = H1_TRAILERS;
	d->hlen = d->h_start = d->h_line = d->h_from = 0;
}

static ssize_t step(struct http1_conn *c, int di, const uint8_t *p, size_t len, uint64_t ts,
		    uint64_t tag)
{
	struct h1_dir *d = &c->dir[di];
	const uint8_t *nl;
	size_t n;

	switch (d->state) {
	case H1_START:
	case H1_RESYNC:
		return feed_line(c, di, p, len, ts, tag);
	case H1_HEADERS:
	case H1_TRAILERS:
		return (ssize_t)feed_section(c, di, p, len, ts);
	case H1_BODY_LEN:
	case H1_CHUNK_DATA:
		n = len < d->remaining ? len : (size_t)d->remaining;
		body_store_data(&d->body, d->msg, p, n, ts);
		d->remaining -= n;
		if (!d->remaining) {
			if (d->state == H1_BODY_LEN) {
				msg_finish(c, di, true);
			} else {
				d->state = H1_CHUNK_END;
				d->got_cr = false;
			}
		}
		return (ssize_t)n;
	case H1_CHUNK_SIZE:
		nl = memchr(p, '\n', len);
		n = nl ? (size_t)(nl - p) + 1 : len;
		if (n > hdr_cap(c) - d->llen) {
			n = hdr_cap(c) - d->llen;
			nl = NULL;
		}
		d->msg->end_ns = ts;
		if (line_append(c, d, p, n, ts, tag))
			return -ENOMEM;
		if (nl)
			chunk_line_done(c, di);
		else if (d->llen == hdr_cap(c))
			abandon(c, di, "chunk-size line too long");
		return (ssize_t)n;
	case H1_CHUNK_END:
		d->msg->end_ns = ts;
		if (p[0] == '\n') {
			d->state = H1_CHUNK_SIZE;
		} else if (p[0] == '\r' && !d->got_cr) {
			d->got_cr = true;
		} else {
			abandon(c, di, "missing CRLF after chunk data");
			return 0;
		}
		return 1;
	case H1_BODY_CLOSE:
		body_store_data(&d->body, d->msg, p, len, ts);
		return (ssize_t)len;
	}
	return -EINVAL;
}

struct http1_conn *http1_conn_new(const struct http1_limits *lim, http_exchange_cb cb, void *ctx)
{
	struct http1_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->lim.max_body = lim ? lim->max_body : BT_DEFAULT_MAX_BODY;
	c->lim.max_header_bytes =
	    lim && lim->max_header_bytes ? lim->max_header_bytes : HTTP1_DEFAULT_MAX_HEADER_BYTES;
	c->cb = cb;
	c->ctx = ctx;
	return c;
}

int http1_conn_feed(struct http1_conn *c, enum bt_dir dir, const uint8_t *data, size_t len,
		    uint64_t ts_ns, uint64_t tag)
{
	ssize_t n;

	if (!c || (dir != BT_DIR_SEND && dir != BT_DIR_RECV) || (!data && len))
		return -EINVAL;
	if (c->dead || c->closed)
		return -EPROTO;
	while (len > 0) {
		n = step(c, dir, data, len, ts_ns, tag);
		if (n < 0) {
			c->dead = true;
			return (int)n;
		}
		data += n;
		len -= (size_t)n;
		if (c->dead)
			return len ? -EPROTO : 0;
	}
	return 0;
}

static void boundary_gap(struct http1_conn *c, int di, uint64_t lost, uint64_t ts)
{
	struct h1_dir *d = &c->dir[di];

	line_reset(d);
	d->state = H1_RESYNC;
	if (!d->synced) {
		if (!d->mid) {
			d->mid = true;
			ensure_placeholder(c);
		}
		return;
	}
	/* bytes were on the wire where a message had to start: that message is lost */
	lost_message(c, di, NULL, lost, ts, 0);
}

void http1_conn_gap(struct http1_conn *c, enum bt_dir dir, uint64_t lost, uint64_t ts_ns)
{
	struct h1_dir *d;
	uint64_t skip;

	if (!c || (dir != BT_DIR_SEND && dir != BT_DIR_RECV) || !lost || c->dead || c->closed)
		return;
	d = &c->dir[dir];
	switch (d->state) {
	case H1_BODY_LEN:
	case H1_CHUNK_DATA:
		if (d->state == H1_CHUNK_DATA && lost > d->remaining)
			break; /* the chunk framing is gone */
		skip = lost < d->remaining ? lost : d->remaining;
		body_store_gap(&d->body, d->msg, skip, ts_ns);
		d->remaining -= skip;
		if (d->remaining)
			return;
		if (d->state == H1_CHUNK_DATA) {
			d->state = H1_CHUNK_END;
			d->got_cr = false;
			return;
		}
		msg_finish(c, dir, true);
		if (lost > skip)
			boundary_gap(c, dir, lost - skip, ts_ns);
		return;
	case H1_BODY_CLOSE:
		body_store_gap(&d->body, d->msg, lost, ts_ns);
		return;
	case H1_START:
		boundary_gap(c, dir, lost, ts_ns);
		return;
	case H1_RESYNC:
		line_reset(d);
		if (!d->synced && !d->mid) {
			d->mid = true;
			ensure_placeholder(c);
		}
		return;
	default:
		break;
	}
	d->msg->lost_bytes += lost;
	d->msg->truncated = true;
	abandon(c, dir, NULL);
}

uint64_t http1_conn_body_ahead(const struct http1_conn *c, enum bt_dir dir,
			       const struct http_exchange **ex)
{
	const struct h1_dir *d;

	if (!c || (dir != BT_DIR_SEND && dir != BT_DIR_RECV) || c->dead || c->closed)
		return 0;
	d = &c->dir[dir];
	/*
	 * A coded body is decoded as it comes: skipping bytes of it would break the decoding. One
	 * whose coding failed is kept as the bytes that crossed the wire (body.h), whole.
	 */
	if ((d->state != H1_BODY_LEN && d->state != H1_CHUNK_DATA) || d->body.dec || !d->msg ||
	    d->msg->error)
		return 0;
	if (ex)
		*ex = &d->ex->ex;
	return d->remaining;
}

int64_t http1_conn_next_head(const struct http1_conn *c, enum bt_dir dir)
{
	const struct h1_dir *d;

	if (!c || (dir != BT_DIR_SEND && dir != BT_DIR_RECV) || c->dead || c->closed ||
	    c->role == ROLE_UNKNOWN)
		return -1;
	d = &c->dir[dir];
	/* a response whose request is not the last one sent: which answers which is BPF's guess */
	if ((int)dir != req_dir(c) && c->await)
		return -1;
	if (d->state == H1_START && d->synced && !d->llen)
		return 0;
	if (d->state == H1_BODY_LEN && d->msg && !d->msg->error)
		return (int64_t)d->remaining;
	return -1;
}

int http1_conn_omit(struct http1_conn *c, enum bt_dir dir, uint64_t n, uint64_t ts_ns)
{
	struct h1_dir *d;

	if (!n)
		return 0;
	if (http1_conn_body_ahead(c, dir, NULL) < n)
		return -ERANGE;
	d = &c->dir[dir];
	body_store_omit(&d->body, d->msg, n, ts_ns);
	d->remaining -= n;
	if (d->remaining)
		return 0;
	if (d->state == H1_BODY_LEN) {
		msg_finish(c, dir, true);
	} else {
		d->state = H1_CHUNK_END;
		d->got_cr = false;
	}
	return 0;
}

void http1_conn_close(struct http1_conn *c, uint64_t ts_ns)
{
	int i;

	if (!c || c->closed)
		return;
	c->closed = true;
	for (i = 0; i < 2; i++) {
		struct h1_dir *d = &c->dir[i];

		if (!d->msg)
			continue;
		if (d->state == H1_BODY_CLOSE) {
			msg_finish(c, i, true);
			continue;
		}
		d->msg->truncated = true;
		msg_finish(c, i, false);
	}
	if (c->n_pending)
		pr_debug("http1: closed at %llu with %zu unfinished exchanges\n",
			 (unsigned long long)ts_ns, c->n_pending);
	while (c->head)
		deliver(c, pop(c));
}

void http1_conn_free(struct http1_conn *c)
{
	struct h1_ex *x;
	int i;

	if (!c)
		return;
	while (c->head) {
		x = pop(c);
		http_exchange_clear(&x->ex);
		free(x);
	}
	for (i = 0; i < 2; i++) {
		free(c->dir[i].lbuf);
		free(c->dir[i].hbuf);
		body_store_free(&c->dir[i].body);
	}
	free(c);
}

bool http1_detect(const uint8_t *data, size_t len)
{
	const char *l = (const char *)data;
	const uint8_t *nl;
	struct h1_start s;
	size_t n;

	if (!data || !len)
		return false;
	nl = memchr(data, '\n', len);
	n = nl ? (size_t)(nl - data) : len;
	if (nl && n && l[n - 1] == '\r')
		n--;
	if (nl)
		return h1_parse_start(l, n, &s) != KIND_NONE;
	return h1_partial_start_ok(l, n);
}
