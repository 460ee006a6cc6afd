// SPDX-License-Identifier: MIT
/*
 * A small list ordered by last use: bedtrace sees tens of distinct files (executables and the
 * libraries they map), so a linear search costs nothing next to one parse.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "probe/elf_cache.h"

struct cache_entry {
	struct cache_entry *prev, *next; /* most recently used first */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct elf_file *f;
	size_t bytes; /* what the parse holds, roughly */
	unsigned refs;
	bool stale; /* replaced on disk while in use: freed on the last put */
};

static struct {
	struct cache_entry *head;
	size_t files, bytes, hits, misses;
	bool atexit_done;
} cache;

static void unlink_entry(struct cache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		cache.head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

static void push_front(struct cache_entry *e)
{
	e->prev = NULL;
	e->next = cache.head;
	if (cache.head)
		cache.head->prev = e;
	cache.head = e;
}

static void drop(struct cache_entry *e)
{
	unlink_entry(e);
	cache.files--;
	cache.bytes -= e->bytes;
	elf_file_free(e->f);
	free(e);
}

/* Drops least recently used files not in use until the cache is within its bounds. */
static void trim(void)
{
	struct cache_entry *e = cache.head, *last = NULL, *prev;

	for (; e; e = e->next)
		last = e;
	for (e = last;
	     e && (cache.files > ELF_CACHE_MAX_FILES || cache.bytes > ELF_CACHE_MAX_BYTES);
	     e = prev) {
		prev = e->prev;
		if (!e->refs)
			drop(e);
	}
}

static void clear_at_exit(void)
{
	elf_cache_clear();
}

static bool same_file(const struct cache_entry *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int elf_cache_get(const char *path, struct elf_file **out)
{
	struct cache_entry *e, *next;
	struct stat st;
	int fd, err;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	/* identity and content from one open file, so a file replaced in between cannot mix */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	for (e = cache.head; e; e = next) {
		next = e->next;
		if (e->stale)
			continue;
		if (e->dev == st.st_dev && e->ino == st.st_ino && !same_file(e, &st)) {
			/* the same inode rewritten in place: its parse is out of date */
			e->stale = true;
			if (!e->refs)
				drop(e);
			continue;
		}
		if (!same_file(e, &st))
			continue;
		unlink_entry(e);
		push_front(e);
		e->refs++;
		cache.hits++;
		*out = e->f;
		err = 0;
		goto cleanup;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = elf_file_open_fd(fd, path, &e->f);
	if (err) {
		free(e);
		goto cleanup;
	}
	cache.misses++;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->size = st.st_size;
	e->mtime = st.st_mtim;
	e->bytes = elf_file_bytes(e->f);
	e->refs = 1;
	push_front(e);
	cache.files++;
	cache.bytes += e->bytes;
	if (!cache.atexit_done)
		cache.atexit_done = atexit(clear_at_exit) == 0;
	trim();
	*out = e->f;
cleanup:
	close(fd);
	return err;
}

void elf_cache_put(struct elf_file *f)
{
	struct cache_entry *e;

	if (!f)
		return;
	for (e = cache.head; e && e->f != f; e = e->next)
		;
	if (!e) {
		pr_debug("elf_cache_put: %s is not in the cache\n", f->path);
		return;
	}
	if (e->refs)
		e->refs--;
	if (!e->refs && e->stale)
		drop(e);
	else
		trim();
}

void elf_cache_clear(void)
{
	struct cache_entry *e, *next;

	for (e = cache.head; e; e = next) {
		next = e->next;
		if (!e->refs)
			drop(e);
	}
}

void elf_cache_stats(struct elf_cache_stats *st)
{
	st->hits = cache.hits;
	st->misses = cache.misses;
	st->files = cache.files;
	st->bytes = cache.bytes;
}
