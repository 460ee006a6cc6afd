// SPDX-License-Identifier: MIT
/* HTTP span builder tests: exchanges built by hand, as the parsers would deliver them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
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

#include "proto/http.h"
#include "span/httpspan.h"
#include "span/span.h"
#include "span/stitch.h"

#include "lib/attrs.h"
#include "lib/http_msg.h"

/* A complete HTTP/1.1 client exchange: @method @target, Host @host, response @status. */
static void mkex(struct http_exchange *ex, const char *method, const char *target, const char *host,
		 int status)
{
	memset(ex, 0, sizeof(*ex));
	ex->version = 11;
	ex->has_request = true;
	ex->req.method = strdup(method);
	ex->req.target = strdup(target);
	if (host) {
		ex->req.authority = strdup(host);
		hdr_add(&ex->req, "host", host);
	}
	ex->req.start_ns = 1000;
	ex->req.end_ns = 2000;
	ex->req.complete = true;
	if (status) {
		ex->has_response = true;
		ex->resp.status = status;
		ex->resp.start_ns = 3000;
		ex->resp.end_ns = 5000;
		ex->resp.complete = true;
	}
}

static struct conn_peer peer4(void)
{
	struct conn_peer p = {
	    .known = true, .family = AF_INET, .local_port = 40000, .peer_port = 8080};

	inet_pton(AF_INET, "192.0.2.1", p.local_addr);
	inet_pton(AF_INET, "192.0.2.9", p.peer_addr);
	return p;
}

static void test_httpspan_client_times_and_attrs(void **state)
{
	struct conn_peer p = peer4();
	struct http_exchange ex;
	struct bt_span *s;

	(void)state;
	mkex(&ex, "GET", "/a/b?c=d#frag", "example.org:8080", 200);
	ex.resp.wire_body_len = 42;
	s = httpspan_build(&ex, &p, false, 9999);
	assert_non_null(s);
	assert_string_equal(s->name, "GET");
	assert_int_equal(s->kind, BT_KIND_CLIENT);
	assert_int_equal(s->start_ns, bt_mono_to_unix_ns(1000));
	assert_int_equal(s->end_ns, bt_mono_to_unix_ns(5000));
	assert_string_equal(sattr(s, "url.full"), "http://example.org:8080/a/b?c=d");
	assert_string_equal(sattr(s, "server.address"), "example.org");
	assert_int_equal(iattr(s, "server.port"), 8080);
	assert_string_equal(sattr(s, "network.peer.address"), "192.0.2.9");
	assert_int_equal(iattr(s, "http.response.body.size"), 42);
	assert_int_equal(iattr(s, "http.request.body.size"), 0);
	assert_null(attr(s, "client.address"));
	bt_span_free(s);
	http_exchange_clear(&ex);
}

static void test_httpspan_no_host_uses_peer(void **state)
{
	struct conn_peer p = peer4();
	struct http_exchange ex;
	struct bt_span *s;

	(void)state;
	mkex(&ex, "GET", "/", NULL, 200);
	ex.version = 10;
	s = httpspan_build(&ex, &p, true, 0);
	assert_string_equal(sattr(s, "url.full"), "https://192.0.2.9:8080/");
	assert_string_equal(sattr(s, "server.address"), "192.0.2.9");
	assert_int_equal(iattr(s, "server.port"), 8080);
	assert_string_equal(sattr(s, "network.protocol.version"), "1.0");
	bt_span_free(s);
	/* and with nothing known at all: no URL is made up */
	s = httpspan_build(&ex, NULL, true, 0);
	assert_null(attr(s, "url.full"));
	assert_null(attr(s, "server.address"));
	bt_span_free(s);
	http_exchange_clear(&ex);
}

static void test_httpspan_ipv6_authority_and_absolute_target(void **state)
{
	struct http_exchange ex;
	struct bt_span *s;

	(void)state;
	mkex(&ex, "GET", "/", "[2001:db8::1]:8443", 200);
	s = httpspan_build(&ex, NULL, true, 0);
	assert_string_equal(sattr(s, "server.address"), "2001:db8::1");
	assert_int_equal(iattr(s, "server.port"), 8443);
	assert_string_equal(sattr(s, "url.full"), "https://[2001:db8::1]:8443/");
	bt_span_free(s);
	http_exchange_clear(&ex);

	/* a proxy request names its URL in the target */
	mkex(&ex, "GET", "http://u:pw@origin.example/p?sig=abc&x=1", NULL, 200);
	s = httpspan_build(&ex, NULL, false, 0);
	assert_string_equal(sattr(s, "url.full"),
			    "http://REDACTED:REDACTED@origin.example/p?sig=REDACTED&x=1");
	assert_string_equal(sattr(s, "server.address"), "origin.example");
	assert_int_equal(iattr(s, "server.port"), 80);
	bt_span_free(s);
	http_exchange_clear(&ex);
}

static void test_httpspan_unknown_method(void **state)
{
	struct http_exchange ex;
	struct bt_span *s;

	(void)state;
	mkex(&ex, "PROPFIND", "/", "h", 207);
	s = httpspan_build(&ex, NULL, false, 0);
	assert_string_equal(s->name, "HTTP");
	assert_string_equal(sattr(s, "http.request.method"), "_OTHER");
	assert_string_equal(sattr(s, "http.request.method_original"), "PROPFIND");
	bt_span_free(s);
	http_exchange_clear(&ex);
}

static void test_httpspan_status_error_rules(void **state)
{
	struct http_exchange ex;
	struct bt_span *s;

	(void)state;
	mkex(&ex, "GET", "/", "h", 404);
	s = httpspan_build(&ex, NULL, false, 0);
	assert_int_equal(s->status, BT_STATUS_ERROR);
	assert_string_equal(sattr(s, "error.type"), "404");
	bt_span_free(s);
	ex.server_side = true;
	s = httpspan_build(&ex, NULL, false, 0);
	assert_int_equal(s->kind, BT_KIND_SERVER);
	assert_int_equal(s->status, BT_STATUS_UNSET);
	assert_null(attr(s, "error.type"));
	bt_span_free(s);
	ex.resp.status = 503;
	s = httpspan_build(&ex, NULL, false, 0);
	assert_int_equal(s->status, BT_STATUS_ERROR);
	assert_string_equal(sattr(s, "error.type"), "503");
	bt_span_free(s);
	http_exchange_clear(&ex);
}

static void test_httpspan_parse_error_vs_capture_loss(void **state)
{
	struct http_exchange ex;
	struct bt_span *s;

	(void)state;
	mkex(&ex, "GET", "/", "h", 200);
	ex.resp.error = "corrupt content-encoding data";
	s = httpspan_build(&ex, NULL, false, 0);
	assert_int_equal(s->status, BT_STATUS_ERROR);
	assert_string_equal(s->status_message, "corrupt content-encoding data");
	assert_string_equal(sattr(s, "error.type"), "bedtrace.http.parse_error");
	bt_span_free(s);
	/* the same error on bytes the capture lost is our problem, not the application's */
	ex.resp.lost_bytes = 10;
	ex.resp.truncated = true;
	s = httpspan_build(&ex, NULL, false, 0);
	assert_int_equal(s->status, BT_STATUS_UNSET);
	assert_true(attr(s, "bedtrace.capture.truncated")->b);
	assert_int_equal(iattr(s, "bedtrace.capture.lost_bytes"), 10);
	assert_string_equal(sattr(s, "bedtrace.http.error"), "corrupt content-encoding data");
	bt_span_free(s);
	http_exchange_clear(&ex);
}

static void test_httpspan_incomplete_ends_at_last_byte(void **state)
{
	struct http_exchange ex;
	struct bt_span *s;

	(void)state;
	mkex(&ex, "POST", "/", "h", 0);
	ex.incomplete = true;
	s = httpspan_build(&ex, NULL, false, 7777);
	assert_true(attr(s, "bedtrace.http.incomplete")->b);
	assert_null(attr(s, "http.response.status_code"));
	assert_null(attr(s, "http.response.body.size"));
	assert_int_equal(s->end_ns, bt_mono_to_unix_ns(7777));
	assert_int_equal(s->status, BT_STATUS_UNSET);
	bt_span_free(s);
	http_exchange_clear(&ex);
}

static void test_httpspan_headers_never_copied(void **state)
{
	struct http_exchange ex;
	struct bt_span *s;
	size_t i;

	(void)state;
	mkex(&ex, "GET", "/?api_key=SECRET1&X-Amz-Security-Token=SECRET2", "h", 200);
	hdr_add(&ex.req, "authorization", "SECRET3");
	hdr_add(&ex.req, "x-custom", "SECRET4");
	hdr_add(&ex.resp, "set-cookie", "SECRET5");
	s = httpspan_build(&ex, NULL, true, 0);
	for (i = 0; i < s->attrs.n; i++)
		if (s->attrs.v[i].type == BT_ATTR_STR && strstr(s->attrs.v[i].s, "SECRET"))
			fail_msg("%s = %s", s->attrs.v[i].key, s->attrs.v[i].s);
	bt_span_free(s);
	http_exchange_clear(&ex);
}

static void test_httpspan_traceparent_parse(void **state)
{
	uint8_t t[16], p[8];

	(void)state;
	assert_true(
	    httpspan_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", t, p));
	assert_int_equal(t[0], 0x4b);
	assert_int_equal(t[15], 0x36);
	assert_int_equal(p[0], 0x00);
	assert_int_equal(p[7], 0xb7);
	/* a later version may append fields */
	assert_true(httpspan_traceparent(
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what", t, p));
	assert_false(httpspan_traceparent(
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", t, p));
	assert_false(
	    httpspan_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", t, p));
	assert_false(
	    httpspan_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01", t, p));
	assert_false(
	    httpspan_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", t, p));
	assert_false(
	    httpspan_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", t, p));
	assert_false(httpspan_traceparent("00-4bf92f35", t, p));
	assert_false(httpspan_traceparent(NULL, t, p));
}

static bool zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static void collect_none(void *ctx, struct bt_span *span)
{
	(void)ctx;
	bt_span_free(span);
}

/* no stitcher or no traced call: the span starts a trace of its own, with no totals to join */
static void test_httpspan_place_new_trace(void **state)
{
	struct conn_origin o = {.pid = 1, .known = true, .call_id = 7, .root_id = 7};
	struct http_exchange ex;
	struct bt_span *s;

	(void)state;
	mkex(&ex, "GET", "/", "h", 200);
	s = httpspan_build(&ex, NULL, false, 0);
	assert_non_null(s);
	assert_int_equal(httpspan_place(NULL, s, &ex, &o), 0);
	assert_true(zero(s->parent_span_id, BT_SPAN_ID_LEN));
	assert_false(zero(s->trace_id, BT_TRACE_ID_LEN));
	bt_span_free(s);
	http_exchange_clear(&ex);
}

/* under the traced call that sent it; the usage of the span joins that call's root */
static void test_httpspan_place_under_call(void **state)
{
	struct stitcher *st = stitcher_new(collect_none, NULL, NULL);
	struct conn_origin o = {.pid = 1, .known = true, .call_id = 8, .root_id = 7};
	struct http_exchange ex;
	struct bt_span *s, *sib;

	(void)state;
	assert_non_null(st);
	mkex(&ex, "GET", "/", "h", 200);
	s = httpspan_build(&ex, NULL, false, 0);
	sib = bt_span_new("x", BT_KIND_INTERNAL);
	assert_non_null(s);
	assert_non_null(sib);
	assert_int_equal(httpspan_place(st, s, &ex, &o), 7);
	assert_false(zero(s->parent_span_id, BT_SPAN_ID_LEN));
	/* a second span under the same call gets the same parent and trace */
	assert_int_equal(stitcher_parent(st, sib, 8, 7, 1, 1), 0);
	assert_memory_equal(s->parent_span_id, sib->parent_span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(s->trace_id, sib->trace_id, BT_TRACE_ID_LEN);
	/* context lost: a trace of its own */
	o.known = false;
	assert_int_equal(httpspan_place(st, sib, &ex, &o), 0);
	bt_span_free(s);
	bt_span_free(sib);
	stitcher_free(st);
	http_exchange_clear(&ex);
}

/* a valid traceparent names the remote parent; its trace's totals are not ours */
static void test_httpspan_place_remote_parent(void **state)
{
	struct stitcher *st = stitcher_new(collect_none, NULL, NULL);
	struct conn_origin o = {.pid = 1, .known = true, .call_id = 8, .root_id = 7};
	uint8_t t[BT_TRACE_ID_LEN], p[BT_SPAN_ID_LEN];
	struct http_exchange ex;
	struct bt_span *s;
	const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

	(void)state;
	assert_non_null(st);
	mkex(&ex, "GET", "/", "h", 200);
	hdr_add(&ex.req, "traceparent", tp);
	assert_true(httpspan_traceparent(tp, t, p));
	s = httpspan_build(&ex, NULL, false, 0);
	assert_non_null(s);
	assert_int_equal(httpspan_place(st, s, &ex, &o), 0);
	assert_memory_equal(s->trace_id, t, BT_TRACE_ID_LEN);
	assert_memory_equal(s->parent_span_id, p, BT_SPAN_ID_LEN);
	bt_span_free(s);
	stitcher_free(st);
	http_exchange_clear(&ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_httpspan_client_times_and_attrs),
	    cmocka_unit_test(test_httpspan_no_host_uses_peer),
	    cmocka_unit_test(test_httpspan_ipv6_authority_and_absolute_target),
	    cmocka_unit_test(test_httpspan_unknown_method),
	    cmocka_unit_test(test_httpspan_status_error_rules),
	    cmocka_unit_test(test_httpspan_parse_error_vs_capture_loss),
	    cmocka_unit_test(test_httpspan_incomplete_ends_at_last_byte),
	    cmocka_unit_test(test_httpspan_headers_never_copied),
	    cmocka_unit_test(test_httpspan_traceparent_parse),
	    cmocka_unit_test(test_httpspan_place_new_trace),
	    cmocka_unit_test(test_httpspan_place_under_call),
	    cmocka_unit_test(test_httpspan_place_remote_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
