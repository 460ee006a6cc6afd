// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util/grow.h"
#include "probe/elf_cache.h"
#include "probe/fdclose.h"
#include "probe/elf_sym.h"
#include "util/log.h"
#include "util/stopwatch.h"
#include "probe/ssl_inner.h"
#include "probe/target.h"
#include "probe/tlscap.h"
#include "probe/uprobe_multi.h"
#include "tlscap.skel.h"

struct probed {
	pid_t pid; /* 0: per file, for every process */
	dev_t dev;
	ino_t ino;
	char *path; /* as the target sees it */
};

struct tls_capture {
	struct tlscap *skel;
	int *links; /* uprobe_multi link descriptors */
	size_t n_links, cap_links;
	struct probed *objs;
	size_t n_objs, cap_objs;
	struct sw_tally *symbols; /* time reading symbols, by object file (-v) */
	bool per_file; /* -e / -a: one set of links per file, for every process that maps it */
};

/* The read and write entry points, by direction (0 = write, as in bt_data_event.dir). */
static const char *const plain_syms[2] = {"SSL_write", "SSL_read"};
static const char *const ex_syms[2] = {"SSL_write_ex", "SSL_read_ex"};
static const char *const close_syms[] = {"SSL_shutdown", "SSL_free"};

struct tls_capture *tlscap_load(struct bt_shared_maps *maps, uint64_t wakeup_at)
{
	struct tls_capture *tc = calloc(1, sizeof(*tc));
	struct bpf_program *prog;
	int err;

	if (!tc)
		return NULL;
	tc->skel = tlscap__open();
	if (!tc->skel) {
		err = -errno;
		goto fail;
	}
	tc->skel->rodata->wakeup_at = wakeup_at;
	tc->skel->rodata->select_mode = maps->select_mode;
	tc->per_file = maps->select_mode != BT_SELECT_PIDS;
	err = shared_maps_reuse(maps, tc->skel->obj);
	if (err)
		goto fail;
	bpf_object__for_each_program(prog, tc->skel->obj)
	{
		err = uprobe_multi_prepare(prog);
		if (err)
			goto fail;
	}
	err = tlscap__load(tc->skel);
	if (err)
		goto fail;
	shared_maps_publish(maps, tc->skel->obj);
	return tc;
fail:
	tlscap_destroy(tc);
	errno = -err;
	return NULL;
}

void tlscap_detach_all(struct tls_capture *tc)
{
	/* each uprobe's release waits out grace periods: released together, they share them */
	fds_close_concurrently(tc->links, tc->n_links);
	tc->n_links = 0;
}

void tlscap_destroy(struct tls_capture *tc)
{
	size_t i;

	if (!tc)
		return;
	tlscap_detach_all(tc);
	tlscap__destroy(tc->skel);
	for (i = 0; i < tc->n_objs; i++)
		free(tc->objs[i].path);
	free(tc->objs);
	free(tc->links);
	free(tc);
}

void tlscap_time_symbols(struct tls_capture *tc, struct sw_tally *t)
{
	tc->symbols = t;
}

size_t tlscap_n_objects(const struct tls_capture *tc)
{
	return tc->n_objs;
}

static int keep_link(struct tls_capture *tc, int fd)
{
	if (grow(&tc->links, &tc->cap_links, tc->n_links + 1, sizeof(*tc->links)))
		return -ENOMEM;
	tc->links[tc->n_links++] = fd;
	return 0;
}

/*
 * Whether object @path of @pid (file @st) was looked at already: for this process, or per file
 * for any process.
 */
static bool already_probed(const struct tls_capture *tc, pid_t pid, const char *path,
			   const struct stat *st)
{
	size_t i;

	for (i = 0; i < tc->n_objs; i++) {
		const struct probed *o = &tc->objs[i];

		if (tc->per_file ? o->dev == st->st_dev && o->ino == st->st_ino
				 : o->pid == pid && strcmp(o->path, path) == 0)
			return true;
	}
	return false;
}

static int remember(struct tls_capture *tc, pid_t pid, const char *path, const struct stat *st)
{
	struct probed *o;

	if (grow(&tc->objs, &tc->cap_objs, tc->n_objs + 1, sizeof(*tc->objs)))
		return -ENOMEM;
	o = &tc->objs[tc->n_objs];
	o->pid = tc->per_file ? 0 : pid;
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	o->path = strdup(path);
	if (!o->path)
		return -ENOMEM;
	tc->n_objs++;
	return 0;
}

/* The first global definition of @name with a file offset, in f->syms order. */
static const struct elf_sym *find_global(struct elf_file *f, const char *name)
{
	const struct elf_sym *s = NULL;
	size_t n = 0, i;

	if (elf_file_named(f, name, &s, &n))
		return NULL;
	for (i = 0; i < n; i++)
		if (s[i].global && s[i].offset)
			return &s[i];
	return NULL;
}

static int attach_at(struct tls_capture *tc, struct bpf_program *prog, pid_t pid, const char *host,
		     uint64_t off, bool ret)
{
	int fd = uprobe_multi_link(prog, host, &off, NULL, 1, ret, tc->per_file ? 0 : pid);
	int err;

	if (fd < 0)
		return fd;
	err = keep_link(tc, fd);
	if (err)
		close(fd);
	return err;
}

static int attach_pair(struct tls_capture *tc, struct bpf_program *entry, pid_t pid,
		       const char *host, uint64_t off)
{
	int err = attach_at(tc, entry, pid, host, off, false);

	return err ? err : attach_at(tc, tc->skel->progs.ssl_return, pid, host, off, true);
}

static bool read_code(int fd, struct elf_file *f, uint64_t vaddr, uint8_t *code)
{
	uint64_t off;

	return elf_vaddr_to_offset(f, vaddr, &off) == 0 &&
	       pread(fd, code, SSL_INNER_CODE_LEN, (off_t)off) == SSL_INNER_CODE_LEN;
}

/*
 * The file offset at which to probe the internal function behind the plain and _ex entry points
 * of direction @dir (see ssl_inner.h), or 0 when the code does not prove there is one whose
 * first instruction is emulated.
 */
static uint64_t inner_offset(int fd, struct elf_file *f, int dir)
{
	const struct elf_sym *plain = find_global(f, plain_syms[dir]);
	const struct elf_sym *ex = find_global(f, ex_syms[dir]);
	uint8_t ex_code[SSL_INNER_CODE_LEN], plain_code[SSL_INNER_CODE_LEN];
	uint64_t callee, off;
	int at;

	if (!plain || !ex || plain->ifunc || ex->ifunc || !read_code(fd, f, ex->vaddr, ex_code) ||
	    !read_code(fd, f, plain->vaddr, plain_code))
		return 0;
	callee = ssl_inner_callee(ex_code, sizeof(ex_code), ex->vaddr, plain_code,
				  sizeof(plain_code), plain->vaddr);
	/* the callee's code is read into ex_code: the wrapper's is no longer needed */
	if (!callee || !read_code(fd, f, callee, ex_code))
		return 0;
	at = ssl_inner_probe_at(ex_code, sizeof(ex_code));
	if (at < 0 || elf_vaddr_to_offset(f, callee + (uint64_t)at, &off))
		return 0;
	return off;
}

/*
 * Probes the reads or writes (@dir) of one object: at the internal function both entry points
 * share when there is one to trust, else at each entry point it defines (OpenSSL 1.1.0 has no
 * _ex forms). Returns the number of places probed, or -errno.
 */
static int probe_direction(struct tls_capture *tc, pid_t pid, const char *path, const char *host,
			   int fd, struct elf_file *f, int dir)
{
	struct bpf_program *plain_prog[2] = {tc->skel->progs.ssl_write_entry,
					     tc->skel->progs.ssl_read_entry};
	struct bpf_program *ex_prog[2] = {tc->skel->progs.ssl_write_ex_entry,
					  tc->skel->progs.ssl_read_ex_entry};
	const struct elf_sym *plain = find_global(f, plain_syms[dir]);
	const struct elf_sym *ex = find_global(f, ex_syms[dir]);
	uint64_t inner = fd >= 0 ? inner_offset(fd, f, dir) : 0;
	int err, n = 0;

	if (inner) {
		pr_debug("TLS: process %d: %s and %s probed at their shared callee, %s+%#llx\n",
			 (int)pid, plain_syms[dir], ex_syms[dir], path, (unsigned long long)inner);
		err = attach_pair(tc, ex_prog[dir], pid, host, inner);
		return err ? err : 1;
	}
	if (plain && (err = attach_pair(tc, plain_prog[dir], pid, host, plain->offset)))
		return err;
	n += !!plain;
	if (ex && (err = attach_pair(tc, ex_prog[dir], pid, host, ex->offset)))
		return err;
	return n + !!ex;
}

/* Probes OpenSSL in one object; -ENOENT when it does not define SSL_write/SSL_read. */
static int probe_object(struct tls_capture *tc, pid_t pid, const char *path, const struct stat *st)
{
	struct elf_file *f = NULL;
	int err, fd = -1, dir;
	size_t i, n = 0;
	uint64_t t_sym;
	bool found;
	char *host;

	host = target_host_path(pid, path);
	if (!host)
		return -ENOMEM;
	t_sym = sw_now_ns();
	err = elf_cache_get(host, &f);
	if (err)
		goto cleanup;
	found = find_global(f, "SSL_write") && find_global(f, "SSL_read");
	sw_tally_add(tc->symbols, path, sw_now_ns() - t_sym);
	if (!found) {
		err = -ENOENT;
		goto cleanup;
	}
	fd = open(host, O_RDONLY | O_CLOEXEC);
	for (dir = 0; dir < 2; dir++) {
		err = probe_direction(tc, pid, path, host, fd, f, dir);
		if (err < 0) {
			pr_warn("cannot probe %s in %s (process %d): %s\n", plain_syms[dir], path,
				(int)pid, strerror(-err));
			goto cleanup;
		}
		n += (size_t)err;
	}
	for (i = 0; i < sizeof(close_syms) / sizeof(close_syms[0]); i++) {
		const struct elf_sym *s = find_global(f, close_syms[i]);

		if (s &&
		    (err = attach_at(tc, tc->skel->progs.ssl_close, pid, host, s->offset, false))) {
			pr_warn("cannot probe %s in %s (process %d): %s\n", close_syms[i], path,
				(int)pid, strerror(-err));
			goto cleanup;
		}
		n += !!s;
	}
	err = remember(tc, pid, path, st);
	if (err)
		goto cleanup;
	pr_debug("TLS: process %d: %zu OpenSSL probe points in %s\n", (int)pid, n, path);
cleanup:
	if (fd >= 0)
		close(fd);
	elf_cache_put(f);
	free(host);
	return err;
}

static bool looks_like_libssl(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	return strncmp(base, "libssl.so", 9) == 0 || strncmp(base, "libssl-", 7) == 0;
}

int tlscap_rescan(struct tls_capture *tc, pid_t pid)
{
	struct target_map *maps = NULL;
	size_t n = 0, i;
	int err, added = 0;
	char exe[64];
	char *exe_path, *host;
	struct stat st;

	err = target_read_maps(pid, &maps, &n);
	if (err)
		return err;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	exe_path = realpath(exe, NULL);
	for (i = 0; i < n; i++) {
		const char *p = maps[i].path;
		bool is_exe;

		if (!p || !maps[i].exec)
			continue;
		/* the executable itself counts when it exports OpenSSL (Node.js links it in) */
		is_exe = i == 0 || (exe_path && strcmp(exe_path, p) == 0);
		if (!is_exe && !looks_like_libssl(p))
			continue;
		host = target_host_path(pid, p);
		if (!host)
			break;
		err = stat(host, &st) ? -errno : 0;
		free(host);
		if (err || already_probed(tc, pid, p, &st))
			continue;
		err = probe_object(tc, pid, p, &st);
		if (err == 0)
			added++;
		else if (err != -ENOENT)
			pr_debug("TLS: %s in process %d: %s\n", p, (int)pid, strerror(-err));
		if (err == -ENOENT && remember(tc, pid, p, &st))
			break; /* not OpenSSL: do not look again */
	}
	free(exe_path);
	target_maps_free(maps, n);
	return added;
}

uint64_t tlscap_ring_peak(const struct tls_capture *tc)
{
	return tc->skel->bss->ring_peak;
}
