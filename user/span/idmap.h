/* SPDX-License-Identifier: MIT */
/*
 * The ids behind BPF call ids: a call id (or the root call id of a trace) gets random OTLP span
 * and trace ids the first time anyone refers to it — a child that ends before its parent, an HTTP
 * request written inside the call — and keeps them for a grace period after the call ended, so
 * late references still find them.
 */
#ifndef BT_IDMAP_H
#define BT_IDMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "span/span.h"

struct id_entry {
	uint64_t key;
	uint8_t span_id[BT_SPAN_ID_LEN];
	uint8_t trace_id[BT_TRACE_ID_LEN];
	uint64_t expire_ns; /* 0 while the call is open */
	/* trace totals accumulated under a root call (GenAI usage and cost) */
	int64_t input_tokens, output_tokens;
	double cost_usd;
	bool has_usage, has_cost;
	/*
	 * A root call's trace placed inside another producer's span (a sampled Python call): the
	 * key of that trace's totals, and the span the root call nests in. 0: a trace of its own.
	 */
	uint64_t outer_key;
	uint8_t outer_parent[BT_SPAN_ID_LEN];
	struct id_entry *next;
};

struct idmap;

/* Returns an empty map or NULL (errno). Free with idmap_free. */
struct idmap *idmap_new(void);
void idmap_free(struct idmap *m);
/* Returns the entry for @key, created with fresh random ids when absent; NULL on ENOMEM. */
struct id_entry *idmap_get(struct idmap *m, uint64_t key);
/* Returns the entry for @key or NULL. */
struct id_entry *idmap_find(struct idmap *m, uint64_t key);
/* Marks @key finished: it is dropped after @grace_ns from @now_ns. */
void idmap_finish(struct idmap *m, uint64_t key, uint64_t now_ns, uint64_t grace_ns);
/* Drops finished entries whose grace period is over. Returns how many were dropped. */
size_t idmap_expire(struct idmap *m, uint64_t now_ns);
size_t idmap_size(const struct idmap *m);

#endif
