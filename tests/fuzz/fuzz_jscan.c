// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the report reader's JSON scanner (user/report/jscan.c). The input is
 * one JSON text. Checks: the scanner stays inside the input and its arena; a text it accepts
 * as one value is JSON to cJSON too (texts with surrogate escapes aside: cJSON rejects unpaired
 * ones, the scanner makes them U+FFFD); every string it decodes fits the arena and holds no
 * NUL byte. Seeds: tests/data/corpus/jscan.
 */
#define _GNU_SOURCE /* memmem */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/jscan.h"

/* Walks a value decoding every string and key, as a reader does. */
static bool walk(struct jscan *j, const char *arena_end)
{
	struct js_sv s;
	bool first = true;

	js_ws(j);
	if (j->p >= j->end)
		return js_fail(j, "empty");
	switch (*j->p) {
	case '"':
		if (!js_str(j, &s))
			return false;
		if (memchr(s.p, '\0', s.n) ||
		    (s.p >= j->arena && s.p <= arena_end && s.p + s.n > arena_end))
			abort();
		return true;
	case '{':
		if (!js_obj_open(j))
			return false;
		while (js_obj_next(j, &first, &s)) {
			if (memchr(s.p, '\0', s.n))
				abort();
			if (!walk(j, arena_end))
				return false;
		}
		return !j->why;
	case '[':
		if (!js_arr_open(j))
			return false;
		while (js_arr_next(j, &first))
			if (!walk(j, arena_end))
				return false;
		return !j->why;
	default:
		return js_skip(j);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *arena = malloc(size + 1);
	struct jscan j = {0}, k = {0};
	bool ok, walked;

	if (!text || !arena)
		abort();
	memcpy(text, data, size);
	j.arena = arena;
	j.arena_cap = size;
	js_begin(&j, text, text + size);
	ok = js_skip(&j);
	js_ws(&j);
	ok = ok && j.p == j.end;
	if (j.p < text || j.p > text + size || j.arena_len)
		abort();
	/* the same text walked with every string decoded: accepted alike */
	k.arena = arena;
	k.arena_cap = size;
	js_begin(&k, text, text + size);
	walked = walk(&k, arena + size);
	js_ws(&k);
	walked = walked && k.p == k.end;
	if (walked != ok || k.arena_len > size)
		abort();
	if (ok && !memmem(text, size, "\\ud", 3) && !memmem(text, size, "\\uD", 3)) {
		cJSON *c = cJSON_ParseWithLength(text, size);

		if (!c)
			abort();
		cJSON_Delete(c);
	}
	free(text);
	free(arena);
	return 0;
}
