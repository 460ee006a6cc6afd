#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Prints OTLP JSON Lines traces (bedtrace -o FILE) as indented trees.

    print-trace.py [-a] [FILE ...]        FILE '-' or none: standard input

Each input line is one ExportTraceServiceRequest. Spans are grouped by traceId; traces are
printed in order of their first span, each as a tree of parent → children ordered by start
time. A span whose parent is not in the input is shown as a root. Each line gives the span
name, its duration, its start offset from the trace's first span and the attributes that
matter when reading a trace (model, tokens, finish reasons, time to first chunk, cost, HTTP
status, error type, thread); -a prints every attribute. Spans with status ERROR are marked.
Debian python3, standard library only.
"""

import argparse
import json
import sys

STATUS_ERROR = 2
KIND = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}

# (attribute, label, formatter) in print order
KEY_ATTRS = (
    ("gen_ai.request.model", "model", None),
    ("gen_ai.usage.input_tokens", "in", None),
    ("gen_ai.usage.output_tokens", "out", None),
    ("gen_ai.response.finish_reasons", "finish", None),
    ("gen_ai.response.time_to_first_chunk", "ttfc", "seconds"),
    ("bedtrace.cost.usd", "cost", "usd"),
    ("http.response.status_code", "http", None),
    ("error.type", "error", None),
    ("thread.id", "tid", None),
)


class InputError(Exception):
    pass


def any_value(v):
    """Python value of an OTLP AnyValue."""
    if not isinstance(v, dict):
        return v
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        try:
            return int(v["intValue"])
        except (TypeError, ValueError):
            return v["intValue"]
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in (v["arrayValue"] or {}).get("values", []) or []]
    if "kvlistValue" in v:
        return {kv.get("key"): any_value(kv.get("value")) for kv in
                (v["kvlistValue"] or {}).get("values", []) or []}
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def attrs(lst):
    return {a.get("key"): any_value(a.get("value")) for a in lst or [] if isinstance(a, dict)}


def nanos(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def fmt_value(v, how=None):
    if how == "seconds" and isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"{v * 1e3:.1f}ms"
    if how == "usd" and isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"${v:.6f}"
    if isinstance(v, list):
        return "[" + ",".join(fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True, separators=(",", ":"))
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    s = str(v)
    return json.dumps(s) if (" " in s or s == "") else s


def read_spans(files):
    """spanId → span dict (last one wins), each with its resource's service name."""
    spans = {}
    order = 0
    for name in files:
        f = sys.stdin if name == "-" else open(name, encoding="utf-8")
        try:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    req = json.loads(line)
                except ValueError as e:
                    raise InputError(f"{name}:{lineno}: not JSON ({e})")
                for rs in req.get("resourceSpans") or []:
                    res = attrs((rs.get("resource") or {}).get("attributes"))
                    service = res.get("service.name", "?")
                    for ss in rs.get("scopeSpans") or []:
                        for sp in ss.get("spans") or []:
                            sid = sp.get("spanId") or f"#{order}"
                            order += 1
                            spans[(sp.get("traceId", ""), sid)] = {
                                "traceId": sp.get("traceId", ""),
                                "spanId": sid,
                                "parent": sp.get("parentSpanId") or "",
                                "name": sp.get("name", "?"),
                                "kind": sp.get("kind", 0),
                                "start": nanos(sp.get("startTimeUnixNano")),
                                "end": nanos(sp.get("endTimeUnixNano")),
                                "attrs": attrs(sp.get("attributes")),
                                "status": sp.get("status") or {},
                                "service": service,
                                "order": order,
                            }
        finally:
            if f is not sys.stdin:
                f.close()
    return spans


def describe(sp, all_attrs):
    parts = []
    if all_attrs:
        for k in sorted(sp["attrs"]):
            parts.append(f"{k}={fmt_value(sp['attrs'][k])}")
    else:
        for key, label, how in KEY_ATTRS:
            if key in sp["attrs"]:
                parts.append(f"{label}={fmt_value(sp['attrs'][key], how)}")
    st = sp["status"]
    if st.get("code") == STATUS_ERROR or st.get("code") == "STATUS_CODE_ERROR":
        msg = st.get("message")
        parts.append("ERROR" + (f" ({msg})" if msg else ""))
    return "  ".join(parts)


def print_trace(out, tid, members, all_attrs):
    t0 = min(sp["start"] for sp in members)
    t1 = max(max(sp["end"], sp["start"]) for sp in members)
    by_id = {sp["spanId"]: sp for sp in members}
    children = {}
    roots = []
    for sp in members:
        if sp["parent"] and sp["parent"] in by_id and sp["parent"] != sp["spanId"]:
            children.setdefault(sp["parent"], []).append(sp)
        else:
            roots.append(sp)

    def key(sp):
        return (sp["start"], sp["order"])

    rows = []
    seen = set()

    def walk(sp, depth):
        if sp["spanId"] in seen:  # a parent cycle in bad input: print each span once
            return
        seen.add(sp["spanId"])
        rows.append((depth, sp))
        for ch in sorted(children.get(sp["spanId"], []), key=key):
            walk(ch, depth + 1)

    for r in sorted(roots, key=key):
        walk(r, 0)
    for sp in sorted(members, key=key):  # spans only reachable through a cycle
        if sp["spanId"] not in seen:
            walk(sp, 0)

    services = sorted({sp["service"] for sp in members})
    errors = sum(1 for _, sp in rows if "ERROR" in describe(sp, False))
    out.write(f"trace {tid}  service={','.join(services)}  {len(members)} span"
              f"{'' if len(members) == 1 else 's'}  {(t1 - t0) / 1e6:.3f} ms"
              f"{f'  {errors} ERROR' if errors else ''}\n")
    width = max(2 * d + len(sp["name"]) for d, sp in rows)
    for depth, sp in rows:
        label = "  " * depth + sp["name"]
        dur = max(sp["end"] - sp["start"], 0) / 1e6
        off = (sp["start"] - t0) / 1e6
        kind = KIND.get(sp["kind"], "")
        desc = describe(sp, all_attrs)
        out.write(f"  {label:<{width}}  {dur:10.3f} ms  +{off:9.3f} ms  {kind:<8}"
                  f"{'  ' + desc if desc else ''}".rstrip() + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-a", "--all-attributes", action="store_true", help="print every attribute")
    ap.add_argument("files", nargs="*", default=["-"], help="OTLP JSON Lines files ('-': stdin)")
    a = ap.parse_args()
    try:
        spans = read_spans(a.files)
    except (OSError, InputError) as e:
        print(f"print-trace: {e}", file=sys.stderr)
        return 1
    if not spans:
        print("print-trace: no spans", file=sys.stderr)
        return 1
    traces = {}
    for sp in spans.values():
        traces.setdefault(sp["traceId"], []).append(sp)
    ordered = sorted(traces.items(), key=lambda kv: (min(s["start"] for s in kv[1]),
                                                     min(s["order"] for s in kv[1])))
    for i, (tid, members) in enumerate(ordered):
        if i:
            sys.stdout.write("\n")
        print_trace(sys.stdout, tid, members, a.all_attributes)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
