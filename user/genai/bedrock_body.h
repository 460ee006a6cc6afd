/* SPDX-License-Identifier: MIT */
/*
 * Bedrock body parsers: turn the JSON request and response bodies of each operation (Converse,
 * InvokeModel for every model family, CountTokens, ApplyGuardrail, Retrieve, RetrieveAndGenerate)
 * into GenAI facts (struct bedrock_info, which this module owns and clears). Model families are
 * told apart by the keys their bodies use, so application inference profile ARNs and unknown
 * model ids still parse. Stream events are bedrock_stream.h's, the GenAI message JSON
 * bedrock_content.h's. Pure functions over byte buffers: no I/O, no spans.
 * Content (prompts, completions, tool arguments) is only kept when info->capture is set.
 */
#ifndef BT_BEDROCK_BODY_H
#define BT_BEDROCK_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct bedrock_ctx;

enum bedrock_op {
	BEDROCK_OP_NONE = 0, /* not Bedrock */
	BEDROCK_OP_OTHER,    /* a Bedrock endpoint, an operation not modelled here */
	BEDROCK_OP_CONVERSE,
	BEDROCK_OP_CONVERSE_STREAM,
	BEDROCK_OP_INVOKE_MODEL,
	BEDROCK_OP_INVOKE_MODEL_STREAM,
	BEDROCK_OP_COUNT_TOKENS,
	BEDROCK_OP_APPLY_GUARDRAIL,
	BEDROCK_OP_INVOKE_AGENT,
	BEDROCK_OP_INVOKE_INLINE_AGENT,
	BEDROCK_OP_RETRIEVE,
	BEDROCK_OP_RETRIEVE_AND_GENERATE,
	BEDROCK_OP_RETRIEVE_AND_GENERATE_STREAM,
};

/* Token counts as one source reported them; input excludes cache reads and writes. */
struct bedrock_usage {
	int64_t input, output, cache_read, cache_write;
	bool has_input, has_output, has_cache_read, has_cache_write;
};

#define BEDROCK_MAX_FINISH 16
#define BEDROCK_MAX_STOP 16
#define BEDROCK_MAX_BLOCKS 64

/* A content block of a streamed answer being reassembled (only with capture). */
struct bedrock_block {
	int index;
	enum { BLOCK_TEXT, BLOCK_TOOL_CALL, BLOCK_REASONING } type;
	char *id, *name;
	char *buf; /* text, reasoning, or tool arguments JSON as streamed */
	size_t len, cap;
};

struct bedrock_info {
	/* set by the caller before parsing */
	enum bedrock_op op;
	bool capture;

	/* request */
	bool completion_style; /* a prompt string, not messages: gen_ai "text_completion" */
	bool has_max_tokens, has_temperature, has_top_p, has_top_k;
	int64_t max_tokens;
	double temperature, top_p, top_k;
	char *stop[BEDROCK_MAX_STOP];
	size_t n_stop;
	char *kb_id;	  /* Retrieve(AndGenerate) knowledge base, when in the body */
	char *rag_model;  /* RetrieveAndGenerate modelArn */
	char *session_id; /* RetrieveAndGenerate sessionId */
	int64_t requested_results;
	char *guardrail_source; /* ApplyGuardrail INPUT / OUTPUT */

	/* response */
	char *response_model, *response_id;
	struct bedrock_usage body_usage;    /* from the model's own JSON */
	struct bedrock_usage metrics_usage; /* amazon-bedrock-invocationMetrics (billing counts) */
	char *finish[BEDROCK_MAX_FINISH];
	size_t n_finish;
	bool has_counted_tokens; /* CountTokens answer */
	int64_t counted_tokens;
	int64_t n_results, n_citations; /* -1: not reported */
	char *guardrail_action;
	int64_t guardrail_units;
	char error_type[64]; /* from an error body's __type/code, or a stream exception */
	char *error_message; /* only with capture: AWS messages may quote the prompt */

	/* streams */
	size_t n_events;
	bool has_first_chunk;	/* an event carried answer content... */
	size_t first_chunk_off; /* ...and its frame starts at this body offset */
	size_t *chunk_offs; /* body offset of every content event (the first BEDROCK_MAX_CHUNKS) */
	size_t n_chunk_offs, cap_chunk_offs;
	const char *stream_error; /* event-stream decoder message: the stream is corrupt */
	bool stream_partial;	  /* the body ends inside a frame */
	char role[16];
	struct bedrock_block blocks[BEDROCK_MAX_BLOCKS];
	size_t n_blocks;
	bool content_truncated; /* a captured text hit its size cap */

	/* content, only with capture: GenAI structured messages */
	cJSON *input_messages, *output_messages, *system_instructions, *documents;

	const char *parse_error; /* static description of the first malformed body, or NULL */
};

/* Frees everything @info owns (not @info) and zeroes it. */
/* Content events whose arrival times are kept (time per output chunk). */
#define BEDROCK_MAX_CHUNKS 65536

void bedrock_info_clear(struct bedrock_info *info);

/* Parses a request body into @info. Returns 0 or -ENOMEM; malformed input sets parse_error. */
int bedrock_body_request(struct bedrock_info *info, const uint8_t *body, size_t len);

/* Parses a complete (non-stream) response body, success or error. Same returns. */
int bedrock_body_response(struct bedrock_info *info, const uint8_t *body, size_t len);

/* Returns the merged usage: invocation metrics first, then the body, then @headers (or NULL). */
struct bedrock_usage bedrock_usage_merge(const struct bedrock_info *info,
					 const struct bedrock_usage *headers);

/* Reads every spelling of token counts Bedrock and its model families use in object @o into @u. */
void bedrock_usage_read(struct bedrock_usage *u, const cJSON *o);

/*
 * Appends finish reason @s (NULL or "" ignored; a stream's repeat of the last one dropped).
 * Returns 0 or -ENOMEM.
 */
int bedrock_info_add_finish(struct bedrock_info *info, const char *s);

/*
 * Decodes base64 (standard or URL alphabet, padding optional, whitespace skipped) of
 * @in[0..@len) into a new NUL-terminated buffer the caller frees; *@out_len gets its length.
 * NULL with errno EINVAL or ENOMEM.
 */
uint8_t *bedrock_b64_decode(const char *in, size_t len, size_t *out_len);

/* Returns the global count of throttled calls (HTTP 429 or ThrottlingException) seen by @ctx. */
uint64_t bedrock_ctx_throttles(const struct bedrock_ctx *ctx);

#endif
