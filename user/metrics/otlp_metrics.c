// SPDX-License-Identifier: MIT
/* OTLP JSON of the metrics registry. See otlp_metrics.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp_json.h"
#include "metrics/metrics_int.h"
#include "metrics/otlp_metrics.h"
#include "util/jbuf.h"

#define TEMPORALITY_DELTA 1
#define TEMPORALITY_CUMULATIVE 2

/* Whether @p is part of this read. */
static bool reported(const struct metric *i, const struct mpoint *p, bool delta)
{
	if (i->kind == METRIC_GAUGE)
		return p->cum.touched;
	return delta ? p->iv.touched : p->cum.touched;
}

static void number(struct jbuf *b, const struct metric *i, double v)
{
	if (i->integer && isfinite(v)) {
		JB_LIT(b, ",\"asInt\":");
		jb_i64(b, (int64_t)llround(v));
	} else {
		JB_LIT(b, ",\"asDouble\":");
		jb_double(b, v);
	}
}

static void data_point(struct jbuf *b, bool first, const struct metric *i, const struct mpoint *p,
		       const struct magg *a, uint64_t now)
{
	size_t k;

	jb_elem(b, first, "{");
	otlp_json_attrs(b, true, &p->attrs);
	if (i->kind != METRIC_GAUGE) {
		JB_LIT(b, ",\"startTimeUnixNano\":");
		jb_u64(b, a->start_ns);
	}
	JB_LIT(b, ",\"timeUnixNano\":");
	jb_u64(b, now);
	if (i->kind != METRIC_HISTOGRAM) {
		number(b, i, a->value);
		JB_LIT(b, "}");
		return;
	}
	JB_LIT(b, ",\"count\":");
	jb_u64(b, a->count);
	JB_LIT(b, ",\"sum\":");
	jb_double(b, a->sum);
	JB_LIT(b, ",\"bucketCounts\":[");
	for (k = 0; k <= i->n_bounds; k++) {
		if (k)
			JB_LIT(b, ",");
		jb_u64(b, a->buckets[k]);
	}
	JB_LIT(b, "],\"explicitBounds\":[");
	for (k = 0; k < i->n_bounds; k++) {
		if (k)
			JB_LIT(b, ",");
		jb_double(b, i->bounds[k]);
	}
	JB_LIT(b, "]");
	if (a->count) {
		JB_LIT(b, ",\"min\":");
		jb_double(b, a->min);
		JB_LIT(b, ",\"max\":");
		jb_double(b, a->max);
	}
	JB_LIT(b, "}");
}

/* Starts the next delta interval of @p at @now. */
static void reset_interval(const struct metric *i, struct mpoint *p, uint64_t now)
{
	struct magg *a = &p->iv;

	if (i->kind == METRIC_GAUGE)
		return;
	a->value = 0;
	a->count = 0;
	a->sum = 0;
	a->min = a->max = 0;
	if (a->buckets)
		memset(a->buckets, 0, (i->n_bounds + 1) * sizeof(*a->buckets));
	a->start_ns = now;
	a->touched = false;
}

/* The metric object of @i for resource @res, if it has points there; returns points written. */
static size_t encode_metric(struct jbuf *b, bool *first, struct metric *i, uint32_t res, bool delta,
			    uint64_t now)
{
	struct mpoint *p;
	size_t k, n = 0;

	for (k = 0; k <= i->n_pts; k++) {
		p = k < i->n_pts ? i->pts[k] : i->overflow_pt;
		if (!p || p->res != res || !reported(i, p, delta))
			continue;
		if (!n) {
			jb_elem(b, *first, "{\"name\":");
			*first = false;
			jb_str(b, i->name);
			JB_LIT(b, ",\"unit\":");
			jb_str(b, i->unit);
			JB_LIT(b, ",\"description\":");
			jb_str(b, i->desc);
			if (i->kind == METRIC_COUNTER)
				JB_LIT(b, ",\"sum\":{\"dataPoints\":[");
			else if (i->kind == METRIC_GAUGE)
				JB_LIT(b, ",\"gauge\":{\"dataPoints\":[");
			else
				JB_LIT(b, ",\"histogram\":{\"dataPoints\":[");
		}
		data_point(b, n == 0, i, p, delta ? &p->iv : &p->cum, now);
		n++;
	}
	if (!n)
		return 0;
	JB_LIT(b, "]");
	if (i->kind != METRIC_GAUGE) {
		JB_LIT(b, ",\"aggregationTemporality\":");
		jb_int(b, delta ? TEMPORALITY_DELTA : TEMPORALITY_CUMULATIVE);
	}
	if (i->kind == METRIC_COUNTER)
		JB_LIT(b, ",\"isMonotonic\":true");
	JB_LIT(b, "}}");
	return n;
}

char *otlp_metrics_encode(struct metrics *m, bool delta, size_t *n_points)
{
	uint64_t now = metrics_now_unix_ns();
	struct jbuf b = {0};
	size_t r, k, total = 0;
	bool first_res = true;

	*n_points = 0;
	pthread_mutex_lock(&m->lock);
	JB_LIT(&b, "{\"resourceMetrics\":[");
	for (r = 0; r < m->n_res; r++) {
		size_t mark = b.len, n = 0;
		bool first = true;

		jb_elem(&b, first_res, "{\"resource\":{");
		otlp_json_attrs(&b, true, &m->res[r].attrs);
		JB_LIT(&b, "},\"scopeMetrics\":[{");
		otlp_json_scope(&b);
		JB_LIT(&b, ",\"metrics\":[");
		for (k = 0; k < m->n_inst; k++)
			n += encode_metric(&b, &first, m->inst[k], (uint32_t)r, delta, now);
		if (!n) {
			/* a resource with nothing to report is left out */
			b.len = mark;
			if (b.p)
				b.p[b.len] = '\0';
			continue;
		}
		JB_LIT(&b, "]}]}");
		first_res = false;
		total += n;
	}
	JB_LIT(&b, "]}");
	if (!b.oom && delta) {
		for (k = 0; k < m->n_inst; k++) {
			struct metric *i = m->inst[k];

			for (r = 0; r < i->n_pts; r++)
				reset_interval(i, i->pts[r], now);
			if (i->overflow_pt)
				reset_interval(i, i->overflow_pt, now);
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	*n_points = total;
	return b.p;
}
