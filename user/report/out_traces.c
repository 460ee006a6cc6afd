// SPDX-License-Identifier: MIT
/*
 * Traces of a report's dataset: spans grouped by trace id, each trace's by start time, its root
 * and extent; the --traces listing and the --trace tree (the view scripts/print-trace.py gave).
 */
#define _GNU_SOURCE /* vasprintf, qsort_r */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/out.h"
#include "span/semconv.h"
#include "span/span.h"
#include "util/grow.h"
#include "util/jbuf.h"
#include "util/pct.h"

const char *rp_kind_name(uint8_t kind)
{
	static const char *const names[] = {"",	      "internal", "server",
					    "client", "producer", "consumer"};

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "";
}

/* Spans by trace id, then start, then position in the input (a stable order). */
static int by_trace_start(const void *a, const void *b, void *arg)
{
	const struct rp_dataset *ds = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct rp_span *x = &ds->spans[i], *y = &ds->spans[j];
	int c = memcmp(x->trace_id, y->trace_id, sizeof(x->trace_id));

	if (c)
		return c;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return i < j ? -1 : i > j;
}

static int by_span_id(const void *a, const void *b, void *arg)
{
	const struct rp_dataset *ds = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = memcmp(ds->spans[i].span_id, ds->spans[j].span_id, 8);

	if (c)
		return c;
	return i < j ? -1 : i > j;
}

static bool zero_id(const uint8_t *id, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (id[i])
			return false;
	return true;
}

/* Index of the span with id @sid among @byid (span indices sorted by span id), or -1. */
static long find_span(const struct rp_dataset *ds, const size_t *byid, size_t n, const uint8_t *sid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(ds->spans[byid[mid]].span_id, sid, 8);

		if (c == 0) {
			/* the first of equal ids: a duplicate span id resolves the same way each
			 * time */
			while (mid > lo && !memcmp(ds->spans[byid[mid - 1]].span_id, sid, 8))
				mid--;
			return (long)mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int rp_trace_parents(const struct rp_dataset *ds, const struct rp_traces *tl,
		     const struct rp_trace *t, long *parent)
{
	const size_t *spans = &tl->order[t->first];
	size_t *byid, *pos, i;

	byid = malloc((t->n ? t->n : 1) * sizeof(*byid));
	pos = malloc((t->n ? t->n : 1) * sizeof(*pos));
	if (!byid || !pos) {
		free(byid);
		free(pos);
		return -ENOMEM;
	}
	memcpy(byid, spans, t->n * sizeof(*byid));
	qsort_r(byid, t->n, sizeof(*byid), by_span_id, (void *)ds);
	/* the position in the trace of each span of byid */
	for (i = 0; i < t->n; i++) {
		size_t k = 0, lo = 0, hi = t->n;

		/* spans[] is sorted by (start, index): find byid[i] there by binary search */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const struct rp_span *m = &ds->spans[spans[mid]], *s = &ds->spans[byid[i]];

			if (m->start_ns < s->start_ns ||
			    (m->start_ns == s->start_ns && spans[mid] < byid[i]))
				lo = mid + 1;
			else
				hi = mid;
		}
		k = lo;
		pos[i] = k;
	}
	for (i = 0; i < t->n; i++) {
		const struct rp_span *s = &ds->spans[spans[i]];
		long p = -1;

		if (!zero_id(s->parent_id, sizeof(s->parent_id)))
			p = find_span(ds, byid, t->n, s->parent_id);
		parent[i] = p >= 0 && pos[p] != i ? (long)pos[p] : -1;
	}
	free(byid);
	free(pos);
	return 0;
}

int rp_traces_build(const struct rp_dataset *ds, const bool *keep, struct rp_traces *out)
{
	size_t i, n = 0, cap = 0;
	long *parent = NULL;
	size_t cap_parent = 0;

	memset(out, 0, sizeof(*out));
	out->order = malloc((ds->n_spans ? ds->n_spans : 1) * sizeof(*out->order));
	if (!out->order)
		return -ENOMEM;
	for (i = 0; i < ds->n_spans; i++)
		if (!keep || keep[i])
			out->order[n++] = i;
	out->n_order = n;
	qsort_r(out->order, n, sizeof(*out->order), by_trace_start, (void *)ds);
	for (i = 0; i < n;) {
		const struct rp_span *s = &ds->spans[out->order[i]];
		struct rp_trace *t;
		size_t j, k;

		if (grow(&out->t, &cap, out->n + 1, sizeof(*out->t)))
			goto oom;
		t = &out->t[out->n++];
		memset(t, 0, sizeof(*t));
		memcpy(t->id, s->trace_id, sizeof(t->id));
		t->first = i;
		t->start_ns = s->start_ns;
		for (j = i; j < n && !memcmp(ds->spans[out->order[j]].trace_id, t->id, 16); j++) {
			const struct rp_span *m = &ds->spans[out->order[j]];

			if (m->end_ns > t->end_ns)
				t->end_ns = m->end_ns;
			if (m->start_ns > t->end_ns)
				t->end_ns = m->start_ns;
			if (m->flags & RP_ERROR)
				t->errors++;
		}
		t->n = j - i;
		if (grow(&parent, &cap_parent, t->n, sizeof(*parent)) ||
		    rp_trace_parents(ds, out, t, parent))
			goto oom;
		t->root = out->order[i];
		for (k = 0; k < t->n; k++)
			if (parent[k] < 0) {
				t->root = out->order[i + k];
				break;
			}
		i = j;
	}
	free(parent);
	return 0;
oom:
	free(parent);
	rp_traces_free(out);
	return -ENOMEM;
}

void rp_traces_free(struct rp_traces *tl)
{
	free(tl->t);
	free(tl->order);
	memset(tl, 0, sizeof(*tl));
}

const struct rp_trace *rp_traces_find(const struct rp_traces *tl, const uint8_t id[16])
{
	size_t lo = 0, hi = tl->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(tl->t[mid].id, id, 16);

		if (!c)
			return &tl->t[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct rp_trace *rp_traces_lookup(const struct rp_traces *tl, const char *prefix)
{
	const struct rp_trace *found = NULL;
	size_t len = strlen(prefix), i, k;

	if (!len || len > 32) {
		errno = EINVAL;
		return NULL;
	}
	for (k = 0; k < len; k++)
		if (pct_hex(prefix[k]) < 0) {
			errno = EINVAL;
			return NULL;
		}
	for (i = 0; i < tl->n; i++) {
		for (k = 0; k < len; k++) {
			uint8_t b = tl->t[i].id[k / 2];

			if ((k % 2 ? b & 0xf : b >> 4) != pct_hex(prefix[k]))
				break;
		}
		if (k < len)
			continue;
		if (found) {
			errno = EEXIST;
			return NULL;
		}
		found = &tl->t[i];
	}
	if (!found)
		errno = ENOENT;
	return found;
}

int rp_sort_parse(const char *s, enum rp_sort *out)
{
	if (!strcmp(s, "start"))
		*out = RP_SORT_START;
	else if (!strcmp(s, "-start"))
		*out = RP_SORT_START_DESC;
	else if (!strcmp(s, "duration"))
		*out = RP_SORT_DURATION;
	else if (!strcmp(s, "-duration"))
		*out = RP_SORT_DURATION_DESC;
	else
		return -EINVAL;
	return 0;
}

struct sort_ctx {
	const struct rp_traces *tl;
	enum rp_sort sort;
};

static int by_sort(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct rp_trace *x = &c->tl->t[i], *y = &c->tl->t[j];
	uint64_t kx, ky;
	int r;

	if (c->sort == RP_SORT_START || c->sort == RP_SORT_START_DESC) {
		kx = x->start_ns;
		ky = y->start_ns;
	} else {
		kx = x->end_ns - x->start_ns;
		ky = y->end_ns - y->start_ns;
	}
	r = kx < ky ? -1 : kx > ky;
	if (c->sort == RP_SORT_START_DESC || c->sort == RP_SORT_DURATION_DESC)
		r = -r;
	/* ties by trace id: the same input lists the same way */
	return r ? r : (i < j ? -1 : i > j);
}

long rp_traces_select(const struct rp_traces *tl, enum rp_sort sort, size_t offset, size_t limit,
		      size_t **sel)
{
	struct sort_ctx c = {tl, sort};
	size_t *all, i, n;

	all = malloc((tl->n ? tl->n : 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (i = 0; i < tl->n; i++)
		all[i] = i;
	qsort_r(all, tl->n, sizeof(*all), by_sort, &c);
	if (offset > tl->n)
		offset = tl->n;
	n = tl->n - offset;
	if (limit && n > limit)
		n = limit;
	memmove(all, all + offset, n * sizeof(*all));
	*sel = all;
	return (long)n;
}

/* "2026-12-05T10:00:00.123Z" */
static void utc_time(char *out, size_t len, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&sec, &tm)) {
		snprintf(out, len, "%" PRIu64, ns);
		return;
	}
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100, (unsigned)(ns % 1000000000ull / 1000000ull));
}

int rp_traces_list_text(FILE *f, const struct rp_dataset *ds, const struct rp_traces *tl,
			const size_t *sel, size_t n, size_t total)
{
	int wroot = 4, wsvc = 7;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct rp_span *root = &ds->spans[tl->t[sel[i]].root];
		int a = (int)strlen(rp_str_of(ds, root->name));
		int b = (int)strlen(rp_str_of(ds, root->service));

		wroot = a > wroot ? a : wroot;
		wsvc = b > wsvc ? b : wsvc;
	}
	wroot = wroot > 60 ? 60 : wroot;
	fprintf(f, "%-32s  %-24s  %-*s  %-*s  %12s  %6s  %6s\n", "TRACE", "START", wroot, "ROOT",
		wsvc, "SERVICE", "DURATION ms", "SPANS", "ERRORS");
	for (i = 0; i < n; i++) {
		const struct rp_trace *t = &tl->t[sel[i]];
		const struct rp_span *root = &ds->spans[t->root];
		char id[33], start[64];

		bt_hex(t->id, 16, id);
		utc_time(start, sizeof(start), t->start_ns);
		fprintf(f, "%s  %-24s  %-*.*s  %-*s  %12.3f  %6zu  %6" PRIu32 "\n", id, start,
			wroot, wroot, rp_str_of(ds, root->name), wsvc, rp_str_of(ds, root->service),
			(double)(t->end_ns - t->start_ns) / 1e6, t->n, t->errors);
	}
	fprintf(f, "%zu of %zu matching trace%s\n", n, total, total == 1 ? "" : "s");
	return ferror(f) ? -EIO : 0;
}

char *rp_traces_list_json(const struct rp_dataset *ds, const struct rp_traces *tl,
			  const size_t *sel, size_t n, size_t total)
{
	struct jbuf b = {0};
	size_t i;

	JB_LIT(&b, "{\"total\":");
	jb_int(&b, (int)(total > INT32_MAX ? INT32_MAX : total));
	JB_LIT(&b, ",\"traces\":[");
	for (i = 0; i < n; i++) {
		const struct rp_trace *t = &tl->t[sel[i]];
		const struct rp_span *root = &ds->spans[t->root];
		char start[64], num[32];

		jb_elem(&b, i == 0, "{");
		jb_key(&b, true, "trace_id");
		jb_hex(&b, t->id, 16);
		utc_time(start, sizeof(start), t->start_ns);
		jb_key(&b, false, "start");
		jb_str(&b, start);
		/* a string, as OTLP JSON writes 64-bit times: a JSON number loses ns past 2^53 */
		jb_key(&b, false, "start_unix_nano");
		jb_u64(&b, t->start_ns);
		jb_key(&b, false, "root");
		jb_str(&b, rp_str_of(ds, root->name));
		jb_key(&b, false, "service");
		jb_str(&b, rp_str_of(ds, root->service));
		jb_key(&b, false, "duration_ms");
		jb_double(&b, (double)(t->end_ns - t->start_ns) / 1e6);
		jb_key(&b, false, "spans");
		snprintf(num, sizeof(num), "%zu", t->n);
		jb_put(&b, num, strlen(num));
		jb_key(&b, false, "errors");
		jb_int(&b, (int)t->errors);
		JB_LIT(&b, "}");
	}
	JB_LIT(&b, "]}");
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}

/* A value printed bare unless it holds a space or is empty (then quoted), as print-trace did. */
static void put_value(FILE *f, const char *label, const char *v)
{
	if (!*v || strchr(v, ' '))
		fprintf(f, "  %s=\"%s\"", label, v);
	else
		fprintf(f, "  %s=%s", label, v);
}

static void describe(FILE *f, const struct rp_dataset *ds, const struct rp_span *s, bool all)
{
	const char *v;

	if (all && s->attrs && s->attrs < ds->n_attr_sets) {
		const struct rp_attr_set *set = &ds->attr_sets[s->attrs];
		uint32_t i;

		for (i = 0; i < set->n; i++) {
			const struct rp_attr *a = &ds->attrs[set->first + i];

			put_value(f, rp_str_of(ds, a->key), rp_str_of(ds, a->value));
		}
	} else {
		if (s->model)
			put_value(f, "model", rp_str_of(ds, s->model));
		if (s->flags & RP_HAS_TOKENS) {
			fprintf(f, "  in=%" PRId64, s->input_tokens);
			fprintf(f, "  out=%" PRId64, s->output_tokens);
		}
		/* an array, kept joined with ',' */
		if ((v = rp_attr_of(ds, s, ATTR_GEN_AI_RESPONSE_FINISH_REASONS)))
			fprintf(f, "  finish=[%s]", v);
		if (s->flags & RP_HAS_TTFC)
			fprintf(f, "  ttfc=%.1fms", (double)s->ttfc_s * 1e3);
		if (s->flags & RP_HAS_COST)
			fprintf(f, "  cost=$%.6f", s->cost_usd);
		if ((v = rp_attr_of(ds, s, ATTR_HTTP_RESPONSE_STATUS_CODE)))
			put_value(f, "http", v);
		if (s->error_type)
			put_value(f, "error", rp_str_of(ds, s->error_type));
		if ((v = rp_attr_of(ds, s, ATTR_THREAD_ID)))
			put_value(f, "tid", v);
	}
	if (s->flags & RP_ERROR)
		fputs("  ERROR", f);
	if (s->flags & RP_INCOMPLETE)
		fputs("  INCOMPLETE", f);
	else if (s->flags & RP_TRUNCATED)
		fputs("  TRUNCATED", f);
}

/* Appends the distinct services of @t, comma-separated and sorted, to @out. */
static void services_of(const struct rp_dataset *ds, const struct rp_traces *tl,
			const struct rp_trace *t, char *out, size_t len)
{
	const char *last = NULL;
	size_t used = 0;

	out[0] = '\0';
	/* repeatedly take the smallest name greater than the last one: traces have few services */
	for (;;) {
		const char *next = NULL;
		size_t i;

		for (i = 0; i < t->n; i++) {
			const char *s = rp_str_of(ds, ds->spans[tl->order[t->first + i]].service);

			if ((!last || strcmp(s, last) > 0) && (!next || strcmp(s, next) < 0))
				next = s;
		}
		if (!next || used + strlen(next) + 2 >= len)
			break;
		used += (size_t)snprintf(out + used, len - used, "%s%s", last ? "," : "", next);
		last = next;
	}
}

int rp_trace_tree_text(FILE *f, const struct rp_dataset *ds, const struct rp_traces *tl,
		       const struct rp_trace *t, bool all_attrs)
{
	long *parent = NULL, *first_child = NULL, *next_sib = NULL, *stack = NULL;
	int *depth = NULL, width = 0;
	size_t *rows = NULL, n_rows = 0, i, top = 0;
	bool *seen = NULL;
	char id[33], services[512], *line = NULL;
	size_t line_len = 0;
	FILE *m = NULL;
	int err = -ENOMEM, closed;
	size_t n = t->n;

	parent = calloc(n + 1, sizeof(*parent));
	first_child = malloc((n + 1) * sizeof(*first_child));
	next_sib = malloc((n + 1) * sizeof(*next_sib));
	/* a span is pushed once as a child and at most once as a root (parent cycles) */
	stack = malloc((2 * n + 1) * sizeof(*stack));
	depth = calloc(n + 1, sizeof(*depth));
	rows = malloc((n + 1) * sizeof(*rows));
	seen = calloc(n + 1, sizeof(*seen));
	if (!parent || !first_child || !next_sib || !stack || !depth || !rows || !seen)
		goto cleanup;
	if (rp_trace_parents(ds, tl, t, parent))
		goto cleanup;
	for (i = 0; i < n; i++)
		first_child[i] = next_sib[i] = -1;
	/* children in start order: link from the last so each list reads forwards */
	for (i = n; i-- > 0;)
		if (parent[i] >= 0) {
			next_sib[i] = first_child[parent[i]];
			first_child[parent[i]] = (long)i;
		}
	/* roots in start order, then the spans only a parent cycle reaches */
	for (i = 0; i < 2 * n; i++) {
		size_t r = i % n;

		if (seen[r] || (i < n && parent[r] >= 0))
			continue;
		stack[top++] = (long)r;
		depth[r] = 0;
		while (top) {
			long s = stack[--top], c;
			size_t k = 0, slot;

			if (seen[s])
				continue;
			seen[s] = true;
			rows[n_rows++] = (size_t)s;
			for (c = first_child[s]; c >= 0; c = next_sib[c])
				k++;
			/* reversed, so that the first child is popped first */
			slot = top + k;
			for (c = first_child[s]; c >= 0; c = next_sib[c]) {
				stack[--slot] = c;
				if (!seen[c]) /* a parent cycle leads back to a printed span */
					depth[c] = depth[s] + 1;
			}
			top += k;
		}
	}
	bt_hex(t->id, 16, id);
	services_of(ds, tl, t, services, sizeof(services));
	fprintf(f, "trace %s  service=%s  %zu span%s  %.3f ms", id, services, n, n == 1 ? "" : "s",
		(double)(t->end_ns - t->start_ns) / 1e6);
	if (t->errors)
		fprintf(f, "  %" PRIu32 " ERROR", t->errors);
	fputc('\n', f);
	for (i = 0; i < n_rows; i++) {
		const struct rp_span *s = &ds->spans[tl->order[t->first + rows[i]]];
		int w = 2 * depth[rows[i]] + (int)strlen(rp_str_of(ds, s->name));

		width = w > width ? w : width;
	}
	for (i = 0; i < n_rows; i++) {
		const struct rp_span *s = &ds->spans[tl->order[t->first + rows[i]]];
		int d = depth[rows[i]];
		uint64_t dur = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;

		m = open_memstream(&line, &line_len);
		if (!m)
			goto cleanup;
		fprintf(m, "  %*s%-*s  %10.3f ms  +%9.3f ms  %-8s", 2 * d, "", width - 2 * d,
			rp_str_of(ds, s->name), (double)dur / 1e6,
			(double)(s->start_ns - t->start_ns) / 1e6, rp_kind_name(s->kind));
		describe(m, ds, s, all_attrs);
		closed = fclose(m);
		m = NULL;
		if (closed)
			goto cleanup;
		while (line_len && line[line_len - 1] == ' ')
			line[--line_len] = '\0';
		fprintf(f, "%s\n", line);
		free(line);
		line = NULL;
	}
	err = ferror(f) ? -EIO : 0;
cleanup:
	if (m)
		fclose(m);
	free(line);
	free(parent);
	free(first_child);
	free(next_sib);
	free(stack);
	free(depth);
	free(rows);
	free(seen);
	return err;
}
