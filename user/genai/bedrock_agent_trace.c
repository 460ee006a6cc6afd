// SPDX-License-Identifier: MIT
/*
 * InvokeAgent trace events. Events of one step share a traceId: the model invocation input and
 * output become one "chat {model}" span, an invocation input and its observation one
 * "execute_tool" / "retrieve" / "invoke_agent" span. A collaborator's events carry a callerChain
 * ending at its alias ARN and nest under the span that invoked it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genai/bedrock_agent_trace.h"
#include "genai/bedrock_content.h"
#include "genai/bedrock_json.h"
#include "genai/prices.h"
#include "genai/usage.h"
#include "span/semconv.h"

static int model_params(struct bt_attrs *a, const cJSON *cfg)
{
	const cJSON *stop = J(cfg, "stopSequences"), *it;
	const char *v[16];
	int64_t n;
	size_t k = 0;

	if (jint(cfg, "maximumLength", &n))
		bt_attrs_set_int(a, ATTR_GEN_AI_REQUEST_MAX_TOKENS, n);
	if (cJSON_IsNumber(J(cfg, "temperature")))
		bt_attrs_set_double(a, ATTR_GEN_AI_REQUEST_TEMPERATURE,
				    J(cfg, "temperature")->valuedouble);
	if (cJSON_IsNumber(J(cfg, "topP")))
		bt_attrs_set_double(a, ATTR_GEN_AI_REQUEST_TOP_P, J(cfg, "topP")->valuedouble);
	if (cJSON_IsNumber(J(cfg, "topK")))
		bt_attrs_set_double(a, ATTR_GEN_AI_REQUEST_TOP_K, J(cfg, "topK")->valuedouble);
	if (!cJSON_IsArray(stop))
		stop = NULL;
	cJSON_ArrayForEach(it, stop) if (cJSON_IsString(it) && k < 16) v[k++] = it->valuestring;
	if (k)
		bt_attrs_set_str_array(a, ATTR_GEN_AI_REQUEST_STOP_SEQUENCES, v, k);
	return a->err;
}

static int model_open(struct agent_tree *st, int agent, int parent, const char *tid,
		      const char *model)
{
	struct bt_attrs *a;
	char name[300];
	int idx;

	snprintf(name, sizeof(name), model ? "chat %s" : "chat", model);
	idx = agent_step_open(st, parent, agent, tid, STEP_MODEL, name);
	if (idx < 0)
		return idx;
	snprintf(st->steps[idx].model, sizeof(st->steps[idx].model), "%s", model ? model : "");
	a = &st->steps[idx].span->attrs;
	bt_attrs_set_str(a, ATTR_GEN_AI_OPERATION_NAME, "chat");
	if (model)
		bt_attrs_set_str(a, ATTR_GEN_AI_REQUEST_MODEL, model);
	return a->err ? a->err : idx;
}

static int model_input(struct agent_tree *st, int agent, int parent, const cJSON *in)
{
	int idx = model_open(st, agent, parent, jstr(in, "traceId"), jstr(in, "foundationModel"));
	struct bt_attrs *a;

	if (idx < 0)
		return idx == -ENOSPC ? 0 : idx;
	a = &st->steps[idx].span->attrs;
	model_params(a, J(in, "inferenceConfiguration"));
	if (jstr(in, "type"))
		bt_attrs_set_str(a, ATTR_BEDTRACE_AGENT_PROMPT_TYPE, jstr(in, "type"));
	if (st->req->capture)
		bedrock_content_set_text_attr(a, ATTR_GEN_AI_INPUT_MESSAGES, "user",
					      jstr(in, "text"));
	return a->err;
}

/* A model step's usage and cost, added to the InvokeAgent totals. */
static int step_usage(struct agent_tree *st, struct agent_step *s, const cJSON *usage)
{
	struct genai_usage u = {0};
	struct price p;

	u.has_input = jint(usage, "inputTokens", &u.input);
	u.has_output = jint(usage, "outputTokens", &u.output);
	if (!u.has_input && !u.has_output)
		return 0;
	if (price_lookup(st->req->prices, s->model, &p)) {
		u.unknown_model = true;
		st->unknown_price = true;
	} else {
		u.has_cost = true;
		u.cost_usd = price_cost(&p, u.input, u.output, 0, 0);
		st->any_cost = true;
		st->cost += u.cost_usd;
	}
	st->total.input += u.input;
	st->total.output += u.output;
	st->total.has_input |= u.has_input;
	st->total.has_output |= u.has_output;
	return genai_set_usage(s->span, &u);
}

static int model_output(struct agent_tree *st, int agent, int parent, const cJSON *out)
{
	const char *tid = jstr(out, "traceId");
	const cJSON *md = J(out, "metadata"), *parsed = J(out, "parsedResponse");
	struct agent_step *s = agent_step_find(st, tid, STEP_MODEL, agent);
	const char *raw = jstr(J(out, "rawResponse"), "content");
	const char *reasoning = jstr(J(J(out, "reasoningContent"), "reasoningText"), "text");
	bool opened_now = !s;
	struct bt_attrs *a;
	int err, idx;

	if (!s) {
		idx = model_open(st, agent, parent, tid, NULL);
		if (idx < 0)
			return idx == -ENOSPC ? 0 : idx;
		s = &st->steps[idx];
	}
	a = &s->span->attrs;
	err = agent_step_close(st, s, md, opened_now);
	if (err)
		return err;
	step_usage(st, s, J(md, "usage"));
	if (cJSON_IsBool(J(parsed, "isValid")))
		bt_attrs_set_bool(a, ATTR_BEDTRACE_AGENT_PREPROCESSING_VALID,
				  cJSON_IsTrue(J(parsed, "isValid")));
	if (!st->req->capture)
		return a->err;
	if (!raw)
		raw = jstr(parsed, "text");
	bedrock_content_set_text_attr(a, ATTR_GEN_AI_OUTPUT_MESSAGES, "assistant", raw);
	if (reasoning)
		bt_attrs_set_str(a, ATTR_GEN_AI_AGENT_REASONING, reasoning);
	return a->err;
}

/* A span event (rationale, final response...) on the step container's span. */
static int step_event(struct agent_tree *st, int parent, const char *name, const char *key,
		      const char *text)
{
	struct bt_span_event *ev = bt_span_add_event(agent_step_span(st, parent), name, st->now);

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

	if (n < sizeof(up)) {
		for (i = 0; i <= n; i++)
			up[i] = verb[i] >= 'a' && verb[i] <= 'z' ? (char)(verb[i] - 'a' + 'A')
								 : verb[i];
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(up, known[i]))
				return bt_attrs_set_str(a, ATTR_HTTP_REQUEST_METHOD, known[i]);
	}
	bt_attrs_set_str(a, ATTR_HTTP_REQUEST_METHOD, "_OTHER");
	return bt_attrs_set_str(a, ATTR_HTTP_REQUEST_METHOD_ORIGINAL, verb);
}

/* An action group's parameters and request body, as the tool call's arguments. */
static int tool_arguments(struct bt_attrs *a, const cJSON *ag)
{
	cJSON *args = cJSON_CreateObject();

	if (!args) {
		if (!a->err)
			a->err = -ENOMEM;
		return a->err;
	}
	if (J(ag, "parameters"))
		cJSON_AddItemToObject(args, "parameters",
				      cJSON_Duplicate(J(ag, "parameters"), true));
	if (J(ag, "requestBody"))
		cJSON_AddItemToObject(args, "requestBody",
				      cJSON_Duplicate(J(ag, "requestBody"), true));
	bedrock_content_set_attr(a, ATTR_GEN_AI_TOOL_CALL_ARGUMENTS, args);
	cJSON_Delete(args);
	return a->err;
}

static int invocation_attrs(struct agent_tree *st, struct agent_step *s, const cJSON *in,
			    const char *v)
{
	const cJSON *ag = J(in, "actionGroupInvocationInput"),
		    *kb = J(in, "knowledgeBaseLookupInput");
	const cJSON *co = J(in, "agentCollaboratorInvocationInput");
	const cJSON *ci = J(in, "codeInterpreterInvocationInput");
	struct bt_attrs *a = &s->span->attrs;
	const char *fn = jstr(ag, "function") ? jstr(ag, "function") : jstr(ag, "apiPath");
	char id[128];

	bt_attrs_set_str(a, ATTR_GEN_AI_OPERATION_NAME,
			 kb   ? "retrieve"
			 : co ? "invoke_agent"
			      : "execute_tool");
	if (jstr(in, "invocationType"))
		bt_attrs_set_str(a, ATTR_BEDTRACE_AGENT_INVOCATION_TYPE,
				 jstr(in, "invocationType"));
	if (ag || ci) {
		bt_attrs_set_str(a, ATTR_GEN_AI_TOOL_NAME, v ? v : "");
		bt_attrs_set_str(a, ATTR_GEN_AI_TOOL_TYPE, ci ? "extension" : "function");
	}
	if (fn)
		bt_attrs_set_str(a, ATTR_BEDTRACE_AGENT_ACTION_GROUP_FUNCTION, fn);
	if (jstr(ag, "verb"))
		set_http_method(a, jstr(ag, "verb"));
	if (jstr(ag, "executionType"))
		bt_attrs_set_str(a, ATTR_BEDTRACE_AGENT_ACTION_GROUP_EXECUTION_TYPE,
				 jstr(ag, "executionType"));
	if (jstr(ag, "invocationId"))
		bt_attrs_set_str(a, ATTR_GEN_AI_TOOL_CALL_ID, jstr(ag, "invocationId"));
	if (kb && v) {
		bt_attrs_set_str(a, ATTR_GEN_AI_DATA_SOURCE_ID, v);
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_KNOWLEDGE_BASE_ID, v);
	}
	if (co) {
		agent_arn_id(jstr(co, "agentCollaboratorAliasArn"), id, sizeof(id));
		if (v)
			bt_attrs_set_str(a, ATTR_GEN_AI_AGENT_NAME, v);
		if (id[0])
			bt_attrs_set_str(a, ATTR_GEN_AI_AGENT_ID, id);
	}
	if (!st->req->capture)
		return a->err;
	if (ag)
		tool_arguments(a, ag);
	else if (kb)
		bedrock_content_set_text_attr(a, ATTR_GEN_AI_INPUT_MESSAGES, "user",
					      jstr(kb, "text"));
	else if (co)
		bedrock_content_set_text_attr(a, ATTR_GEN_AI_INPUT_MESSAGES, "user",
					      jstr(J(co, "input"), "text"));
	else if (jstr(ci, "code"))
		bt_attrs_set_str(a, ATTR_GEN_AI_TOOL_CALL_ARGUMENTS, jstr(ci, "code"));
	return a->err;
}

static int invocation_input(struct agent_tree *st, int agent, int parent, const cJSON *in)
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
	idx = agent_step_open(st, parent, agent, jstr(in, "traceId"), STEP_INVOKE, name);
	if (idx < 0)
		return idx == -ENOSPC ? 0 : idx;
	err = invocation_attrs(st, &st->steps[idx], in, v);
	/* the collaborator's own events nest under this span */
	if (!err && co && agent_find(st, arn) < 0)
		agent_add(st, arn, idx);
	return err;
}

static int observation_attrs(struct agent_tree *st, struct agent_step *s, const cJSON *ob)
{
	const cJSON *ag = J(ob, "actionGroupInvocationOutput"),
		    *kb = J(ob, "knowledgeBaseLookupOutput");
	const cJSON *co = J(ob, "agentCollaboratorInvocationOutput");
	const cJSON *ci = J(ob, "codeInterpreterInvocationOutput");
	struct bt_attrs *a = &s->span->attrs;
	const char *et;

	if (kb && cJSON_IsArray(J(kb, "retrievedReferences")))
		bt_attrs_set_int(a, ATTR_BEDTRACE_RETRIEVAL_RESULTS,
				 cJSON_GetArraySize(J(kb, "retrievedReferences")));
	if (ci && (jstr(ci, "executionError") || cJSON_IsTrue(J(ci, "executionTimeout")))) {
		et = jstr(ci, "executionError") ? "CodeInterpreterError" : "CodeInterpreterTimeout";
		if (bt_attrs_set_str(a, ATTR_ERROR_TYPE, et) ||
		    bt_span_set_status(s->span, BT_STATUS_ERROR, et))
			return -ENOMEM;
	}
	if (!st->req->capture)
		return a->err;
	if (ag)
		bt_attrs_set_str(a, ATTR_GEN_AI_TOOL_CALL_RESULT,
				 jstr(ag, "text") ? jstr(ag, "text") : "");
	else if (kb)
		bedrock_content_set_attr(a, ATTR_BEDTRACE_RETRIEVAL_DOCUMENTS,
					 J(kb, "retrievedReferences"));
	else if (co)
		bedrock_content_set_text_attr(a, ATTR_GEN_AI_OUTPUT_MESSAGES, "assistant",
					      jstr(J(co, "output"), "text"));
	else if (jstr(ci, "executionOutput") || jstr(ci, "executionError"))
		bt_attrs_set_str(a, ATTR_GEN_AI_TOOL_CALL_RESULT,
				 jstr(ci, "executionOutput") ? jstr(ci, "executionOutput")
							     : jstr(ci, "executionError"));
	return a->err;
}

static int observation(struct agent_tree *st, int agent, int parent, const cJSON *ob)
{
	static const char *const outs[] = {
	    "actionGroupInvocationOutput", "knowledgeBaseLookupOutput",
	    "agentCollaboratorInvocationOutput", "codeInterpreterInvocationOutput"};
	static const char *const names[] = {"execute_tool", "retrieve", "invoke_agent",
					    "execute_tool code_interpreter"};
	const cJSON *out = NULL;
	struct agent_step *s;
	size_t i, which = 0;
	int idx, err;

	if (J(ob, "finalResponse"))
		return step_event(st, parent, ATTR_GEN_AI_AGENT_FINAL_RESPONSE, EVENT_ATTR_TEXT,
				  jstr(J(ob, "finalResponse"), "text"));
	if (J(ob, "repromptResponse"))
		return step_event(st, parent, ATTR_GEN_AI_AGENT_REPROMPT, EVENT_ATTR_TEXT,
				  jstr(J(ob, "repromptResponse"), "text"));
	for (i = 0; i < 4 && !out; i++)
		if ((out = J(ob, outs[i])))
			which = i;
	if (!out)
		return jstr(ob, "type")
			   ? step_event(st, parent, ATTR_GEN_AI_AGENT_OBSERVATION, NULL, NULL)
			   : 0;
	s = agent_step_find(st, jstr(ob, "traceId"), STEP_INVOKE, agent);
	if (!s) {
		idx = agent_step_open(st, parent, agent, jstr(ob, "traceId"), STEP_INVOKE,
				      names[which]);
		if (idx < 0)
			return idx == -ENOSPC ? 0 : idx;
		s = &st->steps[idx];
	}
	err = agent_step_close(st, s, J(out, "metadata"), s->span->start_ns == st->now);
	if (!err && which == 2 &&
	    (idx = agent_find(st, jstr(out, "agentCollaboratorAliasArn"))) > 0)
		st->agents[idx].last = st->now;
	return err ? err : observation_attrs(st, s, ob);
}

/* Pre/post-processing, orchestration and routing traces share one union layout. */
static int step_trace(struct agent_tree *st, int agent, const char *kind, const cJSON *t)
{
	const cJSON *member = t->child;
	const char *tid = NULL;
	int parent, err = 0;

	/* every member of the union carries the step's traceId */
	for (; member && !tid; member = member->next)
		tid = jstr(member, "traceId");
	parent = agent_container(st, agent, tid, kind);
	if (parent == -ENOSPC)
		return 0;
	if (parent < 0)
		return parent;
	if (J(t, "modelInvocationInput"))
		err = model_input(st, agent, parent, J(t, "modelInvocationInput"));
	if (!err && J(t, "modelInvocationOutput"))
		err = model_output(st, agent, parent, J(t, "modelInvocationOutput"));
	if (!err && J(t, "rationale"))
		err = step_event(st, parent, ATTR_GEN_AI_AGENT_RATIONALE, EVENT_ATTR_TEXT,
				 jstr(J(t, "rationale"), "text"));
	if (!err && J(t, "invocationInput"))
		err = invocation_input(st, agent, parent, J(t, "invocationInput"));
	if (!err && J(t, "observation"))
		err = observation(st, agent, parent, J(t, "observation"));
	return err;
}

static int guardrail_trace(struct agent_tree *st, int agent, const cJSON *t)
{
	int idx = agent_step_open(st, agent_parent(st, agent), agent, jstr(t, "traceId"),
				  STEP_SINGLE, "apply_guardrail");
	struct bt_attrs *a;
	int err;

	if (idx < 0)
		return idx == -ENOSPC ? 0 : idx;
	a = &st->steps[idx].span->attrs;
	err = agent_step_close(st, &st->steps[idx], J(t, "metadata"), true);
	if (err)
		return err;
	bt_attrs_set_str(a, ATTR_GEN_AI_OPERATION_NAME, "apply_guardrail");
	if (jstr(t, "action"))
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_GUARDRAIL_ACTION, jstr(t, "action"));
	if (cJSON_IsArray(J(t, "inputAssessments")))
		bt_attrs_set_int(a, ATTR_BEDTRACE_AGENT_GUARDRAIL_INPUT_ASSESSMENTS,
				 cJSON_GetArraySize(J(t, "inputAssessments")));
	if (cJSON_IsArray(J(t, "outputAssessments")))
		bt_attrs_set_int(a, ATTR_BEDTRACE_AGENT_GUARDRAIL_OUTPUT_ASSESSMENTS,
				 cJSON_GetArraySize(J(t, "outputAssessments")));
	return a->err;
}

static int mark_failed(struct agent_tree *st, struct agent_step *s, const cJSON *t)
{
	struct bt_attrs *a = &s->span->attrs;
	int64_t code;

	if (jint(t, "failureCode", &code))
		bt_attrs_set_int(a, ATTR_BEDTRACE_AGENT_FAILURE_CODE, code);
	if (bt_attrs_set_str(a, ATTR_ERROR_TYPE, "AgentFailure"))
		return a->err;
	return bt_span_set_status(s->span, BT_STATUS_ERROR,
				  st->req->capture && jstr(t, "failureReason")
				      ? jstr(t, "failureReason")
				      : "AgentFailure");
}

/* A failure ends its step: the step and whatever it left open fail. */
static int failure_trace(struct agent_tree *st, int agent, const cJSON *t)
{
	const char *tid = jstr(t, "traceId");
	struct agent_step *c = tid ? agent_step_find(st, tid, STEP_CONTAINER, agent) : NULL;
	char name[160];
	size_t i;
	int idx, err;

	st->failed = true;
	if (c && strcmp(c->trace_id, tid))
		c = NULL;
	if (!c) {
		snprintf(name, sizeof(name), "agent_failure %s", st->agents[agent].id);
		idx = agent_step_open(st, agent_parent(st, agent), agent, tid, STEP_SINGLE, name);
		if (idx < 0)
			return idx == -ENOSPC ? 0 : idx;
		err = agent_step_close(st, &st->steps[idx], J(t, "metadata"), true);
		return err ? err : mark_failed(st, &st->steps[idx], t);
	}
	if (st->now > c->span->end_ns)
		c->span->end_ns = st->now;
	for (i = (size_t)agent_step_index(st, c) + 1; i < st->n_steps; i++) {
		struct agent_step *s = &st->steps[i];

		if (s->parent != agent_step_index(st, c) || s->closed)
			continue;
		if ((err = agent_step_close(st, s, NULL, false)) || (err = mark_failed(st, s, t)))
			return err;
	}
	return mark_failed(st, c, t);
}

static int custom_trace(struct agent_tree *st, int agent, const cJSON *t)
{
	const char *tid = jstr(t, "traceId");
	struct agent_step *s = agent_step_find(st, tid, STEP_CUSTOM, agent);
	struct bt_span_event *ev;
	int idx;

	if (!s) {
		idx = agent_step_open(st, agent_parent(st, agent), agent, tid, STEP_CUSTOM,
				      "custom_orchestration");
		if (idx < 0)
			return idx == -ENOSPC ? 0 : idx;
		s = &st->steps[idx];
	}
	s->span->end_ns = st->now > s->span->start_ns ? st->now : s->span->start_ns;
	ev = bt_span_add_event(s->span, ATTR_GEN_AI_AGENT_CUSTOM_ORCHESTRATION, st->now);
	if (!ev)
		return -ENOMEM;
	if (st->req->capture && jstr(J(t, "event"), "text"))
		return bt_attrs_set_str(&ev->attrs, EVENT_ATTR_TEXT, jstr(J(t, "event"), "text"));
	return 0;
}

int agent_trace_event(struct agent_tree *st, const cJSON *part)
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
