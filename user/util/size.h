/* SPDX-License-Identifier: MIT */
/* Byte sizes on the command line: a decimal number with an optional binary suffix. */
#ifndef BT_SIZE_H
#define BT_SIZE_H

#include <stdint.h>

/*
 * Parses @s: digits, then optionally K, M, G or T (any case; powers of 1024), optionally followed
 * by "iB" or "B" ("512M", "2GiB", "4k"). Returns 0 and *@out, or -EINVAL (also on overflow).
 */
int size_parse(const char *s, uint64_t *out);

#endif
