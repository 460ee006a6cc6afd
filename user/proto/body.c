// SPDX-License-Identifier: MIT
/*
 * Streaming content decoding for HTTP bodies (see body.h). Each coding in a Content-Encoding
 * list is one zlib inflate stage; stage k's output is stage k+1's input and the last stage
 * appends to the caller's buffer, so memory stays bounded by one scratch buffer per stage.
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
	/* the current body_decoder_feed() call's output */
	uint8_t **out;
	size_t *out_len;
	size_t max_out;
	size_t *dropped;
	bool over;
};

static int stage_feed(struct body_decoder *d, int i, const uint8_t *in, size_t len);

static int sink(struct body_decoder *d, const uint8_t *p, size_t n)
{
	size_t room = *d->out_len < d->max_out ? d->max_out - *d->out_len : 0;
	size_t take = n < room ? n : room;
	uint8_t *nb;

	if (take) {
		nb = realloc(*d->out, *d->out_len + take);
		if (!nb)
			return -ENOMEM;
		memcpy(nb + *d->out_len, p, take);
		*d->out = nb;
		*d->out_len += take;
	}
	if (n > take) {
		*d->dropped += n - take;
		d->over = true;
	}
	return 0;
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

int body_decoder_feed(struct body_decoder *d, const uint8_t *in, size_t len, uint8_t **out,
		      size_t *out_len, size_t max_out, size_t *dropped)
{
	int err;

	if (d->failed)
		return -EBADMSG;
	if (!len)
		return 0;
	d->fed = true;
	d->out = out;
	d->out_len = out_len;
	d->max_out = max_out;
	d->dropped = dropped;
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
