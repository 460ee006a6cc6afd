# SPDX-License-Identifier: MIT
"""A small OTLP/HTTP JSON trace receiver for tests, on 127.0.0.1 only (Python stdlib).

It records every request (time, path, headers, decoded body, span ids, the status it answered)
and answers each from a script: a function of the request's index returning (status, extra
headers, body). It can be stopped and started again on the same port, which is how tests make
"the collector" go away and come back.

    r = Receiver(port=0).start()      # r.port, r.url
    r.stop(); ...; r.start()          # same port again
    r.accepted_span_ids()             # span ids of requests answered 2xx, in arrival order

Run alone it serves until interrupted and prints one JSON line per request:
    python3 tests/integration/otlp_receiver.py [--port N] [--status S] [--message TEXT]
"""
import argparse
import gzip
import http.server
import json
import socket
import ssl
import sys
import threading
import time


def span_ids(request_json):
    """The spanId of every span in an ExportTraceServiceRequest (parsed JSON)."""
    ids = []
    for rs in request_json.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                ids.append(s["spanId"])
    return ids


def ok_script(_index):
    return 200, {}, b"{}"


class Request:
    def __init__(self, t, path, headers, raw, status, client_cn=None):
        self.t = t
        self.client_cn = client_cn  # TLS: the CN of the client certificate, if one was asked
        self.path = path
        self.headers = headers  # name lowercased -> value
        self.raw = raw
        self.status = status
        self.encoding = headers.get("content-encoding", "")
        body = gzip.decompress(raw) if self.encoding == "gzip" else raw
        self.json = json.loads(body)
        self.span_ids = span_ids(self.json)


class Receiver:
    """@tls = (cert, key, client_ca): serve https with that certificate and require a client
    certificate signed by client_ca (mutual TLS)."""

    def __init__(self, port=0, script=ok_script, tls=None):
        self.port = port
        self.script = script
        self.tls = tls
        self.requests = []
        self.errors = []
        self.lock = threading.Lock()
        self.conns = set()
        self.stopping = False
        self.server = None
        self.thread = None

    @property
    def url(self):
        return "%s://127.0.0.1:%d/v1/traces" % ("https" if self.tls else "http", self.port)

    def start(self):
        receiver = self
        self.stopping = False

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.conns.add(self.connection)

            def finish(self):
                with receiver.lock:
                    receiver.conns.discard(self.connection)
                super().finish()

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                headers = {k.lower(): v for k, v in self.headers.items()}
                # Recording and answering happen under the lock that stop() takes first: a
                # request is either recorded and answered, or neither (the client retries it),
                # so "each span exactly once" is a property of the client, not of luck.
                with receiver.lock:
                    if receiver.stopping:
                        self.close_connection = True
                        return
                    index = len(receiver.requests)
                    status, extra, body = receiver.script(index)
                    cn = None
                    if receiver.tls:
                        subject = dict(x[0] for x in self.connection.getpeercert()["subject"])
                        cn = subject.get("commonName")
                    try:
                        receiver.requests.append(
                            Request(time.monotonic(), self.path, headers, raw, status, cn))
                    except Exception as exc:  # noqa: BLE001 - recorded, the test fails on it
                        receiver.errors.append("request %d: %r" % (index, exc))
                        status, extra, body = 400, {}, b'{"message":"undecodable"}'
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        if self.tls:
            cert, key, client_ca = self.tls
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_ca)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Closes the listening socket and every open connection: the collector is gone."""
        if self.server is None:
            return
        with self.lock:
            self.stopping = True
        self.server.shutdown()
        self.server.server_close()
        # keep-alive connections live in their own threads: cut them too
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join()
        self.server = None

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def accepted_span_ids(self):
        ids = []
        for r in self.snapshot():
            if 200 <= r.status < 300:
                ids.extend(r.span_ids)
        return ids


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=4318)
    ap.add_argument("--status", type=int, default=200)
    ap.add_argument("--message", default="")
    args = ap.parse_args()
    body = json.dumps({"message": args.message}).encode() if args.message else b"{}"
    r = Receiver(args.port, lambda _i: (args.status, {}, body)).start()
    print("listening %d" % r.port, flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            reqs = r.snapshot()
            for q in reqs[seen:]:
                print(json.dumps({"path": q.path, "status": q.status, "encoding": q.encoding,
                                  "spans": len(q.span_ids)}), flush=True)
            seen = len(reqs)
    except KeyboardInterrupt:
        pass
    r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
