#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes realistic OTLP JSON Lines for `bedtrace report` benchmarks and tests.

report_gen.py [--bytes N] [--seed S] [--hosts H] [--gzip] OUT   ('-' is stdout)

Traces like bedtrace's own output of a RAG service: a handle_request function span with
function children (cache lookup, retrieval, prompt assembly, tokenizing, post-processing), an
HTTP client span to a vector store, and one or two Bedrock spans (chat / converse_stream with
tokens, cache tokens, cost, time to first chunk, finish reasons), sometimes a tool call. A few
percent of the model calls are throttled (429, then a retry), cut by max_tokens, stopped by a
guardrail or fail. Several hosts and services, each line one ExportTraceServiceRequest of one
resource (as `bedtrace -o` writes a batch). The output is the same for the same seed and size;
it stops at the first line that reaches N bytes. --lean leaves out the attributes the report
does not read (request ids, ports, protocol versions) and adds short helper function spans
inside the functions: about 2.7 million spans per GiB instead of 2.1 (a span of this format
takes at least about 340 bytes).
"""
import argparse
import gzip
import random
import sys

SERVICES = [("rag-api", "1.4.2"), ("summarizer", "0.9.0"), ("agent-gw", "2.1.0")]
MODELS = [
    # model, $ per 1k input, $ per 1k output, operation
    ("anthropic.claude-3-5-haiku-20241022-v1:0", 0.0008, 0.004, "chat"),
    ("anthropic.claude-3-7-sonnet-20250219-v1:0", 0.003, 0.015, "chat"),
    ("amazon.nova-lite-v1:0", 0.00006, 0.00024, "chat"),
    ("amazon.titan-embed-text-v2:0", 0.00002, 0.0, "embeddings"),
]
FUNCS = ["cache_lookup", "retrieve_documents", "assemble_prompt", "tokenize", "rerank",
         "postprocess", "render_response", "validate_input"]


def hexid(rng, n):
    return "%0*x" % (2 * n, rng.getrandbits(8 * n))


def kv_s(k, v):
    return '{"key":"%s","value":{"stringValue":"%s"}}' % (k, v)


def kv_i(k, v):
    return '{"key":"%s","value":{"intValue":"%d"}}' % (k, v)


def kv_d(k, v):
    return '{"key":"%s","value":{"doubleValue":%r}}' % (k, v)


def kv_b(k, v):
    return '{"key":"%s","value":{"boolValue":%s}}' % (k, "true" if v else "false")


def span(tid, sid, parent, name, kind, start, end, attrs, error=None):
    s = ('{"traceId":"%s","spanId":"%s",%s"name":"%s","kind":%d,"startTimeUnixNano":"%d",'
         '"endTimeUnixNano":"%d","attributes":[%s]' %
         (tid, sid, '"parentSpanId":"%s",' % parent if parent else "", name, kind, start, end,
          ",".join(attrs)))
    if error:
        s += ',"status":{"code":2,"message":"%s"}' % error
    return s + "}"


class Gen:
    def __init__(self, seed, hosts, lean=False):
        self.rng = random.Random(seed)
        self.lean = lean
        self.t = 1764900000 * 10**9  # 2025-12-05T02:00:00Z
        self.resources = []
        for h in range(hosts):
            for si, (svc, ver) in enumerate(SERVICES):
                pid = 1000 + 97 * h + si
                attrs = [kv_s("service.name", svc), kv_s("service.version", ver),
                         kv_s("host.name", "ip-10-0-%d-%d.ec2.internal" % (h // 250, h % 250 + 4)),
                         kv_i("process.pid", pid),
                         kv_s("process.executable.path", "/usr/local/bin/" + svc),
                         kv_s("telemetry.sdk.name", "bedtrace"),
                         kv_s("telemetry.sdk.version", "0.1.0")]
                self.resources.append((pid, '{"attributes":[%s]}' % ",".join(attrs)))

    def bedrock(self, tid, parent, start, tidn, out, retry=0):
        rng = self.rng
        model, pin, pout, op = MODELS[rng.randrange(len(MODELS))]
        sid = hexid(rng, 8)
        stream = op == "chat" and rng.random() < 0.6
        op_name = "converse_stream" if stream else ("converse" if op == "chat" else "invoke_model")
        intok = int(rng.lognormvariate(7, 0.6))
        if rng.random() < 0.003:
            intok *= 20  # runaway context
        outtok = 0 if op == "embeddings" else int(rng.lognormvariate(5, 0.7))
        dur = int((0.15 + outtok * 0.012 + rng.expovariate(4)) * 1e9)
        region = "us-east-1"
        path = "converse-stream" if stream else ("converse" if op == "chat" else "invoke")
        attrs = [kv_s("gen_ai.operation.name", op), kv_s("gen_ai.provider.name", "aws.bedrock"),
                 kv_s("gen_ai.request.model", model),
                 kv_s("http.request.method", "POST"),
                 kv_s("url.full", "https://bedrock-runtime.%s.amazonaws.com/model/%s/%s" %
                      (region, model, path)),
                 kv_s("server.address", "bedrock-runtime.%s.amazonaws.com" % region),
                 kv_i("thread.id", tidn)]
        if not self.lean:
            attrs += [kv_i("server.port", 443), kv_s("network.protocol.version", "1.1"),
                      kv_s("aws.request_id", "%08x-%04x-%04x-%04x-%012x" % tuple(
                          rng.getrandbits(b) for b in (32, 16, 16, 16, 48)))]
        if retry:
            attrs.append(kv_i("bedtrace.retry.previous_attempts", retry))
        r = rng.random()
        if r < 0.02 and not retry:
            # throttled: 429 quickly, then the SDK's retry
            dur = int(rng.uniform(0.02, 0.08) * 1e9)
            attrs += [kv_i("http.response.status_code", 429),
                      kv_s("error.type", "ThrottlingException")]
            out.append(span(tid, sid, parent, "%s %s" % (op, model), 3, start, start + dur,
                            attrs, "ThrottlingException"))
            back = int(rng.uniform(0.1, 0.4) * 1e9)
            return self.bedrock(tid, parent, start + dur + back, tidn, out, 1)
        if r < 0.025:
            attrs += [kv_i("http.response.status_code", 400),
                      kv_s("error.type", "ValidationException")]
            out.append(span(tid, sid, parent, "%s %s" % (op, model), 3, start, start + dur // 4,
                            attrs, "ValidationException"))
            return start + dur // 4
        finish = "end_turn"
        if op == "embeddings":
            finish = None
        elif r < 0.06:
            finish = "max_tokens"
        elif r < 0.07:
            finish = "guardrail_intervened"
            attrs.append(kv_s("aws.bedrock.guardrail.action", "INTERVENED"))
        elif r < 0.15:
            finish = "tool_use"
        attrs.append(kv_i("http.response.status_code", 200))
        attrs += [kv_i("gen_ai.usage.input_tokens", intok),
                  kv_i("gen_ai.usage.output_tokens", outtok)]
        if op == "chat" and rng.random() < 0.3:
            attrs += [kv_i("gen_ai.usage.cache_read.input_tokens", intok // 2),
                      kv_i("gen_ai.usage.cache_creation.input_tokens", 0)]
        attrs.append(kv_d("bedtrace.cost.usd", round(intok / 1000 * pin + outtok / 1000 * pout, 8)))
        if finish:
            attrs.append('{"key":"gen_ai.response.finish_reasons","value":{"arrayValue":'
                         '{"values":[{"stringValue":"%s"}]}}}' % finish)
        if stream:
            attrs.append(kv_d("gen_ai.response.time_to_first_chunk",
                              round(rng.uniform(0.12, 0.6) + (0.9 if rng.random() < 0.01 else 0), 6)))
        out.append(span(tid, sid, parent, "%s %s" % (op, model), 3, start, start + dur, attrs))
        return start + dur

    def trace(self, tidn, out):
        rng = self.rng
        tid = hexid(rng, 16)
        root = hexid(rng, 8)
        self.t += int(rng.expovariate(50) * 1e9)
        start = t = self.t
        children = []
        fcount = 0
        for name in FUNCS:
            if (rng.random() < (0.1 if self.lean else 0.35) and
                    name not in ("retrieve_documents", "assemble_prompt")):
                continue
            sid = hexid(rng, 8)
            d = int(rng.lognormvariate(-7, 1) * 1e9)
            if name == "retrieve_documents":
                cs = t + 20000
                cd = int(rng.lognormvariate(-3.5, 0.5) * 1e9)
                children.append(span(tid, hexid(rng, 8), sid, "POST", 3, cs, cs + cd, [
                    kv_s("http.request.method", "POST"),
                    kv_s("url.full", "http://vectors.internal:6333/collections/docs/points/search"),
                    kv_s("server.address", "vectors.internal"), kv_i("server.port", 6333),
                    kv_i("http.response.status_code", 200), kv_i("thread.id", tidn)]))
                d = cd + 60000
            children.append(span(tid, sid, root, name, 1, t, t + d, [
                kv_i("thread.id", tidn), kv_s("code.function.name", name)]))
            if self.lean:
                # small helpers called inside it: many short function spans
                for k in range(rng.randrange(8)):
                    hs = t + (k + 1) * d // 5
                    hname = "%s_step%d" % (name, k)
                    children.append(span(tid, hexid(rng, 8), sid, hname, 1, hs, hs + d // 6, [
                        kv_i("thread.id", tidn), kv_s("code.function.name", hname)]))
            fcount += 1
            t += d + 5000
            if name == "assemble_prompt":
                sid = hexid(rng, 8)
                call_start = t
                end = self.bedrock(tid, sid, t + 30000, tidn, children)
                if rng.random() < 0.1:
                    end = self.bedrock(tid, sid, end + 1000000, tidn, children)
                children.append(span(tid, sid, root, "call_bedrock", 1, call_start, end + 20000, [
                    kv_i("thread.id", tidn), kv_s("code.function.name", "call_bedrock")]))
                t = end + 25000
        err = "exception" if rng.random() < 0.004 else None
        out.append(span(tid, root, None, "handle_request", 1, start, t + 10000, [
            kv_i("thread.id", tidn), kv_s("code.function.name", "handle_request")], err))
        out.extend(children)

    def line(self):
        rng = self.rng
        pid, res = self.resources[rng.randrange(len(self.resources))]
        spans = []
        for _ in range(rng.randint(2, 8)):
            self.trace(pid + rng.randrange(8), spans)
        return ('{"resourceSpans":[{"resource":%s,"scopeSpans":[{"scope":{"name":"bedtrace",'
                '"version":"0.1.0"},"spans":[%s]}]}]}\n' % (res, ",".join(spans)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--bytes", type=int, default=1 << 20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hosts", type=int, default=6)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--lean", action="store_true")
    a = ap.parse_args()
    g = Gen(a.seed, a.hosts, a.lean)
    if a.out == "-":
        f = sys.stdout.buffer
    elif a.gzip:
        f = gzip.open(a.out, "wb", compresslevel=1)
    else:
        f = open(a.out, "wb", buffering=1 << 20)
    n = 0
    while n < a.bytes:
        b = g.line().encode()
        f.write(b)
        n += len(b)
    f.close()


if __name__ == "__main__":
    import benchcli  # noqa: E402
    benchcli.run(main, __doc__)
