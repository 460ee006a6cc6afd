#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes Bedrock cassettes that the recorded fixtures lack, in their VCR YAML layout.

    make_cassettes.py OUTDIR               write the cassettes into OUTDIR
    make_cassettes.py --self-check OUTDIR  re-read OUTDIR and prove every file valid

The recorded cassettes in tests/fixtures/bedrock-cassettes cover plain model calls only.
These add InvokeAgent (multi-agent trace events, a failure with a stream exception), a throttled
Converse that succeeds on retry, a ConverseStream that ends in a stream exception and an
InvokeModelWithResponseStream whose second frame is corrupt. Event-stream bodies are framed
here (zlib CRC32) and every event payload is checked against the AWS service models, so a
field name the model does not define fails the self-check. Output is deterministic: running
twice gives identical bytes, and --self-check also proves OUTDIR matches this generator.

Debian python3, standard library only. See EXPECTED.md for the spans each file must produce.
"""

import argparse
import base64
import json
import os
import re
import struct
import sys
import time
import uuid
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
import vcr_yaml  # noqa: E402  (the one cassette reader of the test clients)
DEFAULT_MODELS = os.path.join(ROOT, "tests", "fixtures", "aws-models")
AGENT_MODEL = "bedrock-agent-runtime/2023-07-26/service-2.json"
RUNTIME_MODEL = "bedrock-runtime/2023-09-30/service-2.json"

UUID_NS = uuid.UUID("6f1c1c52-9a57-4c3e-8d2e-2f0b1d3a7c10")
USER_AGENT = ("Boto3/1.35.56 md/Botocore#1.35.56 ua/2.0 os/linux#6.1.0 md/arch#x86_64 "
              "lang/python#3.11.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.56")
RUNTIME_HOST = "https://bedrock-runtime.us-east-1.amazonaws.com"
AGENT_HOST = "https://bedrock-agent-runtime.us-east-1.amazonaws.com"

ACCOUNT = "123456789012"
SUPERVISOR_ID = "SUPERVISOR01"
SUPERVISOR_ALIAS = "ALIAS01"
SUPERVISOR_VERSION = "3"
BILLING_ID = "BILLING001"
BILLING_ALIAS = "BILLALIAS1"
BILLING_VERSION = "2"
BILLING_NAME = "billing-agent"
SUPERVISOR_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
BILLING_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def alias_arn(agent_id, alias_id):
    return f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/{agent_id}/{alias_id}"


SUPERVISOR_ARN = alias_arn(SUPERVISOR_ID, SUPERVISOR_ALIAS)
BILLING_ARN = alias_arn(BILLING_ID, BILLING_ALIAS)

# The lead's integration contract fixes the supervisor ids; they are longer than the model's
# 10-character AgentId/AgentAliasId limit (no SDK checks it), so only these values are exempt.
CONSTRAINT_EXEMPT = {SUPERVISOR_ID, SUPERVISOR_ALIAS, SUPERVISOR_ARN}

# Bedrock Runtime pads every event with a random-length "p" member against length analysis.
PADDING_MEMBER = "p"

ES_TYPES = {"bool_true": 0, "bool_false": 1, "byte": 2, "short": 3, "int": 4, "long": 5,
            "bytes": 6, "string": 7, "timestamp": 8, "uuid": 9}
ES_MAX_FRAME = 16 << 20


class CheckError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Event-stream framing

def es_header(name, value, kind="string"):
    """One encoded header; @kind is a key of ES_TYPES."""
    raw = name.encode()
    out = struct.pack(">B", len(raw)) + raw + struct.pack(">B", ES_TYPES[kind])
    if kind in ("bool_true", "bool_false"):
        return out
    if kind == "byte":
        return out + struct.pack(">b", value)
    if kind == "short":
        return out + struct.pack(">h", value)
    if kind == "int":
        return out + struct.pack(">i", value)
    if kind in ("long", "timestamp"):
        return out + struct.pack(">q", value)
    if kind == "uuid":
        return out + value.bytes
    data = value.encode() if kind == "string" else value
    return out + struct.pack(">H", len(data)) + data


def es_frame(headers, payload, corrupt_message_crc=False):
    hdr = b"".join(headers)
    total = 12 + len(hdr) + len(payload) + 4
    prelude = struct.pack(">II", total, len(hdr))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + hdr + payload
    crc = zlib.crc32(body)
    if corrupt_message_crc:
        crc ^= 0x00000001
    return body + struct.pack(">I", crc)


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def es_event(event_type, obj, corrupt_message_crc=False):
    headers = [es_header(":event-type", event_type),
               es_header(":content-type", "application/json"),
               es_header(":message-type", "event")]
    return es_frame(headers, json_bytes(obj), corrupt_message_crc)


def es_exception(exception_type, obj):
    headers = [es_header(":exception-type", exception_type),
               es_header(":content-type", "application/json"),
               es_header(":message-type", "exception")]
    return es_frame(headers, json_bytes(obj))


def es_decode(buf):
    """All frames of @buf as dicts; raises CheckError naming the frame on any inconsistency."""
    frames = []
    off = 0
    while off < len(buf):
        where = f"frame {len(frames)} at offset {off}"
        if len(buf) - off < 16:
            raise CheckError(f"{where}: {len(buf) - off} trailing bytes, not a frame")
        total, hlen, pcrc = struct.unpack_from(">III", buf, off)
        if zlib.crc32(buf[off:off + 8]) != pcrc:
            raise CheckError(f"{where}: prelude CRC mismatch")
        if total < 16 or total > ES_MAX_FRAME or hlen > total - 16:
            raise CheckError(f"{where}: bad lengths total={total} headers={hlen}")
        if off + total > len(buf):
            raise CheckError(f"{where}: frame of {total} bytes truncated")
        frame = buf[off:off + total]
        if zlib.crc32(frame[:-4]) != struct.unpack(">I", frame[-4:])[0]:
            raise CheckError(f"{where}: message CRC mismatch")
        headers = {}
        hdr = frame[12:12 + hlen]
        pos = 0
        while pos < len(hdr):
            nlen = hdr[pos]
            name = hdr[pos + 1:pos + 1 + nlen].decode()
            pos += 1 + nlen
            kind = hdr[pos]
            pos += 1
            if kind != ES_TYPES["string"]:
                raise CheckError(f"{where}: header {name} has type {kind}, Bedrock sends strings")
            vlen = struct.unpack_from(">H", hdr, pos)[0]
            headers[name] = hdr[pos + 2:pos + 2 + vlen].decode()
            pos += 2 + vlen
        if pos != len(hdr):
            raise CheckError(f"{where}: headers overrun")
        frames.append({"offset": off, "length": total, "headers": headers,
                       "payload": frame[12 + hlen:-4]})
        off += total
    return frames


# ---------------------------------------------------------------------------------------------
# Service-model validation: every member name, type, enum, union and required member

class Model:
    def __init__(self, path):
        with open(path) as f:
            self.doc = json.load(f)
        self.shapes = self.doc["shapes"]

    def check(self, shape_name, value, path, top_padding=False):
        """Raises CheckError where @value first breaks @shape_name.

        Members bound to the URI or to HTTP/event headers are not part of a JSON body; the
        padding member is allowed only at the top of a Bedrock Runtime event (@top_padding).
        """
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            if shape.get("document"):
                return
            if not isinstance(value, dict):
                raise CheckError(f"{path}: {shape_name} wants an object")
            members = {k: v for k, v in shape["members"].items()
                       if "location" not in v and not v.get("eventheader")}
            for key, sub in value.items():
                if key == PADDING_MEMBER and top_padding:
                    continue
                if key not in members:
                    raise CheckError(f"{path}: {shape_name} has no member {key!r}")
                self.check(members[key]["shape"], sub, f"{path}.{key}")
            for req in shape.get("required", []):
                if req in members and req not in value:
                    raise CheckError(f"{path}: {shape_name} requires {req!r}")
            if shape.get("union") and len(value) - (PADDING_MEMBER in value and top_padding) != 1:
                raise CheckError(f"{path}: union {shape_name} must set exactly one member")
        elif kind == "list":
            if not isinstance(value, list):
                raise CheckError(f"{path}: {shape_name} wants a list")
            for i, sub in enumerate(value):
                self.check(shape["member"]["shape"], sub, f"{path}[{i}]")
        elif kind == "map":
            if not isinstance(value, dict):
                raise CheckError(f"{path}: {shape_name} wants a map")
            for key, sub in value.items():
                self.check(shape["key"]["shape"], key, f"{path}<key>")
                self.check(shape["value"]["shape"], sub, f"{path}[{key!r}]")
        elif kind == "string":
            if not isinstance(value, str):
                raise CheckError(f"{path}: {shape_name} wants a string")
            if "enum" in shape and value not in shape["enum"]:
                raise CheckError(f"{path}: {value!r} not in {shape_name} enum")
            if value in CONSTRAINT_EXEMPT:
                return
            if len(value) < shape.get("min", 0) or len(value) > shape.get("max", 1 << 62):
                raise CheckError(f"{path}: {value!r} breaks {shape_name} length limits")
            if "pattern" in shape and not re.search(shape["pattern"], value):
                raise CheckError(f"{path}: {value!r} breaks {shape_name} pattern")
        elif kind in ("integer", "long"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise CheckError(f"{path}: {shape_name} wants an integer")
            if value < shape.get("min", -(1 << 63)) or value > shape.get("max", 1 << 63):
                raise CheckError(f"{path}: {value} out of {shape_name} range")
        elif kind in ("float", "double"):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise CheckError(f"{path}: {shape_name} wants a number")
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise CheckError(f"{path}: {shape_name} wants a boolean")
        elif kind == "timestamp":
            if shape.get("timestampFormat") != "iso8601":
                raise CheckError(f"{path}: {shape_name} is not an iso8601 timestamp")
            if not isinstance(value, str) or not re.fullmatch(
                    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value):
                raise CheckError(f"{path}: {value!r} is not an ISO 8601 UTC time")
        elif kind == "blob":
            try:
                base64.b64decode(value, validate=True)
            except (TypeError, ValueError) as e:
                raise CheckError(f"{path}: {shape_name} is not base64: {e}") from e
        else:
            raise CheckError(f"{path}: unhandled shape type {kind}")

    def check_event(self, stream_shape, frame, path, padding):
        """Checks one event-stream frame against the stream union @stream_shape."""
        members = self.shapes[stream_shape]["members"]
        h = frame["headers"]
        if h.get(":content-type") != "application/json":
            raise CheckError(f"{path}: :content-type is {h.get(':content-type')!r}")
        mtype = h.get(":message-type")
        name = h.get(":event-type") if mtype == "event" else h.get(":exception-type")
        if mtype not in ("event", "exception") or name not in members:
            raise CheckError(f"{path}: {mtype} {name!r} is not a member of {stream_shape}")
        target = members[name]["shape"]
        want = "event" if mtype == "event" else "exception"
        if not self.shapes[target].get(want):
            raise CheckError(f"{path}: {name} ({target}) is not an {want} shape")
        payload = json.loads(frame["payload"])
        self.check(target, payload, f"{path}<{name}>", top_padding=padding)
        return name, payload


# ---------------------------------------------------------------------------------------------
# VCR YAML: written in the recorded cassettes' layout, read back by a parser for that subset

def yaml_quote(s):
    return "'" + s.replace("'", "''") + "'"


def yaml_literal(text, indent):
    pad = " " * indent
    return "|-\n" + "\n".join(pad + line if line else "" for line in text.split("\n"))


def yaml_headers(headers, indent):
    pad = " " * indent
    out = []
    for name, values in headers:
        out.append(f"{pad}{name}:")
        out.extend(f"{pad}- {yaml_quote(v)}" for v in values)
    return "\n".join(out)


def yaml_cassette(interactions):
    out = ["interactions:"]
    for it in interactions:
        req, resp = it["request"], it["response"]
        out.append("- request:")
        out.append("    body: " + yaml_literal(req["body"], 6))
        out.append("    headers:")
        out.append(yaml_headers(req["headers"], 6))
        out.append(f"    method: {req['method']}")
        out.append(f"    uri: {req['uri']}")
        out.append("  response:")
        out.append("    body:")
        if isinstance(resp["body"], bytes):
            b64 = base64.b64encode(resp["body"]).decode()
            out.append("      string: !!binary |")
            out.extend("        " + b64[i:i + 76] for i in range(0, len(b64), 76))
        else:
            out.append("      string: " + yaml_literal(resp["body"], 8))
        out.append("    headers:")
        out.append(yaml_headers(resp["headers"], 6))
        out.append("    status:")
        out.append(f"      code: {resp['status']}")
        out.append(f"      message: {resp['reason']}")
    out.append("version: 1")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# The scenarios

BASE_MS = 1738819200000  # 2025-02-06T05:20:00Z


def iso(ms):
    s, ms = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{ms:03d}Z"


def http_date(ms):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ms // 1000))


def amz_date(ms):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ms // 1000))


def det_uuid(name):
    return str(uuid.uuid5(UUID_NS, name))


def pretty(obj):
    return json.dumps(obj, indent=2)


def request(uri, body_obj, at_ms, key, attempt=1):
    compact = json.dumps(body_obj, separators=(",", ":"))
    return {
        "method": "POST",
        "uri": uri,
        "body": pretty(body_obj),
        "headers": [
            ("Content-Length", [str(len(compact))]),
            ("Content-Type", ["application/json"]),
            ("User-Agent", [USER_AGENT]),
            ("X-Amz-Date", [amz_date(at_ms)]),
            ("amz-sdk-invocation-id", [det_uuid(key)]),
            ("amz-sdk-request", [f"attempt={attempt}" + ("" if attempt == 1 else "; max=3")]),
            ("authorization", ["Bearer test_aws_authorization"]),
        ],
    }


def stream_response(body, at_ms, key, extra_headers, status=200, reason="OK"):
    return {
        "status": status,
        "reason": reason,
        "body": body,
        "headers": [
            ("Connection", ["keep-alive"]),
            ("Content-Type", ["application/vnd.amazon.eventstream"]),
            ("Date", [http_date(at_ms)]),
            ("Transfer-Encoding", ["chunked"]),
        ] + extra_headers + [("x-amzn-RequestId", [det_uuid(key + "/response")])],
    }


def json_response(obj, at_ms, key, status=200, reason="OK", extra_headers=()):
    return {
        "status": status,
        "reason": reason,
        "body": pretty(obj),
        "headers": [
            ("Connection", ["keep-alive"]),
            ("Content-Type", ["application/json"]),
            ("Date", [http_date(at_ms)]),
        ] + list(extra_headers) + [("x-amzn-RequestId", [det_uuid(key + "/response")])],
    }


class AgentTrace:
    """Builds InvokeAgent trace events on a shared clock, as one agent or its collaborator."""

    def __init__(self, session_id):
        self.session_id = session_id
        self.clock = BASE_MS
        self.frames = []

    def tick(self, ms):
        self.clock += ms
        return self.clock

    def meta(self, start, end, usage=None):
        m = {"startTime": iso(start), "endTime": iso(end), "totalTimeMs": end - start}
        if usage:
            m["usage"] = {"inputTokens": usage[0], "outputTokens": usage[1]}
        return m

    def trace(self, kind, part, collaborator=False, **sub):
        """One trace event at the current clock; @part None for the non-union trace kinds."""
        tp = {
            "agentAliasId": BILLING_ALIAS if collaborator else SUPERVISOR_ALIAS,
            "agentId": BILLING_ID if collaborator else SUPERVISOR_ID,
            "agentVersion": BILLING_VERSION if collaborator else SUPERVISOR_VERSION,
            "callerChain": [{"agentAliasArn": SUPERVISOR_ARN}],
            "eventTime": iso(self.clock),
            "sessionId": self.session_id,
            "trace": {kind: sub if part is None else {part: sub}},
        }
        if collaborator:
            tp["callerChain"].append({"agentAliasArn": BILLING_ARN})
            tp["collaboratorName"] = BILLING_NAME
        self.frames.append(es_event("trace", tp))

    def model_call(self, kind, trace_id, prompt_type, model, prompt, raw, usage, duration,
                   collaborator=False, parsed=None):
        """A modelInvocationInput then, @duration ms later, its modelInvocationOutput."""
        start = self.tick(15)
        self.trace(kind, "modelInvocationInput", collaborator, traceId=trace_id, text=prompt,
                   type=prompt_type, foundationModel=model,
                   inferenceConfiguration={"maximumLength": 2048, "stopSequences": ["</answer>"],
                                           "temperature": 0.0, "topK": 250, "topP": 1.0},
                   promptCreationMode="DEFAULT", parserMode="DEFAULT")
        end = self.tick(duration)
        out = {"traceId": trace_id, "rawResponse": {"content": raw},
               "metadata": self.meta(start, end, usage)}
        if parsed is not None:
            out["parsedResponse"] = parsed
        self.trace(kind, "modelInvocationOutput", collaborator, **out)

    def orch(self, part, trace_id, collaborator=False, **sub):
        self.tick(5)
        self.trace("orchestrationTrace", part, collaborator, traceId=trace_id, **sub)


def agent_uri(session_id):
    return (f"{AGENT_HOST}/agents/{SUPERVISOR_ID}/agentAliases/{SUPERVISOR_ALIAS}/sessions/"
            f"{session_id}/text")


def agent_headers(session_id):
    return [("x-amz-bedrock-agent-session-id", [session_id]),
            ("x-amzn-bedrock-agent-content-type", ["application/json"])]


def agent_invoke_multi():
    session = "session-1"
    question = "Order A-1001 arrived damaged. Can I get a refund?"
    t = AgentTrace(session)
    req = request(agent_uri(session), {"inputText": question, "enableTrace": True}, t.clock,
                  "agent_invoke_multi")

    gstart = t.tick(20)
    gend = t.tick(40)
    t.trace("guardrailTrace", None, traceId="guard-in", action="NONE", inputAssessments=[{}],
            metadata=t.meta(gstart, gend))

    t.model_call("preProcessingTrace", "pre-0", "PRE_PROCESSING", SUPERVISOR_MODEL,
                 f"Classify the user input: {question}",
                 "<category>D</category>", (512, 64), 640,
                 parsed={"isValid": True, "rationale": "A refund question about an order."})

    t.model_call("orchestrationTrace", "orch-1", "ORCHESTRATION", SUPERVISOR_MODEL,
                 f"You are a support supervisor. User: {question}",
                 "<thinking>Look up the order first.</thinking>", (1024, 96), 1210)
    t.orch("rationale", "orch-1", text="I need the order details before deciding on a refund.")
    ag_start = t.tick(5)
    t.trace("orchestrationTrace", "invocationInput", traceId="orch-1",
            invocationType="ACTION_GROUP",
            actionGroupInvocationInput={
                "actionGroupName": "order-tools", "apiPath": "/orders/{orderId}", "verb": "get",
                "parameters": [{"name": "orderId", "type": "string", "value": "A-1001"}],
                "executionType": "LAMBDA", "invocationId": det_uuid("orch-1/action")})
    ag_end = t.tick(180)
    t.trace("orchestrationTrace", "observation", traceId="orch-1", type="ACTION_GROUP",
            actionGroupInvocationOutput={
                "text": '{"orderId":"A-1001","status":"DELIVERED","total":"42.50"}',
                "metadata": t.meta(ag_start, ag_end)})

    t.model_call("orchestrationTrace", "orch-2", "ORCHESTRATION", SUPERVISOR_MODEL,
                 "Order A-1001 is delivered. Decide the next step.",
                 "<thinking>Check the refund policy.</thinking>", (1180, 72), 980)
    t.orch("rationale", "orch-2", text="The refund policy decides whether damage qualifies.")
    kb_start = t.tick(5)
    t.trace("orchestrationTrace", "invocationInput", traceId="orch-2",
            invocationType="KNOWLEDGE_BASE",
            knowledgeBaseLookupInput={"knowledgeBaseId": "KBREFUND01",
                                      "text": "refund policy for damaged items"})
    kb_end = t.tick(320)
    t.trace("orchestrationTrace", "observation", traceId="orch-2", type="KNOWLEDGE_BASE",
            knowledgeBaseLookupOutput={
                "retrievedReferences": [{
                    "content": {"type": "TEXT",
                                "text": "Items damaged in transit are refunded in full."},
                    "location": {"type": "S3",
                                 "s3Location": {"uri": "s3://policies/refunds.md"}},
                    "metadata": {"x-amz-bedrock-kb-chunk-id": "chunk-7"}}],
                "metadata": t.meta(kb_start, kb_end)})

    t.model_call("orchestrationTrace", "orch-3", "ORCHESTRATION", SUPERVISOR_MODEL,
                 "Policy allows a full refund. Delegate the refund.",
                 "<thinking>Ask the billing agent.</thinking>", (1350, 88), 1020)
    t.orch("rationale", "orch-3", text="Billing issues refunds; delegate to billing-agent.")
    collab_start = t.tick(5)
    t.trace("orchestrationTrace", "invocationInput", traceId="orch-3",
            invocationType="AGENT_COLLABORATOR",
            agentCollaboratorInvocationInput={
                "agentCollaboratorName": BILLING_NAME,
                "agentCollaboratorAliasArn": BILLING_ARN,
                "input": {"type": "TEXT", "text": "Refund order A-1001 in full (42.50)."}})

    # The collaborator's own trace events, interleaved in the supervisor's stream.
    t.model_call("orchestrationTrace", "bill-1", "ORCHESTRATION", BILLING_MODEL,
                 "You are the billing agent. Refund order A-1001 in full (42.50).",
                 "<thinking>Call issue_refund.</thinking>", (700, 80), 560, collaborator=True)
    t.orch("rationale", "bill-1", collaborator=True, text="Issue the refund through billing-tools.")
    rf_start = t.tick(5)
    t.trace("orchestrationTrace", "invocationInput", collaborator=True, traceId="bill-1",
            invocationType="ACTION_GROUP",
            actionGroupInvocationInput={
                "actionGroupName": "billing-tools", "function": "issue_refund",
                "parameters": [{"name": "orderId", "type": "string", "value": "A-1001"},
                               {"name": "amount", "type": "number", "value": "42.50"}],
                "executionType": "LAMBDA", "invocationId": det_uuid("bill-1/action")})
    rf_end = t.tick(240)
    t.trace("orchestrationTrace", "observation", collaborator=True, traceId="bill-1",
            type="ACTION_GROUP",
            actionGroupInvocationOutput={"text": '{"refundId":"R-77","status":"ISSUED"}',
                                         "metadata": t.meta(rf_start, rf_end)})
    t.model_call("orchestrationTrace", "bill-2", "ORCHESTRATION", BILLING_MODEL,
                 "Refund R-77 issued. Answer the supervisor.",
                 "<answer>Refund R-77 of 42.50 issued.</answer>", (820, 60), 430,
                 collaborator=True)
    fr_start = t.tick(5)
    fr_end = t.tick(2)
    t.trace("orchestrationTrace", "observation", collaborator=True, traceId="bill-2",
            type="FINISH",
            finalResponse={"text": "Refund R-77 of 42.50 issued.",
                           "metadata": t.meta(fr_start, fr_end)})

    collab_end = t.tick(10)
    t.trace("orchestrationTrace", "observation", traceId="orch-3", type="AGENT_COLLABORATOR",
            agentCollaboratorInvocationOutput={
                "agentCollaboratorName": BILLING_NAME,
                "agentCollaboratorAliasArn": BILLING_ARN,
                "output": {"type": "TEXT", "text": "Refund R-77 of 42.50 issued."},
                "metadata": t.meta(collab_start, collab_end)})

    answer = ("Your order A-1001 qualifies for a full refund. Refund R-77 for 42.50 has been "
              "issued and will reach your card in 3-5 days.")
    t.model_call("orchestrationTrace", "orch-4", "ORCHESTRATION", SUPERVISOR_MODEL,
                 "Refund issued. Write the final answer.",
                 f"<answer>{answer}</answer>", (1460, 54), 890)
    fin_start = t.tick(5)
    fin_end = t.tick(1)
    t.trace("orchestrationTrace", "observation", traceId="orch-4", type="FINISH",
            finalResponse={"text": answer, "metadata": t.meta(fin_start, fin_end)})

    g2start = t.tick(5)
    g2end = t.tick(35)
    t.trace("guardrailTrace", None, traceId="guard-out", action="NONE", outputAssessments=[{}],
            metadata=t.meta(g2start, g2end))

    t.model_call("postProcessingTrace", "post-0", "POST_PROCESSING", SUPERVISOR_MODEL,
                 f"Rewrite for the customer: {answer}", answer, (300, 40), 410,
                 parsed={"text": answer})

    split = answer.index(" Refund R-77")
    t.tick(5)
    t.frames.append(es_event("chunk", {"bytes": base64.b64encode(
        answer[:split].encode()).decode()}))
    t.tick(3)
    t.frames.append(es_event("chunk", {
        "bytes": base64.b64encode(answer[split:].encode()).decode(),
        "attribution": {"citations": [{
            "generatedResponsePart": {"textResponsePart": {
                "text": answer[:split], "span": {"start": 0, "end": split - 1}}},
            "retrievedReferences": [{
                "content": {"type": "TEXT",
                            "text": "Items damaged in transit are refunded in full."},
                "location": {"type": "S3", "s3Location": {"uri": "s3://policies/refunds.md"}},
            }]}]}}))

    resp = stream_response(b"".join(t.frames), BASE_MS + 1000, "agent_invoke_multi",
                           agent_headers(session))
    return [{"request": req, "response": resp}]


def agent_invoke_failure():
    session = "session-fail-1"
    question = "What is the status of order B-2002?"
    t = AgentTrace(session)
    req = request(agent_uri(session), {"inputText": question, "enableTrace": True}, t.clock,
                  "agent_invoke_failure")
    t.model_call("preProcessingTrace", "pre-0", "PRE_PROCESSING", SUPERVISOR_MODEL,
                 f"Classify the user input: {question}", "<category>D</category>", (498, 52),
                 600, parsed={"isValid": True, "rationale": "An order status question."})
    start = t.tick(15)
    t.trace("orchestrationTrace", "modelInvocationInput", traceId="orch-1",
            text=f"You are a support supervisor. User: {question}", type="ORCHESTRATION",
            foundationModel=SUPERVISOR_MODEL)
    end = t.tick(2500)
    t.trace("failureTrace", None, traceId="orch-1", failureCode=429,
            failureReason="Model invocation throttled: too many tokens per minute.",
            metadata=t.meta(start, end))
    t.frames.append(es_exception("throttlingException", {
        "message": "Your request rate is too high. Reduce the frequency of requests."}))
    resp = stream_response(b"".join(t.frames), BASE_MS + 1000, "agent_invoke_failure",
                           agent_headers(session))
    return [{"request": req, "response": resp}]


CONVERSE_REQUEST = {
    "messages": [{"role": "user", "content": [{"text": "Say this is a test"}]}],
    "inferenceConfig": {"maxTokens": 10, "temperature": 0.8, "topP": 1},
}


def converse_throttled():
    uri = f"{RUNTIME_HOST}/model/amazon.titan-text-express-v1/converse"
    first = {
        "request": request(uri, CONVERSE_REQUEST, BASE_MS, "converse_throttled"),
        "response": json_response(
            {"message": "Too many requests, please wait before trying your request again."},
            BASE_MS + 90, "converse_throttled/1", 429, "Too Many Requests",
            [("x-amzn-ErrorType",
              ["ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"])]),
    }
    second = {
        "request": request(uri, CONVERSE_REQUEST, BASE_MS + 600, "converse_throttled", attempt=2),
        "response": json_response({
            "metrics": {"latencyMs": 512},
            "output": {"message": {"content": [{"text": "This is a test."}],
                                   "role": "assistant"}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 6, "outputTokens": 5, "totalTokens": 11},
        }, BASE_MS + 1200, "converse_throttled/2"),
    }
    return [first, second]


def converse_stream_exception():
    uri = f"{RUNTIME_HOST}/model/amazon.nova-lite-v1%3A0/converse-stream"
    frames = [
        es_event("messageStart", {"p": "abcdefghijklmnop", "role": "assistant"}),
        es_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "This is"},
                                       "p": "abcdefghijklmnopqrstuv"}),
        es_exception("modelStreamErrorException", {
            "message": "The model stream failed: upstream model returned an error.",
            "originalStatusCode": 500,
            "originalMessage": "Internal error while generating tokens."}),
    ]
    return [{
        "request": request(uri, CONVERSE_REQUEST, BASE_MS, "converse_stream_exception"),
        "response": stream_response(b"".join(frames), BASE_MS + 300,
                                    "converse_stream_exception", []),
    }]


CLAUDE_EVENTS = [
    {"type": "message_start", "message": {
        "id": "msg_bdrk_01CorruptStreamTest00001", "type": "message", "role": "assistant",
        "model": "claude-2.1", "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 14, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "This"}},
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "text_delta", "text": " is a test"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
     "usage": {"output_tokens": 5}},
    {"type": "message_stop", "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": 14, "outputTokenCount": 5, "invocationLatency": 812,
        "firstByteLatency": 301}},
]
CORRUPT_FRAME = 1


def corrupt_stream():
    uri = f"{RUNTIME_HOST}/model/anthropic.claude-v2%3A1/invoke-with-response-stream"
    body = {"messages": [{"role": "user", "content": [{"type": "text",
                                                       "text": "Say this is a test"}]}],
            "anthropic_version": "bedrock-2023-05-31", "max_tokens": 10}
    frames = []
    for i, ev in enumerate(CLAUDE_EVENTS):
        payload = {"bytes": base64.b64encode(json_bytes(ev)).decode(),
                   "p": "abcdefghijklmnopqrstuvwxyz"[:3 + 3 * i]}
        frames.append(es_event("chunk", payload, corrupt_message_crc=(i == CORRUPT_FRAME)))
    return [{
        "request": request(uri, body, BASE_MS, "corrupt_stream"),
        "response": stream_response(b"".join(frames), BASE_MS + 400, "corrupt_stream",
                                    [("X-Amzn-Bedrock-Content-Type", ["application/json"])]),
    }]


CASSETTES = {
    "agent_invoke_multi.yaml": agent_invoke_multi,
    "agent_invoke_failure.yaml": agent_invoke_failure,
    "converse_throttled.yaml": converse_throttled,
    "converse_stream_exception.yaml": converse_stream_exception,
    "corrupt_stream.yaml": corrupt_stream,
}


# ---------------------------------------------------------------------------------------------
# Self-check: what each file must hold, proven from the bytes on disk

def trace_kinds(model, frames, path):
    """(:event-type or exception, trace kind, union part or "", payload) per frame, checked."""
    trace_members = model.shapes["Trace"]["members"]
    out = []
    for i, fr in enumerate(frames):
        name, payload = model.check_event("ResponseStream", fr, f"{path} frame {i}", False)
        if name == "trace":
            kind, sub = next(iter(payload["trace"].items()))
            union = model.shapes[trace_members[kind]["shape"]].get("union")
            out.append(("trace", kind, next(iter(sub)) if union else "", payload))
        else:
            out.append((name, fr["headers"][":message-type"], "", payload))
    return out


def check_agent_multi(models, doc, path):
    (it,) = doc["interactions"]
    models["agent"].check("InvokeAgentRequest", json.loads(it["request"]["body"]),
                               f"{path} request")
    frames = es_decode(it["response"]["body"]["string"])
    kinds = trace_kinds(models["agent"], frames, path)
    if [k[0] for k in kinds[-2:]] != ["chunk", "chunk"]:
        raise CheckError(f"{path}: stream must end with two chunks")
    seen = {(k[1], k[2]) for k in kinds if k[0] == "trace"}
    for need in [("guardrailTrace", ""), ("preProcessingTrace", "modelInvocationOutput"),
                 ("orchestrationTrace", "rationale"), ("orchestrationTrace", "invocationInput"),
                 ("orchestrationTrace", "observation"), ("postProcessingTrace",
                                                         "modelInvocationOutput")]:
        if need not in seen:
            raise CheckError(f"{path}: no {need} event")
    inputs = {next(k for k in p["trace"]["orchestrationTrace"]["invocationInput"]
                   if k.endswith("Input"))
              for _, kind, part, p in kinds if part == "invocationInput"}
    want = {"actionGroupInvocationInput", "knowledgeBaseLookupInput",
            "agentCollaboratorInvocationInput"}
    if inputs != want:
        raise CheckError(f"{path}: invocation inputs {sorted(inputs)} != {sorted(want)}")
    collab = [p for k, _, _, p in kinds if k == "trace" and p.get("collaboratorName")]
    if not collab or any(len(p["callerChain"]) != 2 or p["agentId"] != BILLING_ID
                         for p in collab):
        raise CheckError(f"{path}: collaborator events need a two-entry callerChain")
    times = [p["eventTime"] for k, _, _, p in kinds if k == "trace"]
    if times != sorted(times):
        raise CheckError(f"{path}: eventTime goes backwards")
    return f"{len(frames)} frames, {len(collab)} from {BILLING_NAME}"


def check_agent_failure(models, doc, path):
    (it,) = doc["interactions"]
    frames = es_decode(it["response"]["body"]["string"])
    kinds = trace_kinds(models["agent"], frames, path)
    if kinds[-2][1] != "failureTrace" or kinds[-1][:2] != ("throttlingException", "exception"):
        raise CheckError(f"{path}: must end with failureTrace then throttlingException")
    return f"{len(frames)} frames, ends in failureTrace + throttlingException"


def check_converse_throttled(models, doc, path):
    first, second = doc["interactions"]
    if first["request"]["uri"] != second["request"]["uri"]:
        raise CheckError(f"{path}: both interactions must share one URI")
    for it in (first, second):
        models["runtime"].check("ConverseRequest", json.loads(it["request"]["body"]),
                                     f"{path} request")
    if first["response"]["status"]["code"] != 429:
        raise CheckError(f"{path}: first answer must be 429")
    models["runtime"].check("ThrottlingException", json.loads(first["response"]["body"]["string"]),
                            f"{path} 429 body")
    if second["response"]["status"]["code"] != 200:
        raise CheckError(f"{path}: second answer must be 200")
    models["runtime"].check("ConverseResponse",
                                 json.loads(second["response"]["body"]["string"]),
                                 f"{path} 200 body")
    return "429 then 200"


def check_converse_stream_exception(models, doc, path):
    (it,) = doc["interactions"]
    models["runtime"].check("ConverseRequest", json.loads(it["request"]["body"]),
                                 f"{path} request")
    frames = es_decode(it["response"]["body"]["string"])
    names = [models["runtime"].check_event("ConverseStreamOutput", fr, f"{path} frame {i}",
                                           True)[0] for i, fr in enumerate(frames)]
    if names != ["messageStart", "contentBlockDelta", "modelStreamErrorException"]:
        raise CheckError(f"{path}: events {names}")
    return f"{len(frames)} frames, ends in modelStreamErrorException"


def check_corrupt(models, doc, path):
    (it,) = doc["interactions"]
    body = it["response"]["body"]["string"]
    try:
        es_decode(body)
    except CheckError as e:
        if f"frame {CORRUPT_FRAME} " not in str(e) or "message CRC mismatch" not in str(e):
            raise CheckError(f"{path}: wrong failure: {e}") from e
    else:
        raise CheckError(f"{path}: stream decoded cleanly, frame {CORRUPT_FRAME} must be corrupt")
    # Every other frame is intact: skip the bad one by its (valid) prelude and decode the rest.
    first = es_decode(body[:struct.unpack_from(">I", body, 0)[0]])
    bad_off = first[0]["length"]
    bad_len = struct.unpack_from(">I", body, bad_off)[0]
    rest = es_decode(body[bad_off + bad_len:])
    for i, fr in enumerate(first + rest):
        _, payload = models["runtime"].check_event("ResponseStream", fr, f"{path} frame {i}",
                                                   True)
        json.loads(base64.b64decode(payload["bytes"]))
    return f"frame {CORRUPT_FRAME} of {len(first) + 1 + len(rest)} has a bad message CRC"


CHECKS = {
    "agent_invoke_multi.yaml": check_agent_multi,
    "agent_invoke_failure.yaml": check_agent_failure,
    "converse_throttled.yaml": check_converse_throttled,
    "converse_stream_exception.yaml": check_converse_stream_exception,
    "corrupt_stream.yaml": check_corrupt,
}


def self_check(outdir, models_dir):
    models = {"agent": Model(os.path.join(models_dir, AGENT_MODEL)),
              "runtime": Model(os.path.join(models_dir, RUNTIME_MODEL))}
    failed = 0
    for name, build in CASSETTES.items():
        path = os.path.join(outdir, name)
        try:
            with open(path) as f:
                text = f.read()
            doc = vcr_yaml.load(text)
            if doc.get("version") != 1 or not isinstance(doc.get("interactions"), list):
                raise CheckError(f"{path}: not a VCR cassette")
            for i, it in enumerate(doc["interactions"]):
                for key in ("body", "headers", "method", "uri"):
                    if key not in it["request"]:
                        raise CheckError(f"{path}: interaction {i} request lacks {key}")
                for key in ("body", "headers", "status"):
                    if key not in it["response"]:
                        raise CheckError(f"{path}: interaction {i} response lacks {key}")
                if "authorization" in it["request"]["headers"] and \
                        it["request"]["headers"]["authorization"] != \
                        ["Bearer test_aws_authorization"]:
                    raise CheckError(f"{path}: authorization must stay a placeholder")
            summary = CHECKS[name](models, doc, path)
            if text != yaml_cassette(build()):
                raise CheckError(f"{path}: differs from what this generator writes (stale?)")
            print(f"ok   {name}: {summary}")
        except (CheckError, OSError, ValueError, KeyError) as e:
            failed += 1
            print(f"FAIL {name}: {e}", file=sys.stderr)
    print(f"self-check: {len(CASSETTES) - failed} ok, {failed} failed")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-check", action="store_true",
                    help="verify the cassettes already in OUTDIR instead of writing them")
    ap.add_argument("--models", default=DEFAULT_MODELS,
                    help="aws-models folder (default: %(default)s)")
    ap.add_argument("outdir", metavar="OUTDIR")
    args = ap.parse_args()
    if args.self_check:
        return self_check(args.outdir, args.models)
    os.makedirs(args.outdir, exist_ok=True)
    for name, build in CASSETTES.items():
        with open(os.path.join(args.outdir, name), "w") as f:
            f.write(yaml_cassette(build()))
        print(f"wrote {os.path.join(args.outdir, name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
