#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What bedtrace as a fleet agent (-e EXE, -a) costs the box, in one run on this machine:
  memory  bedtrace's resident memory (VmRSS now, VmHWM peak) at rest for 3 s and while a python3
          client (libssl.so.3) POSTs through TLS to the local Node server at 100 MB/s, traced by
          `-e PYTHON` (the real file) and by `-a`, with the default ring and --ring-size 64M, in
          alternating rounds; what bedtrace reports lost, the client's POST bodies it exported
          against those sent, and where the memory is (smaps: ring buffer, heap, the rest)
  idle    CPU of bedtrace over IDLE_SECS with 50 sleeping processes of one selected executable
          (`-e IDLE -f fleet_work`, `-e IDLE`) and for `-a`
  tax     ns per one-byte write() to /dev/null of a process bedtrace does not select, rounds
          alternating between: nothing attached; the floor, empty BPF programs on the BTF raw
          tracepoints sys_enter/sys_exit (tp_btf, what bedtrace attaches); bpftrace's empty
          tracepoint:raw_syscalls programs (perf-event tracepoints, for reference); `bedtrace -e
          OTHER` (the loop not selected); `bedtrace -a` (the loop selected, writing to /dev/null)
  churn   `bedtrace -e CHURN -f fleet_work` while a launcher fork+execs CHURN at 200 a second
          for CHURN_SECS: every process traced with its one span, bedtrace's CPU, RSS at start /
          at the end / 10 s later, and the entries left in its procs/stacks/excluded BPF maps
bedtrace runs with -v (its readiness line); the helper programs are built into a temporary
directory from scripts/bench/fleet_target.c, syscall_floor.bpf.c and hold_bpf.c (its loader).
Usage: sudo scripts/bench/fleet_bench.py [--quick] [--only memory|idle|tax|churn]
                                         [--compare OTHER_BEDTRACE]
       (BEDTRACE=PATH in the environment measures another build; --compare adds a column for a
       second build, measured in the same rounds)"""
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tls_bench  # noqa: E402  (puts tests/integration on the path, honours BEDTRACE=)
from tls_bench import (MB, REQ_BYTES, TICK, Client, Floor, Tracer, arg, cpu_ticks,  # noqa: E402
                       lost_bytes, posted, status_kib)
import harness  # noqa: E402
from harness import make_certs, start_tls_server, stop_process  # noqa: E402
from test_fleet import bpf_map_entries  # noqa: E402

QUICK = "--quick" in sys.argv
ONLY = arg("--only", None, str)
COMPARE = arg("--compare", None, os.path.abspath)
MIB = 1024.0  # KiB per MiB

REST_SECS = 3.0
PUSH_RATE = 100  # MB/s
PUSH_SECS = 2.0 if QUICK else 5.0
MEM_ROUNDS = 1 if QUICK else 2
IDLE_PROCS = 50
IDLE_SECS = 5.0 if QUICK else 20.0
TAX_ROUNDS = 2 if QUICK else 8
TAX_SAMPLES = 4 if QUICK else 8  # loop rounds read per column and round
TAX_WRITES = 300000  # writes per loop round: 25-100 ms
CHURN_RATE = 200
CHURN_SECS = 5.0 if QUICK else 30.0
CHURN_AFTER = 3.0 if QUICK else 10.0
RSS_TARGET_MIB = 64
IDLE_TARGET_PCT = 0.5


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def section(title):
    print("\n== %s   (load %s)" % (title, loadavg()), flush=True)


class Build:
    """A bedtrace binary measured in its own column."""

    def __init__(self, name, path):
        self.name, self.path = name, path


def builds():
    out = [Build("this", harness.BEDTRACE)]
    if COMPARE:
        out.append(Build("compare", COMPARE))
    for b in out:
        if not os.access(b.path, os.X_OK):
            raise SystemExit("fleet_bench: no bedtrace binary at %s" % b.path)
    return out


# ---- helper programs ----

class Programs:
    """fleet_target copies, one file (inode) per role, and the tp_btf floor."""

    ROLES = ("idle_app", "churn_app", "launcher", "write_loop", "other_app")

    def __init__(self, work):
        target = os.path.join(work, "fleet_target")
        subprocess.check_call(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", target,
                               os.path.join(HERE, "fleet_target.c")])
        for role in self.ROLES:
            setattr(self, role, os.path.join(work, role))
            shutil.copy2(target, getattr(self, role))
        self.floor_obj = os.path.join(work, "syscall_floor.bpf.o")
        arch = "/usr/include/%s-linux-gnu" % os.uname().machine
        subprocess.check_call(["clang", "-O2", "-g", "-target", "bpf", "-I" + arch, "-c",
                               os.path.join(HERE, "syscall_floor.bpf.c"), "-o",
                               self.floor_obj])
        self.floor = os.path.join(work, "hold_bpf")
        subprocess.check_call(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", self.floor,
                               os.path.join(HERE, "hold_bpf.c"), "-lbpf"])


class TpBtfFloor:
    """syscall_floor: empty tp_btf programs on sys_enter and sys_exit while it runs."""

    def __init__(self, progs):
        self.p = subprocess.Popen([progs.floor, progs.floor_obj], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        if self.p.stdout.readline().strip() != "attached":
            stop_process(self.p)
            raise SystemExit("syscall_floor did not attach")

    def stop(self):
        self.p.stdin.close()  # end of file: it exits, the links go with it
        stop_process(self.p, timeout=10)


def bpftrace_floor():
    subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                   stderr=subprocess.DEVNULL)  # bpftrace needs it; already there is fine
    return Floor("tracepoint:raw_syscalls:sys_enter {} tracepoint:raw_syscalls:sys_exit {}")


def smaps_kib(pid):
    """Resident KiB of process @pid by kind of mapping: BPF maps mapped in (the ring buffer,
    whose data pages the kernel maps twice, and global data), the brk heap, other anonymous
    memory (malloc arenas, thread stacks), files (the binary and libraries)."""
    out = {"bpf maps": 0, "heap": 0, "anon": 0, "files": 0}
    name = ""
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else ""
            elif first == "Rss:":
                kib = int(line.split()[1])
                if name.startswith("anon_inode:bpf"):
                    out["bpf maps"] += kib
                elif name == "[heap]":
                    out["heap"] += kib
                elif name == "" or name.startswith("["):
                    out["anon"] += kib
                else:
                    out["files"] += kib
    return out


def pss_kib(pid):
    """Proportional resident memory of process @pid in KiB (smaps_rollup Pss)."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def fmt_smaps(d):
    return ", ".join("%s %.1f" % (k, v / MIB) for k, v in d.items()) + " MiB"


def summary_line(log, prefix):
    """The last line of bedtrace's log @log that contains @prefix, without "bedtrace: "."""
    found = ""
    with open(log, errors="replace") as f:
        for line in f:
            if prefix in line:
                found = line.strip().replace("bedtrace: ", "", 1)
    return found


# ---- 1. memory ----

def memory(bts, work, summary):
    section("Resident memory at rest (%.0f s) and capturing TLS at %d MB/s (%.0f s, POST %d MiB "
            "bodies in 64 KiB SSL writes), %d round(s)" % (REST_SECS, PUSH_RATE, PUSH_SECS,
                                                          REQ_BYTES >> 20, MEM_ROUNDS))
    py = os.path.realpath(tls_bench.PY)
    certs = make_certs(os.path.join(work, "certs"))
    server, port = start_tls_server(certs)
    client = None
    try:
        client = Client(os.path.join(certs, "ca.pem"), port)
        print("client: %s %s (pid %d); server: node (pid %d); -e %s" % (
            tls_bench.PY, tls_bench.CLIENT, client.p.pid, server.pid, py))
        modes = [("-e python", ["-e", py]), ("-a", ["-a"])]
        rings = [("default ring", []), ("--ring-size 8M", ["--ring-size", "8M"]),
                 ("--ring-size 64M", ["--ring-size", "64M"])]
        configs = [(b, m, r, margs + rargs) for b in bts for m, margs in modes
                   for r, rargs in rings]
        rest, push = {}, {}
        for rnd in range(MEM_ROUNDS):
            for b, m, r, args in configs:
                key = (b.name, m, r)
                tag = "mem-%d-%s-%s-%s" % (rnd, b.name, m.strip("-").split()[0], r.split()[-1])
                t = Tracer(args, work, tag, b.path)
                try:
                    time.sleep(REST_SECS)
                    pid = t.p.pid
                    rest.setdefault(key, []).append(
                        (status_kib(pid, "VmRSS"), status_kib(pid), smaps_kib(pid), pss_kib(pid)))
                    res = client.cmd("push %d %s %d" % (PUSH_RATE, PUSH_SECS, REQ_BYTES))
                    now = status_kib(pid, "VmRSS"), smaps_kib(pid), pss_kib(pid)
                finally:
                    cpu, hwm, drops, spans = t.stop()
                whole, body = posted(spans, client.p.pid)
                push.setdefault(key, []).append({
                    "rss": now[0], "smaps": now[1], "pss": now[2], "hwm": hwm * MIB, "cpu": cpu,
                    "drops": drops, "lost": lost_bytes(drops), "sent": res["bytes"],
                    "mbps": res["bytes"] / res["secs"] / MB, "reqs": res["requests"],
                    "whole": whole, "body": body,
                    "captured": summary_line(t.log, "captured ")})
                print(".", end="", flush=True)
        print()
    finally:
        if client:
            client.close()
        stop_process(server)

    print("\nbedtrace maps the ring buffer's data pages once (probe/ring.c), so a ring costs its "
          "size in VmRSS; a build reading it through libbpf maps them twice and VmRSS counts "
          "them twice. Pss counts them once (and shares libraries with other processes).")
    print("\nAt rest, after %.0f s (MiB, highest of the rounds; where: the last round's smaps)"
          % REST_SECS)
    print("%-8s %-10s %-16s %7s %7s %7s   %s" % ("build", "mode", "ring", "VmRSS", "VmHWM",
                                              "Pss", "where (smaps Rss)"))
    for (bn, m, r), v in rest.items():
        print("%-8s %-10s %-16s %7.1f %7.1f %7.1f   %s" % (
            bn, m, r, max(x[0] for x in v) / MIB, max(x[1] for x in v) / MIB,
            max(x[3] for x in v) / MIB, fmt_smaps(v[-1][2])))
    print("\nCapturing TLS at %d MB/s: per round, VmRSS at the end of the push, VmHWM over the "
          "whole run (MiB), the client's POSTs exported whole / sent, lost = bytes bedtrace "
          "reports lost" % PUSH_RATE)
    print("%-8s %-10s %-16s %5s %6s %7s %7s %7s %9s %13s %6s  %s" % (
        "build", "mode", "ring", "round", "MB/s", "VmRSS", "VmHWM", "Pss", "POSTs",
        "body MB/sent", "CPU%", "lost; dropped lines"))
    for (bn, m, r), v in push.items():
        for i, x in enumerate(v):
            print("%-8s %-10s %-16s %5d %6.0f %7.1f %7.1f %7.1f %4d/%-4d %6.0f/%-6.0f %5.0f%%"
                  "  %d; %s" % (bn, m, r, i + 1, x["mbps"], x["rss"] / MIB, x["hwm"] / MIB,
                                x["pss"] / MIB, x["whole"], x["reqs"], x["body"] / MB,
                                x["sent"] / MB, x["cpu"], x["lost"],
                                "; ".join(x["drops"]) or "none"))
    print("\nWhere the memory is at the end of the push, last round (smaps Rss):")
    for (bn, m, r), v in push.items():
        print("  %-8s %-10s %-16s %s" % (bn, m, r, fmt_smaps(v[-1]["smaps"])))
        print("  %-8s %-10s %-16s bedtrace: %s" % ("", "", "", v[-1]["captured"]))

    for b in bts:
        for m, _ in modes:
            v = rest[(b.name, m, "default ring")]
            summary.add("VmRSS at rest, %s, default ring" % m, b.name, "%.1f MiB (Pss %.1f)" % (
                max(x[0] for x in v) / MIB, max(x[3] for x in v) / MIB), "", "")
            for r, _ in rings:
                runs = push[(b.name, m, r)]
                hwm = max(x["hwm"] for x in runs) / MIB
                pss = max(x["pss"] for x in runs) / MIB
                lost = any(x["lost"] or x["drops"] or x["whole"] < x["reqs"] for x in runs)
                ok = hwm <= RSS_TARGET_MIB and not lost
                verdict = "ok" if ok else "MISSED%s%s" % (
                    " by %.1f MiB" % (hwm - RSS_TARGET_MIB) if hwm > RSS_TARGET_MIB else "",
                    ", loss" if lost else "")
                summary.add("VmHWM at %d MB/s TLS, %s, %s" % (PUSH_RATE, m, r), b.name,
                            "%.1f MiB (Pss %.1f), %s" % (hwm, pss, "LOSS" if lost else "no loss"),
                            "<= %d MiB, no loss" % RSS_TARGET_MIB,
                            verdict if r == "default ring" else "(comparison)")


# ---- 2. idle ----

def ctx_switches(pid):
    """Context switches of every thread of @pid so far (its wakeups, near enough)."""
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt")):
                        n += int(line.split()[1])
        except OSError:
            pass
    return n


def idle(bts, work, progs, summary):
    section("Idle CPU over %.0f s with %d sleeping processes of %s" % (
        IDLE_SECS, IDLE_PROCS, progs.idle_app))
    procs = []
    try:
        for _ in range(IDLE_PROCS):
            p = subprocess.Popen([progs.idle_app, "idle"], stdout=subprocess.PIPE, text=True)
            procs.append(p)
            if p.stdout.readline().strip() != "ready":
                raise SystemExit("fleet_target idle did not start")
        configs = [("-e IDLE -f fleet_work", ["-e", progs.idle_app, "-f", "fleet_work"]),
                   ("-e IDLE", ["-e", progs.idle_app]), ("-a", ["-a"])]
        print("%-8s %-22s %8s %12s %8s  %s" % ("build", "bedtrace", "CPU%", "wakeups/s",
                                             "VmRSS", "bedtrace says"))
        for name, args in configs:
            for b in bts:
                t = Tracer(args, work, "idle-%s-%s" % (b.name, name.split()[-1]), b.path)
                try:
                    time.sleep(1.0)  # the start-up is not idle
                    pid = t.p.pid
                    c0, w0, t0 = cpu_ticks(pid), ctx_switches(pid), time.monotonic()
                    time.sleep(IDLE_SECS)
                    c1, w1, t1 = cpu_ticks(pid), ctx_switches(pid), time.monotonic()
                    rss = status_kib(pid, "VmRSS")
                finally:
                    t.stop()
                pct = 100.0 * (c1 - c0) / TICK / (t1 - t0)
                said = summary_line(t.log, "selected: ") if name.startswith("-e") else ""
                print("%-8s %-22s %7.2f%% %12.1f %6.1f M  %s" % (
                    b.name, name, pct, (w1 - w0) / (t1 - t0), rss / MIB, said), flush=True)
                target = "< %.1f %%" % IDLE_TARGET_PCT
                summary.add("idle CPU, %s (%d procs)" % (name, IDLE_PROCS) if name != "-a"
                            else "idle CPU, -a", b.name, "%.2f %%" % pct, target,
                            "ok" if pct < IDLE_TARGET_PCT else "MISSED")
        print("(CPU from utime+stime in /proc/PID/stat, %d ticks a second: one tick is %.2f %% "
              "over %.0f s)" % (TICK, 100.0 / TICK / IDLE_SECS, IDLE_SECS))
    finally:
        for p in procs:
            stop_process(p, timeout=5)


# ---- 3. tax on a process not selected ----

class WriteLoop:
    """fleet_target writes N; a thread queues each round's ns/call as it comes."""

    def __init__(self, path):
        self.p = subprocess.Popen([path, "writes", str(TAX_WRITES)], stdout=subprocess.PIPE,
                                  text=True)
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.q.put(float(line))

    def sample(self, n):
        """Drops the rounds queued so far and the one under way, then returns the next @n."""
        while not self.q.empty():
            self.q.get_nowait()
        self.q.get(timeout=30)
        return [self.q.get(timeout=30) for _ in range(n)]

    def stop(self):
        stop_process(self.p, timeout=5)


def tax(bts, work, progs, summary):
    section("Tax on a process bedtrace does not select: ns per 1-byte write() to /dev/null, "
            "%d writes a loop round, %d round(s) alternating the columns, %d loop rounds each"
            % (TAX_WRITES, TAX_ROUNDS, TAX_SAMPLES))
    print("floor tp_btf:   %s %s   (empty tp_btf/sys_enter + tp_btf/sys_exit, bedtrace's attach "
          "type)" % (progs.floor, progs.floor_obj))
    print("floor bpftrace: bpftrace -e 'tracepoint:raw_syscalls:sys_enter {} "
          "tracepoint:raw_syscalls:sys_exit {}'   (perf-event tracepoints, for reference)")
    print("-e OTHER:       bedtrace -e %s   (a file nothing runs: the loop is not selected)"
          % progs.other_app)
    print("-a:             bedtrace -a   (the loop is selected; /dev/null is no socket)")
    cols = [("none", None), ("floor tp_btf", lambda: TpBtfFloor(progs)),
            ("floor bpftrace", bpftrace_floor)]
    for b in bts:
        sfx = "" if b.name == "this" else " (%s)" % b.name
        cols.append(("-e OTHER" + sfx, lambda b=b: Tracer(["-e", progs.other_app], work,
                                                           "tax-e-" + b.name, b.path)))
        cols.append(("-a" + sfx, lambda b=b: Tracer(["-a"], work, "tax-a-" + b.name, b.path)))
    loop = WriteLoop(progs.write_loop)
    res = {name: [] for name, _ in cols}
    per_round = {name: [] for name, _ in cols}
    try:
        loop.sample(2)  # warm-up
        for rnd in range(TAX_ROUNDS):
            for name, start in cols:
                tool = start() if start else None
                try:
                    v = loop.sample(TAX_SAMPLES)
                finally:
                    if tool:
                        tool.stop()
                res[name] += v
                per_round[name].append(statistics.median(v))
            print(".", end="", flush=True)
        print()
    finally:
        loop.stop()
    base = statistics.median(res["none"])
    floor = statistics.median(res["floor tp_btf"])
    # noise: how far the per-round medians of the floor stray from its overall median
    spread = (max(per_round["floor tp_btf"]) - min(per_round["floor tp_btf"])) / floor
    print("%-20s %9s %9s %9s %9s %11s %11s" % ("", "p25", "median", "p75", "min rnd",
                                             "/ none", "/ floor"))
    for name, _ in cols:
        v = res[name]
        q = statistics.quantiles(v, n=4)
        med = statistics.median(v)
        print("%-20s %6.1f ns %6.1f ns %6.1f ns %6.1f ns %10.3fx %10.3fx" % (
            name, q[0], med, q[2], min(per_round[name]), med / base, med / floor))
    print("floor over none: +%.1f ns a call (%+.0f %%); the floor's round medians spread over "
          "%.1f %% of it (the noise of this run)" % (floor - base, 100 * (floor / base - 1),
                                                      100 * spread))
    for b in bts:
        sfx = "" if b.name == "this" else " (%s)" % b.name
        for label, col in (("(c) -e OTHER", "-e OTHER"), ("(d) -a, loop selected", "-a")):
            med = statistics.median(res[col + sfx])
            extra = med / floor - 1
            summary.add("write() tax %s / floor" % label, b.name,
                        "%.3fx (+%.1f ns)" % (med / floor, med - floor),
                        "within noise (%.1f %%)" % (100 * spread),
                        "ok" if extra <= spread else "MISSED")


# ---- 4. churn ----

def map_keys(owner, name):
    """Keys of BPF map @name of process @owner (an int for 4-byte keys), None if it has none."""
    entries = bpf_map_entries(owner, name)
    if entries is None:
        return None
    return [e["formatted"]["key"] if "formatted" in e
            else int.from_bytes(bytes(int(x, 16) for x in e["key"]), "little")
            for e in entries]


def children(pid):
    """Pids of the children of @pid (its helpers, e.g. bedtrace's watchdog)."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            out += f.read().split()
    return out


def describe_keys(keys, own, launched):
    """"N" and, for keys that are pids, whose they are: bedtrace's, a churn process's, other."""
    if keys is None:
        return "(no such map)"
    if not keys:
        return "0"
    words = []
    for k in keys[:8]:
        if k in own:
            words.append("%s bedtrace's own" % k)
        elif k in launched:
            words.append("%s churn process%s" % (k, "" if os.path.exists("/proc/%s" % k)
                                                 else ", gone"))
        else:
            words.append("%s other" % (k,))
    return "%d (%s%s)" % (len(keys), ", ".join(words), ", ..." if len(keys) > 8 else "")


def churn(bts, work, progs, summary):
    section("Churn: %d short-lived selected processes a second for %.0f s, `bedtrace -e CHURN "
            "-f fleet_work`" % (CHURN_RATE, CHURN_SECS))
    print("launcher: %s launch %d %.0f %s   (fork+exec, paced to the clock)" % (
        progs.launcher, CHURN_RATE, CHURN_SECS, progs.churn_app))
    for b in bts:
        t = Tracer(["-e", progs.churn_app, "-f", "fleet_work"], work, "churn-" + b.name,
                   b.path)
        try:
            pid = t.p.pid
            time.sleep(1.0)
            rss0 = status_kib(pid, "VmRSS")
            c0, t0 = cpu_ticks(pid), time.monotonic()
            r = subprocess.run([progs.launcher, "launch", str(CHURN_RATE), str(CHURN_SECS),
                                progs.churn_app], capture_output=True, text=True,
                               timeout=CHURN_SECS + 120)
            c1, t1 = cpu_ticks(pid), time.monotonic()
            rss1 = status_kib(pid, "VmRSS")
            time.sleep(CHURN_AFTER)
            rss2, hwm = status_kib(pid, "VmRSS"), status_kib(pid)
            maps = {m: map_keys(pid, m) for m in ("procs", "stacks", "excluded")}
            own = {pid} | {int(c) for c in children(pid)}
        finally:
            t.stop()
        lines = r.stdout.splitlines()
        launched = {int(x) for x in lines if x.isdigit()}
        spans = harness.read_spans(t.out) if os.path.exists(t.out) else []
        # a span's process: its resource's process.pid, else its thread.id (one thread each)
        per_pid, no_pid = {}, 0
        for s in spans:
            if s.name != "fleet_work":
                continue
            p = s.resource.get("process.pid")
            if p is None:
                no_pid += 1
                p = s.attrs.get("thread.id")
            per_pid[p] = per_pid.get(p, 0) + 1
        traced = sum(1 for p in launched if per_pid.get(p) == 1)
        odd = sum(1 for p in launched if per_pid.get(p, 0) > 1)
        stray = sum(1 for p in per_pid if p not in launched)
        pct = 100.0 * (c1 - c0) / TICK / (t1 - t0)
        with open(t.log, errors="replace") as f:
            drops = [ln.split("dropped:", 1)[1].strip() for ln in f if "dropped:" in ln]
        print("%s: %s" % (b.name, lines[-1] if lines else r.stderr.strip()))
        print("%s: traced with one span %d of %d started (%d with more than one, %d spans of "
              "other pids); bedtrace CPU %.1f %% over %.1f s" % (b.name, traced, len(launched),
                                                                 odd, stray, pct, t1 - t0))
        print("%s: %d span(s) with no process.pid in their resource (counted by thread.id)" % (
            b.name, no_pid))
        print("%s: VmRSS %.1f MiB at start, %.1f at the end of the churn, %.1f %.0f s later "
              "(peak %.1f)" % (b.name, rss0 / MIB, rss1 / MIB, rss2 / MIB, CHURN_AFTER,
                              hwm / MIB))
        print("%s: map entries %.0f s after the churn: %s" % (b.name, CHURN_AFTER, "; ".join(
            "%s %s" % (m, describe_keys(k, own, launched)) for m, k in maps.items())))
        print("%s: %s; dropped: %s" % (b.name, summary_line(t.log, "selected: "),
                                       "; ".join(drops) or "none"), flush=True)
        left = sum(1 for k in maps.values() for x in k or [] if x not in own)
        summary.add("churn: traced / started", b.name, "%d / %d" % (traced, len(launched)),
                    "all", "ok" if traced == len(launched) and launched else "MISSED")
        summary.add("churn: map entries left (procs+stacks+excluded)", b.name,
                    "%d (+%d bedtrace's own)" % (left, sum(
                        1 for k in maps.values() for x in k or [] if x in own)), "0",
                    "ok" if left == 0 else "MISSED")
        summary.add("churn: VmRSS start / end / +%.0f s" % CHURN_AFTER, b.name,
                    "%.1f / %.1f / %.1f MiB" % (rss0 / MIB, rss1 / MIB, rss2 / MIB),
                    "no growth", "ok" if rss2 <= rss1 + 256 else "grew")
        summary.add("churn: spans whose resource has no process.pid", b.name, str(no_pid), "0",
                    "ok" if not no_pid else "MISSED")
        summary.add("churn: bedtrace CPU", b.name, "%.1f %%" % pct, "(reported)", "")


# ---- summary ----

class Summary:
    def __init__(self, bts):
        self.names = [b.name for b in bts]
        self.rows = {}  # label -> {"target", "verdict", build -> value}

    def add(self, label, build, value, target, verdict):
        row = self.rows.setdefault(label, {"target": target, "verdict": ""})
        row[build] = value
        if build == "this":
            row["verdict"] = verdict

    def show(self):
        print("\n== Summary   (load %s)" % loadavg())
        w = max([len(k) for k in self.rows] + [10])
        cw = max([len(r.get(n, "")) for r in self.rows.values() for n in self.names] + [10])
        tw = max([len(r["target"]) for r in self.rows.values()] + [6])
        print("%-*s %s %-*s %s" % (w, "", " ".join("%-*s" % (cw, n) for n in self.names),
                                   tw, "target", "this build"))
        for label, row in self.rows.items():
            print("%-*s %s %-*s %s" % (w, label, " ".join(
                "%-*s" % (cw, row.get(n, "")) for n in self.names), tw, row["target"],
                                       row["verdict"]))


def main():
    if os.geteuid() != 0:
        raise SystemExit("fleet_bench.py needs root")
    bts = builds()
    print("# %s" % " ".join([sys.executable] + sys.argv))
    for b in bts:
        print("# %s: %s" % (b.name, b.path))
    print("# %d CPUs, kernel %s, load %s at start" % (os.cpu_count(), os.uname().release,
                                                       loadavg()))
    work = tempfile.mkdtemp(prefix="bt-fleetbench-")
    summary = Summary(bts)
    try:
        progs = Programs(work)
        parts = [("memory", lambda: memory(bts, work, summary)),
                 ("idle", lambda: idle(bts, work, progs, summary)),
                 ("tax", lambda: tax(bts, work, progs, summary)),
                 ("churn", lambda: churn(bts, work, progs, summary))]
        if ONLY and ONLY not in dict(parts):
            raise SystemExit("--only takes one of: %s" % ", ".join(n for n, _ in parts))
        for name, fn in parts:
            if not ONLY or ONLY == name:
                fn()
        summary.show()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import benchcli  # noqa: E402
    benchcli.run(main, __doc__)
