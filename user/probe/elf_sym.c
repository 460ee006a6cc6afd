// SPDX-License-Identifier: MIT
/*
 * ELF symbol resolution with libelf. Open reads the headers, the segments, the versions and the
 * symbol tables (libelf's copy of them stays with the elf_file, the file descriptor does not),
 * and indexes the entries that may be functions by a hash of their names. Symbols are built
 * from that index only when asked: those of one name (elf_file_named, what probing SSL_write
 * needs) or all (elf_file_load, what a glob needs); a name and a version are copied out once.
 * The same code serves files and memory images (the fuzzer). Untrusted input throughout: every
 * count comes from a section size libelf has checked against the file, every string from
 * elf_strptr, and every entry is read once at open, so a later lookup cannot meet a bad one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strchrnul */
#endif
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

/* Names and versions live in a few large blocks rather than one malloc each: a big executable
 * defines ~100k functions, and a malloc/free per name was a third of the time to open one. */
struct str_block {
	struct str_block *next;
	size_t used, cap;
	char data[];
};

#define STR_BLOCK_MIN (256 * 1024)

/* Version index -> name, from .gnu.version_d. Names point into libelf's string table. */
struct ver_table {
	const char **names;
	size_t n;
};

/* A symbol table (.symtab or .dynsym) as libelf holds it, with its .gnu.version entries. */
struct raw_tab {
	Elf_Data *data;
	const unsigned char *versym;
	size_t n_versym, strndx;
};

/* One entry of a raw_tab that may be a defined function, and its name's hash chain. */
struct raw_ref {
	uint32_t tab, idx, hash;
	uint32_t next; /* index + 1 of the next raw_ref in the same bucket, 0 at the end */
};

/* The answer of one elf_file_named or elf_file_select lookup, kept for the next caller. */
struct elf_named {
	struct elf_named *next;
	char *name;
	struct elf_sym *syms;
	size_t n;
};

/* What stays of the file after open: libelf's copy of the symbol tables, indexed by name. */
struct elf_raw {
	Elf *elf;
	void *image; /* the copy of a memory image libelf reads (elf_file_open_mem) */
	struct raw_tab *tabs;
	size_t n_tabs, cap_tabs;
	struct ver_table vt;
	struct raw_ref *refs;
	size_t n_refs, cap_refs;
	uint32_t *head; /* bucket -> index + 1 of its first raw_ref */
	size_t mask;
	struct elf_named *named, *selected;
	bool loaded; /* f->syms holds every function */
};

/* Returns a copy of the @len bytes at @s, NUL-terminated, owned by @f's string blocks. */
static char *str_copy(struct elf_file *f, const char *s, size_t len)
{
	struct str_block *b = f->strs;
	char *out;

	if (!b || b->cap - b->used < len + 1) {
		size_t cap = len + 1 > STR_BLOCK_MIN ? len + 1 : STR_BLOCK_MIN;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = f->strs;
		b->used = 0;
		b->cap = cap;
		f->strs = b;
	}
	out = b->data + b->used;
	memcpy(out, s, len);
	out[len] = '\0';
	b->used += len + 1;
	return out;
}

/* Frees what a symbol owns itself: its name and version belong to the file's string blocks. */
static void sym_clear(struct elf_sym *s)
{
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
static int add_sym(struct elf_file *f, struct sym_vec *sv, const GElf_Sym *sym, const char *raw,
		   uint16_t versym, const struct ver_table *vt)
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

	s.name = str_copy(f, raw, len);
	s.version = ver ? str_copy(f, ver, strlen(ver)) : NULL;
	if (!s.name || (ver && !s.version))
		return -ENOMEM;
	s.vaddr = sym->st_value;
	s.size = sym->st_size;
	s.global = bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE;
	s.ifunc = type == STT_GNU_IFUNC;
	if (sym_vec_push(sv, &s))
		return -ENOMEM;
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

static uint64_t load8(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Hash of a symbol name up to its @VER suffix; stores the length of that part in *@len. Every
 * name of a file is hashed at open (~200k in a big executable), so this reads a few words (the
 * length, the first, middle and last 8 bytes) instead of every byte: names that collide are
 * told apart by the comparison after.
 */
static uint32_t name_hash(const char *s, size_t *len)
{
	size_t n = (size_t)(strchrnul(s, '@') - s);
	uint64_t h = n * 0x9e3779b97f4a7c15ull;

	if (n >= 8) {
		h = (h ^ load8(s)) * 0xff51afd7ed558ccdull;
		h = (h ^ load8(s + n / 2 - 4)) * 0xc4ceb9fe1a85ec53ull;
		h = (h ^ load8(s + n - 8)) * 0xff51afd7ed558ccdull;
	} else {
		uint64_t v = 0;

		memcpy(&v, s, n);
		h = (h ^ v) * 0xff51afd7ed558ccdull;
	}
	*len = n;
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* Reads the raw symbol @ref refers to; the entry was checked when it was indexed. */
static const char *raw_sym(const struct elf_raw *r, const struct raw_ref *ref, GElf_Sym *sym,
			   uint16_t *ver)
{
	const struct raw_tab *t = &r->tabs[ref->tab];

	*ver = 0;
	if (!gelf_getsym(t->data, (int)ref->idx, sym))
		return NULL;
	if (ref->idx < t->n_versym)
		memcpy(ver, t->versym + ref->idx * sizeof(*ver), sizeof(*ver));
	return elf_strptr(r->elf, t->strndx, sym->st_name);
}

/*
 * Indexes one symbol table: every entry that may be a defined function (what add_sym takes)
 * gets a raw_ref and the hash of its name. Nothing is copied: symbols are built from these on
 * demand, all (elf_file_load) or by name (elf_file_named).
 */
static int index_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct elf_raw *r)
{
	Elf_Data *data = elf_getdata(scn, NULL), *vdata = NULL;
	size_t ent = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
	struct raw_tab *t;
	size_t i, n;
	Elf_Scn *vscn;

	if (sh->sh_type == SHT_NOBITS)
		return 0;
	if (!data || !ent)
		return -ENOEXEC;
	if (grow(&r->tabs, &r->cap_tabs, r->n_tabs + 1, sizeof(*r->tabs)))
		return -ENOMEM;
	t = &r->tabs[r->n_tabs];
	memset(t, 0, sizeof(*t));
	t->data = data;
	t->strndx = sh->sh_link;
	if (sh->sh_type == SHT_DYNSYM && (vscn = find_versym(e, elf_ndxscn(scn)))) {
		vdata = elf_getdata(vscn, NULL);
		if (!vdata)
			return -ENOEXEC;
		/* libelf converts .gnu.version to host order, but a memory image may leave it
		 * unaligned, hence the memcpy in raw_sym. */
		if (vdata->d_buf && vdata->d_type == ELF_T_HALF) {
			t->versym = vdata->d_buf;
			t->n_versym = vdata->d_size / sizeof(uint16_t);
		}
	}

	n = data->d_size / ent;
	/* Entry 0 is the reserved null symbol. */
	for (i = 1; i < n; i++) {
		const char *raw;
		GElf_Sym sym;
		size_t len;
		int type;

		if (i > INT_MAX || i > UINT32_MAX || !gelf_getsym(data, (int)i, &sym))
			return -ENOEXEC;
		/* The same tests as add_sym, so what is indexed is exactly what it takes. */
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS || !sym.st_value)
			continue;
		raw = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!raw || !*raw || *raw == '@')
			continue;
		if (grow(&r->refs, &r->cap_refs, r->n_refs + 1, sizeof(*r->refs)))
			return -ENOMEM;
		r->refs[r->n_refs++] = (struct raw_ref){
		    .tab = (uint32_t)r->n_tabs,
		    .idx = (uint32_t)i,
		    .hash = name_hash(raw, &len),
		};
	}
	r->n_tabs++;
	return 0;
}

/* Chains the raw_refs by name hash; each chain runs in raw_ref order. */
static int chain_refs(struct elf_raw *r)
{
	size_t nb = 16, i;

	if (r->n_refs >= UINT32_MAX)
		return -ENOMEM;
	while (nb < r->n_refs)
		nb <<= 1;
	r->mask = nb - 1;
	r->head = calloc(nb, sizeof(*r->head));
	if (!r->head)
		return -ENOMEM;
	for (i = r->n_refs; i > 0; i--) {
		uint32_t *head = &r->head[r->refs[i - 1].hash & r->mask];

		r->refs[i - 1].next = *head;
		*head = (uint32_t)i;
	}
	return 0;
}

/* The go flag, the versions, the soname and the index of every symbol table. */
static int read_sections(Elf *e, struct elf_file *f)
{
	struct elf_raw *r = f->raw;
	Elf_Scn *scn = NULL;
	int err = 0;

	f->stripped = true;
	/* Versions first: .dynsym entries are named through them. */
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type == SHT_PROGBITS && is_go_buildinfo(e, &sh))
			f->go = true;
		if (sh.sh_type == SHT_GNU_verdef)
			err = read_verdefs(e, scn, &sh, &r->vt);
		else if (sh.sh_type == SHT_DYNAMIC)
			err = read_soname(e, scn, &sh, f);
		if (err)
			return err;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			f->stripped = false;
		err = index_symtab(e, scn, &sh, r);
		if (err)
			return err;
	}
	return chain_refs(r);
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
 * segment maps from the file, then orders what is left into *@syms and *@n. Demangled and display
 * names are left to sym_annotate, run on demand (symmatch.h). Run on a subset of the symbols
 * (all of one name), it gives that subset in the order the whole would have it. */
static void finish_syms(struct elf_file *f, struct sym_vec *sv, struct elf_sym **syms, size_t *n)
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
	/* Already in vaddr order: only the aliases of one address need ordering. */
	for (i = 0; i < sv->n; i = out) {
		sv->v[i].fragment = sym_name_is_fragment(sv->v[i].name);
		for (out = i + 1; out < sv->n && sv->v[out].vaddr == sv->v[i].vaddr; out++)
			sv->v[out].fragment = sym_name_is_fragment(sv->v[out].name);
		if (out - i > 1)
			qsort(sv->v + i, out - i, sizeof(*sv->v), cmp_present);
	}
	*syms = sv->v;
	*n = sv->n;
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

static void sym_vec_free(struct sym_vec *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		sym_clear(&sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* Builds the symbol of @ref into @sv (or nothing if add_sym does not take it). */
static int add_ref(struct elf_file *f, struct sym_vec *sv, const struct raw_ref *ref)
{
	uint16_t ver;
	GElf_Sym sym;
	const char *raw = raw_sym(f->raw, ref, &sym, &ver);
	int err;

	if (!raw)
		return 0;
	err = add_sym(f, sv, &sym, raw, ver, &f->raw->vt);
	return err < 0 ? err : 0;
}

int elf_file_load(struct elf_file *f)
{
	struct sym_vec sv = {0};
	size_t i;
	int err;

	if (!f)
		return -EINVAL;
	/* a file built by hand (tests) has no tables: its syms are all there is */
	if (!f->raw || f->raw->loaded)
		return 0;
	for (i = 0; i < f->raw->n_refs; i++) {
		err = add_ref(f, &sv, &f->raw->refs[i]);
		if (err) {
			sym_vec_free(&sv);
			return err;
		}
	}
	finish_syms(f, &sv, &f->syms, &f->n_syms);
	f->raw->loaded = true;
	pr_debug("%s: %zu functions%s%s\n", f->path, f->n_syms, f->stripped ? ", stripped" : "",
		 f->pie ? ", ET_DYN" : "");
	return 0;
}

int elf_file_named(struct elf_file *f, const char *name, const struct elf_sym **syms, size_t *n)
{
	struct elf_raw *r = f ? f->raw : NULL;
	struct sym_vec sv = {0};
	struct elf_named *q;
	uint32_t h, at;
	size_t len;
	int err;

	if (!r || !name || !syms || !n)
		return -EINVAL;
	*syms = NULL;
	*n = 0;
	for (q = r->named; q; q = q->next) {
		if (!strcmp(q->name, name)) {
			*syms = q->syms;
			*n = q->n;
			return 0;
		}
	}
	h = name_hash(name, &len);
	/* A name with '@' in it is no symbol name: the version is kept apart. */
	for (at = name[len] ? 0 : r->head[h & r->mask]; at; at = r->refs[at - 1].next) {
		const struct raw_ref *ref = &r->refs[at - 1];
		const char *raw;
		uint16_t ver;
		GElf_Sym sym;

		if (ref->hash != h || !(raw = raw_sym(r, ref, &sym, &ver)))
			continue;
		if (strncmp(raw, name, len) || (raw[len] && raw[len] != '@'))
			continue;
		err = add_sym(f, &sv, &sym, raw, ver, &r->vt);
		if (err < 0)
			goto nomem;
	}
	q = calloc(1, sizeof(*q));
	if (!q || !(q->name = strdup(name))) {
		free(q);
		goto nomem;
	}
	finish_syms(f, &sv, &q->syms, &q->n);
	q->next = r->named;
	r->named = q;
	*syms = q->syms;
	*n = q->n;
	return 0;
nomem:
	sym_vec_free(&sv);
	return -ENOMEM;
}

/* The version add_sym gives raw name @raw whose name part is @len long, or NULL. */
static const char *raw_version(const char *raw, size_t len, uint16_t versym,
			       const struct ver_table *vt)
{
	size_t ndx = versym & VERSYM_INDEX;

	if (raw[len] == '@') {
		const char *v = raw + len + (raw[len + 1] == '@' ? 2 : 1);

		return *v ? v : NULL;
	}
	return ndx >= 2 && ndx < vt->n ? vt->names[ndx] : NULL;
}

int elf_file_select(struct elf_file *f, const char *key, elf_sym_keep keep, void *arg,
		    struct elf_sym **syms, size_t *n)
{
	struct elf_raw *r = f ? f->raw : NULL;
	struct sym_vec sv = {0};
	struct elf_named *q;
	size_t i;
	int err;

	if (!r || !key || !keep || !syms || !n)
		return -EINVAL;
	*syms = NULL;
	*n = 0;
	for (q = r->selected; q; q = q->next) {
		if (!strcmp(q->name, key)) {
			*syms = q->syms;
			*n = q->n;
			return 0;
		}
	}
	for (i = 0; i < r->n_refs; i++) {
		const char *raw;
		uint16_t ver;
		GElf_Sym sym;
		size_t len;

		if (!(raw = raw_sym(r, &r->refs[i], &sym, &ver)))
			continue;
		len = (size_t)(strchrnul(raw, '@') - raw);
		if (!keep(raw, len, raw_version(raw, len, ver, &r->vt), arg))
			continue;
		err = add_sym(f, &sv, &sym, raw, ver, &r->vt);
		if (err < 0)
			goto nomem;
	}
	q = calloc(1, sizeof(*q));
	if (!q || !(q->name = strdup(key))) {
		free(q);
		goto nomem;
	}
	finish_syms(f, &sv, &q->syms, &q->n);
	q->next = r->selected;
	r->selected = q;
	*syms = q->syms;
	*n = q->n;
	return 0;
nomem:
	sym_vec_free(&sv);
	return -ENOMEM;
}

bool elf_file_loaded(const struct elf_file *f)
{
	return !f->raw || f->raw->loaded;
}

static void named_free(struct elf_named *q)
{
	struct elf_named *next;
	size_t i;

	for (; q; q = next) {
		next = q->next;
		for (i = 0; i < q->n; i++)
			sym_clear(&q->syms[i]);
		free(q->syms);
		free(q->name);
		free(q);
	}
}

static void raw_free(struct elf_raw *r)
{
	if (!r)
		return;
	named_free(r->named);
	named_free(r->selected);
	elf_end(r->elf);
	free(r->image);
	free(r->tabs);
	free(r->vt.names);
	free(r->refs);
	free(r->head);
	free(r);
}

/* Reads the headers and indexes the symbol tables of @e; takes @e (and @image) in all cases. */
static int parse_elf(Elf *e, void *image, size_t file_size, const char *name, struct elf_file **out)
{
	struct elf_file *f = NULL;
	GElf_Ehdr eh;
	int err;

	f = calloc(1, sizeof(*f));
	if (!f || !(f->raw = calloc(1, sizeof(*f->raw)))) {
		free(f);
		elf_end(e);
		free(image);
		return -ENOMEM;
	}
	f->raw->elf = e;
	f->raw->image = image;
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
	if (!(f->path = strdup(name))) {
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
	err = read_sections(e, f);
	if (err)
		goto cleanup;
	/* Everything later lookups read is in memory now: the file descriptor is not kept. */
	if (!image)
		elf_cntl(e, ELF_C_FDDONE);
	*out = f;
	f = NULL;
cleanup:
	if (err == -ENOEXEC)
		pr_debug("%s: malformed ELF\n", name);
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

/* Opens the ELF file @fd, and reads every function unless @lazy. */
static int open_fd(int fd, const char *name, bool lazy, struct elf_file **out)
{
	Elf *e;
	struct stat st;
	int err;

	if (fd < 0 || !name || !out)
		return -EINVAL;
	*out = NULL;
	if (fstat(fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) || st.st_size < EI_NIDENT || !libelf_ready())
		return -ENOEXEC;
	/* ELF_C_READ, not mmap: a file truncated under us must fail a read, not raise SIGBUS. */
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		pr_debug("%s: %s\n", name, elf_errmsg(-1));
		return -ENOEXEC;
	}
	err = parse_elf(e, NULL, (size_t)st.st_size, name, out);
	if (!err && !lazy && (err = elf_file_load(*out))) {
		elf_file_free(*out);
		*out = NULL;
	}
	return err;
}

int elf_file_open(const char *path, struct elf_file **out)
{
	int fd, err;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = open_fd(fd, path, false, out);
	close(fd);
	return err;
}

int elf_file_open_fd(int fd, const char *name, struct elf_file **out)
{
	return open_fd(fd, name, true, out);
}

int elf_file_open_mem(const void *buf, size_t len, const char *name, struct elf_file **out)
{
	char *copy;
	Elf *e;
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
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	e = elf_memory(copy, len);
	if (!e) {
		pr_debug("%s: %s\n", name, elf_errmsg(-1));
		free(copy);
		return -ENOEXEC;
	}
	err = parse_elf(e, copy, len, name, out);
	if (!err && (err = elf_file_load(*out))) {
		elf_file_free(*out);
		*out = NULL;
	}
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
	raw_free(f->raw);
	while (f->strs) {
		struct str_block *b = f->strs;

		f->strs = b->next;
		free(b);
	}
	free(f->segs);
	free(f->soname);
	free(f->path);
	free(f);
}

size_t elf_file_bytes(const struct elf_file *f)
{
	const struct str_block *b;
	size_t n = sizeof(*f) + f->n_syms * sizeof(*f->syms) + f->n_segs * sizeof(*f->segs);

	for (b = f->strs; b; b = b->next)
		n += sizeof(*b) + b->cap;
	if (f->raw)
		n +=
		    (f->raw->mask + 1) * sizeof(uint32_t) + f->raw->n_refs * sizeof(struct raw_ref);
	return n;
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
