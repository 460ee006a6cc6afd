// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/probe/pyreader.c (the stack walker), pyoffsets.c (the 3.13 debug offsets)
 * and pyfind.c (version and name parsing), over synthetic process images (tests/lib/pyimage.h)
 * laid out by each version's real offsets table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/pyimage.h"
#include "probe/pyfind.h"
#include "probe/pymem.h"
#include "probe/pyoffsets.h"
#include "probe/pyreader.h"
#include "probe/pyreader_int.h"
#include "util/stopwatch.h"

static struct pyreader *open_img(struct pyimg *im)
{
	char err[256] = "";
	struct pyreader *r = pyreader_open_mem(im->m, &im->l, err, sizeof(err));

	if (!r)
		fail_msg("pyreader_open_mem: %s", err);
	return r;
}

static const struct py_thread_stack *find_tid(const struct py_sample *s, uint32_t tid)
{
	size_t i;

	for (i = 0; i < s->n_threads; i++)
		if (s->threads[i].tid == tid)
			return &s->threads[i];
	fail_msg("no thread %u in the sample", tid);
	return NULL;
}

/* Two threads: module -> outer -> Cls.inner, and run -> a generator frame -> helper. */
static void check_version(unsigned minor)
{
	uint64_t ts1, ts2, c_mod, c_outer, c_inner, c_run, c_gen, c_help, a1[3], a2[3];
	const struct py_thread_stack *t1, *t2;
	struct pyreader_stats st0, st1;
	struct py_sample s;
	struct pyreader *r;
	struct pyimg im;
	int kinds2[3] = {PYIMG_PLAIN, PYIMG_GEN, PYIMG_PLAIN};
	bool qual = minor >= 11;

	pyimg_init(&im, minor, 4000);
	c_mod = pyimg_code(&im, "<module>", "/srv/app.py", 1, 0);
	c_outer = pyimg_code(&im, "outer", "/srv/app.py", 10, 0);
	c_inner = pyimg_code(&im, "Cls.inner", "/srv/app.py", 20, 0);
	c_run = pyimg_code(&im, "run", "/srv/worker.py", 3, 0);
	c_gen = pyimg_code(&im, "produce", "/srv/worker.py", 7, PYOFF_CO_GENERATOR);
	c_help = pyimg_code(&im, "helper", "<string>", 1, 0);
	ts1 = pyimg_thread(&im, 4000);
	ts2 = pyimg_thread(&im, 4001);
	pyimg_stack(&im, ts1, 3, (uint64_t[]){c_mod, c_outer, c_inner}, NULL, a1);
	pyimg_stack(&im, ts2, 3, (uint64_t[]){c_run, c_gen, c_help}, kinds2, a2);
	r = open_img(&im);
	assert_string_equal(pyreader_version(r), im.l.version);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_int_equal(s.n_threads, 2);
	assert_true(s.t_ns > 0);
	t1 = find_tid(&s, 4000);
	t2 = find_tid(&s, 4001);
	assert_int_equal(t1->tstate, ts1);
	assert_int_equal(t2->tstate, ts2);
	assert_false(t1->torn);
	assert_false(t2->torn);
	assert_int_equal(t1->n_frames, 3);
	assert_int_equal(t2->n_frames, 3);
	/* outermost first */
	assert_string_equal(t1->frames[0].code->name, "app.<module>");
	assert_string_equal(t1->frames[1].code->name, "app.outer");
	assert_string_equal(t1->frames[2].code->name, qual ? "app.Cls.inner" : "app.inner");
	assert_string_equal(t1->frames[2].code->qualname, qual ? "Cls.inner" : "inner");
	assert_string_equal(t1->frames[2].code->module, "app");
	assert_string_equal(t1->frames[2].code->file, "/srv/app.py");
	assert_int_equal(t1->frames[2].code->first_line, 20);
	assert_int_equal(t1->frames[2].code->addr, c_inner);
	assert_int_equal(t1->frames[0].addr, a1[0]);
	assert_int_equal(t1->frames[2].addr, a1[2]);
	assert_int_equal(t1->frames[2].instr, 12);
	assert_false(t1->frames[1].generator);
	assert_string_equal(t2->frames[0].code->name, "worker.run");
	assert_string_equal(t2->frames[1].code->name, "worker.produce");
	assert_true(t2->frames[1].generator);
	assert_int_equal(t2->frames[1].addr, a2[1]);
	assert_string_equal(t2->frames[2].code->name, "<string>.helper");
	assert_false(t2->frames[2].generator);
	/* the same stacks again: one batched read, no code object read again */
	pyreader_get_stats(r, &st0);
	assert_int_equal(pyreader_sample(r, &s), 0);
	pyreader_get_stats(r, &st1);
	assert_int_equal(st1.syscalls - st0.syscalls, 1);
	assert_int_equal(st1.code_objects, 6);
	assert_int_equal(find_tid(&s, 4000)->n_frames, 3);
	assert_string_equal(find_tid(&s, 4001)->frames[2].code->name, "<string>.helper");
	/* a function never seen before, in two threads: its header, then the headers and the
	 * characters of its names, each one batched read for both */
	{
		uint64_t c_new = pyimg_code(&im, "Cls.fresh", "/srv/app.py", 40, 0);

		pyimg_put64(&im, a1[2] + im.o->frame_code, c_new);
		pyimg_put64(&im, a2[2] + im.o->frame_code, c_new);
		pyreader_get_stats(r, &st0);
		assert_int_equal(pyreader_sample(r, &s), 0);
		pyreader_get_stats(r, &st1);
		assert_int_equal(st1.syscalls - st0.syscalls, 4);
		assert_int_equal(st1.code_objects, 7);
		assert_string_equal(find_tid(&s, 4000)->frames[2].code->name,
				    qual ? "app.Cls.fresh" : "app.fresh");
		assert_ptr_equal(find_tid(&s, 4000)->frames[2].code,
				 find_tid(&s, 4001)->frames[2].code);
	}
	/* a call returns and another is made at the same place: seen at once */
	pyimg_stack(&im, ts1, 2, (uint64_t[]){c_mod, c_help}, NULL, NULL);
	assert_int_equal(pyreader_sample(r, &s), 0);
	t1 = find_tid(&s, 4000);
	assert_int_equal(t1->n_frames, 2);
	assert_string_equal(t1->frames[1].code->name, "<string>.helper");
	pyreader_free(r);
}

static void test_pyreader_version_39(void **state)
{
	(void)state;
	check_version(9);
}

static void test_pyreader_version_310(void **state)
{
	(void)state;
	check_version(10);
}

static void test_pyreader_version_311(void **state)
{
	(void)state;
	check_version(11);
}

static void test_pyreader_version_312(void **state)
{
	(void)state;
	check_version(12);
}

static void test_pyreader_version_313(void **state)
{
	(void)state;
	check_version(13);
}

/* 3.12+: an entry shim between two Python frames is left out of the stack. */
static void test_pyreader_shim_frame_skipped(void **state)
{
	unsigned minors[] = {12, 13};
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint64_t ts, c1, c2, a[3];
		int kinds[3] = {PYIMG_PLAIN, PYIMG_SHIM, PYIMG_PLAIN};
		struct py_sample s;
		struct pyreader *r;
		struct pyimg im;

		pyimg_init(&im, minors[k], 50);
		c1 = pyimg_code(&im, "<module>", "/srv/m.py", 1, 0);
		c2 = pyimg_code(&im, "cb", "/srv/m.py", 5, 0);
		ts = pyimg_thread(&im, 50);
		pyimg_stack(&im, ts, 3, (uint64_t[]){c1, 0, c2}, kinds, a);
		r = open_img(&im);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 2);
		assert_string_equal(s.threads[0].frames[0].code->name, "m.<module>");
		assert_int_equal(s.threads[0].frames[1].addr, a[2]);
		pyreader_free(r);
	}
}

/* 3.12: an interpreter found early in its start-up has no trampoline yet; once it has one, its
 * shims are taken as such (not every stack torn for good). */
static void test_pyreader_trampoline_made_after_open(void **state)
{
	uint64_t ts, c1, c2, a[3];
	int kinds[3] = {PYIMG_PLAIN, PYIMG_SHIM, PYIMG_PLAIN};
	struct py_sample s;
	struct pyreader *r;
	struct pyimg im;

	(void)state;
	pyimg_init(&im, 12, 60);
	c1 = pyimg_code(&im, "<module>", "/srv/m.py", 1, 0);
	c2 = pyimg_code(&im, "cb", "/srv/m.py", 5, 0);
	ts = pyimg_thread(&im, 60);
	pyimg_stack(&im, ts, 3, (uint64_t[]){c1, 0, c2}, kinds, a);
	pyimg_put64(&im, PYIMG_INTERP + im.o->interp_trampoline, 0);
	r = open_img(&im);
	/* no trampoline: a shim cannot be told from a stale slot */
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_true(s.threads[0].torn);
	pyimg_put64(&im, PYIMG_INTERP + im.o->interp_trampoline, im.trampoline);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_false(s.threads[0].torn);
	assert_int_equal(s.threads[0].n_frames, 2);
	assert_string_equal(s.threads[0].frames[1].code->name, "m.cb");
	/* a frame running other code in a shim's place is still torn */
	pyimg_put64(&im, a[1] + im.o->frame_code, c2);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_true(s.threads[0].torn);
	pyreader_free(r);
}

/* Memory that changes while a batch is read: once the request that covers @slot has been read,
 * @slot becomes @value (a call returned between the read of the frame pointer and the rest). */
struct racing {
	struct pymem m;
	struct pymem *img;
	uint64_t slot, value;
	bool armed;
	uint64_t changed_ns; /* CLOCK_MONOTONIC when @slot changed: the call's return */
	/* a second change, made the same way when its own slot has been read */
	uint64_t slot2, value2;
	bool armed2;
};

static int racing_readv(struct pymem *m, struct pymem_req *reqs, size_t n)
{
	struct racing *rc = (struct racing *)m;
	size_t i;

	m->syscalls++;
	for (i = 0; i < n; i++) {
		int err = pymem_readv(rc->img, &reqs[i], 1);

		if (err)
			return err;
		if (rc->armed && reqs[i].addr <= rc->slot &&
		    rc->slot + 8 <= reqs[i].addr + reqs[i].len) {
			memcpy(pymem_image_at(rc->img, rc->slot, 8), &rc->value, 8);
			rc->armed = false;
			rc->changed_ns = sw_now_ns();
		}
		if (rc->armed2 && reqs[i].addr <= rc->slot2 &&
		    rc->slot2 + 8 <= reqs[i].addr + reqs[i].len) {
			memcpy(pymem_image_at(rc->img, rc->slot2, 8), &rc->value2, 8);
			rc->armed2 = false;
		}
	}
	return 0;
}

/* Where thread @ts's current frame pointer is: its thread state, or (3.11/3.12) its CFrame. */
static uint64_t cur_slot(struct pyimg *im, uint64_t ts)
{
	uint64_t slot = ts + im->o->tstate_frame;

	if (im->o->minor == 11 || im->o->minor == 12) {
		uint64_t cframe;

		memcpy(&cframe, pymem_image_at(im->m, slot, 8), 8);
		slot = cframe + im->o->cframe_current_frame;
	}
	return slot;
}

static void racing_free(struct pymem *m)
{
	pymem_free(((struct racing *)m)->img);
	free(m);
}

static const struct pymem_ops racing_ops = {.readv = racing_readv, .free = racing_free};

/* A reader of @im through racing memory *@rc (freed with the reader). */
static struct pyreader *open_racing(struct pyimg *im, struct racing **rc)
{
	char err[256] = "";
	struct pyreader *r;

	*rc = calloc(1, sizeof(**rc));
	assert_non_null(*rc);
	(*rc)->m.ops = &racing_ops;
	(*rc)->img = im->m;
	r = pyreader_open_mem(&(*rc)->m, &im->l, err, sizeof(err));
	if (!r)
		fail_msg("pyreader_open_mem: %s", err);
	return r;
}

/*
 * A call returns while its stack is read: the frame pointer read first names the callee, the
 * frames read after it are what the caller left and what it went on with. The pointer read
 * again after them names the caller: the sample shows the stack as it is after the return.
 */
static void test_pyreader_return_while_read(void **state)
{
	unsigned minors[] = {9, 10, 11, 12, 13};
	size_t k;

	(void)state;
	for (k = 0; k < 5; k++) {
		uint64_t ts, c1, c2, c3, a[3];
		struct pyreader_stats st;
		struct py_sample s;
		struct pyreader *r;
		struct racing *rc;
		struct pyimg im;

		pyimg_init(&im, minors[k], 70);
		c1 = pyimg_code(&im, "<module>", "/srv/m.py", 1, 0);
		c2 = pyimg_code(&im, "handle", "/srv/m.py", 5, 0);
		c3 = pyimg_code(&im, "call_model", "/srv/m.py", 9, 0);
		ts = pyimg_thread(&im, 70);
		pyimg_stack(&im, ts, 3, (uint64_t[]){c1, c2, c3}, NULL, a);
		r = open_racing(&im, &rc);
		/* read once as it is: the chain becomes the next sample's guess */
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_int_equal(s.threads[0].n_frames, 3);
		rc->slot = cur_slot(&im, ts);
		rc->value = a[1];
		rc->armed = true;
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(rc->armed);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 2);
		assert_string_equal(s.threads[0].frames[1].code->name, "m.handle");
		/* the stack is the one after the return, so the sample's time is too: the call it
		 * no longer shows ends then, never before it returned */
		assert_true(s.t_ns >= rc->changed_ns);
		pyreader_get_stats(r, &st);
		assert_int_equal(st.torn, 0);
		assert_int_equal(st.returned, 1);
		pyreader_free(r);
	}
}

/*
 * A call returns and its caller makes the next one at the same address while the stack is read:
 * the frames read first hold the call that returned, the pointer read again after them names
 * the same address, and the frame there runs the next call's code. The chain mixes two calls:
 * it is read again, and the sample shows the new call.
 */
static void test_pyreader_first_frame_replaced(void **state)
{
	unsigned minors[] = {9, 10, 11, 12, 13};
	size_t k;

	(void)state;
	for (k = 0; k < 5; k++) {
		uint64_t ts, c1, c2, c3, c4, a[3];
		struct pyreader_stats st;
		struct py_sample s;
		struct pyreader *r;
		struct racing *rc;
		struct pyimg im;

		pyimg_init(&im, minors[k], 75);
		c1 = pyimg_code(&im, "<module>", "/srv/m.py", 1, 0);
		c2 = pyimg_code(&im, "handle", "/srv/m.py", 5, 0);
		c3 = pyimg_code(&im, "retrieve", "/srv/m.py", 9, 0);
		c4 = pyimg_code(&im, "assemble", "/srv/m.py", 14, 0);
		ts = pyimg_thread(&im, 75);
		pyimg_stack(&im, ts, 3, (uint64_t[]){c1, c2, c3}, NULL, a);
		r = open_racing(&im, &rc);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_int_equal(s.threads[0].n_frames, 3);
		/* the code of the newest frame changes just after the frames were read */
		rc->slot = a[2] + im.o->frame_code;
		rc->value = c4;
		rc->armed = true;
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(rc->armed);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 3);
		assert_string_equal(s.threads[0].frames[2].code->name, "m.assemble");
		pyreader_get_stats(r, &st);
		assert_int_equal(st.replaced, 1);
		assert_int_equal(st.torn, 0);
		/* 3.11+: ... and the new call has made one of its own (at the next address of the
		 * data stack) by the time the pointer is read again, above the chain */
		if (minors[k] >= 11) {
			uint64_t b[4];

			pyimg_stack(&im, ts, 3, (uint64_t[]){c1, c2, c3}, NULL, a);
			assert_int_equal(pyreader_sample(r, &s), 0);
			assert_string_equal(s.threads[0].frames[2].code->name, "m.retrieve");
			/* the stack after, then the frame and pointer as they were before */
			pyimg_stack(&im, ts, 4, (uint64_t[]){c1, c2, c4, c3}, NULL, b);
			assert_int_equal(b[2], a[2]);
			pyimg_put64(&im, a[2] + im.o->frame_code, c3);
			pyimg_set_current(&im, ts, a[2]);
			rc->slot = a[2] + im.o->frame_code;
			rc->value = c4;
			rc->armed = true;
			rc->slot2 = cur_slot(&im, ts);
			rc->value2 = b[3];
			rc->armed2 = true;
			assert_int_equal(pyreader_sample(r, &s), 0);
			assert_false(rc->armed || rc->armed2);
			pyreader_get_stats(r, &st);
			assert_int_equal(st.replaced, 2);
			assert_false(s.threads[0].torn);
			assert_int_equal(s.threads[0].n_frames, 4);
			assert_string_equal(s.threads[0].frames[2].code->name, "m.assemble");
		}
		pyreader_free(r);
	}
}

/*
 * 3.11/3.12: a CFrame on the C stack that names no frame was read as its entry pushed it, or
 * after the entry returned and other C code had the stack: torn, not an empty stack. The root
 * CFrame inside the thread state names none while the thread runs no Python code.
 */
static void test_pyreader_cframe_without_frame(void **state)
{
	unsigned minors[] = {11, 12};
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint64_t ts, c1, c2;
		struct py_sample s;
		struct pyreader *r;
		struct pyimg im;

		pyimg_init(&im, minors[k], 80);
		c1 = pyimg_code(&im, "<module>", "/srv/m.py", 1, 0);
		c2 = pyimg_code(&im, "work", "/srv/m.py", 5, 0);
		ts = pyimg_thread(&im, 80);
		pyimg_stack(&im, ts, 2, (uint64_t[]){c1, c2}, NULL, NULL);
		r = open_img(&im);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 2);
		pyimg_put64(&im, pyimg_entry_cframe(ts) + im.o->cframe_current_frame, 0);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_true(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 0);
		/* back from its last call into the interpreter */
		pyimg_stack(&im, ts, 0, NULL, NULL, NULL);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 0);
		pyreader_free(r);
	}
}

/* Puts a copy of frame @from at @to and makes it thread @ts's current frame. */
static void move_frame(struct pyimg *im, uint64_t ts, uint64_t from, uint64_t to)
{
	pyimg_put(im, to, pymem_image_at(im->m, from, im->o->frame_size), im->o->frame_size);
	pyimg_set_current(im, ts, to);
}

/*
 * 3.11+: a frame on the data stack lies where its caller's ends. A chain whose caller runs a
 * function of another frame size was read across a return: the callee's frame read before it
 * returned, its caller's address read after another call had taken it. It is read again, and
 * torn while it stays so. A function of the same size cannot be told apart that way; a callee
 * at the start of a new chunk (a mapping of its own) is in place.
 */
static void test_pyreader_frames_where_callers_end(void **state)
{
	unsigned minors[] = {11, 12, 13};
	size_t k;

	(void)state;
	for (k = 0; k < 3; k++) {
		uint64_t ts, c1, c2, c3, c_big, c_same, a[3], chunk2 = PYIMG_CHUNK + 0x80000;
		struct pyreader_stats st0, st1;
		struct py_sample s;
		struct pyreader *r;
		struct pyimg im;

		pyimg_init(&im, minors[k], 90);
		c1 = pyimg_code(&im, "<module>", "/srv/m.py", 1, 0);
		c2 = pyimg_code(&im, "handle", "/srv/m.py", 5, 0);
		c3 = pyimg_code(&im, "call_model", "/srv/m.py", 9, 0);
		c_big = pyimg_code(&im, "emit", "/srv/m.py", 20, 0);
		pyimg_put32(&im, c_big + im.o->code_nlocalsplus, 20);
		c_same = pyimg_code(&im, "log", "/srv/m.py", 30, 0);
		ts = pyimg_thread(&im, 90);
		pyimg_stack(&im, ts, 3, (uint64_t[]){c1, c2, c3}, NULL, a);
		pyimg_zero(&im, chunk2, 0x1000);
		r = open_img(&im);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 3);
		/* handle returned and its caller called emit at its address; call_model's frame
		 * still names it as its caller */
		pyimg_put64(&im, a[1] + im.o->frame_code, c_big);
		pyreader_get_stats(r, &st0);
		assert_int_equal(pyreader_sample(r, &s), 0);
		pyreader_get_stats(r, &st1);
		assert_true(s.threads[0].torn);
		/* read as it was, then again as often as any torn chain */
		assert_int_equal(st1.misplaced - st0.misplaced, 1 + MAX_RETRIES);
		assert_true(st1.syscalls - st0.syscalls > 1);
		pyimg_put64(&im, a[1] + im.o->frame_code, c_same);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(s.threads[0].torn);
		assert_string_equal(s.threads[0].frames[1].code->name, "m.log");
		pyimg_put64(&im, a[1] + im.o->frame_code, c2);
		/* call_model at the start of a new chunk */
		move_frame(&im, ts, a[2], chunk2 + im.o->chunk_data);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 3);
		assert_int_equal(s.threads[0].frames[2].addr, chunk2 + im.o->chunk_data);
		assert_string_equal(s.threads[0].frames[1].code->name, "m.handle");
		/* ... anywhere else in it */
		move_frame(&im, ts, a[2], chunk2 + im.o->chunk_data + 0x100);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_true(s.threads[0].torn);
		pyreader_free(r);
	}
}

/* A thread started, then another one gone, between samples. */
static void test_pyreader_thread_list_changes(void **state)
{
	uint64_t ts1, ts2, c;
	struct py_sample s;
	struct pyreader *r;
	struct pyimg im;

	(void)state;
	pyimg_init(&im, 11, 70);
	c = pyimg_code(&im, "f", "/a/b.py", 1, 0);
	ts1 = pyimg_thread(&im, 70);
	pyimg_stack(&im, ts1, 1, &c, NULL, NULL);
	r = open_img(&im);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_int_equal(s.n_threads, 1);
	ts2 = pyimg_thread(&im, 71);
	pyimg_stack(&im, ts2, 1, &c, NULL, NULL);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_int_equal(s.n_threads, 2);
	assert_int_equal(find_tid(&s, 71)->n_frames, 1);
	/* unlink the older thread (the list is newest first: ts2 -> ts1) */
	pyimg_put64(&im, ts2 + im.o->tstate_next, 0);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_int_equal(s.n_threads, 1);
	assert_int_equal(s.threads[0].tid, 71);
	pyreader_free(r);
}

/* Chains that do not hold together are torn, never followed for ever nor named wrongly. */
static void test_pyreader_torn_chains(void **state)
{
	unsigned minors[] = {9, 11, 12, 13};
	size_t k;

	(void)state;
	for (k = 0; k < 4; k++) {
		const struct pyoffsets *o;
		uint64_t ts, c, a[3], bad, root;
		struct pyreader_stats st;
		struct py_sample s;
		struct pyreader *r;
		struct pyimg im;

		pyimg_init(&im, minors[k], 90);
		o = im.o;
		c = pyimg_code(&im, "f", "/x.py", 1, 0);
		ts = pyimg_thread(&im, 90);
		pyimg_stack(&im, ts, 3, (uint64_t[]){c, c, c}, NULL, a);
		r = open_img(&im);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_int_equal(s.threads[0].n_frames, 3);
		/* what the outermost frame links to: nothing, or (3.12+) the entry shim */
		memcpy(&root, pymem_image_at(im.m, a[0] + o->frame_previous, 8), 8);
		/* a cycle: the outermost frame points back at the current one */
		pyimg_put64(&im, a[0] + o->frame_previous, a[2]);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_true(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 0);
		/* a pointer to nowhere */
		pyimg_put64(&im, a[0] + o->frame_previous, 0xdead0000ull);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_true(s.threads[0].torn);
		/* 3.11+: a chain ending at a Python frame being made again for a new call (its
		 * link not set yet), not at the entry shim (3.12+) or the frame an entry from C
		 * pushed (3.11: is_entry) */
		if (minors[k] >= 12) {
			pyimg_put64(&im, a[0] + o->frame_previous, 0);
			assert_int_equal(pyreader_sample(r, &s), 0);
			assert_true(s.threads[0].torn);
		}
		if (o->frame_is_entry) {
			pyimg_put64(&im, a[1] + o->frame_previous, 0);
			assert_int_equal(pyreader_sample(r, &s), 0);
			assert_true(s.threads[0].torn);
			/* the same link cut at a frame an entry from C pushed: a whole stack */
			*(uint8_t *)pymem_image_at(im.m, a[1] + o->frame_is_entry, 1) = 1;
			assert_int_equal(pyreader_sample(r, &s), 0);
			assert_false(s.threads[0].torn);
			assert_int_equal(s.threads[0].n_frames, 2);
			*(uint8_t *)pymem_image_at(im.m, a[1] + o->frame_is_entry, 1) = 0;
			pyimg_put64(&im, a[1] + o->frame_previous, a[0]);
		}
		pyimg_put64(&im, a[0] + o->frame_previous, root);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 3);
		/* a "code object" of another type (a str) */
		bad = pyimg_str(&im, "not code");
		pyimg_put64(&im, a[1] + o->frame_code, bad);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_true(s.threads[0].torn);
		pyimg_put64(&im, a[1] + o->frame_code, c);
		/* 3.9/3.10: a "frame" of another type; 3.11+: an owner value that does not exist */
		if (o->frame_owner)
			*(uint8_t *)pymem_image_at(im.m, a[1] + o->frame_owner, 1) = 9;
		else
			pyimg_put64(&im, a[1] + 8, PYIMG_CODE_TYPE);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_true(s.threads[0].torn);
		pyreader_get_stats(r, &st);
		assert_int_equal(st.torn, minors[k] >= 11 ? 5 : 4);
		pyreader_free(r);
	}
}

/* A chain read while it changed: cut short at a suspended generator's frame (3.11+: by its
 * owner, 3.9/3.10: by its code flags), or through a freed frame object (3.9/3.10): torn. */
static void test_pyreader_cut_chains(void **state)
{
	unsigned minors[] = {9, 10, 11, 12, 13};
	size_t k;

	(void)state;
	for (k = 0; k < 5; k++) {
		uint64_t ts, c, g, a[3];
		int kinds[2] = {PYIMG_GEN, PYIMG_PLAIN};
		struct py_sample s;
		struct pyreader *r;
		struct pyimg im;

		pyimg_init(&im, minors[k], 60);
		c = pyimg_code(&im, "f", "/x.py", 1, 0);
		g = pyimg_code(&im, "g", "/x.py", 5, PYOFF_CO_COROUTINE);
		ts = pyimg_thread(&im, 60);
		pyimg_stack(&im, ts, 3, (uint64_t[]){c, c, c}, NULL, a);
		r = open_img(&im);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(s.threads[0].torn);
		pyimg_stack(&im, ts, 2, (uint64_t[]){g, c}, kinds, NULL);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_true(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 0);
		if (minors[k] < 11) {
			pyimg_stack(&im, ts, 3, (uint64_t[]){c, c, c}, NULL, a);
			assert_int_equal(pyreader_sample(r, &s), 0);
			assert_false(s.threads[0].torn);
			pyimg_put64(&im, a[1], 0); /* no reference left: freed */
			assert_int_equal(pyreader_sample(r, &s), 0);
			assert_true(s.threads[0].torn);
		}
		pyreader_free(r);
	}
}

/* A chain deeper than the cap is torn; a deep one below it is read whole at first sight, on
 * 3.9 one level per read (frame objects), on 3.11 from the data-stack chunk in one read. */
static void test_pyreader_depth_cap(void **state)
{
	unsigned minors[] = {9, 11};
	size_t k, i;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint64_t codes[300], ts, c;
		struct pyreader_stats st0, st1;
		struct py_sample s;
		struct pyreader *r;
		struct pyimg im;

		pyimg_init(&im, minors[k], 5);
		c = pyimg_code(&im, "rec", "/r.py", 1, 0);
		for (i = 0; i < 300; i++)
			codes[i] = pyimg_code(&im, "f", "/r.py", (uint32_t)i + 1, 0);
		ts = pyimg_thread(&im, 5);
		pyimg_stack(&im, ts, 300, codes, NULL, NULL);
		r = open_img(&im);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_true(s.threads[0].torn);
		codes[0] = c;
		pyimg_stack(&im, ts, 200, codes, NULL, NULL);
		assert_int_equal(pyreader_sample(r, &s), 0);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 200);
		assert_string_equal(s.threads[0].frames[0].code->name, "r.rec");
		assert_int_equal(s.threads[0].frames[199].code->first_line, 200);
		/* 50 calls deeper, of a function known: 3.11 reads the new frames in one go */
		for (i = 200; i < 250; i++)
			codes[i] = c;
		pyimg_stack(&im, ts, 250, codes, NULL, NULL);
		pyreader_get_stats(r, &st0);
		assert_int_equal(pyreader_sample(r, &s), 0);
		pyreader_get_stats(r, &st1);
		assert_false(s.threads[0].torn);
		assert_int_equal(s.threads[0].n_frames, 250);
		assert_string_equal(s.threads[0].frames[249].code->name, "r.rec");
		if (minors[k] >= 11)
			assert_int_equal(st1.syscalls - st0.syscalls, 2);
		else /* 250 new frame objects, one level per read, and read twice as the outermost
		      * frame changed */
			assert_int_equal(st1.syscalls - st0.syscalls, 2 * 251);
		pyreader_free(r);
	}
}

/* A code object freed and its address reused by another, while no frame ran it: renamed. */
static void test_pyreader_code_address_reused(void **state)
{
	const struct pyoffsets *o;
	uint64_t ts, c_mod, c_f;
	struct py_sample s;
	struct pyreader *r;
	struct pyimg im;

	(void)state;
	pyimg_init(&im, 12, 8);
	o = im.o;
	c_mod = pyimg_code(&im, "<module>", "/m.py", 1, 0);
	c_f = pyimg_code(&im, "first", "/m.py", 3, 0);
	ts = pyimg_thread(&im, 8);
	pyimg_stack(&im, ts, 2, (uint64_t[]){c_mod, c_f}, NULL, NULL);
	r = open_img(&im);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_string_equal(s.threads[0].frames[1].code->name, "m.first");
	pyimg_stack(&im, ts, 1, &c_mod, NULL, NULL);
	assert_int_equal(pyreader_sample(r, &s), 0);
	/* c_f's memory now holds another function */
	pyimg_put64(&im, c_f + o->code_qualname, pyimg_str(&im, "second"));
	pyimg_put64(&im, c_f + o->code_name, pyimg_str(&im, "second"));
	pyimg_put32(&im, c_f + o->code_firstlineno, 30);
	pyimg_stack(&im, ts, 2, (uint64_t[]){c_mod, c_f}, NULL, NULL);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_string_equal(s.threads[0].frames[1].code->name, "m.second");
	assert_int_equal(s.threads[0].frames[1].code->first_line, 30);
	pyreader_free(r);
}

/* Non-ASCII names: compact str objects of kind 2 and 4 become UTF-8. */
static void test_pyreader_unicode_names(void **state)
{
	const struct pyoffsets *o;
	uint64_t ts, c, a;
	uint16_t ucs2[2] = {0x00e9, 0x4e2d}; /* é 中 */
	struct py_sample s;
	struct pyreader *r;
	struct pyimg im;

	(void)state;
	pyimg_init(&im, 11, 9);
	o = im.o;
	c = pyimg_code(&im, "xx", "/u.py", 1, 0);
	a = PYIMG_STR + 0x200ull * im.n_str++;
	pyimg_zero(&im, a, o->unicode_compact_size + 8);
	pyimg_put64(&im, a + 8, PYIMG_UNICODE_TYPE);
	pyimg_put64(&im, a + o->unicode_length, 2);
	pyimg_put32(&im, a + o->unicode_state, 2u << 2 | 1u << 5);
	pyimg_put(&im, a + o->unicode_compact_size, ucs2, sizeof(ucs2));
	pyimg_put64(&im, c + o->code_qualname, a);
	ts = pyimg_thread(&im, 9);
	pyimg_stack(&im, ts, 1, &c, NULL, NULL);
	r = open_img(&im);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_string_equal(s.threads[0].frames[0].code->qualname, "\xc3\xa9\xe4\xb8\xad");
	pyreader_free(r);
}

/* 3.9/3.10: kernel thread ids come from struct pthread, found through the main thread. */
static void test_pyreader_pthread_tids(void **state)
{
	uint64_t ts1, ts2, c;
	struct py_sample s;
	struct pyreader *r;
	struct pyimg im;

	(void)state;
	pyimg_init(&im, 10, 321);
	c = pyimg_code(&im, "f", "/t.py", 1, 0);
	ts1 = pyimg_thread(&im, 321);
	ts2 = pyimg_thread(&im, 322);
	pyimg_stack(&im, ts1, 1, &c, NULL, NULL);
	pyimg_stack(&im, ts2, 1, &c, NULL, NULL);
	r = open_img(&im);
	assert_int_equal(pyreader_sample(r, &s), 0);
	assert_int_equal(find_tid(&s, 321)->tstate, ts1);
	assert_int_equal(find_tid(&s, 322)->tstate, ts2);
	pyreader_free(r);
}

/* Refusals at open: no interpreter yet (EAGAIN), a layout that does not fit (EPROTO). */
static void test_pyreader_open_refusals(void **state)
{
	struct pyimg im;
	char err[256];
	uint64_t ts;

	(void)state;
	pyimg_init(&im, 11, 1);
	assert_null(pyreader_open_mem(im.m, &im.l, err, sizeof(err)));
	assert_int_equal(errno, EAGAIN);
	assert_non_null(strstr(err, "not initialised yet"));

	pyimg_init(&im, 11, 1);
	ts = pyimg_thread(&im, 1);
	pyimg_put64(&im, ts + im.o->tstate_interp, 0x1234);
	assert_null(pyreader_open_mem(im.m, &im.l, err, sizeof(err)));
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(err, "does not point back"));

	pyimg_init(&im, 11, 1);
	pyimg_thread(&im, 1);
	im.l.off.frame_previous = 4000;
	assert_null(pyreader_open_mem(im.m, &im.l, err, sizeof(err)));
	assert_int_equal(errno, EPROTO);
}

static void test_pyreader_unsupported_message(void **state)
{
	char err[128];

	(void)state;
	pyreader_unsupported_msg(3, 14, 0, err, sizeof(err));
	assert_string_equal(err, "CPython 3.14.0 is not supported (3.9\u20133.13 are)");
	assert_null(pyoffsets_for(8));
	assert_null(pyoffsets_for(14));
	assert_non_null(pyoffsets_for(9));
	assert_non_null(pyoffsets_for(13));
}

static void mkfile(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fclose(f);
}

static void test_pyreader_module_names(void **state)
{
	char root[] = "/tmp/pyreader-test-XXXXXX", p[512], out[256];

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/srv", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/srv/rag", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/srv/rag/sub", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/srv/rag/__init__.py", root);
	mkfile(p);
	snprintf(p, sizeof(p), "%s/srv/rag/sub/__init__.py", root);
	mkfile(p);

	pyreader_module_name(root, "/srv/app.py", out, sizeof(out));
	assert_string_equal(out, "app");
	pyreader_module_name(root, "/srv/rag/retr.py", out, sizeof(out));
	assert_string_equal(out, "rag.retr");
	pyreader_module_name(root, "/srv/rag/sub/deep.py", out, sizeof(out));
	assert_string_equal(out, "rag.sub.deep");
	pyreader_module_name(root, "/srv/rag/__init__.py", out, sizeof(out));
	assert_string_equal(out, "rag");
	pyreader_module_name(root, "/srv/rag/sub/__init__.py", out, sizeof(out));
	assert_string_equal(out, "rag.sub");
	pyreader_module_name(root, "<string>", out, sizeof(out));
	assert_string_equal(out, "<string>");
	pyreader_module_name(root, "<frozen importlib._bootstrap>", out, sizeof(out));
	assert_string_equal(out, "<frozen importlib._bootstrap>");
	pyreader_module_name(root, "app.py", out, sizeof(out));
	assert_string_equal(out, "app");
	pyreader_module_name(root, "/usr/bin/tool", out, sizeof(out));
	assert_string_equal(out, "tool");
	/* no root: no package lookups */
	pyreader_module_name(NULL, "/srv/rag/retr.py", out, sizeof(out));
	assert_string_equal(out, "retr");
	pyreader_module_name(NULL, "/srv/rag/__init__.py", out, sizeof(out));
	assert_string_equal(out, "rag");
	/* truncated, still terminated */
	assert_int_equal(pyreader_module_name(root, "/srv/rag/retr.py", out, 5), 4);
	assert_string_equal(out, "rag.");

	snprintf(p, sizeof(p), "%s/srv/rag/sub/__init__.py", root);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/srv/rag/__init__.py", root);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/srv/rag/sub", root);
	assert_int_equal(rmdir(p), 0);
	snprintf(p, sizeof(p), "%s/srv/rag", root);
	assert_int_equal(rmdir(p), 0);
	snprintf(p, sizeof(p), "%s/srv", root);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(rmdir(root), 0);
}

static void put_dbg(uint8_t *b, unsigned pos, uint64_t v)
{
	memcpy(b + pos, &v, 8);
}

/* 3.13's _Py_DebugOffsets: the fields read, the cookie, free-threaded builds, bad offsets. */
static void test_pyoffsets_debug_offsets(void **state)
{
	uint8_t b[PYOFF_DEBUG_LEN] = {0};
	struct pyoffsets o = *pyoffsets_for(13);
	uint64_t ver = 0;

	(void)state;
	memcpy(b, "xdebugpy", 8);
	put_dbg(b, 8, 0x030d00f0);
	put_dbg(b, 40, 700);  /* runtime interpreters.head */
	put_dbg(b, 48, 9000); /* interp size */
	put_dbg(b, 64, 7000); /* interp next */
	put_dbg(b, 72, 7100); /* interp threads.head */
	put_dbg(b, 152, 400); /* tstate size */
	put_dbg(b, 168, 16);  /* next */
	put_dbg(b, 176, 24);  /* interp */
	put_dbg(b, 184, 80);  /* current_frame */
	put_dbg(b, 192, 160); /* thread_id */
	put_dbg(b, 200, 168); /* native_thread_id */
	put_dbg(b, 208, 240); /* datastack_chunk */
	put_dbg(b, 224, 80);  /* frame size */
	put_dbg(b, 232, 16);  /* previous */
	put_dbg(b, 240, 0);   /* executable */
	put_dbg(b, 248, 64);  /* instr_ptr */
	put_dbg(b, 256, 72);  /* localsplus */
	put_dbg(b, 264, 75);  /* owner */
	put_dbg(b, 272, 220); /* code size */
	put_dbg(b, 280, 112); /* filename */
	put_dbg(b, 288, 120); /* name */
	put_dbg(b, 296, 128); /* qualname */
	put_dbg(b, 312, 68);  /* firstlineno */
	put_dbg(b, 544, 32);  /* unicode state */
	put_dbg(b, 552, 16);  /* length */
	put_dbg(b, 560, 40);  /* asciiobject size */
	assert_int_equal(pyoffsets_from_debug(b, sizeof(b), &o, &ver), 0);
	assert_int_equal(ver, 0x030d00f0);
	assert_int_equal(o.runtime_interp_head, 700);
	assert_int_equal(o.interp_tstate_head, 7100);
	assert_int_equal(o.tstate_frame, 80);
	assert_int_equal(o.tstate_native_tid, 168);
	assert_int_equal(o.frame_previous, 16);
	assert_int_equal(o.frame_owner, 75);
	assert_int_equal(o.frame_size, 72);
	assert_int_equal(o.code_qualname, 128);
	assert_int_equal(o.tstate_size, 400);
	/* fields the debug offsets lack keep the table's values */
	assert_int_equal(o.tstate_datastack_top, pyoffsets_for(13)->tstate_datastack_top);
	assert_int_equal(o.code_nlocalsplus, pyoffsets_for(13)->code_nlocalsplus);
	/* ... but for a frame's size, where the code object's layout moved from the table's */
	o = *pyoffsets_for(13);
	put_dbg(b, 312, 76);
	assert_int_equal(pyoffsets_from_debug(b, sizeof(b), &o, &ver), 0);
	assert_int_equal(o.code_firstlineno, 76);
	assert_int_equal(o.code_nlocalsplus, 0);
	assert_int_equal(o.code_stacksize, 0);
	put_dbg(b, 312, 68);
	/* an offset past its structure */
	put_dbg(b, 248, 4000);
	assert_int_equal(pyoffsets_from_debug(b, sizeof(b), &o, &ver), -EINVAL);
	put_dbg(b, 248, 64);
	put_dbg(b, 16, 1);
	assert_int_equal(pyoffsets_from_debug(b, sizeof(b), &o, &ver), -ENOTSUP);
	put_dbg(b, 16, 0);
	b[0] = 'y';
	assert_int_equal(pyoffsets_from_debug(b, sizeof(b), &o, &ver), -EPROTO);
	assert_int_equal(pyoffsets_from_debug(b, 100, &o, &ver), -EPROTO);
}

static void test_pyfind_version_and_names(void **state)
{
	static const uint8_t bss[] = "\0\0junk 3.1 3.9.\0 13.9.1 (x)\0"
				     "3.9.18 (main, May  9 2026, 07:33:49) \n[GCC 12.2.0]\0";
	static const uint8_t rc[] = "3.10.0rc2 (default)";
	unsigned a, b, c;
	char fl[8];

	(void)state;
	assert_true(pyfind_version_text(bss, sizeof(bss), 9, &a, &b, &c));
	assert_int_equal(a, 3);
	assert_int_equal(b, 9);
	assert_int_equal(c, 18);
	assert_false(pyfind_version_text(bss, sizeof(bss), 10, &a, &b, &c));
	assert_true(pyfind_version_text(rc, sizeof(rc) - 1, -1, &a, &b, &c));
	assert_int_equal(b, 10);
	assert_int_equal(c, 0);
	assert_false(pyfind_version_text(rc, 10, -1, &a, &b, &c));
	assert_int_equal(pyfind_minor_from_name("libpython3.9.so.1.0", fl, sizeof(fl)), 9);
	assert_string_equal(fl, "");
	assert_int_equal(pyfind_minor_from_name("/usr/lib/libpython3.13t.so.1.0", fl, sizeof(fl)),
			 13);
	assert_string_equal(fl, "t");
	assert_int_equal(pyfind_minor_from_name("python3.10d", fl, sizeof(fl)), 10);
	assert_string_equal(fl, "d");
	assert_int_equal(pyfind_minor_from_name("/usr/bin/sleep", fl, sizeof(fl)), -1);
	assert_int_equal(pyfind_minor_from_name("libpython3.so", fl, sizeof(fl)), -1);
}

/* The synthetic memory itself: batched reads, partial failure, region bounds. */
static void test_pymem_image(void **state)
{
	struct pymem *m = pymem_image();
	uint8_t a[4] = {1, 2, 3, 4}, b[4], c[2];
	struct pymem_req q[3] = {
	    {.addr = 0x1000, .buf = b, .len = 4},
	    {.addr = 0x1003, .buf = c, .len = 2},
	    {.addr = 0x1002, .buf = c, .len = 2},
	};

	(void)state;
	assert_int_equal(pymem_image_add(m, 0x1000, a, 4), 0);
	assert_int_equal(pymem_readv(m, q, 3), 0);
	assert_true(q[0].ok);
	assert_false(q[1].ok);
	assert_true(q[2].ok);
	assert_memory_equal(b, a, 4);
	assert_int_equal(c[0], 3);
	assert_int_equal(pymem_read(m, 0xfff, b, 1), -EFAULT);
	assert_int_equal(pymem_read(m, UINT64_MAX, b, 2), -EFAULT);
	pymem_free(m);
}

/* The process_vm_readv memory over this very process: partial batches are retried past a hole. */
static void test_pymem_proc_self(void **state)
{
	static uint8_t here[64] = "the quick brown fox";
	struct pymem *m = pymem_proc(getpid());
	uint8_t b1[8], b2[8], b3[8];
	struct pymem_req q[3] = {
	    {.addr = (uintptr_t)here, .buf = b1, .len = 8},
	    {.addr = 8, .buf = b2, .len = 8},
	    {.addr = (uintptr_t)here + 4, .buf = b3, .len = 8},
	};

	(void)state;
	assert_non_null(m);
	assert_int_equal(pymem_readv(m, q, 3), 0);
	assert_true(q[0].ok);
	assert_false(q[1].ok);
	assert_true(q[2].ok);
	assert_memory_equal(b1, "the quic", 8);
	assert_memory_equal(b3, "quick br", 8);
	assert_true(m->syscalls >= 2);
	pymem_free(m);
}

/* A process that is gone: the whole batch fails with -ESRCH. */
static void test_pymem_proc_gone(void **state)
{
	struct pymem *m;
	uint8_t b[8];
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	m = pymem_proc(pid);
	assert_non_null(m);
	assert_int_equal(pymem_read(m, (uintptr_t)b, b, sizeof(b)), -ESRCH);
	pymem_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pyreader_version_39),
	    cmocka_unit_test(test_pyreader_version_310),
	    cmocka_unit_test(test_pyreader_version_311),
	    cmocka_unit_test(test_pyreader_version_312),
	    cmocka_unit_test(test_pyreader_version_313),
	    cmocka_unit_test(test_pyreader_shim_frame_skipped),
	    cmocka_unit_test(test_pyreader_trampoline_made_after_open),
	    cmocka_unit_test(test_pyreader_return_while_read),
	    cmocka_unit_test(test_pyreader_first_frame_replaced),
	    cmocka_unit_test(test_pyreader_cframe_without_frame),
	    cmocka_unit_test(test_pyreader_frames_where_callers_end),
	    cmocka_unit_test(test_pyreader_thread_list_changes),
	    cmocka_unit_test(test_pyreader_torn_chains),
	    cmocka_unit_test(test_pyreader_cut_chains),
	    cmocka_unit_test(test_pyreader_depth_cap),
	    cmocka_unit_test(test_pyreader_code_address_reused),
	    cmocka_unit_test(test_pyreader_unicode_names),
	    cmocka_unit_test(test_pyreader_pthread_tids),
	    cmocka_unit_test(test_pyreader_open_refusals),
	    cmocka_unit_test(test_pyreader_unsupported_message),
	    cmocka_unit_test(test_pyreader_module_names),
	    cmocka_unit_test(test_pyoffsets_debug_offsets),
	    cmocka_unit_test(test_pyfind_version_and_names),
	    cmocka_unit_test(test_pymem_image),
	    cmocka_unit_test(test_pymem_proc_self),
	    cmocka_unit_test(test_pymem_proc_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
