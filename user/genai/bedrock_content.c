// SPDX-License-Identifier: MIT
/*
 * GenAI structured content. Every family's content block becomes a GenAI part: "text",
 * "tool_call" (arguments as JSON when they parse), "tool_call_response", "reasoning", or a bare
 * {"type"} for kinds (images, documents...) whose bytes are not worth an attribute.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "genai/bedrock_content.h"
#include "genai/bedrock_json.h"

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
cJSON *bedrock_content_message(const char *role, const cJSON *content, const char *finish)
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

cJSON *bedrock_content_text_message(const char *role, const char *text, const char *finish)
{
	cJSON *s = cJSON_CreateString(text ? text : ""), *m;

	if (!s)
		return NULL;
	m = bedrock_content_message(role, s, finish);
	cJSON_Delete(s);
	return m;
}

int bedrock_content_list_add(cJSON **list, cJSON *item)
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
int bedrock_content_openai_extras(cJSON *msg, const cJSON *m)
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

int bedrock_content_messages(cJSON **list, const cJSON *messages)
{
	const cJSON *m, *content;
	cJSON *msg;
	int err;

	cJSON_ArrayForEach(m, only_array(messages))
	{
		content = J(m, "content");
		if (!content)
			content = J(m, "message"); /* Cohere chat_history */
		msg = bedrock_content_message(jstr(m, "role"), content, NULL);
		if (!msg)
			return -ENOMEM;
		err = bedrock_content_openai_extras(msg, m);
		if (err) {
			cJSON_Delete(msg);
			return err;
		}
		if (bedrock_content_list_add(list, msg))
			return -ENOMEM;
	}
	return 0;
}

int bedrock_content_system(cJSON **list, const cJSON *sys)
{
	const cJSON *b;
	cJSON *p;

	if (cJSON_IsString(sys))
		return bedrock_content_list_add(list, part_text("text", sys->valuestring));
	cJSON_ArrayForEach(b, only_array(sys))
	{
		p = block_to_part(b);
		if (p && bedrock_content_list_add(list, p))
			return -ENOMEM;
	}
	return 0;
}

cJSON *bedrock_content_blocks_message(const char *role, const struct bedrock_block *b, size_t n,
				      const char *finish)
{
	cJSON *msg, *parts, *p;
	size_t i;

	msg = cJSON_CreateObject();
	if (!msg || !cJSON_AddStringToObject(msg, "role", role))
		goto fail;
	parts = cJSON_AddArrayToObject(msg, "parts");
	if (!parts)
		goto fail;
	for (i = 0; i < n; i++) {
		if (b[i].type == BLOCK_TOOL_CALL)
			p = part_tool_call(b[i].id, b[i].name, NULL, b[i].buf ? b[i].buf : "");
		else
			p = part_text(b[i].type == BLOCK_REASONING ? "reasoning" : "text",
				      b[i].buf);
		if (!p)
			goto fail;
		cJSON_AddItemToArray(parts, p);
	}
	if (finish && !cJSON_AddStringToObject(msg, "finish_reason", finish))
		goto fail;
	return msg;
fail:
	cJSON_Delete(msg);
	return NULL;
}

/* Content attributes fail like the set's own setters: the first failure sticks. */
static int attrs_fail(struct bt_attrs *a, int err)
{
	if (!a->err)
		a->err = err;
	return a->err;
}

int bedrock_content_set_attr(struct bt_attrs *a, const char *key, const cJSON *v)
{
	char *s;

	if (a->err || !v)
		return a->err;
	s = cJSON_PrintUnformatted(v);
	if (!s)
		return attrs_fail(a, -ENOMEM);
	bt_attrs_set_str(a, key, s);
	free(s);
	return a->err;
}

int bedrock_content_set_text_attr(struct bt_attrs *a, const char *key, const char *role,
				  const char *text)
{
	cJSON *list = NULL;

	if (a->err || !text)
		return a->err;
	if (bedrock_content_list_add(&list, bedrock_content_text_message(role, text, NULL)))
		return attrs_fail(a, -ENOMEM);
	bedrock_content_set_attr(a, key, list);
	cJSON_Delete(list);
	return a->err;
}
