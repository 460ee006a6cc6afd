// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for Bedrock body parsing, through bedrock_annotate so recognition, the
 * event-stream driver and span annotation run too. Input layout:
 *   byte 0: operation (low 4 bits) | capture content (bit 7)
 *   byte 1: response mode (low 2 bits) and HTTP status (the rest)
 *   byte 2: where the request body ends, in 1/255ths of what follows
 *   then request body, then response: JSON (mode 0), raw event stream (1), or segments split at
 *   0xff each framed as a valid event (2; first byte picks the event, bit 7 makes it an
 *   exception; "chunk" payloads are base64-wrapped), or JSON with no content type, truncated (3).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "genai/bedrock.h"
#include "../lib/usage.h"
#include "genai/bedrock_body.h"

#include "../lib/esframe.h"
#include "../lib/http_msg.h"

static const char *const paths[] = {
    "/model/amazon.nova-micro-v1%3A0/converse",
    "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream",
    "/model/anthropic.claude-v2/invoke",
    "/model/meta.llama3-1-70b-instruct-v1%3A0/invoke-with-response-stream",
    "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/count-tokens",
    "/guardrail/gr1/version/1/apply",
    "/knowledgebases/KB1/retrieve",
    "/retrieveAndGenerate",
    "/retrieveAndGenerateStream",
    "/agents/AG1/agentAliases/AL1/sessions/S1/text",
    "/model/cohere.command-r-v1%3A0/invoke",
    "/model/x/invoke-with-response-stream",
    "/async-invoke",
    "/model/amazon.titan-text-lite-v1/invoke",
    "/model/mistral.mistral-7b-instruct-v0%3A2/invoke-with-response-stream",
    "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse",
};
static const char *const events[] = {
    "chunk",
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
    "output",
    "citation",
    "guardrail",
    "trace",
    "returnControl",
    "files",
};
static const int statuses[] = {200, 200, 400, 429, 500, 503, 403, 0};

/* Frames @seg as one event; appends to @out (capacity checked by the caller). */
static size_t frame(uint8_t *out, const uint8_t *seg, size_t n)
{
	const char *ev = n ? events[seg[0] % (sizeof(events) / sizeof(events[0]))] : "chunk";
	bool exc = n && (seg[0] & 0x80);
	const char *h[] = {exc ? ":exception-type" : ":event-type",
			   exc ? "throttlingException" : ev, ":message-type",
			   exc ? "exception" : "event"};
	size_t len, plen;
	char *payload;

	if (n) {
		seg++;
		n--;
	}
	if (exc || strcmp(ev, "chunk"))
		return esf_frame_bytes(out, h, 4, seg, n);
	payload = esf_chunk_payload(seg, n, &plen);
	len = esf_frame_bytes(out, h, 4, payload, plen);
	free(payload);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bedrock_ctx *ctx[2];
	struct bt_span *span, **children = NULL;
	struct http_exchange ex = {0};
	size_t n_children = 0, n, req_len, i, resp_len, off;
	const uint8_t *rest;
	bool capture;
	int mode;

	if (size < 3)
		return 0;
	if (!ctx[0]) {
		ctx[0] = bedrock_ctx_new(&(struct bedrock_opts){.capture_content = false});
		ctx[1] = bedrock_ctx_new(&(struct bedrock_opts){.capture_content = true});
	}
	capture = data[0] & 0x80;
	mode = data[1] & 3;
	rest = data + 3;
	n = size - 3;
	req_len = n * data[2] / 255;

	ex.version = 11;
	ex.has_request = true;
	ex.req.method = strdup("POST");
	ex.req.target = strdup(paths[(data[0] & 0x7f) % (sizeof(paths) / sizeof(paths[0]))]);
	ex.req.authority =
	    strdup(data[1] & 4 ? "127.0.0.1:8443" : "bedrock-runtime.us-east-1.amazonaws.com");
	ex.req.start_ns = 1000;
	hdr_add(&ex.req, "authorization", "Bearer secret");
	hdr_add(&ex.req, "amz-sdk-invocation-id", data[1] & 8 ? "a" : "b");
	hdr_add(&ex.req, "amz-sdk-request", "attempt=2; max=3");
	ex.req.body = malloc(req_len + 1);
	memcpy(ex.req.body, rest, req_len);
	ex.req.body_len = req_len;

	ex.has_response = statuses[(data[1] >> 4) & 7] != 0;
	ex.resp.status = statuses[(data[1] >> 4) & 7];
	ex.resp.start_ns = 2000;
	rest += req_len;
	resp_len = n - req_len;
	if (mode == 2) {
		/* every segment grows by at most 2x + headers when framed */
		ex.resp.body = malloc(resp_len * 2 + 128 * (resp_len + 1));
		for (i = 0, off = 0; i <= resp_len; i++) {
			if (i < resp_len && rest[i] != 0xff)
				continue;
			ex.resp.body_len +=
			    frame(ex.resp.body + ex.resp.body_len, rest + off, i - off);
			off = i + 1;
		}
	} else {
		ex.resp.body = malloc(resp_len + 1);
		memcpy(ex.resp.body, rest, resp_len);
		ex.resp.body_len = resp_len;
	}
	ex.resp.n_body_ts = ex.resp.body_len / 64 + 1;
	ex.resp.body_ts = calloc(ex.resp.n_body_ts, sizeof(*ex.resp.body_ts));
	for (i = 0; i < ex.resp.n_body_ts; i++) {
		ex.resp.body_ts[i].off = i * 64;
		ex.resp.body_ts[i].ts_ns = 3000 + i;
	}
	if (mode == 0)
		hdr_add(&ex.resp, "content-type", "application/json");
	else if (mode != 3)
		hdr_add(&ex.resp, "content-type", "application/vnd.amazon.eventstream");
	ex.resp.truncated = mode == 3;
	if (data[1] & 8)
		hdr_add(&ex.resp, "x-amzn-errortype", "ThrottlingException:http://x");
	hdr_add(&ex.resp, "x-amzn-bedrock-input-token-count", "12");

	span = bt_span_new("POST", BT_KIND_CLIENT);
	if (span) {
		span->start_ns = 1700000000000000000ull;
		span->end_ns = span->start_ns + 1000000;
		bedrock_match(&ex);
		bedrock_annotate(ctx[capture], &ex, span, &children, &n_children);
		check_typed_usage(span);
		for (i = 0; i < n_children; i++) {
			check_typed_usage(children[i]);
			bt_span_free(children[i]);
		}
		free(children);
		bt_span_free(span);
	}
	http_exchange_clear(&ex);
	return 0;
}
