/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Maps every bedtrace BPF object shares: the event ring buffer (one, so that events of one thread
 * reach userspace in the order they happened) and the drop counters. Userspace creates them with
 * the first object and hands the same fds to the others (bpf_map__reuse_fd).
 */
#ifndef BT_COMMON_BPF_H
#define BT_COMMON_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BT_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* libbpf 1.1's bpf_tracing.h predates the uprobe spellings of these macros */
#ifndef BPF_UPROBE
#define BPF_UPROBE(name, args...) BPF_KPROBE(name, ##args)
#endif
#ifndef BPF_URETPROBE
#define BPF_URETPROBE(name, args...) BPF_KRETPROBE(name, ##args)
#endif

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += n;
}

#endif
