// SPDX-License-Identifier: MIT
/*
 * genai_set_usage(): the typed usage and the usage and cost attributes are written together and
 * agree, whatever a provider reported.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "genai/usage.h"
#include "lib/usage.h"

static struct bt_span *span_new(void)
{
	struct bt_span *s = bt_span_new("chat m", BT_KIND_CLIENT);

	assert_non_null(s);
	return s;
}

static void test_usage_full(void **state)
{
	struct genai_usage u = {
	    .input = 1510,
	    .output = 20,
	    .cache_read = 1000,
	    .cache_write = 500,
	    .cost_usd = 0.25,
	    .has_input = true,
	    .has_output = true,
	    .has_cache_read = true,
	    .has_cache_write = true,
	    .has_cost = true,
	};
	struct bt_span *s = span_new();

	(void)state;
	assert_int_equal(genai_set_usage(s, &u), 0);
	assert_true(s->usage.has_tokens);
	assert_true(s->usage.has_cost);
	assert_int_equal(s->usage.input_tokens, 1510);
	assert_int_equal(s->usage.output_tokens, 20);
	assert_int_equal(s->usage.cache_read_tokens, 1000);
	assert_int_equal(s->usage.cache_write_tokens, 500);
	assert_true(s->usage.cost_usd == 0.25);
	assert_false(s->usage.includes_children);
	assert_null(bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_UNKNOWN_MODEL));
	check_typed_usage(s);
	bt_span_free(s);
}

static void test_usage_partial_and_unknown_model(void **state)
{
	struct genai_usage u = {.output = 7, .has_output = true, .unknown_model = true};
	struct bt_span *s = span_new();

	(void)state;
	assert_int_equal(genai_set_usage(s, &u), 0);
	/* a count nobody reported stays off the attributes, and zero in the typed usage */
	assert_null(bt_attrs_get(&s->attrs, ATTR_GEN_AI_USAGE_INPUT_TOKENS));
	assert_int_equal(s->usage.input_tokens, 0);
	assert_int_equal(s->usage.output_tokens, 7);
	assert_false(s->usage.has_cost);
	assert_true(bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_UNKNOWN_MODEL)->b);
	check_typed_usage(s);
	bt_span_free(s);
}

static void test_usage_nothing_reported_sets_nothing(void **state)
{
	struct genai_usage u = {.cost_usd = 1, .has_cost = true, .includes_children = true};
	struct bt_span *s = span_new();

	(void)state;
	assert_int_equal(genai_set_usage(s, &u), 0);
	assert_int_equal(s->attrs.n, 0);
	assert_false(s->usage.has_tokens);
	assert_false(s->usage.has_cost);
	check_typed_usage(s);
	bt_span_free(s);
}

static void test_usage_includes_children(void **state)
{
	struct genai_usage u = {.input = 3,
				.output = 4,
				.has_input = true,
				.has_output = true,
				.includes_children = true};
	struct bt_span *s = span_new();

	(void)state;
	/* without a cost there is nothing for the attribute to qualify */
	assert_int_equal(genai_set_usage(s, &u), 0);
	assert_true(s->usage.includes_children);
	assert_null(bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_INCLUDES_CHILDREN));
	check_typed_usage(s);
	bt_span_free(s);

	s = span_new();
	u.has_cost = true;
	u.cost_usd = 0.5;
	assert_int_equal(genai_set_usage(s, &u), 0);
	assert_true(bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_INCLUDES_CHILDREN)->b);
	check_typed_usage(s);
	bt_span_free(s);
}

static void test_usage_returns_sticky_error(void **state)
{
	struct genai_usage u = {.input = 1, .has_input = true};
	struct bt_span *s = span_new();

	(void)state;
	s->attrs.err = -ENOMEM; /* an earlier setter failed */
	assert_int_equal(genai_set_usage(s, &u), -ENOMEM);
	assert_int_equal(s->attrs.n, 0);
	assert_false(s->usage.has_tokens);
	bt_span_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_usage_full),
	    cmocka_unit_test(test_usage_partial_and_unknown_model),
	    cmocka_unit_test(test_usage_nothing_reported_sets_nothing),
	    cmocka_unit_test(test_usage_includes_children),
	    cmocka_unit_test(test_usage_returns_sticky_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
