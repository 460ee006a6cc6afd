# SPDX-License-Identifier: MIT
"""A real Prometheus for the metrics tests: Debian's `prometheus` (scripts/deps.sh installs it)
started on 127.0.0.1 at a free port, with its own temporary storage and a scrape config
pointing at the given targets, and queried over its HTTP API.

    with Prometheus(["127.0.0.1:%d" % port]) as prom:
        prom.wait_healthy()                                 # every target scraped, up
        prom.value('bt_calls_total{code_function_name="f"}')    # one number, or None
        prom.wait_until("sum(bt_calls_total)", lambda r: r and r[0][1] >= 3, timeout=15)
        prom.targets()                                     # [{'scrapeUrl', 'health', ...}]

Scrape interval 1 s by default; the first scrape comes about 5 s after start (Prometheus
applies discovered targets every 5 s, a period 2.42 does not let one change), later ones every
interval. Everything is bounded in time; the server and its storage are removed on exit.
Nothing listens beyond 127.0.0.1.
"""
import json
import math
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

PROMETHEUS = "/usr/bin/prometheus"


def free_port():
    """A TCP port on 127.0.0.1 that nobody listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(result):
    """The value of a one-element instant vector (or a scalar) as a float; None when empty."""
    if not result:
        return None
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return float(result[1])  # scalar: [time, "value"]
    if len(result) != 1:
        raise AssertionError("want one series, got %d: %r" % (len(result), result))
    return float(result[0]["value"][1])


class PrometheusError(AssertionError):
    pass


class Prometheus:
    """A Prometheus server scraping @targets (list of "HOST:PORT") as job @job; a context
    manager. Its log is in self.log (a file) for failure messages."""

    def __init__(self, targets, job="bedtrace", scrape_interval="1s", metrics_path="/metrics",
                 binary=PROMETHEUS, start_timeout=30.0):
        self.targets_list = list(targets)
        self.job = job
        self.scrape_interval = scrape_interval
        self.metrics_path = metrics_path
        self.binary = binary
        self.start_timeout = start_timeout
        self.tmp = None
        self.proc = None
        self.port = None
        self.log = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    # ---- lifecycle ----

    def __enter__(self):
        if not os.access(self.binary, os.X_OK):
            raise PrometheusError("%s is missing: run scripts/deps.sh (Debian's prometheus)"
                                  % self.binary)
        self.tmp = tempfile.mkdtemp(prefix="bt-prom-")
        try:
            self._write_config()
            # The port is free when chosen; another process may take it before Prometheus
            # binds. That shows as an early exit: try another.
            for _ in range(3):
                self.port = free_port()
                if self._start():
                    return self
            raise PrometheusError("prometheus did not start:\n" + self.log_tail())
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()

    def _write_config(self):
        # YAML is a superset of JSON: no YAML writer needed.
        config = {
            "global": {"scrape_interval": self.scrape_interval,
                       "scrape_timeout": self.scrape_interval,
                       "evaluation_interval": self.scrape_interval},
            "scrape_configs": [{
                "job_name": self.job,
                "metrics_path": self.metrics_path,
                "static_configs": [{"targets": self.targets_list}],
            }],
        }
        self.config = os.path.join(self.tmp, "prometheus.yml")
        with open(self.config, "w") as f:
            json.dump(config, f, indent=1)

    def _start(self):
        self.log = os.path.join(self.tmp, "prometheus.log")
        data = os.path.join(self.tmp, "data")
        with open(self.log, "w") as logf:
            self.proc = subprocess.Popen(
                [self.binary, "--config.file=" + self.config,
                 "--storage.tsdb.path=" + data,
                 "--web.listen-address=127.0.0.1:%d" % self.port,
                 "--log.level=info"],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                cwd=self.tmp)
        deadline = time.time() + self.start_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                in_use = "address already in use" in self.log_tail()
                self.proc = None
                shutil.rmtree(data, ignore_errors=True)
                if in_use:
                    return False
                raise PrometheusError("prometheus exited at start:\n" + self.log_tail())
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        raise PrometheusError("prometheus not ready within %.0f s:\n%s" % (
            self.start_timeout, self.log_tail()))

    def stop(self):
        """Stops Prometheus (SIGTERM, then SIGKILL after 20 s) and removes its files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def log_tail(self, n=3000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-n:]
        except (OSError, TypeError):
            return ""

    # ---- HTTP API ----

    def api(self, path, **params):
        """GET /api/v1/@path with @params; returns the "data" member of a success."""
        url = "%s/api/v1/%s" % (self.url, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            # a bad query is a 400 with an error message in the body
            try:
                body = json.load(e)
            except ValueError:
                raise PrometheusError("%s: HTTP %d" % (url, e.code)) from None
        if body.get("status") != "success":
            raise PrometheusError("%s: %s: %s" % (path, body.get("errorType"),
                                                  body.get("error")))
        return body["data"]

    def query(self, expr):
        """The result of an instant query now: a list of {"metric": {...}, "value": [t, "v"]}
        for a vector, [t, "v"] for a scalar."""
        data = self.api("query", query=expr)
        return data["result"]

    def value(self, expr):
        """The one number @expr evaluates to now (a one-series vector or a scalar), or None
        when the vector is empty. NaN and the infinities come back as floats."""
        return sample(self.query(expr))

    def wait_until(self, expr, predicate, timeout=20.0, interval=0.25):
        """Polls query(@expr) until @predicate(result) is true; returns that result. Fails
        with the last result (or error) after @timeout seconds."""
        deadline = time.time() + timeout
        last = None
        while True:
            try:
                last = self.query(expr)
                if predicate(last):
                    return last
            except PrometheusError as e:
                last = e
            if time.time() >= deadline:
                raise PrometheusError("timed out after %.0f s waiting on %s; last: %r\n"
                                      "targets: %r" % (timeout, expr, last, self.targets()))
            time.sleep(interval)

    def wait_value(self, expr, predicate, timeout=20.0):
        """wait_until on the one number @expr gives; returns that number."""
        def ok(result):
            v = sample(result)
            return v is not None and not math.isnan(v) and predicate(v)
        return sample(self.wait_until(expr, ok, timeout))

    def names(self):
        """Every metric name Prometheus has stored (what a scrape brought, for messages)."""
        return self.api("label/__name__/values")

    def targets(self):
        """The active targets: dicts with scrapeUrl, health ("up", "down", "unknown"),
        lastError, lastScrape, labels."""
        return self.api("targets", state="active")["activeTargets"]

    def wait_healthy(self, timeout=20.0):
        """Waits until every configured target was scraped and is up; returns targets()."""
        deadline = time.time() + timeout
        while True:
            ts = self.targets()
            if len(ts) == len(self.targets_list) and all(t["health"] == "up" for t in ts):
                return ts
            if time.time() >= deadline:
                raise PrometheusError("targets not up within %.0f s: %r" % (timeout, [
                    (t["scrapeUrl"], t["health"], t["lastError"]) for t in ts]))
            time.sleep(0.2)
