/* SPDX-License-Identifier: MIT */
/*
 * The reader of the BPF event ring buffer. The kernel lets a reader map the data area twice in a
 * row so that a record that wraps reads as one piece (libbpf's reader does): every page then
 * counts twice in the process's resident memory. This reader maps it once and copies the few
 * records that wrap, so a ring of N MiB costs N MiB of resident memory, not 2N.
 *
 * Records are handed to the callback in the order they were committed; a negative return from
 * the callback stops the pass (the record counts as read) and is returned.
 * The reader's position, which every BPF reservation reads, is published once per 64 KiB read
 * and at the end of a pass, not after each record.
 */
#ifndef BT_RING_H
#define BT_RING_H

#include <stddef.h>

struct event_ring;
typedef int (*event_ring_fn)(void *ctx, void *data, size_t size);

/* Maps BPF_MAP_TYPE_RINGBUF map @map_fd for reading. Returns NULL + errno. */
struct event_ring *event_ring_new(int map_fd, event_ring_fn cb, void *ctx);
void event_ring_free(struct event_ring *r);
/* Reads every committed record. Returns the number read, or the callback's negative return. */
int event_ring_consume(struct event_ring *r);
/*
 * Waits up to @timeout_ms for the producer's wakeup, then reads like event_ring_consume().
 * Returns -EINTR when a signal interrupted the wait.
 */
int event_ring_poll(struct event_ring *r, int timeout_ms);
/* Size of the ring's data area in bytes. */
size_t event_ring_size(const struct event_ring *r);

#endif
