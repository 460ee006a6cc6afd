/* SPDX-License-Identifier: MIT */
/*
 * Connections seen in captured traffic: owns the table of (pid, conn_id) connections, turns the
 * ordered data chunks of each direction into byte streams (gaps detected from stream positions),
 * detects HTTP/1.1 or HTTP/2, feeds the parsers, and hands every finished exchange, with the
 * connection and traced call it came from, to a callback. What becomes of an exchange (spans,
 * GenAI annotation, body dumps) is the caller's business: this stage knows none of it.
 */
#ifndef BT_CONN_H
#define BT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bedtrace.h"
#include "proto/http.h"

/*
 * Body omission. Whether any consumer reads the bodies of @ex (@ctx: the exchange callback's;
 * only the request head may be parsed yet). A body nobody reads need not be copied by BPF.
 */
typedef bool (*conn_wants_body_fn)(void *ctx, const struct http_exchange *ex);
/*
 * Asks BPF not to copy stream bytes [@from, @to) of (@pid, @conn_id, @dir) (bt_omit_win).
 * Returns 0, or -errno when the window could not be set (every byte will come).
 */
typedef int (*conn_omit_fn)(void *ctx, uint32_t pid, uint64_t conn_id, int dir, uint64_t from,
			    uint64_t to);

/*
 * Arms (@arm non-NULL) or disarms (NULL) connection (@pid, @conn_id) for auto windows
 * (struct bt_auto_arm). Returns 0 or -errno.
 */
typedef int (*conn_arm_fn)(void *ctx, uint32_t pid, uint64_t conn_id,
			   const struct bt_auto_arm *arm);

/* Bodies shorter than this are copied whatever: a window costs a map update. */
#define CONN_OMIT_MIN BT_OMIT_MIN_BODY

struct conn_opts {
	size_t max_body; /* per message, decoded; beyond: truncated and counted */
	/*
	 * Both set: an HTTP/1.1 body with no content coding and at least CONN_OMIT_MIN bytes
	 * still to come, on an exchange wants_body declines, gets an omission window.
	 */
	conn_wants_body_fn wants_body;
	conn_omit_fn omit;
	/*
	 * Also set: once it asked for a window on an HTTP/1.1 connection, the tracker arms it, so
	 * that BPF opens the windows of later bodies of the same requests (method, path) itself.
	 */
	conn_arm_fn arm;
	void *omit_ctx; /* for omit and arm */
};

/* The two ends of a connection as BPF learned them (BT_EV_CONN); known false: not learned. */
struct conn_peer {
	bool known;
	uint16_t family; /* AF_INET or AF_INET6 */
	uint8_t local_addr[16], peer_addr[16];
	uint16_t local_port, peer_port; /* host byte order */
};

/* The traced thread and call that moved the chunk holding a request's first byte. */
struct conn_origin {
	uint32_t pid, tid;
	uint64_t call_id, parent_id, root_id; /* as in struct bt_data_event */
	uint32_t flags;			      /* enum bt_data_flags */
	bool known;			      /* false: context lost, the exchange starts a trace */
};

/* One finished (or, at close, abandoned) exchange and where it was seen; valid during the call. */
struct conn_exchange {
	const struct http_exchange *http;
	struct conn_origin origin;
	const struct conn_peer *peer; /* never NULL; peer->known false when not learned */
	bool tls;		      /* captured from a TLS library rather than a socket */
	uint64_t conn_id;
	uint64_t seq;	  /* exchanges delivered on this connection before this one */
	uint64_t last_ns; /* latest byte seen on the connection (monotonic): ends unfinished ones */
};

/*
 * Receives each exchange; everything it points to is freed when the callback returns. Runs inside
 * a tracker call: it must not call the tracker back.
 */
typedef void (*conn_exchange_fn)(void *ctx, const struct conn_exchange *x);

struct conn_stats {
	uint64_t connections;  /* connections seen */
	uint64_t not_http;     /* connections whose bytes were not HTTP (ignored) */
	uint64_t exchanges;    /* HTTP exchanges handed to the callback */
	uint64_t bytes;	       /* payload bytes received from BPF */
	uint64_t lost_bytes;   /* bytes known missing (gaps) */
	uint64_t truncated;    /* messages marked bedtrace.capture.truncated */
	uint64_t parse_errors; /* messages with a parse/decode error */
	uint64_t omit_windows; /* omission windows asked of BPF or opened by it */
	uint64_t omitted;      /* body bytes BPF did not copy, as asked */
	uint64_t auto_windows; /* of omit_windows, those BPF opened itself (BT_DATA_F_WINDOW) */
	uint64_t auto_refused; /* windows BPF opened that the parse disagreed with: bytes lost */
	uint64_t arms;	       /* connections armed or re-armed for auto windows */
};

struct conn_tracker;

/*
 * Returns a tracker (free with conn_tracker_free) or NULL + errno (EINVAL: no @cb). Each exchange
 * goes to @cb(@ctx, ...), from inside conn_tracker_data/conn/process_exit/flush.
 */
struct conn_tracker *conn_tracker_new(const struct conn_opts *opts, conn_exchange_fn cb, void *ctx);
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
