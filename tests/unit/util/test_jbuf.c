// SPDX-License-Identifier: MIT
/*
 * Tests for user/util/jbuf.c: integers against printf's decimal digits, and strings against a
 * byte-at-a-time escaper written from RFC 8259 (the writer copies plain runs a word at a time,
 * so every special byte is tried at every position of a word and across word boundaries).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jbuf.h"

/* The text of one writer call on an empty buffer (freed by the next call). */
static const char *one(void (*put)(struct jbuf *b, const void *arg), const void *arg)
{
	static struct jbuf b;

	free(b.p);
	memset(&b, 0, sizeof(b));
	put(&b, arg);
	assert_false(b.oom);
	assert_int_equal(strlen(b.p), b.len);
	return b.p;
}

static void put_i64(struct jbuf *b, const void *arg)
{
	jb_i64(b, *(const int64_t *)arg);
}

static void put_u64(struct jbuf *b, const void *arg)
{
	jb_u64(b, *(const uint64_t *)arg);
}

static void put_int(struct jbuf *b, const void *arg)
{
	jb_int(b, *(const int *)arg);
}

static void put_str(struct jbuf *b, const void *arg)
{
	jb_str(b, arg);
}

static void check_i64(int64_t v)
{
	char want[32];

	snprintf(want, sizeof(want), "\"%" PRId64 "\"", v);
	assert_string_equal(one(put_i64, &v), want);
}

static void check_u64(uint64_t v)
{
	char want[32];

	snprintf(want, sizeof(want), "\"%" PRIu64 "\"", v);
	assert_string_equal(one(put_u64, &v), want);
}

static void check_int(int v)
{
	char want[32];

	snprintf(want, sizeof(want), "%d", v);
	assert_string_equal(one(put_int, &v), want);
}

static void test_jbuf_integers(void **state)
{
	uint64_t p = 1, x = 0x9e3779b97f4a7c15ull;
	int i;

	(void)state;
	check_i64(0);
	check_i64(-1);
	check_i64(INT64_MAX);
	check_i64(INT64_MIN);
	check_u64(0);
	check_u64(UINT64_MAX);
	check_int(0);
	check_int(-7);
	check_int(INT_MAX);
	check_int(INT_MIN);
	/* every digit count, and both sides of each power of ten */
	for (i = 0; i < 20; i++, p *= 10) {
		check_u64(p);
		check_u64(p - 1);
		check_u64(p + 1);
		check_i64((int64_t)(p / 2));
		check_i64(-(int64_t)(p / 2) - 1);
	}
	for (i = 0; i < 10000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_u64(x >> (i % 64));
		check_i64((int64_t)(x >> (i % 64)) * (i % 2 ? -1 : 1));
		check_int((int)(x >> 32));
	}
}

/* RFC 8259 one byte at a time; bytes that are not well-formed UTF-8 become U+FFFD. */
static void reference(const unsigned char *p, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t len;

	*out++ = '"';
	while (*p) {
		if (*p == '"' || *p == '\\') {
			*out++ = '\\';
			*out++ = (char)*p++;
		} else if (*p < 0x20) {
			const char *named = *p == '\n'	 ? "\\n"
					    : *p == '\r' ? "\\r"
					    : *p == '\t' ? "\\t"
					    : *p == '\b' ? "\\b"
					    : *p == '\f' ? "\\f"
							 : NULL;

			if (named) {
				memcpy(out, named, 2);
				out += 2;
			} else {
				memcpy(out, "\\u00", 4);
				out[4] = hex[*p >> 4];
				out[5] = hex[*p & 0xf];
				out += 6;
			}
			p++;
		} else if ((len = jb_utf8_seq_len(p))) {
			memcpy(out, p, len);
			out += len;
			p += len;
		} else {
			memcpy(out, jb_utf8_replacement, 3);
			out += 3;
			p++;
		}
	}
	*out++ = '"';
	*out = '\0';
}

static void check_str(const char *s)
{
	char want[1024];

	reference((const unsigned char *)s, want);
	assert_string_equal(one(put_str, s), want);
}

static void test_jbuf_strings(void **state)
{
	/* one of each kind of byte that is not copied as is, and some that are */
	static const char *const specials[] = {
	    "\"",
	    "\\",
	    "\n",
	    "\r",
	    "\t",
	    "\b",
	    "\f",
	    "\x01",
	    "\x1f",
	    "\x7f",
	    "/",
	    "\xc3\xa9",
	    "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80",
	    "\xff",
	    "\xc3",
	    "\xe2\x82",
	    "\xed\xa0\x80",
	    "\xc0\xaf",
	    "\x80",
	    " ",
	    "~",
	    "\"\\\"",
	    "\x1f\x20\x21",
	};
	char s[128];
	size_t k, at, len;

	(void)state;
	check_str("");
	assert_string_equal(one(put_str, NULL), "\"\"");
	for (len = 0; len < 40; len++) {
		memset(s, 'a' + (int)(len % 26), len);
		s[len] = '\0';
		check_str(s);
	}
	for (k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
		for (at = 0; at < 26; at++) {
			for (len = at; len < at + 20; len += 9) {
				memset(s, 'x', sizeof(s));
				memcpy(s + at, specials[k], strlen(specials[k]));
				s[len + strlen(specials[k])] = '\0';
				check_str(s);
			}
		}
	}
	/* nothing but escapes: the output is six times the input */
	memset(s, '\x01', 100);
	s[100] = '\0';
	check_str(s);
}

/* Ids: every byte value as two lowercase hex digits, between quotes, against printf's. */
static void test_jbuf_hex_every_byte(void **state)
{
	uint8_t id[256];
	char want[2 * sizeof(id) + 3], *w = want;
	struct jbuf b = {0};
	size_t i;

	(void)state;
	*w++ = '"';
	for (i = 0; i < sizeof(id); i++) {
		id[i] = (uint8_t)(255 - i);
		w += sprintf(w, "%02x", id[i]);
	}
	strcpy(w, "\"");
	jb_hex(&b, id, sizeof(id));
	jb_hex(&b, id, 0);
	assert_false(b.oom);
	assert_int_equal(b.len, strlen(want) + 2);
	assert_memory_equal(b.p, want, strlen(want));
	assert_string_equal(b.p + strlen(want), "\"\"");
	free(b.p);
}

/* Strings are appended where the text is, with growth as they go. */
static void test_jbuf_appends(void **state)
{
	struct jbuf b = {0};
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		jb_str(&b, "a\"b");
		jb_i64(&b, -i);
	}
	assert_false(b.oom);
	assert_int_equal(b.len, strlen(b.p));
	assert_memory_equal(b.p, "\"a\\\"b\"\"0\"\"a\\\"b\"\"-1\"", 19);
	assert_string_equal(b.p + b.len - 12, "\"a\\\"b\"\"-999\"");
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jbuf_integers),
	    cmocka_unit_test(test_jbuf_strings),
	    cmocka_unit_test(test_jbuf_hex_every_byte),
	    cmocka_unit_test(test_jbuf_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
