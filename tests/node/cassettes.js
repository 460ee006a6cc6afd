// SPDX-License-Identifier: MIT
// VCR cassettes (the YAML layout vcrpy writes) as plain objects, shared by the replay server
// and the Node client. An interaction becomes
//   { cassette, index, method, uri, path, rawPath, query, reqHeaders, reqBody: Buffer|null,
//     status, message, headers: [[name, [values]]...], body: Buffer }
// Header values keep the recorded case of their names; a scalar value becomes a one-item list.
'use strict';

const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const EVENTSTREAM_TYPE = 'application/vnd.amazon.eventstream';

// A body as vcrpy stores it: a string, !!binary (Uint8Array/Buffer), or {string: ...}.
function toBuffer(v) {
	if (v === null || v === undefined)
		return null;
	if (typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Uint8Array)) {
		if ('string' in v)
			return toBuffer(v.string);
		if ('base64_string' in v)
			return Buffer.from(String(v.base64_string), 'base64');
		return Buffer.from(JSON.stringify(v));
	}
	if (typeof v === 'string')
		return Buffer.from(v, 'utf8');
	return Buffer.from(v);
}

function headerList(h) {
	const out = [];
	if (!h || typeof h !== 'object')
		return out;
	for (const [name, val] of Object.entries(h)) {
		const vals = Array.isArray(val) ? val : [val];
		out.push([name, vals.map((x) => (x === null || x === undefined ? '' : String(x)))]);
	}
	return out;
}

function headerGet(list, name) {
	const lower = name.toLowerCase();
	for (const [n, v] of list)
		if (n.toLowerCase() === lower)
			return v[0];
	return undefined;
}

// Percent-decoded form of a path; a malformed escape leaves the raw text.
function decodePath(p) {
	try {
		return decodeURIComponent(p);
	} catch {
		return p;
	}
}

function splitUri(uri) {
	let rest = uri;
	const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(rest);
	if (m)
		rest = rest.slice(m[0].length);
	if (!rest.startsWith('/'))
		rest = '/' + rest;
	const q = rest.indexOf('?');
	return q < 0 ? { rawPath: rest, query: '' } : { rawPath: rest.slice(0, q), query: rest.slice(q + 1) };
}

// Loads one cassette file; throws with the file name on a malformed one.
function loadCassette(file) {
	const doc = yaml.load(fs.readFileSync(file, 'utf8'));
	if (!doc || !Array.isArray(doc.interactions))
		throw new Error(`${file}: no interactions list`);
	const name = path.basename(file).replace(/\.ya?ml$/, '');
	return doc.interactions.map((it, index) => {
		const rq = it.request || {};
		const rs = it.response || {};
		const { rawPath, query } = splitUri(String(rq.uri || '/'));
		const status = rs.status || {};
		return {
			cassette: name,
			file,
			index,
			method: String(rq.method || 'GET').toUpperCase(),
			uri: String(rq.uri || '/'),
			rawPath,
			path: decodePath(rawPath),
			query,
			reqHeaders: headerList(rq.headers),
			reqBody: toBuffer(rq.body),
			status: Number(status.code || 200),
			message: String(status.message || ''),
			headers: headerList(rs.headers),
			body: toBuffer(rs.body) || Buffer.alloc(0),
		};
	});
}

// Every *.yaml/*.yml under dir (not recursive), sorted by name.
function cassetteFiles(dir) {
	return fs
		.readdirSync(dir)
		.filter((f) => /\.ya?ml$/.test(f))
		.sort()
		.map((f) => path.join(dir, f));
}

function isEventStream(headers) {
	const ct = headerGet(headers, 'content-type');
	return typeof ct === 'string' && ct.toLowerCase().startsWith(EVENTSTREAM_TYPE);
}

// Splits an event-stream body at its frame boundaries (4-byte big-endian total length first).
// A frame whose length is impossible ends the split: the rest is returned as one last piece,
// so a corrupt recording is still replayed byte for byte.
function splitFrames(buf) {
	const out = [];
	let off = 0;
	while (off < buf.length) {
		if (buf.length - off < 16) {
			out.push(buf.subarray(off));
			break;
		}
		const len = buf.readUInt32BE(off);
		if (len < 16 || len > buf.length - off) {
			out.push(buf.subarray(off));
			break;
		}
		out.push(buf.subarray(off, off + len));
		off += len;
	}
	return out;
}

// JSON.parse or undefined.
function tryJson(buf) {
	if (!buf || buf.length === 0)
		return undefined;
	try {
		return JSON.parse(buf.toString('utf8'));
	} catch {
		return undefined;
	}
}

// Canonical text of a JSON value (object keys sorted) so equal documents compare equal.
function canonicalJson(v) {
	if (Array.isArray(v))
		return '[' + v.map(canonicalJson).join(',') + ']';
	if (v && typeof v === 'object')
		return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonicalJson(v[k])).join(',') + '}';
	return JSON.stringify(v);
}

// Key of a request body for matching: canonical JSON when it parses, else the raw bytes.
function bodyKey(buf) {
	if (!buf || buf.length === 0)
		return '';
	const j = tryJson(buf);
	return j === undefined ? 'raw:' + buf.toString('base64') : 'json:' + canonicalJson(j);
}

module.exports = {
	EVENTSTREAM_TYPE,
	loadCassette,
	cassetteFiles,
	headerGet,
	isEventStream,
	splitFrames,
	decodePath,
	splitUri,
	tryJson,
	canonicalJson,
	bodyKey,
};
