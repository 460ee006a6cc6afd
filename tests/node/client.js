#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Replays a Bedrock VCR cassette's requests as real AWS SDK for JavaScript v3 calls
// (@aws-sdk/client-bedrock-runtime, @aws-sdk/client-bedrock-agent-runtime) against an endpoint.
//
//   node client.js --endpoint https://127.0.0.1:PORT --ca ca.pem --cassette FILE.yaml
//        [--repeat N] [--http1] [--max-attempts N]
//
// Same contract as tests/bedrock/clients/boto3_client.py: each distinct recorded request is
// one call (a recorded 429 then 200 is one call the SDK retries); the operation comes from the
// URI path in the service models (AWS_DATA_PATH, default tests/fixtures/aws-models of the
// project); streams are consumed to the end; one JSON line per call on stdout.
// The SDK's own request handler is used (NodeHttp2Handler for both Bedrock clients) with the
// test CA trusted; --http1 swaps in NodeHttpHandler to drive HTTP/1.1 instead.
// Exit 0 when every call ran (a service error is a result), 1 on a local failure, 2 on usage.
'use strict';

// The pinned SDK warns once per process that releases after January 2027 need Node 22; the
// version pinned here runs on the Node 20 the project uses, so keep stderr clean.
if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined)
	process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const fs = require('fs');
const https = require('https');
const path = require('path');
const C = require('./cassettes');

const SERVICES = {
	'bedrock-runtime': () => require('@aws-sdk/client-bedrock-runtime'),
	'bedrock-agent-runtime': () => require('@aws-sdk/client-bedrock-agent-runtime'),
};
const CLIENT_CLASS = { 'bedrock-runtime': 'BedrockRuntimeClient', 'bedrock-agent-runtime': 'BedrockAgentRuntimeClient' };

function usage(msg) {
	if (msg)
		process.stderr.write(`client.js: ${msg}\n`);
	process.stderr.write('usage: client.js --endpoint URL --ca PEM --cassette FILE [--repeat N] [--http1] [--max-attempts N]\n');
	process.exit(2);
}

function parseArgs(argv) {
	const o = { repeat: 1, http1: false, maxAttempts: 3 };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const val = () => {
			if (i + 1 >= argv.length)
				usage(`${a} needs a value`);
			return argv[++i];
		};
		switch (a) {
		case '--endpoint': o.endpoint = val(); break;
		case '--ca': o.ca = val(); break;
		case '--cassette': o.cassette = val(); break;
		case '--repeat': o.repeat = Number(val()); break;
		case '--max-attempts': o.maxAttempts = Number(val()); break;
		case '--http1': o.http1 = true; break;
		case '--help': case '-h': usage();
		default: usage(`unknown argument ${a}`);
		}
	}
	if (!o.endpoint || !o.ca || !o.cassette)
		usage('--endpoint, --ca and --cassette are required');
	if (!Number.isInteger(o.repeat) || o.repeat < 1)
		usage('--repeat must be >= 1');
	return o;
}

// ---- service models -------------------------------------------------------------------------

function modelsDir() {
	if (process.env.AWS_DATA_PATH)
		return process.env.AWS_DATA_PATH.split(path.delimiter)[0];
	// tests/node → project root → tests/fixtures/aws-models
	return path.resolve(__dirname, '..', 'fixtures', 'aws-models');
}

function loadModel(dir, svc) {
	const base = path.join(dir, svc);
	const versions = fs.readdirSync(base).sort();
	return JSON.parse(fs.readFileSync(path.join(base, versions[versions.length - 1], 'service-2.json'), 'utf8'));
}

function escapeRe(s) {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Regex of a requestUri path ("/model/{modelId}/converse") and its count of literal chars.
function uriRegex(template) {
	const p = template.split('?')[0];
	let re = '^';
	let literal = 0;
	const names = [];
	for (const part of p.split(/(\{[^}]+\})/)) {
		if (part.startsWith('{')) {
			let name = part.slice(1, -1);
			const greedy = name.endsWith('+');
			name = name.replace(/\+$/, '');
			names.push(name);
			re += greedy ? '(.+)' : '([^/]+)';
		} else {
			re += escapeRe(part);
			literal += part.length;
		}
	}
	if (re.endsWith('/'))
		re = re.slice(0, -1) + '/?';
	return { rx: new RegExp(re + '$'), names, literal };
}

function findOperation(models, method, p) {
	let best = null;
	for (const [svc, model] of Object.entries(models)) {
		for (const [name, op] of Object.entries(model.operations)) {
			if ((op.http.method || 'POST').toUpperCase() !== method)
				continue;
			const { rx, names, literal } = uriRegex(op.http.requestUri);
			const m = rx.exec(p);
			if (m && (!best || literal > best.literal)) {
				const labels = {};
				names.forEach((n, i) => (labels[n] = C.decodePath(m[i + 1])));
				best = { svc, name, op, labels, literal };
			}
		}
	}
	return best;
}

function scalar(shape, v) {
	switch (shape && shape.type) {
	case 'integer': case 'long': return parseInt(v, 10);
	case 'float': case 'double': return Number(v);
	case 'boolean': return String(v).toLowerCase() === 'true';
	default: return v;
	}
}

function buildInput(model, found, call) {
	const input = {};
	const shapeName = found.op.input && found.op.input.shape;
	if (!shapeName)
		return input;
	const shape = model.shapes[shapeName];
	const query = new URLSearchParams(call.query);
	const bodyMembers = {};
	for (const [name, m] of Object.entries(shape.members || {})) {
		const wire = m.locationName || name;
		const target = model.shapes[m.shape];
		if (m.location === 'uri') {
			if (wire in found.labels)
				input[name] = found.labels[wire];
		} else if (m.location === 'querystring') {
			if (query.has(wire))
				input[name] = target && target.type === 'list' ? query.getAll(wire) : scalar(target, query.get(wire));
		} else if (m.location === 'header') {
			const v = call.headers[wire.toLowerCase()];
			if (v !== undefined && name !== shape.payload)
				input[name] = scalar(target, v);
		} else if (name !== shape.payload && !m.location) {
			bodyMembers[m.jsonName || wire] = name;
		}
	}
	if (shape.payload) {
		const target = model.shapes[shape.members[shape.payload].shape];
		if (target.type === 'blob')
			input[shape.payload] = new Uint8Array(call.body);
		else if (call.body.length)
			input[shape.payload] = JSON.parse(call.body.toString('utf8'));
	} else if (call.body.length) {
		const doc = JSON.parse(call.body.toString('utf8'));
		for (const [k, v] of Object.entries(doc))
			input[bodyMembers[k] || k] = v;
	}
	return input;
}

// ---- cassette → calls -----------------------------------------------------------------------

function loadCalls(file) {
	const calls = [];
	let prev = null;
	for (const it of C.loadCassette(file)) {
		const key = [it.method, it.path, it.query, C.bodyKey(it.reqBody)].join('\n');
		if (key === prev) {
			calls[calls.length - 1].attempts++;
			continue;
		}
		prev = key;
		const headers = {};
		for (const [n, v] of it.reqHeaders)
			headers[n.toLowerCase()] = v[0];
		calls.push({ method: it.method, path: it.rawPath, decodedPath: it.path, query: it.query,
			body: it.reqBody || Buffer.alloc(0), headers, attempts: 1 });
	}
	return calls;
}

// ---- what the SDK returned ------------------------------------------------------------------

function isObj(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Token counts and stop reason from a Converse or model-native JSON document.
function usageFromDoc(doc, usage, result) {
	if (!isObj(doc))
		return;
	const u = doc.usage;
	if (isObj(u)) {
		for (const [src, dst] of [['inputTokens', 'inputTokens'], ['outputTokens', 'outputTokens'],
			['input_tokens', 'inputTokens'], ['output_tokens', 'outputTokens']])
			if (Number.isInteger(u[src]))
				usage[dst] = u[src]; // later stream chunks carry the running total
	}
	const metrics = doc['amazon-bedrock-invocationMetrics'];
	if (isObj(metrics)) {
		if ('inputTokenCount' in metrics)
			usage.inputTokens = metrics.inputTokenCount;
		if ('outputTokenCount' in metrics)
			usage.outputTokens = metrics.outputTokenCount;
	}
	for (const k of ['inputTextTokenCount', 'prompt_token_count'])
		if (Number.isInteger(doc[k]) && !('inputTokens' in usage))
			usage.inputTokens = doc[k];
	if (Number.isInteger(doc.generation_token_count) && !('outputTokens' in usage))
		usage.outputTokens = doc.generation_token_count;
	if (Array.isArray(doc.results) && isObj(doc.results[0])) {
		const r0 = doc.results[0];
		if (Number.isInteger(r0.tokenCount) && !('outputTokens' in usage))
			usage.outputTokens = r0.tokenCount;
		if (Number.isInteger(r0.totalOutputTextTokenCount) && !('outputTokens' in usage))
			usage.outputTokens = r0.totalOutputTextTokenCount;
		if (r0.completionReason)
			result.stopReason = r0.completionReason;
	}
	for (const k of ['stopReason', 'stop_reason', 'completionReason', 'finish_reason'])
		if (typeof doc[k] === 'string' && doc[k])
			result.stopReason = doc[k];
	for (const k of ['message', 'messageStop', 'metadata'])
		if (isObj(doc[k]))
			usageFromDoc(doc[k], usage, result);
	if (isObj(doc.delta) && typeof doc.delta.stop_reason === 'string')
		result.stopReason = doc.delta.stop_reason;
	if (Array.isArray(doc.generations) && isObj(doc.generations[0]) && doc.generations[0].finish_reason)
		result.stopReason = doc.generations[0].finish_reason;
	if (Array.isArray(doc.outputs) && isObj(doc.outputs[0]) && doc.outputs[0].stop_reason)
		result.stopReason = doc.outputs[0].stop_reason;
}

function tokenHeaders(headers, usage) {
	if (!headers)
		return;
	const h = {};
	for (const [k, v] of Object.entries(headers))
		h[k.toLowerCase()] = v;
	if ('x-amzn-bedrock-input-token-count' in h)
		usage.inputTokens = parseInt(h['x-amzn-bedrock-input-token-count'], 10);
	if ('x-amzn-bedrock-output-token-count' in h)
		usage.outputTokens = parseInt(h['x-amzn-bedrock-output-token-count'], 10);
}

async function consumeStream(stream, usage, result) {
	const types = {};
	result.streamEvents = 0;
	result.eventTypes = types;
	for await (const ev of stream) {
		result.streamEvents++;
		for (const [type, payload] of Object.entries(ev)) {
			if (payload === undefined)
				continue;
			types[type] = (types[type] || 0) + 1;
			if (type === 'chunk' && isObj(payload) && payload.bytes) {
				const j = C.tryJson(Buffer.from(payload.bytes));
				if (j !== undefined)
					usageFromDoc(j, usage, result);
			} else if (type === 'metadata' && isObj(payload) && isObj(payload.usage)) {
				usage.inputTokens = payload.usage.inputTokens;
				usage.outputTokens = payload.usage.outputTokens;
			} else if (type === 'messageStop' && isObj(payload)) {
				result.stopReason = payload.stopReason;
			} else if (type === 'trace') {
				result.traceEvents = (result.traceEvents || 0) + 1;
			}
		}
	}
}

// ---- main -----------------------------------------------------------------------------------

function makeClients(o) {
	const ca = fs.readFileSync(o.ca);
	const env = process.env;
	const credentials = {
		accessKeyId: env.AWS_ACCESS_KEY_ID || 'AKIDEXAMPLE',
		secretAccessKey: env.AWS_SECRET_ACCESS_KEY || 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
		...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
	};
	const clients = {};
	const lastHeaders = { value: null };
	for (const [svc, load] of Object.entries(SERVICES)) {
		const mod = load();
		let requestHandler;
		if (o.http1) {
			const { NodeHttpHandler } = require('@smithy/node-http-handler');
			requestHandler = new NodeHttpHandler({
				httpsAgent: new https.Agent({ ca, keepAlive: true }),
				connectionTimeout: 5000,
				requestTimeout: 30000,
			});
		} else {
			// The options the SDK's runtime config would pass, plus the CA.
			requestHandler = { disableConcurrentStreams: true, requestTimeout: 30000,
				nodeHttp2ConnectOptions: { ca } };
		}
		const client = new mod[CLIENT_CLASS[svc]]({
			endpoint: o.endpoint,
			region: 'us-east-1',
			credentials,
			retryMode: 'standard',
			maxAttempts: o.maxAttempts,
			requestHandler,
		});
		// Raw response headers (token-count headers the modelled output leaves out).
		client.middlewareStack.add(
			(next) => async (args) => {
				const out = await next(args);
				if (out && out.response)
					lastHeaders.value = out.response.headers;
				return out;
			},
			{ step: 'deserialize', name: 'bedtraceCaptureHeaders' }
		);
		clients[svc] = { mod, client };
	}
	return { clients, lastHeaders };
}

async function runCall(ctx, models, call, index, rep, cassette) {
	const result = { client: 'node', cassette, call: index, repeat: rep, method: call.method, path: call.path };
	const found = findOperation(models, call.method, call.decodedPath) || findOperation(models, call.method, call.path);
	if (!found) {
		result.error = { code: 'NoOperation', message: 'no operation for this path' };
		return [result, false];
	}
	const model = models[found.svc];
	result.service = found.svc;
	result.operation = found.name;
	let input;
	try {
		input = buildInput(model, found, call);
	} catch (e) {
		result.error = { code: 'BadRecordedRequest', message: String(e.message || e) };
		return [result, false];
	}
	for (const k of ['modelId', 'agentId', 'agentAliasId', 'knowledgeBaseId', 'sessionId'])
		if (k in input)
			result[k] = input[k];
	let streamMember = null;
	const outShape = found.op.output && model.shapes[found.op.output.shape];
	for (const [name, m] of Object.entries((outShape && outShape.members) || {}))
		if (model.shapes[m.shape] && model.shapes[m.shape].eventstream)
			streamMember = name;

	const usageOut = {};
	const { mod, client } = ctx.clients[found.svc];
	const Command = mod[`${found.name}Command`];
	if (!Command) {
		result.error = { code: 'NoCommand', message: `${found.name}Command not in this SDK version` };
		return [result, false];
	}
	let ran = true;
	ctx.lastHeaders.value = null;
	try {
		const resp = await client.send(new Command(input));
		const meta = resp.$metadata || {};
		result.httpStatus = meta.httpStatusCode;
		result.requestId = meta.requestId;
		result.retryAttempts = Math.max(0, (meta.attempts || 1) - 1);
		tokenHeaders(ctx.lastHeaders.value, usageOut);
		if (streamMember) {
			result.stream = true;
			await consumeStream(resp[streamMember], usageOut, result);
		} else if (resp.body instanceof Uint8Array) {
			result.bodyBytes = resp.body.length;
			const j = C.tryJson(Buffer.from(resp.body));
			if (j !== undefined)
				usageFromDoc(j, usageOut, result);
		} else {
			usageFromDoc(resp, usageOut, result);
		}
		result.error = null;
	} catch (e) {
		const meta = e.$metadata || {};
		if (meta.httpStatusCode)
			result.httpStatus = meta.httpStatusCode;
		if (meta.requestId)
			result.requestId = meta.requestId;
		if (meta.attempts)
			result.retryAttempts = Math.max(0, meta.attempts - 1);
		result.error = { code: e.name || 'Error', message: String(e.message || e) };
		// No answer at all (refused, TLS failure) is a local failure, not a service result.
		if (result.httpStatus === undefined)
			ran = false;
	}
	result.usage = Object.keys(usageOut).length ? usageOut : null;
	return [result, ran];
}

function sortedJson(obj) {
	const sortKeys = (v) => {
		if (Array.isArray(v))
			return v.map(sortKeys);
		if (isObj(v))
			return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
		return v;
	};
	return JSON.stringify(sortKeys(obj));
}

async function main() {
	const o = parseArgs(process.argv.slice(2));
	const dir = modelsDir();
	const models = {};
	for (const svc of Object.keys(SERVICES)) {
		try {
			models[svc] = loadModel(dir, svc);
		} catch (e) {
			process.stderr.write(`client.js: cannot read the ${svc} model under ${dir} (${e.message}); set AWS_DATA_PATH\n`);
			return 1;
		}
	}
	const ctx = makeClients(o);
	const cassette = path.basename(o.cassette).replace(/\.ya?ml$/, '');
	const calls = loadCalls(o.cassette);
	let ok = true;
	for (let rep = 0; rep < o.repeat; rep++) {
		for (let i = 0; i < calls.length; i++) {
			const [result, ran] = await runCall(ctx, models, calls[i], i, rep, cassette);
			ok = ok && ran;
			process.stdout.write(sortedJson(result) + '\n');
		}
	}
	for (const { client } of Object.values(ctx.clients))
		client.destroy();
	return ok ? 0 : 1;
}

main().then(
	(rc) => {
		process.exitCode = rc;
	},
	(e) => {
		process.stderr.write(`client.js: ${e.stack || e}\n`);
		process.exitCode = 1;
	}
);
