/* SPDX-License-Identifier: MIT */
/*
 * Test support: the one check the shared helpers of tests/lib make. Under cmocka (unit tests) a
 * failed check fails the test with its location; elsewhere (fuzz harnesses) it traps, which
 * libFuzzer reports as a crash.
 */
#ifndef BT_TEST_CHECK_H
#define BT_TEST_CHECK_H

#ifdef CMOCKA_H_
#define TL_CHECK(cond) assert_true(cond)
#else
#define TL_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)
#endif

#endif
