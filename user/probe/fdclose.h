/* SPDX-License-Identifier: MIT */
/*
 * Closing many file descriptors or libbpf links whose release is slow. Releasing a uprobe link
 * (uprobe_multi or perf-event) waits for RCU grace periods in the kernel (tasks-trace RCU and SRCU
 * in uprobe_unregister_sync), tens of milliseconds each; closed one after another, a few hundred
 * links take seconds. Closes issued at the same time share those grace periods.
 */
#ifndef BT_FDCLOSE_H
#define BT_FDCLOSE_H

#include <stddef.h>

/*
 * Closes every descriptor in @fds (negative entries are skipped), several at a time from
 * short-lived threads; returns once all are closed. Falls back to closing them in turn when no
 * thread can be started. Entries are set to -1.
 */
void fds_close_concurrently(int *fds, size_t n);

struct bpf_link;
/* Same for libbpf links (perf-event uprobe links): destroys each of @links, entries set NULL. */
void links_destroy_concurrently(struct bpf_link **links, size_t n);

#endif
