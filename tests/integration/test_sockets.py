# SPDX-License-Identifier: MIT
"""Plain-TCP HTTP capture: a server whose handler calls traced functions (SERVER span with the
function spans under it), and a plain-HTTP client (CLIENT span)."""
import contextlib
import http.server
import os
import re
import subprocess
import tempfile
import threading
import time

from harness import (BEDTRACE, TARGETS, by_name, check, check_eq, one, read_spans, run,
                     run_bedtrace, test)

HTTPD = os.path.join(TARGETS, "bt_httpd")


def check_server_spans(extra):
    """bt_httpd answers three requests; each is a SERVER span with the handler's calls under it."""
    fd, out = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    bt = subprocess.Popen([BEDTRACE, "-o", out, "-f", "handle_order", "-f", "price_items"] +
                          extra + ["--", HTTPD, "0", "3"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        line = bt.stdout.readline()
        check(line.startswith("ready"), "server did not start: %r", line)
        port = int(line.split()[1])
        for i, method in enumerate(("GET", "POST", "GET")):
            args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "http://127.0.0.1:%d/order/%d" % (port, i)]
            if method == "POST":
                args[1:1] = ["-d", "item=1"]
            code = subprocess.run(args, capture_output=True, text=True, timeout=10).stdout
            check_eq(code, "200", "curl status")
        _, err = bt.communicate(timeout=30)
        check_eq(bt.returncode, 0, "bedtrace exit (%s)" % err)
        check("nothing dropped" in err, "drops reported: %s", err)
        spans = read_spans(out)
    finally:
        if bt.poll() is None:
            bt.kill()
        os.unlink(out)
    servers = [s for s in spans if s.kind == 2]
    check_eq(sorted(s.name for s in servers), ["GET", "GET", "POST"], "SERVER spans")
    for srv in servers:
        check_eq(srv.parent_id, "", "server span is a trace root")
        check_eq(srv.attrs["http.response.status_code"], 200, "status")
        check_eq(srv.attrs["network.protocol.version"], "1.1", "protocol")
        check(srv.attrs["url.path"].startswith("/order/"), "url.path %r", srv.attrs)
        kids = [s for s in spans if s.parent_id == srv.span_id]
        check_eq([k.name for k in kids], ["handle_order"], "handler under the server span")
        check_eq(kids[0].trace_id, srv.trace_id, "same trace")
        grand = [s for s in spans if s.parent_id == kids[0].span_id]
        check_eq([g.name for g in grand], ["price_items"], "nested function")
        check(srv.start <= kids[0].start and kids[0].end <= srv.end, "handler inside request")
    check_eq(len(by_name(spans, "handle_order")), 3, "handler spans")


@test
def plain_http_server_span_with_handler_functions_under_it():
    check_server_spans([])


@test
def plain_http_server_spans_with_tls_capture_off():
    # the syscall programs then run without the TLS part (its maps unused)
    check_server_spans(["--no-tls"])


@contextlib.contextmanager
def http_server(body_size, chunk=b"x" * 5000, pause=0.0):
    """A local HTTP/1.1 server (this process, another thread) answering every GET with
    @body_size bytes written @chunk at a time, @pause seconds after the first; yields its
    port."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(body_size))
            self.end_headers()
            left = body_size
            while left:
                self.wfile.write(chunk[:left])
                if left == body_size and pause:
                    time.sleep(pause)
                left -= min(left, len(chunk))

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()


@test
def plain_http_client_span():
    with http_server(5000) as port:
        rc, spans, err = run_bedtrace(["--", "curl", "-s", "-o", "/dev/null",
                                       "http://127.0.0.1:%d/plain?q=1" % port])
        check_eq(rc, 0, "bedtrace exit (%s)" % err)
        s = one(spans, "GET")
        check_eq(s.kind, 3, "CLIENT span")
        check_eq(s.attrs["url.full"], "http://127.0.0.1:%d/plain?q=1" % port, "url.full")
        check_eq(s.attrs["server.port"], port, "server.port")
        check_eq(s.attrs["http.response.status_code"], 200, "status")
        check_eq(s.attrs["http.response.body.size"], 5000, "response body size")


@test
def plain_http_large_bodies_counted_not_copied():
    """8 MiB bodies nobody reads (no --dump-bodies, not a model call): after each head the
    rest of the body is left uncopied, the span still has the exact size, nothing is lost.
    The server pauses after the head and the first 64 KiB, so that even on a loaded machine
    bedtrace has parsed the head before the rest comes: the check is then of what is left out,
    not of how fast the event loop reacts."""
    size = 8 << 20
    with http_server(size, bytes(range(256)) * 256, pause=0.2) as port:
        u = "http://127.0.0.1:%d/big" % port
        rc, spans, err = run_bedtrace(["-v", "--", "curl", "-s", "-o", "/dev/null", u,
                                       "-o", "/dev/null", u])
        check_eq(rc, 0, "bedtrace exit (%s)" % err[-2000:])
        gets = [s for s in spans if s.name == "GET"]
        check_eq(len(gets), 2, "GET spans")
        for s in gets:
            check_eq(s.attrs["http.response.body.size"], size, "response body size")
            check_eq(s.attrs["http.response.status_code"], 200, "status")
            for k in ("bedtrace.capture.truncated", "bedtrace.capture.lost_bytes"):
                check(k not in s.attrs, "unexpected %s: %r", k, s.attrs)
        check("nothing dropped" in err, "drops: %s", err[-1500:])
        m = re.search(r"not copied: (\d+) body bytes nobody reads, in (\d+) window", err)
        check(m, "no omission reported: %s", err[-2000:])
        # at most the first 64 KiB and a few 16 KiB reads of each body are copied
        check(2 * (size - (1 << 20)) <= int(m.group(1)) <= 2 * size, "omitted bytes: %s",
              m.group(1))


@test
def plain_http_bpf_opens_windows():
    """Six 4 MiB GETs of one path (other queries) on one keep-alive connection. The first
    body's window comes from bedtrace, which then arms the connection: BPF reads the next
    heads itself and opens the other five windows without waiting for bedtrace. The server
    pauses after each head, so that bedtrace has armed the connection before the second
    request goes out even on a loaded machine."""
    size, k = 4 << 20, 6
    with http_server(size, bytes(range(256)) * 64, pause=0.2) as port:
        urls = ["http://127.0.0.1:%d/big?i=%d" % (port, i) for i in range(k)]
        rc, spans, err = run_bedtrace(["-v", "--", "curl", "-s"]
                                      + [a for u in urls for a in ("-o", "/dev/null", u)])
        check_eq(rc, 0, "bedtrace exit (%s)" % err[-2000:])
        gets = [s for s in spans if s.name == "GET"]
        check_eq(sorted(s.attrs["url.full"] for s in gets), sorted(urls), "GET spans")
        for s in gets:
            check_eq(s.attrs["http.response.body.size"], size, "response body size")
            for a in ("bedtrace.capture.truncated", "bedtrace.capture.lost_bytes"):
                check(a not in s.attrs, "unexpected %s: %r", a, s.attrs)
        check("nothing dropped" in err, "drops: %s", err[-1500:])
        m = re.search(r"in (\d+) window\(s\), (\d+) of them opened by BPF \((\d+) arming\(s\), "
                      r"(\d+) refused\)", err)
        check(m, "no omission reported: %s", err[-2000:])
        windows, by_bpf, arms, refused = (int(g) for g in m.groups())
        check_eq((windows, by_bpf, arms, refused), (k, k - 1, 1, 0),
                 "windows, opened by BPF, armings, refused")


if __name__ == "__main__":
    run()
