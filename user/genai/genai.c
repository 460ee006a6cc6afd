// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "genai/bedrock.h"
#include "genai/genai.h"
#include "util/log.h"

struct genai {
	const struct genai_annotator *const *rows;
	void **state; /* one per row */
	size_t n;
};

/*
 * Amazon Bedrock (Runtime and Agent Runtime), bedrock.c. Its API predates the table, so the row
 * adapts it here; a new provider defines its struct genai_annotator in its own file instead.
 */
static void *bedrock_state_new(const struct genai_opts *opts)
{
	struct bedrock_opts bo = {.capture_content = opts->capture_content, .prices = opts->prices};

	return bedrock_ctx_new(&bo);
}

static void bedrock_state_free(void *state)
{
	bedrock_ctx_free(state);
}

static int bedrock_row_annotate(void *state, const struct http_exchange *ex, struct bt_span *span,
				struct bt_span ***children, size_t *n_children)
{
	return bedrock_annotate(state, ex, span, children, n_children);
}

static const struct genai_annotator bedrock_annotator = {
    .name = "bedrock",
    .state_new = bedrock_state_new,
    .state_free = bedrock_state_free,
    .match = bedrock_match,
    .annotate = bedrock_row_annotate,
};

/* The providers, tried in this order. */
static const struct genai_annotator *const builtin_rows[] = {
    &bedrock_annotator,
};

struct genai *genai_new_table(const struct genai_annotator *const *rows, size_t n,
			      const struct genai_opts *opts)
{
	static const struct genai_opts defaults;
	struct genai *g = calloc(1, sizeof(*g));
	size_t i;

	if (!g)
		return NULL;
	g->state = calloc(n ? n : 1, sizeof(*g->state));
	if (!g->state) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	g->rows = rows;
	g->n = n;
	if (!opts)
		opts = &defaults;
	for (i = 0; i < n; i++) {
		if (!rows[i]->state_new)
			continue;
		g->state[i] = rows[i]->state_new(opts);
		if (!g->state[i]) {
			int err = errno ? errno : ENOMEM;

			genai_free(g);
			errno = err;
			return NULL;
		}
	}
	return g;
}

struct genai *genai_new(const struct genai_opts *opts)
{
	return genai_new_table(builtin_rows, sizeof(builtin_rows) / sizeof(builtin_rows[0]), opts);
}

void genai_free(struct genai *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n; i++)
		if (g->state[i] && g->rows[i]->state_free)
			g->rows[i]->state_free(g->state[i]);
	free(g->state);
	free(g);
}

/* The index of the row whose match() accepts @ex, or g->n when none does. */
static size_t match_row(const struct genai *g, const struct http_exchange *ex)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->rows[i]->match(ex))
			break;
	return i;
}

const struct genai_annotator *genai_match(const struct genai *g, const struct http_exchange *ex)
{
	size_t i;

	if (!g)
		return NULL;
	i = match_row(g, ex);
	return i < g->n ? g->rows[i] : NULL;
}

const struct genai_annotator *genai_annotate(struct genai *g, const struct http_exchange *ex,
					     struct bt_span *span, struct bt_span ***children,
					     size_t *n_children, int *err)
{
	size_t i;

	*err = 0;
	if (!g)
		return NULL;
	i = match_row(g, ex);
	if (i == g->n)
		return NULL;
	*err = g->rows[i]->annotate(g->state[i], ex, span, children, n_children);
	if (*err)
		pr_warn("%s annotation failed: %s\n", g->rows[i]->name, strerror(-*err));
	return g->rows[i];
}
