// SPDX-License-Identifier: MIT
/*
 * Processes for scripts/bench/fleet_bench.py; the bench runs copies of this file (each its own
 * inode, so `-e` selects one role and not the others).
 *   fleet_target idle               prints "ready", then sleeps until killed
 *   fleet_target once               calls fleet_work() once and exits (the churn process)
 *   fleet_target writes N           rounds of N one-byte write()s to /dev/null, one "ns/call"
 *                                   line per round, forever
 *   fleet_target launch R SEC PROG  fork+exec `PROG once` R times a second (paced to the clock,
 *                                   not to the previous child) for SEC seconds; prints each
 *                                   child's pid, then "launched N in S s, late L", where L
 *                                   counts starts more than 10 ms behind their time
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The traced function: not inlined, with a side effect the compiler must keep. */
__attribute__((noinline)) int fleet_work(int x)
{
	__asm__ volatile("" : : "r"(x) : "memory");
	return x + 1;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int writes(long n)
{
	int fd = open("/dev/null", O_WRONLY);
	char c = 'x';

	if (fd < 0 || n <= 0)
		return 1;
	for (;;) {
		double t0 = now_ns();

		for (long i = 0; i < n; i++)
			if (write(fd, &c, 1) != 1)
				return 1;
		printf("%.1f\n", (now_ns() - t0) / n);
	}
}

static void reap(long *running)
{
	while (*running && waitpid(-1, NULL, WNOHANG) > 0)
		(*running)--;
}

static int launch(double rate, double secs, const char *prog)
{
	long started = 0, late = 0, running = 0;
	double t0 = now_ns(), end = t0 + secs * 1e9;

	for (;;) {
		double due = t0 + started * 1e9 / rate, now = now_ns();
		pid_t pid;

		if (due >= end)
			break;
		if (due > now) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(due - now)};

			nanosleep(&ts, NULL);
		} else if (now - due > 10e6) {
			late++;
		}
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execl(prog, prog, "once", (char *)NULL);
			_exit(127);
		}
		printf("%d\n", (int)pid);
		started++;
		running++;
		reap(&running);
	}
	while (running && wait(NULL) > 0)
		running--;
	printf("launched %ld in %.2f s, late %ld\n", started, (now_ns() - t0) / 1e9, late);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "idle") == 0) {
		printf("ready\n");
		for (;;)
			pause();
	}
	if (argc >= 2 && strcmp(argv[1], "once") == 0)
		return fleet_work(argc) != 3; /* argc is 2: exits 0 */
	if (argc >= 3 && strcmp(argv[1], "writes") == 0)
		return writes(atol(argv[2]));
	if (argc >= 5 && strcmp(argv[1], "launch") == 0)
		return launch(atof(argv[2]), atof(argv[3]), argv[4]);
	fprintf(stderr, "usage: fleet_target idle | once | writes N | launch RATE SECS PROG\n");
	return 2;
}
