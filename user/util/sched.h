/* SPDX-License-Identifier: MIT */
/*
 * Scheduling of bedtrace's own threads: real-time or short slices for the threads whose
 * wake-ups are on a deadline (the Python sampler, the event loop that sets omission windows).
 */
#ifndef BT_SCHED_H
#define BT_SCHED_H

#include <stdint.h>

/*
 * Asks the scheduler for @slice_ns slices for the calling thread (EEVDF, Linux 6.12+: a task
 * with a shorter requested slice gets an earlier deadline, so its wake-ups preempt CPU-bound
 * tasks instead of waiting for their tick). The thread keeps its fair share and its normal
 * policy. Returns 0 or -errno; older kernels ignore the request.
 */
int sched_short_slices(uint64_t slice_ns);

/*
 * Makes the calling thread SCHED_FIFO at the lowest real-time priority: its wake-ups preempt
 * every fair-scheduled task at once. Only for a thread that sleeps most of the time and whose
 * every run is short and bounded (the kernel's real-time throttling caps it regardless). Needs
 * CAP_SYS_NICE. Returns 0 or -errno.
 */
int sched_fifo_lowest(void);

/*
 * Makes the calling thread SCHED_BATCH: its wake-ups never preempt the running task, it runs
 * when a core next reschedules (a tick, or the running task blocking). For a thread woken by
 * the traced program itself, so that waking it does not put its work on the program's path.
 * Returns 0 or -errno.
 */
int sched_batch(void);

#endif
