/* SPDX-License-Identifier: MIT */
/*
 * The outputs of `bedtrace report` besides the JSON contract of report.h: the traces of a
 * dataset grouped (out_traces.c: --traces, --trace and the span selections of --chrome and the
 * page), the text report (out_text.c) and Chrome trace events (out_chrome.c).
 */
#ifndef BT_REPORT_OUT_H
#define BT_REPORT_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/report.h"

/* One trace of a dataset. */
struct rp_trace {
	uint8_t id[16];
	size_t first, n; /* its spans: rp_traces.order[first .. first + n), by start time */
	uint64_t start_ns, end_ns; /* its extent: first start, last end */
	size_t root;	 /* span index: the earliest span whose parent is not in the trace */
	uint32_t errors; /* spans with status ERROR */
};

struct rp_traces {
	struct rp_trace *t; /* by trace id */
	size_t n;
	size_t *order; /* span indices grouped by trace, each trace's by start time */
	size_t n_order;
};

/* Groups the spans of @ds marked in @keep (NULL: all) into traces. Returns 0 or -ENOMEM. */
int rp_traces_build(const struct rp_dataset *ds, const bool *keep, struct rp_traces *out);
void rp_traces_free(struct rp_traces *tl);
/* The trace of id @id, or NULL. */
const struct rp_trace *rp_traces_find(const struct rp_traces *tl, const uint8_t id[16]);
/*
 * The trace whose hex id starts with @prefix (case-insensitive, at least 1 digit). Returns it,
 * or NULL with errno ENOENT (none), EEXIST (several) or EINVAL (not hex).
 */
const struct rp_trace *rp_traces_lookup(const struct rp_traces *tl, const char *prefix);

enum rp_sort { RP_SORT_START, RP_SORT_START_DESC, RP_SORT_DURATION, RP_SORT_DURATION_DESC };
/* "start", "-start", "duration", "-duration" into @out. Returns 0 or -EINVAL. */
int rp_sort_parse(const char *s, enum rp_sort *out);
/*
 * The traces of @tl in @sort order, skipping @offset, at most @limit (0: no limit): fills
 * *@sel (malloc'd, the caller frees; indices into tl->t) and returns how many, or -ENOMEM.
 */
long rp_traces_select(const struct rp_traces *tl, enum rp_sort sort, size_t offset, size_t limit,
		      size_t **sel);
/* The --traces listing of the traces @sel of @tl, as aligned text (@total: how many matched). */
int rp_traces_list_text(FILE *f, const struct rp_dataset *ds, const struct rp_traces *tl,
			const size_t *sel, size_t n, size_t total);
/* The same as JSON: {"total": N, "traces": [{"trace_id", "start" (UTC ISO 8601),
 * "start_unix_nano" (a decimal string), "root", "service", "duration_ms", "spans", "errors"}]},
 * malloc'd; NULL+errno. */
char *rp_traces_list_json(const struct rp_dataset *ds, const struct rp_traces *tl,
			  const size_t *sel, size_t n, size_t total);
/*
 * --trace: @t as an indented tree, one span a line: name, duration, offset from the trace's
 * start, kind and the attributes that matter when reading a trace (every kept one with
 * @all_attrs). Returns 0 or -errno (a write error).
 */
int rp_trace_tree_text(FILE *f, const struct rp_dataset *ds, const struct rp_traces *tl,
		       const struct rp_trace *t, bool all_attrs);

/*
 * For each span of @t (in rp_traces.order), its parent's position in the trace or -1, so that
 * trees are drawn from the dataset the same way by every output. @parent has t->n entries.
 * Returns 0 or -ENOMEM.
 */
int rp_trace_parents(const struct rp_dataset *ds, const struct rp_traces *tl,
		     const struct rp_trace *t, long *parent);

/* "internal", "server", ... for an OTLP span kind; "" when unknown. */
const char *rp_kind_name(uint8_t kind);

/*
 * The text report: summary, operations, models, slowest traces, findings, regressions. Columns
 * are aligned; @width (0: unlimited) is the terminal's, names are shortened to fit it.
 */
int rp_text_write(FILE *f, const struct rp_dataset *ds, const struct rp_result *r, int width);

/*
 * Chrome trace events ({"traceEvents": [...]}, complete events "X" in microseconds from the
 * earliest span written) of the traces @ids of @ds (all traces when @ids is NULL) into @f: one
 * process per host/service pair (named by metadata events), one thread per thread.id (spans
 * without one take their parent's, else one per trace), the kept attributes as args.
 * Returns 0 or -errno.
 */
int rp_chrome_write(FILE *f, const struct rp_dataset *ds, const uint8_t (*ids)[16], size_t n);

#endif
