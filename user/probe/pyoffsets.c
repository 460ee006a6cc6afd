// SPDX-License-Identifier: MIT
/*
 * CPython structure offsets, one row per minor version. Obtained with scripts/gen-pyoffsets.sh
 * (offsetof/sizeof compiled against each version's internal headers with Py_BUILD_CORE) from
 * the headers of 3.9.18, 3.10.13, 3.11.2 (Debian 12) and 3.11.7 (identical), 3.12.1 and 3.13.0,
 * release builds for x86-64 (neither Py_DEBUG nor Py_GIL_DISABLED: both change these layouts, and
 * the reader refuses them). Internal layouts are kept within a minor release; the reader still
 * checks them against the running interpreter (tstate->interp, object types) before use.
 */
#include <errno.h>
#include <string.h>

#include "probe/pyoffsets.h"

static const struct pyoffsets table[] = {
    {
	/* 3.9.18 */
	.minor = 9,
	.runtime_interp_head = 32,
	.interp_next = 0,
	.interp_tstate_head = 8,
	.tstate_next = 8,
	.tstate_interp = 16,
	.tstate_thread_id = 176,
	.tstate_frame = 24,
	.tstate_size = 264,
	.frame_previous = 24,
	.frame_code = 32,
	.frame_instr = 104,
	.frame_size = 112,
	.code_flags = 36,
	.code_firstlineno = 40,
	.code_filename = 104,
	.code_name = 112,
	.code_size = 176,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_size = 48,
	.unicode_compact_size = 72,
	.unicode_utf8_length = 48,
	.unicode_utf8 = 56,
    },
    {
	/* 3.10.13 */
	.minor = 10,
	.runtime_interp_head = 32,
	.interp_next = 0,
	.interp_tstate_head = 8,
	.tstate_next = 8,
	.tstate_interp = 16,
	.tstate_thread_id = 176,
	.tstate_frame = 24,
	.tstate_size = 280,
	.frame_previous = 24,
	.frame_code = 32,
	.frame_instr = 96,
	.frame_size = 104,
	.code_flags = 36,
	.code_firstlineno = 40,
	.code_filename = 104,
	.code_name = 112,
	.code_size = 176,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_size = 48,
	.unicode_compact_size = 72,
	.unicode_utf8_length = 48,
	.unicode_utf8 = 56,
    },
    {
	/* 3.11.2 and 3.11.7 */
	.minor = 11,
	.runtime_interp_head = 40,
	.interp_next = 0,
	.interp_tstate_head = 16,
	.tstate_next = 8,
	.tstate_interp = 16,
	.tstate_thread_id = 152,
	.tstate_native_tid = 160,
	.tstate_datastack_chunk = 296,
	.tstate_datastack_top = 304,
	.tstate_frame = 56,
	.cframe_current_frame = 8,
	.tstate_size = 360,
	.frame_previous = 48,
	.frame_code = 32,
	.frame_instr = 56,
	.frame_owner = 69,
	.frame_is_entry = 68,
	.frame_size = 72,
	.chunk_data = 24,
	.code_flags = 48,
	.code_firstlineno = 72,
	.code_filename = 112,
	.code_name = 120,
	.code_qualname = 128,
	.code_nlocalsplus = 76,
	.code_stacksize = 68,
	.code_size = 192,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_size = 48,
	.unicode_compact_size = 72,
	.unicode_utf8_length = 48,
	.unicode_utf8 = 56,
    },
    {
	/* 3.12.1 */
	.minor = 12,
	.runtime_interp_head = 40,
	.interp_next = 0,
	.interp_tstate_head = 72,
	.interp_trampoline = 381736,
	.tstate_next = 8,
	.tstate_interp = 16,
	.tstate_thread_id = 136,
	.tstate_native_tid = 144,
	.tstate_datastack_chunk = 232,
	.tstate_datastack_top = 240,
	.tstate_frame = 56,
	.cframe_current_frame = 0,
	.tstate_size = 288,
	.frame_previous = 8,
	.frame_code = 0,
	.frame_instr = 56,
	.frame_owner = 70,
	.frame_size = 72,
	.chunk_data = 24,
	.code_flags = 48,
	.code_firstlineno = 68,
	.code_filename = 112,
	.code_name = 120,
	.code_qualname = 128,
	.code_nlocalsplus = 72,
	.code_stacksize = 64,
	.code_size = 200,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_size = 40,
	.unicode_compact_size = 56,
	.unicode_utf8_length = 40,
	.unicode_utf8 = 48,
    },
    {
	/* 3.13.0; the interpreter's _Py_DebugOffsets take precedence */
	.minor = 13,
	.runtime_interp_head = 632,
	.interp_next = 7264,
	.interp_tstate_head = 7344,
	.tstate_next = 8,
	.tstate_interp = 16,
	.tstate_thread_id = 152,
	.tstate_native_tid = 160,
	.tstate_datastack_chunk = 232,
	.tstate_datastack_top = 240,
	.tstate_frame = 72,
	.tstate_size = 304,
	.frame_previous = 8,
	.frame_code = 0,
	.frame_instr = 56,
	.frame_owner = 70,
	.frame_size = 72,
	.chunk_data = 24,
	.code_flags = 48,
	.code_firstlineno = 68,
	.code_filename = 112,
	.code_name = 120,
	.code_qualname = 128,
	.code_nlocalsplus = 72,
	.code_stacksize = 64,
	.code_size = 208,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_size = 40,
	.unicode_compact_size = 56,
	.unicode_utf8_length = 40,
	.unicode_utf8 = 48,
    },
};

const struct pyoffsets *pyoffsets_for(unsigned minor)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].minor == minor)
			return &table[i];
	return NULL;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Byte positions in _Py_DebugOffsets (3.13, every field a uint64_t): the fields used here. */
enum {
	DBG_VERSION = 8,
	DBG_FREE_THREADED = 16,
	DBG_RUNTIME_INTERP_HEAD = 40,
	DBG_INTERP_SIZE = 48,
	DBG_INTERP_NEXT = 64,
	DBG_INTERP_THREADS_HEAD = 72,
	DBG_TSTATE_SIZE = 152,
	DBG_TSTATE_NEXT = 168,
	DBG_TSTATE_INTERP = 176,
	DBG_TSTATE_CURRENT_FRAME = 184,
	DBG_TSTATE_THREAD_ID = 192,
	DBG_TSTATE_NATIVE_TID = 200,
	DBG_TSTATE_DATASTACK_CHUNK = 208,
	DBG_FRAME_SIZE = 224,
	DBG_FRAME_PREVIOUS = 232,
	DBG_FRAME_EXECUTABLE = 240,
	DBG_FRAME_INSTR_PTR = 248,
	DBG_FRAME_LOCALSPLUS = 256,
	DBG_FRAME_OWNER = 264,
	DBG_CODE_SIZE = 272,
	DBG_CODE_FILENAME = 280,
	DBG_CODE_NAME = 288,
	DBG_CODE_QUALNAME = 296,
	DBG_CODE_FIRSTLINENO = 312,
	DBG_UNICODE_STATE = 544,
	DBG_UNICODE_LENGTH = 552,
	DBG_UNICODE_ASCII_SIZE = 560,
};

/* Reads field @pos as an offset that must lie within a structure of @size bytes. */
static int dbg_field(const uint8_t *buf, unsigned pos, uint64_t size, uint32_t *out)
{
	uint64_t v = le64(buf + pos);

	if (v >= size || v > 0xffff)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int pyoffsets_from_debug(const uint8_t *buf, size_t len, struct pyoffsets *o, uint64_t *version)
{
	uint64_t interp, tstate, frame, code;
	uint32_t line = o->code_firstlineno, frame_size = o->frame_size;
	int err = 0;

	if (len < PYOFF_DEBUG_LEN || memcmp(buf, PYOFF_DEBUG_COOKIE, 8))
		return -EPROTO;
	*version = le64(buf + DBG_VERSION);
	if (le64(buf + DBG_FREE_THREADED))
		return -ENOTSUP;
	interp = le64(buf + DBG_INTERP_SIZE);
	tstate = le64(buf + DBG_TSTATE_SIZE);
	frame = le64(buf + DBG_FRAME_SIZE);
	code = le64(buf + DBG_CODE_SIZE);
	if (tstate > 0xffff || frame > 0xffff || code > 0xffff)
		return -EINVAL;
	/* _PyRuntimeState is large (hundreds of KiB): the head only has to be plausible */
	if (le64(buf + DBG_RUNTIME_INTERP_HEAD) > (1u << 22))
		return -EINVAL;
	o->runtime_interp_head = (uint32_t)le64(buf + DBG_RUNTIME_INTERP_HEAD);
	if (interp > (1u << 22) || le64(buf + DBG_INTERP_NEXT) >= interp ||
	    le64(buf + DBG_INTERP_THREADS_HEAD) >= interp)
		return -EINVAL;
	o->interp_next = (uint32_t)le64(buf + DBG_INTERP_NEXT);
	o->interp_tstate_head = (uint32_t)le64(buf + DBG_INTERP_THREADS_HEAD);
	err = err ?: dbg_field(buf, DBG_TSTATE_NEXT, tstate, &o->tstate_next);
	err = err ?: dbg_field(buf, DBG_TSTATE_INTERP, tstate, &o->tstate_interp);
	err = err ?: dbg_field(buf, DBG_TSTATE_CURRENT_FRAME, tstate, &o->tstate_frame);
	err = err ?: dbg_field(buf, DBG_TSTATE_THREAD_ID, tstate, &o->tstate_thread_id);
	err = err ?: dbg_field(buf, DBG_TSTATE_NATIVE_TID, tstate, &o->tstate_native_tid);
	err = err ?: dbg_field(buf, DBG_TSTATE_DATASTACK_CHUNK, tstate, &o->tstate_datastack_chunk);
	err = err ?: dbg_field(buf, DBG_FRAME_PREVIOUS, frame, &o->frame_previous);
	err = err ?: dbg_field(buf, DBG_FRAME_EXECUTABLE, frame, &o->frame_code);
	err = err ?: dbg_field(buf, DBG_FRAME_INSTR_PTR, frame, &o->frame_instr);
	err = err ?: dbg_field(buf, DBG_FRAME_OWNER, frame, &o->frame_owner);
	err = err ?: dbg_field(buf, DBG_FRAME_LOCALSPLUS, frame + 1, &o->frame_size);
	err = err ?: dbg_field(buf, DBG_CODE_FILENAME, code, &o->code_filename);
	err = err ?: dbg_field(buf, DBG_CODE_NAME, code, &o->code_name);
	err = err ?: dbg_field(buf, DBG_CODE_QUALNAME, code, &o->code_qualname);
	err = err ?: dbg_field(buf, DBG_CODE_FIRSTLINENO, code, &o->code_firstlineno);
	err = err ?: dbg_field(buf, DBG_UNICODE_STATE, 0x10000, &o->unicode_state);
	err = err ?: dbg_field(buf, DBG_UNICODE_LENGTH, 0x10000, &o->unicode_length);
	err = err ?: dbg_field(buf, DBG_UNICODE_ASCII_SIZE, 0x10000, &o->unicode_ascii_size);
	if (err)
		return err;
	o->tstate_size = (uint32_t)tstate;
	o->code_size = (uint32_t)code;
	/* no debug offset gives a frame's size: the table's fields hold where the interpreter
	 * agrees with it on the layout around them */
	if (o->code_firstlineno != line || o->frame_size != frame_size)
		o->code_nlocalsplus = o->code_stacksize = 0;
	return 0;
}
