/* SPDX-License-Identifier: MIT */
/*
 * Where to put the TLS entry probes so the kernel emulates, rather than single-steps, the probed
 * instruction. OpenSSL's SSL_read and SSL_read_ex (likewise SSL_write and SSL_write_ex) are thin
 * wrappers around one internal function that has the _ex signature
 * (ssl, buf, num, size_t *done) and returns > 0 on success. Built with stack protection, the
 * wrappers begin with `sub $N,%rsp`, which x86 uprobes single-step (~10 µs a hit on this VM);
 * the internal function begins with register pushes, which they emulate (~1 µs).
 *
 * The internal function is trusted only when the machine code proves it: the _ex wrapper is
 * exactly `sub $imm8,%rsp; call T` (so T receives the wrapper's four argument registers
 * unchanged) and the plain wrapper calls the same T. Pure byte decoding: no ELF, no I/O.
 */
#ifndef BT_SSL_INNER_H
#define BT_SSL_INNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of code read from a function's start: enough for the wrappers' prologue and first call. */
#define SSL_INNER_CODE_LEN 96

/*
 * @ex: code of the _ex wrapper at address @ex_va; @plain: code of the plain wrapper at @plain_va.
 * Returns the address of the function both call, or 0 when the code does not have that shape.
 */
uint64_t ssl_inner_callee(const uint8_t *ex, size_t ex_len, uint64_t ex_va, const uint8_t *plain,
			  size_t plain_len, uint64_t plain_va);

/*
 * Where in the function whose code is @code a probe hits an instruction x86 uprobes emulate (a
 * push of a general register): 0, or 4 past a leading endbr64, which leaves every register as
 * it was at the entry so a uretprobe there still finds the return address at the top of the
 * stack. -1 when the first instruction would be single-stepped.
 */
int ssl_inner_probe_at(const uint8_t *code, size_t len);

#endif
