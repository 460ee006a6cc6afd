/* SPDX-License-Identifier: MIT */
/*
 * Test support: building the struct http_msg a parser would hand over.
 * Header-only; every function is static.
 */
#ifndef BT_TEST_HTTP_MSG_H
#define BT_TEST_HTTP_MSG_H

#include <stdlib.h>
#include <string.h>

#include "proto/http.h"

#include "check.h"

/* Appends the header @name: @value (both copied; freed by http_msg_clear) to @m. */
static inline void hdr_add(struct http_msg *m, const char *name, const char *value)
{
	m->headers = realloc(m->headers, (m->n_headers + 1) * sizeof(*m->headers));
	TL_CHECK(m->headers != NULL);
	m->headers[m->n_headers].name = strdup(name);
	m->headers[m->n_headers].value = strdup(value);
	m->n_headers++;
}

#endif
