#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""TLS capture against real clients and a local TLS server (tls_server.js, HTTP/1.1 + HTTP/2 on
127.0.0.1, started and stopped here): curl (libssl.so.3) over HTTP/1.1 and HTTP/2, Debian's
python3 (urllib, http.client), Node's https and http2 modules (OpenSSL linked into /usr/bin/node),
bodies of 1 KiB, 1 MiB and 16 MiB both ways checked by sha256 of what bedtrace reassembled
(--dump-bodies), 100 requests on one keep-alive connection, a Python process attached before it
imports ssl, HTTP spans nested under a traced function, and SERVER spans of the Node server.
Run as root: /usr/bin/python3 tests/integration/test_tls.py"""
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import harness
from harness import (ROOT, check, check_eq, drop_lines, make_certs, read_spans, run,
                     run_bedtrace, start_bedtrace_logged, start_tls_server, stop_process, test,
                     wait_for_text)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients"))
from pattern import pattern  # noqa: E402

CLIENTS = os.path.join(ROOT, "tests", "integration", "clients")
PY = "/usr/bin/python3"
LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
NODE = "/usr/bin/node"
KIB, MIB = 1024, 1024 * 1024
SIZES = (KIB, MIB, 16 * MIB)

WORK = None  # temp dir: certs, upload files, dumps
CA = None
PORT = None
_sha = {}


def sha_pattern(n):
    if n not in _sha:
        _sha[n] = hashlib.sha256(pattern(n)).hexdigest()
    return _sha[n]


def upload_file(n):
    """A file holding pattern(n), for curl --data-binary @FILE."""
    path = os.path.join(WORK, "up-%d.bin" % n)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(pattern(n))
    return path


def url(path):
    return "https://127.0.0.1:%d%s" % (PORT, path)


class Dumps:
    """A --dump-bodies directory: <pid>-<conn hex>[.k]-<seq>-<stream>-{req,resp}.bin (.k: a
    connection id reused by a later connection)."""
    NAME = re.compile(r"^(\d+)-([0-9a-f]+(?:\.\d+)?)-(\d+)-(\d+)-(req|resp)\.bin$")

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dump-", dir=WORK)

    def files(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            m = self.NAME.match(name)
            check(m, "unexpected dump file name %r", name)
            with open(os.path.join(self.dir, name), "rb") as f:
                data = f.read()
            out.append(dict(pid=int(m.group(1)), conn=m.group(2), seq=int(m.group(3)),
                            stream=int(m.group(4)), which=m.group(5), size=len(data),
                            sha=hashlib.sha256(data).hexdigest()))
        return out

    def check_has(self, which, n):
        """Some dumped @which ("req"/"resp") body is exactly pattern(n)."""
        want = sha_pattern(n)
        found = [d for d in self.files() if d["which"] == which and d["sha"] == want]
        check(found, "no reassembled %s body of %d bytes matches the sha256 of what was sent "
              "(dumped %s: %s)", which, n, which,
              [(d["size"], d["sha"][:12]) for d in self.files() if d["which"] == which])

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def no_drops(err):
    check(not drop_lines(err), "bedtrace reported drops: %s", drop_lines(err))
    check("nothing dropped" in err, "bedtrace did not say 'nothing dropped': %s", err[-1500:])


def traced(cmd, extra=(), timeout=120, env=None):
    """Launches @cmd under bedtrace; returns (spans, stderr) after checking exit 0."""
    rc, spans, err = run_bedtrace(list(extra) + ["--"] + list(cmd), timeout=timeout, env=env)
    check_eq(rc, 0, "bedtrace exit code (stderr: %s)" % err[-2000:])
    return spans, err


def http_spans(spans):
    return [s for s in spans if "http.request.method" in s.attrs]


def check_client_span(s, method, path, version, req_size, resp_size, status=200):
    what = "%s %s HTTP/%s span" % (method, path, version)
    check_eq(s.kind, 3, what + " kind (CLIENT)")
    check_eq(s.name, method, what + " name")
    check_eq(s.attrs.get("http.request.method"), method, what + " http.request.method")
    check_eq(s.attrs.get("url.full"), url(path), what + " url.full")
    check_eq(s.attrs.get("url.scheme"), "https", what + " url.scheme")
    check_eq(s.attrs.get("server.address"), "127.0.0.1", what + " server.address")
    check_eq(s.attrs.get("server.port"), PORT, what + " server.port")
    check_eq(s.attrs.get("http.response.status_code"), status, what + " status")
    check_eq(s.attrs.get("network.protocol.version"), version, what + " protocol version")
    check_eq(s.attrs.get("http.request.body.size"), req_size, what + " request body size")
    check_eq(s.attrs.get("http.response.body.size"), resp_size, what + " response body size")
    for k in ("bedtrace.capture.truncated", "bedtrace.capture.lost_bytes",
              "bedtrace.http.incomplete", "bedtrace.http.error", "error.type"):
        check(k not in s.attrs, "%s: unexpected %s = %r", what, k, s.attrs.get(k))
    check_eq(s.status, 0, what + " status code UNSET")
    check(s.end >= s.start > 0, what + ": bad times")
    if "network.peer.port" in s.attrs:
        check_eq(s.attrs["network.peer.address"], "127.0.0.1", what + " network.peer.address")
        check_eq(s.attrs["network.peer.port"], PORT, what + " network.peer.port")


def find(spans, method, path):
    found = [s for s in spans if s.attrs.get("http.request.method") == method
             and s.attrs.get("url.full") == url(path)]
    check_eq(len(found), 1, "spans for %s %s (all: %r)" % (method, path, spans))
    return found[0]


def upload_answer(n):
    """Body size of tls_server.js's JSON answer to an upload of @n bytes."""
    return len(json.dumps({"size": n, "sha256": sha_pattern(n)}, separators=(",", ":")))


# ---- curl ----

def curl_get(version):
    spans, err = traced(["curl", "-sS", "--fail", version, "--cacert", CA, "-o", "/dev/null",
                         url("/bytes/1024")])
    no_drops(err)
    hs = http_spans(spans)
    check_eq(len(hs), 1, "HTTP spans (%r)" % spans)
    check_client_span(hs[0], "GET", "/bytes/1024", "2" if version == "--http2" else "1.1", 0,
                      1024)
    check_eq(hs[0].resource.get("service.name"), "curl", "service.name")
    check_eq(hs[0].attrs.get("user_agent.original", "").split("/")[0], "curl", "user agent")
    check(hs[0].resource.get("process.executable.path", "").endswith("curl"), "exe path")


@test
def curl_http11_get():
    curl_get("--http1.1")


@test
def curl_peer_from_syscalls_with_socket_capture_off():
    # the socket behind the SSL object comes from the syscalls inside the SSL calls, which the
    # syscall programs watch for TLS even when plain-socket capture is off
    spans, err = traced(["curl", "-sS", "--fail", "--http1.1", "--cacert", CA, "-o", "/dev/null",
                         url("/bytes/1024")], extra=["--no-sockets"])
    no_drops(err)
    hs = http_spans(spans)
    check_eq(len(hs), 1, "HTTP spans (%r)" % spans)
    check_client_span(hs[0], "GET", "/bytes/1024", "1.1", 0, 1024)
    check_eq(hs[0].attrs.get("network.peer.address"), "127.0.0.1", "network.peer.address")
    check_eq(hs[0].attrs.get("network.peer.port"), PORT, "network.peer.port")


@test
def curl_http2_get():
    curl_get("--http2")


@test
def launched_script_runs_as_its_interpreter():
    """bedtrace -- ./script: a "#!" script is held at its interpreter's entry point (the image the
    kernel runs for it); a shell script that execs curl, through "#!/usr/bin/env sh", is
    traced as curl once it has exec'd."""
    d = tempfile.mkdtemp(prefix="bt-script-")
    try:
        script = os.path.join(d, "get.sh")
        with open(script, "w") as f:
            f.write("#!/usr/bin/env sh\nexec curl -sS --fail --http1.1 --cacert %s -o /dev/null "
                    "'%s'\n" % (CA, url("/bytes/1024")))
        os.chmod(script, 0o755)
        spans, err = traced([script])
        no_drops(err)
        hs = http_spans(spans)
        check_eq(len(hs), 1, "HTTP spans (%r)" % spans)
        check_client_span(hs[0], "GET", "/bytes/1024", "1.1", 0, 1024)
        # a script whose interpreter is missing: one clear line, nothing run
        bad = os.path.join(d, "bad.sh")
        with open(bad, "w") as f:
            f.write("#!%s/no-such-interpreter\n" % d)
        os.chmod(bad, 0o755)
        rc, spans, err = run_bedtrace(["--", bad])
        check(rc != 0, "bedtrace ran a script without an interpreter: %s", err)
        lines = [ln for ln in err.splitlines() if not ln.startswith("libbpf:")]
        check(len(lines) == 1 and bad in lines[0] and "interpreter" in lines[0],
              "not one clear line: %r", lines)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def curl_bodies(version, sizes):
    """GET and POST every size in one curl run (--next: one keep-alive connection)."""
    dumps = Dumps()
    try:
        cmd = ["curl", "-sS", "--fail"]
        first = True
        for n in sizes:
            for post in (False, True):
                if not first:
                    cmd.append("--next")
                first = False
                cmd += [version, "--cacert", CA, "-o", "/dev/null"]
                if post:
                    cmd += ["-H", "Content-Type: application/octet-stream",
                            "--data-binary", "@" + upload_file(n), url("/upload")]
                else:
                    cmd.append(url("/bytes/%d" % n))
        spans, err = traced(cmd, extra=["--dump-bodies", dumps.dir])
        no_drops(err)
        hs = http_spans(spans)
        check_eq(len(hs), 2 * len(sizes), "HTTP spans")
        v = "2" if version == "--http2" else "1.1"
        for n in sizes:
            check_client_span(find(hs, "GET", "/bytes/%d" % n), "GET", "/bytes/%d" % n, v, 0, n)
            dumps.check_has("resp", n)
            dumps.check_has("req", n)
        posts = sorted((s for s in hs if s.name == "POST"),
                       key=lambda s: s.attrs["http.request.body.size"])
        check_eq(len(posts), len(sizes), "POST spans")
        for s, n in zip(posts, sorted(sizes)):
            check_client_span(s, "POST", "/upload", v, n, upload_answer(n))
        conns = {(d["pid"], d["conn"]) for d in dumps.files()}
        check_eq(len(conns), 1, "connections used (curl reuses one)")
    finally:
        dumps.remove()


@test
def curl_http11_bodies_1k_1m_16m_both_ways():
    curl_bodies("--http1.1", SIZES)


@test
def curl_http2_bodies_1k_1m_16m_both_ways():
    curl_bodies("--http2", SIZES)


# ---- python3 (libssl.so.3) ----

@test
def single_write_larger_than_the_ring_is_reported_lost():
    """One 16 MiB SSL_write into a 64 KiB ring: BPF copies it in one go, far faster than the
    reader can drain 64 KiB at a time, so chunks are lost: the loss is counted, the span says
    it lost bytes, and the exit summary says to raise --ring-size. (--dump-bodies: the body is
    wanted, so no omission window spares the ring.)"""
    dumps = Dumps()
    try:
        spans, err = traced([PY, os.path.join(CLIENTS, "py_client.py"), "--ca", CA, "--port",
                             str(PORT), "post:%d" % (16 * MIB)],
                            extra=["--ring-size", "64K", "--dump-bodies", dumps.dir])
    finally:
        dumps.remove()
    check(any("ring buffer full" in l for l in drop_lines(err)), "no ring loss reported: %s",
          err[-1500:])
    check("a larger --ring-size gives bursts more room" in err, "no hint: %s", err[-1500:])
    hs = http_spans(spans)
    check_eq(len(hs), 1, "HTTP spans")
    check(hs[0].attrs.get("bedtrace.capture.truncated") or
          hs[0].attrs.get("bedtrace.capture.lost_bytes"), "span does not say it lost bytes: %r",
          hs[0].attrs)


@test
def python_urllib_get_and_http_client_post():
    """urllib and http.client through libssl.so.3, which Python maps only when it imports ssl,
    after the launched process started: bedtrace holds it at that mmap until libssl is probed."""
    dumps = Dumps()
    ops = ["get:1024", "get:%d" % MIB, "post:1024", "post:%d" % MIB, "post:%d" % (16 * MIB)]
    env = dict(os.environ)
    try:
        spans, err = traced([PY, os.path.join(CLIENTS, "py_client.py"), "--ca", CA, "--port",
                             str(PORT)] + ops, extra=["--dump-bodies", dumps.dir, "-v"], env=env)
        check("OpenSSL probe points in %s" % LIBSSL in err, "libssl.so.3 not probed: %s",
              err[-1500:])
        # Debian's SSL_read/SSL_read_ex (and writes) share a callee that starts with a push:
        # probing it there is emulated rather than single-stepped
        for d in ("SSL_write and SSL_write_ex", "SSL_read and SSL_read_ex"):
            check("%s probed at their shared callee" % d in err, "%s: wrappers probed: %s", d,
                  err[-1500:])
        no_drops(err)
        hs = http_spans(spans)
        check_eq(len(hs), len(ops), "HTTP spans")
        for n in (KIB, MIB):
            check_client_span(find(hs, "GET", "/bytes/%d" % n), "GET", "/bytes/%d" % n, "1.1", 0,
                              n)
            dumps.check_has("resp", n)
        posts = sorted((s for s in hs if s.name == "POST"),
                       key=lambda s: s.attrs["http.request.body.size"])
        for s, n in zip(posts, (KIB, MIB, 16 * MIB)):
            check_client_span(s, "POST", "/upload", "1.1", n, upload_answer(n))
            dumps.check_has("req", n)
        check_eq(hs[0].resource.get("process.executable.path"), "/usr/bin/python3.11",
                 "executable")
        for s in hs:
            check_eq(s.attrs.get("network.peer.address"), "127.0.0.1", "peer (from the socket)")
    finally:
        dumps.remove()


# ---- Node (OpenSSL linked statically) ----

@test
def node_https_and_http2_get_post():
    dumps = Dumps()
    ops = ["https-get:1024", "https-get:%d" % (16 * MIB), "https-post:%d" % MIB,
           "h2-get:%d" % MIB, "h2-post:1024", "h2-post:%d" % (16 * MIB)]
    try:
        spans, err = traced([NODE, os.path.join(CLIENTS, "node_client.js"), "--ca", CA, "--port",
                             str(PORT)] + ops, extra=["--dump-bodies", dumps.dir, "-v"])
        no_drops(err)
        check("OpenSSL probe points in /usr/bin/node" in err,
              "OpenSSL not probed in the node executable: %s", err[-1500:])
        hs = http_spans(spans)
        check_eq(len(hs), len(ops), "HTTP spans (%r)" % hs)
        for s in hs:
            check_eq(s.resource.get("process.executable.path"), NODE, "executable")
        check_client_span(find(hs, "GET", "/bytes/1024"), "GET", "/bytes/1024", "1.1", 0, KIB)
        check_client_span(find(hs, "GET", "/bytes/%d" % (16 * MIB)), "GET",
                          "/bytes/%d" % (16 * MIB), "1.1", 0, 16 * MIB)
        check_client_span(find(hs, "GET", "/bytes/%d" % MIB), "GET", "/bytes/%d" % MIB, "2", 0,
                          MIB)
        posts = {(s.attrs["network.protocol.version"], s.attrs["http.request.body.size"]): s
                 for s in hs if s.name == "POST"}
        check_eq(sorted(posts), [("1.1", MIB), ("2", KIB), ("2", 16 * MIB)], "POST spans")
        for (v, n), s in posts.items():
            check_client_span(s, "POST", "/upload", v, n, upload_answer(n))
        for n in (KIB, MIB, 16 * MIB):
            dumps.check_has("resp", n)
        for n in (KIB, MIB, 16 * MIB):
            dumps.check_has("req", n)
    finally:
        dumps.remove()


# ---- keep-alive ----

@test
def keepalive_100_requests_python_one_connection():
    dumps = Dumps()
    try:
        spans, err = traced([PY, os.path.join(CLIENTS, "py_client.py"), "--ca", CA, "--port",
                             str(PORT), "keepalive:100:1024"], extra=["--dump-bodies", dumps.dir],
                            env=dict(os.environ))
        no_drops(err)
        hs = http_spans(spans)
        check_eq(len(hs), 100, "HTTP spans")
        check_eq(sorted(s.attrs["url.full"] for s in hs),
                 sorted(url("/bytes/1024?i=%d" % i) for i in range(100)), "url.full of the spans")
        for s in hs:
            check_client_span(s, "GET", s.attrs["url.full"][len(url("")):], "1.1", 0, KIB)
        files = dumps.files()
        check_eq(len({(d["pid"], d["conn"]) for d in files}), 1, "connections")
        check_eq(sorted(d["seq"] for d in files), list(range(100)), "exchange numbers")
        check_eq({d["sha"] for d in files}, {sha_pattern(KIB)}, "bodies")
    finally:
        dumps.remove()


@test
def bodies_nobody_reads_are_counted_not_copied():
    """Without --dump-bodies and outside any Bedrock call, nobody reads an HTTP/1.1 body: once
    its head is parsed, BPF is asked to leave the rest uncopied (an omission window) and reports
    only how many bytes went by. Spans keep exact sizes and times, nothing counts as lost, and
    the -v summary says how much was not copied. Uploads too: the server's received bodies."""
    n = 4 * MIB
    spans, err = traced([PY, os.path.join(CLIENTS, "py_client.py"), "--ca", CA, "--port",
                         str(PORT), "keepalive:4:%d" % n, "keepalive:2:1024"], extra=["-v"],
                        env=dict(os.environ))
    no_drops(err)
    hs = http_spans(spans)
    check_eq(len(hs), 6, "HTTP spans")
    for s in hs:
        size = n if s.attrs["url.full"].startswith(url("/bytes/%d?" % n)) else KIB
        check_client_span(s, "GET", s.attrs["url.full"][len(url("")):], "1.1", 0, size)
        check(s.end - s.start > 0, "span without duration")
    m = re.search(r"not copied: (\d+) body bytes nobody reads, in (\d+) window", err)
    check(m, "no omission reported: %s", err[-2000:])
    omitted, windows = int(m.group(1)), int(m.group(2))
    # each 4 MiB body: its head wakes the reader, the window covers what is still to come
    check(1 <= windows <= 4, "windows: %d", windows)
    check(n // 2 <= omitted <= 4 * n, "omitted bytes: %d", omitted)


@test
def bpf_opens_windows_on_armed_connections():
    """Once bedtrace asked BPF for a window on a connection, BPF follows that connection's
    message framing and opens the windows of later bodies of the same request (method and
    path, any query) itself, without a round trip through bedtrace. An InvokeModel call on the
    same connection, whose ~64 KiB answer the Bedrock annotator reads, is copied whole every
    time: its span has the token usage that ends the answer, and no window was refused."""
    n, k = 2 * MIB, 12
    spans, err = traced([PY, os.path.join(CLIENTS, "py_client.py"), "--ca", CA, "--port",
                         str(PORT), "mixed:%d:%d" % (k, n)], extra=["-v"], env=dict(os.environ))
    no_drops(err)
    hs = http_spans(spans)
    check_eq(len(hs), 2 * k, "HTTP spans")
    gets = [s for s in hs if s.attrs["url.full"].startswith(url("/bytes/"))]
    calls = [s for s in hs if "/model/" in s.attrs["url.full"]]
    check_eq(sorted(s.attrs["url.full"] for s in gets),
             sorted(url("/bytes/%d?i=%d" % (n, i)) for i in range(k)), "GET spans")
    for s in gets:
        check_client_span(s, "GET", s.attrs["url.full"][len(url("")):], "1.1", 0, n)
    check_eq(len(calls), k, "InvokeModel spans")
    for s in calls:
        check_eq(s.attrs.get("gen_ai.usage.output_tokens"), 22, "output tokens of %s" % s.name)
        check_eq(s.attrs.get("gen_ai.usage.input_tokens"), 11, "input tokens of %s" % s.name)
        for a in ("bedtrace.capture.truncated", "bedtrace.capture.lost_bytes"):
            check(a not in s.attrs, "%s on an InvokeModel span: %r", a, s.attrs)
    m = re.search(r"not copied: (\d+) body bytes nobody reads, in (\d+) window\(s\), (\d+) of "
                  r"them opened by BPF \((\d+) arming\(s\), (\d+) refused\)", err)
    check(m, "no omission reported: %s", err[-2000:])
    omitted, windows, by_bpf, arms, refused = (int(g) for g in m.groups())
    check_eq(refused, 0, "windows refused")
    check(1 <= arms <= windows - by_bpf, "armings %d, windows %d, by BPF %d", arms, windows,
          by_bpf)
    # every GET body but the first few has its window, most of them from BPF
    check(k // 2 <= by_bpf < windows <= k, "windows %d, by BPF %d", windows, by_bpf)
    check(omitted <= k * n and omitted >= (k - 2) * (n - MIB), "omitted bytes: %d", omitted)


@test
def keepalive_100_requests_curl_http2():
    spans, err = traced(["curl", "-sS", "--fail", "--http2", "--cacert", CA, "-o", "/dev/null"]
                        + ["-o", "/dev/null"] * 99
                        + [url("/bytes/%d?i=%d" % (KIB, i)) for i in range(100)])
    no_drops(err)
    hs = http_spans(spans)
    check_eq(len(hs), 100, "HTTP spans")
    check_eq(sorted(s.attrs["url.full"] for s in hs),
             sorted(url("/bytes/1024?i=%d" % i) for i in range(100)), "url.full of the spans")
    for s in hs:
        check_client_span(s, "GET", s.attrs["url.full"][len(url("")):], "2", 0, KIB)


# ---- late libssl ----

@test
def python_attached_before_it_imports_ssl():
    go = os.path.join(WORK, "go")
    out = os.path.join(WORK, "late.jsonl")
    log = os.path.join(WORK, "late.log")
    dumps = Dumps()
    client = bt = None
    try:
        client = subprocess.Popen([PY, os.path.join(CLIENTS, "py_client.py"), "--ca", CA,
                                   "--port", str(PORT), "--wait-file", go, "get:%d" % MIB,
                                   "post:%d" % MIB], stdout=subprocess.PIPE, text=True)
        check_eq(harness._readline_timeout(client.stdout, 20).strip(), "waiting", "client")
        with open("/proc/%d/maps" % client.pid) as f:
            check("libssl" not in f.read(), "libssl already mapped before the import")
        bt = start_bedtrace_logged(["-v", "--dump-bodies", dumps.dir, "-p", str(client.pid)],
                                   out, log)
        wait_for_text(log, "tracing 1 process", 30, bt)
        with open(go, "w"):
            pass
        client_out, _ = client.communicate(timeout=60)
        check_eq(client.returncode, 0, "client exit code")
        bt.wait(timeout=30)  # the only target exited
        with open(log) as f:
            err = f.read()
        check_eq(bt.returncode, 0, "bedtrace exit code (%s)" % err[-1500:])
        check("libssl.so.3" in err and "OpenSSL probe points" in err,
              "late libssl not probed: %s", err[-1500:])
        no_drops(err)
        hs = http_spans(read_spans(out))
        check(len(hs) == 2, "want the GET and the POST the client made right after importing "
              "ssl, got %d span(s) %s: requests made before the late-loaded libssl was probed "
              "are lost, and not counted as drops", len(hs),
              [(s.name, s.attrs.get("url.full")) for s in hs])
        check_client_span(find(hs, "GET", "/bytes/%d" % MIB), "GET", "/bytes/%d" % MIB, "1.1", 0,
                          MIB)
        check_client_span(find(hs, "POST", "/upload"), "POST", "/upload", "1.1", MIB,
                          upload_answer(MIB))
        dumps.check_has("resp", MIB)
        dumps.check_has("req", MIB)
        check_eq(hs[0].resource.get("process.pid"), client.pid, "process.pid")
    finally:
        stop_process(client, signal.SIGKILL)
        stop_process(bt, signal.SIGINT)
        dumps.remove()


# ---- nesting under a traced function ----

@test
def http_span_parent_is_traced_function():
    exe = os.path.join(WORK, "fetch")
    subprocess.run(["gcc", "-O2", "-g", "-o", exe, os.path.join(CLIENTS, "fetch.c"), "-lcurl"],
                   check=True, timeout=60)
    spans, err = traced([exe, CA, url("/bytes/1024"), url("/bytes/%d" % MIB)],
                        extra=["-f", "fetch_url"])
    no_drops(err)
    fns = [s for s in spans if s.name == "fetch_url"]
    hs = http_spans(spans)
    check_eq(len(fns), 2, "fetch_url spans")
    check_eq(len(hs), 2, "HTTP spans")
    for path, n in (("/bytes/1024", KIB), ("/bytes/%d" % MIB, MIB)):
        h = find(hs, "GET", path)
        check_client_span(h, "GET", path, "1.1", 0, n)
        parents = [f for f in fns if f.span_id == h.parent_id]
        check_eq(len(parents), 1, "the HTTP span's parent is a fetch_url span")
        f = parents[0]
        check_eq(h.trace_id, f.trace_id, "trace id")
        check(f.start <= h.start and h.end <= f.end, "HTTP span inside fetch_url")
        check_eq(f.attrs["bedtrace.function.return_value"], 200, "fetch_url return value")
    check(fns[0].trace_id != fns[1].trace_id, "one trace per fetch_url call")


# ---- the server side ----

@test
def node_server_spans():
    """bedtrace attached to the Node server: requests it serves are SERVER spans."""
    out = os.path.join(WORK, "server.jsonl")
    log = os.path.join(WORK, "server.log")
    bt = None
    try:
        bt = start_bedtrace_logged(["-v", "-p", str(SERVER.pid)], out, log)
        wait_for_text(log, "tracing 1 process", 30, bt)
        for v in ("--http1.1", "--http2"):
            subprocess.run(["curl", "-sS", "--fail", v, "--cacert", CA, "-o", "/dev/null",
                            url("/bytes/%d" % MIB), "--next", v, "--cacert", CA, "-o",
                            "/dev/null", "--data-binary", "@" + upload_file(KIB), url("/upload")],
                           check=True, timeout=60)
        rc = stop_process(bt, signal.SIGINT)
        with open(log) as f:
            err = f.read()
        check_eq(rc, 0, "bedtrace exit code (%s)" % err[-1500:])
        no_drops(err)
        hs = http_spans(read_spans(out))
        check_eq(len(hs), 4, "SERVER spans (%r)" % hs)
        for s in hs:
            check_eq(s.kind, 2, "kind SERVER")
            check_eq(s.attrs.get("server.port"), PORT, "server.port")
            check_eq(s.attrs.get("http.response.status_code"), 200, "status")
            check(s.attrs.get("user_agent.original", "").startswith("curl/"), "user agent")
            check("bedtrace.capture.truncated" not in s.attrs, "truncated: %r", s.attrs)
        got = sorted((s.attrs["network.protocol.version"], s.attrs["http.request.method"],
                      s.attrs.get("url.path"), s.attrs["http.request.body.size"],
                      s.attrs["http.response.body.size"]) for s in hs)
        want = sorted([(v, "GET", "/bytes/%d" % MIB, 0, MIB) for v in ("1.1", "2")]
                      + [(v, "POST", "/upload", KIB, upload_answer(KIB)) for v in ("1.1", "2")])
        check_eq(got, want, "server spans")
    finally:
        stop_process(bt, signal.SIGINT)


SERVER = None


def main():
    global WORK, CA, PORT, SERVER
    if os.geteuid() != 0:
        print("integration tests need root")
        sys.exit(1)
    WORK = tempfile.mkdtemp(prefix="bt-tls-")
    try:
        make_certs(os.path.join(WORK, "certs"))
        CA = os.path.join(WORK, "certs", "ca.pem")
        SERVER, PORT = start_tls_server(os.path.join(WORK, "certs"))
        run()
    finally:
        stop_process(SERVER)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
