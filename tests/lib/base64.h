/* SPDX-License-Identifier: MIT */
/*
 * Test support: base64 (RFC 4648, with padding) written independently of the decoder under test
 * (genai/bedrock_body.h), for the cassettes' !!binary bodies and the "bytes" of Bedrock chunks.
 * Header-only; every function is static.
 */
#ifndef BT_TEST_BASE64_H
#define BT_TEST_BASE64_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Writes the base64 of @n bytes at @in to @out (4 * ((n + 2) / 3) + 1 bytes, NUL-terminated). */
static inline void b64_encode(const void *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = in;
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

static inline int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes @len chars of base64 at @s (whitespace skipped, '=' ends it) into a new buffer of
 * *@out_len bytes (caller frees). Returns NULL on a character outside the alphabet.
 */
static inline uint8_t *b64_decode(const char *s, size_t len, size_t *out_len)
{
	uint8_t *out = malloc(len * 3 / 4 + 3);
	uint32_t acc = 0;
	int bits = 0;
	size_t i, n = 0;

	if (!out)
		return NULL;
	for (i = 0; i < len && s[i] != '='; i++) {
		int v;

		if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
			continue;
		v = b64_value(s[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	*out_len = n;
	return out;
}

#endif
