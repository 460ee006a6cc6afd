/* SPDX-License-Identifier: MIT */
/*
 * Which processes are traced with -e EXE (every process running that file, now and started later,
 * in any mount or PID namespace) and -a (every process), less --exclude-exe / --exclude-pid and
 * bedtrace itself. Files are named by identity (device + inode), so a bind mount or a container's
 * view of the same file is the same file. This module holds the options, writes what BPF decides
 * with (the files and excluded maps, common.bpf.h), finds the processes already running, and
 * marks files examined so that mapping them again costs no event.
 */
#ifndef BT_SELECT_H
#define BT_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct proc_select;

struct select_opts {
	unsigned mode; /* enum bt_select_mode */
	const char *const *exes;
	size_t n_exes;
	const char *const *exclude_exes;
	size_t n_exclude_exes;
	const pid_t *exclude_pids;
	size_t n_exclude_pids;
};

/*
 * Resolves the executables of @o. Prints one line naming a file that cannot be read and returns
 * -errno; else 0 and *@out (free with select_free).
 */
int select_new(const struct select_opts *o, struct proc_select **out);
void select_free(struct proc_select *ps);

/* Writes the selected and excluded files and pids into the BPF maps. Returns 0 or -errno. */
int select_install(struct proc_select *ps, int files_fd, int excluded_fd);
/* Leaves process @pid out from now on (bedtrace's own helpers). Returns 0 or -errno. */
int select_exclude_pid(struct proc_select *ps, pid_t pid);

/*
 * Calls @cb for every running process that is selected: -e, those running a selected file (@exe
 * its index); -a, every user-space process not excluded (@exe -1). Processes of excluded files
 * are written to the excluded map on the way. Stops at the first non-zero return of @cb and
 * returns it; else the number of processes selected.
 */
int select_scan(struct proc_select *ps, int (*cb)(pid_t pid, int exe, void *ctx), void *ctx);

/* Path of selected executable @exe as given on the command line. */
const char *select_exe_path(const struct proc_select *ps, int exe);

struct bt_exe_path;
/*
 * -a: the path of an executable as BPF kept it (struct bt_exe_path: names innermost first, each
 * followed by '/'), written to @buf (@len bytes) as an absolute path. Returns its length, or
 * -EINVAL when the record is truncated, malformed or has no name, -ENOSPC when @buf is too small.
 */
int select_exe_path_decode(const struct bt_exe_path *p, char *buf, size_t len);
size_t select_n_exes(const struct proc_select *ps);

/*
 * Marks every file process @pid maps executable as examined (BT_FILE_EXAMINED): later mappings
 * of them, by any process, are not reported. Call once the process's objects were probed.
 * Returns the number of files newly marked or -errno.
 */
int select_mark_examined(struct proc_select *ps, pid_t pid);

/* The kernel's device number (major << 20 | minor, as in struct super_block) of @dev. */
uint64_t select_kernel_dev(dev_t dev);

#endif
