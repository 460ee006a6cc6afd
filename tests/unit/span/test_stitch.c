// SPDX-License-Identifier: MIT
/* The stitcher: ids, parents and traces from call events; abandoned frames; GenAI totals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "span/stitch.h"

#include "lib/attrs.h"

#define MAX_SPANS 16

struct sink {
	struct bt_span *spans[MAX_SPANS];
	size_t n;
	struct bt_resource *res;
};

static void collect(void *ctx, struct bt_span *span)
{
	struct sink *k = ctx;

	assert_true(k->n < MAX_SPANS);
	k->spans[k->n++] = span;
}

static struct bt_resource *resource(void *ctx, uint32_t pid)
{
	struct sink *k = ctx;

	return pid == 42 ? k->res : NULL;
}

static struct probe_info probe = {"outer_fn", "_Z8outer_fnv", "/bin/app", 0x1000};

static struct bt_call_event call(uint64_t id, uint64_t parent, uint64_t root, uint16_t depth,
				 uint16_t reason, uint64_t entry, uint64_t exit)
{
	struct bt_call_event e = {
	    .type = BT_EV_CALL,
	    .pid = 42,
	    .tid = 43,
	    .entry_ns = entry,
	    .exit_ns = exit,
	    .retval = (uint64_t)-5,
	    .call_id = id,
	    .parent_id = parent,
	    .root_id = root,
	    .depth = depth,
	    .reason = reason,
	};
	return e;
}

static void free_sink(struct sink *k)
{
	for (size_t i = 0; i < k->n; i++)
		bt_span_free(k->spans[i]);
	bt_resource_put(k->res);
}

/* children end first; each links to its parent's span id and shares the root's trace id */
static void test_stitch_nesting(void **state)
{
	struct sink k = {.res = bt_resource_new()};
	struct stitcher *s = stitcher_new(collect, resource, &k);
	struct bt_call_event inner = call(3, 2, 1, 2, BT_END_RETURN, 300, 400);
	struct bt_call_event mid = call(2, 1, 1, 1, BT_END_RETURN, 200, 500);
	struct bt_call_event root = call(1, 0, 1, 0, BT_END_RETURN, 100, 600);

	(void)state;
	assert_non_null(s);
	assert_int_equal(stitcher_call(s, &inner, &probe), 0);
	assert_int_equal(stitcher_call(s, &mid, &probe), 0);
	assert_int_equal(stitcher_call(s, &root, &probe), 0);
	assert_int_equal(k.n, 3);
	assert_memory_equal(k.spans[0]->parent_span_id, k.spans[1]->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(k.spans[1]->parent_span_id, k.spans[2]->span_id, BT_SPAN_ID_LEN);
	for (size_t i = 0; i < BT_SPAN_ID_LEN; i++)
		assert_int_equal(k.spans[2]->parent_span_id[i], 0);
	assert_memory_equal(k.spans[0]->trace_id, k.spans[2]->trace_id, BT_TRACE_ID_LEN);
	assert_memory_equal(k.spans[1]->trace_id, k.spans[2]->trace_id, BT_TRACE_ID_LEN);
	assert_memory_not_equal(k.spans[0]->span_id, k.spans[1]->span_id, BT_SPAN_ID_LEN);
	assert_int_equal(k.spans[2]->end_ns - k.spans[2]->start_ns, 500);
	assert_int_equal(iattr(k.spans[0], "thread.id"), 43);
	assert_int_equal(iattr(k.spans[0], "bedtrace.function.return_value"), -5);
	assert_int_equal(iattr(k.spans[0], "bedtrace.call.depth"), 2);
	assert_string_equal(sattr(k.spans[0], "code.function.name"), "outer_fn");
	assert_string_equal(sattr(k.spans[0], "bedtrace.object.path"), "/bin/app");
	assert_ptr_equal(k.spans[0]->resource, k.res);
	assert_int_equal(k.spans[0]->status, BT_STATUS_UNSET);
	assert_int_equal(k.spans[0]->kind, BT_KIND_INTERNAL);
	stitcher_free(s);
	free_sink(&k);
}

/* two outermost calls are two traces */
static void test_stitch_roots_start_traces(void **state)
{
	struct sink k = {0};
	struct stitcher *s = stitcher_new(collect, resource, &k);
	struct bt_call_event a = call(10, 0, 10, 0, BT_END_RETURN, 1, 2);
	struct bt_call_event b = call(11, 0, 11, 0, BT_END_RETURN, 3, 4);

	(void)state;
	assert_int_equal(stitcher_call(s, &a, &probe), 0);
	assert_int_equal(stitcher_call(s, &b, &probe), 0);
	assert_memory_not_equal(k.spans[0]->trace_id, k.spans[1]->trace_id, BT_TRACE_ID_LEN);
	stitcher_free(s);
	free_sink(&k);
}

/* every way of leaving a call without returning is ERROR with a reason; open ones are not */
static void test_stitch_abandoned_frames(void **state)
{
	static const struct {
		uint16_t reason;
		const char *name, *msg_part;
		enum bt_status_code status;
	} cases[] = {
	    {BT_END_EXCEPTION, "exception", "exception", BT_STATUS_ERROR},
	    {BT_END_LONGJMP, "longjmp", "longjmp", BT_STATUS_ERROR},
	    {BT_END_UNWOUND, "unwound", "without returning", BT_STATUS_ERROR},
	    {BT_END_THREAD_EXIT, "thread_exit", "thread exited", BT_STATUS_ERROR},
	    {BT_END_PROCESS_EXIT, "process_exit", "process exited", BT_STATUS_ERROR},
	    {BT_END_OPEN, "tracing_stopped", NULL, BT_STATUS_UNSET},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sink k = {0};
		struct stitcher *s = stitcher_new(collect, resource, &k);
		struct bt_call_event e = call(5, 4, 4, 1, cases[i].reason, 10, 20);

		assert_int_equal(stitcher_call(s, &e, &probe), 0);
		assert_int_equal(k.spans[0]->status, cases[i].status);
		assert_string_equal(sattr(k.spans[0], "bedtrace.end_reason"), cases[i].name);
		/* no return value is claimed for a call that did not return */
		assert_null(bt_attrs_get(&k.spans[0]->attrs, "bedtrace.function.return_value"));
		if (cases[i].msg_part)
			assert_non_null(strstr(k.spans[0]->status_message, cases[i].msg_part));
		else
			assert_true(battr(k.spans[0], "bedtrace.span.incomplete"));
		stitcher_free(s);
		free_sink(&k);
	}
}

/* a span placed inside an open call (an HTTP request) joins its trace under it */
static void test_stitch_parent_for_other_spans(void **state)
{
	struct sink k = {0};
	struct stitcher *s = stitcher_new(collect, resource, &k);
	struct bt_span *http = bt_span_new("POST", BT_KIND_CLIENT);
	struct bt_call_event root = call(7, 0, 7, 0, BT_END_RETURN, 1, 9);

	(void)state;
	stitcher_ref(s, 7, 7, 1, 1, 0);
	assert_int_equal(stitcher_parent(s, http, 7, 7, 1, 1), 0);
	assert_int_equal(stitcher_call(s, &root, &probe), 0);
	assert_memory_equal(http->parent_span_id, k.spans[0]->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(http->trace_id, k.spans[0]->trace_id, BT_TRACE_ID_LEN);
	bt_span_free(http);
	stitcher_free(s);
	free_sink(&k);
}

static void set_usage(struct bt_span *span, int64_t in, int64_t out, double cost)
{
	span->usage.has_tokens = true;
	span->usage.input_tokens = in;
	span->usage.output_tokens = out;
	span->usage.has_cost = true;
	span->usage.cost_usd = cost;
}

/*
 * The root of a trace carries the tokens and cost of the model calls under it, read from the
 * typed span->usage: these spans have no gen_ai.* attribute at all.
 */
static void test_stitch_trace_totals(void **state)
{
	struct sink k = {0};
	struct stitcher *s = stitcher_new(collect, resource, &k);
	struct bt_span *b1 = bt_span_new("chat m", BT_KIND_CLIENT);
	struct bt_span *b2 = bt_span_new("chat m", BT_KIND_CLIENT);
	struct bt_call_event root = call(20, 0, 20, 0, BT_END_RETURN, 1, 9);

	(void)state;
	set_usage(b1, 8, 10, 0.25);
	set_usage(b2, 2, 1, 0.5);
	assert_int_equal(b1->attrs.n, 0);
	stitcher_add_usage(s, 20, b1);
	stitcher_add_usage(s, 20, b2);
	assert_int_equal(stitcher_call(s, &root, &probe), 0);
	assert_int_equal(iattr(k.spans[0], "bedtrace.trace.gen_ai.usage.input_tokens"), 10);
	assert_int_equal(iattr(k.spans[0], "bedtrace.trace.gen_ai.usage.output_tokens"), 11);
	assert_float_equal(dattr(k.spans[0], "bedtrace.trace.cost.usd"), 0.75, 1e-12);
	stitcher_set_own_totals(b1);
	assert_int_equal(iattr(b1, "bedtrace.trace.gen_ai.usage.input_tokens"), 8);
	bt_span_free(b1);
	bt_span_free(b2);
	stitcher_free(s);
	free_sink(&k);
}

/* attributes are not read back: a span with usage attributes and no typed usage adds nothing */
static void test_stitch_totals_ignore_attributes(void **state)
{
	struct sink k = {0};
	struct stitcher *s = stitcher_new(collect, resource, &k);
	struct bt_span *b = bt_span_new("chat m", BT_KIND_CLIENT);
	struct bt_call_event root = call(21, 0, 21, 0, BT_END_RETURN, 1, 9);

	(void)state;
	bt_attrs_set_int(&b->attrs, "gen_ai.usage.input_tokens", 8);
	bt_attrs_set_double(&b->attrs, "bedtrace.cost.usd", 0.25);
	stitcher_ref(s, 21, 21, 1, 1, 0);
	stitcher_add_usage(s, 21, b);
	assert_int_equal(stitcher_call(s, &root, &probe), 0);
	assert_null(bt_attrs_get(&k.spans[0]->attrs, "bedtrace.trace.gen_ai.usage.input_tokens"));
	assert_null(bt_attrs_get(&k.spans[0]->attrs, "bedtrace.trace.cost.usd"));
	/* tokens without a price: token totals, no cost total */
	b->usage.has_tokens = true;
	b->usage.input_tokens = 3;
	b->usage.output_tokens = 4;
	stitcher_set_own_totals(b);
	assert_int_equal(attr(b, "bedtrace.trace.gen_ai.usage.output_tokens")->i, 4);
	assert_null(bt_attrs_get(&b->attrs, "bedtrace.trace.cost.usd"));
	bt_span_free(b);
	stitcher_free(s);
	free_sink(&k);
}

/* a SERVER span takes the identity of its BPF frame: the handler's calls point at it */
static void test_stitch_adopt_server_frame(void **state)
{
	struct sink k = {0};
	struct stitcher *s = stitcher_new(collect, resource, &k);
	struct bt_span *srv = bt_span_new("GET", BT_KIND_SERVER);
	struct bt_call_event handler = call(31, 30, 30, 1, BT_END_RETURN, 5, 6);

	(void)state;
	assert_int_equal(stitcher_call(s, &handler, &probe), 0);
	assert_int_equal(stitcher_adopt(s, srv, 30, 0, 30), 0);
	assert_memory_equal(k.spans[0]->parent_span_id, srv->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(k.spans[0]->trace_id, srv->trace_id, BT_TRACE_ID_LEN);
	for (size_t i = 0; i < BT_SPAN_ID_LEN; i++)
		assert_int_equal(srv->parent_span_id[i], 0);
	bt_span_free(srv);
	stitcher_free(s);
	free_sink(&k);
}

/* An outer producer with one span open on thread 43 of process 42 from time 100 on. */
struct outer {
	uint8_t trace_id[BT_TRACE_ID_LEN], span_id[BT_SPAN_ID_LEN];
	unsigned asked;
};

static uint64_t outer(void *ctx, uint32_t pid, uint32_t tid, uint64_t t_ns, uint64_t end_ns,
		      uint8_t *trace_id, uint8_t *parent_id)
{
	struct outer *o = ctx;

	o->asked++;
	assert_true(end_ns >= t_ns);
	if (pid != 42 || tid != 43 || t_ns < 100)
		return 0;
	memcpy(trace_id, o->trace_id, BT_TRACE_ID_LEN);
	memcpy(parent_id, o->span_id, BT_SPAN_ID_LEN);
	return 1ull << 62 | 1;
}

/*
 * Outermost calls and requests with no call around them nest in the outer producer's span; the
 * trace's usage collects under the outer key and lands on the span that takes its totals.
 */
static void test_stitch_outer_producer(void **state)
{
	struct sink k = {0};
	struct stitcher *s = stitcher_new(collect, resource, &k);
	struct outer o = {.trace_id = {9, 9}, .span_id = {7, 7}};
	struct bt_span *http = bt_span_new("chat m", BT_KIND_CLIENT);
	struct bt_span *bare = bt_span_new("GET", BT_KIND_CLIENT);
	struct bt_span *py_root = bt_span_new("app.main", BT_KIND_INTERNAL);
	/* root call 50 (entry at unix time ≥ 100) with a child that ends first */
	struct bt_call_event child = call(51, 50, 50, 1, BT_END_RETURN, 0, 9);
	struct bt_call_event root = call(50, 0, 50, 0, BT_END_RETURN, 0, 10);

	(void)state;
	stitcher_set_outer(s, outer, &o);
	child.entry_ns = root.entry_ns = 1000;
	assert_int_equal(stitcher_call(s, &child, &probe), 0);
	assert_int_equal(stitcher_call(s, &root, &probe), 0);
	/* asked once, when the trace's entry was made */
	assert_int_equal(o.asked, 1);
	assert_memory_equal(k.spans[0]->trace_id, o.trace_id, BT_TRACE_ID_LEN);
	assert_memory_equal(k.spans[1]->trace_id, o.trace_id, BT_TRACE_ID_LEN);
	assert_memory_equal(k.spans[1]->parent_span_id, o.span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(k.spans[0]->parent_span_id, k.spans[1]->span_id, BT_SPAN_ID_LEN);
	/* not the trace root: no totals on the native root */
	assert_null(bt_attrs_get(&k.spans[1]->attrs, "bedtrace.trace.cost.usd"));

	/* a request outside any traced call, made on that thread after 100 */
	http->start_ns = 200;
	assert_int_equal(stitcher_place_outer(s, http, 42, 43), 1ull << 62 | 1);
	assert_memory_equal(http->parent_span_id, o.span_id, BT_SPAN_ID_LEN);
	set_usage(http, 5, 6, 0.5);
	stitcher_add_usage(s, 1ull << 62 | 1, http);
	/* another thread: nothing there */
	bare->start_ns = 200;
	assert_int_equal(stitcher_place_outer(s, bare, 42, 44), 0);
	for (size_t i = 0; i < BT_SPAN_ID_LEN; i++)
		assert_int_equal(bare->parent_span_id[i], 0);
	stitcher_take_totals(s, 1ull << 62 | 1, py_root);
	assert_int_equal(iattr(py_root, "bedtrace.trace.gen_ai.usage.input_tokens"), 5);
	assert_float_equal(dattr(py_root, "bedtrace.trace.cost.usd"), 0.5, 1e-12);
	bt_span_free(http);
	bt_span_free(bare);
	bt_span_free(py_root);
	stitcher_free(s);
	free_sink(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stitch_nesting),
	    cmocka_unit_test(test_stitch_roots_start_traces),
	    cmocka_unit_test(test_stitch_abandoned_frames),
	    cmocka_unit_test(test_stitch_parent_for_other_spans),
	    cmocka_unit_test(test_stitch_trace_totals),
	    cmocka_unit_test(test_stitch_totals_ignore_attributes),
	    cmocka_unit_test(test_stitch_adopt_server_frame),
	    cmocka_unit_test(test_stitch_outer_producer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
