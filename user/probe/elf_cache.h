/* SPDX-License-Identifier: MIT */
/*
 * The parsed ELF files (elf_sym.h) of this bedtrace process, kept by file identity: device,
 * inode, size and modification time of the file as the target sees it (opened through
 * /proc/PID/root/...). Every process that maps the same executable or library, and every
 * module that looks symbols up in it (functrace, tlscap), shares one parse, so a second process
 * of a program costs a stat and a lookup. A file replaced on disk (new inode or mtime) is read
 * again. Bounded: the least recently used files not in use are dropped past ELF_CACHE_MAX_FILES
 * or ELF_CACHE_MAX_BYTES. Single-threaded, like the event loop that calls it.
 */
#ifndef BT_ELF_CACHE_H
#define BT_ELF_CACHE_H

#include <stddef.h>

#include "probe/elf_sym.h"

#define ELF_CACHE_MAX_FILES 64
#define ELF_CACHE_MAX_BYTES (512u << 20)

/*
 * Stores in *@out the parsed file at @path (free with elf_cache_put, never elf_file_free),
 * parsed now or shared with earlier callers. f->path is the path of whoever parsed it first.
 * Lookups may annotate its symbols (symmatch.h), which every holder then sees. Returns 0 or the
 * -errno of elf_file_open.
 */
int elf_cache_get(const char *path, struct elf_file **out);

/* Releases a file elf_cache_get returned; NULL is a no-op. */
void elf_cache_put(struct elf_file *f);

/* Frees every file not in use (the rest when put). Runs at exit too. */
void elf_cache_clear(void);

struct elf_cache_stats {
	size_t hits, misses, files, bytes;
};

/* Copies the counters of hits and misses and what the cache holds now into *@st. */
void elf_cache_stats(struct elf_cache_stats *st);

#endif
