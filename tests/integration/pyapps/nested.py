# SPDX-License-Identifier: MIT
"""Code objects defined inside a function (tests/integration/test_python.py): outer() calls a
closure, inner(), that spins 30 ms, then builds a list in a comprehension that spins 30 ms. A
comprehension is its own frame (outer.<locals>.<listcomp>) before CPython 3.12 and part of
outer's frame from 3.12 on (PEP 709). Prints {"version": [major, minor]}.
"""
import json
import sys
import time

sys.dont_write_bytecode = True


def spin(seconds):
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass
    return 1


def outer():
    def inner():
        return spin(0.030)

    inner()
    return [spin(0.030) for _ in range(1)]


outer()
print(json.dumps({"version": list(sys.version_info[:2])}), flush=True)
