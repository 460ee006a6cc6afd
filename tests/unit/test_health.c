// SPDX-License-Identifier: MIT
/* Capture health: loss records from counter samples, intervals, the incomplete mark. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "health.h"

#include "lib/attrs.h"

#define MS 1000000ull

static struct bt_span *span_at(uint64_t start_mono, uint64_t end_mono)
{
	struct bt_span *s = bt_span_new("x", BT_KIND_INTERNAL);

	assert_non_null(s);
	s->start_ns = bt_mono_to_unix_ns(start_mono);
	s->end_ns = bt_mono_to_unix_ns(end_mono);
	return s;
}

static void test_health_no_loss_no_record(void **state)
{
	struct capture_health *h = health_new(1000 * MS);
	uint64_t c[BT_CNT_MAX] = {0};
	struct bt_span *s;

	(void)state;
	assert_non_null(h);
	/* counters that are not losses never make a record */
	c[BT_CNT_RET_NO_STACK] = 5;
	c[BT_CNT_UNWIND_FIXUP] = 2;
	assert_null(health_sample(h, c, 1500 * MS, true));
	s = span_at(1000 * MS, 1600 * MS);
	assert_false(health_mark(h, s));
	assert_null(bt_attrs_get(&s->attrs, HEALTH_ATTR_INCOMPLETE));
	assert_int_equal(health_n_records(h), 0);
	assert_int_equal(health_totals(h)[BT_CNT_RET_NO_STACK], 5);
	bt_span_free(s);
	health_free(h);
}

static void test_health_record_accumulates_until_emitted(void **state)
{
	struct capture_health *h = health_new(1000 * MS);
	uint64_t c[BT_CNT_MAX] = {0};
	struct bt_span *rec;

	(void)state;
	c[BT_CNT_CALL_RB_FULL] = 10;
	assert_null(health_sample(h, c, 1100 * MS, false));
	c[BT_CNT_CALL_RB_FULL] = 25;
	c[BT_CNT_DATA_LOST_BYTES] = 4096;
	rec = health_sample(h, c, 1200 * MS, true);
	assert_non_null(rec);
	assert_string_equal(rec->name, HEALTH_LOSS_SPAN);
	assert_int_equal(rec->kind, BT_KIND_INTERNAL);
	assert_int_equal(iattr(rec, "bedtrace.loss.call_events"), 25);
	assert_int_equal(iattr(rec, "bedtrace.loss.bytes"), 4096);
	/* from the sample before the first loss to the one that emitted */
	assert_true(rec->start_ns == bt_mono_to_unix_ns(1000 * MS));
	assert_true(rec->end_ns == bt_mono_to_unix_ns(1200 * MS));
	bt_span_free(rec);
	/* nothing new: no record; then only what grew since */
	assert_null(health_sample(h, c, 1300 * MS, true));
	c[BT_CNT_CALL_RB_FULL] = 26;
	rec = health_sample(h, c, 1400 * MS, true);
	assert_non_null(rec);
	assert_int_equal(iattr(rec, "bedtrace.loss.call_events"), 1);
	assert_null(bt_attrs_get(&rec->attrs, "bedtrace.loss.bytes"));
	assert_int_equal(health_n_records(h), 2);
	assert_int_equal(health_totals(h)[BT_CNT_CALL_RB_FULL], 26);
	bt_span_free(rec);
	health_free(h);
}

static void test_health_marks_spans_overlapping_a_loss(void **state)
{
	struct capture_health *h = health_new(1000 * MS);
	uint64_t c[BT_CNT_MAX] = {0};
	struct bt_span *in, *across, *before, *after;

	(void)state;
	assert_null(health_sample(h, c, 1100 * MS, true));
	c[BT_CNT_DATA_RB_FULL] = 1;
	bt_span_free(health_sample(h, c, 1200 * MS, true)); /* loss in [1100, 1200] */
	assert_null(health_sample(h, c, 1300 * MS, true));
	c[BT_CNT_DEPTH_OVERFLOW] = 1;
	bt_span_free(health_sample(h, c, 1400 * MS, true)); /* loss in [1300, 1400] */
	in = span_at(1120 * MS, 1150 * MS);
	across = span_at(1000 * MS, 2000 * MS);
	before = span_at(1000 * MS, 1090 * MS);
	after = span_at(1210 * MS, 1290 * MS); /* between the two intervals */
	assert_true(health_mark(h, in));
	assert_true(health_mark(h, across));
	assert_false(health_mark(h, before));
	assert_false(health_mark(h, after));
	assert_true(bt_attrs_get(&in->attrs, HEALTH_ATTR_INCOMPLETE)->b);
	bt_span_free(in);
	bt_span_free(across);
	bt_span_free(before);
	bt_span_free(after);
	health_free(h);
}

static void test_health_counter_names(void **state)
{
	(void)state;
	assert_string_equal(health_counter_attr(BT_CNT_CALL_RB_FULL), "call_events");
	assert_null(health_counter_attr(BT_CNT_RET_NO_STACK));
	assert_null(health_counter_text(BT_CNT_UNWIND_FIXUP));
	assert_non_null(health_counter_text(BT_CNT_DATA_LOST_BYTES));
	assert_null(health_counter_attr(BT_CNT_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_health_no_loss_no_record),
	    cmocka_unit_test(test_health_record_accumulates_until_emitted),
	    cmocka_unit_test(test_health_marks_spans_overlapping_a_loss),
	    cmocka_unit_test(test_health_counter_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
