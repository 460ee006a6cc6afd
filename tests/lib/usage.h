/* SPDX-License-Identifier: MIT */
/*
 * The invariant GenAI unit tests and fuzzers check on every span: its typed usage (span->usage)
 * says what its gen_ai.usage.* and bedtrace.cost.* attributes say, field by field.
 */
#ifndef BT_TEST_USAGE_H
#define BT_TEST_USAGE_H

#include "span/semconv.h"
#include "span/span.h"

#include "check.h"

/* The int attribute @key of @s, or 0 when absent; *@present tells which. */
static inline int64_t usage_int_attr(const struct bt_span *s, const char *key, bool *present)
{
	const struct bt_attr *a = bt_attrs_get(&s->attrs, key);

	*present = a != NULL;
	if (!a)
		return 0;
	TL_CHECK(a->type == BT_ATTR_INT);
	return a->i;
}

/* Fails (or traps) unless @s's typed usage and its attributes agree; nothing is promised for a
 * span whose annotation failed (a sticky attribute error). */
static inline void check_typed_usage(const struct bt_span *s)
{
	const struct bt_genai_usage *u = &s->usage;
	const struct bt_attr *cost = bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_USD);
	const struct bt_attr *children =
	    bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_INCLUDES_CHILDREN);
	bool has_in, has_out, has_cr, has_cw;

	if (s->attrs.err)
		return;
	TL_CHECK(u->input_tokens == usage_int_attr(s, ATTR_GEN_AI_USAGE_INPUT_TOKENS, &has_in));
	TL_CHECK(u->output_tokens == usage_int_attr(s, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, &has_out));
	TL_CHECK(u->cache_read_tokens ==
		 usage_int_attr(s, ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, &has_cr));
	TL_CHECK(u->cache_write_tokens ==
		 usage_int_attr(s, ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, &has_cw));
	TL_CHECK(u->has_tokens == (has_in || has_out));
	if (!u->has_tokens)
		TL_CHECK(!(has_cr || has_cw || u->has_cost || u->includes_children));
	TL_CHECK(u->has_cost == (cost != NULL));
	if (cost)
		TL_CHECK(cost->type == BT_ATTR_DOUBLE && u->cost_usd == cost->d);
	else
		TL_CHECK(u->cost_usd == 0);
	/* the attribute qualifies a cost; the typed flag covers the token counts too */
	TL_CHECK((children != NULL) == (u->includes_children && u->has_cost));
	if (children)
		TL_CHECK(children->type == BT_ATTR_BOOL && children->b);
}

#endif
