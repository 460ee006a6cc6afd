// SPDX-License-Identifier: MIT
/*
 * Unit tests for export.c: the file exporter (mode, JSON Lines, errors) and the OTLP/HTTP
 * exporter against a small HTTP/1.1 server this test runs on 127.0.0.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <zlib.h>

#include "export/export.h"
#include "span/span.h"

/* ---- helpers ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct batch {
	struct bt_span *spans[64];
	size_t n;
	struct bt_resource *res;
};

/* Fills @b with @n spans named "@prefix-<i>" sharing one resource. */
static void batch_make(struct batch *b, const char *prefix, size_t n)
{
	char name[64];
	size_t i;

	assert_true(n <= 64);
	b->n = n;
	b->res = bt_resource_new();
	assert_non_null(b->res);
	assert_int_equal(bt_attrs_set_str(&b->res->attrs, "service.name", prefix), 0);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s-%zu", prefix, i);
		b->spans[i] = bt_span_new(name, BT_KIND_INTERNAL);
		assert_non_null(b->spans[i]);
		bt_random_id(b->spans[i]->trace_id, BT_TRACE_ID_LEN);
		b->spans[i]->start_ns = 1700000000000000000ull + i;
		b->spans[i]->end_ns = b->spans[i]->start_ns + 1000;
		bt_span_set_resource(b->spans[i], b->res);
		assert_int_equal(bt_attrs_set_int(&b->spans[i]->attrs, "i", (int64_t)i), 0);
	}
}

static void batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		bt_span_free(b->spans[i]);
	bt_resource_put(b->res);
}

/* Returns the span names in an ExportTraceServiceRequest, comma-joined, and their count. */
static int request_span_names(const char *json, char *names, size_t size)
{
	const cJSON *rs, *ss, *sp;
	cJSON *root = cJSON_Parse(json);
	int n = 0;

	assert_non_null(root);
	names[0] = '\0';
	cJSON_ArrayForEach(rs, cJSON_GetObjectItemCaseSensitive(root, "resourceSpans"))
	{
		cJSON_ArrayForEach(ss, cJSON_GetObjectItemCaseSensitive(rs, "scopeSpans"))
		{
			cJSON_ArrayForEach(sp, cJSON_GetObjectItemCaseSensitive(ss, "spans"))
			{
				const cJSON *nm = cJSON_GetObjectItemCaseSensitive(sp, "name");

				assert_true(cJSON_IsString(nm));
				if (n)
					strncat(names, ",", size - strlen(names) - 1);
				strncat(names, nm->valuestring, size - strlen(names) - 1);
				n++;
			}
		}
	}
	cJSON_Delete(root);
	return n;
}

/* Captures what the exporter logs to stderr between capture_start() and capture_stop(). */
struct capture {
	int saved;
	char path[64];
};

/* The capture in progress, so that a failed assertion's teardown can give stderr back. */
static struct capture *active_capture;

static void capture_start(struct capture *c)
{
	int fd;

	strcpy(c->path, "/tmp/bt_test_export_err_XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
	active_capture = c;
}

static void capture_restore(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	active_capture = NULL;
}

static int capture_teardown(void **state)
{
	(void)state;
	if (active_capture) {
		unlink(active_capture->path);
		capture_restore(active_capture);
	}
	return 0;
}

/* Returns the captured text (caller frees) and restores stderr. */
static char *capture_stop(struct capture *c)
{
	char *buf = calloc(1, 65536);
	FILE *f;

	capture_restore(c);
	assert_non_null(buf);
	f = fopen(c->path, "r");
	assert_non_null(f);
	fread(buf, 1, 65535, f);
	fclose(f);
	unlink(c->path);
	/* still show it, for whoever reads the test log */
	fputs(buf, stderr);
	return buf;
}

static int count_substr(const char *hay, const char *needle)
{
	int n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

/* ---- file exporter ---- */

static char tmpdir[64];

static int setup_tmpdir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/bt_test_export_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
	char path[128];

	(void)state;
	/* only files this test created */
	static const char *const names[] = {"new.json",	   "old.json", "lines.json",
					    "stdout.json", "mt.json",  "signal.json"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	return rmdir(tmpdir);
}

static void tmp_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
}

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long sz;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)sz + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	buf[sz] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)sz;
	return buf;
}

/* Checks that @text is @n_lines JSON objects, one per line, each with the spans of @b[i]. */
static void check_json_lines(char *text, const struct batch *b, size_t n_lines)
{
	char names[4096], expect[4096];
	size_t line = 0, i;
	char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		assert_non_null(nl); /* every line ends with a newline */
		*nl = '\0';
		assert_true(line < n_lines);
		assert_int_equal(request_span_names(p, names, sizeof(names)), (int)b[line].n);
		expect[0] = '\0';
		for (i = 0; i < b[line].n; i++) {
			if (i)
				strcat(expect, ",");
			strcat(expect, b[line].spans[i]->name);
		}
		assert_string_equal(names, expect);
		line++;
		p = nl + 1;
	}
	assert_int_equal(line, n_lines);
}

static void test_export_file_creates_mode_0600(void **state)
{
	struct bt_exporter *e;
	char path[128];
	struct stat st;
	mode_t old;

	(void)state;
	tmp_path(path, sizeof(path), "new.json");
	old = umask(0); /* a permissive umask must not widen the mode */
	e = exporter_open_file(path);
	umask(old);
	assert_non_null(e);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(exporter_close(e), 0);
}

static void test_export_file_existing_becomes_0600_and_truncated(void **state)
{
	struct bt_exporter *e;
	char path[128];
	struct stat st;
	int fd;

	(void)state;
	tmp_path(path, sizeof(path), "old.json");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(write(fd, "old contents\n", 13), 13);
	close(fd);

	e = exporter_open_file(path);
	assert_non_null(e);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(exporter_close(e), 0);
}

static void test_export_file_json_lines(void **state)
{
	struct exporter_stats stats;
	struct batch b[4];
	struct bt_exporter *e;
	char path[128], *text;
	size_t i;

	(void)state;
	tmp_path(path, sizeof(path), "lines.json");
	batch_make(&b[0], "one", 1);
	batch_make(&b[1], "three", 3);
	batch_make(&b[2], "two", 2);
	batch_make(&b[3], "forty", 40);
	e = exporter_open_file(path);
	assert_non_null(e);
	for (i = 0; i < 4; i++)
		assert_int_equal(exporter_write(e, b[i].spans, b[i].n), 0);
	/* an empty batch writes nothing */
	assert_int_equal(exporter_write(e, NULL, 0), 0);
	/* each write is on disk before exporter_write returns */
	text = slurp(path, NULL);
	check_json_lines(text, b, 4);
	free(text);

	exporter_get_stats(e, &stats);
	assert_int_equal(stats.spans_written, 46);
	assert_int_equal(stats.batches_written, 4);
	assert_int_equal(stats.spans_dropped, 0);
	assert_int_equal(exporter_close(e), 0);
	for (i = 0; i < 4; i++)
		batch_free(&b[i]);
}

static void test_export_file_stdout(void **state)
{
	struct bt_exporter *e;
	char path[128], *text;
	struct batch b[2];
	int fd, saved;
	struct stat st;

	(void)state;
	tmp_path(path, sizeof(path), "stdout.json");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	batch_make(&b[0], "out-a", 2);
	batch_make(&b[1], "out-b", 1);

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	close(fd);
	e = exporter_open_file("-");
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b[0].spans, b[0].n), 0);
	assert_int_equal(exporter_write(e, b[1].spans, b[1].n), 0);
	assert_int_equal(exporter_close(e), 0);
	/* stdout stays open after close */
	assert_true(fcntl(STDOUT_FILENO, F_GETFD) >= 0);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);

	text = slurp(path, NULL);
	check_json_lines(text, b, 2);
	free(text);
	/* a file the shell redirected stdout to keeps its mode */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	batch_free(&b[0]);
	batch_free(&b[1]);
}

static void test_export_file_write_error_counts_drop(void **state)
{
	struct exporter_stats stats;
	struct stat before, after;
	struct bt_exporter *e;
	int fd, saved, werr, cerr;
	struct batch b;

	(void)state;
	if (stat("/dev/full", &before)) {
		skip();
		return;
	}
	/* -o refuses devices: reach /dev/full as the stdout a shell redirected */
	batch_make(&b, "full", 3);
	fd = open("/dev/full", O_WRONLY);
	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	close(fd);
	e = exporter_open_file("-");
	werr = e ? exporter_write(e, b.spans, b.n) : 0;
	if (e)
		exporter_get_stats(e, &stats);
	cerr = exporter_close(e);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	assert_non_null(e);
	assert_int_equal(werr, -ENOSPC);
	assert_int_equal(stats.spans_dropped, 3);
	assert_int_equal(stats.dropped_write, 3);
	assert_int_equal(stats.spans_accepted, 3);
	assert_int_equal(stats.spans_written, 0);
	assert_int_equal(stats.last_err, -ENOSPC);
	assert_int_equal(cerr, -ENOSPC);
	/* a device is never chmod'ed, even when running as root */
	assert_int_equal(stat("/dev/full", &after), 0);
	assert_int_equal(after.st_mode, before.st_mode);
	batch_free(&b);
}

static void test_export_file_refuses_symlink(void **state)
{
	char path[128], target[128], *text;
	struct stat st;
	int fd;

	(void)state;
	tmp_path(target, sizeof(target), "victim.json");
	tmp_path(path, sizeof(path), "planted.json");
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(write(fd, "keep\n", 5), 5);
	close(fd);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);

	errno = 0;
	assert_null(exporter_open_file(path));
	assert_int_equal(errno, ELOOP);
	assert_string_equal(exporter_file_refusal(errno), "it is a symbolic link");
	/* the link's target is neither truncated nor chmod'ed */
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	text = slurp(target, NULL);
	assert_string_equal(text, "keep\n");
	free(text);
	/* a dangling link is not created through either */
	unlink(target);
	errno = 0;
	assert_null(exporter_open_file(path));
	assert_int_equal(errno, ELOOP);
	assert_int_equal(stat(target, &st), -1);
	unlink(path);
}

static void test_export_file_refuses_non_regular(void **state)
{
	char path[128];

	(void)state;
	errno = 0;
	assert_null(exporter_open_file("/dev/null"));
	assert_int_equal(errno, EEXIST);
	assert_string_equal(exporter_file_refusal(errno), "not a regular file");
	tmp_path(path, sizeof(path), "fifo");
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	errno = 0;
	assert_null(exporter_open_file(path)); /* and without blocking for a reader */
	assert_int_equal(errno, EEXIST);
	unlink(path);
	errno = 0;
	assert_null(exporter_open_file(tmpdir));
	assert_int_equal(errno, EEXIST);
	assert_null(exporter_file_refusal(ENOENT));
}

static void test_export_file_open_errors(void **state)
{
	char path[160];

	(void)state;
	tmp_path(path, sizeof(path), "no/such/dir/x.json");
	errno = 0;
	assert_null(exporter_open_file(path));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(exporter_open_file(""));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(exporter_close(NULL), 0);
}

struct mt_arg {
	struct bt_exporter *e;
	struct batch *b;
};

static void *mt_writer(void *p)
{
	struct mt_arg *a = p;
	int i;

	for (i = 0; i < 50; i++)
		if (exporter_write(a->e, a->b->spans, a->b->n))
			return (void *)1;
	return NULL;
}

static void test_export_file_concurrent_writes_whole_lines(void **state)
{
	struct mt_arg args[4];
	struct batch b[4];
	pthread_t th[4];
	struct bt_exporter *e;
	char path[128], *text, *p, *nl;
	int i, lines = 0;
	void *ret;

	(void)state;
	tmp_path(path, sizeof(path), "mt.json");
	e = exporter_open_file(path);
	assert_non_null(e);
	assert_int_equal(exporter_set_http_limits(e, 1, 1), -EINVAL);
	for (i = 0; i < 4; i++) {
		batch_make(&b[i], "mt", 20);
		args[i].e = e;
		args[i].b = &b[i];
		assert_int_equal(pthread_create(&th[i], NULL, mt_writer, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(exporter_close(e), 0);
	text = slurp(path, NULL);
	for (p = text; *p; p = nl + 1) {
		cJSON *o;

		nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = '\0';
		o = cJSON_Parse(p);
		assert_non_null(o);
		cJSON_Delete(o);
		lines++;
	}
	assert_int_equal(lines, 200);
	free(text);
	for (i = 0; i < 4; i++)
		batch_free(&b[i]);
}

/* ---- a tiny OTLP/HTTP collector ---- */

#define SRV_MAX_REQ 64
#define SRV_HANG 0 /* status value: read the request and never answer */

struct srv {
	int lfd;
	uint16_t port;
	pthread_t thread;
	int stop; /* __atomic */
	/* script: status for request k; the last one repeats */
	const int *statuses;
	size_t n_statuses;
	const char *ok_body;	     /* body of 2xx answers, default "{}" */
	const char *err_body;	     /* body of other answers, default "nope" */
	int retry_after_s;	     /* sent with 429/503 when > 0 */
	const char *retry_after_str; /* sent verbatim instead, when set */
	pthread_mutex_t lock;
	size_t n_req;
	char *path[SRV_MAX_REQ];
	char *ctype[SRV_MAX_REQ];
	char *cenc[SRV_MAX_REQ]; /* Content-Encoding */
	char *auth[SRV_MAX_REQ]; /* Authorization */
	char *body[SRV_MAX_REQ];
	size_t body_len[SRV_MAX_REQ];
	int status[SRV_MAX_REQ];
	double t[SRV_MAX_REQ];
};

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

/* Reads from @fd into @buf until @want bytes are there; returns false on EOF/stop. */
static bool srv_fill(struct srv *s, int fd, char **buf, size_t *len, size_t *cap, size_t want)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;

	while (*len < want) {
		if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
			return false;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (*cap < want + 1) {
			*cap = want + 4096;
			*buf = realloc(*buf, *cap);
			assert_non_null(*buf);
		}
		n = read(fd, *buf + *len, *cap - *len - 1);
		if (n <= 0)
			return false;
		*len += (size_t)n;
		(*buf)[*len] = '\0';
	}
	return true;
}

static char *header_value(const char *headers, const char *name)
{
	const char *p = headers;
	size_t nlen = strlen(name);

	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, nlen) && p[nlen] == ':') {
			const char *v = p + nlen + 1, *end;

			while (*v == ' ')
				v++;
			end = strstr(v, "\r\n");
			return strndup(v, (size_t)(end - v));
		}
	}
	return NULL;
}

/* Serves requests on one connection until the peer closes it or the server stops. */
static void srv_conn(struct srv *s, int fd)
{
	size_t len = 0, cap = 0, hdr_len, body_len, k;
	char *buf = NULL, *end, *cl, resp[1024];
	int status;

	for (;;) {
		while (!(buf && (end = strstr(buf, "\r\n\r\n"))))
			if (!srv_fill(s, fd, &buf, &len, &cap, len + 1))
				goto out;
		hdr_len = (size_t)(end - buf) + 4;
		end[2] = '\0'; /* headers end with their last CRLF */
		cl = header_value(buf, "Content-Length");
		body_len = cl ? strtoul(cl, NULL, 10) : 0;
		free(cl);
		if (!srv_fill(s, fd, &buf, &len, &cap, hdr_len + body_len))
			goto out;

		pthread_mutex_lock(&s->lock);
		k = s->n_req;
		status = s->statuses[k < s->n_statuses ? k : s->n_statuses - 1];
		if (k < SRV_MAX_REQ) {
			char *sp1 = strchr(buf, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

			s->path[k] = sp2 ? strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1)) : NULL;
			s->ctype[k] = header_value(buf, "Content-Type");
			s->cenc[k] = header_value(buf, "Content-Encoding");
			s->auth[k] = header_value(buf, "Authorization");
			s->body[k] = malloc(body_len + 1);
			assert_non_null(s->body[k]);
			memcpy(s->body[k], buf + hdr_len, body_len);
			s->body[k][body_len] = '\0';
			s->body_len[k] = body_len;
			s->status[k] = status;
			s->t[k] = now_s();
			s->n_req++;
		}
		pthread_mutex_unlock(&s->lock);

		if (status == SRV_HANG) {
			while (srv_fill(s, fd, &buf, &len, &cap, len + 1))
				;
			goto out;
		}
		{
			const char *rb = status / 100 == 2 ? (s->ok_body ? s->ok_body : "{}")
					 : s->err_body	   ? s->err_body
							   : "nope";
			char ra[96] = "";

			if ((status == 429 || status == 503) && s->retry_after_str)
				snprintf(ra, sizeof(ra), "Retry-After: %s\r\n", s->retry_after_str);
			else if ((status == 429 || status == 503) && s->retry_after_s > 0)
				snprintf(ra, sizeof(ra), "Retry-After: %d\r\n", s->retry_after_s);
			snprintf(resp, sizeof(resp),
				 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%s"
				 "Content-Length: %zu\r\n\r\n%s",
				 status, reason(status), ra, strlen(rb), rb);
			assert_int_equal(write(fd, resp, strlen(resp)), (ssize_t)strlen(resp));
		}
		/* keep whatever followed this request */
		memmove(buf, buf + hdr_len + body_len, len - hdr_len - body_len);
		len -= hdr_len + body_len;
		buf[len] = '\0';
	}
out:
	free(buf);
	close(fd);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
	int fd;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd >= 0)
			srv_conn(s, fd);
	}
	return NULL;
}

/* Starts a server answering request k with statuses[min(k, n - 1)], 2xx bodies @ok_body. */
static void srv_start(struct srv *s, const int *statuses, size_t n, const char *ok_body,
		      int retry_after_s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->statuses = statuses;
	s->n_statuses = n;
	s->ok_body = ok_body;
	s->retry_after_s = retry_after_s;
	pthread_mutex_init(&s->lock, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	pthread_join(s->thread, NULL);
	close(s->lfd);
}

/* Frees what srv_stop()ped server @s recorded. */
static void srv_free(struct srv *s)
{
	size_t i;

	for (i = 0; i < s->n_req && i < SRV_MAX_REQ; i++) {
		free(s->path[i]);
		free(s->ctype[i]);
		free(s->cenc[i]);
		free(s->auth[i]);
		free(s->body[i]);
	}
	pthread_mutex_destroy(&s->lock);
}

static void srv_url(const struct srv *s, char *url, size_t size)
{
	snprintf(url, size, "http://127.0.0.1:%u/v1/traces", s->port);
}

/* A port with nothing listening: bound once by us, then released. */
static uint16_t dead_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Returns body @i as JSON text (gunzipped when it came with Content-Encoding: gzip). */
static char *srv_json(const struct srv *s, size_t i)
{
	z_stream z = {0};
	size_t cap = 1 << 20;
	char *out;

	if (!s->cenc[i])
		return strdup(s->body[i]);
	assert_string_equal(s->cenc[i], "gzip");
	out = malloc(cap);
	assert_non_null(out);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)s->body[i];
	z.avail_in = (uInt)s->body_len[i];
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap - 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	out[z.total_out] = '\0';
	inflateEnd(&z);
	return out;
}

/* Counts spans the server accepted (2xx) and checks each body is a JSON request. */
static int srv_accepted_spans(struct srv *s, char *names, size_t size)
{
	char one[4096];
	int total = 0;
	size_t i;

	names[0] = '\0';
	for (i = 0; i < s->n_req; i++) {
		char *json = srv_json(s, i);
		int n = request_span_names(json, one, sizeof(one));

		free(json);
		if (s->status[i] / 100 != 2)
			continue;
		total += n;
		if (names[0])
			strncat(names, ",", size - strlen(names) - 1);
		strncat(names, one, size - strlen(names) - 1);
	}
	return total;
}

/* ---- OTLP/HTTP exporter ---- */

static void test_export_http_posts_otlp_json(void **state)
{
	static const int ok[] = {200};
	struct exporter_stats stats;
	struct bt_exporter *e;
	struct batch b[2];
	char url[128], names[4096];
	struct srv s;
	double t0;
	size_t i;

	(void)state;
	srv_start(&s, ok, 1, NULL, 0);
	srv_url(&s, url, sizeof(url));
	batch_make(&b[0], "a", 3);
	batch_make(&b[1], "b", 2);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b[0].spans, b[0].n), 0);
	assert_int_equal(exporter_write(e, b[1].spans, b[1].n), 0);
	t0 = now_s();
	do {
		usleep(10 * 1000);
		exporter_get_stats(e, &stats);
	} while (stats.batches_written < 2 && now_s() - t0 < 5);
	assert_int_equal(stats.spans_written, 5);
	assert_int_equal(stats.batches_written, 2);
	assert_int_equal(stats.spans_dropped, 0);
	assert_int_equal(stats.retries, 0);
	assert_int_equal(exporter_close(e), 0);
	srv_stop(&s);

	assert_int_equal(s.n_req, 2);
	for (i = 0; i < 2; i++) {
		assert_string_equal(s.path[i], "/v1/traces");
		assert_non_null(s.ctype[i]);
		assert_string_equal(s.ctype[i], "application/json");
	}
	assert_int_equal(srv_accepted_spans(&s, names, sizeof(names)), 5);
	/* in order, nothing lost or duplicated */
	assert_string_equal(names, "a-0,a-1,a-2,b-0,b-1");
	batch_free(&b[0]);
	batch_free(&b[1]);
	srv_free(&s);
}

static void test_export_http_retries_503_without_loss(void **state)
{
	static const int script[] = {503, 503, 200};
	struct capture cap;
	struct bt_exporter *e;
	struct batch b[3];
	char url[128], names[4096], *log;
	struct srv s;

	(void)state;
	srv_start(&s, script, 3, NULL, 0);
	srv_url(&s, url, sizeof(url));
	batch_make(&b[0], "x", 2);
	batch_make(&b[1], "y", 3);
	batch_make(&b[2], "z", 1);
	capture_start(&cap);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b[0].spans, b[0].n), 0);
	assert_int_equal(exporter_write(e, b[1].spans, b[1].n), 0);
	usleep(100 * 1000);
	assert_int_equal(exporter_write(e, b[2].spans, b[2].n), 0);
	assert_int_equal(exporter_close(e), 0);
	log = capture_stop(&cap);
	srv_stop(&s);

	assert_int_equal(srv_accepted_spans(&s, names, sizeof(names)), 6);
	assert_string_equal(names, "x-0,x-1,y-0,y-1,y-2,z-0");
	assert_int_equal(s.status[0], 503);
	assert_int_equal(s.status[1], 503);
	/* one warning for the outage, one for the recovery: not one per batch or attempt */
	assert_int_equal(count_substr(log, "unavailable (HTTP 503)"), 1);
	assert_int_equal(count_substr(log, "reachable again"), 1);
	assert_int_equal(count_substr(log, "dropped"), 0);
	free(log);
	batch_free(&b[0]);
	batch_free(&b[1]);
	batch_free(&b[2]);
	srv_free(&s);
}

static void test_export_http_stats_after_retries(void **state)
{
	static const int script[] = {503, 200};
	struct exporter_stats stats;
	struct bt_exporter *e;
	struct batch b;
	char url[128];
	struct srv s;
	double t0;

	(void)state;
	srv_start(&s, script, 2, NULL, 0);
	srv_url(&s, url, sizeof(url));
	batch_make(&b, "st", 4);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	t0 = now_s();
	do {
		usleep(20 * 1000);
		exporter_get_stats(e, &stats);
	} while (stats.batches_written < 1 && now_s() - t0 < 5);
	assert_int_equal(stats.spans_written, 4);
	assert_int_equal(stats.batches_written, 1);
	assert_int_equal(stats.spans_dropped, 0);
	assert_int_equal(stats.retries, 1);
	assert_int_equal(exporter_close(e), 0);
	srv_stop(&s);
	assert_int_equal(s.n_req, 2);
	/* the retry waited for the backoff, it did not spin */
	assert_true(s.t[1] - s.t[0] >= 0.2);
	batch_free(&b);
	srv_free(&s);
}

static void test_export_http_dead_collector_drops_counted(void **state)
{
	struct exporter_stats stats;
	struct capture cap;
	struct bt_exporter *e;
	struct batch b[3];
	char url[128], *log;
	double t0, t;
	int i, err;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces", dead_port());
	batch_make(&b[0], "d0", 5);
	batch_make(&b[1], "d1", 6);
	batch_make(&b[2], "d2", 7);
	capture_start(&cap);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	for (i = 0; i < 3; i++) {
		t0 = now_s();
		assert_int_equal(exporter_write(e, b[i].spans, b[i].n), 0);
		t = now_s() - t0;
		assert_true(t < 1.5);
		usleep(300 * 1000); /* several attempts fail meanwhile */
	}
	exporter_get_stats(e, &stats);
	assert_int_equal(stats.spans_dropped, 0); /* still queued, not lost yet */
	assert_int_equal(stats.spans_written, 0);
	assert_true(stats.retries >= 1);
	t0 = now_s();
	err = exporter_finish(e);
	t = now_s() - t0;
	exporter_get_stats(e, &stats);
	assert_int_equal(exporter_close(e), err);
	log = capture_stop(&cap);

	assert_int_equal(err, -ECONNREFUSED);
	/* finish retries for ~5 s, not longer */
	assert_true(t >= 4.0 && t < 6.5);
	assert_int_equal(count_substr(log, "unavailable"), 1);
	assert_int_equal(count_substr(log, "reachable again"), 0);
	/* the totals are the caller's to print, once */
	assert_int_equal(count_substr(log, "dropped"), 0);
	assert_int_equal(stats.spans_accepted, 18);
	assert_int_equal(stats.spans_dropped, 18);
	assert_int_equal(stats.dropped_unsent, 18);
	assert_int_equal(stats.spans_written, 0);
	assert_int_equal(stats.last_err, -ECONNREFUSED);
	free(log);
	for (i = 0; i < 3; i++)
		batch_free(&b[i]);
}

static void test_export_http_close_timeout_setting(void **state)
{
	struct bt_exporter *e;
	struct batch b;
	char url[128];
	double t0, t;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces", dead_port());
	batch_make(&b, "ds", 9);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_set_http_limits(e, 0, 300), 0);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	t0 = now_s();
	assert_int_equal(exporter_close(e), -ECONNREFUSED);
	t = now_s() - t0;
	assert_true(t < 1.0);
	batch_free(&b);
}

static void test_export_http_queue_bounded(void **state)
{
	struct exporter_stats stats;
	struct bt_exporter *e;
	struct batch b;
	char url[128];
	int i, err;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces", dead_port());
	batch_make(&b, "q", 10);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	/* room for about two batches of 10 spans (each ~2 KiB of JSON) */
	assert_int_equal(exporter_set_http_limits(e, 5000, 0), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	exporter_get_stats(e, &stats);
	/* at most two queued plus one in flight survive */
	assert_true(stats.spans_dropped >= 30);
	assert_int_equal(stats.spans_dropped % 10, 0);
	err = exporter_close(e);
	/* what was left at close: refused, or never tried when close came first (timed out) */
	assert_true(err == -ECONNREFUSED || err == -ETIMEDOUT);
	batch_free(&b);
}

static void test_export_http_4xx_drops_batch(void **state)
{
	static const int script[] = {400, 200};
	struct exporter_stats stats;
	struct capture cap;
	struct bt_exporter *e;
	struct batch b[2];
	char url[128], names[4096], *log;
	struct srv s;

	(void)state;
	srv_start(&s, script, 2, NULL, 0);
	srv_url(&s, url, sizeof(url));
	batch_make(&b[0], "bad", 2);
	batch_make(&b[1], "good", 3);
	capture_start(&cap);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b[0].spans, b[0].n), 0);
	assert_int_equal(exporter_write(e, b[1].spans, b[1].n), 0);
	assert_int_equal(exporter_finish(e), -EBADMSG);
	exporter_get_stats(e, &stats);
	assert_int_equal(exporter_close(e), -EBADMSG);
	log = capture_stop(&cap);
	srv_stop(&s);
	assert_int_equal(stats.spans_accepted, 5);
	assert_int_equal(stats.spans_written, 3);
	assert_int_equal(stats.dropped_rejected, 2);
	assert_int_equal(stats.spans_dropped, 2);
	assert_int_equal(stats.last_status, 400);

	/* not retried: exactly two requests */
	assert_int_equal(s.n_req, 2);
	assert_int_equal(srv_accepted_spans(&s, names, sizeof(names)), 3);
	assert_string_equal(names, "good-0,good-1,good-2");
	assert_int_equal(count_substr(log, "HTTP 400"), 1);
	assert_int_equal(count_substr(log, "2 spans dropped"), 1);
	free(log);
	batch_free(&b[0]);
	batch_free(&b[1]);
	srv_free(&s);
}

static void test_export_http_partial_success_counted(void **state)
{
	static const int ok[] = {200};
	struct exporter_stats stats;
	struct bt_exporter *e;
	struct batch b;
	char url[128];
	struct srv s;
	double t0;

	(void)state;
	srv_start(&s, ok, 1,
		  "{\"partialSuccess\":{\"rejectedSpans\":\"2\",\"errorMessage\":\"bad span\"}}",
		  0);
	srv_url(&s, url, sizeof(url));
	batch_make(&b, "p", 5);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	t0 = now_s();
	do {
		usleep(20 * 1000);
		exporter_get_stats(e, &stats);
	} while (stats.batches_written < 1 && now_s() - t0 < 5);
	assert_int_equal(stats.spans_written, 3);
	assert_int_equal(stats.spans_dropped, 2);
	assert_int_equal(exporter_close(e), -EBADMSG);
	srv_stop(&s);
	batch_free(&b);
	srv_free(&s);
}

static void test_export_http_honours_retry_after(void **state)
{
	static const int script[] = {429, 200};
	struct bt_exporter *e;
	struct batch b;
	char url[128];
	struct srv s;

	(void)state;
	srv_start(&s, script, 2, NULL, 1);
	srv_url(&s, url, sizeof(url));
	batch_make(&b, "ra", 1);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	/* let the retry happen before close shortens the waits */
	usleep(1500 * 1000);
	assert_int_equal(exporter_close(e), 0);
	srv_stop(&s);
	assert_int_equal(s.n_req, 2);
	assert_true(s.t[1] - s.t[0] >= 0.9);
	batch_free(&b);
	srv_free(&s);
}

static void test_export_http_hung_collector_close_bounded(void **state)
{
	static const int hang[] = {SRV_HANG};
	struct bt_exporter *e;
	struct batch b;
	char url[128];
	struct srv s;
	double t0, t;

	(void)state;
	srv_start(&s, hang, 1, NULL, 0);
	srv_url(&s, url, sizeof(url));
	batch_make(&b, "h", 2);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_set_http_limits(e, 0, 1000), 0);
	t0 = now_s();
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	assert_true(now_s() - t0 < 0.5);
	usleep(200 * 1000);
	t0 = now_s();
	assert_int_equal(exporter_close(e), -ETIMEDOUT);
	t = now_s() - t0;
	srv_stop(&s);
	assert_true(t < 2.5);
	batch_free(&b);
	srv_free(&s);
}

static void test_export_http_rejects_bad_url(void **state)
{
	(void)state;
	errno = 0;
	assert_null(exporter_open_otlp_http("ftp://127.0.0.1/x"));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(exporter_open_otlp_http("not a url"));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(exporter_open_otlp_http(NULL));
	assert_int_equal(errno, EINVAL);
}

static void test_export_http_only_spec_statuses_retried(void **state)
{
	/* 500 and 501 are final in OTLP/HTTP; 502 and 504 are retried like 429 and 503 */
	static const int final[] = {500, 200};
	static const int retried[] = {502, 504, 200};
	struct exporter_stats stats;
	struct bt_exporter *e;
	struct batch b;
	char url[128], names[4096];
	struct srv s;

	(void)state;
	batch_make(&b, "st", 2);
	srv_start(&s, final, 2, NULL, 0);
	srv_url(&s, url, sizeof(url));
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	assert_int_equal(exporter_finish(e), -EBADMSG);
	exporter_get_stats(e, &stats);
	assert_int_equal(exporter_close(e), -EBADMSG);
	srv_stop(&s);
	assert_int_equal(s.n_req, 1);
	assert_int_equal(stats.dropped_rejected, 2);
	assert_int_equal(stats.last_status, 500);
	srv_free(&s);

	srv_start(&s, retried, 3, NULL, 0);
	srv_url(&s, url, sizeof(url));
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	assert_int_equal(exporter_close(e), 0);
	srv_stop(&s);
	assert_int_equal(s.n_req, 3);
	assert_int_equal(srv_accepted_spans(&s, names, sizeof(names)), 2);
	batch_free(&b);
	srv_free(&s);
}

static void test_export_http_400_reports_status_message(void **state)
{
	static const int bad[] = {400};
	struct capture cap;
	struct bt_exporter *e;
	struct batch b;
	char url[128], *log;
	struct srv s;

	(void)state;
	srv_start(&s, bad, 1, NULL, 0);
	s.err_body = "{\"code\":3,\"message\":\"span 7 has an invalid trace id\"}";
	srv_url(&s, url, sizeof(url));
	batch_make(&b, "m", 3);
	capture_start(&cap);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	assert_int_equal(exporter_close(e), -EBADMSG);
	log = capture_stop(&cap);
	srv_stop(&s);
	/* each request once, one line with the collector's own message */
	assert_int_equal(s.n_req, 2);
	assert_int_equal(count_substr(log, "HTTP 400: span 7 has an invalid trace id; 3 spans "
					   "dropped, not retried"),
			 1);
	assert_int_equal(count_substr(log, "\n"), 1);
	free(log);
	batch_free(&b);
	srv_free(&s);
}

static void test_export_http_retry_after_http_date(void **state)
{
	static const int script[] = {503, 200};
	char url[128], date[64];
	struct bt_exporter *e;
	struct batch b;
	struct srv s;
	time_t when = time(NULL) + 3;
	struct tm tm;

	(void)state;
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	srv_start(&s, script, 2, NULL, 0);
	s.retry_after_str = date;
	srv_url(&s, url, sizeof(url));
	batch_make(&b, "rd", 1);
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	usleep(3500 * 1000);
	assert_int_equal(exporter_close(e), 0);
	srv_stop(&s);
	assert_int_equal(s.n_req, 2);
	/* the date is whole seconds: at least 2 s after an answer sent up to 1 s before it */
	assert_true(s.t[1] - s.t[0] >= 1.9);
	batch_free(&b);
	srv_free(&s);
}

static void test_export_http_gzip_and_headers(void **state)
{
	static const int ok[] = {200};
	struct otel_headers h = {0};
	struct exporter_http_opts o = {.gzip = true, .headers = &h, .timeout_ms = 2000};
	struct capture cap;
	struct bt_exporter *e;
	struct batch b;
	char url[128], names[4096], *log;
	struct srv s;

	(void)state;
	assert_int_equal(otel_headers_parse("Authorization=Bearer%20s3cr3t-t0ken", &h), 0);
	srv_start(&s, ok, 1, NULL, 0);
	srv_url(&s, url, sizeof(url));
	batch_make(&b, "gz", 4);
	capture_start(&cap);
	e = exporter_open_otlp_http_opts(url, &o);
	otel_headers_free(&h); /* the exporter keeps its own copy */
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	assert_int_equal(exporter_close(e), 0);
	log = capture_stop(&cap);
	srv_stop(&s);
	assert_int_equal(s.n_req, 1);
	assert_non_null(s.cenc[0]);
	assert_string_equal(s.cenc[0], "gzip");
	assert_string_equal(s.ctype[0], "application/json");
	assert_non_null(s.auth[0]);
	assert_string_equal(s.auth[0], "Bearer s3cr3t-t0ken");
	/* a real gzip stream of the request */
	assert_int_equal((unsigned char)s.body[0][0], 0x1f);
	assert_int_equal((unsigned char)s.body[0][1], 0x8b);
	assert_int_equal(srv_accepted_spans(&s, names, sizeof(names)), 4);
	assert_string_equal(names, "gz-0,gz-1,gz-2,gz-3");
	assert_null(strstr(log, "s3cr3t"));
	free(log);
	batch_free(&b);
	srv_free(&s);
}

/* ---- the spool ---- */

static char spool_root[64];

static int spool_setup(void **state)
{
	(void)state;
	strcpy(spool_root, "/tmp/bt_test_export_spool_XXXXXX");
	return mkdtemp(spool_root) ? 0 : -1;
}

static int spool_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool_root);
	return system(cmd);
}

static int spool_count(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = 0;

	if (!dp)
		return -1;
	while ((d = readdir(dp)))
		n += strstr(d->d_name, ".btspool") && !strstr(d->d_name, ".corrupt");
	closedir(dp);
	return n;
}

static void test_export_spool_outage_then_next_run(void **state)
{
	static const int ok[] = {200};
	struct exporter_stats stats;
	struct exporter_http_opts o = {0};
	struct bt_exporter *e;
	struct batch b[3];
	char url[128], dir[128], names[4096];
	struct srv s;
	double t0;
	int i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/spool", spool_root);
	o.spool_dir = dir;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces", dead_port());
	batch_make(&b[0], "r0", 3);
	batch_make(&b[1], "r1", 4);
	batch_make(&b[2], "r2", 5);
	e = exporter_open_otlp_http_opts(url, &o);
	assert_non_null(e);
	for (i = 0; i < 3; i++) {
		assert_int_equal(exporter_write(e, b[i].spans, b[i].n), 0);
		usleep(100 * 1000);
	}
	/* the collector is away: the requests went to disk promptly, not only at exit */
	t0 = now_s();
	do {
		usleep(20 * 1000);
		exporter_get_stats(e, &stats);
	} while (stats.spans_spooled < 12 && now_s() - t0 < 3);
	assert_int_equal(stats.spans_spooled, 12);
	assert_int_equal(spool_count(dir), 3);
	/* exit does not wait out the close window for a collector known to be away */
	t0 = now_s();
	assert_int_equal(exporter_finish(e), 0);
	assert_true(now_s() - t0 < 1.0);
	exporter_get_stats(e, &stats);
	assert_int_equal(exporter_close(e), 0);
	assert_int_equal(stats.spans_accepted, 12);
	assert_int_equal(stats.spans_spooled, 12);
	assert_int_equal(stats.spans_dropped, 0);
	assert_int_equal(stats.spans_written, 0);
	assert_int_equal(stats.spool_files, 3);

	/* the next run sends them, oldest first, without writing anything itself */
	srv_start(&s, ok, 1, NULL, 0);
	srv_url(&s, url, sizeof(url));
	e = exporter_open_otlp_http_opts(url, &o);
	assert_non_null(e);
	t0 = now_s();
	do {
		usleep(20 * 1000);
		exporter_get_stats(e, &stats);
	} while (stats.spans_recovered < 12 && now_s() - t0 < 5);
	assert_int_equal(exporter_close(e), 0);
	srv_stop(&s);
	assert_int_equal(stats.spans_recovered, 12);
	assert_int_equal(stats.spans_accepted, 0);
	assert_int_equal(stats.spool_files, 0);
	assert_int_equal(spool_count(dir), 0);
	assert_int_equal(s.n_req, 3);
	assert_int_equal(srv_accepted_spans(&s, names, sizeof(names)), 12);
	assert_string_equal(names, "r0-0,r0-1,r0-2,r1-0,r1-1,r1-2,r1-3,r2-0,r2-1,r2-2,r2-3,r2-4");
	for (i = 0; i < 3; i++)
		batch_free(&b[i]);
	srv_free(&s);
}

static void test_export_spool_recovery_in_same_run(void **state)
{
	/* down for the first attempts, then up: spooled and in-memory requests each once */
	static const int script[] = {503, 503, 503, 200};
	struct exporter_stats stats;
	struct exporter_http_opts o = {0};
	struct bt_exporter *e;
	struct batch b[3];
	char url[128], dir[128], names[4096];
	struct srv s;
	int i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/spool", spool_root);
	o.spool_dir = dir;
	srv_start(&s, script, 4, NULL, 0);
	srv_url(&s, url, sizeof(url));
	batch_make(&b[0], "a", 2);
	batch_make(&b[1], "b", 2);
	batch_make(&b[2], "c", 2);
	e = exporter_open_otlp_http_opts(url, &o);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b[0].spans, b[0].n), 0);
	assert_int_equal(exporter_write(e, b[1].spans, b[1].n), 0);
	usleep(1500 * 1000);
	assert_int_equal(exporter_write(e, b[2].spans, b[2].n), 0);
	assert_int_equal(exporter_finish(e), 0);
	exporter_get_stats(e, &stats);
	assert_int_equal(exporter_close(e), 0);
	srv_stop(&s);
	assert_int_equal(stats.spans_written, 6);
	assert_int_equal(stats.spans_spooled, 0);
	assert_int_equal(stats.spans_dropped, 0);
	assert_int_equal(spool_count(dir), 0);
	assert_int_equal(srv_accepted_spans(&s, names, sizeof(names)), 6);
	assert_string_equal(names, "a-0,a-1,b-0,b-1,c-0,c-1");
	for (i = 0; i < 3; i++)
		batch_free(&b[i]);
	srv_free(&s);
}

static void test_export_spool_full_drops_counted(void **state)
{
	struct exporter_stats stats;
	struct exporter_http_opts o = {.spool_max = 6000};
	struct capture cap;
	struct bt_exporter *e;
	struct batch b;
	char url[128], dir[128], *log;
	double t0;
	int i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/spool", spool_root);
	o.spool_dir = dir;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces", dead_port());
	batch_make(&b, "f", 10); /* about 2 KiB of JSON per request */
	capture_start(&cap);
	e = exporter_open_otlp_http_opts(url, &o);
	assert_non_null(e);
	for (i = 0; i < 6; i++)
		assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	t0 = now_s();
	do {
		usleep(20 * 1000);
		exporter_get_stats(e, &stats);
	} while (stats.spans_spooled + stats.dropped_spool_full < 60 && now_s() - t0 < 3);
	assert_int_equal(exporter_close(e), -ENOBUFS);
	log = capture_stop(&cap);
	assert_true(stats.spans_spooled >= 10 && stats.spans_spooled <= 30);
	assert_int_equal(stats.spans_spooled + stats.dropped_spool_full, 60);
	assert_int_equal(stats.spans_dropped, stats.dropped_spool_full);
	assert_true(stats.spool_bytes <= 6000);
	assert_int_equal(count_substr(log, "is full"), 1);
	free(log);
	batch_free(&b);
}

/* ---- metrics and logs: requests the caller encoded ---- */

/* Two requests of another signal, as the encoders of user/metrics hand them over. */
static const char metrics_req[] =
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[]},\"scopeMetrics\":[{\"scope\":"
    "{\"name\":\"bedtrace\"},\"metrics\":[{\"name\":\"bedtrace.test\",\"sum\":{\"dataPoints\":"
    "[{\"asInt\":\"1\"},{\"asInt\":\"2\"}],\"aggregationTemporality\":2,\"isMonotonic\":true}}]"
    "}]}]}";
static const char logs_req[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[]},\"scopeLogs\":[{\"scope\":{\"name\":"
    "\"bedtrace\"},\"logRecords\":[{\"eventName\":\"a\"},{\"eventName\":\"b\"},{\"eventName\":"
    "\"c\"},{\"eventName\":\"d\"}]}]}]}";

/* Waits (up to 5 s) until @e's counts satisfy @cond, then leaves them in @st. */
#define WAIT_STATS(e, st, cond)                                                                    \
	do {                                                                                       \
		double t0_ = now_s();                                                              \
		do {                                                                               \
			usleep(20 * 1000);                                                         \
			exporter_get_stats((e), &(st));                                            \
		} while (!(cond) && now_s() - t0_ < 5);                                            \
	} while (0)

static void test_export_file_write_json_lines(void **state)
{
	/* what follows the request's length is not part of it */
	static const char padded[] = "{\"resourceLogs\":[]}GARBAGE";
	struct exporter_stats stats;
	struct bt_exporter *e;
	char path[128], *text, expect[1024];
	struct batch b;
	struct stat st;

	(void)state;
	tmp_path(path, sizeof(path), "signal.json");
	e = exporter_open_file_signal(path, BT_SIGNAL_METRICS);
	assert_non_null(e);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(exporter_write_json(e, metrics_req, strlen(metrics_req), 2), 0);
	assert_int_equal(exporter_write_json(e, padded, strlen(padded) - 7, 3), 0);
	/* not one line of JSON, or nothing: refused, nothing written or counted */
	assert_int_equal(exporter_write_json(e, "{\n}", 3, 1), -EINVAL);
	assert_int_equal(exporter_write_json(e, "{}", 0, 1), -EINVAL);
	assert_int_equal(exporter_write_json(e, NULL, 2, 1), -EINVAL);
	assert_int_equal(exporter_write_json(NULL, "{}", 2, 1), -EINVAL);
	/* on disk before the call returns: one line each, exactly the bytes given */
	text = slurp(path, NULL);
	snprintf(expect, sizeof(expect), "%s\n{\"resourceLogs\":[]}\n", metrics_req);
	assert_string_equal(text, expect);
	free(text);
	exporter_get_stats(e, &stats);
	assert_int_equal(stats.spans_accepted, 5);
	assert_int_equal(stats.spans_written, 5);
	assert_int_equal(stats.batches_written, 2);
	assert_int_equal(stats.spans_dropped, 0);
	assert_int_equal(exporter_close(e), 0);

	/* spans go the same way: encoded lines and given lines interleave in order */
	batch_make(&b, "mix", 2);
	e = exporter_open_file(path);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	assert_int_equal(exporter_write_json(e, "{\"resourceSpans\":[]}", 20, 0), 0);
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	exporter_get_stats(e, &stats);
	assert_int_equal(stats.spans_written, 4);
	assert_int_equal(stats.batches_written, 3);
	assert_int_equal(exporter_close(e), 0);
	text = slurp(path, NULL);
	{
		char *l1 = text, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
		char names[256];

		assert_int_equal(strncmp(l2, "{\"resourceSpans\":[]}\n", 21), 0);
		l2[-1] = '\0';
		assert_int_equal(request_span_names(l1, names, sizeof(names)), 2);
		assert_int_equal(request_span_names(l3, names, sizeof(names)), 2);
		assert_string_equal(names, "mix-0,mix-1");
	}
	free(text);
	batch_free(&b);

	/* the same rules as exporter_open_file */
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	errno = 0;
	assert_null(exporter_open_file_signal(path, BT_SIGNAL_LOGS));
	assert_int_equal(errno, ELOOP);
	unlink(path);
	errno = 0;
	assert_null(exporter_open_file_signal(path, (enum bt_signal)3));
	assert_int_equal(errno, EINVAL);
}

static void test_export_file_signal_noun_in_warning(void **state)
{
	struct exporter_stats stats;
	struct capture cap;
	struct bt_exporter *e;
	struct stat st;
	int fd, saved, werr;
	char *log;

	(void)state;
	if (stat("/dev/full", &st)) {
		skip();
		return;
	}
	fd = open("/dev/full", O_WRONLY);
	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	close(fd);
	capture_start(&cap);
	e = exporter_open_file_signal("-", BT_SIGNAL_LOGS);
	werr = e ? exporter_write_json(e, logs_req, strlen(logs_req), 4) : 0;
	if (e)
		exporter_get_stats(e, &stats);
	exporter_close(e);
	log = capture_stop(&cap);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	assert_non_null(e);
	assert_int_equal(werr, -ENOSPC);
	assert_int_equal(stats.spans_accepted, 4);
	assert_int_equal(stats.dropped_write, 4);
	assert_int_equal(stats.spans_dropped, 4);
	assert_non_null(strstr(log, "log records are being dropped"));
	assert_null(strstr(log, "spans"));
	free(log);
}

static void test_export_http_partial_success_per_signal(void **state)
{
	static const int ok[] = {200};
	static const struct {
		enum bt_signal sig;
		const char *path, *req;
		uint64_t rejected;
		const char *noun;
		bool gzip;
	} cases[] = {
	    {BT_SIGNAL_TRACES, "/v1/traces", "{\"resourceSpans\":[]}", 1, "spans", false},
	    {BT_SIGNAL_METRICS, "/v1/metrics", metrics_req, 2, "data points", true},
	    {BT_SIGNAL_LOGS, "/v1/logs", logs_req, 3, "log records", false},
	};
	struct exporter_stats stats;
	struct exporter_http_opts o = {0};
	struct capture cap;
	struct bt_exporter *e;
	char url[128], want[128], *log, *json;
	struct srv s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* every field in one answer: each exporter reads its signal's */
		srv_start(&s, ok, 1,
			  "{\"partialSuccess\":{\"rejectedSpans\":\"1\",\"rejectedDataPoints\":"
			  "\"2\",\"rejectedLogRecords\":3,\"errorMessage\":\"too old\"}}",
			  0);
		snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s.port, cases[i].path);
		o.signal = cases[i].sig;
		o.gzip = cases[i].gzip;
		capture_start(&cap);
		e = exporter_open_otlp_http_opts(url, &o);
		assert_non_null(e);
		assert_int_equal(exporter_write_json(e, cases[i].req, strlen(cases[i].req), 10), 0);
		WAIT_STATS(e, stats, stats.spans_written + stats.spans_dropped >= 10);
		assert_int_equal(exporter_close(e), -EBADMSG);
		log = capture_stop(&cap);
		srv_stop(&s);
		assert_int_equal(stats.spans_accepted, 10);
		assert_int_equal(stats.spans_written, 10 - cases[i].rejected);
		assert_int_equal(stats.dropped_rejected, cases[i].rejected);
		assert_int_equal(stats.spans_dropped, cases[i].rejected);
		assert_int_equal(stats.batches_written, 1);
		snprintf(want, sizeof(want), "rejected %" PRIu64 " of 10 %s: too old",
			 cases[i].rejected, cases[i].noun);
		assert_non_null(strstr(log, want));
		/* the request exactly as given, compressed if asked */
		assert_int_equal(s.n_req, 1);
		assert_string_equal(s.path[0], cases[i].path);
		assert_string_equal(s.ctype[0], "application/json");
		assert_int_equal(!!s.cenc[0], cases[i].gzip);
		json = srv_json(&s, 0);
		assert_string_equal(json, cases[i].req);
		free(json);
		free(log);
		srv_free(&s);
	}
	errno = 0;
	o.signal = (enum bt_signal)3;
	assert_null(exporter_open_otlp_http_opts("http://127.0.0.1:4318/v1/logs", &o));
	assert_int_equal(errno, EINVAL);
}

static void test_export_http_signal_noun_in_warnings(void **state)
{
	static const int script[] = {503, 400};
	struct exporter_stats stats;
	struct exporter_http_opts o = {.signal = BT_SIGNAL_LOGS};
	struct capture cap;
	struct bt_exporter *e;
	char url[128], *log;
	struct srv s;

	(void)state;
	srv_start(&s, script, 2, NULL, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/logs", s.port);
	capture_start(&cap);
	e = exporter_open_otlp_http_opts(url, &o);
	assert_non_null(e);
	assert_int_equal(exporter_write_json(e, logs_req, strlen(logs_req), 4), 0);
	assert_int_equal(exporter_finish(e), -EBADMSG);
	exporter_get_stats(e, &stats);
	assert_int_equal(exporter_close(e), -EBADMSG);
	log = capture_stop(&cap);
	srv_stop(&s);
	/* retried after the 503 like spans, then refused for good */
	assert_int_equal(s.n_req, 2);
	assert_int_equal(stats.retries, 1);
	assert_int_equal(stats.dropped_rejected, 4);
	assert_int_equal(stats.last_status, 400);
	assert_non_null(strstr(log, "keeping log records in memory"));
	assert_non_null(strstr(log, "sending queued log records"));
	assert_non_null(strstr(log, "4 log records dropped"));
	assert_null(strstr(log, "spans"));
	free(log);
	srv_free(&s);
}

/* Whether @path is a directory of mode 0700. */
static bool is_dir_0700(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700;
}

static void test_export_spool_signals_side_by_side(void **state)
{
	static const int ok[] = {200};
	struct exporter_stats st[3];
	struct exporter_http_opts o[3] = {{.signal = BT_SIGNAL_TRACES},
					  {.signal = BT_SIGNAL_METRICS},
					  {.signal = BT_SIGNAL_LOGS}};
	static const char *const paths[] = {"/v1/traces", "/v1/metrics", "/v1/logs"};
	struct bt_exporter *e[3];
	char url[128], dir[128], sub[160], names[256], *json;
	uint16_t port = dead_port();
	struct batch b;
	struct srv s;
	int i;

	(void)state;
	/* does not exist yet: created 0700 with its subdirectories */
	snprintf(dir, sizeof(dir), "%s/spool", spool_root);
	batch_make(&b, "t", 3);
	for (i = 0; i < 3; i++) {
		o[i].spool_dir = dir;
		snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, paths[i]);
		e[i] = exporter_open_otlp_http_opts(url, &o[i]);
		assert_non_null(e[i]);
	}
	assert_true(is_dir_0700(dir));
	snprintf(sub, sizeof(sub), "%s/metrics", dir);
	assert_true(is_dir_0700(sub));
	/* each signal's spool has its own lock: a second metrics exporter is refused */
	errno = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/metrics", port);
	assert_null(exporter_open_otlp_http_opts(url, &o[1]));
	assert_int_equal(errno, EBUSY);

	assert_int_equal(exporter_write(e[0], b.spans, b.n), 0);
	assert_int_equal(exporter_write_json(e[1], metrics_req, strlen(metrics_req), 2), 0);
	assert_int_equal(exporter_write_json(e[2], logs_req, strlen(logs_req), 4), 0);
	WAIT_STATS(e[0], st[0], st[0].spans_spooled == 3);
	WAIT_STATS(e[1], st[1], st[1].spans_spooled == 2);
	WAIT_STATS(e[2], st[2], st[2].spans_spooled == 4);
	for (i = 0; i < 3; i++) {
		assert_int_equal(exporter_finish(e[i]), 0);
		exporter_get_stats(e[i], &st[i]);
		assert_int_equal(exporter_close(e[i]), 0);
		assert_int_equal(st[i].spool_files, 1);
		assert_int_equal(st[i].spans_dropped, 0);
	}
	assert_int_equal(st[1].spans_spooled, 2);
	assert_int_equal(spool_count(dir), 1);
	assert_int_equal(spool_count(sub), 1);
	snprintf(sub, sizeof(sub), "%s/logs", dir);
	assert_int_equal(spool_count(sub), 1);

	/* the next run: each exporter sends its own signal's spool, and only that */
	srv_start(&s, ok, 1, NULL, 0);
	for (i = 1; i >= 0; i--) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s.port, paths[i]);
		e[i] = exporter_open_otlp_http_opts(url, &o[i]);
		assert_non_null(e[i]);
		WAIT_STATS(e[i], st[i], st[i].spans_recovered == (i ? 2u : 3u));
		assert_int_equal(exporter_close(e[i]), 0);
		assert_int_equal(st[i].spool_files, 0);
	}
	srv_stop(&s);
	assert_int_equal(s.n_req, 2);
	assert_string_equal(s.path[0], "/v1/metrics");
	json = srv_json(&s, 0);
	assert_string_equal(json, metrics_req);
	free(json);
	assert_string_equal(s.path[1], "/v1/traces");
	json = srv_json(&s, 1);
	assert_int_equal(request_span_names(json, names, sizeof(names)), 3);
	assert_string_equal(names, "t-0,t-1,t-2");
	free(json);
	srv_free(&s);
	assert_int_equal(spool_count(dir), 0);
	snprintf(sub, sizeof(sub), "%s/metrics", dir);
	assert_int_equal(spool_count(sub), 0);
	/* the logs are still waiting for their exporter */
	snprintf(sub, sizeof(sub), "%s/logs", dir);
	assert_int_equal(spool_count(sub), 1);
	batch_free(&b);
}

static void test_export_spool_signal_dir_checked(void **state)
{
	struct exporter_http_opts o = {.signal = BT_SIGNAL_METRICS};
	char url[128], dir[128], sub[160];
	struct bt_exporter *e;
	int fd;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/metrics", dead_port());
	snprintf(dir, sizeof(dir), "%s/spool", spool_root);
	o.spool_dir = dir;
	/* the spool directory itself must be safe, not only the signal's subdirectory */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	errno = 0;
	assert_null(exporter_open_otlp_http_opts(url, &o));
	assert_int_equal(errno, EPERM);
	assert_non_null(exporter_spool_refusal(EPERM));
	assert_int_equal(chmod(dir, 0700), 0);
	/* nor may the subdirectory be a link, or something else than a directory */
	snprintf(sub, sizeof(sub), "%s/metrics", dir);
	assert_int_equal(symlink(spool_root, sub), 0);
	errno = 0;
	assert_null(exporter_open_otlp_http_opts(url, &o));
	assert_int_equal(errno, ELOOP);
	o.signal = BT_SIGNAL_LOGS;
	snprintf(sub, sizeof(sub), "%s/logs", dir);
	fd = open(sub, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(exporter_open_otlp_http_opts(url, &o));
	assert_true(errno == ENOTDIR || errno == EEXIST);
	/* a trailing slash does not change where the spool is */
	unlink(sub);
	snprintf(dir, sizeof(dir), "%s/spool//", spool_root);
	e = exporter_open_otlp_http_opts(url, &o);
	assert_non_null(e);
	assert_int_equal(exporter_close(e), 0);
	assert_true(is_dir_0700(sub));
}

/* ---- reopen ---- */

static void test_export_file_reopen_after_rename(void **state)
{
	char path[128], rotated[128], *a, *c;
	struct batch b[3];
	struct bt_exporter *e;
	struct stat st;
	int i;

	(void)state;
	tmp_path(path, sizeof(path), "new.json");
	tmp_path(rotated, sizeof(rotated), "old.json");
	for (i = 0; i < 3; i++)
		batch_make(&b[i], i == 0 ? "before" : i == 1 ? "after" : "again", 2);
	e = exporter_open_file(path);
	assert_non_null(e);
	assert_int_equal(exporter_write(e, b[0].spans, b[0].n), 0);
	assert_int_equal(rename(path, rotated), 0);
	assert_int_equal(exporter_reopen(e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(exporter_write(e, b[1].spans, b[1].n), 0);
	/* a reopen without a rename appends: nothing already written is lost */
	assert_int_equal(exporter_reopen(e), 0);
	assert_int_equal(exporter_write(e, b[2].spans, b[2].n), 0);
	assert_int_equal(exporter_close(e), 0);
	a = slurp(rotated, NULL);
	c = slurp(path, NULL);
	check_json_lines(a, &b[0], 1);
	check_json_lines(c, &b[1], 2);
	free(a);
	free(c);
	unlink(rotated);
	for (i = 0; i < 3; i++)
		batch_free(&b[i]);
}

static void test_export_file_reopen_refuses_symlink(void **state)
{
	char path[128], rotated[128], *a;
	struct batch b;
	struct bt_exporter *e;
	struct capture cap;
	char *log;

	(void)state;
	tmp_path(path, sizeof(path), "new.json");
	tmp_path(rotated, sizeof(rotated), "old.json");
	batch_make(&b, "kept", 2);
	e = exporter_open_file(path);
	assert_non_null(e);
	assert_int_equal(rename(path, rotated), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	capture_start(&cap);
	assert_int_equal(exporter_reopen(e), -ELOOP);
	log = capture_stop(&cap);
	assert_non_null(strstr(log, "symbolic link"));
	/* still writing to the file opened before */
	assert_int_equal(exporter_write(e, b.spans, b.n), 0);
	assert_int_equal(exporter_close(e), 0);
	a = slurp(rotated, NULL);
	check_json_lines(a, &b, 1);
	free(a);
	free(log);
	unlink(path);
	unlink(rotated);
	batch_free(&b);
}

static void test_export_reopen_stdout_and_http_noop(void **state)
{
	struct bt_exporter *e;
	char url[128];

	(void)state;
	e = exporter_open_file("-");
	assert_non_null(e);
	assert_int_equal(exporter_reopen(e), 0);
	assert_int_equal(exporter_close(e), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces", dead_port());
	e = exporter_open_otlp_http(url);
	assert_non_null(e);
	assert_int_equal(exporter_reopen(e), 0);
	assert_int_equal(exporter_close(e), 0);
	assert_int_equal(exporter_reopen(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest file_tests[] = {
	    cmocka_unit_test(test_export_file_creates_mode_0600),
	    cmocka_unit_test(test_export_file_existing_becomes_0600_and_truncated),
	    cmocka_unit_test(test_export_file_json_lines),
	    cmocka_unit_test(test_export_file_stdout),
	    cmocka_unit_test(test_export_file_write_error_counts_drop),
	    cmocka_unit_test(test_export_file_refuses_symlink),
	    cmocka_unit_test(test_export_file_refuses_non_regular),
	    cmocka_unit_test(test_export_file_open_errors),
	    cmocka_unit_test(test_export_file_concurrent_writes_whole_lines),
	    cmocka_unit_test(test_export_file_reopen_after_rename),
	    cmocka_unit_test_teardown(test_export_file_reopen_refuses_symlink, capture_teardown),
	    cmocka_unit_test(test_export_reopen_stdout_and_http_noop),
	    cmocka_unit_test(test_export_file_write_json_lines),
	    cmocka_unit_test_teardown(test_export_file_signal_noun_in_warning, capture_teardown),
	};
	const struct CMUnitTest http_tests[] = {
	    cmocka_unit_test(test_export_http_posts_otlp_json),
	    cmocka_unit_test_teardown(test_export_http_retries_503_without_loss, capture_teardown),
	    cmocka_unit_test(test_export_http_stats_after_retries),
	    cmocka_unit_test_teardown(test_export_http_dead_collector_drops_counted,
				      capture_teardown),
	    cmocka_unit_test(test_export_http_close_timeout_setting),
	    cmocka_unit_test(test_export_http_queue_bounded),
	    cmocka_unit_test_teardown(test_export_http_4xx_drops_batch, capture_teardown),
	    cmocka_unit_test(test_export_http_partial_success_counted),
	    cmocka_unit_test(test_export_http_honours_retry_after),
	    cmocka_unit_test(test_export_http_hung_collector_close_bounded),
	    cmocka_unit_test(test_export_http_rejects_bad_url),
	    cmocka_unit_test(test_export_http_only_spec_statuses_retried),
	    cmocka_unit_test_teardown(test_export_http_400_reports_status_message,
				      capture_teardown),
	    cmocka_unit_test(test_export_http_retry_after_http_date),
	    cmocka_unit_test_teardown(test_export_http_gzip_and_headers, capture_teardown),
	    cmocka_unit_test_teardown(test_export_http_partial_success_per_signal,
				      capture_teardown),
	    cmocka_unit_test_teardown(test_export_http_signal_noun_in_warnings, capture_teardown),
	};
	const struct CMUnitTest spool_tests[] = {
	    cmocka_unit_test_setup_teardown(test_export_spool_outage_then_next_run, spool_setup,
					    spool_teardown),
	    cmocka_unit_test_setup_teardown(test_export_spool_recovery_in_same_run, spool_setup,
					    spool_teardown),
	    cmocka_unit_test_setup_teardown(test_export_spool_full_drops_counted, spool_setup,
					    spool_teardown),
	    cmocka_unit_test_setup_teardown(test_export_spool_signals_side_by_side, spool_setup,
					    spool_teardown),
	    cmocka_unit_test_setup_teardown(test_export_spool_signal_dir_checked, spool_setup,
					    spool_teardown),
	};
	int failed;

	/* the collector is on 127.0.0.1: never route it through a proxy from the environment */
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	failed =
	    cmocka_run_group_tests_name("export_file", file_tests, setup_tmpdir, teardown_tmpdir);
	failed += cmocka_run_group_tests_name("export_http", http_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("export_spool", spool_tests, NULL, NULL);
	return failed;
}
