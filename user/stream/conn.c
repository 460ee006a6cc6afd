// SPDX-License-Identifier: MIT
/*
 * Connection table and stream reassembly. BPF delivers each direction's chunks in order with
 * their stream offset, so reassembly is bookkeeping: a jump in pos is a gap the parsers are told
 * about, an offset already seen is a duplicate. Which parser a connection gets is decided from the
 * first bytes of either direction; a connection joined mid-stream is recognised at the first
 * chunk that starts a message. Which traced call sent a message is remembered per chunk in a small
 * ring of contexts, referenced by the tag the parsers hand back with each message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "stream/conn.h"
#include "proto/body.h"
#include "proto/http1.h"
#include "proto/http2.h"
#include "util/grow.h"
#include "util/log.h"

#define CONN_INIT_BUCKETS 256
#define CONN_MAX 65536 /* tracked at once; beyond, the least recently active is closed */
/* Chunk contexts remembered per connection: messages in flight started in one of these. */
#define CONN_CTX_RING 64
/* A stream start that is neither HTTP/1.x nor the HTTP/2 preface by then is not HTTP. */
#define DETECT_GIVEUP 16
/*
 * Bytes held per direction while the other decides (an HTTP/2 server's SETTINGS goes first).
 * At least one whole chunk: a first write often carries a request's headers and the start of
 * its body together (Node.js writes 16 KiB), and refusing it would lose the connection.
 */
#define DETECT_HOLD_MAX (BT_DATA_CHUNK + 4096)
/* Bytes of a connection joined mid-stream examined for a message start before giving up. */
#define MIDSTREAM_BUDGET (4ull << 20)
/* The same for a connection whose first bytes were not HTTP: it may predate tracing. */
#define RESCAN_BUDGET (1ull << 20)

enum conn_proto {
	PROTO_DETECT,
	PROTO_HTTP1,
	PROTO_HTTP2,
	PROTO_IGNORE, /* not HTTP, or no longer (Upgrade, CONNECT, parser gave up) */
};

enum verdict { V_WAIT, V_MAYBE_H2, V_H1, V_H2, V_NOT };

struct chunk_ctx {
	uint64_t tag; /* 0: free */
	uint64_t call_id, parent_id, root_id;
	uint32_t tid, flags;
};

/* Bytes from the start of a direction, held until the protocol is known. */
struct pending {
	uint8_t *buf;
	size_t len, cap;
	uint64_t ts, tag; /* of the first byte */
};

struct conn {
	struct conn *hnext; /* hash chain */
	struct conn *lru_prev, *lru_next;
	struct conn_tracker *t;
	uint32_t pid;
	uint64_t conn_id;
	enum conn_proto proto;
	bool tls;
	bool midstream; /* some direction was first seen after its start */
	bool h1_only;	/* searching for a message start after a non-HTTP start: text only */
	bool seen[2];
	bool dir_mid[2]; /* this direction's bytes so far do not start at a known message start */
	uint64_t expect[2];		   /* stream offset of the next new byte */
	uint64_t omit_from[2], omit_to[2]; /* the last omission window asked for */
	uint64_t declined_end[2]; /* end of the last body wants_body kept whole (not asked again) */
	uint32_t unwanted[BT_AUTO_LINES]; /* requests armed for auto windows (bt_auto_arm) */
	unsigned n_unwanted;		  /* entries of unwanted set, the oldest replaced first */
	struct pending pend[2];
	uint64_t mid_seen; /* bytes examined while joined mid-stream */
	struct http1_conn *h1;
	struct http2_conn *h2;
	struct chunk_ctx *ring;
	uint64_t last_tag;
	struct conn_peer peer;
	uint64_t last_ns;
	uint64_t seq; /* exchanges delivered */
};

struct conn_tracker {
	struct conn_opts opts;
	conn_exchange_fn cb;
	void *ctx;
	struct conn **buckets;
	size_t n_buckets, n_conns;
	struct conn *lru_head, *lru_tail; /* least recently active first */
	struct conn_stats stats;
};

static uint64_t conn_hash(uint32_t pid, uint64_t conn_id)
{
	uint64_t x = conn_id ^ ((uint64_t)pid << 32 | pid);

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct conn_tracker *conn_tracker_new(const struct conn_opts *opts, conn_exchange_fn cb, void *ctx)
{
	struct conn_tracker *t;

	if (!cb) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->buckets = calloc(CONN_INIT_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->n_buckets = CONN_INIT_BUCKETS;
	if (opts)
		t->opts = *opts;
	if (!t->opts.max_body)
		t->opts.max_body = BT_DEFAULT_MAX_BODY;
	t->cb = cb;
	t->ctx = ctx;
	return t;
}

static void lru_unlink(struct conn_tracker *t, struct conn *c)
{
	if (c->lru_prev)
		c->lru_prev->lru_next = c->lru_next;
	else
		t->lru_head = c->lru_next;
	if (c->lru_next)
		c->lru_next->lru_prev = c->lru_prev;
	else
		t->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
}

static void lru_append(struct conn_tracker *t, struct conn *c)
{
	c->lru_prev = t->lru_tail;
	c->lru_next = NULL;
	if (t->lru_tail)
		t->lru_tail->lru_next = c;
	else
		t->lru_head = c;
	t->lru_tail = c;
}

static void conn_free(struct conn *c)
{
	http1_conn_free(c->h1);
	http2_conn_free(c->h2);
	free(c->pend[0].buf);
	free(c->pend[1].buf);
	free(c->ring);
	free(c);
}

/* Removes @c from the table and frees it, without delivering anything. */
static void conn_remove(struct conn_tracker *t, struct conn *c)
{
	struct conn **pp = &t->buckets[conn_hash(c->pid, c->conn_id) & (t->n_buckets - 1)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	lru_unlink(t, c);
	t->n_conns--;
	conn_free(c);
}

void conn_tracker_free(struct conn_tracker *t)
{
	if (!t)
		return;
	while (t->lru_head)
		conn_remove(t, t->lru_head);
	free(t->buckets);
	free(t);
}

static struct conn *conn_find(struct conn_tracker *t, uint32_t pid, uint64_t conn_id)
{
	struct conn *c = t->buckets[conn_hash(pid, conn_id) & (t->n_buckets - 1)];

	while (c && (c->pid != pid || c->conn_id != conn_id))
		c = c->hnext;
	return c;
}

static void table_grow(struct conn_tracker *t)
{
	size_t n = t->n_buckets * 2, i;
	struct conn **b = calloc(n, sizeof(*b)), *c, *next;

	if (!b)
		return; /* longer chains, still correct */
	for (i = 0; i < t->n_buckets; i++) {
		for (c = t->buckets[i]; c; c = next) {
			size_t h = conn_hash(c->pid, c->conn_id) & (n - 1);

			next = c->hnext;
			c->hnext = b[h];
			b[h] = c;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
}

static void conn_close(struct conn *c, uint64_t ts, bool final, uint64_t send_pos,
		       uint64_t recv_pos);

/* Returns the connection, created if new, and marks it recently active; NULL on ENOMEM. */
static struct conn *conn_get(struct conn_tracker *t, uint32_t pid, uint64_t conn_id)
{
	struct conn *c = conn_find(t, pid, conn_id);
	size_t h;

	if (c) {
		lru_unlink(t, c);
		lru_append(t, c);
		return c;
	}
	if (t->n_conns >= CONN_MAX && t->lru_head) {
		pr_debug("connection table full: closing idle connection %#" PRIx64 " of pid %u\n",
			 t->lru_head->conn_id, t->lru_head->pid);
		conn_close(t->lru_head, t->lru_head->last_ns, false, 0, 0);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->t = t;
	c->pid = pid;
	c->conn_id = conn_id;
	if (t->n_conns >= t->n_buckets)
		table_grow(t);
	h = conn_hash(pid, conn_id) & (t->n_buckets - 1);
	c->hnext = t->buckets[h];
	t->buckets[h] = c;
	lru_append(t, c);
	t->n_conns++;
	t->stats.connections++;
	return c;
}

/* Returns the tag naming the thread/call context of @e, 0 when it cannot be remembered. */
static uint64_t ctx_tag(struct conn *c, const struct bt_data_event *e)
{
	struct chunk_ctx *x;

	if (!c->ring) {
		c->ring = calloc(CONN_CTX_RING, sizeof(*c->ring));
		if (!c->ring)
			return 0;
	}
	/* consecutive chunks of one call share a context: a large body costs one slot */
	x = c->last_tag ? &c->ring[c->last_tag % CONN_CTX_RING] : NULL;
	if (x && x->tag == c->last_tag && x->tid == e->tid && x->call_id == e->call_id &&
	    x->parent_id == e->parent_id && x->root_id == e->root_id && x->flags == e->flags)
		return c->last_tag;
	c->last_tag++;
	x = &c->ring[c->last_tag % CONN_CTX_RING];
	x->tag = c->last_tag;
	x->call_id = e->call_id;
	x->parent_id = e->parent_id;
	x->root_id = e->root_id;
	x->tid = e->tid;
	x->flags = e->flags;
	return c->last_tag;
}

static void on_exchange(void *ctx, struct http_exchange *ex)
{
	struct conn *c = ctx;
	struct conn_tracker *t = c->t;
	uint64_t tag = ex->has_request ? ex->req.tag : ex->resp.tag;
	struct conn_exchange out = {
	    .http = ex,
	    .origin = {.pid = c->pid},
	    .peer = &c->peer,
	    .tls = c->tls,
	    .conn_id = c->conn_id,
	    .seq = c->seq++,
	    .last_ns = c->last_ns,
	};
	struct conn_origin *o = &out.origin;
	const struct chunk_ctx *x;

	if (tag && c->ring) {
		x = &c->ring[tag % CONN_CTX_RING];
		if (x->tag == tag) {
			o->known = true;
			o->tid = x->tid;
			o->call_id = x->call_id;
			o->parent_id = x->parent_id;
			o->root_id = x->root_id;
			o->flags = x->flags;
		}
	}
	t->stats.exchanges++;
	if (ex->has_request) {
		t->stats.truncated += ex->req.truncated || ex->req.lost_bytes;
		t->stats.parse_errors += ex->req.error != NULL;
	}
	if (ex->has_response) {
		t->stats.truncated += ex->resp.truncated || ex->resp.lost_bytes;
		t->stats.parse_errors += ex->resp.error != NULL;
	}
	t->cb(t->ctx, &out);
}

/* Delivers what the parser holds and stops parsing; later bytes are ignored. */
static void conn_stop(struct conn *c, uint64_t ts)
{
	if (c->h1)
		http1_conn_close(c->h1, ts);
	if (c->h2)
		http2_conn_close(c->h2, ts);
	http1_conn_free(c->h1);
	http2_conn_free(c->h2);
	c->h1 = NULL;
	c->h2 = NULL;
	if (c->proto == PROTO_DETECT || !c->seq)
		c->t->stats.not_http++;
	c->proto = PROTO_IGNORE;
	free(c->pend[0].buf);
	free(c->pend[1].buf);
	memset(c->pend, 0, sizeof(c->pend));
	free(c->ring);
	c->ring = NULL;
}

static void conn_feed(struct conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts,
		      uint64_t tag)
{
	int err = 0;

	if (!n)
		return;
	if (c->proto == PROTO_HTTP1)
		err = http1_conn_feed(c->h1, dir, p, n, ts, tag);
	else if (c->proto == PROTO_HTTP2)
		err = http2_conn_feed(c->h2, dir, p, n, ts, tag);
	if (err) {
		pr_debug("connection %#" PRIx64 " of pid %u: no longer HTTP (%d)\n", c->conn_id,
			 c->pid, err);
		conn_stop(c, ts);
	}
}

/* The start of a direction: HTTP/1.x, the HTTP/2 preface, or (server first) SETTINGS. */
static enum verdict classify_start(const uint8_t *p, size_t n)
{
	enum http2_detect h2 = http2_detect(p, n);

	if (h2 == HTTP2_YES)
		return V_H2;
	if (h2 == HTTP2_MORE)
		return V_WAIT;
	if (http1_detect(p, n))
		return V_H1;
	if (h2 == HTTP2_MAYBE)
		return V_MAYBE_H2;
	return n >= DETECT_GIVEUP ? V_NOT : V_WAIT;
}

/* A chunk of a direction joined mid-stream: a message start, or V_WAIT (skip it). */
static enum verdict classify_mid(const uint8_t *p, size_t n, bool h1_only)
{
	if (http1_detect(p, n < 256 ? n : 256))
		return V_H1;
	if (h1_only)
		return V_WAIT;
	return http2_detect_mid(p, n) == HTTP2_YES ? V_H2 : V_WAIT;
}

static int conn_start_parser(struct conn *c, enum verdict v)
{
	struct conn_tracker *t = c->t;

	if (v == V_H1) {
		struct http1_limits lim = {.max_body = t->opts.max_body};

		c->h1 = http1_conn_new(&lim, on_exchange, c);
		if (!c->h1)
			return -errno;
		c->proto = PROTO_HTTP1;
	} else {
		struct http2_limits lim = {.max_body = t->opts.max_body};

		c->h2 = http2_conn_new(&lim, on_exchange, c);
		if (!c->h2)
			return -errno;
		c->proto = PROTO_HTTP2;
	}
	return 0;
}

/* Feeds held stream starts, earliest first: HTTP/2 infers the roles from who spoke first. */
static void conn_feed_pending(struct conn *c, int first_dir)
{
	struct pending p[2];
	int order[2] = {first_dir, !first_dir}, i;

	if (c->pend[!first_dir].len && c->pend[first_dir].len &&
	    c->pend[!first_dir].ts < c->pend[first_dir].ts) {
		order[0] = !first_dir;
		order[1] = first_dir;
	}
	/* the parser may stop the connection (and free the buffers) half way */
	memcpy(p, c->pend, sizeof(p));
	memset(c->pend, 0, sizeof(c->pend));
	for (i = 0; i < 2; i++)
		if (c->proto != PROTO_IGNORE)
			conn_feed(c, order[i], p[order[i]].buf, p[order[i]].len, p[order[i]].ts,
				  p[order[i]].tag);
	free(p[0].buf);
	free(p[1].buf);
}

static int pending_add(struct pending *pd, const uint8_t *p, size_t n, uint64_t ts, uint64_t tag)
{
	if (pd->len + n > DETECT_HOLD_MAX)
		return -E2BIG;
	if (grow(&pd->buf, &pd->cap, pd->len + n, 1))
		return -ENOMEM;
	if (!pd->len) {
		pd->ts = ts;
		pd->tag = tag;
	}
	memcpy(pd->buf + pd->len, p, n);
	pd->len += n;
	return 0;
}

/* Protocol detection on new in-order bytes of a connection not yet identified. */
static void conn_detect(struct conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts,
			uint64_t tag)
{
	enum verdict v;
	int err;

	if (!n)
		return;
	if (c->dir_mid[dir]) {
		v = classify_mid(p, n, c->h1_only);
		if (v == V_WAIT) {
			c->mid_seen += n;
			if (c->mid_seen > (c->h1_only ? RESCAN_BUDGET : MIDSTREAM_BUDGET))
				conn_stop(c, ts);
			return;
		}
		/* the held start of the other direction is still the start of its stream */
		err = conn_start_parser(c, v);
		if (err) {
			conn_stop(c, ts);
			return;
		}
		conn_feed_pending(c, !dir);
		conn_feed(c, dir, p, n, ts, tag);
		return;
	}
	err = pending_add(&c->pend[dir], p, n, ts, tag);
	if (err) {
		conn_stop(c, ts);
		return;
	}
	v = classify_start(c->pend[dir].buf, c->pend[dir].len);
	if (v == V_NOT) {
		/*
		 * BPF numbers a connection from the first I/O it sees, so one already open when
		 * tracing began starts anywhere in a message. Keep looking for an HTTP/1.x message
		 * start for a while: text, so binary protocols do not match by accident.
		 */
		pr_debug("connection %#" PRIx64 " of pid %u does not start as HTTP\n", c->conn_id,
			 c->pid);
		c->mid_seen = c->pend[0].len + c->pend[1].len;
		free(c->pend[0].buf);
		free(c->pend[1].buf);
		memset(c->pend, 0, sizeof(c->pend));
		c->dir_mid[0] = c->dir_mid[1] = true;
		c->h1_only = true;
		return;
	}
	if (v != V_H1 && v != V_H2)
		return;
	err = conn_start_parser(c, v);
	if (err) {
		conn_stop(c, ts);
		return;
	}
	conn_feed_pending(c, dir);
}

/* @lost bytes of @dir will never be seen. */
static void conn_gap(struct conn *c, int dir, uint64_t lost, uint64_t ts)
{
	c->t->stats.lost_bytes += lost;
	switch (c->proto) {
	case PROTO_HTTP1:
		http1_conn_gap(c->h1, dir, lost, ts);
		break;
	case PROTO_HTTP2:
		http2_conn_gap(c->h2, dir, lost, ts);
		break;
	case PROTO_DETECT:
		/* what follows is no longer the stream start: look for a message start instead */
		free(c->pend[dir].buf);
		memset(&c->pend[dir], 0, sizeof(c->pend[dir]));
		c->dir_mid[dir] = true;
		c->midstream = true;
		break;
	default:
		break;
	}
}

/* @n bytes of @dir at stream position @at that BPF did not copy, as an omission window asked. */
static void conn_omitted(struct conn *c, int dir, uint64_t at, uint64_t n, uint64_t ts)
{
	if (c->proto == PROTO_HTTP1 && at >= c->omit_from[dir] && at < c->omit_to[dir] &&
	    n <= c->omit_to[dir] - at && !http1_conn_omit(c->h1, dir, n, ts)) {
		c->t->stats.omitted += n;
		return;
	}
	/* the stream is not where the window said (a gap moved it): the bytes are lost */
	pr_debug("connection %#" PRIx64 " of pid %u: %" PRIu64 " omitted bytes out of place\n",
		 c->conn_id, c->pid, n);
	conn_gap(c, dir, n, ts);
}

/*
 * The @n bytes of @dir at c->expect never came: those the omission window covers were left
 * uncopied as asked (BPF reports only the I/O call that ends a window), the rest are lost.
 */
static void conn_skip(struct conn *c, int dir, uint64_t n, uint64_t ts)
{
	uint64_t at = c->expect[dir], in = 0;

	if (at >= c->omit_from[dir] && at < c->omit_to[dir])
		in = c->omit_to[dir] - at < n ? c->omit_to[dir] - at : n;
	if (in)
		conn_omitted(c, dir, at, in, ts);
	if (n > in && c->proto != PROTO_IGNORE)
		conn_gap(c, dir, n - in, ts);
}

/*
 * Arms @c for auto windows after a window on a body of @ex: BPF may open the windows of later
 * bodies of the same request (method and path) itself, from the next message starts this parse
 * knows.
 */
static void conn_arm(struct conn *c, const struct http_exchange *ex)
{
	struct conn_tracker *t = c->t;
	struct bt_auto_arm a = {.next_head = {BT_POS_NONE, BT_POS_NONE}};
	uint32_t h = ex->req.path_hash;
	unsigned i, n = c->n_unwanted < BT_AUTO_LINES ? c->n_unwanted : BT_AUTO_LINES;
	int64_t ahead;
	int dir;

	if (!t->opts.arm || !h)
		return;
	for (i = 0; i < n && c->unwanted[i] != h; i++)
		;
	if (i == n)
		c->unwanted[c->n_unwanted++ % BT_AUTO_LINES] = h;
	for (dir = 0; dir < 2; dir++) {
		ahead = http1_conn_next_head(c->h1, dir);
		if (ahead >= 0)
			a.next_head[dir] = c->expect[dir] + (uint64_t)ahead;
	}
	memcpy(a.unwanted, c->unwanted, sizeof(a.unwanted));
	if (!t->opts.arm(t->opts.omit_ctx, c->pid, c->conn_id, &a))
		t->stats.arms++;
}

/*
 * BPF opened a window of @n bytes of @dir at @from itself (BT_DATA_F_WINDOW), after the head
 * it just delivered: taken as this parse's own when the parse agrees that a body of exactly
 * those bytes follows and that nobody reads it. Otherwise the bytes are lost: counted, and the
 * connection disarmed.
 */
static void conn_adopt(struct conn *c, int dir, uint64_t from, uint64_t n)
{
	struct conn_tracker *t = c->t;
	const struct http_exchange *ex = NULL;
	const char *why = NULL;

	if (c->proto != PROTO_HTTP1)
		why = "not HTTP/1.1";
	else if (c->expect[dir] != from || c->omit_to[dir] > from)
		why = "not where the stream is";
	else if (http1_conn_body_ahead(c->h1, dir, &ex) != n || !ex)
		why = "not the body the head announced";
	else if (!t->opts.wants_body || t->opts.wants_body(t->ctx, ex))
		why = "a body that is read";
	if (!why) {
		c->omit_from[dir] = from;
		c->omit_to[dir] = from + n;
		t->stats.omit_windows++;
		t->stats.auto_windows++;
		return;
	}
	t->stats.auto_refused++;
	pr_info("connection %#" PRIx64 " of pid %u: BPF left out %" PRIu64 " bytes at %" PRIu64
		" as body nobody reads, but they are %s: lost\n",
		c->conn_id, c->pid, n, from, why);
	memset(c->unwanted, 0, sizeof(c->unwanted));
	c->n_unwanted = 0;
	if (t->opts.arm)
		t->opts.arm(t->opts.omit_ctx, c->pid, c->conn_id, NULL);
}

/* Asks for an omission window when @dir of @c is inside a body nobody will read. */
static void conn_announce(struct conn *c, int dir)
{
	struct conn_tracker *t = c->t;
	const struct http_exchange *ex = NULL;
	uint64_t ahead, from = c->expect[dir];

	if (!t->opts.omit || !t->opts.wants_body || c->proto != PROTO_HTTP1 ||
	    c->omit_to[dir] > from)
		return;
	ahead = http1_conn_body_ahead(c->h1, dir, &ex);
	if (ahead < CONN_OMIT_MIN || !ex || from + ahead == c->declined_end[dir])
		return;
	if (t->opts.wants_body(t->ctx, ex)) {
		c->declined_end[dir] = from + ahead;
		return;
	}
	/* not set: every byte keeps coming, and a jump stays a loss; not asked again */
	if (t->opts.omit(t->opts.omit_ctx, c->pid, c->conn_id, dir, from, from + ahead)) {
		c->declined_end[dir] = from + ahead;
		return;
	}
	c->omit_from[dir] = from;
	c->omit_to[dir] = from + ahead;
	t->stats.omit_windows++;
	conn_arm(c, ex);
}

void conn_tracker_data(struct conn_tracker *t, const struct bt_data_event *e)
{
	const uint8_t *p = e->data;
	uint64_t pos = e->pos, skip, tag;
	size_t n = e->len < BT_DATA_CHUNK ? e->len : BT_DATA_CHUNK;
	bool omitted = e->flags & BT_DATA_F_OMITTED;
	int dir = e->dir;
	struct conn *c;

	if (!t || (dir != BT_DIR_SEND && dir != BT_DIR_RECV))
		return;
	if (omitted)
		n = e->omitted;
	else
		t->stats.bytes += n;
	c = conn_get(t, e->pid, e->conn_id);
	if (!c)
		return;
	if (e->ts_ns > c->last_ns)
		c->last_ns = e->ts_ns;
	if (c->proto == PROTO_IGNORE)
		return;
	c->tls = e->src == BT_SRC_TLS;
	if (!c->seen[dir]) {
		c->seen[dir] = true;
		/*
		 * Seen from the start in the other direction, a late first chunk here means lost
		 * bytes; otherwise we joined a connection already in use.
		 */
		if (pos && (c->midstream || !c->seen[!dir])) {
			c->midstream = true;
			c->dir_mid[dir] = true;
			c->expect[dir] = pos;
		}
	}
	if (pos + n <= c->expect[dir])
		return; /* duplicate, or an empty chunk */
	if (pos < c->expect[dir]) {
		skip = c->expect[dir] - pos;
		p += skip;
		n -= skip;
		pos = c->expect[dir];
	}
	if (pos > c->expect[dir])
		conn_skip(c, dir, pos - c->expect[dir], e->ts_ns);
	c->expect[dir] = pos + n;
	if (c->proto == PROTO_IGNORE)
		return;
	if (omitted) {
		conn_omitted(c, dir, pos, n, e->ts_ns);
		return;
	}
	tag = ctx_tag(c, e);
	if (c->proto == PROTO_DETECT)
		conn_detect(c, dir, p, n, e->ts_ns, tag);
	else
		conn_feed(c, dir, p, n, e->ts_ns, tag);
	/* the parser may have stopped (and freed) the connection */
	if (e->flags & BT_DATA_F_WINDOW)
		conn_adopt(c, dir, e->pos + e->len, e->omitted);
	else if (c->proto == PROTO_HTTP1)
		conn_announce(c, dir);
}

/*
 * Ends @c: with @final totals, bytes sent or received after the last chunk we saw are a lost
 * tail; the parser then delivers everything it holds and @c is freed.
 */
static void conn_close(struct conn *c, uint64_t ts, bool final, uint64_t send_pos,
		       uint64_t recv_pos)
{
	uint64_t total;
	int dir;

	if (ts < c->last_ns)
		ts = c->last_ns;
	if (final && (c->proto == PROTO_HTTP1 || c->proto == PROTO_HTTP2)) {
		for (dir = 0; dir < 2; dir++) {
			total = dir == BT_DIR_SEND ? send_pos : recv_pos;
			if (c->seen[dir] && total > c->expect[dir])
				conn_skip(c, dir, total - c->expect[dir], ts);
			else if (!c->seen[dir] && !c->midstream && total)
				conn_gap(c, dir, total, ts);
		}
	}
	if (c->h1)
		http1_conn_close(c->h1, ts);
	if (c->h2)
		http2_conn_close(c->h2, ts);
	if (c->proto == PROTO_DETECT && c->h1_only)
		c->t->stats.not_http++;
	conn_remove(c->t, c);
}

void conn_tracker_conn(struct conn_tracker *t, const struct bt_conn_event *e)
{
	struct conn *c;

	if (!t)
		return;
	if (e->type == BT_EV_CLOSE) {
		c = conn_find(t, e->pid, e->conn_id);
		if (c)
			conn_close(c, e->ts_ns, true, e->send_pos, e->recv_pos);
		return;
	}
	if (e->type != BT_EV_CONN)
		return;
	c = conn_get(t, e->pid, e->conn_id);
	if (!c)
		return;
	if (e->family) {
		c->peer.known = true;
		c->peer.family = e->family;
		memcpy(c->peer.local_addr, e->saddr, sizeof(c->peer.local_addr));
		memcpy(c->peer.peer_addr, e->daddr, sizeof(c->peer.peer_addr));
		c->peer.local_port = e->sport;
		c->peer.peer_port = e->dport;
	}
	if (e->src)
		c->tls = e->src == BT_SRC_TLS;
}

void conn_tracker_process_exit(struct conn_tracker *t, uint32_t pid, uint64_t ts_ns)
{
	struct conn *c, *next;

	if (!t)
		return;
	for (c = t->lru_head; c; c = next) {
		next = c->lru_next;
		if (c->pid == pid)
			conn_close(c, ts_ns, false, 0, 0);
	}
}

void conn_tracker_flush(struct conn_tracker *t, uint64_t ts_ns)
{
	if (!t)
		return;
	while (t->lru_head)
		conn_close(t->lru_head, ts_ns, false, 0, 0);
}

void conn_tracker_stats(const struct conn_tracker *t, struct conn_stats *out)
{
	if (t && out)
		*out = t->stats;
}
