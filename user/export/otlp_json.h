/* SPDX-License-Identifier: MIT */
/*
 * OTLP JSON encoding ("JSON Protobuf Encoding" of the OTLP specification): turns finished spans
 * into one ExportTraceServiceRequest. Owns only the wire format; where the JSON goes (file,
 * stdout, collector) is export.c's business.
 *
 * Encoding choices the OTLP spec leaves open:
 * - strings that are not valid UTF-8 (captured bytes can be anything) have each invalid byte
 *   replaced by U+FFFD, because JSON text must be UTF-8 and collectors reject it otherwise;
 * - doubles print with enough digits to round-trip; NaN and +-Infinity, which JSON numbers
 *   cannot express, are written as the proto3 JSON strings "NaN", "Infinity", "-Infinity";
 * - empty "events" are omitted, "attributes" are always present (possibly []);
 * - an all-zero trace id is written as is: inventing one would break the trace, and a
 *   collector's rejection names the producer bug.
 */
#ifndef BT_OTLP_JSON_H
#define BT_OTLP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "span/span.h"

/*
 * Returns one complete ExportTraceServiceRequest as a single line of JSON (no newline): spans
 * grouped by resource (pointer identity, first-seen order; a NULL resource becomes a resource
 * with no attributes), each group with one scopeSpans of scope "bedtrace" BT_VERSION.
 * The string is malloc'd, caller frees with free(); NULL + errno (ENOMEM, EINVAL for a NULL
 * span) on failure. @n may be 0.
 */
char *otlp_json_encode(struct bt_span *const *spans, size_t n);

struct jbuf;
/*
 * The same request appended to @b (an exporter keeps one buffer from batch to batch instead of
 * a new one each time). Returns 0, -EINVAL (a NULL span: @b unchanged) or -ENOMEM (@b->oom set).
 */
int otlp_json_encode_to(struct jbuf *b, struct bt_span *const *spans, size_t n);

/*
 * Pieces the metrics and logs encoders share (util/jbuf.h writes them). otlp_json_attrs writes
 * the member "attributes":[KeyValue...] (always present, possibly empty), with a comma before it
 * unless @first; otlp_json_any_value the AnyValue of @at; otlp_json_scope the member
 * "scope":{"name":"bedtrace","version":BT_VERSION}.
 */
void otlp_json_attrs(struct jbuf *b, bool first, const struct bt_attrs *attrs);
void otlp_json_any_value(struct jbuf *b, const struct bt_attr *at);
void otlp_json_scope(struct jbuf *b);

/*
 * Returns a malloc'd copy of @s with every byte that is not part of a well-formed UTF-8
 * sequence (RFC 3629: no overlongs, surrogates or code points above U+10FFFF) replaced by
 * U+FFFD, or NULL + errno ENOMEM. Caller frees.
 */
char *otlp_json_utf8_sanitize(const char *s);

#endif
