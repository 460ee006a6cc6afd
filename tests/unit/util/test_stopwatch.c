// SPDX-License-Identifier: MIT
/* Setup-time tallies (stopwatch.c): sums by label and the -v breakdown text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/stopwatch.h"

#define MS 1000000ull

static void test_stopwatch_clock_moves_forward(void **state)
{
	uint64_t a = sw_now_ns(), b = sw_now_ns();

	(void)state;
	assert_true(a > 0);
	assert_true(b >= a);
}

static void test_stopwatch_sums_by_label(void **state)
{
	struct sw_tally t = {0};

	(void)state;
	assert_int_equal(sw_tally_add(&t, "/usr/bin/node", 40 * MS), 0);
	assert_int_equal(sw_tally_add(&t, "libc.so.6", 2 * MS), 0);
	assert_int_equal(sw_tally_add(&t, "/usr/bin/node", 8 * MS), 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.items[0].label, "/usr/bin/node");
	assert_true(t.items[0].ns == 48 * MS);
	assert_true(sw_tally_total(&t) == 50 * MS);
	sw_tally_free(&t);
	assert_int_equal(t.n, 0);
	assert_null(t.items);
}

/* Nobody keeps a NULL tally: adding to it is not an error. */
static void test_stopwatch_null_tally_ignored(void **state)
{
	(void)state;
	assert_int_equal(sw_tally_add(NULL, "x", 1), 0);
}

static void test_stopwatch_format_largest_first(void **state)
{
	struct sw_tally t = {0};
	char buf[128];

	(void)state;
	sw_tally_format(&t, 3, buf, sizeof(buf));
	assert_string_equal(buf, "");
	sw_tally_add(&t, "libc.so.6", 2200000);
	sw_tally_add(&t, "/usr/bin/node", 48 * MS);
	sw_tally_format(&t, 3, buf, sizeof(buf));
	assert_string_equal(buf, "/usr/bin/node 48.0, libc.so.6 2.2");
	sw_tally_free(&t);
}

static void test_stopwatch_format_sums_the_rest(void **state)
{
	struct sw_tally t = {0};
	char buf[128];

	(void)state;
	sw_tally_add(&t, "a", 1 * MS);
	sw_tally_add(&t, "b", 5 * MS);
	sw_tally_add(&t, "c", 2 * MS);
	sw_tally_add(&t, "d", 3 * MS);
	sw_tally_format(&t, 2, buf, sizeof(buf));
	assert_string_equal(buf, "b 5.0, d 3.0, 2 more 3.0");
	sw_tally_format(&t, 0, buf, sizeof(buf));
	assert_string_equal(buf, "4 more 11.0");
	sw_tally_free(&t);
}

/* A short buffer holds what fits, terminated. */
static void test_stopwatch_format_truncates(void **state)
{
	struct sw_tally t = {0};
	char buf[12];

	(void)state;
	sw_tally_add(&t, "/usr/bin/node", 48 * MS);
	sw_tally_add(&t, "libc.so.6", 2 * MS);
	sw_tally_format(&t, 5, buf, sizeof(buf));
	assert_string_equal(buf, "/usr/bin/no");
	sw_tally_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stopwatch_clock_moves_forward),
	    cmocka_unit_test(test_stopwatch_sums_by_label),
	    cmocka_unit_test(test_stopwatch_null_tally_ignored),
	    cmocka_unit_test(test_stopwatch_format_largest_first),
	    cmocka_unit_test(test_stopwatch_format_sums_the_rest),
	    cmocka_unit_test(test_stopwatch_format_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
