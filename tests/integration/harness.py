# SPDX-License-Identifier: MIT
"""Integration-test support: run ./bedtrace for real, read its OTLP JSON output, report results.

Each test module registers functions with @test; run() executes them in order and prints
"ok NAME" or "not ok NAME" plus the reason, which scripts/run-tests.sh counts.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BEDTRACE = os.path.join(ROOT, "bedtrace")
TARGETS = os.path.join(ROOT, "tests", "data", "targets", "out")
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))

_tests = []


def test(fn):
    _tests.append(fn)
    return fn


class Span:
    def __init__(self, raw, resource):
        self.raw = raw
        self.name = raw["name"]
        self.trace_id = raw["traceId"]
        self.span_id = raw["spanId"]
        self.parent_id = raw.get("parentSpanId", "")
        self.kind = raw["kind"]
        self.start = int(raw["startTimeUnixNano"])
        self.end = int(raw["endTimeUnixNano"])
        self.status = raw.get("status", {}).get("code", 0)
        self.status_message = raw.get("status", {}).get("message", "")
        self.attrs = {a["key"]: _value(a["value"]) for a in raw.get("attributes", [])}
        self.events = raw.get("events", [])
        self.resource = resource

    @property
    def duration_ms(self):
        return (self.end - self.start) / 1e6

    def __repr__(self):
        return "Span(%s %s<-%s %s)" % (self.name, self.span_id, self.parent_id or "-", self.attrs)


def _value(v):
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        assert isinstance(v["intValue"], str), "int64 must be encoded as a string"
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return v["boolValue"]
    if "arrayValue" in v:
        return [_value(x) for x in v["arrayValue"].get("values", [])]
    return None


def read_spans(path):
    spans = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            req = json.loads(line)
            for rs in req["resourceSpans"]:
                res = {a["key"]: _value(a["value"]) for a in rs["resource"].get("attributes", [])}
                for ss in rs["scopeSpans"]:
                    for s in ss["spans"]:
                        spans.append(Span(s, res))
    return spans


def run_bedtrace(args, timeout=60, env=None, stdin=None):
    """Runs bedtrace to completion with output in a temp file; returns (rc, spans, stderr)."""
    fd, out = tempfile.mkstemp(prefix="bt-", suffix=".jsonl")
    os.close(fd)
    os.unlink(out)
    try:
        p = subprocess.run([BEDTRACE, "-o", out] + args, capture_output=True, text=True,
                           timeout=timeout, env=env, stdin=stdin)
        spans = read_spans(out) if os.path.exists(out) else []
        if os.path.exists(out):
            mode = os.stat(out).st_mode & 0o777
            assert mode == 0o600, "output file mode %o, want 600" % mode
        return p.returncode, spans, p.stderr + p.stdout
    finally:
        if os.path.exists(out):
            os.unlink(out)


def start_bedtrace(args, out):
    """Starts bedtrace in the background writing to @out; returns the Popen."""
    return subprocess.Popen([BEDTRACE, "-o", out] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(pred, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def by_name(spans, name):
    return [s for s in spans if s.name == name]


def one(spans, name):
    found = by_name(spans, name)
    assert len(found) == 1, "want exactly one %r span, got %d: %r" % (name, len(found), spans)
    return found[0]


def check(cond, msg, *args):
    if not cond:
        raise AssertionError(msg % args if args else msg)


def check_eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def run():
    if os.geteuid() != 0:
        print("integration tests need root")
        sys.exit(1)
    failed = 0
    for fn in _tests:
        t0 = time.time()
        try:
            fn()
            print("ok %s (%.1fs)" % (fn.__name__, time.time() - t0), flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported, the run goes on
            failed += 1
            print("not ok %s" % fn.__name__, flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
    sys.exit(1 if failed else 0)
