// SPDX-License-Identifier: MIT
/*
 * The benchmarks' BPF loader: loads the object argv[1] and attaches every program, prints
 * "attached", then holds the programs until stdin reaches end of file or a signal ends the
 * process (the links go with it).
 *   hold_bpf FILE.bpf.o                      each program where its section says (tp_btf/...)
 *   hold_bpf FILE.bpf.o EXE FUNCTION PID     SEC("uprobe") programs at the entry of FUNCTION
 *                                            of EXE in process PID, SEC("uretprobe") ones at
 *                                            its return
 * Used for syscall_floor.bpf.c (fleet_bench.py) and probe_cost.bpf.c (functrace_bench.py).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

static struct bpf_link *attach(struct bpf_program *prog, char **argv, int argc)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o);

	if (argc == 2)
		return bpf_program__attach(prog);
	o.func_name = argv[3];
	o.retprobe = strcmp(bpf_program__section_name(prog), "uretprobe") == 0;
	return bpf_program__attach_uprobe_opts(prog, atoi(argv[4]), argv[2], 0, &o);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	char c;
	int err;

	if (argc != 2 && argc != 5) {
		fprintf(stderr, "usage: hold_bpf FILE.bpf.o [EXE FUNCTION PID]\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "hold_bpf: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "hold_bpf: cannot load %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
	{
		if (!attach(prog, argv, argc)) {
			fprintf(stderr, "hold_bpf: cannot attach %s: %s\n", bpf_program__name(prog),
				strerror(errno));
			return 1;
		}
	}
	printf("attached\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
