// SPDX-License-Identifier: MIT
/*
 * OTLP JSON encoding of spans with cJSON. See otlp_json.h for the format decisions.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "otlp_json.h"

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

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t len = utf8_seq_len(p);

		if (!len)
			return false;
		p += len;
	}
	return true;
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
 * Adds @item to @obj under @key and returns it, or NULL (ENOMEM; @item freed). @key must be a
 * string literal: it is referenced, not copied, which halves the allocations per member.
 */
static cJSON *put(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return NULL;
	if (!cJSON_AddItemToObjectCS(obj, key, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

/* Adds @key (a literal, see put()): @val (NULL as "") as valid UTF-8. Returns 0 or -ENOMEM. */
static int add_str(cJSON *obj, const char *key, const char *val)
{
	char *clean = NULL;
	int err = 0;

	if (!val)
		val = "";
	if (!utf8_valid(val)) {
		clean = otlp_json_utf8_sanitize(val);
		if (!clean)
			return -ENOMEM;
		val = clean;
	}
	if (!put(obj, key, cJSON_CreateString(val)))
		err = -ENOMEM;
	free(clean);
	return err;
}

/* int64 and uint64 are decimal strings in OTLP JSON: JSON numbers lose precision past 2^53. */
static int add_i64(cJSON *obj, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return put(obj, key, cJSON_CreateString(buf)) ? 0 : -ENOMEM;
}

static int add_u64(cJSON *obj, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return put(obj, key, cJSON_CreateString(buf)) ? 0 : -ENOMEM;
}

static int add_hex(cJSON *obj, const char *key, const uint8_t *id, size_t len)
{
	char buf[2 * BT_TRACE_ID_LEN + 1];

	bt_hex(id, len, buf);
	return put(obj, key, cJSON_CreateString(buf)) ? 0 : -ENOMEM;
}

static int add_double(cJSON *obj, const char *key, double d)
{
	/* cJSON would print null for these; proto3 JSON spells them as strings. */
	if (isnan(d))
		return add_str(obj, key, "NaN");
	if (isinf(d))
		return add_str(obj, key, d > 0 ? "Infinity" : "-Infinity");
	/* cJSON prints integral values through an int, which would turn -0.0 into 0. */
	if (d == 0 && signbit(d))
		return put(obj, key, cJSON_CreateRaw("-0.0")) ? 0 : -ENOMEM;
	/* cJSON prints %.15g, or %.17g when that does not read back equal: doubles round-trip. */
	return put(obj, key, cJSON_CreateNumber(d)) ? 0 : -ENOMEM;
}

/* Appends a new object to @arr and returns it (owned by @arr), or NULL on ENOMEM. */
static cJSON *append_object(cJSON *arr)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (!cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Fills AnyValue @val from @at. Returns 0 or -ENOMEM. */
static int encode_any_value(cJSON *val, const struct bt_attr *at)
{
	cJSON *arr_val, *values, *item;
	size_t i;

	switch (at->type) {
	case BT_ATTR_STR:
		return add_str(val, "stringValue", at->s);
	case BT_ATTR_INT:
		return add_i64(val, "intValue", at->i);
	case BT_ATTR_DOUBLE:
		return add_double(val, "doubleValue", at->d);
	case BT_ATTR_BOOL:
		return put(val, "boolValue", cJSON_CreateBool(at->b)) ? 0 : -ENOMEM;
	case BT_ATTR_STR_ARRAY:
		arr_val = put(val, "arrayValue", cJSON_CreateObject());
		values = arr_val ? put(arr_val, "values", cJSON_CreateArray()) : NULL;
		if (!values)
			return -ENOMEM;
		for (i = 0; i < at->arr.n; i++) {
			item = append_object(values);
			if (!item || add_str(item, "stringValue", at->arr.v[i]))
				return -ENOMEM;
		}
		return 0;
	}
	/* An unknown type is a producer bug; an empty AnyValue is still valid OTLP. */
	return 0;
}

/* Adds "attributes": [{key, value}] to @obj. Returns 0 or -ENOMEM. */
static int encode_attrs(cJSON *obj, const struct bt_attrs *attrs)
{
	cJSON *arr = put(obj, "attributes", cJSON_CreateArray()), *kv, *val;
	size_t i;
	int err;

	if (!arr)
		return -ENOMEM;
	for (i = 0; i < attrs->n; i++) {
		kv = append_object(arr);
		if (!kv)
			return -ENOMEM;
		err = add_str(kv, "key", attrs->v[i].key);
		if (err)
			return err;
		val = put(kv, "value", cJSON_CreateObject());
		if (!val)
			return -ENOMEM;
		err = encode_any_value(val, &attrs->v[i]);
		if (err)
			return err;
	}
	return 0;
}

static bool id_is_zero(const uint8_t *id, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (id[i])
			return false;
	return true;
}

/* Appends Span @s to the JSON array @arr. Returns 0 or -ENOMEM. */
static int encode_span(cJSON *arr, const struct bt_span *s)
{
	cJSON *o = append_object(arr), *events, *ev, *status;
	size_t i;
	int err;

	if (!o)
		return -ENOMEM;
	err = add_hex(o, "traceId", s->trace_id, sizeof(s->trace_id));
	if (!err)
		err = add_hex(o, "spanId", s->span_id, sizeof(s->span_id));
	if (!err && !id_is_zero(s->parent_span_id, sizeof(s->parent_span_id)))
		err = add_hex(o, "parentSpanId", s->parent_span_id, sizeof(s->parent_span_id));
	if (!err)
		err = add_str(o, "name", s->name);
	if (!err && !put(o, "kind", cJSON_CreateNumber(s->kind)))
		err = -ENOMEM;
	if (!err)
		err = add_u64(o, "startTimeUnixNano", s->start_ns);
	if (!err)
		err = add_u64(o, "endTimeUnixNano", s->end_ns);
	if (!err)
		err = encode_attrs(o, &s->attrs);
	if (err)
		return err;

	if (s->n_events) {
		events = put(o, "events", cJSON_CreateArray());
		if (!events)
			return -ENOMEM;
		for (i = 0; i < s->n_events; i++) {
			ev = append_object(events);
			if (!ev)
				return -ENOMEM;
			err = add_u64(ev, "timeUnixNano", s->events[i].time_ns);
			if (!err)
				err = add_str(ev, "name", s->events[i].name);
			if (!err)
				err = encode_attrs(ev, &s->events[i].attrs);
			if (err)
				return err;
		}
	}

	status = put(o, "status", cJSON_CreateObject());
	if (!status || !put(status, "code", cJSON_CreateNumber(s->status)))
		return -ENOMEM;
	if (s->status_message)
		return add_str(status, "message", s->status_message);
	return 0;
}

/*
 * Appends a ResourceSpans for @r to @rss and returns its (single) scopeSpans' "spans" array,
 * owned by @rss, or NULL on ENOMEM.
 */
static cJSON *add_resource_spans(cJSON *rss, const struct bt_resource *r)
{
	static const struct bt_attrs no_attrs;
	cJSON *rs, *res, *scope_spans, *ss, *scope;

	rs = append_object(rss);
	if (!rs)
		return NULL;
	res = put(rs, "resource", cJSON_CreateObject());
	if (!res || encode_attrs(res, r ? &r->attrs : &no_attrs))
		return NULL;
	scope_spans = put(rs, "scopeSpans", cJSON_CreateArray());
	ss = scope_spans ? append_object(scope_spans) : NULL;
	scope = ss ? put(ss, "scope", cJSON_CreateObject()) : NULL;
	if (!scope || !put(scope, "name", cJSON_CreateString("bedtrace")) ||
	    !put(scope, "version", cJSON_CreateString(BT_VERSION)))
		return NULL;
	return put(ss, "spans", cJSON_CreateArray());
}

char *otlp_json_encode(struct bt_span *const *spans, size_t n)
{
	/* Parallel arrays: distinct resources in first-seen order and their "spans" arrays. */
	const struct bt_resource **res = NULL;
	cJSON **res_spans = NULL;
	cJSON *root = NULL, *rss;
	size_t n_res = 0, i, j;
	char *out = NULL;
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
		res_spans = calloc(n, sizeof(*res_spans));
		if (!res || !res_spans)
			goto cleanup;
	}
	root = cJSON_CreateObject();
	rss = root ? put(root, "resourceSpans", cJSON_CreateArray()) : NULL;
	if (!rss)
		goto cleanup;

	for (i = 0; i < n; i++) {
		/* Few resources per batch (one per traced process): a linear search is enough. */
		for (j = 0; j < n_res; j++)
			if (res[j] == spans[i]->resource)
				break;
		if (j == n_res) {
			res[j] = spans[i]->resource;
			res_spans[j] = add_resource_spans(rss, res[j]);
			if (!res_spans[j])
				goto cleanup;
			n_res++;
		}
		err = encode_span(res_spans[j], spans[i]);
		if (err)
			goto cleanup;
		err = -ENOMEM;
	}
	out = cJSON_PrintUnformatted(root);
	if (out)
		err = 0;
cleanup:
	cJSON_Delete(root);
	free(res);
	free(res_spans);
	if (err)
		errno = -err;
	return out;
}
