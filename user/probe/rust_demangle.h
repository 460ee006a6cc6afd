/* SPDX-License-Identifier: MIT */
/*
 * Rust v0 symbol demangling (RFC 2603, "_R" symbols): owns turning a v0 mangled name into the
 * path a user reads ("<shop::Cart as core::fmt::Display>::fmt"). Pure function, no I/O; the
 * input is untrusted (any symbol table), so depth, work and output size are bounded.
 */
#ifndef BT_RUST_DEMANGLE_H
#define BT_RUST_DEMANGLE_H

/* Demangled text longer than this is refused rather than built. */
#define RUST_DEMANGLE_MAX 8192

/*
 * Returns the malloc'd demangled form of v0 symbol @mangled (caller frees), printed like
 * rustc-demangle's alternate form: no crate disambiguators, no instantiating crate, no vendor
 * suffix (".llvm.123"), const generics without type suffixes, punycode identifiers decoded.
 * Returns NULL with errno EINVAL if @mangled is not a well-formed v0 symbol or its demangled
 * form exceeds RUST_DEMANGLE_MAX, ENOMEM if memory ran out.
 */
char *rust_demangle_v0(const char *mangled);

#endif
