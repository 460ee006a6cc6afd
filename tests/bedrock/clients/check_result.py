#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks one client run over one cassette against the cassette and the replay server's log.

    check_result.py --cassette FILE.yaml --results CLIENT.jsonl --requests REQUESTS.json
                    [--repeat N] [--compare OTHER.jsonl] [--http-version 1.1|2.0]
                    [--session-token TOKEN]

For every call the client printed (consecutive identical recorded requests are one call, the
SDK's retries included) the last recorded answer decides what the SDK must have returned:
HTTP status, x-amzn-RequestId, the error code (x-amzn-ErrorType, or the event stream's
exception), the number of events before an exception or a corrupt frame, retries made. The
server's log must show every recorded interaction served once per repeat, in order, none
unmatched, over the HTTP version given, each carrying the session token given. With
--compare, both clients must agree on usage, stop reason and events. Prints problems and
exits 1 if there are any.
"""

import argparse
import json
import os
import struct
import sys
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from boto3_client import load_calls, to_bytes, header_map  # noqa: E402
import vcr_yaml  # noqa: E402


def frames(buf):
    """(headers, ok) per event-stream frame; stops at the first corrupt frame (ok False)."""
    off = 0
    out = []
    while off < len(buf):
        if len(buf) - off < 16:
            out.append(({}, False))
            break
        total, hlen = struct.unpack_from(">II", buf, off)
        pcrc = struct.unpack_from(">I", buf, off + 8)[0]
        if total < 16 or total > len(buf) - off or zlib.crc32(buf[off:off + 8]) != pcrc:
            out.append(({}, False))
            break
        mcrc = struct.unpack_from(">I", buf, off + total - 4)[0]
        if zlib.crc32(buf[off:off + total - 4]) != mcrc:
            out.append(({}, False))
            break
        headers = {}
        p = off + 12
        end = p + hlen
        while p < end:
            nlen = buf[p]
            name = buf[p + 1:p + 1 + nlen].decode()
            p += 1 + nlen
            htype = buf[p]
            p += 1
            if htype == 7:
                vlen = struct.unpack_from(">H", buf, p)[0]
                headers[name] = buf[p + 2:p + 2 + vlen].decode()
                p += 2 + vlen
            else:
                size = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}.get(htype)
                if size is None:  # 6: bytes, length-prefixed
                    vlen = struct.unpack_from(">H", buf, p)[0]
                    size = 2 + vlen
                p += size
        out.append((headers, True))
        off += total
    return out


def expected_for(interaction):
    rs = interaction.get("response") or {}
    headers = header_map(rs.get("headers"))
    status = int((rs.get("status") or {}).get("code", 200))
    body = to_bytes(rs.get("body"))
    exp = {"status": status, "requestId": headers.get("x-amzn-requestid"), "error": None,
           "events": None, "anyError": False}
    if status >= 300:
        et = headers.get("x-amzn-errortype")
        exp["error"] = et.split(":")[0] if et else None
        exp["anyError"] = et is None
        return exp
    if headers.get("content-type", "").startswith("application/vnd.amazon.eventstream"):
        n = 0
        for fh, ok in frames(body):
            if not ok:
                exp["anyError"] = True
                break
            mtype = fh.get(":message-type", "event")
            if mtype == "exception":
                exp["error"] = fh.get(":exception-type")
                break
            if mtype == "error":
                exp["error"] = fh.get(":error-code")
                break
            n += 1
        exp["events"] = n
    return exp


def norm_code(c):
    return (c or "").lower()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cassette", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--compare")
    ap.add_argument("--http-version")
    ap.add_argument("--session-token")
    a = ap.parse_args()

    problems = []
    doc = vcr_yaml.load_file(a.cassette)
    inters = doc.get("interactions") or []
    calls = load_calls(a.cassette)
    # interaction index range of each call (calls are runs of identical requests)
    last_of_call = []
    k = 0
    for c in calls:
        k += c["attempts"]
        last_of_call.append(k - 1)

    with open(a.results) as f:
        results = [json.loads(ln) for ln in f if ln.strip()]
    if len(results) != len(calls) * a.repeat:
        problems.append(f"{len(results)} result lines, expected {len(calls) * a.repeat}")
    for r in results:
        i = r.get("call", -1)
        if not 0 <= i < len(calls):
            problems.append(f"result for unknown call {i}")
            continue
        exp = expected_for(inters[last_of_call[i]])
        tag = f"call {i}.{r.get('repeat')}"
        if r.get("httpStatus") != exp["status"]:
            problems.append(f"{tag}: HTTP status {r.get('httpStatus')}, recorded {exp['status']}")
        if exp["requestId"] and r.get("requestId") != exp["requestId"]:
            problems.append(f"{tag}: request id {r.get('requestId')}, recorded {exp['requestId']}")
        err = r.get("error")
        if exp["error"]:
            if not err or norm_code(err.get("code")) != norm_code(exp["error"]):
                problems.append(f"{tag}: error {err}, expected code {exp['error']}")
        elif exp["anyError"]:
            if not err:
                problems.append(f"{tag}: no error, but the recorded answer is broken")
        elif err:
            problems.append(f"{tag}: unexpected error {err}")
        if exp["events"] is not None and r.get("streamEvents") != exp["events"]:
            problems.append(f"{tag}: {r.get('streamEvents')} stream events, recorded {exp['events']}")
        if r.get("retryAttempts", 0) != calls[i]["attempts"] - 1:
            problems.append(f"{tag}: {r.get('retryAttempts')} retries, recorded {calls[i]['attempts'] - 1}")
        if exp["status"] == 200 and not exp["anyError"] and not exp["error"] and \
                r.get("operation", "").startswith(("Converse", "InvokeModel")) and not r.get("usage"):
            problems.append(f"{tag}: no token usage found in the answer")

    with open(a.requests) as f:
        reqs = json.load(f)["requests"]
    want = len(inters) * a.repeat
    if len(reqs) != want:
        problems.append(f"server saw {len(reqs)} requests, expected {want}")
    name = os.path.basename(a.cassette).rsplit(".", 1)[0]
    for j, rq in enumerate(reqs):
        if rq.get("cassette") != name or rq.get("interaction") != j % max(len(inters), 1):
            problems.append(f"request {j + 1} {rq['method']} {rq['path']} served "
                            f"{rq.get('cassette')}#{rq.get('interaction')}, expected {name}#{j % max(len(inters), 1)}")
        if a.http_version and rq.get("httpVersion") != a.http_version:
            problems.append(f"request {j + 1} over HTTP/{rq.get('httpVersion')}, expected {a.http_version}")
        if a.session_token and rq["headers"].get("x-amz-security-token") != a.session_token:
            problems.append(f"request {j + 1} lacks the session token")
        auth = rq["headers"].get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 Credential="):
            problems.append(f"request {j + 1} not SigV4-signed: {auth[:30]!r}")

    if a.compare:
        with open(a.compare) as f:
            other = [json.loads(ln) for ln in f if ln.strip()]
        for r, o in zip(results, other):
            for key in ("operation", "httpStatus", "requestId", "usage", "stopReason",
                        "streamEvents", "eventTypes", "retryAttempts"):
                if r.get(key) != o.get(key):
                    problems.append(f"call {r.get('call')}: {key} {r.get(key)!r} vs "
                                    f"{o.get('client')} {o.get(key)!r}")
            if bool(r.get("error")) != bool(o.get("error")):
                problems.append(f"call {r.get('call')}: error {r.get('error')} vs {o.get('error')}")

    for p in problems:
        print(f"  {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
