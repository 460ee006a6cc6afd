/* SPDX-License-Identifier: MIT */
/*
 * Test support: reads the VCR YAML cassettes of tests/fixtures/bedrock-cassettes (the subset
 * of YAML they use: block scalars "|-" and "!!binary |", header lists of plain or single-quoted
 * scalars with folded continuation lines) and turns an interaction into a struct http_exchange as
 * the HTTP parsers would hand it over, with synthetic monotonic timestamps: the request starts at
 * t0, the response body's event-stream frame k arrives at CASSETTE_FRAME_NS(t0, k).
 * Header-only; every function is static.
 */
#ifndef BT_TEST_CASSETTE_H
#define BT_TEST_CASSETTE_H

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"

#include "base64.h"
#include "esframe.h"

#define CASSETTE_DIR "tests/fixtures/bedrock-cassettes/"
#define CASSETTE_MAX_IT 8
#define CASSETTE_MAX_HDR 48
#define CASSETTE_RESP_NS 200000000ull /* response headers 200 ms after the request */
#define CASSETTE_FRAME_NS(t0, k) ((t0) + CASSETTE_RESP_NS + 10000000ull * ((k) + 1))

struct cassette_hdr {
	char *name, *value;
};

struct cassette_msg {
	uint8_t *body;
	size_t body_len;
	bool binary; /* the body was a "!!binary" block: bytes, not text */
	struct cassette_hdr hdr[CASSETTE_MAX_HDR];
	size_t n_hdr;
};

struct cassette_it {
	char method[16];
	char *uri;
	int status;
	struct cassette_msg req, resp;
};

struct cassette {
	struct cassette_it it[CASSETTE_MAX_IT];
	size_t n;
};

static inline size_t cassette_indent(const char *l)
{
	size_t n = 0;

	while (l[n] == ' ')
		n++;
	return n;
}

static inline bool cassette_blank(const char *l)
{
	return l[cassette_indent(l)] == '\0';
}

/* Reads a block scalar whose key sits at @key_indent; returns the next unread line index. */
static inline size_t cassette_block(char **lines, size_t n, size_t i, size_t key_indent,
				    bool keep_nl, char **out, size_t *out_len)
{
	size_t ind = 0, len = 0, cap = 256, j, blank = 0;
	char *buf = malloc(cap);

	for (; i < n; i++) {
		const char *l = lines[i];
		size_t need;

		if (!cassette_blank(l) && cassette_indent(l) <= key_indent)
			break;
		if (cassette_blank(l)) {
			blank++;
			continue;
		}
		if (!ind)
			ind = cassette_indent(l);
		need = len + blank + strlen(l) + 2;
		if (need > cap) {
			while (cap < need)
				cap *= 2;
			buf = realloc(buf, cap);
		}
		if (len)
			buf[len++] = '\n';
		for (j = 0; j < blank; j++)
			buf[len++] = '\n';
		blank = 0;
		strcpy(buf + len, l + (cassette_indent(l) < ind ? cassette_indent(l) : ind));
		len += strlen(buf + len);
	}
	if (keep_nl && len)
		buf[len++] = '\n';
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return i;
}

/* A plain or single-quoted scalar ('' is a quote). Returns a new string. */
static inline char *cassette_scalar(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (*s != '\'') {
		strcpy(out, s);
		return out;
	}
	for (s++; *s; s++) {
		if (*s == '\'' && s[1] == '\'')
			*o++ = *s++;
		else if (*s == '\'')
			break;
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

static inline void cassette_add_hdr(struct cassette_msg *m, const char *name, char *value)
{
	if (m->n_hdr == CASSETTE_MAX_HDR) {
		free(value);
		return;
	}
	m->hdr[m->n_hdr].name = strdup(name);
	m->hdr[m->n_hdr].value = value;
	m->n_hdr++;
}

static inline void cassette_free(struct cassette *c)
{
	size_t i, j;

	for (i = 0; i < c->n; i++) {
		struct cassette_msg *m[2] = {&c->it[i].req, &c->it[i].resp};

		free(c->it[i].uri);
		for (j = 0; j < 2; j++) {
			size_t k;

			free(m[j]->body);
			for (k = 0; k < m[j]->n_hdr; k++) {
				free(m[j]->hdr[k].name);
				free(m[j]->hdr[k].value);
			}
		}
	}
	memset(c, 0, sizeof(*c));
}

/* Returns 0 or -errno. @path is a cassette file. */
static inline int cassette_load_path(const char *path, struct cassette *c)
{
	char *text = NULL, **lines = NULL, *p, hname[128] = "";
	size_t n = 0, cap = 0, i, len = 0;
	struct cassette_it *it = NULL;
	struct cassette_msg *msg = NULL;
	bool in_headers = false;
	FILE *f;

	memset(c, 0, sizeof(*c));
	f = fopen(path, "r");
	if (!f)
		return -errno;
	text = malloc(1 << 20);
	len = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[len] = '\0';
	for (p = text; p && *p;) {
		char *nl = strchr(p, '\n');

		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			lines = realloc(lines, cap * sizeof(*lines));
		}
		lines[n++] = p;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
	for (i = 0; i < n;) {
		const char *l = lines[i];
		size_t ind = cassette_indent(l);
		const char *t = l + ind;

		if (!strcmp(t, "- request:") && c->n < CASSETTE_MAX_IT) {
			it = &c->it[c->n++];
			msg = &it->req;
			in_headers = false;
		} else if (it && !strcmp(t, "response:") && ind == 2) {
			msg = &it->resp;
			in_headers = false;
		} else if (it && ind == 4 && !strncmp(t, "body:", 5)) {
			const char *v = t + 5;

			in_headers = false;
			while (*v == ' ')
				v++;
			if (!strcmp(v, "|-") || !strcmp(v, "|")) {
				char *b;

				i = cassette_block(lines, n, i + 1, 4, v[1] != '-', &b,
						   &msg->body_len);
				msg->body = (uint8_t *)b;
				continue;
			}
			if (*v && strcmp(v, "null") && strcmp(v, "''")) {
				msg->body = (uint8_t *)cassette_scalar(v);
				msg->body_len = strlen((char *)msg->body);
			}
		} else if (it && ind == 6 && !strncmp(t, "string:", 7)) {
			const char *v = t + 7;
			char *b;
			size_t blen;

			while (*v == ' ')
				v++;
			if (!strcmp(v, "!!binary |")) {
				i = cassette_block(lines, n, i + 1, 6, false, &b, &blen);
				msg->body = b64_decode(b, blen, &msg->body_len);
				msg->binary = true;
				free(b);
				continue;
			}
			if (!strcmp(v, "|-") || !strcmp(v, "|")) {
				i = cassette_block(lines, n, i + 1, 6, v[1] != '-', &b,
						   &msg->body_len);
				msg->body = (uint8_t *)b;
				continue;
			}
			if (*v && strcmp(v, "''")) {
				msg->body = (uint8_t *)cassette_scalar(v);
				msg->body_len = strlen((char *)msg->body);
			}
		} else if (it && ind == 4 && !strcmp(t, "headers:")) {
			in_headers = true;
		} else if (it && ind == 4 && !strncmp(t, "method: ", 8)) {
			snprintf(it->method, sizeof(it->method), "%s", t + 8);
			in_headers = false;
		} else if (it && ind == 4 && !strncmp(t, "uri: ", 5)) {
			it->uri = cassette_scalar(t + 5);
			in_headers = false;
		} else if (it && ind == 6 && !strncmp(t, "code: ", 6)) {
			it->status = atoi(t + 6);
		} else if (it && ind == 4) {
			in_headers = false;
		} else if (in_headers && ind == 6 && !strncmp(t, "- ", 2)) {
			/* a list item, folded with more-indented continuation lines */
			char *v = cassette_scalar(t + 2);

			while (i + 1 < n && cassette_indent(lines[i + 1]) > 6 &&
			       !cassette_blank(lines[i + 1])) {
				const char *cont;

				i++;
				cont = lines[i] + cassette_indent(lines[i]);

				v = realloc(v, strlen(v) + strlen(cont) + 2);
				strcat(v, " ");
				strcat(v, cont);
			}
			cassette_add_hdr(msg, hname, v);
		} else if (in_headers && ind == 6 && strchr(t, ':')) {
			const char *colon = strchr(t, ':');

			snprintf(hname, sizeof(hname), "%.*s", (int)(colon - t), t);
			if (colon[1] == ' ' && colon[2])
				cassette_add_hdr(msg, hname, cassette_scalar(colon + 2));
		}
		i++;
	}
	free(lines);
	free(text);
	return c->n ? 0 : -EINVAL;
}

/* Returns 0 or -errno. @name is a file in CASSETTE_DIR. */
static inline int cassette_load(const char *name, struct cassette *c)
{
	char path[512];

	snprintf(path, sizeof(path), CASSETTE_DIR "%s", name);
	return cassette_load_path(path, c);
}

static inline void cassette_msg_headers(struct http_msg *m, const struct cassette_msg *cm)
{
	size_t i, j;

	m->headers = calloc(cm->n_hdr + 1, sizeof(*m->headers));
	for (i = 0; i < cm->n_hdr; i++) {
		m->headers[i].name = strdup(cm->hdr[i].name);
		for (j = 0; m->headers[i].name[j]; j++)
			m->headers[i].name[j] = (char)tolower((unsigned char)m->headers[i].name[j]);
		m->headers[i].value = strdup(cm->hdr[i].value);
	}
	m->n_headers = cm->n_hdr;
}

/*
 * Fills @ex (zeroed first; free with http_exchange_clear) from @it. An event-stream body gets
 * one body_ts entry per frame; other bodies one entry at offset 0.
 */
static inline void cassette_exchange(const struct cassette_it *it, struct http_exchange *ex,
				     uint64_t t0)
{
	const char *u = it->uri, *path;
	struct http_msg *rq = &ex->req, *rs = &ex->resp;
	size_t off = 0, k = 0, cap = 8;

	memset(ex, 0, sizeof(*ex));
	ex->version = 11;
	ex->has_request = true;
	ex->has_response = it->status != 0;
	if (strstr(u, "://"))
		u = strstr(u, "://") + 3;
	path = strchr(u, '/');
	rq->authority = strndup(u, path ? (size_t)(path - u) : strlen(u));
	rq->target = strdup(path ? path : "/");
	rq->method = strdup(it->method);
	rq->scheme = strdup("https");
	cassette_msg_headers(rq, &it->req);
	if (it->req.body_len) {
		rq->body = malloc(it->req.body_len);
		memcpy(rq->body, it->req.body, it->req.body_len);
	}
	rq->body_len = rq->wire_body_len = it->req.body_len;
	rq->start_ns = t0;
	rq->end_ns = t0 + 1000000;
	rq->complete = true;
	if (!ex->has_response)
		return;
	rs->status = it->status;
	cassette_msg_headers(rs, &it->resp);
	if (it->resp.body_len) {
		rs->body = malloc(it->resp.body_len);
		memcpy(rs->body, it->resp.body, it->resp.body_len);
	}
	rs->body_len = rs->wire_body_len = it->resp.body_len;
	rs->start_ns = t0 + CASSETTE_RESP_NS;
	rs->first_body_ns = CASSETTE_FRAME_NS(t0, 0);
	rs->body_ts = calloc(cap, sizeof(*rs->body_ts));
	if (http_msg_header(rs, "content-type") &&
	    strstr(http_msg_header(rs, "content-type"), "eventstream")) {
		while (off + 12 <= rs->body_len) {
			uint32_t tl = esf_be32(rs->body + off);

			if (k == cap) {
				cap *= 2;
				rs->body_ts = realloc(rs->body_ts, cap * sizeof(*rs->body_ts));
			}
			rs->body_ts[k].off = off;
			rs->body_ts[k].ts_ns = CASSETTE_FRAME_NS(t0, k);
			k++;
			if (tl < 16)
				break;
			off += tl;
		}
	} else if (rs->body_len) {
		rs->body_ts[k].off = 0;
		rs->body_ts[k++].ts_ns = CASSETTE_FRAME_NS(t0, 0);
	}
	rs->n_body_ts = k;
	rs->end_ns = CASSETTE_FRAME_NS(t0, k);
	rs->complete = true;
}

#endif
