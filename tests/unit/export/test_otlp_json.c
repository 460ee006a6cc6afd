// SPDX-License-Identifier: MIT
/* Unit tests for otlp_json.c: every field is checked by parsing the output back with cJSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "export/otlp_json.h"
#include "span/span.h"

#ifndef BT_VERSION
#define BT_VERSION "dev"
#endif

static struct bt_span *span_fixed(const char *name, uint8_t seed)
{
	struct bt_span *s = bt_span_new(name, BT_KIND_INTERNAL);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < BT_TRACE_ID_LEN; i++)
		s->trace_id[i] = (uint8_t)(seed + i);
	for (i = 0; i < BT_SPAN_ID_LEN; i++)
		s->span_id[i] = (uint8_t)(0xa0 + seed + i);
	s->start_ns = 1700000000000000000ull;
	s->end_ns = 1700000000123456789ull;
	return s;
}

/* Encodes @spans, checks the text is one line, and returns the parsed document. */
static cJSON *encode_parse(struct bt_span *const *spans, size_t n)
{
	char *json = otlp_json_encode(spans, n);
	cJSON *root;

	assert_non_null(json);
	assert_null(strchr(json, '\n'));
	root = cJSON_Parse(json);
	free(json);
	assert_non_null(root);
	return root;
}

static const cJSON *get(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		fail_msg("missing key %s", key);
	return v;
}

static const char *get_str(const cJSON *o, const char *key)
{
	const cJSON *v = get(o, key);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static const cJSON *first_span(const cJSON *root, size_t rs_idx, size_t span_idx)
{
	const cJSON *rs = cJSON_GetArrayItem(get(root, "resourceSpans"), (int)rs_idx);
	const cJSON *ss;

	assert_non_null(rs);
	ss = cJSON_GetArrayItem(get(rs, "scopeSpans"), 0);
	assert_non_null(ss);
	return cJSON_GetArrayItem(get(ss, "spans"), (int)span_idx);
}

/* Returns the AnyValue of attribute @key in an OTLP attributes array, or fails. */
static const cJSON *attr_value(const cJSON *attrs, const char *key)
{
	const cJSON *kv;

	assert_true(cJSON_IsArray(attrs));
	cJSON_ArrayForEach(kv, attrs)
	{
		if (!strcmp(get_str(kv, "key"), key)) {
			const cJSON *v = get(kv, "value");

			/* AnyValue is a oneof: exactly one member */
			assert_int_equal(cJSON_GetArraySize(v), 1);
			return v;
		}
	}
	fail_msg("attribute %s missing", key);
	return NULL;
}

static void test_otlp_json_encode_ids_hex(void **state)
{
	struct bt_span *parent = span_fixed("parent", 0), *child = span_fixed("child", 0xf0);
	struct bt_span *spans[2] = {parent, child};
	const cJSON *js;
	cJSON *root;

	(void)state;
	bt_span_set_parent(child, parent);
	root = encode_parse(spans, 2);

	js = first_span(root, 0, 0);
	assert_string_equal(get_str(js, "traceId"), "000102030405060708090a0b0c0d0e0f");
	assert_string_equal(get_str(js, "spanId"), "a0a1a2a3a4a5a6a7");
	/* root span: the field is absent, not "" or zeros */
	assert_null(cJSON_GetObjectItemCaseSensitive(js, "parentSpanId"));

	js = first_span(root, 0, 1);
	assert_string_equal(get_str(js, "traceId"), "000102030405060708090a0b0c0d0e0f");
	/* seed 0xf0: bytes wrap around, 0xa0 + 0xf0 = 0x90 */
	assert_string_equal(get_str(js, "spanId"), "9091929394959697");
	assert_string_equal(get_str(js, "parentSpanId"), "a0a1a2a3a4a5a6a7");

	cJSON_Delete(root);
	bt_span_free(parent);
	bt_span_free(child);
}

static void test_otlp_json_encode_span_fields(void **state)
{
	struct bt_span *s = span_fixed("GET /v1/x", 1);
	const cJSON *js, *st;
	cJSON *root;

	(void)state;
	s->kind = BT_KIND_CLIENT;
	/* above 2^63: must stay exact, so a string */
	s->start_ns = 18446744073709551615ull;
	s->end_ns = 9007199254740993ull; /* 2^53 + 1 */
	assert_int_equal(bt_span_set_status(s, BT_STATUS_ERROR, "boom"), 0);
	root = encode_parse(&s, 1);
	js = first_span(root, 0, 0);

	assert_string_equal(get_str(js, "name"), "GET /v1/x");
	assert_true(cJSON_IsNumber(get(js, "kind")));
	assert_int_equal(get(js, "kind")->valueint, 3);
	assert_string_equal(get_str(js, "startTimeUnixNano"), "18446744073709551615");
	assert_string_equal(get_str(js, "endTimeUnixNano"), "9007199254740993");
	st = get(js, "status");
	assert_true(cJSON_IsNumber(get(st, "code")));
	assert_int_equal(get(st, "code")->valueint, 2);
	assert_string_equal(get_str(st, "message"), "boom");
	/* no events: field omitted; attributes always present */
	assert_null(cJSON_GetObjectItemCaseSensitive(js, "events"));
	assert_true(cJSON_IsArray(get(js, "attributes")));
	assert_int_equal(cJSON_GetArraySize(get(js, "attributes")), 0);
	cJSON_Delete(root);

	/* status without message: message omitted, code still an integer */
	assert_int_equal(bt_span_set_status(s, BT_STATUS_OK, NULL), 0);
	s->kind = BT_KIND_SERVER;
	root = encode_parse(&s, 1);
	js = first_span(root, 0, 0);
	assert_int_equal(get(js, "kind")->valueint, 2);
	st = get(js, "status");
	assert_int_equal(get(st, "code")->valueint, 1);
	assert_null(cJSON_GetObjectItemCaseSensitive(st, "message"));
	cJSON_Delete(root);
	bt_span_free(s);
}

static void test_otlp_json_encode_attribute_types(void **state)
{
	static const char *const arr[] = {"end_turn", "max_tokens", "say \"hi\""};
	static const double doubles[] = {
	    0.1, 1.0 / 3.0, 1e300, -2.5e-308, 3.0, 123456789.125, 4.9406564584124654e-324};
	struct bt_span *s = span_fixed("attrs", 2);
	const cJSON *attrs, *v, *values;
	char key[32];
	cJSON *root;
	size_t i;

	(void)state;
	assert_int_equal(bt_attrs_set_str(&s->attrs, "s", "value"), 0);
	assert_int_equal(bt_attrs_set_int(&s->attrs, "i.max", INT64_MAX), 0);
	assert_int_equal(bt_attrs_set_int(&s->attrs, "i.min", INT64_MIN), 0);
	assert_int_equal(bt_attrs_set_int(&s->attrs, "i.neg", -42), 0);
	assert_int_equal(bt_attrs_set_int(&s->attrs, "i.2p53", 9007199254740993ll), 0);
	assert_int_equal(bt_attrs_set_bool(&s->attrs, "b.t", true), 0);
	assert_int_equal(bt_attrs_set_bool(&s->attrs, "b.f", false), 0);
	assert_int_equal(bt_attrs_set_str_array(&s->attrs, "a", arr, 3), 0);
	assert_int_equal(bt_attrs_set_str_array(&s->attrs, "a.empty", NULL, 0), 0);
	for (i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++) {
		snprintf(key, sizeof(key), "d%zu", i);
		assert_int_equal(bt_attrs_set_double(&s->attrs, key, doubles[i]), 0);
	}
	assert_int_equal(bt_attrs_set_double(&s->attrs, "d.negzero", -0.0), 0);
	assert_int_equal(bt_attrs_set_double(&s->attrs, "d.nan", NAN), 0);
	assert_int_equal(bt_attrs_set_double(&s->attrs, "d.inf", INFINITY), 0);
	assert_int_equal(bt_attrs_set_double(&s->attrs, "d.ninf", -INFINITY), 0);

	root = encode_parse(&s, 1);
	attrs = get(first_span(root, 0, 0), "attributes");
	assert_int_equal(cJSON_GetArraySize(attrs), (int)s->attrs.n);
	/* order is the span's attribute order */
	assert_string_equal(get_str(cJSON_GetArrayItem(attrs, 0), "key"), "s");

	assert_string_equal(get_str(attr_value(attrs, "s"), "stringValue"), "value");
	assert_string_equal(get_str(attr_value(attrs, "i.max"), "intValue"), "9223372036854775807");
	assert_string_equal(get_str(attr_value(attrs, "i.min"), "intValue"),
			    "-9223372036854775808");
	assert_string_equal(get_str(attr_value(attrs, "i.neg"), "intValue"), "-42");
	assert_string_equal(get_str(attr_value(attrs, "i.2p53"), "intValue"), "9007199254740993");
	assert_true(cJSON_IsTrue(get(attr_value(attrs, "b.t"), "boolValue")));
	assert_true(cJSON_IsFalse(get(attr_value(attrs, "b.f"), "boolValue")));

	values = get(get(attr_value(attrs, "a"), "arrayValue"), "values");
	assert_int_equal(cJSON_GetArraySize(values), 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(get_str(cJSON_GetArrayItem(values, (int)i), "stringValue"),
				    arr[i]);
	values = get(get(attr_value(attrs, "a.empty"), "arrayValue"), "values");
	assert_true(cJSON_IsArray(values));
	assert_int_equal(cJSON_GetArraySize(values), 0);

	/* doubles read back bit-exact */
	for (i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++) {
		snprintf(key, sizeof(key), "d%zu", i);
		v = get(attr_value(attrs, key), "doubleValue");
		assert_true(cJSON_IsNumber(v));
		assert_memory_equal(&v->valuedouble, &doubles[i], sizeof(double));
	}
	v = get(attr_value(attrs, "d.negzero"), "doubleValue");
	assert_true(cJSON_IsNumber(v));
	assert_true(v->valuedouble == 0 && signbit(v->valuedouble));
	/* non-finite: the proto3 JSON string spellings */
	assert_string_equal(get_str(attr_value(attrs, "d.nan"), "doubleValue"), "NaN");
	assert_string_equal(get_str(attr_value(attrs, "d.inf"), "doubleValue"), "Infinity");
	assert_string_equal(get_str(attr_value(attrs, "d.ninf"), "doubleValue"), "-Infinity");

	cJSON_Delete(root);
	bt_span_free(s);
}

static void test_otlp_json_encode_events(void **state)
{
	struct bt_span *s = span_fixed("ev", 3);
	struct bt_span_event *ev;
	const cJSON *events, *e0, *e1;
	cJSON *root;

	(void)state;
	ev = bt_span_add_event(s, "first_token", 1700000000000000001ull);
	assert_non_null(ev);
	assert_int_equal(bt_attrs_set_int(&ev->attrs, "bytes", 12), 0);
	assert_non_null(bt_span_add_event(s, "exception", 18000000000000000000ull));

	root = encode_parse(&s, 1);
	events = get(first_span(root, 0, 0), "events");
	assert_int_equal(cJSON_GetArraySize(events), 2);
	e0 = cJSON_GetArrayItem(events, 0);
	e1 = cJSON_GetArrayItem(events, 1);
	assert_string_equal(get_str(e0, "name"), "first_token");
	assert_string_equal(get_str(e0, "timeUnixNano"), "1700000000000000001");
	assert_string_equal(get_str(attr_value(get(e0, "attributes"), "bytes"), "intValue"), "12");
	assert_string_equal(get_str(e1, "name"), "exception");
	assert_string_equal(get_str(e1, "timeUnixNano"), "18000000000000000000");
	assert_int_equal(cJSON_GetArraySize(get(e1, "attributes")), 0);
	cJSON_Delete(root);
	bt_span_free(s);
}

static void test_otlp_json_encode_groups_resources(void **state)
{
	struct bt_resource *r1 = bt_resource_new(), *r2 = bt_resource_new();
	struct bt_span *spans[5];
	static const char *const names[] = {"a", "b", "c", "d", "e"};
	const cJSON *rss, *rs, *ss, *list, *scope;
	cJSON *root;
	size_t i;

	(void)state;
	assert_non_null(r1);
	assert_non_null(r2);
	assert_int_equal(bt_attrs_set_str(&r1->attrs, "service.name", "svc1"), 0);
	assert_int_equal(bt_attrs_set_int(&r1->attrs, "process.pid", 101), 0);
	assert_int_equal(bt_attrs_set_str(&r2->attrs, "service.name", "svc2"), 0);
	for (i = 0; i < 5; i++)
		spans[i] = span_fixed(names[i], (uint8_t)i);
	/* r1, r2, r1, none, r2 */
	bt_span_set_resource(spans[0], r1);
	bt_span_set_resource(spans[1], r2);
	bt_span_set_resource(spans[2], r1);
	bt_span_set_resource(spans[4], r2);

	root = encode_parse(spans, 5);
	rss = get(root, "resourceSpans");
	assert_int_equal(cJSON_GetArraySize(rss), 3);

	rs = cJSON_GetArrayItem(rss, 0);
	assert_string_equal(
	    get_str(attr_value(get(get(rs, "resource"), "attributes"), "service.name"),
		    "stringValue"),
	    "svc1");
	assert_string_equal(
	    get_str(attr_value(get(get(rs, "resource"), "attributes"), "process.pid"), "intValue"),
	    "101");
	assert_int_equal(cJSON_GetArraySize(get(rs, "scopeSpans")), 1);
	ss = cJSON_GetArrayItem(get(rs, "scopeSpans"), 0);
	scope = get(ss, "scope");
	assert_string_equal(get_str(scope, "name"), "bedtrace");
	assert_string_equal(get_str(scope, "version"), BT_VERSION);
	list = get(ss, "spans");
	assert_int_equal(cJSON_GetArraySize(list), 2);
	assert_string_equal(get_str(cJSON_GetArrayItem(list, 0), "name"), "a");
	assert_string_equal(get_str(cJSON_GetArrayItem(list, 1), "name"), "c");

	rs = cJSON_GetArrayItem(rss, 1);
	assert_string_equal(
	    get_str(attr_value(get(get(rs, "resource"), "attributes"), "service.name"),
		    "stringValue"),
	    "svc2");
	list = get(cJSON_GetArrayItem(get(rs, "scopeSpans"), 0), "spans");
	assert_int_equal(cJSON_GetArraySize(list), 2);
	assert_string_equal(get_str(cJSON_GetArrayItem(list, 0), "name"), "b");
	assert_string_equal(get_str(cJSON_GetArrayItem(list, 1), "name"), "e");

	/* NULL resource: a resource with no attributes */
	rs = cJSON_GetArrayItem(rss, 2);
	assert_int_equal(cJSON_GetArraySize(get(get(rs, "resource"), "attributes")), 0);
	list = get(cJSON_GetArrayItem(get(rs, "scopeSpans"), 0), "spans");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	assert_string_equal(get_str(cJSON_GetArrayItem(list, 0), "name"), "d");

	cJSON_Delete(root);
	for (i = 0; i < 5; i++)
		bt_span_free(spans[i]);
	bt_resource_put(r1);
	bt_resource_put(r2);
}

/* True when @s is entirely well-formed UTF-8. */
static bool is_utf8(const char *s)
{
	char *clean = otlp_json_utf8_sanitize(s);
	bool same;

	assert_non_null(clean);
	same = strcmp(clean, s) == 0;
	free(clean);
	return same;
}

static void test_otlp_json_encode_escapes_strings(void **state)
{
	static const char tricky[] = "q\"uo\\te\n\r\t\x01\x1f\x7f </script> h\xc3\xa9llo "
				     "\xe2\x9c\x93 \xf0\x9d\x84\x9e";
	struct bt_span *s = span_fixed(tricky, 4);
	const cJSON *js, *attrs;
	char *json;
	cJSON *root;
	size_t i;

	(void)state;
	assert_int_equal(bt_attrs_set_str(&s->attrs, tricky, tricky), 0);
	/* literal keys: written as they are only when nothing needs escaping */
	assert_int_equal(bt_attrs_set_int(&s->attrs, "lit\"key\n", 1), 0);
	assert_int_equal(bt_attrs_set_int(&s->attrs, "lit.plain", 2), 0);
	/* invalid UTF-8: lone continuation, overlong '/', surrogate, truncated sequence */
	assert_int_equal(bt_attrs_set_str(&s->attrs, "bad",
					  "a\x80"
					  "b\xc0\xaf"
					  "c\xed\xa0\x80"
					  "d\xe2\x82"),
			 0);
	assert_int_equal(bt_span_set_status(s, BT_STATUS_ERROR, "\"x\"\n"), 0);

	json = otlp_json_encode(&s, 1);
	assert_non_null(json);
	for (i = 0; json[i]; i++)
		assert_true((unsigned char)json[i] >= 0x20);
	assert_true(is_utf8(json));
	root = cJSON_Parse(json);
	free(json);
	assert_non_null(root);

	js = first_span(root, 0, 0);
	assert_string_equal(get_str(js, "name"), tricky);
	attrs = get(js, "attributes");
	assert_string_equal(get_str(attr_value(attrs, tricky), "stringValue"), tricky);
	assert_string_equal(get_str(attr_value(attrs, "lit\"key\n"), "intValue"), "1");
	assert_string_equal(get_str(attr_value(attrs, "lit.plain"), "intValue"), "2");
	assert_string_equal(get_str(attr_value(attrs, "bad"), "stringValue"),
			    "a\xef\xbf\xbd"
			    "b\xef\xbf\xbd\xef\xbf\xbd"
			    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			    "d\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(get_str(get(js, "status"), "message"), "\"x\"\n");
	cJSON_Delete(root);
	bt_span_free(s);
}

static void test_otlp_json_encode_empty_and_invalid(void **state)
{
	struct bt_span *spans[2] = {NULL, NULL};
	cJSON *root;
	char *json;

	(void)state;
	root = encode_parse(NULL, 0);
	assert_true(cJSON_IsArray(get(root, "resourceSpans")));
	assert_int_equal(cJSON_GetArraySize(get(root, "resourceSpans")), 0);
	cJSON_Delete(root);

	spans[0] = span_fixed("ok", 5);
	errno = 0;
	json = otlp_json_encode(spans, 2);
	assert_null(json);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(otlp_json_encode(NULL, 1));
	assert_int_equal(errno, EINVAL);
	bt_span_free(spans[0]);
}

static void test_otlp_json_encode_many_spans(void **state)
{
	enum { N = 2000 };
	struct bt_span **spans = calloc(N, sizeof(*spans));
	struct bt_resource *res[3];
	const cJSON *rs;
	cJSON *root;
	int total = 0;
	size_t i;

	(void)state;
	assert_non_null(spans);
	for (i = 0; i < 3; i++)
		res[i] = bt_resource_new();
	for (i = 0; i < N; i++) {
		spans[i] = span_fixed("s", (uint8_t)i);
		bt_span_set_resource(spans[i], res[i % 3]);
		assert_int_equal(bt_attrs_set_int(&spans[i]->attrs, "n", (int64_t)i), 0);
	}
	root = encode_parse(spans, N);
	assert_int_equal(cJSON_GetArraySize(get(root, "resourceSpans")), 3);
	cJSON_ArrayForEach(rs, get(root, "resourceSpans"))
	{
		total +=
		    cJSON_GetArraySize(get(cJSON_GetArrayItem(get(rs, "scopeSpans"), 0), "spans"));
	}
	assert_int_equal(total, N);
	cJSON_Delete(root);
	for (i = 0; i < N; i++)
		bt_span_free(spans[i]);
	for (i = 0; i < 3; i++)
		bt_resource_put(res[i]);
	free(spans);
}

/* Long strings force the output buffer to grow many times; every byte must survive. */
static void test_otlp_json_encode_large_strings(void **state)
{
	struct bt_span *spans[3];
	const cJSON *sp;
	cJSON *root;
	char *big;
	size_t i, len = 300000;

	(void)state;
	big = malloc(len + 1);
	assert_non_null(big);
	for (i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	big[len] = '\0';
	for (i = 0; i < 3; i++) {
		spans[i] = span_fixed("s", (int)i + 1);
		assert_int_equal(bt_attrs_set_str(&spans[i]->attrs, "big", big), 0);
	}
	root = encode_parse(spans, 3);
	sp = cJSON_GetArrayItem(
	    get(cJSON_GetArrayItem(
		    get(cJSON_GetArrayItem(get(root, "resourceSpans"), 0), "scopeSpans"), 0),
		"spans"),
	    2);
	assert_non_null(sp);
	assert_string_equal(
	    get(get(cJSON_GetArrayItem(get(sp, "attributes"), 0), "value"), "stringValue")
		->valuestring,
	    big);
	cJSON_Delete(root);
	for (i = 0; i < 3; i++)
		bt_span_free(spans[i]);
	free(big);
}

static void test_otlp_json_utf8_sanitize_rules(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", ""},
	    {"plain ascii", "plain ascii"},
	    {"\xc2\x80\xdf\xbf", "\xc2\x80\xdf\xbf"},		      /* 2-byte bounds */
	    {"\xe0\xa0\x80\xef\xbf\xbf", "\xe0\xa0\x80\xef\xbf\xbf"}, /* 3-byte bounds */
	    {"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"},
	    {"\xc1\xbf", "\xef\xbf\xbd\xef\xbf\xbd"},		      /* overlong 2-byte */
	    {"\xe0\x9f\xbf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong 3-byte */
	    {"\xf0\x8f\xbf\xbf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xed\xbf\xbf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
	    {"\xf5\xff", "\xef\xbf\xbd\xef\xbf\xbd"},
	    {"x\xf0\x9f\x98", "x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* cut at end */
	};
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = otlp_json_utf8_sanitize(cases[i].in);
		assert_non_null(out);
		if (strcmp(out, cases[i].out))
			fail_msg("case %zu: sanitized output differs", i);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_otlp_json_encode_ids_hex),
	    cmocka_unit_test(test_otlp_json_encode_span_fields),
	    cmocka_unit_test(test_otlp_json_encode_attribute_types),
	    cmocka_unit_test(test_otlp_json_encode_events),
	    cmocka_unit_test(test_otlp_json_encode_groups_resources),
	    cmocka_unit_test(test_otlp_json_encode_escapes_strings),
	    cmocka_unit_test(test_otlp_json_encode_empty_and_invalid),
	    cmocka_unit_test(test_otlp_json_encode_many_spans),
	    cmocka_unit_test(test_otlp_json_encode_large_strings),
	    cmocka_unit_test(test_otlp_json_utf8_sanitize_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
