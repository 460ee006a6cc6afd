#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test: unit (cmocka), fuzz regression (each fuzzer over its seed corpus, briefly),
# integration (root: real BPF, real processes, real clients). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()
log_dir=$(mktemp -d /tmp/bedtrace-tests.XXXXXX)

count_cmocka() { # $1 name, $2 log, $3 exit code
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or aborted before its summary
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("$1")
		grep -E '^\[  (FAILED|ERROR) \]|^\[  ERROR   \]|error|Assert' "$2" | head -20 | sed 's/^/    /'
	fi
	printf '%-34s %3d passed, %d failed\n' "$1" "$p" "$f"
}

echo "== unit tests"
for t in build/tests/test_* build/tests/*/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	timeout 300 "$t" >"$log_dir/$name.log" 2>&1
	count_cmocka "$name" "$log_dir/$name.log" $?
done

echo "== fuzz regression (seed corpora, 5 s each)"
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus="tests/data/corpus/${name#fuzz_}"
	work=$(mktemp -d "$log_dir/$name.XXXX")
	[ -d "$corpus" ] && cp -r "$corpus/." "$work/" 2>/dev/null
	if timeout 120 "$f" -max_total_time=5 -timeout=10 -rss_limit_mb=2048 "$work" \
		>"$log_dir/$name.log" 2>&1; then
		passed=$((passed + 1))
		printf '%-34s ok\n' "$name"
	else
		failed=$((failed + 1))
		failures+=("$name")
		printf '%-34s FAILED (log: %s)\n' "$name" "$log_dir/$name.log"
		grep -E 'ERROR|SUMMARY' "$log_dir/$name.log" | head -5 | sed 's/^/    /'
	fi
done

echo "== integration tests"
if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests need root (real BPF): skipped"
else
	for t in tests/integration/test_*.py; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .py)
		timeout 1200 /usr/bin/python3 "$t" >"$log_dir/$name.log" 2>&1
		rc=$?
		p=$(grep -c '^ok ' "$log_dir/$name.log")
		f=$(grep -c '^not ok ' "$log_dir/$name.log")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$f" -ne 0 ]; then
			failures+=("$name")
			grep -A12 '^not ok ' "$log_dir/$name.log" | head -60 | sed 's/^/    /'
			[ "$rc" -ne 0 ] && tail -15 "$log_dir/$name.log" | sed 's/^/    /'
		fi
		printf '%-34s %3d passed, %d failed\n' "$name" "$p" "$f"
	done
fi

if [ "${#failures[@]}" -gt 0 ]; then
	echo "failing: ${failures[*]} (logs in $log_dir)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
