/* SPDX-License-Identifier: MIT */
/*
 * Symbol matching: owns how a user's `-f [OBJECT:]GLOB` glob is compared with the symbols of an
 * elf_file (mangled, versioned and demangled spellings), C++ demangling, the names spans show,
 * and "did you mean" suggestions when nothing matches. Pure functions, no I/O.
 */
#ifndef BT_SYMMATCH_H
#define BT_SYMMATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "probe/elf_sym.h"

/* Returns the malloc'd demangled form of a C++ (Itanium ABI, "_Z") or Rust v0 ("_R") name,
 * caller frees; NULL if @mangled is not a mangled name (errno EINVAL) or memory ran out (errno
 * ENOMEM). Rust legacy names are Itanium-shaped and demangle as C++. */
char *sym_demangle(const char *mangled);

/* Returns true if shell glob @glob matches all of @name: '*' any run, '?' one character,
 * [abc] [a-z] [!a-z] [^a-z] classes, backslash escapes the next character. '/' and ':' are
 * ordinary characters; a '[' without its ']' is literal. */
bool sym_glob_match(const char *glob, const char *name);

/* Returns true if @glob matches @s by its mangled name, name@version (also name@@version for the
 * default version), display name (sym_display_name), full demangled name, or demangled name
 * without return type, parameter list and qualifiers ("ns::Cls::method"), also without template
 * arguments ("ns::Cls::f" for "ns::Cls<int>::f<long>(long)"); for Rust legacy names, the path
 * without its ::h<hash>. Fragments match too: sym_find is what leaves them out. */
bool sym_matches(const struct elf_sym *s, const char *glob);

/*
 * Stores in *@idx a malloc'd array (caller frees; NULL when *@n is 0) of the indices into
 * f->syms of every symbol @glob matches, one per vaddr, in vaddr order, never a fragment; each
 * found symbol is annotated (sym_annotate). Lazy: a mangled name is demangled only when a
 * demangled spelling could match (the glob's identifier words all occur in it), and the result
 * is kept in @f for later lookups. Same answer as sym_matches over a fully annotated @f.
 * Returns 0 or -ENOMEM.
 */
int sym_find(struct elf_file *f, const char *glob, size_t **idx, size_t *n);

/*
 * sym_find for a caller that needs the symbols, not their place in f->syms: stores in *@found a
 * malloc'd array (caller frees; NULL when *@n is 0) of the symbols @glob matches (owned by @f),
 * the same ones sym_find gives, in the same order. On a file not loaded (elf_file_open_fd) and a
 * glob with a word to look for ("bt_retrieve*", "ns::Cls::method"), only the symbols holding
 * its words are built (elf_file_select), never the whole table. Returns 0 or -ENOMEM.
 */
int sym_select(struct elf_file *f, const char *glob, const struct elf_sym ***found, size_t *n);

/* Returns how many fragments (elf_sym.fragment) of @f @glob matches: when sym_find found
 * nothing, a caller says these are split-off code that cannot be traced. */
size_t sym_count_fragments(struct elf_file *f, const char *glob);

/* Fills @out with up to @max distinct display names of @f closest to @glob (edit distance to
 * the glob with wildcards removed, close ones only), best first, fragments left out. Annotates
 * every symbol of @f first (the full work: this runs only when nothing matched). Returns the
 * count; the strings are owned by @f. */
size_t sym_suggest(struct elf_file *f, const char *glob, const char **out, size_t max);

/* Runs sym_annotate on every symbol of @f not annotated yet. Returns 0 or -ENOMEM. */
int sym_annotate_all(struct elf_file *f);

/* Returns true if @name is a non-entry fragment's (".cold", ".cold.N", ".warm", ".__part.N"
 * suffixes), as sym_annotate sets elf_sym.fragment; no allocation. */
bool sym_name_is_fragment(const char *name);

/* Sets s->demangled, s->display and s->fragment from s->name (freeing earlier values): the
 * demangled C++ or Rust name; the display name, that without " [clone .x]" tags and Rust's
 * legacy ::h<hash>, or for other names the name without clone suffixes ("foo" for
 * "foo.constprop.0"); whether the name is a non-entry fragment (".cold", ".cold.N", ".warm",
 * ".__part.N"). Returns 0 or -ENOMEM. */
int sym_annotate(struct elf_sym *s);

/* Returns the name spans show for @s: s->display once sym_annotate ran, else the full
 * demangled name, else the name. Owned by @s. */
const char *sym_display_name(const struct elf_sym *s);

#endif
