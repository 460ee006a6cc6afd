#!/bin/sh
# SPDX-License-Identifier: MIT
# help2man runs this in place of bedtrace ($BEDTRACE is the binary) to build bedtrace.8 from the
# --help text. The text is bedtrace's own, reshaped only where help2man reads argp's layout
# differently from what it means:
#   - no line is wrapped (a wide right margin): argp wraps long lines at 79 columns, and
#     help2man would cut a usage form or an example in the middle;
#   - descriptions start at column 32, so the longest option (--metrics-interval=SEC) still
#     has the two spaces help2man needs to tell it from its description;
#   - the usage forms listed under the first line ("  bedtrace [OPTIONS] -p PID ...   what",
#     "  bedtrace report [OPTIONS] FILE ...   what")
#     become the SYNOPSIS ("Usage: FORM" / "  or:  FORM"); they stay in DESCRIPTION too;
#   - each line of the "Examples:" block gets help2man's example marker "$ " (one verbatim line
#     each; man-examples.sed takes the marker out of the page again);
#   - "Exit status: ..." becomes its own section, EXIT STATUS.
set -eu
: "${BEDTRACE:?set BEDTRACE to the bedtrace binary}"
if [ "${1:-}" != --help ]; then
	exec "$BEDTRACE" "$@"
fi
ARGP_HELP_FMT=rmargin=1000,opt-doc-col=32 "$BEDTRACE" --help | awk '
	{ line[n++] = $0 }
	/^  bedtrace (report )?\[OPTIONS\] / {
		form = substr($0, 3)
		sub(/   +.*$/, "", form)
		forms[nforms++] = form
	}
	END {
		for (i = 0; i < n; i++) {
			l = line[i]
			if (l ~ /^Usage: / && nforms > 0) {
				print "Usage: " forms[0]
				for (j = 1; j < nforms; j++)
					print "  or:  " forms[j]
				continue
			}
			if (l == "Examples:") {
				examples = 1
				print l
				continue
			}
			if (examples && l == "") {
				examples = 0
			} else if (examples) {
				sub(/^ +/, "", l)
				l = "  $ " l
			}
			if (l ~ /^Exit status: /) {
				print "*Exit status*"
				print ""
				sub(/^Exit status: /, "", l)
			}
			print l
		}
	}'
