// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for body.c. Byte 0 picks the coding list and the mode, byte 1 the output
 * limit and byte 2 the feed size. In decode mode the rest is fed to the decoder as is; in
 * round-trip mode it is first compressed with zlib and must come back byte for byte; in store
 * mode it is a message body given to the body store, which must follow body.h's rule.
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
		  struct body_buf *out)
{
	size_t off, n, before;
	int rc, err = 0;

	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		before = out->len + out->dropped;
		rc = body_decoder_feed(d, in + off, n, out);
		CHECK(rc == 0 || rc == -E2BIG || rc == -EBADMSG);
		CHECK(out->len <= out->max && out->len <= out->cap);
		CHECK(out->len + out->dropped >= before);
		CHECK(rc != -E2BIG || out->len == out->max);
		if (rc == -EBADMSG && !err)
			err = rc;
		/* a failed decoder stays failed */
		if (err)
			CHECK(body_decoder_feed(d, in, 1, out) == -EBADMSG);
	}
	return err;
}

/* The body of one message through the store, as the HTTP/1.1 and HTTP/2 parsers use it. */
static void store(const char *enc, const uint8_t *in, size_t len, size_t step, size_t max)
{
	struct body_store b = {0};
	struct http_msg m = {0};
	size_t off, n, i;
	uint64_t ts = 1;

	body_store_begin(&b, &m, enc, max);
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		body_store_data(&b, &m, in + off, n, ts++);
		CHECK(m.body_len <= max);
	}
	body_store_end(&b, &m, true);
	CHECK(m.wire_body_len == len);
	CHECK(m.body_len <= max && (m.body_len == 0 || m.body));
	for (i = 0; i < m.n_body_ts; i++)
		CHECK(m.body_ts[i].off <= m.body_len &&
		      (i == 0 || m.body_ts[i].off > m.body_ts[i - 1].off));
	if (m.error) {
		/* not decodable: the bytes as received, truncated only by the limit */
		CHECK(!strcmp(m.error, BODY_ERR_CORRUPT) || !strcmp(m.error, BODY_ERR_TRUNCATED) ||
		      !strcmp(m.error, BODY_ERR_UNSUPPORTED));
		CHECK(m.body_len == (len < max ? len : max));
		CHECK(m.body_len == 0 || memcmp(m.body, in, m.body_len) == 0);
		CHECK(m.truncated == (len > max));
	} else if (!enc || !strcmp(enc, "identity")) {
		CHECK(m.body_len == (len < max ? len : max));
		CHECK(m.truncated == (len > max));
	}
	http_msg_clear(&m);
}

static void roundtrip(const uint8_t *in, size_t len, int wbits, const char *enc, size_t step)
{
	struct body_buf out = {.max = SIZE_MAX};
	size_t zlen;
	uint8_t *z = zcompress(in, len, wbits, &zlen);
	struct body_decoder *d;

	d = body_decoder_new(enc);
	CHECK(d);
	CHECK(decode(d, z, zlen, step, &out) == 0);
	CHECK(body_decoder_finish(d) == 0);
	CHECK(out.len == len && out.dropped == 0);
	CHECK(len == 0 || memcmp(out.data, in, len) == 0);
	body_decoder_free(d);
	free(out.data);
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = {0, 1, 100, 4096, 65536, SIZE_MAX};
	struct body_buf out = {0};
	struct body_decoder *d;
	const char *enc;
	size_t step;
	int err;

	if (size < 3)
		return 0;
	enc = encodings[data[0] & 7];
	out.max = limits[data[1] % 6];
	step = (size_t)data[2] + 1;
	if ((data[0] & 0xc0) == 0x40) {
		store(enc, data + 3, size - 3, step, out.max);
		return 0;
	}
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
	err = decode(d, data + 3, size - 3, step, &out);
	if (err)
		CHECK(body_decoder_finish(d) == -EBADMSG);
	else
		(void)body_decoder_finish(d);
	body_decoder_free(d);
	free(out.data);
	return 0;
}
