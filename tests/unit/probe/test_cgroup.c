// SPDX-License-Identifier: MIT
/*
 * Unit tests for probe/cgroup.c: container ids and pod uids in /proc/PID/cgroup text, as docker,
 * containerd, CRI-O, podman and the kubelet (cgroupfs and systemd drivers) name their cgroups,
 * and host processes (services, user sessions) that must yield nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probe/cgroup.h"

/* 64-hex container ids and pod uids as the runtimes print them */
#define ID_A "3f4e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
#define ID_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POD "0c9b8a1e-4f3d-4a8e-9a1b-2f6c7d8e9a10"
#define POD_ "0c9b8a1e_4f3d_4a8e_9a1b_2f6c7d8e9a10"

struct cgroup_case {
	const char *name;
	const char *text;
	const char *container_id; /* "" for none */
	const char *pod_uid;
};

static const struct cgroup_case cases[] = {
    /* docker, systemd cgroup driver, cgroup v2 */
    {"docker_v2_systemd", "0::/system.slice/docker-" ID_A ".scope\n", ID_A, ""},
    /* docker, cgroupfs driver, cgroup v1 (hybrid: the v2 line is the host's) */
    {"docker_v1_cgroupfs",
     "12:hugetlb:/docker/" ID_A "\n11:memory:/docker/" ID_A "\n10:cpu,cpuacct:/docker/" ID_A
     "\n1:name=systemd:/docker/" ID_A "\n0::/system.slice/containerd.service\n",
     ID_A, ""},
    /* Kubernetes, systemd driver, containerd: burstable, besteffort and guaranteed QoS */
    {"k8s_containerd_systemd",
     "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_
     ".slice/cri-containerd-" ID_A ".scope\n",
     ID_A, POD},
    {"k8s_crio_systemd",
     "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_ ".slice/crio-" ID_B
     ".scope\n",
     ID_B, POD},
    {"k8s_guaranteed_systemd",
     "0::/kubepods.slice/kubepods-pod" POD_ ".slice/cri-containerd-" ID_A ".scope\n", ID_A, POD},
    /* CRI-O's conmon monitor sits in the pod but is no container */
    {"k8s_crio_conmon",
     "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_
     ".slice/crio-conmon-" ID_B ".scope\n",
     "", POD},
    /* a process in the pod's cgroup itself */
    {"k8s_pod_only",
     "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_ ".slice\n", "", POD},
    /* Kubernetes, cgroupfs driver, cgroup v1 */
    {"k8s_v1_cgroupfs",
     "11:memory:/kubepods/burstable/pod" POD "/" ID_A "\n5:pids:/kubepods/burstable/pod" POD
     "/" ID_A "\n1:name=systemd:/kubepods/burstable/pod" POD "/" ID_A "\n",
     ID_A, POD},
    {"k8s_v1_guaranteed", "4:cpuset:/kubepods/pod" POD "/" ID_B "\n", ID_B, POD},
    /* kind: the kubelet inside a docker container, its own hierarchy under it */
    {"k8s_kind",
     "0::/system.slice/docker-" ID_B ".scope/kubelet.slice/kubelet-kubepods.slice/"
     "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD_
     ".slice/cri-containerd-" ID_A ".scope\n",
     ID_A, POD},
    /* podman rootful (a sub-cgroup under the scope) and rootless */
    {"podman_rootful", "0::/machine.slice/libpod-" ID_A ".scope/container\n", ID_A, ""},
    {"podman_rootless",
     "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_B ".scope\n", ID_B,
     ""},
    {"podman_conmon", "0::/machine.slice/libpod-conmon-" ID_A ".scope\n", "", ""},
    /* docker inside docker: the innermost container */
    {"docker_in_docker", "0::/system.slice/docker-" ID_A ".scope/docker/" ID_B "\n", ID_B, ""},
    /* ECS on EC2 (cgroupfs): /ecs/TASK/CONTAINER */
    {"ecs_v1", "9:memory:/ecs/5a0d5ceddf6c44c1928d367a815d890f/" ID_A "\n", ID_A, ""},
    /* host processes: nothing */
    {"user_session", "0::/user.slice/user-1000.slice/session-3.scope\n", "", ""},
    {"user_manager_app",
     "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
     "app-gnome-firefox-4242.scope\n",
     "", ""},
    {"system_service", "0::/system.slice/ssh.service\n", "", ""},
    {"init", "0::/init.scope\n", "", ""},
    {"root_cgroup", "0::/\n", "", ""},
    {"v1_host_session",
     "12:cpuset:/\n11:memory:/user.slice/user-1000.slice/session-1.scope\n"
     "1:name=systemd:/user.slice/user-1000.slice/session-1.scope\n0::/user.slice\n",
     "", ""},
    /* near misses */
    {"pod_outside_kubepods", "0::/system.slice/pod" POD "/x\n", "", ""},
    {"short_id", "0::/system.slice/docker-" ID_A "0.scope\n", "", ""},
    {"not_hex", "0::/docker/3f4e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2g\n", "",
     ""},
    {"bad_pod_separator",
     "0::/kubepods.slice/kubepods-pod0c9b8a1e-4f3d_4a8e_9a1b_2f6c7d8e9a10.slice\n", "", ""},
    {"empty", "", "", ""},
    {"no_newline_no_colons", "docker-" ID_A ".scope", "", ""},
};

static void test_cgroup_realistic_paths(void **state)
{
	struct cgroup_ids ids;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cgroup_case *c = &cases[i];
		bool found = cgroup_parse_ids(c->text, strlen(c->text), &ids);

		print_message("%s\n", c->name);
		assert_string_equal(ids.container_id, c->container_id);
		assert_string_equal(ids.pod_uid, c->pod_uid);
		assert_int_equal(found, c->container_id[0] || c->pod_uid[0]);
	}
}

/* Only @len bytes are read: an id cut by the buffer's end is no id. */
static void test_cgroup_reads_only_len(void **state)
{
	static const char text[] = "0::/docker/" ID_A "\n";
	struct cgroup_ids ids;

	(void)state;
	assert_false(cgroup_parse_ids(text, strlen(text) - 2, &ids));
	assert_string_equal(ids.container_id, "");
	assert_true(cgroup_parse_ids(text, strlen(text) - 1, &ids));
	assert_string_equal(ids.container_id, ID_A);
}

/* The first line that names a container wins; a later, different one does not replace it. */
static void test_cgroup_first_line_wins(void **state)
{
	static const char text[] = "2:memory:/docker/" ID_A "\n0::/docker/" ID_B "\n";
	struct cgroup_ids ids;

	(void)state;
	assert_true(cgroup_parse_ids(text, strlen(text), &ids));
	assert_string_equal(ids.container_id, ID_A);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroup_realistic_paths),
	    cmocka_unit_test(test_cgroup_reads_only_len),
	    cmocka_unit_test(test_cgroup_first_line_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
