// SPDX-License-Identifier: MIT
/* Quantile sketch, reservoir and bootstrap of the report. See sketch.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/sketch.h"
#include "util/grow.h"

/* gamma = (1 + alpha) / (1 - alpha): bucket k holds (SK_TINY gamma^(k-1), SK_TINY gamma^k] */
static double sk_gamma(void)
{
	return (1 + SK_ALPHA) / (1 - SK_ALPHA);
}

static int32_t key_of(double v)
{
	static double lg;
	double k;

	if (!lg)
		lg = log(sk_gamma());
	k = ceil(log(v / SK_TINY) / lg);
	if (k < 1)
		return 1;
	if (k > SK_MAX_BUCKETS)
		return SK_MAX_BUCKETS;
	return (int32_t)k;
}

/* The value bucket @k stands for: the one within alpha of every value in it. */
static double value_of(int32_t k)
{
	double g = sk_gamma();

	return SK_TINY * 2 * pow(g, k) / (g + 1);
}

/* Makes bucket @k exist (the range grows with some slack so it rarely moves). */
static int reach(struct sk_sketch *sk, int32_t k)
{
	int32_t lo, hi, old_hi = sk->lo + (int32_t)sk->n_bucket - 1;
	uint64_t *b;

	if (sk->n_bucket && k >= sk->lo && k <= old_hi)
		return 0;
	lo = sk->n_bucket ? (k < sk->lo ? k - 64 : sk->lo) : k - 64;
	hi = sk->n_bucket ? (k > old_hi ? k + 64 : old_hi) : k + 64;
	if (lo < 1)
		lo = 1;
	if (hi > SK_MAX_BUCKETS)
		hi = SK_MAX_BUCKETS;
	b = calloc((size_t)(hi - lo + 1), sizeof(*b));
	if (!b) {
		sk->oom = true;
		return -ENOMEM;
	}
	if (sk->n_bucket)
		memcpy(b + (sk->lo - lo), sk->bucket, sk->n_bucket * sizeof(*b));
	free(sk->bucket);
	sk->bucket = b;
	sk->lo = lo;
	sk->n_bucket = (uint32_t)(hi - lo + 1);
	return 0;
}

static int bucket_add(struct sk_sketch *sk, double v, uint64_t n)
{
	int32_t k;

	if (!(v > SK_TINY)) {
		sk->zero += n;
		return 0;
	}
	k = key_of(v);
	if (reach(sk, k))
		return -ENOMEM;
	sk->bucket[k - sk->lo] += n;
	return 0;
}

/* Moves the exact values into buckets. */
static int to_buckets(struct sk_sketch *sk)
{
	size_t i, n = sk->buckets_mode ? 0 : (size_t)sk->count;

	if (sk->buckets_mode)
		return 0;
	for (i = 0; i < n; i++)
		if (bucket_add(sk, sk->exact[i], 1))
			return -ENOMEM;
	free(sk->exact);
	sk->exact = NULL;
	sk->cap_exact = 0;
	sk->buckets_mode = true;
	return 0;
}

static void note(struct sk_sketch *sk, double v)
{
	if (!sk->count || v < sk->min)
		sk->min = v;
	if (!sk->count || v > sk->max)
		sk->max = v;
}

int sk_add(struct sk_sketch *sk, double v)
{
	if (isnan(v))
		return 0;
	if (!sk->buckets_mode && sk->count < SK_EXACT) {
		if (grow(&sk->exact, &sk->cap_exact, (size_t)sk->count + 1, sizeof(*sk->exact))) {
			sk->oom = true;
			return -ENOMEM;
		}
		sk->exact[sk->count] = v;
		sk->sorted = false;
	} else if (to_buckets(sk) || bucket_add(sk, v, 1)) {
		return -ENOMEM;
	}
	note(sk, v);
	sk->count++;
	sk->sum += v;
	return 0;
}

int sk_merge(struct sk_sketch *into, const struct sk_sketch *from)
{
	uint32_t i;

	if (!from->count)
		return 0;
	if (!into->buckets_mode && !from->buckets_mode && into->count + from->count <= SK_EXACT) {
		if (grow(&into->exact, &into->cap_exact, (size_t)(into->count + from->count),
			 sizeof(*into->exact))) {
			into->oom = true;
			return -ENOMEM;
		}
		memcpy(into->exact + into->count, from->exact, from->count * sizeof(*from->exact));
		into->sorted = false;
	} else {
		if (to_buckets(into))
			return -ENOMEM;
		if (!from->buckets_mode) {
			for (i = 0; i < from->count; i++)
				if (bucket_add(into, from->exact[i], 1))
					return -ENOMEM;
		} else {
			into->zero += from->zero;
			for (i = 0; i < from->n_bucket; i++)
				if (from->bucket[i] &&
				    bucket_add(into, value_of(from->lo + (int32_t)i),
					       from->bucket[i]))
					return -ENOMEM;
		}
	}
	if (!into->count || from->min < into->min)
		into->min = from->min;
	if (!into->count || from->max > into->max)
		into->max = from->max;
	into->count += from->count;
	into->sum += from->sum;
	into->oom |= from->oom;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double sk_quantile(struct sk_sketch *sk, double pct)
{
	uint64_t rank, cum;
	uint32_t i;
	double v;

	if (!sk->count)
		return NAN;
	/* pct * count is exact for integral pct, so an integral rank is not pushed up by rounding
	 */
	v = ceil(pct * (double)sk->count / 100.0);
	rank = v < 1 ? 1 : v > (double)sk->count ? sk->count : (uint64_t)v;
	if (rank == 1)
		return sk->min;
	if (rank == sk->count)
		return sk->max;
	if (!sk->buckets_mode) {
		if (!sk->sorted) {
			qsort(sk->exact, (size_t)sk->count, sizeof(*sk->exact), cmp_double);
			sk->sorted = true;
		}
		return sk->exact[rank - 1];
	}
	if (rank <= sk->zero)
		return sk->min;
	cum = sk->zero;
	for (i = 0; i < sk->n_bucket; i++) {
		cum += sk->bucket[i];
		if (cum >= rank)
			break;
	}
	if (i == sk->n_bucket)
		return sk->max;
	v = value_of(sk->lo + (int32_t)i);
	return v < sk->min ? sk->min : v > sk->max ? sk->max : v;
}

double sk_mean(const struct sk_sketch *sk)
{
	return sk->count ? sk->sum / (double)sk->count : NAN;
}

void sk_free(struct sk_sketch *sk)
{
	free(sk->exact);
	free(sk->bucket);
	memset(sk, 0, sizeof(*sk));
}

uint64_t sk_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A uniform index below @n. */
static size_t below(uint64_t *state, size_t n)
{
	return (size_t)(((unsigned __int128)sk_rand(state) * n) >> 64);
}

void sk_reservoir_init(struct sk_reservoir *r, uint64_t seed)
{
	memset(r, 0, sizeof(*r));
	r->rng = seed;
}

int sk_reservoir_add(struct sk_reservoir *r, double v)
{
	uint64_t j;

	if (r->n < SK_RESERVOIR) {
		if (grow(&r->v, &r->cap, r->n + 1, sizeof(*r->v)))
			return -ENOMEM;
		r->seen++;
		r->v[r->n++] = v;
		return 0;
	}
	r->seen++;
	j = (uint64_t)(((unsigned __int128)sk_rand(&r->rng) * r->seen) >> 64);
	if (j < SK_RESERVOIR)
		r->v[j] = v;
	return 0;
}

void sk_reservoir_free(struct sk_reservoir *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* The nearest-rank median of a resample of sorted @v: counts how often each index is drawn. */
static double resample_median(const double *v, size_t n, uint32_t *cnt, uint64_t *rng)
{
	size_t i, rank = (n + 1) / 2, cum = 0;

	memset(cnt, 0, n * sizeof(*cnt));
	for (i = 0; i < n; i++)
		cnt[below(rng, n)]++;
	for (i = 0; i < n; i++) {
		cum += cnt[i];
		if (cum >= rank)
			return v[i];
	}
	return v[n - 1];
}

int sk_bootstrap_median_ratio(const double *base, size_t n_base, const double *now, size_t n_now,
			      unsigned resamples, uint64_t seed, double *lo, double *hi)
{
	double *b = NULL, *w = NULL, *ratio = NULL;
	size_t n_max = n_base > n_now ? n_base : n_now;
	uint32_t *cnt = NULL;
	uint64_t rng = seed;
	int err = -ENOMEM;
	unsigned i;

	if (!n_base || !n_now || !resamples)
		return -EINVAL;
	b = malloc(n_base * sizeof(*b));
	w = malloc(n_now * sizeof(*w));
	ratio = malloc(resamples * sizeof(*ratio));
	cnt = malloc(n_max * sizeof(*cnt));
	if (!b || !w || !ratio || !cnt)
		goto cleanup;
	memcpy(b, base, n_base * sizeof(*b));
	memcpy(w, now, n_now * sizeof(*w));
	qsort(b, n_base, sizeof(*b), cmp_double);
	qsort(w, n_now, sizeof(*w), cmp_double);
	for (i = 0; i < resamples; i++) {
		double mb = resample_median(b, n_base, cnt, &rng);
		double mw = resample_median(w, n_now, cnt, &rng);

		ratio[i] = mb > 0 ? mw / mb : mw > 0 ? INFINITY : 1.0;
	}
	qsort(ratio, resamples, sizeof(*ratio), cmp_double);
	/* nearest-rank 2.5 % and 97.5 % */
	*lo = ratio[(size_t)ceil(0.025 * resamples) - 1];
	*hi = ratio[(size_t)ceil(0.975 * resamples) - 1];
	err = 0;
cleanup:
	free(b);
	free(w);
	free(ratio);
	free(cnt);
	return err;
}
