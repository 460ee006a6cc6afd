// SPDX-License-Identifier: MIT
/*
 * Unit tests for filter.c: whole traces selected by service, name glob, time window, status
 * and minimum duration (root span, or the extent of a trace without one); the time and
 * duration arguments (RFC 3339, "YYYY-MM-DD HH:MM", relative, unix seconds; unit suffixes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

#define MS 1000000ull

static void add(struct rp_dataset *ds, uint8_t trace, uint8_t span, uint8_t parent,
		const char *service, const char *name, uint64_t start_ms, uint64_t end_ms,
		bool error)
{
	struct rp_span *s = rp_add_span(ds);

	assert_non_null(s);
	s->trace_id[15] = trace;
	s->span_id[7] = span;
	s->parent_id[7] = parent;
	s->service = rp_intern(ds, service);
	s->name = rp_intern(ds, name);
	s->start_ns = start_ms * MS;
	s->end_ns = end_ms * MS;
	s->flags = error ? RP_ERROR : 0;
}

/*
 * Trace 1 (api): root handle 0..100 ms, child chat 10..90 ms with an error.
 * Trace 2 (web): root render 200..210 ms, child fetch 201..209.
 * Trace 3 (api): no root (its parent is elsewhere): work 500..530 and 520..560 (extent 60 ms).
 * Spans of trace 1 and 2 interleave in the dataset, as lines of several hosts do.
 */
static void dataset(struct rp_dataset *ds)
{
	add(ds, 1, 1, 0, "api", "handle", 0, 100, false);
	add(ds, 2, 1, 0, "web", "render", 200, 210, false);
	add(ds, 1, 2, 1, "api", "chat claude", 10, 90, true);
	add(ds, 2, 2, 1, "web", "fetch", 201, 209, false);
	add(ds, 3, 1, 9, "api", "work", 500, 530, false);
	add(ds, 3, 2, 9, "api", "work", 520, 560, false);
}

/* The traces kept, as a bit mask (bit t for trace t), checked consistent across their spans. */
static unsigned traces(const struct rp_dataset *ds, const struct rp_filter *f)
{
	bool *keep = calloc(ds->n_spans, sizeof(*keep));
	unsigned mask = 0, seen = 0;
	size_t i, n, kept = 0;

	assert_non_null(keep);
	n = rp_filter_apply(ds, f, keep);
	for (i = 0; i < ds->n_spans; i++) {
		unsigned bit = 1u << ds->spans[i].trace_id[15];

		if (seen & bit)
			assert_int_equal(!!(mask & bit), keep[i]); /* whole traces only */
		seen |= bit;
		if (keep[i])
			mask |= bit;
		kept += keep[i];
	}
	assert_int_equal(n, kept);
	free(keep);
	return mask;
}

#define T1 (1u << 1)
#define T2 (1u << 2)
#define T3 (1u << 3)

static void test_filter_criteria(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_filter f;

	(void)state;
	dataset(&ds);
	assert_int_equal(traces(&ds, NULL), T1 | T2 | T3);
	f = (struct rp_filter){0};
	assert_int_equal(traces(&ds, &f), T1 | T2 | T3);
	f = (struct rp_filter){.service = "web"};
	assert_int_equal(traces(&ds, &f), T2);
	f = (struct rp_filter){.service = "nobody"};
	assert_int_equal(traces(&ds, &f), 0);
	/* a child's name selects its whole trace */
	f = (struct rp_filter){.name = "chat *"};
	assert_int_equal(traces(&ds, &f), T1);
	f = (struct rp_filter){.name = "[fw]*"};
	assert_int_equal(traces(&ds, &f), T2 | T3);
	f = (struct rp_filter){.status = 2};
	assert_int_equal(traces(&ds, &f), T1);
	f = (struct rp_filter){.status = 1};
	assert_int_equal(traces(&ds, &f), T2 | T3);
	/* overlap with the window, bounds included */
	f = (struct rp_filter){.since_ns = 100 * MS};
	assert_int_equal(traces(&ds, &f), T1 | T2 | T3);
	f = (struct rp_filter){.since_ns = 101 * MS, .until_ns = 520 * MS};
	assert_int_equal(traces(&ds, &f), T2 | T3);
	f = (struct rp_filter){.until_ns = 199 * MS};
	assert_int_equal(traces(&ds, &f), T1);
	f = (struct rp_filter){.until_ns = 5 * MS}; /* trace 1 starts at 0 */
	assert_int_equal(traces(&ds, &f), T1);
	/* the root's duration; the extent of a trace without a root (60 ms) */
	f = (struct rp_filter){.min_duration_ns = 60 * MS};
	assert_int_equal(traces(&ds, &f), T1 | T3);
	f = (struct rp_filter){.min_duration_ns = 61 * MS};
	assert_int_equal(traces(&ds, &f), T1);
	f = (struct rp_filter){.min_duration_ns = 10 * MS};
	assert_int_equal(traces(&ds, &f), T1 | T2 | T3);
	/* every criterion at once */
	f = (struct rp_filter){.service = "api", .name = "w*", .status = 1, .min_duration_ns = MS};
	assert_int_equal(traces(&ds, &f), T3);
	f = (struct rp_filter){.service = "api", .name = "render"};
	assert_int_equal(traces(&ds, &f), 0);
	rp_dataset_free(&ds);
}

static void test_filter_empty(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_filter f = {.service = "api"};
	bool keep[1];

	(void)state;
	assert_int_equal(rp_filter_apply(&ds, &f, keep), 0);
}

static void test_filter_many_traces(void **state)
{
	struct rp_dataset ds = {0};
	struct rp_filter f = {.name = "slow"};
	bool *keep;
	size_t i, n = 5000;

	(void)state;
	/* more traces than the first table holds; every 7th has a slow child */
	for (i = 0; i < n; i++) {
		struct rp_span *s = rp_add_span(&ds);

		assert_non_null(s);
		memcpy(s->trace_id, &i, sizeof(i));
		s->span_id[0] = 1;
		s->name = rp_intern(&ds, "root");
		s = rp_add_span(&ds);
		assert_non_null(s);
		memcpy(s->trace_id, &i, sizeof(i));
		s->span_id[0] = 2;
		s->parent_id[0] = 1;
		s->name = rp_intern(&ds, i % 7 ? "fast" : "slow");
	}
	keep = calloc(ds.n_spans, sizeof(*keep));
	assert_non_null(keep);
	assert_int_equal(rp_filter_apply(&ds, &f, keep), 2 * ((n + 6) / 7));
	for (i = 0; i < ds.n_spans; i++)
		assert_int_equal(keep[i], (i / 2) % 7 == 0);
	free(keep);
	rp_dataset_free(&ds);
}

static void test_parse_time(void **state)
{
	const uint64_t now = 1764928800ull * 1000000000ull; /* 2025-12-05T10:00:00Z */
	uint64_t t;

	(void)state;
	assert_int_equal(rp_parse_time("2026-12-05T10:00:00Z", now, &t), 0);
	assert_true(t == 1796464800ull * 1000000000ull);
	assert_int_equal(rp_parse_time("2026-12-05t10:00:00.25z", now, &t), 0);
	assert_true(t == 1796464800ull * 1000000000ull + 250000000ull);
	assert_int_equal(rp_parse_time("2026-12-05T12:30:00+02:30", now, &t), 0);
	assert_true(t == 1796464800ull * 1000000000ull);
	assert_int_equal(rp_parse_time("2026-12-05T05:00:00-05:00", now, &t), 0);
	assert_true(t == 1796464800ull * 1000000000ull);
	assert_int_equal(rp_parse_time("2026-12-05 10:00", now, &t), 0); /* UTC */
	assert_true(t == 1796464800ull * 1000000000ull);
	assert_int_equal(rp_parse_time("2026-12-05 10:00:07", now, &t), 0);
	assert_true(t == 1796464807ull * 1000000000ull);
	assert_int_equal(rp_parse_time("2026-12-05", now, &t), 0);
	assert_true(t == 1796428800ull * 1000000000ull);
	assert_int_equal(rp_parse_time("1970-01-01T00:00:00Z", now, &t), 0);
	assert_true(t == 0);
	assert_int_equal(rp_parse_time("2024-02-29T00:00:00Z", now, &t), 0);
	assert_true(t == 1709164800ull * 1000000000ull);
	assert_int_equal(rp_parse_time("1796464800", now, &t), 0);
	assert_true(t == 1796464800ull * 1000000000ull);
	assert_int_equal(rp_parse_time("1796464800.5", now, &t), 0);
	assert_true(t == 1796464800ull * 1000000000ull + 500000000ull);
	assert_int_equal(rp_parse_time("-1h", now, &t), 0);
	assert_true(t == now - 3600ull * 1000000000ull);
	assert_int_equal(rp_parse_time("-30m", now, &t), 0);
	assert_true(t == now - 1800ull * 1000000000ull);
	assert_int_equal(rp_parse_time("-2d", now, &t), 0);
	assert_true(t == now - 2 * 86400ull * 1000000000ull);
	assert_int_equal(rp_parse_time("-90s", now, &t), 0);
	assert_true(t == now - 90ull * 1000000000ull);

	t = 42;
	assert_int_equal(rp_parse_time("", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time(NULL, now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("-10", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("-1y", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("-100000d", now, &t), -EINVAL); /* before 1970 */
	assert_int_equal(rp_parse_time("yesterday", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("2026-13-05T10:00:00Z", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("2026-02-29T10:00:00Z", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("2026-04-31", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("2026-12-05T24:00:00Z", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("2026-12-05T10:60Z", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("2026-12-05T10:00:00+0200", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("2026-12-05T10:00:00Zjunk", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("2026-12-5", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("1969-12-31T23:59:59Z", now, &t), -EINVAL);
	assert_int_equal(rp_parse_time("2026-12-05T10:00:00.Z", now, &t), -EINVAL);
	assert_true(t == 42); /* untouched on error */
}

static void test_parse_duration(void **state)
{
	uint64_t d;

	(void)state;
	assert_int_equal(rp_parse_duration("250ms", &d), 0);
	assert_true(d == 250000000ull);
	assert_int_equal(rp_parse_duration("1.5s", &d), 0);
	assert_true(d == 1500000000ull);
	assert_int_equal(rp_parse_duration("2m", &d), 0);
	assert_true(d == 120000000000ull);
	assert_int_equal(rp_parse_duration("1h", &d), 0);
	assert_true(d == 3600000000000ull);
	assert_int_equal(rp_parse_duration("100us", &d), 0);
	assert_true(d == 100000ull);
	assert_int_equal(rp_parse_duration("7ns", &d), 0);
	assert_true(d == 7);
	assert_int_equal(rp_parse_duration("10", &d), 0); /* milliseconds */
	assert_true(d == 10000000ull);
	assert_int_equal(rp_parse_duration("0.1", &d), 0);
	assert_true(d == 100000ull);
	assert_int_equal(rp_parse_duration(".5s", &d), 0);
	assert_true(d == 500000000ull);
	assert_int_equal(rp_parse_duration("0", &d), 0);
	assert_true(d == 0);

	d = 42;
	assert_int_equal(rp_parse_duration("", &d), -EINVAL);
	assert_int_equal(rp_parse_duration(NULL, &d), -EINVAL);
	assert_int_equal(rp_parse_duration("ms", &d), -EINVAL);
	assert_int_equal(rp_parse_duration("-1s", &d), -EINVAL);
	assert_int_equal(rp_parse_duration("1x", &d), -EINVAL);
	assert_int_equal(rp_parse_duration("1.5.2s", &d), -EINVAL);
	assert_int_equal(rp_parse_duration("1 s", &d), -EINVAL);
	assert_int_equal(rp_parse_duration("2d", &d), -EINVAL);
	assert_int_equal(rp_parse_duration("1e3ms", &d), -EINVAL);
	assert_int_equal(rp_parse_duration("99999999999h", &d), -EINVAL);
	assert_true(d == 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filter_criteria),    cmocka_unit_test(test_filter_empty),
	    cmocka_unit_test(test_filter_many_traces), cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_parse_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
