// SPDX-License-Identifier: MIT
/*
 * What bedtrace's consumer spends per function span, without BPF: N synthetic call events
 * through the stitcher, batched by 512 as the event loop batches them, encoded and written by a
 * file exporter, then freed. The events are those of the 100,000 calls/s load (one function,
 * every call outermost) or, with --nested, calls three deep (a root and two children per trace,
 * children first as they end first). The resource is one traced process's, 12 attributes.
 * Prints ns per span; the spans go to OUT (default "-": stdout, so that
 * `> /dev/null` measures no file system). Under `valgrind --tool=callgrind` the instruction
 * count per span is a figure that does not depend on the machine's load.
 *
 *   span_bench [--nested] [N [OUT]]     (default 200000 spans)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bedtrace.h"
#include "export/export.h"
#include "probe/functrace.h"
#include "span/semconv.h"
#include "span/stitch.h"
#include "util/stopwatch.h"

#define BATCH 512

struct bench {
	struct bt_exporter *out;
	struct bt_resource *res;
	struct bt_span *batch[BATCH];
	size_t n;
	int failures;
};

static void flush(struct bench *b)
{
	size_t i;

	if (b->n && exporter_write(b->out, b->batch, b->n))
		b->failures++;
	for (i = 0; i < b->n; i++)
		bt_span_free(b->batch[i]);
	b->n = 0;
}

static void sink(void *ctx, struct bt_span *span)
{
	struct bench *b = ctx;

	b->batch[b->n++] = span;
	if (b->n == BATCH)
		flush(b);
}

static struct bt_resource *resource(void *ctx, uint32_t pid)
{
	(void)pid;
	return ((struct bench *)ctx)->res;
}

/* A resource like resource.c builds for a process (same keys, typical values). */
static struct bt_resource *make_resource(void)
{
	struct bt_resource *r = bt_resource_new();
	struct bt_attrs *a;

	if (!r)
		return NULL;
	a = &r->attrs;
	bt_attrs_set_str(a, ATTR_HOST_NAME, "vm");
	bt_attrs_set_str(a, ATTR_HOST_ID, "3d1219c7c4c5404aaa1f6d2a48adfda4");
	bt_attrs_set_int(a, ATTR_PROCESS_PID, 12902);
	bt_attrs_set_int(a, ATTR_PROCESS_PARENT_PID, 12900);
	bt_attrs_set_str(a, ATTR_PROCESS_EXECUTABLE_PATH, "/tmp/bench_target");
	bt_attrs_set_str(a, ATTR_PROCESS_EXECUTABLE_NAME, "bench_target");
	bt_attrs_set_str(a, ATTR_SERVICE_NAME, "bench_target");
	bt_attrs_set_str(a, ATTR_PROCESS_COMMAND_LINE, "/tmp/bench_target rate push 100000 7");
	bt_attrs_set_str(a, ATTR_PROCESS_OWNER, "root");
	bt_attrs_set_str(a, ATTR_TELEMETRY_SDK_NAME, "bedtrace");
	bt_attrs_set_str(a, ATTR_TELEMETRY_SDK_LANGUAGE, "c");
	bt_attrs_set_str(a, ATTR_TELEMETRY_SDK_VERSION, "0.1.0");
	if (r->attrs.err) {
		bt_resource_put(r);
		return NULL;
	}
	return r;
}

int main(int argc, char **argv)
{
	struct probe_info probe = {
	    .name = "f_push", .symbol = "f_push", .object = "/tmp/bench_target"};
	struct bench b = {0};
	struct stitcher *st = NULL;
	struct exporter_stats es;
	const char *out = "-";
	bool nested = false;
	unsigned long n = 200000, i;
	uint64_t t0, t1, mono = 1000000000ull;
	int argi = 1, ret = 1;

	if (argi < argc && !strcmp(argv[argi], "--nested")) {
		nested = true;
		argi++;
	}
	if (argi < argc)
		n = strtoul(argv[argi++], NULL, 10);
	if (argi < argc)
		out = argv[argi++];
	b.out = exporter_open_file(out);
	b.res = make_resource();
	st = b.out && b.res ? stitcher_new(sink, resource, &b) : NULL;
	if (!st) {
		fprintf(stderr, "span_bench: setup failed\n");
		goto cleanup;
	}
	t0 = sw_now_ns();
	for (i = 0; i < n; i++) {
		/* tid 4242, sequence i + 1; nested: call i % 3 == 2 is the root, 1 its child, 0
		 * the child's child, ending in that order (the innermost first) */
		uint64_t id = 4242ull << 32 | (i + 1), root = id;
		struct bt_call_event e = {
		    .type = BT_EV_CALL,
		    .pid = 4242,
		    .tid = 4242,
		    .entry_ns = mono,
		    .exit_ns = mono + 480 + i % 97,
		    .retval = i & 0xffff,
		    .call_id = id,
		    .reason = BT_END_RETURN,
		};

		if (nested && i % 3 != 2) {
			root = 4242ull << 32 | (i - i % 3 + 3);
			e.parent_id = id + 1;
			e.root_id = root;
			e.depth = (uint16_t)(2 - i % 3);
		} else {
			e.root_id = id;
		}
		mono += 1000;
		if (stitcher_call(st, &e, &probe))
			b.failures++;
	}
	flush(&b);
	t1 = sw_now_ns();
	exporter_get_stats(b.out, &es);
	fprintf(stderr,
		"span_bench: %lu spans%s in %.1f ms: %.0f ns/span; %llu written, %d failure(s)\n",
		n, nested ? " (nested 3 deep)" : "", (double)(t1 - t0) / 1e6,
		(double)(t1 - t0) / (double)n, (unsigned long long)es.spans_written, b.failures);
	ret = b.failures || es.spans_written != n;
cleanup:
	stitcher_free(st);
	exporter_close(b.out);
	bt_resource_put(b.res);
	return ret;
}
