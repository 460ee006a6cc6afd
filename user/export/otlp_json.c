// SPDX-License-Identifier: MIT
/*
 * OTLP JSON encoding of spans, written directly as text. See otlp_json.h for the format
 * decisions.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp_json.h"
#include "util/grow.h"

#ifndef BT_VERSION
#define BT_VERSION "dev"
#endif

/* UTF-8 encoding of U+FFFD REPLACEMENT CHARACTER. */
static const char utf8_replacement[] = "\xef\xbf\xbd";

/*
 * Returns the length of the well-formed UTF-8 sequence starting at @p, or 0 if the byte at @p
 * does not start one. Stops at the terminating NUL, which is never a continuation byte.
 */
static size_t utf8_seq_len(const unsigned char *p)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* E0 would be overlong below A0; ED A0..BF are UTF-16 surrogates. */
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f;
		if (p[1] < lo || p[1] > hi)
			return 0;
		return (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		/* F0 below 90 is overlong; F4 above 8F is beyond U+10FFFF. */
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
		if (p[1] < lo || p[1] > hi)
			return 0;
		if ((p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

char *otlp_json_utf8_sanitize(const char *s)
{
	const unsigned char *p;
	size_t out_len = 0, len;
	char *out, *o;

	for (p = (const unsigned char *)s; *p; p += len ? len : 1)
		out_len += (len = utf8_seq_len(p)) ? len : sizeof(utf8_replacement) - 1;
	out = malloc(out_len + 1);
	if (!out)
		return NULL;
	o = out;
	for (p = (const unsigned char *)s; *p; p += len ? len : 1) {
		len = utf8_seq_len(p);
		if (len) {
			memcpy(o, p, len);
			o += len;
		} else {
			memcpy(o, utf8_replacement, sizeof(utf8_replacement) - 1);
			o += sizeof(utf8_replacement) - 1;
		}
	}
	*o = '\0';
	return out;
}

/*
 * The encoder writes JSON text directly into one growing buffer: building a cJSON tree costs an
 * allocation per member, which at 100,000 spans per second was most of bedtrace's CPU time.
 */
struct jbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void jb_reserve(struct jbuf *b, size_t more)
{
	if (!b->oom && grow(&b->p, &b->cap, b->len + more + 1, 1))
		b->oom = true;
}

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
	jb_reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

#define JB_LIT(b, lit) jb_put((b), "" lit, sizeof(lit) - 1)

/* Opens an array element: the comma before all but the first, then @open. */
static void jb_elem(struct jbuf *b, bool first, const char *open)
{
	if (!first)
		JB_LIT(b, ",");
	jb_put(b, open, strlen(open));
}

/* A JSON string: escapes as RFC 8259 requires, invalid UTF-8 bytes become U+FFFD. */
static void jb_str(struct jbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	JB_LIT(b, "\"");
	while (*p) {
		size_t run = 0, len;

		/* plain ASCII runs are copied at once */
		while (p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
			run++;
		if (run) {
			jb_put(b, (const char *)p, run);
			p += run;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			char esc[2] = {'\\', (char)*p};

			jb_put(b, esc, 2);
			p++;
		} else if (*p < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xf]};

			switch (*p) {
			case '\n':
				JB_LIT(b, "\\n");
				break;
			case '\r':
				JB_LIT(b, "\\r");
				break;
			case '\t':
				JB_LIT(b, "\\t");
				break;
			case '\b':
				JB_LIT(b, "\\b");
				break;
			case '\f':
				JB_LIT(b, "\\f");
				break;
			default:
				jb_put(b, esc, sizeof(esc));
			}
			p++;
		} else if ((len = utf8_seq_len(p))) {
			jb_put(b, (const char *)p, len);
			p += len;
		} else {
			jb_put(b, utf8_replacement, sizeof(utf8_replacement) - 1);
			p++;
		}
	}
	JB_LIT(b, "\"");
}

/* "key": with a literal key (no escaping needed) and the separator before it when not first */
static void jb_key(struct jbuf *b, bool first, const char *key)
{
	if (!first)
		JB_LIT(b, ",");
	JB_LIT(b, "\"");
	jb_put(b, key, strlen(key));
	JB_LIT(b, "\":");
}

/* int64 and uint64 are decimal strings in OTLP JSON: JSON numbers lose precision past 2^53. */
static void jb_i64(struct jbuf *b, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "\"%" PRId64 "\"", v);

	jb_put(b, buf, (size_t)n);
}

static void jb_u64(struct jbuf *b, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "\"%" PRIu64 "\"", v);

	jb_put(b, buf, (size_t)n);
}

static void jb_hex(struct jbuf *b, const uint8_t *id, size_t len)
{
	char buf[2 * BT_TRACE_ID_LEN + 3];

	buf[0] = '"';
	bt_hex(id, len, buf + 1);
	buf[2 * len + 1] = '"';
	jb_put(b, buf, 2 * len + 2);
}

static void jb_double(struct jbuf *b, double d)
{
	char buf[40];
	int n;

	/* proto3 JSON spells the non-finite values as strings */
	if (isnan(d)) {
		JB_LIT(b, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		if (d > 0)
			JB_LIT(b, "\"Infinity\"");
		else
			JB_LIT(b, "\"-Infinity\"");
		return;
	}
	if (d == 0 && signbit(d)) {
		JB_LIT(b, "-0.0");
		return;
	}
	/* the shortest of %.15g / %.17g that reads back equal: doubles round-trip */
	n = snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		n = snprintf(buf, sizeof(buf), "%.17g", d);
	jb_put(b, buf, (size_t)n);
}

static void jb_int(struct jbuf *b, int v)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", v);

	jb_put(b, buf, (size_t)n);
}

/* AnyValue of @at. */
static void encode_any_value(struct jbuf *b, const struct bt_attr *at)
{
	size_t i;

	switch (at->type) {
	case BT_ATTR_STR:
		JB_LIT(b, "{\"stringValue\":");
		jb_str(b, at->s);
		break;
	case BT_ATTR_INT:
		JB_LIT(b, "{\"intValue\":");
		jb_i64(b, at->i);
		break;
	case BT_ATTR_DOUBLE:
		JB_LIT(b, "{\"doubleValue\":");
		jb_double(b, at->d);
		break;
	case BT_ATTR_BOOL:
		if (at->b)
			JB_LIT(b, "{\"boolValue\":true");
		else
			JB_LIT(b, "{\"boolValue\":false");
		break;
	case BT_ATTR_STR_ARRAY:
		JB_LIT(b, "{\"arrayValue\":{\"values\":[");
		for (i = 0; i < at->arr.n; i++) {
			jb_elem(b, i == 0, "{\"stringValue\":");
			jb_str(b, at->arr.v[i]);
			JB_LIT(b, "}");
		}
		JB_LIT(b, "]}");
		break;
	default:
		/* an unknown type is a producer bug; an empty AnyValue is still valid OTLP */
		JB_LIT(b, "{");
		break;
	}
	JB_LIT(b, "}");
}

/* ,"attributes":[{key, value}...] (always present, possibly empty) */
static void encode_attrs(struct jbuf *b, bool first, const struct bt_attrs *attrs)
{
	size_t i;

	jb_key(b, first, "attributes");
	JB_LIT(b, "[");
	for (i = 0; i < attrs->n; i++) {
		jb_elem(b, i == 0, "{\"key\":");
		jb_str(b, attrs->v[i].key);
		JB_LIT(b, ",\"value\":");
		encode_any_value(b, &attrs->v[i]);
		JB_LIT(b, "}");
	}
	JB_LIT(b, "]");
}

static void encode_span(struct jbuf *b, const struct bt_span *s)
{
	size_t i;

	JB_LIT(b, "{\"traceId\":");
	jb_hex(b, s->trace_id, sizeof(s->trace_id));
	JB_LIT(b, ",\"spanId\":");
	jb_hex(b, s->span_id, sizeof(s->span_id));
	if (!bt_span_is_root(s)) {
		JB_LIT(b, ",\"parentSpanId\":");
		jb_hex(b, s->parent_span_id, sizeof(s->parent_span_id));
	}
	JB_LIT(b, ",\"name\":");
	jb_str(b, s->name);
	JB_LIT(b, ",\"kind\":");
	jb_int(b, (int)s->kind);
	JB_LIT(b, ",\"startTimeUnixNano\":");
	jb_u64(b, s->start_ns);
	JB_LIT(b, ",\"endTimeUnixNano\":");
	jb_u64(b, s->end_ns);
	encode_attrs(b, false, &s->attrs);
	if (s->n_events) {
		JB_LIT(b, ",\"events\":[");
		for (i = 0; i < s->n_events; i++) {
			jb_elem(b, i == 0, "{\"timeUnixNano\":");
			jb_u64(b, s->events[i].time_ns);
			JB_LIT(b, ",\"name\":");
			jb_str(b, s->events[i].name);
			encode_attrs(b, false, &s->events[i].attrs);
			JB_LIT(b, "}");
		}
		JB_LIT(b, "]");
	}
	JB_LIT(b, ",\"status\":{\"code\":");
	jb_int(b, (int)s->status);
	if (s->status_message) {
		JB_LIT(b, ",\"message\":");
		jb_str(b, s->status_message);
	}
	JB_LIT(b, "}}");
}

char *otlp_json_encode(struct bt_span *const *spans, size_t n)
{
	static const struct bt_attrs no_attrs;
	/* distinct resources in first-seen order; each span's resource index */
	const struct bt_resource **res = NULL;
	size_t *res_of = NULL, n_res = 0, i, j;
	struct jbuf b = {0};
	int err = -ENOMEM;

	if (n && !spans) {
		err = -EINVAL;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		if (!spans[i]) {
			err = -EINVAL;
			goto cleanup;
		}
	}
	if (n) {
		res = calloc(n, sizeof(*res));
		res_of = calloc(n, sizeof(*res_of));
		if (!res || !res_of)
			goto cleanup;
	}
	for (i = 0; i < n; i++) {
		/* few resources per batch (one per traced process): a linear search is enough */
		for (j = 0; j < n_res; j++)
			if (res[j] == spans[i]->resource)
				break;
		if (j == n_res)
			res[n_res++] = spans[i]->resource;
		res_of[i] = j;
	}
	jb_reserve(&b, 512 + n * 1024);
	JB_LIT(&b, "{\"resourceSpans\":[");
	for (j = 0; j < n_res; j++) {
		bool first = true;

		jb_elem(&b, j == 0, "{\"resource\":{");
		encode_attrs(&b, true, res[j] ? &res[j]->attrs : &no_attrs);
		JB_LIT(&b, "},\"scopeSpans\":[{\"scope\":{\"name\":\"bedtrace\",\"version\":");
		jb_str(&b, BT_VERSION);
		JB_LIT(&b, "},\"spans\":[");
		for (i = 0; i < n; i++) {
			if (res_of[i] != j)
				continue;
			if (!first)
				JB_LIT(&b, ",");
			first = false;
			encode_span(&b, spans[i]);
		}
		JB_LIT(&b, "]}]}");
	}
	JB_LIT(&b, "]}");
	if (!b.oom)
		err = 0;
cleanup:
	free(res);
	free(res_of);
	if (err) {
		free(b.p);
		errno = -err;
		return NULL;
	}
	return b.p;
}
