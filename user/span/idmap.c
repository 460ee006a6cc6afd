// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "span/idmap.h"

struct idmap {
	struct id_entry **buckets;
	size_t n_buckets, size;
};

static size_t bucket_of(const struct idmap *m, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)(key & (m->n_buckets - 1));
}

struct idmap *idmap_new(void)
{
	struct idmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->n_buckets = 1024;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void idmap_free(struct idmap *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n_buckets; i++) {
		struct id_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static void grow(struct idmap *m)
{
	size_t old_n = m->n_buckets, i;
	struct id_entry **old = m->buckets, **nb;

	nb = calloc(old_n * 2, sizeof(*nb));
	if (!nb)
		return; /* keep working with longer chains */
	m->buckets = nb;
	m->n_buckets = old_n * 2;
	for (i = 0; i < old_n; i++) {
		struct id_entry *e = old[i], *next;

		for (; e; e = next) {
			size_t b = bucket_of(m, e->key);

			next = e->next;
			e->next = nb[b];
			nb[b] = e;
		}
	}
	free(old);
}

struct id_entry *idmap_find(struct idmap *m, uint64_t key)
{
	struct id_entry *e;

	for (e = m->buckets[bucket_of(m, key)]; e; e = e->next)
		if (e->key == key)
			return e;
	return NULL;
}

struct id_entry *idmap_get(struct idmap *m, uint64_t key)
{
	struct id_entry *e = idmap_find(m, key);
	size_t b;

	if (e)
		return e;
	if (m->size >= m->n_buckets * 2)
		grow(m);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = key;
	bt_random_id(e->span_id, sizeof(e->span_id));
	bt_random_id(e->trace_id, sizeof(e->trace_id));
	b = bucket_of(m, key);
	e->next = m->buckets[b];
	m->buckets[b] = e;
	m->size++;
	return e;
}

void idmap_finish(struct idmap *m, uint64_t key, uint64_t now_ns, uint64_t grace_ns)
{
	struct id_entry *e = idmap_find(m, key);

	if (e)
		e->expire_ns = now_ns + grace_ns;
}

size_t idmap_expire(struct idmap *m, uint64_t now_ns)
{
	size_t i, dropped = 0;

	for (i = 0; i < m->n_buckets; i++) {
		struct id_entry **pp = &m->buckets[i];

		while (*pp) {
			struct id_entry *e = *pp;

			if (e->expire_ns && e->expire_ns <= now_ns) {
				*pp = e->next;
				free(e);
				dropped++;
				m->size--;
			} else {
				pp = &e->next;
			}
		}
	}
	return dropped;
}

size_t idmap_size(const struct idmap *m)
{
	return m->size;
}
