# SPDX-License-Identifier: MIT
# Sourced by the shell scripts that start a local server in the background.

# stop_child PID: SIGTERM, up to 3 s for it to exit, then SIGKILL; reaps it. No-op when PID is
# empty or already gone.
stop_child() {
	local pid=$1 state
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	# an exited child stays a zombie (kill -0 succeeds) until waited for
	for _ in $(seq 1 30); do
		state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
		[ "$state" = Z ] || [ "$state" = gone ] && break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
