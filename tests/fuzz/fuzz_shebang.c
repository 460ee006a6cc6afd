// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the "#!" line parser (target_shebang, user/probe/target.c): whatever the
 * bytes, an interpreter found is a non-empty run of the input after "#!" without blanks, and
 * fits the buffer given.
 * Seeds: tests/data/corpus/shebang.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {1, 8, 4096};
	char *in = malloc(size ? size : 1);
	size_t i;

	if (!in)
		abort();
	/* a copy of exact length, so ASan sees any read past the input */
	memcpy(in, data, size);
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		char *interp = malloc(caps[i]);
		int err;

		if (!interp)
			abort();
		err = target_shebang(in, size, interp, caps[i]);
		if (!err) {
			size_t n = strlen(interp);

			if (!n || n >= caps[i] || size < 3 || memcmp(in, "#!", 2) ||
			    !memmem(in, size, interp, n) || strpbrk(interp, " \t\n"))
				abort();
		} else if (err != -ENOEXEC && err != -ENAMETOOLONG) {
			abort();
		}
		free(interp);
	}
	free(in);
	return 0;
}
