// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe/pyreader.h"
#include "span/pysample.h"
#include "span/semconv.h"
#include "util/grow.h"
#include "util/log.h"
#include "util/sched.h"
#include "util/stopwatch.h"

/*
 * A call ended this long ago is built into a span: an exact span placed in it a little late (its
 * request was read after the call had ended) can still move its start.
 */
#define EMIT_DELAY_NS (300ull * 1000000ull)
/* Ended calls stay findable this long for exact spans that are placed late. */
#define HISTORY_NS (30ull * 1000000000ull)
/* ... and at most this many per thread (the oldest go first, once built). */
#define HISTORY_MAX 4096
/* A process that is not (yet) an interpreter: tried again so often, for so long. */
#define RETRY_NS (10ull * 1000000ull)
#define WAIT_FOR_NS (10ull * 1000000000ull)
/* The scheduler slice the sampling thread asks for when not real-time (the kernel's floor is
 * 0.1 ms). */
#define SLICE_NS 100000ull
/* The share of a core the sampling thread may take while real-time, over RT_WINDOW_NS; and how
 * many rounds in a row may take over half a period. */
#define RT_SHARE_DIV 4
#define RT_WINDOW_NS 250000000ull
#define RT_LONG_ROUNDS 3
/* Samples failed in a row before the interpreter is looked for again. */
#define MAX_ERRORS 100
/* How far before a call's first sample an exact span may start and still nest in it, when the
 * thread's samples before came late or torn (a period when they came on time) */
#define MAX_BACK_PERIODS 10
/* Keys of the totals of traces rooted at a sampled call: apart from BPF's call ids. */
#define TOTALS_KEY_BIT (1ull << 62)

/* One sampled call: open while the thread's stack shows it, then closed until built. */
struct pyrec {
	uint64_t key;	/* identity: frame address, code, caller's instruction, frames below */
	uint64_t loose; /* the same without the callers' locals */
	bool unknown;	/* some caller's locals were not known to the sample that named it */
	const struct py_code *code;
	struct pyrec *parent; /* enclosing sampled call; outlives this one (ends no earlier) */
	uint8_t trace_id[BT_TRACE_ID_LEN], span_id[BT_SPAN_ID_LEN];
	uint64_t start_ns, end_ns; /* unix; end 0 while open */
	uint64_t after_ns;   /* the thread's sample before the first that showed it (0: none) */
	uint64_t last_ns;    /* the last sample that showed it */
	uint64_t totals_key; /* the trace's GenAI totals (stitcher) */
	uint32_t n_seen;
	uint32_t depth; /* among the thread's sampled calls; 0: outermost */
	bool generator, incomplete, emitted;
	const char *end_reason; /* static: how a call ended that did not end on the stack */
	bool referenced;	/* an exact span was placed in it */
};

struct pythread {
	uint64_t tstate;    /* PyThreadState address: the thread's identity */
	uint32_t tid;	    /* kernel thread id, once known */
	uint64_t round;	    /* last round that saw it */
	uint64_t missed_ns; /* when a round first missed it (0: seen in the last one) */
	struct pyrec **open;
	size_t n_open, cap_open; /* outermost first */
	struct pyrec **hist;
	size_t n_hist, cap_hist; /* closed, in the order they closed */
	/* calls the last sample did not show (innermost first), open below suspect_depth */
	struct pyrec **suspect;
	size_t n_suspect, cap_suspect, suspect_depth;
	uint64_t suspect_ns; /* when that sample was taken */
	uint64_t seen_ns;    /* the last sample that read its stack whole; at first, the
			      * process's round before the thread appeared */
};

struct pyproc {
	pid_t pid;
	struct pyreader *r; /* NULL until the interpreter is there */
	bool gone;	    /* exited or given up on */
	bool quiet;	    /* a followed child: giving up on it is no news */
	uint64_t retry_until_ns, next_try_ns;
	uint64_t last_ns; /* unix time of the latest sample of it */
	struct pythread *threads;
	size_t n_threads, cap_threads;
	unsigned errors;	   /* samples failed in a row */
	bool execd;		   /* it executed a program since the last round */
	uint64_t exec_ns;	   /* when (unix), once execd */
	uint64_t opened_ns;	   /* when its reader was opened (unix) */
	struct pyreader **retired; /* readers of programs it executed away from */
	size_t n_retired, cap_retired;
};

/* The globs' verdict on one code object, kept by address (the reader's cache owns the object). */
struct match {
	const struct py_code *code;
	bool hit;
};

struct pysampler {
	char **globs;
	size_t n_globs;
	uint64_t period_ns;
	bool rt; /* the sampling thread runs real-time (its own: read without the lock) */
	struct stitcher *stitcher;
	span_sink_fn sink;
	resource_fn resource;
	void *ctx;

	pthread_mutex_t mu; /* everything below */
	pthread_cond_t sampled;
	pthread_t thread;
	bool running, stop;
	uint64_t round;
	uint64_t last_round_ns; /* when the last round began */
	uint64_t serial;	/* of trace roots */
	struct pyproc **procs;
	size_t n_procs, cap_procs;
	struct match *matches; /* open addressing, power-of-two size */
	size_t n_matches, cap_matches;
	struct pysampler_stats st;
};

/* BPF's clock: samples and exact spans are on one time line */
static uint64_t mono_ns(void)
{
	return sw_now_ns();
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

struct pysampler *pysampler_new(const struct pysampler_opts *o, struct stitcher *stitcher,
				span_sink_fn sink, resource_fn resource, void *ctx)
{
	struct pysampler *ps = calloc(1, sizeof(*ps));
	size_t i;

	if (!ps)
		return NULL;
	ps->globs = calloc(o->n_globs ? o->n_globs : 1, sizeof(*ps->globs));
	if (!ps->globs)
		goto fail;
	for (i = 0; i < o->n_globs; i++) {
		ps->globs[i] = strdup(o->globs[i]);
		if (!ps->globs[i])
			goto fail;
		ps->n_globs++;
	}
	ps->period_ns = 1000000000ull / (o->hz ? o->hz : PYSAMPLE_DEFAULT_HZ);
	ps->stitcher = stitcher;
	ps->sink = sink;
	ps->resource = resource;
	ps->ctx = ctx;
	/* fixes the clock offset here, before the sampling thread reads it */
	bt_mono_to_unix_ns(0);
	pthread_mutex_init(&ps->mu, NULL);
	pthread_cond_init(&ps->sampled, NULL);
	return ps;
fail:
	pysampler_free(ps);
	errno = ENOMEM;
	return NULL;
}

/* Whether @name matches one of the globs. */
static bool glob_hit(const struct pysampler *ps, const char *name)
{
	size_t g;

	for (g = 0; g < ps->n_globs; g++)
		if (fnmatch(ps->globs[g], name, 0) == 0)
			return true;
	return false;
}

/*
 * Whether @code's "module.qualname" matches a glob, remembered by code object; NULL code (a torn
 * read) never does.
 */
static bool matches(struct pysampler *ps, const struct py_code *code)
{
	size_t i, mask;
	bool hit;

	if (!code || !code->name)
		return false;
	if (ps->n_matches * 2 >= ps->cap_matches) {
		size_t cap = ps->cap_matches ? ps->cap_matches * 2 : 256;
		struct match *m = calloc(cap, sizeof(*m));

		if (!m)
			return glob_hit(ps, code->name); /* not remembered: asked again */
		for (i = 0; i < ps->cap_matches; i++) {
			size_t j = ((uintptr_t)ps->matches[i].code >> 4) & (cap - 1);

			if (!ps->matches[i].code)
				continue;
			while (m[j].code)
				j = (j + 1) & (cap - 1);
			m[j] = ps->matches[i];
		}
		free(ps->matches);
		ps->matches = m;
		ps->cap_matches = cap;
	}
	mask = ps->cap_matches - 1;
	for (i = ((uintptr_t)code >> 4) & mask; ps->matches[i].code; i = (i + 1) & mask)
		if (ps->matches[i].code == code)
			return ps->matches[i].hit;
	hit = glob_hit(ps, code->name);
	ps->matches[i].code = code;
	ps->matches[i].hit = hit;
	ps->n_matches++;
	return hit;
}

/* The thread whose kernel id is @tid, or NULL. */
static struct pythread *thread_by_tid(struct pyproc *p, uint32_t tid)
{
	size_t i;

	for (i = 0; i < p->n_threads; i++)
		if (tid && p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

/*
 * The thread of thread state @tstate, made on first sight. A thread is its thread state: the
 * kernel id is what the reader learnt of it (3.9/3.10 find it in glibc's thread descriptor,
 * which can fail for a sample), not what keeps it apart from the others.
 */
static struct pythread *thread_get(struct pyproc *p, uint64_t tstate)
{
	size_t i;

	for (i = 0; i < p->n_threads; i++)
		if (p->threads[i].tstate == tstate)
			return &p->threads[i];
	if (grow(&p->threads, &p->cap_threads, p->n_threads + 1, sizeof(*p->threads)))
		return NULL;
	memset(&p->threads[p->n_threads], 0, sizeof(p->threads[0]));
	p->threads[p->n_threads].tstate = tstate;
	/* not there in the last round: it began running Python code since */
	p->threads[p->n_threads].seen_ns = p->last_ns;
	return &p->threads[p->n_threads++];
}

/* Ends the thread's open calls from position @from on (innermost first) at @t_ns. */
static void close_from(struct pysampler *ps, struct pythread *th, size_t from, uint64_t t_ns,
		       bool incomplete, const char *end_reason)
{
	while (th->n_open > from) {
		struct pyrec *r = th->open[--th->n_open];

		r->end_ns = t_ns > r->start_ns ? t_ns : r->start_ns;
		r->incomplete = incomplete;
		r->end_reason = end_reason;
		if (r->n_seen == 1)
			ps->st.seen_once++;
		if (grow(&th->hist, &th->cap_hist, th->n_hist + 1, sizeof(*th->hist))) {
			/* no room to keep it: build nothing rather than leak or crash */
			free(r);
			continue;
		}
		th->hist[th->n_hist++] = r;
	}
}

/* The matched calls of one thread's stack, outermost first. */
struct matched {
	uint64_t key, loose;
	bool unknown;
	const struct py_frame *f;
};

/*
 * Whether @m is the open call @r: the same key, or the same but for locals one of the two
 * samples could not read (a callee pushed just as its stack was read), which then come from
 * the sample that read them.
 */
static bool same_call(const struct matched *m, const struct pyrec *r)
{
	return m->key == r->key || ((m->unknown || r->unknown) && m->loose == r->loose);
}

static struct pyrec *open_call(struct pysampler *ps, struct pythread *th, const struct matched *m,
			       uint64_t t_ns)
{
	const struct py_frame *f = m->f;
	struct pyrec *parent = th->n_open ? th->open[th->n_open - 1] : NULL;
	struct pyrec *r;

	if (grow(&th->open, &th->cap_open, th->n_open + 1, sizeof(*th->open)))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->key = m->key;
	r->loose = m->loose;
	r->unknown = m->unknown;
	r->code = f->code;
	r->parent = parent;
	r->start_ns = t_ns;
	r->last_ns = t_ns;
	r->after_ns = th->seen_ns;
	r->n_seen = 1;
	r->depth = (uint32_t)th->n_open;
	r->generator = f->generator;
	bt_random_id(r->span_id, sizeof(r->span_id));
	if (parent) {
		memcpy(r->trace_id, parent->trace_id, sizeof(r->trace_id));
		r->totals_key = parent->totals_key;
	} else {
		bt_random_id(r->trace_id, sizeof(r->trace_id));
		r->totals_key = TOTALS_KEY_BIT | ++ps->serial;
	}
	th->open[th->n_open++] = r;
	return r;
}

/* How many of @m's first calls are the thread's open calls @open[0..@n). */
static size_t common(const struct matched *m, size_t n_m, struct pyrec *const *open, size_t n)
{
	size_t i;

	for (i = 0; i < n_m && i < n && same_call(&m[i], open[i]); i++)
		;
	return i;
}

/* The calls a sample stopped seeing end when it was taken. */
static void end_suspects(struct pysampler *ps, struct pythread *th)
{
	while (th->n_suspect) {
		/* appended in the order close_from takes them off open[] */
		if (grow(&th->open, &th->cap_open, th->n_open + 1, sizeof(*th->open)))
			break;
		th->open[th->n_open++] = th->suspect[--th->n_suspect];
		close_from(ps, th, th->n_open - 1, th->suspect_ns, false, NULL);
	}
	th->n_suspect = 0;
}

/*
 * One thread's stack: the sampled calls it shows now against those it showed before. A call
 * that a sample no longer shows becomes a suspect: it ended then, unless the next sample shows
 * it again as it was (a stack read while it changed in a way no check caught; 3.9/3.10 frame
 * objects are freed and reused under the reader). The calls only that one sample showed are
 * then dropped, unless an exact span was already placed in one.
 */
static void apply_stack(struct pysampler *ps, struct pythread *th, const struct py_thread_stack *ts,
			uint64_t t_ns)
{
	struct matched m[256];
	uint64_t key = 0, loose = 0;
	bool unknown = false;
	size_t i, n_m = 0, j;

	for (i = 0; i < ts->n_frames && n_m < sizeof(m) / sizeof(m[0]); i++) {
		const struct py_frame *f = &ts->frames[i];

		/*
		 * The same call: same frame, same code, same call site and locals in its caller
		 * (a loop's next call comes with another counter), same frames below.
		 */
		loose = mix(loose, f->addr);
		loose = mix(loose, f->code ? f->code->addr : 0);
		loose = mix(loose, i ? ts->frames[i - 1].instr : 0);
		key = mix(mix(key, loose), i ? ts->frames[i - 1].locals : 0);
		/* 0: not read (3.9/3.10 frame objects always, which is the same every sample) */
		unknown |= i && !ts->frames[i - 1].locals;
		if (matches(ps, f->code))
			m[n_m++] = (struct matched){key, loose, unknown, f};
	}
	if (th->n_suspect) {
		size_t keep = th->suspect_depth, c_now = common(m, n_m, th->open, th->n_open),
		       c_then;

		/* the stack as it was before the last sample: open[0..keep) then the suspects */
		for (c_then = 0; c_then < n_m && c_then < keep + th->n_suspect; c_then++) {
			const struct pyrec *r =
			    c_then < keep ? th->open[c_then]
					  : th->suspect[th->n_suspect - 1 - (c_then - keep)];

			if (!same_call(&m[c_then], r))
				break;
		}
		if (c_then > c_now) {
			/* the last sample was wrong: back to the calls it did not show */
			while (th->n_open > keep) {
				struct pyrec *r = th->open[--th->n_open];

				if (r->referenced) {
					th->open[th->n_open++] = r;
					close_from(ps, th, th->n_open - 1, t_ns, false, NULL);
				} else {
					ps->st.glitches++;
					free(r);
				}
			}
			while (th->n_suspect)
				th->open[th->n_open++] = th->suspect[--th->n_suspect];
		} else {
			end_suspects(ps, th);
		}
	}
	j = common(m, n_m, th->open, th->n_open);
	for (i = 0; i < j; i++) {
		struct pyrec *r = th->open[i];

		r->n_seen++;
		r->last_ns = t_ns;
		if (r->unknown && !m[i].unknown) {
			/* the locals this sample read name the call from now on */
			r->key = m[i].key;
			r->unknown = false;
		}
	}
	if (j < th->n_open) {
		/* innermost last: suspect[0] is the innermost, as close_from would take them */
		if (!grow(&th->suspect, &th->cap_suspect, th->n_open - j, sizeof(*th->suspect))) {
			th->n_suspect = 0;
			while (th->n_open > j)
				th->suspect[th->n_suspect++] = th->open[--th->n_open];
			th->suspect_depth = j;
			th->suspect_ns = t_ns;
		} else {
			close_from(ps, th, j, t_ns, false, NULL);
		}
	}
	for (i = j; i < n_m; i++)
		if (!open_call(ps, th, &m[i], t_ns))
			break;
	th->seen_ns = t_ns;
}

/*
 * Drops built calls that ended long ago (or beyond the per-thread cap) from the history: from
 * its front, where the oldest are, stopping at the first that stays, so a round costs nothing
 * when there is nothing to drop.
 */
static void trim_history(struct pythread *th, uint64_t t_ns)
{
	size_t i;

	for (i = 0; i < th->n_hist; i++) {
		struct pyrec *r = th->hist[i];

		if (!r->emitted ||
		    (r->end_ns + HISTORY_NS >= t_ns && th->n_hist - i <= HISTORY_MAX))
			break;
		free(r);
	}
	if (!i)
		return;
	memmove(th->hist, th->hist + i, (th->n_hist - i) * sizeof(*th->hist));
	th->n_hist -= i;
}

static void apply_sample(struct pysampler *ps, struct pyproc *p, const struct py_sample *smp)
{
	uint64_t t_ns = bt_mono_to_unix_ns(smp->t_ns);
	size_t i;

	for (i = 0; i < smp->n_threads; i++) {
		const struct py_thread_stack *ts = &smp->threads[i];
		struct pythread *th = thread_get(p, ts->tstate);

		ps->st.thread_stacks++;
		if (!th)
			continue;
		th->round = ps->round;
		th->missed_ns = 0;
		if (ts->tid && th->tid != ts->tid) {
			/* a thread state freed and made again for another thread */
			if (th->tid) {
				end_suspects(ps, th);
				close_from(ps, th, 0, t_ns, false, NULL);
			}
			th->tid = ts->tid;
		}
		/* a stack read while it changed tells nothing: keep what was open */
		if (ts->torn) {
			ps->st.torn++;
			continue;
		}
		apply_stack(ps, th, ts, t_ns);
	}
	/*
	 * Threads missing from two rounds in a row are gone: their calls ended when the first
	 * missed them. One miss may be a thread list read while a thread started or ended.
	 */
	for (i = 0; i < p->n_threads; i++) {
		struct pythread *th = &p->threads[i];

		if (th->round != ps->round && th->n_open) {
			if (!th->missed_ns) {
				th->missed_ns = t_ns;
			} else {
				end_suspects(ps, th);
				close_from(ps, th, 0, th->missed_ns, false, NULL);
			}
		}
		trim_history(th, t_ns);
	}
	p->last_ns = t_ns;
}

/* The calls of every thread of @p end at @t_ns for @reason ("process_exit", "exec"). */
static void end_all(struct pysampler *ps, struct pyproc *p, uint64_t t_ns, const char *reason)
{
	size_t i;

	for (i = 0; i < p->n_threads; i++) {
		end_suspects(ps, &p->threads[i]);
		close_from(ps, &p->threads[i], 0, t_ns, false, reason);
	}
	p->last_ns = t_ns;
}

/*
 * The calls of @p that began at or after @exec_ns, when it executed another program, are the new
 * program's, read by the old program's reader before the news of the exec came: not calls of the
 * old one (the new reader finds them again). Those still open go; built ones are not sent. One
 * an exact span was placed in stays, and ends with the others.
 */
static void drop_new_program(struct pysampler *ps, struct pyproc *p, uint64_t exec_ns)
{
	size_t i, k;

	for (i = 0; i < p->n_threads; i++) {
		struct pythread *th = &p->threads[i];

		end_suspects(ps, th);
		while (th->n_open && th->open[th->n_open - 1]->start_ns >= exec_ns &&
		       !th->open[th->n_open - 1]->referenced) {
			free(th->open[--th->n_open]);
			ps->st.glitches++;
		}
		for (k = 0; k < th->n_hist; k++) {
			struct pyrec *r = th->hist[k];

			if (!r->emitted && !r->referenced && r->start_ns >= exec_ns) {
				r->emitted = true; /* trim_history frees it */
				ps->st.glitches++;
			}
		}
	}
}

/*
 * The calls of @p's old program end: at its exec, when the news of one came (the old program's
 * calls ended with it, not when heard of), else at @t_ns.
 */
static void old_program_ends(struct pysampler *ps, struct pyproc *p, uint64_t t_ns)
{
	if (p->exec_ns && p->exec_ns <= t_ns) {
		drop_new_program(ps, p, p->exec_ns);
		t_ns = p->exec_ns;
	}
	p->execd = false;
	p->exec_ns = 0;
	end_all(ps, p, t_ns, "exec");
}

/*
 * @p executed another program (or its runtime became unreadable): its calls end, and the new
 * program is waited for as a launched one would be. The old reader stays until the end: the
 * spans still to build name their code from its cache.
 */
static void retire(struct pysampler *ps, struct pyproc *p, uint64_t t_ns)
{
	old_program_ends(ps, p, t_ns);
	if (grow(&p->retired, &p->cap_retired, p->n_retired + 1, sizeof(*p->retired))) {
		/* no room to keep it: keep sampling nothing rather than free names in use */
		p->gone = true;
		return;
	}
	p->retired[p->n_retired++] = p->r;
	p->r = NULL;
	p->quiet = true;
	p->next_try_ns = 0;
	p->retry_until_ns = mono_ns() + WAIT_FOR_NS;
}

/* Opens the interpreter of a process that was not one yet; false while still waiting. */
static bool try_open(struct pysampler *ps, struct pyproc *p, uint64_t now)
{
	struct pyreader *r;
	char err[256];

	if (now < p->next_try_ns)
		return false;
	/* off real-time for its length: opening an interpreter reads its ELF files */
	if (ps->rt)
		sched_short_slices(SLICE_NS);
	r = pyreader_open(p->pid, err, sizeof(err));
	if (ps->rt && sched_fifo_lowest())
		ps->rt = false;
	pthread_mutex_lock(&ps->mu);
	if (r) {
		p->r = r;
		p->opened_ns = bt_mono_to_unix_ns(now);
		ps->st.processes++;
		pr_debug("python: pid %d is CPython %s\n", p->pid, pyreader_version(r));
	} else if (errno == ESRCH || now >= p->retry_until_ns) {
		/* a process that ended before it became one (a shell that forked python): no news
		 */
		if (p->quiet || errno == ESRCH)
			pr_debug("python: not sampling pid %d: %s\n", p->pid, err);
		else
			pr_warn("python: no Python spans for pid %d: %s\n", p->pid, err);
		p->gone = true;
	} else {
		p->next_try_ns = now + RETRY_NS;
	}
	pthread_mutex_unlock(&ps->mu);
	return r != NULL;
}

/*
 * How the sampling thread is scheduled. A sampler woken late by a machine whose cores are busy
 * misses the calls that ended meanwhile, and the exact spans of the gap lose their place: on 2
 * cores kept busy by a traced service and its peer, the fair scheduler woke it 1.7-3 ms late
 * (it protects the running task's slice). Real-time (the lowest priority) wakes it on time: a
 * round costs the program what it did, when it is due. That holds while rounds stay short:
 * RT_LONG_ROUNDS rounds in a row of over half a period (many processes, deep stacks), or a
 * quarter of a second in which the thread took more than a quarter of a core (a high
 * --sample-hz over many threads), put it back on the fair scheduler for good, with short
 * slices.
 */
struct rt_watch {
	uint64_t win_ns, win_cpu; /* the window being measured: its start, the thread's CPU then */
	unsigned long_rounds;	  /* rounds in a row that took over half a period */
};

/* Puts the sampling thread back on the fair scheduler for good. */
static void rt_leave(struct pysampler *ps)
{
	ps->rt = false;
	sched_short_slices(SLICE_NS);
}

static void sched_start(struct pysampler *ps, struct rt_watch *w)
{
	int err;

	ps->rt = !sched_fifo_lowest();
	err = ps->rt ? 0 : sched_short_slices(SLICE_NS);
	if (ps->rt)
		pr_debug("python: the sampler runs real-time (SCHED_FIFO 1)\n");
	else if (err)
		pr_debug("python: sampler neither real-time nor on short slices: %s\n",
			 strerror(-err));
	w->win_ns = mono_ns();
	w->win_cpu = sw_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	w->long_rounds = 0;
}

static void sched_check(struct pysampler *ps, struct rt_watch *w, uint64_t now, uint64_t round_ns)
{
	uint64_t cpu;

	if (!ps->rt)
		return;
	w->long_rounds = round_ns > ps->period_ns / 2 ? w->long_rounds + 1 : 0;
	if (w->long_rounds >= RT_LONG_ROUNDS) {
		pr_debug("python: %u sampling rounds in a row took over half a period: real-time "
			 "no more\n",
			 w->long_rounds);
		rt_leave(ps);
		return;
	}
	if (now - w->win_ns < RT_WINDOW_NS)
		return;
	cpu = sw_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if ((cpu - w->win_cpu) * RT_SHARE_DIV > now - w->win_ns) {
		pr_debug("python: the sampler took %.0f ms of CPU in %.0f ms: real-time no more\n",
			 (double)(cpu - w->win_cpu) / 1e6, (double)(now - w->win_ns) / 1e6);
		rt_leave(ps);
	}
	w->win_ns = now;
	w->win_cpu = cpu;
}

static void sample_round(struct pysampler *ps)
{
	size_t i, n;

	uint64_t now = mono_ns();

	pthread_mutex_lock(&ps->mu);
	ps->round++;
	ps->st.samples++;
	/* the longest stretch without a round: what the precision really was */
	if (ps->last_round_ns && now - ps->last_round_ns > ps->st.max_gap_ns)
		ps->st.max_gap_ns = now - ps->last_round_ns;
	ps->last_round_ns = now;
	n = ps->n_procs;
	pthread_mutex_unlock(&ps->mu);
	for (i = 0; i < n; i++) {
		struct pyproc *p = ps->procs[i]; /* the array only grows; entries stay */
		struct py_sample smp;
		int err;

		if (p->gone)
			continue;
		if (p->execd) {
			/* what the reader knew of the old program is no more */
			pthread_mutex_lock(&ps->mu);
			if (p->r) {
				retire(ps, p, bt_mono_to_unix_ns(mono_ns()));
			} else {
				p->execd = false;
				p->exec_ns = 0;
			}
			pthread_mutex_unlock(&ps->mu);
		}
		if (!p->r && !try_open(ps, p, mono_ns()))
			continue;
		/* the read runs unlocked: only this thread touches the reader */
		err = pyreader_sample(p->r, &smp);
		pthread_mutex_lock(&ps->mu);
		if (!err) {
			apply_sample(ps, p, &smp);
		} else if (err == -ESRCH) {
			end_all(ps, p, bt_mono_to_unix_ns(mono_ns()), "process_exit");
			p->gone = true;
		} else if (err == -ENOEXEC || err == -EFAULT || ++p->errors >= MAX_ERRORS) {
			retire(ps, p, bt_mono_to_unix_ns(mono_ns()));
		}
		if (!err)
			p->errors = 0;
		pthread_mutex_unlock(&ps->mu);
	}
	pthread_mutex_lock(&ps->mu);
	pthread_cond_broadcast(&ps->sampled);
	pthread_mutex_unlock(&ps->mu);
}

static void *sampler_main(void *arg)
{
	struct pysampler *ps = arg;
	uint64_t next = mono_ns();
	uint64_t cpu_ns;
	struct rt_watch w;

	sched_start(ps, &w);
	for (;;) {
		uint64_t now, round_ns;
		struct timespec ts;

		pthread_mutex_lock(&ps->mu);
		if (ps->stop) {
			pthread_mutex_unlock(&ps->mu);
			break;
		}
		pthread_mutex_unlock(&ps->mu);
		round_ns = mono_ns();
		sample_round(ps);
		next += ps->period_ns;
		now = mono_ns();
		sched_check(ps, &w, now, now - round_ns);
		if (now >= next) {
			/* overran: skip the rounds that are past, not run them back to back */
			uint64_t missed = (now - next) / ps->period_ns + 1;

			pthread_mutex_lock(&ps->mu);
			ps->st.late += missed;
			pthread_mutex_unlock(&ps->mu);
			next += missed * ps->period_ns;
		}
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	cpu_ns = sw_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (cpu_ns) {
		pthread_mutex_lock(&ps->mu);
		ps->st.sampler_cpu_ns = cpu_ns;
		pthread_mutex_unlock(&ps->mu);
	}
	return NULL;
}

int pysampler_add(struct pysampler *ps, pid_t pid, enum pysample_when when, char *err,
		  size_t errlen)
{
	struct pyproc *p;
	size_t i;

	pthread_mutex_lock(&ps->mu);
	for (i = 0; i < ps->n_procs; i++)
		if (ps->procs[i]->pid == pid && !ps->procs[i]->gone) {
			pthread_mutex_unlock(&ps->mu);
			return 0;
		}
	pthread_mutex_unlock(&ps->mu);
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->pid = pid;
	p->quiet = when == PYSAMPLE_MAYBE;
	p->r = pyreader_open(pid, err, errlen);
	if (!p->r) {
		int e = errno ? errno : EINVAL;

		if (when == PYSAMPLE_NOW || e == ESRCH) {
			free(p);
			return -e;
		}
		/* launched or just exec'd: the interpreter comes in a moment */
		p->retry_until_ns = mono_ns() + WAIT_FOR_NS;
	}
	pthread_mutex_lock(&ps->mu);
	/*
	 * The sampling thread reads procs[] unlocked up to the count it saw: the array is only
	 * reallocated before that thread runs (targets are added at start) or under the lock
	 * while it does not hold an index past n_procs; a full array stays as it is.
	 */
	if (ps->n_procs == ps->cap_procs &&
	    (ps->running ||
	     grow(&ps->procs, &ps->cap_procs, ps->n_procs + 1, sizeof(*ps->procs)))) {
		pthread_mutex_unlock(&ps->mu);
		pyreader_free(p->r);
		free(p);
		snprintf(err, errlen, "too many Python processes");
		return -ENOSPC;
	}
	ps->procs[ps->n_procs++] = p;
	if (p->r)
		ps->st.processes++;
	pthread_mutex_unlock(&ps->mu);
	return 0;
}

void pysampler_exec(struct pysampler *ps, pid_t pid, uint64_t t_ns)
{
	size_t i, j, k;

	if (!ps)
		return;
	pthread_mutex_lock(&ps->mu);
	for (i = 0; i < ps->n_procs; i++) {
		struct pyproc *p = ps->procs[i];

		/* one gone (or fed by hand) is no longer read: the news changes its calls alone */
		if (p->pid != pid)
			continue;
		/* a reader opened since reads the new program already (ENOEXEC came first) */
		if (!p->r || p->opened_ns < t_ns) {
			p->execd = true;
			p->exec_ns = t_ns;
		}
		/*
		 * The sampler may have seen the old program's calls vanish before this news came:
		 * those that ended at the first sample after the exec began ended by it, then (no
		 * code of the old program runs past that point).
		 */
		for (j = 0; j < p->n_threads; j++) {
			struct pythread *th = &p->threads[j];

			for (k = 0; k < th->n_hist; k++) {
				struct pyrec *r = th->hist[k];

				if (!r->emitted && r->start_ns < t_ns && r->end_ns >= t_ns) {
					r->end_ns = t_ns;
					r->end_reason = "exec";
				}
			}
		}
	}
	pthread_mutex_unlock(&ps->mu);
}

int pysampler_track(struct pysampler *ps, pid_t pid)
{
	struct pyproc *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->gone = true; /* the sampling thread leaves it alone */
	pthread_mutex_lock(&ps->mu);
	if ((ps->running && ps->n_procs == ps->cap_procs) ||
	    grow(&ps->procs, &ps->cap_procs, ps->n_procs + 1, sizeof(*ps->procs))) {
		pthread_mutex_unlock(&ps->mu);
		free(p);
		return -ENOMEM;
	}
	ps->procs[ps->n_procs++] = p;
	pthread_mutex_unlock(&ps->mu);
	return 0;
}

void pysampler_feed(struct pysampler *ps, pid_t pid, const struct py_sample *smp)
{
	size_t i;

	pthread_mutex_lock(&ps->mu);
	ps->round++;
	ps->st.samples++;
	for (i = 0; i < ps->n_procs; i++) {
		struct pyproc *p = ps->procs[i];

		if (p->pid != pid || p->r)
			continue;
		if (p->execd)
			old_program_ends(ps, p, p->exec_ns);
		apply_sample(ps, p, smp);
	}
	pthread_mutex_unlock(&ps->mu);
}

int pysampler_start(struct pysampler *ps)
{
	int err;

	/* room for processes that appear later (exec'd children): the array does not move then */
	pthread_mutex_lock(&ps->mu);
	if (ps->cap_procs < ps->n_procs + 64) {
		struct pyproc **n = realloc(ps->procs, (ps->n_procs + 64) * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&ps->mu);
			return -ENOMEM;
		}
		ps->procs = n;
		ps->cap_procs = ps->n_procs + 64;
	}
	ps->running = true;
	pthread_mutex_unlock(&ps->mu);
	err = pthread_create(&ps->thread, NULL, sampler_main, ps);
	if (err) {
		ps->running = false;
		return -err;
	}
	return 0;
}

static struct bt_span *build(struct pysampler *ps, const struct pyproc *p,
			     const struct pythread *th, const struct pyrec *r)
{
	const struct py_code *c = r->code;
	struct bt_span *span = bt_span_new(c->name, BT_KIND_INTERNAL);

	if (!span)
		return NULL;
	memcpy(span->trace_id, r->trace_id, sizeof(span->trace_id));
	memcpy(span->span_id, r->span_id, sizeof(span->span_id));
	if (r->parent)
		memcpy(span->parent_span_id, r->parent->span_id, sizeof(span->parent_span_id));
	span->start_ns = r->start_ns;
	span->end_ns = r->end_ns;
	bt_attrs_set_str(&span->attrs, ATTR_CODE_FUNCTION_NAME, c->name);
	if (c->file)
		bt_attrs_set_str(&span->attrs, ATTR_CODE_FILE_PATH, c->file);
	if (c->first_line)
		bt_attrs_set_int(&span->attrs, ATTR_CODE_LINE_NUMBER, c->first_line);
	if (th->tid)
		bt_attrs_set_int(&span->attrs, ATTR_THREAD_ID, th->tid);
	bt_attrs_set_int(&span->attrs, ATTR_BEDTRACE_CALL_DEPTH, r->depth);
	bt_attrs_set_bool(&span->attrs, ATTR_BEDTRACE_SPAN_SAMPLED, true);
	bt_attrs_set_int(&span->attrs, ATTR_BEDTRACE_SAMPLE_PERIOD_NS, (int64_t)ps->period_ns);
	bt_attrs_set_int(&span->attrs, ATTR_BEDTRACE_SAMPLE_COUNT, r->n_seen);
	if (r->generator)
		bt_attrs_set_bool(&span->attrs, ATTR_BEDTRACE_PYTHON_GENERATOR, true);
	if (r->incomplete)
		bt_attrs_set_bool(&span->attrs, ATTR_BEDTRACE_SPAN_INCOMPLETE, true);
	if (r->end_reason)
		bt_attrs_set_str(&span->attrs, ATTR_BEDTRACE_END_REASON, r->end_reason);
	if (span->attrs.err) {
		bt_span_free(span);
		return NULL;
	}
	if (ps->resource)
		bt_span_set_resource(span, ps->resource(ps->ctx, (uint32_t)p->pid));
	if (!r->parent && ps->stitcher)
		stitcher_take_totals(ps->stitcher, r->totals_key, span);
	return span;
}

/* Builds the calls that ended (all of them when @all) into spans; sinks them unlocked. */
static void drain(struct pysampler *ps, bool all)
{
	uint64_t now = bt_mono_to_unix_ns(mono_ns());
	struct bt_span **out = NULL;
	size_t n_out = 0, cap_out = 0, i, j, k;

	pthread_mutex_lock(&ps->mu);
	for (i = 0; i < ps->n_procs; i++) {
		struct pyproc *p = ps->procs[i];

		for (j = 0; j < p->n_threads; j++) {
			struct pythread *th = &p->threads[j];

			for (k = 0; k < th->n_hist; k++) {
				struct pyrec *r = th->hist[k];
				struct bt_span *span;

				if (r->emitted || (!all && r->end_ns + EMIT_DELAY_NS > now))
					continue;
				r->emitted = true;
				if (grow(&out, &cap_out, n_out + 1, sizeof(*out)))
					continue;
				span = build(ps, p, th, r);
				if (span) {
					out[n_out++] = span;
					ps->st.spans++;
				}
			}
		}
	}
	pthread_mutex_unlock(&ps->mu);
	for (i = 0; i < n_out; i++)
		ps->sink(ps->ctx, out[i]);
	free(out);
}

void pysampler_drain(struct pysampler *ps)
{
	if (ps)
		drain(ps, false);
}

/* Whether @anc is @r or encloses it. */
static bool within(const struct pyrec *r, const struct pyrec *anc)
{
	for (; r; r = r->parent)
		if (r == anc)
			return true;
	return false;
}

/* The thread's call @i of its open, suspect and built ones, with when it ended (0: open). */
static struct pyrec *call_at(const struct pythread *th, size_t i, uint64_t *end)
{
	if (i < th->n_open) {
		*end = 0;
		return th->open[i];
	}
	i -= th->n_open;
	if (i < th->n_suspect) {
		/* not seen by the last sample: ended then, unless the next one disagrees */
		*end = th->suspect_ns;
		return th->suspect[i];
	}
	i -= th->n_suspect;
	*end = th->hist[i]->end_ns;
	return th->hist[i];
}

/* How long before its first sample @r may have begun. */
static uint64_t may_begin_before(const struct pysampler *ps, const struct pyrec *r)
{
	uint64_t back = ps->period_ns;

	if (r->after_ns && r->after_ns < r->start_ns)
		back = r->start_ns - r->after_ns;
	if (back < ps->period_ns)
		back = ps->period_ns;
	if (back > MAX_BACK_PERIODS * ps->period_ns)
		back = MAX_BACK_PERIODS * ps->period_ns;
	return back;
}

/* Whether @r goes before @best as the innermost: deeper, or as deep and begun later. */
static bool inner_than(const struct pyrec *r, const struct pyrec *best)
{
	return !best || r->depth > best->depth ||
	       (r->depth == best->depth && r->start_ns > best->start_ns);
}

/*
 * The innermost sampled call of @th that can hold an exact span from @t_ns to @end_ns, if any.
 * Samples bound a call: it began after the sample before its first one and by that first one,
 * and ended by the first sample without it. One that ended by @end_ns cannot hold the span
 * (a native call that sleeps on past it: the next call holds it). Of the others, X is the
 * innermost that had begun by @t_ns and ran then as far as the samples tell: still open, or
 * @t_ns within a period and a half of its last sample, where the next sample on time would have
 * looked. Past that, when the next sample came late or the ones between read the stack torn, a
 * call may have ended right after its last sample and the span come from a call no sample saw
 * (a Bedrock request from the unseen call after the one last sampled): of such calls, the
 * outermost, which holds whatever the others held, is X when no call ran surely.
 *
 * One whose first sample came after @t_ns may have begun before, since the sample before its
 * first one: a period, or longer when the samples between came late or read the stack torn, up to
 * MAX_BACK_PERIODS; the span's start then moves it back (pysampler_outer). Such a call is taken
 * only inside X: one beside X (the next call at X's depth, or one inside that) would have begun
 * before X ended. So a late round that saw one call end and the next begin leaves a span that
 * either could hold in the first, which the samples place there.
 */
static struct pyrec *open_at(struct pysampler *ps, struct pythread *th, uint64_t t_ns,
			     uint64_t end_ns)
{
	size_t i, n = th->n_open + th->n_suspect + th->n_hist;
	struct pyrec *best = NULL, *unsure = NULL, *moved = NULL, *r;
	uint64_t end;

	for (i = 0; i < n; i++) {
		r = call_at(th, i, &end);
		if (r->start_ns > t_ns || (end && end <= end_ns))
			continue;
		if (!end || t_ns <= r->last_ns + ps->period_ns + ps->period_ns / 2) {
			if (inner_than(r, best))
				best = r;
		} else if (!unsure || r->depth < unsure->depth) {
			unsure = r;
		}
	}
	if (!best)
		best = unsure;
	for (i = 0; i < n; i++) {
		r = call_at(th, i, &end);
		if (r->start_ns > t_ns && r->start_ns - t_ns <= may_begin_before(ps, r) &&
		    (!end || end > end_ns) && (!best || within(r, best)) && inner_than(r, moved))
			moved = r;
	}
	return moved && (!best || moved->depth > best->depth) ? moved : best;
}

uint64_t pysampler_outer(void *pysampler, uint32_t pid, uint32_t tid, uint64_t t_ns,
			 uint64_t end_ns, uint8_t *trace_id, uint8_t *parent_id)
{
	struct pysampler *ps = pysampler;
	struct pyproc *p = NULL;
	struct pythread *th;
	struct pyrec *r, *a;
	uint64_t key = 0;
	size_t i;

	pthread_mutex_lock(&ps->mu);
	for (i = 0; i < ps->n_procs && !p; i++)
		if (ps->procs[i]->pid == (pid_t)pid && (ps->procs[i]->r || ps->procs[i]->gone))
			p = ps->procs[i];
	if (!p)
		goto out;
	/* the sampler may not have looked at @t_ns yet: give it a few periods */
	if (ps->running && !p->gone && p->last_ns < t_ns) {
		uint64_t deadline = mono_ns() + 3 * ps->period_ns + 1000000ull;
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(deadline - mono_ns());
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!p->gone && p->last_ns < t_ns && !ps->stop &&
		       pthread_cond_timedwait(&ps->sampled, &ps->mu, &ts) == 0)
			;
	}
	th = thread_by_tid(p, tid);
	r = th ? open_at(ps, th, t_ns, end_ns) : NULL;
	if (!r)
		goto out;
	/* the exact span is inside the call: the call had begun by then */
	for (a = r; a && a->start_ns > t_ns && !a->emitted; a = a->parent)
		a->start_ns = t_ns;
	memcpy(trace_id, r->trace_id, BT_TRACE_ID_LEN);
	memcpy(parent_id, r->span_id, BT_SPAN_ID_LEN);
	for (a = r; a; a = a->parent)
		a->referenced = true;
	key = r->totals_key;
	ps->st.nested++;
out:
	pthread_mutex_unlock(&ps->mu);
	return key;
}

void pysampler_stop(struct pysampler *ps)
{
	uint64_t now;
	size_t i, j;

	if (!ps)
		return;
	pthread_mutex_lock(&ps->mu);
	ps->stop = true;
	pthread_cond_broadcast(&ps->sampled);
	pthread_mutex_unlock(&ps->mu);
	if (ps->running) {
		pthread_join(ps->thread, NULL);
		ps->running = false;
	}
	now = bt_mono_to_unix_ns(mono_ns());
	pthread_mutex_lock(&ps->mu);
	for (i = 0; i < ps->n_procs; i++) {
		struct pyproc *p = ps->procs[i];
		struct pyreader_stats rs;

		for (j = 0; j < p->n_threads; j++) {
			end_suspects(ps, &p->threads[j]);
			close_from(ps, &p->threads[j], 0, now, true, NULL);
		}
		if (p->r) {
			pyreader_get_stats(p->r, &rs);
			ps->st.syscalls += rs.syscalls;
			ps->st.mixed += rs.misplaced + rs.replaced;
		}
	}
	pthread_mutex_unlock(&ps->mu);
	drain(ps, true);
}

void pysampler_get_stats(const struct pysampler *ps, struct pysampler_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!ps)
		return;
	pthread_mutex_lock((pthread_mutex_t *)&ps->mu);
	*st = ps->st;
	pthread_mutex_unlock((pthread_mutex_t *)&ps->mu);
}

void pysampler_free(struct pysampler *ps)
{
	size_t i, j, k;

	if (!ps)
		return;
	if (ps->running)
		pysampler_stop(ps);
	for (i = 0; i < ps->n_procs; i++) {
		struct pyproc *p = ps->procs[i];

		for (j = 0; j < p->n_threads; j++) {
			struct pythread *th = &p->threads[j];

			for (k = 0; k < th->n_open; k++)
				free(th->open[k]);
			for (k = 0; k < th->n_hist; k++)
				free(th->hist[k]);
			for (k = 0; k < th->n_suspect; k++)
				free(th->suspect[k]);
			free(th->open);
			free(th->hist);
			free(th->suspect);
		}
		free(p->threads);
		pyreader_free(p->r);
		for (k = 0; k < p->n_retired; k++)
			pyreader_free(p->retired[k]);
		free(p->retired);
		free(p);
	}
	free(ps->procs);
	for (i = 0; i < ps->n_globs; i++)
		free(ps->globs[i]);
	free(ps->globs);
	free(ps->matches);
	pthread_mutex_destroy(&ps->mu);
	pthread_cond_destroy(&ps->sampled);
	free(ps);
}
