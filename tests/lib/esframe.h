/* SPDX-License-Identifier: MIT */
/*
 * Test support: building AWS event-stream frames (prelude, string headers, payload, both CRCs)
 * as Bedrock streams them, for unit tests and fuzz harnesses. Frames with other header types or
 * lying preludes are built where they are tested (tests/unit/proto/test_eventstream.c).
 * Header-only; every function is static.
 */
#ifndef BT_TEST_ESFRAME_H
#define BT_TEST_ESFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base64.h"
#include "check.h"

static inline uint32_t esf_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void esf_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Writes the string header (value type 7) @name: @val at @p; returns its length. */
static inline size_t esf_header(uint8_t *p, const char *name, const char *val)
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

/*
 * Writes at @out one frame with valid CRCs: the string headers @hdrs (@n_hdrs strings, name then
 * value) and @plen bytes of @payload. Returns its length (16 + headers + payload); @out must
 * have room for it.
 */
static inline size_t esf_frame_bytes(uint8_t *out, const char *const *hdrs, size_t n_hdrs,
				     const void *payload, size_t plen)
{
	size_t h = 12, i;

	for (i = 0; i + 1 < n_hdrs; i += 2)
		h += esf_header(out + h, hdrs[i], hdrs[i + 1]);
	esf_put_be32(out, (uint32_t)(h + plen + 4));
	esf_put_be32(out + 4, (uint32_t)(h - 12));
	esf_put_be32(out + 8, (uint32_t)crc32(0, out, 8));
	memcpy(out + h, payload, plen);
	esf_put_be32(out + h + plen, (uint32_t)crc32(0, out, (uInt)(h + plen)));
	return h + plen + 4;
}

/* esf_frame_bytes() with a NUL-terminated payload. */
static inline size_t esf_frame(uint8_t *out, const char *const *hdrs, size_t n_hdrs,
			       const char *payload)
{
	return esf_frame_bytes(out, hdrs, n_hdrs, payload, strlen(payload));
}

/* Writes at @out an event of type @type with the JSON @payload, as Bedrock streams send them. */
static inline size_t esf_event(uint8_t *out, const char *type, const char *payload)
{
	const char *h[] = {":event-type",   type,   ":content-type", "application/json",
			   ":message-type", "event"};

	return esf_frame(out, h, 6, payload);
}

/* The JSON payload of a Bedrock "chunk" event: {"bytes":"<base64 of @n bytes at @p>"}, NUL-
 * terminated, in a new buffer (caller frees); *@len is its length. */
static inline char *esf_chunk_payload(const void *p, size_t n, size_t *len)
{
	size_t cap = 4 * ((n + 2) / 3) + 16;
	char *out = malloc(cap);

	TL_CHECK(out != NULL);
	memcpy(out, "{\"bytes\":\"", 10);
	b64_encode(p, n, out + 10);
	strcat(out, "\"}");
	*len = strlen(out);
	return out;
}

#endif
