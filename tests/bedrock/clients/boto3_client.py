#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Replays a Bedrock VCR cassette's requests as real boto3 calls against an endpoint.

    AWS_DATA_PATH=/abs/tests/fixtures/aws-models \\
    /usr/bin/python3 boto3_client.py --endpoint https://127.0.0.1:PORT --ca ca.pem \\
        --cassette FILE.yaml [--repeat N]

Each distinct recorded request (method, path, body) is one call; identical consecutive
interactions (a 429 then a 200) are one call that the SDK retries. The operation is found
from the URI path in the service models (bedrock-runtime, then bedrock-agent-runtime), the
parameters from the path labels, query, headers and body. Streams are consumed to the end.

One JSON line per call on stdout: operation, HTTP status, request id, retries, usage,
stop reason, stream event counts and the error code the SDK raised, if any. Exits 0 when
every call ran (a service error is a result, not a failure), 1 on a local failure
(connection refused, a parameter the SDK rejects), 2 on bad usage.

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (fake
fixed ones when unset); region us-east-1; retry mode standard.
"""

import argparse
import json
import os
import re
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vcr_yaml  # noqa: E402

SERVICES = ("bedrock-runtime", "bedrock-agent-runtime")


def default_models_dir():
    # tests/bedrock/clients → project root → tests/fixtures/aws-models
    root = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
    return os.path.join(root, "tests", "fixtures", "aws-models")


def to_bytes(v):
    if v is None:
        return b""
    if isinstance(v, bytes):
        return v
    if isinstance(v, dict):
        if "string" in v:
            return to_bytes(v["string"])
        return json.dumps(v).encode()
    return str(v).encode("utf-8")


def header_map(h):
    out = {}
    for k, v in (h or {}).items():
        vals = v if isinstance(v, list) else [v]
        out[str(k).lower()] = "" if vals[0] is None else str(vals[0])
    return out


def body_key(b):
    if not b:
        return ""
    try:
        return "json:" + json.dumps(json.loads(b), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return "raw:" + b.hex()


def load_calls(path):
    """The calls a cassette records: consecutive interactions with the same request are one."""
    doc = vcr_yaml.load_file(path)
    calls = []
    prev = None
    for it in doc.get("interactions") or []:
        rq = it.get("request") or {}
        parsed = urllib.parse.urlsplit(str(rq.get("uri", "/")))
        body = to_bytes(rq.get("body"))
        key = (str(rq.get("method", "GET")).upper(), urllib.parse.unquote(parsed.path),
               parsed.query, body_key(body))
        if key == prev:
            calls[-1]["attempts"] += 1
            continue
        prev = key
        calls.append({
            "method": key[0], "path": parsed.path, "query": parsed.query, "body": body,
            "headers": header_map(rq.get("headers")), "attempts": 1,
        })
    return calls


def uri_regex(template):
    """Regex of a model requestUri path ("/model/{modelId}/converse"); {x+} spans slashes."""
    path = template.split("?", 1)[0]
    out = "^"
    literal = 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            out += "(?P<%s>%s)" % (re.sub(r"\W", "_", name), ".+" if greedy else "[^/]+")
        else:
            out += re.escape(part)
            literal += len(part)
    # a trailing slash in the model is optional on the wire
    if out.endswith("/"):
        out = out[:-1] + "/?"
    return re.compile(out + "$"), literal


def find_operation(clients, method, path):
    best = None
    for svc, client in clients.items():
        model = client.meta.service_model
        for name in model.operation_names:
            op = model.operation_model(name)
            if op.http.get("method", "POST").upper() != method:
                continue
            rx, literal = uri_regex(op.http["requestUri"])
            m = rx.match(path)
            if m and (best is None or literal > best[3]):
                best = (svc, op, m, literal)
    return best


def build_params(op, m, call):
    shape = op.input_shape
    params = {}
    if shape is None:
        return params
    labels = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
    query = urllib.parse.parse_qs(call["query"], keep_blank_values=True)
    payload = shape.serialization.get("payload")
    body_members = {}
    for name, member in shape.members.items():
        loc = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if loc == "uri":
            key = re.sub(r"\W", "_", wire)
            if key in labels:
                params[name] = labels[key]
        elif loc == "querystring":
            if wire in query:
                vals = query[wire]
                params[name] = vals if member.type_name == "list" else _scalar(member, vals[0])
        elif loc == "header":
            v = call["headers"].get(wire.lower())
            if v is not None and name != payload:
                params[name] = _scalar(member, v)
        elif name != payload and loc is None:
            body_members[wire] = name
    if payload:
        pm = shape.members[payload]
        if pm.type_name == "blob":
            params[payload] = call["body"]
        elif call["body"]:
            params[payload] = json.loads(call["body"])
    elif call["body"]:
        doc = json.loads(call["body"])
        for k, v in doc.items():
            params[body_members.get(k, k)] = v
    return params


def _scalar(member, v):
    if member.type_name in ("integer", "long"):
        return int(v)
    if member.type_name in ("float", "double"):
        return float(v)
    if member.type_name == "boolean":
        return str(v).lower() == "true"
    return v


# ---- what the SDK returned ---------------------------------------------------------------------

def usage_from_doc(doc, usage, result):
    """Token counts and stop reason from a Converse or model-native JSON document."""
    if not isinstance(doc, dict):
        return
    u = doc.get("usage")
    if isinstance(u, dict):
        for src, dst in (("inputTokens", "inputTokens"), ("outputTokens", "outputTokens"),
                         ("input_tokens", "inputTokens"), ("output_tokens", "outputTokens")):
            if isinstance(u.get(src), int):
                usage[dst] = u[src]  # later stream chunks carry the running total
    metrics = doc.get("amazon-bedrock-invocationMetrics")
    if isinstance(metrics, dict):
        if "inputTokenCount" in metrics:
            usage["inputTokens"] = metrics["inputTokenCount"]
        if "outputTokenCount" in metrics:
            usage["outputTokens"] = metrics["outputTokenCount"]
    for k in ("inputTextTokenCount", "prompt_token_count"):
        if isinstance(doc.get(k), int):
            usage.setdefault("inputTokens", doc[k])
    if isinstance(doc.get("generation_token_count"), int):
        usage.setdefault("outputTokens", doc["generation_token_count"])
    if isinstance(doc.get("results"), list) and doc["results"] and isinstance(doc["results"][0], dict):
        r0 = doc["results"][0]
        if isinstance(r0.get("tokenCount"), int):
            usage.setdefault("outputTokens", r0["tokenCount"])
        if isinstance(r0.get("totalOutputTextTokenCount"), int):
            usage.setdefault("outputTokens", r0["totalOutputTextTokenCount"])
        if r0.get("completionReason"):
            result["stopReason"] = r0["completionReason"]
    for k in ("stopReason", "stop_reason", "completionReason", "finish_reason"):
        if isinstance(doc.get(k), str) and doc[k]:
            result["stopReason"] = doc[k]
    # nested forms: anthropic message_start, nova messageStop / metadata stream chunks
    for k in ("message", "messageStop", "metadata"):
        if isinstance(doc.get(k), dict):
            usage_from_doc(doc[k], usage, result)
    delta = doc.get("delta")
    if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
        result["stopReason"] = delta["stop_reason"]
    gens = doc.get("generations")
    if isinstance(gens, list) and gens and isinstance(gens[0], dict) and gens[0].get("finish_reason"):
        result["stopReason"] = gens[0]["finish_reason"]
    outs = doc.get("outputs")
    if isinstance(outs, list) and outs and isinstance(outs[0], dict) and outs[0].get("stop_reason"):
        result["stopReason"] = outs[0]["stop_reason"]


def token_headers(headers, usage):
    h = {k.lower(): v for k, v in (headers or {}).items()}
    if "x-amzn-bedrock-input-token-count" in h:
        usage["inputTokens"] = int(h["x-amzn-bedrock-input-token-count"])
    if "x-amzn-bedrock-output-token-count" in h:
        usage["outputTokens"] = int(h["x-amzn-bedrock-output-token-count"])


def consume_stream(stream, usage, result):
    events = {}
    n = 0
    for ev in stream:
        n += 1
        for etype, payload in ev.items():
            events[etype] = events.get(etype, 0) + 1
            if etype == "chunk" and isinstance(payload, dict) and "bytes" in payload:
                try:
                    usage_from_doc(json.loads(payload["bytes"]), usage, result)
                except ValueError:
                    pass
            elif etype == "metadata" and isinstance(payload, dict):
                if isinstance(payload.get("usage"), dict):
                    usage["inputTokens"] = payload["usage"].get("inputTokens")
                    usage["outputTokens"] = payload["usage"].get("outputTokens")
            elif etype == "messageStop" and isinstance(payload, dict):
                result["stopReason"] = payload.get("stopReason")
            elif etype == "trace":
                result["traceEvents"] = result.get("traceEvents", 0) + 1
        result["streamEvents"] = n
        result["eventTypes"] = events
    result["streamEvents"] = n
    result["eventTypes"] = events


def run_call(clients, call, args, index, rep, cassette):
    from botocore.exceptions import ClientError

    result = {"client": "boto3", "cassette": cassette, "call": index, "repeat": rep,
              "method": call["method"], "path": call["path"]}
    found = find_operation(clients, call["method"], urllib.parse.unquote(call["path"]))
    if not found:
        found = find_operation(clients, call["method"], call["path"])
    if not found:
        result["error"] = {"code": "NoOperation", "message": "no operation for this path"}
        return result, False
    svc, op, m, _ = found
    result["service"] = svc
    result["operation"] = op.name
    params = build_params(op, m, call)
    for k in ("modelId", "agentId", "agentAliasId", "knowledgeBaseId", "sessionId"):
        if k in params:
            result[k] = params[k]
    usage = {}
    client = clients[svc]
    stream_member = None
    if op.output_shape is not None:
        for name, member in op.output_shape.members.items():
            if member.serialization.get("eventstream"):
                stream_member = name
    try:
        resp = getattr(client, _snake(op.name))(**params)
        meta = resp.get("ResponseMetadata", {})
        result["httpStatus"] = meta.get("HTTPStatusCode")
        result["requestId"] = meta.get("RequestId")
        result["retryAttempts"] = meta.get("RetryAttempts", 0)
        token_headers(meta.get("HTTPHeaders"), usage)
        if stream_member:
            result["stream"] = True
            result["streamEvents"] = 0
            consume_stream(resp[stream_member], usage, result)
        elif "body" in resp and hasattr(resp["body"], "read"):
            raw = resp["body"].read()
            result["bodyBytes"] = len(raw)
            try:
                usage_from_doc(json.loads(raw), usage, result)
            except ValueError:
                pass
        else:
            usage_from_doc(resp, usage, result)
        result["error"] = None
    except ClientError as e:
        err = e.response.get("Error", {})
        meta = e.response.get("ResponseMetadata", {})
        result["httpStatus"] = meta.get("HTTPStatusCode") or result.get("httpStatus")
        result["requestId"] = meta.get("RequestId") or result.get("requestId")
        result["retryAttempts"] = meta.get("RetryAttempts", result.get("retryAttempts", 0))
        result["error"] = {"code": err.get("Code"), "message": err.get("Message")}
    except Exception as e:  # a stream that breaks mid-way (bad CRC, truncated frame)
        if "requestId" not in result:
            result["error"] = {"code": type(e).__name__, "message": str(e)}
            result["usage"] = usage or None
            return result, False
        result["error"] = {"code": type(e).__name__, "message": str(e)}
    result["usage"] = usage or None
    return result, True


def _snake(name):
    from botocore import xform_name
    return xform_name(name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, help="https://127.0.0.1:PORT")
    ap.add_argument("--ca", required=True, help="CA bundle (PEM) that signed the server cert")
    ap.add_argument("--cassette", required=True, help="VCR YAML file")
    ap.add_argument("--repeat", type=int, default=1, help="replay the calls N times")
    ap.add_argument("--max-attempts", type=int, default=3, help="SDK attempts per call")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")

    os.environ.setdefault("AWS_DATA_PATH", default_models_dir())
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    # Nothing from the user's ~/.aws may change what the test does.
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ.pop("AWS_PROFILE", None)

    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None,
        region_name="us-east-1",
    )
    cfg = Config(region_name="us-east-1", retries={"mode": "standard", "max_attempts": args.max_attempts},
                 connect_timeout=5, read_timeout=30, user_agent_extra="bedtrace-tests")
    clients = {}
    for svc in SERVICES:
        try:
            clients[svc] = session.client(svc, endpoint_url=args.endpoint, verify=args.ca, config=cfg)
        except Exception as e:
            print(f"boto3_client: cannot make a {svc} client ({e}); is AWS_DATA_PATH "
                  f"({os.environ['AWS_DATA_PATH']}) the aws-models folder?", file=sys.stderr)
            return 1

    cassette = os.path.basename(args.cassette)
    cassette = re.sub(r"\.ya?ml$", "", cassette)
    calls = load_calls(args.cassette)
    ok = True
    for rep in range(args.repeat):
        for i, call in enumerate(calls):
            result, ran = run_call(clients, call, args, i, rep, cassette)
            ok = ok and ran
            print(json.dumps(result, sort_keys=True, default=str), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
