#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make fuzz`: runs every libFuzzer harness for FUZZ_SECONDS (default 60) on a working copy of
# its seed corpus (tests/data/corpus/<name>), plus seeds cut from tests/fixtures where they
# fit (cassette bodies for the event-stream and Bedrock fuzzers). Crashes stay in build/fuzz-out.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${FUZZ_SECONDS:-60}
out=build/fuzz-out
mkdir -p "$out"
fixtures=tests/fixtures/bedrock-cassettes
status=0

for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	work="$out/${name}.corpus"
	mkdir -p "$work"
	if [ -d "tests/data/corpus/${name#fuzz_}" ]; then
		cp -rn "tests/data/corpus/${name#fuzz_}/." "$work/"
	fi
	case "$name" in
	fuzz_eventstream | fuzz_bedrock_agent | fuzz_bedrock_body | fuzz_http1 | fuzz_conn)
		[ -d "$fixtures" ] && cp -n "$fixtures"/*.yaml "$work/" 2>/dev/null || true
		;;
	esac
	echo "== $name (${secs}s)"
	if ! "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/${name}-" "$work" >"$out/$name.log" 2>&1; then
		echo "$name: FAILED, see $out/$name.log"
		grep -E 'ERROR|SUMMARY' "$out/$name.log" | head -5
		status=1
	else
		tail -1 "$out/$name.log"
	fi
done
exit $status
