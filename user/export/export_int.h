/* SPDX-License-Identifier: MIT */
/*
 * Private to user/export: the exporter object that export.c (files, and what every exporter
 * shares: the counts, write/finish/close) and otlp_http.c (OTLP/HTTP: the sender thread, the
 * retry queue, the spool) both work on. No other module includes this.
 */
#ifndef BT_EXPORT_INT_H
#define BT_EXPORT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "export/export.h"
#include "util/jbuf.h"
#include "util/stopwatch.h"

enum exporter_type { EXPORTER_FILE, EXPORTER_HTTP };

struct http_req;
struct bt_spool;
struct curl_slist;

struct bt_exporter {
	enum exporter_type type;
	enum bt_signal signal; /* immutable: names the items in warnings */
	pthread_mutex_t lock;
	/* updated with __atomic builtins so exporter_get_stats() needs no lock */
	struct exporter_stats stats;
	int last_err;		/* under lock: why spans were last finally lost */
	long last_status;	/* under lock: the HTTP status that last lost spans */
	int last_retry_err;	/* under lock: why the last attempt failed, while retrying */
	long last_retry_status; /* under lock: the status of that attempt (0: no answer) */
	bool finished;		/* exporter_finish() done: nothing more is sent */
	bool write_warned;	/* file: the first failed write of an episode was reported */

	/* file */
	struct jbuf line; /* under lock: the encoded batch, its buffer kept for the next one */
	int fd;
	bool own_fd;
	bool fd_is_reg; /* a regular file: a failed write can be cut off */
	char *path;	/* for exporter_reopen(); NULL for stdout */

	/* OTLP/HTTP: everything below is under lock unless noted */
	char *url;				  /* immutable */
	struct curl_slist *headers;		  /* immutable; the user's values: never logged */
	struct curl_slist *headers_gzip;	  /* the same plus Content-Encoding: gzip */
	bool gzip;				  /* immutable: compress new requests */
	long timeout_ms;			  /* immutable: per request */
	char *ca_file, *client_cert, *client_key; /* immutable */
	/* the spool is the sender's alone (and finish's once the sender is gone) */
	struct bt_spool *spool;
	uint64_t spool_max;	 /* immutable: --spool-max */
	uint64_t spool_retry_ns; /* under lock: no spool write before this (it failed) */
	bool spool_full_warned;	 /* under lock: once per episode */
	bool close_probe;	 /* under lock: finish's one attempt on a collector found away */
	uint64_t rng;		 /* under lock: jitter; seeded per exporter */
	pthread_t thread;
	pthread_cond_t cond; /* queue changed or closing */
	struct http_req *head, *tail;
	size_t queued_bytes; /* queue plus the request in flight */
	size_t queue_limit;
	unsigned close_timeout_ms;
	bool closing;
	uint64_t close_deadline_ns;
	uint64_t next_attempt_ns;
	unsigned backoff_ms;
	bool down;		 /* collector failing; warned once until it recovers */
	bool queue_full_warned;	 /* warned once per overflow episode */
	long last_reject_status; /* status of the last rejection warned about */
};

static inline void stat_add(uint64_t *counter, uint64_t v)
{
	__atomic_fetch_add(counter, v, __ATOMIC_RELAXED);
}

static inline void stat_sub(uint64_t *counter, uint64_t v)
{
	__atomic_fetch_sub(counter, v, __ATOMIC_RELAXED);
}

static inline void stat_set(uint64_t *counter, uint64_t v)
{
	__atomic_store_n(counter, v, __ATOMIC_RELAXED);
}

/* A zeroed exporter of @type for @signal with its lock initialised, or NULL. */
struct bt_exporter *exporter_alloc(enum exporter_type type, enum bt_signal signal);

/* The plural noun of @e's items in warnings ("spans", "data points", "log records"). */
static inline const char *exporter_items(const struct bt_exporter *e)
{
	return bt_signal_items(e->signal);
}

/*
 * otlp_http.c: exporter_write(), exporter_finish() and exporter_close() for OTLP/HTTP.
 * otlp_http_queue() takes @body (malloc'd, @len bytes of one encoded request of @n_items
 * items) in every case: compresses it if configured and queues it. Returns 0 or -errno (the
 * caller counts the loss).
 */
int otlp_http_queue(struct bt_exporter *e, char *body, size_t len, uint64_t n_items);
int otlp_http_finish(struct bt_exporter *e);
/* Frees what the HTTP part holds (not @e itself); the sender is gone (finished). */
void otlp_http_release(struct bt_exporter *e);

#endif
