// SPDX-License-Identifier: MIT
/* Unit tests for probe/procinfo.c: /proc/PID/status and /proc/PID/environ text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "probe/procinfo.h"

/* The head of a real status file of a process in a nested PID namespace (unshare --pid). */
static const char status_nested[] = "Name:\tpython3\n"
				    "Umask:\t0022\n"
				    "State:\tS (sleeping)\n"
				    "Tgid:\t31337\n"
				    "Ngid:\t0\n"
				    "Pid:\t31337\n"
				    "PPid:\t31336\n"
				    "TracerPid:\t0\n"
				    "Uid:\t1000\t1000\t1000\t1000\n"
				    "Gid:\t1000\t1000\t1000\t1000\n"
				    "FDSize:\t64\n"
				    "Groups:\t27 1000 \n"
				    "NStgid:\t31337\t1\n"
				    "NSpid:\t31337\t1\n"
				    "NSpgid:\t31337\t1\n"
				    "NSsid:\t31300\t0\n"
				    "VmPeak:\t   12345 kB\n";

static void test_procinfo_status_nested_namespace(void **state)
{
	struct proc_status st;

	(void)state;
	procinfo_parse_status(status_nested, strlen(status_nested), &st);
	assert_int_equal(st.ppid, 31336);
	assert_true(st.has_uid);
	assert_int_equal(st.uid, 1000);
	assert_int_equal(st.ns_levels, 2);
	assert_int_equal(st.ns_pid, 1);
}

static void test_procinfo_status_same_namespace_and_gaps(void **state)
{
	static const char plain[] = "Name:\tbash\nPPid:\t0\nUid:\t0\t0\t0\t0\nNSpid:\t1\n";
	static const char three[] = "NSpid:\t900\t40\t7\n";
	static const char junk[] = "PPid:\t-5\nUid:\tx\nNSpid:\nPPid";
	struct proc_status st;

	(void)state;
	procinfo_parse_status(plain, strlen(plain), &st);
	assert_int_equal(st.ppid, 0);
	assert_true(st.has_uid);
	assert_int_equal(st.uid, 0);
	assert_int_equal(st.ns_levels, 1);
	assert_int_equal(st.ns_pid, 1);
	/* nested twice: the innermost namespace's PID is the last field */
	procinfo_parse_status(three, strlen(three), &st);
	assert_int_equal(st.ns_levels, 3);
	assert_int_equal(st.ns_pid, 7);
	/* what cannot be read stays unset */
	procinfo_parse_status(junk, strlen(junk), &st);
	assert_int_equal(st.ppid, 0);
	assert_false(st.has_uid);
	assert_int_equal(st.ns_levels, 0);
	/* only @len bytes: the Uid line cut before its number */
	procinfo_parse_status(status_nested,
			      (size_t)(strstr(status_nested, "Uid:") - status_nested + 4), &st);
	assert_int_equal(st.ppid, 31336);
	assert_false(st.has_uid);
	/* a number too large for a pid is no pid */
	procinfo_parse_status("PPid:\t99999999999999999999\n", 27, &st);
	assert_int_equal(st.ppid, 0);
}

static void test_procinfo_environ_get(void **state)
{
	static const char env[] = "PATH=/usr/bin\0AWS_SECRET_ACCESS_KEY=abc\0"
				  "OTEL_SERVICE_NAME_X=no\0XOTEL_SERVICE_NAME=no\0"
				  "OTEL_SERVICE_NAME=checkout\0OTEL_SERVICE_NAME=second\0"
				  "EMPTY=\0OTEL_RESOURCE_ATTRIBUTES=a=1,b=2";
	char *v;

	(void)state;
	v = procinfo_environ_get(env, sizeof(env) - 1, "OTEL_SERVICE_NAME");
	assert_string_equal(v, "checkout");
	free(v);
	/* the last entry without its NUL (a cut read) */
	v = procinfo_environ_get(env, sizeof(env) - 1, "OTEL_RESOURCE_ATTRIBUTES");
	assert_string_equal(v, "a=1,b=2");
	free(v);
	v = procinfo_environ_get(env, sizeof(env) - 1, "EMPTY");
	assert_string_equal(v, "");
	free(v);
	errno = 0;
	assert_null(procinfo_environ_get(env, sizeof(env) - 1, "PAT"));
	assert_int_equal(errno, ENOENT);
	assert_null(procinfo_environ_get(env, 0, "PATH"));
	/* an entry cut before its '=' is not a match */
	assert_null(procinfo_environ_get("PATH", 4, "PATH"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_procinfo_status_nested_namespace),
	    cmocka_unit_test(test_procinfo_status_same_namespace_and_gaps),
	    cmocka_unit_test(test_procinfo_environ_get),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
