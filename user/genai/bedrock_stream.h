/* SPDX-License-Identifier: MIT */
/*
 * Bedrock response streams, one event-stream event at a time: ConverseStream events,
 * InvokeModelWithResponseStream "chunk" events (base64 model JSON of every family: Anthropic,
 * Nova, Titan, Llama, Mistral, Cohere, OpenAI-style), RetrieveAndGenerateStream events and
 * stream exceptions, turned into the same GenAI facts as a whole body (struct bedrock_info).
 * With capture, owns the reassembly of the streamed answer's content blocks (info->blocks) until
 * bedrock_stream_end turns them into info->output_messages. Pure: the caller runs the decoder.
 */
#ifndef BT_BEDROCK_STREAM_H
#define BT_BEDROCK_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "genai/bedrock_body.h"

/*
 * Handles one event (@event = its :event-type) with JSON @payload. Returns 1 when the event
 * carried answer content (text, tool call, reasoning), 0 when not, -ENOMEM; malformed payloads
 * set info->parse_error and return 0.
 */
int bedrock_stream_event(struct bedrock_info *info, const char *event, const uint8_t *payload,
			 size_t len);

/*
 * Records a stream exception event: error_type from @type (":exception-type", e.g.
 * "throttlingException" → "ThrottlingException") and, with capture, the payload's message.
 * Returns 0 or -ENOMEM.
 */
int bedrock_stream_exception(struct bedrock_info *info, const char *type, const uint8_t *payload,
			     size_t len);

/* Turns the reassembled stream blocks into info->output_messages (capture only). 0 or -ENOMEM. */
int bedrock_stream_end(struct bedrock_info *info);

#endif
