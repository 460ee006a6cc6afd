// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the event-stream decoder. Random bytes almost never carry valid CRCs,
 * so besides the raw input it also decodes a copy whose CRCs are rewritten to match: that is
 * what drives the fuzzer into header parsing. For both it checks that decoding in two pieces
 * (any split point, as bytes arrive from a socket) agrees with decoding all at once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "proto/eventstream.h"

#include "../lib/esframe.h"

struct tally {
	size_t messages;
	size_t bytes;
	uint64_t digest; /* over header values, to catch disagreement on content too */
};

static int count(void *ctx, const struct es_message *msg)
{
	struct tally *t = ctx;
	char text[64];
	size_t i;

	t->messages++;
	t->bytes += msg->total_len;
	if (msg->payload_len)
		t->digest = t->digest * 31 + msg->payload[msg->payload_len - 1];
	for (i = 0; i < msg->n_headers; i++) {
		const struct es_header *h = &msg->headers[i];

		t->digest =
		    t->digest * 31 + h->type + h->name_len + (uint8_t)h->name[h->name_len - 1];
		switch (h->type) {
		case ES_BOOL_TRUE:
		case ES_BOOL_FALSE:
			t->digest += h->b;
			break;
		case ES_BYTES:
		case ES_STRING:
			if (h->bytes.len)
				t->digest += h->bytes.p[h->bytes.len - 1];
			break;
		case ES_UUID:
			t->digest += h->uuid[15];
			break;
		default:
			t->digest += (uint64_t)h->i;
		}
	}
	es_header_str(msg, ":event-type", text, sizeof(text));
	es_header_is(msg, ":message-type", "exception");
	return 0;
}

/* Rewrites both CRCs of every frame whose length fits in @buf, so framing is all that is left. */
static void fix_crcs(uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= 16) {
		uint32_t total = esf_be32(buf + off);

		esf_put_be32(buf + off + 8, (uint32_t)crc32(0, buf + off, 8));
		if (total < 16 || total > len - off)
			return;
		esf_put_be32(buf + off + total - 4, (uint32_t)crc32(0, buf + off, total - 4));
		off += total;
	}
}

static void check_split_agrees(const uint8_t *buf, size_t len, size_t split)
{
	struct tally whole = {0}, parts = {0};
	const char *err = NULL;
	ssize_t all, first, second;

	all = es_decode(buf, len, 0, count, &whole, &err);
	if (all < 0) {
		if (!err || strncmp(err, "event-stream: ", 14) != 0)
			abort();
		return;
	}
	if ((size_t)all > len || whole.bytes != (size_t)all || err)
		abort();

	first = es_decode(buf, split, 0, count, &parts, &err);
	/* A prefix of a stream that decodes cleanly decodes cleanly too. */
	if (first < 0 || (size_t)first > split)
		abort();
	second = es_decode(buf + first, len - (size_t)first, (size_t)first, count, &parts, &err);
	if (second < 0 || first + second != all || parts.messages != whole.messages ||
	    parts.digest != whole.digest)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	size_t split;

	if (size < 2)
		return 0;
	/* The first two bytes choose the split point; the rest is the stream. */
	split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
	data += 2;
	size -= 2;

	check_split_agrees(data, size, split);

	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fix_crcs(copy, size);
	check_split_agrees(copy, size, split);
	free(copy);
	return 0;
}
