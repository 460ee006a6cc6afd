# SPDX-License-Identifier: MIT
"""Integration-test support: run ./bedtrace for real, read its OTLP JSON output, report results.

Each test module registers functions with @test; run() executes them in order and prints
"ok NAME" or "not ok NAME" plus the reason, which scripts/run-tests.sh counts.
`python3 tests/integration/test_X.py -k NAME` runs only the cases whose name contains NAME.
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
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

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


def selected(argv=None):
    """The registered tests to run: all, or with "-k NAME" (repeatable) those whose name
    contains one NAME, ignoring case."""
    argv = sys.argv[1:] if argv is None else argv
    names = []
    i = 0
    while i < len(argv):
        if argv[i] == "-k" and i + 1 < len(argv):
            names.append(argv[i + 1].lower())
            i += 2
        elif argv[i].startswith("-k") and len(argv[i]) > 2:
            names.append(argv[i][2:].lower())
            i += 1
        else:
            sys.exit("usage: %s [-k NAME]..." % os.path.basename(sys.argv[0]))
    if not names:
        return list(_tests)
    return [fn for fn in _tests if any(n in fn.__name__.lower() for n in names)]


def run():
    tests = selected()
    if not tests:
        print("no test matches %s" % " ".join(sys.argv[1:]))
        sys.exit(1)
    if os.geteuid() != 0:
        print("integration tests need root")
        sys.exit(1)
    failed = 0
    for fn in tests:
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


# ---- TLS servers and background processes (added for the TLS capture tests and benchmark) ----

TLS_SERVER_JS = os.path.join(ROOT, "tests", "integration", "tls_server.js")
MAKE_CERT = os.path.join(ROOT, "tests", "node", "make-cert.sh")
NODE = "/usr/bin/node"


def make_certs(outdir):
    """Writes a throw-away CA and a 127.0.0.1 server certificate; returns the directory."""
    subprocess.run(["bash", MAKE_CERT, outdir], check=True, capture_output=True, timeout=60)
    return outdir


def start_tls_server(certdir, timeout=15.0):
    """Starts tests/integration/tls_server.js on 127.0.0.1 (HTTP/1.1 + HTTP/2, keep-alive);
    returns (Popen, port). Stop it with stop_process()."""
    p = subprocess.Popen([NODE, TLS_SERVER_JS, "--cert", os.path.join(certdir, "server.pem"),
                          "--key", os.path.join(certdir, "server.key")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = _readline_timeout(p.stdout, timeout)
        if not line.startswith("listening "):
            raise AssertionError("tls_server.js did not start: %r" % line)
        return p, int(line.split()[1])
    except BaseException:
        stop_process(p)
        raise


def _readline_timeout(f, timeout):
    import select
    r, _, _ = select.select([f], [], [], timeout)
    if not r:
        raise AssertionError("no output within %.0f s" % timeout)
    return f.readline()


def stop_process(p, sig=signal.SIGTERM, timeout=20.0):
    """Signals @p if it still runs and reaps it (SIGKILL after @timeout); returns its exit code."""
    if p is None:
        return None
    if p.poll() is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def start_bedtrace_logged(args, out, log, binary=None):
    """Starts bedtrace (@binary, default this build) in the background writing spans to @out and
    stderr to the file @log (nothing to drain, so -v is safe); returns the Popen."""
    with open(log, "w") as errf:
        return subprocess.Popen([binary or BEDTRACE, "-o", out] + args,
                                stdout=subprocess.DEVNULL, stderr=errf)


def wait_for_text(path, text, timeout=20.0, proc=None):
    """Waits until the file @path contains @text (fails early if @proc exits first)."""
    def seen():
        if proc is not None and proc.poll() is not None:
            raise AssertionError("process exited (%s) before %r appeared in %s: %s" % (
                proc.returncode, text, path, _tail(path)))
        try:
            with open(path, errors="replace") as f:
                return text in f.read()
        except FileNotFoundError:
            return False
    wait_for(seen, timeout, "%r in %s" % (text, path))


def _tail(path, n=2000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def drop_lines(stderr_text):
    """The 'dropped: ...' lines bedtrace printed at exit."""
    return [l for l in stderr_text.splitlines() if "dropped:" in l]
