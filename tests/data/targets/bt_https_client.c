// SPDX-License-Identifier: MIT
/*
 * An HTTPS client in C over the system's libssl.so.3, for the attach tests and benchmark: sets up
 * its TLS context (CA loaded, libssl mapped), prints "waiting" and blocks until a line arrives
 * on stdin, so a tracer can attach to an idle process that has not sent anything yet. Then it
 * opens one keep-alive connection to 127.0.0.1:PORT and sends COUNT requests
 * GET /bytes/SIZE?i=<k>, INTERVAL_MS apart, printing {"i":k,"status":S,"size":N} per answer.
 *
 *   bt_https_client CA PORT COUNT [SIZE [INTERVAL_MS]]
 *
 * Exit 0 when every answer was a 200 of SIZE bytes; 1 otherwise; EOF on stdin exits 1 at once.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 8192

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Returns a TCP socket connected to 127.0.0.1:@port, or -1 with errno set. */
static int tcp_connect(int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	addr.sin_port = htons((unsigned short)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Reads one HTTP/1.1 response (headers, then a Content-Length body) from @ssl; stores the status
 * and body size. Returns 0, or -1 on a short read or a response it cannot frame. */
static int read_response(SSL *ssl, int *status, long *size)
{
	char head[HEAD_MAX + 1], buf[16384];
	size_t used = 0;
	char *end = NULL, *cl;
	long want, have;
	int n;

	while (!end) {
		if (used == HEAD_MAX)
			return -1;
		n = SSL_read(ssl, head + used, (int)(HEAD_MAX - used));
		if (n <= 0)
			return -1;
		used += (size_t)n;
		head[used] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (sscanf(head, "HTTP/1.1 %d", status) != 1)
		return -1;
	*end = '\0';
	cl = strcasestr(head, "\r\ncontent-length:");
	if (!cl)
		return -1;
	want = strtol(cl + strlen("\r\ncontent-length:"), NULL, 10);
	have = (long)(used - (size_t)(end + 4 - head));
	while (have < want) {
		long left = want - have;

		n = SSL_read(ssl, buf, left < (long)sizeof(buf) ? (int)left : (int)sizeof(buf));
		if (n <= 0)
			return -1;
		have += n;
	}
	*size = have;
	return have == want ? 0 : -1;
}

static int run(SSL_CTX *ctx, int port, int count, long size, long interval_ms)
{
	char req[256];
	SSL *ssl = NULL;
	int fd = -1, i, status = 0, ok = 1;
	long got = 0;

	fd = tcp_connect(port);
	if (fd < 0) {
		perror("bt_https_client: connect");
		return 1;
	}
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		ok = 0;
		goto cleanup;
	}
	for (i = 0; i < count && ok; i++) {
		int len = snprintf(req, sizeof(req),
				   "GET /bytes/%ld?i=%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				   "User-Agent: bt_https_client\r\n\r\n",
				   size, i, port);

		if (i && interval_ms)
			sleep_ms(interval_ms);
		if (SSL_write(ssl, req, len) != len || read_response(ssl, &status, &got)) {
			fprintf(stderr, "bt_https_client: request %d failed\n", i);
			ERR_print_errors_fp(stderr);
			ok = 0;
			break;
		}
		printf("{\"i\":%d,\"status\":%d,\"size\":%ld}\n", i, status, got);
		fflush(stdout);
		ok = status == 200 && got == size;
	}
	SSL_shutdown(ssl);
cleanup:
	SSL_free(ssl);
	close(fd);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	char line[64];
	SSL_CTX *ctx;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: bt_https_client CA PORT COUNT [SIZE [INTERVAL_MS]]\n");
		return 2;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[1], NULL) != 1 ||
	    !X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), "127.0.0.1")) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	printf("waiting\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin)) {
		SSL_CTX_free(ctx);
		return 1;
	}
	rc = run(ctx, atoi(argv[2]), atoi(argv[3]), argc > 4 ? atol(argv[4]) : 1024,
		 argc > 5 ? atol(argv[5]) : 0);
	SSL_CTX_free(ctx);
	return rc;
}
