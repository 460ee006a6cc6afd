/* SPDX-License-Identifier: MIT */
/*
 * Opening a file a user named for writing, the one way bedtrace does it (the -o, metrics and
 * logs files, the report's page and Chrome trace). bedtrace runs as root and may be pointed at
 * a path in a world-writable directory: a symbolic link or a device planted there must not make
 * it truncate, chmod or fill another file. lstat gives the clear refusal; O_NOFOLLOW and an
 * fstat of the opened file close the race after it; O_NONBLOCK keeps a FIFO swapped in meanwhile
 * from blocking the open; truncation waits until the opened file is known to be regular; the
 * mode of a file that already existed is set with fchmod on the descriptor, never by path.
 */
#ifndef BT_OUTFILE_H
#define BT_OUTFILE_H

#include <sys/types.h>

#define OUTFILE_APPEND 1u     /* keep the content and write at its end (else truncate) */
#define OUTFILE_FORCE_MODE 2u /* an existing file gets @mode too (files that may hold secrets) */

/*
 * Opens or creates @path (mode @mode) for writing, close-on-exec, blocking. Returns the
 * descriptor, or -ELOOP (a symbolic link), -EEXIST (not a regular file) or another -errno.
 */
int outfile_open(const char *path, mode_t mode, unsigned flags);
/* Why outfile_open() refused a path, for errno @err (positive), or NULL (strerror says it). */
const char *outfile_refusal(int err);

#endif
