#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// TLS test server for the capture tests and benchmark: HTTP/1.1 and HTTP/2 on one port (ALPN),
// keep-alive on.
//
//   node tls_server.js --cert server.pem --key server.key [--port 0] [--ready-file PATH]
//
//   GET  /bytes/N    N bytes of the deterministic pattern below (content-length set)
//   POST /upload     (any POST) reads the body, answers {"size": N, "sha256": "..."}
//   POST /sink       reads the body, answers "ok" (benchmark: the smallest possible answer)
//   POST /model/ID/invoke  an InvokeModel answer (Anthropic messages shape) of about 64 KiB
//
// Pattern byte i = ((i % 251) + (i >> 14)) & 0xff: not periodic at the 16 KiB chunk size, so a
// lost, doubled or reordered chunk changes the sha256. The port is printed as "listening PORT".
'use strict';

const fs = require('fs');
const http2 = require('http2');
const crypto = require('crypto');

function parseArgs(argv) {
	const o = { port: 0, cert: null, key: null, readyFile: null };
	for (let i = 0; i < argv.length; i++) {
		const v = argv[i + 1];
		switch (argv[i]) {
		case '--port': o.port = Number(v); i++; break;
		case '--cert': o.cert = v; i++; break;
		case '--key': o.key = v; i++; break;
		case '--ready-file': o.readyFile = v; i++; break;
		default:
			process.stderr.write(`tls_server: unknown argument ${argv[i]}\n`);
			process.exit(2);
		}
	}
	if (!o.cert || !o.key) {
		process.stderr.write('usage: tls_server.js --cert PEM --key PEM [--port N] [--ready-file PATH]\n');
		process.exit(2);
	}
	return o;
}

// Block k of the pattern (bytes 16384k .. 16384k+16383) starts at phase (16384k) % 251 of row
// k & 0xff, row k holding ((j % 251) + k) & 0xff for j < BLOCK + 251: each block is one copy.
const BLOCK = 16384;
const rows = [];
for (let k = 0; k < 256; k++) {
	const r = Buffer.allocUnsafe(BLOCK + 251);
	for (let j = 0; j < r.length; j++)
		r[j] = ((j % 251) + k) & 0xff;
	rows.push(r);
}

function pattern(n) {
	const out = Buffer.allocUnsafe(n);
	for (let off = 0, k = 0; off < n; off += BLOCK, k++) {
		const start = off % 251;
		rows[k & 0xff].copy(out, off, start, start + Math.min(BLOCK, n - off));
	}
	return out;
}

const cache = new Map();
function body(n) {
	let b = cache.get(n);
	if (!b) {
		b = pattern(n);
		if (n <= (64 << 20))
			cache.set(n, b);
	}
	return b;
}

/*
 * An InvokeModel answer in the Anthropic messages shape, its text long enough (64 KiB) that its
 * body would get an omission window if nobody read it; the usage comes last.
 */
function invokeAnswer(modelId) {
	return JSON.stringify({
		id: 'msg_tls_test', type: 'message', role: 'assistant', model: modelId,
		content: [{ type: 'text', text: 'w'.repeat(64 << 10) }],
		stop_reason: 'end_turn', stop_sequence: null,
		usage: { input_tokens: 11, output_tokens: 22 },
	});
}

function handle(req, res) {
	const url = req.url || '/';
	const m = /^\/bytes\/(\d+)/.exec(url);
	if (req.method === 'GET' && m) {
		const b = body(Number(m[1]));
		res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.length });
		res.end(b);
		return;
	}
	const model = /^\/model\/([^/]+)\/invoke$/.exec(url);
	if (req.method === 'POST' && model) {
		req.resume();
		req.on('end', () => {
			const out = invokeAnswer(decodeURIComponent(model[1]));
			res.writeHead(200, { 'content-type': 'application/json',
				'content-length': Buffer.byteLength(out) });
			res.end(out);
		});
		return;
	}
	if (req.method === 'POST') {
		const h = crypto.createHash('sha256');
		let size = 0;
		req.on('data', (c) => { h.update(c); size += c.length; });
		req.on('end', () => {
			const out = url.startsWith('/sink') ? 'ok' :
				JSON.stringify({ size, sha256: h.digest('hex') });
			res.writeHead(200, { 'content-type': url.startsWith('/sink') ? 'text/plain' : 'application/json',
				'content-length': Buffer.byteLength(out) });
			res.end(out);
		});
		return;
	}
	res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 10 });
	res.end('not found\n');
}

const o = parseArgs(process.argv.slice(2));
const server = http2.createSecureServer({
	cert: fs.readFileSync(o.cert),
	key: fs.readFileSync(o.key),
	allowHTTP1: true,
	settings: { initialWindowSize: 1 << 20 },
}, handle);
server.keepAliveTimeout = 60000;
server.setTimeout(0);
server.on('sessionError', () => {});
server.on('tlsClientError', () => {});
server.listen(o.port, '127.0.0.1', () => {
	const port = server.address().port;
	if (o.readyFile)
		fs.writeFileSync(o.readyFile, String(port));
	process.stdout.write(`listening ${port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => process.exit(0));
