#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Attach by PID to a client that is already running: a process is fully probed before its next
request. Each client is started idle (set up, TLS library mapped, nothing sent), then
`bedtrace -v -p PID` is started, and 0.5 s after bedtrace was started (not after it says ready)
the client is told to go: its first HTTPS request follows, then more. Every request must be
exactly one span. Clients: the Node AWS SDK v3 over HTTP/2 and Debian's boto3 (HTTP/1.1) against
the local Bedrock replay server, each request matched to its span by the SDK's invocation id the
server saw; a C program over libssl.so.3 (tests/data/targets/bt_https_client.c) against the local
TLS server, matched by request index in the path. bedtrace's "ready in X ms" is printed; only a
generous bound is asserted here (scripts/bench/attach_bench.py measures it).
Run as root: /usr/bin/python3 tests/integration/test_attach.py"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import (ROOT, TARGETS, _readline_timeout, check, check_eq, drop_lines,  # noqa: E402
                     make_certs, read_spans, run, start_bedtrace_logged, start_tls_server,
                     stop_process, test)
from bedrock_rig import NODE, PY, SharedServers, secret_env  # noqa: E402

CLIENTS = os.path.join(ROOT, "tests", "integration", "clients")
HTTPS_CLIENT = os.path.join(TARGETS, "bt_https_client")
CASSETTE = "test_converse_with_content"
MODEL = "amazon.titan-text-lite-v1"
GO_AFTER_S = 0.5  # from bedtrace's start to the client's first request
COUNT = 6  # requests per client
INTERVAL_MS = 100
READY_SANITY_MS = 2000  # machine noise aside, far above the goal; the benchmark measures it

WORK = None
SERVERS = SharedServers()


def replay():
    return SERVERS.replay()


def tls_server():
    return SERVERS.tls(WORK)


class Attached:
    """What one idle-client-then-attach run left: the client's output lines, bedtrace's spans
    and -v log, its "ready in" figure and when the go line was sent (wall clock, seconds)."""

    def __init__(self, lines, spans, log, ready_ms, go_wall):
        self.lines = lines
        self.spans = spans
        self.log = log
        self.ready_ms = ready_ms
        self.go_wall = go_wall


def attach_then_go(label, argv, env=None):
    """Starts @argv, which prints "waiting" and idles until a line on stdin; starts
    `bedtrace -v -p PID`; GO_AFTER_S after bedtrace's start sends the line; waits for the client
    and for bedtrace (it stops when its only target exits). Checks both exit 0 and nothing was
    dropped; returns an Attached."""
    out = os.path.join(WORK, label + ".jsonl")
    log = os.path.join(WORK, label + ".log")
    client_err = os.path.join(WORK, label + ".client.err")
    client = bt = None
    try:
        with open(client_err, "w") as errf:
            client = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=errf, env=env, text=True)
        first = _readline_timeout(client.stdout, 60).strip()
        check_eq(first, "waiting", "%s: first line (stderr: %s)" % (label, _read(client_err)))
        t0 = time.monotonic()
        bt = start_bedtrace_logged(["-v", "-p", str(client.pid)], out, log)
        time.sleep(max(0.0, t0 + GO_AFTER_S - time.monotonic()))
        go_wall = time.time()
        client.stdin.write("go\n")
        client.stdin.flush()  # communicate() closes it
        go_ms = (time.monotonic() - t0) * 1e3
        client_out, _ = client.communicate(timeout=60)
        check_eq(client.returncode, 0, "%s: client exit code (stderr: %s)" % (
            label, _read(client_err)))
        try:
            bt.wait(timeout=30)  # the only target exited
        except subprocess.TimeoutExpired:
            raise AssertionError("%s: bedtrace still runs 30 s after its only target exited"
                                 % label)
        err = _read(log)
        m = re.search(r"^.*ready in ([0-9.]+) ms.*$", err, re.M)
        print("  %s: go sent %.0f ms after bedtrace started; bedtrace -v: %s" % (
            label, go_ms, m.group(0).strip() if m else "(no ready line)"), flush=True)
        check_eq(bt.returncode, 0, "%s: bedtrace exit code (%s)" % (label, err[-1500:]))
        check(m, "%s: no 'ready in' line in bedtrace -v output: %s", label, err[-1500:])
        ready_ms = float(m.group(1))
        check(ready_ms < READY_SANITY_MS, "%s: ready in %.1f ms, over the sanity bound of %d ms",
              label, ready_ms, READY_SANITY_MS)
        check(not drop_lines(err), "%s: bedtrace reported drops: %s", label, drop_lines(err))
        check("nothing dropped" in err, "%s: no 'nothing dropped' at exit: %s", label,
              err[-1500:])
        lines = [ln for ln in client_out.splitlines() if ln.strip()]
        check_eq(len(lines), COUNT, "%s: client result lines" % label)
        spans = read_spans(out) if os.path.exists(out) else []
        return Attached(lines, spans, err, ready_ms, go_wall)
    finally:
        stop_process(client, signal.SIGKILL)
        stop_process(bt, signal.SIGINT)


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def http_spans(spans):
    return [s for s in spans if "http.request.method" in s.attrs]


def check_first_after_go(label, spans, go_wall):
    """The first request was sent after the go line: the test attached to an idle client."""
    first = min(s.start for s in spans) / 1e9
    check(first >= go_wall - 0.005, "%s: first span starts %.3f s before the go line", label,
          go_wall - first)


def check_clean(label, s, version):
    for k in ("bedtrace.capture.truncated", "bedtrace.capture.lost_bytes",
              "bedtrace.http.incomplete", "bedtrace.http.error", "error.type"):
        check(k not in s.attrs, "%s: span %s has %s = %r", label, s.name, k, s.attrs.get(k))
    check_eq(s.status, 0, "%s: span status UNSET" % label)
    check_eq(s.attrs.get("network.protocol.version"), version, "%s: protocol version" % label)
    check_eq(s.attrs.get("http.response.status_code"), 200, "%s: status" % label)


# ---- Bedrock SDK clients against the replay server ----

def bedrock_client(label, argv, version):
    srv = replay()
    srv.reset([CASSETTE])
    r = attach_then_go(label, argv, secret_env())
    seen = srv.requests()
    check_eq(len(seen), COUNT, "%s: requests the server saw" % label)
    ids = [q["headers"].get("amz-sdk-invocation-id") for q in seen]
    check(all(ids) and len(set(ids)) == COUNT, "%s: invocation ids on the wire: %r", label, ids)
    spans = [s for s in r.spans
             if s.kind == 3 and s.attrs.get("gen_ai.provider.name") == "aws.bedrock"]
    got = sorted(s.attrs.get("aws.sdk.invocation_id") or "" for s in spans)
    missing = [i for i, v in enumerate(ids) if v not in got]
    check(not missing and len(spans) == COUNT,
          "%s: %d Bedrock span(s) for %d requests; requests without a span (0 = first, sent "
          "%.2f s after bedtrace started, which said ready in %.1f ms): %s; spans: %r", label,
          len(spans), COUNT, GO_AFTER_S, r.ready_ms, missing, r.spans)
    check_eq(len(r.spans), COUNT, "%s: spans in all (only the Bedrock calls)" % label)
    check_first_after_go(label, spans, r.go_wall)
    request_ids = sorted(json.loads(ln)["requestId"] for ln in r.lines)
    check_eq(sorted(s.attrs.get("aws.request_id") for s in spans), request_ids,
             "%s: aws.request_id of the spans" % label)
    for s in spans:
        check_clean(label, s, version)
        check_eq(s.name, "chat " + MODEL, "%s: span name" % label)
        check_eq(s.attrs.get("gen_ai.request.model"), MODEL, "%s: model" % label)
        check_eq(s.attrs.get("server.port"), srv.port, "%s: server.port" % label)
        check(isinstance(s.attrs.get("gen_ai.usage.output_tokens"), int),
              "%s: no output tokens: %r", label, s.attrs)
    check_eq(len({s.resource.get("process.pid") for s in spans}), 1, "%s: one process" % label)


@test
def node_sdk_http2_attached_before_first_request():
    srv = replay()
    bedrock_client("node-h2", [NODE, os.path.join(CLIENTS, "idle_converse.js"), "--endpoint",
                               srv.endpoint, "--ca", srv.ca, "--model", MODEL, "--count",
                               str(COUNT), "--interval-ms", str(INTERVAL_MS)], "2")


@test
def python_boto3_attached_before_first_request():
    srv = replay()
    bedrock_client("boto3", [PY, os.path.join(CLIENTS, "idle_converse.py"), "--endpoint",
                             srv.endpoint, "--ca", srv.ca, "--model", MODEL, "--count",
                             str(COUNT), "--interval-ms", str(INTERVAL_MS)], "1.1")


# ---- a C program over libssl.so.3 against the TLS server ----

@test
def c_openssl_attached_before_first_request():
    _, port, ca = tls_server()
    r = attach_then_go("c-openssl", [HTTPS_CLIENT, ca, str(port), str(COUNT), "1024",
                                     str(INTERVAL_MS)])
    base = "https://127.0.0.1:%d" % port
    hs = http_spans(r.spans)
    got = [s.attrs.get("url.full") for s in hs]
    missing = [i for i in range(COUNT) if base + "/bytes/1024?i=%d" % i not in got]
    check(not missing and len(hs) == COUNT,
          "c-openssl: %d HTTP span(s) for %d requests; request indices without a span (0 = "
          "first, sent %.2f s after bedtrace started, which said ready in %.1f ms): %s; spans: %r",
          len(hs), COUNT, GO_AFTER_S, r.ready_ms, missing, r.spans)
    check_eq(len(r.spans), COUNT, "c-openssl: spans in all")
    check_first_after_go("c-openssl", hs, r.go_wall)
    for s in hs:
        check_clean("c-openssl", s, "1.1")
        check_eq(s.kind, 3, "c-openssl: kind CLIENT")
        check_eq(s.attrs.get("http.response.body.size"), 1024, "c-openssl: response body size")
        check_eq(s.resource.get("process.executable.path"), HTTPS_CLIENT, "executable")


def main():
    global WORK
    if os.geteuid() != 0:
        print("integration tests need root")
        sys.exit(1)
    WORK = tempfile.mkdtemp(prefix="bt-attach-")
    try:
        run()
    finally:
        SERVERS.stop()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
