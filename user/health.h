/* SPDX-License-Identifier: MIT */
/*
 * Capture health: what the BPF side lost, put into the exported data rather than only on stderr.
 * Owns the meaning of each BPF counter (its attribute name and its exit-summary text), the
 * sampling of the counters, the intervals in which something was lost, the
 * `bedtrace.capture.loss` span that records one interval, and the
 * `bedtrace.capture.incomplete` mark on spans whose time overlaps such an interval.
 *
 * The counters are global to the BPF programs (one per-CPU array, no process key), so a loss
 * belongs to an interval of time, not to a process; the caller attributes it to a process only
 * when it traces a single one.
 */
#ifndef BT_HEALTH_H
#define BT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "bedtrace.h"
#include "span/semconv.h"
#include "span/span.h"

/* The names live in semconv.h; these say what health.c uses them for. */
#define HEALTH_LOSS_SPAN ATTR_BEDTRACE_CAPTURE_LOSS
#define HEALTH_ATTR_INCOMPLETE ATTR_BEDTRACE_CAPTURE_INCOMPLETE
/* loss spans carry HEALTH_ATTR_PREFIX + health_counter_attr(k) = count in the interval */
#define HEALTH_ATTR_PREFIX ATTR_BEDTRACE_LOSS_PREFIX

struct capture_health;

/* Returns a tracker whose first interval starts at @start_mono_ns (counters read as zero then),
 * or NULL (errno). Free with health_free(). */
struct capture_health *health_new(uint64_t start_mono_ns);
void health_free(struct capture_health *h);

/* Sums the per-CPU counters map @fd into @out. Returns 0 or -errno (@out then all zero). */
int health_read_counters(int fd, uint64_t out[BT_CNT_MAX]);

/*
 * Takes a sample of the counters at @now_mono_ns. When a loss counter grew since the previous
 * sample, that interval is recorded (for health_mark()) and the counts are kept for the next
 * record. With @emit, and something lost since the last record, returns a new span named
 * HEALTH_LOSS_SPAN (its own trace; start = when that loss began, end = now; one
 * HEALTH_ATTR_PREFIX attribute per counter that grew, with the count); the caller owns it.
 * Sampling often and emitting seldom keeps the marks precise and the records few. Returns
 * NULL otherwise (errno 0), or on ENOMEM (errno set; the counts stay pending).
 */
struct bt_span *health_sample(struct capture_health *h, const uint64_t counts[BT_CNT_MAX],
			      uint64_t now_mono_ns, bool emit);

/* Sets HEALTH_ATTR_INCOMPLETE = true on @span when its start..end overlaps a recorded loss
 * interval. Returns true if it did. */
bool health_mark(const struct capture_health *h, struct bt_span *span);

/* The counters of the last sample (totals since start). */
const uint64_t *health_totals(const struct capture_health *h);
/* Loss spans returned so far. */
uint64_t health_n_records(const struct capture_health *h);

/* Attribute suffix of counter @k when it counts something lost ("call_events"), else NULL. */
const char *health_counter_attr(enum bt_counter k);
/* Exit-summary text of counter @k ("call events lost (ring buffer full)"), NULL: not printed. */
const char *health_counter_text(enum bt_counter k);

#endif
