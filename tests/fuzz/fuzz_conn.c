// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the connection tracker (reassembly, detection, parsers) and the event
 * loop's exchange pipeline behind it (span building, stitching, GenAI annotation) fed with
 * synthetic BPF events. The input is a list of records
 *   op, length (16-bit little-endian), [bytes]
 * with conn = (op >> 1) & 3 and dir = op & 1:
 *   op >> 6 == 0: a data chunk of `length` bytes at the direction's position (op bit 3: the
 *                 SERVER_START flag, op bit 4: a traced call open, op bit 5: plain socket);
 *   op >> 6 == 1: op bit 3 clear: the position jumps forward by `length` (a gap);
 *                 op bit 3 set: a BT_DATA_F_OMITTED event for `length` uncopied bytes at the
 *                 position, which moves past them; with op bit 4 too, as BPF ends the last
 *                 omission window asked for the direction: the position jumps to
 *                 `length` bytes before the window's end (or stays, when past it) and the
 *                 event covers the rest of the window, or `length` bytes without a window;
 *   op >> 6 == 2: the position goes back by `length` (a duplicate or overlap follows);
 *   op >> 6 == 3: control by `length & 3`: close (final totals `length >> 2` beyond what was
 *                 sent), peer learned, process exit, flush.
 * The tracker asks for omission windows (opts.omit, just recorded and checked) on exchanges
 * the pipeline reads no body of (pipeline_wants_body). Every span is checked for the fields
 * exporters rely on and freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "genai/genai.h"
#include "pipeline.h"
#include "span/span.h"
#include "span/stitch.h"
#include "stream/conn.h"

#define FUZZ_PID 77
#define FUZZ_CONNS 4

static struct bt_data_event ev;

/* The last omission window asked per connection and direction; to == 0: none. */
struct windows {
	uint64_t from[FUZZ_CONNS][2], to[FUZZ_CONNS][2];
};

static int omit_window(void *ctx, uint32_t pid, uint64_t conn_id, int dir, uint64_t from,
		       uint64_t to)
{
	struct windows *w = ctx;

	if (pid != FUZZ_PID || conn_id < 3 || conn_id >= 3 + FUZZ_CONNS || (dir != 0 && dir != 1) ||
	    to - from < CONN_OMIT_MIN || to < from)
		__builtin_trap();
	w->from[conn_id - 3][dir] = from;
	w->to[conn_id - 3][dir] = to;
	return 0;
}

/* One data event header for @conn/@dir at @pos (payload and flags are the caller's). */
static void ev_head(int conn, int dir, uint64_t pos, uint64_t ts)
{
	memset(&ev, 0, offsetof(struct bt_data_event, data));
	ev.type = BT_EV_DATA;
	ev.pid = FUZZ_PID;
	ev.ts_ns = ts;
	ev.conn_id = (uint64_t)conn + 3;
	ev.pos = pos;
	ev.tid = 5;
	ev.dir = (uint16_t)dir;
	ev.src = BT_SRC_TLS;
}

static void sink(void *ctx, struct bt_span *span)
{
	size_t *n = ctx, i;
	volatile size_t x = 0;

	if (!span->name || span->end_ns < span->start_ns)
		__builtin_trap();
	for (i = 0; i < span->attrs.n; i++) {
		const struct bt_attr *a = &span->attrs.v[i];

		if (!a->key)
			__builtin_trap();
		if (a->type == BT_ATTR_STR)
			x += strlen(a->s);
	}
	(void)x;
	(*n)++;
	bt_span_free(span);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct windows win = {{{0}}};
	struct conn_opts opts = {
	    .max_body = 4096,
	    .wants_body = pipeline_wants_body,
	    .omit = omit_window,
	    .omit_ctx = &win,
	};
	uint64_t pos[FUZZ_CONNS][2] = {{0}}, ts = 1000000;
	struct pipeline pl = {.sink = sink};
	struct genai_opts go = {0};
	struct conn_tracker *t = NULL;
	size_t spans = 0, n;
	int conn, dir;
	uint8_t op;

	pl.ctx = &spans;
	pl.genai = genai_new(&go);
	pl.stitcher = stitcher_new(sink, NULL, &spans);
	if (!pl.stitcher)
		goto cleanup;
	t = conn_tracker_new(&opts, pipeline_exchange, &pl);
	if (!t)
		goto cleanup;
	while (size >= 3) {
		op = data[0];
		n = (size_t)data[1] | (size_t)data[2] << 8;
		data += 3;
		size -= 3;
		conn = (op >> 1) & 3;
		dir = op & 1;
		ts += 1000;
		switch (op >> 6) {
		case 0:
			if (n > size)
				n = size;
			if (n > BT_DATA_CHUNK)
				n = BT_DATA_CHUNK;
			ev_head(conn, dir, pos[conn][dir], ts);
			ev.call_id = op & 0x10 ? 0x100000001ull + (op & 0x8) : 0;
			ev.root_id = ev.call_id ? 0x100000001ull : 0;
			ev.parent_id = ev.call_id != ev.root_id ? ev.root_id : 0;
			ev.len = (uint32_t)n;
			ev.call_len = (uint32_t)n;
			ev.src = op & 0x20 ? BT_SRC_SOCKET : BT_SRC_TLS;
			ev.flags = op & 0x8 ? BT_DATA_F_SERVER_START : 0;
			memcpy(ev.data, data, n);
			conn_tracker_data(t, &ev);
			pos[conn][dir] += n;
			data += n;
			size -= n;
			break;
		case 1:
			if (!(op & 0x8)) {
				pos[conn][dir] += n;
				break;
			}
			if ((op & 0x10) && win.to[conn][dir] > pos[conn][dir]) {
				if (win.to[conn][dir] - pos[conn][dir] > n)
					pos[conn][dir] = win.to[conn][dir] - n;
				n = (size_t)(win.to[conn][dir] - pos[conn][dir]);
			}
			if (!n)
				break;
			ev_head(conn, dir, pos[conn][dir], ts);
			ev.flags = BT_DATA_F_OMITTED;
			ev.omitted = (uint32_t)n;
			ev.call_len = (uint32_t)n;
			conn_tracker_data(t, &ev);
			pos[conn][dir] += n;
			break;
		case 2:
			pos[conn][dir] -= n < pos[conn][dir] ? n : pos[conn][dir];
			break;
		default: {
			struct bt_conn_event ce = {
			    .pid = FUZZ_PID,
			    .ts_ns = ts,
			    .conn_id = (uint64_t)conn + 3,
			    .family = dir ? AF_INET6 : AF_INET,
			    .sport = 1234,
			    .dport = 443,
			    .src = BT_SRC_TLS,
			};

			switch (n & 3) {
			case 0:
				ce.type = BT_EV_CLOSE;
				ce.send_pos = pos[conn][0] + (n >> 2);
				ce.recv_pos = pos[conn][1];
				conn_tracker_conn(t, &ce);
				pos[conn][0] = pos[conn][1] = 0;
				win.to[conn][0] = win.to[conn][1] = 0;
				break;
			case 1:
				ce.type = BT_EV_CONN;
				ce.saddr[0] = 127;
				ce.daddr[0] = 10;
				conn_tracker_conn(t, &ce);
				break;
			case 2:
				conn_tracker_process_exit(t, FUZZ_PID, ts);
				memset(pos, 0, sizeof(pos));
				memset(&win, 0, sizeof(win));
				break;
			default:
				conn_tracker_flush(t, ts);
				memset(pos, 0, sizeof(pos));
				memset(&win, 0, sizeof(win));
				break;
			}
		}
		}
	}
	conn_tracker_flush(t, ts);
cleanup:
	conn_tracker_free(t);
	stitcher_free(pl.stitcher);
	genai_free(pl.genai);
	return 0;
}
