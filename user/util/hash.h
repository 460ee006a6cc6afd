/* SPDX-License-Identifier: MIT */
/* The string hash of bedtrace's hash tables (metric series keys, the report's interned
 * strings and attribute sets): 64-bit FNV-1a, byte by byte. */
#ifndef BT_HASH_H
#define BT_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t fnv1a(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ c[i]) * 1099511628211ull;
	return h;
}

#endif
