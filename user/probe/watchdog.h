/* SPDX-License-Identifier: MIT */
/*
 * Kill safety: a small process forked before any probe exists that outlives bedtrace. When
 * bedtrace ends without saying so (SIGKILL, OOM kill, crash), it puts back the return addresses
 * the uretprobes left in the targets' stacks and resumes every target, so no target stays
 * stopped and no later C++ exception meets a uretprobe trampoline address. On a clean exit
 * bedtrace does the same itself, then lets the watchdog go.
 */
#ifndef BT_WATCHDOG_H
#define BT_WATCHDOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bedtrace.h"

/* Target processes the watchdog remembers; processes with open traced calls are fixed too. */
#define WATCHDOG_MAX_PIDS 4096

struct watchdog;

/*
 * Forks the watchdog. Call once the BPF maps exist and before any probe link is created (the
 * watchdog must hold no link). @stacks_fd: the program that reads the per-thread stacks
 * (functrace_stacks_iter_fd(), probe/stack_dump.h);
 * @procs_fd: the traced processes (BT_PROC_HELD ones are resumed too), or -1.
 * Returns 0 and *@out (released by watchdog_stop) or -errno.
 */
int watchdog_start(int stacks_fd, int procs_fd, struct watchdog **out);
/* The watchdog's process id (0 for NULL): it is never traced. */
pid_t watchdog_pid(const struct watchdog *wd);
/* Tells the watchdog that process @pid is a target; any time, NULL-safe, best effort. */
void watchdog_add_pid(struct watchdog *wd, pid_t pid);
/*
 * Clean exit, once every probe is detached and the open calls were read (probe/stack_dump.h):
 * restores return addresses and resumes the targets here, lets the watchdog exit, frees @wd.
 * NULL-safe.
 */
void watchdog_stop(struct watchdog *wd);

/*
 * Returns the start of the "[uprobes]" mapping (the uretprobe trampoline) in @maps, the text of
 * a /proc/PID/maps file of @len bytes, or 0 if there is none.
 */
uint64_t watchdog_maps_trampoline(const char *maps, size_t len);
/*
 * Writes back the original return address of every open frame of @st whose return slot in
 * process @pid still holds @tramp; frames whose saved address is unknown (0) or the trampoline
 * itself (tail calls sharing a slot) are left to the frame that owns the slot. The process must
 * be stopped. Returns the number of slots written.
 */
int watchdog_restore_stack(pid_t pid, uint64_t tramp, const struct bt_stack *st);

#endif
