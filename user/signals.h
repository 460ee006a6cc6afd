/* SPDX-License-Identifier: MIT */
/*
 * The two other pillars of a session, beside its traces: metrics aggregated on the host and one
 * log record per model call, from the same finished spans. Owns the registry and instruments
 * (metrics/), the Prometheus endpoint, the metrics and logs exporters (file and OTLP/HTTP), and
 * the export interval. Everything runs on the event loop's thread except the Prometheus
 * endpoint's, which only reads the registry.
 *
 * Destinations:
 *   --metrics-output FILE   one ExportMetricsServiceRequest per line, each export interval
 *   --logs-output FILE      one ExportLogsServiceRequest per line, with each batch of spans
 *   --prometheus [ADDR:]PORT  /metrics, always cumulative, current to the last loop tick
 *   OTLP/HTTP               /v1/metrics and /v1/logs whenever traces go to a collector: the
 *                           signal's URL is OTEL_EXPORTER_OTLP_{METRICS,LOGS}_ENDPOINT when set,
 *                           else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/{metrics,logs} when traces
 *                           use that variable, else the traces URL with /v1/traces replaced;
 *                           OTEL_{METRICS,LOGS}_EXPORTER=none turns one off; OTEL_SDK_DISABLED all.
 * Interval: --metrics-interval, else OTEL_METRIC_EXPORT_INTERVAL, else 60 s. Temporality:
 * cumulative, or delta with OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta (files and
 * OTLP alike; Prometheus is cumulative by definition).
 */
#ifndef BT_SIGNALS_H
#define BT_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/span_metrics.h"
#include "span/span.h"

struct signals_opts {
	const char *metrics_output;
	const char *logs_output;
	const char *prometheus;	  /* [ADDR:]PORT */
	unsigned interval_ms;	  /* 0: from the environment, else 60 s */
	const char *traces_url;	  /* where traces go over OTLP/HTTP, or NULL: nowhere */
	bool traces_url_from_cli; /* traces_url is --otlp-endpoint's */
	const char *spool_dir;	  /* --spool-dir: metrics/ and logs/ below it */
	unsigned long long spool_max;
	bool capture_content;
	const struct bt_resource *self_resource; /* bedtrace's own: health counters */
};

struct signals;

/*
 * Opens what @o asks for. *@out = NULL when no destination asks for metrics or logs (nothing
 * is aggregated then). Returns 0, or -errno after one line naming the cause.
 */
int signals_open(const struct signals_opts *o, struct signals **out);

/* Feeds finished spans (metrics at once; model-call log records are written now). */
void signals_spans(struct signals *g, struct bt_span *const *spans, size_t n);

/*
 * On each loop tick: sets the capture-health counters from @c (bedtrace's running totals) and,
 * when the interval has passed, exports the metrics. @now_mono_ns: CLOCK_MONOTONIC.
 */
void signals_tick(struct signals *g, const struct metrics_capture *c, uint64_t now_mono_ns);

struct bt_exporter;
/* Adds the counts of exporter @e (@kind "file" or "otlp") of @signal to @c. */
void signals_add_exporter_row(struct metrics_capture *c, const char *signal, const char *kind,
			      struct bt_exporter *e);
/* Adds the rows of the metrics and logs exporters to @c (for bedtrace.export.*). */
void signals_export_rows(const struct signals *g, struct metrics_capture *c);

/*
 * At exit: the last metrics (with @c), then every exporter delivers what it can. Returns how
 * many items (data points, log records) did not reach a destination; their reasons are printed.
 */
uint64_t signals_finish(struct signals *g, const struct metrics_capture *c);

/* SIGHUP: reopen the metrics and logs files. */
void signals_reopen(struct signals *g);
void signals_close(struct signals *g);

#endif
