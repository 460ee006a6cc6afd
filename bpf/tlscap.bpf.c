// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * TLS plaintext capture: uprobes on OpenSSL's SSL_write/SSL_read (and _ex forms, or the internal
 * function both forms call, which has the _ex signature: see user/ssl_inner.h) copy every byte
 * the call moved into the shared ring buffer, in BT_DATA_CHUNK pieces with stream positions so
 * userspace can tell a gap from the end of a message. The socket behind an SSL object, and a
 * libssl loaded late, are learned from syscalls (syscap.bpf.c).
 */
#include "vmlinux.h"

/*
 * The probes read their arguments from the registers without CO-RE: x86-64's struct pt_regs is
 * fixed by the kernel's entry code and ptrace ABI (bedtrace is x86-64 only). With no CO-RE
 * relocation and no BTF-typed program, libbpf loads this object without parsing the kernel's
 * BTF, which otherwise is about a tenth of the BPF load time.
 */
struct bt_uregs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip,
	    cs, flags, sp, ss;
};
#define __PT_REGS_CAST(x) ((const struct bt_uregs *)(x))

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bedtrace.h"
#include "common.bpf.h"
#include "capture.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/*
 * Emits @len bytes at user @buf as data of connection @k, direction @dir, at time @ts (0: now,
 * read only when something is sent: a read inside an omission window sends nothing).
 */
static __always_inline void emit_data(struct conn_key *k, __u64 buf, __u64 len, __u32 dir,
				      __u16 src, __u64 ts, __u64 pid_tgid)
{
	struct emit_ctx c = {};
	struct conn_state *cs;
	__u32 zero = 0;
	bool report;

	if (!len)
		return;
	cs = conn_get(k);
	if (!cs)
		return;
	c.pos = cs->pos[dir & 1];
	cs->pos[dir & 1] += len;
	note_traffic(k->pid);
	if (len > BT_DATA_MAX_CALL) {
		count(BT_CNT_DATA_TOO_LONG, len - BT_DATA_MAX_CALL);
		len = BT_DATA_MAX_CALL;
	}
	c.off = (__u32)omit_lead(&cs->win[dir & 1], k->pid, dir, k->id, c.pos, len, &report);
	if (c.off == len && !report)
		return;
	if (!ts)
		ts = bpf_ktime_get_ns();
	c.ev = bpf_map_lookup_elem(&scratch, &zero);
	if (!c.ev)
		return;
	c.ev->type = BT_EV_DATA;
	c.ev->pid = pid_tgid >> 32;
	c.ev->tid = (__u32)pid_tgid;
	c.ev->ts_ns = ts;
	c.ev->conn_id = k->id;
	c.ev->call_len = len;
	c.ev->dir = dir;
	c.ev->src = src;
	c.ev->flags = 0;
	c.ev->omitted = 0;
	if (!c.off) {
		struct auto_io io = {.pos = c.pos,
				     .conn_id = k->id,
				     .buf = buf,
				     .len = len,
				     .pid = k->pid,
				     .dir = dir};
		__u64 copy = auto_io_window(c.ev, &cs->win[dir & 1], &io);

		if (copy < len)
			len = copy;
	}
	emit_call(&c, buf, len, &cs->head_seen[dir & 1], report);
}

static __always_inline int ssl_enter(void *ssl, void *buf, void *len_ptr, __u32 dir, __u16 ex)
{
	struct ssl_call *call;

	/* the links of -e / -a are per libssl file: other processes' calls end here */
	if (!probe_selected(bpf_get_current_pid_tgid() >> 32))
		return 0;
	call = bpf_task_storage_get(&ssl_calls, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!call) {
		count(BT_CNT_IO_UNTRACKED, 1);
		return 0;
	}
	call->ssl = (__u64)ssl;
	call->buf = (__u64)buf;
	call->len_ptr = (__u64)len_ptr;
	/* a request is sent when SSL_write starts; what is read is timed when SSL_read returns */
	call->ts = dir == 0 ? bpf_ktime_get_ns() : 0;
	call->dir = dir;
	call->fd_seen = 0;
	call->ex = ex;
	call->active = 1;
	return 0;
}

static __always_inline int ssl_leave(int rc)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ssl_call *call = ssl_call_current();
	struct conn_key k = {};
	__u64 n = 0, ts;

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
	/* a request is sent when SSL_write starts; a response is had when SSL_read returns (now) */
	ts = call->dir == 0 ? call->ts : 0;
	emit_data(&k, call->buf, n, call->dir, BT_SRC_TLS, ts, pid_tgid);
	call->active = 0;
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
	struct bt_omit_key ok = {.pid = k.pid, .conn_id = k.id};
	struct bt_auto_key ak = {.pid = k.pid, .conn_id = k.id};
	struct conn_state *cs = bpf_map_lookup_elem(&conns, &k);

	if (!cs)
		return 0;
	emit_conn(BT_EV_CLOSE, BT_SRC_TLS, k.id, cs->fd, cs->pos, NULL, pid_tgid);
	bpf_map_delete_elem(&conns, &k);
	/* a new SSL object at this address starts its streams at 0 again */
	bpf_map_delete_elem(&omit_wins, &ok);
	ok.dir = 1;
	bpf_map_delete_elem(&omit_wins, &ok);
	bpf_map_delete_elem(&auto_arms, &ak);
	return 0;
}
