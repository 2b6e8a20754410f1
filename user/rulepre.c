// SPDX-License-Identifier: MIT
/* The rules' prefilter (rulepre.h): key conditions and per-argument summaries. */
#include "rulepre.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Literal bytes a glob's matches start with, at most 8 of them: what the summary compares. */
static unsigned glob_prefix(const struct st_glob *g, __u8 out[8])
{
	unsigned n = g->nlit < 8 ? g->nlit : 8;

	for (unsigned i = 0; i < n; i++)
		out[i] = g->arg[i];
	return n;
}

/* How much of the values a key condition lets through: the higher, the fewer. */
static int key_score(const struct st_kcond *c, const struct st_glob *globs)
{
	__u8 pfx[8];

	if (c->arg >= ST_KPRE_ARGS || c->flags)
		return -1;
	switch (c->op) {
	case ST_KO_EQ:
		return 100;
	case ST_KO_RANGE:
		return 90;
	case ST_KO_GLOB: {
		unsigned m = glob_prefix(&globs[c->glob % ST_KRULE_GLOBS], pfx);

		/* No literal prefix: only values that are not str or bytes are left out. */
		return m ? 70 + (int)m : 10;
	}
	case ST_KO_NONE:
	case ST_KO_TRUE:
	case ST_KO_FALSE:
		return 60;
	case ST_KO_LT:
	case ST_KO_LE:
	case ST_KO_GT:
	case ST_KO_GE:
		return 40;
	case ST_KO_BITS:
		return 30;
	}
	return -1;
}

int st_kpre_key(const struct st_krule *r, const struct st_glob *globs)
{
	int best = -1, score = -1;

	for (unsigned i = 0; i < r->nconds && i < ST_KRULE_CONDS; i++) {
		int s = key_score(&r->conds[i], globs);

		if (s > score) {
			score = s;
			best = (int)i;
		}
	}
	return best;
}

/* An argument's summary while it is made: every interval and prefix, then narrowed to fit. */
struct acc {
	__s64 iv[ST_KRULE_MAX][2];
	unsigned niv;
	__u8 pfx[ST_KRULE_MAX][8];
	unsigned plen[ST_KRULE_MAX];
	unsigned npfx;
};

static void add_iv(struct acc *a, __s64 lo, __s64 hi)
{
	if (a->niv < ST_KRULE_MAX) {
		a->iv[a->niv][0] = lo;
		a->iv[a->niv][1] = hi;
		a->niv++;
	}
}

/* What one key condition lets through, into the argument's summary. */
static void add_key(struct st_kpre_arg *p, struct acc *a, const struct st_kcond *c,
		    const struct st_glob *globs)
{
	switch (c->op) {
	case ST_KO_EQ:
		add_iv(a, c->lo, c->lo);
		break;
	case ST_KO_RANGE:
		add_iv(a, c->lo, c->hi);
		break;
	case ST_KO_LT:
		p->flags |= ST_KP_OVF_NEG;
		if (c->lo != INT64_MIN)
			add_iv(a, INT64_MIN, c->lo - 1);
		break;
	case ST_KO_LE:
		p->flags |= ST_KP_OVF_NEG;
		add_iv(a, INT64_MIN, c->lo);
		break;
	case ST_KO_GT:
		p->flags |= ST_KP_OVF_POS;
		if (c->lo != INT64_MAX)
			add_iv(a, c->lo + 1, INT64_MAX);
		break;
	case ST_KO_GE:
		p->flags |= ST_KP_OVF_POS;
		add_iv(a, c->lo, INT64_MAX);
		break;
	case ST_KO_BITS:
		p->bits |= (__u64)c->lo;
		break;
	case ST_KO_NONE:
		p->flags |= ST_KP_NONE;
		break;
	case ST_KO_TRUE:
		p->flags |= ST_KP_TRUE;
		break;
	case ST_KO_FALSE:
		p->flags |= ST_KP_FALSE;
		break;
	case ST_KO_GLOB:
		p->flags |= ST_KP_GLOB;
		if (a->npfx < ST_KRULE_MAX) {
			a->plen[a->npfx] = glob_prefix(&globs[c->glob % ST_KRULE_GLOBS],
						       a->pfx[a->npfx]);
			if (!a->plen[a->npfx])
				p->flags |= ST_KP_GLOB_ANY;
			a->npfx++;
		}
		break;
	}
}

static int cmp_iv(const void *x, const void *y)
{
	const __s64 *a = x, *b = y;

	return a[0] < b[0] ? -1 : a[0] > b[0];
}

/* Sorted, overlapping and adjacent ones merged, then the closest widened into one to fit. */
static void finish_ivs(struct st_kpre_arg *p, struct acc *a)
{
	unsigned n = 0;

	qsort(a->iv, a->niv, sizeof(a->iv[0]), cmp_iv);
	for (unsigned i = 0; i < a->niv; i++) {
		if (n && (a->iv[i][0] <= a->iv[n - 1][1] ||
			  (a->iv[n - 1][1] != INT64_MAX && a->iv[i][0] == a->iv[n - 1][1] + 1))) {
			if (a->iv[i][1] > a->iv[n - 1][1])
				a->iv[n - 1][1] = a->iv[i][1];
			continue;
		}
		a->iv[n][0] = a->iv[i][0];
		a->iv[n][1] = a->iv[i][1];
		n++;
	}
	while (n > ST_KPRE_IVS) {
		unsigned best = 0;
		__u64 gap = UINT64_MAX;

		for (unsigned i = 0; i + 1 < n; i++) {
			/* Sorted and disjoint: the difference fits in 64 bits unsigned. */
			__u64 g = (__u64)a->iv[i + 1][0] - (__u64)a->iv[i][1];

			if (g < gap) {
				gap = g;
				best = i;
			}
		}
		a->iv[best][1] = a->iv[best + 1][1];
		memmove(&a->iv[best + 1], &a->iv[best + 2], (n - best - 2) * sizeof(a->iv[0]));
		n--;
	}
	for (unsigned i = 0; i < n; i++) {
		p->iv[i][0] = a->iv[i][0];
		p->iv[i][1] = a->iv[i][1];
	}
	p->niv = (__u8)n;
}

static unsigned common_len(const struct acc *a, unsigned i, unsigned j)
{
	unsigned n = 0;

	while (n < a->plen[i] && n < a->plen[j] && a->pfx[i][n] == a->pfx[j][n])
		n++;
	return n;
}

static void drop_pfx(struct acc *a, unsigned j)
{
	a->npfx--;
	memmove(a->pfx[j], a->pfx[j + 1], (a->npfx - j) * sizeof(a->pfx[0]));
	memmove(&a->plen[j], &a->plen[j + 1], (a->npfx - j) * sizeof(a->plen[0]));
}

/* Prefixes another one covers dropped, then the two closest cut to their common part to fit. */
static void finish_pfx(struct st_kpre_arg *p, struct acc *a)
{
	for (;;) {
		unsigned bi = 0, bj = 0, best = 0;
		int again = 0;

		for (unsigned i = 0; i < a->npfx && !again; i++)
			for (unsigned j = 0; j < a->npfx; j++)
				if (i != j && common_len(a, i, j) == a->plen[i] &&
				    (a->plen[i] < a->plen[j] || i < j)) {
					/* j starts with all of i: i lets through all j does. */
					drop_pfx(a, j);
					again = 1;
					break;
				}
		if (again)
			continue;
		if (a->npfx <= ST_KPRE_PFX)
			break;
		for (unsigned i = 0; i < a->npfx; i++)
			for (unsigned j = i + 1; j < a->npfx; j++)
				if (common_len(a, i, j) >= best) {
					best = common_len(a, i, j);
					bi = i;
					bj = j;
				}
		a->plen[bi] = best;
		drop_pfx(a, bj);
	}
	for (unsigned i = 0; i < a->npfx; i++) {
		__u64 v = 0, m = 0;

		if (!a->plen[i])
			p->flags |= ST_KP_GLOB_ANY;
		for (unsigned b = 0; b < a->plen[i]; b++) {
			v |= (__u64)a->pfx[i][b] << (8 * b);
			m |= 0xffULL << (8 * b);
		}
		p->pval[i] = v;
		p->pmask[i] = m;
		p->plen[i] = (__u8)a->plen[i];
	}
	p->npfx = (__u8)a->npfx;
}

void st_kpre_build(const struct st_krule *rules, unsigned n, const struct st_glob *globs,
		   struct st_kpre *p)
{
	static struct acc acc[ST_KPRE_ARGS]; /* big: kept off the stack */

	memset(p, 0, sizeof(*p));
	memset(acc, 0, sizeof(acc));
	for (unsigned r = 0; r < n && r < ST_KRULE_MAX; r++) {
		int k = st_kpre_key(&rules[r], globs);
		const struct st_kcond *c;

		if (k < 0)
			continue;
		c = &rules[r].conds[k];
		p->keyed |= 1ULL << r;
		p->amask |= 1U << c->arg;
		p->arg[c->arg].kmask |= 1ULL << r;
		add_key(&p->arg[c->arg], &acc[c->arg], c, globs);
	}
	for (unsigned a = 0; a < ST_KPRE_ARGS; a++) {
		finish_ivs(&p->arg[a], &acc[a]);
		finish_pfx(&p->arg[a], &acc[a]);
	}
}
