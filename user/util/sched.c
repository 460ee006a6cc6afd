// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/sched.h"

int sched_short_slices(uint64_t slice_ns)
{
	/* struct sched_attr, version 1 (48 bytes: with the deadline fields) */
	struct {
		uint32_t size, policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime, deadline, period;
	} a = {.size = 48, .policy = 0 /* SCHED_OTHER */, .runtime = slice_ns};

	return syscall(SYS_sched_setattr, 0, &a, 0) ? -errno : 0;
}
