/* SPDX-License-Identifier: MIT */
/*
 * The event-name glob matcher. The BPF program runs it in the kernel (one
 * step per bpf_loop() iteration, because the verifier cannot bound a
 * backtracking loop); userspace runs the very same step function in its
 * tests, so what is tested is what filters.
 *
 * Classic single-backtrack wildcard matching over compiled tokens: on a
 * mismatch after a '*', resume one byte further along the name. Each step
 * moves the pattern or the name forward, and every backtrack moves `mark`
 * forward, so a match ends within (name_len + 2) * (ntok + 2) steps.
 * '?' and '[...]' match one UTF-8 character, as fnmatch(3) in a UTF-8 locale.
 */
#ifndef SEATRACE_GLOB_MATCH_H
#define SEATRACE_GLOB_MATCH_H

#include "wire.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

struct st_glob_state {
	__s32 p;    /* next token */
	__s32 s;    /* next name byte */
	__s32 star; /* token index of the last '*', or -1 */
	__s32 mark; /* name position the last '*' is matching up to */
	__s32 result;
};

static __always_inline void st_glob_init(struct st_glob_state *st)
{
	st->p = 0;
	st->s = 0;
	st->star = -1;
	st->mark = 0;
	st->result = 0;
}

static __always_inline __u32 st_glob_max_steps(__u32 name_len, __u32 ntok)
{
	return (name_len + 2) * (ntok + 2);
}

/* The character at name[s]: its code point, and its length in *w (1 for a stray byte). */
static __always_inline __u32 st_utf8_at(const __u8 *name, __u32 s, __u32 len, __u32 *w)
{
	__u32 c0 = name[s & (ST_NAME_MAX - 1)], n, cp;

	*w = 1;
	if (c0 < 0xc0 || c0 >= 0xf8)
		return c0; /* ASCII, or a byte that starts no sequence: itself */
	n = c0 < 0xe0 ? 2 : c0 < 0xf0 ? 3 : 4;
	if (s + n > len)
		return c0;
	cp = c0 & (0x7f >> n);
	for (__u32 i = 1; i < 4; i++) {
		__u32 b;

		if (i >= n)
			break;
		b = name[(s + i) & (ST_NAME_MAX - 1)];
		if ((b & 0xc0) != 0x80)
			return c0;
		cp = cp << 6 | (b & 0x3f);
	}
	*w = n;
	return cp;
}

static __always_inline int st_class_has(const volatile struct st_class *classes, __u8 idx,
					__u32 cp)
{
	const volatile struct st_class *k = &classes[idx & (ST_MAX_CLASSES - 1)];

	if (cp < 0x80) {
		__u32 b = cp;

		/* Keep the mask: clang would drop it, knowing cp < 0x80; the verifier needs it. */
		barrier_var(b);
		b &= 0x7f;
		return (k->bits[b >> 3] >> (b & 7)) & 1;
	}
	for (int i = 0; i < ST_CLASS_RANGES; i++)
		if (cp >= k->range[i][0] && cp <= k->range[i][1])
			return 1;
	return 0;
}

/*
 * One step. Returns 1 when the match is decided (st->result holds it),
 * 0 to be called again.
 */
static __always_inline int st_glob_step(struct st_glob_state *st, const volatile struct st_glob *g,
					const volatile struct st_class *classes, const __u8 *name,
					__u32 name_len)
{
	__u32 p = (__u32)st->p, s = (__u32)st->s;
	__u32 ntok = g->ntok;

	/* "open", "socket.*": one comparison, not one step per byte. */
	if (p == 0 && s == 0 && g->shape != ST_GS_GENERAL) {
		__u32 n = g->nlit;

		st->result = 0;
		if (g->shape == ST_GS_LITERAL ? name_len != n : name_len < n)
			return 1;
		for (__u32 i = 0; i < ST_GLOB_TOKENS; i++) {
			if (i >= n)
				break;
			if (name[i & (ST_NAME_MAX - 1)] != g->arg[i & (ST_GLOB_TOKENS - 1)])
				return 1;
		}
		st->result = 1;
		return 1;
	}

	if (s < name_len) {
		if (p < ntok) {
			__u8 op = g->op[p & (ST_GLOB_TOKENS - 1)];
			__u8 arg = g->arg[p & (ST_GLOB_TOKENS - 1)];
			__u8 c = name[s & (ST_NAME_MAX - 1)];
			int ok;

			if (op == ST_G_STAR) {
				st->star = (__s32)p;
				st->mark = (__s32)s;
				st->p = (__s32)p + 1;
				return 0;
			}
			if (op == ST_G_LIT)
				ok = c == arg;
			else if (op == ST_G_ANY) {
				/* One character: all the bytes of a UTF-8 sequence, as fnmatch(3)
				 * does in a UTF-8 locale and Python's fnmatch does. */
				__u32 w = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

				if (s + w > name_len)
					w = name_len - s;
				st->p = (__s32)p + 1;
				st->s = (__s32)(s + w);
				return 0;
			}
			else {
				/* A class takes one character, like '?'. */
				__u32 w, cp = st_utf8_at(name, s, name_len, &w);

				ok = st_class_has(classes, arg, cp) == (op == ST_G_CLASS);
				if (ok) {
					st->p = (__s32)p + 1;
					st->s = (__s32)(s + w);
					return 0;
				}
			}
			if (ok) {
				st->p = (__s32)p + 1;
				st->s = (__s32)s + 1;
				return 0;
			}
		}
		if (st->star >= 0) {
			st->p = st->star + 1;
			st->mark++;
			st->s = st->mark;
			return 0;
		}
		st->result = 0;
		return 1;
	}
	/* Name consumed: only trailing stars may remain. */
	if (p < ntok && g->op[p & (ST_GLOB_TOKENS - 1)] == ST_G_STAR) {
		st->p = (__s32)p + 1;
		return 0;
	}
	st->result = p == ntok;
	return 1;
}

#endif /* SEATRACE_GLOB_MATCH_H */
