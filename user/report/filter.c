// SPDX-License-Identifier: MIT
/*
 * Which traces a report looks at (report.h: rp_filter_apply), and the time and duration
 * arguments of --since/--until/--min-duration. A filter selects whole traces: a trace is kept
 * with all its spans when its spans satisfy every criterion given, so that self time, critical
 * paths and waterfalls are computed on complete trees.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

#define NS_PER_S 1000000000ull

/* What a filter needs to know of one trace. */
struct trace_sum {
	uint64_t start, end; /* extent */
	uint64_t root_dur;   /* longest span without a parent; 0: none */
	bool has_root, service, name, error;
};

static uint64_t id_hash(const uint8_t *id)
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	a ^= b * 0x9e3779b97f4a7c15ull;
	return a ^ a >> 29;
}

static bool is_root(const struct rp_span *s)
{
	static const uint8_t zero[8];

	return !memcmp(s->parent_id, zero, sizeof(zero));
}

/*
 * tr[i]: the trace number of span i (0..*n_traces-1), from an open-addressing table of the
 * first span of each trace. Returns 0 or -ENOMEM.
 */
static int group_traces(const struct rp_dataset *ds, uint32_t *tr, size_t *n_traces)
{
	size_t cap = 1024, i, h, n = 0;
	uint32_t *tab; /* span index + 1 of a trace's first span, 0: empty */

	while (cap < 2 * ds->n_spans)
		cap *= 2;
	tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (i = 0; i < ds->n_spans; i++) {
		const uint8_t *id = ds->spans[i].trace_id;

		for (h = id_hash(id) & (cap - 1); tab[h]; h = (h + 1) & (cap - 1))
			if (!memcmp(ds->spans[tab[h] - 1].trace_id, id, 16))
				break;
		if (tab[h]) {
			tr[i] = tr[tab[h] - 1];
		} else {
			tab[h] = (uint32_t)i + 1;
			tr[i] = (uint32_t)n++;
		}
	}
	free(tab);
	*n_traces = n;
	return 0;
}

/* Whether span name @id matches the glob, remembered per name: 0 unknown, 1 yes, 2 no. */
static bool name_matches(const struct rp_dataset *ds, const char *glob, uint8_t *memo, rp_str id)
{
	if (!memo[id])
		memo[id] = fnmatch(glob, rp_str_of(ds, id), 0) ? 2 : 1;
	return memo[id] == 1;
}

size_t rp_filter_apply(const struct rp_dataset *ds, const struct rp_filter *f, bool *keep)
{
	struct trace_sum *t = NULL, *ts;
	uint32_t *tr = NULL;
	uint8_t *memo = NULL;
	rp_str service = 0;
	size_t i, n_traces = 0, kept = 0;
	bool pass;

	if (!ds->n_spans)
		return 0;
	if (!f || (!f->service && !f->name && !f->since_ns && !f->until_ns && !f->status &&
		   !f->min_duration_ns)) {
		for (i = 0; i < ds->n_spans; i++)
			keep[i] = true;
		return ds->n_spans;
	}
	memset(keep, 0, ds->n_spans * sizeof(*keep));
	if (f->service && !(service = rp_str_find(ds, f->service)))
		return 0; /* no span has it */
	tr = malloc(ds->n_spans * sizeof(*tr));
	memo = f->name ? calloc(ds->n_strs ? ds->n_strs : 1, 1) : NULL;
	if (!tr || (f->name && !memo) || group_traces(ds, tr, &n_traces))
		goto oom;
	t = calloc(n_traces, sizeof(*t));
	if (!t)
		goto oom;
	for (i = 0; i < n_traces; i++)
		t[i].start = UINT64_MAX;
	for (i = 0; i < ds->n_spans; i++) {
		const struct rp_span *s = &ds->spans[i];

		ts = &t[tr[i]];
		if (s->start_ns < ts->start)
			ts->start = s->start_ns;
		if (s->end_ns > ts->end)
			ts->end = s->end_ns;
		if (is_root(s) && (!ts->has_root || s->end_ns - s->start_ns > ts->root_dur)) {
			ts->has_root = true;
			ts->root_dur = s->end_ns - s->start_ns;
		}
		if (service && s->service == service)
			ts->service = true;
		if (f->name && !ts->name && s->name < ds->n_strs &&
		    name_matches(ds, f->name, memo, s->name))
			ts->name = true;
		if (s->flags & RP_ERROR)
			ts->error = true;
	}
	for (i = 0; i < ds->n_spans; i++) {
		ts = &t[tr[i]];
		pass = (!service || ts->service) && (!f->name || ts->name) &&
		       (!f->since_ns || ts->end >= f->since_ns) &&
		       (!f->until_ns || ts->start <= f->until_ns) &&
		       (f->status != 1 || !ts->error) && (f->status != 2 || ts->error) &&
		       (ts->has_root ? ts->root_dur : ts->end - ts->start) >= f->min_duration_ns;
		keep[i] = pass;
		kept += pass;
	}
	free(t);
	free(tr);
	free(memo);
	return kept;
oom:
	/* nothing can be selected without memory: keep everything rather than report nothing */
	free(t);
	free(tr);
	free(memo);
	for (i = 0; i < ds->n_spans; i++)
		keep[i] = true;
	return ds->n_spans;
}

/* A decimal number (digits, optional fraction) at *@p; advances *@p. */
static bool decimal(const char **p, double *v)
{
	const char *s = *p;
	char *end;

	if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s))
			s++;
	}
	*v = strtod(*p, &end);
	if (end != s)
		return false;
	*p = s;
	return true;
}

/* The nanoseconds of unit @u ("" for the default @bare); 0: not a unit. */
static uint64_t unit_ns(const char *u, uint64_t bare, bool days)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
	    {"ns", 1},
	    {"us", 1000},
	    {"ms", 1000000},
	    {"s", NS_PER_S},
	    {"m", 60 * NS_PER_S},
	    {"h", 3600 * NS_PER_S},
	    {"d", 86400 * NS_PER_S},
	};
	size_t i;

	if (!*u)
		return bare;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(u, units[i].name))
			return units[i].name[0] == 'd' && !days ? 0 : units[i].ns;
	return 0;
}

static int number_unit(const char *s, uint64_t bare, bool days, uint64_t *out)
{
	double v, ns;
	uint64_t unit;

	if (!s || !decimal(&s, &v) || !(unit = unit_ns(s, bare, days)))
		return -EINVAL;
	ns = round(v * (double)unit);
	if (!isfinite(ns) || ns >= 18446744073709551615.0)
		return -EINVAL;
	*out = (uint64_t)ns;
	return 0;
}

int rp_parse_duration(const char *s, uint64_t *out)
{
	return number_unit(s, 1000000, false, out);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

/* "YYYY-MM-DD", then optionally [T ]HH:MM[:SS[.frac]] and Z or +-HH:MM (none: UTC). */
static int parse_date(const char *s, uint64_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om, sign;
	int64_t secs, off = 0;
	uint64_t frac = 0, scale = NS_PER_S / 10;
	bool leap;

	if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
	    !digits(&s, 2, &d))
		return -EINVAL;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return -EINVAL;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
			return -EINVAL;
		if (*s == ':') {
			s++;
			if (!digits(&s, 2, &sec))
				return -EINVAL;
			if (*s == '.') {
				if (!isdigit((unsigned char)*++s))
					return -EINVAL;
				for (; isdigit((unsigned char)*s); s++, scale /= 10)
					frac += (uint64_t)(*s - '0') * scale;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return -EINVAL;
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			sign = *s++ == '-' ? -1 : 1;
			if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) || oh > 23 ||
			    om > 59)
				return -EINVAL;
			off = sign * (oh * 3600 + om * 60);
		}
	}
	if (*s)
		return -EINVAL;
	secs =
	    days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off;
	if (secs < 0 || (uint64_t)secs > UINT64_MAX / NS_PER_S - 1)
		return -EINVAL;
	*out = (uint64_t)secs * NS_PER_S + frac;
	return 0;
}

int rp_parse_time(const char *s, uint64_t now_ns, uint64_t *out)
{
	uint64_t ago;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '-') {
		/* relative to now: a unit is required ("-10" is not a time) */
		for (p = s + 1; isdigit((unsigned char)*p) || *p == '.'; p++)
			;
		if (!*p || number_unit(s + 1, 0, true, &ago) || ago > now_ns)
			return -EINVAL;
		*out = now_ns - ago;
		return 0;
	}
	for (p = s; isdigit((unsigned char)*p) || *p == '.'; p++)
		;
	if (!*p) /* unix seconds */
		return number_unit(s, NS_PER_S, false, out);
	return parse_date(s, out);
}
