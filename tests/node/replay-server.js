#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Bedrock replay server: answers HTTPS requests (HTTP/1.1 and HTTP/2 on one port, chosen by
// ALPN) byte for byte from recorded VCR cassettes, so real AWS SDK clients and the demo app
// talk to "Bedrock" on 127.0.0.1 with no network and no credentials.
//
//   node replay-server.js --port 0 --cert server.pem --key server.key --cassettes DIR
//        [--cassettes DIR2 ...] [--cassette FILE ...] [--frame-delay-ms 20]
//        [--latency-ms 0] [--when-exhausted wrap|last] [--recorded-date] [--ready-file PATH]
//        [--verbose]
//
// Matching: method + URI path (percent-decoded or raw), then the JSON-equal request body when
// several interactions share the path, then recorded order per (path, body) — so a recorded
// 429 followed by a 200 for the same request answers an SDK retry as Bedrock did. When a
// sequence is exhausted it wraps around (default) or repeats its last answer.
//
// The Date header is the current time, as a live service sends it (AWS SDKs correct their
// clock from it: a recorded 2025 date makes the JavaScript SDK skew its signing clock and
// retry every error as a clock-skew error); --recorded-date sends the recorded one instead.
//
// Event-stream bodies are written one frame at a time with --frame-delay-ms between frames, so
// time to first chunk is real and measurable; --latency-ms holds every recorded answer back
// that long first (a model's think time, for demos).
//
// Test endpoints (never recorded):
//   GET  /__replay/requests   every request received since start/reset (method, path, HTTP
//                             version, headers as received, body, matched cassette, status)
//   GET  /__replay/cassettes  loaded cassettes and their interactions
//   POST /__replay/reset      forget requests and sequence positions; an optional JSON body
//                             {"cassettes": ["name", ...]} limits matching to those cassettes
//                             (file names without .yaml), {"cassettes": null} lifts the limit.
'use strict';

const fs = require('fs');
const http2 = require('http2');
const crypto = require('crypto');
const path = require('path');
const C = require('./cassettes');

// Headers HTTP/2 forbids (RFC 9113 §8.2.2); node throws if a response sets them.
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

function usage(msg) {
	if (msg)
		process.stderr.write(`replay-server: ${msg}\n`);
	process.stderr.write(
		'usage: replay-server.js --port N --cert PEM --key PEM --cassettes DIR [--cassettes DIR ...]\n' +
			'       [--cassette FILE ...] [--frame-delay-ms N] [--latency-ms N] [--when-exhausted wrap|last]\n' +
			'       [--recorded-date] [--ready-file PATH] [--verbose]\n'
	);
	process.exit(2);
}

function parseArgs(argv) {
	const o = { port: 0, dirs: [], files: [], frameDelayMs: 20, latencyMs: 0, exhausted: 'wrap',
		recordedDate: false, verbose: false };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const val = () => {
			if (i + 1 >= argv.length)
				usage(`${a} needs a value`);
			return argv[++i];
		};
		switch (a) {
		case '--port': o.port = Number(val()); break;
		case '--cert': o.cert = val(); break;
		case '--key': o.key = val(); break;
		case '--cassettes': o.dirs.push(val()); break;
		case '--cassette': o.files.push(val()); break;
		case '--frame-delay-ms': o.frameDelayMs = Number(val()); break;
		case '--latency-ms': o.latencyMs = Number(val()); break;
		case '--when-exhausted': o.exhausted = val(); break;
		case '--ready-file': o.readyFile = val(); break;
		case '--recorded-date': o.recordedDate = true; break;
		case '--verbose': case '-v': o.verbose = true; break;
		case '--help': case '-h': usage();
		default: usage(`unknown argument ${a}`);
		}
	}
	if (!o.cert || !o.key)
		usage('--cert and --key are required');
	if (o.dirs.length === 0 && o.files.length === 0)
		usage('at least one --cassettes DIR or --cassette FILE is required');
	if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
		usage('bad --port');
	if (!(o.frameDelayMs >= 0))
		usage('bad --frame-delay-ms');
	if (!(o.latencyMs >= 0))
		usage('bad --latency-ms');
	if (o.exhausted !== 'wrap' && o.exhausted !== 'last')
		usage('--when-exhausted is wrap or last');
	return o;
}

const opts = parseArgs(process.argv.slice(2));

function log(msg) {
	if (opts.verbose)
		process.stderr.write(`replay-server: ${msg}\n`);
}

// ---- cassettes ------------------------------------------------------------------------------

const interactions = [];
{
	const files = [];
	for (const d of opts.dirs)
		files.push(...C.cassetteFiles(d));
	files.push(...opts.files);
	const seen = new Set();
	for (const f of files) {
		const real = path.resolve(f);
		if (seen.has(real))
			continue;
		seen.add(real);
		for (const it of C.loadCassette(f)) {
			it.id = interactions.length;
			it.bodyKey = C.bodyKey(it.reqBody);
			interactions.push(it);
		}
	}
}

let scope = null; // Set of cassette names, or null for all
let cursors = new Map();
let requestLog = [];

// Picks the interaction answering (method, rawPath, body), or null.
function match(method, rawPath, body) {
	const decoded = C.decodePath(rawPath);
	let cands = interactions.filter(
		(it) =>
			(scope === null || scope.has(it.cassette)) &&
			it.method === method &&
			(it.path === decoded || it.rawPath === rawPath)
	);
	if (cands.length === 0)
		return null;
	if (cands.length > 1) {
		const key = C.bodyKey(body);
		const same = cands.filter((it) => it.bodyKey === key);
		if (same.length > 0)
			cands = same;
	}
	const ckey = method + ' ' + decoded + ' ' + cands.map((it) => it.id).join(',');
	const n = cursors.get(ckey) || 0;
	cursors.set(ckey, n + 1);
	const idx = opts.exhausted === 'wrap' ? n % cands.length : Math.min(n, cands.length - 1);
	return cands[idx];
}

// ---- responses ------------------------------------------------------------------------------

function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

function sendJson(req, res, status, obj, extra = {}) {
	const body = Buffer.from(JSON.stringify(obj, null, 1) + '\n');
	const h = { 'content-type': 'application/json', 'content-length': String(body.length), ...extra };
	for (const [k, v] of Object.entries(h))
		res.setHeader(k, v);
	res.writeHead(status);
	res.end(body);
}

async function sendRecorded(req, res, it) {
	const h2 = req.httpVersionMajor === 2;
	if (opts.latencyMs > 0)
		await sleep(opts.latencyMs);
	if (res.destroyed || (res.stream && res.stream.destroyed))
		return;
	const stream = C.isEventStream(it.headers);
	for (const [name, values] of it.headers) {
		const lower = name.toLowerCase();
		if (lower === 'content-length')
			continue; // recomputed below for fixed bodies
		if (h2 && H2_FORBIDDEN.has(lower))
			continue;
		if (!stream && lower === 'transfer-encoding')
			continue;
		if (lower === 'date' && !opts.recordedDate) {
			res.setHeader(h2 ? 'date' : name, new Date().toUTCString());
			continue;
		}
		res.setHeader(h2 ? lower : name, values.length === 1 ? values[0] : values);
	}
	if (!stream)
		res.setHeader(h2 ? 'content-length' : 'Content-Length', String(it.body.length));
	if (h2)
		res.writeHead(it.status);
	else
		res.writeHead(it.status, it.message || undefined);

	if (!stream) {
		res.end(it.body);
		return;
	}
	let gone = false;
	res.on('close', () => {
		gone = true;
	});
	const frames = C.splitFrames(it.body);
	for (let i = 0; i < frames.length && !gone; i++) {
		if (i > 0 && opts.frameDelayMs > 0)
			await sleep(opts.frameDelayMs);
		if (gone)
			break;
		res.write(frames[i]);
	}
	if (!gone)
		res.end();
}

function rawHeaderPairs(req) {
	const out = [];
	for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
		out.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
	return out;
}

function bodyForLog(buf) {
	if (buf.length === 0)
		return '';
	const text = buf.toString('utf8');
	return Buffer.from(text, 'utf8').equals(buf) ? text : { base64: buf.toString('base64') };
}

async function handle(req, res, body) {
	const rawUrl = req.url || '/';
	const q = rawUrl.indexOf('?');
	const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
	const method = (req.method || 'GET').toUpperCase();

	if (rawPath === '/__replay/requests' && method === 'GET')
		return sendJson(req, res, 200, { requests: requestLog });
	if (rawPath === '/__replay/cassettes' && method === 'GET')
		return sendJson(req, res, 200, {
			scope: scope === null ? null : [...scope],
			interactions: interactions.map((it) => ({
				cassette: it.cassette, index: it.index, method: it.method, path: it.path,
				status: it.status, eventStream: C.isEventStream(it.headers),
			})),
		});
	if (rawPath === '/__replay/reset' && method === 'POST') {
		const j = C.tryJson(body);
		if (j && Object.prototype.hasOwnProperty.call(j, 'cassettes')) {
			if (j.cassettes === null) {
				scope = null;
			} else {
				const names = (Array.isArray(j.cassettes) ? j.cassettes : [j.cassettes]).map((n) =>
					String(n).replace(/\.ya?ml$/, '').replace(/^.*\//, '')
				);
				const known = new Set(interactions.map((it) => it.cassette));
				const unknown = names.filter((n) => !known.has(n));
				if (unknown.length > 0)
					return sendJson(req, res, 400, { message: `unknown cassettes: ${unknown.join(', ')}` });
				scope = new Set(names);
			}
		}
		requestLog = [];
		cursors = new Map();
		return sendJson(req, res, 200, { ok: true, scope: scope === null ? null : [...scope] });
	}

	const it = match(method, rawPath, body);
	const entry = {
		seq: requestLog.length + 1,
		time: new Date().toISOString(),
		method,
		path: rawUrl,
		httpVersion: req.httpVersion,
		alpn: req.socket && req.socket.alpnProtocol ? req.socket.alpnProtocol : null,
		headers: req.headers,
		rawHeaders: rawHeaderPairs(req),
		bodyLength: body.length,
		body: bodyForLog(body),
		cassette: it ? it.cassette : null,
		interaction: it ? it.index : null,
		status: it ? it.status : 404,
	};
	requestLog.push(entry);
	log(`${method} ${rawUrl} HTTP/${req.httpVersion} -> ${it ? `${it.cassette}#${it.index} ${it.status}` : '404'}`);
	if (!it)
		return sendJson(req, res, 404, { message: `No recorded interaction for ${method} ${rawPath}` }, {
			'x-amzn-errortype': 'ResourceNotFoundException',
			'x-amzn-requestid': crypto.randomUUID(),
		});
	return sendRecorded(req, res, it);
}

// ---- server ---------------------------------------------------------------------------------

const server = http2.createSecureServer({
	key: fs.readFileSync(opts.key),
	cert: fs.readFileSync(opts.cert),
	allowHTTP1: true,
	ALPNProtocols: ['h2', 'http/1.1'],
});

// Raw TCP sockets (a client stuck before or in the handshake) and TLS sockets, so SIGTERM
// can close them all instead of waiting for idle keep-alive connections.
const sockets = new Set();
const track = (s) => {
	sockets.add(s);
	s.on('close', () => sockets.delete(s));
};
server.on('connection', track);
server.on('secureConnection', track);
server.on('tlsClientError', (err) => log(`TLS: ${err.message}`));
server.on('sessionError', (err) => log(`h2 session: ${err.message}`));

server.on('request', (req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('error', (err) => log(`request: ${err.message}`));
	req.on('end', () => {
		handle(req, res, Buffer.concat(chunks)).catch((err) => {
			process.stderr.write(`replay-server: ${err.stack || err}\n`);
			if (!res.headersSent)
				sendJson(req, res, 500, { message: String(err.message || err) });
			else
				res.destroy();
		});
	});
});

server.listen(opts.port, '127.0.0.1', () => {
	const port = server.address().port;
	const line = JSON.stringify({ port }) + '\n';
	if (opts.readyFile) {
		// Written whole then renamed, so a reader never sees half a line.
		const tmp = opts.readyFile + '.tmp';
		fs.writeFileSync(tmp, line);
		fs.renameSync(tmp, opts.readyFile);
	}
	process.stdout.write(line);
	log(`${interactions.length} interactions from ${new Set(interactions.map((i) => i.cassette)).size} cassettes`);
});
server.on('error', (err) => {
	process.stderr.write(`replay-server: ${err.message}\n`);
	process.exit(1);
});

function shutdown(sig) {
	log(`${sig}: stopping`);
	setTimeout(() => process.exit(0), 1000).unref();
	server.close(() => process.exit(0));
	for (const s of sockets)
		s.destroy();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
