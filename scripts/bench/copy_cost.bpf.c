// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * What copying a 16 KiB TLS chunk costs, by destination (copy_cost.py): one program on
 * copy_cost's f_buf(p) copies the 16 KiB at p into a per-CPU buffer (mode 0), into a ring-buffer
 * record (mode 1), or only reserves and commits that record (mode 2).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define CHUNK 16384

struct chunk {
	__u8 b[CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct chunk);
} hot SEC(".maps");

/* sized by the loader */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} ring SEC(".maps");

const volatile __u32 mode = 0;

SEC("uprobe")
int BPF_KPROBE(copy_chunk, void *p)
{
	struct chunk *c;
	__u32 zero = 0;

	if (mode == 0) {
		c = bpf_map_lookup_elem(&hot, &zero);
		if (c)
			bpf_probe_read_user(c->b, CHUNK, p);
		return 0;
	}
	c = bpf_ringbuf_reserve(&ring, sizeof(*c), 0);
	if (!c)
		return 0;
	if (mode == 1)
		bpf_probe_read_user(c->b, CHUNK, p);
	bpf_ringbuf_submit(c, BPF_RB_NO_WAKEUP);
	return 0;
}
