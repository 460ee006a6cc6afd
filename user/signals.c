// SPDX-License-Identifier: MIT
/* Metrics and inference logs of a session. See signals.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/export.h"
#include "export/otel_env.h"
#include "metrics/inference_log.h"
#include "metrics/metrics.h"
#include "metrics/otlp_metrics.h"
#include "metrics/prom_server.h"
#include "metrics/prom_text.h"
#include "signals.h"
#include "util/log.h"

#define DEFAULT_INTERVAL_MS 60000u

/* One destination of one signal. */
struct dest {
	struct bt_exporter *e;
	const char *kind; /* "file" or "otlp" */
	char *name;	  /* for messages: the path or URL */
};

struct signals {
	struct metrics *metrics; /* NULL: no metrics destination */
	struct span_metrics *sm;
	struct prom_server *prom;
	struct dest mdest[2], ldest[2];
	size_t n_mdest, n_ldest;
	bool delta;
	bool capture_content;
	uint64_t interval_ns;
	uint64_t next_export_ns;
	uint64_t encode_failures;
};

static char *render_prometheus(void *ctx, size_t *len)
{
	struct signals *g = ctx;

	return prom_text_render(g->metrics, len);
}

static int add_file(struct dest *d, size_t *n, const char *path, enum bt_signal sig,
		    const char *flag)
{
	struct bt_exporter *e = exporter_open_file_signal(path, sig);

	if (!e) {
		int err = -errno;

		if (exporter_file_refusal(errno))
			pr_warn("refusing to write %s to %s: %s\n", flag, path,
				exporter_file_refusal(errno));
		else
			pr_warn("cannot open %s %s: %s\n", flag, path, strerror(errno));
		return err;
	}
	d[*n] = (struct dest){.e = e, .kind = "file", .name = strdup(path)};
	(*n)++;
	return 0;
}

/* "none" in OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER turns that signal's OTLP export off. */
static bool exporter_disabled(const char *var)
{
	const char *v = getenv(var);

	return v && !strcasecmp(v, "none");
}

/* The OTLP/HTTP destination of @sig (see signals.h for where its URL comes from). */
static int add_otlp(struct signals *g, const struct signals_opts *o, enum bt_signal sig)
{
	struct dest *d = sig == BT_SIGNAL_METRICS ? g->mdest : g->ldest;
	size_t *n = sig == BT_SIGNAL_METRICS ? &g->n_mdest : &g->n_ldest;
	struct exporter_http_opts ho = {0};
	struct otel_export_config cfg;
	char *url = NULL;
	struct bt_exporter *e;
	int err;

	if (exporter_disabled(sig == BT_SIGNAL_METRICS ? "OTEL_METRICS_EXPORTER"
						       : "OTEL_LOGS_EXPORTER"))
		return 0;
	err = otel_export_config_read_signal(&cfg, getenv, sig);
	if (err)
		goto out;
	if (cfg.sdk_disabled)
		goto out;
	if (cfg.endpoint_specific)
		url = strdup(cfg.endpoint);
	else if (!o->traces_url)
		goto out; /* traces do not go to a collector: neither does this */
	else if (!o->traces_url_from_cli && cfg.endpoint)
		url = strdup(cfg.endpoint);
	else
		url = otel_signal_url(o->traces_url, sig);
	if (!url) {
		err = -ENOMEM;
		goto out;
	}
	exporter_http_opts_from_config(&ho, &cfg);
	ho.signal = sig;
	ho.spool_dir = o->spool_dir;
	ho.spool_max = o->spool_max;
	e = exporter_open_otlp_http_opts(url, &ho);
	if (!e) {
		err = -errno;
		pr_warn("cannot export %s to %s: %s\n", bt_signal_items(sig), url,
			exporter_spool_refusal(-err) ? exporter_spool_refusal(-err)
						     : strerror(-err));
		goto out;
	}
	d[*n] = (struct dest){.e = e, .kind = "otlp", .name = url};
	(*n)++;
	url = NULL;
out:
	free(url);
	otel_export_config_free(&cfg);
	return err;
}

int signals_open(const struct signals_opts *o, struct signals **out)
{
	struct otel_metrics_config mc = {0};
	struct signals *g;
	int err;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->capture_content = o->capture_content;
	err = otel_metrics_config_read(&mc, getenv);
	if (err)
		goto fail;
	g->delta = mc.delta;
	g->interval_ns = (uint64_t)(o->interval_ms   ? o->interval_ms
				    : mc.interval_ms ? mc.interval_ms
						     : DEFAULT_INTERVAL_MS) *
			 1000000ull;
	if (o->metrics_output && (err = add_file(g->mdest, &g->n_mdest, o->metrics_output,
						 BT_SIGNAL_METRICS, "--metrics-output")))
		goto fail;
	if (o->logs_output && (err = add_file(g->ldest, &g->n_ldest, o->logs_output, BT_SIGNAL_LOGS,
					      "--logs-output")))
		goto fail;
	if ((err = add_otlp(g, o, BT_SIGNAL_METRICS)) || (err = add_otlp(g, o, BT_SIGNAL_LOGS)))
		goto fail;
	if (!g->n_mdest && !g->n_ldest && !o->prometheus) {
		free(g);
		return 0;
	}
	if (g->n_mdest || o->prometheus) {
		struct metrics_opts mo = {.default_resource = o->self_resource};

		g->metrics = metrics_new(&mo);
		g->sm = g->metrics ? span_metrics_new(g->metrics) : NULL;
		if (!g->sm) {
			err = -ENOMEM;
			goto fail;
		}
	}
	if (o->prometheus) {
		g->prom = prom_server_start(o->prometheus, render_prometheus, g);
		if (!g->prom) {
			err = -errno;
			pr_warn("cannot serve --prometheus %s: %s\n", o->prometheus,
				err == -EINVAL && prom_addr_error(o->prometheus)
				    ? prom_addr_error(o->prometheus)
				: err == -EADDRINUSE
				    ? "address already in use (another exporter or "
				      "bedtrace listens there; pick another port)"
				    : strerror(-err));
			goto fail;
		}
	}
	*out = g;
	return 0;
fail:
	signals_close(g);
	return err;
}

static void write_all(struct dest *d, size_t n, const char *json, size_t len, uint64_t items)
{
	size_t i;

	for (i = 0; i < n; i++)
		exporter_write_json(d[i].e, json, len, items);
}

void signals_spans(struct signals *g, struct bt_span *const *spans, size_t n)
{
	size_t i, records;
	char *json;

	if (!g || !n)
		return;
	if (g->sm)
		for (i = 0; i < n; i++)
			span_metrics_record(g->sm, spans[i]);
	if (!g->n_ldest)
		return;
	json = inference_logs_encode(spans, n, g->capture_content, &records);
	if (!json) {
		g->encode_failures++;
		return;
	}
	if (records)
		write_all(g->ldest, g->n_ldest, json, strlen(json), records);
	free(json);
}

static void export_metrics(struct signals *g)
{
	size_t points;
	char *json;

	if (!g->n_mdest)
		return;
	json = otlp_metrics_encode(g->metrics, g->delta, &points);
	if (!json) {
		g->encode_failures++;
		return;
	}
	if (points)
		write_all(g->mdest, g->n_mdest, json, strlen(json), points);
	free(json);
}

void signals_tick(struct signals *g, const struct metrics_capture *c, uint64_t now_mono_ns)
{
	if (!g || !g->sm)
		return;
	span_metrics_capture(g->sm, c);
	if (!g->next_export_ns)
		g->next_export_ns = now_mono_ns + g->interval_ns;
	if (now_mono_ns < g->next_export_ns)
		return;
	export_metrics(g);
	/* the next one an interval after this, however late this one was */
	g->next_export_ns = now_mono_ns + g->interval_ns;
}

/* Adds exporter @d's row to @c. */
static void add_row(struct metrics_capture *c, const char *signal, const struct dest *d)
{
	static const char *const reasons[6] = {"write",	     "encode", "rejected",
					       "queue_full", "unsent", "spool_full"};
	struct exporter_stats st;
	size_t k;

	if (c->n_exports >= sizeof(c->exports) / sizeof(c->exports[0]))
		return;
	exporter_get_stats(d->e, &st);
	k = c->n_exports++;
	c->exports[k].signal = signal;
	c->exports[k].exporter = d->kind;
	c->exports[k].exported = st.spans_written;
	c->exports[k].spooled = st.spans_spooled;
	c->exports[k].dropped[0].n = st.dropped_write;
	c->exports[k].dropped[1].n = st.dropped_encode;
	c->exports[k].dropped[2].n = st.dropped_rejected;
	c->exports[k].dropped[3].n = st.dropped_queue_full;
	c->exports[k].dropped[4].n = st.dropped_unsent;
	c->exports[k].dropped[5].n = st.dropped_spool_full;
	for (size_t r = 0; r < 6; r++)
		c->exports[k].dropped[r].reason = reasons[r];
}

void signals_add_exporter_row(struct metrics_capture *c, const char *signal, const char *kind,
			      struct bt_exporter *e)
{
	struct dest d = {.e = e, .kind = kind};

	add_row(c, signal, &d);
}

void signals_export_rows(const struct signals *g, struct metrics_capture *c)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n_mdest; i++)
		add_row(c, "metrics", &g->mdest[i]);
	for (i = 0; i < g->n_ldest; i++)
		add_row(c, "logs", &g->ldest[i]);
}

/* Finishes @d and prints one summary line of it; returns the items it lost. */
static uint64_t finish_dest(struct dest *d, enum bt_signal sig)
{
	const char *name = d->name ? d->name : d->kind;
	struct exporter_stats st;

	exporter_finish(d->e);
	exporter_get_stats(d->e, &st);
	if (st.spans_dropped)
		pr_info("%s: %" PRIu64 " %s delivered to %s, %" PRIu64 " dropped%s\n",
			bt_signal_name(sig), st.spans_written, bt_signal_items(sig), name,
			st.spans_dropped,
			st.dropped_unsent     ? " (collector unreachable at exit)"
			: st.dropped_rejected ? " (refused by the collector)"
			: st.dropped_write    ? " (write failed)"
					      : "");
	else
		pr_info("%s: %" PRIu64 " %s delivered to %s%s\n", bt_signal_name(sig),
			st.spans_written, bt_signal_items(sig), name,
			st.spans_spooled ? ", the rest kept in the spool" : "");
	return st.spans_dropped;
}

uint64_t signals_finish(struct signals *g, const struct metrics_capture *c)
{
	uint64_t lost = 0;
	size_t i;

	if (!g)
		return 0;
	if (g->sm) {
		span_metrics_capture(g->sm, c);
		export_metrics(g);
	}
	for (i = 0; i < g->n_mdest; i++)
		lost += finish_dest(&g->mdest[i], BT_SIGNAL_METRICS);
	for (i = 0; i < g->n_ldest; i++)
		lost += finish_dest(&g->ldest[i], BT_SIGNAL_LOGS);
	if (g->encode_failures)
		pr_warn("%" PRIu64 " metrics or log exports could not be encoded (out of memory)\n",
			g->encode_failures);
	return lost;
}

void signals_reopen(struct signals *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n_mdest; i++)
		exporter_reopen(g->mdest[i].e);
	for (i = 0; i < g->n_ldest; i++)
		exporter_reopen(g->ldest[i].e);
}

void signals_close(struct signals *g)
{
	size_t i;

	if (!g)
		return;
	/* the endpoint first: its thread reads the registry */
	prom_server_stop(g->prom);
	for (i = 0; i < g->n_mdest; i++) {
		exporter_close(g->mdest[i].e);
		free(g->mdest[i].name);
	}
	for (i = 0; i < g->n_ldest; i++) {
		exporter_close(g->ldest[i].e);
		free(g->ldest[i].name);
	}
	span_metrics_free(g->sm);
	metrics_free(g->metrics);
	free(g);
}
