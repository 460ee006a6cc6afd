#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints the CPython structure offsets user/probe/pyoffsets.c holds, one table row per include
# directory given (e.g. /usr/include/python3.11 /root/.pyenv/versions/3.12.1/include/python3.12):
# it compiles a throwaway program against that version's internal headers (Py_BUILD_CORE) and
# prints offsetof()/sizeof() of the fields the stack reader follows. The build never runs this:
# its output is pasted into pyoffsets.c as facts, with the version it came from.
set -euo pipefail
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/off.c" <<'C'
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030b0000
#include "internal/pycore_frame.h"
#else
#include <frameobject.h>
#endif
#define P(field, val) printf("\t\t." #field " = %zu,\n", (size_t)(val))
int main(void)
{
	printf("\t{\t/* %s */\n", PY_VERSION);
	P(minor, PY_MINOR_VERSION);
	P(runtime_interp_head, offsetof(_PyRuntimeState, interpreters.head));
	P(interp_next, offsetof(PyInterpreterState, next));
#if PY_VERSION_HEX >= 0x030b0000
	P(interp_tstate_head, offsetof(PyInterpreterState, threads.head));
#else
	P(interp_tstate_head, offsetof(PyInterpreterState, tstate_head));
#endif
#if PY_VERSION_HEX >= 0x030c0000 && PY_VERSION_HEX < 0x030d0000
	P(interp_trampoline, offsetof(PyInterpreterState, interpreter_trampoline));
#endif
	P(tstate_next, offsetof(PyThreadState, next));
	P(tstate_interp, offsetof(PyThreadState, interp));
	P(tstate_thread_id, offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030b0000
	P(tstate_native_tid, offsetof(PyThreadState, native_thread_id));
	P(tstate_datastack_chunk, offsetof(PyThreadState, datastack_chunk));
	P(tstate_datastack_top, offsetof(PyThreadState, datastack_top));
#endif
#if PY_VERSION_HEX >= 0x030d0000
	P(tstate_frame, offsetof(PyThreadState, current_frame));
#elif PY_VERSION_HEX >= 0x030b0000
	P(tstate_frame, offsetof(PyThreadState, cframe));
	P(cframe_current_frame, offsetof(_PyCFrame, current_frame));
#else
	P(tstate_frame, offsetof(PyThreadState, frame));
#endif
	P(tstate_size, sizeof(PyThreadState));
#if PY_VERSION_HEX >= 0x030b0000
	P(frame_previous, offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030d0000
	P(frame_code, offsetof(_PyInterpreterFrame, f_executable));
	P(frame_instr, offsetof(_PyInterpreterFrame, instr_ptr));
#else
	P(frame_code, offsetof(_PyInterpreterFrame, f_code));
	P(frame_instr, offsetof(_PyInterpreterFrame, prev_instr));
#endif
	P(frame_owner, offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX < 0x030c0000
	P(frame_is_entry, offsetof(_PyInterpreterFrame, is_entry));
#endif
	P(frame_size, offsetof(_PyInterpreterFrame, localsplus));
	P(chunk_data, offsetof(_PyStackChunk, data));
#else
	P(frame_previous, offsetof(PyFrameObject, f_back));
	P(frame_code, offsetof(PyFrameObject, f_code));
	P(frame_instr, offsetof(PyFrameObject, f_lasti));
	/* the bytes read of a frame object: up to f_lasti, not its whole value stack */
	P(frame_size, offsetof(PyFrameObject, f_lasti) + 8);
#endif
	P(code_flags, offsetof(PyCodeObject, co_flags));
	P(code_firstlineno, offsetof(PyCodeObject, co_firstlineno));
	P(code_filename, offsetof(PyCodeObject, co_filename));
	P(code_name, offsetof(PyCodeObject, co_name));
#if PY_VERSION_HEX >= 0x030b0000
	P(code_qualname, offsetof(PyCodeObject, co_qualname));
	P(code_nlocalsplus, offsetof(PyCodeObject, co_nlocalsplus));
	P(code_stacksize, offsetof(PyCodeObject, co_stacksize));
#endif
	P(code_size, sizeof(PyCodeObject));
	P(unicode_length, offsetof(PyASCIIObject, length));
	P(unicode_state, offsetof(PyASCIIObject, state));
	P(unicode_ascii_size, sizeof(PyASCIIObject));
	P(unicode_compact_size, sizeof(PyCompactUnicodeObject));
	P(unicode_utf8_length, offsetof(PyCompactUnicodeObject, utf8_length));
	P(unicode_utf8, offsetof(PyCompactUnicodeObject, utf8));
	printf("\t},\n");
	return 0;
}
C
for inc in "$@"; do
	"$cc" -w -I"$inc" -I"$inc/internal" "$tmp/off.c" -o "$tmp/off"
	"$tmp/off"
done
