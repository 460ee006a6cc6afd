/* SPDX-License-Identifier: MIT */
/*
 * Model price tables for bedtrace.cost.usd: USD per one million tokens (input, output, cache
 * read, cache write), keyed by Bedrock model id or id prefix. Owns the built-in table (the same
 * list prices as data/prices.json, compiled in so the binary works from any directory) and the
 * loader for a --prices FILE that replaces it. Lookups are pure; only price_table_load does I/O.
 */
#ifndef BT_PRICES_H
#define BT_PRICES_H

#include <stdbool.h>
#include <stdint.h>

/* USD per 1,000,000 tokens. A cache price absent from the table is the input price. */
struct price {
	double input;
	double output;
	double cache_read;
	double cache_write;
};

struct price_table;

/*
 * Returns a table read from the JSON file @path ({"models": {"id-or-prefix": {"input": ..,
 * "output": .., "cache_read": .., "cache_write": ..}}}), caller frees with price_table_free;
 * NULL with errno set (ENOENT, EINVAL for a malformed file, ENOMEM) after one pr_warn line that
 * names @path and why: the caller adds no message of its own.
 */
struct price_table *price_table_load(const char *path);

/* Returns the built-in table (static, never freed). */
const struct price_table *price_table_builtin(void);

/* Frees a table from price_table_load; NULL and the built-in table are ignored. */
void price_table_free(struct price_table *t);

/* Returns the number of models or prefixes in @t. */
unsigned int price_table_size(const struct price_table *t);

/* Returns the table's "as_of" date string (owned by @t) or NULL. */
const char *price_table_as_of(const struct price_table *t);

/*
 * Finds the price of @model: the exact id, then the id with an ARN resource path and a
 * cross-region inference profile prefix (us., eu., apac., global., ...) removed, then the longest
 * key that prefixes it. Returns 0 and fills @out, or -ENOENT.
 */
int price_lookup(const struct price_table *t, const char *model, struct price *out);

/*
 * Returns the USD cost of one call. @input_total counts every input token including the cache
 * read and cache write tokens (gen_ai.usage.input_tokens); they are priced at their own rates.
 */
double price_cost(const struct price *p, int64_t input_total, int64_t output, int64_t cache_read,
		  int64_t cache_write);

#endif
