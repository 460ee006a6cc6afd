// SPDX-License-Identifier: MIT
/*
 * Tests for user/probe/elf_cache.c: one parse per file identity, shared by every holder; a
 * file replaced on disk is read again; files not in use are dropped past the bounds.
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

#include "probe/elf_cache.h"
#include "probe/elf_sym.h"

#include "lib/elf_fixture.h"

/* Copies fixture @name to @dst (replacing it: a new inode). */
static void copy_fixture(const char *name, const char *dst)
{
	char tmp[256], buf[65536];
	int in = open(fixture_path(name), O_RDONLY), out;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	assert_int_equal(rename(tmp, dst), 0);
}

static int teardown(void **state)
{
	(void)state;
	elf_cache_clear();
	return 0;
}

static void test_elf_cache_second_open_is_a_hit(void **state)
{
	struct elf_cache_stats st0, st;
	struct elf_file *a = NULL, *b = NULL;
	const struct elf_sym *v = NULL;
	size_t n = 0;

	(void)state;
	elf_cache_stats(&st0);
	assert_int_equal(elf_cache_get(fixture_path("pie"), &a), 0);
	elf_cache_stats(&st);
	assert_int_equal(st.misses, st0.misses + 1);
	/* lazy: nothing read but the index until asked */
	assert_int_equal(a->n_syms, 0);
	assert_int_equal(elf_file_named(a, "bt_retrieve_documents", &v, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(elf_cache_get(fixture_path("pie"), &b), 0);
	assert_ptr_equal(a, b);
	elf_cache_stats(&st);
	assert_int_equal(st.hits, st0.hits + 1);
	assert_int_equal(st.misses, st0.misses + 1);
	assert_int_equal(st.files, 1);
	assert_true(st.bytes > 0);
	elf_cache_put(a);
	elf_cache_put(b);
	/* not in use any more, but kept for the next process of the same program */
	elf_cache_stats(&st);
	assert_int_equal(st.files, 1);
	elf_cache_clear();
	elf_cache_stats(&st);
	assert_int_equal(st.files, 0);
}

static void test_elf_cache_replaced_file_is_read_again(void **state)
{
	char path[] = "/tmp/bt_elf_cacheXXXXXX";
	struct elf_file *a = NULL, *b = NULL, *c = NULL;
	const struct elf_sym *v = NULL;
	struct timespec times[2];
	size_t n = 0;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	copy_fixture("pie", path);
	assert_int_equal(elf_cache_get(path, &a), 0);
	assert_int_equal(elf_file_named(a, "bt_local_helper", &v, &n), 0);
	assert_int_equal(n, 1);

	/* a new inode with other content: a miss, and the new content */
	copy_fixture("stripped", path);
	assert_int_equal(elf_cache_get(path, &b), 0);
	assert_ptr_not_equal(a, b);
	assert_true(b->stripped);
	assert_int_equal(elf_file_named(b, "bt_local_helper", &v, &n), 0);
	assert_int_equal(n, 0);
	/* the old parse stays valid for whoever holds it */
	assert_false(a->stripped);
	elf_cache_put(a);

	/* same inode, new mtime: read again too */
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[1] = times[0];
	times[1].tv_sec += 10;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	assert_int_equal(elf_cache_get(path, &c), 0);
	assert_ptr_not_equal(b, c);
	elf_cache_put(b);
	elf_cache_put(c);
	unlink(path);
}

static void test_elf_cache_errors(void **state)
{
	struct elf_file *f = (struct elf_file *)1;
	struct elf_cache_stats st;

	(void)state;
	assert_int_equal(elf_cache_get("tests/data/elf/out/does-not-exist", &f), -ENOENT);
	assert_null(f);
	assert_int_equal(elf_cache_get("tests/data/elf/prog.c", &f), -ENOEXEC);
	assert_int_equal(elf_cache_get(NULL, &f), -EINVAL);
	elf_cache_put(NULL);
	elf_cache_stats(&st);
	assert_int_equal(st.files, 0);
}

/* Past ELF_CACHE_MAX_FILES, the least recently used files not in use go; held ones stay. */
static void test_elf_cache_bounded(void **state)
{
	char paths[ELF_CACHE_MAX_FILES + 4][64];
	struct elf_file *held = NULL, *f = NULL, *again = NULL;
	struct elf_cache_stats st, st0;
	size_t i;

	(void)state;
	for (i = 0; i < ELF_CACHE_MAX_FILES + 4; i++) {
		int fd;

		snprintf(paths[i], sizeof(paths[i]), "/tmp/bt_elf_lruXXXXXX");
		fd = mkstemp(paths[i]);
		assert_true(fd >= 0);
		close(fd);
		copy_fixture("libver.so", paths[i]);
		assert_int_equal(elf_cache_get(paths[i], &f), 0);
		if (i == 0)
			held = f;
		else
			elf_cache_put(f);
	}
	elf_cache_stats(&st);
	assert_true(st.files <= ELF_CACHE_MAX_FILES);
	/* the first one is in use: still there, a hit */
	elf_cache_stats(&st0);
	assert_int_equal(elf_cache_get(paths[0], &again), 0);
	assert_ptr_equal(again, held);
	elf_cache_put(again);
	/* the second was the least recently used: read again */
	assert_int_equal(elf_cache_get(paths[1], &again), 0);
	elf_cache_stats(&st);
	assert_int_equal(st.hits, st0.hits + 1);
	assert_int_equal(st.misses, st0.misses + 1);
	elf_cache_put(again);
	elf_cache_put(held);
	for (i = 0; i < ELF_CACHE_MAX_FILES + 4; i++)
		unlink(paths[i]);
}

/* Where a cache hit matters: the second process of a big program costs a stat. */
static void test_elf_cache_hit_is_fast(void **state)
{
	static const char *const big[] = {"/usr/bin/node",
					  "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
					  "/lib/x86_64-linux-gnu/libc.so.6", NULL};
	const char *const *p;
	struct elf_file *a = NULL, *b = NULL;
	const struct elf_sym *v = NULL;
	struct timespec t0, t1;
	size_t n = 0;
	double ms;

	(void)state;
	for (p = big; *p && access(*p, R_OK); p++)
		;
	assert_non_null(*p);
	assert_int_equal(elf_cache_get(*p, &a), 0);
	assert_int_equal(elf_file_named(a, "SSL_write", &v, &n), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(elf_cache_get(*p, &b), 0);
	assert_int_equal(elf_file_named(b, "SSL_write", &v, &n), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("%s: second open and lookup %.3f ms\n", *p, ms);
	assert_ptr_equal(a, b);
	assert_true(ms < 10);
	elf_cache_put(a);
	elf_cache_put(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_elf_cache_second_open_is_a_hit, teardown),
	    cmocka_unit_test_teardown(test_elf_cache_replaced_file_is_read_again, teardown),
	    cmocka_unit_test_teardown(test_elf_cache_errors, teardown),
	    cmocka_unit_test_teardown(test_elf_cache_bounded, teardown),
	    cmocka_unit_test_teardown(test_elf_cache_hit_is_fast, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
