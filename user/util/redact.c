// SPDX-License-Identifier: MIT
/*
 * Credential redaction (see redact.h). The command line is read word by word: argv elements
 * are words, and so are the whitespace-separated parts of one argument (sh -c 'curl ...'),
 * so a script passed as one argument gets the same rules. A secret value is replaced, never
 * dropped: the reader sees that something was there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/grow.h"
#include "util/redact.h"

/* clang-format off */
/* Query parameters whose values are credentials (semconv url.full redaction, plus tokens). */
static const char *const secret_params[] = {
	"awsaccesskeyid", "signature", "sig", "x-goog-signature", "x-amz-signature",
	"x-amz-security-token", "x-amz-credential", "access_token", "id_token", "refresh_token",
	"api_key", "api-key", "apikey", "key", "token", "password", "passwd", "secret",
	"client_secret", "code",
};

/* Found anywhere in a name once lowercased with '-', '_' and '.' removed. */
static const char *const secret_words[] = {
	"password", "passwd", "passphrase", "secret", "credential", "apikey", "accesskey",
	"privatekey", "authorization", "cookie", "signature",
};

/* The last word of an option whose next argument is a credential (--hf-token X). */
static const char *const secret_opt_words[] = {
	"password", "passwd", "passphrase", "pass", "secret", "token", "apikey", "credential",
	"credentials", "bearer", "auth", "cookie",
};
/* clang-format on */

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define NAME_MAX_LEN 128 /* longer names are compared on their first 128 characters */

/* A growable string; on allocation failure it stays failed and yields NULL. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool fail;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->fail || !n)
		return;
	if (grow(&b->s, &b->cap, b->len + n + 1, 1)) {
		b->fail = true;
		return;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

/* Returns the built string (caller frees) or NULL on ENOMEM. */
static char *sb_take(struct sbuf *b)
{
	if (b->fail) {
		free(b->s);
		errno = ENOMEM;
		return NULL;
	}
	if (!b->s)
		return strdup("");
	return b->s;
}

static bool is_sep(char c)
{
	return c == '-' || c == '_' || c == '.';
}

/* True when some word of @name (split at '-', '_', '.') equals @word, case-insensitively. */
static bool has_word(const char *name, size_t len, const char *word, size_t *n_words)
{
	size_t i = 0, j, wl = strlen(word), count = 0;
	bool found = false;

	while (i < len) {
		while (i < len && is_sep(name[i]))
			i++;
		if (i == len)
			break;
		for (j = i; j < len && !is_sep(name[j]); j++)
			;
		count++;
		if (j - i == wl && !strncasecmp(name + i, word, wl))
			found = true;
		i = j;
	}
	if (n_words)
		*n_words = count;
	return found;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

bool redact_name_is_secret(const char *name, size_t len)
{
	char norm[NAME_MAX_LEN + 1];
	size_t i, n = 0, words;

	for (i = 0; i < N_ELEMS(secret_params); i++)
		if (strlen(secret_params[i]) == len && !strncasecmp(name, secret_params[i], len))
			return true;
	for (i = 0; i < len && n < NAME_MAX_LEN; i++)
		if (!is_sep(name[i]))
			norm[n++] = (char)tolower((unsigned char)name[i]);
	norm[n] = '\0';
	for (i = 0; i < N_ELEMS(secret_words); i++)
		if (strstr(norm, secret_words[i]))
			return true;
	if (ends_with(norm, n, "token") || ends_with(norm, n, "auth"))
		return true;
	if (has_word(name, len, "pass", &words) && (words > 1 || n == 4))
		return true;
	return has_word(name, len, "pwd", &words) && words > 1;
}

/* Appends query string @q (up to @end) with secret parameter values redacted. */
static void put_query(struct sbuf *b, const char *q, const char *end)
{
	const char *amp, *eq;

	while (q < end) {
		amp = memchr(q, '&', end - q);
		amp = amp ? amp : end;
		eq = memchr(q, '=', amp - q);
		if (eq && redact_name_is_secret(q, eq - q)) {
			sb_putn(b, q, eq - q + 1);
			sb_puts(b, REDACTED);
		} else {
			sb_putn(b, q, amp - q);
		}
		if (amp < end)
			sb_putn(b, "&", 1);
		q = amp + 1;
	}
}

char *redact_query(const char *q, size_t len)
{
	struct sbuf b = {0};

	put_query(&b, q, q + len);
	return sb_take(&b);
}

/* Appends an authority with any userinfo replaced (semconv: REDACTED:REDACTED@). */
static void put_authority(struct sbuf *b, const char *a, size_t n)
{
	const char *at = memrchr(a, '@', n);

	if (at) {
		sb_puts(b, REDACTED ":" REDACTED "@");
		n -= at + 1 - a;
		a = at + 1;
	}
	sb_putn(b, a, n);
}

/*
 * Appends path-query-fragment @t (up to @end), redacting secret query values; the fragment is
 * dropped, or kept with the query rule applied to it (OAuth puts tokens there) when @fragment.
 */
static void put_path_query(struct sbuf *b, const char *t, const char *end, bool fragment)
{
	const char *hash = memchr(t, '#', end - t), *qend = hash ? hash : end;
	const char *q = memchr(t, '?', qend - t);

	sb_putn(b, t, (q ? q : qend) - t);
	if (q) {
		sb_putn(b, "?", 1);
		put_query(b, q + 1, qend);
	}
	if (hash && fragment) {
		sb_putn(b, "#", 1);
		put_query(b, hash + 1, end);
	}
}

/* Returns the character after "scheme://" when @t (up to @end) starts with one, else NULL. */
static const char *after_scheme(const char *t, const char *end)
{
	const char *p = t;

	if (p == end || !isalpha((unsigned char)*p))
		return NULL;
	while (p < end && (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'))
		p++;
	return end - p >= 3 && !memcmp(p, "://", 3) ? p + 3 : NULL;
}

/* Appends absolute URL @u (up to @end, "scheme://" checked by the caller) redacted. */
static void put_url(struct sbuf *b, const char *u, const char *end, bool fragment)
{
	const char *auth = after_scheme(u, end), *path;

	path = auth;
	while (path < end && *path != '/' && *path != '?' && *path != '#')
		path++;
	sb_putn(b, u, auth - u);
	put_authority(b, auth, path - auth);
	put_path_query(b, path, end, fragment);
}

char *redact_url(const char *scheme, const char *authority, const char *target)
{
	const char *tend = target + strlen(target);
	struct sbuf b = {0};

	if (after_scheme(target, tend)) {
		put_url(&b, target, tend, false);
		return sb_take(&b);
	}
	sb_puts(&b, scheme);
	sb_puts(&b, "://");
	put_authority(&b, authority, strlen(authority));
	if (target[0] == '/')
		put_path_query(&b, target, tend, false);
	return sb_take(&b);
}

/* ---- command line ---- */

enum want {
	WANT_NONE,
	WANT_VALUE,    /* the next word is a credential */
	WANT_USERPASS, /* the next word is user:password */
	WANT_HEADER, /* words up to a closing quote, ";" or the argument's end are a header value */
};

bool redact_header_is_secret(const char *name)
{
	static const char *const secret[] = {
	    "authorization",
	    "proxy-authorization",
	    "x-amz-security-token",
	    "cookie",
	    "set-cookie",
	    "x-api-key",
	    "api-key",
	    "x-amz-bedrock-api-key",
	    "x-auth-token",
	};
	size_t i;

	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (strcasecmp(name, secret[i]) == 0)
			return true;
	return false;
}

/* True when @name (@len bytes) is a header whose value is a credential. */
static bool header_secret(const char *name, size_t len)
{
	char buf[NAME_MAX_LEN + 1];

	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return redact_header_is_secret(buf) || redact_name_is_secret(name, len);
}

/* Length of the header-name-like prefix of @s (letters, digits, '-', '_'). */
static size_t token_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
		i++;
	return i;
}

/*
 * For an argument "Name: value" (or "Name:value") with a secret header name, returns the
 * offset of the value, else 0. "scheme://" is a URL, not a header.
 */
static size_t header_value_at(const char *a, size_t n)
{
	size_t i = token_len(a, n), name_len = i;

	if (!i || i == n || a[i] != ':' || (n - i >= 3 && a[i + 1] == '/' && a[i + 2] == '/'))
		return 0;
	if (!header_secret(a, name_len))
		return 0;
	for (i++; i < n && (a[i] == ' ' || a[i] == '\t'); i++)
		;
	return i;
}

/* True when option @o (@n bytes, leading dashes included) is followed by a credential. */
static bool opt_takes_secret(const char *o, size_t n, bool *userpass)
{
	size_t d = 0, last, i;

	*userpass = false;
	while (d < n && d < 2 && o[d] == '-')
		d++;
	o += d;
	n -= d;
	if (d == 1 && n == 1 && (o[0] == 'u' || o[0] == 'U')) {
		*userpass = true;
		return true;
	}
	if ((n == 4 && !strncasecmp(o, "user", 4)) ||
	    (n == 10 && !strncasecmp(o, "proxy-user", 10))) {
		*userpass = true;
		return true;
	}
	/* single-dash long options too (Go's flag package: -token X) */
	if (n < 3 || (!strncasecmp(o, "no", 2) && is_sep(o[2])))
		return false;
	for (last = n; last > 0 && !is_sep(o[last - 1]); last--)
		;
	for (i = 0; i < N_ELEMS(secret_opt_words); i++)
		if (n - last == strlen(secret_opt_words[i]) &&
		    !strncasecmp(o + last, secret_opt_words[i], n - last))
			return true;
	/* --openai-api-key, --aws-secret-access-key: "api", "access" or "secret" before "key" */
	if (last >= 2 && n - last == 3 && !strncasecmp(o + last, "key", 3)) {
		for (i = last - 1; i > 0 && !is_sep(o[i - 1]); i--)
			;
		return (last - 1 - i == 3 && !strncasecmp(o + i, "api", 3)) ||
		       (last - 1 - i == 6 && !strncasecmp(o + i, "access", 6)) ||
		       (last - 1 - i == 6 && !strncasecmp(o + i, "secret", 6));
	}
	return false;
}

static void put_value(struct sbuf *b, enum want *want, const char *v, size_t n);

/*
 * Appends "user:REDACTED" for @w = "user:password"; a bare user name is kept, and a URL
 * (redis-cli -u redis://:pw@host) gets the URL rule.
 */
static void put_userpass(struct sbuf *b, enum want *want, const char *w, size_t n)
{
	const char *colon = memchr(w, ':', n);

	if (memmem(w, n, "://", 3)) {
		put_value(b, want, w, n);
		return;
	}
	if (!colon) {
		sb_putn(b, w, n);
		return;
	}
	sb_putn(b, w, colon - w + 1);
	sb_puts(b, REDACTED);
}

/* Appends a word that is no option: a URL, KEY=value / form data, "Name:value", or as is. */
static void put_value(struct sbuf *b, enum want *want, const char *v, size_t n)
{
	const char *end = v + n, *css = memmem(v, n, "://", 3), *s, *eq, *pair;
	size_t hv;

	if (n > 1 && v[n - 1] == ':' && token_len(v, n) == n - 1 && header_secret(v, n - 1)) {
		sb_putn(b, v, n);
		*want = WANT_HEADER;
		return;
	}
	if (css) {
		for (s = css; s > v && (isalnum((unsigned char)s[-1]) || s[-1] == '+' ||
					s[-1] == '-' || s[-1] == '.');
		     s--)
			;
		while (s < css && !isalpha((unsigned char)*s))
			s++;
		if (s < css) {
			/* the pair holding the URL: TOKEN=https://... is a secret as a whole */
			pair = memrchr(v, '&', s - v);
			pair = pair ? pair + 1 : v;
			put_query(b, v, pair);
			eq = memchr(pair, '=', s - pair);
			if (eq && redact_name_is_secret(pair, eq - pair)) {
				sb_putn(b, pair, eq - pair + 1);
				sb_puts(b, REDACTED);
				return;
			}
			sb_putn(b, pair, s - pair);
			put_url(b, s, end, true);
			return;
		}
	}
	if (memchr(v, '=', n)) {
		put_query(b, v, end);
		return;
	}
	hv = header_value_at(v, n);
	if (hv) {
		sb_putn(b, v, hv);
		sb_puts(b, REDACTED);
		return;
	}
	sb_putn(b, v, n);
}

/* Shell punctuation around a word of a script: kept, and not part of the word's value. */
static bool is_lead(char c)
{
	return c == '\'' || c == '"' || c == '`' || c == '(';
}

static bool is_trail(char c)
{
	return c == '\'' || c == '"' || c == '`' || c == ')' || c == ';';
}

/* Appends one whitespace-free word @w, redacted as @want says, and updates @want. */
static void put_word(struct sbuf *b, enum want *want, const char *w, size_t n)
{
	size_t lq = 0, tq = 0, cn;
	const char *c, *eq;
	bool userpass;

	while (lq < n && is_lead(w[lq]))
		lq++;
	while (tq < n - lq && is_trail(w[n - 1 - tq]))
		tq++;
	c = w + lq;
	cn = n - lq - tq;
	sb_putn(b, w, lq);
	if (*want == WANT_VALUE && cn) {
		sb_puts(b, REDACTED);
		*want = WANT_NONE;
	} else if (*want == WANT_USERPASS && cn) {
		*want = WANT_NONE;
		put_userpass(b, want, c, cn);
	} else if (*want == WANT_HEADER) {
		if (cn)
			sb_puts(b, REDACTED);
		if (tq)
			*want = WANT_NONE;
	} else if (cn > 1 && c[0] == '-') {
		eq = memchr(c, '=', cn);
		if (eq) {
			const char *name = c + (c[1] == '-' ? 2 : 1);

			sb_putn(b, c, eq - c + 1);
			if (redact_name_is_secret(name, eq - name))
				sb_puts(b, REDACTED);
			else
				put_value(b, want, eq + 1, c + cn - eq - 1);
		} else if (cn > 2 && c[1] == 'u') {
			/* curl -uuser:password */
			sb_putn(b, c, 2);
			put_userpass(b, want, c + 2, cn - 2);
		} else {
			if (opt_takes_secret(c, cn, &userpass))
				*want = userpass ? WANT_USERPASS : WANT_VALUE;
			sb_putn(b, c, cn);
		}
	} else {
		put_value(b, want, c, cn);
	}
	sb_putn(b, w + n - tq, tq);
}

/* Appends argument @a (@n bytes); @want carries over from the previous argument. */
static void put_arg(struct sbuf *b, enum want *want, const char *a, size_t n)
{
	size_t i = 0, j, hv;

	if (*want == WANT_VALUE && n) {
		sb_puts(b, REDACTED);
		*want = WANT_NONE;
		return;
	}
	if (*want == WANT_USERPASS && n) {
		*want = WANT_NONE;
		put_userpass(b, want, a, n);
		*want = WANT_NONE;
		return;
	}
	hv = header_value_at(a, n);
	if (hv) {
		sb_putn(b, a, hv);
		sb_puts(b, REDACTED);
		return;
	}
	while (i < n) {
		for (j = i; j < n && isspace((unsigned char)a[j]); j++)
			;
		sb_putn(b, a + i, j - i);
		for (i = j; j < n && !isspace((unsigned char)a[j]); j++)
			;
		if (j > i)
			put_word(b, want, a + i, j - i);
		i = j;
	}
	if (*want == WANT_HEADER)
		*want = WANT_NONE;
}

char *redact_cmdline(const char *args, size_t len)
{
	enum want want = WANT_NONE;
	struct sbuf b = {0};
	const char *a = args, *end = args + len, *nul;

	while (a < end) {
		nul = memchr(a, '\0', end - a);
		if (!nul)
			nul = end;
		if (a != args)
			sb_putn(&b, " ", 1);
		put_arg(&b, &want, a, nul - a);
		a = nul + 1;
	}
	return sb_take(&b);
}
