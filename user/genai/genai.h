/* SPDX-License-Identifier: MIT */
/*
 * GenAI annotation as a table of annotators, one per provider. The event loop offers every HTTP
 * span to the table; the first annotator whose match() accepts the exchange turns the span into
 * a GenAI span (name, gen_ai.* attributes, typed span->usage) and may add child spans. Adding a
 * provider is one file that defines a struct genai_annotator and one row in genai.c.
 */
#ifndef BT_GENAI_H
#define BT_GENAI_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/http.h"
#include "span/span.h"

struct price_table;

/* Settings every provider gets. */
struct genai_opts {
	bool capture_content;		  /* prompts and completions as attributes */
	const struct price_table *prices; /* NULL: built-in table */
};

/* One provider. Every member but name may be called only as documented here. */
struct genai_annotator {
	const char *name; /* "bedrock": in log lines */
	/*
	 * Returns the provider's state across exchanges (retries, counters), freed with
	 * state_free, or NULL + errno. NULL state_new: the provider keeps no state.
	 */
	void *(*state_new)(const struct genai_opts *opts);
	void (*state_free)(void *state);
	/* True when @ex is a call to this provider. Pure. */
	bool (*match)(const struct http_exchange *ex);
	/*
	 * Annotates @span (the HTTP CLIENT span of @ex, already placed in its trace) and appends
	 * child spans, already parented, to *@children (grown with realloc; the caller frees each
	 * span and the array). Sets span->usage for a model call. Returns 0 or -errno; malformed
	 * bodies never fail, they mark the span.
	 */
	int (*annotate)(void *state, const struct http_exchange *ex, struct bt_span *span,
			struct bt_span ***children, size_t *n_children);
};

/* The annotator table with each row's state. */
struct genai;

/* Returns the built-in table, ready (free with genai_free), or NULL + errno. */
struct genai *genai_new(const struct genai_opts *opts);
/* The same over @n rows of @rows (borrowed, must outlive the result): tests, embedders. */
struct genai *genai_new_table(const struct genai_annotator *const *rows, size_t n,
			      const struct genai_opts *opts);
void genai_free(struct genai *g);

/* The row whose match() accepts @ex (its request may be all there is yet), or NULL. */
const struct genai_annotator *genai_match(const struct genai *g, const struct http_exchange *ex);

/*
 * Offers @ex to the rows in order; the first that matches annotates @span and appends children
 * (see struct genai_annotator). Returns the matching row (NULL: not a GenAI call; @span
 * untouched); *@err gets 0 or that row's -errno, already logged.
 */
const struct genai_annotator *genai_annotate(struct genai *g, const struct http_exchange *ex,
					     struct bt_span *span, struct bt_span ***children,
					     size_t *n_children, int *err);

#endif
