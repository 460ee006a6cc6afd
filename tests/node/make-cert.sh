#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Make a throw-away test CA and a server certificate for 127.0.0.1 and localhost.
# Usage: make-cert.sh OUTDIR   → OUTDIR/ca.pem, OUTDIR/ca.key, OUTDIR/server.pem, OUTDIR/server.key
# Clients trust ca.pem; the replay server serves server.pem/server.key. Valid for 2 days only:
# the files live in a temp dir for one test run.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 \
	-subj "/CN=bedtrace test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null

openssl req -newkey rsa:2048 -nodes -sha256 \
	-subj "/CN=127.0.0.1" \
	-keyout "$out/server.key" -out "$work/server.csr" 2>/dev/null

cat >"$work/ext.cnf" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT

openssl x509 -req -in "$work/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
	-CAcreateserial -CAserial "$work/ca.srl" -days 2 -sha256 \
	-extfile "$work/ext.cnf" -out "$out/server.pem" 2>/dev/null

chmod 0600 "$out/ca.key" "$out/server.key"
openssl verify -CAfile "$out/ca.pem" "$out/server.pem" >/dev/null
