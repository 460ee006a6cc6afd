/* SPDX-License-Identifier: MIT */
/*
 * The check that a span's typed usage (span->usage) says what its gen_ai.usage.* and
 * bedtrace.cost.* attributes say, for the GenAI unit tests. Include after cmocka.h.
 */
#ifndef BT_TEST_USAGE_ASSERT_H
#define BT_TEST_USAGE_ASSERT_H

#include "span/semconv.h"
#include "span/span.h"

/* The int attribute @key of @s, or 0 when absent; *@present tells which. */
static inline int64_t usage_int_attr(const struct bt_span *s, const char *key, bool *present)
{
	const struct bt_attr *a = bt_attrs_get(&s->attrs, key);

	*present = a != NULL;
	if (!a)
		return 0;
	assert_int_equal(a->type, BT_ATTR_INT);
	return a->i;
}

/* Fails unless @s's typed usage and its usage and cost attributes agree, field by field. */
static inline void assert_typed_usage_matches(const struct bt_span *s)
{
	const struct bt_genai_usage *u = &s->usage;
	const struct bt_attr *cost = bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_USD);
	const struct bt_attr *children =
	    bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_INCLUDES_CHILDREN);
	bool has_in, has_out, has_cr, has_cw;

	assert_int_equal(u->input_tokens,
			 usage_int_attr(s, ATTR_GEN_AI_USAGE_INPUT_TOKENS, &has_in));
	assert_int_equal(u->output_tokens,
			 usage_int_attr(s, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, &has_out));
	assert_int_equal(u->cache_read_tokens,
			 usage_int_attr(s, ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, &has_cr));
	assert_int_equal(u->cache_write_tokens,
			 usage_int_attr(s, ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, &has_cw));
	assert_int_equal(u->has_tokens, has_in || has_out);
	if (!u->has_tokens)
		assert_false(has_cr || has_cw || u->has_cost || u->includes_children);
	assert_int_equal(u->has_cost, cost != NULL);
	if (cost) {
		assert_int_equal(cost->type, BT_ATTR_DOUBLE);
		assert_true(u->cost_usd == cost->d);
	} else {
		assert_true(u->cost_usd == 0);
	}
	/* the attribute qualifies a cost; the typed flag covers the token counts too */
	assert_int_equal(children != NULL, u->includes_children && u->has_cost);
	if (children)
		assert_true(children->type == BT_ATTR_BOOL && children->b);
}

#endif
