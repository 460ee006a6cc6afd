// SPDX-License-Identifier: MIT
/*
 * Tail calls as gcc -O2 emits them: mid() ends in `jmp leaf` and shares its caller's return
 * slot with leaf(). Prints the sum of top(0..N-1) so a test can check the program still works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int leaf(int x)
{
	usleep(2000);
	return x * 2;
}

__attribute__((noinline)) int mid(int x)
{
	return leaf(x + 1);
}

__attribute__((noinline)) int top(int x)
{
	int r = mid(x);

	return r + 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3, s = 0;

	for (int i = 0; i < n; i++)
		s += top(i);
	printf("%d\n", s);
	return 0;
}
