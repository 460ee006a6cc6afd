/* SPDX-License-Identifier: MIT */
/*
 * Test support: building HTTP/2 frames byte by byte (RFC 9113 section 4.1), with header blocks
 * compressed by nghttp2's HPACK encoder.
 * Header-only; every function is static.
 */
#ifndef BT_TEST_H2FRAME_H
#define BT_TEST_H2FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

/* A header field for nghttp2_hd_deflate_hd() from two string literals. */
#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE \
	}
#define N_NV(a) (sizeof(a) / sizeof((a)[0]))

/* Writes the 9-byte frame header: payload length @len (24 bits), @type, @flags, stream @sid. */
static inline void h2_frame_header(uint8_t *out, size_t len, int type, int flags, uint32_t sid)
{
	out[0] = (uint8_t)(len >> 16);
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)len;
	out[3] = (uint8_t)type;
	out[4] = (uint8_t)flags;
	out[5] = (uint8_t)(sid >> 24);
	out[6] = (uint8_t)(sid >> 16);
	out[7] = (uint8_t)(sid >> 8);
	out[8] = (uint8_t)sid;
}

#endif
