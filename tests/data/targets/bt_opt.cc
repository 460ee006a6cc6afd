// SPDX-License-Identifier: MIT
/*
 * A C++ program built the way programs ship (g++ -O2): exceptions thrown through several traced
 * frames, throw paths GCC moves into `[clone .cold]` fragments, an interprocedural clone
 * (`[clone .constprop.0]` / `.isra.0`) and a tail call. Modes:
 *   loop SECONDS   top -> outer -> mid -> inner until SECONDS pass; inner throws every 3rd call,
 *                  outer catches; prints "calls=N caught=M" and exits 0
 *   once N         N iterations of the same, then the same line
 *   wait           prints its pid, then runs `loop 3600` until killed or its stdin closes
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unistd.h>

struct Err {
	int code;
};

namespace shop {
struct Cart {
	int items[8];
	int n;
	__attribute__((noinline)) int inner(int x);
};

volatile int sink;

__attribute__((noinline)) int Cart::inner(int x)
{
	if (__builtin_expect(x % 3 == 0, 0)) {
		sink = x;
		throw Err{x};
	}
	return items[x & 7] + x;
}

/* Only ever called with k == 3: GCC specializes it into a clone. */
static __attribute__((noinline)) int scale(const Cart &c, int k)
{
	return c.items[1] * k + c.n;
}

__attribute__((noinline)) int tail_target(int x)
{
	sink = x;
	return x * 2;
}

/* Ends in `jmp tail_target`. */
__attribute__((noinline)) int tail_caller(int x)
{
	return tail_target(x + 1);
}
} // namespace shop

static shop::Cart cart = {{1, 2, 3, 4, 5, 6, 7, 8}, 8};
static long caught;

__attribute__((noinline)) int mid(int x)
{
	int r = cart.inner(x);
	shop::sink = r;
	return r + shop::scale(cart, 3);
}

__attribute__((noinline)) int outer(int x)
{
	try {
		return mid(x) + 1;
	} catch (const Err &e) {
		caught++;
		return -e.code;
	}
}

__attribute__((noinline)) int top(int x)
{
	int r = outer(x);
	return r + shop::tail_caller(x);
}

static double now_s()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "once";
	long arg = argc > 2 ? atol(argv[2]) : 10;
	long calls = 0;
	double end;

	if (strcmp(mode, "wait") == 0) {
		printf("%d\n", (int)getpid());
		fflush(stdout);
		mode = "loop";
		arg = 3600;
	}
	end = now_s() + (double)arg;
	for (long i = 1;; i++) {
		if (strcmp(mode, "once") == 0 ? i > arg : now_s() >= end)
			break;
		shop::sink = top((int)i);
		calls++;
		if (strcmp(mode, "loop") == 0)
			usleep(1000);
	}
	printf("calls=%ld caught=%ld\n", calls, caught);
	return 0;
}
