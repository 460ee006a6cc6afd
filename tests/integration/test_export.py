# SPDX-License-Identifier: MIT
"""Export the way OpenTelemetry users configure it, against a real bedtrace tracing a real
process: a collector outage with the on-disk spool (also across a SIGKILL and restart),
OTEL_EXPORTER_OTLP_HEADERS and gzip, a collector refusing with 400, Retry-After, and SIGHUP
rotation of the -o file. The collector is otlp_receiver.py on 127.0.0.1.

The workload is bt_target's "loop N MS": N calls of tick() MS ms apart, traced with -f tick, so
every span is one tick() call and the -o file written by the same bedtrace is the reference."""
import gzip
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import zlib

from harness import (BEDTRACE, TARGETS, check, check_eq, make_certs, run, stop_process, test,
                     wait_for)
from otlp_receiver import Receiver, free_port, span_ids

TARGET = os.path.join(TARGETS, "bt_target")


def out_ids(path):
    """Span ids in a JSON Lines file; every line must be one complete request."""
    ids = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            check(line.endswith("\n"), "%s line %d is not complete: %r", path, n, line[-80:])
            ids.extend(span_ids(json.loads(line)))
    return ids


def out_ids_upto_kill(path):
    """Like out_ids, but a last line cut by SIGKILL is ignored (it was never complete)."""
    ids = []
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break
            ids.extend(span_ids(json.loads(line)))
    return ids


def spool_ids(spool_dir):
    """Span ids in the spool's files, read the way spool.h describes them."""
    ids = []
    for name in sorted(os.listdir(spool_dir)):
        if not name.endswith(".btspool"):
            continue
        with open(os.path.join(spool_dir, name), "rb") as f:
            data = f.read()
        head, _, body = data.partition(b"\n")
        fields = dict(kv.split(b"=", 1) for kv in head.split(b" ")[1:])
        check_eq(int(fields[b"length"]), len(body), "%s length" % name)
        check_eq("%08x" % zlib.crc32(body), fields[b"crc32"].decode(), "%s crc32" % name)
        if fields[b"encoding"] == b"gzip":
            body = gzip.decompress(body)
        ids.extend(span_ids(json.loads(body)))
    return ids


def bedtrace(args, workdir, env=None):
    """Starts bedtrace launching bt_target with -f tick; stderr goes to workdir/err.
    Returns (Popen, the target's pid) once the target said it is ready."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    # the collector is on 127.0.0.1: a proxy from the environment must not get in the way
    for k in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "ALL_PROXY"):
        full_env.pop(k, None)
    errf = open(os.path.join(workdir, "err"), "a")
    p = subprocess.Popen([BEDTRACE, "-f", "tick"] + args, stdout=subprocess.PIPE,
                         stderr=errf, text=True, env=full_env)
    errf.close()
    line = p.stdout.readline()
    check(line.startswith("ready "), "bt_target did not start: %r (%s)", line,
          read_err(workdir))
    return p, int(line.split()[1])


def read_err(workdir):
    with open(os.path.join(workdir, "err"), errors="replace") as f:
        return f.read()


def finish(p, timeout=60):
    """Waits for bedtrace to exit (the target ends its loop); returns the exit code."""
    try:
        p.stdout.read()
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(p, signal.SIGKILL)
        raise AssertionError("bedtrace did not exit within %d s" % timeout)


def exactly_once(got, want, what):
    dups = len(got) - len(set(got))
    check_eq(dups, 0, "%s: duplicated span ids" % what)
    missing = set(want) - set(got)
    extra = set(got) - set(want)
    check(not missing and not extra, "%s: %d missing, %d unexpected of %d", what, len(missing),
          len(extra), len(want))


class Workdir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="bt-export-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


@test
def outage_of_60s_loses_and_duplicates_nothing():
    with Workdir() as wd:
        r = Receiver(free_port()).start()
        out = os.path.join(wd, "out.jsonl")
        spool = os.path.join(wd, "spool")
        # about 72 s of tick() calls, one every 5 ms
        p, _ = bedtrace(["-o", out, "--otlp-endpoint", r.url, "--spool-dir", spool, "--",
                         TARGET, "loop", "14000", "5"], wd)
        try:
            wait_for(lambda: len(r.accepted_span_ids()) > 0, 20, "first spans at the collector")
            r.stop()
            t_down = time.monotonic()
            # the outage goes to disk as it happens, not only at exit
            wait_for(lambda: any(n.endswith(".btspool") for n in os.listdir(spool)), 10,
                     "spool files during the outage")
            time.sleep(max(0.0, 60 - (time.monotonic() - t_down)))
            n_spooled = len([n for n in os.listdir(spool) if n.endswith(".btspool")])
            r.start()
            rc = finish(p, 90)
        finally:
            stop_process(p)
            r.stop()
        err = read_err(wd)
        check_eq(rc, 0, "exit code (stderr: %s)" % err)
        check(n_spooled >= 60, "about one spool file per flush during 60 s, got %d", n_spooled)
        want = out_ids(out)
        check(len(want) >= 12000, "spans produced: %d", len(want))
        exactly_once(r.accepted_span_ids(), want, "collector after a 60 s outage")
        # every signal's spool (traces here, metrics/ and logs/ below) delivered and emptied
        left = [os.path.join(d, n) for d, _, files in os.walk(spool) for n in files
                if not n.startswith(".")]
        check_eq(left, [], "spool left after delivery")
        check("unavailable" in err and "reachable again" in err, "outage reported: %s", err)
        check("nothing dropped" in err, "summary: %s", err)


@test
def sigkill_while_down_then_restart_sends_the_spool_once():
    """Guarantee: every span that reached the collector before the kill or was in the spool at
    the kill arrives exactly once, the spooled ones sent by the next run. What the kill can
    take: a request between exporter_write() and its spool file (milliseconds while the
    collector is away) and the batch the tracer had not flushed yet (not in -o either)."""
    with Workdir() as wd:
        r = Receiver(free_port()).start()
        out = os.path.join(wd, "out.jsonl")
        spool = os.path.join(wd, "spool")
        p, target = bedtrace(["-o", out, "--otlp-endpoint", r.url, "--spool-dir", spool,
                              "--", TARGET, "loop", "100000", "5"], wd)
        try:
            wait_for(lambda: len(r.accepted_span_ids()) > 0, 20, "first spans at the collector")
            r.stop()
            time.sleep(12)
            p.kill()
            p.wait()
        finally:
            stop_process(p)
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        before_kill = r.accepted_span_ids()
        produced = out_ids_upto_kill(out)
        spooled = spool_ids(spool)
        check(len(spooled) >= 1500, "spans spooled in 12 s of outage: %d", len(spooled))
        check(not set(spooled) & set(before_kill), "a span both delivered and spooled")
        check(set(spooled) | set(before_kill) <= set(produced), "spooled spans not produced")
        in_memory = set(produced) - set(spooled) - set(before_kill)
        check(len(in_memory) <= 100, "%d spans were only in memory at the kill (of %d)",
              len(in_memory), len(produced))

        # the next run, same spool, the collector back: the first run's spans, once
        r.start()
        out2 = os.path.join(wd, "out2.jsonl")
        try:
            p, _ = bedtrace(["-o", out2, "--otlp-endpoint", r.url, "--spool-dir", spool, "--",
                             TARGET, "loop", "50", "5"], wd)
            rc = finish(p)
        finally:
            stop_process(p)
            r.stop()
        err = read_err(wd)
        check_eq(rc, 0, "exit code of the second run (stderr: %s)" % err)
        exactly_once(r.accepted_span_ids(), before_kill + spooled + out_ids(out2),
                     "collector across SIGKILL and restart")
        check("spans an earlier run spooled were delivered" in err, "summary: %s", err)
        check_eq([n for n in os.listdir(spool) if n.endswith(".btspool")], [],
                 "spool left after the second run")


@test
def otel_headers_and_gzip_reach_the_collector_never_the_log():
    secret = "S3cr3t-T0ken-4711"
    with Workdir() as wd:
        r = Receiver(free_port()).start()
        out = os.path.join(wd, "out.jsonl")
        env = {
            # the base endpoint gets /v1/traces; values are percent-decoded
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:%d" % r.port,
            "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%%20%s,x-team=base" % secret,
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "X-Team=traces, bad entry %s" % secret,
            "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        }
        try:
            p, _ = bedtrace(["-v", "-o", out, "--", TARGET, "loop", "300", "5"], wd, env)
            rc = finish(p)
        finally:
            stop_process(p)
            r.stop()
        err = read_err(wd)
        check_eq(rc, 0, "exit code (stderr: %s)" % err)
        reqs = r.snapshot()
        check(reqs, "no request reached the collector")
        for q in reqs:
            check_eq(q.path, "/v1/traces", "request path")
            check_eq(q.headers.get("authorization"), "Bearer " + secret, "Authorization")
            check_eq(q.headers.get("x-team"), "traces", "the _TRACES_ list wins per name")
            check_eq(q.encoding, "gzip", "Content-Encoding")
            check_eq(q.raw[:2], b"\x1f\x8b", "a gzip body")
        check_eq(r.errors, [], "receiver errors")
        exactly_once(r.accepted_span_ids(), out_ids(out), "gzip requests")
        check(secret not in err, "the header value appeared on stderr")
        check("OTEL_EXPORTER_OTLP_TRACES_HEADERS: 1 entry ignored" in err, "stderr: %s", err)


@test
def collector_400_is_reported_once_not_retried_and_exits_3():
    message = "invalid span data: trace id is all zeros"

    def refuse(_i):
        return 400, {}, json.dumps({"code": 3, "message": message}).encode()

    with Workdir() as wd:
        r = Receiver(free_port(), refuse).start()
        out = os.path.join(wd, "out.jsonl")
        try:
            p, _ = bedtrace(["-o", out, "--otlp-endpoint", r.url, "--", TARGET, "loop", "400",
                             "5"], wd)
            rc = finish(p)
            time.sleep(1)  # nothing more arrives after exit either
        finally:
            stop_process(p)
            r.stop()
        err = read_err(wd)
        check_eq(rc, 3, "exit code (stderr: %s)" % err)
        lines = [l for l in err.splitlines() if "refused a request with HTTP 400" in l]
        check_eq(len(lines), 1, "one line for the refusal (stderr: %s)" % err)
        check(message in lines[0], "the collector's message in %r", lines[0])
        reqs = r.snapshot()
        ids = [i for q in reqs for i in q.span_ids]
        # every request once: no span was sent twice, and no more requests than batches
        check_eq(len(ids), len(set(ids)), "span ids sent more than once")
        with open(out) as f:
            batches = sum(1 for _ in f)
        check(1 <= len(reqs) <= batches, "%d requests for %d batches", len(reqs), batches)
        check_eq(set(ids), set(out_ids(out)), "every batch was tried once")


@test
def retry_after_on_503_is_honoured():
    def throttle(i):
        if i == 0:
            return 503, {"Retry-After": "3"}, b'{"message":"busy"}'
        return 200, {}, b"{}"

    with Workdir() as wd:
        r = Receiver(free_port(), throttle).start()
        out = os.path.join(wd, "out.jsonl")
        try:
            p, _ = bedtrace(["-o", out, "--otlp-endpoint", r.url, "--", TARGET, "loop", "800",
                             "5"], wd)
            rc = finish(p)
        finally:
            stop_process(p)
            r.stop()
        err = read_err(wd)
        check_eq(rc, 0, "exit code (stderr: %s)" % err)
        reqs = r.snapshot()
        check(len(reqs) >= 2, "requests: %d", len(reqs))
        gap = reqs[1].t - reqs[0].t
        check(gap >= 3.0, "retry %.2f s after a 503 with Retry-After: 3", gap)
        check_eq(reqs[1].span_ids, reqs[0].span_ids, "the retried request")
        exactly_once(r.accepted_span_ids(), out_ids(out), "after the throttled request")


def make_client_cert(certdir):
    """A client certificate (CN bedtrace-client) signed by the test CA in @certdir."""
    key, csr, pem = (os.path.join(certdir, n) for n in ("client.key", "client.csr",
                                                        "client.pem"))
    ext = os.path.join(certdir, "client.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj",
                    "/CN=bedtrace-client", "-keyout", key, "-out", csr], check=True,
                   capture_output=True, timeout=60)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA",
                    os.path.join(certdir, "ca.pem"), "-CAkey", os.path.join(certdir, "ca.key"),
                    "-CAcreateserial", "-CAserial", os.path.join(certdir, "ca.srl"), "-days", "2",
                    "-sha256", "-extfile", ext, "-out", pem], check=True, capture_output=True,
                   timeout=60)
    os.chmod(key, 0o600)
    return pem, key


@test
def https_collector_with_ca_file_and_client_certificate():
    with Workdir() as wd:
        certs = make_certs(os.path.join(wd, "certs"))
        client_pem, client_key = make_client_cert(certs)
        r = Receiver(free_port(), tls=(os.path.join(certs, "server.pem"),
                                       os.path.join(certs, "server.key"),
                                       os.path.join(certs, "ca.pem"))).start()
        out = os.path.join(wd, "out.jsonl")
        env = {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": r.url,
            "OTEL_EXPORTER_OTLP_CERTIFICATE": os.path.join(certs, "ca.pem"),
            "OTEL_EXPORTER_OTLP_CLIENT_KEY": client_key,
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": client_pem,
        }
        try:
            p, _ = bedtrace(["-o", out, "--", TARGET, "loop", "200", "5"], wd, env)
            rc = finish(p)
        finally:
            stop_process(p)
            r.stop()
        err = read_err(wd)
        check_eq(rc, 0, "exit code (stderr: %s)" % err)
        reqs = r.snapshot()
        check(reqs, "no request reached the https collector (stderr: %s)" % err)
        check_eq({q.client_cn for q in reqs}, {"bedtrace-client"}, "client certificate")
        exactly_once(r.accepted_span_ids(), out_ids(out), "https collector")


@test
def otel_sdk_disabled_exports_nothing_but_the_explicit_file():
    with Workdir() as wd:
        r = Receiver(free_port()).start()
        out = os.path.join(wd, "out.jsonl")
        env = {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT":
               "http://127.0.0.1:%d" % r.port}
        try:
            p, _ = bedtrace(["-o", out, "--otlp-endpoint", r.url, "--", TARGET, "loop", "100",
                             "5"], wd, env)
            rc = finish(p)
            # without -o, not even stdout gets spans
            p2 = subprocess.run([BEDTRACE, "-f", "tick", "--", TARGET, "loop", "20", "5"],
                                capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, OTEL_SDK_DISABLED="TRUE"))
        finally:
            stop_process(p)
            r.stop()
        err = read_err(wd)
        check_eq(rc, 0, "exit code (stderr: %s)" % err)
        check_eq(r.snapshot(), [], "requests to the collector")
        check_eq(len(out_ids(out)), 100, "spans in the explicit -o file")
        check_eq(sum("OTEL_SDK_DISABLED" in l for l in err.splitlines()), 1,
                 "one line saying export is disabled (stderr: %s)" % err)
        check_eq(p2.returncode, 0, "exit code without -o (stderr: %s)" % p2.stderr)
        check("{" not in p2.stdout, "spans on stdout: %r" % p2.stdout[:200])
        check("spans: 20 produced" in p2.stderr, "summary: %s" % p2.stderr)


@test
def sighup_rotation_loses_no_line():
    with Workdir() as wd:
        out = os.path.join(wd, "out.jsonl")
        p, _ = bedtrace(["-o", out, "--", TARGET, "loop", "1000", "5"], wd)
        rotated = []
        try:
            wait_for(lambda: os.path.exists(out) and os.path.getsize(out) > 0, 20,
                     "first spans in the output")
            for k in (1, 2):
                time.sleep(1.0)
                dst = "%s.%d" % (out, k)
                os.rename(out, dst)
                rotated.append(dst)
                p.send_signal(signal.SIGHUP)
            rc = finish(p)
        finally:
            stop_process(p)
        err = read_err(wd)
        check_eq(rc, 0, "exit code: SIGHUP must not stop bedtrace (stderr: %s)" % err)
        per_file = [out_ids(f) for f in rotated + [out]]
        for f, ids in zip(rotated + [out], per_file):
            check(ids, "no span in %s: rotation did not take effect", f)
            check_eq(os.stat(f).st_mode & 0o777, 0o600, "mode of %s" % f)
        ids = [i for part in per_file for i in part]
        check_eq(len(ids), len(set(ids)), "span ids in more than one line")
        check_eq(len(ids), 1000, "tick spans across the three files")


@test
def sighup_with_stdout_output_is_harmless():
    with Workdir() as wd:
        errf = open(os.path.join(wd, "err"), "w")
        p = subprocess.Popen([BEDTRACE, "-f", "tick", "-o", "-", "--", TARGET, "loop", "300",
                              "5"], stdout=subprocess.PIPE, stderr=errf, text=True)
        errf.close()
        try:
            lines = []
            line = p.stdout.readline()
            while line and not line.startswith("{"):
                line = p.stdout.readline()
            lines.append(line)
            p.send_signal(signal.SIGHUP)
            lines.extend(p.stdout.readlines())
            rc = p.wait(timeout=30)
        finally:
            stop_process(p)
        check_eq(rc, 0, "exit code (stderr: %s)" % read_err(wd))
        ids = [i for l in lines if l.startswith("{") for i in span_ids(json.loads(l))]
        check_eq(len(ids), 300, "tick spans on stdout")


if __name__ == "__main__":
    run()
