/* SPDX-License-Identifier: MIT */
/*
 * ELF symbol resolution: owns reading an executable or shared object (from a path or memory)
 * into the list of functions it defines, with their versions and the file offsets uprobes
 * attach to. Both .symtab and .dynsym are read, so stripped binaries still resolve their
 * exported functions. Only what is asked is built: a file opened lazily (elf_file_open_fd) has
 * its symbol tables indexed by name, and builds the functions of one name (elf_file_named) or
 * all of them (elf_file_load) on demand; demangled names come later still (symmatch.h).
 * Pure parsing: no BPF, no /proc.
 */
#ifndef BT_ELF_SYM_H
#define BT_ELF_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct elf_sym {
	/* name and version are owned by the elf_file (never freed one by one) */
	char *name;    /* symbol name without any @VER / @@VER suffix */
	char *version; /* "GLIBC_2.2.5" etc. from .gnu.version/.gnu.version_d, or NULL */
	/*
	 * demangled and display are filled on demand by sym_annotate (symmatch.h), for the symbols
	 * a lookup needs, never at open: both are NULL until then, display is set after.
	 * demangled: full demangled C++ or Rust name ("ns::Cls::method(int) const"), or NULL.
	 * display: the name spans show (sym_display_name): demangled or raw, without compiler
	 * clone suffixes and Rust hashes ("ns::Cls::method(int) const" for "... [clone .isra.0]")
	 */
	char *demangled;
	char *display;
	uint64_t vaddr, size;
	uint64_t offset;      /* file offset of the first instruction: the uprobe offset */
	bool global;	      /* STB_GLOBAL/STB_WEAK */
	bool ifunc;	      /* STT_GNU_IFUNC: vaddr is the resolver, not the implementation */
	bool default_version; /* version is the default one (name@@VER); false for name@VER */
	bool fragment;	      /* a part of a function's body split off by the compiler (.cold,
			       * .__part.N): jumped to, never called, so never probed */
};

/* A PT_LOAD segment: the part of the file mapped at [vaddr, vaddr + filesz). */
struct elf_seg {
	uint64_t vaddr, memsz, filesz, offset;
	bool exec; /* PF_X */
};

struct str_block;
struct elf_raw;

struct elf_file {
	char *path;
	bool stripped;	       /* no .symtab */
	bool pie;	       /* ET_DYN */
	bool go;	       /* built by the Go toolchain (has a .go.buildinfo section) */
	uint64_t entry_vaddr;  /* e_entry */
	uint64_t entry_offset; /* file offset of e_entry; 0 if no segment maps it */
	char *soname;	       /* DT_SONAME or NULL */
	/*
	 * Defined functions (STT_FUNC/STT_GNU_IFUNC, st_shndx != SHN_UNDEF, value != 0) that lie in
	 * a PT_LOAD segment, sorted by vaddr. Aliases at one vaddr are adjacent, the most
	 * presentable first (global before local, fewer leading underscores, shorter name).
	 * Empty until elf_file_load for a file opened with elf_file_open_fd.
	 */
	struct elf_sym *syms;
	size_t n_syms;
	struct elf_seg *segs; /* PT_LOAD segments in program header order */
	size_t n_segs;
	struct str_block *strs; /* private: storage of names and versions */
	struct elf_raw *raw;	/* private: the symbol tables, indexed by name */
};

/* Parses the ELF file at @path into *@out (free with elf_file_free), every function loaded
 * (elf_file_load). Returns 0 or -errno: -ENOENT, -EACCES, -EISDIR, -ENOEXEC for a non-ELF,
 * unsupported or corrupt file, -ENOMEM. */
int elf_file_open(const char *path, struct elf_file **out);
/* Same as elf_file_open for the open file @fd (the caller closes it; @f does not keep it), named
 * @name, but lazily: headers, segments, versions and a name index of the symbol tables only. */
int elf_file_open_fd(int fd, const char *name, struct elf_file **out);
/* Same as elf_file_open for an image in memory; @name becomes f->path. @buf is not retained. */
int elf_file_open_mem(const void *buf, size_t len, const char *name, struct elf_file **out);
/* Frees @f and everything it owns; NULL is a no-op. */
void elf_file_free(struct elf_file *f);
/* Fills f->syms with every function if it is not yet. Returns 0 or -ENOMEM. */
int elf_file_load(struct elf_file *f);
/*
 * Stores in *@syms and *@n (owned by @f, valid until it is freed) the functions named exactly
 * @name (without version), ordered, folded and placed as in f->syms: the same answer as a
 * filter of f->syms by name, from a hash lookup instead of reading every symbol. Not annotated
 * (demangled and display NULL). Returns 0 or -ENOMEM.
 */
int elf_file_named(struct elf_file *f, const char *name, const struct elf_sym **syms, size_t *n);
/* A test on a symbol before it is built: its name (the first @len bytes of @name), its version
 * or NULL. True keeps it. */
typedef bool (*elf_sym_keep)(const char *name, size_t len, const char *version, void *arg);
/*
 * Stores in *@syms and *@n (owned by @f, valid until it is freed) the functions whose name and
 * version @keep accepts, ordered, folded and placed as in f->syms (for a test that keeps every
 * spelling of a symbol or none, the same as filtering f->syms). Answers are kept by @key: a
 * second call with the same @key returns the first answer without calling @keep. Returns 0 or
 * -ENOMEM.
 */
int elf_file_select(struct elf_file *f, const char *key, elf_sym_keep keep, void *arg,
		    struct elf_sym **syms, size_t *n);
/* Returns true if f->syms holds every function (elf_file_load ran, or @f was built by hand). */
bool elf_file_loaded(const struct elf_file *f);
/* Returns about how many bytes @f holds, demangled names made on demand left out. */
size_t elf_file_bytes(const struct elf_file *f);
/* Stores in *@off the file offset of @vaddr, via the PT_LOAD segment holding it (executable
 * segments preferred). Returns 0, or -ENOENT if no segment maps @vaddr from the file. */
int elf_vaddr_to_offset(const struct elf_file *f, uint64_t vaddr, uint64_t *off);

#endif
