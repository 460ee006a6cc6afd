// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probe/elf_cache.h"
#include "probe/elf_sym.h"
#include "probe/fdclose.h"
#include "probe/functrace.h"
#include "probe/select.h"
#include "functrace.skel.h"
#include "util/grow.h"
#include "util/log.h"
#include "util/stopwatch.h"
#include "probe/symmatch.h"
#include "probe/uprobe_multi.h"
#include "probe/x86_insn.h"

struct fd_vec {
	int *fds;
	size_t n, cap;
};

/* An object of a process already examined: for unwind helpers (spec 0) or SPEC spec - 1. */
struct unwind_obj {
	pid_t pid;
	dev_t dev;
	ino_t ino;
	size_t spec;
};

struct func_tracer {
	struct functrace *skel;
	struct probe_info *probes;
	size_t n_probes, cap_probes;
	struct fd_vec links;   /* uprobe_multi links of the SPECs' functions */
	struct fd_vec helpers; /* uprobe_multi links of the unwind helpers */
	struct bpf_link *entry_stop;
	struct unwind_obj *uobjs; /* objects whose unwind helpers are attached, per process */
	size_t n_uobjs, cap_uobjs;
	struct bpf_link *exit_link; /* sched_process_exit: calls cut by thread/process exit */
	struct bpf_link *exec_link; /* sched_process_exec: calls cut by exec; exec reported */
	struct bpf_link *prepare_exec_link; /* sched_prepare_exec (6.10+): when the exec began */
	struct bpf_link *fork_link;	    /* sched_process_fork: children of followed processes */
	uint32_t ring_bytes;
	uint64_t prefault_left;	  /* bytes of the event ring still to pre-fault */
	unsigned prefault_runs;	  /* pre-fault runs left before giving up */
	struct sw_tally *symbols; /* time reading symbols, by object file (-v) */
	uint64_t link_ns;	  /* time creating unwind-helper links, taken out of it */
	bool per_file; /* -e: links are per file, for every process mapping it (BPF filters) */
	unsigned select_mode;
};

int func_spec_parse(const char *spec, struct func_spec *out)
{
	const char *p, *sep = NULL;

	memset(out, 0, sizeof(*out));
	if (!spec || !*spec)
		return -EINVAL;
	/* the object separator is a lone ':'; "::" belongs to C++ names */
	for (p = spec; *p; p++) {
		if (*p != ':')
			continue;
		if (p[1] == ':') {
			p++;
			continue;
		}
		sep = p;
		break;
	}
	if (sep) {
		if (sep == spec || !sep[1])
			return -EINVAL;
		out->object = strndup(spec, (size_t)(sep - spec));
		out->glob = strdup(sep + 1);
	} else {
		out->glob = strdup(spec);
	}
	if (!out->glob || (sep && !out->object)) {
		func_spec_free(out);
		return -ENOMEM;
	}
	return 0;
}

void func_spec_free(struct func_spec *s)
{
	free(s->object);
	free(s->glob);
	s->object = s->glob = NULL;
}

bool functrace_prefault_step(struct func_tracer *ft)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint64_t wrote;
	int err;

	if (!ft->prefault_left)
		return false;
	err = bpf_prog_test_run_opts(bpf_program__fd(ft->skel->progs.ring_prefault), &opts);
	if (err) {
		/* a failure costs only early latency, so it is not an error */
		pr_debug("ring buffer pre-faulting stopped: %s\n", strerror(-err));
		ft->prefault_left = 0;
		return false;
	}
	wrote = (uint64_t)opts.retval * BT_PREFAULT_REC;
	ft->prefault_left = wrote < ft->prefault_left ? ft->prefault_left - wrote : 0;
	/* a ring kept busy by real events gets its pages written by them: not tried for ever */
	if (ft->prefault_left && !--ft->prefault_runs) {
		pr_debug("ring buffer pre-faulting given up, %llu KiB left: the ring stays busy\n",
			 (unsigned long long)ft->prefault_left >> 10);
		ft->prefault_left = 0;
	} else if (!ft->prefault_left) {
		pr_debug("ring buffer pre-faulted: %u MiB\n", ft->ring_bytes >> 20);
	}
	return ft->prefault_left != 0;
}

/* Leaves unloaded the programs only -f SPECs attach. */
static void skip_func_progs(struct functrace *skel)
{
	struct bpf_program *progs[] = {
	    skel->progs.func_entry,    skel->progs.func_return,	 skel->progs.go_entry,
	    skel->progs.go_return,     skel->progs.unwind_raise, skel->progs.unwind_catch,
	    skel->progs.longjmp_entry,
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		bpf_program__set_autoload(progs[i], false);
}

struct func_tracer *functrace_load(struct bt_shared_maps *maps, uint32_t stop_pid,
				   uint32_t ring_bytes, bool follow, bool funcs)
{
	struct func_tracer *ft = calloc(1, sizeof(*ft));
	int err;

	if (!ft)
		return NULL;
	ft->skel = functrace__open();
	if (!ft->skel) {
		err = -errno;
		goto fail;
	}
	ft->per_file = maps->select_mode != BT_SELECT_PIDS;
	ft->select_mode = maps->select_mode;
	ft->skel->rodata->stop_pid = stop_pid;
	ft->skel->rodata->select_mode = maps->select_mode;
	/* -e: a process that executes a selected file meets the probes on it already */
	ft->skel->rodata->hold_exec = follow && !ft->per_file;
	err = bpf_map__set_max_entries(ft->skel->maps.events, ring_bytes);
	/* -a: a process's path is read at most once, soon after it ran or ended */
	err = err
		  ?: bpf_map__set_max_entries(ft->skel->maps.exe_paths,
					      maps->select_mode == BT_SELECT_ALL ? 4096 : 1);
	if (err)
		goto fail;
	err = shared_maps_reuse(maps, ft->skel->obj);
	if (err)
		goto fail;
	uprobe_multi_prepare(ft->skel->progs.func_entry);
	uprobe_multi_prepare(ft->skel->progs.func_return);
	uprobe_multi_prepare(ft->skel->progs.unwind_raise);
	uprobe_multi_prepare(ft->skel->progs.unwind_catch);
	uprobe_multi_prepare(ft->skel->progs.longjmp_entry);
	uprobe_multi_prepare(ft->skel->progs.go_entry);
	uprobe_multi_prepare(ft->skel->progs.go_return);
	/* what only launch mode or function probes attach is not loaded (nor verified) without */
	bpf_program__set_autoload(ft->skel->progs.entry_stop, stop_pid != 0);
	if (!funcs)
		skip_func_progs(ft->skel);
	/* before 6.10, an exec is dated when the new program is in place */
	bpf_program__set_autoload(
	    ft->skel->progs.proc_prepare_exec,
	    libbpf_find_vmlinux_btf_id("sched_prepare_exec", BPF_TRACE_RAW_TP) > 0);
	err = functrace__load(ft->skel);
	if (err)
		goto fail;
	shared_maps_publish(maps, ft->skel->obj);
	/* one run more than the ring holds: the last records wrap onto the first pages written */
	ft->ring_bytes = ring_bytes;
	ft->prefault_left = (uint64_t)ring_bytes + BT_PREFAULT_REC * BT_PREFAULT_PER_RUN;
	ft->prefault_runs = 4 * (ring_bytes / (BT_PREFAULT_REC * BT_PREFAULT_PER_RUN) + 1);
	if (bpf_program__autoload(ft->skel->progs.proc_prepare_exec)) {
		ft->prepare_exec_link = bpf_program__attach(ft->skel->progs.proc_prepare_exec);
		if (!ft->prepare_exec_link)
			pr_debug("exec dated when the new program is in place: sched_prepare_exec: "
				 "%s\n",
				 strerror(errno));
	}
	ft->exit_link = bpf_program__attach(ft->skel->progs.thread_exit);
	ft->exec_link = ft->exit_link ? bpf_program__attach(ft->skel->progs.proc_exec) : NULL;
	ft->fork_link = ft->exec_link ? bpf_program__attach(ft->skel->progs.proc_fork) : NULL;
	if (!ft->fork_link) {
		err = -errno;
		goto fail;
	}
	return ft;
fail:
	functrace_destroy(ft);
	errno = -err;
	return NULL;
}

void functrace_detach_probes(struct func_tracer *ft)
{
	/* links go in any order: a return seen after its entry's link went is not a loss */
	ft->skel->bss->detaching = true;
	/* each link's release waits out grace periods: released together, they share them */
	fds_close_concurrently(ft->links.fds, ft->links.n);
	ft->links.n = 0;
}

void functrace_detach_all(struct func_tracer *ft)
{
	functrace_detach_probes(ft);
	/* the unwind helpers go last: an exception may still meet a trampoline until then */
	fds_close_concurrently(ft->helpers.fds, ft->helpers.n);
	ft->helpers.n = 0;
	functrace_detach_entry_stop(ft);
}

void functrace_destroy(struct func_tracer *ft)
{
	size_t i;

	if (!ft)
		return;
	functrace_detach_all(ft);
	bpf_link__destroy(ft->exit_link);
	bpf_link__destroy(ft->exec_link);
	bpf_link__destroy(ft->prepare_exec_link);
	bpf_link__destroy(ft->fork_link);
	functrace__destroy(ft->skel);
	for (i = 0; i < ft->n_probes; i++) {
		free(ft->probes[i].name);
		free(ft->probes[i].symbol);
		free(ft->probes[i].object);
	}
	free(ft->probes);
	free(ft->uobjs);
	free(ft->links.fds);
	free(ft->helpers.fds);
	free(ft);
}

int functrace_events_fd(const struct func_tracer *ft)
{
	return bpf_map__fd(ft->skel->maps.events);
}

int functrace_counters_fd(const struct func_tracer *ft)
{
	return bpf_map__fd(ft->skel->maps.counters);
}

int functrace_stacks_fd(const struct func_tracer *ft)
{
	return bpf_map__fd(ft->skel->maps.stacks);
}

int functrace_stacks_iter_fd(const struct func_tracer *ft)
{
	return bpf_program__fd(ft->skel->progs.dump_stacks);
}

int functrace_add_proc(struct func_tracer *ft, pid_t pid, uint32_t flags)
{
	__u32 key = (__u32)pid, val = flags;

	return bpf_map_update_elem(bpf_map__fd(ft->skel->maps.procs), &key, &val, BPF_ANY) ? -errno
											   : 0;
}

void functrace_remove_proc(struct func_tracer *ft, pid_t pid)
{
	__u32 key = (__u32)pid;

	bpf_map_delete_elem(bpf_map__fd(ft->skel->maps.procs), &key);
}

void functrace_resumed(struct func_tracer *ft, pid_t pid)
{
	int fd = bpf_map__fd(ft->skel->maps.procs);
	__u32 key = (__u32)pid, val;

	if (bpf_map_lookup_elem(fd, &key, &val) || !(val & BT_PROC_HELD))
		return;
	val &= ~BT_PROC_HELD;
	/* -a: an entry that only said "held" has said it */
	if (!val && ft->select_mode == BT_SELECT_ALL)
		bpf_map_delete_elem(fd, &key);
	else
		bpf_map_update_elem(fd, &key, &val, BPF_EXIST);
}

int functrace_exe_path(const struct func_tracer *ft, pid_t pid, char *buf, size_t len)
{
	struct bt_exe_path p;
	__u32 key = (__u32)pid;

	if (bpf_map_lookup_elem(bpf_map__fd(ft->skel->maps.exe_paths), &key, &p))
		return -errno;
	return select_exe_path_decode(&p, buf, len);
}

/* Adds @flags to the procs entry of @pid if it has one still (it goes when the process ends). */
static int proc_add_flags(struct func_tracer *ft, pid_t pid, uint32_t flags)
{
	int fd = bpf_map__fd(ft->skel->maps.procs);
	__u32 key = (__u32)pid, val;

	if (bpf_map_lookup_elem(fd, &key, &val))
		return errno == ENOENT ? 0 : -errno;
	val |= flags;
	if (bpf_map_update_elem(fd, &key, &val, BPF_EXIST) && errno != ENOENT)
		return -errno;
	return 0;
}

void functrace_time_symbols(struct func_tracer *ft, struct sw_tally *t)
{
	ft->symbols = t;
}

void functrace_hold_forks(struct func_tracer *ft)
{
	/* per file, a forked child meets the probes of its parent's files already */
	ft->skel->bss->hold_forks = !ft->per_file;
}

int functrace_go_stacks_fd(const struct func_tracer *ft)
{
	return bpf_map__fd(ft->skel->maps.go_stacks);
}

const struct probe_info *functrace_probe(const struct func_tracer *ft, uint32_t id)
{
	return id < ft->n_probes ? &ft->probes[id] : NULL;
}

size_t functrace_n_probes(const struct func_tracer *ft)
{
	return ft->n_probes;
}

size_t functrace_n_links(const struct func_tracer *ft)
{
	return ft->links.n + ft->helpers.n;
}

static int add_probe(struct func_tracer *ft, const struct elf_sym *s, const char *object,
		     uint64_t offset, uint32_t *id)
{
	struct probe_info *p;
	size_t i;

	for (i = 0; i < ft->n_probes; i++) {
		if (ft->probes[i].offset == offset && strcmp(ft->probes[i].object, object) == 0) {
			*id = (uint32_t)i;
			return 0;
		}
	}
	if (grow(&ft->probes, &ft->cap_probes, ft->n_probes + 1, sizeof(*ft->probes)))
		return -ENOMEM;
	p = &ft->probes[ft->n_probes];
	p->name = strdup(sym_display_name(s));
	p->symbol = strdup(s->name);
	p->object = strdup(object);
	p->offset = offset;
	if (!p->name || !p->symbol || !p->object) {
		free(p->name);
		free(p->symbol);
		free(p->object);
		return -ENOMEM;
	}
	*id = (uint32_t)ft->n_probes++;
	return 0;
}

static int fdv_push(struct fd_vec *v, int fd)
{
	if (grow(&v->fds, &v->cap, v->n + 1, sizeof(*v->fds)))
		return -ENOMEM;
	v->fds[v->n++] = fd;
	return 0;
}

static int keep_link_fd(struct func_tracer *ft, int fd)
{
	return fdv_push(&ft->links, fd);
}

/* The process a link of @ft serves: @pid, or every process (0) when links are per file. */
static pid_t link_pid(const struct func_tracer *ft, pid_t pid)
{
	return ft->per_file ? 0 : pid;
}

/* Where @spec's object lives in @t: its path as the target sees it. */
static int spec_object(const struct func_spec *spec, struct target *t, char **target_path,
		       bool quiet)
{
	struct target_map *maps = NULL;
	const char *found;
	size_t n = 0;
	int err;

	if (!spec->object) {
		*target_path = strdup(t->exe);
		return *target_path ? 0 : -ENOMEM;
	}
	err = target_read_maps(t->pid, &maps, &n);
	if (err)
		return err;
	found = target_maps_find(maps, n, spec->object);
	if (found) {
		*target_path = strdup(found);
		err = *target_path ? 0 : -ENOMEM;
	} else if (strchr(spec->object, '/')) {
		/* not mapped (yet): a path is still probed; the kernel arms it when it is mapped */
		*target_path = strdup(spec->object);
		err = *target_path ? 0 : -ENOMEM;
	} else {
		if (!quiet)
			pr_warn("%s: no object named '%s' is mapped in process %d; give its path "
				"instead (-f /path/to/%s.so:GLOB)\n",
				spec->object, spec->object, (int)t->pid, spec->object);
		err = -ENOENT;
	}
	target_maps_free(maps, n);
	return err;
}

/* @path: the file @f was read from for this process (f->path may be another process's). */
static void report_no_match(struct elf_file *f, const char *path, const struct func_spec *spec,
			    pid_t pid)
{
	const char *near[5];
	size_t n, i;
	char list[512] = "";

	/* only on a miss: what follows looks at every function */
	if (elf_file_load(f))
		pr_debug("%s: out of memory reading its functions\n", path);
	if (f->stripped && f->n_syms == 0) {
		pr_warn("%s: '%s' is stripped (no symbol table) and exports no functions; cannot "
			"resolve '%s'\n",
			spec->glob, path, spec->glob);
		return;
	}
	if (sym_count_fragments(f, spec->glob)) {
		pr_warn("'%s' matches only compiler fragments in %s (split-off cold code that is "
			"jumped to, never called, so it cannot be traced); name the functions they "
			"belong to\n",
			spec->glob, path);
		return;
	}
	n = sym_suggest(f, spec->glob, near, 5);
	for (i = 0; i < n; i++) {
		strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
		strncat(list, near[i], sizeof(list) - strlen(list) - 1);
	}
	pr_warn("no function matches '%s%s%s' in %s (process %d)%s%s%s\n",
		spec->object ? spec->object : "", spec->object ? ":" : "", spec->glob, path,
		(int)pid, f->stripped ? " [stripped: only exported functions are visible]" : "",
		n ? "; closest: " : "", list);
}

/* Remembers @key; returns true if it was remembered already. */
static bool obj_seen(struct func_tracer *ft, const struct unwind_obj *key)
{
	size_t i;

	for (i = 0; i < ft->n_uobjs; i++)
		if (ft->uobjs[i].pid == key->pid && ft->uobjs[i].dev == key->dev &&
		    ft->uobjs[i].ino == key->ino && ft->uobjs[i].spec == key->spec)
			return true;
	/* out of memory: examined again next time, which only costs time */
	if (grow(&ft->uobjs, &ft->cap_uobjs, ft->n_uobjs + 1, sizeof(*ft->uobjs)))
		return false;
	ft->uobjs[ft->n_uobjs++] = *key;
	return false;
}

/* Growable arrays of probe offsets and their cookies (probe ids). */
struct offs_vec {
	uint64_t *off, *cookie;
	size_t n, cap;
};

static int offs_push(struct offs_vec *v, uint64_t off, uint64_t cookie)
{
	size_t cap = v->cap;

	/* two arrays, one capacity: the second grows to what the first got */
	if (grow(&v->off, &cap, v->n + 1, sizeof(*v->off)) ||
	    grow(&v->cookie, &v->cap, cap, sizeof(*v->cookie)))
		return -ENOMEM;
	v->off[v->n] = off;
	v->cookie[v->n++] = cookie;
	return 0;
}

static void offs_free(struct offs_vec *v)
{
	free(v->off);
	free(v->cookie);
	memset(v, 0, sizeof(*v));
}

/* Why functions matching a SPEC were left out, counted for one line on stderr. */
struct left_out {
	size_t n;
	const char *why; /* the first reason met */
};

static void leave_out(struct left_out *lo, const char *name, const char *why)
{
	if (!lo->n++)
		lo->why = why;
	pr_debug("left out %s: %s\n", name, why);
}

/* True for the kernel's "this instruction cannot be probed" (ENOTSUPP, not in userspace errno.h).
 */
static bool refused_by_kernel(int err)
{
	return err == -524 || err == -EINVAL;
}

/*
 * Links @prog at offsets [@lo, @hi) of @v in @host for @pid (return probes if @ret). When the
 * kernel refuses an offset the decoder accepted, halves the range until the refused offsets are
 * alone, leaving them out (their cookie becomes UINT64_MAX). Returns 0 or -errno.
 */
static int link_range(struct func_tracer *ft, struct bpf_program *prog, const char *host,
		      struct offs_vec *v, size_t lo, size_t hi, bool ret, pid_t pid,
		      struct left_out *out)
{
	size_t mid;
	int fd, err;

	while (lo < hi && v->cookie[lo] == UINT64_MAX)
		lo++;
	if (lo >= hi)
		return 0;
	fd = uprobe_multi_link(prog, host, v->off + lo, v->cookie + lo, hi - lo, ret, pid);
	if (fd >= 0) {
		err = keep_link_fd(ft, fd);
		if (err)
			close(fd);
		return err;
	}
	if (!refused_by_kernel(fd))
		return fd;
	if (hi - lo == 1) {
		const struct probe_info *p = functrace_probe(ft, (uint32_t)v->cookie[lo]);

		leave_out(out, p ? p->name : "?", "the kernel refused the probe");
		v->cookie[lo] = UINT64_MAX;
		return 0;
	}
	mid = lo + (hi - lo) / 2;
	err = link_range(ft, prog, host, v, lo, mid, ret, pid, out);
	return err ? err : link_range(ft, prog, host, v, mid, hi, ret, pid, out);
}

/* Drops the entries link_range left out, so the return links use the same offsets. */
static void offs_compact(struct offs_vec *v)
{
	size_t i, k = 0;

	for (i = 0; i < v->n; i++) {
		if (v->cookie[i] == UINT64_MAX)
			continue;
		v->off[k] = v->off[i];
		v->cookie[k++] = v->cookie[i];
	}
	v->n = k;
}

/* Keeps in @v only the entries whose probe id (cookie, < @n_ids) is still in @ids. 0/-ENOMEM */
static int offs_keep_ids(struct offs_vec *v, const struct offs_vec *ids, size_t n_ids)
{
	bool *live = calloc(n_ids ? n_ids : 1, sizeof(*live));
	size_t i;

	if (!live)
		return -ENOMEM;
	for (i = 0; i < ids->n; i++)
		if (ids->cookie[i] < n_ids)
			live[ids->cookie[i]] = true;
	for (i = 0; i < v->n; i++)
		if (v->cookie[i] >= n_ids || !live[v->cookie[i]])
			v->cookie[i] = UINT64_MAX;
	free(live);
	offs_compact(v);
	return 0;
}

/* The object file mapped read-only, to read machine code from. */
struct code_map {
	const uint8_t *base;
	size_t len;
};

static int code_map_open(const char *host, struct code_map *m)
{
	struct stat st;
	int fd, err = 0;

	m->base = NULL;
	m->len = 0;
	fd = open(host, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
	} else if (st.st_size > 0) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED) {
			err = -errno;
		} else {
			m->base = p;
			m->len = (size_t)st.st_size;
		}
	}
	close(fd);
	return err;
}

static void code_map_close(struct code_map *m)
{
	if (m->base)
		munmap((void *)m->base, m->len);
	m->base = NULL;
}

/* The bytes of @s's body in @m (clipped to the file; a symbol without a size gets 64 bytes). */
static const uint8_t *sym_code(const struct code_map *m, const struct elf_sym *s, size_t *len)
{
	size_t want = s->size ? (size_t)s->size : 64;

	if (!m->base || s->offset >= m->len)
		return NULL;
	*len = m->len - s->offset < want ? m->len - s->offset : want;
	return m->base + s->offset;
}

#define GO_MAX_RETS 256

/*
 * Plans the probes of one matched function: where its entry probe goes (after an instruction
 * uprobes refuse, when that is safe) and, for Go, each of its return instructions. Returns 0 with
 * *@entry set, 1 when the function is left out (@lo says why), -errno on failure.
 */
static int plan_function(const struct code_map *m, const struct elf_sym *s, bool go,
			 uint64_t *entry, uint64_t *rets, size_t *n_rets, struct left_out *lo,
			 const char *name)
{
	const char *why = NULL;
	const uint8_t *code;
	uint64_t skip = 0;
	bool ok[GO_MAX_RETS];
	size_t len = 0, i;
	int err;

	code = sym_code(m, s, &len);
	if (!code) {
		leave_out(lo, name, "its code is not in the file");
		return 1;
	}
	err = x86_entry_probe_offset(code, len, s->vaddr, 64, &skip, &why);
	if (err) {
		leave_out(lo, name, why ? why : "its first instruction cannot be probed");
		return 1;
	}
	if (skip)
		pr_debug("%s: entry probe %llu bytes in, past an instruction uprobes refuse\n",
			 name, (unsigned long long)skip);
	*entry = s->offset + skip;
	if (!go)
		return 0;
	/* Go: no uretprobes (the runtime moves goroutine stacks); a probe on each return */
	err = x86_find_returns(code, len, s->vaddr, rets, ok, GO_MAX_RETS, n_rets);
	if (err || !*n_rets) {
		leave_out(lo, name,
			  err == -E2BIG ? "too many return instructions"
			  : err		? "its code does not decode to its end"
					: "it has no return instruction");
		return 1;
	}
	for (i = 0; i < *n_rets; i++) {
		if (!ok[i]) {
			leave_out(lo, name, "a return instruction uprobes refuse");
			return 1;
		}
		rets[i] += s->offset;
	}
	return 0;
}

/* Remembers SPEC @spec attached in process @pid's object @st; returns true if it already was. */
static bool spec_seen(struct func_tracer *ft, pid_t pid, const struct stat *st, size_t spec)
{
	struct unwind_obj key = {link_pid(ft, pid), st->st_dev, st->st_ino, spec + 1};

	return obj_seen(ft, &key);
}

/*
 * Attaches the entry probes @ent of one object and their return probes (Go: the return
 * instructions in @rets; else uretprobes), leaving out of @ent (and @lo) the functions whose
 * entry the kernel refused. Returns 0 or -errno.
 */
static int attach_object(struct func_tracer *ft, const char *host, bool go, struct offs_vec *ent,
			 struct offs_vec *rets, pid_t pid, struct left_out *lo)
{
	struct bpf_program *entry = go ? ft->skel->progs.go_entry : ft->skel->progs.func_entry;
	int err;

	err = link_range(ft, entry, host, ent, 0, ent->n, false, pid, lo);
	offs_compact(ent);
	if (err)
		return err;
	if (!go)
		return link_range(ft, ft->skel->progs.func_return, host, ent, 0, ent->n, true, pid,
				  lo);
	/* a function whose entry the kernel refused gets no return probes either */
	err = offs_keep_ids(rets, ent, ft->n_probes);
	if (err)
		return err;
	return link_range(ft, ft->skel->progs.go_return, host, rets, 0, rets->n, false, pid, lo);
}

int functrace_attach_specs(struct func_tracer *ft, struct target *t, const struct func_spec *specs,
			   size_t n_specs, bool optional)
{
	size_t i, j, k, n_idx = 0, total = 0;
	struct offs_vec ent = {0}, rets = {0}, done = {0};
	struct code_map code = {0};
	struct elf_file *f = NULL;
	char *obj = NULL, *host = NULL;
	const struct elf_sym **found = NULL;
	bool any_go = false;
	uint64_t t_sym;
	int err = 0;

	for (i = 0; i < n_specs; i++) {
		struct left_out lo = {0};
		struct stat st;
		size_t matched = 0;

		err = spec_object(&specs[i], t, &obj, optional);
		if (err == -ENOENT && optional) {
			err = 0;
			goto next;
		}
		if (err)
			goto cleanup;
		host = specs[i].object || !t->exe_host ? target_host_path(t->pid, obj)
						       : strdup(t->exe_host);
		if (!host) {
			err = -ENOMEM;
			goto cleanup;
		}
		if (stat(host, &st)) {
			err = -errno;
			if (optional) {
				err = 0;
				goto next;
			}
			pr_warn("cannot read %s: %s\n", obj, strerror(-err));
			goto cleanup;
		}
		if (spec_seen(ft, t->pid, &st, i)) {
			/* per file: probed for an earlier process; a Go one still needs its flag */
			if (ft->per_file && elf_cache_get(host, &f) == 0)
				any_go = any_go || f->go;
			goto next;
		}
		t_sym = sw_now_ns();
		err = elf_cache_get(host, &f);
		if (err) {
			if (optional) {
				err = 0;
				goto next;
			}
			pr_warn("cannot read %s: %s\n", obj,
				err == -ENOEXEC ? "not a valid ELF object" : strerror(-err));
			goto cleanup;
		}
		err = sym_select(f, specs[i].glob, &found, &n_idx);
		if (err)
			goto cleanup;
		sw_tally_add(ft->symbols, obj, sw_now_ns() - t_sym);
		err = code_map_open(host, &code);
		if (err)
			pr_debug("cannot map %s to read its code: %s\n", host, strerror(-err));
		err = 0;
		for (j = 0; j < n_idx; j++) {
			const struct elf_sym *s = found[j];
			uint64_t entry, ret_offs[GO_MAX_RETS];
			size_t n_rets = 0;
			uint32_t id;
			bool dup = false;
			int r;

			if (s->ifunc || !s->offset)
				continue;
			matched++;
			r = plan_function(&code, s, f->go, &entry, ret_offs, &n_rets, &lo,
					  sym_display_name(s));
			if (r < 0) {
				err = r;
				goto cleanup;
			}
			if (r)
				continue;
			/* one probe per function, however many SPECs name it */
			for (k = 0; k < done.n; k++)
				dup = dup || (done.off[k] == entry && done.cookie[k] == st.st_ino);
			if (dup)
				continue;
			err = offs_push(&done, entry, st.st_ino);
			if (err)
				goto cleanup;
			err = add_probe(ft, s, obj, entry, &id);
			if (err)
				goto cleanup;
			err = offs_push(&ent, entry, id);
			if (err)
				goto cleanup;
			for (k = 0; k < n_rets; k++) {
				err = offs_push(&rets, ret_offs[k], id);
				if (err)
					goto cleanup;
			}
		}
		if (!matched) {
			if (optional)
				goto next;
			report_no_match(f, host, &specs[i], t->pid);
			err = -ENOENT;
			goto cleanup;
		}
		/* none left when all were probed for an earlier SPEC */
		err = ent.n ? attach_object(ft, host, f->go, &ent, &rets, link_pid(ft, t->pid), &lo)
			    : 0;
		any_go = any_go || (ent.n && f->go);
		if (err) {
			pr_warn("cannot attach %zu probe(s) to %s in process %d: %s\n", ent.n, obj,
				(int)t->pid, strerror(-err));
			goto cleanup;
		}
		if (lo.n)
			pr_info("%s%s%s: %zu of %zu function(s) left out in %s (%s%s)%s\n",
				specs[i].object ? specs[i].object : "", specs[i].object ? ":" : "",
				specs[i].glob, lo.n, matched, obj, lo.why,
				lo.n > 1 ? ", among others" : "",
				log_enabled(BT_LOG_DEBUG) ? "" : "; -v lists them");
		if (!ent.n && lo.n == matched && !optional) {
			pr_warn("nothing to probe for '%s' in %s\n", specs[i].glob, obj);
			err = -ENOENT;
			goto cleanup;
		}
		pr_debug("%s%s%s: %zu function(s) in %s%s\n",
			 specs[i].object ? specs[i].object : "", specs[i].object ? ":" : "",
			 specs[i].glob, ent.n, obj,
			 f->go ? " (Go: entry and return-instruction probes)" : "");
		total += ent.n;
	next:
		offs_free(&ent);
		offs_free(&rets);
		code_map_close(&code);
		free(found);
		free(obj);
		free(host);
		elf_cache_put(f);
		found = NULL;
		obj = host = NULL;
		f = NULL;
	}
	if (any_go && t->pid)
		err = proc_add_flags(ft, t->pid, BT_PROC_GO);
	pr_debug("process %d: %zu function(s) probed\n", (int)t->pid, total);
cleanup:
	offs_free(&ent);
	offs_free(&rets);
	offs_free(&done);
	code_map_close(&code);
	free(found);
	free(obj);
	free(host);
	elf_cache_put(f);
	return err;
}

/*
 * One uprobe_multi link of @prog on every function of @names that @f defines, for process @pid.
 * Returns the number of functions probed or -errno.
 */
static int attach_helpers(struct func_tracer *ft, struct bpf_program *prog, const char *host,
			  struct elf_file *f, const char *const *names, pid_t pid)
{
	uint64_t offs[8], t0;
	size_t i, k, n = 0;
	int fd, err;

	for (i = 0; names[i] && n < sizeof(offs) / sizeof(offs[0]); i++) {
		const struct elf_sym *s = NULL;
		size_t n_s = 0, j = 0;

		/* the first definition in f->syms order that has an offset */
		if (elf_file_named(f, names[i], &s, &n_s))
			return -ENOMEM;
		while (j < n_s && !s[j].offset)
			j++;
		if (j < n_s) {
			bool dup = false;

			for (k = 0; k < n; k++)
				dup = dup || offs[k] == s[j].offset;
			if (!dup)
				offs[n++] = s[j].offset;
		}
	}
	if (!n)
		return 0;
	t0 = sw_now_ns();
	fd = uprobe_multi_link(prog, host, offs, NULL, n, false, link_pid(ft, pid));
	ft->link_ns += sw_now_ns() - t0;
	if (fd < 0) {
		pr_warn("process %d: cannot probe %s in %s: %s\n", (int)pid, names[0], host,
			strerror(-fd));
		return fd;
	}
	err = fdv_push(&ft->helpers, fd);
	if (err) {
		close(fd);
		return err;
	}
	return (int)n;
}

/* Remembers that process @pid's object @st was examined; returns true if it already was. */
static bool unwind_seen(struct func_tracer *ft, pid_t pid, const struct stat *st)
{
	struct unwind_obj key = {link_pid(ft, pid), st->st_dev, st->st_ino, 0};

	return obj_seen(ft, &key);
}

void functrace_forget_process(struct func_tracer *ft, pid_t pid)
{
	size_t i, k = 0;

	for (i = 0; i < ft->n_uobjs; i++)
		if (ft->uobjs[i].pid != pid)
			ft->uobjs[k++] = ft->uobjs[i];
	ft->n_uobjs = k;
}

int functrace_attach_unwind(struct func_tracer *ft, struct target *t)
{
	static const char *const raise[] = {"_Unwind_RaiseException", "_Unwind_Resume_or_Rethrow",
					    "_Unwind_ForcedUnwind", NULL};
	static const char *const catch[] = {"__cxa_begin_catch", NULL};
	static const char *const jumps[] = {"longjmp", "_longjmp", "siglongjmp", "__longjmp_chk",
					    NULL};
	struct target_map *maps = NULL;
	size_t n = 0, i;
	uint64_t t0, link_ns;
	int err, found = 0;

	err = target_read_maps(t->pid, &maps, &n);
	if (err)
		return err;
	for (i = 0; i < n && !err; i++) {
		struct elf_file *f = NULL;
		struct stat st;
		char *host;
		int r[3];

		if (!maps[i].path || !maps[i].exec)
			continue;
		host = target_host_path(t->pid, maps[i].path);
		if (!host) {
			err = -ENOMEM;
			break;
		}
		if (stat(host, &st) || unwind_seen(ft, t->pid, &st)) {
			free(host);
			continue;
		}
		t0 = sw_now_ns();
		link_ns = ft->link_ns;
		if (elf_cache_get(host, &f) == 0) {
			r[0] = attach_helpers(ft, ft->skel->progs.unwind_raise, host, f, raise,
					      t->pid);
			r[1] = attach_helpers(ft, ft->skel->progs.unwind_catch, host, f, catch,
					      t->pid);
			r[2] = attach_helpers(ft, ft->skel->progs.longjmp_entry, host, f, jumps,
					      t->pid);
			for (int k = 0; k < 3; k++) {
				if (r[k] < 0 && !err)
					err = r[k];
				else if (r[k] > 0)
					found += r[k];
			}
			if (r[0] > 0 || r[1] > 0 || r[2] > 0)
				pr_debug("process %d: unwind helpers in %s: %d raise, %d catch, %d "
					 "longjmp\n",
					 (int)t->pid, maps[i].path, r[0] > 0 ? r[0] : 0,
					 r[1] > 0 ? r[1] : 0, r[2] > 0 ? r[2] : 0);
			elf_cache_put(f);
		}
		/* reading the table and finding the helpers by name; their links are attach time */
		sw_tally_add(ft->symbols, maps[i].path, sw_now_ns() - t0 - (ft->link_ns - link_ns));
		free(host);
	}
	target_maps_free(maps, n);
	return err ? err : found;
}

int functrace_attach_entry_stop(struct func_tracer *ft, struct target *t)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	struct elf_file *f = NULL;
	int err;

	err = elf_cache_get(t->exe_host, &f);
	if (err) {
		pr_warn("cannot read %s: %s\n", t->exe,
			err == -ENOEXEC ? "not a valid ELF executable" : strerror(-err));
		return err;
	}
	if (!f->entry_offset) {
		pr_warn("%s: entry point is not in a loadable segment\n", t->exe);
		elf_cache_put(f);
		return -ENOEXEC;
	}
	ft->entry_stop = bpf_program__attach_uprobe_opts(ft->skel->progs.entry_stop, t->pid,
							 t->exe_host, f->entry_offset, &opts);
	err = ft->entry_stop ? 0 : -errno;
	elf_cache_put(f);
	return err;
}

void functrace_detach_entry_stop(struct func_tracer *ft)
{
	bpf_link__destroy(ft->entry_stop);
	ft->entry_stop = NULL;
}

int functrace_apply_unwind(const struct bt_unwind_event *e)
{
	int written = 0, err = 0;
	__u32 i;

	for (i = 0; i < e->n && i < BT_MAX_RESTORE; i++) {
		int r = target_swap_word((pid_t)e->pid, e->slots[i], e->expect[i], e->values[i]);

		if (r < 0)
			err = r;
		else
			written += r;
	}
	if (kill((pid_t)e->pid, SIGCONT) && !err)
		err = -errno;
	if (err)
		pr_debug("process %u: unwind fix-up incomplete: %s\n", e->pid, strerror(-err));
	return err ? err : written;
}
