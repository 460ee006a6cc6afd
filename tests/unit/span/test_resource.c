// SPDX-License-Identifier: MIT
/* Unit tests for span/resource.c: the OTLP resource of a traced process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "span/resource.h"
#include "span/semconv.h"
#include "span/span.h"

#include "lib/attrs.h"

static struct target fake_target(void)
{
	struct target t = {.pid = 4242, .pidfd = -1, .go_fd = -1};

	t.exe = "/usr/bin/python3.11";
	t.comm = "python3";
	t.cmdline = "python3 app.py --token=REDACTED";
	return t;
}

static void test_resource_from_target(void **state)
{
	struct target t = fake_target();
	const struct bt_attrs *a;

	(void)state;
	assert_int_equal(resource_refresh(&t, "svc"), 0);
	a = &t.resource->attrs;
	assert_string_equal(bt_attrs_get(a, ATTR_SERVICE_NAME)->s, "svc");
	assert_int_equal(bt_attrs_get(a, ATTR_PROCESS_PID)->i, 4242);
	assert_string_equal(bt_attrs_get(a, ATTR_PROCESS_EXECUTABLE_PATH)->s, t.exe);
	assert_string_equal(bt_attrs_get(a, ATTR_PROCESS_COMMAND_LINE)->s, t.cmdline);
	assert_string_equal(bt_attrs_get(a, ATTR_TELEMETRY_SDK_NAME)->s, "bedtrace");
	assert_string_equal(bt_attrs_get(a, ATTR_TELEMETRY_SDK_LANGUAGE)->s, "c");
	assert_non_null(bt_attrs_get(a, ATTR_HOST_NAME));
	resource_release(&t);
	assert_null(t.resource);
}

/*
 * Without a service name anywhere the executable's file name is the service; a refresh replaces
 * the resource.
 */
static void test_resource_refresh_replaces(void **state)
{
	struct target t = fake_target();
	struct bt_resource *first;

	(void)state;
	assert_int_equal(resource_refresh(&t, NULL), 0);
	assert_string_equal(bt_attrs_get(&t.resource->attrs, ATTR_SERVICE_NAME)->s, "python3.11");
	first = bt_resource_get(t.resource);
	t.exe = "/usr/bin/node";
	t.comm = "node";
	assert_int_equal(resource_refresh(&t, NULL), 0);
	assert_ptr_not_equal(t.resource, first);
	assert_string_equal(bt_attrs_get(&t.resource->attrs, ATTR_SERVICE_NAME)->s, "node");
	/* a span that holds the old resource keeps it valid */
	assert_string_equal(bt_attrs_get(&first->attrs, ATTR_SERVICE_NAME)->s, "python3.11");
	bt_resource_put(first);
	resource_release(&t);
}

static char machine_id_path[64];

/* bedtrace's own environment (the operator's defaults) and machine id, read again. */
static void host_env(const char *service_name, const char *attrs)
{
	if (service_name)
		setenv("OTEL_SERVICE_NAME", service_name, 1);
	else
		unsetenv("OTEL_SERVICE_NAME");
	if (attrs)
		setenv("OTEL_RESOURCE_ATTRIBUTES", attrs, 1);
	else
		unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	resource_host_reset(machine_id_path);
}

static const char *svc_of(struct target *t, const char *opt)
{
	assert_int_equal(resource_refresh(t, opt), 0);
	return bt_attrs_get(&t->resource->attrs, ATTR_SERVICE_NAME)->s;
}

/* Each source of service.name, then the next one when it is missing or empty. */
static void test_resource_service_name_precedence(void **state)
{
	struct target t = fake_target();
	char proc_name[] = "from-proc-env", proc_attrs[] = "service.name=from-proc-attrs,x=1";

	(void)state;
	host_env("from-host-env", "service.name=from-host-attrs");
	t.env_service_name = proc_name;
	t.env_resource_attrs = proc_attrs;
	assert_string_equal(svc_of(&t, "from-option"), "from-option");
	assert_string_equal(svc_of(&t, ""), "from-proc-env");
	assert_string_equal(svc_of(&t, NULL), "from-proc-env");
	proc_name[0] = '\0'; /* OTEL_SERVICE_NAME= counts as unset */
	assert_string_equal(svc_of(&t, NULL), "from-proc-attrs");
	t.env_resource_attrs = NULL;
	assert_string_equal(svc_of(&t, NULL), "from-host-env");
	host_env(NULL, "service.name=from-host-attrs");
	assert_string_equal(svc_of(&t, NULL), "from-host-attrs");
	host_env("", "service.name=");
	assert_string_equal(svc_of(&t, NULL), "python3.11");
	/* a replaced binary: its name without " (deleted)"; no executable: the process name */
	t.exe = "/opt/app/server (deleted)";
	assert_string_equal(svc_of(&t, NULL), "server");
	assert_string_equal(bt_attrs_get(&t.resource->attrs, ATTR_PROCESS_EXECUTABLE_NAME)->s,
			    "server");
	t.exe = NULL;
	assert_string_equal(svc_of(&t, NULL), "python3");
	resource_release(&t);
	host_env(NULL, NULL);
}

/* Operator's attributes < the process's < what bedtrace observed; malformed values drop whole. */
static void test_resource_attribute_sources(void **state)
{
	struct target t = fake_target();
	char good[] = "team=a,deployment.environment=test,region=,process.pid=1,host.name=fake";
	char bad[] = "team=b,broken";
	const struct bt_attrs *a;

	(void)state;
	host_env(NULL, "team=operator,region=eu%2Dwest,site=lab");
	t.env_resource_attrs = good;
	assert_int_equal(resource_refresh(&t, NULL), 0);
	a = &t.resource->attrs;
	assert_string_equal(bt_attrs_get(a, "team")->s, "a");
	assert_string_equal(bt_attrs_get(a, "deployment.environment")->s, "test");
	assert_string_equal(bt_attrs_get(a, "site")->s, "lab");
	/* an empty value does not replace the operator's (the SDK merge rule) */
	assert_string_equal(bt_attrs_get(a, "region")->s, "eu-west");
	assert_int_equal(bt_attrs_get(a, ATTR_PROCESS_PID)->type, BT_ATTR_INT);
	assert_int_equal(bt_attrs_get(a, ATTR_PROCESS_PID)->i, 4242);
	assert_string_not_equal(bt_attrs_get(a, ATTR_HOST_NAME)->s, "fake");

	t.env_resource_attrs = bad;
	assert_int_equal(resource_refresh(&t, NULL), 0);
	a = &t.resource->attrs;
	assert_string_equal(bt_attrs_get(a, "team")->s, "operator");
	assert_null(bt_attrs_get(a, "broken"));

	/* a malformed operator value is dropped whole too */
	host_env(NULL, "team=operator,oops");
	t.env_resource_attrs = NULL;
	assert_int_equal(resource_refresh(&t, NULL), 0);
	assert_null(bt_attrs_get(&t.resource->attrs, "team"));
	resource_release(&t);
	host_env(NULL, NULL);
}

/* host.id, parent, namespace PID, owner, container and pod, when known; absent otherwise. */
static void test_resource_observed_process(void **state)
{
	struct target t = fake_target();
	const struct bt_attrs *a;
	FILE *f;

	(void)state;
	f = fopen(machine_id_path, "w");
	assert_non_null(f);
	fputs("3d1219c7c4c5404aaa1f6d2a48adfda4\n", f);
	fclose(f);
	host_env(NULL, NULL);
	t.ppid = 4000;
	t.ns_pid = 1;
	t.has_uid = true;
	t.uid = 0;
	strcpy(t.cgroup.container_id,
	       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	strcpy(t.cgroup.pod_uid, "0c9b8a1e-4f3d-4a8e-9a1b-2f6c7d8e9a10");
	assert_int_equal(resource_refresh(&t, NULL), 0);
	a = &t.resource->attrs;
	assert_string_equal(bt_attrs_get(a, ATTR_HOST_ID)->s, "3d1219c7c4c5404aaa1f6d2a48adfda4");
	assert_int_equal(bt_attrs_get(a, ATTR_PROCESS_PARENT_PID)->i, 4000);
	assert_int_equal(bt_attrs_get(a, ATTR_PROCESS_VPID)->i, 1);
	assert_string_equal(bt_attrs_get(a, ATTR_PROCESS_OWNER)->s, "root");
	assert_string_equal(bt_attrs_get(a, ATTR_CONTAINER_ID)->s, t.cgroup.container_id);
	assert_string_equal(bt_attrs_get(a, ATTR_K8S_POD_UID)->s, t.cgroup.pod_uid);
	assert_string_equal(bt_attrs_get(a, ATTR_PROCESS_EXECUTABLE_NAME)->s, "python3.11");

	/* a uid without a user here: the number */
	t.uid = 3999999;
	assert_int_equal(resource_refresh(&t, NULL), 0);
	assert_string_equal(bt_attrs_get(&t.resource->attrs, ATTR_PROCESS_OWNER)->s, "3999999");

	/* nothing known, nothing set; no machine id, no host.id */
	unlink(machine_id_path);
	host_env(NULL, NULL);
	resource_release(&t);
	t = fake_target();
	assert_int_equal(resource_refresh(&t, NULL), 0);
	a = &t.resource->attrs;
	assert_null(bt_attrs_get(a, ATTR_HOST_ID));
	assert_null(bt_attrs_get(a, ATTR_PROCESS_PARENT_PID));
	assert_null(bt_attrs_get(a, ATTR_PROCESS_VPID));
	assert_null(bt_attrs_get(a, ATTR_PROCESS_OWNER));
	assert_null(bt_attrs_get(a, ATTR_CONTAINER_ID));
	assert_null(bt_attrs_get(a, ATTR_K8S_POD_UID));
	resource_release(&t);
}

static int setup(void **state)
{
	(void)state;
	snprintf(machine_id_path, sizeof(machine_id_path), "/tmp/bt-machine-id-%d", (int)getpid());
	unlink(machine_id_path);
	host_env(NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(machine_id_path);
	resource_host_reset(NULL);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resource_from_target),
	    cmocka_unit_test(test_resource_refresh_replaces),
	    cmocka_unit_test(test_resource_service_name_precedence),
	    cmocka_unit_test(test_resource_attribute_sources),
	    cmocka_unit_test(test_resource_observed_process),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
