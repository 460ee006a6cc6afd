// SPDX-License-Identifier: MIT
/* The GenAI annotator table: row order, per-row state, errors, and the built-in Bedrock row. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "genai/genai.h"
#include "proto/http.h"
#include "span/span.h"

static void add_header(struct http_msg *m, const char *name, const char *value)
{
	m->headers = realloc(m->headers, (m->n_headers + 1) * sizeof(*m->headers));
	assert_non_null(m->headers);
	m->headers[m->n_headers].name = strdup(name);
	m->headers[m->n_headers].value = strdup(value);
	m->n_headers++;
}

static void set_body(struct http_msg *m, const char *body)
{
	m->body = (uint8_t *)strdup(body);
	m->body_len = m->wire_body_len = strlen(body);
}

/* A complete exchange: POST @target to @host, 200 with @resp_body. */
static void mkex(struct http_exchange *ex, const char *host, const char *target,
		 const char *req_body, const char *resp_body)
{
	memset(ex, 0, sizeof(*ex));
	ex->version = 11;
	ex->has_request = ex->has_response = true;
	ex->req.method = strdup("POST");
	ex->req.target = strdup(target);
	ex->req.authority = strdup(host);
	add_header(&ex->req, "host", host);
	add_header(&ex->req, "content-type", "application/json");
	set_body(&ex->req, req_body);
	ex->req.start_ns = 1000;
	ex->req.end_ns = 2000;
	ex->req.complete = true;
	ex->resp.status = 200;
	add_header(&ex->resp, "content-type", "application/json");
	set_body(&ex->resp, resp_body);
	ex->resp.start_ns = 3000;
	ex->resp.end_ns = 5000;
	ex->resp.complete = true;
}

/* ---- fake rows ---- */

struct row_state {
	const char *tag;
	int calls;
};

static int n_new, n_free;
static int fail_at = -1; /* the state_a call (from 0) that fails */

static void *state_a(const struct genai_opts *opts)
{
	struct row_state *st;

	assert_non_null(opts);
	if (n_new == fail_at) {
		errno = EMFILE;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	st->tag = opts->capture_content ? "a+content" : "a";
	n_new++;
	return st;
}

static void state_release(void *state)
{
	n_free++;
	free(state);
}

static bool match_path_a(const struct http_exchange *ex)
{
	return ex->has_request && !strncmp(ex->req.target, "/a", 2);
}

static bool match_any(const struct http_exchange *ex)
{
	(void)ex;
	return true;
}

static int annotate_a(void *state, const struct http_exchange *ex, struct bt_span *span,
		      struct bt_span ***children, size_t *n_children)
{
	struct row_state *st = state;

	(void)ex;
	(void)children;
	(void)n_children;
	st->calls++;
	bt_span_set_name(span, st->tag);
	span->usage.has_tokens = true;
	span->usage.input_tokens = st->calls;
	return 0;
}

/* a stateless row that fails: its -errno comes back, the span is still its */
static int annotate_fail(void *state, const struct http_exchange *ex, struct bt_span *span,
			 struct bt_span ***children, size_t *n_children)
{
	(void)ex;
	(void)children;
	(void)n_children;
	assert_null(state);
	bt_span_set_name(span, "b");
	return -ENOMEM;
}

static const struct genai_annotator row_a = {
    .name = "a",
    .state_new = state_a,
    .state_free = state_release,
    .match = match_path_a,
    .annotate = annotate_a,
};

static const struct genai_annotator row_b = {
    .name = "b",
    .match = match_any,
    .annotate = annotate_fail,
};

static void test_genai_first_matching_row_annotates(void **state)
{
	static const struct genai_annotator *const rows[] = {&row_a, &row_b};
	struct genai_opts go = {.capture_content = true};
	struct bt_span **children = NULL, *span;
	struct http_exchange ex;
	size_t n_children = 0;
	struct genai *g;
	int err = 1;

	(void)state;
	n_new = n_free = 0;
	g = genai_new_table(rows, 2, &go);
	assert_non_null(g);
	assert_int_equal(n_new, 1);

	mkex(&ex, "h", "/a/x", "{}", "{}");
	span = bt_span_new("POST", BT_KIND_CLIENT);
	assert_ptr_equal(genai_annotate(g, &ex, span, &children, &n_children, &err), &row_a);
	assert_int_equal(err, 0);
	assert_string_equal(span->name, "a+content");
	assert_int_equal(span->usage.input_tokens, 1);
	/* the row's state lives across exchanges */
	assert_ptr_equal(genai_annotate(g, &ex, span, &children, &n_children, &err), &row_a);
	assert_int_equal(span->usage.input_tokens, 2);
	bt_span_free(span);
	http_exchange_clear(&ex);

	mkex(&ex, "h", "/b", "{}", "{}");
	span = bt_span_new("POST", BT_KIND_CLIENT);
	assert_ptr_equal(genai_annotate(g, &ex, span, &children, &n_children, &err), &row_b);
	assert_int_equal(err, -ENOMEM);
	assert_string_equal(span->name, "b");
	assert_int_equal(n_children, 0);
	bt_span_free(span);
	http_exchange_clear(&ex);

	genai_free(g);
	assert_int_equal(n_free, 1);
}

static void test_genai_no_row_matches(void **state)
{
	static const struct genai_annotator *const rows[] = {&row_a};
	struct bt_span **children = NULL, *span;
	struct http_exchange ex;
	size_t n_children = 0;
	struct genai *g;
	int err = 1;

	(void)state;
	g = genai_new_table(rows, 1, NULL);
	assert_non_null(g);
	mkex(&ex, "h", "/other", "{}", "{}");
	span = bt_span_new("POST", BT_KIND_CLIENT);
	assert_null(genai_annotate(g, &ex, span, &children, &n_children, &err));
	assert_int_equal(err, 0);
	assert_string_equal(span->name, "POST");
	assert_false(span->usage.has_tokens);
	/* no table at all: nothing is a GenAI call */
	assert_null(genai_annotate(NULL, &ex, span, &children, &n_children, &err));
	bt_span_free(span);
	http_exchange_clear(&ex);
	genai_free(g);
}

/* a row whose state cannot be made fails the table, with that row's errno; others are freed */
static void test_genai_state_failure(void **state)
{
	static const struct genai_annotator *const rows[] = {&row_a, &row_b, &row_a};

	(void)state;
	n_new = n_free = 0;
	fail_at = 1;
	errno = 0;
	assert_null(genai_new_table(rows, 3, NULL));
	assert_int_equal(errno, EMFILE);
	fail_at = -1;
	assert_int_equal(n_new, 1);
	assert_int_equal(n_free, 1);
}

/* the built-in table: Bedrock is its first row and annotates a Converse call */
static void test_genai_builtin_bedrock_row(void **state)
{
	static const char req[] =
	    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Say this is a test\"}]}],"
	    "\"inferenceConfig\":{\"maxTokens\":10,\"temperature\":0.8}}";
	static const char resp[] =
	    "{\"metrics\":{\"latencyMs\":608},\"output\":{\"message\":{\"content\":[{\"text\":"
	    "\"Hi\"}],\"role\":\"assistant\"}},\"stopReason\":\"max_tokens\","
	    "\"usage\":{\"inputTokens\":8,\"outputTokens\":10,\"totalTokens\":18}}";
	struct bt_span **children = NULL, *span;
	const struct genai_annotator *row;
	const struct bt_attr *a;
	struct http_exchange ex;
	size_t n_children = 0;
	struct genai *g;
	int err = 1;

	(void)state;
	g = genai_new(NULL);
	assert_non_null(g);
	mkex(&ex, "bedrock-runtime.us-east-1.amazonaws.com",
	     "/model/amazon.titan-text-lite-v1/converse", req, resp);
	add_header(&ex.req, "authorization",
		   "AWS4-HMAC-SHA256 Credential=AKID/20250206/us-east-1/bedrock/aws4_request, "
		   "SignedHeaders=host, Signature=SIG");
	span = bt_span_new("POST", BT_KIND_CLIENT);
	row = genai_annotate(g, &ex, span, &children, &n_children, &err);
	assert_non_null(row);
	assert_string_equal(row->name, "bedrock");
	assert_int_equal(err, 0);
	assert_string_equal(span->name, "chat amazon.titan-text-lite-v1");
	a = bt_attrs_get(&span->attrs, "gen_ai.usage.input_tokens");
	assert_non_null(a);
	assert_int_equal(a->i, 8);
	assert_int_equal(n_children, 0);
	free(children);
	bt_span_free(span);
	http_exchange_clear(&ex);

	/* the same request to another host is no Bedrock call */
	mkex(&ex, "example.com", "/model/amazon.titan-text-lite-v1/converse", req, resp);
	span = bt_span_new("POST", BT_KIND_CLIENT);
	assert_null(genai_annotate(g, &ex, span, &children, &n_children, &err));
	bt_span_free(span);
	http_exchange_clear(&ex);
	genai_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_genai_first_matching_row_annotates),
	    cmocka_unit_test(test_genai_no_row_matches),
	    cmocka_unit_test(test_genai_state_failure),
	    cmocka_unit_test(test_genai_builtin_bedrock_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
