// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the spool file format (user/export/spool.c): files in the spool
 * directory are read back after a crash, a full disk or someone else's hands. The input is a
 * whole file image. A header that parses must end within SPOOL_HEADER_MAX; an image that
 * checks must round-trip: the header formatted for its body checks and says the same.
 * Seeds: tests/data/corpus/spool.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/spool.h"
#include "util/size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), head[SPOOL_HEADER_MAX];
	struct spool_meta m, m2;
	size_t h;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	if (spool_parse_header(buf, size, &m) == 0 && m.body_off > SPOOL_HEADER_MAX)
		abort();
	if (spool_check(buf, size, &m) == 0) {
		if (m.body_off + m.body_len != size)
			abort();
		h = spool_format_header(head, m.n_spans, m.gzip, buf + m.body_off, m.body_len);
		if (!h || spool_parse_header(head, h, &m2) || m2.n_spans != m.n_spans ||
		    m2.gzip != m.gzip || m2.body_len != m.body_len || m2.crc != m.crc ||
		    m2.body_off != h)
			abort();
	}
	/* the size parser over the same bytes */
	{
		char *s = malloc(size + 1);
		uint64_t v;

		if (!s)
			abort();
		memcpy(s, data, size);
		s[size] = '\0';
		size_parse(s, &v);
		free(s);
	}
	free(buf);
	return 0;
}
