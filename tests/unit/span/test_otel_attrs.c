// SPDX-License-Identifier: MIT
/* Unit tests for span/otel_attrs.c: the OTEL_RESOURCE_ATTRIBUTES format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>

#include "span/otel_attrs.h"
#include "span/span.h"

static int parse(const char *s, struct bt_attrs *a, size_t *bad)
{
	return otel_attrs_parse(s, strlen(s), a, bad);
}

static const char *get(const struct bt_attrs *a, const char *key)
{
	const struct bt_attr *v = bt_attrs_get(a, key);

	if (!v)
		return NULL;
	assert_int_equal(v->type, BT_ATTR_STR);
	return v->s;
}

static void test_otel_attrs_pairs_trimmed_and_decoded(void **state)
{
	struct bt_attrs a = {0};

	(void)state;
	assert_int_equal(
	    parse(" deployment.environment = test ,team=a,\tservice.name=checkout\t", &a, NULL), 3);
	assert_int_equal(a.n, 3);
	assert_string_equal(get(&a, "deployment.environment"), "test");
	assert_string_equal(get(&a, "team"), "a");
	assert_string_equal(get(&a, "service.name"), "checkout");
	bt_attrs_clear(&a);

	/* ',' '=' '%' and spaces inside values are percent-encoded; '+' stays a plus */
	assert_int_equal(
	    parse("k8s.label=a%2Cb%3Dc,note=50%25%20off,sum=1+1,utf=caf%C3%A9", &a, NULL), 4);
	assert_string_equal(get(&a, "k8s.label"), "a,b=c");
	assert_string_equal(get(&a, "note"), "50% off");
	assert_string_equal(get(&a, "sum"), "1+1");
	assert_string_equal(get(&a, "utf"), "caf\xc3\xa9");
	bt_attrs_clear(&a);

	/* keys are decoded too; an '=' in a value after the first one is kept (lenient) */
	assert_int_equal(parse("my%2Ekey=v,url=http://h/?a=b", &a, NULL), 2);
	assert_string_equal(get(&a, "my.key"), "v");
	assert_string_equal(get(&a, "url"), "http://h/?a=b");
	bt_attrs_clear(&a);
}

static void test_otel_attrs_empty_members_and_values(void **state)
{
	struct bt_attrs a = {0};

	(void)state;
	assert_int_equal(parse("", &a, NULL), 0);
	assert_int_equal(parse("  ,, ,", &a, NULL), 0);
	assert_int_equal(a.n, 0);
	/* an empty value is a value; a key given twice keeps the last */
	assert_int_equal(parse("a=,b=1,b=2,", &a, NULL), 3);
	assert_string_equal(get(&a, "a"), "");
	assert_string_equal(get(&a, "b"), "2");
	bt_attrs_clear(&a);
}

/* The spec: on any error the whole value is discarded. */
static void test_otel_attrs_malformed_discards_all(void **state)
{
	static const struct {
		const char *in;
		size_t bad_at;
	} bad[] = {
	    {"a=1,novalue,c=3", 4},		  /* no '=' */
	    {"a=1, =2", 5},			  /* empty key */
	    {"a=50%,b=2", 0},			  /* '%' without two hex digits */
	    {"a=1,b=%4", 4},			  /* cut escape at the end */
	    {"a=1,b=%zz", 4},	    {"a=%00", 0}, /* a NUL cannot be in an attribute string */
	};
	struct bt_attrs a = {0};
	size_t i, at;

	(void)state;
	bt_attrs_set_str(&a, "kept", "yes");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n;

		at = 999;
		n = parse(bad[i].in, &a, &at);
		print_message("%s\n", bad[i].in);
		assert_int_equal(n, -EINVAL);
		assert_int_equal(at, bad[i].bad_at);
		/* untouched: still only the attribute set before */
		assert_int_equal(a.n, 1);
		assert_string_equal(get(&a, "kept"), "yes");
	}
	/* a raw NUL inside the given length */
	assert_int_equal(otel_attrs_parse("a=1\0b", 5, &a, &at), -EINVAL);
	assert_int_equal(a.n, 1);
	bt_attrs_clear(&a);
}

/* Only @len bytes are read, and existing keys are replaced. */
static void test_otel_attrs_len_and_replace(void **state)
{
	struct bt_attrs a = {0};

	(void)state;
	bt_attrs_set_str(&a, "team", "operator");
	assert_int_equal(otel_attrs_parse("team=a,x=yyy", 10, &a, NULL), 2);
	assert_string_equal(get(&a, "team"), "a");
	assert_string_equal(get(&a, "x"), "y");
	bt_attrs_clear(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_otel_attrs_pairs_trimmed_and_decoded),
	    cmocka_unit_test(test_otel_attrs_empty_members_and_values),
	    cmocka_unit_test(test_otel_attrs_malformed_discards_all),
	    cmocka_unit_test(test_otel_attrs_len_and_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
