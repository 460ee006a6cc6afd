// SPDX-License-Identifier: MIT
/*
 * The per-signal names of the OTLP specification (paths, variables, partialSuccess fields).
 * See signal.h.
 */
#include <stddef.h>

#include "export/signal.h"

static const struct {
	const char *items, *name, *env, *rejected;
} signals[] = {
    [BT_SIGNAL_TRACES] = {"spans", "traces", "TRACES", "rejectedSpans"},
    [BT_SIGNAL_METRICS] = {"data points", "metrics", "METRICS", "rejectedDataPoints"},
    [BT_SIGNAL_LOGS] = {"log records", "logs", "LOGS", "rejectedLogRecords"},
};

bool bt_signal_valid(enum bt_signal s)
{
	return (unsigned)s < sizeof(signals) / sizeof(signals[0]);
}

const char *bt_signal_items(enum bt_signal s)
{
	return bt_signal_valid(s) ? signals[s].items : "items";
}

const char *bt_signal_name(enum bt_signal s)
{
	return bt_signal_valid(s) ? signals[s].name : NULL;
}

const char *bt_signal_env(enum bt_signal s)
{
	return bt_signal_valid(s) ? signals[s].env : NULL;
}

const char *bt_signal_rejected_field(enum bt_signal s)
{
	return bt_signal_valid(s) ? signals[s].rejected : NULL;
}
