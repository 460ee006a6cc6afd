// SPDX-License-Identifier: MIT
/*
 * Price tables: the compiled-in list prices and the --prices JSON loader, and the lookup that
 * maps a Bedrock model id (bare, region-prefixed inference profile, or ARN) to a price.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "util/log.h"
#include "genai/prices.h"

/* A --prices file is a small hand-edited table; anything bigger is a mistake, not a table. */
#define PRICES_MAX_FILE (4u << 20)
#define NOP (-1.0) /* no separate cache price: the input price applies */

struct price_entry {
	char *model;
	struct price p;
};

struct price_table {
	struct price_entry *v;
	unsigned int n;
	char *as_of;
};

struct builtin_row {
	const char *model;
	double input, output, cache_read, cache_write;
};

/* Same rows and date as data/prices.json; test_prices checks that they agree. */
static const struct builtin_row builtin_rows[] = {
    {"anthropic.claude-instant-v1", 0.8, 2.4, NOP, NOP},
    {"anthropic.claude-v2", 8.0, 24.0, NOP, NOP},
    {"anthropic.claude-3-haiku-20240307", 0.25, 1.25, NOP, NOP},
    {"anthropic.claude-3-sonnet-20240229", 3.0, 15.0, NOP, NOP},
    {"anthropic.claude-3-opus-20240229", 15.0, 75.0, NOP, NOP},
    {"anthropic.claude-3-5-haiku-20241022", 0.8, 4.0, 0.08, 1.0},
    {"anthropic.claude-3-5-sonnet-20240620", 3.0, 15.0, 0.3, 3.75},
    {"anthropic.claude-3-5-sonnet-20241022", 3.0, 15.0, 0.3, 3.75},
    {"anthropic.claude-3-7-sonnet-20250219", 3.0, 15.0, 0.3, 3.75},
    {"anthropic.claude-sonnet-4-20250514", 3.0, 15.0, 0.3, 3.75},
    {"anthropic.claude-sonnet-4-5-20250929", 3.0, 15.0, 0.3, 3.75},
    {"anthropic.claude-haiku-4-5-20251001", 1.0, 5.0, 0.1, 1.25},
    {"anthropic.claude-opus-4-20250514", 15.0, 75.0, 1.5, 18.75},
    {"anthropic.claude-opus-4-1-20250805", 15.0, 75.0, 1.5, 18.75},
    {"anthropic.claude-opus-4-5-20251101", 5.0, 25.0, 0.5, 6.25},
    {"amazon.nova-micro-v1", 0.035, 0.14, 0.00875, NOP},
    {"amazon.nova-lite-v1", 0.06, 0.24, 0.015, NOP},
    {"amazon.nova-pro-v1", 0.8, 3.2, 0.2, NOP},
    {"amazon.nova-premier-v1", 2.5, 12.5, 0.625, NOP},
    {"amazon.titan-text-lite-v1", 0.15, 0.2, NOP, NOP},
    {"amazon.titan-text-express-v1", 0.2, 0.6, NOP, NOP},
    {"amazon.titan-text-premier-v1", 0.5, 1.5, NOP, NOP},
    {"amazon.titan-embed-text-v1", 0.1, 0.0, NOP, NOP},
    {"amazon.titan-embed-text-v2", 0.02, 0.0, NOP, NOP},
    {"meta.llama3-8b-instruct-v1", 0.3, 0.6, NOP, NOP},
    {"meta.llama3-70b-instruct-v1", 2.65, 3.5, NOP, NOP},
    {"meta.llama3-1-8b-instruct-v1", 0.22, 0.22, NOP, NOP},
    {"meta.llama3-1-70b-instruct-v1", 0.72, 0.72, NOP, NOP},
    {"meta.llama3-1-405b-instruct-v1", 2.4, 2.4, NOP, NOP},
    {"meta.llama3-2-1b-instruct-v1", 0.1, 0.1, NOP, NOP},
    {"meta.llama3-2-3b-instruct-v1", 0.15, 0.15, NOP, NOP},
    {"meta.llama3-2-11b-instruct-v1", 0.16, 0.16, NOP, NOP},
    {"meta.llama3-2-90b-instruct-v1", 0.72, 0.72, NOP, NOP},
    {"meta.llama3-3-70b-instruct-v1", 0.72, 0.72, NOP, NOP},
    {"meta.llama4-scout-17b-instruct-v1", 0.17, 0.66, NOP, NOP},
    {"meta.llama4-maverick-17b-instruct-v1", 0.24, 0.97, NOP, NOP},
    {"mistral.mistral-7b-instruct-v0", 0.15, 0.2, NOP, NOP},
    {"mistral.mixtral-8x7b-instruct-v0", 0.45, 0.7, NOP, NOP},
    {"mistral.mistral-small-2402-v1", 1.0, 3.0, NOP, NOP},
    {"mistral.mistral-large-2402-v1", 4.0, 12.0, NOP, NOP},
    {"mistral.mistral-large-2407-v1", 2.0, 6.0, NOP, NOP},
    {"mistral.pixtral-large-2502-v1", 2.0, 6.0, NOP, NOP},
    {"cohere.command-text-v14", 1.5, 2.0, NOP, NOP},
    {"cohere.command-light-text-v14", 0.3, 0.6, NOP, NOP},
    {"cohere.command-r-v1", 0.5, 1.5, NOP, NOP},
    {"cohere.command-r-plus-v1", 3.0, 15.0, NOP, NOP},
    {"ai21.jamba-1-5-mini-v1", 0.2, 0.4, NOP, NOP},
    {"ai21.jamba-1-5-large-v1", 2.0, 8.0, NOP, NOP},
    {"deepseek.r1-v1", 1.35, 5.4, NOP, NOP},
    {"openai.gpt-oss-20b-1", 0.07, 0.3, NOP, NOP},
    {"openai.gpt-oss-120b-1", 0.15, 0.6, NOP, NOP},
};

#define BUILTIN_AS_OF "2025-11-01"
#define N_BUILTIN (sizeof(builtin_rows) / sizeof(builtin_rows[0]))

static struct price_entry builtin_entries[N_BUILTIN];
static struct price_table builtin_table;

static void price_fill(struct price *p, double in, double out, double cr, double cw)
{
	p->input = in;
	p->output = out;
	p->cache_read = cr < 0 ? in : cr;
	p->cache_write = cw < 0 ? in : cw;
}

const struct price_table *price_table_builtin(void)
{
	unsigned int i;

	/* Built on first use from const rows; entries only alias the string literals. */
	if (builtin_table.v)
		return &builtin_table;
	for (i = 0; i < N_BUILTIN; i++) {
		builtin_entries[i].model = (char *)builtin_rows[i].model;
		price_fill(&builtin_entries[i].p, builtin_rows[i].input, builtin_rows[i].output,
			   builtin_rows[i].cache_read, builtin_rows[i].cache_write);
	}
	builtin_table.n = N_BUILTIN;
	builtin_table.as_of = (char *)BUILTIN_AS_OF;
	builtin_table.v = builtin_entries;
	return &builtin_table;
}

void price_table_free(struct price_table *t)
{
	unsigned int i;

	if (!t || t == &builtin_table)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i].model);
	free(t->v);
	free(t->as_of);
	free(t);
}

unsigned int price_table_size(const struct price_table *t)
{
	return t ? t->n : 0;
}

const char *price_table_as_of(const struct price_table *t)
{
	return t ? t->as_of : NULL;
}

/* Returns a price member as a non-negative number, -1 when absent, -2 when invalid. */
static double price_member(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!it)
		return -1;
	if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble != it->valuedouble)
		return -2;
	return it->valuedouble;
}

static int table_from_json(struct price_table *t, const cJSON *root, const char *path)
{
	const cJSON *models, *m, *as_of;
	unsigned int n = 0;

	if (!cJSON_IsObject(root)) {
		pr_warn("%s: prices must be a JSON object\n", path);
		return -EINVAL;
	}
	as_of = cJSON_GetObjectItemCaseSensitive(root, "as_of");
	if (cJSON_IsString(as_of)) {
		t->as_of = strdup(as_of->valuestring);
		if (!t->as_of)
			return -ENOMEM;
	}
	/* {"models": {...}} as in data/prices.json, or a bare {"model": {...}} map */
	models = cJSON_GetObjectItemCaseSensitive(root, "models");
	if (!models)
		models = root;
	if (!cJSON_IsObject(models)) {
		pr_warn("%s: \"models\" must be an object\n", path);
		return -EINVAL;
	}
	cJSON_ArrayForEach(m, models) n++;
	t->v = calloc(n ? n : 1, sizeof(*t->v));
	if (!t->v)
		return -ENOMEM;
	cJSON_ArrayForEach(m, models)
	{
		double in, out, cr, cw;

		if (!cJSON_IsObject(m)) {
			if (models == root)
				continue; /* "as_of", "_comment"... beside the models */
			pr_warn("%s: price of \"%s\" must be an object\n", path, m->string);
			return -EINVAL;
		}
		in = price_member(m, "input");
		out = price_member(m, "output");
		cr = price_member(m, "cache_read");
		cw = price_member(m, "cache_write");
		if (in < 0 || out < 0 || cr < -1 || cw < -1 || !m->string || !*m->string) {
			pr_warn("%s: \"%s\" needs non-negative numbers \"input\" and \"output\" "
				"(USD per million tokens)\n",
				path, m->string ? m->string : "");
			return -EINVAL;
		}
		t->v[t->n].model = strdup(m->string);
		if (!t->v[t->n].model)
			return -ENOMEM;
		price_fill(&t->v[t->n].p, in, out, cr, cw);
		t->n++;
	}
	if (!t->n) {
		pr_warn("%s: no model prices found\n", path);
		return -EINVAL;
	}
	return 0;
}

struct price_table *price_table_load(const char *path)
{
	struct price_table *t = NULL;
	cJSON *root = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int err = 0;

	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		pr_warn("cannot open price table %s: %s\n", path, strerror(-err));
		goto cleanup;
	}
	buf = malloc(PRICES_MAX_FILE + 1);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	len = fread(buf, 1, PRICES_MAX_FILE + 1, f);
	if (ferror(f) || len > PRICES_MAX_FILE) {
		err = ferror(f) ? -EIO : -EFBIG;
		pr_warn("cannot read price table %s: %s\n", path,
			err == -EIO ? "read error" : "larger than 4 MiB");
		goto cleanup;
	}
	root = cJSON_ParseWithLength(buf, len);
	if (!root) {
		err = -EINVAL;
		pr_warn("%s: not valid JSON (near byte %td)\n", path,
			cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - buf : (ptrdiff_t)0);
		goto cleanup;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = table_from_json(t, root, path);
cleanup:
	if (err == -ENOMEM) /* the other failures were reported where they were found */
		pr_warn("cannot load price table %s: out of memory\n", path);
	if (err) {
		price_table_free(t);
		t = NULL;
	}
	cJSON_Delete(root);
	free(buf);
	if (f)
		fclose(f);
	if (err)
		errno = -err;
	return t;
}

static const struct price_entry *find_exact(const struct price_table *t, const char *model)
{
	unsigned int i;

	for (i = 0; i < t->n; i++)
		if (strcasecmp(t->v[i].model, model) == 0)
			return &t->v[i];
	return NULL;
}

static const struct price_entry *find_prefix(const struct price_table *t, const char *model)
{
	const struct price_entry *best = NULL;
	size_t best_len = 0, len;
	unsigned int i;

	for (i = 0; i < t->n; i++) {
		len = strlen(t->v[i].model);
		if (len > best_len && strncasecmp(t->v[i].model, model, len) == 0) {
			best = &t->v[i];
			best_len = len;
		}
	}
	return best;
}

/*
 * Cross-region inference profiles prefix the model id with a geography; the price is the
 * model's (list prices are the same for the profile).
 */
static const char *strip_profile_prefix(const char *m)
{
	static const char *const geo[] = {"us.", "eu.", "apac.", "global.", "us-gov.",
					  "ca.", "jp.", "au.",	 "ap."};
	size_t i, len;

	for (i = 0; i < sizeof(geo) / sizeof(geo[0]); i++) {
		len = strlen(geo[i]);
		if (strncasecmp(m, geo[i], len) == 0)
			return m + len;
	}
	return m;
}

int price_lookup(const struct price_table *t, const char *model, struct price *out)
{
	const struct price_entry *e;
	const char *m, *slash;

	if (!t)
		t = price_table_builtin();
	if (!model || !*model)
		return -ENOENT;
	e = find_exact(t, model);
	if (!e) {
		m = model;
		/* arn:aws:bedrock:REGION:ACCOUNT:foundation-model/ID or inference-profile/ID */
		if (strncasecmp(m, "arn:", 4) == 0) {
			slash = strrchr(m, '/');
			m = slash ? slash + 1 : m;
		}
		m = strip_profile_prefix(m);
		e = find_exact(t, m);
		if (!e)
			e = find_prefix(t, m);
	}
	if (!e)
		return -ENOENT;
	*out = e->p;
	return 0;
}

double price_cost(const struct price *p, int64_t input_total, int64_t output, int64_t cache_read,
		  int64_t cache_write)
{
	int64_t fresh =
	    input_total - (cache_read > 0 ? cache_read : 0) - (cache_write > 0 ? cache_write : 0);

	if (fresh < 0)
		fresh = 0;
	return ((double)fresh * p->input + (double)(output > 0 ? output : 0) * p->output +
		(double)(cache_read > 0 ? cache_read : 0) * p->cache_read +
		(double)(cache_write > 0 ? cache_write : 0) * p->cache_write) /
	       1e6;
}
