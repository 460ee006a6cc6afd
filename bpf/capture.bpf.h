/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What tlscap (SSL probes) and syscap (syscall tracepoints) share: the SSL call in progress per
 * thread (syscap learns its socket, and skips the ciphertext moved inside it), the TLS connection
 * state, chunked copying of user buffers into the ring buffer through a per-CPU scratch event,
 * the traced calls a chunk belongs to, and reading the socket behind a file descriptor.
 */
#ifndef BT_CAPTURE_BPF_H
#define BT_CAPTURE_BPF_H

#include "http_head.h"
#include "http_methods.h"
#include "stack.bpf.h"

#define AF_INET 2
#define AF_INET6 10

/*
 * Payload chunks wake userspace only once this much is waiting; it reads the ring every 100 ms
 * anyway. A wakeup per chunk would put a context switch on the traced request's path.
 */
const volatile __u64 wakeup_at = 16 << 20;

struct ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 len_ptr; /* _ex: size_t *written / *readbytes */
	__u64 ts;      /* writes: when the call started (reads are timed at their return) */
	__u16 dir;
	__u16 fd_seen; /* a syscall inside this call was looked at for the connection's fd */
	__u16 ex;
	__u16 active; /* between entry and return */
};

/*
 * The SSL call in progress on each thread, from entry to return (tlscap creates it). Task-local
 * storage rather than a hash keyed by thread id: it is read on every socket syscall of a target
 * and written twice per SSL call, and goes away with the thread.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

/* The SSL call in progress on the current thread, or NULL. */
static __always_inline struct ssl_call *ssl_call_current(void)
{
	struct ssl_call *c = bpf_task_storage_get(&ssl_calls, bpf_get_current_task_btf(), 0, 0);

	return c && c->active ? c : NULL;
}

struct conn_key {
	__u32 pid;
	__u32 pad;
	__u64 id; /* the SSL object */
};

struct conn_state {
	__u64 pos[2];
	struct bt_omit_win win[2]; /* each direction's omission window in use (omit_lead) */
	__s32 fd;
	__u32 announced;
	__u8 head_seen[2]; /* see emit_ctx.head_seen */
};

/* TLS connections: stream positions and socket (tlscap creates it). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_key);
	__type(value, struct conn_state);
} conns SEC(".maps");

/* The state of TLS connection @k, created if new; NULL (counted) when the map is full. */
static __always_inline struct conn_state *conn_get(struct conn_key *k)
{
	struct conn_state init = {.fd = -1}, *c = map_lookup_or_try_init(&conns, k, &init);

	if (!c)
		count(BT_CNT_CONN_FULL, 1);
	return c;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bt_data_event);
} scratch SEC(".maps");

/*
 * Omission windows (struct bt_omit_win), written by userspace. An LRU map: a window whose
 * connection died before the stream passed its end is evicted by newer ones.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct bt_omit_key);
	__type(value, struct bt_omit_win);
} omit_wins SEC(".maps");

struct emit_ctx {
	struct bt_data_event *ev;
	__u64 buf;
	__u32 total;
	__u32 off;
	__u64 pos;
	/*
	 * The connection direction's "a message head was seen" flag, or NULL. Userspace is woken
	 * by a large read or write that follows a message head (or is one), so it can parse the
	 * head and set an omission window while the rest of the body still comes; it otherwise
	 * reads the ring every 100 ms, long after a request of a few milliseconds ended.
	 */
	__u8 *head_seen;
};

/* The most bytes seen waiting in the ring after a chunk: ring pressure, for userspace. */
__u64 ring_peak = 0;

static __always_inline __u64 chunk_wakeup(void)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	/* racy across CPUs: a peak is a peak within a chunk or so */
	if (avail > ring_peak)
		ring_peak = avail;
	return avail >= wakeup_at ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void chunk_lost(__u64 len, __u32 counter)
{
	count(counter, 1);
	count(BT_CNT_DATA_LOST_BYTES, len);
}

/* is_request_start() and is_status_start() read this many bytes */
_Static_assert(BT_HTTP_METHOD_PREFIX_LEN == 4, "request start prefix length");

/* The BT_HTTP_METHOD_PREFIX_LEN bytes at @p begin the request line of a known method. */
static __always_inline bool is_request_start(const __u8 *p)
{
#define BT_METHOD_TEST(m) BT_HTTP_METHOD_PREFIX_IS(p, m) ||
	return BT_HTTP_METHODS(BT_METHOD_TEST) false;
#undef BT_METHOD_TEST
}

/* The 4 bytes at @p begin an HTTP/1 status line ("HTTP/1.1 200 OK"). */
static __always_inline bool is_status_start(const __u8 *p)
{
	return p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P';
}

/*
 * Head wake-ups are this far apart at least, machine-wide: a server answering thousands of
 * 20 KiB requests a second would otherwise wake userspace for each, where a window pays off
 * only for bodies of CONN_OMIT_MIN (32 KiB) and more.
 */
#define HEAD_WAKE_GAP_NS 250000
__u64 head_wake_ns = 0;

/*
 * Whether the chunk whose bytes are @d wakes userspace. The first chunk of a large I/O call
 * wakes it when it starts a message or follows one that did (see emit_ctx.head_seen);
 * otherwise only ring pressure does.
 */
static __always_inline __u64 chunk_flags(struct emit_ctx *c, const __u8 *d)
{
	__u8 *seen = c->head_seen;
	__u64 ts = c->ev->ts_ns;

	if (c->off == 0 && seen) {
		if (is_status_start(d) || is_request_start(d))
			*seen = 1;
		if (*seen && c->total >= BT_DATA_CHUNK) {
			*seen = 0;
			/* racy across CPUs: two wake-ups close together are harmless */
			if (ts - head_wake_ns >= HEAD_WAKE_GAP_NS) {
				head_wake_ns = ts;
				return BPF_RB_FORCE_WAKEUP;
			}
		}
	}
	return chunk_wakeup();
}

/*
 * A full chunk is read straight into its ring-buffer record; a shorter one goes through the
 * per-CPU scratch event, since a reservation's size must be known to the verifier and a
 * full-size record for a few bytes would waste the ring.
 */
static long emit_chunk(__u64 i, void *data)
{
	struct emit_ctx *c = data;
	struct bt_data_event *ev = c->ev, *r;
	__u64 len;

	if (c->off >= c->total)
		return 1;
	len = (__u64)c->total - c->off;
	if (len > BT_DATA_CHUNK)
		len = BT_DATA_CHUNK;
	/* keep the verifier's bounds on len: [1, BT_DATA_CHUNK] */
	asm volatile("%0 &= %1" : "+r"(len) : "i"(BT_DATA_CHUNK_MASK));
	if (len > BT_DATA_CHUNK)
		return 1;
	ev->pos = c->pos + c->off;
	ev->len = len;
	if (len == BT_DATA_CHUNK) {
		r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
		if (!r) {
			chunk_lost(len, BT_CNT_DATA_RB_FULL);
		} else {
			__builtin_memcpy(r, ev, offsetof(struct bt_data_event, data));
			if (bpf_probe_read_user(r->data, BT_DATA_CHUNK,
						(void *)(c->buf + c->off))) {
				bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
				chunk_lost(len, BT_CNT_DATA_READ_FAIL);
			} else {
				bpf_ringbuf_submit(r, chunk_flags(c, r->data));
			}
		}
	} else if (bpf_probe_read_user(ev->data, len, (void *)(c->buf + c->off))) {
		chunk_lost(len, BT_CNT_DATA_READ_FAIL);
	} else if (bpf_ringbuf_output(&events, ev, offsetof(struct bt_data_event, data) + len,
				      chunk_flags(c, ev->data))) {
		chunk_lost(len, BT_CNT_DATA_RB_FULL);
	}
	c->off += (__u32)len;
	return 0;
}

/*
 * How many leading bytes of the @len at stream position @pos of (@pid, @dir, @conn_id) an
 * omission window covers (0: none), and in *@report whether they are reported. Only the I/O call
 * that reaches the window's end reports its part, as a BT_DATA_F_OMITTED event that times the
 * body's last byte; the calls before it report nothing, and userspace takes the jump in stream
 * position for what its window covers. The window goes once the stream has passed it.
 *
 * @cw is the connection direction's window in use: one userspace wrote into omit_wins moves
 * there when the stream has passed the one before (or there was none), and auto_io_window()
 * writes its own there. The reads inside a window, most of a large body, then look nothing up.
 */
static __always_inline __u64 omit_lead(struct bt_omit_win *cw, __u32 pid, __u32 dir, __u64 conn_id,
				       __u64 pos, __u64 len, bool *report)
{
	struct bt_omit_key k = {.pid = pid, .dir = dir, .conn_id = conn_id};
	struct bt_omit_win *w;
	__u64 n = 0;

	*report = false;
	if (len < BT_OMIT_MIN_IO)
		return 0;
	if (pos >= cw->to) {
		w = bpf_map_lookup_elem(&omit_wins, &k);
		if (!w)
			return 0;
		cw->from = w->from;
		cw->to = w->to;
		bpf_map_delete_elem(&omit_wins, &k);
	}
	if (cw->from <= pos && pos < cw->to)
		n = cw->to - pos < len ? cw->to - pos : len;
	if (pos + len >= cw->to) {
		*report = n != 0;
		cw->from = cw->to = 0;
	}
	return n;
}

/* Reports the @c->off leading bytes of @c as omitted: one event without payload. */
static __always_inline void emit_omitted(struct emit_ctx *c)
{
	struct bt_data_event *ev = c->ev;

	ev->pos = c->pos;
	ev->len = 0;
	ev->omitted = c->off;
	ev->flags |= BT_DATA_F_OMITTED;
	/* lost: userspace takes the jump for what its window covers, as with the calls before */
	if (bpf_ringbuf_output(&events, ev, offsetof(struct bt_data_event, data), chunk_wakeup()))
		count(BT_CNT_OTHER_RB_FULL, 1);
	ev->flags &= ~BT_DATA_F_OMITTED;
	ev->omitted = 0;
}

/* Connections userspace armed for auto windows (struct bt_auto_arm); BPF keeps them current. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct bt_auto_key);
	__type(value, struct bt_auto_arm);
} auto_arms SEC(".maps");

/*
 * bt_head_byte() as a global function, which the verifier checks once on its own: inlined into
 * the loop below, every state of the parser was a state of the loop (over a million
 * instructions).
 */
__noinline int head_byte(struct bt_head *h, __u32 b)
{
	if (!h)
		return 0;
	return bt_head_byte(h, (__u8)b);
}

/*
 * What auto_io_window() keeps while it works: per CPU, as syscap's capture path runs four calls
 * deep and has no stack left (BPF allows 512 bytes for a whole call chain).
 */
struct auto_scratch {
	struct bt_head h;
	struct bt_auto_key k;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct auto_scratch);
} auto_scratch SEC(".maps");

struct head_buf {
	__u8 b[BT_HEAD_MAX];
};

struct head_loop {
	struct bt_head *h;
	const struct head_buf *buf;
	__u32 n;
};

static long head_step(__u64 i, void *data)
{
	struct head_loop *l = data;

	if (i >= l->n)
		return 1;
	return head_byte(l->h, l->buf->b[i & (BT_HEAD_MAX - 1)]) ? 0 : 1;
}

/*
 * Reads the first @n bytes of @buf into head @h. Global too: its loop is verified once, not
 * again for every state of the capture path that calls it.
 */
__noinline int head_parse(struct bt_head *h, const struct head_buf *buf, __u32 n)
{
	struct head_loop l = {.h = h, .buf = buf, .n = n};

	if (!h || !buf)
		return 0;
	bpf_loop(BT_HEAD_MAX, head_step, &l, 0);
	return 0;
}

/* Whether userspace found the bodies of request @hash (bt_path_hash) unwanted on @a. */
static __always_inline bool auto_unwanted(const struct bt_auto_arm *a, __u32 hash)
{
	int i;

	if (!hash)
		return false;
#pragma unroll
	for (i = 0; i < BT_AUTO_LINES; i++)
		if (a->unwanted[i] == hash)
			return true;
	return false;
}

/*
 * Pairs head @h (in direction @d) with the request before it on @a; returns the length of the
 * body that follows it, or -1 when the connection's framing is no longer known in @d; sets
 * *@unwanted when nobody reads that body.
 */
static __always_inline __s64 auto_pair(struct bt_auto_arm *a, const struct bt_head *h, __u32 d,
				       bool *unwanted)
{
	__s64 body;

	*unwanted = false;
	if (h->kind == BT_HEAD_REQ) {
		if (a->pending && a->req_dir != d)
			return -1;
		if (a->pending < 255)
			a->pending++;
		/* requests sent ahead of responses: which response answers which is not known */
		a->req_hash = a->pending == 1 ? h->hash : 0;
		a->req_dir = (__u8)d;
		a->req_head = (h->flags & BT_HEAD_F_HEAD_METHOD) != 0;
		*unwanted = auto_unwanted(a, h->hash);
		return bt_head_body(h, 0);
	}
	/* a response only after its request was read: a HEAD's response has no body */
	if (a->pending != 1 || a->req_dir == d)
		return -1;
	body = bt_head_body(h, a->req_head);
	*unwanted = auto_unwanted(a, a->req_hash);
	a->pending = 0;
	a->req_hash = 0;
	return body;
}

/* An I/O call for auto_io_window(): a global function takes at most five arguments. */
struct auto_io {
	__u64 pos, conn_id, buf, len;
	__u32 pid, dir;
};

/*
 * Auto windows (struct bt_auto_arm): when I/O call @io (@io->len bytes at user @io->buf, at
 * stream position @io->pos of its connection and direction) starts at the next message head BPF
 * knows of on an armed connection, reads that head (into @ev's data) and moves the connection's
 * framing past its body. When nobody reads a body of BT_OMIT_MIN_BODY or more that goes on past
 * this call, opens an omission window from the head's end as the direction's window in use @cw
 * (omit_lead) and marks @ev (BT_DATA_F_WINDOW, the window's length in omitted). Returns how many
 * leading bytes of the call to copy.
 *
 * A global function, verified once on its own: inlined, its paths multiplied the capture path's
 * states (ssl_return: 5.8k instructions verified before auto windows, 16.5k inlined, 10.2k so).
 */
__noinline __u64 auto_io_window(struct bt_data_event *ev, struct bt_omit_win *cw,
				const struct auto_io *io)
{
	__u64 pos, len, n, end;
	struct auto_scratch *x;
	struct bt_auto_arm *a;
	__u32 d, zero = 0;
	bool unwanted;
	__s64 body;

	if (!ev || !cw || !io)
		return BT_DATA_MAX_CALL; /* no limit: the whole call is copied */
	pos = io->pos;
	len = io->len;
	d = io->dir & 1;
	x = bpf_map_lookup_elem(&auto_scratch, &zero);
	if (!x)
		return len;
	x->k.pid = io->pid;
	x->k.pad = 0;
	x->k.conn_id = io->conn_id;
	a = bpf_map_lookup_elem(&auto_arms, &x->k);
	if (!a || a->next_head[d] != pos)
		return len;
	/* from here on, only a head read whole keeps the framing known */
	a->next_head[d] = BT_POS_NONE;
	n = len < BT_HEAD_MAX ? len : BT_HEAD_MAX;
	asm volatile("%0 &= %1" : "+r"(n) : "i"(2 * BT_HEAD_MAX - 1));
	if (n < BT_HTTP_METHOD_PREFIX_LEN || n > BT_HEAD_MAX ||
	    bpf_probe_read_user(ev->data, n, (void *)io->buf))
		return len;
	if (is_status_start(ev->data))
		bt_head_init(&x->h, BT_HEAD_RESP);
	else if (is_request_start(ev->data))
		bt_head_init(&x->h, BT_HEAD_REQ);
	else
		return len;
	head_parse(&x->h, (const struct head_buf *)ev->data, (__u32)n);
	if (x->h.state != BT_HS_DONE)
		return len;
	body = auto_pair(a, &x->h, d, &unwanted);
	if (body < 0)
		return len;
	end = pos + x->h.len + (__u64)body;
	a->next_head[d] = end;
	if (!unwanted || body < BT_OMIT_MIN_BODY || body > 0xffffffffLL || end <= pos + len)
		return len;
	cw->from = pos + x->h.len;
	cw->to = end;
	/* the head's chunk tells userspace; it is short, so it wakes nobody (chunk_flags) */
	ev->flags |= BT_DATA_F_WINDOW;
	ev->omitted = (__u32)body;
	return x->h.len;
}

/*
 * Copies bytes @c->off to @c->total from user @c->buf as chunks of the event @c->ev describes
 * (@c->off: what an omission window covers).
 */
static __always_inline void emit_chunks(struct emit_ctx *c)
{
	bpf_loop(BT_DATA_MAX_CALL / BT_DATA_CHUNK, emit_chunk, c, 0);
}

/* The traced calls open on the current thread: innermost, the one below it, outermost. */
static __always_inline void fill_calls(struct bt_data_event *ev)
{
	struct bt_stack *st = stack_get(0, false);
	__u32 d;

	ev->call_id = ev->parent_id = ev->root_id = 0;
	if (!st)
		return;
	d = st->depth;
	if (d == 0 || d > BT_MAX_DEPTH)
		return;
	ev->call_id = st->frames[(d - 1) & (BT_MAX_DEPTH - 1)].call_id;
	ev->parent_id = d > 1 ? st->frames[(d - 2) & (BT_MAX_DEPTH - 1)].call_id : 0;
	ev->root_id = st->frames[0].call_id;
}

/*
 * Emits the I/O call @c->ev describes: @len bytes at user @buf, of which the first @c->off are
 * covered by an omission window (reported as omitted when @report), the rest as chunks.
 */
static __always_inline void emit_call(struct emit_ctx *c, __u64 buf, __u64 len, __u8 *head_seen,
				      bool report)
{
	fill_calls(c->ev);
	c->buf = buf;
	c->total = len;
	c->head_seen = head_seen;
	if (report)
		emit_omitted(c);
	emit_chunks(c);
}

/* Returns the file behind @fd of the current task, or NULL. */
static __always_inline struct file *file_of(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct file **fds, *f = NULL;
	unsigned int max;

	fds = BPF_CORE_READ(task, files, fdt, fd);
	max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (fd < 0 || (unsigned int)fd >= max || !fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* Returns the socket behind @fd (any family), or NULL when @fd is not a socket. */
static __always_inline struct sock *sock_of(int fd)
{
	struct file *f = file_of(fd);
	struct socket *sock;

	if (!f)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	/* private_data is a socket only for socket files; a socket points back at its file */
	if (!sock || BPF_CORE_READ(sock, file) != f)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/* Family, addresses and ports of @sk into @e. */
static __always_inline void fill_addrs(struct bt_conn_event *e, struct sock *sk)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (e->family == AF_INET) {
		__u32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e->saddr, &s, 4);
		__builtin_memcpy(e->daddr, &d, 4);
	} else if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
	}
}

/*
 * Reports connection @conn_id (socket @fd) as @type: BT_EV_CONN with the addresses of @sk (NULL:
 * none known), or BT_EV_CLOSE with the final stream positions @pos.
 */
static __always_inline void emit_conn(__u32 type, __u16 src, __u64 conn_id, int fd,
				      const __u64 *pos, struct sock *sk, __u64 pid_tgid)
{
	struct bt_conn_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(BT_CNT_OTHER_RB_FULL, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->ts_ns = bpf_ktime_get_ns();
	e->conn_id = conn_id;
	e->fd = fd;
	e->src = src;
	if (pos) {
		e->send_pos = pos[0];
		e->recv_pos = pos[1];
	}
	if (sk)
		fill_addrs(e, sk);
	bpf_ringbuf_submit(e, 0);
	if (type == BT_EV_CONN)
		note_traffic(pid_tgid >> 32);
}

#endif
