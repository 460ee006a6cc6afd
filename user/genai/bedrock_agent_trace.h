/* SPDX-License-Identifier: MIT */
/*
 * InvokeAgent trace events → step spans and their GenAI attributes: model invocations (one
 * "chat {model}" span per input/output pair, with parameters, usage and cost), action group /
 * knowledge base / collaborator / code interpreter invocations and their observations, rationales
 * and final responses (span events), guardrails, failures and custom orchestration. The span
 * tree itself is bedrock_agent_tree.h's.
 */
#ifndef BT_BEDROCK_AGENT_TRACE_H
#define BT_BEDROCK_AGENT_TRACE_H

#include <cjson/cJSON.h>

#include "genai/bedrock_agent_tree.h"

/*
 * Handles one "trace" event payload @part (trace, callerChain, collaboratorName, agentId...) at
 * wire time st->now. Returns 0 or -ENOMEM; unknown or malformed traces are skipped.
 */
int agent_trace_event(struct agent_tree *st, const cJSON *part);

#endif
