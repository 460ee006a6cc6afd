// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/types.h>

#include "probe/uprobe_multi.h"

/* Not in the 6.1 uapi headers Debian 12 builds against; stable kernel ABI values. */
#define BT_TRACE_UPROBE_MULTI 48
#define BT_F_UPROBE_MULTI_RETURN 1U
#define BT_BPF_LINK_CREATE 28

/* The BPF_LINK_CREATE attribute for uprobe_multi, laid out as in the kernel's union bpf_attr. */
struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 pad;
};

int uprobe_multi_prepare(struct bpf_program *prog)
{
	return bpf_program__set_expected_attach_type(prog, BT_TRACE_UPROBE_MULTI);
}

int uprobe_multi_link(struct bpf_program *prog, const char *path, const uint64_t *offsets,
		      const uint64_t *cookies, size_t cnt, bool ret, pid_t pid)
{
	struct uprobe_multi_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (__u32)bpf_program__fd(prog);
	attr.attach_type = BT_TRACE_UPROBE_MULTI;
	attr.path = (__u64)(uintptr_t)path;
	attr.offsets = (__u64)(uintptr_t)offsets;
	attr.cookies = (__u64)(uintptr_t)cookies;
	attr.cnt = (__u32)cnt;
	attr.multi_flags = ret ? BT_F_UPROBE_MULTI_RETURN : 0;
	attr.pid = (__u32)pid;
	fd = (int)syscall(__NR_bpf, BT_BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}
