// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "probe/stack_dump.h"
#include "util/grow.h"

int stack_dump_read(int prog_fd, pid_t pid, struct bt_stack_rec **out, size_t *n)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	union bpf_iter_link_info info;
	struct bt_stack_rec *recs = NULL;
	size_t cap = 0, len = 0, have = 0;
	int link = -1, it = -1, err = 0;
	ssize_t got;

	*out = NULL;
	*n = 0;
	memset(&info, 0, sizeof(info));
	info.task.pid = (__u32)pid;
	opts.iter_info = &info;
	opts.iter_info_len = sizeof(info);
	link = bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, &opts);
	if (link < 0) {
		err = -errno;
		goto cleanup;
	}
	it = bpf_iter_create(link);
	if (it < 0) {
		err = -errno;
		goto cleanup;
	}
	/* records arrive whole in one read or across several: count bytes, not reads */
	for (;;) {
		if (len == cap * sizeof(*recs)) {
			if (cap >= BT_MAX_THREADS)
				break;
			if (grow(&recs, &cap, cap + 1, sizeof(*recs))) {
				err = -ENOMEM;
				goto cleanup;
			}
		}
		got = read(it, (char *)recs + len, cap * sizeof(*recs) - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			goto cleanup;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	have = len / sizeof(*recs);
	if (have > BT_MAX_THREADS)
		have = BT_MAX_THREADS;
cleanup:
	if (it >= 0)
		close(it);
	if (link >= 0)
		close(link);
	if (err) {
		free(recs);
		return err;
	}
	if (!have) {
		free(recs);
		recs = NULL;
	}
	*out = recs;
	*n = have;
	return 0;
}
