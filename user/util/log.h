/* SPDX-License-Identifier: MIT */
/*
 * Logging: pr_warn always, pr_info unless quiet, pr_debug only with -v. Messages go to stderr;
 * printing leaves errno as it was.
 */
#ifndef BT_LOG_H
#define BT_LOG_H

#include <stdarg.h>

enum bt_log_level { BT_LOG_WARN, BT_LOG_INFO, BT_LOG_DEBUG };

/* Sets the most verbose level that is printed (default BT_LOG_INFO). */
void log_set_level(enum bt_log_level level);
/* Returns nonzero when messages of @level are printed. */
int log_enabled(enum bt_log_level level);
void log_print(enum bt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vprint(enum bt_log_level level, const char *fmt, va_list ap);

#define pr_warn(fmt, ...) log_print(BT_LOG_WARN, "bedtrace: " fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) log_print(BT_LOG_INFO, "bedtrace: " fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_print(BT_LOG_DEBUG, "bedtrace: " fmt, ##__VA_ARGS__)

#endif
