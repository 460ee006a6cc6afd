// SPDX-License-Identifier: MIT
/* The report's dataset: interned strings, compact spans, kept attributes. See report.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "util/grow.h"
#include "util/hash.h"

static int rehash(struct rp_dataset *ds, size_t size)
{
	uint32_t *idx = calloc(size, sizeof(*idx));
	size_t i, h;

	if (!idx)
		return -ENOMEM;
	for (i = 1; i < ds->n_strs; i++) {
		for (h = fnv1a(ds->strs[i], strlen(ds->strs[i])) & (size - 1); idx[h];
		     h = (h + 1) & (size - 1))
			;
		idx[h] = (uint32_t)i;
	}
	free(ds->str_index);
	ds->str_index = idx;
	ds->n_str_index = size;
	return 0;
}

/* The slot of @s in the index: its id, or 0 with *@slot where it would go. */
static rp_str lookup(const struct rp_dataset *ds, const char *s, size_t len, size_t *slot)
{
	size_t h;

	if (!ds->n_str_index)
		return 0;
	for (h = fnv1a(s, len) & (ds->n_str_index - 1); ds->str_index[h];
	     h = (h + 1) & (ds->n_str_index - 1)) {
		const char *c = ds->strs[ds->str_index[h]];

		if (!strncmp(c, s, len) && c[len] == '\0')
			return ds->str_index[h];
	}
	if (slot)
		*slot = h;
	return 0;
}

/*
 * Makes id 0 ("" and "no value") exist in the string table, so that every id a span holds,
 * 0 included, is below n_strs once the dataset has a span or a string. Returns 0 or -ENOMEM.
 */
static int reserve_none(struct rp_dataset *ds)
{
	if (ds->n_strs)
		return 0;
	if (grow(&ds->strs, &ds->cap_strs, 1, sizeof(*ds->strs))) {
		ds->oom = true;
		return -ENOMEM;
	}
	ds->strs[0] = NULL;
	ds->n_strs = 1;
	return 0;
}

rp_str rp_intern_n(struct rp_dataset *ds, const char *s, size_t len)
{
	size_t slot = 0;
	rp_str id;
	char *copy;

	if (!s)
		return 0;
	if (reserve_none(ds))
		return 0;
	id = lookup(ds, s, len, &slot);
	if (id)
		return id;
	if (2 * (ds->n_strs + 1) > ds->n_str_index) {
		if (rehash(ds, ds->n_str_index ? 2 * ds->n_str_index : 1024))
			goto oom;
		lookup(ds, s, len, &slot);
	}
	if (ds->n_strs >= UINT32_MAX ||
	    grow(&ds->strs, &ds->cap_strs, ds->n_strs + 1, sizeof(*ds->strs)))
		goto oom;
	copy = malloc(len + 1);
	if (!copy)
		goto oom;
	memcpy(copy, s, len);
	copy[len] = '\0';
	ds->strs[ds->n_strs] = copy;
	ds->str_index[slot] = (uint32_t)ds->n_strs;
	return (rp_str)ds->n_strs++;
oom:
	ds->oom = true;
	return 0;
}

rp_str rp_intern(struct rp_dataset *ds, const char *s)
{
	return s ? rp_intern_n(ds, s, strlen(s)) : 0;
}

const char *rp_str_of(const struct rp_dataset *ds, rp_str s)
{
	return s && s < ds->n_strs ? ds->strs[s] : "";
}

rp_str rp_str_find(const struct rp_dataset *ds, const char *s)
{
	return s ? lookup(ds, s, strlen(s), NULL) : 0;
}

struct rp_span *rp_add_span(struct rp_dataset *ds)
{
	struct rp_span *sp;

	if (reserve_none(ds))
		return NULL;
	if (grow(&ds->spans, &ds->cap_spans, ds->n_spans + 1, sizeof(*ds->spans))) {
		ds->oom = true;
		return NULL;
	}
	sp = &ds->spans[ds->n_spans++];
	memset(sp, 0, sizeof(*sp));
	return sp;
}

int rp_add_attr(struct rp_dataset *ds, size_t sp, rp_str key, rp_str value)
{
	struct rp_span *s = &ds->spans[sp];
	struct rp_attr_set *set;

	if (!ds->n_attr_sets) {
		if (grow(&ds->attr_sets, &ds->cap_attr_sets, 1, sizeof(*ds->attr_sets)))
			goto oom;
		ds->n_attr_sets = 1; /* [0] is "none" */
	}
	if (!s->attrs) {
		if (grow(&ds->attr_sets, &ds->cap_attr_sets, ds->n_attr_sets + 1,
			 sizeof(*ds->attr_sets)))
			goto oom;
		s->attrs = (uint32_t)ds->n_attr_sets++;
		ds->attr_sets[s->attrs].first = (uint32_t)ds->n_attrs;
		ds->attr_sets[s->attrs].n = 0;
	}
	set = &ds->attr_sets[s->attrs];
	/* a span's attributes are added together, so its set is the last run of ds->attrs */
	if (set->first + set->n != ds->n_attrs)
		return -EINVAL;
	if (grow(&ds->attrs, &ds->cap_attrs, ds->n_attrs + 1, sizeof(*ds->attrs)))
		goto oom;
	ds->attrs[ds->n_attrs].key = key;
	ds->attrs[ds->n_attrs].value = value;
	ds->n_attrs++;
	set->n++;
	return 0;
oom:
	ds->oom = true;
	return -ENOMEM;
}

const char *rp_attr_of(const struct rp_dataset *ds, const struct rp_span *sp, const char *key)
{
	const struct rp_attr_set *set;
	uint32_t i;
	rp_str k;

	if (!sp->attrs || sp->attrs >= ds->n_attr_sets || !(k = rp_str_find(ds, key)))
		return NULL;
	set = &ds->attr_sets[sp->attrs];
	for (i = 0; i < set->n; i++)
		if (ds->attrs[set->first + i].key == k)
			return rp_str_of(ds, ds->attrs[set->first + i].value);
	return NULL;
}

void rp_dataset_free(struct rp_dataset *ds)
{
	size_t i;

	for (i = 1; i < ds->n_strs; i++)
		free(ds->strs[i]);
	free(ds->strs);
	free(ds->str_index);
	free(ds->spans);
	free(ds->attrs);
	free(ds->attr_sets);
	for (i = 0; i < ds->n_files; i++)
		free(ds->files[i]);
	free(ds->files);
	memset(ds, 0, sizeof(*ds));
}
