/* SPDX-License-Identifier: MIT */
/*
 * uprobe_multi links (kernel 6.6+): many offsets of one file on one BPF program in one link,
 * released in parallel with others (fdclose.h), unlike perf-event uprobe links, which the kernel
 * releases one at a time. libbpf 1.1 predates them, so links are created with the bpf syscall.
 */
#ifndef BT_UPROBE_MULTI_H
#define BT_UPROBE_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bpf_program;

/* Before load: @prog will be attached with uprobe_multi links. Returns 0 or -errno. */
int uprobe_multi_prepare(struct bpf_program *prog);
/*
 * Links loaded @prog at the @cnt file offsets @offsets of @path (@cookies: the BPF cookie of each,
 * or NULL), as return probes if @ret, for process @pid only (0: every process that maps the
 * file). Returns the link's file descriptor or -errno.
 */
int uprobe_multi_link(struct bpf_program *prog, const char *path, const uint64_t *offsets,
		      const uint64_t *cookies, size_t cnt, bool ret, pid_t pid);

#endif
