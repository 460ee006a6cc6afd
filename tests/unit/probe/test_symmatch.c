// SPDX-License-Identifier: MIT
/*
 * Tests for user/symmatch.c: glob semantics, demangling, which spellings of a symbol a glob may
 * match, sym_find over the fixture binaries of tests/data/elf, and "did you mean" suggestions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe/elf_sym.h"
#include "probe/symmatch.h"

#include "lib/elf_fixture.h"

/* A symbol as elf_sym would build it: demangled, display name and fragment flag for real. */
static struct elf_sym make_sym(const char *name, const char *version, bool def)
{
	struct elf_sym s = {
	    .name = (char *)name,
	    .version = (char *)version,
	    .default_version = def,
	    .global = true,
	};

	assert_int_equal(sym_annotate(&s), 0);
	return s;
}

/* Frees what make_sym allocated; the name and version are the caller's. */
static void free_sym(struct elf_sym *s)
{
	free(s->demangled);
	free(s->display);
}

static struct elf_sym demangled_sym(const char *demangled)
{
	struct elf_sym s = {.name = "_Zsynthetic", .demangled = (char *)demangled};

	return s;
}

static void test_sym_glob_match_literal(void **state)
{
	(void)state;
	assert_true(sym_glob_match("malloc", "malloc"));
	assert_false(sym_glob_match("malloc", "malloc2"));
	assert_false(sym_glob_match("malloc", "mallo"));
	assert_false(sym_glob_match("Malloc", "malloc"));
	assert_true(sym_glob_match("", ""));
	assert_false(sym_glob_match("", "a"));
	assert_false(sym_glob_match("a", ""));
	assert_false(sym_glob_match(NULL, "a"));
	assert_false(sym_glob_match("a", NULL));
}

static void test_sym_glob_match_star(void **state)
{
	(void)state;
	assert_true(sym_glob_match("*", ""));
	assert_true(sym_glob_match("*", "anything at all"));
	assert_true(sym_glob_match("**", "x"));
	assert_true(sym_glob_match("mal*", "malloc"));
	assert_true(sym_glob_match("mal*", "mal"));
	assert_true(sym_glob_match("*loc", "malloc"));
	assert_false(sym_glob_match("*loc", "malloc_usable"));
	assert_true(sym_glob_match("*retrieve*", "bt_retrieve_documents"));
	assert_true(sym_glob_match("a*b*c", "aXXbYYc"));
	assert_true(sym_glob_match("a*b*c", "abc"));
	assert_false(sym_glob_match("a*b*c", "aXXcYYb"));
	/* Backtracking: the first 'a' the star stops at is the wrong one. */
	assert_true(sym_glob_match("*a*a*b", "aaaaaaab"));
	assert_true(sym_glob_match("*ab", "aab"));
	assert_false(sym_glob_match("*a*a*b", "aaaaaaa"));
}

static void test_sym_glob_match_pathological_is_fast(void **state)
{
	char name[4001];
	struct timespec t0, t1;
	double ms;

	(void)state;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_false(sym_glob_match("*a*a*a*a*a*a*a*a*a*a*b", name));
	assert_true(sym_glob_match("*a*a*a*a*a*a*a*a*a*a*", name));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms < 50);
}

static void test_sym_glob_match_question(void **state)
{
	(void)state;
	assert_true(sym_glob_match("mall?c", "malloc"));
	assert_true(sym_glob_match("???", "abc"));
	assert_false(sym_glob_match("???", "ab"));
	assert_false(sym_glob_match("???", "abcd"));
	assert_true(sym_glob_match("?*", "a"));
	assert_false(sym_glob_match("?*", ""));
}

static void test_sym_glob_match_class(void **state)
{
	(void)state;
	assert_true(sym_glob_match("[abc]x", "bx"));
	assert_false(sym_glob_match("[abc]x", "dx"));
	assert_true(sym_glob_match("v[0-9]", "v7"));
	assert_false(sym_glob_match("v[0-9]", "vx"));
	assert_true(sym_glob_match("v[!0-9]", "vx"));
	assert_false(sym_glob_match("v[!0-9]", "v3"));
	assert_true(sym_glob_match("v[^0-9]", "vx"));
	assert_true(sym_glob_match("[a-cx-z]", "y"));
	assert_false(sym_glob_match("[a-cx-z]", "m"));
	/* ']' first in a class is a member; '-' last is literal. */
	assert_true(sym_glob_match("[]]", "]"));
	assert_true(sym_glob_match("[!]]", "a"));
	assert_false(sym_glob_match("[!]]", "]"));
	assert_true(sym_glob_match("[a-]", "-"));
	assert_true(sym_glob_match("[\\]]", "]"));
	assert_true(sym_glob_match("[*?]", "*"));
	assert_false(sym_glob_match("[*?]", "x"));
	/* An unterminated class is a literal '['. */
	assert_true(sym_glob_match("operator[abc", "operator[abc"));
	assert_false(sym_glob_match("operator[abc", "operatora"));
	assert_true(sym_glob_match("x[", "x["));
	/* Class members are bytes; high bytes never go negative. */
	assert_true(sym_glob_match("[\x80-\xff]", "\xe9"));
}

static void test_sym_glob_match_escape(void **state)
{
	(void)state;
	assert_true(sym_glob_match("\\*", "*"));
	assert_false(sym_glob_match("\\*", "x"));
	assert_true(sym_glob_match("a\\?", "a?"));
	assert_false(sym_glob_match("a\\?", "ab"));
	assert_true(sym_glob_match("operator\\[\\]*", "operator[](unsigned long)"));
	assert_true(sym_glob_match("tail\\", "tail\\"));
	assert_true(sym_glob_match("\\a", "a"));
}

static void test_sym_glob_match_separators_are_ordinary(void **state)
{
	(void)state;
	assert_true(sym_glob_match("ns::*", "ns::a::b::c"));
	assert_true(sym_glob_match("*::method", "ns::Cls::method"));
	assert_true(sym_glob_match("a?b", "a:b"));
	assert_true(sym_glob_match("a?b", "a/b"));
	assert_true(sym_glob_match("*/*", "dir/file"));
	assert_true(sym_glob_match("*", "ns::a/b"));
}

static void test_sym_demangle(void **state)
{
	char *d;

	(void)state;
	d = sym_demangle("_ZN2ns3Cls6methodEi");
	assert_non_null(d);
	assert_string_equal(d, "ns::Cls::method(int)");
	free(d);
	d = sym_demangle("_ZNK2ns3Cls6methodEv");
	assert_string_equal(d, "ns::Cls::method() const");
	free(d);

	errno = 0;
	assert_null(sym_demangle("malloc"));
	assert_int_equal(errno, EINVAL);
	/* Without the _Z prefix a plain name would demangle as a type: "i" is "int". */
	assert_null(sym_demangle("i"));
	errno = 0;
	assert_null(sym_demangle("_Z!!not-mangled"));
	assert_int_equal(errno, EINVAL);
	assert_null(sym_demangle(NULL));
}

static void test_sym_matches_c_and_versions(void **state)
{
	struct elf_sym def = make_sym("memcpy", "GLIBC_2.14", true);
	struct elf_sym old = make_sym("memcpy", "GLIBC_2.2.5", false);
	struct elf_sym plain = make_sym("bt_retrieve_documents", NULL, false);

	(void)state;
	assert_null(def.demangled);
	assert_true(sym_matches(&def, "memcpy"));
	assert_true(sym_matches(&def, "memcpy@GLIBC_2.14"));
	assert_true(sym_matches(&def, "memcpy@@GLIBC_2.14"));
	assert_true(sym_matches(&def, "memcpy@GLIBC_*"));
	assert_true(sym_matches(&def, "*@@GLIBC_2.14"));
	assert_false(sym_matches(&def, "memcpy@GLIBC_2.2.5"));

	assert_true(sym_matches(&old, "memcpy@GLIBC_2.2.5"));
	/* A hidden version is never the default, so no @@ spelling. */
	assert_false(sym_matches(&old, "memcpy@@GLIBC_2.2.5"));
	assert_true(sym_matches(&old, "memcpy"));

	assert_true(sym_matches(&plain, "bt_*"));
	assert_false(sym_matches(&plain, "bt_retrieve_documents@*"));
	assert_false(sym_matches(&plain, "retrieve"));
	assert_false(sym_matches(NULL, "*"));
	assert_false(sym_matches(&plain, NULL));
}

static void test_sym_matches_cxx_spellings(void **state)
{
	struct elf_sym s = make_sym("_ZNK2ns3Cls6methodEi", NULL, false);

	(void)state;
	assert_non_null(s.demangled);
	assert_true(sym_matches(&s, "_ZNK2ns3Cls6methodEi"));
	assert_true(sym_matches(&s, "_ZNK*method*"));
	assert_true(sym_matches(&s, "ns::Cls::method(int) const"));
	assert_true(sym_matches(&s, "ns::Cls::method"));
	assert_true(sym_matches(&s, "ns::Cls::*"));
	assert_true(sym_matches(&s, "*::method"));
	assert_true(sym_matches(&s, "ns::Cls::method(*"));
	assert_false(sym_matches(&s, "method"));
	assert_false(sym_matches(&s, "ns::Cls::meth"));
	assert_false(sym_matches(&s, "ns::Cls::method(int)"));
	assert_false(sym_matches(&s, "ns::Other::*"));
	free_sym(&s);
}

static void test_sym_matches_rust_legacy(void **state)
{
	struct elf_sym s = make_sym("_ZN4core3fmt5write17h0123456789abcdefE", NULL, false);

	(void)state;
	assert_non_null(s.demangled);
	assert_string_equal(s.demangled, "core::fmt::write::h0123456789abcdef");
	assert_true(sym_matches(&s, "core::fmt::write"));
	assert_true(sym_matches(&s, "core::fmt::*"));
	/* The hash tells instances apart for the linker, not for a reader. */
	assert_string_equal(sym_display_name(&s), "core::fmt::write");
	free_sym(&s);
}

static void test_sym_matches_rust_v0(void **state)
{
	struct elf_sym s = make_sym("_RNvMCskK9ONXSS8Nz_4shopNtB2_4Cart5total", NULL, false);
	struct elf_sym t = make_sym("_RNvXs_CskK9ONXSS8Nz_4shopNtB4_4CartNtNtCsgEmfK2I1SDS_4core3fm"
				    "t7Display3fmt.llvm.8812",
				    NULL, false);

	(void)state;
	assert_string_equal(s.demangled, "<shop::Cart>::total");
	assert_string_equal(sym_display_name(&s), "<shop::Cart>::total");
	assert_true(sym_matches(&s, "<shop::Cart>::total"));
	assert_true(sym_matches(&s, "*Cart*total"));
	assert_true(sym_matches(&s, "<shop::*"));
	assert_true(sym_matches(&s, "_RNv*4Cart5total"));
	assert_false(sym_matches(&s, "total"));
	assert_false(sym_matches(&s, "*Cart*fmt"));

	assert_string_equal(sym_display_name(&t), "<shop::Cart as core::fmt::Display>::fmt");
	assert_true(sym_matches(&t, "*as core::fmt::Display>::fmt"));
	assert_false(t.fragment);
	free_sym(&t);
	free_sym(&s);
}

struct annotate_case {
	const char *name;
	const char *display;
	bool fragment;
};

static void test_sym_annotate_fragments_and_clones(void **state)
{
	static const struct annotate_case cases[] = {
	    /* Fragments: split-off parts of a body, only jumped to. */
	    {"foo.cold", "foo", true},
	    {"foo.cold.1", "foo", true},
	    {"foo.warm", "foo", true},
	    {"foo.__part.3", "foo", true},
	    {"foo.isra.0.cold", "foo", true},
	    {"_ZN4shop4Cart5innerEi.cold", "shop::Cart::inner(int)", true},
	    {"_ZN2ns7Handler7processEi.isra.0.cold", "ns::Handler::process(int)", true},
	    /* Clones: real functions, entered by calls, named by the function. */
	    {"foo.isra.0", "foo", false},
	    {"foo.constprop.0", "foo", false},
	    {"foo.constprop.0.isra.0", "foo", false},
	    {"foo.part.0", "foo", false},
	    {"foo.lto_priv.0", "foo", false},
	    {"foo.llvm.1234567890", "foo", false},
	    {"foo.localalias", "foo", false},
	    {"_ZL5scaleii.constprop.0", "scale(int, int)", false},
	    {"_ZN3foo3barEi.constprop.0.isra.0", "foo::bar(int)", false},
	    {"_ZN4core3fmt5write17h0123456789abcdefE.llvm.42", "core::fmt::write", false},
	    /* Neither: unknown suffixes and look-alikes stay as they are. */
	    {"cold", "cold", false},
	    {"foo_cold", "foo_cold", false},
	    {"foo.cold_path", "foo.cold_path", false},
	    {"foo.bar.0", "foo.bar.0", false},
	    {".cold", ".cold", false},
	    {"foo.", "foo.", false},
	    {"foo.0", "foo.0", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct elf_sym s = make_sym(cases[i].name, NULL, false);

		if (strcmp(sym_display_name(&s), cases[i].display) ||
		    s.fragment != cases[i].fragment)
			print_error("%s: display '%s' fragment %d\n", cases[i].name,
				    sym_display_name(&s), s.fragment);
		assert_string_equal(sym_display_name(&s), cases[i].display);
		assert_int_equal(s.fragment, cases[i].fragment);
		free_sym(&s);
	}
}

static void test_sym_matches_clean_name(void **state)
{
	struct elf_sym s = make_sym("_ZNK2ns3Cls6methodEi.isra.0", NULL, false);
	struct elf_sym c = make_sym("bt_rank.constprop.0", NULL, false);

	(void)state;
	/* The whole clean name, which the [clone] tag used to hide. */
	assert_true(sym_matches(&s, "ns::Cls::method(int) const"));
	assert_true(sym_matches(&s, "ns::Cls::method"));
	assert_true(sym_matches(&s, "*[clone .isra.0]"));
	assert_true(sym_matches(&c, "bt_rank"));
	assert_true(sym_matches(&c, "bt_rank.constprop.0"));
	assert_true(sym_matches(&c, "bt_rank.*"));
	assert_false(sym_matches(&c, "bt_rank.isra*"));
	free_sym(&c);
	free_sym(&s);
}

struct base_case {
	const char *demangled;
	const char *matches[4];
	const char *rejects[3];
};

static void test_sym_matches_demangled_base_names(void **state)
{
	static const struct base_case cases[] = {
	    {"int bt::rag::score<int>(int, int)",
	     {"bt::rag::score<int>", "bt::rag::score", "*::score"},
	     {"int", "int bt::rag::score", "bt::rag::score<long>"}},
	    {"bt::rag::Cache<long>::get(int) const",
	     {"bt::rag::Cache<long>::get", "bt::rag::Cache::get", "bt::rag::Cache<*>::get"},
	     {"bt::rag::Cache<int>::get", "get"}},
	    {"bt::rag::Retriever::operator<(bt::rag::Retriever const&) const",
	     {"bt::rag::Retriever::operator<", "*::operator<", "*operator\\<*"},
	     {"bt::rag::Retriever::operator"}},
	    {"bt::rag::Retriever::operator<<(int)", {"bt::rag::Retriever::operator<<"}, {0}},
	    {"bt::rag::Retriever::operator()(int)", {"bt::rag::Retriever::operator()"}, {0}},
	    {"std::vector<int, std::allocator<int> >::operator[](unsigned long)",
	     {"std::vector<int, std::allocator<int> >::operator[]", "std::vector::operator[]",
	      "std::vector::operator\\[\\]"},
	     {0}},
	    {"main::{lambda(int)#1}::operator()(int) const",
	     {"main::{lambda(int)#1}::operator()", "main::*"},
	     {0}},
	    {"(anonymous namespace)::anon_helper(int)",
	     {"(anonymous namespace)::anon_helper", "*::anon_helper"},
	     {"anon_helper"}},
	    {"ns::Handler::process(int) [clone .cold]", {"ns::Handler::process"}, {0}},
	    {"ns::Handler::process(int) const [clone .isra.0] [clone .cold]",
	     {"ns::Handler::process"},
	     {0}},
	    {"ns::X::operator bool() const", {"ns::X::operator bool"}, {"bool"}},
	    {"ns::X::get() const &&", {"ns::X::get"}, {0}},
	    {"void std::function<void (int)>::operator()(int) const",
	     {"std::function<void (int)>::operator()", "std::function::operator()"},
	     {"void"}},
	    {"std::unique_ptr<Foo, std::default_delete<Foo> > ns::make<Foo>(int)",
	     {"ns::make<Foo>", "ns::make"},
	     {"std::unique_ptr"}},
	    {"bool ns::operator< <int>(ns::V<int> const&, ns::V<int> const&)",
	     {"ns::operator< <int>", "ns::operator<"},
	     {0}},
	    /* Rust legacy names end in a hash instead of a parameter list. */
	    {"core::fmt::write::h0123456789abcdef",
	     {"core::fmt::write::h0123456789abcdef", "core::fmt::write", "*::write"},
	     {"core::fmt", "write"}},
	    /* Demangled, but neither shape: the full name only. */
	    {"guard variable for ns::x", {"guard variable for ns::x", "*ns::x"}, {"ns::x"}},
	    {"core::fmt::write::h0123", {"core::fmt::write::h0123"}, {"core::fmt::write"}},
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct elf_sym s = demangled_sym(cases[i].demangled);

		for (j = 0; j < 4 && cases[i].matches[j]; j++) {
			if (!sym_matches(&s, cases[i].matches[j]))
				print_error("'%s' should match '%s'\n", cases[i].matches[j],
					    cases[i].demangled);
			assert_true(sym_matches(&s, cases[i].matches[j]));
		}
		for (j = 0; j < 3 && cases[i].rejects[j]; j++) {
			if (sym_matches(&s, cases[i].rejects[j]))
				print_error("'%s' should not match '%s'\n", cases[i].rejects[j],
					    cases[i].demangled);
			assert_false(sym_matches(&s, cases[i].rejects[j]));
		}
	}
}

static void test_sym_matches_long_names(void **state)
{
	size_t n = 3000, i;
	char *name = malloc(n + 1), *glob = malloc(n + 3), *ver = "V_1";
	struct elf_sym s;

	(void)state;
	assert_non_null(name);
	assert_non_null(glob);
	for (i = 0; i < n; i++)
		name[i] = 'a' + i % 26;
	name[n] = '\0';
	s = make_sym(name, ver, true);
	/* name@@version longer than any stack buffer. */
	snprintf(glob, n + 3, "%.*s*", (int)(n - 5), name);
	assert_true(sym_matches(&s, glob));
	assert_true(sym_matches(&s, "*@@V_1"));
	assert_false(sym_matches(&s, "*@@V_2"));
	free(glob);
	free(name);
}

static const char *name_at(const struct elf_file *f, const size_t *idx, size_t i)
{
	return f->syms[idx[i]].name;
}

static void test_sym_find_cxx(void **state)
{
	struct elf_file *f = open_fixture("cxx");
	size_t *idx = NULL, n = 0, i;

	(void)state;
	assert_int_equal(sym_find(f, "bt::rag::Retriever::retrieve", &idx, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_memory_equal(name_at(f, idx, i), "_ZN", 3);
		assert_non_null(strstr(name_at(f, idx, i), "8retrieveE"));
		if (i)
			assert_true(f->syms[idx[i - 1]].vaddr < f->syms[idx[i]].vaddr);
	}
	free(idx);

	assert_int_equal(sym_find(f, "*retrieve*", &idx, &n), 0);
	assert_int_equal(n, 3);
	free(idx);

	/* C1 and C2 constructors share one body: one attach point. */
	assert_int_equal(sym_find(f, "bt::rag::Retriever::Retriever", &idx, &n), 0);
	assert_int_equal(n, 1);
	free(idx);
	assert_int_equal(sym_find(f, "bt::rag::Retriever::~Retriever", &idx, &n), 0);
	assert_int_equal(n, 1);
	free(idx);

	/* retrieve x3, count, <<, <, (), ctor, dtor. */
	assert_int_equal(sym_find(f, "bt::rag::Retriever::*", &idx, &n), 0);
	assert_int_equal(n, 9);
	free(idx);

	assert_int_equal(sym_find(f, "bt::rag::score", &idx, &n), 0);
	assert_int_equal(n, 2);
	free(idx);
	assert_int_equal(sym_find(f, "bt::rag::score<double>", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sym_display_name(&f->syms[idx[0]]),
			    "double bt::rag::score<double>(double, double)");
	free(idx);

	assert_int_equal(sym_find(f, "_ZNK2bt3rag9Retriever8retrieveEi", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sym_display_name(&f->syms[idx[0]]),
			    "bt::rag::Retriever::retrieve(int) const");
	free(idx);

	assert_int_equal(sym_find(f, "c_linkage_fn", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sym_display_name(&f->syms[idx[0]]), "c_linkage_fn");
	free(idx);

	idx = (size_t *)1;
	assert_int_equal(sym_find(f, "no_such_function", &idx, &n), 0);
	assert_int_equal(n, 0);
	assert_null(idx);
	elf_file_free(f);
}

static void test_sym_find_versions_and_aliases(void **state)
{
	struct elf_file *f = open_fixture("libver.so");
	size_t *idx = NULL, n = 0, i, addrs = 0;

	(void)state;
	assert_int_equal(sym_find(f, "foo", &idx, &n), 0);
	assert_int_equal(n, 2);
	assert_true(f->syms[idx[0]].vaddr != f->syms[idx[1]].vaddr);
	free(idx);

	assert_int_equal(sym_find(f, "foo@VER_1", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(f->syms[idx[0]].version, "VER_1");
	/* The global versioned name is preferred over its local alias foo_v1. */
	assert_string_equal(name_at(f, idx, 0), "foo");
	free(idx);

	assert_int_equal(sym_find(f, "foo@@VER_2", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(f->syms[idx[0]].version, "VER_2");
	free(idx);
	assert_int_equal(sym_find(f, "foo@@VER_1", &idx, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(sym_find(f, "foo_v1", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(name_at(f, idx, 0), "foo_v1");
	free(idx);

	/* "*" reports each address once. */
	for (i = 0; i < f->n_syms; i++)
		addrs += !i || f->syms[i].vaddr != f->syms[i - 1].vaddr;
	assert_int_equal(sym_find(f, "*", &idx, &n), 0);
	assert_int_equal(n, addrs);
	assert_true(n < f->n_syms);
	free(idx);
	elf_file_free(f);
}

static void test_sym_find_skips_fragments(void **state)
{
	struct elf_file *f = open_fixture("clones");
	size_t *idx = NULL, n = 0;

	(void)state;
	/* shop::Cart::inner and its .cold fragment share a clean name: only the entry is probed. */
	assert_int_equal(sym_find(f, "shop::Cart::inner", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(name_at(f, idx, 0), "_ZN4shop4Cart5innerEi");
	free(idx);
	assert_int_equal(sym_find(f, "c_inner", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(name_at(f, idx, 0), "c_inner");
	free(idx);
	assert_int_equal(sym_count_fragments(f, "c_inner"), 1);

	/* Even asked for by name, a fragment is not traced; the count lets the caller say why. */
	assert_int_equal(sym_find(f, "*cold*", &idx, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sym_count_fragments(f, "*cold*"), 2);
	assert_int_equal(sym_find(f, "c_inner.cold", &idx, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sym_count_fragments(f, "no_such_function"), 0);

	/* Clones are probed, found by the function's name and named by it. */
	assert_int_equal(sym_find(f, "c_scale", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(name_at(f, idx, 0), "c_scale.constprop.0");
	assert_string_equal(sym_display_name(&f->syms[idx[0]]), "c_scale");
	free(idx);
	assert_int_equal(sym_find(f, "scale", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sym_display_name(&f->syms[idx[0]]), "scale(int, int)");
	free(idx);
	elf_file_free(f);
}

static bool contains(const char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static void test_sym_suggest_typos(void **state)
{
	struct elf_file *f = open_fixture("pie");
	const char *out[5];
	size_t n, i, j;

	(void)state;
	n = sym_suggest(f, "bt_retreive_documents", out, 5);
	assert_true(n >= 1);
	assert_string_equal(out[0], "bt_retrieve_documents");
	n = sym_suggest(f, "BT_ASSEMBLE_PROMPT", out, 5);
	assert_true(n >= 1);
	assert_string_equal(out[0], "bt_assemble_prompt");
	/* Wildcards are dropped before comparing. */
	n = sym_suggest(f, "bt_asemble_prompt*", out, 5);
	assert_true(n >= 1);
	assert_string_equal(out[0], "bt_assemble_prompt");
	/* A fragment of a longer name. */
	n = sym_suggest(f, "documents", out, 5);
	assert_true(contains(out, n, "bt_retrieve_documents"));

	assert_int_equal(sym_suggest(f, "zzzz_qqqq_xxxx", out, 5), 0);
	assert_int_equal(sym_suggest(f, "*", out, 5), 0);
	assert_int_equal(sym_suggest(f, "bt_retrieve_documents", out, 0), 0);

	/* max is respected and names are distinct. */
	n = sym_suggest(f, "bt_*", out, 2);
	assert_true(n <= 2);
	n = sym_suggest(f, "bt_fast_x", out, 5);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			assert_string_not_equal(out[i], out[j]);
	elf_file_free(f);
}

static void test_sym_suggest_cxx_and_versions(void **state)
{
	struct elf_file *f = open_fixture("cxx"), *lib = open_fixture("libver.so");
	const char *out[5];
	size_t n, i;

	(void)state;
	/* The unqualified method name a user types first. */
	n = sym_suggest(f, "retrieve", out, 5);
	assert_true(n >= 3);
	for (i = 0; i < 3; i++)
		assert_memory_equal(out[i], "bt::rag::Retriever::retrieve(", 29);
	/* The constructor is one letter away ("Retriever"), but ranks after exact ones. */
	assert_true(contains(out, n, "bt::rag::Retriever::Retriever(int)"));
	n = sym_suggest(f, "bt::rag::Retreiver::count", out, 5);
	assert_true(n >= 1);
	assert_string_equal(out[0], "bt::rag::Retriever::count()");

	/* foo@VER_1 and foo@@VER_2 display as one name. */
	n = sym_suggest(lib, "fo", out, 5);
	assert_true(contains(out, n, "foo"));
	for (i = 1; i < n; i++)
		assert_string_not_equal(out[i], out[i - 1]);
	elf_file_free(lib);
	elf_file_free(f);
}

static void test_sym_suggest_skips_fragments(void **state)
{
	struct elf_sym syms[] = {
	    {.name = "bt_rank.cold", .display = "bt_rank", .fragment = true, .vaddr = 1},
	    {.name = "bt_ranks", .display = "bt_ranks", .vaddr = 2},
	};
	struct elf_file f = {.syms = syms, .n_syms = 2};
	const char *out[5];

	(void)state;
	assert_int_equal(sym_suggest(&f, "bt_rank", out, 5), 1);
	assert_string_equal(out[0], "bt_ranks");
}

static void test_sym_display_name(void **state)
{
	struct elf_sym c = make_sym("bt_fast", NULL, false);
	struct elf_sym cxx = make_sym("_ZN2bt9top_levelEi", NULL, false);

	(void)state;
	assert_string_equal(sym_display_name(&c), "bt_fast");
	assert_string_equal(sym_display_name(&cxx), "bt::top_level(int)");
	free_sym(&cxx);
	free_sym(&c);
}

static struct elf_file *open_lazy(const char *path)
{
	struct elf_file *f = NULL;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(elf_file_open_fd(fd, path, &f), 0);
	close(fd);
	return f;
}

static size_t count_demangled(const struct elf_file *f)
{
	size_t i, n = 0;

	for (i = 0; i < f->n_syms; i++)
		n += f->syms[i].demangled != NULL;
	return n;
}

/* Globs whose answers lean on every spelling: mangled, versioned, display, demangled, base,
 * base without templates, words the demangler writes (std, int, operator, anonymous, clone). */
static const char *const lazy_globs[] = {
    "*",
    "bt::rag::*",
    "*retrieve*",
    "scale",
    "c_inner",
    "c_scale",
    "std::*",
    "*basic_string*",
    "*string*",
    "std::__cxx11::basic_string*",
    "operator new",
    "*::operator*",
    "*st*",
    "int*",
    "*Retriever*",
    "bt*",
    "_Z*",
    "foo",
    "foo@VER_1",
    "foo@@VER_2",
    "*[clone*",
    "*lambda*",
    "malloc",
    "memcpy@@GLIBC_2.14",
    "std::vector<int*",
    "*(int)",
    "*const",
    "?",
    "*::~*",
    "*anonymous*",
    "(anonymous namespace)::*",
    "*thunk*",
    "__cxa_*",
    "*cxx11*",
    "shop::Cart::*",
    "*::inner",
    "bt::rag::score<double>",
    "*allocator*",
    "*char_traits*",
    "*unsigned*",
    "SSL_write",
    "*_ex",
    "std::ios_base::*",
    "*typeinfo*",
    "*vtable*",
    "[a-c]*::*",
    "\\*",
    "*::[A-Z]*",
    "*int, int*",
    "*Cart*",
    "*rag*score*",
};

/* sym_find on a lazily opened file (demangling on demand) gives what it gives once every
 * symbol is annotated: the prefilter on the glob's words never loses a match. */
static void check_lazy_same_as_full(const char *path)
{
	struct elf_file *lazy = NULL, *full = NULL;
	size_t g;

	assert_int_equal(elf_file_open(path, &full), 0);
	assert_int_equal(sym_annotate_all(full), 0);
	for (g = 0; g < sizeof(lazy_globs) / sizeof(*lazy_globs); g++) {
		size_t *a = NULL, *b = NULL, na = 0, nb = 0, i;

		/* a fresh file each time: a glob like "*" annotates everything it looks at */
		elf_file_free(lazy);
		lazy = open_lazy(path);

		assert_int_equal(sym_find(lazy, lazy_globs[g], &a, &na), 0);
		assert_int_equal(sym_find(full, lazy_globs[g], &b, &nb), 0);
		if (na != nb)
			print_error("%s: '%s': %zu lazily, %zu in full\n", path, lazy_globs[g], na,
				    nb);
		assert_int_equal(na, nb);
		for (i = 0; i < na; i++) {
			assert_int_equal(a[i], b[i]);
			/* what sym_find returns is named */
			assert_non_null(lazy->syms[a[i]].display);
			assert_string_equal(sym_display_name(&lazy->syms[a[i]]),
					    sym_display_name(&full->syms[b[i]]));
		}
		/* sym_select on a file never loaded: the same symbols from a subset */
		{
			struct elf_file *sel = open_lazy(path);
			const struct elf_sym **found = NULL;
			size_t nf = 0;

			assert_int_equal(sym_select(sel, lazy_globs[g], &found, &nf), 0);
			if (nf != nb)
				print_error("%s: '%s': %zu selected, %zu in full\n", path,
					    lazy_globs[g], nf, nb);
			assert_int_equal(nf, nb);
			for (i = 0; i < nf; i++) {
				const struct elf_sym *x = &full->syms[b[i]];

				assert_string_equal(found[i]->name, x->name);
				assert_int_equal(found[i]->vaddr, x->vaddr);
				assert_int_equal(found[i]->offset, x->offset);
				assert_int_equal(!found[i]->version, !x->version);
				assert_string_equal(sym_display_name(found[i]),
						    sym_display_name(x));
			}
			free(found);
			elf_file_free(sel);
		}
		assert_int_equal(sym_count_fragments(lazy, lazy_globs[g]),
				 sym_count_fragments(full, lazy_globs[g]));
		free(a);
		free(b);
	}
	elf_file_free(lazy);
	elf_file_free(full);
}

static void test_sym_find_lazy_same_as_full(void **state)
{
	static const char *const fixtures[] = {"cxx", "clones", "libver.so", "pie", "stripped"};
	static const char *const system[] = {"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
					     "/lib/x86_64-linux-gnu/libc.so.6",
					     "/usr/lib/x86_64-linux-gnu/libssl.so.3", NULL};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(*fixtures); i++)
		check_lazy_same_as_full(fixture_path(fixtures[i]));
	for (i = 0; system[i]; i++)
		if (!access(system[i], R_OK))
			check_lazy_same_as_full(system[i]);
}

/* An exact C name demangles nothing; a C++ glob demangles only names holding its words. */
static void test_sym_find_demangles_only_candidates(void **state)
{
	struct elf_file *f = open_lazy(fixture_path("cxx"));
	size_t *idx = NULL, n = 0, mangled = 0, i;

	(void)state;
	assert_int_equal(sym_find(f, "c_linkage_fn", &idx, &n), 0);
	assert_int_equal(n, 1);
	free(idx);
	assert_int_equal(count_demangled(f), 0);
	assert_int_equal(sym_find(f, "bt::rag::Retriever::retrieve", &idx, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_memory_equal(sym_display_name(&f->syms[idx[i]]),
				    "bt::rag::Retriever::retrieve(", 29);
	free(idx);
	for (i = 0; i < f->n_syms; i++)
		mangled += !strncmp(f->syms[i].name, "_Z", 2);
	assert_true(count_demangled(f) > 0);
	assert_true(count_demangled(f) < mangled);
	for (i = 0; i < f->n_syms; i++)
		if (f->syms[i].demangled)
			assert_non_null(strstr(f->syms[i].name, "Retriever"));
	elf_file_free(f);

	/* sym_select with a word to look for never reads the whole table */
	{
		const struct elf_sym **found = NULL;

		f = open_lazy(fixture_path("cxx"));
		assert_int_equal(sym_select(f, "bt::rag::Retriever::retrieve", &found, &n), 0);
		assert_int_equal(n, 3);
		assert_false(elf_file_loaded(f));
		free(found);
		assert_int_equal(sym_select(f, "c_linkage_fn", &found, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(found[0]->name, "c_linkage_fn");
		free(found);
		assert_int_equal(sym_select(f, "no_such_function", &found, &n), 0);
		assert_int_equal(n, 0);
		assert_null(found);
		assert_false(elf_file_loaded(f));
		/* nothing to look for: every symbol is a candidate */
		assert_int_equal(sym_select(f, "*", &found, &n), 0);
		assert_true(n > 3);
		assert_true(elf_file_loaded(f));
		free(found);
		elf_file_free(f);
	}

	/* a global-namespace C++ function still answers to its plain name */
	f = open_lazy(fixture_path("clones"));
	assert_int_equal(sym_find(f, "scale", &idx, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(f->syms[idx[0]].name, "_ZL5scaleii.constprop.0");
	free(idx);
	elf_file_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sym_glob_match_literal),
	    cmocka_unit_test(test_sym_glob_match_star),
	    cmocka_unit_test(test_sym_glob_match_pathological_is_fast),
	    cmocka_unit_test(test_sym_glob_match_question),
	    cmocka_unit_test(test_sym_glob_match_class),
	    cmocka_unit_test(test_sym_glob_match_escape),
	    cmocka_unit_test(test_sym_glob_match_separators_are_ordinary),
	    cmocka_unit_test(test_sym_demangle),
	    cmocka_unit_test(test_sym_matches_c_and_versions),
	    cmocka_unit_test(test_sym_matches_cxx_spellings),
	    cmocka_unit_test(test_sym_matches_rust_legacy),
	    cmocka_unit_test(test_sym_matches_rust_v0),
	    cmocka_unit_test(test_sym_annotate_fragments_and_clones),
	    cmocka_unit_test(test_sym_matches_clean_name),
	    cmocka_unit_test(test_sym_matches_demangled_base_names),
	    cmocka_unit_test(test_sym_matches_long_names),
	    cmocka_unit_test(test_sym_find_cxx),
	    cmocka_unit_test(test_sym_find_versions_and_aliases),
	    cmocka_unit_test(test_sym_find_skips_fragments),
	    cmocka_unit_test(test_sym_suggest_typos),
	    cmocka_unit_test(test_sym_suggest_cxx_and_versions),
	    cmocka_unit_test(test_sym_suggest_skips_fragments),
	    cmocka_unit_test(test_sym_display_name),
	    cmocka_unit_test(test_sym_find_lazy_same_as_full),
	    cmocka_unit_test(test_sym_find_demangles_only_candidates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
