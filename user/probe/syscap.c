// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probe/syscap.h"
#include "syscap.skel.h"

struct sys_capture {
	struct syscap *skel;
	struct bpf_link *links[2];
};

/*
 * A part that is off keeps its hash maps (the programs name them) at one entry; the task-storage
 * maps have no size and cost nothing unused.
 */
static int shrink(struct bpf_map *m)
{
	return bpf_map__set_max_entries(m, 1);
}

static int setup(struct syscap *skel, const struct syscap_maps *maps, bool sockets,
		 uint64_t wakeup_at)
{
	bool tls = maps->ssl_calls >= 0 && maps->conns >= 0;
	int err;

	skel->rodata->wakeup_at = wakeup_at;
	skel->rodata->tls_on = tls;
	skel->rodata->sockets_on = sockets;
	skel->rodata->funcs_on = maps->funcs;
	if ((err = bpf_map__reuse_fd(skel->maps.events, maps->events)) ||
	    (err = bpf_map__reuse_fd(skel->maps.counters, maps->counters)) ||
	    (err = bpf_map__reuse_fd(skel->maps.stacks, maps->stacks)) ||
	    (err = bpf_map__reuse_fd(skel->maps.zero_stack, maps->zero_stack)) ||
	    (err = bpf_map__reuse_fd(skel->maps.procs, maps->procs)))
		return err;
	if (tls) {
		if ((err = bpf_map__reuse_fd(skel->maps.ssl_calls, maps->ssl_calls)) ||
		    (err = bpf_map__reuse_fd(skel->maps.conns, maps->conns)))
			return err;
	} else if ((err = shrink(skel->maps.conns))) {
		return err;
	}
	if (!sockets && (err = shrink(skel->maps.socks)))
		return err;
	return 0;
}

struct sys_capture *syscap_load(const struct syscap_maps *maps, bool sockets, uint64_t wakeup_at)
{
	struct sys_capture *sc = calloc(1, sizeof(*sc));
	int err;

	if (!sc)
		return NULL;
	sc->skel = syscap__open();
	if (!sc->skel) {
		err = -errno;
		goto fail;
	}
	if ((err = setup(sc->skel, maps, sockets, wakeup_at)) || (err = syscap__load(sc->skel)))
		goto fail;
	sc->links[0] = bpf_program__attach(sc->skel->progs.sys_enter);
	sc->links[1] = bpf_program__attach(sc->skel->progs.sys_exit);
	if (!sc->links[0] || !sc->links[1]) {
		err = -errno;
		goto fail;
	}
	return sc;
fail:
	syscap_destroy(sc);
	errno = -err;
	return NULL;
}

void syscap_detach(struct sys_capture *sc)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(sc->links[i]);
		sc->links[i] = NULL;
	}
}

void syscap_destroy(struct sys_capture *sc)
{
	if (!sc)
		return;
	syscap_detach(sc);
	syscap__destroy(sc->skel);
	free(sc);
}

int syscap_add_process(struct sys_capture *sc, pid_t pid)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(sc->skel->maps.targets), &key, &one, BPF_ANY))
		return -errno;
	return 0;
}
