// SPDX-License-Identifier: MIT
/*
 * Usage and cost on a span: the typed fields and their attributes, written together.
 */
#include "genai/usage.h"
#include "span/semconv.h"

int genai_set_usage(struct bt_span *span, const struct genai_usage *u)
{
	struct bt_attrs *a = &span->attrs;

	if (a->err || (!u->has_input && !u->has_output))
		return a->err;
	if (u->has_input)
		bt_attrs_set_int(a, ATTR_GEN_AI_USAGE_INPUT_TOKENS, u->input);
	if (u->has_output)
		bt_attrs_set_int(a, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, u->output);
	if (u->has_cache_read)
		bt_attrs_set_int(a, ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, u->cache_read);
	if (u->has_cache_write)
		bt_attrs_set_int(a, ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, u->cache_write);
	if (u->has_cost)
		bt_attrs_set_double(a, ATTR_BEDTRACE_COST_USD, u->cost_usd);
	if (u->has_cost && u->includes_children)
		bt_attrs_set_bool(a, ATTR_BEDTRACE_COST_INCLUDES_CHILDREN, true);
	if (u->unknown_model)
		bt_attrs_set_bool(a, ATTR_BEDTRACE_COST_UNKNOWN_MODEL, true);
	if (a->err)
		return a->err; /* the annotation fails; totals must not count a half-set span */
	span->usage = (struct bt_genai_usage){
	    .has_tokens = true,
	    .has_cost = u->has_cost,
	    .includes_children = u->includes_children,
	    .input_tokens = u->has_input ? u->input : 0,
	    .output_tokens = u->has_output ? u->output : 0,
	    .cache_read_tokens = u->has_cache_read ? u->cache_read : 0,
	    .cache_write_tokens = u->has_cache_write ? u->cache_write : 0,
	    .cost_usd = u->has_cost ? u->cost_usd : 0,
	};
	return 0;
}
