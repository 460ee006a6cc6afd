// SPDX-License-Identifier: MIT
/*
 * Benchmark target. f_push starts with `push %rbp` (the kernel emulates it on a uprobe hit),
 * f_sub with `sub $0x18,%rsp` (single-stepped out of line): the two costs a uprobe can have.
 * f_nop5 is f_sub behind a 5-byte nop (what -fpatchable-function-entry=5 puts first), which a
 * kernel with optimized uprobes (6.18, x86-64) turns into a call after the first hit.
 *   bench_target loop push|sub|nop5 N  rounds of N calls, one "ns/call" line per round, forever
 *   bench_target rate push R SEC       R calls per second for SEC seconds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int f_push(int x);
int f_sub(int x);
int f_nop5(int x);
__asm__(".text\n"
	".globl f_push\n.type f_push,@function\n"
	"f_push:\n push %rbp\n mov %rsp,%rbp\n mov %edi,%eax\n pop %rbp\n ret\n"
	".size f_push, .-f_push\n"
	".globl f_sub\n.type f_sub,@function\n"
	"f_sub:\n sub $0x18,%rsp\n mov %edi,%eax\n add $0x18,%rsp\n ret\n"
	".size f_sub, .-f_sub\n"
	".globl f_nop5\n.type f_nop5,@function\n"
	"f_nop5:\n .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n sub $0x18,%rsp\n mov %edi,%eax\n add "
	"$0x18,%rsp\n ret\n"
	".size f_nop5, .-f_nop5\n");

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int (*fn)(int);
	volatile int sink = 0;

	if (argc < 4)
		return 2;
	fn = strcmp(argv[2], "sub") == 0 ? f_sub : strcmp(argv[2], "nop5") == 0 ? f_nop5 : f_push;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "loop") == 0) {
		long n = atol(argv[3]);

		for (;;) {
			double t0 = now_ns();

			for (long i = 0; i < n; i++)
				sink += fn((int)i);
			printf("%.1f\n", (now_ns() - t0) / n);
		}
	} else {
		long rate = atol(argv[3]), secs = argc > 4 ? atol(argv[4]) : 5, done = 0;
		double t0 = now_ns();

		printf("ready\n");
		while (now_ns() - t0 < secs * 1e9) {
			long due = (long)((now_ns() - t0) / 1e9 * rate);

			for (; done < due; done++)
				sink += fn((int)done);
			usleep(200);
		}
		printf("calls %ld\n", done);
	}
	return sink == 42;
}
