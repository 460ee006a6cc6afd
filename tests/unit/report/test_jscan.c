// SPDX-License-Identifier: MIT
/*
 * Unit tests for jscan.c: strings (in place without escapes, decoded into the arena with them),
 * the number grammar, literals, skipping nested values, member and element loops (null as
 * empty, trailing commas), the nesting limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "report/jscan.h"

static char arena[4096];

static void begin(struct jscan *j, const char *text)
{
	memset(j, 0, sizeof(*j));
	j->arena = arena;
	j->arena_cap = sizeof(arena);
	js_begin(j, text, text + strlen(text));
}

/* Whether @text is one JSON value (blanks around it allowed) to js_skip. */
static bool valid(const char *text)
{
	struct jscan j;

	begin(&j, text);
	if (!js_skip(&j))
		return false;
	js_ws(&j);
	return j.p == j.end;
}

static void test_jscan_strings(void **state)
{
	static const char plain[] = " \"abc\" ";
	static const char esc[] = "\"a\\u00e9\\n\\ud83d\\ude00\\u0000\\\"\"";
	struct jscan j;
	struct js_sv s;

	(void)state;
	begin(&j, plain);
	assert_true(js_str(&j, &s));
	assert_ptr_equal(s.p, plain + 2); /* no escape: points into the line */
	assert_int_equal(s.n, 3);
	assert_int_equal(j.arena_len, 0);
	begin(&j, esc);
	assert_true(js_str(&j, &s));
	assert_ptr_equal(s.p, arena);
	assert_int_equal(s.n, 1 + 2 + 1 + 4 + 3 + 1);
	assert_memory_equal(s.p, "a\xc3\xa9\n\xf0\x9f\x98\x80\xef\xbf\xbd\"", s.n);
	assert_true(js_is(&s, "a\xc3\xa9\n\xf0\x9f\x98\x80\xef\xbf\xbd\""));
	assert_true(j.p == j.end);

	assert_false(valid("\"abc"));
	assert_false(valid("\"a\\x\""));
	assert_false(valid("\"a\\u12\""));
	assert_false(valid("\"tab\there\""));
	assert_false(valid("'single'"));
	assert_true(valid("\"\\/\\b\\f\\r\\t\\\\\""));
	assert_true(valid("\"\\udc00 alone\""));
}

static void test_jscan_numbers(void **state)
{
	static const char *const good[] = {"0",	  "-0",	  "12",	    "-3.25",
					   "1e9", "1E+2", "2.5e-3", "0.000"};
	static const char *const bad[] = {"01",	 "-",	"+1",  "1.",	".5",  "1e",
					  "1e+", "--1", "0x1", "1.2.3", "NaN", "Infinity"};
	struct jscan j;
	struct js_sv s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(valid(bad[i]));
	begin(&j, "  -12.5e3,");
	assert_true(js_number(&j, &s));
	assert_int_equal(s.n, 7);
	assert_memory_equal(s.p, "-12.5e3", 7);
	assert_int_equal(*j.p, ',');
}

static void test_jscan_values(void **state)
{
	(void)state;
	assert_true(valid("true"));
	assert_true(valid(" false "));
	assert_true(valid("null"));
	assert_true(valid("{\"a\":[1,{\"b\":null},\"c\",[]],\"d\":{}}"));
	assert_true(valid("[ ]"));
	assert_false(valid("tru"));
	assert_false(valid("nul"));
	assert_false(valid("[1,]"));
	assert_false(valid("{\"a\":1,}"));
	assert_false(valid("{\"a\" 1}"));
	assert_false(valid("{a:1}"));
	assert_false(valid("[1 2]"));
	assert_false(valid("{\"a\":1]"));
	assert_false(valid("[1}"));
	assert_false(valid(""));
	assert_false(valid("[1] x"));
}

static void test_jscan_loops(void **state)
{
	struct jscan j;
	struct js_sv k;
	bool first = true;
	int n = 0;

	(void)state;
	begin(&j, "{\"x\":1, \"y\" : [2,3], \"z\":null}");
	assert_true(js_obj_open(&j));
	while (js_obj_next(&j, &first, &k)) {
		n++;
		if (js_is(&k, "y")) {
			bool afirst = true;
			int m = 0;

			assert_true(js_arr_open(&j));
			while (js_arr_next(&j, &afirst)) {
				assert_true(js_skip(&j));
				m++;
			}
			assert_int_equal(m, 2);
		} else if (js_is(&k, "z")) {
			bool zfirst = true;

			/* null where an object belongs: empty */
			assert_true(js_obj_open(&j));
			assert_false(js_obj_next(&j, &zfirst, &k));
		} else {
			assert_true(js_skip(&j));
		}
	}
	assert_null(j.why);
	assert_int_equal(n, 3);
	assert_int_equal(j.depth, 0);
	assert_true(j.p == j.end);

	/* an error sticks: the loop ends and why says what */
	begin(&j, "{\"x\":1 \"y\":2}");
	first = true;
	assert_true(js_obj_open(&j));
	while (js_obj_next(&j, &first, &k))
		assert_true(js_skip(&j));
	assert_non_null(j.why);
	assert_false(js_skip(&j));
}

static void test_jscan_depth(void **state)
{
	char deep[2 * JS_MAX_DEPTH + 8];
	size_t d;

	(void)state;
	for (d = JS_MAX_DEPTH; d <= JS_MAX_DEPTH + 1; d++) {
		memset(deep, '[', d);
		memset(deep + d, ']', d);
		deep[2 * d] = '\0';
		assert_int_equal(valid(deep), d == JS_MAX_DEPTH);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jscan_strings), cmocka_unit_test(test_jscan_numbers),
	    cmocka_unit_test(test_jscan_values),  cmocka_unit_test(test_jscan_loops),
	    cmocka_unit_test(test_jscan_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
