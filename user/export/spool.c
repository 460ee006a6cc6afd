// SPDX-License-Identifier: MIT
/*
 * The on-disk spool: durable one-file-per-request queue in a directory. See spool.h for the
 * format and the guarantees.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "export/spool.h"
#include "util/grow.h"
#include "util/log.h"

#define SEQ_DIGITS 20
#define MS_DIGITS 13
#define SUFFIX ".btspool"
#define NAME_LEN (SEQ_DIGITS + 1 + MS_DIGITS + sizeof(SUFFIX) - 1)
/* No request bedtrace writes comes near this; a larger file is not one of ours. */
#define FILE_MAX (256u << 20)

struct entry {
	uint64_t seq;
	uint64_t bytes;
	uint64_t n_spans;
	bool earlier;
	char name[NAME_LEN + 1];
};

struct bt_spool {
	char *dir;
	int dirfd;
	uint64_t max_bytes;
	uint64_t next_seq;
	struct entry *v; /* sorted by seq; live entries are [first, n) */
	size_t first, n, cap;
	struct spool_stats st;
};

/* ---- the format (pure) ---- */

/* Parses decimal digits at *@p up to @end into *@out; false if none or overflow. */
static bool parse_u64(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *q = *p;

	if (q >= end || *q < '0' || *q > '9')
		return false;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		if (v > (UINT64_MAX - (uint64_t)(*q - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*q - '0');
	}
	*p = q;
	*out = v;
	return true;
}

/* Consumes the literal @lit at *@p. */
static bool eat(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return false;
	*p += n;
	return true;
}

int spool_parse_header(const char *buf, size_t len, struct spool_meta *m)
{
	const char *p = buf, *end = buf + (len < SPOOL_HEADER_MAX ? len : SPOOL_HEADER_MAX);
	uint64_t blen, crc = 0;
	int i;

	memset(m, 0, sizeof(*m));
	if (!eat(&p, end, SPOOL_MAGIC " spans=") || !parse_u64(&p, end, &m->n_spans))
		return -EBADMSG;
	if (eat(&p, end, " encoding=gzip"))
		m->gzip = true;
	else if (!eat(&p, end, " encoding=json"))
		return -EBADMSG;
	if (!eat(&p, end, " length=") || !parse_u64(&p, end, &blen) || blen > FILE_MAX ||
	    !eat(&p, end, " crc32="))
		return -EBADMSG;
	for (i = 0; i < 8; i++, p++) {
		if (p >= end)
			return -EBADMSG;
		if (*p >= '0' && *p <= '9')
			crc = crc << 4 | (uint64_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			crc = crc << 4 | (uint64_t)(*p - 'a' + 10);
		else
			return -EBADMSG;
	}
	if (!eat(&p, end, "\n"))
		return -EBADMSG;
	m->body_len = (size_t)blen;
	m->crc = (uint32_t)crc;
	m->body_off = (size_t)(p - buf);
	return 0;
}

int spool_check(const char *buf, size_t len, struct spool_meta *m)
{
	uLong crc;

	if (spool_parse_header(buf, len, m))
		return -EBADMSG;
	if (len - m->body_off != m->body_len)
		return -EBADMSG;
	crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, (const Bytef *)buf + m->body_off, (uInt)m->body_len);
	return (uint32_t)crc == m->crc ? 0 : -EBADMSG;
}

size_t spool_format_header(char *out, uint64_t n_spans, bool gzip, const char *body, size_t len)
{
	uLong crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)body, (uInt)len);
	int n = snprintf(out, SPOOL_HEADER_MAX,
			 SPOOL_MAGIC " spans=%" PRIu64 " encoding=%s length=%zu crc32=%08lx\n",
			 n_spans, gzip ? "gzip" : "json", len, (unsigned long)crc);

	return n > 0 && n < SPOOL_HEADER_MAX ? (size_t)n : 0;
}

/* ---- the directory ---- */

static bool is_spool_name(const char *name, uint64_t *seq)
{
	const char *p = name, *end = name + strlen(name);
	size_t i;

	if ((size_t)(end - p) != NAME_LEN || strcmp(name + SEQ_DIGITS + 1 + MS_DIGITS, SUFFIX))
		return false;
	for (i = 0; i < SEQ_DIGITS + 1 + MS_DIGITS; i++)
		if (i == SEQ_DIGITS ? name[i] != '-' : (name[i] < '0' || name[i] > '9'))
			return false;
	return parse_u64(&p, name + SEQ_DIGITS, seq);
}

/* Moves @name aside as <name>.corrupt (or deletes it if that fails) and says so once. */
static void quarantine(struct bt_spool *s, const char *name, const char *why)
{
	char aside[NAME_LEN + 16];

	snprintf(aside, sizeof(aside), "%s.corrupt", name);
	if (renameat(s->dirfd, name, s->dirfd, aside) == 0) {
		pr_warn("spool: %s/%s is unreadable (%s); moved aside as %s\n", s->dir, name, why,
			aside);
		return;
	}
	unlinkat(s->dirfd, name, 0);
	pr_warn("spool: %s/%s is unreadable (%s); removed\n", s->dir, name, why);
}

static int entry_add(struct bt_spool *s, uint64_t seq, const char *name, uint64_t bytes,
		     uint64_t n_spans, bool earlier)
{
	struct entry *e;

	if (grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v)))
		return -ENOMEM;
	e = &s->v[s->n++];
	e->seq = seq;
	e->bytes = bytes;
	e->n_spans = n_spans;
	e->earlier = earlier;
	snprintf(e->name, sizeof(e->name), "%s", name);
	s->st.files++;
	s->st.bytes += bytes;
	s->st.spans += n_spans;
	if (earlier)
		s->st.spans_earlier += n_spans;
	return 0;
}

/* Forgets entry @i (live) of the index. */
static void entry_drop(struct bt_spool *s, size_t i)
{
	const struct entry *e = &s->v[i];

	s->st.files--;
	s->st.bytes -= e->bytes;
	s->st.spans -= e->n_spans;
	if (e->earlier)
		s->st.spans_earlier -= e->n_spans;
	if (i == s->first) {
		s->first++;
	} else {
		memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
		s->n--;
	}
	if (s->first == s->n)
		s->first = s->n = 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Indexes one directory entry found at open. */
static int scan_one(struct bt_spool *s, const char *name)
{
	char head[SPOOL_HEADER_MAX];
	struct spool_meta m;
	struct stat st;
	uint64_t seq;
	ssize_t got;
	int fd;

	if (!strncmp(name, ".tmp-", 5)) {
		/* an interrupted write: the request it held was never acknowledged as spooled */
		if (unlinkat(s->dirfd, name, 0) == 0)
			pr_debug("spool: removed the unfinished %s/%s\n", s->dir, name);
		return 0;
	}
	if (!is_spool_name(name, &seq))
		return 0;
	fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		quarantine(s, name, strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		quarantine(s, name, "not a regular file");
		return 0;
	}
	got = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (got < 0 || spool_parse_header(head, (size_t)got, &m) ||
	    (uint64_t)st.st_size != m.body_off + m.body_len) {
		quarantine(s, name, got < 0 ? strerror(errno) : "bad header or length");
		return 0;
	}
	if (seq >= s->next_seq)
		s->next_seq = seq + 1;
	return entry_add(s, seq, name, (uint64_t)st.st_size, m.n_spans, true);
}

static int scan(struct bt_spool *s)
{
	struct dirent *d;
	DIR *dir;
	int fd = dup(s->dirfd), err = 0;

	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		err = -errno;
		close(fd);
		return err;
	}
	while (!err && (d = readdir(dir)))
		err = scan_one(s, d->d_name);
	closedir(dir);
	qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
	return err;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *path)
{
	char *p = strdup(path), *q;
	int err = 0;

	if (!p)
		return -ENOMEM;
	for (q = p + 1; !err; q++) {
		if (*q && *q != '/')
			continue;
		bool last = !*q;

		*q = '\0';
		if (mkdir(p, 0700) && errno != EEXIST)
			err = -errno;
		if (last)
			break;
		*q = '/';
	}
	free(p);
	return err;
}

/*
 * Creates @dir if missing and opens it as a spool directory may be opened: not through a
 * symbolic link, a directory, ours and writable by nobody else. Returns the descriptor or
 * -errno.
 */
static int open_checked(const char *dir)
{
	struct stat st;
	int fd, err;

	err = make_dirs(dir);
	if (err)
		return err;
	/* the clear refusal; O_NOFOLLOW below closes the race */
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
		return -ELOOP;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	/* files in it are sent to the collector as ours: nobody else may put any there */
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int spool_dir_check(const char *dir)
{
	int fd;

	if (!dir || !*dir)
		return -EINVAL;
	fd = open_checked(dir);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

struct bt_spool *spool_open(const char *dir, uint64_t max_bytes)
{
	struct bt_spool *s = NULL;
	int err = 0;

	if (!dir || !*dir) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		err = -ENOMEM;
		goto fail;
	}
	s->dirfd = -1;
	s->max_bytes = max_bytes;
	s->next_seq = 1;
	s->dirfd = open_checked(dir);
	if (s->dirfd < 0) {
		err = s->dirfd;
		goto fail;
	}
	if (flock(s->dirfd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	err = scan(s);
	if (err)
		goto fail;
	return s;
fail:
	spool_close(s);
	errno = -err;
	return NULL;
}

void spool_close(struct bt_spool *s)
{
	if (!s)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->v);
	free(s->dir);
	free(s);
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int spool_put(struct bt_spool *s, const char *body, size_t len, uint64_t n_spans, bool gzip)
{
	char head[SPOOL_HEADER_MAX], tmp[32], name[NAME_LEN + 1];
	struct timespec now;
	size_t hlen = spool_format_header(head, n_spans, gzip, body, len);
	uint64_t bytes = hlen + len;
	int fd, err;

	if (!hlen)
		return -EINVAL;
	if (s->st.bytes + bytes > s->max_bytes)
		return -EFBIG;
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(name, sizeof(name), "%0*" PRIu64 "-%0*" PRIu64 SUFFIX, SEQ_DIGITS, s->next_seq,
		 MS_DIGITS, (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000);
	snprintf(tmp, sizeof(tmp), ".tmp-%" PRIu64, s->next_seq);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, head, hlen);
	if (!err)
		err = write_all(fd, body, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	/* the rename publishes a complete file; the directory fsync makes the name durable */
	if (!err && renameat(s->dirfd, tmp, s->dirfd, name))
		err = -errno;
	if (err) {
		unlinkat(s->dirfd, tmp, 0);
		return err;
	}
	if (fsync(s->dirfd))
		pr_debug("spool: fsync %s: %s\n", s->dir, strerror(errno));
	err = entry_add(s, s->next_seq, name, bytes, n_spans, false);
	s->next_seq++;
	return err;
}

/* Reads all of @fd (a regular file of @size bytes) into a new buffer. */
static int read_file(int fd, size_t size, char **out)
{
	char *buf = malloc(size + 1);
	size_t got = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	while (got < size) {
		n = pread(fd, buf + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EBADMSG; /* shorter than it was */
		}
		got += (size_t)n;
	}
	buf[size] = '\0';
	*out = buf;
	return 0;
}

int spool_read_oldest(struct bt_spool *s, struct spool_item *it)
{
	struct spool_meta m;
	struct entry *e;
	struct stat st;
	char *buf = NULL;
	int fd, err;

	memset(it, 0, sizeof(*it));
	if (s->first == s->n)
		return -ENOENT;
	e = &s->v[s->first];
	/* what the index knows, for the caller's counts should the file prove unreadable */
	it->seq = e->seq;
	it->n_spans = e->n_spans;
	it->from_earlier_run = e->earlier;
	snprintf(it->name, sizeof(it->name), "%s", e->name);
	fd = openat(s->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOMEM || err == -EMFILE || err == -ENFILE)
			return err;
		if (err == -ENOENT)
			pr_warn("spool: %s/%s disappeared before it was sent\n", s->dir, e->name);
		else
			quarantine(s, e->name, strerror(-err));
		entry_drop(s, s->first);
		return -EBADMSG;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		close(fd);
		quarantine(s, e->name, "not a regular file of a plausible size");
		entry_drop(s, s->first);
		return -EBADMSG;
	}
	err = read_file(fd, (size_t)st.st_size, &buf);
	close(fd);
	if (err == -ENOMEM || err == -EIO)
		return err;
	if (err || spool_check(buf, (size_t)st.st_size, &m)) {
		free(buf);
		quarantine(s, e->name, err ? strerror(-err) : "header, length or CRC mismatch");
		entry_drop(s, s->first);
		return -EBADMSG;
	}
	memmove(buf, buf + m.body_off, m.body_len);
	buf[m.body_len] = '\0';
	it->gzip = m.gzip;
	it->body = buf;
	it->body_len = m.body_len;
	return 0;
}

int spool_remove(struct bt_spool *s, const struct spool_item *it)
{
	size_t i;
	int err = 0;

	for (i = s->first; i < s->n && s->v[i].seq != it->seq; i++)
		;
	if (i == s->n)
		return -ENOENT;
	if (unlinkat(s->dirfd, s->v[i].name, 0) && errno != ENOENT)
		err = -errno;
	entry_drop(s, i);
	return err;
}

void spool_item_free(struct spool_item *it)
{
	free(it->body);
	it->body = NULL;
}

void spool_get_stats(const struct bt_spool *s, struct spool_stats *out)
{
	*out = s->st;
}

const char *spool_dir(const struct bt_spool *s)
{
	return s->dir;
}
