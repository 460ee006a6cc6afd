// SPDX-License-Identifier: MIT
/*
 * Unit tests for http1.c. Conversations live in tests/data/http1/ (format in the README
 * there); each is checked for what it must produce and replayed split at every byte boundary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_methods.h"
#include "proto/body.h"
#include "proto/http1.h"

#include "lib/compress.h"

#define DATA_DIR "tests/data/http1/"

/* ---- conversations ---- */

enum ev_type { EV_FEED, EV_GAP, EV_CLOSE };

struct event {
	enum ev_type type;
	enum bt_dir dir;
	uint8_t *data;
	size_t len; /* bytes, or lost bytes for EV_GAP */
};

struct conv {
	struct event *ev;
	size_t n;
};

static void conv_add(struct conv *cv, enum ev_type type, enum bt_dir dir, uint8_t *data, size_t len)
{
	cv->ev = realloc(cv->ev, (cv->n + 1) * sizeof(*cv->ev));
	assert_non_null(cv->ev);
	cv->ev[cv->n++] = (struct event){type, dir, data, len};
}

static void conv_add_bytes(struct conv *cv, enum bt_dir dir, const void *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, data, len);
	conv_add(cv, EV_FEED, dir, copy, len);
}

static void conv_add_str(struct conv *cv, enum bt_dir dir, const char *s)
{
	conv_add_bytes(cv, dir, s, strlen(s));
}

static void conv_free(struct conv *cv)
{
	size_t i;

	for (i = 0; i < cv->n; i++)
		free(cv->ev[i].data);
	free(cv->ev);
	memset(cv, 0, sizeof(*cv));
}

static size_t unescape(const char *s, uint8_t *out)
{
	size_t n = 0;
	unsigned int v;

	while (*s) {
		if (*s != '\\') {
			out[n++] = (uint8_t)*s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r':
			out[n++] = '\r';
			s++;
			break;
		case 'n':
			out[n++] = '\n';
			s++;
			break;
		case 't':
			out[n++] = '\t';
			s++;
			break;
		case 'x':
			assert_int_equal(sscanf(s + 1, "%2x", &v), 1);
			out[n++] = (uint8_t)v;
			s += 3;
			break;
		default:
			out[n++] = (uint8_t)*s++;
			break;
		}
	}
	return n;
}

static void conv_load(const char *path, struct conv *cv)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	unsigned long long lost;
	size_t n;

	if (!f)
		fail_msg("cannot open %s (tests run from the project root)", path);
	memset(cv, 0, sizeof(*cv));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if ((line[0] == '>' || line[0] == '<') && line[1] == ' ') {
			uint8_t *b = malloc(strlen(line));

			n = unescape(line + 2, b);
			conv_add(cv, EV_FEED, line[0] == '>' ? BT_DIR_SEND : BT_DIR_RECV, b, n);
		} else if (sscanf(line, "gap > %llu", &lost) == 1) {
			conv_add(cv, EV_GAP, BT_DIR_SEND, NULL, lost);
		} else if (sscanf(line, "gap < %llu", &lost) == 1) {
			conv_add(cv, EV_GAP, BT_DIR_RECV, NULL, lost);
		} else if (strcmp(line, "close") == 0) {
			conv_add(cv, EV_CLOSE, BT_DIR_SEND, NULL, 0);
		} else {
			fail_msg("%s: bad line '%s'", path, line);
		}
	}
	fclose(f);
}

/* ---- collecting exchanges ---- */

struct result {
	struct http_exchange *ex;
	size_t n, cap;
	int eproto_at; /* event of the first -EPROTO, -1 if none */
	size_t max_body;
	char *text;
};

static char *xdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void *memdup(const void *p, size_t n)
{
	void *r;

	if (!n)
		return NULL;
	r = malloc(n);
	assert_non_null(r);
	memcpy(r, p, n);
	return r;
}

static void copy_msg(struct http_msg *d, const struct http_msg *s)
{
	size_t i;

	*d = *s;
	d->method = xdup(s->method);
	d->target = xdup(s->target);
	d->authority = xdup(s->authority);
	d->scheme = xdup(s->scheme);
	d->headers = s->n_headers ? calloc(s->n_headers, sizeof(*d->headers)) : NULL;
	for (i = 0; i < s->n_headers; i++) {
		d->headers[i].name = strdup(s->headers[i].name);
		d->headers[i].value = strdup(s->headers[i].value);
	}
	d->body = memdup(s->body, s->body_len);
	d->body_ts = memdup(s->body_ts, s->n_body_ts * sizeof(*s->body_ts));
}

/* Properties every delivered message has, whatever the input. */
static void check_msg(const struct http_msg *m, size_t max_body)
{
	size_t i;

	assert_true(m->body_len <= max_body);
	assert_true(m->body_len == 0 || m->body != NULL);
	for (i = 0; i < m->n_headers; i++) {
		const char *p;

		assert_non_null(m->headers[i].name);
		assert_non_null(m->headers[i].value);
		for (p = m->headers[i].name; *p; p++)
			assert_false(*p >= 'A' && *p <= 'Z');
	}
	for (i = 0; i < m->n_body_ts; i++) {
		assert_true(m->body_ts[i].off <= m->body_len);
		if (i)
			assert_true(m->body_ts[i].off > m->body_ts[i - 1].off);
	}
}

static void collect(void *ctx, struct http_exchange *ex)
{
	struct result *r = ctx;
	struct http_exchange *c;

	assert_int_equal(ex->version, 11);
	assert_int_equal(ex->stream_id, 0);
	if (ex->has_request) {
		assert_non_null(ex->req.method);
		assert_non_null(ex->req.target);
	}
	if (!ex->has_request || !ex->has_response || !ex->req.complete || !ex->resp.complete)
		assert_true(ex->incomplete);
	check_msg(&ex->req, r->max_body);
	check_msg(&ex->resp, r->max_body);
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->ex = realloc(r->ex, r->cap * sizeof(*r->ex));
		assert_non_null(r->ex);
	}
	c = &r->ex[r->n++];
	*c = *ex;
	copy_msg(&c->req, &ex->req);
	copy_msg(&c->resp, &ex->resp);
}

static void ser_msg(FILE *f, const char *what, const struct http_msg *m)
{
	size_t i;

	fprintf(f, " %s method=%s target=%s authority=%s status=%d\n", what,
		m->method ? m->method : "-", m->target ? m->target : "-",
		m->authority ? m->authority : "-", m->status);
	for (i = 0; i < m->n_headers; i++)
		fprintf(f, "  h [%s]=[%s]\n", m->headers[i].name, m->headers[i].value);
	fprintf(f, "  body %zu [", m->body_len);
	for (i = 0; i < m->body_len; i++)
		fprintf(f, m->body[i] >= 0x20 && m->body[i] < 0x7f ? "%c" : "\\x%02x", m->body[i]);
	fprintf(f, "] wire=%zu lost=%llu trunc=%d complete=%d error=%s\n", m->wire_body_len,
		(unsigned long long)m->lost_bytes, m->truncated, m->complete,
		m->error ? m->error : "-");
	fprintf(f, "  times %llu %llu %llu tag %llu ts", (unsigned long long)m->start_ns,
		(unsigned long long)m->end_ns, (unsigned long long)m->first_body_ns,
		(unsigned long long)m->tag);
	for (i = 0; i < m->n_body_ts; i++)
		fprintf(f, " %zu@%llu", m->body_ts[i].off, (unsigned long long)m->body_ts[i].ts_ns);
	fprintf(f, "\n");
}

static void serialize(struct result *r)
{
	size_t len, i;
	FILE *f = open_memstream(&r->text, &len);

	assert_non_null(f);
	fprintf(f, "eproto_at=%d\n", r->eproto_at);
	for (i = 0; i < r->n; i++) {
		const struct http_exchange *ex = &r->ex[i];

		fprintf(f, "#%zu server=%d req=%d resp=%d incomplete=%d\n", i, ex->server_side,
			ex->has_request, ex->has_response, ex->incomplete);
		ser_msg(f, "req", &ex->req);
		ser_msg(f, "resp", &ex->resp);
	}
	fclose(f);
}

static void result_free(struct result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		http_exchange_clear(&r->ex[i]);
	free(r->ex);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/*
 * Replays @cv. Event @split (if >= 0) is fed as two pieces cut at @at; @bytewise feeds every
 * event one byte at a time. Pieces keep their event's timestamp and tag.
 */
static void run(const struct conv *cv, const struct http1_limits *lim, long split, size_t at,
		bool bytewise, struct result *r)
{
	struct http1_conn *c;
	bool stopped = false;
	size_t i, off, n;
	int rc;

	memset(r, 0, sizeof(*r));
	r->eproto_at = -1;
	r->max_body = lim ? lim->max_body : BT_DEFAULT_MAX_BODY;
	c = http1_conn_new(lim, collect, r);
	assert_non_null(c);
	for (i = 0; i < cv->n; i++) {
		const struct event *e = &cv->ev[i];
		uint64_t ts = 1000 * (i + 1), tag = i + 1;

		switch (e->type) {
		case EV_FEED:
			for (off = 0; !stopped && off < e->len; off += n) {
				n = e->len - off;
				if (bytewise)
					n = 1;
				else if ((long)i == split && off < at && at < e->len)
					n = at;
				rc = http1_conn_feed(c, e->dir, e->data + off, n, ts, tag);
				if (rc == -EPROTO) {
					r->eproto_at = (int)i;
					stopped = true;
				} else {
					assert_int_equal(rc, 0);
				}
			}
			break;
		case EV_GAP:
			http1_conn_gap(c, e->dir, e->len, ts);
			break;
		case EV_CLOSE:
			http1_conn_close(c, ts);
			break;
		}
	}
	http1_conn_free(c);
	serialize(r);
}

static void run_file(const char *name, struct result *r)
{
	char path[256];
	struct conv cv;

	snprintf(path, sizeof(path), DATA_DIR "%s", name);
	conv_load(path, &cv);
	run(&cv, NULL, -1, 0, false, r);
	conv_free(&cv);
}

static void assert_body(const struct http_msg *m, const char *s)
{
	assert_int_equal(m->body_len, strlen(s));
	if (m->body_len)
		assert_memory_equal(m->body, s, m->body_len);
}

static void add_coded_response(struct conv *cv, const char *enc, const uint8_t *body, size_t len,
			       bool chunked, size_t piece);

/* ---- conversations from tests/data/http1 ---- */

static void test_http1_simple_get(void **state)
{
	struct result r;
	const struct http_exchange *ex;

	(void)state;
	run_file("simple_get.txt", &r);
	assert_int_equal(r.n, 1);
	ex = &r.ex[0];
	assert_false(ex->server_side);
	assert_true(ex->has_request && ex->has_response);
	assert_false(ex->incomplete);
	assert_string_equal(ex->req.method, "GET");
	assert_string_equal(ex->req.target, "/index.html?q=1");
	assert_string_equal(ex->req.authority, "Example.COM:8080");
	assert_string_equal(http_msg_header(&ex->req, "user-agent"), "test/1.0");
	assert_string_equal(ex->req.headers[0].name, "host");
	assert_int_equal(ex->req.n_headers, 3);
	assert_int_equal(ex->req.body_len, 0);
	assert_int_equal(ex->req.first_body_ns, 0);
	assert_true(ex->req.complete);
	assert_int_equal(ex->resp.status, 200);
	assert_body(&ex->resp, "hello world");
	assert_int_equal(ex->resp.wire_body_len, 11);
	assert_true(ex->resp.complete);
	assert_false(ex->resp.truncated);
	assert_null(ex->resp.error);
	/* the response started in event 1 and ended in event 2 */
	assert_int_equal(ex->req.start_ns, 1000);
	assert_int_equal(ex->req.tag, 1);
	assert_int_equal(ex->resp.start_ns, 2000);
	assert_int_equal(ex->resp.end_ns, 3000);
	assert_int_equal(ex->resp.first_body_ns, 2000);
	assert_int_equal(ex->resp.tag, 2);
	assert_int_equal(ex->resp.n_body_ts, 2);
	assert_int_equal(ex->resp.body_ts[0].off, 0);
	assert_int_equal(ex->resp.body_ts[0].ts_ns, 2000);
	assert_int_equal(ex->resp.body_ts[1].off, 5);
	assert_int_equal(ex->resp.body_ts[1].ts_ns, 3000);
	assert_int_equal(http_msg_body_time(&ex->resp, 7), 3000);
	result_free(&r);
}

static void test_http1_keepalive_sequence(void **state)
{
	struct result r;

	(void)state;
	run_file("keepalive.txt", &r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.ex[0].req.method, "POST");
	assert_body(&r.ex[0].req, "{\"a\":1}");
	assert_int_equal(r.ex[0].resp.status, 201);
	assert_body(&r.ex[0].resp, "ok");
	assert_string_equal(r.ex[1].req.target, "/v1/b");
	assert_body(&r.ex[1].resp, "Wikipedia");
	assert_int_equal(r.ex[1].resp.wire_body_len, 9);
	assert_string_equal(r.ex[2].req.method, "DELETE");
	assert_int_equal(r.ex[2].resp.status, 204);
	assert_int_equal(r.ex[2].resp.body_len, 0);
	for (size_t i = 0; i < 3; i++) {
		assert_false(r.ex[i].incomplete);
		assert_string_equal(r.ex[i].req.authority, "api");
	}
	result_free(&r);
}

static void test_http1_pipelined_fifo(void **state)
{
	struct result r;

	(void)state;
	run_file("pipelined.txt", &r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.ex[0].req.target, "/1");
	assert_body(&r.ex[0].resp, "one");
	/* HEAD: Content-Length 1000 but no body, the next status line follows at once */
	assert_string_equal(r.ex[1].req.method, "HEAD");
	assert_int_equal(r.ex[1].resp.status, 200);
	assert_int_equal(r.ex[1].resp.body_len, 0);
	assert_true(r.ex[1].resp.complete);
	assert_string_equal(r.ex[2].req.target, "/3");
	assert_body(&r.ex[2].req, "abc");
	assert_body(&r.ex[2].resp, "three");
	assert_false(r.ex[2].incomplete);
	/* all three requests came in the first write */
	assert_int_equal(r.ex[2].req.start_ns, 1000);
	assert_int_equal(r.ex[2].resp.start_ns, 3000);
	result_free(&r);
}

static void test_http1_chunked_extensions_trailers(void **state)
{
	struct result r;
	const struct http_msg *m;

	(void)state;
	run_file("chunked_ext_trailers.txt", &r);
	assert_int_equal(r.n, 1);
	assert_body(&r.ex[0].req, "abc");
	assert_true(r.ex[0].req.complete);
	m = &r.ex[0].resp;
	assert_body(m, "0123456789abcdefghijklmnopqrstuvwxyz");
	assert_int_equal(m->wire_body_len, 36);
	assert_true(m->complete);
	assert_null(m->error);
	assert_string_equal(http_msg_header(m, "x-checksum"), "abc123");
	assert_string_equal(http_msg_header(m, "x-other"), "two");
	assert_string_equal(http_msg_header(m, "trailer"), "X-Checksum");
	assert_int_equal(m->end_ns, 3000);
	assert_int_equal(m->n_body_ts, 2);
	assert_int_equal(m->body_ts[1].off, 10);
	result_free(&r);
}

static void test_http1_interim_not_paired(void **state)
{
	struct result r;

	(void)state;
	run_file("interim.txt", &r);
	assert_int_equal(r.n, 1);
	assert_body(&r.ex[0].req, "data");
	assert_int_equal(r.ex[0].req.end_ns, 3000);
	assert_int_equal(r.ex[0].resp.status, 200);
	assert_body(&r.ex[0].resp, "done");
	assert_null(http_msg_header(&r.ex[0].resp, "link"));
	assert_int_equal(r.ex[0].resp.start_ns, 4000);
	assert_false(r.ex[0].incomplete);
	result_free(&r);
}

static void test_http1_no_body_statuses(void **state)
{
	struct result r;
	size_t i;

	(void)state;
	run_file("no_body.txt", &r);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.ex[0].resp.status, 200);
	assert_int_equal(r.ex[1].resp.status, 204);
	assert_int_equal(r.ex[2].resp.status, 304);
	for (i = 0; i < 3; i++) {
		assert_int_equal(r.ex[i].resp.body_len, 0);
		assert_int_equal(r.ex[i].resp.wire_body_len, 0);
		assert_true(r.ex[i].resp.complete);
	}
	assert_body(&r.ex[3].resp, "after");
	result_free(&r);
}

static void test_http1_close_delimited(void **state)
{
	struct result r;

	(void)state;
	run_file("close_delimited.txt", &r);
	assert_int_equal(r.n, 1);
	assert_body(&r.ex[0].resp, "part one, part two");
	assert_true(r.ex[0].resp.complete);
	assert_false(r.ex[0].resp.truncated);
	assert_false(r.ex[0].incomplete);
	assert_int_equal(r.ex[0].resp.end_ns, 3000);
	result_free(&r);
}

static void test_http1_connect_tunnel(void **state)
{
	struct result r;

	(void)state;
	run_file("connect.txt", &r);
	assert_int_equal(r.eproto_at, 4);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ex[0].req.method, "CONNECT");
	assert_string_equal(r.ex[0].req.authority, "db.internal:5432");
	assert_body(&r.ex[0].resp, "denied");
	assert_int_equal(r.ex[1].resp.status, 200);
	assert_string_equal(r.ex[1].req.authority, "api.example.com:443");
	assert_false(r.ex[1].incomplete);
	result_free(&r);
}

static void test_http1_upgrade_eproto(void **state)
{
	struct result r;

	(void)state;
	run_file("upgrade.txt", &r);
	assert_int_equal(r.eproto_at, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ex[0].resp.status, 101);
	assert_string_equal(http_msg_header(&r.ex[0].req, "upgrade"), "h2c");
	assert_true(r.ex[0].resp.complete);
	result_free(&r);
}

static void test_http1_obsfold_bare_lf(void **state)
{
	struct result r;
	const struct http_msg *q;

	(void)state;
	run_file("obsfold_barelf.txt", &r);
	/* no close: the exchange is delivered because both messages are done */
	assert_int_equal(r.n, 1);
	q = &r.ex[0].req;
	assert_string_equal(q->target, "/lf");
	assert_string_equal(http_msg_header(q, "x-folded"), "first second third");
	assert_string_equal(http_msg_header(q, "x-empty"), "");
	assert_string_equal(q->authority, "lf");
	assert_body(&r.ex[0].resp, "ok");
	assert_string_equal(http_msg_header(&r.ex[0].resp, "x-bare-cr"), "a b");
	assert_false(r.ex[0].incomplete);
	result_free(&r);
}

static void test_http1_malformed_request_resync(void **state)
{
	struct result r;

	(void)state;
	run_file("malformed_request.txt", &r);
	assert_int_equal(r.n, 3);
	assert_false(r.ex[0].incomplete);
	assert_false(r.ex[1].has_request);
	assert_true(r.ex[1].incomplete);
	assert_string_equal(r.ex[1].req.error, "malformed request line");
	assert_int_equal(r.ex[1].resp.status, 400);
	assert_body(&r.ex[1].resp, "bad");
	assert_string_equal(r.ex[2].req.target, "/again");
	assert_body(&r.ex[2].resp, "again");
	assert_false(r.ex[2].incomplete);
	result_free(&r);
}

static void test_http1_bad_chunk_resync(void **state)
{
	struct result r;

	(void)state;
	run_file("bad_chunk.txt", &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ex[0].resp.error, "bad chunk size");
	assert_false(r.ex[0].resp.complete);
	assert_true(r.ex[0].incomplete);
	assert_body(&r.ex[0].resp, "abc");
	assert_string_equal(r.ex[1].req.target, "/c2");
	assert_body(&r.ex[1].resp, "c2");
	assert_false(r.ex[1].incomplete);
	result_free(&r);
}

static void test_http1_conflicting_content_length(void **state)
{
	struct result r;

	(void)state;
	run_file("conflicting_cl.txt", &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ex[0].req.error, "conflicting content-length");
	assert_false(r.ex[0].req.complete);
	assert_int_equal(r.ex[0].resp.status, 400);
	assert_string_equal(r.ex[1].req.target, "/y");
	assert_body(&r.ex[1].resp, "y");
	result_free(&r);
}

static void test_http1_midstream_request(void **state)
{
	struct result r;

	(void)state;
	run_file("midstream.txt", &r);
	assert_int_equal(r.n, 2);
	assert_false(r.ex[0].has_request);
	assert_true(r.ex[0].has_response);
	assert_true(r.ex[0].incomplete);
	assert_body(&r.ex[0].resp, "late");
	assert_string_equal(r.ex[1].req.target, "/next");
	assert_body(&r.ex[1].resp, "next");
	assert_false(r.ex[1].incomplete);
	assert_false(r.ex[1].server_side);
	result_free(&r);
}

static void test_http1_midstream_response(void **state)
{
	struct result r;

	(void)state;
	run_file("midstream_response.txt", &r);
	assert_int_equal(r.n, 2);
	assert_false(r.ex[0].has_request);
	assert_body(&r.ex[0].resp, "hi");
	assert_true(r.ex[0].incomplete);
	assert_string_equal(r.ex[1].req.target, "/n");
	assert_body(&r.ex[1].resp, "n");
	assert_false(r.ex[1].incomplete);
	result_free(&r);
}

static void test_http1_server_role(void **state)
{
	struct result r;

	(void)state;
	run_file("server_role.txt", &r);
	assert_int_equal(r.n, 2);
	assert_true(r.ex[0].server_side);
	assert_string_equal(r.ex[0].req.method, "POST");
	assert_body(&r.ex[0].req, "{\"prompt\":\"x\"}");
	assert_body(&r.ex[0].resp, "{\"out\":\"y\"}");
	assert_int_equal(r.ex[0].req.tag, 1);
	assert_int_equal(r.ex[0].resp.tag, 2);
	assert_true(r.ex[1].server_side);
	assert_body(&r.ex[1].resp, "up");
	assert_false(r.ex[1].incomplete);
	result_free(&r);
}

static void test_http1_gap_in_body(void **state)
{
	struct result r;
	const struct http_msg *m;

	(void)state;
	run_file("gap_body.txt", &r);
	assert_int_equal(r.n, 2);
	m = &r.ex[0].resp;
	assert_true(m->complete);
	assert_true(m->truncated);
	assert_int_equal(m->lost_bytes, 10);
	assert_int_equal(m->wire_body_len, 20);
	assert_body(m, "first12345");
	/* the bytes after the hole are timed by the chunk that brought them */
	assert_int_equal(http_msg_body_time(m, 5), 4000);
	assert_false(r.ex[0].incomplete);
	assert_body(&r.ex[1].resp, "h");
	assert_false(r.ex[1].resp.truncated);
	result_free(&r);
}

static void test_http1_gap_in_headers(void **state)
{
	struct result r;

	(void)state;
	run_file("gap_headers.txt", &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ex[0].req.target, "/a");
	assert_true(r.ex[0].has_response);
	assert_int_equal(r.ex[0].resp.status, 200);
	assert_false(r.ex[0].resp.complete);
	assert_true(r.ex[0].resp.truncated);
	assert_int_equal(r.ex[0].resp.lost_bytes, 30);
	assert_true(r.ex[0].incomplete);
	assert_string_equal(r.ex[1].req.target, "/b");
	assert_body(&r.ex[1].resp, "b");
	assert_false(r.ex[1].incomplete);
	result_free(&r);
}

static void test_http1_gap_swallows_request_start(void **state)
{
	struct result r;

	(void)state;
	run_file("gap_request_start.txt", &r);
	assert_int_equal(r.n, 3);
	assert_body(&r.ex[0].resp, "1");
	assert_false(r.ex[1].has_request);
	assert_int_equal(r.ex[1].req.lost_bytes, 40);
	assert_body(&r.ex[1].resp, "lost");
	assert_true(r.ex[1].incomplete);
	assert_string_equal(r.ex[2].req.target, "/3");
	assert_body(&r.ex[2].resp, "3");
	result_free(&r);
}

static void test_http1_not_http(void **state)
{
	struct result r;

	(void)state;
	run_file("not_http.txt", &r);
	assert_int_equal(r.eproto_at, 0);
	assert_int_equal(r.n, 0);
	result_free(&r);
}

/* Replays @cv cut at every byte boundary of every event and byte by byte; returns the runs. */
static size_t assert_split_invariant(const char *name, const struct conv *cv,
				     const struct http1_limits *lim)
{
	struct result ref, r;
	size_t i, k, runs = 0;

	run(cv, lim, -1, 0, false, &ref);
	for (i = 0; i < cv->n; i++) {
		for (k = 1; cv->ev[i].type == EV_FEED && k < cv->ev[i].len; k++) {
			run(cv, lim, (long)i, k, false, &r);
			if (strcmp(ref.text, r.text) != 0)
				fail_msg("%s: event %zu split at %zu differs:\n%s\n--- vs ---\n%s",
					 name, i, k, ref.text, r.text);
			result_free(&r);
			runs++;
		}
	}
	run(cv, lim, -1, 0, true, &r);
	if (strcmp(ref.text, r.text) != 0)
		fail_msg("%s: byte by byte differs:\n%s\n--- vs ---\n%s", name, ref.text, r.text);
	result_free(&r);
	result_free(&ref);
	return runs + 1;
}

/* Every conversation, cut at every byte boundary and fed byte by byte, gives the same result. */
static void test_http1_split_invariance(void **state)
{
	glob_t g;
	size_t f, runs = 0;

	(void)state;
	assert_int_equal(glob(DATA_DIR "*.txt", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 15);
	for (f = 0; f < g.gl_pathc; f++) {
		struct conv cv;

		conv_load(g.gl_pathv[f], &cv);
		runs += assert_split_invariant(g.gl_pathv[f], &cv, NULL);
		conv_free(&cv);
	}
	assert_true(runs > 1000);
	globfree(&g);
}

/* Inputs where limits and first-byte checks once depended on how the bytes were cut. */
static void test_http1_split_invariance_at_limits(void **state)
{
	struct http1_limits lim16 = {.max_body = 100, .max_header_bytes = 16};
	struct http1_limits lim64 = {.max_body = 7, .max_header_bytes = 64};
	struct conv cv = {0};
	uint8_t *z;
	size_t zl;

	(void)state;
	/* a status line exactly as long as the header limit, after junk on the same line */
	conv_add_str(&cv, BT_DIR_RECV, "junk before itHTTP/1.1 200 OK1\r\n\r\n");
	assert_split_invariant("status line at the limit", &cv, &lim16);
	conv_free(&cv);
	/* TLS record bytes past the start of a long first piece are not the connection's start */
	conv_add_bytes(&cv, BT_DIR_SEND, "\x0fX\x16\x03\x00\x00\x01\x00\x00\x00\x00TTP\x0f", 16);
	conv_add_str(&cv, BT_DIR_SEND, "A/\nGET / HTTP/1.1\r\n\r\n");
	assert_split_invariant("late TLS bytes", &cv, &lim16);
	conv_free(&cv);
	/* only the whole HTTP/2 preface means HTTP/2 */
	conv_add_str(&cv, BT_DIR_SEND, "PRI * HTGET /index.html HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 204 No Content\r\n\r\n");
	assert_split_invariant("preface prefix", &cv, NULL);
	conv_free(&cv);
	/* a 21-character token cannot be a method */
	conv_add_str(&cv, BT_DIR_SEND, "Ptransfer-encodingOST /big HT");
	conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 100 Continue\r\n\r\n");
	conv_add(&cv, EV_GAP, BT_DIR_RECV, NULL, 14);
	conv_add(&cv, EV_CLOSE, BT_DIR_SEND, NULL, 0);
	assert_split_invariant("long method", &cv, NULL);
	conv_free(&cv);
	/* corrupt gzip found after the decoded size passed the limit */
	z = zcompress("0123456789abcdefghijklmnopqrstuvwxyz0123456789", 46, 31, &zl);
	z[zl - 12] ^= 0x40;
	add_coded_response(&cv, "gzip", z, zl, true, 9);
	assert_split_invariant("corrupt gzip past the limit", &cv, &lim64);
	conv_free(&cv);
	free(z);
	/* overlong chunk-size lines */
	conv_add_str(&cv, BT_DIR_SEND, "GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV,
		     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "5;a-very-long-extension=HTTP/1.1 200 OK\r\n\r\nhello\r\n0\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
	assert_split_invariant("long chunk line", &cv, &lim64);
	conv_free(&cv);
}

/* ---- generated conversations ---- */

static void test_http1_keepalive_100_requests(void **state)
{
	struct conv cv = {0};
	struct result r;
	char buf[256];
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "GET /item/%d HTTP/1.1\r\nHost: h\r\n\r\n", i);
		conv_add_str(&cv, BT_DIR_SEND, buf);
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d",
			 i < 10	   ? 1
			 : i < 100 ? 2
				   : 3,
			 i);
		conv_add_str(&cv, BT_DIR_RECV, buf);
	}
	run(&cv, NULL, -1, 0, false, &r);
	assert_int_equal(r.n, 100);
	for (i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "/item/%d", i);
		assert_string_equal(r.ex[i].req.target, buf);
		snprintf(buf, sizeof(buf), "%d", i);
		assert_body(&r.ex[i].resp, buf);
		assert_false(r.ex[i].incomplete);
		assert_int_equal(r.ex[i].req.start_ns, 1000 * (2 * i + 1));
		assert_int_equal(r.ex[i].resp.start_ns, 1000 * (2 * i + 2));
	}
	result_free(&r);

	/* the same 100 requests pipelined in one write, answered in one read */
	{
		struct conv p = {0};
		char *req = NULL, *resp = NULL;
		size_t rl = 0, sl = 0;
		FILE *fq = open_memstream(&req, &rl), *fs = open_memstream(&resp, &sl);

		for (i = 0; i < 100; i++) {
			fprintf(fq, "POST /p/%d HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n%c",
				i, 'a' + i % 26);
			fprintf(fs,
				"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				"%x\r\n%0*d\r\n0\r\n\r\n",
				i + 1, i + 1, i);
		}
		fclose(fq);
		fclose(fs);
		conv_add_bytes(&p, BT_DIR_SEND, req, rl);
		conv_add_bytes(&p, BT_DIR_RECV, resp, sl);
		run(&p, NULL, -1, 0, false, &r);
		assert_int_equal(r.n, 100);
		for (i = 0; i < 100; i++) {
			snprintf(buf, sizeof(buf), "/p/%d", i);
			assert_string_equal(r.ex[i].req.target, buf);
			assert_int_equal(r.ex[i].req.body[0], 'a' + i % 26);
			snprintf(buf, sizeof(buf), "%0*d", i + 1, i);
			assert_body(&r.ex[i].resp, buf);
		}
		result_free(&r);
		conv_free(&p);
		free(req);
		free(resp);
	}
	conv_free(&cv);
}

static void test_http1_close_flushes_unanswered(void **state)
{
	struct conv cv = {0};
	struct result r;

	(void)state;
	conv_add_str(&cv, BT_DIR_SEND,
		     "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n"
		     "Host: x\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 9\r\n\r\npart");
	conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
	conv_add(&cv, EV_CLOSE, BT_DIR_SEND, NULL, 0);
	run(&cv, NULL, -1, 0, false, &r);
	assert_int_equal(r.n, 3);
	assert_true(r.ex[0].has_response);
	assert_false(r.ex[0].resp.complete);
	assert_true(r.ex[0].resp.truncated);
	assert_body(&r.ex[0].resp, "short");
	assert_true(r.ex[0].incomplete);
	assert_string_equal(r.ex[1].req.target, "/b");
	assert_false(r.ex[1].has_response);
	assert_true(r.ex[1].incomplete);
	assert_true(r.ex[1].req.complete);
	assert_string_equal(r.ex[2].req.method, "POST");
	assert_false(r.ex[2].req.complete);
	assert_true(r.ex[2].req.truncated);
	assert_body(&r.ex[2].req, "part");
	result_free(&r);
	conv_free(&cv);
}

static void test_http1_oversized_headers_resync(void **state)
{
	struct http1_limits lim = {.max_body = 1024, .max_header_bytes = 256};
	struct conv cv = {0};
	struct result r;
	char big[1024];

	(void)state;
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	conv_add_str(&cv, BT_DIR_SEND, "GET /big HTTP/1.1\r\nHost: o\r\nX-Big: ");
	conv_add_str(&cv, BT_DIR_SEND, big);
	conv_add_str(&cv, BT_DIR_SEND, "\r\n\r\nGET /small HTTP/1.1\r\nHost: o\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV,
		     "HTTP/1.1 431 Request Header Fields Too Large\r\n"
		     "Content-Length: 0\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	run(&cv, &lim, -1, 0, false, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ex[0].req.target, "/big");
	assert_string_equal(r.ex[0].req.error, "header section too large");
	assert_false(r.ex[0].req.complete);
	assert_int_equal(r.ex[0].resp.status, 431);
	assert_string_equal(r.ex[1].req.target, "/small");
	assert_body(&r.ex[1].resp, "ok");
	assert_false(r.ex[1].incomplete);
	result_free(&r);

	/* the same with a start line that alone is too long */
	conv_free(&cv);
	conv_add_str(&cv, BT_DIR_SEND, "GET /");
	conv_add_str(&cv, BT_DIR_SEND, big);
	conv_add_str(&cv, BT_DIR_SEND, " HTTP/1.1\r\nHost: o\r\n\r\nGET /s HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV,
		     "HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	run(&cv, &lim, -1, 0, false, &r);
	/*
	 * The connection's first line is no start line (it is too long to be one), so the capture
	 * is taken to have begun mid-request: a placeholder pairs with the 414.
	 */
	assert_int_equal(r.n, 2);
	assert_false(r.ex[0].has_request);
	assert_int_equal(r.ex[0].resp.status, 414);
	assert_string_equal(r.ex[1].req.target, "/s");
	assert_int_equal(r.ex[1].resp.status, 200);
	result_free(&r);
	conv_free(&cv);

	/* once synced, an overlong start line is recorded as an error and pairs with its 414 */
	conv_add_str(&cv, BT_DIR_SEND, "GET /first HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 204 No Content\r\n\r\n");
	conv_add_str(&cv, BT_DIR_SEND, "GET /");
	conv_add_str(&cv, BT_DIR_SEND, big);
	conv_add_str(&cv, BT_DIR_SEND, " HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\n\r\n");
	run(&cv, &lim, -1, 0, false, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ex[1].req.error, "start line too long");
	assert_false(r.ex[1].has_request);
	assert_int_equal(r.ex[1].resp.status, 414);
	result_free(&r);
	conv_free(&cv);
}

/* A response carrying @body (already coded) with @enc, chunked or with Content-Length. */
static void add_coded_response(struct conv *cv, const char *enc, const uint8_t *body, size_t len,
			       bool chunked, size_t piece)
{
	char hdr[256];
	size_t off, n;

	conv_add_str(cv, BT_DIR_SEND,
		     "GET /z HTTP/1.1\r\nHost: z\r\nAccept-Encoding: gzip\r\n\r\n");
	if (chunked)
		snprintf(
		    hdr, sizeof(hdr),
		    "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
		    enc);
	else
		snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 enc, len);
	conv_add_str(cv, BT_DIR_RECV, hdr);
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		if (chunked) {
			snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
			conv_add_str(cv, BT_DIR_RECV, hdr);
		}
		conv_add_bytes(cv, BT_DIR_RECV, body + off, n);
		if (chunked)
			conv_add_str(cv, BT_DIR_RECV, "\r\n");
	}
	if (chunked)
		conv_add_str(cv, BT_DIR_RECV, "0\r\n\r\n");
}

static char *text_body(size_t len)
{
	char *b = malloc(len + 1);
	size_t i;

	assert_non_null(b);
	uint32_t x = 7;

	/* JSON-ish text that compresses about 2:1, so coded bodies span many pieces */
	for (i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		b[i] = "{\"delta\":token}\n abcdefgh"[(x >> 16) % 25];
	}
	b[len] = '\0';
	return b;
}

static void test_http1_gzip_and_deflate_bodies(void **state)
{
	static const struct {
		const char *enc;
		int wbits;
		bool chunked;
	} cases[] = {
	    {"gzip", 31, false},   {"gzip", 31, true},	    {"x-gzip", 31, false},
	    {"deflate", 15, true}, {"deflate", -15, false}, {"GZIP", 31, true},
	};
	char *plain = text_body(20000);
	size_t i, zl;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *z = zcompress(plain, 20000, cases[i].wbits, &zl);
		struct conv cv = {0};
		struct result r;
		const struct http_msg *m;

		add_coded_response(&cv, cases[i].enc, z, zl, cases[i].chunked, 100);
		run(&cv, NULL, -1, 0, false, &r);
		assert_int_equal(r.n, 1);
		m = &r.ex[0].resp;
		assert_null(m->error);
		assert_true(m->complete);
		assert_false(m->truncated);
		assert_int_equal(m->wire_body_len, zl);
		assert_int_equal(m->body_len, 20000);
		assert_memory_equal(m->body, plain, 20000);
		/* body_ts offsets are in decoded bytes and grow with the pieces */
		assert_true(m->n_body_ts > 2);
		assert_int_equal(m->body_ts[0].off, 0);
		assert_int_equal(m->first_body_ns, cases[i].chunked ? 4000 : 3000);
		assert_true(http_msg_body_time(m, 19999) > http_msg_body_time(m, 0));
		result_free(&r);
		/* split invariance holds for coded bodies too */
		{
			struct result a, b;

			run(&cv, NULL, -1, 0, true, &a);
			run(&cv, NULL, 2, zl < 100 ? zl / 2 : 50, false, &b);
			run(&cv, NULL, -1, 0, false, &r);
			assert_string_equal(a.text, r.text);
			assert_string_equal(b.text, r.text);
			result_free(&a);
			result_free(&b);
			result_free(&r);
		}
		conv_free(&cv);
		free(z);
	}
	free(plain);
}

static void test_http1_gzip_limit_and_corrupt(void **state)
{
	struct http1_limits lim = {.max_body = 1000, .max_header_bytes = 0};
	char *plain = text_body(20000);
	struct conv cv = {0};
	struct result r;
	uint8_t *z;
	size_t zl;

	(void)state;
	z = zcompress(plain, 20000, 31, &zl);
	add_coded_response(&cv, "gzip", z, zl, false, 512);
	run(&cv, &lim, -1, 0, false, &r);
	assert_int_equal(r.n, 1);
	assert_true(r.ex[0].resp.truncated);
	assert_true(r.ex[0].resp.complete);
	assert_null(r.ex[0].resp.error);
	assert_int_equal(r.ex[0].resp.body_len, 1000);
	assert_memory_equal(r.ex[0].resp.body, plain, 1000);
	assert_int_equal(r.ex[0].resp.wire_body_len, zl);
	result_free(&r);
	conv_free(&cv);

	/* corrupt in the middle: error, and the body is the coded bytes as received */
	z[zl / 2] ^= 0xff;
	z[zl / 2 + 1] ^= 0xff;
	add_coded_response(&cv, "gzip", z, zl, true, 64);
	run(&cv, NULL, -1, 0, false, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.ex[0].resp.error, "corrupt content-encoding");
	assert_true(r.ex[0].resp.complete);
	assert_int_equal(r.ex[0].resp.body_len, zl);
	assert_memory_equal(r.ex[0].resp.body, z, zl);
	/* body timestamps now index the coded bytes */
	assert_true(r.ex[0].resp.n_body_ts > 1);
	for (size_t i = 0; i < r.ex[0].resp.n_body_ts; i++)
		assert_int_equal(r.ex[0].resp.body_ts[i].off % 64, 0);
	result_free(&r);
	conv_free(&cv);

	/* framing complete but the gzip stream stops early */
	add_coded_response(&cv, "gzip", z, zl / 3, false, 1000);
	run(&cv, NULL, -1, 0, false, &r);
	assert_string_equal(r.ex[0].resp.error, "truncated content-encoding stream");
	assert_int_equal(r.ex[0].resp.body_len, zl / 3);
	assert_memory_equal(r.ex[0].resp.body, z, zl / 3);
	result_free(&r);
	conv_free(&cv);

	/* not compressed at all although labelled so */
	add_coded_response(&cv, "gzip", (const uint8_t *)"{\"plain\":true}", 14, false, 14);
	run(&cv, NULL, -1, 0, false, &r);
	assert_string_equal(r.ex[0].resp.error, "corrupt content-encoding");
	assert_body(&r.ex[0].resp, "{\"plain\":true}");
	result_free(&r);
	conv_free(&cv);

	/* unsupported coding: kept as received, named in the error */
	add_coded_response(&cv, "br", (const uint8_t *)"\x1b\x03\x00", 3, false, 3);
	run(&cv, NULL, -1, 0, false, &r);
	assert_string_equal(r.ex[0].resp.error, "unsupported content-encoding");
	assert_int_equal(r.ex[0].resp.body_len, 3);
	assert_memory_equal(r.ex[0].resp.body, "\x1b\x03\x00", 3);
	result_free(&r);
	conv_free(&cv);
	free(z);
	free(plain);
}

static void test_http1_gap_in_gzip_body(void **state)
{
	char *plain = text_body(30000);
	struct conv cv = {0};
	struct result r;
	uint8_t *z;
	size_t zl, half;

	(void)state;
	z = zcompress(plain, 30000, 31, &zl);
	half = zl / 2;
	add_coded_response(&cv, "gzip", z, half, false, half);
	/* fix the Content-Length to the whole stream, then lose 10 bytes and send the rest */
	{
		char hdr[128];

		snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 zl);
		free(cv.ev[1].data);
		cv.ev[1].data = (uint8_t *)strdup(hdr);
		cv.ev[1].len = strlen(hdr);
	}
	conv_add(&cv, EV_GAP, BT_DIR_RECV, NULL, 10);
	conv_add_bytes(&cv, BT_DIR_RECV, z + half + 10, zl - half - 10);
	conv_add_str(&cv, BT_DIR_SEND, "GET /after HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
	run(&cv, NULL, -1, 0, false, &r);
	assert_int_equal(r.n, 2);
	assert_true(r.ex[0].resp.complete);
	assert_true(r.ex[0].resp.truncated);
	assert_null(r.ex[0].resp.error);
	assert_int_equal(r.ex[0].resp.lost_bytes, 10);
	assert_int_equal(r.ex[0].resp.wire_body_len, zl);
	/* what decoded before the hole is kept */
	assert_true(r.ex[0].resp.body_len > 0 && r.ex[0].resp.body_len < 30000);
	assert_memory_equal(r.ex[0].resp.body, plain, r.ex[0].resp.body_len);
	assert_body(&r.ex[1].resp, "A");
	result_free(&r);
	conv_free(&cv);
	free(z);
	free(plain);
}

static void test_http1_gap_edge_cases(void **state)
{
	struct conv cv = {0};
	struct result r;

	(void)state;
	/* a gap longer than the rest of the body also swallows the next response's start */
	conv_add_str(&cv, BT_DIR_SEND,
		     "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"
		     "GET /3 HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
	conv_add(&cv, EV_GAP, BT_DIR_RECV, NULL, 30);
	conv_add_str(&cv, BT_DIR_RECV,
		     "tail of response two\r\nHTTP/1.1 200 OK\r\n"
		     "Content-Length: 1\r\n\r\n3");
	/* a gap in chunk framing abandons the message */
	conv_add_str(&cv, BT_DIR_SEND, "GET /4 HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV,
		     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
	conv_add(&cv, EV_GAP, BT_DIR_RECV, NULL, 9);
	/* a gap in a close-delimited body only counts */
	conv_add_str(&cv, BT_DIR_SEND, "GET /5 HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV, "0\r\n\r\nHTTP/1.1 200 OK\r\n\r\nxy");
	conv_add(&cv, EV_GAP, BT_DIR_RECV, NULL, 5);
	conv_add_str(&cv, BT_DIR_RECV, "z");
	conv_add(&cv, EV_CLOSE, BT_DIR_SEND, NULL, 0);
	run(&cv, NULL, -1, 0, false, &r);
	assert_int_equal(r.n, 5);
	assert_body(&r.ex[0].resp, "ab");
	assert_int_equal(r.ex[0].resp.lost_bytes, 2);
	assert_true(r.ex[0].resp.complete);
	assert_string_equal(r.ex[1].req.target, "/2");
	assert_false(r.ex[1].has_response);
	assert_int_equal(r.ex[1].resp.lost_bytes, 28);
	assert_true(r.ex[1].incomplete);
	assert_body(&r.ex[2].resp, "3");
	assert_false(r.ex[2].incomplete);
	assert_false(r.ex[3].resp.complete);
	assert_body(&r.ex[3].resp, "ab");
	assert_int_equal(r.ex[3].resp.lost_bytes, 9);
	assert_string_equal(r.ex[4].req.target, "/5");
	assert_body(&r.ex[4].resp, "xyz");
	assert_int_equal(r.ex[4].resp.wire_body_len, 8);
	assert_int_equal(r.ex[4].resp.lost_bytes, 5);
	assert_true(r.ex[4].resp.complete);
	assert_true(r.ex[4].resp.truncated);
	result_free(&r);
	conv_free(&cv);
}

static void test_http1_max_body_truncates(void **state)
{
	struct http1_limits lim = {.max_body = 10, .max_header_bytes = 0};
	struct conv cv = {0};
	struct result r;

	(void)state;
	conv_add_str(&cv, BT_DIR_SEND,
		     "POST / HTTP/1.1\r\nContent-Length: 26\r\n\r\n"
		     "abcdefghijklmnopqrstuvwxyz");
	conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
	run(&cv, &lim, -1, 0, false, &r);
	assert_int_equal(r.n, 1);
	assert_body(&r.ex[0].req, "abcdefghij");
	assert_true(r.ex[0].req.truncated);
	assert_true(r.ex[0].req.complete);
	assert_int_equal(r.ex[0].req.wire_body_len, 26);
	assert_false(r.ex[0].resp.truncated);
	assert_false(r.ex[0].incomplete);
	result_free(&r);
	conv_free(&cv);
}

static void test_http1_large_body_16mib(void **state)
{
	const size_t total = 16u << 20, piece = 16u << 10;
	struct http1_limits lim = {.max_body = total, .max_header_bytes = 0};
	struct http1_conn *c;
	struct result r = {.eproto_at = -1, .max_body = total};
	uint8_t *buf = malloc(piece);
	char hdr[128];
	size_t off, i;

	(void)state;
	c = http1_conn_new(&lim, collect, &r);
	assert_int_equal(
	    http1_conn_feed(c, BT_DIR_SEND, (const uint8_t *)"GET /big HTTP/1.1\r\n\r\n", 21, 1, 1),
	    0);
	snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", total);
	assert_int_equal(http1_conn_feed(c, BT_DIR_RECV, (const uint8_t *)hdr, strlen(hdr), 2, 2),
			 0);
	for (off = 0; off < total; off += piece) {
		assert_int_equal(r.n, 0);
		for (i = 0; i < piece; i++)
			buf[i] = (uint8_t)((off + i) * 7 + ((off + i) >> 12));
		assert_int_equal(http1_conn_feed(c, BT_DIR_RECV, buf, piece, 10 + off / piece, 3),
				 0);
	}
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ex[0].resp.body_len, total);
	assert_int_equal(r.ex[0].resp.wire_body_len, total);
	for (off = 0; off < total; off += 4099)
		assert_int_equal(r.ex[0].resp.body[off], (uint8_t)(off * 7 + (off >> 12)));
	assert_int_equal(r.ex[0].resp.n_body_ts, total / piece);
	assert_int_equal(http_msg_body_time(&r.ex[0].resp, total - 1), 10 + total / piece - 1);
	assert_int_equal(r.ex[0].resp.end_ns, 10 + total / piece - 1);
	assert_false(r.ex[0].resp.truncated);
	http1_conn_free(c);
	free(buf);
	result_free(&r);
}

static void test_http1_tags_follow_first_byte(void **state)
{
	struct conv cv = {0};
	struct result r;

	(void)state;
	/* the second request starts in the chunk that ends the first: its tag is that chunk's */
	conv_add_str(&cv, BT_DIR_SEND, "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nx");
	conv_add_str(&cv, BT_DIR_SEND, "yzGET /b HT");
	conv_add_str(&cv, BT_DIR_SEND, "TP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV,
		     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK"
		     "\r\nContent-Length: 0\r\n\r\n");
	run(&cv, NULL, -1, 0, false, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ex[0].req.tag, 1);
	assert_int_equal(r.ex[0].req.end_ns, 2000);
	assert_int_equal(r.ex[1].req.tag, 2);
	assert_int_equal(r.ex[1].req.start_ns, 2000);
	assert_int_equal(r.ex[1].req.end_ns, 3000);
	result_free(&r);
	conv_free(&cv);
}

static void test_http1_invalid_framing_errors(void **state)
{
	static const struct {
		const char *req, *error;
	} cases[] = {
	    {"POST / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n", "invalid content-length"},
	    {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "invalid content-length"},
	    {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
	     "invalid content-length"},
	    {"POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n", "conflicting content-length"},
	    {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "invalid transfer-encoding"},
	    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	     "invalid transfer-encoding"},
	    {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "malformed header field"},
	    {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "malformed header field"},
	    {"GET / HTTP/1.1\r\n continued: x\r\n\r\n", "obs-fold without a field"},
	    {"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", "NUL in header section"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conv cv = {0};
		struct result r;
		size_t len = strlen(cases[i].req);

		if (strstr(cases[i].error, "NUL"))
			len = sizeof("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n") - 1;
		conv_add_bytes(&cv, BT_DIR_SEND, cases[i].req, len);
		conv_add_str(&cv, BT_DIR_RECV,
			     "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
		conv_add_str(&cv, BT_DIR_SEND, "GET /ok HTTP/1.1\r\n\r\n");
		conv_add_str(&cv, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
		run(&cv, NULL, -1, 0, false, &r);
		assert_int_equal(r.n, 2);
		assert_non_null(r.ex[0].req.error);
		assert_string_equal(r.ex[0].req.error, cases[i].error);
		assert_true(r.ex[0].has_request);
		assert_int_equal(r.ex[0].resp.status, 400);
		assert_string_equal(r.ex[1].req.target, "/ok");
		assert_body(&r.ex[1].resp, "ok");
		result_free(&r);
		conv_free(&cv);
	}
}

static void test_http1_response_framing_variants(void **state)
{
	struct conv cv = {0};
	struct result r;

	(void)state;
	/* Transfer-Encoding overrides Content-Length; transfer-coded gzip under chunked is undone
	 */
	conv_add_str(&cv, BT_DIR_SEND, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV,
		     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
	{
		size_t zl;
		uint8_t *z = zcompress("zipped", 6, 31, &zl);
		char hdr[128];

		snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
			 "\r\n%zx\r\n",
			 zl);
		conv_add_str(&cv, BT_DIR_RECV, hdr);
		conv_add_bytes(&cv, BT_DIR_RECV, z, zl);
		conv_add_str(&cv, BT_DIR_RECV, "\r\n0\r\n\r\n");
		free(z);
	}
	/* a response with Transfer-Encoding not ending in chunked is close-delimited */
	conv_add_str(&cv, BT_DIR_SEND, "GET /3 HTTP/1.1\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV,
		     "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nrest");
	conv_add(&cv, EV_CLOSE, BT_DIR_SEND, NULL, 0);
	run(&cv, NULL, -1, 0, false, &r);
	assert_int_equal(r.n, 3);
	assert_body(&r.ex[0].resp, "hi");
	assert_body(&r.ex[1].resp, "zipped");
	assert_null(r.ex[1].resp.error);
	assert_body(&r.ex[2].resp, "rest");
	assert_true(r.ex[2].resp.complete);
	result_free(&r);
	conv_free(&cv);
}

static void test_http1_authority_forms(void **state)
{
	struct conv cv = {0};
	struct result r;

	(void)state;
	conv_add_str(&cv, BT_DIR_SEND,
		     "GET http://proxy.example:3128/path?x HTTP/1.1\r\n\r\n"
		     "OPTIONS * HTTP/1.1\r\nHost:   spaced.example   \r\n\r\n"
		     "GET /nohost HTTP/1.0\r\n\r\n");
	conv_add_str(&cv, BT_DIR_RECV,
		     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
		     "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
	run(&cv, NULL, -1, 0, false, &r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.ex[0].req.authority, "proxy.example:3128");
	assert_string_equal(r.ex[1].req.target, "*");
	assert_string_equal(r.ex[1].req.authority, "spaced.example");
	assert_null(r.ex[2].req.authority);
	result_free(&r);
	conv_free(&cv);
}

/* The one method list (http_methods.h): the BPF prefix test tells every method apart, and the
 * parser recognises each one, even in a line that is not finished yet. */
static void test_http1_known_methods_shared(void **state)
{
	static const char *const names[] = {BT_HTTP_METHODS(BT_HTTP_METHOD_NAME)};
	char line[64];
	const char *p = line;
	size_t i, j, hits;

	(void)state;
	assert_int_equal(sizeof(names) / sizeof(names[0]), BT_HTTP_METHOD_COUNT);
	for (i = 0; i < BT_HTTP_METHOD_COUNT; i++) {
		snprintf(line, sizeof(line), "%s /x HTTP/1.1\r\n", names[i]);
		hits = 0;
#define COUNT_HIT(m) hits += BT_HTTP_METHOD_PREFIX_IS(p, m);
		BT_HTTP_METHODS(COUNT_HIT)
#undef COUNT_HIT
		assert_int_equal(hits, 1);
		for (j = 0; j < BT_HTTP_METHOD_COUNT; j++)
			assert_true(j == i || strncmp(line, names[j], strlen(names[j])) ||
				    line[strlen(names[j])] != ' ');
		assert_true(http1_detect((const uint8_t *)line, strlen(line)));
		/* unfinished: only a known method is believed */
		assert_true(http1_detect((const uint8_t *)line, strlen(names[i]) + 2));
	}
	assert_false(http1_detect((const uint8_t *)"BREW /x", 7));
	p = "GETS";
	assert_false(BT_HTTP_METHOD_PREFIX_IS(p, GET));
}

static void test_http1_pending_limit_bounded(void **state)
{
	struct http1_conn *c;
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	const char *req = "GET / HTTP/1.1\r\n\r\n";
	int i;

	(void)state;
	c = http1_conn_new(NULL, collect, &r);
	for (i = 0; i < 5000; i++)
		assert_int_equal(http1_conn_feed(c, BT_DIR_SEND, (const uint8_t *)req, strlen(req),
						 (uint64_t)i, 0),
				 0);
	/* requests nobody answers are given up oldest first instead of piling up */
	assert_true(r.n >= 5000 - 1024);
	assert_false(r.ex[0].has_response);
	assert_true(r.ex[0].incomplete);
	http1_conn_close(c, 1);
	assert_int_equal(r.n, 5000);
	http1_conn_free(c);
	result_free(&r);
}

static void test_http1_api_edges(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	const uint8_t *req = (const uint8_t *)"GET / HTTP/1.1\r\n\r\n";

	(void)state;
	assert_int_equal(http1_conn_feed(NULL, BT_DIR_SEND, req, 1, 0, 0), -EINVAL);
	assert_int_equal(http1_conn_feed(c, (enum bt_dir)7, req, 1, 0, 0), -EINVAL);
	assert_int_equal(http1_conn_feed(c, BT_DIR_SEND, NULL, 1, 0, 0), -EINVAL);
	assert_int_equal(http1_conn_feed(c, BT_DIR_SEND, NULL, 0, 0, 0), 0);
	http1_conn_gap(c, BT_DIR_SEND, 0, 0);
	http1_conn_gap(NULL, BT_DIR_SEND, 5, 0);
	assert_int_equal(http1_conn_feed(c, BT_DIR_SEND, req, 18, 0, 0), 0);
	http1_conn_close(c, 5);
	http1_conn_close(c, 6); /* twice is harmless */
	assert_int_equal(r.n, 1);
	assert_int_equal(http1_conn_feed(c, BT_DIR_SEND, req, 18, 0, 0), -EPROTO);
	http1_conn_free(c);
	http1_conn_free(NULL);
	http1_conn_close(NULL, 0);
	result_free(&r);

	/* freed without close: nothing delivered, nothing leaked */
	memset(&r, 0, sizeof(r));
	c = http1_conn_new(NULL, collect, &r);
	assert_int_equal(http1_conn_feed(c, BT_DIR_SEND, req, 18, 0, 0), 0);
	assert_int_equal(http1_conn_feed(c, BT_DIR_RECV,
					 (const uint8_t *)"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n"
							  "Content-Encoding: gzip\r\n\r\n\x1f",
					 63, 0, 0),
			 0);
	http1_conn_free(c);
	assert_int_equal(r.n, 0);
	result_free(&r);
}

static void test_http1_detect(void **state)
{
	static const char *const yes[] = {
	    "GET / HTTP/1.1\r\n",
	    "POST /model/x/invoke HTTP/1.1\r\nHost: a\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n",
	    "HTTP/1.0 404 Not Found\n",
	    "HTTP/1.1 204\r\n",
	    "PATCH /x",
	    "GET ",
	    "HTTP/1.1 2",
	    "PROPFIND /dav HTTP/1.1\r\n",
	};
	static const char *const no[] = {
	    "",
	    "GET",
	    "GE",
	    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	    "\x16\x03\x01\x02\x00",
	    "HTTP/2 200\r\n",
	    "GET / HTTP/1.1 extra\r\n",
	    "hello world\r\n",
	    "HTTP/1.1 99 X\r\n",
	    "GET  / HTTP/1.1\r\n",
	    "HTTP/1.1 2x0",
	    "{\"json\": true}",
	    "get\x01 / HTTP/1.1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!http1_detect((const uint8_t *)yes[i], strlen(yes[i])))
			fail_msg("should detect '%s'", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (http1_detect((const uint8_t *)no[i], strlen(no[i])))
			fail_msg("should not detect '%s'", no[i]);
	assert_false(http1_detect(NULL, 10));
}

/* ---- omission windows: http1_conn_body_ahead / http1_conn_omit ---- */

static void omit_feed(struct http1_conn *c, enum bt_dir dir, const char *s, uint64_t ts)
{
	assert_int_equal(http1_conn_feed(c, dir, (const uint8_t *)s, strlen(s), ts, ts), 0);
}

/* Feeds @n body bytes 'a', 'b', ... (cycling) at @ts. */
static void omit_fill(struct http1_conn *c, enum bt_dir dir, size_t n, uint64_t ts)
{
	uint8_t *b = malloc(n ? n : 1);
	size_t i;

	assert_non_null(b);
	for (i = 0; i < n; i++)
		b[i] = (uint8_t)('a' + i % 26);
	assert_int_equal(http1_conn_feed(c, dir, b, n, ts, ts), 0);
	free(b);
}

static void test_http1_omit_content_length(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	const struct http_exchange *ex = NULL;
	const struct http_msg *m;

	(void)state;
	assert_non_null(c);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, &ex), 0);
	omit_feed(c, BT_DIR_SEND, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n", 1000);
	/* the request has no body: its direction is between messages */
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_SEND, &ex), 0);
	assert_null(ex);
	omit_feed(c, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 2000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 100000);
	omit_fill(c, BT_DIR_RECV, 1000, 3000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, &ex), 99000);
	assert_non_null(ex);
	assert_true(ex->has_request);
	assert_string_equal(ex->req.method, "GET");
	assert_string_equal(ex->req.target, "/big");
	assert_int_equal(ex->resp.status, 200);

	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 0, 3500), 0);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 98000, 4000), 0);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 1000);
	assert_int_equal(r.n, 0);
	omit_fill(c, BT_DIR_RECV, 1000, 5000);
	assert_int_equal(r.n, 1);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0);
	assert_false(r.ex[0].incomplete);
	m = &r.ex[0].resp;
	assert_true(m->complete);
	assert_false(m->truncated);
	assert_null(m->error);
	assert_int_equal(m->wire_body_len, 100000);
	assert_int_equal(m->omitted_bytes, 98000);
	assert_int_equal(m->lost_bytes, 0);
	/* what came before the omission is kept, nothing after it */
	assert_int_equal(m->body_len, 1000);
	assert_memory_equal(m->body, "abcdefghij", 10);
	assert_int_equal(m->first_body_ns, 3000);
	assert_int_equal(m->end_ns, 5000);
	assert_int_equal(r.ex[0].req.omitted_bytes, 0);
	http1_conn_free(c);
	result_free(&r);
}

/* the omitted bytes are the last of the body: the message ends with them */
static void test_http1_omit_ends_body(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	const struct http_msg *m;

	(void)state;
	omit_feed(c, BT_DIR_SEND, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1000);
	omit_feed(c, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n", 2000);
	/* nothing of the body captured at all */
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 40000, 7000), 0);
	assert_int_equal(r.n, 1);
	m = &r.ex[0].resp;
	assert_true(m->complete);
	assert_false(m->truncated);
	assert_false(r.ex[0].incomplete);
	assert_int_equal(m->body_len, 0);
	assert_int_equal(m->wire_body_len, 40000);
	assert_int_equal(m->omitted_bytes, 40000);
	assert_int_equal(m->first_body_ns, 7000);
	assert_int_equal(m->end_ns, 7000);
	/* nothing left to omit */
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 1, 8000), -ERANGE);
	http1_conn_free(c);
	result_free(&r);
}

static void test_http1_omit_out_of_range(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	const struct http_msg *m;

	(void)state;
	assert_int_equal(http1_conn_omit(NULL, BT_DIR_RECV, 5, 0), -ERANGE);
	assert_int_equal(http1_conn_body_ahead(NULL, BT_DIR_RECV, NULL), 0);
	assert_int_equal(http1_conn_body_ahead(c, (enum bt_dir)7, NULL), 0);
	assert_int_equal(http1_conn_omit(c, (enum bt_dir)7, 5, 0), -ERANGE);
	/* between messages */
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 5, 0), -ERANGE);
	omit_feed(c, BT_DIR_SEND, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1000);
	omit_feed(c, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n", 2000);
	omit_fill(c, BT_DIR_RECV, 100, 3000);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 201, 4000), -ERANGE);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, UINT64_MAX, 4000), -ERANGE);
	/* nothing changed: the real bytes still complete the body */
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 200);
	omit_fill(c, BT_DIR_RECV, 200, 5000);
	assert_int_equal(r.n, 1);
	m = &r.ex[0].resp;
	assert_true(m->complete);
	assert_false(m->truncated);
	assert_int_equal(m->body_len, 300);
	assert_int_equal(m->wire_body_len, 300);
	assert_int_equal(m->omitted_bytes, 0);
	assert_int_equal(m->end_ns, 5000);
	assert_int_equal(m->n_body_ts, 2);
	http1_conn_free(c);
	result_free(&r);
}

static void test_http1_omit_not_in_body(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	const struct http_exchange *ex = NULL;

	(void)state;
	omit_feed(c, BT_DIR_SEND, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Len", 1000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_SEND, &ex), 0);
	assert_null(ex);
	assert_int_equal(http1_conn_omit(c, BT_DIR_SEND, 1, 1000), -ERANGE);
	omit_feed(c, BT_DIR_SEND, "gth: 4\r\n", 1000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_SEND, NULL), 0);
	omit_feed(c, BT_DIR_SEND, "\r\n", 1000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_SEND, NULL), 4);
	omit_feed(c, BT_DIR_SEND, "abcd", 1000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_SEND, NULL), 0);
	/* a close-delimited body has no known length */
	omit_feed(c, BT_DIR_RECV, "HTTP/1.1 200 OK\r\n\r\nrest", 2000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 1, 2000), -ERANGE);
	http1_conn_close(c, 3000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ex[0].resp.omitted_bytes, 0);
	assert_int_equal(r.ex[0].req.omitted_bytes, 0);
	http1_conn_free(c);
	result_free(&r);

	/* a closed connection and an upgraded one have no body ahead */
	memset(&r, 0, sizeof(r));
	r.eproto_at = -1;
	r.max_body = BT_DEFAULT_MAX_BODY;
	c = http1_conn_new(NULL, collect, &r);
	omit_feed(c, BT_DIR_SEND, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1000);
	omit_feed(c, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n", 2000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 50000);
	http1_conn_close(c, 3000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 10, 3000), -ERANGE);
	http1_conn_free(c);
	result_free(&r);
}

static void test_http1_omit_gzip_body_refused(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	const struct http_exchange *ex = NULL;
	const char *text = "the same text, compressed and not";
	size_t zlen = 0;
	uint8_t *z = zcompress(text, strlen(text), 31, &zlen);
	char head[160];

	(void)state;
	assert_non_null(z);
	omit_feed(c, BT_DIR_SEND, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1000);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", zlen);
	omit_feed(c, BT_DIR_RECV, head, 2000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, &ex), 0);
	assert_null(ex);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 1, 2500), -ERANGE);
	assert_int_equal(http1_conn_feed(c, BT_DIR_RECV, z, zlen, 3000, 3000), 0);
	assert_int_equal(r.n, 1);
	assert_body(&r.ex[0].resp, text);
	assert_int_equal(r.ex[0].resp.omitted_bytes, 0);
	assert_null(r.ex[0].resp.error);
	free(z);
	http1_conn_free(c);
	result_free(&r);
}

/* A body whose coding failed is kept as the bytes that crossed the wire (body.h): whole. */
static void test_http1_omit_failed_coding_refused(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);

	(void)state;
	omit_feed(c, BT_DIR_SEND, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1000);
	omit_feed(c, BT_DIR_RECV,
		  "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 100000\r\n\r\n",
		  2000);
	omit_feed(c, BT_DIR_RECV, "not gzip at all", 3000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 1000, 3500), -ERANGE);
	omit_fill(c, BT_DIR_RECV, 100000 - 15, 4000);
	assert_int_equal(r.n, 1);
	assert_non_null(r.ex[0].resp.error);
	assert_int_equal(r.ex[0].resp.body_len, 100000);
	assert_int_equal(r.ex[0].resp.omitted_bytes, 0);
	http1_conn_free(c);
	result_free(&r);
}

static void test_http1_omit_chunk(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	const struct http_exchange *ex = NULL;
	const struct http_msg *m;

	(void)state;
	omit_feed(c, BT_DIR_SEND, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n", 1000);
	omit_feed(c, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 2000);
	/* chunk-size line not seen yet */
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0);
	omit_feed(c, BT_DIR_RECV, "3\r\nxyz\r\n1", 3000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0);
	omit_feed(c, BT_DIR_RECV, "0000\r\n", 3000); /* 0x10000 bytes */
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, &ex), 0x10000);
	assert_non_null(ex);
	assert_string_equal(ex->req.target, "/c");
	omit_fill(c, BT_DIR_RECV, 100, 4000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0x10000 - 100);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 0x10000 - 99, 5000), -ERANGE);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 0x10000 - 100, 5000), 0);
	/* at the CRLF after the chunk data */
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0);
	assert_int_equal(r.n, 0);
	omit_feed(c, BT_DIR_RECV, "\r\n0\r\n\r\n", 6000);
	assert_int_equal(r.n, 1);
	m = &r.ex[0].resp;
	assert_true(m->complete);
	assert_false(m->truncated);
	assert_null(m->error);
	assert_false(r.ex[0].incomplete);
	assert_int_equal(m->wire_body_len, 3 + 0x10000);
	assert_int_equal(m->omitted_bytes, 0x10000 - 100);
	assert_int_equal(m->body_len, 103);
	assert_memory_equal(m->body, "xyzabc", 6);
	assert_int_equal(m->end_ns, 6000);
	http1_conn_free(c);
	result_free(&r);
}

/* a chunk after an omitted one is counted, not stored, and the message still ends cleanly */
static void test_http1_omit_chunk_then_more(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	const struct http_msg *m;

	(void)state;
	omit_feed(c, BT_DIR_SEND, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n", 1000);
	omit_feed(c, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8000\r\n",
		  2000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0x8000);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 0x8000, 3000), 0);
	omit_feed(c, BT_DIR_RECV, "\r\n5\r\nhe", 4000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 3);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 3, 4500), 0);
	omit_feed(c, BT_DIR_RECV, "\r\n0\r\nX-T: 1\r\n\r\n", 5000);
	assert_int_equal(r.n, 1);
	m = &r.ex[0].resp;
	assert_true(m->complete);
	assert_false(m->truncated);
	assert_int_equal(m->wire_body_len, 0x8000 + 5);
	assert_int_equal(m->omitted_bytes, 0x8000 + 3);
	assert_int_equal(m->body_len, 0);
	assert_string_equal(http_msg_header(m, "x-t"), "1");
	assert_int_equal(m->end_ns, 5000);
	http1_conn_free(c);
	result_free(&r);
}

/* keep-alive: the message after an omitted body is parsed and stored as usual */
static void test_http1_omit_keepalive(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		uint64_t ts = 10000 * (uint64_t)(i + 1);

		omit_feed(c, BT_DIR_SEND, "GET /k HTTP/1.1\r\nHost: h\r\n\r\n", ts);
		omit_feed(c, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\nhead",
			  ts + 1000);
		assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 70000 - 4);
		assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 70000 - 4 - 2, ts + 2000), 0);
		omit_feed(c, BT_DIR_RECV, "ta", ts + 3000);
		assert_int_equal(r.n, (size_t)(2 * i + 1));
		omit_feed(c, BT_DIR_SEND, "GET /small HTTP/1.1\r\nHost: h\r\n\r\n", ts + 4000);
		omit_feed(c, BT_DIR_RECV, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
			  ts + 5000);
		assert_int_equal(r.n, (size_t)(2 * i + 2));
	}
	for (i = 0; i < 6; i += 2) {
		assert_false(r.ex[i].incomplete);
		assert_body(&r.ex[i].resp, "head");
		assert_int_equal(r.ex[i].resp.wire_body_len, 70000);
		assert_int_equal(r.ex[i].resp.omitted_bytes, 70000 - 6);
		assert_false(r.ex[i].resp.truncated);
		assert_false(r.ex[i + 1].incomplete);
		assert_string_equal(r.ex[i + 1].req.target, "/small");
		assert_body(&r.ex[i + 1].resp, "abc");
		assert_int_equal(r.ex[i + 1].resp.omitted_bytes, 0);
		assert_null(r.ex[i + 1].resp.error);
	}
	http1_conn_free(c);
	result_free(&r);
}

/* a server receives a large request body: the request direction is RECV */
static void test_http1_omit_server_request(void **state)
{
	struct result r = {.eproto_at = -1, .max_body = BT_DEFAULT_MAX_BODY};
	struct http1_conn *c = http1_conn_new(NULL, collect, &r);
	const struct http_exchange *ex = NULL;
	const struct http_msg *m;

	(void)state;
	omit_feed(c, BT_DIR_RECV,
		  "POST /up HTTP/1.1\r\nHost: s\r\nContent-Length: 50000\r\n\r\n0123", 1000);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, &ex), 50000 - 4);
	assert_non_null(ex);
	assert_string_equal(ex->req.method, "POST");
	assert_false(ex->has_response);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_SEND, NULL), 0);
	assert_int_equal(http1_conn_omit(c, BT_DIR_RECV, 50000 - 4, 2000), 0);
	assert_int_equal(http1_conn_body_ahead(c, BT_DIR_RECV, NULL), 0);
	assert_int_equal(r.n, 0);
	omit_feed(c, BT_DIR_SEND, "HTTP/1.1 204 No Content\r\n\r\n", 3000);
	assert_int_equal(r.n, 1);
	assert_true(r.ex[0].server_side);
	assert_false(r.ex[0].incomplete);
	m = &r.ex[0].req;
	assert_true(m->complete);
	assert_false(m->truncated);
	assert_body(m, "0123");
	assert_int_equal(m->wire_body_len, 50000);
	assert_int_equal(m->omitted_bytes, 50000 - 4);
	assert_int_equal(m->end_ns, 2000);
	assert_int_equal(r.ex[0].resp.status, 204);
	http1_conn_free(c);
	result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http1_simple_get),
	    cmocka_unit_test(test_http1_keepalive_sequence),
	    cmocka_unit_test(test_http1_pipelined_fifo),
	    cmocka_unit_test(test_http1_chunked_extensions_trailers),
	    cmocka_unit_test(test_http1_interim_not_paired),
	    cmocka_unit_test(test_http1_no_body_statuses),
	    cmocka_unit_test(test_http1_close_delimited),
	    cmocka_unit_test(test_http1_connect_tunnel),
	    cmocka_unit_test(test_http1_upgrade_eproto),
	    cmocka_unit_test(test_http1_obsfold_bare_lf),
	    cmocka_unit_test(test_http1_malformed_request_resync),
	    cmocka_unit_test(test_http1_bad_chunk_resync),
	    cmocka_unit_test(test_http1_conflicting_content_length),
	    cmocka_unit_test(test_http1_midstream_request),
	    cmocka_unit_test(test_http1_midstream_response),
	    cmocka_unit_test(test_http1_server_role),
	    cmocka_unit_test(test_http1_gap_in_body),
	    cmocka_unit_test(test_http1_gap_in_headers),
	    cmocka_unit_test(test_http1_gap_swallows_request_start),
	    cmocka_unit_test(test_http1_not_http),
	    cmocka_unit_test(test_http1_split_invariance),
	    cmocka_unit_test(test_http1_split_invariance_at_limits),
	    cmocka_unit_test(test_http1_keepalive_100_requests),
	    cmocka_unit_test(test_http1_close_flushes_unanswered),
	    cmocka_unit_test(test_http1_oversized_headers_resync),
	    cmocka_unit_test(test_http1_gzip_and_deflate_bodies),
	    cmocka_unit_test(test_http1_gzip_limit_and_corrupt),
	    cmocka_unit_test(test_http1_gap_in_gzip_body),
	    cmocka_unit_test(test_http1_gap_edge_cases),
	    cmocka_unit_test(test_http1_max_body_truncates),
	    cmocka_unit_test(test_http1_large_body_16mib),
	    cmocka_unit_test(test_http1_tags_follow_first_byte),
	    cmocka_unit_test(test_http1_invalid_framing_errors),
	    cmocka_unit_test(test_http1_response_framing_variants),
	    cmocka_unit_test(test_http1_authority_forms),
	    cmocka_unit_test(test_http1_pending_limit_bounded),
	    cmocka_unit_test(test_http1_known_methods_shared),
	    cmocka_unit_test(test_http1_api_edges),
	    cmocka_unit_test(test_http1_detect),
	    cmocka_unit_test(test_http1_omit_content_length),
	    cmocka_unit_test(test_http1_omit_ends_body),
	    cmocka_unit_test(test_http1_omit_out_of_range),
	    cmocka_unit_test(test_http1_omit_not_in_body),
	    cmocka_unit_test(test_http1_omit_gzip_body_refused),
	    cmocka_unit_test(test_http1_omit_failed_coding_refused),
	    cmocka_unit_test(test_http1_omit_chunk),
	    cmocka_unit_test(test_http1_omit_chunk_then_more),
	    cmocka_unit_test(test_http1_omit_keepalive),
	    cmocka_unit_test(test_http1_omit_server_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
