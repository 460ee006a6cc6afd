// SPDX-License-Identifier: MIT
/*
 * Tests for user/elf_sym.c against the fixture binaries of tests/data/elf (make -C tests/data/elf)
 * and the system libc. Results are checked by independent means: the marker function's bytes
 * read at the computed file offset, and binutils' readelf output parsed here (only the tests
 * shell out; the product never does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "probe/elf_sym.h"
#include "probe/symmatch.h"

#include "lib/elf_fixture.h"

#define MARKER "BEDTRACE-MARKER"

static const char *const fixtures[] = {"pie", "nopie", "stripped", "libver.so", "cxx"};
static const char *const marker_of[] = {"bt_marker", "bt_marker", "bt_marker", "ver_marker",
					"cxx_marker"};

struct ref_sym {
	char name[600];
	char version[600];
	bool default_version;
	bool global;
	uint64_t vaddr;
};

struct ref_seg {
	uint64_t offset, vaddr, filesz;
	bool exec;
};

/* Returns the index of the symbol named @name (and @version if not NULL), or -1. */
static ssize_t find_sym(const struct elf_file *f, const char *name, const char *version)
{
	size_t i;

	for (i = 0; i < f->n_syms; i++) {
		const struct elf_sym *s = &f->syms[i];

		if (strcmp(s->name, name))
			continue;
		if (version && (!s->version || strcmp(s->version, version)))
			continue;
		return (ssize_t)i;
	}
	return -1;
}

static const struct elf_sym *get_sym(const struct elf_file *f, const char *name,
				     const char *version)
{
	ssize_t i = find_sym(f, name, version);

	if (i < 0)
		print_error("symbol %s%s%s not found in %s\n", name, version ? "@" : "",
			    version ? version : "", f->path);
	assert_true(i >= 0);
	return &f->syms[i];
}

static size_t read_file(const char *path, unsigned char **buf)
{
	struct stat st;
	ssize_t got;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*buf = malloc(st.st_size);
	assert_non_null(*buf);
	got = pread(fd, *buf, st.st_size, 0);
	assert_int_equal(got, st.st_size);
	close(fd);
	return (size_t)st.st_size;
}

static void assert_marker_at(const char *path, uint64_t offset)
{
	char bytes[sizeof(MARKER)] = {0};
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, bytes, strlen(MARKER), (off_t)offset), strlen(MARKER));
	close(fd);
	assert_string_equal(bytes, MARKER);
}

/* PT_LOAD segments as binutils' readelf reports them. */
static size_t readelf_segments(const char *path, struct ref_seg *segs, size_t max)
{
	char cmd[512], line[512];
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -lW '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p) && n < max) {
		unsigned long long off, va, pa, fsz, msz;
		char flags[16] = "";

		if (sscanf(line, " LOAD 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx %15[RWE ]", &off, &va,
			   &pa, &fsz, &msz, flags) != 6)
			continue;
		segs[n++] = (struct ref_seg){off, va, fsz, strchr(flags, 'E') != NULL};
	}
	assert_int_equal(pclose(p), 0);
	assert_true(n > 0);
	return n;
}

static bool ref_offset(const struct ref_seg *segs, size_t n, uint64_t vaddr, uint64_t *off)
{
	int pass;
	size_t i;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++)
			if (segs[i].exec == !pass && vaddr >= segs[i].vaddr &&
			    vaddr < segs[i].vaddr + segs[i].filesz) {
				*off = vaddr - segs[i].vaddr + segs[i].offset;
				return true;
			}
	return false;
}

/* Defined function symbols of .symtab and .dynsym as readelf -sW prints them. */
static struct ref_sym *readelf_funcs(const char *path, size_t *count)
{
	char cmd[512], line[1024];
	struct ref_sym *v = NULL;
	size_t n = 0, cap = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -sW '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char size[32], type[16], bind[16], vis[16], ndx[16], name[600];
		unsigned long long value;
		struct ref_sym r = {0};
		char *at;

		if (sscanf(line, " %*u: %llx %31s %15s %15s %15s %15s %599s", &value, size, type,
			   bind, vis, ndx, name) != 7)
			continue;
		if ((strcmp(type, "FUNC") && strcmp(type, "IFUNC")) || !strcmp(ndx, "UND") ||
		    !strcmp(ndx, "ABS") || !value)
			continue;
		at = strchr(name, '@');
		if (at) {
			r.default_version = at[1] == '@';
			snprintf(r.version, sizeof(r.version), "%s",
				 at + (r.default_version ? 2 : 1));
			*at = '\0';
		}
		snprintf(r.name, sizeof(r.name), "%s", name);
		r.vaddr = value;
		r.global = strcmp(bind, "LOCAL") != 0;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		v[n++] = r;
	}
	assert_int_equal(pclose(p), 0);
	*count = n;
	return v;
}

static void test_elf_file_pie_metadata(void **state)
{
	struct elf_file *f = open_fixture("pie");
	struct ref_seg segs[16];
	size_t n = readelf_segments(f->path, segs, 16);
	uint64_t off;

	(void)state;
	assert_true(f->pie);
	assert_false(f->stripped);
	assert_null(f->soname);
	assert_string_equal(f->path, FIXTURE_DIR "pie");
	assert_int_equal(f->n_segs, n);
	assert_true(ref_offset(segs, n, f->entry_vaddr, &off));
	assert_int_equal(f->entry_offset, off);
	assert_int_equal(get_sym(f, "_start", NULL)->vaddr, f->entry_vaddr);
	elf_file_free(f);
}

static void test_elf_file_nopie_metadata(void **state)
{
	struct elf_file *f = open_fixture("nopie");
	const struct elf_sym *s = get_sym(f, "bt_retrieve_documents", NULL);

	(void)state;
	assert_false(f->pie);
	assert_false(f->stripped);
	/* Non-PIE code is linked at a fixed high address, so vaddr and offset differ. */
	assert_true(s->vaddr >= 0x400000);
	assert_true(s->offset < s->vaddr);
	assert_int_equal(f->entry_vaddr, get_sym(f, "_start", NULL)->vaddr);
	assert_int_equal(f->entry_offset, get_sym(f, "_start", NULL)->offset);
	elf_file_free(f);
}

static void test_elf_sym_marker_offset_all_fixtures(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		struct elf_file *f = open_fixture(fixtures[i]);
		const struct elf_sym *s = get_sym(f, marker_of[i], NULL);

		assert_int_equal(s->size, strlen(MARKER));
		assert_marker_at(f->path, s->offset);
		elf_file_free(f);
	}
}

/* Every function readelf lists is found at the same vaddr and at the offset the program
 * headers give, and every symbol found is one readelf lists. */
static void check_against_readelf(const char *path)
{
	struct elf_file *f = NULL;
	struct ref_seg segs[32];
	struct ref_sym *ref;
	size_t n_ref, n_seg, i, j;

	assert_int_equal(elf_file_open(path, &f), 0);
	n_seg = readelf_segments(path, segs, 32);
	ref = readelf_funcs(path, &n_ref);
	assert_true(n_ref > 0);
	for (i = 0; i < n_ref; i++) {
		bool found = false;
		uint64_t off;

		assert_true(ref_offset(segs, n_seg, ref[i].vaddr, &off));
		for (j = 0; j < f->n_syms && !found; j++) {
			const struct elf_sym *s = &f->syms[j];

			if (s->vaddr != ref[i].vaddr || strcmp(s->name, ref[i].name))
				continue;
			/* An unversioned .symtab copy folds into the versioned .dynsym one. */
			if (ref[i].version[0] &&
			    (!s->version || strcmp(s->version, ref[i].version) ||
			     s->default_version != ref[i].default_version))
				continue;
			assert_int_equal(s->offset, off);
			found = true;
		}
		if (!found)
			print_error("%s: %s@%s at 0x%llx missing\n", path, ref[i].name,
				    ref[i].version, (unsigned long long)ref[i].vaddr);
		assert_true(found);
	}
	for (j = 0; j < f->n_syms; j++) {
		bool found = false;

		for (i = 0; i < n_ref && !found; i++)
			found = f->syms[j].vaddr == ref[i].vaddr &&
				!strcmp(f->syms[j].name, ref[i].name);
		assert_true(found);
	}
	free(ref);
	elf_file_free(f);
}

static void test_elf_sym_offsets_match_readelf(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		check_against_readelf(fixture_path(fixtures[i]));
}

static void test_elf_sym_versions(void **state)
{
	struct elf_file *f = open_fixture("libver.so");
	const struct elf_sym *v1 = get_sym(f, "foo", "VER_1"), *v2 = get_sym(f, "foo", "VER_2");
	const struct elf_sym *s;

	(void)state;
	assert_string_equal(f->soname, "libver.so.1");
	assert_true(f->pie);
	assert_true(v1->vaddr != v2->vaddr);
	assert_false(v1->default_version);
	assert_true(v2->default_version);
	assert_true(v1->global && v2->global);
	/* The .symver aliases point at the implementations. */
	assert_int_equal(get_sym(f, "foo_v1", NULL)->vaddr, v1->vaddr);
	assert_int_equal(get_sym(f, "foo_v2", NULL)->vaddr, v2->vaddr);
	assert_null(get_sym(f, "foo_v1", NULL)->version);
	assert_false(get_sym(f, "foo_v1", NULL)->global);

	s = get_sym(f, "bar", NULL);
	assert_non_null(s->version);
	assert_string_equal(s->version, "VER_1");
	assert_true(s->default_version);
	s = get_sym(f, "baz", NULL);
	assert_non_null(s->version);
	assert_string_equal(s->version, "VER_2");

	/* Hidden by the version script: local, in .symtab only, unversioned. */
	s = get_sym(f, "ver_internal", NULL);
	assert_false(s->global);
	assert_null(s->version);
	/* The file name (the VER_FLG_BASE entry) is never reported as a version. */
	for (size_t i = 0; i < f->n_syms; i++)
		assert_true(!f->syms[i].version || strncmp(f->syms[i].version, "libver", 6));
	elf_file_free(f);
}

static void test_elf_sym_dedupe_and_order(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(fixtures) / sizeof(fixtures[0]); k++) {
		struct elf_file *f = open_fixture(fixtures[k]);
		size_t i, j;

		for (i = 0; i < f->n_syms; i++) {
			const struct elf_sym *a = &f->syms[i];

			assert_non_null(a->name);
			assert_null(strchr(a->name, '@'));
			if (i)
				assert_true(f->syms[i - 1].vaddr <= a->vaddr);
			for (j = i + 1; j < f->n_syms && f->syms[j].vaddr == a->vaddr; j++) {
				const struct elf_sym *b = &f->syms[j];
				bool same_ver =
				    (!a->version && !b->version) ||
				    (a->version && b->version && !strcmp(a->version, b->version));

				assert_false(!strcmp(a->name, b->name) && same_ver);
				/* No unversioned twin of a versioned symbol survives. */
				assert_false(!strcmp(a->name, b->name) &&
					     (!a->version || !b->version));
			}
		}
		elf_file_free(f);
	}
}

static void test_elf_file_stripped_uses_dynsym(void **state)
{
	struct elf_file *f = open_fixture("stripped");
	const struct elf_sym *s = get_sym(f, "bt_retrieve_documents", NULL);
	struct elf_file *full = open_fixture("pie");

	(void)state;
	assert_true(f->stripped);
	assert_true(f->pie);
	assert_true(s->global);
	/* Same source and flags as "pie": the exported function sits at the same place. */
	assert_int_equal(s->vaddr, get_sym(full, "bt_retrieve_documents", NULL)->vaddr);
	assert_int_equal(s->offset, get_sym(full, "bt_retrieve_documents", NULL)->offset);
	/* Static functions live only in the .symtab that strip removed. */
	assert_int_equal(find_sym(f, "bt_local_helper", NULL), -1);
	assert_true(find_sym(full, "bt_local_helper", NULL) >= 0);
	elf_file_free(full);
	elf_file_free(f);
}

static void test_elf_sym_binding_and_ifunc(void **state)
{
	struct elf_file *f = open_fixture("pie");

	(void)state;
	assert_true(get_sym(f, "bt_fast", NULL)->ifunc);
	assert_true(get_sym(f, "bt_fast", NULL)->global);
	assert_false(get_sym(f, "bt_retrieve_documents", NULL)->ifunc);
	assert_true(get_sym(f, "bt_weak_hook", NULL)->global);
	assert_false(get_sym(f, "bt_local_helper", NULL)->global);
	assert_false(get_sym(f, "bt_fast_resolver", NULL)->global);
	/* Imports (printf, atoi) are SHN_UNDEF and never listed. */
	assert_int_equal(find_sym(f, "printf", NULL), -1);
	assert_int_equal(find_sym(f, "atoi", NULL), -1);
	elf_file_free(f);
}

static void test_elf_sym_cxx_demangled(void **state)
{
	struct elf_file *f = open_fixture("cxx");
	const struct elf_sym *s;

	(void)state;
	/* Demangling is on demand: opening a file demangles nothing. */
	for (size_t i = 0; i < f->n_syms; i++)
		assert_true(!f->syms[i].demangled && !f->syms[i].display);
	assert_int_equal(sym_annotate_all(f), 0);
	s = get_sym(f, "_ZNK2bt3rag9Retriever8retrieveEi", NULL);
	assert_non_null(s->demangled);
	assert_string_equal(s->demangled, "bt::rag::Retriever::retrieve(int) const");
	s = get_sym(f, "_ZN2bt3rag5scoreIiEET_S2_S2_", NULL);
	assert_string_equal(s->demangled, "int bt::rag::score<int>(int, int)");
	s = get_sym(f, "_ZN12_GLOBAL__N_111anon_helperEi", NULL);
	assert_string_equal(s->demangled, "(anonymous namespace)::anon_helper(int)");
	assert_false(s->global);
	assert_null(get_sym(f, "c_linkage_fn", NULL)->demangled);
	assert_null(get_sym(f, "main", NULL)->demangled);
	elf_file_free(f);
}

/* tests/data/elf/clones.cpp at -O2: GCC's .cold fragments beside the functions they belong to,
 * and .constprop clones named by the function they specialize. */
static void test_elf_sym_fragments_and_clones(void **state)
{
	struct elf_file *f = open_fixture("clones");
	const struct elf_sym *s;

	(void)state;
	/* fragment is known at open, the names only once annotated */
	assert_true(get_sym(f, "c_inner.cold", NULL)->fragment);
	assert_int_equal(sym_annotate_all(f), 0);
	s = get_sym(f, "_ZN4shop4Cart5innerEi", NULL);
	assert_false(s->fragment);
	assert_string_equal(s->display, "shop::Cart::inner(int)");
	s = get_sym(f, "_ZN4shop4Cart5innerEi.cold", NULL);
	assert_true(s->fragment);
	assert_string_equal(s->demangled, "shop::Cart::inner(int) [clone .cold]");
	assert_string_equal(s->display, "shop::Cart::inner(int)");
	s = get_sym(f, "c_inner.cold", NULL);
	assert_true(s->fragment);
	assert_null(s->demangled);
	assert_string_equal(s->display, "c_inner");
	assert_false(get_sym(f, "c_inner", NULL)->fragment);

	s = get_sym(f, "_ZL5scaleii.constprop.0", NULL);
	assert_false(s->fragment);
	assert_string_equal(s->display, "scale(int, int)");
	s = get_sym(f, "c_scale.constprop.0", NULL);
	assert_false(s->fragment);
	assert_string_equal(s->display, "c_scale");
	assert_string_equal(get_sym(f, "main", NULL)->display, "main");
	elf_file_free(f);
}

static void test_elf_vaddr_to_offset_bounds(void **state)
{
	struct elf_file *f = open_fixture("nopie");
	uint64_t off = 12345;
	size_t i;

	(void)state;
	assert_true(f->n_segs >= 2);
	for (i = 0; i < f->n_segs; i++) {
		const struct elf_seg *g = &f->segs[i];

		assert_int_equal(elf_vaddr_to_offset(f, g->vaddr, &off), 0);
		assert_int_equal(off, g->offset);
		if (g->memsz > g->filesz) {
			/* .bss: mapped in memory, absent from the file. */
			assert_int_equal(elf_vaddr_to_offset(f, g->vaddr + g->filesz, &off),
					 -ENOENT);
		}
	}
	assert_int_equal(elf_vaddr_to_offset(f, 0, &off), -ENOENT);
	assert_int_equal(elf_vaddr_to_offset(f, UINT64_MAX, &off), -ENOENT);
	elf_file_free(f);
}

static void test_elf_vaddr_to_offset_prefers_exec(void **state)
{
	struct elf_seg segs[] = {
	    {.vaddr = 0x1000, .memsz = 0x2000, .filesz = 0x2000, .offset = 0x0, .exec = false},
	    {.vaddr = 0x1800, .memsz = 0x100, .filesz = 0x100, .offset = 0x5000, .exec = true},
	};
	struct elf_file f = {.segs = segs, .n_segs = 2};
	uint64_t off;

	(void)state;
	assert_int_equal(elf_vaddr_to_offset(&f, 0x1810, &off), 0);
	assert_int_equal(off, 0x5010);
	assert_int_equal(elf_vaddr_to_offset(&f, 0x1000, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(elf_vaddr_to_offset(&f, 0x2fff, &off), 0);
	assert_int_equal(off, 0x1fff);
	assert_int_equal(elf_vaddr_to_offset(&f, 0x3000, &off), -ENOENT);
}

static void test_elf_file_open_mem_same_as_file(void **state)
{
	struct elf_file *a = open_fixture("libver.so"), *b = NULL;
	unsigned char *buf;
	size_t len = read_file(a->path, &buf), i;

	(void)state;
	assert_int_equal(elf_file_open_mem(buf, len, "mem:libver", &b), 0);
	assert_string_equal(b->path, "mem:libver");
	assert_string_equal(b->soname, "libver.so.1");
	assert_int_equal(a->n_syms, b->n_syms);
	for (i = 0; i < a->n_syms; i++) {
		assert_string_equal(a->syms[i].name, b->syms[i].name);
		assert_int_equal(a->syms[i].offset, b->syms[i].offset);
		assert_int_equal(!!a->syms[i].version, !!b->syms[i].version);
	}
	elf_file_free(a);
	elf_file_free(b);
	free(buf);
}

static void expect_enoexec(const void *buf, size_t len, const char *what)
{
	struct elf_file *f = (struct elf_file *)1;
	int err = elf_file_open_mem(buf, len, what, &f);

	if (err != -ENOEXEC)
		print_error("%s: expected -ENOEXEC, got %d\n", what, err);
	assert_int_equal(err, -ENOEXEC);
	assert_null(f);
}

static void test_elf_file_truncated_is_enoexec(void **state)
{
	static const size_t cuts[] = {0, 1, 4, 16, 63, 64, 100, 1000, 4096};
	unsigned char *buf;
	char tmp[] = "/tmp/bt_elf_truncXXXXXX", what[64];
	size_t len = read_file(fixture_path("libver.so"), &buf), i;
	struct elf_file *f = NULL;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		snprintf(what, sizeof(what), "first %zu bytes", cuts[i]);
		expect_enoexec(buf, cuts[i], what);
	}
	expect_enoexec(buf, len / 2, "half");
	expect_enoexec(buf, len - 1, "all but one byte");

	/* The same through a file. */
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len / 2), (ssize_t)(len / 2));
	close(fd);
	assert_int_equal(elf_file_open(tmp, &f), -ENOEXEC);
	assert_null(f);
	unlink(tmp);
	free(buf);
}

static void test_elf_file_corrupt_headers_are_enoexec(void **state)
{
	unsigned char *orig, *buf;
	size_t len = read_file(fixture_path("pie"), &orig);
	uint64_t v;
	uint16_t t;
	uint32_t pt_load = 1;
	size_t i;

	(void)state;
	buf = malloc(len);
	assert_non_null(buf);

	/* Offsets into an ELF64 little-endian header. */
	memcpy(buf, orig, len);
	v = UINT64_MAX / 2;
	memcpy(buf + 0x28, &v, 8); /* e_shoff beyond the file */
	expect_enoexec(buf, len, "e_shoff");

	memcpy(buf, orig, len);
	memcpy(buf + 0x20, &v, 8); /* e_phoff beyond the file */
	expect_enoexec(buf, len, "e_phoff");

	memcpy(buf, orig, len);
	t = 1; /* ET_REL: no segments, nothing to attach to */
	memcpy(buf + 0x10, &t, 2);
	expect_enoexec(buf, len, "ET_REL");
	t = 4; /* ET_CORE */
	memcpy(buf + 0x10, &t, 2);
	expect_enoexec(buf, len, "ET_CORE");

	memcpy(buf, orig, len);
	buf[4] = 7; /* EI_CLASS */
	expect_enoexec(buf, len, "EI_CLASS");

	/* A PT_LOAD whose file range runs past the end of the file. */
	memcpy(buf, orig, len);
	memcpy(&v, buf + 0x20, 8);
	for (i = 0; i < 16; i++) {
		unsigned char *ph = buf + v + i * 56;
		uint32_t type;

		memcpy(&type, ph, 4);
		if (type == pt_load) {
			uint64_t big = len + 1;

			memcpy(ph + 0x20, &big, 8); /* p_filesz */
			memcpy(ph + 0x28, &big, 8); /* p_memsz */
			expect_enoexec(buf, len, "PT_LOAD past EOF");
			/* The loader refuses a segment with more file bytes than memory. */
			memcpy(ph + 0x20, orig + v + i * 56 + 0x20, 8);
			memset(ph + 0x28, 0, 8);
			expect_enoexec(buf, len, "p_filesz > p_memsz");
			break;
		}
	}
	assert_true(i < 16);

	expect_enoexec("not an ELF file at all, just text....................................", 68,
		       "text");
	memset(buf, 0, len);
	expect_enoexec(buf, len, "zeros");
	free(buf);
	free(orig);
}

static void test_elf_file_open_errors(void **state)
{
	struct elf_file *f = (struct elf_file *)1;
	char tmp[] = "/tmp/bt_elf_permXXXXXX";
	int fd;

	(void)state;
	assert_int_equal(elf_file_open("tests/data/elf/out/does-not-exist", &f), -ENOENT);
	assert_null(f);
	assert_int_equal(elf_file_open("tests/data/elf", &f), -EISDIR);
	assert_int_equal(elf_file_open("/dev/null", &f), -ENOEXEC);
	assert_int_equal(elf_file_open("tests/data/elf/prog.c", &f), -ENOEXEC);
	assert_int_equal(elf_file_open(NULL, &f), -EINVAL);
	assert_int_equal(elf_file_open_mem(NULL, 10, "x", &f), -EINVAL);
	elf_file_free(NULL);

	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	chmod(tmp, 0);
	/* root reads anything; the permission path is only observable for other users. */
	if (geteuid() != 0)
		assert_int_equal(elf_file_open(tmp, &f), -EACCES);
	else
		assert_int_equal(elf_file_open(tmp, &f), -ENOEXEC);
	unlink(tmp);
}

static const char *first_existing(const char *const *paths)
{
	for (; *paths; paths++)
		if (!access(*paths, R_OK))
			return *paths;
	return NULL;
}

static double open_ms(const char *path, struct elf_file **f)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(elf_file_open(path, f), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
}

static void test_elf_file_system_libc(void **state)
{
	static const char *const libc[] = {"/lib/x86_64-linux-gnu/libc.so.6",
					   "/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
					   NULL};
	const char *path = first_existing(libc);
	const struct elf_sym *s;
	struct elf_file *f = NULL;
	double ms;
	size_t i;
	bool hidden_memcpy = false;

	(void)state;
	assert_non_null(path);
	ms = open_ms(path, &f);
	if (ms >= 100)
		print_error("parsing %s took %.1f ms\n", path, ms);
	assert_true(ms < 100);
	assert_string_equal(f->soname, "libc.so.6");
	s = get_sym(f, "malloc", NULL);
	assert_true(s->global);
	assert_non_null(s->version);
	s = get_sym(f, "memcpy", NULL);
	assert_non_null(s->version);
	assert_memory_equal(s->version, "GLIBC_", 6);
	for (i = 0; i < f->n_syms; i++)
		if (!strcmp(f->syms[i].name, "memcpy") && !f->syms[i].default_version)
			hidden_memcpy = true;
	/* x86-64 keeps the old memcpy@GLIBC_2.2.5 next to the default memcpy@@GLIBC_2.14. */
	if (!strcmp(path, libc[0]))
		assert_true(hidden_memcpy);
	elf_file_free(f);
	check_against_readelf(path);
}

static void test_elf_file_large_library_fast(void **state)
{
	static const char *const libstdcxx[] = {"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
						"/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
						"/usr/lib64/libstdc++.so.6", NULL};
	const char *path = first_existing(libstdcxx);
	struct elf_file *f = NULL;
	size_t i, demangled = 0;
	double ms;

	(void)state;
	assert_non_null(path);
	ms = open_ms(path, &f);
	if (ms >= 100)
		print_error("parsing %s took %.1f ms\n", path, ms);
	assert_true(ms < 100);
	assert_true(f->n_syms > 1000);
	assert_int_equal(sym_annotate_all(f), 0);
	for (i = 0; i < f->n_syms; i++)
		demangled += f->syms[i].demangled != NULL;
	assert_true(demangled > f->n_syms / 2);
	elf_file_free(f);
}

/*
 * elf_file_named on a lazily opened file gives, for every name, what filtering the fully read
 * file by that name gives: same symbols, same order, same versions, offsets and flags.
 */
static void check_named_same_as_full(const char *path)
{
	struct elf_file *full = NULL, *lazy = NULL;
	size_t i, checked = 0;
	int fd;

	assert_int_equal(elf_file_open(path, &full), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(elf_file_open_fd(fd, path, &lazy), 0);
	close(fd);
	assert_int_equal(lazy->n_syms, 0);
	assert_int_equal(lazy->stripped, full->stripped);
	assert_int_equal(lazy->entry_offset, full->entry_offset);
	for (i = 0; i < full->n_syms; i++) {
		const char *name = full->syms[i].name;
		const struct elf_sym *v = NULL;
		size_t n = 0, j, k = 0;

		/* each name once: the first of its symbols in f->syms order */
		for (j = 0; j < i && strcmp(full->syms[j].name, name); j++)
			;
		if (j < i)
			continue;
		assert_int_equal(elf_file_named(lazy, name, &v, &n), 0);
		for (j = i; j < full->n_syms; j++) {
			const struct elf_sym *a = &full->syms[j];

			if (strcmp(a->name, name))
				continue;
			assert_true(k < n);
			assert_string_equal(v[k].name, a->name);
			assert_int_equal(!!v[k].version, !!a->version);
			if (a->version)
				assert_string_equal(v[k].version, a->version);
			assert_int_equal(v[k].vaddr, a->vaddr);
			assert_int_equal(v[k].offset, a->offset);
			assert_int_equal(v[k].size, a->size);
			assert_int_equal(v[k].global, a->global);
			assert_int_equal(v[k].ifunc, a->ifunc);
			assert_int_equal(v[k].default_version, a->default_version);
			assert_int_equal(v[k].fragment, a->fragment);
			k++;
		}
		assert_int_equal(k, n);
		checked++;
	}
	assert_true(checked > 0);
	/* loaded later, the lazy file is the full one */
	assert_int_equal(elf_file_load(lazy), 0);
	assert_int_equal(lazy->n_syms, full->n_syms);
	for (i = 0; i < full->n_syms; i++) {
		assert_string_equal(lazy->syms[i].name, full->syms[i].name);
		assert_int_equal(lazy->syms[i].offset, full->syms[i].offset);
	}
	elf_file_free(lazy);
	elf_file_free(full);
}

static void test_elf_file_named_same_as_full(void **state)
{
	static const char *const system[] = {
	    "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
	    "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/bin/python3", NULL};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		check_named_same_as_full(fixture_path(fixtures[i]));
	check_named_same_as_full(fixture_path("clones"));
	for (i = 0; system[i]; i++)
		if (!access(system[i], R_OK))
			check_named_same_as_full(system[i]);
}

static void test_elf_file_named_misses_and_versions(void **state)
{
	struct elf_file *f = open_fixture("libver.so");
	const struct elf_sym *v = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(elf_file_named(f, "foo", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_non_null(v[0].version);
	assert_non_null(v[1].version);
	assert_true(v[0].vaddr < v[1].vaddr);
	/* the version is not part of the name looked up */
	assert_int_equal(elf_file_named(f, "foo@VER_1", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(elf_file_named(f, "no_such_function", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(elf_file_named(f, "", &v, &n), 0);
	assert_int_equal(n, 0);
	/* imports are not definitions */
	elf_file_free(f);
	f = open_fixture("pie");
	assert_int_equal(elf_file_named(f, "printf", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(elf_file_named(f, "bt_fast", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].ifunc);
	/* asked twice, the same answer from the same storage */
	{
		const struct elf_sym *again = NULL;

		assert_int_equal(elf_file_named(f, "bt_fast", &again, &n), 0);
		assert_ptr_equal(again, v);
	}
	elf_file_free(f);
}

/* A lazy open of the biggest executable around costs a fraction of reading all its functions. */
static void test_elf_file_lazy_open_is_cheap(void **state)
{
	static const char *const big[] = {"/usr/bin/node",
					  "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", NULL};
	const char *path = first_existing(big);
	const struct elf_sym *v = NULL;
	struct timespec t0, t1;
	struct elf_file *f = NULL;
	double lazy_ms, full_ms;
	size_t n = 0;
	int fd;

	(void)state;
	assert_non_null(path);
	full_ms = open_ms(path, &f);
	elf_file_free(f);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(elf_file_open_fd(fd, path, &f), 0);
	assert_int_equal(elf_file_named(f, "SSL_write", &v, &n), 0);
	assert_int_equal(elf_file_named(f, "malloc", &v, &n), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	lazy_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("%s: full open %.1f ms, lazy open and two lookups %.1f ms\n", path, full_ms,
		      lazy_ms);
	assert_true(lazy_ms < full_ms);
	elf_file_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elf_file_pie_metadata),
	    cmocka_unit_test(test_elf_file_nopie_metadata),
	    cmocka_unit_test(test_elf_sym_marker_offset_all_fixtures),
	    cmocka_unit_test(test_elf_sym_offsets_match_readelf),
	    cmocka_unit_test(test_elf_sym_versions),
	    cmocka_unit_test(test_elf_sym_dedupe_and_order),
	    cmocka_unit_test(test_elf_file_stripped_uses_dynsym),
	    cmocka_unit_test(test_elf_sym_binding_and_ifunc),
	    cmocka_unit_test(test_elf_sym_cxx_demangled),
	    cmocka_unit_test(test_elf_sym_fragments_and_clones),
	    cmocka_unit_test(test_elf_vaddr_to_offset_bounds),
	    cmocka_unit_test(test_elf_vaddr_to_offset_prefers_exec),
	    cmocka_unit_test(test_elf_file_open_mem_same_as_file),
	    cmocka_unit_test(test_elf_file_truncated_is_enoexec),
	    cmocka_unit_test(test_elf_file_corrupt_headers_are_enoexec),
	    cmocka_unit_test(test_elf_file_open_errors),
	    cmocka_unit_test(test_elf_file_system_libc),
	    cmocka_unit_test(test_elf_file_large_library_fast),
	    cmocka_unit_test(test_elf_file_named_same_as_full),
	    cmocka_unit_test(test_elf_file_named_misses_and_versions),
	    cmocka_unit_test(test_elf_file_lazy_open_is_cheap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
