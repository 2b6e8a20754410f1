/* SPDX-License-Identifier: MIT */
/*
 * Rules (struct st_rule, user/rule.h) into the kernel's form (bpf/wire.h, struct st_krule):
 * globs compiled into one table, selectors made conditions. One function for every source of
 * rules (-e/-x filters, --kill/--stop, the policy file), so they all mean the same.
 */
#ifndef SEATRACE_RULEK_H
#define SEATRACE_RULEK_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "rule.h"
#include "wire.h"

struct st_krules {
	struct st_krule rules[ST_KRULE_MAX];
	struct st_glob globs[ST_KRULE_GLOBS];
	struct st_class classes[ST_MAX_CLASSES];
	unsigned nrules, nglobs, nclasses;
	bool have_include; /* some rule is an -e filter */
	bool have_action;  /* some rule kills or stops */
	const char *cgroup[ST_KRULE_MAX]; /* rule i's @cgroup directory (in its st_rule), or NULL */
	/* A log rule's `rate:`, by position in rules[]: ns between events (0: none), its name. */
	__u64 rate_ns[ST_KRULE_MAX];
	char rate_name[ST_KRULE_MAX][ST_RL_NAME];
	struct st_kpre pre; /* the prefilter (user/rulepre.c) */
};

/*
 * Compiles n rules into *k. 0, or -EINVAL / -E2BIG with why[] saying which rule and what to
 * change (too many rules or globs, a selector the kernel cannot check).
 */
int st_rules_compile(const struct st_rule *r, unsigned n, struct st_krules *k, char *why,
		     size_t len);

#endif
