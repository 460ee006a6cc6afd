/* SPDX-License-Identifier: MIT */
/*
 * GenAI structured content: the JSON of gen_ai.input.messages, gen_ai.output.messages and
 * gen_ai.system_instructions ([{"role", "parts": [{"type", ...}], "finish_reason"}]), shaped
 * from the message and content-block layouts of every Bedrock API and model family (Converse and
 * Nova keyed blocks, Anthropic and OpenAI typed blocks, Cohere chat history, streamed blocks).
 * Only used when content capture is on. Pure: cJSON in, cJSON out, plus two attribute setters.
 */
#ifndef BT_BEDROCK_CONTENT_H
#define BT_BEDROCK_CONTENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "genai/bedrock_body.h"
#include "span/span.h"

/*
 * Returns a new message {"role", "parts", "finish_reason" when @finish}: @content is a string or
 * an array of content blocks of any family; @role is mapped to GenAI ("CHATBOT" → "assistant",
 * NULL → "user"). Caller owns it; NULL on ENOMEM.
 */
cJSON *bedrock_content_message(const char *role, const cJSON *content, const char *finish);

/* Returns a new message with one text part (@text NULL reads as ""); NULL on ENOMEM. */
cJSON *bedrock_content_text_message(const char *role, const char *text, const char *finish);

/* Adds OpenAI-style "tool_calls" and role "tool" replies of source message @m to @msg's parts. */
int bedrock_content_openai_extras(cJSON *msg, const cJSON *m);

/*
 * Appends @item to the array *@list, creating it. Takes ownership of @item in every case; a NULL
 * @item (a failed allocation) returns -ENOMEM. Returns 0 or -ENOMEM.
 */
int bedrock_content_list_add(cJSON **list, cJSON *item);

/* Appends one message per element of the @messages array (any family) to *@list. 0 or -ENOMEM. */
int bedrock_content_messages(cJSON **list, const cJSON *messages);

/* Appends the parts of a system prompt (a string or an array of blocks) to *@list. Same. */
int bedrock_content_system(cJSON **list, const cJSON *sys);

/*
 * Returns a new message of @role made of the reassembled stream blocks @b[0..@n) in that order
 * (tool arguments parsed as JSON when they are), "finish_reason" @finish when not NULL. Caller
 * owns it; NULL on ENOMEM.
 */
cJSON *bedrock_content_blocks_message(const char *role, const struct bedrock_block *b, size_t n,
				      const char *finish);

/*
 * Sets attribute @key of @a to the JSON text of @v; NULL @v sets nothing. Like bt_attrs_set_*():
 * returns 0 or @a's sticky error, and a failure here becomes that error.
 */
int bedrock_content_set_attr(struct bt_attrs *a, const char *key, const cJSON *v);

/* Sets @key to a one-message list of @role with @text; NULL @text sets nothing. Same returns. */
int bedrock_content_set_text_attr(struct bt_attrs *a, const char *key, const char *role,
				  const char *text);

#endif
