/* SPDX-License-Identifier: MIT */
/*
 * The BPF maps the bedtrace objects share, by name: the object loaded first that declares one
 * creates it, every later object reuses it (bpf_map__reuse_fd). Every loader takes the same
 * struct bt_shared_maps, reuses what it holds and adds what it created.
 */
#ifndef BT_SHARED_MAPS_H
#define BT_SHARED_MAPS_H

#include <stdbool.h>

#include "bedtrace.h"

struct bpf_object;

/* Map fds, -1 while no object created the map; borrowed from the object that created it. */
struct bt_shared_maps {
	int events;	 /* the one event ring buffer (common.bpf.h) */
	int counters;	 /* drop counters (common.bpf.h) */
	int stacks;	 /* per-thread stacks of open calls (stack.bpf.h) */
	int zero_stack;	 /* the zeroed stack new entries start from (stack.bpf.h) */
	int stack_count; /* threads' stacks that exist (stack.bpf.h) */
	int procs;	 /* traced processes (functrace.bpf.c, syscap.bpf.c) */
	int ssl_calls;	 /* SSL call in progress per thread (capture.bpf.h) */
	int conns;	 /* TLS connection state (capture.bpf.h) */
	int excluded;	 /* processes never traced (common.bpf.h) */
	int files;	 /* selected, excluded and examined files (common.bpf.h) */
	int omit_wins;	 /* omission windows of captured streams (capture.bpf.h) */
	int auto_arms;	 /* connections armed for auto windows (capture.bpf.h) */
	/* not a map: how processes are chosen (enum bt_select_mode), every object's select_mode */
	unsigned select_mode;
};

/* No map created yet. */
#define BT_SHARED_MAPS_NONE                                                                        \
	((struct bt_shared_maps){.events = -1,                                                     \
				 .counters = -1,                                                   \
				 .stacks = -1,                                                     \
				 .zero_stack = -1,                                                 \
				 .stack_count = -1,                                                \
				 .procs = -1,                                                      \
				 .ssl_calls = -1,                                                  \
				 .conns = -1,                                                      \
				 .excluded = -1,                                                   \
				 .files = -1,                                                      \
				 .omit_wins = -1,                                                  \
				 .auto_arms = -1,                                                  \
				 .select_mode = BT_SELECT_PIDS})

/*
 * Before load: every map of @obj named like a shared map that exists in @m reuses it. Returns 0
 * or -errno.
 */
int shared_maps_reuse(const struct bt_shared_maps *m, struct bpf_object *obj);
/* After load: the shared maps @obj created (those @m had none of) go into @m. */
void shared_maps_publish(struct bt_shared_maps *m, const struct bpf_object *obj);
/* TLS capture is loaded: its per-thread SSL calls and connections exist. */
bool shared_maps_have_tls(const struct bt_shared_maps *m);

#endif
