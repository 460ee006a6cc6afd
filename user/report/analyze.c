// SPDX-License-Identifier: MIT
/*
 * The analysis of `bedtrace report`: a dataset into operations, models, slowest traces,
 * findings and regressions (struct rp_result, see report.h).
 *
 * Spans are grouped by trace without copying them: a hash of trace ids gives each kept span its
 * trace number, a counting sort orders span indices by trace (first appearance), so the extra
 * memory is a few ints per span. Each trace is then walked once: parents are found by span id
 * within the trace, self time and trace duration computed, and every span added to its
 * operation's and model's group (quantile sketches, so memory stays bounded whatever the count).
 *
 * Loss records (RP_LOSS_RECORD) count in spans, traces, hosts and services and can show an
 * incomplete capture, but they are no operation, model call or slowest trace. The thresholds of
 * input_token_outlier and slow_first_chunk are those of the span's (model, operation) row.
 * Regressions order significant rows first, then the larger p50 ratio first.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/sketch.h"
#include "util/grow.h"

#define NS_PER_MS 1e6
/* trace ids listed per finding (its count is the full count) */
#define MAX_FINDING_TRACES 100
#define BOOT_RESAMPLES 1000
#define REG_MIN_SAMPLES 5
#define OUTLIER_MIN_CALLS 5
#define OUTLIER_FACTOR 10
#define TTFC_MIN_P99_CALLS 20

enum finding_kind {
	F_MAX_TOKENS,
	F_GUARDRAIL,
	F_THROTTLED,
	F_INPUT_OUTLIER,
	F_ERROR,
	F_SLOW_FIRST_CHUNK,
	F_INCOMPLETE,
	F_N,
};

static const char *const finding_names[F_N] = {
    "max_tokens", "guardrail",	      "throttled",	    "input_token_outlier",
    "error",	  "slow_first_chunk", "incomplete_capture",
};

enum by_what { BY_HOST, BY_SERVICE, BY_PID, BY_MODEL, BY_ATTR };

/* Group keys: up to 7 numbers (string ids, kind, pid). */
#define KEY_N 7

struct table {
	uint32_t *slot; /* group index + 1, 0 = empty */
	size_t size;	/* power of two */
};

struct op_group {
	uint64_t key[KEY_N]; /* service, kind, name, by values */
	struct sk_sketch sk;
	uint64_t errors;
	double self_ms, trace_ms;
	uint32_t last_trace; /* trace number + 1 whose time trace_ms last counted */
};

struct model_group {
	uint64_t key[KEY_N]; /* model, operation */
	struct sk_sketch dur, ttfc, input;
	uint64_t errors, throttles, retries;
	int64_t in_tok, out_tok, cache_read, cache_write;
	double cost;
	bool has_cost;
	double input_median, ttfc_limit; /* the findings' thresholds (NaN: none) */
};

struct finding_acc {
	uint64_t count;
	uint8_t (*ids)[16];
	size_t n_ids;
	uint32_t last_trace;
};

/* Per-trace scratch, sized for the largest trace. */
struct scratch {
	struct sid {
		uint64_t id;
		uint32_t i;
	} * sid;
	int32_t *parent; /* local index of the parent, -1: none in the trace */
	double *self_ns;
};

struct ctx {
	const struct rp_dataset *ds;
	const struct rp_analyze_opts *o;
	enum by_what by[RP_MAX_BY];
	rp_str by_key[RP_MAX_BY];
	size_t n_by;
	/* traces */
	uint32_t *order, *start; /* span indices by trace; trace t is order[start[t]..start[t+1]) */
	size_t n_traces, max_trace;
	struct scratch s;
	/* groups */
	struct table op_tab, model_tab;
	struct op_group *ops;
	size_t n_ops, cap_ops;
	struct model_group *models;
	size_t n_models, cap_models;
	struct finding_acc f[F_N];
	/* the slowest traces, by duration descending */
	struct slow {
		uint32_t trace;
		double ms;
	} * slow;
	size_t n_slow;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static uint64_t id8(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

static bool is_zero8(const uint8_t *b)
{
	return !id8(b);
}

static uint64_t span_ns(const struct rp_span *sp)
{
	return sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0;
}

static bool kept(const struct ctx *c, size_t i)
{
	return !c->o->keep || c->o->keep[i];
}

static const char *kind_name(uint8_t kind)
{
	static const char *const names[] = {"internal", "internal", "server",
					    "client",	"producer", "consumer"};

	/* OTLP: an unspecified kind is internal */
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "internal";
}

/* The kind a row is keyed by: unspecified and unknown kinds are internal, as they print. */
static uint8_t norm_kind(uint8_t kind)
{
	return kind >= 1 && kind <= 5 ? kind : 1;
}

/* --- hash tables of groups ------------------------------------------------------------ */

static uint64_t key_hash(const uint64_t *k)
{
	uint64_t h = 0;
	int i;

	for (i = 0; i < KEY_N; i++)
		h = mix(h ^ k[i]) + (uint64_t)i;
	return h;
}

/* Finds the group of @key among @groups (each @size bytes, the key first); -1 when absent
 * (*@slot: where it goes). */
static long tab_find(const struct table *t, const void *groups, size_t size, const uint64_t *key,
		     size_t *slot)
{
	size_t h;

	for (h = key_hash(key) & (t->size - 1); t->slot[h]; h = (h + 1) & (t->size - 1)) {
		const uint64_t *gk =
		    (const uint64_t *)((const char *)groups + (t->slot[h] - 1) * size);

		if (!memcmp(gk, key, KEY_N * sizeof(*key)))
			return (long)t->slot[h] - 1;
	}
	*slot = h;
	return -1;
}

static int tab_rehash(struct table *t, const void *groups, size_t size, size_t n)
{
	size_t ns = t->size ? t->size * 2 : 256, i, h;
	uint32_t *slot = calloc(ns, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const uint64_t *gk = (const uint64_t *)((const char *)groups + i * size);

		for (h = key_hash(gk) & (ns - 1); slot[h]; h = (h + 1) & (ns - 1))
			;
		slot[h] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->size = ns;
	return 0;
}

/*
 * The index of the group of @key in *@groups (n/cap, elements of @size bytes whose first member
 * is the key), added zeroed if new. -1 on ENOMEM.
 */
static long group_of(struct table *t, void *groups, size_t *n, size_t *cap, size_t size,
		     const uint64_t *key)
{
	void **arr = groups;
	size_t slot;
	long g;

	if (2 * (*n + 1) > t->size && tab_rehash(t, *arr, size, *n))
		return -1;
	g = tab_find(t, *arr, size, key, &slot);
	if (g >= 0)
		return g;
	if (grow(arr, cap, *n + 1, size))
		return -1;
	memset((char *)*arr + *n * size, 0, size);
	memcpy((char *)*arr + *n * size, key, KEY_N * sizeof(*key));
	t->slot[slot] = (uint32_t)++ * n;
	return (long)*n - 1;
}

/* --- traces --------------------------------------------------------------------------- */

static uint64_t trace_hash(const uint8_t *id)
{
	return mix(id8(id) ^ mix(id8(id + 8)));
}

/* Orders the kept spans by trace (c->order, c->start, c->n_traces). */
static int group_traces(struct ctx *c)
{
	const struct rp_dataset *ds = c->ds;
	uint32_t *tn = NULL, *first = NULL, *slot = NULL, t;
	size_t n = ds->n_spans, size = 1024, cap_first = 0, i, h, nt = 0;
	int err = -ENOMEM;

	tn = malloc((n ? n : 1) * sizeof(*tn));
	slot = calloc(size, sizeof(*slot));
	if (!tn || !slot)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const uint8_t *id = ds->spans[i].trace_id;

		tn[i] = UINT32_MAX;
		if (!kept(c, i))
			continue;
		for (h = trace_hash(id) & (size - 1); slot[h]; h = (h + 1) & (size - 1))
			if (!memcmp(ds->spans[first[slot[h] - 1]].trace_id, id, 16))
				break;
		if (slot[h]) {
			tn[i] = slot[h] - 1;
			continue;
		}
		if (grow(&first, &cap_first, nt + 1, sizeof(*first)))
			goto cleanup;
		first[nt] = (uint32_t)i;
		slot[h] = (uint32_t)nt + 1;
		tn[i] = (uint32_t)nt++;
		if (2 * nt > size) {
			uint32_t *ns = calloc(size * 2, sizeof(*ns));

			if (!ns)
				goto cleanup;
			size *= 2;
			for (t = 0; t < nt; t++) {
				for (h = trace_hash(ds->spans[first[t]].trace_id) & (size - 1);
				     ns[h]; h = (h + 1) & (size - 1))
					;
				ns[h] = t + 1;
			}
			free(slot);
			slot = ns;
		}
	}
	free(slot);
	slot = NULL;
	free(first);
	first = NULL;
	/* counting sort: stable, so a trace's spans keep their order in the files */
	c->start = calloc(nt + 2, sizeof(*c->start));
	if (!c->start)
		goto cleanup;
	for (i = 0; i < n; i++)
		if (tn[i] != UINT32_MAX)
			c->start[tn[i] + 2]++;
	for (t = 0; t < nt; t++) {
		if (c->start[t + 2] > c->max_trace)
			c->max_trace = c->start[t + 2];
		c->start[t + 2] += c->start[t + 1];
	}
	c->order = malloc((c->start[nt + 1] ? c->start[nt + 1] : 1) * sizeof(*c->order));
	if (!c->order)
		goto cleanup;
	for (i = 0; i < n; i++)
		if (tn[i] != UINT32_MAX)
			c->order[c->start[tn[i] + 1]++] = (uint32_t)i;
	c->n_traces = nt;
	err = 0;
cleanup:
	free(tn);
	free(first);
	free(slot);
	return err;
}

static int cmp_sid(const void *a, const void *b)
{
	const struct sid *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* The local index of span id @id among the @n sorted ids, or -1. */
static int32_t find_sid(const struct sid *s, size_t n, uint64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && s[lo].id == id ? (int32_t)s[lo].i : -1;
}

/* Fills c->s.parent for the @n spans @idx of one trace. */
static void link_parents(struct ctx *c, const uint32_t *idx, size_t n)
{
	const struct rp_span *sp = c->ds->spans;
	size_t i, j;

	if (n <= 8) {
		for (i = 0; i < n; i++) {
			c->s.parent[i] = -1;
			if (is_zero8(sp[idx[i]].parent_id))
				continue;
			for (j = 0; j < n; j++)
				if (j != i &&
				    !memcmp(sp[idx[j]].span_id, sp[idx[i]].parent_id, 8)) {
					c->s.parent[i] = (int32_t)j;
					break;
				}
		}
		return;
	}
	for (i = 0; i < n; i++) {
		c->s.sid[i].id = id8(sp[idx[i]].span_id);
		c->s.sid[i].i = (uint32_t)i;
	}
	qsort(c->s.sid, n, sizeof(*c->s.sid), cmp_sid);
	for (i = 0; i < n; i++) {
		int32_t p = -1;

		if (!is_zero8(sp[idx[i]].parent_id))
			p = find_sid(c->s.sid, n, id8(sp[idx[i]].parent_id));
		c->s.parent[i] = p == (int32_t)i ? -1 : p;
	}
}

/*
 * The span (local index) that stands for the trace: the longest root (no parent id), or when
 * there is none, -1 and the trace's extent in *@ns. Loss records are not the application's.
 */
static int32_t trace_root(const struct ctx *c, const uint32_t *idx, size_t n, uint64_t *ns,
			  bool *any)
{
	const struct rp_span *sp = c->ds->spans;
	uint64_t lo = UINT64_MAX, hi = 0;
	int32_t root = -1;
	size_t i;

	*any = false;
	for (i = 0; i < n; i++) {
		const struct rp_span *s = &sp[idx[i]];

		if (s->flags & RP_LOSS_RECORD)
			continue;
		*any = true;
		if (s->start_ns < lo)
			lo = s->start_ns;
		if (s->end_ns > hi)
			hi = s->end_ns;
		if (!is_zero8(s->parent_id))
			continue;
		if (root < 0 || span_ns(s) > span_ns(&sp[idx[root]]) ||
		    (span_ns(s) == span_ns(&sp[idx[root]]) && s->start_ns < sp[idx[root]].start_ns))
			root = (int32_t)i;
	}
	if (root >= 0)
		*ns = span_ns(&sp[idx[root]]);
	else
		*ns = *any && hi > lo ? hi - lo : 0;
	return root;
}

/* --- per-span accounting -------------------------------------------------------------- */

static rp_str attr_id(const struct rp_dataset *ds, const struct rp_span *sp, rp_str key)
{
	const struct rp_attr_set *set;
	uint32_t i;

	if (!key || !sp->attrs || sp->attrs >= ds->n_attr_sets)
		return 0;
	set = &ds->attr_sets[sp->attrs];
	for (i = 0; i < set->n; i++)
		if (ds->attrs[set->first + i].key == key)
			return ds->attrs[set->first + i].value;
	return 0;
}

static void op_key(const struct ctx *c, const struct rp_span *sp, uint64_t *k)
{
	size_t b;

	memset(k, 0, KEY_N * sizeof(*k));
	k[0] = sp->service;
	k[1] = norm_kind(sp->kind);
	k[2] = sp->name;
	for (b = 0; b < c->n_by; b++) {
		switch (c->by[b]) {
		case BY_HOST:
			k[3 + b] = sp->host;
			break;
		case BY_SERVICE:
			k[3 + b] = sp->service;
			break;
		case BY_PID:
			k[3 + b] = sp->pid;
			break;
		case BY_MODEL:
			k[3 + b] = sp->model;
			break;
		case BY_ATTR:
			k[3 + b] = attr_id(c->ds, sp, c->by_key[b]);
			break;
		}
	}
}

static void model_key(const struct rp_span *sp, uint64_t *k)
{
	memset(k, 0, KEY_N * sizeof(*k));
	k[0] = sp->model;
	k[1] = sp->operation;
}

static int finding_add(struct finding_acc *f, const uint8_t *trace_id, uint32_t trace)
{
	f->count++;
	if (f->last_trace == trace + 1)
		return 0;
	f->last_trace = trace + 1;
	if (f->n_ids >= MAX_FINDING_TRACES)
		return 0;
	if (!f->ids && !(f->ids = malloc(MAX_FINDING_TRACES * sizeof(*f->ids))))
		return -ENOMEM;
	memcpy(f->ids[f->n_ids++], trace_id, 16);
	return 0;
}

static int add_model_span(struct ctx *c, const struct rp_span *sp)
{
	struct model_group *m;
	uint64_t k[KEY_N];
	long g;

	model_key(sp, k);
	g = group_of(&c->model_tab, &c->models, &c->n_models, &c->cap_models, sizeof(*c->models),
		     k);
	if (g < 0)
		return -ENOMEM;
	m = &c->models[g];
	if (sk_add(&m->dur, (double)span_ns(sp) / NS_PER_MS))
		return -ENOMEM;
	m->errors += !!(sp->flags & RP_ERROR);
	m->throttles += !!(sp->flags & RP_THROTTLED);
	m->retries += !!(sp->flags & RP_RETRY);
	if ((sp->flags & RP_HAS_TTFC) && sk_add(&m->ttfc, sp->ttfc_s * 1000.0))
		return -ENOMEM;
	if ((sp->flags & RP_HAS_TOKENS) && sk_add(&m->input, (double)sp->input_tokens))
		return -ENOMEM;
	/* an agent's usage sums its children's: counted once, on the children */
	if (sp->flags & RP_USAGE_CHILDREN)
		return 0;
	if (sp->flags & RP_HAS_TOKENS) {
		m->in_tok += sp->input_tokens;
		m->out_tok += sp->output_tokens;
		m->cache_read += sp->cache_read_tokens;
		m->cache_write += sp->cache_write_tokens;
	}
	if (sp->flags & RP_HAS_COST) {
		m->cost += sp->cost_usd;
		m->has_cost = true;
	}
	return 0;
}

static int add_slowest(struct ctx *c, uint32_t trace, double ms)
{
	size_t k = c->o->n_slowest ? c->o->n_slowest : 10, i;
	const struct rp_span *sp = c->ds->spans;

	if (!c->slow && !(c->slow = calloc(k, sizeof(*c->slow))))
		return -ENOMEM;
	/* ties: the smaller trace id first, so the choice does not depend on file order */
	for (i = c->n_slow; i > 0; i--) {
		const struct slow *p = &c->slow[i - 1];

		if (p->ms > ms ||
		    (p->ms == ms && memcmp(sp[c->order[c->start[p->trace]]].trace_id,
					   sp[c->order[c->start[trace]]].trace_id, 16) < 0))
			break;
	}
	if (i >= k)
		return 0;
	memmove(&c->slow[i + 1], &c->slow[i],
		((c->n_slow < k ? c->n_slow : k - 1) - i) * sizeof(*c->slow));
	c->slow[i].trace = trace;
	c->slow[i].ms = ms;
	if (c->n_slow < k)
		c->n_slow++;
	return 0;
}

/* Pass one over trace @t: operations, models, trace time and the flag findings. */
static int walk_trace(struct ctx *c, uint32_t t)
{
	const struct rp_span *sp = c->ds->spans;
	const uint32_t *idx = &c->order[c->start[t]];
	size_t n = c->start[t + 1] - c->start[t], i;
	uint64_t trace_ns;
	bool any;
	int32_t p;

	link_parents(c, idx, n);
	trace_root(c, idx, n, &trace_ns, &any);
	for (i = 0; i < n; i++)
		c->s.self_ns[i] = (double)span_ns(&sp[idx[i]]);
	for (i = 0; i < n; i++) {
		const struct rp_span *s = &sp[idx[i]], *ps;
		uint64_t lo, hi;

		if ((p = c->s.parent[i]) < 0)
			continue;
		/* the child's time inside its parent's interval */
		ps = &sp[idx[p]];
		lo = s->start_ns > ps->start_ns ? s->start_ns : ps->start_ns;
		hi = s->end_ns < ps->end_ns ? s->end_ns : ps->end_ns;
		if (hi > lo)
			c->s.self_ns[p] -= (double)(hi - lo);
	}
	for (i = 0; i < n; i++) {
		const struct rp_span *s = &sp[idx[i]];
		struct op_group *og;
		uint64_t k[KEY_N];
		long g;

		if ((s->flags & (RP_TRUNCATED | RP_INCOMPLETE)) &&
		    finding_add(&c->f[F_INCOMPLETE], s->trace_id, t))
			return -ENOMEM;
		if (s->flags & RP_LOSS_RECORD)
			continue;
		op_key(c, s, k);
		g = group_of(&c->op_tab, &c->ops, &c->n_ops, &c->cap_ops, sizeof(*c->ops), k);
		if (g < 0)
			return -ENOMEM;
		og = &c->ops[g];
		if (sk_add(&og->sk, (double)span_ns(s) / NS_PER_MS))
			return -ENOMEM;
		og->errors += !!(s->flags & RP_ERROR);
		if (c->s.self_ns[i] > 0)
			og->self_ms += c->s.self_ns[i] / NS_PER_MS;
		if (og->last_trace != t + 1) {
			og->last_trace = t + 1;
			og->trace_ms += (double)trace_ns / NS_PER_MS;
		}
		if (s->model && add_model_span(c, s))
			return -ENOMEM;
		if (((s->flags & RP_MAX_TOKENS) &&
		     finding_add(&c->f[F_MAX_TOKENS], s->trace_id, t)) ||
		    ((s->flags & RP_GUARDRAIL) &&
		     finding_add(&c->f[F_GUARDRAIL], s->trace_id, t)) ||
		    ((s->flags & RP_THROTTLED) &&
		     finding_add(&c->f[F_THROTTLED], s->trace_id, t)) ||
		    ((s->flags & RP_ERROR) && finding_add(&c->f[F_ERROR], s->trace_id, t)))
			return -ENOMEM;
	}
	if (any && add_slowest(c, t, (double)trace_ns / NS_PER_MS))
		return -ENOMEM;
	return 0;
}

/* Pass two over trace @t: the findings judged against a model's distribution. */
static int judge_trace(struct ctx *c, uint32_t t)
{
	const struct rp_span *sp = c->ds->spans;
	size_t i;

	for (i = c->start[t]; i < c->start[t + 1]; i++) {
		const struct rp_span *s = &sp[c->order[i]];
		const struct model_group *m;
		uint64_t k[KEY_N];
		size_t slot;
		long g;

		if (!s->model || (s->flags & RP_LOSS_RECORD))
			continue;
		model_key(s, k);
		g = tab_find(&c->model_tab, c->models, sizeof(*c->models), k, &slot);
		if (g < 0)
			continue;
		m = &c->models[g];
		if ((s->flags & RP_HAS_TOKENS) && !isnan(m->input_median) &&
		    (double)s->input_tokens >= OUTLIER_FACTOR * m->input_median &&
		    finding_add(&c->f[F_INPUT_OUTLIER], s->trace_id, t))
			return -ENOMEM;
		if ((s->flags & RP_HAS_TTFC) && !isnan(m->ttfc_limit) &&
		    s->ttfc_s * 1000.0 > m->ttfc_limit &&
		    finding_add(&c->f[F_SLOW_FIRST_CHUNK], s->trace_id, t))
			return -ENOMEM;
	}
	return 0;
}

static void model_thresholds(struct model_group *m)
{
	double med;

	m->input_median = NAN;
	m->ttfc_limit = NAN;
	/* a median of 0 tokens would make every call with a token an outlier */
	if (m->input.count >= OUTLIER_MIN_CALLS && (med = sk_quantile(&m->input, 50)) >= 1)
		m->input_median = med;
	if (m->ttfc.count >= TTFC_MIN_P99_CALLS)
		m->ttfc_limit = sk_quantile(&m->ttfc, 99);
	else if (m->ttfc.count)
		m->ttfc_limit = 2 * sk_quantile(&m->ttfc, 50);
}

/* Children of one span, sorted by end descending (the critical path walks back in time). */
static const struct rp_span *cp_spans;
static const uint32_t *cp_idx;

static int cmp_end_desc(const void *x, const void *y)
{
	const struct rp_span *a = &cp_spans[cp_idx[*(const int32_t *)x]];
	const struct rp_span *b = &cp_spans[cp_idx[*(const int32_t *)y]];

	if (a->end_ns != b->end_ns)
		return a->end_ns < b->end_ns ? 1 : -1;
	return a->start_ns < b->start_ns ? -1 : a->start_ns > b->start_ns;
}

struct cp_mark {
	uint64_t start;
	int32_t depth;
	int32_t i;
};

static int cmp_mark(const void *x, const void *y)
{
	const struct cp_mark *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->depth - b->depth;
}

/*
 * The critical path of trace @t: the spans that bound its root's end. Walking back from the
 * root's end, the child that was running last (its end clipped to the cursor) is on the path;
 * its own children are walked the same way, then the cursor moves to its start and the walk
 * goes on among the siblings that started before. Sequential steps (retrieve, then the model
 * call, then post-processing) are all on the path; a child overlapped by a later-ending one is
 * not. Names in time order, parents before their children.
 */
static int critical_path(struct ctx *c, uint32_t t, struct rp_trace_ref *tr)
{
	const struct rp_span *sp = c->ds->spans;
	const uint32_t *idx = &c->order[c->start[t]];
	size_t n = c->start[t + 1] - c->start[t], i, n_marks = 0, top = 0;
	int32_t *first = NULL, *kids = NULL, *next = NULL, root, p;
	struct cp_frame {
		int32_t i, depth;
		uint64_t cursor;
	} *stack = NULL;
	struct cp_mark *marks = NULL;
	bool any;
	uint64_t ns;
	int err = -ENOMEM;

	link_parents(c, idx, n);
	root = trace_root(c, idx, n, &ns, &any);
	if (root < 0) {
		/* no root: start from the top span (parent not captured) that ends last */
		for (i = 0; i < n; i++) {
			const struct rp_span *s = &sp[idx[i]];

			if (c->s.parent[i] >= 0 || (s->flags & RP_LOSS_RECORD))
				continue;
			if (root < 0 || s->end_ns > sp[idx[root]].end_ns)
				root = (int32_t)i;
		}
	}
	tr->root = root >= 0 ? rp_str_of(c->ds, sp[idx[root]].name) : NULL;
	tr->service = root >= 0 ? rp_str_of(c->ds, sp[idx[root]].service) : NULL;
	if (root < 0)
		return 0;
	first = calloc(n + 1, sizeof(*first));
	kids = malloc(n * sizeof(*kids));
	next = calloc(n, sizeof(*next));
	stack = malloc(n * sizeof(*stack));
	marks = malloc(n * sizeof(*marks));
	tr->critical_path = malloc(n * sizeof(*tr->critical_path));
	if (!first || !kids || !next || !stack || !marks || !tr->critical_path)
		goto out;
	/* children lists: first[p]..first[p+1] in kids, each sorted by end descending */
	for (i = 0; i < n; i++)
		if ((p = c->s.parent[i]) >= 0 && !(sp[idx[i]].flags & RP_LOSS_RECORD))
			first[p + 1]++;
	for (i = 0; i < n; i++)
		first[i + 1] += first[i];
	for (i = 0; i < n; i++)
		next[i] = first[i];
	for (i = 0; i < n; i++)
		if ((p = c->s.parent[i]) >= 0 && !(sp[idx[i]].flags & RP_LOSS_RECORD))
			kids[next[p]++] = (int32_t)i;
	cp_spans = sp;
	cp_idx = idx;
	for (i = 0; i < n; i++) {
		qsort(kids + first[i], (size_t)(first[i + 1] - first[i]), sizeof(*kids),
		      cmp_end_desc);
		next[i] = first[i];
	}
	/* each span enters the path at most once, so the stack never holds more than n */
	stack[top++] = (struct cp_frame){root, 0, sp[idx[root]].end_ns};
	marks[n_marks++] = (struct cp_mark){sp[idx[root]].start_ns, 0, root};
	while (top) {
		struct cp_frame *f = &stack[top - 1];
		int32_t k = -1;

		/* the next child running at the cursor, or ending before it */
		while (next[f->i] < first[f->i + 1]) {
			int32_t ch = kids[next[f->i]++];

			if (sp[idx[ch]].start_ns < f->cursor) {
				k = ch;
				break;
			}
		}
		if (k < 0 || n_marks >= n) {
			top--;
			continue;
		}
		marks[n_marks++] = (struct cp_mark){sp[idx[k]].start_ns, f->depth + 1, k};
		{
			uint64_t end =
			    sp[idx[k]].end_ns < f->cursor ? sp[idx[k]].end_ns : f->cursor;
			int32_t depth = f->depth + 1;

			f->cursor = sp[idx[k]].start_ns;
			stack[top++] = (struct cp_frame){k, depth, end};
		}
	}
	qsort(marks, n_marks, sizeof(*marks), cmp_mark);
	for (i = 0; i < n_marks; i++)
		tr->critical_path[tr->n_critical++] = rp_str_of(c->ds, sp[idx[marks[i].i]].name);
	err = 0;
out:
	free(first);
	free(kids);
	free(next);
	free(stack);
	free(marks);
	return err;
}

/* --- regressions ---------------------------------------------------------------------- */

struct reg_group {
	uint64_t key[KEY_N]; /* 0, service, kind, name | 1, model, operation */
	struct sk_sketch sk;
	struct sk_reservoir res;
	double cost;
	uint64_t n_cost;
};

struct reg_set {
	const struct rp_dataset *ds;
	struct table tab;
	struct reg_group *g;
	size_t n, cap;
};

static uint64_t str_seed(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull;
}

/* A seed from the group's strings, so a group's sample does not depend on the others. */
static uint64_t reg_seed(const struct rp_dataset *ds, const uint64_t *k, uint64_t side)
{
	uint64_t h = 1469598103934665603ull ^ side ^ k[0];

	if (k[0]) {
		h = str_seed(h, rp_str_of(ds, (rp_str)k[1]));
		h = str_seed(h, rp_str_of(ds, (rp_str)k[2]));
	} else {
		h = str_seed(h, rp_str_of(ds, (rp_str)k[1]));
		h = str_seed(h, kind_name((uint8_t)k[2]));
		h = str_seed(h, rp_str_of(ds, (rp_str)k[3]));
	}
	return h;
}

static int reg_add(struct reg_set *rs, const uint64_t *k, const struct rp_span *sp, uint64_t side)
{
	struct reg_group *g;
	double ms = (double)span_ns(sp) / NS_PER_MS;
	long i = group_of(&rs->tab, &rs->g, &rs->n, &rs->cap, sizeof(*rs->g), k);

	if (i < 0)
		return -ENOMEM;
	g = &rs->g[i];
	if (!g->res.seen)
		sk_reservoir_init(&g->res, reg_seed(rs->ds, k, side));
	if (sk_add(&g->sk, ms) || sk_reservoir_add(&g->res, ms))
		return -ENOMEM;
	if (sp->flags & RP_HAS_COST) {
		g->cost += sp->cost_usd;
		g->n_cost++;
	}
	return 0;
}

static int reg_collect(struct reg_set *rs, const struct rp_dataset *ds, const bool *keep,
		       uint64_t side)
{
	size_t i;

	rs->ds = ds;
	for (i = 0; i < ds->n_spans; i++) {
		const struct rp_span *sp = &ds->spans[i];
		uint64_t k[KEY_N] = {0};

		if ((keep && !keep[i]) || (sp->flags & RP_LOSS_RECORD))
			continue;
		k[1] = sp->service;
		k[2] = norm_kind(sp->kind);
		k[3] = sp->name;
		if (reg_add(rs, k, sp, side))
			return -ENOMEM;
		if (!sp->model)
			continue;
		k[0] = 1;
		k[1] = sp->model;
		k[2] = sp->operation;
		k[3] = 0;
		if (reg_add(rs, k, sp, side))
			return -ENOMEM;
	}
	return 0;
}

static void reg_set_free(struct reg_set *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		sk_free(&rs->g[i].sk);
		sk_reservoir_free(&rs->g[i].res);
	}
	free(rs->g);
	free(rs->tab.slot);
}

/* The id in @to of string @id of @from (0 stays 0); false when @to does not have it. */
static bool translate(const struct rp_dataset *from, const struct rp_dataset *to, uint64_t id,
		      uint64_t *out)
{
	if (!id) {
		*out = 0;
		return true;
	}
	*out = rp_str_find(to, rp_str_of(from, (rp_str)id));
	return *out != 0;
}

static int cmp_reg(const void *a, const void *b)
{
	const struct rp_regression *x = a, *y = b;
	int r;

	if (x->significant != y->significant)
		return x->significant ? -1 : 1;
	if (x->p50_ratio != y->p50_ratio)
		return x->p50_ratio > y->p50_ratio ? -1 : 1;
	if ((r = strcmp(x->kind, y->kind)) || (r = strcmp(x->service, y->service)))
		return r;
	return strcmp(x->name, y->name);
}

static int regressions(struct ctx *c, struct rp_result *out)
{
	struct reg_set now = {0}, base = {0};
	int err = -ENOMEM;
	size_t i;

	if (reg_collect(&now, c->ds, c->o->keep, 0) ||
	    reg_collect(&base, c->o->baseline, c->o->baseline_keep, 1))
		goto cleanup;
	out->regressions = calloc(now.n ? now.n : 1, sizeof(*out->regressions));
	if (!out->regressions)
		goto cleanup;
	for (i = 0; i < now.n; i++) {
		struct reg_group *w = &now.g[i], *b;
		struct rp_regression *r = &out->regressions[out->n_regressions];
		uint64_t k[KEY_N] = {w->key[0], 0, w->key[2], 0, 0, 0, 0};
		size_t slot;
		long j;

		if (w->key[0] ? !translate(c->ds, base.ds, w->key[1], &k[1]) ||
				    !translate(c->ds, base.ds, w->key[2], &k[2])
			      : !translate(c->ds, base.ds, w->key[1], &k[1]) ||
				    !translate(c->ds, base.ds, w->key[3], &k[3]))
			continue;
		if (!base.n || (j = tab_find(&base.tab, base.g, sizeof(*base.g), k, &slot)) < 0)
			continue;
		b = &base.g[j];
		if (w->sk.count < REG_MIN_SAMPLES || b->sk.count < REG_MIN_SAMPLES)
			continue;
		if (w->key[0]) {
			r->service = rp_str_of(c->ds, (rp_str)w->key[2]);
			r->kind = "model";
			r->name = rp_str_of(c->ds, (rp_str)w->key[1]);
		} else {
			r->service = rp_str_of(c->ds, (rp_str)w->key[1]);
			r->kind = kind_name((uint8_t)w->key[2]);
			r->name = rp_str_of(c->ds, (rp_str)w->key[3]);
		}
		r->baseline_p50_ms = sk_quantile(&b->sk, 50);
		r->baseline_p99_ms = sk_quantile(&b->sk, 99);
		r->p50_ms = sk_quantile(&w->sk, 50);
		r->p99_ms = sk_quantile(&w->sk, 99);
		r->baseline_cost_per_call = b->n_cost ? b->cost / (double)b->n_cost : NAN;
		r->cost_per_call = w->n_cost ? w->cost / (double)w->n_cost : NAN;
		r->p50_ratio = r->baseline_p50_ms > 0 ? r->p50_ms / r->baseline_p50_ms
			       : r->p50_ms > 0	      ? INFINITY
						      : 1.0;
		err = sk_bootstrap_median_ratio(b->res.v, b->res.n, w->res.v, w->res.n,
						BOOT_RESAMPLES, reg_seed(c->ds, w->key, 2),
						&r->ci_lo, &r->ci_hi);
		if (err)
			goto cleanup;
		r->significant =
		    (r->ci_lo > 1.0 || r->ci_hi < 1.0) && fabs(r->p50_ratio - 1) > 0.10;
		out->n_regressions++;
	}
	qsort(out->regressions, out->n_regressions, sizeof(*out->regressions), cmp_reg);
	err = 0;
cleanup:
	reg_set_free(&now);
	reg_set_free(&base);
	return err;
}

/* --- the result ----------------------------------------------------------------------- */

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_op(const void *a, const void *b)
{
	const struct rp_operation *x = a, *y = b;
	size_t i;
	int r;

	if (x->total_ms != y->total_ms)
		return x->total_ms > y->total_ms ? -1 : 1;
	if ((r = strcmp(x->service, y->service)) || (r = strcmp(x->kind, y->kind)) ||
	    (r = strcmp(x->name, y->name)))
		return r;
	/* keys past the --by ones are NULL on both sides */
	for (i = 0; i < RP_MAX_BY; i++)
		if ((r = cmp_str(x->by[i], y->by[i])))
			return r;
	return 0;
}

static int cmp_model(const void *a, const void *b)
{
	const struct rp_model *x = a, *y = b;
	int r;

	if (x->cost_usd != y->cost_usd)
		return x->cost_usd > y->cost_usd ? -1 : 1;
	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	if ((r = strcmp(x->model, y->model)))
		return r;
	return strcmp(x->operation, y->operation);
}

static int cmp_pstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int fill_ops(struct ctx *c, struct rp_result *out)
{
	size_t i, b;

	out->ops = calloc(c->n_ops ? c->n_ops : 1, sizeof(*out->ops));
	if (!out->ops)
		return -ENOMEM;
	for (i = 0; i < c->n_ops; i++) {
		struct op_group *g = &c->ops[i];
		struct rp_operation *op = &out->ops[out->n_ops++];

		op->service = rp_str_of(c->ds, (rp_str)g->key[0]);
		op->kind = kind_name((uint8_t)g->key[1]);
		op->name = rp_str_of(c->ds, (rp_str)g->key[2]);
		for (b = 0; b < c->n_by; b++) {
			uint64_t v = g->key[3 + b];
			char num[24];

			if (!v)
				continue;
			if (c->by[b] != BY_PID) {
				op->by[b] = rp_str_of(c->ds, (rp_str)v);
				continue;
			}
			/* a pid is a number in the dataset: its string is the result's */
			snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
			if (!(op->by[b] = strdup(num)))
				return -ENOMEM;
		}
		op->count = g->sk.count;
		op->errors = g->errors;
		op->p50_ms = sk_quantile(&g->sk, 50);
		op->p90_ms = sk_quantile(&g->sk, 90);
		op->p99_ms = sk_quantile(&g->sk, 99);
		op->max_ms = g->sk.max;
		op->mean_ms = sk_mean(&g->sk);
		op->total_ms = g->sk.sum;
		op->self_ms = g->self_ms;
		op->share = g->trace_ms > 0 ? g->sk.sum / g->trace_ms : 0;
	}
	qsort(out->ops, out->n_ops, sizeof(*out->ops), cmp_op);
	return 0;
}

static int fill_models(struct ctx *c, struct rp_result *out)
{
	size_t i;

	out->models = calloc(c->n_models ? c->n_models : 1, sizeof(*out->models));
	if (!out->models)
		return -ENOMEM;
	for (i = 0; i < c->n_models; i++) {
		struct model_group *g = &c->models[i];
		struct rp_model *m = &out->models[out->n_models++];

		m->model = rp_str_of(c->ds, (rp_str)g->key[0]);
		m->operation = rp_str_of(c->ds, (rp_str)g->key[1]);
		m->calls = g->dur.count;
		m->errors = g->errors;
		m->throttles = g->throttles;
		m->retries = g->retries;
		m->input_tokens = g->in_tok;
		m->output_tokens = g->out_tok;
		m->cache_read_tokens = g->cache_read;
		m->cache_write_tokens = g->cache_write;
		m->cost_usd = g->cost;
		m->has_cost = g->has_cost;
		m->p50_ms = sk_quantile(&g->dur, 50);
		m->p99_ms = sk_quantile(&g->dur, 99);
		m->ttfc_p50_ms = sk_quantile(&g->ttfc, 50);
		m->ttfc_p99_ms = sk_quantile(&g->ttfc, 99);
	}
	qsort(out->models, out->n_models, sizeof(*out->models), cmp_model);
	return 0;
}

/* The distinct non-empty strings @field of the kept spans, sorted. */
static int distinct(const struct ctx *c, size_t field, const char ***list, size_t *n)
{
	const struct rp_dataset *ds = c->ds;
	uint8_t *seen = calloc(ds->n_strs ? ds->n_strs : 1, 1);
	size_t i;

	*n = 0;
	*list = NULL;
	if (!seen)
		return -ENOMEM;
	for (i = 0; i < ds->n_spans; i++) {
		rp_str s = *(const rp_str *)((const char *)&ds->spans[i] + field);

		if (kept(c, i) && s && s < ds->n_strs && !seen[s]++)
			(*n)++;
	}
	*list = calloc(*n ? *n : 1, sizeof(**list));
	if (!*list) {
		free(seen);
		return -ENOMEM;
	}
	for (*n = 0, i = 1; i < ds->n_strs; i++)
		if (seen[i])
			(*list)[(*n)++] = ds->strs[i];
	free(seen);
	qsort(*list, *n, sizeof(**list), cmp_pstr);
	return 0;
}

static int parse_by(struct ctx *c, struct rp_result *out)
{
	size_t b;

	c->n_by = c->o->n_by < RP_MAX_BY ? c->o->n_by : RP_MAX_BY;
	for (b = 0; b < c->n_by; b++) {
		const char *k = c->o->by[b] ? c->o->by[b] : "";

		if (!strcmp(k, "host") || !strcmp(k, "host.name"))
			c->by[b] = BY_HOST;
		else if (!strcmp(k, "service") || !strcmp(k, "service.name"))
			c->by[b] = BY_SERVICE;
		else if (!strcmp(k, "pid") || !strcmp(k, "process.pid"))
			c->by[b] = BY_PID;
		else if (!strcmp(k, "model") || !strcmp(k, "gen_ai.request.model"))
			c->by[b] = BY_MODEL;
		else
			c->by[b] = BY_ATTR;
		c->by_key[b] = c->by[b] == BY_ATTR ? rp_str_find(c->ds, k) : 0;
		if (!(out->by_keys[b] = strdup(k)))
			return -ENOMEM;
		out->n_by++;
	}
	return 0;
}

static void ctx_free(struct ctx *c)
{
	size_t i;

	free(c->order);
	free(c->start);
	free(c->s.sid);
	free(c->s.parent);
	free(c->s.self_ns);
	for (i = 0; i < c->n_ops; i++)
		sk_free(&c->ops[i].sk);
	for (i = 0; i < c->n_models; i++) {
		sk_free(&c->models[i].dur);
		sk_free(&c->models[i].ttfc);
		sk_free(&c->models[i].input);
	}
	free(c->ops);
	free(c->models);
	free(c->op_tab.slot);
	free(c->model_tab.slot);
	for (i = 0; i < F_N; i++)
		free(c->f[i].ids);
	free(c->slow);
}

int rp_analyze(const struct rp_dataset *ds, const struct rp_analyze_opts *o, struct rp_result *out)
{
	static const struct rp_analyze_opts none;
	struct ctx c = {.ds = ds, .o = o ? o : &none};
	int err = -ENOMEM;
	size_t i, m;
	uint32_t t;

	memset(out, 0, sizeof(*out));
	if (parse_by(&c, out) || group_traces(&c))
		goto cleanup;
	m = c.max_trace ? c.max_trace : 1;
	c.s.sid = malloc(m * sizeof(*c.s.sid));
	c.s.parent = malloc(m * sizeof(*c.s.parent));
	c.s.self_ns = malloc(m * sizeof(*c.s.self_ns));
	if (!c.s.sid || !c.s.parent || !c.s.self_ns)
		goto cleanup;
	out->spans = c.start[c.n_traces];
	out->traces = c.n_traces;
	for (t = 0; t < c.n_traces; t++)
		if (walk_trace(&c, t))
			goto cleanup;
	for (i = 0; i < c.n_models; i++)
		model_thresholds(&c.models[i]);
	for (t = 0; t < c.n_traces; t++)
		if (judge_trace(&c, t))
			goto cleanup;
	if (fill_ops(&c, out) || fill_models(&c, out))
		goto cleanup;
	out->slowest = calloc(c.n_slow ? c.n_slow : 1, sizeof(*out->slowest));
	if (!out->slowest)
		goto cleanup;
	for (i = 0; i < c.n_slow; i++) {
		struct rp_trace_ref *tr = &out->slowest[out->n_slowest++];

		memcpy(tr->trace_id, ds->spans[c.order[c.start[c.slow[i].trace]]].trace_id, 16);
		tr->duration_ms = c.slow[i].ms;
		if (critical_path(&c, c.slow[i].trace, tr))
			goto cleanup;
	}
	out->findings = calloc(F_N, sizeof(*out->findings));
	if (!out->findings)
		goto cleanup;
	for (i = 0; i < F_N; i++) {
		struct rp_finding *f = &out->findings[out->n_findings];

		if (!c.f[i].count)
			continue;
		f->kind = finding_names[i];
		f->count = c.f[i].count;
		f->trace_ids = c.f[i].ids;
		f->n_traces = c.f[i].n_ids;
		c.f[i].ids = NULL;
		out->n_findings++;
	}
	if (distinct(&c, offsetof(struct rp_span, host), &out->hosts, &out->n_hosts) ||
	    distinct(&c, offsetof(struct rp_span, service), &out->services, &out->n_services))
		goto cleanup;
	if (c.o->baseline && (err = regressions(&c, out)))
		goto cleanup;
	err = 0;
cleanup:
	ctx_free(&c);
	if (err)
		rp_result_free(out);
	return err;
}

void rp_result_free(struct rp_result *r)
{
	size_t i, b;

	for (b = 0; b < r->n_by; b++) {
		if (r->by_keys[b] &&
		    (!strcmp(r->by_keys[b], "pid") || !strcmp(r->by_keys[b], "process.pid")))
			for (i = 0; i < r->n_ops; i++)
				free((void *)r->ops[i].by[b]);
		free((void *)r->by_keys[b]);
	}
	free(r->ops);
	free(r->models);
	for (i = 0; i < r->n_slowest; i++)
		free(r->slowest[i].critical_path);
	free(r->slowest);
	for (i = 0; i < r->n_findings; i++)
		free(r->findings[i].trace_ids);
	free(r->findings);
	free(r->regressions);
	free(r->hosts);
	free(r->services);
	memset(r, 0, sizeof(*r));
}
