/* SPDX-License-Identifier: MIT */
/*
 * ELF symbol resolution: owns reading an executable or shared object (from a path or memory)
 * into the list of functions it defines, with their versions, demangled names and the file
 * offsets uprobes attach to. Both .symtab and .dynsym are read, so stripped binaries still
 * resolve their exported functions. Pure parsing: no BPF, no /proc.
 */
#ifndef BT_ELF_SYM_H
#define BT_ELF_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_sym {
	char *name;    /* symbol name without any @VER / @@VER suffix */
	char *version; /* "GLIBC_2.2.5" etc. from .gnu.version/.gnu.version_d, or NULL */
	/* full demangled C++ or Rust name ("ns::Cls::method(int) const"), or NULL */
	char *demangled;
	/* the name spans show (sym_display_name): demangled or raw, without compiler clone
	 * suffixes and Rust hashes ("ns::Cls::method(int) const" for "... [clone .isra.0]") */
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
	 */
	struct elf_sym *syms;
	size_t n_syms;
	struct elf_seg *segs; /* PT_LOAD segments in program header order */
	size_t n_segs;
};

/* Parses the ELF file at @path into *@out (free with elf_file_free). Returns 0 or -errno:
 * -ENOENT, -EACCES, -EISDIR, -ENOEXEC for a non-ELF, unsupported or corrupt file, -ENOMEM. */
int elf_file_open(const char *path, struct elf_file **out);
/* Same as elf_file_open for an image in memory; @name becomes f->path. @buf is not retained. */
int elf_file_open_mem(const void *buf, size_t len, const char *name, struct elf_file **out);
/* Frees @f and everything it owns; NULL is a no-op. */
void elf_file_free(struct elf_file *f);
/* Stores in *@off the file offset of @vaddr, via the PT_LOAD segment holding it (executable
 * segments preferred). Returns 0, or -ENOENT if no segment maps @vaddr from the file. */
int elf_vaddr_to_offset(const struct elf_file *f, uint64_t vaddr, uint64_t *off);

#endif
