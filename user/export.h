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
 * OTLP partialSuccess counts its rejectedSpans as dropped. exporter_close() keeps retrying for
 * at most 5 s (by default), then counts what is left as dropped.
 *
 * Losses on the sender thread are reported by exporter_close() and the stats; a failure that
 * a later retry recovered from is not a loss. The error says why spans were last lost:
 *   -ECONNREFUSED/-ETIMEDOUT/-EHOSTUNREACH/-EIO  collector still unreachable at close
 *                (-ETIMEDOUT also when the close deadline cut a request short)
 *   -EREMOTEIO   collector still answering 429 or 5xx at close
 *   -EBADMSG     collector rejected a request (other non-2xx status, or partialSuccess)
 *   -ENOBUFS     requests dropped because the retry queue was full
 */
#ifndef BT_EXPORT_H
#define BT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

struct bt_exporter;

struct exporter_stats {
	uint64_t spans_written;	  /* delivered: written to the file, or accepted by the collector */
	uint64_t batches_written; /* lines written, or requests accepted */
	uint64_t spans_dropped;	  /* finally lost, for whatever reason */
	uint64_t retries;	  /* requests sent again after a failed attempt */
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
 * Delivers what is still queued (bounded in time), prints one warning with the drop count if
 * anything was lost, closes and frees @e (NULL is a no-op). Returns 0 when nothing was lost,
 * else -errno of the last failure that lost spans (see above; file: the write(2) error).
 */
int exporter_close(struct bt_exporter *e);

/* Fills @out with the counts so far; safe while another thread writes. */
void exporter_get_stats(const struct bt_exporter *e, struct exporter_stats *out);

#endif
