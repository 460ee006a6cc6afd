// SPDX-License-Identifier: MIT
/*
 * Tests for user/x86_insn.c: instruction lengths (the byte strings and lengths are GNU as and
 * objdump output), the kernel's uprobe acceptance rule (verdicts observed from perf_event_open
 * uprobes on Linux 6.18, except where the decoder is stricter by design), entry probe placement
 * past a refused first instruction, and return sites. The last test sweeps the installed libc,
 * if any.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/elf_sym.h"
#include "probe/x86_insn.h"

struct insn_case {
	uint8_t b[X86_INSN_MAX_LEN];
	uint8_t len;
	const char *text;
};

/* GNU as 2.40 assembled these; objdump -d printed the bytes and text. */
static const struct insn_case cases[] = {
    {{0xf3, 0x0f, 0x1e, 0xfa}, 4, "endbr64"},
    {{0x55}, 1, "push %rbp"},
    {{0x41, 0x57}, 2, "push %r15"},
    {{0x48, 0x89, 0xe5}, 3, "mov %rsp,%rbp"},
    {{0x48, 0x83, 0xec, 0x18}, 4, "sub $0x18,%rsp"},
    {{0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00}, 7, "sub $0x1000,%rsp"},
    {{0xf0, 0x83, 0x47, 0x20, 0x01}, 5, "lock addl $0x1,0x20(%rdi)"},
    {{0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00}, 9, "mov %fs:0x28,%rax"},
    {{0x48, 0x8d, 0x3d, 0x78, 0x56, 0x34, 0x12}, 7, "lea 0x12345678(%rip),%rdi"},
    {{0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     10,
     "movabs $0x1122334455667788,%rax"},
    {{0xb8, 0x44, 0x33, 0x22, 0x11}, 5, "mov $0x11223344,%eax"},
    {{0x66, 0xb8, 0x22, 0x11}, 4, "mov $0x1122,%ax"},
    {{0x66, 0x81, 0x00, 0x34, 0x12}, 5, "addw $0x1234,(%rax)"},
    {{0x66, 0x05, 0x34, 0x12}, 4, "add $0x1234,%ax"},
    {{0xf6, 0x07, 0x01}, 3, "testb $0x1,(%rdi)"},
    {{0xf7, 0x44, 0x9c, 0x08, 0x00, 0x00, 0x01, 0x00}, 8, "testl $0x10000,0x8(%rsp,%rbx,4)"},
    {{0x66, 0xf7, 0xc2, 0x00, 0x01}, 5, "test $0x100,%dx"},
    {{0xf7, 0xd8}, 2, "neg %eax"},
    {{0x48, 0xf7, 0x55, 0x10}, 4, "notq 0x10(%rbp)"},
    {{0x69, 0xd1, 0x34, 0x12, 0x00, 0x00}, 6, "imul $0x1234,%ecx,%edx"},
    {{0x6b, 0xd1, 0x12}, 3, "imul $0x12,%ecx,%edx"},
    {{0xc8, 0x10, 0x00, 0x00}, 4, "enter $0x10,$0x0"},
    {{0xc9}, 1, "leave"},
    {{0xc3}, 1, "ret"},
    {{0xc2, 0x08, 0x00}, 3, "ret $0x8"},
    {{0xf3, 0xc3}, 2, "repz ret"},
    {{0xf2, 0xc3}, 2, "bnd ret"},
    {{0xcc}, 1, "int3"},
    {{0xcd, 0x80}, 2, "int $0x80"},
    {{0x0f, 0x05}, 2, "syscall"},
    {{0x0f, 0x0b}, 2, "ud2"},
    {{0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}, 9, "movabs 0x1122334455667788,%al"},
    {{0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}, 9, "movabs %eax,0x1122334455667788"},
    {{0x67, 0xa1, 0x44, 0x33, 0x22, 0x11}, 6, "addr32 mov 0x11223344,%eax"},
    {{0xeb, 0xfe}, 2, "jmp 0x91"},
    {{0xe9, 0xfb, 0x0f, 0x00, 0x00}, 5, "jmp 0x1093"},
    {{0x74, 0xfe}, 2, "je 0x98"},
    {{0x0f, 0x85, 0xfa, 0x0f, 0x00, 0x00}, 6, "jne 0x109a"},
    {{0xe8, 0xfb, 0x0f, 0x00, 0x00}, 5, "call 0x10a0"},
    {{0xff, 0xd0}, 2, "call *%rax"},
    {{0xff, 0x50, 0x08}, 3, "call *0x8(%rax)"},
    {{0xff, 0xe0}, 2, "jmp *%rax"},
    {{0x3e, 0xff, 0xe0}, 3, "notrack jmp *%rax"},
    {{0xe2, 0xfe}, 2, "loop 0xaf"},
    {{0xe3, 0xfe}, 2, "jrcxz 0xb1"},
    {{0x2e, 0x66, 0x0f, 0x1f, 0x04, 0x00}, 6, "cs nopw (%rax,%rax,1)"},
    {{0x0f, 0x1f, 0x00}, 3, "nopl (%rax)"},
    {{0x66, 0x90}, 2, "xchg %ax,%ax"},
    {{0xf3, 0x90}, 2, "pause"},
    {{0x0f, 0xa2}, 2, "cpuid"},
    {{0x0f, 0x31}, 2, "rdtsc"},
    {{0x0f, 0xc8}, 2, "bswap %eax"},
    {{0x48, 0x0f, 0x45, 0xfe}, 4, "cmovne %rsi,%rdi"},
    {{0x0f, 0xb6, 0x04, 0x37}, 4, "movzbl (%rdi,%rsi,1),%eax"},
    {{0x0f, 0xa4, 0xc2, 0x03}, 4, "shld $0x3,%eax,%edx"},
    {{0x0f, 0xba, 0xe0, 0x05}, 4, "bt $0x5,%eax"},
    {{0x66, 0x0f, 0x70, 0xc1, 0x1b}, 5, "pshufd $0x1b,%xmm1,%xmm0"},
    {{0xf3, 0x0f, 0x6f, 0x06}, 4, "movdqu (%rsi),%xmm0"},
    {{0x0f, 0x29, 0x44, 0x24, 0x10}, 5, "movaps %xmm0,0x10(%rsp)"},
    {{0x66, 0x0f, 0xef, 0xc9}, 4, "pxor %xmm1,%xmm1"},
    {{0x66, 0x0f, 0x38, 0x00, 0xc1}, 5, "pshufb %xmm1,%xmm0"},
    {{0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x04}, 6, "palignr $0x4,%xmm1,%xmm0"},
    {{0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc8}, 6, "crc32 %rax,%rcx"},
    {{0xc5, 0xfe, 0x6f, 0x06}, 4, "vmovdqu (%rsi),%ymm0"},
    {{0xc5, 0xed, 0xef, 0xd9}, 4, "vpxor %ymm1,%ymm2,%ymm3"},
    {{0xc4, 0xe2, 0x6d, 0x00, 0xd9}, 5, "vpshufb %ymm1,%ymm2,%ymm3"},
    {{0xc4, 0xe3, 0x6d, 0x0f, 0xd9, 0x04}, 6, "vpalignr $0x4,%ymm1,%ymm2,%ymm3"},
    {{0xc5, 0xfd, 0x74, 0x0f}, 4, "vpcmpeqb (%rdi),%ymm0,%ymm1"},
    {{0xc5, 0xf8, 0x77}, 3, "vzeroupper"},
    {{0x62, 0xe1, 0xfe, 0x48, 0x6f, 0x06}, 6, "vmovdqu64 (%rsi),%zmm16"},
    {{0x62, 0xf3, 0x7d, 0x40, 0x3f, 0x4f, 0x01, 0x00}, 8, "vpcmpeqb 0x40(%rdi),%zmm16,%k1"},
    {{0x62, 0xf3, 0x6d, 0x48, 0x25, 0xd9, 0x96}, 7, "vpternlogd $0x96,%zmm1,%zmm2,%zmm3"},
    {{0xc4, 0xe2, 0xe0, 0xf2, 0xc8}, 5, "andn %rax,%rbx,%rcx"},
    {{0xc4, 0xe2, 0xf9, 0xf7, 0xcb}, 5, "shlx %rax,%rbx,%rcx"},
    {{0xc4, 0xe3, 0xfb, 0xf0, 0xd8, 0x05}, 6, "rorx $0x5,%rax,%rbx"},
    {{0xdb, 0x6c, 0x24, 0x08}, 4, "fldt 0x8(%rsp)"},
    {{0xdd, 0x18}, 2, "fstpl (%rax)"},
    {{0xd9, 0x7c, 0x24, 0x06}, 4, "fnstcw 0x6(%rsp)"},
    {{0xc7, 0xf8, 0xfa, 0xff, 0xff, 0xff}, 6, "xbegin 0x142"},
    {{0xc6, 0xf8, 0x01}, 3, "xabort $0x1"},
    {{0x48, 0x0f, 0xc7, 0x0f}, 4, "cmpxchg16b (%rdi)"},
    {{0xf0, 0x48, 0x0f, 0xb1, 0x17}, 5, "lock cmpxchg %rdx,(%rdi)"},
    {{0x0f, 0xc1, 0x07}, 3, "xadd %eax,(%rdi)"},
    {{0xf3, 0x48, 0x0f, 0xb8, 0xd8}, 5, "popcnt %rax,%rbx"},
    {{0xf3, 0x48, 0x0f, 0xbc, 0xd8}, 5, "tzcnt %rax,%rbx"},
    {{0x89, 0x44, 0x24, 0x08}, 4, "mov %eax,0x8(%rsp)"},
    {{0x8b, 0x44, 0x24, 0x08}, 4, "mov 0x8(%rsp),%eax"},
    {{0x48, 0xc7, 0x45, 0xf8, 0x00, 0x00, 0x00, 0x00}, 8, "movq $0x0,-0x8(%rbp)"},
    {{0x41, 0xc7, 0x04, 0x24, 0x00, 0x00, 0x00, 0x00}, 8, "movl $0x0,(%r12)"},
    {{0x66, 0x41, 0xc7, 0x45, 0x00, 0x00, 0x00}, 7, "movw $0x0,0x0(%r13)"},
    {{0x43, 0xc6, 0x44, 0xec, 0x01, 0x00}, 6, "movb $0x0,0x1(%r12,%r13,8)"},
    {{0x68, 0x78, 0x56, 0x34, 0x12}, 5, "push $0x12345678"},
    {{0x6a, 0x12}, 2, "push $0x12"},
    {{0x5b}, 1, "pop %rbx"},
    {{0x9c}, 1, "pushf"},
    {{0x9d}, 1, "popf"},
    {{0xff, 0x70, 0x08}, 3, "push 0x8(%rax)"},
    {{0x8f, 0x40, 0x08}, 3, "pop 0x8(%rax)"},
    {{0x48, 0x01, 0xc4}, 3, "add %rax,%rsp"},
    {{0x48, 0x83, 0xe4, 0xf0}, 4, "and $0xfffffffffffffff0,%rsp"},
    {{0x48, 0x89, 0xfc}, 3, "mov %rdi,%rsp"},
    {{0x48, 0x8d, 0x65, 0xf8}, 4, "lea -0x8(%rbp),%rsp"},
    {{0x48, 0x94}, 2, "xchg %rax,%rsp"},
    {{0x48, 0x89, 0xe0}, 3, "mov %rsp,%rax"},
    {{0x48, 0x39, 0xe0}, 3, "cmp %rsp,%rax"},
    {{0x40, 0xb4, 0x01}, 3, "mov $0x1,%spl"},
    {{0xb4, 0x01}, 2, "mov $0x1,%ah"},
    {{0xf3, 0x48, 0xab}, 3, "rep stos %rax,%es:(%rdi)"},
    {{0xf3, 0xa4}, 2, "rep movsb %ds:(%rsi),%es:(%rdi)"},
    {{0x66, 0x66, 0x48, 0xe8, 0x00, 0x10, 0x00, 0x00}, 8, "data16 data16 rex.W call 0x11be"},
    {{0x0f, 0x18, 0x08}, 3, "prefetcht0 (%rax)"},
    {{0x0f, 0xae, 0x3f}, 3, "clflush (%rdi)"},
    {{0x0f, 0xae, 0xe8}, 3, "lfence"},
    {{0x0f, 0x01, 0xf9}, 3, "rdtscp"},
    {{0x0f, 0x01, 0xd0}, 3, "xgetbv"},
    {{0x31, 0xc0}, 2, "xor %eax,%eax"},
    {{0xf2, 0x0f, 0x10, 0x44, 0x24, 0x08}, 6, "movsd 0x8(%rsp),%xmm0"},
    {{0xf2, 0x0f, 0x2c, 0xc0}, 4, "cvttsd2si %xmm0,%eax"},
};

static int decode_case(const struct insn_case *c, struct x86_insn *in)
{
	uint8_t buf[32];

	/* the instruction followed by more code: the decoder must find the boundary itself */
	memset(buf, 0x90, sizeof(buf));
	memcpy(buf, c->b, c->len);
	return x86_decode(buf, sizeof(buf), 0x1000, in);
}

static void test_x86_insn_lengths_match_objdump(void **state)
{
	struct x86_insn in;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = decode_case(&cases[i], &in);

		if (n != cases[i].len)
			print_error("%s: decoded %d bytes, objdump %u\n", cases[i].text, n,
				    cases[i].len);
		assert_int_equal(n, cases[i].len);
		assert_int_equal(in.len, cases[i].len);
		/* one byte short: truncated, never a shorter instruction */
		assert_int_equal(x86_decode(cases[i].b, cases[i].len - 1U, 0x1000, &in), -ENODATA);
	}
}

static const struct insn_case *find_case(const char *text)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].text, text) == 0)
			return &cases[i];
	fail_msg("no case %s", text);
	return NULL;
}

static bool accepted(const char *text)
{
	struct x86_insn in;

	assert_true(decode_case(find_case(text), &in) > 0);
	return in.uprobe_ok;
}

static bool accepted_bytes(const uint8_t *b, size_t len)
{
	struct x86_insn in;

	assert_int_equal(x86_decode(b, len, 0x1000, &in), (int)len);
	return in.uprobe_ok;
}

static void test_x86_insn_uprobe_rule(void **state)
{
	static const uint8_t mov_ss[] = {0x8e, 0xd0};
	static const uint8_t jmp_66[] = {0x66, 0xeb, 0x00};
	static const uint8_t rex_then_lock[] = {0x48, 0xf0, 0x01, 0x07};
	static const uint8_t vmovups[] = {0xc5, 0xf8, 0x10, 0x07};

	(void)state;
	/* refused by the kernel (ENOTSUPP) */
	assert_false(accepted("lock addl $0x1,0x20(%rdi)"));
	assert_false(accepted("lock cmpxchg %rdx,(%rdi)"));
	assert_false(accepted("cs nopw (%rax,%rax,1)"));
	assert_false(accepted("notrack jmp *%rax"));
	assert_false(accepted("int3"));
	assert_false(accepted("int $0x80"));
	assert_false(accepted("vmovdqu (%rsi),%ymm0"));
	assert_false(accepted("vmovdqu64 (%rsi),%zmm16"));
	assert_false(accepted_bytes(mov_ss, sizeof(mov_ss)));
	assert_false(accepted_bytes(jmp_66, sizeof(jmp_66)));
	assert_false(accepted("data16 data16 rex.W call 0x11be"));
	/* accepted by the kernel */
	assert_true(accepted("endbr64"));
	assert_true(accepted("push %rbp"));
	assert_true(accepted("push %r15"));
	assert_true(accepted("sub $0x18,%rsp"));
	assert_true(accepted("mov %rsp,%rbp"));
	assert_true(accepted("ret"));
	assert_true(accepted("bnd ret"));
	assert_true(accepted("mov %fs:0x28,%rax"));
	assert_true(accepted("addr32 mov 0x11223344,%eax"));
	assert_true(accepted("xbegin 0x142"));
	/* 0f xx: good_insns_64 accepts 0f itself, so the kernel probes these too */
	assert_true(accepted("syscall"));
	assert_true(accepted("ud2"));
	assert_true(accepted("clflush (%rdi)"));
	assert_true(accepted("rdtscp"));
	/* accepted by the kernel, refused here by design: three-byte maps, VEX, stray REX */
	assert_false(accepted("pshufb %xmm1,%xmm0"));
	assert_false(accepted("vzeroupper"));
	assert_false(accepted_bytes(vmovups, sizeof(vmovups)));
	assert_false(accepted_bytes(rex_then_lock, sizeof(rex_then_lock)));
}

static void test_x86_insn_fields(void **state)
{
	struct x86_insn in;

	(void)state;
	assert_int_equal(decode_case(find_case("mov %fs:0x28,%rax"), &in), 9);
	assert_int_equal(in.seg, 0x64);
	assert_true(in.rex_w);
	assert_true(in.has_sib);
	assert_int_equal(in.disp, 0x28);
	assert_int_equal(decode_case(find_case("movabs $0x1122334455667788,%rax"), &in), 10);
	assert_int_equal(in.imm, 0x1122334455667788LL);
	assert_int_equal(in.imm_size, 8);
	assert_int_equal(decode_case(find_case("lea 0x12345678(%rip),%rdi"), &in), 7);
	assert_true(in.rip_relative);
	assert_int_equal(decode_case(find_case("jne 0x109a"), &in), 6);
	assert_int_equal(in.flow, X86_FLOW_JCC);
	assert_int_equal(in.opcode[1], 0x85);
	assert_int_equal(in.n_opcode, 2);
	assert_int_equal(decode_case(find_case("palignr $0x4,%xmm1,%xmm0"), &in), 6);
	assert_int_equal(in.n_opcode, 3);
	assert_int_equal(in.map, 3);
	assert_int_equal(decode_case(find_case("vpternlogd $0x96,%zmm1,%zmm2,%zmm3"), &in), 7);
	assert_int_equal(in.enc, X86_ENC_EVEX);
	assert_int_equal(in.imm, (int8_t)0x96); /* sign-extended */
	/* a direct branch's target is absolute: 0x1000 + length + rel */
	assert_int_equal(decode_case(find_case("call 0x10a0"), &in), 5);
	assert_int_equal(in.flow, X86_FLOW_CALL);
	assert_int_equal(in.target, 0x1000 + 5 + 0xffb);
	assert_int_equal(decode_case(find_case("notrack jmp *%rax"), &in), 3);
	assert_int_equal(in.flow, X86_FLOW_JMP_IND);
	assert_int_equal(decode_case(find_case("syscall"), &in), 2);
	assert_int_equal(in.flow, X86_FLOW_OTHER);
}

static void test_x86_insn_stack_and_memory_effects(void **state)
{
	static const char *const rsp_writers[] = {
	    "push %rbp",
	    "pop %rbx",
	    "sub $0x18,%rsp",
	    "add %rax,%rsp",
	    "and $0xfffffffffffffff0,%rsp",
	    "mov %rdi,%rsp",
	    "lea -0x8(%rbp),%rsp",
	    "xchg %rax,%rsp",
	    "pushf",
	    "popf",
	    "leave",
	    "enter $0x10,$0x0",
	    "push 0x8(%rax)",
	    "call *%rax",
	    "mov $0x1,%spl",
	};
	static const char *const rsp_keepers[] = {
	    "mov %rsp,%rax",
	    "cmp %rsp,%rax",
	    "mov $0x1,%ah",
	    "mov 0x8(%rsp),%eax",
	    "xor %eax,%eax",
	    "endbr64",
	    "lock addl $0x1,0x20(%rdi)",
	};
	struct x86_insn in;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rsp_writers) / sizeof(rsp_writers[0]); i++) {
		decode_case(find_case(rsp_writers[i]), &in);
		if (!in.writes_rsp)
			print_error("%s\n", rsp_writers[i]);
		assert_true(in.writes_rsp);
	}
	for (i = 0; i < sizeof(rsp_keepers) / sizeof(rsp_keepers[0]); i++) {
		decode_case(find_case(rsp_keepers[i]), &in);
		if (in.writes_rsp)
			print_error("%s\n", rsp_keepers[i]);
		assert_false(in.writes_rsp);
	}
	decode_case(find_case("mov %eax,0x8(%rsp)"), &in);
	assert_true(in.writes_mem && in.mem_base_is_rsp);
	decode_case(find_case("movaps %xmm0,0x10(%rsp)"), &in);
	assert_true(in.writes_mem && in.mem_base_is_rsp);
	decode_case(find_case("mov 0x8(%rsp),%eax"), &in);
	assert_false(in.writes_mem);
	assert_true(in.mem_base_is_rsp);
	decode_case(find_case("lock addl $0x1,0x20(%rdi)"), &in);
	assert_true(in.writes_mem);
	assert_false(in.mem_base_is_rsp);
	decode_case(find_case("movb $0x0,0x1(%r12,%r13,8)"), &in);
	assert_true(in.writes_mem);
	assert_false(in.mem_base_is_rsp); /* r12 as base also encodes as 4, with REX.B */
}

static void test_x86_insn_invalid_and_truncated(void **state)
{
	static const uint8_t invalid[][2] = {{0x06, 0}, {0x27, 0}, {0x60, 0},	{0x9a, 0},
					     {0xd4, 0}, {0xea, 0}, {0x0f, 0x04}};
	static const uint8_t long16[16] = {0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					   0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90};
	static const uint8_t call16[] = {0x66, 0xe8, 0, 0, 0, 0};
	static const uint8_t vex_after_66[] = {0x66, 0xc5, 0xf8, 0x77};
	struct x86_insn in;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		assert_int_equal(x86_decode(invalid[i], 2, 0, &in), -EILSEQ);
	assert_int_equal(x86_decode(long16, sizeof(long16), 0, &in), -EILSEQ);
	assert_int_equal(x86_decode(long16 + 1, sizeof(long16) - 1, 0, &in), 15);
	/* Intel reads rel32, AMD rel16: no single length */
	assert_int_equal(x86_decode(call16, sizeof(call16), 0, &in), -EILSEQ);
	assert_int_equal(x86_decode(vex_after_66, sizeof(vex_after_66), 0, &in), -EILSEQ);
	assert_int_equal(x86_decode(long16, 0, 0, &in), -ENODATA);
	assert_int_equal(x86_decode(long16, 3, 0, &in), -ENODATA);
}

static void test_x86_insn_entry_offset(void **state)
{
	/* lock addl $1,0x20(%rdi); mov $1,%eax; ret */
	static const uint8_t lock_first[] = {0xf0, 0x83, 0x47, 0x20, 0x01, 0xb8,
					     0x01, 0x00, 0x00, 0x00, 0xc3};
	static const uint8_t endbr[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0xc3};
	uint8_t code[32];
	const char *why = "unset";
	uint64_t off = 99;

	(void)state;
	assert_int_equal(x86_entry_probe_offset(endbr, sizeof(endbr), 0x1000, 16, &off, &why), 0);
	assert_int_equal(off, 0);
	assert_int_equal(
	    x86_entry_probe_offset(lock_first, sizeof(lock_first), 0x1000, 16, &off, &why), 0);
	assert_int_equal(off, 5);
	assert_null(why);
	/* beyond the skip limit */
	assert_int_equal(
	    x86_entry_probe_offset(lock_first, sizeof(lock_first), 0x1000, 4, &off, &why),
	    -ENOTSUP);
	assert_non_null(why);
	/* the body ends inside the refused instruction */
	assert_true(x86_entry_probe_offset(lock_first, 3, 0x1000, 16, &off, &why) < 0);
	assert_true(x86_entry_probe_offset(lock_first, 0, 0x1000, 16, &off, &why) < 0);

	/* a loop jumps back to the chosen point: jne -> 0x1005 */
	memcpy(code, lock_first, 10);
	code[10] = 0x75;
	code[11] = (uint8_t)(0x1005 - (0x1000 + 12));
	code[12] = 0xc3;
	assert_int_equal(x86_entry_probe_offset(code, 13, 0x1000, 16, &off, &why), -ENOTSUP);
	assert_string_equal(why, "branch into the skipped prologue");
	/* a loop back to the very start runs through the moved probe again: refused too
	 * (pthread_spin_lock: lock decl; jne; ...; jg back to the lock) */
	code[11] = (uint8_t)(0x1000 - (0x1000 + 12));
	assert_int_equal(x86_entry_probe_offset(code, 13, 0x1000, 16, &off, &why), -ENOTSUP);
	assert_string_equal(why, "branch into the skipped prologue");
	/* a body that does not decode (the jne now goes to the next instruction) */
	code[11] = 0;
	code[12] = 0x06;
	assert_int_equal(x86_entry_probe_offset(code, 13, 0x1000, 16, &off, &why), -EILSEQ);
}

static void test_x86_insn_entry_refuses_unsafe_skips(void **state)
{
	/* cs nopw; push %rbp: skipping a nop is fine */
	static const uint8_t cs_nop[] = {0x2e, 0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0x55, 0xc3};
	/* notrack jmp *%rax first: a control transfer is never skipped */
	static const uint8_t notrack[] = {0x3e, 0xff, 0xe0, 0x90, 0xc3};
	/* lock; then sub $8,%rsp (changes rsp) */
	static const uint8_t lock_sub[] = {0xf0, 0x83, 0x07, 0x01, 0x3e,
					   0x48, 0x83, 0xec, 0x08, 0xc3};
	/* lock incl (%rsp): writes through rsp */
	static const uint8_t lock_rsp[] = {0xf0, 0xff, 0x04, 0x24, 0xc3};
	/* lock add; ds push %rsp... : ds-prefixed push is refused and changes rsp */
	static const uint8_t lock_push[] = {0xf0, 0x83, 0x07, 0x01, 0x3e, 0x55, 0xc3};
	uint64_t off;
	const char *why;

	(void)state;
	assert_int_equal(x86_entry_probe_offset(cs_nop, sizeof(cs_nop), 0, 32, &off, &why), 0);
	assert_int_equal(off, 10);
	assert_int_equal(x86_entry_probe_offset(notrack, sizeof(notrack), 0, 32, &off, &why),
			 -ENOTSUP);
	assert_non_null(strstr(why, "control transfer"));
	assert_int_equal(x86_entry_probe_offset(lock_sub, sizeof(lock_sub), 0, 32, &off, &why),
			 -ENOTSUP);
	assert_non_null(strstr(why, "rsp"));
	assert_int_equal(x86_entry_probe_offset(lock_rsp, sizeof(lock_rsp), 0, 32, &off, &why),
			 -ENOTSUP);
	assert_non_null(strstr(why, "store through rsp"));
	assert_int_equal(x86_entry_probe_offset(lock_push, sizeof(lock_push), 0, 32, &off, &why),
			 -ENOTSUP);
}

static void test_x86_insn_find_returns(void **state)
{
	/* test %edi,%edi; je +3; mov $1,%eax; ret; xor %eax,%eax; bnd ret; int3 padding */
	static const uint8_t fn[] = {0x85, 0xff, 0x74, 0x06, 0xb8, 0x01, 0x00, 0x00, 0x00,
				     0xc3, 0x31, 0xc0, 0xf2, 0xc3, 0xcc, 0xcc, 0xcc};
	/* ret $8 hidden in a mov's immediate, then a real one */
	static const uint8_t hidden[] = {0xb8, 0xc2, 0x08, 0x00, 0x00, 0xc2, 0x08, 0x00};
	uint64_t offs[4];
	bool ok[4];
	size_t n;

	(void)state;
	assert_int_equal(x86_find_returns(fn, sizeof(fn), 0x1000, offs, ok, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(offs[0], 9);
	assert_int_equal(offs[1], 12);
	assert_true(ok[0] && ok[1]);
	assert_int_equal(x86_find_returns(fn, sizeof(fn), 0x1000, offs, NULL, 1, &n), -E2BIG);
	assert_int_equal(x86_find_returns(hidden, sizeof(hidden), 0, offs, ok, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(offs[0], 5);
	/* the body ends inside an instruction */
	assert_int_equal(x86_find_returns(hidden, 3, 0, offs, ok, 4, &n), -EILSEQ);
}

/* The libc of this machine: every function body decodes to its end, entry offsets land on
 * accepted instructions. */
static void test_x86_insn_installed_libc(void **state)
{
	static const char path[] = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	struct elf_file *f = NULL;
	size_t i, swept = 0, undecodable = 0;
	uint8_t *code;
	int fd;

	(void)state;
	if (access(path, R_OK))
		skip();
	assert_int_equal(elf_file_open(path, &f), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	for (i = 0; i < f->n_syms; i++) {
		const struct elf_sym *s = &f->syms[i];
		uint64_t offs[256], off;
		struct x86_insn in;
		const char *why;
		size_t n;
		int err;

		if (!s->size || s->size > 65536 || (i && f->syms[i - 1].vaddr == s->vaddr))
			continue;
		code = malloc(s->size);
		assert_non_null(code);
		assert_int_equal(pread(fd, code, s->size, (off_t)s->offset), (ssize_t)s->size);
		err = x86_find_returns(code, s->size, s->vaddr, offs, NULL, 256, &n);
		swept++;
		if (err == -EILSEQ)
			undecodable++;
		if (x86_entry_probe_offset(code, s->size, s->vaddr, 64, &off, &why) == 0) {
			assert_true(off < s->size);
			assert_true(x86_decode(code + off, s->size - off, 0, &in) > 0);
			assert_true(in.uprobe_ok);
		}
		free(code);
	}
	close(fd);
	elf_file_free(f);
	assert_true(swept > 1000);
	/* objdump agreed on every instruction of this libc: allow for data between functions */
	assert_true(undecodable * 100 < swept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_x86_insn_lengths_match_objdump),
	    cmocka_unit_test(test_x86_insn_uprobe_rule),
	    cmocka_unit_test(test_x86_insn_fields),
	    cmocka_unit_test(test_x86_insn_stack_and_memory_effects),
	    cmocka_unit_test(test_x86_insn_invalid_and_truncated),
	    cmocka_unit_test(test_x86_insn_entry_offset),
	    cmocka_unit_test(test_x86_insn_entry_refuses_unsafe_skips),
	    cmocka_unit_test(test_x86_insn_find_returns),
	    cmocka_unit_test(test_x86_insn_installed_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
