// SPDX-License-Identifier: MIT
/*
 * For tests/unit/report/test_out.c: a hand-made dataset and result whose every printed figure
 * is known, so the outputs are checked on their own (tests/integration/test_report.py runs the
 * whole pipeline, reader and analysis included, end to end).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

#define T0 1764928800000000000ull /* 2025-12-05T10:00:00Z */
#define MS 1000000ull

static const uint8_t TRACE_A[16] = {0xa1, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
static const uint8_t TRACE_B[16] = {0xb2, 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};

static struct rp_span *add(struct rp_dataset *ds, const uint8_t *trace, uint8_t id, uint8_t parent,
			   const char *name, uint8_t kind, uint64_t start_ms, uint64_t end_ms,
			   const char *service, const char *host)
{
	struct rp_span *s = rp_add_span(ds);

	memcpy(s->trace_id, trace, 16);
	s->span_id[7] = id;
	s->span_id[0] = trace[0];
	if (parent) {
		s->parent_id[7] = parent;
		s->parent_id[0] = trace[0];
	}
	s->name = rp_intern(ds, name);
	s->kind = kind;
	s->start_ns = T0 + start_ms * MS;
	s->end_ns = T0 + end_ms * MS;
	s->service = rp_intern(ds, service);
	s->host = rp_intern(ds, host);
	s->pid = 4242;
	return s;
}

static void attr(struct rp_dataset *ds, const char *k, const char *v)
{
	rp_add_attr(ds, ds->n_spans - 1, rp_intern(ds, k), rp_intern(ds, v));
}

/*
 * Trace A (h1/rag): handle_request 0-200 ms > retrieve_documents 10-60, call_bedrock 60-190 >
 * chat titan 65-185 (a model call with tokens, cost, ttfc, finish reasons). Spans are added out
 * of order. Trace B (h2/api): handle_request 1000-1050 with an error, and an orphan whose parent
 * is not in the input, which shows as a second root.
 */
void handmade_dataset(struct rp_dataset *ds)
{
	struct rp_span *s;

	s = add(ds, TRACE_A, 3, 1, "call_bedrock", 1, 60, 190, "rag", "h1");
	attr(ds, "thread.id", "100");
	s = add(ds, TRACE_A, 1, 0, "handle_request", 1, 0, 200, "rag", "h1");
	attr(ds, "thread.id", "100");
	attr(ds, "code.function.name", "handle_request");
	s = add(ds, TRACE_A, 4, 3, "chat amazon.titan-text-lite-v1", 3, 65, 185, "rag", "h1");
	s->model = rp_intern(ds, "amazon.titan-text-lite-v1");
	s->operation = rp_intern(ds, "chat");
	s->input_tokens = 8;
	s->output_tokens = 10;
	s->cost_usd = 0.000003;
	s->ttfc_s = 0.05f;
	s->flags |= RP_HAS_TOKENS | RP_HAS_COST | RP_HAS_TTFC;
	attr(ds, "gen_ai.request.model", "amazon.titan-text-lite-v1");
	attr(ds, "gen_ai.response.finish_reasons", "end_turn");
	attr(ds, "http.response.status_code", "200");
	s = add(ds, TRACE_A, 2, 1, "retrieve_documents", 1, 10, 60, "rag", "h1");
	attr(ds, "thread.id", "100");
	s = add(ds, TRACE_B, 1, 0, "handle_request", 1, 1000, 1050, "api", "h2");
	s->flags |= RP_ERROR;
	s->error_type = rp_intern(ds, "ThrottlingException");
	s = add(ds, TRACE_B, 5, 9, "orphan", 2, 1010, 1020, "api", "h2");
	(void)s;
}

static const char *const HOSTS[] = {"h1", "h2"};
static const char *const SERVICES[] = {"api", "rag"};
static const char *CRIT_A[] = {"handle_request", "call_bedrock", "chat amazon.titan-text-lite-v1"};
static const char *CRIT_B[] = {"handle_request"};
static uint8_t ERROR_TRACES[1][16];

/* A result as rp_analyze would make it of handmade_dataset, grouped --by host,service.version */
void handmade_result(struct rp_result *r)
{
	static struct rp_operation ops[2];
	static struct rp_model models[1];
	static struct rp_trace_ref slowest[2];
	static struct rp_finding findings[1];
	static struct rp_regression regs[1];

	memset(r, 0, sizeof(*r));
	r->spans = 6;
	r->traces = 2;
	r->hosts = (const char **)HOSTS;
	r->n_hosts = 2;
	r->services = (const char **)SERVICES;
	r->n_services = 2;
	r->by_keys[0] = "host";
	r->by_keys[1] = "service.version";
	r->n_by = 2;
	ops[0] = (struct rp_operation){.service = "rag",
				       .kind = "internal",
				       .name = "handle_request",
				       .by = {"h1", "1.2.0"},
				       .count = 1,
				       .p50_ms = 200,
				       .p90_ms = 200,
				       .p99_ms = 200,
				       .max_ms = 200,
				       .mean_ms = 200,
				       .total_ms = 200,
				       .self_ms = 20,
				       .share = 1};
	ops[1] =
	    (struct rp_operation){.service = "api",
				  .kind = "internal",
				  .name = "a_function_with_a_very_long_name_that_needs_shortening_"
					  "in_a_narrow_terminal",
				  .by = {"h2", NULL},
				  .count = 1,
				  .errors = 1,
				  .p50_ms = 50,
				  .p90_ms = 50,
				  .p99_ms = 50,
				  .max_ms = 50,
				  .mean_ms = 50,
				  .total_ms = 50,
				  .self_ms = 40,
				  .share = NAN};
	r->ops = ops;
	r->n_ops = 2;
	models[0] = (struct rp_model){.model = "amazon.titan-text-lite-v1",
				      .operation = "chat",
				      .calls = 1,
				      .input_tokens = 8,
				      .output_tokens = 10,
				      .cost_usd = 0.000003,
				      .has_cost = true,
				      .p50_ms = 120,
				      .p99_ms = 120,
				      .ttfc_p50_ms = 50,
				      .ttfc_p99_ms = NAN};
	r->models = models;
	r->n_models = 1;
	memcpy(slowest[0].trace_id, TRACE_A, 16);
	slowest[0].root = "handle_request";
	slowest[0].service = "rag";
	slowest[0].duration_ms = 200;
	slowest[0].critical_path = CRIT_A;
	slowest[0].n_critical = 3;
	memcpy(slowest[1].trace_id, TRACE_B, 16);
	slowest[1].root = "handle_request";
	slowest[1].service = "api";
	slowest[1].duration_ms = 50;
	slowest[1].critical_path = CRIT_B;
	slowest[1].n_critical = 1;
	r->slowest = slowest;
	r->n_slowest = 2;
	memcpy(ERROR_TRACES[0], TRACE_B, 16);
	findings[0] = (struct rp_finding){
	    .kind = "error", .count = 1, .trace_ids = ERROR_TRACES, .n_traces = 1};
	r->findings = findings;
	r->n_findings = 1;
	regs[0] = (struct rp_regression){.service = "rag",
					 .kind = "internal",
					 .name = "handle_request",
					 .baseline_p50_ms = 100,
					 .p50_ms = 200,
					 .baseline_p99_ms = 110,
					 .p99_ms = 210,
					 .baseline_cost_per_call = NAN,
					 .cost_per_call = NAN,
					 .p50_ratio = 2,
					 .ci_lo = 1.8,
					 .ci_hi = 2.2,
					 .significant = true};
	r->regressions = regs;
	r->n_regressions = 1;
}

/* ---- stand-ins for the stages written in parallel (see the comment at the top) ---- */
