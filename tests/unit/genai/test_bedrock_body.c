// SPDX-License-Identifier: MIT
/*
 * Bedrock body parsers on their own: request parameters and content of every InvokeModel family,
 * responses and stream chunks of the families the recorded cassettes lack (Llama, Mistral,
 * Cohere, OpenAI-style, legacy Anthropic completions, reasoning), usage precedence, base64.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genai/bedrock_body.h"
#include "genai/bedrock_stream.h"

#include "lib/esframe.h"

static void info_init(struct bedrock_info *info, enum bedrock_op op, bool capture)
{
	memset(info, 0, sizeof(*info));
	info->op = op;
	info->capture = capture;
	info->n_results = info->n_citations = -1;
}

static void req(struct bedrock_info *info, const char *json)
{
	assert_int_equal(bedrock_body_request(info, (const uint8_t *)json, strlen(json)), 0);
}

static void resp(struct bedrock_info *info, const char *json)
{
	assert_int_equal(bedrock_body_response(info, (const uint8_t *)json, strlen(json)), 0);
}

/* A "chunk" event carrying @json base64-encoded, as InvokeModelWithResponseStream sends it. */
static int chunk(struct bedrock_info *info, const char *json)
{
	size_t len;
	char *payload = esf_chunk_payload(json, strlen(json), &len);
	int r;

	r = bedrock_stream_event(info, "chunk", (const uint8_t *)payload, len);
	free(payload);
	return r;
}

/* Returns the text of part @p of message @m of a captured message list. */
static const char *part_field(const cJSON *msgs, int m, int p, const char *field)
{
	const cJSON *parts = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, m), "parts");
	const cJSON *f = cJSON_GetObjectItem(cJSON_GetArrayItem(parts, p), field);

	if (!cJSON_IsString(f))
		fail_msg("no %s in message %d part %d", field, m, p);
	return f->valuestring;
}

static void test_bedrock_body_request_params_per_family(void **state)
{
	struct bedrock_info i;

	(void)state;
	/* legacy Anthropic text completions */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, false);
	req(&i, "{\"prompt\":\"\\n\\nHuman: hi\\n\\nAssistant:\",\"max_tokens_to_sample\":300,"
		"\"temperature\":0.5,\"top_k\":250,\"top_p\":0.9,\"stop_sequences\":[\"\\n\\nHuman:"
		"\"]}");
	assert_true(i.completion_style);
	assert_int_equal(i.max_tokens, 300);
	assert_true(i.has_top_k && i.top_k == 250);
	assert_int_equal(i.n_stop, 1);
	assert_null(i.input_messages); /* no capture, no content */
	bedrock_info_clear(&i);

	/* Mistral: stop as a string, top_k */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, false);
	req(&i, "{\"prompt\":\"<s>[INST] hi "
		"[/INST]\",\"max_tokens\":50,\"top_k\":40,\"stop\":\"</s>\"}");
	assert_int_equal(i.max_tokens, 50);
	assert_int_equal(i.n_stop, 1);
	assert_string_equal(i.stop[0], "</s>");
	bedrock_info_clear(&i);

	/* Cohere spells them p and k; Llama's p is nothing */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, false);
	req(&i, "{\"prompt\":\"x\",\"p\":0.75,\"k\":5,\"max_tokens\":1}");
	assert_true(i.has_top_p && fabs(i.top_p - 0.75) < 1e-12);
	assert_true(i.has_top_k && i.top_k == 5);
	bedrock_info_clear(&i);
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, false);
	req(&i, "{\"messages\":[],\"p\":0.75}");
	assert_false(i.has_top_p);
	assert_false(i.completion_style);
	bedrock_info_clear(&i);

	/* Nova with topK in inferenceConfig; Converse top_k via additional fields */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, false);
	req(&i, "{\"schemaVersion\":\"messages-v1\",\"messages\":[],\"inferenceConfig\":{"
		"\"max_new_tokens\":7,\"top_p\":0.3,\"topK\":20}}");
	assert_int_equal(i.max_tokens, 7);
	assert_true(fabs(i.top_p - 0.3) < 1e-12 && i.top_k == 20);
	bedrock_info_clear(&i);
	info_init(&i, BEDROCK_OP_CONVERSE, false);
	req(&i, "{\"messages\":[],\"inferenceConfig\":{\"maxTokens\":3},"
		"\"additionalModelRequestFields\":{\"top_k\":200}}");
	assert_int_equal(i.max_tokens, 3);
	assert_true(i.top_k == 200);
	bedrock_info_clear(&i);

	/* OpenAI-style chat */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, false);
	req(&i,
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_completion_tokens\":99,"
	    "\"stop\":[\"a\",\"b\"]}");
	assert_int_equal(i.max_tokens, 99);
	assert_int_equal(i.n_stop, 2);
	assert_false(i.completion_style);
	bedrock_info_clear(&i);
}

static void test_bedrock_body_request_content(void **state)
{
	struct bedrock_info i;
	cJSON *sys;
	char *txt;

	(void)state;
	info_init(&i, BEDROCK_OP_CONVERSE, true);
	req(&i, "{\"system\":[{\"text\":\"Be brief.\"},{\"cachePoint\":{\"type\":\"default\"}}],"
		"\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"look\"},{\"image\":{"
		"\"format\":\"png\",\"source\":{\"bytes\":\"AAAA\"}}}]},{\"role\":\"assistant\","
		"\"content\":[{\"reasoningContent\":{\"reasoningText\":{\"text\":\"hmm\"}}}]}]}");
	sys = i.system_instructions;
	assert_int_equal(cJSON_GetArraySize(sys), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(sys, 0), "content")->valuestring,
			    "Be brief.");
	assert_string_equal(part_field(i.input_messages, 0, 1, "type"), "image");
	/* image bytes are not prompt text: not copied */
	txt = cJSON_PrintUnformatted(i.input_messages);
	assert_null(strstr(txt, "AAAA"));
	free(txt);
	assert_string_equal(part_field(i.input_messages, 1, 0, "type"), "reasoning");
	assert_string_equal(part_field(i.input_messages, 1, 0, "content"), "hmm");
	bedrock_info_clear(&i);

	/* Anthropic: system string, tool results with list content */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, true);
	req(&i, "{\"anthropic_version\":\"bedrock-2023-05-31\",\"system\":\"You are terse.\","
		"\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
		"\"tool_use_id\":\"t1\",\"content\":[{\"type\":\"text\",\"text\":\"42\"}]}]}]}");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(i.system_instructions, 0), "content")
		->valuestring,
	    "You are terse.");
	assert_string_equal(part_field(i.input_messages, 0, 0, "type"), "tool_call_response");
	assert_string_equal(part_field(i.input_messages, 0, 0, "response"), "42");
	bedrock_info_clear(&i);

	/* Cohere Command R: chat history, message and preamble */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, true);
	req(&i, "{\"message\":\"and now?\",\"preamble\":\"Be nice.\",\"chat_history\":[{\"role\":"
		"\"USER\",\"message\":\"hi\"},{\"role\":\"CHATBOT\",\"message\":\"hello\"}]}");
	assert_int_equal(cJSON_GetArraySize(i.input_messages), 3);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(i.input_messages, 1), "role")->valuestring,
	    "assistant");
	assert_string_equal(part_field(i.input_messages, 2, 0, "content"), "and now?");
	assert_non_null(i.system_instructions);
	bedrock_info_clear(&i);

	/* OpenAI-style tool calls and tool replies */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, true);
	req(&i, "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
		"\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
		"\"{\\\"a\\\":1}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":"
		"\"ok\"}]}");
	assert_string_equal(part_field(i.input_messages, 0, 0, "type"), "tool_call");
	assert_int_equal(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(
		    cJSON_GetArrayItem(
			cJSON_GetObjectItem(cJSON_GetArrayItem(i.input_messages, 0), "parts"), 0),
		    "arguments"),
		"a")
		->valueint,
	    1);
	assert_string_equal(part_field(i.input_messages, 1, 0, "type"), "tool_call_response");
	assert_string_equal(part_field(i.input_messages, 1, 0, "id"), "c1");
	bedrock_info_clear(&i);
}

static void test_bedrock_body_responses_other_families(void **state)
{
	struct bedrock_info i;
	struct bedrock_usage u;

	(void)state;
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, true);
	resp(&i, "{\"completion\":\" "
		 "Hello!\",\"stop_reason\":\"stop_sequence\",\"stop\":\"\\n\\nHuman:\"}");
	assert_int_equal(i.n_finish, 1);
	assert_string_equal(i.finish[0], "stop_sequence");
	assert_string_equal(part_field(i.output_messages, 0, 0, "content"), " Hello!");
	bedrock_info_clear(&i);

	info_init(&i, BEDROCK_OP_INVOKE_MODEL, false);
	resp(&i,
	     "{\"id\":\"chatcmpl-1\",\"model\":\"gpt-oss-120b\",\"choices\":[{\"index\":0,"
	     "\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],"
	     "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":3}}");
	assert_string_equal(i.response_id, "chatcmpl-1");
	assert_string_equal(i.response_model, "gpt-oss-120b");
	assert_string_equal(i.finish[0], "stop");
	u = bedrock_usage_merge(&i, NULL);
	assert_true(u.has_input && u.input == 11 && u.output == 3);
	assert_null(i.output_messages);
	bedrock_info_clear(&i);

	info_init(&i, BEDROCK_OP_INVOKE_MODEL, false);
	resp(&i, "{\"text\":\"hi\",\"finish_reason\":\"COMPLETE\",\"meta\":{\"billed_units\":{"
		 "\"input_tokens\":4,\"output_tokens\":2}}}");
	u = bedrock_usage_merge(&i, NULL);
	assert_true(u.input == 4 && u.output == 2);
	assert_string_equal(i.finish[0], "COMPLETE");
	bedrock_info_clear(&i);

	/* Anthropic with cache tokens and thinking */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, true);
	resp(&i, "{\"id\":\"m\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"let me see\"},"
		 "{\"type\":\"text\",\"text\":\"4\"}],\"stop_reason\":\"end_turn\",\"usage\":{"
		 "\"input_tokens\":3,\"cache_creation_input_tokens\":100,"
		 "\"cache_read_input_tokens\":200,\"output_tokens\":9}}");
	u = bedrock_usage_merge(&i, NULL);
	assert_true(u.input == 3 && u.cache_write == 100 && u.cache_read == 200 && u.output == 9);
	assert_string_equal(part_field(i.output_messages, 0, 0, "type"), "reasoning");
	assert_string_equal(part_field(i.output_messages, 0, 1, "content"), "4");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(i.output_messages, 0), "finish_reason")
		->valuestring,
	    "end_turn");
	bedrock_info_clear(&i);

	/* error bodies: the type from __type, the message only with capture */
	info_init(&i, BEDROCK_OP_CONVERSE, false);
	resp(&i, "{\"__type\":\"com.amazon.coral#AccessDeniedException:x\",\"message\":\"no\"}");
	assert_string_equal(i.error_type, "AccessDeniedException");
	assert_null(i.error_message);
	bedrock_info_clear(&i);
	info_init(&i, BEDROCK_OP_CONVERSE, true);
	resp(&i, "{\"message\":\"Malformed input request: prompt is Say this is a test\"}");
	assert_string_equal(i.error_message,
			    "Malformed input request: prompt is Say this is a test");
	assert_int_equal(i.n_finish, 0);
	bedrock_info_clear(&i);
}

static void test_bedrock_body_stream_chunks_per_family(void **state)
{
	struct bedrock_info i;
	struct bedrock_usage u;
	const char *txt;

	(void)state;
	/* Llama: cumulative counts, reason in the last chunk, Bedrock metrics win */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL_STREAM, true);
	assert_int_equal(chunk(&i, "{\"generation\":\"\",\"prompt_token_count\":9,"
				   "\"generation_token_count\":1,\"stop_reason\":null}"),
			 0);
	assert_int_equal(chunk(&i, "{\"generation\":\"Hel\",\"prompt_token_count\":null,"
				   "\"generation_token_count\":2,\"stop_reason\":null}"),
			 1);
	assert_int_equal(chunk(&i, "{\"generation\":\"lo\",\"generation_token_count\":3,"
				   "\"stop_reason\":\"stop\",\"amazon-bedrock-invocationMetrics\":{"
				   "\"inputTokenCount\":10,\"outputTokenCount\":3}}"),
			 1);
	assert_int_equal(bedrock_stream_end(&i), 0);
	u = bedrock_usage_merge(&i, NULL);
	assert_true(u.input == 10 && u.output == 3);
	assert_string_equal(i.finish[0], "stop");
	assert_string_equal(part_field(i.output_messages, 0, 0, "content"), "Hello");
	bedrock_info_clear(&i);

	/* Mistral */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL_STREAM, true);
	assert_int_equal(chunk(&i, "{\"outputs\":[{\"text\":\"A\",\"stop_reason\":null}]}"), 1);
	assert_int_equal(chunk(&i, "{\"outputs\":[{\"text\":\"B\",\"stop_reason\":\"stop\"}]}"), 1);
	assert_int_equal(bedrock_stream_end(&i), 0);
	assert_string_equal(part_field(i.output_messages, 0, 0, "content"), "AB");
	assert_string_equal(i.finish[0], "stop");
	bedrock_info_clear(&i);

	/* Cohere Command and Command R */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL_STREAM, false);
	assert_int_equal(chunk(&i, "{\"generations\":[{\"text\":\" Hi\",\"finish_reason\":null}],"
				   "\"is_finished\":false}"),
			 1);
	assert_int_equal(chunk(&i, "{\"is_finished\":true,\"finish_reason\":\"COMPLETE\"}"), 0);
	assert_string_equal(i.finish[0], "COMPLETE");
	assert_int_equal(i.n_blocks, 0); /* nothing kept without capture */
	bedrock_info_clear(&i);
	info_init(&i, BEDROCK_OP_INVOKE_MODEL_STREAM, true);
	assert_int_equal(chunk(&i, "{\"event_type\":\"text-generation\",\"text\":\"Yo\","
				   "\"is_finished\":false}"),
			 1);
	assert_int_equal(chunk(&i,
			       "{\"event_type\":\"stream-end\",\"finish_reason\":\"MAX_TOKENS\","
			       "\"response\":{\"text\":\"Yo\",\"meta\":{\"billed_units\":{"
			       "\"input_tokens\":5,\"output_tokens\":1}}}}"),
			 0);
	assert_int_equal(bedrock_stream_end(&i), 0);
	u = bedrock_usage_merge(&i, NULL);
	assert_true(u.input == 5 && u.output == 1);
	assert_string_equal(i.finish[0], "MAX_TOKENS");
	assert_string_equal(part_field(i.output_messages, 0, 0, "content"), "Yo");
	bedrock_info_clear(&i);

	/* OpenAI-style deltas with a streamed tool call */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL_STREAM, true);
	assert_int_equal(chunk(&i,
			       "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
			       "\"id\":\"c9\",\"function\":{\"name\":\"get\",\"arguments\":"
			       "\"{\\\"q\\\":\"}}]}}]}"),
			 1);
	assert_int_equal(chunk(&i,
			       "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
			       "\"function\":{\"arguments\":\"1}\"}}]},\"finish_reason\":"
			       "\"tool_calls\"}]}"),
			 1);
	assert_int_equal(bedrock_stream_end(&i), 0);
	assert_string_equal(part_field(i.output_messages, 0, 0, "name"), "get");
	assert_int_equal(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(
		    cJSON_GetArrayItem(
			cJSON_GetObjectItem(cJSON_GetArrayItem(i.output_messages, 0), "parts"), 0),
		    "arguments"),
		"q")
		->valueint,
	    1);
	assert_string_equal(i.finish[0], "tool_calls");
	bedrock_info_clear(&i);

	/* Anthropic thinking deltas and a ConverseStream reasoning delta */
	info_init(&i, BEDROCK_OP_INVOKE_MODEL_STREAM, true);
	assert_int_equal(chunk(&i,
			       "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
			       "{\"type\":\"thinking\",\"thinking\":\"\"}}"),
			 0);
	assert_int_equal(chunk(&i, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
				   "\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}"),
			 1);
	assert_int_equal(bedrock_stream_end(&i), 0);
	assert_string_equal(part_field(i.output_messages, 0, 0, "type"), "reasoning");
	bedrock_info_clear(&i);
	info_init(&i, BEDROCK_OP_CONVERSE_STREAM, false);
	txt = "{\"delta\":{\"reasoningContent\":{\"text\":\"x\"}}}";
	assert_int_equal(
	    bedrock_stream_event(&i, "contentBlockDelta", (const uint8_t *)txt, strlen(txt)), 1);
	bedrock_info_clear(&i);
}

static void test_bedrock_body_usage_precedence(void **state)
{
	struct bedrock_info i;
	struct bedrock_usage hdr = {.input = 1,
				    .output = 1,
				    .cache_read = 7,
				    .has_input = true,
				    .has_output = true,
				    .has_cache_read = true};
	struct bedrock_usage u;

	(void)state;
	info_init(&i, BEDROCK_OP_INVOKE_MODEL, false);
	u = bedrock_usage_merge(&i, &hdr);
	assert_true(u.input == 1 && u.cache_read == 7);
	resp(&i, "{\"usage\":{\"input_tokens\":2,\"output_tokens\":2}}");
	u = bedrock_usage_merge(&i, &hdr);
	assert_true(u.input == 2 && u.output == 2 && u.cache_read == 7);
	i.metrics_usage.input = 3;
	i.metrics_usage.has_input = true;
	u = bedrock_usage_merge(&i, &hdr);
	assert_true(u.input == 3 && u.output == 2);
	bedrock_info_clear(&i);
}

static void test_bedrock_body_malformed_marks_not_fails(void **state)
{
	static const char *const bodies[] = {
	    "",
	    "{",
	    "[]",
	    "null",
	    "\"str\"",
	    "{\"content\":5}",
	    "{\"results\":{}}",
	    "{\"output\":{\"message\":7}}",
	    "{\"usage\":{\"inputTokens\":-5}}",
	    "{\"usage\":{\"inputTokens\":1e300}}",
	    "{\"choices\":[null,1,{\"message\":[]}]}",
	    "{\"messages\":[null,{\"content\":{}},{\"role\":5,\"content\":[1,[],{}]}]}",
	};
	static const enum bedrock_op ops[] = {
	    BEDROCK_OP_CONVERSE,	BEDROCK_OP_INVOKE_MODEL, BEDROCK_OP_COUNT_TOKENS,
	    BEDROCK_OP_APPLY_GUARDRAIL, BEDROCK_OP_RETRIEVE,	 BEDROCK_OP_RETRIEVE_AND_GENERATE,
	    BEDROCK_OP_INVOKE_AGENT,
	};
	struct bedrock_info i;
	struct bedrock_usage u;
	size_t b, o;

	(void)state;
	for (o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		for (b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
			info_init(&i, ops[o], true);
			req(&i, bodies[b]);
			resp(&i, bodies[b]);
			assert_int_equal(bedrock_stream_event(&i, "chunk",
							      (const uint8_t *)bodies[b],
							      strlen(bodies[b])),
					 0);
			assert_int_equal(bedrock_stream_end(&i), 0);
			u = bedrock_usage_merge(&i, NULL);
			assert_false(u.has_input && u.input < 0);
			bedrock_info_clear(&i);
		}
	}
	info_init(&i, BEDROCK_OP_CONVERSE, false);
	req(&i, "{not json");
	assert_string_equal(i.parse_error, "request body is not valid JSON");
	bedrock_info_clear(&i);
	info_init(&i, BEDROCK_OP_INVOKE_MODEL_STREAM, false);
	assert_int_equal(
	    bedrock_stream_event(&i, "chunk", (const uint8_t *)"{\"bytes\":\"!!\"}", 14), 0);
	assert_string_equal(i.parse_error, "stream chunk bytes are not base64");
	bedrock_info_clear(&i);
}

static void test_bedrock_body_base64(void **state)
{
	size_t n;
	uint8_t *p;

	(void)state;
	p = bedrock_b64_decode("aGVsbG8=", 8, &n);
	assert_non_null(p);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "hello", 5);
	free(p);
	p = bedrock_b64_decode("aGVs\nbG8", 8, &n); /* unpadded, wrapped */
	assert_int_equal(n, 5);
	free(p);
	p = bedrock_b64_decode("", 0, &n);
	assert_int_equal(n, 0);
	free(p);
	errno = 0;
	assert_null(bedrock_b64_decode("aGVsbG8=x", 9, &n));
	assert_int_equal(errno, EINVAL);
	assert_null(bedrock_b64_decode("a", 1, &n));
	assert_null(bedrock_b64_decode("a$==", 4, &n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bedrock_body_request_params_per_family),
	    cmocka_unit_test(test_bedrock_body_request_content),
	    cmocka_unit_test(test_bedrock_body_responses_other_families),
	    cmocka_unit_test(test_bedrock_body_stream_chunks_per_family),
	    cmocka_unit_test(test_bedrock_body_usage_precedence),
	    cmocka_unit_test(test_bedrock_body_malformed_marks_not_fails),
	    cmocka_unit_test(test_bedrock_body_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
