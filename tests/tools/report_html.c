// SPDX-License-Identifier: MIT
/*
 * report_html REPORT SPANS OUT: writes the page of `bedtrace report --html` through
 * user/report/html.c from a JSON report and a spans array read from two files, so that the
 * browser test (tests/integration/test_report_html.py) drives the page with data it wrote by
 * hand. Exits 0, or 1 with one line naming what failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/readfile.h"
#include "report/report.h"

int main(int argc, char **argv)
{
	char *report = NULL, *spans = NULL;
	int err, rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: report_html REPORT.json SPANS.json OUT.html\n");
		return 2;
	}
	report = tl_read_file(argv[1], NULL);
	if (!report) {
		fprintf(stderr, "report_html: %s: %s\n", argv[1], strerror(errno));
		goto cleanup;
	}
	spans = tl_read_file(argv[2], NULL);
	if (!spans) {
		fprintf(stderr, "report_html: %s: %s\n", argv[2], strerror(errno));
		goto cleanup;
	}
	err = rp_html_write(argv[3], report, spans);
	if (err) {
		fprintf(stderr, "report_html: %s: %s\n", argv[3], strerror(-err));
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(report);
	free(spans);
	return rc;
}
