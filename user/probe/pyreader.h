/* SPDX-License-Identifier: MIT */
/*
 * Wall-clock stack samples of every thread of a running CPython 3.9-3.13 interpreter, read from
 * outside without stopping it: _PyRuntime -> interpreters -> thread states -> frame chain ->
 * code objects, through process_vm_readv only (no ptrace, never blocks on the target). The
 * target runs while it is read, so every pointer is checked (types, cycles, a depth cap) and a
 * chain that changed under the reader is reported torn instead of followed.
 *
 * Owns: the thread list and code object cache of one process, the reads of one sample. The
 * sampling clock, spans and naming rules above this are the caller's.
 *
 * Limits: on 3.9/3.10 qualname is co_name (co_qualname appeared in 3.11), so a method reads
 * "mod.method", not "mod.Cls.method"; instr there is f_lasti (a byte offset on 3.9, an
 * instruction index on 3.10), on 3.11+ the address of the current instruction.
 * Frame addresses are reused: on 3.11+ back-to-back calls from one caller take the same slot of
 * the data stack, on 3.9/3.10 frame objects are recycled (each code object keeps a spare, and a
 * free list), so address + code + caller tell two calls apart only when a sample fell between
 * them. A coroutine or generator is seen only while it runs (its frame hangs from the frame that
 * resumed it); a suspended one is on no thread's stack.
 * Torn: a chain that does not hold together (unreadable, a cycle, deeper than 256, a frame or
 * code object of the wrong type, a freed 3.9/3.10 frame object, a chain ending at a generator's
 * frame) is read again twice within the same sample before it is reported torn; threads running
 * Python code that changes its stack all the time still tear now and then (measured: about 1 %
 * of stacks on 3.11+, up to 6 % on 3.9/3.10, whose frame objects are found one level per read).
 */
#ifndef BT_PYREADER_H
#define BT_PYREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/pyoffsets.h"

struct pymem;

struct py_code { /* one code object, cached by address; valid until pyreader_free */
	uint64_t addr;
	const char *name;     /* "module.qualname", e.g. "app.Retriever.search" */
	const char *qualname; /* co_qualname (3.11+), co_name before */
	const char *module;   /* dotted module from co_filename (see pyreader_module_name) */
	const char *file;     /* co_filename */
	uint32_t first_line;  /* co_firstlineno (the def line) */
};

struct py_frame {
	uint64_t addr; /* frame address in the target (identity of the call, with code+caller) */
	const struct py_code *code;
	uint64_t instr; /* current instruction pointer (3.11+) or f_lasti (3.9/3.10) */
	bool generator; /* owned by a generator/coroutine (3.11+: owner; 3.9/3.10: co_flags) */
	/*
	 * A hash of the frame's local variables and value stack as this sample found them, when
	 * its callee's frame follows it in the same data-stack chunk (3.11+): while the callee
	 * runs they do not change, and from one call of the callee to the next from the same
	 * line they usually do (a loop's counter). 0: not known (the innermost frame, 3.9/3.10).
	 */
	uint64_t locals;
};

struct py_thread_stack {
	uint32_t tid;	 /* native (kernel) thread id; 0 when it could not be learnt */
	uint64_t tstate; /* PyThreadState address */
	size_t n_frames;
	struct py_frame *frames; /* OUTERMOST first (frames[0] = <module> / thread bootstrap) */
	/* The chain looked inconsistent (changed while read, read twice): then n_frames is 0 and
	 * the stack is unknown for this sample, not empty. */
	bool torn;
};

struct py_sample {
	/* CLOCK_MONOTONIC when the sample's last read of the stacks ended (when it succeeded) */
	uint64_t t_ns;
	size_t n_threads;
	struct py_thread_stack *threads; /* owned by the reader, valid until the next sample */
};

struct pyreader_stats {
	uint64_t samples, syscalls, bytes_read, torn, code_objects, errors;
	uint64_t returned;  /* stacks cut back to where calls that returned while read left them */
	uint64_t misplaced; /* chains with a frame where its caller's did not end (read again) */
	uint64_t replaced;  /* chains whose first frame was another call's when read again */
};

struct pyreader;

/*
 * Opens @pid. NULL with errno and a one-line reason in @err: ESRCH gone, ENOEXEC not a CPython
 * (no _PyRuntime in the exe or a mapped libpython*.so), ENOTSUP unknown/unsupported version,
 * debug or free-threaded build, EAGAIN the interpreter is mapped but not initialised yet (the
 * caller retries a little later).
 */
struct pyreader *pyreader_open(pid_t pid, char *err, size_t errlen);
/* One sample of every thread. 0, or -errno: -ESRCH when the process is gone, -ENOEXEC when it
 * exec'd another program, -EFAULT when its _PyRuntime can no longer be read. Never blocks on
 * the target, never stops it. */
int pyreader_sample(struct pyreader *r, struct py_sample *out);
/* "3.11.2" */
const char *pyreader_version(const struct pyreader *r);
void pyreader_get_stats(const struct pyreader *r, struct pyreader_stats *st);
void pyreader_free(struct pyreader *r);

/* What pyreader_open learns about a live interpreter, or a test builds by hand. */
struct pyreader_layout {
	struct pyoffsets off;
	uint64_t runtime;      /* address of _PyRuntime */
	uint64_t code_type;    /* address of PyCode_Type */
	uint64_t unicode_type; /* address of PyUnicode_Type */
	uint64_t frame_type;   /* address of PyFrame_Type (3.9/3.10 frames are objects) */
	char version[32];      /* "3.11.2" */
	/* The process: its main thread's id (3.9/3.10 find each thread's kernel id in glibc's
	 * struct pthread by looking for it there), 0 for none. */
	pid_t pid;
	/* Where the target's files are seen from here ("/proc/PID/root"); NULL: names only. */
	const char *root;
	/* The executable's identity at open (stat of /proc/PID/exe), to notice an exec; 0: none. */
	uint64_t exe_dev, exe_ino;
};

/*
 * A reader over memory @m (taken over: freed by pyreader_free, or here on failure) laid out as
 * @l. Checks the layout against the image (the interpreter list, tstate->interp pointing back).
 * NULL with errno (EAGAIN: no interpreter or thread yet, EPROTO: the layout does not fit) and a
 * reason in @err.
 */
struct pyreader *pyreader_open_mem(struct pymem *m, const struct pyreader_layout *l, char *err,
				   size_t errlen);

/*
 * The dotted module of @filename into @out: its basename without ".py", prefixed by each
 * enclosing directory that holds an __init__.py (looked up under @root when not NULL; none
 * when NULL); "__init__.py" names the package itself; names that are not paths ("<string>",
 * "<frozen ...>") are kept whole. Returns the length written (truncated to @len - 1).
 */
size_t pyreader_module_name(const char *root, const char *filename, char *out, size_t len);

/* The refusal line for CPython @major.@minor.@micro: "CPython 3.14.0 is not supported (3.9–3.13
 * are)". */
void pyreader_unsupported_msg(unsigned major, unsigned minor, unsigned micro, char *err,
			      size_t errlen);

#endif
