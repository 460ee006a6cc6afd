// SPDX-License-Identifier: MIT
/* A shared library whose function the tests probe by library name. */
__attribute__((noinline)) int lib_add(int a, int b)
{
	return a + b;
}
