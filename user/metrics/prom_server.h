/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 endpoint behind --prometheus [ADDR:]PORT: a small server on its own thread that
 * answers Prometheus' scrapes of /metrics. It knows nothing about metrics: the body of each
 * scrape comes from a callback (the registry renders the text exposition format).
 *
 *   GET|HEAD /metrics   200, Content-Type PROM_CONTENT_TYPE, Content-Length, gzip when the
 *                       request's Accept-Encoding allows it (Prometheus sends "gzip")
 *   GET|HEAD /          200, a short text/plain page naming /metrics
 *   another path        404;  another method on / or /metrics: 405 with "Allow: GET, HEAD"
 *   malformed request   400;  a head longer than PROM_HEAD_MAX: 431
 *   the callback fails  500 (and one warning)
 * The query string is ignored. Every response carries "Connection: close": one request per
 * connection, which is how Prometheus scrapes a target that says so.
 *
 * A client gets PROM_DEADLINE_MS from accept to the last byte of its response (after that its
 * connection is closed, or reset when part of the response is still unsent); at most
 * PROM_CONN_MAX connections are served at once (others wait in the listen backlog) and each
 * has a fixed PROM_HEAD_MAX buffer, so slow or hostile clients cost bounded memory and delay
 * the next scrape by at most the deadline. Writes use MSG_NOSIGNAL. Problems of the server
 * (accept failing, the callback failing) are reported once with pr_warn, never per request.
 */
#ifndef BT_PROM_SERVER_H
#define BT_PROM_SERVER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_DEFAULT_ADDR "127.0.0.1" /* where a bare PORT binds */
#define PROM_HEAD_MAX 8192	      /* request line + headers + blank line, in bytes */
#define PROM_DEADLINE_MS 5000
#define PROM_CONN_MAX 8

/*
 * Renders the body of one /metrics response. Called on the server's thread, one call at a
 * time, while the rest of bedtrace runs: what it reads must be locked. Returns a malloc'd
 * buffer of *@len bytes (the server frees it; an empty body is still a buffer), or NULL with
 * errno set (the client gets a 500).
 */
typedef char *(*prom_render_fn)(void *ctx, size_t *len);

/*
 * Parses a listen address: "PORT" (binds PROM_DEFAULT_ADDR), "IPV4:PORT", "[IPV6]:PORT" or
 * "localhost:PORT" (127.0.0.1; no name is resolved). PORT is 1..65535 in decimal; "0.0.0.0"
 * and "[::]" are every interface. Fills @ss and @len. Returns 0 or -EINVAL;
 * prom_addr_error() says why.
 */
int prom_addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len);
/*
 * Why prom_addr_parse() refuses @spec, as a phrase for a one-line error ("--prometheus %s: %s"),
 * or NULL when it accepts it. A static string.
 */
const char *prom_addr_error(const char *spec);

/* A request head as prom_request_parse() found it; pointers are into the parsed buffer. */
struct prom_request {
	const char *method; /* a token, case-sensitive as HTTP methods are */
	size_t method_len;
	const char *path; /* the target without its query: "/metrics"; "/" for "http://h" */
	size_t path_len;
	int minor;	 /* HTTP/1.minor */
	bool gzip;	 /* Accept-Encoding allows gzip (or x-gzip, or "*"), q not 0 */
	size_t head_len; /* bytes up to and including the blank line */
};

/* What prom_request_parse() returns besides a head length. */
#define PROM_REQ_MORE 0		     /* the head does not end in the bytes so far */
#define PROM_REQ_BAD (-EBADMSG)	     /* 400 */
#define PROM_REQ_TOO_BIG (-EMSGSIZE) /* 431: no end of head in the first PROM_HEAD_MAX bytes */

/*
 * Parses the head of an HTTP/1.0 or 1.1 request at the start of @buf (@len bytes received so
 * far): request line in origin or absolute form, header fields (name ":" value; no folding),
 * lines ending in CRLF or LF, then an empty line. HTTP/1.1 needs exactly one Host field.
 * Returns the head's length (> 0) with @out filled, PROM_REQ_MORE, PROM_REQ_BAD or
 * PROM_REQ_TOO_BIG. A verdict other than PROM_REQ_MORE does not change when more bytes are
 * appended, and a line is judged as soon as it is complete (a bad request line needs no
 * blank line to be refused). Pure: no I/O, no allocation.
 */
int prom_request_parse(const char *buf, size_t len, struct prom_request *out);

struct prom_server;

/*
 * Binds and listens on @spec (see prom_addr_parse) with SO_REUSEADDR and close-on-exec, then
 * serves from a new thread that has every signal blocked. Returns the server, or NULL + errno:
 * EINVAL (a bad @spec: prom_addr_error() says why), EADDRINUSE, EACCES, EADDRNOTAVAIL or the
 * error of another call. The callback and @ctx must stay valid until prom_server_stop().
 */
struct prom_server *prom_server_start(const char *spec, prom_render_fn render, void *ctx);
/* The same on an address already parsed; port 0 picks a free one (prom_server_port). */
struct prom_server *prom_server_start_addr(const struct sockaddr *sa, socklen_t len,
					   prom_render_fn render, void *ctx);
/* The port the server listens on (host order). */
int prom_server_port(const struct prom_server *s);
/*
 * Stops the thread (a response being written is abandoned), closes every socket and frees
 * @s. Once it returns the callback is not running and will not be called. It waits for a
 * render in progress: do not call it holding a lock the callback takes. NULL is a no-op.
 */
void prom_server_stop(struct prom_server *s);

#endif
