# SPDX-License-Identifier: MIT
"""Function tracing on the binaries people run: -O2 C and C++ with tail calls, cold fragments and
exceptions, Debian's sqlite3, libc and libcrypto, Rust and Go; attach mode with exceptions;
forked children and exec'd programs followed."""
import os
import re
import signal
import subprocess
import tempfile
import time

from harness import (BEDTRACE, TARGETS, by_name, check, check_eq, read_spans, run, run_bedtrace,
                     test, wait_for)

OPT = os.path.join(TARGETS, "bt_opt")
TAIL = os.path.join(TARGETS, "bt_tail")
RUST = os.path.join(TARGETS, "bt_rust")
GOAPP = os.path.join(TARGETS, "goapp")
FORK = os.path.join(TARGETS, "bt_fork")


def launch(specs, *cmd, extra=(), timeout=60):
    args = []
    for s in specs:
        args += ["-f", s]
    rc, spans, err = run_bedtrace(args + list(extra) + ["--"] + list(cmd), timeout=timeout)
    check_eq(rc, 0, "bedtrace exit code (stderr: %s)" % err[-2000:])
    return spans, err


def status(s):
    return s.status_message or "ok"


def check_clean(spans, err, what):
    """No span left 'without returning', no dropped returns, every parent a span of the output."""
    unwound = [s for s in spans if "without returning" in s.status_message]
    check(not unwound, "%s: %d 'unwound' spans, e.g. %r", what, len(unwound), unwound[:3])
    check("returns" not in err, "%s: returns dropped: %s", what,
          [l for l in err.splitlines() if "returns" in l])
    ids = {s.span_id for s in spans}
    orphans = [s for s in spans if s.parent_id and s.parent_id not in ids]
    check(not orphans, "%s: %d spans whose parent is not in the output: %r", what, len(orphans),
          orphans[:3])


def parent_of(spans, s):
    for p in spans:
        if p.span_id == s.parent_id:
            return p
    return None


@test
def sqlite3_launch_mode_no_unwound_spans():
    spans, err = launch(["libsqlite3:sqlite3_*"], "sqlite3", ":memory:",
                        "create table t(a); insert into t values (1),(2); select sum(a) from t;")
    check(len(spans) > 100, "sqlite3 spans: %d", len(spans))
    check_clean(spans, err, "sqlite3 launch")
    check(by_name(spans, "sqlite3_free"), "sqlite3_free spans present")


@test
def sqlite3_attach_mode_no_unwound_spans():
    p = subprocess.Popen(["sqlite3", ":memory:"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    fd, out = tempfile.mkstemp(prefix="bt-", suffix=".jsonl")
    os.close(fd)
    os.unlink(out)
    try:
        time.sleep(0.3)
        log = out + ".log"
        with open(log, "w") as errf:
            bt = subprocess.Popen([BEDTRACE, "-v", "-o", out, "-f", "libsqlite3:sqlite3_*",
                                   "-p", str(p.pid)], stdout=subprocess.DEVNULL, stderr=errf)
        wait_for(lambda: "ready in" in open(log).read(), 30, "bedtrace ready")
        res, _ = p.communicate("create table t(a);\ninsert into t values (1),(2),(3);\n"
                               "select sum(a) from t;\n", timeout=30)
        check_eq(res.strip(), "6", "sqlite3 result")
        bt.wait(timeout=30)
        check_eq(bt.returncode, 0, "bedtrace exit code")
        spans = read_spans(out)
        err = open(log).read()
        check(len(spans) > 20, "sqlite3 attach spans: %d", len(spans))
        check_clean(spans, err.replace("returns of calls entered before tracing began", ""),
                    "sqlite3 attach")
    finally:
        if p.poll() is None:
            p.kill()
        for f in (out, out + ".log"):
            if os.path.exists(f):
                os.unlink(f)


def check_tail(spans, caller, callee, top):
    callees = by_name(spans, callee)
    check_eq(len(callees), 3, "%s spans" % callee)
    for c in callees:
        m = parent_of(spans, c)
        check(m is not None and m.name == caller, "%s nests under %s (got %r)", callee, caller,
              m)
        check_eq(status(m), "ok", "%s status" % caller)
        check_eq(status(c), "ok", "%s status" % callee)
        check(m.start <= c.start and c.end <= m.end, "%s inside %s", callee, caller)
        # both end when the callee returns: the kernel fires both return probes then
        check(m.end - c.end < 2_000_000, "%s ends with %s (%.3f ms apart)", caller, callee,
              (m.end - c.end) / 1e6)
        check(c.duration_ms >= 1.5, "%s lasted its 2 ms sleep: %.3f ms", callee, c.duration_ms)
        check_eq(m.trace_id, c.trace_id, "one trace")
        if top:
            t = parent_of(spans, m)
            check(t is not None and t.name == top, "%s nests under %s", caller, top)


@test
def c_tail_call_nests_under_caller():
    spans, err = launch(["top", "mid", "leaf"], TAIL, "3")
    check_eq(len(spans), 9, "span count")
    check_clean(spans, err, "C tail call")
    check_tail(spans, "mid", "leaf", "top")


@test
def rust_tail_call_nests_under_caller():
    spans, err = launch(["*Cart*total*", "*compute*"], RUST, "3")
    names = sorted({s.name for s in spans})
    check_eq(len(spans), 6, "span count (%r)" % names)
    check_clean(spans, err, "Rust tail call")
    total = [n for n in names if "total" in n][0]
    compute = [n for n in names if "compute" in n][0]
    check(not re.search(r"::h[0-9a-f]{16}$", total), "legacy hash dropped: %r", total)
    check_eq(total, "bt_rust::Cart::total", "Rust span name")
    check_tail(spans, total, compute, None)


def left_out_count(err):
    m = re.search(r"(\d+) of (\d+) function\(s\) left out", err)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


@test
def libc_glob_attaches_despite_unprobeable_functions():
    spans, err = launch(["libc:*"], "/bin/ls", "/")
    check(len(spans) > 100, "libc spans: %d", len(spans))
    n, total = left_out_count(err)
    check(n <= 20, "libc functions left out: %d of %d", n, total)
    check("cannot attach" not in err, "attach failed: %s", err[-500:])


@test
def libcrypto_evp_glob_moves_past_lock_prefix():
    spans, err = launch(["libcrypto:EVP_*"], "openssl", "dgst", "-sha256", "/etc/hostname")
    check(len(spans) > 10, "EVP spans: %d", len(spans))
    check("cannot attach" not in err, "attach failed: %s", err[-500:])
    n, total = left_out_count(err)
    check(n <= 10, "EVP functions left out: %d of %d", n, total)


@test
def libcrypto_lock_prefixed_function_traced():
    # EVP_*_up_ref begin with `lock addl`: the entry probe goes on the next instruction
    spans, err = launch(["libcrypto:EVP_*"], "openssl", "dgst", "-sha256", "/etc/hostname",
                        extra=["-v"])
    moved = re.findall(r"(\S+): entry probe \d+ bytes in", err)
    check(moved, "no function needed its entry probe moved: %s", err[-800:])
    for s in spans:
        if s.name in moved:
            check_eq(status(s), "ok", "%s status" % s.name)


@test
def cxx_O2_exceptions_and_cold_fragments():
    spans, err = launch(["top", "outer", "mid", "shop::*"], OPT, "once", "9")
    check(not [s for s in spans if ".cold" in s.name or "[clone" in s.name],
          "fragment or clone suffix in span names: %r",
          sorted({s.name for s in spans if "clone" in s.name or "cold" in s.name}))
    check_clean(spans, err, "C++ -O2")
    # iterations 3, 6, 9 throw in inner and are caught in outer
    outer = by_name(spans, "outer(int)")
    check_eq(len(outer), 9, "outer spans")
    check(all(status(s) == "ok" for s in outer), "the catching function is OK")
    for name in ("mid(int)", "shop::Cart::inner(int)"):
        bad = [s for s in by_name(spans, name) if status(s) != "ok"]
        check_eq(len(bad), 3, "%s spans unwound by the exception" % name)
        for s in bad:
            check("exception" in s.status_message, "reason: %r", s.status_message)
    scale = [s for s in spans if s.name.startswith("shop::scale")]
    check(scale, "the .constprop clone is traced")
    check(all(s.name == "shop::scale(shop::Cart const&, int)" for s in scale),
          "clone named by its function: %r", scale[0].name)
    check(all(s.attrs.get("bedtrace.function.symbol", "").find("constprop") >= 0 for s in scale),
          "raw symbol kept in bedtrace.function.symbol")
    tail = by_name(spans, "shop::tail_target(int)")
    check(all(parent_of(spans, s).name == "shop::tail_caller(int)" for s in tail),
          "tail call nests")


@test
def cxx_O2_exceptions_attach_mode_target_survives():
    p = subprocess.Popen([OPT, "loop", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        time.sleep(0.3)
        rc, spans, err = run_bedtrace(["-v", "-f", "top", "-f", "outer", "-f", "mid", "-f",
                                       "shop::*", "-p", str(p.pid), "-d", "3"], timeout=60)
        check_eq(rc, 0, "bedtrace exit code (%s)" % err[-1000:])
        out, perr = p.communicate(timeout=30)
        check_eq(p.returncode, 0, "target exit code (stderr %r)" % perr)
        check("terminate" not in perr, "target aborted: %r", perr)
        check(re.match(r"calls=\d+ caught=\d+", out), "target output %r", out)
        check(re.search(r"unwind helpers in \S*libgcc_s", err), "libgcc_s examined: %s", err)
        check(re.search(r"unwind helpers in \S*libstdc\+\+", err), "libstdc++ examined")
        caught = [s for s in by_name(spans, "mid(int)") if "exception" in s.status_message]
        check(caught, "exceptions seen in attach mode")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@test
def go_program_survives_and_nests_per_goroutine():
    env = dict(os.environ, GOMAXPROCS="2")
    rc, spans, err = run_bedtrace(["-f", "main.work", "-f", "main.grow", "-f", "main.leaf", "--",
                                   GOAPP, "10", "64"], timeout=120, env=env)
    check_eq(rc, 0, "bedtrace exit code (%s)" % err[-1000:])
    m = re.search(r"ok calls=(\d+)", err)
    check(m, "goapp finished with correct results: %s", err[-500:])
    calls = int(m.group(1))
    check(calls > 100, "goapp calls %d", calls)
    # each work() call: 41 grow, 2 leaf
    work = by_name(spans, "main.work")
    check_eq(len(work), calls, "main.work spans")
    check_eq(len(spans), calls * 44, "spans in all")
    check(all(status(s) == "ok" for s in spans), "no error spans: %r",
          [s for s in spans if status(s) != "ok"][:3])
    by_id = {s.span_id: s for s in spans}
    for s in spans:
        p = by_id.get(s.parent_id)
        if s.name == "main.work":
            check(p is None, "main.work is a root")
        elif s.name == "main.grow":
            check(p is not None and p.name in ("main.work", "main.grow"), "grow parent")
        else:
            check(p is not None and p.name in ("main.work", "main.grow"), "leaf parent")
        if p is not None:
            check(p.start <= s.start and s.end <= p.end, "child inside parent")
    threads = {s.attrs["thread.id"] for s in spans}
    check(len(threads) >= 2, "goroutines ran on %d threads", len(threads))


@test
def forked_children_are_followed():
    spans, err = launch(["work"], FORK, "fork", "3")
    pids = {}
    for s in spans:
        pids.setdefault(s.resource["process.pid"], []).append(
            s.attrs["bedtrace.function.return_value"])
    check_eq(len(pids), 4, "processes with spans (%r)" % pids)
    rets = sorted(sorted(v) for v in pids.values())
    check_eq(rets, [[1, 2], [11, 21], [12, 22], [13, 23]], "return values per process")


@test
def no_follow_leaves_children_out():
    spans, err = launch(["work"], FORK, "fork", "3", extra=["--no-follow"])
    check_eq(len(spans), 2, "spans of the parent only")


@test
def exec_closes_open_calls_and_new_program_is_traced():
    spans, err = launch(["main", "work", TAIL + ":leaf", TAIL + ":top"], FORK, "exec", TAIL, "2")
    mains = by_name(spans, "main")
    check(mains, "main spans")
    first = min(mains, key=lambda s: s.start)
    check_eq(first.attrs.get("bedtrace.end_reason"), "exec", "end reason of main across exec")
    check("new program" in first.status_message, "exec message: %r", first.status_message)
    check_eq(len(by_name(spans, "leaf")), 2, "leaf spans of the exec'd program")
    check_eq(len(by_name(spans, "top")), 2, "top spans of the exec'd program")


if __name__ == "__main__":
    run()
