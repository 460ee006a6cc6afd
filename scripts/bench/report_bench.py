#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The input side of `bedtrace report` at scale: 1 GiB of OTLP JSON Lines (scripts/bench/
report_gen.py, a fixed seed) read by rp_read (user/report/reader.c) through the small driver
build/tools/report_read (`make test-fixtures` builds it), measured from outside: wall time of
the driver's process and its maximum resident set (wait4's ru_maxrss); then the whole audit as
a user runs it, `./bedtrace report --format json` and `--html`, measured the same way. The
issue's budget for the whole report is 30 s and 512 MiB on a 2-core machine. The file goes to a temporary directory, removed afterwards (--keep DIR keeps it).

--lean generates report_gen.py's lean mix (about 2.7 million spans per GiB, near the issue's 3)
instead of its default (about 2 million).
With --gzip the same content is also read gzip-compressed (report_gen.py --gzip, level 1).
--runs N reads each file N times (default 3) and prints the median and the worst run.

Usage: scripts/bench/report_bench.py [--bytes N] [--seed S] [--lean] [--gzip] [--runs N]
                                     [--keep DIR]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GEN = os.path.join(ROOT, "scripts", "bench", "report_gen.py")
DRIVER = os.path.join(ROOT, "build", "tools", "report_read")
BEDTRACE = os.path.join(ROOT, "bedtrace")
BUDGET_S = 30.0
BUDGET_MIB = 512.0


def measure(path):
    """(wall seconds, max RSS MiB, driver's figures) of one read of path."""
    t0 = time.monotonic()
    p = subprocess.Popen([DRIVER, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read()
    # wait4: the rusage of this child alone
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        sys.exit("report_read %s failed (%d): %s" % (path, p.returncode, out.decode().strip()))
    words = out.decode().split("\n")[-2].split()
    figures = dict(zip(words[::2], (int(w) for w in words[1::2])))
    return wall, ru.ru_maxrss / 1024.0, figures


def measure_report(args, path):
    """(wall seconds, max RSS MiB) of one whole `bedtrace report ARGS path`, output discarded."""
    t0 = time.monotonic()
    p = subprocess.Popen([BEDTRACE, "report"] + args + [path], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status):
        sys.exit("bedtrace report %s failed: %s" % (" ".join(args), err.decode().strip()))
    return wall, ru.ru_maxrss / 1024.0


def report_whole(path, runs, tmp):
    """The whole audit (read, filter, analyze, print) as a user runs it; True within budget."""
    ok = True
    for label, args in (("json", ["--format", "json"]),
                        ("html", ["--html", os.path.join(tmp, "report.html")])):
        res = [measure_report(args, path) for _ in range(runs)]
        worst = max(r[0] for r in res)
        rss = max(r[1] for r in res)
        print("       bedtrace report %-18s median %.2f s, worst %.2f s, max RSS %.0f MiB "
              "(budget %.0f s, %.0f MiB)" % (" ".join(a if "/" not in a else "FILE" for a in args),
                                            statistics.median(r[0] for r in res), worst, rss,
                                            BUDGET_S, BUDGET_MIB))
        ok &= worst <= BUDGET_S and rss <= BUDGET_MIB
    return ok


def report(label, path, runs, size):
    """Prints the figures of reading path, holding size bytes of JSON; True within budget."""
    res = [measure(path) for _ in range(runs)]
    walls = [r[0] for r in res]
    rss = max(r[1] for r in res)
    fig = res[-1][2]
    med = statistics.median(walls)
    print("%-6s %7.1f MiB of JSON (%.1f MiB on disk)  %d spans  %d lines  %d bad" %
          (label, size / 2**20, os.path.getsize(path) / 2**20, fig["spans"], fig["lines"],
           fig["bad_lines"]))
    print("       read: median %.2f s, worst %.2f s (%d runs)  %.0f MiB/s of JSON  "
          "%.2f M spans/s" % (med, max(walls), runs, (size / 2**20) / med,
                               fig["spans"] / med / 1e6))
    print("       max RSS %.0f MiB (%.0f bytes per span); strings %d, kept attributes %d in %d "
          "sets" % (rss, rss * 2**20 / max(fig["spans"], 1), fig["strings"], fig["attrs"],
                    fig["attr_sets"]))
    print("       budget of the whole report: %.0f%% of %.0f s, %.0f%% of %.0f MiB" %
          (100 * max(walls) / BUDGET_S, BUDGET_S, 100 * rss / BUDGET_MIB, BUDGET_MIB))
    return max(walls) <= BUDGET_S and rss <= BUDGET_MIB


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bytes", type=int, default=1 << 30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", metavar="DIR")
    ap.add_argument("--lean", action="store_true")
    a = ap.parse_args()
    if not os.access(DRIVER, os.X_OK):
        sys.exit("%s is missing: make test-fixtures" % DRIVER)
    tmp = a.keep or tempfile.mkdtemp(prefix="bt_report_bench_")
    os.makedirs(tmp, exist_ok=True)
    ok = True
    try:
        plain = os.path.join(tmp, "spans.jsonl")
        t0 = time.monotonic()
        lean = ["--lean"] if a.lean else []
        subprocess.run([sys.executable, GEN, "--bytes", str(a.bytes), "--seed", str(a.seed),
                        plain] + lean, check=True)
        print("generated %s in %.1f s" % (plain, time.monotonic() - t0))
        size = os.path.getsize(plain)
        ok &= report("plain", plain, a.runs, size)
        if os.access(BEDTRACE, os.X_OK):
            ok &= report_whole(plain, a.runs, tmp)
        if a.gzip:
            gz = os.path.join(tmp, "spans.jsonl.gz")
            subprocess.run([sys.executable, GEN, "--bytes", str(a.bytes), "--seed",
                            str(a.seed), "--gzip", gz] + lean, check=True)
            ok &= report("gzip", gz, a.runs, size)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    import benchcli  # noqa: E402
    benchcli.run(main, __doc__)
