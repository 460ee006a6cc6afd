// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bedrock.h"
#include "bedtrace.h"
#include "conn.h"
#include "export.h"
#include "functrace.h"
#include "log.h"
#include "stitch.h"
#include "prices.h"
#include "syscap.h"
#include "target.h"
#include "tlscap.h"
#include "tracer.h"
#include "watchdog.h"

#define BATCH_MAX 512
/* Event ring sizes: payload capture needs room for ~100 ms of bursts at several 100 MB/s. */
#define RING_BYTES_CAPTURE (64u << 20)
#define RING_BYTES_CALLS (8u << 20)
#define FLUSH_INTERVAL_NS (500ull * 1000000ull)

struct session {
	const struct tracer_opts *opts;
	struct target targets[TRACER_MAX_PIDS];
	size_t n_targets;
	struct func_tracer *ft;
	struct watchdog *wd; /* keeps the targets safe if bedtrace dies */
	struct tls_capture *tls;
	struct sys_capture *sys;
	struct conn_tracker *conns;
	struct bedrock_ctx *bedrock;
	struct price_table *prices;
	struct stitcher *stitcher;
	struct bt_exporter *exporters[2];
	size_t n_exporters;
	struct bt_span *batch[BATCH_MAX];
	size_t n_batch;
	uint64_t last_flush_ns;
	uint64_t spans_total;
	uint64_t export_failures;
};

static void flush_batch(struct session *s)
{
	size_t i;

	if (s->n_batch == 0)
		return;
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
			stitcher_ref(s->stitcher, d->call_id, d->root_id);
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

			if (s->tls)
				tlscap_rescan(s->tls, (pid_t)m->pid);
			if (m->stopped)
				kill((pid_t)m->pid, SIGCONT);
		}
		break;
	case BT_EV_UNWIND:
		if (size >= sizeof(struct bt_unwind_event))
			functrace_apply_unwind(data);
		break;
	default:
		pr_debug("unknown event type %u (%zu bytes)\n", type, size);
		break;
	}
	return 0;
}

static int open_exporters(struct session *s)
{
	const struct tracer_opts *o = s->opts;
	const char *endpoint = o->otlp_endpoint;
	char *from_base = NULL;
	struct bt_exporter *e;

	if (!endpoint)
		endpoint = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	if (!endpoint && getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) {
		const char *base = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
		size_t len = strlen(base);

		if (asprintf(&from_base, "%.*s/v1/traces",
			     (int)(len && base[len - 1] == '/' ? len - 1 : len), base) < 0)
			return -ENOMEM;
		endpoint = from_base;
	}
	if (o->output || !endpoint) {
		e = exporter_open_file(o->output ? o->output : "-");
		if (!e) {
			pr_warn("cannot open output %s: %s\n", o->output ? o->output : "stdout",
				strerror(errno));
			free(from_base);
			return -errno;
		}
		s->exporters[s->n_exporters++] = e;
	}
	if (endpoint) {
		e = exporter_open_otlp_http(endpoint);
		if (!e) {
			pr_warn("cannot use OTLP endpoint %s: %s\n", endpoint, strerror(errno));
			free(from_base);
			return -errno;
		}
		s->exporters[s->n_exporters++] = e;
	}
	free(from_base);
	return 0;
}

static int open_capture(struct session *s)
{
	const struct tracer_opts *o = s->opts;
	struct bedrock_opts bo = {.capture_content = o->capture_content};
	struct conn_opts co = {.max_body = o->max_body, .dump_dir = o->dump_dir};

	if (o->prices) {
		s->prices = price_table_load(o->prices);
		if (!s->prices) {
			pr_warn("cannot use price table %s: %s\n", o->prices, strerror(errno));
			return -errno;
		}
		bo.prices = s->prices;
	}
	s->bedrock = bedrock_ctx_new(&bo);
	if (!s->bedrock)
		return -ENOMEM;
	co.bedrock = s->bedrock;
	s->conns = conn_tracker_new(&co, s->stitcher, sink_span, resource_of, s);
	if (!s->conns)
		return -ENOMEM;
	if (!o->no_tls) {
		s->tls = tlscap_load(functrace_events_fd(s->ft), functrace_counters_fd(s->ft),
				     functrace_stacks_fd(s->ft), RING_BYTES_CAPTURE / 4);
		if (!s->tls) {
			pr_warn("cannot load the TLS capture programs: %s%s\n", strerror(errno),
				o->n_specs ? " (continuing; --no-tls hides this)" : "");
			if (!o->n_specs)
				return -errno;
		}
	}
	if (s->tls || !o->no_sockets) {
		struct syscap_maps m = {
		    .events = functrace_events_fd(s->ft),
		    .counters = functrace_counters_fd(s->ft),
		    .stacks = functrace_stacks_fd(s->ft),
		    .zero_stack = functrace_zero_stack_fd(s->ft),
		    .ssl_calls = s->tls ? tlscap_ssl_calls_fd(s->tls) : -1,
		    .conns = s->tls ? tlscap_conns_fd(s->tls) : -1,
		};

		s->sys = syscap_load(&m, !o->no_sockets, RING_BYTES_CAPTURE / 4);
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

static int open_targets(struct session *s)
{
	const struct tracer_opts *o = s->opts;
	size_t i;
	int err;

	if (o->command) {
		err = target_launch(&s->targets[0], o->command);
		if (err) {
			pr_warn("cannot start %s: %s\n", o->command[0],
				err == -ENOENT ? "command not found" : strerror(-err));
			return err;
		}
		s->n_targets = 1;
		return 0;
	}
	for (i = 0; i < o->n_pids; i++) {
		err = target_open_pid(&s->targets[i], o->pids[i]);
		if (err) {
			pr_warn("cannot attach to process %d: %s\n", (int)o->pids[i],
				err == -ESRCH ? "no such process" : strerror(-err));
			target_close(&s->targets[i]);
			return err;
		}
		s->n_targets = i + 1;
	}
	return 0;
}

static int attach_target(struct session *s, struct target *t)
{
	int err;

	err = target_refresh(t, s->opts->service_name ? s->opts->service_name
						      : getenv("OTEL_SERVICE_NAME"));
	if (err) {
		pr_warn("cannot read process %d: %s\n", (int)t->pid, strerror(-err));
		return err;
	}
	if (s->sys && (err = syscap_add_process(s->sys, t->pid)))
		pr_warn("process %d: syscall capture unavailable: %s\n", (int)t->pid,
			strerror(-err));
	if (s->tls) {
		err = tlscap_rescan(s->tls, t->pid);
		if (err < 0)
			pr_warn("process %d: TLS capture unavailable: %s\n", (int)t->pid,
				strerror(-err));
		else if (err == 0)
			pr_debug("process %d: no OpenSSL mapped yet; watching for it\n",
				 (int)t->pid);
		err = 0;
	}
	if (s->opts->n_specs) {
		err = functrace_attach_specs(s->ft, t, s->opts->specs, s->opts->n_specs);
		if (err)
			return err;
		err = functrace_attach_unwind(s->ft, t);
		if (err)
			pr_warn("process %d: exceptions/longjmp through traced calls will be "
				"reported late: %s\n",
				(int)t->pid, strerror(-err));
	}
	return 0;
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
	err = attach_target(s, t);
	if (err)
		return err;
	if (kill(t->pid, SIGCONT)) {
		err = -errno;
		pr_warn("cannot resume %s: %s\n", t->exe, strerror(errno));
	}
	return err;
}

/* Calls still open at shutdown are exported too, marked incomplete. */
static void flush_open_calls(struct session *s)
{
	int fd = functrace_stacks_fd(s->ft);
	uint64_t now = bt_now_mono_ns();
	__u32 key, next, *prev = NULL;
	struct bt_stack st;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st))
			continue;
		for (int i = (int)(st.depth > BT_MAX_DEPTH ? BT_MAX_DEPTH : st.depth) - 1; i >= 0;
		     i--) {
			struct bt_call_event e = {
			    .type = BT_EV_CALL,
			    .entry_ns = st.frames[i].entry_ns,
			    .exit_ns = now,
			    .call_id = st.frames[i].call_id,
			    .parent_id = i ? st.frames[i - 1].call_id : 0,
			    .root_id = st.frames[0].call_id,
			    .pid = st.pid,
			    .tid = key,
			    .probe_id = st.frames[i].probe_id,
			    .depth = (__u16)i,
			    .reason = BT_END_OPEN,
			};

			if (e.probe_id == BT_PROBE_SERVER)
				stitcher_forget(s->stitcher, &e);
			else
				stitcher_call(s->stitcher, &e, functrace_probe(s->ft, e.probe_id));
		}
	}
}

static void report_counters(struct session *s)
{
	static const char *const what[BT_CNT_MAX] = {
	    [BT_CNT_CALL_RB_FULL] = "call events lost (ring buffer full)",
	    [BT_CNT_DEPTH_OVERFLOW] = "calls not traced (nesting deeper than 64)",
	    [BT_CNT_STACK_FULL] = "calls not traced (too many threads)",
	    [BT_CNT_RET_NO_STACK] = "returns of calls entered before tracing began",
	    [BT_CNT_RET_MISMATCH] = "returns that matched no open traced call",
	    [BT_CNT_GO_NO_G] = "Go calls not traced (goroutine unreadable)",
	    [BT_CNT_PROC_FULL] = "forked children not followed (process table full)",
	    [BT_CNT_UNWIND_FIXUP] = NULL,
	    [BT_CNT_UNWIND_FAIL] = "return-address fix-ups failed during unwinding",
	    [BT_CNT_DATA_RB_FULL] = "data chunks lost (ring buffer full)",
	    [BT_CNT_DATA_READ_FAIL] = "data chunks lost (unreadable user memory)",
	    [BT_CNT_DATA_LOST_BYTES] = "captured bytes lost",
	    [BT_CNT_DATA_TOO_LONG] = "bytes beyond the per-call capture limit",
	    [BT_CNT_CONN_FULL] = "connections not tracked (table full)",
	    [BT_CNT_OTHER_RB_FULL] = "connection events lost (ring buffer full)",
	    [BT_CNT_IO_UNTRACKED] = "SSL or socket calls not captured (no per-thread state)",
	};
	int ncpu = libbpf_num_possible_cpus(), fd = functrace_counters_fd(s->ft);
	bool any = false;
	__u64 *vals;

	if (ncpu <= 0)
		return;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 k = 0; k < BT_CNT_MAX; k++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		if (k == BT_CNT_UNWIND_FIXUP) {
			if (sum)
				pr_debug("%llu return addresses restored for exception unwinding\n",
					 (unsigned long long)sum);
			continue;
		}
		if (sum && what[k]) {
			pr_info("dropped: %llu %s\n", (unsigned long long)sum, what[k]);
			any = true;
		}
	}
	free(vals);
	for (size_t i = 0; i < s->n_exporters; i++) {
		struct exporter_stats st;

		exporter_get_stats(s->exporters[i], &st);
		if (st.spans_dropped) {
			pr_info("dropped: %llu spans the exporter could not deliver\n",
				(unsigned long long)st.spans_dropped);
			any = true;
		}
	}
	if (s->conns) {
		struct conn_stats cs;

		conn_tracker_stats(s->conns, &cs);
		pr_debug("captured %llu bytes on %llu connection(s), %llu HTTP exchange(s)\n",
			 (unsigned long long)cs.bytes, (unsigned long long)cs.connections,
			 (unsigned long long)cs.exchanges);
		if (cs.lost_bytes || cs.truncated) {
			pr_info("dropped: %llu captured bytes lost; %llu HTTP message(s) marked "
				"truncated\n",
				(unsigned long long)cs.lost_bytes,
				(unsigned long long)cs.truncated);
			any = true;
		}
	}
	pr_info("%llu spans exported%s\n", (unsigned long long)s->spans_total,
		any ? "" : "; nothing dropped");
}

/*
 * Notices targets that exited. Their last events are in the ring buffer already: those are
 * consumed first, then the connections the dead process left open are closed.
 */
static bool all_exited(struct session *s, struct ring_buffer *rb)
{
	bool newly[TRACER_MAX_PIDS] = {false}, any = false;
	size_t i, n = 0;

	for (i = 0; i < s->n_targets; i++) {
		bool was = s->targets[i].exited;

		n += target_check_exited(&s->targets[i]);
		newly[i] = !was && s->targets[i].exited;
		any |= newly[i];
	}
	if (any && s->conns) {
		ring_buffer__consume(rb);
		for (i = 0; i < s->n_targets; i++)
			if (newly[i])
				conn_tracker_process_exit(s->conns, (uint32_t)s->targets[i].pid,
							  bt_now_mono_ns());
	}
	return n == s->n_targets;
}

int tracer_run(const struct tracer_opts *opts, volatile sig_atomic_t *stop)
{
	struct session *s = calloc(1, sizeof(*s));
	uint64_t t_start = bt_now_mono_ns(), deadline = 0;
	struct ring_buffer *rb = NULL;
	size_t i;
	int err;

	if (!s)
		return -ENOMEM;
	s->opts = opts;
	err = open_targets(s);
	if (err)
		goto cleanup;
	err = open_exporters(s);
	if (err)
		goto cleanup;
	s->stitcher = stitcher_new(sink_span, resource_of, s);
	if (!s->stitcher) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* payload capture needs room for bursts between polls; call events alone are small */
	s->ft = functrace_load(opts->command ? (uint32_t)s->targets[0].pid : 0,
			       opts->no_tls && opts->no_sockets ? RING_BYTES_CALLS
								: RING_BYTES_CAPTURE);
	if (!s->ft) {
		err = -errno;
		pr_warn("cannot load BPF programs: %s (kernel with BTF, uprobes and uprobe_multi "
			"links needed)\n",
			strerror(errno));
		goto cleanup;
	}
	/* before any probe link exists, so the watchdog holds none */
	err = watchdog_start(functrace_stacks_fd(s->ft), &s->wd);
	if (err)
		pr_warn("no watchdog (targets may stay stopped if bedtrace is killed): %s\n",
			strerror(-err));
	for (i = 0, err = 0; i < s->n_targets; i++)
		watchdog_add_pid(s->wd, s->targets[i].pid);
	if (!opts->no_tls || !opts->no_sockets) {
		err = open_capture(s);
		if (err)
			goto cleanup;
	}
	rb = ring_buffer__new(functrace_events_fd(s->ft), handle_event, s, NULL);
	if (!rb) {
		err = -errno;
		pr_warn("cannot open the event ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	if (opts->command) {
		err = start_launched(s);
	} else {
		for (i = 0; i < s->n_targets && !err; i++)
			err = attach_target(s, &s->targets[i]);
	}
	if (err)
		goto cleanup;
	pr_debug("tracing %zu process(es), %zu function(s), %zu link(s); ready in %.1f ms\n",
		 s->n_targets, functrace_n_probes(s->ft), functrace_n_links(s->ft),
		 (double)(bt_now_mono_ns() - t_start) / 1e6);

	s->last_flush_ns = bt_now_mono_ns();
	if (opts->duration_s)
		deadline = s->last_flush_ns + (uint64_t)opts->duration_s * 1000000000ull;
	while (!*stop) {
		uint64_t now;

		err = ring_buffer__poll(rb, 100);
		if (err == -EINTR) {
			err = 0;
			break;
		}
		/* call events are submitted without a wakeup: read them on every tick */
		if (err >= 0)
			err = ring_buffer__consume(rb);
		if (err < 0) {
			pr_warn("reading events failed: %s\n", strerror(-err));
			break;
		}
		err = 0;
		now = bt_now_mono_ns();
		if (now - s->last_flush_ns >= FLUSH_INTERVAL_NS) {
			flush_batch(s);
			stitcher_tick(s->stitcher, now);
		}
		if (deadline && now >= deadline)
			break;
		if (all_exited(s, rb)) {
			/* events the exiting threads produced are already queued */
			ring_buffer__consume(rb);
			break;
		}
	}
	functrace_detach_all(s->ft);
	if (s->tls)
		tlscap_detach_all(s->tls);
	if (s->sys)
		syscap_detach(s->sys);
	ring_buffer__consume(rb);
	flush_open_calls(s);
	if (s->conns)
		conn_tracker_flush(s->conns, bt_now_mono_ns());
	flush_batch(s);
	report_counters(s);

cleanup:
	if (err && opts->command && s->n_targets && !s->targets[0].exited) {
		/* a launched child that never ran its code is not left behind */
		kill(s->targets[0].pid, SIGKILL);
		waitpid(s->targets[0].pid, NULL, 0);
	}
	ring_buffer__free(rb);
	syscap_destroy(s->sys);
	tlscap_destroy(s->tls);
	functrace_destroy(s->ft);
	/* every probe is gone: put back what calls still open hold, resume the targets */
	watchdog_stop(s->wd);
	for (i = 0; i < s->n_exporters; i++)
		exporter_close(s->exporters[i]);
	conn_tracker_free(s->conns);
	bedrock_ctx_free(s->bedrock);
	price_table_free(s->prices);
	stitcher_free(s->stitcher);
	for (i = 0; i < s->n_batch; i++)
		bt_span_free(s->batch[i]);
	for (i = 0; i < s->n_targets; i++)
		target_close(&s->targets[i]);
	free(s);
	return err;
}
