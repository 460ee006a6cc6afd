// SPDX-License-Identifier: MIT
/* Unit tests for span/resource.c: the OTLP resource of a traced process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

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

/* Without a service name the process name is the service; a refresh replaces the resource. */
static void test_resource_refresh_replaces(void **state)
{
	struct target t = fake_target();
	struct bt_resource *first;

	(void)state;
	assert_int_equal(resource_refresh(&t, NULL), 0);
	assert_string_equal(bt_attrs_get(&t.resource->attrs, ATTR_SERVICE_NAME)->s, "python3");
	first = bt_resource_get(t.resource);
	t.comm = "node";
	assert_int_equal(resource_refresh(&t, NULL), 0);
	assert_ptr_not_equal(t.resource, first);
	assert_string_equal(bt_attrs_get(&t.resource->attrs, ATTR_SERVICE_NAME)->s, "node");
	/* a span that holds the old resource keeps it valid */
	assert_string_equal(bt_attrs_get(&first->attrs, ATTR_SERVICE_NAME)->s, "python3");
	bt_resource_put(first);
	resource_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resource_from_target),
	    cmocka_unit_test(test_resource_refresh_replaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
