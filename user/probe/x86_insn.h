/* SPDX-License-Identifier: MIT */
/*
 * x86-64 machine code, decoded for uprobe placement: the length and shape of one instruction,
 * whether the kernel's x86 uprobes accept it as a probed instruction, where an entry probe can go
 * when a function's first instruction is refused, and where a function's `ret` instructions are
 * (Go, where uretprobes are unsafe, gets return probes on them instead).
 *
 * Pure functions over bytes read from the ELF file (64-bit mode only): no I/O, no BPF. Every
 * instruction flag is conservative: "may write" is set whenever the decoder does not know the
 * instruction leaves that state alone, and "accepted by uprobes" only when the kernel surely
 * accepts it.
 */
#ifndef BT_X86_INSN_H
#define BT_X86_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The architectural limit: longer byte sequences raise #GP. */
#define X86_INSN_MAX_LEN 15

enum x86_enc {
	X86_ENC_LEGACY = 0, /* optional legacy prefixes and REX, then an opcode in map 0-3 */
	X86_ENC_VEX2,	    /* c5 */
	X86_ENC_VEX3,	    /* c4 */
	X86_ENC_EVEX,	    /* 62 */
	X86_ENC_XOP,	    /* 8f with a map select >= 8 (AMD) */
};

enum x86_flow {
	X86_FLOW_NONE = 0, /* falls through to the next instruction */
	X86_FLOW_RET,	   /* near ret: c3, c2 iw */
	X86_FLOW_JMP,	   /* direct jmp rel8/rel32; target set */
	X86_FLOW_JCC,	   /* direct conditional: jcc, loop*, jrcxz, xbegin; target set */
	X86_FLOW_CALL,	   /* direct call rel32; target set */
	X86_FLOW_JMP_IND,  /* ff /4, ff /5 */
	X86_FLOW_CALL_IND, /* ff /2, ff /3 */
	X86_FLOW_OTHER,	   /* syscall, int*, far ret, iret, ud*, hlt, xabort, system instructions */
};

struct x86_insn {
	uint64_t target;   /* absolute destination of a direct jmp/jcc/call, else 0 */
	int64_t imm;	   /* first immediate, sign-extended (mov r64 imm64: all 64 bits) */
	int32_t disp;	   /* displacement, sign-extended */
	uint8_t len;	   /* 1..X86_INSN_MAX_LEN */
	uint8_t n_prefix;  /* bytes before the REX or opcode: legacy prefixes, ignored REX */
	uint8_t seg;	   /* last segment prefix byte (26 2e 36 3e 64 65) or 0 */
	uint8_t rex;	   /* the REX byte (40-4f) or 0 */
	uint8_t enc;	   /* enum x86_enc */
	uint8_t map;	   /* 0: one-byte, 1: 0f, 2: 0f38, 3: 0f3a; VEX/EVEX/XOP: their map field */
	uint8_t opcode[3]; /* legacy: as encoded (0f 38 xx); VEX/EVEX/XOP: opcode[0] only */
	uint8_t n_opcode;  /* 1, 2 or 3 */
	uint8_t modrm, sib;
	uint8_t disp_size;		       /* 0, 1 or 4 */
	uint8_t imm_size;		       /* immediate bytes in all (enter: 3) */
	uint8_t flow;			       /* enum x86_flow */
	bool lock, rep, repne, opsize, adsize; /* f0, f3, f2, 66, 67 seen */
	bool rex_w, rex_r, rex_x, rex_b;
	bool has_modrm, has_sib, rip_relative;
	bool uprobe_ok;	      /* the kernel's x86 uprobes accept this as the probed instruction */
	bool writes_rsp;      /* may change rsp (push, pop, call, ret, leave, rsp as destination) */
	bool writes_mem;      /* may write memory through its operands (implicit pushes excluded) */
	bool mem_base_is_rsp; /* its ModRM memory operand is addressed from rsp */
};

/*
 * Decode the instruction at @code (at most @len bytes, at address @addr) into @out.
 * Returns its length (> 0), -ENODATA when @len ends inside it, -EILSEQ when it is invalid in
 * 64-bit mode or encoded in a way this decoder does not know. Never reads past @len.
 */
int x86_decode(const uint8_t *code, size_t len, uint64_t addr, struct x86_insn *out);

/*
 * Where an entry probe goes in the function whose body is @code/@len at @addr: *@off_out = 0
 * when the first instruction is accepted by uprobes, else the offset (< @max_skip) of the first
 * accepted instruction reached by skipping only instructions that leave rsp, control flow and
 * rsp-based memory alone, provided no direct branch in the whole body lands inside the skipped
 * part. Skipped instructions may have changed argument registers: a probe that reads arguments
 * needs offset 0. Returns 0, or -ENOTSUP (-EILSEQ when the body does not decode) with a static
 * reason in *@why (may be NULL; NULL on success).
 */
int x86_entry_probe_offset(const uint8_t *code, size_t len, uint64_t addr, size_t max_skip,
			   uint64_t *off_out, const char **why);

/*
 * The offsets from @addr of every near ret (c3, c2 iw, with any prefixes) met by a linear sweep of
 * @code/@len, in order, in @offs (room for @max), their count in *@n_out; @ok (may be NULL, room
 * for @max) tells for each whether uprobes accept it. Returns 0, -E2BIG when there are more than
 * @max, -EILSEQ when the body does not decode to its end.
 */
int x86_find_returns(const uint8_t *code, size_t len, uint64_t addr, uint64_t *offs, bool *ok,
		     size_t max, size_t *n_out);

#endif
