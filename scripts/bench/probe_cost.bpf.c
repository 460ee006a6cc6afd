// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * What the pieces of a function probe cost: each program below does one thing bedtrace's
 * func_entry / func_return do (or nothing: the floor), and probe_cost.c attaches all of them to
 * the same function, so one run of the target gives, from the kernel's per-program accounting
 * (kernel.bpf_stats_enabled), each piece's ns per run beside the empty program's.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* the size of bedtrace's per-thread stack (struct bt_stack) */
struct stack {
	__u8 b[2856];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct stack);
} by_tid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct stack);
} by_task SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ring SEC(".maps");

__u64 sink;

SEC("uprobe")
int BPF_KPROBE(c_empty)
{
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(c_empty_ret)
{
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(c_pid_tgid)
{
	sink += bpf_get_current_pid_tgid();
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(c_ktime)
{
	sink += bpf_ktime_get_ns();
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(c_cookie)
{
	sink += bpf_get_attach_cookie(ctx);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(c_read_user8)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)PT_REGS_SP(ctx));
	sink += v;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(c_hash_get)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct stack *st = bpf_map_lookup_elem(&by_tid, &tid);

	if (!st) {
		static const struct stack zero;

		bpf_map_update_elem(&by_tid, &tid, &zero, BPF_NOEXIST);
		return 0;
	}
	st->b[0]++;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(c_task_get)
{
	struct stack *st = bpf_task_storage_get(&by_task, bpf_get_current_task_btf(), 0,
						BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (st)
		st->b[0]++;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(c_ring_80)
{
	__u8 *r = bpf_ringbuf_reserve(&ring, 72, 0);

	if (!r)
		return 0;
	__builtin_memset(r, 0, 72);
	bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(c_tramp)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();

	sink += BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	return 0;
}
