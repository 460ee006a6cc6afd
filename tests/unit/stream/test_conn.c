// SPDX-License-Identifier: MIT
/*
 * Connection tracker tests: synthetic BPF data/conn event sequences go in; the exchanges come out,
 * to a recording callback, or through the event loop's pipeline (pipeline.c) as the spans it
 * sinks. HTTP/2 conversations are encoded with nghttp2's HPACK deflater.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <nghttp2/nghttp2.h>

#include "genai/genai.h"
#include "pipeline.h"
#include "proto/http.h"
#include "span/span.h"
#include "span/stitch.h"
#include "http_head.h"
#include "stream/conn.h"

#include "lib/attrs.h"
#include "lib/h2frame.h"

#define PID 4242
#define T0 1000000000ull

struct fx {
	struct conn_tracker *t;
	struct stitcher *s;
	struct genai *genai;
	struct pipeline pl;
	struct bt_resource *res;
	struct bt_span **spans; /* HTTP spans and function spans, in sink order */
	size_t n;
	uint64_t pos[2];
	uint64_t ts;
	size_t chunk; /* bytes per data event */
	uint64_t call_id, parent_id, root_id;
	uint32_t flags;
	uint32_t omitted; /* as sent with flags */
	uint16_t src;
	char dump_dir[64];
};

static struct bt_data_event ev; /* 16 KiB: not on the stack */

static void sink(void *ctx, struct bt_span *span)
{
	struct fx *f = ctx;

	f->spans = realloc(f->spans, (f->n + 1) * sizeof(*f->spans));
	assert_non_null(f->spans);
	f->spans[f->n++] = span;
}

static struct bt_resource *resource(void *ctx, uint32_t pid)
{
	struct fx *f = ctx;

	assert_int_equal(pid, PID);
	return f->res;
}

/* @genai: the annotator table (taken, freed by fx_free), NULL for none. */
static void fx_init_with(struct fx *f, size_t max_body, bool dump, struct genai *genai)
{
	struct conn_opts o = {.max_body = max_body};

	memset(f, 0, sizeof(*f));
	f->res = bt_resource_new();
	assert_non_null(f->res);
	f->s = stitcher_new(sink, resource, f);
	assert_non_null(f->s);
	f->genai = genai;
	f->pl.stitcher = f->s;
	f->pl.genai = genai;
	f->pl.sink = sink;
	f->pl.resource = resource;
	f->pl.ctx = f;
	if (dump) {
		strcpy(f->dump_dir, "/tmp/bt-test-conn-XXXXXX");
		assert_non_null(mkdtemp(f->dump_dir));
		f->pl.dump_dir = f->dump_dir;
	}
	f->t = conn_tracker_new(&o, pipeline_exchange, &f->pl);
	assert_non_null(f->t);
	f->ts = T0;
	f->chunk = BT_DATA_CHUNK;
	f->src = BT_SRC_TLS;
}

/* The tracker wired as tracer.c wires it; @bedrock: with the built-in GenAI annotators. */
static void fx_init(struct fx *f, size_t max_body, bool dump, bool bedrock)
{
	struct genai *g = NULL;

	if (bedrock) {
		struct genai_opts go = {0};

		g = genai_new(&go);
		assert_non_null(g);
	}
	fx_init_with(f, max_body, dump, g);
}

static void fx_clear_spans(struct fx *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		bt_span_free(f->spans[i]);
	free(f->spans);
	f->spans = NULL;
	f->n = 0;
}

static void fx_free(struct fx *f)
{
	conn_tracker_free(f->t);
	stitcher_free(f->s);
	genai_free(f->genai);
	fx_clear_spans(f);
	bt_resource_put(f->res);
	if (f->dump_dir[0]) {
		DIR *d = opendir(f->dump_dir);
		struct dirent *de;
		char p[512];

		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.') {
				snprintf(p, sizeof(p), "%s/%s", f->dump_dir, de->d_name);
				unlink(p);
			}
		if (d)
			closedir(d);
		rmdir(f->dump_dir);
	}
}

/* Sends @len bytes of @data in direction @dir on @conn at f->pos[dir], f->chunk bytes per event. */
static void fx_data_on(struct fx *f, uint64_t conn, int dir, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;

	do {
		n = len < f->chunk ? len : f->chunk;
		memset(&ev, 0, offsetof(struct bt_data_event, data));
		ev.type = BT_EV_DATA;
		ev.pid = PID;
		ev.ts_ns = f->ts;
		ev.conn_id = conn;
		ev.pos = f->pos[dir];
		ev.call_id = f->call_id;
		ev.parent_id = f->parent_id;
		ev.root_id = f->root_id;
		ev.tid = PID + 1;
		ev.len = (uint32_t)n;
		ev.call_len = (uint32_t)len;
		ev.dir = (uint16_t)dir;
		ev.src = f->src;
		ev.flags = f->flags;
		ev.omitted = f->omitted;
		memcpy(ev.data, p, n);
		conn_tracker_data(f->t, &ev);
		f->pos[dir] += n;
		f->ts += 1000;
		p += n;
		len -= n;
	} while (len);
}

static void fx_data(struct fx *f, int dir, const void *data, size_t len)
{
	fx_data_on(f, 0x1234, dir, data, len);
}

static void fx_str(struct fx *f, int dir, const char *s)
{
	fx_data(f, dir, s, strlen(s));
}

static void fx_peer(struct fx *f, uint64_t conn)
{
	struct bt_conn_event c = {
	    .type = BT_EV_CONN,
	    .pid = PID,
	    .ts_ns = f->ts,
	    .conn_id = conn,
	    .family = AF_INET,
	    .sport = 5555,
	    .dport = 443,
	    .src = f->src,
	};

	inet_pton(AF_INET, "10.0.0.1", c.saddr);
	inet_pton(AF_INET, "10.0.0.2", c.daddr);
	conn_tracker_conn(f->t, &c);
}

static void fx_close(struct fx *f, uint64_t conn, uint64_t send_pos, uint64_t recv_pos)
{
	struct bt_conn_event c = {
	    .type = BT_EV_CLOSE,
	    .pid = PID,
	    .ts_ns = f->ts,
	    .conn_id = conn,
	    .send_pos = send_pos,
	    .recv_pos = recv_pos,
	};

	conn_tracker_conn(f->t, &c);
}

static bool zero_id(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Ends traced call @call_id (parent @parent, root @root) so the stitcher sinks its span. */
static struct bt_span *fx_end_call(struct fx *f, uint64_t call_id, uint64_t parent, uint64_t root)
{
	struct bt_call_event e = {
	    .type = BT_EV_CALL,
	    .pid = PID,
	    .entry_ns = T0 - 1000,
	    .exit_ns = f->ts,
	    .call_id = call_id,
	    .parent_id = parent,
	    .root_id = root,
	    .tid = PID + 1,
	    .reason = BT_END_RETURN,
	};

	assert_int_equal(stitcher_call(f->s, &e, NULL), 0);
	assert_true(f->n > 0);
	return f->spans[f->n - 1];
}

static const char REQ[] = "POST /v1/items?x=1 HTTP/1.1\r\n"
			  "Host: api.example.com\r\n"
			  "User-Agent: test-agent/1.0\r\n"
			  "Content-Type: text/plain\r\n"
			  "Content-Length: 5\r\n"
			  "\r\n"
			  "hello";
static const char RESP[] = "HTTP/1.1 201 Created\r\n"
			   "Content-Length: 2\r\n"
			   "\r\n"
			   "ok";

static void test_conn_http1_client_many_chunks(void **state)
{
	uint64_t start, end;
	struct bt_span *s, *fn;
	struct conn_stats st;
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	fx_peer(&f, 0x1234);
	f.call_id = (uint64_t)(PID + 1) << 32 | 7;
	f.root_id = (uint64_t)(PID + 1) << 32 | 1;
	f.parent_id = f.root_id;
	f.chunk = 3;
	start = f.ts;
	fx_str(&f, BT_DIR_SEND, REQ);
	f.chunk = 1;
	fx_str(&f, BT_DIR_RECV, RESP);
	end = f.ts - 1000;
	assert_int_equal(f.n, 1);
	s = f.spans[0];
	assert_string_equal(s->name, "POST");
	assert_int_equal(s->kind, BT_KIND_CLIENT);
	assert_int_equal(s->status, BT_STATUS_UNSET);
	assert_string_equal(sattr(s, "http.request.method"), "POST");
	assert_string_equal(sattr(s, "url.full"), "https://api.example.com/v1/items?x=1");
	assert_string_equal(sattr(s, "url.scheme"), "https");
	assert_string_equal(sattr(s, "server.address"), "api.example.com");
	assert_int_equal(iattr(s, "server.port"), 443);
	assert_string_equal(sattr(s, "network.peer.address"), "10.0.0.2");
	assert_int_equal(iattr(s, "network.peer.port"), 443);
	assert_int_equal(iattr(s, "http.response.status_code"), 201);
	assert_string_equal(sattr(s, "network.protocol.version"), "1.1");
	assert_int_equal(iattr(s, "http.request.body.size"), 5);
	assert_int_equal(iattr(s, "http.response.body.size"), 2);
	assert_string_equal(sattr(s, "user_agent.original"), "test-agent/1.0");
	assert_null(attr(s, "bedtrace.capture.truncated"));
	assert_null(attr(s, "bedtrace.http.incomplete"));
	assert_null(attr(s, "error.type"));
	assert_int_equal(s->start_ns, bt_mono_to_unix_ns(start));
	assert_int_equal(s->end_ns, bt_mono_to_unix_ns(end));
	assert_ptr_equal(s->resource, f.res);

	/* the parent is the traced call that wrote the request */
	fn = fx_end_call(&f, f.call_id, f.parent_id, f.root_id);
	assert_memory_equal(s->parent_span_id, fn->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(s->trace_id, fn->trace_id, BT_TRACE_ID_LEN);

	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.connections, 1);
	assert_int_equal(st.exchanges, 1);
	assert_int_equal(st.bytes, strlen(REQ) + strlen(RESP));
	assert_int_equal(st.lost_bytes, 0);
	assert_int_equal(st.not_http, 0);
	fx_free(&f);
}

static void test_conn_http1_no_call_starts_trace(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	f.src = BT_SRC_SOCKET;
	fx_str(&f, BT_DIR_SEND, REQ);
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 1);
	assert_true(zero_id(f.spans[0]->parent_span_id, BT_SPAN_ID_LEN));
	assert_false(zero_id(f.spans[0]->trace_id, BT_TRACE_ID_LEN));
	assert_string_equal(sattr(f.spans[0], "url.full"), "http://api.example.com/v1/items?x=1");
	assert_int_equal(iattr(f.spans[0], "server.port"), 80);
	assert_null(attr(f.spans[0], "network.peer.address")); /* peer never learned */
	fx_free(&f);
}

static void test_conn_keepalive_100_requests(void **state)
{
	struct conn_stats st;
	char req[128];
	struct fx f;
	int i;

	(void)state;
	fx_init(&f, 0, false, false);
	for (i = 0; i < 100; i++) {
		snprintf(req, sizeof(req), "GET /item/%d HTTP/1.1\r\nHost: h\r\n\r\n", i);
		fx_str(&f, BT_DIR_SEND, req);
		fx_str(&f, BT_DIR_RECV,
		       i % 7 ? RESP
			     : "HTTP/1.1 404 Not Found\r\n"
			       "Content-Length: 0\r\n\r\n");
	}
	assert_int_equal(f.n, 100);
	for (i = 0; i < 100; i++) {
		snprintf(req, sizeof(req), "https://h/item/%d", i);
		assert_string_equal(sattr(f.spans[i], "url.full"), req);
		assert_int_equal(f.spans[i]->status, i % 7 ? BT_STATUS_UNSET : BT_STATUS_ERROR);
		if (!(i % 7))
			assert_string_equal(sattr(f.spans[i], "error.type"), "404");
	}
	fx_close(&f, 0x1234, f.pos[0], f.pos[1]);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.exchanges, 100);
	assert_int_equal(f.n, 100);
	fx_free(&f);
}

static void test_conn_dump_bodies_1mib(void **state)
{
	const size_t len = 1 << 20;
	uint8_t *body = malloc(len), *back = malloc(len);
	char hdr[256], path[256];
	struct stat sb;
	struct fx f;
	size_t i;
	int fd;

	(void)state;
	assert_non_null(body);
	assert_non_null(back);
	for (i = 0; i < len; i++)
		body[i] = (uint8_t)(i * 2654435761u >> 13);
	fx_init(&f, 2 << 20, true, false);
	snprintf(hdr, sizeof(hdr),
		 "PUT /blob HTTP/1.1\r\nHost: store\r\nContent-Length: %zu\r\n\r\n", len);
	fx_str(&f, BT_DIR_SEND, hdr);
	fx_data(&f, BT_DIR_SEND, body, len); /* 64 chunks of 16 KiB */
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 1);
	assert_int_equal(iattr(f.spans[0], "http.request.body.size"), len);
	assert_null(attr(f.spans[0], "bedtrace.capture.truncated"));

	snprintf(path, sizeof(path), "%s/%d-1234-0-0-req.bin", f.dump_dir, PID);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, len);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, back, len), len);
	close(fd);
	assert_memory_equal(body, back, len);
	snprintf(path, sizeof(path), "%s/%d-1234-0-0-resp.bin", f.dump_dir, PID);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 2);
	free(body);
	free(back);
	fx_free(&f);
}

/* Node.js writes a request's headers and its body's start as one 16 KiB first chunk. */
static void test_conn_first_chunk_full_size(void **state)
{
	const size_t len = 1 << 20;
	uint8_t *msg = malloc(len + 256);
	struct conn_stats st;
	struct fx f;
	int h;

	(void)state;
	assert_non_null(msg);
	fx_init(&f, 2 << 20, false, false);
	h = snprintf((char *)msg, 256,
		     "POST /upload HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nContent-Length: %zu\r\n\r\n",
		     len);
	memset(msg + h, 'x', len);
	fx_data(&f, BT_DIR_SEND, msg, (size_t)h + len); /* first event: BT_DATA_CHUNK bytes */
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 1);
	assert_string_equal(sattr(f.spans[0], "http.request.method"), "POST");
	assert_int_equal(iattr(f.spans[0], "http.request.body.size"), len);
	assert_null(attr(f.spans[0], "bedtrace.capture.truncated"));
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.not_http, 0);
	free(msg);
	fx_free(&f);
}

static void test_conn_gap_marks_truncated(void **state)
{
	char body[1000], hdr[128];
	struct conn_stats st;
	struct fx f;

	(void)state;
	memset(body, 'b', sizeof(body));
	fx_init(&f, 0, false, false);
	snprintf(hdr, sizeof(hdr), "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n",
		 sizeof(body));
	fx_str(&f, BT_DIR_SEND, hdr);
	fx_data(&f, BT_DIR_SEND, body, 300);
	f.pos[BT_DIR_SEND] += 200; /* a chunk lost in BPF */
	fx_data(&f, BT_DIR_SEND, body + 500, 500);
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 1);
	assert_true(battr(f.spans[0], "bedtrace.capture.truncated"));
	assert_int_equal(iattr(f.spans[0], "bedtrace.capture.lost_bytes"), 200);
	assert_int_equal(iattr(f.spans[0], "http.response.status_code"), 201);
	assert_int_equal(f.spans[0]->status, BT_STATUS_UNSET);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.lost_bytes, 200);
	assert_int_equal(st.truncated, 1);
	fx_free(&f);
}

static void test_conn_duplicate_and_overlap_dropped(void **state)
{
	const size_t n = strlen(REQ);
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	fx_data(&f, BT_DIR_SEND, REQ, 20);
	f.pos[BT_DIR_SEND] = 0;
	fx_data(&f, BT_DIR_SEND, REQ, 10);	    /* duplicate */
	fx_data(&f, BT_DIR_SEND, REQ + 10, n - 10); /* overlaps bytes 10..19 */
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 1);
	assert_null(attr(f.spans[0], "bedtrace.capture.truncated"));
	assert_int_equal(iattr(f.spans[0], "http.request.body.size"), 5);
	fx_free(&f);
}

static void test_conn_lost_tail_at_close(void **state)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
	char body[40];
	struct conn_stats st;
	struct fx f;

	(void)state;
	memset(body, 'x', sizeof(body));
	fx_init(&f, 0, false, false);
	fx_str(&f, BT_DIR_SEND, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	fx_str(&f, BT_DIR_RECV, resp);
	fx_data(&f, BT_DIR_RECV, body, sizeof(body));
	assert_int_equal(f.n, 0);
	/* BPF saw the whole response go by; the last 60 body bytes never reached us */
	fx_close(&f, 0x1234, f.pos[0], f.pos[1] + 60);
	assert_int_equal(f.n, 1);
	assert_true(battr(f.spans[0], "bedtrace.capture.truncated"));
	assert_int_equal(iattr(f.spans[0], "bedtrace.capture.lost_bytes"), 60);
	assert_int_equal(iattr(f.spans[0], "http.response.status_code"), 200);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.lost_bytes, 60);
	fx_free(&f);
}

/* ---- HTTP/2 ---- */

struct h2 {
	nghttp2_hd_deflater *enc[2];
	uint8_t buf[2][65536];
	size_t len[2];
};

static void h2_frame(struct h2 *h, int dir, int type, int flags, uint32_t sid, const void *p,
		     size_t n)
{
	uint8_t *o = h->buf[dir] + h->len[dir];

	assert_true(h->len[dir] + 9 + n <= sizeof(h->buf[dir]));
	h2_frame_header(o, n, type, flags, sid);
	if (n)
		memcpy(o + 9, p, n);
	h->len[dir] += 9 + n;
}

static void h2_headers(struct h2 *h, int dir, uint32_t sid, const nghttp2_nv *nv, size_t n,
		       bool end_stream)
{
	uint8_t block[4096];
	ssize_t len = nghttp2_hd_deflate_hd(h->enc[dir], block, sizeof(block), nv, n);

	assert_true(len > 0);
	h2_frame(h, dir, 1, 0x4 | (end_stream ? 0x1 : 0), sid, block, (size_t)len);
}

static void h2_init(struct h2 *h, int client_dir)
{
	memset(h, 0, sizeof(*h));
	assert_int_equal(nghttp2_hd_deflate_new(&h->enc[0], 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&h->enc[1], 4096), 0);
	memcpy(h->buf[client_dir], NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN);
	h->len[client_dir] = NGHTTP2_CLIENT_MAGIC_LEN;
	h2_frame(h, client_dir, 4, 0, 0, NULL, 0);
	h2_frame(h, !client_dir, 4, 0, 0, NULL, 0);
}

static void h2_free(struct h2 *h)
{
	nghttp2_hd_deflate_del(h->enc[0]);
	nghttp2_hd_deflate_del(h->enc[1]);
}

static const nghttp2_nv h2_req_nv[] = {
    NV(":method", "POST"),
    NV(":scheme", "https"),
    NV(":authority", "h2.example.com"),
    NV(":path", "/rpc?X-Amz-Signature=SECRET-sig&ok=1"),
    NV("user-agent", "h2-client"),
    NV("authorization", "Bearer SECRET-h2-token"),
    NV("cookie", "SECRET-h2-cookie"),
};
static const nghttp2_nv h2_resp_nv[] = {
    NV(":status", "200"),
    NV("set-cookie", "SECRET-h2-setcookie"),
    NV("content-type", "application/json"),
};

static void test_conn_http2_client_exchange(void **state)
{
	struct bt_span *s;
	struct h2 h;
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	fx_peer(&f, 0x1234);
	h2_init(&h, BT_DIR_SEND);
	h2_headers(&h, BT_DIR_SEND, 1, h2_req_nv, sizeof(h2_req_nv) / sizeof(h2_req_nv[0]), false);
	h2_frame(&h, BT_DIR_SEND, 0, 1, 1, "abc", 3);
	h2_headers(&h, BT_DIR_RECV, 1, h2_resp_nv, sizeof(h2_resp_nv) / sizeof(h2_resp_nv[0]),
		   false);
	h2_frame(&h, BT_DIR_RECV, 0, 1, 1, "{\"a\":1}", 7);
	f.chunk = 7;
	fx_data(&f, BT_DIR_SEND, h.buf[0], h.len[0]);
	fx_data(&f, BT_DIR_RECV, h.buf[1], h.len[1]);
	assert_int_equal(f.n, 1);
	s = f.spans[0];
	assert_string_equal(s->name, "POST");
	assert_int_equal(s->kind, BT_KIND_CLIENT);
	assert_string_equal(sattr(s, "network.protocol.version"), "2");
	assert_string_equal(sattr(s, "url.full"),
			    "https://h2.example.com/rpc?X-Amz-Signature=REDACTED&ok=1");
	assert_string_equal(sattr(s, "server.address"), "h2.example.com");
	assert_int_equal(iattr(s, "server.port"), 443);
	assert_int_equal(iattr(s, "http.response.status_code"), 200);
	assert_int_equal(iattr(s, "http.request.body.size"), 3);
	assert_int_equal(iattr(s, "http.response.body.size"), 7);
	assert_string_equal(sattr(s, "user_agent.original"), "h2-client");
	assert_null(attr(s, "bedtrace.http.incomplete"));
	h2_free(&h);
	fx_free(&f);
}

/* A TLS HTTP/2 server may write its SETTINGS before it reads the client preface. */
static void test_conn_http2_server_settings_first(void **state)
{
	static const nghttp2_nv req[] = {
	    NV(":method", "GET"),
	    NV(":scheme", "https"),
	    NV(":authority", "me.local:8443"),
	    NV(":path", "/health?verbose=1"),
	};
	static const nghttp2_nv resp[] = {NV(":status", "503")};
	struct bt_span *s;
	struct h2 h;
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	h2_init(&h, BT_DIR_RECV);
	/* server SETTINGS (6 bytes of payload, like real servers) goes out first */
	h.len[BT_DIR_SEND] = 0;
	h2_frame(&h, BT_DIR_SEND, 4, 0, 0, "\x00\x03\x00\x00\x00\x64", 6);
	fx_data(&f, BT_DIR_SEND, h.buf[BT_DIR_SEND], h.len[BT_DIR_SEND]);
	h.len[BT_DIR_SEND] = 0;
	h2_headers(&h, BT_DIR_RECV, 1, req, 4, true);
	fx_data(&f, BT_DIR_RECV, h.buf[BT_DIR_RECV], h.len[BT_DIR_RECV]);
	h2_headers(&h, BT_DIR_SEND, 1, resp, 1, true);
	fx_data(&f, BT_DIR_SEND, h.buf[BT_DIR_SEND], h.len[BT_DIR_SEND]);
	assert_int_equal(f.n, 1);
	s = f.spans[0];
	assert_int_equal(s->kind, BT_KIND_SERVER);
	assert_string_equal(s->name, "GET");
	assert_string_equal(sattr(s, "url.path"), "/health");
	assert_string_equal(sattr(s, "url.query"), "verbose=1");
	assert_string_equal(sattr(s, "server.address"), "me.local");
	assert_int_equal(iattr(s, "server.port"), 8443);
	assert_int_equal(s->status, BT_STATUS_ERROR);
	assert_string_equal(sattr(s, "error.type"), "503");
	h2_free(&h);
	fx_free(&f);
}

/* ---- server side, parenting ---- */

static void test_conn_server_start_adopts_call(void **state)
{
	static const char req[] = "GET /search?q=cats&token=SECRET-q HTTP/1.1\r\n"
				  "Host: svc.internal\r\n\r\n";
	uint64_t frame = (uint64_t)(PID + 1) << 32 | 3, fn_id = frame + 1;
	struct bt_span *srv, *fn;
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	f.src = BT_SRC_SOCKET;
	fx_peer(&f, 0x1234);
	f.call_id = frame;
	f.root_id = frame;
	f.flags = BT_DATA_F_SERVER_START;
	fx_str(&f, BT_DIR_RECV, req);
	f.flags = 0;
	fx_str(&f, BT_DIR_SEND, RESP);
	assert_int_equal(f.n, 1);
	srv = f.spans[0];
	assert_int_equal(srv->kind, BT_KIND_SERVER);
	assert_string_equal(sattr(srv, "url.path"), "/search");
	assert_string_equal(sattr(srv, "url.query"), "q=cats&token=REDACTED");
	assert_string_equal(sattr(srv, "url.scheme"), "http");
	assert_string_equal(sattr(srv, "server.address"), "svc.internal");
	assert_int_equal(iattr(srv, "server.port"), 5555); /* the local port */
	assert_string_equal(sattr(srv, "client.address"), "10.0.0.2");
	assert_null(attr(srv, "url.full"));
	assert_true(zero_id(srv->parent_span_id, BT_SPAN_ID_LEN));

	/* a handler function inside the frame nests under the server span */
	fn = fx_end_call(&f, fn_id, frame, frame);
	assert_memory_equal(fn->parent_span_id, srv->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(fn->trace_id, srv->trace_id, BT_TRACE_ID_LEN);
	fx_free(&f);
}

static void test_conn_traceparent_honoured(void **state)
{
	static const char req[] =
	    "GET / HTTP/1.1\r\nHost: h\r\n"
	    "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n";
	static const uint8_t tid[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
					0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
	static const uint8_t pid[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	f.call_id = 77;
	f.root_id = 77;
	fx_str(&f, BT_DIR_SEND, req);
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 1);
	assert_memory_equal(f.spans[0]->trace_id, tid, 16);
	assert_memory_equal(f.spans[0]->parent_span_id, pid, 8);
	/* nothing of the header itself is exported */
	assert_null(attr(f.spans[0], "http.request.header.traceparent"));
	fx_free(&f);
}

/* ---- credentials ---- */

static void assert_no_secret(const struct bt_span *s)
{
	size_t i, k, e;

	assert_null(strstr(s->name, "SECRET"));
	if (s->status_message)
		assert_null(strstr(s->status_message, "SECRET"));
	for (i = 0; i < s->attrs.n; i++) {
		const struct bt_attr *a = &s->attrs.v[i];

		if (a->type == BT_ATTR_STR && strstr(a->s, "SECRET"))
			fail_msg("secret in %s: %s", a->key, a->s);
		if (a->type == BT_ATTR_STR_ARRAY)
			for (k = 0; k < a->arr.n; k++)
				assert_null(strstr(a->arr.v[k], "SECRET"));
	}
	for (e = 0; e < s->n_events; e++)
		for (i = 0; i < s->events[e].attrs.n; i++)
			if (s->events[e].attrs.v[i].type == BT_ATTR_STR)
				assert_null(strstr(s->events[e].attrs.v[i].s, "SECRET"));
}

static void test_conn_secrets_never_exported(void **state)
{
	static const char req[] =
	    "POST /x?X-Amz-Credential=SECRET-cred&X-Amz-Security-Token=SECRET-sts HTTP/1.1\r\n"
	    "Host: SECRET-user:SECRET-pass@api.example.com\r\n"
	    "Authorization: AWS4-HMAC-SHA256 Credential=SECRET-akid/x, Signature=SECRET-s\r\n"
	    "Proxy-Authorization: Basic SECRET-proxy\r\n"
	    "X-Amz-Security-Token: SECRET-session\r\n"
	    "Cookie: session=SECRET-cookie\r\n"
	    "X-Api-Key: SECRET-apikey\r\n"
	    "Content-Length: 11\r\n\r\nSECRET-body";
	static const char resp[] = "HTTP/1.1 500 Oops\r\nSet-Cookie: a=SECRET-setcookie\r\n"
				   "Content-Length: 11\r\n\r\nSECRET-body";
	struct h2 h;
	struct fx f;
	size_t i;

	(void)state;
	fx_init(&f, 0, false, false);
	fx_str(&f, BT_DIR_SEND, req);
	fx_str(&f, BT_DIR_RECV, resp);
	/* and over HTTP/2 on another connection */
	h2_init(&h, BT_DIR_SEND);
	h2_headers(&h, BT_DIR_SEND, 1, h2_req_nv, sizeof(h2_req_nv) / sizeof(h2_req_nv[0]), true);
	h2_headers(&h, BT_DIR_RECV, 1, h2_resp_nv, sizeof(h2_resp_nv) / sizeof(h2_resp_nv[0]),
		   true);
	f.pos[0] = f.pos[1] = 0;
	fx_data_on(&f, 0x99, BT_DIR_SEND, h.buf[0], h.len[0]);
	fx_data_on(&f, 0x99, BT_DIR_RECV, h.buf[1], h.len[1]);
	assert_int_equal(f.n, 2);
	assert_string_equal(sattr(f.spans[0], "server.address"), "api.example.com");
	assert_string_equal(sattr(f.spans[0], "url.full"),
			    "https://REDACTED:REDACTED@api.example.com/x?X-Amz-Credential=REDACTED"
			    "&X-Amz-Security-Token=REDACTED");
	for (i = 0; i < f.n; i++)
		assert_no_secret(f.spans[i]);
	h2_free(&h);
	fx_free(&f);
}

/* ---- not HTTP, mid-stream, exits ---- */

static void test_conn_not_http_ignored(void **state)
{
	static const uint8_t tls_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00,
					    0x01, 0xfc, 0x03, 0x03, 0xaa, 0xbb, 0xcc,
					    0xdd, 0xee, 0x11, 0x22, 0x33, 0x44};
	struct conn_stats st;
	struct fx f;
	uint8_t *junk = malloc(2 << 20);

	(void)state;
	assert_non_null(junk);
	memset(junk, 0xa5, 2 << 20);
	fx_init(&f, 0, false, false);
	f.chunk = 4; /* decided only once enough bytes arrived */
	fx_data(&f, BT_DIR_SEND, tls_hello, sizeof(tls_hello));
	f.chunk = BT_DATA_CHUNK;
	/* a connection open before tracing looks the same: a message start is searched for */
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.not_http, 0);
	fx_data(&f, BT_DIR_RECV, junk, 2 << 20);
	free(junk);
	fx_str(&f, BT_DIR_SEND, REQ); /* later HTTP-looking bytes stay ignored */
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 0);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.not_http, 1);
	assert_int_equal(st.exchanges, 0);
	assert_int_equal(st.connections, 1);
	fx_close(&f, 0x1234, f.pos[0], f.pos[1]);
	conn_tracker_flush(f.t, f.ts);
	assert_int_equal(f.n, 0);
	fx_free(&f);
}

/* BPF numbers a connection from the first I/O it sees: attached in the middle of a body. */
static void test_conn_attached_mid_body_at_pos0(void **state)
{
	char junk[3000];
	struct conn_stats st;
	struct fx f;

	(void)state;
	memset(junk, 'j', sizeof(junk));
	fx_init(&f, 0, false, false);
	fx_data(&f, BT_DIR_RECV, junk, sizeof(junk));
	fx_str(&f, BT_DIR_SEND, REQ);
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 1);
	assert_string_equal(sattr(f.spans[0], "url.full"), "https://api.example.com/v1/items?x=1");
	assert_int_equal(iattr(f.spans[0], "http.response.status_code"), 201);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.not_http, 0);
	fx_free(&f);
}

static void test_conn_midstream_http1_resyncs(void **state)
{
	char junk[300];
	struct fx f;

	(void)state;
	memset(junk, 'j', sizeof(junk));
	fx_init(&f, 0, false, false);
	/* joined a keep-alive connection inside an earlier request body */
	f.pos[BT_DIR_SEND] = 5000;
	f.pos[BT_DIR_RECV] = 9000;
	fx_data(&f, BT_DIR_SEND, junk, sizeof(junk));
	fx_data(&f, BT_DIR_RECV, junk, sizeof(junk));
	fx_str(&f, BT_DIR_SEND, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 1);
	assert_string_equal(sattr(f.spans[0], "url.full"), "https://h/next");
	assert_int_equal(iattr(f.spans[0], "http.response.status_code"), 201);
	fx_free(&f);
}

static void test_conn_midstream_http2_frames(void **state)
{
	static const nghttp2_nv req[] = {
	    NV(":method", "GET"),
	    NV(":scheme", "https"),
	    NV(":authority", "late.example"),
	    NV(":path", "/x"),
	};
	static const nghttp2_nv resp[] = {NV(":status", "204")};
	struct h2 h;
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	memset(&h, 0, sizeof(h));
	assert_int_equal(nghttp2_hd_deflate_new(&h.enc[0], 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&h.enc[1], 4096), 0);
	/* literal fields only matter to nghttp2's table; a fresh deflater is fresh state anyway */
	h2_headers(&h, BT_DIR_SEND, 5, req, 4, true);
	h2_headers(&h, BT_DIR_RECV, 5, resp, 1, true);
	f.pos[0] = 100000;
	f.pos[1] = 200000;
	fx_data(&f, BT_DIR_SEND, h.buf[0], h.len[0]);
	fx_data(&f, BT_DIR_RECV, h.buf[1], h.len[1]);
	conn_tracker_flush(f.t, f.ts);
	assert_int_equal(f.n, 1);
	assert_string_equal(sattr(f.spans[0], "network.protocol.version"), "2");
	assert_int_equal(iattr(f.spans[0], "http.response.status_code"), 204);
	h2_free(&h);
	fx_free(&f);
}

static void test_conn_process_exit_flushes(void **state)
{
	struct conn_stats st;
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	fx_data_on(&f, 0x1, BT_DIR_SEND, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", 28);
	f.pos[0] = 0;
	fx_data_on(&f, 0x2, BT_DIR_SEND, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n", 28);
	assert_int_equal(f.n, 0);
	conn_tracker_process_exit(f.t, PID + 1, f.ts); /* another process: nothing */
	assert_int_equal(f.n, 0);
	conn_tracker_process_exit(f.t, PID, f.ts + 5000);
	assert_int_equal(f.n, 2);
	assert_true(battr(f.spans[0], "bedtrace.http.incomplete"));
	assert_null(attr(f.spans[0], "http.response.status_code"));
	assert_int_equal(f.spans[0]->status, BT_STATUS_UNSET);
	assert_true(f.spans[0]->end_ns >= f.spans[0]->start_ns);
	conn_tracker_flush(f.t, f.ts);
	assert_int_equal(f.n, 2);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.exchanges, 2);
	fx_free(&f);
}

/* ---- Bedrock ---- */

static const char BR_BODY[] =
    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Say this is a test\"}]}],"
    "\"inferenceConfig\":{\"maxTokens\":10,\"temperature\":0.8}}";
static const char BR_RESP_BODY[] =
    "{\"metrics\":{\"latencyMs\":608},\"output\":{\"message\":{\"content\":[{\"text\":\"Hi\"}],"
    "\"role\":\"assistant\"}},\"stopReason\":\"max_tokens\","
    "\"usage\":{\"inputTokens\":8,\"outputTokens\":10,\"totalTokens\":18}}";

static void bedrock_converse(struct fx *f)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "POST /model/amazon.titan-text-lite-v1/converse HTTP/1.1\r\n"
		 "Host: bedrock-runtime.us-east-1.amazonaws.com\r\n"
		 "Content-Type: application/json\r\n"
		 "Authorization: AWS4-HMAC-SHA256 Credential=AKIDSECRET/20250206/us-east-1/"
		 "bedrock/aws4_request, SignedHeaders=host, Signature=SECRETSIG\r\n"
		 "X-Amz-Security-Token: SECRET-session\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 strlen(BR_BODY), BR_BODY);
	fx_str(f, BT_DIR_SEND, buf);
	snprintf(buf, sizeof(buf),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		 "x-amzn-RequestId: 180bdcbc-0fea-4b99-a0f0-b858dd830a83\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 strlen(BR_RESP_BODY), BR_RESP_BODY);
	fx_str(f, BT_DIR_RECV, buf);
}

static void test_conn_bedrock_converse(void **state)
{
	struct bt_span *s, *root;
	uint64_t rid = (uint64_t)(PID + 1) << 32 | 1;
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, true);
	f.call_id = rid + 1;
	f.parent_id = rid;
	f.root_id = rid;
	bedrock_converse(&f);
	assert_int_equal(f.n, 1);
	s = f.spans[0];
	assert_string_equal(s->name, "chat amazon.titan-text-lite-v1");
	assert_int_equal(iattr(s, "gen_ai.usage.input_tokens"), 8);
	assert_int_equal(iattr(s, "gen_ai.usage.output_tokens"), 10);
	assert_string_equal(sattr(s, "http.request.method"), "POST");
	assert_no_secret(s);
	/* the usage reaches the trace root when its call ends */
	fx_end_call(&f, rid + 1, rid, rid);
	root = fx_end_call(&f, rid, 0, rid);
	assert_int_equal(iattr(root, "bedtrace.trace.gen_ai.usage.input_tokens"), 8);
	assert_int_equal(iattr(root, "bedtrace.trace.gen_ai.usage.output_tokens"), 10);
	fx_free(&f);

	/* a Bedrock call outside any traced call is its own root and carries its own totals */
	fx_init(&f, 0, false, true);
	bedrock_converse(&f);
	assert_int_equal(f.n, 1);
	assert_int_equal(iattr(f.spans[0], "bedtrace.trace.gen_ai.usage.input_tokens"), 8);
	fx_free(&f);
}

/* ---- the tracker alone: exchanges to a callback, no spans ---- */

struct recorded {
	char method[16];
	int status;
	struct conn_origin origin;
	struct conn_peer peer;
	bool tls, incomplete;
	uint64_t conn_id, seq, last_ns;
};

struct recorder {
	struct recorded v[8];
	size_t n;
};

static void record(void *ctx, const struct conn_exchange *x)
{
	struct recorder *r = ctx;
	struct recorded *e;

	assert_true(r->n < sizeof(r->v) / sizeof(r->v[0]));
	assert_non_null(x->http);
	assert_non_null(x->peer);
	e = &r->v[r->n++];
	memset(e, 0, sizeof(*e));
	if (x->http->has_request && x->http->req.method)
		snprintf(e->method, sizeof(e->method), "%s", x->http->req.method);
	e->status = x->http->has_response ? x->http->resp.status : 0;
	e->incomplete = x->http->incomplete;
	e->origin = x->origin;
	e->peer = *x->peer;
	e->tls = x->tls;
	e->conn_id = x->conn_id;
	e->seq = x->seq;
	e->last_ns = x->last_ns;
}

/* each exchange reaches the callback with the call, connection and peer it came from */
static void test_conn_exchanges_to_callback(void **state)
{
	struct conn_opts o = {0};
	struct recorder r = {0};
	struct conn_stats st;
	struct fx f;

	(void)state;
	memset(&f, 0, sizeof(f));
	errno = 0;
	assert_null(conn_tracker_new(&o, NULL, &r));
	assert_int_equal(errno, EINVAL);
	f.t = conn_tracker_new(&o, record, &r);
	assert_non_null(f.t);
	f.ts = T0;
	f.chunk = 7; /* messages cross many chunks */
	f.src = BT_SRC_TLS;
	f.call_id = 0x500000002ull;
	f.parent_id = f.root_id = 0x500000001ull;
	fx_peer(&f, 0x1234);
	fx_str(&f, BT_DIR_SEND, REQ);
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].method, "POST");
	assert_int_equal(r.v[0].status, 201);
	assert_true(r.v[0].origin.known);
	assert_int_equal(r.v[0].origin.pid, PID);
	assert_int_equal(r.v[0].origin.tid, PID + 1);
	assert_int_equal(r.v[0].origin.call_id, 0x500000002ull);
	assert_int_equal(r.v[0].origin.root_id, 0x500000001ull);
	assert_true(r.v[0].peer.known);
	assert_int_equal(r.v[0].peer.peer_port, 443);
	assert_true(r.v[0].tls);
	assert_int_equal(r.v[0].conn_id, 0x1234);
	assert_int_equal(r.v[0].seq, 0);
	assert_true(r.v[0].last_ns >= T0);
	/* a second request on the connection, sent outside any traced call, never answered */
	f.call_id = f.parent_id = f.root_id = 0;
	fx_str(&f, BT_DIR_SEND, REQ);
	assert_int_equal(r.n, 1);
	conn_tracker_flush(f.t, f.ts);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[1].seq, 1);
	assert_true(r.v[1].incomplete);
	assert_int_equal(r.v[1].status, 0);
	assert_int_equal(r.v[1].origin.call_id, 0);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.exchanges, 2);
	conn_tracker_free(f.t);
}

/* ---- a GenAI annotator row: its typed usage reaches the trace root ---- */

static int fake_state_frees;

static void *fake_state_new(const struct genai_opts *opts)
{
	(void)opts;
	return calloc(1, sizeof(int));
}

static void fake_state_free(void *state)
{
	fake_state_frees++;
	free(state);
}

static bool fake_match(const struct http_exchange *ex)
{
	return ex->has_request && ex->req.target && !strncmp(ex->req.target, "/v1/items", 9);
}

/* A provider that names the span, counts its calls, and reports usage only as typed fields. */
static int fake_annotate(void *state, const struct http_exchange *ex, struct bt_span *span,
			 struct bt_span ***children, size_t *n_children)
{
	int *calls = state;
	struct bt_span *child = bt_span_new("step", BT_KIND_INTERNAL);

	(void)ex;
	assert_non_null(child);
	(*calls)++;
	bt_span_set_name(span, "chat fake");
	span->usage.has_tokens = true;
	span->usage.input_tokens = 5 * *calls;
	span->usage.output_tokens = 7;
	span->usage.has_cost = true;
	span->usage.cost_usd = 0.125;
	span->usage.includes_children = true;
	/* a child with usage of its own: the total already counts it */
	bt_span_set_parent(child, span);
	child->usage.has_tokens = true;
	child->usage.input_tokens = 1000;
	*children = realloc(*children, (*n_children + 1) * sizeof(**children));
	assert_non_null(*children);
	(*children)[(*n_children)++] = child;
	return 0;
}

static const struct genai_annotator fake_row = {
    .name = "fake",
    .state_new = fake_state_new,
    .state_free = fake_state_free,
    .match = fake_match,
    .annotate = fake_annotate,
};

static void test_conn_annotator_usage_reaches_root(void **state)
{
	static const struct genai_annotator *const rows[] = {&fake_row};
	uint64_t rid = (uint64_t)(PID + 1) << 32 | 1;
	struct bt_span *root;
	struct genai *g;
	struct fx f;

	(void)state;
	fake_state_frees = 0;
	g = genai_new_table(rows, 1, NULL);
	assert_non_null(g);
	fx_init_with(&f, 0, false, g);
	f.call_id = rid + 1;
	f.parent_id = f.root_id = rid;
	fx_str(&f, BT_DIR_SEND, REQ);
	fx_str(&f, BT_DIR_RECV, RESP);
	fx_str(&f, BT_DIR_SEND, REQ);
	fx_str(&f, BT_DIR_RECV, RESP);
	/* span, child, span, child */
	assert_int_equal(f.n, 4);
	assert_string_equal(f.spans[0]->name, "chat fake");
	assert_string_equal(f.spans[1]->name, "step");
	assert_memory_equal(f.spans[1]->parent_span_id, f.spans[0]->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(f.spans[1]->trace_id, f.spans[0]->trace_id, BT_TRACE_ID_LEN);
	assert_ptr_equal(f.spans[1]->resource, f.res);
	/* no usage attribute anywhere: the totals come from the typed fields */
	assert_null(attr(f.spans[0], "gen_ai.usage.input_tokens"));
	fx_end_call(&f, rid + 1, rid, rid);
	root = fx_end_call(&f, rid, 0, rid);
	assert_int_equal(iattr(root, "bedtrace.trace.gen_ai.usage.input_tokens"), 5 + 10);
	assert_int_equal(iattr(root, "bedtrace.trace.gen_ai.usage.output_tokens"), 14);
	assert_float_equal(attr(root, "bedtrace.trace.cost.usd")->d, 0.25, 1e-12);
	fx_free(&f);
	assert_int_equal(fake_state_frees, 1);

	/* an exchange no row matches is a plain HTTP span */
	g = genai_new_table(rows, 1, NULL);
	assert_non_null(g);
	fx_init_with(&f, 0, false, g);
	fx_str(&f, BT_DIR_SEND, "GET /other HTTP/1.1\r\nHost: h\r\n\r\n");
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.spans[0]->name, "GET");
	assert_false(f.spans[0]->usage.has_tokens);
	assert_null(attr(f.spans[0], "bedtrace.trace.gen_ai.usage.input_tokens"));
	fx_free(&f);
}

/* ---- omission windows ---- */

struct omit_call {
	uint32_t pid;
	uint64_t conn_id;
	int dir;
	uint64_t from, to;
};

/* What the tracker asked and delivered: exchange callback ctx, wants_body ctx, omit ctx. */
/* The tracker's omission counts: @omitted, @lost bytes and @windows (-1: not checked). */
static void omit_stats_eq(const struct conn_tracker *t, int64_t omitted, int64_t lost,
			  int64_t windows)
{
	struct conn_stats st;

	conn_tracker_stats(t, &st);
	if (omitted >= 0)
		assert_int_equal(st.omitted, omitted);
	if (lost >= 0)
		assert_int_equal(st.lost_bytes, lost);
	if (windows >= 0)
		assert_int_equal(st.omit_windows, windows);
}

struct omit_rec {
	bool wants;	       /* what wants_body answers */
	int fail;	       /* what omit returns */
	size_t n_asked;	       /* wants_body calls */
	char asked_target[32]; /* the request target wants_body last saw */
	struct omit_call call[4];
	size_t n_calls;
	struct http_exchange ex[4]; /* delivered: numbers and flags only (omit_copy_msg) */
	size_t n_ex;
	struct bt_auto_arm arm; /* the last arming */
	size_t n_arms, n_disarms;
};

static bool omit_wants(void *ctx, const struct http_exchange *ex)
{
	struct omit_rec *r = ctx;

	assert_non_null(ex);
	r->n_asked++;
	snprintf(r->asked_target, sizeof(r->asked_target), "%s",
		 ex->has_request && ex->req.target ? ex->req.target : "");
	return r->wants;
}

static int omit_record(void *ctx, uint32_t pid, uint64_t conn_id, int dir, uint64_t from,
		       uint64_t to)
{
	struct omit_rec *r = ctx;

	assert_true(r->n_calls < sizeof(r->call) / sizeof(r->call[0]));
	r->call[r->n_calls++] = (struct omit_call){pid, conn_id, dir, from, to};
	return r->fail;
}

static int omit_arm(void *ctx, uint32_t pid, uint64_t conn_id, const struct bt_auto_arm *arm)
{
	struct omit_rec *r = ctx;

	assert_int_equal(pid, PID);
	assert_int_equal(conn_id, 0x1234);
	if (!arm) {
		r->n_disarms++;
		return 0;
	}
	r->arm = *arm;
	r->n_arms++;
	return 0;
}

/* The numbers and flags of @s; no pointer survives the callback except the static error. */
static void omit_copy_msg(struct http_msg *d, const struct http_msg *s)
{
	memset(d, 0, sizeof(*d));
	d->status = s->status;
	d->body_len = s->body_len;
	d->wire_body_len = s->wire_body_len;
	d->omitted_bytes = s->omitted_bytes;
	d->lost_bytes = s->lost_bytes;
	d->end_ns = s->end_ns;
	d->first_body_ns = s->first_body_ns;
	d->truncated = s->truncated;
	d->complete = s->complete;
	d->error = s->error;
}

static void omit_exchange(void *ctx, const struct conn_exchange *x)
{
	struct omit_rec *r = ctx;
	struct http_exchange *e;

	assert_true(r->n_ex < sizeof(r->ex) / sizeof(r->ex[0]));
	e = &r->ex[r->n_ex++];
	memset(e, 0, sizeof(*e));
	e->has_request = x->http->has_request;
	e->has_response = x->http->has_response;
	e->incomplete = x->http->incomplete;
	omit_copy_msg(&e->req, &x->http->req);
	omit_copy_msg(&e->resp, &x->http->resp);
}

/* A tracker delivering to @r, asking @r for bodies and windows. */
static void fx_omit_init(struct fx *f, struct omit_rec *r)
{
	struct conn_opts o = {
	    .wants_body = omit_wants, .omit = omit_record, .arm = omit_arm, .omit_ctx = r};

	memset(f, 0, sizeof(*f));
	memset(r, 0, sizeof(*r));
	f->t = conn_tracker_new(&o, omit_exchange, r);
	assert_non_null(f->t);
	f->ts = T0;
	f->chunk = BT_DATA_CHUNK;
	f->src = BT_SRC_TLS;
}

/* BPF's event for the I/O call that ends a window: @n bytes at @pos, not copied. */
static uint64_t fx_omitted(struct fx *f, int dir, uint64_t pos, uint32_t n)
{
	uint64_t ts = f->ts;

	memset(&ev, 0, offsetof(struct bt_data_event, data));
	ev.type = BT_EV_DATA;
	ev.pid = PID;
	ev.ts_ns = ts;
	ev.conn_id = 0x1234;
	ev.pos = pos;
	ev.tid = PID + 1;
	ev.call_len = n;
	ev.dir = (uint16_t)dir;
	ev.src = f->src;
	ev.flags = BT_DATA_F_OMITTED;
	ev.omitted = n;
	conn_tracker_data(f->t, &ev);
	f->pos[dir] = pos + n;
	f->ts += 1000;
	return ts;
}

/*
 * BPF's event for a response head it read itself, after which it opened a window of @n bytes
 * (BT_DATA_F_WINDOW): the next event's position is past the window.
 */
static void fx_window_head(struct fx *f, const char *head, uint32_t n)
{
	f->flags = BT_DATA_F_WINDOW;
	f->omitted = n;
	fx_str(f, BT_DIR_RECV, head);
	f->flags = 0;
	f->omitted = 0;
}

/* The tracker's auto-window counts. */
static void auto_stats_eq(const struct conn_tracker *t, uint64_t windows, uint64_t refused,
			  uint64_t arms)
{
	struct conn_stats st;

	conn_tracker_stats(t, &st);
	assert_int_equal(st.auto_windows, windows);
	assert_int_equal(st.auto_refused, refused);
	assert_int_equal(st.arms, arms);
}

/* The head of a response with a @len-byte identity body and its first @first body bytes. */
static void fx_big_response(struct fx *f, uint64_t len, size_t first, const char *extra)
{
	char head[256], *buf;
	size_t n;

	n = (size_t)snprintf(head, sizeof(head),
			     "HTTP/1.1 200 OK\r\n%sContent-Length: %llu\r\n\r\n", extra,
			     (unsigned long long)len);
	buf = malloc(n + first);
	assert_non_null(buf);
	memcpy(buf, head, n);
	memset(buf + n, 'b', first);
	fx_data(f, BT_DIR_RECV, buf, n + first);
	free(buf);
}

static void fx_fill(struct fx *f, int dir, size_t n)
{
	char *b = malloc(n);

	assert_non_null(b);
	memset(b, 'f', n);
	fx_data(f, dir, b, n);
	free(b);
}

static const char BIG_REQ[] = "GET /big HTTP/1.1\r\nHost: h\r\n\r\n";

/* A window BPF did not take: every byte keeps coming, and a jump is a loss. */
static void test_conn_omit_window_not_set(void **state)
{
	struct omit_rec r;
	struct fx f;

	(void)state;
	fx_omit_init(&f, &r);
	r.fail = -EIO;
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, 100000, 1000, "");
	assert_int_equal(r.n_calls, 1);
	/* 1,000 bytes lost, the rest copied: not asked again for the same body */
	f.pos[BT_DIR_RECV] += 1000;
	fx_fill(&f, BT_DIR_RECV, 98000);
	assert_int_equal(r.n_calls, 1);
	assert_int_equal(r.n_ex, 1);
	assert_true(r.ex[0].resp.truncated);
	assert_int_equal(r.ex[0].resp.lost_bytes, 1000);
	assert_int_equal(r.ex[0].resp.omitted_bytes, 0);
	omit_stats_eq(f.t, 0, 1000, 0);
	fx_free(&f);
}

static void test_conn_omit_window_asked_once(void **state)
{
	const uint64_t len = 100000;
	struct omit_rec r;
	struct conn_stats st;
	uint64_t from, to, end;
	struct fx f;

	(void)state;
	fx_omit_init(&f, &r);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	assert_int_equal(r.n_calls, 0);
	fx_big_response(&f, len, 1000, "");
	assert_int_equal(r.n_calls, 1);
	assert_string_equal(r.asked_target, "/big");
	from = f.pos[BT_DIR_RECV];
	to = from + len - 1000;
	assert_int_equal(r.call[0].pid, PID);
	assert_int_equal(r.call[0].conn_id, 0x1234);
	assert_int_equal(r.call[0].dir, BT_DIR_RECV);
	assert_int_equal(r.call[0].from, from);
	assert_int_equal(r.call[0].to, to);
	/* bytes copied before BPF saw the window do not ask again */
	fx_fill(&f, BT_DIR_RECV, 1000);
	assert_int_equal(r.n_calls, 1);
	/* BPF sends nothing for most of the window, then the call that ends it */
	end = fx_omitted(&f, BT_DIR_RECV, to - 5000, 5000);
	assert_int_equal(r.n_calls, 1);
	assert_int_equal(r.n_ex, 1);
	assert_false(r.ex[0].incomplete);
	assert_true(r.ex[0].resp.complete);
	assert_false(r.ex[0].resp.truncated);
	assert_int_equal(r.ex[0].resp.lost_bytes, 0);
	assert_int_equal(r.ex[0].resp.wire_body_len, len);
	assert_int_equal(r.ex[0].resp.omitted_bytes, len - 2000);
	assert_int_equal(r.ex[0].resp.body_len, 2000);
	assert_int_equal(r.ex[0].resp.end_ns, end);
	assert_null(r.ex[0].resp.error);
	omit_stats_eq(f.t, len - 2000, 0, 1);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.truncated, 0);
	/* keep-alive: the next exchange is captured as usual, without a window */
	fx_str(&f, BT_DIR_SEND, REQ);
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(r.n_ex, 2);
	assert_false(r.ex[1].incomplete);
	assert_int_equal(r.ex[1].resp.wire_body_len, 2);
	assert_int_equal(r.ex[1].resp.omitted_bytes, 0);
	assert_int_equal(r.n_calls, 1);
	/* a second large body gets a window of its own */
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, len, 0, "");
	assert_int_equal(r.n_calls, 2);
	assert_int_equal(r.call[1].from, f.pos[BT_DIR_RECV]);
	assert_int_equal(r.call[1].to, f.pos[BT_DIR_RECV] + len);
	conn_tracker_free(f.t);
}

/* through the event loop's pipeline, which reads no body here: the span has the sizes */
static void test_conn_omit_span_sizes(void **state)
{
	const uint64_t len = 200000;
	struct conn_opts o = {0};
	struct omit_rec r = {0};
	uint64_t to, end;
	struct fx f;

	(void)state;
	fx_init(&f, 0, false, false);
	conn_tracker_free(f.t);
	o.wants_body = pipeline_wants_body;
	o.omit = omit_record;
	o.omit_ctx = &r;
	f.t = conn_tracker_new(&o, pipeline_exchange, &f.pl);
	assert_non_null(f.t);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, len, 100, "Content-Type: application/octet-stream\r\n");
	assert_int_equal(r.n_calls, 1);
	to = r.call[0].to;
	assert_int_equal(to, f.pos[BT_DIR_RECV] + len - 100);
	end = fx_omitted(&f, BT_DIR_RECV, to - 3000, 3000);
	assert_int_equal(f.n, 1);
	assert_int_equal(iattr(f.spans[0], "http.response.body.size"), len);
	assert_int_equal(iattr(f.spans[0], "http.response.status_code"), 200);
	assert_null(attr(f.spans[0], "bedtrace.capture.truncated"));
	assert_null(attr(f.spans[0], "bedtrace.capture.lost_bytes"));
	assert_null(attr(f.spans[0], "bedtrace.http.incomplete"));
	assert_int_equal(f.spans[0]->end_ns, bt_mono_to_unix_ns(end));
	omit_stats_eq(f.t, len - 100, 0, -1);
	fx_free(&f);
}

static void test_conn_omit_not_asked(void **state)
{
	const size_t gz_len = 100000;
	struct omit_rec r;
	struct fx f;

	(void)state;
	/* someone reads the body: asked, declined, every byte copied */
	fx_omit_init(&f, &r);
	r.wants = true;
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, 100000, 0, "");
	assert_int_equal(r.n_asked, 1);
	assert_int_equal(r.n_calls, 0);
	fx_fill(&f, BT_DIR_RECV, 100000);
	/* once per body, not once per chunk of it */
	assert_int_equal(r.n_asked, 1);
	assert_int_equal(r.n_ex, 1);
	assert_int_equal(r.ex[0].resp.body_len, 100000);
	assert_int_equal(r.ex[0].resp.omitted_bytes, 0);
	omit_stats_eq(f.t, 0, -1, 0);

	/* a body just under the minimum, then one just at it */
	r.wants = false;
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, CONN_OMIT_MIN - 1, 0, "");
	assert_int_equal(r.n_calls, 0);
	fx_fill(&f, BT_DIR_RECV, CONN_OMIT_MIN - 1);
	assert_int_equal(r.n_ex, 2);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, CONN_OMIT_MIN + 10, 10, "");
	assert_int_equal(r.n_calls, 1);
	assert_int_equal(r.call[0].to - r.call[0].from, CONN_OMIT_MIN);
	fx_omitted(&f, BT_DIR_RECV, r.call[0].from, CONN_OMIT_MIN);
	assert_int_equal(r.n_ex, 3);
	assert_false(r.ex[2].resp.truncated);
	assert_int_equal(r.ex[2].resp.omitted_bytes, CONN_OMIT_MIN);

	/* a gzip body is decoded as it comes: never a window */
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, gz_len, 0, "Content-Encoding: gzip\r\n");
	fx_data(&f, BT_DIR_RECV, "\x1f\x8b\x08\0\0\0\0\0\0\x03", 10); /* a gzip header */
	assert_int_equal(r.n_calls, 1);
	omit_stats_eq(f.t, -1, 0, 1);
	conn_tracker_free(f.t);

	/* without an omit callback nothing is asked */
	memset(&r, 0, sizeof(r));
	{
		struct conn_opts o = {.wants_body = omit_wants};

		f.t = conn_tracker_new(&o, omit_exchange, &r);
		assert_non_null(f.t);
		f.pos[0] = f.pos[1] = 0;
		fx_str(&f, BT_DIR_SEND, BIG_REQ);
		fx_big_response(&f, 100000, 0, "");
		assert_int_equal(r.n_asked, 0);
		conn_tracker_free(f.t);
	}
}

/*
 * A window asked of BPF arms the connection: the request line, and where the next message of
 * each direction starts. BPF then opens the next body's window itself, and the tracker takes it
 * as its own: the exchange is whole, nothing lost, nothing asked.
 */
static void test_conn_auto_window_armed_then_adopted(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
	const uint64_t len = 100000;
	struct omit_rec r;
	uint64_t end;
	struct fx f;
	int i;

	(void)state;
	fx_omit_init(&f, &r);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, len, 1000, "");
	assert_int_equal(r.n_calls, 1);
	assert_int_equal(r.n_arms, 1);
	assert_int_equal(r.arm.unwanted[0], bt_path_hash("GET /big", 8));
	for (i = 1; i < BT_AUTO_LINES; i++)
		assert_int_equal(r.arm.unwanted[i], 0);
	/* the body's end; the request side is between messages */
	assert_int_equal(r.arm.next_head[BT_DIR_RECV], r.call[0].to);
	assert_int_equal(r.arm.next_head[BT_DIR_SEND], f.pos[BT_DIR_SEND]);
	assert_int_equal(r.arm.pending, 0);
	assert_int_equal(r.arm.req_hash, 0);
	fx_omitted(&f, BT_DIR_RECV, r.call[0].to - 5000, 5000);
	assert_int_equal(r.n_ex, 1);

	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_window_head(&f, head, (uint32_t)len);
	/* nothing asked of BPF, which has the window already */
	assert_int_equal(r.n_calls, 1);
	assert_int_equal(r.n_arms, 1);
	end = fx_omitted(&f, BT_DIR_RECV, f.pos[BT_DIR_RECV] + len - 3000, 3000);
	assert_int_equal(r.n_ex, 2);
	assert_true(r.ex[1].resp.complete);
	assert_false(r.ex[1].resp.truncated);
	assert_false(r.ex[1].incomplete);
	assert_int_equal(r.ex[1].resp.lost_bytes, 0);
	assert_int_equal(r.ex[1].resp.omitted_bytes, len);
	assert_int_equal(r.ex[1].resp.wire_body_len, len);
	assert_int_equal(r.ex[1].resp.body_len, 0);
	assert_int_equal(r.ex[1].resp.end_ns, end);
	omit_stats_eq(f.t, len - 1000 + len, 0, 2);
	auto_stats_eq(f.t, 1, 0, 1);
	assert_int_equal(r.n_disarms, 0);
	conn_tracker_free(f.t);
}

/*
 * A window BPF opened that this parse does not agree with (another length, or a body someone
 * reads): its bytes are lost and counted, and the connection is disarmed.
 */
static void test_conn_auto_window_refused(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 60000\r\n\r\n";
	struct conn_stats st;
	struct omit_rec r;
	struct fx f;

	(void)state;
	fx_omit_init(&f, &r);
	/* two requests armed by windows of bedtrace's own */
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, 40000, 0, "");
	fx_omitted(&f, BT_DIR_RECV, r.call[0].to - 5000, 5000);
	fx_str(&f, BT_DIR_SEND, "GET /big2 HTTP/1.1\r\nHost: h\r\n\r\n");
	fx_big_response(&f, 40000, 0, "");
	fx_omitted(&f, BT_DIR_RECV, r.call[1].to - 5000, 5000);
	assert_int_equal(r.n_arms, 2);
	assert_int_equal(r.arm.unwanted[1], bt_path_hash("GET /big2", 9));
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_window_head(&f, head, 50000);
	auto_stats_eq(f.t, 0, 1, 2);
	assert_int_equal(r.n_disarms, 1);
	/* BPF reports the call that ends its window; the parse still wants 10,000 bytes more */
	fx_omitted(&f, BT_DIR_RECV, f.pos[BT_DIR_RECV] + 45000, 5000);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.lost_bytes, 50000);
	assert_int_equal(st.omitted, 80000);
	fx_fill(&f, BT_DIR_RECV, 10000);
	assert_int_equal(r.n_ex, 3);
	assert_true(r.ex[2].resp.truncated);
	assert_int_equal(r.ex[2].resp.lost_bytes, 50000);

	/* armed again later: none of the requests armed before the refusal is */
	fx_str(&f, BT_DIR_SEND, "GET /other HTTP/1.1\r\nHost: h\r\n\r\n");
	fx_big_response(&f, 100000, 0, "");
	assert_int_equal(r.n_arms, 3);
	assert_int_equal(r.arm.unwanted[0], bt_path_hash("GET /other", 10));
	assert_int_equal(r.arm.unwanted[1], 0);
	conn_tracker_free(f.t);

	/* the right length, but the body is read */
	fx_omit_init(&f, &r);
	r.wants = true;
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_window_head(&f, head, 60000);
	auto_stats_eq(f.t, 0, 1, 0);
	assert_int_equal(r.n_disarms, 1);
	fx_omitted(&f, BT_DIR_RECV, f.pos[BT_DIR_RECV] + 55000, 5000);
	assert_int_equal(r.n_ex, 1);
	assert_true(r.ex[0].resp.truncated);
	assert_int_equal(r.ex[0].resp.lost_bytes, 60000);
	conn_tracker_free(f.t);
}

/* Arming: a direction in the middle of a head, or a chunked body, gives no position. */
static void test_conn_auto_arm_positions(void **state)
{
	static const char chunked[] =
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n";
	struct omit_rec r;
	struct fx f;

	(void)state;
	fx_omit_init(&f, &r);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_str(&f, BT_DIR_RECV, chunked);
	assert_int_equal(r.n_calls, 1);
	assert_int_equal(r.n_arms, 1);
	assert_int_equal(r.arm.next_head[BT_DIR_RECV], BT_POS_NONE);
	assert_int_equal(r.arm.next_head[BT_DIR_SEND], f.pos[BT_DIR_SEND]);
	conn_tracker_free(f.t);

	/* a second request already sent: the response side is not in step */
	fx_omit_init(&f, &r);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_str(&f, BT_DIR_SEND, "GET /next HTTP/1.1\r\nHost: h\r\n");
	fx_big_response(&f, 100000, 0, "");
	assert_int_equal(r.n_arms, 1);
	assert_int_equal(r.arm.next_head[BT_DIR_RECV], BT_POS_NONE);
	/* and the request side is inside a head */
	assert_int_equal(r.arm.next_head[BT_DIR_SEND], BT_POS_NONE);
	conn_tracker_free(f.t);
}

/* a position jump past the window's end: the part beyond is lost */
static void test_conn_omit_jump_past_window(void **state)
{
	struct omit_rec r;
	uint64_t to;
	struct fx f;

	(void)state;
	fx_omit_init(&f, &r);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_str(&f, BT_DIR_SEND, BIG_REQ); /* pipelined: its response follows the big one */
	fx_big_response(&f, 50000, 0, "");
	assert_int_equal(r.n_calls, 1);
	to = r.call[0].to;
	f.pos[BT_DIR_RECV] = to + 300;
	fx_str(&f, BT_DIR_RECV, "junk");
	/* the second response's start was in the lost bytes: delivered as lost at once */
	assert_int_equal(r.n_ex, 2);
	assert_true(r.ex[0].resp.complete);
	assert_false(r.ex[0].resp.truncated);
	assert_int_equal(r.ex[0].resp.omitted_bytes, 50000);
	assert_int_equal(r.ex[0].resp.lost_bytes, 0);
	omit_stats_eq(f.t, 50000, 300, -1);
	assert_true(r.ex[1].incomplete);
	assert_int_equal(r.ex[1].resp.lost_bytes, 300);
	assert_true(r.ex[1].resp.truncated);
	conn_tracker_free(f.t);
}

/* a chunk's window ends before the message: a jump past it truncates the message */
static void test_conn_omit_chunk_jump_past_window(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n";
	struct conn_stats st;
	struct omit_rec r;
	uint64_t from, to;
	struct fx f;

	(void)state;
	fx_omit_init(&f, &r);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_str(&f, BT_DIR_RECV, head);
	assert_int_equal(r.n_calls, 1);
	from = r.call[0].from;
	to = r.call[0].to;
	assert_int_equal(from, strlen(head));
	assert_int_equal(to, from + 0x10000);
	f.pos[BT_DIR_RECV] = to + 50;
	fx_str(&f, BT_DIR_RECV, "0\r\n\r\n");
	conn_tracker_flush(f.t, f.ts);
	assert_int_equal(r.n_ex, 1);
	assert_true(r.ex[0].incomplete);
	assert_true(r.ex[0].resp.truncated);
	assert_false(r.ex[0].resp.complete);
	assert_int_equal(r.ex[0].resp.lost_bytes, 50);
	assert_int_equal(r.ex[0].resp.omitted_bytes, 0x10000);
	omit_stats_eq(f.t, 0x10000, 50, -1);
	conn_tracker_stats(f.t, &st);
	assert_int_equal(st.truncated, 1);
	conn_tracker_free(f.t);
}

/* the chunk's window ends exactly: the message goes on and completes */
static void test_conn_omit_chunk_window(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9000\r\n";
	struct omit_rec r;
	struct fx f;

	(void)state;
	fx_omit_init(&f, &r);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_str(&f, BT_DIR_RECV, head);
	assert_int_equal(r.n_calls, 1);
	fx_omitted(&f, BT_DIR_RECV, r.call[0].to - 100, 100);
	fx_str(&f, BT_DIR_RECV, "\r\n0\r\n\r\n");
	assert_int_equal(r.n_ex, 1);
	assert_false(r.ex[0].incomplete);
	assert_false(r.ex[0].resp.truncated);
	assert_int_equal(r.ex[0].resp.wire_body_len, 0x9000);
	assert_int_equal(r.ex[0].resp.omitted_bytes, 0x9000);
	omit_stats_eq(f.t, -1, 0, 1);
	conn_tracker_free(f.t);
}

/* an omitted event with no body to stand for is a loss */
static void test_conn_omit_out_of_place(void **state)
{
	struct omit_rec r;
	struct fx f;

	(void)state;
	fx_omit_init(&f, &r);
	fx_str(&f, BT_DIR_SEND, REQ);
	fx_str(&f, BT_DIR_RECV, RESP);
	assert_int_equal(r.n_ex, 1);
	/* between messages */
	fx_omitted(&f, BT_DIR_RECV, f.pos[BT_DIR_RECV], 500);
	omit_stats_eq(f.t, 0, 500, -1);
	/* in the middle of a head */
	fx_str(&f, BT_DIR_SEND, "GET /h HTTP/1.1\r\nHo");
	fx_omitted(&f, BT_DIR_SEND, f.pos[BT_DIR_SEND], 40);
	omit_stats_eq(f.t, 0, 540, 0);
	conn_tracker_flush(f.t, f.ts);
	assert_int_equal(r.n_ex, 2);
	assert_true(r.ex[1].req.truncated);
	assert_int_equal(r.ex[1].req.omitted_bytes, 0);
	conn_tracker_free(f.t);

	/* the very first event of a connection */
	fx_omit_init(&f, &r);
	fx_omitted(&f, BT_DIR_SEND, 0, 4096);
	omit_stats_eq(f.t, 0, 4096, -1);
	conn_tracker_free(f.t);
}

/* BPF's close totals reach the window's end: the uncopied rest is omitted, not lost */
static void test_conn_omit_rest_at_close(void **state)
{
	struct omit_rec r;
	struct fx f;

	(void)state;
	fx_omit_init(&f, &r);
	fx_str(&f, BT_DIR_SEND, BIG_REQ);
	fx_big_response(&f, 60000, 10, "");
	assert_int_equal(r.n_calls, 1);
	fx_close(&f, 0x1234, f.pos[BT_DIR_SEND], r.call[0].to + 20);
	assert_int_equal(r.n_ex, 1);
	assert_true(r.ex[0].resp.complete);
	assert_false(r.ex[0].resp.truncated);
	assert_int_equal(r.ex[0].resp.omitted_bytes, 60000 - 10);
	assert_int_equal(r.ex[0].resp.wire_body_len, 60000);
	/* the 20 bytes after the window were not asked for */
	omit_stats_eq(f.t, 60000 - 10, 20, -1);
	conn_tracker_free(f.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conn_http1_client_many_chunks),
	    cmocka_unit_test(test_conn_http1_no_call_starts_trace),
	    cmocka_unit_test(test_conn_keepalive_100_requests),
	    cmocka_unit_test(test_conn_dump_bodies_1mib),
	    cmocka_unit_test(test_conn_first_chunk_full_size),
	    cmocka_unit_test(test_conn_gap_marks_truncated),
	    cmocka_unit_test(test_conn_duplicate_and_overlap_dropped),
	    cmocka_unit_test(test_conn_lost_tail_at_close),
	    cmocka_unit_test(test_conn_http2_client_exchange),
	    cmocka_unit_test(test_conn_http2_server_settings_first),
	    cmocka_unit_test(test_conn_server_start_adopts_call),
	    cmocka_unit_test(test_conn_traceparent_honoured),
	    cmocka_unit_test(test_conn_secrets_never_exported),
	    cmocka_unit_test(test_conn_not_http_ignored),
	    cmocka_unit_test(test_conn_attached_mid_body_at_pos0),
	    cmocka_unit_test(test_conn_midstream_http1_resyncs),
	    cmocka_unit_test(test_conn_midstream_http2_frames),
	    cmocka_unit_test(test_conn_process_exit_flushes),
	    cmocka_unit_test(test_conn_bedrock_converse),
	    cmocka_unit_test(test_conn_exchanges_to_callback),
	    cmocka_unit_test(test_conn_annotator_usage_reaches_root),
	    cmocka_unit_test(test_conn_omit_window_not_set),
	    cmocka_unit_test(test_conn_omit_window_asked_once),
	    cmocka_unit_test(test_conn_auto_window_armed_then_adopted),
	    cmocka_unit_test(test_conn_auto_window_refused),
	    cmocka_unit_test(test_conn_auto_arm_positions),
	    cmocka_unit_test(test_conn_omit_span_sizes),
	    cmocka_unit_test(test_conn_omit_not_asked),
	    cmocka_unit_test(test_conn_omit_jump_past_window),
	    cmocka_unit_test(test_conn_omit_chunk_jump_past_window),
	    cmocka_unit_test(test_conn_omit_chunk_window),
	    cmocka_unit_test(test_conn_omit_out_of_place),
	    cmocka_unit_test(test_conn_omit_rest_at_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
