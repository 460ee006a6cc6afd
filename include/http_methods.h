/* SPDX-License-Identifier: MIT */
/*
 * The HTTP request methods bedtrace knows, shared by the BPF programs and userspace; the one
 * list, so that what opens a server span or wakes userspace for a message head in BPF
 * (capture.bpf.h), what the HTTP/1.1 parser recognises as a request start (proto/http1_msg.c)
 * and what names a span (span/httpspan.c) cannot disagree.
 *
 * The list: the methods of RFC 9110 §9.3, PATCH (RFC 5789) and QUERY (the safe method with a
 * body, httpbis draft), which is the set OpenTelemetry's http.request.method names; any other
 * token is still parsed as a method, only not recognised by these three.
 *
 * Pure preprocessor, no types: usable from BPF C (no loops, no globals: compares unroll into
 * constant byte tests the verifier accepts) and from userspace.
 */
#ifndef BT_HTTP_METHODS_H
#define BT_HTTP_METHODS_H

/* X(name) for each known method, most frequent first. */
#define BT_HTTP_METHODS(X)                                                                         \
	X(GET) X(POST) X(PUT) X(HEAD) X(DELETE) X(PATCH) X(OPTIONS) X(QUERY) X(CONNECT) X(TRACE)

#define BT_HTTP_METHOD_COUNT 10

/* For a string array: { BT_HTTP_METHODS(BT_HTTP_METHOD_NAME) }. */
#define BT_HTTP_METHOD_NAME(m) #m,

/*
 * Bytes of a request line a prefix test reads: every known method is told apart by its first
 * four bytes, a three-letter one with the space that follows it.
 */
#define BT_HTTP_METHOD_PREFIX_LEN 4

/* True when the BT_HTTP_METHOD_PREFIX_LEN bytes at @p begin a request line of method @m. */
#define BT_HTTP_METHOD_PREFIX_IS(p, m)                                                             \
	((p)[0] == #m[0] && (p)[1] == #m[1] && (p)[2] == #m[2] &&                                  \
	 (p)[3] == (sizeof(#m) > 4 ? #m[3] : ' '))

#endif
