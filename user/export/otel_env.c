// SPDX-License-Identifier: MIT
/*
 * OTEL_EXPORTER_OTLP_*, OTEL_SDK_DISABLED and OTEL_METRIC_* for the exporters of the three
 * signals. See otel_env.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "export/otel_env.h"
#include "util/pct.h"
#include "util/grow.h"
#include "util/log.h"

#define ENV_BASE "OTEL_EXPORTER_OTLP_"
#define TIMEOUT_MAX_MS 3600000ul
#define INTERVAL_MAX_MS 86400000ul
#define VAR_MAX 64

/* RFC 9110 token characters: what a header name may contain. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* Headers bedtrace writes itself: a user value would corrupt the request. */
static bool is_reserved(const char *name)
{
	static const char *const reserved[] = {"content-type", "content-encoding", "content-length",
					       "transfer-encoding", "host"};
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcasecmp(name, reserved[i]))
			return true;
	return false;
}

int otel_headers_set(struct otel_headers *h, const char *name, const char *value)
{
	char *n = NULL, *v = strdup(value);
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < h->n; i++) {
		if (!strcasecmp(h->v[i].name, name)) {
			free(h->v[i].value);
			h->v[i].value = v;
			return 0;
		}
	}
	n = strdup(name);
	if (!n || grow(&h->v, &h->cap, h->n + 1, sizeof(*h->v))) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	h->v[h->n].name = n;
	h->v[h->n].value = v;
	h->n++;
	return 0;
}

void otel_headers_free(struct otel_headers *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].name);
		/* a credential: do not leave it in freed heap memory */
		explicit_bzero(h->v[i].value, strlen(h->v[i].value));
		free(h->v[i].value);
	}
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/*
 * Parses one member [@p, @end): returns 1 when it was added, 0 when empty, -EINVAL when
 * malformed, -ENOMEM.
 */
static int parse_member(const char *p, const char *end, struct otel_headers *h)
{
	const char *eq, *k_end, *v;
	char *name = NULL, *value = NULL;
	size_t n = 0;
	int err = -EINVAL;

	pct_trim(&p, &end);
	if (p == end)
		return 0;
	eq = memchr(p, '=', (size_t)(end - p));
	if (!eq || eq == p)
		return -EINVAL;
	k_end = eq;
	while (k_end > p && pct_is_ows(k_end[-1]))
		k_end--;
	for (const char *q = p; q < k_end; q++)
		if (!is_tchar((unsigned char)*q))
			return -EINVAL;
	v = eq + 1;
	while (v < end && pct_is_ows(*v))
		v++;
	name = strndup(p, (size_t)(k_end - p));
	value = malloc((size_t)(end - v) + 1);
	if (!name || !value) {
		err = -ENOMEM;
		goto out;
	}
	while (v < end) {
		int esc = pct_escape(v, end);
		unsigned char c = esc >= 0 ? (unsigned char)esc : (unsigned char)*v;

		v += esc >= 0 ? 3 : 1;
		/* CR/LF would start another header line; NUL would cut the value */
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			goto out;
		value[n++] = (char)c;
	}
	value[n] = '\0';
	if (!n || is_reserved(name))
		goto out;
	err = otel_headers_set(h, name, value) ? -ENOMEM : 1;
out:
	if (value) {
		explicit_bzero(value, n);
		free(value);
	}
	free(name);
	return err;
}

int otel_headers_parse(const char *s, struct otel_headers *h)
{
	const char *p = s, *comma;
	int skipped = 0, r;

	if (!s)
		return 0;
	for (;;) {
		comma = strchr(p, ',');
		r = parse_member(p, comma ? comma : p + strlen(p), h);
		if (r == -ENOMEM)
			return -ENOMEM;
		if (r == -EINVAL)
			skipped++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return skipped;
}

/* Names OTEL_EXPORTER_OTLP_<SIGNAL>_@suffix into @out (VAR_MAX bytes). */
static const char *signal_var(enum bt_signal sig, const char *suffix, char *out)
{
	snprintf(out, VAR_MAX, ENV_BASE "%s_%s", bt_signal_env(sig), suffix);
	return out;
}

/* The value of the signal's @suffix variable if set and non-empty, else of ENV_BASE @suffix;
 * *@which (VAR_MAX bytes) gets the variable's name. */
static const char *env_pick(otel_getenv_fn get, enum bt_signal sig, const char *suffix, char *which)
{
	const char *v = get(signal_var(sig, suffix, which));

	if (v && *v)
		return v;
	snprintf(which, VAR_MAX, ENV_BASE "%s", suffix);
	v = get(which);
	return v && *v ? v : NULL;
}

static int read_headers(struct otel_export_config *c, otel_getenv_fn get, enum bt_signal sig)
{
	char vars[2][VAR_MAX];
	size_t i;
	int skipped;

	/* the base list first, so that the signal-specific one replaces its names */
	snprintf(vars[0], VAR_MAX, ENV_BASE "HEADERS");
	signal_var(sig, "HEADERS", vars[1]);
	for (i = 0; i < 2; i++) {
		skipped = otel_headers_parse(get(vars[i]), &c->headers);
		if (skipped < 0)
			return skipped;
		if (skipped)
			pr_warn(
			    "%s: %d entr%s ignored (expected name=value, a valid header name, a "
			    "non-empty value; values are never printed)\n",
			    vars[i], skipped, skipped == 1 ? "y" : "ies");
	}
	return 0;
}

static void read_compression(struct otel_export_config *c, otel_getenv_fn get, enum bt_signal sig)
{
	char var[VAR_MAX];
	const char *v = env_pick(get, sig, "COMPRESSION", var);

	c->compression = OTEL_COMPRESSION_NONE;
	if (!v || !strcasecmp(v, "none"))
		return;
	if (!strcasecmp(v, "gzip")) {
		c->compression = OTEL_COMPRESSION_GZIP;
		return;
	}
	pr_warn("%s='%.32s' is not supported (gzip or none); sending uncompressed\n", var, v);
}

/* bedtrace speaks OTLP/HTTP with JSON bodies only (collectors take it on the same port). */
static void read_protocol(otel_getenv_fn get, enum bt_signal sig)
{
	char var[VAR_MAX];
	const char *v = env_pick(get, sig, "PROTOCOL", var);

	if (v && strcmp(v, "http/json"))
		pr_warn("%s='%.32s' is not used: bedtrace sends OTLP/HTTP with JSON bodies "
			"(http/json)\n",
			var, v);
}

/*
 * Parses @v (of variable @var) as a whole number of milliseconds from 1 to @max into *@ms;
 * otherwise warns and leaves *@ms (the default) alone.
 */
static void parse_ms(const char *var, const char *v, unsigned long max, unsigned *ms)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n == 0 || n > max) {
		pr_warn("%s='%.32s' is not a number of milliseconds (1 to %lu); using %u\n", var, v,
			max, *ms);
		return;
	}
	*ms = (unsigned)n;
}

static void read_timeout(struct otel_export_config *c, otel_getenv_fn get, enum bt_signal sig)
{
	char var[VAR_MAX];
	const char *v = env_pick(get, sig, "TIMEOUT", var);

	c->timeout_ms = OTEL_DEFAULT_TIMEOUT_MS;
	if (v)
		parse_ms(var, v, TIMEOUT_MAX_MS, &c->timeout_ms);
}

/* Copies the file variable @suffix into *@out; -EINVAL after a warning if it is unreadable. */
static int read_file_var(otel_getenv_fn get, enum bt_signal sig, const char *suffix, char **out)
{
	char var[VAR_MAX];
	const char *v = env_pick(get, sig, suffix, var);

	*out = NULL;
	if (!v)
		return 0;
	if (access(v, R_OK)) {
		pr_warn("cannot read %s file %s: %s\n", var, v, strerror(errno));
		return -EINVAL;
	}
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static int read_endpoint(struct otel_export_config *c, otel_getenv_fn get, enum bt_signal sig)
{
	char var[VAR_MAX];
	const char *v = get(signal_var(sig, "ENDPOINT", var));
	size_t len;

	if (v && *v) {
		c->endpoint = strdup(v);
		c->endpoint_specific = true;
		return c->endpoint ? 0 : -ENOMEM;
	}
	v = get(ENV_BASE "ENDPOINT");
	if (!v || !*v)
		return 0;
	/* the base URL gets the signal's path, without doubling a trailing slash */
	len = strlen(v);
	if (v[len - 1] == '/')
		len--;
	if (asprintf(&c->endpoint, "%.*s/v1/%s", (int)len, v, bt_signal_name(sig)) < 0) {
		c->endpoint = NULL;
		return -ENOMEM;
	}
	return 0;
}

int otel_export_config_read_signal(struct otel_export_config *c, otel_getenv_fn get,
				   enum bt_signal sig)
{
	const char *v = get("OTEL_SDK_DISABLED");
	int err;

	memset(c, 0, sizeof(*c));
	if (!bt_signal_valid(sig))
		return -EINVAL;
	if (v && *v) {
		if (!strcasecmp(v, "true"))
			c->sdk_disabled = true;
		else if (strcasecmp(v, "false"))
			pr_warn("OTEL_SDK_DISABLED='%.32s' is neither true nor false; taken as "
				"false\n",
				v);
	}
	err = read_endpoint(c, get, sig);
	if (!err)
		err = read_headers(c, get, sig);
	if (err)
		return err;
	read_compression(c, get, sig);
	read_timeout(c, get, sig);
	read_protocol(get, sig);
	err = read_file_var(get, sig, "CERTIFICATE", &c->certificate);
	if (!err)
		err = read_file_var(get, sig, "CLIENT_KEY", &c->client_key);
	if (!err)
		err = read_file_var(get, sig, "CLIENT_CERTIFICATE", &c->client_certificate);
	if (err)
		return err;
	if (!c->client_key != !c->client_certificate) {
		pr_warn("OTEL_EXPORTER_OTLP_[%s_]%s without %s: no client certificate is "
			"presented\n",
			bt_signal_env(sig), c->client_key ? "CLIENT_KEY" : "CLIENT_CERTIFICATE",
			c->client_key ? "a client certificate" : "a client key");
		free(c->client_key);
		free(c->client_certificate);
		c->client_key = c->client_certificate = NULL;
	}
	return 0;
}

int otel_export_config_read(struct otel_export_config *c, otel_getenv_fn get)
{
	return otel_export_config_read_signal(c, get, BT_SIGNAL_TRACES);
}

void otel_export_config_free(struct otel_export_config *c)
{
	free(c->endpoint);
	otel_headers_free(&c->headers);
	free(c->certificate);
	free(c->client_key);
	free(c->client_certificate);
	memset(c, 0, sizeof(*c));
}

char *otel_signal_url(const char *traces_url, enum bt_signal sig)
{
	static const char traces_path[] = "/v1/traces";
	const size_t tlen = sizeof(traces_path) - 1;
	const char *auth, *end;
	size_t keep;
	char *out;

	if (!traces_url || !bt_signal_valid(sig))
		goto invalid;
	auth = strstr(traces_url, "://");
	if (!auth || auth == traces_url)
		goto invalid;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	if (end == auth)
		goto invalid;
	if (sig == BT_SIGNAL_TRACES) {
		out = strdup(traces_url);
		goto done;
	}
	/* a path ending in /v1/traces keeps whatever prefix a proxy needs; any other path (and
	 * a query or fragment) gives way to the signal's default path */
	keep = (size_t)(end - traces_url);
	if (strlen(end) >= tlen && !strcmp(traces_url + strlen(traces_url) - tlen, traces_path))
		keep = strlen(traces_url) - tlen;
	if (asprintf(&out, "%.*s/v1/%s", (int)keep, traces_url, bt_signal_name(sig)) < 0)
		out = NULL;
done:
	if (!out)
		errno = ENOMEM;
	return out;
invalid:
	errno = EINVAL;
	return NULL;
}

static void read_temporality(struct otel_metrics_config *m, otel_getenv_fn get)
{
	static const char var[] = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
	const char *v = get(var);

	if (!v || !*v || !strcasecmp(v, "cumulative"))
		return;
	if (!strcasecmp(v, "delta")) {
		m->delta = true;
	} else if (!strcasecmp(v, "lowmemory")) {
		m->delta = true;
		m->low_memory = true;
	} else {
		pr_warn("%s='%.32s' is not cumulative, delta or lowmemory; using cumulative\n", var,
			v);
	}
}

int otel_metrics_config_read(struct otel_metrics_config *m, otel_getenv_fn get)
{
	static const char var[] = "OTEL_METRIC_EXPORT_INTERVAL";
	const char *v = get(var);

	memset(m, 0, sizeof(*m));
	m->interval_ms = OTEL_DEFAULT_METRIC_INTERVAL_MS;
	if (v && *v)
		parse_ms(var, v, INTERVAL_MAX_MS, &m->interval_ms);
	read_temporality(m, get);
	return 0;
}
