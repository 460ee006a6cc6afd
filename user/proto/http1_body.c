// SPDX-License-Identifier: MIT
/*
 * HTTP/1.x message bodies; see http1_body.h for what it owns.
 *
 * A content-coded body keeps its coded bytes (up to max_body) and a timeline in coded offsets
 * beside the decoded ones, so that when decoding fails part-way the message can still carry
 * what was on the wire, with arrival times that match it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http1_body.h"

/*
 * Grows geometrically from 16 but never past @max once @max is enough, so capped buffers stay
 * at their cap instead of overshooting it.
 */
int h1_grow(void **buf, size_t *cap, size_t need, size_t elem, size_t max)
{
	size_t n = *cap ? *cap : 16;
	void *nb;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (n > max && max >= need)
		n = max;
	nb = realloc(*buf, n * elem);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = n;
	return 0;
}

/* Appends {@off, @ts} to a body timeline unless @off is past the @stored bytes. */
static void ts_append(struct http_body_ts **v, size_t *n, size_t *cap, uint64_t off, size_t stored,
		      uint64_t ts)
{
	if (off > stored)
		return;
	if (*n && (*v)[*n - 1].off == off) {
		/* the previous piece decoded to nothing: the bytes at this offset came now */
		(*v)[*n - 1].ts_ns = ts;
		return;
	}
	if ((*n && (*v)[*n - 1].ts_ns == ts) ||
	    h1_grow((void **)v, cap, *n + 1, sizeof(**v), SIZE_MAX))
		return;
	(*v)[(*n)++] = (struct http_body_ts){(size_t)off, ts};
}

static void add_body_ts(struct h1_body *b, struct http_msg *m, uint64_t ts)
{
	ts_append(&m->body_ts, &m->n_body_ts, &b->ts_cap, b->decoded, m->body_len, ts);
	if (b->dec)
		ts_append(&b->raw_ts, &b->n_raw_ts, &b->raw_ts_cap, b->raw_total, b->raw_len, ts);
}

/* Decoding failed (@err): the body becomes the coded bytes as they arrived. */
static void decode_failed(struct h1_body *b, struct http_msg *m, const char *err)
{
	if (!m->error)
		m->error = err;
	free(m->body);
	m->body = b->raw;
	m->body_len = b->raw_len;
	b->body_cap = b->raw_cap;
	b->raw = NULL;
	b->raw_len = b->raw_cap = 0;
	/* a decoded-size overflow no longer applies; gaps and the raw limit do */
	m->truncated = m->wire_body_len > m->body_len;
	free(m->body_ts);
	m->body_ts = b->raw_ts;
	m->n_body_ts = b->n_raw_ts;
	b->ts_cap = b->raw_ts_cap;
	b->raw_ts = NULL;
	b->n_raw_ts = b->raw_ts_cap = 0;
	body_decoder_free(b->dec);
	b->dec = NULL;
	b->decoded = b->raw_total;
	b->dropped = 0;
}

void h1_body_begin(struct h1_body *b, struct http_msg *m, const char *codings)
{
	b->dec = NULL;
	b->frozen = false;
	b->body_cap = b->raw_len = b->raw_cap = b->ts_cap = b->dropped = 0;
	b->n_raw_ts = b->raw_ts_cap = 0;
	b->decoded = b->raw_total = 0;
	if (!codings)
		return;
	b->dec = body_decoder_new(codings);
	if (!b->dec)
		m->error = errno == EINVAL ? "unsupported content-encoding" : "out of memory";
}

void h1_body_data(struct h1_body *b, struct http_msg *m, const uint8_t *p, size_t n, uint64_t ts,
		  size_t max)
{
	size_t take;
	int err;

	if (!m->first_body_ns)
		m->first_body_ns = ts;
	m->wire_body_len += n;
	m->end_ns = ts;
	if (b->frozen)
		return;
	add_body_ts(b, m, ts);
	b->raw_total += n;
	if (!b->dec) {
		take = m->body_len < max ? max - m->body_len : 0;
		take = n < take ? n : take;
		if (take && h1_grow((void **)&m->body, &b->body_cap, m->body_len + take, 1, max))
			goto nomem;
		if (take)
			memcpy(m->body + m->body_len, p, take);
		m->body_len += take;
		if (take < n)
			m->truncated = true;
		b->decoded += n;
		return;
	}
	take = b->raw_len < max ? max - b->raw_len : 0;
	take = n < take ? n : take;
	if (take && h1_grow((void **)&b->raw, &b->raw_cap, b->raw_len + take, 1, max))
		goto nomem;
	if (take)
		memcpy(b->raw + b->raw_len, p, take);
	b->raw_len += take;
	err = body_decoder_feed(b->dec, p, n, &m->body, &m->body_len, max, &b->dropped);
	b->decoded = m->body_len + b->dropped;
	if (err == -E2BIG)
		m->truncated = true;
	else if (err == -EBADMSG)
		decode_failed(b, m, "corrupt content-encoding");
	else if (err)
		goto nomem;
	return;
nomem:
	m->error = "out of memory";
	m->truncated = true;
	b->frozen = true;
}

/* Coded bodies cannot be decoded past a hole, so decoding stops at the first one. */
void h1_body_gap(struct h1_body *b, struct http_msg *m, uint64_t lost, uint64_t ts)
{
	if (!m->first_body_ns)
		m->first_body_ns = ts;
	m->lost_bytes += lost;
	m->wire_body_len += lost;
	m->truncated = true;
	m->end_ns = ts;
	if (b->dec)
		b->frozen = true;
}

void h1_body_end(struct h1_body *b, struct http_msg *m, bool complete)
{
	if (b->dec) {
		if (complete && !b->frozen && body_decoder_finish(b->dec) < 0)
			decode_failed(b, m, "truncated content-encoding stream");
		body_decoder_free(b->dec);
		b->dec = NULL;
	}
	free(b->raw);
	free(b->raw_ts);
	b->raw = NULL;
	b->raw_ts = NULL;
	b->raw_len = b->raw_cap = b->body_cap = b->ts_cap = b->dropped = 0;
	b->n_raw_ts = b->raw_ts_cap = 0;
	b->frozen = false;
}

void h1_body_free(struct h1_body *b)
{
	body_decoder_free(b->dec);
	free(b->raw);
	free(b->raw_ts);
	*b = (struct h1_body){0};
}
