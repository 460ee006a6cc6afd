// SPDX-License-Identifier: MIT
#include <string.h>

#include "probe/ssl_inner.h"

static const uint8_t endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};

static size_t skip_endbr(const uint8_t *code, size_t len)
{
	return len >= sizeof(endbr64) && memcmp(code, endbr64, sizeof(endbr64)) == 0
		   ? sizeof(endbr64)
		   : 0;
}

/* Length of a push of one general register at @code (50+r, or 41 50+r for r8..r15), or 0. */
static size_t push_len(const uint8_t *code, size_t len)
{
	if (len >= 1 && (code[0] & 0xf8) == 0x50)
		return 1;
	if (len >= 2 && code[0] == 0x41 && (code[1] & 0xf8) == 0x50)
		return 2;
	return 0;
}

/* Length of an instruction that only moves %rsp down (sub $imm8,%rsp or push of rax..rdi), or 0. */
static size_t stack_adjust_len(const uint8_t *code, size_t len)
{
	if (len >= 4 && code[0] == 0x48 && code[1] == 0x83 && code[2] == 0xec)
		return 4;
	if (len >= 1 && (code[0] & 0xf8) == 0x50 && code[0] != 0x54)
		return 1;
	return 0;
}

/* Target of a `call rel32` at @code, which sits at address @va. */
static uint64_t call_target(const uint8_t *code, uint64_t va)
{
	int32_t rel = (int32_t)((uint32_t)code[1] | (uint32_t)code[2] << 8 |
				(uint32_t)code[3] << 16 | (uint32_t)code[4] << 24);

	return va + 5 + (uint64_t)(int64_t)rel;
}

uint64_t ssl_inner_callee(const uint8_t *ex, size_t ex_len, uint64_t ex_va, const uint8_t *plain,
			  size_t plain_len, uint64_t plain_va)
{
	size_t at = skip_endbr(ex, ex_len), adj, i;
	uint64_t target;

	adj = stack_adjust_len(ex + at, ex_len - at);
	if (!adj)
		return 0;
	at += adj;
	if (ex_len - at < 5 || ex[at] != 0xe8)
		return 0;
	target = call_target(ex + at, ex_va + at);
	if (target == ex_va || target == plain_va)
		return 0;
	/* the plain wrapper converts its int arguments first; any `call T` in its opening will do,
	 * since a byte sequence that decodes to exactly T by accident is not a real concern */
	for (i = 0; i + 5 <= plain_len; i++)
		if (plain[i] == 0xe8 && call_target(plain + i, plain_va + i) == target)
			return target;
	return 0;
}

int ssl_inner_probe_at(const uint8_t *code, size_t len)
{
	size_t at = skip_endbr(code, len);

	return push_len(code + at, len - at) ? (int)at : -1;
}
