/* SPDX-License-Identifier: MIT */
/*
 * HTTP exchange → OpenTelemetry span: builds the CLIENT or SERVER span of one http.h exchange
 * per the HTTP semantic conventions (never a credential header, never a body) and places it in
 * its trace (a captured W3C traceparent first, else under the traced call open when the request
 * was sent, or as the server frame BPF opened). GenAI annotation, body dumps and sinking are the
 * event loop's: this module owns nothing between calls.
 */
#ifndef BT_HTTPSPAN_H
#define BT_HTTPSPAN_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/http.h"
#include "span/span.h"
#include "span/stitch.h"
#include "stream/conn.h"

/*
 * Returns the span of @ex (caller frees), named and attributed but not yet placed in a trace,
 * or NULL + errno. @peer may be NULL; @last_ns (monotonic) ends a span whose response never
 * completed.
 */
struct bt_span *httpspan_build(const struct http_exchange *ex, const struct conn_peer *peer,
			       bool tls, uint64_t last_ns);

/* Returns true and fills the ids if @value is a valid W3C traceparent (version 00 rules). */
bool httpspan_traceparent(const char *value, uint8_t trace_id[BT_TRACE_ID_LEN],
			  uint8_t parent_id[BT_SPAN_ID_LEN]);

/*
 * Puts @span (from httpspan_build for @ex) in its trace: a valid traceparent in the request names
 * the remote parent; else, with @stitcher, under the traced call of @o (a SERVER frame BPF opened
 * is adopted: the span takes that frame's ids); else it starts a trace of its own. Returns the
 * root call whose GenAI totals its usage joins, 0 when none (a remote or a new trace).
 */
uint64_t httpspan_place(struct stitcher *stitcher, struct bt_span *span,
			const struct http_exchange *ex, const struct conn_origin *o);

#endif
