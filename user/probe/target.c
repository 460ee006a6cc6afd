// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/grow.h"
#include "util/log.h"
#include "util/redact.h"
#include "probe/cgroup.h"
#include "probe/procinfo.h"
#include "probe/target.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static char *read_link(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/*
 * Reads the whole file @path, NUL-terminated, its length in *@len. Outgrown buffers are copied
 * rather than realloc'ed, and with @wipe cleared before they are freed: a file that may hold
 * secrets (an environment) leaves no copy behind in the heap. A read cut short by a failed
 * allocation returns what was read.
 */
static char *read_all(const char *path, size_t *len, bool wipe)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *bigger;
	int fd, err;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		free(buf);
		errno = err;
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n - 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		/* room for at least one more byte and the terminating NUL */
		if (n + 1 < cap)
			continue;
		bigger = cap <= SIZE_MAX / 2 ? malloc(cap * 2) : NULL;
		if (!bigger)
			break;
		memcpy(bigger, buf, n);
		if (wipe)
			explicit_bzero(buf, n);
		free(buf);
		buf = bigger;
		cap *= 2;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

char *target_read_file(const char *path, size_t *len)
{
	return read_all(path, len, false);
}

int target_swap_word(pid_t pid, uint64_t addr, uint64_t expect, uint64_t value)
{
	uint64_t cur = 0;
	struct iovec local = {&cur, sizeof(cur)};
	struct iovec remote = {(void *)(uintptr_t)addr, sizeof(cur)};

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(cur))
		return -errno;
	if (cur != expect)
		return 0;
	local.iov_base = &value;
	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != sizeof(cur))
		return -errno;
	return 1;
}

char *target_host_path(pid_t pid, const char *path)
{
	char *out;

	if (asprintf(&out, "/proc/%d/root%s", (int)pid, path) < 0)
		return NULL;
	return out;
}

static void target_reset_info(struct target *t)
{
	free(t->exe);
	free(t->exe_host);
	free(t->comm);
	free(t->cmdline);
	free(t->env_service_name);
	free(t->env_resource_attrs);
	t->exe = t->exe_host = t->comm = t->cmdline = NULL;
	t->env_service_name = t->env_resource_attrs = NULL;
	t->ppid = t->ns_pid = 0;
	t->uid = 0;
	t->has_uid = false;
	memset(&t->cgroup, 0, sizeof(t->cgroup));
}

/* Parent, owner and namespace PID (/proc/PID/status), container and pod (/proc/PID/cgroup). */
static void target_read_identity(struct target *t)
{
	struct proc_status st;
	char path[64], *buf;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)t->pid);
	buf = target_read_file(path, &len);
	if (buf) {
		procinfo_parse_status(buf, len, &st);
		t->ppid = st.ppid;
		t->uid = st.uid;
		t->has_uid = st.has_uid;
		if (st.ns_levels > 1)
			t->ns_pid = st.ns_pid;
		free(buf);
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)t->pid);
	buf = target_read_file(path, &len);
	if (buf) {
		cgroup_parse_ids(buf, len, &t->cgroup);
		free(buf);
	}
}

/*
 * Picks OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES out of /proc/PID/environ. The environment
 * holds secrets (keys, tokens): nothing else of it is kept, and the copy read is wiped before it
 * is freed. Returns 0 or -ENOMEM; an unreadable environ (a zombie) is not an error.
 */
static int target_read_otel_env(struct target *t)
{
	char path[64], *buf;
	size_t len;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)t->pid);
	buf = read_all(path, &len, true);
	if (!buf)
		return errno == ENOMEM ? -ENOMEM : 0;
	t->env_service_name = procinfo_environ_get(buf, len, OTEL_ENV_SERVICE_NAME);
	if (!t->env_service_name && errno == ENOMEM)
		err = -ENOMEM;
	t->env_resource_attrs = procinfo_environ_get(buf, len, OTEL_ENV_RESOURCE_ATTRIBUTES);
	if (!t->env_resource_attrs && errno == ENOMEM)
		err = -ENOMEM;
	explicit_bzero(buf, len);
	free(buf);
	return err;
}

static int target_read_info(struct target *t)
{
	char path[64], *s;
	size_t len;

	target_reset_info(t);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)t->pid);
	t->exe = read_link(path);
	if (!t->exe)
		return errno == ENOENT ? -ESRCH : -errno;
	/* a replaced binary shows as "path (deleted)"; the inode is still reachable via
	 * /proc/PID/exe */
	len = strlen(t->exe);
	if (len > 10 && strcmp(t->exe + len - 10, " (deleted)") == 0)
		t->exe_host = strdup(path);
	else
		t->exe_host = target_host_path(t->pid, t->exe);

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)t->pid);
	t->comm = target_read_file(path, &len);
	if (t->comm && len && t->comm[len - 1] == '\n')
		t->comm[len - 1] = '\0';

	/* exported as process.command_line: credentials in it are redacted (redact.h) */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)t->pid);
	s = target_read_file(path, &len);
	if (s) {
		while (len && s[len - 1] == '\0')
			len--;
		t->cmdline = redact_cmdline(s, len);
		free(s);
	}
	if (!t->exe_host || !t->comm || !t->cmdline)
		return -ENOMEM;
	target_read_identity(t);
	return target_read_otel_env(t);
}

int target_refresh(struct target *t)
{
	return target_read_info(t);
}

/* True when @pid is bedtrace itself or one of its threads. */
static bool is_self(pid_t pid)
{
	char path[64];

	if (pid == getpid())
		return true;
	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)pid);
	return access(path, F_OK) == 0;
}

/* True when /proc/PID/stat has PF_KTHREAD in its flags (the 9th field). */
static bool is_kernel_thread(pid_t pid)
{
	unsigned long flags;
	char path[64], *buf, *p;
	bool kthread = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	buf = target_read_file(path, NULL);
	if (!buf)
		return false;
	/* comm may hold spaces and parentheses: the fields start after the last ')' */
	p = strrchr(buf, ')');
	if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1)
		kthread = flags & 0x00200000; /* PF_KTHREAD */
	free(buf);
	return kthread;
}

int target_open_pid(struct target *t, pid_t pid)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->pidfd = -1;
	t->go_fd = -1;
	if (pid <= 0)
		return -ESRCH;
	/* its own uprobes would fire while it handles their events */
	if (is_self(pid))
		return -EDEADLK;
	if (kill(pid, 0) && errno == ESRCH)
		return -ESRCH;
	t->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (t->pidfd < 0) {
		err = -errno;
		return err == -EINVAL ? -ESRCH : err;
	}
	err = target_read_info(t);
	/* a kernel thread has no executable: /proc/PID/exe reads as missing */
	if (err == -ESRCH && is_kernel_thread(pid))
		return -ENOEXEC;
	return err;
}

void target_warn_open(pid_t pid, int err)
{
	if (err == -EDEADLK)
		pr_warn("refusing to trace bedtrace itself (pid %d)\n", (int)pid);
	else if (err == -ENOEXEC)
		pr_warn("process %d is a kernel thread; only user-space processes can be traced\n",
			(int)pid);
	else
		pr_warn("cannot attach to process %d: %s\n", (int)pid,
			err == -ESRCH ? "no such process" : strerror(-err));
}

char *target_which(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	const char *p, *end;

	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK))
			return NULL;
		return realpath(cmd, NULL);
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		size_t len;

		end = strchrnul(p, ':');
		len = (size_t)(end - p);
		if (len == 0 || len + strlen(cmd) + 2 > sizeof(buf))
			continue;
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, cmd);
		if (access(buf, X_OK) == 0)
			return realpath(buf, NULL);
	}
	errno = ENOENT;
	return NULL;
}

int target_shebang(const char *buf, size_t len, char *interp, size_t cap)
{
	size_t i = 2, start, n;

	if (len < 2 || buf[0] != '#' || buf[1] != '!')
		return -ENOEXEC;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	start = i;
	while (i < len && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\0')
		i++;
	n = i - start;
	/* no interpreter, or one cut off by the end of what the kernel reads of a file */
	if (!n || (i == len && len >= TARGET_SHEBANG_MAX))
		return -ENOEXEC;
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(interp, buf + start, n);
	interp[n] = '\0';
	return 0;
}

char *target_exec_image(const char *path)
{
	char *cur = strdup(path);
	int level;

	/* the kernel follows "#!" this many times before it gives up (ELOOP) */
	for (level = 0; cur && level <= 4; level++) {
		char buf[TARGET_SHEBANG_MAX], interp[PATH_MAX], *next;
		ssize_t n;
		int fd = open(cur, O_RDONLY | O_CLOEXEC), err;

		if (fd < 0)
			break;
		n = read(fd, buf, sizeof(buf));
		err = errno;
		close(fd);
		if (n < 0) {
			errno = err;
			break;
		}
		err = target_shebang(buf, (size_t)n, interp, sizeof(interp));
		if (err == -ENOEXEC)
			return cur; /* not a script: the image itself */
		if (err) {
			errno = -err;
			break;
		}
		next = realpath(interp, NULL);
		if (!next)
			break;
		free(cur);
		cur = next;
	}
	if (cur && level > 4)
		errno = ELOOP;
	free(cur);
	return NULL;
}

int target_launch(struct target *t, char *const argv[])
{
	int pipefd[2], err;
	char *exe, *image;
	pid_t pid;

	memset(t, 0, sizeof(*t));
	t->pidfd = -1;
	t->go_fd = -1;
	exe = target_which(argv[0]);
	if (!exe)
		return -errno;
	/* a script runs as its interpreter: that is the image to hold at its entry point */
	image = target_exec_image(exe);
	if (!image) {
		err = -errno;
		free(exe);
		return err;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		err = -errno;
		free(exe);
		free(image);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		free(exe);
		free(image);
		return err;
	}
	if (pid == 0) {
		char c;

		close(pipefd[1]);
		/* wait until the parent has put the probes in place; EOF means it gave up */
		if (read(pipefd[0], &c, 1) != 1)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execv(exe, argv);
		fprintf(stderr, "bedtrace: cannot execute %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	close(pipefd[0]);
	t->pid = pid;
	t->launched = true;
	t->go_fd = pipefd[1];
	t->exe = image;
	t->exe_host = strdup(image);
	/* the kernel names a process after the file executed, a script's own name */
	t->comm = strdup(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe);
	free(exe);
	t->cmdline = redact_cmdline(argv[0], strlen(argv[0]));
	t->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (!t->exe_host || !t->comm || !t->cmdline)
		return -ENOMEM;
	return 0;
}

int target_release(struct target *t)
{
	int err = 0;

	if (t->go_fd < 0)
		return -EINVAL;
	if (write(t->go_fd, "g", 1) != 1)
		err = -errno;
	close(t->go_fd);
	t->go_fd = -1;
	return err;
}

int target_wait_stopped(struct target *t, int timeout_ms)
{
	struct timespec start, now;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(t->pid, &status, WUNTRACED | WNOHANG);

		if (r < 0)
			return -errno;
		if (r == t->pid) {
			if (WIFSTOPPED(status))
				return 0;
			t->exited = true;
			t->exit_status = status;
			return -ESRCH;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
		    timeout_ms)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

bool target_check_exited(struct target *t)
{
	struct pollfd pfd;
	int status;

	if (t->exited)
		return true;
	if (t->launched) {
		pid_t r = waitpid(t->pid, &status, WNOHANG);

		if (r == t->pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
			t->exited = true;
			t->exit_status = status;
		} else if (r < 0 && errno == ECHILD) {
			t->exited = true;
		}
		return t->exited;
	}
	if (t->pidfd >= 0) {
		pfd.fd = t->pidfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) > 0)
			t->exited = true;
	} else if (kill(t->pid, 0) && errno == ESRCH) {
		t->exited = true;
	}
	return t->exited;
}

void target_close(struct target *t)
{
	if (t->go_fd >= 0)
		close(t->go_fd);
	if (t->pidfd >= 0)
		close(t->pidfd);
	target_reset_info(t);
	memset(t, 0, sizeof(*t));
	t->pidfd = t->go_fd = -1;
}

int target_read_maps(pid_t pid, struct target_map **maps, size_t *n)
{
	struct target_map *v = NULL;
	size_t cnt = 0, cap = 0, len;
	char path[64], *buf, *line, *save = NULL;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	buf = target_read_file(path, &len);
	if (!buf)
		return errno == ENOENT ? -ESRCH : -errno;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long start, end, off;
		char perms[8];
		int pos = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off, &pos) <
		    4)
			continue;
		if (grow(&v, &cap, cnt + 1, sizeof(*v)))
			goto nomem;
		v[cnt].start = start;
		v[cnt].end = end;
		v[cnt].offset = off;
		v[cnt].exec = perms[2] == 'x';
		v[cnt].path = NULL;
		if (pos > 0 && line[pos] == '/') {
			v[cnt].path = strdup(line + pos);
			if (!v[cnt].path)
				goto nomem;
		}
		cnt++;
	}
	free(buf);
	*maps = v;
	*n = cnt;
	return 0;
nomem:
	free(buf);
	target_maps_free(v, cnt);
	return -ENOMEM;
}

void target_maps_free(struct target_map *maps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(maps[i].path);
	free(maps);
}

static bool lib_name_matches(const char *base, const char *name)
{
	size_t len = strlen(name);

	if (strcmp(base, name) == 0)
		return true;
	if (strncmp(base, name, len) != 0)
		return false;
	/* "libfoo" matches libfoo.so, libfoo.so.1.2 and libfoo-2.3.so, not libfoobar.so */
	if (base[len] == '-' || strncmp(base + len, ".so", 3) == 0)
		return true;
	/* "libfoo.so" matches libfoo.so.1 */
	return len > 3 && strcmp(name + len - 3, ".so") == 0 && base[len] == '.';
}

const char *target_maps_find(const struct target_map *maps, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *p = maps[i].path, *base;

		if (!p)
			continue;
		if (strchr(name, '/')) {
			if (strcmp(p, name) == 0)
				return p;
			continue;
		}
		base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
		if (lib_name_matches(base, name))
			return p;
	}
	return NULL;
}
