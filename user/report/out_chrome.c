// SPDX-License-Identifier: MIT
/*
 * --chrome: the selected traces as Chrome trace events, the JSON Object Format that Perfetto
 * and chrome://tracing open ({"traceEvents": [...]}). Each span is a complete event (ph "X",
 * ts and dur in microseconds) on a process per host/service pair and a thread per thread.id, so
 * that a track holds properly nested slices: spans that carry no thread (HTTP, model calls)
 * take their parent's thread, and a trace with no thread at all gets a track of its own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/out.h"
#include "span/semconv.h"
#include "util/grow.h"
#include "util/jbuf.h"

struct proc {
	rp_str host, service;
};

struct chrome {
	struct jbuf b;
	bool first;
	struct proc *procs;
	size_t n_procs, cap_procs;
	uint64_t t0;
};

static void event_start(struct chrome *c)
{
	jb_elem(&c->b, c->first, "{");
	c->first = false;
}

static void u64(struct jbuf *b, uint64_t v)
{
	char s[24];

	jb_put(b, s, (size_t)snprintf(s, sizeof(s), "%" PRIu64, v));
}

/* The pid of @s's host/service pair (1-based), named by a metadata event when first seen. */
static long proc_of(struct chrome *c, const struct rp_dataset *ds, const struct rp_span *s)
{
	char name[512];
	size_t i;

	for (i = 0; i < c->n_procs; i++)
		if (c->procs[i].host == s->host && c->procs[i].service == s->service)
			return (long)i + 1;
	if (grow(&c->procs, &c->cap_procs, c->n_procs + 1, sizeof(*c->procs)))
		return -ENOMEM;
	c->procs[c->n_procs].host = s->host;
	c->procs[c->n_procs].service = s->service;
	c->n_procs++;
	if (s->host)
		snprintf(name, sizeof(name), "%s @ %s", rp_str_of(ds, s->service),
			 rp_str_of(ds, s->host));
	else
		snprintf(name, sizeof(name), "%s", rp_str_of(ds, s->service));
	event_start(c);
	JB_LIT(&c->b, "\"name\":\"process_name\",\"ph\":\"M\",\"pid\":");
	u64(&c->b, c->n_procs);
	JB_LIT(&c->b, ",\"args\":{\"name\":");
	jb_str(&c->b, name);
	JB_LIT(&c->b, "}}");
	return (long)c->n_procs;
}

/* Thread ids of a trace's spans: thread.id, else the parent's, else @fallback. */
static void thread_ids(const struct rp_dataset *ds, const struct rp_traces *tl,
		       const struct rp_trace *t, const long *parent, uint64_t fallback,
		       uint64_t *tid)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		tid[i] = 0;
	for (i = 0; i < t->n; i++) {
		const char *v = rp_attr_of(ds, &ds->spans[tl->order[t->first + i]], ATTR_THREAD_ID);
		char *end;

		if (v && *v) {
			unsigned long long x = strtoull(v, &end, 10);

			if (!*end && x)
				tid[i] = x;
		}
	}
	/* walk up to the nearest ancestor with a thread; the depth bound stops parent cycles */
	for (i = 0; i < t->n; i++) {
		long p = (long)i;
		size_t steps = 0;

		while (!tid[p] && parent[p] >= 0 && steps++ < t->n)
			p = parent[p];
		if (!tid[i])
			tid[i] = tid[p] ? tid[p] : fallback;
	}
}

static int trace_events(struct chrome *c, const struct rp_dataset *ds, const struct rp_traces *tl,
			const struct rp_trace *t, uint64_t trace_no)
{
	long *parent = malloc((t->n + 1) * sizeof(*parent));
	uint64_t *tid = malloc((t->n + 1) * sizeof(*tid));
	int err = -ENOMEM;
	size_t i;

	if (!parent || !tid || rp_trace_parents(ds, tl, t, parent))
		goto cleanup;
	/* a trace without threads: a track number well above real thread ids */
	thread_ids(ds, tl, t, parent, (1ull << 32) + trace_no, tid);
	for (i = 0; i < t->n; i++) {
		const struct rp_span *s = &ds->spans[tl->order[t->first + i]];
		long pid = proc_of(c, ds, s);
		uint64_t dur = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;

		if (pid < 0)
			goto cleanup;
		event_start(c);
		jb_key(&c->b, true, "name");
		jb_str(&c->b, rp_str_of(ds, s->name));
		jb_key(&c->b, false, "cat");
		jb_str(&c->b, rp_kind_name(s->kind)[0] ? rp_kind_name(s->kind) : "span");
		JB_LIT(&c->b, ",\"ph\":\"X\"");
		jb_key(&c->b, false, "ts");
		jb_double(&c->b, (double)(s->start_ns - c->t0) / 1e3);
		jb_key(&c->b, false, "dur");
		jb_double(&c->b, (double)dur / 1e3);
		jb_key(&c->b, false, "pid");
		u64(&c->b, (uint64_t)pid);
		jb_key(&c->b, false, "tid");
		u64(&c->b, tid[i]);
		jb_key(&c->b, false, "args");
		JB_LIT(&c->b, "{\"trace_id\":");
		jb_hex(&c->b, s->trace_id, 16);
		JB_LIT(&c->b, ",\"span_id\":");
		jb_hex(&c->b, s->span_id, 8);
		if (s->flags & RP_ERROR)
			JB_LIT(&c->b, ",\"error\":true");
		if (s->attrs && s->attrs < ds->n_attr_sets) {
			const struct rp_attr_set *set = &ds->attr_sets[s->attrs];
			uint32_t k;

			for (k = 0; k < set->n; k++) {
				const struct rp_attr *a = &ds->attrs[set->first + k];

				JB_LIT(&c->b, ",");
				jb_str(&c->b, rp_str_of(ds, a->key));
				JB_LIT(&c->b, ":");
				jb_str(&c->b, rp_str_of(ds, a->value));
			}
		}
		JB_LIT(&c->b, "}}");
	}
	err = 0;
cleanup:
	free(parent);
	free(tid);
	return err;
}

int rp_chrome_write(FILE *f, const struct rp_dataset *ds, const uint8_t (*ids)[16], size_t n)
{
	struct chrome c = {.first = true, .t0 = UINT64_MAX};
	struct rp_traces tl;
	bool *done = NULL;
	size_t i, n_traces;
	int err;

	err = rp_traces_build(ds, NULL, &tl);
	if (err)
		return err;
	err = -ENOMEM;
	done = calloc(tl.n + 1, sizeof(*done));
	if (!done)
		goto cleanup;
	n_traces = ids ? n : tl.n;
	/* times from the earliest span written: absolute microseconds would lose precision */
	for (i = 0; i < n_traces; i++) {
		const struct rp_trace *t = ids ? rp_traces_find(&tl, ids[i]) : &tl.t[i];

		if (t && t->start_ns < c.t0)
			c.t0 = t->start_ns;
	}
	JB_LIT(&c.b, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[");
	for (i = 0; i < n_traces; i++) {
		const struct rp_trace *t = ids ? rp_traces_find(&tl, ids[i]) : &tl.t[i];

		if (!t || done[t - tl.t])
			continue;
		done[t - tl.t] = true;
		if (trace_events(&c, ds, &tl, t, (uint64_t)(t - tl.t) + 1))
			goto cleanup;
	}
	JB_LIT(&c.b, "]}\n");
	if (c.b.oom)
		goto cleanup;
	err = fwrite(c.b.p, 1, c.b.len, f) == c.b.len ? 0 : -EIO;
cleanup:
	free(c.b.p);
	free(c.procs);
	free(done);
	rp_traces_free(&tl);
	return err;
}
