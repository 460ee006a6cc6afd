// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Plain TCP socket capture for target processes: the read/write, send/recv, readv/writev and
 * sendmsg/recvmsg families, both directions, through raw syscall tracepoints (no kprobes here).
 * Bytes moved inside an SSL call are ciphertext and skipped (tlscap has the plaintext).
 *
 * A request the process receives opens a SERVER frame on the receiving thread's call stack (the
 * one functrace keeps), so the traced calls its handler makes nest under the SERVER span; the
 * response written on that socket closes the frame.
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

#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_readv 19
#define NR_writev 20
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47

/* A socket syscall in progress on a thread. */
struct sock_call {
	__u64 buf; /* buffer, or struct iovec * / struct msghdr * */
	__u64 ts;
	__s32 fd;
	__u32 nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BT_MAX_THREADS);
	__type(key, __u32);
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
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fd_key);
	__type(value, struct sock_state);
} socks SEC(".maps");

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

static __always_inline void announce(struct sock_state *s, struct fd_key *k, struct sock *sk,
				     __u64 pid_tgid)
{
	struct bt_conn_event *e;

	s->announced = 1;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(BT_CNT_OTHER_RB_FULL, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = BT_EV_CONN;
	e->pid = k->pid;
	e->tid = (__u32)pid_tgid;
	e->ts_ns = bpf_ktime_get_ns();
	e->conn_id = conn_id(s, k->fd);
	e->fd = k->fd;
	e->src = BT_SRC_SOCKET;
	fill_addrs(e, sk);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline bool is_request_start(const __u8 *p)
{
	/* the request line of every method a server handler sees in practice */
	return (p[0] == 'G' && p[1] == 'E' && p[2] == 'T' && p[3] == ' ') ||
	       (p[0] == 'P' && p[1] == 'O' && p[2] == 'S' && p[3] == 'T') ||
	       (p[0] == 'P' && p[1] == 'U' && p[2] == 'T' && p[3] == ' ') ||
	       (p[0] == 'H' && p[1] == 'E' && p[2] == 'A' && p[3] == 'D') ||
	       (p[0] == 'D' && p[1] == 'E' && p[2] == 'L' && p[3] == 'E') ||
	       (p[0] == 'P' && p[1] == 'A' && p[2] == 'T' && p[3] == 'C') ||
	       (p[0] == 'O' && p[1] == 'P' && p[2] == 'T' && p[3] == 'I');
}

/* A request arrived on @s: open a SERVER frame the handler's calls will nest under. */
static __always_inline __u64 open_server_frame(struct sock_state *s, __u64 pid_tgid, __u64 ts)
{
	__u32 tid = (__u32)pid_tgid;
	struct bt_stack *st = stack_get(tid, true);
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
	f->probe_id = BT_PROBE_SERVER;
	st->depth = d + 1;
	s->server_call = f->call_id;
	s->server_tid = tid;
	return f->call_id;
}

/* The response went out: close the SERVER frame (and anything left above it). */
static __always_inline void close_server_frame(struct sock_state *s, __u64 pid_tgid, __u64 now)
{
	__u32 tid = s->server_tid;
	struct bt_stack *st = bpf_map_lookup_elem(&stacks, &tid);
	int i;

	s->server_call = 0;
	if (!st || tid != (__u32)pid_tgid)
		return;
	for (i = 0; i < BT_MAX_DEPTH; i++) {
		__u32 top = st->depth;
		struct bt_call_event *e;
		struct bt_frame *f;

		if (top == 0 || top > BT_MAX_DEPTH)
			break;
		f = &st->frames[(top - 1) & (BT_MAX_DEPTH - 1)];
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			e->type = BT_EV_CALL;
			e->pid = pid_tgid >> 32;
			e->tid = tid;
			e->entry_ns = f->entry_ns;
			e->exit_ns = now;
			e->retval = 0;
			e->call_id = f->call_id;
			e->parent_id =
			    top > 1 ? st->frames[(top - 2) & (BT_MAX_DEPTH - 1)].call_id : 0;
			e->root_id = st->frames[0].call_id;
			e->probe_id = f->probe_id;
			e->depth = top - 1;
			e->reason = f->probe_id == BT_PROBE_SERVER ? BT_END_RETURN : BT_END_UNWOUND;
			e->pad = 0;
			bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
		} else {
			count(BT_CNT_CALL_RB_FULL, 1);
		}
		st->depth = top - 1;
		if (f->probe_id == BT_PROBE_SERVER)
			break;
	}
}

static __always_inline void emit(struct sock_state *s, struct fd_key *k, __u64 buf, __u64 len,
				 __u32 dir, __u64 ts, __u64 pid_tgid, bool first_piece)
{
	struct emit_ctx c = {};
	__u32 zero = 0, tid = (__u32)pid_tgid;
	__u8 head[4] = {};

	if (!len)
		return;
	c.ev = bpf_map_lookup_elem(&scratch, &zero);
	if (!c.ev)
		return;
	c.pos = s->pos[dir & 1];
	s->pos[dir & 1] += len;
	if (len > BT_DATA_MAX_CALL) {
		count(BT_CNT_DATA_TOO_LONG, len - BT_DATA_MAX_CALL);
		len = BT_DATA_MAX_CALL;
	}
	c.ev->flags = 0;
	if (first_piece && len >= 4 && !bpf_probe_read_user(head, 4, (void *)buf)) {
		if (dir == 1 && !s->server_call && is_request_start(head)) {
			if (open_server_frame(s, pid_tgid, ts))
				c.ev->flags = BT_DATA_F_SERVER_START;
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
	c.ev->pad = 0;
	fill_calls(c.ev, tid);
	c.buf = buf;
	c.total = len;
	emit_chunks(&c);
	if (dir == 0 && first_piece && s->server_call && head[0] == 'H' && head[1] == 'T' &&
	    head[2] == 'T' && head[3] == 'P')
		close_server_frame(s, pid_tgid, bpf_ktime_get_ns());
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
	__u64 len;

	if (i >= c->n || !c->left)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)(c->iov + i * sizeof(v))))
		return 1;
	len = v.iov_len < c->left ? v.iov_len : c->left;
	emit(c->s, c->k, (__u64)v.iov_base, len, c->dir, c->ts, c->pid_tgid, i == 0);
	c->left -= len;
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int sock_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u32 tid = (__u32)pid_tgid, pid = pid_tgid >> 32;
	long nr = (long)ctx->args[1];
	struct sock_call call = {};

	switch (nr) {
	case NR_read:
	case NR_write:
	case NR_readv:
	case NR_writev:
	case NR_sendto:
	case NR_recvfrom:
	case NR_sendmsg:
	case NR_recvmsg:
	case NR_close:
		break;
	default:
		return 0;
	}
	if (!bpf_map_lookup_elem(&targets, &pid))
		return 0;
	call.fd = (int)PT_REGS_PARM1_CORE_SYSCALL(regs);
	if (nr == NR_close) {
		struct fd_key k = {.pid = pid, .fd = call.fd};
		struct sock_state *s = bpf_map_lookup_elem(&socks, &k);
		struct bt_conn_event *e;

		if (!s)
			return 0;
		if (s->announced) {
			e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
			if (e) {
				__builtin_memset(e, 0, sizeof(*e));
				e->type = BT_EV_CLOSE;
				e->pid = pid;
				e->tid = tid;
				e->ts_ns = bpf_ktime_get_ns();
				e->conn_id = conn_id(s, k.fd);
				e->send_pos = s->pos[0];
				e->recv_pos = s->pos[1];
				e->fd = k.fd;
				e->src = BT_SRC_SOCKET;
				bpf_ringbuf_submit(e, 0);
			} else {
				count(BT_CNT_OTHER_RB_FULL, 1);
			}
		}
		if (s->server_call)
			close_server_frame(s, pid_tgid, bpf_ktime_get_ns());
		s->pos[0] = s->pos[1] = 0;
		s->announced = 0;
		s->gen++;
		return 0;
	}
	/* inside SSL_read/SSL_write the bytes are ciphertext: tlscap has the plaintext */
	if (bpf_map_lookup_elem(&ssl_calls, &tid))
		return 0;
	call.nr = (__u32)nr;
	call.buf = PT_REGS_PARM2_CORE_SYSCALL(regs);
	call.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&sock_calls, &tid, &call, BPF_ANY);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int sock_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	long ret = (long)ctx->args[1];
	struct sock_call *call;
	struct sock_state *s;
	struct fd_key k;
	struct sock *sk;
	__u32 dir;
	__u64 ts;

	call = bpf_map_lookup_elem(&sock_calls, &tid);
	if (!call)
		return 0;
	k.pid = pid_tgid >> 32;
	k.fd = call->fd;
	if (ret <= 0)
		goto done;
	sk = tcp_sock_of(k.fd);
	if (!sk)
		goto done;
	s = bpf_map_lookup_elem(&socks, &k);
	if (!s) {
		struct sock_state init = {};

		bpf_map_update_elem(&socks, &k, &init, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&socks, &k);
		if (!s) {
			count(BT_CNT_CONN_FULL, 1);
			goto done;
		}
	}
	if (!s->announced)
		announce(s, &k, sk, pid_tgid);
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
				goto done;
			c.iov = (__u64)m.msg_iov;
			c.n = m.msg_iovlen > MAX_IOV ? MAX_IOV : (__u32)m.msg_iovlen;
		} else {
			struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
			__u64 cnt = PT_REGS_PARM3_CORE_SYSCALL(regs);

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
		emit(s, &k, call->buf, (__u64)ret, dir, ts, pid_tgid, true);
	}
done:
	bpf_map_delete_elem(&sock_calls, &tid);
	return 0;
}
