/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of two /proc/PID files whose text the caller has read: status (parent, real uid,
 * the PID in each PID namespace) and environ (one variable picked out by name, nothing else kept).
 */
#ifndef BT_PROCINFO_H
#define BT_PROCINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc_status {
	pid_t ppid;    /* PPid: 0 when absent (the parent is outside our PID namespace) */
	uid_t uid;     /* real uid (first Uid field) */
	bool has_uid;  /* the Uid line was there */
	pid_t ns_pid;  /* last NSpid field: the PID in the process's own namespace */
	int ns_levels; /* NSpid fields: 1 = the reader's namespace, 0 = no NSpid line */
};

/* Reads the @len bytes of /proc/PID/status text at @buf into @st (what is absent stays 0). */
void procinfo_parse_status(const char *buf, size_t len, struct proc_status *st);

/*
 * Finds variable @name in the @len bytes of /proc/PID/environ at @buf (NAME=VALUE entries, each
 * NUL-terminated; the last may be cut short). Like getenv, the first entry wins. Returns a
 * malloc'd copy of its value, or NULL (errno ENOENT: absent; ENOMEM).
 */
char *procinfo_environ_get(const char *buf, size_t len, const char *name);

#endif
