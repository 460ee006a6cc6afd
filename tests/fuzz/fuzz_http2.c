// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the HTTP/2 connection parser. The input is a list of records
 *   op, length (16-bit little-endian), bytes
 * op bit 7 set: capture gap of `length` bytes in direction op & 1 (no bytes follow);
 * op 0x7e: connection close (no bytes follow); otherwise: feed `length` bytes in direction
 * op & 1. So the fuzzer picks both directions' contents, their interleaving and chunk sizes.
 * Every delivered exchange is checked against the invariants the span builders rely on.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/body.h"
#include "proto/http2.h"

#define FUZZ_MAX_BODY 4096

static void check_msg(const struct http_msg *m)
{
	volatile size_t sink = 0;
	size_t i;

	if (m->method)
		sink += strlen(m->method);
	if (m->target)
		sink += strlen(m->target);
	if (m->authority)
		sink += strlen(m->authority);
	if (m->scheme)
		sink += strlen(m->scheme);
	if (m->status < 0 || m->status > 999)
		__builtin_trap();
	for (i = 0; i < m->n_headers; i++) {
		const char *n = m->headers[i].name;

		if (!n || !m->headers[i].value || n[0] == ':')
			__builtin_trap();
		for (; *n; n++)
			if (*n >= 'A' && *n <= 'Z')
				__builtin_trap();
		sink += strlen(m->headers[i].value);
	}
	if (m->body_len > FUZZ_MAX_BODY || (m->body_len && !m->body))
		__builtin_trap();
	for (i = 0; i < m->body_len; i++)
		sink += m->body[i];
	for (i = 1; i < m->n_body_ts; i++)
		if (m->body_ts[i].off < m->body_ts[i - 1].off)
			__builtin_trap();
	if (m->complete && m->error == NULL && m->truncated && m->lost_bytes)
		__builtin_trap();
	/* a body that could not be decoded is the bytes as received (body.h) */
	if (m->error &&
	    (!strcmp(m->error, BODY_ERR_CORRUPT) || !strcmp(m->error, BODY_ERR_TRUNCATED) ||
	     !strcmp(m->error, BODY_ERR_UNSUPPORTED)) &&
	    m->body_len > m->wire_body_len)
		__builtin_trap();
	for (i = 0; i < m->n_body_ts; i++)
		if (m->body_ts[i].off > m->body_len)
			__builtin_trap();
	(void)sink;
}

static void on_exchange(void *ctx, struct http_exchange *ex)
{
	size_t *count = ctx;

	if (ex->version != 20)
		__builtin_trap();
	check_msg(&ex->req);
	check_msg(&ex->resp);
	(*count)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http2_limits lim = {.max_body = FUZZ_MAX_BODY};
	struct http2_conn *c;
	size_t count = 0, n;
	uint64_t ts = 1;
	uint8_t op;

	/* detection is total and agrees with itself: the whole preface is HTTP/2 both ways */
	if (http2_detect(data, size) == HTTP2_YES && http2_detect_mid(data, size) != HTTP2_YES)
		__builtin_trap();
	c = http2_conn_new(&lim, on_exchange, &count);
	if (!c)
		return 0;
	while (size >= 3) {
		op = data[0];
		n = (size_t)data[1] | (size_t)data[2] << 8;
		data += 3;
		size -= 3;
		if (op & 0x80) {
			http2_conn_gap(c, op & 1, n, ts++);
			continue;
		}
		if (op == 0x7e) {
			http2_conn_close(c, ts++);
			continue;
		}
		if (n > size)
			n = size;
		http2_conn_feed(c, op & 1, data, n, ts, ts * 7);
		ts++;
		data += n;
		size -= n;
	}
	http2_conn_close(c, ts);
	http2_conn_free(c);
	return 0;
}
