/* SPDX-License-Identifier: MIT */
/*
 * A JSON text writer: appends to one growing buffer, so encoding a batch costs a few
 * reallocations instead of an allocation per member (a cJSON tree per span was most of
 * bedtrace's CPU time at 100,000 spans per second). Used by every OTLP JSON encoder (traces,
 * metrics, logs) and the report.
 *
 * Errors are sticky: when memory runs out @oom is set and every later call does nothing; the
 * caller checks it once at the end. Strings are escaped as RFC 8259 requires; bytes that are not
 * well-formed UTF-8 become U+FFFD (JSON text must be UTF-8, and collectors reject it otherwise).
 * Doubles print with enough digits to round-trip; NaN and +-Infinity, which JSON numbers cannot
 * express, are written as the proto3 JSON strings "NaN", "Infinity", "-Infinity". int64 and
 * uint64 are decimal strings, as OTLP JSON wants them (JSON numbers lose precision past 2^53).
 */
#ifndef BT_JBUF_H
#define BT_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct jbuf {
	char *p; /* NUL-terminated text so far; the caller frees it */
	size_t len, cap;
	bool oom;
};

/* UTF-8 encoding of U+FFFD REPLACEMENT CHARACTER. */
extern const char jb_utf8_replacement[];

/*
 * Returns the length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates or
 * code points above U+10FFFF) starting at @p, or 0 if the byte at @p does not start one. Stops
 * at the terminating NUL, which is never a continuation byte.
 */
size_t jb_utf8_seq_len(const unsigned char *p);

/*
 * Grows the buffer for @more bytes (and the NUL); the slow path of jb_room(). Returns false
 * when memory ran out (now or before).
 */
bool jb_grow(struct jbuf *b, size_t more);

/*
 * True when there is room for @more bytes and the NUL, growing the buffer if needed. One
 * comparison when there is (cap is 0 without a buffer): encoders call it for every token.
 * Text written after a failure (in room left from before) is harmless: @oom stays set.
 */
static inline bool jb_room(struct jbuf *b, size_t more)
{
	return b->len + more < b->cap || jb_grow(b, more);
}

/* Makes room for @more bytes (and the NUL). */
static inline void jb_reserve(struct jbuf *b, size_t more)
{
	(void)jb_room(b, more);
}

/* Appends @n raw bytes. */
static inline void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (!jb_room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}
#define JB_LIT(b, lit) jb_put((b), "" lit, sizeof(lit) - 1)
/* Opens an array element: the comma before all but the first, then @open. */
void jb_elem(struct jbuf *b, bool first, const char *open);
/* A JSON string of @s (NULL: ""). */
void jb_str(struct jbuf *b, const char *s);
/* Whether the @len bytes at @s go into a JSON string as they are (no escape, all ASCII). */
bool jb_is_plain(const char *s, size_t len);
/* "key": with a literal key (no escaping needed) and the comma before it when not @first. */
void jb_key(struct jbuf *b, bool first, const char *key);
/* "123" (quoted, as OTLP JSON writes 64-bit integers). */
void jb_i64(struct jbuf *b, int64_t v);
void jb_u64(struct jbuf *b, uint64_t v);
/* "0a1b..." lowercase hex of @len bytes (ids). */
void jb_hex(struct jbuf *b, const uint8_t *id, size_t len);
/* A JSON number that reads back equal, or "NaN"/"Infinity"/"-Infinity". */
void jb_double(struct jbuf *b, double d);
/* A plain JSON number. */
void jb_int(struct jbuf *b, int v);

#endif
