// SPDX-License-Identifier: MIT
/*
 * Tests for user/ssl_inner.c: finding the internal function OpenSSL's plain and _ex read/write
 * wrappers share, only when the machine code proves it, and where a probe on it is emulated.
 * The byte strings are the opening of Debian 12's libssl.so.3 (3.0.19) as objdump shows it,
 * and variations that must be refused; the last test reads the libssl installed here, if any.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "probe/elf_sym.h"
#include "probe/ssl_inner.h"

/* SSL_read_ex at 0x354c0: sub $0x8,%rsp; call 0x35290; ... */
static const uint8_t read_ex[] = {0x48, 0x83, 0xec, 0x08, 0xe8, 0xc7, 0xfd, 0xff, 0xff,
				  0x31, 0xd2, 0x85, 0xc0, 0x0f, 0x48, 0xc2, 0xc3};
/* SSL_read at 0x35430: sub $0x18,%rsp; stack protector; test; js; mov %rsp,%rcx; movslq;
 * call 0x35290 at +0x1e */
static const uint8_t read_plain[] = {0x48, 0x83, 0xec, 0x18, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28,
				     0x00, 0x00, 0x00, 0x48, 0x89, 0x44, 0x24, 0x08, 0x31, 0xc0,
				     0x85, 0xd2, 0x78, 0x2f, 0x48, 0x89, 0xe1, 0x48, 0x63, 0xd2,
				     0xe8, 0x3d, 0xfe, 0xff, 0xff, 0x85, 0xc0, 0x7e, 0x03};
/* ssl_read_internal at 0x35290: push %r13; push %r12; push %rbp; push %rbx; sub $0x38,%rsp */
static const uint8_t read_inner[] = {0x41, 0x55, 0x41, 0x54, 0x55, 0x53, 0x48, 0x83, 0xec, 0x38};

#define READ_EX_VA 0x354c0
#define READ_PLAIN_VA 0x35430
#define READ_INNER_VA 0x35290

static void test_debian_libssl_read_pair(void **state)
{
	(void)state;
	assert_int_equal(ssl_inner_callee(read_ex, sizeof(read_ex), READ_EX_VA, read_plain,
					  sizeof(read_plain), READ_PLAIN_VA),
			 READ_INNER_VA);
	assert_int_equal(ssl_inner_probe_at(read_inner, sizeof(read_inner)), 0);
	/* the wrappers themselves begin with sub, which is single-stepped */
	assert_int_equal(ssl_inner_probe_at(read_ex, sizeof(read_ex)), -1);
	assert_int_equal(ssl_inner_probe_at(read_plain, sizeof(read_plain)), -1);
}

static void test_plain_must_call_the_same_function(void **state)
{
	uint8_t plain[sizeof(read_plain)];

	(void)state;
	memcpy(plain, read_plain, sizeof(plain));
	plain[31] ^= 0x10; /* the call now lands elsewhere */
	assert_int_equal(ssl_inner_callee(read_ex, sizeof(read_ex), READ_EX_VA, plain,
					  sizeof(plain), READ_PLAIN_VA),
			 0);
	/* a plain wrapper placed elsewhere: the same bytes no longer reach the callee */
	assert_int_equal(ssl_inner_callee(read_ex, sizeof(read_ex), READ_EX_VA, read_plain,
					  sizeof(read_plain), READ_PLAIN_VA + 0x40),
			 0);
	/* the call lies beyond the bytes given */
	assert_int_equal(
	    ssl_inner_callee(read_ex, sizeof(read_ex), READ_EX_VA, read_plain, 34, READ_PLAIN_VA),
	    0);
}

static void test_ex_wrapper_shapes(void **state)
{
	/* endbr64; push %rax; call +0x100 */
	static const uint8_t cet_push[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x50,
					   0xe8, 0x00, 0x01, 0x00, 0x00};
	/* OpenSSL 3.4 style: mov %rcx,%r8; xor %ecx,%ecx; jmp SSL_write_ex2 (five arguments) */
	static const uint8_t five_args[] = {0x49, 0x89, 0xc8, 0x31, 0xc9, 0xe9, 0, 1, 0, 0};
	/* sub $8,%rsp; mov %rcx,%r8; call: the callee does not get the wrapper's registers */
	static const uint8_t moved[] = {0x48, 0x83, 0xec, 0x08, 0x49, 0x89, 0xc8, 0xe8, 0, 1, 0, 0};
	/* push %rsp; call */
	static const uint8_t push_rsp[] = {0x54, 0xe8, 0x00, 0x01, 0x00, 0x00};
	/* a plain wrapper at 0x3000 whose call at +2 reaches the callee of cet_push */
	uint8_t plain[16] = {0x90, 0x90, 0xe8};
	uint64_t target = 0x1000 + 4 + 1 + 5 + 0x100, plain_va = 0x3000;
	int32_t rel = (int32_t)(target - (plain_va + 2 + 5));

	(void)state;
	memcpy(plain + 3, &rel, sizeof(rel));
	assert_int_equal(
	    ssl_inner_callee(cet_push, sizeof(cet_push), 0x1000, plain, sizeof(plain), plain_va),
	    target);
	assert_int_equal(
	    ssl_inner_callee(five_args, sizeof(five_args), 0x1000, plain, sizeof(plain), plain_va),
	    0);
	assert_int_equal(
	    ssl_inner_callee(moved, sizeof(moved), 0x1000, plain, sizeof(plain), plain_va), 0);
	assert_int_equal(
	    ssl_inner_callee(push_rsp, sizeof(push_rsp), 0x1000, plain, sizeof(plain), plain_va),
	    0);
	/* truncated before the call's displacement ends */
	assert_int_equal(ssl_inner_callee(cet_push, 9, 0x1000, plain, sizeof(plain), plain_va), 0);
	assert_int_equal(ssl_inner_callee(cet_push, 0, 0x1000, plain, sizeof(plain), plain_va), 0);
}

static void test_wrapper_calling_itself_is_refused(void **state)
{
	/* sub $8,%rsp; call -9 (back to its own start) */
	static const uint8_t self[] = {0x48, 0x83, 0xec, 0x08, 0xe8, 0xf7, 0xff, 0xff, 0xff};

	(void)state;
	assert_int_equal(ssl_inner_callee(self, sizeof(self), 0x1000, self, sizeof(self), 0x1000),
			 0);
}

static void test_probe_at(void **state)
{
	static const uint8_t push_rbp[] = {0x55, 0x48, 0x89, 0xe5};
	static const uint8_t push_r15[] = {0x41, 0x57};
	static const uint8_t cet_push[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x54};
	static const uint8_t cet_sub[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x08};
	static const uint8_t rex_w_push[] = {0x48, 0x55}; /* not a form the decoder claims */
	static const uint8_t lea[] = {0x48, 0x8d, 0x05, 0, 0, 0, 0};

	(void)state;
	assert_int_equal(ssl_inner_probe_at(push_rbp, sizeof(push_rbp)), 0);
	assert_int_equal(ssl_inner_probe_at(push_r15, sizeof(push_r15)), 0);
	assert_int_equal(ssl_inner_probe_at(cet_push, sizeof(cet_push)), 4);
	assert_int_equal(ssl_inner_probe_at(cet_sub, sizeof(cet_sub)), -1);
	assert_int_equal(ssl_inner_probe_at(rex_w_push, sizeof(rex_w_push)), -1);
	assert_int_equal(ssl_inner_probe_at(lea, sizeof(lea)), -1);
	assert_int_equal(ssl_inner_probe_at(push_r15, 1), -1);
	assert_int_equal(ssl_inner_probe_at(push_rbp, 0), -1);
}

static const struct elf_sym *global(const struct elf_file *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n_syms; i++)
		if (f->syms[i].global && strcmp(f->syms[i].name, name) == 0)
			return &f->syms[i];
	return NULL;
}

static void read_at(int fd, const struct elf_file *f, uint64_t va, uint8_t *code)
{
	uint64_t off;

	assert_int_equal(elf_vaddr_to_offset(f, va, &off), 0);
	assert_int_equal(pread(fd, code, SSL_INNER_CODE_LEN, (off_t)off), SSL_INNER_CODE_LEN);
}

/* The libssl of this machine: both directions resolve to distinct callees that start with a push.
 */
static void test_installed_libssl(void **state)
{
	static const char path[] = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
	static const char *const names[2][2] = {{"SSL_write", "SSL_write_ex"},
						{"SSL_read", "SSL_read_ex"}};
	uint8_t plain[SSL_INNER_CODE_LEN], ex[SSL_INNER_CODE_LEN], inner[SSL_INNER_CODE_LEN];
	uint64_t callee[2];
	struct elf_file *f = NULL;
	int fd, dir;

	(void)state;
	if (access(path, R_OK))
		skip();
	assert_int_equal(elf_file_open(path, &f), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	for (dir = 0; dir < 2; dir++) {
		const struct elf_sym *p = global(f, names[dir][0]), *e = global(f, names[dir][1]);

		assert_non_null(p);
		assert_non_null(e);
		read_at(fd, f, p->vaddr, plain);
		read_at(fd, f, e->vaddr, ex);
		callee[dir] =
		    ssl_inner_callee(ex, sizeof(ex), e->vaddr, plain, sizeof(plain), p->vaddr);
		assert_int_not_equal(callee[dir], 0);
		read_at(fd, f, callee[dir], inner);
		assert_true(ssl_inner_probe_at(inner, sizeof(inner)) >= 0);
	}
	assert_int_not_equal(callee[0], callee[1]);
	close(fd);
	elf_file_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_debian_libssl_read_pair),
	    cmocka_unit_test(test_plain_must_call_the_same_function),
	    cmocka_unit_test(test_ex_wrapper_shapes),
	    cmocka_unit_test(test_wrapper_calling_itself_is_refused),
	    cmocka_unit_test(test_probe_at),
	    cmocka_unit_test(test_installed_libssl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
