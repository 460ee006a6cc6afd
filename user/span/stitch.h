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

struct stitcher;

/* Returns a stitcher or NULL (errno). Free with stitcher_free. */
struct stitcher *stitcher_new(span_sink_fn sink, resource_fn resource, void *ctx);
void stitcher_free(struct stitcher *s);
/* Builds and sinks the span of a call that ended (or is still open: reason BT_END_OPEN). 0/-errno
 */
int stitcher_call(struct stitcher *s, const struct bt_call_event *e, const struct probe_info *p);
/*
 * Places @span inside traced call @call_id of the trace rooted at @root_id: same trace, parent =
 * that call. @call_id 0 → @span starts a new trace. Returns 0 or -ENOMEM.
 */
int stitcher_parent(struct stitcher *s, struct bt_span *span, uint64_t call_id, uint64_t root_id);
/* Something (a request on the wire) refers to open call @call_id: keep its ids findable. */
void stitcher_ref(struct stitcher *s, uint64_t call_id, uint64_t root_id);
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
/* Puts the trace totals on @root, a root span whose trace is itself: its own @root->usage. */
void stitcher_set_own_totals(struct bt_span *root);
/* A frame with no span of its own ended (a SERVER frame): let its ids expire. */
void stitcher_forget(struct stitcher *s, const struct bt_call_event *e);
/* Forgets ids of calls that ended long enough ago. */
void stitcher_tick(struct stitcher *s, uint64_t now_mono_ns);

#endif
