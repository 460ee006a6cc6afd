// SPDX-License-Identifier: MIT
/* Finished spans into bedtrace's instruments. See span_metrics.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/span_metrics.h"
#include "span/semconv.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* gen_ai.client.operation.duration, time to first chunk, agent and tool durations */
static const double genai_duration_bounds[] = {0.01, 0.02, 0.04, 0.08,	0.16,  0.32,  0.64,
					       1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
/* gen_ai.client.token.usage */
static const double token_bounds[] = {1,     4,	    16,	    64,	     256,     1024,	4096,
				      16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
/* time per output chunk (as the conventions advise for time per output token) */
static const double chunk_bounds[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
				      0.3,  0.4,   0.5,	 0.75,	1.0, 2.5};
/* http.*.request.duration */
static const double http_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
				     0.5,   0.75, 1,	 2.5,  5,     7.5, 10};
/* bedtrace.function.duration: from a microsecond to a minute */
static const double func_bounds[] = {0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005,
				     0.0001,   0.00025,	  0.0005,   0.001,   0.0025,   0.005,
				     0.01,     0.025,	  0.05,	    0.1,     0.25,     0.5,
				     1,	       2.5,	  5,	    10,	     30,       60};

struct span_metrics {
	struct metrics *m;
	struct metric *func_duration;
	struct metric *http_client, *http_server;
	struct metric *op_duration, *tokens, *ttfc, *tpoc, *agent_duration, *tool_duration;
	struct metric *cost, *cache_read, *cache_write, *throttles, *retries, *guardrail;
	/* capture health */
	struct metric *events, *bytes, *lost_bytes, *truncated, *parse_errors, *lost;
	struct metric *selected, *traced, *exported, *dropped, *spooled;
};

struct span_metrics *span_metrics_new(struct metrics *m)
{
	struct span_metrics *sm = calloc(1, sizeof(*sm));

	if (!sm)
		return NULL;
	sm->m = m;
	sm->func_duration = metrics_histogram(
	    m, "bedtrace.function.duration", "s",
	    "Duration of calls to traced functions, including calls left by unwinding or exit.",
	    func_bounds, N_OF(func_bounds));
	sm->http_client =
	    metrics_histogram(m, "http.client.request.duration", "s",
			      "Duration of HTTP client requests.", http_bounds, N_OF(http_bounds));
	sm->http_server =
	    metrics_histogram(m, "http.server.request.duration", "s",
			      "Duration of HTTP server requests.", http_bounds, N_OF(http_bounds));
	sm->op_duration = metrics_histogram(m, "gen_ai.client.operation.duration", "s",
					    "GenAI operation duration.", genai_duration_bounds,
					    N_OF(genai_duration_bounds));
	sm->tokens = metrics_histogram(m, "gen_ai.client.token.usage", "{token}",
				       "Number of input and output tokens used.", token_bounds,
				       N_OF(token_bounds));
	sm->ttfc =
	    metrics_histogram(m, "gen_ai.client.operation.time_to_first_chunk", "s",
			      "Time from the request to the first chunk of a streamed answer.",
			      genai_duration_bounds, N_OF(genai_duration_bounds));
	sm->tpoc = metrics_histogram(m, "gen_ai.client.operation.time_per_output_chunk", "s",
				     "Time between consecutive chunks of a streamed answer.",
				     chunk_bounds, N_OF(chunk_bounds));
	sm->agent_duration = metrics_histogram(m, "gen_ai.invoke_agent.duration", "s",
					       "Duration of agent invocations.",
					       genai_duration_bounds, N_OF(genai_duration_bounds));
	sm->tool_duration = metrics_histogram(m, "gen_ai.execute_tool.duration", "s",
					      "Duration of tool executions by agents.",
					      genai_duration_bounds, N_OF(genai_duration_bounds));
	sm->cost = metrics_counter(m, "bedtrace.gen_ai.cost", "USD",
				   "Cost of model calls at the price table's rates.", false);
	sm->cache_read = metrics_counter(m, "bedtrace.gen_ai.cache_read.input_tokens", "{token}",
					 "Input tokens read from the prompt cache.", true);
	sm->cache_write =
	    metrics_counter(m, "bedtrace.gen_ai.cache_creation.input_tokens", "{token}",
			    "Input tokens written to the prompt cache.", true);
	sm->throttles = metrics_counter(m, "bedtrace.gen_ai.throttles", "{request}",
					"Model calls refused by throttling.", true);
	sm->retries = metrics_counter(m, "bedtrace.gen_ai.retries", "{request}",
				      "Model calls that were retries of an earlier attempt.", true);
	sm->guardrail = metrics_counter(m, "bedtrace.gen_ai.guardrail.interventions", "{request}",
					"Model calls in which a guardrail intervened.", true);
	sm->events = metrics_counter(m, "bedtrace.capture.events", "{event}",
				     "Events read from the BPF ring buffers.", true);
	sm->bytes = metrics_counter(m, "bedtrace.capture.bytes", "By",
				    "Payload bytes captured from TLS and sockets.", true);
	sm->lost_bytes =
	    metrics_counter(m, "bedtrace.capture.lost_bytes", "By",
			    "Payload bytes known to be missing from the capture.", true);
	sm->truncated = metrics_counter(m, "bedtrace.capture.truncated", "{message}",
					"HTTP messages captured only in part.", true);
	sm->parse_errors = metrics_counter(m, "bedtrace.capture.parse_errors", "{message}",
					   "HTTP messages that could not be parsed.", true);
	sm->lost = metrics_counter(m, "bedtrace.capture.lost", "{event}",
				   "Capture events lost in BPF, by reason.", true);
	sm->selected = metrics_counter(m, "bedtrace.processes.selected", "{process}",
				       "Processes selected for tracing so far.", true);
	sm->traced = metrics_gauge(m, "bedtrace.processes.traced", "{process}",
				   "Processes traced now.", true);
	sm->exported = metrics_counter(m, "bedtrace.export.items", "{item}",
				       "Spans, data points and log records delivered.", true);
	sm->dropped = metrics_counter(m, "bedtrace.export.dropped", "{item}",
				      "Spans, data points and log records lost, by reason.", true);
	sm->spooled =
	    metrics_gauge(m, "bedtrace.export.spooled", "{item}",
			  "Items of this run waiting in the spool for the collector.", true);
	if (!sm->func_duration || !sm->http_client || !sm->http_server || !sm->op_duration ||
	    !sm->tokens || !sm->ttfc || !sm->tpoc || !sm->agent_duration || !sm->tool_duration ||
	    !sm->cost || !sm->cache_read || !sm->cache_write || !sm->throttles || !sm->retries ||
	    !sm->guardrail || !sm->events || !sm->bytes || !sm->lost_bytes || !sm->truncated ||
	    !sm->parse_errors || !sm->lost || !sm->selected || !sm->traced || !sm->exported ||
	    !sm->dropped || !sm->spooled) {
		free(sm);
		errno = ENOMEM;
		return NULL;
	}
	return sm;
}

void span_metrics_free(struct span_metrics *sm)
{
	free(sm);
}

/*
 * The attributes of one measurement, borrowed: shallow copies of a span's attributes and
 * constant strings, never freed, so recording a span allocates nothing (the registry copies a
 * set only when it makes a new point).
 */
#define VIEW_MAX 12

struct view {
	struct bt_attr v[VIEW_MAX];
	struct bt_attrs a;
};

static const struct bt_attrs *view_attrs(struct view *w)
{
	return &w->a;
}

static void view_init(struct view *w)
{
	memset(&w->a, 0, sizeof(w->a));
	w->a.v = w->v;
}

static void view_put(struct view *w, const struct bt_attr *at)
{
	size_t i;

	for (i = 0; i < w->a.n; i++) {
		if (!strcmp(w->v[i].key, at->key)) {
			w->v[i] = *at;
			return;
		}
	}
	if (w->a.n < VIEW_MAX)
		w->v[w->a.n++] = *at;
}

static void view_str(struct view *w, const char *key, const char *val)
{
	struct bt_attr at = {.key = (char *)key, .type = BT_ATTR_STR, .s = (char *)val};

	view_put(w, &at);
}

static void view_del(struct view *w, const char *key)
{
	size_t i;

	for (i = 0; i < w->a.n; i++) {
		if (!strcmp(w->v[i].key, key)) {
			w->v[i] = w->v[--w->a.n];
			return;
		}
	}
}

/* Borrows the attributes of @s named in @keys. */
static void pick(struct view *w, const struct bt_span *s, const char *const *keys, size_t n)
{
	const struct bt_attr *at;
	size_t i;

	view_init(w);
	for (i = 0; i < n; i++)
		if ((at = bt_attrs_get(&s->attrs, keys[i])))
			view_put(w, at);
}

static const char *str_attr(const struct bt_span *s, const char *key)
{
	const struct bt_attr *at = bt_attrs_get(&s->attrs, key);

	return at && at->type == BT_ATTR_STR ? at->s : NULL;
}

static int64_t int_attr(const struct bt_span *s, const char *key)
{
	const struct bt_attr *at = bt_attrs_get(&s->attrs, key);

	return at && at->type == BT_ATTR_INT ? at->i : 0;
}

static double seconds(const struct bt_span *s)
{
	return s->end_ns > s->start_ns ? (double)(s->end_ns - s->start_ns) / 1e9 : 0;
}

static void record_function(struct span_metrics *sm, const struct bt_span *s)
{
	static const char *const keys[] = {ATTR_CODE_FUNCTION_NAME, ATTR_BEDTRACE_OBJECT_PATH};
	const char *reason;
	struct view w;

	pick(&w, s, keys, N_OF(keys));
	if (s->status == BT_STATUS_ERROR) {
		reason = str_attr(s, ATTR_BEDTRACE_END_REASON);
		view_str(&w, ATTR_ERROR_TYPE, reason ? reason : "error");
		view_str(&w, ATTR_OTEL_STATUS_CODE, "ERROR");
	}
	metric_record(sm->func_duration, s->resource, view_attrs(&w), seconds(s));
}

static void record_http(struct span_metrics *sm, const struct bt_span *s)
{
	static const char *const client_keys[] = {
	    ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVER_ADDRESS,
	    ATTR_SERVER_PORT,	      ATTR_NETWORK_PROTOCOL_VERSION,  ATTR_ERROR_TYPE,
	};
	static const char *const server_keys[] = {
	    ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE,
	    ATTR_URL_SCHEME,	      ATTR_NETWORK_PROTOCOL_VERSION,
	    ATTR_ERROR_TYPE,
	};
	bool server = s->kind == BT_KIND_SERVER;
	struct view w;

	if (server)
		pick(&w, s, server_keys, N_OF(server_keys));
	else
		pick(&w, s, client_keys, N_OF(client_keys));
	metric_record(server ? sm->http_server : sm->http_client, s->resource, view_attrs(&w),
		      seconds(s));
}

static void record_tokens(struct span_metrics *sm, const struct bt_span *s, struct view *w)
{
	const struct bt_genai_usage *u = &s->usage;

	/* a total that sums child spans would count their tokens twice */
	if (u->includes_children)
		return;
	if (u->has_tokens) {
		view_str(w, ATTR_GEN_AI_TOKEN_TYPE, "input");
		metric_record(sm->tokens, s->resource, view_attrs(w), (double)u->input_tokens);
		view_str(w, ATTR_GEN_AI_TOKEN_TYPE, "output");
		metric_record(sm->tokens, s->resource, view_attrs(w), (double)u->output_tokens);
		view_del(w, ATTR_GEN_AI_TOKEN_TYPE);
		if (u->cache_read_tokens > 0)
			metric_add(sm->cache_read, s->resource, view_attrs(w),
				   (double)u->cache_read_tokens);
		if (u->cache_write_tokens > 0)
			metric_add(sm->cache_write, s->resource, view_attrs(w),
				   (double)u->cache_write_tokens);
	}
	if (u->has_cost && u->cost_usd >= 0)
		metric_add(sm->cost, s->resource, view_attrs(w), u->cost_usd);
}

static void record_genai(struct span_metrics *sm, const struct bt_span *s, bool http)
{
	static const char *const keys[] = {
	    ATTR_GEN_AI_PROVIDER_NAME,	ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_REQUEST_MODEL,
	    ATTR_GEN_AI_RESPONSE_MODEL, ATTR_SERVER_ADDRESS,	    ATTR_ERROR_TYPE,
	};
	const char *op = str_attr(s, ATTR_GEN_AI_OPERATION_NAME);
	const struct bt_attrs *a;
	const struct bt_attr *ttfc;
	const char *action, *err;
	struct view w;
	uint32_t i;

	pick(&w, s, keys, N_OF(keys));
	a = view_attrs(&w);
	if (http)
		metric_record(sm->op_duration, s->resource, a, seconds(s));
	if (op && !strcmp(op, "invoke_agent"))
		metric_record(sm->agent_duration, s->resource, a, seconds(s));
	else if (op && !strcmp(op, "execute_tool"))
		metric_record(sm->tool_duration, s->resource, a, seconds(s));
	ttfc = bt_attrs_get(&s->attrs, ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK);
	if (ttfc && ttfc->type == BT_ATTR_DOUBLE)
		metric_record(sm->ttfc, s->resource, a, ttfc->d);
	for (i = 0; i < s->n_chunk_gaps; i++)
		metric_record(sm->tpoc, s->resource, a, s->chunk_gaps[i]);
	err = str_attr(s, ATTR_ERROR_TYPE);
	/* counts per call: error.type would split them by outcome for no use */
	view_del(&w, ATTR_ERROR_TYPE);
	if (http && (int_attr(s, ATTR_HTTP_RESPONSE_STATUS_CODE) == 429 ||
		     (err && !strcmp(err, "ThrottlingException"))))
		metric_add(sm->throttles, s->resource, a, 1);
	if (http && int_attr(s, ATTR_BEDTRACE_RETRY_PREVIOUS_ATTEMPTS) > 0)
		metric_add(sm->retries, s->resource, a, 1);
	action = str_attr(s, ATTR_AWS_BEDROCK_GUARDRAIL_ACTION);
	if (action && strcmp(action, "NONE") && strcmp(action, "none")) {
		view_str(&w, ATTR_AWS_BEDROCK_GUARDRAIL_ACTION, action);
		metric_add(sm->guardrail, s->resource, a, 1);
		view_del(&w, ATTR_AWS_BEDROCK_GUARDRAIL_ACTION);
	}
	record_tokens(sm, s, &w);
}

void span_metrics_record(struct span_metrics *sm, const struct bt_span *s)
{
	bool http;

	if (!sm || !s || (s->name && !strcmp(s->name, ATTR_BEDTRACE_CAPTURE_LOSS)))
		return;
	if (bt_attrs_get(&s->attrs, ATTR_CODE_FUNCTION_NAME)) {
		record_function(sm, s);
		return;
	}
	http = bt_attrs_get(&s->attrs, ATTR_HTTP_REQUEST_METHOD) != NULL;
	if (http)
		record_http(sm, s);
	if (bt_attrs_get(&s->attrs, ATTR_GEN_AI_OPERATION_NAME))
		record_genai(sm, s, http && s->kind == BT_KIND_CLIENT);
}

static void set_count(struct metric *i, const struct bt_attrs *a, uint64_t v)
{
	metric_set(i, NULL, a, (double)v);
}

void span_metrics_capture(struct span_metrics *sm, const struct metrics_capture *c)
{
	struct bt_attrs a = {0};
	size_t k, j;

	if (!sm || !c)
		return;
	set_count(sm->events, NULL, c->events);
	set_count(sm->bytes, NULL, c->bytes);
	set_count(sm->lost_bytes, NULL, c->lost_bytes);
	set_count(sm->truncated, NULL, c->truncated);
	set_count(sm->parse_errors, NULL, c->parse_errors);
	set_count(sm->selected, NULL, c->selected);
	metric_set(sm->traced, NULL, NULL, (double)c->traced);
	for (k = 0; k < c->n_lost && k < METRICS_MAX_REASONS; k++) {
		bt_attrs_set_str(&a, ATTR_BEDTRACE_LOSS_REASON, c->lost[k].reason);
		if (!a.err)
			set_count(sm->lost, &a, c->lost[k].n);
	}
	bt_attrs_clear(&a);
	for (k = 0; k < c->n_exports && k < N_OF(c->exports); k++) {
		bt_attrs_set_str(&a, ATTR_BEDTRACE_SIGNAL, c->exports[k].signal);
		bt_attrs_set_str(&a, ATTR_BEDTRACE_EXPORTER, c->exports[k].exporter);
		if (a.err)
			break;
		set_count(sm->exported, &a, c->exports[k].exported);
		metric_set(sm->spooled, NULL, &a, (double)c->exports[k].spooled);
		for (j = 0; j < N_OF(c->exports[k].dropped); j++) {
			if (!c->exports[k].dropped[j].reason)
				continue;
			bt_attrs_set_str(&a, ATTR_BEDTRACE_DROP_REASON,
					 c->exports[k].dropped[j].reason);
			if (!a.err)
				set_count(sm->dropped, &a, c->exports[k].dropped[j].n);
		}
		bt_attrs_clear(&a);
	}
	bt_attrs_clear(&a);
}
