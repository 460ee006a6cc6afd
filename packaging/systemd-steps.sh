#!/bin/sh
# SPDX-License-Identifier: MIT
# What `make install` / `make uninstall` do about systemd after copying files: talk to systemd
# only when it runs this machine (systemd is PID 1, the sd_booted() test) and the files went to
# the live system (no DESTDIR); otherwise print the commands to run. Nothing is enabled or
# started on install: the collector's address has to be in the environment file first.
#
# Usage: systemd-steps.sh install|stop|uninstall DESTDIR UNITDIR ENVFILE
set -eu
[ $# -eq 4 ] || {
	echo "usage: $0 install|stop|uninstall DESTDIR UNITDIR ENVFILE" >&2
	exit 2
}
what=$1 destdir=$2 unitdir=$3 envfile=$4

live=no
if [ -z "$destdir" ] && [ -d /run/systemd/system ] && [ "$(ps -p 1 -o comm=)" = systemd ]; then
	live=yes
fi

case "$what" in
install)
	case "$unitdir" in
	/etc/systemd/system | /usr/local/lib/systemd/system) ;;
	/usr/lib/systemd/system | /lib/systemd/system) ;;
	*) echo "note: $unitdir is not on systemd's unit path; link the unit:" \
		"systemctl link $unitdir/bedtrace.service" ;;
	esac
	if [ "$live" = yes ]; then
		systemctl daemon-reload
		echo "systemd reloaded. Next:"
	else
		echo "Next, on the target machine:"
		echo "  systemctl daemon-reload"
	fi
	echo "  edit $envfile (BEDTRACE_OPTS, OTEL_EXPORTER_OTLP_ENDPOINT)"
	echo "  systemctl enable --now bedtrace.service"
	echo "  journalctl -u bedtrace.service"
	;;
stop)
	# before the files go: a running service keeps running without its unit file
	if [ "$live" = yes ] && [ -e "$unitdir/bedtrace.service" ]; then
		systemctl disable --now bedtrace.service || true
	fi
	;;
uninstall)
	if [ "$live" = yes ]; then
		systemctl daemon-reload
	elif [ -z "$destdir" ]; then
		echo "If bedtrace.service was enabled elsewhere: systemctl disable --now bedtrace.service;" \
			"systemctl daemon-reload"
	fi
	echo "kept: $envfile and /var/lib/bedtrace (configuration and spool); remove them by hand"
	;;
*)
	echo "$0: unknown step '$what'" >&2
	exit 2
	;;
esac
