// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the credential redactor (user/redact.c), a parser of untrusted argv.
 * The input is a /proc/PID/cmdline image (NUL-separated arguments). Every call must return a
 * string, and a value after "--password" in its own argument must never survive.
 * Seeds: tests/data/corpus/redact.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/redact.h"

#define CANARY "Zq7Canary"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* "x" takes any value the input's last option still expects, as getopt would */
	static const char tail[] = "\0x\0--password\0" CANARY;
	size_t tlen = sizeof(tail) - 1;
	char *in, *out, *q;

	/* a copy of exact length, so ASan sees any read past the input */
	in = malloc(size + tlen);
	if (!in)
		abort();
	memcpy(in, data, size);
	out = redact_cmdline(in, size);
	if (!out)
		abort();
	free(out);
	/* the same arguments with a known secret appended */
	memcpy(in + size, tail, tlen);
	out = redact_cmdline(in, size + tlen);
	if (!out || (!memmem(data, size, CANARY, strlen(CANARY)) && strstr(out, CANARY)))
		abort();
	free(out);
	/* the URL and query rules over the same bytes */
	q = malloc(size + 1);
	if (!q)
		abort();
	memcpy(q, data, size);
	q[size] = '\0';
	out = redact_url("https", q, q);
	if (!out)
		abort();
	free(out);
	out = redact_query(q, strlen(q));
	if (!out)
		abort();
	free(out);
	free(q);
	free(in);
	return 0;
}
