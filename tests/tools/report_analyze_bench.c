// SPDX-License-Identifier: MIT
/*
 * How long rp_analyze takes on a synthetic dataset (no file reading): N spans in traces of 10
 * (a server root, internal steps, a streamed model call with tokens and cost, a tool call),
 * 4 services on 8 hosts, some errors and throttles. Prints the time of rp_analyze alone, with
 * --by host, and against a baseline of a tenth of the size, and the peak resident memory
 * before and after (the difference is the analysis's own).
 *
 *   report_analyze_bench [SPANS]     (default 3000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"
#include "report/sketch.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The peak resident set so far, in MiB (VmHWM), or -1. */
static long peak_mib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

static const char *const steps[] = {"retrieve", "rank",		"build_prompt", "parse_reply",
				    "render",	"cache_lookup", "validate"};

/* One span of trace @t; @s is its id within the trace, @p its parent's (0: root). */
static struct rp_span *add(struct rp_dataset *ds, uint64_t t, uint64_t s, uint64_t p,
			   uint64_t start, uint64_t dur, rp_str name, rp_str svc, rp_str host)
{
	struct rp_span *sp = rp_add_span(ds);

	if (!sp)
		return NULL;
	memcpy(sp->trace_id, &t, sizeof(t));
	sp->trace_id[15] = 0x5a;
	memcpy(sp->span_id, &s, sizeof(s));
	if (p)
		memcpy(sp->parent_id, &p, sizeof(p));
	sp->start_ns = start;
	sp->end_ns = start + dur;
	sp->name = name;
	sp->service = svc;
	sp->host = host;
	sp->pid = 1000 + (uint32_t)(host % 5);
	sp->kind = 1;
	return sp;
}

static int build(struct rp_dataset *ds, size_t n, uint64_t seed, double slow)
{
	rp_str names[16], svcs[4], hosts[8], model, op;
	uint64_t rng = seed, t, base = 1700000000000000000ull;
	char buf[32];
	size_t i;

	for (i = 0; i < 7; i++)
		names[i] = rp_intern(ds, steps[i]);
	names[7] = rp_intern(ds, "POST /v1/answer");
	names[8] = rp_intern(ds, "chat claude-3-haiku");
	names[9] = rp_intern(ds, "GET /tools/search");
	for (i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "service-%zu", i);
		svcs[i] = rp_intern(ds, buf);
	}
	for (i = 0; i < 8; i++) {
		snprintf(buf, sizeof(buf), "host-%02zu", i);
		hosts[i] = rp_intern(ds, buf);
	}
	model = rp_intern(ds, "anthropic.claude-3-haiku");
	op = rp_intern(ds, "chat");
	for (t = 1; ds->n_spans + 10 <= n; t++) {
		uint64_t r = sk_rand(&rng), start = base + t * 1000000, at = start;
		rp_str svc = svcs[r % 4], host = hosts[(r >> 8) % 8];
		uint64_t model_ns = (uint64_t)(slow * (double)(200000000 + (r >> 20) % 800000000));
		struct rp_span *sp;
		uint64_t s;

		sp = add(ds, t, 1, 0, start, model_ns + 60000000, names[7], svc, host);
		if (!sp)
			return -1;
		sp->kind = 2;
		if (!(r % 97))
			sp->flags |= RP_ERROR;
		for (s = 2; s <= 7; s++) {
			uint64_t d = 1000000 + sk_rand(&rng) % 9000000;

			if (!add(ds, t, s, s == 3 ? 2 : 1, at, d, names[s - 2], svc, host))
				return -1;
			at += d / 2;
		}
		sp = add(ds, t, 8, 1, at, model_ns, names[8], svc, host);
		if (!sp)
			return -1;
		sp->kind = 3;
		sp->model = model;
		sp->operation = op;
		sp->flags |= RP_HAS_TOKENS | RP_HAS_COST | RP_HAS_TTFC;
		sp->input_tokens = 500 + (int64_t)(r % 1500);
		sp->output_tokens = 100 + (int64_t)(r % 300);
		sp->cost_usd = 0.0001 * (double)sp->input_tokens / 100;
		sp->ttfc_s = (float)(model_ns / 4) / 1e9f;
		if (!(r % 501))
			sp->flags |= RP_THROTTLED | RP_ERROR;
		if (!add(ds, t, 9, 8, at + 1000, 500000, names[5], svc, host) ||
		    !add(ds, t, 10, 1, at + model_ns, 3000000, names[9], svc, host))
			return -1;
	}
	return ds->oom ? -1 : 0;
}

static double timed(const struct rp_dataset *ds, const struct rp_analyze_opts *o,
		    struct rp_result *r)
{
	double t0 = now_s();

	if (rp_analyze(ds, o, r)) {
		fprintf(stderr, "rp_analyze failed\n");
		exit(1);
	}
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 3000000;
	struct rp_dataset ds = {0}, base = {0};
	struct rp_analyze_opts o = {0};
	struct rp_result r;
	double t0 = now_s(), dt;

	if (build(&ds, n, 1, 1.0) || build(&base, n / 10, 2, 0.8)) {
		fprintf(stderr, "out of memory building the dataset\n");
		return 1;
	}
	printf("built %zu spans (+%zu baseline) in %.2f s, peak %ld MiB\n", ds.n_spans,
	       base.n_spans, now_s() - t0, peak_mib());
	dt = timed(&ds, &o, &r);
	printf("rp_analyze: %.2f s (%llu spans, %llu traces, %zu operations, %zu findings)\n", dt,
	       (unsigned long long)r.spans, (unsigned long long)r.traces, r.n_ops, r.n_findings);
	rp_result_free(&r);
	o.by[0] = "host";
	o.n_by = 1;
	dt = timed(&ds, &o, &r);
	printf("rp_analyze --by host: %.2f s (%zu operations)\n", dt, r.n_ops);
	rp_result_free(&r);
	o.n_by = 0;
	o.baseline = &base;
	dt = timed(&ds, &o, &r);
	printf("rp_analyze --baseline: %.2f s (%zu regressions, %zu significant first: %s)\n", dt,
	       r.n_regressions, r.n_regressions,
	       r.n_regressions && r.regressions[0].significant ? "yes" : "no");
	rp_result_free(&r);
	printf("peak resident with the analyses: %ld MiB\n", peak_mib());
	rp_dataset_free(&ds);
	rp_dataset_free(&base);
	return 0;
}
