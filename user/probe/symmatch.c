// SPDX-License-Identifier: MIT
/*
 * Symbol matching. A user names a C++ method the way they read it ("ns::Cls::method"), not the
 * way the compiler spelled it (_ZNK2ns3Cls6methodEi) or the demangler printed it
 * ("int ns::Cls<int>::method(int) const"), so one glob is tried against every spelling. The
 * short spellings are cut out of the demangled name by a small scanner that knows the shapes
 * the Itanium demangler prints: a return type before template functions, a parameter list,
 * trailing qualifiers and [clone .suffix] tags, and operators whose names contain brackets.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/grow.h"
#include "probe/rust_demangle.h"
#include "probe/symmatch.h"

/* libstdc++'s demangler; declared here because <cxxabi.h> is C++ only. */
extern char *__cxa_demangle(const char *mangled_name, char *output_buffer, size_t *length,
			    int *status);

/* Spellings up to this long are assembled on the stack; longer ones are malloc'd. */
#define NAME_BUF 512

char *sym_demangle(const char *mangled)
{
	int status = 0;
	char *d;

	if (mangled && !strncmp(mangled, "_R", 2))
		return rust_demangle_v0(mangled);
	/* Without the _Z prefix __cxa_demangle would read plain names as types ("i" -> "int"). */
	if (!mangled || strncmp(mangled, "_Z", 2)) {
		errno = EINVAL;
		return NULL;
	}
	d = __cxa_demangle(mangled, NULL, NULL, &status);
	if (!d)
		errno = status == -1 ? ENOMEM : EINVAL;
	return d;
}

/* Reads one possibly escaped character of a class at *@p and advances past it. */
static unsigned char class_char(const char **p)
{
	const char *q = *p;

	if (*q == '\\' && q[1])
		q++;
	*p = q + 1;
	return (unsigned char)*q;
}

/*
 * Matches the single-character element of @g (not '*') against @c, storing where the next
 * element starts in *@next. An element is '?', a bracket class, an escape or a literal.
 */
static bool match_one(const char *g, unsigned char c, const char **next)
{
	if (!*g)
		return false;
	if (*g == '?') {
		*next = g + 1;
		return true;
	}
	if (*g == '[') {
		const char *q = g + 1;
		bool neg = false, hit = false, first = true;

		if (*q == '!' || *q == '^') {
			neg = true;
			q++;
		}
		/* A ']' right after the opening (or the negation) is a member, as in fnmatch. */
		while (*q && (*q != ']' || first)) {
			unsigned char lo = class_char(&q), hi = lo;

			if (*q == '-' && q[1] && q[1] != ']') {
				q++;
				hi = class_char(&q);
			}
			if (c >= lo && c <= hi)
				hit = true;
			first = false;
		}
		if (*q == ']') {
			*next = q + 1;
			return hit != neg;
		}
		/* Unterminated: the '[' stands for itself. */
	}
	if (*g == '\\' && g[1]) {
		*next = g + 2;
		return (unsigned char)g[1] == c;
	}
	*next = g + 1;
	return (unsigned char)*g == c;
}

/*
 * Glob against the first @n bytes of @s. Every element but '*' consumes exactly one character,
 * so resuming from the most recent '*' one character later is enough: O(len(g) * n), no
 * recursion whatever the input.
 */
static bool glob_match_n(const char *g, const char *s, size_t n)
{
	const char *star_g = NULL, *next;
	size_t i = 0, star_i = 0;

	while (i < n) {
		if (*g == '*') {
			while (*g == '*')
				g++;
			if (!*g)
				return true;
			star_g = g;
			star_i = i;
			continue;
		}
		if (match_one(g, (unsigned char)s[i], &next)) {
			g = next;
			i++;
			continue;
		}
		if (!star_g)
			return false;
		g = star_g;
		i = ++star_i;
	}
	while (*g == '*')
		g++;
	return !*g;
}

bool sym_glob_match(const char *glob, const char *name)
{
	if (!glob || !name)
		return false;
	return glob_match_n(glob, name, strlen(name));
}

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* Length of the keyword "operator" plus its symbol if @s starts an operator name, else 0. */
static size_t operator_len(const char *s, const char *start)
{
	static const char ops[] = "<>=!+-*/%^&|~,";
	size_t n = 8;

	if (strncmp(s, "operator", 8) || is_ident(s[8]) || (s > start && is_ident(s[-1])))
		return 0;
	if (!strncmp(s + 8, "()", 2) || !strncmp(s + 8, "[]", 2))
		return n + 2;
	while (s[n] && strchr(ops, s[n]))
		n++;
	return n;
}

static bool ends_with_word(const char *d, size_t end, const char *w)
{
	size_t n = strlen(w);

	return end > n && d[end - n - 1] == ' ' && !strncmp(d + end - n, w, n);
}

/*
 * Finds in demangled name @d the bounds [*start, *end) of the qualified name alone: without the
 * return type, parameter list, cv/ref qualifiers and [clone] tags, or Rust's hash suffix.
 * Returns false if @d does not have the shape of a function name.
 */
static bool demangled_base(const char *d, size_t *start, size_t *end)
{
	static const char *const quals[] = {
	    "const", "volatile", "&", "&&", "noexcept", "restrict", "transaction_safe",
	};
	size_t e = strlen(d), i, depth, sp = 0;
	bool stripped = true;

	while (stripped) {
		stripped = false;
		while (e && d[e - 1] == ' ')
			e--;
		if (e && d[e - 1] == ']') {
			for (i = e; i > 0; i--) {
				if (!strncmp(d + i - 1, " [clone ", 8)) {
					e = i - 1;
					stripped = true;
					break;
				}
			}
			continue;
		}
		for (i = 0; i < sizeof(quals) / sizeof(quals[0]) && !stripped; i++) {
			if (ends_with_word(d, e, quals[i])) {
				e -= strlen(quals[i]) + 1;
				stripped = true;
			}
		}
	}
	if (!e || d[e - 1] != ')') {
		/* Rust's legacy mangling demangles to "path::to::fn::h<16 hex digits>". */
		if (e > 19 && !strncmp(d + e - 19, "::h", 3) &&
		    strspn(d + e - 16, "0123456789abcdef") >= 16) {
			*start = 0;
			*end = e - 19;
			return true;
		}
		return false;
	}
	for (depth = 0, i = e; i > 0; i--) {
		if (d[i - 1] == ')')
			depth++;
		else if (d[i - 1] == '(' && !--depth)
			break;
	}
	if (!i || i == 1)
		return false;
	e = i - 1;

	/* The return type ends at the last space outside brackets, before any operator name. */
	for (depth = 0, i = 0; i < e; i++) {
		char c = d[i];

		if (operator_len(d + i, d))
			break;
		if (c == '<' || c == '(' || c == '[' || c == '{')
			depth++;
		else if ((c == '>' || c == ')' || c == ']' || c == '}') && depth)
			depth--;
		else if (c == ' ' && !depth)
			sp = i + 1;
	}
	if (sp >= e)
		return false;
	*start = sp;
	*end = e;
	return true;
}

/*
 * Copies @n bytes of @s to @out without template argument lists ("a::B<int>::f<long>" ->
 * "a::B::f"), keeping operator names intact. Returns the length, or 0 if the brackets do not
 * balance. @out must hold @n + 1 bytes.
 */
static size_t strip_templates(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0, depth = 0, op;

	while (i < n) {
		if (!depth && (op = operator_len(s + i, s)) && i + op <= n) {
			memcpy(out + o, s + i, op);
			o += op;
			i += op;
			continue;
		}
		if (s[i] == '<') {
			depth++;
		} else if (s[i] == '>') {
			if (!depth)
				return 0;
			depth--;
		} else if (!depth) {
			out[o++] = s[i];
		}
		i++;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return depth ? 0 : o;
}

static bool match_versioned(const struct elf_sym *s, const char *glob)
{
	size_t ln = strlen(s->name), lv = strlen(s->version);
	char stack[NAME_BUF], *buf = stack;
	bool hit;

	if (ln + lv + 3 > sizeof(stack)) {
		buf = malloc(ln + lv + 3);
		if (!buf)
			return false;
	}
	memcpy(buf, s->name, ln);
	buf[ln] = '@';
	memcpy(buf + ln + 1, s->version, lv + 1);
	hit = glob_match_n(glob, buf, ln + 1 + lv);
	/* name@@VER only for the default version, the one a plain link binds to. */
	if (!hit && s->default_version) {
		buf[ln + 1] = '@';
		memcpy(buf + ln + 2, s->version, lv + 1);
		hit = glob_match_n(glob, buf, ln + 2 + lv);
	}
	if (buf != stack)
		free(buf);
	return hit;
}

static bool match_demangled(const char *d, const char *glob)
{
	char stack[NAME_BUF], *buf = stack;
	size_t start, end, n;
	bool hit;

	if (sym_glob_match(glob, d))
		return true;
	if (!demangled_base(d, &start, &end))
		return false;
	if (glob_match_n(glob, d + start, end - start))
		return true;
	if (end - start + 1 > sizeof(stack)) {
		buf = malloc(end - start + 1);
		if (!buf)
			return false;
	}
	n = strip_templates(d + start, end - start, buf);
	hit = n && n != end - start && glob_match_n(glob, buf, n);
	if (buf != stack)
		free(buf);
	return hit;
}

bool sym_matches(const struct elf_sym *s, const char *glob)
{
	if (!s || !s->name || !glob)
		return false;
	if (sym_glob_match(glob, s->name))
		return true;
	if (s->version && match_versioned(s, glob))
		return true;
	if (s->display && sym_glob_match(glob, s->display))
		return true;
	return s->demangled && match_demangled(s->demangled, glob);
}

/*
 * Compiler suffixes appended to a function's symbol with a '.': clones of a function that
 * callers enter (GCC's .isra/.constprop/.part/.lto_priv/.localalias, LLVM's .llvm.N and
 * .specialized.N) and fragments of a function's body that are only jumped to (GCC and LLVM hot/cold
 * splitting's .cold/.cold.N, BOLT's .cold/.warm, LLVM basic block sections' .__part.N).
 */
static const char *const clone_words[] = {
    "isra", "constprop", "part", "lto_priv", "localalias", "llvm", "specialized", "clone",
};
static const char *const fragment_words[] = {"cold", "warm", "__part"};

static bool in_list(const char *tok, size_t n, const char *const *list, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strlen(list[i]) == n && !strncmp(tok, list[i], n))
			return true;
	return false;
}

/*
 * Length of @name without its trailing compiler suffixes (".constprop.0.isra.0"): numbers and
 * known words are peeled from the end; an unknown word stops. Sets *@fragment if a peeled word
 * marks a non-entry fragment.
 */
static size_t strip_suffixes(const char *name, bool *fragment)
{
	size_t e = strlen(name), end = e, i;

	*fragment = false;
	while (e) {
		const char *tok;
		size_t n;
		bool digits = true;

		for (i = e; i > 0 && name[i - 1] != '.'; i--)
			digits = digits && isdigit((unsigned char)name[i - 1]);
		/* No dot, or a dot opening the name: nothing (more) to peel. */
		if (i < 2)
			break;
		tok = name + i;
		n = e - i;
		if (!n)
			break;
		if (in_list(tok, n, fragment_words,
			    sizeof(fragment_words) / sizeof(*fragment_words)))
			*fragment = true;
		else if (!digits &&
			 !in_list(tok, n, clone_words, sizeof(clone_words) / sizeof(*clone_words)))
			break;
		e = i - 1;
		if (!digits)
			end = e;
	}
	return end;
}

/* The demangled name without " [clone .x]" tags and Rust's legacy "::h<16 hex>" hash. */
static size_t clean_demangled(const char *d)
{
	size_t e = strlen(d), i;
	bool stripped = true;

	while (stripped && e && d[e - 1] == ']') {
		stripped = false;
		for (i = e; i > 0; i--) {
			if (!strncmp(d + i - 1, " [clone ", 8)) {
				e = i - 1;
				stripped = true;
				break;
			}
		}
	}
	if (e > 19 && !strncmp(d + e - 19, "::h", 3) &&
	    strspn(d + e - 16, "0123456789abcdef") >= 16)
		e -= 19;
	return e;
}

int sym_annotate(struct elf_sym *s)
{
	size_t n;
	int err;

	free(s->demangled);
	free(s->display);
	s->demangled = s->display = NULL;
	n = strip_suffixes(s->name, &s->fragment);
	if (!strncmp(s->name, "_Z", 2) || !strncmp(s->name, "_R", 2)) {
		s->demangled = sym_demangle(s->name);
		err = s->demangled ? 0 : errno;
		/* Not every demangler takes every suffix (.llvm.N after a Rust legacy name): the
		 * name without them still says which function this is. */
		if (err == EINVAL && n < strlen(s->name)) {
			char *base = strndup(s->name, n);

			if (!base)
				return -ENOMEM;
			s->demangled = sym_demangle(base);
			err = s->demangled ? 0 : errno;
			free(base);
		}
		if (err == ENOMEM)
			return -ENOMEM;
	}
	if (s->demangled) {
		n = clean_demangled(s->demangled);
		s->display = strndup(s->demangled, n ? n : strlen(s->demangled));
	} else {
		s->display = strndup(s->name, n);
	}
	return s->display ? 0 : -ENOMEM;
}

bool sym_name_is_fragment(const char *name)
{
	bool fragment;

	strip_suffixes(name, &fragment);
	return fragment;
}

int sym_annotate_all(struct elf_file *f)
{
	size_t i;
	int err = elf_file_load(f);

	if (err)
		return err;
	for (i = 0; i < f->n_syms; i++) {
		if (!f->syms[i].display && sym_annotate(&f->syms[i]))
			return -ENOMEM;
	}
	return 0;
}

static bool is_mangled(const char *name)
{
	return !strncmp(name, "_Z", 2) || !strncmp(name, "_R", 2);
}

/*
 * Words the demanglers write that are not copied from the mangled name: builtin types, the
 * std:: abbreviations (Ss, Sa, ...), qualifiers, operators, special names and tags of the
 * Itanium demangler, and Rust's primitive types and v0 keywords.
 */
static const char *const generated_words[] = {
    "std",
    "allocator",
    "basic_string",
    "char_traits",
    "basic_istream",
    "basic_ostream",
    "basic_iostream",
    "string",
    "istream",
    "ostream",
    "iostream",
    "void",
    "wchar_t",
    "bool",
    "char",
    "signed",
    "unsigned",
    "short",
    "int",
    "long",
    "__int128",
    "float",
    "double",
    "__float128",
    "_Float",
    "char8_t",
    "char16_t",
    "char32_t",
    "decltype",
    "auto",
    "nullptr_t",
    "decimal",
    "half",
    "_Accum",
    "_Fract",
    "_Sat",
    "_BitInt",
    "const",
    "volatile",
    "restrict",
    "__restrict",
    "noexcept",
    "throw",
    "transaction_safe",
    "operator",
    "new",
    "delete",
    "sizeof",
    "alignof",
    "typeid",
    "typeof",
    "__alignof__",
    "__uuidof",
    "dynamic_cast",
    "static_cast",
    "const_cast",
    "reinterpret_cast",
    "anonymous",
    "namespace",
    "lambda",
    "unnamed",
    "type",
    "clone",
    "vtable",
    "for",
    "VTT",
    "typeinfo",
    "name",
    "construction",
    "covariant",
    "return",
    "thunk",
    "to",
    "virtual",
    "non",
    "guard",
    "variable",
    "reference",
    "temporary",
    "transaction",
    "TLS",
    "init",
    "function",
    "wrapper",
    "template",
    "parameter",
    "object",
    "true",
    "false",
    "abi",
    "struct",
    "union",
    "enum",
    "class",
    "typename",
    "requires",
    "this",
    "impl",
    "as",
    "dyn",
    "unsafe",
    "extern",
    "fn",
    "mut",
    "str",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "closure",
    "shim",
    "constant",
    "C",
    "Rust",
    "const_generic",
    "inline",
    "global",
    "constructors",
    "destructors",
    "keyed",
    "hidden",
    "alias",
    "string_literal",
    "nullptr",
    "parm",
    "default",
    "arg",
    "enable_if",
    "initializer",
    "co_await",
    "ull",
    "java",
    "resource",
    "punycode",
};

/*
 * The identifier runs of @glob's literal text (letters and '_' only, at least two) that are no
 * part of a word the demanglers write: every demangled spelling a glob matches copies these
 * runs from the mangled name, so a mangled name without one of them cannot match through its
 * demangled spellings, and is not demangled to find out. Stored as offsets into @buf.
 */
struct glob_words {
	char buf[NAME_BUF];
	size_t start[16], n;
};

static bool generated_contains(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(generated_words) / sizeof(*generated_words); i++) {
		const char *k = generated_words[i];
		size_t kn = strlen(k), j;

		for (j = 0; j + n <= kn; j++)
			if (!strncmp(k + j, w, n))
				return true;
	}
	return false;
}

static void glob_words_init(struct glob_words *w, const char *glob)
{
	const char *g = glob, *next;
	size_t o = 0, run = 0;

	w->n = 0;
	while (1) {
		int c = -1;

		if (!*g || *g == '*' || *g == '?' ||
		    (*g == '[' && (match_one(g, 0, &next), next != g + 1))) {
			/* a wildcard element, or the end: the run stops */
		} else if (*g == '\\' && g[1]) {
			c = (unsigned char)g[1];
		} else {
			c = (unsigned char)*g;
		}
		if (c >= 0 && (isalpha(c) || c == '_') && o + 1 < sizeof(w->buf)) {
			w->buf[o++] = (char)c;
			run++;
		} else {
			if (run >= 2 && w->n < sizeof(w->start) / sizeof(*w->start)) {
				w->buf[o++] = '\0';
				if (generated_contains(w->buf + o - 1 - run, run))
					o -= run + 1;
				else
					w->start[w->n++] = o - 1 - run;
			} else {
				o -= run;
			}
			run = 0;
			if (o + 1 >= sizeof(w->buf))
				break;
		}
		if (!*g)
			break;
		if (*g == '*' || *g == '?')
			g++;
		else if (*g == '[' && (match_one(g, 0, &next), next != g + 1))
			g = next;
		else if (*g == '\\' && g[1])
			g += 2;
		else
			g++;
	}
}

static bool words_in(const struct glob_words *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (!strstr(name, w->buf + w->start[i]))
			return false;
	return true;
}

/*
 * sym_matches for a symbol that may not be annotated yet: the spellings that need no
 * demangling are tried first, and a mangled symbol is demangled (sym_annotate, kept in @s)
 * only if @w says a demangled spelling could match. Returns 1, 0, or -ENOMEM.
 */
static int match_lazy(struct elf_sym *s, const char *glob, const struct glob_words *w)
{
	bool fragment;

	if (s->display)
		return sym_matches(s, glob);
	if (sym_glob_match(glob, s->name) || (s->version && match_versioned(s, glob)))
		return 1;
	if (!is_mangled(s->name))
		/* the display name sym_annotate would give: the name without clone suffixes */
		return glob_match_n(glob, s->name, strip_suffixes(s->name, &fragment));
	/* Rust v0 spells string constants in hex ("Ke68656c6c6f_" for "hello"): such names
	 * are always demangled. */
	if (!words_in(w, s->name) && !(s->name[1] == 'R' && strstr(s->name, "Ke")))
		return 0;
	if (sym_annotate(s))
		return -ENOMEM;
	return sym_matches(s, glob);
}

/* The core of sym_find over @v[0..@nv): indices of the matches into *@idx. */
static int find_in(struct elf_sym *v, size_t nv, const char *glob, const struct glob_words *w,
		   size_t **idx, size_t *n)
{
	size_t *out = NULL, cnt = 0, cap = 0, i;
	int m;

	*idx = NULL;
	*n = 0;
	for (i = 0; i < nv; i++) {
		/* Aliases are adjacent: once an address is reported its other names are skipped. */
		if (cnt && v[out[cnt - 1]].vaddr == v[i].vaddr)
			continue;
		if (v[i].fragment)
			continue;
		m = match_lazy(&v[i], glob, w);
		if (m < 0)
			goto nomem;
		if (!m)
			continue;
		/* a probe is named by its display name */
		if ((!v[i].display && sym_annotate(&v[i])) ||
		    grow(&out, &cap, cnt + 1, sizeof(*out)))
			goto nomem;
		out[cnt++] = i;
	}
	*idx = out;
	*n = cnt;
	return 0;
nomem:
	free(out);
	return -ENOMEM;
}

int sym_find(struct elf_file *f, const char *glob, size_t **idx, size_t *n)
{
	struct glob_words w;
	int err;

	*idx = NULL;
	*n = 0;
	err = elf_file_load(f);
	if (err)
		return err;
	glob_words_init(&w, glob);
	return find_in(f->syms, f->n_syms, glob, &w, idx, n);
}

/* elf_sym_keep for sym_select: a symbol can match only if it holds every word of the glob (in
 * its name or version), or if it is a Rust v0 name match_lazy always demangles. */
static bool keep_words(const char *name, size_t len, const char *version, void *arg)
{
	const struct glob_words *w = arg;
	size_t i;

	if (len > 2 && name[0] == '_' && name[1] == 'R' && memmem(name, len, "Ke", 2))
		return true;
	for (i = 0; i < w->n; i++) {
		const char *word = w->buf + w->start[i];

		if (!memmem(name, len, word, strlen(word)) && (!version || !strstr(version, word)))
			return false;
	}
	return true;
}

int sym_select(struct elf_file *f, const char *glob, const struct elf_sym ***found, size_t *n)
{
	const struct elf_sym **out;
	struct elf_sym *v = f->syms;
	size_t nv = f->n_syms, *idx = NULL, i;
	struct glob_words w;
	int err;

	*found = NULL;
	*n = 0;
	glob_words_init(&w, glob);
	/* Without a word to look for, every symbol is a candidate: read them all, once. */
	if (!elf_file_loaded(f) && w.n)
		err = elf_file_select(f, glob, keep_words, &w, &v, &nv);
	else
		err = elf_file_load(f);
	if (!err && elf_file_loaded(f)) {
		v = f->syms;
		nv = f->n_syms;
	}
	if (!err)
		err = find_in(v, nv, glob, &w, &idx, n);
	if (err || !*n) {
		free(idx);
		*n = 0;
		return err;
	}
	out = malloc(*n * sizeof(*out));
	if (!out) {
		free(idx);
		*n = 0;
		return -ENOMEM;
	}
	for (i = 0; i < *n; i++)
		out[i] = &v[idx[i]];
	free(idx);
	*found = out;
	return 0;
}

size_t sym_count_fragments(struct elf_file *f, const char *glob)
{
	struct glob_words w;
	size_t i, n = 0;

	if (elf_file_load(f))
		return 0;
	glob_words_init(&w, glob);
	for (i = 0; i < f->n_syms; i++)
		n += f->syms[i].fragment && match_lazy(&f->syms[i], glob, &w) > 0;
	return n;
}

const char *sym_display_name(const struct elf_sym *s)
{
	if (s->display)
		return s->display;
	return s->demangled ? s->demangled : s->name;
}

/* The literal characters of a glob: wildcards and classes dropped, escapes resolved. */
static char *glob_literal(const char *glob)
{
	char *out = malloc(strlen(glob) + 1);
	const char *g = glob, *next;
	size_t o = 0;

	if (!out)
		return NULL;
	while (*g) {
		if (*g == '*' || *g == '?') {
			g++;
		} else if (*g == '[' && (match_one(g, 0, &next), next != g + 1)) {
			g = next;
		} else if (*g == '\\' && g[1]) {
			out[o++] = g[1];
			g += 2;
		} else {
			out[o++] = *g++;
		}
	}
	out[o] = '\0';
	return out;
}

/* Optimal string alignment distance, case-insensitive, or @limit + 1 once it must exceed
 * @limit. @rows holds 3 * (@m + 1) entries. */
static size_t edit_distance(const char *a, size_t n, const char *b, size_t m, size_t limit,
			    size_t *rows)
{
	size_t *pp = rows, *p = rows + m + 1, *c = rows + 2 * (m + 1), *t;
	size_t i, j;

	if ((n > m ? n - m : m - n) > limit)
		return limit + 1;
	for (j = 0; j <= m; j++)
		p[j] = j;
	for (i = 1; i <= n; i++) {
		size_t best;

		c[0] = best = i;
		for (j = 1; j <= m; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			size_t v = p[j - 1] + (ca != cb);

			if (p[j] + 1 < v)
				v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
			if (v < best)
				best = v;
		}
		if (best > limit)
			return limit + 1;
		t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[m];
}

static bool contains_nocase(const char *hay, size_t n, const char *needle, size_t m)
{
	size_t i, j;

	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m; j++) {
			if (tolower((unsigned char)hay[i + j]) != tolower((unsigned char)needle[j]))
				break;
		}
		if (j == m)
			return true;
	}
	return false;
}

struct suggestion {
	const char *name;
	size_t score;
};

/* Score of candidate spelling [s, s + n) for literal @q, or SIZE_MAX if not close. */
static size_t score_one(const char *q, size_t qn, const char *s, size_t n, size_t limit,
			size_t *rows)
{
	size_t d = edit_distance(q, qn, s, n, limit, rows);

	if (d <= limit)
		return d;
	/* The user typed part of the name ("documents" for bt_retrieve_documents). */
	if (qn >= 3 && contains_nocase(s, n, q, qn))
		return limit + 1 + (n - qn);
	return SIZE_MAX;
}

static size_t score_sym(const struct elf_sym *s, const char *q, size_t qn, size_t limit,
			size_t *rows)
{
	size_t best = score_one(q, qn, s->name, strlen(s->name), limit, rows), start, end, v, k;
	char stack[NAME_BUF], *buf = stack;

	if (!s->demangled || !demangled_base(s->demangled, &start, &end))
		return best;
	if (end - start + 1 > sizeof(stack)) {
		buf = malloc(end - start + 1);
		if (!buf)
			return best;
	}
	v = strip_templates(s->demangled + start, end - start, buf);
	if (v) {
		/* Whole qualified name, then its last component: "retrieve" is a typical query. */
		k = score_one(q, qn, buf, v, limit, rows);
		best = k < best ? k : best;
		for (k = v; k > 1 && !(buf[k - 1] == ':' && buf[k - 2] == ':'); k--)
			;
		if (k > 1) {
			k = score_one(q, qn, buf + k, v - k, limit, rows);
			best = k < best ? k : best;
		}
	}
	if (buf != stack)
		free(buf);
	return best;
}

size_t sym_suggest(struct elf_file *f, const char *glob, const char **out, size_t max)
{
	struct suggestion *best = NULL;
	size_t *rows = NULL, qn, limit, n = 0, i, j, longest = 0;
	char *q = NULL;

	if (!f || !glob || !out || !max)
		return 0;
	/* Only on a miss: the full work of naming every symbol is fine here. */
	if (sym_annotate_all(f))
		return 0;
	q = glob_literal(glob);
	if (!q || !(qn = strlen(q)))
		goto cleanup;
	/* Allow about one typo per three characters, at least two. */
	limit = qn / 3 > 2 ? qn / 3 : 2;
	/* Candidates longer than qn + limit are rejected before the row buffer is touched. */
	longest = qn + limit;
	rows = malloc(3 * (longest + 1) * sizeof(*rows));
	best = calloc(max, sizeof(*best));
	if (!rows || !best)
		goto cleanup;
	for (i = 0; i < f->n_syms; i++) {
		const char *name = sym_display_name(&f->syms[i]);
		size_t score;

		/* A fragment is never traced, so never proposed; its function is, by its own name.
		 */
		if (f->syms[i].fragment)
			continue;
		score = score_sym(&f->syms[i], q, qn, limit, rows);

		if (score == SIZE_MAX)
			continue;
		for (j = 0; j < n && strcmp(best[j].name, name); j++)
			;
		if (j < n) {
			if (score >= best[j].score)
				continue;
			memmove(best + j, best + j + 1, (n - j - 1) * sizeof(*best));
			n--;
		}
		/* Insertion into the list kept sorted by score, then by name. */
		for (j = n; j > 0; j--) {
			if (best[j - 1].score < score ||
			    (best[j - 1].score == score && strcmp(best[j - 1].name, name) <= 0))
				break;
		}
		if (j >= max)
			continue;
		if (n == max)
			n--;
		memmove(best + j + 1, best + j, (n - j) * sizeof(*best));
		best[j] = (struct suggestion){.name = name, .score = score};
		n++;
	}
	for (i = 0; i < n; i++)
		out[i] = best[i].name;
cleanup:
	free(rows);
	free(best);
	free(q);
	return n;
}
