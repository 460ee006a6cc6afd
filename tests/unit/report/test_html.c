// SPDX-License-Identifier: MIT
/*
 * Tests for user/report/html.c: the page is written whole with both documents embedded, a
 * "</script>" or "<!--" inside a string cannot end or change the <script> element that holds
 * it (and the document parses back to what was given), a symbolic link or a FIFO at the path
 * is refused without touching what it points to, and input that is not the two documents is
 * refused. The page drawn in a browser: tests/integration/test_report_html.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/report.h"

static const char REPORT[] =
    "{\"spans\":3,\"traces\":1,\"hosts\":[\"h\"],\"services\":[\"api\"],\"operations\":[{"
    "\"service\":\"api\",\"kind\":\"server\",\"name\":\"GET /\",\"count\":3,\"p50_ms\":1.5}]}";
static const char SPANS[] = "[{\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":"
			    "\"b7ad6b7169203331\",\"name\":\"GET /\",\"start_ms\":0,"
			    "\"duration_ms\":1.5,\"error\":false,\"attrs\":{}}]";

struct tmp {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/bt-test-html-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/report.html", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	char other[160];

	unlink(t->path);
	snprintf(other, sizeof(other), "%s/target", t->dir);
	unlink(other);
	rmdir(t->dir);
	free(t);
	return 0;
}

/* The whole of @path, NUL-terminated (the test fails when it cannot be read). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* The content of the <script> element whose id is @id, parsed (NULL: not JSON). */
static cJSON *embedded(const char *page, const char *id)
{
	char open[64], *text;
	const char *from, *to;
	cJSON *doc;

	snprintf(open, sizeof(open), "<script type=\"application/json\" id=\"%s\">", id);
	from = strstr(page, open);
	assert_non_null(from);
	from += strlen(open);
	to = strstr(from, "</script>");
	assert_non_null(to);
	text = strndup(from, (size_t)(to - from));
	assert_non_null(text);
	doc = cJSON_Parse(text);
	free(text);
	return doc;
}

static void test_html_writes_page_with_both_documents(void **state)
{
	struct tmp *t = *state;
	struct stat st;
	char *page;

	assert_int_equal(rp_html_write(t->path, REPORT, SPANS), 0);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	page = slurp(t->path);
	assert_true(strncmp(page, "<!DOCTYPE html>", 15) == 0);
	assert_non_null(strstr(page, "</html>\n"));
	/* neither holds a '<': embedded byte for byte, each in its own element */
	assert_non_null(strstr(page, REPORT));
	assert_non_null(strstr(page, SPANS));
	assert_true(strstr(page, "id=\"bt-report\">") < strstr(page, REPORT));
	assert_true(strstr(page, "id=\"bt-spans\">") < strstr(page, SPANS));
	assert_true(strstr(page, REPORT) < strstr(page, "id=\"bt-spans\">"));
	/* the style and the script are inline: nothing to fetch */
	assert_non_null(strstr(page, "<style>\n/* SPDX-License-Identifier: MIT */"));
	assert_non_null(strstr(page, "'use strict';"));
	assert_null(strstr(page, " src="));
	assert_null(strstr(page, "<link"));
	assert_null(strstr(page, "https://"));
	/* the script's attribute names come from span/semconv.h */
	assert_non_null(strstr(page, "\"model_attr\":\"gen_ai.request.model\""));
	free(page);
}

static void test_html_escapes_script_end_and_comment_in_names(void **state)
{
	static const char evil[] = "x</script><script>alert(1)</script><!--y";
	struct tmp *t = *state;
	char report[256], spans[256];
	cJSON *doc;
	char *page;

	snprintf(report, sizeof(report),
		 "{\"operations\":[{\"name\":\"%s\"}],\"hosts\":[\"a<b\\\\<c\"]}", evil);
	snprintf(spans, sizeof(spans), "[{\"name\":\"</SCRIPT >\",\"attrs\":{\"k\":\"<!--\"}}]");
	assert_int_equal(rp_html_write(t->path, report, spans), 0);
	page = slurp(t->path);
	/* the page's own four script elements end, and nothing else does */
	assert_int_equal(count(page, "</script"), 4);
	assert_int_equal(count(page, "</SCRIPT"), 0);
	assert_int_equal(count(page, "<!--"), 0);
	assert_int_equal(count(page, "<script"), 4);
	assert_non_null(
	    strstr(page, "x\\u003c/script>\\u003cscript>alert(1)\\u003c/script>\\u003c!--y"));
	/* a backslash before the '<' stays its own escape */
	assert_non_null(strstr(page, "a\\u003cb\\\\\\u003cc"));
	/* and the documents read back as written */
	doc = embedded(page, "bt-report");
	assert_non_null(doc);
	assert_string_equal(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "operations"), 0)->child->valuestring,
	    evil);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "hosts"), 0)->valuestring,
			    "a<b\\<c");
	cJSON_Delete(doc);
	doc = embedded(page, "bt-spans");
	assert_non_null(doc);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(doc, 0), "name")->valuestring,
			    "</SCRIPT >");
	cJSON_Delete(doc);
	free(page);
}

static void test_html_refuses_symlink(void **state)
{
	struct tmp *t = *state;
	char target[160], *kept;
	FILE *f;

	snprintf(target, sizeof(target), "%s/target", t->dir);
	f = fopen(target, "w");
	assert_non_null(f);
	fputs("not yours\n", f);
	fclose(f);
	assert_int_equal(symlink(target, t->path), 0);
	assert_int_equal(rp_html_write(t->path, REPORT, SPANS), -ELOOP);
	kept = slurp(target);
	assert_string_equal(kept, "not yours\n");
	free(kept);
	/* a dangling link is refused too, and creates nothing where it points */
	assert_int_equal(unlink(target), 0);
	assert_int_equal(rp_html_write(t->path, REPORT, SPANS), -ELOOP);
	assert_int_equal(access(target, F_OK), -1);
}

static void test_html_refuses_fifo(void **state)
{
	struct tmp *t = *state;

	assert_int_equal(mkfifo(t->path, 0600), 0);
	/* nobody reads it: refused, without blocking */
	assert_int_equal(rp_html_write(t->path, REPORT, SPANS), -EEXIST);
}

static void test_html_replaces_longer_file(void **state)
{
	struct tmp *t = *state;
	char *page, big[8192];
	FILE *f;

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f = fopen(t->path, "w");
	assert_non_null(f);
	for (int i = 0; i < 64; i++)
		fputs(big, f);
	fclose(f);
	assert_int_equal(rp_html_write(t->path, REPORT, NULL), 0);
	page = slurp(t->path);
	assert_null(strstr(page, "zzzz"));
	/* no spans: an empty array */
	assert_non_null(strstr(page, "id=\"bt-spans\">[]</script>"));
	assert_true(strlen(page) < 64 * sizeof(big) - 64);
	free(page);
}

static void test_html_rejects_what_is_not_the_two_documents(void **state)
{
	struct tmp *t = *state;

	assert_int_equal(rp_html_write(t->path, "[1]", SPANS), -EINVAL);
	assert_int_equal(rp_html_write(t->path, REPORT, "{}"), -EINVAL);
	assert_int_equal(rp_html_write(t->path, "", SPANS), -EINVAL);
	assert_int_equal(rp_html_write(t->path, NULL, SPANS), -EINVAL);
	assert_int_equal(rp_html_write("", REPORT, SPANS), -EINVAL);
	/* nothing written for refused input */
	assert_int_equal(access(t->path, F_OK), -1);
	/* white space before a document is fine */
	assert_int_equal(rp_html_write(t->path, " \n{}", "\t[]"), 0);
}

static void test_html_reports_unwritable_directory(void **state)
{
	struct tmp *t = *state;
	char path[160];

	snprintf(path, sizeof(path), "%s/no/such/dir.html", t->dir);
	assert_int_equal(rp_html_write(path, REPORT, SPANS), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_html_writes_page_with_both_documents, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_html_escapes_script_end_and_comment_in_names,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_html_refuses_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_html_refuses_fifo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_html_replaces_longer_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_html_rejects_what_is_not_the_two_documents, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_html_reports_unwritable_directory, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
