#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every benchmark, one after the other; each prints its own figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
/usr/bin/python3 scripts/bench/functrace_bench.py "$@"
/usr/bin/python3 scripts/bench/tls_bench.py "$@"
/usr/bin/python3 scripts/bench/copy_cost.py
/usr/bin/python3 scripts/bench/attach_bench.py "$@"
/usr/bin/python3 scripts/bench/fleet_bench.py "$@"
