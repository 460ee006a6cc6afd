/* SPDX-License-Identifier: MIT */
/*
 * AWS event-stream (application/vnd.amazon.eventstream) decoder: pure functions over a byte
 * buffer, no I/O. Messages point into the caller's buffer; nothing here allocates for them.
 * Frame: total_len(4) headers_len(4) prelude_crc(4) headers payload message_crc(4), big endian,
 * CRC32 (zlib) over the prelude and over everything before the message CRC.
 */
#ifndef BT_EVENTSTREAM_H
#define BT_EVENTSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum es_header_type {
	ES_BOOL_TRUE = 0,
	ES_BOOL_FALSE = 1,
	ES_BYTE = 2,
	ES_SHORT = 3,
	ES_INT = 4,
	ES_LONG = 5,
	ES_BYTES = 6,
	ES_STRING = 7,
	ES_TIMESTAMP = 8, /* milliseconds since the epoch, in .i */
	ES_UUID = 9,
};

#define ES_MAX_HEADERS 32

struct es_header {
	const char *name; /* not NUL-terminated: name_len bytes into the buffer */
	uint8_t name_len;
	enum es_header_type type;
	union {
		bool b;
		int64_t i; /* BYTE, SHORT, INT, LONG, TIMESTAMP */
		struct {
			const uint8_t *p;
			uint16_t len;
		} bytes; /* BYTES, STRING (not NUL-terminated) */
		uint8_t uuid[16];
	};
};

struct es_message {
	struct es_header headers[ES_MAX_HEADERS];
	size_t n_headers;
	const uint8_t *payload;
	size_t payload_len;
	size_t offset; /* of the frame in the decoded stream */
	uint32_t total_len;
};

/*
 * Called for each complete, CRC-valid message. Return 0 to continue, nonzero to stop
 * (see es_decode for what it then returns).
 */
typedef int (*es_message_cb)(void *ctx, const struct es_message *msg);

/*
 * Decodes every complete message in @buf[0..@len). Returns bytes consumed >= 0 (a trailing
 * partial frame is left unconsumed); if a callback returns nonzero, decoding stops and es_decode
 * returns bytes consumed up to and including that message. Returns -EBADMSG on corruption (bad
 * length, bad CRC, bad header) and sets *@err (if @err) to a static one-line description, else
 * to NULL; decoding of that stream must end there.
 */
ssize_t es_decode(const uint8_t *buf, size_t len, size_t base_offset, es_message_cb cb, void *ctx,
		  const char **err);

/* Returns the header named @name or NULL. */
const struct es_header *es_message_header(const struct es_message *msg, const char *name);
/* Returns true when header @name is a STRING equal to @val. */
bool es_header_is(const struct es_message *msg, const char *name, const char *val);
/* Copies a STRING/BYTES header's value as a NUL-terminated string into @out (truncating). */
size_t es_header_str(const struct es_message *msg, const char *name, char *out, size_t out_len);

#endif
