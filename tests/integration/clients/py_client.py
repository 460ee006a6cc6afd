#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""HTTPS client for the TLS capture tests (Debian's python3, stdlib only: urllib and
http.client over libssl.so.3).

  py_client.py --ca CA --port PORT [--wait-file PATH] OP ...

OPs, run in order:
  get:N            urllib GET /bytes/N (a fresh connection)
  post:N           http.client POST of pattern(N) to /upload on a fresh connection
  keepalive:K:N    K GETs of /bytes/N?i=<k> on ONE http.client connection
  mixed:K:N        on ONE connection, K times: GET /bytes/N?i=<k>, then an InvokeModel POST
                   (Bedrock's path, a bearer token) whose ~64 KiB answer is read whole
With --wait-file, prints "waiting" and sleeps until PATH exists before importing ssl, so that
a tracer can attach to a process that has not loaded libssl yet.
Prints one JSON line per OP: {"op", "status", "size", "sha256"} (size/sha256 of the body read).
"""
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pattern import pattern  # noqa: E402


MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def main():
    args = sys.argv[1:]
    ca = port = wait = None
    ops = []
    while args:
        a = args.pop(0)
        if a == "--ca":
            ca = args.pop(0)
        elif a == "--port":
            port = int(args.pop(0))
        elif a == "--wait-file":
            wait = args.pop(0)
        else:
            ops.append(a)
    if wait:
        print("waiting", flush=True)
        deadline = time.time() + 60
        while not os.path.exists(wait):
            if time.time() > deadline:
                sys.exit("py_client: no go file")
            time.sleep(0.02)
    # imported only now: libssl.so.3 is mapped from here on
    import http.client
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=ca)
    base = "https://127.0.0.1:%d" % port
    for op in ops:
        kind, *rest = op.split(":")
        if kind == "get":
            with urllib.request.urlopen(base + "/bytes/" + rest[0], context=ctx, timeout=60) as r:
                body = r.read()
                res = {"status": r.status}
        elif kind == "post":
            data = pattern(int(rest[0]))
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
            c.request("POST", "/upload", body=data,
                      headers={"Content-Type": "application/octet-stream"})
            r = c.getresponse()
            body = r.read()
            res = {"status": r.status, "answer": json.loads(body)}
            c.close()
        elif kind == "keepalive":
            k, n = int(rest[0]), int(rest[1])
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
            statuses = []
            h = hashlib.sha256()
            for i in range(k):
                c.request("GET", "/bytes/%d?i=%d" % (n, i))
                r = c.getresponse()
                b = r.read()
                h.update(b)
                statuses.append(r.status)
            c.close()
            body = b""
            res = {"statuses": statuses}
        elif kind == "mixed":
            k, n = int(rest[0]), int(rest[1])
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
            statuses = []
            tokens = 0
            req = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                              "messages": [{"role": "user", "content": "hello"}]})
            for i in range(k):
                c.request("GET", "/bytes/%d?i=%d" % (n, i))
                r = c.getresponse()
                r.read()
                statuses.append(r.status)
                c.request("POST", "/model/%s/invoke" % MODEL, body=req,
                          headers={"Content-Type": "application/json",
                                   "Authorization": "Bearer tls-test-token"})
                r = c.getresponse()
                tokens += json.loads(r.read())["usage"]["output_tokens"]
                statuses.append(r.status)
            c.close()
            body = b""
            res = {"statuses": statuses, "output_tokens": tokens}
        else:
            sys.exit("py_client: unknown op " + op)
        res.update(op=op, size=len(body), sha256=hashlib.sha256(body).hexdigest())
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
