// SPDX-License-Identifier: MIT
/* Target memory for the Python stack reader: process_vm_readv, or a synthetic image. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "probe/pymem.h"
#include "util/grow.h"

int pymem_read(struct pymem *m, uint64_t addr, void *buf, size_t len)
{
	struct pymem_req r = {.addr = addr, .buf = buf, .len = len};
	int err = pymem_readv(m, &r, 1);

	if (err)
		return err;
	return r.ok ? 0 : -EFAULT;
}

void pymem_free(struct pymem *m)
{
	if (m)
		m->ops->free(m);
}

struct pymem_proc {
	struct pymem m;
	pid_t pid;
};

/* iovecs per system call: the kernel's limit (UIO_MAXIOV) */
#define PROC_MAX_IOV 1024

/*
 * One batch of at most PROC_MAX_IOV requests. The kernel stops at the first remote region it
 * cannot read (having copied what came before it, possibly part of that one), so a short count
 * marks the requests before it whole, the one it stopped in failed, and the rest are retried.
 */
static int proc_batch(struct pymem_proc *p, struct pymem_req *reqs, size_t n)
{
	struct iovec local[PROC_MAX_IOV], remote[PROC_MAX_IOV];
	size_t i, done = 0;
	ssize_t got;

	while (done < n) {
		size_t k = 0, want = 0;

		for (i = done; i < n; i++, k++) {
			local[k].iov_base = reqs[i].buf;
			local[k].iov_len = reqs[i].len;
			remote[k].iov_base = (void *)(uintptr_t)reqs[i].addr;
			remote[k].iov_len = reqs[i].len;
			want += reqs[i].len;
		}
		got = process_vm_readv(p->pid, local, k, remote, k, 0);
		p->m.syscalls++;
		if (got < 0) {
			if (errno == ESRCH || errno == EPERM || errno == ENOMEM)
				return -errno;
			/* EFAULT on the first region: it alone failed */
			got = 0;
		}
		p->m.bytes += (uint64_t)got;
		if ((size_t)got == want) {
			for (i = done; i < n; i++)
				reqs[i].ok = true;
			return 0;
		}
		for (i = done; i < n && (size_t)got >= reqs[i].len; i++) {
			reqs[i].ok = true;
			got -= (ssize_t)reqs[i].len;
		}
		/* reqs[i] is the one the kernel stopped in */
		reqs[i].ok = false;
		done = i + 1;
	}
	return 0;
}

static int proc_readv(struct pymem *m, struct pymem_req *reqs, size_t n)
{
	struct pymem_proc *p = (struct pymem_proc *)m;
	size_t i;
	int err;

	for (i = 0; i < n; i += PROC_MAX_IOV) {
		size_t k = n - i < PROC_MAX_IOV ? n - i : PROC_MAX_IOV;
		size_t j;

		/* zero-length requests are trivially whole; the kernel would skip them anyway */
		for (j = i; j < i + k; j++)
			reqs[j].ok = reqs[j].len == 0;
		err = proc_batch(p, reqs + i, k);
		if (err)
			return err;
	}
	return 0;
}

static void proc_free(struct pymem *m)
{
	free(m);
}

static const struct pymem_ops proc_ops = {.readv = proc_readv, .free = proc_free};

struct pymem *pymem_proc(pid_t pid)
{
	struct pymem_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->m.ops = &proc_ops;
	p->pid = pid;
	return &p->m;
}

struct image_region {
	uint64_t addr;
	size_t len;
	uint8_t *data;
};

struct pymem_image {
	struct pymem m;
	struct image_region *regs;
	size_t n, cap;
};

static struct image_region *image_find(struct pymem_image *im, uint64_t addr, size_t len)
{
	size_t i;

	if (addr + len < addr)
		return NULL;
	for (i = im->n; i-- > 0;) {
		struct image_region *r = &im->regs[i];

		if (addr >= r->addr && addr - r->addr <= r->len && len <= r->len - (addr - r->addr))
			return r;
	}
	return NULL;
}

static int image_readv(struct pymem *m, struct pymem_req *reqs, size_t n)
{
	struct pymem_image *im = (struct pymem_image *)m;
	size_t i;

	m->syscalls++;
	for (i = 0; i < n; i++) {
		struct image_region *r = image_find(im, reqs[i].addr, reqs[i].len);

		reqs[i].ok = r != NULL;
		if (r && reqs[i].len) {
			memcpy(reqs[i].buf, r->data + (reqs[i].addr - r->addr), reqs[i].len);
			m->bytes += reqs[i].len;
		}
	}
	return 0;
}

static void image_free(struct pymem *m)
{
	struct pymem_image *im = (struct pymem_image *)m;
	size_t i;

	for (i = 0; i < im->n; i++)
		free(im->regs[i].data);
	free(im->regs);
	free(im);
}

static const struct pymem_ops image_ops = {.readv = image_readv, .free = image_free};

struct pymem *pymem_image(void)
{
	struct pymem_image *im = calloc(1, sizeof(*im));

	if (!im)
		return NULL;
	im->m.ops = &image_ops;
	return &im->m;
}

int pymem_image_add(struct pymem *m, uint64_t addr, const void *data, size_t len)
{
	struct pymem_image *im = (struct pymem_image *)m;
	struct image_region *r;
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	if (grow(&im->regs, &im->cap, im->n + 1, sizeof(*im->regs))) {
		free(copy);
		return -ENOMEM;
	}
	r = &im->regs[im->n++];
	r->addr = addr;
	r->len = len;
	r->data = copy;
	return 0;
}

void *pymem_image_at(struct pymem *m, uint64_t addr, size_t len)
{
	struct image_region *r = image_find((struct pymem_image *)m, addr, len);

	return r ? r->data + (addr - r->addr) : NULL;
}
