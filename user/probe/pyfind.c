// SPDX-License-Identifier: MIT
/* Finding the CPython interpreter of a live process, and pyreader_open on top of it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe/pyfind.h"
#include "probe/pymem.h"
#include "probe/pyreader.h"
#include "probe/target.h"

static void take_sym(struct pyelf *e, const char *name, uint64_t value)
{
	if (!strcmp(name, "_PyRuntime"))
		e->runtime = value;
	else if (!strcmp(name, "Py_Version"))
		e->py_version = value;
	else if (!strcmp(name, "PyCode_Type"))
		e->code_type = value;
	else if (!strcmp(name, "PyUnicode_Type"))
		e->unicode_type = value;
	else if (!strcmp(name, "PyFrame_Type"))
		e->frame_type = value;
	else if (!strcmp(name, "_Py_NegativeRefcount"))
		e->debug = true;
}

static void read_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct pyelf *e)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, n;

	if (!d || !sh->sh_entsize)
		return;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;

		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (name && (name[0] == '_' || name[0] == 'P'))
			take_sym(e, name, s.st_value);
	}
}

static void read_dynamic(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct pyelf *e)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, n;

	if (!d || !sh->sh_entsize)
		return;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Dyn dyn;
		const char *s;

		if (!gelf_getdyn(d, (int)i, &dyn))
			break;
		if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_SONAME)
			continue;
		s = elf_strptr(elf, sh->sh_link, dyn.d_un.d_val);
		if (!s)
			continue;
		if (dyn.d_tag == DT_SONAME)
			snprintf(e->soname, sizeof(e->soname), "%s", s);
		else if (!strncmp(s, "libpython", 9))
			e->needs_libpython = true;
	}
}

int pyelf_read(const char *path, struct pyelf *e)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, i, nph;
	int fd, err = 0;
	Elf *elf;

	memset(e, 0, sizeof(*e));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) ||
	    elf_getphdrnum(elf, &nph)) {
		err = -ENOEXEC;
		goto out;
	}
	e->first_vaddr = UINT64_MAX;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    (ph.p_vaddr & ~0xfffull) < e->first_vaddr)
			e->first_vaddr = ph.p_vaddr & ~0xfffull;
	}
	if (e->first_vaddr == UINT64_MAX) {
		err = -ENOEXEC;
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
			read_symtab(elf, scn, &sh, e);
		else if (sh.sh_type == SHT_DYNAMIC)
			read_dynamic(elf, scn, &sh, e);
		else if (sh.sh_type == SHT_NOBITS) {
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			if (name && !strcmp(name, ".bss")) {
				e->bss = sh.sh_addr;
				e->bss_size = sh.sh_size;
			}
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

bool pyfind_version_text(const uint8_t *buf, size_t len, int minor, unsigned *maj, unsigned *min,
			 unsigned *mic)
{
	size_t i, j;

	for (i = 0; i + 6 < len; i++) {
		unsigned a = 0, b = 0, c = 0;
		size_t nd;

		if (buf[i] != '3' || buf[i + 1] != '.' ||
		    (i && (isdigit(buf[i - 1]) || buf[i - 1] == '.')))
			continue;
		j = i + 2;
		for (nd = 0; j < len && isdigit(buf[j]) && nd < 3; j++, nd++)
			b = b * 10 + (buf[j] - '0');
		if (!nd || j >= len || buf[j] != '.')
			continue;
		j++;
		for (nd = 0; j < len && isdigit(buf[j]) && nd < 3; j++, nd++)
			c = c * 10 + (buf[j] - '0');
		if (!nd)
			continue;
		/* a release tag: a1, b2, rc1, + */
		while (j < len && j - i < 24 && (isalnum(buf[j]) || buf[j] == '+'))
			j++;
		if (j + 1 >= len || buf[j] != ' ' || buf[j + 1] != '(')
			continue;
		if (minor >= 0 && b != (unsigned)minor)
			continue;
		a = 3;
		*maj = a;
		*min = b;
		*mic = c;
		return true;
	}
	return false;
}

int pyfind_minor_from_name(const char *name, char *flavour, size_t flen)
{
	const char *base = strrchr(name, '/'), *p;
	int minor = 0, nd = 0;
	size_t k = 0;

	base = base ? base + 1 : name;
	if (!strncmp(base, "libpython3.", 11))
		p = base + 11;
	else if (!strncmp(base, "python3.", 8))
		p = base + 8;
	else
		return -1;
	for (; isdigit((unsigned char)*p) && nd < 3; p++, nd++)
		minor = minor * 10 + (*p - '0');
	if (!nd)
		return -1;
	while (*p && *p != '.' && k + 1 < flen)
		flavour[k++] = *p++;
	if (flen)
		flavour[k] = '\0';
	return minor;
}

struct found {
	char *path; /* target path */
	struct pyelf e;
	uint64_t bias;
};

/* Looks at one mapped file: keeps it in @f when it defines _PyRuntime. */
static int try_file(pid_t pid, const char *path, const struct target_map *maps, size_t n,
		    struct found *f)
{
	char *host = target_host_path(pid, path);
	size_t i;
	int err;

	if (!host)
		return -ENOMEM;
	err = pyelf_read(host, &f->e);
	free(host);
	if (err)
		return err;
	if (!f->e.runtime)
		return -ENOENT;
	for (i = 0; i < n; i++)
		if (maps[i].path && !strcmp(maps[i].path, path) && maps[i].offset == 0) {
			f->bias = maps[i].start - f->e.first_vaddr;
			f->path = strdup(path);
			return f->path ? 0 : -ENOMEM;
		}
	return -ENOENT;
}

static bool is_libpython(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strncmp(b, "libpython", 9) && strstr(b, ".so");
}

/* Reads the version of the interpreter in @f: Py_Version (3.11+), else the sys.version text in
 * .bss, with the minor version from the library's name as a check. */
static int find_version(struct pymem *m, struct found *f, unsigned *maj, unsigned *min,
			unsigned *mic, char *flavour, size_t flen)
{
	int name_minor =
	    pyfind_minor_from_name(f->e.soname[0] ? f->e.soname : f->path, flavour, flen);
	uint8_t b[8], *bss;
	uint64_t hex, len;
	bool ok;

	if (f->e.py_version && !pymem_read(m, f->bias + f->e.py_version, b, 8)) {
		memcpy(&hex, b, 8);
		*maj = (hex >> 24) & 0xff;
		*min = (hex >> 16) & 0xff;
		*mic = (hex >> 8) & 0xff;
		return 0;
	}
	if (!f->e.bss || !f->e.bss_size)
		return -ENOENT;
	len = f->e.bss_size < (8u << 20) ? f->e.bss_size : (8u << 20);
	bss = malloc(len);
	if (!bss)
		return -ENOMEM;
	ok = !pymem_read(m, f->bias + f->e.bss, bss, len) &&
	     pyfind_version_text(bss, len, name_minor, maj, min, mic);
	free(bss);
	if (ok)
		return 0;
	if (name_minor < 0)
		return -ENOENT;
	/* the text is written at start-up: not there yet */
	*maj = 3;
	*min = (unsigned)name_minor;
	*mic = 0;
	return -EAGAIN;
}

static struct pyreader *fail(int e, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static struct pyreader *fail(int e, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = e;
	return NULL;
}

/* A first sample must name at least one frame when any thread runs Python code: a layout that
 * does not fit shows as every stack torn. Returns 0, -EPROTO, -errno. */
static int check_sample(struct pyreader *r)
{
	struct py_sample s;
	int tries, err = 0;

	for (tries = 0; tries < 5; tries++) {
		size_t i, torn = 0;

		err = pyreader_sample(r, &s);
		if (err)
			return err;
		for (i = 0; i < s.n_threads; i++)
			torn += s.threads[i].torn;
		if (!torn || torn < s.n_threads)
			return 0;
		usleep(2000);
	}
	return -EPROTO;
}

struct pyreader *pyreader_open(pid_t pid, char *err, size_t errlen)
{
	struct target_map *maps = NULL;
	struct found f = {0};
	struct pyreader_layout l = {0};
	struct pyreader *r = NULL;
	struct pymem *m = NULL;
	struct pyelf exe = {0};
	struct stat est;
	char exe_path[4096], root[64], flavour[8] = "", libpython[4096] = "";
	unsigned maj = 0, min = 0, mic = 0;
	const struct pyoffsets *row;
	size_t n = 0, i;
	ssize_t k;
	int e;

	snprintf(root, sizeof(root), "/proc/%d/exe", (int)pid);
	k = readlink(root, exe_path, sizeof(exe_path) - 1);
	if (k < 0)
		return fail(errno == ENOENT ? ESRCH : errno, err, errlen, "PID %d: %s", (int)pid,
			    errno == ENOENT ? "no such process" : strerror(errno));
	exe_path[k] = '\0';
	e = target_read_maps(pid, &maps, &n);
	if (e)
		return fail(e == -ENOENT ? ESRCH : -e, err, errlen, "PID %d: /proc/%d/maps: %s",
			    (int)pid, (int)pid, strerror(-e));
	e = try_file(pid, exe_path, maps, n, &f);
	if (e == -ENOENT || e == -ENOEXEC) {
		char *host = target_host_path(pid, exe_path);

		if (host && pyelf_read(host, &exe))
			memset(&exe, 0, sizeof(exe));
		free(host);
		for (i = 0; i < n && e; i++)
			if (maps[i].path && maps[i].offset == 0 && is_libpython(maps[i].path)) {
				snprintf(libpython, sizeof(libpython), "%s", maps[i].path);
				e = try_file(pid, maps[i].path, maps, n, &f);
			}
	}
	target_maps_free(maps, n);
	if (e) {
		const char *named = libpython[0] ? libpython : exe_path;
		const char *base = strrchr(named, '/');

		free(f.path);
		base = base ? base + 1 : named;
		if (exe.needs_libpython && !libpython[0])
			return fail(EAGAIN, err, errlen,
				    "PID %d: %s needs libpython, not mapped yet", (int)pid,
				    exe_path);
		/* CPython 2 has no _PyRuntime; name it rather than call it something else */
		if (!strncmp(base, "libpython2.", 11) || !strncmp(base, "python2.", 8))
			return fail(ENOTSUP, err, errlen,
				    "PID %d: %s is CPython 2, not supported (3.%d\u20133.%d are)",
				    (int)pid, named, PYOFF_MINOR_FIRST, PYOFF_MINOR_LAST);
		return fail(ENOEXEC, err, errlen,
			    "PID %d (%s) is not a CPython: no _PyRuntime in it or a mapped "
			    "libpython*.so",
			    (int)pid, exe_path);
	}
	m = pymem_proc(pid);
	if (!m) {
		free(f.path);
		return fail(ENOMEM, err, errlen, "out of memory");
	}
	e = find_version(m, &f, &maj, &min, &mic, flavour, sizeof(flavour));
	if (e == -EAGAIN) {
		fail(EAGAIN, err, errlen, "PID %d: CPython 3.%u in %s has not started yet",
		     (int)pid, min, f.path);
		goto out;
	}
	if (e) {
		fail(ENOTSUP, err, errlen,
		     "PID %d: %s defines _PyRuntime but its CPython version "
		     "cannot be read: not supported",
		     (int)pid, f.path);
		goto out;
	}
	snprintf(l.version, sizeof(l.version), "%u.%u.%u", maj, min, mic);
	if (maj != 3 || !(row = pyoffsets_for(min))) {
		pyreader_unsupported_msg(maj, min, mic, err, errlen);
		errno = ENOTSUP;
		goto out;
	}
	if (f.e.debug || strchr(flavour, 'd')) {
		fail(ENOTSUP, err, errlen,
		     "CPython %s in %s is a debug build (Py_DEBUG): not supported", l.version,
		     f.path);
		goto out;
	}
	if (strchr(flavour, 't')) {
		fail(ENOTSUP, err, errlen,
		     "CPython %s in %s is a free-threaded build: not supported", l.version, f.path);
		goto out;
	}
	l.off = *row;
	if (min >= 13) {
		uint8_t dbg[PYOFF_DEBUG_LEN];
		uint64_t dver = 0;

		e = pymem_read(m, f.bias + f.e.runtime, dbg, sizeof(dbg));
		e = e ?: pyoffsets_from_debug(dbg, sizeof(dbg), &l.off, &dver);
		if (e == -ENOTSUP) {
			fail(ENOTSUP, err, errlen,
			     "CPython %s in %s is a free-threaded build: not supported", l.version,
			     f.path);
			goto out;
		}
		if (e || ((dver >> 16) & 0xffff) != (0x0300u | min)) {
			fail(ENOTSUP, err, errlen,
			     "CPython %s in %s: _Py_DebugOffsets missing or of another version "
			     "(%#llx): not supported",
			     l.version, f.path, (unsigned long long)dver);
			goto out;
		}
	}
	if (!f.e.code_type || !f.e.unicode_type || (min < 11 && !f.e.frame_type)) {
		fail(ENOTSUP, err, errlen,
		     "CPython %s in %s: PyCode_Type/PyUnicode_Type/PyFrame_Type "
		     "symbols missing: not supported",
		     l.version, f.path);
		goto out;
	}
	l.runtime = f.bias + f.e.runtime;
	l.code_type = f.bias + f.e.code_type;
	l.unicode_type = f.bias + f.e.unicode_type;
	l.frame_type = f.e.frame_type ? f.bias + f.e.frame_type : 0;
	l.pid = pid;
	snprintf(root, sizeof(root), "/proc/%d/exe", (int)pid);
	if (!stat(root, &est)) {
		l.exe_dev = (uint64_t)est.st_dev;
		l.exe_ino = (uint64_t)est.st_ino;
	}
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	l.root = root;
	r = pyreader_open_mem(m, &l, err, errlen);
	m = NULL;
	if (!r) {
		if (kill(pid, 0) && errno == ESRCH)
			fail(ESRCH, err, errlen, "PID %d: no such process", (int)pid);
		goto out;
	}
	e = check_sample(r);
	if (e) {
		pyreader_free(r);
		r = NULL;
		if (e == -EPROTO)
			fail(EPROTO, err, errlen,
			     "CPython %s in PID %d: every thread's stack fails the type checks: "
			     "unexpected structure layout, not read",
			     l.version, (int)pid);
		else
			fail(-e, err, errlen, "PID %d: %s", (int)pid, strerror(-e));
	}
out:
	pymem_free(m);
	free(f.path);
	return r;
}
