/* SPDX-License-Identifier: MIT */
/*
 * Test support (cmocka): the ELF fixture binaries of tests/data/elf, built by
 * `make -C tests/data/elf` (part of `make test-fixtures`).
 * Header-only; every function is static.
 */
#ifndef BT_TEST_ELF_FIXTURE_H
#define BT_TEST_ELF_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "probe/elf_sym.h"

#define FIXTURE_DIR "tests/data/elf/out/"

/* The path of fixture @name, in a static buffer; fails the test when it was not built. */
static inline const char *fixture_path(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), FIXTURE_DIR "%s", name);
	if (access(buf, R_OK)) {
		print_error("missing fixture %s: run `make -C tests/data/elf` first\n", buf);
		fail();
	}
	return buf;
}

/* Opens fixture @name (free with elf_file_free); fails the test when it cannot. */
static inline struct elf_file *open_fixture(const char *name)
{
	struct elf_file *f = NULL;
	int err = elf_file_open(fixture_path(name), &f);

	if (err)
		print_error("elf_file_open(%s) = %d\n", name, err);
	assert_int_equal(err, 0);
	assert_non_null(f);
	return f;
}

#endif
