// SPDX-License-Identifier: MIT
/*
 * AWS event-stream decoder. Every length read from the wire is checked against what is left of
 * the frame before it is used, and both CRCs are verified before any header is trusted, so a
 * corrupt or hostile stream ends in -EBADMSG with a one-line reason and never in a bad read.
 */
#include "proto/eventstream.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

#define ES_PRELUDE_LEN 12u
#define ES_CRC_LEN 4u
#define ES_MIN_FRAME (ES_PRELUDE_LEN + ES_CRC_LEN)
/* Bedrock frames are kilobytes; a larger length is corruption, not a frame worth waiting for. */
#define ES_MAX_FRAME (16u << 20)

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static uint32_t crc32_of(const uint8_t *p, size_t len)
{
	/* Frames are capped at 16 MiB, so len always fits zlib's uInt. */
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

/* Fixed value sizes by type; -1 marks the length-prefixed types. */
static int fixed_value_len(uint8_t type)
{
	switch (type) {
	case ES_BOOL_TRUE:
	case ES_BOOL_FALSE:
		return 0;
	case ES_BYTE:
		return 1;
	case ES_SHORT:
		return 2;
	case ES_INT:
		return 4;
	case ES_LONG:
	case ES_TIMESTAMP:
		return 8;
	case ES_UUID:
		return 16;
	default:
		return -1;
	}
}

static int parse_headers(const uint8_t *p, size_t len, struct es_message *msg, const char **why)
{
	size_t pos = 0;

	msg->n_headers = 0;
	while (pos < len) {
		struct es_header *h;
		uint8_t name_len, type;
		size_t vlen;
		int fixed;

		if (msg->n_headers == ES_MAX_HEADERS) {
			*why = "event-stream: too many headers";
			return -EBADMSG;
		}
		h = &msg->headers[msg->n_headers];
		memset(h, 0, sizeof(*h));

		name_len = p[pos++];
		if (name_len == 0) {
			*why = "event-stream: empty header name";
			return -EBADMSG;
		}
		if (len - pos < name_len) {
			*why = "event-stream: header name overruns headers";
			return -EBADMSG;
		}
		h->name = (const char *)p + pos;
		h->name_len = name_len;
		pos += name_len;

		if (pos == len) {
			*why = "event-stream: header type overruns headers";
			return -EBADMSG;
		}
		type = p[pos++];
		if (type > ES_UUID) {
			*why = "event-stream: unknown header value type";
			return -EBADMSG;
		}
		h->type = (enum es_header_type)type;

		fixed = fixed_value_len(type);
		if (fixed < 0) {
			if (len - pos < 2) {
				*why = "event-stream: header value overruns headers";
				return -EBADMSG;
			}
			vlen = be16(p + pos);
			pos += 2;
		} else {
			vlen = (size_t)fixed;
		}
		if (len - pos < vlen) {
			*why = "event-stream: header value overruns headers";
			return -EBADMSG;
		}

		switch (h->type) {
		case ES_BOOL_TRUE:
			h->b = true;
			break;
		case ES_BOOL_FALSE:
			h->b = false;
			break;
		case ES_BYTE:
			h->i = (int8_t)p[pos];
			break;
		case ES_SHORT:
			h->i = (int16_t)be16(p + pos);
			break;
		case ES_INT:
			h->i = (int32_t)be32(p + pos);
			break;
		case ES_LONG:
		case ES_TIMESTAMP:
			h->i = (int64_t)be64(p + pos);
			break;
		case ES_BYTES:
		case ES_STRING:
			h->bytes.p = p + pos;
			h->bytes.len = (uint16_t)vlen;
			break;
		case ES_UUID:
			memcpy(h->uuid, p + pos, sizeof(h->uuid));
			break;
		}
		pos += vlen;
		msg->n_headers++;
	}
	return 0;
}

/*
 * Checks the prelude of the frame at @p (at least ES_PRELUDE_LEN bytes) before the rest of the
 * frame has arrived, so a corrupt length is reported now instead of waited on.
 */
static int check_prelude(const uint8_t *p, uint32_t *total_len, uint32_t *headers_len,
			 const char **why)
{
	*total_len = be32(p);
	*headers_len = be32(p + 4);

	if (crc32_of(p, 8) != be32(p + 8)) {
		*why = "event-stream: prelude CRC mismatch";
		return -EBADMSG;
	}
	if (*total_len < ES_MIN_FRAME) {
		*why = "event-stream: frame length below 16 bytes";
		return -EBADMSG;
	}
	if (*total_len > ES_MAX_FRAME) {
		*why = "event-stream: frame length above 16 MiB";
		return -EBADMSG;
	}
	if (*headers_len > *total_len - ES_MIN_FRAME) {
		*why = "event-stream: headers length exceeds frame";
		return -EBADMSG;
	}
	return 0;
}

ssize_t es_decode(const uint8_t *buf, size_t len, size_t base_offset, es_message_cb cb, void *ctx,
		  const char **err)
{
	const char *why = NULL;
	struct es_message msg;
	size_t off = 0;
	ssize_t ret;

	while (len - off >= ES_PRELUDE_LEN) {
		const uint8_t *f = buf + off;
		uint32_t total_len, headers_len;
		int e;

		e = check_prelude(f, &total_len, &headers_len, &why);
		if (e) {
			ret = e;
			goto cleanup;
		}
		if (len - off < total_len)
			break;
		if (crc32_of(f, total_len - ES_CRC_LEN) != be32(f + total_len - ES_CRC_LEN)) {
			why = "event-stream: message CRC mismatch";
			ret = -EBADMSG;
			goto cleanup;
		}
		e = parse_headers(f + ES_PRELUDE_LEN, headers_len, &msg, &why);
		if (e) {
			ret = e;
			goto cleanup;
		}
		msg.payload = f + ES_PRELUDE_LEN + headers_len;
		msg.payload_len = total_len - ES_MIN_FRAME - headers_len;
		msg.offset = base_offset + off;
		msg.total_len = total_len;

		off += total_len;
		if (cb && cb(ctx, &msg))
			break;
	}
	ret = (ssize_t)off;
cleanup:
	if (err)
		*err = why;
	return ret;
}

const struct es_header *es_message_header(const struct es_message *msg, const char *name)
{
	size_t name_len = strlen(name);
	size_t i;

	for (i = 0; i < msg->n_headers; i++) {
		const struct es_header *h = &msg->headers[i];

		if (h->name_len == name_len && memcmp(h->name, name, name_len) == 0)
			return h;
	}
	return NULL;
}

bool es_header_is(const struct es_message *msg, const char *name, const char *val)
{
	const struct es_header *h = es_message_header(msg, name);
	size_t val_len = strlen(val);

	return h && h->type == ES_STRING && h->bytes.len == val_len &&
	       memcmp(h->bytes.p, val, val_len) == 0;
}

/* Returns the number of bytes copied before the NUL; 0 (and "" in @out) when absent or not text. */
size_t es_header_str(const struct es_message *msg, const char *name, char *out, size_t out_len)
{
	const struct es_header *h;
	size_t n;

	if (!out || out_len == 0)
		return 0;
	out[0] = '\0';
	h = es_message_header(msg, name);
	if (!h || (h->type != ES_STRING && h->type != ES_BYTES))
		return 0;
	n = h->bytes.len < out_len - 1 ? h->bytes.len : out_len - 1;
	memcpy(out, h->bytes.p, n);
	out[n] = '\0';
	return n;
}
