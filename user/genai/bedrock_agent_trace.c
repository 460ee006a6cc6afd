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

static int model_open(struct agent_tree *st, int agent, int parent, const char *tid,
		      const char *model)
{
	char name[300];
	int idx;

	snprintf(name, sizeof(name), model ? "chat %s" : "chat", model);
	idx = agent_step_open(st, parent, agent, tid, STEP_MODEL, name);
	if (idx < 0)
		return idx;
	snprintf(st->steps[idx].model, sizeof(st->steps[idx].model), "%s", model ? model : "");
	if (bt_attrs_set_str(&st->steps[idx].span->attrs, "gen_ai.operation.name", "chat") ||
	    (model && bt_attrs_set_str(&st->steps[idx].span->attrs, "gen_ai.request.model", model)))
		return -ENOMEM;
	return idx;
}

static int model_input(struct agent_tree *st, int agent, int parent, const cJSON *in)
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
		err = bedrock_content_set_text_attr(a, "gen_ai.input.messages", "user",
						    jstr(in, "text"));
	return err;
}

static int step_usage(struct agent_tree *st, struct agent_step *s, const cJSON *usage)
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

static int model_output(struct agent_tree *st, int agent, int parent, const cJSON *out)
{
	const char *tid = jstr(out, "traceId");
	const cJSON *md = J(out, "metadata"), *parsed = J(out, "parsedResponse");
	struct agent_step *s = agent_step_find(st, tid, STEP_MODEL, agent);
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
	err = agent_step_close(st, s, md, opened_now);
	if (!err)
		err = step_usage(st, s, J(md, "usage"));
	if (!err && cJSON_IsBool(J(parsed, "isValid")))
		err = bt_attrs_set_bool(&s->span->attrs, "bedtrace.agent.preprocessing.valid",
					cJSON_IsTrue(J(parsed, "isValid")));
	if (err || !st->req->capture)
		return err;
	if (!raw)
		raw = jstr(parsed, "text");
	err = bedrock_content_set_text_attr(&s->span->attrs, "gen_ai.output.messages", "assistant",
					    raw);
	if (!err && reasoning)
		err = bt_attrs_set_str(&s->span->attrs, "gen_ai.agent.reasoning", reasoning);
	return err;
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
		agent_arn_id(jstr(co, "agentCollaboratorAliasArn"), id, sizeof(id));
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
		err = bedrock_content_set_attr(a, "gen_ai.tool.call.arguments", args);
		cJSON_Delete(args);
	} else if (kb) {
		err = bedrock_content_set_text_attr(a, "gen_ai.input.messages", "user",
						    jstr(kb, "text"));
	} else if (co) {
		err = bedrock_content_set_text_attr(a, "gen_ai.input.messages", "user",
						    jstr(J(co, "input"), "text"));
	} else if (jstr(ci, "code")) {
		err = bt_attrs_set_str(a, "gen_ai.tool.call.arguments", jstr(ci, "code"));
	}
	return err;
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
		return bedrock_content_set_attr(a, "bedtrace.retrieval.documents",
						J(kb, "retrievedReferences"));
	if (co)
		return bedrock_content_set_text_attr(a, "gen_ai.output.messages", "assistant",
						     jstr(J(co, "output"), "text"));
	if (jstr(ci, "executionOutput") || jstr(ci, "executionError"))
		return bt_attrs_set_str(a, "gen_ai.tool.call.result",
					jstr(ci, "executionOutput") ? jstr(ci, "executionOutput")
								    : jstr(ci, "executionError"));
	return 0;
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
		err = step_event(st, parent, "gen_ai.agent.rationale", "text",
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

static int mark_failed(struct agent_tree *st, struct agent_step *s, const cJSON *t)
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
	ev = bt_span_add_event(s->span, "gen_ai.agent.custom_orchestration", st->now);
	if (!ev)
		return -ENOMEM;
	if (st->req->capture && jstr(J(t, "event"), "text"))
		return bt_attrs_set_str(&ev->attrs, "text", jstr(J(t, "event"), "text"));
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
