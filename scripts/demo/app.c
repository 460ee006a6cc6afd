// SPDX-License-Identifier: MIT
/*
 * demo-app: a small "LLM service" for `make demo`, traced by bedtrace without any change.
 *
 * For each request: handle_request() → retrieve_documents() (ranks a generated corpus, real
 * CPU work of a few tens of ms) → assemble_prompt() (the Converse JSON body) → call_bedrock()
 * (HTTPS POST through libcurl, so TLS runs through libssl.so's SSL_write/SSL_read, signed
 * with a real SigV4 signature over fake credentials) → postprocess(). One last request uses
 * ConverseStream, so the trace shows time to first chunk.
 *
 * The replay server only knows the recorded requests, so the body sent is the recorded one
 * ("Say this is a test", amazon.titan-text-lite-v1); the retrieved documents are ranked and
 * reported but not sent.
 *
 * Usage: demo-app --endpoint https://127.0.0.1:PORT --cacert ca.pem [--requests N] [--http2]
 * Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (fake defaults).
 * Exit 0 when every call got HTTP 200.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

#define MODEL_ID "amazon.titan-text-lite-v1"
#define QUESTION "Say this is a test"
#define REGION "us-east-1"
#define SERVICE "bedrock"

#define CORPUS_DOCS 2000
#define DOC_WORDS 160
#define TOP_K 3

struct doc {
	char *text;
	double score;
};

struct buf {
	char *data;
	size_t len, cap;
};

/* What one call to Bedrock returned, filled by call_bedrock() and postprocess(). */
struct reply {
	long status;
	struct buf body;
	int stream;
	/* streaming only */
	struct buf pending;
	size_t events;
	double first_chunk_ms;
	double start_ms;
	struct buf text;
	int input_tokens, output_tokens;
	char stop_reason[64];
};

struct config {
	const char *endpoint;
	const char *cacert;
	const char *access_key;
	const char *secret_key;
	const char *token;
	int requests;
	int http2;
};

static struct doc corpus[CORPUS_DOCS];

static const char *vocabulary[] = {
	"test", "say", "model", "latency", "token", "prompt", "retrieval", "vector", "index",
	"cache", "throughput", "agent", "tool", "stream", "request", "response", "service",
	"bedrock", "titan", "claude", "nova", "llama", "mistral", "cohere", "embedding", "chunk",
	"document", "search", "rank", "score", "query", "answer", "context", "window", "budget",
	"cost", "region", "quota", "throttle", "retry", "error", "trace", "span", "metric",
	"probe", "kernel", "function", "library", "binary", "socket", "cipher", "handshake",
	"header", "payload", "frame", "event", "usage", "input", "output", "stop", "reason",
	"this", "is", "a", "the", "of", "and", "to", "in", "for", "on", "with", "by",
};
#define VOCAB_LEN (sizeof(vocabulary) / sizeof(vocabulary[0]))

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static void buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Deterministic corpus: the same documents on every run, so the demo's timings compare. */
static int corpus_build(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < CORPUS_DOCS; i++) {
		struct buf b = { 0 };

		for (int w = 0; w < DOC_WORDS; w++) {
			const char *word;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			word = vocabulary[x % VOCAB_LEN];
			if ((w && buf_append(&b, " ", 1)) || buf_append(&b, word, strlen(word))) {
				buf_free(&b);
				return -ENOMEM;
			}
		}
		corpus[i].text = b.data;
	}
	return 0;
}

static void corpus_free(void)
{
	for (int i = 0; i < CORPUS_DOCS; i++)
		free(corpus[i].text);
}

static int cmp_score(const void *a, const void *b)
{
	double sa = (*(const struct doc *const *)a)->score;
	double sb = (*(const struct doc *const *)b)->score;

	return (sa < sb) - (sa > sb);
}

/*
 * Ranks every document against the query's terms with a BM25-like score: tokenizes each
 * document, counts term hits, weights rare terms higher. Fills top[] with the best TOP_K
 * documents and returns how many it found.
 */
NOINLINE int retrieve_documents(const char *query, struct doc **top)
{
	char terms[8][32];
	int nterms = 0, df[8] = { 0 };
	double idf[8];
	static struct doc *order[CORPUS_DOCS];
	const char *q = query;

	while (*q && nterms < 8) {
		size_t n = 0;

		while (*q == ' ')
			q++;
		while (*q && *q != ' ' && n < sizeof(terms[0]) - 1)
			terms[nterms][n++] = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q), q++;
		terms[nterms][n] = '\0';
		if (n)
			nterms++;
	}
	/* Several passes, as a real retriever re-scores candidates with expanded queries. */
	for (int pass = 0; pass < 2; pass++) {
		memset(df, 0, sizeof(df));
		for (int i = 0; i < CORPUS_DOCS; i++) {
			const char *p = corpus[i].text;
			int seen[8] = { 0 };

			while (*p) {
				const char *s = p;

				while (*p && *p != ' ')
					p++;
				for (int t = 0; t < nterms; t++)
					if ((size_t)(p - s) == strlen(terms[t]) && !strncmp(s, terms[t], p - s))
						seen[t] = 1;
				if (*p)
					p++;
			}
			for (int t = 0; t < nterms; t++)
				df[t] += seen[t];
		}
		for (int t = 0; t < nterms; t++)
			idf[t] = 1.0 + (double)CORPUS_DOCS / (1.0 + df[t]);
		for (int i = 0; i < CORPUS_DOCS; i++) {
			const char *p = corpus[i].text;
			double score = 0;
			int len = 0;

			while (*p) {
				const char *s = p;

				while (*p && *p != ' ')
					p++;
				len++;
				for (int t = 0; t < nterms; t++)
					if ((size_t)(p - s) == strlen(terms[t]) && !strncmp(s, terms[t], p - s))
						score += idf[t] * (pass + 1);
				if (*p)
					p++;
			}
			corpus[i].score = score / (0.25 + 0.75 * len / (double)DOC_WORDS);
			order[i] = &corpus[i];
		}
	}
	qsort(order, CORPUS_DOCS, sizeof(order[0]), cmp_score);
	for (int k = 0; k < TOP_K; k++)
		top[k] = order[k];
	return TOP_K;
}

/* The ConverseRequest body; returns a malloc'ed string the caller frees, or NULL. */
NOINLINE char *assemble_prompt(const char *question, struct doc **docs, int ndocs)
{
	cJSON *root = cJSON_CreateObject(), *messages, *msg, *content, *part, *cfg, *stops;
	char *out = NULL;

	/* The recorded request carries the question only; the context would go in "system". */
	(void)docs;
	(void)ndocs;
	if (!root)
		return NULL;
	messages = cJSON_AddArrayToObject(root, "messages");
	msg = cJSON_CreateObject();
	cJSON_AddItemToArray(messages, msg);
	cJSON_AddStringToObject(msg, "role", "user");
	content = cJSON_AddArrayToObject(msg, "content");
	part = cJSON_CreateObject();
	cJSON_AddItemToArray(content, part);
	cJSON_AddStringToObject(part, "text", question);
	cfg = cJSON_AddObjectToObject(root, "inferenceConfig");
	cJSON_AddNumberToObject(cfg, "maxTokens", 10);
	cJSON_AddNumberToObject(cfg, "temperature", 0.8);
	cJSON_AddNumberToObject(cfg, "topP", 1);
	stops = cJSON_AddArrayToObject(cfg, "stopSequences");
	cJSON_AddItemToArray(stops, cJSON_CreateString("|"));
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, n, md);
	hex(md, sizeof(md), out);
}

static void hmac(const void *key, int keylen, const char *msg, unsigned char out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, keylen, (const unsigned char *)msg, strlen(msg), out, &len);
}

/*
 * SigV4 Authorization header value for POST path with the given host, date and body, signing
 * host and x-amz-date. Writes into out (size n).
 */
static void sigv4(const struct config *cfg, const char *host, const char *path,
		  const char *amz_date, const char *body, char *out, size_t n)
{
	char payload_hash[65], canon_hash[65], canonical[2048], to_sign[512], scope[128];
	char date[9], sig[65], ksecret[256];
	unsigned char k1[32], k2[32], k3[32], k4[32], s[32];

	memcpy(date, amz_date, 8);
	date[8] = '\0';
	sha256_hex(body, strlen(body), payload_hash);
	snprintf(canonical, sizeof(canonical),
		 "POST\n%s\n\nhost:%s\nx-amz-date:%s\n\nhost;x-amz-date\n%s", path, host, amz_date,
		 payload_hash);
	sha256_hex(canonical, strlen(canonical), canon_hash);
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, REGION, SERVICE);
	snprintf(to_sign, sizeof(to_sign), "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope,
		 canon_hash);
	snprintf(ksecret, sizeof(ksecret), "AWS4%s", cfg->secret_key);
	hmac(ksecret, (int)strlen(ksecret), date, k1);
	hmac(k1, 32, REGION, k2);
	hmac(k2, 32, SERVICE, k3);
	hmac(k3, 32, "aws4_request", k4);
	hmac(k4, 32, to_sign, s);
	hex(s, 32, sig);
	snprintf(out, n,
		 "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=host;x-amz-date, "
		 "Signature=%s",
		 cfg->access_key, scope, sig);
}

static void uuid4(char out[37])
{
	unsigned char r[16];
	char h[33];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)rand();
	}
	if (fd >= 0)
		close(fd);
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	hex(r, 16, h);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/*
 * Event-stream framing, just enough for the demo: each frame is total length (4 bytes BE),
 * headers length, prelude CRC, headers, payload, message CRC. Pulls whole frames out of the
 * pending bytes and reads the JSON payloads of the ConverseStream events.
 */
static void stream_consume(struct reply *r)
{
	size_t off = 0;

	while (r->pending.len - off >= 16) {
		const unsigned char *f = (const unsigned char *)r->pending.data + off;
		uint32_t total = (uint32_t)f[0] << 24 | f[1] << 16 | f[2] << 8 | f[3];
		uint32_t hlen = (uint32_t)f[4] << 24 | f[5] << 16 | f[6] << 8 | f[7];
		cJSON *j, *x;

		if (total < 16 || hlen > total - 16)
			break; /* corrupt: leave it, the status check reports the call */
		if (r->pending.len - off < total)
			break;
		if (r->events++ == 0)
			r->first_chunk_ms = now_ms() - r->start_ms;
		j = cJSON_ParseWithLength((const char *)f + 12 + hlen, total - 16 - hlen);
		if (j) {
			x = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "delta"), "text");
			if (cJSON_IsString(x))
				buf_append(&r->text, x->valuestring, strlen(x->valuestring));
			x = cJSON_GetObjectItem(j, "stopReason");
			if (cJSON_IsString(x))
				snprintf(r->stop_reason, sizeof(r->stop_reason), "%s", x->valuestring);
			x = cJSON_GetObjectItem(j, "usage");
			if (x) {
				cJSON *in = cJSON_GetObjectItem(x, "inputTokens");
				cJSON *out = cJSON_GetObjectItem(x, "outputTokens");

				if (cJSON_IsNumber(in))
					r->input_tokens = in->valueint;
				if (cJSON_IsNumber(out))
					r->output_tokens = out->valueint;
			}
			cJSON_Delete(j);
		}
		off += total;
	}
	if (off) {
		memmove(r->pending.data, r->pending.data + off, r->pending.len - off);
		r->pending.len -= off;
	}
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;

	if (buf_append(&r->body, p, len))
		return 0;
	if (r->stream) {
		if (buf_append(&r->pending, p, len))
			return 0;
		stream_consume(r);
	}
	return len;
}

/*
 * POSTs body to /model/MODEL_ID/converse (or converse-stream) and fills r. Returns 0 when
 * the exchange completed (any HTTP status), -EIO on a transport error.
 */
NOINLINE int call_bedrock(CURL *curl, const struct config *cfg, const char *body, int stream,
			  struct reply *r)
{
	char url[512], path[256], host[256], amz_date[17], auth[512], hdr[1024], id[37];
	const char *h = strstr(cfg->endpoint, "://");
	struct curl_slist *headers = NULL;
	time_t t = time(NULL);
	struct tm tm;
	CURLcode rc;
	size_t hl;

	h = h ? h + 3 : cfg->endpoint;
	hl = strcspn(h, "/");
	snprintf(host, sizeof(host), "%.*s", (int)hl, h);
	snprintf(path, sizeof(path), "/model/%s/%s", MODEL_ID, stream ? "converse-stream" : "converse");
	snprintf(url, sizeof(url), "%.*s%s", (int)(h - cfg->endpoint + hl), cfg->endpoint, path);
	gmtime_r(&t, &tm);
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
	sigv4(cfg, host, path, amz_date, body, auth, sizeof(auth));
	uuid4(id);

	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Accept: application/json");
	snprintf(hdr, sizeof(hdr), "X-Amz-Date: %s", amz_date);
	headers = curl_slist_append(headers, hdr);
	headers = curl_slist_append(headers, auth);
	if (cfg->token && *cfg->token) {
		snprintf(hdr, sizeof(hdr), "X-Amz-Security-Token: %s", cfg->token);
		headers = curl_slist_append(headers, hdr);
	}
	snprintf(hdr, sizeof(hdr), "amz-sdk-invocation-id: %s", id);
	headers = curl_slist_append(headers, hdr);
	headers = curl_slist_append(headers, "amz-sdk-request: attempt=1; max=1");
	headers = curl_slist_append(headers, "Expect:");

	memset(r, 0, sizeof(*r));
	r->stream = stream;
	r->start_ms = now_ms();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	rc = curl_easy_perform(curl);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		fprintf(stderr, "demo-app: %s: %s\n", url, curl_easy_strerror(rc));
		return -EIO;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}

/* Reads the Converse answer (or the stream's totals) and prints one line; 0 or -EPROTO. */
NOINLINE int postprocess(int id, struct reply *r, struct doc **docs, int ndocs)
{
	const char *text = r->text.data ? r->text.data : "";
	int words = 0, in_word = 0;
	cJSON *j = NULL;

	if (!r->stream && r->status == 200) {
		cJSON *usage, *msg, *content, *first, *x;

		j = cJSON_ParseWithLength(r->body.data ? r->body.data : "", r->body.len);
		usage = cJSON_GetObjectItem(j, "usage");
		x = cJSON_GetObjectItem(usage, "inputTokens");
		r->input_tokens = cJSON_IsNumber(x) ? x->valueint : 0;
		x = cJSON_GetObjectItem(usage, "outputTokens");
		r->output_tokens = cJSON_IsNumber(x) ? x->valueint : 0;
		x = cJSON_GetObjectItem(j, "stopReason");
		if (cJSON_IsString(x))
			snprintf(r->stop_reason, sizeof(r->stop_reason), "%s", x->valuestring);
		msg = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "output"), "message");
		content = cJSON_GetObjectItem(msg, "content");
		first = cJSON_GetArrayItem(content, 0);
		x = cJSON_GetObjectItem(first, "text");
		if (cJSON_IsString(x))
			text = x->valuestring;
	}
	for (const char *p = text; *p; p++) {
		int space = *p == ' ' || *p == '\n' || *p == '\t';

		words += !space && !in_word;
		in_word = !space;
	}
	printf("request %d: HTTP %ld, %s%d docs (best score %.1f), tokens in %d out %d, stop %s, "
	       "%d words: \"%s\"",
	       id, r->status, r->stream ? "stream, " : "", ndocs, ndocs ? docs[0]->score : 0.0,
	       r->input_tokens, r->output_tokens, r->stop_reason[0] ? r->stop_reason : "-", words,
	       text);
	if (r->stream)
		printf(", %zu events, first chunk after %.1f ms", r->events, r->first_chunk_ms);
	printf("\n");
	cJSON_Delete(j);
	return r->status == 200 ? 0 : -EPROTO;
}

/* One request end to end; returns 0 on success, negative errno otherwise. */
NOINLINE int handle_request(CURL *curl, const struct config *cfg, int id, int stream)
{
	struct doc *docs[TOP_K];
	struct reply r;
	char *body;
	int n, err;

	n = retrieve_documents(QUESTION, docs);
	body = assemble_prompt(QUESTION, docs, n);
	if (!body)
		return -ENOMEM;
	err = call_bedrock(curl, cfg, body, stream, &r);
	if (!err)
		err = postprocess(id, &r, docs, n);
	free(body);
	buf_free(&r.body);
	buf_free(&r.pending);
	buf_free(&r.text);
	return err;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --endpoint https://HOST:PORT --cacert CA.pem [--requests N] [--http2]\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "requests", required_argument, NULL, 'n' },
		{ "http2", no_argument, NULL, '2' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct config cfg = { .requests = 3 };
	const char *env;
	int opt, failed = 0;
	CURL *curl;

	while ((opt = getopt_long(argc, argv, "e:c:n:2h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			cfg.endpoint = optarg;
			break;
		case 'c':
			cfg.cacert = optarg;
			break;
		case 'n':
			cfg.requests = atoi(optarg);
			break;
		case '2':
			cfg.http2 = 1;
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!cfg.endpoint || !cfg.cacert || cfg.requests < 0 || cfg.requests > 1000) {
		usage(argv[0]);
		return 2;
	}
	env = getenv("AWS_ACCESS_KEY_ID");
	cfg.access_key = env && *env ? env : "AKIDEXAMPLE";
	env = getenv("AWS_SECRET_ACCESS_KEY");
	cfg.secret_key = env && *env ? env : "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	env = getenv("AWS_SESSION_TOKEN");
	cfg.token = env && *env ? env : "demo-session-token-never-exported";

	if (corpus_build()) {
		fprintf(stderr, "demo-app: out of memory\n");
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(curl = curl_easy_init())) {
		fprintf(stderr, "demo-app: libcurl failed to initialise\n");
		corpus_free();
		return 1;
	}
	curl_easy_setopt(curl, CURLOPT_CAINFO, cfg.cacert);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "bedtrace-demo/0.1 libcurl");
	curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
			 cfg.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);

	for (int i = 1; i <= cfg.requests + 1; i++)
		if (handle_request(curl, &cfg, i, i == cfg.requests + 1))
			failed++;

	curl_easy_cleanup(curl);
	curl_global_cleanup();
	corpus_free();
	if (failed)
		fprintf(stderr, "demo-app: %d of %d requests failed\n", failed, cfg.requests + 1);
	return failed ? 1 : 0;
}
