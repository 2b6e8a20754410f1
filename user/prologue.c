// SPDX-License-Identifier: MIT
/*
 * Function prologues, read just far enough to place a uprobe (see
 * prologue.h). The decoder knows the handful of instruction forms
 * compilers put at a function's entry; anything else ends the walk and the
 * probe stays at the entry, which is always correct, only slower.
 */
#include <string.h>
#include "prologue.h"

/*
 * ModRM addressing [rsp + disp8/disp32] (mod 01/10, rm 100, SIB 0x24): the
 * bytes from ModRM on, else 0.
 */
static size_t rsp_store_len(const unsigned char *c, size_t left)
{
	unsigned mod, rm;

	if (left < 2)
		return 0;
	mod = c[0] >> 6;
	rm = c[0] & 7;
	if (rm != 4 || c[1] != 0x24)
		return 0;
	if (mod == 1)
		return left >= 3 ? 3 : 0; /* ModRM, SIB, disp8 */
	if (mod == 2)
		return left >= 6 ? 6 : 0;
	return 0;
}

size_t st_prologue_probe(const unsigned char *c, size_t len, unsigned keep, unsigned *spadj)
{
	size_t i = 0;
	unsigned sp = 0;

	*spadj = 0;
	while (i < len) {
		size_t start = i, n;
		unsigned rex = 0, op, modrm, dst;

		/* endbr64 */
		if (len - i >= 4 && c[i] == 0xf3 && c[i + 1] == 0x0f && c[i + 2] == 0x1e &&
		    c[i + 3] == 0xfa) {
			i += 4;
			continue;
		}
		if ((c[i] & 0xf0) == 0x40) {
			rex = c[i++];
			if (i >= len)
				break;
		}
		op = c[i++];

		/* Emulated by the kernel: the probe goes here. */
		if (op >= 0x50 && op <= 0x57 && !(rex & ~0x41u)) { /* push r64 */
			*spadj = sp;
			return start;
		}
		if (!rex &&
		    ((op >= 0x70 && op <= 0x7f) || op == 0xeb || op == 0xe9 || op == 0xe8)) {
			*spadj = sp; /* jcc rel8, jmp, call */
			return start;
		}
		if (!rex && op == 0x0f && i < len && c[i] >= 0x80 && c[i] <= 0x8f) {
			*spadj = sp; /* jcc rel32 */
			return start;
		}

		/* Stepped over: they must leave `keep` alone. */
		if (!rex && op == 0x90) /* nop */
			continue;
		if (i >= len)
			break;
		modrm = c[i];
		/* test/cmp between registers: flags only */
		if ((op == 0x84 || op == 0x85 || (op >= 0x38 && op <= 0x3b)) && modrm >> 6 == 3) {
			i++;
			continue;
		}
		/* sub/add $imm, %rsp */
		if (rex == 0x48 && (op == 0x83 || op == 0x81) && (modrm == 0xec || modrm == 0xc4)) {
			unsigned imm;

			n = op == 0x83 ? 1 : 4;
			if (len - i < 1 + n)
				break;
			if (n == 1) {
				imm = (unsigned)(signed char)c[i + 1];
			} else {
				imm = (unsigned)c[i + 1] | (unsigned)c[i + 2] << 8 |
				      (unsigned)c[i + 3] << 16 | (unsigned)c[i + 4] << 24;
			}
			if ((int)imm < 0)
				break;
			if (modrm == 0xec)
				sp += imm;
			else if (imm <= sp)
				sp -= imm;
			else
				break;
			i += 1 + n;
			continue;
		}
		/* mov %reg, disp(%rsp): a store, no register written */
		if ((rex & 0xfa) == 0x48 && op == 0x89 && (n = rsp_store_len(c + i, len - i))) {
			i += n;
			continue;
		}
		/* movaps %xmm, disp(%rsp) (va_start's register save area) */
		if (!rex && op == 0x0f && modrm == 0x29 &&
		    (n = rsp_store_len(c + i + 1, len - i - 1))) {
			i += 1 + n;
			continue;
		}
		/* mov between registers: fine unless it overwrites one that is kept */
		if ((rex & 0xf8) == 0x48 && (op == 0x89 || op == 0x8b) && modrm >> 6 == 3) {
			if (op == 0x89)
				dst = (modrm & 7) | (rex & 1 ? 8 : 0);
			else
				dst = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
			if (dst == ST_RSP || (keep & ST_REGBIT(dst)))
				break;
			i++;
			continue;
		}
		break;
	}
	return 0;
}

int st_expand_origin(const char *entry, size_t entry_len, const char *origin, char *out,
		     size_t outlen)
{
	size_t o = 0, i = 0, olen = strlen(origin);

	while (i < entry_len) {
		if (entry[i] == '$') {
			size_t skip = 0;

			if (entry_len - i >= 7 && !memcmp(entry + i, "$ORIGIN", 7))
				skip = 7;
			else if (entry_len - i >= 9 && !memcmp(entry + i, "${ORIGIN}", 9))
				skip = 9;
			if (!skip)
				return -1;
			/* $ORIGINx is not $ORIGIN followed by x */
			if (skip == 7 && i + 7 < entry_len &&
			    (entry[i + 7] == '_' || (unsigned)((entry[i + 7] | 0x20) - 'a') < 26u ||
			     (unsigned)(entry[i + 7] - '0') < 10u))
				return -1;
			if (o + olen >= outlen)
				return -1;
			memcpy(out + o, origin, olen);
			o += olen;
			i += skip;
			continue;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = entry[i++];
	}
	out[o] = 0;
	return 0;
}
