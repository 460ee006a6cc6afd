// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "probe/procinfo.h"

/*
 * Reads a decimal number at *@p (skipping blanks), at most @max, advancing *@p past it.
 * Returns true when one was there.
 */
static bool read_num(const char **p, const char *end, long long max, long long *out)
{
	const char *s = *p;
	long long v = 0;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (*s++ - '0');
		if (v > max)
			return false;
	}
	*p = s;
	*out = v;
	return true;
}

void procinfo_parse_status(const char *buf, size_t len, struct proc_status *st)
{
	const char *p = buf, *end = buf + len;
	long long v;

	memset(st, 0, sizeof(*st));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		if (eol - p > 5 && memcmp(p, "PPid:", 5) == 0) {
			p += 5;
			if (read_num(&p, eol, INT_MAX, &v))
				st->ppid = (pid_t)v;
		} else if (eol - p > 4 && memcmp(p, "Uid:", 4) == 0) {
			p += 4;
			if (read_num(&p, eol, UINT_MAX, &v)) {
				st->uid = (uid_t)v;
				st->has_uid = true;
			}
		} else if (eol - p > 6 && memcmp(p, "NSpid:", 6) == 0) {
			/* the PID as seen from the reader's namespace down to the process's own */
			p += 6;
			st->ns_levels = 0;
			st->ns_pid = 0;
			while (read_num(&p, eol, INT_MAX, &v)) {
				st->ns_pid = (pid_t)v;
				st->ns_levels++;
			}
		}
		p = eol + (eol < end);
	}
}

char *procinfo_environ_get(const char *buf, size_t len, const char *name)
{
	const char *p = buf, *end = buf + len;
	size_t n = strlen(name);

	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t elen = nul ? (size_t)(nul - p) : (size_t)(end - p);

		if (elen > n && memcmp(p, name, n) == 0 && p[n] == '=') {
			char *v = strndup(p + n + 1, elen - n - 1);

			if (!v)
				errno = ENOMEM;
			return v;
		}
		if (!nul)
			break;
		p = nul + 1;
	}
	errno = ENOENT;
	return NULL;
}
