// SPDX-License-Identifier: MIT
/*
 * The rules' prefilter (user/rulepre.c, bpf/rulepre_match.h): the summaries given rules make,
 * and, over random rules and values, that no value satisfying a rule's key condition (as the
 * kernel's rcond() and glob matcher decide it, modelled here) is ever filtered out.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "glob_match.h"
#include "rule.h"
#include "rulek.h"
#include "rulepre.h"
#include "rulepre_match.h"

static struct st_rule rs[ST_KRULE_MAX];
static struct st_krules k;

/* Compiles the texts as -e rules; k holds them. */
static void compile(const char *const *texts, unsigned n)
{
	struct st_rule_err e;
	char why[256];

	for (unsigned i = 0; i < n; i++)
		if (st_rule_parse(texts[i], &rs[i], &e))
			fail_msg("'%s': %s", texts[i], e.msg);
	if (st_rules_compile(rs, n, &k, why, sizeof(why)))
		fail_msg("compile: %s", why);
}

/* ---- a value, and the kernel's view of it ------------------------------------------- */

enum { V_NONE, V_TRUE, V_FALSE, V_INT, V_STR, V_BYTES, V_OTHER };

struct val {
	int kind;
	int64_t x;
	int ovf;
	/* str: narrowed as rules_eval_cb() narrows (non-ASCII code units are 0x80) */
	__u8 b[ST_NAME_MAX];
	unsigned len;
};

/* rcmp() of bpf/rules.bpf.h. */
static int rcmp(const struct st_kcond *c, int64_t x, int ovf)
{
	switch (c->op) {
	case ST_KO_EQ:
		return !ovf && x == c->lo;
	case ST_KO_LT:
		return ovf < 0 || (!ovf && x < c->lo);
	case ST_KO_LE:
		return ovf < 0 || (!ovf && x <= c->lo);
	case ST_KO_GT:
		return ovf > 0 || (!ovf && x > c->lo);
	case ST_KO_GE:
		return ovf > 0 || (!ovf && x >= c->lo);
	case ST_KO_BITS:
		return (x & c->lo) != 0;
	case ST_KO_RANGE:
		return !ovf && x >= c->lo && x <= c->hi;
	}
	return 0;
}

/* rcond() of a condition on a whole argument (a key condition), for an object value. */
static int ref_cond(const struct st_kcond *c, const struct val *v)
{
	switch (c->op) {
	case ST_KO_NONE:
		return v->kind == V_NONE;
	case ST_KO_TRUE:
		return v->kind == V_TRUE;
	case ST_KO_FALSE:
		return v->kind == V_FALSE;
	case ST_KO_GLOB: {
		struct st_glob_state st;
		unsigned n = v->len > ST_KRULE_STR ? ST_KRULE_STR : v->len;

		if (v->kind != V_STR && v->kind != V_BYTES)
			return 0;
		st_glob_init(&st);
		while (!st_glob_step(&st, &k.globs[c->glob], k.classes, v->b, n))
			;
		return st.result;
	}
	}
	if (v->kind == V_TRUE || v->kind == V_FALSE)
		return rcmp(c, v->kind == V_TRUE, 0);
	if (v->kind == V_INT)
		return rcmp(c, v->x, v->ovf);
	return 0;
}

/* rpre_arg() of bpf/rulepre.bpf.h, past reading the value. */
static int pre_arg(const struct st_kpre_arg *p, const struct val *v)
{
	__u64 w = 0;

	switch (v->kind) {
	case V_NONE:
		return !!(p->flags & ST_KP_NONE);
	case V_TRUE:
		return (p->flags & ST_KP_TRUE) || st_kpre_int(p, 1, 0);
	case V_FALSE:
		return (p->flags & ST_KP_FALSE) || st_kpre_int(p, 0, 0);
	case V_INT:
		return st_kpre_int(p, v->x, v->ovf);
	case V_STR:
	case V_BYTES:
		if (!(p->flags & ST_KP_GLOB))
			return 0;
		for (unsigned i = 0; i < 8 && i < v->len; i++)
			w |= (__u64)v->b[i] << (8 * i);
		return st_kpre_pfx(p, w, v->len);
	}
	return 0;
}

/* Whether rule r may be evaluated for an event whose argument `arg` is v (others unknown). */
static int candidate(unsigned r, unsigned arg, const struct val *v)
{
	const struct st_kpre_arg *p = &k.pre.arg[arg];

	if (!((k.pre.keyed >> r) & 1))
		return 1;
	if (!((p->kmask >> r) & 1))
		return 1; /* keyed on another argument: not decided by this one */
	return pre_arg(p, v);
}

/* ---- the summaries ----------------------------------------------------------------- */

static void test_rules_id_bench(void **state)
{
	static char text[ST_KRULE_MAX][64];
	const char *t[50];

	(void)state;
	/* tools/bench.py's rules-id: 50 rules, one interval and the values below 64 bits. */
	for (int i = 0; i < 50; i++) {
		snprintf(text[i], sizeof(text[i]), "builtins.id(#0<%d)", -1 - i);
		t[i] = text[i];
	}
	compile(t, 50);
	assert_int_equal(k.pre.keyed, (1ULL << 50) - 1);
	assert_int_equal(k.pre.amask, 1);
	assert_int_equal(k.pre.arg[0].kmask, (1ULL << 50) - 1);
	assert_int_equal(k.pre.arg[0].niv, 1);
	assert_true(k.pre.arg[0].iv[0][0] == INT64_MIN);
	assert_int_equal(k.pre.arg[0].iv[0][1], -2);
	assert_int_equal(k.pre.arg[0].flags, ST_KP_OVF_NEG);
	assert_false(st_kpre_int(&k.pre.arg[0], 0x7f0012345678, 0));
	assert_false(st_kpre_int(&k.pre.arg[0], -1, 0));
	assert_true(st_kpre_int(&k.pre.arg[0], -2, 0));
	assert_true(st_kpre_int(&k.pre.arg[0], 5, -1));
	assert_false(st_kpre_int(&k.pre.arg[0], 5, 1));
}

static void test_keys(void **state)
{
	const char *t[] = {
		"a(#0!=5)",	     /* != : never a key */
		"a(#0[1]=3)",	     /* an element: no */
		"a(len(#0)=3)",	     /* a length: no */
		"a(@uid=0,@comm=x*)", /* selectors: no */
		"a(#0!=5,#1=3)",     /* keyed on #1 */
		"a(#0>3,#2=7)",	     /* the equality, #2 */
		"a(#3=x*,#4=None)",  /* a prefix over None */
		"a(#5=*x,#6>1)",     /* a comparison over a glob without prefix */
		"a",		     /* no condition */
	};

	(void)state;
	compile(t, 9);
	assert_int_equal(k.pre.keyed, 0xf0);
	assert_int_equal(k.pre.amask, (1 << 1) | (1 << 2) | (1 << 3) | (1 << 6));
	assert_int_equal(k.pre.arg[1].kmask, 1 << 4);
	assert_int_equal(k.pre.arg[2].kmask, 1 << 5);
	assert_int_equal(k.pre.arg[3].kmask, 1 << 6);
	assert_int_equal(k.pre.arg[6].kmask, 1 << 7);
	assert_int_equal(k.pre.arg[0].kmask, 0);
	assert_int_equal(k.pre.arg[3].flags, ST_KP_GLOB);
	assert_int_equal(k.pre.arg[3].npfx, 1);
	assert_int_equal(k.pre.arg[3].pval[0], 'x');
	assert_int_equal(k.pre.arg[3].pmask[0], 0xff);
	assert_int_equal(k.pre.arg[3].plen[0], 1);
	assert_int_equal(k.pre.arg[6].flags, ST_KP_OVF_POS);
	assert_int_equal(k.pre.arg[6].niv, 1);
	assert_int_equal(k.pre.arg[6].iv[0][0], 2);
	assert_true(k.pre.arg[6].iv[0][1] == INT64_MAX);
}

static void test_intervals(void **state)
{
	static char text[40][64];
	const char *t[40];

	(void)state;
	{
		const char *u[] = {"a(#0=5)", "a(#0=6)", "a(#0=10..20)", "a(#0=15..30)",
				   "a(#0&0x100)", "a(#0=True)", "a(#0>=9223372036854775807)"};

		compile(u, 7);
		assert_int_equal(k.pre.arg[0].niv, 3);
		assert_int_equal(k.pre.arg[0].iv[0][0], 5);
		assert_int_equal(k.pre.arg[0].iv[0][1], 6);
		assert_int_equal(k.pre.arg[0].iv[1][0], 10);
		assert_int_equal(k.pre.arg[0].iv[1][1], 30);
		assert_true(k.pre.arg[0].iv[2][0] == INT64_MAX);
		assert_int_equal(k.pre.arg[0].bits, 0x100);
		assert_int_equal(k.pre.arg[0].flags, ST_KP_TRUE | ST_KP_OVF_POS);
		assert_true(st_kpre_int(&k.pre.arg[0], 0x300, 0));
		assert_false(st_kpre_int(&k.pre.arg[0], 7, 0));
		assert_false(st_kpre_int(&k.pre.arg[0], 31, 0));
		assert_true(st_kpre_int(&k.pre.arg[0], 30, 0));
		assert_false(st_kpre_int(&k.pre.arg[0], 0, -1));
	}
	/* 40 scattered points: widened into 8 intervals, each point still inside one. */
	for (int i = 0; i < 40; i++) {
		snprintf(text[i], sizeof(text[i]), "a(#0=%d)", i * i * 1000 - 50000);
		t[i] = text[i];
	}
	compile(t, 40);
	assert_int_equal(k.pre.arg[0].niv, ST_KPRE_IVS);
	for (int i = 0; i < 40; i++)
		assert_true(st_kpre_int(&k.pre.arg[0], i * i * 1000 - 50000, 0));
	for (int i = 1; i < ST_KPRE_IVS; i++)
		assert_true(k.pre.arg[0].iv[i][0] > k.pre.arg[0].iv[i - 1][1]);
	assert_false(st_kpre_int(&k.pre.arg[0], -50001, 0));
	assert_false(st_kpre_int(&k.pre.arg[0], 39 * 39 * 1000 - 49999, 0));
	/* The extremes: < INT64_MIN is only values beyond 64 bits. */
	{
		const char *u[] = {"a(#0<-9223372036854775808)"};

		compile(u, 1);
		assert_int_equal(k.pre.arg[0].niv, 0);
		assert_int_equal(k.pre.arg[0].flags, ST_KP_OVF_NEG);
	}
}

static void test_prefixes(void **state)
{
	static char text[20][64];
	const char *t[20];

	(void)state;
	{
		const char *u[] = {"a(#1=/etc/*)", "a(#1=/etc/passwd)", "a(#1=/usr/lib/python3*)",
				   "a(#1=\\*x)", "a(#1=é*)"};

		compile(u, 5);
		assert_int_equal(k.pre.arg[1].flags, ST_KP_GLOB);
		/* /etc/passwd is covered by /etc/ */
		assert_int_equal(k.pre.arg[1].npfx, 4);
		assert_int_equal(k.pre.arg[1].plen[0], 5);
		assert_int_equal(k.pre.arg[1].plen[1], 8); /* only 8 bytes compared */
		assert_true(k.pre.arg[1].pmask[1] == UINT64_MAX);
		assert_int_equal(k.pre.arg[1].plen[2], 2);
		assert_int_equal(k.pre.arg[1].plen[3], 2); /* é: two UTF-8 bytes */
		assert_int_equal(k.pre.arg[1].pval[3], 0xa9c3);
	}
	{
		const char *u[] = {"a(#1=abc)", "a(#1=?bc)"};

		compile(u, 2);
		assert_int_equal(k.pre.arg[1].flags, ST_KP_GLOB | ST_KP_GLOB_ANY);
	}
	/* More prefixes than fit: the closest share theirs. */
	for (int i = 0; i < 20; i++) {
		snprintf(text[i], sizeof(text[i]), "a(#1=/p%c/q%d*)", 'a' + i % 10, i);
		t[i] = text[i];
	}
	compile(t, 20);
	assert_true(k.pre.arg[1].npfx <= ST_KPRE_PFX);
	assert_int_equal(k.pre.arg[1].flags, ST_KP_GLOB);
	for (int i = 0; i < 20; i++) {
		struct val v = {.kind = V_STR};

		v.len = (unsigned)snprintf((char *)v.b, sizeof(v.b), "/p%c/q%dzz", 'a' + i % 10, i);
		assert_true(pre_arg(&k.pre.arg[1], &v));
	}
	{
		struct val v = {.kind = V_STR, .len = 4};

		memcpy(v.b, "/x/q", 4);
		assert_false(pre_arg(&k.pre.arg[1], &v));
	}
}

/* ---- random rules and values ------------------------------------------------------- */

static unsigned seed = 12345;

static unsigned rnd(unsigned n)
{
	seed = seed * 1103515245 + 12345;
	return (seed >> 8) % n;
}

static const char *const pieces[] = {"a", "b", "/", "é", "x", "*", "?", "[ab]", "[!a]", "\\*",
				     "etc", "\xff", "."};

static void rand_glob(char *out, size_t len)
{
	unsigned n = 1 + rnd(5);

	out[0] = 0;
	for (unsigned i = 0; i < n; i++)
		strncat(out, pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))], len - strlen(out) - 1);
}

static const int64_t edges[] = {0, 1, -1, 2, 5, 7, 255, 256, -256, INT64_MAX, INT64_MIN,
				INT64_MAX - 1, INT64_MIN + 1, 1LL << 40, -(1LL << 40)};

static int64_t rand_int(void)
{
	int64_t v = edges[rnd(sizeof(edges) / sizeof(edges[0]))];

	return rnd(3) ? v : (int64_t)((uint64_t)v + rnd(5) - 2); /* wraps at the ends */
}

static void rand_rule(struct st_rule *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->event, "argf.t");
	strcpy(r->name, "random");
	r->nconds = (int)rnd(4);
	if (!rnd(8))
		r->proc.have_uid = true;
	for (int i = 0; i < r->nconds; i++) {
		struct st_cond *c = &r->conds[i];

		c->arg = (int)rnd(3);
		c->index = rnd(8) ? -1 : 1;
		c->op = rnd(5) ? ST_OP_EQ : ST_OP_NE;
		switch (rnd(4)) {
		case 0:
			c->kind = ST_CK_GLOB;
			rand_glob(c->glob, sizeof(c->glob));
			break;
		case 1:
			c->kind = ST_CK_NONE + rnd(3);
			break;
		default:
			c->kind = ST_CK_INT;
			c->len = !rnd(8);
			c->lo = rand_int();
			if (c->op == ST_OP_EQ)
				c->op = (enum st_cond_op)(ST_OP_EQ + rnd(8));
			if (c->op == ST_OP_NE && rnd(2))
				c->op = ST_OP_EQ;
			if (c->op == ST_OP_RANGE) {
				c->hi = rand_int();
				if (c->hi < c->lo) {
					int64_t t = c->hi;

					c->hi = c->lo;
					c->lo = t;
				}
			}
		}
	}
}

/* A value: random, or made from a condition to sit on its edge or match its glob. */
static void rand_val(struct val *v, const struct st_kcond *near)
{
	memset(v, 0, sizeof(*v));
	v->kind = (int)rnd(7);
	if (near && rnd(2)) {
		if (near->op == ST_KO_GLOB)
			v->kind = rnd(2) ? V_STR : V_BYTES;
		else if (near->op < ST_KO_NONE)
			v->kind = V_INT;
	}
	switch (v->kind) {
	case V_INT:
		v->x = rand_int();
		if (near && near->op < ST_KO_NONE && near->op != ST_KO_GLOB && rnd(2))
			v->x = (int64_t)((uint64_t)(rnd(2) ? near->lo : near->hi) + rnd(3) - 1);
		v->ovf = rnd(6) ? 0 : rnd(2) ? 1 : -1;
		break;
	case V_STR:
	case V_BYTES: {
		char g[ST_RULE_TEXT_MAX];
		unsigned n = 0;

		rand_glob(g, sizeof(g));
		if (near && near->op == ST_KO_GLOB && rnd(2)) {
			/* The glob's own tokens, wildcards filled in: often a match. */
			const struct st_glob *gl = &k.globs[near->glob];

			for (unsigned i = 0; i < gl->ntok && n < 40; i++)
				v->b[n++] = gl->op[i] == ST_G_LIT ? gl->arg[i] : (__u8)"ab\x80"[rnd(3)];
			if (rnd(2))
				v->b[n++] = 'x';
		} else {
			for (const char *p = g; *p && n < 40; p++)
				v->b[n++] = (__u8)*p;
		}
		if (v->kind == V_STR)
			for (unsigned i = 0; i < n; i++)
				if (v->b[i] >= 0x80)
					v->b[i] = 0x80;
		v->len = n;
		break;
	}
	}
}

static void test_random_never_too_narrow(void **state)
{
	unsigned checked = 0, matched = 0, skipped = 0;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		/* Few rules too: shared summaries would hide a bound off by one. */
		unsigned n = 1 + rnd(round % 2 ? ST_KRULE_MAX : 3);
		char why[256];

		for (unsigned i = 0; i < n; i++)
			rand_rule(&rs[i]);
		if (st_rules_compile(rs, n, &k, why, sizeof(why)))
			fail_msg("compile: %s", why);
		for (unsigned r = 0; r < n; r++) {
			int key = st_kpre_key(&k.rules[r], k.globs);

			/* Keyed exactly when some condition could be a key; on its argument. */
			assert_int_equal(!!((k.pre.keyed >> r) & 1), key >= 0);
			for (unsigned a = 0; a < ST_KPRE_ARGS; a++)
				assert_int_equal(!!((k.pre.arg[a].kmask >> r) & 1),
						 key >= 0 && k.rules[r].conds[key].arg == a);
			for (int t = 0; t < 40; t++) {
				const struct st_kcond *c = key >= 0 ? &k.rules[r].conds[key] : NULL;
				struct val v;

				rand_val(&v, c);
				checked++;
				if (!c)
					continue;
				if (!ref_cond(c, &v)) {
					skipped += !candidate(r, c->arg, &v);
					continue;
				}
				matched++;
				if (!candidate(r, c->arg, &v))
					fail_msg("rule %u (%s) keyed on #%u op %u lo %lld hi %lld: value "
						 "kind %d x %lld ovf %d len %u '%.*s' filtered out",
						 r, rs[k.rules[r].id].name, c->arg, c->op,
						 (long long)c->lo, (long long)c->hi, v.kind,
						 (long long)v.x, v.ovf, v.len, (int)v.len, v.b);
			}
		}
	}
	/* The test means something: many values matched, many were ruled out. */
	assert_true(matched > 1000);
	assert_true(skipped > 1000);
	(void)checked;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_id_bench),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_intervals),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_random_never_too_narrow),
	};

	return cmocka_run_group_tests_name("rulepre", tests, NULL, NULL);
}
