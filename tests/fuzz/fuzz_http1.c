// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for http1.c. The input is a small program. Byte 0 picks the limits; then
 * each record is a control byte followed by its payload:
 *
 *   bit 0      direction (0 = BT_DIR_SEND, 1 = BT_DIR_RECV)
 *   bits 1-2   0, 1: feed, or omit when the length is 0; 2: feed, or close when the length
 *              is 0; 3: gap
 *   bits 3-7   length 0..30; 31 = 31 + 4 * next byte (feed) or 32 + 64 * next byte (gap)
 *
 * Omit takes the next byte k: the next n body bytes, announced by http1_conn_body_ahead(), are
 * omitted (http1_conn_omit) with n = all of them (k 0), k (k 1..127, often more than there
 * are), or all of them plus k - 128 (k 128..255: more than there are, but for k 128).
 *
 * Every input runs twice, as programmed and with each fed record cut into single bytes (same
 * timestamp and tag); both runs must deliver the same exchanges, start timestamps and tags
 * aside, and every delivered exchange must satisfy the model's invariants.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/body.h"
#include "proto/http1.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

struct fuzz_run {
	size_t max_body;
	uint64_t *hash;
	size_t n, cap;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
	return fnv(h, &v, sizeof(v));
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return s ? fnv(h, s, strlen(s) + 1) : fnv_u64(h, 0xdeadbeef);
}

static uint64_t hash_msg(uint64_t h, const struct http_msg *m, size_t max_body)
{
	size_t i;

	CHECK(m->body_len <= max_body);
	CHECK(m->body_len == 0 || m->body);
	h = fnv_str(h, m->method);
	h = fnv_str(h, m->target);
	h = fnv_str(h, m->authority);
	h = fnv_u64(h, (uint64_t)m->status);
	for (i = 0; i < m->n_headers; i++) {
		const char *p;

		CHECK(m->headers[i].name && m->headers[i].value);
		for (p = m->headers[i].name; *p; p++)
			CHECK(!(*p >= 'A' && *p <= 'Z'));
		h = fnv_str(h, m->headers[i].name);
		h = fnv_str(h, m->headers[i].value);
	}
	/* a body that could not be decoded is the bytes as received (body.h) */
	if (m->error &&
	    (!strcmp(m->error, BODY_ERR_CORRUPT) || !strcmp(m->error, BODY_ERR_TRUNCATED) ||
	     !strcmp(m->error, BODY_ERR_UNSUPPORTED)))
		CHECK(m->body_len <= m->wire_body_len);
	h = fnv(h, m->body, m->body_len);
	for (i = 0; i < m->n_body_ts; i++) {
		CHECK(m->body_ts[i].off <= m->body_len);
		CHECK(i == 0 || m->body_ts[i].off > m->body_ts[i - 1].off);
		h = fnv_u64(h, m->body_ts[i].off);
		h = fnv_u64(h, m->body_ts[i].ts_ns);
	}
	h = fnv_u64(h, m->body_len);
	h = fnv_u64(h, m->wire_body_len);
	h = fnv_u64(h, m->lost_bytes);
	/* omitted bytes are body bytes, and none after them is stored */
	CHECK(m->omitted_bytes <= m->wire_body_len);
	CHECK(!m->omitted_bytes || m->body_len + m->omitted_bytes <= m->wire_body_len);
	h = fnv_u64(h, m->omitted_bytes);
	h = fnv_u64(h, m->end_ns);
	h = fnv_u64(h, m->first_body_ns);
	h = fnv_u64(h, (uint64_t)m->truncated << 1 | m->complete);
	return fnv_str(h, m->error);
}

static void on_exchange(void *ctx, struct http_exchange *ex)
{
	struct fuzz_run *r = ctx;
	uint64_t h = 0xcbf29ce484222325ull;

	CHECK(ex->version == 11);
	CHECK(!ex->has_request || (ex->req.method && ex->req.target));
	CHECK(ex->incomplete ||
	      (ex->has_request && ex->has_response && ex->req.complete && ex->resp.complete));
	h = fnv_u64(h, (uint64_t)ex->server_side << 3 | (uint64_t)ex->has_request << 2 |
			   (uint64_t)ex->has_response << 1 | ex->incomplete);
	h = hash_msg(h, &ex->req, r->max_body);
	h = hash_msg(h, &ex->resp, r->max_body);
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->hash = realloc(r->hash, r->cap * sizeof(*r->hash));
		CHECK(r->hash);
	}
	r->hash[r->n++] = h;
}

/* Omits body bytes of @dir as the connection tracker would, @k choosing how many (see top). */
static void omit(struct http1_conn *c, enum bt_dir dir, uint8_t k, uint64_t ts)
{
	const struct http_exchange *ex = NULL;
	uint64_t ahead = http1_conn_body_ahead(c, dir, &ex), n, after;
	int rc;

	CHECK(!ahead || (ex && (ex->has_request || ex->has_response)));
	n = k == 0 ? ahead : k < 128 ? k : ahead + (k - 128u);
	rc = http1_conn_omit(c, dir, n, ts);
	after = http1_conn_body_ahead(c, dir, NULL);
	if (n > ahead) {
		CHECK(rc == -ERANGE);
		CHECK(after == ahead);
	} else {
		CHECK(rc == 0);
		/* the rest of the body or chunk; 0 once it is done */
		CHECK(after == ahead - n);
	}
}

static void run(const uint8_t *data, size_t size, bool bytewise, struct fuzz_run *r)
{
	static const size_t bodies[] = {0, 7, 100, 1 << 20};
	static const size_t headers[] = {16, 64, 300, 0};
	struct http1_limits lim = {bodies[data[0] & 3], headers[(data[0] >> 2) & 3]};
	struct http1_conn *c;
	bool stopped = false;
	uint64_t ts = 0;
	size_t i = 1, len, k;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->max_body = lim.max_body;
	c = http1_conn_new(&lim, on_exchange, r);
	CHECK(c);
	while (i < size) {
		uint8_t ctl = data[i++];
		enum bt_dir dir = (ctl & 1) ? BT_DIR_RECV : BT_DIR_SEND;
		unsigned int op = (ctl >> 1) & 3;

		len = ctl >> 3;
		ts += 10;
		if (op == 3) {
			uint64_t lost = len + 1;

			if (len == 31 && i < size)
				lost = 32 + 64 * (uint64_t)data[i++];
			if (!stopped)
				http1_conn_gap(c, dir, lost, ts);
			continue;
		}
		if (op == 2 && len == 0) {
			http1_conn_close(c, ts);
			continue;
		}
		if (op < 2 && len == 0) {
			if (i < size)
				omit(c, dir, data[i++], ts);
			continue;
		}
		if (len == 31 && i < size)
			len = 31 + 4 * (size_t)data[i++];
		if (len > size - i)
			len = size - i;
		for (k = 0; !stopped && k < len; k += bytewise ? 1 : len) {
			rc = http1_conn_feed(c, dir, data + i + k, bytewise ? 1 : len, ts, ts);
			CHECK(rc == 0 || rc == -EPROTO);
			stopped = rc != 0;
		}
		i += len;
	}
	http1_conn_close(c, ts + 1);
	http1_conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run a, b;

	if (size < 1)
		return 0;
	run(data, size, false, &a);
	run(data, size, true, &b);
	CHECK(a.n == b.n);
	CHECK(a.n == 0 || memcmp(a.hash, b.hash, a.n * sizeof(*a.hash)) == 0);
	free(a.hash);
	free(b.hash);
	(void)http1_detect(data, size);
	return 0;
}
