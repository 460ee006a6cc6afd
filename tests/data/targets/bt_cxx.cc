// SPDX-License-Identifier: MIT
/* C++ integration-test target: namespaced methods and an exception thrown through traced frames. */
#include <cstdio>
#include <cstring>
#include <stdexcept>

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
	}
	return 0;
}
