// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/target.h"
#include "span/otel_attrs.h"
#include "span/resource.h"
#include "span/semconv.h"
#include "span/span.h"
#include "util/log.h"

#define MACHINE_ID_PATH "/etc/machine-id"

/* What every resource of the run shares, read on the first refresh. */
static struct {
	bool loaded;
	const char *machine_id_path; /* NULL: MACHINE_ID_PATH */
	char host_name[256];
	char host_id[128];     /* "" when there is no machine id */
	char *service_name;    /* bedtrace's OTEL_SERVICE_NAME, NULL when unset or empty */
	struct bt_attrs attrs; /* bedtrace's OTEL_RESOURCE_ATTRIBUTES */
	bool owner_valid;      /* the last uid looked up, cached: processes of one user come */
	uid_t owner_uid;       /* in numbers under -a and -e */
	char owner_name[64];
} host;

static const char *nonempty(const char *s)
{
	return s && s[0] ? s : NULL;
}

static const char *attr_str(const struct bt_attrs *a, const char *key)
{
	const struct bt_attr *v = bt_attrs_get(a, key);

	return v && v->type == BT_ATTR_STR ? nonempty(v->s) : NULL;
}

/* /etc/machine-id without its newline (and any blanks around it). */
static void read_machine_id(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t b = 0, e;

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(out, (int)size, f))
		out[0] = '\0';
	fclose(f);
	e = strlen(out);
	while (e > 0 && (out[e - 1] == '\n' || out[e - 1] == ' ' || out[e - 1] == '\t'))
		e--;
	out[e] = '\0';
	while (out[b] == ' ' || out[b] == '\t')
		b++;
	memmove(out, out + b, e - b + 1);
}

void resource_host_reset(const char *machine_id_path)
{
	free(host.service_name);
	bt_attrs_clear(&host.attrs);
	memset(&host, 0, sizeof(host));
	host.machine_id_path = machine_id_path;
}

static int host_load(void)
{
	const char *env;
	size_t bad = 0;
	int n;

	if (host.loaded)
		return 0;
	if (gethostname(host.host_name, sizeof(host.host_name) - 1))
		host.host_name[0] = '\0';
	read_machine_id(host.machine_id_path ? host.machine_id_path : MACHINE_ID_PATH, host.host_id,
			sizeof(host.host_id));
	env = nonempty(getenv(OTEL_ENV_SERVICE_NAME));
	if (env && !(host.service_name = strdup(env)))
		goto nomem;
	env = getenv(OTEL_ENV_RESOURCE_ATTRIBUTES);
	if (env) {
		n = otel_attrs_parse(env, strlen(env), &host.attrs, &bad);
		if (n == -ENOMEM)
			goto nomem;
		if (n < 0)
			pr_warn("ignoring %s: malformed entry at offset %zu (want key=value pairs "
				"separated by ',', with ',' '=' '%%' in them percent-encoded)\n",
				OTEL_ENV_RESOURCE_ATTRIBUTES, bad);
	}
	host.loaded = true;
	return 0;
nomem:
	/* read again from scratch next time */
	resource_host_reset(host.machine_id_path);
	return -ENOMEM;
}

/* The user name of @uid, else the uid in decimal (a user unknown here, e.g. a container's). */
static const char *owner_of(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (host.owner_valid && host.owner_uid == uid)
		return host.owner_name;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_name &&
	    strlen(res->pw_name) < sizeof(host.owner_name))
		strcpy(host.owner_name, res->pw_name);
	else
		snprintf(host.owner_name, sizeof(host.owner_name), "%u", (unsigned)uid);
	host.owner_uid = uid;
	host.owner_valid = true;
	return host.owner_name;
}

/* The file name of the executable, without the " (deleted)" of a replaced binary. */
static int set_exe_name(struct bt_attrs *a, const char *exe)
{
	const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	size_t len = strlen(base);

	if (len > 10 && strcmp(base + len - 10, " (deleted)") == 0)
		len -= 10;
	return bt_attrs_set_strn(a, ATTR_PROCESS_EXECUTABLE_NAME, base, len);
}

/*
 * Copies the string attributes of @src into @dst, replacing keys there, except that an empty
 * value does not replace a non-empty one (the resource merge rule of the SDK specification).
 */
static void merge_attrs(struct bt_attrs *dst, const struct bt_attrs *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct bt_attr *v = &src->v[i];

		if (v->type != BT_ATTR_STR || (!v->s[0] && attr_str(dst, v->key)))
			continue;
		bt_attrs_set_str(dst, v->key, v->s);
	}
}

static const char *pick_service_name(const struct target *t, const char *opt,
				     const struct bt_attrs *proc)
{
	const char *s;

	if ((s = nonempty(opt)) || (s = nonempty(t->env_service_name)) ||
	    (s = attr_str(proc, ATTR_SERVICE_NAME)) || (s = host.service_name) ||
	    (s = attr_str(&host.attrs, ATTR_SERVICE_NAME)))
		return s;
	return NULL; /* the caller falls back to the executable's name */
}

int resource_refresh(struct target *t, const char *service_name)
{
	struct bt_attrs proc = {0};
	struct bt_resource *r;
	struct bt_attrs *a;
	const char *svc, *exe_name = NULL;
	size_t bad = 0;
	int err;

	err = host_load();
	if (err)
		return err;
	if (t->env_resource_attrs) {
		err = otel_attrs_parse(t->env_resource_attrs, strlen(t->env_resource_attrs), &proc,
				       &bad);
		if (err == -ENOMEM)
			goto out;
		/* its own SDK reports the error; the value itself is not printed */
		if (err < 0)
			pr_debug("process %d: ignoring its %s: malformed entry at offset %zu\n",
				 (int)t->pid, OTEL_ENV_RESOURCE_ATTRIBUTES, bad);
	}
	err = -ENOMEM;
	r = bt_resource_new();
	if (!r)
		goto out;
	a = &r->attrs;
	merge_attrs(a, &host.attrs);
	merge_attrs(a, &proc);

	if (host.host_name[0])
		bt_attrs_set_str(a, ATTR_HOST_NAME, host.host_name);
	if (host.host_id[0])
		bt_attrs_set_str(a, ATTR_HOST_ID, host.host_id);
	bt_attrs_set_int(a, ATTR_PROCESS_PID, t->pid);
	if (t->ns_pid > 0)
		bt_attrs_set_int(a, ATTR_PROCESS_VPID, t->ns_pid);
	if (t->ppid > 0)
		bt_attrs_set_int(a, ATTR_PROCESS_PARENT_PID, t->ppid);
	if (t->exe) {
		bt_attrs_set_str(a, ATTR_PROCESS_EXECUTABLE_PATH, t->exe);
		set_exe_name(a, t->exe);
		exe_name = attr_str(a, ATTR_PROCESS_EXECUTABLE_NAME);
	}
	svc = pick_service_name(t, service_name, &proc);
	if (!svc)
		svc = exe_name ? exe_name : t->comm ? t->comm : "unknown_service";
	bt_attrs_set_str(a, ATTR_SERVICE_NAME, svc);
	if (t->cmdline)
		bt_attrs_set_str(a, ATTR_PROCESS_COMMAND_LINE, t->cmdline);
	if (t->has_uid)
		bt_attrs_set_str(a, ATTR_PROCESS_OWNER, owner_of(t->uid));
	if (t->cgroup.container_id[0])
		bt_attrs_set_str(a, ATTR_CONTAINER_ID, t->cgroup.container_id);
	if (t->cgroup.pod_uid[0])
		bt_attrs_set_str(a, ATTR_K8S_POD_UID, t->cgroup.pod_uid);
	bt_attrs_set_str(a, ATTR_TELEMETRY_SDK_NAME, "bedtrace");
	bt_attrs_set_str(a, ATTR_TELEMETRY_SDK_LANGUAGE, "c");
	if (bt_attrs_set_str(a, ATTR_TELEMETRY_SDK_VERSION, BT_VERSION)) {
		bt_resource_put(r);
		goto out;
	}
	bt_resource_put(t->resource);
	t->resource = r;
	err = 0;
out:
	bt_attrs_clear(&proc);
	return err;
}

void resource_release(struct target *t)
{
	bt_resource_put(t->resource);
	t->resource = NULL;
}
