// SPDX-License-Identifier: MIT
/* The metrics registry: instruments, points and their aggregation. See metrics.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/metrics_int.h"
#include "span/semconv.h"
#include "util/grow.h"
#include "util/hash.h"
#include "util/stopwatch.h"

/* Distinct point resources kept; a process beyond them is counted under the default one. */
#define MAX_RESOURCES 1000

/* The span-resource attributes that identify a service on the host (see metrics.h). */
static const char *const resource_keys[] = {
    ATTR_SERVICE_NAME,
    ATTR_SERVICE_NAMESPACE,
    ATTR_SERVICE_VERSION,
    ATTR_SERVICE_INSTANCE_ID,
    ATTR_HOST_NAME,
    ATTR_HOST_ID,
    ATTR_HOST_ARCH,
    ATTR_OS_TYPE,
    ATTR_TELEMETRY_SDK_NAME,
    ATTR_TELEMETRY_SDK_LANGUAGE,
    ATTR_TELEMETRY_SDK_VERSION,
};

uint64_t metrics_now_unix_ns(void)
{
	return sw_clock_ns(CLOCK_REALTIME);
}

/* A string for keys, on the stack until it outgrows its buffer: most lookups allocate nothing. */
struct kbuf {
	char *p;
	size_t len, cap;
	bool oom;
	char buf[512];
};

static void kb_init(struct kbuf *k)
{
	k->p = k->buf;
	k->len = 0;
	k->cap = sizeof(k->buf);
	k->oom = false;
	k->buf[0] = '\0';
}

static void kb_free(struct kbuf *k)
{
	if (k->p != k->buf)
		free(k->p);
}

static void kb_put(struct kbuf *k, const char *s, size_t n)
{
	if (k->oom)
		return;
	if (k->len + n + 1 > k->cap) {
		size_t cap = 2 * (k->len + n + 1);
		char *p = k->p == k->buf ? malloc(cap) : realloc(k->p, cap);

		if (!p) {
			k->oom = true;
			return;
		}
		if (k->p == k->buf)
			memcpy(p, k->buf, k->len + 1);
		k->p = p;
		k->cap = cap;
	}
	memcpy(k->p + k->len, s, n);
	k->len += n;
	k->p[k->len] = '\0';
}

static void kb_str(struct kbuf *k, const char *s)
{
	kb_put(k, s, strlen(s));
}

/* Decimal digits of @v into @out (room for 21 bytes with the NUL); returns their count. */
static size_t put_decimal(char *out, int64_t v)
{
	char tmp[24];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[i++] = '-';
	while (n)
		out[i++] = tmp[--n];
	out[i] = '\0';
	return i;
}

/*
 * Serialises the attributes @v (sorted by key) after @prefix into @k: key, a type letter and
 * the value, with separator bytes that cannot occur in the text of a value of another type.
 */
static void serialise(struct kbuf *k, const char *prefix, const struct bt_attr *const *v, size_t n)
{
	char num[40];
	size_t i, j;

	kb_str(k, prefix);
	for (i = 0; i < n; i++) {
		const struct bt_attr *at = v[i];

		kb_str(k, "\x1f");
		kb_str(k, at->key);
		switch (at->type) {
		case BT_ATTR_STR:
			kb_str(k, "\x1es");
			kb_str(k, at->s);
			break;
		case BT_ATTR_INT:
			kb_put(k, "\x1ei", 2);
			kb_put(k, num, put_decimal(num, at->i));
			break;
		case BT_ATTR_DOUBLE:
			snprintf(num, sizeof(num), "\x1e%c%.17g", 'd', at->d);
			kb_str(k, num);
			break;
		case BT_ATTR_BOOL:
			kb_put(k,
			       at->b ? "\x1e"
				       "b1"
				     : "\x1e"
				       "b0",
			       3);
			break;
		case BT_ATTR_STR_ARRAY:
			kb_put(k,
			       "\x1e"
			       "a",
			       2);
			for (j = 0; j < at->arr.n; j++) {
				kb_str(k, "\x1d");
				kb_str(k, at->arr.v[j]);
			}
			break;
		}
	}
}

/*
 * Points @out (room for @a->n) at @a's attributes in key order: insertion sort, as sets are
 * small.
 */
static void sorted_view(const struct bt_attrs *a, const struct bt_attr **out)
{
	size_t i, j;

	for (i = 0; a && i < a->n; i++) {
		const struct bt_attr *at = &a->v[i];

		for (j = i; j > 0 && strcmp(out[j - 1]->key, at->key) > 0; j--)
			out[j] = out[j - 1];
		out[j] = at;
	}
}

/* A copy of the attributes @v (sorted) into @dst (empty), in that order. 0 or -ENOMEM. */
static int copy_view(struct bt_attrs *dst, const struct bt_attr *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		bt_attrs_set_attr(dst, v[i]);
	return dst->err;
}

/* @a's attributes in key order: in @stack when they fit, else in a malloc'd array (freed by
 * the caller when it is not @stack). NULL: out of memory. */
static const struct bt_attr **view_of(const struct bt_attrs *a, const struct bt_attr **stack,
				      size_t room)
{
	const struct bt_attr **v = stack;

	if (a && a->n > room && !(v = malloc(a->n * sizeof(*v))))
		return NULL;
	sorted_view(a, v);
	return v;
}

/* The index of the point resource for @subset (a subset already), interned; @subset is
 * taken (emptied) when it becomes a new resource. */
static int intern_resource(struct metrics *m, struct bt_attrs *subset, uint32_t *idx)
{
	const struct bt_attr *stack[16], **v;
	struct bt_attrs sorted = {0};
	struct kbuf k;
	size_t i;
	int err = -ENOMEM;

	if (subset->err)
		return subset->err;
	v = view_of(subset, stack, 16);
	if (!v)
		return -ENOMEM;
	kb_init(&k);
	serialise(&k, "", v, subset->n);
	if (k.oom)
		goto out;
	err = 0;
	for (i = 0; i < m->n_res; i++) {
		if (!strcmp(m->res[i].key, k.p)) {
			*idx = (uint32_t)i;
			goto out;
		}
	}
	if (m->n_res >= MAX_RESOURCES && m->n_res) {
		*idx = m->default_res;
		goto out;
	}
	err = -ENOMEM;
	if (copy_view(&sorted, v, subset->n) ||
	    grow(&m->res, &m->cap_res, m->n_res + 1, sizeof(*m->res)))
		goto out;
	m->res[m->n_res].key = strdup(k.p);
	if (!m->res[m->n_res].key)
		goto out;
	m->res[m->n_res].attrs = sorted;
	memset(&sorted, 0, sizeof(sorted));
	*idx = (uint32_t)m->n_res++;
	err = 0;
out:
	bt_attrs_clear(&sorted);
	kb_free(&k);
	if (v != stack)
		free(v);
	return err;
}

static int resource_subset(const struct bt_resource *r, struct bt_attrs *out)
{
	const struct bt_attr *at;
	size_t i;

	for (i = 0; r && i < sizeof(resource_keys) / sizeof(resource_keys[0]); i++)
		if ((at = bt_attrs_get(&r->attrs, resource_keys[i])))
			bt_attrs_set_attr(out, at);
	return out->err;
}

/* The point resource of span resource @r (NULL: the default), through the cache. */
static int resource_index(struct metrics *m, const struct bt_resource *r, uint32_t *idx)
{
	struct bt_attrs subset = {0};
	size_t i, slot;
	int err;

	if (!r) {
		*idx = m->default_res;
		return 0;
	}
	for (i = 0; i < MRES_CACHE; i++) {
		if (m->cache[i].ref == r) {
			*idx = m->cache[i].idx;
			return 0;
		}
	}
	err = resource_subset(r, &subset);
	if (!err)
		err = intern_resource(m, &subset, idx);
	bt_attrs_clear(&subset);
	if (err)
		return err;
	/* the reference keeps the pointer from being reused by another resource */
	slot = m->cache_next++ % MRES_CACHE;
	bt_resource_put(m->cache[slot].ref);
	m->cache[slot].ref = bt_resource_get((struct bt_resource *)r);
	m->cache[slot].idx = *idx;
	return 0;
}

struct metrics *metrics_new(const struct metrics_opts *o)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct bt_attrs subset = {0};

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->limit = o && o->cardinality_limit ? o->cardinality_limit : METRICS_DEFAULT_CARDINALITY;
	if (resource_subset(o ? o->default_resource : NULL, &subset) ||
	    intern_resource(m, &subset, &m->default_res)) {
		bt_attrs_clear(&subset);
		metrics_free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

static void magg_free(struct magg *a)
{
	free(a->buckets);
}

static void point_free(struct mpoint *p)
{
	if (!p)
		return;
	bt_attrs_clear(&p->attrs);
	free(p->key);
	magg_free(&p->cum);
	magg_free(&p->iv);
	free(p);
}

static void metric_free(struct metric *i)
{
	size_t k;

	if (!i)
		return;
	for (k = 0; k < i->n_pts; k++)
		point_free(i->pts[k]);
	point_free(i->overflow_pt);
	free(i->pts);
	free(i->index);
	free(i->bounds);
	free(i);
}

void metrics_free(struct metrics *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n_inst; i++)
		metric_free(m->inst[i]);
	free(m->inst);
	for (i = 0; i < m->n_res; i++) {
		bt_attrs_clear(&m->res[i].attrs);
		free(m->res[i].key);
	}
	free(m->res);
	for (i = 0; i < MRES_CACHE; i++)
		bt_resource_put(m->cache[i].ref);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct metric *add_instrument(struct metrics *m, enum metric_kind kind, const char *name,
				     const char *unit, const char *desc, bool integer,
				     const double *bounds, size_t n_bounds)
{
	struct metric *i = NULL;
	size_t k;

	if (!m || !name || !unit || !desc) {
		errno = EINVAL;
		return NULL;
	}
	for (k = 1; k < n_bounds; k++) {
		if (!(bounds[k] > bounds[k - 1])) {
			errno = EINVAL;
			return NULL;
		}
	}
	pthread_mutex_lock(&m->lock);
	for (k = 0; k < m->n_inst; k++) {
		if (!strcmp(m->inst[k]->name, name)) {
			i = m->inst[k];
			goto out;
		}
	}
	if (grow(&m->inst, &m->cap_inst, m->n_inst + 1, sizeof(*m->inst)))
		goto nomem;
	i = calloc(1, sizeof(*i));
	if (!i)
		goto nomem;
	*i = (struct metric){
	    .m = m, .kind = kind, .name = name, .unit = unit, .desc = desc, .integer = integer};
	if (kind == METRIC_HISTOGRAM) {
		i->bounds = malloc((n_bounds ? n_bounds : 1) * sizeof(*i->bounds));
		if (!i->bounds) {
			free(i);
			i = NULL;
			goto nomem;
		}
		if (n_bounds)
			memcpy(i->bounds, bounds, n_bounds * sizeof(*bounds));
		i->n_bounds = n_bounds;
	}
	m->inst[m->n_inst++] = i;
out:
	pthread_mutex_unlock(&m->lock);
	return i;
nomem:
	pthread_mutex_unlock(&m->lock);
	errno = ENOMEM;
	return NULL;
}

struct metric *metrics_counter(struct metrics *m, const char *name, const char *unit,
			       const char *desc, bool integer)
{
	return add_instrument(m, METRIC_COUNTER, name, unit, desc, integer, NULL, 0);
}

struct metric *metrics_gauge(struct metrics *m, const char *name, const char *unit,
			     const char *desc, bool integer)
{
	return add_instrument(m, METRIC_GAUGE, name, unit, desc, integer, NULL, 0);
}

struct metric *metrics_histogram(struct metrics *m, const char *name, const char *unit,
				 const char *desc, const double *bounds, size_t n_bounds)
{
	return add_instrument(m, METRIC_HISTOGRAM, name, unit, desc, false, bounds, n_bounds);
}

static int magg_init(struct magg *a, const struct metric *i, uint64_t now)
{
	a->start_ns = now;
	if (i->kind != METRIC_HISTOGRAM)
		return 0;
	a->buckets = calloc(i->n_bounds + 1, sizeof(*a->buckets));
	return a->buckets ? 0 : -ENOMEM;
}

static struct mpoint *point_new(const struct metric *i, uint32_t res, struct bt_attrs *attrs,
				char *key, uint64_t hash)
{
	struct mpoint *p = calloc(1, sizeof(*p));
	uint64_t now = metrics_now_unix_ns();

	if (!p)
		return NULL;
	p->res = res;
	p->key = key;
	p->hash = hash;
	if (magg_init(&p->cum, i, now) || magg_init(&p->iv, i, now)) {
		p->key = NULL;
		point_free(p);
		return NULL;
	}
	if (attrs) {
		p->attrs = *attrs;
		memset(attrs, 0, sizeof(*attrs));
	}
	return p;
}

static int index_rebuild(struct metric *i, size_t n_index)
{
	uint32_t *idx = calloc(n_index, sizeof(*idx));
	size_t k, h;

	if (!idx)
		return -ENOMEM;
	for (k = 0; k < i->n_pts; k++) {
		for (h = i->pts[k]->hash & (n_index - 1); idx[h]; h = (h + 1) & (n_index - 1))
			;
		idx[h] = (uint32_t)k + 1;
	}
	free(i->index);
	i->index = idx;
	i->n_index = n_index;
	return 0;
}

static struct mpoint *overflow_point(struct metric *i)
{
	struct bt_attrs a = {0};

	if (i->overflow_pt)
		return i->overflow_pt;
	if (bt_attrs_set_bool(&a, ATTR_OTEL_METRIC_OVERFLOW, true)) {
		bt_attrs_clear(&a);
		return NULL;
	}
	i->overflow_pt = point_new(i, i->m->default_res, &a, NULL, 0);
	bt_attrs_clear(&a);
	if (i->overflow_pt)
		i->overflow_pt->overflow = true;
	return i->overflow_pt;
}

/*
 * The point of (@res, @attrs) in @i, created if there is room; NULL: out of memory. Finding an
 * existing point allocates nothing (the key is built on the stack).
 */
static struct mpoint *find_point(struct metric *i, const struct bt_resource *res,
				 const struct bt_attrs *attrs)
{
	const struct bt_attr *stack[32], **v = NULL;
	struct metrics *m = i->m;
	struct bt_attrs sorted = {0};
	struct mpoint *p = NULL;
	size_t h, n = attrs ? attrs->n : 0;
	char prefix[16], *key;
	struct kbuf k;
	uint32_t ridx;
	uint64_t hash;

	kb_init(&k);
	if (resource_index(m, res, &ridx) || !(v = view_of(attrs, stack, 32)))
		goto out;
	put_decimal(prefix, ridx);
	serialise(&k, prefix, v, n);
	if (k.oom)
		goto out;
	hash = fnv1a(k.p, k.len);
	if (i->n_index) {
		for (h = hash & (i->n_index - 1); i->index[h]; h = (h + 1) & (i->n_index - 1)) {
			struct mpoint *c = i->pts[i->index[h] - 1];

			if (c->hash == hash && !strcmp(c->key, k.p)) {
				p = c;
				goto out;
			}
		}
	}
	if (i->n_pts >= m->limit) {
		m->overflowed++;
		p = overflow_point(i);
		goto out;
	}
	if (grow(&i->pts, &i->cap_pts, i->n_pts + 1, sizeof(*i->pts)))
		goto out;
	if (2 * (i->n_pts + 1) > i->n_index && index_rebuild(i, i->n_index ? 2 * i->n_index : 16))
		goto out;
	key = strdup(k.p);
	if (!key || copy_view(&sorted, v, n)) {
		free(key);
		goto out;
	}
	p = point_new(i, ridx, &sorted, key, hash);
	if (!p) {
		free(key);
		goto out;
	}
	i->pts[i->n_pts++] = p;
	for (h = hash & (i->n_index - 1); i->index[h]; h = (h + 1) & (i->n_index - 1))
		;
	i->index[h] = (uint32_t)i->n_pts;
out:
	bt_attrs_clear(&sorted);
	kb_free(&k);
	if (v != stack)
		free(v);
	if (!p)
		m->dropped_nomem++;
	return p;
}

static void hist_add(const struct metric *i, struct magg *a, double v)
{
	size_t lo = 0, hi = i->n_bounds;

	/* the first bound >= v: buckets are (bounds[k-1], bounds[k]] */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (i->bounds[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	a->buckets[lo]++;
	if (!a->count || v < a->min)
		a->min = v;
	if (!a->count || v > a->max)
		a->max = v;
	a->count++;
	a->sum += v;
	a->touched = true;
}

/* Applies one measurement; @op is 'a'dd, 'r'ecord or 's'et. */
static int measure(struct metric *i, const struct bt_resource *res, const struct bt_attrs *attrs,
		   double v, char op)
{
	struct mpoint *p;
	int err = 0;

	if (!i || isnan(v))
		return -EINVAL;
	switch (op) {
	case 'a':
		if (i->kind != METRIC_COUNTER || v < 0 || isinf(v))
			return -EINVAL;
		break;
	case 'r':
		if (i->kind != METRIC_HISTOGRAM)
			return -EINVAL;
		break;
	default:
		if (i->kind == METRIC_HISTOGRAM ||
		    (i->kind == METRIC_COUNTER && (v < 0 || isinf(v))))
			return -EINVAL;
	}
	pthread_mutex_lock(&i->m->lock);
	p = find_point(i, res, attrs);
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	if (op == 'r') {
		hist_add(i, &p->cum, v);
		hist_add(i, &p->iv, v);
	} else if (i->kind == METRIC_GAUGE) {
		p->cum.value = p->iv.value = v;
		p->cum.touched = p->iv.touched = true;
	} else {
		double inc = v;

		if (op == 's') {
			if (p->overflow) {
				/* totals of several sets meet here: only their growth adds up */
				inc = 0;
			} else if (v < p->total) {
				/* the count kept elsewhere started again: so does the point */
				p->cum.value = 0;
				p->cum.start_ns = metrics_now_unix_ns();
			} else {
				inc = v - p->total;
			}
			p->total = v;
		}
		p->cum.value += inc;
		p->iv.value += inc;
		p->cum.touched = p->iv.touched = true;
	}
out:
	pthread_mutex_unlock(&i->m->lock);
	return err;
}

int metric_add(struct metric *i, const struct bt_resource *res, const struct bt_attrs *attrs,
	       double v)
{
	return measure(i, res, attrs, v, 'a');
}

int metric_record(struct metric *i, const struct bt_resource *res, const struct bt_attrs *attrs,
		  double v)
{
	return measure(i, res, attrs, v, 'r');
}

int metric_set(struct metric *i, const struct bt_resource *res, const struct bt_attrs *attrs,
	       double v)
{
	return measure(i, res, attrs, v, 's');
}

void metrics_get_stats(struct metrics *m, struct metrics_stats *out)
{
	size_t k;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->lock);
	out->instruments = m->n_inst;
	for (k = 0; k < m->n_inst; k++)
		out->points += m->inst[k]->n_pts + (m->inst[k]->overflow_pt ? 1 : 0);
	out->overflowed = m->overflowed;
	out->dropped_nomem = m->dropped_nomem;
	out->resources = m->n_res;
	pthread_mutex_unlock(&m->lock);
}
