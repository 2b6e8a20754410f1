/* SPDX-License-Identifier: MIT */
/*
 * The policy file (--policy, --check-policy; docs/policy-file.md): YAML read with libyaml
 * into the rule model (rule.h), every rule checked completely before any is used. One
 * policy rule names several event patterns; it becomes one struct st_rule per pattern,
 * sharing the rule's name, so the kernel side sees one glob per rule as -e gives it.
 */
#ifndef SEATRACE_POLICY_H
#define SEATRACE_POLICY_H

#include <limits.h>
#include <stdio.h>
#include "rule.h"

/* Errors said per file before giving up: the rest would mostly follow from them. */
#define ST_POLICY_MAX_ERRORS 20

/* Where a policy went wrong, for a log line and a record. */
struct st_policy_err {
	unsigned line, col; /* from 1; 0: the file as a whole (unreadable, empty) */
	char reason[256];
};

/* A policy as loaded: its rules point into it (st_rule.src is `path`), so keep it whole. */
struct st_policy {
	char path[PATH_MAX];
	struct st_rule rules[ST_RULE_MAX];
	int nrules;
	int npolicy_rules; /* rules as the file has them (before each pattern became one) */
	unsigned nerrors;
	struct st_policy_err first; /* the first error in the file, when nerrors > 0 */
	struct st_policy_err errs[ST_POLICY_MAX_ERRORS]; /* said in file order */
	/* Every rule's name and line, for names given twice. */
	struct {
		char name[ST_RULE_NAME_MAX];
		unsigned line;
	} names[ST_RULE_MAX];
	int nnames;
};

/*
 * Reads and checks the policy at `path` into *p. Each problem is written to `err` as
 * "PATH:LINE:COL: what is wrong" (up to ST_POLICY_MAX_ERRORS lines; `err` may be NULL) and
 * the first is kept in p->first. 0, or -EINVAL (p->nerrors > 0, p->nrules 0: nothing to
 * use), or -ENOMEM.
 */
int st_policy_load(const char *path, struct st_policy *p, FILE *err);

/* st_policy_parse() flags. */
enum st_policy_flags {
	/* Keep rules this build cannot enforce (rulenames.h), as the unit tests do. */
	ST_POLICY_ANY_BUILD = 1 << 0,
};

/* The same, from `text` (len bytes) as the content of `path`. */
int st_policy_parse(const char *path, const char *text, size_t len, struct st_policy *p, FILE *err,
		    unsigned flags);

/*
 * --check-policy FILE: loads nothing, needs no privileges. One line per rule on `out`, then
 * "PATH: N rules OK"; or the errors on `err`. The exit status: 0 valid, 1 invalid or
 * unreadable (as nginx -t and visudo -c: 64 stays for a wrong command line).
 */
int st_policy_check(const char *path, FILE *out, FILE *err);

/* One rule in a line, as --check-policy prints it (no newline). */
void st_policy_describe(const struct st_rule *r, char *buf, size_t len);

/* The rate text "N/s" into per-second; 0, or -EINVAL with *why set. */
int st_rate_parse(const char *s, uint32_t *per_s, const char **why);

#endif
