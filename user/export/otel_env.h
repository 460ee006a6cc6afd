/* SPDX-License-Identifier: MIT */
/*
 * The OpenTelemetry SDK environment variables that configure an OTLP trace exporter, read the
 * way the OTLP exporter specification states them: every OTEL_EXPORTER_OTLP_X has a
 * signal-specific OTEL_EXPORTER_OTLP_TRACES_X that takes precedence.
 *
 *   _ENDPOINT            base URL + "/v1/traces"; the _TRACES_ one is used as it is
 *   _HEADERS             "name=value,name2=value2" (W3C baggage syntax without properties),
 *                        values percent-decoded; the _TRACES_ list wins per header name
 *   _COMPRESSION         "gzip" or "none"
 *   _TIMEOUT             milliseconds per request (default 10000)
 *   _CERTIFICATE         CA file to verify an https:// collector
 *   _CLIENT_KEY, _CLIENT_CERTIFICATE   the client's key and certificate for mutual TLS
 *   _PROTOCOL            only http/json is spoken; another value gets a warning
 *   OTEL_SDK_DISABLED    "true" (any case): no OTLP export at all
 *
 * Header values are credentials: nothing here ever prints one (nor the name of an entry that
 * could not be parsed, which may be a pasted token). A problem with a variable is one warning
 * naming the variable, and the rest of the configuration still applies.
 */
#ifndef BT_OTEL_ENV_H
#define BT_OTEL_ENV_H

#include <stdbool.h>
#include <stddef.h>

#define OTEL_DEFAULT_TIMEOUT_MS 10000u

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
	char *endpoint; /* NULL: no endpoint variable set */
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
 * Fills @c from the variables @get returns (an empty value counts as unset). Each malformed
 * variable gets one warning and its default. Returns 0, -ENOMEM, or -EINVAL after a warning
 * when a certificate or key file cannot be read (TLS would fail on every request). Free with
 * otel_export_config_free() in every case.
 */
int otel_export_config_read(struct otel_export_config *c, otel_getenv_fn get);
void otel_export_config_free(struct otel_export_config *c);

#endif
