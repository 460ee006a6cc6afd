// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/grow.h"
#include "util/stopwatch.h"

uint64_t sw_clock_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t sw_now_ns(void)
{
	return sw_clock_ns(CLOCK_MONOTONIC);
}

int sw_tally_add(struct sw_tally *t, const char *label, uint64_t ns)
{
	size_t i;

	if (!t)
		return 0;
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->items[i].label, label) == 0) {
			t->items[i].ns += ns;
			return 0;
		}
	}
	if (grow(&t->items, &t->cap, t->n + 1, sizeof(*t->items)))
		return -ENOMEM;
	t->items[t->n].label = strdup(label);
	if (!t->items[t->n].label)
		return -ENOMEM;
	t->items[t->n++].ns = ns;
	return 0;
}

uint64_t sw_tally_total(const struct sw_tally *t)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < t->n; i++)
		sum += t->items[i].ns;
	return sum;
}

/* Appends to @buf (@len used of @size) as snprintf would, never past its end. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, const char *label,
		   double ms)
{
	int r;

	if (*len >= size)
		return;
	r = snprintf(buf + *len, size - *len, fmt, label, ms);
	if (r > 0)
		*len += (size_t)r < size - *len ? (size_t)r : size - *len - 1;
}

void sw_tally_format(const struct sw_tally *t, size_t max, char *buf, size_t size)
{
	bool *shown;
	uint64_t rest = 0;
	size_t i, k, len = 0, n_rest = 0;
	char more[32];

	if (!size)
		return;
	buf[0] = '\0';
	shown = calloc(t->n ? t->n : 1, sizeof(*shown));
	if (!shown)
		return;
	/* a selection of the few largest: tallies hold a handful of labels */
	for (k = 0; k < max && k < t->n; k++) {
		size_t best = t->n;

		for (i = 0; i < t->n; i++)
			if (!shown[i] && (best == t->n || t->items[i].ns > t->items[best].ns))
				best = i;
		shown[best] = true;
		append(buf, size, &len, k ? ", %s %.1f" : "%s %.1f", t->items[best].label,
		       (double)t->items[best].ns / 1e6);
	}
	for (i = 0; i < t->n; i++) {
		if (!shown[i]) {
			rest += t->items[i].ns;
			n_rest++;
		}
	}
	if (n_rest) {
		snprintf(more, sizeof(more), "%zu more", n_rest);
		append(buf, size, &len, len ? ", %s %.1f" : "%s %.1f", more, (double)rest / 1e6);
	}
	free(shown);
}

void sw_tally_free(struct sw_tally *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->items[i].label);
	free(t->items);
	memset(t, 0, sizeof(*t));
}
