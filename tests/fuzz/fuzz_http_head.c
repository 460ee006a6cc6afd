// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for include/http_head.h, against proto/http1.c. Byte 0 chooses:
 *
 *   bit 0   the head is a response (else a request)
 *   bit 1   the request before that response was HEAD (else GET)
 *   bit 2   http1.c gets the head one byte at a time (else in one piece)
 *
 * The rest is read by bt_head. bt_head_byte() must stop exactly at the byte that ends or fails
 * the head. Where the head ends (BT_HS_DONE) with a body length known (bt_head_body() >= 0),
 * http1.c must take the same bytes as one whole head followed by a body of that length:
 *
 *   - a request goes to a fresh connection as BT_DIR_SEND; a response to one that has sent the
 *     chosen request ("GET / HTTP/1.1" or "HEAD / HTTP/1.1"), as BT_DIR_RECV;
 *   - body 0: the direction is between messages (http1_conn_next_head() 0);
 *   - body > 0: http1_conn_body_ahead() and http1_conn_next_head() are that body, for a request
 *     on an exchange whose path_hash is bt_head's hash; one more byte (the input's next one, or
 *     'x') leaves one less (or, for a body of 1, the direction between messages);
 *   - on close the one exchange delivered carries no error, the request's hash and HEAD-ness
 *     or the response's status, complete exactly when its body was all fed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http_head.h"
#include "proto/http1.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

/* The exchanges http1.c delivered. */
struct seen {
	size_t n;
	bool has_request, has_response, req_head, complete;
	const char *error;
	uint32_t path_hash;
	int status;
};

static void on_exchange(void *ctx, struct http_exchange *ex)
{
	struct seen *s = ctx;
	const struct http_msg *m = ex->has_response ? &ex->resp : &ex->req;

	if (s->n++)
		return;
	s->has_request = ex->has_request;
	s->has_response = ex->has_response;
	s->req_head = ex->req.method && strcmp(ex->req.method, "HEAD") == 0;
	s->path_hash = ex->req.path_hash;
	s->status = ex->resp.status;
	s->complete = m->complete;
	s->error = m->error ? m->error : ex->req.error;
}

static void feed(struct http1_conn *c, enum bt_dir dir, const uint8_t *p, size_t n, bool bytewise)
{
	size_t i;

	if (!bytewise) {
		CHECK(http1_conn_feed(c, dir, p, n, 1, 0) == 0);
		return;
	}
	for (i = 0; i < n; i++)
		CHECK(http1_conn_feed(c, dir, p + i, 1, 1, 0) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char get[] = "GET / HTTP/1.1\r\n\r\n", head[] = "HEAD / HTTP/1.1\r\n\r\n";
	const struct http_exchange *ex = NULL;
	bool resp, req_head, bytewise, over;
	enum bt_dir dir;
	struct http1_conn *c;
	struct seen s = {0};
	struct bt_head h;
	const uint8_t *p;
	size_t n, i;
	uint8_t one;
	int64_t body;

	if (size < 1)
		return 0;
	resp = data[0] & 1;
	req_head = data[0] & 2;
	bytewise = data[0] & 4;
	p = data + 1;
	n = size - 1;

	bt_head_init(&h, resp ? BT_HEAD_RESP : BT_HEAD_REQ);
	for (i = 0, over = false; i < n && !over; i++)
		over = !bt_head_byte(&h, p[i]);
	/* it stops at the byte that decides, reads none past it and counts each it reads */
	CHECK(over == (h.state == BT_HS_DONE || h.state == BT_HS_FAIL));
	CHECK(h.len == i);
	CHECK(h.len <= n);
	body = bt_head_body(&h, req_head);
	if (h.state != BT_HS_DONE) {
		CHECK(body == -1);
		return 0;
	}
	CHECK(h.kind == (resp ? BT_HEAD_RESP : BT_HEAD_REQ));
	/* past what http1.c buffers as one header section: not this harness's question */
	if (body < 0 || h.len > HTTP1_DEFAULT_MAX_HEADER_BYTES)
		return 0;

	c = http1_conn_new(NULL, on_exchange, &s);
	CHECK(c);
	if (resp) {
		dir = BT_DIR_RECV;
		if (req_head)
			feed(c, BT_DIR_SEND, (const uint8_t *)head, sizeof(head) - 1, bytewise);
		else
			feed(c, BT_DIR_SEND, (const uint8_t *)get, sizeof(get) - 1, bytewise);
	} else {
		dir = BT_DIR_SEND;
	}
	feed(c, dir, p, h.len, bytewise);

	if (body == 0) {
		CHECK(http1_conn_next_head(c, dir) == 0);
		CHECK(http1_conn_body_ahead(c, dir, NULL) == 0);
	} else {
		CHECK(http1_conn_body_ahead(c, dir, &ex) == (uint64_t)body);
		CHECK(ex);
		CHECK(http1_conn_next_head(c, dir) == body);
		if (!resp)
			CHECK(ex->has_request && ex->req.path_hash == h.hash);
		else
			CHECK(ex->has_response && ex->resp.status == h.status);
		one = h.len < n ? p[h.len] : 'x';
		feed(c, dir, &one, 1, false);
		if (body > 1) {
			CHECK(http1_conn_body_ahead(c, dir, NULL) == (uint64_t)body - 1);
			CHECK(http1_conn_next_head(c, dir) == body - 1);
		} else {
			CHECK(http1_conn_body_ahead(c, dir, NULL) == 0);
			CHECK(http1_conn_next_head(c, dir) == 0);
		}
	}

	http1_conn_close(c, 2);
	CHECK(s.n == 1);
	CHECK(!s.error);
	CHECK(s.complete == (body <= 1));
	if (resp) {
		CHECK(s.has_request && s.has_response);
		CHECK(s.req_head == req_head);
		CHECK(s.status == h.status);
	} else {
		CHECK(s.has_request && !s.has_response);
		CHECK(s.path_hash == h.hash);
		CHECK(s.req_head == !!(h.flags & BT_HEAD_F_HEAD_METHOD));
	}
	http1_conn_free(c);
	return 0;
}
