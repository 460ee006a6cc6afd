// SPDX-License-Identifier: MIT
/* Sampled Python calls → spans: samples fed by hand, no interpreter. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/attrs.h"
#include "probe/pyreader.h"
#include "span/pysample.h"

#define PID 4242
#define MS 1000000ull

struct sink {
	struct bt_span *spans[64];
	size_t n;
};

static void collect(void *ctx, struct bt_span *span)
{
	struct sink *k = ctx;

	assert_true(k->n < 64);
	k->spans[k->n++] = span;
}

static void free_sink(struct sink *k)
{
	for (size_t i = 0; i < k->n; i++)
		bt_span_free(k->spans[i]);
	k->n = 0;
}

static const struct py_code code_module = {0x1000, "app.<module>", "<module>",
					   "app",  "/srv/app.py",  1};
static const struct py_code code_handle = {0x2000, "app.handle",  "handle",
					   "app",  "/srv/app.py", 10};
static const struct py_code code_helper = {0x3000, "lib.helper", "helper", "lib", "/srv/lib.py", 3};
static const struct py_code code_step = {0x4000, "app.step", "step", "app", "/srv/app.py", 20};
/* app.handle alone, and app.handle calling app.step: the stacks most tests feed */
static const struct py_frame handle_only[] = {{0xb0, &code_handle, 7, false, 0}};
static const struct py_frame handle_step[] = {{0xb0, &code_handle, 7, false, 0},
					      {0xd0, &code_step, 1, false, 0}};

/* One thread's stack of @n frames (outermost first) in a one-thread sample at @t_ms. */
struct one {
	struct py_frame frames[8];
	struct py_thread_stack th;
	struct py_sample smp;
};

static const struct py_sample *sample(struct one *o, uint64_t t_ms, uint32_t tid,
				      const struct py_frame *frames, size_t n)
{
	memset(o, 0, sizeof(*o));
	memcpy(o->frames, frames, n * sizeof(*frames));
	o->th.tid = tid;
	o->th.tstate = 0x70000 + tid;
	o->th.n_frames = n;
	o->th.frames = o->frames;
	o->smp.t_ns = t_ms * MS;
	o->smp.n_threads = 1;
	o->smp.threads = &o->th;
	return &o->smp;
}

static struct pysampler *new_sampler(struct sink *k, struct stitcher **st)
{
	static const char *const globs[] = {"app.*"};
	struct pysampler_opts o = {.globs = globs, .n_globs = 1, .hz = 1000};
	struct pysampler *ps;

	*st = stitcher_new(collect, NULL, k);
	assert_non_null(*st);
	ps = pysampler_new(&o, *st, collect, NULL, k);
	assert_non_null(ps);
	assert_int_equal(pysampler_track(ps, PID), 0);
	return ps;
}

/* Frees what new_sampler made and the spans it built. */
static void teardown(struct sink *k, struct pysampler *ps, struct stitcher *st)
{
	free_sink(k);
	pysampler_free(ps);
	stitcher_free(st);
}

static struct bt_span *find(struct sink *k, const char *name, size_t nth)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->spans[i]->name, name) == 0 && nth-- == 0)
			return k->spans[i];
	return NULL;
}

static uint64_t unix_ms(uint64_t ms)
{
	return bt_mono_to_unix_ns(ms * MS);
}

/*
 * A call seen by samples 2..4 of a thread: starts at 2, ends at 5 (the first sample without it);
 * frames that match no glob are left out, and nesting follows the matched ones.
 */
static void test_pysample_span_bounds_and_nesting(void **state)
{
	const struct py_frame outer[] = {{0xa0, &code_module, 5, false, 0},
					 {0xb0, &code_handle, 7, false, 0}};
	const struct py_frame inner[] = {{0xa0, &code_module, 5, false, 0},
					 {0xb0, &code_handle, 7, false, 0},
					 {0xc0, &code_helper, 9, false, 0},
					 {0xd0, &code_step, 1, false, 0}};
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct bt_span *handle, *step, *mod;
	struct one o;

	(void)state;
	pysampler_feed(ps, PID, sample(&o, 1, 7, outer, 2));
	pysampler_feed(ps, PID, sample(&o, 2, 7, inner, 4));
	pysampler_feed(ps, PID, sample(&o, 3, 7, inner, 4));
	pysampler_feed(ps, PID, sample(&o, 4, 7, inner, 4));
	pysampler_feed(ps, PID, sample(&o, 5, 7, outer, 2));
	pysampler_stop(ps);
	assert_int_equal(k.n, 3);
	step = find(&k, "app.step", 0);
	handle = find(&k, "app.handle", 0);
	mod = find(&k, "app.<module>", 0);
	assert_non_null(step);
	assert_non_null(handle);
	assert_non_null(mod);
	assert_int_equal(step->start_ns, unix_ms(2));
	assert_int_equal(step->end_ns, unix_ms(5));
	/* lib.helper between them matches no glob: step nests in handle */
	assert_memory_equal(step->parent_span_id, handle->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(step->trace_id, handle->trace_id, BT_TRACE_ID_LEN);
	assert_memory_equal(handle->parent_span_id, mod->span_id, BT_SPAN_ID_LEN);
	assert_int_equal(iattr(step, "bedtrace.sample.count"), 3);
	assert_int_equal(iattr(step, "bedtrace.sample.period_ns"), 1000000);
	assert_int_equal(iattr(step, "code.line.number"), 20);
	assert_int_equal(iattr(step, "thread.id"), 7);
	assert_int_equal(iattr(step, "bedtrace.call.depth"), 2);
	assert_string_equal(sattr(step, "code.file.path"), "/srv/app.py");
	assert_true(battr(step, "bedtrace.span.sampled"));
	/* still open when sampling stopped */
	assert_true(battr(handle, "bedtrace.span.incomplete"));
	assert_null(bt_attrs_get(&step->attrs, "bedtrace.span.incomplete"));
	teardown(&k, ps, st);
}

/* The same function called again from another line (or the same frame slot reused) is a new
 * call; a torn sample tells nothing. */
static void test_pysample_calls_told_apart(void **state)
{
	const struct py_frame *a = handle_step;
	const struct py_frame b[] = {{0xb0, &code_handle, 8, false, 0},
				     {0xd0, &code_step, 1, false, 0}};
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct pysampler_stats stats;
	struct one o;

	(void)state;
	pysampler_feed(ps, PID, sample(&o, 1, 7, a, 2));
	pysampler_feed(ps, PID, sample(&o, 2, 7, b, 2)); /* the caller moved on: a new call */
	sample(&o, 3, 7, NULL, 0);
	o.th.torn = true;
	pysampler_feed(ps, PID, &o.smp); /* nothing learnt */
	pysampler_feed(ps, PID, sample(&o, 4, 7, b, 2));
	pysampler_stop(ps);
	assert_non_null(find(&k, "app.step", 1));
	assert_null(find(&k, "app.step", 2));
	assert_int_equal(find(&k, "app.step", 0)->end_ns, unix_ms(2));
	assert_int_equal(find(&k, "app.step", 1)->start_ns, unix_ms(2));
	/* one handle throughout: its own frame and caller did not change */
	assert_null(find(&k, "app.handle", 1));
	pysampler_get_stats(ps, &stats);
	assert_int_equal(stats.seen_once, 1);
	assert_int_equal(stats.torn, 1);
	teardown(&k, ps, st);
}

/*
 * A sample that shows a call gone and another in its place, taken back by the next sample that
 * shows the first call as it was: one call throughout, the other one dropped.
 */
static void test_pysample_glitch_taken_back(void **state)
{
	const struct py_frame *a = handle_step;
	const struct py_frame odd[] = {{0xb0, &code_handle, 7, false, 0},
				       {0xe0, &code_module, 1, false, 0}};
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct pysampler_stats stats;
	struct one o;

	(void)state;
	pysampler_feed(ps, PID, sample(&o, 1, 7, a, 2));
	pysampler_feed(ps, PID, sample(&o, 2, 7, odd, 2));
	pysampler_feed(ps, PID, sample(&o, 3, 7, a, 2));
	pysampler_feed(ps, PID, sample(&o, 4, 7, a, 1));
	pysampler_feed(ps, PID, sample(&o, 5, 7, a, 1));
	pysampler_stop(ps);
	assert_int_equal(k.n, 2);
	assert_null(find(&k, "app.<module>", 0));
	assert_int_equal(find(&k, "app.step", 0)->start_ns, unix_ms(1));
	/* the step ended when sample 4 stopped showing it, confirmed by sample 5 */
	assert_int_equal(find(&k, "app.step", 0)->end_ns, unix_ms(4));
	pysampler_get_stats(ps, &stats);
	assert_int_equal(stats.glitches, 1);
	teardown(&k, ps, st);
}

/* A thread missing from one round may be a thread list read mid-change; from two, it is gone,
 * and its calls ended at the first miss. */
static void test_pysample_thread_gone(void **state)
{
	const struct py_frame *a = handle_only;
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct one o;

	(void)state;
	pysampler_feed(ps, PID, sample(&o, 1, 7, a, 1));
	pysampler_feed(ps, PID, sample(&o, 2, 8, NULL, 0));
	pysampler_feed(ps, PID, sample(&o, 3, 7, a, 1));
	pysampler_feed(ps, PID, sample(&o, 4, 8, NULL, 0));
	pysampler_feed(ps, PID, sample(&o, 5, 8, NULL, 0));
	pysampler_stop(ps);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.spans[0]->start_ns, unix_ms(1));
	assert_int_equal(k.spans[0]->end_ns, unix_ms(4));
	assert_null(bt_attrs_get(&k.spans[0]->attrs, "bedtrace.span.incomplete"));
	teardown(&k, ps, st);
}

/*
 * Exact spans without a traced call around them nest in the innermost sampled call open on
 * their thread; one that started a little before that call was first seen moves its start back;
 * the trace's totals land on the outermost sampled call.
 */
static void test_pysample_outer_parent(void **state)
{
	const struct py_frame *outer = handle_only, *inner = handle_step;
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct bt_span *req = bt_span_new("chat m", BT_KIND_CLIENT);
	struct bt_span *other = bt_span_new("GET", BT_KIND_CLIENT);
	struct bt_span *step, *handle;
	uint64_t key;
	struct one o;

	(void)state;
	stitcher_set_outer(st, pysampler_outer, ps);
	pysampler_feed(ps, PID, sample(&o, 10, 7, outer, 1));
	pysampler_feed(ps, PID, sample(&o, 11, 7, inner, 2));
	pysampler_feed(ps, PID, sample(&o, 12, 7, inner, 2));
	pysampler_feed(ps, PID, sample(&o, 13, 7, outer, 1));
	/* the request started at 10.6 ms: within a period before step was first seen */
	req->start_ns = unix_ms(10) + 600000;
	key = stitcher_place_outer(st, req, PID, 7);
	assert_true(key != 0);
	req->usage.has_tokens = true;
	req->usage.input_tokens = 5;
	req->usage.output_tokens = 7;
	stitcher_add_usage(st, key, req);
	/* another thread: nothing open there */
	other->start_ns = unix_ms(11);
	assert_int_equal(stitcher_place_outer(st, other, PID, 99), 0);
	pysampler_stop(ps);
	step = find(&k, "app.step", 0);
	handle = find(&k, "app.handle", 0);
	assert_non_null(step);
	assert_non_null(handle);
	assert_memory_equal(req->parent_span_id, step->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(req->trace_id, handle->trace_id, BT_TRACE_ID_LEN);
	assert_int_equal(step->start_ns, req->start_ns);
	assert_int_equal(handle->start_ns, unix_ms(10));
	assert_int_equal(iattr(handle, "bedtrace.trace.gen_ai.usage.output_tokens"), 7);
	bt_span_free(req);
	bt_span_free(other);
	teardown(&k, ps, st);
}

/*
 * Samples of a thread that came late or read its stack torn: an exact span that started after
 * the thread's last sample read whole, more than a period before a call's first sample, is
 * inside that call; with samples on time, one that started before the last sample without the
 * call is not.
 */
static void test_pysample_outer_parent_after_torn_samples(void **state)
{
	const struct py_frame *outer = handle_only, *inner = handle_step;
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct bt_span *late = bt_span_new("chat m", BT_KIND_CLIENT);
	struct bt_span *early = bt_span_new("GET", BT_KIND_CLIENT);
	struct bt_span *fresh = bt_span_new("POST", BT_KIND_CLIENT);
	struct bt_span *step, *handle, *step8;
	struct one o;

	(void)state;
	stitcher_set_outer(st, pysampler_outer, ps);
	pysampler_feed(ps, PID, sample(&o, 10, 7, outer, 1));
	sample(&o, 11, 7, inner, 2);
	o.th.torn = true;
	pysampler_feed(ps, PID, &o.smp);
	sample(&o, 12, 7, inner, 2);
	o.th.torn = true;
	pysampler_feed(ps, PID, &o.smp);
	pysampler_feed(ps, PID, sample(&o, 13, 7, inner, 2));
	pysampler_feed(ps, PID, sample(&o, 14, 7, outer, 1));
	pysampler_feed(ps, PID, sample(&o, 15, 7, outer, 1));
	pysampler_feed(ps, PID, sample(&o, 16, 7, inner, 2));
	pysampler_feed(ps, PID, sample(&o, 17, 7, outer, 1));
	/* a thread that appears in a round 3 ms after the last: it began since */
	pysampler_feed(ps, PID, sample(&o, 20, 7, outer, 1));
	pysampler_feed(ps, PID, sample(&o, 23, 8, inner, 2));
	pysampler_feed(ps, PID, sample(&o, 24, 8, outer, 1));
	fresh->start_ns = unix_ms(21);
	assert_true(stitcher_place_outer(st, fresh, PID, 8) != 0);
	/* 2.5 ms before step's first sample, after the last sample read whole (10 ms) */
	late->start_ns = unix_ms(10) + 500000;
	assert_true(stitcher_place_outer(st, late, PID, 7) != 0);
	/* 1.5 ms before the second step's first sample (16 ms), before the sample at 15 ms
	 * that showed handle alone: in handle */
	early->start_ns = unix_ms(14) + 500000;
	assert_true(stitcher_place_outer(st, early, PID, 7) != 0);
	pysampler_stop(ps);
	step = find(&k, "app.step", 0);
	handle = find(&k, "app.handle", 0);
	assert_non_null(step);
	assert_non_null(handle);
	assert_memory_equal(late->parent_span_id, step->span_id, BT_SPAN_ID_LEN);
	assert_int_equal(step->start_ns, late->start_ns);
	assert_memory_equal(early->parent_span_id, handle->span_id, BT_SPAN_ID_LEN);
	step8 = find(&k, "app.step", 2);
	assert_non_null(step8);
	assert_int_equal(iattr(step8, "thread.id"), 8);
	assert_memory_equal(fresh->parent_span_id, step8->span_id, BT_SPAN_ID_LEN);
	bt_span_free(fresh);
	bt_span_free(late);
	bt_span_free(early);
	teardown(&k, ps, st);
}

/*
 * A round that came 3 ms late saw one call of step end and the next begin (called from another
 * line of handle): an exact span that started in that gap was made by the first, whose samples
 * place it there; the next call's start stays at its first sample. One that started in the gap
 * but inside a call that began in it (deeper than the call the samples place there) is still
 * taken to be inside that one. On a second thread with the same samples, one that lasted past the
 * first call's end (a native call sleeping on) was made by the next: its start moves back.
 */
static void test_pysample_outer_parent_across_late_round(void **state)
{
	static const struct py_frame next_step[] = {{0xb0, &code_handle, 9, false, 0},
						    {0xd0, &code_step, 1, false, 0}};
	static const struct py_frame step_helper[] = {{0xb0, &code_handle, 9, false, 0},
						      {0xd0, &code_step, 4, false, 0},
						      {0xf0, &code_handle, 1, false, 0}};
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct bt_span *req = bt_span_new("chat m", BT_KIND_CLIENT);
	struct bt_span *deep = bt_span_new("GET", BT_KIND_CLIENT);
	struct bt_span *sleep = bt_span_new("clock_nanosleep", BT_KIND_INTERNAL);
	struct bt_span *first, *second, *inner, *holder = NULL;
	struct one o;
	uint32_t tid;
	size_t i;

	(void)state;
	stitcher_set_outer(st, pysampler_outer, ps);
	for (tid = 7; tid <= 8; tid++) {
		pysampler_feed(ps, PID, sample(&o, 10, tid, handle_step, 2));
		pysampler_feed(ps, PID, sample(&o, 11, tid, handle_step, 2));
		pysampler_feed(ps, PID, sample(&o, 14, tid, next_step, 2));
		pysampler_feed(ps, PID, sample(&o, 15, tid, next_step, 2));
		pysampler_feed(ps, PID, sample(&o, 19, tid, step_helper, 3));
		pysampler_feed(ps, PID, sample(&o, 20, tid, handle_only, 1));
	}
	sleep->start_ns = unix_ms(12) + 500000;
	sleep->end_ns = unix_ms(14) + 500000;
	assert_true(stitcher_place_outer(st, sleep, PID, 8) != 0);
	req->start_ns = unix_ms(12) + 500000;
	assert_true(stitcher_place_outer(st, req, PID, 7) != 0);
	/* after the last sample of the second step alone: in the handle call it made since */
	deep->start_ns = unix_ms(16);
	assert_true(stitcher_place_outer(st, deep, PID, 7) != 0);
	pysampler_stop(ps);
	first = find(&k, "app.step", 0);
	second = find(&k, "app.step", 1);
	/* the two calls of handle: the inner one began later */
	inner = find(&k, "app.handle", 0);
	assert_non_null(inner);
	if (find(&k, "app.handle", 1) && find(&k, "app.handle", 1)->start_ns > inner->start_ns)
		inner = find(&k, "app.handle", 1);
	assert_int_equal(iattr(first, "thread.id"), 7);
	assert_int_equal(iattr(second, "thread.id"), 7);
	assert_int_equal(iattr(inner, "thread.id"), 7);
	for (i = 0; i < k.n; i++)
		if (!memcmp(k.spans[i]->span_id, sleep->parent_span_id, BT_SPAN_ID_LEN))
			holder = k.spans[i];
	assert_non_null(holder);
	assert_string_equal(holder->name, "app.step");
	assert_int_equal(iattr(holder, "thread.id"), 8);
	assert_int_equal(holder->start_ns, sleep->start_ns);
	assert_int_equal(holder->end_ns, unix_ms(20));
	assert_non_null(first);
	assert_non_null(second);
	assert_int_equal(first->start_ns, unix_ms(10));
	assert_int_equal(first->end_ns, unix_ms(14));
	assert_memory_equal(req->parent_span_id, first->span_id, BT_SPAN_ID_LEN);
	assert_int_equal(second->start_ns, unix_ms(14));
	assert_memory_equal(deep->parent_span_id, inner->span_id, BT_SPAN_ID_LEN);
	assert_int_equal(inner->start_ns, deep->start_ns);
	bt_span_free(req);
	bt_span_free(deep);
	bt_span_free(sleep);
	teardown(&k, ps, st);
}

/*
 * A round 7 ms late (or rounds between read torn): the last samples of a request (handle A
 * calling step, at 10 and 11 ms) and the next one's (handle B, from the loop's next line, at
 * 18 ms). A span begun within a period and a half of step's last sample is step's, as the
 * samples place it; one begun later may come from a call after step that no sample saw (the
 * Bedrock call after prompt assembly): it goes to handle A, which held whatever step held, not
 * to step, which may have ended at 11 ms.
 */
static void test_pysample_outer_parent_past_last_sample(void **state)
{
	static const struct py_frame req_a[] = {{0xa0, &code_helper, 5, false, 0},
						{0xb0, &code_handle, 7, false, 0},
						{0xd0, &code_step, 1, false, 0}};
	static const struct py_frame req_b[] = {{0xa0, &code_helper, 6, false, 0},
						{0xb0, &code_handle, 7, false, 0},
						{0xd0, &code_step, 1, false, 0}};
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct bt_span *near = bt_span_new("GET", BT_KIND_CLIENT);
	struct bt_span *far = bt_span_new("chat m", BT_KIND_CLIENT);
	struct bt_span *step, *handle;
	struct one o;

	(void)state;
	stitcher_set_outer(st, pysampler_outer, ps);
	pysampler_feed(ps, PID, sample(&o, 10, 7, req_a, 3));
	pysampler_feed(ps, PID, sample(&o, 11, 7, req_a, 3));
	pysampler_feed(ps, PID, sample(&o, 18, 7, req_b, 3));
	near->start_ns = unix_ms(12);
	near->end_ns = unix_ms(12) + 800000;
	assert_true(stitcher_place_outer(st, near, PID, 7) != 0);
	far->start_ns = unix_ms(14);
	far->end_ns = unix_ms(15);
	assert_true(stitcher_place_outer(st, far, PID, 7) != 0);
	pysampler_stop(ps);
	step = find(&k, "app.step", 0);
	handle = find(&k, "app.handle", 0);
	assert_non_null(step);
	assert_non_null(handle);
	assert_int_equal(step->start_ns, unix_ms(10));
	assert_int_equal(handle->start_ns, unix_ms(10));
	assert_int_equal(handle->end_ns, unix_ms(18));
	assert_memory_equal(near->parent_span_id, step->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(far->parent_span_id, handle->span_id, BT_SPAN_ID_LEN);
	assert_memory_equal(far->trace_id, handle->trace_id, BT_TRACE_ID_LEN);
	bt_span_free(near);
	bt_span_free(far);
	teardown(&k, ps, st);
}

/*
 * An exec whose news came late: the samples at 12 and 13 ms read the new program's memory with
 * the old program's reader (the same executable, the same addresses). The old program's calls end
 * when the exec began (11.5 ms), by it; the new program's calls those samples saw are not the
 * old program's and are not sent; the new program's calls are those seen after the news.
 */
static void test_pysample_exec_heard_late(void **state)
{
	static const struct py_frame new_module[] = {{0x90, &code_module, 3, false, 0}};
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct bt_span *handle, *step, *module;
	struct one o;

	(void)state;
	pysampler_feed(ps, PID, sample(&o, 10, 7, handle_step, 2));
	pysampler_feed(ps, PID, sample(&o, 11, 7, handle_step, 2));
	pysampler_feed(ps, PID, sample(&o, 12, 7, new_module, 1));
	pysampler_feed(ps, PID, sample(&o, 13, 7, new_module, 1));
	pysampler_exec(ps, PID, unix_ms(11) + 500000);
	pysampler_feed(ps, PID, sample(&o, 14, 7, new_module, 1));
	pysampler_feed(ps, PID, sample(&o, 15, 7, handle_only, 1));
	pysampler_stop(ps);
	handle = find(&k, "app.handle", 0);
	step = find(&k, "app.step", 0);
	module = find(&k, "app.<module>", 0);
	assert_non_null(handle);
	assert_non_null(step);
	assert_non_null(module);
	assert_int_equal(handle->end_ns, unix_ms(11) + 500000);
	assert_string_equal(sattr(handle, "bedtrace.end_reason"), "exec");
	assert_int_equal(step->end_ns, unix_ms(11) + 500000);
	assert_string_equal(sattr(step, "bedtrace.end_reason"), "exec");
	/* one <module>: the one seen after the news, from its first sample then */
	assert_null(find(&k, "app.<module>", 1));
	assert_int_equal(module->start_ns, unix_ms(14));
	assert_int_equal(module->end_ns, unix_ms(15));
	assert_false(has(module, "bedtrace.end_reason"));
	teardown(&k, ps, st);
}

/*
 * A call whose first sample could not read its caller's locals (0) is the same call when the
 * next samples read them; a call whose caller's locals then change is another one (a loop's
 * next call).
 */
static void test_pysample_unknown_locals_same_call(void **state)
{
	const struct py_frame *unread = handle_step;
	const struct py_frame read1[] = {{0xb0, &code_handle, 7, false, 0x55},
					 {0xd0, &code_step, 1, false, 0}};
	const struct py_frame read2[] = {{0xb0, &code_handle, 7, false, 0x66},
					 {0xd0, &code_step, 1, false, 0}};
	struct sink k = {0};
	struct stitcher *st;
	struct pysampler *ps = new_sampler(&k, &st);
	struct bt_span *a, *b;
	struct one o;

	(void)state;
	pysampler_feed(ps, PID, sample(&o, 1, 7, unread, 2));
	pysampler_feed(ps, PID, sample(&o, 2, 7, read1, 2));
	pysampler_feed(ps, PID, sample(&o, 3, 7, read1, 2));
	pysampler_feed(ps, PID, sample(&o, 4, 7, read2, 2));
	pysampler_feed(ps, PID, sample(&o, 5, 7, read2, 2));
	pysampler_stop(ps);
	a = find(&k, "app.step", 0);
	b = find(&k, "app.step", 1);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(find(&k, "app.step", 2));
	assert_int_equal(a->start_ns, unix_ms(1));
	assert_int_equal(a->end_ns, unix_ms(4));
	assert_int_equal(iattr(a, "bedtrace.sample.count"), 3);
	assert_int_equal(b->start_ns, unix_ms(4));
	assert_int_equal(iattr(find(&k, "app.handle", 0), "bedtrace.sample.count"), 5);
	teardown(&k, ps, st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pysample_span_bounds_and_nesting),
	    cmocka_unit_test(test_pysample_calls_told_apart),
	    cmocka_unit_test(test_pysample_thread_gone),
	    cmocka_unit_test(test_pysample_glitch_taken_back),
	    cmocka_unit_test(test_pysample_outer_parent),
	    cmocka_unit_test(test_pysample_outer_parent_after_torn_samples),
	    cmocka_unit_test(test_pysample_outer_parent_across_late_round),
	    cmocka_unit_test(test_pysample_outer_parent_past_last_sample),
	    cmocka_unit_test(test_pysample_exec_heard_late),
	    cmocka_unit_test(test_pysample_unknown_locals_same_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
