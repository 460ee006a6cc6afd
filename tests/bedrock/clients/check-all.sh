#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replays every Bedrock cassette (tests/fixtures/bedrock-cassettes and, when the generator
# exists, tests/bedrock/gen's output) through the replay server with three real clients:
# boto3 (HTTP/1.1), the AWS SDK for JavaScript with its default handler (HTTP/2) and with
# NodeHttpHandler (--http1). Each run is checked against the cassette and the server's request
# log (check_result.py). No root, no BPF: this proves the test rig, not bedtrace.
#
# Usage: tests/bedrock/clients/check-all.sh [CASSETTE_NAME_GLOB]
# Env:   FRAME_DELAY_MS (default 2) delay between event-stream frames; KEEP_TMP=1 keeps logs.
# Ends with "N passed, N failed"; exit 1 if any failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
fixtures="$root/tests/fixtures"
py=/usr/bin/python3
filter=${1:-*}

if [ ! -d "$root/tests/node/node_modules/@aws-sdk" ]; then
	echo "check-all: tests/node/node_modules missing; run 'make deps' (npm ci in tests/node)" >&2
	exit 1
fi

. "$root/scripts/lib/procs.sh"
tmp=$(mktemp -d)
server_pid=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	stop_child "$server_pid"
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "check-all: logs kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash "$root/tests/node/make-cert.sh" "$tmp/certs"

dirs=("$fixtures/bedrock-cassettes")
if [ -f "$root/tests/bedrock/gen/make_cassettes.py" ]; then
	mkdir -p "$tmp/gen"
	"$py" "$root/tests/bedrock/gen/make_cassettes.py" "$tmp/gen" >/dev/null
	dirs+=("$tmp/gen")
fi
server_args=()
for d in "${dirs[@]}"; do
	server_args+=(--cassettes "$d")
done

node "$root/tests/node/replay-server.js" --port 0 --cert "$tmp/certs/server.pem" \
	--key "$tmp/certs/server.key" "${server_args[@]}" --frame-delay-ms "${FRAME_DELAY_MS:-2}" \
	--ready-file "$tmp/ready" >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 1 100); do
	[ -s "$tmp/ready" ] && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
if [ ! -s "$tmp/ready" ]; then
	echo "check-all: replay server did not start:" >&2
	cat "$tmp/server.err" >&2
	exit 1
fi
port=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$tmp/ready")
endpoint="https://127.0.0.1:$port"
ca="$tmp/certs/ca.pem"

export AWS_DATA_PATH="$fixtures/aws-models"
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=check-all-secret-key
export AWS_SESSION_TOKEN="check-all-token-$$-$RANDOM$RANDOM"

replay() { # replay METHOD PATH [BODY]
	curl -sS --fail --max-time 10 --cacert "$ca" -X "$1" ${3:+-H 'content-type: application/json' -d "$3"} \
		"$endpoint$2"
}

passed=0
failed=0
declare -A versions=()

run_one() { # run_one CASSETTE LABEL COMMAND... → checks; returns 0 when good
	local cassette=$1 label=$2
	shift 2
	local name out
	name=$(basename "$cassette" .yaml)
	out="$tmp/$name.$label"
	replay POST /__replay/reset "{\"cassettes\": [$("$py" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$name")]}" >/dev/null
	if ! timeout 90 "$@" --endpoint "$endpoint" --ca "$ca" --cassette "$cassette" \
		>"$out.jsonl" 2>"$out.err"; then
		echo "  $label: client failed (exit $?)"
		sed 's/^/    /' "$out.err" | head -20
		sed 's/^/    /' "$out.jsonl" | head -5
		return 1
	fi
	replay GET /__replay/requests >"$out.requests.json"
	local extra=()
	case $label in
	boto3) extra=(--http-version 1.1) ;;
	node-h2) extra=(--http-version 2.0 --compare "$tmp/$name.boto3.jsonl") ;;
	node-h1) extra=(--http-version 1.1 --compare "$tmp/$name.boto3.jsonl") ;;
	esac
	if ! "$py" "$here/check_result.py" --cassette "$cassette" --results "$out.jsonl" \
		--requests "$out.requests.json" --session-token "$AWS_SESSION_TOKEN" "${extra[@]}" \
		>"$out.check" 2>&1; then
		echo "  $label:"
		cat "$out.check"
		return 1
	fi
	if grep -q -- "$AWS_SESSION_TOKEN" "$out.jsonl" "$out.err"; then
		echo "  $label: the session token leaked into the client's output"
		return 1
	fi
	local v
	v=$("$py" -c 'import json,sys; print(",".join(sorted({r["httpVersion"] for r in json.load(open(sys.argv[1]))["requests"]})))' "$out.requests.json")
	local ops
	ops=$("$py" -c 'import json,sys; print(" ".join(sorted({json.loads(l).get("operation","?") for l in open(sys.argv[1]) if l.strip()})))' "$out.jsonl")
	for op in $ops; do
		versions["$label $op"]=$v
	done
	return 0
}

for dir in "${dirs[@]}"; do
	for cassette in "$dir"/$filter.yaml; do
		[ -f "$cassette" ] || continue
		name=$(basename "$cassette" .yaml)
		log="$tmp/$name.log"
		ok=1
		run_one "$cassette" boto3 "$py" "$here/boto3_client.py" >"$log" 2>&1 || ok=0
		run_one "$cassette" node-h2 node "$root/tests/node/client.js" >>"$log" 2>&1 || ok=0
		run_one "$cassette" node-h1 node "$root/tests/node/client.js" --http1 >>"$log" 2>&1 || ok=0
		if [ "$ok" = 1 ]; then
			echo "PASS $name"
			passed=$((passed + 1))
		else
			echo "FAIL $name"
			cat "$log"
			failed=$((failed + 1))
		fi
	done
done

echo "HTTP versions seen by the server, per client and operation:"
for k in "${!versions[@]}"; do
	echo "  $k: HTTP/${versions[$k]}"
done | sort

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
