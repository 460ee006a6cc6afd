// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the connection tracker (reassembly, detection, parsers) and the event
 * loop's exchange pipeline behind it (span building, stitching, GenAI annotation) fed with
 * synthetic BPF events. The input is a list of records
 *   op, length (16-bit little-endian), [bytes]
 * with conn = (op >> 1) & 3 and dir = op & 1:
 *   op >> 6 == 0: a data chunk of `length` bytes at the direction's position (op bit 3: the
 *                 SERVER_START flag, op bit 4: a traced call open, op bit 5: plain socket);
 *   op >> 6 == 1: the position jumps forward by `length` (a gap);
 *   op >> 6 == 2: the position goes back by `length` (a duplicate or overlap follows);
 *   op >> 6 == 3: control by `length & 3`: close (final totals `length >> 2` beyond what was
 *                 sent), peer learned, process exit, flush.
 * Every span is checked for the fields exporters rely on and freed.
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
	struct conn_opts opts = {.max_body = 4096};
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
			memset(&ev, 0, offsetof(struct bt_data_event, data));
			ev.type = BT_EV_DATA;
			ev.pid = FUZZ_PID;
			ev.ts_ns = ts;
			ev.conn_id = (uint64_t)conn + 3;
			ev.pos = pos[conn][dir];
			ev.call_id = op & 0x10 ? 0x100000001ull + (op & 0x8) : 0;
			ev.root_id = ev.call_id ? 0x100000001ull : 0;
			ev.parent_id = ev.call_id != ev.root_id ? ev.root_id : 0;
			ev.tid = 5;
			ev.len = (uint32_t)n;
			ev.call_len = (uint32_t)n;
			ev.dir = (uint16_t)dir;
			ev.src = op & 0x20 ? BT_SRC_SOCKET : BT_SRC_TLS;
			ev.flags = op & 0x8 ? BT_DATA_F_SERVER_START : 0;
			memcpy(ev.data, data, n);
			conn_tracker_data(t, &ev);
			pos[conn][dir] += n;
			data += n;
			size -= n;
			break;
		case 1:
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
				break;
			default:
				conn_tracker_flush(t, ts);
				memset(pos, 0, sizeof(pos));
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
