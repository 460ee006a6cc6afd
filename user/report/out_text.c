// SPDX-License-Identifier: MIT
/*
 * The text report: a summary line, then aligned tables (operations, models, slowest traces,
 * findings, regressions). Numbers are right-aligned, names left-aligned; when a terminal width
 * is given the name columns are shortened (ending in "...") so that no line wraps. A value the
 * result does not have is "-".
 */
#define _GNU_SOURCE /* vasprintf, qsort_r */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report/out.h"
#include "span/span.h"
#include "util/grow.h"

#define MAX_COLS 20
#define SEP 2 /* spaces between columns */
#define MIN_FLEX 12

struct table {
	const char *title;
	int n_cols;
	const char *head[MAX_COLS];
	bool right[MAX_COLS]; /* right-aligned (numbers) */
	bool flex[MAX_COLS];  /* may be shortened to fit the width */
	char **cells;	      /* n_rows * n_cols, malloc'd */
	size_t n_cells, n_rows, cap;
	bool oom;
};

static void col(struct table *t, const char *head, bool right, bool flex)
{
	t->head[t->n_cols] = head;
	t->right[t->n_cols] = right;
	t->flex[t->n_cols] = flex;
	t->n_cols++;
}

/* Appends a cell to the current row (rows fill left to right). */
static void cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cell(struct table *t, const char *fmt, ...)
{
	size_t n = t->n_cells;
	va_list ap;
	char *s = NULL;

	if (t->oom)
		return;
	if (grow(&t->cells, &t->cap, n + 1, sizeof(*t->cells))) {
		t->oom = true;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		t->oom = true;
		va_end(ap);
		return;
	}
	va_end(ap);
	t->cells[t->n_cells++] = s;
}

static void end_row(struct table *t)
{
	t->n_rows = t->n_cells / (size_t)t->n_cols;
}

static void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
}

static int text_width(const char *s)
{
	int w = 0;

	/* terminal columns: count UTF-8 lead bytes, not continuation bytes */
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Prints @s in @w columns, shortened with "..." if wider. */
static void put_cell(FILE *f, const char *s, int w, bool right, bool last)
{
	int len = text_width(s);

	if (len > w) {
		int keep = w > 3 ? w - 3 : 0, cols = 0;
		const char *p = s;

		while (*p && cols < keep) {
			p++;
			while (((unsigned char)*p & 0xc0) == 0x80)
				p++;
			cols++;
		}
		fprintf(f, "%.*s%.*s", (int)(p - s), s, w - keep, "...");
		return;
	}
	if (right)
		fprintf(f, "%*s%s", w - len, "", s);
	else if (last)
		fputs(s, f);
	else
		fprintf(f, "%s%*s", s, w - len, "");
}

/* Prints @t, or returns -ENOMEM if a cell could not be made. */
static int table_print(FILE *f, struct table *t, int width)
{
	int w[MAX_COLS], total = 0, c;
	size_t r;

	if (t->oom)
		return -ENOMEM;
	fprintf(f, "\n%s\n", t->title);
	if (!t->n_rows) {
		fputs("  (none)\n", f);
		return 0;
	}
	for (c = 0; c < t->n_cols; c++) {
		w[c] = text_width(t->head[c]);
		for (r = 0; r < t->n_rows; r++) {
			int l = text_width(t->cells[r * (size_t)t->n_cols + (size_t)c]);

			w[c] = l > w[c] ? l : w[c];
		}
		total += w[c] + (c ? SEP : 0);
	}
	total += SEP; /* the indent */
	/* too wide: take columns off the widest shortenable column until it fits */
	while (width > 0 && total > width) {
		int widest = -1;

		for (c = 0; c < t->n_cols; c++)
			if (t->flex[c] && w[c] > MIN_FLEX && (widest < 0 || w[c] > w[widest]))
				widest = c;
		if (widest < 0)
			break;
		w[widest]--;
		total--;
	}
	fputs("  ", f);
	for (c = 0; c < t->n_cols; c++) {
		if (c)
			fprintf(f, "%*s", SEP, "");
		put_cell(f, t->head[c], w[c], t->right[c], c == t->n_cols - 1);
	}
	fputc('\n', f);
	for (r = 0; r < t->n_rows; r++) {
		fputs("  ", f);
		for (c = 0; c < t->n_cols; c++) {
			if (c)
				fprintf(f, "%*s", SEP, "");
			put_cell(f, t->cells[r * (size_t)t->n_cols + (size_t)c], w[c], t->right[c],
				 c == t->n_cols - 1);
		}
		fputc('\n', f);
	}
	return 0;
}

static int table_done(FILE *f, struct table *t, int width)
{
	int err = table_print(f, t, width);

	table_free(t);
	return err;
}

/* Milliseconds with about four significant digits; "-" when unknown. */
static void ms_cell(struct table *t, double ms)
{
	if (isnan(ms))
		cell(t, "-");
	else if (ms < 10)
		cell(t, "%.3f", ms);
	else if (ms < 100)
		cell(t, "%.2f", ms);
	else if (ms < 100000)
		cell(t, "%.1f", ms);
	else
		cell(t, "%.0f", ms);
}

static void usd_cell(struct table *t, bool known, double usd)
{
	if (!known || isnan(usd))
		cell(t, "-");
	else
		cell(t, "$%.6f", usd);
}

static void hex_cell(struct table *t, const uint8_t *id)
{
	char hex[2 * BT_TRACE_ID_LEN + 1];

	bt_hex(id, BT_TRACE_ID_LEN, hex);
	cell(t, "%s", hex);
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void names(FILE *f, const char *what, const char *const *v, size_t n)
{
	size_t i;

	fprintf(f, ", %zu %s%s", n, what, n == 1 ? "" : "s");
	if (!n)
		return;
	fputs(" (", f);
	for (i = 0; i < n && i < 8; i++)
		fprintf(f, "%s%s", i ? ", " : "", v[i]);
	if (n > 8)
		fprintf(f, ", +%zu", n - 8);
	fputc(')', f);
}

static int operations(FILE *f, const struct rp_result *r, int width)
{
	struct table t = {.title = "Operations (durations in ms; self: minus traced children)"};
	size_t i, k, n_by = r->n_by < RP_MAX_BY ? r->n_by : RP_MAX_BY;

	col(&t, "SERVICE", false, true);
	col(&t, "KIND", false, false);
	col(&t, "NAME", false, true);
	for (k = 0; k < n_by; k++)
		col(&t, r->by_keys[k] ? r->by_keys[k] : "", false, true);
	col(&t, "COUNT", true, false);
	col(&t, "ERR", true, false);
	col(&t, "P50", true, false);
	col(&t, "P90", true, false);
	col(&t, "P99", true, false);
	col(&t, "MAX", true, false);
	col(&t, "MEAN", true, false);
	col(&t, "TOTAL", true, false);
	col(&t, "SELF", true, false);
	col(&t, "SHARE", true, false);
	for (i = 0; i < r->n_ops; i++) {
		const struct rp_operation *o = &r->ops[i];

		cell(&t, "%s", or_dash(o->service));
		cell(&t, "%s", or_dash(o->kind));
		cell(&t, "%s", or_dash(o->name));
		for (k = 0; k < n_by; k++)
			cell(&t, "%s", or_dash(o->by[k]));
		cell(&t, "%" PRIu64, o->count);
		cell(&t, "%" PRIu64, o->errors);
		ms_cell(&t, o->p50_ms);
		ms_cell(&t, o->p90_ms);
		ms_cell(&t, o->p99_ms);
		ms_cell(&t, o->max_ms);
		ms_cell(&t, o->mean_ms);
		ms_cell(&t, o->total_ms);
		ms_cell(&t, o->self_ms);
		if (isnan(o->share))
			cell(&t, "-");
		else
			cell(&t, "%.1f%%", o->share * 100);
		end_row(&t);
	}
	return table_done(f, &t, width);
}

static int models(FILE *f, const struct rp_result *r, int width)
{
	struct table t = {.title = "Models (durations in ms; TTFC: time to first chunk)"};
	size_t i;

	col(&t, "MODEL", false, true);
	col(&t, "OPERATION", false, true);
	col(&t, "CALLS", true, false);
	col(&t, "ERR", true, false);
	col(&t, "THROT", true, false);
	col(&t, "RETRY", true, false);
	col(&t, "IN TOK", true, false);
	col(&t, "OUT TOK", true, false);
	col(&t, "CACHE RD", true, false);
	col(&t, "CACHE WR", true, false);
	col(&t, "COST", true, false);
	col(&t, "P50", true, false);
	col(&t, "P99", true, false);
	col(&t, "TTFC P50", true, false);
	col(&t, "TTFC P99", true, false);
	for (i = 0; i < r->n_models; i++) {
		const struct rp_model *m = &r->models[i];

		cell(&t, "%s", or_dash(m->model));
		cell(&t, "%s", or_dash(m->operation));
		cell(&t, "%" PRIu64, m->calls);
		cell(&t, "%" PRIu64, m->errors);
		cell(&t, "%" PRIu64, m->throttles);
		cell(&t, "%" PRIu64, m->retries);
		cell(&t, "%" PRId64, m->input_tokens);
		cell(&t, "%" PRId64, m->output_tokens);
		cell(&t, "%" PRId64, m->cache_read_tokens);
		cell(&t, "%" PRId64, m->cache_write_tokens);
		usd_cell(&t, m->has_cost, m->cost_usd);
		ms_cell(&t, m->p50_ms);
		ms_cell(&t, m->p99_ms);
		ms_cell(&t, m->ttfc_p50_ms);
		ms_cell(&t, m->ttfc_p99_ms);
		end_row(&t);
	}
	return table_done(f, &t, width);
}

static int slowest(FILE *f, const struct rp_result *r, int width)
{
	struct table t = {.title = "Slowest traces (critical path: the spans that bound the end)"};
	size_t i, k;

	col(&t, "TRACE", false, false);
	col(&t, "DURATION", true, false);
	col(&t, "SERVICE", false, true);
	col(&t, "ROOT", false, true);
	col(&t, "CRITICAL PATH", false, true);
	for (i = 0; i < r->n_slowest; i++) {
		const struct rp_trace_ref *s = &r->slowest[i];
		char *path = NULL;
		size_t len = 0;
		FILE *m;

		hex_cell(&t, s->trace_id);
		ms_cell(&t, s->duration_ms);
		cell(&t, "%s", or_dash(s->service));
		cell(&t, "%s", or_dash(s->root));
		m = open_memstream(&path, &len);
		if (m) {
			for (k = 0; k < s->n_critical; k++)
				fprintf(m, "%s%s", k ? " > " : "", s->critical_path[k]);
			fclose(m);
		}
		cell(&t, "%s", path && *path ? path : "-");
		free(path);
		end_row(&t);
	}
	return table_done(f, &t, width);
}

static int findings(FILE *f, const struct rp_result *r, int width)
{
	struct table t = {.title = "Findings"};
	size_t i;

	col(&t, "KIND", false, false);
	col(&t, "COUNT", true, false);
	col(&t, "TRACES", true, false);
	col(&t, "FIRST TRACE", false, false);
	for (i = 0; i < r->n_findings; i++) {
		const struct rp_finding *g = &r->findings[i];

		cell(&t, "%s", or_dash(g->kind));
		cell(&t, "%" PRIu64, g->count);
		cell(&t, "%zu", g->n_traces);
		if (g->n_traces)
			hex_cell(&t, g->trace_ids[0]);
		else
			cell(&t, "-");
		end_row(&t);
	}
	return table_done(f, &t, width);
}

static int regressions(FILE *f, const struct rp_result *r, int width)
{
	struct table t = {.title = "Regressions against the baseline (p50 ratio: now / before, "
				   "95% bootstrap interval)"};
	size_t i;

	col(&t, "SERVICE", false, true);
	col(&t, "KIND", false, false);
	col(&t, "NAME", false, true);
	col(&t, "P50 BEFORE", true, false);
	col(&t, "P50 NOW", true, false);
	col(&t, "P99 BEFORE", true, false);
	col(&t, "P99 NOW", true, false);
	col(&t, "RATIO", true, false);
	col(&t, "INTERVAL", true, false);
	col(&t, "COST/CALL BEFORE", true, false);
	col(&t, "COST/CALL NOW", true, false);
	col(&t, "SIGNIFICANT", false, false);
	for (i = 0; i < r->n_regressions; i++) {
		const struct rp_regression *g = &r->regressions[i];

		cell(&t, "%s", or_dash(g->service));
		cell(&t, "%s", or_dash(g->kind));
		cell(&t, "%s", or_dash(g->name));
		ms_cell(&t, g->baseline_p50_ms);
		ms_cell(&t, g->p50_ms);
		ms_cell(&t, g->baseline_p99_ms);
		ms_cell(&t, g->p99_ms);
		if (isnan(g->p50_ratio))
			cell(&t, "-");
		else
			cell(&t, "%.2f", g->p50_ratio);
		if (isnan(g->ci_lo) || isnan(g->ci_hi))
			cell(&t, "-");
		else
			cell(&t, "[%.2f, %.2f]", g->ci_lo, g->ci_hi);
		usd_cell(&t, true, g->baseline_cost_per_call);
		usd_cell(&t, true, g->cost_per_call);
		cell(&t, "%s", g->significant ? "yes" : "no");
		end_row(&t);
	}
	return table_done(f, &t, width);
}

int rp_text_write(FILE *f, const struct rp_dataset *ds, const struct rp_result *r, int width)
{
	fprintf(f, "%" PRIu64 " span%s, %" PRIu64 " trace%s", r->spans, r->spans == 1 ? "" : "s",
		r->traces, r->traces == 1 ? "" : "s");
	names(f, "host", r->hosts, r->n_hosts);
	names(f, "service", r->services, r->n_services);
	if (ds) {
		fprintf(f, "; %zu file%s, %" PRIu64 " line%s", ds->n_files,
			ds->n_files == 1 ? "" : "s", ds->lines, ds->lines == 1 ? "" : "s");
		if (ds->bad_lines)
			fprintf(f, " (%" PRIu64 " malformed, skipped)", ds->bad_lines);
	}
	fputc('\n', f);
	if (operations(f, r, width) || models(f, r, width) || slowest(f, r, width) ||
	    findings(f, r, width) || (r->n_regressions && regressions(f, r, width)))
		return -ENOMEM;
	return ferror(f) ? -EIO : 0;
}
