// SPDX-License-Identifier: MIT
/*
 * OTLP JSON Lines into the report's dataset (report.h): one ExportTraceServiceRequest per line,
 * as `bedtrace -o` and the Collector's file exporter write them, plain or gzip (by content:
 * the gzip magic, whatever the file is called; concatenated members are read in turn).
 *
 * A purpose-built scanner (jscan.h) reads each line: the whole line is checked as JSON, the
 * values of the keys this shape defines are decoded, the rest is skipped. No tree is built:
 * the spans of a line go straight into the dataset and are taken back out if the line turns
 * out malformed, and nothing is allocated per value. Why not cJSON: on report_gen.py's output
 * this whole reader, fields and interning included, takes about 0.7 times what cJSON takes only
 * to parse and free the same lines; and one thread is enough (scripts/bench/report_bench.py
 * reads 1 GiB in about a tenth of the report's 30 s budget), so there is none.
 *
 * Kept attributes (struct rp_attr, values as strings: int and double as written in the file,
 * bools "true"/"false", arrays joined with ',', other values as their JSON text): the set
 * always kept (keep_keys below), the keys of rp_read_opts.keep_attrs, or every attribute with
 * keep_all_attrs. Resource attributes are kept under their own key, unprefixed, after the
 * span's own attributes; a span attribute of the same key wins. Spans whose kept attributes
 * are equal share one rp_attr_set (function spans mostly do), so a set must not be appended
 * to after rp_read.
 *
 * A line is malformed (counted in bad_lines, its spans dropped) when it is not one JSON value,
 * has no resourceSpans, or the shape is wrong where the report depends on it: a span without a
 * hex traceId (32 digits) or spanId (16), a bad parentSpanId, a missing or non-integer start
 * or end time, an end before the start, a kind or status code out of range. An attribute value
 * of an unexpected type only leaves its field unset. Every path is opened before any is read,
 * so a missing file fails at once, not after a gigabyte of another one.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "report/jscan.h"
#include "report/report.h"
#include "util/pct.h"
#include "span/semconv.h"
#include "util/grow.h"
#include "util/hash.h"
#include "util/log.h"

#define READ_CHUNK (1u << 20)	 /* the line buffer's first size and its reads */
#define GZ_IN_CHUNK (256u << 10) /* compressed bytes read at a time */

/* What an attribute key means to the reader. */
enum role {
	R_NONE,
	R_SERVICE,
	R_HOST,
	R_PID,
	R_MODEL,
	R_OPERATION,
	R_ERROR_TYPE,
	R_IN_TOK,
	R_OUT_TOK,
	R_CACHE_READ,
	R_CACHE_WRITE,
	R_COST,
	R_TTFC,
	R_INCL_CHILDREN,
	R_FINISH,
	R_GUARDRAIL,
	R_HTTP_STATUS,
	R_RETRY,
	R_CAP_TRUNC,
	R_LOST_BYTES,
	R_SPAN_INCOMPLETE,
};

static const struct {
	const char *key;
	enum role role;
} role_keys[] = {
    {ATTR_SERVICE_NAME, R_SERVICE},
    {ATTR_HOST_NAME, R_HOST},
    {ATTR_PROCESS_PID, R_PID},
    {ATTR_GEN_AI_REQUEST_MODEL, R_MODEL},
    {ATTR_GEN_AI_OPERATION_NAME, R_OPERATION},
    {ATTR_ERROR_TYPE, R_ERROR_TYPE},
    {ATTR_GEN_AI_USAGE_INPUT_TOKENS, R_IN_TOK},
    {ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, R_OUT_TOK},
    {ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, R_CACHE_READ},
    {ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, R_CACHE_WRITE},
    {ATTR_BEDTRACE_COST_USD, R_COST},
    {ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, R_TTFC},
    {ATTR_BEDTRACE_COST_INCLUDES_CHILDREN, R_INCL_CHILDREN},
    {ATTR_GEN_AI_RESPONSE_FINISH_REASONS, R_FINISH},
    {ATTR_AWS_BEDROCK_GUARDRAIL_ACTION, R_GUARDRAIL},
    {ATTR_HTTP_RESPONSE_STATUS_CODE, R_HTTP_STATUS},
    {ATTR_BEDTRACE_RETRY_PREVIOUS_ATTEMPTS, R_RETRY},
    {ATTR_BEDTRACE_CAPTURE_TRUNCATED, R_CAP_TRUNC},
    {ATTR_BEDTRACE_CAPTURE_INCOMPLETE, R_CAP_TRUNC},
    {ATTR_BEDTRACE_CAPTURE_LOST_BYTES, R_LOST_BYTES},
    {ATTR_BEDTRACE_SPAN_INCOMPLETE, R_SPAN_INCOMPLETE},
};

/*
 * Kept on every span that has them, whatever the options: what --trace and the page's
 * waterfalls show, and service.version (a resource attribute) for --by.
 */
static const char *const keep_keys[] = {
    ATTR_GEN_AI_REQUEST_MODEL,
    ATTR_GEN_AI_OPERATION_NAME,
    ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
    ATTR_GEN_AI_USAGE_INPUT_TOKENS,
    ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
    ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
    ATTR_BEDTRACE_COST_USD,
    ATTR_AWS_BEDROCK_GUARDRAIL_ACTION,
    ATTR_BEDTRACE_RETRY_PREVIOUS_ATTEMPTS,
    ATTR_HTTP_REQUEST_METHOD,
    ATTR_HTTP_RESPONSE_STATUS_CODE,
    ATTR_URL_FULL,
    ATTR_SERVER_ADDRESS,
    ATTR_ERROR_TYPE,
    ATTR_CODE_FUNCTION_NAME,
    ATTR_THREAD_ID,
    ATTR_BEDTRACE_CAPTURE_TRUNCATED,
    ATTR_BEDTRACE_CAPTURE_LOST_BYTES,
    ATTR_BEDTRACE_SPAN_INCOMPLETE,
    ATTR_BEDTRACE_END_REASON,
    ATTR_SERVICE_VERSION,
};

enum { V_NONE, V_STR, V_INT, V_DBL, V_BOOL, V_ARR, V_RAW };

/* An AnyValue: the string, the number's text, the bool, or the JSON text of an array/kvlist. */
struct any {
	int type;
	struct js_sv s;
	bool b;
};

struct keyent {
	const char *key; /* NULL: empty slot */
	size_t len;
	uint64_t hash;
	enum role role;
	bool keep;
	rp_str id; /* interned on first use */
};

#define KEYTAB 256 /* power of two, more than twice the keys it holds */

struct pair {
	rp_str key, value;
};

struct reader {
	struct rp_dataset *ds;
	const struct rp_read_opts *o;
	struct keyent keys[KEYTAB];
	struct jscan j; /* the line being scanned */
	char *join;	/* an array value joined with ',' */
	size_t join_cap;
	/* the current resource */
	rp_str service, host;
	uint32_t pid;
	struct pair *rpairs; /* its kept attributes */
	size_t n_rpairs, cap_rpairs;
	bool have_resource;
	/* the current span's kept attributes, then the resource's */
	struct pair *pairs;
	size_t n_pairs, cap_pairs;
	uint32_t file;
	/* attribute sets by content, to share equal ones: set index, 0 = empty */
	uint32_t *sets;
	size_t n_sets, cap_sets;
	bool enomem;
};

static struct keyent *key_slot(struct reader *r, const char *k, size_t len, uint64_t h)
{
	size_t i;

	for (i = h & (KEYTAB - 1); r->keys[i].key; i = (i + 1) & (KEYTAB - 1))
		if (r->keys[i].hash == h && r->keys[i].len == len &&
		    !memcmp(r->keys[i].key, k, len))
			return &r->keys[i];
	return &r->keys[i];
}

static struct keyent *key_add(struct reader *r, const char *k)
{
	size_t len = strlen(k), used = 0, i;
	uint64_t h = fnv1a(k, len);
	struct keyent *e = key_slot(r, k, len, h);

	if (e->key)
		return e;
	for (i = 0; i < KEYTAB; i++)
		used += r->keys[i].key != NULL;
	if (2 * (used + 1) > KEYTAB)
		return NULL; /* more --by keys than anyone types: the rest are not kept */
	e->key = k;
	e->len = len;
	e->hash = h;
	return e;
}

static void keys_init(struct reader *r)
{
	struct keyent *e;
	size_t i;

	for (i = 0; i < sizeof(role_keys) / sizeof(role_keys[0]); i++)
		key_add(r, role_keys[i].key)->role = role_keys[i].role;
	for (i = 0; i < sizeof(keep_keys) / sizeof(keep_keys[0]); i++)
		key_add(r, keep_keys[i])->keep = true;
	for (i = 0; r->o && r->o->keep_attrs && r->o->keep_attrs[i]; i++)
		if ((e = key_add(r, r->o->keep_attrs[i])))
			e->keep = true;
}

/* ---- values ---- */

/* Decimal integer text (optional sign) into @v. */
static bool parse_i64(const struct js_sv *s, int64_t *v)
{
	const char *p = s->p, *e = s->p + s->n;
	bool neg = false;
	uint64_t x = 0;

	if (p < e && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	if (p == e)
		return false;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9' || x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (x > (uint64_t)INT64_MAX + neg)
		return false;
	*v = neg ? (int64_t)(0 - x) : (int64_t)x;
	return true;
}

static bool parse_u64(const struct js_sv *s, uint64_t *v)
{
	const char *p = s->p, *e = s->p + s->n;
	uint64_t x = 0;

	if (p == e || e - p > 20)
		return false;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9' || x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	*v = x;
	return true;
}

static bool parse_dbl(const struct js_sv *s, double *v)
{
	char buf[64], *end;

	if (!s->n || s->n >= sizeof(buf))
		return false;
	memcpy(buf, s->p, s->n);
	buf[s->n] = '\0';
	*v = strtod(buf, &end);
	return *end == '\0';
}

/* An AnyValue object: {"stringValue": ...} and the others; unknown members skipped. */
static bool any_value(struct reader *r, struct any *a)
{
	struct js_sv k;
	bool first = true;
	const char *start;

	memset(a, 0, sizeof(*a));
	if (!js_obj_open(&r->j))
		return false;
	while (js_obj_next(&r->j, &first, &k)) {
		js_ws(&r->j);
		if (js_is(&k, "stringValue")) {
			a->type = V_STR;
			if (!js_str(&r->j, &a->s))
				return false;
		} else if (js_is(&k, "intValue") || js_is(&k, "doubleValue")) {
			/* int64 is a string in proto3 JSON; numbers are accepted too */
			a->type = k.p[0] == 'i' ? V_INT : V_DBL;
			if (r->j.p < r->j.end && *r->j.p == '"' ? !js_str(&r->j, &a->s)
								: !js_number(&r->j, &a->s))
				return false;
		} else if (js_is(&k, "boolValue")) {
			a->type = V_BOOL;
			if (r->j.p < r->j.end && *r->j.p == 't') {
				a->b = true;
				if (!js_word(&r->j, "true", 4))
					return false;
			} else if (!js_word(&r->j, "false", 5)) {
				return false;
			}
		} else {
			start = r->j.p;
			if (!js_skip(&r->j))
				return false;
			if (js_is(&k, "arrayValue") || js_is(&k, "kvlistValue") ||
			    js_is(&k, "bytesValue")) {
				a->type = k.p[0] == 'a' ? V_ARR : V_RAW;
				a->s.p = start;
				a->s.n = (size_t)(r->j.p - start);
			}
		}
	}
	return !r->j.why;
}

static bool any_int(const struct any *a, int64_t *v)
{
	double d;

	if (a->type == V_INT || a->type == V_STR)
		return parse_i64(&a->s, v);
	if (a->type == V_DBL && parse_dbl(&a->s, &d) && d >= -9.2e18 && d <= 9.2e18) {
		*v = (int64_t)d;
		return true;
	}
	return false;
}

static bool any_dbl(const struct any *a, double *v)
{
	return (a->type == V_INT || a->type == V_DBL || a->type == V_STR) && parse_dbl(&a->s, v) &&
	       isfinite(*v);
}

static bool any_true(const struct any *a)
{
	return a->type == V_BOOL ? a->b : a->type == V_STR && js_is(&a->s, "true");
}

static bool join_put(struct reader *r, size_t *len, const char *s, size_t n)
{
	if (grow(&r->join, &r->join_cap, *len + n + 1, 1)) {
		r->enomem = true;
		return js_fail(&r->j, "out of memory");
	}
	memcpy(r->join + *len, s, n);
	*len += n;
	return true;
}

/*
 * The elements of an arrayValue (its JSON text in @a) joined with ',' into r->join (length in
 * @len); *@max_tokens when one of them is a finish reason of the token limit.
 */
static bool join_array(struct reader *r, const struct any *a, size_t *len, bool *max_tokens)
{
	const char *save_p = r->j.p, *save_end = r->j.end;
	struct any el;
	struct js_sv k;
	bool first = true, efirst, ok = true;
	int depth = r->j.depth;

	*len = 0;
	r->j.p = a->s.p;
	r->j.end = a->s.p + a->s.n;
	if (!js_obj_open(&r->j))
		ok = false;
	while (ok && js_obj_next(&r->j, &first, &k)) {
		if (!js_is(&k, "values")) {
			ok = js_skip(&r->j);
			continue;
		}
		efirst = true;
		if (!js_arr_open(&r->j))
			break;
		while (js_arr_next(&r->j, &efirst)) {
			if (!any_value(r, &el))
				break;
			if (*len && !join_put(r, len, ",", 1))
				break;
			if (el.type == V_BOOL)
				ok = join_put(r, len, el.b ? "true" : "false", el.b ? 4 : 5);
			else
				ok = join_put(r, len, el.s.p, el.s.n);
			if (!ok)
				break;
			if (el.type == V_STR &&
			    (js_is(&el.s, "max_tokens") || js_is(&el.s, "length")))
				*max_tokens = true;
		}
	}
	ok = !r->j.why;
	r->j.p = save_p;
	r->j.end = save_end;
	r->j.depth = depth;
	if (r->join)
		r->join[*len] = '\0';
	return ok;
}

/* The display string of @a, interned; 0 when it has none. */
static rp_str any_str(struct reader *r, const struct any *a, bool *max_tokens)
{
	size_t len;
	bool mt = false;

	switch (a->type) {
	case V_STR:
	case V_INT:
	case V_DBL:
	case V_RAW:
		return rp_intern_n(r->ds, a->s.p, a->s.n);
	case V_BOOL:
		return rp_intern(r->ds, a->b ? "true" : "false");
	case V_ARR:
		if (!join_array(r, a, &len, max_tokens ? max_tokens : &mt))
			return 0;
		return rp_intern_n(r->ds, r->join ? r->join : "", len);
	default:
		return 0;
	}
}

static bool pair_add(struct reader *r, struct pair **v, size_t *n, size_t *cap, rp_str key,
		     rp_str value)
{
	if (!key || !value) {
		if (!r->ds->oom)
			return true; /* no value to show */
		r->enomem = true;
		return js_fail(&r->j, "out of memory");
	}
	if (grow(v, cap, *n + 1, sizeof(**v))) {
		r->enomem = true;
		return js_fail(&r->j, "out of memory");
	}
	(*v)[*n].key = key;
	(*v)[*n].value = value;
	(*n)++;
	return true;
}

static rp_str key_id(struct reader *r, struct keyent *e, const struct js_sv *k)
{
	if (e && e->key) {
		if (!e->id)
			e->id = rp_intern_n(r->ds, e->key, e->len);
		return e->id;
	}
	return rp_intern_n(r->ds, k->p, k->n);
}

/* One {"key":..., "value":{...}} of an attributes array; members in any order. */
static bool key_value(struct reader *r, struct js_sv *key, struct any *val)
{
	struct js_sv k;
	bool first = true, has_key = false;

	memset(val, 0, sizeof(*val));
	if (!js_obj_open(&r->j))
		return false;
	while (js_obj_next(&r->j, &first, &k)) {
		if (js_is(&k, "key")) {
			if (!js_str(&r->j, key))
				return false;
			has_key = true;
		} else if (js_is(&k, "value")) {
			js_ws(&r->j);
			if (r->j.p < r->j.end && *r->j.p == 'n') {
				if (!js_word(&r->j, "null", 4))
					return false;
			} else if (!any_value(r, val)) {
				return false;
			}
		} else if (!js_skip(&r->j)) {
			return false;
		}
	}
	if (r->j.why)
		return false;
	if (!has_key)
		return js_fail(&r->j, "an attribute without a key");
	return true;
}

/* ---- the OTLP shape ---- */

static bool resource(struct reader *r)
{
	struct js_sv k, key;
	struct any v;
	struct keyent *e;
	bool first = true, afirst;
	int64_t pid;

	if (!js_obj_open(&r->j))
		return false;
	while (js_obj_next(&r->j, &first, &k)) {
		if (!js_is(&k, "attributes")) {
			if (!js_skip(&r->j))
				return false;
			continue;
		}
		afirst = true;
		if (!js_arr_open(&r->j))
			return false;
		while (js_arr_next(&r->j, &afirst)) {
			if (!key_value(r, &key, &v))
				return false;
			e = key_slot(r, key.p, key.n, fnv1a(key.p, key.n));
			if (!e->key)
				e = NULL;
			if (e && e->role == R_SERVICE && v.type == V_STR)
				r->service = rp_intern_n(r->ds, v.s.p, v.s.n);
			else if (e && e->role == R_HOST && v.type == V_STR)
				r->host = rp_intern_n(r->ds, v.s.p, v.s.n);
			else if (e && e->role == R_PID && any_int(&v, &pid) && pid > 0 &&
				 pid <= UINT32_MAX)
				r->pid = (uint32_t)pid;
			if (((e && e->keep) || r->o->keep_all_attrs) &&
			    !pair_add(r, &r->rpairs, &r->n_rpairs, &r->cap_rpairs,
				      key_id(r, e, &key), any_str(r, &v, NULL)))
				return false;
		}
	}
	return !r->j.why;
}

static bool hex_id(const struct js_sv *s, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (s->n != 2 * n)
		return false;
	for (i = 0; i < n; i++) {
		if ((hi = pct_hex(s->p[2 * i])) < 0 || (lo = pct_hex(s->p[2 * i + 1])) < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A uint64 as a string (proto3 JSON) or a number. */
static bool u64_value(struct reader *r, uint64_t *v, const char *why)
{
	struct js_sv s;

	js_ws(&r->j);
	if (r->j.p < r->j.end && *r->j.p == '"' ? !js_str(&r->j, &s) : !js_number(&r->j, &s))
		return false;
	if (!parse_u64(&s, v))
		return js_fail(&r->j, why);
	return true;
}

/* An enum: its number, or its proto name (@names[i] for value i). */
static bool enum_value(struct reader *r, const char *const *names, int n, int *v, const char *why)
{
	struct js_sv s;
	int64_t x;
	int i;

	js_ws(&r->j);
	if (r->j.p < r->j.end && *r->j.p == '"') {
		if (!js_str(&r->j, &s))
			return false;
		for (i = 0; i < n; i++)
			if (js_is(&s, names[i])) {
				*v = i;
				return true;
			}
		return js_fail(&r->j, why);
	}
	if (!js_number(&r->j, &s))
		return false;
	if (!parse_i64(&s, &x) || x < 0 || x >= n)
		return js_fail(&r->j, why);
	*v = (int)x;
	return true;
}

static const char *const kind_names[] = {
    "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",	     "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};
static const char *const status_names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
					   "STATUS_CODE_ERROR"};

static bool status(struct reader *r, int *code)
{
	struct js_sv k;
	bool first = true;

	if (!js_obj_open(&r->j))
		return false;
	while (js_obj_next(&r->j, &first, &k))
		if (js_is(&k, "code") ? !enum_value(r, status_names, 3, code, "a bad status code")
				      : !js_skip(&r->j))
			return false;
	return !r->j.why;
}

/* What one span attribute sets in @sp; keeps it when it is to be kept. */
static bool span_attr(struct reader *r, struct rp_span *sp, const struct js_sv *key,
		      const struct any *v)
{
	struct keyent *e = key_slot(r, key->p, key->n, fnv1a(key->p, key->n));
	bool max_tokens = false;
	int64_t i;
	double d;
	rp_str val;

	if (!e->key)
		e = NULL;
	switch (e ? e->role : R_NONE) {
	case R_MODEL:
		if (v->type == V_STR)
			sp->model = rp_intern_n(r->ds, v->s.p, v->s.n);
		break;
	case R_OPERATION:
		if (v->type == V_STR)
			sp->operation = rp_intern_n(r->ds, v->s.p, v->s.n);
		break;
	case R_ERROR_TYPE:
		if (v->type == V_STR) {
			sp->error_type = rp_intern_n(r->ds, v->s.p, v->s.n);
			if (js_is(&v->s, "ThrottlingException"))
				sp->flags |= RP_THROTTLED;
		}
		break;
	case R_IN_TOK:
		if (any_int(v, &i)) {
			sp->input_tokens = i;
			sp->flags |= RP_HAS_TOKENS;
		}
		break;
	case R_OUT_TOK:
		if (any_int(v, &i)) {
			sp->output_tokens = i;
			sp->flags |= RP_HAS_TOKENS;
		}
		break;
	case R_CACHE_READ:
		if (any_int(v, &i))
			sp->cache_read_tokens = i;
		break;
	case R_CACHE_WRITE:
		if (any_int(v, &i))
			sp->cache_write_tokens = i;
		break;
	case R_COST:
		if (any_dbl(v, &d)) {
			sp->cost_usd = d;
			sp->flags |= RP_HAS_COST;
		}
		break;
	case R_TTFC:
		if (any_dbl(v, &d)) {
			sp->ttfc_s = (float)d;
			sp->flags |= RP_HAS_TTFC;
		}
		break;
	case R_INCL_CHILDREN:
		if (any_true(v))
			sp->flags |= RP_USAGE_CHILDREN;
		break;
	case R_FINISH:
		if (v->type == V_STR) {
			/* one string, or several joined with ',' */
			const char *p = v->s.p, *end = v->s.p + v->s.n, *c;

			for (; p <= end; p = c + 1) {
				c = memchr(p, ',', (size_t)(end - p));
				if (!c)
					c = end;
				if ((c - p == 10 && !memcmp(p, "max_tokens", 10)) ||
				    (c - p == 6 && !memcmp(p, "length", 6)))
					sp->flags |= RP_MAX_TOKENS;
			}
		} else if (v->type == V_ARR) {
			/* the flag comes from the join below, done either way */
			val = any_str(r, v, &max_tokens);
			if (r->j.why)
				return false;
			if (max_tokens)
				sp->flags |= RP_MAX_TOKENS;
			return pair_add(r, &r->pairs, &r->n_pairs, &r->cap_pairs, key_id(r, e, key),
					val);
		}
		break;
	case R_GUARDRAIL:
		if (v->type == V_STR && v->s.n && !js_is(&v->s, "NONE"))
			sp->flags |= RP_GUARDRAIL;
		break;
	case R_HTTP_STATUS:
		if (any_int(v, &i) && i == 429)
			sp->flags |= RP_THROTTLED;
		break;
	case R_RETRY:
		if (any_int(v, &i) && i > 0)
			sp->flags |= RP_RETRY;
		break;
	case R_CAP_TRUNC:
		if (any_true(v))
			sp->flags |= RP_TRUNCATED;
		break;
	case R_LOST_BYTES:
		if (any_int(v, &i) && i > 0)
			sp->flags |= RP_TRUNCATED;
		break;
	case R_SPAN_INCOMPLETE:
		if (any_true(v))
			sp->flags |= RP_INCOMPLETE;
		break;
	default:
		break;
	}
	if (!((e && e->keep) || r->o->keep_all_attrs))
		return true;
	val = any_str(r, v, NULL);
	if (r->j.why)
		return false;
	return pair_add(r, &r->pairs, &r->n_pairs, &r->cap_pairs, key_id(r, e, key), val);
}

static uint64_t pairs_hash(const struct pair *p, size_t n)
{
	return fnv1a(p, n * sizeof(*p)) | 1;
}

static bool set_equal(const struct rp_dataset *ds, uint32_t set, const struct pair *p, size_t n)
{
	const struct rp_attr_set *s;

	if (set >= ds->n_attr_sets)
		return false;
	s = &ds->attr_sets[set];
	return s->n == n && s->first + n <= ds->n_attrs &&
	       !memcmp(&ds->attrs[s->first], p, n * sizeof(*p));
}

/*
 * The attribute set of span @idx: r->pairs, shared with an earlier span holding the same.
 * r->sets is an open-addressing table of set indexes (hash recomputed from the set).
 */
static bool attach_attrs(struct reader *r, size_t idx)
{
	struct rp_dataset *ds = r->ds;
	uint64_t h;
	size_t i, j;
	uint32_t *nt;

	_Static_assert(sizeof(struct pair) == sizeof(struct rp_attr), "pairs are rp_attrs");
	if (!r->n_pairs)
		return true;
	h = pairs_hash(r->pairs, r->n_pairs);
	if (r->cap_sets) {
		for (i = h & (r->cap_sets - 1); r->sets[i]; i = (i + 1) & (r->cap_sets - 1))
			if (set_equal(ds, r->sets[i], r->pairs, r->n_pairs)) {
				ds->spans[idx].attrs = r->sets[i];
				return true;
			}
	}
	for (j = 0; j < r->n_pairs; j++)
		if (rp_add_attr(ds, idx, r->pairs[j].key, r->pairs[j].value)) {
			r->enomem = true;
			return js_fail(&r->j, "out of memory");
		}
	if (2 * (r->n_sets + 1) > r->cap_sets) {
		size_t cap = r->cap_sets ? 2 * r->cap_sets : 1024;
		const struct rp_attr_set *s;

		nt = calloc(cap, sizeof(*nt));
		if (!nt)
			return true; /* not shared: still correct */
		for (j = 0; j < r->cap_sets; j++) {
			if (!r->sets[j] || r->sets[j] >= ds->n_attr_sets)
				continue;
			s = &ds->attr_sets[r->sets[j]];
			if (s->first + s->n > ds->n_attrs)
				continue;
			for (i = pairs_hash((const struct pair *)&ds->attrs[s->first], s->n) &
				 (cap - 1);
			     nt[i]; i = (i + 1) & (cap - 1))
				;
			nt[i] = r->sets[j];
		}
		free(r->sets);
		r->sets = nt;
		r->cap_sets = cap;
	}
	for (i = h & (r->cap_sets - 1); r->sets[i]; i = (i + 1) & (r->cap_sets - 1))
		;
	r->sets[i] = ds->spans[idx].attrs;
	r->n_sets++;
	return true;
}

static bool span(struct reader *r)
{
	struct rp_span sp, *out;
	struct js_sv k, s, key;
	struct any v;
	bool first = true, afirst, tid = false, sid = false, st = false, en = false;
	int kind = 0, code = 0;
	size_t i, j, n_own;

	memset(&sp, 0, sizeof(sp));
	r->n_pairs = 0;
	if (!js_obj_open(&r->j))
		return false;
	while (js_obj_next(&r->j, &first, &k)) {
		if (js_is(&k, "traceId") || js_is(&k, "spanId") || js_is(&k, "parentSpanId")) {
			js_ws(&r->j);
			if (r->j.p < r->j.end && *r->j.p == 'n') {
				if (!js_word(&r->j, "null", 4))
					return false;
				continue; /* absent */
			}
			if (!js_str(&r->j, &s))
				return false;
			if (k.p[0] == 't') {
				if (!(tid = hex_id(&s, sp.trace_id, 16)))
					return js_fail(&r->j, "a bad traceId");
			} else if (k.p[0] == 's') {
				if (!(sid = hex_id(&s, sp.span_id, 8)))
					return js_fail(&r->j, "a bad spanId");
			} else if (s.n && !hex_id(&s, sp.parent_id, 8)) {
				return js_fail(&r->j, "a bad parentSpanId");
			}
		} else if (js_is(&k, "name")) {
			if (!js_str(&r->j, &s))
				return false;
			sp.name = rp_intern_n(r->ds, s.p, s.n);
			if (js_is(&s, ATTR_BEDTRACE_CAPTURE_LOSS))
				sp.flags |= RP_LOSS_RECORD;
		} else if (js_is(&k, "kind")) {
			if (!enum_value(r, kind_names, 6, &kind, "a bad span kind"))
				return false;
		} else if (js_is(&k, "startTimeUnixNano")) {
			if (!u64_value(r, &sp.start_ns, "a bad startTimeUnixNano"))
				return false;
			st = true;
		} else if (js_is(&k, "endTimeUnixNano")) {
			if (!u64_value(r, &sp.end_ns, "a bad endTimeUnixNano"))
				return false;
			en = true;
		} else if (js_is(&k, "attributes")) {
			afirst = true;
			if (!js_arr_open(&r->j))
				return false;
			while (js_arr_next(&r->j, &afirst))
				if (!key_value(r, &key, &v) || !span_attr(r, &sp, &key, &v))
					return false;
			if (r->j.why)
				return false;
		} else if (js_is(&k, "status")) {
			if (!status(r, &code))
				return false;
		} else if (!js_skip(&r->j)) {
			return false;
		}
	}
	if (r->j.why)
		return false;
	if (!tid || !sid)
		return js_fail(&r->j, tid ? "a span without spanId" : "a span without traceId");
	if (!st || !en)
		return js_fail(&r->j, "a span without start or end time");
	if (sp.end_ns < sp.start_ns)
		return js_fail(&r->j, "a span that ends before it starts");
	sp.kind = (uint8_t)kind;
	if (code == 2)
		sp.flags |= RP_ERROR;
	sp.service = r->service;
	sp.host = r->host;
	sp.pid = r->pid;
	sp.file = r->file;
	/* the resource's kept attributes, unless the span has the key itself */
	n_own = r->n_pairs;
	for (i = 0; i < r->n_rpairs; i++) {
		for (j = 0; j < n_own && r->pairs[j].key != r->rpairs[i].key; j++)
			;
		if (j == n_own && !pair_add(r, &r->pairs, &r->n_pairs, &r->cap_pairs,
					    r->rpairs[i].key, r->rpairs[i].value))
			return false;
	}
	if (r->ds->oom || !(out = rp_add_span(r->ds))) {
		r->enomem = true;
		return js_fail(&r->j, "out of memory");
	}
	*out = sp;
	return attach_attrs(r, r->ds->n_spans - 1);
}

static bool scope_spans(struct reader *r)
{
	struct js_sv k;
	bool first = true, sfirst;

	if (!js_obj_open(&r->j))
		return false;
	while (js_obj_next(&r->j, &first, &k)) {
		if (!js_is(&k, "spans")) {
			if (!js_skip(&r->j))
				return false;
			continue;
		}
		sfirst = true;
		if (!js_arr_open(&r->j))
			return false;
		while (js_arr_next(&r->j, &sfirst))
			if (!span(r))
				return false;
	}
	return !r->j.why;
}

static bool scope_spans_array(struct reader *r)
{
	bool first = true;

	if (!js_arr_open(&r->j))
		return false;
	while (js_arr_next(&r->j, &first))
		if (!scope_spans(r))
			return false;
	return !r->j.why;
}

static bool is_scope_spans(const struct js_sv *k)
{
	/* instrumentationLibrarySpans: the name before OTLP 0.15, in older collectors' files */
	return js_is(k, "scopeSpans") || js_is(k, "instrumentationLibrarySpans");
}

/*
 * The resource must be known before the spans are stored. Writers put it first; when a
 * scopeSpans comes before it, the rest of the object is scanned for the resource first.
 */
static bool find_resource(struct reader *r)
{
	const char *save = r->j.p;
	int depth = r->j.depth;
	struct js_sv k;
	bool first = false;

	if (!js_skip(&r->j))
		return false;
	while (js_obj_next(&r->j, &first, &k)) {
		if (js_is(&k, "resource")) {
			if (!resource(r))
				return false;
			r->have_resource = true;
		} else if (!js_skip(&r->j)) {
			return false;
		}
	}
	if (r->j.why)
		return false;
	r->j.p = save;
	r->j.depth = depth;
	return true;
}

static bool resource_spans(struct reader *r)
{
	struct js_sv k;
	bool first = true;

	r->service = r->host = 0;
	r->pid = 0;
	r->n_rpairs = 0;
	r->have_resource = false;
	if (!js_obj_open(&r->j))
		return false;
	while (js_obj_next(&r->j, &first, &k)) {
		if (js_is(&k, "resource")) {
			if (r->have_resource ? !js_skip(&r->j) : !resource(r))
				return false;
			r->have_resource = true;
		} else if (is_scope_spans(&k)) {
			if (!r->have_resource) {
				if (!find_resource(r))
					return false;
				r->have_resource = true;
			}
			if (!scope_spans_array(r))
				return false;
		} else if (!js_skip(&r->j)) {
			return false;
		}
	}
	return !r->j.why;
}

static bool request(struct reader *r)
{
	struct js_sv k;
	bool first = true, found = false, rfirst;

	if (!js_obj_open(&r->j))
		return false;
	while (js_obj_next(&r->j, &first, &k)) {
		if (!js_is(&k, "resourceSpans")) {
			if (!js_skip(&r->j))
				return false;
			continue;
		}
		found = true;
		rfirst = true;
		if (!js_arr_open(&r->j))
			return false;
		while (js_arr_next(&r->j, &rfirst))
			if (!resource_spans(r))
				return false;
	}
	if (r->j.why)
		return false;
	js_ws(&r->j);
	if (r->j.p != r->j.end)
		return js_fail(&r->j, "text after the JSON object");
	if (!found)
		return js_fail(&r->j, "no resourceSpans");
	return true;
}

/* ---- lines and files ---- */

/* Bytes of a file, plain or gunzipped as they come. */
struct src {
	FILE *f;
	bool gz, in_eof, member_end, done;
	z_stream z;
	unsigned char *in;
	const char *error; /* why the file could not be read to its end */
	int err;	   /* its -errno */
};

static int src_open(struct src *s, FILE *f)
{
	size_t n;

	memset(s, 0, sizeof(*s));
	s->f = f;
	s->in = malloc(GZ_IN_CHUNK);
	if (!s->in)
		return -ENOMEM;
	n = fread(s->in, 1, GZ_IN_CHUNK, f);
	if (!n && ferror(f))
		return -EIO;
	s->in_eof = n < GZ_IN_CHUNK && (feof(f) || ferror(f));
	if (ferror(f))
		return -EIO;
	s->z.next_in = s->in;
	s->z.avail_in = (uInt)n;
	if (n >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
		s->gz = true;
		/* 16 + MAX_WBITS: a gzip header and trailer around the deflate data */
		if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
			return -ENOMEM;
	}
	return 0;
}

static void src_close(struct src *s)
{
	if (s->gz)
		inflateEnd(&s->z);
	free(s->in);
}

static bool src_fill(struct src *s)
{
	size_t n;

	if (s->z.avail_in || s->in_eof)
		return s->z.avail_in > 0;
	n = fread(s->in, 1, GZ_IN_CHUNK, s->f);
	if (ferror(s->f)) {
		s->err = -EIO;
		s->error = "read error";
		s->in_eof = true;
		return false;
	}
	if (!n)
		s->in_eof = true;
	s->z.next_in = s->in;
	s->z.avail_in = (uInt)n;
	return n > 0;
}

/* Up to @cap bytes into @dst; 0 at the end or on an error (s->err). */
static size_t src_read(struct src *s, char *dst, size_t cap)
{
	size_t n;
	int ret;

	if (!s->gz) {
		if (s->z.avail_in) {
			n = cap < s->z.avail_in ? cap : s->z.avail_in;
			memcpy(dst, s->z.next_in, n);
			s->z.next_in += n;
			s->z.avail_in -= (uInt)n;
			return n;
		}
		if (s->in_eof)
			return 0;
		n = fread(dst, 1, cap, s->f);
		if (ferror(s->f)) {
			s->err = -EIO;
			s->error = "read error";
			return 0;
		}
		if (!n)
			s->in_eof = true;
		return n;
	}
	while (!s->done) {
		if (s->member_end) {
			/* another gzip member may follow (cat a.gz b.gz > c.gz) */
			if (!src_fill(s)) {
				s->done = true;
				break;
			}
			if (s->z.next_in[0] != 0x1f) {
				s->error = "bytes after the gzip data (ignored)";
				s->done = true;
				break;
			}
			inflateReset(&s->z);
			s->member_end = false;
		}
		if (!s->z.avail_in && !src_fill(s) && s->err) {
			s->done = true;
			break;
		}
		s->z.next_out = (unsigned char *)dst;
		s->z.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
		ret = inflate(&s->z, Z_NO_FLUSH);
		n = cap - s->z.avail_out;
		if (ret == Z_STREAM_END) {
			s->member_end = true;
		} else if (ret == Z_BUF_ERROR || ret == Z_OK) {
			if (!n && !s->z.avail_in && s->in_eof) {
				s->err = -EIO;
				s->error = "gzip data ends early (a truncated file?)";
				s->done = true;
			}
		} else {
			s->err = -EIO;
			s->error = s->z.msg ? s->z.msg : "corrupt gzip data";
			s->done = true;
		}
		if (n)
			return n;
	}
	return 0;
}

static const char *shown(const char *name)
{
	return strcmp(name, "-") ? name : "stdin";
}

/* One line (without its newline; @line[@len] is writable). */
static void rd_line(struct reader *r, char *line, size_t len, const char *name, uint64_t lineno,
		    uint64_t *bad)
{
	struct rp_dataset *ds = r->ds;
	size_t n_spans = ds->n_spans, n_attrs = ds->n_attrs, n_sets = ds->n_attr_sets;
	const char *p = line, *end = line + len;

	if (lineno == 1 && len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3; /* a UTF-8 byte order mark */
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p == end)
		return; /* blank lines are not records */
	ds->lines++;
	/* decoded strings are never longer than their text: the line's size bounds the arena */
	if (grow(&r->j.arena, &r->j.arena_cap, len, 1)) {
		r->enomem = true;
		return;
	}
	js_begin(&r->j, p, end);
	if (request(r))
		return;
	if (r->enomem) {
		ds->oom = true;
		return;
	}
	/* the line's spans are taken back; strings it interned stay, unused */
	ds->n_spans = n_spans;
	ds->n_attrs = n_attrs;
	ds->n_attr_sets = n_sets;
	ds->bad_lines++;
	if (!(*bad)++)
		pr_warn("%s:%llu: not an OTLP JSON trace request (%s)\n", shown(name),
			(unsigned long long)lineno, r->j.why);
}

static int rd_stream(struct reader *r, FILE *f, const char *name)
{
	struct rp_dataset *ds = r->ds;
	struct src s;
	char *buf = NULL, *nl, *files, **nf;
	size_t cap = 0, len = 0, pos = 0, scan = 0, n;
	uint64_t lineno = 0, bad = 0;
	bool eof = false;
	int err;

	/* the file's index first: spans name it */
	files = strdup(name);
	nf = files ? realloc(ds->files, (ds->n_files + 1) * sizeof(*nf)) : NULL;
	if (!nf) {
		free(files);
		ds->oom = true;
		pr_warn("%s: out of memory\n", shown(name));
		return -ENOMEM;
	}
	ds->files = nf;
	ds->files[ds->n_files] = files;
	r->file = (uint32_t)ds->n_files++;
	err = src_open(&s, f);
	if (err) {
		pr_warn("%s: %s\n", shown(name), strerror(-err));
		src_close(&s);
		return err;
	}
	for (;;) {
		nl = len > scan ? memchr(buf + scan, '\n', len - scan) : NULL;
		if (nl || (eof && pos < len)) {
			if (!nl)
				nl = buf + len;
			rd_line(r, buf + pos, (size_t)(nl - (buf + pos)), name, ++lineno, &bad);
			if (r->enomem)
				break;
			pos = scan = (size_t)(nl - buf) + (nl < buf + len);
			continue;
		}
		if (eof)
			break;
		if (pos) {
			memmove(buf, buf + pos, len - pos);
			len -= pos;
			pos = 0;
		}
		scan = len;
		if (cap - len < READ_CHUNK / 2 && grow(&buf, &cap, len + READ_CHUNK, 1)) {
			r->enomem = true;
			break;
		}
		n = src_read(&s, buf + len, cap - len);
		if (!n) {
			eof = true;
			if (s.err)
				len = scan = pos; /* a partial line of a broken file is no record */
		}
		len += n;
	}
	free(buf);
	if (bad > 1)
		pr_warn("%s: %llu malformed lines skipped\n", shown(name), (unsigned long long)bad);
	err = 0;
	if (r->enomem) {
		pr_warn("%s: out of memory\n", shown(name));
		err = -ENOMEM;
	} else if (s.error) {
		pr_warn("%s: %s after line %llu\n", shown(name), s.error,
			(unsigned long long)lineno);
		err = s.err;
	}
	src_close(&s);
	return err;
}

static void rd_free(struct reader *r)
{
	free(r->j.arena);
	free(r->join);
	free(r->rpairs);
	free(r->pairs);
	free(r->sets);
}

int rp_read_stream(struct rp_dataset *ds, FILE *f, const char *name, const struct rp_read_opts *o)
{
	static const struct rp_read_opts none;
	struct reader r = {.ds = ds, .o = o ? o : &none};
	int err;

	keys_init(&r);
	err = rd_stream(&r, f, name);
	rd_free(&r);
	return err;
}

int rp_read(struct rp_dataset *ds, const char *const *paths, size_t n, const struct rp_read_opts *o)
{
	static const struct rp_read_opts none;
	struct reader r = {.ds = ds, .o = o ? o : &none};
	struct stat st;
	int err = 0, e, fd;
	size_t i;
	FILE *f;

	/* every file opens before any is read: a typo fails now, not after a gigabyte */
	for (i = 0; i < n; i++) {
		if (!strcmp(paths[i], "-"))
			continue;
		fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) || S_ISDIR(st.st_mode)) {
			e = fd < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : errno;
			if (fd >= 0)
				close(fd);
			pr_warn("%s: %s\n", paths[i], strerror(e));
			return -e;
		}
		close(fd);
	}
	keys_init(&r);
	for (i = 0; i < n && !ds->oom; i++) {
		f = strcmp(paths[i], "-") ? fopen(paths[i], "rb") : stdin;
		if (!f) {
			e = -errno;
			pr_warn("%s: %s\n", paths[i], strerror(-e));
		} else {
			e = rd_stream(&r, f, paths[i]);
			if (f != stdin)
				fclose(f);
		}
		if (e && !err)
			err = e;
	}
	rd_free(&r);
	return err;
}
