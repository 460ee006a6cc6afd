/* SPDX-License-Identifier: MIT */
/* gzip compression of a buffer in one call (Content-Encoding: gzip), through zlib. */
#ifndef BT_GZIP_H
#define BT_GZIP_H

#include <stddef.h>

/*
 * Compresses @len bytes of @in into a new buffer with a gzip wrapper; returns it (its length in
 * *@out_len) or NULL + errno (ENOMEM, EFBIG beyond 4 GiB, EIO). Caller frees.
 */
char *gzip_compress(const char *in, size_t len, size_t *out_len);

#endif
