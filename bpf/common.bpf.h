/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Maps every bedtrace BPF object shares: the event ring buffer (one, so that events of one thread
 * reach userspace in the order they happened) and the drop counters. Userspace creates them with
 * the first object and hands the same fds to the others (user/probe/shared_maps.h).
 */
#ifndef BT_COMMON_BPF_H
#define BT_COMMON_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BT_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* libbpf 1.1's bpf_tracing.h predates the uprobe spellings of these macros */
#ifndef BPF_UPROBE
#define BPF_UPROBE(name, args...) BPF_KPROBE(name, ##args)
#endif
#ifndef BPF_URETPROBE
#define BPF_URETPROBE(name, args...) BPF_KRETPROBE(name, ##args)
#endif

/*
 * Inserts @init under @key in hash map @map unless an entry is there, and returns the entry: NULL
 * when the map is full (the caller counts that). An entry a racing CPU inserted first is as good.
 */
static __always_inline void *map_try_init(void *map, const void *key, const void *init)
{
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* The entry under @key in hash map @map, created from @init if there is none; NULL: map full. */
static __always_inline void *map_lookup_or_try_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	return v ? v : map_try_init(map, key, init);
}

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += n;
}

/*
 * BT_EV_EXIT / BT_EV_FORK / BT_EV_EXEC for a traced process (@status: wait status, or 1 for a
 * process stopped until userspace resumes it). @held wakes userspace at once. Returns false when
 * the ring was full (counted).
 */
static __always_inline bool proc_event(__u32 type, __u32 pid, __u32 ppid, __u32 status, bool held)
{
	struct bt_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(BT_CNT_OTHER_RB_FULL, 1);
		return false;
	}
	e->type = type;
	e->pid = pid;
	e->ts_ns = bpf_ktime_get_ns();
	e->ppid = ppid;
	e->status = status;
	bpf_ringbuf_submit(e, held ? BPF_RB_FORCE_WAKEUP : 0);
	return true;
}

#endif
