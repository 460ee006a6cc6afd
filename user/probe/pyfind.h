/* SPDX-License-Identifier: MIT */
/*
 * Finding a CPython interpreter in a live process for pyreader_open: the executable or the
 * mapped libpython that defines _PyRuntime, its load address, version and build flavour, and the
 * layout of its structures (pyoffsets.h). Reads /proc/PID/maps, the ELF files through
 * /proc/PID/root, and a little of the target's memory.
 */
#ifndef BT_PYFIND_H
#define BT_PYFIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The data symbols and facts of one ELF file that matter to the reader (vaddrs, 0 = absent). */
struct pyelf {
	uint64_t runtime, py_version, code_type, unicode_type, frame_type;
	uint64_t bss, bss_size; /* .bss: where Py_GetVersion's buffer lives (3.9/3.10) */
	uint64_t first_vaddr;	/* the lowest PT_LOAD p_vaddr, page-aligned */
	bool debug;		/* defines _Py_NegativeRefcount: a Py_DEBUG/Py_REF_DEBUG build */
	bool needs_libpython;	/* DT_NEEDED names a libpython */
	char soname[64];
};

/* Reads @path into @e. Returns 0 or -errno (-ENOEXEC: not ELF). */
int pyelf_read(const char *path, struct pyelf *e);

/*
 * Finds "3.M.N" (optionally followed by a release tag) followed by " (" in the @len bytes at
 * @buf, the sys.version text Py_GetVersion leaves in .bss; @minor -1 takes any minor. Returns
 * true and the numbers, or false.
 */
bool pyfind_version_text(const uint8_t *buf, size_t len, int minor, unsigned *maj, unsigned *min,
			 unsigned *mic);

/* The minor version named by a libpython soname or file name ("libpython3.9.so.1.0" -> 9,
 * "python3.12" -> 12), or -1; *@flavour gets the ABI flags after the number ("d", "t", ""). */
int pyfind_minor_from_name(const char *name, char *flavour, size_t flen);

#endif
