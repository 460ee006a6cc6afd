/* SPDX-License-Identifier: MIT */
/*
 * The three OTLP signals bedtrace exports: what sets their exporters apart (the URL path, the
 * OTEL_EXPORTER_OTLP_<SIGNAL>_* variables, the spool subdirectory, the collector's
 * partialSuccess field, the noun in messages) is looked up here, from one table in signal.c.
 * Below both otel_env.h and export.h, so that neither includes the other for it.
 */
#ifndef BT_SIGNAL_H
#define BT_SIGNAL_H

#include <stdbool.h>

/* Zero is traces: a zeroed options struct exports traces, as before signals existed. */
enum bt_signal { BT_SIGNAL_TRACES, BT_SIGNAL_METRICS, BT_SIGNAL_LOGS };

/* Whether @s is one of the values above. */
bool bt_signal_valid(enum bt_signal s);
/* The plural noun of the signal's items in messages: "spans", "data points", "log records"
 * ("items" for an invalid @s). Static storage. */
const char *bt_signal_items(enum bt_signal s);
/* "traces", "metrics", "logs": the last part of the OTLP/HTTP path "/v1/<name>" and the spool
 * subdirectory of metrics and logs (NULL for an invalid @s). Static storage. */
const char *bt_signal_name(enum bt_signal s);
/* "TRACES", "METRICS", "LOGS": the <SIGNAL> in OTEL_EXPORTER_OTLP_<SIGNAL>_* (NULL if invalid). */
const char *bt_signal_env(enum bt_signal s);
/* The field of an OTLP partialSuccess answer counting refused items: "rejectedSpans",
 * "rejectedDataPoints", "rejectedLogRecords" (NULL if invalid). */
const char *bt_signal_rejected_field(enum bt_signal s);

#endif
