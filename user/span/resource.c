// SPDX-License-Identifier: MIT
#include <errno.h>
#include <unistd.h>

#include "span/resource.h"
#include "span/semconv.h"
#include "span/span.h"

int resource_refresh(struct target *t, const char *service_name)
{
	struct bt_resource *r = bt_resource_new();
	struct bt_attrs *a;
	char host[256] = "";

	if (!r)
		return -ENOMEM;
	a = &r->attrs;
	gethostname(host, sizeof(host) - 1);
	bt_attrs_set_str(a, ATTR_SERVICE_NAME, service_name ? service_name : t->comm);
	bt_attrs_set_str(a, ATTR_HOST_NAME, host);
	bt_attrs_set_int(a, ATTR_PROCESS_PID, t->pid);
	bt_attrs_set_str(a, ATTR_PROCESS_EXECUTABLE_PATH, t->exe);
	bt_attrs_set_str(a, ATTR_PROCESS_COMMAND_LINE, t->cmdline);
	bt_attrs_set_str(a, ATTR_TELEMETRY_SDK_NAME, "bedtrace");
	bt_attrs_set_str(a, ATTR_TELEMETRY_SDK_LANGUAGE, "c");
	if (bt_attrs_set_str(a, ATTR_TELEMETRY_SDK_VERSION, BT_VERSION)) {
		bt_resource_put(r);
		return -ENOMEM;
	}
	bt_resource_put(t->resource);
	t->resource = r;
	return 0;
}

void resource_release(struct target *t)
{
	bt_resource_put(t->resource);
	t->resource = NULL;
}
