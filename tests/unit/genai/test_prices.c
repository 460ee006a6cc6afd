// SPDX-License-Identifier: MIT
/* Price tables: built-in lookups, id normalisation, cost math, --prices files. */
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
#include <unistd.h>

#include <cjson/cJSON.h>

#include "genai/prices.h"

static void assert_price(const struct price_table *t, const char *model, double in, double out)
{
	struct price p;

	if (price_lookup(t, model, &p))
		fail_msg("no price for %s", model);
	assert_true(fabs(p.input - in) < 1e-12);
	assert_true(fabs(p.output - out) < 1e-12);
}

static void test_prices_builtin_cassette_models(void **state)
{
	const struct price_table *t = price_table_builtin();

	(void)state;
	assert_true(price_table_size(t) >= 40);
	assert_string_equal(price_table_as_of(t), "2025-11-01");
	assert_price(t, "anthropic.claude-v2", 8.0, 24.0);
	assert_price(t, "anthropic.claude-v2:1", 8.0, 24.0);
	assert_price(t, "anthropic.claude-3-5-sonnet-20240620-v1:0", 3.0, 15.0);
	assert_price(t, "anthropic.claude-3-5-haiku-20241022-v1:0", 0.8, 4.0);
	assert_price(t, "amazon.nova-micro-v1:0", 0.035, 0.14);
	assert_price(t, "amazon.titan-text-lite-v1", 0.15, 0.20);
	assert_price(t, "amazon.titan-text-express-v1", 0.20, 0.60);
	assert_price(t, "meta.llama3-1-70b-instruct-v1:0", 0.72, 0.72);
	assert_price(t, "mistral.mistral-7b-instruct-v0:2", 0.15, 0.20);
	assert_price(t, "cohere.command-light-text-v14", 0.30, 0.60);
	assert_price(t, "cohere.command-r-v1:0", 0.50, 1.50);
	assert_price(t, "cohere.command-r-plus-v1:0", 3.0, 15.0);
	/* current families */
	assert_price(t, "anthropic.claude-sonnet-4-5-20250929-v1:0", 3.0, 15.0);
	assert_price(t, "anthropic.claude-sonnet-4-20250514-v1:0", 3.0, 15.0);
	assert_price(t, "anthropic.claude-opus-4-1-20250805-v1:0", 15.0, 75.0);
	assert_price(t, "amazon.nova-pro-v1:0", 0.8, 3.2);
	assert_price(t, "meta.llama3-3-70b-instruct-v1:0", 0.72, 0.72);
	assert_price(NULL, "amazon.nova-lite-v1:0", 0.06, 0.24); /* NULL: built-in */
}

static void test_prices_profiles_and_arns(void **state)
{
	struct price p;

	(void)state;
	assert_price(NULL, "us.anthropic.claude-3-5-haiku-20241022-v1:0", 0.8, 4.0);
	assert_price(NULL, "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", 3.0, 15.0);
	assert_price(NULL, "apac.amazon.nova-micro-v1:0", 0.035, 0.14);
	assert_price(NULL, "global.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.0, 15.0);
	assert_price(NULL,
		     "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-8b-instruct-v1:0",
		     0.22, 0.22);
	assert_price(NULL,
		     "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
		     "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
		     3.0, 15.0);
	/* longest prefix: sonnet 4.5 is not sonnet 4 */
	assert_int_equal(price_lookup(NULL, "anthropic.claude-haiku-4-5-20251001-v1:0", &p), 0);
	assert_true(fabs(p.input - 1.0) < 1e-12);
	/* cannot be priced: unknown models, application profiles, provisioned throughput */
	assert_int_equal(price_lookup(NULL, "does-not-exist", &p), -ENOENT);
	assert_int_equal(price_lookup(NULL, "", &p), -ENOENT);
	assert_int_equal(price_lookup(NULL, NULL, &p), -ENOENT);
	assert_int_equal(price_lookup(NULL,
				      "arn:aws:bedrock:us-east-1:123456789012:"
				      "application-inference-profile/a1b2c3d4e5",
				      &p),
			 -ENOENT);
	assert_int_equal(price_lookup(NULL, "us.", &p), -ENOENT);
}

static void test_prices_cost_math(void **state)
{
	struct price p;

	(void)state;
	assert_int_equal(price_lookup(NULL, "anthropic.claude-3-5-sonnet-20241022-v2:0", &p), 0);
	assert_true(fabs(p.cache_read - 0.30) < 1e-12);
	assert_true(fabs(p.cache_write - 3.75) < 1e-12);
	/* 1M fresh input + 1M output */
	assert_true(fabs(price_cost(&p, 1000000, 1000000, 0, 0) - 18.0) < 1e-9);
	/* input_total includes the cache tokens, each priced at its own rate */
	assert_true(fabs(price_cost(&p, 1510, 20, 1000, 500) -
			 (10 * 3.0 + 20 * 15.0 + 1000 * 0.30 + 500 * 3.75) / 1e6) < 1e-15);
	/* inconsistent counts never go negative */
	assert_true(price_cost(&p, 0, 0, 50, 50) > 0);
	assert_true(price_cost(&p, -5, -5, -1, -1) == 0);
	/* no separate cache price: the input price */
	assert_int_equal(price_lookup(NULL, "amazon.titan-text-lite-v1", &p), 0);
	assert_true(fabs(p.cache_read - p.input) < 1e-12 && fabs(p.cache_write - p.input) < 1e-12);
	assert_int_equal(price_lookup(NULL, "amazon.nova-micro-v1:0", &p), 0);
	assert_true(fabs(p.cache_read - 0.00875) < 1e-12);
	assert_true(fabs(price_cost(&p, 5, 10, 0, 0) - (5 * 0.035 + 10 * 0.14) / 1e6) < 1e-15);
}

/* data/prices.json and the compiled-in table must say the same thing. */
static void test_prices_data_file_matches_builtin(void **state)
{
	struct price_table *f = price_table_load("data/prices.json");
	const struct price_table *b = price_table_builtin();
	cJSON *root, *m;
	FILE *fp;
	char *buf;
	long len;

	(void)state;
	assert_non_null(f);
	assert_int_equal(price_table_size(f), price_table_size(b));
	assert_string_equal(price_table_as_of(f), price_table_as_of(b));
	fp = fopen("data/prices.json", "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	root = cJSON_Parse(buf);
	assert_non_null(root);
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(root, "models"))
	{
		struct price pf, pb;

		assert_int_equal(price_lookup(f, m->string, &pf), 0);
		if (price_lookup(b, m->string, &pb))
			fail_msg("%s is in data/prices.json but not built in", m->string);
		assert_memory_equal(&pf, &pb, sizeof(pf));
	}
	cJSON_Delete(root);
	free(buf);
	price_table_free(f);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/bt_prices_XXXXXX");
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_prices_load_override(void **state)
{
	char *path = write_tmp("{\"as_of\": \"2030-01-01\", \"models\": {"
			       "\"anthropic.claude\": {\"input\": 1, \"output\": 2},"
			       "\"anthropic.claude-3-5-haiku\": {\"input\": 0.5, \"output\": 0.7,"
			       " \"cache_read\": 0.05, \"cache_write\": 0.6}}}");
	struct price_table *t = price_table_load(path);
	struct price p;

	(void)state;
	unlink(path);
	free(path);
	assert_non_null(t);
	assert_int_equal(price_table_size(t), 2);
	assert_string_equal(price_table_as_of(t), "2030-01-01");
	assert_price(t, "us.anthropic.claude-3-5-haiku-20241022-v1:0", 0.5, 0.7);
	assert_price(t, "anthropic.claude-v2", 1, 2);
	assert_int_equal(price_lookup(t, "anthropic.claude-v2", &p), 0);
	assert_true(fabs(p.cache_read - 1) < 1e-12);
	/* the override replaces the built-in table entirely */
	assert_int_equal(price_lookup(t, "amazon.nova-micro-v1:0", &p), -ENOENT);
	price_table_free(t);

	/* a bare map works too */
	path = write_tmp("{\"_comment\": \"mine\", \"my.model\": {\"input\": 3, \"output\": 4}}");
	t = price_table_load(path);
	unlink(path);
	free(path);
	assert_non_null(t);
	assert_price(t, "my.model-v1", 3, 4);
	price_table_free(t);
	price_table_free(NULL);
	price_table_free((struct price_table *)price_table_builtin()); /* ignored */
	assert_price(NULL, "amazon.nova-micro-v1:0", 0.035, 0.14);
}

static void test_prices_load_rejects_bad_files(void **state)
{
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[]",
	    "{\"models\": []}",
	    "{\"models\": {}}",
	    "{\"models\": {\"m\": {\"input\": -1, \"output\": 1}}}",
	    "{\"models\": {\"m\": {\"input\": \"1\", \"output\": 1}}}",
	    "{\"models\": {\"m\": {\"output\": 1}}}",
	    "{\"models\": {\"m\": 5}}",
	    "{\"models\": {\"m\": {\"input\": 1, \"output\": 1, \"cache_read\": -2}}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = write_tmp(bad[i]);

		errno = 0;
		if (price_table_load(path))
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(errno, EINVAL);
		unlink(path);
		free(path);
	}
	errno = 0;
	assert_null(price_table_load("/nonexistent/prices.json"));
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prices_builtin_cassette_models),
	    cmocka_unit_test(test_prices_profiles_and_arns),
	    cmocka_unit_test(test_prices_cost_math),
	    cmocka_unit_test(test_prices_data_file_matches_builtin),
	    cmocka_unit_test(test_prices_load_override),
	    cmocka_unit_test(test_prices_load_rejects_bad_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
