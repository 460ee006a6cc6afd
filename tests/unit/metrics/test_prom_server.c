// SPDX-License-Identifier: MIT
/*
 * Unit tests for prom_server.c: listen address parsing, the request head parser (good,
 * partial, malformed, oversized requests; Accept-Encoding), and a real server on
 * 127.0.0.1 at a free port, driven over sockets: the body is the callback's, HEAD, 404, 405,
 * 400, 431, 500, gzip, and clients that send nothing or too little do not hold up the next.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "metrics/prom_server.h"

/* ---- listen addresses ---- */

static void check_addr(const char *spec, int family, const char *ip, int port)
{
	struct sockaddr_storage ss;
	char got[INET6_ADDRSTRLEN];
	socklen_t len = 0;

	assert_int_equal(prom_addr_parse(spec, &ss, &len), 0);
	assert_null(prom_addr_error(spec));
	assert_int_equal(ss.ss_family, family);
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		assert_int_equal(len, sizeof(*a));
		assert_non_null(inet_ntop(AF_INET, &a->sin_addr, got, sizeof(got)));
		assert_int_equal(ntohs(a->sin_port), port);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		assert_int_equal(len, sizeof(*a));
		assert_non_null(inet_ntop(AF_INET6, &a->sin6_addr, got, sizeof(got)));
		assert_int_equal(ntohs(a->sin6_port), port);
	}
	assert_string_equal(got, ip);
}

static void test_prom_addr_accepted(void **state)
{
	(void)state;
	check_addr("9464", AF_INET, "127.0.0.1", 9464);
	check_addr("1", AF_INET, "127.0.0.1", 1);
	check_addr("65535", AF_INET, "127.0.0.1", 65535);
	check_addr("0.0.0.0:9090", AF_INET, "0.0.0.0", 9090);
	check_addr("10.1.2.3:80", AF_INET, "10.1.2.3", 80);
	check_addr("localhost:9464", AF_INET, "127.0.0.1", 9464);
	check_addr("LocalHost:9464", AF_INET, "127.0.0.1", 9464);
	check_addr("[::1]:9464", AF_INET6, "::1", 9464);
	check_addr("[::]:8080", AF_INET6, "::", 8080);
	check_addr("[fe80::1:2]:8080", AF_INET6, "fe80::1:2", 8080);
}

static void test_prom_addr_refused_with_a_reason(void **state)
{
	static const char *const bad[] = {
	    "",
	    "0",
	    "65536",
	    "99999",
	    "123456",
	    "-1",
	    "+80",
	    " 80",
	    "80 ",
	    "0x50",
	    "x",
	    ":9090",
	    "127.0.0.1:",
	    "127.0.0.1:0",
	    "1.2.3:80",
	    "1.2.3.4.5:80",
	    "256.1.1.1:80",
	    "example.com:80",
	    "::1:9090",
	    "::1",
	    "[::1]9090",
	    "[::1",
	    "[::1]:",
	    "[1.2.3.4]:80",
	    "[]:80",
	    "[fe80::1%lo]:80",
	    "127.0.0.1:80:80",
	    "1111111111111111111111111111111111111111111111111111111111111111111:80",
	};
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = prom_addr_error(bad[i]);

		if (prom_addr_parse(bad[i], &ss, &len) != -EINVAL || !why || !*why)
			fail_msg("accepted %s", bad[i]);
		/* one line for main.c */
		assert_null(strchr(why, '\n'));
	}
	assert_int_equal(prom_addr_parse(NULL, &ss, &len), -EINVAL);
	assert_non_null(strstr(prom_addr_error("::1:9090"), "brackets"));
	assert_non_null(strstr(prom_addr_error("70000"), "65535"));
	assert_non_null(strstr(prom_addr_error("example.com:80"), "not resolved"));
}

/* ---- request heads ---- */

static int parse(const char *s, struct prom_request *r)
{
	return prom_request_parse(s, strlen(s), r);
}

static void test_prom_request_complete(void **state)
{
	const char *get = "GET /metrics?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n"
			  "User-Agent: Prometheus/2.42.0\r\nAccept: application/"
			  "openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
			  "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n"
			  "trailing bytes";
	struct prom_request r;
	int n;

	(void)state;
	n = parse(get, &r);
	assert_int_equal(n, strstr(get, "trailing") - get);
	assert_int_equal(r.head_len, n);
	assert_int_equal(r.method_len, 3);
	assert_memory_equal(r.method, "GET", 3);
	assert_int_equal(r.path_len, 8);
	assert_memory_equal(r.path, "/metrics", 8);
	assert_int_equal(r.minor, 1);
	assert_true(r.gzip);

	/* bare LF line ends, HTTP/1.0 without Host, no Accept-Encoding */
	assert_int_equal(parse("HEAD / HTTP/1.0\n\n", &r), 17);
	assert_memory_equal(r.method, "HEAD", 4);
	assert_int_equal(r.path_len, 1);
	assert_int_equal(r.minor, 0);
	assert_false(r.gzip);

	/* absolute form */
	assert_true(parse("GET http://h:1/metrics#f HTTP/1.1\r\nHost: h:1\r\n\r\n", &r) > 0);
	assert_int_equal(r.path_len, 8);
	assert_memory_equal(r.path, "/metrics", 8);
	assert_true(parse("GET HTTPS://h?q HTTP/1.1\r\nhost: h\r\n\r\n", &r) > 0);
	assert_int_equal(r.path_len, 1);
	assert_memory_equal(r.path, "/", 1);

	/* any method token is a request (the server answers 405) */
	assert_true(parse("M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\n", &r) > 0);
	assert_memory_equal(r.path, "*", 1);
	/* header values may hold obs-text and tabs; whitespace around values is not the value */
	assert_true(parse("GET / HTTP/1.1\r\nHost:x\r\nX-A: \xc3\xa9\tb \t\r\n\r\n", &r) > 0);
}

static bool gzip_of(const char *accept_encoding)
{
	char buf[512];
	struct prom_request r;

	snprintf(buf, sizeof(buf), "GET /metrics HTTP/1.1\r\nHost: x\r\n%s\r\n", accept_encoding);
	assert_true(parse(buf, &r) > 0);
	return r.gzip;
}

static void test_prom_request_accept_encoding(void **state)
{
	(void)state;
	assert_false(gzip_of(""));
	assert_true(gzip_of("Accept-Encoding: gzip\r\n"));
	assert_true(gzip_of("accept-encoding: GZIP\r\n"));
	assert_true(gzip_of("Accept-Encoding: x-gzip\r\n"));
	assert_true(gzip_of("Accept-Encoding: deflate, gzip;q=0.5, br\r\n"));
	assert_true(gzip_of("Accept-Encoding: gzip ; q=1.000\r\n"));
	assert_true(gzip_of("Accept-Encoding: *\r\n"));
	assert_true(gzip_of("Accept-Encoding: identity\r\nAccept-Encoding: gzip\r\n"));
	assert_false(gzip_of("Accept-Encoding: identity\r\n"));
	assert_false(gzip_of("Accept-Encoding: gzip;q=0\r\n"));
	assert_false(gzip_of("Accept-Encoding: gzip;Q=0.000\r\n"));
	assert_false(gzip_of("Accept-Encoding: *, gzip;q=0\r\n"));
	assert_false(gzip_of("Accept-Encoding: *;q=0\r\n"));
	assert_false(gzip_of("Accept-Encoding: gzipx, xgzip\r\n"));
	/* a malformed member is skipped, the request is still answered */
	assert_false(gzip_of("Accept-Encoding: gzip;q=2\r\n"));
	assert_false(gzip_of("Accept-Encoding: gzip;q=0.5x\r\n"));
	assert_true(gzip_of("Accept-Encoding: g(z)ip, gzip;q=0.001\r\n"));
	assert_true(gzip_of("Accept-Encoding: ,, gzip ,\r\n"));
	/* only Accept-Encoding counts */
	assert_false(gzip_of("X-Accept-Encoding: gzip\r\nTE: gzip\r\n"));
}

static void test_prom_request_partial(void **state)
{
	const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n";
	size_t n = strlen(get), i;
	struct prom_request r;

	(void)state;
	for (i = 0; i < n; i++)
		assert_int_equal(prom_request_parse(get, i, &r), PROM_REQ_MORE);
	assert_int_equal(prom_request_parse(get, n, &r), (int)n);
}

static void test_prom_request_malformed(void **state)
{
	static const char *const bad[] = {
	    "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /metrics  HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n",
	    " GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /metrics\r\nHost: x\r\n\r\n",
	    "GET\r\n\r\n",
	    "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
	    "GET /metrics http/1.1\r\nHost: x\r\n\r\n",
	    "GET /metrics HTTP/1.10\r\nHost: x\r\n\r\n",
	    "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET ftp://h/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET http:///metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
	    "G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    "\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\n\r\n", /* HTTP/1.1 needs Host */
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
	    "GET /metrics HTTP/1.0\r\nHost: x\r\nhost: y\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: \x01\r\n\r\n",
	    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	    /* judged before the blank line: nothing after a bad line can mend it */
	    "GET /metrics HTTP/1.1\r\nHo st: x\r\n",
	    "GET /metrics HTTP/9.9\r\n",
	    /* an unfinished request line whose method cannot be a token */
	    "\x16\x03\x01\x02",
	    "GET\t/",
	};
	struct prom_request r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &r) != PROM_REQ_BAD)
			fail_msg("not refused: %s", bad[i]);
	/* a NUL is a control character too */
	assert_int_equal(prom_request_parse("GET / HTTP/1.1\r\nHost: \0\r\n\r\n", 26, &r),
			 PROM_REQ_BAD);
}

/* A request head of exactly @total bytes (a filler header pads it). */
static char *head_of_size(size_t total)
{
	const char *pre = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ", *post = "\r\n\r\n";
	char *b = malloc(total + 1);

	assert_non_null(b);
	assert_true(total > strlen(pre) + strlen(post));
	memset(b, 'a', total);
	memcpy(b, pre, strlen(pre));
	memcpy(b + total - strlen(post), post, strlen(post));
	b[total] = '\0';
	return b;
}

static void test_prom_request_oversized(void **state)
{
	struct prom_request r;
	char *b;

	(void)state;
	b = head_of_size(PROM_HEAD_MAX);
	assert_int_equal(parse(b, &r), PROM_HEAD_MAX);
	free(b);
	b = head_of_size(PROM_HEAD_MAX + 1);
	assert_int_equal(parse(b, &r), PROM_REQ_TOO_BIG);
	/* short of the limit it is still only unfinished */
	assert_int_equal(prom_request_parse(b, PROM_HEAD_MAX - 1, &r), PROM_REQ_MORE);
	assert_int_equal(prom_request_parse(b, PROM_HEAD_MAX, &r), PROM_REQ_TOO_BIG);
	free(b);
	b = head_of_size(3 * PROM_HEAD_MAX);
	assert_int_equal(parse(b, &r), PROM_REQ_TOO_BIG);
	free(b);
}

/* ---- a real server ---- */

static const char EXPOSITION[] =
    "# HELP bt_test_total A counter.\n# TYPE bt_test_total counter\nbt_test_total 42\n"
    "# HELP bt_lat_seconds Latency.\n# TYPE bt_lat_seconds histogram\n"
    "bt_lat_seconds_bucket{le=\"0.1\"} 1\nbt_lat_seconds_bucket{le=\"+Inf\"} 2\n"
    "bt_lat_seconds_sum 0.35\nbt_lat_seconds_count 2\n";

/* Shared by the test and the server's thread: read and written with GET and SET. */
struct render_ctx {
	int calls;
	int fail;      /* errno to fail with, 0 = render */
	size_t repeat; /* the body is EXPOSITION this many times */
};

#define GET(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

static char *render(void *arg, size_t *len)
{
	struct render_ctx *rc = arg;
	size_t one = strlen(EXPOSITION), i, repeat = GET(rc->repeat);
	int fail = GET(rc->fail);
	char *b;

	__atomic_add_fetch(&rc->calls, 1, __ATOMIC_SEQ_CST);
	if (fail) {
		errno = fail;
		return NULL;
	}
	b = malloc(one * repeat + 1);
	if (!b)
		return NULL;
	for (i = 0; i < repeat; i++)
		memcpy(b + i * one, EXPOSITION, one);
	*len = one * repeat;
	return b;
}

struct srv {
	struct render_ctx ctx;
	struct prom_server *s;
	int port;
};

static int srv_setup(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	struct srv *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	SET(t->ctx.repeat, 1);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->s = prom_server_start_addr((struct sockaddr *)&a, sizeof(a), render, &t->ctx);
	if (!t->s) {
		free(t);
		return -1;
	}
	t->port = prom_server_port(t->s);
	*state = t;
	return 0;
}

static int srv_teardown(void **state)
{
	struct srv *t = *state;

	prom_server_stop(t->s);
	free(t);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		assert_true(k > 0);
		p = (const char *)p + k;
		n -= (size_t)k;
	}
}

struct resp {
	int status;
	char head[4096];
	char *body;
	size_t body_len;
};

/* Reads a whole response (the server closes the connection after it) from @fd. */
static void read_resp(int fd, struct resp *r)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap), *end;
	ssize_t k;

	assert_non_null(buf);
	while ((k = recv(fd, buf + len, cap - len, 0)) > 0) {
		len += (size_t)k;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	assert_int_equal(k, 0); /* EOF, not the 10 s receive timeout */
	end = memmem(buf, len, "\r\n\r\n", 4);
	assert_non_null(end);
	assert_true((size_t)(end - buf) < sizeof(r->head));
	memcpy(r->head, buf, (size_t)(end - buf) + 2);
	r->head[end - buf + 2] = '\0';
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	r->body_len = len - (size_t)(end + 4 - buf);
	r->body = malloc(r->body_len + 1);
	assert_non_null(r->body);
	memcpy(r->body, end + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);
}

/* Sends @req on a new connection and reads the response. */
static void exchange(int port, const char *req, struct resp *r)
{
	int fd = connect_to(port);

	send_all(fd, req, strlen(req));
	read_resp(fd, r);
	close(fd);
}

/* The value of header @name in @r (case-insensitive name), or NULL; static buffer. */
static const char *header(const struct resp *r, const char *name)
{
	static char val[256];
	const char *p = strstr(r->head, "\r\n");

	while (p && p[2]) {
		const char *line = p + 2, *eol = strstr(line, "\r\n");
		size_t nl = strlen(name);

		if (!eol)
			break;
		if (!strncasecmp(line, name, nl) && line[nl] == ':') {
			const char *v = line + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(val, sizeof(val), "%.*s", (int)(eol - v), v);
			return val;
		}
		p = eol;
	}
	return NULL;
}

static size_t content_length(const struct resp *r)
{
	const char *v = header(r, "Content-Length");

	assert_non_null(v);
	return strtoul(v, NULL, 10);
}

static void test_prom_server_get_metrics(void **state)
{
	struct srv *t = *state;
	struct resp r;

	exchange(t->port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), PROM_CONTENT_TYPE);
	assert_string_equal(header(&r, "Connection"), "close");
	assert_null(header(&r, "Content-Encoding"));
	assert_int_equal(content_length(&r), strlen(EXPOSITION));
	assert_int_equal(r.body_len, strlen(EXPOSITION));
	assert_string_equal(r.body, EXPOSITION);
	assert_int_equal(GET(t->ctx.calls), 1);
	free(r.body);

	/* the query string is ignored; HTTP/1.0 is answered */
	exchange(t->port, "GET /metrics?name[]=x HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, EXPOSITION);
	free(r.body);
}

static void test_prom_server_head(void **state)
{
	struct srv *t = *state;
	struct resp r;

	exchange(t->port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), PROM_CONTENT_TYPE);
	assert_int_equal(content_length(&r), strlen(EXPOSITION));
	assert_int_equal(r.body_len, 0);
	free(r.body);
}

static void test_prom_server_index_404_405(void **state)
{
	struct srv *t = *state;
	struct resp r;

	exchange(t->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "/metrics"));
	assert_int_equal(content_length(&r), r.body_len);
	assert_string_equal(header(&r, "Content-Type"), "text/plain; charset=utf-8");
	free(r.body);

	exchange(t->port, "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	assert_int_equal(content_length(&r), r.body_len);
	free(r.body);
	exchange(t->port, "GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	free(r.body);

	exchange(t->port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(header(&r, "Allow"), "GET, HEAD");
	free(r.body);
	exchange(t->port, "get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 405); /* methods are case-sensitive */
	free(r.body);
	/* nothing rendered for any of them */
	assert_int_equal(GET(t->ctx.calls), 0);
}

static void test_prom_server_400_431(void **state)
{
	struct srv *t = *state;
	struct resp r;
	char *big;
	int fd;

	exchange(t->port, "GET /metrics HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
	free(r.body);
	/* refused on the request line alone: the client need not finish */
	exchange(t->port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", &r);
	assert_int_equal(r.status, 400);
	free(r.body);

	/* 431 while the client still sends; the response arrives intact */
	big = malloc(4 * PROM_HEAD_MAX);
	assert_non_null(big);
	memset(big, 'a', 4 * PROM_HEAD_MAX);
	memcpy(big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ", 39);
	fd = connect_to(t->port);
	send_all(fd, big, 4 * PROM_HEAD_MAX);
	shutdown(fd, SHUT_WR);
	read_resp(fd, &r);
	close(fd);
	assert_int_equal(r.status, 431);
	free(r.body);
	free(big);
	assert_int_equal(GET(t->ctx.calls), 0);
}

static void test_prom_server_render_fails_500(void **state)
{
	struct srv *t = *state;
	struct resp r;

	SET(t->ctx.fail, EIO);
	exchange(t->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 500);
	free(r.body);
	exchange(t->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 500);
	free(r.body);
	assert_int_equal(GET(t->ctx.calls), 2);
	/* the server is fine once the callback is */
	SET(t->ctx.fail, 0);
	exchange(t->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	free(r.body);
}

static char *gunzip(const char *in, size_t len, size_t *out_len)
{
	size_t cap = 1 << 20;
	char *out = malloc(cap);
	z_stream z = {0};

	assert_non_null(out);
	assert_int_equal(inflateInit2(&z, 16 + 15), Z_OK); /* gzip only */
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);
	*out_len = z.total_out;
	inflateEnd(&z);
	return out;
}

static void test_prom_server_gzip(void **state)
{
	struct srv *t = *state;
	size_t plain_len;
	struct resp r;
	char *plain;

	SET(t->ctx.repeat, 500); /* 150 kB: several writes */
	exchange(t->port,
		 "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
		 "User-Agent: Prometheus/2.42.0\r\n\r\n",
		 &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Encoding"), "gzip");
	assert_string_equal(header(&r, "Vary"), "Accept-Encoding");
	assert_int_equal(content_length(&r), r.body_len);
	assert_true(r.body_len < strlen(EXPOSITION) * 500 / 10);
	plain = gunzip(r.body, r.body_len, &plain_len);
	assert_int_equal(plain_len, strlen(EXPOSITION) * 500);
	for (size_t i = 0; i < 500; i++)
		assert_memory_equal(plain + i * strlen(EXPOSITION), EXPOSITION, strlen(EXPOSITION));
	free(plain);
	free(r.body);

	/* HEAD says what GET would send */
	exchange(t->port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", &r);
	assert_string_equal(header(&r, "Content-Encoding"), "gzip");
	assert_true(content_length(&r) > 0 && content_length(&r) < strlen(EXPOSITION) * 50);
	assert_int_equal(r.body_len, 0);
	free(r.body);

	/* gzip;q=0: identity */
	exchange(t->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0\r\n\r\n",
		 &r);
	assert_null(header(&r, "Content-Encoding"));
	assert_int_equal(r.body_len, strlen(EXPOSITION) * 500);
	free(r.body);
}

static void test_prom_server_silent_clients_do_not_block(void **state)
{
	struct srv *t = *state;
	int idle[PROM_CONN_MAX - 1], i, partial;
	struct resp r;
	double t0;

	/* every slot but one taken by a client that sends nothing or half a request */
	for (i = 0; i < PROM_CONN_MAX - 1; i++)
		idle[i] = connect_to(t->port);
	partial = idle[0];
	send_all(partial, "GET /metr", 9);
	t0 = now_s();
	exchange(t->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, EXPOSITION);
	assert_true(now_s() - t0 < 1.0);
	free(r.body);
	/* again: the first scrape's slot came back */
	exchange(t->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	free(r.body);
	for (i = 0; i < PROM_CONN_MAX - 1; i++)
		close(idle[i]);
}

static void test_prom_server_deadline_closes_idle_client(void **state)
{
	struct srv *t = *state;
	struct resp r;
	int fd, late;
	char c;
	double t0;
	ssize_t k;

	fd = connect_to(t->port);
	t0 = now_s();
	k = recv(fd, &c, 1, 0);
	assert_int_equal(k, 0); /* closed by the server, before our 10 s receive timeout */
	assert_true(now_s() - t0 > PROM_DEADLINE_MS / 1000.0 - 0.5);
	assert_true(now_s() - t0 < PROM_DEADLINE_MS / 1000.0 + 1.5);
	close(fd);

	/* with every slot held, the next client is served once the deadline frees one */
	{
		int held[PROM_CONN_MAX], i;

		for (i = 0; i < PROM_CONN_MAX; i++)
			held[i] = connect_to(t->port);
		usleep(100 * 1000);
		t0 = now_s();
		late = connect_to(t->port); /* queued in the backlog */
		send_all(late, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 35);
		read_resp(late, &r);
		assert_int_equal(r.status, 200);
		assert_true(now_s() - t0 < PROM_DEADLINE_MS / 1000.0 + 1.5);
		free(r.body);
		close(late);
		for (i = 0; i < PROM_CONN_MAX; i++)
			close(held[i]);
	}
}

static void test_prom_server_client_gone_mid_response(void **state)
{
	struct srv *t = *state;
	struct resp r;
	int fd, i;

	/* a large body to clients that close at once: no SIGPIPE, the server carries on */
	SET(t->ctx.repeat, 20000); /* 6 MB, more than the socket buffers */
	for (i = 0; i < 3; i++) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		fd = connect_to(t->port);
		send_all(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 35);
		usleep(50 * 1000);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* close = reset */
		close(fd);
	}
	SET(t->ctx.repeat, 1);
	exchange(t->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, EXPOSITION);
	free(r.body);
}

static void test_prom_server_reader_that_stalls_is_cut_at_the_deadline(void **state)
{
	const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t full = strlen(EXPOSITION) * 20000, got = 0;
	struct srv *t = *state;
	int rcvbuf = 4096, a;
	struct resp r;
	char buf[65536];
	double t0;
	ssize_t k;

	SET(t->ctx.repeat, 20000); /* 6 MB: far more than the socket buffers hold */
	a = connect_to(t->port);
	assert_int_equal(setsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	send_all(a, req, strlen(req));
	usleep(200 * 1000); /* the server is now blocked on a's full buffers */

	/* another scrape meanwhile is answered whole and at once */
	t0 = now_s();
	exchange(t->port, req, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, full);
	assert_true(now_s() - t0 < 2.0);
	free(r.body);

	/*
	 * a's response stops where its deadline came: the connection is reset, not closed with
	 * megabytes left for the kernel to deliver at a's pace
	 */
	usleep((PROM_DEADLINE_MS + 300) * 1000);
	t0 = now_s();
	while ((k = recv(a, buf, sizeof(buf), 0)) > 0)
		got += (size_t)k;
	assert_int_equal(k, -1);
	assert_int_equal(errno, ECONNRESET);
	assert_true(got < full);
	assert_true(now_s() - t0 < 1.0);
	close(a);
}

/* ---- start and stop ---- */

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void test_prom_server_start_errors(void **state)
{
	struct render_ctx ctx = {.repeat = 1};
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	struct prom_server *s, *s2;
	char spec[32];
	struct resp r;
	int fd, port;

	(void)state;
	errno = 0;
	assert_null(prom_server_start("::1:80", render, &ctx));
	assert_int_equal(errno, EINVAL);
	prom_server_stop(NULL);

	/* by spec, on a port known to be free */
	port = free_port();
	snprintf(spec, sizeof(spec), "%d", port);
	s = prom_server_start(spec, render, &ctx);
	assert_non_null(s);
	assert_int_equal(prom_server_port(s), port);
	exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	free(r.body);

	/* the same port again: refused at start */
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	errno = 0;
	s2 = prom_server_start(spec, render, &ctx);
	assert_null(s2);
	assert_int_equal(errno, EADDRINUSE);
	prom_server_stop(s);

	/* a listener that is not ours */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(spec, sizeof(spec), "localhost:%d", ntohs(a.sin_port));
	errno = 0;
	assert_null(prom_server_start(spec, render, &ctx));
	assert_int_equal(errno, EADDRINUSE);
	close(fd);

	/* stopping with a client connected and silent does not wait for its deadline */
	port = free_port();
	snprintf(spec, sizeof(spec), "%d", port);
	s = prom_server_start(spec, render, &ctx);
	assert_non_null(s);
	fd = connect_to(port);
	{
		double t0 = now_s();
		char c;

		prom_server_stop(s);
		assert_true(now_s() - t0 < 1.0);
		/* closed (or reset while still in the backlog), not left open */
		errno = 0;
		assert_true(recv(fd, &c, 1, 0) <= 0);
		assert_true(errno == 0 || errno == ECONNRESET);
	}
	close(fd);
}

static void test_prom_server_ipv6(void **state)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct render_ctx ctx = {.repeat = 1};
	const char *req = "GET /metrics HTTP/1.1\r\nHost: [::1]\r\n\r\n";
	struct timeval tv = {.tv_sec = 10};
	struct prom_server *s;
	struct resp r;
	int fd;

	(void)state;
	s = prom_server_start_addr((struct sockaddr *)&a, sizeof(a), render, &ctx);
	if (!s && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
		skip(); /* a machine without IPv6 */
	assert_non_null(s);
	a.sin6_port = htons((uint16_t)prom_server_port(s));
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	send_all(fd, req, strlen(req));
	read_resp(fd, &r);
	close(fd);
	prom_server_stop(s);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, EXPOSITION);
	free(r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prom_addr_accepted),
	    cmocka_unit_test(test_prom_addr_refused_with_a_reason),
	    cmocka_unit_test(test_prom_request_complete),
	    cmocka_unit_test(test_prom_request_accept_encoding),
	    cmocka_unit_test(test_prom_request_partial),
	    cmocka_unit_test(test_prom_request_malformed),
	    cmocka_unit_test(test_prom_request_oversized),
	    cmocka_unit_test_setup_teardown(test_prom_server_get_metrics, srv_setup, srv_teardown),
	    cmocka_unit_test_setup_teardown(test_prom_server_head, srv_setup, srv_teardown),
	    cmocka_unit_test_setup_teardown(test_prom_server_index_404_405, srv_setup,
					    srv_teardown),
	    cmocka_unit_test_setup_teardown(test_prom_server_400_431, srv_setup, srv_teardown),
	    cmocka_unit_test_setup_teardown(test_prom_server_render_fails_500, srv_setup,
					    srv_teardown),
	    cmocka_unit_test_setup_teardown(test_prom_server_gzip, srv_setup, srv_teardown),
	    cmocka_unit_test_setup_teardown(test_prom_server_silent_clients_do_not_block, srv_setup,
					    srv_teardown),
	    cmocka_unit_test_setup_teardown(test_prom_server_deadline_closes_idle_client, srv_setup,
					    srv_teardown),
	    cmocka_unit_test_setup_teardown(test_prom_server_client_gone_mid_response, srv_setup,
					    srv_teardown),
	    cmocka_unit_test_setup_teardown(
		test_prom_server_reader_that_stalls_is_cut_at_the_deadline, srv_setup,
		srv_teardown),
	    cmocka_unit_test(test_prom_server_start_errors),
	    cmocka_unit_test(test_prom_server_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
