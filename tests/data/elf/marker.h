/* SPDX-License-Identifier: MIT */
/*
 * A function whose first bytes are a known ASCII string. Tests read the bytes at the file offset
 * that elf_sym computes for it: a wrong vaddr->offset mapping cannot land on this string by chance.
 * It is data placed in .text and typed as a function, so it must never be called.
 */
#ifndef BT_FIXTURE_MARKER_H
#define BT_FIXTURE_MARKER_H

#define BT_MARKER_BYTES "BEDTRACE-MARKER"

#define BT_DEFINE_MARKER(sym)                                                                      \
	__asm__(".pushsection .text\n"                                                             \
		".globl " #sym "\n"                                                                \
		".type " #sym ", %function\n" #sym ":\n"                                           \
		".ascii \"" BT_MARKER_BYTES "\"\n"                                                 \
		".size " #sym ", .-" #sym "\n"                                                     \
		".popsection\n")

#endif
