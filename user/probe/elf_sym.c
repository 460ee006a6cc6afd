// SPDX-License-Identifier: MIT
/*
 * ELF symbol resolution with libelf. A file is read once into a self-contained struct elf_file:
 * every string is copied out, so nothing refers to libelf after open returns and the same code
 * serves files and memory images (the fuzzer). Untrusted input throughout: every count comes
 * from a section size libelf has checked against the file, every string from elf_strptr.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/grow.h"
#include "probe/elf_sym.h"
#include "util/log.h"
#include "probe/symmatch.h"

/* Version indexes are 15 bits; bit 15 of a .gnu.version entry marks a hidden (name@VER) one. */
#define VERSYM_HIDDEN 0x8000
#define VERSYM_INDEX 0x7fff

struct sym_vec {
	struct elf_sym *v;
	size_t n, cap;
};

/* Version index -> name, from .gnu.version_d. Names point into libelf's string table. */
struct ver_table {
	const char **names;
	size_t n;
};

static void sym_clear(struct elf_sym *s)
{
	free(s->name);
	free(s->version);
	free(s->demangled);
	free(s->display);
	memset(s, 0, sizeof(*s));
}

static int sym_vec_push(struct sym_vec *sv, const struct elf_sym *s)
{
	if (grow(&sv->v, &sv->cap, sv->n + 1, sizeof(*sv->v)))
		return -ENOMEM;
	sv->v[sv->n++] = *s;
	return 0;
}

/* libelf quietly treats header tables that lie outside the file as empty; here that means a
 * truncated or forged file, which must not parse as a binary without symbols. */
static int check_tables(Elf *e, const GElf_Ehdr *eh, size_t file_size, const char *name)
{
	size_t n_ph, n_sh;

	if (elf_getphdrnum(e, &n_ph) || elf_getshdrnum(e, &n_sh))
		return -ENOEXEC;
	if (!n_ph || !eh->e_phentsize ||
	    eh->e_phentsize != gelf_fsize(e, ELF_T_PHDR, 1, EV_CURRENT) ||
	    eh->e_phoff > file_size || n_ph > (file_size - eh->e_phoff) / eh->e_phentsize) {
		pr_debug("%s: program headers missing or outside the file\n", name);
		return -ENOEXEC;
	}
	if (!eh->e_shoff)
		return 0;
	if (!n_sh || !eh->e_shentsize ||
	    eh->e_shentsize != gelf_fsize(e, ELF_T_SHDR, 1, EV_CURRENT) ||
	    eh->e_shoff > file_size || n_sh > (file_size - eh->e_shoff) / eh->e_shentsize) {
		pr_debug("%s: section headers outside the file\n", name);
		return -ENOEXEC;
	}
	return 0;
}

static int read_segments(Elf *e, size_t file_size, struct elf_file *f)
{
	size_t n, i;

	if (elf_getphdrnum(e, &n))
		return -ENOEXEC;
	f->segs = calloc(n ? n : 1, sizeof(*f->segs));
	if (!f->segs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD)
			continue;
		/* Mapping bytes the file lacks, or more file bytes than memory (the kernel refuses
		 * that too), means a truncated or forged file. */
		if (ph.p_offset > file_size || ph.p_filesz > file_size - ph.p_offset ||
		    ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr) {
			pr_debug("%s: PT_LOAD %zu is inconsistent with the file\n", f->path, i);
			return -ENOEXEC;
		}
		f->segs[f->n_segs++] = (struct elf_seg){
		    .vaddr = ph.p_vaddr,
		    .memsz = ph.p_memsz,
		    .filesz = ph.p_filesz,
		    .offset = ph.p_offset,
		    .exec = ph.p_flags & PF_X,
		};
	}
	if (!f->n_segs) {
		pr_debug("%s: no loadable segment\n", f->path);
		return -ENOEXEC;
	}
	return 0;
}

static int read_verdefs(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct ver_table *vt)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t off = 0, i;

	if (!data)
		return -ENOEXEC;
	/* sh_info is the entry count; vd_next chains them. Both are bounded so a loop in the
	 * chain or a huge count cannot spin. */
	for (i = 0; i < sh->sh_info && i <= VERSYM_INDEX; i++) {
		GElf_Verdef vd;
		GElf_Verdaux va;
		const char *name;
		size_t ndx;

		if (off > INT_MAX || !gelf_getverdef(data, (int)off, &vd))
			break;
		ndx = vd.vd_ndx & VERSYM_INDEX;
		/* The base entry names the file itself, not a version. */
		if (!(vd.vd_flags & VER_FLG_BASE) && vd.vd_cnt && off + vd.vd_aux <= INT_MAX &&
		    gelf_getverdaux(data, (int)(off + vd.vd_aux), &va)) {
			name = elf_strptr(e, sh->sh_link, va.vda_name);
			if (name && *name) {
				if (ndx >= vt->n) {
					const char **v = realloc(vt->names, (ndx + 1) * sizeof(*v));

					if (!v)
						return -ENOMEM;
					memset(v + vt->n, 0, (ndx + 1 - vt->n) * sizeof(*v));
					vt->names = v;
					vt->n = ndx + 1;
				}
				vt->names[ndx] = name;
			}
		}
		if (!vd.vd_next)
			break;
		off += vd.vd_next;
	}
	return 0;
}

static int read_soname(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct elf_file *f)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t ent = gelf_fsize(e, ELF_T_DYN, 1, EV_CURRENT);
	size_t i, n;

	if (!data || !ent)
		return -ENOEXEC;
	n = data->d_size / ent;
	for (i = 0; i < n; i++) {
		GElf_Dyn dyn;
		const char *s;

		if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_SONAME)
			continue;
		s = elf_strptr(e, sh->sh_link, dyn.d_un.d_val);
		if (s && *s && !f->soname) {
			f->soname = strdup(s);
			if (!f->soname)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Builds one elf_sym from raw symbol @sym named @raw, whose .gnu.version entry is @versym (0 if
 * none). Returns 1 if added, 0 if it is not a defined function, or -ENOMEM. */
static int add_sym(struct sym_vec *sv, const GElf_Sym *sym, const char *raw, uint16_t versym,
		   const struct ver_table *vt)
{
	struct elf_sym s = {0};
	const char *at, *ver = NULL;
	size_t len;
	int type = GELF_ST_TYPE(sym->st_info), bind = GELF_ST_BIND(sym->st_info);

	if (type != STT_FUNC && type != STT_GNU_IFUNC)
		return 0;
	/* Imports are SHN_UNDEF; an SHN_ABS "function" is not code inside this object. */
	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx == SHN_ABS || !sym->st_value)
		return 0;
	if (!raw || !*raw)
		return 0;

	/* .symtab spells versions into the name: foo@VER (hidden) or foo@@VER (default). */
	at = strchr(raw, '@');
	len = at ? (size_t)(at - raw) : strlen(raw);
	if (!len)
		return 0;
	if (at) {
		s.default_version = at[1] == '@';
		ver = at + (s.default_version ? 2 : 1);
		if (!*ver)
			ver = NULL;
	} else {
		size_t ndx = versym & VERSYM_INDEX;

		/* 0 is local, 1 the unversioned global base; only verdef indexes name versions. */
		if (ndx >= 2 && ndx < vt->n && vt->names[ndx]) {
			ver = vt->names[ndx];
			s.default_version = !(versym & VERSYM_HIDDEN);
		}
	}

	s.name = strndup(raw, len);
	s.version = ver ? strdup(ver) : NULL;
	if (!s.name || (ver && !s.version)) {
		sym_clear(&s);
		return -ENOMEM;
	}
	s.vaddr = sym->st_value;
	s.size = sym->st_size;
	s.global = bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE;
	s.ifunc = type == STT_GNU_IFUNC;
	if (sym_vec_push(sv, &s)) {
		sym_clear(&s);
		return -ENOMEM;
	}
	return 1;
}

static Elf_Scn *find_versym(Elf *e, size_t symtab_ndx)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym &&
		    sh.sh_link == symtab_ndx)
			return scn;
	}
	return NULL;
}

static int read_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, const struct ver_table *vt,
		       struct sym_vec *sv)
{
	Elf_Data *data = elf_getdata(scn, NULL), *vdata = NULL;
	size_t ent = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
	const unsigned char *versym = NULL;
	size_t i, n, n_versym = 0;
	Elf_Scn *vscn;

	if (sh->sh_type == SHT_NOBITS)
		return 0;
	if (!data || !ent)
		return -ENOEXEC;
	if (sh->sh_type == SHT_DYNSYM && (vscn = find_versym(e, elf_ndxscn(scn)))) {
		vdata = elf_getdata(vscn, NULL);
		if (!vdata)
			return -ENOEXEC;
		/* libelf converts .gnu.version to host order, but a memory image may leave it
		 * unaligned, hence the memcpy below. */
		if (vdata->d_buf && vdata->d_type == ELF_T_HALF) {
			versym = vdata->d_buf;
			n_versym = vdata->d_size / sizeof(uint16_t);
		}
	}

	n = data->d_size / ent;
	/* Entry 0 is the reserved null symbol. */
	for (i = 1; i < n; i++) {
		uint16_t ver = 0;
		GElf_Sym sym;
		int err;

		if (i > INT_MAX || !gelf_getsym(data, (int)i, &sym))
			return -ENOEXEC;
		/* Cheap type filter before the string lookup; add_sym checks the rest. */
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
		    GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC)
			continue;
		if (i < n_versym)
			memcpy(&ver, versym + i * sizeof(ver), sizeof(ver));
		err = add_sym(sv, &sym, elf_strptr(e, sh->sh_link, sym.st_name), ver, vt);
		if (err < 0)
			return err;
	}
	return 0;
}

/* The Go linker writes the module's build information into this section of every program. */
static bool is_go_buildinfo(Elf *e, const GElf_Shdr *sh)
{
	size_t shstrndx;
	const char *name;

	if (elf_getshdrstrndx(e, &shstrndx))
		return false;
	name = elf_strptr(e, shstrndx, sh->sh_name);
	return name && strcmp(name, ".go.buildinfo") == 0;
}

static int read_sections(Elf *e, struct elf_file *f, struct sym_vec *sv)
{
	struct ver_table vt = {0};
	Elf_Scn *scn = NULL;
	int err = 0;

	f->stripped = true;
	/* Versions first: .dynsym entries are named through them. */
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh)) {
			err = -ENOEXEC;
			goto cleanup;
		}
		if (sh.sh_type == SHT_PROGBITS && is_go_buildinfo(e, &sh))
			f->go = true;
		if (sh.sh_type == SHT_GNU_verdef)
			err = read_verdefs(e, scn, &sh, &vt);
		else if (sh.sh_type == SHT_DYNAMIC)
			err = read_soname(e, scn, &sh, f);
		if (err)
			goto cleanup;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh)) {
			err = -ENOEXEC;
			goto cleanup;
		}
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			f->stripped = false;
		err = read_symtab(e, scn, &sh, &vt, sv);
		if (err)
			goto cleanup;
	}
cleanup:
	free(vt.names);
	return err;
}

static int cmp_identity(const void *pa, const void *pb)
{
	const struct elf_sym *a = pa, *b = pb;
	int c;

	if (a->vaddr != b->vaddr)
		return a->vaddr < b->vaddr ? -1 : 1;
	c = strcmp(a->name, b->name);
	if (c)
		return c;
	/* Versioned spellings first so an unversioned duplicate folds into one of them. */
	if (!a->version || !b->version)
		return !a->version - !b->version;
	return strcmp(a->version, b->version);
}

static size_t leading_underscores(const char *s)
{
	size_t n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

/* Among aliases of one address, the name a user most likely means comes first. */
static int cmp_present(const void *pa, const void *pb)
{
	const struct elf_sym *a = pa, *b = pb;
	size_t ua, ub, la, lb;
	int c;

	if (a->vaddr != b->vaddr)
		return a->vaddr < b->vaddr ? -1 : 1;
	if (a->global != b->global)
		return a->global ? -1 : 1;
	ua = leading_underscores(a->name);
	ub = leading_underscores(b->name);
	if (ua != ub)
		return ua < ub ? -1 : 1;
	la = strlen(a->name);
	lb = strlen(b->name);
	if (la != lb)
		return la < lb ? -1 : 1;
	c = strcmp(a->name, b->name);
	if (c)
		return c;
	if (a->default_version != b->default_version)
		return a->default_version ? -1 : 1;
	return cmp_identity(pa, pb);
}

/* Folds duplicates (the same function seen in .symtab and .dynsym), drops functions no
 * segment maps from the file, then names (sym_annotate) and orders what is left. */
static int finish_syms(struct elf_file *f, struct sym_vec *sv)
{
	size_t i, out = 0;

	if (sv->n)
		qsort(sv->v, sv->n, sizeof(*sv->v), cmp_identity);
	for (i = 0; i < sv->n; i++) {
		struct elf_sym *s = &sv->v[i], *prev = out ? &sv->v[out - 1] : NULL;

		if (prev && prev->vaddr == s->vaddr && !strcmp(prev->name, s->name) &&
		    (!s->version || (prev->version && !strcmp(prev->version, s->version)))) {
			prev->global |= s->global;
			prev->ifunc |= s->ifunc;
			prev->default_version |= s->default_version;
			if (s->size > prev->size)
				prev->size = s->size;
			sym_clear(s);
			continue;
		}
		if (elf_vaddr_to_offset(f, s->vaddr, &s->offset)) {
			pr_debug("%s: %s at 0x%llx is in no loadable segment, skipped\n", f->path,
				 s->name, (unsigned long long)s->vaddr);
			sym_clear(s);
			continue;
		}
		sv->v[out++] = *s;
	}
	sv->n = out;
	for (i = 0; i < sv->n; i++) {
		int err = sym_annotate(&sv->v[i]);

		if (err)
			return err;
	}
	if (sv->n)
		qsort(sv->v, sv->n, sizeof(*sv->v), cmp_present);
	f->syms = sv->v;
	f->n_syms = sv->n;
	sv->v = NULL;
	sv->n = sv->cap = 0;
	return 0;
}

static int parse_elf(Elf *e, size_t file_size, const char *name, struct elf_file **out)
{
	struct sym_vec sv = {0};
	struct elf_file *f = NULL;
	GElf_Ehdr eh;
	size_t i;
	int err;

	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		pr_debug("%s: not an ELF file: %s\n", name, elf_errmsg(-1));
		err = -ENOEXEC;
		goto cleanup;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		pr_debug("%s: ELF type %u is neither an executable nor a shared object\n", name,
			 (unsigned)eh.e_type);
		err = -ENOEXEC;
		goto cleanup;
	}
	err = check_tables(e, &eh, file_size, name);
	if (err)
		goto cleanup;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(name))) {
		err = -ENOMEM;
		goto cleanup;
	}
	f->pie = eh.e_type == ET_DYN;
	f->entry_vaddr = eh.e_entry;
	err = read_segments(e, file_size, f);
	if (err)
		goto cleanup;
	if (elf_vaddr_to_offset(f, f->entry_vaddr, &f->entry_offset))
		f->entry_offset = 0;
	err = read_sections(e, f, &sv);
	if (err)
		goto cleanup;
	err = finish_syms(f, &sv);
	if (err)
		goto cleanup;
	pr_debug("%s: %zu functions%s%s\n", f->path, f->n_syms, f->stripped ? ", stripped" : "",
		 f->pie ? ", ET_DYN" : "");
	*out = f;
	f = NULL;
cleanup:
	if (err == -ENOEXEC)
		pr_debug("%s: malformed ELF\n", name);
	for (i = 0; i < sv.n; i++)
		sym_clear(&sv.v[i]);
	free(sv.v);
	elf_file_free(f);
	return err;
}

static bool libelf_ready(void)
{
	static bool ready;

	if (!ready)
		ready = elf_version(EV_CURRENT) != EV_NONE;
	return ready;
}

int elf_file_open(const char *path, struct elf_file **out)
{
	Elf *e = NULL;
	struct stat st;
	int fd = -1, err;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < EI_NIDENT || !libelf_ready()) {
		err = -ENOEXEC;
		goto cleanup;
	}
	/* ELF_C_READ, not mmap: a file truncated under us must fail a read, not raise SIGBUS. */
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		pr_debug("%s: %s\n", path, elf_errmsg(-1));
		err = -ENOEXEC;
		goto cleanup;
	}
	err = parse_elf(e, (size_t)st.st_size, path, out);
cleanup:
	elf_end(e);
	if (fd >= 0)
		close(fd);
	return err;
}

int elf_file_open_mem(const void *buf, size_t len, const char *name, struct elf_file **out)
{
	char *copy = NULL;
	Elf *e = NULL;
	int err;

	if ((!buf && len) || !out)
		return -EINVAL;
	*out = NULL;
	if (!name)
		name = "(memory)";
	if (len < EI_NIDENT || !libelf_ready())
		return -ENOEXEC;
	/* libelf takes a writable image and may convert it in place; the caller's stays intact. */
	copy = malloc(len);
	if (!copy) {
		err = -ENOMEM;
		goto cleanup;
	}
	memcpy(copy, buf, len);
	e = elf_memory(copy, len);
	if (!e) {
		pr_debug("%s: %s\n", name, elf_errmsg(-1));
		err = -ENOEXEC;
		goto cleanup;
	}
	err = parse_elf(e, len, name, out);
cleanup:
	elf_end(e);
	free(copy);
	return err;
}

void elf_file_free(struct elf_file *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n_syms; i++)
		sym_clear(&f->syms[i]);
	free(f->syms);
	free(f->segs);
	free(f->soname);
	free(f->path);
	free(f);
}

int elf_vaddr_to_offset(const struct elf_file *f, uint64_t vaddr, uint64_t *off)
{
	int pass;
	size_t i;

	/* Executable segments first: where text and data share an address range, code wins. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < f->n_segs; i++) {
			const struct elf_seg *g = &f->segs[i];

			if (g->exec != (pass == 0))
				continue;
			if (vaddr >= g->vaddr && vaddr - g->vaddr < g->filesz) {
				*off = vaddr - g->vaddr + g->offset;
				return 0;
			}
		}
	}
	return -ENOENT;
}
