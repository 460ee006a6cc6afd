// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for elf_file_open_mem on arbitrary bytes. Whatever parses is then pushed
 * through the matching layer: offsets, display names, a glob taken from the input's last bytes
 * (so glob parsing is fuzzed too), sym_find and sym_suggest. The lazy paths must agree with the
 * full ones: elf_file_named with a filter of f->syms by name, sym_find before any symbol is
 * annotated with sym_find after all are, sym_select on the same bytes opened lazily (through a
 * memfd) with sym_find.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "probe/elf_sym.h"
#include "probe/symmatch.h"

#define GLOB_MAX 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* sym_select on @data opened lazily finds what sym_find found in the full file @f: @idx[0..@n). */
static void check_select(const uint8_t *data, size_t size, const struct elf_file *f,
			 const char *glob, const size_t *idx, size_t n)
{
	const struct elf_sym **found = NULL;
	struct elf_file *lazy = NULL;
	size_t nf = 0, i;
	int fd = memfd_create("fuzz_elf_sym", MFD_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, data, size) != (ssize_t)size || elf_file_open_fd(fd, "fuzz", &lazy)) {
		close(fd);
		return;
	}
	close(fd);
	if (!sym_select(lazy, glob, &found, &nf)) {
		if (nf != n)
			abort();
		for (i = 0; i < nf; i++)
			if (found[i]->vaddr != f->syms[idx[i]].vaddr ||
			    strcmp(found[i]->name, f->syms[idx[i]].name))
				abort();
		free(found);
	}
	elf_file_free(lazy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *sugg[4];
	char glob[GLOB_MAX + 1];
	struct elf_file *f = NULL;
	size_t *idx = NULL, *lazy_idx = NULL, n = 0, lazy_n = 0, i, glen;
	uint64_t off;

	if (elf_file_open_mem(data, size, "fuzz", &f))
		return 0;

	glen = size < GLOB_MAX ? size : GLOB_MAX;
	memcpy(glob, data + size - glen, glen);
	glob[glen] = '\0';

	/* before anything is annotated: the lazy path */
	if (!sym_find(f, glob, &lazy_idx, &lazy_n)) {
		for (i = 0; i < lazy_n; i++)
			if (lazy_idx[i] >= f->n_syms || !f->syms[lazy_idx[i]].display)
				abort();
	} else {
		lazy_n = SIZE_MAX;
	}
	for (i = 0; i < f->n_syms; i++) {
		const struct elf_sym *s = &f->syms[i], *v = NULL;
		size_t nv = 0, j, k = 0;

		/* The stored offset must be what the public mapping gives. */
		if (elf_vaddr_to_offset(f, s->vaddr, &off) || off != s->offset)
			abort();
		if (!sym_display_name(s) || !*sym_display_name(s))
			abort();
		/* by name: the same symbols, in the same order */
		if (!elf_file_named(f, s->name, &v, &nv)) {
			for (j = 0; j < f->n_syms; j++) {
				if (strcmp(f->syms[j].name, s->name))
					continue;
				if (k >= nv || v[k].vaddr != f->syms[j].vaddr ||
				    v[k].offset != f->syms[j].offset ||
				    v[k].global != f->syms[j].global ||
				    !v[k].version != !f->syms[j].version)
					abort();
				k++;
			}
			if (k != nv)
				abort();
		}
	}
	if (sym_annotate_all(f))
		goto out;
	for (i = 0; i < f->n_syms; i++) {
		sym_matches(&f->syms[i], glob);
		sym_matches(&f->syms[i], "*::*");
	}
	if (!sym_find(f, glob, &idx, &n)) {
		if (lazy_n != SIZE_MAX &&
		    (n != lazy_n || (n && memcmp(idx, lazy_idx, n * sizeof(*idx)))))
			abort();
		for (i = 0; i < n; i++)
			if (idx[i] >= f->n_syms)
				abort();
		check_select(data, size, f, glob, idx, n);
		free(idx);
	}
	n = sym_suggest(f, glob, sugg, 4);
	for (i = 0; i < n; i++)
		if (!sugg[i])
			abort();
out:
	free(lazy_idx);
	elf_file_free(f);
	return 0;
}
