// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the OTEL_EXPORTER_OTLP_HEADERS parser (user/export/otel_env.c): the
 * variable is free text from the environment, and what comes out becomes HTTP header lines.
 * Every accepted name must be a non-empty HTTP token and every value non-empty with no control
 * character but tab (no CR/LF header injection), names unique ignoring case; parsing the same
 * input twice into one list changes nothing. Seeds: tests/data/corpus/otel_headers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/otel_env.h"

static void check(const struct otel_headers *h)
{
	size_t i, j;

	for (i = 0; i < h->n; i++) {
		const char *n = h->v[i].name, *v = h->v[i].value;

		if (!*n || !*v)
			abort();
		for (; *n; n++)
			if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
			      (*n >= '0' && *n <= '9') || strchr("!#$%&'*+-.^_`|~", *n)))
				abort();
		for (; *v; v++)
			if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
				abort();
		for (j = 0; j < i; j++)
			if (!strcasecmp(h->v[i].name, h->v[j].name))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otel_headers h = {0};
	char *s = malloc(size + 1);
	size_t n1;
	int skipped;

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	skipped = otel_headers_parse(s, &h);
	if (skipped < 0)
		abort();
	check(&h);
	n1 = h.n;
	if (otel_headers_parse(s, &h) != skipped || h.n != n1)
		abort();
	check(&h);
	otel_headers_free(&h);
	free(s);
	return 0;
}
