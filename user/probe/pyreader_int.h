/* SPDX-License-Identifier: MIT */
/*
 * Private to the Python stack reader (pyreader.c: thread list, frames, samples; pycode.c: the
 * code object cache and names): the reader's state and the batched reads both use. Nothing else
 * includes it.
 */
#ifndef BT_PYREADER_INT_H
#define BT_PYREADER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "probe/pymem.h"
#include "probe/pyreader.h"

#define MAX_DEPTH 256	 /* deeper chains are reported torn */
#define MAX_THREADS 4096 /* longer thread lists are cut  */
#define MAX_INTERPS 64	 /* subinterpreters followed */
/* read rounds per sample before the rest is called torn: 3.9/3.10 frame objects are found one
 * level per round when a chain is new */
#define MAX_ROUNDS (MAX_DEPTH + 4)
/* Reads of a torn chain again in one sample, after the first retry: a thread that runs Python
 * code changes its frames while they are copied, and a look a few microseconds later mostly
 * holds together. */
#define MAX_RETRIES 3
#define CHUNK_READ_MAX 65536 /* bytes of a data-stack chunk read at once */
#define MERGE_GAP 2048	     /* frames this close are read as one region */
#define MAX_STR 1024	     /* characters of a name kept */
#define TSTATE_MAX 1024	     /* bytes of a thread state read (its fields lie below) */
#define PTHREAD_SCAN 2048    /* bytes of glibc/musl struct pthread searched for the tid */

struct code_ent {
	struct py_code c;
	uint64_t name_ptr, qual_ptr, file_ptr;
	uint32_t flags;
	uint32_t frame_bytes; /* 3.11+: the size of a frame running it; 0 not known */
	uint64_t seen;	      /* the sample that last saw it */
};

/* A region read in this sample, for one thread: frames or a piece of its data-stack chunk. */
struct region {
	uint64_t addr;
	size_t len, off; /* off: into the sample arena */
	bool ok;
	bool spec; /* read on the guess that the last chain still holds: failing says nothing */
	uint64_t batch; /* the read (pyreader.batches) that filled it */
};

struct thr {
	uint64_t tstate, interp;
	uint8_t ts[TSTATE_MAX];
	bool ts_ok;
	uint64_t thread_id; /* pthread_t (3.9/3.10: the key of tid) */
	uint32_t tid;
	/* 3.11/3.12: the CFrame last seen and its current_frame as read speculatively */
	uint64_t cframe;
	uint8_t cframe_buf[8];
	bool cframe_ok;
	/* the reads that gave the thread state, the CFrame, and the frame pointer followed now:
	 * a frame is taken only from a read as recent as the one that pointed to it */
	uint64_t ts_batch, cframe_batch, cur_batch;
	/* the chain of the last sample, innermost first: read again speculatively */
	uint64_t *prev;
	size_t n_prev, cap_prev;
	/* this sample */
	struct region *regs;
	size_t n_regs, cap_regs;
	uint64_t cur; /* next frame to resolve; 0 done */
	uint64_t *chain;
	size_t n_chain, cap_chain;
	struct py_frame *frames;
	size_t cap_frames;
	size_t n_marked; /* regions whose read has run */
	/* the frame pointer read once more at the end of the last batch that read this thread's
	 * frames (the batch the chain's newest frames came from): where the chain was followed
	 * from, as it was after them */
	uint64_t tail, tail_batch; /* tail_batch UINT64_MAX: none this sample */
	size_t tail_req;	   /* its request, until the batch has run */
	bool tail_ok;
	/* with it, the code and caller of the frame the chain was expected to begin at, read
	 * again: a frame at the same address may be another call's by then */
	uint64_t head_addr; /* 0: not read */
	size_t head_req;
	bool head_ok;
	uint8_t head[24];
	bool tail_due; /* frames of this thread queued in the batch being built */
	bool torn, done;
	bool capped; /* torn for being deeper than MAX_DEPTH: reading it again would not help */
	bool retry;  /* read again this sample: torn, or its outermost frame changed */
	uint64_t chunk_lo, chunk_hi; /* used part of the data-stack chunk [lo, hi) */
};

struct pyreader {
	struct pymem *mem;
	uint64_t page; /* the page size: data-stack chunks are mapped at page boundaries */
	struct pyreader_layout l;
	uint32_t ts_len, frame_len, code_len;
	uint32_t head_lo, head_len; /* a frame's code and previous fields, as one read */
	uint64_t interps[MAX_INTERPS];
	uint64_t trampolines[MAX_INTERPS]; /* 3.12: each interpreter's shim code object */
	size_t n_interps;
	uint8_t heads[MAX_INTERPS][8];
	bool heads_ok[MAX_INTERPS];
	struct thr **thr;
	size_t n_thr, cap_thr;
	/* the sample arena (offsets into it stay valid as it grows) */
	uint8_t *arena;
	size_t arena_len, arena_cap;
	/* read requests of one round and what each is for */
	struct pymem_req *reqs;
	struct thr **req_thr; /* the thread whose region each request fills, or NULL */
	size_t n_reqs, cap_reqs, cap_req_thr;
	/* code cache: open addressing by address over entries that live until pyreader_free */
	struct code_ent **codes;
	size_t codes_cap, n_codes;
	struct code_ent **all; /* every entry ever made, also those replaced at an address */
	size_t n_all, cap_all;
	struct py_thread_stack *out;
	size_t cap_out;
	int tid_off; /* 3.9/3.10: where struct pthread holds the tid; -1 unknown */
	uint64_t sample_no;
	uint64_t batches; /* batched reads run so far: the id of the next one */
	struct pyreader_stats st;
};

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Queues a read of @len bytes at @addr for the next batched read, into the sample arena at
 * *@off. Returns 0 or -ENOMEM. */
int pyr_queue(struct pyreader *r, uint64_t addr, size_t len, size_t *off);
/* Runs the queued reads as one batched read (their buf then point into the arena; ok set).
 * Returns 0 or -errno. */
int pyr_run_round(struct pyreader *r);

/* The cached code object at @addr, or NULL. */
struct code_ent *pycode_get(const struct pyreader *r, uint64_t addr);
/*
 * Resolves the code objects of every thread's chain (their addresses in frames[].code) into the
 * cache: new ones read, ones back after an absence checked again. Returns 0 or -errno.
 */
int pycode_resolve(struct pyreader *r);
/* Frees every cache entry. */
void pycode_free(struct pyreader *r);

#endif
