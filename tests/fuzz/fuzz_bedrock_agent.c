// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for InvokeAgent streams (bedrock_agent.c through bedrock_annotate).
 * Input layout:
 *   byte 0: capture content (bit 7), agent id in the path or an inline agent (bit 0)
 *   byte 1: mode: bit 0 set = the rest is the raw response body; clear = the rest is split at
 *           0xff into segments, each framed as a valid event whose type is picked by its first
 *           byte (trace, chunk, returnControl, files; bit 7: an exception). "chunk" payloads are
 *           wrapped as {"bytes": base64}. Bit 1 marks the capture truncated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "genai/bedrock.h"

#include "../lib/esframe.h"
#include "../lib/http_msg.h"
#include "../lib/usage.h"

static const char *const events[] = {"trace", "chunk", "returnControl", "files", "trace", "trace"};

static size_t frame(uint8_t *out, const uint8_t *seg, size_t n)
{
	const char *ev =
	    n ? events[(seg[0] & 0x7f) % (sizeof(events) / sizeof(events[0]))] : "trace";
	bool exc = n && (seg[0] & 0x80);
	const char *h[] = {exc ? ":exception-type" : ":event-type",
			   exc ? "dependencyFailedException" : ev, ":message-type",
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
	size_t n_children = 0, n, i, off;
	const uint8_t *rest;

	if (size < 2)
		return 0;
	if (!ctx[0]) {
		ctx[0] = bedrock_ctx_new(&(struct bedrock_opts){.capture_content = false});
		ctx[1] = bedrock_ctx_new(&(struct bedrock_opts){.capture_content = true});
	}
	rest = data + 2;
	n = size - 2;
	ex.version = 20;
	ex.has_request = ex.has_response = true;
	ex.req.method = strdup("POST");
	ex.req.target = strdup(data[0] & 1 ? "/agents/session-7"
					   : "/agents/AG1/agentAliases/AL1/sessions/S1/text");
	ex.req.authority = strdup("bedrock-agent-runtime.us-east-1.amazonaws.com");
	ex.req.start_ns = 1000;
	ex.req.body = (uint8_t *)strdup("{\"inputText\":\"hi\",\"enableTrace\":true}");
	ex.req.body_len = strlen((char *)ex.req.body);
	ex.resp.status = 200;
	ex.resp.start_ns = 2000;
	hdr_add(&ex.resp, "content-type", "application/vnd.amazon.eventstream");
	if (data[1] & 1) {
		ex.resp.body = malloc(n + 1);
		memcpy(ex.resp.body, rest, n);
		ex.resp.body_len = n;
	} else {
		ex.resp.body = malloc(n * 2 + 128 * (n + 1));
		for (i = 0, off = 0; i <= n; i++) {
			if (i < n && rest[i] != 0xff)
				continue;
			ex.resp.body_len +=
			    frame(ex.resp.body + ex.resp.body_len, rest + off, i - off);
			off = i + 1;
		}
	}
	ex.resp.truncated = data[1] & 2;
	ex.resp.n_body_ts = ex.resp.body_len / 32 + 1;
	ex.resp.body_ts = calloc(ex.resp.n_body_ts, sizeof(*ex.resp.body_ts));
	for (i = 0; i < ex.resp.n_body_ts; i++) {
		ex.resp.body_ts[i].off = i * 32;
		ex.resp.body_ts[i].ts_ns = 3000 + i * 1000;
	}

	span = bt_span_new("POST", BT_KIND_CLIENT);
	if (span) {
		span->start_ns = 1700000000000000000ull;
		span->end_ns = span->start_ns + 100000000;
		span->resource = bt_resource_new();
		bedrock_annotate(ctx[data[0] >> 7], &ex, span, &children, &n_children);
		check_typed_usage(span);
		for (i = 0; i < n_children; i++) {
			/* children are in the trace, inside the call */
			if (memcmp(children[i]->trace_id, span->trace_id, sizeof(span->trace_id)) ||
			    children[i]->end_ns < children[i]->start_ns)
				abort();
			check_typed_usage(children[i]);
			bt_span_free(children[i]);
		}
		free(children);
		bt_span_free(span);
	}
	http_exchange_clear(&ex);
	return 0;
}
