/* SPDX-License-Identifier: MIT */
/*
 * Span stitching: turns call events from BPF into function spans with OTLP ids, parents and
 * traces (parent = innermost open traced call on the thread; an outermost call starts a trace),
 * lets other producers (HTTP, Bedrock) hang their spans under an open call, and puts each trace's
 * GenAI token and cost totals on its root span.
 */
#ifndef BT_STITCH_H
#define BT_STITCH_H

#include <stdint.h>

#include "bedtrace.h"
#include "probe/functrace.h"
#include "span/span.h"

/* Receives each finished span; takes ownership. */
typedef void (*span_sink_fn)(void *ctx, struct bt_span *span);
/* Returns the resource of process @pid (borrowed) or NULL. */
typedef struct bt_resource *(*resource_fn)(void *ctx, uint32_t pid);

/*
 * Where a span with no traced call around it belongs, when another producer has spans around it
 * (sampled Python calls): fills @trace_id and @parent_id with those of the innermost such span open
 * on thread @tid of @pid from @t_ns to @end_ns (unix; the span's start, and its end or the latest
 * time it is known to go on, >= @t_ns) and returns a nonzero key under which that trace's GenAI
 * totals are kept (stitcher_take_totals); 0 when nothing was open there.
 */
typedef uint64_t (*outer_fn)(void *ctx, uint32_t pid, uint32_t tid, uint64_t t_ns, uint64_t end_ns,
			     uint8_t *trace_id, uint8_t *parent_id);

struct stitcher;

/* Returns a stitcher or NULL (errno). Free with stitcher_free. */
struct stitcher *stitcher_new(span_sink_fn sink, resource_fn resource, void *ctx);
void stitcher_free(struct stitcher *s);
/* Outermost traced calls and requests made outside any traced call nest in @fn's spans. */
void stitcher_set_outer(struct stitcher *s, outer_fn fn, void *ctx);
/* Builds and sinks the span of a call that ended (or is still open: reason BT_END_OPEN). 0/-errno
 */
int stitcher_call(struct stitcher *s, const struct bt_call_event *e, const struct probe_info *p);
/*
 * Places @span, made on thread @tid of @pid, inside traced call @call_id of the trace rooted at
 * @root_id: same trace, parent = that call. @call_id 0 → @span starts a new trace. Returns 0 or
 * -ENOMEM.
 */
int stitcher_parent(struct stitcher *s, struct bt_span *span, uint64_t call_id, uint64_t root_id,
		    uint32_t pid, uint32_t tid);
/*
 * @span, made on thread @tid of @pid inside no traced call, nests in the outer producer's span
 * open there at its start, if any (else it keeps its own trace). Returns the key of that trace's
 * totals (for stitcher_add_usage) or 0.
 */
uint64_t stitcher_place_outer(struct stitcher *s, struct bt_span *span, uint32_t pid, uint32_t tid);
/*
 * Something (a request on the wire, at @t_ns unix, on thread @tid of @pid) refers to open call
 * @call_id: keep its ids findable.
 */
void stitcher_ref(struct stitcher *s, uint64_t call_id, uint64_t root_id, uint32_t pid,
		  uint32_t tid, uint64_t t_ns);
/*
 * Gives @span the identity of traced call @call_id itself (a SERVER span that BPF opened as a frame
 * so that the handler's calls nest under it): span id of @call_id, parent @parent_id (0: none),
 * trace of @root_id. Returns 0 or -ENOMEM.
 */
int stitcher_adopt(struct stitcher *s, struct bt_span *span, uint64_t call_id, uint64_t parent_id,
		   uint64_t root_id);
/*
 * Adds @span->usage (typed tokens and cost; attributes are not read) to the totals of the trace
 * rooted at call @root_id, which its root span carries when that call ends. Nothing without usage.
 */
void stitcher_add_usage(struct stitcher *s, uint64_t root_id, const struct bt_span *span);
/* Puts the totals kept under @key (an outer producer's trace) on @root and forgets them. */
void stitcher_take_totals(struct stitcher *s, uint64_t key, struct bt_span *root);
/* Puts the trace totals on @root, a root span whose trace is itself: its own @root->usage. */
void stitcher_set_own_totals(struct bt_span *root);
/* A frame with no span of its own ended (a SERVER frame): let its ids expire. */
void stitcher_forget(struct stitcher *s, const struct bt_call_event *e);
/* Forgets ids of calls that ended long enough ago. */
void stitcher_tick(struct stitcher *s, uint64_t now_mono_ns);

#endif
