// SPDX-License-Identifier: MIT
/*
 * Tests for user/metrics/prom_text.c: the OpenTelemetry -> Prometheus name translation (units,
 * _total, invalid characters), label-value escaping, histogram series (cumulative buckets ending
 * at +Inf, _sum, _count) and the service labels that keep processes of different services apart.
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

#include "metrics/metrics.h"
#include "metrics/prom_text.h"
#include "span/semconv.h"

static void expect_name(const char *name, const char *unit, enum metric_kind kind, const char *want)
{
	char out[128];

	assert_true(prom_metric_name(name, unit, kind, out, sizeof(out)) > 0);
	assert_string_equal(out, want);
}

static void test_metric_names(void **state)
{
	char small[8];

	(void)state;
	expect_name("bedtrace.function.duration", "s", METRIC_HISTOGRAM,
		    "bedtrace_function_duration_seconds");
	expect_name("http.client.request.duration", "s", METRIC_HISTOGRAM,
		    "http_client_request_duration_seconds");
	expect_name("gen_ai.client.token.usage", "{token}", METRIC_HISTOGRAM,
		    "gen_ai_client_token_usage");
	expect_name("bedtrace.gen_ai.cost", "USD", METRIC_COUNTER,
		    "bedtrace_gen_ai_cost_USD_total");
	expect_name("bedtrace.capture.bytes", "By", METRIC_COUNTER, "bedtrace_capture_bytes_total");
	expect_name("bedtrace.gen_ai.throttles", "{request}", METRIC_COUNTER,
		    "bedtrace_gen_ai_throttles_total");
	expect_name("x.requests_total", "1", METRIC_COUNTER, "x_requests_total");
	expect_name("cpu.utilization", "1", METRIC_GAUGE, "cpu_utilization_ratio");
	expect_name("net.rate", "By/s", METRIC_GAUGE, "net_rate_bytes_per_second");
	expect_name("latency_seconds", "s", METRIC_HISTOGRAM, "latency_seconds");
	expect_name("a..b--c", "", METRIC_GAUGE, "a_b_c");
	expect_name("9lives", "", METRIC_GAUGE, "_9lives");
	assert_int_equal(
	    prom_metric_name("a.very.long.name", "s", METRIC_COUNTER, small, sizeof(small)),
	    -ENOSPC);
}

static void test_label_names(void **state)
{
	char out[64];

	(void)state;
	prom_label_name("code.function.name", out, sizeof(out));
	assert_string_equal(out, "code_function_name");
	prom_label_name("http.response.status_code", out, sizeof(out));
	assert_string_equal(out, "http_response_status_code");
	prom_label_name("2xx", out, sizeof(out));
	assert_string_equal(out, "key_2xx");
	prom_label_name("a:b/c", out, sizeof(out));
	assert_string_equal(out, "a_b_c");
}

static char *render(struct metrics *m)
{
	size_t len;
	char *text = prom_text_render(m, &len);

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_counter_and_escaping(void **state)
{
	struct metrics *m = metrics_new(NULL);
	struct metric *c = metrics_counter(m, "t.calls", "{call}", "Calls.\nSecond \\ line", true);
	struct bt_attrs a = {0};
	char *text;

	(void)state;
	bt_attrs_set_str(&a, ATTR_CODE_FUNCTION_NAME, "ns::f<\"x\">\\n\nend");
	bt_attrs_set_int(&a, "n", -3);
	bt_attrs_set_bool(&a, "ok", true);
	metric_add(c, NULL, &a, 2);
	metric_add(c, NULL, &a, 3);
	text = render(m);
	assert_non_null(strstr(text, "# HELP t_calls_total Calls.\\nSecond \\\\ line\n"));
	assert_non_null(strstr(text, "# TYPE t_calls_total counter\n"));
	assert_non_null(strstr(text,
			       "t_calls_total{code_function_name=\"ns::f<\\\"x\\\">\\\\n\\nend\","
			       "n=\"-3\",ok=\"true\"} 5\n"));
	free(text);
	bt_attrs_clear(&a);
	metrics_free(m);
}

static void test_invalid_utf8_in_a_label_is_replaced(void **state)
{
	struct metrics *m = metrics_new(NULL);
	struct metric *g = metrics_gauge(m, "t.g", "", "d", true);
	struct bt_attrs a = {0};
	char *text;

	(void)state;
	bt_attrs_set_str(&a, "k",
			 "a\xff"
			 "b\xc3\xa9");
	metric_set(g, NULL, &a, 1);
	text = render(m);
	assert_non_null(strstr(text, "t_g{k=\"a\xef\xbf\xbd"
				     "b\xc3\xa9\"} 1\n"));
	free(text);
	bt_attrs_clear(&a);
	metrics_free(m);
}

static void test_histogram_series(void **state)
{
	static const double bounds[] = {0.01, 0.1, 1};
	struct metrics *m = metrics_new(NULL);
	struct metric *h = metrics_histogram(m, "t.duration", "s", "d", bounds, 3);
	struct bt_attrs a = {0};
	char *text;

	(void)state;
	bt_attrs_set_str(&a, "f", "x");
	metric_record(h, NULL, &a, 0.005);
	metric_record(h, NULL, &a, 0.05);
	metric_record(h, NULL, &a, 0.1);
	metric_record(h, NULL, &a, 3);
	text = render(m);
	assert_non_null(strstr(text, "# TYPE t_duration_seconds histogram\n"
				     "t_duration_seconds_bucket{f=\"x\",le=\"0.01\"} 1\n"
				     "t_duration_seconds_bucket{f=\"x\",le=\"0.1\"} 3\n"
				     "t_duration_seconds_bucket{f=\"x\",le=\"1\"} 3\n"
				     "t_duration_seconds_bucket{f=\"x\",le=\"+Inf\"} 4\n"
				     "t_duration_seconds_sum{f=\"x\"} 3.155\n"
				     "t_duration_seconds_count{f=\"x\"} 4\n"));
	free(text);
	bt_attrs_clear(&a);
	metrics_free(m);
}

static void test_services_become_labels(void **state)
{
	struct bt_resource *api = bt_resource_new(), *worker = bt_resource_new();
	struct metrics *m = metrics_new(NULL);
	struct metric *c = metrics_counter(m, "t.c", "", "d", true);
	struct bt_attrs a = {0};
	char *text;

	(void)state;
	bt_attrs_set_str(&api->attrs, ATTR_SERVICE_NAME, "api");
	bt_attrs_set_str(&api->attrs, ATTR_SERVICE_NAMESPACE, "shop");
	bt_attrs_set_str(&worker->attrs, ATTR_SERVICE_NAME, "worker");
	bt_attrs_set_str(&a, "k", "v");
	metric_add(c, api, &a, 1);
	metric_add(c, worker, &a, 2);
	text = render(m);
	assert_non_null(strstr(text, "t_c_total{k=\"v\",service_name=\"api\","
				     "service_namespace=\"shop\"} 1\n"));
	assert_non_null(strstr(text, "t_c_total{k=\"v\",service_name=\"worker\"} 2\n"));
	/* one family: HELP and TYPE once */
	assert_null(strstr(strstr(text, "# TYPE") + 1, "# TYPE"));
	free(text);
	bt_attrs_clear(&a);
	metrics_free(m);
	bt_resource_put(api);
	bt_resource_put(worker);
}

static void test_clashing_label_names_join(void **state)
{
	struct metrics *m = metrics_new(NULL);
	struct metric *g = metrics_gauge(m, "t.g", "", "d", true);
	struct bt_attrs a = {0};
	char *text;

	(void)state;
	bt_attrs_set_str(&a, "a.b", "1");
	bt_attrs_set_str(&a, "a_b", "2");
	metric_set(g, NULL, &a, 7);
	text = render(m);
	assert_non_null(strstr(text, "t_g{a_b=\"1;2\"} 7\n"));
	free(text);
	bt_attrs_clear(&a);
	metrics_free(m);
}

static void test_empty_registry_renders_nothing(void **state)
{
	struct metrics *m = metrics_new(NULL);
	char *text;

	(void)state;
	metrics_counter(m, "t.c", "", "d", true);
	text = render(m);
	assert_string_equal(text, "");
	free(text);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metric_names),
	    cmocka_unit_test(test_label_names),
	    cmocka_unit_test(test_counter_and_escaping),
	    cmocka_unit_test(test_invalid_utf8_in_a_label_is_replaced),
	    cmocka_unit_test(test_histogram_series),
	    cmocka_unit_test(test_services_become_labels),
	    cmocka_unit_test(test_clashing_label_names_join),
	    cmocka_unit_test(test_empty_registry_renders_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
