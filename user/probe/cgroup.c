// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>

#include "probe/cgroup.h"

/* The systemd scope names of the runtimes: PREFIX-<64 hex>.scope. */
static const char *const scope_prefixes[] = {"docker-", "crio-", "cri-containerd-", "libpod-"};

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* A container id in one path component @c of @n bytes: copied to @out. */
static bool component_container_id(const char *c, size_t n, char *out)
{
	const char *id = NULL;
	size_t i;

	if (n == CGROUP_CONTAINER_ID_LEN) {
		id = c; /* cgroupfs: /docker/ID, /kubepods/QOS/podUID/ID, /ecs/TASK/ID */
	} else if (has_suffix(c, n, ".scope")) {
		for (i = 0; i < sizeof(scope_prefixes) / sizeof(scope_prefixes[0]); i++) {
			size_t k = strlen(scope_prefixes[i]);

			if (n == k + CGROUP_CONTAINER_ID_LEN + 6 &&
			    memcmp(c, scope_prefixes[i], k) == 0) {
				id = c + k;
				break;
			}
		}
	}
	if (!id || !all_hex(id, CGROUP_CONTAINER_ID_LEN))
		return false;
	memcpy(out, id, CGROUP_CONTAINER_ID_LEN);
	out[CGROUP_CONTAINER_ID_LEN] = '\0';
	return true;
}

/* A pod UID at @u with @sep ('-' or systemd's '_') between the 8-4-4-4-12 groups. */
static bool take_uuid(const char *u, char sep, char *out)
{
	char uid[CGROUP_POD_UID_LEN + 1];

	for (size_t i = 0; i < CGROUP_POD_UID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != sep : !all_hex(u + i, 1))
			return false;
		uid[i] = dash ? '-' : u[i];
	}
	uid[CGROUP_POD_UID_LEN] = '\0';
	memcpy(out, uid, sizeof(uid));
	return true;
}

/* A pod UID in a component of a kubepods path: podUID (cgroupfs), *kubepods*-podUID.slice. */
static bool component_pod_uid(const char *c, size_t n, char *out)
{
	const size_t slice = CGROUP_POD_UID_LEN + 6; /* UID + ".slice" */

	if (n == 3 + CGROUP_POD_UID_LEN && memcmp(c, "pod", 3) == 0)
		return take_uuid(c + 3, '-', out);
	/* kubepods-burstable-podUID.slice, kubelet-kubepods-podUID.slice (kind) */
	if (n > slice + 4 && has_suffix(c, n, ".slice") &&
	    memcmp(c + n - slice - 4, "-pod", 4) == 0 && memmem(c, n - slice, "kubepods", 8))
		return take_uuid(c + n - slice, '_', out);
	return false;
}

/* Looks at one cgroup path, innermost component first; fills what @ids still lacks. */
static void parse_path(const char *p, size_t n, struct cgroup_ids *ids)
{
	bool kube = memmem(p, n, "kubepods", 8) != NULL;
	const char *end = p + n;

	while (end > p) {
		const char *c = end;

		while (c > p && c[-1] != '/')
			c--;
		if (!ids->container_id[0])
			component_container_id(c, (size_t)(end - c), ids->container_id);
		if (kube && !ids->pod_uid[0])
			component_pod_uid(c, (size_t)(end - c), ids->pod_uid);
		end = c > p ? c - 1 : p;
	}
}

bool cgroup_parse_ids(const char *buf, size_t len, struct cgroup_ids *ids)
{
	const char *p = buf, *end = buf + len;

	memset(ids, 0, sizeof(*ids));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *path;

		if (!eol)
			eol = end;
		/* "ID:controllers:path"; the path may itself hold ':' */
		path = memchr(p, ':', (size_t)(eol - p));
		if (path)
			path = memchr(path + 1, ':', (size_t)(eol - path - 1));
		if (path)
			parse_path(path + 1, (size_t)(eol - path - 1), ids);
		p = eol + (eol < end);
	}
	return ids->container_id[0] || ids->pod_uid[0];
}
