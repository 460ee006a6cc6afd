// SPDX-License-Identifier: MIT
/*
 * HTTP message bodies; see body.h for what it owns.
 *
 * Decoding: each coding in a Content-Encoding list is one zlib inflate stage; stage k's output
 * is stage k+1's input and the last stage appends to the caller's buffer, so memory stays
 * bounded by one scratch buffer per stage.
 *
 * Storing: a content-coded body keeps its coded bytes (up to max) and a timeline in coded
 * offsets beside the decoded ones, so that when decoding fails part-way the message can carry
 * what was on the wire, with arrival times that match it.
 */
#define ZLIB_CONST
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "proto/body.h"
#include "util/grow.h"

#define BODY_MAX_STAGES 4
#define BODY_SCRATCH (64 * 1024)

enum body_coding { CODING_GZIP, CODING_DEFLATE };

struct body_stage {
	enum body_coding coding;
	z_stream zs;
	uint8_t *scratch;
	bool inited;   /* inflateInit2() done */
	bool ended;    /* the current stream reached its end */
	bool trailing; /* bytes after the end are being ignored */
	bool held;     /* deflate: first byte kept until the second tells zlib from raw */
	uint8_t hold;
};

struct body_decoder {
	struct body_stage st[BODY_MAX_STAGES];
	int n; /* stages, in decoding order; 0 = identity */
	bool fed;
	bool failed;
	struct body_buf *out; /* the current body_decoder_feed() call's output */
	bool over;
};

static int stage_feed(struct body_decoder *d, int i, const uint8_t *in, size_t len);

/* Appends what the limit allows of @p to @b and counts the rest. Returns 0, -E2BIG, -ENOMEM. */
static int buf_append(struct body_buf *b, const uint8_t *p, size_t n)
{
	size_t room = b->len < b->max ? b->max - b->len : 0;
	size_t take = n < room ? n : room;

	if (take) {
		if (grow(&b->data, &b->cap, b->len + take, 1))
			return -ENOMEM;
		memcpy(b->data + b->len, p, take);
		b->len += take;
	}
	if (n > take) {
		b->dropped += n - take;
		return -E2BIG;
	}
	return 0;
}

static int sink(struct body_decoder *d, const uint8_t *p, size_t n)
{
	int err = buf_append(d->out, p, n);

	if (err == -E2BIG) {
		d->over = true;
		err = 0;
	}
	return err;
}

static int next_stage(struct body_decoder *d, int i, const uint8_t *p, size_t n)
{
	if (i + 1 == d->n)
		return sink(d, p, n);
	return stage_feed(d, i + 1, p, n);
}

static int stage_init(struct body_stage *s, int wbits)
{
	memset(&s->zs, 0, sizeof(s->zs));
	if (inflateInit2(&s->zs, wbits) != Z_OK)
		return -ENOMEM;
	s->inited = true;
	return 0;
}

/* Runs @in through an initialised inflate stage, passing every output block on. */
static int inflate_buf(struct body_decoder *d, int i, const uint8_t *in, size_t len)
{
	struct body_stage *s = &d->st[i];
	size_t given, produced, used;
	int zr, err;

	while (len > 0 && !s->trailing) {
		if (s->ended) {
			/*
			 * gzip allows members back to back (RFC 1952 §2.2); other bytes after the
			 * end are ignored, as gzip(1) and browsers do.
			 */
			if (s->coding != CODING_GZIP || in[0] != 0x1f) {
				s->trailing = true;
				break;
			}
			if (inflateReset(&s->zs) != Z_OK)
				return -EBADMSG;
			s->ended = false;
		}
		s->zs.next_in = in;
		s->zs.avail_in = len > UINT_MAX ? UINT_MAX : (uInt)len;
		given = s->zs.avail_in;
		do {
			s->zs.next_out = s->scratch;
			s->zs.avail_out = BODY_SCRATCH;
			zr = inflate(&s->zs, Z_NO_FLUSH);
			if (zr == Z_MEM_ERROR)
				return -ENOMEM;
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
				return -EBADMSG;
			produced = BODY_SCRATCH - s->zs.avail_out;
			if (produced) {
				err = next_stage(d, i, s->scratch, produced);
				if (err)
					return err;
			}
			if (zr == Z_STREAM_END) {
				s->ended = true;
				break;
			}
			if (zr == Z_BUF_ERROR && !produced)
				break;
		} while (s->zs.avail_in > 0 || s->zs.avail_out == 0);
		used = given - s->zs.avail_in;
		if (!used && !s->ended)
			break; /* zlib wants nothing more from this input: cannot happen, but never
				  spin */
		in += used;
		len -= used;
	}
	return 0;
}

/* RFC 1950 §2.2: CM = 8, window ≤ 32 KiB, and the 16-bit header is a multiple of 31. */
static bool is_zlib_header(uint8_t cmf, uint8_t flg)
{
	return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

static int stage_feed(struct body_decoder *d, int i, const uint8_t *in, size_t len)
{
	struct body_stage *s = &d->st[i];
	int err;

	if (!len)
		return 0;
	if (s->inited)
		return inflate_buf(d, i, in, len);
	if (s->coding == CODING_GZIP) {
		err = stage_init(s, 16 + MAX_WBITS);
		return err ? err : inflate_buf(d, i, in, len);
	}
	/* "deflate" is zlib-wrapped per RFC 9110 §8.4.1.2, yet some servers send raw deflate */
	if (!s->held) {
		s->hold = in[0];
		s->held = true;
		if (--len == 0)
			return 0;
		in++;
	}
	err = stage_init(s, is_zlib_header(s->hold, in[0]) ? MAX_WBITS : -MAX_WBITS);
	if (!err)
		err = inflate_buf(d, i, &s->hold, 1);
	return err ? err : inflate_buf(d, i, in, len);
}

int body_decoder_feed(struct body_decoder *d, const uint8_t *in, size_t len, struct body_buf *out)
{
	int err;

	if (d->failed)
		return -EBADMSG;
	if (!len)
		return 0;
	d->fed = true;
	d->out = out;
	d->over = false;
	err = d->n ? stage_feed(d, 0, in, len) : sink(d, in, len);
	if (err == -EBADMSG)
		d->failed = true;
	if (!err && d->over)
		err = -E2BIG;
	return err;
}

int body_decoder_finish(struct body_decoder *d)
{
	int i;

	if (d->failed)
		return -EBADMSG;
	for (i = 0; i < d->n; i++) {
		const struct body_stage *s = &d->st[i];

		/* a stage that never saw a byte decodes an empty body, which is fine */
		if ((s->inited || s->held) && !s->ended)
			return -EBADMSG;
	}
	return 0;
}

/* Parses one list element of @ce at *p (advancing it); returns 1 with *coding set, 0 for an
 * identity or empty element, -EINVAL for an unsupported coding. */
static int next_coding(const char **p, enum body_coding *coding)
{
	static const struct {
		const char *name;
		int coding; /* -1: identity */
	} known[] = {
	    {"gzip", CODING_GZIP},
	    {"x-gzip", CODING_GZIP},
	    {"deflate", CODING_DEFLATE},
	    {"identity", -1},
	};
	const char *s = *p, *e;
	size_t n, k;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s;
	while (*e && *e != ',')
		e++;
	*p = *e ? e + 1 : e;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - s);
	if (!n)
		return 0;
	for (k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		if (strlen(known[k].name) == n && strncasecmp(s, known[k].name, n) == 0) {
			if (known[k].coding < 0)
				return 0;
			*coding = (enum body_coding)known[k].coding;
			return 1;
		}
	}
	return -EINVAL;
}

struct body_decoder *body_decoder_new(const char *content_encoding)
{
	enum body_coding list[BODY_MAX_STAGES];
	const char *p = content_encoding ? content_encoding : "";
	struct body_decoder *d = NULL;
	enum body_coding c;
	int n = 0, r, i, err = 0;

	while (*p) {
		r = next_coding(&p, &c);
		if (r < 0 || (r > 0 && n == BODY_MAX_STAGES)) {
			err = -EINVAL;
			goto cleanup;
		}
		if (r > 0)
			list[n++] = c;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* codings are listed in the order they were applied, so they are undone last first */
	d->n = n;
	for (i = 0; i < n; i++) {
		d->st[i].coding = list[n - 1 - i];
		d->st[i].scratch = malloc(BODY_SCRATCH);
		if (!d->st[i].scratch) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
cleanup:
	if (err) {
		body_decoder_free(d);
		errno = -err;
		return NULL;
	}
	return d;
}

void body_decoder_free(struct body_decoder *d)
{
	int i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		if (d->st[i].inited)
			inflateEnd(&d->st[i].zs);
		free(d->st[i].scratch);
	}
	free(d);
}

/* ---- the body of one message ---- */

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
	if ((*n && (*v)[*n - 1].ts_ns == ts) || *n == BODY_MAX_TS ||
	    grow(v, cap, *n + 1, sizeof(**v)))
		return;
	(*v)[(*n)++] = (struct http_body_ts){(size_t)off, ts};
}

/* Decoding failed (@err): the body becomes the coded bytes as they arrived. */
static void decode_failed(struct body_store *b, struct http_msg *m, const char *err)
{
	if (!m->error)
		m->error = err;
	free(m->body);
	m->body = b->raw;
	m->body_len = b->raw_len;
	b->body_cap = b->raw_cap;
	b->raw = NULL;
	b->raw_len = b->raw_cap = 0;
	/* a decoded-size overflow no longer applies; gaps and the limit on raw bytes do */
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

static void store_nomem(struct body_store *b, struct http_msg *m)
{
	if (!m->error)
		m->error = BODY_ERR_NOMEM;
	m->truncated = true;
	b->frozen = true;
}

void body_store_begin(struct body_store *b, struct http_msg *m, const char *codings, size_t max)
{
	body_store_free(b);
	b->max = max;
	b->started = true;
	if (!codings)
		return;
	b->dec = body_decoder_new(codings);
	if (b->dec)
		return;
	if (errno == ENOMEM)
		store_nomem(b, m);
	else if (!m->error)
		m->error = BODY_ERR_UNSUPPORTED;
}

/* Appends @p to the body of @m (decoding it unless it is kept as received). */
static int store_append(struct body_store *b, struct http_msg *m, const uint8_t *p, size_t n)
{
	struct body_buf o = {m->body, m->body_len, b->body_cap, b->max, b->dropped};
	int err;

	err = b->dec ? body_decoder_feed(b->dec, p, n, &o) : buf_append(&o, p, n);
	m->body = o.data;
	m->body_len = o.len;
	b->body_cap = o.cap;
	b->dropped = o.dropped;
	b->decoded = m->body_len + b->dropped;
	return err;
}

void body_store_data(struct body_store *b, struct http_msg *m, const uint8_t *p, size_t n,
		     uint64_t ts)
{
	struct body_buf raw;
	int err;

	if (!m->first_body_ns)
		m->first_body_ns = ts;
	m->wire_body_len += n;
	m->end_ns = ts;
	if (b->frozen || !n)
		return;
	ts_append(&m->body_ts, &m->n_body_ts, &b->ts_cap, b->decoded, m->body_len, ts);
	if (b->dec) {
		ts_append(&b->raw_ts, &b->n_raw_ts, &b->raw_ts_cap, b->raw_total, b->raw_len, ts);
		raw = (struct body_buf){b->raw, b->raw_len, b->raw_cap, b->max, 0};
		err = buf_append(&raw, p, n);
		b->raw = raw.data;
		b->raw_len = raw.len;
		b->raw_cap = raw.cap;
		if (err == -ENOMEM) {
			store_nomem(b, m);
			return;
		}
	}
	b->raw_total += n;
	err = store_append(b, m, p, n);
	if (err == -E2BIG)
		m->truncated = true;
	else if (err == -EBADMSG)
		decode_failed(b, m, BODY_ERR_CORRUPT);
	else if (err)
		store_nomem(b, m);
}

/* @n body bytes of @m went by at @ts without their contents */
static void count_unseen(struct http_msg *m, uint64_t n, uint64_t ts)
{
	if (!m->first_body_ns)
		m->first_body_ns = ts;
	m->wire_body_len += n;
	m->end_ns = ts;
}

void body_store_omit(struct body_store *b, struct http_msg *m, uint64_t n, uint64_t ts)
{
	count_unseen(m, n, ts);
	m->omitted_bytes += n;
	b->frozen = true;
}

/* Coded bodies cannot be decoded past a hole, so storing stops at the first one. */
void body_store_gap(struct body_store *b, struct http_msg *m, uint64_t lost, uint64_t ts)
{
	count_unseen(m, lost, ts);
	m->lost_bytes += lost;
	m->truncated = true;
	if (b->dec)
		b->frozen = true;
}

void body_store_end(struct body_store *b, struct http_msg *m, bool complete)
{
	if (b->dec && complete && !b->frozen && body_decoder_finish(b->dec) < 0)
		decode_failed(b, m, BODY_ERR_TRUNCATED);
	body_store_free(b);
}

void body_store_free(struct body_store *b)
{
	body_decoder_free(b->dec);
	free(b->raw);
	free(b->raw_ts);
	*b = (struct body_store){0};
}
