// SPDX-License-Identifier: MIT
/* Inference log records from model-call spans. See inference_log.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export/otlp_json.h"
#include "metrics/inference_log.h"
#include "span/semconv.h"
#include "util/jbuf.h"
#include "util/stopwatch.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* OTLP SeverityNumber */
#define SEVERITY_INFO 9
#define SEVERITY_ERROR 17

/* Copied from the span when present. */
static const char *const fact_keys[] = {
    ATTR_GEN_AI_OPERATION_NAME,
    ATTR_GEN_AI_PROVIDER_NAME,
    ATTR_GEN_AI_REQUEST_MODEL,
    ATTR_GEN_AI_RESPONSE_MODEL,
    ATTR_GEN_AI_RESPONSE_ID,
    ATTR_GEN_AI_REQUEST_STREAM,
    ATTR_GEN_AI_CONVERSATION_ID,
    ATTR_AWS_REQUEST_ID,
    ATTR_SERVER_ADDRESS,
    ATTR_HTTP_RESPONSE_STATUS_CODE,
    ATTR_GEN_AI_USAGE_INPUT_TOKENS,
    ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
    ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
    ATTR_BEDTRACE_COST_USD,
    ATTR_BEDTRACE_COST_INCLUDES_CHILDREN,
    ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
    ATTR_AWS_BEDROCK_GUARDRAIL_ACTION,
    ATTR_ERROR_TYPE,
    ATTR_AWS_SDK_ATTEMPT,
    ATTR_BEDTRACE_RETRY_PREVIOUS_ATTEMPTS,
    ATTR_BEDTRACE_BEDROCK_THROTTLE_COUNT,
    ATTR_GEN_AI_AGENT_ID,
    ATTR_BEDTRACE_CAPTURE_TRUNCATED,
};

/* Copied only with --capture-content. */
static const char *const content_keys[] = {
    ATTR_GEN_AI_INPUT_MESSAGES,
    ATTR_GEN_AI_OUTPUT_MESSAGES,
    ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
};

bool inference_log_wanted(const struct bt_span *s)
{
	const struct bt_attr *op = bt_attrs_get(&s->attrs, ATTR_GEN_AI_OPERATION_NAME);

	if (!op || op->type != BT_ATTR_STR)
		return false;
	if (bt_attrs_get(&s->attrs, ATTR_GEN_AI_PROVIDER_NAME) &&
	    bt_attrs_get(&s->attrs, ATTR_HTTP_REQUEST_METHOD))
		return true;
	return !strcmp(op->s, "chat");
}

static void copy_keys(struct bt_attrs *out, const struct bt_span *s, const char *const *keys,
		      size_t n)
{
	const struct bt_attr *at;
	size_t i;

	for (i = 0; i < n; i++)
		if ((at = bt_attrs_get(&s->attrs, keys[i])))
			bt_attrs_set_attr(out, at);
}

static void encode_record(struct jbuf *b, bool first, const struct bt_span *s, bool content,
			  uint64_t now)
{
	struct bt_attrs a = {0};
	bool error = s->status == BT_STATUS_ERROR;

	copy_keys(&a, s, fact_keys, N_OF(fact_keys));
	if (content)
		copy_keys(&a, s, content_keys, N_OF(content_keys));
	bt_attrs_set_double(&a, ATTR_BEDTRACE_DURATION,
			    s->end_ns > s->start_ns ? (double)(s->end_ns - s->start_ns) / 1e9 : 0);
	if (a.err)
		b->oom = true;
	jb_elem(b, first, "{\"timeUnixNano\":");
	jb_u64(b, s->end_ns);
	JB_LIT(b, ",\"observedTimeUnixNano\":");
	jb_u64(b, now);
	JB_LIT(b, ",\"severityNumber\":");
	jb_int(b, error ? SEVERITY_ERROR : SEVERITY_INFO);
	if (error)
		JB_LIT(b, ",\"severityText\":\"ERROR\"");
	else
		JB_LIT(b, ",\"severityText\":\"INFO\"");
	JB_LIT(b, ",\"eventName\":\"" INFERENCE_EVENT_NAME "\",\"body\":{\"stringValue\":");
	jb_str(b, s->name);
	JB_LIT(b, "}");
	otlp_json_attrs(b, false, &a);
	JB_LIT(b, ",\"traceId\":");
	jb_hex(b, s->trace_id, sizeof(s->trace_id));
	JB_LIT(b, ",\"spanId\":");
	jb_hex(b, s->span_id, sizeof(s->span_id));
	JB_LIT(b, "}");
	bt_attrs_clear(&a);
}

char *inference_logs_encode(struct bt_span *const *spans, size_t n, bool capture_content,
			    size_t *n_records)
{
	static const struct bt_attrs no_attrs;
	const struct bt_resource **res = NULL;
	size_t n_res = 0, i, j, total = 0;
	uint64_t now = sw_clock_ns(CLOCK_REALTIME);
	struct jbuf b = {0};

	*n_records = 0;
	res = calloc(n ? n : 1, sizeof(*res));
	if (!res) {
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (!spans[i] || !inference_log_wanted(spans[i]))
			continue;
		for (j = 0; j < n_res; j++)
			if (res[j] == spans[i]->resource)
				break;
		if (j == n_res)
			res[n_res++] = spans[i]->resource;
	}
	JB_LIT(&b, "{\"resourceLogs\":[");
	for (j = 0; j < n_res; j++) {
		bool first = true;

		jb_elem(&b, j == 0, "{\"resource\":{");
		otlp_json_attrs(&b, true, res[j] ? &res[j]->attrs : &no_attrs);
		JB_LIT(&b, "},\"scopeLogs\":[{");
		otlp_json_scope(&b);
		JB_LIT(&b, ",\"logRecords\":[");
		for (i = 0; i < n; i++) {
			if (!spans[i] || spans[i]->resource != res[j] ||
			    !inference_log_wanted(spans[i]))
				continue;
			encode_record(&b, first, spans[i], capture_content, now);
			first = false;
			total++;
		}
		JB_LIT(&b, "]}]}");
	}
	JB_LIT(&b, "]}");
	free(res);
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	*n_records = total;
	return b.p;
}
