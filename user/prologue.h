/* SPDX-License-Identifier: MIT */
/*
 * Pure helpers of the uprobe fallback (user/fallback.c), unit-tested
 * without root: where in a function a uprobe costs least, and the
 * dynamic loader's $ORIGIN.
 */
#ifndef SEATRACE_PROLOGUE_H
#define SEATRACE_PROLOGUE_H

#include <stddef.h>

/* x86-64 register numbers, as instructions encode them; bits of `keep`. */
enum st_reg {
	ST_RAX,
	ST_RCX,
	ST_RDX,
	ST_RBX,
	ST_RSP,
	ST_RBP,
	ST_RSI,
	ST_RDI,
	ST_R8,
	ST_R9,
	ST_R10,
	ST_R11,
	ST_R12,
	ST_R13,
	ST_R14,
	ST_R15,
};

#define ST_REGBIT(r) (1u << (r))

/*
 * A uprobe on an instruction the kernel cannot emulate is single-stepped
 * out of line: two more traps per hit. x86 kernels emulate branches (jcc,
 * jmp, call) and, since 6.x, push; a function that begins with
 * `test %rdi,%rdi; je` or `sub $N,%rsp; ...; push` is cheaper to probe a
 * few bytes in.
 *
 * Returns the offset in `code` (the function's first `len` bytes) of the
 * first instruction the kernel emulates, provided that every instruction
 * before it is a known kind that leaves the registers in `keep` as they
 * were at the entry (tests, compares, stores to the stack, stack pointer
 * adjustments, pushes of other registers, endbr64). *spadj: how many bytes
 * the stack pointer has moved down by then, so that the caller's stack
 * (the return address, arguments past the sixth) is at sp + *spadj.
 * Returns 0, *spadj 0, when no such instruction is found: the entry.
 */
size_t st_prologue_probe(const unsigned char *code, size_t len, unsigned keep, unsigned *spadj);

/*
 * One DT_RPATH/DT_RUNPATH entry with $ORIGIN (or ${ORIGIN}) replaced by
 * `origin` (the executable's directory). Returns 0, or -1 when the entry
 * uses another substitution ($LIB, $PLATFORM) or does not fit.
 */
int st_expand_origin(const char *entry, size_t entry_len, const char *origin, char *out,
		     size_t outlen);

#endif
