/* SPDX-License-Identifier: MIT */
/*
 * The rules' prefilter tests (struct st_kpre_arg, wire.h): whether a value could satisfy the
 * key condition of some rule keyed on its argument. Run by the BPF program
 * (bpf/rulepre.bpf.h) and by the unit tests, as glob_match.h is: what is tested is what
 * filters. Both may say 1 too often, never 0 wrongly.
 */
#ifndef SEATRACE_RULEPRE_MATCH_H
#define SEATRACE_RULEPRE_MATCH_H

#include "wire.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* An integer (or a bool as 0/1) as rcmp() sees it: x, and ovf +1/-1 beyond 64 bits. */
static __always_inline int st_kpre_int(const volatile struct st_kpre_arg *p, __s64 x, int ovf)
{
	/* rcmp()'s & ignores ovf: the same x here. */
	if (x & p->bits)
		return 1;
	if (ovf)
		return !!(p->flags & (ovf < 0 ? ST_KP_OVF_NEG : ST_KP_OVF_POS));
	for (__u32 i = 0; i < ST_KPRE_IVS; i++) {
		if (i >= p->niv)
			break;
		if (x >= p->iv[i][0] && x <= p->iv[i][1])
			return 1;
	}
	return 0;
}

/*
 * A str or bytes value as a glob condition sees it: w its first bytes (little-endian,
 * zero-padded), len its length, only compared up to 8.
 */
static __always_inline int st_kpre_pfx(const volatile struct st_kpre_arg *p, __u64 w, __u64 len)
{
	if (p->flags & ST_KP_GLOB_ANY)
		return 1;
	for (__u32 i = 0; i < ST_KPRE_PFX; i++) {
		if (i >= p->npfx)
			break;
		if (len >= p->plen[i] && (w & p->pmask[i]) == p->pval[i])
			return 1;
	}
	return 0;
}

#endif /* SEATRACE_RULEPRE_MATCH_H */
