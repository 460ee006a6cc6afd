/* SPDX-License-Identifier: MIT */
/*
 * Token usage and cost of a model call, put on its span in one step: the typed span->usage that
 * the stitcher and metrics read, and the gen_ai.usage.* / bedtrace.cost.* attributes exporters
 * send, so the two always say the same thing. Every GenAI annotator reports usage through here.
 */
#ifndef BT_GENAI_USAGE_H
#define BT_GENAI_USAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "span/span.h"

/* Usage as a provider reported it; a count not reported stays off the span's attributes. */
struct genai_usage {
	int64_t input; /* all input tokens, cache reads and writes included */
	int64_t output;
	int64_t cache_read;  /* part of input read from the prompt cache */
	int64_t cache_write; /* part of input written to the prompt cache */
	double cost_usd;
	bool has_input, has_output, has_cache_read, has_cache_write, has_cost;
	bool unknown_model;	/* tokens known, but the model has no price */
	bool includes_children; /* the counts and cost already sum the span's child spans */
};

/*
 * Sets @u on @span: span->usage, and the attributes gen_ai.usage.input_tokens, output_tokens,
 * cache_read.input_tokens, cache_creation.input_tokens, bedtrace.cost.usd (each when reported),
 * bedtrace.cost.includes_children (with a cost: it tells cost summers to skip the span) and
 * bedtrace.cost.unknown_model. Nothing is set when neither input nor output is reported, and
 * span->usage only once every attribute is. Returns 0 or the attribute set's sticky error.
 */
int genai_set_usage(struct bt_span *span, const struct genai_usage *u);

#endif
