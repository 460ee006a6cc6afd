# SPDX-License-Identifier: MIT
"""Runs first() for 100 ms, then executes itself as a new interpreter that runs second() for
100 ms (tests/integration/test_python.py: an interpreter replaced by exec)."""
import os
import sys
import time

sys.dont_write_bytecode = True


def first():
    time.sleep(0.1)


def second():
    time.sleep(0.1)


if __name__ == "__main__":
    if sys.argv[1:] == ["again"]:
        second()
    else:
        first()
        os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), "again"])
