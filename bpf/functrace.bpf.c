// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Function-call tracing: one uprobe + uretprobe pair per traced function, a per-thread stack of
 * open calls, and one ring-buffer event per call that ended (returned, unwound or cut by exit).
 *
 * Calls that never return through their uretprobe are detected by stack pointer: a frame whose
 * return-address slot lies at or below the stack pointer of a later entry/return on the same thread
 * is dead, except for a tail call: a function entered by a `jmp` from a traced function finds the
 * uretprobe trampoline already in the shared return slot, nests under the caller, and both end
 * when it returns (the kernel then fires both return probes, newest first).
 *
 * Go executables get no uretprobes (the runtime copies goroutine stacks and would find the
 * trampoline address in a return slot): entry probes plus probes on each return instruction,
 * with the open calls kept per goroutine and positions measured from the goroutine's stack top,
 * which a stack copy preserves. C++ exceptions need help: the unwinder cannot step over the
 * uretprobe trampoline address the kernel put in each hijacked return slot, so at
 * _Unwind_RaiseException the original return addresses are written back, and at __cxa_begin_catch
 * the slots of frames that survived are armed again, letting their uretprobes fire.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bedtrace.h"
#include "common.bpf.h"
#include "stack.bpf.h"

#define SIGSTOP 19

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 stop_pid = 0; /* launch mode: process to stop at its entry point */
/* Set while the probes are being removed: a return whose entry link is already gone is no loss. */
bool detaching = false;
/* Followed processes that exec are held before the new program's first instruction. */
const volatile bool hold_exec = false;
/* Followed children are held on their way out of fork (syscap stops them): set once syscap runs. */
bool hold_forks = false;

/* Open calls of each goroutine of a Go target, keyed by the address of its runtime.g. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BT_MAX_GOROUTINES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct bt_stack);
} go_stacks SEC(".maps");

/* Call ids of goroutine frames: unique across threads, never equal to a tid << 32 | seq id. */
__u64 go_seq = 0;

static __always_inline void emit_call(struct bt_stack *st, __u32 idx, __u64 exit_ns, __u16 reason,
				      __u64 retval, __u64 pid_tgid)
{
	stack_emit(st, idx, exit_ns, reason, retval, pid_tgid >> 32, (__u32)pid_tgid);
}

/* The address the kernel writes into return slots it hijacks for uretprobes. */
static __always_inline __u64 uretprobe_trampoline(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();

	return BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
}

struct pop_ctx {
	struct bt_stack *st;
	__u64 sp, end, pid_tgid;
	__u16 reason;
};

/* One frame of pop_dead: ends the top frame if its return slot is at or below @c->sp. */
static long pop_one(__u64 i, struct pop_ctx *c)
{
	__u32 top = c->st->depth;

	if (top == 0 || top > BT_MAX_DEPTH)
		return 1;
	if (c->st->frames[(top - 1) & (BT_MAX_DEPTH - 1)].sp > c->sp)
		return 1;
	emit_call(c->st, top - 1, c->end, c->reason, 0, c->pid_tgid);
	c->st->depth = top - 1;
	return 0;
}

/*
 * Closes every open frame whose return slot is at or below @sp (it can no longer return), newest
 * first, as abandoned for the pending unwind reason. The loop is a bpf_loop callback, verified
 * once rather than once per frame for each caller (an unrolled loop cost ~350k verified
 * instructions across func_entry, func_return and unwind_catch); the common case, no dead
 * frame, is decided inline without entering it.
 */
static __always_inline void pop_dead(struct bt_stack *st, __u64 sp, __u64 now, __u64 pid_tgid)
{
	struct pop_ctx c = {.st = st, .sp = sp, .pid_tgid = pid_tgid};
	__u32 top = st->depth;

	if (top && top <= BT_MAX_DEPTH && st->frames[(top - 1) & (BT_MAX_DEPTH - 1)].sp <= sp) {
		c.reason = st->pending ? st->pending : BT_END_UNWOUND;
		c.end = st->pending_ns ? st->pending_ns : now;
		bpf_loop(BT_MAX_DEPTH, pop_one, &c, 0);
	}
	st->pending = 0;
	st->pending_ns = 0;
}

SEC("uprobe")
int BPF_UPROBE(func_entry)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	__u64 sp = PT_REGS_SP(ctx);
	struct bt_stack *st;
	struct bt_frame *f;
	__u64 ret = 0;
	__u32 d;

	/* -e: the links are per file, shared with processes that are not selected */
	if (!probe_selected(pid_tgid >> 32))
		return 0;
	st = stack_get(pid_tgid >> 32, true);
	if (!st)
		return 0;
	d = st->depth;
	/*
	 * A frame whose return slot is this one: either this is a tail call, and the slot holds
	 * the uretprobe trampoline already, or that frame is dead. Only then is the slot read (the
	 * return probe is armed after this program runs); the return address every frame keeps for
	 * the watchdog comes from the kernel's return instances (dump_stacks), not from a read
	 * here.
	 */
	if (d && d <= BT_MAX_DEPTH && st->frames[(d - 1) & (BT_MAX_DEPTH - 1)].sp == sp &&
	    !bpf_probe_read_user(&ret, sizeof(ret), (void *)sp) && ret &&
	    ret == uretprobe_trampoline())
		/* tail call: the frame sharing this slot is the caller that jumped here */
		pop_dead(st, sp - 1, now, pid_tgid);
	else
		pop_dead(st, sp, now, pid_tgid);
	d = st->depth;
	if (d >= BT_MAX_DEPTH) {
		count(BT_CNT_DEPTH_OVERFLOW, 1);
		return 0;
	}
	f = &st->frames[d];
	f->call_id = ((__u64)(__u32)pid_tgid << 32) | ++st->seq;
	f->entry_ns = now;
	f->sp = sp;
	f->ret = 0;
	f->probe_id = (__u32)bpf_get_attach_cookie(ctx);
	st->depth = d + 1;
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(func_return, long rc)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	/* after `ret`, sp is one slot above where the return address was at entry */
	__u64 slot = PT_REGS_SP(ctx) - 8;
	struct bt_stack *st;
	__u32 top;

	st = stack_get(pid_tgid >> 32, false);
	if (!st) {
		if (!detaching)
			count(BT_CNT_RET_NO_STACK, 1);
		return 0;
	}
	/* frames opened deeper than the returning one were left without returning */
	pop_dead(st, slot - 1, now, pid_tgid);
	top = st->depth;
	if (top == 0 || top > BT_MAX_DEPTH) {
		if (!detaching)
			count(BT_CNT_RET_NO_STACK, 1);
		return 0;
	}
	if (st->frames[(top - 1) & (BT_MAX_DEPTH - 1)].sp != slot) {
		if (!detaching)
			count(BT_CNT_RET_MISMATCH, 1);
		return 0;
	}
	emit_call(st, top - 1, now, BT_END_RETURN, rc, pid_tgid);
	st->depth = top - 1;
	return 0;
}

/* Launch mode: stop the new process at its entry point until userspace has attached. */
SEC("uprobe")
int BPF_UPROBE(entry_stop)
{
	if (stop_pid && (bpf_get_current_pid_tgid() >> 32) == stop_pid)
		bpf_send_signal(SIGSTOP);
	return 0;
}

/* longjmp family: the frames it leaves die at the next traced entry/return; say why and when. */
SEC("uprobe")
int BPF_UPROBE(longjmp_entry)
{
	struct bt_stack *st = stack_get(0, false);

	if (st && st->depth) {
		st->pending = BT_END_LONGJMP;
		st->pending_ns = bpf_ktime_get_ns();
	}
	return 0;
}

/*
 * Hands @e (@n slots to rewrite) to userspace and stops the process until it has done so. The
 * stop is made pending first: submitted first, userspace could write and SIGCONT before the
 * SIGSTOP arrived, leaving the process stopped for good.
 */
static __always_inline void stop_for_fixup(struct bt_unwind_event *e, __u32 kind, __u32 n,
					   __u64 pid_tgid)
{
	e->type = BT_EV_UNWIND;
	e->kind = kind;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->n = n;
	bpf_send_signal(SIGSTOP);
	/* the process is stopped until userspace acts on this: wake it now */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

struct restore_ctx {
	struct bt_unwind_event *e;
	struct bt_stack *st;
	struct return_instance *ri;
	__u64 tramp, last;
	__u32 n;
};

/* One pending return instance: note its slot if it still holds the trampoline address. */
static long restore_one(__u64 i, void *data)
{
	struct restore_ctx *c = data;
	struct return_instance *ri = c->ri;
	__u64 slot, orig, val;
	__u32 n = c->n;

	if (!ri || n >= BT_MAX_RESTORE)
		return 1;
	slot = BPF_CORE_READ(ri, stack);
	orig = BPF_CORE_READ(ri, orig_ret_vaddr);
	c->ri = BPF_CORE_READ(ri, next);
	/* chained instances (tail calls) are adjacent and share one slot */
	if (slot == c->last || bpf_probe_read_user(&val, sizeof(val), (void *)slot) ||
	    val != c->tramp)
		return 0;
	c->last = slot;
	c->e->slots[n] = slot;
	c->e->values[n] = orig;
	c->e->expect[n] = c->tramp;
	c->st->restore_sp[n] = slot;
	c->st->restore_ret[n] = orig;
	c->n = n + 1;
	return 0;
}

/*
 * _Unwind_RaiseException & co: the unwinder needs the real return addresses back. Lockdown keeps
 * BPF from writing them, so the process is stopped here and userspace writes them (BT_EV_UNWIND).
 */
SEC("uprobe")
int BPF_UPROBE(unwind_raise)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct restore_ctx c = {};
	struct bt_stack *st;

	st = stack_get(pid_tgid >> 32, false);
	if (!st || !st->depth)
		return 0;
	c.e = bpf_ringbuf_reserve(&events, sizeof(*c.e), 0);
	if (!c.e) {
		count(BT_CNT_UNWIND_FAIL, 1);
		return 0;
	}
	c.st = st;
	c.tramp = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	c.ri = BPF_CORE_READ(task, utask, return_instances);
	bpf_loop(BT_MAX_RESTORE, restore_one, &c, 0);
	st->n_restore = c.n;
	st->tramp = c.tramp;
	st->pending = BT_END_EXCEPTION;
	st->pending_ns = 0;
	if (!c.n) {
		bpf_ringbuf_discard(c.e, 0);
		return 0;
	}
	stop_for_fixup(c.e, BT_UNWIND_RAISE, c.n, pid_tgid);
	count(BT_CNT_UNWIND_FIXUP, c.n);
	return 0;
}

struct rearm_ctx {
	struct bt_unwind_event *e;
	struct bt_stack *st;
	__u64 sp;
	__u32 n, k;
};

/* One restored slot: frames above the catching one survived and get their uretprobe back. */
static long rearm_one(__u64 i, void *data)
{
	struct rearm_ctx *c = data;
	__u32 k = c->k;
	__u64 slot;

	if (i >= c->n || i >= BT_MAX_RESTORE || k >= BT_MAX_RESTORE)
		return 1;
	slot = c->st->restore_sp[i];
	/* frames below the catching one are gone: their slots are free stack now */
	if (slot <= c->sp)
		return 0;
	c->e->slots[k] = slot;
	c->e->values[k] = c->st->tramp;
	c->e->expect[k] = c->st->restore_ret[i];
	c->k = k + 1;
	return 0;
}

/* __cxa_begin_catch: the exception stopped here; re-arm the frames that are still alive. */
SEC("uprobe")
int BPF_UPROBE(unwind_catch)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	struct rearm_ctx c = {};
	struct bt_stack *st;

	st = stack_get(pid_tgid >> 32, false);
	if (!st)
		return 0;
	/* while the probes go, frames are not re-armed: their slots are being restored for good */
	c.n = detaching ? 0 : st->n_restore;
	st->n_restore = 0;
	c.sp = PT_REGS_SP(ctx);
	if (st->pending == BT_END_EXCEPTION)
		st->pending_ns = now;
	pop_dead(st, c.sp, now, pid_tgid);
	if (!c.n)
		return 0;
	c.e = bpf_ringbuf_reserve(&events, sizeof(*c.e), 0);
	if (!c.e) {
		count(BT_CNT_UNWIND_FAIL, 1);
		return 0;
	}
	c.st = st;
	bpf_loop(BT_MAX_RESTORE, rearm_one, &c, 0);
	if (!c.k) {
		bpf_ringbuf_discard(c.e, 0);
		return 0;
	}
	stop_for_fixup(c.e, BT_UNWIND_CATCH, c.k, pid_tgid);
	return 0;
}

struct go_close_ctx {
	__u64 now;
	__u32 pid;
};

/* A Go target ended: the open calls of each of its goroutines end with it. */
static long close_go_stack(struct bpf_map *map, __u64 *g, struct bt_stack *st,
			   struct go_close_ctx *c)
{
	if (st->pid != c->pid)
		return 0;
	stack_close(st, c->now, BT_END_PROCESS_EXIT, st->pid, st->tid, false);
	bpf_map_delete_elem(map, g);
	return 0;
}

/* Process @pid ended or replaced its image: so did the calls open in its goroutines. */
static __always_inline void close_go_process(__u32 pid, __u64 now)
{
	struct go_close_ctx c = {.now = now, .pid = pid};

	bpf_for_each_map_elem(&go_stacks, close_go_stack, &c, 0);
}

/* tp_btf attaches by BTF id: no tracefs needed (it is not mounted at boot here) */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(thread_exit)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = (__u32)pid_tgid, pid = pid_tgid >> 32, status;
	bool group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;
	bool group_exit = BPF_CORE_READ(task, signal, flags) & 0x4; /* SIGNAL_GROUP_EXIT */
	struct bt_stack *st;
	__u32 *flags;

	st = stack_get(pid, false);
	if (st) {
		stack_close(st, now,
			    group_dead || group_exit ? BT_END_PROCESS_EXIT : BT_END_THREAD_EXIT,
			    pid, tid, false);
		stack_drop(task);
	}
	if (!group_dead)
		return 0;
	/* a pid is reused: what --exclude-pid / --exclude-exe said of this process ends with it */
	if (select_mode != BT_SELECT_PIDS)
		bpf_map_delete_elem(&excluded, &pid);
	flags = bpf_map_lookup_elem(&procs, &pid);
	if (!flags)
		return 0;
	if (*flags & BT_PROC_GO)
		close_go_process(pid, now);
	status = group_exit ? BPF_CORE_READ(task, signal, group_exit_code)
			    : BPF_CORE_READ(task, exit_code);
	proc_event(BT_EV_EXIT, pid, 0, status, false);
	bpf_map_delete_elem(&procs, &pid);
	return 0;
}

/*
 * -a: the path of the executable each process runs, for one that ends before userspace reads
 * /proc (struct bt_exe_path). Sized by userspace: one entry unless -a.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bt_exe_path);
} exe_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bt_exe_path);
} exe_path_scratch SEC(".maps");

struct path_walk {
	struct bt_exe_path *out;
	struct dentry *d;
	struct mount *mnt;
};

/* One step of note_exe_path: a mount crossed, or one name stored; 1 ends the walk. */
static long path_step(__u64 i, struct path_walk *w)
{
	/* locals: BPF_CORE_READ relocates every access within its source expression */
	struct bt_exe_path *out = w->out;
	struct dentry *d = w->d, *parent;
	struct mount *mnt = w->mnt;
	const unsigned char *name;
	__u32 len, off = out->len;

	if (d == BPF_CORE_READ(mnt, mnt.mnt_root)) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (!up || up == mnt)
			return 1; /* the root */
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d)
		return 1; /* the root of a file system mounted nowhere visible */
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (!len || off + len + 1 > BT_EXE_PATH_USED) {
		out->truncated = 1;
		return 1;
	}
	/* off and len are below BT_EXE_PATH_USED: within the buffer of twice that */
	if (bpf_probe_read_kernel(&out->path[off & (BT_EXE_PATH_USED - 1)],
				  len & (BT_EXE_PATH_USED - 1), name)) {
		out->truncated = 1;
		return 1;
	}
	out->path[(off + len) & (2 * BT_EXE_PATH_USED - 1)] = '/';
	out->len = off + len + 1;
	w->d = parent;
	return 0;
}

/*
 * -a: keeps the path of @exe, which process @pid now runs, in exe_paths: names from the file up
 * to the root, across mounts, as the kernel's d_path does without its locks (what a rename
 * racing the walk gives is a path that was true a moment ago, or one marked truncated).
 */
static __always_inline void note_exe_path(__u32 pid, struct file *exe)
{
	struct path_walk w = {};
	__u32 zero = 0;

	w.out = bpf_map_lookup_elem(&exe_path_scratch, &zero);
	if (!w.out)
		return;
	w.out->len = 0;
	w.out->truncated = 0;
	w.d = BPF_CORE_READ(exe, f_path.dentry);
	/* the struct mount around the file's vfsmount */
	w.mnt = (struct mount *)((void *)BPF_CORE_READ(exe, f_path.mnt) -
				 bpf_core_field_offset(struct mount, mnt));
	if (bpf_loop(BT_EXE_PATH_DEPTH, path_step, &w, 0) == BT_EXE_PATH_DEPTH)
		w.out->truncated = 1; /* deeper than the walk goes */
	bpf_map_update_elem(&exe_paths, &pid, w.out, BPF_ANY);
}

/*
 * -e / -a: what executing the file it now runs means for process @pid (@flags: its procs entry,
 * NULL when it was not traced). -e: a process that executes a selected file is traced from its
 * first instruction (the function probes are on the file already); one that executes another file
 * is no longer traced. -a: a file not examined yet may have OpenSSL linked in.
 * Returns the entry in procs after the exec, or NULL.
 */
static __always_inline __u32 *exec_select(struct task_struct *p, __u32 pid, __u32 *flags)
{
	struct file *exe = BPF_CORE_READ(p, mm, exe_file);
	struct bt_file_key k = {};
	struct bt_file_info *fi;
	__u32 f = BT_PROC_FOLLOW;
	__u8 why = BT_EXCLUDED_INHERITED, *ex;

	if (!exe)
		return flags;
	file_key(exe, &k);
	fi = bpf_map_lookup_elem(&files, &k);
	if (fi && (fi->flags & BT_FILE_EXCLUDED)) {
		bpf_map_update_elem(&excluded, &pid, &why, BPF_ANY);
		goto leave;
	}
	ex = bpf_map_lookup_elem(&excluded, &pid);
	/* left out by --exclude-pid: whatever it runs; by its parent or program: until now */
	if (ex && *ex == BT_EXCLUDED_PID)
		return flags;
	if (ex)
		bpf_map_delete_elem(&excluded, &pid);
	if (select_mode == BT_SELECT_ALL) {
		note_exe_path(pid, exe);
		if (!fi || !(fi->flags & BT_FILE_EXAMINED))
			select_event(pid, BT_SELECT_NEW_FILE, 0);
		return flags;
	}
	if (!fi || !(fi->flags & BT_FILE_SELECTED))
		goto leave;
	if (flags)
		return flags;
	if (bpf_map_update_elem(&procs, &pid, &f, BPF_NOEXIST)) {
		count(BT_CNT_PROC_FULL, 1);
		return NULL;
	}
	select_event(pid, fi->exe, 0);
	return NULL; /* new: no exec to report */
leave:
	if (flags && select_mode == BT_SELECT_EXE) {
		proc_event(BT_EV_EXIT, pid, 0, 0, false);
		bpf_map_delete_elem(&procs, &pid);
		return NULL;
	}
	return flags;
}

/*
 * When the thread of a traced process that executes a program passed the point of no return
 * (kernel 6.10+; set by proc_prepare_exec, taken by proc_exec).
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} exec_began SEC(".maps");

/*
 * The old program's last moment: before the kernel takes its memory away (exec_mmap), which
 * sched_process_exec fires after. A reader of the process's memory (the Python sampler) that
 * found the new program's there did so after this time, not before the exec's.
 */
SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(proc_prepare_exec, struct task_struct *task, struct linux_binprm *bprm)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 *t;

	if (!bpf_map_lookup_elem(&procs, &pid))
		return 0;
	t = bpf_task_storage_get(&exec_began, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (t)
		*t = bpf_ktime_get_ns();
	return 0;
}

/*
 * A new program replaces the process image: the calls open in the old one end here, at the
 * point of no return where the kernel tells it.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32, old = (__u32)old_pid, hold;
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 now = 0, *began = bpf_task_storage_get(&exec_began, task, 0, 0);
	struct bt_stack *st;
	__u32 *flags;

	if (began) {
		now = *began;
		bpf_task_storage_delete(&exec_began, task);
	}
	if (!now)
		now = bpf_ktime_get_ns();

	/* a thread other than the leader that execs takes the leader's id: its calls were old's */
	st = stack_get(pid, false);
	if (st) {
		stack_close(st, now, BT_END_EXEC, pid, old, false);
		stack_drop(task);
	}
	flags = bpf_map_lookup_elem(&procs, &pid);
	if (flags && (*flags & BT_PROC_GO)) {
		close_go_process(pid, now);
		*flags &= ~BT_PROC_GO;
	}
	if (select_mode != BT_SELECT_PIDS)
		flags = exec_select(p, pid, flags);
	if (!flags)
		return 0;
	hold = hold_exec && (*flags & BT_PROC_FOLLOW);
	if (hold) { /* pending before userspace can see the event and SIGCONT */
		*flags |= BT_PROC_HELD;
		bpf_send_signal(SIGSTOP);
	}
	proc_event_at(BT_EV_EXEC, pid, 0, hold, hold, now);
	return 0;
}

struct renumber_ctx {
	struct bt_stack *st;
	__u64 base;
};

/* A frame copied into a forked child gets an id of the child's thread. */
static long renumber_one(__u64 i, struct renumber_ctx *c)
{
	if (i >= BT_MAX_DEPTH || i >= c->st->depth)
		return 1;
	c->st->frames[i].call_id = c->base | (i + 1);
	return 0;
}

/*
 * A traced process forked: the child is traced too when its parent is followed. The child's
 * thread continues the calls open in the forking thread, whose return slots it inherited (with
 * the uretprobe trampoline in them): it gets a copy of that stack, with ids of its own.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ppid = BPF_CORE_READ(parent, tgid), cpid = BPF_CORE_READ(child, tgid);
	struct renumber_ctx c;
	struct bt_stack *st;
	__u32 *flags, f;
	bool hold;

	if (cpid == ppid) /* a new thread */
		return 0;
	if (select_mode != BT_SELECT_PIDS && bpf_map_lookup_elem(&excluded, &ppid)) {
		__u8 why = BT_EXCLUDED_INHERITED;

		bpf_map_update_elem(&excluded, &cpid, &why, BPF_ANY);
		return 0;
	}
	flags = bpf_map_lookup_elem(&procs, &ppid);
	if (!flags || !(*flags & BT_PROC_FOLLOW))
		return 0;
	hold = hold_forks;
	f = (*flags & ~(BT_PROC_HOLD | BT_PROC_HELD)) | (hold ? BT_PROC_HOLD : 0);
	if (bpf_map_update_elem(&procs, &cpid, &f, BPF_NOEXIST)) {
		count(BT_CNT_PROC_FULL, 1);
		return 0;
	}
	st = bpf_task_storage_get(&stacks, parent, 0, 0);
	if (st && st->depth) {
		/* the child's storage starts as a copy of the parent's */
		st = bpf_task_storage_get(&stacks, child, st, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!st)
			count(BT_CNT_STACK_FULL, 1);
		else if (!stack_made(child))
			st = NULL;
		if (st) {
			st->pid = cpid;
			st->n_restore = 0;
			c.st = st;
			c.base = (__u64)cpid << 32;
			bpf_loop(BT_MAX_DEPTH, renumber_one, &c, 0);
			st->seq = BT_MAX_DEPTH + 1;
		}
	}
	/* held children report themselves once stopped (syscap, on their way out of fork) */
	if (!hold)
		proc_event(BT_EV_FORK, cpid, ppid, 0, false);
	return 0;
}

/* Returns the open calls of goroutine @g, created if @create. */
static __always_inline struct bt_stack *go_stack_get(__u64 g, bool create)
{
	return stack_lookup(&go_stacks, &g, create);
}

/*
 * The goroutine running the probed Go function and the stack pointer's distance from the top of
 * its stack. Go (1.17+, register ABI) keeps runtime.g in r14; g.stack {lo, hi} is its first
 * field in every Go version. A value that does not bound the stack pointer is not a g.
 */
static __always_inline bool go_position(struct pt_regs *regs, __u64 *g, __u64 *pos)
{
	__u64 sp = PT_REGS_SP(regs), bounds[2];

	*g = regs->r14;
	if (!*g || bpf_probe_read_user(bounds, sizeof(bounds), (void *)*g) || sp < bounds[0] ||
	    sp > bounds[1]) {
		count(BT_CNT_GO_NO_G, 1);
		return false;
	}
	*pos = bounds[1] - sp;
	return true;
}

struct go_pop_ctx {
	struct bt_stack *st;
	__u64 pos, now, pid_tgid;
	bool inclusive;
};

static long go_pop_one(__u64 i, struct go_pop_ctx *c)
{
	__u32 top = c->st->depth;
	__u64 at;

	if (top == 0 || top > BT_MAX_DEPTH)
		return 1;
	at = c->st->frames[(top - 1) & (BT_MAX_DEPTH - 1)].sp;
	if (at < c->pos || (at == c->pos && !c->inclusive))
		return 1;
	emit_call(c->st, top - 1, c->now, BT_END_UNWOUND, 0, c->pid_tgid);
	c->st->depth = top - 1;
	return 0;
}

/* Closes the frames of goroutine stack @st at or deeper than @pos: they ended unseen. */
static __always_inline void go_pop_dead(struct bt_stack *st, __u64 pos, bool inclusive, __u64 now,
					__u64 pid_tgid)
{
	struct go_pop_ctx c = {
	    .st = st, .pos = pos, .now = now, .pid_tgid = pid_tgid, .inclusive = inclusive};

	bpf_loop(BT_MAX_DEPTH, go_pop_one, &c, 0);
}

SEC("uprobe")
int BPF_UPROBE(go_entry)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 id = (__u32)bpf_get_attach_cookie(ctx);
	__u64 now = bpf_ktime_get_ns(), g, pos;
	struct bt_stack *st;
	struct bt_frame *f;
	__u32 d;

	if (!probe_selected(pid_tgid >> 32) || !go_position(ctx, &g, &pos))
		return 0;
	st = go_stack_get(g, true);
	if (!st)
		return 0;
	d = st->depth;
	/* a prologue that grew the stack restarts the function: same call, same position */
	if (d && d <= BT_MAX_DEPTH && st->frames[(d - 1) & (BT_MAX_DEPTH - 1)].sp == pos &&
	    st->frames[(d - 1) & (BT_MAX_DEPTH - 1)].probe_id == id)
		return 0;
	go_pop_dead(st, pos, true, now, pid_tgid);
	d = st->depth;
	if (d >= BT_MAX_DEPTH) {
		count(BT_CNT_DEPTH_OVERFLOW, 1);
		return 0;
	}
	f = &st->frames[d];
	f->call_id = (1ULL << 63) | __sync_fetch_and_add(&go_seq, 1);
	f->entry_ns = now;
	f->sp = pos;
	f->ret = 0;
	f->probe_id = id;
	st->depth = d + 1;
	st->pid = pid_tgid >> 32;
	st->tid = (__u32)pid_tgid;
	return 0;
}

/* On a return instruction of a Go function: the return address is at the stack top. */
SEC("uprobe")
int BPF_UPROBE(go_return)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 id = (__u32)bpf_get_attach_cookie(ctx);
	__u64 now = bpf_ktime_get_ns(), g, pos;
	struct bt_stack *st;
	struct bt_frame *f;
	__u32 top;

	if (!go_position(ctx, &g, &pos))
		return 0;
	st = go_stack_get(g, false);
	if (!st) {
		count(BT_CNT_RET_NO_STACK, 1);
		return 0;
	}
	go_pop_dead(st, pos, false, now, pid_tgid);
	top = st->depth;
	if (top == 0 || top > BT_MAX_DEPTH) {
		count(BT_CNT_RET_NO_STACK, 1);
	} else {
		f = &st->frames[(top - 1) & (BT_MAX_DEPTH - 1)];
		if (f->sp != pos || f->probe_id != id) {
			count(BT_CNT_RET_MISMATCH, 1);
			return 0;
		}
		/* Go's register ABI returns the first result in rax */
		emit_call(st, top - 1, now, BT_END_RETURN, PT_REGS_RC(ctx), pid_tgid);
		st->depth = --top;
	}
	if (!top)
		bpf_map_delete_elem(&go_stacks, &g);
	return 0;
}

/*
 * Writes to every page of the ring buffer once, in records it reserves and discards; userspace
 * runs it (BPF_PROG_TEST_RUN) in slices once tracing has started, reading the ring between runs.
 * Where the host backs guest memory lazily, the first write to each ring page costs a fault in
 * the hypervisor (~14 us for a 16 KiB payload chunk), paid inside the traced process's SSL_read
 * until the ring has wrapped once. Elsewhere this is a few ms of memset.
 */
struct prefault_rec {
	__u8 b[BT_PREFAULT_REC];
};

static long prefault_one(__u64 i, void *data)
{
	struct prefault_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	__u32 off;

	if (!r)
		return 1;
	/* a stride of one page and both ends: every page the record covers gets a write */
	for (off = 0; off < BT_PREFAULT_REC; off += 4096)
		r->b[off] = 0;
	r->b[BT_PREFAULT_REC - 1] = 0;
	bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
	(*(__u32 *)data)++;
	return 0;
}

SEC("raw_tp")
int ring_prefault(void *ctx)
{
	__u32 done = 0;

	/* the ring is live: while its reader is behind, the room is for real events */
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 8)
		return 0;
	bpf_loop(BT_PREFAULT_PER_RUN, prefault_one, &done, 0);
	return done;
}

/* The record dump_stacks writes, built here: a 2 KiB stack does not fit on the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bt_stack_rec);
} dump_rec SEC(".maps");

struct ret_fill_ctx {
	struct bt_stack *st;
	struct return_instance *ri;
};

/*
 * One pending return instance of the thread: its saved return address is the one of the open
 * frame whose return slot it hijacked (chained instances of a tail call carry the real one too).
 */
static long ret_fill_one(__u64 i, struct ret_fill_ctx *c)
{
	struct return_instance *ri = c->ri;
	__u64 slot, orig;
	__u32 d = c->st->depth, k;

	if (!ri)
		return 1;
	slot = BPF_CORE_READ(ri, stack);
	orig = BPF_CORE_READ(ri, orig_ret_vaddr);
	c->ri = BPF_CORE_READ(ri, next);
	if (d > BT_MAX_DEPTH)
		d = BT_MAX_DEPTH;
	for (k = 0; k < BT_MAX_DEPTH; k++) {
		if (k >= d)
			break;
		if (c->st->frames[k].sp == slot && !c->st->frames[k].ret)
			c->st->frames[k].ret = orig;
	}
	return 0;
}

/*
 * Userspace's view of the per-thread stacks (task storage cannot be listed from userspace): a
 * struct bt_stack_rec for each thread with open traced calls, each frame's return address (ret)
 * taken from the kernel's pending return instances, so the entry probe need not read it. The
 * watchdog runs it after bedtrace is gone, with the targets stopped; tracer.c at shutdown.
 */
SEC("iter/task")
int dump_stacks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct ret_fill_ctx c = {};
	struct bt_stack_rec *r;
	struct bt_stack *st;
	__u32 zero = 0;

	if (!task)
		return 0;
	st = bpf_task_storage_get(&stacks, task, 0, 0);
	if (!st || !st->depth)
		return 0;
	r = bpf_map_lookup_elem(&dump_rec, &zero);
	if (!r)
		return 0;
	/* a copy: the thread may be running and its frames must not change under it */
	if (bpf_probe_read_kernel(&r->st, sizeof(r->st), st))
		return 0;
	r->pid = task->tgid;
	r->tid = task->pid;
	c.st = &r->st;
	c.ri = BPF_CORE_READ(task, utask, return_instances);
	bpf_loop(BT_MAX_RI, ret_fill_one, &c, 0);
	bpf_seq_write(ctx->meta->seq, r, sizeof(*r));
	return 0;
}
