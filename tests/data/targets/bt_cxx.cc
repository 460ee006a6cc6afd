// SPDX-License-Identifier: MIT
/* C++ integration-test target: namespaced methods and an exception thrown through traced frames. */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

namespace shop {
class Cart {
      public:
	NOINLINE int total(int items)
	{
		return items * price_;
	}

      private:
	int price_ = 3;
};
} // namespace shop

NOINLINE void thrower(int x)
{
	if (x)
		throw std::runtime_error("boom");
}

NOINLINE void middle(int x)
{
	thrower(x);
}

NOINLINE int outer(int x)
{
	try {
		middle(x);
	} catch (const std::exception &e) {
		return 7;
	}
	return 0;
}

NOINLINE int after_catch(int r)
{
	return r + 1;
}

/*
 * "throwloop SEC": for SEC seconds loop_top → loop_outer → loop_mid → loop_inner, where inner
 * throws and outer catches; then loop_top itself is left by an exception main catches, so the
 * return slot of the one long-lived traced frame is read by the unwinder at the very end.
 */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOINLINE void loop_inner(int i)
{
	if (i >= 0)
		throw std::runtime_error("inner");
}

NOINLINE int loop_mid(int i)
{
	loop_inner(i);
	return 1;
}

NOINLINE int loop_outer(int i)
{
	try {
		return loop_mid(i);
	} catch (const std::exception &e) {
		return 0;
	}
}

NOINLINE long loop_top(double seconds, long *throws)
{
	double end = now_s() + seconds;
	long caught = 0;

	while (now_s() < end) {
		++*throws;
		caught += loop_outer((int)(*throws & 0xffff)) == 0;
	}
	throw std::runtime_error(std::to_string(caught));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "method";

	if (strcmp(mode, "method") == 0) {
		shop::Cart c;

		std::printf("total %d\n", c.total(4));
	} else if (strcmp(mode, "exception") == 0) {
		int r = 0;

		for (int i = 0; i < 3; i++)
			r += outer(1);
		std::printf("r=%d after=%d\n", r, after_catch(r));
	} else if (strcmp(mode, "throwloop") == 0) {
		long throws = 0;

		std::printf("start pid=%d\n", (int)getpid());
		std::fflush(stdout);
		try {
			loop_top(argc > 2 ? atof(argv[2]) : 2.0, &throws);
		} catch (const std::exception &e) {
			std::printf("done throws=%ld caught=%s\n", throws, e.what());
		}
	}
	return 0;
}
