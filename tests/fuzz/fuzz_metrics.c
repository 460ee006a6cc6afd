// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the metrics encoders (user/metrics/): attribute keys and values come
 * from captured traffic and symbol names, so they can be any bytes. The input is split at NUL
 * bytes into key/value pairs that become a counter point, a histogram point (the value's length
 * as the measurement) and a model-call span's attributes. Then:
 * - the Prometheus text must be well formed: every line a comment or `name{labels} value`, each
 *   label `name="value"` with only \\, \" and \n escapes, label names [a-zA-Z_][a-zA-Z0-9_]*,
 *   the whole text valid UTF-8;
 * - the OTLP metrics and logs JSON must parse, and be one line.
 * Seeds: tests/data/corpus/metrics.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/inference_log.h"
#include "metrics/metrics.h"
#include "metrics/otlp_metrics.h"
#include "metrics/prom_text.h"
#include "span/semconv.h"
#include "util/jbuf.h"

static const double bounds[] = {1, 10, 100};

static void check_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	while (*p) {
		len = jb_utf8_seq_len(p);
		if (!len)
			abort();
		p += len;
	}
}

/* Checks one sample line "name{a="x",b="y"} value"; returns the position after it. */
static const char *check_sample(const char *p)
{
	if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
		abort();
	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			if (!(isalpha((unsigned char)*p) || *p == '_'))
				abort();
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			if (p[0] != '=' || p[1] != '"')
				abort();
			p += 2;
			while (*p != '"') {
				if (!*p || *p == '\n')
					abort();
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
						abort();
					p++;
				}
				p++;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				abort();
		}
		p++;
	}
	if (*p != ' ')
		abort();
	while (*p && *p != '\n')
		p++;
	if (*p != '\n')
		abort();
	return p + 1;
}

static void check_prometheus(const char *text)
{
	const char *p = text;

	check_utf8(text);
	while (*p) {
		if (*p == '#') {
			p = strchr(p, '\n');
			if (!p)
				abort();
			p++;
		} else {
			p = check_sample(p);
		}
	}
}

static void check_json(char *json)
{
	cJSON *root;

	if (!json)
		return; /* out of memory is allowed */
	if (strchr(json, '\n'))
		abort();
	root = cJSON_Parse(json);
	if (!root)
		abort();
	cJSON_Delete(root);
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics *m = metrics_new(NULL);
	struct metric *c = metrics_counter(m, "fuzz.count", "{x}", "d", true);
	struct metric *h = metrics_histogram(m, "fuzz.size", "By", "d", bounds, 3);
	struct bt_span *s = bt_span_new("chat", BT_KIND_CLIENT);
	char *in = malloc(size + 2), *text;
	struct bt_attrs a = {0};
	size_t off = 0, len, n;

	if (!m || !c || !h || !s || !in)
		abort();
	memcpy(in, data, size);
	in[size] = in[size + 1] = '\0';
	bt_attrs_set_str(&s->attrs, ATTR_GEN_AI_OPERATION_NAME, "chat");
	while (off < size) {
		const char *key = in + off, *val;

		off += strlen(key) + 1;
		val = off <= size ? in + off : "";
		off += strlen(val) + 1;
		if (!*key)
			continue;
		bt_attrs_set_str(&a, key, val);
		bt_attrs_set_str(&s->attrs, key, val);
		metric_add(c, NULL, &a, 1);
		metric_record(h, NULL, &a, (double)strlen(val));
	}
	text = prom_text_render(m, &len);
	if (text) {
		if (strlen(text) != len)
			abort();
		check_prometheus(text);
		free(text);
	}
	check_json(otlp_metrics_encode(m, false, &n));
	check_json(otlp_metrics_encode(m, true, &n));
	check_json(inference_logs_encode(&s, 1, true, &n));
	bt_attrs_clear(&a);
	bt_span_free(s);
	metrics_free(m);
	free(in);
	return 0;
}
