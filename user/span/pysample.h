/* SPDX-License-Identifier: MIT */
/*
 * Python function spans from wall-clock stack samples (--python GLOB, --sample-hz N): a thread of
 * bedtrace's own reads every thread's stack of each traced CPython interpreter at a fixed rate
 * (probe/pyreader: process_vm_readv, the target never stops) and turns the calls whose
 * `module.qualname` matches a glob into spans. A span starts at the first sample that sees the call
 * on its thread's stack and ends at the first sample that no longer sees it: ± one period. The
 * same call is told from a later call of the same function by its frame address, its caller's
 * instruction and the identity of every frame below it.
 *
 * The sampled spans are the outer layer of a trace: an exact span with no traced call around it
 * (an HTTP or Bedrock request, a traced native function) asks pysampler_outer() for the innermost
 * sampled call open on its thread when it started, and nests there.
 */
#ifndef BT_PYSAMPLE_H
#define BT_PYSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "span/stitch.h"

#define PYSAMPLE_DEFAULT_HZ 1000
#define PYSAMPLE_MAX_HZ 10000
#define PYSAMPLE_MAX_GLOBS 64

struct pysampler_opts {
	const char *const *globs; /* matched against "module.qualname" (fnmatch, '*' spans dots) */
	size_t n_globs;
	unsigned hz; /* samples per second; 0: PYSAMPLE_DEFAULT_HZ */
};

struct pysampler_stats {
	uint64_t samples;	/* sampling rounds */
	uint64_t late;		/* rounds skipped because the previous one overran its period */
	uint64_t max_gap_ns;	/* longest time between two rounds (a period, when on time) */
	uint64_t thread_stacks; /* thread stacks read */
	uint64_t torn;		/* of them, read while changing (no information that round) */
	uint64_t mixed; /* stacks read with frames of two calls (misplaced, replaced): read again */
	uint64_t glitches;  /* calls one sample showed and the next took back (dropped) */
	uint64_t spans;	    /* sampled spans built */
	uint64_t seen_once; /* of them, calls seen by a single sample (shorter ones are missed) */
	uint64_t nested;    /* exact spans placed inside a sampled one */
	uint64_t syscalls;  /* reads of target memory */
	uint64_t sampler_cpu_ns; /* CPU time of the sampling thread */
	unsigned processes;	 /* interpreters sampled */
};

struct pysampler;

/*
 * Returns a sampler or NULL (errno). Spans go to @sink with the resource @resource gives for their
 * process; @stitcher keeps the GenAI totals of traces whose root is a sampled call.
 */
struct pysampler *pysampler_new(const struct pysampler_opts *o, struct stitcher *stitcher,
				span_sink_fn sink, resource_fn resource, void *ctx);
/* How sure the caller is that a process is a Python interpreter. */
enum pysample_when {
	PYSAMPLE_NOW,	/* -p PID: it is one now, or it is refused */
	PYSAMPLE_SOON,	/* launched: it becomes one in a moment (libpython mapped, a shell execs
			   python); a warning if it never does */
	PYSAMPLE_MAYBE, /* a followed child: sampled if it is or becomes one, silently not else */
};

/*
 * Samples process @pid from now on. Returns 0, or -errno with a one-line reason in @err (not a
 * CPython interpreter, unsupported version) when @when is PYSAMPLE_NOW or the process is gone.
 */
int pysampler_add(struct pysampler *ps, pid_t pid, enum pysample_when when, char *err,
		  size_t errlen);
/*
 * Process @pid executed a program at @t_ns (unix): the calls of the old one end
 * (bedtrace.end_reason exec) and the new one is sampled if it is an interpreter.
 */
void pysampler_exec(struct pysampler *ps, pid_t pid, uint64_t t_ns);
/* Starts the sampling thread. 0 or -errno. */
int pysampler_start(struct pysampler *ps);
/* The event loop's tick: builds and sinks the spans of calls that ended. */
void pysampler_drain(struct pysampler *ps);
/*
 * An outer_fn (span/stitch.h): the innermost sampled call open on thread @tid of @pid from @t_ns
 * to @end_ns (unix). Waits for the sampler to have looked past @t_ns (at most a few periods).
 */
uint64_t pysampler_outer(void *pysampler, uint32_t pid, uint32_t tid, uint64_t t_ns,
			 uint64_t end_ns, uint8_t *trace_id, uint8_t *parent_id);
/* Stops sampling; calls still open end now as incomplete spans; everything is sunk. */
void pysampler_stop(struct pysampler *ps);
void pysampler_get_stats(const struct pysampler *ps, struct pysampler_stats *st);

struct py_sample;
/*
 * For tests and replays: process @pid is sampled by the caller, not by the sampling thread;
 * pysampler_feed() hands it each sample (what the thread does with pyreader_sample's).
 */
int pysampler_track(struct pysampler *ps, pid_t pid);
void pysampler_feed(struct pysampler *ps, pid_t pid, const struct py_sample *smp);
void pysampler_free(struct pysampler *ps);

#endif
