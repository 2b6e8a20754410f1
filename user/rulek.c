// SPDX-License-Identifier: MIT
/* Rules into the kernel's form (rulek.h). */
#include "rulek.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "glob.h"
#include "rulenames.h"
#include "rulepre.h"

/* One glob into the table; its classes join the shared class table. */
static int add_glob(struct st_krules *k, struct st_globset *tmp, const char *glob, __u16 *idx,
		    const char **why)
{
	int err;

	if (k->nglobs >= ST_KRULE_GLOBS) {
		*why = "too many globs across all rules (at most 256)";
		return -E2BIG;
	}
	/* The set's glob slots are reused; its classes accumulate, shared by every glob. */
	tmp->nglobs = 0;
	err = st_globset_add(tmp, glob, false, why);
	if (err)
		return err;
	k->globs[k->nglobs] = tmp->globs[0];
	*idx = (__u16)k->nglobs++;
	return 0;
}

static __u8 kop(enum st_cond_op op, enum st_cond_kind kind)
{
	switch (kind) {
	case ST_CK_GLOB:
		return ST_KO_GLOB;
	case ST_CK_NONE:
		return ST_KO_NONE;
	case ST_CK_TRUE:
		return ST_KO_TRUE;
	case ST_CK_FALSE:
		return ST_KO_FALSE;
	case ST_CK_INT:
		break;
	}
	switch (op) {
	case ST_OP_EQ:
	case ST_OP_NE:
		return ST_KO_EQ;
	case ST_OP_LT:
		return ST_KO_LT;
	case ST_OP_LE:
		return ST_KO_LE;
	case ST_OP_GT:
		return ST_KO_GT;
	case ST_OP_GE:
		return ST_KO_GE;
	case ST_OP_BITS:
		return ST_KO_BITS;
	case ST_OP_RANGE:
		return ST_KO_RANGE;
	}
	return 0;
}

/* Where a rule goes in the kernel's table: kills, stops, counts, filters. */
static unsigned rank(const struct st_rule *u)
{
	switch (u->action) {
	case ST_ACT_KILL:
		return 0;
	case ST_ACT_STOP:
		return 1;
	case ST_ACT_COUNT:
		return 2;
	default:
		return 3;
	}
}

/*
 * The @exe slot of the rule laid out x-th: the place of the first rule with the same glob, so
 * rules sharing a glob share the kernel's per-thread result (bpf/rules.bpf.h); < 64.
 */
static __s64 exe_slot(const struct st_rule *r, const unsigned *order, unsigned x)
{
	unsigned y = 0;

	while (y < x && strcmp(r[order[y]].proc.exe, r[order[x]].proc.exe))
		y++;
	return y;
}

int st_rules_compile(const struct st_rule *r, unsigned n, struct st_krules *k, char *why,
		     size_t len)
{
	static struct st_globset tmp; /* big: kept off the stack */
	unsigned order[ST_KRULE_MAX];
	const char *what = NULL;
	int err = 0;

	memset(k, 0, sizeof(*k));
	memset(&tmp, 0, sizeof(tmp));
	if (n > ST_KRULE_MAX) {
		snprintf(why, len, "too many rules (%u): at most %d", n, ST_KRULE_MAX);
		return -E2BIG;
	}
	/*
	 * Kills, stops, counts, then filters: the kernel decides the actions and counts
	 * first, and stops at the first filter that holds (bpf/rules.bpf.h).
	 */
	for (unsigned pass = 0, j = 0; pass < 4; pass++)
		for (unsigned i = 0; i < n; i++)
			if (rank(&r[i]) == pass)
				order[j++] = i;
	for (unsigned x = 0; x < n; x++) {
		unsigned i = order[x];
		const struct st_rule *u = &r[i];
		struct st_krule *kr = &k->rules[x];

		kr->id = (__u8)i;

		if (u->action == ST_ACT_KILL)
			kr->flags = ST_KR_KILL;
		else if (u->action == ST_ACT_STOP)
			kr->flags = ST_KR_STOP;
		else if (u->action == ST_ACT_COUNT)
			kr->flags = ST_KR_COUNT;
		else if (u->exclude)
			kr->flags = ST_KR_EXCLUDE;
		else
			kr->flags = ST_KR_INCLUDE;
		k->have_include |= !!(kr->flags & ST_KR_INCLUDE);
		if (u->rate_per_s && (kr->flags & ST_KR_INCLUDE)) {
			k->rate_ns[x] = st_rate_interval_ns(u->rate_per_s);
			/* The bucket's key names the rule, as a name-only rule's does. */
			memcpy(k->rate_name[x], u->name, strnlen(u->name, ST_RL_NAME - 1));
		}
		k->have_action |= !!(kr->flags & (ST_KR_KILL | ST_KR_STOP));
		err = add_glob(k, &tmp, u->event, &kr->event_glob, &what);
		if (err)
			goto bad;
		/* The selectors first: the cheapest, and they need no argument read. */
		if (u->proc.have_uid) {
			struct st_kcond *c = &kr->conds[kr->nconds++];

			c->arg = ST_KA_UID;
			c->op = ST_KO_EQ;
			c->lo = u->proc.uid;
		}
		if (u->proc.cgroup[0]) {
			struct st_kcond *c = &kr->conds[kr->nconds++];

			c->arg = ST_KA_CGROUP;
			c->op = ST_KO_EQ;
			c->lo = i; /* its slot in rule_cgroups */
			k->cgroup[i] = u->proc.cgroup;
		}
		if (u->proc.comm[0]) {
			struct st_kcond *c = &kr->conds[kr->nconds++];

			c->arg = ST_KA_COMM;
			c->op = ST_KO_GLOB;
			err = add_glob(k, &tmp, u->proc.comm, &c->glob, &what);
			if (err)
				goto bad;
		}
		if (u->proc.exe[0]) {
			struct st_kcond *c = &kr->conds[kr->nconds++];

			c->arg = ST_KA_EXE;
			c->op = ST_KO_GLOB;
			c->lo = exe_slot(r, order, x);
			err = add_glob(k, &tmp, u->proc.exe, &c->glob, &what);
			if (err)
				goto bad;
		}
		for (int j = 0; j < u->nconds && j < ST_RULE_CONDS; j++) {
			const struct st_cond *uc = &u->conds[j];
			struct st_kcond *c = &kr->conds[kr->nconds++];

			c->arg = (__u8)uc->arg;
			c->op = kop(uc->op, uc->kind);
			c->flags = (uc->index >= 0 ? ST_KC_INDEX : 0) | (uc->len ? ST_KC_LEN : 0) |
				   (uc->op == ST_OP_NE ? ST_KC_NEG : 0);
			c->index = uc->index >= 0 ? (__u16)uc->index : 0;
			c->lo = uc->lo;
			c->hi = uc->hi;
			if (uc->kind == ST_CK_GLOB) {
				err = add_glob(k, &tmp, uc->glob, &c->glob, &what);
				if (err)
					goto bad;
			}
		}
	}
	k->nrules = n;
	memcpy(k->classes, tmp.classes, sizeof(k->classes));
	k->nclasses = tmp.nclasses;
	/* Which rules an event's arguments rule out before any is evaluated. */
	st_kpre_build(k->rules, k->nrules, k->globs, &k->pre);
	return 0;
bad:
	snprintf(why, len, "%s", what ? what : "cannot compile the rules");
	return err;
}
