/* SPDX-License-Identifier: MIT */
/*
 * An HTTP/1.x message head read one byte at a time: the start line, the framing fields
 * (Content-Length, Transfer-Encoding, Content-Encoding) and the empty line that ends the head.
 * BPF runs it on the head at the start of a read or write, so that it can leave a body nobody
 * reads uncopied without waiting for userspace (capture.bpf.h, auto windows); userspace's
 * HTTP/1.1 parser (proto/http1.c) computes the same request hash (bt_path_hash).
 *
 * It accepts a strict subset of what proto/http1.c accepts, and where it accepts, the two agree
 * on the head's length and on the body's (tests/fuzz/fuzz_http_head.c checks it): CRLF line
 * endings only, no obs-fold, no NUL, one Content-Length of 1 to 19 digits, no Transfer-Encoding
 * or Content-Encoding, no CONNECT, no 1xx. Anything else fails, and BPF then copies the message
 * as it always did.
 *
 * Usable from BPF C and userspace: no loops, no memory but the state, every fixed string a
 * 64-bit constant read with shifts (the verifier sees no table look-up).
 */
#ifndef BT_HTTP_HEAD_H
#define BT_HTTP_HEAD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Inlined whole: in BPF, a function of its own would be one more frame on a deep stack. */
#define BT_HEAD_FN static inline __attribute__((always_inline))

/* The longest head BPF parses (a power of two: BPF masks offsets with BT_HEAD_MAX - 1). */
#define BT_HEAD_MAX 2048

enum bt_head_kind {
	BT_HEAD_REQ = 1,  /* "METHOD target HTTP/1.x" */
	BT_HEAD_RESP = 2, /* "HTTP/1.x NNN reason" */
};

enum bt_head_flags {
	BT_HEAD_F_CL = 1,	   /* a Content-Length field was read into cl */
	BT_HEAD_F_HEAD_METHOD = 2, /* the request's method is HEAD: its response has no body */
	/* scratch bits of the method comparison, while the request line is read */
	BT_HEAD_F_MAYBE_HEAD = 4,
	BT_HEAD_F_MAYBE_CONNECT = 8,
	BT_HEAD_F_QUERY = 16, /* the target's query or fragment began: not hashed */
};

enum bt_head_state {
	BT_HS_START,	/* the start line */
	BT_HS_START_LF, /* its CR was read */
	BT_HS_LINE,	/* the first byte of a field line, or the CR of the empty line */
	BT_HS_NAME,	/* a field name */
	BT_HS_VALUE,	/* a field value not read further */
	BT_HS_CL_LEAD,	/* whitespace before Content-Length's digits */
	BT_HS_CL_DIGITS,
	BT_HS_CL_TRAIL, /* whitespace after them */
	BT_HS_LF,	/* a field line's CR was read */
	BT_HS_END_LF,	/* the empty line's CR was read */
	BT_HS_DONE,	/* len is the head's length, the empty line's CRLF included */
	BT_HS_FAIL,	/* not a head this parser takes */
};

/* The field names it tells apart, as bits of bt_head.cand. */
enum bt_head_field {
	BT_HF_CONTENT_LENGTH = 1,
	BT_HF_CONTENT_ENCODING = 2,
	BT_HF_TRANSFER_ENCODING = 4,
};

struct bt_head {
	__u64 cl;     /* Content-Length (BT_HEAD_F_CL) */
	__u32 len;    /* bytes read; once BT_HS_DONE, the head's length */
	__u32 hash;   /* a request's bt_path_hash: its method, a space and its path */
	__u16 state;  /* enum bt_head_state */
	__u16 status; /* a response's status code */
	__u16 col;    /* position in the start line, or in a field name */
	__u8 kind;    /* enum bt_head_kind */
	__u8 flags;   /* enum bt_head_flags */
	__u8 cand;    /* enum bt_head_field: names the field name read so far may still be */
	__u8 sp;      /* request line: spaces read (method, target, version) */
	__u8 vcol;    /* request line: position in the version; Content-Length: digits read */
	__u8 pad;
};

#define BT_PATH_HASH_INIT 2166136261u
#define BT_PATH_HASH_PRIME 16777619u

/*
 * FNV-1a, one byte on. What identifies a request to the auto windows is its method, the space
 * after it and its path: the request target up to a query ("?") or fragment ("#"), since
 * whether anyone reads a body does not depend on the query (pipeline_wants_body).
 */
BT_HEAD_FN __u32 bt_path_hash_step(__u32 h, __u8 b)
{
	return (h ^ b) * BT_PATH_HASH_PRIME;
}

#ifndef __bpf__
/* The hash of the @n bytes at @p, "METHOD /path" (userspace; BPF hashes as it reads). */
static inline __u32 bt_path_hash(const void *p, unsigned long n)
{
	const __u8 *b = p;
	__u32 h = BT_PATH_HASH_INIT;
	unsigned long i;

	for (i = 0; i < n; i++)
		h = bt_path_hash_step(h, b[i]);
	return h;
}
#endif

/* Eight characters as one little-endian word: byte i of a fixed string is (w >> 8 * i) & 0xff. */
#define BT_W8(a, b, c, d, e, f, g, h)                                                              \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 |   \
	 (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)

BT_HEAD_FN __u8 bt_w8_at(__u64 w, __u32 i)
{
	return (__u8)(w >> ((i & 7) * 8));
}

/* Byte @i of "HTTP/1." (i < 7). */
BT_HEAD_FN __u8 bt_head_http1(__u32 i)
{
	return bt_w8_at(BT_W8('H', 'T', 'T', 'P', '/', '1', '.', 0), i);
}

/* Byte @i of field name @f, lower case; 0 past its end. */
BT_HEAD_FN __u8 bt_head_name_at(enum bt_head_field f, __u32 i)
{
	__u64 w0, w1, w2;

	if (f == BT_HF_TRANSFER_ENCODING) {
		w0 = BT_W8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r');
		w1 = BT_W8('-', 'e', 'n', 'c', 'o', 'd', 'i', 'n');
		w2 = BT_W8('g', 0, 0, 0, 0, 0, 0, 0);
	} else {
		w0 = BT_W8('c', 'o', 'n', 't', 'e', 'n', 't', '-');
		w1 = f == BT_HF_CONTENT_LENGTH ? BT_W8('l', 'e', 'n', 'g', 't', 'h', 0, 0)
					       : BT_W8('e', 'n', 'c', 'o', 'd', 'i', 'n', 'g');
		w2 = 0;
	}
	if (i >= 24)
		return 0;
	return bt_w8_at(i < 8 ? w0 : i < 16 ? w1 : w2, i);
}

BT_HEAD_FN __u32 bt_head_name_len(enum bt_head_field f)
{
	return f == BT_HF_CONTENT_LENGTH ? 14 : f == BT_HF_CONTENT_ENCODING ? 16 : 17;
}

BT_HEAD_FN int bt_head_digit(__u8 b)
{
	return b >= '0' && b <= '9';
}

/* A token character (RFC 9110 §5.6.2): what field names and methods are made of. */
BT_HEAD_FN int bt_head_tchar(__u8 b)
{
	if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || bt_head_digit(b))
		return 1;
	return b == '!' || b == '#' || b == '$' || b == '%' || b == '&' || b == '\'' || b == '*' ||
	       b == '+' || b == '-' || b == '.' || b == '^' || b == '_' || b == '`' || b == '|' ||
	       b == '~';
}

/* Starts reading a head of @kind. */
BT_HEAD_FN void bt_head_init(struct bt_head *h, enum bt_head_kind kind)
{
	__builtin_memset(h, 0, sizeof(*h));
	h->kind = (__u8)kind;
	h->hash = BT_PATH_HASH_INIT;
	h->state = BT_HS_START;
	if (kind == BT_HEAD_REQ)
		h->flags = BT_HEAD_F_MAYBE_HEAD | BT_HEAD_F_MAYBE_CONNECT;
}

/* One byte of a status line; returns the next state. */
BT_HEAD_FN __u16 bt_head_status_byte(struct bt_head *h, __u8 b)
{
	__u32 c = h->col;

	if (c < 7)
		return b == bt_head_http1(c) ? BT_HS_START : BT_HS_FAIL;
	if (c == 7 || c == 10 || c == 11) {
		if (!bt_head_digit(b))
			return BT_HS_FAIL;
		if (c != 7)
			h->status = (__u16)(h->status * 10 + (b - '0'));
		return BT_HS_START;
	}
	if (c == 8)
		return b == ' ' ? BT_HS_START : BT_HS_FAIL;
	if (c == 9) {
		if (b < '1' || b > '5')
			return BT_HS_FAIL;
		h->status = (__u16)(b - '0');
		return BT_HS_START;
	}
	if (b == '\r')
		return c >= 12 ? BT_HS_START_LF : BT_HS_FAIL;
	if (c == 12)
		return b == ' ' ? BT_HS_START : BT_HS_FAIL;
	/* the reason phrase: no control character but HT */
	return (b < 0x20 && b != '\t') || b == 0x7f ? BT_HS_FAIL : BT_HS_START;
}

/* One byte of a request line; returns the next state. */
BT_HEAD_FN __u16 bt_head_request_byte(struct bt_head *h, __u8 b)
{
	__u32 c = h->col;

	if (h->sp == 0 || (h->sp == 1 && !(h->flags & BT_HEAD_F_QUERY) && b != ' ')) {
		if (h->sp == 1 && (b == '?' || b == '#'))
			h->flags |= BT_HEAD_F_QUERY;
		else
			h->hash = bt_path_hash_step(h->hash, b);
	}
	if (h->sp == 0) {
		if (b == ' ') {
			/* a method of 1 to 20 token characters */
			if (c == 0 || c > 20)
				return BT_HS_FAIL;
			if (c == 7 && (h->flags & BT_HEAD_F_MAYBE_CONNECT))
				return BT_HS_FAIL; /* a tunnel: what follows is not HTTP/1 */
			if (c == 4 && (h->flags & BT_HEAD_F_MAYBE_HEAD))
				h->flags |= BT_HEAD_F_HEAD_METHOD;
			h->sp = 1;
			return BT_HS_START;
		}
		if (!bt_head_tchar(b) || c >= 20)
			return BT_HS_FAIL;
		if (c >= 4 || b != bt_w8_at(BT_W8('H', 'E', 'A', 'D', 0, 0, 0, 0), c))
			h->flags &= ~BT_HEAD_F_MAYBE_HEAD;
		if (c >= 7 || b != bt_w8_at(BT_W8('C', 'O', 'N', 'N', 'E', 'C', 'T', 0), c))
			h->flags &= ~BT_HEAD_F_MAYBE_CONNECT;
		return BT_HS_START;
	}
	if (h->sp == 1) {
		if (b == ' ') {
			/* the target has at least one byte: the method's space is not followed by
			 * it */
			if (h->vcol == 0)
				return BT_HS_FAIL;
			h->sp = 2;
			h->vcol = 0;
			return BT_HS_START;
		}
		if (b <= 0x20 || b == 0x7f)
			return BT_HS_FAIL;
		h->vcol = 1;
		return BT_HS_START;
	}
	/* "HTTP/1.x" then CR */
	c = h->vcol;
	if (c < 7) {
		h->vcol++;
		return b == bt_head_http1(c) ? BT_HS_START : BT_HS_FAIL;
	}
	if (c == 7) {
		h->vcol++;
		return bt_head_digit(b) ? BT_HS_START : BT_HS_FAIL;
	}
	return b == '\r' ? BT_HS_START_LF : BT_HS_FAIL;
}

/* The end of a field name, at its colon; returns the next state. */
BT_HEAD_FN __u16 bt_head_name_end(struct bt_head *h)
{
	__u8 f = 0;

	if ((h->cand & BT_HF_CONTENT_LENGTH) && h->col == bt_head_name_len(BT_HF_CONTENT_LENGTH))
		f = BT_HF_CONTENT_LENGTH;
	else if ((h->cand & BT_HF_CONTENT_ENCODING) &&
		 h->col == bt_head_name_len(BT_HF_CONTENT_ENCODING))
		f = BT_HF_CONTENT_ENCODING;
	else if ((h->cand & BT_HF_TRANSFER_ENCODING) &&
		 h->col == bt_head_name_len(BT_HF_TRANSFER_ENCODING))
		f = BT_HF_TRANSFER_ENCODING;
	if (f == BT_HF_CONTENT_ENCODING || f == BT_HF_TRANSFER_ENCODING)
		return BT_HS_FAIL; /* a coded body is decoded as it comes: not left out */
	if (f == BT_HF_CONTENT_LENGTH) {
		if (h->flags & BT_HEAD_F_CL)
			return BT_HS_FAIL; /* repeated: userspace compares the values */
		h->vcol = 0;		   /* now the digits read */
		return BT_HS_CL_LEAD;
	}
	return BT_HS_VALUE;
}

/* One byte of a field name (its first one at col 0); returns the next state. */
BT_HEAD_FN __u16 bt_head_name_byte(struct bt_head *h, __u8 b)
{
	__u8 lower = b >= 'A' && b <= 'Z' ? (__u8)(b + ('a' - 'A')) : b, cand = h->cand;

	if (b == ':')
		return h->col ? bt_head_name_end(h) : BT_HS_FAIL;
	if (!bt_head_tchar(b))
		return BT_HS_FAIL;
	if (h->col == 0)
		cand = BT_HF_CONTENT_LENGTH | BT_HF_CONTENT_ENCODING | BT_HF_TRANSFER_ENCODING;
	if ((cand & BT_HF_CONTENT_LENGTH) && lower != bt_head_name_at(BT_HF_CONTENT_LENGTH, h->col))
		cand &= ~BT_HF_CONTENT_LENGTH;
	if ((cand & BT_HF_CONTENT_ENCODING) &&
	    lower != bt_head_name_at(BT_HF_CONTENT_ENCODING, h->col))
		cand &= ~BT_HF_CONTENT_ENCODING;
	if ((cand & BT_HF_TRANSFER_ENCODING) &&
	    lower != bt_head_name_at(BT_HF_TRANSFER_ENCODING, h->col))
		cand &= ~BT_HF_TRANSFER_ENCODING;
	h->cand = cand;
	if (h->col < 0xffff)
		h->col++;
	return BT_HS_NAME;
}

/* One byte of a Content-Length value; returns the next state. */
BT_HEAD_FN __u16 bt_head_cl_byte(struct bt_head *h, __u8 b)
{
	int ws = b == ' ' || b == '\t';

	if (b == '\r' && h->state != BT_HS_CL_LEAD) {
		h->flags |= BT_HEAD_F_CL;
		return BT_HS_LF;
	}
	if (h->state == BT_HS_CL_TRAIL)
		return ws ? BT_HS_CL_TRAIL : BT_HS_FAIL;
	if (ws)
		return h->state == BT_HS_CL_LEAD ? BT_HS_CL_LEAD : BT_HS_CL_TRAIL;
	/* at most 19 digits: no overflow of 64 bits, the bound userspace keeps too */
	if (!bt_head_digit(b) || h->vcol >= 19)
		return BT_HS_FAIL;
	h->vcol++;
	h->cl = h->cl * 10 + (__u64)(b - '0');
	return BT_HS_CL_DIGITS;
}

/*
 * Feeds byte @b of the head; returns 1 while more is wanted, 0 once the head ended
 * (BT_HS_DONE) or failed (BT_HS_FAIL).
 */
BT_HEAD_FN int bt_head_byte(struct bt_head *h, __u8 b)
{
	__u16 s = h->state;

	if (s == BT_HS_DONE || s == BT_HS_FAIL)
		return 0;
	h->len++;
	if (b == 0) {
		s = BT_HS_FAIL;
	} else if (s == BT_HS_START) {
		s = h->kind == BT_HEAD_RESP ? bt_head_status_byte(h, b)
					    : bt_head_request_byte(h, b);
		if (h->col < 0xffff)
			h->col++;
		/* no 1xx: an interim response is followed by another head, on no position known */
		if (s == BT_HS_START_LF && h->kind == BT_HEAD_RESP && h->status < 200)
			s = BT_HS_FAIL;
	} else if (s == BT_HS_START_LF || s == BT_HS_LF) {
		s = b == '\n' ? BT_HS_LINE : BT_HS_FAIL;
	} else if (s == BT_HS_LINE) {
		if (b == '\r') {
			s = BT_HS_END_LF;
		} else {
			/* a field name (a space or tab first would be obs-fold) */
			h->col = 0;
			h->state = BT_HS_NAME;
			s = bt_head_name_byte(h, b);
		}
	} else if (s == BT_HS_NAME) {
		s = bt_head_name_byte(h, b);
	} else if (s == BT_HS_VALUE) {
		s = b == '\r' ? BT_HS_LF : b == '\n' ? BT_HS_FAIL : BT_HS_VALUE;
	} else if (s == BT_HS_CL_LEAD || s == BT_HS_CL_DIGITS || s == BT_HS_CL_TRAIL) {
		s = bt_head_cl_byte(h, b);
	} else if (s == BT_HS_END_LF) {
		s = b == '\n' ? BT_HS_DONE : BT_HS_FAIL;
	} else {
		s = BT_HS_FAIL;
	}
	h->state = s;
	return s != BT_HS_DONE && s != BT_HS_FAIL;
}

/*
 * The body length that follows a finished head @h, or -1 when it is not known from the head
 * (a response that runs until the connection closes). A response to a HEAD request
 * (@req_head) and a 204 or 304 have none, whatever they declare; a request without
 * Content-Length has none.
 */
BT_HEAD_FN __s64 bt_head_body(const struct bt_head *h, int req_head)
{
	if (h->state != BT_HS_DONE)
		return -1;
	if (h->kind == BT_HEAD_RESP && (req_head || h->status == 204 || h->status == 304))
		return 0;
	if (h->flags & BT_HEAD_F_CL)
		return h->cl > 0x7fffffffffffffffULL ? -1 : (__s64)h->cl;
	return h->kind == BT_HEAD_REQ ? 0 : -1;
}

#endif
