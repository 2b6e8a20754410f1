// SPDX-License-Identifier: MIT
/* Rules on today's kernel side: the event-name filter (rulenames.h). */
#include "rulenames.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum st_rule_part st_rule_unsupported(const struct st_rule *r, const char **why)
{
	/* Conditions, every selector, kill, stop and count: the kernel's rules (rulek.h). */
	(void)r;
	*why = NULL;
	return ST_RP_NONE;
}

uint64_t st_rate_interval_ns(uint32_t per_s)
{
	uint64_t ns = per_s ? 1000000000ULL / per_s : 0;

	return per_s && !ns ? 1 : ns;
}

/* The compiled patterns of `from` after those of `to` (class numbers moved along). */
static int append_set(struct st_globset *to, const struct st_globset *from, char *why, size_t len)
{
	unsigned off = to->nclasses;

	if (to->nglobs + from->nglobs > ST_MAX_GLOBS || off + from->nclasses > ST_MAX_CLASSES) {
		snprintf(why, len,
			 "the policy's event patterns and the -e/-x patterns are too "
			 "many together (at most %d patterns and %d '[...]' classes)",
			 ST_MAX_GLOBS, ST_MAX_CLASSES);
		return -E2BIG;
	}
	memcpy(&to->classes[off], from->classes, from->nclasses * sizeof(from->classes[0]));
	to->nclasses += from->nclasses;
	for (unsigned i = 0; i < from->nglobs; i++) {
		struct st_glob g = from->globs[i];

		for (unsigned k = 0; k < g.ntok; k++)
			if (g.op[k] == ST_G_CLASS || g.op[k] == ST_G_NCLASS)
				g.arg[k] = (__u8)(g.arg[k] + off);
		to->globs[to->nglobs++] = g;
	}
	to->have_include |= from->have_include;
	return 0;
}

int st_rules_names(const struct st_globset *base, const struct st_rule *r, int n,
		   struct st_rule_names *out, char *why, size_t len)
{
	memset(out, 0, sizeof(*out));
	/*
	 * The rules' patterns first, in the file's order: the kernel stops at the first include
	 * that matches, whose slot gives the rate, so a rule's rate is not hidden by a -e.
	 */
	for (int i = 0; i < n; i++) {
		const char *what = NULL, *w = NULL;
		unsigned slot = out->globs.nglobs;
		int err;

		if (st_rule_unsupported(&r[i], &what)) {
			snprintf(why, len, "%s:%u: rule '%s': %s", r[i].src ? r[i].src : "-",
				 r[i].line, r[i].name, what);
			return -EINVAL;
		}
		err = st_globset_add(&out->globs, r[i].event, r[i].action == ST_ACT_DROP, &w);
		if (err) {
			snprintf(why, len, "%s:%u: rule '%s': event pattern '%s': %s",
				 r[i].src ? r[i].src : "-", r[i].line, r[i].name, r[i].event, w);
			return err;
		}
		if (r[i].rate_per_s && slot < ST_RL_SLOTS) {
			out->rate_ns[slot] = st_rate_interval_ns(r[i].rate_per_s);
			strncpy(out->rule[slot], r[i].name, ST_RL_NAME - 1);
		}
	}
	return append_set(&out->globs, base, why, len);
}
