// SPDX-License-Identifier: MIT
/* Rules on today's kernel side: the event-name filter (rulenames.h). */
#include "rulenames.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum st_rule_part st_rule_unsupported(const struct st_rule *r, const char **why)
{
	const struct st_proc_sel *p = &r->proc;

	if (r->nconds) {
		*why = "argument conditions are not supported by this build of seatrace (its kernel "
		       "side filters on event names only)";
		return ST_RP_CONDS;
	}
	if (p->have_uid || p->cgroup[0] || p->exe[0] || p->comm[0]) {
		*why = "process selectors in a rule are not supported by this build of seatrace "
		       "(use -u, --comm or --cgroup for the whole run)";
		return ST_RP_PROC;
	}
	if (r->action != ST_ACT_LOG && r->action != ST_ACT_DROP) {
		*why = "this build of seatrace enforces the actions log and drop only";
		return ST_RP_ACTION;
	}
	return ST_RP_NONE;
}

uint64_t st_rate_interval_ns(uint32_t per_s)
{
	uint64_t ns = per_s ? 1000000000ULL / per_s : 0;

	return per_s && !ns ? 1 : ns;
}

int st_rules_names(const struct st_globset *base, const struct st_rule *r, int n,
		   struct st_rule_names *out, char *why, size_t len)
{
	memset(out, 0, sizeof(*out));
	out->globs = *base;
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
			snprintf(why, len, "%s:%u: rule '%s': event pattern '%s': %s%s",
				 r[i].src ? r[i].src : "-", r[i].line, r[i].name, r[i].event, w,
				 err == -E2BIG ? " (the -e/-x patterns and the policy's together)"
					       : "");
			return err;
		}
		if (r[i].rate_per_s && slot < ST_RL_SLOTS) {
			out->rate_ns[slot] = st_rate_interval_ns(r[i].rate_per_s);
			strncpy(out->rule[slot], r[i].name, ST_RL_NAME - 1);
		}
	}
	return 0;
}
