# SPDX-License-Identifier: MIT
"""The /metrics server (user/metrics/prom_server.c, run alone by build/tools/prom_serve) scraped
by a real Prometheus through tests/integration/prom_rig.py: the exposition it serves is what
Prometheus stores (counters, escaped label values, a histogram and its quantiles, values that
change between scrapes), a failing render and a stopped server show as a target that is down,
and the rig's own failures say what happened."""
import os
import subprocess
import tempfile

from harness import ROOT, check, check_eq, run, test
from prom_rig import Prometheus, PrometheusError, free_port

PROM_SERVE = os.path.join(ROOT, "build", "tools", "prom_serve")
JOB = "bt_prom_rig"


def escape_label(v):
    """A label value as the text exposition format writes it."""
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# Not a valid identifier in any language, and every character the format escapes.
ODD_NAME = 'ns::f("x")\\\n'


def exposition(ok=42, odd=3, buckets=(1, 3, 4, 4), total=0.8):
    """A counter with two series, a gauge and a histogram (bounds 0.1, 0.25, 0.5, +Inf)."""
    le = ("0.1", "0.25", "0.5", "+Inf")
    lines = [
        "# HELP bt_test_requests_total Requests served.",
        "# TYPE bt_test_requests_total counter",
        'bt_test_requests_total{code_function_name="handle",status="ok"} %d' % ok,
        'bt_test_requests_total{code_function_name="%s",status="error"} %d' % (
            escape_label(ODD_NAME), odd),
        "# HELP bt_test_latency_seconds Latency.",
        "# TYPE bt_test_latency_seconds histogram",
    ]
    lines += ['bt_test_latency_seconds_bucket{code_function_name="handle",le="%s"} %d' % (b, n)
              for b, n in zip(le, buckets)]
    lines += ['bt_test_latency_seconds_sum{code_function_name="handle"} %g' % total,
              'bt_test_latency_seconds_count{code_function_name="handle"} %d' % buckets[-1],
              "# TYPE bt_test_up gauge", "bt_test_up 1"]
    return "\n".join(lines) + "\n"


SAMPLES = 2 + 4 + 2 + 1  # the series exposition() writes


class PromServe:
    """build/tools/prom_serve on 127.0.0.1 serving a file the test rewrites; a context manager."""

    def __init__(self, text):
        self.tmp = tempfile.mkdtemp(prefix="bt-prom-serve-")
        self.path = os.path.join(self.tmp, "metrics.txt")
        self.proc = None
        self.port = None
        self.write(text)

    def write(self, text):
        """Replaces the metrics at once (a scrape sees the old or the new file, never half)."""
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)

    def remove(self):
        os.unlink(self.path)

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    def __enter__(self):
        check(os.access(PROM_SERVE, os.X_OK), "%s missing: make test-fixtures", PROM_SERVE)
        for _ in range(3):
            port = free_port()
            # the spec as --prometheus takes it: a bare port binds 127.0.0.1
            p = subprocess.Popen([PROM_SERVE, str(port), self.path], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = p.stdout.readline()
            if line.startswith("listening "):
                check_eq(int(line.split()[1]), port, "port")
                self.proc, self.port = p, port
                return self
            err = p.communicate(timeout=10)[1]
            if "in use" not in err:
                self.cleanup()
                raise AssertionError("prom_serve did not start: %r %s" % (line, err))
        self.cleanup()
        raise AssertionError("no free port for prom_serve")

    def stop(self):
        if self.proc is not None:
            self.proc.stdin.close()  # end of stdin: it stops
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("prom_serve did not stop at end of stdin")
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.proc = None
            check_eq(rc, 0, "prom_serve exit status")

    def cleanup(self):
        for name in (self.path, self.path + ".tmp"):
            if os.path.exists(name):
                os.unlink(name)
        os.rmdir(self.tmp)

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.cleanup()


def close_to(want, eps=1e-9):
    return lambda v: abs(v - want) <= eps


@test
def prometheus_stores_what_the_server_exposes():
    with PromServe(exposition()) as srv, Prometheus([srv.target], job=JOB) as prom:
        targets = prom.wait_healthy()
        check_eq(targets[0]["scrapeUrl"], "http://%s/metrics" % srv.target, "scrape URL")
        check_eq(targets[0]["lastError"], "", "last scrape error")
        check_eq(prom.value('up{job="%s"}' % JOB), 1.0, "up")
        # every series parsed, none refused
        check_eq(prom.value('scrape_samples_scraped{job="%s"}' % JOB), float(SAMPLES),
                 "samples scraped")
        names = prom.names()
        for n in ("bt_test_requests_total", "bt_test_latency_seconds_bucket",
                  "bt_test_latency_seconds_sum", "bt_test_latency_seconds_count", "bt_test_up"):
            check(n in names, "%s stored: %r", n, names)
        check_eq(prom.value('bt_test_requests_total{status="ok"}'), 42.0, "counter")
        # the escaped label value arrives as it was before escaping
        series = prom.query('bt_test_requests_total{status="error"}')
        check_eq(len(series), 1, "series of the odd label")
        check_eq(series[0]["metric"]["code_function_name"], ODD_NAME, "unescaped label value")
        check_eq(float(series[0]["value"][1]), 3.0, "its value")
        check_eq(prom.value('sum(bt_test_requests_total{job="%s"})' % JOB), 45.0, "sum")
        # quantiles interpolate inside the bucket that holds the rank: 4 observations,
        # 1 <= 0.1 < 2 <= 0.25 < 1 <= 0.5
        q = 'histogram_quantile(%s, bt_test_latency_seconds_bucket{code_function_name="handle"})'
        check(close_to(0.175)(prom.value(q % "0.5")), "p50 %r", prom.value(q % "0.5"))
        check(close_to(0.4)(prom.value(q % "0.9")), "p90 %r", prom.value(q % "0.9"))
        check_eq(prom.value("bt_test_latency_seconds_count"), 4.0, "histogram count")
        check(close_to(0.8)(prom.value("bt_test_latency_seconds_sum")), "histogram sum")


@test
def values_that_change_between_scrapes():
    with PromServe(exposition()) as srv, Prometheus([srv.target], job=JOB) as prom:
        prom.wait_healthy()
        prom.wait_value('bt_test_requests_total{status="ok"}', close_to(42))
        # ten more calls, all between 0.25 s and 0.5 s: the rate's median is in that bucket
        srv.write(exposition(ok=52, buckets=(1, 3, 14, 14), total=4.5))
        prom.wait_value('bt_test_requests_total{status="ok"}', close_to(52), timeout=10)
        check(prom.value('increase(bt_test_requests_total{status="ok"}[1m])') > 0,
              "increase over the change")
        p50 = prom.wait_value(
            "histogram_quantile(0.5, sum by (le) (rate(bt_test_latency_seconds_bucket[1m])))",
            lambda v: True, timeout=10)
        check(close_to(0.375, 1e-6)(p50), "p50 of the new calls: %r", p50)


@test
def failing_render_and_stopped_server_are_a_target_down():
    with PromServe(exposition()) as srv, Prometheus([srv.target], job=JOB) as prom:
        prom.wait_healthy()
        # the render callback fails (the file is gone): HTTP 500
        srv.remove()
        prom.wait_value('up{job="%s"}' % JOB, close_to(0), timeout=10)
        err = prom.targets()[0]["lastError"]
        check("500" in err, "last error names the status: %r", err)
        # and it recovers
        srv.write(exposition(ok=7))
        prom.wait_value('up{job="%s"}' % JOB, close_to(1), timeout=10)
        prom.wait_value('bt_test_requests_total{status="ok"}', close_to(7), timeout=10)
        srv.stop()
        prom.wait_value('up{job="%s"}' % JOB, close_to(0), timeout=10)
        check_eq(prom.targets()[0]["health"], "down", "health")


@test
def rig_failures_say_what_happened():
    with Prometheus(["127.0.0.1:%d" % free_port()], job=JOB) as prom:
        try:
            prom.query("sum(")
            raise AssertionError("a bad query was accepted")
        except PrometheusError as e:
            check("bad_data" in str(e), "error type in %r", str(e))
        try:
            prom.wait_until("vector(1)", lambda r: False, timeout=0.5)
            raise AssertionError("wait_until did not time out")
        except PrometheusError as e:
            check("vector(1)" in str(e) and "last" in str(e), "timeout message %r", str(e))
        check_eq(prom.value("absent_metric_xyz"), None, "empty vector")
        check_eq(prom.value("scalar(vector(2))"), 2.0, "scalar")
        # nothing listens on the target: scraped, down
        prom.wait_value('up{job="%s"}' % JOB, close_to(0), timeout=10)
    check(prom.proc is None and prom.tmp is None, "stopped and cleaned up")


if __name__ == "__main__":
    run()
