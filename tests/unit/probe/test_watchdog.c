// SPDX-License-Identifier: MIT
/* The watchdog's fix-up pieces: finding the uretprobe trampoline, writing return slots back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "probe/watchdog.h"

static void test_watchdog_maps_trampoline_found(void **state)
{
	static const char maps[] =
	    "55d0c0a00000-55d0c0a01000 r-xp 00001000 08:01 1234    /usr/bin/app\n"
	    "7ffd1c3f0000-7ffd1c411000 rw-p 00000000 00:00 0       [stack]\n"
	    "7ffff7ff9000-7ffff7ffa000 --xp 00000000 00:00 0       [uprobes]\n"
	    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n";

	(void)state;
	assert_int_equal(watchdog_maps_trampoline(maps, strlen(maps)), 0x7ffff7ff9000ull);
	/* last line without a newline, trailing blanks */
	assert_int_equal(watchdog_maps_trampoline("1000-2000 r-xp 0 00:00 0 [uprobes]  ", 36),
			 0x1000);
}

static void test_watchdog_maps_trampoline_absent(void **state)
{
	static const char maps[] = "1000-2000 r-xp 00000000 08:01 1 /opt/[uprobes]x\n"
				   "3000-4000 r-xp 00000000 08:01 1 /opt/not[uprobes]\n";

	(void)state;
	assert_int_equal(watchdog_maps_trampoline(maps, strlen(maps)), 0);
	assert_int_equal(watchdog_maps_trampoline("", 0), 0);
}

static void test_watchdog_restore_stack_writes_only_hijacked_slots(void **state)
{
	const uint64_t tramp = 0x7ffff7ff9000ull;
	/* stand-ins for return slots in a stopped target: this process's own memory */
	volatile uint64_t slots[5] = {tramp, tramp, 0x1234, tramp, tramp};
	struct bt_stack st;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.depth = 5;
	st.frames[0] = (struct bt_frame){.sp = (uintptr_t)&slots[0], .ret = 0x401000};
	/* tail call sharing slot 0: its ret is the trampoline, the outer frame owns the slot */
	st.frames[1] = (struct bt_frame){.sp = (uintptr_t)&slots[0], .ret = tramp};
	/* the slot no longer holds the trampoline (frame gone, memory reused): untouched */
	st.frames[2] = (struct bt_frame){.sp = (uintptr_t)&slots[2], .ret = 0x402000};
	/* return address never read at entry */
	st.frames[3] = (struct bt_frame){.sp = (uintptr_t)&slots[3], .ret = 0};
	st.frames[4] = (struct bt_frame){.sp = (uintptr_t)&slots[4], .ret = 0x403000};
	assert_int_equal(watchdog_restore_stack(getpid(), tramp, &st), 2);
	assert_int_equal(slots[0], 0x401000);
	assert_int_equal(slots[1], tramp);
	assert_int_equal(slots[2], 0x1234);
	assert_int_equal(slots[3], tramp);
	assert_int_equal(slots[4], 0x403000);
	/* a second pass finds nothing left to do */
	assert_int_equal(watchdog_restore_stack(getpid(), tramp, &st), 0);
}

static void test_watchdog_restore_stack_bounded_by_depth(void **state)
{
	const uint64_t tramp = 0x7000;
	volatile uint64_t slot = tramp;
	struct bt_stack st;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.frames[0] = (struct bt_frame){.sp = (uintptr_t)&slot, .ret = 0x401000};
	st.depth = 0; /* closed frame: its slot is someone else's now */
	assert_int_equal(watchdog_restore_stack(getpid(), tramp, &st), 0);
	assert_int_equal(slot, tramp);
	st.depth = 1000; /* corrupt depth is clamped, not trusted */
	assert_int_equal(watchdog_restore_stack(getpid(), tramp, &st), 1);
	assert_int_equal(slot, 0x401000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_watchdog_maps_trampoline_found),
	    cmocka_unit_test(test_watchdog_maps_trampoline_absent),
	    cmocka_unit_test(test_watchdog_restore_stack_writes_only_hijacked_slots),
	    cmocka_unit_test(test_watchdog_restore_stack_bounded_by_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
