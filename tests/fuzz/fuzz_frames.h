/* SPDX-License-Identifier: MIT */
/*
 * Building AWS event-stream frames for the fuzz harnesses that turn their input into Bedrock
 * streams: big-endian integers, string headers (value type 7) and base64 payloads. The CRCs and
 * prelude are the caller's, since each harness decides how often to corrupt them.
 */
#ifndef BT_FUZZ_FRAMES_H
#define BT_FUZZ_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Appends the string header @name: @val at @p; returns its length. */
static inline size_t add_header(uint8_t *p, const char *name, const char *val)
{
	size_t nl = strlen(name), vl = strlen(val);

	p[0] = (uint8_t)nl;
	memcpy(p + 1, name, nl);
	p[1 + nl] = 7;
	p[2 + nl] = (uint8_t)(vl >> 8);
	p[3 + nl] = (uint8_t)vl;
	memcpy(p + 4 + nl, val, vl);
	return 4 + nl + vl;
}

/* Base64 of @n bytes at @in into @out (4 * ((n + 2) / 3) + 1 bytes). */
static inline void b64(const uint8_t *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

#endif
