// SPDX-License-Identifier: MIT
/*
 * Unit tests for reader.c: every span field and flag from hand-written OTLP JSON lines, ids,
 * key order, string escapes, kept attributes (fixed set, --by keys, all), shared attribute
 * sets, malformed lines among good ones, a line of several MB, gzip input (by content,
 * concatenated members, truncated), files that cannot be opened.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "export/otlp_json.h"
#include "report/report.h"
#include "span/semconv.h"
#include "span/span.h"

#define RES                                                                                        \
	"{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"rag\"}},"         \
	"{\"key\":\"host.name\",\"value\":{\"stringValue\":\"h1\"}},"                              \
	"{\"key\":\"process.pid\",\"value\":{\"intValue\":\"4242\"}},"                             \
	"{\"key\":\"service.version\",\"value\":{\"stringValue\":\"1.2\"}},"                       \
	"{\"key\":\"telemetry.sdk.name\",\"value\":{\"stringValue\":\"bedtrace\"}}]}"
#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
/* one request of one resource holding the spans @spans (a JSON array's contents) */
#define REQ(spans)                                                                                 \
	"{\"resourceSpans\":[{\"resource\":" RES ",\"scopeSpans\":[{\"scope\":{\"name\":\"t\"},"   \
	"\"spans\":[" spans "]}]}]}"
#define SPAN(sid, name, attrs)                                                                     \
	"{\"traceId\":\"" TID "\",\"spanId\":\"" sid "\",\"name\":\"" name "\",\"kind\":1,"        \
	"\"startTimeUnixNano\":\"1000\",\"endTimeUnixNano\":\"3000\",\"attributes\":[" attrs "]}"
#define A_S(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"
#define A_I(k, v) "{\"key\":\"" k "\",\"value\":{\"intValue\":\"" v "\"}}"
#define A_B(k, v) "{\"key\":\"" k "\",\"value\":{\"boolValue\":" v "}}"

static int read_text(struct rp_dataset *ds, const char *text, const struct rp_read_opts *o)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	assert_non_null(f);
	err = rp_read_stream(ds, f, "mem", o);
	fclose(f);
	return err;
}

static const char *attr(const struct rp_dataset *ds, size_t i, const char *key)
{
	return rp_attr_of(ds, &ds->spans[i], key);
}

static void test_reader_fields(void **state)
{
	static const char
	    text[] =
		"{\"resourceSpans\":[{\"resource\":" RES ",\"scopeSpans\":[{\"spans\":[{"
		"\"traceId\":\"" TID "\",\"spanId\":\"00f067aa0ba902b7\","
		"\"parentSpanId\":\"a000000000000001\",\"name\":\"chat claude\",\"kind\":3,"
		"\"startTimeUnixNano\":\"1738818751133000000\",\"endTimeUnixNano\":"
		"1738818751292000000,"
		"\"status\":{\"code\":2,\"message\":\"x\"},\"events\":[{\"name\":\"e\"}],"
		"\"attributes\":[" A_S("gen_ai.request.model", "anthropic.claude") "," A_S(
		    "gen_ai.operation.name",
		    "chat") "," A_I("gen_ai.usage.input_tokens",
				    "1200") ","
					    "{\"key\":\"gen_ai.usage.output_tokens\",\"value\":{"
					    "\"intValue\":345}}," A_I(
						"gen_ai.usage.cache_read.input_tokens",
						"600") "," A_I("gen_ai.usage.cache_creation.input_"
							       "tokens",
							       "7") ","
								    "{\"key\":\"bedtrace.cost."
								    "usd\",\"value\":{"
								    "\"doubleValue\":0.0125}},"
								    "{\"key\":\"gen_ai.response."
								    "time_to_first_chunk\","
								    "\"value\":{\"doubleValue\":0."
								    "25}}," A_B("bedtrace.cost."
										"includes_children",
										"true") ","
											"{\"key\":"
											"\"gen_ai."
											"response."
											"finish_"
											"reasons\","
											"\"value\":"
											"{\"arrayVa"
											"lue\":{"
											"\"values\""
											":["
											"{\"stringV"
											"alue\":"
											"\"tool_"
											"use\"},{"
											"\"stringVa"
											"lue\":"
											"\"max_"
											"tokens\"}]"
											"}}}," A_S("aws.bedrock.guardrail.action", "INTERVENED") "," A_I(
											    "http."
											    "respon"
											    "se."
											    "status"
											    "_code",
											    "429") "," A_S("error."
													   "type",
													   "Thrott"
													   "lingEx"
													   "ceptio"
													   "n") "," A_I("bedtrace.retry.previous_attempts",
															"2") "," A_S("url.full",
																     "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse") "," A_S("aws.request_id",
																										 "r-1") "]}]}]}]}\n";
	struct rp_dataset ds = {0};
	const struct rp_span *s;
	uint8_t pid[8] = {0xa0, 0, 0, 0, 0, 0, 0, 1};

	(void)state;
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.n_spans, 1);
	assert_int_equal(ds.lines, 1);
	assert_int_equal(ds.bad_lines, 0);
	s = &ds.spans[0];
	assert_int_equal(s->trace_id[0], 0x4b);
	assert_int_equal(s->trace_id[15], 0x36);
	assert_int_equal(s->span_id[0], 0x00);
	assert_int_equal(s->span_id[7], 0xb7);
	assert_memory_equal(s->parent_id, pid, 8);
	assert_true(s->start_ns == 1738818751133000000ull);
	assert_true(s->end_ns == 1738818751292000000ull);
	assert_string_equal(rp_str_of(&ds, s->name), "chat claude");
	assert_string_equal(rp_str_of(&ds, s->service), "rag");
	assert_string_equal(rp_str_of(&ds, s->host), "h1");
	assert_int_equal(s->pid, 4242);
	assert_int_equal(s->kind, 3);
	assert_string_equal(rp_str_of(&ds, s->model), "anthropic.claude");
	assert_string_equal(rp_str_of(&ds, s->operation), "chat");
	assert_string_equal(rp_str_of(&ds, s->error_type), "ThrottlingException");
	assert_int_equal(s->input_tokens, 1200);
	assert_int_equal(s->output_tokens, 345);
	assert_int_equal(s->cache_read_tokens, 600);
	assert_int_equal(s->cache_write_tokens, 7);
	assert_true(s->cost_usd == 0.0125);
	assert_true(s->ttfc_s == 0.25f);
	assert_int_equal(s->file, 0);
	assert_int_equal(s->flags, RP_ERROR | RP_THROTTLED | RP_RETRY | RP_MAX_TOKENS |
				       RP_GUARDRAIL | RP_USAGE_CHILDREN | RP_HAS_TOKENS |
				       RP_HAS_COST | RP_HAS_TTFC);
	/* the fixed display set, service.version from the resource; not aws.request_id */
	assert_string_equal(attr(&ds, 0, "gen_ai.response.finish_reasons"), "tool_use,max_tokens");
	assert_string_equal(attr(&ds, 0, "gen_ai.usage.output_tokens"), "345");
	assert_string_equal(attr(&ds, 0, "bedtrace.cost.usd"), "0.0125");
	assert_string_equal(attr(&ds, 0, "http.response.status_code"), "429");
	assert_string_equal(attr(&ds, 0, "service.version"), "1.2");
	assert_string_equal(attr(&ds, 0, "gen_ai.request.model"), "anthropic.claude");
	assert_non_null(attr(&ds, 0, "url.full"));
	assert_null(attr(&ds, 0, "aws.request_id"));
	assert_null(attr(&ds, 0, "telemetry.sdk.name"));
	assert_int_equal(ds.n_files, 1);
	assert_string_equal(ds.files[0], "mem");
	rp_dataset_free(&ds);
}

static void test_reader_flags(void **state)
{
	static const char text[] =
	    REQ(
		SPAN(
		    "0000000000000001", "a",
		    A_B("bedtrace.capture.truncated",
			"true")) "," SPAN("0000000000000002", "b",
					  A_B("bedtrace.capture.incomplete",
					      "true")) "," SPAN("0000000000000003", "c", A_I("bedtrace.capture.lost_bytes", "10")) "," SPAN("0000000000000004", "d", A_B("bedtrace.span.incomplete", "true")) "," SPAN("0000000000000005", "bedtrace.capture.loss", "") "," SPAN("0000000000000006", "f", A_S("gen_ai.response.finish_reasons", "stop,length")) "," SPAN("0000000000000007",
																																													 "g", A_S("aws.bedrock.guardrail.action", "NONE")) "," SPAN("0000000000000008", "h", A_S("error.type", "ThrottlingException")) "," SPAN("0000000000000009",
																																																														"i",
																																																														A_I("bedtrace.retry.previous_attempts",
																																																														    "0") "," A_B("bedtrace.capture.truncated",
																																																																 "false") "," A_I("bedtrace.capture.lost_bytes",
																																																																		  "0") "," A_I("http.response.status_code", "200")) "," SPAN("000000000000000a",
																																																																									     "j",
																																																																									     A_I("gen_ai.usage.input_tokens",
																																																																										 "5"))) "\n";
	static const uint16_t want[] = {RP_TRUNCATED,
					RP_TRUNCATED,
					RP_TRUNCATED,
					RP_INCOMPLETE,
					RP_LOSS_RECORD,
					RP_MAX_TOKENS,
					0,
					RP_THROTTLED,
					0,
					RP_HAS_TOKENS};
	struct rp_dataset ds = {0};
	size_t i;

	(void)state;
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.n_spans, 10);
	for (i = 0; i < 10; i++) {
		assert_int_equal(ds.spans[i].flags, want[i]);
		assert_int_equal(ds.spans[i].kind, 1);
	}
	rp_dataset_free(&ds);
}

static void test_reader_ids(void **state)
{
	static const char text[] =
	    /* upper case hex, an empty parent (a root) */
	    REQ("{\"traceId\":\"4BF92F3577B34DA6A3CE929D0E0E4736\",\"spanId\":\"00F067AA0BA902B7\","
		"\"parentSpanId\":\"\",\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}") "\n"
	    /* bad hex in the trace id, short span id, bad parent: three bad lines */
	    REQ("{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e47zz\",\"spanId\":\"00f067aa0ba902b7\","
		"\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}") "\n" REQ("{\"traceId\":"
										   "\"" TID
										   "\",\"spanId\":"
										   "\"00f067aa0ba90"
										   "2\","
										   "\"startTimeUnix"
										   "Nano\":\"1\","
										   "\"endTimeUnixNa"
										   "no\":\"2\"}") "\n" REQ("{\"traceId\":\"" TID
													   "\",\"spanId\":\"00f067aa0ba902b7\",\"parentSpanId\":\"x\","
													   "\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}") "\n"
	    /* no span id; no end time; ends before it starts */
	    REQ("{\"traceId\":\"" TID "\",\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}") "\n" REQ(
		"{\"traceId\":\"" TID "\",\"spanId\":\"00f067aa0ba902b7\",\"startTimeUnixNano\":"
		"\"1\"}") "\n" REQ("{\"traceId\":\"" TID "\",\"spanId\":\"00f067aa0ba902b7\","
				   "\"startTimeUnixNano\":\"5\","
				   "\"endTimeUnixNano\":\"2\"}") "\n";
	static const uint8_t zero[8];
	struct rp_dataset ds = {0};

	(void)state;
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.lines, 7);
	assert_int_equal(ds.bad_lines, 6);
	assert_int_equal(ds.n_spans, 1);
	assert_int_equal(ds.spans[0].trace_id[0], 0x4b);
	assert_int_equal(ds.spans[0].span_id[2], 0x67);
	assert_memory_equal(ds.spans[0].parent_id, zero, 8);
	assert_int_equal(ds.spans[0].kind, 0);
	assert_int_equal(ds.spans[0].flags, 0);
	rp_dataset_free(&ds);
}

static void test_reader_malformed_middle(void **state)
{
	static const char text[] = REQ(SPAN("0000000000000001", "a", "")) "\n"
									  "not json at all\n"
									  "\n"
									  "   \r\n"
	    /* a good span then a bad one: the whole line goes */
	    REQ(SPAN(
		"0000000000000002", "b",
		"") ",{\"traceId\":1}") "\n"
					"{}\n" REQ(SPAN(
					    "0000000000000003", "c",
					    "")) " trailing\n"
						 "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":"
						 "[" SPAN(
						     "0000000000000004", "d",
						     "") "]}]}],}\n"
							 "{\"resourceMetrics\":[]}\n" REQ(SPAN(
							     "0000000000000005", "e",
							     "")) "\r\n"
								  "{\"resourceSpans\":[]}\n" REQ(
								      SPAN("0000000000000006", "f",
									   "")); /* no final newline
										  */
	struct rp_dataset ds = {0};

	(void)state;
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.lines, 10);
	assert_int_equal(ds.bad_lines, 6);
	assert_int_equal(ds.n_spans, 3);
	assert_string_equal(rp_str_of(&ds, ds.spans[0].name), "a");
	assert_string_equal(rp_str_of(&ds, ds.spans[1].name), "e");
	assert_string_equal(rp_str_of(&ds, ds.spans[2].name), "f");
	/* the taken-back spans left no attribute sets behind */
	assert_int_equal(ds.spans[2].attrs, ds.spans[0].attrs);
	rp_dataset_free(&ds);
}

static void test_reader_json_grammar(void **state)
{
	/* valid JSON in odd places: skipped values of every kind, blanks, escapes in keys */
	static const char good[] =
	    " {\"x\":[1,-2.5e+3,0.0,true,false,null,{\"a\":[]},\"s\\n\"], \"resourceSpans\" : [ {"
	    "\"schemaUrl\":\"u\",\"resource\":{\"attributes\":[]},\"scopeSpans\":[{\"spans\":[{"
	    "\"trace\\u0049d\":\"" TID
	    "\",\"spanId\":\"0000000000000001\",\"kind\":\"SPAN_KIND_SERVER\","
	    "\"status\":{\"code\":\"STATUS_CODE_ERROR\"},\"links\":[],\"flags\":257,"
	    "\"startTimeUnixNano\":1,\"endTimeUnixNano\":\"2\"}]}]}]}\t\n";
	static const char *const bad[] = {
	    REQ(SPAN("0000000000000001", "a", "")) "}",
	    "{\"resourceSpans\":[],\"x\":01}",
	    "{\"resourceSpans\":[],\"x\":1.}",
	    "{\"resourceSpans\":[],\"x\":-}",
	    "{\"resourceSpans\":[],\"x\":\"a\\x\"}",
	    "{\"resourceSpans\":[],\"x\":\"\\u12g4\"}",
	    "{\"resourceSpans\":[],\"x\":\"tab\there\"}",
	    "{\"resourceSpans\":[],\"x\":tru}",
	    "{\"resourceSpans\":[],\"x\":[1,]}",
	    "{\"resourceSpans\":[] \"x\":1}",
	    "{\"resourceSpans\":[],\"x\":\"unterminated}",
	    "{\"resourceSpans\":{}}",
	    "[1]",
	    REQ("{\"traceId\":\"" TID "\",\"spanId\":\"0000000000000001\",\"kind\":9,"
		"\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}"),
	    REQ("{\"traceId\":\"" TID "\",\"spanId\":\"0000000000000001\",\"startTimeUnixNano\":"
		"\"1x\",\"endTimeUnixNano\":\"2\"}"),
	    REQ("{\"traceId\":\"" TID "\",\"spanId\":\"0000000000000001\",\"startTimeUnixNano\":"
		"\"99999999999999999999\",\"endTimeUnixNano\":\"2\"}"),
	};
	char deep[600];
	struct rp_dataset ds = {0};
	size_t i;

	(void)state;
	assert_int_equal(read_text(&ds, good, NULL), 0);
	assert_int_equal(ds.bad_lines, 0);
	assert_int_equal(ds.n_spans, 1);
	assert_int_equal(ds.spans[0].kind, 2);
	assert_int_equal(ds.spans[0].flags, RP_ERROR);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(read_text(&ds, bad[i], NULL), 0);
		assert_int_equal(ds.bad_lines, i + 1);
	}
	assert_int_equal(ds.n_spans, 1);
	/* nesting deeper than the reader takes is a bad line, not a stack overflow */
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	memcpy(deep, "{\"x\":", 5);
	assert_int_equal(read_text(&ds, deep, NULL), 0);
	assert_int_equal(ds.bad_lines, i + 1);
	rp_dataset_free(&ds);
}

static void test_reader_escapes(void **state)
{
	static const char text[] = REQ(SPAN(
	    "0000000000000001", "q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000\\udc00",
	    A_S("code.function.name", "ns::f\\u003cint\\u003e"))) "\n";
	struct rp_dataset ds = {0};

	(void)state;
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.n_spans, 1);
	assert_string_equal(rp_str_of(&ds, ds.spans[0].name),
			    "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(attr(&ds, 0, "code.function.name"), "ns::f<int>");
	rp_dataset_free(&ds);
}

static void test_reader_key_order(void **state)
{
	/* scopeSpans before resource; value before key; status before everything */
	static const char text[] =
	    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"status\":{\"code\":1},"
	    "\"attributes\":[{\"value\":{\"stringValue\":\"m1\"},\"key\":\"gen_ai.request.model\"}]"
	    ","
	    "\"endTimeUnixNano\":\"9\",\"startTimeUnixNano\":\"4\",\"name\":\"n\","
	    "\"spanId\":\"0000000000000001\",\"traceId\":\"" TID "\"}]}],\"resource\":" RES "},"
	    /* a second resource without attributes: nothing of the first carries over */
	    "{\"resource\":{},\"instrumentationLibrarySpans\":[{\"spans\":[" SPAN(
		"0000000000000002", "m", "") "]}]}]}\n";
	struct rp_dataset ds = {0};

	(void)state;
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.bad_lines, 0);
	assert_int_equal(ds.n_spans, 2);
	assert_string_equal(rp_str_of(&ds, ds.spans[0].service), "rag");
	assert_string_equal(rp_str_of(&ds, ds.spans[0].model), "m1");
	assert_int_equal(ds.spans[0].pid, 4242);
	assert_true(ds.spans[0].start_ns == 4 && ds.spans[0].end_ns == 9);
	assert_string_equal(attr(&ds, 0, "service.version"), "1.2");
	assert_int_equal(ds.spans[1].service, 0);
	assert_int_equal(ds.spans[1].pid, 0);
	assert_null(attr(&ds, 1, "service.version"));
	rp_dataset_free(&ds);
}

static void test_reader_key_order_escapes(void **state)
{
	/* the resource is read ahead of the spans; escapes on both sides, in keys too */
	static const char text[] =
	    "{\"resourceSpans\":[{\"scopeSpans\":[{\"sp\\u0061ns\":[{\"traceId\":\"" TID "\","
	    "\"spanId\":\"0000000000000001\",\"name\":\"n\\u00e9\\n\",\"startTimeUnixNano\":\"1\","
	    "\"endTimeUnixNano\":\"2\",\"attributes\":[{\"key\":\"code.function.nam\\u0065\","
	    "\"value\":{\"stringValue\":\"f\\u00e9\"}}]}]}],\"resource\":{\"attributes\":[{\"key\":"
	    "\"service.name\",\"value\":{\"stringValue\":\"r\\u00e9s\\t\"}}]}}]}";
	struct rp_dataset ds = {0};

	(void)state;
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.bad_lines, 0);
	assert_int_equal(ds.n_spans, 1);
	assert_string_equal(rp_str_of(&ds, ds.spans[0].service), "r\xc3\xa9s\t");
	assert_string_equal(rp_str_of(&ds, ds.spans[0].name), "n\xc3\xa9\n");
	assert_string_equal(attr(&ds, 0, "code.function.name"), "f\xc3\xa9");
	rp_dataset_free(&ds);
}

static void test_reader_reads_bedtrace_output(void **state)
{
	/* what bedtrace's own encoder writes (export/otlp_json.c) reads back field for field */
	static const char *const reasons[] = {"end_turn", "max_tokens", "say \"hi\""};
	struct bt_resource *res = bt_resource_new();
	struct bt_span *root = bt_span_new("handle_request", BT_KIND_INTERNAL);
	struct bt_span *call = bt_span_new("chat anthropic.claude", BT_KIND_CLIENT);
	struct bt_span *spans[2] = {root, call};
	struct rp_dataset ds = {0};
	char *json, *line;
	size_t n;

	(void)state;
	assert_non_null(res);
	assert_non_null(root);
	assert_non_null(call);
	bt_attrs_set_str(&res->attrs, ATTR_SERVICE_NAME, "demo \"app\"");
	bt_attrs_set_str(&res->attrs, ATTR_HOST_NAME, "ip-10-0-0-1");
	bt_attrs_set_int(&res->attrs, ATTR_PROCESS_PID, 4242);
	bt_span_set_resource(root, res);
	bt_span_set_resource(call, res);
	bt_span_set_parent(call, root);
	root->start_ns = 1738818751100000000ull;
	root->end_ns = 1738818751293250000ull;
	call->start_ns = 1738818751133000000ull;
	call->end_ns = 1738818751292000000ull;
	bt_attrs_set_int(&root->attrs, ATTR_THREAD_ID, 4242);
	bt_attrs_set_str(&call->attrs, ATTR_GEN_AI_REQUEST_MODEL, "anthropic.claude");
	bt_attrs_set_str(&call->attrs, ATTR_GEN_AI_OPERATION_NAME, "chat");
	bt_attrs_set_int(&call->attrs, ATTR_GEN_AI_USAGE_INPUT_TOKENS, 1200);
	bt_attrs_set_int(&call->attrs, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, 345);
	bt_attrs_set_double(&call->attrs, ATTR_BEDTRACE_COST_USD, 0.0123456789);
	bt_attrs_set_double(&call->attrs, ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, 0.5);
	bt_attrs_set_double(&call->attrs, "x.nan", 0.0 / 0.0);
	bt_attrs_set_bool(&call->attrs, ATTR_BEDTRACE_CAPTURE_TRUNCATED, true);
	bt_attrs_set_str_array(&call->attrs, ATTR_GEN_AI_RESPONSE_FINISH_REASONS, reasons, 3);
	assert_non_null(bt_span_add_event(call, "first chunk", call->start_ns + 5));
	assert_int_equal(bt_span_set_status(call, BT_STATUS_ERROR, "boom"), 0);
	json = otlp_json_encode(spans, 2);
	assert_non_null(json);
	n = strlen(json);
	line = malloc(n + 2);
	assert_non_null(line);
	memcpy(line, json, n);
	memcpy(line + n, "\n", 2);

	assert_int_equal(read_text(&ds, line, NULL), 0);
	assert_int_equal(ds.bad_lines, 0);
	assert_int_equal(ds.n_spans, 2);
	assert_memory_equal(ds.spans[0].trace_id, root->trace_id, 16);
	assert_memory_equal(ds.spans[0].span_id, root->span_id, 8);
	assert_memory_equal(ds.spans[1].parent_id, root->span_id, 8);
	assert_memory_equal(ds.spans[1].trace_id, root->trace_id, 16);
	assert_true(ds.spans[1].start_ns == call->start_ns && ds.spans[1].end_ns == call->end_ns);
	assert_string_equal(rp_str_of(&ds, ds.spans[1].service), "demo \"app\"");
	assert_string_equal(rp_str_of(&ds, ds.spans[1].host), "ip-10-0-0-1");
	assert_int_equal(ds.spans[1].pid, 4242);
	assert_int_equal(ds.spans[0].kind, 1);
	assert_int_equal(ds.spans[1].kind, 3);
	assert_int_equal(ds.spans[1].input_tokens, 1200);
	assert_int_equal(ds.spans[1].output_tokens, 345);
	assert_true(ds.spans[1].cost_usd == 0.0123456789);
	assert_true(ds.spans[1].ttfc_s == 0.5f);
	assert_int_equal(ds.spans[1].flags, RP_ERROR | RP_TRUNCATED | RP_MAX_TOKENS |
						RP_HAS_TOKENS | RP_HAS_COST | RP_HAS_TTFC);
	assert_int_equal(ds.spans[0].flags, 0);
	assert_string_equal(attr(&ds, 1, ATTR_GEN_AI_RESPONSE_FINISH_REASONS),
			    "end_turn,max_tokens,say \"hi\"");
	assert_string_equal(attr(&ds, 0, ATTR_THREAD_ID), "4242");
	rp_dataset_free(&ds);
	free(line);
	free(json);
	bt_span_free(root);
	bt_span_free(call);
	bt_resource_put(res);
}

static void test_reader_nulls(void **state)
{
	/* proto3 JSON may write a default as null: an empty container, an absent id */
	static const char text[] =
	    "{\"resourceSpans\":[{\"resource\":null,\"scopeSpans\":[{\"scope\":null,\"spans\":[{"
	    "\"traceId\":\"" TID "\",\"spanId\":\"00f067aa0ba902b7\",\"parentSpanId\":null,"
	    "\"attributes\":null,\"status\":null,\"events\":null,\"startTimeUnixNano\":\"1\","
	    "\"endTimeUnixNano\":\"2\"}]},{\"spans\":null}]}]}\n"
	    /* but not where a span or an id must be */
	    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":null,"
	    "\"spanId\":\"00f067aa0ba902b7\",\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}"
	    "]}]}]}"
	    "\n";
	static const uint8_t zero[8];
	struct rp_dataset ds = {0};

	(void)state;
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.lines, 2);
	assert_int_equal(ds.bad_lines, 1);
	assert_int_equal(ds.n_spans, 1);
	assert_memory_equal(ds.spans[0].parent_id, zero, 8);
	assert_int_equal(ds.spans[0].attrs, 0);
	assert_int_equal(ds.spans[0].service, 0);
	rp_dataset_free(&ds);
}

static void test_reader_keep_attrs(void **state)
{
	static const char text[] =
	    REQ(SPAN("0000000000000001", "a",
		     A_S("aws.request_id", "r-1") "," A_S(
			 "host.name",
			 "span-host") ","
				      "{\"key\":\"l\",\"value\":{\"kvlistValue\":{\"values\":[]}}},"
				      "{\"key\":\"d\",\"value\":{\"doubleValue\":\"NaN\"}},"
				      "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{"
				      "\"intValue\":\"1\"},"
				      "{\"boolValue\":true}]}}}," A_B("b", "false"))) "\n";
	static const char *const keep[] = {"aws.request_id", "telemetry.sdk.name", NULL};
	struct rp_read_opts o = {.keep_attrs = keep};
	struct rp_dataset ds = {0};

	(void)state;
	assert_int_equal(read_text(&ds, text, &o), 0);
	assert_string_equal(attr(&ds, 0, "aws.request_id"), "r-1");
	assert_string_equal(attr(&ds, 0, "telemetry.sdk.name"), "bedtrace"); /* a resource key */
	assert_null(attr(&ds, 0, "b"));
	rp_dataset_free(&ds);

	o = (struct rp_read_opts){.keep_all_attrs = true};
	assert_int_equal(read_text(&ds, text, &o), 0);
	assert_string_equal(attr(&ds, 0, "aws.request_id"), "r-1");
	assert_string_equal(attr(&ds, 0, "b"), "false");
	assert_string_equal(attr(&ds, 0, "d"), "NaN");
	assert_string_equal(attr(&ds, 0, "arr"), "1,true");
	assert_string_equal(attr(&ds, 0, "l"), "{\"values\":[]}");
	assert_string_equal(attr(&ds, 0, "service.name"), "rag");
	assert_string_equal(attr(&ds, 0, "process.pid"), "4242");
	/* the span's own attribute wins over the resource's */
	assert_string_equal(attr(&ds, 0, "host.name"), "span-host");
	assert_string_equal(rp_str_of(&ds, ds.spans[0].host), "h1");
	assert_int_equal(ds.attr_sets[ds.spans[0].attrs].n, 10); /* 6 own, 4 of the resource */
	rp_dataset_free(&ds);
}

static void test_reader_shared_sets(void **state)
{
	static const char text[] = REQ(SPAN(
	    "0000000000000001", "a",
	    A_I("thread.id", "7") "," A_S(
		"code.function.name",
		"a")) "," SPAN("0000000000000002", "a",
			       A_I("thread.id", "7") "," A_S(
				   "code.function.name",
				   "a")) "," SPAN("0000000000000003", "a",
						  A_I("thread.id", "8") "," A_S(
						      "code.function.name",
						      "a"))) "\n" REQ(SPAN("0000000000000004", "a",
									   A_I("thread.id",
									       "7") "," A_S("code."
											    "functi"
											    "on."
											    "name",
											    "a"))) "\n";
	struct rp_dataset ds = {0};

	(void)state;
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.n_spans, 4);
	assert_int_not_equal(ds.spans[0].attrs, 0);
	assert_int_equal(ds.spans[1].attrs, ds.spans[0].attrs);
	assert_int_equal(ds.spans[3].attrs, ds.spans[0].attrs);
	assert_int_not_equal(ds.spans[2].attrs, ds.spans[0].attrs);
	assert_string_equal(attr(&ds, 2, "thread.id"), "8");
	assert_string_equal(attr(&ds, 3, "thread.id"), "7");
	assert_string_equal(attr(&ds, 3, "service.version"), "1.2");
	assert_int_equal(ds.n_attr_sets, 3); /* [0] unused */
	rp_dataset_free(&ds);
}

static void test_reader_huge_line(void **state)
{
	static const char head[] =
	    "{\"resourceSpans\":[{\"resource\":" RES ",\"scopeSpans\":[{\"spans\":[";
	static const char one[] = SPAN("00000000000000%02x", "s%d", A_S("url.full", "%s"));
	size_t big = 6u << 20, n = 0, i, cap = big + 4096 * 64;
	char *url = malloc(big + 1), *text = malloc(cap);
	struct rp_dataset ds = {0};

	(void)state;
	assert_non_null(url);
	assert_non_null(text);
	for (i = 0; i < big; i++)
		url[i] = (char)('a' + i % 26);
	url[big] = '\0';
	n += (size_t)snprintf(text + n, cap - n, "%s", head);
	n += (size_t)snprintf(text + n, cap - n, one, 1, 1, url); /* a 6 MB attribute */
	for (i = 2; i < 200; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "," SPAN("00000000000000%02zx", "s%zu", ""), i, i);
	n += (size_t)snprintf(text + n, cap - n, "]}]}]}\n" REQ(SPAN("00000000000000ff", "z", "")));
	assert_true(n < cap);
	assert_int_equal(read_text(&ds, text, NULL), 0);
	assert_int_equal(ds.lines, 2);
	assert_int_equal(ds.bad_lines, 0);
	assert_int_equal(ds.n_spans, 200);
	assert_int_equal(strlen(attr(&ds, 0, "url.full")), big);
	assert_string_equal(rp_str_of(&ds, ds.spans[199].name), "z");
	rp_dataset_free(&ds);
	free(url);
	free(text);
}

static void write_gz(const char *path, const char *mode, const char *text, size_t len)
{
	gzFile g = gzopen(path, mode);

	assert_non_null(g);
	assert_int_equal(gzwrite(g, text, (unsigned)len), (int)len);
	assert_int_equal(gzclose(g), Z_OK);
}

static void test_reader_gzip(void **state)
{
	static const char a[] = REQ(SPAN("0000000000000001", "a", "")) "\n";
	static const char b[] = REQ(SPAN("0000000000000002", "b", "")) "\n";
	char dir[] = "/tmp/bt_test_reader_XXXXXX", p1[64], p2[64], p3[64];
	const char *paths[2];
	struct rp_dataset ds = {0};
	FILE *f;
	long size;
	char *buf;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* gzip by content: the name does not say so; two members one after the other */
	snprintf(p1, sizeof(p1), "%s/spans.jsonl", dir);
	write_gz(p1, "wb", a, strlen(a));
	write_gz(p1, "ab", b, strlen(b));
	snprintf(p2, sizeof(p2), "%s/plain.jsonl", dir);
	f = fopen(p2, "w");
	assert_non_null(f);
	fputs(b, f);
	fclose(f);
	paths[0] = p1;
	paths[1] = p2;
	assert_int_equal(rp_read(&ds, paths, 2, NULL), 0);
	assert_int_equal(ds.n_spans, 3);
	assert_int_equal(ds.bad_lines, 0);
	assert_int_equal(ds.n_files, 2);
	assert_string_equal(ds.files[1], p2);
	assert_int_equal(ds.spans[0].file, 0);
	assert_int_equal(ds.spans[1].file, 0);
	assert_int_equal(ds.spans[2].file, 1);
	assert_string_equal(rp_str_of(&ds, ds.spans[1].name), "b");
	rp_dataset_free(&ds);

	/* cut short: what came before stays, the file is an error */
	snprintf(p3, sizeof(p3), "%s/cut.jsonl.gz", dir);
	f = fopen(p1, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	f = fopen(p3, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, (size_t)size - 20, f), (size_t)size - 20);
	fclose(f);
	paths[0] = p3;
	assert_int_equal(rp_read(&ds, paths, 1, NULL), -EIO);
	assert_int_equal(ds.n_spans, 1);
	assert_int_equal(ds.bad_lines, 0);
	rp_dataset_free(&ds);

	/* bytes after the gzip data: a warning, what came before stays, not an error */
	f = fopen(p3, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, (size_t)size, f), (size_t)size);
	fputs("\n\n junk", f);
	fclose(f);
	assert_int_equal(rp_read(&ds, paths, 1, NULL), 0);
	assert_int_equal(ds.n_spans, 2);
	assert_int_equal(ds.bad_lines, 0);
	rp_dataset_free(&ds);
	free(buf);
	unlink(p1);
	unlink(p2);
	unlink(p3);
	rmdir(dir);
}

static void test_reader_open_errors(void **state)
{
	const char *missing[] = {"/nonexistent/spans.jsonl"};
	const char *dir[] = {"/tmp"};
	struct rp_dataset ds = {0};

	(void)state;
	assert_int_equal(rp_read(&ds, missing, 1, NULL), -ENOENT);
	assert_int_equal(rp_read(&ds, dir, 1, NULL), -EISDIR);
	assert_int_equal(ds.n_files, 0);
	assert_int_equal(ds.n_spans, 0);
	rp_dataset_free(&ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reader_fields),
	    cmocka_unit_test(test_reader_flags),
	    cmocka_unit_test(test_reader_ids),
	    cmocka_unit_test(test_reader_malformed_middle),
	    cmocka_unit_test(test_reader_json_grammar),
	    cmocka_unit_test(test_reader_escapes),
	    cmocka_unit_test(test_reader_key_order),
	    cmocka_unit_test(test_reader_nulls),
	    cmocka_unit_test(test_reader_reads_bedtrace_output),
	    cmocka_unit_test(test_reader_key_order_escapes),
	    cmocka_unit_test(test_reader_keep_attrs),
	    cmocka_unit_test(test_reader_shared_sets),
	    cmocka_unit_test(test_reader_huge_line),
	    cmocka_unit_test(test_reader_gzip),
	    cmocka_unit_test(test_reader_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
