// SPDX-License-Identifier: MIT
/*
 * report_read [--keep-all] [--keep KEY]... FILE...: reads FILE... with rp_read (the input stage
 * of `bedtrace report`, user/report/reader.c) and prints one line:
 *   spans N lines N bad_lines N strings N attrs N attr_sets N files N
 * so that scripts/bench/report_bench.py measures the reader alone. Exits 1 when rp_read fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

int main(int argc, char **argv)
{
	struct rp_read_opts o = {0};
	struct rp_dataset ds = {0};
	const char **keep = calloc((size_t)argc, sizeof(*keep)),
		   **files = calloc((size_t)argc, sizeof(*files));
	size_t n_keep = 0, n_files = 0;
	int i, err;

	if (!keep || !files)
		return 1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--keep-all"))
			o.keep_all_attrs = true;
		else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
			keep[n_keep++] = argv[++i];
		else
			files[n_files++] = argv[i];
	}
	o.keep_attrs = keep;
	err = rp_read(&ds, files, n_files, &o);
	printf(
	    "spans %zu lines %llu bad_lines %llu strings %zu attrs %zu attr_sets %zu files %zu\n",
	    ds.n_spans, (unsigned long long)ds.lines, (unsigned long long)ds.bad_lines, ds.n_strs,
	    ds.n_attrs, ds.n_attr_sets, ds.n_files);
	rp_dataset_free(&ds);
	free(keep);
	free(files);
	return err ? 1 : 0;
}
