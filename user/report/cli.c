// SPDX-License-Identifier: MIT
/*
 * `bedtrace report [OPTIONS] FILE ...`: reads the files into one dataset, narrows it with the
 * filters, then prints the trace listing (--traces), one trace (--trace) or the audit (text or
 * the JSON contract), and writes the page (--html) and Chrome trace events (--chrome).
 * Exit status: 0; 1 when a file cannot be read or written; 2 for bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "report/cli.h"
#include "report/out.h"
#include "report/report.h"
#include "util/outfile.h"

#define MAX_BASELINES 64

static const char usage_text[] =
    "Usage: bedtrace report [OPTIONS] FILE ...\n"
    "The latency and cost audit of bedtrace's OTLP JSON Lines files (optionally .gz; '-' is\n"
    "stdin), from one host or many: operations, models, slowest traces, findings, regressions.\n"
    "\n"
    "  --format text|json      text (default): aligned tables; json: the contract in the README\n"
    "  --html FILE             one self-contained page (no network access needed to view it)\n"
    "  --chrome FILE           Chrome trace-event JSON of the selected traces (Perfetto)\n"
    "  --by KEY[,KEY]          group rows also by host | service | pid | model | ATTRIBUTE\n"
    "  --baseline FILE         an earlier capture to compare against (repeatable)\n"
    "  --service S             traces with a span of service S\n"
    "  --name GLOB             traces with a span whose name matches GLOB\n"
    "  --since TIME            traces ending after TIME (2026-12-05T10:00:00Z, -1h, unix s)\n"
    "  --until TIME            traces starting before TIME\n"
    "  --status ok|error       traces without / with an error span\n"
    "  --min-duration D        traces at least D long (250ms, 1.5s, 2m; a number is ms)\n"
    "  --traces                list the matching traces instead of the audit\n"
    "    --sort K              -duration | duration | start (default) | -start\n"
    "    --limit N             at most N traces;  --offset N  skip the first N\n"
    "  --trace ID              print one trace (ID or a unique prefix) as an indented tree\n"
    "  -a, --all-attributes    --trace: every kept attribute, not only the key ones\n"
    "  -h, --help              this help\n"
    "\n"
    "Examples:\n"
    "  bedtrace report spans.jsonl\n"
    "  bedtrace report --by host --format json host*/spans.jsonl.gz\n"
    "  bedtrace report --baseline before.jsonl --html audit.html after.jsonl\n"
    "  bedtrace report --traces --status error --sort -duration --limit 20 spans.jsonl\n"
    "  bedtrace report --trace 4bf92f35 spans.jsonl\n";

enum {
	OPT_FORMAT = 256,
	OPT_HTML,
	OPT_CHROME,
	OPT_BY,
	OPT_BASELINE,
	OPT_SERVICE,
	OPT_NAME,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_STATUS,
	OPT_MIN_DURATION,
	OPT_TRACES,
	OPT_SORT,
	OPT_LIMIT,
	OPT_OFFSET,
	OPT_TRACE,
};

struct report_opts {
	bool json, traces, all_attrs;
	const char *html, *chrome, *trace;
	char *by_buf[RP_MAX_BY]; /* strdup'd --by keys */
	size_t n_by;
	const char *baselines[MAX_BASELINES];
	size_t n_baselines;
	struct rp_filter filter;
	bool filtered;
	enum rp_sort sort;
	bool sort_given, limit_given, offset_given;
	size_t limit, offset;
	const char *const *files;
	size_t n_files;
};

/* One line on stderr for a bad command line; returns its exit status, 2. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bedtrace report: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see bedtrace report --help)\n", stderr);
	return 2;
}

static int parse_count(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

static int add_by(struct report_opts *o, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");

		if (!len)
			return usage_error("--by: an empty key in '%s'", list);
		if (o->n_by >= RP_MAX_BY)
			return usage_error("--by: at most 4 keys ('%s')", list);
		o->by_buf[o->n_by] = strndup(p, len);
		if (!o->by_buf[o->n_by])
			return usage_error("%s", "out of memory");
		o->n_by++;
		p += len;
		if (*p == ',')
			p++;
		if (!*p && p[-1] == ',')
			return usage_error("--by: an empty key in '%s'", list);
	}
	if (!*list)
		return usage_error("--by: no key in '%s'", list);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Parses @argv into @o. Returns 0, -1 after --help (exit 0), or an exit status (2). */
static int parse_args(int argc, char **argv, struct report_opts *o)
{
	static const struct option longopts[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"html", required_argument, NULL, OPT_HTML},
	    {"chrome", required_argument, NULL, OPT_CHROME},
	    {"by", required_argument, NULL, OPT_BY},
	    {"baseline", required_argument, NULL, OPT_BASELINE},
	    {"service", required_argument, NULL, OPT_SERVICE},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"since", required_argument, NULL, OPT_SINCE},
	    {"until", required_argument, NULL, OPT_UNTIL},
	    {"status", required_argument, NULL, OPT_STATUS},
	    {"min-duration", required_argument, NULL, OPT_MIN_DURATION},
	    {"traces", no_argument, NULL, OPT_TRACES},
	    {"sort", required_argument, NULL, OPT_SORT},
	    {"limit", required_argument, NULL, OPT_LIMIT},
	    {"offset", required_argument, NULL, OPT_OFFSET},
	    {"trace", required_argument, NULL, OPT_TRACE},
	    {"all-attributes", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t now = now_ns();
	int c, err;

	/* a fresh scan: report_main may run more than once in a process (tests) */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ah", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				o->json = true;
			else if (!strcmp(optarg, "text"))
				o->json = false;
			else
				return usage_error("--format must be text or json, not '%s'",
						   optarg);
			break;
		case OPT_HTML:
			o->html = optarg;
			break;
		case OPT_CHROME:
			o->chrome = optarg;
			break;
		case OPT_BY:
			err = add_by(o, optarg);
			if (err)
				return err;
			break;
		case OPT_BASELINE:
			if (o->n_baselines >= MAX_BASELINES)
				return usage_error("at most 64 --baseline files ('%s')", optarg);
			o->baselines[o->n_baselines++] = optarg;
			break;
		case OPT_SERVICE:
			o->filter.service = optarg;
			o->filtered = true;
			break;
		case OPT_NAME:
			o->filter.name = optarg;
			o->filtered = true;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (rp_parse_time(optarg, now,
					  c == OPT_SINCE ? &o->filter.since_ns
							 : &o->filter.until_ns))
				return usage_error("not a time: '%s' (2026-12-05T10:00:00Z, "
						   "'2026-12-05 10:00', -1h or unix seconds)",
						   optarg);
			o->filtered = true;
			break;
		case OPT_STATUS:
			if (!strcmp(optarg, "ok"))
				o->filter.status = 1;
			else if (!strcmp(optarg, "error"))
				o->filter.status = 2;
			else
				return usage_error("--status must be ok or error, not '%s'",
						   optarg);
			o->filtered = true;
			break;
		case OPT_MIN_DURATION:
			if (rp_parse_duration(optarg, &o->filter.min_duration_ns))
				return usage_error(
				    "not a duration: '%s' (250ms, 1.5s, 2m, 100us; a "
				    "number is ms)",
				    optarg);
			o->filtered = true;
			break;
		case OPT_TRACES:
			o->traces = true;
			break;
		case OPT_SORT:
			if (rp_sort_parse(optarg, &o->sort))
				return usage_error("--sort must be -duration, duration, start or "
						   "-start, not '%s'",
						   optarg);
			o->sort_given = true;
			break;
		case OPT_LIMIT:
		case OPT_OFFSET:
			if (parse_count(optarg, c == OPT_LIMIT ? &o->limit : &o->offset))
				return usage_error("not a count: '%s'", optarg);
			if (c == OPT_LIMIT)
				o->limit_given = true;
			else
				o->offset_given = true;
			break;
		case OPT_TRACE:
			o->trace = optarg;
			break;
		case 'a':
			o->all_attrs = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (o->traces && o->trace)
		return usage_error("%s", "--traces and --trace exclude each other");
	if ((o->sort_given || o->limit_given || o->offset_given) && !o->traces)
		return usage_error("%s", "--sort, --limit and --offset go with --traces");
	if (o->limit_given && !o->limit)
		return usage_error("%s", "--limit must be at least 1");
	if (o->trace && (o->html || o->n_baselines))
		return usage_error("%s", "--trace prints one trace: --html and --baseline do not "
					 "apply");
	if (o->traces && (o->html || o->n_baselines))
		return usage_error("%s",
				   "--traces lists traces: --html and --baseline do not apply");
	if (optind >= argc)
		return usage_error("%s",
				   "no FILE to read (give OTLP JSON Lines files, or - for stdin)");
	o->files = (const char *const *)&argv[optind];
	o->n_files = (size_t)(argc - optind);
	return 0;
}

/* The --by keys that are span attributes, NULL-terminated, for the reader to keep. */
static void attr_keys(const struct report_opts *o, const char **keys)
{
	static const char *const builtin[] = {"host", "service", "pid", "model"};
	size_t i, k, n = 0;

	for (i = 0; i < o->n_by; i++) {
		bool b = false;

		for (k = 0; k < sizeof(builtin) / sizeof(builtin[0]); k++)
			b = b || !strcmp(o->by_buf[i], builtin[k]);
		if (!b)
			keys[n++] = o->by_buf[i];
	}
	keys[n] = NULL;
}

static int terminal_width(void)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;

	if (cols && atoi(cols) > 0)
		return atoi(cols);
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col;
	return 0; /* a pipe or a file: full names */
}

/* Reads @paths into @ds and marks the spans the filter keeps in *@keep (malloc'd). */
static int load(struct rp_dataset *ds, const char *const *paths, size_t n,
		const struct rp_read_opts *ro, const struct report_opts *o, bool **keep)
{
	if (rp_read(ds, paths, n, ro))
		return 1;
	if (ds->oom) {
		fprintf(stderr, "bedtrace report: out of memory reading the files\n");
		return 1;
	}
	*keep = malloc((ds->n_spans ? ds->n_spans : 1) * sizeof(**keep));
	if (!*keep) {
		fprintf(stderr, "bedtrace report: out of memory\n");
		return 1;
	}
	if (o->filtered) {
		rp_filter_apply(ds, &o->filter, *keep);
	} else {
		size_t i;

		for (i = 0; i < ds->n_spans; i++)
			(*keep)[i] = true;
	}
	return 0;
}

/* @path for writing ("-": stdout), opened as every file bedtrace writes (util/outfile.h). */
static FILE *open_out(const char *path)
{
	FILE *f = NULL;
	int fd, err;

	if (!strcmp(path, "-"))
		return stdout;
	fd = outfile_open(path, 0644, 0);
	if (fd >= 0 && !(f = fdopen(fd, "w")))
		close(fd);
	if (!f) {
		err = fd < 0 ? -fd : errno;
		fprintf(stderr, "bedtrace report: cannot write %s: %s\n", path,
			outfile_refusal(err) ? outfile_refusal(err) : strerror(err));
	}
	return f;
}

static int close_out(FILE *f, const char *path, int err)
{
	if (f == stdout) {
		if (fflush(f) && !err)
			err = -errno;
	} else if (fclose(f) && !err) {
		err = -errno;
	}
	if (err) {
		fprintf(stderr, "bedtrace report: cannot write %s: %s\n", path, strerror(-err));
		return 1;
	}
	return 0;
}

static int write_chrome(const char *path, const struct rp_dataset *ds, const uint8_t (*ids)[16],
			size_t n)
{
	FILE *f = open_out(path);

	if (!f)
		return 1;
	return close_out(f, path, rp_chrome_write(f, ds, ids, n));
}

/* --trace ID */
static int show_trace(const struct report_opts *o, const struct rp_dataset *ds)
{
	const struct rp_trace *t;
	struct rp_traces tl;
	int status = 1;

	if (rp_traces_build(ds, NULL, &tl)) {
		fprintf(stderr, "bedtrace report: out of memory\n");
		return 1;
	}
	t = rp_traces_lookup(&tl, o->trace);
	if (!t) {
		if (errno == EINVAL)
			fprintf(stderr, "bedtrace report: --trace: '%s' is not a hex trace id\n",
				o->trace);
		else if (errno == EEXIST)
			fprintf(stderr,
				"bedtrace report: --trace: several traces start with '%s'\n",
				o->trace);
		else
			fprintf(stderr, "bedtrace report: --trace: no trace %s in the files\n",
				o->trace);
		status = errno == EINVAL ? 2 : 1;
		goto cleanup;
	}
	if (o->json) {
		char *j = rp_spans_json(ds, (const uint8_t(*)[16])t->id, 1);

		if (!j) {
			fprintf(stderr, "bedtrace report: out of memory\n");
			goto cleanup;
		}
		printf("%s\n", j);
		free(j);
	} else if (rp_trace_tree_text(stdout, ds, &tl, t, o->all_attrs)) {
		goto cleanup;
	}
	status = o->chrome ? write_chrome(o->chrome, ds, (const uint8_t(*)[16])t->id, 1) : 0;
cleanup:
	rp_traces_free(&tl);
	return status;
}

/* --traces */
static int list_traces(const struct report_opts *o, const struct rp_dataset *ds, const bool *keep)
{
	struct rp_traces tl;
	uint8_t(*ids)[16] = NULL;
	size_t *sel = NULL, i;
	long n;
	int status = 1;

	if (rp_traces_build(ds, keep, &tl)) {
		fprintf(stderr, "bedtrace report: out of memory\n");
		return 1;
	}
	n = rp_traces_select(&tl, o->sort, o->offset, o->limit, &sel);
	if (n < 0) {
		fprintf(stderr, "bedtrace report: out of memory\n");
		goto cleanup;
	}
	if (o->json) {
		char *j = rp_traces_list_json(ds, &tl, sel, (size_t)n, tl.n);

		if (!j) {
			fprintf(stderr, "bedtrace report: out of memory\n");
			goto cleanup;
		}
		printf("%s\n", j);
		free(j);
	} else {
		rp_traces_list_text(stdout, ds, &tl, sel, (size_t)n, tl.n);
	}
	status = 0;
	if (o->chrome) {
		ids = malloc(((size_t)n + 1) * sizeof(*ids));
		if (!ids) {
			fprintf(stderr, "bedtrace report: out of memory\n");
			status = 1;
			goto cleanup;
		}
		for (i = 0; i < (size_t)n; i++)
			memcpy(ids[i], tl.t[sel[i]].id, 16);
		status = write_chrome(o->chrome, ds, (const uint8_t(*)[16])ids, (size_t)n);
	}
cleanup:
	free(ids);
	free(sel);
	rp_traces_free(&tl);
	return status;
}

/* The traces the page and --chrome show: the slowest, then each flagged one, once each. */
static uint8_t (*shown_traces(const struct rp_result *r, size_t *n))[16]
{
	uint8_t(*ids)[16];
	size_t cap = r->n_slowest, i, k, m = 0;

	for (i = 0; i < r->n_findings; i++)
		cap += r->findings[i].n_traces;
	ids = malloc((cap + 1) * sizeof(*ids));
	if (!ids)
		return NULL;
	for (i = 0; i < r->n_slowest; i++)
		memcpy(ids[m++], r->slowest[i].trace_id, 16);
	for (i = 0; i < r->n_findings; i++)
		for (k = 0; k < r->findings[i].n_traces; k++) {
			size_t j;

			for (j = 0; j < m && memcmp(ids[j], r->findings[i].trace_ids[k], 16); j++)
				;
			if (j == m)
				memcpy(ids[m++], r->findings[i].trace_ids[k], 16);
		}
	*n = m;
	return ids;
}

static int audit(const struct report_opts *o, const struct rp_dataset *ds, const bool *keep,
		 const struct rp_dataset *base, const bool *base_keep)
{
	struct rp_analyze_opts ao = {.n_slowest = 10, .keep = keep};
	struct rp_result r = {0};
	char *json = NULL, *spans = NULL;
	uint8_t(*ids)[16] = NULL;
	size_t n_ids = 0, i;
	int status = 1, err;

	for (i = 0; i < o->n_by; i++)
		ao.by[i] = o->by_buf[i];
	ao.n_by = o->n_by;
	if (base) {
		ao.baseline = base;
		ao.baseline_keep = base_keep;
	}
	if (rp_analyze(ds, &ao, &r)) {
		fprintf(stderr, "bedtrace report: out of memory analysing the spans\n");
		return 1;
	}
	if (o->json || o->html) {
		json = rp_result_json(&r);
		if (!json) {
			fprintf(stderr, "bedtrace report: out of memory\n");
			goto cleanup;
		}
	}
	if (o->json) {
		printf("%s\n", json);
	} else if (rp_text_write(stdout, ds, &r, terminal_width())) {
		fprintf(stderr, "bedtrace report: cannot write the report\n");
		goto cleanup;
	}
	if (o->html || o->chrome) {
		ids = shown_traces(&r, &n_ids);
		if (!ids) {
			fprintf(stderr, "bedtrace report: out of memory\n");
			goto cleanup;
		}
	}
	if (o->html) {
		spans = rp_spans_json(ds, (const uint8_t(*)[16])ids, n_ids);
		if (!spans) {
			fprintf(stderr, "bedtrace report: out of memory\n");
			goto cleanup;
		}
		err = rp_html_write(o->html, json, spans);
		if (err) {
			err = err < 0 ? -err : EIO;
			fprintf(stderr, "bedtrace report: cannot write %s: %s\n", o->html,
				outfile_refusal(err) ? outfile_refusal(err) : strerror(err));
			goto cleanup;
		}
	}
	if (o->chrome && write_chrome(o->chrome, ds, (const uint8_t(*)[16])ids, n_ids))
		goto cleanup;
	status = 0;
cleanup:
	free(ids);
	free(spans);
	free(json);
	rp_result_free(&r);
	return status;
}

int report_main(int argc, char **argv)
{
	struct report_opts o = {.sort = RP_SORT_START};
	struct rp_dataset ds = {0}, base = {0};
	const char *keys[RP_MAX_BY + 1];
	struct rp_read_opts ro = {.keep_attrs = keys};
	bool *keep = NULL, *base_keep = NULL;
	int status;
	size_t i;

	status = parse_args(argc, argv, &o);
	if (status) {
		status = status < 0 ? 0 : status;
		goto cleanup;
	}
	attr_keys(&o, keys);
	/* every attribute only where spans are shown one by one: the audit needs few */
	ro.keep_all_attrs = o.trace || o.traces || o.html || o.chrome;
	status = load(&ds, o.files, o.n_files, &ro, &o, &keep);
	if (status)
		goto cleanup;
	if (o.trace) {
		status = show_trace(&o, &ds);
	} else if (o.traces) {
		status = list_traces(&o, &ds, keep);
	} else {
		if (o.n_baselines) {
			ro.keep_all_attrs = false;
			status = load(&base, o.baselines, o.n_baselines, &ro, &o, &base_keep);
			if (status)
				goto cleanup;
		}
		status = audit(&o, &ds, keep, o.n_baselines ? &base : NULL, base_keep);
	}
	if (fflush(stdout) && !status) {
		fprintf(stderr, "bedtrace report: cannot write the output: %s\n", strerror(errno));
		status = 1;
	}
cleanup:
	free(keep);
	free(base_keep);
	rp_dataset_free(&ds);
	rp_dataset_free(&base);
	for (i = 0; i < o.n_by; i++)
		free(o.by_buf[i]);
	return status;
}
