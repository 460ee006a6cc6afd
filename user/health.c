// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "health.h"
#include "util/grow.h"

/* Kept intervals; past this the two oldest merge (a wider interval only marks more spans). */
#define MAX_INTERVALS 4096

struct interval {
	uint64_t start, end; /* unix ns */
};

struct capture_health {
	uint64_t prev[BT_CNT_MAX];
	uint64_t prev_ns; /* CLOCK_MONOTONIC of the previous sample */
	/* lost since the last record, and when that started (unix ns; 0: nothing pending) */
	uint64_t pending[BT_CNT_MAX];
	uint64_t pending_start;
	struct interval *iv;
	size_t n_iv, cap_iv;
	uint64_t n_records;
};

/* What each counter means. attr NULL: not a loss (no loss record); text NULL: not printed. */
static const struct {
	const char *attr;
	const char *text;
} counters[BT_CNT_MAX] = {
    [BT_CNT_CALL_RB_FULL] = {"call_events", "call events lost (ring buffer full)"},
    [BT_CNT_DEPTH_OVERFLOW] = {"calls_too_deep", "calls not traced (nesting deeper than 64)"},
    [BT_CNT_STACK_FULL] = {"calls_no_thread_slot",
			   "calls not traced (no room for the thread's or goroutine's stack)"},
    [BT_CNT_RET_NO_STACK] = {NULL, "returns of calls entered before tracing began"},
    [BT_CNT_RET_MISMATCH] = {"unmatched_returns", "returns that matched no open traced call"},
    [BT_CNT_GO_NO_G] = {"go_calls", "Go calls not traced (goroutine unreadable)"},
    [BT_CNT_PROC_FULL] = {"children_not_followed",
			  "forked children not followed (process table full)"},
    [BT_CNT_UNWIND_FIXUP] = {NULL, NULL},
    [BT_CNT_UNWIND_FAIL] = {"unwind_fixups", "return-address fix-ups failed during unwinding"},
    [BT_CNT_DATA_RB_FULL] = {"data_chunks", "data chunks lost (ring buffer full)"},
    [BT_CNT_DATA_READ_FAIL] = {"data_chunks_unreadable",
			       "data chunks lost (unreadable user memory)"},
    [BT_CNT_DATA_LOST_BYTES] = {"bytes", "captured bytes lost"},
    [BT_CNT_DATA_TOO_LONG] = {"bytes_over_call_limit", "bytes beyond the per-call capture limit"},
    [BT_CNT_CONN_FULL] = {"connections", "connections not tracked (table full)"},
    [BT_CNT_OTHER_RB_FULL] = {"conn_events", "connection events lost (ring buffer full)"},
    [BT_CNT_IO_UNTRACKED] = {"io_calls", "SSL or socket calls not captured (no per-thread state)"},
};

const char *health_counter_attr(enum bt_counter k)
{
	return (unsigned)k < BT_CNT_MAX ? counters[k].attr : NULL;
}

const char *health_counter_text(enum bt_counter k)
{
	return (unsigned)k < BT_CNT_MAX ? counters[k].text : NULL;
}

struct capture_health *health_new(uint64_t start_mono_ns)
{
	struct capture_health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->prev_ns = start_mono_ns;
	return h;
}

void health_free(struct capture_health *h)
{
	if (!h)
		return;
	free(h->iv);
	free(h);
}

int health_read_counters(int fd, uint64_t out[BT_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	__u64 *vals;

	memset(out, 0, sizeof(out[0]) * BT_CNT_MAX);
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < BT_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			err = -errno;
			memset(out, 0, sizeof(out[0]) * BT_CNT_MAX);
			break;
		}
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return err;
}

/* Appends [start, end] (later than every kept interval), merging with the last when they touch. */
static int add_interval(struct capture_health *h, uint64_t start, uint64_t end)
{
	if (h->n_iv && start <= h->iv[h->n_iv - 1].end) {
		if (end > h->iv[h->n_iv - 1].end)
			h->iv[h->n_iv - 1].end = end;
		return 0;
	}
	if (h->n_iv == MAX_INTERVALS) {
		h->iv[0].end = h->iv[1].end;
		memmove(&h->iv[1], &h->iv[2], (h->n_iv - 2) * sizeof(h->iv[0]));
		h->n_iv--;
	}
	if (grow(&h->iv, &h->cap_iv, h->n_iv + 1, sizeof(*h->iv)))
		return -ENOMEM;
	h->iv[h->n_iv].start = start;
	h->iv[h->n_iv].end = end;
	h->n_iv++;
	return 0;
}

static struct bt_span *loss_span(const uint64_t delta[BT_CNT_MAX], uint64_t start, uint64_t end)
{
	struct bt_span *span = bt_span_new(HEALTH_LOSS_SPAN, BT_KIND_INTERNAL);
	char key[96];

	if (!span)
		return NULL;
	span->start_ns = start;
	span->end_ns = end;
	for (int k = 0; k < BT_CNT_MAX; k++) {
		if (!delta[k] || !counters[k].attr)
			continue;
		snprintf(key, sizeof(key), HEALTH_ATTR_PREFIX "%s", counters[k].attr);
		if (bt_attrs_set_int(&span->attrs, key, (int64_t)delta[k])) {
			bt_span_free(span);
			errno = ENOMEM;
			return NULL;
		}
	}
	return span;
}

struct bt_span *health_sample(struct capture_health *h, const uint64_t counts[BT_CNT_MAX],
			      uint64_t now_mono_ns, bool emit)
{
	uint64_t start = bt_mono_to_unix_ns(h->prev_ns), end = bt_mono_to_unix_ns(now_mono_ns);
	struct bt_span *span;
	bool lost = false;

	for (int k = 0; k < BT_CNT_MAX; k++) {
		/* counters never go down: a failed read (zeros) must not look like a loss later */
		if (counts[k] <= h->prev[k])
			continue;
		if (counters[k].attr) {
			h->pending[k] += counts[k] - h->prev[k];
			lost = true;
		}
		h->prev[k] = counts[k];
	}
	h->prev_ns = now_mono_ns;
	errno = 0;
	if (lost) {
		if (!h->pending_start)
			h->pending_start = start;
		if (add_interval(h, start, end))
			errno = ENOMEM;
	}
	if (!emit || !h->pending_start)
		return NULL;
	span = loss_span(h->pending, h->pending_start, end);
	if (!span)
		return NULL;
	memset(h->pending, 0, sizeof(h->pending));
	h->pending_start = 0;
	h->n_records++;
	return span;
}

bool health_mark(const struct capture_health *h, struct bt_span *span)
{
	size_t lo = 0, hi = h->n_iv;

	/* the first interval that ends at or after the span's start */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->iv[mid].end < span->start_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == h->n_iv || h->iv[lo].start > span->end_ns)
		return false;
	return bt_attrs_set_bool(&span->attrs, HEALTH_ATTR_INCOMPLETE, true) == 0;
}

const uint64_t *health_totals(const struct capture_health *h)
{
	return h->prev;
}

uint64_t health_n_records(const struct capture_health *h)
{
	return h->n_records;
}
