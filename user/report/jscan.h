/* SPDX-License-Identifier: MIT */
/*
 * A JSON scanner over one line held in memory, for readers that know the shape they expect
 * (reader.c: OTLP trace requests): the caller walks objects and arrays member by member,
 * decodes the strings and numbers it wants and skips the rest, which is still checked against
 * the RFC 8259 grammar. No tree and no allocation per value: a string without escapes points
 * into the line, one with escapes is decoded into the caller's arena.
 *
 * Every function returns false when the text is not what was asked for, with j->why set to
 * the first reason (a constant string), and keeps returning false afterwards. Loops:
 *
 *	if (!js_obj_open(j)) return false;
 *	for (first = true; js_obj_next(j, &first, &key);) { ...one value per key... }
 *	if (j->why) return false;
 *
 * `null` where an object or array is expected reads as an empty one (proto3 JSON may write a
 * default so).
 */
#ifndef BT_REPORT_JSCAN_H
#define BT_REPORT_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JS_MAX_DEPTH 128 /* nesting accepted; deeper is an error (cJSON's limit is 1000) */

/* A string as decoded, or the text of a number; not NUL-terminated. */
struct js_sv {
	const char *p;
	size_t n;
};

struct jscan {
	const char *p, *end; /* what is left of the line */
	const char *why;     /* the first thing wrong, NULL: nothing yet */
	int depth;
	bool null_open; /* js_obj_open/js_arr_open took a null: the next _next call ends it */
	/*
	 * Decoded strings, owned by the caller: a string decodes to at most its text's length,
	 * so arena_cap >= the line's length is enough for a line scanned once.
	 */
	char *arena;
	size_t arena_len, arena_cap;
};

/* Starts scanning [@p, @end) with the arena emptied. */
void js_begin(struct jscan *j, const char *p, const char *end);
/* Sets j->why unless set; returns false. */
bool js_fail(struct jscan *j, const char *why);
/* Passes blanks (space, tab, CR, LF). */
static inline void js_ws(struct jscan *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}
/* Consumes @c after blanks if it comes next. */
static inline bool js_next_is(struct jscan *j, char c)
{
	js_ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}
/* A string into @out (NULL: only checked). \u0000 and unpaired surrogates become U+FFFD. */
bool js_str(struct jscan *j, struct js_sv *out);
/* A number's text into @out, checked against the grammar (no leading zeros, digits after '.'). */
bool js_number(struct jscan *j, struct js_sv *out);
/* The literal @w (true, false, null) of @n bytes. */
bool js_word(struct jscan *j, const char *w, size_t n);
/* Checks and passes any value. */
bool js_skip(struct jscan *j);
bool js_obj_open(struct jscan *j);
/* The next member's key into @key (NULL: only checked), the scanner then before its value;
 * false at '}'. */
bool js_obj_next(struct jscan *j, bool *first, struct js_sv *key);
bool js_arr_open(struct jscan *j);
/* True when another element follows (the scanner stands before it); false at ']'. */
bool js_arr_next(struct jscan *j, bool *first);
/* Whether @s is the C string @lit. */
bool js_is(const struct js_sv *s, const char *lit);

#endif
