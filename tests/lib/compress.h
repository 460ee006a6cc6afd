/* SPDX-License-Identifier: MIT */
/*
 * Test support: compressing a body with zlib, to feed the decoders what a server would send.
 * Header-only; every function is static.
 */
#ifndef BT_TEST_COMPRESS_H
#define BT_TEST_COMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "check.h"

/*
 * Compresses @len bytes at @in: @wbits 31 (15 + 16) = gzip, 15 = zlib, -15 = raw deflate.
 * Returns a new buffer of *@out_len bytes (caller frees).
 */
static inline uint8_t *zcompress(const void *in, size_t len, int wbits, size_t *out_len)
{
	z_stream zs = {0};
	uint8_t *out;
	size_t cap;

	TL_CHECK(deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	cap = deflateBound(&zs, (uLong)len);
	out = malloc(cap ? cap : 1);
	TL_CHECK(out != NULL);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	TL_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

#endif
