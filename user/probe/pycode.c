// SPDX-License-Identifier: MIT
/*
 * The code objects the Python stack reader meets, cached by address with their names
 * ("module.qualname", file, def line), and the module name of a file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/pyreader_int.h"
#include "util/grow.h"

static size_t code_slot(const struct pyreader *r, uint64_t addr)
{
	return (size_t)((addr >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (r->codes_cap - 1);
}

struct code_ent *pycode_get(const struct pyreader *r, uint64_t addr)
{
	size_t i;

	if (!r->codes_cap)
		return NULL;
	for (i = code_slot(r, addr); r->codes[i]; i = (i + 1) & (r->codes_cap - 1))
		if (r->codes[i]->c.addr == addr)
			return r->codes[i];
	return NULL;
}

static int code_put(struct pyreader *r, struct code_ent *e)
{
	size_t i;

	if ((r->n_codes + 1) * 2 > r->codes_cap) {
		size_t ncap = r->codes_cap ? r->codes_cap * 2 : 256, j;
		struct code_ent **nt = calloc(ncap, sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		for (j = 0; j < r->codes_cap; j++) {
			struct code_ent *o = r->codes[j];

			if (!o)
				continue;
			for (i = (size_t)((o->c.addr >> 4) * 0x9e3779b97f4a7c15ull >> 20) &
				 (ncap - 1);
			     nt[i]; i = (i + 1) & (ncap - 1))
				;
			nt[i] = o;
		}
		free(r->codes);
		r->codes = nt;
		r->codes_cap = ncap;
	}
	for (i = code_slot(r, e->c.addr); r->codes[i]; i = (i + 1) & (r->codes_cap - 1))
		if (r->codes[i]->c.addr == e->c.addr) {
			r->codes[i] = e; /* an address reused: the old entry stays valid in all */
			return 0;
		}
	r->codes[i] = e;
	r->n_codes++;
	return 0;
}

static void utf8_put(char *out, size_t *n, size_t cap, uint32_t c)
{
	char b[4];
	size_t k, i;

	if (c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
		c = 0xfffd;
	if (c < 0x80) {
		b[0] = (char)c;
		k = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		k = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		k = 4;
	}
	if (*n + k >= cap)
		return;
	for (i = 0; i < k; i++)
		out[(*n)++] = b[i];
}

/* A str object being read: its header, then its characters. */
struct str_read {
	uint64_t addr;
	size_t hdr_off, data_off, len, width;
	bool ok;
};

/* Where the characters of the str whose header is @hdr lie; false when it is not a compact str
 * (every str the compiler makes is compact). */
static bool str_layout(const struct pyreader *r, const uint8_t *hdr, struct str_read *q,
		       uint64_t *data)
{
	const struct pyoffsets *o = &r->l.off;
	uint32_t state = ld32(hdr + o->unicode_state), kind = (state >> 2) & 7;

	if (ld64(hdr + 8) != r->l.unicode_type || !(state & (1u << 5)))
		return false;
	q->len = ld64(hdr + o->unicode_length);
	if (q->len > MAX_STR)
		q->len = MAX_STR;
	if (state & (1u << 6)) {
		*data = q->addr + o->unicode_ascii_size;
		q->width = 1;
		return true;
	}
	if (kind != 1 && kind != 2 && kind != 4)
		return false;
	*data = q->addr + o->unicode_compact_size;
	q->width = kind;
	return true;
}

/* The characters read for @q as a malloc'd UTF-8 string (NUL characters become '?'), or NULL. */
static char *str_decode(const struct pyreader *r, const struct str_read *q)
{
	const uint8_t *raw = r->arena + q->data_off;
	size_t n = 0, i, cap = q->len * 4 + 1;
	char *s;

	if (!q->ok || !(s = malloc(cap)))
		return NULL;
	for (i = 0; i < q->len; i++) {
		uint32_t c = q->width == 1   ? raw[i]
			     : q->width == 2 ? (uint32_t)raw[2 * i] | raw[2 * i + 1] << 8
					     : ld32(raw + 4 * i);
		if (c == 0)
			c = '?';
		utf8_put(s, &n, cap, c);
	}
	s[n] = '\0';
	return s;
}

/*
 * Reads the @n str objects of @q (addr set) in two batched reads, headers then characters, for
 * every new code object of a sample at once. Sets each one's ok. Returns 0 or -errno.
 */
static int read_strs(struct pyreader *r, struct str_read *q, size_t n)
{
	const struct pyoffsets *o = &r->l.off;
	size_t i, k;
	int err;

	r->n_reqs = 0;
	for (i = 0; i < n; i++) {
		q[i].ok = false;
		if (q[i].addr &&
		    (err = pyr_queue(r, q[i].addr, o->unicode_ascii_size, &q[i].hdr_off)))
			return err;
	}
	err = pyr_run_round(r);
	if (err)
		return err;
	for (i = 0, k = 0; i < n; i++) {
		if (!q[i].addr)
			continue;
		q[i].ok = r->reqs[k++].ok;
	}
	r->n_reqs = 0;
	for (i = 0; i < n; i++) {
		uint64_t data;

		if (!q[i].ok || !str_layout(r, r->arena + q[i].hdr_off, &q[i], &data)) {
			q[i].ok = false;
			continue;
		}
		err = pyr_queue(r, data, q[i].len * q[i].width, &q[i].data_off);
		if (err)
			return err;
	}
	err = pyr_run_round(r);
	if (err)
		return err;
	for (i = 0, k = 0; i < n; i++)
		if (q[i].ok)
			q[i].ok = r->reqs[k++].ok;
	r->n_reqs = 0;
	return 0;
}

/* The fields of a code object header @b that identify it. */
static void code_ids(const struct pyreader *r, const uint8_t *b, uint64_t *name, uint64_t *qual,
		     uint64_t *file, uint32_t *line, uint32_t *flags)
{
	const struct pyoffsets *o = &r->l.off;

	*name = ld64(b + o->code_name);
	*qual = o->code_qualname ? ld64(b + o->code_qualname) : *name;
	*file = ld64(b + o->code_filename);
	*line = ld32(b + o->code_firstlineno);
	*flags = o->code_flags ? ld32(b + o->code_flags) : 0;
}

/* 3.11+: the bytes a frame running code object @b takes on its thread's data stack (its fixed
 * part, then co_nlocalsplus + co_stacksize slots); 0 when not known or not plausible. */
static uint32_t frame_bytes(const struct pyreader *r, const uint8_t *b)
{
	const struct pyoffsets *o = &r->l.off;
	uint32_t nl, ss;

	if (!o->code_nlocalsplus || !o->code_stacksize)
		return 0;
	nl = ld32(b + o->code_nlocalsplus);
	ss = ld32(b + o->code_stacksize);
	/* both ints, far below this for any code object the compiler makes */
	if (nl > (1u << 16) || ss > (1u << 16))
		return 0;
	return r->frame_len + 8 * (nl + ss);
}

/* Builds the cache entry of code object @addr from its header @b and its names (read as @qs,
 * @fs). NULL: not a code object, a name not read, or no memory. */
static struct code_ent *code_make(struct pyreader *r, uint64_t addr, const uint8_t *b,
				  const struct str_read *qs, const struct str_read *fs)
{
	struct code_ent *e;
	char *qual, *file, modname[512];
	size_t ml, ql;

	if (ld64(b + 8) != r->l.code_type)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	code_ids(r, b, &e->name_ptr, &e->qual_ptr, &e->file_ptr, &e->c.first_line, &e->flags);
	e->frame_bytes = frame_bytes(r, b);
	qual = qs->addr == e->qual_ptr ? str_decode(r, qs) : NULL;
	file = fs->addr == e->file_ptr ? str_decode(r, fs) : NULL;
	if (!qual || !file || grow(&r->all, &r->cap_all, r->n_all + 1, sizeof(*r->all))) {
		free(qual);
		free(file);
		free(e);
		return NULL;
	}
	ml = pyreader_module_name(r->l.root, file, modname, sizeof(modname));
	ql = strlen(qual);
	e->c.addr = addr;
	e->c.qualname = qual;
	e->c.file = file;
	e->c.module = strdup(modname);
	e->c.name = malloc(ml + 1 + ql + 1);
	if (!e->c.module || !e->c.name || code_put(r, e)) {
		free((char *)e->c.module);
		free((char *)e->c.name);
		free(qual);
		free(file);
		free(e);
		return NULL;
	}
	memcpy((char *)e->c.name, modname, ml);
	((char *)e->c.name)[ml] = '.';
	memcpy((char *)e->c.name + ml + 1, qual, ql + 1);
	r->all[r->n_all++] = e;
	e->seen = r->sample_no;
	r->st.code_objects++;
	return e;
}

/*
 * Resolves the code objects of every thread's chain: an address cached and seen in the last
 * sample is trusted (a code object cannot be freed while a frame runs it, and one that stayed on
 * a stack from one sample to the next is the same object); one that was away for a sample or
 * more is checked again (type, name, file and def line pointers) in one batched read with the
 * new ones, since its address may have been freed and reused by another code object. The names
 * of the new ones take two more batched reads (str headers, then characters).
 */
int pycode_resolve(struct pyreader *r)
{
	struct make {
		uint64_t addr, qual, file;
		size_t hdr_off;
	} *mk = NULL;
	struct str_read *sr = NULL;
	size_t i, j, n = 0;
	int err;

	r->n_reqs = 0;
	for (i = 0; i < r->n_thr; i++) {
		struct thr *t = r->thr[i];

		for (j = 0; j < t->n_chain && !t->torn; j++) {
			uint64_t a = (uint64_t)(uintptr_t)t->frames[j].code;
			struct code_ent *e;
			size_t off;

			if (!a)
				continue; /* a shim frame */
			e = pycode_get(r, a);
			if (e && e->seen + 1 >= r->sample_no)
				continue; /* seen last time, or queued already (the marker below) */
			if (e) {
				e->seen = UINT64_MAX - 1;
			} else {
				size_t k;

				/* a new one: once, however many frames run it */
				for (k = 0; k < r->n_reqs && r->reqs[k].addr != a; k++)
					;
				if (k < r->n_reqs)
					continue;
			}
			err = pyr_queue(r, a, r->code_len, &off);
			if (err)
				return err;
		}
	}
	if (!r->n_reqs)
		return 0;
	err = pyr_run_round(r);
	if (err)
		return err;
	mk = calloc(r->n_reqs, sizeof(*mk));
	if (!mk)
		return -ENOMEM;
	for (i = 0; i < r->n_reqs; i++) {
		struct pymem_req *q = &r->reqs[i];
		struct code_ent *e = pycode_get(r, q->addr);
		uint64_t name, qual, file;
		uint32_t line, flags;

		if (!q->ok) {
			if (e)
				e->seen = 0;
			continue;
		}
		code_ids(r, q->buf, &name, &qual, &file, &line, &flags);
		if (e) {
			if (ld64((const uint8_t *)q->buf + 8) == r->l.code_type &&
			    name == e->name_ptr && qual == e->qual_ptr && file == e->file_ptr &&
			    line == e->c.first_line) {
				e->seen = r->sample_no;
				continue;
			}
			e->seen = 0;
		}
		/* not a code object (any more): the frames that name it are torn */
		if (ld64((const uint8_t *)q->buf + 8) != r->l.code_type)
			continue;
		mk[n].addr = q->addr;
		mk[n].hdr_off = (size_t)((const uint8_t *)q->buf - r->arena);
		mk[n].qual = qual;
		mk[n].file = file;
		n++;
	}
	r->n_reqs = 0;
	err = n ? 0 : 1;
	if (!err && !(sr = calloc(2 * n, sizeof(*sr))))
		err = -ENOMEM;
	for (i = 0; !err && i < n; i++) {
		sr[2 * i].addr = mk[i].qual;
		sr[2 * i + 1].addr = mk[i].file;
	}
	err = err ?: read_strs(r, sr, 2 * n);
	for (i = 0; !err && i < n; i++)
		code_make(r, mk[i].addr, r->arena + mk[i].hdr_off, &sr[2 * i], &sr[2 * i + 1]);
	free(sr);
	free(mk);
	return err == 1 ? 0 : err;
}

void pycode_free(struct pyreader *r)
{
	size_t i;

	for (i = 0; i < r->n_all; i++) {
		free((char *)r->all[i]->c.name);
		free((char *)r->all[i]->c.qualname);
		free((char *)r->all[i]->c.module);
		free((char *)r->all[i]->c.file);
		free(r->all[i]);
	}
	free(r->all);
	free(r->codes);
}

/* True when @dir (a target path) holds an __init__.py, seen under @root. */
static bool is_package(const char *root, const char *dir, size_t dirlen)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s%.*s/__init__.py", root, (int)dirlen, dir);

	return n > 0 && (size_t)n < sizeof(path) && access(path, F_OK) == 0;
}

size_t pyreader_module_name(const char *root, const char *filename, char *out, size_t len)
{
	const char *base, *end, *parts[32];
	size_t plen[32], np = 0, n = 0, i, flen = strlen(filename);
	size_t dirlen;

	if (!len)
		return 0;
	out[0] = '\0';
	if (filename[0] == '<' || !flen) {
		snprintf(out, len, "%s", filename);
		return strlen(out);
	}
	base = strrchr(filename, '/');
	base = base ? base + 1 : filename;
	end = filename + flen;
	if (end - base > 3 && !strcmp(end - 3, ".py"))
		end -= 3;
	dirlen = base > filename ? (size_t)(base - filename - 1) : 0;
	if (!strncmp(base, "__init__", (size_t)(end - base)) && end - base == 8) {
		/* the package itself: its directory names it */
		np = 0;
	} else {
		parts[np] = base;
		plen[np++] = (size_t)(end - base);
	}
	/* each enclosing directory with an __init__.py adds its name in front */
	while (root && filename[0] == '/' && dirlen > 0 && np < 32 &&
	       is_package(root, filename, dirlen)) {
		const char *d = filename + dirlen;

		while (d > filename && d[-1] != '/')
			d--;
		parts[np] = d;
		plen[np++] = (size_t)(filename + dirlen - d);
		dirlen = d > filename ? (size_t)(d - filename - 1) : 0;
	}
	if (!np) {
		/* an __init__.py outside any package: name it by its directory */
		const char *d = filename + dirlen;

		while (d > filename && d[-1] != '/')
			d--;
		parts[np] = d;
		plen[np++] = (size_t)(filename + dirlen - d);
		if (!plen[0]) {
			parts[0] = base;
			plen[0] = (size_t)(end - base);
		}
	}
	for (i = np; i-- > 0;) {
		size_t k = plen[i];

		if (n && n + 1 < len)
			out[n++] = '.';
		if (n + k >= len)
			k = len - 1 - n;
		memcpy(out + n, parts[i], k);
		n += k;
	}
	out[n] = '\0';
	return n;
}

void pyreader_unsupported_msg(unsigned major, unsigned minor, unsigned micro, char *err,
			      size_t errlen)
{
	snprintf(err, errlen, "CPython %u.%u.%u is not supported (3.%d\u20133.%d are)", major,
		 minor, micro, PYOFF_MINOR_FIRST, PYOFF_MINOR_LAST);
}
