// SPDX-License-Identifier: MIT
/* JSON text written straight into a growing buffer; see jbuf.h. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/grow.h"
#include "util/jbuf.h"

/* UTF-8 encoding of U+FFFD REPLACEMENT CHARACTER. */
const char jb_utf8_replacement[] = "\xef\xbf\xbd";

/*
 * Returns the length of the well-formed UTF-8 sequence starting at @p, or 0 if the byte at @p
 * does not start one. Stops at the terminating NUL, which is never a continuation byte.
 */
size_t jb_utf8_seq_len(const unsigned char *p)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* E0 would be overlong below A0; ED A0..BF are UTF-16 surrogates. */
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f;
		if (p[1] < lo || p[1] > hi)
			return 0;
		return (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		/* F0 below 90 is overlong; F4 above 8F is beyond U+10FFFF. */
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
		if (p[1] < lo || p[1] > hi)
			return 0;
		if ((p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

bool jb_grow(struct jbuf *b, size_t more)
{
	if (!b->oom && grow(&b->p, &b->cap, b->len + more + 1, 1))
		b->oom = true;
	if (b->oom)
		return false;
	/* the text so far is a string even before anything is written */
	b->p[b->len] = '\0';
	return true;
}

/* Opens an array element: the comma before all but the first, then @open. */
void jb_elem(struct jbuf *b, bool first, const char *open)
{
	if (!first)
		JB_LIT(b, ",");
	jb_put(b, open, strlen(open));
}

/* True for a byte a JSON string holds as is: printable ASCII but '"' and '\\'. */
static inline bool jb_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*
 * True when one of the 8 bytes of @w is not plain: the word-at-a-time tests for a byte below
 * 0x20, with its top bit set, or equal to '"' or '\\' (exact as a yes/no answer, which is all
 * that is asked: the bytes themselves are then looked at one by one).
 */
static inline bool jb_word_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
	uint64_t low = (w - ones * 0x20) & ~w, zq = (q - ones) & ~q, zbs = (bs - ones) & ~bs;

	return ((low | zq | zbs | w) & tops) != 0;
}

/* The number of plain bytes at the start of the @len bytes at @p. */
static size_t jb_plain_run(const unsigned char *p, size_t len)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, sizeof(w));
		if (jb_word_special(w))
			break;
	}
	/* the last bytes of a string of 8 or more: the word that ends with them, once */
	if (i < len && i + 8 > len && len >= 8) {
		memcpy(&w, p + len - 8, sizeof(w));
		if (!jb_word_special(w))
			return len;
	}
	while (i < len && jb_plain(p[i]))
		i++;
	return i;
}

bool jb_is_plain(const char *s, size_t len)
{
	return jb_plain_run((const unsigned char *)s, len) == len;
}

/* Writes the escape or UTF-8 sequence for the non-plain byte at @p; returns the bytes taken. */
static size_t jb_str_special(struct jbuf *b, const unsigned char *p)
{
	static const char hex[] = "0123456789abcdef";
	size_t len;

	if (*p == '"' || *p == '\\') {
		char esc[2] = {'\\', (char)*p};

		jb_put(b, esc, 2);
		return 1;
	}
	if (*p < 0x20) {
		char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xf]};

		switch (*p) {
		case '\n':
			JB_LIT(b, "\\n");
			break;
		case '\r':
			JB_LIT(b, "\\r");
			break;
		case '\t':
			JB_LIT(b, "\\t");
			break;
		case '\b':
			JB_LIT(b, "\\b");
			break;
		case '\f':
			JB_LIT(b, "\\f");
			break;
		default:
			jb_put(b, esc, sizeof(esc));
		}
		return 1;
	}
	len = jb_utf8_seq_len(p);
	if (len) {
		jb_put(b, (const char *)p, len);
		return len;
	}
	jb_put(b, jb_utf8_replacement, sizeof(jb_utf8_replacement) - 1);
	return 1;
}

/*
 * A JSON string: escapes as RFC 8259 requires, invalid UTF-8 bytes become U+FFFD. Room for the
 * string as it is is made once; plain runs (all of most strings) are then copied without a
 * check per byte, and only an escape makes room again.
 */
void jb_str(struct jbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t len = strlen((const char *)p);

	/* invariant below: room for the @len bytes left, the closing quote and the NUL */
	if (!jb_room(b, len + 2))
		return;
	b->p[b->len++] = '"';
	while (len) {
		size_t run = jb_plain_run(p, len), used;

		memcpy(b->p + b->len, p, run);
		b->len += run;
		p += run;
		len -= run;
		if (!len)
			break;
		used = jb_str_special(b, p);
		p += used;
		len -= used;
		if (!jb_room(b, len + 1))
			return;
	}
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

/* "key": with a literal key (no escaping needed) and the separator before it when not first */
void jb_key(struct jbuf *b, bool first, const char *key)
{
	if (!first)
		JB_LIT(b, ",");
	JB_LIT(b, "\"");
	jb_put(b, key, strlen(key));
	JB_LIT(b, "\":");
}

/*
 * Writes the decimal digits of @v so that they end just before @end; returns where they start.
 * Two digits per division: this runs several times per span.
 */
static char *jb_digits(char *end, uint64_t v)
{
	static const char pairs[] = "00010203040506070809"
				    "10111213141516171819"
				    "20212223242526272829"
				    "30313233343536373839"
				    "40414243444546474849"
				    "50515253545556575859"
				    "60616263646566676869"
				    "70717273747576777879"
				    "80818283848586878889"
				    "90919293949596979899";

	while (v >= 100) {
		end -= 2;
		memcpy(end, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, pairs + 2 * v, 2);
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

/*
 * Appends @v in decimal, after a '-' when @neg, between quotes when @quoted. 20 digits, a sign
 * and two quotes fit in the buffer.
 */
static void jb_decimal(struct jbuf *b, uint64_t v, bool neg, bool quoted)
{
	char buf[24], *end = buf + sizeof(buf), *p = end;

	if (quoted)
		*--p = '"';
	p = jb_digits(p, v);
	if (neg)
		*--p = '-';
	if (quoted)
		*--p = '"';
	jb_put(b, p, (size_t)(end - p));
}

/* int64 and uint64 are decimal strings in OTLP JSON: JSON numbers lose precision past 2^53. */
void jb_i64(struct jbuf *b, int64_t v)
{
	/* the magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64_t */
	jb_decimal(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, true);
}

void jb_u64(struct jbuf *b, uint64_t v)
{
	jb_decimal(b, v, false, true);
}

/* The two lowercase hex digits of every byte value: ids are written a byte (two digits) a step. */
#define JB_HEX_DIGIT(d) ((char)((d) < 10 ? '0' + (d) : 'a' + (d)-10))
#define JB_HEX_PAIR(n)                                                                             \
	{                                                                                          \
		JB_HEX_DIGIT((n) >> 4), JB_HEX_DIGIT((n)&0xf)                                      \
	}
#define JB_HEX_4(n) JB_HEX_PAIR(n), JB_HEX_PAIR(n + 1), JB_HEX_PAIR(n + 2), JB_HEX_PAIR(n + 3)
#define JB_HEX_16(n) JB_HEX_4(n), JB_HEX_4(n + 4), JB_HEX_4(n + 8), JB_HEX_4(n + 12)
#define JB_HEX_64(n) JB_HEX_16(n), JB_HEX_16(n + 16), JB_HEX_16(n + 32), JB_HEX_16(n + 48)
static const char jb_hex_pairs[256][2] = {JB_HEX_64(0), JB_HEX_64(64), JB_HEX_64(128),
					  JB_HEX_64(192)};

void jb_hex(struct jbuf *b, const uint8_t *id, size_t len)
{
	char *o;
	size_t i;

	if (!jb_room(b, 2 * len + 2))
		return;
	o = b->p + b->len;
	*o++ = '"';
	for (i = 0; i < len; i++)
		memcpy(o + 2 * i, jb_hex_pairs[id[i]], 2);
	o[2 * len] = '"';
	b->len += 2 * len + 2;
	b->p[b->len] = '\0';
}

void jb_double(struct jbuf *b, double d)
{
	char buf[40];
	int n;

	/* proto3 JSON spells the non-finite values as strings */
	if (isnan(d)) {
		JB_LIT(b, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		if (d > 0)
			JB_LIT(b, "\"Infinity\"");
		else
			JB_LIT(b, "\"-Infinity\"");
		return;
	}
	if (d == 0 && signbit(d)) {
		JB_LIT(b, "-0.0");
		return;
	}
	/* the shortest of %.15g / %.17g that reads back equal: doubles round-trip */
	n = snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		n = snprintf(buf, sizeof(buf), "%.17g", d);
	jb_put(b, buf, (size_t)n);
}

void jb_int(struct jbuf *b, int v)
{
	jb_decimal(b, v < 0 ? 0 - (uint64_t)(int64_t)v : (uint64_t)v, v < 0, false);
}
