// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "export/bodies.h"
#include "util/log.h"

/*
 * A connection id is the SSL object's address or the fd's: a later connection may get the same
 * one (SSL_free, then SSL_new at the same address) and restart at exchange 0. Its files then
 * take the first free "<conn>.<k>" (k = 1, 2, ...) rather than failing on the existing name.
 */
#define DUMP_MAX_REUSE 1000

static int dump_one(const char *dir, uint32_t pid, uint64_t conn_id, uint64_t seq,
		    uint32_t stream_id, const char *which, const struct http_msg *m)
{
	char path[PATH_MAX], conn[40];
	size_t off = 0;
	unsigned int k;
	ssize_t n;
	int fd = -1, err = 0;

	for (k = 0; k <= DUMP_MAX_REUSE; k++) {
		if (k)
			snprintf(conn, sizeof(conn), "%" PRIx64 ".%u", conn_id, k);
		else
			snprintf(conn, sizeof(conn), "%" PRIx64, conn_id);
		if (snprintf(path, sizeof(path), "%s/%" PRIu32 "-%s-%" PRIu64 "-%" PRIu32 "-%s.bin",
			     dir, pid, conn, seq, stream_id, which) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		err = -errno;
		pr_warn("--dump-bodies: cannot create %s: %s\n", path, strerror(-err));
		return err;
	}
	while (off < m->body_len) {
		n = write(fd, m->body + off, m->body_len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			pr_warn("--dump-bodies: writing %s: %s\n", path, strerror(-err));
			goto cleanup;
		}
		off += (size_t)n;
	}
cleanup:
	if (close(fd) && !err)
		err = -errno;
	return err;
}

int bodies_dump(const char *dir, uint32_t pid, uint64_t conn_id, uint64_t seq,
		const struct http_exchange *ex)
{
	int err = 0, e;

	if (ex->has_request && (ex->req.body_len || ex->req.wire_body_len))
		err = dump_one(dir, pid, conn_id, seq, ex->stream_id, "req", &ex->req);
	if (ex->has_response && (ex->resp.body_len || ex->resp.wire_body_len)) {
		e = dump_one(dir, pid, conn_id, seq, ex->stream_id, "resp", &ex->resp);
		err = err ?: e;
	}
	return err;
}
