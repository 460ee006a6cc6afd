#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What copying one 16 KiB TLS chunk costs a uprobe program, by destination (the breakdown in
the README's "Where the time goes"): into a per-CPU buffer, into a ring-buffer record (64 MiB or
2 MiB ring), or the record reserved and committed without the copy; the ring's reader touching
two bytes of each record or every cache line of it (as bedtrace's reader, which parses it).
Target on CPU 1, reader on CPU 0; ns per program run from kernel.bpf_stats_enabled.
Usage: sudo scripts/bench/copy_cost.py [--rounds N]"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import bpfstats  # noqa: E402

ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
CASES = [  # (label, mode, ring bytes, reader touches every line)
    ("per-CPU buffer", 0, 64 << 20, 0),
    ("64 MiB ring, copy", 1, 64 << 20, 0),
    ("64 MiB ring, no copy", 2, 64 << 20, 0),
    ("2 MiB ring, copy", 1, 2 << 20, 0),
    ("64 MiB ring, copy, reader reads all", 1, 64 << 20, 1),
    ("2 MiB ring, copy, reader reads all", 1, 2 << 20, 1),
]


def pin(pid, cpu):
    for tid in os.listdir("/proc/%d/task" % pid):
        os.sched_setaffinity(int(tid), {cpu})


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    work = tempfile.mkdtemp(prefix="bt-copy-")
    obj, exe = os.path.join(work, "copy_cost.bpf.o"), os.path.join(work, "copy_cost")
    subprocess.check_call(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86",
                           "-I" + os.path.join(ROOT, "build"), "-c",
                           os.path.join(HERE, "copy_cost.bpf.c"), "-o", obj])
    subprocess.check_call(["gcc", "-O2", "-o", exe, os.path.join(HERE, "copy_cost.c"), "-lbpf"])
    print("# %s" % " ".join([sys.executable] + sys.argv))
    with bpfstats.Stats():
        for label, mode, ring, touch in CASES:
            t = subprocess.Popen([exe, "target", "20000"], stdout=subprocess.PIPE, text=True)
            ld = None
            try:
                pin(t.pid, 1)
                t.stdout.readline()
                ld = subprocess.Popen([exe, "load", obj, exe, str(t.pid), str(mode), str(ring),
                                       str(touch)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
                if ld.stdout.readline().strip() != "attached":
                    sys.exit("copy_cost did not attach")
                pin(ld.pid, 0)
                t.stdout.readline()  # the round that straddled the attach
                before = bpfstats.snapshot()
                for _ in range(ROUNDS):
                    t.stdout.readline()
                rows = bpfstats.delta(before, bpfstats.snapshot(), bpfstats.programs_of(ld.pid))
                print("%-38s %s" % (label, bpfstats.fmt(rows)), flush=True)
            finally:
                t.kill()
                t.wait()
                if ld:
                    ld.stdin.close()
                    ld.wait()


if __name__ == "__main__":
    import benchcli  # noqa: E402
    benchcli.run(main, __doc__)
