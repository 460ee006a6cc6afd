# SPDX-License-Identifier: MIT
"""A target whose stacks never stand still, for tests/integration/test_pyreader.py: threads that
start and end all the time, recursion of varying depth, generators and coroutines, exceptions;
`pyreader_churn.py SECONDS`. Prints 'ready', then 'done N' with the work it completed."""
import asyncio
import random
import sys
import threading
import time


def recurse(n):
    if n == 0:
        return sum(i for i in range(50))
    return recurse(n - 1) + 1


def gen(n):
    for i in range(n):
        yield recurse(i % 7)


async def co(n):
    await asyncio.sleep(0)
    return recurse(n)


async def many(rnd):
    return await asyncio.gather(*(co(rnd.randrange(30)) for _ in range(5)))


def fails(n):
    try:
        if n % 3 == 0:
            raise ValueError(n)
        return recurse(n % 40)
    except ValueError:
        return -1


def worker(stop, count):
    rnd = random.Random()
    while not stop.is_set():
        k = rnd.randrange(4)
        if k == 0:
            recurse(rnd.randrange(120))
        elif k == 1:
            sum(gen(20))
        elif k == 2:
            asyncio.run(many(rnd))
        else:
            fails(rnd.randrange(100))
        count[0] += 1


def short_lived(count):
    recurse(30)
    count[0] += 1


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5
    stop = threading.Event()
    count = [0]
    threads = [threading.Thread(target=worker, args=(stop, count)) for _ in range(4)]
    for t in threads:
        t.start()
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = threading.Thread(target=short_lived, args=(count,))
        t.start()
        t.join()
    stop.set()
    for t in threads:
        t.join()
    print("done", count[0], flush=True)


if __name__ == "__main__":
    main()
