/* SPDX-License-Identifier: MIT */
/*
 * Plain-socket capture: owns the sockcap BPF object (TCP read/write/send/recv families of the
 * target processes through raw syscall tracepoints) and the set of processes it watches.
 */
#ifndef BT_SOCKCAP_H
#define BT_SOCKCAP_H

#include <stdint.h>
#include <sys/types.h>

struct sock_capture;

/*
 * Loads the BPF object sharing the given maps: events, counters, functrace's stacks and
 * zero_stack, and tlscap's ssl_calls (-1: none, TLS capture off); payload chunks wake userspace
 * once @wakeup_at bytes wait. Returns NULL + errno.
 */
struct sock_capture *sockcap_load(int events_fd, int counters_fd, int stacks_fd, int zero_fd,
				  int ssl_calls_fd, uint64_t wakeup_at);
void sockcap_destroy(struct sock_capture *sc);
/* Captures @pid's TCP traffic from now on. Returns 0 or -errno. */
int sockcap_add_process(struct sock_capture *sc, pid_t pid);
/* Stops capturing (maps stay readable). */
void sockcap_detach(struct sock_capture *sc);

#endif
