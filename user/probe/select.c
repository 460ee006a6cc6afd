// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bedtrace.h"
#include "probe/select.h"
#include "probe/target.h"
#include "util/grow.h"
#include "util/log.h"

struct sel_file {
	struct bt_file_key key;
	const char *path; /* as given (selected and excluded executables) */
};

struct proc_select {
	unsigned mode;
	struct sel_file *exes; /* -e, in order: the index is BT_EV_SELECT's exe */
	size_t n_exes;
	struct sel_file *skip_exes; /* --exclude-exe */
	size_t n_skip_exes;
	pid_t *skip_pids; /* --exclude-pid, bedtrace itself and its helpers */
	size_t n_skip_pids, cap_skip_pids;
	struct bt_file_key *examined; /* files marked BT_FILE_EXAMINED */
	size_t n_examined, cap_examined;
	int files_fd, excluded_fd;
};

uint64_t select_kernel_dev(dev_t dev)
{
	return ((uint64_t)major(dev) << 20) | minor(dev);
}

static struct bt_file_key key_of(const struct stat *st)
{
	return (struct bt_file_key){.dev = select_kernel_dev(st->st_dev), .ino = st->st_ino};
}

static bool same_key(const struct bt_file_key *a, const struct bt_file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/*
 * Resolves @n paths of @paths into @out (*@n_out of them); one line naming the first that cannot
 * be read. @optional: a file missing on this host is left out with a note (one configuration
 * for a fleet may name a program some hosts do not have).
 */
static int resolve(const char *const *paths, size_t n, const char *what, bool optional,
		   struct sel_file **out, size_t *n_out)
{
	struct stat st;

	*n_out = 0;
	*out = n ? calloc(n, sizeof(**out)) : NULL;
	if (n && !*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (stat(paths[i], &st)) {
			int err = -errno;

			if (optional && err == -ENOENT) {
				pr_info("%s %s: no such file on this host; nothing to leave out\n",
					what, paths[i]);
				continue;
			}
			pr_warn("%s %s: %s\n", what, paths[i], strerror(-err));
			return err;
		}
		if (!S_ISREG(st.st_mode)) {
			pr_warn("%s %s: not a regular file (give the executable's path)\n", what,
				paths[i]);
			return -EINVAL;
		}
		(*out)[*n_out].key = key_of(&st);
		(*out)[(*n_out)++].path = paths[i];
	}
	return 0;
}

static int add_skip_pid(struct proc_select *ps, pid_t pid)
{
	if (grow(&ps->skip_pids, &ps->cap_skip_pids, ps->n_skip_pids + 1, sizeof(*ps->skip_pids)))
		return -ENOMEM;
	ps->skip_pids[ps->n_skip_pids++] = pid;
	return 0;
}

int select_new(const struct select_opts *o, struct proc_select **out)
{
	struct proc_select *ps = calloc(1, sizeof(*ps));
	int err;

	if (!ps)
		return -ENOMEM;
	ps->mode = o->mode;
	ps->files_fd = ps->excluded_fd = -1;
	err = resolve(o->exes, o->n_exes, "-e", false, &ps->exes, &ps->n_exes);
	if (!err)
		err = resolve(o->exclude_exes, o->n_exclude_exes, "--exclude-exe", true,
			      &ps->skip_exes, &ps->n_skip_exes);
	err = err ? err : add_skip_pid(ps, getpid());
	for (size_t i = 0; !err && i < o->n_exclude_pids; i++)
		err = add_skip_pid(ps, o->exclude_pids[i]);
	if (err) {
		select_free(ps);
		return err;
	}
	*out = ps;
	return 0;
}

void select_free(struct proc_select *ps)
{
	if (!ps)
		return;
	free(ps->exes);
	free(ps->skip_exes);
	free(ps->skip_pids);
	free(ps->examined);
	free(ps);
}

const char *select_exe_path(const struct proc_select *ps, int exe)
{
	return exe >= 0 && (size_t)exe < ps->n_exes ? ps->exes[exe].path : NULL;
}

size_t select_n_exes(const struct proc_select *ps)
{
	return ps->n_exes;
}

/* Writes @pid into the excluded map, for reason @why (enum bt_excluded_why). */
static int exclude_in_map(struct proc_select *ps, pid_t pid, __u8 why)
{
	__u32 key = (__u32)pid;

	if (ps->excluded_fd < 0)
		return 0;
	return bpf_map_update_elem(ps->excluded_fd, &key, &why, BPF_ANY) ? -errno : 0;
}

int select_exclude_pid(struct proc_select *ps, pid_t pid)
{
	int err = add_skip_pid(ps, pid);

	return err ? err : exclude_in_map(ps, pid, BT_EXCLUDED_PID);
}

/* Adds @flags to the entry of @key in the files map (keeping what is there). */
static int file_flags(struct proc_select *ps, const struct bt_file_key *key, __u32 flags, __u32 exe)
{
	struct bt_file_info fi = {0};

	if (bpf_map_lookup_elem(ps->files_fd, key, &fi) == 0 && (fi.flags & flags) == flags)
		return 0;
	fi.flags |= flags;
	if (flags & BT_FILE_SELECTED)
		fi.exe = exe;
	return bpf_map_update_elem(ps->files_fd, key, &fi, BPF_ANY) ? -errno : 0;
}

int select_install(struct proc_select *ps, int files_fd, int excluded_fd)
{
	size_t i;
	int err = 0;

	ps->files_fd = files_fd;
	ps->excluded_fd = excluded_fd;
	for (i = 0; !err && i < ps->n_exes; i++)
		err = file_flags(ps, &ps->exes[i].key, BT_FILE_SELECTED, (__u32)i);
	for (i = 0; !err && i < ps->n_skip_exes; i++)
		err = file_flags(ps, &ps->skip_exes[i].key, BT_FILE_EXCLUDED, 0);
	for (i = 0; !err && i < ps->n_skip_pids; i++)
		err = exclude_in_map(ps, ps->skip_pids[i], BT_EXCLUDED_PID);
	return err;
}

static bool pid_skipped(const struct proc_select *ps, pid_t pid)
{
	for (size_t i = 0; i < ps->n_skip_pids; i++)
		if (ps->skip_pids[i] == pid)
			return true;
	return false;
}

/* Index of @key in @v[@n], or -1. */
static int find_file(const struct sel_file *v, size_t n, const struct bt_file_key *key)
{
	for (size_t i = 0; i < n; i++)
		if (same_key(&v[i].key, key))
			return (int)i;
	return -1;
}

/* Threads of bedtrace are listed under its pid; any other task of /proc is a process. */
int select_scan(struct proc_select *ps, int (*cb)(pid_t pid, int exe, void *ctx), void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0, r = 0;

	if (!d)
		return -errno;
	while (!r && (de = readdir(d))) {
		char path[64], *end;
		struct bt_file_key key;
		struct stat st;
		long pid = strtol(de->d_name, &end, 10);
		int exe;

		if (!isdigit((unsigned char)de->d_name[0]) || *end || pid <= 0 ||
		    pid_skipped(ps, (pid_t)pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
		/* kernel threads have no executable; a process may be gone already */
		if (stat(path, &st))
			continue;
		key = key_of(&st);
		if (find_file(ps->skip_exes, ps->n_skip_exes, &key) >= 0) {
			exclude_in_map(ps, (pid_t)pid, BT_EXCLUDED_INHERITED);
			continue;
		}
		exe = find_file(ps->exes, ps->n_exes, &key);
		if (ps->mode == BT_SELECT_EXE && exe < 0)
			continue;
		r = cb((pid_t)pid, exe, ctx);
		n++;
	}
	closedir(d);
	return r ? r : n;
}

static bool examined(const struct proc_select *ps, const struct bt_file_key *key)
{
	for (size_t i = 0; i < ps->n_examined; i++)
		if (same_key(&ps->examined[i], key))
			return true;
	return false;
}

int select_mark_examined(struct proc_select *ps, pid_t pid)
{
	struct target_map *maps = NULL;
	size_t n = 0, i;
	int err, added = 0;

	if (ps->files_fd < 0 || ps->n_examined >= BT_MAX_FILES)
		return 0;
	err = target_read_maps(pid, &maps, &n);
	if (err)
		return err;
	for (i = 0; i < n && ps->n_examined < BT_MAX_FILES; i++) {
		char path[96];
		struct bt_file_key key;
		struct stat st;

		if (!maps[i].path || !maps[i].exec)
			continue;
		/* the mapped file itself, whatever its path means in this mount namespace */
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
			 (unsigned long long)maps[i].start, (unsigned long long)maps[i].end);
		if (stat(path, &st))
			continue;
		key = key_of(&st);
		if (examined(ps, &key))
			continue;
		if (grow(&ps->examined, &ps->cap_examined, ps->n_examined + 1,
			 sizeof(*ps->examined))) {
			err = -ENOMEM;
			break;
		}
		err = file_flags(ps, &key, BT_FILE_EXAMINED, 0);
		if (err)
			break;
		ps->examined[ps->n_examined++] = key;
		added++;
	}
	target_maps_free(maps, n);
	return err ? err : added;
}

int select_exe_path_decode(const struct bt_exe_path *p, char *buf, size_t len)
{
	size_t end, start, n, out = 0;

	if (p->truncated || !p->len || p->len > BT_EXE_PATH_USED || p->path[p->len - 1] != '/')
		return -EINVAL;
	/* names innermost first: copy them out from the last, each after a '/' */
	for (end = p->len - 1;; end = start - 1) {
		for (start = end; start && p->path[start - 1] != '/'; start--)
			;
		n = end - start;
		if (!n || memchr(p->path + start, 0, n))
			return -EINVAL;
		if (out + 1 + n + 1 > len)
			return -ENOSPC;
		buf[out++] = '/';
		memcpy(buf + out, p->path + start, n);
		out += n;
		if (!start)
			break;
	}
	buf[out] = 0;
	return (int)out;
}
