/* SPDX-License-Identifier: MIT */
/*
 * The OTEL_RESOURCE_ATTRIBUTES format of the OpenTelemetry resource SDK specification: a
 * comma-separated list of key=value pairs in the W3C Baggage style without properties; keys and
 * values percent-decoded (',' and '=' inside them must be percent-encoded), whitespace around
 * them trimmed, every value a string. A pure parser: no environment or I/O inside.
 */
#ifndef BT_OTEL_ATTRS_H
#define BT_OTEL_ATTRS_H

#include <stddef.h>

#include "span/span.h"

/*
 * Parses the @len bytes at @s into @out (string attributes, replacing keys already there; a key
 * given twice keeps its last value). Empty list members (",,", a trailing comma) are ignored.
 * The spec asks to discard the whole value on any error, so a malformed value leaves @out
 * untouched. Returns the number of pairs taken, -EINVAL (a member without '=', an empty key, a
 * '%' not followed by two hex digits, a NUL byte; *@bad_at, when not NULL, is the offset of the
 * member at fault, its first non-blank byte) or -ENOMEM.
 */
int otel_attrs_parse(const char *s, size_t len, struct bt_attrs *out, size_t *bad_at);

#endif
