# SPDX-License-Identifier: MIT
"""How bedtrace ends and what it says then: capture loss recorded in the output, one set of span
counts that add up, exit status 3 when spans were not delivered, the launched command's status,
a prompt exit after many targets, and stop requests honoured during an event flood."""
import http.server
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

from harness import BEDTRACE, TARGETS, by_name, check, check_eq, read_spans, run, test

TARGET = os.path.join(TARGETS, "bt_target")


def summary(err):
    """The one 'spans: …' line and its numbers: (produced, {destination: (delivered, dropped)})."""
    lines = [l for l in err.splitlines() if "spans: " in l and " produced" in l]
    check_eq(len(lines), 1, "summary lines in %r" % err)
    produced = int(re.search(r"spans: (\d+) produced", lines[0]).group(1))
    dests = {}
    for m in re.finditer(r"; (\d+) delivered to (\S+?)(?:, (\d+) dropped)?(?=;|$)", lines[0]):
        dests[m.group(2)] = (int(m.group(1)), int(m.group(3) or 0))
    check(dests, "no destination in %r" % lines[0])
    for dest, (delivered, dropped) in dests.items():
        check_eq(delivered + dropped, produced, "delivered + dropped for %s (%s)" % (dest, err))
    return produced, dests


def spawn_ready(*args):
    p = subprocess.Popen([TARGET] + list(args), stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    check(line.startswith("ready"), "target did not start: %r" % line)
    return p


def launch_ready(out, specs, *target_args):
    """Starts bedtrace (-o @out, no capture, -f each of @specs) launching TARGET @target_args;
    returns (Popen, target pid) once the target printed its ready line."""
    args = [BEDTRACE, "-o", out, "--no-tls", "--no-sockets"]
    for spec in specs:
        args += ["-f", spec]
    bt = subprocess.Popen(args + ["--", TARGET] + list(target_args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    line = bt.stdout.readline()
    if not line.startswith("ready"):
        reap(bt)
        check(False, "target did not start: %r" % line)
    return bt, int(line.split()[1])


def reap(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def read_some_spans(path, *needles):
    """Counts the spans in @path; parses only the lines holding one of @needles (a flood's
    output is too large to decode whole). Returns (count, spans of those lines, incomplete)."""
    n = incomplete = 0
    keep = []
    with open(path) as f:
        for line in f:
            n += line.count('"spanId":')
            incomplete += line.count('"bedtrace.capture.incomplete"')
            if any(x in line for x in needles):
                with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as one_line:
                    one_line.write(line)
                    one_line.flush()
                    keep += read_spans(one_line.name)
    return n, keep, incomplete


@test
def capture_loss_is_recorded_in_the_output():
    """bedtrace stopped while the target floods calls: the loss is a span in the file, with
    the interval, the process and the count the exit summary prints, and the open trace's root
    is marked incomplete."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.jsonl")
        bt, pid = launch_ready(out, ["tick", "spin"], "spin", "3")
        try:
            time.sleep(0.5)
            t_stop = time.time_ns()
            bt.send_signal(signal.SIGSTOP)
            time.sleep(1.5)
            bt.send_signal(signal.SIGCONT)
            t_cont = time.time_ns()
            _, err = bt.communicate(timeout=60)
        finally:
            reap(bt)
        check_eq(bt.returncode, 0, "bedtrace exit code (%s)" % err)
        n_spans, spans, incomplete = read_some_spans(out, "bedtrace.capture.loss",
                                                     '"name":"spin"')
    m = re.search(r"dropped: (\d+) call events lost", err)
    check(m, "no call-event loss at exit: %s" % err)
    lost = int(m.group(1))
    losses = by_name(spans, "bedtrace.capture.loss")
    check(losses, "no bedtrace.capture.loss span in the output")
    check_eq(sum(s.attrs.get("bedtrace.loss.call_events", 0) for s in losses), lost,
             "call events lost: records vs exit summary")
    # the ring is full well within 0.6 s of the stop; loss records tile the time after that
    covered, want_end = t_stop + 600_000_000, t_cont - 100_000_000
    for s in sorted(losses, key=lambda s: s.start):
        if s.start <= covered:
            covered = max(covered, s.end)
    check(covered >= want_end, "loss records do not cover the stop [%d, %d]: %r" % (
        t_stop, t_cont, [(s.start, s.end) for s in losses]))
    for s in losses:
        check_eq(s.kind, 1, "loss record kind")
        check_eq(s.parent_id, "", "loss record is its own trace")
        check_eq(s.attrs.get("process.pid"), pid, "loss attributed to the one target")
        check_eq(s.resource.get("process.pid"), pid, "loss record resource")
    roots = by_name(spans, "spin")
    check_eq(len(roots), 1, "spin spans")
    check_eq(roots[0].attrs.get("bedtrace.capture.incomplete"), True,
             "root open during the loss marked incomplete")
    check(incomplete > 1, "no tick span near the loss marked incomplete")
    produced, _ = summary(err)
    check_eq(produced, n_spans, "spans produced vs spans in the file")


@test
def drop_counts_exact_under_two_thread_overload():
    """Two threads flood calls while bedtrace is stopped: every call is a span or counted lost."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.jsonl")
        bt, _ = launch_ready(out, ["tick"], "flood2", "1500000")
        try:
            time.sleep(0.4)
            bt.send_signal(signal.SIGSTOP)
            time.sleep(1.0)
            bt.send_signal(signal.SIGCONT)
            rest, err = bt.communicate(timeout=120)
        finally:
            reap(bt)
        check_eq(bt.returncode, 0, "bedtrace exit code (%s)" % err)
        calls = int(re.search(r"calls (\d+)", rest).group(1))
        ticks = 0
        with open(out) as f:
            for l in f:
                ticks += l.count('"name":"tick"')
    m = re.search(r"dropped: (\d+) call events lost", err)
    lost = int(m.group(1)) if m else 0
    check(lost > 0, "the overload lost nothing (%s)" % err)
    check_eq(ticks + lost, calls, "tick spans %d + lost %d vs calls" % (ticks, lost))


@test
def sigint_in_launch_mode_drops_no_returns():
    """Probes removed at SIGINT while calls run: no return is reported as lost or unmatched."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.jsonl")
        bt, _ = launch_ready(out, ["tick", "spin"], "spin", "2")
        try:
            time.sleep(0.5)
            bt.send_signal(signal.SIGINT)
            _, err = bt.communicate(timeout=60)
        finally:
            reap(bt)
    check(not [l for l in err.splitlines() if "returns" in l],
          "returns counted at a SIGINT in launch mode: %s" % err)


@test
def no_loss_no_record():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.jsonl")
        p = subprocess.run([BEDTRACE, "-o", out, "-f", "level*", "--", TARGET, "nested"],
                           capture_output=True, text=True, timeout=60)
        spans = read_spans(out)
    check_eq(p.returncode, 0, "exit code (%s)" % p.stderr)
    check_eq(by_name(spans, "bedtrace.capture.loss"), [], "loss records")
    check(not any("bedtrace.capture.incomplete" in s.attrs for s in spans), "incomplete marks")
    check("nothing dropped" in p.stderr, "summary: %r" % p.stderr)
    check_eq(summary(p.stderr)[0], 15, "spans produced")


@test
def flood_does_not_hide_duration():
    target = spawn_ready("spin", "30")
    try:
        t0 = time.time()
        p = subprocess.run([BEDTRACE, "-o", os.path.join(tempfile.gettempdir(), "bt-exit-sink.jsonl"), "--no-tls", "--no-sockets", "-f", "tick",
                            "-p", str(target.pid), "-d", "2"],
                           capture_output=True, text=True, timeout=60)
        took = time.time() - t0
    finally:
        reap(target)
    check_eq(p.returncode, 0, "exit code (%s)" % p.stderr)
    check(took < 6.0, "-d 2 under a flood of calls took %.1f s" % took)


@test
def flood_does_not_hide_sigterm():
    target = spawn_ready("spin", "30")
    bt = subprocess.Popen([BEDTRACE, "-o", os.path.join(tempfile.gettempdir(), "bt-exit-sink.jsonl"), "--no-tls", "--no-sockets", "-f", "tick",
                           "-p", str(target.pid)], stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.5)
        t0 = time.time()
        bt.send_signal(signal.SIGTERM)
        try:
            bt.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        took = time.time() - t0
        check(bt.returncode is not None and took < 3.0,
              "SIGTERM under a flood: still running after %.1f s" % took)
        check_eq(bt.returncode, 0, "exit code")
    finally:
        reap(bt)
        reap(target)


@test
def exit_within_a_second_of_many_targets():
    targets = [subprocess.Popen([TARGET, "loop", "100", "30"], stdout=subprocess.DEVNULL)
               for _ in range(50)]
    args = []
    for t in targets:
        args += ["-p", str(t.pid)]
    bt = subprocess.Popen([BEDTRACE, "-o", os.path.join(tempfile.gettempdir(), "bt-exit-sink.jsonl"), "--no-tls", "--no-sockets", "-f", "tick"]
                          + args, stderr=subprocess.PIPE, text=True)
    try:
        for t in targets:
            t.wait(timeout=30)
        t_last = time.time()
        bt.wait(timeout=60)
        took = time.time() - t_last
        err = bt.stderr.read()
    finally:
        reap(bt)
        for t in targets:
            reap(t)
    check_eq(bt.returncode, 0, "exit code (%s)" % err)
    check(took < 1.0, "bedtrace exited %.2f s after the last of 50 targets" % took)


@test
def disk_full_exit_status_3_and_counts_add_up():
    d = tempfile.mkdtemp()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], check=True)
    try:
        out = os.path.join(d, "out.jsonl")
        p = subprocess.run([BEDTRACE, "-o", out, "--no-tls", "--no-sockets", "-f", "tick", "--",
                            TARGET, "loop", "3000", "0"], capture_output=True, text=True,
                           timeout=60)
        in_file = len(read_spans(out))
    finally:
        subprocess.run(["umount", d], check=True)
        os.rmdir(d)
    check_eq(p.returncode, 3, "exit code (%s)" % p.stderr)
    produced, dests = summary(p.stderr)
    delivered, dropped = dests[out]
    check_eq(produced, 3000, "spans produced")
    check(dropped > 0, "nothing dropped on a full disk")
    check_eq(in_file, delivered, "spans in the file vs delivered")
    check(re.search(r"dropped: %d spans not delivered to %s \(%d write failed; last cause: "
                    r"No space left on device\)" % (dropped, re.escape(out), dropped), p.stderr),
          "drop line: %s" % p.stderr)
    check(re.search(r"exit status 3: %d of %d spans" % (dropped, produced), p.stderr),
          "exit-status line: %s" % p.stderr)
    check("nothing dropped" not in p.stderr and "exported" not in p.stderr,
          "contradicting lines: %s" % p.stderr)


class Collector:
    """A local OTLP/HTTP endpoint answering every request with one status."""

    def __init__(self, status):
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                body = b'{"code":3,"message":"test collector"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/v1/traces" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def run_against(status):
    c = Collector(status)
    try:
        t0 = time.time()
        p = subprocess.run([BEDTRACE, "--otlp-endpoint", c.url, "--no-tls", "--no-sockets", "-f",
                            "tick", "--", TARGET, "loop", "3000", "0"], capture_output=True,
                           text=True, timeout=60)
        took = time.time() - t0
    finally:
        c.close()
    check(c.requests > 0, "the collector saw no request")
    check(took < 20, "took %.1f s" % took)
    check_eq(p.returncode, 3, "exit code (%s)" % p.stderr)
    produced, dests = summary(p.stderr)
    check_eq(produced, 3000, "spans produced")
    check_eq(dests[c.url], (0, 3000), "delivered, dropped")
    check("nothing dropped" not in p.stderr, "contradiction: %s" % p.stderr)
    check(re.search(r"exit status 3: 3000 of 3000 spans", p.stderr), "exit line: %s" % p.stderr)
    return p.stderr


@test
def collector_503_exit_status_3():
    # retryable (OTLP/HTTP: 429, 502, 503, 504): still queued when the exit window closes
    err = run_against(503)
    check(re.search(r"dropped: 3000 spans not delivered to \S+ \(3000 not sent by exit; last "
                    r"cause: HTTP 503\)", err), "drop line: %s" % err)


@test
def collector_500_exit_status_3():
    # OTLP/HTTP: every 4xx/5xx not listed as retryable is final, 500 included
    err = run_against(500)
    check(re.search(r"dropped: 3000 spans not delivered to \S+ \(3000 refused by the collector; "
                    r"last cause: HTTP 500\)", err), "drop line: %s" % err)


@test
def collector_400_exit_status_3():
    err = run_against(400)
    check(re.search(r"dropped: 3000 spans not delivered to \S+ \(3000 refused by the collector; "
                    r"last cause: HTTP 400\)", err), "drop line: %s" % err)


@test
def launched_command_status_is_bedtrace_status():
    p = subprocess.run([BEDTRACE, "-o", os.path.join(tempfile.gettempdir(), "bt-exit-sink.jsonl"), "-f", "lj_after", "--", TARGET, "status",
                        "7"], capture_output=True, text=True, timeout=60)
    check_eq(p.returncode, 7, "exit code (%s)" % p.stderr)
    check(re.search(r"process \d+ \(bt_target\) exited with status 7", p.stderr), p.stderr)
    p = subprocess.run([BEDTRACE, "-o", os.path.join(tempfile.gettempdir(), "bt-exit-sink.jsonl"), "-f", "lj_after", "--", TARGET, "status",
                        "kill", "15"], capture_output=True, text=True, timeout=60)
    check_eq(p.returncode, 128 + 15, "exit code (%s)" % p.stderr)
    check(re.search(r"process \d+ \(bt_target\) was killed by signal SIGTERM \(15\)", p.stderr),
          p.stderr)
    p = subprocess.run([BEDTRACE, "-o", os.path.join(tempfile.gettempdir(), "bt-exit-sink.jsonl"), "-f", "lj_after", "--", TARGET, "status",
                        "0"], capture_output=True, text=True, timeout=60)
    check_eq(p.returncode, 0, "exit code (%s)" % p.stderr)
    check("exited with" not in p.stderr, p.stderr)


@test
def attached_target_death_is_reported():
    target = spawn_ready("loop", "1000", "10")
    bt = subprocess.Popen([BEDTRACE, "-o", os.path.join(tempfile.gettempdir(), "bt-exit-sink.jsonl"), "--no-tls", "--no-sockets", "-f", "tick",
                           "-p", str(target.pid)], stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        target.send_signal(signal.SIGKILL)
        target.wait()
        _, err = bt.communicate(timeout=10)
    finally:
        reap(bt)
        reap(target)
    check_eq(bt.returncode, 0, "exit code of bedtrace -p (%s)" % err)
    check(re.search(r"process %d \(bt_target\) was killed by signal SIGKILL \(9\)" % target.pid,
                    err), "summary: %s" % err)


if __name__ == "__main__":
    run()
