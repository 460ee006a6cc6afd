# SPDX-License-Identifier: MIT
"""Per-program BPF run time for the benchmarks' --bpf-stats option: the kernel's own accounting
(kernel.bpf_stats_enabled=1: run_cnt and run_time_ns of every program, read with
`bpftool prog show -j`), as deltas over a measured window.

Accounting costs two clock reads per program run, so a benchmark prints these figures beside
timings measured with the same setting, never mixed with timings measured without it."""
import json
import os
import subprocess

SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"


class Stats:
    """Turns accounting on for its lifetime (`with Stats() as s:`), restoring the setting after."""

    def __enter__(self):
        with open(SYSCTL) as f:
            self.before = f.read().strip()
        with open(SYSCTL, "w") as f:
            f.write("1")
        return self

    def __exit__(self, *exc):
        with open(SYSCTL, "w") as f:
            f.write(self.before)
        return False


def snapshot():
    """{program id: (name, run_cnt, run_time_ns)} of every loaded program."""
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: (p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0))
            for p in json.loads(out)}


def programs_of(pid):
    """Ids of the BPF programs process @pid holds open (its fds' fdinfo `prog_id:`): other
    tracers on the machine load programs of the same names."""
    ids = set()
    base = "/proc/%d/fdinfo" % pid
    try:
        fds = os.listdir(base)
    except OSError:
        return ids
    for fd in fds:
        try:
            with open(os.path.join(base, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def delta(before, after, ids=None):
    """[(name, runs, ns per run)] of the programs (of @ids, if given) that ran between two
    snapshots, most runs first; programs loaded in between count from zero."""
    rows = []
    for pid, (name, cnt, ns) in after.items():
        if ids is not None and pid not in ids:
            continue
        _, cnt0, ns0 = before.get(pid, (name, 0, 0))
        if cnt > cnt0:
            rows.append((name, cnt - cnt0, (ns - ns0) / (cnt - cnt0)))
    return sorted(rows, key=lambda r: -r[1])


def fmt(rows, limit=6):
    """One line: `name ns/run x runs, ...`."""
    return ", ".join("%s %.1f ns x %d" % (n, ns, c) for n, c, ns in rows[:limit]) or \
        "no program ran"
