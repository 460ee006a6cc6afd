// SPDX-License-Identifier: MIT
/* The JSON scanner of the report's reader (jscan.h). */
#include <string.h>

#include "report/jscan.h"
#include "util/pct.h"

void js_begin(struct jscan *j, const char *p, const char *end)
{
	j->p = p;
	j->end = end;
	j->why = NULL;
	j->depth = 0;
	j->null_open = false;
	j->arena_len = 0;
}

bool js_fail(struct jscan *j, const char *why)
{
	if (!j->why)
		j->why = why;
	return false;
}

static bool hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i, d;

	for (i = 0; i < 4; i++) {
		if ((d = pct_hex(p[i])) < 0)
			return false;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return true;
}

static size_t utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The string at j->p (after blanks) into @out, or only checked when @out is NULL. Escapes are
 * decoded into the arena; \u0000 and unpaired surrogates become U+FFFD (interned strings are C
 * strings, and the outputs write UTF-8).
 */
bool js_str(struct jscan *j, struct js_sv *out)
{
	const char *p, *start;
	char *o, *limit, u[4];
	unsigned cp, lo;
	size_t n;

	if (j->why)
		return false;
	js_ws(j);
	if (j->p >= j->end || *j->p != '"')
		return js_fail(j, "a string expected");
	start = p = j->p + 1;
	while (p < j->end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
		p++;
	if (p < j->end && *p == '"') {
		if (out) {
			out->p = start;
			out->n = (size_t)(p - start);
		}
		j->p = p + 1;
		return true;
	}
	/*
	 * Escapes: decoded into the arena when @out wants the string, else only checked. A string
	 * decodes to at most its text's length, so an arena of the line's size holds the strings
	 * of one scan; the bound is checked anyway (a string that does not fit is an error).
	 */
	o = j->arena + j->arena_len;
	limit = j->arena + j->arena_cap;
	if (out) {
		if ((size_t)(p - start) > (size_t)(limit - o))
			return js_fail(j, "strings longer than the arena");
		memcpy(o, start, (size_t)(p - start));
		o += p - start;
	}
	while (p < j->end && *p != '"') {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20)
			return js_fail(j, "a control character in a string");
		n = 1;
		u[0] = (char)c;
		p++;
		if (c == '\\') {
			if (p >= j->end)
				break;
			switch (*p++) {
			case '"':
			case '\\':
			case '/':
				u[0] = p[-1];
				break;
			case 'b':
				u[0] = '\b';
				break;
			case 'f':
				u[0] = '\f';
				break;
			case 'n':
				u[0] = '\n';
				break;
			case 'r':
				u[0] = '\r';
				break;
			case 't':
				u[0] = '\t';
				break;
			case 'u':
				if (j->end - p < 4 || !hex4(p, &cp))
					return js_fail(j, "a bad \\u escape");
				p += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && j->end - p >= 6 &&
				    p[0] == '\\' && p[1] == 'u' && hex4(p + 2, &lo) &&
				    lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				} else if (!cp || (cp >= 0xd800 && cp < 0xe000)) {
					cp = 0xfffd;
				}
				n = utf8_put(u, cp);
				break;
			default:
				return js_fail(j, "a bad string escape");
			}
		}
		if (out) {
			if (n > (size_t)(limit - o))
				return js_fail(j, "strings longer than the arena");
			memcpy(o, u, n);
			o += n;
		}
	}
	if (p >= j->end)
		return js_fail(j, "an unterminated string");
	if (out) {
		out->p = j->arena + j->arena_len;
		out->n = (size_t)(o - out->p);
		j->arena_len += out->n;
	}
	j->p = p + 1;
	return true;
}

/* A JSON number at j->p (after blanks); its text in @out. */
bool js_number(struct jscan *j, struct js_sv *out)
{
	const char *p, *start;

	if (j->why)
		return false;
	js_ws(j);
	p = start = j->p;
	if (p < j->end && *p == '-')
		p++;
	if (p >= j->end || *p < '0' || *p > '9')
		return js_fail(j, "a bad number");
	if (*p == '0')
		p++;
	else
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	if (p < j->end && *p == '.') {
		if (++p >= j->end || *p < '0' || *p > '9')
			return js_fail(j, "a bad number");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return js_fail(j, "a bad number");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	out->p = start;
	out->n = (size_t)(p - start);
	j->p = p;
	return true;
}

bool js_word(struct jscan *j, const char *w, size_t n)
{
	if (j->why)
		return false;
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return js_fail(j, "not JSON");
	j->p += n;
	return true;
}

/*
 * Object members: `for (first = true; js_obj_next(j, &first, &key);)` after obj_open. Ends at the
 * closing brace, or with j->why set.
 */
/* null where an object or array belongs: proto3 JSON's way of writing the default, empty */
static bool null_open(struct jscan *j)
{
	js_ws(j);
	if ((size_t)(j->end - j->p) < 4 || memcmp(j->p, "null", 4))
		return false;
	j->p += 4;
	j->null_open = true;
	j->depth++;
	return true;
}

static bool null_close(struct jscan *j)
{
	if (!j->null_open)
		return false;
	j->null_open = false;
	j->depth--;
	return true;
}

bool js_obj_open(struct jscan *j)
{
	if (j->why)
		return false;
	if (null_open(j))
		return true;
	if (!js_next_is(j, '{'))
		return js_fail(j, "an object expected");
	if (++j->depth > JS_MAX_DEPTH)
		return js_fail(j, "nested too deep");
	return true;
}

bool js_obj_next(struct jscan *j, bool *first, struct js_sv *key)
{
	if (j->why || null_close(j))
		return false;
	if (js_next_is(j, '}')) {
		if (!*first && j->p[-2] == ',')
			return js_fail(j, "a trailing comma");
		j->depth--;
		return false;
	}
	if (!*first && !js_next_is(j, ','))
		return js_fail(j, "a comma or } expected");
	*first = false;
	if (!js_str(j, key)) /* NULL: only checked */
		return false;
	if (!js_next_is(j, ':'))
		return js_fail(j, "a colon expected");
	return true;
}

bool js_arr_open(struct jscan *j)
{
	if (j->why)
		return false;
	if (null_open(j))
		return true;
	if (!js_next_is(j, '['))
		return js_fail(j, "an array expected");
	if (++j->depth > JS_MAX_DEPTH)
		return js_fail(j, "nested too deep");
	return true;
}

bool js_arr_next(struct jscan *j, bool *first)
{
	if (j->why || null_close(j))
		return false;
	js_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		j->depth--;
		return false;
	}
	if (!*first && !js_next_is(j, ','))
		return js_fail(j, "a comma or ] expected");
	*first = false;
	return true;
}

/* Checks and passes any value. */
bool js_skip(struct jscan *j)
{
	struct js_sv k;
	bool first = true;

	if (j->why)
		return false;
	js_ws(j);
	if (j->p >= j->end)
		return js_fail(j, "a value expected");
	switch (*j->p) {
	case '"':
		return js_str(j, NULL);
	case '{':
		if (!js_obj_open(j))
			return false;
		while (js_obj_next(j, &first, NULL))
			if (!js_skip(j))
				return false;
		return !j->why;
	case '[':
		if (!js_arr_open(j))
			return false;
		while (js_arr_next(j, &first))
			if (!js_skip(j))
				return false;
		return !j->why;
	case 't':
		return js_word(j, "true", 4);
	case 'f':
		return js_word(j, "false", 5);
	case 'n':
		return js_word(j, "null", 4);
	default:
		return js_number(j, &k);
	}
}

bool js_is(const struct js_sv *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->n == n && !memcmp(s->p, lit, n);
}
