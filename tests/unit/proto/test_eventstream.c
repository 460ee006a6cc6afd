// SPDX-License-Identifier: MIT
/*
 * Event-stream decoder tests: real recorded Bedrock streams (shared cassettes), the generated
 * agent/exception/corrupt cassettes, frames built here for every header type, every split
 * point of a stream, and each way a frame can be corrupt.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "proto/eventstream.h"

#include "lib/cassette.h"
#include "lib/esframe.h"

#define CASSETTES "tests/fixtures/bedrock-cassettes/"
#define GENERATED "tests/data/eventstream/"
#define MAX_BLOCKS 4
#define MAX_SEEN 128

/* ---- helpers: the !!binary blocks of a VCR cassette ------------------------------------------ */

struct blob {
	uint8_t *p;
	size_t len;
};

/*
 * Every "!!binary" body of a cassette, in order (each moved out of the cassette: free them with
 * free_blobs).
 */
static size_t binary_bodies(const char *path, struct blob *out, size_t max)
{
	struct cassette c;
	size_t i, j, n = 0;

	if (cassette_load_path(path, &c))
		fail_msg("cannot read cassette %s", path);
	for (i = 0; i < c.n; i++) {
		struct cassette_msg *m[2] = {&c.it[i].req, &c.it[i].resp};

		for (j = 0; j < 2; j++) {
			if (!m[j]->binary)
				continue;
			assert_non_null(m[j]->body);
			assert_true(n < max);
			out[n].p = m[j]->body;
			out[n++].len = m[j]->body_len;
			m[j]->body = NULL;
		}
	}
	cassette_free(&c);
	return n;
}

/* ---- helpers: a callback that records what it saw ----------------------------------------- */

struct seen {
	size_t n;
	char type[MAX_SEEN][40]; /* :event-type, or "!" + :exception-type */
	size_t offset[MAX_SEEN];
	size_t payload_len[MAX_SEEN];
	size_t total;
	size_t stop_after; /* 0: never */
	bool all_json_events;
};

static int record(void *ctx, const struct es_message *msg)
{
	struct seen *s = ctx;
	char ct[64];

	assert_true(s->n < MAX_SEEN);
	if (es_header_is(msg, ":message-type", "exception")) {
		s->type[s->n][0] = '!';
		es_header_str(msg, ":exception-type", s->type[s->n] + 1, sizeof(s->type[0]) - 1);
	} else {
		es_header_str(msg, ":event-type", s->type[s->n], sizeof(s->type[0]));
		if (!es_header_is(msg, ":message-type", "event"))
			s->all_json_events = false;
	}
	es_header_str(msg, ":content-type", ct, sizeof(ct));
	if (strcmp(ct, "application/json") != 0 || msg->payload_len == 0 ||
	    msg->payload[0] != '{' || msg->payload[msg->payload_len - 1] != '}')
		s->all_json_events = false;
	s->offset[s->n] = msg->offset;
	s->payload_len[s->n] = msg->payload_len;
	s->total += msg->total_len;
	s->n++;
	return s->stop_after && s->n == s->stop_after;
}

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->all_json_events = true;
}

struct run {
	const char *type;
	size_t count;
};

/* Asserts that @s saw exactly the run-length sequence @runs of message types. */
static void assert_runs(const struct seen *s, const struct run *runs, size_t n_runs)
{
	size_t i = 0, r, k;

	for (r = 0; r < n_runs; r++) {
		for (k = 0; k < runs[r].count; k++, i++) {
			assert_true(i < s->n);
			assert_string_equal(s->type[i], runs[r].type);
		}
	}
	assert_int_equal(s->n, i);
}

/* Decodes a whole recorded body and checks it is consumed exactly, frames back to back. */
static void decode_whole(const struct blob *b, struct seen *s)
{
	const char *err = "unset";
	ssize_t got;
	size_t i;

	seen_init(s);
	got = es_decode(b->p, b->len, 0, record, s, &err);
	if (got < 0)
		fail_msg("es_decode: %s", err);
	assert_null(err);
	assert_int_equal((size_t)got, b->len);
	assert_int_equal(s->total, b->len);
	assert_int_equal(s->offset[0], 0);
	for (i = 1; i < s->n; i++)
		assert_true(s->offset[i] > s->offset[i - 1]);
}

static void free_blobs(struct blob *b, size_t n)
{
	while (n--)
		free(b[n].p);
}

/* ---- helpers: building frames ------------------------------------------------------------- */

struct bytes {
	uint8_t d[8192];
	size_t n;
};

static void put(struct bytes *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->d));
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put_be(struct bytes *b, uint64_t v, int width)
{
	uint8_t x[8];
	int i;

	for (i = 0; i < width; i++)
		x[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	put(b, x, (size_t)width);
}

static void put_name(struct bytes *h, const char *name, uint8_t type)
{
	put_be(h, strlen(name), 1);
	put(h, name, strlen(name));
	put_be(h, type, 1);
}

static void hdr_str(struct bytes *h, const char *name, uint8_t type, const void *val, size_t len)
{
	put_name(h, name, type);
	put_be(h, len, 2);
	put(h, val, len);
}

static void hdr_int(struct bytes *h, const char *name, uint8_t type, uint64_t v, int width)
{
	put_name(h, name, type);
	put_be(h, v, width);
}

static uint32_t crc_of(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* Appends a frame with valid CRCs whose prelude claims @total / @hlen (normally the truth). */
static void frame_claiming(struct bytes *out, uint32_t total, uint32_t hlen, const struct bytes *h,
			   const char *payload)
{
	size_t start = out->n;

	put_be(out, total, 4);
	put_be(out, hlen, 4);
	put_be(out, crc_of(out->d + start, 8), 4);
	if (h)
		put(out, h->d, h->n);
	put(out, payload, strlen(payload));
	put_be(out, crc_of(out->d + start, out->n - start), 4);
}

static void frame(struct bytes *out, const struct bytes *h, const char *payload)
{
	uint32_t hlen = h ? (uint32_t)h->n : 0;

	frame_claiming(out, (uint32_t)(16 + hlen + strlen(payload)), hlen, h, payload);
}

static void event_frame(struct bytes *out, const char *type, const char *payload)
{
	assert_true(out->n + 128 + strlen(payload) <= sizeof(out->d));
	out->n += esf_event(out->d + out->n, type, payload);
}

/* Expects -EBADMSG with exactly @why, and that no message reached the callback. */
static void assert_bad(const struct bytes *b, const char *why)
{
	struct seen s;
	const char *err = NULL;

	seen_init(&s);
	assert_int_equal(es_decode(b->d, b->n, 0, record, &s, &err), -EBADMSG);
	assert_non_null(err);
	assert_string_equal(err, why);
	assert_int_equal(s.n, 0);
	/* @err is optional. */
	assert_int_equal(es_decode(b->d, b->n, 0, NULL, NULL, NULL), -EBADMSG);
}

/* ---- recorded streams --------------------------------------------------------------------- */

static void test_es_decode_recorded_converse_stream(void **state)
{
	static const struct run simple[] = {
	    {"messageStart", 1}, {"contentBlockDelta", 1}, {"contentBlockStop", 1},
	    {"messageStop", 1},	 {"metadata", 1},
	};
	static const struct run tool1[] = {
	    {"messageStart", 1},      {"contentBlockDelta", 57}, {"contentBlockStop", 1},
	    {"contentBlockStart", 1}, {"contentBlockDelta", 1},	 {"contentBlockStop", 1},
	    {"contentBlockStart", 1}, {"contentBlockDelta", 1},	 {"contentBlockStop", 1},
	    {"messageStop", 1},	      {"metadata", 1},
	};
	static const struct run tool2[] = {
	    {"messageStart", 1}, {"contentBlockDelta", 52}, {"contentBlockStop", 1},
	    {"messageStop", 1},	 {"metadata", 1},
	};
	struct blob b[MAX_BLOCKS];
	struct seen s;
	size_t n;

	(void)state;
	n = binary_bodies(CASSETTES "test_converse_stream_with_content.yaml", b, MAX_BLOCKS);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].len, 853);
	decode_whole(&b[0], &s);
	assert_runs(&s, simple, 5);
	assert_true(s.all_json_events);
	/* The metadata event: 204-byte frame at 649 with a 110-byte usage payload. */
	assert_int_equal(s.offset[4], 649);
	assert_int_equal(s.payload_len[4], 110);
	free_blobs(b, n);

	n = binary_bodies(CASSETTES "test_converse_stream_with_content_tool_call.yaml", b,
			  MAX_BLOCKS);
	assert_int_equal(n, 2);
	decode_whole(&b[0], &s);
	assert_int_equal(s.n, 67);
	assert_runs(&s, tool1, 11);
	assert_true(s.all_json_events);
	decode_whole(&b[1], &s);
	assert_int_equal(s.n, 56);
	assert_runs(&s, tool2, 5);
	assert_true(s.all_json_events);
	free_blobs(b, n);
}

static void test_es_decode_recorded_invoke_stream(void **state)
{
	static const struct {
		const char *file;
		size_t chunks[2];
		size_t n_bodies;
	} cases[] = {
	    {"test_invoke_model_with_response_stream_with_content[amazon.nova].yaml", {23}, 1},
	    {"test_invoke_model_with_response_stream_with_content[amazon.titan].yaml", {1}, 1},
	    {"test_invoke_model_with_response_stream_with_content[anthropic.claude].yaml", {15}, 1},
	    {"test_invoke_model_with_response_stream_with_content_tool_call[anthropic.claude].yaml",
	     {27, 31},
	     2},
	};
	char path[256];
	size_t i, k, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct blob b[MAX_BLOCKS];
		size_t n;

		snprintf(path, sizeof(path), CASSETTES "%s", cases[i].file);
		n = binary_bodies(path, b, MAX_BLOCKS);
		assert_int_equal(n, cases[i].n_bodies);
		for (k = 0; k < n; k++) {
			struct seen s;
			struct run all = {"chunk", cases[i].chunks[k]};

			decode_whole(&b[k], &s);
			assert_runs(&s, &all, 1);
			assert_true(s.all_json_events);
			for (j = 0; j < s.n; j++)
				assert_true(s.payload_len[j] > strlen("{\"bytes\":\"\"}"));
		}
		free_blobs(b, n);
	}
}

/* ---- generated cassettes (tests/bedrock/gen) ---------------------------------------------- */

static void test_es_decode_generated_agent_streams(void **state)
{
	static const struct run multi[] = {{"trace", 32}, {"chunk", 2}};
	static const struct run failure[] = {{"trace", 4}, {"!throttlingException", 1}};
	static const struct run conv[] = {
	    {"messageStart", 1},
	    {"contentBlockDelta", 1},
	    {"!modelStreamErrorException", 1},
	};
	struct blob b[MAX_BLOCKS];
	struct seen s;
	size_t n;

	(void)state;
	n = binary_bodies(GENERATED "agent_invoke_multi.yaml", b, MAX_BLOCKS);
	assert_int_equal(n, 1);
	decode_whole(&b[0], &s);
	assert_runs(&s, multi, 2);
	assert_true(s.all_json_events);
	free_blobs(b, n);

	n = binary_bodies(GENERATED "agent_invoke_failure.yaml", b, MAX_BLOCKS);
	assert_int_equal(n, 1);
	decode_whole(&b[0], &s);
	assert_runs(&s, failure, 2);
	free_blobs(b, n);

	n = binary_bodies(GENERATED "converse_stream_exception.yaml", b, MAX_BLOCKS);
	assert_int_equal(n, 1);
	decode_whole(&b[0], &s);
	assert_runs(&s, conv, 3);
	free_blobs(b, n);
}

static void test_es_decode_generated_corrupt_stream(void **state)
{
	struct blob b[MAX_BLOCKS];
	const char *err = NULL;
	struct seen s;
	size_t n;

	(void)state;
	n = binary_bodies(GENERATED "corrupt_stream.yaml", b, MAX_BLOCKS);
	assert_int_equal(n, 1);
	seen_init(&s);
	assert_int_equal(es_decode(b[0].p, b[0].len, 0, record, &s, &err), -EBADMSG);
	assert_string_equal(err, "event-stream: message CRC mismatch");
	/* The first frame is intact and was delivered before the corrupt second one. */
	assert_int_equal(s.n, 1);
	assert_string_equal(s.type[0], "chunk");
	free_blobs(b, n);
}

/* ---- headers ------------------------------------------------------------------------------ */

struct one {
	struct es_message msg;
	int calls;
};

static int keep(void *ctx, const struct es_message *msg)
{
	struct one *o = ctx;

	o->msg = *msg;
	o->calls++;
	return 0;
}

static void test_es_header_every_type(void **state)
{
	static const uint8_t uuid[16] = {0x6f, 0x1c, 0x1c, 0x52, 0x9a, 0x57, 0x4c, 0x3e,
					 0x8d, 0x2e, 0x2f, 0x0b, 0x1d, 0x3a, 0x7c, 0x10};
	static const uint8_t raw[] = {0x00, 0xff, 0x10};
	struct bytes h = {.n = 0}, f = {.n = 0};
	const struct es_header *x;
	struct one o = {.calls = 0};
	const char *err = "unset";

	(void)state;
	put_name(&h, "t", ES_BOOL_TRUE);
	put_name(&h, "f", ES_BOOL_FALSE);
	hdr_int(&h, "byte", ES_BYTE, 0xfe, 1);
	hdr_int(&h, "short", ES_SHORT, 0x8001, 2);
	hdr_int(&h, "int", ES_INT, 0xfffffff6u, 4);
	hdr_int(&h, "long", ES_LONG, 0x8000000000000000ull, 8);
	hdr_str(&h, "bytes", ES_BYTES, raw, sizeof(raw));
	hdr_str(&h, "str", ES_STRING, "héllo", strlen("héllo"));
	hdr_int(&h, ":date", ES_TIMESTAMP, 1738819200123ull, 8);
	put_name(&h, "id", ES_UUID);
	put(&h, uuid, sizeof(uuid));
	hdr_str(&h, "empty", ES_STRING, "", 0);
	frame(&f, &h, "{\"x\":1}");

	assert_int_equal(es_decode(f.d, f.n, 100, keep, &o, &err), (ssize_t)f.n);
	assert_null(err);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.msg.n_headers, 11);
	assert_int_equal(o.msg.offset, 100);
	assert_int_equal(o.msg.total_len, f.n);
	assert_int_equal(o.msg.payload_len, 7);
	assert_memory_equal(o.msg.payload, "{\"x\":1}", 7);

	x = es_message_header(&o.msg, "t");
	assert_non_null(x);
	assert_int_equal(x->type, ES_BOOL_TRUE);
	assert_true(x->b);
	x = es_message_header(&o.msg, "f");
	assert_int_equal(x->type, ES_BOOL_FALSE);
	assert_false(x->b);
	x = es_message_header(&o.msg, "byte");
	assert_int_equal(x->type, ES_BYTE);
	assert_int_equal(x->i, -2);
	x = es_message_header(&o.msg, "short");
	assert_int_equal(x->type, ES_SHORT);
	assert_int_equal(x->i, -32767);
	x = es_message_header(&o.msg, "int");
	assert_int_equal(x->type, ES_INT);
	assert_int_equal(x->i, -10);
	x = es_message_header(&o.msg, "long");
	assert_int_equal(x->type, ES_LONG);
	assert_true(x->i == INT64_MIN);
	x = es_message_header(&o.msg, "bytes");
	assert_int_equal(x->type, ES_BYTES);
	assert_int_equal(x->bytes.len, 3);
	assert_memory_equal(x->bytes.p, raw, 3);
	x = es_message_header(&o.msg, "str");
	assert_int_equal(x->type, ES_STRING);
	assert_int_equal(x->bytes.len, strlen("héllo"));
	x = es_message_header(&o.msg, ":date");
	assert_int_equal(x->type, ES_TIMESTAMP);
	assert_int_equal(x->i, 1738819200123ll);
	x = es_message_header(&o.msg, "id");
	assert_int_equal(x->type, ES_UUID);
	assert_memory_equal(x->uuid, uuid, 16);
	x = es_message_header(&o.msg, "empty");
	assert_int_equal(x->type, ES_STRING);
	assert_int_equal(x->bytes.len, 0);
	assert_null(es_message_header(&o.msg, "missing"));
	assert_null(es_message_header(&o.msg, "st")); /* a prefix is not a match */
}

static void test_es_header_string_helpers(void **state)
{
	struct bytes h = {.n = 0}, f = {.n = 0};
	struct one o = {.calls = 0};
	char out[8];

	(void)state;
	hdr_str(&h, ":event-type", ES_STRING, "contentBlockDelta", 17);
	hdr_str(&h, "raw", ES_BYTES, "ab", 2);
	hdr_int(&h, "num", ES_INT, 7, 4);
	frame(&f, &h, "");
	assert_int_equal(es_decode(f.d, f.n, 0, keep, &o, NULL), (ssize_t)f.n);
	assert_int_equal(o.msg.payload_len, 0);

	assert_true(es_header_is(&o.msg, ":event-type", "contentBlockDelta"));
	assert_false(es_header_is(&o.msg, ":event-type", "contentBlock"));
	assert_false(es_header_is(&o.msg, ":event-type", "contentBlockDeltaX"));
	assert_false(es_header_is(&o.msg, "raw", "ab")); /* BYTES is not a STRING */
	assert_false(es_header_is(&o.msg, "missing", ""));

	/* Truncates to fit and always terminates. */
	assert_int_equal(es_header_str(&o.msg, ":event-type", out, sizeof(out)), 7);
	assert_string_equal(out, "content");
	assert_int_equal(es_header_str(&o.msg, "raw", out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
	strcpy(out, "junk");
	assert_int_equal(es_header_str(&o.msg, "num", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	strcpy(out, "junk");
	assert_int_equal(es_header_str(&o.msg, "missing", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(es_header_str(&o.msg, ":event-type", out, 1), 0);
	assert_string_equal(out, "");
}

static void test_es_header_max_count_accepted(void **state)
{
	struct bytes h = {.n = 0}, f = {.n = 0};
	struct one o = {.calls = 0};
	char name[8];
	int i;

	(void)state;
	for (i = 0; i < ES_MAX_HEADERS; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		hdr_int(&h, name, ES_BYTE, (uint64_t)i, 1);
	}
	frame(&f, &h, "{}");
	assert_int_equal(es_decode(f.d, f.n, 0, keep, &o, NULL), (ssize_t)f.n);
	assert_int_equal(o.msg.n_headers, ES_MAX_HEADERS);
	assert_int_equal(es_message_header(&o.msg, "h31")->i, 31);
}

/* ---- streaming: partial frames, split points, callback stop ------------------------------- */

static void test_es_decode_every_split_point(void **state)
{
	struct blob b[MAX_BLOCKS];
	struct seen whole, a, rest;
	size_t n, k, i;

	(void)state;
	n = binary_bodies(CASSETTES "test_converse_stream_with_content.yaml", b, MAX_BLOCKS);
	assert_int_equal(n, 1);
	decode_whole(&b[0], &whole);

	for (k = 0; k <= b[0].len; k++) {
		const char *err = "unset";
		size_t boundary = 0;
		ssize_t c1, c2;

		/* The prefix consumes exactly the frames wholly inside it. */
		for (i = 0; i < whole.n; i++) {
			size_t end = i + 1 < whole.n ? whole.offset[i + 1] : b[0].len;

			if (end <= k)
				boundary = end;
		}

		seen_init(&a);
		c1 = es_decode(b[0].p, k, 0, record, &a, &err);
		assert_null(err);
		assert_int_equal(c1, (ssize_t)boundary);

		/* Feeding the rest from where the first call stopped gives the remaining frames. */
		seen_init(&rest);
		c2 = es_decode(b[0].p + c1, b[0].len - (size_t)c1, (size_t)c1, record, &rest, &err);
		assert_null(err);
		assert_int_equal((size_t)c1 + (size_t)c2, b[0].len);
		assert_int_equal(a.n + rest.n, whole.n);
		for (i = 0; i < rest.n; i++) {
			assert_int_equal(rest.offset[i], whole.offset[a.n + i]);
			assert_string_equal(rest.type[i], whole.type[a.n + i]);
		}
	}
	free_blobs(b, n);
}

static void test_es_decode_partial_frame_not_consumed(void **state)
{
	struct bytes f = {.n = 0};
	const char *err = "unset";
	struct seen s;
	size_t first;

	(void)state;
	event_frame(&f, "chunk", "{\"bytes\":\"AA==\"}");
	first = f.n;
	event_frame(&f, "chunk", "{\"bytes\":\"AQ==\"}");

	seen_init(&s);
	assert_int_equal(es_decode(f.d, 0, 0, record, &s, &err), 0);
	assert_null(err);
	/* Under a prelude, a valid prelude, one byte short: nothing consumed, no error. */
	assert_int_equal(es_decode(f.d, 11, 0, record, &s, &err), 0);
	assert_int_equal(es_decode(f.d, 12, 0, record, &s, &err), 0);
	assert_int_equal(es_decode(f.d, first - 1, 0, record, &s, &err), 0);
	assert_null(err);
	assert_int_equal(s.n, 0);
	assert_int_equal(es_decode(f.d, f.n - 1, 0, record, &s, &err), (ssize_t)first);
	assert_null(err);
	assert_int_equal(s.n, 1);
}

static void test_es_decode_callback_stop(void **state)
{
	struct bytes f = {.n = 0};
	const char *err = "unset";
	struct seen s;
	size_t second_end;
	ssize_t got;

	(void)state;
	event_frame(&f, "messageStart", "{\"role\":\"assistant\"}");
	event_frame(&f, "contentBlockDelta", "{\"delta\":{\"text\":\"hi\"}}");
	second_end = f.n;
	event_frame(&f, "messageStop", "{\"stopReason\":\"end_turn\"}");

	seen_init(&s);
	s.stop_after = 2;
	assert_int_equal(es_decode(f.d, f.n, 0, record, &s, &err), (ssize_t)second_end);
	assert_null(err);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.type[1], "contentBlockDelta");

	/* Stopping on the first message consumes only it. */
	seen_init(&s);
	s.stop_after = 1;
	got = es_decode(f.d, f.n, 0, record, &s, NULL);
	assert_int_equal(s.n, 1);
	assert_int_equal(got, (ssize_t)s.total);
}

/* ---- corruption --------------------------------------------------------------------------- */

static void test_es_decode_bad_prelude_crc(void **state)
{
	struct bytes f = {.n = 0};

	(void)state;
	event_frame(&f, "chunk", "{}");
	f.d[8] ^= 0x80;
	assert_bad(&f, "event-stream: prelude CRC mismatch");

	/* A corrupt length is caught by the prelude CRC before the frame is waited for. */
	f.n = 0;
	event_frame(&f, "chunk", "{}");
	f.d[2] ^= 0x01;
	f.n = 12;
	assert_bad(&f, "event-stream: prelude CRC mismatch");
}

static void test_es_decode_bad_message_crc(void **state)
{
	struct bytes f = {.n = 0};
	struct seen s;
	const char *err = NULL;
	size_t first;

	(void)state;
	event_frame(&f, "chunk", "{\"a\":1}");
	f.d[f.n - 6] ^= 0x20; /* a payload byte */
	assert_bad(&f, "event-stream: message CRC mismatch");

	f.n = 0;
	event_frame(&f, "chunk", "{\"a\":1}");
	f.d[f.n - 1] ^= 0x01; /* the CRC itself */
	assert_bad(&f, "event-stream: message CRC mismatch");

	/* A good frame is delivered before the bad one fails the stream. */
	f.n = 0;
	event_frame(&f, "chunk", "{\"a\":1}");
	first = f.n;
	event_frame(&f, "chunk", "{\"a\":2}");
	f.d[first + 14] ^= 0x01; /* a header byte of the second frame */
	seen_init(&s);
	assert_int_equal(es_decode(f.d, f.n, 0, record, &s, &err), -EBADMSG);
	assert_string_equal(err, "event-stream: message CRC mismatch");
	assert_int_equal(s.n, 1);
}

static void test_es_decode_absurd_lengths(void **state)
{
	struct bytes f = {.n = 0};

	(void)state;
	frame_claiming(&f, 15, 0, NULL, "");
	f.n = 12;
	assert_bad(&f, "event-stream: frame length below 16 bytes");

	f.n = 0;
	frame_claiming(&f, 0, 0, NULL, "");
	f.n = 12;
	assert_bad(&f, "event-stream: frame length below 16 bytes");

	f.n = 0;
	frame_claiming(&f, (16u << 20) + 1, 0, NULL, "");
	f.n = 12;
	assert_bad(&f, "event-stream: frame length above 16 MiB");

	f.n = 0;
	frame_claiming(&f, 0xffffffffu, 0, NULL, "");
	f.n = 12;
	assert_bad(&f, "event-stream: frame length above 16 MiB");

	/* Exactly 16 MiB is allowed: it is a partial frame, not an error. */
	f.n = 0;
	frame_claiming(&f, 16u << 20, 0, NULL, "");
	f.n = 12;
	assert_int_equal(es_decode(f.d, f.n, 0, NULL, NULL, NULL), 0);

	f.n = 0;
	frame_claiming(&f, 20, 5, NULL, "abcd");
	assert_bad(&f, "event-stream: headers length exceeds frame");

	f.n = 0;
	frame_claiming(&f, 16, 0xffffffffu, NULL, "");
	assert_bad(&f, "event-stream: headers length exceeds frame");

	/* The smallest frame: no headers, no payload. */
	f.n = 0;
	frame(&f, NULL, "");
	assert_int_equal(f.n, 16);
	assert_int_equal(es_decode(f.d, f.n, 0, NULL, NULL, NULL), 16);
}

static void test_es_decode_header_overruns(void **state)
{
	struct bytes h = {.n = 0}, f = {.n = 0};

	(void)state;
	/* Name length past the end of the headers. */
	put_be(&h, 10, 1);
	put(&h, "abc", 3);
	frame(&f, &h, "{}");
	assert_bad(&f, "event-stream: header name overruns headers");

	/* A name and no type byte. */
	h.n = f.n = 0;
	put_be(&h, 3, 1);
	put(&h, "abc", 3);
	frame(&f, &h, "{}");
	assert_bad(&f, "event-stream: header type overruns headers");

	/* A string whose length runs past the headers into the payload. */
	h.n = f.n = 0;
	put_name(&h, "s", ES_STRING);
	put_be(&h, 5, 2);
	put(&h, "abc", 3);
	frame(&f, &h, "{\"payload\":true}");
	assert_bad(&f, "event-stream: header value overruns headers");

	/* A string cut inside its length prefix. */
	h.n = f.n = 0;
	put_name(&h, "s", ES_BYTES);
	put_be(&h, 0, 1);
	frame(&f, &h, "{}");
	assert_bad(&f, "event-stream: header value overruns headers");

	/* Fixed-size values cut short. */
	h.n = f.n = 0;
	put_name(&h, "i", ES_INT);
	put_be(&h, 1, 3);
	frame(&f, &h, "{}");
	assert_bad(&f, "event-stream: header value overruns headers");

	h.n = f.n = 0;
	put_name(&h, "u", ES_UUID);
	put_be(&h, 0, 8);
	frame(&f, &h, "{}");
	assert_bad(&f, "event-stream: header value overruns headers");

	h.n = f.n = 0;
	put_name(&h, "t", 10);
	frame(&f, &h, "{}");
	assert_bad(&f, "event-stream: unknown header value type");

	h.n = f.n = 0;
	put_name(&h, "", ES_BOOL_TRUE);
	frame(&f, &h, "{}");
	assert_bad(&f, "event-stream: empty header name");
}

static void test_es_decode_too_many_headers(void **state)
{
	struct bytes h = {.n = 0}, f = {.n = 0};
	int i;

	(void)state;
	for (i = 0; i <= ES_MAX_HEADERS; i++)
		put_name(&h, "b", ES_BOOL_TRUE);
	frame(&f, &h, "{}");
	assert_bad(&f, "event-stream: too many headers");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_es_decode_recorded_converse_stream),
	    cmocka_unit_test(test_es_decode_recorded_invoke_stream),
	    cmocka_unit_test(test_es_decode_generated_agent_streams),
	    cmocka_unit_test(test_es_decode_generated_corrupt_stream),
	    cmocka_unit_test(test_es_header_every_type),
	    cmocka_unit_test(test_es_header_string_helpers),
	    cmocka_unit_test(test_es_header_max_count_accepted),
	    cmocka_unit_test(test_es_decode_every_split_point),
	    cmocka_unit_test(test_es_decode_partial_frame_not_consumed),
	    cmocka_unit_test(test_es_decode_callback_stop),
	    cmocka_unit_test(test_es_decode_bad_prelude_crc),
	    cmocka_unit_test(test_es_decode_bad_message_crc),
	    cmocka_unit_test(test_es_decode_absurd_lengths),
	    cmocka_unit_test(test_es_decode_header_overruns),
	    cmocka_unit_test(test_es_decode_too_many_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
