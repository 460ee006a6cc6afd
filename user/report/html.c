// SPDX-License-Identifier: MIT
/*
 * The page of `bedtrace report --html`: one file that needs no network to be read. Its data is
 * the JSON report and the spans of the traces it draws, embedded as JSON in <script> elements
 * the page's own script (user/report/html/page.js, styled by page.css, both compiled in as
 * strings by the Makefile) parses and renders with DOM calls only, never as markup.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "report/report.h"
#include "span/semconv.h"
#include "util/outfile.h"
#include "report_html.h" /* rp_page_css, rp_page_js (generated from user/report/html/) */

/*
 * What the script needs from C besides the two documents: the attribute names that tie a span
 * of the waterfalls to a model row, from the one header that names attributes.
 */
static const char page_config[] = "{\"model_attr\":\"" ATTR_GEN_AI_REQUEST_MODEL "\","
				  "\"operation_attr\":\"" ATTR_GEN_AI_OPERATION_NAME "\"}";

/*
 * Writes @json as the content of a <script> element. Script data ends at "</script" and a
 * "<!--" there changes how the parser looks for that end, so no '<' may reach the page as it
 * is: in valid JSON it can only stand inside a string, where \u003c means the same character.
 */
static void put_json(FILE *f, const char *json)
{
	const char *lt;

	while ((lt = strchr(json, '<'))) {
		fwrite(json, 1, (size_t)(lt - json), f);
		fputs("\\u003c", f);
		json = lt + 1;
	}
	fputs(json, f);
}

/* Whether @json, after white space, starts with @open: the document the page expects. */
static bool starts_with(const char *json, char open)
{
	json += strspn(json, " \t\r\n");
	return *json == open;
}

/*
 * Returns 0, -EINVAL when @report_json is not an object or @spans_json (NULL: none) not an
 * array, -ELOOP when @path is a symbolic link, -EEXIST when it is not a regular file, or the
 * -errno of the failed open or write. Prints nothing: the caller names the file.
 */
int rp_html_write(const char *path, const char *report_json, const char *spans_json)
{
	FILE *f = NULL;
	int fd, err = 0;

	if (!spans_json)
		spans_json = "[]";
	if (!path || !*path || !report_json || !starts_with(report_json, '{') ||
	    !starts_with(spans_json, '['))
		return -EINVAL;
	fd = outfile_open(path, 0644, 0);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	errno = 0; /* a failed stdio call may leave it unset: then -EIO */
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>bedtrace report</title>\n<style>\n",
	      f);
	fputs(rp_page_css, f);
	fputs("</style>\n</head>\n<body>\n"
	      "<noscript>This report is drawn by its own script: enable JavaScript to read "
	      "it.</noscript>\n<main id=\"page\"></main>\n"
	      "<script type=\"application/json\" id=\"bt-report\">",
	      f);
	put_json(f, report_json);
	fputs("</script>\n<script type=\"application/json\" id=\"bt-spans\">", f);
	put_json(f, spans_json);
	fputs("</script>\n<script type=\"application/json\" id=\"bt-config\">", f);
	put_json(f, page_config);
	fputs("</script>\n<script>\n", f);
	fputs(rp_page_js, f);
	fputs("</script>\n</body>\n</html>\n", f);
	if (fflush(f) || ferror(f))
		err = errno ? -errno : -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}
