/* SPDX-License-Identifier: MIT */
/*
 * Function probes: owns the functrace BPF object, turns -f SPECs into uprobe/uretprobe attach
 * points in each target (one uprobe_multi link per object and direction), the helper probes that
 * keep C++ exceptions and longjmp working, and the table that maps a probe id (BPF cookie) back
 * to the function it names.
 */
#ifndef BT_FUNCTRACE_H
#define BT_FUNCTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bedtrace.h"
#include "target.h"

struct func_tracer;

struct probe_info {
	char *name;   /* span name: demangled symbol */
	char *symbol; /* raw symbol name */
	char *object; /* object path as the target sees it */
	uint64_t offset;
};

/* A parsed -f SPEC: [OBJECT:]GLOB. */
struct func_spec {
	char *object; /* NULL: the main executable */
	char *glob;
};

/* Splits @spec into object and glob ("ns::Cls::*" has no object). Returns 0 or -EINVAL/-ENOMEM. */
int func_spec_parse(const char *spec, struct func_spec *out);
void func_spec_free(struct func_spec *s);

/*
 * Opens and loads the BPF object. @stop_pid: launch mode process to stop at its entry point (0:
 * none). @ring_bytes: size of the event ring buffer it creates (a power of two). Returns NULL +
 * errno.
 */
struct func_tracer *functrace_load(uint32_t stop_pid, uint32_t ring_bytes);
void functrace_destroy(struct func_tracer *ft);
int functrace_events_fd(const struct func_tracer *ft);
int functrace_counters_fd(const struct func_tracer *ft);
int functrace_stacks_fd(const struct func_tracer *ft);
int functrace_zero_stack_fd(const struct func_tracer *ft);

/*
 * Resolves every spec in target @t and attaches entry/return probes. Prints one error line and
 * returns -ENOENT when a spec matches nothing (with the closest names), -errno on other failures.
 * @need_mapped: library specs must already be mapped in the target (not the case before exec).
 */
int functrace_attach_specs(struct func_tracer *ft, struct target *t, const struct func_spec *specs,
			   size_t n_specs);
/* Probes that keep unwinding correct (C++ exceptions, longjmp) in every object @t maps. */
int functrace_attach_unwind(struct func_tracer *ft, struct target *t);
/* Launch mode: uprobe at the entry point of @t's executable that stops it (SIGSTOP). */
int functrace_attach_entry_stop(struct func_tracer *ft, struct target *t);
void functrace_detach_entry_stop(struct func_tracer *ft);
/* Removes every probe (maps stay readable). */
void functrace_detach_all(struct func_tracer *ft);

/*
 * Carries out a BT_EV_UNWIND request: rewrites the return-address slots that still hold the
 * expected value, then resumes the stopped process. Returns slots written or -errno.
 */
int functrace_apply_unwind(const struct bt_unwind_event *e);

/* Returns the probe behind cookie @id or NULL. Owned by @ft. */
const struct probe_info *functrace_probe(const struct func_tracer *ft, uint32_t id);
size_t functrace_n_probes(const struct func_tracer *ft);
size_t functrace_n_links(const struct func_tracer *ft);

#endif
