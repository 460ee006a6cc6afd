/* SPDX-License-Identifier: MIT */
/*
 * Syscall capture: owns the syscap BPF object (one program on each raw syscall tracepoint, see
 * bpf/syscap.bpf.c) and the set of processes it watches. It does the syscall side of TLS capture
 * (the socket behind an SSL object, late-loaded libssl) and plain TCP socket capture.
 */
#ifndef BT_SYSCAP_H
#define BT_SYSCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sys_capture;

struct syscap_maps {
	int events, counters;	/* shared by every object */
	int stacks, zero_stack; /* functrace's */
	int ssl_calls, conns;	/* tlscap's; -1: TLS capture off */
	int procs;		/* functrace's traced processes */
	bool funcs; /* function probes are in use: watch mapped code, hold forked children */
};

/*
 * Loads the BPF object sharing @maps; captures plain TCP traffic when @sockets; payload chunks
 * wake userspace once @wakeup_at bytes wait. Returns NULL + errno.
 */
struct sys_capture *syscap_load(const struct syscap_maps *maps, bool sockets, uint64_t wakeup_at);
void syscap_destroy(struct sys_capture *sc);
/* Watches @pid's syscalls from now on. Returns 0 or -errno. */
int syscap_add_process(struct sys_capture *sc, pid_t pid);
/* Stops watching (maps stay readable). */
void syscap_detach(struct sys_capture *sc);

#endif
