// SPDX-License-Identifier: MIT
/*
 * Bedrock stream events. Model families are told apart by their chunk's keys, as for whole
 * bodies; streamed content is appended to the block of its index (tool calls by their own index,
 * OpenAI-style choices spread 64 apart) so interleaved blocks reassemble in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genai/bedrock_content.h"
#include "genai/bedrock_json.h"
#include "genai/bedrock_stream.h"
#include "util/grow.h"

/* A captured text stops growing here: attributes are for reading, not for archiving. */
#define BLOCK_CAP (256u << 10)

static struct bedrock_block *block_get(struct bedrock_info *info, int index, int type)
{
	struct bedrock_block *b;
	size_t i;

	for (i = 0; i < info->n_blocks; i++)
		if (info->blocks[i].index == index)
			return &info->blocks[i];
	if (info->n_blocks == BEDROCK_MAX_BLOCKS) {
		info->content_truncated = true;
		return NULL;
	}
	b = &info->blocks[info->n_blocks++];
	memset(b, 0, sizeof(*b));
	b->index = index;
	b->type = type;
	return b;
}

static int block_append(struct bedrock_info *info, struct bedrock_block *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n > BLOCK_CAP) {
		info->content_truncated = true;
		n = BLOCK_CAP - b->len;
	}
	if (grow(&b->buf, &b->cap, b->len + n + 1, 1))
		return -ENOMEM;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

/* Adds streamed content to block @index; returns 1 when there was content, or -ENOMEM. */
static int stream_content(struct bedrock_info *info, int index, int type, const char *s)
{
	struct bedrock_block *b;

	if (!s || (!*s && type != BLOCK_TOOL_CALL))
		return 0;
	if (!info->capture)
		return 1;
	b = block_get(info, index, type);
	if (b && block_append(info, b, s))
		return -ENOMEM;
	return 1;
}

static int stream_tool_start(struct bedrock_info *info, int index, const char *id, const char *name)
{
	struct bedrock_block *b;

	if (!info->capture)
		return 1;
	b = block_get(info, index, BLOCK_TOOL_CALL);
	if (!b)
		return 1;
	b->type = BLOCK_TOOL_CALL;
	if (set_str(&b->id, id) || set_str(&b->name, name))
		return -ENOMEM;
	return 1;
}

static int block_index(const cJSON *o, const char *key)
{
	int64_t i = 0;

	return jint(o, key, &i) && i >= 0 && i < 1 << 20 ? (int)i : 0;
}

/* ConverseStream events, and the same events inside Nova InvokeModel chunks. */
static int converse_event(struct bedrock_info *info, const char *ev, const cJSON *o)
{
	int idx = block_index(o, "contentBlockIndex");
	const cJSON *d = J(o, "delta"), *tu = J(J(o, "start"), "toolUse");

	if (!strcmp(ev, "messageStart")) {
		if (jstr(o, "role"))
			snprintf(info->role, sizeof(info->role), "%s", jstr(o, "role"));
	} else if (!strcmp(ev, "contentBlockStart") && tu) {
		return stream_tool_start(info, idx, jstr(tu, "toolUseId"), jstr(tu, "name"));
	} else if (!strcmp(ev, "contentBlockDelta")) {
		if (jstr(d, "text"))
			return stream_content(info, idx, BLOCK_TEXT, jstr(d, "text"));
		if (J(d, "toolUse"))
			return stream_content(info, idx, BLOCK_TOOL_CALL,
					      jstr(J(d, "toolUse"), "input"));
		if (J(d, "reasoningContent"))
			return stream_content(info, idx, BLOCK_REASONING,
					      jstr(J(d, "reasoningContent"), "text"));
	} else if (!strcmp(ev, "messageStop")) {
		return bedrock_info_add_finish(info, jstr(o, "stopReason"));
	} else if (!strcmp(ev, "metadata")) {
		bedrock_usage_read(&info->body_usage, J(o, "usage"));
	}
	return 0;
}

static int anthropic_chunk(struct bedrock_info *info, const char *type, const cJSON *o)
{
	const cJSON *m = J(o, "message"), *cb = J(o, "content_block"), *d = J(o, "delta");
	int idx = block_index(o, "index");
	const char *dt = jstr(d, "type");
	int err;

	if (!strcmp(type, "message_start")) {
		bedrock_usage_read(&info->body_usage, J(m, "usage"));
		/* output_tokens here is a placeholder; message_delta has the real count */
		info->body_usage.has_output = false;
		err = set_str(&info->response_id, jstr(m, "id"));
		return err ? err : set_str(&info->response_model, jstr(m, "model"));
	}
	if (!strcmp(type, "content_block_start")) {
		if (jstr(cb, "type") && !strcmp(jstr(cb, "type"), "tool_use"))
			return stream_tool_start(info, idx, jstr(cb, "id"), jstr(cb, "name"));
		return stream_content(info, idx, BLOCK_TEXT, jstr(cb, "text"));
	}
	if (!strcmp(type, "content_block_delta") && dt) {
		if (!strcmp(dt, "input_json_delta"))
			return stream_content(info, idx, BLOCK_TOOL_CALL, jstr(d, "partial_json"));
		if (!strcmp(dt, "thinking_delta"))
			return stream_content(info, idx, BLOCK_REASONING, jstr(d, "thinking"));
		return stream_content(info, idx, BLOCK_TEXT, jstr(d, "text"));
	}
	if (!strcmp(type, "message_delta")) {
		bedrock_usage_read(&info->body_usage, J(o, "usage"));
		return bedrock_info_add_finish(info, jstr(d, "stop_reason"));
	}
	if (!strcmp(type, "completion")) {
		err = bedrock_info_add_finish(info, jstr(o, "stop_reason"));
		return err ? err : stream_content(info, 0, BLOCK_TEXT, jstr(o, "completion"));
	}
	return 0;
}

static int openai_chunk(struct bedrock_info *info, const cJSON *choices)
{
	const cJSON *c, *d, *tc;
	int idx, r, any = 0;

	cJSON_ArrayForEach(c, choices)
	{
		d = J(c, "delta");
		idx = block_index(c, "index") * 64;
		if ((r = stream_content(info, idx, BLOCK_TEXT, jstr(d, "content"))) < 0)
			return r;
		any |= r;
		cJSON_ArrayForEach(tc, J(d, "tool_calls"))
		{
			int ti = idx + 1 + block_index(tc, "index") % 63;

			if (jstr(tc, "id") &&
			    (r = stream_tool_start(info, ti, jstr(tc, "id"),
						   jstr(J(tc, "function"), "name"))) < 0)
				return r;
			if ((r = stream_content(info, ti, BLOCK_TOOL_CALL,
						jstr(J(tc, "function"), "arguments"))) < 0)
				return r;
			any = 1;
		}
		if ((r = bedrock_info_add_finish(info, jstr(c, "finish_reason"))))
			return r;
	}
	return any;
}

/* One decoded InvokeModelWithResponseStream chunk of any model family. */
static int model_chunk(struct bedrock_info *info, const cJSON *o)
{
	static const char *const nova[] = {"messageStart",	"contentBlockStart",
					   "contentBlockDelta", "contentBlockStop",
					   "messageStop",	"metadata"};
	const char *type = jstr(o, "type"), *text, *reason;
	const cJSON *arr, *it;
	int r, any = 0;
	size_t i;

	bedrock_usage_read(&info->metrics_usage, J(o, "amazon-bedrock-invocationMetrics"));
	if (type)
		return anthropic_chunk(info, type, o);
	for (i = 0; i < sizeof(nova) / sizeof(nova[0]); i++) {
		if (!J(o, nova[i]))
			continue;
		if ((r = converse_event(info, nova[i], J(o, nova[i]))) < 0)
			return r;
		any |= r;
	}
	if (any || J(o, "messageStop") || J(o, "metadata") || J(o, "messageStart"))
		return any;
	bedrock_usage_read(&info->body_usage, o); /* Titan, Llama token counts */
	bedrock_usage_read(&info->body_usage, J(J(J(o, "response"), "meta"), "billed_units"));
	if (jstr(o, "outputText") || jstr(o, "generation")) { /* Titan, Llama */
		text = jstr(o, "outputText") ? jstr(o, "outputText") : jstr(o, "generation");
		reason = jstr(o, "completionReason") ? jstr(o, "completionReason")
						     : jstr(o, "stop_reason");
		r = stream_content(info, block_index(o, "index"), BLOCK_TEXT, text);
		if (r < 0)
			return r;
		return bedrock_info_add_finish(info, reason) ? -ENOMEM : r;
	}
	if ((arr = J(o, "outputs")) || (arr = J(o, "generations"))) { /* Mistral, Cohere */
		i = 0;
		cJSON_ArrayForEach(it, arr)
		{
			if ((r = stream_content(info, (int)i++, BLOCK_TEXT, jstr(it, "text"))) < 0)
				return r;
			any |= r;
			r = bedrock_info_add_finish(info, jstr(it, "stop_reason")
							      ? jstr(it, "stop_reason")
							      : jstr(it, "finish_reason"));
			if (r)
				return r;
		}
		return any;
	}
	if ((arr = J(o, "choices")))
		return openai_chunk(info, arr);
	/* Cohere Command R: {"event_type": "text-generation", "text"} ... "stream-end" */
	if ((r = bedrock_info_add_finish(info, jstr(o, "finish_reason"))))
		return r;
	return stream_content(info, 0, BLOCK_TEXT, jstr(o, "text"));
}

static int kb_stream_event(struct bedrock_info *info, const char *ev, const cJSON *o)
{
	if (!strcmp(ev, "output"))
		return stream_content(info, 0, BLOCK_TEXT, jstr(o, "text"));
	if (!strcmp(ev, "citation")) {
		info->n_citations = (info->n_citations < 0 ? 0 : info->n_citations) + 1;
		info->n_results = (info->n_results < 0 ? 0 : info->n_results) +
				  cJSON_GetArraySize(J(o, "retrievedReferences"));
	} else if (!strcmp(ev, "guardrail")) {
		return set_str(&info->guardrail_action, jstr(o, "action"));
	}
	return 0;
}

int bedrock_stream_event(struct bedrock_info *info, const char *event, const uint8_t *payload,
			 size_t len)
{
	cJSON *root = NULL, *chunk = NULL;
	const char *b64;
	uint8_t *raw = NULL;
	size_t raw_len;
	int ret = 0;

	info->n_events++;
	root = cJSON_ParseWithLength((const char *)payload, len);
	if (!root || !cJSON_IsObject(root)) {
		if (!info->parse_error)
			info->parse_error = "stream event payload is not a JSON object";
		goto cleanup;
	}
	if (strcmp(event, "chunk") != 0) {
		if (info->op == BEDROCK_OP_RETRIEVE_AND_GENERATE_STREAM)
			ret = kb_stream_event(info, event, root);
		else
			ret = converse_event(info, event, root);
		goto cleanup;
	}
	b64 = jstr(root, "bytes");
	if (!b64)
		goto cleanup;
	raw = bedrock_b64_decode(b64, strlen(b64), &raw_len);
	if (!raw) {
		ret = errno == ENOMEM ? -ENOMEM : 0;
		if (!ret && !info->parse_error)
			info->parse_error = "stream chunk bytes are not base64";
		goto cleanup;
	}
	chunk = cJSON_ParseWithLength((const char *)raw, raw_len);
	if (!chunk || !cJSON_IsObject(chunk)) {
		if (!info->parse_error)
			info->parse_error = "stream chunk is not a JSON object";
		goto cleanup;
	}
	ret = model_chunk(info, chunk);
cleanup:
	cJSON_Delete(chunk);
	cJSON_Delete(root);
	free(raw);
	return ret;
}

int bedrock_stream_exception(struct bedrock_info *info, const char *type, const uint8_t *payload,
			     size_t len)
{
	cJSON *root;
	int err = 0;

	snprintf(info->error_type, sizeof(info->error_type), "%.*s", (int)strcspn(type, ":"),
		 *type ? type : "StreamError");
	if (info->error_type[0] >= 'a' && info->error_type[0] <= 'z')
		info->error_type[0] = (char)(info->error_type[0] - 'a' + 'A');
	if (!info->capture || info->error_message || !len)
		return 0;
	root = cJSON_ParseWithLength((const char *)payload, len);
	if (root)
		err = set_str(&info->error_message, jstr(root, "message"));
	cJSON_Delete(root);
	return err;
}

static int cmp_block(const void *a, const void *b)
{
	const struct bedrock_block *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

int bedrock_stream_end(struct bedrock_info *info)
{
	if (!info->capture || !info->n_blocks)
		return 0;
	qsort(info->blocks, info->n_blocks, sizeof(info->blocks[0]), cmp_block);
	return bedrock_content_list_add(
	    &info->output_messages, bedrock_content_blocks_message(
					info->role[0] ? info->role : "assistant", info->blocks,
					info->n_blocks, info->n_finish ? info->finish[0] : NULL));
}
