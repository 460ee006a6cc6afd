// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sockcap.h"
#include "sockcap.skel.h"

struct sock_capture {
	struct sockcap *skel;
	struct bpf_link *links[2];
};

struct sock_capture *sockcap_load(int events_fd, int counters_fd, int stacks_fd, int zero_fd,
				  int ssl_calls_fd, uint64_t wakeup_at)
{
	struct sock_capture *sc = calloc(1, sizeof(*sc));
	int err;

	if (!sc)
		return NULL;
	sc->skel = sockcap__open();
	if (!sc->skel) {
		err = -errno;
		goto fail;
	}
	sc->skel->rodata->wakeup_at = wakeup_at;
	if ((err = bpf_map__reuse_fd(sc->skel->maps.events, events_fd)) ||
	    (err = bpf_map__reuse_fd(sc->skel->maps.counters, counters_fd)) ||
	    (err = bpf_map__reuse_fd(sc->skel->maps.stacks, stacks_fd)) ||
	    (err = bpf_map__reuse_fd(sc->skel->maps.zero_stack, zero_fd)) ||
	    (ssl_calls_fd >= 0 &&
	     (err = bpf_map__reuse_fd(sc->skel->maps.ssl_calls, ssl_calls_fd))))
		goto fail;
	err = sockcap__load(sc->skel);
	if (err)
		goto fail;
	sc->links[0] = bpf_program__attach(sc->skel->progs.sock_enter);
	sc->links[1] = bpf_program__attach(sc->skel->progs.sock_exit);
	if (!sc->links[0] || !sc->links[1]) {
		err = -errno;
		goto fail;
	}
	return sc;
fail:
	sockcap_destroy(sc);
	errno = -err;
	return NULL;
}

void sockcap_detach(struct sock_capture *sc)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(sc->links[i]);
		sc->links[i] = NULL;
	}
}

void sockcap_destroy(struct sock_capture *sc)
{
	if (!sc)
		return;
	sockcap_detach(sc);
	sockcap__destroy(sc->skel);
	free(sc);
}

int sockcap_add_process(struct sock_capture *sc, pid_t pid)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(sc->skel->maps.targets), &key, &one, BPF_ANY))
		return -errno;
	return 0;
}
