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
#include <sys/types.h>

#include "bedtrace.h"
#include "probe/shared_maps.h"
#include "probe/target.h"

struct func_tracer;
struct sw_tally;

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
 * Opens and loads the BPF object, sharing @maps (shared_maps.h: reuses those there, adds those it
 * creates). @stop_pid: launch mode process to stop at its entry point (0: none). @ring_bytes: size
 * of the event ring buffer when it creates it (a power of two). @follow: followed processes that
 * exec are stopped before the new program runs (BT_EV_EXEC status 1). @funcs: -f SPECs will be
 * attached (without, their programs are not loaded: functrace_attach_specs/_unwind must not be
 * called). Returns NULL + errno.
 */
struct func_tracer *functrace_load(struct bt_shared_maps *maps, uint32_t stop_pid,
				   uint32_t ring_bytes, bool follow, bool funcs);
/*
 * Writes the next slice (1 MiB) of the event ring buffer's pages, so that the first events do not
 * pay a page fault each inside the traced process (where guest memory is backed lazily, ~14 us
 * per 16 KiB chunk). The records it writes are discarded ones, which the caller's ring reader
 * skips; it must read the ring between two calls. A slice is skipped while real events fill more
 * than an eighth of the ring, and pre-faulting gives up after a bounded number of calls. Returns
 * true while slices remain.
 */
bool functrace_prefault_step(struct func_tracer *ft);
/* Adds the time spent reading each object file's symbols to @t, by path (NULL: stops), for -v. */
void functrace_time_symbols(struct func_tracer *ft, struct sw_tally *t);
/* Forked children of followed processes are held until probed (syscap stops them: call once it
 * is loaded with the procs map). */
void functrace_hold_forks(struct func_tracer *ft);
void functrace_destroy(struct func_tracer *ft);
int functrace_events_fd(const struct func_tracer *ft);
int functrace_counters_fd(const struct func_tracer *ft);
/* The per-thread stacks map (task storage: shared with tlscap and syscap, not listable). */
int functrace_stacks_fd(const struct func_tracer *ft);
/* The dump_stacks iterator program that reads the stacks for userspace (probe/stack_dump.h). */
int functrace_stacks_iter_fd(const struct func_tracer *ft);

/*
 * Resolves every spec in target @t and attaches entry/return probes (Go objects: entry probes and
 * a probe on each return instruction). A function whose first instruction uprobes refuse gets its
 * entry probe on a later instruction when that is safe, else it is left out (one line says how
 * many and why). Prints one error line and returns -ENOENT when a spec matches nothing (with the
 * closest names), -errno on other failures. @optional (followed children, exec'd programs): a
 * spec that matches nothing there is skipped quietly. An object a spec was already attached to in
 * @t is not attached twice.
 */
int functrace_attach_specs(struct func_tracer *ft, struct target *t, const struct func_spec *specs,
			   size_t n_specs, bool optional);
/*
 * Probes that keep unwinding correct (C++ exceptions, longjmp) in every object @t maps that was
 * not examined before (call again after the process maps new code). Call before any uretprobe
 * is armed in @t. Returns the number of helper functions probed or -errno.
 */
int functrace_attach_unwind(struct func_tracer *ft, struct target *t);
/* Forgets which objects of process @pid were examined (it exited or executed a new program). */
void functrace_forget_process(struct func_tracer *ft, pid_t pid);
/* Launch mode: uprobe at the entry point of @t's executable that stops it (SIGSTOP). */
int functrace_attach_entry_stop(struct func_tracer *ft, struct target *t);
void functrace_detach_entry_stop(struct func_tracer *ft);
/*
 * Tells BPF that process @pid is traced (@flags: enum bt_proc_flags): its exit (BT_EV_EXIT with
 * the wait status), exec (BT_EV_EXEC) and, with BT_PROC_FOLLOW, forks (BT_EV_FORK) are reported.
 * Returns 0 or -errno.
 */
int functrace_add_proc(struct func_tracer *ft, pid_t pid, uint32_t flags);
/*
 * -a: the path of the executable process @pid ran last, as BPF read it when it executed it (for
 * a process gone before /proc could be read), into @buf. Returns its length or -errno (-ENOENT:
 * none kept).
 */
int functrace_exe_path(const struct func_tracer *ft, pid_t pid, char *buf, size_t len);
/* Removes process @pid from the procs map. */
void functrace_remove_proc(struct func_tracer *ft, pid_t pid);
/* Process @pid, which BPF held (BT_PROC_HELD), was resumed: the watchdog need not. */
void functrace_resumed(struct func_tracer *ft, pid_t pid);
int functrace_go_stacks_fd(const struct func_tracer *ft);
/* Removes the SPECs' probes (entry and return), keeping the unwind helpers. */
void functrace_detach_probes(struct func_tracer *ft);
/* Removes every probe, the unwind helpers last (maps stay readable). */
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
