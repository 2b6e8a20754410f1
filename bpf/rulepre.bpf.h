/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The rules' prefilter (issue 14: 50 rules on an event's own name, none matching, cost near
 * nothing per rule). user/rulepre.c gives each rule a key condition and sums up, per argument,
 * what could satisfy the key condition of any rule keyed on it (struct st_kpre). Before the
 * evaluation loop each such argument is read and classified once (robj_kind() keeps its head
 * for the loop) and tested against that summary: the rules keyed on an argument that fails it
 * cannot match and are not evaluated. Part of bpf/rules.bpf.h (included from it, after the
 * readers it uses): behind cfg_rules as the rest.
 */
#ifndef SEATRACE_RULEPRE_BPF_H
#define SEATRACE_RULEPRE_BPF_H

#include "rulepre_match.h"

/* Two sets, switched with the rules (user/reload.c, st_rules_set()). */
ST_SHARED volatile struct st_kpre cfg_kpre[2];

/*
 * The summary tests, as global functions: verified once with any value, rather than once per
 * way rpre_arg() has of making one (each C format, each object kind).
 */
#ifdef ST_BPF_DEFINE
__noinline int rpre_int_g(__u32 set, __u32 a, __s64 x, int ovf)
{
	return st_kpre_int(&cfg_kpre[set & 1].arg[a & (ST_KPRE_ARGS - 1)], x, ovf);
}

__noinline int rpre_pfx_g(__u32 set, __u32 a, __u64 w, __u64 n)
{
	return st_kpre_pfx(&cfg_kpre[set & 1].arg[a & (ST_KPRE_ARGS - 1)], w, n);
}
#else
extern int rpre_int_g(__u32 set, __u32 a, __s64 x, int ovf);
extern int rpre_pfx_g(__u32 set, __u32 a, __u64 w, __u64 n);
#endif

/*
 * The first bytes of a str as a glob condition sees it (rstr()), into rs->pv and rs->pn: 1;
 * 0 when no glob can match it; 2 when unsure. A global function: its narrowing loop verified
 * once.
 */
static __always_inline int rpre_str_body(struct rule_scratch *rs, struct st_layout *lo, __u64 obj)
{
	__u64 len = 0, data = 0, acc = 0;
	int ascii;
	__u32 kind = rstr_at(rs, lo, obj, &data, &len, &ascii), m, bytes;

	if (!kind)
		return 0;
	m = len > 8 ? 8 : (__u32)len;
	rs->pn = m;
	bytes = m * kind;
	barrier_var(bytes);
	if (bytes > 32)
		bytes = 32;
	rs->pw[0] = rs->pw[1] = rs->pw[2] = rs->pw[3] = 0;
	/* Unreadable: the evaluation decides. */
	if (bytes && bpf_probe_read_user(rs->pw, bytes, (void *)data))
		return 2;
	if (ascii) {
		rs->pv = rs->pw[0];
		return 1;
	}
	/* Non-ASCII code units narrowed to 0x80, as rules_eval_cb() narrows them. */
	for (__u32 i = 0; i < 8; i++) {
		__u32 u;

		if (kind == 1)
			u = ((__u8 *)rs->pw)[i];
		else if (kind == 2)
			u = ((__u16 *)rs->pw)[i];
		else
			u = ((__u32 *)rs->pw)[i];
		if (i < m)
			acc |= (__u64)(u < 0x80 ? u : 0x80) << (8 * i);
	}
	rs->pv = acc;
	return 1;
}

#ifdef ST_BPF_DEFINE
__noinline int rpre_str_g(struct rule_scratch *rs, struct st_layout *lo, __u64 obj)
{
	if (!rs || !lo)
		return 2;
	return rpre_str_body(rs, lo, obj);
}
#else
extern int rpre_str_g(struct rule_scratch *rs, struct st_layout *lo, __u64 obj);
#endif

/* The first bytes of a C string or bytes (rcstr()); 2 when unreadable. */
static __always_inline int rpre_cstr(struct rule_scratch *rs, __u64 src, __s64 len, __u64 *w,
				     __u64 *n)
{
	long got;

	rs->pw[0] = rs->pw[1] = 0;
	if (len >= 0) {
		__u32 m = len > 8 ? 8 : (__u32)len;

		barrier_var(m);
		if (m > 8)
			m = 8;
		if (m && bpf_probe_read_user(rs->pw, m, (void *)src))
			return 2;
		*n = m;
	} else {
		got = bpf_probe_read_user_str(rs->pw, 9, (void *)src);
		if (got <= 0)
			return 2;
		*n = got - 1;
	}
	*w = rs->pw[0];
	return 1;
}

/*
 * Whether argument a could satisfy the key condition of a rule keyed on it: what rcond() would
 * compute of it, tested against the summary p. 1 whenever unsure.
 */
static __always_inline int rpre_arg(struct rules_ctx *c, const volatile struct st_kpre_arg *p,
				    __u32 a)
{
	struct rule_scratch *rs = c->rs;
	struct st_layout *lo = c->lo;
	__u32 f = p->flags;
	__u64 v, w = 0, n = 0;
	__s64 x = 0;
	int ovf = 0, got;
	__u8 fc, kind;

	/* rcond(): a condition on an argument the event does not have does not hold. */
	if (a >= rs->nargs || a >= RARGS)
		return 0;
	fc = rs->a[a & (RARGS - 1)].fc;
	v = rs->a[a & (RARGS - 1)].v;
	if (fc != 'O') {
		switch (fc) {
		case 's':
		case 'z':
		case 'U':
		case 'y':
			if (!v)
				return !!(f & ST_KP_NONE);
			if (!(f & ST_KP_GLOB))
				return 0;
			if (f & ST_KP_GLOB_ANY)
				return 1;
			got = rpre_cstr(rs, v, rs->a[a & (RARGS - 1)].len, &w, &n);
			return got != 1 || rpre_pfx_g(rs->set, a, w, n);
		case 'p':
			if ((f & ST_KP_TRUE) && (__s32)v)
				return 1;
			if ((f & ST_KP_FALSE) && !(__s32)v)
				return 1;
			/* fall through: else 0 or 1 */
		default:
			if (!rcval(fc, v, &x, &ovf))
				return 0;
		}
		return rpre_int_g(rs->set, a, x, ovf);
	}
	kind = robj_kind(c, v);
	switch (kind) {
	case ST_V_NONE:
		return !!(f & ST_KP_NONE);
	case ST_V_TRUE:
		return (f & ST_KP_TRUE) || rpre_int_g(rs->set, a, 1, 0);
	case ST_V_FALSE:
		return (f & ST_KP_FALSE) || rpre_int_g(rs->set, a, 0, 0);
	case ST_V_INT:
		return rpre_int_g(rs->set, a, rs->hx, rs->hovf);
	case ST_V_STR:
		if (!(f & ST_KP_GLOB))
			return 0;
		if (f & ST_KP_GLOB_ANY)
			return 1;
		got = rpre_str_g(rs, lo, v);
		return got == 2 || (got == 1 && rpre_pfx_g(rs->set, a, rs->pv, rs->pn));
	case ST_V_BYTES:
	case ST_V_BYTEARRAY: {
		__u64 size = rhw(rs, v, lo->ob_size);
		__u64 data = kind == ST_V_BYTES ? v + lo->bytes_sval
						: rhw(rs, v, lo->bytearray_start);

		if (!(f & ST_KP_GLOB))
			return 0;
		if ((f & ST_KP_GLOB_ANY) || (__s64)size < 0)
			return 1;
		got = rpre_cstr(rs, data, (__s64)size, &w, &n);
		return got != 1 || rpre_pfx_g(rs->set, a, w, n);
	}
	}
	return 0;
}

/* One argument some rule is keyed on: its rules become candidates if it could satisfy one. */
static __attribute__((unused)) long rules_pre_cb(__u32 i, void *data)
{
	struct rules_ctx *c = data;
	struct rule_scratch *rs = c->rs;
	__u32 set = rs->set & 1, left = rs->pleft, a;
	const volatile struct st_kpre_arg *p;
	__u64 km;

	if (!left)
		return 1;
	a = rlowest(left) & (ST_KPRE_ARGS - 1);
	rs->pleft = left & (left - 1);
	p = &cfg_kpre[set].arg[a];
	km = rs->mask & p->kmask;
	if (km & ~rs->pcand && rpre_arg(c, p, a))
		rs->pcand |= km;
	return 0;
}

/* The rules of rs->mask worth evaluating: those without a key condition, and the candidates. */
static __always_inline __u64 rules_pre(struct rules_ctx *c)
{
	struct rule_scratch *rs = c->rs;
	__u32 set = rs->set & 1;
	__u64 keyed = cfg_kpre[set].keyed;

	rs->pcand = rs->mask & ~keyed;
	rs->pleft = cfg_kpre[set].amask;
	if (rs->mask & keyed)
		bpf_loop(ST_KPRE_ARGS, rules_pre_cb, c, 0);
	return rs->pcand;
}

#endif /* SEATRACE_RULEPRE_BPF_H */
