// SPDX-License-Identifier: MIT
/*
 * The JSON contract of `bedtrace report --format json` (README "bedtrace report": the keys
 * are read by tests, scripts and users' tools; add keys, never rename), and the spans of chosen
 * traces as JSON for the page's waterfalls. A value the result does not have (NaN, no cost) is
 * null, never a made-up number.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/out.h"
#include "report/report.h"
#include "util/jbuf.h"

/* A JSON number, or null when there is none (NaN). */
static void num(struct jbuf *b, double d)
{
	if (isnan(d) || isinf(d))
		JB_LIT(b, "null");
	else
		jb_double(b, d);
}

static void u64(struct jbuf *b, uint64_t v)
{
	char s[24];

	jb_put(b, s, (size_t)snprintf(s, sizeof(s), "%" PRIu64, v));
}

static void i64(struct jbuf *b, int64_t v)
{
	char s[24];

	jb_put(b, s, (size_t)snprintf(s, sizeof(s), "%" PRId64, v));
}

/* "key": with a key that may need escaping (--by attribute keys come from the user). */
static void dyn_key(struct jbuf *b, bool first, const char *key)
{
	if (!first)
		JB_LIT(b, ",");
	jb_str(b, key);
	JB_LIT(b, ":");
}

static void str_or_null(struct jbuf *b, const char *s)
{
	if (s)
		jb_str(b, s);
	else
		JB_LIT(b, "null");
}

static void str_array(struct jbuf *b, const char *const *v, size_t n)
{
	size_t i;

	JB_LIT(b, "[");
	for (i = 0; i < n; i++) {
		if (i)
			JB_LIT(b, ",");
		jb_str(b, v[i]);
	}
	JB_LIT(b, "]");
}

/* The keys an operation row has anyway: a --by key of the same name is not repeated. */
static bool contract_op_key(const char *k)
{
	static const char *const keys[] = {"service",  "kind",	  "name",   "count",  "errors",
					   "p50_ms",   "p90_ms",  "p99_ms", "max_ms", "mean_ms",
					   "total_ms", "self_ms", "share",  "by"};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

static void operation(struct jbuf *b, const struct rp_result *r, const struct rp_operation *o)
{
	size_t k;

	jb_key(b, true, "service");
	str_or_null(b, o->service);
	jb_key(b, false, "kind");
	str_or_null(b, o->kind);
	jb_key(b, false, "name");
	str_or_null(b, o->name);
	jb_key(b, false, "count");
	u64(b, o->count);
	jb_key(b, false, "errors");
	u64(b, o->errors);
	jb_key(b, false, "p50_ms");
	num(b, o->p50_ms);
	jb_key(b, false, "p90_ms");
	num(b, o->p90_ms);
	jb_key(b, false, "p99_ms");
	num(b, o->p99_ms);
	jb_key(b, false, "max_ms");
	num(b, o->max_ms);
	jb_key(b, false, "mean_ms");
	num(b, o->mean_ms);
	jb_key(b, false, "total_ms");
	num(b, o->total_ms);
	jb_key(b, false, "self_ms");
	num(b, o->self_ms);
	jb_key(b, false, "share");
	num(b, o->share);
	for (k = 0; k < r->n_by && k < RP_MAX_BY; k++) {
		if (!r->by_keys[k] || contract_op_key(r->by_keys[k]))
			continue;
		dyn_key(b, false, r->by_keys[k]);
		str_or_null(b, o->by[k]);
	}
	if (r->n_by) {
		/* every --by value under its key, also those named like a contract key */
		jb_key(b, false, "by");
		JB_LIT(b, "{");
		for (k = 0; k < r->n_by && k < RP_MAX_BY; k++) {
			dyn_key(b, k == 0, r->by_keys[k] ? r->by_keys[k] : "");
			str_or_null(b, o->by[k]);
		}
		JB_LIT(b, "}");
	}
}

static void model(struct jbuf *b, const struct rp_model *m)
{
	jb_key(b, true, "model");
	str_or_null(b, m->model);
	jb_key(b, false, "operation");
	str_or_null(b, m->operation);
	jb_key(b, false, "calls");
	u64(b, m->calls);
	jb_key(b, false, "errors");
	u64(b, m->errors);
	jb_key(b, false, "throttles");
	u64(b, m->throttles);
	jb_key(b, false, "retries");
	u64(b, m->retries);
	jb_key(b, false, "input_tokens");
	i64(b, m->input_tokens);
	jb_key(b, false, "output_tokens");
	i64(b, m->output_tokens);
	jb_key(b, false, "cache_read_input_tokens");
	i64(b, m->cache_read_tokens);
	jb_key(b, false, "cache_creation_input_tokens");
	i64(b, m->cache_write_tokens);
	jb_key(b, false, "cost_usd");
	num(b, m->has_cost ? m->cost_usd : NAN);
	jb_key(b, false, "p50_ms");
	num(b, m->p50_ms);
	jb_key(b, false, "p99_ms");
	num(b, m->p99_ms);
	jb_key(b, false, "ttfc_p50_ms");
	num(b, m->ttfc_p50_ms);
	jb_key(b, false, "ttfc_p99_ms");
	num(b, m->ttfc_p99_ms);
}

static void regression(struct jbuf *b, const struct rp_regression *g)
{
	jb_key(b, true, "service");
	str_or_null(b, g->service);
	jb_key(b, false, "kind");
	str_or_null(b, g->kind);
	jb_key(b, false, "name");
	str_or_null(b, g->name);
	jb_key(b, false, "baseline_p50_ms");
	num(b, g->baseline_p50_ms);
	jb_key(b, false, "p50_ms");
	num(b, g->p50_ms);
	jb_key(b, false, "baseline_p99_ms");
	num(b, g->baseline_p99_ms);
	jb_key(b, false, "p99_ms");
	num(b, g->p99_ms);
	jb_key(b, false, "p50_ratio");
	num(b, g->p50_ratio);
	jb_key(b, false, "p50_ratio_ci");
	if (isnan(g->ci_lo) || isnan(g->ci_hi)) {
		JB_LIT(b, "null");
	} else {
		JB_LIT(b, "[");
		num(b, g->ci_lo);
		JB_LIT(b, ",");
		num(b, g->ci_hi);
		JB_LIT(b, "]");
	}
	jb_key(b, false, "significant");
	if (g->significant)
		JB_LIT(b, "true");
	else
		JB_LIT(b, "false");
	jb_key(b, false, "baseline_cost_per_call");
	num(b, g->baseline_cost_per_call);
	jb_key(b, false, "cost_per_call");
	num(b, g->cost_per_call);
}

static char *finish(struct jbuf *b)
{
	if (b->oom) {
		free(b->p);
		errno = ENOMEM;
		return NULL;
	}
	return b->p;
}

char *rp_result_json(const struct rp_result *r)
{
	struct jbuf b = {0};
	size_t i, k;

	JB_LIT(&b, "{");
	jb_key(&b, true, "spans");
	u64(&b, r->spans);
	jb_key(&b, false, "traces");
	u64(&b, r->traces);
	jb_key(&b, false, "hosts");
	str_array(&b, r->hosts, r->n_hosts);
	jb_key(&b, false, "services");
	str_array(&b, r->services, r->n_services);
	jb_key(&b, false, "by");
	str_array(&b, r->by_keys, r->n_by < RP_MAX_BY ? r->n_by : RP_MAX_BY);
	jb_key(&b, false, "operations");
	JB_LIT(&b, "[");
	for (i = 0; i < r->n_ops; i++) {
		jb_elem(&b, i == 0, "{");
		operation(&b, r, &r->ops[i]);
		JB_LIT(&b, "}");
	}
	JB_LIT(&b, "]");
	jb_key(&b, false, "models");
	JB_LIT(&b, "[");
	for (i = 0; i < r->n_models; i++) {
		jb_elem(&b, i == 0, "{");
		model(&b, &r->models[i]);
		JB_LIT(&b, "}");
	}
	JB_LIT(&b, "]");
	jb_key(&b, false, "slowest_traces");
	JB_LIT(&b, "[");
	for (i = 0; i < r->n_slowest; i++) {
		const struct rp_trace_ref *t = &r->slowest[i];

		jb_elem(&b, i == 0, "{");
		jb_key(&b, true, "trace_id");
		jb_hex(&b, t->trace_id, 16);
		jb_key(&b, false, "root");
		str_or_null(&b, t->root);
		jb_key(&b, false, "service");
		str_or_null(&b, t->service);
		jb_key(&b, false, "duration_ms");
		num(&b, t->duration_ms);
		jb_key(&b, false, "critical_path");
		str_array(&b, t->critical_path, t->n_critical);
		JB_LIT(&b, "}");
	}
	JB_LIT(&b, "]");
	jb_key(&b, false, "findings");
	JB_LIT(&b, "[");
	for (i = 0; i < r->n_findings; i++) {
		const struct rp_finding *f = &r->findings[i];

		jb_elem(&b, i == 0, "{");
		jb_key(&b, true, "kind");
		str_or_null(&b, f->kind);
		jb_key(&b, false, "count");
		u64(&b, f->count);
		jb_key(&b, false, "trace_ids");
		JB_LIT(&b, "[");
		for (k = 0; k < f->n_traces; k++) {
			if (k)
				JB_LIT(&b, ",");
			jb_hex(&b, f->trace_ids[k], 16);
		}
		JB_LIT(&b, "]}");
	}
	JB_LIT(&b, "]");
	jb_key(&b, false, "regressions");
	JB_LIT(&b, "[");
	for (i = 0; i < r->n_regressions; i++) {
		jb_elem(&b, i == 0, "{");
		regression(&b, &r->regressions[i]);
		JB_LIT(&b, "}");
	}
	JB_LIT(&b, "]}");
	return finish(&b);
}

/* One span of the waterfalls, @t0 its trace's first start. */
static void span_json(struct jbuf *b, const struct rp_dataset *ds, const struct rp_span *s,
		      uint64_t t0)
{
	static const uint8_t zero[8];

	jb_key(b, true, "trace_id");
	jb_hex(b, s->trace_id, 16);
	jb_key(b, false, "span_id");
	jb_hex(b, s->span_id, 8);
	if (memcmp(s->parent_id, zero, sizeof(zero))) {
		jb_key(b, false, "parent_id");
		jb_hex(b, s->parent_id, 8);
	}
	jb_key(b, false, "name");
	jb_str(b, rp_str_of(ds, s->name));
	jb_key(b, false, "service");
	jb_str(b, rp_str_of(ds, s->service));
	jb_key(b, false, "host");
	jb_str(b, rp_str_of(ds, s->host));
	jb_key(b, false, "kind");
	jb_str(b, rp_kind_name(s->kind));
	jb_key(b, false, "start_ms");
	jb_double(b, (double)(s->start_ns - t0) / 1e6);
	jb_key(b, false, "duration_ms");
	jb_double(b, s->end_ns > s->start_ns ? (double)(s->end_ns - s->start_ns) / 1e6 : 0.0);
	jb_key(b, false, "error");
	if (s->flags & RP_ERROR)
		JB_LIT(b, "true");
	else
		JB_LIT(b, "false");
	jb_key(b, false, "attrs");
	JB_LIT(b, "{");
	if (s->attrs && s->attrs < ds->n_attr_sets) {
		const struct rp_attr_set *set = &ds->attr_sets[s->attrs];
		uint32_t i;

		for (i = 0; i < set->n; i++) {
			dyn_key(b, i == 0, rp_str_of(ds, ds->attrs[set->first + i].key));
			jb_str(b, rp_str_of(ds, ds->attrs[set->first + i].value));
		}
	}
	JB_LIT(b, "}");
}

char *rp_spans_json(const struct rp_dataset *ds, const uint8_t (*ids)[16], size_t n)
{
	struct rp_traces tl;
	struct jbuf b = {0};
	bool *done = NULL, first = true;
	size_t i, k, n_traces;

	if (rp_traces_build(ds, NULL, &tl)) {
		errno = ENOMEM;
		return NULL;
	}
	done = calloc(tl.n + 1, sizeof(*done));
	if (!done) {
		rp_traces_free(&tl);
		errno = ENOMEM;
		return NULL;
	}
	n_traces = ids ? n : tl.n;
	JB_LIT(&b, "[");
	/* traces in the order asked (each once), each trace's spans by start */
	for (i = 0; i < n_traces; i++) {
		const struct rp_trace *t = ids ? rp_traces_find(&tl, ids[i]) : &tl.t[i];

		if (!t || done[t - tl.t])
			continue;
		done[t - tl.t] = true;
		for (k = 0; k < t->n; k++) {
			jb_elem(&b, first, "{");
			first = false;
			span_json(&b, ds, &ds->spans[tl.order[t->first + k]], t->start_ns);
			JB_LIT(&b, "}");
		}
	}
	JB_LIT(&b, "]");
	free(done);
	rp_traces_free(&tl);
	return finish(&b);
}
