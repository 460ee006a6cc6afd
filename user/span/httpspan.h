/* SPDX-License-Identifier: MIT */
/*
 * HTTP exchange → OpenTelemetry span: builds the CLIENT or SERVER span of one http.h exchange
 * per the HTTP semantic conventions (never a credential header, never a body), places it in its
 * trace (a captured W3C traceparent first, else under the traced call open when the request was
 * sent, or as the server frame BPF opened), lets bedrock.c annotate Bedrock calls, and writes
 * --dump-bodies files. conn.c owns the connections; this module owns nothing between calls.
 */
#ifndef BT_HTTPSPAN_H
#define BT_HTTPSPAN_H

#include <stdbool.h>
#include <stdint.h>

#include "genai/bedrock.h"
#include "proto/http.h"
#include "span/span.h"
#include "span/stitch.h"

/* The two ends of a connection as BPF learned them (BT_EV_CONN); known false: not learned. */
struct conn_peer {
	bool known;
	uint16_t family; /* AF_INET or AF_INET6 */
	uint8_t local_addr[16], peer_addr[16];
	uint16_t local_port, peer_port; /* host byte order */
};

/* The traced thread and call that moved the chunk holding a request's first byte. */
struct httpspan_origin {
	uint32_t pid, tid;
	uint64_t call_id, parent_id, root_id; /* as in struct bt_data_event */
	uint32_t flags;			      /* enum bt_data_flags */
	bool known;			      /* false: context lost, the span starts a trace */
};

/* Where finished spans go and what decorates them. */
struct httpspan_env {
	struct stitcher *stitcher; /* NULL: every span starts its own trace */
	span_sink_fn sink;
	resource_fn resource;	     /* NULL: no resource */
	void *ctx;		     /* for sink and resource */
	struct bedrock_ctx *bedrock; /* NULL: no Bedrock annotation */
	const char *dump_dir;	     /* NULL: no body dumps */
};

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
 * Builds, places, annotates and sinks the span(s) of @ex seen on connection @conn_id of @o->pid;
 * @seq numbers the connection's exchanges (from 0) for dump file names. Returns 0 or -errno.
 */
int httpspan_emit(const struct httpspan_env *env, const struct http_exchange *ex,
		  const struct httpspan_origin *o, const struct conn_peer *peer, bool tls,
		  uint64_t conn_id, uint64_t seq, uint64_t last_ns);

/*
 * Writes @ex's decoded bodies to @dir/<pid>-<conn_id hex>-<seq>-<stream id>-{req,resp}.bin,
 * mode 0600, never following or replacing an existing file: when the name is taken (a reused
 * connection id), <conn_id hex>.<k> with the first free k. Returns 0 or the first -errno.
 */
int httpspan_dump_bodies(const char *dir, uint32_t pid, uint64_t conn_id, uint64_t seq,
			 const struct http_exchange *ex);

#endif
