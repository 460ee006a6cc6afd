/* SPDX-License-Identifier: MIT */
/*
 * Connections seen in captured traffic: owns the table of (pid, conn_id) connections, turns the
 * ordered data chunks of each direction into byte streams (gaps detected from stream positions),
 * detects HTTP/1.1 or HTTP/2, feeds the parsers, and turns every exchange into an HTTP span
 * (CLIENT or SERVER), annotated as a Bedrock span when it is one, parented under the traced call
 * that was open on the thread that sent the request.
 */
#ifndef BT_CONN_H
#define BT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genai/bedrock.h"
#include "bedtrace.h"
#include "span/stitch.h"

struct conn_opts {
	size_t max_body;	     /* per message, decoded; beyond: truncated and counted */
	const char *dump_dir;	     /* --dump-bodies: write each reassembled body here, or NULL */
	struct bedrock_ctx *bedrock; /* NULL: no Bedrock annotation */
};

struct conn_stats {
	uint64_t connections;  /* connections seen */
	uint64_t not_http;     /* connections whose bytes were not HTTP (ignored) */
	uint64_t exchanges;    /* HTTP exchanges turned into spans */
	uint64_t bytes;	       /* payload bytes received from BPF */
	uint64_t lost_bytes;   /* bytes known missing (gaps) */
	uint64_t truncated;    /* messages marked bedtrace.capture.truncated */
	uint64_t parse_errors; /* messages with a parse/decode error */
};

struct conn_tracker;

/* Returns a tracker (free with conn_tracker_free) or NULL + errno. Spans go to @sink. */
struct conn_tracker *conn_tracker_new(const struct conn_opts *opts, struct stitcher *stitcher,
				      span_sink_fn sink, resource_fn resource, void *ctx);
void conn_tracker_free(struct conn_tracker *t);
/* One BT_EV_DATA event (e->len bytes valid in e->data). */
void conn_tracker_data(struct conn_tracker *t, const struct bt_data_event *e);
/* BT_EV_CONN (peer learned) or BT_EV_CLOSE (connection ended: flush, drop). */
void conn_tracker_conn(struct conn_tracker *t, const struct bt_conn_event *e);
/* Process @pid exited: close all of its connections. */
void conn_tracker_process_exit(struct conn_tracker *t, uint32_t pid, uint64_t ts_ns);
/* Shutdown: close every connection, delivering partial exchanges marked incomplete. */
void conn_tracker_flush(struct conn_tracker *t, uint64_t ts_ns);
void conn_tracker_stats(const struct conn_tracker *t, struct conn_stats *out);

#endif
