// SPDX-License-Identifier: MIT
/*
 * HTTP spans per the OpenTelemetry HTTP semantic conventions. Attribute values come only from
 * the request line, pseudo-headers, Host, User-Agent and traceparent: every other header may
 * carry a credential, so none is copied. URLs lose their userinfo and the values of query
 * parameters that name credentials (presigned URLs), by the rules of redact.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_methods.h"
#include "span/httpspan.h"
#include "span/semconv.h"
#include "util/log.h"
#include "util/redact.h"

static const char *const known_methods[] = {BT_HTTP_METHODS(BT_HTTP_METHOD_NAME)};

static bool method_known(const char *m)
{
	size_t i;

	for (i = 0; i < sizeof(known_methods) / sizeof(known_methods[0]); i++)
		if (!strcmp(m, known_methods[i]))
			return true;
	return false;
}

/* True for an absolute-form request target (proxy requests): scheme "://" first. */
static const char *absolute_form(const char *t)
{
	const char *p = t;

	if (!isalpha((unsigned char)*p))
		return NULL;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return strncmp(p, "://", 3) ? NULL : p + 3;
}

/*
 * Splits @authority into host (userinfo and IPv6 brackets removed) and port (0: none given).
 * Returns false when it does not look like host[:port].
 */
static bool authority_split(const char *authority, char *host, size_t host_sz, int *port)
{
	const char *a = authority, *at, *h, *hend, *p = NULL;
	size_t n = strlen(a);
	char *end;
	long v;

	at = memrchr(a, '@', n);
	if (at)
		a = at + 1;
	if (*a == '[') {
		h = a + 1;
		hend = strchr(h, ']');
		if (!hend)
			return false;
		if (hend[1] == ':')
			p = hend + 2;
		else if (hend[1])
			return false;
	} else {
		h = a;
		hend = strchr(h, ':');
		if (hend)
			p = hend + 1;
		else
			hend = h + strlen(h);
	}
	if (hend == h || (size_t)(hend - h) >= host_sz)
		return false;
	memcpy(host, h, hend - h);
	host[hend - h] = '\0';
	*port = 0;
	if (p) {
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || *end || v <= 0 || v > 65535)
			return false;
		*port = (int)v;
	}
	return true;
}

static bool addr_str(uint16_t family, const uint8_t *addr, char *out, size_t out_sz)
{
	if (family == AF_INET)
		return inet_ntop(AF_INET, addr, out, out_sz) != NULL;
	if (family == AF_INET6)
		return inet_ntop(AF_INET6, addr, out, out_sz) != NULL;
	return false;
}

static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

bool httpspan_traceparent(const char *value, uint8_t trace_id[BT_TRACE_ID_LEN],
			  uint8_t parent_id[BT_SPAN_ID_LEN])
{
	/* version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55 */
	const char *v = value;
	size_t n;

	if (!v)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || !all_hex(v, 2) ||
	    !all_hex(v + 3, 32) || !all_hex(v + 36, 16) || !all_hex(v + 53, 2))
		return false;
	/* version ff is invalid; version 00 is exactly 55 long; later ones may append "-..." */
	if (!strncmp(v, "ff", 2) || (!strncmp(v, "00", 2) && n != 55) || (n > 55 && v[55] != '-'))
		return false;
	unhex(v + 3, trace_id, BT_TRACE_ID_LEN);
	unhex(v + 36, parent_id, BT_SPAN_ID_LEN);
	return !all_zero(trace_id, BT_TRACE_ID_LEN) && !all_zero(parent_id, BT_SPAN_ID_LEN);
}

static const char *version_str(int version)
{
	if (version == 20)
		return "2";
	if (version == 10)
		return "1.0";
	return "1.1";
}

/* Request attributes on the client side: url.full and the server it names. */
static int client_url_attrs(struct bt_span *span, const struct http_msg *req, const char *scheme,
			    const struct conn_peer *peer)
{
	char host[256], paddr[INET6_ADDRSTRLEN], *url = NULL, *authority = NULL;
	const char *target = req->target ? req->target : "/", *auth = req->authority;
	bool have_host = false;
	int port = 0, err = 0;

	if (!auth)
		auth = http_msg_header(req, "host");
	if (req->method && !strcmp(req->method, "CONNECT"))
		auth = auth ? auth : target;
	if (auth && authority_split(auth, host, sizeof(host), &port))
		have_host = true;
	else if (absolute_form(target)) {
		const char *a = absolute_form(target);
		char buf[256];
		size_t n = strcspn(a, "/?#");

		if (n < sizeof(buf)) {
			memcpy(buf, a, n);
			buf[n] = '\0';
			have_host = authority_split(buf, host, sizeof(host), &port);
		}
	}
	if (!have_host && peer && peer->known &&
	    addr_str(peer->family, peer->peer_addr, paddr, sizeof(paddr))) {
		/* no Host at all (HTTP/1.0): the URL names the address we connected to */
		snprintf(host, sizeof(host), "%s", paddr);
		port = peer->peer_port;
		have_host = true;
		if (asprintf(&authority, peer->family == AF_INET6 ? "[%s]:%d" : "%s:%d", paddr,
			     port) < 0) {
			authority = NULL;
			err = -ENOMEM;
			goto cleanup;
		}
		auth = authority;
	}
	if (!port && have_host)
		port = !strcmp(scheme, "https") ? 443 : 80;
	if (auth || absolute_form(target)) {
		url = redact_url(scheme, auth ? auth : "", target);
		if (!url) {
			err = -ENOMEM;
			goto cleanup;
		}
		bt_attrs_set_str(&span->attrs, ATTR_URL_FULL, url);
	}
	if (have_host) {
		bt_attrs_set_str(&span->attrs, ATTR_SERVER_ADDRESS, host);
		bt_attrs_set_int(&span->attrs, ATTR_SERVER_PORT, port);
	}
	err = span->attrs.err;
cleanup:
	free(url);
	free(authority);
	return err;
}

/* Request attributes on the server side: url.path/query and this server's address. */
static int server_url_attrs(struct bt_span *span, const struct http_msg *req,
			    const struct conn_peer *peer)
{
	const char *target = req->target, *auth = req->authority, *path, *q, *end;
	char host[256], laddr[INET6_ADDRSTRLEN];
	char *query;
	int port = 0;

	if (target) {
		path = absolute_form(target);
		path = path ? path + strcspn(path, "/?#") : target;
		end = path + strcspn(path, "#");
		q = memchr(path, '?', end - path);
		bt_attrs_set_strn(&span->attrs, ATTR_URL_PATH, path,
				  q ? (size_t)(q - path) : (size_t)(end - path));
		if (q) {
			query = redact_query(q + 1, end - q - 1);
			if (!query)
				return -ENOMEM;
			bt_attrs_set_str(&span->attrs, ATTR_URL_QUERY, query);
			free(query);
		}
	}
	if (!auth)
		auth = http_msg_header(req, "host");
	if (auth && authority_split(auth, host, sizeof(host), &port)) {
		bt_attrs_set_str(&span->attrs, ATTR_SERVER_ADDRESS, host);
		if (!port && peer && peer->known)
			port = peer->local_port;
		if (port)
			bt_attrs_set_int(&span->attrs, ATTR_SERVER_PORT, port);
	} else if (peer && peer->known &&
		   addr_str(peer->family, peer->local_addr, laddr, sizeof(laddr))) {
		bt_attrs_set_str(&span->attrs, ATTR_SERVER_ADDRESS, laddr);
		bt_attrs_set_int(&span->attrs, ATTR_SERVER_PORT, peer->local_port);
	}
	return span->attrs.err;
}

static void peer_attrs(struct bt_span *span, const struct conn_peer *peer, bool server)
{
	char addr[INET6_ADDRSTRLEN];

	if (!peer || !peer->known || !addr_str(peer->family, peer->peer_addr, addr, sizeof(addr)))
		return;
	bt_attrs_set_str(&span->attrs, ATTR_NETWORK_PEER_ADDRESS, addr);
	bt_attrs_set_int(&span->attrs, ATTR_NETWORK_PEER_PORT, peer->peer_port);
	if (server) {
		bt_attrs_set_str(&span->attrs, ATTR_CLIENT_ADDRESS, addr);
		bt_attrs_set_int(&span->attrs, ATTR_CLIENT_PORT, peer->peer_port);
	}
}

/* Capture quality: what was lost, cut short or never seen, and what failed to parse. */
static void capture_attrs(struct bt_span *span, const struct http_exchange *ex, bool *capture_issue)
{
	const struct http_msg *req = ex->has_request ? &ex->req : NULL;
	const struct http_msg *resp = ex->has_response ? &ex->resp : NULL;
	uint64_t lost = (req ? req->lost_bytes : 0) + (resp ? resp->lost_bytes : 0);
	bool truncated = lost || (req && req->truncated) || (resp && resp->truncated);
	bool incomplete = ex->incomplete || !req || !resp;
	const char *error = (req && req->error) ? req->error : resp ? resp->error : NULL;

	*capture_issue = truncated || incomplete;
	if (truncated)
		bt_attrs_set_bool(&span->attrs, ATTR_BEDTRACE_CAPTURE_TRUNCATED, true);
	if (lost)
		bt_attrs_set_int(&span->attrs, ATTR_BEDTRACE_CAPTURE_LOST_BYTES,
				 lost > INT64_MAX ? INT64_MAX : (int64_t)lost);
	if (incomplete)
		bt_attrs_set_bool(&span->attrs, ATTR_BEDTRACE_HTTP_INCOMPLETE, true);
	if (error)
		bt_attrs_set_str(&span->attrs, ATTR_BEDTRACE_HTTP_ERROR, error);
}

static int status_attrs(struct bt_span *span, const struct http_exchange *ex, bool capture_issue)
{
	const char *error = ex->has_request && ex->req.error ? ex->req.error
			    : ex->has_response		     ? ex->resp.error
							     : NULL;
	int status = ex->has_response ? ex->resp.status : 0;
	char code[16];
	int err;

	if (status > 0) {
		err = bt_attrs_set_int(&span->attrs, ATTR_HTTP_RESPONSE_STATUS_CODE, status);
		if (status >= (ex->server_side ? 500 : 400)) {
			snprintf(code, sizeof(code), "%d", status);
			err = bt_attrs_set_str(&span->attrs, ATTR_ERROR_TYPE, code);
			return err ?: bt_span_set_status(span, BT_STATUS_ERROR, NULL);
		}
		if (err)
			return err;
	}
	/*
	 * A message the capture lost part of is our failure, not the application's: it is marked
	 * truncated/incomplete above, and only a parse failure on whole bytes is an ERROR.
	 */
	if (!error || capture_issue)
		return 0;
	err = bt_attrs_set_str(&span->attrs, ATTR_ERROR_TYPE, ATTR_BEDTRACE_HTTP_PARSE_ERROR);
	return err ?: bt_span_set_status(span, BT_STATUS_ERROR, error);
}

struct bt_span *httpspan_build(const struct http_exchange *ex, const struct conn_peer *peer,
			       bool tls, uint64_t last_ns)
{
	const struct http_msg *req = &ex->req, *resp = &ex->resp;
	const char *method = ex->has_request ? req->method : NULL, *scheme, *ua;
	uint64_t start, end;
	bool capture_issue;
	struct bt_span *span;
	int err;

	span = bt_span_new(method && method_known(method) ? method : "HTTP",
			   ex->server_side ? BT_KIND_SERVER : BT_KIND_CLIENT);
	if (!span)
		return NULL;
	scheme = ex->has_request && req->scheme ? req->scheme : tls ? "https" : "http";

	start = ex->has_request && req->start_ns ? req->start_ns : resp->start_ns;
	end = ex->has_response && resp->complete && resp->end_ns ? resp->end_ns : 0;
	if (!end) {
		/* the response never finished: the span lasts as long as we saw anything happen */
		end = last_ns;
		if (ex->has_response && resp->end_ns > end)
			end = resp->end_ns;
		if (ex->has_request && req->end_ns > end)
			end = req->end_ns;
	}
	if (!start)
		start = end;
	if (end < start)
		end = start;
	span->start_ns = bt_mono_to_unix_ns(start);
	span->end_ns = bt_mono_to_unix_ns(end);

	if (method) {
		bt_attrs_set_str(&span->attrs, ATTR_HTTP_REQUEST_METHOD,
				 method_known(method) ? method : "_OTHER");
		if (!method_known(method))
			bt_attrs_set_str(&span->attrs, ATTR_HTTP_REQUEST_METHOD_ORIGINAL, method);
	}
	bt_attrs_set_str(&span->attrs, ATTR_URL_SCHEME, scheme);
	/* the URL helpers allocate besides the attribute set: their own errors come back too */
	err = !ex->has_request	? 0
	      : ex->server_side ? server_url_attrs(span, req, peer)
				: client_url_attrs(span, req, scheme, peer);
	if (err)
		goto fail;
	peer_attrs(span, peer, ex->server_side);
	bt_attrs_set_str(&span->attrs, ATTR_NETWORK_PROTOCOL_NAME, "http");
	bt_attrs_set_str(&span->attrs, ATTR_NETWORK_PROTOCOL_VERSION, version_str(ex->version));
	if (ex->has_request)
		bt_attrs_set_int(&span->attrs, ATTR_HTTP_REQUEST_BODY_SIZE,
				 (int64_t)req->wire_body_len);
	if (ex->has_response)
		bt_attrs_set_int(&span->attrs, ATTR_HTTP_RESPONSE_BODY_SIZE,
				 (int64_t)resp->wire_body_len);
	ua = ex->has_request ? http_msg_header(req, "user-agent") : NULL;
	if (ua)
		bt_attrs_set_str(&span->attrs, ATTR_USER_AGENT_ORIGINAL, ua);
	capture_attrs(span, ex, &capture_issue);
	/* the set's sticky error, or the status message's (allocated outside the set) */
	err = status_attrs(span, ex, capture_issue) ?: span->attrs.err;
	if (err)
		goto fail;
	return span;
fail:
	bt_span_free(span);
	errno = -err;
	return NULL;
}

uint64_t httpspan_place(struct stitcher *stitcher, struct bt_span *span,
			const struct http_exchange *ex, const struct conn_origin *o)
{
	const char *tp = ex->has_request ? http_msg_header(&ex->req, "traceparent") : NULL;
	uint8_t trace_id[BT_TRACE_ID_LEN], parent_id[BT_SPAN_ID_LEN];
	bool adopt = ex->server_side && (o->flags & BT_DATA_F_SERVER_START);
	bool remote = httpspan_traceparent(tp, trace_id, parent_id);
	uint64_t root = 0;
	int err = 0;

	if (stitcher && o->known && o->call_id) {
		root = o->root_id ? o->root_id : o->call_id;
		/*
		 * A server frame keeps its call's span id even when the request names a remote
		 * parent, so that the handler's function spans still point at it.
		 */
		if (adopt)
			err = stitcher_adopt(stitcher, span, o->call_id, o->parent_id, o->root_id);
		else if (!remote)
			err =
			    stitcher_parent(stitcher, span, o->call_id, o->root_id, o->pid, o->tid);
		if (err) {
			pr_debug("http span: no ids for call %#" PRIx64 ": %s\n", o->call_id,
				 strerror(-err));
			root = 0;
		}
	} else if (stitcher && !remote && !ex->server_side) {
		/* no traced call around it: maybe a sampled Python call is */
		root = stitcher_place_outer(stitcher, span, o->pid, o->tid);
	}
	if (remote) {
		memcpy(span->trace_id, trace_id, sizeof(trace_id));
		memcpy(span->parent_span_id, parent_id, sizeof(parent_id));
		/* totals of a trace that started elsewhere are not ours to keep */
		root = 0;
	}
	return root;
}
