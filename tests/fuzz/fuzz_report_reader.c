// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the report's input reader (user/report/reader.c): files gathered from
 * a fleet can hold anything. The input is a file image, read whole through rp_read_stream
 * (plain or gzip by content), then line by line. Checks:
 * - the dataset is consistent: ids of strings, attribute sets and files in range, end >= start,
 *   kind 0..5, bad lines <= lines;
 * - a line the reader accepts is JSON to cJSON too (lines with surrogate escapes aside: cJSON
 *   rejects unpaired ones, the reader makes them U+FFFD), and holds as many spans as cJSON
 *   counts under resourceSpans[].scopeSpans[].spans[];
 * - for a plain input, reading it whole gives the spans, lines and bad lines of its lines read
 *   one by one.
 * Seeds: tests/data/corpus/report_reader.
 */
#define _GNU_SOURCE /* memmem */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

static void check(const struct rp_dataset *ds)
{
	size_t i, j;

	if (ds->bad_lines > ds->lines)
		abort();
	for (i = 0; i < ds->n_spans; i++) {
		const struct rp_span *s = &ds->spans[i];

		if (s->end_ns < s->start_ns || s->kind > 5 || s->file >= ds->n_files ||
		    s->name >= ds->n_strs || s->service >= ds->n_strs || s->host >= ds->n_strs ||
		    s->model >= ds->n_strs || s->operation >= ds->n_strs ||
		    s->error_type >= ds->n_strs)
			abort();
		if (s->attrs) {
			const struct rp_attr_set *set;

			if (s->attrs >= ds->n_attr_sets)
				abort();
			set = &ds->attr_sets[s->attrs];
			if (!set->n || set->first + set->n > ds->n_attrs)
				abort();
			for (j = set->first; j < set->first + set->n; j++)
				if (!ds->attrs[j].key || ds->attrs[j].key >= ds->n_strs ||
				    !ds->attrs[j].value || ds->attrs[j].value >= ds->n_strs)
					abort();
		}
	}
}

static size_t count(const cJSON *o, const char *key, const char *alt, int level)
{
	const cJSON *c, *e;
	size_t n = 0;

	cJSON_ArrayForEach(c, o)
	{
		if (!c->string || (strcmp(c->string, key) && (!alt || strcmp(c->string, alt))))
			continue;
		if (level == 2) {
			n += (size_t)cJSON_GetArraySize(c);
			continue;
		}
		cJSON_ArrayForEach(e, c)
		{
			n += level ? count(e, "spans", NULL, 2)
				   : count(e, "scopeSpans", "instrumentationLibrarySpans", 1);
		}
	}
	return n;
}

static int read_mem(struct rp_dataset *ds, const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	int err;

	if (!f)
		abort();
	err = rp_read_stream(ds, f, "fuzz", NULL);
	fclose(f);
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_dataset whole = {0}, lines = {0};
	const uint8_t *p = data, *end = data + size, *nl;
	size_t before, bad;
	bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
	int err;

	if (!size)
		return 0;
	err = read_mem(&whole, data, size);
	check(&whole);
	if (gz || err) {
		rp_dataset_free(&whole);
		return 0;
	}
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (nl == p)
			continue;
		before = lines.n_spans;
		bad = lines.bad_lines;
		/* a line alone may not start with the gzip magic that the whole file did not */
		if (nl - p >= 2 && p[0] == 0x1f && p[1] == 0x8b)
			goto differ;
		/* nor a byte order mark, taken only at the start of a file */
		if (p != data && nl - p >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
			goto differ;
		if (read_mem(&lines, p, (size_t)(nl - p)))
			abort();
		if (lines.bad_lines == bad && !memmem(p, (size_t)(nl - p), "\\ud", 3) &&
		    !memmem(p, (size_t)(nl - p), "\\uD", 3)) {
			cJSON *j = cJSON_ParseWithLength((const char *)p, (size_t)(nl - p));

			if (!j || count(j, "resourceSpans", NULL, 0) != lines.n_spans - before)
				abort();
			cJSON_Delete(j);
		}
	}
	check(&lines);
	if (lines.n_spans != whole.n_spans || lines.lines != whole.lines ||
	    lines.bad_lines != whole.bad_lines)
		abort();
differ:
	rp_dataset_free(&whole);
	rp_dataset_free(&lines);
	return 0;
}
