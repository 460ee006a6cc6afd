// SPDX-License-Identifier: MIT
/*
 * InvokeAgent span tree. Steps are kept in opening order, so a child always comes after its
 * parent; spans are timed by wire arrival of their events, and a server-reported duration
 * (metadata startTime/endTime or totalTimeMs) moves a start back from the wire end, because
 * Bedrock may batch trace events.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genai/bedrock_agent_tree.h"
#include "genai/bedrock_json.h"
#include "span/semconv.h"
#include "util/grow.h"

/* ISO 8601 "2025-02-06T05:12:33.123Z" (or ±hh:mm), or epoch seconds; 0 when unparsable. */
static uint64_t parse_time(const cJSON *v)
{
	struct tm tm = {0};
	const char *s, *p;
	uint64_t frac = 0, scale = 1000000000ull;
	int64_t off = 0;
	time_t t;
	int hh, mm;

	if (cJSON_IsNumber(v))
		return v->valuedouble > 0 && v->valuedouble < 4e9 ? (uint64_t)(v->valuedouble * 1e9)
								  : 0;
	if (!cJSON_IsString(v))
		return 0;
	s = v->valuestring;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
		}
	}
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
		off = (*p == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
	t = timegm(&tm);
	if (t <= 0)
		return 0;
	return (uint64_t)(t - off) * 1000000000ull + frac;
}

static struct bt_span *child_new(struct agent_tree *st, const struct bt_span *parent,
				 const char *name, uint64_t start)
{
	struct bt_span *s = bt_span_new(name, BT_KIND_INTERNAL);

	if (!s)
		return NULL;
	if (grow(st->children, &st->children_cap, *st->n_children + 1, sizeof(**st->children))) {
		bt_span_free(s);
		return NULL;
	}
	(*st->children)[(*st->n_children)++] = s;
	bt_span_set_parent(s, parent);
	bt_span_set_resource(s, st->root->resource);
	s->start_ns = start < parent->start_ns ? parent->start_ns : start;
	s->end_ns = s->start_ns;
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_PROVIDER_NAME, GEN_AI_PROVIDER_AWS_BEDROCK);
	bt_attrs_set_str(&s->attrs, ATTR_BEDTRACE_SOURCE, "bedrock.agent.trace");
	/* every step belongs to the session, as the InvokeAgent span does */
	if (st->req->session_id && st->req->session_id[0])
		bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_CONVERSATION_ID, st->req->session_id);
	return s->attrs.err ? NULL : s;
}

/* "arn:aws:bedrock:REGION:ACCOUNT:agent-alias/AGENT_ID/ALIAS_ID" → AGENT_ID */
void agent_arn_id(const char *arn, char *out, size_t cap)
{
	const char *p = arn ? strstr(arn, "agent-alias/") : NULL;
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen("agent-alias/");
	n = strcspn(p, "/");
	snprintf(out, cap, "%.*s", (int)n, p);
}

int agent_find(struct agent_tree *st, const char *arn)
{
	size_t i;

	for (i = 1; arn && i < st->n_agents; i++)
		if (!strcmp(st->agents[i].arn, arn))
			return (int)i;
	return -1;
}

int agent_add(struct agent_tree *st, const char *arn, int step)
{
	struct agent_node *n;

	if (st->n_agents == AGENT_MAX_AGENTS || !arn)
		return -1; /* deeper than this, events attach to the closest known agent */
	n = &st->agents[st->n_agents];
	snprintf(n->arn, sizeof(n->arn), "%s", arn);
	agent_arn_id(arn, n->id, sizeof(n->id));
	n->step = step;
	n->last = st->now;
	return (int)st->n_agents++;
}

struct bt_span *agent_step_span(struct agent_tree *st, int step)
{
	return step < 0 ? st->root : st->steps[step].span;
}

/* The span an agent's own steps nest under. */
int agent_parent(struct agent_tree *st, int agent)
{
	return st->agents[agent].step;
}

/* Returns a new step's index (its span already parented and started now), -ENOMEM or -ENOSPC. */
int agent_step_open(struct agent_tree *st, int parent, int agent, const char *tid,
		    enum agent_step_kind kind, const char *name)
{
	struct agent_step *s;

	if (st->n_steps == AGENT_MAX_STEPS)
		return -ENOSPC;
	s = &st->steps[st->n_steps];
	memset(s, 0, sizeof(*s));
	s->span = child_new(st, agent_step_span(st, parent), name, st->now);
	if (!s->span)
		return -ENOMEM;
	s->parent = parent;
	s->kind = kind;
	s->agent = agent;
	snprintf(s->trace_id, sizeof(s->trace_id), "%s", tid ? tid : "");
	st->n_steps++;
	if (tid)
		bt_attrs_set_str(&s->span->attrs, ATTR_AWS_BEDROCK_AGENT_TRACE_ID, tid);
	if (kind != STEP_INVOKE && st->agents[agent].id[0])
		bt_attrs_set_str(&s->span->attrs, ATTR_GEN_AI_AGENT_ID, st->agents[agent].id);
	return s->span->attrs.err ? s->span->attrs.err : (int)(st->n_steps - 1);
}

/* Returns the node of callerChain[@k], opening a span for a collaborator seen first here. */
int agent_at(struct agent_tree *st, const cJSON *chain, int k, const char *name)
{
	const char *arn;
	char label[300], id[128];
	struct bt_span *s;
	int idx, parent, step;

	if (k <= 0)
		return 0;
	arn = jstr(cJSON_GetArrayItem(chain, k), "agentAliasArn");
	idx = agent_find(st, arn);
	if (idx >= 0 || !arn)
		return idx >= 0 ? idx : agent_at(st, chain, k - 1, NULL);
	parent = agent_at(st, chain, k - 1, NULL);
	if (parent < 0)
		return parent;
	agent_arn_id(arn, id, sizeof(id));
	snprintf(label, sizeof(label), "invoke_agent %s", name ? name : id);
	step = agent_step_open(st, agent_parent(st, parent), parent, NULL, STEP_AGENT, label);
	if (step == -ENOSPC)
		return parent;
	if (step < 0)
		return step;
	s = st->steps[step].span;
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_OPERATION_NAME, "invoke_agent");
	if (name)
		bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_AGENT_NAME, name);
	if (id[0])
		bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_AGENT_ID, id);
	if (s->attrs.err)
		return s->attrs.err;
	idx = agent_add(st, arn, step);
	return idx >= 0 ? idx : parent;
}

struct agent_step *agent_step_find(struct agent_tree *st, const char *tid,
				   enum agent_step_kind kind, int agent)
{
	size_t i = st->n_steps;

	while (i-- > 0) {
		struct agent_step *s = &st->steps[i];

		if (s->kind == kind && s->agent == agent && !s->closed &&
		    (!tid || !*tid || !strcmp(s->trace_id, tid)))
			return s;
	}
	return NULL;
}

/* The container of step @tid of @agent, opened by its first event. -ENOMEM or -ENOSPC. */
int agent_container(struct agent_tree *st, int agent, const char *tid, const char *kind)
{
	char name[64];
	struct agent_step *s = agent_step_find(st, tid, STEP_CONTAINER, agent);
	size_t i;
	int idx;

	if (s && (!tid || !strcmp(s->trace_id, tid))) {
		if (st->now > s->span->end_ns)
			s->span->end_ns = st->now;
		return agent_step_index(st, s);
	}
	for (i = 0; kind[i] && i + 1 < sizeof(name); i++)
		name[i] = (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] - 'A' + 'a' : kind[i]);
	name[i] = '\0';
	idx = agent_step_open(st, agent_parent(st, agent), agent, tid, STEP_CONTAINER, name);
	if (idx >= 0 &&
	    bt_attrs_set_str(&st->steps[idx].span->attrs, ATTR_BEDTRACE_AGENT_STEP, kind))
		return -ENOMEM;
	return idx;
}

/*
 * Ends @s at the current wire time. Service times (metadata startTime/endTime) replace the wire
 * times when they fall inside the call as this host saw it (synchronised clocks); a step known
 * only by its closing event is back-dated by the service's duration.
 */
int agent_step_close(struct agent_tree *st, struct agent_step *s, const cJSON *md, bool opened_now)
{
	uint64_t end = st->now, start = s->span->start_ns;
	uint64_t floor = agent_step_span(st, agent_parent(st, s->agent))->start_ns;
	uint64_t ms = parse_time(J(md, "startTime")), me = parse_time(J(md, "endTime"));
	uint64_t hi = st->root->end_ns ? st->root->end_ns : end, dur = 0;
	int64_t total;

	if (jint(md, "totalTimeMs", &total) && total >= 0 && total < 86400000) {
		dur = (uint64_t)total * 1000000ull;
		if (bt_attrs_set_int(&s->span->attrs, ATTR_BEDTRACE_AGENT_TOTAL_TIME_MS, total))
			return -ENOMEM;
	}
	if (ms && me && me >= ms) {
		dur = me - ms;
		if (ms >= st->root->start_ns && me <= hi) {
			start = ms;
			end = me;
			opened_now = false;
		}
	}
	if (opened_now && dur)
		start = end - floor >= dur ? end - dur : floor;
	if (start < floor)
		start = floor;
	s->span->start_ns = start;
	s->span->end_ns = end < start ? start : end;
	s->closed = true;
	return 0;
}

void agent_tree_init(struct agent_tree *st, const struct bedrock_agent_req *req,
		     struct bt_span *root, struct bt_span ***children, size_t *n_children)
{
	st->req = req;
	st->root = root;
	st->children = children;
	st->n_children = n_children;
	st->children_cap = *n_children; /* at least; the caller's array may be exactly full */
	st->agents[0].step = -1;
	if (req->agent_id)
		snprintf(st->agents[0].id, sizeof(st->agents[0].id), "%s", req->agent_id);
	st->n_agents = 1;
	st->last = root->start_ns;
}

int agent_tree_finish(struct agent_tree *st)
{
	size_t i;
	int err;

	for (i = 0; i < st->n_steps; i++) {
		struct agent_step *s = &st->steps[i];

		if (s->kind == STEP_AGENT) {
			s->span->end_ns = s->span->start_ns;
			continue; /* spans its children, below */
		}
		if (s->closed || s->kind == STEP_CONTAINER || s->kind == STEP_CUSTOM)
			continue;
		/* the stream ended before this step's closing event */
		s->span->end_ns = st->last > s->span->start_ns ? st->last : s->span->start_ns;
		if ((err =
			 bt_attrs_set_bool(&s->span->attrs, ATTR_BEDTRACE_AGENT_INCOMPLETE, true)))
			return err;
	}
	/* children come after their parents: one backward pass makes every parent cover them */
	for (i = st->n_steps; i-- > 0;) {
		struct bt_span *c = st->steps[i].span, *p;

		if (st->steps[i].parent < 0)
			continue;
		p = st->steps[st->steps[i].parent].span;
		if (c->start_ns < p->start_ns)
			p->start_ns = c->start_ns;
		if (c->end_ns > p->end_ns)
			p->end_ns = c->end_ns;
	}
	return 0;
}
