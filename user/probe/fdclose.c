// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "probe/fdclose.h"

/* Enough closes in flight that a few hundred links cost a handful of grace periods. */
#define CLOSERS_MAX 64
#define CLOSER_STACK (64u << 10)

struct close_job {
	int *fds;
	size_t n;
	size_t next; /* __atomic: the next index to close */
};

static void close_some(struct close_job *j)
{
	size_t i;

	while ((i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n) {
		if (j->fds[i] >= 0)
			close(j->fds[i]);
		j->fds[i] = -1;
	}
}

static void *closer(void *arg)
{
	close_some(arg);
	return NULL;
}

void fds_close_concurrently(int *fds, size_t n)
{
	struct close_job job = {.fds = fds, .n = n};
	pthread_t th[CLOSERS_MAX];
	size_t want = n < CLOSERS_MAX ? n : CLOSERS_MAX, started = 0, i;
	pthread_attr_t attr;
	sigset_t all, old;

	if (n > 1 && !pthread_attr_init(&attr)) {
		pthread_attr_setstacksize(&attr, CLOSER_STACK);
		/* signals stay with the main thread */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		/* the calling thread is one of the closers */
		while (started + 1 < want && !pthread_create(&th[started], &attr, closer, &job))
			started++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	close_some(&job);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}
