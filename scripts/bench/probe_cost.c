// SPDX-License-Identifier: MIT
/*
 * Loads probe_cost.bpf.o (argv[1]) and attaches every program to function argv[3] of executable
 * argv[2] in process argv[4]: SEC("uprobe") programs at its entry, SEC("uretprobe") ones at its
 * return. Prints "attached", then holds the probes until stdin reaches end of file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	char c;
	int err;

	if (argc != 5) {
		fprintf(stderr, "usage: probe_cost FILE.bpf.o EXE FUNCTION PID\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "probe_cost: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "probe_cost: cannot load %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
	{
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = argv[3]);

		o.retprobe = strcmp(bpf_program__section_name(prog), "uretprobe") == 0;
		if (!bpf_program__attach_uprobe_opts(prog, atoi(argv[4]), argv[2], 0, &o)) {
			fprintf(stderr, "probe_cost: cannot attach %s: %s\n",
				bpf_program__name(prog), strerror(errno));
			return 1;
		}
	}
	printf("attached\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0; /* the links go with the process */
}
