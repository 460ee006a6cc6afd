// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the OpenSSL wrapper decoder (user/ssl_inner.c). The input is split in
 * three: an _ex wrapper, a plain wrapper and a callee, each of any length (the first two bytes
 * give the lengths of the first two parts); the addresses come from the next 8 bytes. Every
 * result must be a call target the plain wrapper's bytes really encode.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/ssl_inner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t ex_len, plain_len, i;
	uint64_t ex_va = 0x1000, plain_va = 0x2000, callee;
	uint32_t va[2];
	uint8_t *ex, *plain;
	int at;

	if (size < 10)
		return 0;
	memcpy(va, data + 2, sizeof(va));
	ex_va += va[0];
	plain_va += va[1];
	ex_len = data[0] % (size - 9);
	plain_len = data[1] % (size - 9 - ex_len);
	data += 10;
	size -= 10;
	/* copies of exact length, so ASan sees any read past a part */
	ex = malloc(ex_len + 1);
	plain = malloc(plain_len + 1);
	if (!ex || !plain)
		abort();
	memcpy(ex, data, ex_len);
	memcpy(plain, data + ex_len, plain_len);
	callee = ssl_inner_callee(ex, ex_len, ex_va, plain, plain_len, plain_va);
	if (callee) {
		int found = 0;

		for (i = 0; i + 5 <= plain_len; i++) {
			int32_t rel;

			memcpy(&rel, plain + i + 1, sizeof(rel));
			if (plain[i] == 0xe8 && plain_va + i + 5 + (uint64_t)(int64_t)rel == callee)
				found = 1;
		}
		if (!found || callee == ex_va || callee == plain_va)
			abort();
	}
	at = ssl_inner_probe_at(data + ex_len + plain_len, size - ex_len - plain_len);
	if (at != -1 && at != 0 && at != 4)
		abort();
	free(ex);
	free(plain);
	return 0;
}
