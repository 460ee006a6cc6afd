// SPDX-License-Identifier: MIT
/*
 * Fixture for compiler clones and fragments, built with -O2: GCC moves the unlikely, throwing
 * path of shop::Cart::inner into a "[clone .cold]" fragment that is jumped to, and specializes
 * scale() (C++) and c_scale() (C name) for their constant argument into ".constprop.0" clones
 * that are called; c_inner gets a C-named ".cold" fragment.
 */
#include <cstdio>
#include <stdexcept>

namespace shop {
struct Cart {
	int items[8];
	int inner(int i);
};

__attribute__((noinline)) int Cart::inner(int i)
{
	if (__builtin_expect(i < 0 || i >= 8, 0))
		throw std::out_of_range("bad index");
	return items[i] * 3;
}
} // namespace shop

extern "C" __attribute__((noinline)) int c_inner(int i)
{
	if (__builtin_expect(i > 1000, 0)) {
		fprintf(stderr, "c_inner: %d is out of range\n", i);
		throw std::out_of_range("c_inner");
	}
	return i * 2;
}

extern "C" {
static __attribute__((noinline)) int c_scale(int x, int factor)
{
	int acc = 1;

	for (int k = 0; k < x; k++)
		acc ^= k * factor + (acc << 2);
	return acc;
}
}

static __attribute__((noinline)) int scale(int x, int factor)
{
	int acc = 0;

	for (int k = 0; k < x; k++)
		acc += k * factor + (acc >> 3);
	return acc;
}

int main(int argc, char **argv)
{
	shop::Cart cart = {{1, 2, 3, 4, 5, 6, 7, 8}};

	(void)argv;
	return cart.inner(argc) + c_inner(argc) + scale(argc, 7) + scale(argc + 1, 7) +
	       c_scale(argc, 5) + c_scale(argc + 2, 5);
}
