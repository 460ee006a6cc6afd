#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install every Debian package bedtrace needs to build, test and benchmark.
# Idempotent: packages already present are skipped, `apt-get update` runs at most once.
set -euo pipefail

PKGS=(
	make gcc g++ clang llvm pkg-config clang-format cppcheck
	libbpf-dev bpftool libelf-dev zlib1g-dev libcjson-dev libnghttp2-dev
	libcurl4-openssl-dev libcmocka-dev libclang-rt-14-dev
	bpftrace curl openssl libssl-dev ca-certificates
	python3 python3-boto3 nodejs
	# a real Prometheus scrapes --prometheus in the integration tests (tests/integration/prom_rig.py)
	prometheus
	# headless Chromium loads the `bedtrace report --html` page (tests/integration/test_report_html.py)
	chromium
	rustc golang-go sqlite3 libsqlite3-0 openssl
	# bedtrace.8 from --help (help2man), its checks (groff, man), systemd-analyze for the unit
	help2man groff-base man-db systemd
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# nodesource's nodejs satisfies "nodejs"; a node on PATH is enough either way.
if command -v node >/dev/null 2>&1; then
	missing=("${missing[@]/nodejs/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))

if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Packages that ship a daemon (prometheus) must not start it: on a host with an init that
	# runs services it would hold :9090 and scrape on its own. Debian's policy-rc.d protocol
	# (exit 101 = action forbidden) is what invoke-rc.d and deb-systemd-invoke ask; one that
	# already exists (containers, chroots) is the administrator's and is left as it is.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# deps.sh: no service starts while it installs packages\nexit 101\n' \
			>"$policy"
		chmod 0755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node AWS SDK clients for the Bedrock integration tests (pinned by package-lock.json).
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$root/tests/node/package-lock.json" ] && [ ! -d "$root/tests/node/node_modules/@aws-sdk" ]; then
	(cd "$root/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
