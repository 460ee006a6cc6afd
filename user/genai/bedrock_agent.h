/* SPDX-License-Identifier: MIT */
/*
 * Bedrock Agents InvokeAgent / InvokeInlineAgent response streams: the answer chunks and every
 * trace event (pre-processing, orchestration steps, action group / knowledge base / collaborator /
 * code interpreter invocations, guardrails, post-processing, routing, failures, custom
 * orchestration) turned into child spans of the InvokeAgent span, merged per step, nested by the
 * multi-agent callerChain and timed by when each event crossed the wire. Owns nothing after it
 * returns: the child spans go to the caller. The span tree is bedrock_agent_tree.h's, the reading
 * of trace events bedrock_agent_trace.h's.
 */
#ifndef BT_BEDROCK_AGENT_H
#define BT_BEDROCK_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "genai/bedrock_body.h"
#include "proto/http.h"
#include "span/span.h"

struct price_table;

struct bedrock_agent_req {
	bool capture;			  /* prompts, rationales, tool arguments and results */
	const struct price_table *prices; /* NULL: built-in */
	const char *agent_id;		  /* from the request path; NULL for inline agents */
	const char *alias_id;
	const char *session_id;
};

/* Converts a CLOCK_MONOTONIC capture time of @ex to @span's unix-epoch clock. */
uint64_t bedrock_span_time(const struct http_exchange *ex, const struct bt_span *span,
			   uint64_t mono_ns);

/*
 * Decodes the event-stream response of @ex. Annotates @root (answer chunk count and bytes, summed
 * usage and cost of all steps, return-control and file events), records the first answer chunk,
 * stream exceptions and decoder errors in @info (info->has_first_chunk, error_type,
 * stream_error...), and appends the child spans to *@children / *@n_children (grown with realloc;
 * the caller frees each span and the array). Returns 0 or -ENOMEM; malformed events never fail.
 */
int bedrock_agent_annotate(const struct bedrock_agent_req *req, const struct http_exchange *ex,
			   struct bt_span *root, struct bedrock_info *info,
			   struct bt_span ***children, size_t *n_children);

#endif
