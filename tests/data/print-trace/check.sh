#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks scripts/print-trace.py on the hand-written OTLP sample: tree shape, ordering (traces by
# first start, children by start, orphans as roots, one trace split over two lines), durations,
# offsets, key attributes, ERROR marks; -a output; stdin input; bad input exits non-zero.
# expected*.txt were reviewed by hand; regenerate only after checking a diff line by line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
py=/usr/bin/python3
pt="$root/scripts/print-trace.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

check() { # check NAME EXPECTED ACTUAL
	if diff -u "$2" "$3" >"$tmp/diff"; then
		pass=$((pass + 1))
	else
		echo "FAIL $1"
		cat "$tmp/diff"
		fail=$((fail + 1))
	fi
}

"$py" "$pt" "$here/sample.jsonl" >"$tmp/out.txt"
check default "$here/expected.txt" "$tmp/out.txt"

"$py" "$pt" -a "$here/sample.jsonl" >"$tmp/all.txt"
check all-attributes "$here/expected-all.txt" "$tmp/all.txt"

"$py" "$pt" <"$here/sample.jsonl" >"$tmp/stdin.txt"
check stdin "$here/expected.txt" "$tmp/stdin.txt"

# the same spans split over more lines, in reverse order, print the same
"$py" - "$here/sample.jsonl" >"$tmp/split.jsonl" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    req = json.loads(line)
    for rs in req["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                one = {"resourceSpans": [{"resource": rs["resource"],
                                          "scopeSpans": [{"scope": ss.get("scope", {}), "spans": [sp]}]}]}
                out.append(json.dumps(one))
print("\n".join(reversed(out)))
PY
"$py" "$pt" "$tmp/split.jsonl" >"$tmp/split.txt"
# trace order ties on nothing, spans sort by start: only the declaration order may differ
check split-lines "$here/expected.txt" "$tmp/split.txt"

# specific facts, so a regenerated expected file cannot hide a regression
fact() { # fact NAME GREP_ARGS... (on the default output)
	local name=$1
	shift
	if grep -q "$@" "$tmp/out.txt"; then
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		fail=$((fail + 1))
	fi
}
fact "orphan shown as a root" -e '^  orphan_child '
fact "error mark with message" -e 'ERROR (stream aborted)'
fact "bedrock span line" -e '^      chat amazon.titan-text-lite-v1 .* 159.000 ms  +   33.000 ms .*in=8  out=10  finish=\[max_tokens\]'
if head -1 "$tmp/out.txt" | grep -q '^trace 1111'; then # starts first, is last in the file
	pass=$((pass + 1))
else
	echo "FAIL trace order by first start"
	fail=$((fail + 1))
fi
fact "ttfc in ms" -e 'ttfc=42.5ms'

printf '{"resourceSpans": [\n' >"$tmp/bad.jsonl"
if "$py" "$pt" "$tmp/bad.jsonl" >/dev/null 2>&1; then
	echo "FAIL bad JSON accepted"
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
: >"$tmp/empty.jsonl"
if "$py" "$pt" "$tmp/empty.jsonl" >/dev/null 2>&1; then
	echo "FAIL empty input accepted"
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi

echo "print-trace: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
