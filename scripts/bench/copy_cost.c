// SPDX-License-Identifier: MIT
/*
 * copy_cost target N            calls f_buf(16 KiB buffer) forever, one "ns/call" line per N
 * copy_cost load OBJ EXE PID MODE RING_BYTES TOUCH
 *                               loads copy_cost.bpf.o (mode, ring size), attaches copy_chunk to
 *                               f_buf of EXE in PID, prints "attached", then reads the ring
 *                               until stdin ends, touching TOUCH bytes of each record (0: the
 *                               first and last byte; 1: every byte, as bedtrace's reader does).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define CHUNK 16384

__attribute__((noinline)) int f_buf(char *p)
{
	__asm__ volatile("" ::"r"(p) : "memory");
	return p[0];
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int touch_all;
static unsigned long sink;

static int on_record(void *ctx, void *data, size_t size)
{
	const unsigned char *p = data;

	(void)ctx;
	if (!touch_all) {
		sink += p[0] + p[size - 1];
		return 0;
	}
	for (size_t i = 0; i < size; i += 64)
		sink += p[i];
	return 0;
}

static int target(long n)
{
	char *buf = malloc(CHUNK);
	volatile int s = 0;

	if (!buf)
		return 1;
	memset(buf, 1, CHUNK);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("start\n");
	sleep(2); /* the loader attaches meanwhile */
	for (;;) {
		double t0 = now_ns();

		for (long i = 0; i < n; i++) {
			buf[i & (CHUNK - 1)] = (char)i;
			s += f_buf(buf);
		}
		printf("%.1f\n", (now_ns() - t0) / n);
	}
	return s == 42;
}

static int load(char **argv)
{
	struct bpf_object *obj = bpf_object__open_file(argv[0], NULL);
	struct bpf_program *prog;
	struct bpf_map *ring, *rodata;
	struct ring_buffer *rb;
	struct pollfd in = {.fd = 0, .events = POLLIN};
	unsigned int mode = (unsigned int)atoi(argv[3]);

	if (!obj)
		return 1;
	ring = bpf_object__find_map_by_name(obj, "ring");
	rodata = bpf_object__find_map_by_name(obj, ".rodata");
	if (!ring || !rodata || bpf_map__set_max_entries(ring, (unsigned int)atol(argv[4])) ||
	    bpf_map__set_initial_value(rodata, &mode, sizeof(mode)) || bpf_object__load(obj))
		return 1;
	prog = bpf_object__find_program_by_name(obj, "copy_chunk");
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = "f_buf");
	if (!prog || !bpf_program__attach_uprobe_opts(prog, atoi(argv[2]), argv[1], 0, &o))
		return 1;
	touch_all = atoi(argv[5]);
	rb = ring_buffer__new(bpf_map__fd(ring), on_record, NULL, NULL);
	if (!rb)
		return 1;
	printf("attached\n");
	fflush(stdout);
	while (poll(&in, 1, 0) == 0)
		ring_buffer__consume(rb);
	return sink == 42;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "target") == 0)
		return target(atol(argv[2]));
	if (argc == 8 && strcmp(argv[1], "load") == 0)
		return load(argv + 2);
	fprintf(stderr, "usage: copy_cost target N | copy_cost load OBJ EXE PID MODE RING TOUCH\n");
	return 2;
}
