// SPDX-License-Identifier: MIT
/* Unit tests for body.c: streaming gzip / deflate / identity content decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/body.h"

#include "lib/compress.h"

/*
 * body_decoder_feed() over a plain pointer and length; passing the length as the capacity is
 * always safe (the decoder then grows from there).
 */
static int feed(struct body_decoder *d, const uint8_t *in, size_t len, uint8_t **out,
		size_t *out_len, size_t max_out, size_t *dropped)
{
	struct body_buf b = {*out, *out_len, *out_len, max_out, *dropped};
	int rc = body_decoder_feed(d, in, len, &b);

	*out = b.data;
	*out_len = b.len;
	*dropped = b.dropped;
	return rc;
}

/* Deterministic text with enough repetition to compress and enough variety to be checked. */
static uint8_t *sample(size_t len)
{
	uint8_t *b = malloc(len ? len : 1);
	uint32_t x = 12345;
	size_t i;

	assert_non_null(b);
	for (i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		b[i] = (uint8_t)("abcdefgh {}\":,\n"[(x >> 16) % 15]);
	}
	return b;
}

/* Decodes @in with @enc, @step bytes per feed; returns the output (caller frees). */
static uint8_t *decode_all(const char *enc, const uint8_t *in, size_t len, size_t step,
			   size_t max_out, size_t *out_len, size_t *dropped, int *feed_rc,
			   int *finish_rc)
{
	struct body_decoder *d = body_decoder_new(enc);
	uint8_t *out = NULL;
	size_t off, n;
	int rc;

	assert_non_null(d);
	*out_len = 0;
	*dropped = 0;
	*feed_rc = 0;
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		rc = feed(d, in + off, n, &out, out_len, max_out, dropped);
		if (rc && !*feed_rc)
			*feed_rc = rc;
	}
	*finish_rc = body_decoder_finish(d);
	body_decoder_free(d);
	return out;
}

static void check_roundtrip(const char *enc, int wbits, size_t len, size_t step)
{
	uint8_t *plain = sample(len), *z, *out;
	size_t zlen, out_len, dropped;
	int frc, drc;

	z = zcompress(plain, len, wbits, &zlen);
	out = decode_all(enc, z, zlen, step, SIZE_MAX, &out_len, &dropped, &frc, &drc);
	assert_int_equal(frc, 0);
	assert_int_equal(drc, 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(out_len, len);
	if (len)
		assert_memory_equal(out, plain, len);
	free(out);
	free(z);
	free(plain);
}

static void test_body_identity_passthrough(void **state)
{
	const char *encs[] = {NULL, "", "identity", " Identity , ", ","};
	uint8_t *out = NULL;
	size_t out_len = 0, dropped = 0, i;

	(void)state;
	for (i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
		struct body_decoder *d = body_decoder_new(encs[i]);

		assert_non_null(d);
		assert_int_equal(feed(d, (const uint8_t *)"abc", 3, &out, &out_len, 100, &dropped),
				 0);
		assert_int_equal(body_decoder_finish(d), 0);
		body_decoder_free(d);
	}
	assert_int_equal(out_len, 15);
	assert_memory_equal(out, "abcabcabcabcabc", 15);
	free(out);
}

static void test_body_unsupported_rejected(void **state)
{
	const char *bad[] = {"br",	 "gzip, br", "zstd",
			     "compress", "gz ip",    "gzip,gzip,gzip,gzip,gzip"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(body_decoder_new(bad[i]));
		assert_int_equal(errno, EINVAL);
	}
}

static void test_body_gzip_roundtrip_any_split(void **state)
{
	(void)state;
	check_roundtrip("gzip", 31, 100000, 100000);
	check_roundtrip("gzip", 31, 5000, 1);
	check_roundtrip("gzip", 31, 5000, 7);
	check_roundtrip("x-gzip", 31, 3000, 13);
	check_roundtrip("GZip", 31, 3000, 4096);
	check_roundtrip("gzip", 31, 0, 1);
}

static void test_body_deflate_zlib_and_raw(void **state)
{
	size_t len;

	(void)state;
	for (len = 0; len < 2000; len += 97) {
		check_roundtrip("deflate", 15, len, 1);
		check_roundtrip("deflate", -15, len, 1);
		check_roundtrip("deflate", -15, len, 3);
		check_roundtrip("deflate", 15, len, 100000);
	}
}

static void test_body_gzip_multi_member(void **state)
{
	uint8_t *a = sample(1000), *za, *zb, *cat, *out;
	size_t zal, zbl, out_len, dropped;
	int frc, drc;

	(void)state;
	za = zcompress(a, 1000, 31, &zal);
	zb = zcompress((const uint8_t *)"tail", 4, 31, &zbl);
	cat = malloc(zal + zbl);
	memcpy(cat, za, zal);
	memcpy(cat + zal, zb, zbl);
	out = decode_all("gzip", cat, zal + zbl, 5, SIZE_MAX, &out_len, &dropped, &frc, &drc);
	assert_int_equal(frc, 0);
	assert_int_equal(drc, 0);
	assert_int_equal(out_len, 1004);
	assert_memory_equal(out, a, 1000);
	assert_memory_equal(out + 1000, "tail", 4);
	free(out);
	free(cat);
	free(za);
	free(zb);
	free(a);
}

static void test_body_trailing_bytes_ignored(void **state)
{
	uint8_t *z, *buf, *out;
	size_t zl, out_len, dropped;
	int frc, drc;

	(void)state;
	z = zcompress((const uint8_t *)"payload", 7, 15, &zl);
	buf = malloc(zl + 3);
	memcpy(buf, z, zl);
	memcpy(buf + zl, "\0\0\n", 3);
	out = decode_all("deflate", buf, zl + 3, 1, SIZE_MAX, &out_len, &dropped, &frc, &drc);
	assert_int_equal(frc, 0);
	assert_int_equal(drc, 0);
	assert_int_equal(out_len, 7);
	assert_memory_equal(out, "payload", 7);
	free(out);
	free(buf);
	free(z);
}

static void test_body_corrupt_is_ebadmsg(void **state)
{
	uint8_t *plain = sample(4000), *z, *out = NULL;
	size_t zl, out_len = 0, dropped = 0;
	struct body_decoder *d;

	(void)state;
	z = zcompress(plain, 4000, 31, &zl);
	z[zl / 2] ^= 0x55;
	z[zl / 2 + 1] ^= 0xaa;
	d = body_decoder_new("gzip");
	assert_int_equal(feed(d, z, zl, &out, &out_len, SIZE_MAX, &dropped), -EBADMSG);
	/* once failed, always failed */
	assert_int_equal(feed(d, z, 1, &out, &out_len, SIZE_MAX, &dropped), -EBADMSG);
	assert_int_equal(body_decoder_finish(d), -EBADMSG);
	body_decoder_free(d);
	free(out);

	/* not gzip at all */
	out = NULL;
	out_len = 0;
	d = body_decoder_new("gzip");
	assert_int_equal(
	    feed(d, (const uint8_t *)"{\"json\":1}", 10, &out, &out_len, SIZE_MAX, &dropped),
	    -EBADMSG);
	body_decoder_free(d);
	free(out);
	free(z);
	free(plain);
}

static void test_body_crc_mismatch_detected(void **state)
{
	uint8_t *z, *out;
	size_t zl, out_len, dropped;
	int frc, drc;

	(void)state;
	z = zcompress((const uint8_t *)"checksummed", 11, 31, &zl);
	z[zl - 8] ^= 1; /* CRC32 in the gzip trailer */
	out = decode_all("gzip", z, zl, 1, SIZE_MAX, &out_len, &dropped, &frc, &drc);
	assert_int_equal(frc, -EBADMSG);
	assert_int_equal(drc, -EBADMSG);
	free(out);
	free(z);
}

static void test_body_truncated_stream_fails_finish(void **state)
{
	uint8_t *plain = sample(3000), *z, *out;
	size_t zl, out_len, dropped;
	int frc, drc;

	(void)state;
	z = zcompress(plain, 3000, 31, &zl);
	out = decode_all("gzip", z, zl - 5, 64, SIZE_MAX, &out_len, &dropped, &frc, &drc);
	assert_int_equal(frc, 0);
	assert_int_equal(drc, -EBADMSG);
	free(out);
	/* one byte of deflate is not a stream either */
	out = decode_all("deflate", z, 1, 1, SIZE_MAX, &out_len, &dropped, &frc, &drc);
	assert_int_equal(drc, -EBADMSG);
	assert_int_equal(out_len, 0);
	free(out);
	free(z);
	free(plain);
}

static void test_body_empty_input_finishes_clean(void **state)
{
	struct body_decoder *d = body_decoder_new("gzip");
	uint8_t *out = NULL;
	size_t out_len = 0, dropped = 0;

	(void)state;
	assert_int_equal(feed(d, NULL, 0, &out, &out_len, 10, &dropped), 0);
	assert_int_equal(body_decoder_finish(d), 0);
	assert_null(out);
	body_decoder_free(d);
	body_decoder_free(NULL);
}

static void test_body_limit_counts_dropped(void **state)
{
	uint8_t *plain = sample(50000), *z, *out;
	size_t zl, out_len, dropped;
	int frc, drc;

	(void)state;
	z = zcompress(plain, 50000, 31, &zl);
	out = decode_all("gzip", z, zl, 999, 12345, &out_len, &dropped, &frc, &drc);
	assert_int_equal(frc, -E2BIG);
	assert_int_equal(drc, 0);
	assert_int_equal(out_len, 12345);
	assert_int_equal(dropped, 50000 - 12345);
	assert_memory_equal(out, plain, 12345);
	free(out);

	/* identity obeys the same limit */
	out = decode_all(NULL, plain, 100, 30, 40, &out_len, &dropped, &frc, &drc);
	assert_int_equal(frc, -E2BIG);
	assert_int_equal(out_len, 40);
	assert_int_equal(dropped, 60);
	free(out);

	/* max_out 0: nothing stored, everything counted */
	out = decode_all("gzip", z, zl, zl, 0, &out_len, &dropped, &frc, &drc);
	assert_null(out);
	assert_int_equal(out_len, 0);
	assert_int_equal(dropped, 50000);
	free(z);
	free(plain);
}

static void test_body_bomb_bounded(void **state)
{
	size_t len = 64u << 20, zl, out_len, dropped;
	uint8_t *zeros = calloc(1, len), *z, *out;
	int frc, drc;

	(void)state;
	z = zcompress(zeros, len, 31, &zl);
	free(zeros);
	assert_true(zl < len / 500);
	out = decode_all("gzip", z, zl, 16384, 1 << 20, &out_len, &dropped, &frc, &drc);
	assert_int_equal(frc, -E2BIG);
	assert_int_equal(drc, 0);
	assert_int_equal(out_len, 1 << 20);
	assert_int_equal(dropped, len - (1 << 20));
	free(out);
	free(z);
}

static void test_body_stacked_codings(void **state)
{
	uint8_t *plain = sample(7000), *z1, *z2, *out;
	size_t l1, l2, out_len, dropped;
	int frc, drc;

	(void)state;
	/* "deflate, gzip": deflate was applied first, so gzip is undone first */
	z1 = zcompress(plain, 7000, 15, &l1);
	z2 = zcompress(z1, l1, 31, &l2);
	out = decode_all("deflate, identity, gzip", z2, l2, 3, SIZE_MAX, &out_len, &dropped, &frc,
			 &drc);
	assert_int_equal(frc, 0);
	assert_int_equal(drc, 0);
	assert_int_equal(out_len, 7000);
	assert_memory_equal(out, plain, 7000);
	free(out);
	/* the wrong order cannot decode */
	out = decode_all("gzip, deflate", z2, l2, l2, SIZE_MAX, &out_len, &dropped, &frc, &drc);
	assert_int_equal(frc, -EBADMSG);
	free(out);
	free(z1);
	free(z2);
	free(plain);
}

static void test_body_appends_to_existing_buffer(void **state)
{
	struct body_decoder *d = body_decoder_new("deflate");
	uint8_t *z, *out = malloc(3);
	size_t zl, out_len = 3, dropped = 0;

	(void)state;
	memcpy(out, "pre", 3);
	z = zcompress((const uint8_t *)"fix", 3, -15, &zl);
	assert_int_equal(feed(d, z, zl, &out, &out_len, 100, &dropped), 0);
	assert_int_equal(body_decoder_finish(d), 0);
	assert_int_equal(out_len, 6);
	assert_memory_equal(out, "prefix", 6);
	body_decoder_free(d);
	free(z);
	free(out);
}

/* ---- body_store_omit ---- */

static void test_body_omit_counts_not_stores(void **state)
{
	struct body_store b = {0};
	struct http_msg m = {0};

	(void)state;
	body_store_begin(&b, &m, NULL, 1000);
	body_store_data(&b, &m, (const uint8_t *)"abc", 3, 10);
	body_store_omit(&b, &m, 100, 20);
	assert_int_equal(m.wire_body_len, 103);
	assert_int_equal(m.omitted_bytes, 100);
	assert_int_equal(m.body_len, 3);
	assert_int_equal(m.first_body_ns, 10);
	assert_int_equal(m.end_ns, 20);
	assert_false(m.truncated);
	assert_int_equal(m.lost_bytes, 0);
	assert_true(b.frozen);
	/* later bytes are counted and timed, not stored */
	body_store_data(&b, &m, (const uint8_t *)"def", 3, 30);
	assert_int_equal(m.wire_body_len, 106);
	assert_int_equal(m.body_len, 3);
	assert_memory_equal(m.body, "abc", 3);
	assert_int_equal(m.end_ns, 30);
	assert_int_equal(m.n_body_ts, 1);
	body_store_omit(&b, &m, 7, 40);
	assert_int_equal(m.omitted_bytes, 107);
	assert_int_equal(m.wire_body_len, 113);
	assert_int_equal(m.end_ns, 40);
	body_store_end(&b, &m, true);
	assert_false(m.truncated);
	assert_null(m.error);
	http_msg_clear(&m);
}

static void test_body_omit_first_bytes(void **state)
{
	struct body_store b = {0};
	struct http_msg m = {0};

	(void)state;
	body_store_begin(&b, &m, NULL, 1000);
	body_store_omit(&b, &m, 50, 77);
	assert_int_equal(m.first_body_ns, 77);
	assert_int_equal(m.end_ns, 77);
	assert_int_equal(m.body_len, 0);
	assert_null(m.body);
	assert_int_equal(m.n_body_ts, 0);
	body_store_data(&b, &m, (const uint8_t *)"x", 1, 80);
	assert_int_equal(m.first_body_ns, 77);
	assert_int_equal(m.body_len, 0);
	assert_int_equal(m.wire_body_len, 51);
	/* a gap after an omission is still a loss */
	body_store_gap(&b, &m, 9, 90);
	assert_true(m.truncated);
	assert_int_equal(m.lost_bytes, 9);
	assert_int_equal(m.omitted_bytes, 50);
	assert_int_equal(m.wire_body_len, 60);
	body_store_end(&b, &m, true);
	http_msg_clear(&m);
}

/* a coded body cut by an omission is not a truncated coding stream: decoding just stopped */
static void test_body_omit_coded_no_error(void **state)
{
	uint8_t *in = sample(4000), *z;
	struct body_store b = {0};
	struct http_msg m = {0};
	size_t zl;

	(void)state;
	z = zcompress(in, 4000, 31, &zl);
	assert_true(zl > 20);
	body_store_begin(&b, &m, "gzip", 100000);
	body_store_data(&b, &m, z, 10, 5);
	body_store_omit(&b, &m, zl - 10, 6);
	assert_int_equal(m.wire_body_len, zl);
	assert_int_equal(m.omitted_bytes, zl - 10);
	body_store_end(&b, &m, true);
	assert_null(m.error);
	assert_false(m.truncated);
	assert_true(m.body_len < 4000);
	assert_int_equal(m.end_ns, 6);
	http_msg_clear(&m);
	free(z);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_body_identity_passthrough),
	    cmocka_unit_test(test_body_unsupported_rejected),
	    cmocka_unit_test(test_body_gzip_roundtrip_any_split),
	    cmocka_unit_test(test_body_deflate_zlib_and_raw),
	    cmocka_unit_test(test_body_gzip_multi_member),
	    cmocka_unit_test(test_body_trailing_bytes_ignored),
	    cmocka_unit_test(test_body_corrupt_is_ebadmsg),
	    cmocka_unit_test(test_body_crc_mismatch_detected),
	    cmocka_unit_test(test_body_truncated_stream_fails_finish),
	    cmocka_unit_test(test_body_empty_input_finishes_clean),
	    cmocka_unit_test(test_body_limit_counts_dropped),
	    cmocka_unit_test(test_body_bomb_bounded),
	    cmocka_unit_test(test_body_stacked_codings),
	    cmocka_unit_test(test_body_appends_to_existing_buffer),
	    cmocka_unit_test(test_body_omit_counts_not_stores),
	    cmocka_unit_test(test_body_omit_first_bytes),
	    cmocka_unit_test(test_body_omit_coded_no_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
