// SPDX-License-Identifier: MIT
/*
 * HTTP/1.x message syntax; see http1_msg.h for what it owns. Everything here works on bytes
 * http1.c has already collected, so it is the same whatever chunking the capture delivered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_methods.h"
#include "proto/http1_msg.h"
#include "util/grow.h"

#define H1_MAX_METHOD 20

static const char *const known_methods[] = {BT_HTTP_METHODS(BT_HTTP_METHOD_NAME)};
_Static_assert(sizeof(known_methods) / sizeof(known_methods[0]) == BT_HTTP_METHOD_COUNT,
	       "BT_HTTP_METHOD_COUNT matches BT_HTTP_METHODS");

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_tchar(int ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch))
		return true;
	return ch > 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* request-target bytes: visible ASCII or obs-text, no space or control (RFC 9112 §3.2) */
static bool is_target_char(int ch)
{
	return (ch > 0x20 && ch != 0x7f) || ch < 0;
}

static bool is_version(const char *s, size_t n)
{
	return n == 8 && memcmp(s, "HTTP/1.", 7) == 0 && is_digit(s[7]);
}

/* Parses a whole start line (line ending removed); returns its kind, KIND_NONE if malformed. */
enum h1_kind h1_parse_start(const char *l, size_t n, struct h1_start *s)
{
	size_t i, j;

	memset(s, 0, sizeof(*s));
	if (n >= 7 && memcmp(l, "HTTP/1.", 7) == 0) {
		if (n < 12 || !is_digit(l[7]) || l[8] != ' ' || l[9] < '1' || l[9] > '5' ||
		    !is_digit(l[10]) || !is_digit(l[11]) || (n > 12 && l[12] != ' '))
			return KIND_NONE;
		for (i = 13; i < n; i++)
			if ((l[i] >= 0 && l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
				return KIND_NONE;
		s->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
		return KIND_RESP;
	}
	for (i = 0; i < n && i <= H1_MAX_METHOD && is_tchar(l[i]); i++)
		;
	if (i == 0 || i > H1_MAX_METHOD || i >= n || l[i] != ' ')
		return KIND_NONE;
	for (j = i + 1; j < n && is_target_char(l[j]); j++)
		;
	if (j == i + 1 || j >= n || l[j] != ' ' || !is_version(l + j + 1, n - j - 1))
		return KIND_NONE;
	s->method = l;
	s->method_len = i;
	s->target = l + i + 1;
	s->target_len = j - i - 1;
	return KIND_REQ;
}

/* Whether the first bytes of an unfinished line can still become a start line. */
bool h1_start_prefix_ok(const char *l, size_t n)
{
	static const char resp[] = "HTTP/1.# ###";
	size_t i, k = n < sizeof(resp) - 1 ? n : sizeof(resp) - 1;

	for (i = 0; i < k; i++)
		if (resp[i] == '#' ? !is_digit(l[i]) : l[i] != resp[i])
			break;
	if (i == k)
		return true;
	for (i = 0; i < n && i <= H1_MAX_METHOD && is_tchar(l[i]); i++)
		;
	if (i > H1_MAX_METHOD)
		return false;
	if (i == n)
		return true;
	if (i == 0 || l[i] != ' ')
		return false;
	return i + 1 == n || is_target_char(l[i + 1]);
}

/*
 * Looks for a start line that begins after junk inside line @l (a body that ran on without a
 * newline, or garbage): a status line anywhere, or "METHOD target HTTP/1.x" ending the line
 * with an upper-case method. Returns its offset and kind, or -1.
 */
ssize_t h1_find_start(const char *l, size_t n, bool req, bool resp, enum h1_kind *kind)
{
	const char *h;
	size_t off, t, m, k, best;
	struct h1_start s;

	for (off = 0; resp && off < n; off = (size_t)(h - l) + 1) {
		h = memmem(l + off, n - off, "HTTP/1.", 7);
		if (!h)
			break;
		if (h1_parse_start(h, n - (size_t)(h - l), &s) == KIND_RESP) {
			*kind = KIND_RESP;
			return h - l;
		}
	}
	if (!req || n < 12 || !is_version(l + n - 8, 8) || l[n - 9] != ' ')
		return -1;
	t = n - 9;
	while (t > 0 && is_target_char(l[t - 1]))
		t--;
	if (t == n - 9 || t < 2 || l[t - 1] != ' ')
		return -1;
	m = t - 1;
	for (off = m; off > 0 && m - off < H1_MAX_METHOD; off--)
		if (!((l[off - 1] >= 'A' && l[off - 1] <= 'Z') || l[off - 1] == '-' ||
		      l[off - 1] == '_'))
			break;
	if (off == m)
		return -1;
	/* "HELLOGET": prefer a standard method that ends the run */
	best = off;
	for (k = 0; k < sizeof(known_methods) / sizeof(known_methods[0]); k++) {
		size_t ml = strlen(known_methods[k]);

		if (ml <= m - off && memcmp(l + m - ml, known_methods[k], ml) == 0 &&
		    (best == off || m - ml < best))
			best = m - ml;
	}
	if (h1_parse_start(l + best, n - best, &s) != KIND_REQ)
		return -1;
	*kind = KIND_REQ;
	return (ssize_t)best;
}

/* An unfinished line: a status line prefix, or a standard method and a sane target. */
bool h1_partial_start_ok(const char *l, size_t n)
{
	size_t k, i;

	if (n >= 9 && memcmp(l, "HTTP/1.", 7) == 0)
		return h1_start_prefix_ok(l, n);
	for (k = 0; k < sizeof(known_methods) / sizeof(known_methods[0]); k++) {
		size_t ml = strlen(known_methods[k]);

		if (n <= ml || memcmp(l, known_methods[k], ml) != 0 || l[ml] != ' ')
			continue;
		for (i = ml + 1; i < n; i++)
			if (!is_target_char(l[i]) && l[i] != ' ')
				return false;
		return true;
	}
	return false;
}

/* TLS or the HTTP/2 preface where the connection's first message should be. */
bool h1_not_http1(const uint8_t *b, size_t n)
{
	static const char preface[] = "PRI * HTTP/2.0";

	/* decided on fixed positions only, so the answer never depends on how bytes were cut */
	if (n >= 3 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04)
		return true;
	return n >= sizeof(preface) - 1 && memcmp(b, preface, sizeof(preface) - 1) == 0;
}

/* ---- field lines ---- */

static char *dup_lower(const char *s, size_t n)
{
	char *r = strndup(s, n);
	size_t i;

	for (i = 0; r && i < n; i++)
		if (r[i] >= 'A' && r[i] <= 'Z')
			r[i] += 'a' - 'A';
	return r;
}

/* Copies a field value without surrounding whitespace; bare CR becomes SP (RFC 9112 §2.2). */
static char *dup_value(const char *s, size_t n)
{
	char *r;
	size_t i;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	r = strndup(s, n);
	for (i = 0; r && i < n; i++)
		if (r[i] == '\r')
			r[i] = ' ';
	return r;
}

/*
 * The capacity grow() has given m->headers once it holds @n fields: only add_header() grows
 * the array, from empty, so the count tells it (grow.h: 16, then doubling).
 */
static size_t headers_cap(size_t n)
{
	size_t cap = 16;

	if (!n)
		return 0;
	while (cap < n)
		cap *= 2;
	return cap;
}

static int add_header(struct http_msg *m, char *name, char *value)
{
	size_t n = m->n_headers, cap = headers_cap(n);

	if (!name || !value || grow(&m->headers, &cap, n + 1, sizeof(*m->headers)))
		goto nomem;
	m->headers[n] = (struct http_header){name, value};
	m->n_headers = n + 1;
	return 0;
nomem:
	free(name);
	free(value);
	return -ENOMEM;
}

/* Parses field lines (up to and including the empty line) into @m; returns an error or NULL. */
const char *h1_parse_fields(struct http_msg *m, const char *b, size_t len)
{
	const char *p = b, *end = b + len, *nl, *e, *colon, *q;
	struct http_header *h;
	char *v;
	size_t ol;

	if (memchr(b, '\0', len))
		return "NUL in header section";
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (e == p)
			break;
		if (*p == ' ' || *p == '\t') {
			/* obs-fold (RFC 9112 §5.2): the line continues the previous value */
			if (!m->n_headers)
				return "obs-fold without a field";
			h = &m->headers[m->n_headers - 1];
			v = dup_value(p, (size_t)(e - p));
			ol = strlen(h->value);
			if (v && *v) {
				char *nv = realloc(h->value, ol + strlen(v) + 2);

				if (!nv) {
					free(v);
					return "out of memory";
				}
				if (ol)
					nv[ol++] = ' ';
				strcpy(nv + ol, v);
				h->value = nv;
			}
			free(v);
			if (!v)
				return "out of memory";
		} else {
			colon = memchr(p, ':', (size_t)(e - p));
			if (!colon || colon == p)
				return "malformed header field";
			for (q = p; q < colon; q++)
				if (!is_tchar(*q))
					return "malformed header field";
			if (add_header(m, dup_lower(p, (size_t)(colon - p)),
				       dup_value(colon + 1, (size_t)(e - colon - 1))))
				return "out of memory";
		}
		p = nl + 1;
	}
	return NULL;
}

/* ---- body framing ---- */

/* Next element of a comma-separated list, trimmed (maybe empty), NULL at the end. */
static const char *list_next(const char **p, size_t *n)
{
	const char *s = *p, *e;

	if (!*s)
		return NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	e = strchr(s, ',');
	if (!e)
		e = s + strlen(s);
	*p = *e ? e + 1 : e;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*n = (size_t)(e - s);
	return s;
}

static bool tok_is(const char *t, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(t, word, n) == 0;
}

/* Appends list element @t to the coding list @*s (malloc'd); identity adds nothing. */
static int codings_add(char **s, const char *t, size_t n)
{
	size_t ol = *s ? strlen(*s) : 0;
	char *ns;

	if (!n || tok_is(t, n, "identity"))
		return 0;
	ns = realloc(*s, ol + n + 3);
	if (!ns)
		return -ENOMEM;
	if (ol) {
		memcpy(ns + ol, ", ", 2);
		ol += 2;
	}
	memcpy(ns + ol, t, n);
	ns[ol + n] = '\0';
	*s = ns;
	return 0;
}

static const char *parse_content_length(const char *value, bool *has_cl, uint64_t *cl)
{
	const char *p = value, *t;
	uint64_t v;
	size_t n, k;
	bool any = false;

	/* a list of identical values is tolerated (RFC 9112 §6.3 item 5) */
	while ((t = list_next(&p, &n))) {
		if (!n || n > 19)
			return "invalid content-length";
		for (v = 0, k = 0; k < n; k++) {
			if (!is_digit(t[k]))
				return "invalid content-length";
			v = v * 10 + (uint64_t)(t[k] - '0');
		}
		if (*has_cl && v != *cl)
			return "conflicting content-length";
		*cl = v;
		*has_cl = any = true;
	}
	return any ? NULL : "invalid content-length";
}

/*
 * Message body length per RFC 9112 §6.3 (1xx, 101 and CONNECT tunnels are decided by the
 * caller), and the codings to undo in *codings (malloc'd, NULL for none): the content codings,
 * then any transfer coding besides chunked, in the order they were applied.
 * Returns an error or NULL.
 */
const char *h1_framing(const struct http_msg *m, bool is_req, const char *req_method,
		       enum h1_framing *fr, uint64_t *len, char **codings)
{
	bool has_te = false, has_cl = false, chunked_last = false;
	int n_chunked = 0;
	uint64_t cl = 0;
	const char *err = NULL, *p, *t;
	char *te = NULL;
	size_t i, n;

	*codings = NULL;
	*fr = FRAME_NONE;
	if (!is_req && ((req_method && strcmp(req_method, "HEAD") == 0) || m->status == 204 ||
			m->status == 304))
		return NULL;
	for (i = 0; i < m->n_headers && !err; i++) {
		const struct http_header *h = &m->headers[i];

		if (strcmp(h->name, "content-length") == 0) {
			err = parse_content_length(h->value, &has_cl, &cl);
		} else if (strcmp(h->name, "transfer-encoding") == 0) {
			has_te = true;
			for (p = h->value; (t = list_next(&p, &n));) {
				const char *semi = memchr(t, ';', n);
				size_t tn = semi ? (size_t)(semi - t) : n;

				while (tn && (t[tn - 1] == ' ' || t[tn - 1] == '\t'))
					tn--;
				if (!tn)
					continue;
				chunked_last = tok_is(t, tn, "chunked");
				n_chunked += chunked_last;
				if (!chunked_last && codings_add(&te, t, tn))
					err = "out of memory";
			}
		} else if (strcmp(h->name, "content-encoding") == 0) {
			for (p = h->value; (t = list_next(&p, &n));)
				if (codings_add(codings, t, n))
					err = "out of memory";
		}
	}
	if (!err && te && codings_add(codings, te, strlen(te)))
		err = "out of memory";
	if (err)
		goto cleanup;
	if (has_te) {
		/* Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 item 3) */
		if (n_chunked > 1 || (is_req && !chunked_last))
			err = "invalid transfer-encoding";
		else
			*fr = chunked_last ? FRAME_CHUNKED : FRAME_CLOSE;
	} else if (has_cl) {
		*fr = FRAME_LEN;
		*len = cl;
	} else {
		*fr = is_req ? FRAME_NONE : FRAME_CLOSE;
	}
cleanup:
	free(te);
	if (err) {
		free(*codings);
		*codings = NULL;
	}
	return err;
}

/* Host header, else the authority of an absolute-form or authority-form target. */
void h1_set_authority(struct http_msg *m)
{
	const char *host = http_msg_header(m, "host"), *t = m->target, *e;

	if (host && *host) {
		m->authority = strdup(host);
		return;
	}
	if (!t)
		return;
	if (m->method && strcmp(m->method, "CONNECT") == 0) {
		m->authority = strdup(t);
		return;
	}
	e = strstr(t, "://");
	if (!e)
		return;
	t = e + 3;
	m->authority = strndup(t, strcspn(t, "/?#"));
}

static int hex_value(char ch)
{
	if (is_digit(ch))
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* RFC 9112 §7.1; a size that would not fit in 64 bits is as bad as a malformed one. */
int h1_parse_chunk_size(const char *l, size_t n, uint64_t *size)
{
	size_t i = 0;
	uint64_t v = 0;
	int h;

	if (n && l[n - 1] == '\r')
		n--;
	for (; i < n; i++) {
		h = hex_value(l[i]);
		if (h < 0)
			break;
		if (v >> 59)
			return -EINVAL;
		v = v << 4 | (uint64_t)h;
	}
	if (!i)
		return -EINVAL;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i < n && l[i] != ';')
		return -EINVAL;
	*size = v;
	return 0;
}
