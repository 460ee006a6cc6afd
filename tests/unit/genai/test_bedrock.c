// SPDX-License-Identifier: MIT
/*
 * Bedrock recognition and span annotation, driven by the real recorded exchanges in
 * tests/fixtures/bedrock-cassettes plus synthetic exchanges for what they lack (SigV4 proxies,
 * retries, throttling, cache tokens, corrupt and truncated streams, knowledge bases).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "genai/bedrock.h"
#include "genai/bedrock_body.h"
#include "genai/prices.h"
#include "lib/usage.h"

#include "lib/attrs.h"
#include "lib/cassette.h"
#include "lib/esframe.h"
#include "lib/http_msg.h"

#define T0 1000000000000ull		  /* monotonic request start */
#define SPAN_START 1738818753000000000ull /* unix ns of the same instant */

struct run {
	struct http_exchange ex;
	struct bt_span *span;
	struct bt_span **children;
	size_t n_children;
	struct bedrock_ctx *ctx;
	bool own_ctx;
};

static struct bt_span *http_span(void)
{
	struct bt_span *s = bt_span_new("POST", BT_KIND_CLIENT);

	assert_non_null(s);
	bt_random_id(s->trace_id, sizeof(s->trace_id));
	s->start_ns = SPAN_START;
	s->end_ns = SPAN_START + 900000000ull;
	assert_int_equal(bt_attrs_set_str(&s->attrs, "http.request.method", "POST"), 0);
	return s;
}

static void run_exchange(struct run *r, struct bedrock_ctx *ctx)
{
	r->span = http_span();
	r->ctx = ctx;
	assert_true(bedrock_match(&r->ex));
	assert_int_equal(bedrock_annotate(ctx, &r->ex, r->span, &r->children, &r->n_children), 0);
}

static void run_cassette(struct run *r, const char *file, size_t idx, bool capture)
{
	struct bedrock_opts o = {.capture_content = capture};
	struct cassette c;

	memset(r, 0, sizeof(*r));
	assert_int_equal(cassette_load(file, &c), 0);
	assert_true(idx < c.n);
	cassette_exchange(&c.it[idx], &r->ex, T0);
	cassette_free(&c);
	r->own_ctx = true;
	run_exchange(r, bedrock_ctx_new(&o));
}

static void run_free(struct run *r)
{
	size_t i;

	for (i = 0; i < r->n_children; i++)
		bt_span_free(r->children[i]);
	free(r->children);
	bt_span_free(r->span);
	if (r->own_ctx)
		bedrock_ctx_free(r->ctx);
	http_exchange_clear(&r->ex);
}

static void assert_finish(const struct bt_span *s, const char *reason)
{
	const struct bt_attr *a = bt_attrs_get(&s->attrs, "gen_ai.response.finish_reasons");

	assert_non_null(a);
	assert_int_equal(a->type, BT_ATTR_STR_ARRAY);
	assert_int_equal(a->arr.n, 1);
	assert_string_equal(a->arr.v[0], reason);
}

static void assert_usage(const struct bt_span *s, int64_t in, int64_t out)
{
	assert_int_equal(iattr(s, "gen_ai.usage.input_tokens"), in);
	assert_int_equal(iattr(s, "gen_ai.usage.output_tokens"), out);
}

static void assert_cost(const struct bt_span *s, const char *model, int64_t in, int64_t out)
{
	struct price p;

	assert_int_equal(price_lookup(NULL, model, &p), 0);
	assert_true(fabs(dattr(s, "bedtrace.cost.usd") - (in * p.input + out * p.output) / 1e6) <
		    1e-12);
	assert_true(dattr(s, "bedtrace.cost.usd") > 0);
}

static void assert_common(const struct bt_span *s, const char *name, const char *op,
			  const char *aws_op, const char *model, const char *request_id)
{
	assert_string_equal(s->name, name);
	assert_string_equal(sattr(s, "gen_ai.provider.name"), "aws.bedrock");
	assert_string_equal(sattr(s, "gen_ai.operation.name"), op);
	assert_string_equal(sattr(s, "aws.bedrock.operation"), aws_op);
	assert_string_equal(sattr(s, "gen_ai.request.model"), model);
	assert_string_equal(sattr(s, "aws.request_id"), request_id);
	assert_string_equal(sattr(s, "cloud.region"), "us-east-1");
	assert_int_equal(iattr(s, "aws.sdk.attempt"), 1);
	assert_true(has(s, "aws.sdk.invocation_id"));
	assert_string_equal(sattr(s, "http.request.method"), "POST"); /* HTTP attributes stay */
}

/* Returns the parsed JSON of a content attribute; the caller deletes it. */
static cJSON *json_attr(const struct bt_span *s, const char *key)
{
	cJSON *j = cJSON_Parse(sattr(s, key));

	assert_non_null(j);
	return j;
}

/* No credential, cookie or content ever leaks into an attribute or event of @s. */
static void assert_no_secrets(const struct bt_span *s, bool capture)
{
	static const char *const never[] = {"test_aws_authorization",
					    "test_aws_security_token",
					    "test_set_cookie",
					    "AKIDEXAMPLE",
					    "Signature=",
					    "Bearer"};
	static const char *const content[] = {"Say this is a test", "say this is a test", "Seattle",
					      "Hello"};
	size_t i, j, k, e;

	for (i = 0; i < s->attrs.n; i++) {
		const struct bt_attr *a = &s->attrs.v[i];

		for (k = 0; k < (a->type == BT_ATTR_STR		? 1
				 : a->type == BT_ATTR_STR_ARRAY ? a->arr.n
								: 0);
		     k++) {
			const char *v = a->type == BT_ATTR_STR ? a->s : a->arr.v[k];

			for (j = 0; j < sizeof(never) / sizeof(never[0]); j++)
				if (strstr(v, never[j]))
					fail_msg("%s leaks %s", a->key, never[j]);
			for (j = 0; !capture && j < sizeof(content) / sizeof(content[0]); j++)
				if (strstr(v, content[j]))
					fail_msg("%s has content without --capture-content",
						 a->key);
		}
	}
	for (e = 0; e < s->n_events; e++)
		for (i = 0; i < s->events[e].attrs.n; i++)
			if (s->events[e].attrs.v[i].type == BT_ATTR_STR && !capture)
				for (j = 0; j < sizeof(content) / sizeof(content[0]); j++)
					assert_null(strstr(s->events[e].attrs.v[i].s, content[j]));
	if (s->status_message)
		for (j = 0; j < sizeof(never) / sizeof(never[0]); j++)
			assert_null(strstr(s->status_message, never[j]));
}

/* ---- cassettes ---- */

static void test_bedrock_converse_cassette(void **state)
{
	struct run r;

	(void)state;
	run_cassette(&r, "test_converse_with_content.yaml", 0, false);
	assert_common(r.span, "chat amazon.titan-text-lite-v1", "chat", "Converse",
		      "amazon.titan-text-lite-v1", "180bdcbc-0fea-4b99-a0f0-b858dd830a83");
	assert_int_equal(iattr(r.span, "gen_ai.request.max_tokens"), 10);
	assert_true(fabs(dattr(r.span, "gen_ai.request.temperature") - 0.8) < 1e-9);
	assert_true(fabs(dattr(r.span, "gen_ai.request.top_p") - 1.0) < 1e-9);
	assert_string_equal(bt_attrs_get(&r.span->attrs, "gen_ai.request.stop_sequences")->arr.v[0],
			    "|");
	assert_usage(r.span, 8, 10);
	assert_finish(r.span, "max_tokens");
	assert_string_equal(sattr(r.span, "aws.sdk.invocation_id"),
			    "a8c71d0c-ae7b-4685-b696-6ba0ded398ef");
	assert_cost(r.span, "amazon.titan-text-lite-v1", 8, 10);
	assert_false(has(r.span, "gen_ai.response.time_to_first_chunk"));
	assert_false(has(r.span, "gen_ai.input.messages"));
	assert_false(has(r.span, "error.type"));
	assert_int_equal(r.span->status, BT_STATUS_UNSET);
	assert_int_equal(r.n_children, 0);
	assert_no_secrets(r.span, false);
	run_free(&r);
}

static void test_bedrock_invalid_model_is_error(void **state)
{
	struct run r;

	(void)state;
	run_cassette(&r, "test_converse_with_invalid_model.yaml", 0, false);
	assert_common(r.span, "chat does-not-exist", "chat", "Converse", "does-not-exist",
		      "7fdbc480-6d28-4d1c-abbc-bd7f17c7dfec");
	assert_string_equal(sattr(r.span, "error.type"), "ValidationException");
	assert_int_equal(r.span->status, BT_STATUS_ERROR);
	/* the AWS message is content: only the type without --capture-content */
	assert_string_equal(r.span->status_message, "ValidationException");
	assert_false(has(r.span, "gen_ai.usage.input_tokens"));
	assert_false(has(r.span, "bedtrace.cost.usd"));
	assert_no_secrets(r.span, false);
	run_free(&r);

	run_cassette(&r, "test_converse_with_invalid_model.yaml", 0, true);
	assert_string_equal(r.span->status_message,
			    "ValidationException: The provided model identifier is invalid.");
	run_free(&r);
}

static void test_bedrock_converse_stream_cassette(void **state)
{
	struct run r;
	uint64_t ttfc_ns = CASSETTE_FRAME_NS(T0, 1) - T0; /* frame 1 is the first delta */

	(void)state;
	run_cassette(&r, "test_converse_stream_with_content.yaml", 0, false);
	assert_common(r.span, "chat amazon.titan-text-lite-v1", "chat", "ConverseStream",
		      "amazon.titan-text-lite-v1", "77f2fab1-08a9-4235-a402-e0e5f3a5e117");
	assert_usage(r.span, 8, 10);
	assert_finish(r.span, "max_tokens");
	assert_int_equal(iattr(r.span, "bedtrace.eventstream.events"), 5);
	assert_true(fabs(dattr(r.span, "gen_ai.response.time_to_first_chunk") - ttfc_ns / 1e9) <
		    1e-9);
	assert_int_equal(r.span->n_events, 1);
	assert_string_equal(r.span->events[0].name, "gen_ai.first_chunk");
	assert_int_equal(r.span->events[0].time_ns, SPAN_START + ttfc_ns);
	assert_false(has(r.span, "bedtrace.eventstream.error"));
	assert_false(has(r.span, "bedtrace.capture.truncated"));
	assert_no_secrets(r.span, false);
	run_free(&r);
}

static void test_bedrock_converse_stream_tool_call_content(void **state)
{
	struct run r;
	cJSON *out, *parts, *in;

	(void)state;
	run_cassette(&r, "test_converse_stream_with_content_tool_call.yaml", 0, true);
	assert_common(r.span, "chat amazon.nova-micro-v1:0", "chat", "ConverseStream",
		      "amazon.nova-micro-v1:0", "74f31869-e1ef-4224-b9d8-3f143d117f77");
	assert_usage(r.span, 415, 202);
	assert_finish(r.span, "tool_use");
	assert_cost(r.span, "amazon.nova-micro-v1:0", 415, 202);
	out = json_attr(r.span, "gen_ai.output.messages");
	assert_int_equal(cJSON_GetArraySize(out), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "role")->valuestring,
			    "assistant");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "finish_reason")->valuestring,
	    "tool_use");
	parts = cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "parts");
	assert_int_equal(cJSON_GetArraySize(parts), 3);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "type")->valuestring,
			    "text");
	assert_non_null(
	    strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "content")->valuestring,
		   "I will use the `get_current_weather` tool"));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 1), "type")->valuestring,
			    "tool_call");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 1), "id")->valuestring,
			    "tooluse_JZ11QcxSQ3m3xacMQKVIKw");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 1), "name")->valuestring,
			    "get_current_weather");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 2), "arguments"),
				"location")
		->valuestring,
	    "San Francisco");
	cJSON_Delete(out);
	in = json_attr(r.span, "gen_ai.input.messages");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(in, 0), "role")->valuestring,
			    "user");
	cJSON_Delete(in);
	assert_no_secrets(r.span, true);
	run_free(&r);

	run_cassette(&r, "test_converse_stream_with_content_tool_call.yaml", 1, true);
	assert_usage(r.span, 565, 52);
	assert_finish(r.span, "end_turn");
	in = json_attr(r.span, "gen_ai.input.messages");
	assert_int_equal(cJSON_GetArraySize(in), 3);
	parts = cJSON_GetObjectItem(cJSON_GetArrayItem(in, 2), "parts");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "type")->valuestring,
			    "tool_call_response");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "id")->valuestring,
			    "tooluse_JZ11QcxSQ3m3xacMQKVIKw");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "response"),
				"weather")
		->valuestring,
	    "50 degrees and raining");
	cJSON_Delete(in);
	run_free(&r);
}

static void test_bedrock_converse_tool_call_cassette(void **state)
{
	struct run r;
	cJSON *out, *parts;

	(void)state;
	run_cassette(&r, "test_converse_tool_call_with_content.yaml", 0, true);
	assert_common(r.span, "chat amazon.nova-micro-v1:0", "chat", "Converse",
		      "amazon.nova-micro-v1:0", "c8537d75-1a24-432f-a26e-1712281540cf");
	assert_usage(r.span, 415, 190);
	assert_finish(r.span, "tool_use");
	out = json_attr(r.span, "gen_ai.output.messages");
	parts = cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "parts");
	assert_int_equal(cJSON_GetArraySize(parts), 3);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 1), "id")->valuestring,
			    "tooluse_tggNKJbGSrm48inRqf3Rvw");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 1), "arguments"),
				"location")
		->valuestring,
	    "Seattle");
	cJSON_Delete(out);
	run_free(&r);

	run_cassette(&r, "test_converse_tool_call_with_content.yaml", 1, false);
	assert_string_equal(sattr(r.span, "aws.request_id"),
			    "ce574485-9823-4db9-8974-cdbeacd6e0f3");
	assert_usage(r.span, 553, 59);
	assert_finish(r.span, "end_turn");
	assert_no_secrets(r.span, false);
	run_free(&r);
}

struct invoke_case {
	const char *file, *model, *op, *request_id, *finish;
	int64_t in, out, max_tokens;
	double temperature, top_p;
	bool stop;
};

static void test_bedrock_invoke_model_families(void **state)
{
	static const struct invoke_case cases[] = {
	    {"test_invoke_model_with_content[amazon.nova].yaml", "amazon.nova-micro-v1:0", "chat",
	     "7e0027c0-ef54-4918-8cef-4c84a35594ab", "max_tokens", 5, 10, 10, 0.8, 1, true},
	    {"test_invoke_model_with_content[amazon.titan].yaml", "amazon.titan-text-lite-v1",
	     "text_completion", "03388437-97c4-442b-bb12-a0eb58397f03", "LENGTH", 5, 10, 10, 0.8, 1,
	     true},
	    {"test_invoke_model_with_content[anthropic.claude].yaml", "anthropic.claude-v2", "chat",
	     "173e5b06-61f1-4368-9926-0a3369f721eb", "max_tokens", 14, 10, 10, 0.8, 1, true},
	    {"test_invoke_model_with_content[cohere.command-r].yaml", "cohere.command-r-v1:0",
	     "chat", "c1fd38df-b669-4464-9f4b-4cf32c32fde8", "MAX_TOKENS", 5, 10, 10, 0.8, 0.99,
	     true},
	    {"test_invoke_model_with_content[cohere.command].yaml", "cohere.command-light-text-v14",
	     "text_completion", "a09c1c60-6608-482a-b98d-764e4d87fcd1", "MAX_TOKENS", 5, 10, 10,
	     0.8, 1, true},
	    {"test_invoke_model_with_content[meta.llama].yaml", "meta.llama3-1-70b-instruct-v1:0",
	     "text_completion", "4b8da626-00b1-4535-b75b-a7e985e9877e", "length", 5, 10, 10, 0.8, 1,
	     false},
	    {"test_invoke_model_with_content[mistral.mistral].yaml",
	     "mistral.mistral-7b-instruct-v0:2", "text_completion",
	     "68547039-f30c-4aff-b368-31bb6d9b9d07", "length", 6, 10, 10, 0.8, 1, true},
	    {"test_invoke_model_with_content_assistant_content_as_string.yaml",
	     "us.anthropic.claude-3-5-haiku-20241022-v1:0", "chat",
	     "4458f14e-5cde-44fb-a1ea-881ed935fb73", "end_turn", 13, 8, 10, -1, -1, false},
	    {"test_invoke_model_with_content_user_content_as_string.yaml",
	     "us.anthropic.claude-3-5-sonnet-20240620-v1:0", "chat",
	     "e97cb4f9-61fe-4a62-a29a-a582ddd17414", "end_turn", 12, 8, 10, -1, -1, false},
	};
	char name[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct invoke_case *c = &cases[i];
		struct run r;

		run_cassette(&r, c->file, 0, false);
		snprintf(name, sizeof(name), "%s %s", c->op, c->model);
		assert_common(r.span, name, c->op, "InvokeModel", c->model, c->request_id);
		assert_usage(r.span, c->in, c->out);
		assert_finish(r.span, c->finish);
		assert_int_equal(iattr(r.span, "gen_ai.request.max_tokens"), c->max_tokens);
		if (c->temperature >= 0)
			assert_true(fabs(dattr(r.span, "gen_ai.request.temperature") -
					 c->temperature) < 1e-9);
		if (c->top_p >= 0)
			assert_true(fabs(dattr(r.span, "gen_ai.request.top_p") - c->top_p) < 1e-9);
		assert_int_equal(has(r.span, "gen_ai.request.stop_sequences"), c->stop);
		assert_cost(r.span, c->model, c->in, c->out);
		assert_no_secrets(r.span, false);
		run_free(&r);
	}
}

static void test_bedrock_invoke_model_response_ids(void **state)
{
	struct run r;

	(void)state;
	run_cassette(&r, "test_invoke_model_with_content[anthropic.claude].yaml", 0, false);
	assert_string_equal(sattr(r.span, "gen_ai.response.model"), "claude-2.0");
	assert_string_equal(sattr(r.span, "gen_ai.response.id"),
			    "msg_bdrk_01NCxHHwwdtMc7wioSxo2wBC");
	run_free(&r);
	run_cassette(&r, "test_invoke_model_with_content[cohere.command-r].yaml", 0, false);
	assert_string_equal(sattr(r.span, "gen_ai.response.id"),
			    "379ed018/aa2df2bf-edc8-483f-8cd0-d22d04ba34ba");
	run_free(&r);
	run_cassette(&r, "test_invoke_model_with_content[cohere.command].yaml", 0, false);
	assert_string_equal(sattr(r.span, "gen_ai.response.id"),
			    "a09c1c60-6608-482a-b98d-764e4d87fcd1");
	assert_int_equal(dattr(r.span, "gen_ai.request.top_p"), 1);
	run_free(&r);
}

static void test_bedrock_invoke_model_tool_call_cassette(void **state)
{
	struct run r;
	cJSON *out, *parts, *in;

	(void)state;
	run_cassette(&r, "test_invoke_model_with_content_tool_call[anthropic.claude].yaml", 0,
		     true);
	assert_usage(r.span, 392, 135);
	assert_finish(r.span, "tool_use");
	assert_string_equal(sattr(r.span, "gen_ai.response.model"), "claude-3-5-sonnet-20240620");
	out = json_attr(r.span, "gen_ai.output.messages");
	parts = cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "parts");
	assert_int_equal(cJSON_GetArraySize(parts), 3);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 2), "id")->valuestring,
			    "toolu_bdrk_014yQPSMntXHRmzGYxCbmBHE");
	cJSON_Delete(out);
	run_free(&r);

	run_cassette(&r, "test_invoke_model_with_content_tool_call[anthropic.claude].yaml", 1,
		     true);
	assert_usage(r.span, 604, 146);
	assert_finish(r.span, "end_turn");
	in = json_attr(r.span, "gen_ai.input.messages");
	parts = cJSON_GetObjectItem(cJSON_GetArrayItem(in, 2), "parts");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 1), "type")->valuestring,
			    "tool_call_response");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 1), "response")->valuestring,
	    "70 degrees and sunny");
	cJSON_Delete(in);
	run_free(&r);
}

struct stream_case {
	const char *file, *model, *op, *finish;
	size_t idx;
	int64_t in, out;
	unsigned first_frame;
};

static void test_bedrock_invoke_model_streams(void **state)
{
	static const struct stream_case cases[] = {
	    {"test_invoke_model_with_response_stream_with_content[amazon.nova].yaml",
	     "amazon.nova-micro-v1:0", "chat", "max_tokens", 0, 5, 10, 1},
	    {"test_invoke_model_with_response_stream_with_content[amazon.titan].yaml",
	     "amazon.titan-text-lite-v1", "text_completion", "LENGTH", 0, 5, 10, 0},
	    {"test_invoke_model_with_response_stream_with_content[anthropic.claude].yaml",
	     "anthropic.claude-v2", "chat", "max_tokens", 0, 14, 10, 2},
	    /* Bedrock's invocation metrics (billed) win over the model's own count (134) */
	    {"test_invoke_model_with_response_stream_with_content_tool_call[anthropic.claude].yaml",
	     "us.anthropic.claude-3-5-sonnet-20240620-v1:0", "chat", "tool_use", 0, 392, 90, 2},
	    {"test_invoke_model_with_response_stream_with_content_tool_call[anthropic.claude].yaml",
	     "us.anthropic.claude-3-5-sonnet-20240620-v1:0", "chat", "end_turn", 1, 603, 0, 2},
	};
	char name[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct stream_case *c = &cases[i];
		uint64_t ttfc = CASSETTE_FRAME_NS(T0, c->first_frame) - T0;
		struct run r;

		run_cassette(&r, c->file, c->idx, false);
		snprintf(name, sizeof(name), "%s %s", c->op, c->model);
		assert_string_equal(r.span->name, name);
		assert_string_equal(sattr(r.span, "aws.bedrock.operation"),
				    "InvokeModelWithResponseStream");
		assert_int_equal(iattr(r.span, "gen_ai.usage.input_tokens"), c->in);
		if (c->out)
			assert_int_equal(iattr(r.span, "gen_ai.usage.output_tokens"), c->out);
		assert_finish(r.span, c->finish);
		assert_true(
		    fabs(dattr(r.span, "gen_ai.response.time_to_first_chunk") - ttfc / 1e9) < 1e-9);
		assert_int_equal(r.span->events[0].time_ns, SPAN_START + ttfc);
		assert_true(has(r.span, "bedtrace.cost.usd"));
		assert_false(has(r.span, "bedtrace.eventstream.error"));
		assert_no_secrets(r.span, false);
		run_free(&r);
	}
}

static void test_bedrock_anthropic_stream_content(void **state)
{
	struct run r;
	cJSON *out, *parts, *args;

	(void)state;
	run_cassette(
	    &r,
	    "test_invoke_model_with_response_stream_with_content_tool_call[anthropic.claude].yaml",
	    0, true);
	assert_string_equal(sattr(r.span, "gen_ai.response.id"),
			    "msg_bdrk_01NGhpayLE52LwTzcggKudcq");
	out = json_attr(r.span, "gen_ai.output.messages");
	parts = cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "parts");
	assert_int_equal(cJSON_GetArraySize(parts), 3);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "content")->valuestring,
	    "Certainly! I'll use the get_current_weather function to check the "
	    "weather for both Seattle and San Francisco. I'll make two separate "
	    "function calls within the same block for these cities.");
	args = cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 1), "arguments");
	assert_string_equal(cJSON_GetObjectItem(args, "location")->valuestring, "Seattle");
	args = cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 2), "arguments");
	assert_string_equal(cJSON_GetObjectItem(args, "location")->valuestring, "San Francisco");
	cJSON_Delete(out);
	run_free(&r);

	run_cassette(&r, "test_invoke_model_with_response_stream_with_content[amazon.titan].yaml",
		     0, true);
	out = json_attr(r.span, "gen_ai.output.messages");
	parts = cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "parts");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "content")->valuestring,
	    "\nHello! I am a computer program designed to");
	cJSON_Delete(out);
	out = json_attr(r.span, "gen_ai.input.messages");
	assert_non_null(strstr(sattr(r.span, "gen_ai.input.messages"), "Say this is a test"));
	cJSON_Delete(out);
	run_free(&r);
}

/* Every cassette, content on and off: content only when asked, secrets never. */
static void test_bedrock_no_secrets_any_cassette(void **state)
{
	static const char *const files[] = {
	    "test_converse_stream_with_content.yaml",
	    "test_converse_stream_with_content_tool_call.yaml",
	    "test_converse_tool_call_with_content.yaml",
	    "test_converse_with_content.yaml",
	    "test_converse_with_invalid_model.yaml",
	    "test_invoke_model_with_content[amazon.nova].yaml",
	    "test_invoke_model_with_content[amazon.titan].yaml",
	    "test_invoke_model_with_content[anthropic.claude].yaml",
	    "test_invoke_model_with_content[cohere.command-r].yaml",
	    "test_invoke_model_with_content[cohere.command].yaml",
	    "test_invoke_model_with_content[meta.llama].yaml",
	    "test_invoke_model_with_content[mistral.mistral].yaml",
	    "test_invoke_model_with_content_assistant_content_as_string.yaml",
	    "test_invoke_model_with_content_tool_call[anthropic.claude].yaml",
	    "test_invoke_model_with_content_user_content_as_string.yaml",
	    "test_invoke_model_with_response_stream_with_content[amazon.nova].yaml",
	    "test_invoke_model_with_response_stream_with_content[amazon.titan].yaml",
	    "test_invoke_model_with_response_stream_with_content[anthropic.claude].yaml",
	    "test_invoke_model_with_response_stream_with_content_tool_call[anthropic.claude].yaml",
	};
	size_t i, k, n_it;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct cassette c;

		assert_int_equal(cassette_load(files[i], &c), 0);
		n_it = c.n;
		cassette_free(&c);
		for (k = 0; k < n_it * 2; k++) {
			struct run r;
			bool capture = k & 1;

			run_cassette(&r, files[i], k / 2, capture);
			assert_no_secrets(r.span, capture);
			if (capture && strstr(files[i], "invalid") == NULL)
				assert_true(has(r.span, "gen_ai.input.messages") &&
					    has(r.span, "gen_ai.output.messages"));
			if (!capture)
				assert_false(has(r.span, "gen_ai.input.messages") ||
					     has(r.span, "gen_ai.output.messages") ||
					     has(r.span, "gen_ai.system_instructions"));
			assert_false(has(r.span, "bedtrace.bedrock.parse_error"));
			check_typed_usage(r.span);
			run_free(&r);
		}
	}
}

/* ---- synthetic exchanges ---- */

static void body_set(struct http_msg *m, const void *body, size_t len)
{
	free(m->body);
	m->body = malloc(len ? len : 1);
	memcpy(m->body, body, len);
	m->body_len = m->wire_body_len = len;
	free(m->body_ts);
	m->body_ts = calloc(1, sizeof(*m->body_ts));
	m->body_ts[0].ts_ns = T0 + CASSETTE_RESP_NS;
	m->n_body_ts = 1;
}

/* A request to @authority @target with @auth (may be NULL) and a JSON body. */
static void ex_init(struct http_exchange *ex, const char *authority, const char *target,
		    const char *auth, const char *body)
{
	memset(ex, 0, sizeof(*ex));
	ex->version = 11;
	ex->has_request = true;
	ex->req.method = strdup("POST");
	ex->req.target = strdup(target);
	ex->req.authority = authority ? strdup(authority) : NULL;
	ex->req.start_ns = T0;
	if (auth)
		hdr_add(&ex->req, "authorization", auth);
	hdr_add(&ex->req, "x-amz-security-token", "test_aws_security_token");
	if (body)
		body_set(&ex->req, body, strlen(body));
}

static void ex_respond(struct http_exchange *ex, int status, const char *ctype, const void *body,
		       size_t len)
{
	ex->has_response = true;
	ex->resp.status = status;
	ex->resp.start_ns = T0 + CASSETTE_RESP_NS;
	if (ctype)
		hdr_add(&ex->resp, "content-type", ctype);
	hdr_add(&ex->resp, "x-amzn-RequestId", "11111111-2222-3333-4444-555555555555");
	if (body)
		body_set(&ex->resp, body, len);
}

#define SIGV4                                                                                      \
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250206/eu-west-3/bedrock/aws4_request, "        \
	"SignedHeaders=host;x-amz-date, Signature=abcdef0123456789"

static void test_bedrock_match_hosts(void **state)
{
	static const struct {
		const char *host, *target;
		bool match;
	} cases[] = {
	    {"bedrock-runtime.us-east-1.amazonaws.com", "/model/m/converse", true},
	    {"bedrock-runtime-fips.us-gov-west-1.amazonaws.com", "/model/m/invoke", true},
	    {"bedrock-runtime.eu-central-1.api.aws", "/model/m/converse-stream", true},
	    {"bedrock-runtime.cn-north-1.amazonaws.com.cn", "/model/m/converse", true},
	    {"vpce-0123abcd-ef01.bedrock-runtime.us-east-1.vpce.amazonaws.com", "/model/m/invoke",
	     true},
	    {"bedrock-agent-runtime.us-west-2.amazonaws.com:443",
	     "/agents/A/agentAliases/B/sessions/S/text", true},
	    {"bedrock-agent-runtime-fips.us-east-1.amazonaws.com", "/knowledgebases/KB/retrieve",
	     true},
	    {"BEDROCK-RUNTIME.US-EAST-1.AMAZONAWS.COM.", "/model/m/converse", true},
	    /* a Bedrock endpoint, operation not modelled: still Bedrock */
	    {"bedrock-runtime.us-east-1.amazonaws.com", "/async-invoke", true},
	    /* not Bedrock */
	    {"bedrock.us-east-1.amazonaws.com", "/foundation-models", false},
	    {"example.com", "/model/m/converse", false},
	    {"bedrock-runtime.us-east-1.example.com", "/model/m/converse", false},
	    {"s3.us-east-1.amazonaws.com", "/model/m/converse", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_exchange ex;

		ex_init(&ex, cases[i].host, cases[i].target, NULL, NULL);
		if (bedrock_match(&ex) != cases[i].match)
			fail_msg("%s%s: expected %d", cases[i].host, cases[i].target,
				 cases[i].match);
		http_exchange_clear(&ex);
	}
}

static void test_bedrock_match_proxy_by_scope_or_bearer(void **state)
{
	struct bedrock_ctx *ctx = bedrock_ctx_new(&(struct bedrock_opts){0});
	struct http_exchange ex;
	struct run r = {0};

	(void)state;
	/* an endpoint override: only the SigV4 scope and the path say Bedrock */
	ex_init(&r.ex, "127.0.0.1:8443",
		"/model/arn%3Aaws%3Abedrock%3Aeu-west-3%3A123456789012%3Ainference-profile%2Feu."
		"anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse?x=1",
		SIGV4, "{\"messages\":[]}");
	ex_respond(
	    &r.ex, 200, "application/json",
	    "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[]}},"
	    "\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":100,\"outputTokens\":20}}",
	    strlen("{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[]}},"
		   "\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":100,\"outputTokens\":20}"
		   "}"));
	run_exchange(&r, ctx);
	assert_string_equal(sattr(r.span, "gen_ai.request.model"),
			    "arn:aws:bedrock:eu-west-3:123456789012:inference-profile/"
			    "eu.anthropic.claude-3-5-sonnet-20240620-v1:0");
	assert_string_equal(sattr(r.span, "cloud.region"), "eu-west-3");
	assert_cost(r.span, "anthropic.claude-3-5-sonnet-20240620", 100, 20);
	assert_no_secrets(r.span, false);
	assert_false(has(r.span, "aws.sdk.attempt"));
	run_free(&r);

	/* agent runtime behind a proxy, signed */
	ex_init(&ex, "localhost:4566", "/retrieveAndGenerate", SIGV4, NULL);
	assert_true(bedrock_match(&ex));
	http_exchange_clear(&ex);
	/* bearer API key + a Bedrock path shape */
	ex_init(&ex, "127.0.0.1:8443", "/model/amazon.nova-micro-v1%3A0/invoke",
		"Bearer test_aws_authorization", NULL);
	assert_true(bedrock_match(&ex));
	http_exchange_clear(&ex);
	/* signed for another service */
	ex_init(&ex, "127.0.0.1:8443", "/model/m/invoke",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250206/us-east-1/s3/aws4_request, "
		"Signature=00",
		NULL);
	assert_false(bedrock_match(&ex));
	http_exchange_clear(&ex);
	/* no credentials at all, or a path that is not Bedrock's */
	ex_init(&ex, "127.0.0.1:8443", "/model/m/invoke", NULL, NULL);
	assert_false(bedrock_match(&ex));
	http_exchange_clear(&ex);
	ex_init(&ex, "127.0.0.1:8443", "/v1/chat/completions", "Bearer x", NULL);
	assert_false(bedrock_match(&ex));
	http_exchange_clear(&ex);
	ex_init(&ex, "127.0.0.1:8443", "/model/m/converse/extra", SIGV4, NULL);
	assert_false(bedrock_match(&ex));
	http_exchange_clear(&ex);
	/* GET is not an operation of these paths */
	ex_init(&ex, "127.0.0.1:8443", "/model/m/invoke", SIGV4, NULL);
	free(ex.req.method);
	ex.req.method = strdup("GET");
	assert_false(bedrock_match(&ex));
	http_exchange_clear(&ex);
	/* requests the process received are not client calls */
	ex_init(&ex, "bedrock-runtime.us-east-1.amazonaws.com", "/model/m/invoke", NULL, NULL);
	ex.server_side = true;
	assert_false(bedrock_match(&ex));
	http_exchange_clear(&ex);
	bedrock_ctx_free(ctx);
}

static void respond_json(struct http_exchange *ex, int status, const char *body)
{
	ex_respond(ex, status, "application/json", body, strlen(body));
}

static void test_bedrock_retries_and_throttles(void **state)
{
	struct bedrock_ctx *ctx = bedrock_ctx_new(&(struct bedrock_opts){0});
	const char *host = "bedrock-runtime.us-east-1.amazonaws.com";
	struct run r = {0};

	(void)state;
	/* attempt 1: throttled with the error header */
	ex_init(&r.ex, host, "/model/amazon.nova-micro-v1%3A0/converse", NULL, "{}");
	hdr_add(&r.ex.req, "amz-sdk-invocation-id", "0e8c8731-2812-4dbf-add2-b75b6ad599df");
	hdr_add(&r.ex.req, "amz-sdk-request", "attempt=1; max=3");
	respond_json(&r.ex, 429, "{\"message\":\"Too many requests, please wait\"}");
	hdr_add(&r.ex.resp, "x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/");
	run_exchange(&r, ctx);
	assert_string_equal(sattr(r.span, "error.type"), "ThrottlingException");
	assert_int_equal(r.span->status, BT_STATUS_ERROR);
	assert_int_equal(iattr(r.span, "aws.sdk.attempt"), 1);
	assert_int_equal(iattr(r.span, "aws.sdk.max_attempts"), 3);
	assert_int_equal(iattr(r.span, "bedtrace.bedrock.throttle_count"), 1);
	assert_false(has(r.span, "bedtrace.retry.previous_attempts"));
	assert_int_equal(bedrock_ctx_throttles(ctx), 1);
	run_free(&r);

	/* attempt 2: 429 without a header is still a throttle */
	ex_init(&r.ex, host, "/model/amazon.nova-micro-v1%3A0/converse", NULL, "{}");
	hdr_add(&r.ex.req, "amz-sdk-invocation-id", "0e8c8731-2812-4dbf-add2-b75b6ad599df");
	hdr_add(&r.ex.req, "amz-sdk-request", "attempt=2; max=3");
	respond_json(&r.ex, 429, "{}");
	run_exchange(&r, ctx);
	assert_string_equal(sattr(r.span, "error.type"), "ThrottlingException");
	assert_int_equal(iattr(r.span, "bedtrace.retry.previous_attempts"), 1);
	assert_int_equal(iattr(r.span, "bedtrace.bedrock.throttle_count"), 2);
	assert_int_equal(bedrock_ctx_throttles(ctx), 2);
	run_free(&r);

	/* attempt 3 succeeds; it still reports the throttles that preceded it */
	ex_init(&r.ex, host, "/model/amazon.nova-micro-v1%3A0/converse", NULL, "{}");
	hdr_add(&r.ex.req, "amz-sdk-invocation-id", "0e8c8731-2812-4dbf-add2-b75b6ad599df");
	hdr_add(&r.ex.req, "amz-sdk-request", "attempt=3; max=3");
	respond_json(&r.ex, 200,
		     "{\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":1,"
		     "\"outputTokens\":2}}");
	run_exchange(&r, ctx);
	assert_false(has(r.span, "error.type"));
	assert_int_equal(r.span->status, BT_STATUS_UNSET);
	assert_int_equal(iattr(r.span, "aws.sdk.attempt"), 3);
	assert_int_equal(iattr(r.span, "bedtrace.retry.previous_attempts"), 2);
	assert_int_equal(iattr(r.span, "bedtrace.bedrock.throttle_count"), 2);
	assert_int_equal(bedrock_ctx_throttles(ctx), 2);
	run_free(&r);

	/* another invocation starts clean; a 5xx without header is typed by its status */
	ex_init(&r.ex, host, "/model/amazon.nova-micro-v1%3A0/converse", NULL, "{}");
	hdr_add(&r.ex.req, "amz-sdk-invocation-id", "ffffffff-2812-4dbf-add2-b75b6ad599df");
	hdr_add(&r.ex.req, "amz-sdk-request", "attempt=1; max=3");
	respond_json(&r.ex, 503, "not json at all");
	run_exchange(&r, ctx);
	assert_string_equal(sattr(r.span, "error.type"), "503");
	assert_false(has(r.span, "bedtrace.bedrock.throttle_count"));
	assert_false(has(r.span, "bedtrace.retry.previous_attempts"));
	assert_string_equal(sattr(r.span, "bedtrace.bedrock.parse_error"),
			    "response body is not valid JSON");
	run_free(&r);
	bedrock_ctx_free(ctx);
}

static void test_bedrock_retry_lru_is_bounded(void **state)
{
	struct bedrock_ctx *ctx = bedrock_ctx_new(&(struct bedrock_opts){0});
	char id[64];
	int i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		struct run r = {0};

		snprintf(id, sizeof(id), "inv-%d", i % 1000 == 0 ? 0 : i);
		ex_init(&r.ex, "bedrock-runtime.us-east-1.amazonaws.com", "/model/m/converse", NULL,
			"{}");
		hdr_add(&r.ex.req, "amz-sdk-invocation-id", id);
		respond_json(&r.ex, 200, "{}");
		run_exchange(&r, ctx);
		if (i == 1000) /* inv-0 was evicted by the 999 ids seen since */
			assert_false(has(r.span, "bedtrace.retry.previous_attempts"));
		run_free(&r);
	}
	bedrock_ctx_free(ctx);
}

static void test_bedrock_stream_exception_event(void **state)
{
	struct bedrock_ctx *ctx = bedrock_ctx_new(&(struct bedrock_opts){0});
	const char *exc[] = {":exception-type",	 "throttlingException", ":content-type",
			     "application/json", ":message-type",	"exception"};
	uint8_t buf[2048];
	size_t n = 0;
	struct run r = {0};

	(void)state;
	n += esf_event(buf + n, "messageStart", "{\"role\":\"assistant\"}");
	n += esf_event(buf + n, "contentBlockDelta",
		       "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}");
	n += esf_frame(buf + n, exc, 6, "{\"message\":\"Too many tokens, please wait\"}");
	ex_init(&r.ex, "bedrock-runtime.us-east-1.amazonaws.com", "/model/m/converse-stream", NULL,
		"{}");
	ex_respond(&r.ex, 200, "application/vnd.amazon.eventstream", buf, n);
	run_exchange(&r, ctx);
	assert_string_equal(sattr(r.span, "error.type"), "ThrottlingException");
	assert_int_equal(r.span->status, BT_STATUS_ERROR);
	assert_string_equal(r.span->status_message, "ThrottlingException");
	assert_int_equal(bedrock_ctx_throttles(ctx), 1);
	assert_int_equal(iattr(r.span, "bedtrace.eventstream.events"), 3);
	assert_true(has(r.span, "gen_ai.response.time_to_first_chunk"));
	run_free(&r);
	bedrock_ctx_free(ctx);
}

static void test_bedrock_corrupt_and_truncated_streams(void **state)
{
	struct bedrock_ctx *ctx = bedrock_ctx_new(&(struct bedrock_opts){0});
	struct cassette c;
	struct run r = {0};
	size_t frame1;

	(void)state;
	assert_int_equal(cassette_load("test_converse_stream_with_content.yaml", &c), 0);
	/* a flipped bit in the second frame's payload: its CRC no longer matches */
	cassette_exchange(&c.it[0], &r.ex, T0);
	frame1 = esf_be32(r.ex.resp.body);
	r.ex.resp.body[frame1 + 100] ^= 0x40;
	run_exchange(&r, ctx);
	assert_true(has(r.span, "bedtrace.eventstream.error"));
	assert_string_equal(sattr(r.span, "error.type"), "bedtrace.eventstream.corrupt");
	assert_int_equal(r.span->status, BT_STATUS_ERROR);
	assert_int_equal(iattr(r.span, "bedtrace.eventstream.events"), 1); /* kept frame 0 */
	assert_false(has(r.span, "gen_ai.usage.input_tokens"));
	/* frame 0 (messageStart) carried no content, but it did arrive: it times the first chunk */
	assert_true(fabs(dattr(r.span, "gen_ai.response.time_to_first_chunk") -
			 (CASSETTE_FRAME_NS(T0, 0) - T0) / 1e9) < 1e-9);
	assert_int_equal(r.span->n_events, 1);
	assert_string_equal(r.span->events[0].name, "gen_ai.first_chunk");
	assert_int_equal(r.span->events[0].time_ns, SPAN_START + CASSETTE_FRAME_NS(T0, 0) - T0);
	run_free(&r);

	/* the capture lost the tail: parse what is there, say so */
	memset(&r, 0, sizeof(r));
	cassette_exchange(&c.it[0], &r.ex, T0);
	r.ex.resp.body_len -= 30;
	r.ex.resp.truncated = true;
	run_exchange(&r, ctx);
	assert_true(has(r.span, "bedtrace.capture.truncated"));
	assert_false(has(r.span, "bedtrace.eventstream.error"));
	assert_false(has(r.span, "error.type"));
	assert_int_equal(iattr(r.span, "bedtrace.eventstream.events"), 4);
	assert_finish(r.span, "max_tokens");
	assert_true(has(r.span, "gen_ai.response.time_to_first_chunk"));
	run_free(&r);
	cassette_free(&c);
	bedrock_ctx_free(ctx);
}

static void test_bedrock_cache_tokens_and_header_fallback(void **state)
{
	struct bedrock_ctx *ctx = bedrock_ctx_new(&(struct bedrock_opts){0});
	const char *body =
	    "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":"
	    "\"ok\"}]}},\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":10,"
	    "\"outputTokens\":20,\"cacheReadInputTokens\":1000,"
	    "\"cacheWriteInputTokens\":500}}";
	struct run r = {0};
	struct price p;
	double want;

	(void)state;
	ex_init(&r.ex, "bedrock-runtime.us-west-2.amazonaws.com",
		"/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse", NULL, "{}");
	respond_json(&r.ex, 200, body);
	run_exchange(&r, ctx);
	assert_int_equal(iattr(r.span, "gen_ai.usage.input_tokens"), 1510);
	assert_int_equal(iattr(r.span, "gen_ai.usage.cache_read.input_tokens"), 1000);
	assert_int_equal(iattr(r.span, "gen_ai.usage.cache_creation.input_tokens"), 500);
	assert_int_equal(price_lookup(NULL, "anthropic.claude-3-5-sonnet-20241022-v2:0", &p), 0);
	want = (10 * p.input + 20 * p.output + 1000 * p.cache_read + 500 * p.cache_write) / 1e6;
	assert_true(fabs(dattr(r.span, "bedtrace.cost.usd") - want) < 1e-12);
	assert_string_equal(sattr(r.span, "cloud.region"), "us-west-2");
	run_free(&r);

	/* an unknown family: the response headers carry the counts */
	ex_init(&r.ex, "bedrock-runtime.us-east-1.amazonaws.com",
		"/model/writer.palmyra-x5-v1%3A0/invoke", NULL, "{\"whatever\":1}");
	respond_json(&r.ex, 200, "{\"answer\":\"...\"}");
	hdr_add(&r.ex.resp, "X-Amzn-Bedrock-Input-Token-Count", "40");
	hdr_add(&r.ex.resp, "X-Amzn-Bedrock-Output-Token-Count", "7");
	hdr_add(&r.ex.resp, "X-Amzn-Bedrock-Cache-Read-Input-Token-Count", "2");
	hdr_add(&r.ex.resp, "X-Amzn-Bedrock-Cache-Write-Input-Token-Count", "3");
	run_exchange(&r, ctx);
	assert_usage(r.span, 45, 7);
	assert_int_equal(iattr(r.span, "gen_ai.usage.cache_read.input_tokens"), 2);
	assert_false(has(r.span, "bedtrace.cost.usd"));
	assert_true(bt_attrs_get(&r.span->attrs, "bedtrace.cost.unknown_model")->b);
	run_free(&r);
	bedrock_ctx_free(ctx);
}

static void test_bedrock_custom_price_table(void **state)
{
	char path[] = "/tmp/bt_prices_XXXXXX";
	int fd = mkstemp(path);
	struct price_table *t;
	struct bedrock_ctx *ctx;
	struct run r = {0};
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("{\"models\": {\"writer.palmyra\": {\"input\": 1.0, \"output\": 2.0}}}", f);
	fclose(f);
	t = price_table_load(path);
	unlink(path);
	assert_non_null(t);
	ctx = bedrock_ctx_new(&(struct bedrock_opts){.prices = t});
	ex_init(&r.ex, "bedrock-runtime.us-east-1.amazonaws.com",
		"/model/writer.palmyra-x5-v1%3A0/invoke", NULL, "{}");
	respond_json(&r.ex, 200, "{\"usage\":{\"input_tokens\":1000000,\"output_tokens\":500000}}");
	run_exchange(&r, ctx);
	assert_true(fabs(dattr(r.span, "bedtrace.cost.usd") - 2.0) < 1e-9);
	run_free(&r);
	bedrock_ctx_free(ctx);
	price_table_free(t);
}

static void test_bedrock_knowledge_base_and_guardrail(void **state)
{
	struct bedrock_ctx *ctx = bedrock_ctx_new(&(struct bedrock_opts){.capture_content = true});
	struct run r = {0};
	uint8_t buf[2048];
	size_t n = 0;

	(void)state;
	ex_init(
	    &r.ex, "bedrock-agent-runtime.us-east-1.amazonaws.com",
	    "/knowledgebases/KB12345/retrieve", NULL,
	    "{\"retrievalQuery\":{\"text\":\"what is the refund policy\"},"
	    "\"retrievalConfiguration\":{\"vectorSearchConfiguration\":{\"numberOfResults\":3}}}");
	respond_json(&r.ex, 200,
		     "{\"retrievalResults\":[{\"content\":{\"text\":\"30 days\"},\"score\":0.9},"
		     "{\"content\":{\"text\":\"receipts\"},\"score\":0.5}]}");
	run_exchange(&r, ctx);
	assert_string_equal(r.span->name, "retrieve KB12345");
	assert_string_equal(sattr(r.span, "gen_ai.operation.name"), "retrieve");
	assert_string_equal(sattr(r.span, "gen_ai.data_source.id"), "KB12345");
	assert_string_equal(sattr(r.span, "rpc.service"), "BedrockAgentRuntime");
	assert_int_equal(iattr(r.span, "bedtrace.retrieval.results"), 2);
	assert_int_equal(iattr(r.span, "bedtrace.retrieval.requested_results"), 3);
	assert_non_null(strstr(sattr(r.span, "bedtrace.retrieval.documents"), "30 days"));
	assert_non_null(strstr(sattr(r.span, "gen_ai.input.messages"), "refund policy"));
	run_free(&r);

	ex_init(&r.ex, "bedrock-agent-runtime.us-east-1.amazonaws.com", "/retrieveAndGenerate",
		NULL,
		"{\"input\":{\"text\":\"q\"},\"retrieveAndGenerateConfiguration\":{\"type\":"
		"\"KNOWLEDGE_BASE\",\"knowledgeBaseConfiguration\":{\"knowledgeBaseId\":\"KB9\","
		"\"modelArn\":\"arn:aws:bedrock:us-east-1::foundation-model/"
		"anthropic.claude-3-haiku-20240307-v1:0\"}}}");
	respond_json(
	    &r.ex, 200,
	    "{\"output\":{\"text\":\"Refunds within 30 days.\"},\"sessionId\":\"sess-1\","
	    "\"citations\":[{\"retrievedReferences\":[{},{}]},{\"retrievedReferences\":[{}]}]}");
	run_exchange(&r, ctx);
	assert_string_equal(r.span->name, "retrieve_and_generate KB9");
	assert_string_equal(sattr(r.span, "gen_ai.conversation.id"), "sess-1");
	assert_int_equal(iattr(r.span, "bedtrace.retrieval.citations"), 2);
	assert_int_equal(iattr(r.span, "bedtrace.retrieval.results"), 3);
	assert_non_null(strstr(sattr(r.span, "gen_ai.output.messages"), "Refunds within 30 days."));
	run_free(&r);

	n += esf_event(buf + n, "output", "{\"text\":\"Refunds \"}");
	n += esf_event(buf + n, "citation", "{\"retrievedReferences\":[{},{}]}");
	n += esf_event(buf + n, "output", "{\"text\":\"within 30 days.\"}");
	n += esf_event(buf + n, "guardrail", "{\"action\":\"NONE\"}");
	ex_init(&r.ex, "bedrock-agent-runtime.us-east-1.amazonaws.com",
		"/retrieveAndGenerateStream", NULL,
		"{\"retrieveAndGenerateConfiguration\":{\"knowledgeBaseConfiguration\":"
		"{\"knowledgeBaseId\":\"KB9\"}}}");
	ex_respond(&r.ex, 200, "application/vnd.amazon.eventstream", buf, n);
	run_exchange(&r, ctx);
	assert_string_equal(r.span->name, "retrieve_and_generate KB9");
	assert_int_equal(iattr(r.span, "bedtrace.retrieval.citations"), 1);
	assert_string_equal(sattr(r.span, "aws.bedrock.guardrail.action"), "NONE");
	assert_non_null(strstr(sattr(r.span, "gen_ai.output.messages"), "Refunds within 30 days."));
	assert_true(has(r.span, "gen_ai.response.time_to_first_chunk"));
	run_free(&r);

	ex_init(&r.ex, "bedrock-runtime.us-east-1.amazonaws.com",
		"/guardrail/gr-abc/version/2/apply", NULL,
		"{\"source\":\"INPUT\",\"content\":[{\"text\":{\"text\":\"hello\"}}]}");
	respond_json(&r.ex, 200,
		     "{\"action\":\"GUARDRAIL_INTERVENED\",\"outputs\":[{\"text\":\"blocked\"}],"
		     "\"usage\":{\"topicPolicyUnits\":1,\"contentPolicyUnits\":2}}");
	run_exchange(&r, ctx);
	assert_string_equal(r.span->name, "apply_guardrail gr-abc");
	assert_string_equal(sattr(r.span, "aws.bedrock.guardrail.id"), "gr-abc");
	assert_string_equal(sattr(r.span, "aws.bedrock.guardrail.version"), "2");
	assert_string_equal(sattr(r.span, "aws.bedrock.guardrail.source"), "INPUT");
	assert_string_equal(sattr(r.span, "aws.bedrock.guardrail.action"), "GUARDRAIL_INTERVENED");
	assert_int_equal(iattr(r.span, "aws.bedrock.guardrail.units"), 3);
	run_free(&r);

	ex_init(&r.ex, "bedrock-runtime.us-east-1.amazonaws.com",
		"/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/count-tokens", NULL,
		"{\"input\":{\"converse\":{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":"
		"\"hi\"}]}]}}}");
	respond_json(&r.ex, 200, "{\"inputTokens\":9}");
	run_exchange(&r, ctx);
	assert_string_equal(r.span->name, "count_tokens anthropic.claude-3-5-haiku-20241022-v1:0");
	assert_int_equal(iattr(r.span, "aws.bedrock.count_tokens.input_tokens"), 9);
	assert_false(has(r.span, "gen_ai.usage.input_tokens")); /* counting is not usage */
	assert_false(has(r.span, "bedtrace.cost.usd"));
	run_free(&r);
	bedrock_ctx_free(ctx);
}

/* The generated cassettes of tests/data/eventstream (facts in tests/bedrock/gen/EXPECTED.md). */
static void run_generated(struct run *r, struct bedrock_ctx *ctx, const char *file, size_t idx)
{
	char path[256];
	struct cassette c;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "tests/data/eventstream/%s", file);
	if (cassette_load_path(path, &c))
		fail_msg("cannot load %s", path);
	cassette_exchange(&c.it[idx], &r->ex, T0);
	cassette_free(&c);
	run_exchange(r, ctx);
}

static void test_bedrock_generated_runtime_cassettes(void **state)
{
	struct bedrock_ctx *ctx = bedrock_ctx_new(&(struct bedrock_opts){0});
	struct run r;

	(void)state;
	run_generated(&r, ctx, "converse_throttled.yaml", 0);
	assert_string_equal(r.span->name, "chat amazon.titan-text-express-v1");
	assert_string_equal(sattr(r.span, "error.type"), "ThrottlingException");
	assert_false(has(r.span, "gen_ai.usage.input_tokens"));
	run_free(&r);
	run_generated(&r, ctx, "converse_throttled.yaml", 1);
	assert_int_equal(r.span->status, BT_STATUS_UNSET);
	assert_usage(r.span, 6, 5);
	assert_finish(r.span, "end_turn");
	assert_int_equal(iattr(r.span, "aws.sdk.attempt"), 2);
	assert_int_equal(iattr(r.span, "bedtrace.retry.previous_attempts"), 1);
	assert_int_equal(iattr(r.span, "bedtrace.bedrock.throttle_count"), 1);
	assert_int_equal(bedrock_ctx_throttles(ctx), 1);
	run_free(&r);

	run_generated(&r, ctx, "converse_stream_exception.yaml", 0);
	assert_string_equal(r.span->name, "chat amazon.nova-lite-v1:0");
	assert_string_equal(sattr(r.span, "error.type"), "ModelStreamErrorException");
	assert_int_equal(r.span->status, BT_STATUS_ERROR);
	assert_true(has(r.span, "gen_ai.response.time_to_first_chunk"));
	assert_false(has(r.span, "gen_ai.usage.input_tokens"));
	assert_false(has(r.span, "gen_ai.response.finish_reasons"));
	run_free(&r);

	run_generated(&r, ctx, "corrupt_stream.yaml", 0);
	assert_string_equal(r.span->name, "chat anthropic.claude-v2:1");
	assert_string_equal(sattr(r.span, "error.type"), "bedtrace.eventstream.corrupt");
	assert_string_equal(r.span->status_message, sattr(r.span, "bedtrace.eventstream.error"));
	assert_string_equal(sattr(r.span, "gen_ai.response.id"),
			    "msg_bdrk_01CorruptStreamTest00001");
	assert_int_equal(iattr(r.span, "gen_ai.usage.input_tokens"), 14);
	assert_false(has(r.span, "gen_ai.response.finish_reasons"));
	assert_true(has(r.span, "gen_ai.response.time_to_first_chunk")); /* from frame 0 */
	run_free(&r);
	assert_int_equal(bedrock_ctx_throttles(ctx), 1);
	bedrock_ctx_free(ctx);
}

/* The stitcher's totals and metrics read span->usage: it must say what the attributes say. */
static void test_bedrock_typed_usage_matches_attributes(void **state)
{
	struct bedrock_ctx *ctx = bedrock_ctx_new(&(struct bedrock_opts){0});
	struct run r = {0};

	(void)state;
	run_cassette(&r, "test_converse_with_content.yaml", 0, false);
	assert_usage(r.span, 8, 10);
	assert_true(r.span->usage.has_tokens && r.span->usage.has_cost);
	assert_int_equal(r.span->usage.input_tokens, 8);
	assert_int_equal(r.span->usage.output_tokens, 10);
	assert_true(r.span->usage.cost_usd > 0);
	assert_false(r.span->usage.includes_children);
	check_typed_usage(r.span);
	run_free(&r);

	/* streamed: the counts come from the metadata event */
	run_cassette(&r, "test_converse_stream_with_content.yaml", 0, false);
	assert_int_equal(r.span->usage.input_tokens, 8);
	assert_int_equal(r.span->usage.output_tokens, 10);
	assert_true(r.span->usage.has_cost);
	check_typed_usage(r.span);
	run_free(&r);

	run_cassette(&r,
		     "test_invoke_model_with_response_stream_with_content[anthropic.claude].yaml",
		     0, false);
	assert_true(r.span->usage.has_tokens);
	check_typed_usage(r.span);
	run_free(&r);

	/* cache reads and writes are part of the input, in both */
	memset(&r, 0, sizeof(r));
	ex_init(&r.ex, "bedrock-runtime.us-west-2.amazonaws.com",
		"/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse", NULL, "{}");
	respond_json(&r.ex, 200,
		     "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[]}},"
		     "\"usage\":{\"inputTokens\":10,\"outputTokens\":20,"
		     "\"cacheReadInputTokens\":1000,\"cacheWriteInputTokens\":500}}");
	run_exchange(&r, ctx);
	assert_int_equal(r.span->usage.input_tokens, 1510);
	assert_int_equal(r.span->usage.cache_read_tokens, 1000);
	assert_int_equal(r.span->usage.cache_write_tokens, 500);
	check_typed_usage(r.span);
	run_free(&r);

	/* no price: tokens without a cost */
	memset(&r, 0, sizeof(r));
	ex_init(&r.ex, "bedrock-runtime.us-east-1.amazonaws.com",
		"/model/writer.palmyra-x5-v1%3A0/invoke", NULL, "{\"whatever\":1}");
	respond_json(&r.ex, 200, "{\"answer\":\"...\"}");
	hdr_add(&r.ex.resp, "X-Amzn-Bedrock-Output-Token-Count", "7");
	run_exchange(&r, ctx);
	assert_true(r.span->usage.has_tokens);
	assert_false(r.span->usage.has_cost);
	assert_int_equal(r.span->usage.output_tokens, 7);
	check_typed_usage(r.span);
	run_free(&r);

	/* an error answer carries no usage: typed usage stays empty */
	run_cassette(&r, "test_converse_with_invalid_model.yaml", 0, false);
	assert_false(r.span->usage.has_tokens || r.span->usage.has_cost);
	check_typed_usage(r.span);
	run_free(&r);
	bedrock_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bedrock_converse_cassette),
	    cmocka_unit_test(test_bedrock_invalid_model_is_error),
	    cmocka_unit_test(test_bedrock_converse_stream_cassette),
	    cmocka_unit_test(test_bedrock_converse_stream_tool_call_content),
	    cmocka_unit_test(test_bedrock_converse_tool_call_cassette),
	    cmocka_unit_test(test_bedrock_invoke_model_families),
	    cmocka_unit_test(test_bedrock_invoke_model_response_ids),
	    cmocka_unit_test(test_bedrock_invoke_model_tool_call_cassette),
	    cmocka_unit_test(test_bedrock_invoke_model_streams),
	    cmocka_unit_test(test_bedrock_anthropic_stream_content),
	    cmocka_unit_test(test_bedrock_no_secrets_any_cassette),
	    cmocka_unit_test(test_bedrock_match_hosts),
	    cmocka_unit_test(test_bedrock_match_proxy_by_scope_or_bearer),
	    cmocka_unit_test(test_bedrock_retries_and_throttles),
	    cmocka_unit_test(test_bedrock_retry_lru_is_bounded),
	    cmocka_unit_test(test_bedrock_stream_exception_event),
	    cmocka_unit_test(test_bedrock_corrupt_and_truncated_streams),
	    cmocka_unit_test(test_bedrock_cache_tokens_and_header_fallback),
	    cmocka_unit_test(test_bedrock_custom_price_table),
	    cmocka_unit_test(test_bedrock_knowledge_base_and_guardrail),
	    cmocka_unit_test(test_bedrock_generated_runtime_cassettes),
	    cmocka_unit_test(test_bedrock_typed_usage_matches_attributes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
