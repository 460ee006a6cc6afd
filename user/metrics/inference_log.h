/* SPDX-License-Identifier: MIT */
/*
 * One structured log record per model call: the OTLP LogRecord with event name
 * gen_ai.client.inference.operation.details, linked to the model call's span by traceId and
 * spanId, timed at the end of the call, with the facts a dashboard or an audit wants without
 * reading traces: operation, provider, request and response model, aws.request_id, input,
 * output and cache tokens, duration (bedtrace.duration, seconds), time to first chunk, cost,
 * finish reasons, guardrail action, error.type, HTTP status, retry attempt, stream or not,
 * gen_ai.conversation.id. Prompts and completions (gen_ai.input.messages, ...) only with
 * --capture-content; even then the span carries them only if the capture allowed it.
 *
 * A model call is a Bedrock HTTP span (gen_ai.provider.name with http.request.method), or a
 * model invocation an agent reported in its trace (gen_ai.operation.name = chat). Severity:
 * INFO, ERROR for a call whose span status is ERROR.
 */
#ifndef BT_INFERENCE_LOG_H
#define BT_INFERENCE_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "span/span.h"

#define INFERENCE_EVENT_NAME "gen_ai.client.inference.operation.details"

/* True when @s is a model call that gets a log record. */
bool inference_log_wanted(const struct bt_span *s);

/*
 * Returns one ExportLogsServiceRequest (a line of JSON, malloc'd) holding a record for each
 * model call among @spans (grouped by resource, first-seen order), or NULL + errno (ENOMEM).
 * *@n_records: records written; 0 means no span was a model call (the caller need not send).
 */
char *inference_logs_encode(struct bt_span *const *spans, size_t n, bool capture_content,
			    size_t *n_records);

#endif
