/* SPDX-License-Identifier: MIT */
/* Test support: the whole of a file in memory, for the small drivers under tests/tools/. */
#ifndef BT_TEST_READFILE_H
#define BT_TEST_READFILE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole of @path plus a NUL (its length in *@len when @len is given), or NULL + errno. */
static inline char *tl_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 65536, n = 0, k;
	char *buf = NULL, *grown;
	int err = 0;

	if (!f)
		return NULL;
	for (;;) {
		grown = realloc(buf, cap + 1);
		if (!grown) {
			err = ENOMEM;
			break;
		}
		buf = grown;
		k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (n < cap) {
			if (ferror(f))
				err = EIO;
			break;
		}
		cap *= 2;
	}
	fclose(f);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

#endif
