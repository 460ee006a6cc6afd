// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the /proc/PID/status and /proc/PID/environ parsers
 * (user/probe/procinfo.c): the same bytes are read as both. A variable found is in the input as
 * "NAME=VALUE".
 * Seeds: tests/data/corpus/procinfo.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/procinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "A"};
	struct proc_status st;
	char *in = malloc(size ? size : 1), *v, *entry;
	size_t i, n;

	if (!in)
		abort();
	/* a copy of exact length, so ASan sees any read past the input */
	memcpy(in, data, size);
	procinfo_parse_status(in, size, &st);
	if (st.ns_levels < 0 || (st.ns_levels == 0 && st.ns_pid) || st.ppid < 0 || st.ns_pid < 0)
		abort();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = procinfo_environ_get(in, size, names[i]);
		if (!v)
			continue;
		n = strlen(names[i]) + 1 + strlen(v);
		entry = malloc(n + 1);
		if (!entry)
			abort();
		strcpy(entry, names[i]);
		strcat(entry, "=");
		strcat(entry, v);
		if (!memmem(in, size, entry, n))
			abort();
		free(entry);
		free(v);
	}
	free(in);
	return 0;
}
