// SPDX-License-Identifier: MIT
/*
 * bedtrace: command line, lifecycle and the event loop. Targets are opened or launched, probes
 * attached, then ring-buffer events flow into the stitcher (function spans) and the connection
 * tracker (HTTP and Bedrock spans) until every target has exited, a signal arrives or --duration
 * ends; in-flight spans are closed and everything is flushed before exit.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bedtrace.h"
#include "export/export.h"
#include "export/spool.h"
#include "metrics/prom_server.h"
#include "probe/functrace.h"
#include "proto/body.h"
#include "report/cli.h"
#include "util/log.h"
#include "util/size.h"
#include "span/stitch.h"
#include "probe/target.h"
#include "tracer.h"

static volatile sig_atomic_t exiting, reopen_output;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

/* logrotate's convention: SIGHUP after renaming the output reopens it by its path */
static void on_hup(int sig)
{
	(void)sig;
	reopen_output = 1;
}

const char *argp_program_version = "bedtrace " BT_VERSION;
const char *argp_program_bug_address = "<https://github.com/bedtrace/bedtrace/issues>";

static const char doc[] =
    "bedtrace: zero-instrumentation tracing of LLM-backed services, exported as OTLP JSON.\n"
    "\n"
    "  bedtrace [OPTIONS] -p PID [-p PID ...]     attach to running processes\n"
    "  bedtrace [OPTIONS] -- COMMAND [ARG ...]    start COMMAND, trace from its first "
    "instruction\n"
    "  bedtrace [OPTIONS] -e EXE [-e EXE ...]     every process running EXE, now and started "
    "later, in any mount/PID namespace\n"
    "  bedtrace [OPTIONS] -a                      TLS and socket HTTP of every process on the "
    "host\n"
    "  bedtrace report [OPTIONS] FILE ...         the latency and cost audit of exported files "
    "(see bedtrace report --help)\n"
    "\n"
    "Examples:\n"
    "  bedtrace -f handle_request -f 'libfoo:retrieve*' -p 4242 -o out.jsonl\n"
    "  bedtrace -f 'ns::Cls::*' -- ./app --port 8080\n"
    "  bedtrace -p 4242 --otlp-endpoint http://127.0.0.1:4318/v1/traces\n"
    "  bedtrace -f main -d 10 -p 4242 -o -\n"
    "  bedtrace -e /usr/local/bin/rag-server -f 'retrieve*' --otlp-endpoint "
    "http://collector:4318\n"
    "  bedtrace -a --exclude-exe /usr/bin/otelcol --spool-dir /var/lib/bedtrace/spool\n"
    "\n"
    "Options:"
    "\v"
    "Exit status: 0 all spans delivered; 1 could not start or trace; 2 invalid command line; "
    "3 spans were produced that did not reach a destination (disk full, collector refusing "
    "or unreachable). In launch mode, when every span was delivered, the command's own "
    "status (128+N if killed by signal N); 3 wins over it.";

enum {
	OPT_NO_TLS = 0x100,
	OPT_NO_SOCKETS,
	OPT_OTLP,
	OPT_SERVICE,
	OPT_CAPTURE,
	OPT_PRICES,
	OPT_DUMP,
	OPT_MAX_BODY,
	OPT_NO_FOLLOW,
	OPT_EXCLUDE_EXE,
	OPT_EXCLUDE_PID,
	OPT_RING_SIZE,
	OPT_SPOOL_DIR,
	OPT_SPOOL_MAX,
	OPT_METRICS_OUTPUT,
	OPT_METRICS_INTERVAL,
	OPT_PROMETHEUS,
	OPT_LOGS_OUTPUT,
	OPT_PYTHON,
	OPT_SAMPLE_HZ,
};

static const struct argp_option options[] = {
    {"pid", 'p', "PID", 0, "Attach to process PID (repeatable)", 0},
    {"func", 'f', "SPEC", 0,
     "Probe functions: [OBJECT:]GLOB; OBJECT is a path or a library name as mapped in the "
     "target (libfoo.so.1, libfoo), default the executable; GLOB matches mangled or "
     "demangled names (repeatable)",
     0},
    {"exe", 'e', "EXE", 0,
     "Every process whose executable is the file EXE (same device and inode: bind mounts and "
     "containers included), running now or started later; runs until stopped (repeatable)",
     0},
    {"all", 'a', NULL, 0,
     "TLS and plain-socket HTTP of every process on the host (each libssl and each "
     "executable with OpenSSL linked in, found as processes map or execute them)",
     0},
    {"python", OPT_PYTHON, "GLOB", 0,
     "Python functions as spans, sampled from the interpreter without stopping it: GLOB "
     "matches module.qualname (app.handle_request, rag.*); CPython 3.9-3.13; -p or -- "
     "(repeatable)",
     0},
    {"sample-hz", OPT_SAMPLE_HZ, "N", 0,
     "Stack samples per second for --python (default 1000; span times are exact to one "
     "period)",
     0},
    {"exclude-exe", OPT_EXCLUDE_EXE, "PATH", 0,
     "Leave out processes running PATH, and the children they fork until those execute "
     "another program (-a / -e; repeatable)",
     0},
    {"exclude-pid", OPT_EXCLUDE_PID, "PID", 0,
     "Leave out process PID, whatever it executes, and the children it forks until those "
     "execute another program (-a / -e; repeatable; bedtrace is always left out)",
     0},
    {"ring-size", OPT_RING_SIZE, "BYTES", 0,
     "BPF event ring buffer size, a power of two with an optional K/M/G suffix (default "
     "32M with payload capture, 8M for function calls only)",
     0},
    {"no-tls", OPT_NO_TLS, NULL, 0, "Do not capture TLS traffic", 0},
    {"no-sockets", OPT_NO_SOCKETS, NULL, 0, "Do not capture plain (non-TLS) TCP traffic", 0},
    {"no-follow", OPT_NO_FOLLOW, NULL, 0,
     "Do not trace children the targets fork or programs they execute (followed by default)", 0},
    {"output", 'o', "FILE", 0,
     "Write OTLP JSON Lines to FILE ('-' is stdout); SIGHUP reopens FILE (logrotate)", 0},
    {"otlp-endpoint", OPT_OTLP, "URL", 0,
     "Export over OTLP/HTTP JSON to URL (default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, then "
     "OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces); OTEL_EXPORTER_OTLP_[TRACES_]HEADERS, "
     "_COMPRESSION, _TIMEOUT, _CERTIFICATE, _CLIENT_KEY, _CLIENT_CERTIFICATE and "
     "OTEL_SDK_DISABLED are honoured",
     0},
    {"spool-dir", OPT_SPOOL_DIR, "DIR", 0,
     "With an OTLP endpoint: keep what the collector cannot take now in DIR (created 0700) and "
     "send it when it can, also after a restart",
     0},
    {"spool-max", OPT_SPOOL_MAX, "BYTES", 0,
     "Most the spool holds (suffix K, M, G; default 1G); past it new spans are dropped", 0},
    {"metrics-output", OPT_METRICS_OUTPUT, "FILE", 0,
     "Write metrics as OTLP JSON Lines to FILE, one line per interval (with an OTLP endpoint "
     "they also go to its /v1/metrics)",
     0},
    {"metrics-interval", OPT_METRICS_INTERVAL, "SEC", 0,
     "Metrics export interval (default OTEL_METRIC_EXPORT_INTERVAL, else 60); "
     "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta honoured",
     0},
    {"prometheus", OPT_PROMETHEUS, "[ADDR:]PORT", 0,
     "Serve /metrics in the Prometheus text format on ADDR:PORT (default address 127.0.0.1)", 0},
    {"logs-output", OPT_LOGS_OUTPUT, "FILE", 0,
     "Write one OTLP log record per model call (gen_ai.client.inference.operation.details) "
     "as JSON Lines to FILE (with an OTLP endpoint they also go to its /v1/logs)",
     0},
    {"service-name", OPT_SERVICE, "NAME", 0,
     "service.name (default: the process's OTEL_SERVICE_NAME, then its executable name)", 0},
    {"capture-content", OPT_CAPTURE, NULL, 0,
     "Export prompts and completions (gen_ai.input.messages / gen_ai.output.messages)", 0},
    {"prices", OPT_PRICES, "FILE", 0, "Model price table (JSON) for bedtrace.cost.usd", 0},
    {"dump-bodies", OPT_DUMP, "DIR", 0,
     "Debug: write every reassembled HTTP body to DIR (contains payloads; mode 0600)", 0},
    {"max-body", OPT_MAX_BODY, "BYTES", 0,
     "Largest HTTP body kept per message for parsing (default 64 MiB)", 0},
    {"duration", 'd', "SEC", 0, "Stop after SEC seconds", 0},
    {"verbose", 'v', NULL, 0, "Debug output", 0},
    {},
};

/* --ring-size: a size (util/size.h) that is a power of two in [64 KiB, 1 GiB]. */
static int parse_ring_size(const char *arg, uint32_t *out)
{
	uint64_t v;

	if (size_parse(arg, &v) || v < (64u << 10) || v > (1u << 30) || (v & (v - 1)))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct tracer_opts *o = state->input;
	char *end;
	long v;

	switch (key) {
	case 'p':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v <= 0 || v > INT_MAX)
			argp_error(state, "invalid PID '%s'", arg);
		if (o->n_pids == TRACER_MAX_PIDS)
			argp_error(state, "at most %d -p options", TRACER_MAX_PIDS);
		o->pids[o->n_pids++] = (pid_t)v;
		break;
	case 'f':
		if (o->n_specs == TRACER_MAX_SPECS)
			argp_error(state, "at most %d -f options", TRACER_MAX_SPECS);
		if (func_spec_parse(arg, &o->specs[o->n_specs]))
			argp_error(state, "invalid SPEC '%s' (expected [OBJECT:]GLOB)", arg);
		o->n_specs++;
		break;
	case 'e':
		if (o->n_exes == TRACER_MAX_EXES)
			argp_error(state, "at most %d -e options", TRACER_MAX_EXES);
		o->exes[o->n_exes++] = arg;
		break;
	case 'a':
		o->all = true;
		break;
	case OPT_PYTHON:
		if (o->n_python == PYSAMPLE_MAX_GLOBS)
			argp_error(state, "at most %d --python options", PYSAMPLE_MAX_GLOBS);
		if (!*arg)
			argp_error(state, "empty --python GLOB (expected module.qualname, e.g. "
					  "app.*)");
		o->python[o->n_python++] = arg;
		break;
	case OPT_SAMPLE_HZ:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v < 1 || v > PYSAMPLE_MAX_HZ)
			argp_error(state, "invalid --sample-hz '%s' (1 to %d samples per second)",
				   arg, PYSAMPLE_MAX_HZ);
		o->sample_hz = (unsigned)v;
		break;
	case OPT_EXCLUDE_EXE:
		if (o->n_exclude_exes == TRACER_MAX_EXES)
			argp_error(state, "at most %d --exclude-exe options", TRACER_MAX_EXES);
		o->exclude_exes[o->n_exclude_exes++] = arg;
		break;
	case OPT_EXCLUDE_PID:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v <= 0 || v > INT_MAX)
			argp_error(state, "invalid PID '%s' for --exclude-pid", arg);
		if (o->n_exclude_pids == TRACER_MAX_PIDS)
			argp_error(state, "at most %d --exclude-pid options", TRACER_MAX_PIDS);
		o->exclude_pids[o->n_exclude_pids++] = (pid_t)v;
		break;
	case OPT_RING_SIZE:
		if (parse_ring_size(arg, &o->ring_size))
			argp_error(state,
				   "invalid --ring-size '%s' (a power of two from 64K to 1G, "
				   "e.g. 16M)",
				   arg);
		break;
	case OPT_NO_TLS:
		o->no_tls = true;
		break;
	case OPT_NO_SOCKETS:
		o->no_sockets = true;
		break;
	case OPT_NO_FOLLOW:
		o->no_follow = true;
		break;
	case 'o':
		o->output = arg;
		break;
	case OPT_OTLP:
		o->otlp_endpoint = arg;
		break;
	case OPT_SERVICE:
		o->service_name = arg;
		break;
	case OPT_SPOOL_DIR:
		o->spool_dir = arg;
		break;
	case OPT_SPOOL_MAX: {
		uint64_t bytes;

		if (size_parse(arg, &bytes) || bytes < 4096)
			argp_error(
			    state,
			    "invalid --spool-max '%s' (bytes, at least 4096; suffix K, M, G)", arg);
		o->spool_max = bytes;
		break;
	}
	case OPT_METRICS_OUTPUT:
		o->metrics_output = arg;
		break;
	case OPT_LOGS_OUTPUT:
		o->logs_output = arg;
		break;
	case OPT_PROMETHEUS:
		if (prom_addr_error(arg))
			argp_error(state, "invalid --prometheus '%s': %s", arg,
				   prom_addr_error(arg));
		o->prometheus = arg;
		break;
	case OPT_METRICS_INTERVAL: {
		double sec;

		errno = 0;
		sec = strtod(arg, &end);
		if (errno || end == arg || *end || !(sec >= 0.1) || sec > 86400)
			argp_error(state,
				   "invalid --metrics-interval '%s' (seconds, from 0.1 to 86400)",
				   arg);
		o->metrics_interval_ms = (unsigned)(sec * 1000 + 0.5);
		break;
	}
	case OPT_CAPTURE:
		o->capture_content = true;
		break;
	case OPT_PRICES:
		o->prices = arg;
		break;
	case OPT_DUMP:
		o->dump_dir = arg;
		break;
	case OPT_MAX_BODY:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v < 1024)
			argp_error(state, "invalid --max-body '%s' (bytes, at least 1024)", arg);
		o->max_body = (size_t)v;
		break;
	case 'd':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v <= 0)
			argp_error(state, "invalid duration '%s' (whole seconds > 0)", arg);
		o->duration_s = (int)v;
		break;
	case 'v':
		o->verbose = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s' (a command goes after --)", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/*
 * libbpf warns only about failures bedtrace reports, and a program the verifier refused comes with
 * the verifier's log: warnings print without -v. Its info and debug output needs -v. bedtrace
 * provokes no libbpf warning on purpose (uprobe attach refusals it works around go through the
 * bpf syscall directly), so a normal run prints none.
 */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	log_vprint(level == LIBBPF_WARN ? BT_LOG_WARN : BT_LOG_DEBUG, fmt, ap);
	return 0;
}

/* Root, or at least the capabilities loading BPF and creating uprobes needs. */
static bool have_privileges(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f;

	if (geteuid() == 0)
		return true;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & (1ull << 21); /* CAP_SYS_ADMIN */
}

static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

int main(int argc, char **argv)
{
	static struct tracer_opts opts;
	const struct argp argp = {options, parse_arg, NULL, doc, NULL, NULL, NULL};
	struct sigaction sa = {.sa_handler = on_signal};
	int i, split = argc, err, status;

	/* `bedtrace report ...` has a command line of its own */
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			split = i;
			break;
		}
	}
	opts.max_body = BT_DEFAULT_MAX_BODY;
	/* an invalid command line exits 2, as the README and the unit's RestartPreventExitStatus
	 * say (argp's own default is 64) */
	argp_err_exit_status = 2;
	if (argp_parse(&argp, split, argv, 0, NULL, &opts))
		return 2;
	if (split < argc - 1)
		opts.command = &argv[split + 1];
	else if (split == argc - 1) {
		fprintf(stderr, "bedtrace: '--' must be followed by a command\n");
		return 2;
	}
	if (!opts.command && opts.n_pids == 0 && opts.n_exes == 0 && !opts.all) {
		fprintf(stderr, "bedtrace: nothing to trace: give -p PID, -- COMMAND, -e EXE or -a "
				"(see --help)\n");
		return 2;
	}
	if (!!opts.command + !!opts.n_pids + !!opts.n_exes + opts.all > 1) {
		fprintf(stderr, "bedtrace: use one of -p PID, -- COMMAND, -e EXE and -a\n");
		return 2;
	}
	if (opts.all && opts.n_specs) {
		fprintf(stderr, "bedtrace: -f needs -e EXE, -p PID or -- COMMAND: functions belong "
				"to a program, and -a selects every process\n");
		return 2;
	}
	if (opts.n_python && (opts.all || opts.n_exes)) {
		fprintf(stderr, "bedtrace: --python needs -p PID or -- COMMAND (the interpreters "
				"to sample)\n");
		return 2;
	}
	if (opts.sample_hz && !opts.n_python) {
		fprintf(stderr, "bedtrace: --sample-hz goes with --python GLOB\n");
		return 2;
	}
	if ((opts.n_exclude_exes || opts.n_exclude_pids) && !opts.all && !opts.n_exes) {
		fprintf(stderr, "bedtrace: --exclude-exe and --exclude-pid go with -a or -e\n");
		return 2;
	}
	if (opts.no_tls && opts.no_sockets && opts.n_specs == 0 && opts.n_python == 0) {
		fprintf(stderr, "bedtrace: --no-tls and --no-sockets without -f leave nothing to "
				"trace; add -f SPEC\n");
		return 2;
	}
	log_set_level(opts.verbose ? BT_LOG_DEBUG : BT_LOG_INFO);
	if (!have_privileges()) {
		fprintf(stderr,
			"bedtrace: must run as root (loading BPF and uprobes needs "
			"CAP_SYS_ADMIN, CAP_BPF and CAP_PERFMON); try: sudo %s ...\n",
			argv[0]);
		return 1;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	libbpf_set_print(libbpf_log);
	raise_fd_limit();

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	opts.reopen = &reopen_output;

	err = tracer_run(&opts, &exiting, &status);
	for (i = 0; i < (int)opts.n_specs; i++)
		func_spec_free(&opts.specs[i]);
	return err ? 1 : status;
}
