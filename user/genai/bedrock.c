// SPDX-License-Identifier: MIT
/*
 * Amazon Bedrock spans: recognises Bedrock Runtime and Agent Runtime calls (endpoint host, SigV4
 * credential scope or bearer API key plus the operation's path shape), names the HTTP span per the
 * GenAI conventions and fills in model, parameters, usage, finish reasons, time to first chunk,
 * errors, retries, throttling and cost. Bodies are parsed by bedrock_body.c, stream events by
 * bedrock_stream.c, agent streams by bedrock_agent.c. The Authorization header is only read to find
 * the credential scope.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "genai/bedrock.h"
#include "util/pct.h"
#include "genai/bedrock_agent.h"
#include "genai/bedrock_body.h"
#include "genai/bedrock_content.h"
#include "genai/bedrock_stream.h"
#include "genai/prices.h"
#include "genai/usage.h"
#include "proto/eventstream.h"
#include "span/semconv.h"
#include "util/grow.h"
#include "util/log.h"

/* SDK invocations remembered for retry accounting; a retry comes within seconds. */
#define RETRY_SLOTS 512
#define MAX_SEGS 12

struct retry_slot {
	char id[72]; /* amz-sdk-invocation-id, a UUID */
	uint32_t attempts, throttles;
	uint64_t stamp;
};

struct bedrock_ctx {
	struct bedrock_opts opts;
	struct retry_slot slots[RETRY_SLOTS];
	uint64_t clock;
	uint64_t throttles;
};

struct bedrock_call {
	enum bedrock_op op;
	const char *aws_op; /* "Converse", ... or NULL */
	bool agent_runtime;
	char model[512];
	char region[32];
	char agent_id[128], alias_id[128], session_id[256];
	char kb_id[128], guardrail_id[256], guardrail_version[32];
};

struct bedrock_ctx *bedrock_ctx_new(const struct bedrock_opts *opts)
{
	struct bedrock_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	if (opts)
		ctx->opts = *opts;
	return ctx;
}

void bedrock_ctx_free(struct bedrock_ctx *ctx)
{
	free(ctx);
}

uint64_t bedrock_ctx_throttles(const struct bedrock_ctx *ctx)
{
	return ctx ? ctx->throttles : 0;
}

/* ---- recognition ---- */

/* Percent-decodes @in[0..@len) into @out (NUL-terminated, truncated to @cap). */
static void pct_decode(const char *in, size_t len, char *out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < cap; i++) {
		int c = pct_escape(in + i, in + len);

		if (c >= 0) {
			out[n++] = (char)c;
			i += 2;
		} else {
			out[n++] = in[i];
		}
	}
	out[n] = '\0';
}

static void copy_str(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * Endpoint hosts: [vpce-ID.]bedrock[-agent]-runtime[-fips].REGION.(amazonaws.com[.cn] |
 * api.aws | vpce.amazonaws.com). Returns 1 runtime, 2 agent runtime, 0 neither.
 */
static int host_service(const char *authority, char *region, size_t region_cap)
{
	static const char *const svc[] = {"bedrock-runtime", "bedrock-runtime-fips",
					  "bedrock-agent-runtime", "bedrock-agent-runtime-fips"};
	static const char *const tails[] = {"amazonaws.com", "amazonaws.com.cn", "api.aws",
					    "vpce.amazonaws.com", "vpce.amazonaws.com.cn"};
	char host[256], *label, *dot, *rest;
	size_t i, j, n;

	n = strcspn(authority, ":");
	if (authority[0] == '[' || n >= sizeof(host))
		return 0;
	for (i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)authority[i]);
	host[n] = '\0';
	if (n && host[n - 1] == '.')
		host[n - 1] = '\0'; /* fully qualified */
	for (label = host; label; label = dot ? dot + 1 : NULL) {
		dot = strchr(label, '.');
		if (!dot)
			return 0;
		for (i = 0; i < sizeof(svc) / sizeof(svc[0]); i++) {
			if ((size_t)(dot - label) != strlen(svc[i]) ||
			    strncmp(label, svc[i], strlen(svc[i])))
				continue;
			rest = strchr(dot + 1, '.');
			if (!rest)
				return 0;
			for (j = 0; j < sizeof(tails) / sizeof(tails[0]); j++) {
				if (strcmp(rest + 1, tails[j]))
					continue;
				copy_str(region, region_cap, dot + 1, (size_t)(rest - dot - 1));
				return i < 2 ? 1 : 2;
			}
			return 0;
		}
	}
	return 0;
}

/*
 * SigV4 "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...": copies
 * the region and service, nothing else. Returns true when the header has a credential scope.
 */
static bool sigv4_scope(const char *auth, char *region, size_t rcap, char *service, size_t scap)
{
	const char *p = auth ? strstr(auth, "Credential=") : NULL;
	const char *f[5];
	size_t i, end;

	if (!p)
		return false;
	p += strlen("Credential=");
	end = strcspn(p, ", ");
	f[0] = p;
	for (i = 1; i < 5; i++) {
		const char *s = memchr(f[i - 1], '/', end - (size_t)(f[i - 1] - p));

		if (!s)
			return false;
		f[i] = s + 1;
	}
	copy_str(region, rcap, f[2], (size_t)(f[3] - f[2] - 1));
	copy_str(service, scap, f[3], (size_t)(f[4] - f[3] - 1));
	return true;
}

/* Splits the path of @target (origin or absolute form, query dropped) into raw segments. */
static size_t path_segments(const char *target, const char **seg, size_t *len)
{
	const char *p = target, *end;
	size_t n = 0;

	if (!strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8)) {
		p = strstr(p, "://") + 3;
		p += strcspn(p, "/");
	}
	end = p + strcspn(p, "?#");
	while (p < end) {
		while (p < end && *p == '/')
			p++;
		if (p >= end)
			break;
		if (n == MAX_SEGS)
			return 0; /* deeper than any Bedrock path */
		seg[n] = p;
		p += strcspn(p, "/?#");
		len[n] = (size_t)(p - seg[n]);
		n++;
	}
	return n;
}

static bool seg_is(const char *seg, size_t len, const char *s)
{
	return len == strlen(s) && !strncmp(seg, s, len);
}

/* Fills @c->op and the path parameters from the path shape; returns false if not Bedrock's. */
static bool path_shape(const char *target, const char *method, struct bedrock_call *c)
{
	static const struct {
		const char *suffix, *aws_op;
		enum bedrock_op op;
	} model_ops[] = {
	    {"converse", "Converse", BEDROCK_OP_CONVERSE},
	    {"converse-stream", "ConverseStream", BEDROCK_OP_CONVERSE_STREAM},
	    {"invoke", "InvokeModel", BEDROCK_OP_INVOKE_MODEL},
	    {"invoke-with-response-stream", "InvokeModelWithResponseStream",
	     BEDROCK_OP_INVOKE_MODEL_STREAM},
	    {"count-tokens", "CountTokens", BEDROCK_OP_COUNT_TOKENS},
	};
	const char *seg[MAX_SEGS];
	size_t len[MAX_SEGS], n, i;
	bool post = method && !strcasecmp(method, "POST");

	n = path_segments(target, seg, len);
	if (n >= 3 && seg_is(seg[0], len[0], "model")) {
		for (i = 0; i < sizeof(model_ops) / sizeof(model_ops[0]); i++) {
			if (!seg_is(seg[n - 1], len[n - 1], model_ops[i].suffix))
				continue;
			/* an ARN sent with unencoded slashes spans several segments */
			pct_decode(seg[1], (size_t)(seg[n - 1] - 1 - seg[1]), c->model,
				   sizeof(c->model));
			c->op = model_ops[i].op;
			c->aws_op = model_ops[i].aws_op;
			return post;
		}
		return false;
	}
	if (n == 5 && seg_is(seg[0], len[0], "guardrail") && seg_is(seg[2], len[2], "version") &&
	    seg_is(seg[4], len[4], "apply")) {
		pct_decode(seg[1], len[1], c->guardrail_id, sizeof(c->guardrail_id));
		pct_decode(seg[3], len[3], c->guardrail_version, sizeof(c->guardrail_version));
		c->op = BEDROCK_OP_APPLY_GUARDRAIL;
		c->aws_op = "ApplyGuardrail";
		return post;
	}
	if (n == 7 && seg_is(seg[0], len[0], "agents") && seg_is(seg[2], len[2], "agentAliases") &&
	    seg_is(seg[4], len[4], "sessions") && seg_is(seg[6], len[6], "text")) {
		pct_decode(seg[1], len[1], c->agent_id, sizeof(c->agent_id));
		pct_decode(seg[3], len[3], c->alias_id, sizeof(c->alias_id));
		pct_decode(seg[5], len[5], c->session_id, sizeof(c->session_id));
		c->op = BEDROCK_OP_INVOKE_AGENT;
		c->aws_op = "InvokeAgent";
		c->agent_runtime = true;
		return post;
	}
	if (n == 3 && seg_is(seg[0], len[0], "knowledgebases") &&
	    seg_is(seg[2], len[2], "retrieve")) {
		pct_decode(seg[1], len[1], c->kb_id, sizeof(c->kb_id));
		c->op = BEDROCK_OP_RETRIEVE;
		c->aws_op = "Retrieve";
		c->agent_runtime = true;
		return post;
	}
	if (n == 1 && seg_is(seg[0], len[0], "retrieveAndGenerate")) {
		c->op = BEDROCK_OP_RETRIEVE_AND_GENERATE;
		c->aws_op = "RetrieveAndGenerate";
		c->agent_runtime = true;
		return post;
	}
	if (n == 1 && seg_is(seg[0], len[0], "retrieveAndGenerateStream")) {
		c->op = BEDROCK_OP_RETRIEVE_AND_GENERATE_STREAM;
		c->aws_op = "RetrieveAndGenerateStream";
		c->agent_runtime = true;
		return post;
	}
	return false;
}

/* Two-segment /agents/{sessionId} is too generic to trust without a Bedrock host or scope. */
static bool inline_agent_shape(const char *target, const char *method, struct bedrock_call *c)
{
	const char *seg[MAX_SEGS];
	size_t len[MAX_SEGS];

	if (path_segments(target, seg, len) != 2 || !seg_is(seg[0], len[0], "agents") || !method ||
	    strcasecmp(method, "POST"))
		return false;
	pct_decode(seg[1], len[1], c->session_id, sizeof(c->session_id));
	c->op = BEDROCK_OP_INVOKE_INLINE_AGENT;
	c->aws_op = "InvokeInlineAgent";
	c->agent_runtime = true;
	return true;
}

static bool call_parse(const struct http_exchange *ex, struct bedrock_call *c)
{
	const struct http_msg *req = &ex->req;
	const char *authority = req->authority, *auth;
	char scope_region[32] = "", service[32] = "";
	bool shape, scoped, bearer;
	int host;

	memset(c, 0, sizeof(*c));
	if (!ex->has_request || !req->target || ex->server_side)
		return false;
	if (!authority)
		authority = http_msg_header(req, "host");
	host = authority ? host_service(authority, c->region, sizeof(c->region)) : 0;
	auth = http_msg_header(req, "authorization");
	scoped = sigv4_scope(auth, scope_region, sizeof(scope_region), service, sizeof(service)) &&
		 !strcmp(service, "bedrock");
	bearer = auth && !strncasecmp(auth, "Bearer ", 7);
	shape = path_shape(req->target, req->method, c);
	if (!shape && (host || scoped))
		shape = inline_agent_shape(req->target, req->method, c);
	if (!c->region[0] && scoped)
		copy_str(c->region, sizeof(c->region), scope_region, strlen(scope_region));
	if (shape && (host || scoped || bearer))
		return true;
	if (!host)
		return false;
	/* a Bedrock endpoint, an operation not modelled (async invoke, flows, sessions...) */
	copy_str(scope_region, sizeof(scope_region), c->region, strlen(c->region));
	memset(c, 0, sizeof(*c));
	copy_str(c->region, sizeof(c->region), scope_region, strlen(scope_region));
	c->op = BEDROCK_OP_OTHER;
	c->agent_runtime = host == 2;
	return true;
}

bool bedrock_match(const struct http_exchange *ex)
{
	struct bedrock_call c;

	return call_parse(ex, &c);
}

/* ---- annotation ---- */

static const char *genai_operation(const struct bedrock_call *c, const struct bedrock_info *info)
{
	switch (c->op) {
	case BEDROCK_OP_CONVERSE:
	case BEDROCK_OP_CONVERSE_STREAM:
		return "chat";
	case BEDROCK_OP_INVOKE_MODEL:
	case BEDROCK_OP_INVOKE_MODEL_STREAM:
		if (strstr(c->model, "embed"))
			return "embeddings";
		return info->completion_style ? "text_completion" : "chat";
	case BEDROCK_OP_COUNT_TOKENS:
		return "count_tokens";
	case BEDROCK_OP_APPLY_GUARDRAIL:
		return "apply_guardrail";
	case BEDROCK_OP_INVOKE_AGENT:
	case BEDROCK_OP_INVOKE_INLINE_AGENT:
		return "invoke_agent";
	case BEDROCK_OP_RETRIEVE:
		return "retrieve";
	case BEDROCK_OP_RETRIEVE_AND_GENERATE:
	case BEDROCK_OP_RETRIEVE_AND_GENERATE_STREAM:
		return "retrieve_and_generate";
	default:
		return NULL;
	}
}

static bool header_int(const struct http_msg *m, const char *name, int64_t *out)
{
	const char *v = http_msg_header(m, name);
	char *end;
	long long n;

	if (!v)
		return false;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || n < 0)
		return false;
	*out = n;
	return true;
}

/* Exception events name their type in lowerCamel member form; error.type uses the shape name. */
static void set_error_type(char *dst, size_t cap, const char *type)
{
	copy_str(dst, cap, type, strcspn(type, ":"));
	dst[0] = (char)toupper((unsigned char)dst[0]);
}

/* A runtime stream being decoded: the facts, and where its first decoded frame started. */
struct stream_state {
	struct bedrock_info *info;
	bool any_frame;
	size_t first_off;
};

static int stream_message(void *arg, const struct es_message *m)
{
	struct stream_state *st = arg;
	struct bedrock_info *info = st->info;
	char mtype[32], ev[64];
	int r;

	if (!st->any_frame) {
		st->any_frame = true;
		st->first_off = m->offset;
	}
	es_header_str(m, ":message-type", mtype, sizeof(mtype));
	if (!strcmp(mtype, "exception") || !strcmp(mtype, "error")) {
		es_header_str(m, mtype[1] == 'x' ? ":exception-type" : ":error-code", ev,
			      sizeof(ev));
		info->n_events++;
		return bedrock_stream_exception(info, ev, m->payload, m->payload_len);
	}
	if (!es_header_str(m, ":event-type", ev, sizeof(ev)))
		return 0;
	r = bedrock_stream_event(info, ev, m->payload, m->payload_len);
	if (r > 0 && !info->has_first_chunk) {
		info->has_first_chunk = true;
		info->first_chunk_off = m->offset;
	}
	if (r > 0 && info->n_chunk_offs < BEDROCK_MAX_CHUNKS) {
		if (grow(&info->chunk_offs, &info->cap_chunk_offs, info->n_chunk_offs + 1,
			 sizeof(*info->chunk_offs)))
			return -ENOMEM;
		info->chunk_offs[info->n_chunk_offs++] = m->offset;
	}
	return r < 0 ? r : 0;
}

static int decode_stream(struct bedrock_info *info, const struct http_msg *resp)
{
	struct stream_state st = {.info = info};
	const char *err = NULL;
	ssize_t n;

	n = es_decode(resp->body, resp->body_len, 0, stream_message, &st, &err);
	if (n == -ENOMEM)
		return -ENOMEM;
	if (n < 0) {
		info->stream_error = err ? err : "corrupt event stream";
		/* no content came before the corruption: the first frame times the first chunk */
		if (st.any_frame && !info->has_first_chunk) {
			info->has_first_chunk = true;
			info->first_chunk_off = st.first_off;
		}
	} else if ((size_t)n < resp->body_len) {
		info->stream_partial = true;
	}
	return bedrock_stream_end(info);
}

static bool is_event_stream(const struct bedrock_call *c, const struct http_msg *resp)
{
	const char *ct = http_msg_header(resp, "content-type");

	if (ct)
		return strstr(ct, "application/vnd.amazon.eventstream") != NULL;
	return resp->status >= 200 && resp->status < 300 &&
	       (c->op == BEDROCK_OP_CONVERSE_STREAM || c->op == BEDROCK_OP_INVOKE_MODEL_STREAM ||
		c->op == BEDROCK_OP_INVOKE_AGENT || c->op == BEDROCK_OP_INVOKE_INLINE_AGENT ||
		c->op == BEDROCK_OP_RETRIEVE_AND_GENERATE_STREAM);
}

/* amz-sdk-invocation-id / amz-sdk-request: retries of one SDK call and their throttles. */
static int retry_account(struct bedrock_ctx *ctx, const struct http_msg *req, bool throttled,
			 struct bt_attrs *a)
{
	const char *id = http_msg_header(req, "amz-sdk-invocation-id");
	const char *sdk = http_msg_header(req, "amz-sdk-request");
	struct retry_slot *slot = NULL, *oldest = &ctx->slots[0];
	long attempt = 0, max = 0;
	const char *p;
	uint32_t prev;
	size_t i;

	if (throttled)
		ctx->throttles++;
	if (sdk && (p = strstr(sdk, "attempt=")))
		attempt = strtol(p + 8, NULL, 10);
	if (sdk && (p = strstr(sdk, "max=")))
		max = strtol(p + 4, NULL, 10);
	if (attempt > 0)
		bt_attrs_set_int(a, ATTR_AWS_SDK_ATTEMPT, attempt);
	if (max > 0)
		bt_attrs_set_int(a, ATTR_AWS_SDK_MAX_ATTEMPTS, max);
	if (!id || !*id)
		return a->err;
	bt_attrs_set_strn(a, ATTR_AWS_SDK_INVOCATION_ID, id, strnlen(id, sizeof(slot->id) - 1));
	for (i = 0; i < RETRY_SLOTS; i++) {
		if (ctx->slots[i].id[0] && !strncmp(ctx->slots[i].id, id, sizeof(slot->id) - 1)) {
			slot = &ctx->slots[i];
			break;
		}
		if (ctx->slots[i].stamp < oldest->stamp)
			oldest = &ctx->slots[i];
	}
	if (!slot) {
		slot = oldest;
		memset(slot, 0, sizeof(*slot));
		copy_str(slot->id, sizeof(slot->id), id, strlen(id));
	}
	slot->stamp = ++ctx->clock;
	prev = slot->attempts++;
	if (throttled)
		slot->throttles++;
	if (prev || attempt > 1)
		bt_attrs_set_int(a, ATTR_BEDTRACE_RETRY_PREVIOUS_ATTEMPTS, prev);
	if (slot->throttles)
		bt_attrs_set_int(a, ATTR_BEDTRACE_BEDROCK_THROTTLE_COUNT, slot->throttles);
	return a->err;
}

/* Usage from the body, the invocation metrics or the response headers, and its cost. */
static int set_usage_and_cost(const struct bedrock_opts *o, const struct bedrock_call *c,
			      const struct bedrock_info *info, const struct http_msg *resp,
			      struct bt_span *span)
{
	struct bedrock_usage hdr = {0}, u;
	const char *model = c->model[0] ? c->model : info->rag_model;
	struct genai_usage g;
	struct price price;

	hdr.has_input = header_int(resp, "x-amzn-bedrock-input-token-count", &hdr.input);
	hdr.has_output = header_int(resp, "x-amzn-bedrock-output-token-count", &hdr.output);
	hdr.has_cache_read =
	    header_int(resp, "x-amzn-bedrock-cache-read-input-token-count", &hdr.cache_read);
	hdr.has_cache_write =
	    header_int(resp, "x-amzn-bedrock-cache-write-input-token-count", &hdr.cache_write);
	u = bedrock_usage_merge(info, &hdr);
	if (!u.has_input && !u.has_output)
		return 0;
	g = (struct genai_usage){
	    /* GenAI conventions: input tokens include cached ones */
	    .input = u.input + u.cache_read + u.cache_write,
	    .output = u.output,
	    .cache_read = u.cache_read,
	    .cache_write = u.cache_write,
	    .has_input = true,
	    .has_output = u.has_output,
	    .has_cache_read = u.has_cache_read,
	    .has_cache_write = u.has_cache_write,
	};
	if (price_lookup(o->prices, model, &price) &&
	    price_lookup(o->prices, info->response_model, &price)) {
		g.unknown_model = true;
	} else {
		g.has_cost = true;
		g.cost_usd = price_cost(&price, g.input, u.output, u.cache_read, u.cache_write);
	}
	return genai_set_usage(span, &g);
}

static int set_request_attrs(const struct bedrock_call *c, const struct bedrock_info *info,
			     struct bt_attrs *a)
{
	const char *kb = c->kb_id[0] ? c->kb_id : info->kb_id;

	if (info->has_max_tokens)
		bt_attrs_set_int(a, ATTR_GEN_AI_REQUEST_MAX_TOKENS, info->max_tokens);
	if (info->has_temperature)
		bt_attrs_set_double(a, ATTR_GEN_AI_REQUEST_TEMPERATURE, info->temperature);
	if (info->has_top_p)
		bt_attrs_set_double(a, ATTR_GEN_AI_REQUEST_TOP_P, info->top_p);
	if (info->has_top_k)
		bt_attrs_set_double(a, ATTR_GEN_AI_REQUEST_TOP_K, info->top_k);
	if (info->n_stop)
		bt_attrs_set_str_array(a, ATTR_GEN_AI_REQUEST_STOP_SEQUENCES,
				       (const char *const *)info->stop, info->n_stop);
	if (c->guardrail_id[0])
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_GUARDRAIL_ID, c->guardrail_id);
	if (c->guardrail_version[0])
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_GUARDRAIL_VERSION, c->guardrail_version);
	if (info->guardrail_source)
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_GUARDRAIL_SOURCE, info->guardrail_source);
	if (kb) {
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_KNOWLEDGE_BASE_ID, kb);
		bt_attrs_set_str(a, ATTR_GEN_AI_DATA_SOURCE_ID, kb);
	}
	if (info->requested_results > 0)
		bt_attrs_set_int(a, ATTR_BEDTRACE_RETRIEVAL_REQUESTED_RESULTS,
				 info->requested_results);
	if (info->session_id)
		bt_attrs_set_str(a, ATTR_GEN_AI_CONVERSATION_ID, info->session_id);
	return a->err;
}

static int set_response_attrs(const struct bedrock_info *info, struct bt_attrs *a)
{
	if (info->response_model)
		bt_attrs_set_str(a, ATTR_GEN_AI_RESPONSE_MODEL, info->response_model);
	if (info->response_id)
		bt_attrs_set_str(a, ATTR_GEN_AI_RESPONSE_ID, info->response_id);
	if (info->n_finish)
		bt_attrs_set_str_array(a, ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
				       (const char *const *)info->finish, info->n_finish);
	if (info->has_counted_tokens)
		bt_attrs_set_int(a, ATTR_AWS_BEDROCK_COUNT_TOKENS_INPUT_TOKENS,
				 info->counted_tokens);
	if (info->n_results >= 0 &&
	    (info->op == BEDROCK_OP_RETRIEVE || info->op == BEDROCK_OP_RETRIEVE_AND_GENERATE ||
	     info->op == BEDROCK_OP_RETRIEVE_AND_GENERATE_STREAM))
		bt_attrs_set_int(a, ATTR_BEDTRACE_RETRIEVAL_RESULTS, info->n_results);
	if (info->n_citations >= 0)
		bt_attrs_set_int(a, ATTR_BEDTRACE_RETRIEVAL_CITATIONS, info->n_citations);
	if (info->guardrail_action)
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_GUARDRAIL_ACTION, info->guardrail_action);
	if (info->guardrail_units)
		bt_attrs_set_int(a, ATTR_AWS_BEDROCK_GUARDRAIL_UNITS, info->guardrail_units);
	if (info->n_events)
		bt_attrs_set_int(a, ATTR_BEDTRACE_EVENTSTREAM_EVENTS, (int64_t)info->n_events);
	if (info->parse_error)
		bt_attrs_set_str(a, ATTR_BEDTRACE_BEDROCK_PARSE_ERROR, info->parse_error);
	if (!info->capture)
		return a->err;
	bedrock_content_set_attr(a, ATTR_GEN_AI_INPUT_MESSAGES, info->input_messages);
	bedrock_content_set_attr(a, ATTR_GEN_AI_OUTPUT_MESSAGES, info->output_messages);
	bedrock_content_set_attr(a, ATTR_GEN_AI_SYSTEM_INSTRUCTIONS, info->system_instructions);
	bedrock_content_set_attr(a, ATTR_BEDTRACE_RETRIEVAL_DOCUMENTS, info->documents);
	if (info->content_truncated)
		bt_attrs_set_bool(a, ATTR_BEDTRACE_CONTENT_TRUNCATED, true);
	return a->err;
}

/* The time between each content event and the one before it, as it crossed the wire. */
static int chunk_gaps(const struct http_exchange *ex, struct bt_span *span,
		      const struct bedrock_info *info)
{
	uint64_t prev = 0, ts;
	size_t i;

	if (info->n_chunk_offs < 2)
		return 0;
	span->chunk_gaps = calloc(info->n_chunk_offs - 1, sizeof(*span->chunk_gaps));
	if (!span->chunk_gaps)
		return -ENOMEM;
	for (i = 0; i < info->n_chunk_offs; i++) {
		ts = http_msg_body_time(&ex->resp, info->chunk_offs[i]);
		if (ts && prev && ts >= prev)
			span->chunk_gaps[span->n_chunk_gaps++] = (float)((double)(ts - prev) / 1e9);
		if (ts)
			prev = ts;
	}
	return 0;
}

static int first_chunk(const struct http_exchange *ex, struct bt_span *span,
		       const struct bedrock_info *info)
{
	uint64_t ts;

	if (chunk_gaps(ex, span, info))
		return -ENOMEM;

	if (!info->has_first_chunk || !ex->req.start_ns)
		return 0;
	ts = http_msg_body_time(&ex->resp, info->first_chunk_off);
	if (!ts || ts < ex->req.start_ns)
		return 0;
	if (bt_attrs_set_double(&span->attrs, ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
				(double)(ts - ex->req.start_ns) / 1e9))
		return -ENOMEM;
	return bt_span_add_event(span, EVENT_GEN_AI_FIRST_CHUNK, bedrock_span_time(ex, span, ts))
		   ? 0
		   : -ENOMEM;
}

/*
 * error.type: x-amzn-ErrorType up to ':', an error body's __type, a stream exception, 429 as
 * ThrottlingException, other 4xx/5xx as the status code; a corrupt stream last.
 */
static int set_error(struct bedrock_ctx *ctx, const struct http_exchange *ex,
		     struct bedrock_info *info, struct bt_span *span, bool *throttled)
{
	const char *hdr = ex->has_response ? http_msg_header(&ex->resp, "x-amzn-errortype") : NULL;
	int status = ex->has_response ? ex->resp.status : 0;
	char type[64] = "", msg[320];

	if (hdr && *hdr && status >= 400)
		set_error_type(type, sizeof(type), hdr);
	else if (info->error_type[0])
		set_error_type(type, sizeof(type), info->error_type);
	else if (status == 429)
		snprintf(type, sizeof(type), "ThrottlingException");
	else if (status >= 400)
		snprintf(type, sizeof(type), "%d", status);
	else if (info->stream_error)
		snprintf(type, sizeof(type), "%s", ATTR_BEDTRACE_EVENTSTREAM_CORRUPT);
	*throttled = status == 429 || !strcmp(type, "ThrottlingException");
	if (!type[0])
		return 0;
	if (bt_attrs_set_str(&span->attrs, ATTR_ERROR_TYPE, type))
		return span->attrs.err;
	/* AWS messages can quote the request; they are content */
	if (ctx->opts.capture_content && info->error_message)
		snprintf(msg, sizeof(msg), "%s: %s", type, info->error_message);
	else if (info->stream_error && !info->error_type[0] && status < 400)
		snprintf(msg, sizeof(msg), "%s", info->stream_error);
	else
		snprintf(msg, sizeof(msg), "%s", type);
	return bt_span_set_status(span, BT_STATUS_ERROR, msg);
}

static int set_name(const struct bedrock_call *c, const struct bedrock_info *info, const char *op,
		    struct bt_span *span)
{
	const char *target = c->model;
	char name[640];

	if (c->op == BEDROCK_OP_APPLY_GUARDRAIL)
		target = c->guardrail_id;
	else if (c->op == BEDROCK_OP_INVOKE_AGENT || c->op == BEDROCK_OP_INVOKE_INLINE_AGENT)
		target = c->agent_id;
	else if (c->op == BEDROCK_OP_RETRIEVE || c->op == BEDROCK_OP_RETRIEVE_AND_GENERATE ||
		 c->op == BEDROCK_OP_RETRIEVE_AND_GENERATE_STREAM)
		target = c->kb_id[0] ? c->kb_id : info->kb_id ? info->kb_id : "";
	if (target && *target)
		snprintf(name, sizeof(name), "%s %s", op, target);
	else
		snprintf(name, sizeof(name), "%s", op);
	return bt_span_set_name(span, name);
}

/* Reads the request body and the response (body, runtime stream or agent stream) into @info. */
static int parse_bodies(struct bedrock_ctx *ctx, const struct bedrock_call *c,
			const struct http_exchange *ex, struct bt_span *span,
			struct bedrock_info *info, struct bt_span ***children, size_t *n_children)
{
	const struct http_msg *resp = &ex->resp;
	bool agent = c->op == BEDROCK_OP_INVOKE_AGENT || c->op == BEDROCK_OP_INVOKE_INLINE_AGENT;
	int err = bedrock_body_request(info, ex->req.body, ex->req.body_len);

	if (err || !ex->has_response)
		return err;
	if (agent && is_event_stream(c, resp)) {
		struct bedrock_agent_req areq = {
		    .capture = ctx->opts.capture_content,
		    .prices = ctx->opts.prices,
		    .agent_id = c->agent_id[0] ? c->agent_id : NULL,
		    .alias_id = c->alias_id,
		    .session_id = c->session_id,
		};

		return bedrock_agent_annotate(&areq, ex, span, info, children, n_children);
	}
	if (is_event_stream(c, resp))
		return decode_stream(info, resp);
	return bedrock_body_response(info, resp->body, resp->body_len);
}

static int annotate(struct bedrock_ctx *ctx, const struct bedrock_call *c,
		    const struct http_exchange *ex, struct bt_span *span, struct bedrock_info *info,
		    struct bt_span ***children, size_t *n_children)
{
	struct bt_attrs *a = &span->attrs;
	const struct http_msg *resp = &ex->resp;
	const char *op, *rid, *guardrail;
	bool agent = c->op == BEDROCK_OP_INVOKE_AGENT || c->op == BEDROCK_OP_INVOKE_INLINE_AGENT;
	bool throttled = false, truncated = ex->req.truncated;
	int err;

	bt_attrs_set_str(a, ATTR_GEN_AI_PROVIDER_NAME, GEN_AI_PROVIDER_AWS_BEDROCK);
	bt_attrs_set_str(a, ATTR_RPC_SYSTEM, "aws-api");
	bt_attrs_set_str(a, ATTR_RPC_SERVICE,
			 c->agent_runtime ? "BedrockAgentRuntime" : "BedrockRuntime");
	if (c->aws_op) {
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_OPERATION, c->aws_op);
		bt_attrs_set_str(a, ATTR_RPC_METHOD, c->aws_op);
	}
	if (c->region[0])
		bt_attrs_set_str(a, ATTR_CLOUD_REGION, c->region);
	if (c->model[0])
		bt_attrs_set_str(a, ATTR_GEN_AI_REQUEST_MODEL, c->model);
	if (c->agent_id[0])
		bt_attrs_set_str(a, ATTR_GEN_AI_AGENT_ID, c->agent_id);
	if (c->alias_id[0])
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_AGENT_ALIAS_ID, c->alias_id);
	if (c->session_id[0])
		bt_attrs_set_str(a, ATTR_GEN_AI_CONVERSATION_ID, c->session_id);
	guardrail = http_msg_header(&ex->req, "x-amzn-bedrock-guardrailidentifier");
	if (!c->guardrail_id[0] && guardrail)
		bt_attrs_set_str(a, ATTR_AWS_BEDROCK_GUARDRAIL_ID, guardrail);
	if (ex->has_response && (rid = http_msg_header(resp, "x-amzn-requestid")))
		bt_attrs_set_str(a, ATTR_AWS_REQUEST_ID, rid);
	if (a->err)
		return a->err;

	err = parse_bodies(ctx, c, ex, span, info, children, n_children);
	if (err)
		return err;
	truncated = truncated || (ex->has_response && resp->truncated);

	op = genai_operation(c, info);
	if (op)
		bt_attrs_set_str(a, ATTR_GEN_AI_OPERATION_NAME, op);
	/* the answer was asked for as a stream of chunks (agents always answer so) */
	bt_attrs_set_bool(
	    a, ATTR_GEN_AI_REQUEST_STREAM,
	    c->op == BEDROCK_OP_CONVERSE_STREAM || c->op == BEDROCK_OP_INVOKE_MODEL_STREAM ||
		c->op == BEDROCK_OP_RETRIEVE_AND_GENERATE_STREAM ||
		c->op == BEDROCK_OP_INVOKE_AGENT || c->op == BEDROCK_OP_INVOKE_INLINE_AGENT);
	set_request_attrs(c, info, a);
	set_response_attrs(info, a);
	if (!agent && c->op != BEDROCK_OP_COUNT_TOKENS)
		set_usage_and_cost(&ctx->opts, c, info, resp, span);
	if (a->err)
		return a->err;
	err = first_chunk(ex, span, info);
	if (err)
		return err;
	if (info->stream_error)
		bt_attrs_set_str(a, ATTR_BEDTRACE_EVENTSTREAM_ERROR, info->stream_error);
	if (info->stream_partial && !resp->truncated)
		bt_attrs_set_str(a, ATTR_BEDTRACE_EVENTSTREAM_ERROR, "stream ends inside a frame");
	if (truncated || info->stream_partial)
		bt_attrs_set_bool(a, ATTR_BEDTRACE_CAPTURE_TRUNCATED, true);
	if (a->err)
		return a->err;
	err = set_error(ctx, ex, info, span, &throttled);
	if (err)
		return err;
	err = retry_account(ctx, &ex->req, throttled, a);
	if (err || !op)
		return err;
	return set_name(c, info, op, span);
}

int bedrock_annotate(struct bedrock_ctx *ctx, const struct http_exchange *ex, struct bt_span *span,
		     struct bt_span ***children, size_t *n_children)
{
	struct bedrock_info info = {0};
	struct bedrock_call c;
	int err;

	if (!call_parse(ex, &c))
		return 0;
	info.op = c.op;
	info.capture = ctx->opts.capture_content;
	info.n_results = -1;
	info.n_citations = -1;
	err = annotate(ctx, &c, ex, span, &info, children, n_children);
	if (err)
		pr_debug("bedrock: annotating %s failed: %s\n", c.aws_op ? c.aws_op : "call",
			 strerror(-err));
	bedrock_info_clear(&info);
	return err;
}
