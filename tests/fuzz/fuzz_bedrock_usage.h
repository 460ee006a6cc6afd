/* SPDX-License-Identifier: MIT */
/*
 * The invariant the Bedrock fuzzers check on every span they get back: the typed usage
 * (span->usage) says what the usage and cost attributes say.
 */
#ifndef BT_FUZZ_BEDROCK_USAGE_H
#define BT_FUZZ_BEDROCK_USAGE_H

#include <stdlib.h>

#include "span/semconv.h"
#include "span/span.h"

static int64_t usage_attr(const struct bt_span *s, const char *key, bool *present)
{
	const struct bt_attr *a = bt_attrs_get(&s->attrs, key);

	*present = a && a->type == BT_ATTR_INT;
	return *present ? a->i : 0;
}

/* Aborts when @s's typed usage and its attributes disagree. */
static void check_usage(const struct bt_span *s)
{
	const struct bt_genai_usage *u = &s->usage;
	const struct bt_attr *cost = bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_USD);
	bool in, out, cr, cw;

	if (s->attrs.err)
		return; /* a failed annotation: nothing is promised */
	if (u->input_tokens != usage_attr(s, ATTR_GEN_AI_USAGE_INPUT_TOKENS, &in) ||
	    u->output_tokens != usage_attr(s, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, &out) ||
	    u->cache_read_tokens != usage_attr(s, ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, &cr) ||
	    u->cache_write_tokens !=
		usage_attr(s, ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, &cw) ||
	    u->has_tokens != (in || out) || u->has_cost != (cost != NULL) ||
	    (cost && (cost->type != BT_ATTR_DOUBLE || !(u->cost_usd == cost->d))) ||
	    (bt_attrs_get(&s->attrs, ATTR_BEDTRACE_COST_INCLUDES_CHILDREN) != NULL) !=
		(u->includes_children && u->has_cost))
		abort();
}

#endif
