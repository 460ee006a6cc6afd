// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>

#include "util/log.h"

static enum bt_log_level cur_level = BT_LOG_INFO;

void log_set_level(enum bt_log_level level)
{
	cur_level = level;
}

int log_enabled(enum bt_log_level level)
{
	return level <= cur_level;
}

void log_vprint(enum bt_log_level level, const char *fmt, va_list ap)
{
	int saved = errno;

	if (level > cur_level)
		return;
	vfprintf(stderr, fmt, ap);
	/* callers log a failure, then return -errno: printing must not change it */
	errno = saved;
}

void log_print(enum bt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}
