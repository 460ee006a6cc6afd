// SPDX-License-Identifier: MIT
/*
 * Integration-test target. Each mode exercises one tracing situation with functions whose
 * names, nesting, return values and durations the tests know exactly.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

int lib_add(int a, int b);

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts))
		;
}

/* A call that takes a known time (metrics tests: its latency histogram). */
NOINLINE int nap(long ms)
{
	sleep_ms(ms);
	return (int)ms;
}

NOINLINE long level3(long x)
{
	return x * 2;
}

NOINLINE long level2(long x)
{
	return level3(x) + 1;
}

NOINLINE long level1(long x)
{
	return level2(x) + level2(x + 1);
}

static void *nested_thread(void *arg)
{
	long id = (long)arg;

	/* staggered so each thread's calls are distinct in time too */
	sleep_ms(5 * id);
	printf("thread %ld: %ld\n", id, level1(id));
	return NULL;
}

NOINLINE long fact(long n)
{
	return n <= 1 ? 1 : n * fact(n - 1);
}

NOINLINE int sleep_50ms(void)
{
	sleep_ms(50);
	return 50;
}

NOINLINE void inner_exit(int code)
{
	fflush(stdout);
	exit(code);
}

NOINLINE void outer_exit(int code)
{
	inner_exit(code);
}

NOINLINE void thread_work_exit(void)
{
	pthread_exit(NULL);
}

static void *exiting_thread(void *arg)
{
	(void)arg;
	thread_work_exit();
	return NULL;
}

NOINLINE int after_thread(void)
{
	return 3;
}

static jmp_buf jb;

NOINLINE void lj_inner(void)
{
	longjmp(jb, 1);
}

NOINLINE void lj_middle(void)
{
	lj_inner();
}

NOINLINE int lj_after(void)
{
	return 11;
}

NOINLINE int lj_outer(void)
{
	if (setjmp(jb) == 0)
		lj_middle();
	return lj_after();
}

NOINLINE int tick(int i)
{
	return i;
}

/* flood2: one of two threads making tick() calls as fast as they can. */
static void *flood_thread(void *arg)
{
	long n = (long)arg, sum = 0;

	for (long i = 0; i < n; i++)
		sum += tick((int)i);
	return (void *)sum;
}

NOINLINE int use_lib(void)
{
	return lib_add(2, 3);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Calls tick() as fast as it can for @seconds: a flood of traced calls under one open call,
 * which then rests 1.5 s, so that its own return finds a tracer that has caught up.
 */
NOINLINE long spin(double seconds)
{
	double end = now_s() + seconds;
	long sum = 0;
	int i = 0;

	while (now_s() < end)
		for (int j = 0; j < 1000; j++)
			sum += tick(i++);
	sleep_ms(1500);
	return sum;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "nested";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "nested") == 0) {
		pthread_t th[3];
		long i;

		for (i = 0; i < 3; i++)
			pthread_create(&th[i], NULL, nested_thread, (void *)(i + 1));
		for (i = 0; i < 3; i++)
			pthread_join(th[i], NULL);
	} else if (strcmp(mode, "recurse") == 0) {
		printf("fact %ld\n", fact(argc > 2 ? atol(argv[2]) : 5));
	} else if (strcmp(mode, "sleep") == 0) {
		printf("slept %d\n", sleep_50ms());
	} else if (strcmp(mode, "lib") == 0) {
		printf("lib %d\n", use_lib());
	} else if (strcmp(mode, "exit") == 0) {
		outer_exit(3);
	} else if (strcmp(mode, "thread_exit") == 0) {
		pthread_t th;

		pthread_create(&th, NULL, exiting_thread, NULL);
		pthread_join(th, NULL);
		printf("after %d\n", after_thread());
	} else if (strcmp(mode, "longjmp") == 0) {
		printf("lj %d\n", lj_outer());
	} else if (strcmp(mode, "loop") == 0) {
		/* loop N MS: N ticks MS ms apart; prints "ready" first and "done SUM" last */
		int n = argc > 2 ? atoi(argv[2]) : 100, ms = argc > 3 ? atoi(argv[3]) : 10;
		long sum = 0;

		printf("ready %d\n", (int)getpid());
		for (int i = 0; i < n; i++) {
			sum += tick(i);
			sleep_ms(ms);
		}
		printf("done %ld\n", sum);
	} else if (strcmp(mode, "naps") == 0) {
		/* naps N MS HOLD: N calls of nap(MS), "done", then HOLD seconds more alive */
		int n = argc > 2 ? atoi(argv[2]) : 10, ms = argc > 3 ? atoi(argv[3]) : 30;
		long sum = 0;

		for (int i = 0; i < n; i++)
			sum += nap(ms);
		printf("done %ld\n", sum);
		sleep_ms(argc > 4 ? atol(argv[4]) * 1000 : 0);
	} else if (strcmp(mode, "wait") == 0) {
		/* wait FILE: spin until FILE exists, then make one traced call chain */
		printf("ready %d\n", (int)getpid());
		while (argc > 2 && access(argv[2], F_OK))
			sleep_ms(10);
		printf("result %ld\n", level1(7));
	} else if (strcmp(mode, "spin") == 0) {
		/* spin SECONDS: prints "ready", then floods tick() calls inside spin() */
		printf("ready %d\n", (int)getpid());
		printf("spun %ld\n", spin(argc > 2 ? atof(argv[2]) : 10));
	} else if (strcmp(mode, "flood2") == 0) {
		/* flood2 N: prints "ready", waits 0.3 s, then two threads make N tick() calls each
		 */
		long n = argc > 2 ? atol(argv[2]) : 1000000;
		pthread_t th[2];

		printf("ready %d\n", (int)getpid());
		sleep_ms(300);
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, flood_thread, (void *)n);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		printf("calls %ld\n", 2 * n);
	} else if (strcmp(mode, "status") == 0) {
		/* status N: exits with N after one traced call; status kill SIG: dies by SIG */
		printf("lj %d\n", lj_after());
		if (argc > 3 && strcmp(argv[2], "kill") == 0)
			raise(atoi(argv[3]));
		return argc > 2 ? atoi(argv[2]) : 0;
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
