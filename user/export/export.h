/* SPDX-License-Identifier: MIT */
/*
 * Exporters of finished spans: OTLP JSON Lines to a file or stdout, and OTLP/HTTP JSON to a
 * collector. Owns the delivery: file creation and permissions, the HTTP client, the in-memory
 * retry queue and the counts of what was written and dropped. Encoding is otlp_json.c's.
 *
 * All functions may be called from any thread; one exporter serialises its own writes.
 *
 * The OTLP/HTTP exporter never blocks its caller on the network: exporter_write() encodes the
 * spans and queues the request; a sender thread POSTs queued requests in order, keeping them
 * while the collector is unreachable or answers 429/5xx and retrying with exponential backoff
 * (250 ms doubling to 30 s, or the collector's Retry-After, capped at 60 s). The queue is bounded
 * (64 MiB of JSON by default); past that the oldest requests are dropped and counted. Other
 * non-2xx answers drop the request with a warning naming the status. A 2xx answer carrying an
 * OTLP partialSuccess counts its rejectedSpans as dropped. exporter_finish() keeps retrying for
 * at most 5 s (by default), then counts what is left as dropped.
 *
 * One set of counts: every span handed to exporter_write() ends up delivered or dropped for one
 * reason, so after exporter_finish() spans_accepted = spans_written + spans_dropped and
 * spans_dropped is the sum of the dropped_* counts. The exporter warns when a problem starts
 * (collector unavailable or refusing, queue full, write failed) but prints no totals: the
 * caller prints one summary from the stats. A failure that a later retry recovered from is not
 * a loss. The error says why spans were last lost:
 *   -ECONNREFUSED/-ETIMEDOUT/-EHOSTUNREACH/-EIO  collector still unreachable at close
 *                (-ETIMEDOUT also when the close deadline cut a request short)
 *   -EREMOTEIO   collector still answering 429 or 5xx at close
 *   -EBADMSG     collector rejected a request (other non-2xx status, or partialSuccess)
 *   -ENOBUFS     requests dropped because the retry queue was full
 *   -ESHUTDOWN   spans written after exporter_finish()
 */
#ifndef BT_EXPORT_H
#define BT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "span/span.h"

struct bt_exporter;

struct exporter_stats {
	uint64_t spans_accepted;  /* handed to exporter_write() */
	uint64_t spans_written;	  /* delivered: written to the file, or accepted by the collector */
	uint64_t batches_written; /* lines written, or requests accepted */
	uint64_t spans_dropped;	  /* finally lost: the sum of the dropped_* counts */
	uint64_t dropped_write;	  /* file: write(2) failed (disk full, quota, closed pipe) */
	uint64_t dropped_encode;  /* could not be encoded (out of memory) */
	uint64_t
	    dropped_rejected; /* collector refused them (non-retryable status, partialSuccess) */
	uint64_t dropped_queue_full; /* retry queue full: the oldest requests gave way */
	uint64_t dropped_unsent; /* still queued at exit: collector unreachable or answering 5xx */
	uint64_t retries;	 /* requests sent again after a failed attempt */
	int last_err;		 /* -errno of the last loss (see above), 0: none */
	long last_status;	 /* HTTP status behind the last loss, 0: none or no answer */
};

/*
 * Returns an exporter writing one ExportTraceServiceRequest per line to @path ("-" = stdout),
 * or NULL + errno. A file is created (or truncated) with mode 0600; a pre-existing regular
 * file is also fchmod'ed to 0600. A symbolic link is never followed (ELOOP) and an existing
 * path that is not a regular file is refused (EEXIST). Free with exporter_close().
 */
struct bt_exporter *exporter_open_file(const char *path);
/* For errno @err from exporter_open_file: the reason it refused the path, or NULL. */
const char *exporter_file_refusal(int err);

/*
 * Returns an exporter POSTing OTLP/HTTP JSON to @url (e.g. http://127.0.0.1:4318/v1/traces),
 * or NULL + errno (EINVAL for a URL that is not http:// or https://, ENOMEM, or the error
 * starting the sender thread). Nothing is sent until the first write. Free with exporter_close().
 */
struct bt_exporter *exporter_open_otlp_http(const char *url);

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
