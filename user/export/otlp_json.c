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
#include "util/jbuf.h"

/* length of U+FFFD in UTF-8 */
#define JB_REPL_LEN 3

#ifndef BT_VERSION
#define BT_VERSION "dev"
#endif

char *otlp_json_utf8_sanitize(const char *s)
{
	const unsigned char *p;
	size_t out_len = 0, len;
	char *out, *o;

	for (p = (const unsigned char *)s; *p; p += len ? len : 1)
		out_len += (len = jb_utf8_seq_len(p)) ? len : JB_REPL_LEN;
	out = malloc(out_len + 1);
	if (!out)
		return NULL;
	o = out;
	for (p = (const unsigned char *)s; *p; p += len ? len : 1) {
		len = jb_utf8_seq_len(p);
		if (len) {
			memcpy(o, p, len);
			o += len;
		} else {
			memcpy(o, jb_utf8_replacement, JB_REPL_LEN);
			o += JB_REPL_LEN;
		}
	}
	*o = '\0';
	return out;
}

/* The AnyValue of @at after its opening, up to its closing brace (excluded). */
static void any_value_body(struct jbuf *b, const struct bt_attr *at)
{
	size_t i;

	switch (at->type) {
	case BT_ATTR_STR:
		JB_LIT(b, "\"stringValue\":");
		jb_str(b, at->s);
		break;
	case BT_ATTR_INT:
		JB_LIT(b, "\"intValue\":");
		jb_i64(b, at->i);
		break;
	case BT_ATTR_DOUBLE:
		JB_LIT(b, "\"doubleValue\":");
		jb_double(b, at->d);
		break;
	case BT_ATTR_BOOL:
		if (at->b)
			JB_LIT(b, "\"boolValue\":true");
		else
			JB_LIT(b, "\"boolValue\":false");
		break;
	case BT_ATTR_STR_ARRAY:
		JB_LIT(b, "\"arrayValue\":{\"values\":[");
		for (i = 0; i < at->arr.n; i++) {
			jb_elem(b, i == 0, "{\"stringValue\":");
			jb_str(b, at->arr.v[i]);
			JB_LIT(b, "}");
		}
		JB_LIT(b, "]}");
		break;
	default:
		/* an unknown type is a producer bug; an empty AnyValue is still valid OTLP */
		break;
	}
}

/* AnyValue of @at. */
void otlp_json_any_value(struct jbuf *b, const struct bt_attr *at)
{
	JB_LIT(b, "{");
	any_value_body(b, at);
	JB_LIT(b, "}");
}

void otlp_json_attrs(struct jbuf *b, bool first, const struct bt_attrs *attrs)
{
	size_t i;

	jb_key(b, first, "attributes");
	JB_LIT(b, "[");
	/* the punctuation between key and value in one piece: this runs for every attribute */
	for (i = 0; i < attrs->n; i++) {
		const struct bt_attr *at = &attrs->v[i];

		if (i)
			JB_LIT(b, ",");
		if (at->flags & BT_ATTR_KEY_PLAIN) {
			/* a literal key checked once: its bytes as they are */
			JB_LIT(b, "{\"key\":\"");
			jb_put(b, at->key, at->key_len);
			JB_LIT(b, "\",\"value\":{");
		} else {
			JB_LIT(b, "{\"key\":");
			jb_str(b, at->key);
			JB_LIT(b, ",\"value\":{");
		}
		any_value_body(b, at);
		JB_LIT(b, "}}");
	}
	JB_LIT(b, "]");
}

void otlp_json_scope(struct jbuf *b)
{
	JB_LIT(b, "\"scope\":{\"name\":\"bedtrace\",\"version\":");
	jb_str(b, BT_VERSION);
	JB_LIT(b, "}");
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
	otlp_json_attrs(b, false, &s->attrs);
	if (s->n_events) {
		JB_LIT(b, ",\"events\":[");
		for (i = 0; i < s->n_events; i++) {
			jb_elem(b, i == 0, "{\"timeUnixNano\":");
			jb_u64(b, s->events[i].time_ns);
			JB_LIT(b, ",\"name\":");
			jb_str(b, s->events[i].name);
			otlp_json_attrs(b, false, &s->events[i].attrs);
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

int otlp_json_encode_to(struct jbuf *b, struct bt_span *const *spans, size_t n)
{
	static const struct bt_attrs no_attrs;
	/* distinct resources in first-seen order; each span's resource index */
	const struct bt_resource **res = NULL;
	size_t *res_of = NULL, n_res = 0, i, j;
	int err = -ENOMEM;

	if (n && !spans)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!spans[i])
			return -EINVAL;
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
	jb_reserve(b, 512 + n * 1024);
	JB_LIT(b, "{\"resourceSpans\":[");
	for (j = 0; j < n_res; j++) {
		bool first = true;

		jb_elem(b, j == 0, "{\"resource\":{");
		otlp_json_attrs(b, true, res[j] ? &res[j]->attrs : &no_attrs);
		JB_LIT(b, "},\"scopeSpans\":[{");
		otlp_json_scope(b);
		JB_LIT(b, ",\"spans\":[");
		for (i = 0; i < n; i++) {
			if (res_of[i] != j)
				continue;
			if (!first)
				JB_LIT(b, ",");
			first = false;
			encode_span(b, spans[i]);
		}
		JB_LIT(b, "]}]}");
	}
	JB_LIT(b, "]}");
	if (!b->oom)
		err = 0;
cleanup:
	free(res);
	free(res_of);
	if (err == -ENOMEM)
		b->oom = true;
	return err;
}

char *otlp_json_encode(struct bt_span *const *spans, size_t n)
{
	struct jbuf b = {0};
	int err = otlp_json_encode_to(&b, spans, n);

	if (err) {
		free(b.p);
		errno = -err;
		return NULL;
	}
	return b.p;
}
