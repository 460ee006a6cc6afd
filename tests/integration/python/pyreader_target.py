# SPDX-License-Identifier: MIT
"""A target for tests/integration/test_pyreader.py: `pyreader_target.py [SECONDS [THREADS]]`,
THREADS (default 3) threads in nested functions
(outer -> Cls.inner -> time.sleep, or a busy loop), each printing its native thread id, then a
heartbeat line every 50 ms on the main thread so a test sees that it keeps running."""
import sys
import threading
import time


def busy(stop):
    n = 0
    while not stop.is_set():
        n += 1
    return n


class Cls:
    def inner(self, mode, stop):
        if mode == "sleep":
            while not stop.is_set():
                time.sleep(0.01)
        else:
            busy(stop)


PRINT = threading.Lock()


def say(*words):
    """One whole line per write: threads print concurrently."""
    with PRINT:
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()


def outer(mode, stop, ready):
    say("tid", threading.current_thread().name, threading.get_native_id())
    ready.release()
    Cls().inner(mode, stop)


def main():
    stop = threading.Event()
    ready = threading.Semaphore(0)
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    modes = [("sleep", "sleep", "busy")[i % 3] for i in range(nthreads)]
    threads = [threading.Thread(target=outer, args=(m, stop, ready), name="w%d" % i)
               for i, m in enumerate(modes)]
    for t in threads:
        t.start()
    for _ in threads:
        ready.acquire()
    say("main", threading.get_native_id())
    say("ready")
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    end = time.monotonic() + seconds
    beat = 0
    while time.monotonic() < end:
        time.sleep(0.05)
        beat += 1
        say("beat", beat)
    stop.set()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
