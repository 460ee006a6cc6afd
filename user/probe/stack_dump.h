/* SPDX-License-Identifier: MIT */
/*
 * Reading the per-thread stacks of open traced calls from userspace. BPF keeps them in task-local
 * storage, which userspace cannot list; functrace's dump_stacks iterator (iter/task) writes one
 * struct bt_stack_rec per thread with open calls, each frame's return address taken from the
 * kernel's pending uretprobe return instances. Used by the watchdog and at shutdown.
 */
#ifndef BT_STACK_DUMP_H
#define BT_STACK_DUMP_H

#include <stddef.h>
#include <sys/types.h>

#include "bedtrace.h"

/*
 * Runs the dump_stacks iterator program @prog_fd over the threads of process @pid (0: of every
 * process) and returns its records in *@out (malloc'd, the caller frees; NULL when none), their
 * number in *@n, at most BT_MAX_THREADS. Returns 0 or -errno.
 */
int stack_dump_read(int prog_fd, pid_t pid, struct bt_stack_rec **out, size_t *n);

#endif
