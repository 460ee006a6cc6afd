// SPDX-License-Identifier: MIT
/*
 * Unit tests for otel_env.c: the OTEL_EXPORTER_OTLP_HEADERS parser and the exporter
 * configuration read from OTEL_* variables (through a fake environment).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/otel_env.h"

/* ---- a fake environment ---- */

static const char *env_names[16], *env_values[16];
static size_t env_n;

static void env_reset(void)
{
	env_n = 0;
}

static void env_set(const char *name, const char *value)
{
	assert_true(env_n < 16);
	env_names[env_n] = name;
	env_values[env_n++] = value;
}

static char *fake_getenv(const char *name)
{
	size_t i;

	for (i = 0; i < env_n; i++)
		if (!strcmp(env_names[i], name))
			return (char *)env_values[i];
	return NULL;
}

/* ---- stderr capture: warnings must never carry a header value ---- */

static int saved_fd = -1;
static char cap_path[64];

static void capture_start(void)
{
	int fd;

	strcpy(cap_path, "/tmp/bt_test_otel_env_XXXXXX");
	fd = mkstemp(cap_path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_fd = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* Returns what was printed (caller frees) and restores stderr. */
static char *capture_stop(void)
{
	char *buf = calloc(1, 8192);
	FILE *f;

	fflush(stderr);
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	saved_fd = -1;
	assert_non_null(buf);
	f = fopen(cap_path, "r");
	assert_non_null(f);
	fread(buf, 1, 8191, f);
	fclose(f);
	unlink(cap_path);
	fputs(buf, stderr);
	return buf;
}

static const char *hval(const struct otel_headers *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (!strcmp(h->v[i].name, name))
			return h->v[i].value;
	return NULL;
}

/* ---- the header list ---- */

static void test_otel_headers_basic_list(void **state)
{
	struct otel_headers h = {0};

	(void)state;
	assert_int_equal(otel_headers_parse("api-key=abc123,x-tenant=acme", &h), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.v[0].name, "api-key");
	assert_string_equal(h.v[0].value, "abc123");
	assert_string_equal(h.v[1].name, "x-tenant");
	assert_string_equal(h.v[1].value, "acme");
	otel_headers_free(&h);
}

static void test_otel_headers_whitespace_and_empty_members(void **state)
{
	struct otel_headers h = {0};

	(void)state;
	assert_int_equal(otel_headers_parse(" a = 1 ,, \tb=two words\t,", &h), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(hval(&h, "a"), "1");
	/* inner whitespace of a value is kept */
	assert_string_equal(hval(&h, "b"), "two words");
	otel_headers_free(&h);
	assert_int_equal(otel_headers_parse("", &h), 0);
	assert_int_equal(otel_headers_parse(NULL, &h), 0);
	assert_int_equal(h.n, 0);
}

static void test_otel_headers_percent_decoding(void **state)
{
	struct otel_headers h = {0};

	(void)state;
	assert_int_equal(otel_headers_parse("Authorization=Basic%20dXNlcjpwYXNz,"
					    "p=a+b,bad=100%,short=x%2,hex=%zzq,eq=a=b==,"
					    "pct=%25,utf=%C3%A9",
					    &h),
			 0);
	assert_string_equal(hval(&h, "Authorization"), "Basic dXNlcjpwYXNz");
	assert_string_equal(hval(&h, "p"), "a+b");    /* '+' is a plus, not a space */
	assert_string_equal(hval(&h, "bad"), "100%"); /* not an escape: literal */
	assert_string_equal(hval(&h, "short"), "x%2");
	assert_string_equal(hval(&h, "hex"), "%zzq");
	assert_string_equal(hval(&h, "eq"), "a=b=="); /* base64 padding survives */
	assert_string_equal(hval(&h, "pct"), "%");
	assert_string_equal(hval(&h, "utf"), "\xc3\xa9");
	otel_headers_free(&h);
}

static void test_otel_headers_malformed_members_skipped(void **state)
{
	struct otel_headers h = {0};

	(void)state;
	/* no '=', empty name, a space in the name, empty value, CRLF injection, NUL, reserved */
	assert_int_equal(otel_headers_parse("novalue,=v,bad name=v,k=,inj=a%0d%0aX-Evil: 1,"
					    "nul=a%00b,Content-Type=text/plain,host=x,ok=1",
					    &h),
			 8);
	assert_int_equal(h.n, 1);
	assert_string_equal(hval(&h, "ok"), "1");
	otel_headers_free(&h);
}

static void test_otel_headers_later_name_wins_any_case(void **state)
{
	struct otel_headers h = {0};

	(void)state;
	assert_int_equal(otel_headers_parse("X-Key=1,x-key=2", &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.v[0].value, "2");
	assert_int_equal(otel_headers_parse("X-KEY=3,other=4", &h), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.v[0].value, "3");
	otel_headers_free(&h);
}

/* ---- the configuration ---- */

static void test_otel_config_defaults(void **state)
{
	struct otel_export_config c;

	(void)state;
	env_reset();
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_false(c.sdk_disabled);
	assert_null(c.endpoint);
	assert_int_equal(c.headers.n, 0);
	assert_int_equal(c.compression, OTEL_COMPRESSION_NONE);
	assert_int_equal(c.timeout_ms, OTEL_DEFAULT_TIMEOUT_MS);
	assert_null(c.certificate);
	assert_null(c.client_key);
	otel_export_config_free(&c);
}

static void test_otel_config_endpoints(void **state)
{
	struct otel_export_config c;

	(void)state;
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/");
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_string_equal(c.endpoint, "http://collector:4318/v1/traces");
	otel_export_config_free(&c);

	env_reset();
	env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base");
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_string_equal(c.endpoint, "http://collector:4318/base/v1/traces");
	otel_export_config_free(&c);

	/* the signal-specific URL is used as it is */
	env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://traces.example:443/custom");
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_string_equal(c.endpoint, "https://traces.example:443/custom");
	otel_export_config_free(&c);
}

static void test_otel_config_traces_headers_win_per_name(void **state)
{
	struct otel_export_config c;
	char *log;

	(void)state;
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_HEADERS", "api-key=base-secret,x-team=core,junk S3CR3T");
	env_set("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "API-KEY=traces-secret,bad=%0aT0KEN");
	capture_start();
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	log = capture_stop();
	assert_int_equal(c.headers.n, 2);
	assert_string_equal(hval(&c.headers, "api-key"), "traces-secret");
	assert_string_equal(hval(&c.headers, "x-team"), "core");
	/* one line per variable with skipped entries, naming the variable, never the values */
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_HEADERS: 1 entry ignored"));
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_TRACES_HEADERS: 1 entry ignored"));
	assert_null(strstr(log, "secret"));
	assert_null(strstr(log, "S3CR3T"));
	assert_null(strstr(log, "T0KEN"));
	free(log);
	otel_export_config_free(&c);
}

static void test_otel_config_compression(void **state)
{
	struct otel_export_config c;
	char *log;

	(void)state;
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_int_equal(c.compression, OTEL_COMPRESSION_GZIP);
	otel_export_config_free(&c);

	env_set("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none");
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_int_equal(c.compression, OTEL_COMPRESSION_NONE);
	otel_export_config_free(&c);

	env_reset();
	env_set("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd");
	capture_start();
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	log = capture_stop();
	assert_int_equal(c.compression, OTEL_COMPRESSION_NONE);
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_COMPRESSION='zstd' is not supported"));
	free(log);
	otel_export_config_free(&c);
}

static void test_otel_config_timeout(void **state)
{
	static const char *const bad[] = {"abc", "-5", "0", "10s", "99999999999"};
	struct otel_export_config c;
	size_t i;
	char *log;

	(void)state;
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_TIMEOUT", "2500");
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_int_equal(c.timeout_ms, 2500);
	otel_export_config_free(&c);
	env_set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700");
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_int_equal(c.timeout_ms, 700);
	otel_export_config_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env_reset();
		env_set("OTEL_EXPORTER_OTLP_TIMEOUT", bad[i]);
		capture_start();
		assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
		log = capture_stop();
		assert_int_equal(c.timeout_ms, OTEL_DEFAULT_TIMEOUT_MS);
		assert_non_null(strstr(log, "is not a number of milliseconds"));
		free(log);
		otel_export_config_free(&c);
	}
}

static void test_otel_config_sdk_disabled(void **state)
{
	struct otel_export_config c;
	char *log;

	(void)state;
	env_reset();
	env_set("OTEL_SDK_DISABLED", "TRUE");
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_true(c.sdk_disabled);
	otel_export_config_free(&c);
	env_reset();
	env_set("OTEL_SDK_DISABLED", "false");
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_false(c.sdk_disabled);
	otel_export_config_free(&c);
	env_reset();
	env_set("OTEL_SDK_DISABLED", "yes");
	capture_start();
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	log = capture_stop();
	assert_false(c.sdk_disabled);
	assert_non_null(strstr(log, "OTEL_SDK_DISABLED"));
	free(log);
	otel_export_config_free(&c);
}

static void test_otel_config_protocol_warning(void **state)
{
	struct otel_export_config c;
	char *log;

	(void)state;
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
	capture_start();
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	log = capture_stop();
	assert_string_equal(log, "");
	free(log);
	otel_export_config_free(&c);
	env_set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc");
	capture_start();
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	log = capture_stop();
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL='grpc' is not used"));
	free(log);
	otel_export_config_free(&c);
}

static void test_otel_config_tls_files(void **state)
{
	char ca[] = "/tmp/bt_test_otel_ca_XXXXXX", key[] = "/tmp/bt_test_otel_key_XXXXXX";
	struct otel_export_config c;
	int fd1 = mkstemp(ca), fd2 = mkstemp(key);
	char *log;

	(void)state;
	assert_true(fd1 >= 0 && fd2 >= 0);
	close(fd1);
	close(fd2);
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem");
	env_set("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca);
	env_set("OTEL_EXPORTER_OTLP_CLIENT_KEY", key);
	env_set("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", key);
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_string_equal(c.certificate, ca); /* the signal-specific one wins */
	assert_string_equal(c.client_key, key);
	assert_string_equal(c.client_certificate, key);
	otel_export_config_free(&c);

	/* a key without a certificate is not presented */
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_CLIENT_KEY", key);
	capture_start();
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	log = capture_stop();
	assert_null(c.client_key);
	assert_null(c.client_certificate);
	assert_non_null(strstr(log, "CLIENT_KEY without a client certificate"));
	free(log);
	otel_export_config_free(&c);

	/* an unreadable file fails the read with one line naming the variable */
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem");
	capture_start();
	assert_int_equal(otel_export_config_read(&c, fake_getenv), -EINVAL);
	log = capture_stop();
	assert_non_null(strstr(log, "cannot read OTEL_EXPORTER_OTLP_CERTIFICATE file "
				    "/nonexistent/ca.pem"));
	free(log);
	otel_export_config_free(&c);
	unlink(ca);
	unlink(key);
}

/* ---- the other signals ---- */

static void test_otel_config_signal_endpoints(void **state)
{
	struct otel_export_config c;

	(void)state;
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/");
	env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/v1/traces");
	/* the base URL gets each signal's own path */
	assert_int_equal(otel_export_config_read_signal(&c, fake_getenv, BT_SIGNAL_METRICS), 0);
	assert_string_equal(c.endpoint, "http://collector:4318/v1/metrics");
	assert_false(c.endpoint_specific);
	otel_export_config_free(&c);
	assert_int_equal(otel_export_config_read_signal(&c, fake_getenv, BT_SIGNAL_LOGS), 0);
	assert_string_equal(c.endpoint, "http://collector:4318/v1/logs");
	otel_export_config_free(&c);
	/* the traces one is the traces exporter's only */
	assert_int_equal(otel_export_config_read(&c, fake_getenv), 0);
	assert_string_equal(c.endpoint, "http://traces:4318/v1/traces");
	assert_true(c.endpoint_specific);
	otel_export_config_free(&c);

	/* a signal-specific URL is used as it is */
	env_set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://m.example/custom");
	assert_int_equal(otel_export_config_read_signal(&c, fake_getenv, BT_SIGNAL_METRICS), 0);
	assert_string_equal(c.endpoint, "https://m.example/custom");
	assert_true(c.endpoint_specific);
	otel_export_config_free(&c);
	assert_int_equal(otel_export_config_read_signal(&c, fake_getenv, BT_SIGNAL_LOGS), 0);
	assert_string_equal(c.endpoint, "http://collector:4318/v1/logs");
	otel_export_config_free(&c);

	/* only the traces variable: no endpoint for the others (the caller derives one) */
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/v1/traces");
	assert_int_equal(otel_export_config_read_signal(&c, fake_getenv, BT_SIGNAL_METRICS), 0);
	assert_null(c.endpoint);
	otel_export_config_free(&c);

	assert_int_equal(otel_export_config_read_signal(&c, fake_getenv, (enum bt_signal)7),
			 -EINVAL);
	otel_export_config_free(&c);
}

static void test_otel_config_signal_settings_win(void **state)
{
	char ca[] = "/tmp/bt_test_otel_ca_XXXXXX";
	struct otel_export_config c;
	int fd = mkstemp(ca);
	char *log;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_HEADERS", "api-key=base-secret,x-team=core");
	env_set("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=traces-secret,x-traces=1");
	env_set("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "API-KEY=logs-secret,junk L0GS3CR3T");
	env_set("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
	env_set("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "none");
	env_set("OTEL_EXPORTER_OTLP_TIMEOUT", "2500");
	env_set("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700");
	env_set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "900");
	env_set("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", ca);
	env_set("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc");

	capture_start();
	assert_int_equal(otel_export_config_read_signal(&c, fake_getenv, BT_SIGNAL_LOGS), 0);
	log = capture_stop();
	assert_int_equal(c.headers.n, 2);
	assert_string_equal(hval(&c.headers, "api-key"), "logs-secret");
	assert_string_equal(hval(&c.headers, "x-team"), "core");
	assert_int_equal(c.compression, OTEL_COMPRESSION_NONE);
	assert_int_equal(c.timeout_ms, 2500);
	assert_null(c.certificate);
	/* warnings name the signal's variables, never a value */
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_LOGS_HEADERS: 1 entry ignored"));
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL='grpc' is not used"));
	assert_null(strstr(log, "secret"));
	assert_null(strstr(log, "L0GS3CR3T"));
	free(log);
	otel_export_config_free(&c);

	capture_start();
	assert_int_equal(otel_export_config_read_signal(&c, fake_getenv, BT_SIGNAL_METRICS), 0);
	log = capture_stop();
	assert_string_equal(hval(&c.headers, "api-key"), "base-secret");
	assert_null(hval(&c.headers, "x-traces"));
	assert_int_equal(c.compression, OTEL_COMPRESSION_GZIP);
	assert_int_equal(c.timeout_ms, 700);
	assert_string_equal(c.certificate, ca);
	assert_string_equal(log, "");
	free(log);
	otel_export_config_free(&c);

	/* a half client pair is named with the signal */
	env_reset();
	env_set("OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", ca);
	capture_start();
	assert_int_equal(otel_export_config_read_signal(&c, fake_getenv, BT_SIGNAL_METRICS), 0);
	log = capture_stop();
	assert_null(c.client_certificate);
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_[METRICS_]CLIENT_CERTIFICATE without a "
				    "client key"));
	free(log);
	otel_export_config_free(&c);
	unlink(ca);
}

static void test_otel_signal_url_derivation(void **state)
{
	static const struct {
		const char *in;
		enum bt_signal sig;
		const char *out;
	} cases[] = {
	    {"http://127.0.0.1:4318/v1/traces", BT_SIGNAL_METRICS,
	     "http://127.0.0.1:4318/v1/metrics"},
	    {"http://127.0.0.1:4318/v1/traces", BT_SIGNAL_LOGS, "http://127.0.0.1:4318/v1/logs"},
	    {"https://gw.example/otlp/v1/traces", BT_SIGNAL_METRICS,
	     "https://gw.example/otlp/v1/metrics"},
	    {"http://h:4318/custom/path", BT_SIGNAL_METRICS, "http://h:4318/v1/metrics"},
	    {"http://h:4318", BT_SIGNAL_LOGS, "http://h:4318/v1/logs"},
	    {"http://h:4318/", BT_SIGNAL_LOGS, "http://h:4318/v1/logs"},
	    {"http://h/v1/traces?tenant=a", BT_SIGNAL_METRICS, "http://h/v1/metrics"},
	    {"http://h/v1/traces/", BT_SIGNAL_METRICS, "http://h/v1/metrics"},
	    {"http://h#v1/traces", BT_SIGNAL_METRICS, "http://h/v1/metrics"},
	    {"http://user@[::1]:4318/x", BT_SIGNAL_LOGS, "http://user@[::1]:4318/v1/logs"},
	    /* traces: the URL itself */
	    {"http://h:4318/custom", BT_SIGNAL_TRACES, "http://h:4318/custom"},
	};
	static const char *const bad[] = {"",	     "h:4318/v1/traces",  "://h/v1/traces",
					  "http://", "http:///v1/traces", "/v1/traces"};
	size_t i;
	char *u;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u = otel_signal_url(cases[i].in, cases[i].sig);
		assert_non_null(u);
		assert_string_equal(u, cases[i].out);
		free(u);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(otel_signal_url(bad[i], BT_SIGNAL_METRICS));
		assert_int_equal(errno, EINVAL);
	}
	errno = 0;
	assert_null(otel_signal_url(NULL, BT_SIGNAL_LOGS));
	assert_int_equal(errno, EINVAL);
	assert_null(otel_signal_url("http://h/v1/traces", (enum bt_signal)3));
	assert_int_equal(errno, EINVAL);
}

static void test_otel_signal_names(void **state)
{
	(void)state;
	assert_string_equal(bt_signal_items(BT_SIGNAL_TRACES), "spans");
	assert_string_equal(bt_signal_items(BT_SIGNAL_METRICS), "data points");
	assert_string_equal(bt_signal_items(BT_SIGNAL_LOGS), "log records");
	assert_string_equal(bt_signal_rejected_field(BT_SIGNAL_TRACES), "rejectedSpans");
	assert_string_equal(bt_signal_rejected_field(BT_SIGNAL_METRICS), "rejectedDataPoints");
	assert_string_equal(bt_signal_rejected_field(BT_SIGNAL_LOGS), "rejectedLogRecords");
	assert_string_equal(bt_signal_name(BT_SIGNAL_METRICS), "metrics");
	assert_string_equal(bt_signal_env(BT_SIGNAL_LOGS), "LOGS");
	assert_false(bt_signal_valid((enum bt_signal)3));
	assert_null(bt_signal_name((enum bt_signal)3));
	assert_string_equal(bt_signal_items((enum bt_signal) - 1), "items");
}

static void test_otel_metrics_config_interval(void **state)
{
	static const char *const bad[] = {"abc", "-5",		"0",	   "10s",
					  "1.5", "99999999999", "86400001"};
	struct otel_metrics_config m;
	size_t i;
	char *log;

	(void)state;
	env_reset();
	capture_start();
	assert_int_equal(otel_metrics_config_read(&m, fake_getenv), 0);
	log = capture_stop();
	assert_int_equal(m.interval_ms, 60000);
	assert_int_equal(m.interval_ms, OTEL_DEFAULT_METRIC_INTERVAL_MS);
	assert_false(m.delta);
	assert_false(m.low_memory);
	assert_string_equal(log, "");
	free(log);

	env_set("OTEL_METRIC_EXPORT_INTERVAL", "5000");
	assert_int_equal(otel_metrics_config_read(&m, fake_getenv), 0);
	assert_int_equal(m.interval_ms, 5000);
	env_reset();
	env_set("OTEL_METRIC_EXPORT_INTERVAL", "");
	assert_int_equal(otel_metrics_config_read(&m, fake_getenv), 0);
	assert_int_equal(m.interval_ms, 60000);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env_reset();
		env_set("OTEL_METRIC_EXPORT_INTERVAL", bad[i]);
		capture_start();
		assert_int_equal(otel_metrics_config_read(&m, fake_getenv), 0);
		log = capture_stop();
		assert_int_equal(m.interval_ms, 60000);
		/* one line, naming the variable */
		assert_int_equal(strchr(log, '\n') - log + 1, (long)strlen(log));
		assert_non_null(strstr(log, "OTEL_METRIC_EXPORT_INTERVAL="));
		assert_non_null(strstr(log, "using 60000"));
		free(log);
	}
}

static void test_otel_metrics_config_temporality(void **state)
{
	static const struct {
		const char *v;
		bool delta, low_memory;
	} ok[] = {
	    {"cumulative", false, false}, {"CUMULATIVE", false, false}, {"delta", true, false},
	    {"Delta", true, false},	  {"lowmemory", true, true},	{"LowMemory", true, true},
	};
	static const char *const bad[] = {"deltas", "low memory", "none", "1"};
	struct otel_metrics_config m;
	size_t i;
	char *log;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		env_reset();
		env_set("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", ok[i].v);
		capture_start();
		assert_int_equal(otel_metrics_config_read(&m, fake_getenv), 0);
		log = capture_stop();
		assert_int_equal(m.delta, ok[i].delta);
		assert_int_equal(m.low_memory, ok[i].low_memory);
		assert_string_equal(log, "");
		free(log);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env_reset();
		env_set("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", bad[i]);
		env_set("OTEL_METRIC_EXPORT_INTERVAL", "1000");
		capture_start();
		assert_int_equal(otel_metrics_config_read(&m, fake_getenv), 0);
		log = capture_stop();
		assert_false(m.delta);
		assert_false(m.low_memory);
		/* the other variable still applies */
		assert_int_equal(m.interval_ms, 1000);
		assert_int_equal(strchr(log, '\n') - log + 1, (long)strlen(log));
		assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="));
		assert_non_null(strstr(log, "using cumulative"));
		free(log);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_otel_headers_basic_list),
	    cmocka_unit_test(test_otel_headers_whitespace_and_empty_members),
	    cmocka_unit_test(test_otel_headers_percent_decoding),
	    cmocka_unit_test(test_otel_headers_malformed_members_skipped),
	    cmocka_unit_test(test_otel_headers_later_name_wins_any_case),
	    cmocka_unit_test(test_otel_config_defaults),
	    cmocka_unit_test(test_otel_config_endpoints),
	    cmocka_unit_test(test_otel_config_traces_headers_win_per_name),
	    cmocka_unit_test(test_otel_config_compression),
	    cmocka_unit_test(test_otel_config_timeout),
	    cmocka_unit_test(test_otel_config_sdk_disabled),
	    cmocka_unit_test(test_otel_config_protocol_warning),
	    cmocka_unit_test(test_otel_config_tls_files),
	    cmocka_unit_test(test_otel_config_signal_endpoints),
	    cmocka_unit_test(test_otel_config_signal_settings_win),
	    cmocka_unit_test(test_otel_signal_url_derivation),
	    cmocka_unit_test(test_otel_signal_names),
	    cmocka_unit_test(test_otel_metrics_config_interval),
	    cmocka_unit_test(test_otel_metrics_config_temporality),
	};

	return cmocka_run_group_tests_name("otel_env", tests, NULL, NULL);
}
