// SPDX-License-Identifier: MIT
/*
 * Tests for user/metrics/registry.c and otlp_metrics.c: histogram bucketing and merging of
 * attribute sets, cumulative against delta reads, observable totals and their resets, the
 * cardinality limit's overflow point, point resources, and the OTLP JSON they encode to (read
 * back with cJSON).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "metrics/otlp_metrics.h"
#include "span/semconv.h"

static const double bounds[] = {1, 2, 5};

/* The encoded request, parsed; fails the test when it is not JSON. */
static cJSON *encode(struct metrics *m, bool delta, size_t *n_points)
{
	char *json = otlp_metrics_encode(m, delta, n_points);
	cJSON *root;

	assert_non_null(json);
	assert_null(strchr(json, '\n'));
	root = cJSON_Parse(json);
	free(json);
	assert_non_null(root);
	return root;
}

/* The metric named @name in the first resource that has it. */
static cJSON *find_metric(cJSON *root, const char *name)
{
	cJSON *rm, *sm, *m;

	cJSON_ArrayForEach(rm, cJSON_GetObjectItem(root, "resourceMetrics"))
	{
		cJSON_ArrayForEach(sm, cJSON_GetObjectItem(rm, "scopeMetrics"))
		{
			cJSON_ArrayForEach(m, cJSON_GetObjectItem(sm, "metrics"))
			{
				if (!strcmp(cJSON_GetObjectItem(m, "name")->valuestring, name))
					return m;
			}
		}
	}
	return NULL;
}

/* The data point of @metric whose attribute @key has string value @val (NULL: no attributes). */
static cJSON *find_point(cJSON *metric, const char *kind, const char *key, const char *val)
{
	cJSON *dp, *kv;

	cJSON_ArrayForEach(dp, cJSON_GetObjectItem(cJSON_GetObjectItem(metric, kind), "dataPoints"))
	{
		cJSON *attrs = cJSON_GetObjectItem(dp, "attributes");

		if (!key && cJSON_GetArraySize(attrs) == 0)
			return dp;
		cJSON_ArrayForEach(kv, attrs)
		{
			cJSON *v =
			    cJSON_GetObjectItem(cJSON_GetObjectItem(kv, "value"), "stringValue");

			if (key && !strcmp(cJSON_GetObjectItem(kv, "key")->valuestring, key) && v &&
			    !strcmp(v->valuestring, val))
				return dp;
		}
	}
	return NULL;
}

static long long u64_field(cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItem(o, key);

	assert_non_null(v);
	assert_true(cJSON_IsString(v)); /* OTLP JSON: 64-bit integers are strings */
	return atoll(v->valuestring);
}

static void test_histogram_buckets_are_upper_inclusive(void **state)
{
	struct metrics *m = metrics_new(NULL);
	struct metric *h = metrics_histogram(m, "t.h", "s", "d", bounds, 3);
	const double values[] = {0.5, 1, 1.5, 2, 4.9, 5, 5.1, 100};
	const long long want[] = {2, 2, 2, 2};
	size_t n, i;
	cJSON *root, *dp, *b;

	(void)state;
	assert_non_null(h);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		assert_int_equal(metric_record(h, NULL, NULL, values[i]), 0);
	root = encode(m, false, &n);
	assert_int_equal(n, 1);
	dp = find_point(find_metric(root, "t.h"), "histogram", NULL, NULL);
	assert_non_null(dp);
	assert_int_equal(u64_field(dp, "count"), 8);
	assert_true(fabs(cJSON_GetObjectItem(dp, "sum")->valuedouble - 120.0) < 1e-9);
	assert_true(cJSON_GetObjectItem(dp, "min")->valuedouble == 0.5);
	assert_true(cJSON_GetObjectItem(dp, "max")->valuedouble == 100);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(dp, "explicitBounds")), 3);
	b = cJSON_GetObjectItem(dp, "bucketCounts");
	assert_int_equal(cJSON_GetArraySize(b), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(atoll(cJSON_GetArrayItem(b, (int)i)->valuestring), want[i]);
	/* cumulative temporality */
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(find_metric(root, "t.h"), "histogram"),
				"aggregationTemporality")
		->valueint,
	    2);
	cJSON_Delete(root);
	metrics_free(m);
}

static void test_attribute_sets_merge_whatever_the_order(void **state)
{
	struct metrics *m = metrics_new(NULL);
	struct metric *c = metrics_counter(m, "t.c", "1", "d", true);
	struct bt_attrs a = {0}, b = {0}, other = {0};
	struct metrics_stats st;
	size_t n;
	cJSON *root, *dp;

	(void)state;
	bt_attrs_set_str(&a, "k1", "x");
	bt_attrs_set_int(&a, "k2", 7);
	bt_attrs_set_int(&b, "k2", 7);
	bt_attrs_set_str(&b, "k1", "x");
	bt_attrs_set_str(&other, "k1", "y");
	bt_attrs_set_int(&other, "k2", 7);
	assert_int_equal(metric_add(c, NULL, &a, 2), 0);
	assert_int_equal(metric_add(c, NULL, &b, 3), 0);
	assert_int_equal(metric_add(c, NULL, &other, 1), 0);
	/* a counter does not go down; NaN is nobody's value */
	assert_int_equal(metric_add(c, NULL, &a, -1), -EINVAL);
	assert_int_equal(metric_add(c, NULL, &a, NAN), -EINVAL);
	assert_int_equal(metric_record(c, NULL, &a, 1), -EINVAL);
	metrics_get_stats(m, &st);
	assert_int_equal(st.points, 2);
	root = encode(m, false, &n);
	assert_int_equal(n, 2);
	dp = find_point(find_metric(root, "t.c"), "sum", "k1", "x");
	assert_non_null(dp);
	assert_int_equal(u64_field(dp, "asInt"), 5);
	dp = find_point(find_metric(root, "t.c"), "sum", "k1", "y");
	assert_int_equal(u64_field(dp, "asInt"), 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(find_metric(root, "t.c"), "sum"), "isMonotonic")));
	cJSON_Delete(root);
	bt_attrs_clear(&a);
	bt_attrs_clear(&b);
	bt_attrs_clear(&other);
	metrics_free(m);
}

static void test_delta_reports_each_interval_once(void **state)
{
	struct metrics *m = metrics_new(NULL);
	struct metric *c = metrics_counter(m, "t.c", "1", "d", false);
	struct metric *h = metrics_histogram(m, "t.h", "s", "d", bounds, 3);
	struct metric *g = metrics_gauge(m, "t.g", "1", "d", true);
	size_t n;
	cJSON *root, *dp;

	(void)state;
	metric_add(c, NULL, NULL, 1.5);
	metric_record(h, NULL, NULL, 3);
	metric_set(g, NULL, NULL, 4);
	root = encode(m, true, &n);
	assert_int_equal(n, 3);
	dp = find_point(find_metric(root, "t.c"), "sum", NULL, NULL);
	assert_true(cJSON_GetObjectItem(dp, "asDouble")->valuedouble == 1.5);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(find_metric(root, "t.c"), "sum"),
					     "aggregationTemporality")
			     ->valueint,
			 1);
	cJSON_Delete(root);

	/* nothing measured since: only the gauge reports */
	root = encode(m, true, &n);
	assert_int_equal(n, 1);
	assert_null(find_metric(root, "t.c"));
	assert_null(find_metric(root, "t.h"));
	assert_non_null(find_metric(root, "t.g"));
	cJSON_Delete(root);

	metric_add(c, NULL, NULL, 2);
	metric_record(h, NULL, NULL, 0.5);
	metric_record(h, NULL, NULL, 0.7);
	root = encode(m, true, &n);
	dp = find_point(find_metric(root, "t.c"), "sum", NULL, NULL);
	assert_true(cJSON_GetObjectItem(dp, "asDouble")->valuedouble == 2);
	dp = find_point(find_metric(root, "t.h"), "histogram", NULL, NULL);
	assert_int_equal(u64_field(dp, "count"), 2);
	/* the interval's own min and max, not the run's */
	assert_true(cJSON_GetObjectItem(dp, "max")->valuedouble == 0.7);
	assert_true(u64_field(dp, "startTimeUnixNano") <= u64_field(dp, "timeUnixNano"));
	cJSON_Delete(root);

	/* cumulative reads still see everything */
	root = encode(m, false, &n);
	dp = find_point(find_metric(root, "t.c"), "sum", NULL, NULL);
	assert_true(cJSON_GetObjectItem(dp, "asDouble")->valuedouble == 3.5);
	dp = find_point(find_metric(root, "t.h"), "histogram", NULL, NULL);
	assert_int_equal(u64_field(dp, "count"), 3);
	cJSON_Delete(root);
	metrics_free(m);
}

static void test_observed_totals_and_resets(void **state)
{
	struct metrics *m = metrics_new(NULL);
	struct metric *c = metrics_counter(m, "t.c", "1", "d", true);
	size_t n;
	cJSON *root, *dp;

	(void)state;
	metric_set(c, NULL, NULL, 10);
	metric_set(c, NULL, NULL, 15);
	root = encode(m, true, &n);
	dp = find_point(find_metric(root, "t.c"), "sum", NULL, NULL);
	assert_int_equal(u64_field(dp, "asInt"), 15);
	cJSON_Delete(root);
	metric_set(c, NULL, NULL, 18);
	root = encode(m, true, &n);
	dp = find_point(find_metric(root, "t.c"), "sum", NULL, NULL);
	assert_int_equal(u64_field(dp, "asInt"), 3);
	cJSON_Delete(root);
	/* the total went down: the count restarted, the point restarts with it */
	metric_set(c, NULL, NULL, 4);
	root = encode(m, false, &n);
	dp = find_point(find_metric(root, "t.c"), "sum", NULL, NULL);
	assert_int_equal(u64_field(dp, "asInt"), 4);
	cJSON_Delete(root);
	metrics_free(m);
}

static void test_cardinality_limit_overflows_to_one_point(void **state)
{
	struct metrics_opts o = {.cardinality_limit = 3};
	struct metrics *m = metrics_new(&o);
	struct metric *c = metrics_counter(m, "t.c", "1", "d", true);
	struct metrics_stats st;
	struct bt_attrs a = {0};
	char v[16];
	size_t n, i;
	cJSON *root, *dp, *kv;
	long long sum = 0;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(v, sizeof(v), "f%zu", i);
		bt_attrs_set_str(&a, ATTR_CODE_FUNCTION_NAME, v);
		assert_int_equal(metric_add(c, NULL, &a, 1), 0);
	}
	/* a set that has its point keeps it */
	bt_attrs_set_str(&a, ATTR_CODE_FUNCTION_NAME, "f0");
	metric_add(c, NULL, &a, 1);
	metrics_get_stats(m, &st);
	assert_int_equal(st.points, 4);
	assert_int_equal(st.overflowed, 997);
	root = encode(m, false, &n);
	assert_int_equal(n, 4);
	dp = find_point(find_metric(root, "t.c"), "sum", ATTR_CODE_FUNCTION_NAME, "f0");
	assert_int_equal(u64_field(dp, "asInt"), 2);
	cJSON_ArrayForEach(
	    dp,
	    cJSON_GetObjectItem(cJSON_GetObjectItem(find_metric(root, "t.c"), "sum"), "dataPoints"))
	{
		sum += u64_field(dp, "asInt");
		kv = cJSON_GetArrayItem(cJSON_GetObjectItem(dp, "attributes"), 0);
		if (!strcmp(cJSON_GetObjectItem(kv, "key")->valuestring,
			    ATTR_OTEL_METRIC_OVERFLOW)) {
			assert_true(cJSON_IsTrue(
			    cJSON_GetObjectItem(cJSON_GetObjectItem(kv, "value"), "boolValue")));
			assert_int_equal(u64_field(dp, "asInt"), 997);
		}
	}
	/* nothing is lost: the sum over points is every measurement */
	assert_int_equal(sum, 1001);
	cJSON_Delete(root);
	bt_attrs_clear(&a);
	metrics_free(m);
}

static void test_points_keep_the_service_not_the_process(void **state)
{
	struct bt_resource *self = bt_resource_new(), *p1 = bt_resource_new(),
			   *p2 = bt_resource_new(), *p3 = bt_resource_new();
	struct metrics_opts o = {.default_resource = self};
	struct metrics *m;
	struct metric *c;
	struct metrics_stats st;
	size_t n;
	cJSON *root, *rm, *kv;
	int n_res = 0;

	(void)state;
	bt_attrs_set_str(&self->attrs, ATTR_SERVICE_NAME, "bedtrace");
	bt_attrs_set_str(&p1->attrs, ATTR_SERVICE_NAME, "api");
	bt_attrs_set_int(&p1->attrs, ATTR_PROCESS_PID, 100);
	bt_attrs_set_str(&p2->attrs, ATTR_SERVICE_NAME, "api");
	bt_attrs_set_int(&p2->attrs, ATTR_PROCESS_PID, 200);
	bt_attrs_set_str(&p3->attrs, ATTR_SERVICE_NAME, "worker");
	m = metrics_new(&o);
	c = metrics_counter(m, "t.c", "1", "d", true);
	metric_add(c, p1, NULL, 1);
	metric_add(c, p2, NULL, 1);
	metric_add(c, p3, NULL, 1);
	metric_add(c, NULL, NULL, 1);
	metrics_get_stats(m, &st);
	assert_int_equal(st.points, 3);
	root = encode(m, false, &n);
	cJSON_ArrayForEach(rm, cJSON_GetObjectItem(root, "resourceMetrics"))
	{
		n_res++;
		cJSON_ArrayForEach(
		    kv, cJSON_GetObjectItem(cJSON_GetObjectItem(rm, "resource"), "attributes"))
		{
			assert_string_not_equal(cJSON_GetObjectItem(kv, "key")->valuestring,
						ATTR_PROCESS_PID);
		}
	}
	assert_int_equal(n_res, 3);
	cJSON_Delete(root);
	metrics_free(m);
	bt_resource_put(self);
	bt_resource_put(p1);
	bt_resource_put(p2);
	bt_resource_put(p3);
}

static void test_instruments_are_registered_once(void **state)
{
	struct metrics *m = metrics_new(NULL);
	const double bad[] = {1, 1};

	(void)state;
	assert_ptr_equal(metrics_counter(m, "x", "1", "d", true),
			 metrics_counter(m, "x", "1", "d", true));
	assert_null(metrics_histogram(m, "y", "s", "d", bad, 2));
	assert_int_equal(errno, EINVAL);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_histogram_buckets_are_upper_inclusive),
	    cmocka_unit_test(test_attribute_sets_merge_whatever_the_order),
	    cmocka_unit_test(test_delta_reports_each_interval_once),
	    cmocka_unit_test(test_observed_totals_and_resets),
	    cmocka_unit_test(test_cardinality_limit_overflows_to_one_point),
	    cmocka_unit_test(test_points_keep_the_service_not_the_process),
	    cmocka_unit_test(test_instruments_are_registered_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
