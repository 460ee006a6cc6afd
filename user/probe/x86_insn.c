// SPDX-License-Identifier: MIT
/*
 * x86-64 instruction decoder for uprobe placement (see x86_insn.h). The length rules follow the
 * Intel SDM opcode maps for 64-bit mode; the uprobe rule follows uprobe_init_insn() and
 * branch_setup_xol_ops() in the kernel's arch/x86/kernel/uprobes.c.
 */
#include <errno.h>
#include <string.h>

#include "probe/x86_insn.h"

/*
 * One-byte opcodes the kernel's good_insns_64 table accepts, one 16-bit row per high nibble,
 * bit n = low nibble n. Refused: invalid in 64-bit mode (06 07 0e 16 17 1e 1f 27 2f 37 3f 60 61
 * 62 82 9a ce d4 d5 d6 ea), user-mode faults (6c-6f e4-e7 ec-ef f4 fa fb), traps (cc cd f1), iret.
 */
static const uint16_t good_insns_64[16] = {
    0xbf3f, 0x3f3f, 0x7f7f, 0x7f7f, 0xffff, 0xffff, 0x0ff8, 0xffff,
    0xfffb, 0xfbff, 0xffff, 0xffff, 0x0fff, 0xff8f, 0x0b0f, 0xf3ed,
};

/*
 * One-byte map: operand shape of each opcode in 64-bit mode.
 * M: ModRM; B: imm8; Z: imm32, imm16 with 66 unless REX.W; W: imm16; MB, MZ: ModRM then B, Z;
 * X: invalid; P: prefix or escape, handled before this table is read; S: handled in code.
 */
enum { N = 0, M = 1, B = 2, Z = 4, W = 8, X = 16, P = 32, S = 64, MB = M | B, MZ = M | Z };

static const uint8_t map0[256] = {
    /* 00 */ M,	 M,  M, M,  B, Z, X,  X,  M, M,	 M, M,	B, Z, X, P,
    /* 10 */ M,	 M,  M, M,  B, Z, X,  X,  M, M,	 M, M,	B, Z, X, X,
    /* 20 */ M,	 M,  M, M,  B, Z, P,  X,  M, M,	 M, M,	B, Z, P, X,
    /* 30 */ M,	 M,  M, M,  B, Z, P,  X,  M, M,	 M, M,	B, Z, P, X,
    /* 40 */ P,	 P,  P, P,  P, P, P,  P,  P, P,	 P, P,	P, P, P, P,
    /* 50 */ N,	 N,  N, N,  N, N, N,  N,  N, N,	 N, N,	N, N, N, N,
    /* 60 */ X,	 X,  P, M,  P, P, P,  P,  Z, MZ, B, MB, N, N, N, N,
    /* 70 */ B,	 B,  B, B,  B, B, B,  B,  B, B,	 B, B,	B, B, B, B,
    /* 80 */ MB, MZ, X, MB, M, M, M,  M,  M, M,	 M, M,	M, M, M, S,
    /* 90 */ N,	 N,  N, N,  N, N, N,  N,  N, N,	 X, N,	N, N, N, N,
    /* a0 */ S,	 S,  S, S,  N, N, N,  N,  B, Z,	 N, N,	N, N, N, N,
    /* b0 */ B,	 B,  B, B,  B, B, B,  B,  S, S,	 S, S,	S, S, S, S,
    /* c0 */ MB, MB, W, N,  P, P, MB, MZ, S, N,	 W, N,	N, B, X, N,
    /* d0 */ M,	 M,  M, M,  X, X, X,  N,  M, M,	 M, M,	M, M, M, M,
    /* e0 */ B,	 B,  B, B,  B, B, B,  B,  Z, Z,	 X, B,	N, N, N, N,
    /* f0 */ P,	 N,  P, P,  N, N, S,  S,  N, N,	 N, N,	N, N, M, M,
};

/* Two-byte map (0f xx). 0f 38 and 0f 3a are escapes; 0f 0f is 3DNow! (ModRM, then a suffix). */
static const uint8_t map1[256] = {
    /* 00 */ M,	 M,  M,	 M,  X,	 N,  N,	 N, N, N, X,  N, X,  M, N, MB,
    /* 10 */ M,	 M,  M,	 M,  M,	 M,  M,	 M, M, M, M,  M, M,  M, M, M,
    /* 20 */ M,	 M,  M,	 M,  X,	 X,  X,	 X, M, M, M,  M, M,  M, M, M,
    /* 30 */ N,	 N,  N,	 N,  N,	 N,  X,	 N, P, X, P,  X, X,  X, X, X,
    /* 40 */ M,	 M,  M,	 M,  M,	 M,  M,	 M, M, M, M,  M, M,  M, M, M,
    /* 50 */ M,	 M,  M,	 M,  M,	 M,  M,	 M, M, M, M,  M, M,  M, M, M,
    /* 60 */ M,	 M,  M,	 M,  M,	 M,  M,	 M, M, M, M,  M, M,  M, M, M,
    /* 70 */ MB, MB, MB, MB, M,	 M,  M,	 N, S, M, X,  X, M,  M, M, M,
    /* 80 */ Z,	 Z,  Z,	 Z,  Z,	 Z,  Z,	 Z, Z, Z, Z,  Z, Z,  Z, Z, Z,
    /* 90 */ M,	 M,  M,	 M,  M,	 M,  M,	 M, M, M, M,  M, M,  M, M, M,
    /* a0 */ N,	 N,  N,	 M,  MB, M,  X,	 X, N, N, N,  M, MB, M, M, M,
    /* b0 */ M,	 M,  M,	 M,  M,	 M,  M,	 M, M, M, MB, M, M,  M, M, M,
    /* c0 */ M,	 M,  MB, M,  MB, MB, MB, M, N, N, N,  N, N,  N, N, N,
    /* d0 */ M,	 M,  M,	 M,  M,	 M,  M,	 M, M, M, M,  M, M,  M, M, M,
    /* e0 */ M,	 M,  M,	 M,  M,	 M,  M,	 M, M, M, M,  M, M,  M, M, M,
    /* f0 */ M,	 M,  M,	 M,  M,	 M,  M,	 M, M, M, M,  M, M,  M, M, M,
};

/* VEX and EVEX map 1 (0f) instructions that take an imm8; all other map-1 ones take none. */
static bool vex_map1_imm8(uint8_t op)
{
	return (op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6);
}

struct cursor {
	const uint8_t *p;
	size_t len, pos;
};

static int next(struct cursor *c, uint8_t *b)
{
	if (c->pos >= X86_INSN_MAX_LEN)
		return -EILSEQ;
	if (c->pos >= c->len)
		return -ENODATA;
	*b = c->p[c->pos++];
	return 0;
}

static int take(struct cursor *c, unsigned int n, int64_t *val)
{
	uint64_t v = 0;
	unsigned int i;
	uint8_t b;
	int err;

	for (i = 0; i < n; i++) {
		err = next(c, &b);
		if (err)
			return err;
		v |= (uint64_t)b << (8 * i);
	}
	if (n && n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~0ULL << (8 * n);
	*val = (int64_t)v;
	return 0;
}

static int decode_modrm(struct cursor *c, struct x86_insn *in)
{
	uint8_t mod, rm, base;
	int64_t d;
	int err;

	err = next(c, &in->modrm);
	if (err)
		return err;
	in->has_modrm = true;
	mod = in->modrm >> 6;
	rm = in->modrm & 7;
	/* mov to/from control and debug registers ignore mod: always two registers */
	if (mod == 3 || (in->map == 1 && in->enc == X86_ENC_LEGACY && in->opcode[1] >= 0x20 &&
			 in->opcode[1] <= 0x23))
		return 0;
	if (rm == 4) {
		err = next(c, &in->sib);
		if (err)
			return err;
		in->has_sib = true;
		base = in->sib & 7;
		if (mod == 0 && base == 5)
			in->disp_size = 4;
		/* in VEX/EVEX the B bit lives in the prefix; rex_b mirrors it */
		in->mem_base_is_rsp = base == 4 && !in->rex_b;
	} else if (mod == 0 && rm == 5) {
		in->rip_relative = true;
		in->disp_size = 4;
	}
	if (mod == 1)
		in->disp_size = 1;
	else if (mod == 2)
		in->disp_size = 4;
	if (!in->disp_size)
		return 0;
	err = take(c, in->disp_size, &d);
	in->disp = (int32_t)d;
	return err;
}

/* An imm16/32 operand: 66 makes it 16 bits unless REX.W, which wins, is there too. */
static unsigned int imm_z(const struct x86_insn *in)
{
	return in->opsize && !in->rex_w ? 2 : 4;
}

static int take_imm(struct cursor *c, struct x86_insn *in, unsigned int n)
{
	int64_t v;
	int err;

	err = take(c, n, &v);
	if (err)
		return err;
	if (!in->imm_size)
		in->imm = v;
	in->imm_size += n;
	return 0;
}

/* VEX2/VEX3/EVEX/XOP: the prefix bytes after the escape, then opcode, ModRM and immediate. */
static int decode_vex(struct cursor *c, struct x86_insn *in, uint8_t esc)
{
	uint8_t p0, p1 = 0, p2, op;
	int err;

	/* a VEX/EVEX escape after 66, f2, f3, lock or REX raises #UD */
	if (in->opsize || in->rep || in->repne || in->lock || in->rex)
		return -EILSEQ;
	err = next(c, &p0);
	if (err)
		return err;
	if (esc == 0xc5) {
		in->enc = X86_ENC_VEX2;
		in->map = 1;
		in->rex_r = !(p0 & 0x80);
		in->rex_w = false;
	} else {
		err = next(c, &p1);
		if (err)
			return err;
		in->rex_r = !(p0 & 0x80);
		in->rex_x = !(p0 & 0x40);
		in->rex_b = !(p0 & 0x20);
		in->rex_w = p1 & 0x80;
		if (esc == 0xc4) {
			in->enc = X86_ENC_VEX3;
			in->map = p0 & 0x1f;
			if (in->map < 1 || in->map > 3)
				return -EILSEQ;
		} else if (esc == 0x8f) {
			in->enc = X86_ENC_XOP;
			in->map = p0 & 0x1f;
			if (in->map < 8 || in->map > 10)
				return -EILSEQ;
		} else {
			in->enc = X86_ENC_EVEX;
			in->map = p0 & 0x07;
			/* P0 bit 3 must be 0 and P1 bit 2 must be 1 (maps 4 and 7: APX, not known)
			 */
			if ((p0 & 0x08) || !(p1 & 0x04) || in->map == 0 || in->map == 4 ||
			    in->map == 7)
				return -EILSEQ;
			err = next(c, &p2);
			if (err)
				return err;
		}
	}
	err = next(c, &op);
	if (err)
		return err;
	in->opcode[0] = op;
	in->n_opcode = 1;
	/* vzeroupper/vzeroall are the only VEX instructions without a ModRM byte */
	if (!(in->enc == X86_ENC_VEX2 || in->enc == X86_ENC_VEX3) || in->map != 1 || op != 0x77) {
		err = decode_modrm(c, in);
		if (err)
			return err;
	}
	if (in->map == 3 || in->map == 8 || (in->map == 1 && vex_map1_imm8(op)))
		return take_imm(c, in, 1);
	if (in->map == 10)
		return take_imm(c, in, 4);
	return 0;
}

/* The immediate of a one-byte-map opcode flagged S. */
static int special0(struct cursor *c, struct x86_insn *in, uint8_t op)
{
	uint8_t reg;
	int err;

	switch (op) {
	case 0xa0 ... 0xa3: /* mov moffs: an address-sized offset */
		return take_imm(c, in, in->adsize ? 4 : 8);
	case 0xb8 ... 0xbf:
		return take_imm(c, in, in->rex_w ? 8 : imm_z(in));
	case 0xc8: /* enter iw, ib */
		err = take_imm(c, in, 2);
		return err ? err : take_imm(c, in, 1);
	case 0x8f:
	case 0xf6:
	case 0xf7:
		err = decode_modrm(c, in);
		if (err)
			return err;
		reg = (in->modrm >> 3) & 7;
		if (op == 0x8f)
			return reg == 0 ? 0 : -EILSEQ;
		if (reg > 1)
			return 0;
		return take_imm(c, in, op == 0xf6 ? 1 : imm_z(in));
	}
	return -EILSEQ;
}

static int decode_opcode(struct cursor *c, struct x86_insn *in, uint8_t op)
{
	uint8_t shape, b;
	int err;

	in->opcode[0] = op;
	in->n_opcode = 1;
	if (op == 0xc4 || op == 0xc5 || op == 0x62)
		return decode_vex(c, in, op);
	if (op == 0x8f) {
		/* XOP when the next byte's map select is 8 or more; pop Ev has ModRM.reg 0 */
		if (c->pos < c->len && (c->p[c->pos] & 0x1f) >= 8)
			return decode_vex(c, in, op);
	}
	if (op != 0x0f) {
		in->map = 0;
		shape = map0[op];
		if (shape & (X | P))
			return -EILSEQ;
		if (shape & S)
			return special0(c, in, op);
	} else {
		err = next(c, &b);
		if (err)
			return err;
		in->opcode[1] = b;
		in->n_opcode = 2;
		if (b == 0x38 || b == 0x3a) {
			in->map = b == 0x38 ? 2 : 3;
			err = next(c, &in->opcode[2]);
			if (err)
				return err;
			in->n_opcode = 3;
			err = decode_modrm(c, in);
			if (err)
				return err;
			return b == 0x3a ? take_imm(c, in, 1) : 0;
		}
		in->map = 1;
		shape = map1[b];
		if (shape & (X | P))
			return -EILSEQ;
		/* near branches: Intel ignores 66 in 64-bit mode, AMD reads a rel16 */
		if (b >= 0x80 && b <= 0x8f && in->opsize && !in->rex_w)
			return -EILSEQ;
		if (b == 0x78) {
			/* vmread; with 66 or f2 it is extrq/insertq xmm, imm8, imm8 */
			err = decode_modrm(c, in);
			if (err)
				return err;
			return in->opsize || in->repne ? take_imm(c, in, 2) : 0;
		}
		if (shape & Z)
			return take_imm(c, in, 4);
	}
	if (shape & M) {
		err = decode_modrm(c, in);
		if (err)
			return err;
	}
	if (shape & B)
		return take_imm(c, in, 1);
	if (shape & W)
		return take_imm(c, in, 2);
	if (shape & Z) {
		if ((op == 0xe8 || op == 0xe9) && in->opsize && !in->rex_w)
			return -EILSEQ; /* see the 0f 8x case */
		if (op == 0xe8 || op == 0xe9)
			return take_imm(c, in, 4);
		return take_imm(c, in, imm_z(in));
	}
	return 0;
}

static bool is_rsp(uint8_t num, bool ext, bool byte_op, bool has_rex)
{
	/* without REX, register 4 of a byte operation is %ah */
	return num == 4 && !ext && (!byte_op || has_rex);
}

/*
 * Operands a ModRM instruction may write. Defaults to everything: an instruction this table does
 * not name is assumed to write both its ModRM.reg register and its ModRM.rm operand.
 */
enum { W_REG = 1, W_RM = 2, BYTE_OP = 4, REG_NOT_GPR = 8, RM_NOT_GPR = 16 };

static unsigned int effects_map0(uint8_t op, uint8_t reg)
{
	unsigned int byte_op = (op < 0x40 && !(op & 1)) || op == 0x80 || op == 0x84 || op == 0x86 ||
				       op == 0x88 || op == 0x8a || op == 0xc0 || op == 0xc6 ||
				       op == 0xd0 || op == 0xd2 || op == 0xf6 || op == 0xfe
				   ? BYTE_OP
				   : 0;

	if (op < 0x40) {
		if ((op & 0x38) == 0x38) /* cmp */
			return byte_op;
		return byte_op | ((op & 2) ? W_REG : W_RM);
	}
	switch (op) {
	case 0x63:
	case 0x69:
	case 0x6b:
	case 0x8a:
	case 0x8b:
	case 0x8d:
		return W_REG;
	case 0x84:
	case 0x85:
		return byte_op;
	case 0x86:
	case 0x87:
		return byte_op | W_REG | W_RM;
	case 0x80 ... 0x83:
		return byte_op | (reg == 7 ? 0 : W_RM);
	case 0x88:
	case 0x89:
	case 0x8c:
	case 0xc0:
	case 0xc1:
	case 0xd0 ... 0xd3:
		return byte_op | W_RM;
	case 0x8e:
		return 0;
	case 0x8f:
	case 0xc6:
	case 0xc7:
		return byte_op | W_RM;
	case 0xf6:
	case 0xf7:
		/* test reads, mul/div write rax/rdx only */
		return byte_op | (reg == 2 || reg == 3 ? W_RM : 0);
	case 0xfe:
	case 0xff:
		return byte_op | (reg <= 1 ? W_RM : 0);
	case 0xd8:
	case 0xda:
	case 0xdc:
	case 0xde: /* x87 arithmetic: memory is a source */
		return REG_NOT_GPR | RM_NOT_GPR;
	case 0xd9:
	case 0xdb:
	case 0xdd:
	case 0xdf:
		return W_RM | REG_NOT_GPR | RM_NOT_GPR;
	}
	return W_REG | W_RM;
}

static unsigned int effects_map1(uint8_t op, uint8_t reg)
{
	const unsigned int xmm = REG_NOT_GPR | RM_NOT_GPR;

	switch (op) {
	case 0x10:
	case 0x12:
	case 0x14:
	case 0x15:
	case 0x16:
	case 0x28:
	case 0x2e:
	case 0x2f:
	case 0x51 ... 0x6f:
	case 0x70 ... 0x76:
	case 0x7c:
	case 0x7d:
	case 0xc2:
	case 0xc6:
	case 0xd0 ... 0xd5:
	case 0xd8 ... 0xe6:
	case 0xe8 ... 0xf6:
		return xmm; /* vector destination, memory only read */
	case 0x2a:
	case 0xc4:
		return REG_NOT_GPR; /* vector destination from a general register or memory */
	case 0x11:
	case 0x13:
	case 0x17:
	case 0x29:
	case 0x2b:
	case 0x7f:
	case 0xd6:
	case 0xe7:
		return xmm | W_RM; /* vector stores */
	case 0x2c:
	case 0x2d:
	case 0x50:
	case 0xc5:
	case 0xd7:
		return W_REG | RM_NOT_GPR;
	case 0x02:
	case 0x03:
	case 0x40 ... 0x4f:
	case 0xaf:
	case 0xb6:
	case 0xb7:
	case 0xb8:
	case 0xbc ... 0xbf:
		return W_REG;
	case 0x18 ... 0x1f: /* hint nops, prefetch, endbr; 1a/1b (MPX) may store */
		return op == 0x1a || op == 0x1b ? W_REG | W_RM : 0;
	case 0x0d:
	case 0xa3:
		return 0;
	case 0x90 ... 0x9f:
		return W_RM | BYTE_OP;
	case 0xa4:
	case 0xa5:
	case 0xab:
	case 0xac:
	case 0xad:
	case 0xb3:
	case 0xbb:
	case 0xb0:
	case 0xb1:
		return W_RM | (op == 0xb0 ? BYTE_OP : 0);
	case 0xba:
		return reg >= 5 ? W_RM : 0;
	case 0xc0:
	case 0xc1:
		return W_REG | W_RM | (op == 0xc0 ? BYTE_OP : 0);
	}
	return W_REG | W_RM;
}

/* The vvvv register of VEX, EVEX and XOP (a destination of some BMI instructions). */
static bool vvvv_is_rsp(const uint8_t *code, const struct x86_insn *in)
{
	uint8_t b;

	if (in->enc == X86_ENC_VEX2)
		b = code[in->n_prefix + 1];
	else if (in->enc == X86_ENC_LEGACY)
		return false;
	else
		b = code[in->n_prefix + 2];
	return ((~b >> 3) & 0xf) == 4;
}

static void effects(const uint8_t *code, struct x86_insn *in)
{
	uint8_t op = in->n_opcode == 1 ? in->opcode[0] : in->opcode[in->n_opcode - 1];
	uint8_t reg = (in->modrm >> 3) & 7, rm = in->modrm & 7, mod = in->modrm >> 6;
	bool rex = in->rex != 0;
	unsigned int e = W_REG | W_RM;

	if (in->enc == X86_ENC_LEGACY && in->map == 0) {
		switch (op) {
		case 0x50 ... 0x5f:
		case 0x68:
		case 0x6a:
		case 0x8f:
		case 0x9c:
		case 0x9d:
		case 0xc2:
		case 0xc3:
		case 0xc8:
		case 0xc9:
		case 0xca:
		case 0xcb:
		case 0xcf:
		case 0xe8:
			in->writes_rsp = true;
			break;
		case 0x94: /* xchg %rax,%rsp */
			in->writes_rsp = !in->rex_b;
			break;
		case 0xb4: /* mov $imm8,%spl (%ah without REX) */
			in->writes_rsp = rex && !in->rex_b;
			break;
		case 0xbc:
			in->writes_rsp = !in->rex_b;
			break;
		case 0xff:
			in->writes_rsp = reg == 2 || reg == 3 || reg == 6;
			break;
		case 0xa4 ... 0xa5:
		case 0xaa ... 0xab:
			in->writes_mem = true; /* movs, stos write (%rdi) */
			break;
		}
		if (in->has_modrm)
			e = effects_map0(op, reg);
	} else if (in->enc == X86_ENC_LEGACY && in->map == 1) {
		switch (op) {
		case 0xa0:
		case 0xa1:
		case 0xa8:
		case 0xa9:
			in->writes_rsp = true; /* push/pop %fs/%gs */
			break;
		case 0xcc: /* bswap %esp */
			in->writes_rsp = !in->rex_b;
			break;
		case 0xf7: /* maskmovq writes (%rdi) */
			in->writes_mem = true;
			break;
		}
		if (in->has_modrm)
			e = effects_map1(op, reg);
	} else if (in->enc != X86_ENC_LEGACY && vvvv_is_rsp(code, in)) {
		in->writes_rsp = true;
	}
	if (!in->has_modrm)
		return;
	if ((e & W_REG) && !(e & REG_NOT_GPR) && is_rsp(reg, in->rex_r, e & BYTE_OP, rex))
		in->writes_rsp = true;
	if (mod == 3) {
		if ((e & W_RM) && !(e & RM_NOT_GPR) && is_rsp(rm, in->rex_b, e & BYTE_OP, rex))
			in->writes_rsp = true;
	} else if (e & W_RM) {
		in->writes_mem = true;
	}
}

static void flow(struct x86_insn *in, uint64_t addr)
{
	uint8_t op = in->opcode[0], reg = (in->modrm >> 3) & 7;
	enum x86_flow f = X86_FLOW_NONE;

	if (in->enc != X86_ENC_LEGACY)
		return;
	if (in->map == 0) {
		switch (op) {
		case 0x70 ... 0x7f:
		case 0xe0 ... 0xe3:
			f = X86_FLOW_JCC;
			break;
		case 0xeb:
		case 0xe9:
			f = X86_FLOW_JMP;
			break;
		case 0xe8:
			f = X86_FLOW_CALL;
			break;
		case 0xc2:
		case 0xc3:
			f = X86_FLOW_RET;
			break;
		case 0xc7:
			if (in->modrm == 0xf8) /* xbegin: the abort path is a branch */
				f = X86_FLOW_JCC;
			break;
		case 0xc6:
			if (in->modrm == 0xf8) /* xabort */
				f = X86_FLOW_OTHER;
			break;
		case 0xca:
		case 0xcb:
		case 0xcc:
		case 0xcd:
		case 0xcf:
		case 0xf1:
		case 0xf4:
			f = X86_FLOW_OTHER;
			break;
		case 0xff:
			if (reg == 2 || reg == 3)
				f = X86_FLOW_CALL_IND;
			else if (reg == 4 || reg == 5)
				f = X86_FLOW_JMP_IND;
			break;
		}
	} else if (in->map == 1) {
		switch (in->opcode[1]) {
		case 0x80 ... 0x8f:
			f = X86_FLOW_JCC;
			break;
		case 0x00: /* system groups; 0f 01 also holds vmcall, xend, tdcall... */
		case 0x01:
		case 0x05:
		case 0x06:
		case 0x07:
		case 0x0b:
		case 0x34:
		case 0x35:
		case 0xaa:
		case 0xb9:
		case 0xff:
			f = X86_FLOW_OTHER;
			break;
		}
	}
	in->flow = f;
	if (f == X86_FLOW_JMP || f == X86_FLOW_JCC || f == X86_FLOW_CALL)
		in->target = addr + in->len + (uint64_t)in->imm;
}

/*
 * uprobe_init_insn(): refused when a prefix is es/cs/ss/ds or lock, for mov to %ss, and unless
 * good_insns_64 has the first opcode byte. That byte is 0f for every two- and three-byte opcode,
 * and good_insns_64 accepts 0f, so the kernel's good_2byte_insns table is never consulted: every
 * 0f xx the kernel's decoder knows is accepted (as observed: syscall, ud2, clflush, rdtscp).
 * Stricter than the kernel, by choice: three-byte opcodes and VEX/EVEX/XOP (the kernel tests
 * the opcode byte after their prefix, and its decoder refuses encodings this decoder does not
 * model), and a REX that is not the last prefix (the kernel decodes such bytes differently).
 * branch_setup_xol_ops() also refuses 66-prefixed direct jmp/call/jcc.
 */
static bool uprobe_accepts(const uint8_t *code, const struct x86_insn *in, size_t len)
{
	size_t i;

	for (i = 0; i < in->n_prefix; i++) {
		uint8_t p = code[i];

		if (p == 0x26 || p == 0x2e || p == 0x36 || p == 0x3e || p == 0xf0)
			return false;
	}
	if (in->enc != X86_ENC_LEGACY || in->map >= 2)
		return false;
	/* branch_setup_xol_ops() refuses 66-prefixed direct jmp, call and jcc */
	if (in->opsize &&
	    (in->flow == X86_FLOW_JMP || in->flow == X86_FLOW_CALL ||
	     (in->flow == X86_FLOW_JCC && in->map == 1) ||
	     (in->flow == X86_FLOW_JCC && in->opcode[0] >= 0x70 && in->opcode[0] <= 0x7f)))
		return false;
	if (in->map == 1) {
		/* ud2 followed by "xen" or "kvm" is the kernel decoder's emulate prefix */
		if (in->opcode[1] == 0x0b && len >= in->len + 3U) {
			const uint8_t *t = code + in->len;

			if (!memcmp(t, "xen", 3) || !memcmp(t, "kvm", 3))
				return false;
		}
		return true;
	}
	if (in->opcode[0] == 0x8e && ((in->modrm >> 3) & 7) == 2)
		return false;
	return (good_insns_64[in->opcode[0] >> 4] >> (in->opcode[0] & 0xf)) & 1;
}

int x86_decode(const uint8_t *code, size_t len, uint64_t addr, struct x86_insn *out)
{
	struct cursor c = {.p = code, .len = len};
	struct x86_insn in;
	bool stray_rex = false;
	uint8_t b;
	int err;

	memset(&in, 0, sizeof(in));
	for (;;) {
		err = next(&c, &b);
		if (err)
			return err;
		switch (b) {
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
		case 0x64:
		case 0x65:
			in.seg = b;
			break;
		case 0x66:
			in.opsize = true;
			break;
		case 0x67:
			in.adsize = true;
			break;
		case 0xf0:
			in.lock = true;
			break;
		case 0xf2:
			in.repne = true;
			break;
		case 0xf3:
			in.rep = true;
			break;
		default:
			if ((b & 0xf0) != 0x40)
				goto opcode;
			/* only a REX right before the opcode counts; an earlier one is ignored */
			if (in.rex)
				stray_rex = true;
			in.rex = b;
			in.n_prefix = (uint8_t)c.pos;
			continue;
		}
		if (in.rex) {
			stray_rex = true;
			in.rex = 0;
		}
		in.n_prefix = (uint8_t)c.pos;
	}
opcode:
	if (in.rex) {
		in.n_prefix--; /* the bytes before the REX */
		in.rex_w = in.rex & 8;
		in.rex_r = in.rex & 4;
		in.rex_x = in.rex & 2;
		in.rex_b = in.rex & 1;
	}
	err = decode_opcode(&c, &in, b);
	if (err)
		return err;
	in.len = (uint8_t)c.pos;
	flow(&in, addr);
	effects(code, &in);
	in.uprobe_ok = !stray_rex && uprobe_accepts(code, &in, len);
	*out = in;
	return in.len;
}

/* Why an instruction may not run before the entry probe fires, or NULL when it may. */
static const char *unskippable(const struct x86_insn *in)
{
	if (in->flow != X86_FLOW_NONE)
		return "refused first instruction, then a control transfer before any accepted one";
	if (in->writes_rsp)
		return "refused first instruction, then one that changes rsp";
	if (in->writes_mem && in->mem_base_is_rsp)
		return "refused first instruction, then a store through rsp";
	return NULL;
}

int x86_entry_probe_offset(const uint8_t *code, size_t len, uint64_t addr, size_t max_skip,
			   uint64_t *off_out, const char **why)
{
	const char *reason = NULL;
	struct x86_insn in;
	size_t off = 0, pos;
	int n, err = -ENOTSUP;

	*off_out = 0;
	for (;;) {
		n = x86_decode(code + off, len - off, addr + off, &in);
		if (n < 0) {
			reason = off ? "undecodable instruction after a refused first one"
				     : "undecodable first instruction";
			err = -EILSEQ;
			goto out;
		}
		if (in.uprobe_ok)
			break;
		reason = unskippable(&in);
		if (reason)
			goto out;
		off += (size_t)n;
		if (off >= len || off > max_skip) {
			reason = "refused first instruction, no accepted one within the skip limit";
			goto out;
		}
	}
	if (!off) {
		if (why)
			*why = NULL;
		return 0;
	}
	/* a branch into [addr, addr + off] would fire the moved probe again, or skip it */
	for (pos = 0; pos < len; pos += (size_t)n) {
		n = x86_decode(code + pos, len - pos, addr + pos, &in);
		if (n < 0) {
			reason = "function body does not decode to its end";
			err = -EILSEQ;
			goto out;
		}
		if ((in.flow == X86_FLOW_JMP || in.flow == X86_FLOW_JCC ||
		     in.flow == X86_FLOW_CALL) &&
		    in.target >= addr && in.target <= addr + off) {
			reason = "branch into the skipped prologue";
			goto out;
		}
	}
	*off_out = off;
	if (why)
		*why = NULL;
	return 0;
out:
	if (why)
		*why = reason;
	return err;
}

int x86_find_returns(const uint8_t *code, size_t len, uint64_t addr, uint64_t *offs, bool *ok,
		     size_t max, size_t *n_out)
{
	struct x86_insn in;
	size_t pos = 0;
	int n;

	*n_out = 0;
	while (pos < len) {
		n = x86_decode(code + pos, len - pos, addr + pos, &in);
		if (n < 0)
			return -EILSEQ;
		if (in.flow == X86_FLOW_RET) {
			if (*n_out == max)
				return -E2BIG;
			offs[*n_out] = pos;
			if (ok)
				ok[*n_out] = in.uprobe_ok;
			(*n_out)++;
		}
		pos += (size_t)n;
	}
	return 0;
}
