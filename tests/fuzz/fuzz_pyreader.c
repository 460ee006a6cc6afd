// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the Python stack walker (user/probe/pyreader.c) over fuzzer-made memory:
 * a valid synthetic interpreter (tests/lib/pyimage.h: two threads, a generator frame, a 3.12+
 * shim) of the version the first byte picks (3.9 + byte % 5), then edits from the input, each
 * "ADDR(4, little-endian) LEN(1) BYTES", written over the image or mapped as new memory there.
 * Edits before a 0xff byte apply before pyreader_open_mem, the rest between samples, as a target
 * that changes while it is read. Whatever the memory holds, the reader must not crash, loop or
 * return a stack deeper than its cap, and a torn stack has no frames.
 * Seeds: tests/data/corpus/pyreader.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pyimage.h"
#include "probe/pymem.h"
#include "probe/pyreader.h"

/* Applies edits from *@p until the end or a 0xff separator (consumed). */
static void apply(struct pyimg *im, const uint8_t **p, const uint8_t *end)
{
	while (*p < end) {
		uint32_t addr;
		size_t len;
		void *dst;

		if (**p == 0xff) {
			(*p)++;
			return;
		}
		if (end - *p < 5) {
			*p = end;
			return;
		}
		memcpy(&addr, *p, 4);
		len = (*p)[4];
		*p += 5;
		if ((size_t)(end - *p) < len)
			len = (size_t)(end - *p);
		dst = pymem_image_at(im->m, addr, len);
		if (dst)
			memcpy(dst, *p, len);
		else if (pymem_image_add(im->m, addr, *p, len))
			abort();
		*p += len;
	}
}

static void check(const struct py_sample *s)
{
	size_t i, j;

	for (i = 0; i < s->n_threads; i++) {
		const struct py_thread_stack *t = &s->threads[i];

		if (t->n_frames > 256 || (t->torn && t->n_frames))
			abort();
		for (j = 0; j < t->n_frames; j++) {
			const struct py_code *c = t->frames[j].code;

			if (!c || !c->name || !c->qualname || !c->module || !c->file ||
			    strlen(c->name) < strlen(c->qualname))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t c_mod, c_f, c_gen, ts1, ts2;
	const uint8_t *p = data, *end = data + size;
	struct pyreader *r;
	struct py_sample s;
	struct pyimg im;
	char err[256];
	unsigned minor;
	int i, kinds[3] = {PYIMG_PLAIN, PYIMG_GEN, PYIMG_PLAIN};

	if (!size)
		return 0;
	minor = 9 + *p++ % 5;
	pyimg_init(&im, minor, 100);
	c_mod = pyimg_code(&im, "<module>", "/srv/app.py", 1, 0);
	c_f = pyimg_code(&im, "Cls.f", "/srv/app.py", 5, 0);
	c_gen = pyimg_code(&im, "gen", "<string>", 9, PYOFF_CO_GENERATOR);
	ts1 = pyimg_thread(&im, 100);
	ts2 = pyimg_thread(&im, 101);
	pyimg_stack(&im, ts1, 3, (uint64_t[]){c_mod, c_f, c_f}, NULL, NULL);
	if (minor >= 12)
		kinds[1] = PYIMG_SHIM;
	pyimg_stack(&im, ts2, 3, (uint64_t[]){c_mod, c_gen, c_f}, kinds, NULL);
	apply(&im, &p, end);
	r = pyreader_open_mem(im.m, &im.l, err, sizeof(err));
	if (!r)
		return 0;
	for (i = 0; i < 3; i++) {
		if (pyreader_sample(r, &s) == 0)
			check(&s);
		apply(&im, &p, end);
	}
	pyreader_free(r);
	return 0;
}
