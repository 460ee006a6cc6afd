/* SPDX-License-Identifier: MIT */
/*
 * `bedtrace report`: the latency and cost audit of exported files. The stages and their seams:
 *
 *   reader.c    OTLP JSON Lines (optionally .gz, '-' = stdin) streamed line by line into a
 *               dataset of compact span records: no JSON is kept, strings are interned once
 *               (struct rp_dataset below). Malformed lines are counted and skipped with a
 *               warning naming file and line.
 *   filter.c    --service, --name, --since, --until, --status, --min-duration: which traces a
 *               report looks at (a trace matches when one of its spans does)
 *   analyze.c   the dataset into the findings of the audit (struct rp_result): operations with
 *               percentiles and self time, models, slowest traces with their critical path,
 *               findings, regressions against a baseline dataset (sketch.c: quantiles)
 *   out_*.c     text, the JSON contract, Chrome trace events, --traces and --trace; html.c the
 *               page (its data is the JSON report plus the spans of the traces it shows)
 *
 * Times are unix nanoseconds as in the files; durations in the result are milliseconds
 * (doubles), as the JSON contract names them (_ms).
 */
#ifndef BT_REPORT_H
#define BT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* FILE: rp_read_stream */

/* Interned strings: an id is an index into the dataset's string table; 0 is "no value". */
typedef uint32_t rp_str;

/* Span kinds as in OTLP (1 internal, 2 server, 3 client, 4 producer, 5 consumer). */

/* Flags of a span record. */
enum {
	RP_ERROR = 1 << 0,	    /* status ERROR */
	RP_TRUNCATED = 1 << 1,	    /* bedtrace.capture.truncated / .incomplete, or lost bytes */
	RP_INCOMPLETE = 1 << 2,	    /* bedtrace.span.incomplete (still open at exit) */
	RP_THROTTLED = 1 << 3,	    /* HTTP 429 or error.type ThrottlingException */
	RP_RETRY = 1 << 4,	    /* bedtrace.retry.previous_attempts > 0 */
	RP_MAX_TOKENS = 1 << 5,	    /* finish reason max_tokens / length */
	RP_GUARDRAIL = 1 << 6,	    /* a guardrail intervened */
	RP_USAGE_CHILDREN = 1 << 7, /* its usage sums its children's (do not count twice) */
	RP_HAS_TOKENS = 1 << 8,	    /* input/output tokens known */
	RP_HAS_COST = 1 << 9,	    /* cost known */
	RP_HAS_TTFC = 1 << 10,	    /* time to first chunk known */
	RP_LOSS_RECORD = 1 << 11,   /* a bedtrace.capture.loss record, not the application's */
};

/* One span, compact: about 100 bytes whatever its JSON was. */
struct rp_span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8]; /* all zero: a root */
	uint64_t start_ns, end_ns;
	rp_str name;
	rp_str service; /* resource service.name */
	rp_str host;	/* resource host.name */
	uint32_t pid;	/* resource process.pid (0: none) */
	uint8_t kind;
	uint16_t flags;	  /* RP_* */
	rp_str model;	  /* gen_ai.request.model (0: not a model call) */
	rp_str operation; /* gen_ai.operation.name */
	rp_str error_type;
	int64_t input_tokens, output_tokens, cache_read_tokens, cache_write_tokens;
	double cost_usd;
	float ttfc_s;	/* time to first chunk */
	uint32_t file;	/* index in rp_dataset.files */
	uint32_t attrs; /* index of its kept attributes in rp_dataset.attr_sets, 0: none */
};

/* Attributes kept for display (--trace, waterfalls, --by ATTRIBUTE): key/value string pairs. */
struct rp_attr {
	rp_str key, value;
};

struct rp_attr_set {
	uint32_t first; /* index in rp_dataset.attrs */
	uint32_t n;
};

struct rp_dataset {
	struct rp_span *spans;
	size_t n_spans, cap_spans;
	/* string table: strs[id] for id 1..n_strs-1 (strs[0] = "") */
	char **strs;
	size_t n_strs, cap_strs;
	uint32_t *str_index; /* dataset.c: open-addressing hash of strs (id, 0 = empty) */
	size_t n_str_index;
	struct rp_attr *attrs;
	size_t n_attrs, cap_attrs;
	struct rp_attr_set *attr_sets; /* [0] unused */
	size_t n_attr_sets, cap_attr_sets;
	char **files; /* the paths read, in order */
	size_t n_files;
	uint64_t lines, bad_lines; /* JSON Lines read, and skipped as malformed */
	bool oom;		   /* an allocation failed: the dataset is incomplete */
};

/* dataset.c: the primitives every stage and test builds datasets with */
/* The id of @s, added to the string table if new; 0 for NULL. Returns 0 on ENOMEM too (the
 * caller checks ds->oom). */
rp_str rp_intern(struct rp_dataset *ds, const char *s);
rp_str rp_intern_n(struct rp_dataset *ds, const char *s, size_t len);
/* A new zeroed span at the end of ds->spans, or NULL (ENOMEM). */
struct rp_span *rp_add_span(struct rp_dataset *ds);
/* Keeps attribute @key=@value for span @sp (index); appends to its set. Returns 0 or -ENOMEM. */
int rp_add_attr(struct rp_dataset *ds, size_t sp, rp_str key, rp_str value);
/* The string of id @s ("" for 0). */
const char *rp_str_of(const struct rp_dataset *ds, rp_str s);
/* The id of @s if the dataset has it, else 0. */
rp_str rp_str_find(const struct rp_dataset *ds, const char *s);
/* The kept attribute @key of span @sp, or NULL. */
const char *rp_attr_of(const struct rp_dataset *ds, const struct rp_span *sp, const char *key);
void rp_dataset_free(struct rp_dataset *ds);

/* reader.c */
struct rp_read_opts {
	/* attribute keys to keep on every span besides the ones the analysis needs (--by ATTR);
	 * NULL-terminated, may be NULL */
	const char *const *keep_attrs;
	bool keep_all_attrs; /* keep every attribute (small inputs: --trace, --html waterfalls) */
};
/*
 * Reads every file of @paths ("-" = stdin, ".gz" decompressed) into @ds (zeroed, or holding an
 * earlier read: the dataset grows). Returns 0, or -errno when a file cannot be opened or read
 * (one line printed naming it). Malformed lines are not errors: counted in ds->bad_lines, each
 * reported once per file ("FILE:LINE: not an OTLP JSON trace request (why)", then a count).
 */
int rp_read(struct rp_dataset *ds, const char *const *paths, size_t n,
	    const struct rp_read_opts *o);
/*
 * Added by reader.c (not part of the original seams): rp_read over one open stream, named
 * @name in messages and in ds->files ("-" prints as stdin), plain or gzip by content. The
 * unit tests and the fuzzer feed bytes through it (fmemopen). Returns 0 or -errno as rp_read.
 */
int rp_read_stream(struct rp_dataset *ds, FILE *f, const char *name, const struct rp_read_opts *o);

/* filter.c: what the user narrowed the report to. */
struct rp_filter {
	const char *service;	     /* service.name equals */
	const char *name;	     /* span name glob (fnmatch) */
	uint64_t since_ns, until_ns; /* 0: open; a trace overlapping [since, until] matches */
	int status;		     /* 0 any, 1 ok (no error span), 2 error (an error span) */
	uint64_t min_duration_ns;    /* the trace's root span (or its extent) at least this long */
};
/*
 * Marks in @keep (one bool per span, allocated by the caller) the spans of every trace that
 * passes @f; returns how many spans are kept. A trace passes when its spans satisfy every
 * criterion given (service/name: one of its spans matches).
 */
size_t rp_filter_apply(const struct rp_dataset *ds, const struct rp_filter *f, bool *keep);

/* Parses "2026-12-05T10:00:00Z", "2026-12-05 10:00", "-1h" (relative to now), or unix
 * seconds, into unix ns. Returns 0 or -EINVAL. */
int rp_parse_time(const char *s, uint64_t now_ns, uint64_t *out);
/* Parses "250ms", "1.5s", "2m", "100us", "10" (ms) into ns. Returns 0 or -EINVAL. */
int rp_parse_duration(const char *s, uint64_t *out);

/* analyze.c: the result the outputs print. Strings point into the dataset. */
#define RP_MAX_BY 4

struct rp_operation {
	const char *service, *kind, *name;
	const char *by[RP_MAX_BY]; /* values of the --by keys, NULL: none */
	uint64_t count, errors;
	double p50_ms, p90_ms, p99_ms, max_ms, mean_ms, total_ms, self_ms;
	double share; /* total_ms over the total time of the traces it appears in */
};

struct rp_model {
	const char *model, *operation;
	uint64_t calls, errors, throttles, retries;
	int64_t input_tokens, output_tokens, cache_read_tokens, cache_write_tokens;
	double cost_usd;
	bool has_cost;
	double p50_ms, p99_ms;
	double ttfc_p50_ms, ttfc_p99_ms; /* NaN: no streamed call */
};

struct rp_trace_ref {
	uint8_t trace_id[16];
	const char *root, *service;
	double duration_ms;
	const char **critical_path; /* span names from the root down */
	size_t n_critical;
};

struct rp_finding {
	const char *kind; /* max_tokens, guardrail, throttled, input_token_outlier, error,
			     slow_first_chunk, incomplete_capture */
	uint64_t count;
	uint8_t (*trace_ids)[16];
	size_t n_traces;
};

struct rp_regression {
	const char *service, *kind, *name; /* an operation, or a model (kind "model") */
	double baseline_p50_ms, p50_ms, baseline_p99_ms, p99_ms;
	double baseline_cost_per_call, cost_per_call; /* NaN when unknown */
	double p50_ratio, ci_lo, ci_hi;
	bool significant;
};

struct rp_result {
	uint64_t spans, traces;
	const char **hosts, **services;
	size_t n_hosts, n_services;
	struct rp_operation *ops;
	size_t n_ops;
	struct rp_model *models;
	size_t n_models;
	struct rp_trace_ref *slowest;
	size_t n_slowest;
	struct rp_finding *findings;
	size_t n_findings;
	struct rp_regression *regressions;
	size_t n_regressions;
	const char *by_keys[RP_MAX_BY];
	size_t n_by;
};

struct rp_analyze_opts {
	const char *by[RP_MAX_BY]; /* host | service | pid | model | an attribute key */
	size_t n_by;
	size_t n_slowest;		   /* default 10 */
	const bool *keep;		   /* from rp_filter_apply, NULL: every span */
	const struct rp_dataset *baseline; /* NULL: no regressions */
	const bool *baseline_keep;
};

/* Fills @out (free with rp_result_free). Returns 0 or -ENOMEM. */
int rp_analyze(const struct rp_dataset *ds, const struct rp_analyze_opts *o, struct rp_result *out);
void rp_result_free(struct rp_result *r);

/* out_json.c: the JSON contract (README "bedtrace report"), one object, malloc'd; NULL+errno. */
char *rp_result_json(const struct rp_result *r);
/*
 * The spans of the traces @ids (all of them when @n is 0 and @ids NULL) as a JSON array, each
 * {"trace_id","span_id","parent_id" (absent for roots),"name","service","host","kind"
 * (internal|server|client|producer|consumer),"start_ms" (from the trace's first span),
 * "duration_ms","error" (bool),"attrs":{key: value as string}}, sorted by trace then start:
 * the data of the page's waterfalls and of --chrome. malloc'd; NULL+errno.
 */
char *rp_spans_json(const struct rp_dataset *ds, const uint8_t (*ids)[16], size_t n);

/* html.c: one self-contained page (no network) from the report and the spans to draw. */
int rp_html_write(const char *path, const char *report_json, const char *spans_json);

#endif
