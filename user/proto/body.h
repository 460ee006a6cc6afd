/* SPDX-License-Identifier: MIT */
/*
 * Streaming HTTP content decoding (RFC 9110 §8.4.1): gzip, x-gzip and deflate (zlib-wrapped or
 * raw, detected from the first two bytes), identity, and comma-separated lists of them, which
 * are undone in reverse order. Pure over byte buffers; zlib does the inflating.
 * Used by the HTTP/1.1 (http1.c) and HTTP/2 (http2.c) parsers for message bodies.
 */
#ifndef BT_BODY_H
#define BT_BODY_H

#include <stddef.h>
#include <stdint.h>

struct body_decoder;

/*
 * Returns a decoder for a Content-Encoding value (caller frees with body_decoder_free).
 * NULL, "" and "identity" give a pass-through decoder. NULL + EINVAL for a coding that is not
 * supported (br, zstd, compress...), NULL + ENOMEM when out of memory.
 */
struct body_decoder *body_decoder_new(const char *content_encoding);

/*
 * Decodes @len bytes of @in and appends the output to *out (realloc'd by this function, owned
 * by the caller; *out_len grows), storing at most @max_out bytes in total. Output beyond that
 * is decoded but only counted: *dropped is incremented by it.
 * Returns 0, -E2BIG when this call dropped output, -EBADMSG when the input is corrupt (the
 * decoder then refuses further input with -EBADMSG), -ENOMEM.
 */
int body_decoder_feed(struct body_decoder *d, const uint8_t *in, size_t len, uint8_t **out,
		      size_t *out_len, size_t max_out, size_t *dropped);

/*
 * Returns 0 if every coded stream reached its end (or no input was ever fed, an empty body),
 * -EBADMSG if the input was corrupt or stopped in the middle of a stream.
 */
int body_decoder_finish(struct body_decoder *d);

/* Frees @d; NULL is fine. */
void body_decoder_free(struct body_decoder *d);

#endif
