// SPDX-License-Identifier: MIT
/*
 * OTLP exporters: JSON Lines to a file descriptor, and what every exporter shares (the counts,
 * write/finish/close); OTLP/HTTP is otlp_http.c's. See export.h for the contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/export.h"
#include "export/export_int.h"
#include "export/otlp_json.h"
#include "util/log.h"
#include "util/outfile.h"

struct bt_exporter *exporter_alloc(enum exporter_type type, enum bt_signal signal)
{
	struct bt_exporter *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->type = type;
	e->signal = signal;
	e->fd = -1;
	pthread_mutex_init(&e->lock, NULL);
	return e;
}

/* ---- file ---- */

const char *exporter_file_refusal(int err)
{
	return outfile_refusal(err);
}

struct bt_exporter *exporter_open_file_signal(const char *path, enum bt_signal signal)
{
	struct bt_exporter *e = NULL;
	bool is_stdout = false, is_reg = true;
	struct stat st;
	int fd = -1, err = 0;

	if (!path || !*path || !bt_signal_valid(signal)) {
		err = -EINVAL;
		goto cleanup;
	}
	is_stdout = strcmp(path, "-") == 0;
	/* stdout is whatever the shell made it (a file, a pipe, /dev/null): not ours to check */
	if (is_stdout) {
		fd = STDOUT_FILENO;
		if (fstat(fd, &st))
			err = -errno;
		else
			is_reg = S_ISREG(st.st_mode);
	} else {
		/* 0600 also for a file that existed: spans can hold prompts */
		fd = outfile_open(path, 0600, OUTFILE_FORCE_MODE);
		if (fd < 0)
			err = fd;
	}
	if (err) {
		/* the caller reports the failure; this only adds which call failed */
		pr_debug("open %s: %s\n", is_stdout ? "stdout" : path, strerror(-err));
		goto cleanup;
	}
	e = exporter_alloc(EXPORTER_FILE, signal);
	if (!e) {
		err = -ENOMEM;
		goto cleanup;
	}
	e->fd = fd;
	e->own_fd = !is_stdout;
	e->fd_is_reg = is_reg;
	fd = -1;
	if (!is_stdout && !(e->path = strdup(path))) {
		err = -ENOMEM;
		exporter_close(e);
		e = NULL;
	}
cleanup:
	if (fd >= 0 && !is_stdout)
		close(fd);
	if (err)
		errno = -err;
	return e;
}

struct bt_exporter *exporter_open_file(const char *path)
{
	return exporter_open_file_signal(path, BT_SIGNAL_TRACES);
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

/*
 * Writes @len bytes of @line plus '\n' in one write (@line has room for the newline at
 * @line[len]); the caller holds the lock. Returns 0 or -errno; the caller counts.
 */
static int file_write_locked(struct bt_exporter *e, char *line, size_t len)
{
	off_t start = -1;
	int err;

	line[len++] = '\n';
	if (e->fd_is_reg)
		start = lseek(e->fd, 0, SEEK_CUR);
	err = write_all(e->fd, line, len);
	/* A half-written line would corrupt the next one too: cut it off (disk full, quota). */
	if (err && start >= 0 && ftruncate(e->fd, start) == 0)
		lseek(e->fd, start, SEEK_SET);
	if (err) {
		if (!e->write_warned)
			pr_warn("output: write failed (%s); %s are being dropped (counted in the "
				"exit summary)\n",
				strerror(-err), exporter_items(e));
		e->write_warned = true;
	} else if (e->write_warned) {
		pr_warn("output: writing again\n");
		e->write_warned = false;
	}
	return err;
}

/* file_write_locked() under the lock. */
static int file_write(struct bt_exporter *e, char *line, size_t len)
{
	int err;

	pthread_mutex_lock(&e->lock);
	err = file_write_locked(e, line, len);
	pthread_mutex_unlock(&e->lock);
	return err;
}

/* Counts @n items lost for the reason @why (a dropped_* counter) with error @err. */
static void count_lost(struct bt_exporter *e, uint64_t n, uint64_t *why, int err)
{
	stat_add(&e->stats.spans_dropped, n);
	stat_add(why, n);
	pthread_mutex_lock(&e->lock);
	e->last_err = err;
	pthread_mutex_unlock(&e->lock);
}

/*
 * The one delivery path of every request: @body (malloc'd, taken in every case) holds @len
 * bytes of one encoded request of @n items, plus room for one more byte.
 */
static int deliver(struct bt_exporter *e, char *body, size_t len, uint64_t n)
{
	int err;

	stat_add(&e->stats.spans_accepted, n);
	if (e->type == EXPORTER_FILE) {
		err = file_write(e, body, len);
		free(body);
		if (err) {
			count_lost(e, n, &e->stats.dropped_write, err);
			return err;
		}
		stat_add(&e->stats.spans_written, n);
		stat_add(&e->stats.batches_written, 1);
		return 0;
	}
	if (e->finished) {
		/* a write after finish has nobody to send it */
		free(body);
		err = -ESHUTDOWN;
	} else {
		err = otlp_http_queue(e, body, len, n);
	}
	if (err)
		count_lost(e, n,
			   err == -ESHUTDOWN ? &e->stats.dropped_unsent : &e->stats.dropped_encode,
			   err);
	return err;
}

/*
 * A file exporter's encode buffer is kept from batch to batch (a batch of function spans is
 * about 350 KiB, 200 times a second at 100,000 spans per second); one grown past this by an
 * exceptional batch is given back.
 */
#define LINE_KEEP_MAX (4u << 20)

/* File: encodes @n spans into the exporter's buffer and writes them as one line. */
static int file_write_spans(struct bt_exporter *e, struct bt_span *const *spans, size_t n)
{
	struct jbuf *b = &e->line;
	bool encoded;
	int err;

	stat_add(&e->stats.spans_accepted, n);
	pthread_mutex_lock(&e->lock);
	b->len = 0;
	b->oom = false;
	err = otlp_json_encode_to(b, spans, n);
	encoded = !err;
	if (encoded)
		err = file_write_locked(e, b->p, b->len);
	if (b->cap > LINE_KEEP_MAX || b->oom) {
		free(b->p);
		memset(b, 0, sizeof(*b));
	}
	pthread_mutex_unlock(&e->lock);
	if (err) {
		count_lost(e, n, encoded ? &e->stats.dropped_write : &e->stats.dropped_encode, err);
		return err;
	}
	stat_add(&e->stats.spans_written, n);
	stat_add(&e->stats.batches_written, 1);
	return 0;
}

/* Encodes @n spans into requests (split to fit a collector's limit) and delivers them. */
static int write_spans(struct bt_exporter *e, struct bt_span *const *spans, size_t n)
{
	struct jbuf b = {0};
	int err, err2;

	if (e->type == EXPORTER_FILE)
		return file_write_spans(e, spans, n);
	err = otlp_json_encode_to(&b, spans, n);
	if (err) {
		free(b.p);
		stat_add(&e->stats.spans_accepted, n);
		count_lost(e, n, &e->stats.dropped_encode, err);
		return err;
	}
	if (b.len > EXPORTER_HTTP_REQUEST_MAX && n > 1) {
		free(b.p);
		err = write_spans(e, spans, n / 2);
		err2 = write_spans(e, spans + n / 2, n - n / 2);
		return err ? err : err2;
	}
	/* the string's NUL is the room deliver() needs for a newline */
	return deliver(e, b.p, b.len, n);
}

int exporter_reopen(struct bt_exporter *e)
{
	int fd, old;

	if (!e || e->type != EXPORTER_FILE || !e->path)
		return 0;
	/* opened before taking the lock: a slow open does not hold up writers */
	fd = outfile_open(e->path, 0600, OUTFILE_APPEND | OUTFILE_FORCE_MODE);
	if (fd < 0) {
		const char *why = exporter_file_refusal(-fd);

		pr_warn("output: cannot reopen %s (%s); still writing to the file opened before\n",
			e->path, why ? why : strerror(-fd));
		return fd;
	}
	/* under the lock, so a line goes whole to one file or the other */
	pthread_mutex_lock(&e->lock);
	old = e->fd;
	e->fd = fd;
	e->fd_is_reg = true; /* outfile_open opens regular files only */
	pthread_mutex_unlock(&e->lock);
	close(old);
	pr_debug("output: reopened %s\n", e->path);
	return 0;
}

int exporter_write(struct bt_exporter *e, struct bt_span *const *spans, size_t n)
{
	if (!e || (n && !spans))
		return -EINVAL;
	if (!n)
		return 0;
	return write_spans(e, spans, n);
}

int exporter_write_json(struct bt_exporter *e, const char *json, size_t len, uint64_t n_items)
{
	char *body;

	if (!e || !json || !len || memchr(json, '\n', len))
		return -EINVAL;
	body = malloc(len + 1);
	if (!body) {
		stat_add(&e->stats.spans_accepted, n_items);
		count_lost(e, n_items, &e->stats.dropped_encode, -ENOMEM);
		return -ENOMEM;
	}
	memcpy(body, json, len);
	return deliver(e, body, len, n_items);
}

int exporter_finish(struct bt_exporter *e)
{
	if (!e)
		return 0;
	if (!e->finished && e->type == EXPORTER_HTTP)
		otlp_http_finish(e);
	e->finished = true;
	return e->last_err;
}

int exporter_close(struct bt_exporter *e)
{
	int err;

	if (!e)
		return 0;
	err = exporter_finish(e);
	if (e->type == EXPORTER_HTTP)
		otlp_http_release(e);
	else if (e->own_fd && close(e->fd) && !err) {
		err = -errno;
	}
	free(e->path);
	free(e->line.p);
	pthread_mutex_destroy(&e->lock);
	free(e);
	return err;
}

void exporter_get_stats(const struct bt_exporter *e, struct exporter_stats *out)
{
	struct bt_exporter *m = (struct bt_exporter *)e; /* the lock only */

	memset(out, 0, sizeof(*out));
#define LOAD(f) out->f = __atomic_load_n(&e->stats.f, __ATOMIC_RELAXED)
	LOAD(spans_accepted);
	LOAD(spans_written);
	LOAD(batches_written);
	LOAD(spans_dropped);
	LOAD(dropped_write);
	LOAD(dropped_encode);
	LOAD(dropped_rejected);
	LOAD(dropped_queue_full);
	LOAD(dropped_unsent);
	LOAD(dropped_spool_full);
	LOAD(retries);
	LOAD(spans_spooled);
	LOAD(spool_files);
	LOAD(spool_bytes);
	LOAD(spans_recovered);
	LOAD(recovered_rejected);
#undef LOAD
	pthread_mutex_lock(&m->lock);
	out->last_err = e->last_err;
	out->last_status = e->last_status;
	pthread_mutex_unlock(&m->lock);
}

void exporter_http_opts_from_config(struct exporter_http_opts *o,
				    const struct otel_export_config *cfg)
{
	*o = (struct exporter_http_opts){
	    .headers = &cfg->headers,
	    .gzip = cfg->compression == OTEL_COMPRESSION_GZIP,
	    .timeout_ms = cfg->timeout_ms,
	    .ca_file = cfg->certificate,
	    .client_cert = cfg->client_certificate,
	    .client_key = cfg->client_key,
	};
}
