# SPDX-License-Identifier: MIT
"""A small OTLP/HTTP JSON receiver for tests, on 127.0.0.1 only (Python stdlib).

It records every request (time, path, headers, decoded body, span ids, the status it answered)
and answers each from a script: a function of the request's index returning (status, extra
headers, body). It can be stopped and started again on the same port, which is how tests make
"the collector" go away and come back.

Three signals, kept apart: POSTs to /v1/metrics and /v1/logs are metrics and logs requests,
every other path is a traces request (as it always was). Each signal has its own list of
requests and its own script, indexed by that signal's requests only, so a test of traces sees
the same requests and answers whether or not bedtrace also sends metrics and logs.

    r = Receiver(port=0).start()      # r.port, r.url (traces), r.metrics_url, r.logs_url,
                                      # r.endpoint (the base URL, for OTEL_EXPORTER_OTLP_ENDPOINT)
    r.stop(); ...; r.start()          # same port again
    r.accepted_span_ids()             # span ids of requests answered 2xx, in arrival order
    r.snapshot("metrics")             # the metrics requests (default: traces)
    r.accepted_data_points()          # data points of metrics requests answered 2xx
    r.accepted_log_records()          # log records (parsed JSON) of logs requests answered 2xx
    Receiver(port, script, metrics_script=..., logs_script=...)   # per-signal answers

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


SIGNALS = ("traces", "metrics", "logs")


def signal_of(path):
    """The signal a request path carries: metrics and logs by their OTLP paths, else traces."""
    p = path.split("?", 1)[0]
    if p == "/v1/metrics":
        return "metrics"
    if p == "/v1/logs":
        return "logs"
    return "traces"


def data_points(request_json):
    """The data points of every metric in an ExportMetricsServiceRequest (parsed JSON), as
    (metric name, data point) pairs."""
    points = []
    for rm in request_json.get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                for kind in ("sum", "gauge", "histogram", "exponentialHistogram", "summary"):
                    for dp in m.get(kind, {}).get("dataPoints", []):
                        points.append((m.get("name"), dp))
    return points


def log_records(request_json):
    """Every logRecord in an ExportLogsServiceRequest (parsed JSON)."""
    records = []
    for rl in request_json.get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            records.extend(sl.get("logRecords", []))
    return records


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
        self.signal = signal_of(path)
        # each list is empty for the other signals
        self.span_ids = span_ids(self.json) if self.signal == "traces" else []
        self.data_points = data_points(self.json) if self.signal == "metrics" else []
        self.log_records = log_records(self.json) if self.signal == "logs" else []


class Receiver:
    """@tls = (cert, key, client_ca): serve https with that certificate and require a client
    certificate signed by client_ca (mutual TLS)."""

    def __init__(self, port=0, script=ok_script, tls=None, metrics_script=ok_script,
                 logs_script=ok_script):
        self.port = port
        self.script = script
        self.scripts = {"metrics": metrics_script, "logs": logs_script}
        self.tls = tls
        self.requests = []  # traces
        self.by_signal = {"traces": self.requests, "metrics": [], "logs": []}
        self.errors = []
        self.lock = threading.Lock()
        self.conns = set()
        self.stopping = False
        self.server = None
        self.thread = None

    @property
    def endpoint(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    @property
    def url(self):
        return self.endpoint + "/v1/traces"

    @property
    def metrics_url(self):
        return self.endpoint + "/v1/metrics"

    @property
    def logs_url(self):
        return self.endpoint + "/v1/logs"

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
                    signal = signal_of(self.path)
                    reqs = receiver.by_signal[signal]
                    index = len(reqs)
                    script = receiver.scripts.get(signal, receiver.script)
                    status, extra, body = script(index)
                    cn = None
                    if receiver.tls:
                        subject = dict(x[0] for x in self.connection.getpeercert()["subject"])
                        cn = subject.get("commonName")
                    try:
                        reqs.append(
                            Request(time.monotonic(), self.path, headers, raw, status, cn))
                    except Exception as exc:  # noqa: BLE001 - recorded, the test fails on it
                        receiver.errors.append("%s request %d: %r" % (signal, index, exc))
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

    def snapshot(self, signal="traces"):
        """The requests of @signal ("traces", "metrics", "logs") so far, in arrival order."""
        with self.lock:
            return list(self.by_signal[signal])

    def accepted(self, signal="traces"):
        """The requests of @signal answered 2xx."""
        return [r for r in self.snapshot(signal) if 200 <= r.status < 300]

    def accepted_span_ids(self):
        return [i for r in self.accepted("traces") for i in r.span_ids]

    def accepted_data_points(self):
        """(metric name, data point) of every metrics request answered 2xx."""
        return [p for r in self.accepted("metrics") for p in r.data_points]

    def accepted_log_records(self):
        return [x for r in self.accepted("logs") for x in r.log_records]


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
    seen = dict.fromkeys(SIGNALS, 0)
    try:
        while True:
            time.sleep(0.2)
            for sig in SIGNALS:
                reqs = r.snapshot(sig)
                for q in reqs[seen[sig]:]:
                    print(json.dumps({"path": q.path, "status": q.status, "encoding": q.encoding,
                                      "spans": len(q.span_ids),
                                      "data_points": len(q.data_points),
                                      "log_records": len(q.log_records)}), flush=True)
                seen[sig] = len(reqs)
    except KeyboardInterrupt:
        pass
    r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
