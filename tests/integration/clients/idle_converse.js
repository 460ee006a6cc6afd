#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// A Node AWS SDK v3 Bedrock client that is idle when a tracer attaches (tests/integration/
// test_attach.py): it loads @aws-sdk/client-bedrock-runtime (the pinned copy in tests/node),
// builds its client (the SDK's HTTP/2 handler, the test CA trusted), prints "waiting" and
// sends nothing until a line arrives on stdin. Then COUNT Converse calls, INTERVAL_MS apart,
// each on the one HTTP/2 connection the first call opens.
//
//   node idle_converse.js --endpoint https://127.0.0.1:PORT --ca CA --model ID --count N
//        [--interval-ms MS]
//
// One JSON line per call: {"i", "status", "requestId", "stopReason"}. Exit 0 when every call
// answered 200, 1 otherwise (EOF on stdin before the go line: 1 at once).
'use strict';

if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined)
	process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const fs = require('fs');
const path = require('path');

const SDK_DIR = path.resolve(__dirname, '..', '..', 'node');
const { BedrockRuntimeClient, ConverseCommand } =
	require(require.resolve('@aws-sdk/client-bedrock-runtime', { paths: [SDK_DIR] }));

function parseArgs(argv) {
	const o = { intervalMs: 0 };
	for (let i = 0; i < argv.length; i += 2) {
		const v = argv[i + 1];
		switch (argv[i]) {
		case '--endpoint': o.endpoint = v; break;
		case '--ca': o.ca = v; break;
		case '--model': o.model = v; break;
		case '--count': o.count = Number(v); break;
		case '--interval-ms': o.intervalMs = Number(v); break;
		default:
			process.stderr.write(`idle_converse: unknown argument ${argv[i]}\n`);
			process.exit(2);
		}
	}
	if (!o.endpoint || !o.ca || !o.model || !(o.count > 0)) {
		process.stderr.write('usage: idle_converse.js --endpoint URL --ca PEM --model ID --count N [--interval-ms MS]\n');
		process.exit(2);
	}
	return o;
}

function waitForGo() {
	return new Promise((resolve) => {
		process.stdin.once('data', () => {
			process.stdin.destroy();
			resolve();
		});
		process.stdin.once('end', () => process.exit(1));
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
	const o = parseArgs(process.argv.slice(2));
	const env = process.env;
	const client = new BedrockRuntimeClient({
		endpoint: o.endpoint,
		region: 'us-east-1',
		credentials: {
			accessKeyId: env.AWS_ACCESS_KEY_ID || 'AKIDEXAMPLE',
			secretAccessKey: env.AWS_SECRET_ACCESS_KEY || 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
			...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
		},
		maxAttempts: 1,
		// the options the SDK's runtime config passes to its NodeHttp2Handler, plus the CA
		requestHandler: { disableConcurrentStreams: true, requestTimeout: 30000,
			nodeHttp2ConnectOptions: { ca: fs.readFileSync(o.ca) } },
	});
	process.stdout.write('waiting\n');
	await waitForGo();
	let ok = true;
	for (let i = 0; i < o.count; i++) {
		if (i && o.intervalMs)
			await sleep(o.intervalMs);
		const r = await client.send(new ConverseCommand({
			modelId: o.model,
			messages: [{ role: 'user', content: [{ text: 'Say this is a test' }] }],
			inferenceConfig: { maxTokens: 10, temperature: 0.8, topP: 1, stopSequences: ['|'] },
		}));
		const status = r.$metadata.httpStatusCode;
		ok = ok && status === 200;
		process.stdout.write(JSON.stringify({ i, status, requestId: r.$metadata.requestId,
			stopReason: r.stopReason }) + '\n');
	}
	client.destroy();
	return ok ? 0 : 1;
}

main().then((rc) => { process.exitCode = rc; },
	(e) => { process.stderr.write(`idle_converse: ${e.stack || e}\n`); process.exitCode = 1; });
