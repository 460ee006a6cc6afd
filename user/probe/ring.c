// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "probe/ring.h"
#include "util/grow.h"

/* The record header the kernel writes before each record (kernel/bpf/ringbuf.c). */
#define RB_BUSY_BIT (1u << 31)
#define RB_DISCARD_BIT (1u << 30)
#define RB_HDR_SZ 8u
/* The reader publishes its position once per this many bytes read (and when it stops). */
#define RING_RELEASE_BYTES (64u << 10)

struct event_ring {
	event_ring_fn cb;
	void *ctx;
	int epfd;
	size_t page_size;
	uint64_t mask;			   /* data size - 1 (a power of two) */
	unsigned long *consumer_pos;	   /* first page, written by the reader */
	const unsigned long *producer_pos; /* second page, read-only */
	const uint8_t *data;		   /* the data area, mapped once */
	uint8_t *wrap;			   /* a record that wraps, copied in one piece */
	size_t wrap_cap;
};

size_t event_ring_size(const struct event_ring *r)
{
	return (size_t)r->mask + 1;
}

struct event_ring *event_ring_new(int map_fd, event_ring_fn cb, void *ctx)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct event_ring *r;
	struct epoll_event ev = {.events = EPOLLIN};
	void *p;
	int err;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1))) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cb = cb;
	r->ctx = ctx;
	r->page_size = (size_t)sysconf(_SC_PAGESIZE);
	r->mask = info.max_entries - 1;
	r->epfd = -1;
	p = mmap(NULL, r->page_size, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->consumer_pos = p;
	/* the producer page, then the data area once (the kernel would allow twice) */
	p = mmap(NULL, r->page_size + info.max_entries, PROT_READ, MAP_SHARED, map_fd,
		 (off_t)r->page_size);
	if (p == MAP_FAILED)
		goto fail;
	r->producer_pos = p;
	r->data = (const uint8_t *)p + r->page_size;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, map_fd, &ev))
		goto fail;
	return r;
fail:
	err = errno;
	event_ring_free(r);
	errno = err;
	return NULL;
}

void event_ring_free(struct event_ring *r)
{
	if (!r)
		return;
	if (r->consumer_pos)
		munmap(r->consumer_pos, r->page_size);
	if (r->producer_pos)
		munmap((void *)r->producer_pos, r->page_size + (size_t)r->mask + 1);
	if (r->epfd >= 0)
		close(r->epfd);
	free(r->wrap);
	free(r);
}

/* The @size bytes at ring position @pos, in one piece: in place, or copied when they wrap. */
static void *record_at(struct event_ring *r, uint64_t pos, size_t size)
{
	size_t off = (size_t)(pos & r->mask), first = (size_t)r->mask + 1 - off;

	if (size <= first)
		return (void *)(r->data + off);
	if (grow(&r->wrap, &r->wrap_cap, size, 1))
		return NULL;
	memcpy(r->wrap, r->data + off, first);
	memcpy(r->wrap + first, r->data, size - first);
	return r->wrap;
}

/* Publishes @cons as the reader's position: the room up to it is the producers' again. */
static void release_to(struct event_ring *r, uint64_t cons)
{
	__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
}

int event_ring_consume(struct event_ring *r)
{
	uint64_t cons = *r->consumer_pos, prod = cons, released = cons;
	int n = 0, err = 0;

	for (;;) {
		const uint32_t *hdr;
		uint32_t len;
		size_t size;
		void *rec;

		/* the producers' position is read again only once the known records are read */
		if (cons >= prod)
			prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
		hdr = (const uint32_t *)(r->data + (cons & r->mask));
		len = cons < prod ? __atomic_load_n(hdr, __ATOMIC_ACQUIRE) : RB_BUSY_BIT;
		if (len & RB_BUSY_BIT) {
			/*
			 * Nothing more to read, or a record not committed yet. A producer wakes the
			 * reader only when the reader's position is the record it commits: publish
			 * it, then look once more, for a record committed before it was published.
			 */
			if (cons == released)
				break;
			release_to(r, cons);
			released = cons;
			continue;
		}
		size = len & ~(RB_BUSY_BIT | RB_DISCARD_BIT);
		if (!(len & RB_DISCARD_BIT)) {
			rec = record_at(r, cons + RB_HDR_SZ, size);
			/* out of memory for a wrapped record: skipped rather than stuck */
			err = rec ? r->cb(r->ctx, rec, size) : 0;
			n++;
		}
		cons += (RB_HDR_SZ + size + 7) & ~(uint64_t)7;
		/*
		 * Every BPF reservation reads the reader's position: storing it after each record
		 * would move its cache line to this CPU and back once per event.
		 */
		if (err < 0 || cons - released >= RING_RELEASE_BYTES) {
			release_to(r, cons);
			released = cons;
		}
		if (err < 0)
			return err;
	}
	return n;
}

int event_ring_poll(struct event_ring *r, int timeout_ms)
{
	struct epoll_event ev;

	if (epoll_wait(r->epfd, &ev, 1, timeout_ms) < 0)
		return -errno;
	return event_ring_consume(r);
}
