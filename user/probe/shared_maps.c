// SPDX-License-Identifier: MIT
#include <stddef.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "probe/shared_maps.h"

/* The map names the BPF sources give the shared maps, and where their fds live. */
static const struct {
	const char *name;
	size_t off;
} shared[] = {
    {"events", offsetof(struct bt_shared_maps, events)},
    {"counters", offsetof(struct bt_shared_maps, counters)},
    {"stacks", offsetof(struct bt_shared_maps, stacks)},
    {"zero_stack", offsetof(struct bt_shared_maps, zero_stack)},
    {"stack_count", offsetof(struct bt_shared_maps, stack_count)},
    {"procs", offsetof(struct bt_shared_maps, procs)},
    {"ssl_calls", offsetof(struct bt_shared_maps, ssl_calls)},
    {"conns", offsetof(struct bt_shared_maps, conns)},
    {"excluded", offsetof(struct bt_shared_maps, excluded)},
    {"files", offsetof(struct bt_shared_maps, files)},
    {"omit_wins", offsetof(struct bt_shared_maps, omit_wins)},
    {"auto_arms", offsetof(struct bt_shared_maps, auto_arms)},
};

/* The slot of @m for map @name, or NULL when the map is not shared. */
static int *slot(const struct bt_shared_maps *m, const char *name)
{
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		if (!strcmp(name, shared[i].name))
			return (int *)((char *)m + shared[i].off);
	return NULL;
}

int shared_maps_reuse(const struct bt_shared_maps *m, struct bpf_object *obj)
{
	struct bpf_map *map;
	int *fd, err;

	bpf_object__for_each_map(map, obj)
	{
		fd = slot(m, bpf_map__name(map));
		if (!fd || *fd < 0)
			continue;
		err = bpf_map__reuse_fd(map, *fd);
		if (err)
			return err;
	}
	return 0;
}

void shared_maps_publish(struct bt_shared_maps *m, const struct bpf_object *obj)
{
	struct bpf_map *map;
	int *fd;

	bpf_object__for_each_map(map, obj)
	{
		fd = slot(m, bpf_map__name(map));
		if (fd && *fd < 0)
			*fd = bpf_map__fd(map);
	}
}

bool shared_maps_have_tls(const struct bt_shared_maps *m)
{
	return m->ssl_calls >= 0 && m->conns >= 0;
}
