// SPDX-License-Identifier: MIT
/*
 * Rust v0 demangler, written from the grammar of RFC 2603 (the rustc book's "v0 Symbol
 * Format"). One recursive-descent pass prints while it parses. Back references point at an
 * earlier offset of the same symbol and are followed by re-parsing from there; parts never
 * shown (impl paths, the instantiating crate) are parsed with printing off, and a back
 * reference met while printing is off is not followed, since it only needs to be stepped over.
 * With depth, steps and output bounded, hostile input costs at most a fixed amount of work.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/grow.h"
#include "probe/rust_demangle.h"

/* Nesting of paths and types; real symbols stay far below it. */
#define MAX_DEPTH 200
/* Grammar productions entered per symbol: bounds the work back references can cause. */
#define MAX_STEPS (1u << 18)
/* Bound lifetimes in scope (for<'a, ...>) and code points of one punycode identifier. */
#define MAX_BOUND 1024
#define MAX_PUNY 256

struct rd {
	const char *s; /* the symbol after "_R" */
	size_t len, pos;
	char *out;
	size_t n, cap;
	unsigned depth, steps;
	uint64_t bound; /* lifetimes bound by the enclosing binders */
	bool skip;	/* parse without printing */
	int err;	/* 0, EINVAL or ENOMEM */
};

struct ident {
	const char *p;
	size_t n;
	bool puny;
};

static void fail(struct rd *r)
{
	if (!r->err)
		r->err = EINVAL;
}

static bool enter(struct rd *r)
{
	if (r->err)
		return false;
	if (++r->depth > MAX_DEPTH || ++r->steps > MAX_STEPS) {
		fail(r);
		r->depth--;
		return false;
	}
	return true;
}

static void leave(struct rd *r)
{
	r->depth--;
}

static char peek(const struct rd *r)
{
	return r->pos < r->len ? r->s[r->pos] : '\0';
}

static bool eat(struct rd *r, char c)
{
	if (r->err || peek(r) != c)
		return false;
	r->pos++;
	return true;
}

static char next(struct rd *r)
{
	if (r->err || r->pos >= r->len) {
		fail(r);
		return '\0';
	}
	return r->s[r->pos++];
}

static void put(struct rd *r, const char *p, size_t n)
{
	if (r->skip || r->err || !n)
		return;
	if (n > RUST_DEMANGLE_MAX - r->n) {
		fail(r);
		return;
	}
	if (grow(&r->out, &r->cap, r->n + n + 1, 1)) {
		r->err = ENOMEM;
		return;
	}
	memcpy(r->out + r->n, p, n);
	r->n += n;
}

static void puts_(struct rd *r, const char *s)
{
	put(r, s, strlen(s));
}

static void put_u64(struct rd *r, uint64_t v)
{
	char buf[24];

	put(r, buf, (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v));
}

/* base-62-number: "_" is 0, otherwise digits [0-9a-zA-Z] of the value minus one, then "_". */
static uint64_t base62(struct rd *r)
{
	uint64_t v = 0;
	char c;

	if (eat(r, '_'))
		return 0;
	while (!r->err && (c = next(r)) != '_') {
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'z')
			d = 10 + (c - 'a');
		else if (c >= 'A' && c <= 'Z')
			d = 36 + (c - 'A');
		else {
			fail(r);
			return 0;
		}
		if (v > (UINT64_MAX - d) / 62) {
			fail(r);
			return 0;
		}
		v = v * 62 + d;
	}
	if (r->err || v == UINT64_MAX) {
		fail(r);
		return 0;
	}
	return v + 1;
}

/* An optional @tag followed by a base-62-number: 0 when absent, the number plus one if not. */
static uint64_t opt_base62(struct rd *r, char tag)
{
	uint64_t v;

	if (!eat(r, tag))
		return 0;
	v = base62(r);
	if (v == UINT64_MAX)
		fail(r);
	return r->err ? 0 : v + 1;
}

static uint64_t decimal(struct rd *r)
{
	uint64_t v = 0;
	char c = next(r);

	if (c == '0')
		return 0;
	if (c < '1' || c > '9') {
		fail(r);
		return 0;
	}
	v = c - '0';
	while (isdigit((unsigned char)peek(r))) {
		unsigned d = r->s[r->pos++] - '0';

		if (v > (UINT64_MAX - d) / 10) {
			fail(r);
			return 0;
		}
		v = v * 10 + d;
	}
	return v;
}

/* undisambiguated-identifier: ["u"] decimal-number ["_"] bytes */
static void undis_ident(struct rd *r, struct ident *id)
{
	uint64_t n;

	id->puny = eat(r, 'u');
	n = decimal(r);
	eat(r, '_');
	if (r->err || n > r->len - r->pos) {
		fail(r);
		id->p = "";
		id->n = 0;
		return;
	}
	id->p = r->s + r->pos;
	id->n = n;
	r->pos += n;
}

static uint64_t puny_adapt(uint64_t delta, uint64_t points, bool first)
{
	uint64_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / points;
	while (delta > 35 * 26 / 2) {
		delta /= 35;
		k += 36;
	}
	return k + 36 * delta / (delta + 38);
}

/* RFC 3492 decoding into @cp, with '_' as the delimiter as v0 spells it. Returns the count of
 * code points, or 0 if @p is not valid punycode. */
static size_t punycode(const char *p, size_t n, uint32_t *cp)
{
	const char *end = p + n, *q = end;
	uint64_t code = 128, bias = 72, i = 0;
	size_t out = 0;

	while (q > p && q[-1] != '_')
		q--;
	if (q > p) {
		for (; p < q - 1; p++) {
			if ((unsigned char)*p >= 0x80 || out == MAX_PUNY)
				return 0;
			cp[out++] = (unsigned char)*p;
		}
		p = q;
	}
	while (p < end) {
		uint64_t old = i, w = 1, k;

		for (k = 36;; k += 36) {
			uint64_t d, t;

			if (p == end)
				return 0;
			if (*p >= 'a' && *p <= 'z')
				d = *p - 'a';
			else if (*p >= '0' && *p <= '9')
				d = 26 + (*p - '0');
			else
				return 0;
			p++;
			if (d * w > UINT32_MAX - i)
				return 0;
			i += d * w;
			t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
			if (d < t)
				break;
			w *= 36 - t;
			if (w > UINT32_MAX)
				return 0;
		}
		bias = puny_adapt(i - old, out + 1, old == 0);
		code += i / (out + 1);
		i %= out + 1;
		if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || out == MAX_PUNY)
			return 0;
		memmove(cp + i + 1, cp + i, (out - i) * sizeof(*cp));
		cp[i++] = (uint32_t)code;
		out++;
	}
	return out;
}

static void put_utf8(struct rd *r, uint32_t c)
{
	char b[4];

	if (c < 0x80) {
		b[0] = (char)c;
		put(r, b, 1);
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		put(r, b, 2);
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		put(r, b, 3);
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		put(r, b, 4);
	}
}

static void put_ident(struct rd *r, const struct ident *id)
{
	uint32_t cp[MAX_PUNY];
	size_t n, i;

	if (r->skip)
		return;
	if (!id->puny) {
		put(r, id->p, id->n);
		return;
	}
	n = punycode(id->p, id->n, cp);
	if (!n) {
		/* Undecodable: shown as spelled rather than refusing the whole symbol. */
		puts_(r, "punycode{");
		put(r, id->p, id->n);
		puts_(r, "}");
		return;
	}
	for (i = 0; i < n; i++)
		put_utf8(r, cp[i]);
}

static void lifetime(struct rd *r, uint64_t lt)
{
	uint64_t depth;
	char buf[24];

	if (!lt) {
		puts_(r, "'_");
		return;
	}
	if (lt > r->bound) {
		fail(r);
		return;
	}
	depth = r->bound - lt;
	if (depth < 26) {
		buf[0] = '\'';
		buf[1] = (char)('a' + depth);
		put(r, buf, 2);
	} else {
		puts_(r, "'_");
		put_u64(r, depth);
	}
}

typedef void (*parse_fn)(struct rd *r, bool in_value);

/* backref: "B" base-62-number, an offset (after "_R") strictly before this one. */
static void backref(struct rd *r, parse_fn fn, bool in_value)
{
	size_t at = r->pos - 1, saved;
	uint64_t target = base62(r);

	if (r->err)
		return;
	if (target >= at) {
		fail(r);
		return;
	}
	if (r->skip)
		return;
	saved = r->pos;
	r->pos = (size_t)target;
	fn(r, in_value);
	r->pos = saved;
}

static void path(struct rd *r, bool in_value);
static void type(struct rd *r, bool unused);
static void konst(struct rd *r, bool unused);

/* Runs @fn inside a binder ("G" base-62-number, the count of bound lifetimes minus one). */
static void binder(struct rd *r, parse_fn fn)
{
	uint64_t n = opt_base62(r, 'G'), i = 0;

	if (n > MAX_BOUND || r->bound > MAX_BOUND) {
		fail(r);
		return;
	}
	if (n) {
		puts_(r, "for<");
		for (i = 0; i < n && !r->err; i++) {
			if (i)
				puts_(r, ", ");
			r->bound++;
			lifetime(r, 1);
		}
		puts_(r, "> ");
	}
	fn(r, false);
	r->bound -= i;
}

static void generic_arg(struct rd *r)
{
	if (eat(r, 'L'))
		lifetime(r, base62(r));
	else if (eat(r, 'K'))
		konst(r, false);
	else
		type(r, false);
}

/* {generic-arg} "E", printed as a list; the opening bracket is the caller's. */
static void generic_args(struct rd *r)
{
	size_t i;

	for (i = 0; !r->err && !eat(r, 'E'); i++) {
		if (i)
			puts_(r, ", ");
		generic_arg(r);
	}
}

static void impl_path(struct rd *r)
{
	bool skip = r->skip;

	r->skip = true;
	opt_base62(r, 's');
	path(r, false);
	r->skip = skip;
}

static void nested(struct rd *r, bool in_value)
{
	char ns = next(r), buf[2] = {0};
	struct ident id;
	uint64_t dis;

	if (!isalpha((unsigned char)ns)) {
		fail(r);
		return;
	}
	path(r, in_value);
	dis = opt_base62(r, 's');
	undis_ident(r, &id);
	if (isupper((unsigned char)ns)) {
		/* Unnamed or special entities: closures (C), shims (S), other tags as is. */
		puts_(r, "::{");
		buf[0] = ns;
		puts_(r, ns == 'C' ? "closure" : ns == 'S' ? "shim" : buf);
		if (id.n) {
			puts_(r, ":");
			put_ident(r, &id);
		}
		puts_(r, "#");
		put_u64(r, dis);
		puts_(r, "}");
	} else if (id.n) {
		puts_(r, "::");
		put_ident(r, &id);
	}
}

static void path(struct rd *r, bool in_value)
{
	struct ident id;

	if (!enter(r))
		return;
	switch (next(r)) {
	case 'C':
		/* The crate disambiguator is a hash: never shown. */
		opt_base62(r, 's');
		undis_ident(r, &id);
		put_ident(r, &id);
		break;
	case 'M':
		impl_path(r);
		puts_(r, "<");
		type(r, false);
		puts_(r, ">");
		break;
	case 'X':
		impl_path(r);
		/* fallthrough */
	case 'Y':
		puts_(r, "<");
		type(r, false);
		puts_(r, " as ");
		path(r, false);
		puts_(r, ">");
		break;
	case 'N':
		nested(r, in_value);
		break;
	case 'I':
		path(r, in_value);
		puts_(r, in_value ? "::<" : "<");
		generic_args(r);
		puts_(r, ">");
		break;
	case 'B':
		backref(r, path, in_value);
		break;
	default:
		fail(r);
	}
	leave(r);
}

/* A path for a dyn trait: generic arguments are left open (returns true) so that associated
 * type bindings can join them ("Iterator<Item = u8>"). */
static bool dyn_path(struct rd *r)
{
	bool open = false;

	if (!enter(r))
		return false;
	if (eat(r, 'B')) {
		size_t at = r->pos - 1, saved;
		uint64_t target = base62(r);

		if (!r->err && target >= at)
			fail(r);
		if (!r->err && !r->skip) {
			saved = r->pos;
			r->pos = (size_t)target;
			open = dyn_path(r);
			r->pos = saved;
		}
	} else if (eat(r, 'I')) {
		path(r, false);
		puts_(r, "<");
		generic_args(r);
		open = true;
	} else {
		path(r, false);
	}
	leave(r);
	return open;
}

static void dyn_trait(struct rd *r)
{
	bool open = dyn_path(r);
	struct ident id;

	while (!r->err && eat(r, 'p')) {
		puts_(r, open ? ", " : "<");
		open = true;
		undis_ident(r, &id);
		put_ident(r, &id);
		puts_(r, " = ");
		type(r, false);
	}
	if (open)
		puts_(r, ">");
}

static void dyn_bounds(struct rd *r, bool unused)
{
	size_t i;

	(void)unused;
	for (i = 0; !r->err && !eat(r, 'E'); i++) {
		if (i)
			puts_(r, " + ");
		dyn_trait(r);
	}
}

static void fn_sig(struct rd *r, bool unused)
{
	struct ident abi;
	size_t i;

	(void)unused;
	if (eat(r, 'U'))
		puts_(r, "unsafe ");
	if (eat(r, 'K')) {
		puts_(r, "extern \"");
		if (eat(r, 'C')) {
			puts_(r, "C");
		} else {
			undis_ident(r, &abi);
			/* ABI names spell '-' as '_' ("system_unwind"). */
			for (i = 0; i < abi.n && !r->err; i++)
				put(r, abi.p[i] == '_' ? "-" : abi.p + i, 1);
		}
		puts_(r, "\" ");
	}
	puts_(r, "fn(");
	for (i = 0; !r->err && !eat(r, 'E'); i++) {
		if (i)
			puts_(r, ", ");
		type(r, false);
	}
	puts_(r, ")");
	if (!eat(r, 'u')) {
		puts_(r, " -> ");
		type(r, false);
	}
}

static const char *basic_type(char c)
{
	switch (c) {
	case 'a':
		return "i8";
	case 'b':
		return "bool";
	case 'c':
		return "char";
	case 'd':
		return "f64";
	case 'e':
		return "str";
	case 'f':
		return "f32";
	case 'h':
		return "u8";
	case 'i':
		return "isize";
	case 'j':
		return "usize";
	case 'l':
		return "i32";
	case 'm':
		return "u32";
	case 'n':
		return "i128";
	case 'o':
		return "u128";
	case 'p':
		return "_";
	case 's':
		return "i16";
	case 't':
		return "u16";
	case 'u':
		return "()";
	case 'v':
		return "...";
	case 'x':
		return "i64";
	case 'y':
		return "u64";
	case 'z':
		return "!";
	default:
		return NULL;
	}
}

static void type(struct rd *r, bool unused)
{
	const char *basic;
	char c;
	size_t i;

	(void)unused;
	if (!enter(r))
		return;
	c = next(r);
	basic = basic_type(c);
	if (basic) {
		puts_(r, basic);
		leave(r);
		return;
	}
	switch (c) {
	case 'A':
	case 'S':
		puts_(r, "[");
		type(r, false);
		if (c == 'A') {
			puts_(r, "; ");
			konst(r, false);
		}
		puts_(r, "]");
		break;
	case 'T':
		puts_(r, "(");
		for (i = 0; !r->err && !eat(r, 'E'); i++) {
			if (i)
				puts_(r, ", ");
			type(r, false);
		}
		puts_(r, i == 1 ? ",)" : ")");
		break;
	case 'R':
	case 'Q':
		puts_(r, "&");
		if (eat(r, 'L')) {
			uint64_t lt = base62(r);

			if (lt) {
				lifetime(r, lt);
				puts_(r, " ");
			}
		}
		if (c == 'Q')
			puts_(r, "mut ");
		type(r, false);
		break;
	case 'P':
	case 'O':
		puts_(r, c == 'P' ? "*const " : "*mut ");
		type(r, false);
		break;
	case 'F':
		binder(r, fn_sig);
		break;
	case 'D': {
		uint64_t lt;

		puts_(r, "dyn ");
		binder(r, dyn_bounds);
		if (!eat(r, 'L')) {
			fail(r);
			break;
		}
		lt = base62(r);
		if (lt) {
			puts_(r, " + ");
			lifetime(r, lt);
		}
		break;
	}
	case 'B':
		backref(r, type, false);
		break;
	default:
		r->pos--;
		path(r, false);
	}
	leave(r);
}

/* const-data: ["n"] {hex-digit} "_". Stores up to 64 bits in *@v; longer values set *@wide and
 * leave the digits (without leading zeros) at *@hex, *@nhex. */
static void const_data(struct rd *r, bool *neg, uint64_t *v, const char **hex, size_t *nhex)
{
	size_t start;

	*neg = eat(r, 'n');
	*v = 0;
	while (peek(r) == '0')
		r->pos++;
	start = r->pos;
	while (isxdigit((unsigned char)peek(r)) && !isupper((unsigned char)peek(r)))
		r->pos++;
	*hex = r->s + start;
	*nhex = r->pos - start;
	if (!eat(r, '_')) {
		fail(r);
		return;
	}
	if (*nhex <= 16)
		*v = strtoull(r->s + start, NULL, 16) * (*nhex != 0);
}

static void put_char_lit(struct rd *r, uint32_t c, char quote)
{
	char buf[16];

	if (c == (uint32_t)quote || c == '\\') {
		buf[0] = '\\';
		buf[1] = (char)c;
		put(r, buf, 2);
	} else if (c == '\n') {
		puts_(r, "\\n");
	} else if (c == '\t') {
		puts_(r, "\\t");
	} else if (c == '\r') {
		puts_(r, "\\r");
	} else if (c < 0x20 || c == 0x7f) {
		put(r, buf, (size_t)snprintf(buf, sizeof(buf), "\\u{%x}", (unsigned)c));
	} else {
		put_utf8(r, c);
	}
}

static void const_list(struct rd *r, const char *open, const char *close, bool tuple)
{
	size_t i;

	puts_(r, open);
	for (i = 0; !r->err && !eat(r, 'E'); i++) {
		if (i)
			puts_(r, ", ");
		konst(r, false);
	}
	puts_(r, tuple && i == 1 ? "," : "");
	puts_(r, close);
}

static void konst(struct rd *r, bool unused)
{
	const char *hex;
	size_t nhex, i;
	uint64_t v;
	bool neg;
	char c;

	(void)unused;
	if (!enter(r))
		return;
	c = next(r);
	switch (c) {
	case 'p':
		puts_(r, "_");
		break;
	case 'B':
		backref(r, konst, false);
		break;
	case 'h':
	case 't':
	case 'm':
	case 'y':
	case 'o':
	case 'j':
	case 'a':
	case 's':
	case 'l':
	case 'x':
	case 'n':
	case 'i':
		const_data(r, &neg, &v, &hex, &nhex);
		if (neg && !strchr("aslxni", c))
			fail(r);
		if (neg && nhex)
			puts_(r, "-");
		if (nhex > 16) {
			puts_(r, "0x");
			put(r, hex, nhex);
		} else {
			put_u64(r, v);
		}
		break;
	case 'b':
		const_data(r, &neg, &v, &hex, &nhex);
		if (neg || v > 1)
			fail(r);
		puts_(r, v ? "true" : "false");
		break;
	case 'c':
		const_data(r, &neg, &v, &hex, &nhex);
		if (neg || nhex > 8 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
			fail(r);
			break;
		}
		puts_(r, "'");
		put_char_lit(r, (uint32_t)v, '\'');
		puts_(r, "'");
		break;
	case 'e':
		/* A string constant: its UTF-8 bytes as pairs of hex digits. */
		const_data(r, &neg, &v, &hex, &nhex);
		if (neg || nhex % 2) {
			fail(r);
			break;
		}
		puts_(r, "\"");
		for (i = 0; i < nhex && !r->err; i += 2) {
			char pair[3] = {hex[i], hex[i + 1], 0};
			unsigned b = (unsigned)strtoul(pair, NULL, 16);
			char ch = (char)b;

			if (b >= 0x80)
				put(r, &ch, 1);
			else
				put_char_lit(r, b, '"');
		}
		puts_(r, "\"");
		break;
	case 'R':
	case 'Q':
		puts_(r, c == 'R' ? "&" : "&mut ");
		konst(r, false);
		break;
	case 'A':
		const_list(r, "[", "]", false);
		break;
	case 'T':
		const_list(r, "(", ")", true);
		break;
	case 'V':
		path(r, true);
		if (eat(r, 'T')) {
			const_list(r, "(", ")", false);
		} else if (eat(r, 'S')) {
			puts_(r, " { ");
			for (i = 0; !r->err && !eat(r, 'E'); i++) {
				struct ident id;

				if (i)
					puts_(r, ", ");
				opt_base62(r, 's');
				undis_ident(r, &id);
				put_ident(r, &id);
				puts_(r, ": ");
				konst(r, false);
			}
			puts_(r, " }");
		} else if (!eat(r, 'U')) {
			fail(r);
		}
		break;
	default:
		fail(r);
	}
	leave(r);
}

char *rust_demangle_v0(const char *mangled)
{
	struct rd r = {0};

	if (!mangled || strncmp(mangled, "_R", 2)) {
		errno = EINVAL;
		return NULL;
	}
	r.s = mangled + 2;
	r.len = strlen(r.s);
	/* A leading decimal number would be an encoding version; none is defined yet. */
	if (isdigit((unsigned char)peek(&r)))
		fail(&r);
	path(&r, true);
	/* The instantiating crate is never shown; a vendor suffix (.llvm.N, $tlv$init) neither. */
	if (!r.err && r.pos < r.len && peek(&r) != '.' && peek(&r) != '$') {
		r.skip = true;
		path(&r, false);
	}
	if (!r.err && r.pos < r.len && peek(&r) != '.' && peek(&r) != '$')
		fail(&r);
	if (!r.err && !r.n)
		fail(&r);
	if (r.err) {
		free(r.out);
		errno = r.err;
		return NULL;
	}
	r.out[r.n] = '\0';
	return r.out;
}
