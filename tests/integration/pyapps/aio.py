# SPDX-License-Identifier: MIT
"""Two asyncio tasks that overlap (tests/integration/test_python.py): task_a and task_b each run
ROUNDS rounds of "sleep 20 ms, then 5 ms of CPU work" (work_a, work_b), interleaved on one event
loop thread. Prints one JSON line per work call ({"fn", "tid", "start", "end"}) and the def lines.
"""
import asyncio
import json
import sys
import threading
import time

sys.dont_write_bytecode = True
ROUNDS = 4


def busy(fn):
    t0 = time.time_ns()
    deadline = time.perf_counter() + 0.005
    while time.perf_counter() < deadline:
        pass
    print(json.dumps({"fn": fn, "tid": threading.get_native_id(), "start": t0,
                      "end": time.time_ns()}), flush=True)


def work_a():
    busy("work_a")


def work_b():
    busy("work_b")


async def task_a():
    for _ in range(ROUNDS):
        await asyncio.sleep(0.020)
        work_a()


async def task_b():
    await asyncio.sleep(0.007)
    for _ in range(ROUNDS):
        await asyncio.sleep(0.020)
        work_b()


async def main():
    await asyncio.gather(task_a(), task_b())


if __name__ == "__main__":
    print(json.dumps({"defs": {f.__name__: f.__code__.co_firstlineno
                               for f in (work_a, work_b, task_a, task_b)}}), flush=True)
    time.sleep(0.3)  # the sampler finds the interpreter before the tasks run
    asyncio.run(main())
