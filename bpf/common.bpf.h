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

/* How processes are chosen (enum bt_select_mode); userspace sets it in every object. */
const volatile __u32 select_mode = BT_SELECT_PIDS;

/* Traced processes (tgid → enum bt_proc_flags): exit, fork and exec are reported for these. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BT_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} procs SEC(".maps");

/* Processes never traced (tgid): --exclude-pid, bedtrace itself, --exclude-exe's processes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BT_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u8);
} excluded SEC(".maps");

/* Files bedtrace knows: -e / --exclude-exe executables, files already examined (-e, -a). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BT_MAX_FILES);
	__type(key, struct bt_file_key);
	__type(value, struct bt_file_info);
} files SEC(".maps");

/* Whether process @pid is traced: -a every one not excluded, else those in procs. */
static __always_inline bool selected(__u32 pid)
{
	if (select_mode == BT_SELECT_ALL)
		return !bpf_map_lookup_elem(&excluded, &pid);
	return bpf_map_lookup_elem(&procs, &pid) != NULL;
}

/*
 * For programs on probes: links of -p / -- name their process, so every hit is a target's; links
 * of -e / -a are per file, shared with processes that are not selected.
 */
static __always_inline bool probe_selected(__u32 pid)
{
	return select_mode == BT_SELECT_PIDS || selected(pid);
}

/* The identity of file @f: its superblock's device and its inode number. */
static __always_inline void file_key(struct file *f, struct bt_file_key *k)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);

	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->ino = BPF_CORE_READ(inode, i_ino);
}

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
 * BT_EV_EXIT / BT_EV_FORK / BT_EV_EXEC for a traced process at @ts_ns (@status: wait status, or 1
 * for a process stopped until userspace resumes it). @held wakes userspace at once. Returns false
 * when the ring was full (counted).
 */
static __always_inline bool proc_event_at(__u32 type, __u32 pid, __u32 ppid, __u32 status,
					  bool held, __u64 ts_ns)
{
	struct bt_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(BT_CNT_OTHER_RB_FULL, 1);
		return false;
	}
	e->type = type;
	e->pid = pid;
	e->ts_ns = ts_ns;
	e->ppid = ppid;
	e->status = status;
	bpf_ringbuf_submit(e, held ? BPF_RB_FORCE_WAKEUP : 0);
	return true;
}

/* proc_event_at, now. */
static __always_inline bool proc_event(__u32 type, __u32 pid, __u32 ppid, __u32 status, bool held)
{
	return proc_event_at(type, pid, ppid, status, held, bpf_ktime_get_ns());
}

/*
 * BT_EV_SELECT: process @pid is to be traced (-e: it executed selected file @exe; -a: see
 * BT_SELECT_TRAFFIC / BT_SELECT_NEW_FILE); @held: stopped until userspace SIGCONTs it. Wakes
 * userspace at once, so that it reads /proc while the process is still there.
 */
static __always_inline bool select_event(__u32 pid, __u32 exe, __u32 held)
{
	struct bt_select_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(BT_CNT_OTHER_RB_FULL, 1);
		return false;
	}
	e->type = BT_EV_SELECT;
	e->pid = pid;
	e->ts_ns = bpf_ktime_get_ns();
	e->ppid = 0;
	e->status = held;
	e->exe = exe;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return true;
}

/*
 * ORs @flag into the procs entry of process @pid, made (with no flags) if it has none. Returns the
 * flags it had before, or -1 when the process table is full (counted).
 */
static __always_inline long proc_set_flag(__u32 pid, __u32 flag)
{
	__u32 none = 0, *flags = map_lookup_or_try_init(&procs, &pid, &none), before;

	if (!flags) {
		count(BT_CNT_PROC_FULL, 1);
		return -1;
	}
	before = *flags;
	/* no store when set: this runs on every SSL call of -a. Racing threads set the same flag */
	if (!(before & flag))
		*flags = before | flag;
	return before;
}

/*
 * -a: process @pid moved bytes: userspace hears of it once (its resource) and of its exit (its
 * connections are forgotten then).
 */
static __always_inline void note_traffic(__u32 pid)
{
	long before;

	if (select_mode != BT_SELECT_ALL)
		return;
	before = proc_set_flag(pid, BT_PROC_SEEN);
	if (before >= 0 && !(before & BT_PROC_SEEN))
		select_event(pid, BT_SELECT_TRAFFIC, 0);
}

/*
 * Marks process @pid held (BT_PROC_HELD) just before BPF stops it for userspace, so that the
 * watchdog resumes it should bedtrace die before it does. Returns false when the process table
 * is full: the caller must not stop it then.
 */
static __always_inline bool mark_held(__u32 pid)
{
	return proc_set_flag(pid, BT_PROC_HELD) >= 0;
}

#endif
