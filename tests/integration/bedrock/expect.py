# SPDX-License-Identifier: MIT
"""What bedtrace must report for each interaction of a Bedrock VCR cassette, derived from the
cassette's own bytes (request URI and body, response status, headers, JSON body or event stream)
rather than from a table: operation, model, request id, usage, finish reasons, error type,
whether it streams, the agent trace events.
"""
import base64
import json
import os
import struct
import sys
import urllib.parse
import zlib

sys.dont_write_bytecode = True
_CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bedrock",
                        "clients")
sys.path.insert(0, os.path.abspath(_CLIENTS))
import vcr_yaml  # noqa: E402

FINISH_KEYS = ("stopReason", "stop_reason", "completionReason", "finish_reason")


def _bytes(v):
    if v is None:
        return b""
    if isinstance(v, bytes):
        return v
    if isinstance(v, dict):
        return _bytes(v.get("string"))
    return str(v).encode()


def _headers(h):
    out = {}
    for k, v in (h or {}).items():
        vals = v if isinstance(v, list) else [v]
        out[str(k).lower()] = "" if vals[0] is None else str(vals[0])
    return out


def event_frames(buf):
    """[(headers, payload_bytes)] up to the first corrupt frame; second value: corrupt?"""
    off, out = 0, []
    while off < len(buf):
        if len(buf) - off < 16:
            return out, True
        total, hlen = struct.unpack_from(">II", buf, off)
        if (total < 16 or total > len(buf) - off or
                zlib.crc32(buf[off:off + 8]) != struct.unpack_from(">I", buf, off + 8)[0]):
            return out, True
        if zlib.crc32(buf[off:off + total - 4]) != struct.unpack_from(">I", buf,
                                                                       off + total - 4)[0]:
            return out, True
        hdrs, p, end = {}, off + 12, off + 12 + hlen
        while p < end:
            nlen = buf[p]
            name = buf[p + 1:p + 1 + nlen].decode()
            p += 1 + nlen
            htype = buf[p]
            p += 1
            if htype in (6, 7):
                vlen = struct.unpack_from(">H", buf, p)[0]
                val = buf[p + 2:p + 2 + vlen]
                hdrs[name] = val.decode() if htype == 7 else val
                p += 2 + vlen
            else:
                p += {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}[htype]
        out.append((hdrs, buf[end:off + total - 4]))
        off += total
    return out, False


def _walk(doc, fn):
    if isinstance(doc, dict):
        for k, v in doc.items():
            fn(k, v)
            _walk(v, fn)
    elif isinstance(doc, list):
        for v in doc:
            _walk(v, fn)


def finish_reasons(docs):
    """Distinct non-null finish reasons anywhere in @docs, in order of appearance."""
    out = []

    def fn(k, v):
        if k in FINISH_KEYS and isinstance(v, str) and v and v not in out:
            out.append(v)
    for d in docs:
        _walk(d, fn)
    return out


def _exception_type(name):
    return name[:1].upper() + name[1:] if name else name


class Interaction:
    """One recorded request/response and what bedtrace must say about it."""

    def __init__(self, it):
        rq, rs = it.get("request") or {}, it.get("response") or {}
        self.method = rq.get("method", "POST")
        self.uri = str(rq.get("uri"))
        u = urllib.parse.urlsplit(self.uri)
        self.raw_path = u.path
        self.path = urllib.parse.unquote(u.path)
        self.req_headers = _headers(rq.get("headers"))
        body = _bytes(rq.get("body"))
        try:
            self.req_body = json.loads(body) if body else {}
        except ValueError:
            self.req_body = {}
        self.invocation_id = self.req_headers.get("amz-sdk-invocation-id")
        self.status = int((rs.get("status") or {}).get("code", 200))
        self.headers = _headers(rs.get("headers"))
        self.request_id = self.headers.get("x-amzn-requestid")
        self.body = _bytes(rs.get("body"))
        self.stream = self.headers.get("content-type", "").startswith(
            "application/vnd.amazon.eventstream")
        parts = self.path.strip("/").split("/")
        self.agent = parts[0] == "agents"
        self.model = parts[1] if parts[0] == "model" else None
        self.agent_id = parts[1] if self.agent else None
        self.session_id = parts[5] if self.agent and len(parts) > 5 else None
        self.api = parts[-1]  # converse, converse-stream, invoke, invoke-with-response-stream
        self.error_type = None
        self.corrupt = False
        self.events = []  # [(headers, decoded JSON payload or None)]
        self.input_tokens = self.output_tokens = None
        self.finish = []
        self._decode()

    # -- what the response says ---------------------------------------------------------------

    def _decode(self):
        if self.status >= 400:
            et = self.headers.get("x-amzn-errortype")
            self.error_type = et.split(":")[0] if et else (
                "ThrottlingException" if self.status == 429 else str(self.status))
            return
        docs = []
        if self.stream:
            frames, self.corrupt = event_frames(self.body)
            for h, payload in frames:
                try:
                    doc = json.loads(payload) if payload else None
                except ValueError:
                    doc = None
                if h.get(":message-type") == "exception":
                    self.error_type = _exception_type(h.get(":exception-type"))
                    self.events.append((h, doc))
                    break
                # InvokeModelWithResponseStream: the model's own JSON is base64 in "bytes"
                if isinstance(doc, dict) and isinstance(doc.get("bytes"), str) and not self.agent:
                    try:
                        doc = json.loads(base64.b64decode(doc["bytes"]))
                    except ValueError:
                        pass
                self.events.append((h, doc))
                docs.append(doc)
        else:
            try:
                docs.append(json.loads(self.body))
            except ValueError:
                pass
        if self.agent:
            self._agent_usage()
            return
        self.finish = finish_reasons(docs)
        self._usage(docs)

    def _usage(self, docs):
        h = self.headers
        if "x-amzn-bedrock-input-token-count" in h:
            self.input_tokens = int(h["x-amzn-bedrock-input-token-count"])
            self.output_tokens = int(h["x-amzn-bedrock-output-token-count"])
            return
        for d in docs:
            if not isinstance(d, dict):
                continue
            m = d.get("amazon-bedrock-invocationMetrics")
            if m:
                self.input_tokens = m["inputTokenCount"]
                self.output_tokens = m["outputTokenCount"]
            u = d.get("usage")
            if self.api in ("converse", "converse-stream") and isinstance(u, dict):
                self.input_tokens = (u["inputTokens"] + u.get("cacheReadInputTokens", 0) +
                                     u.get("cacheWriteInputTokens", 0))
                self.output_tokens = u["outputTokens"]

    def _agent_usage(self):
        tin = tout = 0
        calls = 0

        def fn(k, v):
            nonlocal tin, tout, calls
            if k == "usage" and isinstance(v, dict) and "inputTokens" in v:
                tin += v["inputTokens"]
                tout += v.get("outputTokens", 0)
                calls += 1
        for h, doc in self.events:
            if h.get(":event-type") == "trace":
                _walk(doc, fn)
        self.input_tokens, self.output_tokens = tin, tout
        self.model_calls = calls

    # -- names ---------------------------------------------------------------------------------

    @property
    def operation(self):
        if self.agent:
            return "invoke_agent"
        if self.api in ("converse", "converse-stream"):
            return "chat"
        b = self.req_body
        if "messages" in b or "message" in b:
            return "chat"
        return "text_completion"

    @property
    def span_name(self):
        return "%s %s" % (self.operation, self.agent_id if self.agent else self.model)

    @property
    def throttled(self):
        return self.status == 429 or self.error_type == "ThrottlingException"

    @property
    def first_chunk(self):
        """A stream that delivers at least one event before it ends."""
        return self.stream and bool(self.events)


CONTENT_KEYS = ("text", "inputText", "prompt", "message", "outputText", "generation",
                "completion", "rationale", "finalResponse", "system", "content")


def content_strings(it, min_len=12):
    """Prompt and completion text an interaction carries (request body, response body or
    events, agent chunks and traces, error messages), each at least @min_len characters."""
    out = set()

    def fn(k, v):
        if k in CONTENT_KEYS and isinstance(v, str) and len(v) >= min_len:
            out.add(v)
    _walk(it.req_body, fn)
    if not it.stream:
        try:
            _walk(json.loads(it.body), fn)
        except ValueError:
            pass
    for h, doc in it.events:
        if isinstance(doc, dict) and it.agent and h.get(":event-type") == "chunk":
            try:
                text = base64.b64decode(doc.get("bytes", "")).decode()
            except ValueError:
                text = ""
            if len(text) >= min_len:
                out.add(text)
        _walk(doc, fn)
    return sorted(out)


class Cassette:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)[:-len(".yaml")]
        doc = vcr_yaml.load_file(path)
        self.interactions = [Interaction(it) for it in doc.get("interactions") or []]

    def calls(self):
        """Runs of identical consecutive requests: one SDK call each, retries included."""
        out, prev = [], None
        for it in self.interactions:
            key = (it.method, it.path, json.dumps(it.req_body, sort_keys=True))
            if key == prev:
                out[-1].append(it)
            else:
                out.append([it])
            prev = key
        return out
