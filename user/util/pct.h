/* SPDX-License-Identifier: MIT */
/*
 * Pieces of the small text formats bedtrace reads (OTEL_EXPORTER_OTLP_HEADERS,
 * OTEL_RESOURCE_ATTRIBUTES, URL paths): hex digits, percent escapes (RFC 3986) and optional
 * whitespace (RFC 9110 OWS). Each format keeps its own rules for what is an error.
 */
#ifndef BT_PCT_H
#define BT_PCT_H

#include <stdbool.h>

/* The value of hex digit @c (either case), or -1. */
int pct_hex(char c);
/* The byte of the escape "%XY" at @p (@end bounds it), or -1 when there is no valid one. */
int pct_escape(const char *p, const char *end);
/* Space or tab. */
bool pct_is_ows(char c);
/* Moves *@b forward and *@e back over optional whitespace at either end of [*@b, *@e). */
void pct_trim(const char **b, const char **e);

#endif
