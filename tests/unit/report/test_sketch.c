// SPDX-License-Identifier: MIT
/*
 * Tests for user/report/sketch.c: percentiles against the exact nearest-rank values (exact below
 * SK_EXACT values, within SK_ALPHA above), on random and adversarial distributions; merge equals
 * the sketch of the concatenation; the reservoir and the bootstrap interval.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/sketch.h"

static const unsigned pcts[] = {1, 5, 10, 25, 50, 75, 90, 95, 99, 100};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of sorted @v: rank ceil(p/100 * n), computed in integers. */
static double exact_pct(const double *v, size_t n, unsigned p)
{
	size_t rank = (p * n + 99) / 100;

	return v[(rank ? rank : 1) - 1];
}

static double uniform(uint64_t *rng)
{
	return (double)(sk_rand(rng) >> 11) / 9007199254740992.0;
}

/* Standard normal (Box-Muller). */
static double normal(uint64_t *rng)
{
	double u = uniform(rng), w = uniform(rng);

	return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * w);
}

enum dist { D_UNIFORM, D_CONSTANT, D_BIMODAL, D_HEAVY, D_LOGNORMAL, D_SPREAD };

static double draw(enum dist d, uint64_t *rng)
{
	switch (d) {
	case D_UNIFORM:
		return 1 + 999 * uniform(rng);
	case D_CONSTANT:
		return 42.5;
	case D_BIMODAL: /* a cache hit at ~2 ms, a miss at ~800 ms */
		return uniform(rng) < 0.7 ? 2 + 0.1 * normal(rng) : 800 + 50 * normal(rng);
	case D_HEAVY: /* Pareto, alpha 1.1: values up to many orders of magnitude */
		return 1.0 / pow(1 - uniform(rng), 1 / 1.1);
	case D_LOGNORMAL:
		return exp(4 + 1.5 * normal(rng));
	case D_SPREAD: /* nanoseconds to days in ms, and zeros */
		return uniform(rng) < 0.05 ? 0 : pow(10, -6 + 14 * uniform(rng));
	}
	return 0;
}

/* Fills a sketch with @n values of @d and checks every percentile against the exact one. */
static void check_dist(enum dist d, size_t n, uint64_t seed)
{
	double *v = malloc(n * sizeof(*v));
	struct sk_sketch sk = {0};
	uint64_t rng = seed;
	size_t i, j;

	assert_non_null(v);
	for (i = 0; i < n; i++) {
		v[i] = draw(d, &rng);
		assert_int_equal(sk_add(&sk, v[i]), 0);
	}
	qsort(v, n, sizeof(*v), cmp_double);
	assert_int_equal(sk.count, n);
	assert_true(sk.min == v[0] && sk.max == v[n - 1]);
	for (j = 0; j < sizeof(pcts) / sizeof(pcts[0]); j++) {
		double want = exact_pct(v, n, pcts[j]), got = sk_quantile(&sk, pcts[j]);

		if (n <= SK_EXACT)
			assert_true(got == want);
		else if (want <= SK_TINY)
			assert_true(got == sk.min);
		else if (!(fabs(got - want) <= SK_ALPHA * want * (1 + 1e-9))) {
			print_error("dist %d n %zu p%u: got %.17g want %.17g\n", d, n, pcts[j], got,
				    want);
			fail();
		}
	}
	assert_true(sk.buckets_mode == (n > SK_EXACT));
	assert_true(fabs(sk_mean(&sk) * n - sk.sum) <= 1e-6 * fabs(sk.sum));
	sk_free(&sk);
	free(v);
}

static void test_sketch_exact_below_threshold(void **state)
{
	(void)state;
	check_dist(D_UNIFORM, 1, 1);
	check_dist(D_UNIFORM, 2, 2);
	check_dist(D_UNIFORM, 101, 3);
	check_dist(D_LOGNORMAL, 1000, 4);
	check_dist(D_BIMODAL, SK_EXACT, 5);
	check_dist(D_SPREAD, 3000, 6);
}

static void test_sketch_relative_error_above_threshold(void **state)
{
	(void)state;
	check_dist(D_UNIFORM, SK_EXACT + 1, 7);
	check_dist(D_CONSTANT, 50000, 8);
	check_dist(D_BIMODAL, 100000, 9);
	check_dist(D_HEAVY, 100000, 10);
	check_dist(D_SPREAD, 100000, 11);
	check_dist(D_LOGNORMAL, 1000000, 12);
}

/* Bounded memory: a million values take no more buckets than the range allows. */
static void test_sketch_bounded(void **state)
{
	struct sk_sketch sk = {0};
	uint64_t rng = 13;
	size_t i;

	(void)state;
	for (i = 0; i < 1000000; i++)
		assert_int_equal(sk_add(&sk, draw(D_SPREAD, &rng)), 0);
	assert_null(sk.exact);
	assert_true(sk.n_bucket <= SK_MAX_BUCKETS);
	/* beyond the covered range: counted, reported as the maximum */
	assert_int_equal(sk_add(&sk, 1e300), 0);
	assert_true(sk_quantile(&sk, 100) == 1e300);
	assert_true(sk.n_bucket <= SK_MAX_BUCKETS);
	sk_free(&sk);
}

static void test_sketch_empty(void **state)
{
	struct sk_sketch sk = {0};

	(void)state;
	assert_true(isnan(sk_quantile(&sk, 50)));
	assert_true(isnan(sk_mean(&sk)));
	assert_int_equal(sk_add(&sk, NAN), 0);
	assert_int_equal(sk.count, 0);
	sk_free(&sk);
}

static void assert_same(struct sk_sketch *a, struct sk_sketch *b)
{
	size_t j;

	assert_int_equal(a->count, b->count);
	assert_true(a->min == b->min && a->max == b->max);
	assert_true(fabs(a->sum - b->sum) <= 1e-9 * fabs(b->sum));
	for (j = 0; j < sizeof(pcts) / sizeof(pcts[0]); j++)
		assert_true(sk_quantile(a, pcts[j]) == sk_quantile(b, pcts[j]));
}

/* Values spread over @k parts (sizes chosen by @sizes), merged in order: the same as one. */
static void check_merge(enum dist d, const size_t *sizes, size_t k, uint64_t seed)
{
	struct sk_sketch all = {0}, merged = {0}, part[4] = {{0}};
	uint64_t rng = seed;
	size_t i, p;

	for (p = 0; p < k; p++)
		for (i = 0; i < sizes[p]; i++) {
			double v = draw(d, &rng);

			assert_int_equal(sk_add(&all, v), 0);
			assert_int_equal(sk_add(&part[p], v), 0);
		}
	for (p = 0; p < k; p++)
		assert_int_equal(sk_merge(&merged, &part[p]), 0);
	assert_same(&merged, &all);
	assert_true(merged.buckets_mode == all.buckets_mode);
	for (p = 0; p < k; p++)
		sk_free(&part[p]);
	sk_free(&all);
	sk_free(&merged);
}

static void test_sketch_merge_is_concatenation(void **state)
{
	static const size_t small[] = {10, 0, 300};
	static const size_t at_limit[] = {SK_EXACT - 5, 5};
	static const size_t across[] = {SK_EXACT - 5, 6};
	static const size_t mixed[] = {100, 50000, 3000, 20000};
	static const size_t big[] = {200000, 300000};

	(void)state;
	check_merge(D_LOGNORMAL, small, 3, 21);
	check_merge(D_UNIFORM, at_limit, 2, 22);
	check_merge(D_UNIFORM, across, 2, 23);
	check_merge(D_BIMODAL, mixed, 4, 24);
	check_merge(D_HEAVY, mixed, 4, 25);
	check_merge(D_SPREAD, big, 2, 26);
}

/* Merging in either order gives the same percentiles (regressions merge per group). */
static void test_sketch_merge_order(void **state)
{
	struct sk_sketch a = {0}, b = {0}, ab = {0}, ba = {0};
	uint64_t rng = 31;
	size_t i;

	(void)state;
	for (i = 0; i < 20000; i++)
		assert_int_equal(sk_add(i % 3 ? &a : &b, draw(D_HEAVY, &rng)), 0);
	assert_int_equal(sk_merge(&ab, &a), 0);
	assert_int_equal(sk_merge(&ab, &b), 0);
	assert_int_equal(sk_merge(&ba, &b), 0);
	assert_int_equal(sk_merge(&ba, &a), 0);
	assert_same(&ab, &ba);
	sk_free(&a);
	sk_free(&b);
	sk_free(&ab);
	sk_free(&ba);
}

static void test_sketch_reservoir(void **state)
{
	struct sk_reservoir r, s;
	size_t i, low = 0;

	(void)state;
	sk_reservoir_init(&r, 7);
	sk_reservoir_init(&s, 7);
	for (i = 0; i < 100000; i++) {
		assert_int_equal(sk_reservoir_add(&r, (double)i), 0);
		assert_int_equal(sk_reservoir_add(&s, (double)i), 0);
	}
	assert_int_equal(r.n, SK_RESERVOIR);
	assert_int_equal(r.seen, 100000);
	assert_memory_equal(r.v, s.v, SK_RESERVOIR * sizeof(*r.v)); /* deterministic */
	/* uniform: about half of the sample from the first half of the stream */
	for (i = 0; i < r.n; i++)
		low += r.v[i] < 50000;
	assert_in_range(low, 900, 1100);
	sk_reservoir_free(&r);
	sk_reservoir_free(&s);
}

static void test_sketch_bootstrap(void **state)
{
	double base[1000], now[1000], lo, hi, lo2, hi2;
	uint64_t rng = 41;
	size_t i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		base[i] = 100 * exp(0.3 * normal(&rng));
		now[i] = 150 * exp(0.3 * normal(&rng));
	}
	assert_int_equal(sk_bootstrap_median_ratio(base, 1000, now, 1000, 1000, 5, &lo, &hi), 0);
	assert_true(lo <= hi);
	assert_true(lo > 1.3 && hi < 1.7);
	assert_int_equal(sk_bootstrap_median_ratio(base, 1000, now, 1000, 1000, 5, &lo2, &hi2), 0);
	assert_true(lo == lo2 && hi == hi2);
	/* the same sample: the interval holds 1 */
	assert_int_equal(sk_bootstrap_median_ratio(base, 1000, base, 1000, 1000, 6, &lo, &hi), 0);
	assert_true(lo < 1 && hi > 1);
	/* all zeros on both sides: ratio 1 */
	memset(base, 0, sizeof(base));
	assert_int_equal(sk_bootstrap_median_ratio(base, 10, base, 10, 100, 6, &lo, &hi), 0);
	assert_true(lo == 1 && hi == 1);
	assert_int_equal(sk_bootstrap_median_ratio(base, 0, now, 10, 100, 6, &lo, &hi), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sketch_exact_below_threshold),
	    cmocka_unit_test(test_sketch_relative_error_above_threshold),
	    cmocka_unit_test(test_sketch_bounded),
	    cmocka_unit_test(test_sketch_empty),
	    cmocka_unit_test(test_sketch_merge_is_concatenation),
	    cmocka_unit_test(test_sketch_merge_order),
	    cmocka_unit_test(test_sketch_reservoir),
	    cmocka_unit_test(test_sketch_bootstrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
