/* SPDX-License-Identifier: MIT */
/*
 * The report's quantiles: a mergeable sketch that keeps up to SK_EXACT values exactly (percentiles
 * are then the exact nearest-rank values) and above that counts them in logarithmic buckets of
 * relative width SK_ALPHA (DDSketch), so a percentile is within SK_ALPHA of the exact nearest-rank
 * value whatever the count, in bounded memory (at most SK_EXACT doubles, then at most
 * SK_MAX_BUCKETS counters). Merging two sketches gives the sketch of the concatenation.
 *
 * Also the reservoir (a uniform sample of bounded size) and the bootstrap of a ratio of medians
 * that regressions are judged by.
 */
#ifndef BT_REPORT_SKETCH_H
#define BT_REPORT_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SK_EXACT 4096
#define SK_ALPHA 0.005
/* Values at or below SK_TINY (and negative ones) count as 0 once the sketch holds buckets. */
#define SK_TINY 1e-9
/* Buckets cover SK_TINY up to about 1e15 (gamma^SK_MAX_BUCKETS above SK_TINY); larger values
 * count in the last bucket and are reported as at most the maximum. */
#define SK_MAX_BUCKETS 5600

struct sk_sketch {
	uint64_t count;
	double min, max, sum;
	double *exact; /* NULL once in bucket mode */
	size_t cap_exact;
	bool sorted;
	bool buckets_mode;
	uint64_t zero;	   /* bucket mode: values <= SK_TINY */
	uint64_t *bucket;  /* counts of keys lo .. lo + n_bucket - 1 */
	int32_t lo;	   /* key of bucket[0] */
	uint32_t n_bucket; /* 0: none yet */
	bool oom;	   /* an allocation failed: values were lost */
};

/* Adds @v. Returns 0 or -ENOMEM (sk->oom set, the value not counted). */
int sk_add(struct sk_sketch *sk, double v);
/* Adds every value of @from to @into (the sketch of both). Returns 0 or -ENOMEM. */
int sk_merge(struct sk_sketch *into, const struct sk_sketch *from);
/*
 * The nearest-rank @pct percentile (0 < @pct <= 100: the value of rank ceil(pct/100 * count)
 * in ascending order): exact while count <= SK_EXACT, else within SK_ALPHA relative error.
 * NaN when empty. Not const: sorts the exact values in place.
 */
double sk_quantile(struct sk_sketch *sk, double pct);
double sk_mean(const struct sk_sketch *sk); /* NaN when empty */
void sk_free(struct sk_sketch *sk);

/* A uniform sample of at most SK_RESERVOIR values (Algorithm R) with its own generator. */
#define SK_RESERVOIR 2000

struct sk_reservoir {
	double *v;
	size_t n, cap;
	uint64_t seen;
	uint64_t rng;
};

/* A deterministic generator step (splitmix64). */
uint64_t sk_rand(uint64_t *state);
/* Starts an empty reservoir whose choices follow @seed. */
void sk_reservoir_init(struct sk_reservoir *r, uint64_t seed);
int sk_reservoir_add(struct sk_reservoir *r, double v);
void sk_reservoir_free(struct sk_reservoir *r);

/*
 * The bootstrap percentile interval (2.5 %, 97.5 %) of median(now) / median(base) from
 * @resamples resamples of each sample, with generator @seed. Returns 0, -EINVAL (an empty
 * sample) or -ENOMEM. A resample whose base median is 0 gives +inf (or 1 when both are 0).
 */
int sk_bootstrap_median_ratio(const double *base, size_t n_base, const double *now, size_t n_now,
			      unsigned resamples, uint64_t seed, double *lo, double *hi);

#endif
