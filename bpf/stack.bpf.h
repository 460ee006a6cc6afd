/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The per-thread stacks of open traced calls. functrace creates the maps; tlscap and syscap get
 * the same fds from userspace (bpf_map__reuse_fd), so a request sent on a thread knows which
 * traced call it belongs to, and a request received opens a frame the handler's calls nest under.
 *
 * A thread's stack is task-local storage: found from the current task without hashing a key
 * (every traced entry and return looks it up), made zeroed on a thread's first traced call, gone
 * with the thread. Userspace cannot list task storage; it reads the stacks through the
 * dump_stacks iterator (functrace.bpf.c), which also fills in each frame's return address.
 */
#ifndef BT_STACK_BPF_H
#define BT_STACK_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct bt_stack);
} stacks SEC(".maps");

/*
 * How many threads' stacks exist, at most BT_MAX_THREADS: task storage has no size limit of its
 * own, and a stack stays with its thread until the thread exits (a traced call re-made on every
 * outermost entry would cost an allocation each).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} stack_count SEC(".maps");

/* One zeroed stack to create goroutine entries from (a 2 KiB value does not fit on the BPF
 * stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bt_stack);
} zero_stack SEC(".maps");

/*
 * Returns the stack under @key in hash map @map (goroutines'), created if @create; a full map is
 * counted and yields NULL.
 */
static __always_inline struct bt_stack *stack_lookup(void *map, const void *key, bool create)
{
	struct bt_stack *st = bpf_map_lookup_elem(map, key);
	__u32 zero = 0;
	void *init;

	if (st || !create)
		return st;
	init = bpf_map_lookup_elem(&zero_stack, &zero);
	if (!init)
		return NULL;
	st = map_try_init(map, key, init);
	if (!st)
		count(BT_CNT_STACK_FULL, 1);
	return st;
}

/*
 * Counts a thread's stack just made (in @task's storage): true, or false (counted as a call not
 * traced) when BT_MAX_THREADS exist already, and the new one is deleted again.
 */
static __always_inline bool stack_made(struct task_struct *task)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&stack_count, &zero);

	if (n && __sync_fetch_and_add(n, 1) < BT_MAX_THREADS)
		return true;
	if (n)
		__sync_fetch_and_add(n, -1);
	bpf_task_storage_delete(&stacks, task);
	count(BT_CNT_STACK_FULL, 1);
	return false;
}

/* Deletes the stack in @task's storage, if it has one, and uncounts it. */
static __always_inline void stack_drop(struct task_struct *task)
{
	__u32 zero = 0;
	__u64 *n;

	if (bpf_task_storage_delete(&stacks, task))
		return;
	n = bpf_map_lookup_elem(&stack_count, &zero);
	if (n)
		__sync_fetch_and_add(n, -1);
}

/*
 * Returns the stack of the current thread (of process @pid), created if @create; NULL when it
 * has none, or (counted) when it could not be made.
 */
static __always_inline struct bt_stack *stack_get(__u32 pid, bool create)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct bt_stack *st;

	st = bpf_task_storage_get(&stacks, task, 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!st) {
		if (create)
			count(BT_CNT_STACK_FULL, 1);
		return NULL;
	}
	/* a new stack is zeroed (pid 0); one copied at fork was counted there */
	if (create && !st->pid) {
		if (!stack_made(task))
			return NULL;
		st->pid = pid;
	}
	return st;
}

/*
 * Reports frame @idx of @st (thread @tid of process @pid) as a call that ended at @exit_ns for
 * @reason: the one place a frame becomes a BT_EV_CALL event.
 */
static __always_inline void stack_emit(struct bt_stack *st, __u32 idx, __u64 exit_ns, __u16 reason,
				       __u64 retval, __u32 pid, __u32 tid)
{
	struct bt_frame *f = &st->frames[idx & (BT_MAX_DEPTH - 1)];
	struct bt_call_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(BT_CNT_CALL_RB_FULL, 1);
		return;
	}
	e->type = BT_EV_CALL;
	e->entry_ns = f->entry_ns;
	e->exit_ns = exit_ns;
	e->retval = retval;
	e->call_id = f->call_id;
	e->parent_id = idx ? st->frames[(idx - 1) & (BT_MAX_DEPTH - 1)].call_id : 0;
	e->root_id = st->frames[0].call_id;
	e->pid = pid;
	e->tid = tid;
	e->probe_id = f->probe_id;
	e->depth = idx;
	e->reason = reason;
	e->pad = 0;
	/* userspace polls every 100 ms: waking it per call would cost the target a wakeup each */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

struct stack_close_ctx {
	struct bt_stack *st;
	__u64 now;
	__u32 pid, tid;
	__u16 reason;
	bool to_server;
};

static long stack_close_one(__u64 i, struct stack_close_ctx *c)
{
	__u32 top = c->st->depth;
	bool server;

	if (top == 0 || top > BT_MAX_DEPTH)
		return 1;
	server = c->to_server &&
		 c->st->frames[(top - 1) & (BT_MAX_DEPTH - 1)].probe_id == BT_PROBE_SERVER;
	stack_emit(c->st, top - 1, c->now, server ? BT_END_RETURN : c->reason, 0, c->pid, c->tid);
	c->st->depth = top - 1;
	return server;
}

/*
 * Ends the open frames of @st (thread @tid of process @pid) at @now for @reason, newest first:
 * all of them, or with @to_server down to the innermost SERVER frame, which returns (its request
 * was answered). A bpf_loop callback is verified once, not once per frame: loading stays fast.
 */
static __always_inline void stack_close(struct bt_stack *st, __u64 now, __u16 reason, __u32 pid,
					__u32 tid, bool to_server)
{
	struct stack_close_ctx c = {
	    .st = st, .now = now, .pid = pid, .tid = tid, .reason = reason, .to_server = to_server};

	bpf_loop(BT_MAX_DEPTH, stack_close_one, &c, 0);
}

#endif
