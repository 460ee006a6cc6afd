/* SPDX-License-Identifier: MIT */
/*
 * The on-disk spool of the OTLP/HTTP exporter: encoded requests that could not be delivered
 * yet, kept in a directory so that a collector outage, or a restart of bedtrace, loses none.
 *
 * On disk: one regular file per request, mode 0600, in a directory of mode 0700 that belongs
 * to bedtrace's user and is writable by nobody else.
 *   name    SSSSSSSSSSSSSSSSSSSS-MMMMMMMMMMMMM.btspool: S the sequence number (20 decimal
 *           digits, zero-padded, one more than the largest found at start), M the creation
 *           time in Unix milliseconds (13 digits). Names sort in creation order.
 *   content one header line, then the request body exactly as it is POSTed:
 *             "BTSPOOL1 spans=N encoding=json|gzip length=L crc32=XXXXXXXX\n"
 *           N the spans in the request (its data points or log records for a metrics or
 *           logs spool), L the body's length in bytes, XXXXXXXX the zlib CRC-32 of the body
 *           in lowercase hex. encoding=gzip: the body is gzip-compressed OTLP JSON, sent with
 *           Content-Encoding: gzip.
 * A file is written as ".tmp-S" in the same directory, fsync'ed, renamed to its name and the
 * directory fsync'ed: a file with a final name is complete. Temporary files left by a crash
 * are removed at open. A file whose header, length or CRC does not match is renamed to
 * "<name>.corrupt" (kept for inspection, never read again) and reported.
 *
 * One bedtrace uses a directory at a time (an flock on the directory; a second one is
 * refused with EBUSY). Not thread-safe: one thread uses a spool.
 */
#ifndef BT_SPOOL_H
#define BT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAGIC "BTSPOOL1"
#define SPOOL_HEADER_MAX 128

struct bt_spool;

/* What a spool file's header says. */
struct spool_meta {
	uint64_t n_spans;
	bool gzip;
	size_t body_off; /* where the body starts in the file */
	size_t body_len;
	uint32_t crc;
};

/* One request read back from the spool. */
struct spool_item {
	uint64_t seq;
	uint64_t n_spans;
	bool gzip;
	bool from_earlier_run; /* written before this spool_open() */
	char *body;	       /* malloc'd, body_len bytes plus a NUL; free with spool_item_free */
	size_t body_len;
	char name[64]; /* the file name, for messages */
};

/*
 * Parses the header of a spool file image @buf (@len bytes, or only its start) into @m.
 * Returns 0, or -EBADMSG when it is not a header this version wrote. Pure: no I/O.
 */
int spool_parse_header(const char *buf, size_t len, struct spool_meta *m);
/*
 * Checks a whole file image: header, length and CRC. Returns 0 (with @m filled) or -EBADMSG.
 */
int spool_check(const char *buf, size_t len, struct spool_meta *m);
/* Formats the header line for a body into @out (SPOOL_HEADER_MAX bytes); returns its length. */
size_t spool_format_header(char *out, uint64_t n_spans, bool gzip, const char *body, size_t len);

/*
 * Opens (creating it 0700, parents too) the spool directory @dir holding at most @max_bytes
 * of files, removes temporary files and indexes the requests left there. Returns the spool or
 * NULL + errno: EBUSY (another bedtrace uses it), EPERM (not owned by us, or writable by
 * others), ENOTDIR/ELOOP (not a directory, a symbolic link), or the error of a system call.
 * Problems with single files are reported and do not fail the open.
 */
struct bt_spool *spool_open(const char *dir, uint64_t max_bytes);
/*
 * Creates @dir (0700, parents too) if missing and checks it as spool_open() checks its
 * directory, without locking or reading it: for a directory that holds spools. Returns 0 or
 * -errno (EPERM, ENOTDIR, ELOOP, or the error of a system call).
 */
int spool_dir_check(const char *dir);
void spool_close(struct bt_spool *s);

/*
 * Writes one request durably (see above). Returns 0, -EFBIG when it would take the spool past
 * its maximum (nothing written), or -errno of the failing call (nothing left behind).
 */
int spool_put(struct bt_spool *s, const char *body, size_t len, uint64_t n_spans, bool gzip);

/*
 * Reads the oldest request into @it. Returns 0, -ENOENT when the spool is empty, -EBADMSG
 * when that file was corrupt (already moved aside and reported; @it still has the seq, span
 * count and run of its index entry; call again for the next), or -errno (the file stays;
 * ENOMEM, EIO).
 */
int spool_read_oldest(struct bt_spool *s, struct spool_item *it);
/* Deletes the file of @it (after the collector accepted it). Returns 0 or -errno. */
int spool_remove(struct bt_spool *s, const struct spool_item *it);
void spool_item_free(struct spool_item *it);

/* Counts of what is in the spool now. */
struct spool_stats {
	uint64_t files;
	uint64_t bytes;
	uint64_t spans;
	uint64_t spans_earlier; /* of them, written by an earlier run */
};
void spool_get_stats(const struct bt_spool *s, struct spool_stats *out);

const char *spool_dir(const struct bt_spool *s);

#endif
