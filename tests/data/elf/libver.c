// SPDX-License-Identifier: MIT
/*
 * Shared library with a SONAME and symbol versions: foo exists as foo@VER_1 (old ABI) and
 * foo@@VER_2 (default), bar only in VER_1, baz only in VER_2; ver_internal is hidden by the
 * version script so it stays in .symtab only.
 */
#include "marker.h"

BT_DEFINE_MARKER(ver_marker);

__attribute__((noinline)) int foo_v1(int x)
{
	return x + 1;
}

__attribute__((noinline)) int foo_v2(int x, int y)
{
	return x + y + 2;
}

__asm__(".symver foo_v1, foo@VER_1");
__asm__(".symver foo_v2, foo@@VER_2");

__attribute__((noinline)) int ver_internal(int x)
{
	return x * 7;
}

int bar(int x)
{
	return ver_internal(x) + 3;
}

int baz(int x)
{
	return foo_v2(x, 1) - 4;
}
