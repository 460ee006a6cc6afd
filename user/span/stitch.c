// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "span/idmap.h"
#include "span/semconv.h"
#include "span/stitch.h"
#include "util/log.h"

/* How long ids of a finished call stay known for spans that refer to it late. */
#define ID_GRACE_NS (10ull * 1000000000ull)

struct stitcher {
	struct idmap *calls;  /* call id → span id */
	struct idmap *traces; /* root call id → trace id and totals */
	span_sink_fn sink;
	resource_fn resource;
	void *ctx;
	outer_fn outer; /* NULL: outermost calls start traces */
	void *outer_ctx;
};

static const char *const end_reason_name[] = {
    [BT_END_RETURN] = "return",		  [BT_END_EXCEPTION] = "exception",
    [BT_END_LONGJMP] = "longjmp",	  [BT_END_UNWOUND] = "unwound",
    [BT_END_THREAD_EXIT] = "thread_exit", [BT_END_PROCESS_EXIT] = "process_exit",
    [BT_END_OPEN] = "tracing_stopped",	  [BT_END_EXEC] = "exec",
};

static const char *const end_reason_msg[] = {
    [BT_END_EXCEPTION] = "call unwound by a C++ exception",
    [BT_END_LONGJMP] = "call left by longjmp",
    [BT_END_UNWOUND] = "call left without returning (stack unwound)",
    [BT_END_THREAD_EXIT] = "thread exited during the call",
    [BT_END_PROCESS_EXIT] = "process exited during the call",
    [BT_END_EXEC] = "process executed a new program during the call",
};

struct stitcher *stitcher_new(span_sink_fn sink, resource_fn resource, void *ctx)
{
	struct stitcher *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->calls = idmap_new();
	s->traces = idmap_new();
	if (!s->calls || !s->traces) {
		stitcher_free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->sink = sink;
	s->resource = resource;
	s->ctx = ctx;
	return s;
}

void stitcher_free(struct stitcher *s)
{
	if (!s)
		return;
	idmap_free(s->calls);
	idmap_free(s->traces);
	free(s);
}

void stitcher_set_outer(struct stitcher *s, outer_fn fn, void *ctx)
{
	s->outer = fn;
	s->outer_ctx = ctx;
}

/*
 * The outer producer's span around what ran on thread @tid of @pid from @t_ns to @end_ns (unix;
 * an @end_ns before @t_ns, an end not known, is @t_ns): its ids and totals key, or 0.
 */
static uint64_t ask_outer(struct stitcher *s, uint32_t pid, uint32_t tid, uint64_t t_ns,
			  uint64_t end_ns, uint8_t *trace_id, uint8_t *parent_id)
{
	return s->outer(s->outer_ctx, pid, tid, t_ns, end_ns > t_ns ? end_ns : t_ns, trace_id,
			parent_id);
}

/*
 * The trace entry of root call @root, made on thread @tid of @pid and open from @t_ns to @end_ns
 * (unix) at least.
 * Created on first use, when the outer producer says which of its spans the root call nests in:
 * asking once, at creation, keeps every span of the trace on the same trace id.
 */
static struct id_entry *trace_get(struct stitcher *s, uint64_t root, uint32_t pid, uint32_t tid,
				  uint64_t t_ns, uint64_t end_ns)
{
	uint8_t trace_id[BT_TRACE_ID_LEN], parent_id[BT_SPAN_ID_LEN];
	struct id_entry *t = idmap_find(s->traces, root);
	uint64_t key;

	if (t)
		return t;
	t = idmap_get(s->traces, root);
	if (!t || !s->outer || !tid)
		return t;
	key = ask_outer(s, pid, tid, t_ns, end_ns, trace_id, parent_id);
	if (key) {
		t->outer_key = key;
		memcpy(t->trace_id, trace_id, sizeof(trace_id));
		memcpy(t->outer_parent, parent_id, sizeof(parent_id));
	}
	return t;
}

uint64_t stitcher_place_outer(struct stitcher *s, struct bt_span *span, uint32_t pid, uint32_t tid)
{
	uint8_t trace_id[BT_TRACE_ID_LEN], parent_id[BT_SPAN_ID_LEN];
	uint64_t key;

	if (!s || !s->outer || !tid)
		return 0;
	key = ask_outer(s, pid, tid, span->start_ns, span->end_ns, trace_id, parent_id);
	if (key) {
		memcpy(span->trace_id, trace_id, sizeof(trace_id));
		memcpy(span->parent_span_id, parent_id, sizeof(parent_id));
	}
	return key;
}

int stitcher_parent(struct stitcher *s, struct bt_span *span, uint64_t call_id, uint64_t root_id,
		    uint32_t pid, uint32_t tid)
{
	struct id_entry *c, *t;

	if (!call_id) {
		bt_random_id(span->trace_id, sizeof(span->trace_id));
		memset(span->parent_span_id, 0, sizeof(span->parent_span_id));
		return 0;
	}
	c = idmap_get(s->calls, call_id);
	t = trace_get(s, root_id ? root_id : call_id, pid, tid, span->start_ns, span->end_ns);
	if (!c || !t)
		return -ENOMEM;
	memcpy(span->trace_id, t->trace_id, sizeof(span->trace_id));
	memcpy(span->parent_span_id, c->span_id, sizeof(span->parent_span_id));
	return 0;
}

void stitcher_ref(struct stitcher *s, uint64_t call_id, uint64_t root_id, uint32_t pid,
		  uint32_t tid, uint64_t t_ns)
{
	if (!call_id)
		return;
	idmap_get(s->calls, call_id);
	trace_get(s, root_id ? root_id : call_id, pid, tid, t_ns, t_ns);
}

int stitcher_adopt(struct stitcher *s, struct bt_span *span, uint64_t call_id, uint64_t parent_id,
		   uint64_t root_id)
{
	struct id_entry *self = idmap_get(s->calls, call_id);
	int err;

	if (!self)
		return -ENOMEM;
	/* a server frame is a trace root: nothing to ask an outer producer */
	err = stitcher_parent(s, span, parent_id, root_id ? root_id : call_id, 0, 0);
	if (err)
		return err;
	if (!parent_id) {
		struct id_entry *t = idmap_get(s->traces, root_id ? root_id : call_id);

		if (!t)
			return -ENOMEM;
		memcpy(span->trace_id, t->trace_id, sizeof(span->trace_id));
	}
	memcpy(span->span_id, self->span_id, sizeof(span->span_id));
	return 0;
}

static bool has_usage(const struct bt_genai_usage *u)
{
	return u->has_tokens || u->has_cost;
}

static void set_totals(struct bt_span *root, int64_t in, int64_t out, double cost, bool has_tokens,
		       bool has_cost)
{
	if (has_tokens) {
		bt_attrs_set_int(&root->attrs, ATTR_BEDTRACE_TRACE_GEN_AI_USAGE_INPUT_TOKENS, in);
		bt_attrs_set_int(&root->attrs, ATTR_BEDTRACE_TRACE_GEN_AI_USAGE_OUTPUT_TOKENS, out);
	}
	if (has_cost)
		bt_attrs_set_double(&root->attrs, ATTR_BEDTRACE_TRACE_COST_USD, cost);
}

void stitcher_add_usage(struct stitcher *s, uint64_t root_id, const struct bt_span *span)
{
	const struct bt_genai_usage *u = &span->usage;
	struct id_entry *t;

	if (!root_id || !has_usage(u))
		return;
	t = idmap_get(s->traces, root_id);
	/* a root call inside a sampled Python call: the totals belong to that trace's root */
	if (t && t->outer_key)
		t = idmap_get(s->traces, t->outer_key);
	if (!t)
		return;
	if (u->has_tokens) {
		t->input_tokens += u->input_tokens;
		t->output_tokens += u->output_tokens;
		t->has_usage = true;
	}
	if (u->has_cost) {
		t->cost_usd += u->cost_usd;
		t->has_cost = true;
	}
}

void stitcher_take_totals(struct stitcher *s, uint64_t key, struct bt_span *root)
{
	struct id_entry *t = key ? idmap_find(s->traces, key) : NULL;

	if (!t)
		return;
	set_totals(root, t->input_tokens, t->output_tokens, t->cost_usd, t->has_usage, t->has_cost);
	idmap_finish(s->traces, key, bt_now_mono_ns(), ID_GRACE_NS);
}

void stitcher_set_own_totals(struct bt_span *root)
{
	const struct bt_genai_usage *u = &root->usage;

	if (has_usage(u))
		set_totals(root, u->input_tokens, u->output_tokens, u->cost_usd, u->has_tokens,
			   u->has_cost);
}

int stitcher_call(struct stitcher *s, const struct bt_call_event *e, const struct probe_info *p)
{
	/* the clock is read only for ids that expire: most calls have none */
	uint64_t now = 0;
	struct id_entry *self, *trace;
	struct bt_span *span;
	const char *name = p ? p->name : "unknown";
	unsigned reason = e->reason;
	int err = -ENOMEM;

	span = bt_span_new(name, BT_KIND_INTERNAL);
	if (!span)
		return -ENOMEM;
	/*
	 * Only calls something referred to (a child, a request sent inside) have map entries;
	 * a call nobody referred to keeps the random ids bt_span_new() gave it, which keeps the
	 * maps small at high call rates.
	 */
	self = idmap_find(s->calls, e->call_id);
	if (self)
		memcpy(span->span_id, self->span_id, sizeof(span->span_id));
	/*
	 * A root call gets an entry only when something referred to it, or when it may nest in a
	 * sampled Python call (an outer producer is there).
	 */
	if (e->parent_id || s->outer)
		trace = trace_get(s, e->parent_id ? e->root_id : e->call_id, e->pid, e->tid,
				  bt_mono_to_unix_ns(e->entry_ns), bt_mono_to_unix_ns(e->exit_ns));
	else
		trace = idmap_find(s->traces, e->call_id);
	if ((e->parent_id || s->outer) && !trace)
		goto fail;
	if (trace)
		memcpy(span->trace_id, trace->trace_id, sizeof(span->trace_id));
	if (!e->parent_id && trace && trace->outer_key)
		memcpy(span->parent_span_id, trace->outer_parent, sizeof(span->parent_span_id));
	if (e->parent_id) {
		struct id_entry *parent = idmap_get(s->calls, e->parent_id);

		if (!parent)
			goto fail;
		memcpy(span->parent_span_id, parent->span_id, sizeof(span->parent_span_id));
	}
	span->start_ns = bt_mono_to_unix_ns(e->entry_ns);
	span->end_ns = bt_mono_to_unix_ns(e->exit_ns);
	bt_attrs_set_str(&span->attrs, ATTR_CODE_FUNCTION_NAME, name);
	bt_attrs_set_int(&span->attrs, ATTR_THREAD_ID, e->tid);
	bt_attrs_set_int(&span->attrs, ATTR_BEDTRACE_CALL_DEPTH, e->depth);
	bt_attrs_set_str(&span->attrs, ATTR_BEDTRACE_END_REASON,
			 reason < sizeof(end_reason_name) / sizeof(end_reason_name[0]) &&
				 end_reason_name[reason]
			     ? end_reason_name[reason]
			     : "unknown");
	if (p) {
		bt_attrs_set_str(&span->attrs, ATTR_BEDTRACE_OBJECT_PATH, p->object);
		bt_attrs_set_str(&span->attrs, ATTR_BEDTRACE_FUNCTION_SYMBOL, p->symbol);
	}
	if (reason == BT_END_RETURN) {
		/* raw return register: callers know whether it is an int, a pointer or nothing */
		bt_attrs_set_int(&span->attrs, ATTR_BEDTRACE_FUNCTION_RETURN_VALUE,
				 (int64_t)e->retval);
	} else if (reason == BT_END_OPEN) {
		bt_attrs_set_bool(&span->attrs, ATTR_BEDTRACE_SPAN_INCOMPLETE, true);
	} else {
		const char *msg = reason < sizeof(end_reason_msg) / sizeof(end_reason_msg[0]) &&
					  end_reason_msg[reason]
				      ? end_reason_msg[reason]
				      : "call did not return";

		if (bt_span_set_status(span, BT_STATUS_ERROR, msg))
			goto fail;
	}
	if (span->attrs.err)
		goto fail;
	if (s->resource)
		bt_span_set_resource(span, s->resource(s->ctx, e->pid));
	if ((!e->parent_id && trace) || self)
		now = bt_now_mono_ns();
	if (!e->parent_id && trace) {
		/* nested in a sampled call, the trace's totals go on that trace's root instead */
		if (!trace->outer_key)
			set_totals(span, trace->input_tokens, trace->output_tokens, trace->cost_usd,
				   trace->has_usage, trace->has_cost);
		idmap_finish(s->traces, e->call_id, now, ID_GRACE_NS);
	}
	if (self)
		idmap_finish(s->calls, e->call_id, now, ID_GRACE_NS);
	s->sink(s->ctx, span);
	return 0;
fail:
	bt_span_free(span);
	return err;
}

void stitcher_forget(struct stitcher *s, const struct bt_call_event *e)
{
	uint64_t now = bt_now_mono_ns();

	idmap_finish(s->calls, e->call_id, now, ID_GRACE_NS);
	if (!e->parent_id)
		idmap_finish(s->traces, e->call_id, now, ID_GRACE_NS);
}

void stitcher_tick(struct stitcher *s, uint64_t now_mono_ns)
{
	idmap_expire(s->calls, now_mono_ns);
	idmap_expire(s->traces, now_mono_ns);
}
