// SPDX-License-Identifier: MIT
/*
 * InvokeAgent trace events → child spans. Events of one step share a traceId: the model
 * invocation input and output become one "chat {model}" span, an invocation input and its
 * observation one "execute_tool" / "retrieve" / "invoke_agent" span. A collaborator's events
 * carry a callerChain ending at its alias ARN and nest under the span that invoked it. Spans are
 * timed by wire arrival of their events; a server-reported duration (metadata startTime/endTime
 * or totalTimeMs) moves the start back from the wire end, because Bedrock may batch trace events.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bedrock_agent.h"
#include "eventstream.h"
#include "prices.h"

#define MAX_AGENTS 32
#define MAX_STEPS 512
#define ANSWER_CAP (256u << 10)

#define J(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

enum step_kind {
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

struct step {
	char trace_id[128];
	char model[256];
	enum step_kind kind;
	struct bt_span *span;
	int agent;
	int parent; /* step index, -1: the root span */
	bool closed;
};

struct agent_state {
	const struct bedrock_agent_req *req;
	const struct http_exchange *ex;
	struct bt_span *root;
	struct bedrock_info *info;
	struct bt_span ***children;
	size_t *n_children;
	struct agent_node agents[MAX_AGENTS];
	size_t n_agents;
	struct step steps[MAX_STEPS];
	size_t n_steps;
	uint64_t now, last;
	struct bedrock_usage total;
	double cost;
	bool any_cost, unknown_price, failed;
	int64_t chunks, answer_bytes, citations, files;
	char *answer;
	size_t answer_len;
	bool answer_truncated;
};

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *it = J(o, k);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static bool jint(const cJSON *o, const char *k, int64_t *out)
{
	const cJSON *it = J(o, k);

	if (!cJSON_IsNumber(it) || !(it->valuedouble > -9e18 && it->valuedouble < 9e18))
		return false;
	*out = (int64_t)it->valuedouble;
	return true;
}

uint64_t bedrock_span_time(const struct http_exchange *ex, const struct bt_span *span,
			   uint64_t mono_ns)
{
	if (!ex->req.start_ns || !span->start_ns)
		return bt_mono_to_unix_ns(mono_ns);
	return span->start_ns + (uint64_t)((int64_t)(mono_ns - ex->req.start_ns));
}

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

static struct bt_span *child_new(struct agent_state *st, const struct bt_span *parent,
				 const char *name, uint64_t start)
{
	struct bt_span **v, *s = bt_span_new(name, BT_KIND_INTERNAL);

	if (!s)
		return NULL;
	v = realloc(*st->children, (*st->n_children + 1) * sizeof(*v));
	if (!v) {
		bt_span_free(s);
		return NULL;
	}
	*st->children = v;
	v[(*st->n_children)++] = s;
	bt_span_set_parent(s, parent);
	bt_span_set_resource(s, st->root->resource);
	s->start_ns = start < parent->start_ns ? parent->start_ns : start;
	s->end_ns = s->start_ns;
	if (bt_attrs_set_str(&s->attrs, "gen_ai.provider.name", "aws.bedrock") ||
	    bt_attrs_set_str(&s->attrs, "bedtrace.source", "bedrock.agent.trace"))
		return NULL;
	return s;
}

static int set_text_message(struct bt_attrs *a, const char *key, const char *role, const char *text)
{
	cJSON *msgs, *m, *parts, *p;
	char *s = NULL;
	int err = -ENOMEM;

	if (!text)
		return 0;
	msgs = cJSON_CreateArray();
	m = cJSON_CreateObject();
	parts = cJSON_CreateArray();
	p = cJSON_CreateObject();
	if (!msgs || !m || !parts || !p) {
		cJSON_Delete(msgs);
		cJSON_Delete(m);
		cJSON_Delete(parts);
		cJSON_Delete(p);
		return -ENOMEM;
	}
	cJSON_AddItemToArray(msgs, m);
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddItemToObject(m, "parts", parts);
	cJSON_AddItemToArray(parts, p);
	cJSON_AddStringToObject(p, "type", "text");
	if (cJSON_AddStringToObject(p, "content", text))
		s = cJSON_PrintUnformatted(msgs);
	if (s)
		err = bt_attrs_set_str(a, key, s);
	free(s);
	cJSON_Delete(msgs);
	return err;
}

static int set_json(struct bt_attrs *a, const char *key, const cJSON *v)
{
	char *s;
	int err;

	if (!v)
		return 0;
	s = cJSON_PrintUnformatted(v);
	if (!s)
		return -ENOMEM;
	err = bt_attrs_set_str(a, key, s);
	free(s);
	return err;
}

/* "arn:aws:bedrock:REGION:ACCOUNT:agent-alias/AGENT_ID/ALIAS_ID" → AGENT_ID */
static void arn_agent_id(const char *arn, char *out, size_t cap)
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

/* ---- agents of a multi-agent run ---- */

static int agent_find(struct agent_state *st, const char *arn)
{
	size_t i;

	for (i = 1; arn && i < st->n_agents; i++)
		if (!strcmp(st->agents[i].arn, arn))
			return (int)i;
	return -1;
}

static int agent_add(struct agent_state *st, const char *arn, int step)
{
	struct agent_node *n;

	if (st->n_agents == MAX_AGENTS || !arn)
		return -1; /* deeper than this, events attach to the closest known agent */
	n = &st->agents[st->n_agents];
	snprintf(n->arn, sizeof(n->arn), "%s", arn);
	arn_agent_id(arn, n->id, sizeof(n->id));
	n->step = step;
	n->last = st->now;
	return (int)st->n_agents++;
}

static struct bt_span *step_span(struct agent_state *st, int step)
{
	return step < 0 ? st->root : st->steps[step].span;
}

/* The span an agent's own steps nest under. */
static int agent_parent(struct agent_state *st, int agent)
{
	return st->agents[agent].step;
}

/* Returns a new step's index (its span already parented and started now), -ENOMEM or -ENOSPC. */
static int step_open(struct agent_state *st, int parent, int agent, const char *tid,
		     enum step_kind kind, const char *name)
{
	struct step *s;

	if (st->n_steps == MAX_STEPS)
		return -ENOSPC;
	s = &st->steps[st->n_steps];
	memset(s, 0, sizeof(*s));
	s->span = child_new(st, step_span(st, parent), name, st->now);
	if (!s->span)
		return -ENOMEM;
	s->parent = parent;
	s->kind = kind;
	s->agent = agent;
	snprintf(s->trace_id, sizeof(s->trace_id), "%s", tid ? tid : "");
	st->n_steps++;
	if (tid && bt_attrs_set_str(&s->span->attrs, "aws.bedrock.agent.trace_id", tid))
		return -ENOMEM;
	if (kind != STEP_INVOKE && st->agents[agent].id[0] &&
	    bt_attrs_set_str(&s->span->attrs, "gen_ai.agent.id", st->agents[agent].id))
		return -ENOMEM;
	return (int)(st->n_steps - 1);
}

/* Returns the node of callerChain[@k], opening a span for a collaborator seen first here. */
static int agent_at(struct agent_state *st, const cJSON *chain, int k, const char *name)
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
	arn_agent_id(arn, id, sizeof(id));
	snprintf(label, sizeof(label), "invoke_agent %s", name ? name : id);
	step = step_open(st, agent_parent(st, parent), parent, NULL, STEP_AGENT, label);
	if (step == -ENOSPC)
		return parent;
	if (step < 0)
		return step;
	s = st->steps[step].span;
	if (bt_attrs_set_str(&s->attrs, "gen_ai.operation.name", "invoke_agent") ||
	    (name && bt_attrs_set_str(&s->attrs, "gen_ai.agent.name", name)) ||
	    (id[0] && bt_attrs_set_str(&s->attrs, "gen_ai.agent.id", id)))
		return -ENOMEM;
	idx = agent_add(st, arn, step);
	return idx >= 0 ? idx : parent;
}

/* ---- steps ---- */

static struct step *step_find(struct agent_state *st, const char *tid, enum step_kind kind,
			      int agent)
{
	size_t i = st->n_steps;

	while (i-- > 0) {
		struct step *s = &st->steps[i];

		if (s->kind == kind && s->agent == agent && !s->closed &&
		    (!tid || !*tid || !strcmp(s->trace_id, tid)))
			return s;
	}
	return NULL;
}

static int step_index(struct agent_state *st, const struct step *s)
{
	return (int)(s - st->steps);
}

/* The container of step @tid of @agent, opened by its first event. -ENOMEM or -ENOSPC. */
static int container(struct agent_state *st, int agent, const char *tid, const char *kind)
{
	char name[64];
	struct step *s = step_find(st, tid, STEP_CONTAINER, agent);
	size_t i;
	int idx;

	if (s && (!tid || !strcmp(s->trace_id, tid))) {
		if (st->now > s->span->end_ns)
			s->span->end_ns = st->now;
		return step_index(st, s);
	}
	for (i = 0; kind[i] && i + 1 < sizeof(name); i++)
		name[i] = (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] - 'A' + 'a' : kind[i]);
	name[i] = '\0';
	idx = step_open(st, agent_parent(st, agent), agent, tid, STEP_CONTAINER, name);
	if (idx >= 0 && bt_attrs_set_str(&st->steps[idx].span->attrs, "bedtrace.agent.step", kind))
		return -ENOMEM;
	return idx;
}

/*
 * Ends @s at the current wire time. Service times (metadata startTime/endTime) replace the wire
 * times when they fall inside the call as this host saw it (synchronised clocks); a step known
 * only by its closing event is back-dated by the service's duration.
 */
static int step_close(struct agent_state *st, struct step *s, const cJSON *md, bool opened_now)
{
	uint64_t end = st->now, start = s->span->start_ns;
	uint64_t floor = step_span(st, agent_parent(st, s->agent))->start_ns;
	uint64_t ms = parse_time(J(md, "startTime")), me = parse_time(J(md, "endTime"));
	uint64_t hi = st->root->end_ns ? st->root->end_ns : end, dur = 0;
	int64_t total;

	if (jint(md, "totalTimeMs", &total) && total >= 0 && total < 86400000) {
		dur = (uint64_t)total * 1000000ull;
		if (bt_attrs_set_int(&s->span->attrs, "bedtrace.agent.total_time_ms", total))
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

static int model_params(struct bt_attrs *a, const cJSON *cfg)
{
	const cJSON *stop = J(cfg, "stopSequences"), *it;
	const char *v[16];
	int64_t n;
	size_t k = 0;
	int err = 0;

	if (jint(cfg, "maximumLength", &n))
		err = bt_attrs_set_int(a, "gen_ai.request.max_tokens", n);
	if (!err && cJSON_IsNumber(J(cfg, "temperature")))
		err = bt_attrs_set_double(a, "gen_ai.request.temperature",
					  J(cfg, "temperature")->valuedouble);
	if (!err && cJSON_IsNumber(J(cfg, "topP")))
		err = bt_attrs_set_double(a, "gen_ai.request.top_p", J(cfg, "topP")->valuedouble);
	if (!err && cJSON_IsNumber(J(cfg, "topK")))
		err = bt_attrs_set_double(a, "gen_ai.request.top_k", J(cfg, "topK")->valuedouble);
	if (!cJSON_IsArray(stop))
		stop = NULL;
	cJSON_ArrayForEach(it, stop) if (cJSON_IsString(it) && k < 16) v[k++] = it->valuestring;
	if (!err && k)
		err = bt_attrs_set_str_array(a, "gen_ai.request.stop_sequences", v, k);
	return err;
}

static int model_open(struct agent_state *st, int agent, int parent, const char *tid,
		      const char *model)
{
	char name[300];
	int idx;

	snprintf(name, sizeof(name), model ? "chat %s" : "chat", model);
	idx = step_open(st, parent, agent, tid, STEP_MODEL, name);
	if (idx < 0)
		return idx;
	snprintf(st->steps[idx].model, sizeof(st->steps[idx].model), "%s", model ? model : "");
	if (bt_attrs_set_str(&st->steps[idx].span->attrs, "gen_ai.operation.name", "chat") ||
	    (model && bt_attrs_set_str(&st->steps[idx].span->attrs, "gen_ai.request.model", model)))
		return -ENOMEM;
	return idx;
}

static int model_input(struct agent_state *st, int agent, int parent, const cJSON *in)
{
	int idx = model_open(st, agent, parent, jstr(in, "traceId"), jstr(in, "foundationModel"));
	struct bt_attrs *a;
	int err;

	if (idx < 0)
		return idx == -ENOSPC ? 0 : idx;
	a = &st->steps[idx].span->attrs;
	err = model_params(a, J(in, "inferenceConfiguration"));
	if (!err && jstr(in, "type"))
		err = bt_attrs_set_str(a, "bedtrace.agent.prompt_type", jstr(in, "type"));
	if (!err && st->req->capture)
		err = set_text_message(a, "gen_ai.input.messages", "user", jstr(in, "text"));
	return err;
}

static int step_usage(struct agent_state *st, struct step *s, const cJSON *usage)
{
	struct bt_attrs *a = &s->span->attrs;
	int64_t in = 0, out = 0;
	bool has_in = jint(usage, "inputTokens", &in), has_out = jint(usage, "outputTokens", &out);
	struct price p;
	int err = 0;

	if (!has_in && !has_out)
		return 0;
	if (has_in)
		err = bt_attrs_set_int(a, "gen_ai.usage.input_tokens", in);
	if (!err && has_out)
		err = bt_attrs_set_int(a, "gen_ai.usage.output_tokens", out);
	st->total.input += has_in ? in : 0;
	st->total.output += has_out ? out : 0;
	st->total.has_input |= has_in;
	st->total.has_output |= has_out;
	if (err)
		return err;
	if (price_lookup(st->req->prices, s->model, &p)) {
		st->unknown_price = true;
		return bt_attrs_set_bool(a, "bedtrace.cost.unknown_model", true);
	}
	st->any_cost = true;
	st->cost += price_cost(&p, in, out, 0, 0);
	return bt_attrs_set_double(a, "bedtrace.cost.usd", price_cost(&p, in, out, 0, 0));
}

static int model_output(struct agent_state *st, int agent, int parent, const cJSON *out)
{
	const char *tid = jstr(out, "traceId");
	const cJSON *md = J(out, "metadata"), *parsed = J(out, "parsedResponse");
	struct step *s = step_find(st, tid, STEP_MODEL, agent);
	const char *raw = jstr(J(out, "rawResponse"), "content");
	const char *reasoning = jstr(J(J(out, "reasoningContent"), "reasoningText"), "text");
	bool opened_now = !s;
	int err = 0, idx;

	if (!s) {
		idx = model_open(st, agent, parent, tid, NULL);
		if (idx < 0)
			return idx == -ENOSPC ? 0 : idx;
		s = &st->steps[idx];
	}
	err = step_close(st, s, md, opened_now);
	if (!err)
		err = step_usage(st, s, J(md, "usage"));
	if (!err && cJSON_IsBool(J(parsed, "isValid")))
		err = bt_attrs_set_bool(&s->span->attrs, "bedtrace.agent.preprocessing.valid",
					cJSON_IsTrue(J(parsed, "isValid")));
	if (err || !st->req->capture)
		return err;
	if (!raw)
		raw = jstr(parsed, "text");
	err = set_text_message(&s->span->attrs, "gen_ai.output.messages", "assistant", raw);
	if (!err && reasoning)
		err = bt_attrs_set_str(&s->span->attrs, "gen_ai.agent.reasoning", reasoning);
	return err;
}

/* A span event (rationale, final response...) on the step container's span. */
static int step_event(struct agent_state *st, int parent, const char *name, const char *key,
		      const char *text)
{
	struct bt_span_event *ev = bt_span_add_event(step_span(st, parent), name, st->now);

	if (!ev)
		return -ENOMEM;
	if (st->req->capture && text && key)
		return bt_attrs_set_str(&ev->attrs, key, text);
	return 0;
}

/*
 * Action groups carry the API verb as the agent sent it ("get"); HTTP conventions want the
 * method in upper case, and an unknown one as _OTHER with the original kept.
 */
static int set_http_method(struct bt_attrs *a, const char *verb)
{
	static const char *const known[] = {"GET",  "POST",    "PUT",	  "DELETE", "PATCH",
					    "HEAD", "OPTIONS", "CONNECT", "TRACE"};
	char up[16];
	size_t i, n = strlen(verb);
	int err;

	if (n < sizeof(up)) {
		for (i = 0; i <= n; i++)
			up[i] = verb[i] >= 'a' && verb[i] <= 'z' ? (char)(verb[i] - 'a' + 'A')
								 : verb[i];
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(up, known[i]))
				return bt_attrs_set_str(a, "http.request.method", known[i]);
	}
	err = bt_attrs_set_str(a, "http.request.method", "_OTHER");
	return err ? err : bt_attrs_set_str(a, "http.request.method_original", verb);
}

static int invocation_attrs(struct agent_state *st, struct step *s, const cJSON *in, const char *v)
{
	const cJSON *ag = J(in, "actionGroupInvocationInput"),
		    *kb = J(in, "knowledgeBaseLookupInput");
	const cJSON *co = J(in, "agentCollaboratorInvocationInput");
	const cJSON *ci = J(in, "codeInterpreterInvocationInput");
	struct bt_attrs *a = &s->span->attrs;
	const char *fn = jstr(ag, "function") ? jstr(ag, "function") : jstr(ag, "apiPath");
	char id[128];
	int err;

	err = bt_attrs_set_str(a, "gen_ai.operation.name",
			       kb   ? "retrieve"
			       : co ? "invoke_agent"
				    : "execute_tool");
	if (!err && jstr(in, "invocationType"))
		err = bt_attrs_set_str(a, "bedtrace.agent.invocation_type",
				       jstr(in, "invocationType"));
	if (!err && (ag || ci))
		err = bt_attrs_set_str(a, "gen_ai.tool.name", v ? v : "");
	if (!err && (ag || ci))
		err = bt_attrs_set_str(a, "gen_ai.tool.type", ci ? "extension" : "function");
	if (!err && fn)
		err = bt_attrs_set_str(a, "bedtrace.agent.action_group.function", fn);
	if (!err && jstr(ag, "verb"))
		err = set_http_method(a, jstr(ag, "verb"));
	if (!err && jstr(ag, "executionType"))
		err = bt_attrs_set_str(a, "bedtrace.agent.action_group.execution_type",
				       jstr(ag, "executionType"));
	if (!err && jstr(ag, "invocationId"))
		err = bt_attrs_set_str(a, "gen_ai.tool.call.id", jstr(ag, "invocationId"));
	if (!err && kb && v)
		err = bt_attrs_set_str(a, "gen_ai.data_source.id", v);
	if (!err && kb && v)
		err = bt_attrs_set_str(a, "aws.bedrock.knowledge_base.id", v);
	if (!err && co) {
		arn_agent_id(jstr(co, "agentCollaboratorAliasArn"), id, sizeof(id));
		if (v)
			err = bt_attrs_set_str(a, "gen_ai.agent.name", v);
		if (!err && id[0])
			err = bt_attrs_set_str(a, "gen_ai.agent.id", id);
	}
	if (err || !st->req->capture)
		return err;
	if (ag) {
		cJSON *args = cJSON_CreateObject();

		if (!args)
			return -ENOMEM;
		if (J(ag, "parameters"))
			cJSON_AddItemToObject(args, "parameters",
					      cJSON_Duplicate(J(ag, "parameters"), true));
		if (J(ag, "requestBody"))
			cJSON_AddItemToObject(args, "requestBody",
					      cJSON_Duplicate(J(ag, "requestBody"), true));
		err = set_json(a, "gen_ai.tool.call.arguments", args);
		cJSON_Delete(args);
	} else if (kb) {
		err = set_text_message(a, "gen_ai.input.messages", "user", jstr(kb, "text"));
	} else if (co) {
		err = set_text_message(a, "gen_ai.input.messages", "user",
				       jstr(J(co, "input"), "text"));
	} else if (jstr(ci, "code")) {
		err = bt_attrs_set_str(a, "gen_ai.tool.call.arguments", jstr(ci, "code"));
	}
	return err;
}

static int invocation_input(struct agent_state *st, int agent, int parent, const cJSON *in)
{
	const cJSON *ag = J(in, "actionGroupInvocationInput"),
		    *kb = J(in, "knowledgeBaseLookupInput");
	const cJSON *co = J(in, "agentCollaboratorInvocationInput");
	const char *v, *arn = jstr(co, "agentCollaboratorAliasArn");
	char name[300];
	int idx, err;

	if (ag)
		v = jstr(ag, "actionGroupName");
	else if (kb)
		v = jstr(kb, "knowledgeBaseId");
	else if (co)
		v = jstr(co, "agentCollaboratorName");
	else if (J(in, "codeInterpreterInvocationInput"))
		v = "code_interpreter";
	else
		return 0; /* FINISH and unknown types: the observation tells */
	snprintf(name, sizeof(name), "%s %s",
		 kb   ? "retrieve"
		 : co ? "invoke_agent"
		      : "execute_tool",
		 v ? v : "");
	idx = step_open(st, parent, agent, jstr(in, "traceId"), STEP_INVOKE, name);
	if (idx < 0)
		return idx == -ENOSPC ? 0 : idx;
	err = invocation_attrs(st, &st->steps[idx], in, v);
	/* the collaborator's own events nest under this span */
	if (!err && co && agent_find(st, arn) < 0)
		agent_add(st, arn, idx);
	return err;
}

static int observation_attrs(struct agent_state *st, struct step *s, const cJSON *ob)
{
	const cJSON *ag = J(ob, "actionGroupInvocationOutput"),
		    *kb = J(ob, "knowledgeBaseLookupOutput");
	const cJSON *co = J(ob, "agentCollaboratorInvocationOutput");
	const cJSON *ci = J(ob, "codeInterpreterInvocationOutput");
	struct bt_attrs *a = &s->span->attrs;
	const char *et;
	int err = 0;

	if (kb && cJSON_IsArray(J(kb, "retrievedReferences")))
		err = bt_attrs_set_int(a, "bedtrace.retrieval.results",
				       cJSON_GetArraySize(J(kb, "retrievedReferences")));
	if (!err && ci && (jstr(ci, "executionError") || cJSON_IsTrue(J(ci, "executionTimeout")))) {
		et = jstr(ci, "executionError") ? "CodeInterpreterError" : "CodeInterpreterTimeout";
		err = bt_attrs_set_str(a, "error.type", et);
		if (!err)
			err = bt_span_set_status(s->span, BT_STATUS_ERROR, et);
	}
	if (err || !st->req->capture)
		return err;
	if (ag)
		return bt_attrs_set_str(a, "gen_ai.tool.call.result",
					jstr(ag, "text") ? jstr(ag, "text") : "");
	if (kb)
		return set_json(a, "bedtrace.retrieval.documents", J(kb, "retrievedReferences"));
	if (co)
		return set_text_message(a, "gen_ai.output.messages", "assistant",
					jstr(J(co, "output"), "text"));
	if (jstr(ci, "executionOutput") || jstr(ci, "executionError"))
		return bt_attrs_set_str(a, "gen_ai.tool.call.result",
					jstr(ci, "executionOutput") ? jstr(ci, "executionOutput")
								    : jstr(ci, "executionError"));
	return 0;
}

static int observation(struct agent_state *st, int agent, int parent, const cJSON *ob)
{
	static const char *const outs[] = {
	    "actionGroupInvocationOutput", "knowledgeBaseLookupOutput",
	    "agentCollaboratorInvocationOutput", "codeInterpreterInvocationOutput"};
	static const char *const names[] = {"execute_tool", "retrieve", "invoke_agent",
					    "execute_tool code_interpreter"};
	const cJSON *out = NULL;
	struct step *s;
	size_t i, which = 0;
	int idx, err;

	if (J(ob, "finalResponse"))
		return step_event(st, parent, "gen_ai.agent.final_response", "text",
				  jstr(J(ob, "finalResponse"), "text"));
	if (J(ob, "repromptResponse"))
		return step_event(st, parent, "gen_ai.agent.reprompt", "text",
				  jstr(J(ob, "repromptResponse"), "text"));
	for (i = 0; i < 4 && !out; i++)
		if ((out = J(ob, outs[i])))
			which = i;
	if (!out)
		return jstr(ob, "type")
			   ? step_event(st, parent, "gen_ai.agent.observation", NULL, NULL)
			   : 0;
	s = step_find(st, jstr(ob, "traceId"), STEP_INVOKE, agent);
	if (!s) {
		idx = step_open(st, parent, agent, jstr(ob, "traceId"), STEP_INVOKE, names[which]);
		if (idx < 0)
			return idx == -ENOSPC ? 0 : idx;
		s = &st->steps[idx];
	}
	err = step_close(st, s, J(out, "metadata"), s->span->start_ns == st->now);
	if (!err && which == 2 &&
	    (idx = agent_find(st, jstr(out, "agentCollaboratorAliasArn"))) > 0)
		st->agents[idx].last = st->now;
	return err ? err : observation_attrs(st, s, ob);
}

/* Pre/post-processing, orchestration and routing traces share one union layout. */
static int step_trace(struct agent_state *st, int agent, const char *kind, const cJSON *t)
{
	const cJSON *member = t->child;
	const char *tid = NULL;
	int parent, err = 0;

	/* every member of the union carries the step's traceId */
	for (; member && !tid; member = member->next)
		tid = jstr(member, "traceId");
	parent = container(st, agent, tid, kind);
	if (parent == -ENOSPC)
		return 0;
	if (parent < 0)
		return parent;
	if (J(t, "modelInvocationInput"))
		err = model_input(st, agent, parent, J(t, "modelInvocationInput"));
	if (!err && J(t, "modelInvocationOutput"))
		err = model_output(st, agent, parent, J(t, "modelInvocationOutput"));
	if (!err && J(t, "rationale"))
		err = step_event(st, parent, "gen_ai.agent.rationale", "text",
				 jstr(J(t, "rationale"), "text"));
	if (!err && J(t, "invocationInput"))
		err = invocation_input(st, agent, parent, J(t, "invocationInput"));
	if (!err && J(t, "observation"))
		err = observation(st, agent, parent, J(t, "observation"));
	return err;
}

static int guardrail_trace(struct agent_state *st, int agent, const cJSON *t)
{
	int idx = step_open(st, agent_parent(st, agent), agent, jstr(t, "traceId"), STEP_SINGLE,
			    "apply_guardrail");
	struct bt_attrs *a;
	int err;

	if (idx < 0)
		return idx == -ENOSPC ? 0 : idx;
	a = &st->steps[idx].span->attrs;
	err = step_close(st, &st->steps[idx], J(t, "metadata"), true);
	if (!err)
		err = bt_attrs_set_str(a, "gen_ai.operation.name", "apply_guardrail");
	if (!err && jstr(t, "action"))
		err = bt_attrs_set_str(a, "aws.bedrock.guardrail.action", jstr(t, "action"));
	if (!err && cJSON_IsArray(J(t, "inputAssessments")))
		err = bt_attrs_set_int(a, "bedtrace.agent.guardrail.input_assessments",
				       cJSON_GetArraySize(J(t, "inputAssessments")));
	if (!err && cJSON_IsArray(J(t, "outputAssessments")))
		err = bt_attrs_set_int(a, "bedtrace.agent.guardrail.output_assessments",
				       cJSON_GetArraySize(J(t, "outputAssessments")));
	return err;
}

static int mark_failed(struct agent_state *st, struct step *s, const cJSON *t)
{
	int64_t code;
	int err = 0;

	if (jint(t, "failureCode", &code))
		err = bt_attrs_set_int(&s->span->attrs, "bedtrace.agent.failure_code", code);
	if (!err)
		err = bt_attrs_set_str(&s->span->attrs, "error.type", "AgentFailure");
	if (!err)
		err = bt_span_set_status(s->span, BT_STATUS_ERROR,
					 st->req->capture && jstr(t, "failureReason")
					     ? jstr(t, "failureReason")
					     : "AgentFailure");
	return err;
}

/* A failure ends its step: the step and whatever it left open fail. */
static int failure_trace(struct agent_state *st, int agent, const cJSON *t)
{
	const char *tid = jstr(t, "traceId");
	struct step *c = tid ? step_find(st, tid, STEP_CONTAINER, agent) : NULL;
	char name[160];
	size_t i;
	int idx, err;

	st->failed = true;
	if (c && strcmp(c->trace_id, tid))
		c = NULL;
	if (!c) {
		snprintf(name, sizeof(name), "agent_failure %s", st->agents[agent].id);
		idx = step_open(st, agent_parent(st, agent), agent, tid, STEP_SINGLE, name);
		if (idx < 0)
			return idx == -ENOSPC ? 0 : idx;
		err = step_close(st, &st->steps[idx], J(t, "metadata"), true);
		return err ? err : mark_failed(st, &st->steps[idx], t);
	}
	if (st->now > c->span->end_ns)
		c->span->end_ns = st->now;
	for (i = (size_t)step_index(st, c) + 1; i < st->n_steps; i++) {
		struct step *s = &st->steps[i];

		if (s->parent != step_index(st, c) || s->closed)
			continue;
		if ((err = step_close(st, s, NULL, false)) || (err = mark_failed(st, s, t)))
			return err;
	}
	return mark_failed(st, c, t);
}

static int custom_trace(struct agent_state *st, int agent, const cJSON *t)
{
	const char *tid = jstr(t, "traceId");
	struct step *s = step_find(st, tid, STEP_CUSTOM, agent);
	struct bt_span_event *ev;
	int idx;

	if (!s) {
		idx = step_open(st, agent_parent(st, agent), agent, tid, STEP_CUSTOM,
				"custom_orchestration");
		if (idx < 0)
			return idx == -ENOSPC ? 0 : idx;
		s = &st->steps[idx];
	}
	s->span->end_ns = st->now > s->span->start_ns ? st->now : s->span->start_ns;
	ev = bt_span_add_event(s->span, "gen_ai.agent.custom_orchestration", st->now);
	if (!ev)
		return -ENOMEM;
	if (st->req->capture && jstr(J(t, "event"), "text"))
		return bt_attrs_set_str(&ev->attrs, "text", jstr(J(t, "event"), "text"));
	return 0;
}

static int trace_event(struct agent_state *st, const cJSON *part)
{
	static const struct {
		const char *key, *kind;
	} steps[] = {
	    {"preProcessingTrace", "PRE_PROCESSING"},
	    {"orchestrationTrace", "ORCHESTRATION"},
	    {"postProcessingTrace", "POST_PROCESSING"},
	    {"routingClassifierTrace", "ROUTING_CLASSIFIER"},
	};
	const cJSON *chain = J(part, "callerChain"), *t = J(part, "trace");
	int n = cJSON_IsArray(chain) ? cJSON_GetArraySize(chain) : 0;
	int agent = agent_at(st, chain, n - 1, jstr(part, "collaboratorName"));
	struct agent_node *node;
	size_t i;

	if (agent < 0)
		return agent == -ENOSPC ? 0 : agent;
	node = &st->agents[agent];
	node->last = st->now;
	if (!node->id[0] && jstr(part, "agentId"))
		snprintf(node->id, sizeof(node->id), "%s", jstr(part, "agentId"));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (cJSON_IsObject(J(t, steps[i].key)))
			return step_trace(st, agent, steps[i].kind, J(t, steps[i].key));
	if (J(t, "guardrailTrace"))
		return guardrail_trace(st, agent, J(t, "guardrailTrace"));
	if (J(t, "failureTrace"))
		return failure_trace(st, agent, J(t, "failureTrace"));
	if (J(t, "customOrchestrationTrace"))
		return custom_trace(st, agent, J(t, "customOrchestrationTrace"));
	return 0;
}

static int answer_chunk(struct agent_state *st, const cJSON *part, size_t off)
{
	const char *b64 = jstr(part, "bytes");
	const cJSON *cit = J(J(part, "attribution"), "citations");
	uint8_t *raw;
	size_t len, n;
	char *p;

	st->chunks++;
	if (cJSON_IsArray(cit))
		st->citations += cJSON_GetArraySize(cit);
	if (!st->info->has_first_chunk) {
		st->info->has_first_chunk = true;
		st->info->first_chunk_off = off;
	}
	if (!b64)
		return 0;
	raw = bedrock_b64_decode(b64, strlen(b64), &len);
	if (!raw) {
		if (errno == ENOMEM)
			return -ENOMEM;
		st->info->parse_error = "agent chunk bytes are not base64";
		return 0;
	}
	st->answer_bytes += (int64_t)len;
	if (st->req->capture) {
		n = len;
		if (st->answer_len + n > ANSWER_CAP) {
			n = ANSWER_CAP - st->answer_len;
			st->answer_truncated = true;
		}
		p = realloc(st->answer, st->answer_len + n + 1);
		if (!p) {
			free(raw);
			return -ENOMEM;
		}
		st->answer = p;
		memcpy(p + st->answer_len, raw, n);
		st->answer_len += n;
		p[st->answer_len] = '\0';
	}
	free(raw);
	return 0;
}

static int on_message(void *arg, const struct es_message *m)
{
	struct agent_state *st = arg;
	struct bedrock_info *info = st->info;
	uint64_t ts = http_msg_body_time(&st->ex->resp, m->offset);
	char mtype[32], ev[64];
	cJSON *part;
	int err = 0;

	st->now = ts	     ? bedrock_span_time(st->ex, st->root, ts)
		  : st->last ? st->last
			     : st->root->start_ns;
	if (st->now > st->last)
		st->last = st->now;
	info->n_events++;
	es_header_str(m, ":message-type", mtype, sizeof(mtype));
	if (!strcmp(mtype, "exception") || !strcmp(mtype, "error")) {
		es_header_str(m, mtype[1] == 'x' ? ":exception-type" : ":error-code", ev,
			      sizeof(ev));
		return bedrock_body_exception(info, ev, m->payload, m->payload_len);
	}
	if (!es_header_str(m, ":event-type", ev, sizeof(ev)))
		return 0;
	part = cJSON_ParseWithLength((const char *)m->payload, m->payload_len);
	if (!part || !cJSON_IsObject(part)) {
		if (!info->parse_error)
			info->parse_error = "agent event payload is not a JSON object";
		cJSON_Delete(part);
		return 0;
	}
	if (!strcmp(ev, "chunk")) {
		err = answer_chunk(st, part, m->offset);
	} else if (!strcmp(ev, "trace")) {
		err = trace_event(st, part);
	} else if (!strcmp(ev, "returnControl")) {
		struct bt_span_event *e =
		    bt_span_add_event(st->root, "gen_ai.agent.return_control", st->now);

		err = e ? bt_attrs_set_bool(&st->root->attrs, "bedtrace.agent.return_control", true)
			: -ENOMEM;
		if (!err && jstr(part, "invocationId"))
			err = bt_attrs_set_str(&e->attrs, "invocation_id",
					       jstr(part, "invocationId"));
	} else if (!strcmp(ev, "files")) {
		st->files += cJSON_GetArraySize(J(part, "files"));
	}
	cJSON_Delete(part);
	return err;
}

static int finish(struct agent_state *st)
{
	struct bt_attrs *a = &st->root->attrs;
	size_t i;
	int err = 0;

	for (i = 0; i < st->n_steps; i++) {
		struct step *s = &st->steps[i];

		if (s->kind == STEP_AGENT) {
			s->span->end_ns = s->span->start_ns;
			continue; /* spans its children, below */
		}
		if (s->closed || s->kind == STEP_CONTAINER || s->kind == STEP_CUSTOM)
			continue;
		/* the stream ended before this step's closing event */
		s->span->end_ns = st->last > s->span->start_ns ? st->last : s->span->start_ns;
		if ((err = bt_attrs_set_bool(&s->span->attrs, "bedtrace.agent.incomplete", true)))
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
	err = bt_attrs_set_int(a, "bedtrace.agent.answer.chunks", st->chunks);
	if (!err)
		err = bt_attrs_set_int(a, "bedtrace.agent.answer.bytes", st->answer_bytes);
	if (!err && st->citations)
		err = bt_attrs_set_int(a, "bedtrace.agent.citations", st->citations);
	if (!err && st->files)
		err = bt_attrs_set_int(a, "bedtrace.agent.files", st->files);
	if (!err && *st->n_children)
		err = bt_attrs_set_int(a, "bedtrace.agent.trace_spans", (int64_t)*st->n_children);
	if (!err && st->total.has_input)
		err = bt_attrs_set_int(a, "gen_ai.usage.input_tokens", st->total.input);
	if (!err && st->total.has_output)
		err = bt_attrs_set_int(a, "gen_ai.usage.output_tokens", st->total.output);
	/* the sum of the steps' costs: exporters summing costs must skip this span */
	if (!err && st->any_cost)
		err = bt_attrs_set_double(a, "bedtrace.cost.usd", st->cost);
	if (!err && st->any_cost)
		err = bt_attrs_set_bool(a, "bedtrace.cost.includes_children", true);
	if (!err && st->unknown_price)
		err = bt_attrs_set_bool(a, "bedtrace.cost.unknown_model", true);
	if (!err && st->failed && !st->info->error_type[0])
		snprintf(st->info->error_type, sizeof(st->info->error_type), "AgentFailure");
	if (!err && st->req->capture && st->answer)
		err = set_text_message(a, "gen_ai.output.messages", "assistant", st->answer);
	if (!err && st->answer_truncated)
		err = bt_attrs_set_bool(a, "bedtrace.content.truncated", true);
	return err;
}

int bedrock_agent_annotate(const struct bedrock_agent_req *req, const struct http_exchange *ex,
			   struct bt_span *root, struct bedrock_info *info,
			   struct bt_span ***children, size_t *n_children)
{
	struct agent_state *st;
	const char *derr = NULL;
	ssize_t n;
	int err;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->req = req;
	st->ex = ex;
	st->root = root;
	st->info = info;
	st->children = children;
	st->n_children = n_children;
	st->agents[0].step = -1;
	if (req->agent_id)
		snprintf(st->agents[0].id, sizeof(st->agents[0].id), "%s", req->agent_id);
	st->n_agents = 1;
	st->last = root->start_ns;

	n = es_decode(ex->resp.body, ex->resp.body_len, 0, on_message, st, &derr);
	err = n == -ENOMEM ? -ENOMEM : 0;
	if (n < 0 && !err)
		info->stream_error = derr ? derr : "corrupt event stream";
	else if (n >= 0 && (size_t)n < ex->resp.body_len)
		info->stream_partial = true;
	if (!err)
		err = finish(st);
	free(st->answer);
	free(st);
	return err;
}
