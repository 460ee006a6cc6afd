# SPDX-License-Identifier: MIT
"""Function tracing against real processes: nesting, threads, recursion, libraries, C++,
exceptions, longjmp, exits, launch and attach modes, SIGKILL safety and error messages."""
import os
import signal
import subprocess
import tempfile
import time

from harness import (BEDTRACE, TARGETS, by_name, check, check_eq, one, read_spans, run,
                     run_bedtrace, start_bedtrace, test, wait_for)

TARGET = os.path.join(TARGETS, "bt_target")
CXX = os.path.join(TARGETS, "bt_cxx")


def launch(specs, *cmd, extra=()):
    args = []
    for s in specs:
        args += ["-f", s]
    rc, spans, err = run_bedtrace(args + list(extra) + ["--"] + list(cmd))
    check_eq(rc, 0, "bedtrace exit code (stderr: %s)" % err)
    return spans, err


def children(spans, parent):
    return [s for s in spans if s.parent_id == parent.span_id]


@test
def nested_calls_on_three_threads():
    spans, _ = launch(["level*"], TARGET, "nested")
    check_eq(len(spans), 15, "span count")
    roots = by_name(spans, "level1")
    check_eq(len(roots), 3, "level1 spans")
    check_eq(sorted(s.attrs["bedtrace.function.return_value"] for s in roots), [8, 12, 16],
             "level1 return values")
    tids = set()
    for root in roots:
        check_eq(root.parent_id, "", "level1 is a trace root")
        tid = root.attrs["thread.id"]
        tids.add(tid)
        kids = children(spans, root)
        check_eq(sorted(k.name for k in kids), ["level2", "level2"], "children of level1")
        for k in kids:
            check_eq(k.trace_id, root.trace_id, "child trace id")
            check_eq(k.attrs["thread.id"], tid, "child thread id")
            check(root.start <= k.start and k.end <= root.end, "child inside parent")
            grand = children(spans, k)
            check_eq([g.name for g in grand], ["level3"], "children of level2")
            check_eq(grand[0].attrs["bedtrace.function.return_value"] * 1 + 1,
                     k.attrs["bedtrace.function.return_value"], "level2 = level3 + 1")
    check_eq(len(tids), 3, "distinct thread ids")
    check_eq(len({s.trace_id for s in spans}), 3, "one trace per outermost call")
    for s in spans:
        check_eq(s.kind, 1, "function spans are INTERNAL")
        check_eq(s.attrs["code.function.name"], s.name, "code.function.name")
        check(s.attrs["bedtrace.object.path"].endswith("/bt_target"), "object path")
        check_eq(s.resource["telemetry.sdk.name"], "bedtrace", "resource sdk name")
        check_eq(s.resource["service.name"], "bt_target", "service.name")
        check(s.resource["process.pid"] > 0, "process.pid")


@test
def recursion_nests_each_level():
    spans, _ = launch(["fact"], TARGET, "recurse", "5")
    check_eq(len(spans), 5, "fact spans")
    by_ret = {s.attrs["bedtrace.function.return_value"]: s for s in spans}
    check_eq(sorted(by_ret), [1, 2, 6, 24, 120], "return values")
    check_eq(by_ret[120].parent_id, "", "outermost fact is the root")
    for inner, outer in ((1, 2), (2, 6), (6, 24), (24, 120)):
        check_eq(by_ret[inner].parent_id, by_ret[outer].span_id, "fact nesting")
    check_eq(by_ret[1].attrs["bedtrace.call.depth"], 4, "depth of the innermost call")


@test
def sleeping_function_duration():
    spans, _ = launch(["sleep_50ms"], TARGET, "sleep")
    s = one(spans, "sleep_50ms")
    check(50 <= s.duration_ms < 200, "duration %.1f ms not in [50, 200)", s.duration_ms)
    check_eq(s.attrs["bedtrace.function.return_value"], 50, "return value")


@test
def function_in_shared_library_by_name():
    spans, _ = launch(["use_lib", "libbtlib:lib_add"], TARGET, "lib")
    lib = one(spans, "lib_add")
    caller = one(spans, "use_lib")
    check_eq(lib.parent_id, caller.span_id, "lib_add parent")
    check_eq(lib.attrs["bedtrace.function.return_value"], 5, "lib_add(2, 3)")
    check(lib.attrs["bedtrace.object.path"].endswith("/libbtlib.so.1"), "library object path")


@test
def cxx_method_in_namespace():
    spans, _ = launch(["shop::Cart::*"], CXX, "method")
    s = one(spans, "shop::Cart::total(int)")
    check_eq(s.attrs["bedtrace.function.return_value"], 12, "total(4)")
    check_eq(s.attrs["bedtrace.function.symbol"], "_ZN4shop4Cart5totalEi", "mangled symbol")


@test
def exception_through_traced_frames():
    args = ["-f", "thrower", "-f", "middle", "-f", "outer", "-f", "after_catch", "--", CXX,
            "exception"]
    fd, out = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    p = subprocess.run([BEDTRACE, "-o", out] + args, capture_output=True, text=True, timeout=60)
    spans = read_spans(out)
    os.unlink(out)
    check_eq(p.returncode, 0, "bedtrace exit code")
    check("r=21 after=22" in p.stdout, "target survived and caught: %r", p.stdout)
    outers = by_name(spans, "outer(int)")
    check_eq(len(outers), 3, "outer spans")
    for o in outers:
        check_eq(o.attrs["bedtrace.function.return_value"], 7, "outer returned from catch")
        check_eq(o.status, 0, "outer status")
        mid = children(spans, o)
        check_eq([m.name for m in mid], ["middle(int)"], "outer's child")
        thr = children(spans, mid[0])
        check_eq([t.name for t in thr], ["thrower(int)"], "middle's child")
        for s in (mid[0], thr[0]):
            check_eq(s.status, 2, "unwound span status ERROR")
            check_eq(s.attrs["bedtrace.end_reason"], "exception", "end reason")
            check("exception" in s.status_message, "status message")
            check(s.end <= o.end, "unwound frame ends before its catcher")
    after = one(spans, "after_catch(int)")
    check_eq(after.attrs["bedtrace.function.return_value"], 22, "after_catch")


@test
def longjmp_closes_skipped_frames():
    spans, _ = launch(["lj_*"], TARGET, "longjmp")
    outer = one(spans, "lj_outer")
    check_eq(outer.attrs["bedtrace.function.return_value"], 11, "lj_outer")
    for name in ("lj_middle", "lj_inner"):
        s = one(spans, name)
        check_eq(s.status, 2, name + " status")
        check_eq(s.attrs["bedtrace.end_reason"], "longjmp", name + " end reason")
    check_eq(one(spans, "lj_middle").parent_id, outer.span_id, "lj_middle parent")
    check_eq(one(spans, "lj_after").parent_id, outer.span_id, "lj_after parent")


@test
def process_exit_mid_call():
    # the target exits with status 3, which launch mode passes on
    rc, spans, err = run_bedtrace(["-f", "*_exit", "--", TARGET, "exit"])
    check_eq(rc, 3, "bedtrace exit code (stderr: %s)" % err)
    check("exited with status 3" in err, "summary names the status: %s" % err)
    outer, inner = one(spans, "outer_exit"), one(spans, "inner_exit")
    check_eq(inner.parent_id, outer.span_id, "nesting")
    for s in (outer, inner):
        check_eq(s.status, 2, "status")
        check_eq(s.attrs["bedtrace.end_reason"], "process_exit", "end reason")


@test
def thread_exit_mid_call():
    spans, _ = launch(["thread_work_exit", "after_thread"], TARGET, "thread_exit")
    s = one(spans, "thread_work_exit")
    check_eq(s.attrs["bedtrace.end_reason"], "thread_exit", "end reason")
    check_eq(s.status, 2, "status")
    check_eq(one(spans, "after_thread").attrs["bedtrace.function.return_value"], 3, "after")


@test
def launch_mode_sees_main_from_its_first_instruction():
    spans, _ = launch(["main", "sleep_50ms"], TARGET, "sleep")
    main = one(spans, "main")
    check_eq(main.attrs["bedtrace.function.return_value"], 0, "main returned 0")
    check_eq(one(spans, "sleep_50ms").parent_id, main.span_id, "sleep_50ms under main")


@test
def open_call_flushed_at_duration_end():
    fd, flag = tempfile.mkstemp()
    os.close(fd)
    os.unlink(flag)
    fd, out = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    # the launched target outlives bedtrace here, so it must not hold our pipes
    bt = subprocess.Popen([BEDTRACE, "-o", out, "-f", "main", "-d", "1", "--", TARGET, "wait",
                           flag], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        check_eq(bt.wait(timeout=30), 0, "bedtrace exit code")
        main = one(read_spans(out), "main")
        check_eq(main.attrs.get("bedtrace.span.incomplete"), True, "incomplete marker")
        check_eq(main.attrs["bedtrace.end_reason"], "tracing_stopped", "end reason")
        check_eq(main.status, 0, "status of a call still running")
    finally:
        open(flag, "w").close()  # release the target, which keeps running untraced
        time.sleep(0.2)
        os.unlink(flag)
        os.unlink(out)


def start_target(*args):
    p = subprocess.Popen([TARGET] + list(args), stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    check(line.startswith("ready"), "target did not start: %r", line)
    return p


@test
def attach_to_running_process():
    target = start_target("loop", "400", "10")
    try:
        rc, spans, err = run_bedtrace(["-f", "tick", "-p", str(target.pid), "-d", "2"])
        check_eq(rc, 0, "bedtrace exit code (%s)" % err)
        ticks = by_name(spans, "tick")
        check(len(ticks) >= 50, "only %d tick spans in 2 s", len(ticks))
        vals = sorted(t.attrs["bedtrace.function.return_value"] for t in ticks)
        check_eq(vals, list(range(vals[0], vals[0] + len(vals))), "consecutive ticks, none lost")
        check_eq(ticks[0].resource["process.pid"], target.pid, "resource pid")
        check("tick" in target.args[0] or True, "")
    finally:
        target.kill()
        target.wait()


@test
def bedtrace_exits_when_attached_target_exits():
    target = start_target("loop", "100", "20")
    rc, spans, err = run_bedtrace(["-f", "tick", "-p", str(target.pid)], timeout=20)
    target.wait()
    check_eq(rc, 0, "bedtrace exit code (%s)" % err)
    check(len(by_name(spans, "tick")) >= 10, "tick spans")


@test
def sigkill_leaves_target_running_correctly():
    target = start_target("loop", "150", "10")
    fd, out = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    bt = start_bedtrace(["-f", "tick", "-f", "main", "-p", str(target.pid)], out)
    try:
        time.sleep(0.6)
        bt.send_signal(signal.SIGKILL)
        bt.wait()
        rest = target.stdout.read()
        target.wait(timeout=20)
        check_eq(target.returncode, 0, "target exit status")
        check("done 11175" in rest, "target output after SIGKILL: %r", rest)
    finally:
        if target.poll() is None:
            target.kill()
        os.unlink(out)


def expect_error(args, needle):
    p = subprocess.run([BEDTRACE] + args, capture_output=True, text=True, timeout=30)
    check(p.returncode != 0, "exit code 0 for %r" % (args,))
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check(len(lines) >= 1 and needle in p.stderr, "stderr %r lacks %r", p.stderr, needle)
    return p.stderr


@test
def clear_errors():
    expect_error(["-f", "main", "-p", "999999"], "no such process")
    err = expect_error(["-f", "levl1", "--", TARGET, "sleep"], "no function matches 'levl1'")
    check("level1" in err, "closest names listed: %r", err)
    expect_error(["-f", "/nonexistent/libx.so:foo", "--", TARGET, "sleep"], "cannot read")
    expect_error(["-f", "x", "--", "/nonexistent/cmd"], "command not found")
    expect_error(["-f", ":bad"], "invalid SPEC")
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        BEDTRACE, "-f", "main", "-p", "1"], capture_output=True, text=True)
    check(p.returncode != 0 and "must run as root" in p.stderr, "non-root: %r", p.stderr)


if __name__ == "__main__":
    run()
