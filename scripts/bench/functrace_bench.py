#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Cost per traced call (entry + return), side by side in one run, for a function whose first
instruction the kernel emulates (push %rbp), one it must single-step (sub $0x18,%rsp), and the
latter behind a 5-byte nop, which kernels with optimized uprobes (6.18) turn into a call:
  baseline (no probes) | floor: empty BPF programs on uprobe+uretprobe (bpftrace, body {})
  | bedtrace | bpftrace timing entry->return into a histogram.
Then attach time for 1 and 1,000 functions and for `libc:*`, and bedtrace CPU/RSS/drops at
100,000 calls/s. Metrics on and off side by side: a "bt+metrics" column (the same bedtrace with
--prometheus and --metrics-output) and the 100,000 calls/s load with and without them, scraped
every second. --compare OTHER_BEDTRACE adds a column (and attach times) for another build
measured in the same run. --bpf-stats turns on the kernel's per-program accounting for the
whole run and prints, per column, the ns per run of each BPF program (entry and return) and
the rounds' spread; --per-call-only skips the attach and load parts. The target runs pinned to
CPU 1 and the tool (bedtrace's event reader, bpftrace) to CPU 0, so the reader never preempts
the traced loop (--no-pin: both float). --ring-size SIZE gives bedtrace's per-call columns a
ring that holds the measured rounds' events (e.g. 256M): at a million calls a second the reader
falls behind, and a full ring's failed reservations are cheaper than real ones.
--load-only runs only the 100,000 calls/s load, ROUNDS times, alternating with the --compare build
when given: CPU per round, median and spread, and spans written against calls made.
Usage: sudo scripts/bench/functrace_bench.py [--rounds N] [--compare OTHER_BEDTRACE]
                                             [--bpf-stats] [--per-call-only] [--no-pin]
                                             [--ring-size SIZE] [--load-only]"""
import os
import re
import statistics
import subprocess
import sys
import socket
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfstats  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BEDTRACE = os.path.join(ROOT, "bedtrace")
WORK = tempfile.mkdtemp(prefix="bt-bench-")
TARGET = os.path.join(WORK, "bench_target")
CALLS = 200000
ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
COMPARE = sys.argv[sys.argv.index("--compare") + 1] if "--compare" in sys.argv else None
SINK = os.path.join(WORK, "spans.jsonl")  # -o refuses /dev/null (not a regular file)
BPF_STATS = "--bpf-stats" in sys.argv
PER_CALL_ONLY = "--per-call-only" in sys.argv
# bedtrace's ring in the per-call columns: one that holds the measured rounds' events measures
# reservations that succeed, not the cheaper failures of a full ring
RING = sys.argv[sys.argv.index("--ring-size") + 1] if "--ring-size" in sys.argv else None
# the target on CPU 1, the tool (its event reader) on CPU 0: neither preempts the other
PIN = "--no-pin" not in sys.argv and os.cpu_count() >= 2


def build():
    subprocess.check_call(["gcc", "-O2", "-o", TARGET,
                           os.path.join(os.path.dirname(__file__), "bench_target.c")])
    src = os.path.join(WORK, "many.c")
    with open(src, "w") as f:
        for i in range(1000):
            f.write("__attribute__((noinline)) int f%04d(int x) { return x + %d; }\n" % (i, i))
        f.write("#include <unistd.h>\nint main(void) { sleep(30); return f0000(0); }\n")
    subprocess.check_call(["gcc", "-O0", "-o", os.path.join(WORK, "many"), src])


def drain(pipe):
    """Discards whatever the target printed so far (unprobed rounds are fast)."""
    fd = pipe.fileno()
    os.set_blocking(fd, False)
    try:
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
    finally:
        os.set_blocking(fd, True)
    # a partial line may remain: finish it
    pipe.readline()


class Result:
    """The rounds of one column: median ns/call, spread, BPF programs' run time, drop lines."""

    def __init__(self, vals, stats, proc):
        self.vals = vals
        self.median = statistics.median(vals)
        self.stats = stats
        err = getattr(proc, "stderr_text", "") or "" if proc else ""
        self.drops = [l.split("dropped:", 1)[1].strip() for l in err.splitlines()
                      if "dropped:" in l]

    def spread(self):
        """The rounds' extremes relative to their median, in %."""
        return (min(self.vals) / self.median - 1) * 100, (max(self.vals) / self.median - 1) * 100


def pin(pid, cpu):
    """Pins every thread of @pid to @cpu (threads started later inherit it)."""
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except OSError:
            pass


def measure(fn, tool):
    """Result of ROUNDS rounds with @tool (None, or a callable starting it)."""
    t = subprocess.Popen([TARGET, "loop", fn, str(CALLS)], stdout=subprocess.PIPE, bufsize=0)
    proc = None
    try:
        if PIN:
            pin(t.pid, 1)
        t.stdout.readline()  # warm up
        if tool:
            proc = tool(t.pid, fn)
            if PIN:
                pin(proc.pid, 0)
        drain(t.stdout)  # rounds printed before the tool was attached
        t.stdout.readline()  # a round that may straddle the attach
        before = bpfstats.snapshot() if BPF_STATS else None
        vals = [float(t.stdout.readline()) for _ in range(ROUNDS)]
        stats = bpfstats.delta(before, bpfstats.snapshot(), bpfstats.programs_of(proc.pid)) \
            if BPF_STATS and proc else []
    finally:
        t.kill()
        t.wait()
        if proc and proc.poll() is None:
            proc.terminate()
        if proc:
            try:
                _, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            proc.stderr_text = err
    return Result(vals, stats, proc)


def wait_line(proc, pattern, timeout=30):
    deadline = time.time() + timeout
    buf = ""
    while time.time() < deadline:
        line = proc.stderr.readline() if proc.stderr else ""
        buf += line
        if re.search(pattern, line):
            return buf
        if proc.poll() is not None:
            break
    raise RuntimeError("tool did not get ready: " + buf)


def piece_costs(fn):
    """probe_cost.bpf.c: one program per piece of a probe, all on f_@fn (loaded by hold_bpf.c);
    ns per run of each."""
    here = os.path.dirname(os.path.abspath(__file__))
    obj, loader = os.path.join(WORK, "probe_cost.bpf.o"), os.path.join(WORK, "hold_bpf")
    if not os.path.exists(loader):
        subprocess.check_call(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86",
                               "-I" + os.path.join(ROOT, "build"), "-c",
                               os.path.join(here, "probe_cost.bpf.c"), "-o", obj])
        subprocess.check_call(["gcc", "-O2", "-o", loader, os.path.join(here, "hold_bpf.c"),
                               "-lbpf"])
    t = subprocess.Popen([TARGET, "loop", fn, str(CALLS)], stdout=subprocess.PIPE, bufsize=0)
    p = None
    try:
        t.stdout.readline()
        p = subprocess.Popen([loader, obj, TARGET, "f_" + fn, str(t.pid)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if p.stdout.readline().strip() != "attached":
            raise RuntimeError("probe_cost did not attach")
        drain(t.stdout)
        t.stdout.readline()
        before = bpfstats.snapshot()
        for _ in range(ROUNDS):
            t.stdout.readline()
        return bpfstats.delta(before, bpfstats.snapshot(), bpfstats.programs_of(p.pid))
    finally:
        t.kill()
        t.wait()
        if p:
            p.stdin.close()
            p.wait()


def bpftrace(prog_fmt):
    def start(pid, fn):
        prog = prog_fmt.replace("BIN", TARGET).replace("FN", "f_" + fn)
        p = subprocess.Popen(["bpftrace", "-p", str(pid), "-e", prog], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = p.stdout.readline()
            if "Attaching" in line:
                time.sleep(0.3)
                return p
        raise RuntimeError("bpftrace did not attach")
    return start


def metrics_args():
    """Every metrics destination bedtrace has, on: a /metrics endpoint and a metrics file."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return ["--prometheus", str(port), "--metrics-output", os.path.join(WORK, "metrics.jsonl"),
            "--metrics-interval", "1"], port


def bedtrace_of(binary, metrics=False):
    def start(pid, fn):
        extra = metrics_args()[0] if metrics else []
        extra += ["--ring-size", RING] if RING else []
        p = subprocess.Popen([binary, "-v", "--no-tls", "--no-sockets", "-f", "f_" + fn, "-p",
                              str(pid), "-o", SINK] + extra, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        wait_line(p, r"ready in")
        return p
    return start


bedtrace = bedtrace_of(BEDTRACE)
bedtrace_metrics = bedtrace_of(BEDTRACE, metrics=True)


FLOOR = "uprobe:BIN:FN {} uretprobe:BIN:FN {}"
HIST = ("uprobe:BIN:FN { @s[tid] = nsecs; } "
        "uretprobe:BIN:FN /@s[tid]/ { @h = hist(nsecs - @s[tid]); delete(@s[tid]); }")


def attach_time(glob, binary=BEDTRACE):
    many = os.path.join(WORK, "many")
    t = subprocess.Popen([many])
    try:
        time.sleep(0.2)
        p = subprocess.run([binary, "-v", "--no-tls", "--no-sockets", "-f", glob, "-p",
                            str(t.pid), "-d", "1", "-o", SINK], capture_output=True, text=True,
                           timeout=60)
        m = re.search(r"(\d+) function\(s\), \d+ link\(s\); ready in ([0-9.]+) ms", p.stderr)
        if not m:
            raise RuntimeError(p.stderr)
        return int(m.group(1)), float(m.group(2))
    finally:
        t.kill()
        t.wait()


def scrape(port, stop):
    """Reads /metrics every second, as Prometheus would, until @stop is set."""
    while not stop.is_set():
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as r:
                r.read()
        except OSError:
            pass
        stop.wait(1)


def load_test(rate=100000, secs=5, metrics=False, binary=BEDTRACE):
    t = subprocess.Popen([TARGET, "rate", "push", str(rate), str(secs + 2)],
                         stdout=subprocess.PIPE, text=True)
    t.stdout.readline()
    extra, port = metrics_args() if metrics else ([], None)
    p = subprocess.Popen([binary, "-v", "--no-tls", "--no-sockets", "-f", "f_push", "-p",
                          str(t.pid), "-o", os.path.join(WORK, "load.jsonl")] + extra,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_line(p, r"ready in")
    stop = threading.Event()
    scraper = threading.Thread(target=scrape, args=(port, stop)) if metrics else None
    if scraper:
        scraper.start()

    def cpu():
        with open("/proc/%d/stat" % p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    c0, t0 = cpu(), time.time()
    time.sleep(secs)
    c1, t1 = cpu(), time.time()
    with open("/proc/%d/status" % p.pid) as f:
        rss = [l for l in f if l.startswith("VmHWM")][0].split()[1]
    calls = t.stdout.readline()
    t.wait()
    _, err = p.communicate(timeout=60)
    if scraper:
        stop.set()
        scraper.join()
    spans = sum(1 for _ in open(os.path.join(WORK, "load.jsonl")))
    dropped = [l for l in err.splitlines()
               if "dropped" in l or "exported" in l or "overflowed" in l]
    return (c1 - c0) / (t1 - t0) * 100, int(rss) / 1024, calls.strip(), dropped, spans


def count_spans(path):
    """Spans in an OTLP JSON Lines file: every span has exactly one "spanId" member."""
    n = 0
    with open(path, "rb") as f:
        for line in f:  # one batch per line: no match is cut in two
            n += line.count(b'"spanId"')
    return n


def load_only():
    """The load test alone, ROUNDS rounds, this build and --compare alternating."""
    builds = [("bedtrace", BEDTRACE)] + ([("compare", COMPARE)] if COMPARE else [])
    cpus = {name: [] for name, _ in builds}
    print("# 100,000 calls/s for 5 s, %d round(s)%s" % (
        ROUNDS, ", this build and %s alternating" % COMPARE if COMPARE else ""))
    # a round not counted: the first ~700 MB written to the page cache can land on memory the
    # (virtual) machine never touched, which costs the writer many times the copy itself
    load_test()
    os.unlink(os.path.join(WORK, "load.jsonl"))
    for r in range(ROUNDS):
        for name, binary in builds:
            cpu, rss, calls, dropped, _ = load_test(binary=binary)
            spans = count_spans(os.path.join(WORK, "load.jsonl"))
            made = int(calls.split()[-1])
            cpus[name].append(cpu)
            # calls made before the probes were attached have no span: bedtrace's own summary
            # ("nothing dropped", or what the BPF counters, the ring and the exporter lost)
            # is what says whether a traced call was lost
            print("round %d %-8s CPU %5.1f%% of one core, max RSS %5.1f MiB, %d calls, %d spans "
                  "in the file; %s" % (r + 1, name, cpu, rss, made, spans,
                                       "; ".join(d.replace("bedtrace: ", "") for d in dropped)))
            os.unlink(os.path.join(WORK, "load.jsonl"))
    for name, _ in builds:
        v = cpus[name]
        print("%-8s CPU median %.1f%% (min %.1f, max %.1f)" % (
            name, statistics.median(v), min(v), max(v)))
    if COMPARE:
        print("bedtrace/compare median CPU: %.2f" % (
            statistics.median(cpus["bedtrace"]) / statistics.median(cpus["compare"])))


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    if not os.path.exists("/sys/kernel/tracing/uprobe_events"):
        # bpftrace creates its uprobes through tracefs, which is not mounted at boot here
        subprocess.check_call(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"])
    build()
    if "--load-only" in sys.argv:
        load_only()
        return
    if BPF_STATS:
        with bpfstats.Stats():
            return run()
    return run()


def run():
    print("# %s" % " ".join([sys.executable] + sys.argv))
    print("# bedtrace function-tracing benchmark (%d calls/round, median of %d rounds%s%s)" %
          (CALLS, ROUNDS, ", BPF run-time accounting on in every column" if BPF_STATS else "",
           ", target on CPU 1, tool on CPU 0" if PIN else ""))
    print("%-6s %10s %10s %10s %11s %10s %12s %12s %12s%s" % (
        "first", "baseline", "floor", "bedtrace", "bt+metrics", "bpftrace", "bt/floor",
        "btm/floor", "bt/bpftrace", "   compare  cmp/floor" if COMPARE else ""))
    for fn, label in (("push", "push"), ("sub", "sub"), ("nop5", "nop5")):
        cols = [("baseline", None), ("floor", bpftrace(FLOOR)), ("bedtrace", bedtrace),
                ("bt+metrics", bedtrace_metrics), ("bpftrace", bpftrace(HIST))]
        if COMPARE:
            cols.append(("compare", bedtrace_of(COMPARE)))
        res = {name: measure(fn, tool) for name, tool in cols}
        base, floor, bt, btm, bpft = (res[c].median for c in (
            "baseline", "floor", "bedtrace", "bt+metrics", "bpftrace"))
        cmp = res["compare"].median if COMPARE else None
        cost = lambda v: v - base  # noqa: E731
        print("%-6s %8.1fns %8.1fns %8.1fns %9.1fns %8.1fns %11.2fx %11.2fx %11.2fx%s" % (
            label, base, floor, bt, btm, bpft, cost(bt) / cost(floor), cost(btm) / cost(floor),
            cost(bt) / cost(bpft),
            " %8.1fns %9.2fx" % (cmp, cost(cmp) / cost(floor)) if COMPARE else ""))
        print("       per traced call (entry+return) over baseline: floor %.2f us, bedtrace "
              "%.2f us, with metrics %.2f us, bpftrace %.2f us%s" % (
                  cost(floor) / 1e3, cost(bt) / 1e3, cost(btm) / 1e3, cost(bpft) / 1e3,
                  ", compare %.2f us" % (cost(cmp) / 1e3) if COMPARE else ""))
        for name, _ in cols:
            r = res[name]
            lo, hi = r.spread()
            line = "       %-10s rounds %s (%+.1f%% .. %+.1f%% of the median)" % (
                name, " ".join("%.1f" % v for v in r.vals), lo, hi)
            if r.drops:
                line += "; dropped: " + "; ".join(r.drops)
            print(line)
            if BPF_STATS and name != "baseline":
                print("       %-10s bpf_stats: %s" % ("", bpfstats.fmt(r.stats)))
        if BPF_STATS:
            rows = sorted(piece_costs(fn), key=lambda r: r[2])
            print("       pieces (probe_cost, each alone on the entry; ns per run, accounting "
                  "included): " + ", ".join("%s %.1f" % (n[2:], ns) for n, _, ns in rows))
    if PER_CALL_ONLY:
        return
    for glob in ("f0000", "f*", "libc:*"):
        got, ms = attach_time(glob)
        line = "attach: %-7s %4d function(s) ready in %7.1f ms (BPF load included)" % (
            glob, got, ms)
        if COMPARE:
            try:
                got_c, ms_c = attach_time(glob, COMPARE)
                line += "; compare: %d in %.1f ms" % (got_c, ms_c)
            except RuntimeError as e:
                line += "; compare failed: " + str(e).strip().splitlines()[-1]
        print(line)
    for metrics in (False, True):
        cpu, rss, calls, dropped, lines = load_test(metrics=metrics)
        print("load%s: target at 100,000 calls/s for 5 s (%s): bedtrace CPU %.1f%% of one "
              "core, max RSS %.1f MiB; %s" % (
                  " with metrics (scraped every 1 s, file every 1 s)" if metrics else "",
                  calls, cpu, rss, "; ".join(d.replace("bedtrace: ", "") for d in dropped)))


if __name__ == "__main__":
    import benchcli  # noqa: E402
    benchcli.run(main, __doc__)
