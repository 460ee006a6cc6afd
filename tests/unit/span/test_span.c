// SPDX-License-Identifier: MIT
/* Unit tests for span.c: attribute sets, span life cycle, resources, ids and clocks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "span/span.h"

static void test_span_attrs_set_get_each_type(void **state)
{
	static const char *const arr[] = {"a", NULL, "c"};
	struct bt_attrs a = {0};
	const struct bt_attr *at;

	(void)state;
	assert_int_equal(bt_attrs_set_str(&a, "s", "hello"), 0);
	assert_int_equal(bt_attrs_set_strn(&a, "sn", "abcdef", 3), 0);
	assert_int_equal(bt_attrs_set_str(&a, "null", NULL), 0);
	assert_int_equal(bt_attrs_set_int(&a, "i", INT64_MIN), 0);
	assert_int_equal(bt_attrs_set_double(&a, "d", 2.5), 0);
	assert_int_equal(bt_attrs_set_bool(&a, "b", true), 0);
	assert_int_equal(bt_attrs_set_str_array(&a, "arr", arr, 3), 0);
	assert_int_equal(a.n, 7);

	at = bt_attrs_get(&a, "s");
	assert_non_null(at);
	assert_int_equal(at->type, BT_ATTR_STR);
	assert_string_equal(at->s, "hello");
	assert_string_equal(bt_attrs_get(&a, "sn")->s, "abc");
	assert_string_equal(bt_attrs_get(&a, "null")->s, "");
	at = bt_attrs_get(&a, "i");
	assert_int_equal(at->type, BT_ATTR_INT);
	assert_true(at->i == INT64_MIN);
	at = bt_attrs_get(&a, "d");
	assert_int_equal(at->type, BT_ATTR_DOUBLE);
	assert_true(at->d == 2.5);
	at = bt_attrs_get(&a, "b");
	assert_int_equal(at->type, BT_ATTR_BOOL);
	assert_true(at->b);
	at = bt_attrs_get(&a, "arr");
	assert_int_equal(at->type, BT_ATTR_STR_ARRAY);
	assert_int_equal(at->arr.n, 3);
	assert_string_equal(at->arr.v[0], "a");
	assert_string_equal(at->arr.v[1], ""); /* NULL element becomes "" */
	assert_string_equal(at->arr.v[2], "c");
	assert_null(bt_attrs_get(&a, "missing"));
	bt_attrs_clear(&a);
	assert_int_equal(a.n, 0);
	assert_null(a.v);
}

static void test_span_attrs_set_copies_value(void **state)
{
	struct bt_attrs a = {0};
	char buf[8] = "orig", key[8] = "k";

	(void)state;
	assert_int_equal(bt_attrs_set_str(&a, key, buf), 0);
	strcpy(buf, "changed");
	strcpy(key, "x");
	assert_string_equal(bt_attrs_get(&a, "k")->s, "orig");
	assert_null(bt_attrs_get(&a, "x"));
	bt_attrs_clear(&a);
}

/* A literal key is borrowed (found again by its text), plain when JSON takes it as it is. */
static void test_span_attrs_literal_keys_borrowed(void **state)
{
	struct bt_attrs a = {0}, b = {0};
	char same[] = "lit.key";
	const char *borrowed;

	(void)state;
	assert_int_equal(bt_attrs_set_int(&a, "lit.key", 1), 0);
	assert_int_equal(bt_attrs_set_str(&a, "lit\"key", "v"), 0);
	assert_int_equal(bt_attrs_set_bool(&a, same + 0, true), 0); /* not a literal: copied */
	assert_int_equal(a.n, 2);				    /* ... and found by its text */
	assert_int_equal(a.v[0].type, BT_ATTR_BOOL);
	assert_int_equal(a.v[0].key_len, 7);
	assert_true(a.v[0].flags & BT_ATTR_KEY_PLAIN);
	assert_false(a.v[1].flags & BT_ATTR_KEY_PLAIN); /* a quote needs escaping */
	assert_int_equal(a.v[1].key_len, 7);
	assert_int_equal(bt_attrs_set_str(&a, "caf\xc3\xa9", "v"), 0);
	assert_false(a.v[2].flags & BT_ATTR_KEY_PLAIN); /* not ASCII: checked by the encoder */
	borrowed = a.v[0].key;

	/* a copied attribute keeps borrowing the literal, and outlives its source */
	assert_int_equal(bt_attrs_set_attr(&b, &a.v[0]), 0);
	assert_ptr_equal(b.v[0].key, borrowed);
	assert_true(b.v[0].flags & BT_ATTR_KEY_PLAIN);
	/* deleting or clearing never frees a literal (ASan builds would see it) */
	assert_true(bt_attrs_del(&a, same));
	bt_attrs_clear(&a);
	assert_string_equal(b.v[0].key, "lit.key");
	assert_true(b.v[0].b);

	/* a key from a buffer is copied: changing the buffer changes nothing */
	assert_int_equal(bt_attrs_set_int(&b, same, 2), 0);
	assert_int_equal(b.n, 1);
	strcpy(same, "changed");
	assert_int_equal(bt_attrs_set_int(&b, same, 3), 0);
	assert_int_equal(b.n, 2);
	assert_false(b.v[1].flags & BT_ATTR_KEY_PLAIN);
	assert_string_equal(b.v[1].key, "changed");
	assert_int_equal(bt_attrs_get(&b, "lit.key")->i, 2);
	bt_attrs_clear(&b);
}

static void test_span_attrs_replace_keeps_order_and_count(void **state)
{
	static const char *const arr[] = {"x", "y"};
	struct bt_attrs a = {0};

	(void)state;
	assert_int_equal(bt_attrs_set_str(&a, "first", "1"), 0);
	assert_int_equal(bt_attrs_set_str(&a, "second", "2"), 0);
	/* same key, different type: replaced in place, no duplicate */
	assert_int_equal(bt_attrs_set_int(&a, "first", 7), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.v[0].key, "first");
	assert_int_equal(a.v[0].type, BT_ATTR_INT);
	assert_int_equal(a.v[0].i, 7);
	/* string array replaced by a string and back (old value freed: checked under ASan) */
	assert_int_equal(bt_attrs_set_str_array(&a, "second", arr, 2), 0);
	assert_int_equal(bt_attrs_set_str(&a, "second", "again"), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(bt_attrs_get(&a, "second")->s, "again");
	bt_attrs_clear(&a);
}

static void test_span_attrs_grow_many(void **state)
{
	struct bt_attrs a = {0};
	char key[16];
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(bt_attrs_set_int(&a, key, i), 0);
	}
	assert_int_equal(a.n, 1000);
	assert_true(a.cap >= a.n);
	for (i = 0; i < 1000; i += 97) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(bt_attrs_get(&a, key)->i, i);
	}
	bt_attrs_clear(&a);
}

static void test_span_attrs_del(void **state)
{
	struct bt_attrs a = {0};

	(void)state;
	assert_int_equal(bt_attrs_set_str(&a, "a", "1"), 0);
	assert_int_equal(bt_attrs_set_str(&a, "b", "2"), 0);
	assert_int_equal(bt_attrs_set_str(&a, "c", "3"), 0);
	assert_true(bt_attrs_del(&a, "b"));
	assert_false(bt_attrs_del(&a, "b"));
	assert_false(bt_attrs_del(&a, "nope"));
	assert_int_equal(a.n, 2);
	/* remaining order preserved */
	assert_string_equal(a.v[0].key, "a");
	assert_string_equal(a.v[1].key, "c");
	assert_true(bt_attrs_del(&a, "c"));
	assert_true(bt_attrs_del(&a, "a"));
	assert_int_equal(a.n, 0);
	/* still usable after emptying */
	assert_int_equal(bt_attrs_set_bool(&a, "z", false), 0);
	assert_int_equal(a.n, 1);
	bt_attrs_clear(&a);
	/* clearing twice is harmless */
	bt_attrs_clear(&a);
}

/* Key @i of the test below: "key.<i>." and i % 40 more dots, so that lengths vary. */
static const char *key_of(int i)
{
	static char key[64];

	snprintf(key, sizeof(key), "key.%d.%.*s", i, i % 40,
		 "........................................");
	return key;
}

/* Value @i of the test below: i * 9 copies of one letter. */
static const char *val_of(int i)
{
	static char val[2048];

	memset(val, 'a' + i % 26, (size_t)i * 9);
	val[i * 9] = '\0';
	return val;
}

/*
 * Keys and values of every length, pooled or not: long values, values replaced again and again
 * (past the pool's cap), deletions and a set moved by copying the struct all keep every string
 * intact (and leak nothing: checked under ASan and valgrind).
 */
static void test_span_attrs_strings_any_size(void **state)
{
	struct bt_attrs a = {0}, moved;
	const struct bt_attr *at;
	char val[2048], *huge;
	int i;

	(void)state;
	for (i = 0; i < 200; i++)
		assert_int_equal(bt_attrs_set_str(&a, key_of(i), val_of(i)), 0);
	/* the same key over and over: the last value wins, nothing is added */
	for (i = 0; i < 3000; i++) {
		snprintf(val, sizeof(val), "value %d", i);
		assert_int_equal(bt_attrs_set_str(&a, key_of(7), val), 0);
	}
	assert_int_equal(a.n, 200);
	assert_string_equal(bt_attrs_get(&a, key_of(7))->s, "value 2999");
	/* a NUL inside the length ends the value, as strndup does */
	assert_int_equal(bt_attrs_set_strn(&a, "nul", "ab\0cd", 5), 0);
	assert_string_equal(bt_attrs_get(&a, "nul")->s, "ab");
	assert_true(bt_attrs_del(&a, key_of(0)));
	assert_true(bt_attrs_del(&a, key_of(150)));
	moved = a;
	memset(&a, 0, sizeof(a));
	assert_int_equal(moved.n, 199);
	for (i = 1; i < 200; i++) {
		if (i == 7 || i == 150)
			continue;
		at = bt_attrs_get(&moved, key_of(i));
		assert_non_null(at);
		assert_string_equal(at->key, key_of(i));
		assert_string_equal(at->s, val_of(i));
	}
	assert_null(bt_attrs_get(&moved, key_of(150)));
	/* a key of any length */
	memset(val, 'k', 1500);
	val[1500] = '\0';
	assert_int_equal(bt_attrs_set_int(&moved, val, 1), 0);
	assert_int_equal(bt_attrs_set_int(&moved, val, 2), 0);
	assert_int_equal(moved.n, 200);
	assert_int_equal(bt_attrs_get(&moved, val)->i, 2);
	assert_true(bt_attrs_del(&moved, val));
	/* keys longer than the length kept: told apart by their bytes */
	huge = malloc(70002);
	assert_non_null(huge);
	memset(huge, 'h', 70001);
	huge[70001] = '\0';
	assert_int_equal(bt_attrs_set_int(&moved, huge, 1), 0);
	huge[70000] = '\0';
	assert_int_equal(bt_attrs_set_int(&moved, huge, 2), 0);
	huge[69999] = 'i';
	assert_int_equal(bt_attrs_set_int(&moved, huge, 3), 0);
	assert_int_equal(bt_attrs_set_int(&moved, huge, 4), 0);
	assert_int_equal(moved.n, 202);
	assert_int_equal(bt_attrs_get(&moved, huge)->i, 4);
	huge[69999] = 'h';
	assert_int_equal(bt_attrs_get(&moved, huge)->i, 2);
	huge[70000] = 'h';
	assert_int_equal(bt_attrs_get(&moved, huge)->i, 1);
	free(huge);
	bt_attrs_clear(&moved);
	assert_null(moved.pool);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_span_new_fields(void **state)
{
	struct bt_span *s = bt_span_new("op", BT_KIND_CLIENT), *t = bt_span_new(NULL, 0);

	(void)state;
	assert_non_null(s);
	assert_non_null(t);
	assert_string_equal(s->name, "op");
	assert_string_equal(t->name, "");
	assert_int_equal(s->kind, BT_KIND_CLIENT);
	assert_int_equal(s->status, BT_STATUS_UNSET);
	assert_null(s->status_message);
	assert_null(s->resource);
	assert_int_equal(s->n_events, 0);
	assert_int_equal(s->attrs.n, 0);
	/* fresh span id, never zero, different per span; root: no parent */
	assert_false(all_zero(s->span_id, BT_SPAN_ID_LEN));
	assert_memory_not_equal(s->span_id, t->span_id, BT_SPAN_ID_LEN);
	assert_true(all_zero(s->parent_span_id, BT_SPAN_ID_LEN));
	bt_span_free(s);
	bt_span_free(t);
	bt_span_free(NULL);
}

/*
 * Freed spans are reused: a new span is as fresh as a first one whatever the span before it
 * held (every field, a longer or shorter name, many attributes), over more spans than are kept.
 */
static void test_span_reused_is_fresh(void **state)
{
	static const char *const names[] = {"a", "a much longer span name than the first", "",
					    "mid"};
	static const struct bt_span zero;
	struct bt_span *s[3000];
	struct bt_resource *r = bt_resource_new();
	char key[32];
	size_t i, j;

	(void)state;
	assert_non_null(r);
	for (int round = 0; round < 3; round++) {
		for (i = 0; i < 3000; i++) {
			s[i] = bt_span_new(names[(i + (size_t)round) % 4], BT_KIND_SERVER);
			assert_non_null(s[i]);
			assert_string_equal(s[i]->name, names[(i + (size_t)round) % 4]);
			assert_int_equal(s[i]->kind, BT_KIND_SERVER);
			assert_int_equal(s[i]->attrs.n, 0);
			assert_int_equal(s[i]->attrs.err, 0);
			assert_memory_equal(s[i]->parent_span_id, zero.parent_span_id,
					    BT_SPAN_ID_LEN);
			assert_null(s[i]->status_message);
			assert_int_equal(s[i]->status, BT_STATUS_UNSET);
			assert_null(s[i]->events);
			assert_int_equal(s[i]->n_events, 0);
			assert_null(s[i]->resource);
			assert_null(s[i]->chunk_gaps);
			assert_int_equal(s[i]->n_chunk_gaps, 0);
			assert_int_equal(s[i]->start_ns, 0);
			assert_int_equal(s[i]->end_ns, 0);
			assert_memory_equal(&s[i]->usage, &zero.usage, sizeof(zero.usage));
			/* fill it with everything a span can hold */
			for (j = 0; j < i % 40; j++) {
				snprintf(key, sizeof(key), "k%zu", j);
				assert_int_equal(bt_attrs_set_str(&s[i]->attrs, key, names[j % 4]),
						 0);
			}
			assert_int_equal(bt_span_set_status(s[i], BT_STATUS_ERROR, "failed"), 0);
			assert_non_null(bt_span_add_event(s[i], "ev", 5));
			bt_span_set_resource(s[i], r);
			s[i]->start_ns = 1;
			s[i]->end_ns = 2;
			memset(s[i]->parent_span_id, 7, BT_SPAN_ID_LEN);
			s[i]->usage.has_tokens = true;
			s[i]->usage.input_tokens = 3;
			s[i]->chunk_gaps = calloc(2, sizeof(float));
			s[i]->n_chunk_gaps = 2;
		}
		for (i = 0; i < 3000; i++) {
			assert_int_equal(s[i]->attrs.n, i % 40);
			bt_span_free(s[i]);
		}
	}
	/* the spans held the only other references */
	assert_int_equal(r->refcnt, 1);
	bt_resource_put(r);
}

static void test_span_set_name_and_status(void **state)
{
	struct bt_span *s = bt_span_new("a", BT_KIND_INTERNAL);

	(void)state;
	assert_int_equal(bt_span_set_name(s, "renamed"), 0);
	assert_string_equal(s->name, "renamed");
	assert_int_equal(bt_span_set_status(s, BT_STATUS_ERROR, "boom"), 0);
	assert_int_equal(s->status, BT_STATUS_ERROR);
	assert_string_equal(s->status_message, "boom");
	/* a new status replaces the message, NULL clears it */
	assert_int_equal(bt_span_set_status(s, BT_STATUS_OK, NULL), 0);
	assert_int_equal(s->status, BT_STATUS_OK);
	assert_null(s->status_message);
	bt_span_free(s);
}

static void test_span_add_event(void **state)
{
	struct bt_span *s = bt_span_new("a", BT_KIND_INTERNAL);
	struct bt_span_event *ev;
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		ev = bt_span_add_event(s, i % 2 ? "odd" : "even", 1000 + (uint64_t)i);
		assert_non_null(ev);
		assert_int_equal(bt_attrs_set_int(&ev->attrs, "i", i), 0);
	}
	assert_int_equal(s->n_events, 20);
	/* earlier events survive the array growing */
	assert_string_equal(s->events[0].name, "even");
	assert_int_equal(s->events[0].time_ns, 1000);
	assert_int_equal(bt_attrs_get(&s->events[0].attrs, "i")->i, 0);
	assert_string_equal(s->events[19].name, "odd");
	assert_int_equal(s->events[19].time_ns, 1019);
	bt_span_free(s);
}

static void test_span_set_parent(void **state)
{
	struct bt_span *p = bt_span_new("p", BT_KIND_SERVER), *c = bt_span_new("c", 0);

	(void)state;
	bt_random_id(p->trace_id, BT_TRACE_ID_LEN);
	bt_span_set_parent(c, p);
	assert_memory_equal(c->trace_id, p->trace_id, BT_TRACE_ID_LEN);
	assert_memory_equal(c->parent_span_id, p->span_id, BT_SPAN_ID_LEN);
	/* the child keeps its own span id */
	assert_memory_not_equal(c->span_id, p->span_id, BT_SPAN_ID_LEN);
	bt_span_free(p);
	bt_span_free(c);
}

static void test_span_resource_refcount(void **state)
{
	struct bt_resource *r = bt_resource_new(), *r2 = bt_resource_new();
	struct bt_span *a = bt_span_new("a", 0), *b = bt_span_new("b", 0);

	(void)state;
	assert_non_null(r);
	assert_int_equal(r->refcnt, 1);
	assert_int_equal(bt_attrs_set_str(&r->attrs, "service.name", "svc"), 0);
	bt_span_set_resource(a, r);
	bt_span_set_resource(b, r);
	assert_int_equal(r->refcnt, 3);
	assert_ptr_equal(a->resource, r);
	/* setting the same resource again keeps the count */
	bt_span_set_resource(a, r);
	assert_int_equal(r->refcnt, 3);
	/* switching drops the old reference */
	bt_span_set_resource(b, r2);
	assert_int_equal(r->refcnt, 2);
	assert_int_equal(r2->refcnt, 2);
	bt_span_set_resource(b, NULL);
	assert_null(b->resource);
	assert_int_equal(r2->refcnt, 1);
	/* the owner's put leaves the span's reference alive */
	bt_resource_put(r);
	assert_int_equal(r->refcnt, 1);
	assert_string_equal(bt_attrs_get(&a->resource->attrs, "service.name")->s, "svc");
	bt_span_free(a); /* frees r (checked under ASan/valgrind) */
	bt_span_free(b);
	assert_ptr_equal(bt_resource_get(r2), r2);
	assert_int_equal(r2->refcnt, 2);
	bt_resource_put(r2);
	bt_resource_put(r2);
	assert_null(bt_resource_get(NULL));
	bt_resource_put(NULL);
}

static void test_span_random_id_nonzero_and_varies(void **state)
{
	uint8_t a[16], b[16], one;
	int i, distinct = 0;

	(void)state;
	for (i = 0; i < 100; i++) {
		bt_random_id(a, sizeof(a));
		bt_random_id(b, sizeof(b));
		assert_false(all_zero(a, sizeof(a)));
		distinct += memcmp(a, b, sizeof(a)) != 0;
	}
	assert_int_equal(distinct, 100);
	/* a single byte can come out 0 from the kernel: still never all zero */
	for (i = 0; i < 2000; i++) {
		bt_random_id(&one, 1);
		assert_int_not_equal(one, 0);
	}
	bt_random_id(NULL, 0);
}

static void test_span_hex_lowercase(void **state)
{
	static const uint8_t in[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0x10, 0xff, 0x7f};
	char out[2 * sizeof(in) + 1];

	(void)state;
	memset(out, 'X', sizeof(out));
	bt_hex(in, sizeof(in), out);
	assert_string_equal(out, "0001abcdef10ff7f");
	bt_hex(in, 0, out);
	assert_string_equal(out, "");
}

static void test_span_clock_mono_to_unix(void **state)
{
	struct timespec rt;
	uint64_t mono, unix_ns, real_ns, diff;

	(void)state;
	mono = bt_now_mono_ns();
	unix_ns = bt_mono_to_unix_ns(mono);
	clock_gettime(CLOCK_REALTIME, &rt);
	real_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	diff = real_ns > unix_ns ? real_ns - unix_ns : unix_ns - real_ns;
	assert_true(diff < 1000000000ull);
	/* a fixed offset: durations measured by BPF are kept to the nanosecond */
	assert_int_equal(bt_mono_to_unix_ns(mono + 123456789) - unix_ns, 123456789);
	assert_true(bt_now_mono_ns() >= mono);
}

/*
 * A thread preempted between its clock reads: a read whose realtime came 400 us before the end of
 * its bracket. The offset comes from the tightest read, whichever its place, and errs by at most
 * half of that bracket.
 */
static void test_span_clock_offset_narrowest_read(void **state)
{
	const uint64_t off = 1796563572000000000ull;
	struct bt_clock_read reads[] = {
	    {1000000, 1000000 + off, 1400000}, /* preempted after the realtime read */
	    {2000000, 2000030 + off, 2000060}, /* on time */
	    {3000000, 3000200 + off, 3000400}, /* a shorter preemption */
	    {4000100, 4000000 + off, 4000000}, /* a bracket that ends before it begins */
	};

	(void)state;
	assert_int_equal(bt_clock_offset(reads, 4), off);
	/* the preempted read alone errs by half its bracket; with it first, the others still win */
	assert_int_equal(bt_clock_offset(reads, 1), off - 200000);
	assert_int_equal(bt_clock_offset(reads + 2, 1), off);
	assert_int_equal(bt_clock_offset(reads + 3, 1), 0);
	assert_int_equal(bt_clock_offset(NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_span_attrs_set_get_each_type),
	    cmocka_unit_test(test_span_attrs_set_copies_value),
	    cmocka_unit_test(test_span_attrs_literal_keys_borrowed),
	    cmocka_unit_test(test_span_attrs_replace_keeps_order_and_count),
	    cmocka_unit_test(test_span_attrs_grow_many),
	    cmocka_unit_test(test_span_attrs_del),
	    cmocka_unit_test(test_span_attrs_strings_any_size),
	    cmocka_unit_test(test_span_new_fields),
	    cmocka_unit_test(test_span_reused_is_fresh),
	    cmocka_unit_test(test_span_set_name_and_status),
	    cmocka_unit_test(test_span_add_event),
	    cmocka_unit_test(test_span_set_parent),
	    cmocka_unit_test(test_span_resource_refcount),
	    cmocka_unit_test(test_span_random_id_nonzero_and_varies),
	    cmocka_unit_test(test_span_hex_lowercase),
	    cmocka_unit_test(test_span_clock_mono_to_unix),
	    cmocka_unit_test(test_span_clock_offset_narrowest_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
