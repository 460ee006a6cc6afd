/* SPDX-License-Identifier: MIT */
/*
 * The metrics registry: instruments (counters, gauges, explicit-bucket histograms) whose points
 * are aggregated in memory per resource and attribute set, then read out as OTLP JSON
 * (otlp_metrics.h) or Prometheus text (prom_text.h). Fed from finished spans (span_metrics.h) and
 * from bedtrace's own counts; nothing here runs on the traced process's path.
 *
 * Semantics follow the OpenTelemetry metrics data model and SDK specification:
 * - a counter is a monotonic Sum: metric_add() adds a non-negative increment, metric_set() sets
 *   the running total of a count kept elsewhere (an "observable" counter: BPF loss counters,
 *   exporter counts); a total that goes down is taken as a reset (the point starts again);
 * - a gauge keeps the last value metric_set();
 * - a histogram counts values in explicit buckets: bucket i holds (bounds[i-1], bounds[i]], the
 *   last one (bounds[n-1], +Inf); it keeps count, sum, min and max;
 * - points are identified by (resource, attribute set); attribute order does not matter;
 * - each instrument holds at most `cardinality_limit` points (default 2000). A measurement for
 *   a new set beyond that goes to one overflow point whose only attribute is
 *   otel.metric.overflow=true (on the registry's default resource), so the sums stay right and
 *   memory stays bounded;
 * - the resource of a point is a subset of the span resource's attributes that identifies a
 *   service on the host (service.*, host.*, telemetry.sdk.*): per-process attributes such as
 *   process.pid would make every restart a new series.
 *
 * Thread safety: one mutex per registry; recording (event-loop thread) and reading out (export
 * timer, Prometheus server thread) may run concurrently.
 */
#ifndef BT_METRICS_H
#define BT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span/span.h"

#define METRICS_DEFAULT_CARDINALITY 2000

enum metric_kind {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

struct metrics;
struct metric;

struct metrics_opts {
	size_t cardinality_limit; /* points per instrument; 0: METRICS_DEFAULT_CARDINALITY */
	/* resource of points recorded without one, and of the overflow points; may be NULL */
	const struct bt_resource *default_resource;
};

/* Returns an empty registry, or NULL + errno. Free with metrics_free(). */
struct metrics *metrics_new(const struct metrics_opts *o);
void metrics_free(struct metrics *m);

/*
 * Registers an instrument (or returns the one already registered under @name). @name, @unit
 * (UCUM, e.g. "s", "{token}", "USD") and @desc must outlive the registry (string literals).
 * @integer: a counter or gauge of whole numbers (asInt in OTLP). Histogram @bounds are copied;
 * they must be strictly increasing. Returns NULL + errno (ENOMEM, EINVAL).
 */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *unit,
			       const char *desc, bool integer);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *unit,
			     const char *desc, bool integer);
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *unit,
				 const char *desc, const double *bounds, size_t n_bounds);

/*
 * Measurements. @res: the resource of the process measured (NULL: the registry's default);
 * @attrs: the point's attributes (NULL: none); both are only read. Return 0, or -ENOMEM
 * (the measurement is lost), or -EINVAL (wrong kind of instrument, negative or non-finite
 * counter increment, NaN).
 */
int metric_add(struct metric *i, const struct bt_resource *res, const struct bt_attrs *attrs,
	       double v);
int metric_record(struct metric *i, const struct bt_resource *res, const struct bt_attrs *attrs,
		  double v);
int metric_set(struct metric *i, const struct bt_resource *res, const struct bt_attrs *attrs,
	       double v);

/* Totals for tests and the exit summary. */
struct metrics_stats {
	size_t instruments;
	size_t points;		/* every instrument's, overflow points included */
	uint64_t overflowed;	/* measurements that went to an overflow point */
	uint64_t dropped_nomem; /* measurements lost to out of memory */
	uint64_t resources;	/* distinct point resources */
};
void metrics_get_stats(struct metrics *m, struct metrics_stats *out);

#endif
