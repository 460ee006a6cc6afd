// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the Rust v0 demangler (user/rust_demangle.c) and the naming of a symbol
 * built on it (sym_annotate in user/symmatch.c). The input is a symbol name; "_R" is put in
 * front when missing so that effort goes into the grammar. A result must be bounded and a
 * failure must say why.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/elf_sym.h"
#include "probe/rust_demangle.h"
#include "probe/symmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_sym s = {0};
	char *name, *d;
	size_t off;

	if (size > 4096 || memchr(data, '\0', size))
		return 0;
	off = size >= 2 && !memcmp(data, "_R", 2) ? 0 : 2;
	name = malloc(size + off + 1);
	if (!name)
		abort();
	memcpy(name, "_R", off);
	memcpy(name + off, data, size);
	name[size + off] = '\0';

	errno = 0;
	d = rust_demangle_v0(name);
	if (d ? strlen(d) > RUST_DEMANGLE_MAX || !*d : errno != EINVAL && errno != ENOMEM)
		abort();
	free(d);

	s.name = name;
	if (!sym_annotate(&s)) {
		if (!s.display || !sym_display_name(&s)[0])
			abort();
		(void)sym_matches(&s, "*::*");
	}
	free(s.demangled);
	free(s.display);
	free(name);
	return 0;
}
