// SPDX-License-Identifier: MIT
/* JSON text written straight into a growing buffer; see jbuf.h. */
#include <inttypes.h>
#include <math.h>
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

void jb_grow(struct jbuf *b, size_t more)
{
	if (!b->oom && grow(&b->p, &b->cap, b->len + more + 1, 1))
		b->oom = true;
	/* the text so far is a string even before anything is written */
	if (!b->oom)
		b->p[b->len] = '\0';
}

/* Opens an array element: the comma before all but the first, then @open. */
void jb_elem(struct jbuf *b, bool first, const char *open)
{
	if (!first)
		JB_LIT(b, ",");
	jb_put(b, open, strlen(open));
}

/* A JSON string: escapes as RFC 8259 requires, invalid UTF-8 bytes become U+FFFD. */
void jb_str(struct jbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	JB_LIT(b, "\"");
	while (*p) {
		size_t run = 0, len;

		/* plain ASCII runs are copied at once */
		while (p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
			run++;
		if (run) {
			jb_put(b, (const char *)p, run);
			p += run;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			char esc[2] = {'\\', (char)*p};

			jb_put(b, esc, 2);
			p++;
		} else if (*p < 0x20) {
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
			p++;
		} else if ((len = jb_utf8_seq_len(p))) {
			jb_put(b, (const char *)p, len);
			p += len;
		} else {
			jb_put(b, jb_utf8_replacement, sizeof(jb_utf8_replacement) - 1);
			p++;
		}
	}
	JB_LIT(b, "\"");
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

/* int64 and uint64 are decimal strings in OTLP JSON: JSON numbers lose precision past 2^53. */
void jb_i64(struct jbuf *b, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "\"%" PRId64 "\"", v);

	jb_put(b, buf, (size_t)n);
}

void jb_u64(struct jbuf *b, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "\"%" PRIu64 "\"", v);

	jb_put(b, buf, (size_t)n);
}

void jb_hex(struct jbuf *b, const uint8_t *id, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	jb_reserve(b, 2 * len + 2);
	if (b->oom)
		return;
	b->p[b->len++] = '"';
	for (i = 0; i < len; i++) {
		b->p[b->len++] = hex[id[i] >> 4];
		b->p[b->len++] = hex[id[i] & 0xf];
	}
	b->p[b->len++] = '"';
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
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", v);

	jb_put(b, buf, (size_t)n);
}
