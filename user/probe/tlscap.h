/* SPDX-License-Identifier: MIT */
/*
 * TLS capture: owns the tlscap BPF object, finds where each target gets OpenSSL (libssl.so.* or an
 * executable that exports SSL_write, such as Node.js) and probes SSL_write/SSL_read, their _ex
 * forms and SSL_shutdown/SSL_free there; re-scans a process when it maps new code.
 */
#ifndef BT_TLSCAP_H
#define BT_TLSCAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/shared_maps.h"

struct tls_capture;
struct sw_tally;

/*
 * Loads the BPF object sharing @maps (shared_maps.h: reuses those there, adds those it creates:
 * the per-thread SSL calls and TLS connections syscap needs); payload chunks wake userspace once
 * @wakeup_at bytes wait in the ring. Returns NULL + errno.
 */
struct tls_capture *tlscap_load(struct bt_shared_maps *maps, uint64_t wakeup_at);
void tlscap_destroy(struct tls_capture *tc);
/*
 * Probes every OpenSSL @pid maps now and has not been probed yet (at attach, and when the process
 * maps new code). Returns objects newly probed (>= 0) or -errno.
 */
int tlscap_rescan(struct tls_capture *tc, pid_t pid);
/* Removes every probe (maps stay readable). */
void tlscap_detach_all(struct tls_capture *tc);
size_t tlscap_n_objects(const struct tls_capture *tc);
/*
 * Adds the time spent reading each object file's symbols (up to knowing whether it is OpenSSL) to
 * @t, by path (NULL: stops), for -v.
 */
void tlscap_time_symbols(struct tls_capture *tc, struct sw_tally *t);

/* The most bytes its payload chunks found waiting in the event ring (ring pressure). */
uint64_t tlscap_ring_peak(const struct tls_capture *tc);

#endif
