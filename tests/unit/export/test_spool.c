// SPDX-License-Identifier: MIT
/*
 * Unit tests for spool.c: the file format, durable writes, oldest-first reading, the size
 * bound, picking up an earlier run's files, temporary and corrupt files, the directory rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/spool.h"

static char root[64];
static char dir[128];

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/bt_test_spool_XXXXXX");
	if (!mkdtemp(root))
		return -1;
	/* two levels that do not exist yet: spool_open creates them */
	snprintf(dir, sizeof(dir), "%s/a/spool", root);
	return 0;
}

static int rm_rf(const char *path)
{
	struct dirent *d;
	struct stat st;
	char sub[512];
	DIR *dp;

	if (lstat(path, &st) || !S_ISDIR(st.st_mode))
		return unlink(path);
	dp = opendir(path);
	if (!dp)
		return -1;
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, d->d_name);
		rm_rf(sub);
	}
	closedir(dp);
	return rmdir(path);
}

static int teardown(void **state)
{
	(void)state;
	return rm_rf(root);
}

/* Counts directory entries whose name ends with @suffix (or all non-dot ones for ""). */
static int count_files(const char *suffix)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = 0;

	assert_non_null(dp);
	while ((d = readdir(dp))) {
		size_t l = strlen(d->d_name), s = strlen(suffix);

		if (d->d_name[0] == '.' && strcmp(suffix, ".tmp"))
			continue;
		if (l >= s && !strcmp(d->d_name + l - s, suffix))
			n++;
	}
	closedir(dp);
	return n;
}

static void put_str(struct bt_spool *s, const char *body, uint64_t spans)
{
	assert_int_equal(spool_put(s, body, strlen(body), spans, false), 0);
}

static void expect_oldest(struct bt_spool *s, const char *body, uint64_t spans, bool earlier)
{
	struct spool_item it;

	assert_int_equal(spool_read_oldest(s, &it), 0);
	assert_int_equal(it.body_len, strlen(body));
	assert_memory_equal(it.body, body, it.body_len);
	assert_int_equal(it.n_spans, spans);
	assert_int_equal(it.from_earlier_run, earlier);
	assert_int_equal(spool_remove(s, &it), 0);
	spool_item_free(&it);
}

/* ---- the format ---- */

static void test_spool_header_round_trip(void **state)
{
	static const char body[] = "{\"resourceSpans\":[]}";
	char file[SPOOL_HEADER_MAX + sizeof(body)];
	struct spool_meta m;
	size_t h;

	(void)state;
	h = spool_format_header(file, 42, true, body, strlen(body));
	assert_true(h > 0);
	assert_memory_equal(file, "BTSPOOL1 spans=42 encoding=gzip length=20 crc32=", 48);
	memcpy(file + h, body, strlen(body));
	assert_int_equal(spool_check(file, h + strlen(body), &m), 0);
	assert_int_equal(m.n_spans, 42);
	assert_true(m.gzip);
	assert_int_equal(m.body_off, h);
	assert_int_equal(m.body_len, strlen(body));
	/* one changed body byte, one byte too many or too few: refused */
	file[h + 3] ^= 1;
	assert_int_equal(spool_check(file, h + strlen(body), &m), -EBADMSG);
	file[h + 3] ^= 1;
	assert_int_equal(spool_check(file, h + strlen(body) - 1, &m), -EBADMSG);
	assert_int_equal(spool_check(file, h + strlen(body) + 1, &m), -EBADMSG);
}

static void test_spool_header_rejects_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "BTSPOOL2 spans=1 encoding=json length=0 crc32=00000000\n",
	    "BTSPOOL1 spans=1 encoding=zstd length=0 crc32=00000000\n",
	    "BTSPOOL1 spans= encoding=json length=0 crc32=00000000\n",
	    "BTSPOOL1 spans=1 encoding=json length=0 crc32=0000000\n",
	    "BTSPOOL1 spans=1 encoding=json length=0 crc32=0000000G\n",
	    "BTSPOOL1 spans=1 encoding=json length=0 crc32=00000000",
	    "BTSPOOL1 spans=99999999999999999999999 encoding=json length=0 crc32=00000000\n",
	    "BTSPOOL1 spans=1 encoding=json length=999999999999 crc32=00000000\n",
	    "BTSPOOL1 spans=1 encoding=json length=-1 crc32=00000000\n",
	};
	struct spool_meta m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(spool_parse_header(bad[i], strlen(bad[i]), &m), -EBADMSG);
	/* the empty body's CRC is 0 */
	assert_int_equal(
	    spool_check("BTSPOOL1 spans=0 encoding=json length=0 crc32=00000000\n", 55, &m), 0);
}

/* ---- the directory ---- */

static void test_spool_write_read_oldest_first(void **state)
{
	struct spool_stats st;
	struct bt_spool *s;
	struct stat sb;

	(void)state;
	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	put_str(s, "first", 1);
	put_str(s, "second", 2);
	put_str(s, "third", 3);
	spool_get_stats(s, &st);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.spans, 6);
	assert_int_equal(st.spans_earlier, 0);
	assert_int_equal(count_files(".btspool"), 3);
	assert_int_equal(count_files(".tmp"), 0);
	expect_oldest(s, "first", 1, false);
	/* the file goes with spool_remove(), the next one is next */
	assert_int_equal(count_files(".btspool"), 2);
	expect_oldest(s, "second", 2, false);
	expect_oldest(s, "third", 3, false);
	spool_get_stats(s, &st);
	assert_int_equal(st.files, 0);
	assert_int_equal(st.bytes, 0);
	{
		struct spool_item it;

		assert_int_equal(spool_read_oldest(s, &it), -ENOENT);
	}
	spool_close(s);
}

static void test_spool_files_are_0600_and_named_in_order(void **state)
{
	struct bt_spool *s;
	struct dirent *d;
	struct stat sb;
	char path[512], names[4][300];
	int n = 0;
	DIR *dp;

	(void)state;
	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	put_str(s, "a", 1);
	put_str(s, "b", 1);
	put_str(s, "c", 1);
	spool_close(s);
	dp = opendir(dir);
	assert_non_null(dp);
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		assert_true(n < 4);
		snprintf(names[n++], sizeof(names[0]), "%s", d->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0600);
		/* SEQ(20)-MS(13).btspool */
		assert_int_equal(strlen(d->d_name), 42);
		assert_non_null(strstr(d->d_name, ".btspool"));
	}
	closedir(dp);
	assert_int_equal(n, 3);
	qsort(names, 3, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	assert_memory_equal(names[0], "00000000000000000001-", 21);
	assert_memory_equal(names[1], "00000000000000000002-", 21);
	assert_memory_equal(names[2], "00000000000000000003-", 21);
}

static void test_spool_max_bound(void **state)
{
	char body[1000];
	struct spool_stats st;
	struct bt_spool *s;

	(void)state;
	memset(body, 'x', sizeof(body));
	/* room for two files of 1000 bytes plus their header lines, not three */
	s = spool_open(dir, 2 * (sizeof(body) + 70));
	assert_non_null(s);
	assert_int_equal(spool_put(s, body, sizeof(body), 5, false), 0);
	assert_int_equal(spool_put(s, body, sizeof(body), 5, false), 0);
	assert_int_equal(spool_put(s, body, sizeof(body), 5, false), -EFBIG);
	spool_get_stats(s, &st);
	assert_int_equal(st.files, 2);
	assert_true(st.bytes <= 2 * (sizeof(body) + 70));
	assert_int_equal(count_files(".btspool"), 2);
	assert_int_equal(count_files(".tmp"), 0); /* nothing left behind */
	/* room again once one is delivered */
	{
		struct spool_item it;

		assert_int_equal(spool_read_oldest(s, &it), 0);
		assert_int_equal(spool_remove(s, &it), 0);
		spool_item_free(&it);
	}
	assert_int_equal(spool_put(s, body, sizeof(body), 5, false), 0);
	spool_close(s);
}

static void test_spool_restart_picks_up_files(void **state)
{
	struct spool_stats st;
	struct bt_spool *s;
	struct spool_item it;

	(void)state;
	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	put_str(s, "old-1", 10);
	put_str(s, "old-2", 20);
	spool_close(s); /* as after a crash: nothing is flushed at close, files are complete */

	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	spool_get_stats(s, &st);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.spans, 30);
	assert_int_equal(st.spans_earlier, 30);
	put_str(s, "new-1", 1);
	expect_oldest(s, "old-1", 10, true);
	expect_oldest(s, "old-2", 20, true);
	/* the new file got a sequence number after the old ones */
	assert_int_equal(spool_read_oldest(s, &it), 0);
	assert_int_equal(it.seq, 3);
	assert_false(it.from_earlier_run);
	spool_item_free(&it);
	spool_close(s);
}

static void test_spool_temp_files_removed_at_open(void **state)
{
	struct bt_spool *s;
	char path[512];
	int fd;

	(void)state;
	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	spool_close(s);
	snprintf(path, sizeof(path), "%s/.tmp-7", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "BTSPOOL1 half", 13), 13);
	close(fd);
	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	assert_int_equal(access(path, F_OK), -1);
	spool_close(s);
}

static void test_spool_corrupt_files_set_aside(void **state)
{
	struct spool_stats st;
	struct bt_spool *s;
	struct spool_item it;
	char path[512];
	int fd;

	(void)state;
	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	put_str(s, "to-be-truncated", 1);
	put_str(s, "good", 2);
	spool_close(s);
	/* a file cut short, and a file of another program that only looks like ours */
	snprintf(path, sizeof(path), "%s/00000000000000000001-", dir);
	{
		struct dirent *d;
		DIR *dp = opendir(dir);

		assert_non_null(dp);
		while ((d = readdir(dp)))
			if (!strncmp(d->d_name, "00000000000000000001-", 21))
				snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		closedir(dp);
	}
	assert_int_equal(truncate(path, 30), 0);
	snprintf(path, sizeof(path), "%s/00000000000000000009-0000000000000.btspool", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage\n", 8), 8);
	close(fd);

	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	assert_int_equal(count_files(".corrupt"), 2);
	spool_get_stats(s, &st);
	assert_int_equal(st.files, 1);
	/* a file damaged after the open: found at read, set aside, the next one follows */
	put_str(s, "later", 3);
	{
		struct dirent *d;
		DIR *dp = opendir(dir);

		assert_non_null(dp);
		while ((d = readdir(dp)))
			if (!strncmp(d->d_name, "00000000000000000002-", 21) &&
			    strstr(d->d_name, ".btspool") && !strstr(d->d_name, ".corrupt"))
				snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		closedir(dp);
	}
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 70), 1); /* a body byte: the CRC no longer matches */
	close(fd);
	assert_int_equal(spool_read_oldest(s, &it), -EBADMSG);
	assert_int_equal(it.n_spans, 2); /* what was lost, for the caller's counts */
	assert_int_equal(count_files(".corrupt"), 3);
	expect_oldest(s, "later", 3, false);
	spool_close(s);
}

static void test_spool_one_user_at_a_time(void **state)
{
	struct bt_spool *a, *b;

	(void)state;
	a = spool_open(dir, 1 << 20);
	assert_non_null(a);
	errno = 0;
	b = spool_open(dir, 1 << 20);
	assert_null(b);
	assert_int_equal(errno, EBUSY);
	spool_close(a);
	b = spool_open(dir, 1 << 20);
	assert_non_null(b);
	spool_close(b);
}

static void test_spool_directory_rules(void **state)
{
	char link[256], file[256];
	struct bt_spool *s;
	int fd;

	(void)state;
	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	spool_close(s);
	/* writable by others: anyone could plant requests that we would send as ours */
	assert_int_equal(chmod(dir, 0777), 0);
	errno = 0;
	assert_null(spool_open(dir, 1 << 20));
	assert_int_equal(errno, EPERM);
	assert_int_equal(chmod(dir, 0700), 0);
	/* a symbolic link is not followed */
	snprintf(link, sizeof(link), "%s/link", root);
	assert_int_equal(symlink(dir, link), 0);
	errno = 0;
	assert_null(spool_open(link, 1 << 20));
	assert_int_equal(errno, ELOOP);
	/* a file is not a directory */
	snprintf(file, sizeof(file), "%s/file", root);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(spool_open(file, 1 << 20));
	assert_true(errno == ENOTDIR || errno == EEXIST);
}

static void test_spool_dir_check_rules_without_lock(void **state)
{
	char link[256], file[256];
	struct bt_spool *s;
	struct stat st;
	mode_t old;
	int fd;

	(void)state;
	/* created 0700 with its parents, whatever the umask */
	old = umask(0);
	assert_int_equal(spool_dir_check(dir), 0);
	umask(old);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* no lock: a spool open in it and a check of it do not exclude each other */
	s = spool_open(dir, 1 << 20);
	assert_non_null(s);
	assert_int_equal(spool_dir_check(dir), 0);
	spool_close(s);
	/* the rules of spool_open(): nobody else may write there, no link, a directory */
	assert_int_equal(chmod(dir, 0757), 0);
	assert_int_equal(spool_dir_check(dir), -EPERM);
	assert_int_equal(chmod(dir, 0700), 0);
	snprintf(link, sizeof(link), "%s/link", root);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(spool_dir_check(link), -ELOOP);
	snprintf(file, sizeof(file), "%s/file", root);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_true(spool_dir_check(file) == -ENOTDIR || spool_dir_check(file) == -EEXIST);
	assert_int_equal(spool_dir_check(""), -EINVAL);
	assert_int_equal(spool_dir_check(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest format_tests[] = {
	    cmocka_unit_test(test_spool_header_round_trip),
	    cmocka_unit_test(test_spool_header_rejects_malformed),
	};
	const struct CMUnitTest dir_tests[] = {
	    cmocka_unit_test_setup_teardown(test_spool_write_read_oldest_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_files_are_0600_and_named_in_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_spool_max_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_restart_picks_up_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_temp_files_removed_at_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_corrupt_files_set_aside, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_one_user_at_a_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_directory_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_dir_check_rules_without_lock, setup,
					    teardown),
	};
	int failed;

	failed = cmocka_run_group_tests_name("spool_format", format_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("spool_dir", dir_tests, NULL, NULL);
	return failed;
}
