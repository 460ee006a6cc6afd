/* SPDX-License-Identifier: MIT */
/*
 * Test support: a synthetic CPython process image (pymem_image) laid out by a real version row
 * of user/probe/pyoffsets.c, for the unit tests and the fuzzer of user/probe/pyreader.c:
 * _PyRuntime, one interpreter, thread states (newest at the head, as CPython links them), str
 * and code objects, and frame chains (3.9/3.10 frame objects on the heap; 3.11+ frames in each
 * thread's data-stack chunk, generator frames outside it, 3.11/3.12 CFrames).
 */
#ifndef BT_TEST_PYIMAGE_H
#define BT_TEST_PYIMAGE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/pymem.h"
#include "probe/pyoffsets.h"
#include "probe/pyreader.h"

#define PYIMG_RUNTIME 0x100000ull
#define PYIMG_INTERP 0x200000ull
#define PYIMG_TSTATE 0x300000ull  /* + 0x1000 per thread */
#define PYIMG_CFRAME 0x400000ull  /* + 0x1000 per thread */
#define PYIMG_CHUNK 0x500000ull	  /* + 0x10000 per thread */
#define PYIMG_PTHREAD 0x600000ull /* + 0x1000 per thread */
#define PYIMG_HEAP 0x700000ull	  /* frame objects, generator frames: 0x200 each */
#define PYIMG_HEAP_LEN 0x80000ull /* one mapping, as a real heap is */
#define PYIMG_CODE 0x800000ull	  /* 0x200 each */
#define PYIMG_STR 0x900000ull	  /* 0x200 each */
#define PYIMG_CODE_TYPE 0xa00000ull
#define PYIMG_UNICODE_TYPE 0xa01000ull
#define PYIMG_FRAME_TYPE 0xa02000ull
#define PYIMG_FRAME_STRIDE 0x80ull /* a chunk frame and its locals */
#define PYIMG_TID_OFF 0x2d0	   /* where the image's struct pthread holds the tid */

struct pyimg {
	struct pymem *m;
	const struct pyoffsets *o;
	struct pyreader_layout l;
	unsigned n_threads, n_heap, n_code, n_str;
	uint64_t trampoline; /* 3.12: the code object of shim frames */
};

static inline void pyimg_put(struct pyimg *im, uint64_t addr, const void *v, size_t len)
{
	void *p = pymem_image_at(im->m, addr, len);

	if (!p)
		abort();
	memcpy(p, v, len);
}

static inline void pyimg_put64(struct pyimg *im, uint64_t addr, uint64_t v)
{
	pyimg_put(im, addr, &v, 8);
}

static inline void pyimg_put32(struct pyimg *im, uint64_t addr, uint32_t v)
{
	pyimg_put(im, addr, &v, 4);
}

static inline void pyimg_zero(struct pyimg *im, uint64_t addr, size_t len)
{
	void *z = calloc(1, len);

	if (!z || pymem_image_add(im->m, addr, z, len))
		abort();
	free(z);
}

static inline uint64_t pyimg_code(struct pyimg *im, const char *qualname, const char *file,
				  uint32_t line, uint32_t flags);

/* An image of CPython 3.@minor with a runtime and an interpreter, no thread yet; @pid is the
 * process id (the main thread's tid). */
static inline void pyimg_init(struct pyimg *im, unsigned minor, pid_t pid)
{
	memset(im, 0, sizeof(*im));
	im->o = pyoffsets_for(minor);
	im->m = pymem_image();
	if (!im->o || !im->m)
		abort();
	im->l.off = *im->o;
	im->l.runtime = PYIMG_RUNTIME;
	im->l.code_type = PYIMG_CODE_TYPE;
	im->l.unicode_type = PYIMG_UNICODE_TYPE;
	im->l.frame_type = im->o->minor < 11 ? PYIMG_FRAME_TYPE : 0;
	im->l.pid = pid;
	snprintf(im->l.version, sizeof(im->l.version), "3.%u.0", minor);
	pyimg_zero(im, PYIMG_RUNTIME, im->o->runtime_interp_head + 8);
	pyimg_zero(im, PYIMG_INTERP,
		   0x2000 + (im->o->interp_trampoline > im->o->interp_tstate_head
				 ? im->o->interp_trampoline
				 : im->o->interp_tstate_head));
	pyimg_put64(im, PYIMG_RUNTIME + im->o->runtime_interp_head, PYIMG_INTERP);
	pyimg_zero(im, PYIMG_HEAP, PYIMG_HEAP_LEN);
	if (im->o->interp_trampoline) {
		im->trampoline = pyimg_code(im, "<interpreter trampoline>", "<shim>", 1, 0);
		pyimg_put64(im, PYIMG_INTERP + im->o->interp_trampoline, im->trampoline);
	}
}

/* A compact ASCII str object holding @s. */
static inline uint64_t pyimg_str(struct pyimg *im, const char *s)
{
	const struct pyoffsets *o = im->o;
	uint64_t a = PYIMG_STR + 0x200ull * im->n_str++;
	size_t n = strlen(s);

	if (n + o->unicode_ascii_size + 1 > 0x200)
		abort();
	pyimg_zero(im, a, o->unicode_ascii_size + n + 1);
	pyimg_put64(im, a + 8, PYIMG_UNICODE_TYPE);
	pyimg_put64(im, a + o->unicode_length, n);
	/* kind 1 (bits 2-4), compact (bit 5), ascii (bit 6) */
	pyimg_put32(im, a + o->unicode_state, 1u << 2 | 1u << 5 | 1u << 6);
	pyimg_put(im, a + o->unicode_ascii_size, s, n);
	return a;
}

/* A code object: @qualname is co_qualname on 3.11+; co_name is its last part. */
static inline uint64_t pyimg_code(struct pyimg *im, const char *qualname, const char *file,
				  uint32_t line, uint32_t flags)
{
	const struct pyoffsets *o = im->o;
	uint64_t a = PYIMG_CODE + 0x200ull * im->n_code++;
	const char *dot = strrchr(qualname, '.');

	pyimg_zero(im, a, o->code_size);
	pyimg_put64(im, a + 8, PYIMG_CODE_TYPE);
	pyimg_put64(im, a + o->code_filename, pyimg_str(im, file));
	if (o->code_qualname) {
		pyimg_put64(im, a + o->code_qualname, pyimg_str(im, qualname));
		pyimg_put64(im, a + o->code_name, pyimg_str(im, dot ? dot + 1 : qualname));
	} else {
		pyimg_put64(im, a + o->code_name, pyimg_str(im, dot ? dot + 1 : qualname));
	}
	pyimg_put32(im, a + o->code_firstlineno, line);
	pyimg_put32(im, a + o->code_flags, flags);
	/* 3.11+: a frame running it fills PYIMG_FRAME_STRIDE, where pyimg_stack puts its callee */
	if (o->code_nlocalsplus) {
		pyimg_put32(im, a + o->code_nlocalsplus, 4);
		pyimg_put32(im, a + o->code_stacksize,
			    (uint32_t)((PYIMG_FRAME_STRIDE - o->frame_size) / 8 - 4));
	}
	return a;
}

/* 3.11/3.12: the root CFrame inside thread state @ts, current while it runs no Python code
 * (the last 24 bytes of the thread state: room for either version's). */
static inline uint64_t pyimg_root_cframe(const struct pyimg *im, uint64_t ts)
{
	return ts + im->o->tstate_size - 24;
}

/* 3.11/3.12: the CFrame an entry into the interpreter pushed on thread @ts's C stack. */
static inline uint64_t pyimg_entry_cframe(uint64_t ts)
{
	return PYIMG_CFRAME + (ts - PYIMG_TSTATE);
}

/* A new thread state with kernel id @tid, linked at the head of the interpreter's list.
 * Returns its address. */
static inline uint64_t pyimg_thread(struct pyimg *im, uint32_t tid)
{
	const struct pyoffsets *o = im->o;
	unsigned i = im->n_threads++;
	uint64_t ts = PYIMG_TSTATE + 0x1000ull * i, head;
	uint64_t pt = PYIMG_PTHREAD + 0x1000ull * i;
	void *p = pymem_image_at(im->m, PYIMG_INTERP + o->interp_tstate_head, 8);

	memcpy(&head, p, 8);
	pyimg_zero(im, ts, 0x1000);
	pyimg_put64(im, ts + o->tstate_next, head);
	pyimg_put64(im, ts + o->tstate_interp, PYIMG_INTERP);
	pyimg_zero(im, pt, 0x1000);
	pyimg_put32(im, pt + PYIMG_TID_OFF, tid);
	pyimg_put64(im, ts + o->tstate_thread_id, pt);
	if (o->tstate_native_tid)
		pyimg_put64(im, ts + o->tstate_native_tid, tid);
	if (o->minor >= 11) {
		pyimg_zero(im, PYIMG_CHUNK + 0x10000ull * i, 0x10000);
		pyimg_put64(im, ts + o->tstate_datastack_chunk, PYIMG_CHUNK + 0x10000ull * i);
		pyimg_put64(im, ts + o->tstate_datastack_top,
			    PYIMG_CHUNK + 0x10000ull * i + o->chunk_data);
	}
	if (o->minor == 11 || o->minor == 12) {
		pyimg_zero(im, pyimg_entry_cframe(ts), 0x100);
		pyimg_put64(im, ts + o->tstate_frame, pyimg_root_cframe(im, ts));
	}
	pyimg_put64(im, PYIMG_INTERP + o->interp_tstate_head, ts);
	return ts;
}

/* Sets the current frame of thread @ts to @frame. */
static inline void pyimg_set_current(struct pyimg *im, uint64_t ts, uint64_t frame)
{
	const struct pyoffsets *o = im->o;
	uint64_t cf;

	if (o->minor == 11 || o->minor == 12) {
		memcpy(&cf, pymem_image_at(im->m, ts + o->tstate_frame, 8), 8);
		pyimg_put64(im, cf + o->cframe_current_frame, frame);
	} else {
		pyimg_put64(im, ts + o->tstate_frame, frame);
	}
}

/* Kinds of frame pyimg_stack makes. */
#define PYIMG_PLAIN 0
#define PYIMG_GEN 1  /* owned by a generator: outside the chunk on 3.11+ */
#define PYIMG_SHIM 3 /* 3.12+ entry shim (FRAME_OWNED_BY_CSTACK): off the chunk too */

/* A frame off the data stack: a frame object (3.9/3.10), a generator's frame, or an entry
 * shim (3.12+: on the C stack of the call into the interpreter). */
static inline uint64_t pyimg_heap_frame(struct pyimg *im)
{
	uint64_t a = PYIMG_HEAP + 0x200ull * im->n_heap++;

	if (a + 0x200 > PYIMG_HEAP + PYIMG_HEAP_LEN)
		abort();
	memset(pymem_image_at(im->m, a, 0x200), 0, 0x200);
	return a;
}

/*
 * Gives thread @ts the stack @codes[0] (outermost) .. @codes[n - 1] (current), frame kinds in
 * @kinds (NULL: all plain); frame addresses into @addrs when not NULL. A shim's code is ignored:
 * it runs the trampoline on 3.12, none on 3.13.
 */
static inline void pyimg_stack(struct pyimg *im, uint64_t ts, size_t n, const uint64_t *codes,
			       const int *kinds, uint64_t *addrs)
{
	const struct pyoffsets *o = im->o;
	uint64_t prev = 0, a = 0, chunk = 0, top = 0;
	size_t i;

	if (o->minor >= 11) {
		memcpy(&chunk, pymem_image_at(im->m, ts + o->tstate_datastack_chunk, 8), 8);
		top = chunk + o->chunk_data;
	}
	/* 3.12+: the thread's entry into the interpreter, below its outermost frame (not below
	 * a generator's frame: that one stands for a chain cut short) */
	if (o->minor >= 12 && n && (!kinds || kinds[0] == PYIMG_PLAIN)) {
		prev = a = pyimg_heap_frame(im);
		pyimg_put64(im, a + o->frame_previous, 0);
		pyimg_put64(im, a + o->frame_code, im->trampoline);
		*(uint8_t *)pymem_image_at(im->m, a + o->frame_owner, 1) = PYIMG_SHIM;
	}
	for (i = 0; i < n; i++) {
		int kind = kinds ? kinds[i] : PYIMG_PLAIN;

		if (o->minor < 11 || kind == PYIMG_GEN || kind == PYIMG_SHIM) {
			a = pyimg_heap_frame(im);
		} else {
			a = top;
			top += PYIMG_FRAME_STRIDE;
		}
		if (o->minor < 11) {
			pyimg_put64(im, a, 1); /* a reference: alive */
			pyimg_put64(im, a + 8, PYIMG_FRAME_TYPE);
		}
		pyimg_put64(im, a + o->frame_previous, prev);
		if (kind != PYIMG_SHIM)
			pyimg_put64(im, a + o->frame_code, codes[i]);
		else if (im->trampoline)
			pyimg_put64(im, a + o->frame_code, im->trampoline);
		if (o->frame_owner)
			*(uint8_t *)pymem_image_at(im->m, a + o->frame_owner, 1) = (uint8_t)kind;
		/* 3.11: the outermost frame is the one the thread's entry from C pushed */
		if (o->frame_is_entry)
			*(uint8_t *)pymem_image_at(im->m, a + o->frame_is_entry, 1) = i == 0;
		pyimg_put32(im, a + o->frame_instr, (uint32_t)(10 + i));
		if (addrs)
			addrs[i] = a;
		prev = a;
	}
	if (o->minor >= 11)
		pyimg_put64(im, ts + o->tstate_datastack_top, top);
	/* 3.11/3.12: running Python code, in the CFrame of its entry; else in the root one */
	if (o->minor == 11 || o->minor == 12)
		pyimg_put64(im, ts + o->tstate_frame,
			    n ? pyimg_entry_cframe(ts) : pyimg_root_cframe(im, ts));
	pyimg_set_current(im, ts, n ? a : 0);
}

#endif
