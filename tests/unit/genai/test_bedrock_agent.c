// SPDX-License-Identifier: MIT
/*
 * InvokeAgent streams → child spans: the generated multi-agent and failure cassettes
 * (tests/bedrock/gen/make_cassettes.py, facts in tests/bedrock/gen/EXPECTED.md) and streams built
 * here with a small event-stream encoder for the trace kinds those lack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <unistd.h>

#include "genai/bedrock.h"
#include "genai/bedrock_agent.h"
#include "genai/prices.h"
#include "lib/usage.h"

#include "lib/attrs.h"
#include "lib/cassette.h"
#include "lib/esframe.h"

#define T0 1000000000000ull
#define SPAN_START 1738818753000000000ull /* 2025-02-06T05:12:33Z */
#define SPAN_END (SPAN_START + 900000000ull)
#define FRAME_NS 10000000ull

struct run {
	struct http_exchange ex;
	struct bt_span *span;
	struct bt_span **children;
	size_t n_children;
};

static void run_annotate(struct run *r, bool capture)
{
	struct bedrock_ctx *ctx =
	    bedrock_ctx_new(&(struct bedrock_opts){.capture_content = capture});

	r->span = bt_span_new("POST", BT_KIND_CLIENT);
	bt_random_id(r->span->trace_id, sizeof(r->span->trace_id));
	r->span->resource = bt_resource_new();
	r->span->start_ns = SPAN_START;
	r->span->end_ns = SPAN_END;
	assert_true(bedrock_match(&r->ex));
	assert_int_equal(bedrock_annotate(ctx, &r->ex, r->span, &r->children, &r->n_children), 0);
	bedrock_ctx_free(ctx);
}

static void run_free(struct run *r)
{
	size_t i;

	for (i = 0; i < r->n_children; i++)
		bt_span_free(r->children[i]);
	free(r->children);
	bt_span_free(r->span);
	http_exchange_clear(&r->ex);
	memset(r, 0, sizeof(*r));
}

static const struct bt_span *parent_of(const struct run *r, const struct bt_span *s)
{
	size_t i;

	if (!memcmp(s->parent_span_id, r->span->span_id, BT_SPAN_ID_LEN))
		return r->span;
	for (i = 0; i < r->n_children; i++)
		if (!memcmp(s->parent_span_id, r->children[i]->span_id, BT_SPAN_ID_LEN))
			return r->children[i];
	fail_msg("%s has no parent in the tree", s->name);
	return NULL;
}

/* Returns the @nth (0-based) child span named @name. */
static const struct bt_span *find(const struct run *r, const char *name, int nth)
{
	size_t i;

	for (i = 0; i < r->n_children; i++)
		if (!strcmp(r->children[i]->name, name) && nth-- == 0)
			return r->children[i];
	fail_msg("no span %s", name);
	return NULL;
}

static size_t count(const struct run *r, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < r->n_children; i++)
		n += !strcmp(r->children[i]->name, name);
	return n;
}

/* Every child shares the trace and resource, and lies within its parent. */
static void assert_tree(const struct run *r)
{
	size_t i;

	for (i = 0; i < r->n_children; i++) {
		const struct bt_span *c = r->children[i], *p = parent_of(r, c);

		assert_memory_equal(c->trace_id, r->span->trace_id, BT_TRACE_ID_LEN);
		assert_ptr_equal(c->resource, r->span->resource);
		assert_int_equal(c->kind, BT_KIND_INTERNAL);
		if (c->start_ns < p->start_ns || c->end_ns > p->end_ns || c->end_ns < c->start_ns)
			fail_msg("%s [%llu, %llu] outside %s [%llu, %llu]", c->name,
				 (unsigned long long)c->start_ns, (unsigned long long)c->end_ns,
				 p->name, (unsigned long long)p->start_ns,
				 (unsigned long long)p->end_ns);
		assert_string_equal(sattr(c, "gen_ai.provider.name"), "aws.bedrock");
	}
}

static bool attr_contains(const struct bt_span *s, const char *needle)
{
	size_t i, e;

	for (i = 0; i < s->attrs.n; i++)
		if (s->attrs.v[i].type == BT_ATTR_STR && strstr(s->attrs.v[i].s, needle))
			return true;
	for (e = 0; e < s->n_events; e++)
		for (i = 0; i < s->events[e].attrs.n; i++)
			if (s->events[e].attrs.v[i].type == BT_ATTR_STR &&
			    strstr(s->events[e].attrs.v[i].s, needle))
				return true;
	return s->status_message && strstr(s->status_message, needle);
}

static bool tree_contains(const struct run *r, const char *needle)
{
	size_t i;

	for (i = 0; i < r->n_children; i++)
		if (attr_contains(r->children[i], needle))
			return true;
	return attr_contains(r->span, needle);
}

/* ---- generated cassettes ---- */

static char gen_dir[64];

/* Runs the cassette generator into a fresh directory; the committed copies are the fallback. */
static int gen_setup(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(gen_dir, sizeof(gen_dir), "/tmp/bt_agent_gen_XXXXXX");
	if (!mkdtemp(gen_dir))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 tests/bedrock/gen/make_cassettes.py %s >/dev/null 2>&1",
		 gen_dir);
	if (system(cmd) != 0) {
		rmdir(gen_dir);
		snprintf(gen_dir, sizeof(gen_dir), "tests/data/eventstream");
	}
	return 0;
}

static int gen_teardown(void **state)
{
	char cmd[256];

	(void)state;
	if (!strncmp(gen_dir, "/tmp/bt_agent_gen_", 18)) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", gen_dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static void load_generated(struct run *r, const char *file, size_t idx)
{
	char path[256];
	struct cassette c;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/%s", gen_dir, file);
	if (cassette_load_path(path, &c))
		fail_msg("cannot load %s", path);
	assert_true(idx < c.n);
	cassette_exchange(&c.it[idx], &r->ex, T0);
	cassette_free(&c);
}

static void assert_chat(const struct run *r, const char *model, int nth, int64_t in, int64_t out,
			const char *container)
{
	char name[256];
	const struct bt_span *s, *p;

	snprintf(name, sizeof(name), "chat %s", model);
	s = find(r, name, nth);
	assert_string_equal(sattr(s, "gen_ai.operation.name"), "chat");
	assert_string_equal(sattr(s, "gen_ai.request.model"), model);
	assert_int_equal(iattr(s, "gen_ai.usage.input_tokens"), in);
	assert_int_equal(iattr(s, "gen_ai.usage.output_tokens"), out);
	assert_true(has(s, "bedtrace.cost.usd"));
	p = parent_of(r, s);
	assert_string_equal(p->name, container);
}

static void test_bedrock_agent_generated_multi_agent(void **state)
{
	const char *sonnet = "anthropic.claude-3-5-sonnet-20240620-v1:0";
	const char *haiku = "anthropic.claude-3-haiku-20240307-v1:0";
	const char *answer = "Your order A-1001 qualifies for a full refund. Refund R-77 for 42.50 "
			     "has been issued and will reach your card in 3-5 days.";
	const struct bt_span *collab, *tool, *kb, *p, *orch3;
	struct price ps, ph;
	double cost;
	struct run r;
	size_t i;

	(void)state;
	load_generated(&r, "agent_invoke_multi.yaml", 0);
	run_annotate(&r, false);
	assert_string_equal(r.span->name, "invoke_agent SUPERVISOR01");
	assert_string_equal(sattr(r.span, "gen_ai.operation.name"), "invoke_agent");
	assert_string_equal(sattr(r.span, "gen_ai.agent.id"), "SUPERVISOR01");
	assert_string_equal(sattr(r.span, "gen_ai.conversation.id"), "session-1");
	assert_string_equal(sattr(r.span, "aws.request_id"),
			    "4b2d6ba2-0f98-5cf3-b7b2-76cc4d10a417");
	assert_string_equal(sattr(r.span, "aws.bedrock.operation"), "InvokeAgent");
	assert_false(has(r.span, "error.type"));
	assert_int_equal(r.span->status, BT_STATUS_UNSET);
	assert_int_equal(r.n_children, 22);
	assert_tree(&r);
	/* every step of the run belongs to the session, like the InvokeAgent span */
	for (i = 0; i < r.n_children; i++)
		assert_string_equal(sattr(r.children[i], "gen_ai.conversation.id"), "session-1");

	/* 8 model calls, each merged into one span under its step */
	assert_int_equal(count(&r, "chat anthropic.claude-3-5-sonnet-20240620-v1:0"), 6);
	assert_int_equal(count(&r, "chat anthropic.claude-3-haiku-20240307-v1:0"), 2);
	assert_chat(&r, sonnet, 0, 512, 64, "pre_processing");
	assert_chat(&r, sonnet, 1, 1024, 96, "orchestration");
	assert_chat(&r, sonnet, 2, 1180, 72, "orchestration");
	assert_chat(&r, sonnet, 3, 1350, 88, "orchestration");
	assert_chat(&r, sonnet, 4, 1460, 54, "orchestration");
	assert_chat(&r, sonnet, 5, 300, 40, "post_processing");
	assert_chat(&r, haiku, 0, 700, 80, "orchestration");
	assert_chat(&r, haiku, 1, 820, 60, "orchestration");
	assert_int_equal(count(&r, "orchestration"), 6);
	assert_int_equal(count(&r, "apply_guardrail"), 2);
	assert_string_equal(parent_of(&r, find(&r, "apply_guardrail", 0))->name, r.span->name);

	tool = find(&r, "execute_tool order-tools", 0);
	assert_string_equal(sattr(tool, "gen_ai.tool.name"), "order-tools");
	assert_string_equal(sattr(tool, "gen_ai.operation.name"), "execute_tool");
	/* the action group's verb is "get" on the wire; HTTP conventions want upper case */
	assert_string_equal(sattr(tool, "http.request.method"), "GET");
	assert_string_equal(sattr(parent_of(&r, tool), "aws.bedrock.agent.trace_id"), "orch-1");
	kb = find(&r, "retrieve KBREFUND01", 0);
	assert_string_equal(sattr(kb, "gen_ai.data_source.id"), "KBREFUND01");
	assert_int_equal(iattr(kb, "bedtrace.retrieval.results"), 1);

	/* the collaborator nests under the supervisor's orch-3 step, its steps under it */
	collab = find(&r, "invoke_agent billing-agent", 0);
	assert_string_equal(sattr(collab, "gen_ai.agent.name"), "billing-agent");
	assert_string_equal(sattr(collab, "gen_ai.agent.id"), "BILLING001");
	orch3 = parent_of(&r, collab);
	assert_string_equal(sattr(orch3, "aws.bedrock.agent.trace_id"), "orch-3");
	p = parent_of(&r, find(&r, "chat anthropic.claude-3-haiku-20240307-v1:0", 0));
	assert_ptr_equal(parent_of(&r, p), collab);
	assert_string_equal(sattr(p, "gen_ai.agent.id"), "BILLING001");
	tool = find(&r, "execute_tool billing-tools", 0);
	assert_string_equal(sattr(tool, "bedtrace.agent.action_group.function"), "issue_refund");
	assert_ptr_equal(parent_of(&r, parent_of(&r, tool)), collab);
	/* the orch-3 chat span got no collaborator events */
	assert_ptr_equal(
	    parent_of(&r, find(&r, "chat anthropic.claude-3-5-sonnet-20240620-v1:0", 3)), orch3);
	/* rationale and final response are events on their step span */
	assert_string_equal(orch3->events[0].name, "gen_ai.agent.rationale");
	assert_int_equal(orch3->events[0].attrs.n, 0); /* text only with capture */

	/* timing from the wire: the collaborator span runs from frame 16 to frame 25 */
	assert_int_equal(collab->start_ns, SPAN_START + CASSETTE_FRAME_NS(0, 16));
	assert_int_equal(collab->end_ns, SPAN_START + CASSETTE_FRAME_NS(0, 25));
	assert_true(fabs(bt_attrs_get(&r.span->attrs, "gen_ai.response.time_to_first_chunk")->d -
			 (CASSETTE_FRAME_NS(0, 32)) / 1e9) < 1e-9);

	/* totals */
	assert_int_equal(iattr(r.span, "gen_ai.usage.input_tokens"), 7346);
	assert_int_equal(iattr(r.span, "gen_ai.usage.output_tokens"), 554);
	assert_int_equal(iattr(r.span, "bedtrace.agent.answer.chunks"), 2);
	assert_int_equal(iattr(r.span, "bedtrace.agent.answer.bytes"), (int64_t)strlen(answer));
	assert_int_equal(iattr(r.span, "bedtrace.agent.citations"), 1);
	assert_int_equal(price_lookup(NULL, sonnet, &ps), 0);
	assert_int_equal(price_lookup(NULL, haiku, &ph), 0);
	cost = (5826 * ps.input + 414 * ps.output + 1520 * ph.input + 140 * ph.output) / 1e6;
	assert_true(fabs(bt_attrs_get(&r.span->attrs, "bedtrace.cost.usd")->d - cost) < 1e-9);
	assert_true(bt_attrs_get(&r.span->attrs, "bedtrace.cost.includes_children")->b);

	/* no content without --capture-content */
	assert_false(tree_contains(&r, "A-1001"));
	assert_false(tree_contains(&r, "test_aws_authorization"));
	run_free(&r);

	load_generated(&r, "agent_invoke_multi.yaml", 0);
	run_annotate(&r, true);
	assert_non_null(strstr(sattr(r.span, "gen_ai.output.messages"), answer));
	assert_non_null(strstr(sattr(r.span, "gen_ai.input.messages"), "arrived damaged"));
	orch3 = parent_of(&r, find(&r, "invoke_agent billing-agent", 0));
	assert_int_equal(orch3->events[0].attrs.n, 1);
	assert_true(has(find(&r, "execute_tool order-tools", 0), "gen_ai.tool.call.arguments"));
	assert_true(has(find(&r, "execute_tool order-tools", 0), "gen_ai.tool.call.result"));
	assert_false(tree_contains(&r, "test_aws_authorization"));
	run_free(&r);
}

static void test_bedrock_agent_generated_failure(void **state)
{
	const char *sonnet = "chat anthropic.claude-3-5-sonnet-20240620-v1:0";
	const struct bt_span *chat;
	struct run r;

	(void)state;
	load_generated(&r, "agent_invoke_failure.yaml", 0);
	run_annotate(&r, false);
	assert_string_equal(r.span->name, "invoke_agent SUPERVISOR01");
	assert_string_equal(sattr(r.span, "error.type"), "ThrottlingException");
	assert_int_equal(r.span->status, BT_STATUS_ERROR);
	assert_string_equal(sattr(r.span, "gen_ai.conversation.id"), "session-fail-1");
	assert_int_equal(iattr(r.span, "gen_ai.usage.input_tokens"), 498);
	assert_int_equal(iattr(r.span, "gen_ai.usage.output_tokens"), 52);
	assert_int_equal(iattr(r.span, "bedtrace.agent.answer.chunks"), 0);
	assert_false(has(r.span, "gen_ai.response.time_to_first_chunk"));
	assert_int_equal(r.n_children, 4);
	assert_tree(&r);
	chat = find(&r, sonnet, 0);
	assert_int_equal(chat->status, BT_STATUS_UNSET);
	assert_string_equal(parent_of(&r, chat)->name, "pre_processing");
	chat = find(&r, sonnet, 1);
	/* never answered: closed by the failure at frame 3 */
	assert_int_equal(chat->status, BT_STATUS_ERROR);
	assert_string_equal(sattr(chat, "error.type"), "AgentFailure");
	assert_int_equal(iattr(chat, "bedtrace.agent.failure_code"), 429);
	assert_int_equal(chat->end_ns, SPAN_START + CASSETTE_FRAME_NS(0, 3));
	assert_false(has(chat, "bedtrace.agent.incomplete"));
	assert_int_equal(parent_of(&r, chat)->status, BT_STATUS_ERROR);
	assert_false(tree_contains(&r, "too many tokens per minute"));
	run_free(&r);

	load_generated(&r, "agent_invoke_failure.yaml", 0);
	run_annotate(&r, true);
	assert_string_equal(find(&r, sonnet, 1)->status_message,
			    "Model invocation throttled: too many tokens per minute.");
	assert_non_null(strstr(r.span->status_message, "Reduce the frequency"));
	run_free(&r);
}

/* ---- streams built here ---- */

struct stream {
	uint8_t buf[32768];
	size_t len;
	struct http_body_ts ts[64];
	size_t n;
};

static void add_event(struct stream *s, const char *type, const char *payload)
{
	s->ts[s->n].off = s->len;
	s->ts[s->n].ts_ns = T0 + FRAME_NS * (s->n + 1);
	s->n++;
	s->len += esf_event(s->buf + s->len, type, payload);
}

#define SUP_ARN "arn:aws:bedrock:us-east-1:123456789012:agent-alias/AGENT00001/ALIAS00001"
#define HELP_ARN "arn:aws:bedrock:us-east-1:123456789012:agent-alias/HELPER0001/HALIAS0001"

static void add_trace(struct stream *s, bool collaborator, const char *trace)
{
	char payload[4096];

	snprintf(payload, sizeof(payload),
		 "{\"agentId\":\"%s\",\"agentAliasId\":\"A\",\"sessionId\":\"sess-9\","
		 "\"callerChain\":[{\"agentAliasArn\":\"" SUP_ARN "\"}%s]%s,\"trace\":%s}",
		 collaborator ? "HELPER0001" : "AGENT00001",
		 collaborator ? ",{\"agentAliasArn\":\"" HELP_ARN "\"}" : "",
		 collaborator ? ",\"collaboratorName\":\"helper-agent\"" : "", trace);
	add_event(s, "trace", payload);
}

static void stream_exchange(struct run *r, const struct stream *s)
{
	struct http_exchange *ex = &r->ex;

	memset(r, 0, sizeof(*r));
	ex->version = 20;
	ex->has_request = ex->has_response = true;
	ex->req.method = strdup("POST");
	ex->req.target = strdup("/agents/AGENT00001/agentAliases/ALIAS00001/sessions/sess-9/text");
	ex->req.authority = strdup("bedrock-agent-runtime.us-east-1.amazonaws.com");
	ex->req.start_ns = T0;
	ex->req.body = (uint8_t *)strdup("{\"inputText\":\"Compute the refund ratio\"}");
	ex->req.body_len = strlen((char *)ex->req.body);
	ex->resp.status = 200;
	ex->resp.headers = calloc(1, sizeof(*ex->resp.headers));
	ex->resp.headers[0].name = strdup("content-type");
	ex->resp.headers[0].value = strdup("application/vnd.amazon.eventstream");
	ex->resp.n_headers = 1;
	ex->resp.body = malloc(s->len);
	memcpy(ex->resp.body, s->buf, s->len);
	ex->resp.body_len = s->len;
	ex->resp.body_ts = malloc(sizeof(s->ts));
	memcpy(ex->resp.body_ts, s->ts, sizeof(s->ts));
	ex->resp.n_body_ts = s->n;
	ex->resp.start_ns = T0 + FRAME_NS / 2;
}

#define HAIKU "anthropic.claude-3-haiku-20240307-v1:0"
#define NOVA "amazon.nova-pro-v1:0"

static void build_single_agent(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	/* 0-1: routing classifier; the service times fall inside the call: they are used */
	add_trace(s, false,
		  "{\"routingClassifierTrace\":{\"modelInvocationInput\":{\"traceId\":"
		  "\"r-0\",\"foundationModel\":\"" HAIKU "\",\"type\":\"ROUTING_CLASSIFIER\","
		  "\"text\":\"route: Compute the refund ratio\"}}}");
	add_trace(s, false,
		  "{\"routingClassifierTrace\":{\"modelInvocationOutput\":{\"traceId\":"
		  "\"r-0\",\"rawResponse\":{\"content\":\"self\"},\"metadata\":{"
		  "\"startTime\":\"2025-02-06T05:12:33.005Z\",\"endTime\":"
		  "\"2025-02-06T05:12:33.018Z\",\"usage\":{\"inputTokens\":100,"
		  "\"outputTokens\":10}}}}}");
	/* 2-6: an orchestration step running code that fails */
	add_trace(s, false,
		  "{\"orchestrationTrace\":{\"modelInvocationInput\":{\"traceId\":\"o-0\","
		  "\"foundationModel\":\"" NOVA "\",\"type\":\"ORCHESTRATION\",\"text\":"
		  "\"Compute the refund ratio\",\"inferenceConfiguration\":{"
		  "\"maximumLength\":512,\"temperature\":0.2,\"topP\":0.9,\"topK\":50,"
		  "\"stopSequences\":[\"</answer>\"]}}}}");
	add_trace(s, false,
		  "{\"orchestrationTrace\":{\"modelInvocationOutput\":{\"traceId\":\"o-0\","
		  "\"metadata\":{\"totalTimeMs\":7,\"usage\":{\"inputTokens\":200,"
		  "\"outputTokens\":20}}}}}");
	add_trace(s, false,
		  "{\"orchestrationTrace\":{\"rationale\":{\"traceId\":\"o-0\",\"text\":"
		  "\"I should run code\"}}}");
	add_trace(s, false,
		  "{\"orchestrationTrace\":{\"invocationInput\":{\"traceId\":\"o-0\","
		  "\"invocationType\":\"ACTION_GROUP_CODE_INTERPRETER\","
		  "\"codeInterpreterInvocationInput\":{\"code\":\"print(1/0)\"}}}}");
	add_trace(s, false,
		  "{\"orchestrationTrace\":{\"observation\":{\"traceId\":\"o-0\",\"type\":"
		  "\"ACTION_GROUP\",\"codeInterpreterInvocationOutput\":{\"executionError\":"
		  "\"ZeroDivisionError: division by zero\"}}}}");
	/* 7-8: custom orchestration, one span for its traceId */
	add_trace(s, false,
		  "{\"customOrchestrationTrace\":{\"traceId\":\"c-0\",\"event\":{\"text\":"
		  "\"step A\"}}}");
	add_trace(s, false,
		  "{\"customOrchestrationTrace\":{\"traceId\":\"c-0\",\"event\":{\"text\":"
		  "\"step B\"}}}");
	/* 9: guardrail, 10-11: return control and files, 12: the answer */
	add_trace(s, false,
		  "{\"guardrailTrace\":{\"traceId\":\"g-0\",\"action\":\"INTERVENED\","
		  "\"outputAssessments\":[{},{}],\"metadata\":{\"totalTimeMs\":5}}}");
	add_event(s, "returnControl", "{\"invocationId\":\"inv-1\",\"invocationInputs\":[]}");
	add_event(s, "files", "{\"files\":[{\"name\":\"a.png\"},{\"name\":\"b.csv\"}]}");
	add_event(s, "chunk", "{\"bytes\":\"RG9uZS4=\",\"attribution\":{\"citations\":[{}]}}");
	/* 13: a step the stream never finishes */
	add_trace(s, false,
		  "{\"orchestrationTrace\":{\"modelInvocationInput\":{\"traceId\":\"o-1\","
		  "\"foundationModel\":\"" NOVA "\"}}}");
}

static void test_bedrock_agent_trace_kinds(void **state)
{
	const struct bt_span *route, *chat, *code, *custom, *guard, *open;
	struct stream *s = calloc(1, sizeof(*s));
	struct price ph, pn;
	struct run r;
	size_t i;

	(void)state;
	build_single_agent(s);
	stream_exchange(&r, s);
	run_annotate(&r, false);
	assert_int_equal(r.n_children, 9);
	assert_tree(&r);

	route = find(&r, "chat " HAIKU, 0);
	assert_string_equal(parent_of(&r, route)->name, "routing_classifier");
	assert_string_equal(sattr(parent_of(&r, route), "bedtrace.agent.step"),
			    "ROUTING_CLASSIFIER");
	/* service times inside the call window win over wire times */
	assert_int_equal(route->start_ns, SPAN_START + 5000000ull);
	assert_int_equal(route->end_ns, SPAN_START + 18000000ull);

	chat = find(&r, "chat " NOVA, 0);
	assert_int_equal(iattr(chat, "gen_ai.request.max_tokens"), 512);
	assert_true(fabs(bt_attrs_get(&chat->attrs, "gen_ai.request.temperature")->d - 0.2) < 1e-9);
	assert_true(fabs(bt_attrs_get(&chat->attrs, "gen_ai.request.top_k")->d - 50) < 1e-9);
	assert_string_equal(bt_attrs_get(&chat->attrs, "gen_ai.request.stop_sequences")->arr.v[0],
			    "</answer>");
	assert_int_equal(iattr(chat, "bedtrace.agent.total_time_ms"), 7);
	assert_string_equal(sattr(chat, "gen_ai.agent.id"), "AGENT00001");
	/* opened at frame 2, closed at frame 3 as they crossed the wire */
	assert_int_equal(chat->start_ns, SPAN_START + 3 * FRAME_NS);
	assert_int_equal(chat->end_ns, SPAN_START + 4 * FRAME_NS);
	assert_string_equal(parent_of(&r, chat)->events[0].name, "gen_ai.agent.rationale");

	code = find(&r, "execute_tool code_interpreter", 0);
	assert_int_equal(code->status, BT_STATUS_ERROR);
	assert_string_equal(sattr(code, "error.type"), "CodeInterpreterError");
	assert_string_equal(sattr(code, "gen_ai.tool.name"), "code_interpreter");
	assert_ptr_equal(parent_of(&r, code), parent_of(&r, chat));

	custom = find(&r, "custom_orchestration", 0);
	assert_int_equal(custom->n_events, 2);
	assert_int_equal(custom->end_ns - custom->start_ns, FRAME_NS);

	guard = find(&r, "apply_guardrail", 0);
	assert_string_equal(sattr(guard, "aws.bedrock.guardrail.action"), "INTERVENED");
	assert_int_equal(iattr(guard, "bedtrace.agent.guardrail.output_assessments"), 2);
	/* one event: back-dated by the service's duration */
	assert_int_equal(guard->end_ns - guard->start_ns, 5000000ull);

	open = find(&r, "chat " NOVA, 1);
	assert_true(bt_attrs_get(&open->attrs, "bedtrace.agent.incomplete")->b);

	assert_int_equal(iattr(r.span, "gen_ai.usage.input_tokens"), 300);
	assert_int_equal(iattr(r.span, "gen_ai.usage.output_tokens"), 30);
	assert_int_equal(price_lookup(NULL, HAIKU, &ph), 0);
	assert_int_equal(price_lookup(NULL, NOVA, &pn), 0);
	assert_true(fabs(bt_attrs_get(&r.span->attrs, "bedtrace.cost.usd")->d -
			 (100 * ph.input + 10 * ph.output + 200 * pn.input + 20 * pn.output) /
			     1e6) < 1e-12);
	assert_true(bt_attrs_get(&r.span->attrs, "bedtrace.agent.return_control")->b);
	assert_int_equal(iattr(r.span, "bedtrace.agent.files"), 2);
	assert_int_equal(iattr(r.span, "bedtrace.agent.answer.chunks"), 1);
	assert_int_equal(iattr(r.span, "bedtrace.agent.answer.bytes"), 5);
	assert_int_equal(iattr(r.span, "bedtrace.agent.citations"), 1);
	assert_int_equal(r.span->status, BT_STATUS_UNSET); /* a failed tool is not a failed call */
	assert_true(fabs(bt_attrs_get(&r.span->attrs, "gen_ai.response.time_to_first_chunk")->d -
			 13 * FRAME_NS / 1e9) < 1e-9);
	for (i = 0; i < r.span->n_events; i++)
		if (!strcmp(r.span->events[i].name, "gen_ai.agent.return_control"))
			break;
	assert_true(i < r.span->n_events);
	assert_false(tree_contains(&r, "refund ratio"));
	assert_false(tree_contains(&r, "print(1/0)"));
	assert_false(tree_contains(&r, "I should run code"));
	assert_false(tree_contains(&r, "step A"));
	run_free(&r);

	stream_exchange(&r, s);
	run_annotate(&r, true);
	assert_true(tree_contains(&r, "refund ratio"));
	assert_string_equal(
	    sattr(find(&r, "execute_tool code_interpreter", 0), "gen_ai.tool.call.arguments"),
	    "print(1/0)");
	assert_true(tree_contains(&r, "I should run code"));
	assert_true(tree_contains(&r, "step B"));
	assert_non_null(strstr(sattr(r.span, "gen_ai.output.messages"), "Done."));
	run_free(&r);
	free(s);
}

static void test_bedrock_agent_collaborator_without_invocation(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	const struct bt_span *collab, *chat;
	struct run r;

	(void)state;
	/* the collaborator's events arrive without the supervisor's invocation input */
	add_trace(s, true,
		  "{\"orchestrationTrace\":{\"modelInvocationInput\":{\"traceId\":\"h-0\","
		  "\"foundationModel\":\"" HAIKU "\"}}}");
	add_trace(s, true,
		  "{\"orchestrationTrace\":{\"modelInvocationOutput\":{\"traceId\":\"h-0\","
		  "\"metadata\":{\"usage\":{\"inputTokens\":5,\"outputTokens\":6}}}}}");
	add_trace(s, false,
		  "{\"orchestrationTrace\":{\"modelInvocationInput\":{\"traceId\":\"s-0\","
		  "\"foundationModel\":\"" HAIKU "\"}}}");
	add_trace(s, false,
		  "{\"orchestrationTrace\":{\"modelInvocationOutput\":{\"traceId\":\"s-0\","
		  "\"metadata\":{\"usage\":{\"inputTokens\":1,\"outputTokens\":2}}}}}");
	stream_exchange(&r, s);
	run_annotate(&r, false);
	assert_int_equal(r.n_children, 5);
	assert_tree(&r);
	collab = find(&r, "invoke_agent helper-agent", 0);
	assert_ptr_equal(parent_of(&r, collab), r.span);
	assert_string_equal(sattr(collab, "gen_ai.agent.id"), "HELPER0001");
	chat = find(&r, "chat " HAIKU, 0);
	assert_ptr_equal(parent_of(&r, parent_of(&r, chat)), collab);
	assert_int_equal(iattr(chat, "gen_ai.usage.input_tokens"), 5);
	chat = find(&r, "chat " HAIKU, 1);
	assert_ptr_equal(parent_of(&r, parent_of(&r, chat)), r.span);
	assert_int_equal(collab->end_ns, SPAN_START + 2 * FRAME_NS);
	assert_int_equal(iattr(r.span, "gen_ai.usage.input_tokens"), 6);
	run_free(&r);
	free(s);
}

static void test_bedrock_agent_corrupt_stream_and_failure(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	const char *exc[] = {":exception-type", "dependencyFailedException",
			     ":content-type",	"application/json",
			     ":message-type",	"exception"};
	size_t frame2;
	struct run r;

	(void)state;
	build_single_agent(s);
	frame2 = s->ts[2].off;
	s->buf[frame2 + 60] ^= 1;
	stream_exchange(&r, s);
	run_annotate(&r, false);
	assert_string_equal(sattr(r.span, "error.type"), "bedtrace.eventstream.corrupt");
	assert_true(has(r.span, "bedtrace.eventstream.error"));
	assert_int_equal(r.span->status, BT_STATUS_ERROR);
	assert_int_equal(r.n_children, 2); /* frames 0-1 were decoded and kept */
	assert_int_equal(iattr(r.span, "gen_ai.usage.input_tokens"), 100);
	run_free(&r);

	/* a failure outside any step, then a stream exception */
	memset(s, 0, sizeof(*s));
	add_trace(s, false,
		  "{\"failureTrace\":{\"traceId\":\"f-0\",\"failureCode\":500,"
		  "\"failureReason\":\"Lambda crashed on the refund ratio\"}}");
	s->ts[s->n].off = s->len;
	s->ts[s->n].ts_ns = T0 + FRAME_NS * (s->n + 1);
	s->n++;
	s->len += esf_frame(s->buf + s->len, exc, 6, "{\"message\":\"lambda failed\"}");
	stream_exchange(&r, s);
	run_annotate(&r, false);
	assert_int_equal(r.n_children, 1);
	assert_string_equal(r.children[0]->name, "agent_failure AGENT00001");
	assert_int_equal(r.children[0]->status, BT_STATUS_ERROR);
	assert_int_equal(iattr(r.children[0], "bedtrace.agent.failure_code"), 500);
	assert_string_equal(sattr(r.span, "error.type"), "DependencyFailedException");
	assert_false(tree_contains(&r, "refund ratio"));
	run_free(&r);

	/* the failure alone fails the call */
	memset(s, 0, sizeof(*s));
	add_trace(s, false, "{\"failureTrace\":{\"failureCode\":500}}");
	stream_exchange(&r, s);
	run_annotate(&r, false);
	assert_string_equal(sattr(r.span, "error.type"), "AgentFailure");
	assert_int_equal(r.span->status, BT_STATUS_ERROR);
	run_free(&r);

	/* garbage payloads mark the span, never crash */
	memset(s, 0, sizeof(*s));
	add_event(s, "trace", "{\"trace\":{\"orchestrationTrace\":[1,2]},\"callerChain\":{}}");
	add_event(s, "trace", "not json");
	add_event(s, "chunk", "{\"bytes\":\"@@@\"}");
	add_event(s, "trace",
		  "{\"callerChain\":[{},{\"agentAliasArn\":7}],\"trace\":{"
		  "\"orchestrationTrace\":{\"observation\":{\"finalResponse\":{}}}}}");
	stream_exchange(&r, s);
	run_annotate(&r, false);
	assert_true(has(r.span, "bedtrace.bedrock.parse_error"));
	assert_int_equal(iattr(r.span, "bedtrace.agent.answer.chunks"), 1);
	assert_tree(&r);
	run_free(&r);
	free(s);
}

/*
 * The InvokeAgent span's typed usage is the sum of its model steps' and says so
 * (includes_children), so that totals do not count the steps twice; every span's typed usage
 * matches its attributes.
 */
static void test_bedrock_agent_typed_usage_includes_children(void **state)
{
	int64_t in = 0, out = 0;
	double cost = 0;
	size_t i, steps = 0;
	struct run r;

	(void)state;
	load_generated(&r, "agent_invoke_multi.yaml", 0);
	run_annotate(&r, false);
	check_typed_usage(r.span);
	assert_true(r.span->usage.has_tokens && r.span->usage.has_cost);
	assert_true(r.span->usage.includes_children);
	assert_int_equal(r.span->usage.input_tokens, 7346);
	assert_int_equal(r.span->usage.output_tokens, 554);
	for (i = 0; i < r.n_children; i++) {
		const struct bt_genai_usage *u = &r.children[i]->usage;

		check_typed_usage(r.children[i]);
		assert_false(u->includes_children);
		if (!u->has_tokens)
			continue;
		steps++;
		in += u->input_tokens;
		out += u->output_tokens;
		cost += u->cost_usd;
	}
	assert_int_equal(steps, 8); /* the 8 model calls */
	assert_int_equal(in, r.span->usage.input_tokens);
	assert_int_equal(out, r.span->usage.output_tokens);
	assert_true(fabs(cost - r.span->usage.cost_usd) < 1e-12);
	run_free(&r);

	/* a failed run still sums what its steps used */
	load_generated(&r, "agent_invoke_failure.yaml", 0);
	run_annotate(&r, false);
	check_typed_usage(r.span);
	assert_true(r.span->usage.includes_children);
	assert_int_equal(r.span->usage.input_tokens, 498);
	assert_int_equal(r.span->usage.output_tokens, 52);
	for (i = 0; i < r.n_children; i++)
		check_typed_usage(r.children[i]);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bedrock_agent_generated_multi_agent),
	    cmocka_unit_test(test_bedrock_agent_generated_failure),
	    cmocka_unit_test(test_bedrock_agent_trace_kinds),
	    cmocka_unit_test(test_bedrock_agent_collaborator_without_invocation),
	    cmocka_unit_test(test_bedrock_agent_corrupt_stream_and_failure),
	    cmocka_unit_test(test_bedrock_agent_typed_usage_includes_children),
	};

	return cmocka_run_group_tests(tests, gen_setup, gen_teardown);
}
