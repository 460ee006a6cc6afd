// SPDX-License-Identifier: MIT
/*
 * Tests for user/metrics/inference_log.c: one record per model call and none for other spans,
 * linked to its span by traceId/spanId, its facts as attributes, content only when asked for,
 * severity ERROR for a failed call, grouping by resource; the JSON read back with cJSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/inference_log.h"
#include "span/semconv.h"

static struct bt_span *model_call(const char *model)
{
	struct bt_span *s = bt_span_new("chat x", BT_KIND_CLIENT);

	s->start_ns = 1700000000000000000ull;
	s->end_ns = s->start_ns + 1500000000ull;
	bt_attrs_set_str(&s->attrs, ATTR_HTTP_REQUEST_METHOD, "POST");
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_PROVIDER_NAME, GEN_AI_PROVIDER_AWS_BEDROCK);
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_OPERATION_NAME, "chat");
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_REQUEST_MODEL, model);
	bt_attrs_set_str(&s->attrs, ATTR_AWS_REQUEST_ID, "req-1");
	bt_attrs_set_int(&s->attrs, ATTR_GEN_AI_USAGE_INPUT_TOKENS, 12);
	bt_attrs_set_int(&s->attrs, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, 34);
	bt_attrs_set_double(&s->attrs, ATTR_BEDTRACE_COST_USD, 0.01);
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_INPUT_MESSAGES, "[{\"role\":\"user\"}]");
	bt_attrs_set_str(&s->attrs, ATTR_URL_FULL, "https://bedrock/model/x/converse");
	return s;
}

static cJSON *records_of(const char *json, int *n)
{
	cJSON *root = cJSON_Parse(json), *rl, *all = cJSON_CreateArray(), *r;

	assert_non_null(root);
	*n = 0;
	cJSON_ArrayForEach(rl, cJSON_GetObjectItem(root, "resourceLogs"))
	{
		cJSON *sl = cJSON_GetArrayItem(cJSON_GetObjectItem(rl, "scopeLogs"), 0);

		assert_string_equal(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(sl, "scope"), "name")->valuestring,
		    "bedtrace");
		cJSON_ArrayForEach(r, cJSON_GetObjectItem(sl, "logRecords"))
		{
			cJSON_AddItemReferenceToArray(all, r);
			(*n)++;
		}
	}
	cJSON_AddItemToObject(all, "root", root); /* not an array member: kept for the free */
	return all;
}

static cJSON *attr(cJSON *record, const char *key)
{
	cJSON *kv;

	cJSON_ArrayForEach(kv, cJSON_GetObjectItem(record, "attributes"))
	{
		if (!strcmp(cJSON_GetObjectItem(kv, "key")->valuestring, key))
			return cJSON_GetObjectItem(kv, "value");
	}
	return NULL;
}

static void test_one_record_per_model_call(void **state)
{
	struct bt_resource *r1 = bt_resource_new(), *r2 = bt_resource_new();
	struct bt_span *spans[4];
	char hex[33];
	size_t n;
	int got;
	char *json;
	cJSON *all, *rec;

	(void)state;
	spans[0] = model_call("m1");
	spans[1] = bt_span_new("f", BT_KIND_INTERNAL);
	bt_attrs_set_str(&spans[1]->attrs, ATTR_CODE_FUNCTION_NAME, "f");
	spans[2] = model_call("m2");
	bt_attrs_set_str(&spans[2]->attrs, ATTR_ERROR_TYPE, "ThrottlingException");
	bt_span_set_status(spans[2], BT_STATUS_ERROR, "ThrottlingException");
	spans[3] = bt_span_new("GET", BT_KIND_CLIENT);
	bt_attrs_set_str(&spans[3]->attrs, ATTR_HTTP_REQUEST_METHOD, "GET");
	bt_span_set_resource(spans[0], r1);
	bt_span_set_resource(spans[1], r1);
	bt_span_set_resource(spans[2], r2);
	json = inference_logs_encode(spans, 4, false, &n);
	assert_non_null(json);
	assert_int_equal(n, 2);
	assert_null(strchr(json, '\n'));
	all = records_of(json, &got);
	assert_int_equal(got, 2);
	rec = cJSON_GetArrayItem(all, 0);
	assert_string_equal(cJSON_GetObjectItem(rec, "eventName")->valuestring,
			    INFERENCE_EVENT_NAME);
	bt_hex(spans[0]->trace_id, 16, hex);
	assert_string_equal(cJSON_GetObjectItem(rec, "traceId")->valuestring, hex);
	bt_hex(spans[0]->span_id, 8, hex);
	assert_string_equal(cJSON_GetObjectItem(rec, "spanId")->valuestring, hex);
	assert_string_equal(cJSON_GetObjectItem(rec, "timeUnixNano")->valuestring,
			    "1700000001500000000");
	assert_int_equal(cJSON_GetObjectItem(rec, "severityNumber")->valueint, 9);
	assert_string_equal(
	    cJSON_GetObjectItem(attr(rec, ATTR_AWS_REQUEST_ID), "stringValue")->valuestring,
	    "req-1");
	assert_string_equal(
	    cJSON_GetObjectItem(attr(rec, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS), "intValue")
		->valuestring,
	    "34");
	assert_true(
	    cJSON_GetObjectItem(attr(rec, ATTR_BEDTRACE_DURATION), "doubleValue")->valuedouble ==
	    1.5);
	/* no content without --capture-content; nothing but the facts */
	assert_null(attr(rec, ATTR_GEN_AI_INPUT_MESSAGES));
	assert_null(attr(rec, ATTR_URL_FULL));
	rec = cJSON_GetArrayItem(all, 1);
	assert_int_equal(cJSON_GetObjectItem(rec, "severityNumber")->valueint, 17);
	assert_non_null(attr(rec, ATTR_ERROR_TYPE));
	cJSON_Delete(all);
	free(json);

	json = inference_logs_encode(spans, 4, true, &n);
	all = records_of(json, &got);
	assert_non_null(attr(cJSON_GetArrayItem(all, 0), ATTR_GEN_AI_INPUT_MESSAGES));
	cJSON_Delete(all);
	free(json);

	json = inference_logs_encode(spans + 1, 1, false, &n);
	assert_int_equal(n, 0);
	assert_string_equal(json, "{\"resourceLogs\":[]}");
	free(json);
	for (n = 0; n < 4; n++)
		bt_span_free(spans[n]);
	bt_resource_put(r1);
	bt_resource_put(r2);
}

static void test_agent_model_invocations_are_calls(void **state)
{
	struct bt_span *s = bt_span_new("chat m", BT_KIND_INTERNAL), *tool;

	(void)state;
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_OPERATION_NAME, "chat");
	assert_true(inference_log_wanted(s));
	tool = bt_span_new("execute_tool t", BT_KIND_INTERNAL);
	bt_attrs_set_str(&tool->attrs, ATTR_GEN_AI_OPERATION_NAME, "execute_tool");
	assert_false(inference_log_wanted(tool));
	bt_span_free(s);
	bt_span_free(tool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_record_per_model_call),
	    cmocka_unit_test(test_agent_model_invocations_are_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
