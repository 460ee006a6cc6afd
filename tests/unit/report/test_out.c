// SPDX-License-Identifier: MIT
/*
 * Tests for the outputs of `bedtrace report` (user/report/out_*.c, cli.c) on a hand-made
 * dataset and result: the JSON contract's keys and nulls, the spans of chosen traces, the
 * --trace tree (the layout scripts/print-trace.py had), the --traces listing with sort, limit
 * and offset, Chrome trace events, the text tables within a terminal width, and the command
 * line (usage errors exit 2, unreadable files 1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/cli.h"
#include "report/out.h"
#include "report/report.h"

#include "unit/report/handmade.c"

/* Text written to a FILE *, as a malloc'd string. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static void cap_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
}

static char *cap_close(struct capture *c)
{
	assert_int_equal(fclose(c->f), 0);
	return c->buf;
}

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	if (!j)
		fail_msg("not JSON: %s", s);
	return j;
}

static cJSON *get(const cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		fail_msg("no key '%s'", key);
	return v;
}

static void test_result_json_has_the_contract_keys(void **state)
{
	static const char *const top[] = {"spans",	    "traces",	  "hosts",
					  "services",	    "operations", "models",
					  "slowest_traces", "findings",	  "regressions"};
	static const char *const op_keys[] = {"service", "kind",    "name",	"count",
					      "errors",	 "p50_ms",  "p90_ms",	"p99_ms",
					      "max_ms",	 "mean_ms", "total_ms", "self_ms"};
	static const char *const model_keys[] = {"model",
						 "operation",
						 "calls",
						 "errors",
						 "throttles",
						 "retries",
						 "input_tokens",
						 "output_tokens",
						 "cache_read_input_tokens",
						 "cache_creation_input_tokens",
						 "cost_usd",
						 "p50_ms",
						 "p99_ms",
						 "ttfc_p50_ms",
						 "ttfc_p99_ms"};
	static const char *const reg_keys[] = {
	    "service",	       "kind",	 "name",      "baseline_p50_ms", "p50_ms",
	    "baseline_p99_ms", "p99_ms", "p50_ratio", "p50_ratio_ci",	 "significant"};
	struct rp_result r;
	cJSON *j, *op, *m, *t, *f, *g, *ci;
	char *s;
	size_t i;

	(void)state;
	handmade_result(&r);
	s = rp_result_json(&r);
	assert_non_null(s);
	j = parse(s);
	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		get(j, top[i]);
	assert_int_equal(get(j, "spans")->valuedouble, 6);
	assert_int_equal(get(j, "traces")->valuedouble, 2);
	assert_string_equal(cJSON_GetArrayItem(get(j, "hosts"), 1)->valuestring, "h2");
	assert_int_equal(cJSON_GetArraySize(get(j, "operations")), 2);
	op = cJSON_GetArrayItem(get(j, "operations"), 0);
	for (i = 0; i < sizeof(op_keys) / sizeof(op_keys[0]); i++)
		get(op, op_keys[i]);
	assert_string_equal(get(op, "kind")->valuestring, "internal");
	assert_true(get(op, "self_ms")->valuedouble == 20);
	/* one key per --by key; "host" is not a contract key of an operation */
	assert_string_equal(get(op, "host")->valuestring, "h1");
	assert_string_equal(get(op, "service.version")->valuestring, "1.2.0");
	op = cJSON_GetArrayItem(get(j, "operations"), 1);
	assert_true(cJSON_IsNull(get(op, "service.version")));
	assert_true(cJSON_IsNull(get(op, "share")));
	m = cJSON_GetArrayItem(get(j, "models"), 0);
	for (i = 0; i < sizeof(model_keys) / sizeof(model_keys[0]); i++)
		get(m, model_keys[i]);
	assert_int_equal(get(m, "input_tokens")->valuedouble, 8);
	assert_int_equal(get(m, "output_tokens")->valuedouble, 10);
	assert_true(get(m, "cost_usd")->valuedouble == 0.000003);
	assert_true(get(m, "ttfc_p50_ms")->valuedouble == 50);
	/* no data is null, never a made-up number */
	assert_true(cJSON_IsNull(get(m, "ttfc_p99_ms")));
	t = cJSON_GetArrayItem(get(j, "slowest_traces"), 0);
	assert_string_equal(get(t, "trace_id")->valuestring, "a1110000000000000000000000000001");
	assert_string_equal(get(t, "root")->valuestring, "handle_request");
	assert_int_equal(cJSON_GetArraySize(get(t, "critical_path")), 3);
	assert_string_equal(cJSON_GetArrayItem(get(t, "critical_path"), 2)->valuestring,
			    "chat amazon.titan-text-lite-v1");
	f = cJSON_GetArrayItem(get(j, "findings"), 0);
	assert_string_equal(get(f, "kind")->valuestring, "error");
	assert_string_equal(cJSON_GetArrayItem(get(f, "trace_ids"), 0)->valuestring,
			    "b2220000000000000000000000000002");
	g = cJSON_GetArrayItem(get(j, "regressions"), 0);
	for (i = 0; i < sizeof(reg_keys) / sizeof(reg_keys[0]); i++)
		get(g, reg_keys[i]);
	ci = get(g, "p50_ratio_ci");
	assert_int_equal(cJSON_GetArraySize(ci), 2);
	assert_true(cJSON_GetArrayItem(ci, 0)->valuedouble == 1.8);
	assert_true(cJSON_IsTrue(get(g, "significant")));
	assert_true(cJSON_IsNull(get(g, "cost_per_call")));
	cJSON_Delete(j);
	free(s);

	/* nothing known: models without cost are null too; empty lists stay lists */
	memset(&r, 0, sizeof(r));
	s = rp_result_json(&r);
	assert_string_equal(s, "{\"spans\":0,\"traces\":0,\"hosts\":[],\"services\":[],\"by\":[],"
			       "\"operations\":[],\"models\":[],\"slowest_traces\":[],"
			       "\"findings\":[],\"regressions\":[]}");
	free(s);
}

static void test_model_without_cost_is_null(void **state)
{
	struct rp_result r;
	struct rp_model m = {.model = "x",
			     .operation = "chat",
			     .calls = 2,
			     .cost_usd = 0,
			     .has_cost = false,
			     .p50_ms = 1,
			     .p99_ms = 2,
			     .ttfc_p50_ms = NAN,
			     .ttfc_p99_ms = NAN};
	cJSON *j;
	char *s;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.models = &m;
	r.n_models = 1;
	s = rp_result_json(&r);
	j = parse(s);
	assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(get(j, "models"), 0), "cost_usd")));
	assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(get(j, "models"), 0), "ttfc_p50_ms")));
	cJSON_Delete(j);
	free(s);
}

static void test_spans_json_of_chosen_traces(void **state)
{
	struct rp_dataset ds = {0};
	cJSON *j, *s0, *s3;
	char *s;
	uint8_t ids[2][16];
	double last = -1;
	int i;

	(void)state;
	handmade_dataset(&ds);
	memcpy(ids[0], TRACE_A, 16);
	memcpy(ids[1], TRACE_A, 16); /* asked twice, given once */
	s = rp_spans_json(&ds, (const uint8_t(*)[16])ids, 2);
	assert_non_null(s);
	j = parse(s);
	assert_int_equal(cJSON_GetArraySize(j), 4);
	/* by start within the trace, times from its first span */
	for (i = 0; i < 4; i++) {
		double st = get(cJSON_GetArrayItem(j, i), "start_ms")->valuedouble;

		assert_true(st >= last);
		last = st;
	}
	s0 = cJSON_GetArrayItem(j, 0);
	assert_string_equal(get(s0, "name")->valuestring, "handle_request");
	assert_null(cJSON_GetObjectItem(s0, "parent_id")); /* a root */
	assert_true(get(s0, "start_ms")->valuedouble == 0);
	assert_true(get(s0, "duration_ms")->valuedouble == 200);
	assert_string_equal(get(s0, "host")->valuestring, "h1");
	assert_string_equal(get(s0, "kind")->valuestring, "internal");
	assert_string_equal(get(get(s0, "attrs"), "thread.id")->valuestring, "100");
	s3 = cJSON_GetArrayItem(j, 3);
	assert_string_equal(get(s3, "name")->valuestring, "chat amazon.titan-text-lite-v1");
	assert_string_equal(get(s3, "parent_id")->valuestring, "a100000000000003");
	assert_string_equal(get(s3, "kind")->valuestring, "client");
	assert_true(get(s3, "start_ms")->valuedouble == 65);
	assert_true(cJSON_IsFalse(get(s3, "error")));
	cJSON_Delete(j);
	free(s);

	/* every trace: trace B's error span says so */
	s = rp_spans_json(&ds, NULL, 0);
	j = parse(s);
	assert_int_equal(cJSON_GetArraySize(j), 6);
	assert_true(cJSON_IsTrue(get(cJSON_GetArrayItem(j, 4), "error")));
	cJSON_Delete(j);
	free(s);
	rp_dataset_free(&ds);
}

static const char TREE_A[] =
    "trace a1110000000000000000000000000001  service=rag  4 spans  200.000 ms\n"
    "  handle_request                         200.000 ms  +    0.000 ms  internal  tid=100\n"
    "    retrieve_documents                    50.000 ms  +   10.000 ms  internal  tid=100\n"
    "    call_bedrock                         130.000 ms  +   60.000 ms  internal  tid=100\n"
    "      chat amazon.titan-text-lite-v1     120.000 ms  +   65.000 ms  client    "
    "model=amazon.titan-text-lite-v1  in=8  out=10  finish=[end_turn]  ttfc=50.0ms  "
    "cost=$0.000003  http=200\n";

static const char TREE_B[] =
    "trace b2220000000000000000000000000002  service=api  2 spans  50.000 ms  1 ERROR\n"
    "  handle_request      50.000 ms  +    0.000 ms  internal  error=ThrottlingException  ERROR\n"
    "  orphan              10.000 ms  +   10.000 ms  server\n";

static void test_trace_tree(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_traces tl;
	const struct rp_trace *t;
	struct capture c;
	char *out;

	(void)state;
	handmade_dataset(&ds);
	assert_int_equal(rp_traces_build(&ds, NULL, &tl), 0);
	assert_int_equal(tl.n, 2);
	t = rp_traces_lookup(&tl, "a111");
	assert_non_null(t);
	assert_string_equal(rp_str_of(&ds, ds.spans[t->root].name), "handle_request");
	cap_open(&c);
	assert_int_equal(rp_trace_tree_text(c.f, &ds, &tl, t, false), 0);
	out = cap_close(&c);
	assert_string_equal(out, TREE_A);
	free(out);

	/* an orphan is a root of its own; an error is marked */
	t = rp_traces_lookup(&tl, "B2220000000000000000000000000002");
	assert_non_null(t);
	assert_int_equal(t->errors, 1);
	cap_open(&c);
	assert_int_equal(rp_trace_tree_text(c.f, &ds, &tl, t, false), 0);
	out = cap_close(&c);
	assert_string_equal(out, TREE_B);
	free(out);

	/* every kept attribute */
	t = rp_traces_lookup(&tl, "a1");
	cap_open(&c);
	assert_int_equal(rp_trace_tree_text(c.f, &ds, &tl, t, true), 0);
	out = cap_close(&c);
	assert_non_null(
	    strstr(out, "internal  thread.id=100  code.function.name=handle_request\n"));
	assert_non_null(strstr(out, "gen_ai.request.model=amazon.titan-text-lite-v1"));
	free(out);

	/* a prefix of none, not hex */
	assert_ptr_equal(rp_traces_lookup(&tl, "a"), rp_traces_find(&tl, TRACE_A));
	errno = 0;
	assert_null(rp_traces_lookup(&tl, "c"));
	assert_int_equal(errno, ENOENT);
	assert_null(rp_traces_lookup(&tl, ""));
	assert_int_equal(errno, EINVAL);
	assert_null(rp_traces_lookup(&tl, "xyz"));
	assert_int_equal(errno, EINVAL);
	rp_traces_free(&tl);
	rp_dataset_free(&ds);
}

static void test_parent_cycle_prints_each_span_once(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_traces tl;
	struct capture c;
	char *out;

	(void)state;
	/* 1 -> 2 -> 1: no root at all */
	add(&ds, TRACE_A, 1, 2, "one", 1, 0, 10, "s", "h");
	add(&ds, TRACE_A, 2, 1, "two", 1, 1, 5, "s", "h");
	assert_int_equal(rp_traces_build(&ds, NULL, &tl), 0);
	cap_open(&c);
	assert_int_equal(rp_trace_tree_text(c.f, &ds, &tl, &tl.t[0], false), 0);
	out = cap_close(&c);
	assert_non_null(strstr(out, "\n  one "));
	assert_non_null(strstr(out, "\n    two "));
	assert_null(strstr(strstr(out, "two") + 1, "two"));
	free(out);
	rp_traces_free(&tl);

	/* two traces starting a111: a prefix of both is ambiguous */
	add(&ds, TRACE_A, 3, 0, "three", 1, 0, 10, "s", "h")->trace_id[15] = 0x77;
	assert_int_equal(rp_traces_build(&ds, NULL, &tl), 0);
	assert_int_equal(tl.n, 2);
	errno = 0;
	assert_null(rp_traces_lookup(&tl, "a111"));
	assert_int_equal(errno, EEXIST);
	assert_non_null(rp_traces_lookup(&tl, "a1110000000000000000000000000077"));
	rp_traces_free(&tl);
	rp_dataset_free(&ds);
}

static void test_traces_listing(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_traces tl;
	struct capture c;
	enum rp_sort sort;
	size_t *sel;
	char *out;
	cJSON *j;
	long n;

	(void)state;
	handmade_dataset(&ds);
	assert_int_equal(rp_traces_build(&ds, NULL, &tl), 0);
	assert_int_equal(rp_sort_parse("-duration", &sort), 0);
	assert_int_equal(rp_sort_parse("size", &sort), -EINVAL);
	assert_int_equal(rp_sort_parse("-start", &sort), 0);
	n = rp_traces_select(&tl, sort, 0, 0, &sel);
	assert_int_equal(n, 2);
	assert_memory_equal(tl.t[sel[0]].id, TRACE_B, 16); /* the later one first */
	free(sel);
	rp_sort_parse("-duration", &sort);
	n = rp_traces_select(&tl, sort, 0, 1, &sel);
	assert_int_equal(n, 1);
	assert_memory_equal(tl.t[sel[0]].id, TRACE_A, 16);
	free(sel);
	n = rp_traces_select(&tl, sort, 1, 5, &sel);
	assert_int_equal(n, 1);
	assert_memory_equal(tl.t[sel[0]].id, TRACE_B, 16);
	cap_open(&c);
	assert_int_equal(rp_traces_list_text(c.f, &ds, &tl, sel, 1, 2), 0);
	out = cap_close(&c);
	assert_non_null(strstr(out, "TRACE"));
	assert_non_null(strstr(out, "b2220000000000000000000000000002  2025-12-05T10:00:01.000Z  "
				    "handle_request  api            50.000       2       1\n"));
	assert_non_null(strstr(out, "1 of 2 matching traces\n"));
	free(out);
	out = rp_traces_list_json(&ds, &tl, sel, 1, 2);
	j = parse(out);
	assert_int_equal(get(j, "total")->valuedouble, 2);
	assert_string_equal(get(cJSON_GetArrayItem(get(j, "traces"), 0), "service")->valuestring,
			    "api");
	assert_int_equal(get(cJSON_GetArrayItem(get(j, "traces"), 0), "spans")->valuedouble, 2);
	assert_string_equal(
	    get(cJSON_GetArrayItem(get(j, "traces"), 0), "start_unix_nano")->valuestring,
	    "1764928801000000000");
	assert_string_equal(get(cJSON_GetArrayItem(get(j, "traces"), 0), "start")->valuestring,
			    "2025-12-05T10:00:01.000Z");
	cJSON_Delete(j);
	free(out);
	free(sel);
	n = rp_traces_select(&tl, sort, 7, 0, &sel);
	assert_int_equal(n, 0);
	free(sel);
	rp_traces_free(&tl);
	rp_dataset_free(&ds);
}

static void test_chrome_events(void **state)
{
	struct rp_dataset ds = {0};
	struct capture c;
	cJSON *j, *ev, *e;
	char *out;
	int x = 0, meta = 0;
	double chat_tid = 0, call_tid = -1, orphan_tid = 0, chat_ts = -1, chat_dur = -1;

	(void)state;
	handmade_dataset(&ds);
	cap_open(&c);
	assert_int_equal(rp_chrome_write(c.f, &ds, NULL, 0), 0);
	out = cap_close(&c);
	j = parse(out);
	ev = get(j, "traceEvents");
	cJSON_ArrayForEach(e, ev)
	{
		const char *ph = get(e, "ph")->valuestring;

		if (!strcmp(ph, "M")) {
			meta++;
			assert_string_equal(get(e, "name")->valuestring, "process_name");
			continue;
		}
		assert_string_equal(ph, "X");
		x++;
		get(e, "pid");
		get(get(e, "args"), "trace_id");
		if (!strcmp(get(e, "name")->valuestring, "chat amazon.titan-text-lite-v1")) {
			chat_tid = get(e, "tid")->valuedouble;
			chat_ts = get(e, "ts")->valuedouble;
			chat_dur = get(e, "dur")->valuedouble;
			assert_string_equal(
			    get(get(e, "args"), "http.response.status_code")->valuestring, "200");
			assert_string_equal(get(e, "cat")->valuestring, "client");
		}
		if (!strcmp(get(e, "name")->valuestring, "call_bedrock"))
			call_tid = get(e, "tid")->valuedouble;
		if (!strcmp(get(e, "name")->valuestring, "orphan"))
			orphan_tid = get(e, "tid")->valuedouble;
	}
	assert_int_equal(x, 6);
	assert_int_equal(meta, 2); /* rag @ h1, api @ h2 */
	/* the model call has no thread: it is drawn on its parent's */
	assert_true(chat_tid == 100 && call_tid == 100);
	assert_true(orphan_tid > 100);
	/* microseconds from the earliest span */
	assert_true(chat_ts == 65000 && chat_dur == 120000);
	assert_non_null(strstr(out, "\"args\":{\"name\":\"rag @ h1\"}"));
	cJSON_Delete(j);
	free(out);

	/* only the traces asked for */
	cap_open(&c);
	assert_int_equal(rp_chrome_write(c.f, &ds, (const uint8_t(*)[16])TRACE_B, 1), 0);
	out = cap_close(&c);
	j = parse(out);
	assert_int_equal(cJSON_GetArraySize(get(j, "traceEvents")), 3); /* 1 process + 2 spans */
	cJSON_Delete(j);
	free(out);
	rp_dataset_free(&ds);
}

static void test_text_report(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_result r;
	struct capture c;
	char *out, *line;
	int longest = 0;

	(void)state;
	handmade_dataset(&ds);
	handmade_result(&r);
	cap_open(&c);
	assert_int_equal(rp_text_write(c.f, &ds, &r, 0), 0);
	out = cap_close(&c);
	assert_non_null(strstr(out, "6 spans, 2 traces, 2 hosts (h1, h2), 2 services (api, rag)"));
	assert_non_null(strstr(out, "\nOperations"));
	assert_non_null(strstr(out, "\nModels"));
	assert_non_null(strstr(out, "\nSlowest traces"));
	assert_non_null(strstr(out, "\nFindings"));
	assert_non_null(strstr(out, "\nRegressions"));
	assert_non_null(strstr(out, "service.version"));
	/* unlimited width: the full name; the critical path in order */
	assert_non_null(strstr(out, "a_function_with_a_very_long_name_that_needs_shortening_in_a_"
				    "narrow_terminal"));
	assert_non_null(
	    strstr(out, "handle_request > call_bedrock > chat amazon.titan-text-lite-v1"));
	assert_non_null(strstr(out, "$0.000003"));
	assert_non_null(strstr(out, "[1.80, 2.20]"));
	free(out);

	/* 140 columns: names shortened, no line of the operations table wider */
	cap_open(&c);
	assert_int_equal(rp_text_write(c.f, &ds, &r, 140), 0);
	out = cap_close(&c);
	assert_null(strstr(out, "narrow_terminal"));
	assert_non_null(strstr(out, "  a_function_with_a_very_l...  h2"));
	for (line = strtok(strstr(out, "\nOperations"), "\n"); line && strncmp(line, "Models", 6);
	     line = strtok(NULL, "\n"))
		longest = (int)strlen(line) > longest ? (int)strlen(line) : longest;
	assert_true(longest <= 140);
	assert_true(longest > 120);
	free(out);

	/* an empty result still prints every section */
	memset(&r, 0, sizeof(r));
	cap_open(&c);
	assert_int_equal(rp_text_write(c.f, NULL, &r, 80), 0);
	out = cap_close(&c);
	assert_non_null(strstr(out, "0 spans, 0 traces, 0 hosts, 0 services\n"));
	assert_non_null(strstr(out, "(none)"));
	assert_null(strstr(out, "Regressions"));
	free(out);
	rp_dataset_free(&ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_result_json_has_the_contract_keys),
	    cmocka_unit_test(test_model_without_cost_is_null),
	    cmocka_unit_test(test_spans_json_of_chosen_traces),
	    cmocka_unit_test(test_trace_tree),
	    cmocka_unit_test(test_parent_cycle_prints_each_span_once),
	    cmocka_unit_test(test_traces_listing),
	    cmocka_unit_test(test_chrome_events),
	    cmocka_unit_test(test_text_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
