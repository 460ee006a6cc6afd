# SPDX-License-Identifier: MIT
"""Bedrock spans from real SDK clients: every cassette of tests/fixtures/bedrock-cassettes
and of the generator (tests/data/eventstream) is replayed by a local TLS server and called by
Debian's boto3 (HTTP/1.1) and the AWS SDK for JavaScript v3 (HTTP/2; HTTP/1.1 for the streams,
agents and errors), each under `bedtrace -- CLIENT`. What each span must say is read from the
cassette itself (tests/integration/bedrock/expect.py): name, model, tokens, finish reasons,
request id, errors, time to first chunk, SDK retry attempts, the InvokeAgent span tree, content
only with --capture-content, trace totals on the root, and the clients' secrets never exported.
"""
import base64
import json
import re
import subprocess
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import check, check_eq, run, test  # noqa: E402
from bedrock_rig import (ROOT, ReplayServer, all_cassettes, cassette_name,  # noqa: E402
                         leaked_secrets, run_traced, secret_env, trace_client)
from bedrock.expect import Cassette, content_strings  # noqa: E402

FRAME_DELAY_MS = 20
PROTOCOL = {"boto3": "1.1", "node-h2": "2", "node-h1": "1.1"}
CONTENT_ATTRS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                 "bedtrace.retrieval.documents")

_srv = None
_runs = {}  # (client, cassette name, bedtrace args) → TracedRun


def server():
    global _srv
    if _srv is None:
        _srv = ReplayServer(frame_delay_ms=FRAME_DELAY_MS).__enter__()
    return _srv


def cassettes():
    return [Cassette(p) for p in all_cassettes()]


def cassette(name):
    for c in cassettes():
        if c.name == name:
            return c
    raise AssertionError("no cassette " + name)


def traced(kind, cas, args=()):
    """`bedtrace ARGS -- CLIENT` over @cas, run once per (client, cassette, args)."""
    key = (kind, cas.name, tuple(args))
    if key not in _runs:
        _runs[key] = trace_client(server(), kind, cas.path, bedtrace_args=args)
    return _runs[key]


def bedrock_spans(r):
    """The Bedrock HTTP spans of a run (agent trace children are INTERNAL), in request order."""
    return sorted((s for s in r.spans
                   if s.kind == 3 and s.attrs.get("gen_ai.provider.name") == "aws.bedrock"),
                  key=lambda s: s.start)


def forms(text):
    """@text as it can appear in OTLP JSON: raw, JSON-escaped, and escaped twice (a JSON
    document inside a string attribute)."""
    once = json.dumps(text)[1:-1]
    return {text, once, json.dumps(once)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}


def drop_problems(r, cas, spans):
    """bedtrace must end with "nothing dropped"; the one exception is a client that hangs up
    in the middle of a corrupt stream (boto3): the rest of the body is never read, the span
    says so (bedtrace.capture.truncated) and the exit summary counts it, no bytes lost."""
    err = r.stderr.decode(errors="replace")
    drops = [ln for ln in err.splitlines() if "dropped:" in ln]
    if not drops:
        if "nothing dropped" not in err:
            return ["no exit summary on stderr"]
        return []
    corrupt = any(it.corrupt for it in cas.interactions)
    ok = re.compile(r"dropped: 0 captured bytes lost; \d+ HTTP message\(s\) marked truncated$")
    if corrupt and all(ok.search(ln) for ln in drops) and all(
            s.attrs.get("bedtrace.capture.truncated") for s in spans
            if "bedtrace.eventstream.error" in s.attrs):
        return []
    return ["stderr reports drops: %r" % drops]


def call_problems(kind, cas, r):
    """Everything one client run over one cassette must show; returns a list of problems."""
    srv = server()
    p = []
    if r.rc != 0:
        return ["bedtrace exit %d\n%s" % (r.rc, r.describe())]
    spans = bedrock_spans(r)
    its = cas.interactions
    if len(spans) != len(its):
        return ["%d Bedrock spans, want %d: %r" % (len(spans), len(its), spans)]
    if not any(it.agent for it in its) and len(r.spans) != len(its):
        p.append("%d spans in all, want only the %d Bedrock spans" % (len(r.spans), len(its)))
    p += drop_problems(r, cas, spans)
    p += ["secret leaked: " + x for x in leaked_secrets(r)]
    if len(r.requests) != len(its):
        p.append("the server saw %d requests, want %d" % (len(r.requests), len(its)))
    calls = cas.calls()
    if len(r.results) != len(calls):
        p.append("client printed %d results, want %d" % (len(r.results), len(calls)))
    pos = []  # (attempt number, call index) per interaction
    for ci, call in enumerate(calls):
        pos += [(n + 1, ci) for n in range(len(call))]
    ids = {}
    for i, (it, s) in enumerate(zip(its, spans)):
        a = s.attrs
        q = []

        def eq(key, want):
            if a.get(key) != want:
                q.append("%s = %r, want %r" % (key, a.get(key), want))
        if s.name != it.span_name:
            q.append("name %r, want %r" % (s.name, it.span_name))
        eq("gen_ai.provider.name", "aws.bedrock")
        eq("gen_ai.operation.name", it.operation)
        if it.agent:
            eq("gen_ai.agent.id", it.agent_id)
            eq("gen_ai.conversation.id", it.session_id)
        else:
            eq("gen_ai.request.model", it.model)
        eq("aws.request_id", it.request_id)
        eq("server.address", "127.0.0.1")
        eq("server.port", srv.port)
        eq("http.request.method", it.method)
        eq("http.response.status_code", it.status)
        eq("network.protocol.version", PROTOCOL[kind])
        path = urllib.parse.urlsplit(a.get("url.full", "")).path
        if urllib.parse.unquote(path) != it.path:
            q.append("url.full %r, want path %r" % (a.get("url.full"), it.path))
        # tokens and finish reasons
        if it.corrupt:
            if "gen_ai.usage.output_tokens" in a or "gen_ai.response.finish_reasons" in a:
                q.append("corrupt stream: output tokens or finish reasons from frames never "
                         "decoded: %r" % a)
        elif it.input_tokens is not None:
            eq("gen_ai.usage.input_tokens", it.input_tokens)
            eq("gen_ai.usage.output_tokens", it.output_tokens)
            if not isinstance(a.get("bedtrace.cost.usd"), float) or a["bedtrace.cost.usd"] < 0:
                if not a.get("bedtrace.cost.unknown_model"):
                    q.append("no bedtrace.cost.usd")
        else:
            for k in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"):
                if k in a:
                    q.append("%s = %r, want none" % (k, a[k]))
        if not it.agent and not it.corrupt:
            eq("gen_ai.response.finish_reasons", it.finish or None)
        # errors
        if it.error_type:
            eq("error.type", it.error_type)
            if s.status != 2:
                q.append("status %d, want ERROR" % s.status)
        elif it.corrupt:
            if s.status != 2 or not str(a.get("error.type", "")).startswith(
                    "bedtrace.eventstream"):
                q.append("corrupt stream: status %d error.type %r, want ERROR and "
                         "bedtrace.eventstream.*" % (s.status, a.get("error.type")))
            if "CRC" not in str(a.get("bedtrace.eventstream.error")):
                q.append("corrupt stream: bedtrace.eventstream.error %r" %
                         a.get("bedtrace.eventstream.error"))
        else:
            if s.status == 2 or "error.type" in a:
                q.append("status %d error.type %r, want no error" % (s.status,
                                                                     a.get("error.type")))
        # time to first chunk
        ttfc = a.get("gen_ai.response.time_to_first_chunk")
        has_chunk = it.first_chunk and not it.corrupt
        if it.agent:
            chunks = [k for k, (h, _) in enumerate(it.events) if h.get(":event-type") == "chunk"]
            has_chunk = bool(chunks)
        if has_chunk:
            dur = (s.end - s.start) / 1e9
            n = len(it.events)
            if not isinstance(ttfc, float) or not 0 < ttfc <= dur or (n > 1 and ttfc >= dur):
                q.append("time_to_first_chunk %r, duration %.6f s, %d frames" % (ttfc, dur, n))
            elif n > 1 and dur < 0.8 * (n - 1) * FRAME_DELAY_MS / 1000:
                q.append("stream of %d frames %d ms apart lasts only %.1f ms" %
                         (n, FRAME_DELAY_MS, dur * 1000))
            if it.agent and ttfc is not None and ttfc < 0.8 * chunks[0] * FRAME_DELAY_MS / 1000:
                q.append("agent time_to_first_chunk %.3f s, but the first chunk is frame %d" %
                         (ttfc, chunks[0]))
        elif ttfc is not None and not it.stream:
            q.append("time_to_first_chunk %r on a response that does not stream" % ttfc)
        # SDK attempts: the ids the server saw on the wire, attempt numbers from the cassette
        attempt, ci = pos[i]
        eq("aws.sdk.attempt", attempt)
        if i < len(r.requests):
            hdrs = r.requests[i]["headers"]
            eq("aws.sdk.invocation_id", hdrs.get("amz-sdk-invocation-id"))
            if hdrs.get("x-amz-security-token") != r.env["AWS_SESSION_TOKEN"]:
                q.append("the session token was not on the wire: the leak check proves nothing")
        ids.setdefault(ci, set()).add(a.get("aws.sdk.invocation_id"))
        if attempt > 1:
            eq("bedtrace.retry.previous_attempts", attempt - 1)
            throttles = sum(1 for x in calls[ci][:attempt] if x.throttled)
            eq("bedtrace.bedrock.throttle_count", throttles)
        if q:
            p.append("interaction %d (%s): %s" % (i, s.name, "; ".join(q)))
    for ci, s in ids.items():
        if len(s) != 1:
            p.append("call %d: attempts carry invocation ids %r" % (ci, s))
    if len({next(iter(s)) for s in ids.values()}) != len(ids):
        p.append("distinct calls share an invocation id")
    # the SDK got what the cassette says: the answers were really replayed
    for res, call in zip(r.results, calls):
        if res.get("requestId") != call[-1].request_id:
            p.append("client saw request id %r, want %r" % (res.get("requestId"),
                                                            call[-1].request_id))
    return p


def run_all(kind, only=None):
    problems = []
    n = 0
    for cas in cassettes():
        if only and not only(cas):
            continue
        n += 1
        r = traced(kind, cas)
        problems += ["%s: %s" % (cas.name, x) for x in call_problems(kind, cas, r)]
    check(n > 0, "no cassettes")
    check(not problems, "%d problem(s) over %d cassettes:\n  %s", len(problems), n,
          "\n  ".join(problems))


def streams_agents_errors(cas):
    return any(it.stream or it.status != 200 for it in cas.interactions)


@test
def every_cassette_through_boto3():
    run_all("boto3")


@test
def every_cassette_through_node_sdk_http2():
    run_all("node-h2")


@test
def streams_agents_and_errors_through_node_sdk_http1():
    run_all("node-h1", streams_agents_errors)


# ---- InvokeAgent span trees ------------------------------------------------------------------

def children(spans, parent):
    return sorted((s for s in spans if s.parent_id == parent.span_id), key=lambda s: s.start)


def shape(spans, node):
    """(label, [children]) where label = name [trace id]."""
    tid = node.attrs.get("aws.bedrock.agent.trace_id")
    label = node.name + (" [%s]" % tid if tid and node.kind != 3 else "")
    return (label, [shape(spans, c) for c in children(spans, node)])


def render(tree, depth=0):
    out = ["  " * depth + tree[0]]
    for c in tree[1]:
        out += render(c, depth + 1)
    return out


def model_usage(it):
    """(agent id, trace id) → (input, output) of each model invocation in the events."""
    out = {}
    for h, doc in it.events:
        if h.get(":event-type") != "trace":
            continue
        agent = doc.get("agentId")
        for step in (doc.get("trace") or {}).values():
            for part in step.values() if isinstance(step, dict) else ():
                u = ((part or {}).get("metadata") or {}).get("usage") if isinstance(part,
                                                                                    dict) else None
                if u:
                    out[(agent, part.get("traceId"))] = (u["inputTokens"], u["outputTokens"])
    return out


SONNET = "chat anthropic.claude-3-5-sonnet-20240620-v1:0"
HAIKU = "chat anthropic.claude-3-haiku-20240307-v1:0"
# tests/bedrock/gen/EXPECTED.md a): the tree (bedtrace's names; the trace id in brackets)
MULTI_TREE = (
    "invoke_agent SUPERVISOR01", [
        ("apply_guardrail [guard-in]", []),
        ("pre_processing [pre-0]", [(SONNET + " [pre-0]", [])]),
        ("orchestration [orch-1]", [(SONNET + " [orch-1]", []),
                                    ("execute_tool order-tools [orch-1]", [])]),
        ("orchestration [orch-2]", [(SONNET + " [orch-2]", []),
                                    ("retrieve KBREFUND01 [orch-2]", [])]),
        ("orchestration [orch-3]", [
            (SONNET + " [orch-3]", []),
            ("invoke_agent billing-agent [orch-3]", [
                ("orchestration [bill-1]", [(HAIKU + " [bill-1]", []),
                                            ("execute_tool billing-tools [bill-1]", [])]),
                ("orchestration [bill-2]", [(HAIKU + " [bill-2]", [])]),
            ]),
        ]),
        ("orchestration [orch-4]", [(SONNET + " [orch-4]", [])]),
        ("apply_guardrail [guard-out]", []),
        ("post_processing [post-0]", [(SONNET + " [post-0]", [])]),
    ])


def check_tree(r, want):
    roots = bedrock_spans(r)
    check_eq(len(roots), 1, "InvokeAgent HTTP spans")
    root = roots[0]
    got = shape(r.spans, root)
    check(got == want, "span tree:\n%s\nwant:\n%s", "\n".join(render(got)),
          "\n".join(render(want)))
    check_eq(len(r.spans), 1 + root.attrs.get("bedtrace.agent.trace_spans", -1),
             "spans = root + bedtrace.agent.trace_spans")
    for s in r.spans:
        check_eq(s.trace_id, root.trace_id, "trace id of %s" % s.name)
        if s is not root:
            check_eq(s.kind, 1, "agent trace spans are INTERNAL")
            parent = next(x for x in r.spans if x.span_id == s.parent_id)
            check(parent.start <= s.start and s.end <= parent.end,
                  "%s [%d, %d] not inside %s [%d, %d]", s.name, s.start, s.end, parent.name,
                  parent.start, parent.end)
    return root


def check_agent_usage(r, it):
    usage = model_usage(it)
    chats = [s for s in r.spans if s.attrs.get("gen_ai.operation.name") == "chat"]
    for s in chats:
        key = (s.attrs.get("gen_ai.agent.id"), s.attrs.get("aws.bedrock.agent.trace_id"))
        want = usage.get(key)
        got = (s.attrs.get("gen_ai.usage.input_tokens"), s.attrs.get("gen_ai.usage.output_tokens"))
        if want:
            check_eq(got, want, "tokens of %s %s" % (s.name, key))
        else:
            check_eq(got, (None, None), "tokens of %s %s (no output recorded)" % (s.name, key))
    check_eq(sum(1 for s in chats if s.attrs.get("gen_ai.usage.input_tokens") is not None),
             len(usage), "chat spans with usage")


@test
def agent_multi_agent_span_tree():
    cas = cassette("agent_invoke_multi")
    it = cas.interactions[0]
    for kind in ("boto3", "node-h2"):
        r = traced(kind, cas)
        root = check_tree(r, MULTI_TREE)
        check_agent_usage(r, it)
        a = root.attrs
        check_eq((a.get("gen_ai.usage.input_tokens"), a.get("gen_ai.usage.output_tokens")),
                 (it.input_tokens, it.output_tokens), kind + " invocation totals")
        check_eq((a.get("bedtrace.trace.gen_ai.usage.input_tokens"),
                  a.get("bedtrace.trace.gen_ai.usage.output_tokens")),
                 (it.input_tokens, it.output_tokens), kind + " trace totals on the root")
        check(abs(a.get("bedtrace.trace.cost.usd", -1) - a.get("bedtrace.cost.usd", -2)) < 1e-9,
              "trace cost on the root equals the invocation's cost")
        check_eq(root.status, 0, "agent root status")
        check(not [s for s in r.spans if s.status == 2], "no span in ERROR")
        by_label = {}
        for s in r.spans:
            by_label.setdefault(s.name + "/" + str(s.attrs.get("aws.bedrock.agent.trace_id")),
                                []).append(s)
        collab = by_label["invoke_agent billing-agent/orch-3"][0]
        check_eq(collab.attrs.get("gen_ai.agent.id"), "BILLING001", "collaborator agent id")
        check_eq(collab.attrs.get("gen_ai.agent.name"), "billing-agent", "collaborator name")
        # frames 16..25 at FRAME_DELAY_MS apart: the collaborator lasts about 9 frame gaps
        check(collab.duration_ms >= 0.5 * 9 * FRAME_DELAY_MS,
              "collaborator span lasts %.1f ms, want about %d", collab.duration_ms,
              9 * FRAME_DELAY_MS)
        tools = {s.attrs.get("gen_ai.tool.name") for s in r.spans
                 if s.attrs.get("gen_ai.operation.name") == "execute_tool"}
        check_eq(tools, {"order-tools", "billing-tools"}, "tool names")
        order_tool = by_label["execute_tool order-tools/orch-1"][0]
        check_eq(order_tool.attrs.get("http.request.method"), "GET", "action group verb")
        check_eq(order_tool.attrs.get("bedtrace.agent.action_group.function"),
                 "/orders/{orderId}", "action group API path")
        kb = [s for s in r.spans if s.attrs.get("gen_ai.data_source.id") == "KBREFUND01"]
        check_eq(len(kb), 1, "knowledge base spans")
        guards = [s for s in r.spans if s.attrs.get("gen_ai.operation.name") == "apply_guardrail"]
        check_eq(sorted(g.attrs.get("aws.bedrock.guardrail.action") for g in guards),
                 ["NONE", "NONE"], "guardrail actions")
        # children follow the order their events crossed the wire
        order = [s.start for s in children(r.spans, root)]
        check_eq(order, sorted(order), "child order")


@test
def agent_failure_trace_and_stream_exception():
    cas = cassette("agent_invoke_failure")
    it = cas.interactions[0]
    want = ("invoke_agent SUPERVISOR01", [
        ("pre_processing [pre-0]", [(SONNET + " [pre-0]", [])]),
        ("orchestration [orch-1]", [(SONNET + " [orch-1]", [])]),
    ])
    for kind in ("boto3", "node-h2"):
        r = traced(kind, cas)
        root = check_tree(r, want)
        check_agent_usage(r, it)
        check_eq(root.status, 2, kind + " root status ERROR")
        check_eq(root.attrs.get("error.type"), it.error_type, "root error.type")
        check_eq(root.attrs.get("http.response.status_code"), 200, "HTTP status")
        check_eq(root.attrs.get("gen_ai.usage.input_tokens"), it.input_tokens, "input tokens")
        pre = [s for s in r.spans if s.attrs.get("aws.bedrock.agent.trace_id") == "pre-0"]
        orch = [s for s in r.spans if s.attrs.get("aws.bedrock.agent.trace_id") == "orch-1"]
        check(all(s.status == 0 for s in pre), "pre-processing is fine")
        check(orch and all(s.status == 2 for s in orch), "orch-1 and its chat are in ERROR")
        check(all(s.attrs.get("bedtrace.agent.failure_code") == 429 for s in orch),
              "failureCode 429 on orch-1")
        check(all(not s.attrs.get("bedtrace.span.incomplete") for s in r.spans),
              "nothing left open")


# ---- retries, stream errors --------------------------------------------------------------------

@test
def throttled_call_is_retried_as_attempts_of_one_invocation():
    cas = cassette("converse_throttled")
    for kind in ("boto3", "node-h2", "node-h1"):
        r = traced(kind, cas)
        spans = bedrock_spans(r)
        check_eq(len(spans), 2, kind + " spans")
        first, second = spans
        check_eq(first.attrs.get("aws.sdk.invocation_id"), second.attrs.get(
            "aws.sdk.invocation_id"), kind + " one invocation id")
        check_eq([s.attrs.get("aws.sdk.attempt") for s in spans], [1, 2], kind + " attempts")
        check_eq((first.status, first.attrs.get("error.type"),
                  first.attrs.get("http.response.status_code")),
                 (2, "ThrottlingException", 429), kind + " first attempt")
        check_eq((second.status, second.attrs.get("http.response.status_code"),
                  second.attrs.get("bedtrace.bedrock.throttle_count"),
                  second.attrs.get("bedtrace.retry.previous_attempts")),
                 (0, 200, 1, 1), kind + " second attempt")
        check(second.start >= first.end, "the retry starts after the throttled attempt")
        check_eq(second.attrs.get("gen_ai.request.max_tokens"), 10, "max_tokens")
        check_eq(second.attrs.get("gen_ai.request.temperature"), 0.8, "temperature")
        check_eq(second.attrs.get("gen_ai.request.top_p"), 1.0, "top_p")
        check_eq(r.results[0].get("retryAttempts"), 1, kind + " the SDK says it retried once")


@test
def stream_exception_and_corrupt_stream_are_errors():
    exc = cassette("converse_stream_exception")
    bad = cassette("corrupt_stream")
    for kind in ("boto3", "node-h2", "node-h1"):
        s = bedrock_spans(traced(kind, exc))[0]
        check_eq((s.status, s.attrs.get("error.type"), s.attrs.get("http.response.status_code")),
                 (2, "ModelStreamErrorException", 200), kind + " stream exception")
        check("gen_ai.response.finish_reasons" not in s.attrs, "no finish reason")
        check(0 < s.attrs.get("gen_ai.response.time_to_first_chunk", 0) < s.duration_ms / 1e3,
              "first chunk before the exception")
        s = bedrock_spans(traced(kind, bad))[0]
        check_eq(s.status, 2, kind + " corrupt stream status")
        check_eq(s.attrs.get("bedtrace.eventstream.error"), "event-stream: message CRC mismatch",
                 kind + " corrupt stream reason")
        check_eq(s.attrs.get("aws.request_id"), bad.interactions[0].request_id, "request id")


# ---- content and secrets ---------------------------------------------------------------------

@test
def no_content_without_capture_content():
    problems = []
    for (kind, name, args), r in sorted(_runs.items()):
        if "--capture-content" in args:
            continue
        text = r.raw.decode(errors="replace") + r.stderr.decode(errors="replace")
        cas = cassette(name)
        for it in cas.interactions:
            for c in content_strings(it):
                if any(f in text for f in forms(c)):
                    problems.append("%s %s: %r in the output" % (kind, name, c[:60]))
        for s in r.spans:
            bad = [k for k in CONTENT_ATTRS if k in s.attrs]
            bad += ["event %s %s" % (e.get("name"), x.get("key")) for e in s.events
                    for x in e.get("attributes", []) if x.get("key") in ("text", "content")]
            if bad:
                problems.append("%s %s: %s carries %s" % (kind, name, s.name, bad))
    check(len(_runs) >= 24, "the cassette runs ran first (%d)", len(_runs))
    check(not problems, "content exported without --capture-content:\n  %s",
          "\n  ".join(problems[:40]))


def parsed_rationales(it):
    """The rationale of a pre-processing step's parsedResponse: bedtrace exports that step's
    raw model output as its output message, not this parsed copy."""
    out = set()
    for h, doc in it.events:
        for step in ((doc or {}).get("trace") or {}).values():
            if not isinstance(step, dict):
                continue
            parsed = (step.get("modelInvocationOutput") or {}).get("parsedResponse")
            if isinstance(parsed, dict) and isinstance(parsed.get("rationale"), str):
                out.add(parsed["rationale"])
    return out


CONTENT_CASSETTES = ("test_converse_with_content", "test_converse_stream_with_content_tool_call",
                     "test_invoke_model_with_content[meta.llama]",
                     "test_invoke_model_with_response_stream_with_content_tool_call"
                     "[anthropic.claude]", "agent_invoke_multi")


@test
def capture_content_exports_messages():
    problems = []
    for kind in ("boto3", "node-h2"):
        for name in CONTENT_CASSETTES:
            cas = cassette(name)
            r = traced(kind, cas, ("--capture-content",))
            p = call_problems(kind, cas, r)  # same spans, same secrets rule
            spans = bedrock_spans(r)
            for it, s in zip(cas.interactions, spans):
                scope = [s]
                if it.agent:  # the answer is on the root, model I/O on the chat children
                    scope = [x for x in r.spans if x.trace_id == s.trace_id]
                if not it.agent:
                    for k in ("gen_ai.input.messages", "gen_ai.output.messages"):
                        try:
                            json.loads(s.attrs.get(k, ""))
                        except ValueError:
                            p.append("%s: %s missing or not JSON" % (s.name, k))
                values = []
                for x in scope:
                    values += [str(v) for v in x.attrs.values()]
                    values += [json.dumps(e) for e in x.events]
                blob = "\n".join(values)
                exempt = parsed_rationales(it)
                for c in content_strings(it):
                    if c not in exempt and not any(f in blob for f in forms(c)):
                        p.append("%s: %r not in the span" % (s.name, c[:60]))
            if it.agent:
                root = spans[0]
                chats = [x for x in r.spans if x.attrs.get("gen_ai.operation.name") == "chat"]
                if not all("gen_ai.output.messages" in x.attrs for x in chats):
                    p.append("agent chat spans without gen_ai.output.messages")
                answer = "".join(
                    base64.b64decode(doc["bytes"]).decode()
                    for h, doc in it.events if h.get(":event-type") == "chunk")
                if not any(f in json.dumps(root.raw) for f in forms(answer)):
                    p.append("the agent's whole answer is not on the root span")
            problems += ["%s %s: %s" % (kind, name, x) for x in p]
    check(not problems, "%d problem(s):\n  %s", len(problems), "\n  ".join(problems))


@test
def secrets_never_exported():
    check(len(_runs) >= 48, "the cassette runs ran first (%d)", len(_runs))
    leaks = ["%s %s %s: %s" % (k, n, a, x) for (k, n, a), r in sorted(_runs.items())
             for x in leaked_secrets(r)]
    check(not leaks, "secrets in bedtrace's output:\n  %s", "\n  ".join(leaks))
    for r in _runs.values():
        text = r.raw.decode(errors="replace").lower()
        for h in ("x-amz-security-token", "authorization", "aws4-hmac-sha256", "credential="):
            check(h not in text, "%r in bedtrace's output", h)


# ---- totals on the root span ----------------------------------------------------------------

def check_totals(r, root_name, what):
    check_eq(r.rc, 0, what + " bedtrace exit (%s)" % r.describe())
    roots = [s for s in r.spans if s.name == root_name and not s.parent_id]
    by_trace = {}
    for s in bedrock_spans(r):
        by_trace.setdefault(s.trace_id, []).append(s)
    check(by_trace, what + ": no Bedrock spans")
    n = 0
    for root in roots:
        calls = by_trace.get(root.trace_id, [])
        if not calls:
            continue
        n += 1
        for s in calls:
            check(s.parent_id != "", what + ": Bedrock span %s is a root" % s.name)
        want_in = sum(s.attrs.get("gen_ai.usage.input_tokens", 0) for s in calls)
        want_out = sum(s.attrs.get("gen_ai.usage.output_tokens", 0) for s in calls)
        want_cost = sum(s.attrs.get("bedtrace.cost.usd", 0.0) for s in calls)
        a = root.attrs
        check_eq((a.get("bedtrace.trace.gen_ai.usage.input_tokens"),
                  a.get("bedtrace.trace.gen_ai.usage.output_tokens")), (want_in, want_out),
                 what + " token totals on %s" % root.name)
        check(abs(a.get("bedtrace.trace.cost.usd", -1.0) - want_cost) < 1e-6,
              "%s cost total %r, want %r", what, a.get("bedtrace.trace.cost.usd"), want_cost)
        check(root.start <= min(s.start for s in calls) and max(s.end for s in calls) <= root.end,
              what + ": the Bedrock calls lie inside the root")
    check_eq(n, len(by_trace), what + " traces with Bedrock calls under a %s root" % root_name)
    return n


@test
def trace_totals_on_root_function_spans():
    srv = server()
    # the Node SDK's event loop encloses both calls of a two-call cassette: one root, summed
    cas = cassette("test_invoke_model_with_content_tool_call[anthropic.claude]")
    r = traced("node-h2", cas, ("-f", "uv_run"))
    check_eq(check_totals(r, "uv_run", "node"), 1, "node traces")
    check_eq(r.spans and sum(s.attrs.get("gen_ai.usage.input_tokens", 0)
                             for s in bedrock_spans(r)),
             sum(it.input_tokens for it in cas.interactions), "node input tokens")
    # boto3: the interpreter's main loop
    cas = cassette("test_converse_stream_with_content_tool_call")
    r = traced("boto3", cas, ("-f", "Py_RunMain"))
    check_eq(check_totals(r, "Py_RunMain", "boto3"), 1, "boto3 traces")
    # the demo app: one trace per request, call_bedrock under handle_request
    subprocess.run(["make", "--no-print-directory", "-C", ROOT + "/scripts/demo"], check=True,
                   capture_output=True, timeout=120)
    srv.reset(["test_converse_with_content", "test_converse_stream_with_content"])
    env = secret_env()
    r = run_traced([ROOT + "/scripts/demo/out/demo-app", "--endpoint", srv.endpoint, "--cacert",
                    srv.ca, "--requests", "2"], env,
                   ["-f", "handle_request", "-f", "call_bedrock", "-f", "retrieve_documents"],
                   srv=srv)
    check_eq(check_totals(r, "handle_request", "demo"), 3, "demo traces")
    for s in bedrock_spans(r):
        parent = next(x for x in r.spans if x.span_id == s.parent_id)
        check_eq(parent.name, "call_bedrock", "Bedrock span parent")
    check(not leaked_secrets(r), "demo leaks %s", leaked_secrets(r))


if __name__ == "__main__":
    try:
        run()
    finally:
        if _srv is not None:
            _srv.stop()
