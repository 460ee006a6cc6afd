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

static int setup(struct syscap *skel, const struct bt_shared_maps *maps, bool sockets, bool funcs,
		 uint64_t wakeup_at)
{
	bool tls = shared_maps_have_tls(maps);
	int err;

	skel->rodata->wakeup_at = wakeup_at;
	skel->rodata->select_mode = maps->select_mode;
	skel->rodata->tls_on = tls;
	skel->rodata->sockets_on = sockets;
	skel->rodata->funcs_on = funcs;
	err = shared_maps_reuse(maps, skel->obj);
	if (err)
		return err;
	if (!tls && (err = shrink(skel->maps.conns)))
		return err;
	if (!sockets && (err = shrink(skel->maps.socks)))
		return err;
	return 0;
}

struct sys_capture *syscap_load(struct bt_shared_maps *maps, bool sockets, bool funcs,
				uint64_t wakeup_at)
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
	err = setup(sc->skel, maps, sockets, funcs, wakeup_at);
	if (err)
		goto fail;
	err = syscap__load(sc->skel);
	if (err)
		goto fail;
	shared_maps_publish(maps, sc->skel->obj);
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

uint64_t syscap_ring_peak(const struct sys_capture *sc)
{
	return sc->skel->bss->ring_peak;
}
