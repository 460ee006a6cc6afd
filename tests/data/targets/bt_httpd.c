// SPDX-License-Identifier: MIT
/*
 * A plain-HTTP server for integration tests: answers N requests on 127.0.0.1:PORT, each handled
 * by handle_order(), which calls price_items(). Prints "ready PORT" once listening.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

NOINLINE int price_items(int n)
{
	usleep(2000);
	return n * 7;
}

NOINLINE int handle_order(const char *req)
{
	return price_items((int)strlen(req) % 10 + 1);
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 1, one = 1;
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof(addr);
	int ls = socket(AF_INET, SOCK_STREAM, 0);

	addr.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&addr, sizeof(addr)) || listen(ls, 16)) {
		perror("bind/listen");
		return 1;
	}
	getsockname(ls, (struct sockaddr *)&addr, &alen);
	printf("ready %d\n", ntohs(addr.sin_port));
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		char req[4096], resp[256], body[64];
		ssize_t got = 0, r;
		int c = accept(ls, NULL, NULL);

		if (c < 0)
			return 1;
		/* headers end with an empty line; these requests carry no body */
		while (got < (ssize_t)sizeof(req) - 1 &&
		       (r = read(c, req + got, sizeof(req) - 1 - got)) > 0) {
			got += r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		snprintf(body, sizeof(body), "{\"total\":%d}", handle_order(req));
		snprintf(
		    resp, sizeof(resp),
		    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s",
		    strlen(body), body);
		if (write(c, resp, strlen(resp)) < 0)
			perror("write");
		close(c);
	}
	return 0;
}
