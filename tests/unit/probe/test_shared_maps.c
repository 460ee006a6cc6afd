// SPDX-License-Identifier: MIT
/* Shared BPF maps are matched by name: what each loader reuses, and what it leaves alone. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "probe/shared_maps.h"
#include "functrace.skel.h"
#include "tlscap.skel.h"

static void test_shared_maps_none_has_no_map(void **state)
{
	struct bt_shared_maps m = BT_SHARED_MAPS_NONE;

	(void)state;
	assert_int_equal(m.events, -1);
	assert_int_equal(m.counters, -1);
	assert_int_equal(m.stacks, -1);
	assert_int_equal(m.zero_stack, -1);
	assert_int_equal(m.procs, -1);
	assert_int_equal(m.ssl_calls, -1);
	assert_int_equal(m.conns, -1);
	assert_false(shared_maps_have_tls(&m));
	m.ssl_calls = 5;
	assert_false(shared_maps_have_tls(&m));
	m.conns = 6;
	assert_true(shared_maps_have_tls(&m));
}

/* Nothing created yet: the first object reuses nothing and opens fine. */
static void test_shared_maps_reuse_nothing_when_none(void **state)
{
	struct bt_shared_maps m = BT_SHARED_MAPS_NONE;
	struct functrace *skel = functrace__open();

	(void)state;
	assert_non_null(skel);
	assert_int_equal(shared_maps_reuse(&m, skel->obj), 0);
	functrace__destroy(skel);
}

/*
 * A loader reuses exactly the maps its object declares under a shared name: functrace has no TLS
 * maps, tlscap no traced-process map. A map reused takes the fd given (libbpf dups it; some
 * versions refuse a file that is no BPF map, which tells the same).
 */
static void test_shared_maps_reuse_matches_names(void **state)
{
	struct bt_shared_maps m = BT_SHARED_MAPS_NONE;
	struct functrace *ft = functrace__open();
	struct tlscap *tc = tlscap__open();
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), err;

	(void)state;
	assert_non_null(ft);
	assert_non_null(tc);
	assert_true(fd >= 0);
	m.ssl_calls = m.conns = fd;
	assert_int_equal(shared_maps_reuse(&m, ft->obj), 0);
	assert_true(bpf_map__fd(ft->maps.events) < 0);
	assert_true(bpf_map__fd(ft->maps.procs) < 0);
	err = shared_maps_reuse(&m, tc->obj);
	assert_true(err < 0 ||
		    (bpf_map__fd(tc->maps.ssl_calls) >= 0 && bpf_map__fd(tc->maps.conns) >= 0 &&
		     bpf_map__fd(tc->maps.events) < 0));

	m = BT_SHARED_MAPS_NONE;
	m.procs = fd;
	functrace__destroy(ft);
	ft = functrace__open();
	assert_non_null(ft);
	err = shared_maps_reuse(&m, ft->obj);
	assert_true(err < 0 ||
		    (bpf_map__fd(ft->maps.procs) >= 0 && bpf_map__fd(ft->maps.stacks) < 0));
	close(fd);
	tlscap__destroy(tc);
	functrace__destroy(ft);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared_maps_none_has_no_map),
	    cmocka_unit_test(test_shared_maps_reuse_nothing_when_none),
	    cmocka_unit_test(test_shared_maps_reuse_matches_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
