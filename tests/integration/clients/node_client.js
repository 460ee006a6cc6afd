#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// HTTPS client for the TLS capture tests: Node's https and http2 modules (OpenSSL linked
// statically into /usr/bin/node).
//
//   node node_client.js --ca CA --port PORT OP ...
//
// OPs, run in order:  https-get:N  https-post:N  h2-get:N  h2-post:N
// GET fetches /bytes/N; POST uploads N bytes of the server's pattern (tls_server.js) to /upload.
// Prints one JSON line per OP: {"op", "status", "size", "sha256"} of the body read.
'use strict';

const fs = require('fs');
const https = require('https');
const http2 = require('http2');
const crypto = require('crypto');

const BLOCK = 16384;
function pattern(n) {
	const rows = [];
	for (let k = 0; k < 256; k++) {
		const r = Buffer.allocUnsafe(BLOCK + 251);
		for (let j = 0; j < r.length; j++)
			r[j] = ((j % 251) + k) & 0xff;
		rows.push(r);
	}
	const out = Buffer.allocUnsafe(n);
	for (let off = 0, k = 0; off < n; off += BLOCK, k++) {
		const s = off % 251;
		rows[k & 0xff].copy(out, off, s, s + Math.min(BLOCK, n - off));
	}
	return out;
}

function done(op, status, chunks) {
	const b = Buffer.concat(chunks);
	process.stdout.write(JSON.stringify({ op, status, size: b.length,
		sha256: crypto.createHash('sha256').update(b).digest('hex') }) + '\n');
}

function httpsOp(op, ca, port, post, n) {
	return new Promise((resolve, reject) => {
		const agent = new https.Agent({ keepAlive: false });
		const body = post ? pattern(n) : null;
		const req = https.request({ host: '127.0.0.1', port, ca, agent, method: post ? 'POST' : 'GET',
			path: post ? '/upload' : `/bytes/${n}`,
			headers: post ? { 'content-type': 'application/octet-stream', 'content-length': n } : {} },
		(res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => { done(op, res.statusCode, chunks); agent.destroy(); resolve(); });
		});
		req.on('error', reject);
		req.end(body);
	});
}

function h2Op(op, ca, port, post, n) {
	return new Promise((resolve, reject) => {
		const s = http2.connect(`https://127.0.0.1:${port}`, { ca });
		s.on('error', reject);
		const req = s.request(post ? { ':method': 'POST', ':path': '/upload',
			'content-type': 'application/octet-stream', 'content-length': n }
			: { ':method': 'GET', ':path': `/bytes/${n}` });
		let status = 0;
		const chunks = [];
		req.on('response', (h) => { status = h[':status']; });
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => { done(op, status, chunks); s.close(); resolve(); });
		req.on('error', reject);
		req.end(post ? pattern(n) : undefined);
	});
}

async function main() {
	const argv = process.argv.slice(2);
	let ca = null, port = 0;
	const ops = [];
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === '--ca') ca = fs.readFileSync(argv[++i]);
		else if (argv[i] === '--port') port = Number(argv[++i]);
		else ops.push(argv[i]);
	}
	for (const op of ops) {
		const [kind, n] = op.split(':');
		const post = kind.endsWith('-post');
		if (kind.startsWith('https-'))
			await httpsOp(op, ca, port, post, Number(n));
		else if (kind.startsWith('h2-'))
			await h2Op(op, ca, port, post, Number(n));
		else
			throw new Error(`unknown op ${op}`);
	}
}

main().catch((e) => { process.stderr.write(`node_client: ${e.stack || e}\n`); process.exit(1); });
