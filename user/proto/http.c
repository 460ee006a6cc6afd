// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/http.h"

const char *http_msg_header(const struct http_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_headers; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

void http_msg_clear(struct http_msg *m)
{
	size_t i;

	free(m->method);
	free(m->target);
	free(m->authority);
	free(m->scheme);
	for (i = 0; i < m->n_headers; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->body);
	free(m->body_ts);
	memset(m, 0, sizeof(*m));
}

void http_exchange_clear(struct http_exchange *ex)
{
	http_msg_clear(&ex->req);
	http_msg_clear(&ex->resp);
	memset(ex, 0, sizeof(*ex));
}

uint64_t http_msg_body_time(const struct http_msg *m, size_t off)
{
	uint64_t ts = 0;
	size_t i;

	for (i = 0; i < m->n_body_ts && m->body_ts[i].off <= off; i++)
		ts = m->body_ts[i].ts_ns;
	return ts;
}
