// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "span/span.h"
#include "util/grow.h"
#include "util/jbuf.h"
#include "util/stopwatch.h"

/*
 * bt_attr.flags besides BT_ATTR_KEY_PLAIN: which strings of an attribute are in its set's pool,
 * and a key borrowed from a string literal. Neither key is freed with the attribute.
 */
#define POOLED_KEY 0x1u
#define POOLED_VAL 0x2u
#define KEY_LITERAL 0x4u
#define KEY_NOT_OWNED (POOLED_KEY | KEY_LITERAL)
/*
 * The pool: chunks of POOL_CHUNK_MIN bytes, each next one twice the last up to POOL_CHUNK_MAX
 * (a small set, such as a metric point's, stays small; a function span's attributes fit in the
 * second chunk, the one a reused span keeps), strings up to POOL_STR_MAX bytes, and at most
 * POOL_MAX bytes of chunks per set; longer strings, and everything past that, get an
 * allocation each. A replaced or deleted pooled string stays until the set is cleared: the cap
 * bounds what a set that keeps replacing values can hold that way.
 */
#define POOL_CHUNK_MIN 128
#define POOL_CHUNK_MAX 512
#define POOL_STR_MAX 256
#define POOL_MAX 4096

struct bt_strpool {
	struct bt_strpool *next; /* the chunk filled before this one */
	size_t used, cap, total; /* total: bytes of every chunk so far, this one included */
	char data[];
};

/* Records the first failure of a setter on @a (sticky until bt_attrs_clear) and returns it. */
static int attrs_fail(struct bt_attrs *a)
{
	if (!a->err)
		a->err = -ENOMEM;
	return a->err;
}

/*
 * Returns a NUL-terminated copy of the @len bytes at @s, in @a's pool (*@pooled set) or, when
 * the pool does not take it, in an allocation of its own (*@pooled cleared); NULL on ENOMEM.
 */
static char *attrs_strdup(struct bt_attrs *a, const char *s, size_t len, bool *pooled)
{
	struct bt_strpool *c = a->pool;
	char *out;

	*pooled = false;
	if (len <= POOL_STR_MAX && (!c || c->cap - c->used < len + 1)) {
		size_t cap = c ? 2 * c->cap : POOL_CHUNK_MIN, total = c ? c->total : 0;

		if (cap > POOL_CHUNK_MAX)
			cap = POOL_CHUNK_MAX;
		/* a string of up to POOL_STR_MAX bytes always fits a new chunk */
		if (cap < len + 1)
			cap = len + 1;

		if (total + cap <= POOL_MAX) {
			struct bt_strpool *nc = malloc(sizeof(*nc) + cap);

			if (!nc)
				return NULL;
			nc->next = c;
			nc->used = 0;
			nc->cap = cap;
			nc->total = total + cap;
			a->pool = c = nc;
		}
	}
	if (len <= POOL_STR_MAX && c && c->cap - c->used >= len + 1) {
		out = c->data + c->used;
		c->used += len + 1;
		*pooled = true;
	} else {
		out = malloc(len + 1);
		if (!out)
			return NULL;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

static void attr_free_value(struct bt_attr *at)
{
	size_t i;

	switch (at->type) {
	case BT_ATTR_STR:
		if (!(at->flags & POOLED_VAL))
			free(at->s);
		break;
	case BT_ATTR_STR_ARRAY:
		for (i = 0; i < at->arr.n; i++)
			free(at->arr.v[i]);
		free(at->arr.v);
		break;
	default:
		break;
	}
	at->flags &= ~POOLED_VAL;
}

static uint16_t key_len16(size_t len)
{
	return len < UINT16_MAX ? (uint16_t)len : UINT16_MAX;
}

/* Returns the index of @key (@len bytes) in @a, or a->n. */
static size_t attr_find(const struct bt_attrs *a, const char *key, size_t len)
{
	uint16_t l16 = key_len16(len);
	size_t i;

	/* lengths first: most keys of a set differ in length, and strcmp is then skipped */
	for (i = 0; i < a->n; i++)
		if (a->v[i].key_len == l16 && (a->v[i].key == key || strcmp(a->v[i].key, key) == 0))
			break;
	return i;
}

/*
 * Whether literal @key (@len bytes) needs no JSON escaping. A literal's bytes never change, so
 * the answer is kept by address, per thread (spans are built on the event loop and the Python
 * sampler's thread).
 */
static bool literal_plain(const char *key, size_t len)
{
	static _Thread_local struct {
		const char *key;
		bool plain;
	} seen[64];
	size_t h = (size_t)(((uintptr_t)key * 0x9e3779b97f4a7c15ull) >> 58);

	if (seen[h].key != key) {
		seen[h].key = key;
		seen[h].plain = jb_is_plain(key, len);
	}
	return seen[h].plain;
}

/*
 * Returns the slot for @key, existing (value freed) or new; NULL on ENOMEM. @lit: the length of
 * @key when it is a string literal, which is borrowed then; 0: @key is copied.
 */
static struct bt_attr *attr_slot(struct bt_attrs *a, const char *key, size_t lit)
{
	size_t len = lit ? lit : strlen(key), i = attr_find(a, key, len);
	struct bt_attr *at;
	bool pooled;

	if (i < a->n) {
		attr_free_value(&a->v[i]);
		return &a->v[i];
	}
	if (grow(&a->v, &a->cap, a->n + 1, sizeof(*a->v)))
		return NULL;
	at = &a->v[a->n];
	at->key_len = key_len16(len);
	if (lit) {
		at->key = (char *)key;
		at->flags = KEY_LITERAL;
		if (len < UINT16_MAX && literal_plain(key, len))
			at->flags |= BT_ATTR_KEY_PLAIN;
	} else {
		at->key = attrs_strdup(a, key, len, &pooled);
		if (!at->key)
			return NULL;
		at->flags = pooled ? POOLED_KEY : 0;
	}
	a->n++;
	return at;
}

/* Sets @key to a copy of the @len bytes at @val, which hold no NUL. */
static int attrs_set_exact(struct bt_attrs *a, const char *key, size_t lit, const char *val,
			   size_t len)
{
	struct bt_attr *at;
	bool pooled;
	char *copy;

	if (a->err)
		return a->err;
	/* the copy first: when it fails, the value being replaced is still there */
	copy = attrs_strdup(a, val, len, &pooled);
	if (!copy)
		return attrs_fail(a);
	at = attr_slot(a, key, lit);
	if (!at) {
		if (!pooled)
			free(copy);
		return attrs_fail(a);
	}
	at->type = BT_ATTR_STR;
	at->s = copy;
	if (pooled)
		at->flags |= POOLED_VAL;
	return 0;
}

int bt_attrs_set_strn_k(struct bt_attrs *a, const char *key, size_t lit, const char *val,
			size_t len)
{
	/* as strndup: the value ends at a NUL within @len */
	return val ? attrs_set_exact(a, key, lit, val, strnlen(val, len))
		   : attrs_set_exact(a, key, lit, "", 0);
}

int bt_attrs_set_str_k(struct bt_attrs *a, const char *key, size_t lit, const char *val)
{
	return val ? attrs_set_exact(a, key, lit, val, strlen(val))
		   : attrs_set_exact(a, key, lit, "", 0);
}

int bt_attrs_set_int_k(struct bt_attrs *a, const char *key, size_t lit, int64_t val)
{
	struct bt_attr *at = a->err ? NULL : attr_slot(a, key, lit);

	if (!at)
		return attrs_fail(a);
	at->type = BT_ATTR_INT;
	at->i = val;
	return 0;
}

int bt_attrs_set_double_k(struct bt_attrs *a, const char *key, size_t lit, double val)
{
	struct bt_attr *at = a->err ? NULL : attr_slot(a, key, lit);

	if (!at)
		return attrs_fail(a);
	at->type = BT_ATTR_DOUBLE;
	at->d = val;
	return 0;
}

int bt_attrs_set_bool_k(struct bt_attrs *a, const char *key, size_t lit, bool val)
{
	struct bt_attr *at = a->err ? NULL : attr_slot(a, key, lit);

	if (!at)
		return attrs_fail(a);
	at->type = BT_ATTR_BOOL;
	at->b = val;
	return 0;
}

int bt_attrs_set_str_array_k(struct bt_attrs *a, const char *key, size_t lit,
			     const char *const *vals, size_t n)
{
	struct bt_attr *at;
	char **v;
	size_t i;

	if (a->err)
		return a->err;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return attrs_fail(a);
	for (i = 0; i < n; i++) {
		v[i] = strdup(vals[i] ? vals[i] : "");
		if (!v[i])
			goto nomem;
	}
	at = attr_slot(a, key, lit);
	if (!at)
		goto nomem;
	at->type = BT_ATTR_STR_ARRAY;
	at->arr.v = v;
	at->arr.n = n;
	return 0;
nomem:
	while (i--)
		free(v[i]);
	free(v);
	return attrs_fail(a);
}

const struct bt_attr *bt_attrs_get(const struct bt_attrs *a, const char *key)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, key) == 0)
			return &a->v[i];
	return NULL;
}

bool bt_attrs_del(struct bt_attrs *a, const char *key)
{
	size_t i = attr_find(a, key, strlen(key));

	if (i == a->n)
		return false;
	attr_free_value(&a->v[i]);
	if (!(a->v[i].flags & KEY_NOT_OWNED))
		free(a->v[i].key);
	memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(a->v[0]));
	a->n--;
	return true;
}

void bt_attrs_clear(struct bt_attrs *a)
{
	struct bt_strpool *c, *next;
	size_t i;

	for (i = 0; i < a->n; i++) {
		attr_free_value(&a->v[i]);
		if (!(a->v[i].flags & KEY_NOT_OWNED))
			free(a->v[i].key);
	}
	free(a->v);
	for (c = a->pool; c; c = next) {
		next = c->next;
		free(c);
	}
	a->pool = NULL;
	a->v = NULL;
	a->n = a->cap = 0;
	a->err = 0;
}

static void random_ids(uint8_t *buf, size_t len1, size_t len2);

/*
 * Freed spans kept for reuse with their name, attribute array and first pool chunk, so that a
 * span costs no allocation in the steady state (at 100,000 function spans per second, a batch
 * of 512 is made and freed 200 times a second). Bounded: two batches' worth.
 */
#define SPAN_CACHE_MAX 1024
#ifdef BT_FUZZING
/* fuzzing: every span is really freed, so that AddressSanitizer sees a use after free */
#define SPAN_CACHE_KEEP 0
#else
#define SPAN_CACHE_KEEP SPAN_CACHE_MAX
#endif
#define SPAN_CACHE_ATTRS 16 /* the attribute array kept: the capacity a first grow() gives */

static pthread_mutex_t span_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bt_span *span_cache[SPAN_CACHE_MAX];
static size_t span_cache_n;

/*
 * Empties @a for reuse: what bt_attrs_clear() frees, but the array (up to SPAN_CACHE_ATTRS)
 * and one pool chunk are kept, empty.
 */
static void attrs_reset(struct bt_attrs *a)
{
	struct bt_strpool *c, *next;
	size_t i;

	for (i = 0; i < a->n; i++) {
		attr_free_value(&a->v[i]);
		if (!(a->v[i].flags & KEY_NOT_OWNED))
			free(a->v[i].key);
	}
	a->n = 0;
	a->err = 0;
	if (a->cap > SPAN_CACHE_ATTRS) {
		free(a->v);
		a->v = NULL;
		a->cap = 0;
	}
	if (!a->pool)
		return;
	for (c = a->pool->next; c; c = next) {
		next = c->next;
		free(c);
	}
	a->pool->next = NULL;
	a->pool->used = 0;
	a->pool->total = a->pool->cap;
}

/* A cleared span from the cache (name, attribute array and pool possibly kept), or NULL. */
static struct bt_span *span_cache_get(void)
{
	struct bt_span *s = NULL;

	pthread_mutex_lock(&span_cache_lock);
	if (span_cache_n)
		s = span_cache[--span_cache_n];
	pthread_mutex_unlock(&span_cache_lock);
	return s;
}

/* Takes @s (cleared) into the cache; false when it is full. */
static bool span_cache_put(struct bt_span *s)
{
	bool kept = false;

	pthread_mutex_lock(&span_cache_lock);
	if (span_cache_n < SPAN_CACHE_KEEP) {
		span_cache[span_cache_n++] = s;
		kept = true;
	}
	pthread_mutex_unlock(&span_cache_lock);
	return kept;
}

struct bt_span *bt_span_new(const char *name, enum bt_span_kind kind)
{
	struct bt_span *s = span_cache_get();
	size_t len = strlen(name ? name : "");
	uint8_t ids[BT_TRACE_ID_LEN + BT_SPAN_ID_LEN];

	if (!s)
		s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	/* a reused span's name buffer holds at least its old name's length */
	if (!s->name || strlen(s->name) < len) {
		free(s->name);
		s->name = malloc(len + 1);
	}
	if (!s->name) {
		bt_attrs_clear(&s->attrs);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(s->name, name ? name : "", len + 1);
	s->kind = kind;
	/* a valid root by default; bt_span_set_parent() and the stitcher replace the trace id */
	random_ids(ids, sizeof(s->trace_id), sizeof(s->span_id));
	memcpy(s->trace_id, ids, sizeof(s->trace_id));
	memcpy(s->span_id, ids + sizeof(s->trace_id), sizeof(s->span_id));
	return s;
}

void bt_span_free(struct bt_span *s)
{
	struct bt_attrs kept;
	char *name;
	size_t i;

	if (!s)
		return;
	free(s->status_message);
	for (i = 0; i < s->n_events; i++) {
		free(s->events[i].name);
		bt_attrs_clear(&s->events[i].attrs);
	}
	free(s->events);
	free(s->chunk_gaps);
	bt_resource_put(s->resource);
	attrs_reset(&s->attrs);
	kept = s->attrs;
	name = s->name;
	memset(s, 0, sizeof(*s));
	s->attrs = kept;
	s->name = name;
	if (span_cache_put(s))
		return;
	free(s->name);
	bt_attrs_clear(&s->attrs);
	free(s);
}

int bt_span_set_name(struct bt_span *s, const char *name)
{
	char *copy = strdup(name ? name : "");

	if (!copy)
		return -ENOMEM;
	free(s->name);
	s->name = copy;
	return 0;
}

int bt_span_set_status(struct bt_span *s, enum bt_status_code code, const char *msg)
{
	char *copy = NULL;

	if (msg) {
		copy = strdup(msg);
		if (!copy)
			return -ENOMEM;
	}
	free(s->status_message);
	s->status = code;
	s->status_message = copy;
	return 0;
}

struct bt_span_event *bt_span_add_event(struct bt_span *s, const char *name, uint64_t time_ns)
{
	struct bt_span_event *ev;

	if (grow(&s->events, &s->cap_events, s->n_events + 1, sizeof(*s->events)))
		return NULL;
	ev = &s->events[s->n_events];
	memset(ev, 0, sizeof(*ev));
	ev->name = strdup(name ? name : "");
	if (!ev->name)
		return NULL;
	ev->time_ns = time_ns;
	s->n_events++;
	return ev;
}

bool bt_span_is_root(const struct bt_span *s)
{
	static const uint8_t none[BT_SPAN_ID_LEN];

	return !memcmp(s->parent_span_id, none, sizeof(none));
}

void bt_span_set_parent(struct bt_span *child, const struct bt_span *parent)
{
	memcpy(child->trace_id, parent->trace_id, sizeof(child->trace_id));
	memcpy(child->parent_span_id, parent->span_id, sizeof(child->parent_span_id));
}

void bt_span_set_resource(struct bt_span *s, struct bt_resource *r)
{
	bt_resource_get(r);
	bt_resource_put(s->resource);
	s->resource = r;
}

struct bt_resource *bt_resource_new(void)
{
	struct bt_resource *r = calloc(1, sizeof(*r));

	if (r)
		r->refcnt = 1;
	return r;
}

struct bt_resource *bt_resource_get(struct bt_resource *r)
{
	if (r)
		r->refcnt++;
	return r;
}

void bt_resource_put(struct bt_resource *r)
{
	if (!r || --r->refcnt > 0)
		return;
	bt_attrs_clear(&r->attrs);
	free(r);
}

/*
 * Ids come from xoshiro256** (Blackman and Vigna: 256 bits of state, period 2^256 - 1) seeded
 * by getrandom() on first use: ids must be unique, not secret, and the kernel's generator cost
 * 24 bytes of ChaCha per span, several percent of bedtrace's time at 100,000 spans per second.
 * OpenTelemetry and W3C Trace Context ask for random or pseudo-random ids; the SDKs use such
 * generators too.
 */
/* per thread: the Python sampling thread draws ids too */
static __thread uint64_t rng_state[4];

static uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64, to spread a weak fallback seed over the whole state */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(void)
{
	ssize_t r;
	int i;

	do
		r = getrandom(rng_state, sizeof(rng_state), 0);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(rng_state)) {
		/* cannot fail on a kernel with getrandom short of EFAULT; keep ids varied anyway */
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
		    ((uint64_t)getpid() << 32) + (uint64_t)(uintptr_t)&ts;
		for (i = 0; i < 4; i++)
			rng_state[i] = splitmix64(&x);
	}
	/* the all-zero state is the generator's fixed point */
	if (!(rng_state[0] | rng_state[1] | rng_state[2] | rng_state[3]))
		rng_state[0] = 1;
}

static uint64_t rng_next(void)
{
	uint64_t *s = rng_state, out, t;

	if (!(s[0] | s[1] | s[2] | s[3]))
		rng_seed();
	out = rotl64(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return out;
}

static void random_fill(uint8_t *p, size_t len)
{
	while (len) {
		uint64_t v = rng_next();
		size_t n = len < sizeof(v) ? len : sizeof(v);

		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

/* An all-zero id is invalid in OTLP: makes the @len bytes at @p not all zero. */
static void id_nonzero(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return;
	if (len)
		p[len - 1] = 1;
}

void bt_random_id(void *buf, size_t len)
{
	random_fill(buf, len);
	id_nonzero(buf, len);
}

/* Two ids in one draw from the pool: @len1 bytes at @buf, then @len2 bytes. */
static void random_ids(uint8_t *buf, size_t len1, size_t len2)
{
	random_fill(buf, len1 + len2);
	id_nonzero(buf, len1);
	id_nonzero(buf + len1, len2);
}

void bt_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

uint64_t bt_now_mono_ns(void)
{
	return sw_now_ns();
}

uint64_t bt_clock_offset(const struct bt_clock_read *reads, size_t n)
{
	const struct bt_clock_read *best = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (reads[i].mono_after >= reads[i].mono_before &&
		    (!best || reads[i].mono_after - reads[i].mono_before <
				  best->mono_after - best->mono_before))
			best = &reads[i];
	if (!best)
		return 0;
	/* the realtime read happened somewhere in the bracket: its middle errs by half of it */
	return best->unix_ns - (best->mono_before + (best->mono_after - best->mono_before) / 2);
}

static uint64_t unix_offset;
static pthread_once_t unix_offset_once = PTHREAD_ONCE_INIT;

static void unix_offset_init(void)
{
	struct bt_clock_read reads[8];
	size_t i;

	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		reads[i].mono_before = sw_now_ns();
		reads[i].unix_ns = sw_clock_ns(CLOCK_REALTIME);
		reads[i].mono_after = sw_now_ns();
	}
	unix_offset = bt_clock_offset(reads, i);
}

uint64_t bt_mono_to_unix_ns(uint64_t mono_ns)
{
	/*
	 * The offset is fixed at first use so that durations stay exactly what BPF measured. It
	 * is read with care: a thread preempted between its two clock reads (hundreds of us on a
	 * loaded machine) would move every span against the clocks of the traced programs.
	 */
	pthread_once(&unix_offset_once, unix_offset_init);
	return mono_ns + unix_offset;
}

int bt_attrs_set_attr(struct bt_attrs *a, const struct bt_attr *src)
{
	/* a literal key stays borrowed in the copy */
	size_t lit = src->flags & KEY_LITERAL && src->key_len < UINT16_MAX ? src->key_len : 0;

	switch (src->type) {
	case BT_ATTR_STR:
		return bt_attrs_set_str_k(a, src->key, lit, src->s);
	case BT_ATTR_INT:
		return bt_attrs_set_int_k(a, src->key, lit, src->i);
	case BT_ATTR_DOUBLE:
		return bt_attrs_set_double_k(a, src->key, lit, src->d);
	case BT_ATTR_BOOL:
		return bt_attrs_set_bool_k(a, src->key, lit, src->b);
	case BT_ATTR_STR_ARRAY:
		return bt_attrs_set_str_array_k(a, src->key, lit, (const char *const *)src->arr.v,
						src->arr.n);
	}
	return a->err;
}
