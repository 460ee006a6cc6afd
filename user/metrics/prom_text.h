/* SPDX-License-Identifier: MIT */
/*
 * The registry in the Prometheus text exposition format (version 0.0.4), always cumulative, with
 * names translated as the OpenTelemetry "Prometheus and OpenMetrics compatibility" specification
 * says:
 * - metric and label names: every character outside [a-zA-Z0-9_] (':' too, in labels) becomes
 *   '_', runs of '_' collapse to one, a leading digit gets a '_' before it;
 * - the unit is a suffix unless the name already ends with it: s -> seconds, ms -> milliseconds,
 *   By -> bytes, 1 -> ratio (gauges), X/Y -> X_per_Y, annotations in braces ({token}) dropped,
 *   any other unit kept as written (USD);
 * - counters end in _total; histograms are _bucket{le="..."} (cumulative, ending with
 *   le="+Inf"), _sum and _count;
 * - attribute values: strings as they are, other types as their JSON text; label values escape
 *   backslash, double quote and newline; two attributes that become the same label name have
 *   their values joined with ';' in key order;
 * - a point's service (service.name, service.namespace, service.version, service.instance.id
 *   of its resource) becomes labels, so the processes of different services stay apart.
 */
#ifndef BT_PROM_TEXT_H
#define BT_PROM_TEXT_H

#include <stddef.h>

#include "metrics/metrics.h"

/* Returns the exposition text (malloc'd, NUL-terminated, *@len bytes), or NULL + errno. */
char *prom_text_render(struct metrics *m, size_t *len);

/* The Prometheus name of an instrument. Returns the length written, or -ENOSPC. */
int prom_metric_name(const char *name, const char *unit, enum metric_kind kind, char *out,
		     size_t size);
/* The Prometheus label name of attribute @key. Returns the length written, or -ENOSPC. */
int prom_label_name(const char *key, char *out, size_t size);

#endif
