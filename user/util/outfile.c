// SPDX-License-Identifier: MIT
/* Opening a file a user named for writing. See outfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/outfile.h"

int outfile_open(const char *path, mode_t mode, unsigned flags)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
		if (!S_ISREG(st.st_mode))
			return -EEXIST;
	} else if (errno != ENOENT) {
		return -errno;
	}
	/* CLOEXEC: a command bedtrace launches must not inherit the file */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EEXIST;
		goto fail;
	}
	/* O_CREAT's mode does not apply to a file that already existed */
	if ((flags & OUTFILE_APPEND ? lseek(fd, 0, SEEK_END) < 0 : ftruncate(fd, 0) != 0) ||
	    fcntl(fd, F_SETFL, 0) ||
	    ((flags & OUTFILE_FORCE_MODE) && (st.st_mode & 07777) != mode && fchmod(fd, mode))) {
		err = -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

const char *outfile_refusal(int err)
{
	if (err == ELOOP)
		return "it is a symbolic link";
	if (err == EEXIST)
		return "not a regular file";
	return NULL;
}
