// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for body.c. Byte 0 picks the coding list and the mode, byte 1 the output
 * limit and byte 2 the feed size. In decode mode the rest is fed to the decoder as is; in
 * round-trip mode it is first compressed with zlib and must come back byte for byte.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/body.h"

#include "../lib/compress.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static const char *const encodings[] = {
    NULL, "gzip", "deflate", "x-gzip", "identity", "deflate, gzip", "gzip, gzip", "br",
};

/* Feeds @in in @step pieces; returns the first error (other than -E2BIG) or 0. */
static int decode(struct body_decoder *d, const uint8_t *in, size_t len, size_t step,
		  size_t max_out, uint8_t **out, size_t *out_len, size_t *dropped)
{
	size_t off, n, before;
	int rc, err = 0;

	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		before = *out_len + *dropped;
		rc = body_decoder_feed(d, in + off, n, out, out_len, max_out, dropped);
		CHECK(rc == 0 || rc == -E2BIG || rc == -EBADMSG);
		CHECK(*out_len <= max_out);
		CHECK(*out_len + *dropped >= before);
		CHECK(rc != -E2BIG || *out_len == max_out);
		if (rc == -EBADMSG && !err)
			err = rc;
		/* a failed decoder stays failed */
		if (err)
			CHECK(body_decoder_feed(d, in, 1, out, out_len, max_out, dropped) ==
			      -EBADMSG);
	}
	return err;
}

static void roundtrip(const uint8_t *in, size_t len, int wbits, const char *enc, size_t step)
{
	size_t zlen, out_len = 0, dropped = 0;
	uint8_t *z = zcompress(in, len, wbits, &zlen), *out = NULL;
	struct body_decoder *d;

	d = body_decoder_new(enc);
	CHECK(d);
	CHECK(decode(d, z, zlen, step, SIZE_MAX, &out, &out_len, &dropped) == 0);
	CHECK(body_decoder_finish(d) == 0);
	CHECK(out_len == len && dropped == 0);
	CHECK(len == 0 || memcmp(out, in, len) == 0);
	body_decoder_free(d);
	free(out);
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = {0, 1, 100, 4096, 65536, SIZE_MAX};
	struct body_decoder *d;
	const char *enc;
	uint8_t *out = NULL;
	size_t max_out, step, out_len = 0, dropped = 0;
	int err;

	if (size < 3)
		return 0;
	enc = encodings[data[0] & 7];
	max_out = limits[data[1] % 6];
	step = (size_t)data[2] + 1;
	if (data[0] & 0x80) {
		static const int wbits[] = {31, 15, -15};
		static const char *const names[] = {"gzip", "deflate", "deflate"};
		unsigned int k = (data[0] >> 4) % 3;

		roundtrip(data + 3, size - 3, wbits[k], names[k], step);
		return 0;
	}
	d = body_decoder_new(enc);
	if (!d) {
		CHECK(errno == EINVAL);
		return 0;
	}
	err = decode(d, data + 3, size - 3, step, max_out, &out, &out_len, &dropped);
	if (err)
		CHECK(body_decoder_finish(d) == -EBADMSG);
	else
		(void)body_decoder_finish(d);
	body_decoder_free(d);
	free(out);
	return 0;
}
