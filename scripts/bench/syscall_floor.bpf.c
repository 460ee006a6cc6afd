// SPDX-License-Identifier: MIT
/*
 * The mechanism floor of fleet_bench.py: empty programs on the BTF raw tracepoints sys_enter and
 * sys_exit, the attach type bedtrace's syscap uses, so every syscall of the machine passes
 * through a BPF program that does nothing.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("tp_btf/sys_enter")
int floor_enter(void *ctx)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int floor_exit(void *ctx)
{
	return 0;
}
