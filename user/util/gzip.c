// SPDX-License-Identifier: MIT
/* gzip compression of a buffer. See gzip.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <zlib.h>

#include "util/gzip.h"

char *gzip_compress(const char *in, size_t len, size_t *out_len)
{
	z_stream z = {0};
	char *out = NULL;
	uLong cap;

	if (len > UINT_MAX) {
		errno = EFBIG;
		return NULL;
	}
	/* windowBits 15 + 16: a gzip wrapper, as Content-Encoding: gzip means, not zlib's */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		errno = ENOMEM;
		return NULL;
	}
	cap = deflateBound(&z, (uLong)len);
	out = malloc(cap);
	if (!out) {
		errno = ENOMEM;
		goto cleanup;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		free(out);
		out = NULL;
		errno = EIO;
		goto cleanup;
	}
	*out_len = z.total_out;
cleanup:
	deflateEnd(&z);
	return out;
}
