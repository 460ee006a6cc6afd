// SPDX-License-Identifier: MIT
/*
 * The Python stack walker over target memory (pymem.h). One sample costs, when no thread's stack
 * changed since the last one, a single batched read: every interpreter's thread list head, every
 * known thread state, and the frames each thread had last time (3.11/3.12 also its last CFrame),
 * all as one readv. What no longer matches is read in further rounds, each batched over all
 * threads: a new thread list is walked again, a frame not read yet is read (3.11+: with the rest
 * of the thread's data-stack chunk below it, where the older frames of the chain live), and code
 * objects seen for the first time are read once and cached by address.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "probe/pymem.h"
#include "probe/pyreader.h"
#include "probe/pyreader_int.h"
#include "util/grow.h"
#include "util/stopwatch.h"

/* ---- reads ---- */

static int arena_take(struct pyreader *r, size_t len, size_t *off)
{
	if (grow(&r->arena, &r->arena_cap, r->arena_len + len, 1))
		return -ENOMEM;
	*off = r->arena_len;
	r->arena_len += len;
	return 0;
}

/* Queues a read of @len bytes at @addr into the arena at *@off (buf set when the round runs). */
int pyr_queue(struct pyreader *r, uint64_t addr, size_t len, size_t *off)
{
	struct pymem_req *q;

	if (arena_take(r, len, off) || grow(&r->reqs, &r->cap_reqs, r->n_reqs + 1, sizeof(*q)) ||
	    grow(&r->req_thr, &r->cap_req_thr, r->n_reqs + 1, sizeof(*r->req_thr)))
		return -ENOMEM;
	r->req_thr[r->n_reqs] = NULL;
	q = &r->reqs[r->n_reqs++];
	q->addr = addr;
	q->len = len;
	/* buf holds the offset until the arena stops moving */
	q->buf = (void *)(uintptr_t)*off;
	q->ok = false;
	return 0;
}

/* Runs the queued round as one batched read. Returns 0 or -errno. */
int pyr_run_round(struct pyreader *r)
{
	size_t i;
	int err;

	for (i = 0; i < r->n_reqs; i++)
		r->reqs[i].buf = r->arena + (uintptr_t)r->reqs[i].buf;
	err = pymem_readv(r->mem, r->reqs, r->n_reqs);
	r->batches++;
	return err;
}

/* Records the request just queued as region of @t (its ok is set when the round has run). */
static int add_region(struct pyreader *r, struct thr *t, uint64_t addr, size_t len, size_t off)
{
	struct region *g;

	r->req_thr[r->n_reqs - 1] = t;
	t->tail_due = true;

	if (grow(&t->regs, &t->cap_regs, t->n_regs + 1, sizeof(*g)))
		return -ENOMEM;
	g = &t->regs[t->n_regs++];
	g->addr = addr;
	g->len = len;
	g->off = off;
	g->ok = false;
	g->spec = false;
	g->batch = r->batches;
	return 0;
}

/* The bytes [addr, addr + len) if a region of this sample holds them, read in *@batch; NULL if
 * not read (yet); *@failed when a region was asked for exactly there and could not be read. */
static const uint8_t *region_find(const struct pyreader *r, const struct thr *t, uint64_t addr,
				  size_t len, bool *failed, uint64_t *batch)
{
	size_t i;

	*failed = false;
	/* newest first: a region read in a later round is closer in time to the frames that
	 * led to it than the speculative read of round 0 */
	for (i = t->n_regs; i-- > 0;) {
		const struct region *g = &t->regs[i];

		if (addr < g->addr || addr - g->addr > g->len || len > g->len - (addr - g->addr))
			continue;
		if (g->ok) {
			*batch = g->batch;
			return r->arena + g->off + (addr - g->addr);
		}
		if (g->addr == addr && !g->spec) {
			*failed = true;
			return NULL;
		}
	}
	return NULL;
}

/* ---- thread list ---- */

static void thr_free(struct thr *t)
{
	if (!t)
		return;
	free(t->prev);
	free(t->regs);
	free(t->chain);
	free(t->frames);
	free(t);
}

/* 3.9/3.10: the kernel id of the thread whose pthread_t is @pthread, read from its struct pthread
 * at the offset found for the main thread. */
static uint32_t pthread_tid(struct pyreader *r, uint64_t pthread)
{
	uint8_t b[4];

	if (r->tid_off < 0 || !pthread || pymem_read(r->mem, pthread + (uint64_t)r->tid_off, b, 4))
		return 0;
	return ld32(b);
}

/* 3.9/3.10: finds where struct pthread keeps the tid: the offset at which the struct of one of
 * the threads holds the process id (only the main thread's tid equals it). */
static void find_tid_off(struct pyreader *r)
{
	uint8_t buf[PTHREAD_SCAN];
	size_t i, k;

	if (!r->l.pid)
		return;
	for (i = 0; i < r->n_thr && r->tid_off < 0; i++) {
		if (!r->thr[i]->thread_id ||
		    pymem_read(r->mem, r->thr[i]->thread_id, buf, sizeof(buf)))
			continue;
		/* 16: past the self pointers a TCB begins with */
		for (k = 16; k + 4 <= sizeof(buf); k += 4)
			if (ld32(buf + k) == (uint32_t)r->l.pid) {
				r->tid_off = (int)k;
				break;
			}
	}
}

static uint32_t thr_tid(struct pyreader *r, struct thr *t)
{
	const struct pyoffsets *o = &r->l.off;

	if (o->tstate_native_tid)
		return (uint32_t)ld64(t->ts + o->tstate_native_tid);
	if (t->tid && t->thread_id == ld64(t->ts + o->tstate_thread_id))
		return t->tid;
	t->thread_id = ld64(t->ts + o->tstate_thread_id);
	t->tid = pthread_tid(r, t->thread_id);
	return t->tid;
}

/*
 * Walks the interpreter and thread lists again with single reads (when the batched heads and
 * next pointers no longer match the list kept). Keeps what it knew of the threads still there.
 */
static int rewalk(struct pyreader *r)
{
	const struct pyoffsets *o = &r->l.off;
	struct thr **nt = NULL;
	size_t n = 0, cap = 0, i, k;
	uint64_t interp, ts;
	uint8_t b[8];
	int err = 0;

	/* the list is walked again when it changed, and after an exec: the only place to check */
	if (r->l.pid && r->l.exe_ino) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d/exe", (int)r->l.pid);
		if (stat(path, &st))
			return errno == ENOENT ? -ESRCH : -errno;
		if ((uint64_t)st.st_dev != r->l.exe_dev || (uint64_t)st.st_ino != r->l.exe_ino)
			return -ENOEXEC;
	}
	r->n_interps = 0;
	err = pymem_read(r->mem, r->l.runtime + o->runtime_interp_head, b, 8);
	if (err)
		goto out;
	for (interp = ld64(b); interp && r->n_interps < MAX_INTERPS;) {
		for (k = 0; k < r->n_interps; k++)
			if (r->interps[k] == interp)
				break;
		if (k < r->n_interps)
			break; /* a cycle */
		r->trampolines[r->n_interps] = 0;
		if (o->interp_trampoline &&
		    !pymem_read(r->mem, interp + o->interp_trampoline, b, 8))
			r->trampolines[r->n_interps] = ld64(b);
		r->interps[r->n_interps++] = interp;
		if (pymem_read(r->mem, interp + o->interp_tstate_head, b, 8)) {
			err = -EAGAIN;
			goto out;
		}
		for (ts = ld64(b); ts && n < MAX_THREADS;) {
			struct thr *t = NULL;

			for (k = 0; k < n; k++)
				if (nt[k]->tstate == ts)
					break;
			if (k < n)
				break; /* a cycle */
			for (k = 0; k < r->n_thr; k++)
				if (r->thr[k] && r->thr[k]->tstate == ts &&
				    r->thr[k]->interp == interp) {
					t = r->thr[k];
					r->thr[k] = NULL;
					break;
				}
			if (!t) {
				t = calloc(1, sizeof(*t));
				if (!t) {
					err = -ENOMEM;
					goto out;
				}
				t->tstate = ts;
				t->interp = interp;
			}
			if (grow(&nt, &cap, n + 1, sizeof(*nt))) {
				thr_free(t);
				err = -ENOMEM;
				goto out;
			}
			nt[n++] = t;
			err = pymem_read(r->mem, ts, t->ts, r->ts_len);
			if (err) {
				err = err == -EFAULT ? -EAGAIN : err;
				goto out;
			}
			t->ts_ok = true;
			ts = ld64(t->ts + o->tstate_next);
		}
		if (!o->interp_next || pymem_read(r->mem, interp + o->interp_next, b, 8))
			break;
		interp = ld64(b);
	}
out:
	for (k = 0; k < r->n_thr; k++)
		thr_free(r->thr[k]);
	free(r->thr);
	r->thr = nt;
	r->n_thr = n;
	r->cap_thr = cap;
	if (!err && o->minor < 11 && r->tid_off < 0) {
		for (i = 0; i < n; i++)
			nt[i]->thread_id = ld64(nt[i]->ts + o->tstate_thread_id);
		find_tid_off(r);
	}
	return err;
}

/* True when the heads and tstates read in round 0 chain exactly like the list kept. */
static bool list_unchanged(const struct pyreader *r)
{
	const struct pyoffsets *o = &r->l.off;
	size_t i, k = 0;

	for (i = 0; i < r->n_interps; i++) {
		uint64_t next;

		if (!r->heads_ok[i])
			return false;
		next = ld64(r->heads[i]);
		for (; k < r->n_thr && r->thr[k]->interp == r->interps[i]; k++) {
			if (!r->thr[k]->ts_ok || r->thr[k]->tstate != next)
				return false;
			next = ld64(r->thr[k]->ts + o->tstate_next);
			/* a thread state must point back at its interpreter */
			if (ld64(r->thr[k]->ts + o->tstate_interp) != r->interps[i])
				return false;
		}
		if (next)
			return false;
	}
	return k == r->n_thr;
}

/* ---- frames ---- */

static int queue_prev(struct pyreader *r, struct thr *t, size_t from, bool spec);

/*
 * Queues a fresh read of frame @addr for @t, with what is likely to follow it: the used part of
 * the data-stack chunk below it when it lies there (3.11+), else the rest of the last chain
 * when it continues from there (3.9/3.10 frame objects), else the frame alone.
 */
static int queue_frame(struct pyreader *r, struct thr *t, uint64_t addr)
{
	uint64_t lo = addr, hi = addr + r->frame_len;
	size_t off, j;
	int err;

	if (addr >= t->chunk_lo && hi <= t->chunk_hi) {
		lo = hi - t->chunk_lo > CHUNK_READ_MAX ? hi - CHUNK_READ_MAX : t->chunk_lo;
	} else {
		for (j = 0; j < t->n_prev && t->prev[j] != addr; j++)
			;
		if (j < t->n_prev)
			return queue_prev(r, t, j, false);
	}
	err = pyr_queue(r, lo, (size_t)(hi - lo), &off);
	return err ?: add_region(r, t, lo, (size_t)(hi - lo), off);
}

static uint64_t trampoline(const struct pyreader *r, uint64_t interp)
{
	size_t i;

	for (i = 0; i < r->n_interps; i++)
		if (r->interps[i] == interp)
			return r->trampolines[i];
	return 0;
}

/*
 * The hash of frame @addr's locals and value stack: the bytes between its fixed part and its
 * callee's frame (the last one walked, innermost first), when both lie a short way apart in a
 * region read no earlier than the frame itself (3.11+ data-stack chunks). 0 when not known.
 * Frames this close are also read as one region by the speculative read (MERGE_GAP), so the
 * hash is there in every sample or in none, but for a callee pushed just after the thread state
 * was read (beyond the chunk's top then, read alone): the sampler takes 0 as "not known".
 */
static uint64_t frame_locals(const struct pyreader *r, const struct thr *t, uint64_t addr)
{
	uint64_t lo = addr + r->frame_len, callee, h = 0xcbf29ce484222325ull, batch = 0;
	const uint8_t *p;
	bool failed;
	size_t i, len;

	if (pyoff_frame_objects(&r->l.off) || !t->n_chain)
		return 0;
	callee = t->chain[t->n_chain - 1];
	if (callee <= lo || callee - lo > MERGE_GAP)
		return 0;
	len = (size_t)(callee - lo);
	p = region_find(r, t, lo, len, &failed, &batch);
	if (!p || batch < t->cur_batch)
		return 0;
	for (i = 0; i + 8 <= len; i += 8) {
		h ^= ld64(p + i);
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

/*
 * A chain whose calls returned while it was read: the frame pointer, read again after the
 * newest frames the chain took, points into the chain above its first frame. The frames above
 * that one were read in part before and in part after the returns (a caller that went on, a
 * callee left as it was), which would give a returned call a caller it did not have: they are
 * dropped, and the sample shows the stack as it was after the returns (a thread that calls a
 * small function in a loop is caught so in many samples: read again, it would be caught again).
 * A pointer that stayed, or moved anywhere else (a call made meanwhile, above the chain), leaves
 * the chain as it was if its first frame did: read again with the pointer, that frame still runs
 * the same code for the same caller. If not, its call returned and its caller made another at
 * the same address (and maybe further calls from there) while the chain was read: torn.
 */
static void check_tail(struct pyreader *r, struct thr *t)
{
	const struct pyoffsets *o = &r->l.off;
	uint64_t now = t->tail;
	size_t k;

	if (t->tail_batch != t->cur_batch || !t->tail_ok || !t->n_chain)
		return;
	for (k = 1; k < t->n_chain && t->chain[k] != now; k++)
		;
	if (now == t->chain[0] || k == t->n_chain) {
		/* the first frame read again with the pointer: running other code, or called
		 * from elsewhere, it is a new call at the address of one that returned (a
		 * caller that went on to its next call, maybe deeper by now), and the chain
		 * mixes the two */
		if (t->head_ok && t->head_addr == t->chain[0] && t->frames[0].instr != UINT64_MAX &&
		    (ld64(t->head + o->frame_code - r->head_lo) !=
			 (uint64_t)(uintptr_t)t->frames[0].code ||
		     ld64(t->head + o->frame_previous - r->head_lo) !=
			 (t->n_chain > 1 ? t->chain[1] : 0))) {
			t->torn = true;
			r->st.replaced++;
		}
		return;
	}
	memmove(t->chain, t->chain + k, (t->n_chain - k) * sizeof(*t->chain));
	memmove(t->frames, t->frames + k, (t->n_chain - k) * sizeof(*t->frames));
	t->n_chain -= k;
	r->st.returned++;
}

/*
 * Follows @t's chain as far as this sample's regions hold it. Returns 1 when it needs another
 * round (a read was queued), 0 when done (complete or torn), -errno.
 */
static int walk(struct pyreader *r, struct thr *t)
{
	const struct pyoffsets *o = &r->l.off;
	bool failed;
	size_t k;

	while (t->cur && !t->torn) {
		uint64_t batch = 0;
		const uint8_t *f = region_find(r, t, t->cur, r->frame_len, &failed, &batch);
		struct py_frame *pf;
		uint64_t code, locals;
		unsigned owner = 0;

		if (failed) {
			t->torn = true;
			break;
		}
		/* not read, or read before the frame that points to it was: then it may hold what
		 * was there before this call (a suspended coroutine, a recycled frame object) */
		if (!f || batch < t->cur_batch)
			return queue_frame(r, t, t->cur) ?: 1;
		t->cur_batch = batch;
		if (t->n_chain >= MAX_DEPTH) {
			t->torn = t->capped = true;
			break;
		}
		for (k = 0; k < t->n_chain; k++)
			if (t->chain[k] == t->cur)
				break;
		if (k < t->n_chain) {
			t->torn = true; /* a cycle */
			break;
		}
		/* 3.9/3.10: a frame object, alive (a freed one keeps its type and fields, on a
		 * free list or as its code's spare, with no reference left) */
		if (pyoff_frame_objects(o) &&
		    (ld64(f + 8) != r->l.frame_type || (int64_t)ld64(f) <= 0)) {
			t->torn = true;
			break;
		}
		if (o->frame_owner)
			owner = f[o->frame_owner];
		if (owner > PYOFF_OWNED_BY_CSTACK) {
			t->torn = true;
			break;
		}
		code = ld64(f + o->frame_code);
		locals = frame_locals(r, t, t->cur);
		/* 3.12: a shim runs its interpreter's trampoline code and nothing else does; a
		 * mismatch is a C stack slot read after the shim it held had returned */
		if (o->interp_trampoline && (owner == PYOFF_OWNED_BY_CSTACK) !=
						(code && code == trampoline(r, t->interp))) {
			t->torn = true;
			break;
		}
		if (grow(&t->chain, &t->cap_chain, t->n_chain + 1, sizeof(*t->chain)) ||
		    grow(&t->frames, &t->cap_frames, t->n_chain + 1, sizeof(*t->frames)))
			return -ENOMEM;
		/* 3.12+ shim frames (an entry from C) run no Python code: kept in the chain for
		 * the cycle check, left out of the stack */
		if (owner == PYOFF_OWNED_BY_CSTACK && o->minor >= 12) {
			t->chain[t->n_chain] = t->cur;
			pf = &t->frames[t->n_chain++];
			memset(pf, 0, sizeof(*pf));
			pf->addr = t->cur;
			pf->instr = UINT64_MAX; /* marks a shim */
		} else {
			if (!code) {
				t->torn = true;
				break;
			}
			t->chain[t->n_chain] = t->cur;
			pf = &t->frames[t->n_chain++];
			pf->addr = t->cur;
			/* the code address until resolve_codes swaps in the entry */
			pf->code = (const struct py_code *)(uintptr_t)code;
			pf->instr = o->frame_owner ? ld64(f + o->frame_instr)
						   : (uint64_t)(int32_t)ld32(f + o->frame_instr);
			pf->generator = o->frame_owner && owner == PYOFF_OWNED_BY_GENERATOR;
			pf->locals = locals;
		}
		t->cur = ld64(f + o->frame_previous);
		/* a thread's outermost frame is its own and marked as an entry from C (3.11), or
		 * an entry shim (3.12+: every entry into the interpreter pushes one): a chain that
		 * ends at a generator's frame read it suspended, after it had been resumed; one
		 * that ends at any other frame read a frame being made again for a new call (its
		 * previous link not set yet) */
		if (!t->cur && o->frame_owner && owner != PYOFF_OWNED_BY_CSTACK &&
		    (owner != 0 || o->minor >= 12 || (o->frame_is_entry && !f[o->frame_is_entry])))
			t->torn = true;
	}
	if (!t->torn)
		check_tail(r, t);
	t->done = true;
	return 0;
}

/* 3.11/3.12: whether CFrame @p is the root one inside @t's thread state. */
static bool cframe_is_root(const struct pyreader *r, const struct thr *t, uint64_t p)
{
	return p >= t->tstate && p - t->tstate < r->l.off.tstate_size;
}

/* The first frame of @t from its thread state (3.11/3.12: through the CFrame). Returns 1 when
 * a round is needed for the CFrame, 0 when t->cur is set. */
static int first_frame(struct pyreader *r, struct thr *t)
{
	const struct pyoffsets *o = &r->l.off;
	uint64_t p = ld64(t->ts + o->tstate_frame);
	size_t off;
	int err;

	if (pyoff_cframe(o)) {
		if (!p) {
			t->cur = 0;
			return 0;
		}
		if (p == t->cframe && t->cframe_ok) {
			t->cur = ld64(t->cframe_buf);
			t->cur_batch = t->cframe_batch;
			/* a CFrame on the C stack names a frame from the entry that pushed it to
			 * its return; none there is its slot read before the entry set it, or
			 * after the return, when other C code had the stack. Only the thread
			 * state's own root CFrame (a thread running no Python code) names none. */
			if (!t->cur && !cframe_is_root(r, t, p))
				t->torn = true;
			return 0;
		}
		t->cframe = p;
		t->cframe_ok = false;
		err = pyr_queue(r, p + o->cframe_current_frame, 8, &off);
		if (err)
			return err;
		return add_region(r, t, p + o->cframe_current_frame, 8, off) ?: 1;
	}
	t->cur = p;
	t->cur_batch = t->ts_batch;
	return 0;
}

static void thr_reset(struct pyreader *r, struct thr *t)
{
	const struct pyoffsets *o = &r->l.off;
	uint64_t chunk, top;

	t->n_chain = 0;
	t->cur = 0;
	t->torn = t->done = t->capped = false;
	t->chunk_lo = t->chunk_hi = 0;
	if (o->tstate_datastack_chunk && t->ts_ok) {
		chunk = ld64(t->ts + o->tstate_datastack_chunk);
		top = ld64(t->ts + o->tstate_datastack_top);
		if (chunk && top > chunk + o->chunk_data && top - chunk < (1u << 30)) {
			t->chunk_lo = chunk + o->chunk_data;
			t->chunk_hi = top;
		}
	}
}

/* Whether frame @addr is the first of a data-stack chunk that is not the thread's first (a
 * chunk is its own mapping: its data begins a fixed way past a page boundary). */
static bool chunk_start(const struct pyreader *r, uint64_t addr)
{
	return addr > r->l.off.chunk_data && !((addr - r->l.off.chunk_data) & (r->page - 1));
}

/*
 * 3.11+: a frame on a thread's data stack begins where its caller's ends (the top of the stack
 * when it was pushed, through any entry from C between them), or at the start of a new chunk
 * when the caller's was full. A chain with a frame anywhere else read a call that had returned,
 * at an address its caller had given to another call since (a caller that went on, a callee
 * left as it was), or a caller replaced so: its frames were never one stack. Checked where the
 * caller's code object is known, after pycode_resolve; a frame whose code object could not be
 * read makes its chain torn too.
 */
static void check_frames(struct pyreader *r)
{
	size_t i, j;

	for (i = 0; i < r->n_thr; i++) {
		struct thr *t = r->thr[i];
		uint64_t callee = 0; /* the last frame walked, when on the data stack */

		for (j = 0; j < t->n_chain && !t->torn; j++) {
			const struct py_frame *f = &t->frames[j];
			const struct code_ent *e;

			if (f->instr == UINT64_MAX && !f->code)
				continue; /* a shim: between a caller and its callee */
			e = pycode_get(r, (uint64_t)(uintptr_t)f->code);
			if (!e || !e->seen) {
				t->torn = true;
				break;
			}
			/* a generator's frame lives in the generator (3.11+ frames of the
			 * thread's own calls live on the data stack) */
			if (callee && !f->generator && e->frame_bytes &&
			    callee != f->addr + e->frame_bytes && !chunk_start(r, callee)) {
				t->torn = true;
				r->st.misplaced++;
				break;
			}
			callee = f->generator || pyoff_frame_objects(&r->l.off) ? 0 : f->addr;
		}
	}
}

/* Swaps code addresses for cache entries, drops shims, reverses to outermost first. */
static void finish(struct pyreader *r, struct thr *t, struct py_thread_stack *s)
{
	size_t i, n = 0;

	s->tstate = t->tstate;
	s->tid = thr_tid(r, t);
	s->torn = t->torn;
	s->frames = t->frames;
	s->n_frames = 0;
	if (t->torn) {
		r->st.torn++;
		t->n_prev = 0;
		return;
	}
	/* the chain read becomes the next sample's speculation */
	t->n_prev = 0;
	if (t->n_chain && !grow(&t->prev, &t->cap_prev, t->n_chain, sizeof(*t->prev))) {
		memcpy(t->prev, t->chain, t->n_chain * sizeof(*t->prev));
		t->n_prev = t->n_chain;
	}
	for (i = 0; i < t->n_chain; i++) {
		struct py_frame f = t->frames[i];
		struct code_ent *e;

		if (f.instr == UINT64_MAX && !f.code)
			continue;
		e = pycode_get(r, (uint64_t)(uintptr_t)f.code);
		if (!e || e->seen == 0) {
			/* unreadable code object: the stack cannot be named, call it torn */
			s->torn = true;
			r->st.torn++;
			return;
		}
		e->seen = r->sample_no;
		f.code = &e->c;
		/* 3.9/3.10: as in walk, a chain cannot end at a generator's frame */
		if (pyoff_frame_objects(&r->l.off) && i == t->n_chain - 1 &&
		    (e->flags &
		     (PYOFF_CO_GENERATOR | PYOFF_CO_COROUTINE | PYOFF_CO_ASYNC_GENERATOR))) {
			s->torn = true;
			r->st.torn++;
			return;
		}
		if (pyoff_frame_objects(&r->l.off))
			f.generator = (e->flags & (PYOFF_CO_GENERATOR | PYOFF_CO_COROUTINE |
						   PYOFF_CO_ASYNC_GENERATOR)) != 0;
		t->frames[n++] = f;
	}
	for (i = 0; i < n / 2; i++) {
		struct py_frame tmp = t->frames[i];

		t->frames[i] = t->frames[n - 1 - i];
		t->frames[n - 1 - i] = tmp;
	}
	s->n_frames = n;
}

/* Where the thread's innermost frame pointer is read from: its CFrame (3.11/3.12, when known)
 * or its thread state. 0 when not known. */
static uint64_t frame_slot(const struct pyreader *r, const struct thr *t)
{
	const struct pyoffsets *o = &r->l.off;

	if (pyoff_cframe(o))
		return t->cframe ? t->cframe + o->cframe_current_frame : 0;
	return t->tstate + o->tstate_frame;
}

/* The frame @t's chain begins at, as far as is known before this round's reads: the one it
 * began at, the one it is about to begin at, or (round 0) the one it began at last time. */
static uint64_t expected_head(const struct thr *t)
{
	if (t->n_chain)
		return t->chain[0];
	if (t->cur && t->cur != UINT64_MAX)
		return t->cur;
	return t->n_prev ? t->prev[0] : 0;
}

/*
 * Runs the queued round and marks each thread's regions from their requests, in order. Each
 * thread whose frames the round reads gets its frame pointer read last, after them (a batch's
 * requests are read in order): check_tail compares it with where the chain began.
 */
static int run_marked(struct pyreader *r)
{
	size_t i, off;
	int err = 0;

	for (i = 0; i < r->n_thr && !err; i++) {
		struct thr *t = r->thr[i];
		uint64_t slot = frame_slot(r, t);

		if (!t->tail_due)
			continue;
		t->tail_due = false;
		t->tail_batch = UINT64_MAX;
		if (!slot)
			continue;
		t->tail_req = r->n_reqs;
		err = pyr_queue(r, slot, 8, &off);
		if (!err)
			t->tail_batch = r->batches;
		t->head_addr = expected_head(t);
		t->head_req = r->n_reqs;
		if (!err && t->head_addr)
			err = pyr_queue(r, t->head_addr + r->head_lo, r->head_len, &off);
	}
	err = err ?: pyr_run_round(r);
	if (err)
		return err;
	for (i = 0; i < r->n_reqs; i++) {
		struct thr *t = r->req_thr[i];

		if (t && t->n_marked < t->n_regs)
			t->regs[t->n_marked++].ok = r->reqs[i].ok;
	}
	for (i = 0; i < r->n_thr; i++) {
		struct thr *t = r->thr[i];

		if (t->tail_batch != r->batches - 1)
			continue;
		t->tail_ok = r->reqs[t->tail_req].ok;
		if (t->tail_ok)
			t->tail = ld64(r->reqs[t->tail_req].buf);
		t->head_ok = t->head_addr && r->reqs[t->head_req].ok;
		if (t->head_ok)
			memcpy(t->head, r->reqs[t->head_req].buf, r->head_len);
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Queues the frames of @t's last chain from index @from on, merged into as few regions as their
 * addresses allow: the kernel pins the pages of every region apart, which costs far more than
 * copying the few hundred bytes between frames of one data-stack chunk (3.11+), or between frame
 * objects that were allocated close together (3.9/3.10). @spec: a guess (round 0).
 */
static int queue_prev(struct pyreader *r, struct thr *t, size_t from, bool spec)
{
	uint64_t sorted[MAX_DEPTH], lo, hi;
	size_t i, n = t->n_prev < MAX_DEPTH ? t->n_prev : MAX_DEPTH, off;
	int err;

	if (from >= n)
		return 0;
	n -= from;
	memcpy(sorted, t->prev + from, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	lo = sorted[0];
	hi = lo + r->frame_len;
	for (i = 1; i <= n; i++) {
		if (i < n && sorted[i] <= hi + MERGE_GAP &&
		    sorted[i] + r->frame_len - lo <= CHUNK_READ_MAX) {
			if (sorted[i] + r->frame_len > hi)
				hi = sorted[i] + r->frame_len;
			continue;
		}
		err = pyr_queue(r, lo, (size_t)(hi - lo), &off)
			  ?: add_region(r, t, lo, (size_t)(hi - lo), off);
		if (err)
			return err;
		t->regs[t->n_regs - 1].spec = spec;
		if (i < n) {
			lo = sorted[i];
			hi = lo + r->frame_len;
		}
	}
	return 0;
}

/* Forgets what this sample read of @t so far: its thread state is about to be read (again). */
static void thr_restart(struct thr *t)
{
	t->n_regs = t->n_marked = 0;
	t->tail_batch = UINT64_MAX;
	t->tail_due = false;
}

/* Round 0: heads, known thread states, their last CFrame and last chain, all in one read. */
static int round0(struct pyreader *r)
{
	const struct pyoffsets *o = &r->l.off;
	size_t i, j, off, first_ts, ts_off;
	size_t head_off[MAX_INTERPS], tramp_req[MAX_INTERPS];
	int err = 0;

	r->n_reqs = 0;
	r->arena_len = 0;
	for (i = 0; i < r->n_interps && !err; i++)
		err = pyr_queue(r, r->interps[i] + o->interp_tstate_head, 8, &head_off[i]);
	/* 3.12: an interpreter found early in its start-up has no trampoline yet; read it again
	 * until it has one, or every shim would look stale and every stack torn */
	for (i = 0; i < r->n_interps && !err; i++) {
		tramp_req[i] = SIZE_MAX;
		if (o->interp_trampoline && !r->trampolines[i]) {
			tramp_req[i] = r->n_reqs;
			err = pyr_queue(r, r->interps[i] + o->interp_trampoline, 8, &off);
		}
	}
	first_ts = r->n_reqs;
	for (i = 0; i < r->n_thr && !err; i++) {
		struct thr *t = r->thr[i];

		thr_restart(t);
		err = pyr_queue(r, t->tstate, r->ts_len, &ts_off);
		if (!err && t->cframe)
			err = pyr_queue(r, t->cframe + o->cframe_current_frame, 8, &off)
				  ?: add_region(r, t, t->cframe + o->cframe_current_frame, 8, off);
		if (!err)
			err = queue_prev(r, t, 0, true);
	}
	err = err ?: run_marked(r);
	if (err)
		return err;
	for (i = 0; i < r->n_interps; i++) {
		r->heads_ok[i] = r->reqs[i].ok;
		memcpy(r->heads[i], r->reqs[i].buf, 8);
		if (tramp_req[i] != SIZE_MAX && r->reqs[tramp_req[i]].ok)
			r->trampolines[i] = ld64(r->reqs[tramp_req[i]].buf);
	}
	for (i = 0, j = first_ts; i < r->n_thr; i++) {
		struct thr *t = r->thr[i];

		/* the thread state is the request before its regions */
		while (r->req_thr[j])
			j++;
		t->ts_ok = r->reqs[j].ok;
		memcpy(t->ts, r->reqs[j].buf, r->ts_len);
		j++;
		t->ts_batch = t->cframe_batch = r->batches - 1;
		t->cframe_ok = t->cframe && t->n_regs && t->regs[0].ok;
		if (t->cframe_ok)
			memcpy(t->cframe_buf, r->arena + t->regs[0].off, 8);
	}
	r->n_reqs = 0;
	return 0;
}

static int walk_rounds(struct pyreader *r);

/* Gets every thread ready to walk from the thread state read in round 0. */
static void walk_prepare(struct pyreader *r)
{
	size_t i;

	for (i = 0; i < r->n_thr; i++) {
		struct thr *t = r->thr[i];

		thr_reset(r, t);
		t->cur = UINT64_MAX; /* not known yet */
		if (!t->ts_ok)
			t->torn = t->done = true;
	}
}

/*
 * Reads the threads whose chain came out torn, or rooted elsewhere than last time, once more,
 * from a fresh read of their thread state and without the speculative reads of round 0: a thread
 * that runs Python code changes its frames while they are copied, and a second look a few
 * microseconds later mostly holds together. @roots: also those rooted elsewhere. Returns 0 or
 * -errno.
 */
static int retry_torn(struct pyreader *r, bool roots)
{
	size_t i, n = 0, off;
	int err;

	r->n_reqs = 0;
	for (i = 0; i < r->n_thr; i++) {
		struct thr *t = r->thr[i];

		/* the outermost frame of a thread changes when it starts or ends running Python
		 * code, rarely: more often a chain cut short by a frame read just as it changed */
		t->retry = t->ts_ok && !t->capped &&
			   (t->torn || (roots && t->n_chain && t->n_prev &&
					t->chain[t->n_chain - 1] != t->prev[t->n_prev - 1]));
		if (!t->retry)
			continue;
		thr_restart(t);
		err = pyr_queue(r, t->tstate, r->ts_len, &off);
		if (err)
			return err;
		n++;
	}
	if (!n)
		return 0;
	err = pyr_run_round(r);
	if (err)
		return err;
	for (i = 0, n = 0; i < r->n_thr; i++) {
		struct thr *t = r->thr[i];

		if (!t->retry)
			continue;
		t->ts_ok = r->reqs[n].ok;
		memcpy(t->ts, r->reqs[n].buf, r->ts_len);
		t->ts_batch = r->batches - 1;
		n++;
		thr_reset(r, t);
		t->cframe_ok = false;
		t->cur = UINT64_MAX;
		if (!t->ts_ok)
			t->torn = t->done = true;
	}
	r->n_reqs = 0;
	return walk_rounds(r);
}

/* The rounds after the first: CFrames and frames not read yet, batched over every thread. */
static int walk_rounds(struct pyreader *r)
{
	size_t i, round;
	int err;

	for (round = 0; round <= MAX_ROUNDS; round++) {
		bool more = false;

		r->n_reqs = 0;
		for (i = 0; i < r->n_thr; i++) {
			struct thr *t = r->thr[i];

			if (t->done)
				continue;
			if (t->cur == UINT64_MAX) {
				/* a CFrame asked for in the last round and not read means torn */
				if (round && t->cframe && !t->cframe_ok && t->n_marked &&
				    !t->regs[t->n_marked - 1].ok) {
					t->torn = t->done = true;
					continue;
				}
				if (round && t->cframe && !t->cframe_ok && t->n_marked) {
					memcpy(t->cframe_buf,
					       r->arena + t->regs[t->n_marked - 1].off, 8);
					t->cframe_batch = t->regs[t->n_marked - 1].batch;
					t->cframe_ok = true;
				}
				err = first_frame(r, t);
				if (err < 0)
					return err;
				if (err == 1) {
					if (round == MAX_ROUNDS)
						t->torn = t->done = true;
					more = true;
					continue;
				}
			}
			err = walk(r, t);
			if (err < 0)
				return err;
			if (err == 1 && round == MAX_ROUNDS)
				t->torn = t->done = true;
			more |= err == 1;
		}
		if (!more || round == MAX_ROUNDS)
			break;
		err = run_marked(r);
		if (err)
			return err;
	}
	r->n_reqs = 0;
	return 0;
}

int pyreader_sample(struct pyreader *r, struct py_sample *out)
{
	uint64_t sc = r->mem->syscalls, by = r->mem->bytes;
	size_t i, tries;
	int err = 0;

	memset(out, 0, sizeof(*out));
	r->sample_no++;
	/*
	 * Nothing known to read (an interpreter finalized, or not made yet): round 0 would make no
	 * read, and a process that exits meanwhile would never say so. One read tells.
	 */
	if (!r->n_interps && !r->n_thr) {
		uint8_t b[8];

		err = pymem_read(r->mem, r->l.runtime + r->l.off.runtime_interp_head, b, 8);
		if (err)
			goto out;
	}
	for (tries = 0; tries < 3; tries++) {
		err = round0(r);
		if (err)
			goto out;
		if (list_unchanged(r))
			break;
		err = rewalk(r);
		if (err == -ESRCH || err == -ENOMEM || err == -ENOEXEC)
			goto out;
	}
	/* _PyRuntime itself unreadable: not a passing change of the thread list */
	if (err == -EFAULT)
		goto out;
	err = 0;
	walk_prepare(r);
	err = walk_rounds(r);
	err = err ?: retry_torn(r, true);
	for (tries = 0; !err; tries++) {
		/*
		 * The stacks are as the last reads found them (a chain cut back at a return shows
		 * the stack after it): the sample's time is now, so that a call it no longer
		 * shows ends after its return even when this thread was held up mid-read, and
		 * one it shows had begun.
		 */
		out->t_ns = sw_now_ns();
		/* the code objects name the frames, and give the chains' last check */
		err = pycode_resolve(r);
		if (err)
			break;
		check_frames(r);
		for (i = 0; i < r->n_thr; i++)
			if (r->thr[i]->torn && r->thr[i]->ts_ok && !r->thr[i]->capped)
				break;
		if (i == r->n_thr || tries == MAX_RETRIES)
			break;
		err = retry_torn(r, false);
	}
	if (err)
		goto out;
	if (grow(&r->out, &r->cap_out, r->n_thr, sizeof(*r->out))) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < r->n_thr; i++)
		finish(r, r->thr[i], &r->out[i]);
	out->threads = r->out;
	out->n_threads = r->n_thr;
	r->st.samples++;
out:
	r->st.syscalls += r->mem->syscalls - sc;
	r->st.bytes_read += r->mem->bytes - by;
	if (err)
		r->st.errors++;
	return err;
}

struct pyreader *pyreader_open_mem(struct pymem *m, const struct pyreader_layout *l, char *err,
				   size_t errlen)
{
	const struct pyoffsets *o = &l->off;
	struct pyreader *r = calloc(1, sizeof(*r));
	uint32_t ts_end, code_end;
	size_t i;
	int e;

	if (!r) {
		pymem_free(m);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r->mem = m;
	r->l = *l;
	r->l.root = NULL;
	if (l->root && !(r->l.root = strdup(l->root))) {
		pyreader_free(r);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r->tid_off = -1;
	r->page = (uint64_t)sysconf(_SC_PAGESIZE);
	if (!r->page || (r->page & (r->page - 1)))
		r->page = 4096;
	ts_end = o->tstate_next;
	ts_end = o->tstate_interp > ts_end ? o->tstate_interp : ts_end;
	ts_end = o->tstate_thread_id > ts_end ? o->tstate_thread_id : ts_end;
	ts_end = o->tstate_native_tid > ts_end ? o->tstate_native_tid : ts_end;
	ts_end = o->tstate_frame > ts_end ? o->tstate_frame : ts_end;
	ts_end = o->tstate_datastack_top > ts_end ? o->tstate_datastack_top : ts_end;
	ts_end = o->tstate_datastack_chunk > ts_end ? o->tstate_datastack_chunk : ts_end;
	code_end = o->code_flags;
	code_end = o->code_firstlineno > code_end ? o->code_firstlineno : code_end;
	code_end = o->code_filename > code_end ? o->code_filename : code_end;
	code_end = o->code_name > code_end ? o->code_name : code_end;
	code_end = o->code_qualname > code_end ? o->code_qualname : code_end;
	code_end = o->code_nlocalsplus > code_end ? o->code_nlocalsplus : code_end;
	code_end = o->code_stacksize > code_end ? o->code_stacksize : code_end;
	r->ts_len = ts_end + 8;
	r->code_len = code_end + 8;
	r->frame_len = o->frame_size;
	r->head_lo = o->frame_code < o->frame_previous ? o->frame_code : o->frame_previous;
	r->head_len = (o->frame_code > o->frame_previous ? o->frame_code : o->frame_previous) + 8 -
		      r->head_lo;
	if (r->ts_len > TSTATE_MAX || r->frame_len < 16 || r->frame_len > 4096 ||
	    o->frame_previous + 8 > r->frame_len || o->frame_code + 8 > r->frame_len ||
	    o->frame_instr + 4 > r->frame_len || o->frame_owner >= r->frame_len ||
	    o->frame_is_entry >= r->frame_len || r->head_len > sizeof(((struct thr *)0)->head) ||
	    o->unicode_compact_size > 128 || o->unicode_ascii_size > o->unicode_compact_size ||
	    o->unicode_state + 4 > o->unicode_ascii_size ||
	    o->unicode_length + 8 > o->unicode_ascii_size) {
		snprintf(err, errlen, "CPython %s: structure offsets out of range", l->version);
		e = EPROTO;
		goto fail;
	}
	e = -rewalk(r);
	if (e == ESRCH || e == ENOMEM) {
		snprintf(err, errlen, "%s", strerror(e));
		goto fail;
	}
	if (e || !r->n_interps || !r->n_thr) {
		snprintf(err, errlen, "CPython %s is not initialised yet (no %s)", l->version,
			 r->n_interps ? "thread state" : "interpreter");
		e = EAGAIN;
		goto fail;
	}
	/* the layout must fit: every thread state points back at its interpreter */
	for (i = 0; i < r->n_thr; i++)
		if (ld64(r->thr[i]->ts + o->tstate_interp) != r->thr[i]->interp) {
			snprintf(err, errlen,
				 "CPython %s: thread state %#llx does not point back at its "
				 "interpreter: unexpected structure layout",
				 l->version, (unsigned long long)r->thr[i]->tstate);
			e = EPROTO;
			goto fail;
		}
	return r;
fail:
	pyreader_free(r);
	errno = e;
	return NULL;
}

const char *pyreader_version(const struct pyreader *r)
{
	return r->l.version;
}

void pyreader_get_stats(const struct pyreader *r, struct pyreader_stats *st)
{
	*st = r->st;
}

void pyreader_free(struct pyreader *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n_thr; i++)
		thr_free(r->thr[i]);
	free(r->thr);
	pycode_free(r);
	free(r->arena);
	free(r->reqs);
	free(r->req_thr);
	free(r->out);
	pymem_free(r->mem);
	free((char *)r->l.root);
	free(r);
}
