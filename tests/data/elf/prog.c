// SPDX-License-Identifier: MIT
/*
 * Target for the ELF symbol tests, built as a PIE, a non-PIE and a stripped -rdynamic executable.
 * It has global, weak, static and IFUNC functions so each kind of symbol is exercised.
 */
#include <stdio.h>
#include <stdlib.h>

#include "marker.h"

BT_DEFINE_MARKER(bt_marker);

__attribute__((noinline)) int bt_retrieve_documents(int n)
{
	return n * 3 + 1;
}

__attribute__((noinline)) int bt_assemble_prompt(int n)
{
	return n + 40;
}

__attribute__((noinline)) static int bt_local_helper(int n)
{
	return n ^ 0x55;
}

__attribute__((noinline, weak)) int bt_weak_hook(int n)
{
	return n - 1;
}

static int bt_fast_generic(int n)
{
	return n * 2;
}

/* The resolver runs at load time; the IFUNC symbol's value is the resolver, not the target. */
static int (*bt_fast_resolver(void))(int)
{
	return bt_fast_generic;
}

int bt_fast(int n) __attribute__((ifunc("bt_fast_resolver")));

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : argc;

	n = bt_retrieve_documents(n);
	n = bt_assemble_prompt(n);
	n = bt_local_helper(n);
	n = bt_weak_hook(n);
	n = bt_fast(n);
	printf("%d\n", n);
	return 0;
}
