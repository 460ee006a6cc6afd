/* SPDX-License-Identifier: MIT */
/*
 * Amazon Bedrock recognition and GenAI span attributes. Given a completed HTTP exchange and the
 * HTTP CLIENT span built for it, decides whether it is a Bedrock Runtime / Agent Runtime call and,
 * if so, renames and annotates the span per the OpenTelemetry GenAI conventions, and creates child
 * spans for InvokeAgent trace events. Pure over its inputs: no BPF, no I/O but --prices loading.
 */
#ifndef BT_BEDROCK_H
#define BT_BEDROCK_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/http.h"
#include "span/span.h"

struct price_table;

struct bedrock_opts {
	bool capture_content; /* gen_ai.input.messages / output.messages / system_instructions */
	const struct price_table *prices; /* NULL: built-in table */
};

/* Cross-exchange state: retries of one SDK invocation, throttling counts. */
struct bedrock_ctx;

/* Returns a new context (caller frees with bedrock_ctx_free) or NULL with errno set. */
struct bedrock_ctx *bedrock_ctx_new(const struct bedrock_opts *opts);
void bedrock_ctx_free(struct bedrock_ctx *ctx);

/* True when @ex is a Bedrock Runtime or Agent Runtime call (host, SigV4 scope, path shape). */
bool bedrock_match(const struct http_exchange *ex);

/*
 * Annotates @span (already an HTTP CLIENT span for @ex, with trace/span ids and times set) as a
 * Bedrock span and appends child spans (agent trace events, each already parented and timed) to
 * *@children / *@n_children (array grown with realloc; caller frees each span and the array).
 * Returns 0, or -errno on allocation failure; malformed bodies never fail, they mark the span.
 */
int bedrock_annotate(struct bedrock_ctx *ctx, const struct http_exchange *ex, struct bt_span *span,
		     struct bt_span ***children, size_t *n_children);

#endif
