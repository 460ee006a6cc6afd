/* SPDX-License-Identifier: MIT */
/*
 * The InvokeAgent span tree: the child spans of one InvokeAgent call, the steps they stand for
 * (keyed by traceId and kind), the agents of a multi-agent run (nested by callerChain), the wire
 * time of the event being handled, and the usage and cost summed over every step. Opens, finds,
 * times and closes steps; bedrock_agent_trace.c decides which, bedrock_agent.c drives the stream.
 * Spans it creates go to the caller's array as they are made.
 */
#ifndef BT_BEDROCK_AGENT_TREE_H
#define BT_BEDROCK_AGENT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "genai/bedrock_agent.h"
#include "genai/bedrock_body.h"
#include "span/span.h"

#define AGENT_MAX_AGENTS 32
#define AGENT_MAX_STEPS 512

enum agent_step_kind {
	STEP_CONTAINER, /* one orchestration / pre / post-processing / routing step */
	STEP_MODEL,	/* model invocation input + output */
	STEP_INVOKE, /* action group, knowledge base, collaborator, code interpreter + observation
		      */
	STEP_AGENT,  /* a collaborator first seen through its own events */
	STEP_SINGLE, /* guardrail, failure: one event each */
	STEP_CUSTOM, /* custom orchestration events of one traceId */
};

struct agent_node {
	char arn[256]; /* alias ARN; empty for the agent the client invoked */
	char id[128];
	int step; /* the step whose span is this agent's, -1 for the root */
	uint64_t last;
};

struct agent_step {
	char trace_id[128];
	char model[256];
	enum agent_step_kind kind;
	struct bt_span *span;
	int agent;
	int parent; /* step index, -1: the root span */
	bool closed;
};

struct agent_tree {
	const struct bedrock_agent_req *req;
	struct bt_span *root;
	struct bt_span ***children;
	size_t *n_children, children_cap;
	struct agent_node agents[AGENT_MAX_AGENTS];
	size_t n_agents;
	struct agent_step steps[AGENT_MAX_STEPS];
	size_t n_steps;
	uint64_t now, last; /* wire time of the current event, of the latest one */
	struct bedrock_usage total;
	double cost;
	bool any_cost, unknown_price, failed;
};

/* Sets up @st (zeroed by the caller) with the invoked agent as agents[0] and no steps. */
void agent_tree_init(struct agent_tree *st, const struct bedrock_agent_req *req,
		     struct bt_span *root, struct bt_span ***children, size_t *n_children);

/*
 * Ends the steps the stream left open (marked incomplete) and widens every span to cover its
 * children. Returns 0 or -ENOMEM.
 */
int agent_tree_finish(struct agent_tree *st);

/* Copies the AGENT_ID of an agent alias ARN into @out ("" when @arn is NULL or not one). */
void agent_arn_id(const char *arn, char *out, size_t cap);

/* Returns the index of the agent with alias ARN @arn (never the root), or -1. */
int agent_find(struct agent_tree *st, const char *arn);

/* Adds the agent @arn whose span is step @step's; returns its index, -1 when full or no @arn. */
int agent_add(struct agent_tree *st, const char *arn, int step);

/* Returns the step index an agent's own steps nest under (-1: the root span). */
int agent_parent(struct agent_tree *st, int agent);

/*
 * Returns the agent of callerChain[@k] (0 for k <= 0), opening an "invoke_agent" span (named
 * @name, else by id) for a collaborator seen first here; -ENOMEM.
 */
int agent_at(struct agent_tree *st, const cJSON *chain, int k, const char *name);

/* Returns the span of step @step, the root span for -1. */
struct bt_span *agent_step_span(struct agent_tree *st, int step);

/*
 * Opens a step of @kind for @agent under step @parent, its span named @name and started now.
 * Returns its index, -ENOMEM, or -ENOSPC when the tree is full (callers then drop the event).
 */
int agent_step_open(struct agent_tree *st, int parent, int agent, const char *tid,
		    enum agent_step_kind kind, const char *name);

/* Returns the latest open step of @kind and @agent with trace id @tid (any when empty), or NULL. */
struct agent_step *agent_step_find(struct agent_tree *st, const char *tid,
				   enum agent_step_kind kind, int agent);

/* Returns the index of step @s of @st. */
static inline int agent_step_index(const struct agent_tree *st, const struct agent_step *s)
{
	return (int)(s - st->steps);
}

/*
 * Returns the container step @tid of @agent (e.g. kind "ORCHESTRATION"), extended to now, or
 * opens it; -ENOMEM or -ENOSPC.
 */
int agent_container(struct agent_tree *st, int agent, const char *tid, const char *kind);

/*
 * Closes @s at now, or at the service times of metadata @md when they fit the call; a step
 * @opened_now by its closing event is back-dated by the service's duration. 0 or -ENOMEM.
 */
int agent_step_close(struct agent_tree *st, struct agent_step *s, const cJSON *md, bool opened_now);

#endif
