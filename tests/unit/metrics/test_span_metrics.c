// SPDX-License-Identifier: MIT
/*
 * Tests for user/metrics/span_metrics.c: which instrument each kind of finished span feeds, with
 * which attributes; tokens and cost counted once per model call (not again from a parent whose
 * usage sums its children); throttles, retries, guardrail interventions, time to first chunk and
 * time per output chunk; capture-health totals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "metrics/prom_text.h"
#include "metrics/span_metrics.h"
#include "span/semconv.h"

struct fixture {
	struct metrics *m;
	struct span_metrics *sm;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->m = metrics_new(NULL);
	f->sm = span_metrics_new(f->m);
	assert_non_null(f->sm);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	span_metrics_free(f->sm);
	metrics_free(f->m);
	free(f);
	return 0;
}

static char *render(struct fixture *f)
{
	size_t len;
	char *t = prom_text_render(f->m, &len);

	assert_non_null(t);
	return t;
}

static struct bt_span *span(const char *name, enum bt_span_kind kind, double seconds)
{
	struct bt_span *s = bt_span_new(name, kind);

	s->start_ns = 1000000000000ull;
	s->end_ns = s->start_ns + (uint64_t)(seconds * 1e9);
	return s;
}

static struct bt_span *model_call(const char *model, double seconds, int64_t in, int64_t out)
{
	struct bt_span *s = span("chat", BT_KIND_CLIENT, seconds);

	bt_attrs_set_str(&s->attrs, ATTR_HTTP_REQUEST_METHOD, "POST");
	bt_attrs_set_int(&s->attrs, ATTR_HTTP_RESPONSE_STATUS_CODE, 200);
	bt_attrs_set_str(&s->attrs, ATTR_SERVER_ADDRESS, "bedrock-runtime.us-east-1.amazonaws.com");
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_PROVIDER_NAME, GEN_AI_PROVIDER_AWS_BEDROCK);
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_OPERATION_NAME, "chat");
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_REQUEST_MODEL, model);
	s->usage.has_tokens = true;
	s->usage.input_tokens = in;
	s->usage.output_tokens = out;
	s->usage.has_cost = true;
	s->usage.cost_usd = 0.25;
	return s;
}

static void record(struct fixture *f, struct bt_span *s)
{
	span_metrics_record(f->sm, s);
	bt_span_free(s);
}

static void test_function_spans(void **state)
{
	struct fixture *f = *state;
	struct bt_span *s;
	char *t;

	s = span("retrieve", BT_KIND_INTERNAL, 0.03);
	bt_attrs_set_str(&s->attrs, ATTR_CODE_FUNCTION_NAME, "retrieve");
	bt_attrs_set_str(&s->attrs, ATTR_BEDTRACE_OBJECT_PATH, "/srv/app");
	bt_attrs_set_int(&s->attrs, ATTR_THREAD_ID, 77); /* not a metric attribute */
	record(f, s);
	s = span("retrieve", BT_KIND_INTERNAL, 0.2);
	bt_attrs_set_str(&s->attrs, ATTR_CODE_FUNCTION_NAME, "retrieve");
	bt_attrs_set_str(&s->attrs, ATTR_BEDTRACE_OBJECT_PATH, "/srv/app");
	bt_attrs_set_str(&s->attrs, ATTR_BEDTRACE_END_REASON, "unwind");
	bt_span_set_status(s, BT_STATUS_ERROR, "left by unwinding");
	record(f, s);
	t = render(f);
	assert_non_null(strstr(t, "bedtrace_function_duration_seconds_count{bedtrace_object_path="
				  "\"/srv/app\",code_function_name=\"retrieve\"} 1\n"));
	assert_non_null(strstr(t,
			       "bedtrace_function_duration_seconds_count{bedtrace_object_path="
			       "\"/srv/app\",code_function_name=\"retrieve\",error_type=\"unwind\","
			       "otel_status_code=\"ERROR\"} 1\n"));
	assert_non_null(strstr(t,
			       "bedtrace_function_duration_seconds_bucket{bedtrace_object_path="
			       "\"/srv/app\",code_function_name=\"retrieve\",le=\"0.025\"} 0\n"));
	assert_non_null(strstr(t, "bedtrace_function_duration_seconds_bucket{bedtrace_object_path="
				  "\"/srv/app\",code_function_name=\"retrieve\",le=\"0.05\"} 1\n"));
	assert_null(strstr(t, "thread_id"));
	free(t);
}

static void test_http_client_and_server(void **state)
{
	struct fixture *f = *state;
	struct bt_span *s;
	char *t;

	s = span("GET", BT_KIND_CLIENT, 0.02);
	bt_attrs_set_str(&s->attrs, ATTR_HTTP_REQUEST_METHOD, "GET");
	bt_attrs_set_int(&s->attrs, ATTR_HTTP_RESPONSE_STATUS_CODE, 503);
	bt_attrs_set_str(&s->attrs, ATTR_ERROR_TYPE, "503");
	bt_attrs_set_str(&s->attrs, ATTR_SERVER_ADDRESS, "example.com");
	bt_attrs_set_int(&s->attrs, ATTR_SERVER_PORT, 443);
	bt_attrs_set_str(&s->attrs, ATTR_NETWORK_PROTOCOL_VERSION, "2");
	bt_attrs_set_str(&s->attrs, ATTR_URL_FULL, "https://example.com/secret?x=1");
	record(f, s);
	s = span("POST", BT_KIND_SERVER, 0.004);
	bt_attrs_set_str(&s->attrs, ATTR_HTTP_REQUEST_METHOD, "POST");
	bt_attrs_set_int(&s->attrs, ATTR_HTTP_RESPONSE_STATUS_CODE, 200);
	bt_attrs_set_str(&s->attrs, ATTR_URL_SCHEME, "http");
	bt_attrs_set_str(&s->attrs, ATTR_NETWORK_PROTOCOL_VERSION, "1.1");
	record(f, s);
	t = render(f);
	assert_non_null(strstr(
	    t, "http_client_request_duration_seconds_count{error_type=\"503\",http_request_method="
	       "\"GET\",http_response_status_code=\"503\",network_protocol_version=\"2\","
	       "server_address=\"example.com\",server_port=\"443\"} 1\n"));
	assert_non_null(strstr(t, "http_server_request_duration_seconds_count{http_request_method="
				  "\"POST\",http_response_status_code=\"200\","
				  "network_protocol_version=\"1.1\",url_scheme=\"http\"} 1\n"));
	/* URLs are unbounded: never a label */
	assert_null(strstr(t, "secret"));
	free(t);
}

static void test_model_calls(void **state)
{
	struct fixture *f = *state;
	struct bt_span *s;
	char *t;

	s = model_call("m1", 1.5, 100, 20);
	s->usage.cache_read_tokens = 40;
	bt_attrs_set_double(&s->attrs, ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, 0.3);
	s->chunk_gaps = calloc(3, sizeof(*s->chunk_gaps));
	s->chunk_gaps[0] = 0.02f;
	s->chunk_gaps[1] = 0.03f;
	s->chunk_gaps[2] = 0.6f;
	s->n_chunk_gaps = 3;
	record(f, s);
	s = model_call("m1", 0.5, 10, 5);
	bt_attrs_set_int(&s->attrs, ATTR_HTTP_RESPONSE_STATUS_CODE, 429);
	bt_attrs_set_str(&s->attrs, ATTR_ERROR_TYPE, "ThrottlingException");
	s->usage.has_tokens = false;
	s->usage.has_cost = false;
	record(f, s);
	s = model_call("m1", 0.7, 10, 5);
	bt_attrs_set_int(&s->attrs, ATTR_BEDTRACE_RETRY_PREVIOUS_ATTEMPTS, 1);
	bt_attrs_set_str(&s->attrs, ATTR_AWS_BEDROCK_GUARDRAIL_ACTION, "GUARDRAIL_INTERVENED");
	record(f, s);
	t = render(f);
	assert_non_null(strstr(t,
			       "gen_ai_client_operation_duration_seconds_count{gen_ai_operation_"
			       "name=\"chat\",gen_ai_provider_name=\"aws.bedrock\",gen_ai_request_"
			       "model=\"m1\",server_address=\"bedrock-runtime.us-east-1."
			       "amazonaws.com\"} 2\n"));
	assert_non_null(strstr(t, "gen_ai_client_operation_duration_seconds_count{error_type="
				  "\"ThrottlingException\",gen_ai_operation_name=\"chat\""));
	assert_non_null(strstr(t, "gen_ai_token_type=\"input\",server_address=\"bedrock-runtime.us-"
				  "east-1.amazonaws.com\"} 110\n"));
	assert_non_null(strstr(t,
			       "gen_ai_token_type=\"output\",server_address=\"bedrock-runtime.us-"
			       "east-1.amazonaws.com\"} 25\n"));
	assert_non_null(
	    strstr(t, "bedtrace_gen_ai_cost_USD_total{gen_ai_operation_name=\"chat\","
		      "gen_ai_provider_name=\"aws.bedrock\",gen_ai_request_model=\"m1\","
		      "server_address=\"bedrock-runtime.us-east-1.amazonaws.com\"} 0.5\n"));
	assert_non_null(strstr(t, "bedtrace_gen_ai_cache_read_input_tokens_total{"));
	assert_non_null(strstr(t, "amazonaws.com\"} 40\n"));
	assert_non_null(strstr(t, "bedtrace_gen_ai_throttles_total{"));
	assert_non_null(strstr(t, "bedtrace_gen_ai_retries_total{"));
	assert_non_null(strstr(t, "bedtrace_gen_ai_guardrail_interventions_total{aws_bedrock_"
				  "guardrail_action=\"GUARDRAIL_INTERVENED\""));
	assert_non_null(strstr(t, "gen_ai_client_operation_time_to_first_chunk_seconds_count{"));
	assert_non_null(strstr(t, "gen_ai_client_operation_time_per_output_chunk_seconds_count{gen_"
				  "ai_operation_name=\"chat\",gen_ai_provider_name=\"aws.bedrock\","
				  "gen_ai_request_model=\"m1\",server_address=\"bedrock-runtime.us-"
				  "east-1.amazonaws.com\"} 3\n"));
	assert_non_null(strstr(t, "le=\"0.025\"} 1\n"));
	free(t);
}

static void test_usage_summing_children_counts_once(void **state)
{
	struct fixture *f = *state;
	struct bt_span *parent = model_call("agent", 3, 300, 30), *child;
	char *t;

	/* an InvokeAgent span whose usage is its model invocations' sum */
	bt_attrs_set_str(&parent->attrs, ATTR_GEN_AI_OPERATION_NAME, "invoke_agent");
	parent->usage.includes_children = true;
	parent->usage.cost_usd = 3;
	child = span("chat m", BT_KIND_INTERNAL, 1);
	bt_attrs_set_str(&child->attrs, ATTR_GEN_AI_OPERATION_NAME, "chat");
	bt_attrs_set_str(&child->attrs, ATTR_GEN_AI_REQUEST_MODEL, "m");
	child->usage.has_tokens = true;
	child->usage.input_tokens = 300;
	child->usage.output_tokens = 30;
	child->usage.has_cost = true;
	child->usage.cost_usd = 3;
	record(f, parent);
	record(f, child);
	t = render(f);
	assert_non_null(strstr(t, "gen_ai_invoke_agent_duration_seconds_count{"));
	assert_non_null(strstr(t, "bedtrace_gen_ai_cost_USD_total{gen_ai_operation_name=\"chat\","
				  "gen_ai_request_model=\"m\"} 3\n"));
	assert_null(strstr(t, "bedtrace_gen_ai_cost_USD_total{gen_ai_operation_name=\"invoke_"));
	/* the agent's own model invocation is not a client operation of this process */
	assert_null(strstr(t,
			   "gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="
			   "\"chat\",gen_ai_request_model=\"m\""));
	free(t);
}

static void test_loss_records_are_not_measured(void **state)
{
	struct fixture *f = *state;
	struct bt_span *s = span(ATTR_BEDTRACE_CAPTURE_LOSS, BT_KIND_INTERNAL, 1);
	char *t;

	bt_attrs_set_str(&s->attrs, ATTR_CODE_FUNCTION_NAME, "x");
	record(f, s);
	t = render(f);
	assert_string_equal(t, "");
	free(t);
}

static void test_capture_totals(void **state)
{
	struct fixture *f = *state;
	struct metrics_capture c = {.events = 10, .bytes = 4096, .selected = 3, .traced = 2};
	char *t;

	c.lost[0].reason = "call_events";
	c.lost[0].n = 5;
	c.n_lost = 1;
	c.exports[0].signal = "traces";
	c.exports[0].exporter = "otlp";
	c.exports[0].exported = 100;
	c.exports[0].dropped[0].reason = "unsent";
	c.exports[0].dropped[0].n = 4;
	c.n_exports = 1;
	span_metrics_capture(f->sm, &c);
	c.events = 25;
	c.traced = 1;
	span_metrics_capture(f->sm, &c);
	t = render(f);
	assert_non_null(strstr(t, "bedtrace_capture_events_total 25\n"));
	assert_non_null(strstr(t, "bedtrace_capture_bytes_total 4096\n"));
	assert_non_null(
	    strstr(t, "bedtrace_capture_lost_total{bedtrace_loss_reason=\"call_events\"} 5\n"));
	assert_non_null(strstr(t, "bedtrace_processes_traced 1\n"));
	assert_non_null(strstr(t, "bedtrace_export_items_total{bedtrace_exporter=\"otlp\","
				  "bedtrace_signal=\"traces\"} 100\n"));
	assert_non_null(strstr(t, "bedtrace_export_dropped_total{bedtrace_drop_reason=\"unsent\","
				  "bedtrace_exporter=\"otlp\",bedtrace_signal=\"traces\"} 4\n"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_function_spans, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_http_client_and_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_calls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_summing_children_counts_once, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_loss_records_are_not_measured, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capture_totals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
