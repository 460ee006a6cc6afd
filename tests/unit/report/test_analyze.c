// SPDX-License-Identifier: MIT
/*
 * Tests for user/report/analyze.c on datasets built span by span: self time and critical path on
 * hand-made trees, percentiles against exact values, tokens counted once, every finding kind,
 * regressions (a slowdown is significant, noise is not), --by rows, the filter's keep.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/sketch.h"

#define MS 1000000ull

static void tid(uint8_t *id, uint64_t n)
{
	memset(id, 0, 16);
	id[0] = 0xab; /* never all zero */
	memcpy(id + 8, &n, sizeof(n));
}

static void sid(uint8_t *id, uint64_t n)
{
	memcpy(id, &n, sizeof(n));
}

/* A span of trace @t, id @s, parent @p (0: root), [start, end) in ms; returns its index. */
static size_t span(struct rp_dataset *ds, uint64_t t, uint64_t s, uint64_t p, double start,
		   double end, const char *name)
{
	struct rp_span *sp = rp_add_span(ds);

	assert_non_null(sp);
	tid(sp->trace_id, t);
	sid(sp->span_id, s);
	if (p)
		sid(sp->parent_id, p);
	sp->start_ns = 1700000000000ull * MS + (uint64_t)(start * MS);
	sp->end_ns = 1700000000000ull * MS + (uint64_t)(end * MS);
	sp->name = rp_intern(ds, name);
	sp->service = rp_intern(ds, "svc");
	sp->host = rp_intern(ds, "host-a");
	sp->kind = 1;
	return ds->n_spans - 1;
}

static struct rp_span *model_call(struct rp_dataset *ds, uint64_t t, uint64_t s, double ms,
				  const char *model, const char *op)
{
	size_t i = span(ds, t, s, 0, 0, ms, op);
	struct rp_span *sp = &ds->spans[i];

	sp->kind = 3;
	sp->model = rp_intern(ds, model);
	sp->operation = rp_intern(ds, op);
	return sp;
}

static const struct rp_operation *op_named(const struct rp_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_ops; i++)
		if (!strcmp(r->ops[i].name, name))
			return &r->ops[i];
	return NULL;
}

static const struct rp_model *model_row(const struct rp_result *r, const char *m, const char *op)
{
	size_t i;

	for (i = 0; i < r->n_models; i++)
		if (!strcmp(r->models[i].model, m) && !strcmp(r->models[i].operation, op))
			return &r->models[i];
	return NULL;
}

static const struct rp_finding *finding(const struct rp_result *r, const char *kind)
{
	size_t i;

	for (i = 0; i < r->n_findings; i++)
		if (!strcmp(r->findings[i].kind, kind))
			return &r->findings[i];
	return NULL;
}

static bool lists_trace(const struct rp_finding *f, uint64_t t)
{
	uint8_t id[16];
	size_t i;

	tid(id, t);
	for (i = 0; i < f->n_traces; i++)
		if (!memcmp(f->trace_ids[i], id, 16))
			return true;
	return false;
}

static void assert_near(double got, double want)
{
	if (fabs(got - want) > 1e-6 * (fabs(want) + 1)) {
		print_error("got %.9g want %.9g\n", got, want);
		fail();
	}
}

/*
 * Trace 1:  R [0,100]
 *             A [10,50]         (overlaps B)
 *               A1 [20,30]
 *             B [40,90]
 *               B1 [60,120]     (outlives B and R)
 * Trace 2 (no root: X's parent was not captured):
 *             X [0,50] parent 99
 *               Y [10,60]
 *             Z [0,20] parent 98
 */
static void build_trees(struct rp_dataset *ds)
{
	span(ds, 1, 1, 0, 0, 100, "R");
	span(ds, 1, 2, 1, 10, 50, "A");
	span(ds, 1, 4, 2, 20, 30, "A1");
	span(ds, 1, 3, 1, 40, 90, "B");
	span(ds, 1, 5, 3, 60, 120, "B1");
	span(ds, 2, 10, 99, 0, 50, "X");
	span(ds, 2, 11, 10, 10, 60, "Y");
	span(ds, 2, 12, 98, 0, 20, "Z");
}

static void test_analyze_self_time(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_result r;

	(void)state;
	build_trees(&ds);
	assert_int_equal(rp_analyze(&ds, NULL, &r), 0);
	assert_int_equal(r.spans, 8);
	assert_int_equal(r.traces, 2);
	assert_int_equal(r.n_ops, 8);
	/* R: 100 minus A (40) and B (50), overlapping or not */
	assert_near(op_named(&r, "R")->self_ms, 10);
	assert_near(op_named(&r, "A")->self_ms, 30);
	/* B: 50 minus B1 clipped to B's interval [60,90] */
	assert_near(op_named(&r, "B")->self_ms, 20);
	assert_near(op_named(&r, "B1")->self_ms, 60);
	assert_near(op_named(&r, "A1")->self_ms, 10);
	assert_near(op_named(&r, "X")->self_ms, 10);
	assert_near(op_named(&r, "Y")->self_ms, 50);
	assert_near(op_named(&r, "B")->total_ms, 50);
	/* share: over the root's 100 ms; trace 2's time is its extent, 60 ms */
	assert_near(op_named(&r, "R")->share, 1.0);
	assert_near(op_named(&r, "B1")->share, 0.6);
	assert_near(op_named(&r, "Y")->share, 50.0 / 60);
	/* sorted by total time */
	assert_string_equal(r.ops[0].name, "R");
	assert_string_equal(r.ops[1].name, "B1");
	rp_result_free(&r);
	rp_dataset_free(&ds);
}

static void test_analyze_critical_path(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_result r;
	uint8_t id[16];

	(void)state;
	build_trees(&ds);
	assert_int_equal(rp_analyze(&ds, NULL, &r), 0);
	assert_int_equal(r.n_slowest, 2);
	tid(id, 1);
	assert_memory_equal(r.slowest[0].trace_id, id, 16);
	assert_near(r.slowest[0].duration_ms, 100);
	assert_string_equal(r.slowest[0].root, "R");
	assert_string_equal(r.slowest[0].service, "svc");
	/*
	 * Walking back from R's end: B ran last (B1 inside it bounds B's end), and before B
	 * started at 40, A was running (A1 inside it): all of them bound R's end. In time order.
	 */
	assert_int_equal(r.slowest[0].n_critical, 5);
	assert_string_equal(r.slowest[0].critical_path[0], "R");
	assert_string_equal(r.slowest[0].critical_path[1], "A");
	assert_string_equal(r.slowest[0].critical_path[2], "A1");
	assert_string_equal(r.slowest[0].critical_path[3], "B");
	assert_string_equal(r.slowest[0].critical_path[4], "B1");
	/* no root: the extent, and the path from the top span that ends last */
	assert_near(r.slowest[1].duration_ms, 60);
	assert_string_equal(r.slowest[1].root, "X");
	assert_int_equal(r.slowest[1].n_critical, 2);
	assert_string_equal(r.slowest[1].critical_path[0], "X");
	assert_string_equal(r.slowest[1].critical_path[1], "Y");
	rp_result_free(&r);
	rp_dataset_free(&ds);
}

/* More traces than asked for: the N longest, longest first; a parent cycle ends the walk. */
static void test_analyze_slowest_n(void **state)
{
	struct rp_analyze_opts o = {.n_slowest = 3};
	struct rp_dataset ds = {0};
	struct rp_result r;
	uint64_t t;

	(void)state;
	for (t = 1; t <= 50; t++)
		span(&ds, t, 1, 0, 0, (double)((t * 37) % 50 + 1), "req");
	/* a cycle: 2 -> 3 -> 2 under root 1 */
	span(&ds, 60, 1, 0, 0, 1000, "top");
	span(&ds, 60, 2, 3, 0, 10, "c2");
	span(&ds, 60, 3, 2, 0, 20, "c3");
	assert_int_equal(rp_analyze(&ds, &o, &r), 0);
	assert_int_equal(r.n_slowest, 3);
	assert_near(r.slowest[0].duration_ms, 1000);
	assert_int_equal(r.slowest[0].n_critical, 1);
	assert_near(r.slowest[1].duration_ms, 50);
	assert_near(r.slowest[2].duration_ms, 49);
	rp_result_free(&r);
	rp_dataset_free(&ds);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentiles of one operation against the exact nearest-rank values, both sketch modes. */
static void check_op_percentiles(size_t n)
{
	double *v = malloc(n * sizeof(*v)), sum = 0;
	const unsigned p[] = {50, 90, 99};
	struct rp_dataset ds = {0};
	const struct rp_operation *op;
	struct rp_result r;
	uint64_t rng = n;
	size_t i, j;

	assert_non_null(v);
	for (i = 0; i < n; i++) {
		/* whole microseconds, so the ms value of the span is exactly v[i] */
		v[i] = (double)(1 + sk_rand(&rng) % 5000000) / 1000;
		span(&ds, i + 1, 1, 0, 0, v[i], "op");
		sum += v[i];
	}
	assert_int_equal(rp_analyze(&ds, NULL, &r), 0);
	qsort(v, n, sizeof(*v), cmp_double);
	op = op_named(&r, "op");
	assert_non_null(op);
	assert_int_equal(op->count, n);
	for (j = 0; j < 3; j++) {
		double want = v[(p[j] * n + 99) / 100 - 1];
		double got = j == 0 ? op->p50_ms : j == 1 ? op->p90_ms : op->p99_ms;

		if (n <= SK_EXACT)
			assert_near(got, want);
		else
			assert_true(fabs(got - want) <= 0.01 * want);
	}
	assert_near(op->max_ms, v[n - 1]);
	assert_near(op->total_ms, sum);
	assert_near(op->mean_ms, sum / n);
	rp_result_free(&r);
	rp_dataset_free(&ds);
	free(v);
}

static void test_analyze_percentiles(void **state)
{
	(void)state;
	check_op_percentiles(100);
	check_op_percentiles(3000);
	check_op_percentiles(20000);
}

/* An agent's usage sums its model calls': counted once. */
static void test_analyze_tokens_once(void **state)
{
	struct rp_dataset ds = {0};
	const struct rp_model *chat, *agent;
	struct rp_span *sp;
	struct rp_result r;
	int i;

	(void)state;
	sp = model_call(&ds, 1, 1, 5000, "claude", "invoke_agent");
	sp->flags = RP_USAGE_CHILDREN | RP_HAS_TOKENS | RP_HAS_COST;
	sp->input_tokens = 300;
	sp->output_tokens = 30;
	sp->cost_usd = 0.03;
	for (i = 0; i < 3; i++) {
		sp = model_call(&ds, 1, 2 + i, 1000, "claude", "chat");
		sid(sp->parent_id, 1);
		sp->flags = RP_HAS_TOKENS | RP_HAS_COST;
		sp->input_tokens = 100;
		sp->output_tokens = 10;
		sp->cache_read_tokens = 7;
		sp->cache_write_tokens = 3;
		sp->cost_usd = 0.01;
	}
	sp = model_call(&ds, 2, 1, 10, "titan", "embeddings");
	assert_int_equal(rp_analyze(&ds, NULL, &r), 0);
	assert_int_equal(r.n_models, 3);
	chat = model_row(&r, "claude", "chat");
	agent = model_row(&r, "claude", "invoke_agent");
	assert_non_null(chat);
	assert_non_null(agent);
	assert_int_equal(chat->calls, 3);
	assert_int_equal(chat->input_tokens, 300);
	assert_int_equal(chat->output_tokens, 30);
	assert_int_equal(chat->cache_read_tokens, 21);
	assert_int_equal(chat->cache_write_tokens, 9);
	assert_near(chat->cost_usd, 0.03);
	assert_true(chat->has_cost);
	assert_int_equal(agent->calls, 1);
	assert_int_equal(agent->input_tokens, 0);
	assert_near(agent->cost_usd, 0);
	assert_false(agent->has_cost);
	assert_near(agent->p50_ms, 5000);
	/* no streamed call: NaN */
	assert_true(isnan(chat->ttfc_p50_ms) && isnan(chat->ttfc_p99_ms));
	assert_false(model_row(&r, "titan", "embeddings")->has_cost);
	/* by cost, then calls */
	assert_string_equal(r.models[0].operation, "chat");
	assert_string_equal(r.models[1].operation, "invoke_agent");
	assert_string_equal(r.models[2].model, "titan");
	rp_result_free(&r);
	rp_dataset_free(&ds);
}

static void test_analyze_findings(void **state)
{
	static const char *const order[] = {
	    "max_tokens", "guardrail",	      "throttled",	    "input_token_outlier",
	    "error",	  "slow_first_chunk", "incomplete_capture",
	};
	const struct rp_finding *f;
	struct rp_dataset ds = {0};
	struct rp_span *sp;
	struct rp_result r;
	size_t i;
	int k;

	(void)state;
	model_call(&ds, 1, 1, 10, "m", "chat")->flags = RP_MAX_TOKENS;
	model_call(&ds, 2, 1, 10, "m", "chat")->flags = RP_GUARDRAIL;
	model_call(&ds, 3, 1, 10, "m", "chat")->flags = RP_THROTTLED | RP_ERROR;
	model_call(&ds, 3, 2, 10, "m", "chat")->flags = RP_THROTTLED | RP_RETRY;
	/* six ordinary calls of 100 input tokens and one of 1000 (10x the median) */
	for (k = 0; k < 7; k++) {
		sp = model_call(&ds, 4, 10 + k, 10, "m", "chat");
		sp->flags |= RP_HAS_TOKENS;
		sp->input_tokens = k == 6 ? 1000 : 100;
	}
	/* 999 tokens in another model with the same median: below 10x */
	for (k = 0; k < 7; k++) {
		sp = model_call(&ds, 40, 10 + k, 10, "m2", "chat");
		sp->flags |= RP_HAS_TOKENS;
		sp->input_tokens = k == 6 ? 999 : 100;
	}
	/* 4 calls only: too few to judge an outlier */
	for (k = 0; k < 4; k++) {
		sp = model_call(&ds, 41, 10 + k, 10, "m3", "chat");
		sp->flags |= RP_HAS_TOKENS;
		sp->input_tokens = k == 3 ? 100000 : 100;
	}
	span(&ds, 5, 1, 0, 0, 10, "handler");
	ds.spans[ds.n_spans - 1].flags = RP_ERROR;
	/* under 20 streamed calls: above twice the median (100 ms) */
	for (k = 0; k < 10; k++) {
		sp = model_call(&ds, 6, 10 + k, 1000, "s", "chat");
		sp->flags |= RP_HAS_TTFC;
		sp->ttfc_s = k == 9 ? 0.25f : k == 8 ? 0.19f : 0.1f;
	}
	/* 100 streamed calls of 1..100 ms: the one above the p99 (99 ms) */
	for (k = 0; k < 100; k++) {
		sp = model_call(&ds, 100 + k, 1, 1000, "p", "chat");
		sp->flags |= RP_HAS_TTFC;
		sp->ttfc_s = (float)(k + 1) / 1000;
	}
	span(&ds, 7, 1, 0, 0, 10, "cut");
	ds.spans[ds.n_spans - 1].flags = RP_TRUNCATED;
	span(&ds, 8, 1, 0, 0, 10, "open");
	ds.spans[ds.n_spans - 1].flags = RP_INCOMPLETE;
	assert_int_equal(rp_analyze(&ds, NULL, &r), 0);
	assert_int_equal(r.n_findings, 7);
	for (i = 0; i < 7; i++)
		assert_string_equal(r.findings[i].kind, order[i]);
	f = finding(&r, "max_tokens");
	assert_true(f->count == 1 && f->n_traces == 1 && lists_trace(f, 1));
	f = finding(&r, "guardrail");
	assert_true(f->count == 1 && lists_trace(f, 2));
	/* two spans, one trace */
	f = finding(&r, "throttled");
	assert_true(f->count == 2 && f->n_traces == 1 && lists_trace(f, 3));
	assert_int_equal(model_row(&r, "m", "chat")->throttles, 2);
	assert_int_equal(model_row(&r, "m", "chat")->retries, 1);
	assert_int_equal(model_row(&r, "m", "chat")->errors, 1);
	f = finding(&r, "input_token_outlier");
	assert_true(f->count == 1 && f->n_traces == 1 && lists_trace(f, 4));
	f = finding(&r, "error");
	assert_true(f->count == 2 && f->n_traces == 2 && lists_trace(f, 3) && lists_trace(f, 5));
	f = finding(&r, "slow_first_chunk");
	assert_int_equal(f->count, 2);
	assert_true(lists_trace(f, 6) && lists_trace(f, 199) && !lists_trace(f, 198));
	assert_near(model_row(&r, "p", "chat")->ttfc_p99_ms, 99);
	assert_near(model_row(&r, "p", "chat")->ttfc_p50_ms, 50);
	f = finding(&r, "incomplete_capture");
	assert_true(f->count == 2 && lists_trace(f, 7) && lists_trace(f, 8));
	rp_result_free(&r);
	rp_dataset_free(&ds);
}

/* Only kinds seen are listed; the trace list is capped, the count is not. */
static void test_analyze_findings_capped(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_result r;
	uint64_t t;

	(void)state;
	for (t = 1; t <= 150; t++) {
		span(&ds, t, 1, 0, 0, 10, "h");
		ds.spans[ds.n_spans - 1].flags = RP_ERROR;
	}
	assert_int_equal(rp_analyze(&ds, NULL, &r), 0);
	assert_int_equal(r.n_findings, 1);
	assert_string_equal(r.findings[0].kind, "error");
	assert_int_equal(r.findings[0].count, 150);
	assert_int_equal(r.findings[0].n_traces, 100);
	assert_int_equal(op_named(&r, "h")->errors, 150);
	rp_result_free(&r);
	rp_dataset_free(&ds);
}

static double lognormal(uint64_t *rng, double median)
{
	double u = (double)(sk_rand(rng) >> 11) / 9007199254740992.0;
	double w = (double)(sk_rand(rng) >> 11) / 9007199254740992.0;

	return median * exp(0.4 * sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * w));
}

/* @n calls of operation "call" and model "m" (median @median ms, noise) under seed @seed. */
static void capture(struct rp_dataset *ds, size_t n, double median, uint64_t seed, double cost)
{
	uint64_t rng = seed;
	size_t i;

	for (i = 0; i < n; i++) {
		struct rp_span *sp = model_call(ds, i + 1, 1, lognormal(&rng, median), "m", "call");

		sp->flags |= RP_HAS_COST;
		sp->cost_usd = cost;
	}
	/* too few samples to compare */
	for (i = 0; i < 4; i++)
		span(ds, 100000 + i, 1, 0, 0, 10, "rare");
}

static const struct rp_regression *reg(const struct rp_result *r, const char *kind)
{
	size_t i;

	for (i = 0; i < r->n_regressions; i++)
		if (!strcmp(r->regressions[i].kind, kind))
			return &r->regressions[i];
	return NULL;
}

static void test_analyze_regression_slowdown(void **state)
{
	struct rp_dataset base = {0}, now = {0};
	struct rp_analyze_opts o = {.baseline = &base};
	const struct rp_regression *g;
	struct rp_result r;

	(void)state;
	capture(&base, 3000, 100, 1, 0.002);
	/* intern in another order, so the ids differ between the datasets */
	rp_intern(&now, "unrelated");
	capture(&now, 3000, 130, 2, 0.003);
	assert_int_equal(rp_analyze(&now, &o, &r), 0);
	assert_int_equal(r.n_regressions, 2);
	g = reg(&r, "client");
	assert_non_null(g);
	assert_string_equal(g->service, "svc");
	assert_string_equal(g->name, "call");
	assert_true(g->significant);
	assert_true(g->p50_ratio > 1.2 && g->p50_ratio < 1.4);
	assert_true(g->ci_lo > 1.0 && g->ci_lo <= g->p50_ratio && g->ci_hi >= g->p50_ratio);
	assert_true(g->p50_ms > g->baseline_p50_ms && g->p99_ms > g->baseline_p99_ms);
	assert_near(g->baseline_cost_per_call, 0.002);
	assert_near(g->cost_per_call, 0.003);
	g = reg(&r, "model");
	assert_non_null(g);
	assert_string_equal(g->name, "m");
	assert_string_equal(g->service, "call");
	assert_true(g->significant);
	rp_result_free(&r);
	rp_dataset_free(&base);
	rp_dataset_free(&now);
}

static void test_analyze_regression_noise(void **state)
{
	struct rp_dataset base = {0}, now = {0}, fast = {0};
	struct rp_analyze_opts o = {.baseline = &base};
	size_t i;
	struct rp_result r;

	(void)state;
	capture(&base, 3000, 100, 3, 0.002);
	capture(&now, 3000, 100, 4, 0.002);
	assert_int_equal(rp_analyze(&now, &o, &r), 0);
	assert_int_equal(r.n_regressions, 2);
	for (i = 0; i < r.n_regressions; i++) {
		assert_false(r.regressions[i].significant);
		assert_true(fabs(r.regressions[i].p50_ratio - 1) < 0.05);
		assert_true(r.regressions[i].ci_lo < 1 && r.regressions[i].ci_hi > 1);
	}
	rp_result_free(&r);
	/* a faster capture is significant too; significant rows come first */
	capture(&fast, 3000, 60, 5, 0.002);
	for (i = 0; i < 10; i++)
		span(&fast, 200000 + i, 1, 0, 0, 10, "rare");
	for (i = 0; i < 10; i++)
		span(&base, 200000 + i, 1, 0, 0, 10, "rare");
	assert_int_equal(rp_analyze(&fast, &o, &r), 0);
	assert_int_equal(r.n_regressions, 3);
	assert_true(r.regressions[0].significant && r.regressions[1].significant);
	assert_true(r.regressions[0].p50_ratio < 0.7);
	assert_false(r.regressions[2].significant);
	assert_string_equal(r.regressions[2].name, "rare");
	assert_true(isnan(r.regressions[2].cost_per_call));
	rp_result_free(&r);
	rp_dataset_free(&base);
	rp_dataset_free(&now);
	rp_dataset_free(&fast);
}

static void test_analyze_by(void **state)
{
	struct rp_analyze_opts o = {.by = {"host", "service.version", "pid"}, .n_by = 3};
	struct rp_dataset ds = {0};
	rp_str ver = 0, v1, v2;
	struct rp_result r;
	size_t i, sp;

	(void)state;
	ver = rp_intern(&ds, "service.version");
	v1 = rp_intern(&ds, "1.0");
	v2 = rp_intern(&ds, "2.0");
	for (i = 0; i < 6; i++) {
		sp = span(&ds, i + 1, 1, 0, 0, 10.0 * (i + 1), "GET");
		ds.spans[sp].host = rp_intern(&ds, i % 2 ? "host-b" : "host-a");
		ds.spans[sp].pid = 42;
		if (i < 4)
			assert_int_equal(rp_add_attr(&ds, sp, ver, i < 2 ? v1 : v2), 0);
	}
	assert_int_equal(rp_analyze(&ds, &o, &r), 0);
	assert_int_equal(r.n_by, 3);
	assert_string_equal(r.by_keys[0], "host");
	assert_string_equal(r.by_keys[1], "service.version");
	/* (a,1.0) (b,1.0) (a,2.0) (b,2.0) (a,-) (b,-) */
	assert_int_equal(r.n_ops, 6);
	for (i = 0; i < r.n_ops; i++) {
		assert_string_equal(r.ops[i].name, "GET");
		assert_int_equal(r.ops[i].count, 1);
		assert_string_equal(r.ops[i].by[2], "42");
	}
	/* the largest total first: span 6 (host-b, no version) */
	assert_string_equal(r.ops[0].by[0], "host-b");
	assert_null(r.ops[0].by[1]);
	assert_string_equal(r.ops[5].by[0], "host-a");
	assert_string_equal(r.ops[5].by[1], "1.0");
	assert_int_equal(r.n_hosts, 2);
	assert_string_equal(r.hosts[0], "host-a");
	assert_string_equal(r.hosts[1], "host-b");
	assert_int_equal(r.n_services, 1);
	rp_result_free(&r);
	/* by host only: two rows */
	o.n_by = 1;
	assert_int_equal(rp_analyze(&ds, &o, &r), 0);
	assert_int_equal(r.n_ops, 2);
	assert_int_equal(r.ops[0].count + r.ops[1].count, 6);
	assert_string_equal(r.ops[0].by[0], "host-b");
	assert_near(r.ops[0].total_ms, 20 + 40 + 60);
	rp_result_free(&r);
	rp_dataset_free(&ds);
}

/* The filter's keep, and loss records: neither an operation nor a model call. */
static void test_analyze_keep_and_loss(void **state)
{
	struct rp_analyze_opts o = {0};
	struct rp_dataset ds = {0};
	struct rp_result r;
	bool keep[5];
	size_t i;

	(void)state;
	span(&ds, 1, 1, 0, 0, 10, "a");
	span(&ds, 1, 2, 1, 0, 5, "b");
	span(&ds, 2, 1, 0, 0, 1000, "c");
	span(&ds, 3, 1, 0, 0, 20, "a");
	i = span(&ds, 4, 1, 0, 0, 5000, "bedtrace.capture.loss");
	ds.spans[i].flags = RP_LOSS_RECORD | RP_TRUNCATED;
	ds.spans[i].host = rp_intern(&ds, "host-z");
	for (i = 0; i < 5; i++)
		keep[i] = i != 2;
	o.keep = keep;
	assert_int_equal(rp_analyze(&ds, &o, &r), 0);
	assert_int_equal(r.spans, 4);
	assert_int_equal(r.traces, 3);
	assert_int_equal(r.n_ops, 2);
	assert_null(op_named(&r, "c"));
	assert_null(op_named(&r, "bedtrace.capture.loss"));
	assert_int_equal(op_named(&r, "a")->count, 2);
	/* the loss record's trace is not an application trace */
	assert_int_equal(r.n_slowest, 2);
	assert_near(r.slowest[0].duration_ms, 20);
	assert_int_equal(r.n_findings, 1);
	assert_string_equal(r.findings[0].kind, "incomplete_capture");
	assert_int_equal(r.n_hosts, 2);
	rp_result_free(&r);
	rp_dataset_free(&ds);
}

/* A deep trace: no recursion, every span's self time and the whole chain as critical path;
 * kinds 0 (unspecified) and 1 are one "internal" row. */
static void test_analyze_deep_trace(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_result r;
	const size_t n = 100000;
	size_t i;

	(void)state;
	for (i = 0; i < n; i++) {
		size_t sp = span(&ds, 1, i + 1, i, (double)i, (double)(2 * n - i), "level");

		ds.spans[sp].kind = i % 2 ? 0 : 1;
	}
	assert_int_equal(rp_analyze(&ds, NULL, &r), 0);
	assert_int_equal(r.n_ops, 1);
	assert_string_equal(r.ops[0].kind, "internal");
	/* 1 ms at each end of every span but the innermost */
	assert_near(r.ops[0].self_ms, 2.0 * (n - 1) + 2);
	assert_int_equal(r.n_slowest, 1);
	assert_int_equal(r.slowest[0].n_critical, n);
	rp_result_free(&r);
	rp_dataset_free(&ds);
}

static void test_analyze_empty(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_result r;

	(void)state;
	assert_int_equal(rp_analyze(&ds, NULL, &r), 0);
	assert_int_equal(r.spans, 0);
	assert_int_equal(r.n_ops + r.n_models + r.n_slowest + r.n_findings + r.n_hosts, 0);
	rp_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_analyze_self_time),
	    cmocka_unit_test(test_analyze_critical_path),
	    cmocka_unit_test(test_analyze_slowest_n),
	    cmocka_unit_test(test_analyze_percentiles),
	    cmocka_unit_test(test_analyze_tokens_once),
	    cmocka_unit_test(test_analyze_findings),
	    cmocka_unit_test(test_analyze_findings_capped),
	    cmocka_unit_test(test_analyze_regression_slowdown),
	    cmocka_unit_test(test_analyze_regression_noise),
	    cmocka_unit_test(test_analyze_by),
	    cmocka_unit_test(test_analyze_keep_and_loss),
	    cmocka_unit_test(test_analyze_deep_trace),
	    cmocka_unit_test(test_analyze_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
