// SPDX-License-Identifier: MIT
/*
 * Tests for user/probe/select.c without BPF maps: executables are resolved by identity (a
 * hard link is the same file), bad paths are refused, the /proc scan finds the processes running
 * a selected file and leaves out bedtrace itself and excluded pids and files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bedtrace.h"
#include "probe/select.h"

struct found {
	pid_t pids[64];
	int exes[64];
	size_t n;
};

static int collect(pid_t pid, int exe, void *ctx)
{
	struct found *f = ctx;

	if (f->n < 64) {
		f->pids[f->n] = pid;
		f->exes[f->n++] = exe;
	}
	return 0;
}

static bool has_pid(const struct found *f, pid_t pid, int *exe)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->pids[i] == pid) {
			if (exe)
				*exe = f->exes[i];
			return true;
		}
	return false;
}

/* A child running this test's executable, paused until killed. */
static pid_t spawn_child(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_select_kernel_dev(void **state)
{
	(void)state;
	assert_int_equal(select_kernel_dev(makedev(8, 1)), (8u << 20) | 1);
	assert_int_equal(select_kernel_dev(makedev(0, 27)), 27);
	assert_int_equal(select_kernel_dev(makedev(259, 3)), (259u << 20) | 3);
}

static void test_select_refuses_bad_paths(void **state)
{
	const char *missing[] = {"/nonexistent/bedtrace-test"};
	const char *dir[] = {"/tmp"};
	struct select_opts o = {.mode = BT_SELECT_EXE, .exes = missing, .n_exes = 1};
	struct proc_select *ps = NULL;

	(void)state;
	assert_int_equal(select_new(&o, &ps), -ENOENT);
	assert_null(ps);
	o.exes = dir;
	assert_int_equal(select_new(&o, &ps), -EINVAL);
	o.exes = NULL;
	o.n_exes = 0;
	/* a program to leave out that this host does not have is no error */
	o.exclude_exes = missing;
	o.n_exclude_exes = 1;
	assert_int_equal(select_new(&o, &ps), 0);
	select_free(ps);
	o.exclude_exes = dir;
	assert_int_equal(select_new(&o, &ps), -EINVAL);
}

static void test_select_scan_finds_processes_of_a_file(void **state)
{
	char self[PATH_MAX], hard[PATH_MAX + 32];
	const char *exes[2];
	struct select_opts o = {.mode = BT_SELECT_EXE, .exes = exes, .n_exes = 2};
	struct proc_select *ps = NULL;
	struct found f = {0};
	pid_t a, b;
	int exe = -1;
	ssize_t n;

	(void)state;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	/* a hard link is the same file under another name: same device and inode */
	snprintf(hard, sizeof(hard), "%s.hardlink", self);
	unlink(hard);
	assert_int_equal(link(self, hard), 0);
	exes[0] = "/bin/true";
	exes[1] = hard;
	a = spawn_child();
	b = spawn_child();
	o.exclude_pids = &b;
	o.n_exclude_pids = 1;
	assert_int_equal(select_new(&o, &ps), 0);
	assert_int_equal(select_n_exes(ps), 2);
	assert_string_equal(select_exe_path(ps, 1), hard);
	assert_null(select_exe_path(ps, 2));
	assert_true(select_scan(ps, collect, &f) >= 1);
	assert_true(has_pid(&f, a, &exe));
	assert_int_equal(exe, 1);
	assert_false(has_pid(&f, b, NULL));	   /* --exclude-pid */
	assert_false(has_pid(&f, getpid(), NULL)); /* bedtrace itself */
	/* no map: nothing to mark, no error */
	assert_int_equal(select_mark_examined(ps, a), 0);
	select_free(ps);

	/* the same file excluded: nothing selected */
	o.exclude_exes = &exes[1];
	o.n_exclude_exes = 1;
	o.n_exclude_pids = 0;
	memset(&f, 0, sizeof(f));
	assert_int_equal(select_new(&o, &ps), 0);
	select_scan(ps, collect, &f);
	assert_false(has_pid(&f, a, NULL));
	assert_false(has_pid(&f, b, NULL));
	select_free(ps);
	reap(a);
	reap(b);
	unlink(hard);
}

static void test_select_all_lists_user_processes(void **state)
{
	struct select_opts o = {.mode = BT_SELECT_ALL};
	struct proc_select *ps = NULL;
	struct found f = {0};
	pid_t a;

	(void)state;
	a = spawn_child();
	assert_int_equal(select_new(&o, &ps), 0);
	assert_true(select_scan(ps, collect, &f) >= 1);
	assert_true(has_pid(&f, a, NULL) || f.n == 64);
	assert_false(has_pid(&f, 2, NULL)); /* kthreadd: no executable */
	select_free(ps);
	reap(a);
}

/* A bt_exe_path holding @path (innermost name first, as BPF stores it). */
static struct bt_exe_path exe_rec(const char *path)
{
	struct bt_exe_path p;

	memset(&p, 0, sizeof(p));
	p.len = (uint32_t)strlen(path);
	memcpy(p.path, path, p.len);
	return p;
}

static void test_select_exe_path_decode(void **state)
{
	struct bt_exe_path p;
	char buf[BT_EXE_PATH_USED + 1];

	(void)state;
	p = exe_rec("curl/bin/usr/");
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), 13);
	assert_string_equal(buf, "/usr/bin/curl");
	p = exe_rec("init/");
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "/init");
	/* names with spaces and dots are names */
	p = exe_rec("my app/.hidden dir/");
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), 19);
	assert_string_equal(buf, "/.hidden dir/my app");
	/* exactly fits, then one byte short */
	p = exe_rec("curl/bin/usr/");
	assert_int_equal(select_exe_path_decode(&p, buf, 14), 13);
	assert_int_equal(select_exe_path_decode(&p, buf, 13), -ENOSPC);
	/* what BPF gave up on, or never wrote */
	p = exe_rec("curl/bin/usr/");
	p.truncated = 1;
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), -EINVAL);
	p = exe_rec("");
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), -EINVAL);
	/* malformed: an empty name, no final '/', a NUL inside a name, a length past the limit */
	p = exe_rec("curl//usr/");
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), -EINVAL);
	p = exe_rec("/curl/");
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), -EINVAL);
	p = exe_rec("curl/usr");
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), -EINVAL);
	p = exe_rec("cuXrl/usr/");
	p.path[2] = 0;
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), -EINVAL);
	p = exe_rec("curl/usr/");
	p.len = BT_EXE_PATH_USED + 1;
	assert_int_equal(select_exe_path_decode(&p, buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_select_kernel_dev),
	    cmocka_unit_test(test_select_refuses_bad_paths),
	    cmocka_unit_test(test_select_scan_finds_processes_of_a_file),
	    cmocka_unit_test(test_select_all_lists_user_processes),
	    cmocka_unit_test(test_select_exe_path_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
