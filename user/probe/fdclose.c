// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "probe/fdclose.h"

/* Enough closes in flight that a few hundred links cost a handful of grace periods. */
#define CLOSERS_MAX 64
#define CLOSER_STACK (64u << 10)

struct close_job {
	void *items;
	void (*release)(void *items, size_t i); /* releases item @i */
	size_t n;
	size_t next; /* __atomic: the next index to release */
};

static void close_some(struct close_job *j)
{
	size_t i;

	while ((i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n)
		j->release(j->items, i);
}

static void *closer(void *arg)
{
	close_some(arg);
	return NULL;
}

/* Runs @job from the calling thread and up to CLOSERS_MAX - 1 short-lived ones. */
static void run_concurrently(struct close_job *job)
{
	pthread_t th[CLOSERS_MAX];
	size_t n = job->n, want = n < CLOSERS_MAX ? n : CLOSERS_MAX, started = 0, i;
	pthread_attr_t attr;
	sigset_t all, old;

	if (n > 1 && !pthread_attr_init(&attr)) {
		pthread_attr_setstacksize(&attr, CLOSER_STACK);
		/* signals stay with the main thread */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		/* the calling thread is one of the closers */
		while (started + 1 < want && !pthread_create(&th[started], &attr, closer, job))
			started++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	close_some(job);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

static void close_fd(void *items, size_t i)
{
	int *fds = items;

	if (fds[i] >= 0)
		close(fds[i]);
	fds[i] = -1;
}

void fds_close_concurrently(int *fds, size_t n)
{
	struct close_job job = {.items = fds, .release = close_fd, .n = n};

	run_concurrently(&job);
}

static void destroy_link(void *items, size_t i)
{
	struct bpf_link **links = items;

	bpf_link__destroy(links[i]);
	links[i] = NULL;
}

void links_destroy_concurrently(struct bpf_link **links, size_t n)
{
	struct close_job job = {.items = links, .release = destroy_link, .n = n};

	run_concurrently(&job);
}
