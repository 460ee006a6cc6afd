// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * What bedtrace learns from the target processes' syscalls, through raw syscall tracepoints (this
 * kernel has no kprobes). A program on sys_enter or sys_exit runs on every syscall of the machine,
 * traced or not, so there is one program per tracepoint doing all of it, and both decide from the
 * syscall number alone, before any map lookup, whether the call concerns them:
 *
 *  - TLS (tls_on): inside an SSL call, the first socket syscall names the connection's fd and
 *    peer; an executable mmap by a target makes userspace look for a late-loaded libssl, and when
 *    the mapped file is a libssl the process is held (SIGSTOP) until its SSL functions are probed.
 *  - Function probes (funcs_on): an executable mmap by a target makes userspace look for the C++
 *    unwinder and longjmp in it (libgcc_s, libstdc++ & co. are held the same way until probed);
 *    a forked child of a followed process is held on its way out of fork until it is probed.
 *  - Plain TCP sockets (sockets_on): the read/write, send/recv, readv/writev and sendmsg/recvmsg
 *    families, both directions. Bytes moved inside an SSL call are ciphertext and skipped
 *    (tlscap has the plaintext). A request the process receives opens a SERVER frame on the
 *    receiving thread's call stack (the one functrace keeps), so the traced calls its handler
 *    makes nest under the SERVER span; the response written on that socket closes the frame.
 *
 * x86-64 only: syscall numbers and argument registers are x86-64's.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bedtrace.h"
#include "common.bpf.h"
#include "capture.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define MAX_IOV 16
#define PROT_EXEC 0x4
#define SIGSTOP 19
#define SIGCONT 18

#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_mmap 9
#define NR_clone 56
#define NR_fork 57
#define NR_vfork 58
#define NR_clone3 435
#define NR_readv 19
#define NR_writev 20
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47

/* The syscalls that move a socket's bytes: fd first, then the buffer, iovec or msghdr. */
static __always_inline bool is_io_syscall(long nr)
{
	switch (nr) {
	case NR_read:
	case NR_write:
	case NR_readv:
	case NR_writev:
	case NR_sendto:
	case NR_recvfrom:
	case NR_sendmsg:
	case NR_recvmsg:
		return true;
	default:
		return false;
	}
}

/* Set by userspace before load; the verifier drops the code of a part that is off. */
const volatile bool tls_on = true;
const volatile bool sockets_on = true;
const volatile bool funcs_on = false; /* function probes: newly mapped code may hold the unwinder */

/* A socket syscall in progress on a thread. */
struct sock_call {
	__u64 buf; /* buffer, or struct iovec * / struct msghdr * */
	__u64 ts;
	__s32 fd;
	__u16 nr;
	__u16 active; /* between sys_enter and sys_exit */
};

/* Per thread, like ssl_calls (capture.bpf.h), so no hash update per syscall. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_call);
} sock_calls SEC(".maps");

struct fd_key {
	__u32 pid;
	__s32 fd;
};

struct sock_state {
	__u64 pos[2];
	__u64 server_call; /* SERVER frame opened by the request being handled, 0 if none */
	__u32 server_tid;
	__u32 gen; /* bumps when the fd is closed, so a reused fd is a new connection */
	__u32 announced;
	__u32 ciphertext; /* the stream began with a TLS record: its plaintext is tlscap's */
	struct bt_omit_win win[2]; /* see conn_state.win */
	__u8 head_seen[2];	   /* see emit_ctx.head_seen */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fd_key);
	__type(value, struct sock_state);
} socks SEC(".maps");

/* A new socket's state, not on the stack: sys_exit's call chain has no room for it. */
static const struct sock_state sock_init;

/* Returns the TCP socket behind @fd of the current task, or NULL. */
static __always_inline struct sock *tcp_sock_of(int fd)
{
	struct sock *sk = sock_of(fd);
	__u16 family;

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP ||
	    BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	return family == AF_INET || family == AF_INET6 ? sk : NULL;
}

static __always_inline __u64 conn_id(const struct sock_state *s, int fd)
{
	return ((__u64)s->gen << 32) | (__u32)fd;
}

/*
 * The 4 bytes at @p begin a TLS record: content type 20-23 (change_cipher_spec, alert,
 * handshake, application_data) and major version 3 (SSL 3.0 to TLS 1.3). No HTTP/1 method or
 * HTTP/2 preface starts with a control byte.
 */
static __always_inline bool is_tls_record(const __u8 *p)
{
	return p[0] >= 20 && p[0] <= 23 && p[1] == 3 && p[2] <= 4;
}

/* A request arrived on @s: open a SERVER frame the handler's calls will nest under. */
static __always_inline __u64 open_server_frame(struct sock_state *s, __u64 pid_tgid, __u64 ts)
{
	__u32 tid = (__u32)pid_tgid;
	struct bt_stack *st = stack_get(pid_tgid >> 32, true);
	struct bt_frame *f;
	__u32 d;

	if (!st)
		return 0;
	d = st->depth;
	if (d >= BT_MAX_DEPTH) {
		count(BT_CNT_DEPTH_OVERFLOW, 1);
		return 0;
	}
	f = &st->frames[d];
	f->call_id = ((__u64)tid << 32) | ++st->seq;
	f->entry_ns = ts;
	f->sp = ~0ULL; /* never found dead by the stack-pointer rule; closed by the response */
	f->ret = 0;
	f->probe_id = BT_PROBE_SERVER;
	st->depth = d + 1;
	s->server_call = f->call_id;
	s->server_tid = tid;
	return f->call_id;
}

/* The response went out: close the SERVER frame (and anything left open above it). */
static __always_inline void close_server_frame(struct sock_state *s, __u64 pid_tgid, __u64 now)
{
	__u32 tid = s->server_tid;
	struct bt_stack *st;

	s->server_call = 0;
	/* only the thread that opened the frame can close it: its stack is its own */
	if (tid != (__u32)pid_tgid)
		return;
	st = stack_get(pid_tgid >> 32, false);
	if (st)
		stack_close(st, now, BT_END_UNWOUND, pid_tgid >> 32, tid, true);
}

/* The scalars of one emit() call, in memory: a global function takes at most five arguments. */
struct piece {
	__u64 buf, len, ts, pid_tgid;
	__u8 dir;
	__u8 first; /* the first buffer of the call */
	__u16 copy; /* auto_piece: the head's length, copied before the auto window */
	__u32 win;  /* auto_piece: the window opened after the head, 0 for none */
};

/* Emits piece @p; @p->copy and @p->win: the auto window auto_piece() opened, if any. */
static __always_inline void emit(struct sock_state *s, struct fd_key *k, const struct piece *p)
{
	__u64 buf = p->buf, len = p->len, ts = p->ts, pid_tgid = p->pid_tgid;
	bool first_piece = p->first;
	__u32 dir = p->dir;
	struct emit_ctx c = {};
	__u32 zero = 0, tid = (__u32)pid_tgid;
	__u8 head[4] = {};
	bool report;

	if (!len || s->ciphertext)
		return;
	if (first_piece && len >= 4)
		bpf_probe_read_user(head, 4, (void *)buf);
	/*
	 * TLS read or written outside SSL_read/SSL_write (Node.js reads its sockets itself and
	 * decrypts from a buffer): not HTTP, and tlscap has the plaintext. The positions stay 0, so
	 * the connection's close reports nothing lost.
	 */
	if (s->pos[dir & 1] == 0 && is_tls_record(head)) {
		s->ciphertext = 1;
		return;
	}
	c.ev = bpf_map_lookup_elem(&scratch, &zero);
	if (!c.ev)
		return;
	c.pos = s->pos[dir & 1];
	s->pos[dir & 1] += len;
	if (len > BT_DATA_MAX_CALL) {
		count(BT_CNT_DATA_TOO_LONG, len - BT_DATA_MAX_CALL);
		len = BT_DATA_MAX_CALL;
	}
	c.ev->flags = p->win ? BT_DATA_F_WINDOW : 0;
	if (first_piece && len >= 4) {
		if (dir == 1 && !s->server_call && is_request_start(head)) {
			if (open_server_frame(s, pid_tgid, ts))
				c.ev->flags |= BT_DATA_F_SERVER_START;
		}
	}
	c.ev->type = BT_EV_DATA;
	c.ev->pid = k->pid;
	c.ev->tid = tid;
	c.ev->ts_ns = ts;
	c.ev->conn_id = conn_id(s, k->fd);
	c.ev->call_len = len;
	c.ev->dir = dir;
	c.ev->src = BT_SRC_SOCKET;
	c.ev->omitted = p->win;
	/* an auto window starts after the head, so no earlier window covers the call (off 0) */
	c.off = (__u32)omit_lead(&s->win[dir & 1], k->pid, dir, c.ev->conn_id, c.pos, len, &report);
	if (c.off < len || report)
		emit_call(&c, buf, p->win ? p->copy : len, &s->head_seen[dir & 1], report);
	if (dir == 0 && first_piece && s->server_call && is_status_start(head))
		close_server_frame(s, pid_tgid, bpf_ktime_get_ns());
}

/*
 * emit() as a global function, which the verifier checks once on its own: inlined into the
 * per-iovec bpf_loop callback, its own loops were verified again for every state of that loop
 * (~38k instructions, most of syscap's load time). @s, @k and @p are never NULL.
 */
__noinline int emit_piece(struct sock_state *s, struct fd_key *k, const struct piece *p)
{
	if (!s || !k || !p)
		return 0;
	emit(s, k, p);
	return 0;
}

/*
 * Auto windows (capture.bpf.h: auto_io_window) for a read or write of one buffer, before
 * emit_piece(): global, so that the head's reading is not one more frame on emit_piece's
 * chain, which has no stack left. Sets @p->copy and @p->win. Reads and writes of several
 * buffers get no auto window; a head they carry only leaves the connection unarmed.
 */
__noinline int auto_piece(struct sock_state *s, struct fd_key *k, struct piece *p)
{
	struct bt_data_event *ev;
	struct auto_io io;
	__u32 zero = 0;

	if (!s || !k || !p)
		return 0;
	p->copy = 0;
	p->win = 0;
	if (!p->len || s->ciphertext || p->len > BT_DATA_MAX_CALL)
		return 0;
	ev = bpf_map_lookup_elem(&scratch, &zero);
	if (!ev)
		return 0;
	ev->flags = 0;
	io.pos = s->pos[p->dir & 1];
	io.conn_id = conn_id(s, k->fd);
	io.buf = p->buf;
	io.len = p->len;
	io.pid = k->pid;
	io.dir = p->dir;
	p->copy = (__u16)auto_io_window(ev, &s->win[p->dir & 1], &io);
	if (ev->flags & BT_DATA_F_WINDOW)
		p->win = ev->omitted;
	return 0;
}

struct iov_ctx {
	struct sock_state *s;
	struct fd_key *k;
	__u64 iov;
	__u64 left;
	__u64 ts;
	__u64 pid_tgid;
	__u32 dir;
	__u32 n;
};

static long emit_iov(__u64 i, void *data)
{
	struct iov_ctx *c = data;
	struct iovec v = {};
	struct piece p;
	__u64 len;

	if (i >= c->n || !c->left)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)(c->iov + i * sizeof(v))))
		return 1;
	len = v.iov_len < c->left ? v.iov_len : c->left;
	p.buf = (__u64)v.iov_base;
	p.len = len;
	p.dir = c->dir;
	p.ts = c->ts;
	p.pid_tgid = c->pid_tgid;
	p.first = i == 0;
	p.copy = 0;
	p.win = 0;
	emit_piece(c->s, c->k, &p);
	c->left -= len;
	return 0;
}

/* Inside an SSL call, the first socket syscall names the connection's fd and peer. */
static __always_inline void learn_fd(struct ssl_call *call, int fd, __u64 pid_tgid)
{
	struct conn_key k = {.pid = pid_tgid >> 32, .id = call->ssl};
	struct conn_state *cs = conn_get(&k);

	if (!cs || cs->announced)
		return;
	cs->announced = 1;
	cs->fd = fd;
	emit_conn(BT_EV_CONN, BT_SRC_TLS, k.id, fd, NULL, sock_of(fd), pid_tgid);
}

/* close(@fd) by a target: report the socket's totals and start a new connection on the fd. */
static __always_inline void sock_closed(int fd, __u64 pid_tgid)
{
	struct fd_key k = {.pid = pid_tgid >> 32, .fd = fd};
	struct sock_state *s = bpf_map_lookup_elem(&socks, &k);

	if (!s)
		return;
	if (s->announced)
		emit_conn(BT_EV_CLOSE, BT_SRC_SOCKET, conn_id(s, k.fd), k.fd, s->pos, NULL,
			  pid_tgid);
	if (s->server_call)
		close_server_frame(s, pid_tgid, bpf_ktime_get_ns());
	s->pos[0] = s->pos[1] = 0;
	__builtin_memset(s->win, 0, sizeof(s->win));
	s->announced = 0;
	s->ciphertext = 0;
	s->gen++;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long nr)
{
	struct task_struct *task;
	struct sock_call *call;
	struct ssl_call *ssl;
	__u64 pid_tgid;
	__u32 pid;
	int fd;

	if (nr == NR_close ? !sockets_on : !is_io_syscall(nr))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	task = bpf_get_current_task_btf();
	/* x86-64 syscall arguments: di, si, dx, r10, r8, r9 */
	fd = (int)regs->di;
	/*
	 * Inside SSL_read/SSL_write the bytes are ciphertext: tlscap has the plaintext. Looked at
	 * first: most syscalls of a TLS transfer are these, and a thread has an SSL call in
	 * progress only in a process tlscap found selected (one load for any other thread).
	 */
	ssl = tls_on && nr != NR_close && task->bpf_storage ? ssl_call_current() : NULL;
	if (ssl) {
		/* the first syscall of an SSL call is the one that can name the fd */
		if (!ssl->fd_seen) {
			ssl->fd_seen = 1;
			learn_fd(ssl, fd, pid_tgid);
		}
		return 0;
	}
	pid = pid_tgid >> 32;
	if (!selected(pid))
		return 0;
	if (nr == NR_close) {
		sock_closed(fd, pid_tgid);
		return 0;
	}
	/* only a TCP socket is worth a call record and a clock read (-a: every file write) */
	if (!sockets_on || !tcp_sock_of(fd))
		return 0;
	call = bpf_task_storage_get(&sock_calls, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!call) {
		count(BT_CNT_IO_UNTRACKED, 1);
		return 0;
	}
	call->fd = fd;
	call->nr = (__u16)nr;
	call->buf = regs->si;
	call->ts = bpf_ktime_get_ns();
	call->active = 1;
	return 0;
}

/*
 * True when @fd of the current task is a library the process must not run before it is probed:
 * libssl (TLS capture) or, with function probes, one that may hold the C++ unwinder or longjmp
 * (libgcc_s, libstdc++, libc++, libunwind): an exception must never meet a trampoline unseen.
 */
static __always_inline __u32 must_hold(int fd)
{
	struct file *f = file_of(fd);
	const unsigned char *name;
	char b[10] = {};

	if (!f)
		return 0;
	/* -e with function probes: a SPEC may name any library (only unexamined files get here) */
	if (select_mode == BT_SELECT_EXE && funcs_on)
		return 1;
	name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(b, sizeof(b), name) < 7 || b[0] != 'l' || b[1] != 'i' ||
	    b[2] != 'b')
		return 0;
	if (tls_on && b[3] == 's' && b[4] == 's' && b[5] == 'l')
		return 1;
	if (!funcs_on)
		return 0;
	return (b[3] == 'g' && b[4] == 'c' && b[5] == 'c' && b[6] == '_' && b[7] == 's') ||
	       (b[3] == 's' && b[4] == 't' && b[5] == 'd' && b[6] == 'c' && b[7] == '+') ||
	       (b[3] == 'c' && b[4] == '+' && b[5] == '+') ||
	       (b[3] == 'u' && b[4] == 'n' && b[5] == 'w' && b[6] == 'i' && b[7] == 'n');
}

/* Whether the file behind @fd is one userspace examined already (BT_FILE_EXAMINED). */
static __always_inline bool file_examined(int fd)
{
	struct bt_file_key k = {};
	struct bt_file_info *fi;
	struct file *f = file_of(fd);

	if (!f)
		return false;
	file_key(f, &k);
	fi = bpf_map_lookup_elem(&files, &k);
	return fi && (fi->flags & BT_FILE_EXAMINED);
}

/* A target mapped executable code: maybe a libssl it loaded late. */
static __always_inline void mmap_done(struct pt_regs *regs, __u64 pid_tgid)
{
	__u32 pid = pid_tgid >> 32;
	struct bt_mmap_event *e;
	__u32 stop;

	if (!(regs->dx & PROT_EXEC) || !selected(pid))
		return;
	/* -e / -a probe per file: a file examined once needs nothing more, whoever maps it */
	if (select_mode != BT_SELECT_PIDS && file_examined((int)regs->r8))
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(BT_CNT_OTHER_RB_FULL, 1);
		return;
	}
	e->type = BT_EV_MMAP;
	e->pid = pid;
	e->ts_ns = bpf_ktime_get_ns();
	stop = must_hold((int)regs->r8) && mark_held(pid);
	e->stopped = stop;
	e->pad = 0;
	/* a late libssl or unwinder: hold the process until probed (userspace SIGCONTs); the stop
	 * is pending before userspace can see the event */
	if (stop)
		bpf_send_signal(SIGSTOP);
	bpf_ringbuf_submit(e, stop ? BPF_RB_FORCE_WAKEUP : 0);
}

/* A socket syscall of a target returned @ret: capture what it moved. */
static __always_inline void sock_done(struct pt_regs *regs, struct sock_call *call, long ret,
				      __u64 pid_tgid)
{
	struct fd_key k = {.pid = pid_tgid >> 32, .fd = call->fd};
	struct sock_state *s;
	struct sock *sk;
	__u32 dir;
	__u64 ts;

	if (ret <= 0)
		return;
	sk = tcp_sock_of(k.fd);
	if (!sk)
		return;
	s = map_lookup_or_try_init(&socks, &k, &sock_init);
	if (!s) {
		count(BT_CNT_CONN_FULL, 1);
		return;
	}
	if (!s->announced) {
		s->announced = 1;
		emit_conn(BT_EV_CONN, BT_SRC_SOCKET, conn_id(s, k.fd), k.fd, NULL, sk, pid_tgid);
	}
	dir = call->nr == NR_write || call->nr == NR_writev || call->nr == NR_sendto ||
		      call->nr == NR_sendmsg
		  ? 0
		  : 1;
	/* sent: when the write started; received: when the read returned */
	ts = dir == 0 ? call->ts : bpf_ktime_get_ns();
	if (call->nr == NR_readv || call->nr == NR_writev || call->nr == NR_sendmsg ||
	    call->nr == NR_recvmsg) {
		struct iov_ctx c = {
		    .s = s,
		    .k = &k,
		    .left = (__u64)ret,
		    .ts = ts,
		    .pid_tgid = pid_tgid,
		    .dir = dir,
		};

		if (call->nr == NR_sendmsg || call->nr == NR_recvmsg) {
			struct user_msghdr m = {};

			if (bpf_probe_read_user(&m, sizeof(m), (void *)call->buf))
				return;
			c.iov = (__u64)m.msg_iov;
			c.n = m.msg_iovlen > MAX_IOV ? MAX_IOV : (__u32)m.msg_iovlen;
		} else {
			__u64 cnt = regs->dx;

			c.iov = call->buf;
			c.n = cnt > MAX_IOV ? MAX_IOV : (__u32)cnt;
		}
		bpf_loop(MAX_IOV, emit_iov, &c, 0);
		if (c.left) {
			/* more iovecs than followed: the stream position still moves on */
			s->pos[dir & 1] += c.left;
			count(BT_CNT_DATA_LOST_BYTES, c.left);
		}
	} else {
		struct piece p = {.buf = call->buf,
				  .len = (__u64)ret,
				  .ts = ts,
				  .pid_tgid = pid_tgid,
				  .dir = dir,
				  .first = true};

		auto_piece(s, &k, &p);
		emit_piece(s, &k, &p);
	}
}

/*
 * A forked child of a followed process returns from fork: stop it before its first instruction
 * of its own and tell userspace, which probes it and SIGCONTs it.
 */
static __always_inline void fork_child_hold(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 *flags = bpf_map_lookup_elem(&procs, &pid);

	if (!flags || !(*flags & BT_PROC_HOLD))
		return;
	*flags = (*flags & ~BT_PROC_HOLD) | BT_PROC_HELD;
	/* the stop is pending before userspace can see the event and SIGCONT */
	bpf_send_signal(SIGSTOP);
	/* a full ring: nobody would resume it, so it runs untraced rather than stays stopped */
	if (!proc_event(BT_EV_FORK, pid, BPF_CORE_READ(task, real_parent, tgid), 1, true))
		bpf_send_signal(SIGCONT);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	long nr = (long)regs->orig_ax;
	struct task_struct *task;
	struct sock_call *call;

	if (nr == NR_mmap) {
		if ((tls_on || funcs_on) && ret >= 0)
			mmap_done(regs, bpf_get_current_pid_tgid());
		return 0;
	}
	if (ret == 0 && (nr == NR_clone || nr == NR_fork || nr == NR_vfork || nr == NR_clone3)) {
		fork_child_hold();
		return 0;
	}
	if (!sockets_on || !is_io_syscall(nr))
		return 0;
	task = bpf_get_current_task_btf();
	/* a thread no BPF program keeps storage for has no call in progress: one load */
	if (!task->bpf_storage)
		return 0;
	call = bpf_task_storage_get(&sock_calls, task, 0, 0);
	if (!call || !call->active)
		return 0;
	call->active = 0;
	sock_done(regs, call, ret, bpf_get_current_pid_tgid());
	return 0;
}
