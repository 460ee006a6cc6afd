// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the request head parser of user/metrics/prom_server.c: whatever a
 * client on the network sends to --prometheus. The input is the bytes received so far.
 * Checks: the verdict is one of the documented ones; a head lies within the input and within
 * PROM_HEAD_MAX and its fields point into it; a verdict other than "more" is already the
 * verdict of the shorter inputs that gave one (bytes received later cannot change it). The
 * same bytes as a NUL-terminated string go through the listen address parser, whose two
 * functions must agree. Seeds: tests/data/corpus/prom_request.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics/prom_server.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && p + n <= buf + len;
}

static void check_head(const char *buf, size_t size, int rc, const struct prom_request *r)
{
	size_t i;

	CHECK(rc == PROM_REQ_MORE || rc == PROM_REQ_BAD || rc == PROM_REQ_TOO_BIG || rc > 0);
	if (rc == PROM_REQ_TOO_BIG)
		CHECK(size >= PROM_HEAD_MAX);
	if (rc <= 0)
		return;
	CHECK((size_t)rc <= size && rc <= PROM_HEAD_MAX);
	CHECK(r->head_len == (size_t)rc);
	CHECK(buf[rc - 1] == '\n');
	CHECK(r->minor == 0 || r->minor == 1);
	CHECK(r->method_len > 0 && r->method == buf);
	CHECK(inside(r->method, r->method_len, buf, (size_t)rc));
	for (i = 0; i < r->method_len; i++)
		CHECK(r->method[i] > ' ' && r->method[i] < 0x7f);
	CHECK(r->path_len > 0);
	/* "/" for an absolute form without a path is not in the buffer */
	CHECK(inside(r->path, r->path_len, buf, (size_t)rc) ||
	      (r->path_len == 1 && r->path[0] == '/'));
	CHECK(r->path[0] == '/' || (r->path_len == 1 && r->path[0] == '*'));
	CHECK(!memchr(r->path, '?', r->path_len) && !memchr(r->path, '#', r->path_len));
}

/* The parse of the first @n bytes, in a buffer of exactly that size for ASan. */
static int parse_prefix(const uint8_t *data, size_t n, struct prom_request *r)
{
	char *b = malloc(n ? n : 1);
	int rc;

	CHECK(b);
	memcpy(b, data, n);
	rc = prom_request_parse(b, n, r);
	check_head(b, n, rc, r);
	if (rc > 0) {
		/* pointers into b are not kept past this function: keep offsets */
		r->method = (const char *)data + (r->method - b);
		if (r->path >= b && r->path < b + n)
			r->path = (const char *)data + (r->path - b);
	}
	free(b);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prom_request full, part;
	struct sockaddr_storage ss;
	socklen_t len;
	size_t cut[10], i, n = 0;
	int rc, prc;
	char *s;

	rc = parse_prefix(data, size, &full);
	/* prefixes: a few spread over the input, and both sides of the head's end */
	for (i = 1; i <= 7; i++)
		cut[n++] = size * i / 8;
	if (rc > 0) {
		cut[n++] = (size_t)rc - 1;
		cut[n++] = (size_t)rc;
	}
	for (i = 0; i < n; i++) {
		prc = parse_prefix(data, cut[i], &part);
		if (prc == PROM_REQ_MORE)
			continue;
		CHECK(prc == rc);
		if (prc > 0) {
			CHECK(part.method == full.method && part.method_len == full.method_len);
			CHECK(part.path_len == full.path_len &&
			      !memcmp(part.path, full.path, full.path_len));
			CHECK(part.minor == full.minor && part.gzip == full.gzip);
		}
	}
	/* a complete head needs all of its bytes */
	if (rc > 0)
		CHECK(parse_prefix(data, (size_t)rc - 1, &part) == PROM_REQ_MORE);

	s = malloc(size + 1);
	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	CHECK((prom_addr_parse(s, &ss, &len) == 0) == (prom_addr_error(s) == NULL));
	if (prom_addr_error(s) == NULL)
		CHECK((ss.ss_family == AF_INET || ss.ss_family == AF_INET6) && len > 0);
	free(s);
	return 0;
}
