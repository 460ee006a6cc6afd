#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The OTLP resource of each traced process: service.name and OTEL_RESOURCE_ATTRIBUTES from the
process's own environment (read from /proc/PID/environ) over bedtrace's, the attributes bedtrace
observed (host.id, process.parent_pid, process.owner, ...) over both, and nothing else of the
environment anywhere in the output or the log. A process in its own PID namespace (unshare),
attached by its host PID, carries its namespace PID as process.vpid.
Run as root: /usr/bin/python3 tests/integration/test_resource.py"""
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import (BEDTRACE, _readline_timeout, check, check_eq, read_spans, run,  # noqa: E402
                     stop_process, test, wait_for, wait_for_text)

SECRET = "Zq7wJalrXUtnFEMIK7MDENGbPxRfiCYSECRET"  # shaped like an AWS secret access key


class Server:
    """A plain-HTTP server on 127.0.0.1 answering every GET with a short body."""

    def __enter__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"ok\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()


def machine_id():
    try:
        with open("/etc/machine-id") as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(extra)
    return env


def run_launched(args, env):
    """`bedtrace -v -o OUT ARGS` to completion; returns (bedtrace's pid, rc, spans, raw output
    file text, stdout + stderr)."""
    work = tempfile.mkdtemp(prefix="bt-res-")
    out = os.path.join(work, "out.jsonl")
    try:
        p = subprocess.Popen([BEDTRACE, "-v", "-o", out] + args, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
        stdout, stderr = p.communicate(timeout=60)
        raw = open(out).read() if os.path.exists(out) else ""
        spans = read_spans(out) if raw else []
        return p.pid, p.returncode, spans, raw, stdout + stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)


def gets(spans):
    return [s for s in spans if s.name == "GET" and s.kind == 3]


@test
def launched_process_resource_from_its_environment():
    # bedtrace's environment: the operator's defaults, and a secret the child inherits
    env = base_env(AWS_SECRET_ACCESS_KEY=SECRET, OTEL_SERVICE_NAME="operator-default",
                   OTEL_RESOURCE_ATTRIBUTES="team=operator,site=lab%2C%20rack%201")
    with Server() as srv:
        bt_pid, rc, spans, raw, log = run_launched(
            ["--", "env", "OTEL_SERVICE_NAME=x",
             "OTEL_RESOURCE_ATTRIBUTES=deployment.environment=test, team = a",
             "curl", "-s", "-o", "/dev/null", "http://127.0.0.1:%d/r" % srv.port], env)
    check_eq(rc, 0, "bedtrace exit (%s)" % log)
    found = gets(spans)
    check_eq(len(found), 1, "GET spans (%r)" % spans)
    res = found[0].resource
    check_eq(res.get("service.name"), "x", "service.name: the process's OTEL_SERVICE_NAME")
    check_eq(res.get("deployment.environment"), "test", "the process's attribute")
    check_eq(res.get("team"), "a", "the process's value wins over the operator's")
    check_eq(res.get("site"), "lab, rack 1", "the operator's attribute, percent-decoded")
    check_eq(res.get("process.parent_pid"), bt_pid, "process.parent_pid: bedtrace launched it")
    check_eq(res.get("process.owner"), "root", "process.owner")
    check_eq(res.get("process.executable.name"), "curl", "process.executable.name")
    check(res.get("process.executable.path", "").endswith("/curl"), "executable path %r", res)
    check(isinstance(res.get("process.pid"), int), "process.pid %r", res)
    check("process.vpid" not in res, "no namespace PID in bedtrace's namespace: %r", res)
    check_eq(res.get("host.id"), machine_id(), "host.id: /etc/machine-id")
    check_eq(res.get("telemetry.sdk.name"), "bedtrace", "telemetry.sdk.name")
    # the secret was in the process's environment: never in the output, the log or the resource
    check(SECRET not in raw, "the secret leaked into the output")
    check(SECRET not in log, "the secret leaked into bedtrace's output: %s", log)
    check("AWS_SECRET_ACCESS_KEY" not in raw, "an environment variable name in the output")


@test
def service_name_option_and_malformed_process_attributes():
    env = base_env(AWS_SECRET_ACCESS_KEY=SECRET, OTEL_RESOURCE_ATTRIBUTES="team=operator")
    with Server() as srv:
        _, rc, spans, raw, log = run_launched(
            ["--service-name", "forced", "--", "env", "OTEL_SERVICE_NAME=x",
             "OTEL_RESOURCE_ATTRIBUTES=team=a,leaky" + SECRET,
             "curl", "-s", "-o", "/dev/null", "http://127.0.0.1:%d/m" % srv.port], env)
    check_eq(rc, 0, "bedtrace exit (%s)" % log)
    found = gets(spans)
    check_eq(len(found), 1, "GET spans (%r)" % spans)
    res = found[0].resource
    check_eq(res.get("service.name"), "forced", "--service-name overrides everything")
    # the spec: a malformed value is discarded whole, so the operator's team stays
    check_eq(res.get("team"), "operator", "malformed process attributes dropped whole")
    check("ignoring its OTEL_RESOURCE_ATTRIBUTES" in log, "no debug line for it: %s", log)
    check(SECRET not in log and SECRET not in raw, "the malformed value was printed: %s", log)


def cgroup_mount():
    """Where a cgroup hierarchy that takes any process is mounted: cgroup v2, else v1's pids."""
    v1 = None
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if fstype == "cgroup2":
                return mnt
            if fstype == "cgroup" and "pids" in opts.split(","):
                v1 = mnt
    check(v1, "no cgroup v2 or v1 pids hierarchy mounted")
    return v1


@test
def container_and_pod_ids_from_a_real_cgroup():
    """A client moved into a cgroup named as the kubelet (systemd driver) and containerd name
    theirs, then exec'd: its resource carries the container id and the pod uid."""
    cid = "4c01db0b339c" + "5e7f" * 13
    pod = "7d2fa0b4-51c9-4c3e-9f1a-0b6e2c8d4a11"
    top = os.path.join(cgroup_mount(), "bt-test-kubepods.slice")
    leaf = os.path.join(top, "kubepods-besteffort-pod%s.slice" % pod.replace("-", "_"),
                        "cri-containerd-%s.scope" % cid)
    os.makedirs(leaf)
    try:
        with Server() as srv:
            _, rc, spans, _, log = run_launched(
                ["--", "sh", "-c", 'echo $$ > "$1/cgroup.procs" && exec curl -s -o /dev/null "$2"',
                 "sh", leaf, "http://127.0.0.1:%d/c" % srv.port], base_env())
        check_eq(rc, 0, "bedtrace exit (%s)" % log)
        found = gets(spans)
        check_eq(len(found), 1, "GET spans (%r)" % spans)
        check_eq(found[0].resource.get("container.id"), cid, "container.id")
        check_eq(found[0].resource.get("k8s.pod.uid"), pod, "k8s.pod.uid")
    finally:
        for d in (leaf, os.path.dirname(leaf), top):
            wait_for(lambda: _rmdir(d), 10, "cgroup %s empty" % d)


def _rmdir(d):
    try:
        os.rmdir(d)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


# Inside the namespace: wait for a line, make COUNT GETs, wait for stdin to close.
NS_CLIENT = r"""
import os, sys, urllib.request
port, count = int(sys.argv[1]), int(sys.argv[2])
print("waiting %d" % os.getpid(), flush=True)
sys.stdin.readline()
for i in range(count):
    urllib.request.urlopen("http://127.0.0.1:%d/ns/%d" % (port, i), timeout=10).read()
print("done", flush=True)
sys.stdin.read()
"""


def child_of(pid, timeout=10.0):
    """The first child of process @pid (its main thread's children list)."""
    path = "/proc/%d/task/%d/children" % (pid, pid)
    found = []

    def seen():
        with open(path) as f:
            found[:] = f.read().split()
        return bool(found)
    wait_for(seen, timeout, "a child of %d" % pid)
    return int(found[0])


@test
def pid_namespace_process_attached_by_host_pid():
    unshare = shutil.which("unshare")
    check(unshare, "unshare (util-linux) is needed")
    work = tempfile.mkdtemp(prefix="bt-res-ns-")
    out = os.path.join(work, "out.jsonl")
    log = os.path.join(work, "bt.log")
    count = 2
    client = bt = None
    env = base_env(OTEL_SERVICE_NAME="ns-client", AWS_SECRET_ACCESS_KEY=SECRET)
    try:
        with Server() as srv:
            client = subprocess.Popen(
                [unshare, "--fork", "--pid", "--mount-proc", sys.executable, "-c", NS_CLIENT,
                 str(srv.port), str(count)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
            line = _readline_timeout(client.stdout, 15)
            check(line.startswith("waiting "), "client did not start: %r", line)
            ns_pid = int(line.split()[1])
            host_pid = child_of(client.pid)
            with open("/proc/%d/status" % host_pid) as f:
                nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
            check_eq(int(nspid[0]), host_pid, "NSpid's first field")
            check_eq(int(nspid[-1]), ns_pid, "the PID the client sees for itself")
            with open(log, "w") as errf:
                bt = subprocess.Popen([BEDTRACE, "-v", "-o", out, "-p", str(host_pid)],
                                      stdout=subprocess.DEVNULL, stderr=errf, env=base_env())
            wait_for_text(log, "ready in", timeout=30, proc=bt)
            client.stdin.write("go\n")
            client.stdin.flush()
            line = _readline_timeout(client.stdout, 30)
            check_eq(line.strip(), "done", "client finished")
            client.stdin.close()
            client.wait(timeout=15)
            bt.wait(timeout=30)
        text = open(log).read()
        check_eq(bt.returncode, 0, "bedtrace exit (%s)" % text)
        spans = gets(read_spans(out))
        check_eq(len(spans), count, "GET spans")
        for s in spans:
            res = s.resource
            check_eq(res.get("process.pid"), host_pid, "process.pid is the host PID")
            check_eq(res.get("process.vpid"), ns_pid, "process.vpid is the namespace PID")
            check_eq(res.get("process.parent_pid"), client.pid, "parent: unshare")
            check_eq(res.get("service.name"), "ns-client", "the process's OTEL_SERVICE_NAME")
        check(SECRET not in open(out).read() and SECRET not in text, "the secret leaked")
    finally:
        if client is not None and client.poll() is None:
            client.kill()
            client.wait()
        stop_process(bt)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run()
