#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""TLS capture cost, in one run on this machine:
  1. throughput: a python3 client (libssl.so.3, one keep-alive connection) POSTs 4 MiB bodies in
     64 KiB SSL writes to the local Node TLS server, paced at rising targets and then unpaced;
     a fresh `bedtrace -p CLIENT` per step. Per step: achieved MB/s, what bedtrace reports lost
     (its "dropped:" exit lines), the HTTP spans and body bytes it exported, its CPU% and peak RSS;
  2. latency: the same client's per-request latency for 1 KiB and 1 MiB GETs on a keep-alive
     connection, alternating in rounds between: nothing attached; mechanism floors run by
     bpftrace with empty bodies, (a) uprobe+uretprobe on the SSL probe points bedtrace chose
     (read off its -v log), (b) the raw_syscalls sys_enter/sys_exit tracepoints every syscall
     of the machine then passes through, and (c) both in one program (each uretprobe's return
     syscall then passes the tracepoints too, which neither floor alone pays); and bedtrace.
     p25, median, p90 and ratios. Server and client are pinned to separate CPUs, so where the
     scheduler puts them does not swamp the figures (on this VM it moves the median by tens of
     microseconds).
     --bpf-stats turns on the kernel's per-program accounting for the whole run and prints, per
     body size, what each of bedtrace's BPF programs ran per request (runs, ns per run, us per
     request) and the same for the floors' empty programs.
Usage: sudo scripts/bench/tls_bench.py [--quick] [--rounds N] [--step-secs S] [--latency-only]
                                       [--compare OTHER_BEDTRACE] [--bpf-stats]
       (BEDTRACE=PATH in the environment measures another build; --compare adds a latency
       column for a second build, e.g. the one before a change, side by side in the same run)"""
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfstats  # noqa: E402

if os.environ.get("BEDTRACE"):  # another build, e.g. to compare a change
    harness.BEDTRACE = os.path.abspath(os.environ["BEDTRACE"])
from harness import (make_certs, read_spans, start_tls_server,  # noqa: E402
                     stop_process, wait_for_text)

PY = "/usr/bin/python3"
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls_bench_client.py")
MB = 1e6
REQ_BYTES = 4 << 20
TICK = os.sysconf("SC_CLK_TCK")


def arg(name, default, conv=float):
    return conv(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


QUICK = "--quick" in sys.argv
ROUNDS = arg("--rounds", 2 if QUICK else 12, int)  # latency rounds: this VM is noisy
STEP_SECS = arg("--step-secs", 2.0 if QUICK else 4.0)
RATES = [25, 50, 100, 200, 400, 0]  # MB/s of TLS payload; 0 = unpaced
LAT = [(1024, 150 if QUICK else 400), (1 << 20, 20 if QUICK else 60)]
BPF_STATS = "--bpf-stats" in sys.argv


class Client:
    def __init__(self, ca, port):
        self.p = subprocess.Popen([PY, CLIENT, ca, str(port)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit("bench client did not start: %r" % line)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        if not out:
            raise SystemExit("bench client died on %r" % line)
        return json.loads(out)

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
        stop_process(self.p, timeout=10)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def status_kib(pid, key="VmHWM"):
    """A figure of /proc/PID/status in KiB (VmHWM: peak resident memory, VmRSS: now), else 0."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Tracer:
    """`bedtrace -v ARGS` (-p PID, -e EXE, -a, ...) in the background, spans to a file, stderr to
    a log; returns once bedtrace says it is ready."""

    def __init__(self, args, work, tag, binary=None):
        self.out = os.path.join(work, "bt-%s.jsonl" % tag)
        self.log = os.path.join(work, "bt-%s.log" % tag)
        self.args = ["-v"] + args
        self.p = harness.start_bedtrace_logged(self.args, self.out, self.log, binary)
        wait_for_text(self.log, "ready in", 60, self.p)
        self.t0, self.c0 = time.monotonic(), cpu_ticks(self.p.pid)

    def stop(self):
        """Returns (cpu %, peak RSS MiB, drop lines, spans) of the time since start."""
        t1, c1 = time.monotonic(), cpu_ticks(self.p.pid)
        rss = status_kib(self.p.pid) / 1024
        rc = stop_process(self.p, signal.SIGINT, timeout=60)
        with open(self.log, errors="replace") as f:
            err = f.read()
        if rc != 0:
            print("bedtrace exited %s: %s" % (rc, err[-1000:]))
        drops = [l.split("dropped:", 1)[1].strip() for l in err.splitlines() if "dropped:" in l]
        spans = read_spans(self.out) if os.path.exists(self.out) else []
        cpu = 100.0 * (c1 - self.c0) / TICK / (t1 - self.t0)
        return cpu, rss, drops, spans


def lost_bytes(drops):
    """Bytes bedtrace says it lost: the BPF counter, else the stream-gap total."""
    for d in drops:
        if d.endswith("captured bytes lost"):
            return int(d.split()[0])
    for d in drops:
        if "captured bytes lost;" in d:
            return int(d.split()[0])
    return 0


def posted(spans, pid=None):
    """(POST spans captured whole, their body bytes), of process @pid if given."""
    whole = [s for s in spans if s.attrs.get("http.request.method") == "POST"
             and not s.attrs.get("bedtrace.capture.truncated")
             and (pid is None or s.resource.get("process.pid") == pid)]
    return len(whole), sum(s.attrs.get("http.request.body.size", 0) for s in whole)


def throughput(client, work):
    print("\n== TLS capture throughput: POST %d MiB bodies in 64 KiB SSL writes, %.0f s per step"
          % (REQ_BYTES >> 20, STEP_SECS))
    base = client.cmd("push 0 %s %d" % (STEP_SECS, REQ_BYTES))
    print("client alone, unpaced: %.0f MB/s" % (base["bytes"] / base["secs"] / MB))
    print("%-9s %9s %13s %7s %15s %8s %9s  %s" % ("target", "achieved", "lost bytes", "spans",
                                                "span body MB", "bt CPU%", "bt RSS", "drops"))
    for rate in RATES:
        t = Tracer(["-p", str(client.p.pid)], work, "push-%d" % rate)
        try:
            r = client.cmd("push %s %s %d" % (rate, STEP_SECS, REQ_BYTES))
        finally:
            cpu, rss, drops, spans = t.stop()
        whole, body = posted(spans)
        print("%-9s %6.0f MB/s %13d %3d/%-3d %15.1f %7.0f%% %6.0f MiB  %s" % (
            "%d MB/s" % rate if rate else "unpaced", r["bytes"] / r["secs"] / MB,
            lost_bytes(drops), whole, r["requests"], body / MB, cpu, rss,
            "; ".join(drops) or "none"))


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def probe_points(log):
    """The SSL probe points bedtrace logged (-v): [(path, offset or symbol)]."""
    pts = []
    with open(log, errors="replace") as f:
        for line in f:
            m = re.search(r"probed at their shared callee, (\S+)\+(0x[0-9a-f]+)", line)
            if m:
                pts.append((m.group(1), m.group(2)))
            m = re.search(r"\d+ OpenSSL probe points in (\S+)", line)
            if m and not any(p == m.group(1) for p, _ in pts):
                pts += [(m.group(1), sym) for sym in ("SSL_read", "SSL_write", "SSL_read_ex",
                                                   "SSL_write_ex")]
    return sorted(set(pts))


class Floor:
    """bpftrace with empty probe bodies: what the probe mechanism alone costs."""

    def __init__(self, prog):
        self.p = subprocess.Popen(["bpftrace", "--unsafe", "-e", prog], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            if "Attaching" in line:
                time.sleep(1.0)  # the message comes before the probes are live
                return
        raise SystemExit("bpftrace did not attach: %s" % prog)

    def stop(self):
        stop_process(self.p, signal.SIGINT, timeout=30)


def floors(work, client):
    """bpftrace programs of the two floors, from where bedtrace probes this client."""
    t = Tracer(["-p", str(client.p.pid)], work, "lat-points")
    client.cmd("lat 1024 5")
    t.stop()
    pts = probe_points(t.log)
    if not pts:
        raise SystemExit("bedtrace logged no SSL probe points; see %s" % t.log)
    up = " ".join("uprobe:%s:%s {} uretprobe:%s:%s {}" % (p, o, p, o) for p, o in pts)
    print("floor uprobes:  bpftrace --unsafe -e '%s'" % up)
    sc = "tracepoint:raw_syscalls:sys_enter {} tracepoint:raw_syscalls:sys_exit {}"
    print("floor syscalls: bpftrace -e '%s'   (perf-event tracepoints: a little dearer than the "
          "raw tracepoints bedtrace uses)" % sc)
    # both mechanisms at once: each return probe's uretprobe syscall then passes the syscall
    # tracepoints too, a cost neither floor alone has
    print("floor both:     bpftrace --unsafe -e '<the two above in one program>'")
    return [("floor uprobes", up), ("floor syscalls", sc), ("floor both", up + " " + sc)]


def pin(pid, cpu):
    """Pins every thread of @pid to @cpu."""
    for tid in os.listdir("/proc/%d/task" % pid):
        os.sched_setaffinity(int(tid), {cpu})


def latency(client, work, server):
    print("\n== Client-observed latency per HTTPS GET (keep-alive), %d round(s) alternating "
          "between the columns" % ROUNDS)
    subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                   stderr=subprocess.DEVNULL)  # bpftrace needs it; already there is fine
    pin(server.pid, 0)
    pin(client.p.pid, 1)
    print("server pinned to CPU 0, client to CPU 1; bedtrace and bpftrace unpinned")
    client.cmd("lat 1024 50")  # warm-up
    floor_progs = floors(work, client)
    other = arg("--compare", None, os.path.abspath)
    if other:
        print("compare: %s" % other)
    cols = ["without"] + [name for name, _ in floor_progs] + ["bedtrace"] + (
        ["compare"] if other else [])
    res = {(size, c): [] for size, _ in LAT for c in cols}
    cpu_rss = []
    # (size, column) -> {program name: [runs, ns]}, and requests counted
    prog_time = {}

    def requests(col, tool_pid=None):
        for size, n in LAT:
            before = bpfstats.snapshot() if BPF_STATS and tool_pid else None
            res[(size, col)] += client.cmd("lat %d %d" % (size, n))["lat_ns"]
            if before is None:
                continue
            acc = prog_time.setdefault((size, col), {})
            for name, runs, ns in bpfstats.delta(before, bpfstats.snapshot(),
                                                 bpfstats.programs_of(tool_pid)):
                a = acc.setdefault(name, [0, 0.0])
                a[0] += runs
                a[1] += runs * ns

    for rnd in range(ROUNDS):
        requests("without")
        for name, prog in floor_progs:
            f = Floor(prog)
            try:
                requests(name, f.p.pid)
            finally:
                f.stop()
        t = Tracer(["-p", str(client.p.pid)], work, "lat-%d" % rnd)
        try:
            requests("bedtrace", t.p.pid)
        finally:
            cpu, rss, drops, spans = t.stop()
        n_http = sum(1 for s in spans if s.attrs.get("http.request.method") == "GET")
        cpu_rss.append((cpu, rss, n_http, sum(n for _, n in LAT), drops))
        if other:
            t = Tracer(["-p", str(client.p.pid)], work, "cmp-%d" % rnd, other)
            try:
                requests("compare", t.p.pid)
            finally:
                t.stop()
    for size, _ in LAT:
        base = res[(size, "without")]
        print("\n%s bodies, %d requests per column; latency (ratio to without)" % (
            "1 KiB" if size == 1024 else "1 MiB", len(base)))
        print("%-15s %22s %22s %22s" % ("", "p25", "median", "p90"))
        for c in cols:
            v = res[(size, c)]
            print("%-15s" % c + "".join(
                " %11.1f us (%.3fx)" % (pct(v, q) / 1e3, pct(v, q) / pct(base, q))
                for q in (.25, .5, .9)))
    for (size, col), progs in sorted(prog_time.items()):
        n = len(res[(size, col)])
        total = sum(ns for _, ns in progs.values())
        print("bpf_stats %s GET, %s: %.2f us of BPF per request: %s" % (
            "1 KiB" if size == 1024 else "1 MiB", col, total / n / 1e3, ", ".join(
                "%s %.1f x %.0f ns" % (name, runs / n, ns / runs)
                for name, (runs, ns) in sorted(progs.items(), key=lambda kv: -kv[1][1]))))
    for i, (cpu, rss, got, want, drops) in enumerate(cpu_rss):
        print("round %d: bedtrace CPU %.0f%%, peak RSS %.0f MiB, %d/%d GET spans, drops: %s"
              % (i + 1, cpu, rss, got, want, "; ".join(drops) or "none"))


def main():
    if os.geteuid() != 0:
        raise SystemExit("tls_bench.py needs root")
    print("# %s" % " ".join([sys.executable] + sys.argv))
    print("# bedtrace: %s -v -p CLIENT_PID -o FILE   (one per step; SIGINT to stop)" %
          harness.BEDTRACE)
    print("# client: %s %s CA PORT   (http.client over libssl.so.3)" % (PY, CLIENT))
    print("# server: %s %s --cert ... --key ...   (127.0.0.1, HTTP/1.1 + HTTP/2)" %
          (harness.NODE, harness.TLS_SERVER_JS))
    print("# %d CPUs, kernel %s" % (os.cpu_count(), os.uname().release))
    work = tempfile.mkdtemp(prefix="bt-tlsbench-")
    server = client = None
    try:
        make_certs(os.path.join(work, "certs"))
        server, port = start_tls_server(os.path.join(work, "certs"))
        client = Client(os.path.join(work, "certs", "ca.pem"), port)
        with bpfstats.Stats() if BPF_STATS else contextlib.nullcontext():
            if "--latency-only" not in sys.argv:
                throughput(client, work)
            latency(client, work, server)
    finally:
        if client:
            client.close()
        stop_process(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import benchcli  # noqa: E402
    benchcli.run(main, __doc__)
