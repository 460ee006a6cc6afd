# SPDX-License-Identifier: MIT
"""Bedrock integration rig: a local TLS replay server (tests/node/replay-server.js) over the
shared and generated cassettes, throw-away certificates, and real SDK clients (Debian's boto3,
the pinned @aws-sdk v3 packages) run under bedtrace in launch mode.

    with ReplayServer() as srv:
        run = trace_client(srv, "boto3", cassette_path)
        run.spans, run.raw, run.stderr, run.results   # bedtrace's spans, the client's lines

Everything listens on 127.0.0.1 and is stopped on exit; every wait is bounded.
"""
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request

from harness import (BEDTRACE, FIXTURES, ROOT, make_certs, read_spans, start_tls_server,
                     stop_process)

PY = "/usr/bin/python3"
NODE = shutil.which("node") or "/usr/bin/node"
CASSETTES = os.path.join(FIXTURES, "bedrock-cassettes")
AWS_MODELS = os.path.join(FIXTURES, "aws-models")
# the generator's committed output (make_cassettes.py --self-check fails when it is stale)
GENERATED = os.path.join(ROOT, "tests", "data", "eventstream")
BOTO3_CLIENT = os.path.join(ROOT, "tests", "bedrock", "clients", "boto3_client.py")
NODE_CLIENT = os.path.join(ROOT, "tests", "node", "client.js")
SERVER_JS = os.path.join(ROOT, "tests", "node", "replay-server.js")
MAKE_CERT = os.path.join(ROOT, "tests", "node", "make-cert.sh")

CLIENTS = ("boto3", "node-h2", "node-h1")


def all_cassettes():
    """Every cassette file the server loads, shared ones first, sorted by name."""
    out = []
    for d in (CASSETTES, GENERATED):
        out += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".yaml"))
    return out


def cassette_name(path):
    return os.path.basename(path)[: -len(".yaml")]


class ReplayServer:
    """The replay server over CASSETTES and GENERATED; a context manager."""

    def __init__(self, frame_delay_ms=20, latency_ms=0):
        self.frame_delay_ms = frame_delay_ms
        self.latency_ms = latency_ms
        self.tmp = None
        self.proc = None
        self.port = None
        self._ctx = None

    @property
    def endpoint(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def ca(self):
        return os.path.join(self.tmp, "certs", "ca.pem")

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="bt-bedrock-")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _start(self):
        subprocess.run(["bash", MAKE_CERT, os.path.join(self.tmp, "certs")], check=True,
                       capture_output=True, timeout=60)
        ready = os.path.join(self.tmp, "ready")
        self.err_path = os.path.join(self.tmp, "server.err")
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [NODE, SERVER_JS, "--port", "0", "--cert",
                 os.path.join(self.tmp, "certs", "server.pem"), "--key",
                 os.path.join(self.tmp, "certs", "server.key"), "--cassettes", CASSETTES,
                 "--cassettes", GENERATED, "--frame-delay-ms", str(self.frame_delay_ms),
                 "--latency-ms", str(self.latency_ms), "--ready-file", ready],
                stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline:
            if os.path.exists(ready) and os.path.getsize(ready):
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not (os.path.exists(ready) and os.path.getsize(ready)):
            with open(self.err_path, errors="replace") as f:
                raise RuntimeError("replay server did not start: " + f.read()[-2000:])
        with open(ready) as f:
            self.port = json.load(f)["port"]
        self._ctx = ssl.create_default_context(cafile=self.ca)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, context=self._ctx, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def reset(self, names=None):
        """Forgets requests and positions; limits matching to cassettes @names (None: all)."""
        self._call("POST", "/__replay/reset", {"cassettes": names})

    def requests(self):
        return self._call("GET", "/__replay/requests")["requests"]


def secret_env(**extra):
    """Client environment with a fresh, unique session token and secret key."""
    env = dict(os.environ)
    env.update({
        "AWS_DATA_PATH": AWS_MODELS,
        "AWS_ACCESS_KEY_ID": "AKIDBEDTRACETEST",
        "AWS_SECRET_ACCESS_KEY": "btsecret" + secrets.token_hex(16),
        "AWS_SESSION_TOKEN": "btsession" + secrets.token_hex(24),
        "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    })
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
              "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env.update(extra)
    return env


def client_argv(kind, srv, cassette, extra=()):
    common = ["--endpoint", srv.endpoint, "--ca", srv.ca, "--cassette", cassette] + list(extra)
    if kind == "boto3":
        return [PY, BOTO3_CLIENT] + common
    if kind == "node-h2":
        return [NODE, NODE_CLIENT] + common
    if kind == "node-h1":
        return [NODE, NODE_CLIENT, "--http1"] + common
    raise ValueError(kind)


class TracedRun:
    """What one `bedtrace -o OUT [ARGS] -- COMMAND` run left behind."""

    def __init__(self, rc, raw, stdout, stderr, env, requests):
        self.rc = rc
        self.raw = raw  # the output file's bytes
        self.stdout = stdout  # the traced command's stdout (bedtrace writes to the file)
        self.stderr = stderr  # bedtrace's stderr (and the command's)
        self.env = env
        self.requests = requests  # the replay server's log for this run
        self.spans = []
        self._read()
        self.results = []
        for line in stdout.decode(errors="replace").splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    self.results.append(json.loads(line))
                except ValueError:
                    pass

    def _read(self):
        fd, path = tempfile.mkstemp(prefix="bt-spans-", suffix=".jsonl")
        try:
            os.write(fd, self.raw)
            os.close(fd)
            self.spans = read_spans(path)
        finally:
            os.unlink(path)

    def describe(self):
        return "bedtrace rc %s\nstderr:\n%s\nclient stdout:\n%s" % (
            self.rc, self.stderr.decode(errors="replace")[-3000:],
            self.stdout.decode(errors="replace")[-2000:])


def run_traced(argv, env, bedtrace_args=(), timeout=120, srv=None):
    """Runs bedtrace in launch mode around @argv; returns a TracedRun."""
    tmp = tempfile.mkdtemp(prefix="bt-run-")
    out = os.path.join(tmp, "out.jsonl")
    try:
        p = subprocess.run([BEDTRACE, "-o", out] + list(bedtrace_args) + ["--"] + list(argv),
                           capture_output=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
        raw = b""
        if os.path.exists(out):
            mode = os.stat(out).st_mode & 0o777
            assert mode == 0o600, "output file mode %o, want 600" % mode
            with open(out, "rb") as f:
                raw = f.read()
        reqs = srv.requests() if srv else []
        return TracedRun(p.returncode, raw, p.stdout, p.stderr, env, reqs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def trace_client(srv, kind, cassette, bedtrace_args=(), client_args=(), env=None, timeout=120):
    """Scopes the server to @cassette, runs client @kind over it under bedtrace."""
    srv.reset([cassette_name(cassette)])
    env = env or secret_env()
    return run_traced(client_argv(kind, srv, cassette, client_args), env, bedtrace_args,
                      timeout, srv)


def leaked_secrets(run):
    """The secrets of @run's environment found in bedtrace's output file or stderr/stdout."""
    found = []
    for key in ("AWS_SESSION_TOKEN", "AWS_SECRET_ACCESS_KEY"):
        secret = run.env[key].encode()
        for where, data in (("output file", run.raw), ("stderr", run.stderr)):
            if secret in data:
                found.append("%s in %s" % (key, where))
    return found


class SharedServers:
    """The local servers a test file shares, each started on first use, all stopped by stop():
    the TLS test server (tests/integration/tls_server.js) and the Bedrock replay server."""

    def __init__(self):
        self._tls = None  # (Popen, port, CA path)
        self._replay = None

    def tls(self, workdir):
        """(Popen, port, CA path) of the TLS server; its certificates go under @workdir."""
        if self._tls is None:
            certs = make_certs(os.path.join(workdir, "certs"))
            proc, port = start_tls_server(certs)
            self._tls = (proc, port, os.path.join(certs, "ca.pem"))
        return self._tls

    def replay(self):
        if self._replay is None:
            self._replay = ReplayServer(frame_delay_ms=0).__enter__()
        return self._replay

    def stop(self):
        if self._replay is not None:
            self._replay.stop()
            self._replay = None
        if self._tls is not None:
            stop_process(self._tls[0])
            self._tls = None
