// SPDX-License-Identifier: MIT
/*
 * Tests for user/rust_demangle.c. The symbols are real: emitted by rustc 1.95 with
 * -C symbol-mangling-version=v0, and the expected strings are what rustc itself printed for them
 * (#[rustc_symbol_name]'s demangling-alt, and std's backtrace printer, which is rustc-demangle).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe/rust_demangle.h"

struct demangle_case {
	const char *mangled;
	const char *demangled;
};

static void check(const struct demangle_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *d = rust_demangle_v0(c[i].mangled);

		if (!d || strcmp(d, c[i].demangled))
			print_error("%s\n  got      %s\n  expected %s\n", c[i].mangled,
				    d ? d : "(null)", c[i].demangled);
		assert_non_null(d);
		assert_string_equal(d, c[i].demangled);
		free(d);
	}
}

static void test_rust_demangle_paths_and_impls(void **state)
{
	static const struct demangle_case cases[] = {
	    {"_RNvNtCskK9ONXSS8Nz_4shop7pricing8discount", "shop::pricing::discount"},
	    {"_RNvMCskK9ONXSS8Nz_4shopNtB2_4Cart5total", "<shop::Cart>::total"},
	    {"_RNvXs_CskK9ONXSS8Nz_4shopNtB4_4CartNtNtCsgEmfK2I1SDS_4core3fmt7Display3fmt",
	     "<shop::Cart as core::fmt::Display>::fmt"},
	    {"_RNvYpNtCskK9ONXSS8Nz_4shop6Priced5priceB5_", "<_ as shop::Priced>::price"},
	    /* The instantiating crate (mycrate) is not shown. */
	    {"_RNvMsr_NtCs3ssYzQotkvD_3std4pathNtB5_7PathBuf3newCs15kBYyAo9fc_7mycrate",
	     "<std::path::PathBuf>::new"},
	};

	(void)state;
	check(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_rust_demangle_generics_and_consts(void **state)
{
	static const struct demangle_case cases[] = {
	    {"_RINvCskK9ONXSS8Nz_4shop7genericpEB2_", "shop::generic::<_>"},
	    {"_RINvCs37aybkcCW4V_2bt7genericAdj2_EB2_", "bt::generic::<[f64; 2]>"},
	    {"_RINvCs37aybkcCW4V_2bt7genericTlbcEEB2_", "bt::generic::<(i32, bool, char)>"},
	    {"_RNvMNtCs37aybkcCW4V_2bt7pricingINtB2_4GridTxReEKj1_E5firstB4_",
	     "<bt::pricing::Grid<(i64, &str), 1>>::first"},
	    {"_RNvMs0_CskK9ONXSS8Nz_4shopINtB5_4FlagKpKpKpE3getB5_", "<shop::Flag<_, _, _>>::get"},
	    /* Hand-built from the grammar: signed, bool and char constants. */
	    {"_RINvC4shop1fKlna_Kb1_Kc61_Kce9_E", "shop::f::<-10, true, 'a', 'é'>"},
	};

	(void)state;
	check(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_rust_demangle_closures_shims_and_fn_types(void **state)
{
	static const struct demangle_case cases[] = {
	    {"_RNCNvCsgStHSCytQ6I_7mycrate4mains_0B3_", "mycrate::main::{closure#1}"},
	    {"_RNSNvYNCINvNtCsjrHSEGnQ3l9_3std2rt10lang_startuE0INtNtNtCsgEmfK2I1SDS_4core3ops8"
	     "function6FnOnceuE9call_once6vtableCs37aybkcCW4V_2bt",
	     "<std::rt::lang_start<()>::{closure#0} as core::ops::function::FnOnce<()>>::call_once"
	     "::{shim:vtable#0}"},
	    {"_RINvNtNtCsjrHSEGnQ3l9_3std3sys9backtrace28___rust_begin_short_backtraceFEuuECs37"
	     "aybkcCW4V_2bt",
	     "std::sys::backtrace::__rust_begin_short_backtrace::<fn(), ()>"},
	    {"_RNvMs3_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_6RawVecTOhFUKCBN_EuENtNtCsjrHSEGnQ3l9_"
	     "3std5alloc6SystemE8grow_oneB13_",
	     "<alloc::raw_vec::RawVec<(*mut u8, unsafe extern \"C\" fn(*mut u8)), "
	     "std::alloc::System>>::grow_one"},
	};

	(void)state;
	check(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_rust_demangle_dyn_and_lifetimes(void **state)
{
	static const struct demangle_case cases[] = {
	    {"_RNvXs1g_NtCsgEmfK2I1SDS_4core3fmtRDNtB6_5DebugEL_Bx_3fmtB8_",
	     "<&dyn core::fmt::Debug as core::fmt::Debug>::fmt"},
	    {"_RNvXs1j_NtCsgEmfK2I1SDS_4core3fmtQDNtNtB8_5panic12PanicPayloadEL_NtB6_7Display3fmt"
	     "CsjrHSEGnQ3l9_3std",
	     "<&mut dyn core::panic::PanicPayload as core::fmt::Display>::fmt"},
	    {"_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNtCslNYArtu3iFV_5alloc5boxed3BoxDG0_"
	     "INtNtNtB4_3ops8function2FnTRL1_INtNtCsjrHSEGnQ3l9_3std5panic13PanicHookInfoL0_EEEp6"
	     "OutputuNtNtB4_6marker4SyncNtB2N_4SendEL_EEB1T_",
	     "core::ptr::drop_in_place::<alloc::boxed::Box<dyn for<'a, 'b> "
	     "core::ops::function::Fn<(&'a std::panic::PanicHookInfo<'b>,), Output = ()> + "
	     "core::marker::Sync + core::marker::Send>>"},
	};

	(void)state;
	check(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_rust_demangle_punycode(void **state)
{
	static const struct demangle_case cases[] = {
	    {"_RNvCskK9ONXSS8Nz_4shopu7hhe_sna", "shop::höhe"},
	};
	char *d;

	(void)state;
	check(cases, sizeof(cases) / sizeof(cases[0]));
	/* Not valid punycode: shown as spelled, the symbol still demangles. */
	d = rust_demangle_v0("_RNvC4shopu3A_B");
	assert_non_null(d);
	assert_string_equal(d, "shop::punycode{A_B}");
	free(d);
}

static void test_rust_demangle_vendor_suffix_stripped(void **state)
{
	static const struct demangle_case cases[] = {
	    {"_RNvCs15kBYyAo9fc_7mycrate7example.llvm.1234", "mycrate::example"},
	    {"_RNvNvNvCs7qp2U7fqm6G_7mycrate7EXAMPLE7___getit5___KEY$tlv$init",
	     "mycrate::EXAMPLE::__getit::__KEY"},
	    {"_RNvMCskK9ONXSS8Nz_4shopNtB2_4Cart5total.cold", "<shop::Cart>::total"},
	};

	(void)state;
	check(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_rust_demangle_rejects_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "_R",
	    "_Z3foov",
	    "foo",
	    "_R0NvC1a1f",	    /* encoding versions are not defined */
	    "_RNvC1a",		    /* truncated */
	    "_RNvC1a9f",	    /* identifier longer than the symbol */
	    "_RB_",		    /* back reference to itself */
	    "_RNvC1aB9_",	    /* back reference forward */
	    "_RNvC1a1fX",	    /* garbage after the path */
	    "_RINvC1a1fKbn1_E",	    /* negative bool */
	    "_RINvC1a1fKc110000_E", /* not a char */
	    "_RINvC1a1fRL0_hE",	    /* lifetime with no binder */
	    "_RINvC1a1fgE",	    /* unknown type tag */
	    "_RC0",		    /* nothing to show */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *d;

		errno = 0;
		d = rust_demangle_v0(bad[i]);
		if (d)
			print_error("'%s' demangled as '%s'\n", bad[i], d);
		assert_null(d);
		assert_int_equal(errno, EINVAL);
	}
	errno = 0;
	assert_null(rust_demangle_v0(NULL));
	assert_int_equal(errno, EINVAL);
}

/* Every prefix of a real symbol: refused or demangled, never a crash (ASan in the fuzzer). */
static void test_rust_demangle_prefixes(void **state)
{
	static const char sym[] = "_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNtCslNYArtu3iFV_"
				  "5alloc5boxed3BoxDG0_INtNtNtB4_3ops8function2FnTRL1_INtNtCsjrHSE"
				  "GnQ3l9_3std5panic13PanicHookInfoL0_EEEp6OutputuNtNtB4_6marker4S"
				  "yncNtB2N_4SendEL_EEB1T_";
	char buf[sizeof(sym)];
	size_t n, ok = 0;

	(void)state;
	for (n = 0; n < sizeof(sym); n++) {
		char *d;

		memcpy(buf, sym, n);
		buf[n] = '\0';
		d = rust_demangle_v0(buf);
		ok += d != NULL;
		free(d);
	}
	assert_true(ok >= 1);
}

static size_t put_base62(char *out, size_t v)
{
	char tmp[16];
	size_t n = 0, i;

	if (v--) {
		do {
			tmp[n++] =
			    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[v %
											     62];
			v /= 62;
		} while (v);
	}
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '_';
	return n + 1;
}

/* Each tuple refers back to the previous one twice: 2^40 types if expanded. */
static void test_rust_demangle_backref_bomb_is_bounded(void **state)
{
	char sym[2048] = "_RINvC1a1f", *p = sym + strlen(sym);
	size_t prev, level;
	struct timespec t0, t1;
	double ms;
	char *d;

	(void)state;
	prev = (size_t)(p - sym) - 2;
	p += sprintf(p, "ThhE");
	for (level = 0; level < 40; level++) {
		size_t at = (size_t)(p - sym) - 2;

		*p++ = 'T';
		*p++ = 'B';
		p += put_base62(p, prev);
		*p++ = 'B';
		p += put_base62(p, prev);
		*p++ = 'E';
		prev = at;
	}
	*p++ = 'E';
	*p = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	d = rust_demangle_v0(sym);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_null(d);
	assert_int_equal(errno, EINVAL);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms < 100);
}

static void test_rust_demangle_deep_nesting_is_bounded(void **state)
{
	size_t depth = 5000, i;
	char *sym = malloc(depth * 2 + 8), *p = sym;

	(void)state;
	assert_non_null(sym);
	p += sprintf(p, "_RINvC1a1f");
	for (i = 0; i < depth; i++)
		*p++ = 'S';
	*p++ = 'h';
	*p++ = 'E';
	*p = '\0';
	errno = 0;
	assert_null(rust_demangle_v0(sym));
	assert_int_equal(errno, EINVAL);
	free(sym);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rust_demangle_paths_and_impls),
	    cmocka_unit_test(test_rust_demangle_generics_and_consts),
	    cmocka_unit_test(test_rust_demangle_closures_shims_and_fn_types),
	    cmocka_unit_test(test_rust_demangle_dyn_and_lifetimes),
	    cmocka_unit_test(test_rust_demangle_punycode),
	    cmocka_unit_test(test_rust_demangle_vendor_suffix_stripped),
	    cmocka_unit_test(test_rust_demangle_rejects_malformed),
	    cmocka_unit_test(test_rust_demangle_prefixes),
	    cmocka_unit_test(test_rust_demangle_backref_bomb_is_bounded),
	    cmocka_unit_test(test_rust_demangle_deep_nesting_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
