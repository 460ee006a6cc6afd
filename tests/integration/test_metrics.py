# SPDX-License-Identifier: MIT
"""Metrics and inference logs from a real bedtrace tracing real processes, read the way users
read them: a real Prometheus (Debian's, started on 127.0.0.1 with a 1 s scrape) querying
bedtrace's --prometheus endpoint over its HTTP API, the --metrics-output / --logs-output OTLP
JSON Lines files, and OTLP/HTTP /v1/metrics and /v1/logs at a local receiver.

Every figure is checked against the spans the same bedtrace exported with -o: per-function
counts, token sums and cost; a function that sleeps a known time must land in the right
latency bucket; every log record must point at an exported span."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from bedrock_rig import (CASSETTES, ReplayServer, cassette_name, client_argv, secret_env)
from harness import (BEDTRACE, TARGETS, _value, check, check_eq, read_spans, run, stop_process,
                     test, wait_for)
from otlp_receiver import Receiver
from prom_rig import Prometheus, free_port

TARGET = os.path.join(TARGETS, "bt_target")

# Bedrock calls with token counts and prices: plain, streamed, and another model family
MODEL_CASSETTES = [
    "test_converse_with_content",
    "test_converse_stream_with_content",
    "test_invoke_model_with_content[anthropic.claude]",
    "test_invoke_model_with_response_stream_with_content[anthropic.claude]",
]


def metric_points(path, name):
    """(resource attrs, data point) of metric @name in the LAST line of an OTLP metrics file
    (cumulative: the last line holds the totals)."""
    with open(path) as f:
        lines = [l for l in f if l.strip()]
    check(lines, "no metrics line in %s", path)
    for l in lines:
        check(l.endswith("\n"), "incomplete metrics line")
    req = json.loads(lines[-1])
    out = []
    for rm in req["resourceMetrics"]:
        res = {a["key"]: _value(a["value"]) for a in rm["resource"]["attributes"]}
        for sm in rm["scopeMetrics"]:
            for m in sm["metrics"]:
                if m["name"] != name:
                    continue
                for kind in ("sum", "gauge", "histogram"):
                    for dp in m.get(kind, {}).get("dataPoints", []):
                        out.append((res, dp, m))
    return out


def attrs_of(dp):
    return {a["key"]: _value(a["value"]) for a in dp.get("attributes", [])}


def read_logs(path):
    records = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            for rl in json.loads(line)["resourceLogs"]:
                for sl in rl["scopeLogs"]:
                    records.extend(sl["logRecords"])
    return records


def bedrock_spans(spans):
    return [s for s in spans if s.attrs.get("gen_ai.provider.name") == "aws.bedrock"
            and "http.request.method" in s.attrs]


class Workdir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="bt-metrics-")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)

    def __call__(self, name):
        return os.path.join(self.path, name)


def client_script(srv, names, hold_s):
    """One shell command running the boto3 client over each cassette, then staying alive
    @hold_s seconds so that Prometheus scrapes what bedtrace aggregated."""
    parts = []
    for n in names:
        argv = client_argv("boto3", srv, os.path.join(CASSETTES, n + ".yaml"))
        parts.append(" ".join("'%s'" % a for a in argv) + " >/dev/null")
    parts.append("sleep %d" % hold_s)
    return ["/bin/sh", "-c", "; ".join(parts)]


@test
def prometheus_function_latency_matches_the_spans():
    port = free_port()
    with Workdir() as wd, Prometheus(["127.0.0.1:%d" % port]) as prom:
        out = wd("spans.jsonl")
        # 20 calls of nap(30 ms), then 6 s more alive: Prometheus scrapes every second
        p = subprocess.Popen([BEDTRACE, "-o", out, "--prometheus", str(port), "-f", "nap",
                              "--", TARGET, "naps", "20", "30", "6"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            prom.wait_healthy(timeout=20)
            got = prom.wait_value(
                'bedtrace_function_duration_seconds_count{code_function_name="nap"}',
                lambda v: v == 20, timeout=20)
            check_eq(got, 20, "nap calls counted by Prometheus")
            q50 = prom.value('histogram_quantile(0.5, '
                             'bedtrace_function_duration_seconds_bucket{code_function_name="nap"})')
            # 30 ms calls: the (25 ms, 50 ms] bucket
            check(q50 is not None and 0.025 < q50 <= 0.05, "median nap latency %r", q50)
            total = prom.value('bedtrace_function_duration_seconds_sum{code_function_name="nap"}')
            check(0.6 <= total < 1.2, "sum of 20 naps of 30 ms: %r", total)
            up = prom.value('up{job="bedtrace"}')
            check_eq(up, 1, "bedtrace target up")
            _, err = p.communicate(timeout=60)
        finally:
            stop_process(p)
        check_eq(p.returncode, 0, "bedtrace exit code (stderr: %s)" % err[-2000:])
        spans = [s for s in read_spans(out) if s.name == "nap"]
        check_eq(len(spans), 20, "nap spans exported")
        check_eq(got, len(spans), "Prometheus count == exported spans")


@test
def prometheus_tokens_and_cost_match_the_bedrock_spans():
    port = free_port()
    with Workdir() as wd, ReplayServer(frame_delay_ms=5) as srv, \
            Prometheus(["127.0.0.1:%d" % port]) as prom:
        srv.reset(MODEL_CASSETTES)
        out = wd("spans.jsonl")
        env = secret_env()
        p = subprocess.Popen([BEDTRACE, "-o", out, "--prometheus", "127.0.0.1:%d" % port,
                              "--"] + client_script(srv, MODEL_CASSETTES, 8),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            prom.wait_healthy(timeout=20)
            n = prom.wait_value('sum(gen_ai_client_operation_duration_seconds_count)',
                                lambda v: v == len(MODEL_CASSETTES), timeout=60)
            check_eq(n, len(MODEL_CASSETTES), "model calls counted by Prometheus")
            tokens = {}
            for kind in ("input", "output"):
                tokens[kind] = prom.value(
                    'sum(gen_ai_client_token_usage_sum{gen_ai_token_type="%s"})' % kind)
            cost = prom.value("sum(bedtrace_gen_ai_cost_USD_total)")
            streams = prom.value("sum(gen_ai_client_operation_time_to_first_chunk_seconds_count)")
            p95 = prom.query("histogram_quantile(0.95, sum by (le, gen_ai_request_model) "
                             "(gen_ai_client_operation_duration_seconds_bucket))")
            _, err = p.communicate(timeout=60)
        finally:
            stop_process(p)
        check_eq(p.returncode, 0, "bedrock run exit code (stderr: %s)" % err[-2000:])
        calls = bedrock_spans(read_spans(out))
        check_eq(len(calls), len(MODEL_CASSETTES), "Bedrock spans exported")
        check_eq(tokens["input"], sum(s.attrs["gen_ai.usage.input_tokens"] for s in calls),
                 "input tokens: Prometheus vs spans")
        check_eq(tokens["output"], sum(s.attrs["gen_ai.usage.output_tokens"] for s in calls),
                 "output tokens: Prometheus vs spans")
        want_cost = sum(s.attrs.get("bedtrace.cost.usd", 0) for s in calls)
        check(want_cost > 0, "the spans carry a cost")
        check(abs(cost - want_cost) < 1e-9, "cost: Prometheus %r vs spans %r", cost, want_cost)
        check_eq(streams, sum(1 for s in calls if "gen_ai.response.time_to_first_chunk"
                              in s.attrs), "streams with a time to first chunk")
        check(streams >= 2, "both streamed calls timed their first chunk")
        models = {s.attrs["gen_ai.request.model"] for s in calls}
        check_eq({r["metric"]["gen_ai_request_model"] for r in p95}, models, "p95 per model")
        check(all(float(r["value"][1]) > 0 for r in p95), "p95 per model: %r", p95)


@test
def metrics_and_logs_files_agree_with_the_spans():
    # streamed answers: one event-stream frame every 20 ms
    with Workdir() as wd, ReplayServer(frame_delay_ms=20) as srv:
        srv.reset(MODEL_CASSETTES)
        out, mout, lout = wd("spans.jsonl"), wd("metrics.jsonl"), wd("logs.jsonl")
        env = secret_env()
        p = subprocess.run([BEDTRACE, "-o", out, "--metrics-output", mout, "--logs-output", lout,
                            "--metrics-interval", "0.5", "--"] +
                           client_script(srv, MODEL_CASSETTES, 1),
                           capture_output=True, text=True, env=env, timeout=120)
        check_eq(p.returncode, 0, "exit code (stderr: %s)" % p.stderr[-2000:])
        for path in (mout, lout):
            check_eq(os.stat(path).st_mode & 0o777, 0o600, "%s mode" % path)
        spans = read_spans(out)
        calls = bedrock_spans(spans)
        check_eq(len(calls), len(MODEL_CASSETTES), "Bedrock spans")
        by_id = {(s.trace_id, s.span_id): s for s in spans}

        records = read_logs(lout)
        check_eq(len(records), len(calls), "one log record per model call")
        for r in records:
            check_eq(r["eventName"], "gen_ai.client.inference.operation.details", "event name")
            s = by_id.get((r["traceId"], r["spanId"]))
            check(s is not None, "log record %s/%s links to no exported span", r["traceId"],
                  r["spanId"])
            a = attrs_of(r)
            for key in ("gen_ai.request.model", "gen_ai.operation.name", "aws.request_id",
                        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                        "gen_ai.request.stream"):
                check_eq(a.get(key), s.attrs.get(key), "log %s" % key)
            check(abs(a["bedtrace.duration"] - (s.end - s.start) / 1e9) < 1e-6, "log duration")
            check_eq(int(r["timeUnixNano"]), s.end, "log time = end of the call")
            # prompts only with --capture-content
            check("gen_ai.input.messages" not in a, "content in a log without --capture-content")

        tok = metric_points(mout, "gen_ai.client.token.usage")
        for kind, key in (("input", "gen_ai.usage.input_tokens"),
                          ("output", "gen_ai.usage.output_tokens")):
            got = sum(dp["sum"] for _, dp, _ in tok if attrs_of(dp)["gen_ai.token.type"] == kind)
            check_eq(got, sum(s.attrs[key] for s in calls), "%s tokens in the metrics file" % kind)
        cost = sum(dp["asDouble"] for _, dp, _ in metric_points(mout, "bedtrace.gen_ai.cost"))
        want = sum(s.attrs.get("bedtrace.cost.usd", 0) for s in calls)
        check(abs(cost - want) < 1e-9, "cost in the metrics file %r vs spans %r", cost, want)
        dur = metric_points(mout, "gen_ai.client.operation.duration")
        check_eq(sum(int(dp["count"]) for _, dp, _ in dur), len(calls), "operation count")
        for res, dp, m in dur:
            check_eq(m["histogram"]["aggregationTemporality"], 2, "cumulative by default")
            check("process.pid" not in res, "metric resource without process.pid")
            check(res.get("service.name"), "metric resource names the service")
            check_eq(attrs_of(dp)["gen_ai.provider.name"], "aws.bedrock", "provider attribute")
        streamed = [s for s in calls if s.attrs.get("gen_ai.request.stream")]
        check_eq(len(streamed), 2, "gen_ai.request.stream on the streamed calls")
        gaps = metric_points(mout, "gen_ai.client.operation.time_per_output_chunk")
        n_gaps = sum(int(dp["count"]) for _, dp, _ in gaps)
        check(n_gaps >= 5, "time per output chunk: %d gaps", n_gaps)
        mean = sum(dp["sum"] for _, dp, _ in gaps) / n_gaps
        check(0.012 < mean < 0.2, "mean time per output chunk %.4f s, frames 20 ms apart", mean)
        health = metric_points(mout, "bedtrace.export.items")
        traces = [dp for _, dp, _ in health if attrs_of(dp).get("bedtrace.signal") == "traces"]
        check_eq(sum(int(dp["asInt"]) for dp in traces), len(spans), "spans exported, counted")


def run_over_otlp(wd, srv, rcv):
    srv.reset(MODEL_CASSETTES[:2])
    out = wd("spans.jsonl")
    env = secret_env(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="delta",
                     OTEL_METRIC_EXPORT_INTERVAL="500")
    p = subprocess.run([BEDTRACE, "-o", out, "--otlp-endpoint", rcv.url, "--"] +
                       client_script(srv, MODEL_CASSETTES[:2], 1),
                       capture_output=True, text=True, env=env, timeout=120)
    check_eq(p.returncode, 0, "exit code (stderr: %s)" % p.stderr[-2000:])
    spans = read_spans(out)
    calls = bedrock_spans(spans)
    check_eq(len(calls), 2, "Bedrock spans")
    logs = rcv.accepted_log_records()
    check_eq(sorted((r["traceId"], r["spanId"]) for r in logs),
             sorted((s.trace_id, s.span_id) for s in calls), "log records over OTLP/HTTP")
    points = rcv.accepted_data_points()
    check(points, "data points over OTLP/HTTP")
    ops = [dp for name, dp in points if name == "gen_ai.client.operation.duration"]
    # delta: each interval reports only its own calls, so the counts add up to the total
    check_eq(sum(int(dp["count"]) for dp in ops), 2, "delta operation counts summed")
    for r in rcv.accepted("metrics"):
        for rm in r.json["resourceMetrics"]:
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    for kind in ("sum", "histogram"):
                        if kind in m:
                            check_eq(m[kind]["aggregationTemporality"], 1, "delta")


@test
def otlp_http_carries_metrics_and_logs_with_delta_temporality():
    rcv = Receiver()
    rcv.start()
    try:
        with Workdir() as wd, ReplayServer(frame_delay_ms=5) as srv:
            run_over_otlp(wd, srv, rcv)
    finally:
        rcv.stop()


@test
def prometheus_address_errors_are_one_line():
    for bad in ("notaport", "127.0.0.1:0", "70000", "1.2.3.4.5:80"):
        p = subprocess.run([BEDTRACE, "--prometheus", bad, "-f", "nap", "--", TARGET, "naps",
                            "1", "1"], capture_output=True, text=True, timeout=30)
        check_eq(p.returncode, 2, "exit status of --prometheus %s (an invalid command line)" % bad)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        check(len(lines) <= 2 and "prometheus" in p.stderr, "--prometheus %s: %r", bad, p.stderr)
    # a port someone else holds: said at start, nothing traced
    port = free_port()
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    try:
        p = subprocess.run([BEDTRACE, "--prometheus", str(port), "-f", "nap", "--", TARGET,
                            "naps", "1", "1"], capture_output=True, text=True, timeout=30)
    finally:
        s.close()
    check(p.returncode != 0, "a port in use accepted")
    check("in use" in p.stderr, "port in use named: %r", p.stderr)


if __name__ == "__main__":
    run()
