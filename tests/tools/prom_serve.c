// SPDX-License-Identifier: MIT
/*
 * prom_serve SPEC FILE: serves FILE as the /metrics body through user/metrics/prom_server.c
 * on SPEC ([ADDR:]PORT, as --prometheus takes it), so that a real Prometheus can scrape the
 * server without bedtrace around it (tests/integration/test_prom_rig.py). FILE is read again
 * for every scrape: a test changes the metrics by rewriting it (rename over it, for an atomic
 * change). Prints "listening PORT" once serving; stops on SIGTERM, SIGINT or end of stdin.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/readfile.h"
#include "metrics/prom_server.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The whole of the file named @ctx, or NULL + errno (the scrape gets a 500). */
static char *render(void *ctx, size_t *len)
{
	return tl_read_file(ctx, len);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct prom_server *s;
	struct pollfd in = {.fd = 0, .events = POLLIN};
	char c;

	if (argc != 3) {
		fprintf(stderr, "usage: prom_serve [ADDR:]PORT FILE\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	s = prom_server_start(argv[1], render, argv[2]);
	if (!s) {
		const char *why = errno == EINVAL ? prom_addr_error(argv[1]) : NULL;

		fprintf(stderr, "prom_serve: %s: %s\n", argv[1], why ? why : strerror(errno));
		return 1;
	}
	printf("listening %d\n", prom_server_port(s));
	fflush(stdout);
	while (!stop) {
		if (poll(&in, 1, 200) > 0 && read(0, &c, 1) <= 0)
			break;
	}
	prom_server_stop(s);
	return 0;
}
