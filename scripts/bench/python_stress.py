#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""How often --python gets the test service wrong: tests/integration/pyapps/app.py (3 threads,
--requests N each: retrieve, assemble, a Bedrock call) traced RUNS times by `bedtrace --python`
against the local Bedrock replay server, each run checked exactly as test_python.py checks its
3 x 2 run (span counts, times within two periods, nesting, the Bedrock span under call_bedrock).
Many more calls than the test makes, so that rare misreadings (a call split in two, one ended
early, a request placed in the wrong step) show as a rate.

Printed per run: ok or the first check that failed, and bedtrace's -v sampler line (stacks read,
torn, read again, rounds late, longest gap, sampler CPU); then failures of RUNS.

Usage: sudo scripts/bench/python_stress.py [--runs N] [--requests N] [--python PATH]
       (BEDTRACE=PATH in the environment measures another build)
"""
import os
import shutil
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.dont_write_bytecode = True

import test_python as T  # noqa: E402


def arg(name, default, conv=str):
    return conv(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


RUNS = arg("--runs", 10, int)
REQUESTS = arg("--requests", 10, int)
PYTHON = arg("--python", T.PY)


def main():
    if os.environ.get("BEDTRACE"):
        T.BEDTRACE = os.environ["BEDTRACE"]
    T.WORK = tempfile.mkdtemp(prefix="bt-pystress-")
    fails = 0
    try:
        for i in range(RUNS):
            r = T.launch(PYTHON, T.app_args(T.replay(), 3, REQUESTS), T.GLOBS, label="r%d" % i)
            line = next((ln.split("python: ", 1)[1] for ln in r.stderr.splitlines()
                         if "thread stacks read" in ln), "(no sampler line)")
            try:
                T.check_service("run %d" % i, r, 3, REQUESTS, bedrock=r.defs["boto3"])
                print("ok   %2d  %s" % (i, line), flush=True)
            except AssertionError as e:
                fails += 1
                print("FAIL %2d  %s\n         %s" % (i, str(e).splitlines()[0][:300], line),
                      flush=True)
    finally:
        T.SERVERS.stop()
        shutil.rmtree(T.WORK, ignore_errors=True)
    print("%d failed of %d runs (%s, 3 threads x %d requests)" % (fails, RUNS, PYTHON, REQUESTS))


if __name__ == "__main__":
    main()
