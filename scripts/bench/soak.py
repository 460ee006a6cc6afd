#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Leak check: bedtrace's resident memory while a target makes 100,000 traced calls/s for
--minutes (default 5), sampled every 15 s, with the drop counts at the end. A flat series after
the first samples (the ring buffer and the span batch are allocated early) means no leak.
Usage: sudo scripts/bench/soak.py [--minutes M] [--rate CALLS_PER_S]"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BEDTRACE = os.path.join(ROOT, "bedtrace")
MINUTES = float(sys.argv[sys.argv.index("--minutes") + 1]) if "--minutes" in sys.argv else 5
RATE = int(sys.argv[sys.argv.index("--rate") + 1]) if "--rate" in sys.argv else 100000


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("VmRSS")][0].split()[1])


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    work = tempfile.mkdtemp(prefix="bt-soak-")
    target = os.path.join(work, "bench_target")
    subprocess.check_call(["gcc", "-O2", "-o", target,
                           os.path.join(os.path.dirname(__file__), "bench_target.c")])
    secs = int(MINUTES * 60)
    t = subprocess.Popen([target, "rate", "push", str(RATE), str(secs + 5)],
                         stdout=subprocess.PIPE, text=True)
    t.stdout.readline()
    out = os.path.join(work, "spans.jsonl")
    bt = subprocess.Popen([BEDTRACE, "--no-tls", "--no-sockets", "-f", "f_push", "-p",
                           str(t.pid), "-o", out], stderr=subprocess.PIPE, text=True)
    print("# bedtrace RSS at %d traced calls/s for %.1f min" % (RATE, MINUTES))
    start = time.time()
    samples = []
    while time.time() - start < secs and bt.poll() is None:
        time.sleep(15)
        # the span file grows by design; keep the disk small without reopening it
        os.truncate(out, 0)
        samples.append(rss_kib(bt.pid))
        print("%6.0f s  RSS %7.1f MiB" % (time.time() - start, samples[-1] / 1024), flush=True)
    t.wait()
    _, err = bt.communicate(timeout=60)
    print("first sample %.1f MiB, last %.1f MiB, max %.1f MiB" % (
        samples[0] / 1024, samples[-1] / 1024, max(samples) / 1024))
    for line in err.splitlines():
        print("  " + line)


if __name__ == "__main__":
    import benchcli  # noqa: E402
    benchcli.run(main, __doc__)
