/* SPDX-License-Identifier: MIT */
/*
 * Container and Kubernetes pod identity from a process's cgroup paths (/proc/PID/cgroup), as the
 * container runtimes name their cgroups: docker, containerd (cri-containerd), CRI-O, podman
 * (libpod), both the cgroupfs layout (/docker/ID, /kubepods/QOS/podUID/ID) and the systemd one
 * (docker-ID.scope, kubepods-QOS-podUID.slice with '_' for '-'). A pure parser over the file's
 * text: the caller reads the file.
 */
#ifndef BT_CGROUP_H
#define BT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>

#define CGROUP_CONTAINER_ID_LEN 64 /* hex digits */
#define CGROUP_POD_UID_LEN 36	   /* 8-4-4-4-12 */

struct cgroup_ids {
	char container_id[CGROUP_CONTAINER_ID_LEN + 1]; /* "" when the process is in none */
	char pod_uid[CGROUP_POD_UID_LEN + 1];		/* with dashes; "" outside a pod */
};

/*
 * Reads the @len bytes of /proc/PID/cgroup text at @buf ("ID:controllers:/path" lines, cgroup v1
 * or v2) into @ids. The innermost container of a path wins (a container started inside another).
 * Returns true when a container id or a pod uid was found.
 */
bool cgroup_parse_ids(const char *buf, size_t len, struct cgroup_ids *ids);

#endif
