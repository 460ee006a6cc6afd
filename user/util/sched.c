// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/sched.h"

/* struct sched_attr, version 1 (48 bytes: with the deadline fields) */
struct attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static int set_attr(struct attr *a)
{
	a->size = sizeof(*a);
	return syscall(SYS_sched_setattr, 0, a, 0) ? -errno : 0;
}

int sched_short_slices(uint64_t slice_ns)
{
	struct attr a = {.policy = 0 /* SCHED_OTHER */, .runtime = slice_ns};

	return set_attr(&a);
}

int sched_fifo_lowest(void)
{
	/* SCHED_FLAG_RESET_ON_FORK: a child of the thread would start as a normal task */
	struct attr a = {.policy = 1 /* SCHED_FIFO */, .flags = 1, .priority = 1};

	return set_attr(&a);
}

int sched_batch(void)
{
	struct attr a = {.policy = 3 /* SCHED_BATCH */};

	return set_attr(&a);
}
