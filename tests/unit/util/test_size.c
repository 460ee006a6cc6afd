// SPDX-License-Identifier: MIT
/* Tests for user/util/size.c: byte sizes with binary suffixes, and what is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "util/size.h"

static void test_size_parse(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(size_parse("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(size_parse("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(size_parse("512M", &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(size_parse("1G", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(size_parse("2GiB", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(size_parse("3MB", &v), 0);
	assert_int_equal(v, 3ull << 20);
	assert_int_equal(size_parse("1X", &v), -EINVAL);
	assert_int_equal(size_parse("", &v), -EINVAL);
	assert_int_equal(size_parse("M", &v), -EINVAL);
	assert_int_equal(size_parse("-1", &v), -EINVAL);
	assert_int_equal(size_parse("1G ", &v), -EINVAL);
	assert_int_equal(size_parse("99999999999T", &v), -EINVAL);
	assert_int_equal(size_parse(NULL, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_size_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
