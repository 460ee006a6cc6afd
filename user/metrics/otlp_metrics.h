/* SPDX-License-Identifier: MIT */
/*
 * The registry as an OTLP ExportMetricsServiceRequest in the JSON encoding (one line, the
 * Collector's otlpjsonfile format): one resourceMetrics per point resource, one scopeMetrics of
 * scope "bedtrace", and per instrument a Sum (monotonic), Gauge or Histogram with explicit
 * bounds, count, sum, min and max. Encoding rules as otlp_json.h (64-bit integers as decimal
 * strings, enums as numbers: aggregationTemporality 1 = DELTA, 2 = CUMULATIVE).
 */
#ifndef BT_OTLP_METRICS_H
#define BT_OTLP_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics/metrics.h"

/*
 * Returns one ExportMetricsServiceRequest (malloc'd, no newline), or NULL + errno (ENOMEM).
 * Cumulative: every point since it started. @delta: what was measured since the previous delta
 * read (points with no measurement in between are left out; gauges always report their last
 * value), and the read starts the next interval. *@n_points: data points written; 0 means there
 * was nothing to report (the caller need not send the request).
 */
char *otlp_metrics_encode(struct metrics *m, bool delta, size_t *n_points);

#endif
