#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of `bedtrace report` on the output of a real traced run: the demo app
(scripts/demo/app.c: handle_request > retrieve_documents, assemble_prompt, call_bedrock > a
Converse call, postprocess) against the local Bedrock replay server, traced by ./bedtrace.

The report itself needs no root; the capture does. Files of several hosts are copies of that
capture with the resource's host.name (and the trace ids, so traces stay apart) rewritten; a
slower release is a copy with every span's duration and offset scaled by 1.5.

    python3 tests/integration/test_report.py [-k NAME]
"""
import copy
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BEDTRACE, ROOT, check, check_eq, read_spans, run, test  # noqa: E402
from bedrock_rig import ReplayServer, run_traced, secret_env  # noqa: E402

REQUESTS = 6  # and one streamed request: the demo app's last
FUNCS = ["handle_request", "retrieve_documents", "assemble_prompt", "call_bedrock",
         "postprocess"]

# the JSON contract (README "bedtrace report"): tests, scripts and users' tools read these
TOP_KEYS = {"spans", "traces", "hosts", "services", "operations", "models", "slowest_traces",
            "findings", "regressions"}
OP_KEYS = {"service", "kind", "name", "count", "errors", "p50_ms", "p90_ms", "p99_ms", "max_ms",
           "mean_ms", "total_ms", "self_ms"}
MODEL_KEYS = {"model", "operation", "calls", "errors", "throttles", "retries", "input_tokens",
              "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
              "cost_usd", "p50_ms", "p99_ms", "ttfc_p50_ms", "ttfc_p99_ms"}
SLOW_KEYS = {"trace_id", "root", "service", "duration_ms", "critical_path"}
FINDING_KEYS = {"kind", "count", "trace_ids"}
REGRESSION_KEYS = {"service", "kind", "name", "baseline_p50_ms", "p50_ms", "baseline_p99_ms",
                   "p99_ms", "p50_ratio", "p50_ratio_ci", "significant"}

_work = None


def work():
    """A directory for this run's files, with the demo capture in it (made once)."""
    global _work
    if _work:
        return _work
    _work = tempfile.mkdtemp(prefix="bt-report-")
    subprocess.run(["make", "--no-print-directory", "-C", os.path.join(ROOT, "scripts", "demo")],
                   check=True, capture_output=True, timeout=120)
    with ReplayServer(frame_delay_ms=10, latency_ms=20) as srv:
        srv.reset(["test_converse_with_content", "test_converse_stream_with_content"])
        bt_args = []
        for f in FUNCS:
            bt_args += ["-f", f]
        r = run_traced([os.path.join(ROOT, "scripts", "demo", "out", "demo-app"), "--endpoint",
                        srv.endpoint, "--cacert", srv.ca, "--requests", str(REQUESTS)],
                       secret_env(), bt_args, srv=srv)
    check(r.rc == 0 and r.raw, "the traced demo failed:\n%s", r.describe())
    with open(path("run.jsonl"), "wb") as f:
        f.write(r.raw)
    check(len({s.trace_id for s in r.spans}) >= REQUESTS, "too few traces in the capture")
    return _work


def path(name):
    return os.path.join(_work or work(), name)


def report(*args, stdin=None, expect=0):
    """Runs ./bedtrace report ARGS; returns (stdout, stderr), checking the exit status."""
    p = subprocess.run([BEDTRACE, "report"] + list(args), capture_output=True, text=True,
                       timeout=120, input=stdin)
    check(p.returncode == expect, "bedtrace report %s: exit %d, want %d\nstderr: %s",
          " ".join(args), p.returncode, expect, p.stderr[-3000:])
    return p.stdout, p.stderr


def report_json(*args, stdin=None):
    out, _ = report("--format", "json", *args, stdin=stdin)
    try:
        return json.loads(out)
    except ValueError as e:
        raise AssertionError("--format json is not JSON (%s): %s" % (e, out[:2000]))


def requests_of(p):
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_requests(p, reqs):
    with open(p, "w") as f:
        for r in reqs:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")


def rewrite(reqs, host=None, trace_byte=None, scale=None, version=None):
    """A copy of @reqs with host.name = @host, service.version = @version, the first
    trace-id byte set to @trace_byte, and every span's offset from its trace's start and
    duration scaled by @scale."""
    reqs = copy.deepcopy(reqs)
    starts = {}
    if scale:
        for r in reqs:
            for rs in r["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for s in ss["spans"]:
                        t = s["traceId"]
                        starts[t] = min(starts.get(t, 1 << 64), int(s["startTimeUnixNano"]))
    for r in reqs:
        for rs in r["resourceSpans"]:
            for key, val in (("host.name", host), ("service.version", version)):
                if val:
                    attrs = rs.setdefault("resource", {}).setdefault("attributes", [])
                    attrs[:] = [a for a in attrs if a["key"] != key]
                    attrs.append({"key": key, "value": {"stringValue": val}})
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    if scale:
                        t0 = starts[s["traceId"]]
                        st, en = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
                        s["startTimeUnixNano"] = str(t0 + int((st - t0) * scale))
                        s["endTimeUnixNano"] = str(t0 + int((en - t0) * scale))
                    if trace_byte is not None:
                        s["traceId"] = "%02x" % trace_byte + s["traceId"][2:]
    return reqs


def spans_of(p):
    return read_spans(p)


def ops_by(rep, **match):
    return [o for o in rep["operations"] if all(o.get(k) == v for k, v in match.items())]


@test
def test_report_counts_equal_the_capture():
    run_file = path("run.jsonl")
    spans = spans_of(run_file)
    rep = report_json(run_file)
    check_eq(rep["spans"], len(spans), "spans")
    check_eq(rep["traces"], len({s.trace_id for s in spans}), "traces")
    check_eq(sorted(rep["services"]), sorted({s.resource.get("service.name") for s in spans}),
             "services")
    check_eq(sorted(rep["hosts"]), sorted({s.resource.get("host.name") for s in spans}), "hosts")
    # every span is in one operation row
    check_eq(sum(o["count"] for o in rep["operations"]), len(spans), "operation counts")
    for name in FUNCS:
        want = sum(1 for s in spans if s.name == name)
        rows = ops_by(rep, name=name)
        check_eq(sum(o["count"] for o in rows), want, "count of " + name)
        for o in rows:
            check_eq(o["kind"], "internal", name + " kind")
            check(o["p50_ms"] <= o["p90_ms"] <= o["p99_ms"] <= o["max_ms"] + 1e-9,
                  "percentiles out of order: %r", o)
            check(o["self_ms"] <= o["total_ms"] + 1e-6, "self above total: %r", o)
    for o in rep["operations"]:
        check(o["kind"] in ("internal", "client", "server"), "kind %r", o["kind"])
    # handle_request is the root of every request: its max is the slowest trace's duration
    hr = ops_by(rep, name="handle_request")[0]
    want_max = max(s.duration_ms for s in spans if s.name == "handle_request")
    check(abs(hr["max_ms"] - want_max) < 0.01, "handle_request max %r, want %r", hr["max_ms"],
          want_max)
    # models: one row per (model, operation), tokens equal the sums over the model calls
    calls = defaultdict(list)
    for s in spans:
        if "gen_ai.request.model" in s.attrs:
            calls[(s.attrs["gen_ai.request.model"], s.attrs.get("gen_ai.operation.name"))].append(s)
    check(calls, "no model call in the capture")
    check_eq(len(rep["models"]), len(calls), "model rows")
    for m in rep["models"]:
        mine = calls[(m["model"], m["operation"])]
        check_eq(m["calls"], len(mine), "calls of %s" % m["model"])
        check_eq(m["input_tokens"], sum(s.attrs.get("gen_ai.usage.input_tokens", 0)
                                        for s in mine), "input tokens")
        check_eq(m["output_tokens"], sum(s.attrs.get("gen_ai.usage.output_tokens", 0)
                                         for s in mine), "output tokens")
        costs = [s.attrs["bedtrace.cost.usd"] for s in mine if "bedtrace.cost.usd" in s.attrs]
        if costs:
            check(abs(m["cost_usd"] - sum(costs)) < 1e-9, "cost %r, want %r", m["cost_usd"],
                  sum(costs))
        else:
            check(m.get("cost_usd") is None, "a cost made up: %r", m)
    # the slowest traces lead with the slowest, their critical path starts at the root
    slow = rep["slowest_traces"]
    check(slow, "no slowest traces")
    check_eq(slow[0]["root"], "handle_request", "slowest root")
    check_eq(slow[0]["critical_path"][0], "handle_request", "critical path root")
    check(abs(slow[0]["duration_ms"] - want_max) < 0.01, "slowest %r", slow[0])
    # the text report prints the same audit
    out, _ = report(run_file)
    check("%d spans, %d traces" % (len(spans), rep["traces"]) in out, "summary: %s", out[:300])
    for title in ("Operations", "Models", "Slowest traces", "Findings"):
        check("\n" + title in out, "no %s table in:\n%s", title, out)
    check("handle_request > " in out, "no critical path in:\n%s", out)


@test
def test_report_json_contract_keys():
    rep = report_json(path("run.jsonl"))
    check(TOP_KEYS <= set(rep), "top-level keys missing: %s", TOP_KEYS - set(rep))
    for o in rep["operations"]:
        check(OP_KEYS <= set(o), "operation keys missing: %s", OP_KEYS - set(o))
    for m in rep["models"]:
        check(MODEL_KEYS <= set(m), "model keys missing: %s", MODEL_KEYS - set(m))
    for t in rep["slowest_traces"]:
        check(SLOW_KEYS <= set(t), "slowest trace keys missing: %s", SLOW_KEYS - set(t))
        check(len(t["trace_id"]) == 32, "trace id %r", t["trace_id"])
    for f in rep["findings"]:
        check(FINDING_KEYS <= set(f), "finding keys missing: %s", FINDING_KEYS - set(f))
    check_eq(rep["regressions"], [], "regressions without a baseline")
    base = report_json("--baseline", path("run.jsonl"), path("run.jsonl"))
    check(base["regressions"], "no regression rows with a baseline")
    for g in base["regressions"]:
        check(REGRESSION_KEYS <= set(g), "regression keys missing: %s", REGRESSION_KEYS - set(g))
        check(g["p50_ratio_ci"] is None or len(g["p50_ratio_ci"]) == 2, "ci %r",
              g["p50_ratio_ci"])


def host_files():
    reqs = requests_of(path("run.jsonl"))
    files = []
    for i, host in enumerate(("host-a", "host-b", "host-c")):
        p = path("%s.jsonl" % host)
        write_requests(p, rewrite(reqs, host=host, trace_byte=0x10 + i,
                                  version="2.0" if host == "host-c" else "1.0"))
        files.append(p)
    return files


@test
def test_report_several_hosts():
    files = host_files()
    one = report_json(path("run.jsonl"))
    rep = report_json("--by", "host", *files)
    check_eq(rep["hosts"], ["host-a", "host-b", "host-c"], "hosts")
    check_eq(rep["spans"], 3 * one["spans"], "spans of three hosts")
    check_eq(rep["traces"], 3 * one["traces"], "traces of three hosts")
    n_hr = sum(o["count"] for o in ops_by(one, name="handle_request"))
    for host in ("host-a", "host-b", "host-c"):
        rows = ops_by(rep, name="handle_request", host=host)
        check(rows, "no handle_request row for %s: %r", host, rep["operations"][:3])
        check_eq(sum(o["count"] for o in rows), n_hr, "handle_request on " + host)
    # a host's row has the same durations as the one capture it copies
    a = ops_by(rep, name="handle_request", host="host-a")[0]
    b = ops_by(one, name="handle_request")[0]
    check(abs(a["p50_ms"] - b["p50_ms"]) < 1e-6, "p50 %r vs %r", a, b)
    out, _ = report("--by", "host", *files)
    check("host-b" in out, "no host column in the text report")
    # an attribute of the resource as a --by key, with a second key
    ver = report_json("--by", "service.version,host", *files)
    check_eq(ver["by"], ["service.version", "host"], "by keys")
    for v, hosts in (("1.0", 2), ("2.0", 1)):
        rows = ops_by(ver, name="handle_request", **{"service.version": v})
        check_eq(sum(o["count"] for o in rows), hosts * n_hr, "handle_request of version " + v)
        check_eq(len(rows), hosts, "rows of version %s (one per host)" % v)
    # the fleet's files concatenated give the same report
    cat = path("all-hosts.jsonl")
    with open(cat, "wb") as w:
        for p in files:
            with open(p, "rb") as r:
                shutil.copyfileobj(r, w)
    check_eq(report_json("--by", "host", cat), rep, "the report of the concatenation")


@test
def test_report_baseline():
    reqs = requests_of(path("run.jsonl"))
    # more traces for the bootstrap: five copies of the capture (trace ids apart)
    base, slow = [], []
    for i in range(5):
        base += rewrite(reqs, trace_byte=0x20 + i)
        slow += rewrite(reqs, trace_byte=0x20 + i, scale=1.5)
    write_requests(path("base.jsonl"), base)
    write_requests(path("slow.jsonl"), slow)
    rep = report_json("--baseline", path("base.jsonl"), path("slow.jsonl"))
    rows = [g for g in rep["regressions"] if g["name"] == "handle_request"]
    check(rows, "no handle_request regression row: %r", rep["regressions"])
    g = rows[0]
    check(1.45 <= g["p50_ratio"] <= 1.55, "p50 ratio %r, want 1.5", g["p50_ratio"])
    check(g["significant"] is True, "a 50%% slowdown is not significant: %r", g)
    check(g["p50_ratio_ci"][0] > 1.0, "ci %r", g["p50_ratio_ci"])
    check(g["p50_ms"] > g["baseline_p50_ms"], "p50 %r", g)
    out, _ = report("--baseline", path("base.jsonl"), path("slow.jsonl"))
    check("\nRegressions" in out, "no regressions table:\n%s", out)
    # the same capture against itself: nothing significant
    same = report_json("--baseline", path("base.jsonl"), path("base.jsonl"))
    check(same["regressions"], "no regression rows")
    for g in same["regressions"]:
        check(g["significant"] is False, "significant against itself: %r", g)
        if g["p50_ratio"] is not None:
            check(abs(g["p50_ratio"] - 1.0) < 1e-9, "ratio against itself %r", g)


def expected_tree(spans, trace_id):
    """[(depth, name)] of @trace_id in print order: roots then children, each by start."""
    mine = [s for s in spans if s.trace_id == trace_id]
    ids = {s.span_id for s in mine}
    kids = defaultdict(list)
    roots = []
    for s in mine:
        (kids[s.parent_id] if s.parent_id in ids else roots).append(s)
    rows = []

    def walk(s, d):
        rows.append((d, s.name))
        for c in sorted(kids[s.span_id], key=lambda x: x.start):
            walk(c, d + 1)

    for r in sorted(roots, key=lambda x: x.start):
        walk(r, 0)
    return rows


@test
def test_report_traces_and_trace():
    run_file = path("run.jsonl")
    spans = spans_of(run_file)
    traces = defaultdict(list)
    for s in spans:
        traces[s.trace_id].append(s)
    dur = {t: (max(s.end for s in v) - min(s.start for s in v)) / 1e6 for t, v in traces.items()}
    out, _ = report("--traces", run_file)
    lines = out.splitlines()
    check(lines[0].split()[:3] == ["TRACE", "START", "ROOT"], "header %r", lines[0])
    listed = [ln.split()[0] for ln in lines[1:-1]]
    check_eq(sorted(listed), sorted(traces), "listed traces")
    check("%d of %d matching traces" % (len(traces), len(traces)) in lines[-1], lines[-1])
    # sorted by start by default
    starts = {t: min(s.start for s in v) for t, v in traces.items()}
    check_eq(listed, sorted(traces, key=lambda t: (starts[t], t)), "order by start")
    # slowest first, two of them after skipping one
    j = json.loads(report("--traces", "--sort", "-duration", "--limit", "2", "--offset", "1",
                          "--format", "json", run_file)[0])
    check_eq(j["total"], len(traces), "total")
    by_dur = sorted(traces, key=lambda t: -dur[t])
    check_eq([t["trace_id"] for t in j["traces"]], by_dur[1:3], "-duration, offset 1, limit 2")
    for t in j["traces"]:
        check_eq(t["spans"], len(traces[t["trace_id"]]), "spans of a listed trace")
        check(abs(t["duration_ms"] - dur[t["trace_id"]]) < 0.001, "duration %r", t)
        check_eq(t["root"], "handle_request", "root")
    # filters narrow the listing
    out, _ = report("--traces", "--status", "error", run_file)
    check(out.splitlines()[-1].startswith("0 of 0"), "error traces in a clean run: %s", out)
    # one trace as a tree, by a unique prefix
    tid = by_dur[0]
    out, _ = report("--trace", tid[:12], run_file)
    lines = out.splitlines()
    check(lines[0].startswith("trace %s  service=" % tid), "header %r", lines[0])
    check("%d spans" % len(traces[tid]) in lines[0], "header %r", lines[0])
    got = []
    for ln in lines[1:]:
        body = ln[2:]
        depth = (len(body) - len(body.lstrip(" "))) // 2
        name = body.strip().split("  ")[0]
        got.append((depth, name))
    check_eq(got, expected_tree(spans, tid), "the tree")
    model_line = next((ln for ln in lines if "model=" in ln), None)
    check(model_line and " in=" in model_line and " out=" in model_line and "client" in model_line,
          "no model attributes in the tree:\n%s", out)
    check(all(" ms  +" in ln for ln in lines[1:]), "durations and offsets:\n%s", out)
    _, err = report("--trace", "ffffffffffffffff", run_file, expect=1)
    check("no trace" in err and len(err.strip().splitlines()) == 1, "stderr %r", err)
    # the Chrome trace events of that trace: one complete event per span
    chrome = path("one.chrome.json")
    report("--trace", tid, "--chrome", chrome, run_file)
    with open(chrome) as f:
        ev = json.load(f)["traceEvents"]
    xs = [e for e in ev if e["ph"] == "X"]
    check_eq(len(xs), len(traces[tid]), "chrome events")
    check(all(e["dur"] >= 0 and e["ts"] >= 0 for e in xs), "negative times")
    check(any(e["ph"] == "M" and e["name"] == "process_name" for e in ev), "no process names")
    # each track (pid, tid) holds properly nested slices, as the viewers need: the model call,
    # which has no thread of its own, is drawn on its caller's
    tracks = defaultdict(list)
    for e in xs:
        tracks[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"], e["name"]))
    check_eq(len(tracks), 1, "tracks of one single-threaded trace")
    for evs in tracks.values():
        for a in evs:
            for b in evs:
                if a is not b and a[0] <= b[0] < a[1]:
                    check(b[1] <= a[1] + 0.001, "slices overlap on a track: %r %r", a, b)


SAMPLE = os.path.join(ROOT, "tests", "data", "report", "trace-sample.jsonl")
SAMPLE_TREES = os.path.join(ROOT, "tests", "data", "report", "trace-sample.expected.txt")


def all_trees(f, *extra):
    """Every trace of @f as --trace prints it, in --traces order, a blank line between."""
    listing = json.loads(report("--traces", "--format", "json", f)[0])
    return "\n".join(report("--trace", t["trace_id"], *extra, f)[0] for t in listing["traces"])


@test
def test_report_trace_sample():
    """The hand-written sample scripts/print-trace.py was checked on (an agent trace, a demo
    request, an orphan and errors, one trace split over two lines): the same trees, but for
    the status message, which the report's data model does not keep. The expected file was
    reviewed line by line against print-trace.py's."""
    got = all_trees(SAMPLE)
    with open(SAMPLE_TREES) as f:
        check_eq(got, f.read(), "the sample's trees")
    lines = got.splitlines()
    check(lines[0].startswith("trace 1111"), "the first started trace (last in the file) first")
    check(any(ln.startswith("  orphan_child ") for ln in lines), "an orphan is a root")
    check(any(ln.startswith("      chat amazon.titan-text-lite-v1 ") and
              "159.000 ms  +   33.000 ms" in ln and "in=8  out=10  finish=[max_tokens]" in ln
              for ln in lines), "the Bedrock span's line")
    check("ttfc=42.5ms" in got and "  ERROR" in got, "ttfc and error marks")
    # the same spans one per line, in reverse order: the same trees
    out = []
    with open(SAMPLE) as f:
        for line in f:
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for sp in ss["spans"]:
                        out.append({"resourceSpans": [{"resource": rs["resource"], "scopeSpans": [
                            {"scope": ss.get("scope", {}), "spans": [sp]}]}]})
    split = path("split.jsonl")
    write_requests(split, reversed(out))
    check_eq(all_trees(split), got, "the trees of the split sample")
    # -a: every attribute
    check("gen_ai.tool.name=lookup" in all_trees(SAMPLE, "-a"), "-a prints every attribute")


@test
def test_report_malformed_lines_gz_and_stdin():
    run_file = path("run.jsonl")
    want = report_json(run_file)
    with open(run_file) as f:
        lines = f.readlines()
    bad = path("bad.jsonl")
    with open(bad, "w") as f:
        f.write(lines[0])
        f.write("this is not json\n")
        f.write('{"resourceSpans": 7}\n')
        f.writelines(lines[1:])
        f.write('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": ')  # cut short
    p = subprocess.run([BEDTRACE, "report", "--format", "json", bad], capture_output=True,
                       text=True, timeout=60)
    check_eq(p.returncode, 0, "exit status with malformed lines")
    got = json.loads(p.stdout)
    check_eq(got["spans"], want["spans"], "spans despite malformed lines")
    check("%s:2:" % bad in p.stderr, "no warning naming %s:2 in %r", bad, p.stderr)
    for ln in p.stderr.strip().splitlines():
        check(len(ln) < 400, "a long warning line %r", ln)
    out, _ = report(bad)
    check("malformed" in out.splitlines()[0], "the summary does not count them: %s",
          out.splitlines()[0])
    # gzip
    gz = path("run.jsonl.gz")
    with open(run_file, "rb") as r, gzip.open(gz, "wb") as w:
        shutil.copyfileobj(r, w)
    check_eq(report_json(gz), want, "the report of the .gz file")
    # standard input
    with open(run_file) as f:
        check_eq(report_json("-", stdin=f.read()), want, "the report of stdin")


@test
def test_report_usage_errors():
    _, err = report(expect=2)
    check(len(err.strip().splitlines()) == 1 and "FILE" in err, "no file: %r", err)
    _, err = report("--format", "yaml", path("run.jsonl"), expect=2)
    check(len(err.strip().splitlines()) == 1, "bad format: %r", err)
    _, err = report("--status", "maybe", path("run.jsonl"), expect=2)
    _, err = report("/nonexistent/spans.jsonl", expect=1)
    check("/nonexistent/spans.jsonl" in err and len(err.strip().splitlines()) == 1,
          "unreadable file: %r", err)
    out, _ = report("--help")
    check("--traces" in out and "--baseline" in out, "help: %s", out)


@test
def test_report_html_and_chrome():
    page = path("report.html")
    chrome = path("report.chrome.json")
    rep = report_json(path("run.jsonl"))
    report("--html", page, "--chrome", chrome, path("run.jsonl"))
    check(os.path.getsize(page) > 1000, "the page is empty")
    with open(chrome) as f:
        ev = json.load(f)["traceEvents"]
    shown = {t["trace_id"] for t in rep["slowest_traces"]}
    for f in rep["findings"]:
        shown |= set(f["trace_ids"])
    spans = spans_of(path("run.jsonl"))
    want = sum(1 for s in spans if s.trace_id in shown)
    check_eq(sum(1 for e in ev if e["ph"] == "X"), want, "chrome events of the shown traces")
    check_eq(Counter(e["args"]["trace_id"] for e in ev if e["ph"] == "X").keys(), shown,
             "traces in the chrome file")


if __name__ == "__main__":
    try:
        run()
    finally:
        if _work:
            shutil.rmtree(_work, ignore_errors=True)
