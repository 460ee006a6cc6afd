// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the cgroup path parser (user/probe/cgroup.c): the input is the text of a
 * /proc/PID/cgroup file. Whatever it holds, a container id found is 64 hex digits and a pod uid
 * is 8-4-4-4-12 hex with dashes, and both appear in the input (the pod uid maybe with '_').
 * Seeds: tests/data/corpus/cgroup.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/cgroup.h"

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgroup_ids ids;
	char *in = malloc(size ? size : 1), uid_[CGROUP_POD_UID_LEN + 1];
	bool found;
	size_t i;

	if (!in)
		abort();
	/* a copy of exact length, so ASan sees any read past the input */
	memcpy(in, data, size);
	found = cgroup_parse_ids(in, size, &ids);
	if (found != (ids.container_id[0] || ids.pod_uid[0]))
		abort();
	if (ids.container_id[0]) {
		if (strlen(ids.container_id) != CGROUP_CONTAINER_ID_LEN ||
		    !memmem(in, size, ids.container_id, CGROUP_CONTAINER_ID_LEN))
			abort();
		for (i = 0; i < CGROUP_CONTAINER_ID_LEN; i++)
			if (!is_hex(ids.container_id[i]))
				abort();
	}
	if (ids.pod_uid[0]) {
		if (strlen(ids.pod_uid) != CGROUP_POD_UID_LEN)
			abort();
		memcpy(uid_, ids.pod_uid, sizeof(uid_));
		for (i = 0; i < CGROUP_POD_UID_LEN; i++) {
			int dash = i == 8 || i == 13 || i == 18 || i == 23;

			if (dash ? ids.pod_uid[i] != '-' : !is_hex(ids.pod_uid[i]))
				abort();
			if (dash)
				uid_[i] = '_';
		}
		if (!memmem(in, size, ids.pod_uid, CGROUP_POD_UID_LEN) &&
		    !memmem(in, size, uid_, CGROUP_POD_UID_LEN))
			abort();
	}
	free(in);
	return 0;
}
