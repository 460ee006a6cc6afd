#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the tests and prints one line per test: every cmocka test of every unit file, every fuzzer
# (a short regression run over its seed corpus) and every case of every integration file (root:
# real BPF, real processes, real clients). A failure is followed by what the test printed (assert
# messages, tracebacks, the log tail of a crash). The last line is "N passed, N failed".
#
# Usage: scripts/run-tests.sh [--unit] [--fuzz] [--integration] [-k NAME] [PATH...]
#   --unit, --fuzz, --integration  run only these kinds (combinable; default: all three)
#   -k NAME   only tests whose name contains NAME: unit binaries and fuzzers by file name;
#             integration files by file name, else only their cases whose name contains NAME
#   PATH...   only these unit binaries (build/tests/...), fuzzers (build/fuzz/...) or
#             integration files (tests/integration/test_*.py)
# Examples:
#   scripts/run-tests.sh                               everything (what `make test` runs)
#   scripts/run-tests.sh --unit                        every unit test (`make unit`)
#   scripts/run-tests.sh build/tests/proto/test_http1  one unit file (`make unit T=http1`)
#   scripts/run-tests.sh -k test_exit                  one integration file
#   scripts/run-tests.sh tests/integration/test_tls.py -k http2
#                                                      the cases of test_tls named *http2*
#   python3 tests/integration/test_tls.py -k http2     the same, without this script
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

usage() {
	sed -n '/^# Usage:/,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

kinds=()
pattern=
paths=()
while [ $# -gt 0 ]; do
	case "$1" in
	--unit) kinds+=(unit) ;;
	--fuzz) kinds+=(fuzz) ;;
	--integration) kinds+=(integration) ;;
	-k)
		[ $# -ge 2 ] || usage
		pattern=$2
		shift
		;;
	-k*) pattern=${1#-k} ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) paths+=("$1") ;;
	esac
	shift
done
[ ${#kinds[@]} -eq 0 ] && kinds=(unit fuzz integration)

passed=0
failed=0
skipped=0
failures=()
log_dir=$(mktemp -d /tmp/bedtrace-tests.XXXXXX)

wants() { # $1 kind
	[[ " ${kinds[*]} " == *" $1 "* ]]
}

# Whether $1 contains the -k pattern (any case); true without -k.
matches() {
	[[ "${1,,}" == *"${pattern,,}"* ]]
}

# The files of one kind to run: the PATH arguments of that kind if PATHs were given, else the
# candidates $2... whose name matches -k (integration files are narrowed by case names later).
select_files() { # $1 kind, $2... candidates
	local kind=$1 f
	shift
	if [ ${#paths[@]} -gt 0 ]; then
		for f in "${paths[@]}"; do
			f=${f#./}
			case "$kind:$f" in
			unit:build/tests/* | fuzz:build/fuzz/* | integration:tests/integration/test_*.py)
				echo "$f"
				;;
			esac
		done
		return
	fi
	for f in "$@"; do
		[ -e "$f" ] || continue
		[ "$kind" = integration ] || matches "$(basename "$f")" || continue
		echo "$f"
	done
}

# Whether to print a kind's heading: it has files to run, or nothing narrowed the selection.
heading() {
	[ ${#files[@]} -gt 0 ] || { [ ${#paths[@]} -eq 0 ] && [ -z "$pattern" ]; }
}

# Adds the counts an awk parser left in $1 ("passed failed skipped") to the totals.
add_counts() { # $1 counts file, $2 name for the failure list
	local p f s
	read -r p f s <"$1"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" -ne 0 ] && failures+=("$2")
	return 0
}

# Turns cmocka's output (standard format, stdout line-buffered so that assert messages sit
# between a test's RUN and FAILED lines) into one line per test. A test that started and never
# finished (crash, timeout) is a failure with the tail of what it printed.
parse_cmocka() { # $1 name, $2 counts file; reads the log on stdin
	awk -v file="$1" -v counts="$2" '
	function flush_detail(max,   i, from) {
		from = n > max ? n - max : 0
		for (i = from; i < n; i++)
			printf "        %s\n", detail[i]
		n = 0
	}
	function result(what) {
		printf "%-6s %s: %s\n", what, file, name
		running = 0
	}
	/^\[ RUN      \] / { name = substr($0, 14); running = 1; n = 0; next }
	running && /^\[       OK \] / && substr($0, 14) == name { result("ok"); p++; n = 0 }
	running && /^\[  FAILED  \] / && substr($0, 14) == name { result("FAILED"); f++; flush_detail(40) }
	running && /^\[  SKIPPED \] / && substr($0, 14) == name { result("skip"); s++; n = 0 }
	running { detail[n++] = $0 }
	{ fflush() }
	END {
		if (running) {
			printf "FAILED %s: %s (did not finish: crashed or timed out)\n", file, name
			f++
			flush_detail(20)
		}
		printf "%d %d %d\n", p, f, s > counts
	}'
}

# Integration files print "ok NAME (1.2s)" or "not ok NAME" and a traceback (harness.py).
parse_harness() { # $1 name, $2 counts file; reads the log on stdin
	awk -v file="$1" -v counts="$2" '
	function flush_detail(   i, from) {
		from = n > 60 ? n - 60 : 0
		for (i = from; i < n; i++)
			printf "        %s\n", detail[i]
		n = 0
	}
	function end_case() {
		if (failing)
			flush_detail()
		failing = 0
		n = 0
	}
	/^ok / { end_case(); printf "ok     %s: %s\n", file, substr($0, 4); p++; fflush(); next }
	/^not ok / {
		end_case(); printf "FAILED %s: %s\n", file, substr($0, 8); f++; failing = 1
		fflush(); next
	}
	{ detail[n++] = $0 }
	END {
		end_case()
		printf "%d %d 0\n", p, f > counts
	}'
}

# A run that exited non-zero without reporting a failed test (setup failed, crash outside a
# test, timeout) counts as one failure of the file.
check_exit() { # $1 name, $2 exit status file, $3 counts file, $4 log, $5 timeout
	local p f s rc why
	rc=$(cat "$2" 2>/dev/null || echo 1)
	read -r p f s <"$3"
	case "$rc" in
	0) return ;;
	124) why="timed out after $5 s" ;;
	12[5-9]) why="exit status $rc" ;;
	1[3-9][0-9]) why="killed by signal $((rc - 128))" ;;
	*) why="exit status $rc" ;;
	esac
	if [ "$f" -ne 0 ]; then
		# A failed test already explains a plain non-zero status; a signal or timeout not.
		[ "$rc" -ge 124 ] && echo "        ($1: $why)"
		return
	fi
	echo "FAILED $1 ($why)"
	tail -15 "$4" | sed 's/^/        /'
	echo "$p 1 $s" >"$3"
}

if wants unit; then
	mapfile -t files < <(select_files unit build/tests/test_* build/tests/*/test_*)
	heading && echo "== unit tests"
	for t in "${files[@]+"${files[@]}"}"; do
		{ [ -x "$t" ] && [ -f "$t" ]; } || continue
		name=${t#build/tests/}
		name=${name#./build/tests/}
		log="$log_dir/${name//\//_}.log"
		# The subshell reports a crash ("Aborted") into the log rather than after the summary.
		(
			timeout 300 stdbuf -oL "$t"
			echo $? >"$log.rc"
		) 2>&1 | tee "$log" | parse_cmocka "$name" "$log.counts"
		check_exit "$name" "$log.rc" "$log.counts" "$log" 300
		add_counts "$log.counts" "$name"
	done
fi

if wants fuzz; then
	mapfile -t files < <(select_files fuzz build/fuzz/fuzz_*)
	heading && echo "== fuzz regression (seed corpora, 5 s each)"
	for f in "${files[@]+"${files[@]}"}"; do
		{ [ -x "$f" ] && [ -f "$f" ]; } || continue
		name=$(basename "$f")
		corpus="tests/data/corpus/${name#fuzz_}"
		work=$(mktemp -d "$log_dir/$name.XXXX")
		[ -d "$corpus" ] && cp -r "$corpus/." "$work/" 2>/dev/null
		if timeout 120 "$f" -max_total_time=5 -timeout=10 -rss_limit_mb=2048 "$work" \
			>"$log_dir/$name.log" 2>&1; then
			passed=$((passed + 1))
			runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log_dir/$name.log" | tail -1)
			echo "ok     fuzz: $name (${runs:-?} runs)"
		else
			failed=$((failed + 1))
			failures+=("$name")
			echo "FAILED fuzz: $name (log: $log_dir/$name.log)"
			grep -E 'ERROR|SUMMARY|^    #' "$log_dir/$name.log" | head -20 | sed 's/^/        /'
		fi
	done
fi

if wants integration; then
	mapfile -t files < <(select_files integration tests/integration/test_*.py)
	heading && echo "== integration tests"
	if [ ${#files[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
		echo "integration tests need root (real BPF): skipped"
		files=()
	fi
	for t in "${files[@]+"${files[@]}"}"; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .py)
		args=()
		if ! matches "$name"; then
			# Not the file: its cases (each `@test` above a `def`) whose name matches.
			found=0
			while read -r c; do
				matches "$c" && found=1
			done < <(grep -A1 '^@test' "$t" | sed -n 's/^def \([A-Za-z0-9_]*\).*/\1/p')
			[ "$found" -eq 1 ] || continue
			args=(-k "$pattern")
		fi
		log="$log_dir/$name.log"
		(
			timeout 1200 /usr/bin/python3 -u "$t" "${args[@]+"${args[@]}"}"
			echo $? >"$log.rc"
		) 2>&1 | tee "$log" | parse_harness "$name" "$log.counts"
		check_exit "$name" "$log.rc" "$log.counts" "$log" 1200
		add_counts "$log.counts" "$name"
	done
fi

[ "$skipped" -gt 0 ] && echo "($skipped skipped: not counted below)"
if [ "${#failures[@]}" -gt 0 ]; then
	echo "failing: ${failures[*]} (logs in $log_dir)"
else
	rm -rf "$log_dir"
fi
echo "$passed passed, $failed failed"
if [ $((passed + failed + skipped)) -eq 0 ] && { [ -n "$pattern" ] || [ ${#paths[@]} -gt 0 ]; }; then
	echo "no test matches ${pattern:+-k $pattern }${paths[*]+"${paths[*]}"}" >&2
	exit 1
fi
[ "$failed" -eq 0 ]
