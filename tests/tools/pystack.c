// SPDX-License-Identifier: MIT
/*
 * pystack [--once] [--quiet] PID [N] [HZ]: takes N (default 1) stack samples of every thread of the
CPython
 * process PID at HZ (default 100) with user/probe/pyreader.c and prints each one as
 *   # sample I T_NS THREADS
 *   TID FRAME_ADDR MODULE.QUALNAME FILE:DEF_LINE   (outermost frame first, one line each)
 *   TID - torn                                     (a chain that changed while read)
 * then "# stats ..." on stderr: samples, system calls, bytes, torn stacks, code objects, the CPU
 * time of the whole loop (sleeps and wake-ups included) and of pyreader_sample alone (thread CPU
 * clock), per sample; the counts include the samples pyreader_open takes. An interpreter that has
not started yet (EAGAIN) is retried for 5 s, each
 * refusal printed on stderr; --once gives up at the first. --quiet prints no samples (to measure
the reader alone). Exit status 0, or 1 with the reader's
 * one-line reason on stderr. For tests/integration/test_pyreader.py and for debugging.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "probe/pyreader.h"

static uint64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

int main(int argc, char **argv)
{
	struct pyreader_stats st;
	struct pyreader *r = NULL;
	struct timespec next, t0, t1;
	uint64_t in_sample_ns = 0;
	char err[256] = "";
	bool once = false, quiet = false;
	long n = 1, hz = 100, i, tries;
	uint64_t c0, c1;
	pid_t pid;
	int a = 1, e = 0;

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--once"))
			once = true;
		else if (!strcmp(argv[a], "--quiet"))
			quiet = true;
		else
			break;
	}
	if (argc - a < 1 || argc - a > 3) {
		fprintf(stderr, "usage: pystack [--once] [--quiet] PID [N] [HZ]\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[a]);
	if (argc - a > 1)
		n = atol(argv[a + 1]);
	if (argc - a > 2)
		hz = atol(argv[a + 2]);
	if (pid <= 0 || n < 0 || hz <= 0) {
		fprintf(stderr, "pystack: bad PID, N or HZ\n");
		return 2;
	}
	for (tries = 0; tries < 500; tries++) {
		r = pyreader_open(pid, err, sizeof(err));
		if (r || errno != EAGAIN || once)
			break;
		fprintf(stderr, "pystack: EAGAIN: %s\n", err);
		usleep(10000);
	}
	if (!r) {
		fprintf(stderr, "pystack: %s: %s\n", strerrorname_np(errno) ?: "?", err);
		return 1;
	}
	fprintf(stderr, "pystack: CPython %s\n", pyreader_version(r));
	clock_gettime(CLOCK_MONOTONIC, &next);
	c0 = cpu_us();
	for (i = 0; i < n; i++) {
		struct py_sample s;
		size_t t, f;

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		e = pyreader_sample(r, &s);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
		in_sample_ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
				(uint64_t)(t1.tv_nsec - t0.tv_nsec);
		if (e) {
			fprintf(stderr, "pystack: sample: %s\n", strerror(-e));
			break;
		}
		if (quiet)
			goto next;
		printf("# sample %ld %llu %zu\n", i, (unsigned long long)s.t_ns, s.n_threads);
		for (t = 0; t < s.n_threads; t++) {
			const struct py_thread_stack *ts = &s.threads[t];

			if (ts->torn)
				printf("%u - torn\n", ts->tid);
			for (f = 0; f < ts->n_frames; f++) {
				const struct py_frame *fr = &ts->frames[f];

				printf("%u %#llx %s %s:%u%s\n", ts->tid,
				       (unsigned long long)fr->addr, fr->code->name, fr->code->file,
				       fr->code->first_line, fr->generator ? " gen" : "");
			}
		}
	next:
		next.tv_nsec += 1000000000L / hz;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		if (i + 1 < n)
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	c1 = cpu_us();
	fflush(stdout);
	pyreader_get_stats(r, &st);
	fprintf(stderr,
		"# stats samples=%llu syscalls=%llu bytes=%llu torn=%llu returned=%llu "
		"misplaced=%llu replaced=%llu code_objects=%llu errors=%llu cpu_us=%llu "
		"us_per_sample=%.2f in_sample_us=%.2f "
		"syscalls_per_sample=%.2f bytes_per_sample=%.0f\n",
		(unsigned long long)st.samples, (unsigned long long)st.syscalls,
		(unsigned long long)st.bytes_read, (unsigned long long)st.torn,
		(unsigned long long)st.returned, (unsigned long long)st.misplaced,
		(unsigned long long)st.replaced, (unsigned long long)st.code_objects,
		(unsigned long long)st.errors, (unsigned long long)(c1 - c0),
		n ? (double)(c1 - c0) / (double)n : 0.0,
		n ? (double)in_sample_ns / 1e3 / (double)n : 0.0,
		st.samples ? (double)st.syscalls / (double)st.samples : 0.0,
		st.samples ? (double)st.bytes_read / (double)st.samples : 0.0);
	pyreader_free(r);
	return e ? 1 : 0;
}
