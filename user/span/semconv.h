/* SPDX-License-Identifier: MIT */
/*
 * Every attribute, event and metric name bedtrace writes, once. Names follow the OpenTelemetry
 * semantic conventions (HTTP, network, GenAI, code, process, resource) where one exists, and are
 * bedtrace.* otherwise. Producers set them and consumers (stitcher, exporters, metrics) read them
 * through these constants only.
 */
#ifndef BT_SEMCONV_H
#define BT_SEMCONV_H

#define ATTR_AWS_BEDROCK_AGENT_ALIAS_ID "aws.bedrock.agent.alias_id"
#define ATTR_AWS_BEDROCK_AGENT_TRACE_ID "aws.bedrock.agent.trace_id"
#define ATTR_AWS_BEDROCK_COUNT_TOKENS_INPUT_TOKENS "aws.bedrock.count_tokens.input_tokens"
#define ATTR_AWS_BEDROCK_GUARDRAIL_ACTION "aws.bedrock.guardrail.action"
#define ATTR_AWS_BEDROCK_GUARDRAIL_ID "aws.bedrock.guardrail.id"
#define ATTR_AWS_BEDROCK_GUARDRAIL_SOURCE "aws.bedrock.guardrail.source"
#define ATTR_AWS_BEDROCK_GUARDRAIL_UNITS "aws.bedrock.guardrail.units"
#define ATTR_AWS_BEDROCK_GUARDRAIL_VERSION "aws.bedrock.guardrail.version"
#define ATTR_AWS_BEDROCK_KNOWLEDGE_BASE_ID "aws.bedrock.knowledge_base.id"
#define ATTR_AWS_BEDROCK_OPERATION "aws.bedrock.operation"
#define ATTR_AWS_REQUEST_ID "aws.request_id"
#define ATTR_AWS_SDK_ATTEMPT "aws.sdk.attempt"
#define ATTR_AWS_SDK_INVOCATION_ID "aws.sdk.invocation_id"
#define ATTR_AWS_SDK_MAX_ATTEMPTS "aws.sdk.max_attempts"

#define ATTR_BEDTRACE_AGENT_ACTION_GROUP_EXECUTION_TYPE "bedtrace.agent.action_group.execution_type"
#define ATTR_BEDTRACE_AGENT_ACTION_GROUP_FUNCTION "bedtrace.agent.action_group.function"
#define ATTR_BEDTRACE_AGENT_ANSWER_BYTES "bedtrace.agent.answer.bytes"
#define ATTR_BEDTRACE_AGENT_ANSWER_CHUNKS "bedtrace.agent.answer.chunks"
#define ATTR_BEDTRACE_AGENT_CITATIONS "bedtrace.agent.citations"
#define ATTR_BEDTRACE_AGENT_FAILURE_CODE "bedtrace.agent.failure_code"
#define ATTR_BEDTRACE_AGENT_FILES "bedtrace.agent.files"
#define ATTR_BEDTRACE_AGENT_GUARDRAIL_INPUT_ASSESSMENTS "bedtrace.agent.guardrail.input_assessments"
#define ATTR_BEDTRACE_AGENT_GUARDRAIL_OUTPUT_ASSESSMENTS                                           \
	"bedtrace.agent.guardrail.output_assessments"
#define ATTR_BEDTRACE_AGENT_INCOMPLETE "bedtrace.agent.incomplete"
#define ATTR_BEDTRACE_AGENT_INVOCATION_TYPE "bedtrace.agent.invocation_type"
#define ATTR_BEDTRACE_AGENT_PREPROCESSING_VALID "bedtrace.agent.preprocessing.valid"
#define ATTR_BEDTRACE_AGENT_PROMPT_TYPE "bedtrace.agent.prompt_type"
#define ATTR_BEDTRACE_AGENT_RETURN_CONTROL "bedtrace.agent.return_control"
#define ATTR_BEDTRACE_AGENT_STEP "bedtrace.agent.step"
#define ATTR_BEDTRACE_AGENT_TOTAL_TIME_MS "bedtrace.agent.total_time_ms"
#define ATTR_BEDTRACE_AGENT_TRACE_SPANS "bedtrace.agent.trace_spans"
#define ATTR_BEDTRACE_BEDROCK_PARSE_ERROR "bedtrace.bedrock.parse_error"
#define ATTR_BEDTRACE_BEDROCK_THROTTLE_COUNT "bedtrace.bedrock.throttle_count"
#define ATTR_BEDTRACE_CALL_DEPTH "bedtrace.call.depth"
#define ATTR_BEDTRACE_CAPTURE_INCOMPLETE "bedtrace.capture.incomplete"
#define ATTR_BEDTRACE_CAPTURE_LOSS "bedtrace.capture.loss"
#define ATTR_BEDTRACE_CAPTURE_LOST_BYTES "bedtrace.capture.lost_bytes"
#define ATTR_BEDTRACE_CAPTURE_TRUNCATED "bedtrace.capture.truncated"
#define ATTR_BEDTRACE_CONTENT_TRUNCATED "bedtrace.content.truncated"
#define ATTR_BEDTRACE_COST_INCLUDES_CHILDREN "bedtrace.cost.includes_children"
#define ATTR_BEDTRACE_COST_UNKNOWN_MODEL "bedtrace.cost.unknown_model"
#define ATTR_BEDTRACE_COST_USD "bedtrace.cost.usd"
#define ATTR_BEDTRACE_DROP_REASON "bedtrace.drop_reason"
#define ATTR_BEDTRACE_DURATION "bedtrace.duration"
#define ATTR_BEDTRACE_END_REASON "bedtrace.end_reason"
#define ATTR_BEDTRACE_EVENTSTREAM_CORRUPT "bedtrace.eventstream.corrupt"
#define ATTR_BEDTRACE_EVENTSTREAM_ERROR "bedtrace.eventstream.error"
#define ATTR_BEDTRACE_EVENTSTREAM_EVENTS "bedtrace.eventstream.events"
#define ATTR_BEDTRACE_FUNCTION_RETURN_VALUE "bedtrace.function.return_value"
#define ATTR_BEDTRACE_FUNCTION_SYMBOL "bedtrace.function.symbol"
#define ATTR_BEDTRACE_HTTP_ERROR "bedtrace.http.error"
#define ATTR_BEDTRACE_HTTP_INCOMPLETE "bedtrace.http.incomplete"
#define ATTR_BEDTRACE_HTTP_PARSE_ERROR "bedtrace.http.parse_error"
#define ATTR_BEDTRACE_EXPORTER "bedtrace.exporter"
#define ATTR_BEDTRACE_LOSS_REASON "bedtrace.loss_reason"
#define ATTR_BEDTRACE_OBJECT_PATH "bedtrace.object.path"
#define ATTR_BEDTRACE_RETRIEVAL_CITATIONS "bedtrace.retrieval.citations"
#define ATTR_BEDTRACE_PYTHON_GENERATOR "bedtrace.python.generator"
#define ATTR_BEDTRACE_RETRIEVAL_DOCUMENTS "bedtrace.retrieval.documents"
#define ATTR_BEDTRACE_RETRIEVAL_REQUESTED_RESULTS "bedtrace.retrieval.requested_results"
#define ATTR_BEDTRACE_RETRIEVAL_RESULTS "bedtrace.retrieval.results"
#define ATTR_BEDTRACE_RETRY_PREVIOUS_ATTEMPTS "bedtrace.retry.previous_attempts"
#define ATTR_BEDTRACE_SAMPLE_COUNT "bedtrace.sample.count"
#define ATTR_BEDTRACE_SAMPLE_PERIOD_NS "bedtrace.sample.period_ns"
#define ATTR_BEDTRACE_SIGNAL "bedtrace.signal"
#define ATTR_BEDTRACE_SOURCE "bedtrace.source"
#define ATTR_BEDTRACE_SPAN_INCOMPLETE "bedtrace.span.incomplete"
#define ATTR_BEDTRACE_SPAN_SAMPLED "bedtrace.span.sampled"
#define ATTR_BEDTRACE_TRACE_COST_USD "bedtrace.trace.cost.usd"
#define ATTR_BEDTRACE_TRACE_GEN_AI_USAGE_INPUT_TOKENS "bedtrace.trace.gen_ai.usage.input_tokens"
#define ATTR_BEDTRACE_TRACE_GEN_AI_USAGE_OUTPUT_TOKENS "bedtrace.trace.gen_ai.usage.output_tokens"

#define ATTR_CLIENT_ADDRESS "client.address"
#define ATTR_CLIENT_PORT "client.port"

#define ATTR_CLOUD_REGION "cloud.region"

#define ATTR_CODE_FILE_PATH "code.file.path"
#define ATTR_CODE_FUNCTION_NAME "code.function.name"
#define ATTR_CODE_LINE_NUMBER "code.line.number"

#define ATTR_CONTAINER_ID "container.id"

#define ATTR_ERROR_TYPE "error.type"

#define ATTR_GEN_AI_AGENT_CUSTOM_ORCHESTRATION "gen_ai.agent.custom_orchestration"
#define ATTR_GEN_AI_AGENT_FINAL_RESPONSE "gen_ai.agent.final_response"
#define ATTR_GEN_AI_AGENT_ID "gen_ai.agent.id"
#define ATTR_GEN_AI_AGENT_NAME "gen_ai.agent.name"
#define ATTR_GEN_AI_AGENT_OBSERVATION "gen_ai.agent.observation"
#define ATTR_GEN_AI_AGENT_RATIONALE "gen_ai.agent.rationale"
#define ATTR_GEN_AI_AGENT_REASONING "gen_ai.agent.reasoning"
#define ATTR_GEN_AI_AGENT_REPROMPT "gen_ai.agent.reprompt"
#define ATTR_GEN_AI_AGENT_RETURN_CONTROL "gen_ai.agent.return_control"
#define ATTR_GEN_AI_CONVERSATION_ID "gen_ai.conversation.id"
#define ATTR_GEN_AI_DATA_SOURCE_ID "gen_ai.data_source.id"
#define ATTR_GEN_AI_INPUT_MESSAGES "gen_ai.input.messages"
#define ATTR_GEN_AI_OPERATION_NAME "gen_ai.operation.name"
#define ATTR_GEN_AI_OUTPUT_MESSAGES "gen_ai.output.messages"
#define ATTR_GEN_AI_PROVIDER_NAME "gen_ai.provider.name"
#define ATTR_GEN_AI_REQUEST_MAX_TOKENS "gen_ai.request.max_tokens"
#define ATTR_GEN_AI_REQUEST_MODEL "gen_ai.request.model"
#define ATTR_GEN_AI_REQUEST_STREAM "gen_ai.request.stream"
#define ATTR_GEN_AI_REQUEST_STOP_SEQUENCES "gen_ai.request.stop_sequences"
#define ATTR_GEN_AI_REQUEST_TEMPERATURE "gen_ai.request.temperature"
#define ATTR_GEN_AI_REQUEST_TOP_K "gen_ai.request.top_k"
#define ATTR_GEN_AI_REQUEST_TOP_P "gen_ai.request.top_p"
#define ATTR_GEN_AI_RESPONSE_FINISH_REASONS "gen_ai.response.finish_reasons"
#define ATTR_GEN_AI_RESPONSE_ID "gen_ai.response.id"
#define ATTR_GEN_AI_RESPONSE_MODEL "gen_ai.response.model"
#define ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK "gen_ai.response.time_to_first_chunk"
#define ATTR_GEN_AI_SYSTEM_INSTRUCTIONS "gen_ai.system_instructions"
#define ATTR_GEN_AI_TOKEN_TYPE "gen_ai.token.type"
#define ATTR_GEN_AI_TOOL_CALL_ARGUMENTS "gen_ai.tool.call.arguments"
#define ATTR_GEN_AI_TOOL_CALL_ID "gen_ai.tool.call.id"
#define ATTR_GEN_AI_TOOL_CALL_RESULT "gen_ai.tool.call.result"
#define ATTR_GEN_AI_TOOL_NAME "gen_ai.tool.name"
#define ATTR_GEN_AI_TOOL_TYPE "gen_ai.tool.type"
#define ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS "gen_ai.usage.cache_creation.input_tokens"
#define ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS "gen_ai.usage.cache_read.input_tokens"
#define ATTR_GEN_AI_USAGE_INPUT_TOKENS "gen_ai.usage.input_tokens"
#define ATTR_GEN_AI_USAGE_OUTPUT_TOKENS "gen_ai.usage.output_tokens"

#define ATTR_HOST_ARCH "host.arch"
#define ATTR_HOST_ID "host.id"
#define ATTR_HOST_NAME "host.name"

#define ATTR_HTTP_REQUEST_BODY_SIZE "http.request.body.size"
#define ATTR_HTTP_REQUEST_METHOD "http.request.method"
#define ATTR_HTTP_REQUEST_METHOD_ORIGINAL "http.request.method_original"
#define ATTR_HTTP_RESPONSE_BODY_SIZE "http.response.body.size"
#define ATTR_HTTP_RESPONSE_STATUS_CODE "http.response.status_code"

#define ATTR_K8S_POD_UID "k8s.pod.uid"

#define ATTR_NETWORK_PEER_ADDRESS "network.peer.address"
#define ATTR_NETWORK_PEER_PORT "network.peer.port"
#define ATTR_NETWORK_PROTOCOL_NAME "network.protocol.name"
#define ATTR_NETWORK_PROTOCOL_VERSION "network.protocol.version"

#define ATTR_OS_TYPE "os.type"

/* The point that takes measurements beyond an instrument's cardinality limit. */
#define ATTR_OTEL_METRIC_OVERFLOW "otel.metric.overflow"
#define ATTR_OTEL_STATUS_CODE "otel.status_code"

#define ATTR_PROCESS_COMMAND_LINE "process.command_line"
#define ATTR_PROCESS_EXECUTABLE_NAME "process.executable.name"
#define ATTR_PROCESS_EXECUTABLE_PATH "process.executable.path"
#define ATTR_PROCESS_OWNER "process.owner"
#define ATTR_PROCESS_PARENT_PID "process.parent_pid"
#define ATTR_PROCESS_PID "process.pid"
/* The PID inside the process's own PID namespace (set only when that is not bedtrace's). */
#define ATTR_PROCESS_VPID "process.vpid"

#define ATTR_RPC_METHOD "rpc.method"
#define ATTR_RPC_SERVICE "rpc.service"
#define ATTR_RPC_SYSTEM "rpc.system"

#define ATTR_SERVER_ADDRESS "server.address"
#define ATTR_SERVER_PORT "server.port"

#define ATTR_SERVICE_INSTANCE_ID "service.instance.id"
#define ATTR_SERVICE_NAME "service.name"
#define ATTR_SERVICE_NAMESPACE "service.namespace"
#define ATTR_SERVICE_VERSION "service.version"

#define ATTR_TELEMETRY_SDK_LANGUAGE "telemetry.sdk.language"
#define ATTR_TELEMETRY_SDK_NAME "telemetry.sdk.name"
#define ATTR_TELEMETRY_SDK_VERSION "telemetry.sdk.version"

#define ATTR_THREAD_ID "thread.id"

#define ATTR_URL_FULL "url.full"
#define ATTR_URL_PATH "url.path"
#define ATTR_URL_QUERY "url.query"
#define ATTR_URL_SCHEME "url.scheme"

#define ATTR_USER_AGENT_ORIGINAL "user_agent.original"

/* Prefix of the per-reason capture-loss counters (bedtrace.loss.<reason>). */
#define ATTR_BEDTRACE_LOSS_PREFIX "bedtrace.loss."

/* Attributes of bedtrace's own span events (gen_ai.agent.*). */
#define EVENT_ATTR_INVOCATION_ID "invocation_id"
#define EVENT_ATTR_TEXT "text"

/* Values and event names. */
#define GEN_AI_PROVIDER_AWS_BEDROCK "aws.bedrock"
#define EVENT_GEN_AI_FIRST_CHUNK "gen_ai.first_chunk"

#endif
