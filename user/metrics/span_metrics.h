/* SPDX-License-Identifier: MIT */
/*
 * bedtrace's instruments and how finished spans feed them. Every span the session exports passes
 * through span_metrics_record() once, in the event loop, after it is complete (never on the
 * traced process's path):
 *
 *   function span (code.function.name)   bedtrace.function.duration (s)
 *        code.function.name, bedtrace.object.path; error.type = the end reason and
 *        otel.status_code = ERROR for calls that ended by unwinding, exit or signal
 *   HTTP span, CLIENT / SERVER            http.client.request.duration /
 * http.server.request.duration (s) http.request.method, http.response.status_code, server.address,
 * server.port (client), url.scheme (server), network.protocol.version, error.type model call
 * (gen_ai.operation.name)   gen_ai.client.operation.duration (s) - HTTP spans only,
 *        gen_ai.client.token.usage ({token}, gen_ai.token.type = input | output),
 *        gen_ai.client.operation.time_to_first_chunk (s), ..._time_per_output_chunk (s, one
 *        value per chunk after the first), bedtrace.gen_ai.cost (USD),
 *        bedtrace.gen_ai.cache_read.input_tokens / cache_creation.input_tokens ({token}),
 *        bedtrace.gen_ai.throttles, bedtrace.gen_ai.retries,
 * bedtrace.gen_ai.guardrail.interventions (by aws.bedrock.guardrail.action); attributes
 * gen_ai.provider.name, gen_ai.operation.name, gen_ai.request.model, gen_ai.response.model,
 * server.address, error.type agent trees                           gen_ai.invoke_agent.duration,
 * gen_ai.execute_tool.duration (s)
 *
 * Tokens and cost come from the span's typed usage (struct bt_genai_usage), and only from spans
 * whose usage does not already sum their children's, so a trace's model calls are counted once.
 * The capture-health counters come from the session's own counts (span_metrics_capture()).
 * Histogram bounds are those the OpenTelemetry semantic conventions advise; function durations
 * get finer ones (a traced function can take a microsecond).
 */
#ifndef BT_SPAN_METRICS_H
#define BT_SPAN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/metrics.h"
#include "span/span.h"

struct span_metrics;

/* Registers the instruments in @m. Returns NULL + errno. Free with span_metrics_free(). */
struct span_metrics *span_metrics_new(struct metrics *m);
void span_metrics_free(struct span_metrics *sm);

/* Feeds finished span @s (with its resource) into the instruments. */
void span_metrics_record(struct span_metrics *sm, const struct bt_span *s);

#define METRICS_MAX_REASONS 32

/* The session's running totals, as the capture-health counters report them. */
struct metrics_capture {
	uint64_t events;       /* ring-buffer records read */
	uint64_t bytes;	       /* payload bytes captured */
	uint64_t lost_bytes;   /* payload bytes known missing */
	uint64_t truncated;    /* messages truncated */
	uint64_t parse_errors; /* messages that did not parse */
	uint64_t selected;     /* processes selected so far */
	uint64_t traced;       /* processes traced now (a gauge) */
	struct {
		const char *reason; /* a BPF loss counter's name (call_events, data_chunks, ...) */
		uint64_t n;
	} lost[METRICS_MAX_REASONS];
	size_t n_lost;
	/* one row per destination of one signal */
	struct {
		const char *signal;   /* "traces", "metrics", "logs" */
		const char *exporter; /* "file", "otlp" */
		uint64_t exported, spooled;
		struct {
			const char
			    *reason; /* write, encode, rejected, queue_full, unsent, spool_full */
			uint64_t n;
		} dropped[6];
	} exports[6];
	size_t n_exports;
};

/* Sets the capture-health instruments from @c (running totals; a gauge for c->traced). */
void span_metrics_capture(struct span_metrics *sm, const struct metrics_capture *c);

#endif
