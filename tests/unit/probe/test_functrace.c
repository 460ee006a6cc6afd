// SPDX-License-Identifier: MIT
/* -f SPEC parsing: [OBJECT:]GLOB, where "::" inside a C++ name is not the separator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "probe/functrace.h"

static void test_functrace_spec_parse_forms(void **state)
{
	static const struct {
		const char *in, *object, *glob;
	} ok[] = {
	    {"handle_request", NULL, "handle_request"},
	    {"libfoo:retrieve*", "libfoo", "retrieve*"},
	    {"ns::Cls::*", NULL, "ns::Cls::*"},
	    {"libfoo.so.1:ns::Cls::method", "libfoo.so.1", "ns::Cls::method"},
	    {"/usr/lib/libx.so:f?o", "/usr/lib/libx.so", "f?o"},
	    {"::global", NULL, "::global"},
	};
	struct func_spec s;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(func_spec_parse(ok[i].in, &s), 0);
		if (ok[i].object)
			assert_string_equal(s.object, ok[i].object);
		else
			assert_null(s.object);
		assert_string_equal(s.glob, ok[i].glob);
		func_spec_free(&s);
	}
	assert_int_equal(func_spec_parse("", &s), -EINVAL);
	assert_int_equal(func_spec_parse(":bad", &s), -EINVAL);
	assert_int_equal(func_spec_parse("lib:", &s), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_functrace_spec_parse_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
