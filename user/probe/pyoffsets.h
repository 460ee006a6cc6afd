/* SPDX-License-Identifier: MIT */
/*
 * The layout of the CPython structures the stack reader follows (pyreader.h), per minor version
 * 3.9-3.13: offsets into _PyRuntimeState, PyInterpreterState, PyThreadState, the frame (3.9/3.10
 * PyFrameObject, 3.11+ _PyInterpreterFrame), PyCodeObject and the compact unicode objects. Facts
 * read from each version's headers (scripts/gen-pyoffsets.sh); 3.13 takes the interpreter's own
 * _Py_DebugOffsets over them where it has the field. Pure data: no I/O.
 */
#ifndef BT_PYOFFSETS_H
#define BT_PYOFFSETS_H

#include <stddef.h>
#include <stdint.h>

/* The first and last minor version of CPython 3 that have a layout here. */
#define PYOFF_MINOR_FIRST 9
#define PYOFF_MINOR_LAST 13

/* _PyInterpreterFrame.owner values (3.11+; FRAME_OWNED_BY_CSTACK from 3.12) */
#define PYOFF_OWNED_BY_GENERATOR 1
#define PYOFF_OWNED_BY_CSTACK 3
/* co_flags bits that make a code object's frames belong to a generator-like object */
#define PYOFF_CO_GENERATOR 0x20
#define PYOFF_CO_COROUTINE 0x80
#define PYOFF_CO_ASYNC_GENERATOR 0x200

/* Offsets in bytes; a field a version lacks is 0 (none of these fields is ever first). */
struct pyoffsets {
	unsigned minor;
	/* _PyRuntimeState */
	uint32_t runtime_interp_head; /* interpreters.head */
	/* PyInterpreterState */
	uint32_t interp_next, interp_tstate_head; /* tstate_head (3.9/3.10), threads.head */
	uint32_t interp_trampoline;		  /* 3.12: the code object entry shim frames run */
	/* PyThreadState */
	uint32_t tstate_next, tstate_interp, tstate_thread_id;
	uint32_t tstate_native_tid;			       /* native_thread_id (3.11+) */
	uint32_t tstate_datastack_chunk, tstate_datastack_top; /* 3.11+ */
	/* frame (3.9/3.10), cframe (3.11/3.12) or current_frame (3.13) */
	uint32_t tstate_frame;
	uint32_t
	    cframe_current_frame; /* _PyCFrame.current_frame (3.11/3.12; 0 there too on 3.12) */
	uint32_t tstate_size;
	/* frame: PyFrameObject f_back/f_code/f_lasti (3.9/3.10), _PyInterpreterFrame previous,
	 * f_code (f_executable on 3.13), prev_instr (instr_ptr on 3.13), owner */
	uint32_t frame_previous, frame_code, frame_instr, frame_owner;
	uint32_t frame_is_entry; /* 3.11: set on the frame an entry from C pushed */
	uint32_t
	    frame_size; /* the bytes of a frame read: sizeof(PyFrameObject), or up to localsplus */
	uint32_t chunk_data; /* _PyStackChunk.data (3.11+) */
	/* PyCodeObject */
	uint32_t code_flags, code_firstlineno, code_filename, code_name;
	uint32_t code_qualname; /* 3.11+ */
	/* 3.11+: a frame's size, localsplus and value stack (co_nlocalsplus + co_stacksize slots
	 * past frame_size, where its callee's frame begins) */
	uint32_t code_nlocalsplus, code_stacksize;
	uint32_t code_size;
	/* PyASCIIObject / PyCompactUnicodeObject */
	uint32_t unicode_length, unicode_state, unicode_ascii_size, unicode_compact_size;
	uint32_t unicode_utf8_length, unicode_utf8;
};

/* The frame layout: a heap PyFrameObject (3.9/3.10) or a _PyInterpreterFrame (3.11+). */
static inline int pyoff_frame_objects(const struct pyoffsets *o)
{
	return o->minor < 11;
}

/* 3.11/3.12: the thread state points to a CFrame, which points to the current frame. */
static inline int pyoff_cframe(const struct pyoffsets *o)
{
	return o->minor == 11 || o->minor == 12;
}

/* Returns the table row of CPython 3.@minor, or NULL if there is none. */
const struct pyoffsets *pyoffsets_for(unsigned minor);

/*
 * The subset of 3.13's _Py_DebugOffsets (at the start of _PyRuntime) the reader uses, at the
 * offsets of its version-1 layout; @buf holds PYOFF_DEBUG_LEN bytes. Overwrites the fields of
 * @o it names. Returns 0, -EPROTO when the cookie is not "xdebugpy", -ENOTSUP when its
 * free_threaded flag is set, -EINVAL when an offset is implausible (past the structure size it
 * gives, or beyond 64 KiB).
 */
#define PYOFF_DEBUG_COOKIE "xdebugpy"
#define PYOFF_DEBUG_LEN 568
int pyoffsets_from_debug(const uint8_t *buf, size_t len, struct pyoffsets *o, uint64_t *version);

#endif
