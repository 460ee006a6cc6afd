# SPDX-License-Identifier: MIT
# help2man writes each example of --help (marked "$ " by help2man-run.sh) as "\f(CW$ TEXT\fR",
# filled, with TEXT unescaped. This keeps every example on a line of its own (no filling, no
# hyphenation), drops the marker, and escapes TEXT: "-" as a minus sign, so that a command
# copied from the page works, and "\" as a printable backslash.
/^\\f(CW\$ .*\\fR$/{
s/^\\f(CW\$ //
s/\\fR$//
s/\\/\\e/g
s/-/\\-/g
s/^/.nf\n\\f(CW/
s/$/\\fR\n.fi/
}
