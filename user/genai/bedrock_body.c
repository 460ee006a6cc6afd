// SPDX-License-Identifier: MIT
/*
 * Bedrock body parsers. Every family of InvokeModel body is recognised by its keys (Anthropic
 * "content"/"type", Nova "output"/"messageStart", Titan "results"/"outputText", Llama
 * "generation", Mistral "outputs", Cohere "generations"/"text", OpenAI-style "choices"), so the
 * same code serves plain model ids, inference profiles and ARNs that do not name the model.
 * Requests yield the parameters (and, with capture, the prompt); responses the usage, finish
 * reasons, ids, retrieval and guardrail results (and, with capture, the answer).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "genai/bedrock_body.h"
#include "genai/bedrock_content.h"
#include "genai/bedrock_json.h"

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

void bedrock_usage_read(struct bedrock_usage *u, const cJSON *o)
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

int bedrock_info_add_finish(struct bedrock_info *info, const char *s)
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

	if (request_params(info, J(root, "inferenceConfig"), false) ||
	    request_params(info, extra, false) ||
	    request_params(info, J(extra, "inferenceConfig"), false))
		return -ENOMEM;
	if (info->capture &&
	    (bedrock_content_messages(&info->input_messages, J(root, "messages")) ||
	     bedrock_content_system(&info->system_instructions, J(root, "system"))))
		return -ENOMEM;
	return 0;
}

static int req_invoke(struct bedrock_info *info, const cJSON *root)
{
	const char *prompt = jstr(root, "prompt");
	bool chat = J(root, "messages") || jstr(root, "message");
	cJSON **in = &info->input_messages, **sys = &info->system_instructions;

	if (!prompt)
		prompt = jstr(root, "inputText");
	info->completion_style = prompt && !chat;
	/* Cohere alone spells top_p and top_k as "p" and "k" */
	if (request_params(info, root, !J(root, "messages")) ||
	    request_params(info, J(root, "inferenceConfig"), false) ||
	    request_params(info, J(root, "textGenerationConfig"), false) ||
	    request_params(info, J(root, "parameters"), false))
		return -ENOMEM;
	if (!info->capture)
		return 0;
	if (bedrock_content_messages(in, J(root, "messages")) ||
	    bedrock_content_messages(in, J(root, "chat_history")))
		return -ENOMEM;
	if (jstr(root, "message") &&
	    bedrock_content_list_add(
		in, bedrock_content_text_message("user", jstr(root, "message"), NULL)))
		return -ENOMEM;
	if (prompt && !chat &&
	    bedrock_content_list_add(in, bedrock_content_text_message("user", prompt, NULL)))
		return -ENOMEM;
	if (bedrock_content_system(sys, J(root, "system")) ||
	    bedrock_content_system(sys, J(root, "preamble")))
		return -ENOMEM;
	return 0;
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
	const char *model = jstr(kb, "modelArn");

	if (!vec)
		vec = J(J(kb, "retrievalConfiguration"), "vectorSearchConfiguration");
	if (!model)
		model = jstr(J(cfg, "externalSourcesConfiguration"), "modelArn");
	jint(vec, "numberOfResults", &info->requested_results);
	if (set_str(&info->kb_id, jstr(kb, "knowledgeBaseId")) ||
	    set_str(&info->rag_model, model) ||
	    set_str(&info->session_id, jstr(root, "sessionId")) || request_params(info, gen, false))
		return -ENOMEM;
	if (!info->capture)
		return 0;
	if (!query)
		query = jstr(J(root, "input"), "text");
	if (query)
		return bedrock_content_list_add(&info->input_messages,
						bedrock_content_text_message("user", query, NULL));
	return 0;
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
		    (err = bedrock_content_list_add(
			 &info->input_messages, bedrock_content_text_message("user", text, NULL))))
			return err;
	}
	return 0;
}

/* Parses a body as JSON; NULL (with info->parse_error set if unset) when it is not. */
static cJSON *parse_body(struct bedrock_info *info, const uint8_t *body, size_t len,
			 const char *not_json)
{
	cJSON *root = cJSON_ParseWithLength((const char *)body, len);

	if (!root && !info->parse_error)
		info->parse_error = not_json;
	return root;
}

int bedrock_body_request(struct bedrock_info *info, const uint8_t *body, size_t len)
{
	cJSON *root;
	int err = 0;

	if (!body || !len)
		return 0;
	root = parse_body(info, body, len, "request body is not valid JSON");
	if (!root)
		return 0;
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
			err = bedrock_content_list_add(
			    &info->input_messages,
			    bedrock_content_text_message("user", jstr(root, "inputText"), NULL));
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
	return info->capture ? bedrock_content_list_add(&info->output_messages, msg)
			     : (cJSON_Delete(msg), 0);
}

/* One generated text with its reason (Titan results, Mistral outputs, Cohere generations...). */
static int out_text(struct bedrock_info *info, const char *text, const char *finish)
{
	int err = bedrock_info_add_finish(info, finish);

	if (err || !info->capture || !text)
		return err;
	return bedrock_content_list_add(&info->output_messages,
					bedrock_content_text_message("assistant", text, finish));
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
		} else if (!(err = bedrock_info_add_finish(info, finish)) && info->capture) {
			msg =
			    bedrock_content_message(jstr(m, "role") ? jstr(m, "role") : "assistant",
						    J(m, "content"), finish);
			if (!msg)
				return -ENOMEM;
			err = bedrock_content_openai_extras(msg, m);
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

	bedrock_usage_read(&info->metrics_usage, J(root, "amazon-bedrock-invocationMetrics"));
	bedrock_usage_read(&info->body_usage, J(root, "usage"));
	bedrock_usage_read(&info->body_usage, root); /* Llama, Titan */
	bedrock_usage_read(&info->body_usage, J(J(root, "meta"), "billed_units")); /* Cohere */
	if (set_str(&info->response_model, jstr(root, "model")) ||
	    set_str(&info->response_id,
		    jstr(root, "response_id") ? jstr(root, "response_id") : jstr(root, "id")))
		return -ENOMEM;
	if (!finish)
		finish = jstr(root, "stopReason");
	if (!finish)
		finish = jstr(root, "finish_reason");

	if ((msg = J(J(root, "output"), "message"))) { /* Nova */
		err = bedrock_info_add_finish(info, finish);
		if (!err && info->capture)
			err = out_add(info, bedrock_content_message(jstr(msg, "role"),
								    J(msg, "content"), finish));
	} else if (cJSON_IsArray(it = J(root, "content"))) { /* Anthropic messages */
		err = bedrock_info_add_finish(info, finish);
		if (!err && info->capture)
			err = out_add(info, bedrock_content_message("assistant", it, finish));
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
		err = bedrock_info_add_finish(info, finish);
	}
	return err;
}

static int resp_knowledge_base(struct bedrock_info *info, const cJSON *root)
{
	const cJSON *results = J(root, "retrievalResults"), *c, *r;
	const char *answer = jstr(J(root, "output"), "text");
	cJSON *doc;

	if (set_str(&info->session_id, jstr(root, "sessionId")) ||
	    set_str(&info->guardrail_action, jstr(root, "guardrailAction")))
		return -ENOMEM;
	if (cJSON_IsArray(results))
		info->n_results = cJSON_GetArraySize(results);
	if (cJSON_IsArray(J(root, "citations"))) {
		info->n_citations = cJSON_GetArraySize(J(root, "citations"));
		info->n_results = 0;
		cJSON_ArrayForEach(c, J(root, "citations")) info->n_results +=
		    cJSON_GetArraySize(J(c, "retrievedReferences"));
	}
	if (!info->capture)
		return 0;
	if (answer &&
	    bedrock_content_list_add(&info->output_messages,
				     bedrock_content_text_message("assistant", answer, NULL)))
		return -ENOMEM;
	cJSON_ArrayForEach(r, only_array(results))
	{
		doc = cJSON_CreateObject();
		if (!doc || bedrock_content_list_add(&info->documents, doc))
			return -ENOMEM;
		if (jstr(J(r, "content"), "text"))
			cJSON_AddStringToObject(doc, "content", jstr(J(r, "content"), "text"));
		if (J(r, "score"))
			cJSON_AddItemToObject(doc, "score", cJSON_Duplicate(J(r, "score"), true));
		if (J(r, "location"))
			cJSON_AddItemToObject(doc, "location",
					      cJSON_Duplicate(J(r, "location"), true));
	}
	return 0;
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
				       (err = bedrock_content_list_add(
					    &info->output_messages,
					    bedrock_content_text_message(
						"assistant", jstr(o, "text"), NULL)))) return err;
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
	root = parse_body(info, body, len, "response body is not valid JSON");
	if (!root)
		return 0;
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
	free(info->chunk_offs);
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
