/* SPDX-License-Identifier: MIT */
/*
 * Where setup time goes: a monotonic clock, and tallies of durations by label (one per BPF
 * object, one per object file whose symbols were read) for the breakdown of the time to ready
 * that -v prints.
 */
#ifndef BT_STOPWATCH_H
#define BT_STOPWATCH_H

#include <stddef.h>
#include <stdint.h>

#include <time.h>

/* Clock @clock (CLOCK_REALTIME, CLOCK_THREAD_CPUTIME_ID, ...) in nanoseconds; 0 if unreadable. */
uint64_t sw_clock_ns(clockid_t clock);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t sw_now_ns(void);

struct sw_item {
	char *label;
	uint64_t ns;
};

/* Durations summed by label, in the order labels first came; zero-initialised is empty. */
struct sw_tally {
	struct sw_item *items;
	size_t n, cap;
};

/*
 * Adds @ns to @label's sum in @t (a new label is copied). A NULL @t is a tally nobody keeps:
 * nothing happens. Returns 0, or -ENOMEM (the time is not counted).
 */
int sw_tally_add(struct sw_tally *t, const char *label, uint64_t ns);
/* The sum of every label of @t. */
uint64_t sw_tally_total(const struct sw_tally *t);
/*
 * Writes "label ms, label ms" into @buf (always NUL-terminated): the @max largest sums, largest
 * first, then "N more ms" for the rest. Milliseconds with one decimal.
 */
void sw_tally_format(const struct sw_tally *t, size_t max, char *buf, size_t size);
void sw_tally_free(struct sw_tally *t);

#endif
