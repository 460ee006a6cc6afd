// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the OTEL_RESOURCE_ATTRIBUTES parser (user/span/otel_attrs.c), which reads
 * the environment of any traced process. Every call returns a count or -EINVAL; a malformed value
 * leaves the set untouched, and a value taken parses again to the same count.
 * Seeds: tests/data/corpus/otel_attrs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "span/otel_attrs.h"
#include "span/span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bt_attrs a = {0};
	char *in = malloc(size ? size : 1);
	size_t bad = 0;
	int n, again;

	if (!in)
		abort();
	/* a copy of exact length, so ASan sees any read past the input */
	memcpy(in, data, size);
	bt_attrs_set_str(&a, "sentinel", "1");
	n = otel_attrs_parse(in, size, &a, &bad);
	if (n == -EINVAL) {
		if (a.n != 1 || bad >= size)
			abort();
	} else if (n < 0 || (size_t)n + 1 < a.n) {
		abort();
	} else {
		/* the same input parsed again into the filled set: same answer */
		again = otel_attrs_parse(in, size, &a, NULL);
		if (again != n)
			abort();
	}
	bt_attrs_clear(&a);
	free(in);
	return 0;
}
