/* SPDX-License-Identifier: MIT */
/*
 * Reading another process's memory for the Python stack reader, through one small interface so
 * that the same walker runs over a live process (process_vm_readv: no ptrace, never stops it)
 * and over a synthetic image built by a test or a fuzzer. Requests are batched: one call reads
 * many regions and says which ones came back whole.
 */
#ifndef BT_PYMEM_H
#define BT_PYMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pymem_req {
	uint64_t addr;
	void *buf;
	size_t len;
	bool ok; /* set by pymem_readv: all @len bytes were read */
};

struct pymem;
struct pymem_ops {
	/* Reads every request it can, setting ok on each. Returns 0 (some may have failed) or
	 * -errno for the whole batch (-ESRCH: the process is gone). */
	int (*readv)(struct pymem *m, struct pymem_req *reqs, size_t n);
	void (*free)(struct pymem *m);
};

struct pymem {
	const struct pymem_ops *ops;
	uint64_t syscalls, bytes; /* counted by the implementation: system calls, bytes copied */
};

/* Batched read; see pymem_ops. */
static inline int pymem_readv(struct pymem *m, struct pymem_req *reqs, size_t n)
{
	return n ? m->ops->readv(m, reqs, n) : 0;
}
/* Reads @len bytes at @addr. Returns 0, -EFAULT when they are not all readable, or -errno. */
int pymem_read(struct pymem *m, uint64_t addr, void *buf, size_t len);
/* Frees @m; NULL is a no-op. */
void pymem_free(struct pymem *m);

/* Memory of live process @pid via process_vm_readv. NULL+errno (ENOMEM). */
struct pymem *pymem_proc(pid_t pid);

/*
 * A synthetic image: regions of bytes at chosen addresses (copied in; later regions shadow
 * earlier ones where they overlap). A read succeeds when one region holds all of it.
 */
struct pymem *pymem_image(void);
/* Adds @len bytes at @addr. Returns 0 or -ENOMEM. */
int pymem_image_add(struct pymem *m, uint64_t addr, const void *data, size_t len);
/* The bytes of the region holding [@addr, @addr + @len) (writable, to build an image in place),
 * or NULL. */
void *pymem_image_at(struct pymem *m, uint64_t addr, size_t len);

#endif
