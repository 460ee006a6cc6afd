// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the x86-64 decoder (user/x86_insn.c). The input is a function body at
 * 0x401000: every offset is decoded (length 1..15, never past the end, ASan watching an exact-size
 * copy); an entry probe offset must be an instruction boundary of the linear sweep that uprobes
 * accept; every return found must be a boundary holding a ret.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/x86_insn.h"

#define BASE 0x401000

static bool is_boundary(const uint8_t *code, size_t len, size_t at)
{
	struct x86_insn in;
	size_t pos = 0;
	int n;

	while (pos < at) {
		n = x86_decode(code + pos, len - pos, BASE + pos, &in);
		if (n <= 0)
			return false;
		pos += (size_t)n;
	}
	return pos == at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t offs[64], off;
	struct x86_insn in;
	const char *why;
	uint8_t *code;
	bool ok[64];
	size_t i, n;
	int r;

	code = malloc(size ? size : 1);
	if (!code)
		abort();
	memcpy(code, data, size);
	for (i = 0; i < size; i++) {
		r = x86_decode(code + i, size - i, BASE + i, &in);
		if (r > 0 && (r > X86_INSN_MAX_LEN || (size_t)r > size - i || in.len != r))
			abort();
		if (r <= 0 && r != -ENODATA && r != -EILSEQ)
			abort();
	}
	r = x86_entry_probe_offset(code, size, BASE, 64, &off, &why);
	if (r == 0) {
		if (off >= size || off > 64 || !is_boundary(code, size, off))
			abort();
		if (x86_decode(code + off, size - off, BASE + off, &in) <= 0 || !in.uprobe_ok)
			abort();
	} else if (!why) {
		abort();
	}
	r = x86_find_returns(code, size, BASE, offs, ok, 64, &n);
	if (r != 0 && r != -E2BIG && r != -EILSEQ)
		abort();
	for (i = 0; r == 0 && i < n; i++) {
		if (offs[i] >= size || !is_boundary(code, size, offs[i]))
			abort();
		if (x86_decode(code + offs[i], size - offs[i], BASE + offs[i], &in) <= 0 ||
		    in.flow != X86_FLOW_RET || in.uprobe_ok != ok[i])
			abort();
	}
	free(code);
	return 0;
}
