/* SPDX-License-Identifier: MIT */
/*
 * Private to user/metrics: the registry's structures, which the readers (otlp_metrics.c,
 * prom_text.c) walk under the registry's lock. No other module includes this.
 */
#ifndef BT_METRICS_INT_H
#define BT_METRICS_INT_H

#include <pthread.h>

#include "metrics/metrics.h"

/* A point's resource: the service-identifying subset of a span resource, interned. */
struct mres {
	struct bt_attrs attrs;
	char *key;
};

/* What a point accumulated over some time: since it started, or since the last delta read. */
struct magg {
	double value;	   /* counter: the sum; gauge: the last value */
	uint64_t count;	   /* histogram: values recorded */
	double sum;	   /* histogram: their sum */
	double min, max;   /* histogram: valid when count > 0 */
	uint64_t *buckets; /* histogram: n_bounds + 1 counts */
	uint64_t start_ns; /* unix time the aggregation started */
	bool touched;	   /* something was measured (delta: since the last read) */
};

struct mpoint {
	uint32_t res;	       /* index in metrics.res */
	struct bt_attrs attrs; /* sorted by key */
	char *key;	       /* resource index + attributes, serialised */
	uint64_t hash;
	bool overflow;	 /* the otel.metric.overflow=true point */
	double total;	 /* counter set by metric_set: the last total seen */
	struct magg cum; /* cumulative */
	struct magg iv;	 /* since the last delta read */
};

struct metric {
	struct metrics *m;
	enum metric_kind kind;
	const char *name, *unit, *desc;
	bool integer;
	double *bounds; /* histogram */
	size_t n_bounds;
	struct mpoint **pts; /* in creation order */
	size_t n_pts, cap_pts;
	uint32_t *index; /* open addressing: 1 + position in pts, 0 = empty */
	size_t n_index;	 /* a power of two, at least twice n_pts */
	struct mpoint *overflow_pt;
};

#define MRES_CACHE 64

struct metrics {
	pthread_mutex_t lock;
	size_t limit;
	struct metric **inst;
	size_t n_inst, cap_inst;
	struct mres *res;
	size_t n_res, cap_res;
	uint32_t default_res;
	/* span resources seen lately (a counted reference each) and their point resource */
	struct {
		struct bt_resource *ref;
		uint32_t idx;
	} cache[MRES_CACHE];
	size_t cache_next;
	uint64_t overflowed, dropped_nomem;
};

/* Unix time now in nanoseconds. */
uint64_t metrics_now_unix_ns(void);

#endif
