// SPDX-License-Identifier: MIT
/*
 * The /metrics endpoint (prom_server.h): listen address parsing, the request head parser and
 * a poll() loop on one thread that serves each connection from a fixed slot.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "metrics/prom_server.h"
#include "util/gzip.h"
#include "util/log.h"
#include "util/stopwatch.h"

#define PROM_SPEC_MAX 64       /* "[" INET6_ADDRSTRLEN "]:65535" and room to spare */
#define PROM_DRAIN_MS 500      /* reading what a client still sends after its response */
#define PROM_PAUSE_MS 100      /* no accept() for this long after it failed for lack of fds */
#define PROM_RESP_HEAD_MAX 320 /* the longest status line and headers prom_server writes */

/* ---- listen address ---- */

/* Parses @spec into @ss/@len; returns NULL or why it cannot. */
static const char *addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[PROM_SPEC_MAX + 1];
	const char *port_s, *colon;
	bool v6 = false, have_host = true;
	size_t n, host_len = 0;
	unsigned long port = 0;

	if (!spec || !*spec)
		return "empty: give PORT or ADDR:PORT";
	n = strlen(spec);
	if (n > PROM_SPEC_MAX)
		return "too long for ADDR:PORT";
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb)
			return "an IPv6 address needs its closing ']': [ADDR]:PORT";
		if (rb[1] != ':')
			return "expected :PORT after the bracketed IPv6 address";
		v6 = true;
		host_len = (size_t)(rb - spec - 1);
		memcpy(host, spec + 1, host_len);
		port_s = rb + 2;
	} else {
		colon = strrchr(spec, ':');
		if (!colon) {
			have_host = false;
			port_s = spec;
		} else if (memchr(spec, ':', (size_t)(colon - spec))) {
			return "an IPv6 address goes in brackets: [ADDR]:PORT";
		} else if (colon == spec) {
			return "no address before ':' (PORT alone binds " PROM_DEFAULT_ADDR
			       ", 0.0.0.0:PORT every interface)";
		} else {
			host_len = (size_t)(colon - spec);
			memcpy(host, spec, host_len);
			port_s = colon + 1;
		}
	}
	host[host_len] = '\0';

	if (!*port_s)
		return "no PORT after ':'";
	for (n = 0; port_s[n]; n++) {
		if (port_s[n] < '0' || port_s[n] > '9' || n >= 5)
			return "PORT must be a number from 1 to 65535";
		port = port * 10 + (unsigned long)(port_s[n] - '0');
	}
	if (port < 1 || port > 65535)
		return "PORT must be a number from 1 to 65535";

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return "not an IPv6 address between the brackets";
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		if (!have_host || !strcasecmp(host, "localhost"))
			strcpy(host, PROM_DEFAULT_ADDR);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return "ADDR must be an IPv4 address, [IPv6 address] or localhost (names "
			       "are "
			       "not resolved)";
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
	}
	return NULL;
}

int prom_addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	return addr_parse(spec, ss, len) ? -EINVAL : 0;
}

const char *prom_addr_error(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return addr_parse(spec, &ss, &len);
}

/* ---- request head ---- */

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool tokens_eq(const char *p, size_t n, const char *lit)
{
	return n == strlen(lit) && !strncasecmp(p, lit, n);
}

/* Parses a qvalue ("0", "0.5", "1.000"); returns it in thousandths, or -1 when malformed. */
static int qvalue(const char *p, size_t n)
{
	int q, scale = 100;
	size_t i;

	if (n == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	q = (p[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (p[1] != '.' || n > 5)
		return -1;
	for (i = 2; i < n; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		q += (p[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t'))
		(*p)++, (*n)--;
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * Folds one Accept-Encoding field value into the weights seen so far (thousandths; -1 =
 * not named). A malformed member is skipped rather than failing the request: a scrape is
 * answered uncompressed at worst.
 */
static void accept_encoding(const char *v, size_t n, int *gzip_q, int *star_q)
{
	while (n) {
		const char *comma = memchr(v, ',', n), *m = v, *semi, *end;
		size_t mlen = comma ? (size_t)(comma - v) : n, clen, i;
		int q = 1000;

		v += comma ? mlen + 1 : mlen;
		n -= comma ? mlen + 1 : mlen;
		end = m + mlen;
		semi = memchr(m, ';', mlen);
		clen = semi ? (size_t)(semi - m) : mlen;
		trim(&m, &clen);
		if (!clen)
			continue;
		for (i = 0; i < clen && is_tchar((unsigned char)m[i]); i++)
			;
		if (i < clen)
			continue;
		while (semi) {
			const char *par = semi + 1;
			size_t plen;

			semi = memchr(par, ';', (size_t)(end - par));
			plen = semi ? (size_t)(semi - par) : (size_t)(end - par);
			trim(&par, &plen);
			if (plen >= 2 && (par[0] | 0x20) == 'q' && par[1] == '=')
				q = qvalue(par + 2, plen - 2);
		}
		if (q < 0)
			continue;
		if (tokens_eq(m, clen, "gzip") || tokens_eq(m, clen, "x-gzip"))
			*gzip_q = q;
		else if (tokens_eq(m, clen, "*"))
			*star_q = q;
	}
}

/* The request line "METHOD SP TARGET SP HTTP/1.x"; returns 0 or PROM_REQ_BAD. */
static int request_line(const char *p, size_t n, struct prom_request *r)
{
	static const char slash[] = "/";
	const char *sp1, *sp2, *t, *end;
	size_t i, tlen;

	sp1 = memchr(p, ' ', n);
	if (!sp1 || sp1 == p)
		return PROM_REQ_BAD;
	for (i = 0; p + i < sp1; i++)
		if (!is_tchar((unsigned char)p[i]))
			return PROM_REQ_BAD;
	t = sp1 + 1;
	sp2 = memchr(t, ' ', n - (size_t)(t - p));
	if (!sp2 || sp2 == t)
		return PROM_REQ_BAD;
	tlen = (size_t)(sp2 - t);
	for (i = 0; i < tlen; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return PROM_REQ_BAD;
	end = p + n;
	if (end - (sp2 + 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return PROM_REQ_BAD;
	r->minor = sp2[8] - '0';
	r->method = p;
	r->method_len = (size_t)(sp1 - p);

	if (t[0] == '/' || (tlen == 1 && t[0] == '*')) {
		r->path = t;
	} else {
		/* absolute form: http://authority[/path][?query] */
		size_t skip = tlen >= 7 && !strncasecmp(t, "http://", 7)    ? 7
			      : tlen >= 8 && !strncasecmp(t, "https://", 8) ? 8
									    : 0;
		const char *a = t + skip;

		if (!skip || a == sp2 || *a == '/' || *a == '?' || *a == '#')
			return PROM_REQ_BAD;
		while (a < sp2 && *a != '/' && *a != '?' && *a != '#')
			a++;
		if (a == sp2 || *a != '/') {
			r->path = slash;
			r->path_len = 1;
			return 0;
		}
		r->path = a;
	}
	for (i = 0; r->path + i < sp2 && r->path[i] != '?' && r->path[i] != '#'; i++)
		;
	r->path_len = i;
	return 0;
}

int prom_request_parse(const char *buf, size_t len, struct prom_request *out)
{
	size_t lim = len < PROM_HEAD_MAX ? len : PROM_HEAD_MAX, pos = 0, i;
	int gzip_q = -1, star_q = -1, hosts = 0;
	struct prom_request r = {0};
	bool first = true;

	while (pos < lim) {
		const char *nl = memchr(buf + pos, '\n', lim - pos), *line = buf + pos, *colon;
		size_t next, n;

		if (!nl)
			break;
		next = (size_t)(nl - buf) + 1;
		n = next - 1 - pos;
		if (n && line[n - 1] == '\r')
			n--;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)line[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return PROM_REQ_BAD;
		}
		pos = next;
		if (first) {
			if (request_line(line, n, &r))
				return PROM_REQ_BAD;
			first = false;
			continue;
		}
		if (n == 0) {
			if (hosts > 1 || (r.minor == 1 && hosts != 1))
				return PROM_REQ_BAD;
			r.gzip = gzip_q > 0 || (gzip_q < 0 && star_q > 0);
			r.head_len = next;
			*out = r;
			return (int)next;
		}
		/* name ":" OWS value OWS; a line starting with whitespace is obsolete folding */
		colon = memchr(line, ':', n);
		if (!colon || colon == line)
			return PROM_REQ_BAD;
		for (i = 0; line + i < colon; i++)
			if (!is_tchar((unsigned char)line[i]))
				return PROM_REQ_BAD;
		{
			const char *v = colon + 1;
			size_t vlen = n - (size_t)(v - line), nlen = (size_t)(colon - line);

			trim(&v, &vlen);
			if (tokens_eq(line, nlen, "host"))
				hosts++;
			else if (tokens_eq(line, nlen, "accept-encoding"))
				accept_encoding(v, vlen, &gzip_q, &star_q);
		}
	}
	/* an unfinished request line is refused as soon as its method cannot be a token */
	if (first) {
		for (i = 0; i < lim && buf[i] != ' '; i++)
			if (!is_tchar((unsigned char)buf[i]))
				return PROM_REQ_BAD;
		if (lim && buf[0] == ' ')
			return PROM_REQ_BAD;
	}
	return len >= PROM_HEAD_MAX ? PROM_REQ_TOO_BIG : PROM_REQ_MORE;
}

/* ---- server ---- */

enum conn_phase { CONN_FREE, CONN_READ, CONN_WRITE, CONN_DRAIN };

struct prom_conn {
	int fd;
	enum conn_phase phase;
	uint64_t deadline_ms;
	size_t in_len;
	char in[PROM_HEAD_MAX];
	char head[PROM_RESP_HEAD_MAX];
	size_t head_len;
	char *body; /* malloc'd; NULL for none */
	size_t body_len;
	size_t sent; /* of head then body */
};

/* What has been warned about, so that each problem is reported once. */
enum {
	WARNED_ACCEPT = 1 << 0,
	WARNED_RENDER = 1 << 1,
	WARNED_GZIP = 1 << 2,
	WARNED_POLL = 1 << 3,
};

struct prom_server {
	int lfd;
	int wake[2]; /* prom_server_stop writes a byte to wake[1] */
	int port;
	pthread_t thread;
	prom_render_fn render;
	void *ctx;
	unsigned int warned;
	uint64_t accept_resume_ms;
	struct prom_conn conn[PROM_CONN_MAX];
};

static uint64_t now_ms(void)
{
	return sw_now_ns() / 1000000;
}

static void conn_close(struct prom_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->body);
	c->body = NULL;
	c->fd = -1;
	c->phase = CONN_FREE;
}

/*
 * Closes @c before its response was all handed to the kernel. A plain close would leave the
 * kernel holding and retrying the queued part (megabytes) for a client that does not read:
 * a reset frees it now.
 */
static void conn_abort(struct prom_conn *c)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (c->phase == CONN_WRITE)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c);
}

static const char *reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Internal Server Error";
	}
}

/*
 * Makes @c's response: @body (malloc'd, taken over; NULL = a copy of @text) with @type. Only
 * the head is sent for HEAD. Content-Length is always the length of the body a GET gets.
 */
static void reply(struct prom_conn *c, int code, const char *type, char *body, size_t len,
		  const char *text, const char *extra, bool head_only)
{
	int n;

	if (!body && text) {
		len = strlen(text);
		body = strdup(text);
		if (!body)
			len = 0; /* the head still goes out; Content-Length says 0 */
	}
	n = snprintf(c->head, sizeof(c->head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		     "Connection: close\r\n\r\n",
		     code, reason(code), type, len, extra ? extra : "");
	c->head_len = n > 0 && (size_t)n < sizeof(c->head) ? (size_t)n : 0;
	if (head_only) {
		free(body);
		body = NULL;
		len = 0;
	}
	c->body = body;
	c->body_len = len;
	c->sent = 0;
	c->phase = CONN_WRITE;
}

static bool method_is(const struct prom_request *r, const char *m)
{
	return r->method_len == strlen(m) && !memcmp(r->method, m, r->method_len);
}

static bool path_is(const struct prom_request *r, const char *p)
{
	return r->path_len == strlen(p) && !memcmp(r->path, p, r->path_len);
}

/* Whether @what is to be reported now: the first time it happens. */
static bool first_time(struct prom_server *s, unsigned int what)
{
	if (s->warned & what)
		return false;
	s->warned |= what;
	return true;
}

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define ALLOW "Allow: GET, HEAD\r\n"

static void route(struct prom_server *s, struct prom_conn *c, const struct prom_request *r)
{
	bool head = method_is(r, "HEAD"), get = method_is(r, "GET");
	char *body, *gz;
	size_t len, gz_len;

	if (!path_is(r, "/metrics") && !path_is(r, "/")) {
		reply(c, 404, TEXT_PLAIN, NULL, 0, "Not found: the metrics are at /metrics\n", NULL,
		      head);
		return;
	}
	if (!get && !head) {
		reply(c, 405, TEXT_PLAIN, NULL, 0, "Method not allowed: use GET or HEAD\n", ALLOW,
		      false);
		return;
	}
	if (path_is(r, "/")) {
		reply(c, 200, TEXT_PLAIN, NULL, 0,
		      "bedtrace\nMetrics in the Prometheus text format: /metrics\n", NULL, head);
		return;
	}
	body = s->render(s->ctx, &len);
	if (!body) {
		if (first_time(s, WARNED_RENDER))
			pr_warn("prometheus: cannot render /metrics: %s\n", strerror(errno));
		reply(c, 500, TEXT_PLAIN, NULL, 0, "The metrics could not be rendered\n", NULL,
		      head);
		return;
	}
	if (r->gzip) {
		gz = gzip_compress(body, len, &gz_len);
		if (gz) {
			free(body);
			reply(c, 200, PROM_CONTENT_TYPE, gz, gz_len, NULL,
			      "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n", head);
			return;
		}
		if (first_time(s, WARNED_GZIP))
			pr_warn("prometheus: cannot gzip /metrics, sent as is: %s\n",
				strerror(errno));
	}
	reply(c, 200, PROM_CONTENT_TYPE, body, len, NULL, "Vary: Accept-Encoding\r\n", head);
}

/* Sends what is left of the response; then half-closes and drains what the client sends. */
static void conn_write(struct prom_conn *c, uint64_t now)
{
	struct iovec iov[2];
	struct msghdr mh = {.msg_iov = iov};
	ssize_t n;

	while (c->sent < c->head_len + c->body_len) {
		mh.msg_iovlen = 0;
		if (c->sent < c->head_len) {
			iov[mh.msg_iovlen].iov_base = c->head + c->sent;
			iov[mh.msg_iovlen++].iov_len = c->head_len - c->sent;
		}
		if (c->body_len) {
			size_t off = c->sent > c->head_len ? c->sent - c->head_len : 0;

			iov[mh.msg_iovlen].iov_base = c->body + off;
			iov[mh.msg_iovlen++].iov_len = c->body_len - off;
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	free(c->body);
	c->body = NULL;
	/*
	 * Closing a socket with unread input sends a reset, which can destroy the response
	 * before the client reads it (a 431 to a client still sending headers): so say we are
	 * done, and read until the client closes too, for a short while.
	 */
	shutdown(c->fd, SHUT_WR);
	c->phase = CONN_DRAIN;
	if (c->deadline_ms > now + PROM_DRAIN_MS)
		c->deadline_ms = now + PROM_DRAIN_MS;
}

static void conn_read(struct prom_server *s, struct prom_conn *c, uint64_t now)
{
	struct prom_request r;
	ssize_t n;
	int rc;

	if (c->phase == CONN_DRAIN) {
		n = recv(c->fd, c->in, sizeof(c->in), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			conn_close(c);
		return;
	}
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c); /* the client went away before a whole request */
		return;
	}
	c->in_len += (size_t)n;
	rc = prom_request_parse(c->in, c->in_len, &r);
	if (rc == PROM_REQ_MORE)
		return;
	if (rc == PROM_REQ_BAD)
		reply(c, 400, TEXT_PLAIN, NULL, 0, "Bad request\n", NULL, false);
	else if (rc == PROM_REQ_TOO_BIG)
		reply(c, 431, TEXT_PLAIN, NULL, 0, "Request header fields too large\n", NULL,
		      false);
	else
		route(s, c, &r);
	conn_write(c, now);
}

static void accept_clients(struct prom_server *s, uint64_t now)
{
	struct prom_conn *c;
	size_t i;
	int fd;

	for (;;) {
		for (i = 0; i < PROM_CONN_MAX && s->conn[i].phase != CONN_FREE; i++)
			;
		if (i == PROM_CONN_MAX)
			return;
		c = &s->conn[i];
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
			case EPERM: /* a firewall rule refused it */
				continue;
			default:
				/* EMFILE, ENFILE, ENOBUFS, ENOMEM: the backlog waits */
				if (first_time(s, WARNED_ACCEPT))
					pr_warn("prometheus: cannot accept a scrape: %s\n",
						strerror(errno));
				s->accept_resume_ms = now + PROM_PAUSE_MS;
				return;
			}
		}
		c->fd = fd;
		c->phase = CONN_READ;
		c->in_len = 0;
		c->deadline_ms = now + PROM_DEADLINE_MS;
	}
}

static void *serve(void *arg)
{
	struct prom_server *s = arg;
	struct pollfd pfd[2 + PROM_CONN_MAX];
	int slot[2 + PROM_CONN_MAX];
	size_t i, n;

	for (;;) {
		uint64_t now = now_ms(), wake = UINT64_MAX;
		int timeout, rc;

		pfd[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
		n = 1;
		for (i = 0; i < PROM_CONN_MAX; i++) {
			struct prom_conn *c = &s->conn[i];

			if (c->phase == CONN_FREE)
				continue;
			if (now >= c->deadline_ms) {
				conn_abort(c); /* too slow: a scrape must not wait on it */
				continue;
			}
			if (c->deadline_ms < wake)
				wake = c->deadline_ms;
			slot[n] = (int)i;
			pfd[n++] = (struct pollfd){
			    .fd = c->fd, .events = c->phase == CONN_WRITE ? POLLOUT : POLLIN};
		}
		if (n - 1 < PROM_CONN_MAX) {
			if (now >= s->accept_resume_ms) {
				slot[n] = -1;
				pfd[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
			} else if (s->accept_resume_ms < wake) {
				wake = s->accept_resume_ms;
			}
		}
		timeout = wake == UINT64_MAX		  ? -1
			  : wake - now > PROM_DEADLINE_MS ? PROM_DEADLINE_MS
							  : (int)(wake - now);
		rc = poll(pfd, n, timeout);
		if (rc < 0) {
			if (errno != EINTR) {
				if (first_time(s, WARNED_POLL))
					pr_warn("prometheus: poll: %s\n", strerror(errno));
				usleep(PROM_PAUSE_MS * 1000);
			}
			continue;
		}
		if (pfd[0].revents)
			break;
		now = now_ms();
		for (i = 1; i < n; i++) {
			struct prom_conn *c;

			if (!pfd[i].revents)
				continue;
			if (slot[i] < 0) {
				accept_clients(s, now);
				continue;
			}
			c = &s->conn[slot[i]];
			if (c->phase == CONN_WRITE)
				conn_write(c, now);
			else
				conn_read(s, c, now);
		}
	}
	for (i = 0; i < PROM_CONN_MAX; i++)
		if (s->conn[i].phase != CONN_FREE)
			conn_abort(&s->conn[i]);
	return NULL;
}

struct prom_server *prom_server_start_addr(const struct sockaddr *sa, socklen_t len,
					   prom_render_fn render, void *ctx)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	struct prom_server *s;
	sigset_t all, old;
	int one = 1, err;
	size_t i;

	if (!render || !sa) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->lfd = s->wake[0] = s->wake[1] = -1;
	for (i = 0; i < PROM_CONN_MAX; i++)
		s->conn[i].fd = -1;
	s->render = render;
	s->ctx = ctx;

	s->lfd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s->lfd, sa, len) || listen(s->lfd, 16) ||
	    getsockname(s->lfd, (struct sockaddr *)&bound, &blen) ||
	    pipe2(s->wake, O_CLOEXEC | O_NONBLOCK)) {
		err = errno;
		goto fail;
	}
	s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
						    : ((struct sockaddr_in *)&bound)->sin_port);
	/* signals are for bedtrace's main loop, never this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->thread, NULL, serve, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto fail;
	return s;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	free(s);
	errno = err;
	return NULL;
}

struct prom_server *prom_server_start(const char *spec, prom_render_fn render, void *ctx)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (prom_addr_parse(spec, &ss, &len)) {
		errno = EINVAL;
		return NULL;
	}
	return prom_server_start_addr((struct sockaddr *)&ss, len, render, ctx);
}

int prom_server_port(const struct prom_server *s)
{
	return s->port;
}

void prom_server_stop(struct prom_server *s)
{
	ssize_t n;

	if (!s)
		return;
	do
		n = write(s->wake[1], "x", 1);
	while (n < 0 && errno == EINTR);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	free(s);
}
