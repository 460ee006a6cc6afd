// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bedtrace.h"
#include "export/export.h"
#include "export/otel_env.h"
#include "genai/genai.h"
#include "genai/prices.h"
#include "health.h"
#include "pipeline.h"
#include "probe/elf_cache.h"
#include "probe/functrace.h"
#include "probe/ring.h"
#include "probe/select.h"
#include "probe/stack_dump.h"
#include "probe/syscap.h"
#include "probe/target.h"
#include "probe/tlscap.h"
#include "probe/watchdog.h"
#include "span/resource.h"
#include "span/semconv.h"
#include "span/stitch.h"
#include "stream/conn.h"
#include "signals.h"
#include "tracer.h"
#include "util/grow.h"
#include "util/log.h"
#include "util/sched.h"
#include "util/stopwatch.h"

#define BATCH_MAX 512
/*
 * Default event ring sizes. Payload capture wakes the reader once a quarter of the ring is
 * waiting (8 MiB), which at 100 MB/s is every 80 ms: the ring holds 320 ms of traffic at that
 * rate, and a loopback burst of a 16 MiB body while the reader drains it. The ring is mapped
 * once (probe/ring.h), so it costs its size in resident memory. Call events alone are small.
 * --ring-size overrides both.
 */
#define RING_BYTES_CAPTURE (32u << 20)
#define RING_BYTES_CALLS (8u << 20)
/* Processes that ended badly listed one by one in the summary of -e / -a. */
#define FLEET_BAD_LISTED 10
#define FLUSH_INTERVAL_NS (500ull * 1000000ull)
/*
 * Returned by the event callback to make libbpf stop consuming: while records keep arriving,
 * event_ring_poll/consume would otherwise never return to the loop (stop flag, deadline, tick).
 */
#define RB_YIELD (-ECANCELED)
/* Records handled between two clock reads in the event callback. */
#define YIELD_CHECK_EVERY 1024
/* Exit status when spans were produced and a destination did not get them (README). */
#define EXIT_NOT_DELIVERED 3

struct session {
	const struct tracer_opts *opts;
	struct target *targets; /* -p / -- targets first, then followed children */
	size_t n_targets, cap_targets;
	uint64_t n_forks, n_execs;  /* children followed, programs executed by targets */
	bool stopping;		    /* probes detached: held processes are only resumed */
	struct bt_shared_maps maps; /* the BPF maps every loader shares */
	struct func_tracer *ft;
	struct watchdog *wd; /* keeps the targets safe if bedtrace dies */
	struct tls_capture *tls;
	struct sys_capture *sys;
	struct conn_tracker *conns;
	struct pipeline exchanges; /* what becomes of each exchange the tracker finishes */
	struct genai *genai;
	struct price_table *prices;
	struct stitcher *stitcher;
	struct pysampler *py; /* --python: sampled Python calls; NULL: none asked for */
	struct bt_exporter *exporters[2];
	const char *exporter_names[2];
	const char *exporter_kinds[2]; /* "file" or "otlp" (bedtrace.export.* metrics) */
	struct signals *signals;       /* metrics and inference logs; NULL: none asked for */
	char *endpoint;
	size_t n_exporters;
	struct bt_span *batch[BATCH_MAX + 1]; /* + the loss record of a flush */
	size_t n_batch;
	uint64_t last_flush_ns;
	uint64_t spans_total;
	uint64_t export_failures;
	volatile sig_atomic_t *stop;
	uint64_t deadline_ns;
	uint64_t n_records; /* ring records handled, for the yield check */
	bool draining;	    /* shutdown: read what is left in the ring, whatever the stop flag */
	uint64_t last_record_ns; /* when the last capture-loss record was made */
	struct capture_health *health;
	struct bt_resource *self_resource; /* loss records no single process can be named for */
	/* where the time to ready went (-v) */
	struct sw_tally load_times;   /* loading each BPF object */
	struct sw_tally symbol_times; /* reading each object file's symbols */
	uint64_t attach_ns;	      /* attaching the targets, symbols included */
	/* -e / -a: processes are selected as they appear, and forgotten when they end */
	struct proc_select *sel;
	bool fleet;
	uint32_t ring_bytes;
	uint64_t n_selected;		      /* processes traced so far */
	uint64_t n_ended, n_ended_badly;      /* of them, ended (and how many badly) */
	char bad_ends[FLEET_BAD_LISTED][160]; /* the first that ended badly */
};

/*
 * Samples the BPF loss counters; when something was lost since the last sample, returns the
 * loss record of that interval, attributed to the traced process when there is only one.
 */
static struct bt_span *sample_health(struct session *s)
{
	uint64_t counts[BT_CNT_MAX], now = bt_now_mono_ns();
	struct bt_span *loss;
	bool emit;

	if (!s->health || !s->ft || health_read_counters(functrace_counters_fd(s->ft), counts))
		return NULL;
	/* one record per flush tick at most, and the last one at exit */
	emit = s->draining || now - s->last_record_ns >= FLUSH_INTERVAL_NS;
	loss = health_sample(s->health, counts, now, emit);
	if (!loss)
		return NULL;
	s->last_record_ns = now;
	/* the counters have no process key: only a lone target can be named */
	if (s->n_targets == 1) {
		bt_attrs_set_int(&loss->attrs, ATTR_PROCESS_PID, s->targets[0].pid);
		bt_span_set_resource(loss, s->targets[0].resource);
	} else {
		bt_span_set_resource(loss, s->self_resource);
	}
	return loss;
}

static void flush_batch(struct session *s)
{
	struct bt_span *loss = sample_health(s);
	size_t i;

	/* after the sample: spans read so far that overlap a loss are known to be incomplete */
	if (s->health)
		for (i = 0; i < s->n_batch; i++)
			health_mark(s->health, s->batch[i]);
	if (loss) {
		s->batch[s->n_batch++] = loss;
		s->spans_total++;
	}
	if (s->n_batch == 0)
		return;
	signals_spans(s->signals, s->batch, s->n_batch);
	for (i = 0; i < s->n_exporters; i++)
		if (exporter_write(s->exporters[i], s->batch, s->n_batch))
			s->export_failures++;
	for (i = 0; i < s->n_batch; i++)
		bt_span_free(s->batch[i]);
	s->n_batch = 0;
	s->last_flush_ns = bt_now_mono_ns();
}

static void sink_span(void *ctx, struct bt_span *span)
{
	struct session *s = ctx;

	s->batch[s->n_batch++] = span;
	s->spans_total++;
	if (s->n_batch == BATCH_MAX)
		flush_batch(s);
}

static struct bt_resource *resource_of(void *ctx, uint32_t pid)
{
	struct session *s = ctx;
	size_t i;

	for (i = 0; i < s->n_targets; i++)
		if ((uint32_t)s->targets[i].pid == pid)
			return s->targets[i].resource;
	return NULL;
}

static struct target *new_target(struct session *s);
static void python_follow(struct session *s, pid_t pid);
static void report_python(const struct session *s);
static int attach_target(struct session *s, struct target *t, bool optional);
static int attach_probes(struct session *s, struct target *t, bool optional);
static void select_process(struct session *s, pid_t pid, int exe, const char *comm, bool in_bpf);
static int target_from_event(struct session *s, struct target *t, pid_t pid, const char *exe,
			     const char *comm, const char *cmdline);
static int examine_process(struct session *s, pid_t pid);

/* Resumes process @pid, which BPF stopped until userspace was done with it. */
static void resume_held(struct session *s, pid_t pid)
{
	if (kill(pid, SIGCONT) && errno != ESRCH)
		pr_warn("cannot resume process %d: %s\n", (int)pid, strerror(errno));
	functrace_resumed(s->ft, pid);
}

static struct target *find_target(struct session *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->n_targets; i++)
		if (s->targets[i].pid == pid && !s->targets[i].exited)
			return &s->targets[i];
	return NULL;
}

/* A followed process forked @pid: trace the child with the same SPECs, then let it run. */
static void follow_fork(struct session *s, const struct bt_proc_event *e)
{
	struct target *t = find_target(s, (pid_t)e->pid);
	int err = 0;

	if (!t && !s->stopping) {
		t = new_target(s);
		err = t ? target_open_pid(t, (pid_t)e->pid) : -ENOMEM;
		if (err == -ESRCH) {
			/* gone already (a short-lived child): it ran its parent's program */
			const struct target *parent = find_target(s, (pid_t)e->ppid);

			target_close(t);
			if (!target_from_event(s, t, (pid_t)e->pid, parent ? parent->exe : NULL,
					       parent && parent->comm ? parent->comm : "",
					       parent ? parent->cmdline : NULL)) {
				s->n_targets++;
				s->n_forks++;
			} else {
				resource_release(t);
				target_close(t);
			}
		} else if (!err)
			s->n_targets++;
		else
			pr_warn("cannot follow process %u (child of %u): %s\n", e->pid, e->ppid,
				strerror(-err));
		if (!err) {
			s->n_forks++;
			if (!s->fleet) /* see select_process() */
				watchdog_add_pid(s->wd, t->pid);
			err = resource_refresh(t, s->opts->service_name);
			if (!err)
				err = attach_probes(s, t, true);
			pr_debug("following process %u, child of %u%s\n", e->pid, e->ppid,
				 err ? " (not all probes attached)" : "");
			python_follow(s, (pid_t)e->pid);
		}
	}
	if (e->status)
		resume_held(s, (pid_t)e->pid);
}

/* A target executed a new program: trace it if a SPEC names its functions, then let it run. */
static void follow_exec(struct session *s, const struct bt_proc_event *e)
{
	struct target *t = find_target(s, (pid_t)e->pid);

	if (t && !s->stopping) {
		s->n_execs++;
		if (attach_target(s, t, true) == 0)
			pr_debug("process %u executed %s\n", e->pid, t->exe ? t->exe : "?");
		pysampler_exec(s->py, (pid_t)e->pid, bt_mono_to_unix_ns(e->ts_ns));
		python_follow(s, (pid_t)e->pid);
	}
	if (e->status)
		resume_held(s, (pid_t)e->pid);
}

/* A target mapped new code: the unwinder and longjmp may live there (dlopen). */
static void rescan_unwind(struct session *s, pid_t pid)
{
	size_t i;
	int err;

	if (!s->opts->n_specs || s->stopping)
		return;
	for (i = 0; i < s->n_targets; i++) {
		if (s->targets[i].pid != pid || s->targets[i].exited)
			continue;
		err = functrace_attach_unwind(s->ft, &s->targets[i]);
		if (err < 0)
			pr_warn("process %d: cannot watch exceptions in newly loaded code: %s\n",
				(int)pid, strerror(-err));
	}
}

/* A traced process ended (its last thread exited): keep its wait status for the summary. */
static void note_proc_exit(struct session *s, const struct bt_proc_event *e)
{
	for (size_t i = 0; i < s->n_targets; i++) {
		if ((uint32_t)s->targets[i].pid != e->pid || s->targets[i].gone)
			continue;
		s->targets[i].end_seen = true;
		s->targets[i].end_status = (int)e->status;
		pr_debug("process %u ended (wait status 0x%x)\n", e->pid, e->status);
	}
}

/*
 * After each record: RB_YIELD when the loop must act (stop requested, --duration over, a flush
 * tick due), else 0. The stop flag is one load; the clock is read every YIELD_CHECK_EVERY records.
 */
static int yield_check(struct session *s)
{
	uint64_t now;

	if (s->draining)
		return 0;
	if (*s->stop)
		return RB_YIELD;
	if (++s->n_records % YIELD_CHECK_EVERY)
		return 0;
	now = bt_now_mono_ns();
	if ((s->deadline_ns && now >= s->deadline_ns) ||
	    now - s->last_flush_ns >= FLUSH_INTERVAL_NS)
		return RB_YIELD;
	return 0;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	__u32 type;

	if (size < sizeof(type))
		return 0;
	type = *(__u32 *)data;
	switch (type) {
	case BT_EV_CALL: {
		const struct bt_call_event *e = data;

		if (size < sizeof(*e))
			break;
		if (e->probe_id == BT_PROBE_SERVER)
			/* the SERVER span comes from the HTTP exchange; only its ids expire here */
			stitcher_forget(s->stitcher, e);
		else
			stitcher_call(s->stitcher, e, functrace_probe(s->ft, e->probe_id));
		break;
	}
	case BT_EV_DATA:
		if (s->conns && size >= offsetof(struct bt_data_event, data) &&
		    size >= offsetof(struct bt_data_event, data) +
				((struct bt_data_event *)data)->len) {
			const struct bt_data_event *d = data;

			/* the exchange may complete after that call ended: keep its ids */
			stitcher_ref(s->stitcher, d->call_id, d->root_id, d->pid, d->tid,
				     bt_mono_to_unix_ns(d->ts_ns));
			conn_tracker_data(s->conns, d);
		}
		break;
	case BT_EV_CONN:
	case BT_EV_CLOSE:
		if (s->conns && size >= sizeof(struct bt_conn_event))
			conn_tracker_conn(s->conns, data);
		break;
	case BT_EV_MMAP:
		if (size >= sizeof(struct bt_mmap_event)) {
			const struct bt_mmap_event *m = data;

			if (s->fleet) {
				examine_process(s, (pid_t)m->pid);
			} else {
				if (s->tls && !s->stopping)
					tlscap_rescan(s->tls, (pid_t)m->pid);
				rescan_unwind(s, (pid_t)m->pid);
			}
			if (m->stopped)
				resume_held(s, (pid_t)m->pid);
		}
		break;
	case BT_EV_SELECT:
		if (size >= sizeof(struct bt_select_event)) {
			const struct bt_select_event *e = data;
			char comm[sizeof(e->comm) + 1] = "";

			memcpy(comm, e->comm, sizeof(e->comm));
			if (e->exe == BT_SELECT_NEW_FILE)
				examine_process(s, (pid_t)e->pid);
			else
				select_process(s, (pid_t)e->pid,
					       e->exe == BT_SELECT_TRAFFIC ? -1 : (int)e->exe, comm,
					       true);
			if (e->status)
				resume_held(s, (pid_t)e->pid);
		}
		break;
	case BT_EV_UNWIND: {
		const struct bt_unwind_event *u = data;

		if (size < sizeof(*u))
			break;
		/* stopping: a re-arm would put trampolines back into slots being restored */
		if (s->stopping && u->kind == BT_UNWIND_CATCH)
			kill((pid_t)u->pid, SIGCONT);
		else
			functrace_apply_unwind(u);
		break;
	}
	case BT_EV_FORK:
		if (size >= sizeof(struct bt_proc_event))
			follow_fork(s, data);
		break;
	case BT_EV_EXEC:
		if (size >= sizeof(struct bt_proc_event))
			follow_exec(s, data);
		break;
	case BT_EV_EXIT:
		if (size >= sizeof(struct bt_proc_event))
			note_proc_exit(s, data);
		break;
	default:
		pr_debug("unknown event type %u (%zu bytes)\n", type, size);
		break;
	}
	return yield_check(s);
}

/*
 * The destinations: -o FILE (or stdout when nothing else is given) and OTLP/HTTP, configured
 * from the command line and the OTEL_* environment (otel_env.h). OTEL_SDK_DISABLED=true turns
 * off OTLP/HTTP and the stdout default; an explicit -o is still written.
 */
static int open_exporters(struct session *s)
{
	const struct tracer_opts *o = s->opts;
	struct otel_export_config cfg;
	struct exporter_http_opts ho = {0};
	const char *endpoint;
	struct bt_exporter *e;
	int err = otel_export_config_read(&cfg, getenv);

	if (err)
		goto out;
	endpoint = o->otlp_endpoint ? o->otlp_endpoint : cfg.endpoint;
	if (cfg.sdk_disabled) {
		pr_info("OTEL_SDK_DISABLED=true: OTLP export is disabled%s\n",
			o->output ? "; spans go to -o only" : "; spans are counted, not exported");
		endpoint = NULL;
	}
	if (o->output || (!endpoint && !cfg.sdk_disabled)) {
		e = exporter_open_file(o->output ? o->output : "-");
		if (!e) {
			err = -errno;
			if (exporter_file_refusal(errno))
				pr_warn("refusing to write to %s: %s\n", o->output,
					exporter_file_refusal(errno));
			else
				pr_warn("cannot open output %s: %s\n",
					o->output ? o->output : "stdout", strerror(errno));
			goto out;
		}
		s->exporter_names[s->n_exporters] =
		    o->output && strcmp(o->output, "-") ? o->output : "stdout";
		s->exporter_kinds[s->n_exporters] = "file";
		s->exporters[s->n_exporters++] = e;
	}
	if (!endpoint) {
		if (o->spool_dir)
			pr_warn("--spool-dir %s is not used: no OTLP endpoint\n", o->spool_dir);
		goto out;
	}
	exporter_http_opts_from_config(&ho, &cfg);
	ho.spool_dir = o->spool_dir;
	ho.spool_max = o->spool_max;
	e = exporter_open_otlp_http_opts(endpoint, &ho);
	if (!e) {
		err = -errno;
		if (o->spool_dir && err != -EINVAL && err != -ENOMEM)
			pr_warn("cannot use --spool-dir %s: %s\n", o->spool_dir,
				exporter_spool_refusal(-err) ? exporter_spool_refusal(-err)
							     : strerror(-err));
		else
			pr_warn("cannot use OTLP endpoint %s: %s\n", endpoint, strerror(-err));
		goto out;
	}
	s->endpoint = strdup(endpoint);
	s->exporter_names[s->n_exporters] = s->endpoint ? s->endpoint : "the collector";
	s->exporter_kinds[s->n_exporters] = "otlp";
	s->exporters[s->n_exporters++] = e;
out:
	otel_export_config_free(&cfg);
	return err;
}

/* Metrics and inference logs (signals.h), sent where the traces go unless told otherwise. */
static int open_signals(struct session *s)
{
	const struct tracer_opts *o = s->opts;
	struct signals_opts so = {
	    .metrics_output = o->metrics_output,
	    .logs_output = o->logs_output,
	    .prometheus = o->prometheus,
	    .interval_ms = o->metrics_interval_ms,
	    .traces_url = s->endpoint,
	    .traces_url_from_cli = o->otlp_endpoint != NULL,
	    .spool_dir = o->spool_dir,
	    .spool_max = o->spool_max,
	    .capture_content = o->capture_content,
	    .self_resource = s->self_resource,
	};

	return signals_open(&so, &s->signals);
}

/* The session's running totals for the capture-health metrics. */
static void capture_totals(struct session *s, struct metrics_capture *c)
{
	const uint64_t *cnt = s->health ? health_totals(s->health) : NULL;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->events = s->n_records;
	if (s->conns) {
		struct conn_stats cs;

		conn_tracker_stats(s->conns, &cs);
		c->bytes = cs.bytes;
		c->lost_bytes = cs.lost_bytes;
		c->truncated = cs.truncated;
		c->parse_errors = cs.parse_errors;
	}
	c->selected = s->fleet ? s->n_selected : s->n_targets;
	for (i = 0; i < s->n_targets; i++)
		if (!s->targets[i].exited)
			c->traced++;
	for (int k = 0; cnt && k < BT_CNT_MAX && c->n_lost < METRICS_MAX_REASONS; k++) {
		const char *reason = health_counter_attr((enum bt_counter)k);

		if (!reason)
			continue;
		c->lost[c->n_lost].reason = reason;
		c->lost[c->n_lost++].n = cnt[k];
	}
	for (i = 0; i < s->n_exporters; i++)
		signals_add_exporter_row(c, "traces", s->exporter_kinds[i], s->exporters[i]);
	signals_export_rows(s->signals, c);
}

static void tick_signals(struct session *s, uint64_t now)
{
	struct metrics_capture c;

	if (!s->signals)
		return;
	capture_totals(s, &c);
	signals_tick(s->signals, &c, now);
}

/* A conn_omit_fn: BPF leaves stream bytes [@from, @to) of a connection direction uncopied. */
static int omit_window(void *ctx, uint32_t pid, uint64_t conn_id, int dir, uint64_t from,
		       uint64_t to)
{
	struct session *s = ctx;
	struct bt_omit_key k = {.pid = pid, .dir = (uint32_t)dir, .conn_id = conn_id};
	struct bt_omit_win w = {.from = from, .to = to};

	if (s->maps.omit_wins < 0)
		return -ENOENT;
	if (bpf_map_update_elem(s->maps.omit_wins, &k, &w, BPF_ANY)) {
		/* the bytes are copied after all */
		pr_debug("omission window of connection %#" PRIx64 ": %s\n", conn_id,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

/* A conn_arm_fn: BPF follows the connection's framing and opens windows itself (bt_auto_arm). */
static int arm_conn(void *ctx, uint32_t pid, uint64_t conn_id, const struct bt_auto_arm *arm)
{
	struct session *s = ctx;
	struct bt_auto_key k = {.pid = pid, .conn_id = conn_id};

	if (s->maps.auto_arms < 0)
		return -ENOENT;
	if (!arm)
		return bpf_map_delete_elem(s->maps.auto_arms, &k) && errno != ENOENT ? -errno : 0;
	if (bpf_map_update_elem(s->maps.auto_arms, &k, arm, BPF_ANY)) {
		/* the windows keep coming from here */
		pr_debug("auto windows of connection %#" PRIx64 ": %s\n", conn_id, strerror(errno));
		return -errno;
	}
	return 0;
}

static int open_capture(struct session *s)
{
	const struct tracer_opts *o = s->opts;
	struct genai_opts go = {.capture_content = o->capture_content};
	struct conn_opts co = {
	    .max_body = o->max_body,
	    .wants_body = pipeline_wants_body,
	    .omit = omit_window,
	    .arm = arm_conn,
	    .omit_ctx = s,
	};
	uint64_t t0;

	if (o->prices) {
		s->prices = price_table_load(o->prices);
		if (!s->prices) /* price_table_load said why, naming the file */
			return -errno;
		go.prices = s->prices;
	}
	s->genai = genai_new(&go);
	if (!s->genai)
		return -ENOMEM;
	/* tracker → bodies → HTTP span → placement → GenAI annotators → totals → batch */
	s->exchanges = (struct pipeline){
	    .stitcher = s->stitcher,
	    .genai = s->genai,
	    .dump_dir = o->dump_dir,
	    .sink = sink_span,
	    .resource = resource_of,
	    .ctx = s,
	};
	s->conns = conn_tracker_new(&co, pipeline_exchange, &s->exchanges);
	if (!s->conns)
		return -ENOMEM;
	if (!o->no_tls) {
		t0 = sw_now_ns();
		s->tls = tlscap_load(&s->maps, s->ring_bytes / 4);
		sw_tally_add(&s->load_times, "tlscap", sw_now_ns() - t0);
		if (s->tls)
			tlscap_time_symbols(s->tls, &s->symbol_times);
		if (!s->tls) {
			int err = -errno;

			pr_warn("cannot load the TLS capture programs: %s%s\n", strerror(-err),
				o->n_specs ? " (continuing; --no-tls hides this)" : "");
			if (!o->n_specs)
				return err;
		}
	}
	if (s->tls || !o->no_sockets) {
		t0 = sw_now_ns();
		s->sys = syscap_load(&s->maps, !o->no_sockets, o->n_specs > 0, s->ring_bytes / 4);
		sw_tally_add(&s->load_times, "syscap", sw_now_ns() - t0);
		if (s->sys && !o->no_follow)
			functrace_hold_forks(s->ft);
		if (!s->sys)
			pr_warn("cannot load the syscall capture programs: %s (continuing without "
				"%s)\n",
				strerror(errno),
				o->no_sockets
				    ? "TLS peers and late-loaded libssl"
				    : "plain-socket capture, TLS peers and late-loaded libssl");
	}
	return 0;
}

/* Returns a new zeroed slot at the end of the session's targets, or NULL (ENOMEM). */
static struct target *new_target(struct session *s)
{
	struct target *v;

	if (grow(&s->targets, &s->cap_targets, s->n_targets + 1, sizeof(*s->targets)))
		return NULL;
	v = &s->targets[s->n_targets];
	memset(v, 0, sizeof(*v));
	v->pidfd = -1;
	v->go_fd = -1;
	return v;
}

static int open_targets(struct session *s)
{
	const struct tracer_opts *o = s->opts;
	size_t i;
	int err;

	s->cap_targets = o->n_pids ? o->n_pids : 1;
	s->targets = calloc(s->cap_targets, sizeof(*s->targets));
	if (!s->targets)
		return -ENOMEM;
	if (s->fleet) /* processes are found once the BPF side watches exec */
		return 0;

	if (o->command) {
		err = target_launch(&s->targets[0], o->command);
		if (err) {
			/* a command that is there: a script whose "#!" interpreter is not */
			char *found = err == -ENOENT ? target_which(o->command[0]) : NULL;

			pr_warn("cannot start %s: %s\n", o->command[0],
				found		 ? "the interpreter its #! line names is not there"
				: err == -ENOENT ? "command not found"
				: err == -ELOOP	 ? "too many levels of #! interpreters"
						 : strerror(-err));
			free(found);
			return err;
		}
		s->n_targets = 1;
		return 0;
	}
	for (i = 0; i < o->n_pids; i++) {
		err = target_open_pid(&s->targets[i], o->pids[i]);
		if (err) {
			target_warn_open(o->pids[i], err);
			target_close(&s->targets[i]);
			return err;
		}
		s->n_targets = i + 1;
	}
	return 0;
}

/*
 * Sets up everything that traces @t. @optional: a followed child or an exec'd program, where a
 * SPEC that names nothing is not an error.
 */
static int attach_target(struct session *s, struct target *t, bool optional)
{
	int err;

	err = target_refresh(t);
	if (!err)
		err = resource_refresh(t, s->opts->service_name);
	if (err) {
		pr_warn("cannot read process %d: %s\n", (int)t->pid, strerror(-err));
		return err;
	}
	return attach_probes(s, t, optional);
}

/* attach_target() for a process whose /proc was just read and resource built. */
static int attach_probes(struct session *s, struct target *t, bool optional)
{
	int err = 0;

	/*
	 * -e / -a: BPF put it in procs (at its exec, its fork, or when it first moved bytes) and
	 * removes it at its exit, which may have come already: adding it here could outlive it
	 */
	if (!s->fleet)
		err = functrace_add_proc(s->ft, t->pid, s->opts->no_follow ? 0 : BT_PROC_FOLLOW);
	if (err)
		pr_warn("process %d: its syscalls, exit, forks and execs will not be seen: %s\n",
			(int)t->pid, strerror(-err));
	if (s->tls) {
		err = tlscap_rescan(s->tls, t->pid);
		if (err < 0)
			pr_warn("process %d: TLS capture unavailable: %s\n", (int)t->pid,
				strerror(-err));
		else if (err == 0 && !s->fleet) /* per file, 0 also means probed already */
			pr_debug("process %d: no OpenSSL mapped yet; watching for it\n",
				 (int)t->pid);
		err = 0;
	}
	if (s->opts->n_specs) {
		/* before any uretprobe is armed: an exception must never meet a trampoline */
		err = functrace_attach_unwind(s->ft, t);
		if (err < 0) {
			pr_warn("process %d: cannot watch exceptions and longjmp (%s); not tracing "
				"its functions, which could abort it\n",
				(int)t->pid, strerror(-err));
			return err;
		}
		err = functrace_attach_specs(s->ft, t, s->opts->specs, s->opts->n_specs, optional);
		if (err)
			return err;
	}
	return 0;
}

/*
 * -e / -a: looks at what process @pid maps now (probes are per file, so this attaches only what
 * no process mapped before: a libssl, the unwinder, a library a SPEC names) and marks those files
 * examined, so that mapping them again costs no event.
 */
static int examine_process(struct session *s, pid_t pid)
{
	struct target *t = find_target(s, pid);
	int err = 0, r;

	if (s->stopping)
		return 0;
	if (s->tls)
		tlscap_rescan(s->tls, pid);
	if (t && s->opts->n_specs) {
		err = functrace_attach_unwind(s->ft, t);
		if (err >= 0)
			err = functrace_attach_specs(s->ft, t, s->opts->specs, s->opts->n_specs,
						     true);
		if (err < 0)
			pr_warn("process %d: probes of newly mapped code: %s\n", (int)pid,
				strerror(-err));
	}
	r = select_mark_examined(s->sel, pid);
	if (r < 0 && r != -ESRCH && r != -ENOENT)
		pr_debug("process %d: cannot mark its files examined: %s\n", (int)pid,
			 strerror(-r));
	/* -a: a file is examined once (tlscap remembers it): its symbols need not stay parsed */
	if (s->maps.select_mode == BT_SELECT_ALL)
		elf_cache_clear();
	return err < 0 ? err : 0;
}

/*
 * A process that is gone before /proc could be read still gets a resource for the spans it left:
 * its pid, the name BPF saw and, with -e, the executable it ran.
 */
static int target_from_event(struct session *s, struct target *t, pid_t pid, const char *exe,
			     const char *comm, const char *cmdline)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->pidfd = -1;
	t->go_fd = -1;
	t->exited = true;
	t->comm = strdup(comm[0] ? comm : "?");
	t->exe = strdup(exe ? exe : t->comm ? t->comm : "?");
	t->cmdline = strdup(cmdline ? cmdline : "");
	if (!t->comm || !t->exe || !t->cmdline)
		return -ENOMEM;
	return resource_refresh(t, s->opts->service_name);
}

/*
 * -e: puts process @t, found running at start, in the procs map. Its exit removes the entry;
 * one that ended before the entry was made is taken out again rather than left behind.
 */
static int add_running(struct session *s, struct target *t)
{
	int err = functrace_add_proc(s->ft, t->pid, s->opts->no_follow ? 0 : BT_PROC_FOLLOW);

	if (!err && target_check_exited(t))
		functrace_remove_proc(s->ft, t->pid);
	return err;
}

/*
 * -e / -a: process @pid is to be traced (-e: it runs selected executable @exe; -a: it moved
 * bytes, @exe -1). Functions and TLS are probed per file, so what it maps was probed already for
 * an earlier process, or is reported as it maps it: this reads its resource and watches it.
 */
static void select_process(struct session *s, pid_t pid, int exe, const char *comm, bool in_bpf)
{
	struct target *t;
	int err;

	if (s->stopping || find_target(s, pid))
		return;
	t = new_target(s);
	if (!t)
		return;
	err = target_open_pid(t, pid);
	if (err == -ESRCH) {
		char path[BT_EXE_PATH_USED + 1];
		const char *exe_path = select_exe_path(s->sel, exe);

		/* -a: the path BPF read when the process executed it */
		if (exe < 0 && functrace_exe_path(s->ft, pid, path, sizeof(path)) > 0)
			exe_path = path;

		target_close(t);
		err = target_from_event(s, t, pid, exe_path, comm, NULL);
		if (err) {
			resource_release(t);
			target_close(t);
			return;
		}
		s->n_targets++;
		s->n_selected++;
		pr_debug("process %d (%s) selected; it ended before it could be read\n", (int)pid,
			 t->comm);
		return;
	}
	if (err) {
		if (err != -ENOEXEC && err != -EDEADLK)
			pr_debug("cannot trace process %d: %s\n", (int)pid, strerror(-err));
		target_close(t);
		return;
	}
	s->n_targets++;
	s->n_selected++;
	/* no watchdog_add_pid: it finds what needs it in the stacks and procs maps (held
	 * processes), and remembering every process of a long run would grow its table */
	err = resource_refresh(t, s->opts->service_name);
	/* found in /proc: BPF, which knows processes from their exec on, learns of it here */
	if (!err && !in_bpf)
		err = add_running(s, t);
	if (!err)
		err = examine_process(s, pid);
	pr_debug("process %d (%s) selected%s\n", (int)pid, t->comm ? t->comm : "?",
		 err < 0 ? " (not all probes attached)" : "");
}

static int scan_found(pid_t pid, int exe, void *ctx)
{
	struct session *s = ctx;

	if (s->maps.select_mode == BT_SELECT_ALL)
		examine_process(s, pid);
	else
		select_process(s, pid, exe, "", false);
	return 0;
}

/*
 * -e / -a start: probes on the selected executables (functions of the files themselves; those in
 * libraries a SPEC names are attached once a process maps them), then the processes running now.
 * Processes that execute later are BPF's to report (BT_EV_SELECT).
 */
static int start_fleet(struct session *s)
{
	const struct tracer_opts *o = s->opts;
	struct func_spec own[TRACER_MAX_SPECS];
	size_t i, k, n_own = 0;
	int err, found;

	for (k = 0; k < o->n_specs; k++)
		if (!o->specs[k].object || strchr(o->specs[k].object, '/'))
			own[n_own++] = o->specs[k];
	for (i = 0; n_own && i < select_n_exes(s->sel); i++) {
		const char *path = select_exe_path(s->sel, i);
		struct target file = {.pid = 0, .pidfd = -1, .go_fd = -1};

		file.exe = (char *)path;
		file.exe_host = (char *)path;
		/* with several executables, a SPEC needs to match in one of them only */
		err = functrace_attach_specs(s->ft, &file, own, n_own, select_n_exes(s->sel) > 1);
		if (err)
			return err;
	}
	found = select_scan(s->sel, scan_found, s);
	if (found < 0) {
		pr_warn("cannot list processes: %s\n", strerror(-found));
		return found;
	}
	if (s->maps.select_mode == BT_SELECT_EXE && !s->n_selected)
		pr_debug("no process runs %s%s yet; waiting for one to start\n",
			 select_exe_path(s->sel, 0),
			 select_n_exes(s->sel) > 1 ? " (or the others)" : "");
	else if (s->maps.select_mode == BT_SELECT_ALL)
		pr_debug("%d process(es) examined; TLS probed in %zu object(s)\n", found,
			 s->tls ? tlscap_n_objects(s->tls) : 0);
	return 0;
}

/*
 * --python: samples the targets' interpreters. A PID given with -p must be one now; a launched
 * command becomes one in a moment (its loader maps libpython, a shell execs python).
 */
static int start_python(struct session *s)
{
	char why[256];
	size_t i;
	int err;

	for (i = 0; i < s->n_targets; i++) {
		const struct target *t = &s->targets[i];

		err = pysampler_add(s->py, t->pid, t->launched ? PYSAMPLE_SOON : PYSAMPLE_NOW, why,
				    sizeof(why));
		if (err) {
			pr_warn("--python: %s\n", why);
			return err;
		}
	}
	err = pysampler_start(s->py);
	if (err)
		pr_warn("cannot start the Python sampler: %s\n", strerror(-err));
	return err;
}

/* A followed process (a forked worker, an exec'd interpreter) may be a Python to sample. */
static void python_follow(struct session *s, pid_t pid)
{
	char why[256];

	if (s->py && !s->stopping && pysampler_add(s->py, pid, PYSAMPLE_MAYBE, why, sizeof(why)))
		pr_debug("--python: not following %d: %s\n", (int)pid, why);
}

static int start_launched(struct session *s)
{
	struct target *t = &s->targets[0];
	int err;

	err = functrace_attach_entry_stop(s->ft, t);
	if (err) {
		pr_warn("cannot hold %s at its entry point: %s\n", t->exe, strerror(-err));
		return err;
	}
	err = target_release(t);
	if (!err)
		err = target_wait_stopped(t, 10000);
	functrace_detach_entry_stop(s->ft);
	if (err) {
		pr_warn("%s did not reach its entry point: %s\n", t->exe,
			err == -ESRCH ? "it exited first" : strerror(-err));
		return err;
	}
	err = attach_target(s, t, false);
	if (err)
		return err;
	if (kill(t->pid, SIGCONT)) {
		err = -errno;
		pr_warn("cannot resume %s: %s\n", t->exe, strerror(errno));
	}
	return err;
}

/* Exports the open frames of @st (thread @tid) as calls still running at @now. */
static void flush_stack(struct session *s, const struct bt_stack *st, __u32 tid, uint64_t now)
{
	for (int i = (int)(st->depth > BT_MAX_DEPTH ? BT_MAX_DEPTH : st->depth) - 1; i >= 0; i--) {
		struct bt_call_event e = {
		    .type = BT_EV_CALL,
		    .entry_ns = st->frames[i].entry_ns,
		    .exit_ns = now,
		    .call_id = st->frames[i].call_id,
		    .parent_id = i ? st->frames[i - 1].call_id : 0,
		    .root_id = st->frames[0].call_id,
		    .pid = st->pid,
		    .tid = tid,
		    .probe_id = st->frames[i].probe_id,
		    .depth = (__u16)i,
		    .reason = BT_END_OPEN,
		};

		if (e.probe_id == BT_PROBE_SERVER)
			stitcher_forget(s->stitcher, &e);
		else
			stitcher_call(s->stitcher, &e, functrace_probe(s->ft, e.probe_id));
	}
}

/* Calls still open at shutdown are exported too, marked incomplete: threads', then goroutines'. */
static void flush_open_calls(struct session *s)
{
	int go_fd = functrace_go_stacks_fd(s->ft), err;
	uint64_t now = bt_now_mono_ns();
	__u64 gkey, gnext, *gprev = NULL;
	struct bt_stack_rec *recs;
	struct bt_stack st;
	size_t n;

	err = stack_dump_read(functrace_stacks_iter_fd(s->ft), 0, &recs, &n);
	if (err)
		pr_warn("cannot read the calls still open: %s\n", strerror(-err));
	for (size_t i = 0; !err && i < n; i++)
		flush_stack(s, &recs[i].st, recs[i].tid, now);
	free(recs);
	while (bpf_map_get_next_key(go_fd, gprev, &gnext) == 0) {
		gkey = gnext;
		gprev = &gkey;
		if (bpf_map_lookup_elem(go_fd, &gkey, &st) == 0)
			flush_stack(s, &st, st.tid, now);
	}
}

/* Why an exporter lost spans, as "N write failed (No space left on device), …". */
static void drop_reasons(const struct exporter_stats *st, char *buf, size_t size)
{
	char cause[96] = "";
	size_t n = 0;

	if (st->last_status)
		snprintf(cause, sizeof(cause), "HTTP %ld", st->last_status);
	else if (st->last_err)
		snprintf(cause, sizeof(cause), "%s", strerror(-st->last_err));
	buf[0] = '\0';
#define REASON(v, what)                                                                            \
	if ((v) && n < size)                                                                       \
	n += (size_t)snprintf(buf + n, size - n, "%s%llu " what, n ? ", " : "",                    \
			      (unsigned long long)(v))
	REASON(st->dropped_write, "write failed");
	REASON(st->dropped_rejected, "refused by the collector");
	REASON(st->dropped_unsent, "not sent by exit");
	REASON(st->dropped_queue_full, "pushed out of the full retry queue");
	REASON(st->dropped_spool_full, "not spooled (spool full)");
	REASON(st->dropped_encode, "not encoded (out of memory)");
#undef REASON
	if (cause[0] && n < size)
		snprintf(buf + n, size - n, "; last cause: %s", cause);
}

/* "exited with status 3", "killed by SIGSEGV (core dumped)"; NULL for a clean exit. */
static const char *describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status)) {
		if (!WEXITSTATUS(status))
			return NULL;
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		const char *name = sigabbrev_np(WTERMSIG(status));

		snprintf(buf, size, "was killed by signal %s%s (%d)%s", name ? "SIG" : "",
			 name ? name : "", WTERMSIG(status),
			 WCOREDUMP(status) ? ", core dumped" : "");
	} else {
		return NULL;
	}
	return buf;
}

/* Wait status of target @i if its end is known: reaped (launched) or reported by BPF. */
static bool target_status(const struct session *s, size_t i, int *status)
{
	const struct target *t = &s->targets[i];

	if (t->launched && t->exited) {
		*status = t->exit_status;
		return true;
	}
	if (t->end_seen) {
		*status = t->end_status;
		return true;
	}
	return false;
}

/* The spool's part of the summary: not lost, kept for the next run; and an earlier run's. */
static void report_spool(const struct session *s, const struct exporter_stats *es)
{
	const char *dir = s->opts->spool_dir;

	if (es->spans_recovered)
		pr_info("spool: %llu spans an earlier run spooled were delivered\n",
			(unsigned long long)es->spans_recovered);
	if (es->recovered_rejected)
		pr_info("spool: %llu spans an earlier run spooled were refused by the collector\n",
			(unsigned long long)es->recovered_rejected);
	if (es->spans_spooled)
		pr_info("%llu spans kept in the spool %s for the next run\n",
			(unsigned long long)es->spans_spooled, dir ? dir : "");
	else if (es->spool_files)
		pr_info("spool: %llu file(s) of an earlier run still in %s for the next run\n",
			(unsigned long long)es->spool_files, dir ? dir : "");
}

/*
 * Ring pressure: the fullest the event ring was seen (payload chunks look at it), with -v; and when
 * the ring overflowed, what to do about it.
 */
static void report_ring(const struct session *s, const uint64_t *cnt)
{
	uint64_t peak = 0, full;

	if (s->tls)
		peak = tlscap_ring_peak(s->tls);
	if (s->sys && syscap_ring_peak(s->sys) > peak)
		peak = syscap_ring_peak(s->sys);
	full = cnt ? cnt[BT_CNT_CALL_RB_FULL] + cnt[BT_CNT_DATA_RB_FULL] + cnt[BT_CNT_OTHER_RB_FULL]
		   : 0;
	if (s->tls || s->sys)
		pr_debug("event ring: %u MiB, at most %.1f MiB (%.0f%%) waiting to be read\n",
			 s->ring_bytes >> 20, (double)peak / (1 << 20),
			 100.0 * (double)peak / s->ring_bytes);
	if (full)
		pr_info("the event ring (%u MiB) overflowed %llu time(s): a larger --ring-size "
			"gives bursts more room\n",
			s->ring_bytes >> 20, (unsigned long long)full);
}

/*
 * Prints the one exit summary, after every exporter finished: what the capture lost, then for
 * the spans produced, what each destination got and lost (they add up), the targets that ended
 * badly; returns the exit status (README, "Exit status").
 */
static int report_summary(struct session *s)
{
	const uint64_t *cnt = s->health ? health_totals(s->health) : NULL;
	uint64_t undelivered = 0;
	bool any = false;
	char line[1024], why[512], st[96];
	size_t n = 0, i, n_bad = 0;
	int status, code = 0;

	for (int k = 0; cnt && k < BT_CNT_MAX; k++) {
		const char *text = health_counter_text((enum bt_counter)k);

		if (k == BT_CNT_UNWIND_FIXUP && cnt[k])
			pr_debug("%llu return addresses restored for exception unwinding\n",
				 (unsigned long long)cnt[k]);
		if (!cnt[k] || !text)
			continue;
		pr_info("dropped: %llu %s\n", (unsigned long long)cnt[k], text);
		any = true;
	}
	report_ring(s, cnt);
	if (s->conns) {
		struct conn_stats cs;

		conn_tracker_stats(s->conns, &cs);
		pr_debug(
		    "captured %llu bytes on %llu connection(s), %llu HTTP exchange(s), %llu of "
		    "them without a span (out of memory)\n",
		    (unsigned long long)cs.bytes, (unsigned long long)cs.connections,
		    (unsigned long long)cs.exchanges, (unsigned long long)s->exchanges.lost);
		if (cs.omit_windows)
			pr_debug(
			    "not copied: %llu body bytes nobody reads, in %llu window(s), %llu "
			    "of them opened by BPF (%llu arming(s), %llu refused)\n",
			    (unsigned long long)cs.omitted, (unsigned long long)cs.omit_windows,
			    (unsigned long long)cs.auto_windows, (unsigned long long)cs.arms,
			    (unsigned long long)cs.auto_refused);
		if (cs.lost_bytes || cs.truncated) {
			pr_info("dropped: %llu captured bytes lost; %llu HTTP message(s) marked "
				"truncated\n",
				(unsigned long long)cs.lost_bytes,
				(unsigned long long)cs.truncated);
			any = true;
		}
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "spans: %llu produced",
			      (unsigned long long)s->spans_total);
	if (s->health && health_n_records(s->health))
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      " (%llu of them capture-loss records)",
				      (unsigned long long)health_n_records(s->health));
	for (i = 0; i < s->n_exporters; i++) {
		struct exporter_stats es;

		exporter_get_stats(s->exporters[i], &es);
		if (n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, "; %llu delivered to %s",
					      (unsigned long long)es.spans_written,
					      s->exporter_names[i]);
		report_spool(s, &es);
		if (es.spans_spooled && n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, ", %llu spooled",
					      (unsigned long long)es.spans_spooled);
		if (!es.spans_dropped)
			continue;
		drop_reasons(&es, why, sizeof(why));
		pr_info("dropped: %llu spans not delivered to %s (%s)\n",
			(unsigned long long)es.spans_dropped, s->exporter_names[i], why);
		if (n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, ", %llu dropped",
					      (unsigned long long)es.spans_dropped);
		undelivered = es.spans_dropped > undelivered ? es.spans_dropped : undelivered;
		any = true;
	}
	pr_info("%s%s\n", line, any ? "" : "; nothing dropped");
	report_python(s);
	if (s->n_forks || s->n_execs)
		pr_info("followed: %llu child process(es) forked, %llu program(s) executed by "
			"targets%s\n",
			(unsigned long long)s->n_forks, (unsigned long long)s->n_execs,
			s->opts->no_follow ? "" : " (--no-follow turns this off)");

	for (i = 0; i < s->n_targets; i++) {
		const struct target *t = &s->targets[i];

		if (!target_status(s, i, &status))
			continue;
		if (describe_status(status, st, sizeof(st))) {
			n_bad++;
			if (n_bad <= 10)
				pr_info("process %d (%s) %s\n", (int)t->pid,
					t->comm ? t->comm : "?", st);
			else if (n_bad == 11)
				pr_info("more processes ended badly (not listed)\n");
		}
		/* like time(1) and strace: a launched command's status is ours */
		if (t->launched)
			code = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
			       : WIFEXITED(status) ? WEXITSTATUS(status)
						   : 0;
	}
	if (s->fleet) {
		pr_info("selected: %llu process(es) traced, %llu of them ended (%llu badly)\n",
			(unsigned long long)s->n_selected, (unsigned long long)s->n_ended,
			(unsigned long long)s->n_ended_badly);
		for (i = 0; i < FLEET_BAD_LISTED && i < s->n_ended_badly; i++)
			pr_info("%s\n", s->bad_ends[i]);
	}
	if (undelivered) {
		pr_info("exit status %d: %llu of %llu spans did not reach every destination\n",
			EXIT_NOT_DELIVERED, (unsigned long long)undelivered,
			(unsigned long long)s->spans_total);
		code = EXIT_NOT_DELIVERED;
	}
	return code;
}

static void report_python(const struct session *s)
{
	struct pysampler_stats ps;

	if (!s->py)
		return;
	pysampler_get_stats(s->py, &ps);
	pr_info("python: %llu sampled span(s) from %llu round(s) of %u interpreter(s); %llu "
		"call(s) seen by one sample only (calls shorter than a period may be missed)\n",
		(unsigned long long)ps.spans, (unsigned long long)ps.samples, ps.processes,
		(unsigned long long)ps.seen_once);
	pr_debug("python: %llu thread stacks read (%llu torn, %llu read again that mixed two "
		 "calls, %llu calls taken back), %llu rounds late, longest gap %.2f ms, %llu exact "
		 "spans nested in sampled ones, %llu reads of target memory, sampler CPU %.1f ms\n",
		 (unsigned long long)ps.thread_stacks, (unsigned long long)ps.torn,
		 (unsigned long long)ps.mixed, (unsigned long long)ps.glitches,
		 (unsigned long long)ps.late, (double)ps.max_gap_ns / 1e6,
		 (unsigned long long)ps.nested, (unsigned long long)ps.syscalls,
		 (double)ps.sampler_cpu_ns / 1e6);
}

/*
 * -e / -a run for days over processes that come and go: one that ended is counted (and, among
 * the first that ended badly, named for the summary), then forgotten. Its resource lives on in
 * the spans that hold it.
 */
static void forget_ended(struct session *s)
{
	size_t i, k = 0;
	char st[96];

	for (i = 0; i < s->n_targets; i++) {
		struct target *t = &s->targets[i];
		int status = t->end_seen ? t->end_status : 0;

		if (!t->gone) {
			s->targets[k++] = *t;
			continue;
		}
		s->n_ended++;
		if (describe_status(status, st, sizeof(st))) {
			if (s->n_ended_badly < FLEET_BAD_LISTED)
				snprintf(s->bad_ends[s->n_ended_badly], sizeof(s->bad_ends[0]),
					 "process %d (%s) %s", (int)t->pid, t->comm ? t->comm : "?",
					 st);
			s->n_ended_badly++;
		}
		resource_release(t);
		target_close(t);
	}
	s->n_targets = k;
}

/*
 * Notices targets that exited. Their last events are in the ring buffer already: those are
 * consumed first, then the connections the dead process left open are closed.
 */
static bool all_exited(struct session *s, struct event_ring *rb)
{
	bool consumed = false;
	size_t i, n = 0;
	pid_t pid;

	for (i = 0; i < s->n_targets; i++) {
		struct target *t = &s->targets[i];

		if (t->gone) {
			n++;
			continue;
		}
		/* BPF saw its last thread exit; a launched child is still reaped by waitpid */
		if (t->end_seen && !t->launched)
			t->exited = true;
		if (!target_check_exited(t))
			continue;
		t->gone = true;
		n++;
		pid = t->pid;
		functrace_forget_process(s->ft, pid);
		if (!s->conns)
			continue;
		/* events may follow a fork and grow s->targets: @t is not used past this point */
		if (!consumed)
			event_ring_consume(rb);
		consumed = true;
		conn_tracker_process_exit(s->conns, (uint32_t)pid, bt_now_mono_ns());
	}
	if (!s->fleet)
		return n == s->n_targets;
	forget_ended(s);
	return false;
}

/*
 * -v: says that tracing started and where the time to ready (since @t_start) went: loading each
 * BPF object, reading the symbols of each object file, attaching (the rest of attaching the
 * targets: links, /proc, code decoding) and everything else.
 */
static void report_ready(const struct session *s, uint64_t t_start)
{
	uint64_t ready = sw_now_ns() - t_start, load = sw_tally_total(&s->load_times);
	uint64_t syms = sw_tally_total(&s->symbol_times), attach, other;
	char loads[128], files[256];

	if (!log_enabled(BT_LOG_DEBUG))
		return;
	attach = s->attach_ns > syms ? s->attach_ns - syms : 0;
	other = ready > load + syms + attach ? ready - load - syms - attach : 0;
	sw_tally_format(&s->load_times, 3, loads, sizeof(loads));
	sw_tally_format(&s->symbol_times, 4, files, sizeof(files));
	pr_debug("tracing %zu process(es), %zu function(s), %zu link(s); ready in %.1f ms\n",
		 s->n_targets, functrace_n_probes(s->ft), functrace_n_links(s->ft),
		 (double)ready / 1e6);
	pr_debug("ready in %.1f ms: load %.1f (%s), symbols %.1f (%s), attach %.1f, other %.1f\n",
		 (double)ready / 1e6, (double)load / 1e6, loads, (double)syms / 1e6,
		 files[0] ? files : "none", (double)attach / 1e6, (double)other / 1e6);
}

/* The resource of loss records that no single traced process can be named for: bedtrace's. */
static struct bt_resource *self_resource_new(void)
{
	struct bt_resource *r = bt_resource_new();
	char host[256] = "";

	if (!r)
		return NULL;
	gethostname(host, sizeof(host) - 1);
	bt_attrs_set_str(&r->attrs, ATTR_SERVICE_NAME, "bedtrace");
	if (host[0])
		bt_attrs_set_str(&r->attrs, ATTR_HOST_NAME, host);
	bt_attrs_set_int(&r->attrs, ATTR_PROCESS_PID, getpid());
	bt_attrs_set_str(&r->attrs, ATTR_TELEMETRY_SDK_NAME, "bedtrace");
	bt_attrs_set_str(&r->attrs, ATTR_TELEMETRY_SDK_LANGUAGE, "c");
	if (bt_attrs_set_str(&r->attrs, ATTR_TELEMETRY_SDK_VERSION, BT_VERSION)) {
		bt_resource_put(r);
		return NULL;
	}
	return r;
}

int tracer_run(const struct tracer_opts *opts, volatile sig_atomic_t *stop, int *exit_status)
{
	struct session *s = calloc(1, sizeof(*s));
	uint64_t t_start = sw_now_ns(), t_stop, t_phase;
	struct event_ring *rb = NULL;
	size_t i;
	int err;

	*exit_status = 0;
	if (!s)
		return -ENOMEM;
	s->opts = opts;
	s->stop = stop;
	s->self_resource = self_resource_new();
	s->health = health_new(t_start);
	if (!s->self_resource || !s->health) {
		err = -ENOMEM;
		goto cleanup;
	}
	s->fleet = opts->n_exes || opts->all;
	s->maps = BT_SHARED_MAPS_NONE;
	if (s->fleet) {
		struct select_opts so = {
		    .mode = opts->all ? BT_SELECT_ALL : BT_SELECT_EXE,
		    .exes = opts->exes,
		    .n_exes = opts->n_exes,
		    .exclude_exes = opts->exclude_exes,
		    .n_exclude_exes = opts->n_exclude_exes,
		    .exclude_pids = opts->exclude_pids,
		    .n_exclude_pids = opts->n_exclude_pids,
		};

		err = select_new(&so, &s->sel);
		if (err)
			goto cleanup;
		s->maps.select_mode = so.mode;
	}
	err = open_targets(s);
	if (err)
		goto cleanup;
	err = open_exporters(s);
	if (!err)
		err = open_signals(s);
	if (err)
		goto cleanup;
	s->stitcher = stitcher_new(sink_span, resource_of, s);
	if (s->stitcher && opts->n_python) {
		struct pysampler_opts po = {
		    .globs = opts->python, .n_globs = opts->n_python, .hz = opts->sample_hz};

		s->py = pysampler_new(&po, s->stitcher, sink_span, resource_of, s);
		if (!s->py) {
			err = -ENOMEM;
			goto cleanup;
		}
		stitcher_set_outer(s->stitcher, pysampler_outer, s->py);
	}
	if (!s->stitcher) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* payload capture needs room for bursts between polls; call events alone are small */
	s->ring_bytes = opts->ring_size			   ? opts->ring_size
			: opts->no_tls && opts->no_sockets ? RING_BYTES_CALLS
							   : RING_BYTES_CAPTURE;
	t_phase = sw_now_ns();
	s->ft = functrace_load(&s->maps, opts->command ? (uint32_t)s->targets[0].pid : 0,
			       s->ring_bytes, !opts->no_follow, opts->n_specs > 0);
	if (!s->ft) {
		err = -errno;
		pr_warn("cannot load BPF programs: %s (kernel with BTF, uprobes and uprobe_multi "
			"links needed)\n",
			strerror(errno));
		goto cleanup;
	}
	sw_tally_add(&s->load_times, "functrace", sw_now_ns() - t_phase);
	functrace_time_symbols(s->ft, &s->symbol_times);
	/* before any probe link exists, so the watchdog holds none */
	err = watchdog_start(functrace_stacks_iter_fd(s->ft), s->maps.procs, &s->wd);
	if (err)
		pr_warn("no watchdog (targets may stay stopped if bedtrace is killed): %s\n",
			strerror(-err));
	for (i = 0, err = 0; i < s->n_targets; i++)
		watchdog_add_pid(s->wd, s->targets[i].pid);
	if (s->sel) {
		err = select_install(s->sel, s->maps.files, s->maps.excluded);
		if (!err && s->wd)
			err = select_exclude_pid(s->sel, watchdog_pid(s->wd));
		if (err) {
			pr_warn("cannot set up process selection: %s\n", strerror(-err));
			goto cleanup;
		}
	}
	if (!opts->no_tls || !opts->no_sockets) {
		err = open_capture(s);
		if (err)
			goto cleanup;
	}
	rb = event_ring_new(functrace_events_fd(s->ft), handle_event, s);
	if (!rb) {
		err = -errno;
		pr_warn("cannot open the event ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	/*
	 * Before any probe exists the ring is idle, so the pre-fault completes (a few ms for 64
	 * MiB) and the first pass of real events over the ring costs the traced process no page
	 * faults.
	 */
	while (functrace_prefault_step(s->ft))
		event_ring_consume(rb);
	t_phase = sw_now_ns();
	if (opts->command) {
		err = start_launched(s);
	} else if (s->fleet) {
		err = start_fleet(s);
	} else {
		for (i = 0; i < s->n_targets && !err; i++)
			err = attach_target(s, &s->targets[i], false);
	}
	s->attach_ns = sw_now_ns() - t_phase;
	if (!err && s->py)
		err = start_python(s);
	if (err)
		goto cleanup;
	report_ready(s, t_start);
	/* later attaches (followed children, execs) are not part of the breakdown */
	functrace_time_symbols(s->ft, NULL);
	if (s->tls)
		tlscap_time_symbols(s->tls, NULL);

	/*
	 * A large body's head wakes this loop from inside the traced program's SSL_read, so it can
	 * set the body's omission window. Woken as an ordinary task, it preempted the program on
	 * the spot and its work landed on the request's path (README: Where the time goes).
	 */
	err = sched_batch();
	if (err)
		pr_debug("event loop not SCHED_BATCH: %s\n", strerror(-err));
	err = 0;
	s->last_flush_ns = bt_now_mono_ns();
	if (opts->duration_s)
		s->deadline_ns = s->last_flush_ns + (uint64_t)opts->duration_s * 1000000000ull;
	while (!*stop) {
		uint64_t now;

		err = event_ring_poll(rb, 100);
		/* a signal: SIGINT/SIGTERM set *stop, SIGHUP asks for a reopen */
		if (err == -EINTR)
			err = 0;
		if (opts->reopen && *opts->reopen) {
			*opts->reopen = 0;
			for (i = 0; i < s->n_exporters; i++)
				exporter_reopen(s->exporters[i]);
			signals_reopen(s->signals);
		}
		/* call events are submitted without a wakeup: read them on every tick */
		if (err >= 0)
			err = event_ring_consume(rb);
		/* the callback stopped consumption so that stop, deadline and tick are seen */
		if (err == RB_YIELD)
			err = 0;
		if (err < 0) {
			pr_warn("reading events failed: %s\n", strerror(-err));
			break;
		}
		err = 0;
		now = bt_now_mono_ns();
		if (now - s->last_flush_ns >= FLUSH_INTERVAL_NS) {
			pysampler_drain(s->py);
			flush_batch(s);
			stitcher_tick(s->stitcher, now);
			tick_signals(s, now);
		}
		if (s->deadline_ns && now >= s->deadline_ns)
			break;
		if (all_exited(s, rb)) {
			/* events the exiting threads produced are already queued */
			event_ring_consume(rb);
			break;
		}
	}
	s->stopping = true;
	t_stop = bt_now_mono_ns();
	/* the unwind helpers stay until the return slots are restored (watchdog_stop below) */
	functrace_detach_probes(s->ft);
	if (s->tls)
		tlscap_detach_all(s->tls);
	if (s->sys)
		syscap_detach(s->sys);
	pr_debug("stopping: probes detached in %.1f ms\n",
		 (double)(bt_now_mono_ns() - t_stop) / 1e6);
	/* nothing new arrives once detached: what is left is read whatever the stop flag */
	s->draining = true;
	event_ring_consume(rb);
	flush_open_calls(s);
	/* calls still on the interpreters' stacks end now, like the native ones above */
	pysampler_stop(s->py);
	/* put back what calls still open hold while an exception can still be fixed up, and
	 * resume every target; only then may the unwind helpers go */
	watchdog_stop(s->wd);
	s->wd = NULL;
	functrace_detach_all(s->ft);
	/* a fix-up stop requested before the helpers went is answered (the process resumed) */
	event_ring_consume(rb);
	if (s->conns)
		conn_tracker_flush(s->conns, bt_now_mono_ns());
	flush_batch(s);
	pr_debug("stopping: events read and spans written in %.1f ms\n",
		 (double)(bt_now_mono_ns() - t_stop) / 1e6);
	for (i = 0; i < s->n_exporters; i++)
		exporter_finish(s->exporters[i]);
	if (s->signals) {
		struct metrics_capture c;

		capture_totals(s, &c);
		signals_finish(s->signals, &c);
	}
	*exit_status = report_summary(s);

cleanup:
	if (err && opts->command && s->n_targets && !s->targets[0].exited) {
		/* a launched child that never ran its code is not left behind */
		kill(s->targets[0].pid, SIGKILL);
		waitpid(s->targets[0].pid, NULL, 0);
	}
	event_ring_free(rb);
	syscap_destroy(s->sys);
	tlscap_destroy(s->tls);
	/* error paths: put back what calls still open hold, resume the targets */
	watchdog_stop(s->wd);
	functrace_destroy(s->ft);
	for (i = 0; i < s->n_exporters; i++)
		exporter_close(s->exporters[i]);
	signals_close(s->signals);
	conn_tracker_free(s->conns);
	genai_free(s->genai);
	price_table_free(s->prices);
	pysampler_free(s->py);
	stitcher_free(s->stitcher);
	for (i = 0; i < s->n_batch; i++)
		bt_span_free(s->batch[i]);
	for (i = 0; i < s->n_targets; i++) {
		resource_release(&s->targets[i]);
		target_close(&s->targets[i]);
	}
	free(s->targets);
	health_free(s->health);
	select_free(s->sel);
	sw_tally_free(&s->load_times);
	sw_tally_free(&s->symbol_times);
	bt_resource_put(s->self_resource);
	free(s->endpoint);
	free(s);
	return err;
}
