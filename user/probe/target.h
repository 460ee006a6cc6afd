/* SPDX-License-Identifier: MIT */
/*
 * Traced processes: attaching to a running PID or launching a command held at its first
 * instruction, reading /proc/PID/{exe,cmdline,status,cgroup,environ,maps,root}, and noticing when
 * a target has exited. The OTLP resource of a process is built above this stage (span/resource.h).
 */
#ifndef BT_TARGET_H
#define BT_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/cgroup.h"

struct bt_resource;

/* The variables of the OpenTelemetry SDK configuration bedtrace reads (its own and a target's). */
#define OTEL_ENV_SERVICE_NAME "OTEL_SERVICE_NAME"
#define OTEL_ENV_RESOURCE_ATTRIBUTES "OTEL_RESOURCE_ATTRIBUTES"

struct target_map {
	uint64_t start, end, offset;
	bool exec;
	char *path; /* as the target sees it; NULL for anonymous mappings */
};

struct target {
	pid_t pid;
	bool launched; /* our child, started with -- COMMAND */
	bool exited;
	int exit_status; /* wait status for launched targets */
	bool end_seen;	 /* BPF reported its end (BT_EV_EXIT) with end_status (a wait status) */
	int end_status;
	bool gone; /* the session has handled its exit */
	int pidfd;
	char *exe;	/* executable path as the target sees it */
	char *exe_host; /* same file reachable from here: /proc/PID/root/... */
	char *comm;
	char *cmdline; /* arguments joined by spaces, credentials redacted (redact.h) */
	pid_t ppid;    /* 0: unknown, or the parent is outside our PID namespace */
	pid_t ns_pid;  /* its PID in its own PID namespace when that is not ours, else 0 */
	uid_t uid;     /* real uid; valid when has_uid */
	bool has_uid;
	struct cgroup_ids cgroup; /* container id and pod uid, "" when none */
	/*
	 * The only two variables read from /proc/PID/environ (NULL when unset): the rest of the
	 * environment, which may hold secrets, is wiped as soon as these are picked out.
	 */
	char *env_service_name;	      /* OTEL_SERVICE_NAME */
	char *env_resource_attrs;     /* OTEL_RESOURCE_ATTRIBUTES */
	struct bt_resource *resource; /* owned by span/resource.h */
	int go_fd; /* launch mode: write end of the pipe that releases the child */
};

/*
 * Fills @t for running process @pid. Returns 0, -ESRCH (no such process), -EDEADLK (@pid is
 * bedtrace itself or one of its threads), -ENOEXEC (a kernel thread) or -errno.
 */
int target_open_pid(struct target *t, pid_t pid);
/* Prints the one line that says why target_open_pid(@pid) failed with @err. */
void target_warn_open(pid_t pid, int err);
/*
 * Forks a child that will exec @argv once target_release() is called; the child is ready to be
 * probed by pid (uprobes on its executable are inserted when it execs). Returns 0 or -errno
 * (-ENOENT: command not found).
 */
int target_launch(struct target *t, char *const argv[]);
/* Lets a launched child exec. Returns 0 or -errno. */
int target_release(struct target *t);
/* After exec: waits (bounded by @timeout_ms) until the child stopped itself at its entry point. */
int target_wait_stopped(struct target *t, int timeout_ms);
/* Re-reads what target_open_pid read (after exec). Returns 0 or -errno. */
int target_refresh(struct target *t);
/* Returns true once the target has exited (reaps launched children). */
bool target_check_exited(struct target *t);
void target_close(struct target *t);

/* Reads /proc/PID/maps. Returns 0 and a malloc'd array (free with target_maps_free) or -errno. */
int target_read_maps(pid_t pid, struct target_map **maps, size_t *n);
void target_maps_free(struct target_map *maps, size_t n);
/*
 * Finds the mapped object named @name in @maps: a path (contains '/'), an exact basename, or a
 * library name such as "libfoo" / "libfoo.so.1". Returns the path (owned by @maps) or NULL.
 */
const char *target_maps_find(const struct target_map *maps, size_t n, const char *name);
/* Reads a whole small file (/proc): malloc'd, NUL-terminated, its length in *@len; NULL+errno. */
char *target_read_file(const char *path, size_t *len);
/*
 * Writes @value at @addr in process @pid if the word there still holds @expect (a return slot:
 * anything else means its frame is gone and the slot reused). The process should be stopped.
 * Returns 1 written, 0 left alone, -errno.
 */
int target_swap_word(pid_t pid, uint64_t addr, uint64_t expect, uint64_t value);
/* Returns a malloc'd "/proc/PID/root" + @path, the host-reachable form of a target path. */
char *target_host_path(pid_t pid, const char *path);
/* Resolves @cmd through PATH like execvp. Returns malloc'd absolute path or NULL (errno). */
char *target_which(const char *cmd);

/* What the kernel reads of a file to find a "#!" line (BINPRM_BUF_SIZE). */
#define TARGET_SHEBANG_MAX 256
/*
 * The interpreter a script's first bytes @buf[0..@len) name ("#!/usr/bin/python3 -u": the path
 * only), into @interp. Returns 0, -ENOEXEC (not a script, no interpreter, or a line longer than
 * the kernel reads) or -ENAMETOOLONG.
 */
int target_shebang(const char *buf, size_t len, char *interp, size_t cap);
/*
 * The executable image the kernel runs for @path: @path itself, or the interpreter its "#!"
 * line names, followed as the kernel does (at most 4 levels). Returns a malloc'd absolute path,
 * or NULL and errno (ENOENT: a missing interpreter, ELOOP: too many levels).
 */
char *target_exec_image(const char *path);

#endif
