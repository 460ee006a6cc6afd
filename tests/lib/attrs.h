/* SPDX-License-Identifier: MIT */
/*
 * Test support (cmocka): reading a span's attributes. The typed getters fail the test, naming the
 * span and the key, when the attribute is missing or has another type.
 * Header-only; every function is static.
 */
#ifndef BT_TEST_ATTRS_H
#define BT_TEST_ATTRS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include "span/span.h"

/* The attribute @key of @s, or NULL. */
static inline const struct bt_attr *attr(const struct bt_span *s, const char *key)
{
	return bt_attrs_get(&s->attrs, key);
}

static inline bool has(const struct bt_span *s, const char *key)
{
	return attr(s, key) != NULL;
}

/* The attribute @key of @s, which must exist with @type. */
static inline const struct bt_attr *attr_typed(const struct bt_span *s, const char *key,
					       enum bt_attr_type type, const char *what)
{
	const struct bt_attr *a = attr(s, key);

	if (!a)
		fail_msg("%s: missing %s attribute %s", s->name, what, key);
	if (a->type != type)
		fail_msg("%s: attribute %s is not a %s (type %d)", s->name, key, what, a->type);
	return a;
}

static inline const char *sattr(const struct bt_span *s, const char *key)
{
	return attr_typed(s, key, BT_ATTR_STR, "string")->s;
}

static inline int64_t iattr(const struct bt_span *s, const char *key)
{
	return attr_typed(s, key, BT_ATTR_INT, "int")->i;
}

static inline double dattr(const struct bt_span *s, const char *key)
{
	return attr_typed(s, key, BT_ATTR_DOUBLE, "double")->d;
}

static inline bool battr(const struct bt_span *s, const char *key)
{
	return attr_typed(s, key, BT_ATTR_BOOL, "bool")->b;
}

#endif
