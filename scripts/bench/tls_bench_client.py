#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Load client of tls_bench.py (Debian's python3: http.client over libssl.so.3). Imports ssl and
opens one keep-alive HTTPS connection at start, so a tracer attached later (-p) finds libssl
mapped; then obeys one command per stdin line and answers one JSON line:

  push RATE_MBPS SECS REQ_BYTES   POST /sink bodies of REQ_BYTES in 64 KiB writes, paced at
                                  RATE_MBPS (0: as fast as possible), for about SECS
                                  -> {"bytes", "secs", "requests"}
  lat BYTES N                     N GETs of /bytes/BYTES -> {"lat_ns": [...]}
  quit
"""
import http.client
import json
import ssl
import sys
import time

WRITE = 64 * 1024


def main():
    ca, port = sys.argv[1], int(sys.argv[2])
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)
    conn.connect()
    buf = memoryview(bytes(range(256)) * (WRITE // 256))
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "push":
            rate = float(cmd[1]) * 1e6
            secs, size = float(cmd[2]), int(cmd[3])
            sent = reqs = 0
            t0 = time.monotonic()
            while time.monotonic() - t0 < secs:
                conn.putrequest("POST", "/sink", skip_accept_encoding=True)
                conn.putheader("Content-Type", "application/octet-stream")
                conn.putheader("Content-Length", str(size))
                conn.endheaders()
                left = size
                while left:
                    n = min(WRITE, left)
                    if rate:
                        ahead = t0 + sent / rate - time.monotonic()
                        if ahead > 0:
                            time.sleep(ahead)
                    conn.send(buf[:n])
                    sent += n
                    left -= n
                r = conn.getresponse()
                r.read()
                reqs += 1
            print(json.dumps({"bytes": sent, "secs": time.monotonic() - t0, "requests": reqs}),
                  flush=True)
        elif cmd[0] == "lat":
            size, n = int(cmd[1]), int(cmd[2])
            lat = []
            for _ in range(n):
                t = time.perf_counter_ns()
                conn.request("GET", "/bytes/%d" % size)
                r = conn.getresponse()
                b = r.read()
                lat.append(time.perf_counter_ns() - t)
                if len(b) != size:
                    sys.exit("short body")
            print(json.dumps({"lat_ns": lat}), flush=True)
        else:
            sys.exit("unknown command " + line)
    conn.close()


if __name__ == "__main__":
    main()
