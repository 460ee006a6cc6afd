// SPDX-License-Identifier: MIT
/*
 * Bedrock body parsers. Every family of InvokeModel body is recognised by its keys (Anthropic
 * "content"/"type", Nova "output"/"messageStart", Titan "results"/"outputText", Llama
 * "generation", Mistral "outputs", Cohere "generations"/"text", OpenAI-style "choices"), so the
 * same code serves plain model ids, inference profiles and ARNs that do not name the model.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bedrock_body.h"

/* A captured text stops growing here: attributes are for reading, not for archiving. */
#define BLOCK_CAP (256u << 10)

#define J(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

/* cJSON_ArrayForEach walks an object's members too; most lists here must be arrays. */
static const cJSON *only_array(const cJSON *v)
{
	return cJSON_IsArray(v) ? v : NULL;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *it = J(o, k);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static bool jnum(const cJSON *o, const char *k, double *out)
{
	const cJSON *it = J(o, k);

	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return false;
	*out = it->valuedouble;
	return true;
}

static bool jint(const cJSON *o, const char *k, int64_t *out)
{
	double d;

	if (!jnum(o, k, &d) || d < -9.2e18 || d > 9.2e18)
		return false;
	*out = (int64_t)d;
	return true;
}

static bool usage_int(const cJSON *o, const char *const *keys, int64_t *out, bool *has)
{
	for (; *keys; keys++) {
		if (jint(o, *keys, out) && *out >= 0) {
			*has = true;
			return true;
		}
	}
	return false;
}

/* Reads every spelling of token counts Bedrock and its model families use. */
static void usage_from(struct bedrock_usage *u, const cJSON *o)
{
	static const char *const in[] = {"inputTokens",
					 "input_tokens",
					 "prompt_tokens",
					 "inputTokenCount",
					 "prompt_token_count",
					 "inputTextTokenCount",
					 NULL};
	static const char *const out[] = {"outputTokens",	    "output_tokens",
					  "completion_tokens",	    "outputTokenCount",
					  "generation_token_count", NULL};
	static const char *const cr[] = {"cacheReadInputTokens", "cache_read_input_tokens",
					 "cacheReadInputTokenCount", NULL};
	static const char *const cw[] = {"cacheWriteInputTokens", "cache_creation_input_tokens",
					 "cacheWriteInputTokenCount", NULL};

	if (!cJSON_IsObject(o))
		return;
	usage_int(o, in, &u->input, &u->has_input);
	usage_int(o, out, &u->output, &u->has_output);
	usage_int(o, cr, &u->cache_read, &u->has_cache_read);
	usage_int(o, cw, &u->cache_write, &u->has_cache_write);
}

static int set_str(char **dst, const char *s)
{
	char *c;

	if (!s)
		return 0;
	c = strdup(s);
	if (!c)
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

static int add_finish(struct bedrock_info *info, const char *s)
{
	if (!s || !*s || info->n_finish == BEDROCK_MAX_FINISH)
		return 0;
	/* streams repeat the reason (stream-end and its embedded response) */
	if (info->n_events && info->n_finish && strcmp(info->finish[info->n_finish - 1], s) == 0)
		return 0;
	info->finish[info->n_finish] = strdup(s);
	if (!info->finish[info->n_finish])
		return -ENOMEM;
	info->n_finish++;
	return 0;
}

/* ---- GenAI structured content (capture only) ---- */

static cJSON *part_new(const char *type)
{
	cJSON *p = cJSON_CreateObject();

	if (p && !cJSON_AddStringToObject(p, "type", type)) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

static cJSON *part_text(const char *type, const char *content)
{
	cJSON *p = part_new(type);

	if (p && !cJSON_AddStringToObject(p, "content", content ? content : "")) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

/* @args: an object to copy, else @args_text (JSON text if it parses, else kept as a string). */
static cJSON *part_tool_call(const char *id, const char *name, const cJSON *args,
			     const char *args_text)
{
	cJSON *p = part_new("tool_call"), *a = NULL;

	if (!p)
		return NULL;
	if (id && !cJSON_AddStringToObject(p, "id", id))
		goto fail;
	if (!cJSON_AddStringToObject(p, "name", name ? name : ""))
		goto fail;
	if (args)
		a = cJSON_Duplicate(args, true);
	else if (args_text && *args_text)
		a = cJSON_Parse(args_text);
	if (!a && args_text && *args_text)
		a = cJSON_CreateString(args_text);
	if (a)
		cJSON_AddItemToObject(p, "arguments", a);
	return p;
fail:
	cJSON_Delete(p);
	return NULL;
}

/* Tool results are a list of blocks; one json or text block reads best unwrapped. */
static cJSON *tool_result_value(const cJSON *content)
{
	const cJSON *only;

	if (cJSON_IsString(content))
		return cJSON_CreateString(content->valuestring);
	if (cJSON_IsArray(content) && cJSON_GetArraySize(content) == 1) {
		only = cJSON_GetArrayItem(content, 0);
		if (J(only, "json"))
			return cJSON_Duplicate(J(only, "json"), true);
		if (jstr(only, "text"))
			return cJSON_CreateString(jstr(only, "text"));
	}
	return content ? cJSON_Duplicate(content, true) : cJSON_CreateNull();
}

static cJSON *part_tool_response(const char *id, const cJSON *content)
{
	cJSON *p = part_new("tool_call_response"), *r;

	if (!p)
		return NULL;
	if (id && !cJSON_AddStringToObject(p, "id", id))
		goto fail;
	r = tool_result_value(content);
	if (!r)
		goto fail;
	cJSON_AddItemToObject(p, "response", r);
	return p;
fail:
	cJSON_Delete(p);
	return NULL;
}

/* One content block of any family (Converse/Nova keyed blocks, Anthropic/OpenAI typed). */
static cJSON *block_to_part(const cJSON *b)
{
	const char *type = jstr(b, "type");
	const cJSON *it;

	if (cJSON_IsString(b))
		return part_text("text", b->valuestring);
	if (!cJSON_IsObject(b))
		return NULL;
	if (type) {
		if (!strcmp(type, "text"))
			return part_text("text", jstr(b, "text"));
		if (!strcmp(type, "tool_use"))
			return part_tool_call(jstr(b, "id"), jstr(b, "name"), J(b, "input"), NULL);
		if (!strcmp(type, "tool_result"))
			return part_tool_response(jstr(b, "tool_use_id"), J(b, "content"));
		if (!strcmp(type, "thinking"))
			return part_text("reasoning", jstr(b, "thinking"));
		return part_new(type);
	}
	if ((it = J(b, "text")) && cJSON_IsString(it))
		return part_text("text", it->valuestring);
	if ((it = J(b, "toolUse")))
		return part_tool_call(jstr(it, "toolUseId"), jstr(it, "name"), J(it, "input"),
				      NULL);
	if ((it = J(b, "toolResult")))
		return part_tool_response(jstr(it, "toolUseId"), J(it, "content"));
	if ((it = J(b, "reasoningContent")))
		return part_text("reasoning", jstr(J(it, "reasoningText"), "text"));
	if ((it = J(b, "guardContent")))
		return part_text("text", jstr(J(it, "text"), "text"));
	if (J(b, "cachePoint"))
		return NULL;
	return b->child && b->child->string ? part_new(b->child->string) : NULL;
}

static const char *genai_role(const char *role)
{
	if (!role)
		return "user";
	if (!strcasecmp(role, "CHATBOT"))
		return "assistant";
	if (!strcasecmp(role, "USER"))
		return "user";
	if (!strcasecmp(role, "SYSTEM"))
		return "system";
	return role;
}

/* Returns {"role", "parts": [...]} (+ "finish_reason" when @finish) or NULL on ENOMEM. */
static cJSON *message_new(const char *role, const cJSON *content, const char *finish)
{
	cJSON *m = cJSON_CreateObject(), *parts, *p;
	const cJSON *b;

	if (!m || !cJSON_AddStringToObject(m, "role", genai_role(role)))
		goto fail;
	parts = cJSON_AddArrayToObject(m, "parts");
	if (!parts)
		goto fail;
	if (cJSON_IsString(content)) {
		p = part_text("text", content->valuestring);
		if (!p)
			goto fail;
		cJSON_AddItemToArray(parts, p);
	}
	cJSON_ArrayForEach(b, only_array(content))
	{
		p = block_to_part(b);
		if (p)
			cJSON_AddItemToArray(parts, p);
	}
	if (finish && !cJSON_AddStringToObject(m, "finish_reason", finish))
		goto fail;
	return m;
fail:
	cJSON_Delete(m);
	return NULL;
}

static cJSON *text_message(const char *role, const char *text, const char *finish)
{
	cJSON *s = cJSON_CreateString(text ? text : ""), *m;

	if (!s)
		return NULL;
	m = message_new(role, s, finish);
	cJSON_Delete(s);
	return m;
}

static int list_add(cJSON **list, cJSON *item)
{
	if (!item)
		return -ENOMEM;
	if (!*list && !(*list = cJSON_CreateArray())) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	cJSON_AddItemToArray(*list, item);
	return 0;
}

/* OpenAI-style assistant tool_calls and role "tool" replies become GenAI parts too. */
static int openai_extras(cJSON *msg, const cJSON *m)
{
	cJSON *parts = J(msg, "parts"), *p;
	const cJSON *tc, *fn;

	cJSON_ArrayForEach(tc, J(m, "tool_calls"))
	{
		fn = J(tc, "function");
		p = part_tool_call(jstr(tc, "id"), jstr(fn, "name"), NULL, jstr(fn, "arguments"));
		if (!p)
			return -ENOMEM;
		cJSON_AddItemToArray(parts, p);
	}
	if (jstr(m, "tool_call_id")) {
		p = part_tool_response(jstr(m, "tool_call_id"), J(m, "content"));
		if (!p)
			return -ENOMEM;
		cJSON_DeleteItemFromArray(parts, 0);
		cJSON_AddItemToArray(parts, p);
	}
	return 0;
}

static int input_messages(struct bedrock_info *info, const cJSON *messages)
{
	const cJSON *m, *content;
	cJSON *msg;
	int err;

	cJSON_ArrayForEach(m, only_array(messages))
	{
		content = J(m, "content");
		if (!content)
			content = J(m, "message"); /* Cohere chat_history */
		msg = message_new(jstr(m, "role"), content, NULL);
		if (!msg)
			return -ENOMEM;
		err = openai_extras(msg, m);
		if (!err)
			err = list_add(&info->input_messages, msg);
		else
			cJSON_Delete(msg);
		if (err)
			return err;
	}
	return 0;
}

static int system_instructions(struct bedrock_info *info, const cJSON *sys)
{
	const cJSON *b;
	cJSON *p;

	if (cJSON_IsString(sys))
		return list_add(&info->system_instructions, part_text("text", sys->valuestring));
	cJSON_ArrayForEach(b, only_array(sys))
	{
		p = block_to_part(b);
		if (p && list_add(&info->system_instructions, p))
			return -ENOMEM;
	}
	return 0;
}

/* ---- requests ---- */

static int stop_sequences(struct bedrock_info *info, const cJSON *v)
{
	const cJSON *s;

	if (cJSON_IsString(v)) {
		info->stop[0] = strdup(v->valuestring);
		if (!info->stop[0])
			return -ENOMEM;
		info->n_stop = 1;
		return 0;
	}
	cJSON_ArrayForEach(s, only_array(v))
	{
		if (!cJSON_IsString(s) || info->n_stop == BEDROCK_MAX_STOP)
			continue;
		info->stop[info->n_stop] = strdup(s->valuestring);
		if (!info->stop[info->n_stop])
			return -ENOMEM;
		info->n_stop++;
	}
	return 0;
}

static int request_params(struct bedrock_info *info, const cJSON *o, bool cohere_pk)
{
	static const char *const max_keys[] = {
	    "maxTokens",   "max_tokens",	   "max_new_tokens",	   "maxTokenCount",
	    "max_gen_len", "max_tokens_to_sample", "max_completion_tokens"};
	static const char *const stop_keys[] = {"stopSequences", "stop_sequences", "stop"};
	size_t i;

	if (!cJSON_IsObject(o))
		return 0;
	for (i = 0; i < sizeof(max_keys) / sizeof(max_keys[0]) && !info->has_max_tokens; i++)
		info->has_max_tokens = jint(o, max_keys[i], &info->max_tokens);
	if (!info->has_temperature)
		info->has_temperature = jnum(o, "temperature", &info->temperature);
	if (!info->has_top_p)
		info->has_top_p = jnum(o, "topP", &info->top_p) || jnum(o, "top_p", &info->top_p) ||
				  (cohere_pk && jnum(o, "p", &info->top_p));
	if (!info->has_top_k)
		info->has_top_k = jnum(o, "topK", &info->top_k) || jnum(o, "top_k", &info->top_k) ||
				  (cohere_pk && jnum(o, "k", &info->top_k));
	for (i = 0; i < sizeof(stop_keys) / sizeof(stop_keys[0]) && !info->n_stop; i++)
		if (stop_sequences(info, J(o, stop_keys[i])))
			return -ENOMEM;
	return 0;
}

static int req_converse(struct bedrock_info *info, const cJSON *root)
{
	const cJSON *extra = J(root, "additionalModelRequestFields");
	int err;

	err = request_params(info, J(root, "inferenceConfig"), false);
	if (!err)
		err = request_params(info, extra, false);
	if (!err)
		err = request_params(info, J(extra, "inferenceConfig"), false);
	if (err || !info->capture)
		return err;
	err = input_messages(info, J(root, "messages"));
	if (!err)
		err = system_instructions(info, J(root, "system"));
	return err;
}

static int req_invoke(struct bedrock_info *info, const cJSON *root)
{
	const char *prompt = jstr(root, "prompt");
	bool chat = J(root, "messages") || jstr(root, "message");
	int err;

	if (!prompt)
		prompt = jstr(root, "inputText");
	info->completion_style = prompt && !chat;
	/* Cohere alone spells top_p and top_k as "p" and "k" */
	err = request_params(info, root, !J(root, "messages"));
	if (!err)
		err = request_params(info, J(root, "inferenceConfig"), false);
	if (!err)
		err = request_params(info, J(root, "textGenerationConfig"), false);
	if (!err)
		err = request_params(info, J(root, "parameters"), false);
	if (err || !info->capture)
		return err;
	if (J(root, "messages"))
		err = input_messages(info, J(root, "messages"));
	if (!err && J(root, "chat_history"))
		err = input_messages(info, J(root, "chat_history"));
	if (!err && jstr(root, "message"))
		err = list_add(&info->input_messages,
			       text_message("user", jstr(root, "message"), NULL));
	if (!err && prompt && !chat)
		err = list_add(&info->input_messages, text_message("user", prompt, NULL));
	if (!err)
		err = system_instructions(info, J(root, "system"));
	if (!err)
		err = system_instructions(info, J(root, "preamble"));
	return err;
}

static int req_count_tokens(struct bedrock_info *info, const cJSON *root)
{
	const cJSON *in = J(root, "input"), *conv = J(in, "converse");
	const char *body = jstr(J(in, "invokeModel"), "body");
	cJSON *inner;
	int err;

	if (conv)
		return req_converse(info, conv);
	if (!body)
		return 0;
	/* the InvokeModel body travels as a JSON string (a blob in the model) */
	inner = cJSON_Parse(body);
	if (!inner)
		return 0;
	err = req_invoke(info, inner);
	cJSON_Delete(inner);
	return err;
}

static int req_knowledge_base(struct bedrock_info *info, const cJSON *root)
{
	const cJSON *cfg = J(root, "retrieveAndGenerateConfiguration");
	const cJSON *kb = J(cfg, "knowledgeBaseConfiguration");
	const cJSON *vec = J(J(root, "retrievalConfiguration"), "vectorSearchConfiguration");
	const cJSON *gen =
	    J(J(J(kb, "generationConfiguration"), "inferenceConfig"), "textInferenceConfig");
	const char *query = jstr(J(root, "retrievalQuery"), "text");
	int err;

	if (!vec)
		vec = J(J(kb, "retrievalConfiguration"), "vectorSearchConfiguration");
	jint(vec, "numberOfResults", &info->requested_results);
	err = set_str(&info->kb_id, jstr(kb, "knowledgeBaseId"));
	if (!err)
		err = set_str(&info->rag_model, jstr(kb, "modelArn"));
	if (!err && !info->rag_model)
		err = set_str(&info->rag_model,
			      jstr(J(cfg, "externalSourcesConfiguration"), "modelArn"));
	if (!err)
		err = set_str(&info->session_id, jstr(root, "sessionId"));
	if (!err)
		err = request_params(info, gen, false);
	if (err || !info->capture)
		return err;
	if (!query)
		query = jstr(J(root, "input"), "text");
	if (query)
		err = list_add(&info->input_messages, text_message("user", query, NULL));
	return err;
}

static int req_guardrail(struct bedrock_info *info, const cJSON *root)
{
	const cJSON *b;
	const char *text;
	int err = set_str(&info->guardrail_source, jstr(root, "source"));

	if (err || !info->capture)
		return err;
	cJSON_ArrayForEach(b, J(root, "content"))
	{
		text = jstr(J(b, "text"), "text");
		if (text &&
		    (err = list_add(&info->input_messages, text_message("user", text, NULL))))
			return err;
	}
	return 0;
}

int bedrock_body_request(struct bedrock_info *info, const uint8_t *body, size_t len)
{
	cJSON *root;
	int err = 0;

	if (!body || !len)
		return 0;
	root = cJSON_ParseWithLength((const char *)body, len);
	if (!root) {
		if (!info->parse_error)
			info->parse_error = "request body is not valid JSON";
		return 0;
	}
	switch (info->op) {
	case BEDROCK_OP_CONVERSE:
	case BEDROCK_OP_CONVERSE_STREAM:
		err = req_converse(info, root);
		break;
	case BEDROCK_OP_INVOKE_MODEL:
	case BEDROCK_OP_INVOKE_MODEL_STREAM:
		err = req_invoke(info, root);
		break;
	case BEDROCK_OP_COUNT_TOKENS:
		err = req_count_tokens(info, root);
		break;
	case BEDROCK_OP_APPLY_GUARDRAIL:
		err = req_guardrail(info, root);
		break;
	case BEDROCK_OP_RETRIEVE:
	case BEDROCK_OP_RETRIEVE_AND_GENERATE:
	case BEDROCK_OP_RETRIEVE_AND_GENERATE_STREAM:
		err = req_knowledge_base(info, root);
		break;
	case BEDROCK_OP_INVOKE_AGENT:
	case BEDROCK_OP_INVOKE_INLINE_AGENT:
		if (info->capture && jstr(root, "inputText"))
			err = list_add(&info->input_messages,
				       text_message("user", jstr(root, "inputText"), NULL));
		break;
	default:
		break;
	}
	cJSON_Delete(root);
	return err;
}

/* ---- responses ---- */

static int out_add(struct bedrock_info *info, cJSON *msg)
{
	return info->capture ? list_add(&info->output_messages, msg) : (cJSON_Delete(msg), 0);
}

/* One generated text with its reason (Titan results, Mistral outputs, Cohere generations...). */
static int out_text(struct bedrock_info *info, const char *text, const char *finish)
{
	int err = add_finish(info, finish);

	if (err || !info->capture || !text)
		return err;
	return list_add(&info->output_messages, text_message("assistant", text, finish));
}

static int resp_choices(struct bedrock_info *info, const cJSON *choices)
{
	const cJSON *c, *m;
	const char *finish;
	cJSON *msg;
	int err = 0;

	cJSON_ArrayForEach(c, choices)
	{
		finish = jstr(c, "finish_reason");
		if (!finish)
			finish = jstr(c, "stop_reason");
		m = J(c, "message");
		if (!m) {
			err = out_text(info, jstr(c, "text"), finish);
		} else if (!(err = add_finish(info, finish)) && info->capture) {
			msg = message_new(jstr(m, "role") ? jstr(m, "role") : "assistant",
					  J(m, "content"), finish);
			if (!msg)
				return -ENOMEM;
			err = openai_extras(msg, m);
			err = err ? (cJSON_Delete(msg), err) : out_add(info, msg);
		}
		if (err)
			return err;
	}
	return 0;
}

static int resp_invoke(struct bedrock_info *info, const cJSON *root)
{
	const cJSON *it, *msg;
	const char *finish = jstr(root, "stop_reason");
	int64_t n, total = 0;
	bool counted = false;
	int err;

	usage_from(&info->metrics_usage, J(root, "amazon-bedrock-invocationMetrics"));
	usage_from(&info->body_usage, J(root, "usage"));
	usage_from(&info->body_usage, root);				   /* Llama, Titan */
	usage_from(&info->body_usage, J(J(root, "meta"), "billed_units")); /* Cohere */
	err = set_str(&info->response_model, jstr(root, "model"));
	if (!err)
		err = set_str(&info->response_id, jstr(root, "response_id")
						      ? jstr(root, "response_id")
						      : jstr(root, "id"));
	if (err)
		return err;
	if (!finish)
		finish = jstr(root, "stopReason");
	if (!finish)
		finish = jstr(root, "finish_reason");

	if ((msg = J(J(root, "output"), "message"))) { /* Nova */
		err = add_finish(info, finish);
		if (!err && info->capture)
			err = out_add(info,
				      message_new(jstr(msg, "role"), J(msg, "content"), finish));
	} else if (cJSON_IsArray(it = J(root, "content"))) { /* Anthropic messages */
		err = add_finish(info, finish);
		if (!err && info->capture)
			err = out_add(info, message_new("assistant", it, finish));
	} else if (jstr(root, "completion")) { /* Anthropic text completions */
		err = out_text(info, jstr(root, "completion"), finish);
	} else if (cJSON_IsArray(it = J(root, "results"))) { /* Titan */
		cJSON_ArrayForEach(msg, it)
		{
			if (jint(msg, "tokenCount", &n))
				total += n, counted = true;
			if ((err = out_text(info, jstr(msg, "outputText"),
					    jstr(msg, "completionReason"))))
				return err;
		}
		if (counted && !info->body_usage.has_output) {
			info->body_usage.output = total;
			info->body_usage.has_output = true;
		}
	} else if (jstr(root, "generation")) { /* Llama */
		err = out_text(info, jstr(root, "generation"), finish);
	} else if (cJSON_IsArray(it = J(root, "outputs"))) { /* Mistral */
		cJSON_ArrayForEach(msg,
				   it) if ((err = out_text(info, jstr(msg, "text"),
							   jstr(msg, "stop_reason")))) return err;
	} else if (cJSON_IsArray(it = J(root, "generations"))) { /* Cohere Command */
		cJSON_ArrayForEach(msg,
				   it) if ((err = out_text(info, jstr(msg, "text"),
							   jstr(msg, "finish_reason")))) return err;
	} else if (cJSON_IsArray(it = J(root, "choices"))) { /* OpenAI-style */
		err = resp_choices(info, it);
	} else if (jstr(root, "text")) { /* Cohere Command R */
		err = out_text(info, jstr(root, "text"), finish);
	} else {
		err = add_finish(info, finish);
	}
	return err;
}

static int resp_knowledge_base(struct bedrock_info *info, const cJSON *root)
{
	const cJSON *results = J(root, "retrievalResults"), *c, *r;
	cJSON *doc;
	int err = set_str(&info->session_id, jstr(root, "sessionId"));

	if (!err)
		err = set_str(&info->guardrail_action, jstr(root, "guardrailAction"));
	if (cJSON_IsArray(results))
		info->n_results = cJSON_GetArraySize(results);
	if (cJSON_IsArray(J(root, "citations"))) {
		info->n_citations = cJSON_GetArraySize(J(root, "citations"));
		info->n_results = 0;
		cJSON_ArrayForEach(c, J(root, "citations")) info->n_results +=
		    cJSON_GetArraySize(J(c, "retrievedReferences"));
	}
	if (err || !info->capture)
		return err;
	if (jstr(J(root, "output"), "text"))
		err = list_add(&info->output_messages,
			       text_message("assistant", jstr(J(root, "output"), "text"), NULL));
	cJSON_ArrayForEach(r, only_array(results))
	{
		doc = cJSON_CreateObject();
		if (!doc || list_add(&info->documents, doc))
			return -ENOMEM;
		if (jstr(J(r, "content"), "text"))
			cJSON_AddStringToObject(doc, "content", jstr(J(r, "content"), "text"));
		if (J(r, "score"))
			cJSON_AddItemToObject(doc, "score", cJSON_Duplicate(J(r, "score"), true));
		if (J(r, "location"))
			cJSON_AddItemToObject(doc, "location",
					      cJSON_Duplicate(J(r, "location"), true));
	}
	return err;
}

static int resp_guardrail(struct bedrock_info *info, const cJSON *root)
{
	const cJSON *u = J(root, "usage"), *it, *o;
	int err = set_str(&info->guardrail_action, jstr(root, "action"));

	if (!cJSON_IsObject(u))
		u = NULL;
	cJSON_ArrayForEach(it, u) if (cJSON_IsNumber(it) && it->valuedouble > 0 &&
				      it->valuedouble < 1e15) info->guardrail_units +=
	    (int64_t)it->valuedouble;
	if (err || !info->capture)
		return err;
	cJSON_ArrayForEach(
	    o, J(root, "outputs")) if (jstr(o, "text") &&
				       (err = list_add(&info->output_messages,
						       text_message("assistant", jstr(o, "text"),
								    NULL)))) return err;
	return 0;
}

/* AWS error bodies: {"message": ...} with the type in a header, or "__type"/"code". */
static int resp_error(struct bedrock_info *info, const cJSON *root)
{
	const char *type = jstr(root, "__type"), *msg = jstr(root, "message"), *p;
	size_t n;

	if (!type)
		type = jstr(root, "code");
	if (type) {
		/* "com.amazon.coral.service#ValidationException:http://..." → ValidationException
		 */
		p = strrchr(type, '#');
		type = p ? p + 1 : type;
		n = strcspn(type, ":");
		if (n >= sizeof(info->error_type))
			n = sizeof(info->error_type) - 1;
		memcpy(info->error_type, type, n);
		info->error_type[n] = '\0';
	}
	if (!msg)
		msg = jstr(root, "Message");
	return info->capture ? set_str(&info->error_message, msg) : 0;
}

int bedrock_body_response(struct bedrock_info *info, const uint8_t *body, size_t len)
{
	cJSON *root;
	int err = 0;

	if (!body || !len)
		return 0;
	root = cJSON_ParseWithLength((const char *)body, len);
	if (!root) {
		if (!info->parse_error)
			info->parse_error = "response body is not valid JSON";
		return 0;
	}
	if (!cJSON_IsObject(root)) {
		if (!info->parse_error)
			info->parse_error = "response body is not a JSON object";
		goto cleanup;
	}
	if (jstr(root, "__type") || ((jstr(root, "message") || jstr(root, "Message")) &&
				     root->child && !root->child->next)) {
		err = resp_error(info, root);
		goto cleanup;
	}
	switch (info->op) {
	case BEDROCK_OP_CONVERSE:
	case BEDROCK_OP_INVOKE_MODEL:
		err = resp_invoke(info, root);
		break;
	case BEDROCK_OP_COUNT_TOKENS:
		info->has_counted_tokens = jint(root, "inputTokens", &info->counted_tokens);
		break;
	case BEDROCK_OP_APPLY_GUARDRAIL:
		err = resp_guardrail(info, root);
		break;
	case BEDROCK_OP_RETRIEVE:
	case BEDROCK_OP_RETRIEVE_AND_GENERATE:
		err = resp_knowledge_base(info, root);
		break;
	default:
		break;
	}
cleanup:
	cJSON_Delete(root);
	return err;
}

/* ---- streams ---- */

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
	size_t n = strlen(s), cap;
	char *p;

	if (b->len + n > BLOCK_CAP) {
		info->content_truncated = true;
		n = BLOCK_CAP - b->len;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p)
			return -ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
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
		return add_finish(info, jstr(o, "stopReason"));
	} else if (!strcmp(ev, "metadata")) {
		usage_from(&info->body_usage, J(o, "usage"));
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
		usage_from(&info->body_usage, J(m, "usage"));
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
		usage_from(&info->body_usage, J(o, "usage"));
		return add_finish(info, jstr(d, "stop_reason"));
	}
	if (!strcmp(type, "completion")) {
		err = add_finish(info, jstr(o, "stop_reason"));
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
		if ((r = add_finish(info, jstr(c, "finish_reason"))))
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

	usage_from(&info->metrics_usage, J(o, "amazon-bedrock-invocationMetrics"));
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
	usage_from(&info->body_usage, o); /* Titan, Llama token counts */
	usage_from(&info->body_usage, J(J(J(o, "response"), "meta"), "billed_units"));
	if (jstr(o, "outputText") || jstr(o, "generation")) { /* Titan, Llama */
		text = jstr(o, "outputText") ? jstr(o, "outputText") : jstr(o, "generation");
		reason = jstr(o, "completionReason") ? jstr(o, "completionReason")
						     : jstr(o, "stop_reason");
		r = stream_content(info, block_index(o, "index"), BLOCK_TEXT, text);
		if (r < 0)
			return r;
		return add_finish(info, reason) ? -ENOMEM : r;
	}
	if ((arr = J(o, "outputs")) || (arr = J(o, "generations"))) { /* Mistral, Cohere */
		i = 0;
		cJSON_ArrayForEach(it, arr)
		{
			if ((r = stream_content(info, (int)i++, BLOCK_TEXT, jstr(it, "text"))) < 0)
				return r;
			any |= r;
			r = add_finish(info, jstr(it, "stop_reason") ? jstr(it, "stop_reason")
								     : jstr(it, "finish_reason"));
			if (r)
				return r;
		}
		return any;
	}
	if ((arr = J(o, "choices")))
		return openai_chunk(info, arr);
	/* Cohere Command R: {"event_type": "text-generation", "text"} ... "stream-end" */
	if ((r = add_finish(info, jstr(o, "finish_reason"))))
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

int bedrock_body_stream_event(struct bedrock_info *info, const char *event, const uint8_t *payload,
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

int bedrock_body_exception(struct bedrock_info *info, const char *type, const uint8_t *payload,
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

int bedrock_body_stream_end(struct bedrock_info *info)
{
	cJSON *msg, *parts, *p;
	size_t i;

	if (!info->capture || !info->n_blocks)
		return 0;
	qsort(info->blocks, info->n_blocks, sizeof(info->blocks[0]), cmp_block);
	msg = cJSON_CreateObject();
	if (!msg || !cJSON_AddStringToObject(msg, "role", info->role[0] ? info->role : "assistant"))
		goto fail;
	parts = cJSON_AddArrayToObject(msg, "parts");
	if (!parts)
		goto fail;
	for (i = 0; i < info->n_blocks; i++) {
		struct bedrock_block *b = &info->blocks[i];

		if (b->type == BLOCK_TOOL_CALL)
			p = part_tool_call(b->id, b->name, NULL, b->buf ? b->buf : "");
		else
			p = part_text(b->type == BLOCK_REASONING ? "reasoning" : "text", b->buf);
		if (!p)
			goto fail;
		cJSON_AddItemToArray(parts, p);
	}
	if (info->n_finish && !cJSON_AddStringToObject(msg, "finish_reason", info->finish[0]))
		goto fail;
	return list_add(&info->output_messages, msg);
fail:
	cJSON_Delete(msg);
	return -ENOMEM;
}

/* ---- misc ---- */

struct bedrock_usage bedrock_usage_merge(const struct bedrock_info *info,
					 const struct bedrock_usage *headers)
{
	const struct bedrock_usage *src[3] = {&info->metrics_usage, &info->body_usage, headers};
	struct bedrock_usage u = {0};
	size_t i;

	for (i = 3; i-- > 0;) {
		if (!src[i])
			continue;
		if (src[i]->has_input)
			u.input = src[i]->input, u.has_input = true;
		if (src[i]->has_output)
			u.output = src[i]->output, u.has_output = true;
		if (src[i]->has_cache_read)
			u.cache_read = src[i]->cache_read, u.has_cache_read = true;
		if (src[i]->has_cache_write)
			u.cache_write = src[i]->cache_write, u.has_cache_write = true;
	}
	return u;
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

uint8_t *bedrock_b64_decode(const char *in, size_t len, size_t *out_len)
{
	uint8_t *out = malloc(len / 4 * 3 + 4);
	uint32_t acc = 0;
	size_t n = 0, i;
	int bits = 0, v;

	if (!out) {
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '=')
			break;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		v = b64_val(c);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	for (; i < len; i++)
		if (in[i] != '=' && in[i] != '\n' && in[i] != '\r')
			goto bad;
	if (bits >= 6)
		goto bad; /* a lone sextet cannot end a base64 text */
	out[n] = '\0';
	*out_len = n;
	return out;
bad:
	free(out);
	errno = EINVAL;
	return NULL;
}

char *bedrock_json_print(const cJSON *v)
{
	return v ? cJSON_PrintUnformatted(v) : NULL;
}

void bedrock_info_clear(struct bedrock_info *info)
{
	size_t i;

	for (i = 0; i < info->n_stop; i++)
		free(info->stop[i]);
	for (i = 0; i < info->n_finish; i++)
		free(info->finish[i]);
	for (i = 0; i < info->n_blocks; i++) {
		free(info->blocks[i].id);
		free(info->blocks[i].name);
		free(info->blocks[i].buf);
	}
	free(info->kb_id);
	free(info->rag_model);
	free(info->session_id);
	free(info->guardrail_source);
	free(info->response_model);
	free(info->response_id);
	free(info->guardrail_action);
	free(info->error_message);
	cJSON_Delete(info->input_messages);
	cJSON_Delete(info->output_messages);
	cJSON_Delete(info->system_instructions);
	cJSON_Delete(info->documents);
	memset(info, 0, sizeof(*info));
}
