/* SPDX-License-Identifier: MIT */
/*
 * Syscall capture: owns the syscap BPF object (one program on each raw syscall tracepoint, see
 * bpf/syscap.bpf.c). The processes it watches are those of the shared procs map (or, with -a, all
 * but the excluded ones). It does the syscall side of TLS capture
 * (the socket behind an SSL object, late-loaded libssl) and plain TCP socket capture.
 */
#ifndef BT_SYSCAP_H
#define BT_SYSCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/shared_maps.h"

struct sys_capture;

/*
 * Loads the BPF object sharing @maps (shared_maps.h: reuses those there, adds those it creates);
 * load it after functrace (stacks, traced processes) and tlscap. Does the TLS side when @maps has
 * tlscap's maps; captures plain TCP traffic when @sockets; watches mapped code and holds forked
 * children for function probes when @funcs. Payload chunks wake userspace once @wakeup_at bytes
 * wait. Returns NULL + errno.
 */
struct sys_capture *syscap_load(struct bt_shared_maps *maps, bool sockets, bool funcs,
				uint64_t wakeup_at);
void syscap_destroy(struct sys_capture *sc);
/* Stops watching (maps stay readable). */
void syscap_detach(struct sys_capture *sc);

/* The most bytes its payload chunks found waiting in the event ring (ring pressure). */
uint64_t syscap_ring_peak(const struct sys_capture *sc);

#endif
