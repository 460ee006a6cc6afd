// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the parsers of user/export/otel_env.c, all over free text from the
 * environment or the command line.
 * - OTEL_EXPORTER_OTLP_HEADERS, whose output becomes HTTP header lines: every accepted name
 *   must be a non-empty HTTP token and every value non-empty with no control character but
 *   tab (no CR/LF header injection), names unique ignoring case; parsing the same input twice
 *   into one list changes nothing.
 * - otel_signal_url() on the input as a traces URL: NULL exactly when there is no
 *   "scheme://authority"; else the metrics and logs URLs keep the same prefix (at least the
 *   scheme and authority) and end in their own path.
 * - otel_metrics_config_read() with the input as every variable: the interval stays in range
 *   and lowmemory implies delta.
 * Seeds: tests/data/corpus/otel_headers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/otel_env.h"

static void check(const struct otel_headers *h)
{
	size_t i, j;

	for (i = 0; i < h->n; i++) {
		const char *n = h->v[i].name, *v = h->v[i].value;

		if (!*n || !*v)
			abort();
		for (; *n; n++)
			if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
			      (*n >= '0' && *n <= '9') || strchr("!#$%&'*+-.^_`|~", *n)))
				abort();
		for (; *v; v++)
			if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
				abort();
		for (j = 0; j < i; j++)
			if (!strcasecmp(h->v[i].name, h->v[j].name))
				abort();
	}
}

static const char *fuzz_value;

static char *fuzz_getenv(const char *name)
{
	(void)name;
	return (char *)fuzz_value;
}

/* Checks otel_signal_url() on @s. */
static void check_signal_urls(const char *s)
{
	const char *auth = strstr(s, "://");
	char *m = otel_signal_url(s, BT_SIGNAL_METRICS), *l = otel_signal_url(s, BT_SIGNAL_LOGS);
	size_t head, ml, ll;
	bool valid = auth && auth != s && auth[3] && !strchr("/?#", auth[3]);

	if (!valid) {
		if (m || l)
			abort();
		return;
	}
	if (!m || !l)
		abort(); /* only ENOMEM, which libFuzzer's limits do not reach */
	head = (size_t)(auth + 3 - s) + strcspn(auth + 3, "/?#");
	ml = strlen(m);
	ll = strlen(l);
	if (ml < head + 11 || ll < head + 8 || strncmp(m, s, head) || strncmp(l, s, head) ||
	    strcmp(m + ml - 11, "/v1/metrics") || strcmp(l + ll - 8, "/v1/logs") ||
	    ml - 11 != ll - 8 || strncmp(m, l, ml - 11))
		abort();
	free(m);
	free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otel_metrics_config mc;
	struct otel_headers h = {0};
	char *s = malloc(size + 1);
	size_t n1;
	int skipped;

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	skipped = otel_headers_parse(s, &h);
	if (skipped < 0)
		abort();
	check(&h);
	n1 = h.n;
	if (otel_headers_parse(s, &h) != skipped || h.n != n1)
		abort();
	check(&h);
	otel_headers_free(&h);

	check_signal_urls(s);
	fuzz_value = s;
	if (otel_metrics_config_read(&mc, fuzz_getenv) || mc.interval_ms < 1 ||
	    mc.interval_ms > 86400000u || (mc.low_memory && !mc.delta))
		abort();
	free(s);
	return 0;
}
