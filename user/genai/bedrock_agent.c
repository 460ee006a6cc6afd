// SPDX-License-Identifier: MIT
/*
 * InvokeAgent response streams. Decodes the event stream, stamps each event with the time it
 * crossed the wire, hands trace events to bedrock_agent_trace.c, and keeps what belongs to the
 * InvokeAgent span itself: answer chunks (count, bytes, citations, the answer text with capture),
 * return-control and file events, the usage and cost summed over the steps, stream errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genai/bedrock_agent.h"
#include "genai/bedrock_agent_trace.h"
#include "genai/bedrock_agent_tree.h"
#include "genai/bedrock_content.h"
#include "genai/bedrock_json.h"
#include "genai/bedrock_stream.h"
#include "genai/usage.h"
#include "proto/eventstream.h"
#include "span/semconv.h"
#include "util/grow.h"

#define ANSWER_CAP (256u << 10)

/* One InvokeAgent response being decoded: the span tree and the root's own facts. */
struct agent_stream {
	struct agent_tree tree;
	const struct http_exchange *ex;
	struct bedrock_info *info;
	int64_t chunks, answer_bytes, citations, files;
	char *answer;
	size_t answer_len, answer_cap;
	bool answer_truncated;
};

uint64_t bedrock_span_time(const struct http_exchange *ex, const struct bt_span *span,
			   uint64_t mono_ns)
{
	if (!ex->req.start_ns || !span->start_ns)
		return bt_mono_to_unix_ns(mono_ns);
	return span->start_ns + (uint64_t)((int64_t)(mono_ns - ex->req.start_ns));
}

static int answer_chunk(struct agent_stream *st, const cJSON *part, size_t off)
{
	const char *b64 = jstr(part, "bytes");
	const cJSON *cit = J(J(part, "attribution"), "citations");
	uint8_t *raw;
	size_t len, n;

	st->chunks++;
	if (cJSON_IsArray(cit))
		st->citations += cJSON_GetArraySize(cit);
	if (!st->info->has_first_chunk) {
		st->info->has_first_chunk = true;
		st->info->first_chunk_off = off;
	}
	if (!b64)
		return 0;
	raw = bedrock_b64_decode(b64, strlen(b64), &len);
	if (!raw) {
		if (errno == ENOMEM)
			return -ENOMEM;
		st->info->parse_error = "agent chunk bytes are not base64";
		return 0;
	}
	st->answer_bytes += (int64_t)len;
	if (st->tree.req->capture) {
		n = len;
		if (st->answer_len + n > ANSWER_CAP) {
			n = ANSWER_CAP - st->answer_len;
			st->answer_truncated = true;
		}
		if (grow(&st->answer, &st->answer_cap, st->answer_len + n + 1, 1)) {
			free(raw);
			return -ENOMEM;
		}
		memcpy(st->answer + st->answer_len, raw, n);
		st->answer_len += n;
		st->answer[st->answer_len] = '\0';
	}
	free(raw);
	return 0;
}

static int return_control(struct agent_tree *t, const cJSON *part)
{
	struct bt_span_event *e =
	    bt_span_add_event(t->root, ATTR_GEN_AI_AGENT_RETURN_CONTROL, t->now);

	if (!e)
		return -ENOMEM;
	if (jstr(part, "invocationId") &&
	    bt_attrs_set_str(&e->attrs, EVENT_ATTR_INVOCATION_ID, jstr(part, "invocationId")))
		return -ENOMEM;
	return bt_attrs_set_bool(&t->root->attrs, ATTR_BEDTRACE_AGENT_RETURN_CONTROL, true);
}

static int on_message(void *arg, const struct es_message *m)
{
	struct agent_stream *st = arg;
	struct agent_tree *t = &st->tree;
	struct bedrock_info *info = st->info;
	uint64_t ts = http_msg_body_time(&st->ex->resp, m->offset);
	char mtype[32], ev[64];
	cJSON *part;
	int err = 0;

	t->now = ts	   ? bedrock_span_time(st->ex, t->root, ts)
		 : t->last ? t->last
			   : t->root->start_ns;
	if (t->now > t->last)
		t->last = t->now;
	info->n_events++;
	es_header_str(m, ":message-type", mtype, sizeof(mtype));
	if (!strcmp(mtype, "exception") || !strcmp(mtype, "error")) {
		es_header_str(m, mtype[1] == 'x' ? ":exception-type" : ":error-code", ev,
			      sizeof(ev));
		return bedrock_stream_exception(info, ev, m->payload, m->payload_len);
	}
	if (!es_header_str(m, ":event-type", ev, sizeof(ev)))
		return 0;
	part = cJSON_ParseWithLength((const char *)m->payload, m->payload_len);
	if (!part || !cJSON_IsObject(part)) {
		if (!info->parse_error)
			info->parse_error = "agent event payload is not a JSON object";
		cJSON_Delete(part);
		return 0;
	}
	if (!strcmp(ev, "chunk")) {
		err = answer_chunk(st, part, m->offset);
	} else if (!strcmp(ev, "trace")) {
		err = agent_trace_event(t, part);
	} else if (!strcmp(ev, "returnControl")) {
		err = return_control(t, part);
	} else if (!strcmp(ev, "files")) {
		st->files += cJSON_GetArraySize(J(part, "files"));
	}
	cJSON_Delete(part);
	return err;
}

static int finish(struct agent_stream *st)
{
	struct agent_tree *t = &st->tree;
	struct bt_attrs *a = &t->root->attrs;
	/* the sums of the steps': exporters and metrics summing usage must skip this span */
	struct genai_usage total = {
	    .input = t->total.input,
	    .output = t->total.output,
	    .cost_usd = t->cost,
	    .has_input = t->total.has_input,
	    .has_output = t->total.has_output,
	    .has_cost = t->any_cost,
	    .unknown_model = t->unknown_price,
	    .includes_children = true,
	};
	int err;

	err = agent_tree_finish(t);
	if (err)
		return err;
	bt_attrs_set_int(a, ATTR_BEDTRACE_AGENT_ANSWER_CHUNKS, st->chunks);
	bt_attrs_set_int(a, ATTR_BEDTRACE_AGENT_ANSWER_BYTES, st->answer_bytes);
	if (st->citations)
		bt_attrs_set_int(a, ATTR_BEDTRACE_AGENT_CITATIONS, st->citations);
	if (st->files)
		bt_attrs_set_int(a, ATTR_BEDTRACE_AGENT_FILES, st->files);
	if (*t->n_children)
		bt_attrs_set_int(a, ATTR_BEDTRACE_AGENT_TRACE_SPANS, (int64_t)*t->n_children);
	genai_set_usage(t->root, &total);
	if (t->failed && !st->info->error_type[0])
		snprintf(st->info->error_type, sizeof(st->info->error_type), "AgentFailure");
	if (t->req->capture && st->answer)
		bedrock_content_set_text_attr(a, ATTR_GEN_AI_OUTPUT_MESSAGES, "assistant",
					      st->answer);
	if (st->answer_truncated)
		bt_attrs_set_bool(a, ATTR_BEDTRACE_CONTENT_TRUNCATED, true);
	return a->err;
}

int bedrock_agent_annotate(const struct bedrock_agent_req *req, const struct http_exchange *ex,
			   struct bt_span *root, struct bedrock_info *info,
			   struct bt_span ***children, size_t *n_children)
{
	struct agent_stream *st;
	const char *derr = NULL;
	ssize_t n;
	int err;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	agent_tree_init(&st->tree, req, root, children, n_children);
	st->ex = ex;
	st->info = info;

	n = es_decode(ex->resp.body, ex->resp.body_len, 0, on_message, st, &derr);
	if (n == -ENOMEM) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (n < 0)
		info->stream_error = derr ? derr : "corrupt event stream";
	else if ((size_t)n < ex->resp.body_len)
		info->stream_partial = true;
	err = finish(st);
cleanup:
	free(st->answer);
	free(st);
	return err;
}
