// SPDX-License-Identifier: MIT
/*
 * Forks and execs for the follow tests. Modes:
 *   fork N        calls work() once, forks N children that each call work() twice and exit
 *                 with status 3, waits for them, calls work() again; prints "children=N"
 *   exec PROG ... calls work() once, then executes PROG with the remaining arguments
 *   forkexec PROG ... forks one child that calls work() and executes PROG ...; waits for it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) int work(int x)
{
	usleep(1000);
	return x + 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fork";
	int n = argc > 2 ? atoi(argv[2]) : 2, ok = 0;

	work(0);
	if (strcmp(mode, "exec") == 0 && argc > 2) {
		execv(argv[2], &argv[2]);
		perror("execv");
		return 127;
	}
	if (strcmp(mode, "forkexec") == 0 && argc > 2) {
		pid_t p = fork();
		int st;

		if (p == 0) {
			work(1);
			execv(argv[2], &argv[2]);
			_exit(127);
		}
		waitpid(p, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	for (int i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0) {
			work(10 + i);
			work(20 + i);
			_exit(3);
		}
	}
	for (int i = 0; i < n; i++) {
		int st;

		if (wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3)
			ok++;
	}
	work(1);
	printf("children=%d\n", ok);
	return 0;
}
