// SPDX-License-Identifier: MIT
/*
 * Target for the HTTP-span parent test: fetch_url() does one HTTPS GET with libcurl (OpenSSL
 * flavour, so libssl.so.3 does the TLS), and the HTTP span must nest under its function span.
 *   fetch CA_FILE URL [URL ...]   → one fetch_url() call per URL, prints "N bytes" for each
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

static size_t count_bytes(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	*(size_t *)ctx += size * n;
	return size * n;
}

__attribute__((noinline)) long fetch_url(const char *url, const char *ca)
{
	CURL *c = curl_easy_init();
	size_t got = 0;
	long status = -1;

	if (!c)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_bytes);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	/* cleanup frees the SSL object inside the call: the connection closes under the span */
	curl_easy_cleanup(c);
	printf("%zu bytes\n", got);
	return status;
}

int main(int argc, char **argv)
{
	int i, bad = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: fetch CA_FILE URL [URL ...]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (i = 2; i < argc; i++)
		bad |= fetch_url(argv[i], argv[1]) != 200;
	curl_global_cleanup();
	return bad;
}
