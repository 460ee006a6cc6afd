/* SPDX-License-Identifier: MIT */
/*
 * The span model every producer (function probes, HTTP, Bedrock) fills in and every exporter
 * reads: OpenTelemetry spans with typed attributes, events and a shared per-process resource.
 * A span owns its strings and attributes; bt_span_free() releases all of it (span.c may keep the
 * emptied span to hand out again from bt_span_new()).
 */
#ifndef BT_SPAN_H
#define BT_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Values are the OTLP enum numbers (SpanKind, Status.StatusCode). */
enum bt_span_kind {
	BT_KIND_UNSPECIFIED = 0,
	BT_KIND_INTERNAL = 1,
	BT_KIND_SERVER = 2,
	BT_KIND_CLIENT = 3,
	BT_KIND_PRODUCER = 4,
	BT_KIND_CONSUMER = 5,
};

enum bt_status_code {
	BT_STATUS_UNSET = 0,
	BT_STATUS_OK = 1,
	BT_STATUS_ERROR = 2,
};

enum bt_attr_type {
	BT_ATTR_STR,
	BT_ATTR_INT,
	BT_ATTR_DOUBLE,
	BT_ATTR_BOOL,
	BT_ATTR_STR_ARRAY,
};

struct bt_attr {
	char *key;
	enum bt_attr_type type;
	/* span.c's own: the key's length (capped at UINT16_MAX), and flags: which of key and
	 * value live in the set's string pool, whether the key is a borrowed literal and whether
	 * it needs no JSON escaping (BT_ATTR_KEY_PLAIN); zero in borrowed views */
	uint16_t key_len;
	uint8_t flags;
	union {
		char *s;
		int64_t i;
		double d;
		bool b;
		struct {
			char **v;
			size_t n;
		} arr;
	};
};

struct bt_strpool;

/*
 * An ordered set of attributes with unique keys; setting a key again replaces its value.
 * Errors are sticky: the first failed setter records -ENOMEM in @err, and every later setter does
 * nothing and returns it, so a builder sets attribute after attribute and checks @err once.
 * Keys and short string values are copied into @pool, a few chunks freed with the set, instead
 * of an allocation each (a function span has seven attributes, at 100,000 spans per second).
 * A set may be moved by copying the struct (the original is then forgotten, not cleared).
 */
struct bt_attrs {
	struct bt_attr *v;
	size_t n, cap;
	int err; /* 0, or the first setter failure (cleared by bt_attrs_clear) */
	struct bt_strpool *pool;
};

struct bt_span_event {
	char *name;
	uint64_t time_ns; /* unix epoch */
	struct bt_attrs attrs;
};

/* Resource of one traced process, shared by its spans (reference counted). */
struct bt_resource {
	struct bt_attrs attrs;
	int refcnt;
};

/*
 * Token usage and cost of a model call, typed, so that the stitcher's trace totals and metrics do
 * not read them back out of attributes. The GenAI annotator that sets the matching
 * gen_ai.usage.* / bedtrace.cost.* attributes sets these too.
 */
struct bt_genai_usage {
	bool has_tokens;	/* input_tokens/output_tokens are known */
	bool has_cost;		/* cost_usd is known (the model has a price) */
	bool includes_children; /* the totals already sum this span's child spans */
	int64_t input_tokens;	/* all input, cache reads and writes included */
	int64_t output_tokens;
	int64_t cache_read_tokens;  /* part of input_tokens read from the prompt cache */
	int64_t cache_write_tokens; /* part of input_tokens written to the prompt cache */
	double cost_usd;
};

#define BT_TRACE_ID_LEN 16
#define BT_SPAN_ID_LEN 8

struct bt_span {
	uint8_t trace_id[BT_TRACE_ID_LEN];
	uint8_t span_id[BT_SPAN_ID_LEN];
	uint8_t parent_span_id[BT_SPAN_ID_LEN]; /* all zero: root span */
	char *name;
	enum bt_span_kind kind;
	uint64_t start_ns, end_ns; /* unix epoch nanoseconds */
	enum bt_status_code status;
	char *status_message; /* NULL or owned */
	struct bt_attrs attrs;
	struct bt_span_event *events;
	size_t n_events, cap_events;
	struct bt_resource *resource; /* counted reference or NULL */
	struct bt_genai_usage usage;  /* model calls only; zero elsewhere */
	/* streamed model calls: seconds between consecutive output chunks (owned, malloc'd) */
	float *chunk_gaps;
	uint32_t n_chunk_gaps;
};

/* bt_attr.flags: the key is @key_len bytes of ASCII from 0x20 without '"' or '\\' (JSON as is) */
#define BT_ATTR_KEY_PLAIN 0x8u

/*
 * Attribute sets. Setters return 0 or the set's sticky error (-ENOMEM); @val is copied, and so
 * is @key unless the compiler sees a string literal there (the keys of semconv.h): a literal
 * lives as long as the program, so the set borrows it, its length counted at compile time (a
 * function span sets seven such keys, 100,000 spans a second). The _k functions take that
 * length as @lit: 0 for a key to copy.
 */
#define BT_KEY_LIT(key) (__builtin_constant_p(key) ? __builtin_strlen(key) : 0)
#define bt_attrs_set_str(a, key, val) bt_attrs_set_str_k(a, key, BT_KEY_LIT(key), val)
#define bt_attrs_set_strn(a, key, val, len) bt_attrs_set_strn_k(a, key, BT_KEY_LIT(key), val, len)
#define bt_attrs_set_int(a, key, val) bt_attrs_set_int_k(a, key, BT_KEY_LIT(key), val)
#define bt_attrs_set_double(a, key, val) bt_attrs_set_double_k(a, key, BT_KEY_LIT(key), val)
#define bt_attrs_set_bool(a, key, val) bt_attrs_set_bool_k(a, key, BT_KEY_LIT(key), val)
#define bt_attrs_set_str_array(a, key, vals, n)                                                    \
	bt_attrs_set_str_array_k(a, key, BT_KEY_LIT(key), vals, n)
int bt_attrs_set_str_k(struct bt_attrs *a, const char *key, size_t lit, const char *val);
int bt_attrs_set_strn_k(struct bt_attrs *a, const char *key, size_t lit, const char *val,
			size_t len);
int bt_attrs_set_int_k(struct bt_attrs *a, const char *key, size_t lit, int64_t val);
int bt_attrs_set_double_k(struct bt_attrs *a, const char *key, size_t lit, double val);
int bt_attrs_set_bool_k(struct bt_attrs *a, const char *key, size_t lit, bool val);
int bt_attrs_set_str_array_k(struct bt_attrs *a, const char *key, size_t lit,
			     const char *const *vals, size_t n);
/* Sets @src's key to a copy of @src's value, whatever its type. */
int bt_attrs_set_attr(struct bt_attrs *a, const struct bt_attr *src);
/* Returns the attribute named @key or NULL; owned by @a. */
const struct bt_attr *bt_attrs_get(const struct bt_attrs *a, const char *key);
/* Removes @key if present; returns true when something was removed. */
bool bt_attrs_del(struct bt_attrs *a, const char *key);
void bt_attrs_clear(struct bt_attrs *a);

/* Returns a new span named @name with fresh random span id, or NULL (errno set). Caller frees. */
struct bt_span *bt_span_new(const char *name, enum bt_span_kind kind);
void bt_span_free(struct bt_span *s);
int bt_span_set_name(struct bt_span *s, const char *name);
/* Sets status; @msg may be NULL. Returns 0 or -ENOMEM. */
int bt_span_set_status(struct bt_span *s, enum bt_status_code code, const char *msg);
/* Appends an event; returns it (owned by @s) or NULL on ENOMEM. */
struct bt_span_event *bt_span_add_event(struct bt_span *s, const char *name, uint64_t time_ns);
/* Makes @child a child of @parent: same trace id, parent span id = parent's span id. */
void bt_span_set_parent(struct bt_span *child, const struct bt_span *parent);
/* Takes a new reference on @r (may be NULL) and drops the span's previous one. */
void bt_span_set_resource(struct bt_span *s, struct bt_resource *r);

/* Returns a new resource with refcnt 1, or NULL. */
struct bt_resource *bt_resource_new(void);
struct bt_resource *bt_resource_get(struct bt_resource *r);
void bt_resource_put(struct bt_resource *r);

/* Fills @buf with pseudo-random bytes (a generator seeded by getrandom()), never all zero
 * (valid OTLP ids). */
void bt_random_id(void *buf, size_t len);
/* Writes lowercase hex of @len bytes plus NUL into @out (2*len+1 bytes). */
void bt_hex(const uint8_t *in, size_t len, char *out);

/* Realtime (unix epoch) nanoseconds for a CLOCK_MONOTONIC timestamp such as bpf_ktime_get_ns(). */
uint64_t bt_mono_to_unix_ns(uint64_t mono_ns);

/* One read of CLOCK_REALTIME between two reads of CLOCK_MONOTONIC. */
struct bt_clock_read {
	uint64_t mono_before, unix_ns, mono_after;
};
/*
 * The offset of CLOCK_REALTIME from CLOCK_MONOTONIC that @n reads give: that of the read with the
 * narrowest bracket, against its middle. 0 if no read is sound (a bracket that ends before it
 * begins).
 */
uint64_t bt_clock_offset(const struct bt_clock_read *reads, size_t n);
/* CLOCK_MONOTONIC now, in nanoseconds (util/stopwatch.h's clock, the one bedtrace reads). */
uint64_t bt_now_mono_ns(void);

/* True when @s has no parent (its parent span id is all zero). */
bool bt_span_is_root(const struct bt_span *s);

#endif
