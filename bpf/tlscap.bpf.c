// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * TLS plaintext capture: uprobes on OpenSSL's SSL_write/SSL_read (and _ex forms, or the internal
 * function both forms call, which has the _ex signature: see user/ssl_inner.h) copy every byte
 * the call moved into the shared ring buffer, in BT_DATA_CHUNK pieces with stream positions so
 * userspace can tell a gap from the end of a message. The socket behind an SSL object is learned
 * from the read/write syscalls made inside the SSL call (raw syscall tracepoints: this kernel has
 * no kprobes). New executable mappings of target processes are reported so that a libssl loaded
 * late (Python imports ssl lazily) is probed too.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bedtrace.h"
#include "common.bpf.h"
#include "capture.bpf.h"

#define PROT_EXEC 0x4
#define SIGSTOP 19

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* x86-64 syscall numbers of the calls that carry a socket fd in their first argument */
#define NR_read 0
#define NR_write 1
#define NR_mmap 9
#define NR_readv 19
#define NR_writev 20
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47

struct conn_key {
	__u32 pid;
	__u32 pad;
	__u64 id;
};

struct conn_state {
	__u64 pos[2];
	__s32 fd;
	__u32 announced;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_key);
	__type(value, struct conn_state);
} conns SEC(".maps");

static __always_inline struct conn_state *conn_get(struct conn_key *k)
{
	struct conn_state *c = bpf_map_lookup_elem(&conns, k);
	struct conn_state init = {.fd = -1};

	if (c)
		return c;
	/* EEXIST from a racing thread is fine: the lookup below finds its entry */
	bpf_map_update_elem(&conns, k, &init, BPF_NOEXIST);
	c = bpf_map_lookup_elem(&conns, k);
	if (!c)
		count(BT_CNT_CONN_FULL, 1);
	return c;
}

/* Emits @len bytes at user @buf as data of connection @k, direction @dir. */
static __always_inline void emit_data(struct conn_key *k, __u64 buf, __u64 len, __u32 dir,
				      __u16 src, __u64 ts, __u64 pid_tgid)
{
	struct emit_ctx c = {};
	struct conn_state *cs;
	__u32 zero = 0;

	if (!len)
		return;
	cs = conn_get(k);
	if (!cs)
		return;
	c.pos = cs->pos[dir & 1];
	cs->pos[dir & 1] += len;
	c.ev = bpf_map_lookup_elem(&scratch, &zero);
	if (!c.ev)
		return;
	if (len > BT_DATA_MAX_CALL) {
		count(BT_CNT_DATA_TOO_LONG, len - BT_DATA_MAX_CALL);
		len = BT_DATA_MAX_CALL;
	}
	c.ev->type = BT_EV_DATA;
	c.ev->pid = pid_tgid >> 32;
	c.ev->tid = (__u32)pid_tgid;
	c.ev->ts_ns = ts;
	c.ev->conn_id = k->id;
	c.ev->call_len = len;
	c.ev->dir = dir;
	c.ev->src = src;
	c.ev->flags = 0;
	c.ev->pad = 0;
	fill_calls(c.ev, (__u32)pid_tgid);
	c.buf = buf;
	c.total = len;
	emit_chunks(&c);
}

static __always_inline int ssl_enter(void *ssl, void *buf, void *len_ptr, __u32 dir, __u32 ex)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ssl_call call = {
	    .ssl = (__u64)ssl,
	    .buf = (__u64)buf,
	    .len_ptr = (__u64)len_ptr,
	    .ts = bpf_ktime_get_ns(),
	    .dir = dir,
	    .ex = ex,
	};

	bpf_map_update_elem(&ssl_calls, &tid, &call, BPF_ANY);
	return 0;
}

static __always_inline int ssl_leave(int rc)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct ssl_call *call;
	struct conn_key k = {};
	__u64 n = 0, ts;

	call = bpf_map_lookup_elem(&ssl_calls, &tid);
	if (!call)
		return 0;
	if (call->ex) {
		size_t done = 0;

		/* the _ex forms return 1, the internal function behind them (ssl_inner.h) > 0 */
		if (rc > 0 && !bpf_probe_read_user(&done, sizeof(done), (void *)call->len_ptr))
			n = done;
	} else if (rc > 0) {
		n = (__u64)(__u32)rc;
	}
	k.pid = pid_tgid >> 32;
	k.id = call->ssl;
	/* a request is sent when SSL_write starts; a response is had when SSL_read returns */
	ts = call->dir == 0 ? call->ts : bpf_ktime_get_ns();
	emit_data(&k, call->buf, n, call->dir, BT_SRC_TLS, ts, pid_tgid);
	bpf_map_delete_elem(&ssl_calls, &tid);
	return 0;
}

SEC("uprobe")
int BPF_UPROBE(ssl_write_entry, void *ssl, void *buf, int num)
{
	return ssl_enter(ssl, buf, NULL, 0, 0);
}

SEC("uprobe")
int BPF_UPROBE(ssl_read_entry, void *ssl, void *buf, int num)
{
	return ssl_enter(ssl, buf, NULL, 1, 0);
}

SEC("uprobe")
int BPF_UPROBE(ssl_write_ex_entry, void *ssl, void *buf, size_t num, size_t *written)
{
	return ssl_enter(ssl, buf, written, 0, 1);
}

SEC("uprobe")
int BPF_UPROBE(ssl_read_ex_entry, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return ssl_enter(ssl, buf, readbytes, 1, 1);
}

SEC("uretprobe")
int BPF_URETPROBE(ssl_return, long rax)
{
	/* every probed function returns int: the upper half of rax is not part of the value */
	return ssl_leave((int)rax);
}

/* SSL_free / SSL_shutdown: the connection is over; report totals so lost tails show. */
SEC("uprobe")
int BPF_UPROBE(ssl_close, void *ssl)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct conn_key k = {.pid = pid_tgid >> 32, .id = (__u64)ssl};
	struct conn_state *cs = bpf_map_lookup_elem(&conns, &k);
	struct bt_conn_event *e;

	if (!cs)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->type = BT_EV_CLOSE;
		e->pid = k.pid;
		e->tid = (__u32)pid_tgid;
		e->ts_ns = bpf_ktime_get_ns();
		e->conn_id = k.id;
		e->send_pos = cs->pos[0];
		e->recv_pos = cs->pos[1];
		e->fd = cs->fd;
		e->src = BT_SRC_TLS;
		bpf_ringbuf_submit(e, 0);
	} else {
		count(BT_CNT_OTHER_RB_FULL, 1);
	}
	bpf_map_delete_elem(&conns, &k);
	return 0;
}

/* Inside an SSL call, the first socket syscall names the connection's fd and peer. */
static __always_inline void learn_fd(struct ssl_call *call, int fd, __u64 pid_tgid)
{
	struct conn_key k = {.pid = pid_tgid >> 32, .id = call->ssl};
	struct conn_state *cs = conn_get(&k);
	struct bt_conn_event *e;
	struct sock *sk;

	if (!cs || cs->announced)
		return;
	cs->announced = 1;
	cs->fd = fd;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(BT_CNT_OTHER_RB_FULL, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = BT_EV_CONN;
	e->pid = k.pid;
	e->tid = (__u32)pid_tgid;
	e->ts_ns = bpf_ktime_get_ns();
	e->conn_id = k.id;
	e->fd = fd;
	e->src = BT_SRC_TLS;
	sk = sock_of(fd);
	if (sk)
		fill_addrs(e, sk);
	bpf_ringbuf_submit(e, 0);
}

SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long id = (long)ctx->args[1];
	struct ssl_call *call;

	switch (id) {
	case NR_read:
	case NR_write:
	case NR_readv:
	case NR_writev:
	case NR_sendto:
	case NR_recvfrom:
	case NR_sendmsg:
	case NR_recvmsg:
		break;
	default:
		return 0;
	}
	call = bpf_map_lookup_elem(&ssl_calls, &tid);
	if (call)
		learn_fd(call, (int)PT_REGS_PARM1_CORE_SYSCALL(regs), pid_tgid);
	return 0;
}

/* True when @fd of the current task is a file whose name starts with "libssl". */
static __always_inline __u32 is_libssl(int fd)
{
	struct file *f = file_of(fd);
	const unsigned char *name;
	char buf[8] = {};

	if (!f)
		return 0;
	name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(buf, sizeof(buf), name) < 7)
		return 0;
	return buf[0] == 'l' && buf[1] == 'i' && buf[2] == 'b' && buf[3] == 's' && buf[4] == 's' &&
	       buf[5] == 'l';
}

SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	struct bt_mmap_event *e;
	long ret = (long)ctx->args[1];
	__u32 stop;

	if (BPF_CORE_READ(regs, orig_ax) != NR_mmap || ret < 0)
		return 0;
	if (!(PT_REGS_PARM3_CORE_SYSCALL(regs) & PROT_EXEC) || !bpf_map_lookup_elem(&targets, &pid))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(BT_CNT_OTHER_RB_FULL, 1);
		return 0;
	}
	e->type = BT_EV_MMAP;
	e->pid = pid;
	e->ts_ns = bpf_ktime_get_ns();
	stop = is_libssl((int)PT_REGS_PARM5_CORE_SYSCALL(regs));
	e->stopped = stop;
	e->pad = 0;
	/* a late libssl: hold the process until its SSL functions are probed (userspace SIGCONTs)
	 */
	bpf_ringbuf_submit(e, stop ? BPF_RB_FORCE_WAKEUP : 0);
	if (stop)
		bpf_send_signal(SIGSTOP);
	return 0;
}
