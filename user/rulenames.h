/* SPDX-License-Identifier: MIT */
/*
 * Rules on today's kernel side: what the event-name filter (bpf/filter.bpf.h) can enforce of
 * a rule, and the rules compiled into its globs. A `log` rule's pattern is an include (as
 * -e), a `drop` rule's an exclude (as -x); a `rate:` goes with its pattern's slot.
 */
#ifndef SEATRACE_RULENAMES_H
#define SEATRACE_RULENAMES_H

#include <stddef.h>
#include <stdint.h>
#include "glob.h"
#include "rule.h"

/* The part of a rule this build cannot enforce (the rest: here, or rulek.h). */
enum st_rule_part {
	ST_RP_NONE = 0,
	ST_RP_CONDS,  /* argument conditions */
	ST_RP_PROC,   /* process selectors */
	ST_RP_ACTION, /* an action (none today: kill, stop and count are the kernel's) */
};

/* ST_RP_NONE, or the first part of `r` this build cannot enforce, *why saying so. */
enum st_rule_part st_rule_unsupported(const struct st_rule *r, const char **why);

/* What the name filter is given: its patterns, and each pattern's rate and rule. */
struct st_rule_names {
	struct st_globset globs;
	uint64_t rate_ns[ST_RL_SLOTS];	    /* per pattern: ns between events; 0: none */
	char rule[ST_RL_SLOTS][ST_RL_NAME]; /* per pattern with a rate: the rule's name */
};

/*
 * `base` (the -e/-x patterns) and then the rules' patterns into *out. 0, or -E2BIG/-EINVAL
 * with `why` saying which rule does not fit.
 */
int st_rules_names(const struct st_globset *base, const struct st_rule *r, int n,
		   struct st_rule_names *out, char *why, size_t len);

/* Nanoseconds between events at `per_s` a second (the bucket's refill), at least 1. */
uint64_t st_rate_interval_ns(uint32_t per_s);

#endif
