// SPDX-License-Identifier: MIT
/*
 * The watchdog process and the fix-up it shares with bedtrace's clean exit.
 *
 * A uretprobe replaces the return address of each traced call in flight with the trampoline
 * address; the kernel still returns through it after the probe is gone, but libgcc's unwinder
 * cannot step over it, so a C++ exception crossing such a frame ends in std::terminate. The BPF
 * stacks know, per thread, each open frame's return slot, and the kernel's pending return
 * instances the address it held at entry (probe/stack_dump.h reads both, through functrace's
 * dump_stacks iterator, whose program fd the watchdog holds): with the process stopped, those
 * are written back, then the process is resumed. The BPF side
 * may also have stopped a target (entry stop, unwind fix-up, late library): it is resumed too.
 *
 * bedtrace → watchdog: a SOCK_SEQPACKET socket pair (fixed-size messages, no SIGPIPE when the
 * watchdog is gone). Only bedtrace holds its end, so end of file there means bedtrace is going
 * away; the watchdog then waits on a pidfd until bedtrace has fully exited (its probe links are
 * closed during exit, before the pidfd becomes readable) and acts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "util/log.h"
#include "probe/stack_dump.h"
#include "probe/target.h"
#include "probe/watchdog.h"

/* How long a target may take to stop (all threads) before its slots are fixed anyway. */
#define WD_STOP_WAIT_MS 2000
/* How long after end of file bedtrace may take to finish exiting. */
#define WD_EXIT_WAIT_MS 10000
/* How long a clean exit waits for the watchdog to leave before killing it. */
#define WD_REAP_WAIT_MS 2000

enum wd_op {
	WD_OP_ADD = 1,	 /* pid is a target */
	WD_OP_CLEAN = 2, /* bedtrace made everything consistent itself: exit */
};

struct wd_msg {
	uint32_t op;
	uint32_t pid;
};

struct wd_proc {
	pid_t pid;
	int pidfd; /* -1 if none could be opened: signals then go by pid */
};

struct wd_table {
	struct wd_proc procs[WATCHDOG_MAX_PIDS];
	size_t n;
};

struct wd_tally {
	unsigned int resumed, restored, failed;
};

struct watchdog {
	pid_t child;
	int sock;
	int stacks_fd; /* dump_stacks, our own reference: it outlives functrace_destroy() */
	int procs_fd;  /* likewise, or -1 */
	struct wd_table known;
};

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void table_add(struct wd_table *t, pid_t pid)
{
	size_t i;

	if (pid <= 0 || t->n >= WATCHDOG_MAX_PIDS)
		return;
	for (i = 0; i < t->n; i++)
		if (t->procs[i].pid == pid)
			return;
	/* a pidfd keeps a recycled pid from being signalled */
	t->procs[t->n].pid = pid;
	t->procs[t->n].pidfd = pidfd_open_(pid);
	t->n++;
}

static void table_close(struct wd_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->procs[i].pidfd >= 0)
			close(t->procs[i].pidfd);
	t->n = 0;
}

static bool proc_exited(const struct wd_proc *p)
{
	struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};

	if (p->pidfd >= 0)
		return poll(&pfd, 1, 0) > 0;
	return kill(p->pid, 0) && errno == ESRCH;
}

static int proc_signal(const struct wd_proc *p, int sig)
{
	if (p->pidfd >= 0)
		return syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) ? -errno : 0;
	return kill(p->pid, sig) ? -errno : 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Returns true when no thread of @pid can run user code: stopped, traced-stopped or dead. */
static bool all_stopped(pid_t pid)
{
	char path[320], buf[256];
	bool stopped = true;
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return true; /* gone */
	while (stopped && (de = readdir(dir))) {
		const char *paren;
		ssize_t len;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* that thread exited */
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "tid (comm) S ...": comm may hold ')' itself */
		paren = strrchr(buf, ')');
		if (paren && paren[1] == ' ' && !strchr("TtZXx", paren[2]))
			stopped = false;
	}
	closedir(dir);
	return stopped;
}

static int wait_stopped(pid_t pid, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	while (!all_stopped(pid)) {
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

uint64_t watchdog_maps_trampoline(const char *maps, size_t len)
{
	static const char tag[] = "[uprobes]";
	const size_t tag_len = sizeof(tag) - 1;
	const char *line = maps, *end = maps + len;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *stop = nl ? nl : end;

		while (stop > line && (stop[-1] == ' ' || stop[-1] == '\r'))
			stop--;
		if ((size_t)(stop - line) > tag_len && memcmp(stop - tag_len, tag, tag_len) == 0 &&
		    stop[-(long)tag_len - 1] == ' ') {
			char num[24];
			size_t n = 0;

			while (line + n < stop && n < sizeof(num) - 1 && line[n] != '-')
				n++;
			memcpy(num, line, n);
			num[n] = '\0';
			return strtoull(num, NULL, 16);
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return 0;
}

/* Returns the uretprobe trampoline address of @pid, 0 if it has none (or is gone). */
static uint64_t read_trampoline(pid_t pid)
{
	char path[64], *buf;
	uint64_t addr;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	buf = target_read_file(path, &len);
	if (!buf)
		return 0;
	addr = watchdog_maps_trampoline(buf, len);
	free(buf);
	return addr;
}

int watchdog_restore_stack(pid_t pid, uint64_t tramp, const struct bt_stack *st)
{
	__u32 depth = st->depth > BT_MAX_DEPTH ? BT_MAX_DEPTH : st->depth, i;
	int written = 0;

	for (i = 0; i < depth; i++) {
		const struct bt_frame *f = &st->frames[i];

		if (f->ret && f->ret != tramp && target_swap_word(pid, f->sp, tramp, f->ret) == 1)
			written++;
	}
	return written;
}

/*
 * Makes process @p safe to run without bedtrace: stopped while its return slots are written
 * back, then always resumed. The stacks are read again once it is stopped: the return instances
 * of calls that returned meanwhile are gone.
 */
static void fix_process(int stacks_fd, const struct wd_proc *p, struct wd_tally *t)
{
	struct bt_stack_rec *recs = NULL;
	uint64_t tramp = 0;
	size_t n = 0, i;

	if (proc_exited(p))
		return;
	if (stack_dump_read(stacks_fd, p->pid, &recs, &n) == 0 && n &&
	    proc_signal(p, SIGSTOP) == 0) {
		if (wait_stopped(p->pid, WD_STOP_WAIT_MS))
			t->failed++; /* a thread in the kernel for long: slots are checked anyway */
		tramp = read_trampoline(p->pid);
		free(recs);
		recs = NULL;
		if (stack_dump_read(stacks_fd, p->pid, &recs, &n))
			n = 0;
	}
	for (i = 0; tramp && i < n; i++)
		t->restored += (unsigned int)watchdog_restore_stack(p->pid, tramp, &recs[i].st);
	free(recs);
	if (proc_signal(p, SIGCONT) == 0)
		t->resumed++;
}

/* Fixes every process in @t, every process with open traced calls and every one BPF held. */
static void fix_all(int stacks_fd, int procs_fd, struct wd_table *t, struct wd_tally *tally)
{
	__u32 key, next, *prev = NULL, flags;
	struct bt_stack_rec *recs;
	size_t i, n;

	while (procs_fd >= 0 && bpf_map_get_next_key(procs_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(procs_fd, &key, &flags) == 0 && (flags & BT_PROC_HELD))
			table_add(t, (pid_t)key);
	}
	if (stack_dump_read(stacks_fd, 0, &recs, &n) == 0) {
		for (i = 0; i < n; i++)
			table_add(t, (pid_t)recs[i].pid);
		free(recs);
	}
	for (i = 0; i < t->n; i++)
		fix_process(stacks_fd, &t->procs[i], tally);
}

static void sort_fds(int *fds, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int tmp = fds[j];

			fds[j] = fds[j - 1];
			fds[j - 1] = tmp;
		}
}

/* Closes every descriptor but @keep: a probe link or bedtrace's files must not outlive it. */
static void close_other_fds(int *keep, int n)
{
	unsigned int lo = 0;

	sort_fds(keep, n);
	for (int i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned int)keep[i] - 1, 0);
		lo = (unsigned int)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

/* For results the watchdog can do nothing about (it has nowhere to report them). */
static void ignore(long rc)
{
	(void)rc;
}

/* The forked watchdog: no stdio, no exit handlers (they belong to bedtrace). */
static void __attribute__((noreturn))
wd_main(int sock, int parent_pidfd, int stacks_fd, int procs_fd)
{
	static struct wd_table known;
	static const int ignored[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2};
	struct pollfd pfd = {.fd = parent_pidfd, .events = POLLIN};
	int keep[] = {0, 1, 2, sock, parent_pidfd, stacks_fd, procs_fd};
	struct wd_tally tally = {0};
	struct rlimit rl;
	struct wd_msg m;
	char line[160];
	int fd, len;
	size_t i;

	prctl(PR_SET_NAME, "bedtrace-wd", 0, 0, 0);
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	setsid();
	ignore(chdir("/")); /* only to free bedtrace's working directory */
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
	}
	close_other_fds(keep, (int)(sizeof(keep) / sizeof(keep[0])) - (procs_fd < 0));
	/* the OOM killer picks bedtrace, never the process that repairs its targets */
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ignore(write(fd, "-1000", 5));
		close(fd);
	}
	/* one pidfd per known target */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	for (;;) {
		ssize_t r = recv(sock, &m, sizeof(m), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)sizeof(m))
			break; /* end of file: bedtrace is exiting without having said so */
		if (m.op == WD_OP_CLEAN)
			_exit(0);
		if (m.op == WD_OP_ADD)
			table_add(&known, (pid_t)m.pid);
	}
	/* its probe links are closed during its exit, before the pidfd becomes readable */
	while (poll(&pfd, 1, WD_EXIT_WAIT_MS) < 0 && errno == EINTR)
		;
	fix_all(stacks_fd, procs_fd, &known, &tally);
	if (tally.resumed || tally.restored || tally.failed) {
		len = snprintf(line, sizeof(line),
			       "bedtrace-wd: bedtrace died; resumed %u process(es), restored %u "
			       "return address(es)%s\n",
			       tally.resumed, tally.restored,
			       tally.failed ? "; a process did not stop in time" : "");
		if (len > 0)
			ignore(write(2, line, (size_t)len));
	}
	_exit(0);
}

int watchdog_start(int stacks_fd, int procs_fd, struct watchdog **out)
{
	struct watchdog *wd = calloc(1, sizeof(*wd));
	int sv[2] = {-1, -1}, self = -1, err;
	pid_t pid;

	*out = NULL;
	if (!wd)
		return -ENOMEM;
	wd->sock = -1;
	wd->procs_fd = -1;
	wd->stacks_fd = fcntl(stacks_fd, F_DUPFD_CLOEXEC, 3);
	if (wd->stacks_fd < 0)
		goto fail;
	if (procs_fd >= 0 && (wd->procs_fd = fcntl(procs_fd, F_DUPFD_CLOEXEC, 3)) < 0)
		goto fail;
	/* opened before the fork: the watchdog can never watch a recycled pid */
	self = pidfd_open_(getpid());
	if (self < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		goto fail;
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		close(sv[0]);
		wd_main(sv[1], self, wd->stacks_fd, wd->procs_fd);
	}
	close(sv[1]);
	close(self);
	wd->child = pid;
	wd->sock = sv[0];
	*out = wd;
	pr_debug("watchdog %d started\n", (int)pid);
	return 0;
fail:
	err = -errno;
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	if (self >= 0)
		close(self);
	if (wd->stacks_fd >= 0)
		close(wd->stacks_fd);
	if (wd->procs_fd >= 0)
		close(wd->procs_fd);
	free(wd);
	return err;
}

pid_t watchdog_pid(const struct watchdog *wd)
{
	return wd ? wd->child : 0;
}

void watchdog_add_pid(struct watchdog *wd, pid_t pid)
{
	struct wd_msg m = {.op = WD_OP_ADD, .pid = (uint32_t)pid};

	if (!wd)
		return;
	table_add(&wd->known, pid);
	if (send(wd->sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		pr_debug("watchdog: cannot register process %d: %s\n", (int)pid, strerror(errno));
}

void watchdog_stop(struct watchdog *wd)
{
	struct wd_msg m = {.op = WD_OP_CLEAN};
	struct wd_tally t = {0};
	uint64_t deadline;

	if (!wd)
		return;
	fix_all(wd->stacks_fd, wd->procs_fd, &wd->known, &t);
	if (t.restored || t.failed)
		pr_debug("restored %u return address(es) of calls still open; resumed %u "
			 "process(es)%s\n",
			 t.restored, t.resumed, t.failed ? "; a process did not stop in time" : "");
	if (send(wd->sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		pr_debug("watchdog: %s\n", strerror(errno));
	close(wd->sock);
	deadline = now_ms() + WD_REAP_WAIT_MS;
	while (waitpid(wd->child, NULL, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			kill(wd->child, SIGKILL);
			waitpid(wd->child, NULL, 0);
			break;
		}
		usleep(1000);
	}
	table_close(&wd->known);
	close(wd->stacks_fd);
	if (wd->procs_fd >= 0)
		close(wd->procs_fd);
	free(wd);
}
