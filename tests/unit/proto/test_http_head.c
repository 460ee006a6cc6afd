// SPDX-License-Identifier: MIT
/*
 * Unit tests for include/http_head.h: the byte-at-a-time HTTP/1.x head reader BPF runs. What it
 * takes must be a strict subset of what proto/http1.c takes, with the same head length, body
 * length and request hash (tests/fuzz/fuzz_http_head.c checks that on random input; here
 * each rule is pinned down on its own).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_head.h"
#include "proto/http1.h"

/*
 * Reads the @n bytes at @p into a fresh @h of @kind one at a time, up to the byte at which
 * bt_head_byte() says the head is over (done or failed); returns the final state and sets
 * *@used (may be NULL) to how many bytes were read.
 */
static int head_feed(struct bt_head *h, enum bt_head_kind kind, const void *p, size_t n,
		     size_t *used)
{
	const uint8_t *b = p;
	size_t i;

	bt_head_init(h, kind);
	for (i = 0; i < n; i++)
		if (!bt_head_byte(h, b[i])) {
			i++;
			break;
		}
	if (used)
		*used = i;
	return h->state;
}

/* head_feed() over a whole string. */
static int head_str(struct bt_head *h, enum bt_head_kind kind, const char *s)
{
	return head_feed(h, kind, s, strlen(s), NULL);
}

/*
 * Asserts that the string @s is one whole head of @kind: done at its last byte, with @s's
 * length as the head's length.
 */
static void accepts(struct bt_head *h, enum bt_head_kind kind, const char *s)
{
	size_t used;

	if (head_feed(h, kind, s, strlen(s), &used) != BT_HS_DONE)
		fail_msg("not taken (state %u at byte %zu): \"%s\"", h->state, used, s);
	assert_int_equal(used, strlen(s));
	assert_int_equal(h->len, strlen(s));
	assert_int_equal(h->kind, kind);
}

/* Asserts that the @n bytes at @p fail as a head of @kind. */
static void rejects_n(enum bt_head_kind kind, const void *p, size_t n)
{
	struct bt_head h;
	size_t used;

	if (head_feed(&h, kind, p, n, &used) != BT_HS_FAIL)
		fail_msg("not refused (state %u after %zu of %zu bytes): \"%.*s\"", h.state, used,
			 n, (int)n, (const char *)p);
}

static void rejects(enum bt_head_kind kind, const char *s)
{
	rejects_n(kind, s, strlen(s));
}

/* ---- framing ---- */

static void test_head_response_content_length(void **state)
{
	const char *s = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 42\r\nDate: y\r\n\r\n";
	struct bt_head h;

	(void)state;
	accepts(&h, BT_HEAD_RESP, s);
	assert_int_equal(h.len, strlen(s));
	assert_int_equal(h.status, 200);
	assert_true(h.flags & BT_HEAD_F_CL);
	assert_int_equal(h.cl, 42);
	assert_int_equal(bt_head_body(&h, 0), 42);

	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h.status, 201);
	assert_true(h.flags & BT_HEAD_F_CL);
	assert_int_equal(bt_head_body(&h, 0), 0);

	/* 19 digits, the most taken; leading zeros are digits like any other */
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n");
	assert_int_equal(h.cl, 1234567890123456789ull);
	assert_int_equal(bt_head_body(&h, 0), 1234567890123456789ll);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 0000000000000000012\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 12);

	/* the name in any case */
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 7\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 7);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 8\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 8);
}

static void test_head_request_without_body(void **state)
{
	struct bt_head h;

	(void)state;
	accepts(&h, BT_HEAD_REQ, "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
	assert_false(h.flags & BT_HEAD_F_CL);
	assert_false(h.flags & BT_HEAD_F_HEAD_METHOD);
	assert_int_equal(bt_head_body(&h, 0), 0);
	/* no field at all */
	accepts(&h, BT_HEAD_REQ, "DELETE /x HTTP/1.0\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 0);
}

static void test_head_request_content_length(void **state)
{
	struct bt_head h;

	(void)state;
	accepts(&h, BT_HEAD_REQ,
		"POST /api HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
		"Content-Length: 11\r\n\r\n");
	assert_true(h.flags & BT_HEAD_F_CL);
	assert_int_equal(h.cl, 11);
	assert_int_equal(bt_head_body(&h, 0), 11);
	/* a request's body does not depend on whether a HEAD came before */
	assert_int_equal(bt_head_body(&h, 1), 11);

	accepts(&h, BT_HEAD_REQ, "PUT /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	assert_true(h.flags & BT_HEAD_F_CL);
	assert_int_equal(bt_head_body(&h, 0), 0);

	/* 19 digits in a request too (the request line's counters do not carry over) */
	accepts(&h, BT_HEAD_REQ, "POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 1234567890123456789ll);
	/* read, but more than a signed length holds: not known */
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), -1);
}

static void test_head_head_method(void **state)
{
	struct bt_head h;
	static const char *const not_head[] = {
	    "GET / HTTP/1.1\r\n\r\n",	 "HEA / HTTP/1.1\r\n\r\n",   "HEADX / HTTP/1.1\r\n\r\n",
	    "head / HTTP/1.1\r\n\r\n",	 "XHEAD / HTTP/1.1\r\n\r\n", "HEAT / HTTP/1.1\r\n\r\n",
	    "GET HEAD HTTP/1.1\r\n\r\n",
	};
	size_t i;

	(void)state;
	accepts(&h, BT_HEAD_REQ, "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(h.flags & BT_HEAD_F_HEAD_METHOD);
	assert_int_equal(bt_head_body(&h, 0), 0);
	/* a HEAD request may have a body of its own */
	accepts(&h, BT_HEAD_REQ, "HEAD / HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
	assert_true(h.flags & BT_HEAD_F_HEAD_METHOD);
	assert_int_equal(bt_head_body(&h, 0), 3);

	for (i = 0; i < sizeof(not_head) / sizeof(not_head[0]); i++) {
		accepts(&h, BT_HEAD_REQ, not_head[i]);
		if (h.flags & BT_HEAD_F_HEAD_METHOD)
			fail_msg("HEAD flag on \"%s\"", not_head[i]);
	}

	/* its response has no body, whatever it declares */
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 1), 0);
	assert_int_equal(bt_head_body(&h, 0), 1000);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 1), 0);
	assert_int_equal(bt_head_body(&h, 0), -1);
}

static void test_head_204_304_no_body(void **state)
{
	struct bt_head h;

	(void)state;
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
	assert_int_equal(h.status, 204);
	assert_int_equal(bt_head_body(&h, 0), 0);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 0);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
	assert_int_equal(h.status, 304);
	assert_int_equal(bt_head_body(&h, 0), 0);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 0);
	/* their neighbours are ordinary */
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 205 Reset Content\r\nContent-Length: 10\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 10);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 305 x\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), -1);
}

static void test_head_response_without_length(void **state)
{
	struct bt_head h;

	(void)state;
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
	assert_false(h.flags & BT_HEAD_F_CL);
	assert_int_equal(bt_head_body(&h, 0), -1);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.0 500 Oops\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), -1);
	/* a head not finished has no body length either */
	assert_int_equal(head_str(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"),
			 BT_HS_LINE);
	assert_int_equal(bt_head_body(&h, 0), -1);
	assert_int_equal(head_str(&h, BT_HEAD_REQ, "GET / HTTP/1.1\r\n\r"), BT_HS_END_LF);
	assert_int_equal(bt_head_body(&h, 0), -1);
}

static void test_head_interim_fails(void **state)
{
	struct bt_head h;

	(void)state;
	rejects(BT_HEAD_RESP, "HTTP/1.1 100 Continue\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 199\r\n\r\n");
	/* already at the start line's CR */
	assert_int_equal(head_str(&h, BT_HEAD_RESP, "HTTP/1.1 100 Continue\r"), BT_HS_FAIL);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200\r\n\r\n");
	assert_int_equal(h.status, 200);
}

static void test_head_connect_fails(void **state)
{
	struct bt_head h;

	(void)state;
	rejects(BT_HEAD_REQ, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
	assert_int_equal(head_str(&h, BT_HEAD_REQ, "CONNECT "), BT_HS_FAIL);
	/* only the method CONNECT (methods are case-sensitive: so is proto/http1.c) */
	accepts(&h, BT_HEAD_REQ, "CONNECTX h:443 HTTP/1.1\r\n\r\n");
	accepts(&h, BT_HEAD_REQ, "CONNEC h:443 HTTP/1.1\r\n\r\n");
	accepts(&h, BT_HEAD_REQ, "XCONNECT h:443 HTTP/1.1\r\n\r\n");
	accepts(&h, BT_HEAD_REQ, "connect h:443 HTTP/1.1\r\n\r\n");
	accepts(&h, BT_HEAD_REQ, "GET CONNECT HTTP/1.1\r\n\r\n");
}

static void test_head_codings_fail(void **state)
{
	static const char *const fields[] = {
	    "Transfer-Encoding: chunked",  "TRANSFER-ENCODING: chunked", "transfer-encoding: gzip",
	    "Transfer-Encoding: identity", "Transfer-Encoding:",	 "Content-Encoding: gzip",
	    "CONTENT-ENCODING: br",	   "content-encoding: identity", "Content-Encoding:",
	};
	char buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n%s\r\n\r\n", fields[i]);
		rejects(BT_HEAD_RESP, buf);
		/* with a Content-Length before or after it */
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n%s\r\n\r\n",
			 fields[i]);
		rejects(BT_HEAD_RESP, buf);
		snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\n%s\r\nContent-Length: 5\r\n\r\n",
			 fields[i]);
		rejects(BT_HEAD_REQ, buf);
		/* even where the response has no body */
		snprintf(buf, sizeof(buf), "HTTP/1.1 204 No Content\r\n%s\r\n\r\n", fields[i]);
		rejects(BT_HEAD_RESP, buf);
	}
}

static void test_head_duplicate_content_length_fails(void **state)
{
	(void)state;
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n");
	rejects(BT_HEAD_REQ,
		"POST / HTTP/1.1\r\nContent-Length: 5\r\nHost: h\r\nCONTENT-LENGTH: 5\r\n\r\n");
}

static void test_head_content_length_ows(void **state)
{
	struct bt_head h;

	(void)state;
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length:17\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 17);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: \t 17 \t \r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 17);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length:\t17\t\r\nA: b\r\n\r\n");
	assert_int_equal(bt_head_body(&h, 0), 17);
}

static void test_head_content_length_bad(void **state)
{
	static const char *const values[] = {
	    "",
	    " ",
	    " \t ",
	    "5,5",
	    "5, 5",
	    "5 ,5",
	    ",5",
	    "5,",
	    "+5",
	    "-5",
	    "5 5",
	    "0x10",
	    "5a",
	    "a5",
	    "1e3",
	    "5.0",
	    "12345678901234567890",  /* 20 digits */
	    "00000000000000000000",  /* 20 digits, small value */
	    "123456789012345678901", /* 21 */
	    "5\x0b",
	    "\x0b"
	    "5",
	};
	char buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length:%s\r\n\r\n",
			 values[i]);
		rejects(BT_HEAD_RESP, buf);
		snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n",
			 values[i]);
		rejects(BT_HEAD_REQ, buf);
	}
}

/* ---- line syntax ---- */

static void test_head_bare_lf_fails(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 200 OK\n\r\n",
	    "HTTP/1.1 200 OK\r\n\n",
	    "HTTP/1.1 200 OK\r\nA: b\n\r\n",
	    "HTTP/1.1 200 OK\r\nA: b\nc\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nA\n: b\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5 \n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length:\n5\r\n\r\n",
	    "HTTP/1.1 200 O\nK\r\n\r\n",
	    "HTTP/1.1 200\n\r\n",
	    "\nHTTP/1.1 200 OK\r\n\r\n",
	};
	static const char *const req[] = {
	    "GET / HTTP/1.1\n\r\n",
	    "GET / HTTP/1.1\r\n\n",
	    "GET / HTTP/1.1\r\nHost: h\n\r\n",
	    "GET /\n HTTP/1.1\r\n\r\n",
	    "GE\nT / HTTP/1.1\r\n\r\n",
	};
	struct bt_head h;
	size_t i, used;
	const char *s;

	(void)state;
	for (i = 0; i < sizeof(resp) / sizeof(resp[0]); i++)
		rejects(BT_HEAD_RESP, resp[i]);
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		rejects(BT_HEAD_REQ, req[i]);
	/* it fails at the LF itself */
	s = "HTTP/1.1 200 OK\r\nA: b\n\r\n";
	assert_int_equal(head_feed(&h, BT_HEAD_RESP, s, strlen(s), &used), BT_HS_FAIL);
	assert_int_equal(used, strchr(s, 'b') - s + 2);
}

static void test_head_obs_fold_fails(void **state)
{
	(void)state;
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n 5\r\n\r\n");
	rejects(BT_HEAD_REQ, "GET / HTTP/1.1\r\n Host: h\r\n\r\n");
	rejects(BT_HEAD_REQ, "GET / HTTP/1.1\r\n\t\r\n\r\n");
}

static void test_head_nul_fails(void **state)
{
	static const char resp_value[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
	static const char resp_name[] = "HTTP/1.1 200 OK\r\nA\0: b\r\n\r\n";
	static const char resp_reason[] = "HTTP/1.1 200 O\0K\r\n\r\n";
	static const char resp_cl[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\0\r\n\r\n";
	static const char resp_line[] = "HTTP/1.1 200 OK\r\n\0\r\n\r\n";
	static const char req_target[] = "GET /a\0b HTTP/1.1\r\n\r\n";
	static const char req_method[] = "G\0T / HTTP/1.1\r\n\r\n";
	static const char req_value[] = "GET / HTTP/1.1\r\nHost: \0\r\n\r\n";

	(void)state;
	rejects_n(BT_HEAD_RESP, resp_value, sizeof(resp_value) - 1);
	rejects_n(BT_HEAD_RESP, resp_name, sizeof(resp_name) - 1);
	rejects_n(BT_HEAD_RESP, resp_reason, sizeof(resp_reason) - 1);
	rejects_n(BT_HEAD_RESP, resp_cl, sizeof(resp_cl) - 1);
	rejects_n(BT_HEAD_RESP, resp_line, sizeof(resp_line) - 1);
	rejects_n(BT_HEAD_REQ, req_target, sizeof(req_target) - 1);
	rejects_n(BT_HEAD_REQ, req_method, sizeof(req_method) - 1);
	rejects_n(BT_HEAD_REQ, req_value, sizeof(req_value) - 1);
}

static void test_head_bare_cr_fails(void **state)
{
	(void)state;
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nA: \r\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 5\r5\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 O\rK\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\n\r\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nA\r: b\r\n\r\n");
	rejects(BT_HEAD_REQ, "GET /a\rb HTTP/1.1\r\n\r\n");
	rejects(BT_HEAD_REQ, "GET / HTTP/1.1\r\r\n\r\n");
}

static void test_head_field_name_syntax(void **state)
{
	struct bt_head h;

	(void)state;
	/* whitespace before the colon */
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nA : b\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length\t: 5\r\n\r\n");
	/* an empty name */
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\n: b\r\n\r\n");
	rejects(BT_HEAD_REQ, "GET / HTTP/1.1\r\n:\r\n\r\n");
	/* no colon at all */
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nAb\r\n\r\n");
	/* not a token */
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nA(b): c\r\n\r\n");
	rejects(BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nA\x80: c\r\n\r\n");
	/* tokens, empty values and colons in values are fine */
	accepts(
	    &h, BT_HEAD_RESP,
	    "HTTP/1.1 200 OK\r\nX-a!#$%&'*+-.^_`|~09: v\r\nB:\r\nC: a:b: c\r\nD: \x80\x7f\x01\t\r\n"
	    "\r\n");
	assert_int_equal(bt_head_body(&h, 0), -1);
}

static void test_head_status_line_forms(void **state)
{
	static const char *const bad[] = {
	    "HTTP/1.1 20\r\n\r\n",	   "HTTP/1.1 600 x\r\n\r\n",
	    "HTTP/2 200 OK\r\n\r\n",	   "HTTP/2.0 200 OK\r\n\r\n",
	    "HTTP/1.1 200OK\r\n\r\n",	   "HTTP/1.1  200 OK\r\n\r\n",
	    "HTTP/1.x 200\r\n\r\n",	   "http/1.1 200 OK\r\n\r\n",
	    "HTTP/1.1 2000 OK\r\n\r\n",	   "HTTP/1.1 099 x\r\n\r\n",
	    "HTTP/1.1 2x0 x\r\n\r\n",	   "HTTP/1.1\t200 OK\r\n\r\n",
	    "HTTP/1.1 200\tOK\r\n\r\n",	   "HTTP/1.1 200 O\x01K\r\n\r\n",
	    "HTTP/1.1 200 O\x7fK\r\n\r\n", "HTTP/1.1\r\n\r\n",
	    " HTTP/1.1 200 OK\r\n\r\n",	   "\r\nHTTP/1.1 200 OK\r\n\r\n",
	};
	struct bt_head h;
	size_t i;

	(void)state;
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200\r\n\r\n");
	assert_int_equal(h.status, 200);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 \r\n\r\n");
	assert_int_equal(h.status, 200);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(h.status, 200);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.0 404 Not Found\r\n\r\n");
	assert_int_equal(h.status, 404);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.9 599 a\tb \x80\xff\r\n\r\n");
	assert_int_equal(h.status, 599);
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200  two  spaces \r\n\r\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rejects(BT_HEAD_RESP, bad[i]);
}

static void test_head_request_line_forms(void **state)
{
	static const char *const bad[] = {
	    "ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1\r\n\r\n", /* a 21-character method */
	    " / HTTP/1.1\r\n\r\n",
	    "GE@T / HTTP/1.1\r\n\r\n",
	    "GET  / HTTP/1.1\r\n\r\n",
	    "GET  HTTP/1.1\r\n\r\n", /* no target */
	    "GET / HTTP/1.x\r\n\r\n",
	    "GET / HTTP/1.1 \r\n\r\n",
	    "GET /  HTTP/1.1\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n",
	    "GET / HTTP/1.10\r\n\r\n",
	    "GET / HTTP/1.\r\n\r\n",
	    "GET / http/1.1\r\n\r\n",
	    "GET /\r\n\r\n",
	    "GET\r\n\r\n",
	    "GET /a\tb HTTP/1.1\r\n\r\n",
	    "GET /a\x7f HTTP/1.1\r\n\r\n",
	    "GET\t/ HTTP/1.1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n\r\n",
	    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	    "\r\nGET / HTTP/1.1\r\n\r\n",
	};
	struct bt_head h;
	size_t i;

	(void)state;
	accepts(&h, BT_HEAD_REQ, "ABCDEFGHIJKLMNOPQRST / HTTP/1.1\r\n\r\n"); /* 20 characters */
	accepts(&h, BT_HEAD_REQ, "A / HTTP/1.1\r\n\r\n");
	accepts(&h, BT_HEAD_REQ, "!#$%&'*+-.^_`|~09az * HTTP/1.0\r\n\r\n");
	accepts(&h, BT_HEAD_REQ, "GET http://h/a?b=c#d HTTP/1.1\r\n\r\n");
	accepts(&h, BT_HEAD_REQ, "GET /\x80\xff HTTP/1.9\r\n\r\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rejects(BT_HEAD_REQ, bad[i]);
}

/* ---- the request hash ---- */

static void test_head_path_hash_fnv1a(void **state)
{
	(void)state;
	/* FNV-1a 32-bit test vectors */
	assert_int_equal(bt_path_hash("", 0), 0x811c9dc5u);
	assert_int_equal(bt_path_hash("a", 1), 0xe40c292cu);
	assert_int_equal(bt_path_hash("foobar", 6), 0xbf9cf968u);
}

/* Asserts that request line @line (no CRLF) hashes as the @n bytes at @key. */
static void hashes_as(const char *line, const char *key)
{
	struct bt_head h;
	char buf[256];

	snprintf(buf, sizeof(buf), "%s\r\nHost: h\r\nContent-Length: 3\r\n\r\n", line);
	accepts(&h, BT_HEAD_REQ, buf);
	if (h.hash != bt_path_hash(key, strlen(key)))
		fail_msg("\"%s\" does not hash as \"%s\"", line, key);
}

static void test_head_request_path_hash(void **state)
{
	static const char *const keys[] = {
	    "GET /", "GET /a", "POST /a", "GET /b", "HEAD /x", "GET ",
	};
	struct bt_head h;
	size_t i, j;

	(void)state;
	/* the method, its space and the target up to a query or fragment */
	hashes_as("GET / HTTP/1.1", "GET /");
	hashes_as("GET /a HTTP/1.1", "GET /a");
	hashes_as("POST /v1/chat/completions?x=1 HTTP/1.1", "POST /v1/chat/completions");
	hashes_as("GET /a?b=c&d=e HTTP/1.1", "GET /a");
	hashes_as("GET /a? HTTP/1.1", "GET /a");
	hashes_as("GET /a#frag HTTP/1.1", "GET /a");
	hashes_as("GET /a#f?q HTTP/1.1", "GET /a");
	hashes_as("GET /a?q#f HTTP/1.1", "GET /a");
	hashes_as("GET ?q HTTP/1.1", "GET ");
	hashes_as("GET http://h:8/p/q?r HTTP/1.0", "GET http://h:8/p/q");
	hashes_as("OPTIONS * HTTP/1.1", "OPTIONS *");
	hashes_as("HEAD /x HTTP/1.0", "HEAD /x");
	hashes_as("ABCDEFGHIJKLMNOPQRST /\x80 HTTP/1.1", "ABCDEFGHIJKLMNOPQRST /\x80");
	/* what tells requests apart does */
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		for (j = 0; j < i; j++)
			assert_int_not_equal(bt_path_hash(keys[i], strlen(keys[i])),
					     bt_path_hash(keys[j], strlen(keys[j])));
	/* the version and the fields do not enter it */
	accepts(&h, BT_HEAD_REQ, "GET /a?z HTTP/1.0\r\nHost: other\r\nContent-Length: 5\r\n\r\n");
	assert_int_equal(h.hash, bt_path_hash("GET /a", 6));
}

static void record_hash(void *ctx, struct http_exchange *ex)
{
	uint32_t *out = ctx;

	assert_true(ex->has_request);
	*out = ex->req.path_hash;
}

/* proto/http1.c stores the same hash for the same request. */
static void test_head_path_hash_matches_http1(void **state)
{
	static const char *const heads[] = {
	    "PATCH /items/7?v=2 HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET /a#b HTTP/1.1\r\n\r\n",
	    "GET ?x HTTP/1.1\r\n\r\n",
	    "M http://h/x/y HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
	};
	struct http1_conn *c;
	uint32_t stored;
	struct bt_head h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		accepts(&h, BT_HEAD_REQ, heads[i]);
		stored = 0;
		c = http1_conn_new(NULL, record_hash, &stored);
		assert_non_null(c);
		assert_int_equal(http1_conn_feed(c, BT_DIR_SEND, (const uint8_t *)heads[i],
						 strlen(heads[i]), 1, 0),
				 0);
		http1_conn_close(c, 2);
		http1_conn_free(c);
		assert_int_equal(stored, h.hash);
	}
	assert_int_equal(h.hash, bt_path_hash("M http://h/x/y", 14));
}

/* ---- field names ---- */

static void test_head_name_lookalikes(void **state)
{
	static const char *const fields[] = {
	    "content-lengthx: abc",
	    "content-lengt: abc",
	    "Content-Lengths: -1",
	    "xcontent-length: 1,2",
	    "content_length: x",
	    "Content-Type: text/plain",
	    "Content-: x",
	    "content-length-extra-long-name: x",
	    "transfer-encodings: chunked",
	    "transfer-encodin: chunked",
	    "Transfer-Encoding-X: chunked",
	    "content-encodingx: gzip",
	    "content-encodin: gzip",
	    "X-Content-Encoding: gzip",
	    "Accept-Encoding: gzip",
	    "TE: trailers",
	};
	struct bt_head h;
	char buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n%s\r\n\r\n", fields[i]);
		accepts(&h, BT_HEAD_RESP, buf);
		if (h.flags & BT_HEAD_F_CL)
			fail_msg("read as Content-Length: \"%s\"", fields[i]);
		assert_int_equal(bt_head_body(&h, 0), -1);
		snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\n%s\r\n\r\n", fields[i]);
		accepts(&h, BT_HEAD_REQ, buf);
		assert_int_equal(bt_head_body(&h, 0), 0);
		/* so a real Content-Length after it is no duplicate */
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n%s\r\nContent-Length: 9\r\n\r\n",
			 fields[i]);
		accepts(&h, BT_HEAD_RESP, buf);
		assert_int_equal(bt_head_body(&h, 0), 9);
	}
}

/* ---- where the head ends ---- */

static void test_head_after_done_or_fail(void **state)
{
	struct bt_head h, before;
	static const uint8_t more[] = {'\r', '\n', 'G', 0, ' ', ':', '5', 0xff};
	size_t i;

	(void)state;
	accepts(&h, BT_HEAD_RESP, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
	before = h;
	for (i = 0; i < sizeof(more); i++) {
		assert_int_equal(bt_head_byte(&h, more[i]), 0);
		assert_memory_equal(&h, &before, sizeof(h));
	}
	assert_int_equal(bt_head_body(&h, 0), 5);

	assert_int_equal(head_str(&h, BT_HEAD_REQ, "GET / HTTP/1.1\n"), BT_HS_FAIL);
	before = h;
	for (i = 0; i < sizeof(more); i++) {
		assert_int_equal(bt_head_byte(&h, more[i]), 0);
		assert_memory_equal(&h, &before, sizeof(h));
	}
	assert_int_equal(bt_head_body(&h, 0), -1);
}

static void test_head_done_at_final_lf(void **state)
{
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	const char *pipelined = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
	struct bt_head h;
	size_t i, used;

	(void)state;
	bt_head_init(&h, BT_HEAD_RESP);
	for (i = 0; i < strlen(head); i++) {
		int more = bt_head_byte(&h, (uint8_t)s[i]);

		assert_int_equal(h.len, i + 1);
		if (i + 1 < strlen(head)) {
			assert_int_equal(more, 1);
			assert_int_not_equal(h.state, BT_HS_DONE);
		} else {
			assert_int_equal(more, 0);
			assert_int_equal(h.state, BT_HS_DONE);
		}
	}
	/* the body is not read */
	assert_int_equal(head_feed(&h, BT_HEAD_RESP, s, strlen(s), &used), BT_HS_DONE);
	assert_int_equal(used, strlen(head));
	assert_int_equal(h.len, strlen(head));
	assert_int_equal(bt_head_body(&h, 0), 5);

	/* nor the next head */
	assert_int_equal(head_feed(&h, BT_HEAD_REQ, pipelined, strlen(pipelined), &used),
			 BT_HS_DONE);
	assert_int_equal(used, strlen("GET /a HTTP/1.1\r\n\r\n"));
	assert_int_equal(h.len, used);
	assert_int_equal(h.hash, bt_path_hash("GET /a", 6));

	/* the empty line's CR alone is not the end */
	assert_int_equal(head_str(&h, BT_HEAD_REQ, "GET / HTTP/1.1\r\n\r"), BT_HS_END_LF);
	assert_int_equal(h.len, 17);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_head_response_content_length),
	    cmocka_unit_test(test_head_request_without_body),
	    cmocka_unit_test(test_head_request_content_length),
	    cmocka_unit_test(test_head_head_method),
	    cmocka_unit_test(test_head_204_304_no_body),
	    cmocka_unit_test(test_head_response_without_length),
	    cmocka_unit_test(test_head_interim_fails),
	    cmocka_unit_test(test_head_connect_fails),
	    cmocka_unit_test(test_head_codings_fail),
	    cmocka_unit_test(test_head_duplicate_content_length_fails),
	    cmocka_unit_test(test_head_content_length_ows),
	    cmocka_unit_test(test_head_content_length_bad),
	    cmocka_unit_test(test_head_bare_lf_fails),
	    cmocka_unit_test(test_head_obs_fold_fails),
	    cmocka_unit_test(test_head_nul_fails),
	    cmocka_unit_test(test_head_bare_cr_fails),
	    cmocka_unit_test(test_head_field_name_syntax),
	    cmocka_unit_test(test_head_status_line_forms),
	    cmocka_unit_test(test_head_request_line_forms),
	    cmocka_unit_test(test_head_path_hash_fnv1a),
	    cmocka_unit_test(test_head_request_path_hash),
	    cmocka_unit_test(test_head_path_hash_matches_http1),
	    cmocka_unit_test(test_head_name_lookalikes),
	    cmocka_unit_test(test_head_after_done_or_fail),
	    cmocka_unit_test(test_head_done_at_final_lf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
