/* SPDX-License-Identifier: MIT */
/*
 * Exporters of OTLP data: OTLP JSON Lines to a file or stdout (export.c), and OTLP/HTTP JSON to
 * a collector (otlp_http.c, with spool.c). Owns the delivery: file creation and permissions,
 * the HTTP client, the in-memory retry queue, the spool and the counts of what was written and
 * dropped. Encoding is otlp_json.c's for spans, the caller's for the other signals.
 *
 * An exporter carries one signal (signal.h): traces (exporter_write() of spans), or metrics or
 * logs (exporter_write_json() of an ExportMetricsServiceRequest or ExportLogsServiceRequest the
 * caller encoded). Every rule below holds for each signal alike; what reads "spans" means the
 * signal's items (data points, log records) for the other two: in the stats, in the
 * partialSuccess answer (rejectedSpans, rejectedDataPoints, rejectedLogRecords) and in every
 * warning, which names them with bt_signal_items().
 *
 * All functions may be called from any thread; one exporter serialises its own writes.
 *
 * The OTLP/HTTP exporter never blocks its caller on the network: exporter_write() encodes the
 * spans (gzip-compressed if asked) and queues the request; a sender thread POSTs queued
 * requests in order. Retries follow the OTLP/HTTP specification: no answer (connection
 * refused, reset, timed out) and the statuses 429, 502, 503 and 504 are retried with
 * exponential backoff and jitter (250 ms doubling to 5 s), or after the collector's
 * Retry-After (seconds or an HTTP date, capped at 60 s); every other status is final: the
 * request is dropped with one warning quoting the collector's message (the "message" of an
 * OTLP Status answer, else the start of the body). A 2xx answer carrying an OTLP
 * partialSuccess counts its rejectedSpans as dropped. The memory queue is bounded (64 MiB of
 * encoded requests by default); past that the oldest requests are dropped and counted.
 *
 * With a spool directory (spool.h), a request that cannot be sent now goes to disk instead of
 * waiting in memory: as soon as the collector is found unavailable every queued request is
 * written there (and later ones while it stays unavailable), as is anything beyond 4 MiB
 * queued in memory. The sender sends spooled requests oldest first once the collector
 * answers, and deletes each file only after a 2xx answer; requests spooled by an earlier run
 * are sent the same way. A request that would take the spool past its maximum is dropped
 * (dropped_spool_full). A request is in memory or in the spool, never both.
 *
 * exporter_finish() keeps sending for at most 5 s (by default). Without a spool, what is left
 * is dropped (dropped_unsent); with one, what is left is written to the spool and kept for the
 * next run (spans_spooled), and finish does not wait for a collector known to be unavailable.
 *
 * One set of counts: every span handed to exporter_write() ends up delivered, kept in the spool,
 * or dropped for one reason, so after exporter_finish() spans_accepted = spans_written +
 * spans_spooled + spans_dropped, and spans_dropped is the sum of the dropped_* counts. Spans
 * an earlier run spooled are counted apart (spans_recovered, recovered_rejected). The exporter
 * warns when a problem starts (collector unavailable or refusing, queue full, write failed) but
 * prints no totals: the caller prints one summary from the stats. A failure that a later retry
 * recovered from is not a loss. The error says why spans were last lost:
 *   -ECONNREFUSED/-ETIMEDOUT/-EHOSTUNREACH/-EIO  collector still unreachable at close
 *                (-ETIMEDOUT also when the close deadline cut a request short)
 *   -EREMOTEIO   collector still answering 429 or 5xx at close
 *   -EBADMSG     collector rejected a request (other non-2xx status, or partialSuccess)
 *   -ENOBUFS     requests dropped because the retry queue or the spool was full
 *   -ESHUTDOWN   spans written after exporter_finish()
 */
#ifndef BT_EXPORT_H
#define BT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "export/otel_env.h"
#include "export/signal.h"
#include "span/span.h"

/*
 * The largest OTLP/HTTP request body exporter_write() sends: a bigger batch of spans is split
 * (collectors cap bodies, the OpenTelemetry Collector at 20 MiB). exporter_write_json() cannot
 * split what it is given: its caller keeps requests below this.
 */
#define EXPORTER_HTTP_REQUEST_MAX (4u << 20)

struct bt_exporter;

/*
 * The counts of one exporter. For a metrics or logs exporter every spans_* count (and
 * recovered_rejected) counts data points or log records, the n_items of exporter_write_json().
 */
struct exporter_stats {
	uint64_t spans_accepted;  /* handed to exporter_write() or exporter_write_json() */
	uint64_t spans_written;	  /* delivered: written to the file, or accepted by the collector */
	uint64_t batches_written; /* lines written, or requests accepted */
	uint64_t spans_dropped;	  /* finally lost: the sum of the dropped_* counts */
	uint64_t dropped_write;	  /* file: write(2) failed (disk full, quota, closed pipe) */
	uint64_t dropped_encode;  /* could not be encoded (out of memory) */
	uint64_t
	    dropped_rejected; /* collector refused them (non-retryable status, partialSuccess) */
	uint64_t dropped_queue_full; /* retry queue full: the oldest requests gave way */
	uint64_t dropped_unsent; /* still queued at exit: collector unreachable or answering 5xx */
	uint64_t dropped_spool_full; /* the spool had no room for them (--spool-max) */
	uint64_t retries;	     /* requests sent again after a failed attempt */
	/* spool: this run's spans on disk now (after finish: kept for the next run) */
	uint64_t spans_spooled;
	uint64_t spool_files;	     /* files in the spool now, every run's */
	uint64_t spool_bytes;	     /* their size */
	uint64_t spans_recovered;    /* spooled by an earlier run, delivered by this one */
	uint64_t recovered_rejected; /* spooled by an earlier run, refused by the collector */
	int last_err;		     /* -errno of the last loss (see above), 0: none */
	long last_status;	     /* HTTP status behind the last loss, 0: none or no answer */
};

/*
 * Returns an exporter writing one ExportTraceServiceRequest per line to @path ("-" = stdout),
 * or NULL + errno. A file is created (or truncated) with mode 0600; a pre-existing regular
 * file is also fchmod'ed to 0600. A symbolic link is never followed (ELOOP) and an existing
 * path that is not a regular file is refused (EEXIST). Free with exporter_close().
 */
struct bt_exporter *exporter_open_file(const char *path);
/*
 * Like exporter_open_file(), for @signal's requests: the signal changes only the noun in
 * warnings (exporter_open_file(p) is exporter_open_file_signal(p, BT_SIGNAL_TRACES)). EINVAL
 * for an invalid @signal.
 */
struct bt_exporter *exporter_open_file_signal(const char *path, enum bt_signal signal);
/* For errno @err from exporter_open_file: the reason it refused the path, or NULL. */
const char *exporter_file_refusal(int err);

/*
 * Returns an exporter POSTing OTLP/HTTP JSON to @url (e.g. http://127.0.0.1:4318/v1/traces),
 * or NULL + errno (EINVAL for a URL that is not http:// or https://, ENOMEM, or the error
 * starting the sender thread). Nothing is sent until the first write. Free with exporter_close().
 */
struct bt_exporter *exporter_open_otlp_http(const char *url);

/* Everything about an OTLP/HTTP exporter besides its URL; zeroes are the defaults. */
struct exporter_http_opts {
	const struct otel_headers *headers;   /* sent with every request; never logged */
	bool gzip;			      /* Content-Encoding: gzip */
	unsigned timeout_ms;		      /* per request; 0: 10 s */
	const char *ca_file;		      /* https: the CA bundle to verify the collector */
	const char *client_cert, *client_key; /* https: mutual TLS */
	const char *spool_dir;		      /* NULL: no spool */
	uint64_t spool_max;		      /* bytes; 0: 1 GiB */
	/* what the requests carry (0: traces): the partialSuccess field read, the noun in
	 * warnings, and the spool: traces use spool_dir itself, metrics and logs its
	 * subdirectory "metrics" or "logs", so that each signal has its own files and lock */
	enum bt_signal signal;
};

/* @o = the OTLP/HTTP settings of @cfg (headers, compression, timeout, TLS files), the rest
 * zero; @cfg must outlive the exporter's opening. */
void exporter_http_opts_from_config(struct exporter_http_opts *o,
				    const struct otel_export_config *cfg);

/*
 * Like exporter_open_otlp_http() with @o (NULL: defaults). With o->spool_dir, also opens the
 * spool (errno of spool_open() on failure: EBUSY, EPERM, ENOTDIR, ELOOP, ...); for metrics and
 * logs, spool_dir is created and checked as a spool directory is (mode 0700, ours, writable by
 * nobody else) before its subdirectory is opened as the spool. EINVAL for an invalid signal.
 * Each spool_max applies to one signal's spool.
 */
struct bt_exporter *exporter_open_otlp_http_opts(const char *url,
						 const struct exporter_http_opts *o);
/* For errno @err from exporter_open_otlp_http_opts() with a spool: why the directory was
 * refused, or NULL (then strerror() says it). */
const char *exporter_spool_refusal(int err);

/*
 * File exporter: opens its path again (the file was renamed by logrotate or the like) with
 * the same rules as exporter_open_file() but appending, not truncating, and switches to it;
 * a line is written whole to the old file or whole to the new one. stdout and the HTTP
 * exporter: nothing to do. Returns 0, or -errno (the old file is kept, a warning printed).
 */
int exporter_reopen(struct bt_exporter *e);

/*
 * OTLP/HTTP only: sets the most JSON bytes kept queued for retry (0 keeps the current value)
 * and how long exporter_close() keeps retrying. Returns 0, or -EINVAL for a file exporter.
 */
int exporter_set_http_limits(struct bt_exporter *e, size_t queue_bytes, unsigned close_timeout_ms);

/*
 * Exports @n spans (the caller keeps ownership; they are encoded before this returns).
 * File: one line plus '\n' in a single write(2); returns 0 or -errno of the write (the spans
 * are then counted as dropped). OTLP/HTTP: returns 0 once the request is queued, or -errno if
 * it could not be encoded; delivery failures surface in the stats and exporter_close().
 */
int exporter_write(struct bt_exporter *e, struct bt_span *const *spans, size_t n);

/*
 * Exports one request the caller encoded: @json, @len bytes of a single line of JSON (no
 * newline in it; the caller keeps ownership), counting @n_items items (spans, data points or
 * log records: what the stats count). Delivered as exporter_write() delivers an encoded batch
 * of spans: file, the line plus '\n' in a single write(2); OTLP/HTTP, queued (gzip-compressed
 * if configured), never split (see EXPORTER_HTTP_REQUEST_MAX). Returns 0, -EINVAL (NULL or
 * empty @json, a newline in it: nothing counted), or as exporter_write() does.
 */
int exporter_write_json(struct bt_exporter *e, const char *json, size_t len, uint64_t n_items);

/*
 * Delivers what is still queued (bounded in time), stops sending and counts what is left as
 * dropped; the stats are final afterwards. Idempotent. Returns 0 when nothing was lost, else
 * -errno of the last failure that lost spans (see above; file: the write(2) error).
 */
int exporter_finish(struct bt_exporter *e);

/*
 * exporter_finish(), then closes and frees @e (NULL is a no-op). Returns what exporter_finish()
 * returns, or the error closing the file.
 */
int exporter_close(struct bt_exporter *e);

/* Fills @out with the counts so far; safe while another thread writes. */
void exporter_get_stats(const struct bt_exporter *e, struct exporter_stats *out);

#endif
