/* SPDX-License-Identifier: MIT */
/*
 * The bedtrace report page: draws the embedded JSON report (#bt-report, the contract of
 * `bedtrace report --format json`) and the spans of the traces it shows (#bt-spans, as
 * rp_spans_json writes them). Everything is built with DOM calls and textContent: names from
 * traced programs never become markup. Every number shown keeps its raw JSON value in
 * data-value next to a stable data-key ("operations.0.p50_ms"), so a test can compare them.
 */
'use strict';
(function () {
	const SVG = 'http://www.w3.org/2000/svg';

	function data(id) {
		return JSON.parse(document.getElementById(id).textContent);
	}

	function el(tag, attrs, ...kids) {
		const e = document.createElement(tag);
		setAttrs(e, attrs);
		for (const k of kids)
			if (k !== null && k !== undefined)
				e.append(typeof k === 'object' ? k : String(k));
		return e;
	}

	function svg(tag, attrs, ...kids) {
		const e = document.createElementNS(SVG, tag);
		setAttrs(e, attrs);
		for (const k of kids)
			if (k !== null && k !== undefined)
				e.append(typeof k === 'object' ? k : String(k));
		return e;
	}

	function setAttrs(e, attrs) {
		for (const [k, v] of Object.entries(attrs || {}))
			if (v !== null && v !== undefined && v !== false)
				e.setAttribute(k, v === true ? '' : String(v));
	}

	function known(v) {
		return v !== null && v !== undefined;
	}

	/* ---- number formats (the raw value stays in data-value) ---- */

	function fmtMs(v) {
		const a = Math.abs(v);
		if (a >= 10000)
			return (v / 1000).toFixed(1) + ' s';
		if (a >= 1000)
			return (v / 1000).toFixed(2) + ' s';
		if (a >= 100)
			return v.toFixed(1) + ' ms';
		if (a === 0)
			return '0';
		if (a >= 1)
			return v.toFixed(2) + ' ms';
		return (v * 1000).toFixed(1) + ' \u00b5s';
	}
	function fmtInt(v) {
		return Number(v).toLocaleString('en-US');
	}
	function fmtUsd(v) {
		if (v === 0)
			return '$0';
		return '$' + (Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3));
	}
	function fmtPct(v) {
		return (v * 100).toFixed(1) + ' %';
	}
	function fmtRatio(v) {
		return v.toFixed(2) + '\u00d7';
	}
	function fmtNum(v) {
		return Number.isInteger(v) ? fmtInt(v) : String(Math.round(v * 1000) / 1000);
	}
	function fmtAny(v) {
		if (typeof v === 'number')
			return fmtNum(v);
		if (typeof v === 'boolean')
			return v ? 'yes' : 'no';
		if (Array.isArray(v))
			return '[' + v.map(fmtAny).join(', ') + ']';
		return String(v);
	}
	function shortId(id) {
		return String(id).slice(0, 12);
	}

	/* A cell showing @v through @fmt, its raw value in data-value; "—" when there is none. */
	function cell(key, v, fmt, num) {
		if (!known(v))
			return el('td', { 'data-key': key, class: num ? 'num none' : 'none' }, '\u2014');
		const raw = typeof v === 'object' ? JSON.stringify(v) : String(v);
		const long = typeof v === 'string' && v.length > 48;
		return el('td', { 'data-key': key, 'data-value': raw, class: num ? 'num' : long ? 'long' : null,
				  title: long ? v : null }, (fmt || fmtAny)(v));
	}

	/* ---- sortable tables ---- */

	/*
	 * cols: [{key, label, fmt, num}]. Rows keep their JSON index in data-index and their cells
	 * their data-key whatever the order; a click on a header sorts by that column, again
	 * reverses it.
	 */
	function table(prefix, rows, cols) {
		const head = el('tr');
		const body = el('tbody');
		const t = el('table', { 'data-table': prefix }, el('thead', null, head), body);
		cols.forEach((c, ci) => {
			const th = el('th', { class: c.num ? 'num' : null, 'data-col': c.key, title: 'sort' },
				      c.label);
			th.addEventListener('click', () => sortBy(t, ci, th));
			head.append(th);
		});
		rows.forEach((r, i) => {
			const tr = el('tr', { 'data-index': i });
			for (const c of cols)
				tr.append(c.render ? c.render(r, i) :
					  cell(prefix + '.' + i + '.' + c.key, r[c.key], c.fmt, c.num));
			body.append(tr);
		});
		return el('div', { class: 'scroll' }, t);
	}

	function sortBy(t, ci, th) {
		const asc = th.getAttribute('aria-sort') !== 'ascending';
		for (const h of t.tHead.rows[0].cells)
			h.removeAttribute('aria-sort');
		th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
		const body = t.tBodies[0];
		const value = (tr) => {
			const c = tr.cells[ci];
			return c.hasAttribute('data-value') ? c.getAttribute('data-value') : null;
		};
		const rows = Array.from(body.rows);
		const numeric = rows.every((r) => value(r) === null || !isNaN(Number(value(r))));
		rows.sort((a, b) => {
			const x = value(a), y = value(b);
			if (x === null || y === null) /* no value: last either way */
				return (x === null) - (y === null);
			const d = numeric ? Number(x) - Number(y) : x.localeCompare(y);
			return (asc ? d : -d) || Number(a.dataset.index) - Number(b.dataset.index);
		});
		body.append(...rows);
	}

	/* ---- the page ---- */

	const report = data('bt-report');
	const spans = data('bt-spans');
	const config = data('bt-config');
	const page = document.getElementById('page');
	const ops = report.operations || [];
	const models = report.models || [];
	const slowest = report.slowest_traces || [];
	const findings = report.findings || [];

	window.addEventListener('error', (e) => {
		page.prepend(el('div', { class: 'error-banner' },
				'The page failed to draw: ' + e.message));
	});

	/* the spans by trace, in the order the file has them (by start) */
	const byTrace = new Map();
	for (const s of spans) {
		if (!byTrace.has(s.trace_id))
			byTrace.set(s.trace_id, []);
		byTrace.get(s.trace_id).push(s);
	}

	/* the traces drawn: the slowest first, then those of the findings, once each */
	const shown = new Map();
	function show(id, why) {
		if (!shown.has(id))
			shown.set(id, []);
		shown.get(id).push(why);
	}
	slowest.forEach((t, i) => show(t.trace_id, 'slowest #' + (i + 1)));
	for (const f of findings)
		for (const id of f.trace_ids || [])
			show(id, f.kind);

	function traceLink(id) {
		if (byTrace.has(id))
			return el('a', { href: '#trace-' + id, 'data-trace': id, title: id }, shortId(id));
		return el('span', { class: 'mono none', 'data-trace': id,
				    title: id + ': its spans are not in this page' }, shortId(id));
	}

	page.append(el('h1', null, 'bedtrace report'));
	const nav = el('nav');
	page.append(nav);
	function section(id, title) {
		nav.append(el('a', { href: '#' + id }, title));
		const s = el('section', { id: id }, el('h2', null, title));
		page.append(s);
		return s;
	}

	/* summary */
	{
		const s = section('summary', 'Summary');
		const card = (key, label, v, list) => el('div', { class: 'card' },
			el('div', { class: 'value', 'data-key': key, 'data-value': v }, fmtInt(v)),
			el('div', { class: 'label' }, label),
			list ? el('ul', null, ...list.map((x, i) =>
				el('li', { 'data-key': key.split('.')[0] + '.' + i, 'data-value': x }, x))) : null);
		const hosts = report.hosts || [], services = report.services || [];
		s.append(el('div', { class: 'cards' },
			    card('spans', 'spans', report.spans || 0),
			    card('traces', 'traces', report.traces || 0),
			    card('hosts.length', 'hosts', hosts.length, hosts),
			    card('services.length', 'services', services.length, services)));
	}

	/* operations */
	const opKnown = ['service', 'kind', 'name', 'count', 'errors', 'p50_ms', 'p90_ms', 'p99_ms',
			 'max_ms', 'mean_ms', 'total_ms', 'self_ms', 'share'];
	const opExtra = []; /* the --by keys and keys added later: shown after the name */
	for (const o of ops)
		for (const k of Object.keys(o))
			if (!opKnown.includes(k) && !opExtra.includes(k))
				opExtra.push(k);
	{
		const s = section('operations', 'Operations');
		s.append(el('p', { class: 'note' }, ops.length + ' rows: one per service, span kind and ' +
			    'name' + (opExtra.length ? ' and ' + opExtra.join(', ') : '') +
			    '. Self time is the duration minus traced children; share is the total over ' +
			    'the time of the traces it appears in. Click a header to sort.'));
		const ms = (key, label) => ({ key: key, label: label, fmt: fmtMs, num: true });
		s.append(table('operations', ops, [
			{ key: 'service', label: 'service' }, { key: 'kind', label: 'kind' },
			{ key: 'name', label: 'name' },
			...opExtra.map((k) => ({ key: k, label: k })),
			{ key: 'count', label: 'count', fmt: fmtInt, num: true },
			{ key: 'errors', label: 'errors', fmt: fmtInt, num: true },
			ms('p50_ms', 'p50'), ms('p90_ms', 'p90'), ms('p99_ms', 'p99'), ms('max_ms', 'max'),
			ms('mean_ms', 'mean'), ms('total_ms', 'total'), ms('self_ms', 'self'),
			{ key: 'share', label: 'share', fmt: fmtPct, num: true }]));
	}

	/* models */
	{
		const s = section('models', 'Models');
		if (!models.length) {
			s.append(el('p', { class: 'note' }, 'No model calls in these traces.'));
		} else {
			const n = (key, label, fmt) => ({ key: key, label: label, fmt: fmt || fmtInt, num: true });
			s.append(el('p', { class: 'note' }, 'One row per model and operation; ttfc: time to ' +
				    'first chunk of streamed calls. Click a header to sort.'));
			s.append(table('models', models, [
				{ key: 'model', label: 'model' }, { key: 'operation', label: 'operation' },
				n('calls', 'calls'), n('errors', 'errors'), n('throttles', 'throttles'),
				n('retries', 'retries'), n('input_tokens', 'input tok'),
				n('output_tokens', 'output tok'), n('cache_read_input_tokens', 'cache read'),
				n('cache_creation_input_tokens', 'cache write'), n('cost_usd', 'cost', fmtUsd),
				n('p50_ms', 'p50', fmtMs), n('p99_ms', 'p99', fmtMs),
				n('ttfc_p50_ms', 'ttfc p50', fmtMs), n('ttfc_p99_ms', 'ttfc p99', fmtMs)]));
		}
	}

	/* ---- latency histograms ---- */

	/* The value of grouping key @k on span @s as analyze.c groups by it. */
	function spanValue(s, k) {
		if (k === 'host' || k === 'service')
			return s[k];
		if (k === 'model')
			return (s.attrs || {})[config.model_attr];
		return (s.attrs || {})[k];
	}

	/*
	 * The durations of an operation's spans in the page. The page holds the spans of the
	 * traces it draws: when those are not all of the row's, a histogram of them would not be
	 * the distribution its percentiles describe, and histogram() draws the percentiles instead.
	 */
	const byOp = new Map(); /* service, kind, name -> spans */
	for (const s of spans) {
		const k = JSON.stringify([s.service, s.kind, s.name]);
		if (!byOp.has(k))
			byOp.set(k, []);
		byOp.get(k).push(s);
	}
	function opDurations(o) {
		const keys = opExtra.filter((k) => typeof o[k] === 'string');
		return (byOp.get(JSON.stringify([o.service, o.kind, o.name])) || [])
			.filter((s) => keys.every((k) => spanValue(s, k) === o[k]))
			.map((s) => s.duration_ms);
	}
	function modelDurations(m) {
		return spans.filter((s) => s.attrs && s.attrs[config.model_attr] === m.model &&
				    (!known(m.operation) || s.attrs[config.operation_attr] === m.operation))
			.map((s) => s.duration_ms);
	}

	const HW = 340, HH = 96, HB = 16; /* a histogram's size and its axis band */

	function histogram(key, title, n, d, marks, pcts) {
		const fig = el('figure', { class: 'hist', 'data-key': key });
		const box = svg('svg', { width: HW, height: HH, viewBox: '0 0 ' + HW + ' ' + HH,
					 role: 'img' });
		const cap = el('figcaption', { title: title }, title + ' ');
		fig.append(cap, box);
		if (d && d.length === n && n > 0) {
			fig.setAttribute('data-source', 'spans');
			fig.setAttribute('data-n', n);
			cap.append(el('span', { class: 'src' }, '\u2014 histogram of its ' + fmtInt(n) +
				      ' span' + (n === 1 ? '' : 's')));
			const lo = d.reduce((a, v) => Math.min(a, v)), hi = d.reduce((a, v) => Math.max(a, v));
			const bins = hi > lo ? Math.min(24, Math.max(4, Math.ceil(Math.sqrt(n)))) : 1;
			const w = (hi - lo) / bins;
			const counts = new Array(bins).fill(0);
			for (const v of d)
				counts[w > 0 ? Math.min(bins - 1, Math.floor((v - lo) / w)) : 0]++;
			const top = counts.reduce((a, c) => Math.max(a, c)), bw = HW / bins, h = HH - HB - 4;
			counts.forEach((c, i) => {
				const bh = c ? Math.max(1, (c / top) * h) : 0;
				box.append(svg('rect', { class: 'bin', 'data-count': c, x: i * bw + 0.5,
							 y: HH - HB - bh, width: Math.max(1, bw - 1), height: bh },
					       svg('title', null, fmtMs(lo + i * w) + ' \u2013 ' +
						   fmtMs(lo + (i + 1) * w) + ': ' + c + ' span' +
						   (c === 1 ? '' : 's'))));
			});
			const x = (v) => (hi > lo ? ((v - lo) / (hi - lo)) * HW : HW / 2);
			for (const [label, v] of marks)
				if (known(v) && v >= lo && v <= hi)
					box.append(svg('line', { class: 'marker', x1: x(v), x2: x(v), y1: 2,
								 y2: HH - HB },
						       svg('title', null, label + ' ' + fmtMs(v))));
			box.append(svg('line', { class: 'axis', x1: 0, x2: HW, y1: HH - HB, y2: HH - HB }),
				   svg('text', { class: 'tick', x: 0, y: HH - 3 }, fmtMs(lo)),
				   svg('text', { class: 'tick', x: HW, y: HH - 3, 'text-anchor': 'end' },
				       fmtMs(hi)));
			return fig;
		}
		/* no spans (or some): the percentiles as a box from the lowest to the highest known */
		fig.setAttribute('data-source', 'percentiles');
		fig.setAttribute('data-n', n);
		const have = pcts.filter(([, v]) => known(v));
		cap.append(el('span', { class: 'src' }, '\u2014 ' + have.map(([l]) => l).join('/') +
			      ' (the page holds ' + fmtInt(d ? d.length : 0) + ' of its ' + fmtInt(n) +
			      ' spans: no histogram)'));
		if (!have.length)
			return fig;
		const top = Math.max(...have.map(([, v]) => v)) || 1;
		const x = (v) => 8 + (v / top) * (HW - 16);
		const mid = (HH - HB) / 2 - 6;
		const [, v0] = have[0], [, vLast] = have[have.length - 1];
		const boxEnd = have.length > 2 ? have[have.length - 2][1] : vLast;
		box.append(svg('line', { class: 'axis', x1: 0, x2: HW, y1: HH - HB, y2: HH - HB }),
			   svg('line', { class: 'whisker', x1: x(v0), x2: x(vLast), y1: mid, y2: mid }),
			   svg('rect', { class: 'box', x: x(v0), y: mid - 12,
					 width: Math.max(1, x(boxEnd) - x(v0)), height: 24 }));
		for (const [l, v] of have)
			box.append(svg('line', { class: 'marker', x1: x(v), x2: x(v), y1: mid - 16,
						 y2: mid + 16 }, svg('title', null, l + ' ' + fmtMs(v))));
		/* the values under the axis, where close ones cannot overlap */
		box.append(svg('text', { class: 'tick', x: 0, y: HH - 3 },
			       have.map(([l, v]) => l + ' ' + fmtMs(v)).join(' \u00b7 ')));
		return fig;
	}

	{
		const s = section('latency', 'Latency');
		s.append(el('p', { class: 'note' }, 'A histogram of the durations when the page holds ' +
			    'every span of the row (the spans of the traces it draws), else the row\u2019s ' +
			    'percentiles as a box (p50 to p90, whiskers to p99 and max). Orange lines: ' +
			    'p50 and p99.'));
		s.append(el('h3', null, 'Operations'));
		const g = el('div', { class: 'hists' });
		ops.forEach((o, i) => {
			const extra = opExtra.filter((k) => typeof o[k] === 'string').map((k) => o[k]);
			g.append(histogram('histograms.operations.' + i,
					   [o.service, o.kind, o.name, ...extra].join(' \u00b7 '), o.count,
					   opDurations(o), [['p50', o.p50_ms], ['p99', o.p99_ms]],
					   [['p50', o.p50_ms], ['p90', o.p90_ms], ['p99', o.p99_ms],
					    ['max', o.max_ms]]));
		});
		s.append(g);
		if (models.length) {
			s.append(el('h3', null, 'Models'));
			const gm = el('div', { class: 'hists' });
			models.forEach((m, i) => {
				gm.append(histogram('histograms.models.' + i,
						    m.model + (known(m.operation) ? ' \u00b7 ' + m.operation : ''),
						    m.calls, modelDurations(m),
						    [['p50', m.p50_ms], ['p99', m.p99_ms]],
						    [['p50', m.p50_ms], ['p99', m.p99_ms]]));
			});
			s.append(gm);
		}
	}

	/* cost by model */
	{
		const s = section('cost', 'Cost by model');
		const rows = models.map((m, i) => [m, i]).filter(([m]) => known(m.cost_usd));
		if (!rows.length) {
			s.append(el('p', { class: 'note' }, 'No cost known (no model call with a price).'));
		} else {
			const total = rows.reduce((a, [m]) => a + m.cost_usd, 0);
			s.append(el('p', { class: 'note' }, 'Total ', el('span', {
				'data-key': 'cost.total', 'data-value': total }, fmtUsd(total)),
				' over ' + rows.length + ' model row' + (rows.length === 1 ? '' : 's') + '.'));
			const RH = 24, LW = 300, W = 960, top = Math.max(...rows.map(([m]) => m.cost_usd)) || 1;
			const c = svg('svg', { width: '100%', viewBox: '0 0 ' + W + ' ' + rows.length * RH,
					       role: 'img' });
			rows.forEach(([m, i], r) => {
				const label = m.model + (known(m.operation) ? ' \u00b7 ' + m.operation : '');
				const bw = Math.max(1, (m.cost_usd / top) * (W - LW - 90));
				c.append(svg('g', { 'data-key': 'cost.' + i, 'data-value': m.cost_usd },
					     svg('title', null, label + ': ' + fmtUsd(m.cost_usd) + ' for ' +
						 fmtInt(m.calls) + ' calls'),
					     svg('text', { x: 0, y: r * RH + 16 }, label.slice(0, 48)),
					     svg('rect', { class: 'cost-bar', x: LW, y: r * RH + 4, width: bw,
							   height: RH - 8 }),
					     svg('text', { x: LW + bw + 6, y: r * RH + 16 }, fmtUsd(m.cost_usd))));
			});
			s.append(c);
		}
	}

	/* findings */
	const FINDINGS = {
		max_tokens: 'Completions cut by the token limit',
		guardrail: 'Guardrail interventions',
		throttled: 'Throttled calls (and the retries they cost)',
		input_token_outlier: 'Input-token outliers (\u2265 10\u00d7 the operation\u2019s median)',
		error: 'Error traces',
		slow_first_chunk: 'Time to first chunk above its p99',
		incomplete_capture: 'Incomplete or truncated captures',
	};
	{
		const s = section('findings', 'Findings');
		if (!findings.length)
			s.append(el('p', { class: 'note' }, 'Nothing found.'));
		const ul = el('ul', { class: 'findings' });
		findings.forEach((f, i) => {
			ul.append(el('li', { 'data-key': 'findings.' + i, 'data-kind': f.kind },
				     el('strong', null, FINDINGS[f.kind] || f.kind),
				     el('span', { class: 'count', 'data-key': 'findings.' + i + '.count',
						  'data-value': f.count }, fmtInt(f.count)),
				     el('span', { class: 'traces' }, ...(f.trace_ids || []).map(traceLink))));
		});
		s.append(ul);
	}

	/* regressions */
	if (Array.isArray(report.regressions)) {
		const s = section('regressions', 'Regressions');
		const regs = report.regressions;
		if (!regs.length) {
			s.append(el('p', { class: 'note' }, 'No operation or model to compare with the baseline.'));
		} else {
			s.append(el('p', { class: 'note' }, 'Now against the baseline; significant when the ' +
				    'bootstrap interval of the p50 ratio excludes 1 and the change exceeds 10 %.'));
			const ms = (key, label) => ({ key: key, label: label, fmt: fmtMs, num: true });
			const cols = [{ key: 'service', label: 'service' }, { key: 'kind', label: 'kind' },
				      { key: 'name', label: 'name' }, ms('baseline_p50_ms', 'p50 before'),
				      ms('p50_ms', 'p50 now'), ms('baseline_p99_ms', 'p99 before'),
				      ms('p99_ms', 'p99 now'),
				      { key: 'p50_ratio', label: 'p50 ratio', fmt: fmtRatio, num: true },
				      { key: 'p50_ratio_ci', label: 'interval',
					fmt: (v) => '[' + v.map((x) => x.toFixed(2)).join(', ') + ']' },
				      { key: 'significant', label: 'significant', fmt: (v) => (v ? 'yes' : 'no') }];
			if (regs.some((r) => known(r.cost_per_call)))
				cols.push({ key: 'baseline_cost_per_call', label: 'cost/call before',
					    fmt: fmtUsd, num: true },
					  { key: 'cost_per_call', label: 'cost/call now', fmt: fmtUsd, num: true });
			s.append(table('regressions', regs, cols));
		}
	}

	/* slowest traces */
	{
		const s = section('slowest', 'Slowest traces');
		if (!slowest.length)
			s.append(el('p', { class: 'note' }, 'No traces.'));
		else
			s.append(table('slowest_traces', slowest, [
				{ key: 'trace_id', label: 'trace',
				  render: (t, i) => el('td', { 'data-key': 'slowest_traces.' + i + '.trace_id',
							       'data-value': t.trace_id }, traceLink(t.trace_id)) },
				{ key: 'root', label: 'root' }, { key: 'service', label: 'service' },
				{ key: 'duration_ms', label: 'duration', fmt: fmtMs, num: true },
				{ key: 'critical_path', label: 'critical path',
				  render: (t, i) => {
					  const td = cell('slowest_traces.' + i + '.critical_path',
							  t.critical_path, (v) => v.join(' \u2192 '));
					  td.classList.add('path');
					  return td;
				  } }]));
	}

	/* ---- waterfalls ---- */

	const RH = 18, LABEL = 320, WW = 1200, MAX_ROWS = 5000;

	/* A round step giving about @n ticks over @span. */
	function step(span, n) {
		const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
		return [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw) || raw;
	}

	/* The spans of one trace in tree order (each after its parent, siblings by start) with depth. */
	function treeOrder(list) {
		const ids = new Set(list.map((s) => s.span_id));
		const kids = new Map();
		const roots = [];
		for (const s of list) {
			if (s.parent_id && ids.has(s.parent_id) && s.parent_id !== s.span_id) {
				if (!kids.has(s.parent_id))
					kids.set(s.parent_id, []);
				kids.get(s.parent_id).push(s);
			} else {
				roots.push(s);
			}
		}
		const out = [], seen = new Set();
		const byStart = (a, b) => a.start_ms - b.start_ms;
		const stack = roots.sort(byStart).reverse().map((s) => [s, 0]);
		while (stack.length) {
			const [s, depth] = stack.pop();
			if (seen.has(s))
				continue;
			seen.add(s);
			out.push([s, depth]);
			const k = (kids.get(s.span_id) || []).slice().sort(byStart).reverse();
			for (const c of k)
				stack.push([c, depth + 1]);
		}
		for (const s of list) /* a cycle of parents: drawn at the top level */
			if (!seen.has(s))
				out.push([s, 0]);
		return out;
	}

	function spanTitle(s) {
		const lines = [s.name, 'service: ' + s.service, 'host: ' + s.host, 'kind: ' + s.kind,
			       'start: +' + fmtMs(s.start_ms), 'duration: ' + fmtMs(s.duration_ms),
			       'span: ' + s.span_id];
		if (s.error)
			lines.push('status: ERROR');
		for (const [k, v] of Object.entries(s.attrs || {}))
			lines.push(k + ' = ' + (String(v).length > 300 ? String(v).slice(0, 300) + '\u2026' : v));
		return lines.join('\n');
	}

	function waterfall(id, why, crit) {
		const list = byTrace.get(id);
		const rows = treeOrder(list).slice(0, MAX_ROWS);
		const end = list.reduce((a, s) => Math.max(a, s.start_ms + s.duration_ms), 0) || 1;
		const x = (t) => LABEL + (t / end) * (WW - LABEL - 70);
		const AX = 20;
		const root = rows.length ? rows[0][0] : null;
		const div = el('div', { class: 'waterfall', id: 'trace-' + id, 'data-trace': id,
					'data-spans': list.length });
		div.append(el('h3', null, id),
			   el('div', { class: 'why' }, (root ? root.name + ' \u00b7 ' : '') + fmtMs(end) +
			      ' \u00b7 ' + list.length + ' span' + (list.length === 1 ? '' : 's') +
			      ' \u00b7 shown for: ' + why.join(', ') + '. Hover a bar for its attributes' +
			      (crit.size ? '; outlined: the critical path.' : '.')));
		if (list.length > rows.length)
			div.append(el('p', { class: 'note' }, 'The first ' + rows.length + ' of ' +
				      list.length + ' spans.'));
		const H = AX + rows.length * RH + 4;
		const c = svg('svg', { width: '100%', viewBox: '0 0 ' + WW + ' ' + H, role: 'img' });
		const st = step(end, 8);
		for (let t = 0; t <= end * 1.0001; t += st)
			c.append(svg('line', { class: 'axis', x1: x(t), x2: x(t), y1: AX - 4, y2: H }),
				 svg('text', { class: 'tick', x: x(t), y: AX - 7, 'text-anchor': 'middle' },
				     fmtMs(t)));
		rows.forEach(([s, depth], r) => {
			const y = AX + r * RH;
			const bw = Math.max(1, x(s.start_ms + s.duration_ms) - x(s.start_ms));
			const label = s.name.length > 40 ? s.name.slice(0, 39) + '\u2026' : s.name;
			c.append(svg('g', { class: 'span' + (crit.has(s) ? ' crit' : ''),
					   'data-span-id': s.span_id },
				     svg('title', null, spanTitle(s)),
				     svg('text', { x: 4 + Math.min(depth, 12) * 12, y: y + 13 }, label),
				     svg('rect', { class: 'span-bar' + (s.error ? ' error' : ''),
						   'data-trace': id, 'data-span-id': s.span_id, x: x(s.start_ms),
						   y: y + 3, width: bw, height: RH - 6 }),
				     svg('text', { class: 'tick', x: x(s.start_ms) + bw + 4, y: y + 13 },
					 fmtMs(s.duration_ms))));
		});
		div.append(c);
		return div;
	}

	/* The spans of @id's critical path: from the root, the child whose name is next on the path
	 * and that ends last. */
	function critical(id) {
		const t = slowest.find((x) => x.trace_id === id);
		const set = new Set();
		if (!t || !t.critical_path || !byTrace.has(id))
			return set;
		const list = byTrace.get(id);
		let cur = list.find((s) => !s.parent_id && s.name === t.critical_path[0]);
		for (let i = 1; cur; i++) {
			set.add(cur);
			if (i >= t.critical_path.length)
				break;
			const next = list.filter((s) => s.parent_id === cur.span_id &&
						 s.name === t.critical_path[i]);
			cur = next.sort((a, b) => (b.start_ms + b.duration_ms) -
					(a.start_ms + a.duration_ms))[0];
		}
		return set;
	}

	{
		const s = section('traces', 'Traces');
		const drawn = [...shown.keys()].filter((id) => byTrace.has(id));
		s.append(el('p', { class: 'note' }, 'The slowest traces and those of the findings: spans ' +
			    'as bars on the trace\u2019s time axis, nested under their parent. ' +
			    drawn.length + ' of ' + shown.size + ' traces have their spans in this page.'));
		for (const id of drawn)
			s.append(waterfall(id, shown.get(id), critical(id)));
	}

	document.body.setAttribute('data-rendered', 'ok');
})();
