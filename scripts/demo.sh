#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: traces the bundled demo "LLM service" (scripts/demo/app.c) with bedtrace while it
# talks to a local Bedrock replay server, then prints each trace as a tree and the audit of the
# capture (`bedtrace report`).
#
# Needs root (bedtrace loads BPF), ./bedtrace built (make), node with tests/node/node_modules
# (make deps), gcc with libcurl/cJSON/OpenSSL headers. Everything runs on 127.0.0.1 and is
# removed on exit. Env: REQUESTS (default 3), LATENCY_MS (default 150) model think time the
# replay server adds, FRAME_DELAY_MS (default 40) between streamed chunks, KEEP_TMP=1.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=/usr/bin/python3
fixtures="$root/tests/fixtures"
requests=${REQUESTS:-3}

die() {
	echo "demo: $*" >&2
	exit 1
}

[ -d "$fixtures/bedrock-cassettes" ] || die "no cassettes at $fixtures/bedrock-cassettes"
[ -d tests/node/node_modules/js-yaml ] || die "tests/node/node_modules missing: run 'make deps'"
command -v node >/dev/null || die "node not found: run 'make deps'"
[ -x ./bedtrace ] || die "./bedtrace not built: run 'make'"
[ "$(id -u)" -eq 0 ] || die "bedtrace needs root (BPF): run 'sudo make demo'"

make --no-print-directory -C scripts/demo >/dev/null

. scripts/lib/procs.sh
tmp=$(mktemp -d)
server_pid=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	stop_child "$server_pid"
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "demo: files kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash tests/node/make-cert.sh "$tmp"

node tests/node/replay-server.js --port 0 --cert "$tmp/server.pem" --key "$tmp/server.key" \
	--cassettes "$fixtures/bedrock-cassettes" --latency-ms "${LATENCY_MS:-150}" \
	--frame-delay-ms "${FRAME_DELAY_MS:-40}" --ready-file "$tmp/ready" \
	>"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 1 100); do
	[ -s "$tmp/ready" ] && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
if [ ! -s "$tmp/ready" ]; then
	cat "$tmp/server.err" >&2
	die "the replay server did not start"
fi
port=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$tmp/ready")

# Fake credentials: the demo signs with them; bedtrace must never export the token.
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=demo-secret-access-key
export AWS_SESSION_TOKEN="demo-session-token-$$"

echo "demo: tracing scripts/demo/out/demo-app ($requests requests + 1 streaming) against" \
	"the Bedrock replay server on 127.0.0.1:$port"
rc=0
timeout 120 ./bedtrace -f handle_request -f retrieve_documents -f assemble_prompt \
	-f call_bedrock -f postprocess -o "$tmp/trace.jsonl" -- \
	scripts/demo/out/demo-app --endpoint "https://127.0.0.1:$port" --cacert "$tmp/ca.pem" \
	--requests "$requests" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "demo: bedtrace exited $rc" >&2
fi
[ -s "$tmp/trace.jsonl" ] || die "no trace written"

# each trace as a tree (in order of start), then the audit of the whole capture
echo
for id in $(./bedtrace report --traces --format json "$tmp/trace.jsonl" |
	"$py" -c 'import json,sys; print("\n".join(t["trace_id"] for t in json.load(sys.stdin)["traces"]))'); do
	./bedtrace report --trace "$id" "$tmp/trace.jsonl"
	echo
done
./bedtrace report "$tmp/trace.jsonl"
echo
if grep -q -- "$AWS_SESSION_TOKEN" "$tmp/trace.jsonl"; then
	die "the session token appears in the trace"
fi
served=$(curl -sS --max-time 5 --cacert "$tmp/ca.pem" "https://127.0.0.1:$port/__replay/requests" |
	"$py" -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))') || served='?'
echo "demo: $(grep -c '' "$tmp/trace.jsonl") OTLP export lines; the replay server answered $served requests"
exit "$rc"
