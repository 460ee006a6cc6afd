// SPDX-License-Identifier: MIT
/*
 * The OTLP/HTTP exporter: requests encoded (and gzip-compressed) by the caller, a sender thread
 * POSTing them through libcurl, retries as the OTLP/HTTP specification states them, a bounded
 * memory queue and the on-disk spool (spool.c). See export.h for the delivery contract.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "export/export.h"
#include "export/export_int.h"
#include "export/spool.h"
#include "util/gzip.h"
#include "util/log.h"

#ifndef BT_VERSION
#define BT_VERSION "dev"
#endif

#define DEFAULT_QUEUE_BYTES (64u << 20)
#define DEFAULT_CLOSE_TIMEOUT_MS 5000u
/* A dead or black-holed collector costs the sender at most this per attempt. */
#define CONNECT_TIMEOUT_MS 1000L
#define BACKOFF_MIN_MS 250u
/* a collector that comes back is noticed within this; an attempt on a dead one is one connect */
#define BACKOFF_MAX_MS 5000u
/* Honour Retry-After, but never park spans longer than this. */
#define RETRY_AFTER_MAX_MS 60000u
/* Backoff cap while closing, so the close window is spent retrying rather than waiting. */
#define CLOSE_BACKOFF_MAX_MS 1000u
/* How much of a collector's answer is kept for warnings and partialSuccess. */
#define RESPONSE_KEEP 4096
/* With a spool, more than this queued in memory goes to disk (what a SIGKILL would lose). */
#define SPOOL_MEM_BYTES (4u << 20)
#define DEFAULT_SPOOL_MAX (1ull << 30)
/* After a failed spool write, requests stay in memory this long before the next try. */
#define SPOOL_RETRY_MS 5000u

/* One encoded request (ExportTraceServiceRequest, ...) waiting for (re)delivery. */
struct http_req {
	struct http_req *next;
	char *body; /* owned, or item.body when read back from the spool */
	size_t len;
	uint64_t n_items; /* spans, data points or log records */
	unsigned attempts;
	bool gzip;
	bool spooled; /* read back from the spool: its file goes once the collector took it */
	struct spool_item item;
};

/* Formats a byte count for a warning ("64 MiB", "4.9 KiB"). */
static const char *fmt_size(size_t bytes, char *buf, size_t size)
{
	if (bytes >= (1u << 30))
		snprintf(buf, size, "%.3g GiB", bytes / 1073741824.0);
	else if (bytes >= (1u << 20))
		snprintf(buf, size, "%.3g MiB", bytes / 1048576.0);
	else
		snprintf(buf, size, "%.3g KiB", bytes / 1024.0);
	return buf;
}

struct post_result {
	CURLcode cc;
	long status;
	curl_off_t retry_after_s;
	char body[RESPONSE_KEEP + 1];
	size_t body_len;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t collect_response(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct post_result *res = userdata;
	size_t len = size * nmemb, room = RESPONSE_KEEP - res->body_len;

	if (len < room)
		room = len;
	memcpy(res->body + res->body_len, ptr, room);
	res->body_len += room;
	res->body[res->body_len] = '\0';
	/* the rest is read and discarded so the connection stays reusable */
	return len;
}

/* Aborts a request still running when the close deadline passes. */
static int abort_at_deadline(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
			     curl_off_t ultotal, curl_off_t ulnow)
{
	struct bt_exporter *e = clientp;
	bool late;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	pthread_mutex_lock(&e->lock);
	late = e->closing && sw_now_ns() >= e->close_deadline_ns;
	pthread_mutex_unlock(&e->lock);
	return late;
}

/* Returns a curl handle set up for @e's collector, or NULL. */
static CURL *http_handle_new(struct bt_exporter *e)
{
	CURL *curl = curl_easy_init();

	if (!curl)
		return NULL;
	curl_easy_setopt(curl, CURLOPT_URL, e->url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	/* no signals from a helper thread; DNS timeouts use the threaded resolver */
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "bedtrace/" BT_VERSION);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_response);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	if (e->ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, e->ca_file);
	if (e->client_cert && e->client_key) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, e->client_cert);
		curl_easy_setopt(curl, CURLOPT_SSLKEY, e->client_key);
	}
	/* called about once a second even when stalled: bounds close() on a hung collector */
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_at_deadline);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, e);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	return curl;
}

static void http_post(struct bt_exporter *e, CURL *curl, const struct http_req *req,
		      long timeout_ms, struct post_result *res)
{
	memset(res, 0, sizeof(*res));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, req->gzip ? e->headers_gzip : e->headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, res->errbuf);
	res->cc = curl_easy_perform(curl);
	if (res->cc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status);
		/* seconds, from either form of the header (delay or HTTP date) */
		curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &res->retry_after_s);
	}
	/* the handle must not keep pointers into a request that is about to be freed */
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
}

static int curl_errno(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_ABORTED_BY_CALLBACK: /* the close deadline passed mid-request */
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	default:
		return -EIO;
	}
}

/* The OTLP/HTTP specification's retryable statuses; every other 4xx and 5xx is final. */
static bool status_retryable(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

/* Copies @len bytes of @s into @out as one printable line of at most 200 characters. */
static void printable(const char *s, size_t len, char *out, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < size && n < 200; i++) {
		unsigned char c = (unsigned char)s[i];

		out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[n] = '\0';
}

/*
 * The collector's reason for a failure as one line: the "message" of an OTLP Status answer in
 * JSON, else the start of the body.
 */
static void response_message(const struct post_result *res, char *out, size_t size)
{
	const cJSON *msg;
	cJSON *root = NULL;

	if (res->body_len)
		root = cJSON_ParseWithLength(res->body, res->body_len);
	msg = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (cJSON_IsString(msg) && msg->valuestring[0])
		printable(msg->valuestring, strlen(msg->valuestring), out, size);
	else
		printable(res->body, res->body_len, out, size);
	cJSON_Delete(root);
}

/*
 * Returns the rejected count of an OTLP partialSuccess answer for @e's signal (rejectedSpans,
 * rejectedDataPoints, rejectedLogRecords), 0 if none. @msg gets errorMessage.
 */
static uint64_t partial_rejected(const struct bt_exporter *e, const struct post_result *res,
				 char *msg, size_t size)
{
	const cJSON *ps, *rej, *em;
	cJSON *root;
	uint64_t n = 0;

	msg[0] = '\0';
	if (!res->body_len)
		return 0;
	root = cJSON_ParseWithLength(res->body, res->body_len);
	ps = cJSON_GetObjectItemCaseSensitive(root, "partialSuccess");
	rej = cJSON_GetObjectItemCaseSensitive(ps, bt_signal_rejected_field(e->signal));
	/* int64 is a string in OTLP JSON, but be lenient with collectors that send a number */
	if (cJSON_IsString(rej))
		n = strtoull(rej->valuestring, NULL, 10);
	else if (cJSON_IsNumber(rej) && rej->valuedouble > 0)
		n = (uint64_t)rej->valuedouble;
	em = cJSON_GetObjectItemCaseSensitive(ps, "errorMessage");
	if (cJSON_IsString(em))
		printable(em->valuestring, strlen(em->valuestring), msg, size);
	cJSON_Delete(root);
	return n;
}

static void req_free(struct http_req *req)
{
	if (!req)
		return;
	if (req->spooled)
		spool_item_free(&req->item);
	else
		free(req->body);
	free(req);
}

/* Counts @req's items as lost for the reason @why (a dropped_* counter of e->stats). */
static void drop_req(struct bt_exporter *e, struct http_req *req, uint64_t *why)
{
	stat_add(&e->stats.spans_dropped, req->n_items);
	stat_add(why, req->n_items);
	e->queued_bytes -= req->len;
	req_free(req);
}

/* Takes the head of the memory queue. Lock held. */
static struct http_req *queue_pop(struct bt_exporter *e)
{
	struct http_req *req = e->head;

	if (!req)
		return NULL;
	e->head = req->next;
	if (!e->head)
		e->tail = NULL;
	req->next = NULL;
	return req;
}

static void queue_push_front(struct bt_exporter *e, struct http_req *req)
{
	req->next = e->head;
	e->head = req;
	if (!e->tail)
		e->tail = req;
}

/* Mirrors the spool's occupancy into the stats (read by other threads). */
static void spool_sync_stats(struct bt_exporter *e)
{
	struct spool_stats ss;

	if (!e->spool)
		return;
	spool_get_stats(e->spool, &ss);
	stat_set(&e->stats.spool_files, ss.files);
	stat_set(&e->stats.spool_bytes, ss.bytes);
}

/*
 * Moves the head of the memory queue to the spool. Lock held; released around the disk I/O
 * (only this thread touches the spool or takes from the queue's head).
 */
static void spill_head(struct bt_exporter *e)
{
	struct http_req *req = queue_pop(e);
	char sz[32];
	int err;

	pthread_mutex_unlock(&e->lock);
	err = spool_put(e->spool, req->body, req->len, req->n_items, req->gzip);
	pthread_mutex_lock(&e->lock);
	spool_sync_stats(e);
	if (!err) {
		stat_add(&e->stats.spans_spooled, req->n_items);
		e->queued_bytes -= req->len;
		e->spool_full_warned = false;
		req_free(req);
		return;
	}
	if (err == -EFBIG) {
		if (!e->spool_full_warned) {
			pr_warn("spool %s is full (--spool-max %s); dropping new %s until the "
				"collector takes what it holds\n",
				spool_dir(e->spool), fmt_size(e->spool_max, sz, sizeof(sz)),
				exporter_items(e));
			e->spool_full_warned = true;
		}
		e->last_err = -ENOBUFS;
		drop_req(e, req, &e->stats.dropped_spool_full);
		return;
	}
	/* a disk problem: keep it in memory (bounded as without a spool) and try later */
	pr_warn("spool %s: cannot write (%s); keeping %s in memory for now\n", spool_dir(e->spool),
		strerror(-err), exporter_items(e));
	queue_push_front(e, req);
	e->spool_retry_ns = sw_now_ns() + SPOOL_RETRY_MS * 1000000ull;
}

/* Whether the head of the memory queue should go to the spool now. Lock held. */
static bool spill_due(const struct bt_exporter *e, uint64_t now)
{
	if (!e->spool || !e->head || now < e->spool_retry_ns)
		return false;
	return e->down || e->queued_bytes > SPOOL_MEM_BYTES ||
	       (e->closing && now >= e->close_deadline_ns);
}

/*
 * Reads the oldest spooled request into a new *@out. Lock held, released around the read.
 * Returns 0, -ENOENT (spool empty), -EAGAIN (a corrupt file was set aside: try again) or
 * -errno of the read.
 */
static int spool_take(struct bt_exporter *e, struct http_req **out)
{
	struct http_req *req = calloc(1, sizeof(*req));
	int err;

	if (!req)
		return -ENOMEM;
	pthread_mutex_unlock(&e->lock);
	err = spool_read_oldest(e->spool, &req->item);
	pthread_mutex_lock(&e->lock);
	if (err == -EBADMSG) {
		/* those spans are gone: counted like a failed write of this run's output */
		if (!req->item.from_earlier_run && req->item.n_spans) {
			stat_sub(&e->stats.spans_spooled, req->item.n_spans);
			stat_add(&e->stats.spans_dropped, req->item.n_spans);
			stat_add(&e->stats.dropped_write, req->item.n_spans);
			e->last_err = -EIO;
		}
		spool_sync_stats(e);
		free(req);
		return -EAGAIN;
	}
	if (err) {
		free(req);
		return err;
	}
	req->spooled = true;
	req->body = req->item.body;
	req->len = req->item.body_len;
	req->n_items = req->item.n_spans;
	req->gzip = req->item.gzip;
	*out = req;
	return 0;
}

/* The collector took or finally refused spooled @req: its file goes. Lock held. */
static void spool_done(struct bt_exporter *e, struct http_req *req)
{
	int err = spool_remove(e->spool, &req->item);

	if (err)
		pr_warn("spool: cannot remove %s/%s (%s); it may be sent again by the next run\n",
			spool_dir(e->spool), req->item.name, strerror(-err));
	spool_sync_stats(e);
}

/* Collector answered: handles recovery bookkeeping. Called with the lock held. */
static void http_reachable(struct bt_exporter *e)
{
	if (e->down)
		pr_warn("OTLP collector %s is reachable again; sending %s %s\n", e->url,
			e->spool ? "queued and spooled" : "queued", exporter_items(e));
	e->down = false;
	e->backoff_ms = BACKOFF_MIN_MS;
	e->next_attempt_ns = 0;
}

/* A random number from @e's own generator (xorshift64; seeded per exporter). Lock held. */
static uint64_t rand_u64(struct bt_exporter *e)
{
	uint64_t x = e->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return e->rng = x;
}

/* @ms give or take 10 %: clients that lost the collector together do not return together. */
static uint64_t jitter_ms(struct bt_exporter *e, uint64_t ms)
{
	uint64_t span = ms / 5;

	return span ? ms - span / 2 + rand_u64(e) % (span + 1) : ms;
}

/*
 * Schedules the next attempt after a retryable failure of @req and keeps @req: back at the
 * head of the memory queue, or in the spool (a spooled request is simply let go; its file
 * stays). Lock held.
 */
static void http_retry_later(struct bt_exporter *e, struct http_req *req,
			     const struct post_result *res, int err)
{
	uint64_t delay_ms = jitter_ms(e, e->backoff_ms);
	char what[CURL_ERROR_SIZE + 32], sz[32];

	if (req->spooled)
		req_free(req);
	else
		queue_push_front(e, req);
	e->last_retry_err = err;
	e->last_retry_status = res->cc == CURLE_OK ? res->status : 0;
	if (res->retry_after_s > 0) {
		uint64_t ra_ms = (uint64_t)res->retry_after_s * 1000;

		/* never earlier than asked; later only by a little jitter */
		if (ra_ms > RETRY_AFTER_MAX_MS)
			ra_ms = RETRY_AFTER_MAX_MS;
		delay_ms = ra_ms + rand_u64(e) % (ra_ms / 10 + 1);
	}
	/* closing shortens our own backoff, never the collector's Retry-After (the close
	 * deadline still bounds the wait) */
	if (e->closing && delay_ms > CLOSE_BACKOFF_MAX_MS && res->retry_after_s <= 0)
		delay_ms = CLOSE_BACKOFF_MAX_MS;
	e->next_attempt_ns = sw_now_ns() + delay_ms * 1000000ull;
	e->backoff_ms = e->backoff_ms * 2 < BACKOFF_MAX_MS ? e->backoff_ms * 2 : BACKOFF_MAX_MS;
	if (e->down)
		return;
	e->down = true;
	if (res->cc == CURLE_ABORTED_BY_CALLBACK)
		snprintf(what, sizeof(what), "no answer before the exit deadline");
	else if (res->cc != CURLE_OK)
		snprintf(what, sizeof(what), "%s",
			 res->errbuf[0] ? res->errbuf : curl_easy_strerror(res->cc));
	else
		snprintf(what, sizeof(what), "HTTP %ld", res->status);
	if (e->spool)
		pr_warn("OTLP collector %s unavailable (%s); spooling %s to %s and retrying\n",
			e->url, what, exporter_items(e), spool_dir(e->spool));
	else
		pr_warn("OTLP collector %s unavailable (%s); keeping %s in memory (up to %s) "
			"and retrying\n",
			e->url, what, exporter_items(e), fmt_size(e->queue_limit, sz, sizeof(sz)));
}

/*
 * Counts the outcome of @req once the collector answered: @rejected of its items refused
 * (with @status), the rest delivered. Items an earlier run spooled are counted apart. Lock held.
 */
static void count_answered(struct bt_exporter *e, const struct http_req *req, uint64_t rejected,
			   long status)
{
	uint64_t taken = req->n_items - rejected;

	if (req->spooled && req->item.from_earlier_run) {
		stat_add(&e->stats.spans_recovered, taken);
		stat_add(&e->stats.recovered_rejected, rejected);
		return;
	}
	if (req->spooled)
		stat_sub(&e->stats.spans_spooled, req->n_items);
	if (taken) {
		stat_add(&e->stats.spans_written, taken);
		stat_add(&e->stats.batches_written, 1);
	}
	if (rejected) {
		e->last_err = -EBADMSG;
		e->last_status = status;
		stat_add(&e->stats.spans_dropped, rejected);
		stat_add(&e->stats.dropped_rejected, rejected);
	}
}

/* Acts on the outcome of posting @req (already off the queue). Lock held. */
static void http_handle_result(struct bt_exporter *e, struct http_req *req,
			       const struct post_result *res)
{
	char msg[256];
	uint64_t rejected;

	if (res->cc != CURLE_OK) {
		http_retry_later(e, req, res, curl_errno(res->cc));
		return;
	}
	if (status_retryable(res->status)) {
		http_retry_later(e, req, res, -EREMOTEIO);
		return;
	}
	http_reachable(e);
	if (res->status >= 200 && res->status < 300) {
		rejected = partial_rejected(e, res, msg, sizeof(msg));
		if (rejected > req->n_items)
			rejected = req->n_items;
		if (rejected)
			pr_warn("OTLP collector %s rejected %" PRIu64 " of %" PRIu64 " %s: %s\n",
				e->url, rejected, req->n_items, exporter_items(e),
				msg[0] ? msg : "(no message)");
		count_answered(e, req, rejected, res->status);
		if (req->spooled)
			spool_done(e, req);
		else
			e->queued_bytes -= req->len;
		req_free(req);
		return;
	}
	/* Final (OTLP/HTTP: 400 and every status not listed as retryable): retrying would only
	 * block the requests behind it. */
	response_message(res, msg, sizeof(msg));
	if (res->status != e->last_reject_status)
		pr_warn("OTLP collector %s refused a request with HTTP %ld%s%s; %" PRIu64
			" %s dropped, not retried (further refusals are counted in the exit "
			"summary)\n",
			e->url, res->status, msg[0] ? ": " : "", msg, req->n_items,
			exporter_items(e));
	else
		pr_debug("OTLP collector %s answered HTTP %ld again; dropped %" PRIu64 " %s\n",
			 e->url, res->status, req->n_items, exporter_items(e));
	e->last_reject_status = res->status;
	count_answered(e, req, req->n_items, res->status);
	if (req->spooled)
		spool_done(e, req);
	else
		e->queued_bytes -= req->len;
	req_free(req);
}

static void cond_wait_until(struct bt_exporter *e, uint64_t deadline_ns)
{
	struct timespec ts = {
	    .tv_sec = (time_t)(deadline_ns / 1000000000ull),
	    .tv_nsec = (long)(deadline_ns % 1000000000ull),
	};

	pthread_cond_timedwait(&e->cond, &e->lock, &ts);
}

/* Whether the spool holds requests to send. Lock held (the spool is this thread's). */
static bool spool_pending(const struct bt_exporter *e)
{
	struct spool_stats ss;

	if (!e->spool)
		return false;
	spool_get_stats(e->spool, &ss);
	return ss.files > 0;
}

/* Whether the sender is done: closing, and nothing left that it may still send. Lock held. */
static bool sender_done(const struct bt_exporter *e, uint64_t now)
{
	bool over = now >= e->close_deadline_ns;

	if (!e->closing)
		return false;
	if (!e->head)
		/* what is spooled stays for the next run when the collector is still away */
		return !spool_pending(e) || (e->down && !e->close_probe) || over;
	/* memory left past the deadline: spilled first if the spool works, else dropped */
	return over && !spill_due(e, now);
}

static void *http_sender(void *arg)
{
	struct bt_exporter *e = arg;
	struct post_result *res = malloc(sizeof(*res));
	CURL *curl = http_handle_new(e);
	struct http_req *req;
	uint64_t now, wake;
	long timeout_ms;
	int err;

	pthread_mutex_lock(&e->lock);
	if (!curl || !res) {
		pr_warn("OTLP exporter: out of memory; %s for %s will be dropped\n",
			exporter_items(e), e->url);
		e->last_err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		now = sw_now_ns();
		if (spill_due(e, now)) {
			spill_head(e);
			continue;
		}
		if (sender_done(e, now))
			break;
		if (!e->head && !spool_pending(e)) {
			pthread_cond_wait(&e->cond, &e->lock);
			continue;
		}
		if (now < e->next_attempt_ns) {
			wake = e->next_attempt_ns;
			if (e->closing && e->close_deadline_ns < wake)
				wake = e->close_deadline_ns;
			cond_wait_until(e, wake);
			continue;
		}
		/* memory first: with a spool, what is in memory was queued while the spool was
		 * empty or is older than what a failure spills after it */
		req = queue_pop(e);
		if (!req) {
			err = spool_take(e, &req);
			if (err == -EAGAIN || err == -ENOENT)
				continue;
			if (err) {
				pr_debug("spool: read failed (%s); trying again later\n",
					 strerror(-err));
				e->next_attempt_ns = sw_now_ns() + SPOOL_RETRY_MS * 1000000ull;
				continue;
			}
		}
		if (req->attempts++)
			stat_add(&e->stats.retries, 1);
		if (e->closing)
			e->close_probe = false;
		timeout_ms = e->timeout_ms;
		if (e->closing && (long)((e->close_deadline_ns - now) / 1000000) + 1 < timeout_ms)
			timeout_ms = (long)((e->close_deadline_ns - now) / 1000000) + 1;
		pthread_mutex_unlock(&e->lock);

		http_post(e, curl, req, timeout_ms, res);

		pthread_mutex_lock(&e->lock);
		http_handle_result(e, req, res);
		if (!e->head)
			e->queue_full_warned = false;
	}
cleanup:
	pthread_mutex_unlock(&e->lock);
	curl_easy_cleanup(curl);
	free(res);
	return NULL;
}

/* Returns true for an absolute http:// or https:// URL with a host. */
static bool url_usable(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (!u)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		ok = !strcmp(scheme, "http") || !strcmp(scheme, "https");
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* Appends "Name: value" to @list; returns the list or NULL (the old list freed). */
static struct curl_slist *header_append(struct curl_slist *list, const char *name,
					const char *value)
{
	struct curl_slist *nl;
	char *line;

	if (asprintf(&line, "%s: %s", name, value) < 0) {
		curl_slist_free_all(list);
		return NULL;
	}
	nl = curl_slist_append(list, line);
	explicit_bzero(line, strlen(line));
	free(line);
	if (!nl)
		curl_slist_free_all(list);
	return nl;
}

/* Builds the request headers: the protocol's, then the user's (e.g. authorization). */
static struct curl_slist *headers_build(const struct otel_headers *user, bool gzip)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	size_t i;

	/* curl would wait up to 1 s for "100 Continue" before sending a large body */
	if (h)
		h = header_append(h, "Expect", "");
	if (h && gzip)
		h = header_append(h, "Content-Encoding", "gzip");
	for (i = 0; h && user && i < user->n; i++)
		h = header_append(h, user->v[i].name, user->v[i].value);
	return h;
}

const char *exporter_spool_refusal(int err)
{
	switch (err) {
	case EBUSY:
		return "another bedtrace is using it";
	case EPERM:
		return "it must belong to bedtrace's user and be writable by nobody else";
	case ELOOP:
		return "it is a symbolic link";
	case ENOTDIR:
		return "not a directory";
	default:
		return NULL;
	}
}

static void http_free(struct bt_exporter *e)
{
	free(e->url);
	curl_slist_free_all(e->headers);
	curl_slist_free_all(e->headers_gzip);
	free(e->ca_file);
	free(e->client_cert);
	free(e->client_key);
	spool_close(e->spool);
}

/*
 * Opens @e's spool in @dir: the directory itself for traces; for metrics and logs its
 * subdirectory named after the signal, once @dir has passed the checks of a spool directory.
 * Returns 0 or -errno.
 */
static int open_spool(struct bt_exporter *e, const char *dir)
{
	size_t len = strlen(dir);
	char *sub = NULL;
	int err;

	if (e->signal != BT_SIGNAL_TRACES) {
		err = spool_dir_check(dir);
		if (err)
			return err;
		while (len > 1 && dir[len - 1] == '/')
			len--;
		if (asprintf(&sub, "%.*s/%s", (int)len, dir, bt_signal_name(e->signal)) < 0)
			return -ENOMEM;
		dir = sub;
	}
	e->spool = spool_open(dir, e->spool_max);
	err = e->spool ? 0 : -errno;
	free(sub);
	return err;
}

/* Copies @s (NULL stays NULL); false when out of memory. */
static bool dup_opt(char **out, const char *s)
{
	*out = s ? strdup(s) : NULL;
	return !s || *out;
}

struct bt_exporter *exporter_open_otlp_http_opts(const char *url,
						 const struct exporter_http_opts *o)
{
	static const struct exporter_http_opts defaults;
	struct bt_exporter *e = NULL;
	pthread_condattr_t cattr;
	sigset_t all, old;
	bool curl_inited = false;
	int err = 0;

	if (!o)
		o = &defaults;
	if (!bt_signal_valid(o->signal)) {
		err = -EINVAL;
		goto cleanup;
	}
	if (!url || !url_usable(url)) {
		pr_debug("OTLP endpoint '%s' is not an http:// or https:// URL\n", url ? url : "");
		err = -EINVAL;
		goto cleanup;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		err = -ENOMEM;
		goto cleanup;
	}
	curl_inited = true;
	e = exporter_alloc(EXPORTER_HTTP, o->signal);
	if (!e) {
		err = -ENOMEM;
		goto cleanup;
	}
	e->queue_limit = DEFAULT_QUEUE_BYTES;
	e->close_timeout_ms = DEFAULT_CLOSE_TIMEOUT_MS;
	e->backoff_ms = BACKOFF_MIN_MS;
	/* never zero (xorshift's fixed point): bt_random_id fills non-zero ids */
	bt_random_id((uint8_t *)&e->rng, sizeof(e->rng));
	e->gzip = o->gzip;
	e->timeout_ms = o->timeout_ms ? (long)o->timeout_ms : (long)OTEL_DEFAULT_TIMEOUT_MS;
	e->url = strdup(url);
	e->headers = headers_build(o->headers, false);
	e->headers_gzip = headers_build(o->headers, true);
	if (!e->url || !e->headers || !e->headers_gzip || !dup_opt(&e->ca_file, o->ca_file) ||
	    !dup_opt(&e->client_cert, o->client_cert) || !dup_opt(&e->client_key, o->client_key)) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (o->spool_dir) {
		e->spool_max = o->spool_max ? o->spool_max : DEFAULT_SPOOL_MAX;
		err = open_spool(e, o->spool_dir);
		if (err)
			goto cleanup;
		spool_sync_stats(e);
	}
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &cattr);
	pthread_condattr_destroy(&cattr);

	/* Signals (SIGINT, SIGTERM, SIGHUP) belong to the main loop, not to the sender. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&e->thread, NULL, http_sender, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&e->cond);
		goto cleanup;
	}
cleanup:
	if (err) {
		if (e) {
			http_free(e);
			pthread_mutex_destroy(&e->lock);
			free(e);
			e = NULL;
		}
		if (curl_inited)
			curl_global_cleanup();
		errno = -err;
	}
	return e;
}

struct bt_exporter *exporter_open_otlp_http(const char *url)
{
	return exporter_open_otlp_http_opts(url, NULL);
}

int exporter_set_http_limits(struct bt_exporter *e, size_t queue_bytes, unsigned close_timeout_ms)
{
	if (!e || e->type != EXPORTER_HTTP)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	if (queue_bytes)
		e->queue_limit = queue_bytes;
	e->close_timeout_ms = close_timeout_ms;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/* Queues @req, dropping the oldest queued requests beyond the limit. Lock held. */
static void http_enqueue(struct bt_exporter *e, struct http_req *req)
{
	struct http_req *old;
	uint64_t dropped = 0;
	char sz[32];

	/* A lone request larger than the limit is still kept: bound = limit + one request. */
	while (e->head && e->queued_bytes + req->len > e->queue_limit) {
		old = queue_pop(e);
		dropped += old->n_items;
		drop_req(e, old, &e->stats.dropped_queue_full);
	}
	if (dropped) {
		e->last_err = -ENOBUFS;
		if (!e->queue_full_warned)
			pr_warn("OTLP export queue for %s is full (%s); dropping the oldest %s\n",
				e->url, fmt_size(e->queue_limit, sz, sizeof(sz)),
				exporter_items(e));
		e->queue_full_warned = true;
	}
	if (e->tail)
		e->tail->next = req;
	else
		e->head = req;
	e->tail = req;
	e->queued_bytes += req->len;
	pthread_cond_signal(&e->cond);
}

int otlp_http_queue(struct bt_exporter *e, char *body, size_t len, uint64_t n_items)
{
	struct http_req *req;
	char *packed;

	if (e->gzip) {
		packed = gzip_compress(body, len, &len);
		free(body);
		if (!packed)
			return -errno;
		body = packed;
	}
	req = calloc(1, sizeof(*req));
	if (!req) {
		free(body);
		return -ENOMEM;
	}
	req->body = body;
	req->len = len;
	req->n_items = n_items;
	req->gzip = e->gzip;
	pthread_mutex_lock(&e->lock);
	http_enqueue(e, req);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/*
 * Delivers what is queued within the close deadline, stops the sender; what is left goes to
 * the spool if there is one, else is counted as dropped.
 */
int otlp_http_finish(struct bt_exporter *e)
{
	struct http_req *req;
	uint64_t left = 0;

	pthread_mutex_lock(&e->lock);
	e->closing = true;
	e->close_deadline_ns = sw_now_ns() + (uint64_t)e->close_timeout_ms * 1000000ull;
	/* last chance: try now instead of waiting out a long backoff */
	e->next_attempt_ns = 0;
	e->close_probe = true;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);

	pthread_mutex_lock(&e->lock);
	while ((req = queue_pop(e))) {
		left += req->n_items;
		drop_req(e, req, &e->stats.dropped_unsent);
	}
	if (left) {
		e->last_err = e->last_retry_err ? e->last_retry_err : -ETIMEDOUT;
		e->last_status = e->last_retry_status;
	}
	pthread_mutex_unlock(&e->lock);
	return e->last_err;
}

void otlp_http_release(struct bt_exporter *e)
{
	pthread_cond_destroy(&e->cond);
	http_free(e);
	curl_global_cleanup();
}
