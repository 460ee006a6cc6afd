// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for elf_file_open_mem on arbitrary bytes. Whatever parses is then pushed
 * through the matching layer: offsets, display names, a glob taken from the input's last bytes
 * (so glob parsing is fuzzed too), sym_find and sym_suggest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/elf_sym.h"
#include "probe/symmatch.h"

#define GLOB_MAX 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *sugg[4];
	char glob[GLOB_MAX + 1];
	struct elf_file *f = NULL;
	size_t *idx = NULL, n = 0, i, glen;
	uint64_t off;

	if (elf_file_open_mem(data, size, "fuzz", &f))
		return 0;

	glen = size < GLOB_MAX ? size : GLOB_MAX;
	memcpy(glob, data + size - glen, glen);
	glob[glen] = '\0';

	for (i = 0; i < f->n_syms; i++) {
		const struct elf_sym *s = &f->syms[i];

		/* The stored offset must be what the public mapping gives. */
		if (elf_vaddr_to_offset(f, s->vaddr, &off) || off != s->offset)
			abort();
		if (!sym_display_name(s) || !*sym_display_name(s))
			abort();
		sym_matches(s, glob);
		sym_matches(s, "*::*");
	}
	if (!sym_find(f, glob, &idx, &n)) {
		for (i = 0; i < n; i++)
			if (idx[i] >= f->n_syms)
				abort();
		free(idx);
	}
	n = sym_suggest(f, glob, sugg, 4);
	for (i = 0; i < n; i++)
		if (!sugg[i])
			abort();
	elf_file_free(f);
	return 0;
}
