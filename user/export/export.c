// SPDX-License-Identifier: MIT
/*
 * Span exporters: OTLP JSON Lines to a file descriptor, OTLP/HTTP JSON through libcurl with a
 * sender thread and a bounded retry queue. See export.h for the delivery contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "export/export.h"
#include "util/log.h"
#include "export/otlp_json.h"

#ifndef BT_VERSION
#define BT_VERSION "dev"
#endif

#define DEFAULT_QUEUE_BYTES (64u << 20)
#define DEFAULT_CLOSE_TIMEOUT_MS 5000u
/* A dead or black-holed collector costs the sender at most this per attempt. */
#define CONNECT_TIMEOUT_MS 1000L
#define REQUEST_TIMEOUT_MS 10000L
#define BACKOFF_MIN_MS 250u
#define BACKOFF_MAX_MS 30000u
/* Honour Retry-After, but never park spans longer than this. */
#define RETRY_AFTER_MAX_MS 60000u
/* Backoff cap while closing, so the close window is spent retrying rather than waiting. */
#define CLOSE_BACKOFF_MAX_MS 1000u
/* Requests above this are split: collectors cap bodies (the OpenTelemetry Collector at 20 MiB). */
#define MAX_REQUEST_BYTES (4u << 20)
/* How much of a collector's answer is kept for warnings and partialSuccess. */
#define RESPONSE_KEEP 4096

enum exporter_type { EXPORTER_FILE, EXPORTER_HTTP };

/* One encoded ExportTraceServiceRequest waiting for (re)delivery. */
struct http_req {
	struct http_req *next;
	char *body;
	size_t len;
	size_t n_spans;
	unsigned attempts;
};

struct bt_exporter {
	enum exporter_type type;
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
	int fd;
	bool own_fd;
	bool fd_is_reg; /* a regular file: a failed write can be cut off */

	/* OTLP/HTTP: everything below is under lock unless noted */
	char *url;		    /* immutable */
	struct curl_slist *headers; /* immutable */
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

/* Formats a byte count for a warning ("64 MiB", "4.9 KiB"). */
static const char *fmt_size(size_t bytes, char *buf, size_t size)
{
	if (bytes >= (1u << 20))
		snprintf(buf, size, "%.3g MiB", bytes / 1048576.0);
	else
		snprintf(buf, size, "%.3g KiB", bytes / 1024.0);
	return buf;
}

static void stat_add(uint64_t *counter, uint64_t v)
{
	__atomic_fetch_add(counter, v, __ATOMIC_RELAXED);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct bt_exporter *exporter_alloc(enum exporter_type type)
{
	struct bt_exporter *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->type = type;
	e->fd = -1;
	pthread_mutex_init(&e->lock, NULL);
	return e;
}

/* ---- file ---- */

/*
 * bedtrace runs as root and may be pointed at a path in a world-writable directory: a symbolic
 * link or a device planted there must not make it truncate, chmod or fill another file. The
 * lstat gives the clear refusal; O_NOFOLLOW and the fstat close the race after it, O_NONBLOCK
 * keeps a FIFO swapped in meanwhile from blocking the open, and truncation waits until the
 * opened file is known to be regular.
 */
static int open_output(const char *path, struct stat *st)
{
	int fd, err;

	if (lstat(path, st) == 0) {
		if (S_ISLNK(st->st_mode))
			return -ELOOP;
		if (!S_ISREG(st->st_mode))
			return -EEXIST;
	} else if (errno != ENOENT) {
		return -errno;
	}
	/* CLOEXEC: a command bedtrace launches must not inherit the trace file. */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		err = -EEXIST;
		goto fail;
	}
	/* O_CREAT's mode does not apply to a file that already existed: fchmod, never by path */
	if (ftruncate(fd, 0) || fcntl(fd, F_SETFL, 0) ||
	    ((st->st_mode & 07777) != 0600 && fchmod(fd, 0600))) {
		err = -errno;
		pr_debug("truncate/fchmod 0600 %s: %s\n", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

const char *exporter_file_refusal(int err)
{
	if (err == ELOOP)
		return "it is a symbolic link";
	if (err == EEXIST)
		return "not a regular file";
	return NULL;
}

struct bt_exporter *exporter_open_file(const char *path)
{
	struct bt_exporter *e = NULL;
	bool is_stdout = false;
	struct stat st;
	int fd = -1, err = 0;

	if (!path || !*path) {
		err = -EINVAL;
		goto cleanup;
	}
	is_stdout = strcmp(path, "-") == 0;
	/* stdout is whatever the shell made it (a file, a pipe, /dev/null): not ours to check */
	if (is_stdout) {
		fd = STDOUT_FILENO;
		if (fstat(fd, &st))
			err = -errno;
	} else {
		fd = open_output(path, &st);
		if (fd < 0)
			err = fd;
	}
	if (err) {
		/* the caller reports the failure; this only adds which call failed */
		pr_debug("open %s: %s\n", is_stdout ? "stdout" : path, strerror(-err));
		goto cleanup;
	}
	e = exporter_alloc(EXPORTER_FILE);
	if (!e) {
		err = -ENOMEM;
		goto cleanup;
	}
	e->fd = fd;
	e->own_fd = !is_stdout;
	e->fd_is_reg = S_ISREG(st.st_mode);
	fd = -1;
cleanup:
	if (fd >= 0 && !is_stdout)
		close(fd);
	if (err)
		errno = -err;
	return e;
}

/* Writes all of @buf to @fd. Returns 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* someone made our stdout non-blocking: wait for the reader */
			if (errno == EAGAIN) {
				poll(&pfd, 1, -1);
				continue;
			}
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_write(struct bt_exporter *e, struct bt_span *const *spans, size_t n)
{
	char *line = NULL, *grown;
	bool encoded = false;
	off_t start = -1;
	size_t len;
	int err = 0;

	line = otlp_json_encode(spans, n);
	if (!line) {
		err = -errno;
		goto cleanup;
	}
	len = strlen(line);
	grown = realloc(line, len + 2);
	if (!grown) {
		err = -ENOMEM;
		goto cleanup;
	}
	line = grown;
	line[len++] = '\n';
	line[len] = '\0';
	encoded = true;

	pthread_mutex_lock(&e->lock);
	if (e->fd_is_reg)
		start = lseek(e->fd, 0, SEEK_CUR);
	err = write_all(e->fd, line, len);
	/* A half-written line would corrupt the next one too: cut it off (disk full, quota). */
	if (err && start >= 0 && ftruncate(e->fd, start) == 0)
		lseek(e->fd, start, SEEK_SET);
	if (err) {
		e->last_err = err;
		if (!e->write_warned)
			pr_warn(
			    "output: write failed (%s); spans are being dropped (counted in the "
			    "exit summary)\n",
			    strerror(-err));
		e->write_warned = true;
	} else if (e->write_warned) {
		pr_warn("output: writing again\n");
		e->write_warned = false;
	}
	pthread_mutex_unlock(&e->lock);
cleanup:
	if (err) {
		stat_add(&e->stats.spans_dropped, n);
		stat_add(encoded ? &e->stats.dropped_write : &e->stats.dropped_encode, n);
		if (!encoded) {
			pthread_mutex_lock(&e->lock);
			e->last_err = err;
			pthread_mutex_unlock(&e->lock);
		}
	} else {
		stat_add(&e->stats.spans_written, n);
		stat_add(&e->stats.batches_written, 1);
	}
	free(line);
	return err;
}

/* ---- OTLP/HTTP ---- */

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
	late = e->closing && mono_ns() >= e->close_deadline_ns;
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
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	/* no signals from a helper thread; DNS timeouts use the threaded resolver */
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "bedtrace/" BT_VERSION);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_response);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	/* called about once a second even when stalled: bounds close() on a hung collector */
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_at_deadline);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, e);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	return curl;
}

static void http_post(CURL *curl, const struct http_req *req, long timeout_ms,
		      struct post_result *res)
{
	memset(res, 0, sizeof(*res));
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, res->errbuf);
	res->cc = curl_easy_perform(curl);
	if (res->cc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status);
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

/* Copies the collector's answer into one printable line for a warning. */
static void response_excerpt(const struct post_result *res, char *out, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < res->body_len && n + 1 < size && n < 200; i++) {
		unsigned char c = (unsigned char)res->body[i];

		out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[n] = '\0';
}

/* Returns rejectedSpans of an OTLP partialSuccess answer, 0 if none. @msg gets errorMessage. */
static uint64_t partial_rejected(const struct post_result *res, char *msg, size_t size)
{
	const cJSON *ps, *rej, *em;
	cJSON *root;
	uint64_t n = 0;

	msg[0] = '\0';
	if (!res->body_len)
		return 0;
	root = cJSON_ParseWithLength(res->body, res->body_len);
	ps = cJSON_GetObjectItemCaseSensitive(root, "partialSuccess");
	rej = cJSON_GetObjectItemCaseSensitive(ps, "rejectedSpans");
	/* int64 is a string in OTLP JSON, but be lenient with collectors that send a number */
	if (cJSON_IsString(rej))
		n = strtoull(rej->valuestring, NULL, 10);
	else if (cJSON_IsNumber(rej) && rej->valuedouble > 0)
		n = (uint64_t)rej->valuedouble;
	em = cJSON_GetObjectItemCaseSensitive(ps, "errorMessage");
	if (cJSON_IsString(em)) {
		strncpy(msg, em->valuestring, size - 1);
		msg[size - 1] = '\0';
	}
	cJSON_Delete(root);
	return n;
}

/* Counts @req's spans as lost for the reason @why (a dropped_* counter of e->stats). */
static void drop_req(struct bt_exporter *e, struct http_req *req, uint64_t *why)
{
	stat_add(&e->stats.spans_dropped, req->n_spans);
	stat_add(why, req->n_spans);
	e->queued_bytes -= req->len;
	free(req->body);
	free(req);
}

/* Collector answered: handles recovery bookkeeping. Called with the lock held. */
static void http_reachable(struct bt_exporter *e)
{
	if (e->down)
		pr_warn("OTLP collector %s is reachable again; sending queued spans\n", e->url);
	e->down = false;
	e->backoff_ms = BACKOFF_MIN_MS;
	e->next_attempt_ns = 0;
}

/* Puts @req back at the head of the queue and schedules the next attempt. Lock held. */
static void http_retry_later(struct bt_exporter *e, struct http_req *req,
			     const struct post_result *res, int err)
{
	uint64_t delay_ms = e->backoff_ms;
	char what[CURL_ERROR_SIZE + 32], sz[32];

	req->next = e->head;
	e->head = req;
	if (!e->tail)
		e->tail = req;
	e->last_retry_err = err;
	e->last_retry_status = res->cc == CURLE_OK ? res->status : 0;
	if (res->retry_after_s > 0) {
		uint64_t ra_ms = (uint64_t)res->retry_after_s * 1000;

		if (ra_ms > delay_ms)
			delay_ms = ra_ms < RETRY_AFTER_MAX_MS ? ra_ms : RETRY_AFTER_MAX_MS;
	}
	if (e->closing && delay_ms > CLOSE_BACKOFF_MAX_MS)
		delay_ms = CLOSE_BACKOFF_MAX_MS;
	e->next_attempt_ns = mono_ns() + delay_ms * 1000000ull;
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
	pr_warn("OTLP collector %s unavailable (%s); keeping spans in memory (up to %s) and "
		"retrying\n",
		e->url, what, fmt_size(e->queue_limit, sz, sizeof(sz)));
}

/* Acts on the outcome of posting @req (already off the queue). Lock held. */
static void http_handle_result(struct bt_exporter *e, struct http_req *req,
			       const struct post_result *res)
{
	char excerpt[256];
	uint64_t rejected;

	if (res->cc != CURLE_OK) {
		http_retry_later(e, req, res, curl_errno(res->cc));
		return;
	}
	if (res->status == 429 || res->status >= 500) {
		http_retry_later(e, req, res, -EREMOTEIO);
		return;
	}
	http_reachable(e);
	if (res->status >= 200 && res->status < 300) {
		rejected = partial_rejected(res, excerpt, sizeof(excerpt));
		if (rejected > req->n_spans)
			rejected = req->n_spans;
		if (rejected) {
			pr_warn("OTLP collector %s rejected %" PRIu64 " of %zu spans: %s\n", e->url,
				rejected, req->n_spans, excerpt[0] ? excerpt : "(no message)");
			e->last_err = -EBADMSG;
			e->last_status = res->status;
			stat_add(&e->stats.spans_dropped, rejected);
			stat_add(&e->stats.dropped_rejected, rejected);
		}
		stat_add(&e->stats.spans_written, req->n_spans - rejected);
		stat_add(&e->stats.batches_written, 1);
		e->queued_bytes -= req->len;
		free(req->body);
		free(req);
		return;
	}
	/* Retrying a request the collector refuses would only block the ones behind it. */
	response_excerpt(res, excerpt, sizeof(excerpt));
	if (res->status != e->last_reject_status)
		pr_warn("OTLP collector %s refused a request with HTTP %ld%s%s; %zu spans dropped "
			"(further refusals are counted in the exit summary)\n",
			e->url, res->status, excerpt[0] ? ": " : "", excerpt, req->n_spans);
	else
		pr_debug("OTLP collector %s answered HTTP %ld again; dropped %zu spans\n", e->url,
			 res->status, req->n_spans);
	e->last_reject_status = res->status;
	e->last_err = -EBADMSG;
	e->last_status = res->status;
	drop_req(e, req, &e->stats.dropped_rejected);
}

static void cond_wait_until(struct bt_exporter *e, uint64_t deadline_ns)
{
	struct timespec ts = {
	    .tv_sec = (time_t)(deadline_ns / 1000000000ull),
	    .tv_nsec = (long)(deadline_ns % 1000000000ull),
	};

	pthread_cond_timedwait(&e->cond, &e->lock, &ts);
}

static void *http_sender(void *arg)
{
	struct bt_exporter *e = arg;
	struct post_result *res = malloc(sizeof(*res));
	CURL *curl = http_handle_new(e);
	struct http_req *req;
	uint64_t now, wake;
	long timeout_ms;

	pthread_mutex_lock(&e->lock);
	if (!curl || !res) {
		pr_warn("OTLP exporter: out of memory; spans for %s will be dropped\n", e->url);
		e->last_err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		now = mono_ns();
		if (e->closing && (!e->head || now >= e->close_deadline_ns))
			break;
		if (!e->head) {
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
		req = e->head;
		e->head = req->next;
		if (!e->head)
			e->tail = NULL;
		req->next = NULL;
		if (req->attempts++)
			stat_add(&e->stats.retries, 1);
		timeout_ms = REQUEST_TIMEOUT_MS;
		if (e->closing && (long)((e->close_deadline_ns - now) / 1000000) + 1 < timeout_ms)
			timeout_ms = (long)((e->close_deadline_ns - now) / 1000000) + 1;
		pthread_mutex_unlock(&e->lock);

		http_post(curl, req, timeout_ms, res);

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

struct bt_exporter *exporter_open_otlp_http(const char *url)
{
	struct bt_exporter *e = NULL;
	pthread_condattr_t cattr;
	sigset_t all, old;
	bool curl_inited = false;
	struct curl_slist *h;
	int err = 0;

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
	e = exporter_alloc(EXPORTER_HTTP);
	if (!e) {
		err = -ENOMEM;
		goto cleanup;
	}
	e->queue_limit = DEFAULT_QUEUE_BYTES;
	e->close_timeout_ms = DEFAULT_CLOSE_TIMEOUT_MS;
	e->backoff_ms = BACKOFF_MIN_MS;
	e->url = strdup(url);
	h = curl_slist_append(NULL, "Content-Type: application/json");
	/* curl would wait up to 1 s for "100 Continue" before sending a large body */
	e->headers = h ? curl_slist_append(h, "Expect:") : NULL;
	if (!e->headers)
		curl_slist_free_all(h);
	if (!e->url || !e->headers) {
		err = -ENOMEM;
		goto cleanup;
	}
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &cattr);
	pthread_condattr_destroy(&cattr);

	/* Signals (SIGINT, SIGTERM) belong to the main loop, not to the sender. */
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
			free(e->url);
			curl_slist_free_all(e->headers);
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
		old = e->head;
		e->head = old->next;
		if (!e->head)
			e->tail = NULL;
		dropped += old->n_spans;
		drop_req(e, old, &e->stats.dropped_queue_full);
	}
	if (dropped) {
		e->last_err = -ENOBUFS;
		if (!e->queue_full_warned)
			pr_warn(
			    "OTLP export queue for %s is full (%s); dropping the oldest spans\n",
			    e->url, fmt_size(e->queue_limit, sz, sizeof(sz)));
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

static int http_write(struct bt_exporter *e, struct bt_span *const *spans, size_t n)
{
	struct http_req *req = NULL;
	char *body;
	size_t len;
	int err;

	body = otlp_json_encode(spans, n);
	if (!body)
		return -errno;
	len = strlen(body);
	if (len > MAX_REQUEST_BYTES && n > 1) {
		free(body);
		err = http_write(e, spans, n / 2);
		return err ? err : http_write(e, spans + n / 2, n - n / 2);
	}
	req = calloc(1, sizeof(*req));
	if (!req) {
		free(body);
		return -ENOMEM;
	}
	req->body = body;
	req->len = len;
	req->n_spans = n;
	pthread_mutex_lock(&e->lock);
	http_enqueue(e, req);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int exporter_write(struct bt_exporter *e, struct bt_span *const *spans, size_t n)
{
	int err;

	if (!e || (n && !spans))
		return -EINVAL;
	if (!n)
		return 0;
	stat_add(&e->stats.spans_accepted, n);
	if (e->type == EXPORTER_FILE)
		return file_write(e, spans, n);
	if (e->finished) {
		/* a write after finish has nobody to send it */
		err = -ESHUTDOWN;
	} else {
		err = http_write(e, spans, n);
	}
	if (err) {
		stat_add(&e->stats.spans_dropped, n);
		stat_add(err == -ESHUTDOWN ? &e->stats.dropped_unsent : &e->stats.dropped_encode,
			 n);
		pthread_mutex_lock(&e->lock);
		e->last_err = err;
		pthread_mutex_unlock(&e->lock);
	}
	return err;
}

/* Delivers what is queued within the close deadline, stops the sender, counts what is left. */
static int http_finish(struct bt_exporter *e)
{
	struct http_req *req;
	uint64_t left = 0;

	pthread_mutex_lock(&e->lock);
	e->closing = true;
	e->close_deadline_ns = mono_ns() + (uint64_t)e->close_timeout_ms * 1000000ull;
	/* last chance: try now instead of waiting out a long backoff */
	e->next_attempt_ns = 0;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);

	pthread_mutex_lock(&e->lock);
	while ((req = e->head)) {
		e->head = req->next;
		left += req->n_spans;
		drop_req(e, req, &e->stats.dropped_unsent);
	}
	e->tail = NULL;
	if (left) {
		e->last_err = e->last_retry_err ? e->last_retry_err : -ETIMEDOUT;
		e->last_status = e->last_retry_status;
	}
	pthread_mutex_unlock(&e->lock);
	return e->last_err;
}

static void http_close(struct bt_exporter *e)
{
	pthread_cond_destroy(&e->cond);
	curl_slist_free_all(e->headers);
	free(e->url);
	curl_global_cleanup();
}

int exporter_finish(struct bt_exporter *e)
{
	if (!e)
		return 0;
	if (!e->finished && e->type == EXPORTER_HTTP)
		http_finish(e);
	e->finished = true;
	return e->last_err;
}

int exporter_close(struct bt_exporter *e)
{
	int err;

	if (!e)
		return 0;
	err = exporter_finish(e);
	if (e->type == EXPORTER_HTTP) {
		http_close(e);
	} else if (e->own_fd && close(e->fd) && !err) {
		err = -errno;
	}
	pthread_mutex_destroy(&e->lock);
	free(e);
	return err;
}

void exporter_get_stats(const struct bt_exporter *e, struct exporter_stats *out)
{
	struct bt_exporter *m = (struct bt_exporter *)e; /* the lock only */

	memset(out, 0, sizeof(*out));
	out->spans_accepted = __atomic_load_n(&e->stats.spans_accepted, __ATOMIC_RELAXED);
	out->spans_written = __atomic_load_n(&e->stats.spans_written, __ATOMIC_RELAXED);
	out->batches_written = __atomic_load_n(&e->stats.batches_written, __ATOMIC_RELAXED);
	out->spans_dropped = __atomic_load_n(&e->stats.spans_dropped, __ATOMIC_RELAXED);
	out->dropped_write = __atomic_load_n(&e->stats.dropped_write, __ATOMIC_RELAXED);
	out->dropped_encode = __atomic_load_n(&e->stats.dropped_encode, __ATOMIC_RELAXED);
	out->dropped_rejected = __atomic_load_n(&e->stats.dropped_rejected, __ATOMIC_RELAXED);
	out->dropped_queue_full = __atomic_load_n(&e->stats.dropped_queue_full, __ATOMIC_RELAXED);
	out->dropped_unsent = __atomic_load_n(&e->stats.dropped_unsent, __ATOMIC_RELAXED);
	out->retries = __atomic_load_n(&e->stats.retries, __ATOMIC_RELAXED);
	pthread_mutex_lock(&m->lock);
	out->last_err = e->last_err;
	out->last_status = e->last_status;
	pthread_mutex_unlock(&m->lock);
}
