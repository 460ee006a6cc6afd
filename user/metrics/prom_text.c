// SPDX-License-Identifier: MIT
/* Prometheus text exposition of the metrics registry. See prom_text.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_int.h"
#include "metrics/prom_text.h"
#include "span/semconv.h"
#include "util/jbuf.h"

/* Resource attributes that become labels of every point of that resource. */
static const char *const service_keys[] = {
    ATTR_SERVICE_NAME,
    ATTR_SERVICE_NAMESPACE,
    ATTR_SERVICE_VERSION,
    ATTR_SERVICE_INSTANCE_ID,
};

static const struct {
	const char *unit, *word;
} unit_words[] = {
    {"s", "seconds"},	   {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"},
    {"min", "minutes"},	   {"h", "hours"},	   {"d", "days"},	   {"By", "bytes"},
    {"KiBy", "kibibytes"}, {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"},  {"KBy", "kilobytes"},
    {"MBy", "megabytes"},  {"GBy", "gigabytes"},   {"%", "percent"},	   {"Hz", "hertz"},
    {"m", "meters"},	   {"V", "volts"},	   {"A", "amperes"},	   {"J", "joules"},
    {"W", "watts"},	   {"g", "grams"},	   {"Cel", "celsius"},
};

/* Appends @s sanitised to @out (at *@n): invalid characters as '_', no runs of '_'. */
static void put_sanitised(char *out, size_t size, size_t *n, const char *s, bool colon_ok)
{
	for (; *s; s++) {
		char c = *s;

		if (!(isalnum((unsigned char)c) || c == '_' || (colon_ok && c == ':')) ||
		    (unsigned char)c >= 0x80)
			c = '_';
		if (c == '_' && *n && out[*n - 1] == '_')
			continue;
		if (*n + 1 < size)
			out[*n] = c;
		(*n)++;
	}
}

static const char *unit_word(const char *unit, char *buf, size_t size)
{
	size_t k;

	for (k = 0; k < sizeof(unit_words) / sizeof(unit_words[0]); k++)
		if (!strcmp(unit, unit_words[k].unit))
			return unit_words[k].word;
	snprintf(buf, size, "%s", unit);
	return buf;
}

/* The unit suffix words of @unit ("" when none), e.g. "seconds", "bytes_per_second". */
static void unit_suffix(const char *unit, enum metric_kind kind, char *out, size_t size)
{
	char a[64], b[64], wa[64], wb[64];
	const char *slash;
	size_t n = 0;
	char *brace;

	out[0] = '\0';
	snprintf(a, sizeof(a), "%s", unit ? unit : "");
	/* annotations ({token}, 1{request}) say what is counted: not a unit */
	while ((brace = strchr(a, '{'))) {
		char *end = strchr(brace, '}');

		if (!end)
			break;
		memmove(brace, end + 1, strlen(end + 1) + 1);
	}
	if (!a[0])
		return;
	if (!strcmp(a, "1")) {
		if (kind == METRIC_GAUGE)
			snprintf(out, size, "ratio");
		return;
	}
	slash = strchr(a, '/');
	if (slash) {
		snprintf(b, sizeof(b), "%s", slash + 1);
		a[slash - a] = '\0';
		if (!strcmp(b, "s"))
			snprintf(wb, sizeof(wb), "second");
		else if (!strcmp(b, "m"))
			snprintf(wb, sizeof(wb), "minute");
		else if (!strcmp(b, "h"))
			snprintf(wb, sizeof(wb), "hour");
		else
			unit_word(b, wb, sizeof(wb));
		if (a[0])
			put_sanitised(out, size, &n, unit_word(a, wa, sizeof(wa)), false);
		if (n)
			put_sanitised(out, size, &n, "_", false);
		put_sanitised(out, size, &n, "per_", false);
		put_sanitised(out, size, &n, wb, false);
	} else {
		put_sanitised(out, size, &n, unit_word(a, wa, sizeof(wa)), false);
	}
	out[n < size ? n : size - 1] = '\0';
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t l = strlen(suffix);

	return len > l && s[len - l - 1] == '_' && !strncmp(s + len - l, suffix, l);
}

int prom_metric_name(const char *name, const char *unit, enum metric_kind kind, char *out,
		     size_t size)
{
	char suffix[160];
	size_t n = 0;

	if (!size)
		return -ENOSPC;
	if (isdigit((unsigned char)name[0]))
		put_sanitised(out, size, &n, "_", true);
	put_sanitised(out, size, &n, name, true);
	unit_suffix(unit, kind, suffix, sizeof(suffix));
	if (suffix[0] && !ends_with(out, n < size ? n : size - 1, suffix)) {
		put_sanitised(out, size, &n, "_", true);
		put_sanitised(out, size, &n, suffix, true);
	}
	if (kind == METRIC_COUNTER && !ends_with(out, n < size ? n : size - 1, "total"))
		put_sanitised(out, size, &n, "_total", true);
	if (n >= size) {
		out[size - 1] = '\0';
		return -ENOSPC;
	}
	out[n] = '\0';
	return (int)n;
}

int prom_label_name(const char *key, char *out, size_t size)
{
	size_t n = 0;

	if (!size)
		return -ENOSPC;
	if (isdigit((unsigned char)key[0]))
		put_sanitised(out, size, &n, "key_", false);
	put_sanitised(out, size, &n, key, false);
	if (n >= size) {
		out[size - 1] = '\0';
		return -ENOSPC;
	}
	out[n] = '\0';
	return (int)n;
}

/* A label value: backslash, double quote and newline escaped, bad UTF-8 bytes as U+FFFD. */
static void put_label_value(struct jbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t run = 0, len;

		while (p[run] && p[run] < 0x80 && p[run] != '\\' && p[run] != '"' && p[run] != '\n')
			run++;
		jb_put(b, (const char *)p, run);
		p += run;
		if (!*p)
			break;
		if (*p == '\\')
			JB_LIT(b, "\\\\");
		else if (*p == '"')
			JB_LIT(b, "\\\"");
		else if (*p == '\n')
			JB_LIT(b, "\\n");
		if (*p < 0x80) {
			p++;
		} else if ((len = jb_utf8_seq_len(p))) {
			jb_put(b, (const char *)p, len);
			p += len;
		} else {
			jb_put(b, jb_utf8_replacement, 3);
			p++;
		}
	}
}

/* The text of attribute value @at as a label value (JSON for anything but a string). */
static void put_attr_value(struct jbuf *b, const struct bt_attr *at)
{
	struct jbuf j = {0};
	char num[40];
	size_t k;

	switch (at->type) {
	case BT_ATTR_STR:
		put_label_value(b, at->s);
		return;
	case BT_ATTR_INT:
		snprintf(num, sizeof(num), "%" PRId64, at->i);
		break;
	case BT_ATTR_DOUBLE:
		jb_double(&j, at->d);
		break;
	case BT_ATTR_BOOL:
		snprintf(num, sizeof(num), "%s", at->b ? "true" : "false");
		break;
	case BT_ATTR_STR_ARRAY:
		JB_LIT(&j, "[");
		for (k = 0; k < at->arr.n; k++) {
			if (k)
				JB_LIT(&j, ",");
			jb_str(&j, at->arr.v[k]);
		}
		JB_LIT(&j, "]");
		break;
	}
	if (at->type == BT_ATTR_DOUBLE || at->type == BT_ATTR_STR_ARRAY) {
		if (j.oom)
			b->oom = true;
		else
			put_label_value(b, j.p ? j.p : "");
		free(j.p);
		return;
	}
	put_label_value(b, num);
}

/* A sample value as Prometheus reads it. */
static void put_value(struct jbuf *b, double v, bool integer)
{
	char buf[40];
	int n;

	if (isnan(v)) {
		JB_LIT(b, "NaN");
		return;
	}
	if (isinf(v)) {
		if (v > 0)
			JB_LIT(b, "+Inf");
		else
			JB_LIT(b, "-Inf");
		return;
	}
	if (integer || (v == floor(v) && fabs(v) < 1e15))
		n = snprintf(buf, sizeof(buf), "%.0f", v);
	else {
		n = snprintf(buf, sizeof(buf), "%.15g", v);
		if (strtod(buf, NULL) != v)
			n = snprintf(buf, sizeof(buf), "%.17g", v);
	}
	jb_put(b, buf, (size_t)n);
}

/* One label: name="value", with a comma before unless first. */
struct label {
	char name[128];
	const struct bt_attr *at;
};

static int cmp_label(const void *a, const void *b)
{
	const struct label *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->at->key, y->at->key);
}

/*
 * Writes {labels} of point @p of registry @m, plus @extra (le="...") when given. Returns the
 * count of labels written.
 */
static void put_labels(struct jbuf *b, const struct metrics *m, const struct mpoint *p,
		       const char *extra_name, const char *extra_value)
{
	const struct bt_attrs *ra = &m->res[p->res].attrs;
	size_t n = 0, k, cap = p->attrs.n + sizeof(service_keys) / sizeof(service_keys[0]);
	struct label *l = calloc(cap ? cap : 1, sizeof(*l));
	bool any = false;

	if (!l) {
		b->oom = true;
		return;
	}
	for (k = 0; k < sizeof(service_keys) / sizeof(service_keys[0]); k++) {
		const struct bt_attr *at = bt_attrs_get(ra, service_keys[k]);

		if (at && !bt_attrs_get(&p->attrs, service_keys[k])) {
			prom_label_name(at->key, l[n].name, sizeof(l[n].name));
			l[n++].at = at;
		}
	}
	for (k = 0; k < p->attrs.n; k++) {
		prom_label_name(p->attrs.v[k].key, l[n].name, sizeof(l[n].name));
		l[n++].at = &p->attrs.v[k];
	}
	qsort(l, n, sizeof(*l), cmp_label);
	for (k = 0; k < n; k++) {
		bool joined = k && !strcmp(l[k].name, l[k - 1].name);

		if (joined) {
			/* same label name as the previous attribute: one value, ';'-joined */
			JB_LIT(b, ";");
			put_attr_value(b, l[k].at);
			continue;
		}
		if (any)
			JB_LIT(b, "\",");
		else
			JB_LIT(b, "{");
		any = true;
		jb_put(b, l[k].name, strlen(l[k].name));
		JB_LIT(b, "=\"");
		put_attr_value(b, l[k].at);
	}
	if (extra_name) {
		if (any)
			JB_LIT(b, "\",");
		else
			JB_LIT(b, "{");
		any = true;
		jb_put(b, extra_name, strlen(extra_name));
		JB_LIT(b, "=\"");
		put_label_value(b, extra_value);
	}
	if (any)
		JB_LIT(b, "\"}");
	free(l);
}

static void put_help(struct jbuf *b, const char *pname, const struct metric *i)
{
	const char *s = i->desc, *run = s;

	JB_LIT(b, "# HELP ");
	jb_put(b, pname, strlen(pname));
	JB_LIT(b, " ");
	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : NULL;

		if (!esc)
			continue;
		jb_put(b, run, (size_t)(s - run));
		jb_put(b, esc, 2);
		run = s + 1;
	}
	jb_put(b, run, (size_t)(s - run));
	JB_LIT(b, "\n# TYPE ");
	jb_put(b, pname, strlen(pname));
	if (i->kind == METRIC_COUNTER)
		JB_LIT(b, " counter\n");
	else if (i->kind == METRIC_GAUGE)
		JB_LIT(b, " gauge\n");
	else
		JB_LIT(b, " histogram\n");
}

static void put_sample(struct jbuf *b, const char *pname, const char *suffix,
		       const struct metrics *m, const struct mpoint *p, const char *le, double v,
		       bool integer)
{
	jb_put(b, pname, strlen(pname));
	jb_put(b, suffix, strlen(suffix));
	put_labels(b, m, p, le ? "le" : NULL, le);
	JB_LIT(b, " ");
	put_value(b, v, integer);
	JB_LIT(b, "\n");
}

static void put_point(struct jbuf *b, const char *pname, const struct metrics *m,
		      const struct metric *i, const struct mpoint *p)
{
	struct jbuf le = {0};
	uint64_t cum = 0;
	size_t k;

	if (i->kind != METRIC_HISTOGRAM) {
		put_sample(b, pname, "", m, p, NULL, p->cum.value, i->integer);
		return;
	}
	for (k = 0; k <= i->n_bounds; k++) {
		cum += p->cum.buckets[k];
		le.len = 0;
		if (k < i->n_bounds)
			put_value(&le, i->bounds[k], false);
		else
			JB_LIT(&le, "+Inf");
		if (le.oom) {
			b->oom = true;
			break;
		}
		put_sample(b, pname, "_bucket", m, p, le.p, (double)cum, true);
	}
	free(le.p);
	put_sample(b, pname, "_sum", m, p, NULL, p->cum.sum, false);
	put_sample(b, pname, "_count", m, p, NULL, (double)p->cum.count, true);
}

char *prom_text_render(struct metrics *m, size_t *len)
{
	struct jbuf b = {0};
	char pname[256];
	size_t k, j;

	pthread_mutex_lock(&m->lock);
	jb_reserve(&b, 4096);
	for (k = 0; k < m->n_inst; k++) {
		const struct metric *i = m->inst[k];
		bool any = false;

		prom_metric_name(i->name, i->unit, i->kind, pname, sizeof(pname));
		for (j = 0; j <= i->n_pts; j++) {
			const struct mpoint *p = j < i->n_pts ? i->pts[j] : i->overflow_pt;

			if (!p || !p->cum.touched)
				continue;
			if (!any)
				put_help(&b, pname, i);
			any = true;
			put_point(&b, pname, m, i, p);
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	if (!b.p) {
		b.p = strdup("");
		if (!b.p)
			return NULL;
	}
	*len = b.len;
	return b.p;
}
