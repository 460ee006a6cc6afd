// SPDX-License-Identifier: MIT
/* The --dump-bodies writer: file names, modes, and never following or replacing a file. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "export/bodies.h"
#include "proto/http.h"

/* A POST whose response came back without a body. */
static void mkex(struct http_exchange *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->version = 11;
	ex->has_request = true;
	ex->req.method = strdup("POST");
	ex->req.target = strdup("/");
	ex->req.complete = true;
	ex->has_response = true;
	ex->resp.status = 200;
	ex->resp.complete = true;
}

static void test_bodies_dump_exclusive(void **state)
{
	char dir[] = "/tmp/bt-test-bodies-XXXXXX", path[128];
	struct http_exchange ex;
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	mkex(&ex);
	ex.stream_id = 3;
	ex.req.body = (uint8_t *)strdup("request");
	ex.req.body_len = ex.req.wire_body_len = 7;
	assert_int_equal(bodies_dump(dir, 12, 0xabc, 5, &ex), 0);
	snprintf(path, sizeof(path), "%s/12-abc-5-3-req.bin", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 7);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* no response body: no file */
	snprintf(path, sizeof(path), "%s/12-abc-5-3-resp.bin", dir);
	assert_int_equal(stat(path, &sb), -1);
	/*
	 * An existing file (or a planted symlink) is never overwritten nor followed: a reused
	 * connection id (a new SSL object at a freed one's address) gets the next free "<id>.<k>".
	 */
	free(ex.req.body);
	ex.req.body = (uint8_t *)strdup("again");
	ex.req.body_len = ex.req.wire_body_len = 5;
	assert_int_equal(bodies_dump(dir, 12, 0xabc, 5, &ex), 0);
	snprintf(path, sizeof(path), "%s/12-abc-5-3-req.bin", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 7);
	snprintf(path, sizeof(path), "%s/12-abc.1-5-3-req.bin", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 5);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/12-abc.2-5-3-req.bin", dir);
	assert_int_equal(symlink("/tmp/bt-nonexistent-target", path), 0);
	assert_int_equal(bodies_dump(dir, 12, 0xabc, 5, &ex), 0);
	assert_int_equal(lstat("/tmp/bt-nonexistent-target", &sb), -1);
	unlink(path);
	snprintf(path, sizeof(path), "%s/12-abc.3-5-3-req.bin", dir);
	assert_int_equal(stat(path, &sb), 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/12-abc.1-5-3-req.bin", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/12-abc-5-3-req.bin", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
	http_exchange_clear(&ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bodies_dump_exclusive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
