// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* /proc parsing, library-name lookup and PATH resolution. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe/target.h"

static void test_target_read_own_maps(void **state)
{
	struct target_map *maps = NULL;
	size_t n = 0, i, exec = 0;
	char *self = realpath("/proc/self/exe", NULL);
	bool found = false;

	(void)state;
	assert_int_equal(target_read_maps(getpid(), &maps, &n), 0);
	assert_true(n > 5);
	for (i = 0; i < n; i++) {
		assert_true(maps[i].start < maps[i].end);
		exec += maps[i].exec;
		found = found || (maps[i].path && strcmp(maps[i].path, self) == 0);
	}
	assert_true(exec >= 2);
	assert_true(found);
	/* libc is mapped and found by its library name */
	assert_non_null(target_maps_find(maps, n, "libc"));
	assert_non_null(strstr(target_maps_find(maps, n, "libc.so.6"), "libc.so.6"));
	target_maps_free(maps, n);
	free(self);
	assert_int_equal(target_read_maps(999999999, &maps, &n), -ESRCH);
}

static void test_target_maps_find_names(void **state)
{
	struct target_map maps[] = {
	    {0x1000, 0x2000, 0, true, "/usr/lib/libfoobar.so.2"},
	    {0x3000, 0x4000, 0, true, "/usr/lib/libfoo.so.1.2.3"},
	    {0x5000, 0x6000, 0, true, "/opt/lib/libssl-3.so"},
	    {0x7000, 0x8000, 0, false, NULL},
	};

	(void)state;
	assert_string_equal(target_maps_find(maps, 4, "libfoo"), "/usr/lib/libfoo.so.1.2.3");
	assert_string_equal(target_maps_find(maps, 4, "libfoo.so"), "/usr/lib/libfoo.so.1.2.3");
	assert_string_equal(target_maps_find(maps, 4, "libfoo.so.1.2.3"),
			    "/usr/lib/libfoo.so.1.2.3");
	assert_string_equal(target_maps_find(maps, 4, "libfoobar"), "/usr/lib/libfoobar.so.2");
	assert_string_equal(target_maps_find(maps, 4, "libssl"), "/opt/lib/libssl-3.so");
	assert_string_equal(target_maps_find(maps, 4, "/opt/lib/libssl-3.so"),
			    "/opt/lib/libssl-3.so");
	assert_null(target_maps_find(maps, 4, "libfo"));
	assert_null(target_maps_find(maps, 4, "/usr/lib/libfoo.so"));
	assert_null(target_maps_find(maps, 4, "libbar"));
}

/* Starts "sh -c 'sleep 30' sh --password=hunter2 x-api-key:k3y" and waits for the exec. */
static pid_t start_secret_child(void)
{
	char path[64], exe[256];
	ssize_t n;
	pid_t pid;
	int i;

	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "sleep 30", "sh", "--password=hunter2",
		      "x-api-key:k3y", (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	for (i = 0; i < 2000; i++) {
		n = readlink(path, exe, sizeof(exe) - 1);
		if (n > 0 && !memmem(exe, (size_t)n, "test_target", 11))
			break;
		usleep(1000);
	}
	return pid;
}

static void test_target_open_child_and_missing(void **state)
{
	struct target t;
	pid_t pid;

	(void)state;
	pid = start_secret_child();
	assert_true(pid > 0);
	assert_int_equal(target_open_pid(&t, pid), 0);
	assert_int_equal(target_refresh(&t), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_non_null(t.exe);
	assert_non_null(strstr(t.exe_host, "/proc/"));
	/* the command line is exported redacted */
	assert_string_equal(t.cmdline, "sh -c sleep 30 sh --password=REDACTED x-api-key:REDACTED");
	target_close(&t);
	assert_int_equal(target_open_pid(&t, 999999999), -ESRCH);
	target_close(&t);
}

static void test_target_open_refuses_self_and_kernel_threads(void **state)
{
	struct target t;
	char comm[32] = "";
	FILE *f;

	(void)state;
	assert_int_equal(target_open_pid(&t, getpid()), -EDEADLK);
	target_close(&t);
	/* pid 2 is kthreadd wherever the kernel runs in this pid namespace */
	f = fopen("/proc/2/comm", "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	if (strncmp(comm, "kthreadd", 8)) {
		skip();
		return;
	}
	assert_int_equal(target_open_pid(&t, 2), -ENOEXEC);
	target_close(&t);
}

static void test_target_which(void **state)
{
	char *p;

	(void)state;
	p = target_which("sh");
	assert_non_null(p);
	assert_int_equal(p[0], '/');
	free(p);
	assert_null(target_which("no-such-command-bedtrace"));
	assert_int_equal(errno, ENOENT);
	p = target_host_path(7, "/usr/lib/x.so");
	assert_string_equal(p, "/proc/7/root/usr/lib/x.so");
	free(p);
}

/*
 * A child's parent, owner and OTel variables are read from /proc; of its environment only
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are kept.
 */
static void test_target_reads_identity_and_otel_env(void **state)
{
	char *const envp[] = {"AWS_SECRET_ACCESS_KEY=Zq7Secret", "OTEL_SERVICE_NAME=checkout",
			      "OTEL_RESOURCE_ATTRIBUTES=team=a,env=test", NULL};
	char path[64], exe[256];
	struct target t;
	ssize_t n;
	pid_t pid;
	int i;

	(void)state;
	pid = fork();
	if (pid == 0) {
		execle("/bin/sleep", "sleep", "30", (char *)NULL, envp);
		_exit(127);
	}
	assert_true(pid > 0);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	for (i = 0; i < 2000; i++) {
		n = readlink(path, exe, sizeof(exe) - 1);
		if (n > 0 && !memmem(exe, (size_t)n, "test_target", 11))
			break;
		usleep(1000);
	}
	assert_int_equal(target_open_pid(&t, pid), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(t.ppid, getpid());
	assert_true(t.has_uid);
	assert_int_equal(t.uid, getuid());
	/* bedtrace's tests run in the PID namespace of their child */
	assert_int_equal(t.ns_pid, 0);
	assert_string_equal(t.env_service_name, "checkout");
	assert_string_equal(t.env_resource_attrs, "team=a,env=test");
	target_close(&t);
	assert_null(t.env_service_name);
}

/* The "#!" line as execve(2) reads it: the interpreter's path, without its argument. */
static void test_target_shebang_lines(void **state)
{
	static const struct {
		const char *in;
		int err;
		const char *interp;
	} cases[] = {
	    {"#!/usr/bin/python3\nimport os\n", 0, "/usr/bin/python3"},
	    {"#! /bin/sh -e\n", 0, "/bin/sh"},
	    {"#!\t/usr/bin/env python3 -u\n", 0, "/usr/bin/env"},
	    {"#!/bin/sh", 0, "/bin/sh"}, /* a file of one line without its newline */
	    {"#!./relative\n", 0, "./relative"},
	    {"#!\n", -ENOEXEC, NULL},
	    {"#!   \n", -ENOEXEC, NULL},
	    {"#", -ENOEXEC, NULL},
	    {"", -ENOEXEC, NULL},
	    {"\x7f"
	     "ELF\x02\x01\x01",
	     -ENOEXEC, NULL},
	    {" #!/bin/sh\n", -ENOEXEC, NULL},
	};
	char interp[64], longer[TARGET_SHEBANG_MAX + 8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = target_shebang(cases[i].in, strlen(cases[i].in), interp, sizeof(interp));

		assert_int_equal(err, cases[i].err);
		if (!err)
			assert_string_equal(interp, cases[i].interp);
	}
	/* a path longer than the buffer given */
	assert_int_equal(target_shebang("#!/a/very/long/interpreter/path\n", 32, interp, 8),
			 -ENAMETOOLONG);
	/* a first line longer than the kernel reads: the path may be cut, so it is none */
	memset(longer, 'x', sizeof(longer));
	memcpy(longer, "#!/", 3);
	assert_int_equal(target_shebang(longer, TARGET_SHEBANG_MAX, interp, sizeof(interp)),
			 -ENOEXEC);
}

/* Writes the file @path holding one line, @a @b @c. */
static void write_line(const char *path, const char *a, const char *b, const char *c)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "%s%s%s\n", a, b, c);
	fclose(f);
}

/* A script runs as the interpreter its "#!" line names, followed through scripts; a binary is
 * its own image; a missing interpreter and a loop of scripts are errors. */
static void test_target_exec_image(void **state)
{
	char dir[] = "/tmp/bt-shebang-XXXXXX", a[64], b[64], c[64], d[64], *img;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(c, sizeof(c), "%s/c", dir);
	snprintf(d, sizeof(d), "%s/d", dir);
	/* a -> b -> /bin/sh (a script whose interpreter is a script) */
	write_line(a, "#!", b, " arg");
	write_line(b, "#!", "/bin/sh", "");
	write_line(c, "#!", dir, "/missing");
	write_line(d, "#!", d, "");
	img = target_exec_image(a);
	assert_non_null(img);
	assert_string_equal(img, realpath("/bin/sh", NULL) ?: "?");
	free(img);
	img = target_exec_image("/bin/sh");
	assert_non_null(img);
	free(img);
	errno = 0;
	assert_null(target_exec_image(c));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(target_exec_image(d));
	assert_int_equal(errno, ELOOP);
	unlink(a);
	unlink(b);
	unlink(c);
	unlink(d);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_target_read_own_maps),
	    cmocka_unit_test(test_target_maps_find_names),
	    cmocka_unit_test(test_target_open_child_and_missing),
	    cmocka_unit_test(test_target_open_refuses_self_and_kernel_threads),
	    cmocka_unit_test(test_target_which),
	    cmocka_unit_test(test_target_reads_identity_and_otel_env),
	    cmocka_unit_test(test_target_shebang_lines),
	    cmocka_unit_test(test_target_exec_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
