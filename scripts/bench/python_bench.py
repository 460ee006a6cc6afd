#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What --python costs, side by side in one run: a 10-thread CPython process (2 threads doing
CPU work in nested functions, 8 waiting in nested functions like a service's I/O threads) runs
ROUNDS rounds of SECONDS each, alternately untraced and sampled by `bedtrace -p PID --python
'pybench.*'` at --sample-hz HZ (1000 by default).

Printed per round and as medians: the target's own work (CPU-thread loop iterations per second;
the slowdown is traced against the neighbouring untraced rounds), bedtrace's CPU as a share of
one core (utime+stime from /proc over the round), the sampler's own thread CPU, spans produced.

Usage: sudo scripts/bench/python_bench.py [--rounds N] [--seconds S] [--hz N] [--python PATH]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BEDTRACE = os.path.join(ROOT, "bedtrace")


def arg(name, default, conv=str):
    return conv(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


ROUNDS = arg("--rounds", 5, int)
SECONDS = arg("--seconds", 4.0, float)
HZ = arg("--hz", 1000, int)
PYTHON = arg("--python", "/usr/bin/python3")
WORK = tempfile.mkdtemp(prefix="bt-pybench-")

TARGET = r'''
import sys, threading, time

def leaf(n):
    s = 0
    for i in range(n):
        s += i * i
    return s

def middle(n):
    return leaf(n) + leaf(n // 2)

def cpu_worker(counter, k):
    while True:
        middle(2000)
        counter[k] += 1

def wait_leaf():
    time.sleep(0.05)

def wait_middle():
    wait_leaf()

def io_worker():
    while True:
        wait_middle()

counter = [0, 0]
for k in range(2):
    threading.Thread(target=cpu_worker, args=(counter, k), daemon=True).start()
for _ in range(8):
    threading.Thread(target=io_worker, daemon=True).start()
print("ready", flush=True)
for line in sys.stdin:
    print(sum(counter), time.monotonic(), flush=True)
'''


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    if os.geteuid() != 0:
        sys.exit("needs root")
    src = os.path.join(WORK, "pybench.py")
    with open(src, "w") as f:
        f.write(TARGET)
    tgt = subprocess.Popen([PYTHON, src], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    assert tgt.stdout.readline().strip() == "ready"
    hz = os.sysconf("SC_CLK_TCK")

    def sample():
        tgt.stdin.write("x\n")
        tgt.stdin.flush()
        n, t = tgt.stdout.readline().split()
        return int(n), float(t)

    rates = {"off": [], "on": []}
    bt_cpu, sampler_cpu, spans = [], [], []
    time.sleep(1.0)  # threads warmed up
    try:
        for rnd in range(ROUNDS * 2):
            traced = rnd % 2 == 1
            bt = None
            if traced:
                out = os.path.join(WORK, "spans.jsonl")
                bt = subprocess.Popen([BEDTRACE, "-v", "-o", out, "-p", str(tgt.pid), "--python",
                                       "pybench.*", "--sample-hz", str(HZ), "--no-tls",
                                       "--no-sockets"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                t_bt = time.monotonic()
                time.sleep(1.0)  # attached and sampling
                c0 = cpu_ticks(bt.pid)
            n0, t0 = sample()
            time.sleep(SECONDS)
            n1, t1 = sample()
            if traced:
                c1 = cpu_ticks(bt.pid)
                bt.send_signal(2)
                _, err = bt.communicate(timeout=30)
                bt_cpu.append((c1 - c0) / hz / (t1 - t0) * 100)
                for line in err.splitlines():
                    if "sampler CPU" in line:
                        ms = float(line.split("sampler CPU")[1].split("ms")[0])
                        sampler_cpu.append(ms / 1000 / (time.monotonic() - t_bt) * 100)
                    if "sampled span(s)" in line:
                        spans.append(int(line.split("python:")[1].split()[0]))
            rates["on" if traced else "off"].append((n1 - n0) / (t1 - t0))
            print("round %d %-3s  %8.0f iterations/s%s" % (
                rnd // 2 + 1, "on" if traced else "off", rates["on" if traced else "off"][-1],
                "  bedtrace %.2f %% of a core" % bt_cpu[-1] if traced else ""), flush=True)
    finally:
        tgt.kill()
        tgt.wait()
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    print()
    print("CPython %s, 10 threads (2 CPU, 8 waiting), %d Hz, %d rounds of %.0f s each way" % (
        subprocess.check_output([PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
                                text=True).strip(), HZ, ROUNDS, SECONDS))
    print("target work: untraced %.0f/s, sampled %.0f/s: slowdown %.2f %% (spread of untraced "
          "rounds %.2f %%)" % (off, on, (1 - on / off) * 100,
                               (max(rates["off"]) - min(rates["off"])) / off * 100))
    print("bedtrace CPU: median %.2f %% of one core (rounds: %s)" % (
        statistics.median(bt_cpu), ", ".join("%.2f" % c for c in bt_cpu)))
    if sampler_cpu:
        print("of which the sampling thread: median %.2f %% of one core (rounds: %s)" % (
            statistics.median(sampler_cpu), ", ".join("%.2f" % c for c in sampler_cpu)))
    if spans:
        print("spans per traced round (incl. attach and stop): %s" % spans)


if __name__ == "__main__":
    import benchcli  # noqa: E402
    benchcli.run(main, __doc__)
