/* SPDX-License-Identifier: MIT */
/*
 * One tracing session: options from the command line, targets, BPF objects, the event loop and
 * the orderly shutdown that closes and flushes every span.
 */
#ifndef BT_TRACER_H
#define BT_TRACER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/functrace.h"
#include "span/pysample.h"

#define TRACER_MAX_PIDS 64
#define TRACER_MAX_SPECS 256
#define TRACER_MAX_EXES 64

struct tracer_opts {
	pid_t pids[TRACER_MAX_PIDS];
	size_t n_pids;
	struct func_spec specs[TRACER_MAX_SPECS];
	size_t n_specs;
	char **command;			   /* argv after --, NULL-terminated */
	const char *exes[TRACER_MAX_EXES]; /* -e: every process running one of these files */
	size_t n_exes;
	bool all;				/* -a: TLS and socket HTTP of every process */
	const char *python[PYSAMPLE_MAX_GLOBS]; /* --python: sampled Python functions */
	size_t n_python;
	unsigned sample_hz; /* --sample-hz; 0: the default */
	const char *exclude_exes[TRACER_MAX_EXES];
	size_t n_exclude_exes;
	pid_t exclude_pids[TRACER_MAX_PIDS];
	size_t n_exclude_pids;
	uint32_t ring_size; /* --ring-size, 0: default */
	const char *output;
	const char *otlp_endpoint;
	const char *service_name;
	const char *prices;
	const char *dump_dir;
	const char *spool_dir;	       /* --spool-dir: on-disk queue for the collector */
	unsigned long long spool_max;  /* --spool-max bytes; 0: the default (1 GiB) */
	const char *metrics_output;    /* --metrics-output FILE */
	const char *logs_output;       /* --logs-output FILE */
	const char *prometheus;	       /* --prometheus [ADDR:]PORT */
	unsigned metrics_interval_ms;  /* --metrics-interval; 0: environment, else 60 s */
	volatile sig_atomic_t *reopen; /* set on SIGHUP: reopen the output files (logrotate) */
	size_t max_body;
	bool no_tls;
	bool no_sockets;
	bool capture_content;
	bool no_follow; /* do not trace forked children and exec'd programs */
	bool verbose;
	int duration_s;
};

/*
 * Runs a session until targets exit, *@stop is set or the duration ends. Returns 0 or -errno
 * (the cause already printed as one line). On 0, *@exit_status is what bedtrace should exit
 * with: 3 when spans did not reach a destination, else a launched command's own status
 * (128 + signal if it was killed), else 0.
 */
int tracer_run(const struct tracer_opts *opts, volatile sig_atomic_t *stop, int *exit_status);

#endif
