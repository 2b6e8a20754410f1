// SPDX-License-Identifier: MIT
/*
 * The uprobe fallback's pure helpers (user/prologue.c): where a uprobe
 * goes in a function's prologue, on the prologues of the CPython builds
 * seatrace meets (bytes copied from objdump -d of pyenv's libpython3.X.so
 * and Debian's python3.11), and $ORIGIN in DT_RUNPATH entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "prologue.h"

#define ARGS4 (ST_REGBIT(ST_RDI) | ST_REGBIT(ST_RSI) | ST_REGBIT(ST_RDX) | ST_REGBIT(ST_RCX))
#define ARGS6 (ARGS4 | ST_REGBIT(ST_R8) | ST_REGBIT(ST_R9))

static size_t probe(const unsigned char *code, size_t len, unsigned keep, unsigned *spadj)
{
	return st_prologue_probe(code, len, keep, spadj);
}

/* sys_audit_tstate, pyenv 3.9 to 3.13: test %rdi,%rdi; je ...: the je, emulated. */
static void test_sys_audit_tstate(void **state)
{
	static const unsigned char c[] = {0x48, 0x85, 0xff, 0x0f, 0x84, 0x47, 0x04,
					  0x00, 0x00, 0x41, 0x57, 0x41, 0x56};
	unsigned sp = 99;

	assert_int_equal(probe(c, sizeof(c), ARGS4, &sp), 3);
	assert_int_equal(sp, 0);
}

/* PySys_Audit, pyenv 3.9-3.11 and Debian 3.11: sub $0xd8,%rsp; stores; test %al,%al; je. */
static void test_pysys_audit_va_start(void **state)
{
	static const unsigned char c[] = {
	    0x48, 0x81, 0xec, 0xd8, 0x00, 0x00, 0x00, /* sub $0xd8,%rsp */
	    0x48, 0x89, 0x54, 0x24, 0x30,	      /* mov %rdx,0x30(%rsp) */
	    0x48, 0x89, 0x4c, 0x24, 0x38,	      /* mov %rcx,0x38(%rsp) */
	    0x4c, 0x89, 0x44, 0x24, 0x40,	      /* mov %r8,0x40(%rsp) */
	    0x4c, 0x89, 0x4c, 0x24, 0x48,	      /* mov %r9,0x48(%rsp) */
	    0x84, 0xc0,				      /* test %al,%al */
	    0x74, 0x37,				      /* je */
	    0x0f, 0x29, 0x44, 0x24, 0x50,	      /* movaps %xmm0,0x50(%rsp) */
	};
	unsigned sp = 0;

	assert_int_equal(probe(c, sizeof(c), ARGS6, &sp), 29);
	assert_int_equal(sp, 0xd8);
}

/* _PySys_Audit: the same without the rdx store. */
static void test_private_pysys_audit(void **state)
{
	static const unsigned char c[] = {0x48, 0x81, 0xec, 0xd8, 0x00, 0x00, 0x00, 0x48, 0x89,
					  0x4c, 0x24, 0x38, 0x4c, 0x89, 0x44, 0x24, 0x40, 0x4c,
					  0x89, 0x4c, 0x24, 0x48, 0x84, 0xc0, 0x74, 0x37};
	unsigned sp = 0;

	assert_int_equal(probe(c, sizeof(c), ARGS6, &sp), 24);
	assert_int_equal(sp, 0xd8);
}

/* sys_audit (all versions), PySys_Audit 3.8 and 3.12+: a push first, emulated where it is. */
static void test_push_first(void **state)
{
	static const unsigned char r13[] = {0x41, 0x55, 0x41, 0x54, 0x49, 0x89, 0xf4};
	static const unsigned char rbp[] = {0x55, 0x48, 0x89, 0xf5, 0x53};
	unsigned sp = 1;

	assert_int_equal(probe(r13, sizeof(r13), ST_REGBIT(ST_RSI) | ST_REGBIT(ST_RDX), &sp), 0);
	assert_int_equal(sp, 0);
	assert_int_equal(probe(rbp, sizeof(rbp), ARGS6, &sp), 0);
}

/* Stepped-over instructions that move the stack pointer are accounted for. */
static void test_stack_adjust(void **state)
{
	static const unsigned char c[] = {0xf3, 0x0f, 0x1e, 0xfa, /* endbr64 */
					  0x48, 0x83, 0xec, 0x18, /* sub $0x18,%rsp */
					  0x49, 0x89, 0xfc,	  /* mov %rdi,%r12 */
					  0x53};		  /* push %rbx */
	unsigned sp = 0;

	assert_int_equal(probe(c, sizeof(c), ARGS6, &sp), 11);
	assert_int_equal(sp, 0x18);
}

/* A kept register overwritten, or an unknown instruction, first: the entry. */
static void test_entry_when_unsure(void **state)
{
	static const unsigned char clobber[] = {0x48, 0x89, 0xf7, 0x53}; /* mov %rsi,%rdi; push */
	static const unsigned char load[] = {0x48, 0x8b, 0x05, 0x7f, 0xdf, 0x19, 0x00, 0x53};
	static const unsigned char rspmov[] = {0x48, 0x89, 0xe5, 0x53}; /* mov %rsp,%rbp: fine */
	static const unsigned char cut[] = {0x48, 0x81, 0xec, 0xd8};
	unsigned sp = 7;

	assert_int_equal(probe(clobber, sizeof(clobber), ARGS6, &sp), 0);
	assert_int_equal(sp, 0);
	/* the same move is harmless when rdi is not read */
	assert_int_equal(probe(clobber, sizeof(clobber), ST_REGBIT(ST_RSI), &sp), 3);
	assert_int_equal(probe(load, sizeof(load), ARGS6, &sp), 0);
	assert_int_equal(probe(rspmov, sizeof(rspmov), ARGS6, &sp), 3);
	assert_int_equal(probe(cut, sizeof(cut), ARGS6, &sp), 0);
	assert_int_equal(probe(cut, 0, ARGS6, &sp), 0);
}

static void test_branches(void **state)
{
	static const unsigned char jcc32[] = {0x48, 0x85, 0xf6, 0x0f, 0x85, 1, 2, 3, 4};
	static const unsigned char jmp[] = {0x90, 0xeb, 0x10};
	static const unsigned char call[] = {0x48, 0x39, 0xd6, 0xe8, 0, 0, 0, 0};
	unsigned sp;

	assert_int_equal(probe(jcc32, sizeof(jcc32), ARGS6, &sp), 3);
	assert_int_equal(probe(jmp, sizeof(jmp), ARGS6, &sp), 1);
	assert_int_equal(probe(call, sizeof(call), ARGS6, &sp), 3);
}

static void test_expand_origin(void **state)
{
	char out[64];
	const char *e;

	e = "$ORIGIN/../lib";
	assert_int_equal(st_expand_origin(e, strlen(e), "/opt/py/bin", out, sizeof(out)), 0);
	assert_string_equal(out, "/opt/py/bin/../lib");
	e = "${ORIGIN}/x:ignored";
	assert_int_equal(st_expand_origin(e, 11, "/o", out, sizeof(out)), 0);
	assert_string_equal(out, "/o/x");
	e = "/root/.pyenv/versions/3.11.7/lib";
	assert_int_equal(st_expand_origin(e, strlen(e), "/o", out, sizeof(out)), 0);
	assert_string_equal(out, e);
	e = "$LIB/x";
	assert_int_equal(st_expand_origin(e, strlen(e), "/o", out, sizeof(out)), -1);
	e = "$ORIGINAL";
	assert_int_equal(st_expand_origin(e, strlen(e), "/o", out, sizeof(out)), -1);
	e = "$ORIGIN/a/very/long/path/that/does/not/fit";
	assert_int_equal(st_expand_origin(e, strlen(e), "/o", out, 16), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sys_audit_tstate),
	    cmocka_unit_test(test_pysys_audit_va_start),
	    cmocka_unit_test(test_private_pysys_audit),
	    cmocka_unit_test(test_push_first),
	    cmocka_unit_test(test_stack_adjust),
	    cmocka_unit_test(test_entry_when_unsure),
	    cmocka_unit_test(test_branches),
	    cmocka_unit_test(test_expand_origin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
