/* SPDX-License-Identifier: MIT */
/*
 * The OpenTelemetry SDK environment variables that configure an OTLP exporter, read the way the
 * OTLP exporter specification states them: every OTEL_EXPORTER_OTLP_X has a signal-specific
 * OTEL_EXPORTER_OTLP_<SIGNAL>_X (TRACES, METRICS or LOGS) that takes precedence.
 *
 *   _ENDPOINT            base URL + "/v1/traces", "/v1/metrics" or "/v1/logs"; the
 *                        signal-specific one is used as it is
 *   _HEADERS             "name=value,name2=value2" (W3C baggage syntax without properties),
 *                        values percent-decoded; the signal's list wins per header name
 *   _COMPRESSION         "gzip" or "none"
 *   _TIMEOUT             milliseconds per request (default 10000)
 *   _CERTIFICATE         CA file to verify an https:// collector
 *   _CLIENT_KEY, _CLIENT_CERTIFICATE   the client's key and certificate for mutual TLS
 *   _PROTOCOL            only http/json is spoken; another value gets a warning
 *   OTEL_SDK_DISABLED    "true" (any case): no OTLP export at all
 *
 * And for the metrics pipeline (otel_metrics_config_read):
 *   OTEL_METRIC_EXPORT_INTERVAL                       milliseconds between exports (60000)
 *   OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE cumulative (default), delta, lowmemory
 *
 * Header values are credentials: nothing here ever prints one (nor the name of an entry that
 * could not be parsed, which may be a pasted token). A problem with a variable is one warning
 * naming the variable, and the rest of the configuration still applies.
 */
#ifndef BT_OTEL_ENV_H
#define BT_OTEL_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include "export/signal.h"

#define OTEL_DEFAULT_TIMEOUT_MS 10000u
#define OTEL_DEFAULT_METRIC_INTERVAL_MS 60000u

struct otel_header {
	char *name;
	char *value;
};

/* Unique names (compared case-insensitively, as HTTP does), in first-seen order. */
struct otel_headers {
	struct otel_header *v;
	size_t n, cap;
};

/*
 * Parses a header list @s into @h: members split on ',', optional whitespace around names and
 * values, the value percent-decoded ("%20" is a space, a '%' not followed by two hex digits
 * stays literal, '+' is a plus). A name already in @h gets the new value. A member without
 * '=', with a name that is not an HTTP token, with an empty value, with a control character
 * in the decoded value, or naming a header bedtrace sets itself (Content-Type,
 * Content-Encoding, Content-Length, Transfer-Encoding, Host) is skipped. Returns how many
 * members were skipped (empty members are not counted), or -ENOMEM.
 */
int otel_headers_parse(const char *s, struct otel_headers *h);
/* Sets @name to @value in @h (replacing a name equal but for case). Returns 0 or -ENOMEM. */
int otel_headers_set(struct otel_headers *h, const char *name, const char *value);
void otel_headers_free(struct otel_headers *h);

enum otel_compression { OTEL_COMPRESSION_NONE, OTEL_COMPRESSION_GZIP };

struct otel_export_config {
	bool sdk_disabled;
	char *endpoint;		/* NULL: no endpoint variable set */
	bool endpoint_specific; /* it came from OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT */
	struct otel_headers headers;
	enum otel_compression compression;
	unsigned timeout_ms;
	char *certificate; /* CA file, or NULL */
	char *client_key;  /* with client_certificate, or both NULL */
	char *client_certificate;
};

/* Reads one variable; getenv for the process environment, another function in tests. */
typedef char *(*otel_getenv_fn)(const char *name);

/*
 * Fills @c for @signal's exporter from the variables @get returns (an empty value counts as
 * unset). Each malformed variable gets one warning and its default. Returns 0, -ENOMEM,
 * -EINVAL for an invalid @signal, or -EINVAL after a warning when a certificate or key file
 * cannot be read (TLS would fail on every request). Free with otel_export_config_free() in
 * every case.
 */
int otel_export_config_read_signal(struct otel_export_config *c, otel_getenv_fn get,
				   enum bt_signal signal);
/* otel_export_config_read_signal() for traces. */
int otel_export_config_read(struct otel_export_config *c, otel_getenv_fn get);
void otel_export_config_free(struct otel_export_config *c);

/*
 * The URL of @signal's collector endpoint for a traces URL given whole (--otlp-endpoint): a
 * trailing "/v1/traces" becomes "/v1/metrics" or "/v1/logs" (a prefix before it is kept); any
 * other path, and a query or fragment, is replaced by the signal's default path
 * (scheme://authority/v1/metrics). For traces, a copy. Returns a malloc'd string, or NULL +
 * errno: EINVAL when @traces_url has no "scheme://authority" or @signal is invalid, ENOMEM.
 */
char *otel_signal_url(const char *traces_url, enum bt_signal signal);

struct otel_metrics_config {
	unsigned interval_ms; /* OTEL_METRIC_EXPORT_INTERVAL; default 60000 */
	/*
	 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (any case): "cumulative" (default)
	 * false; "delta" true; "lowmemory" true as well. The specification's lowmemory differs
	 * from delta only for asynchronous counters (kept cumulative) and, like delta, keeps
	 * up-down counters cumulative: bedtrace's counters and histograms are synchronous, so
	 * for them lowmemory is delta.
	 */
	bool delta;
	bool low_memory; /* the preference was lowmemory (for an asynchronous instrument) */
};

/*
 * Fills @m from the variables @get returns (an empty value counts as unset). A malformed
 * value (an interval that is not a whole number of milliseconds from 1 to 86400000, an
 * unknown temporality) gets one warning naming the variable, and the default is kept.
 * Returns 0 (nothing to free).
 */
int otel_metrics_config_read(struct otel_metrics_config *m, otel_getenv_fn get);

#endif
