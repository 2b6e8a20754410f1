/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP, for a daemon: the output file reopened (logrotate moved it away), the
 * configuration file's event-name filters and the policy file (--policy) re-read and applied
 * without detaching anything. A policy with a mistake is refused whole (said, and a `policy`
 * record), the running one kept. What cannot change while tracing is said, and kept as it
 * was (loader: writes the BPF object's filter settings).
 */
#ifndef SEATRACE_RELOAD_H
#define SEATRACE_RELOAD_H

#include "glob.h"
#include "rule.h"
#include "rulenames.h"
#include "sink.h"
#include "tracer.h"

/*
 * The event-name filters the BPF programs use from now on: written into the set not in use,
 * then switched to (see bpf/filter.bpf.h). Before or after the object is loaded.
 */
void st_filters_set(struct tracer *t, const struct st_globset *g);
/* The same, with each pattern's rate (rulenames.h): both switch at once. */
void st_filters_set_names(struct tracer *t, const struct st_rule_names *rn);

/*
 * The -e/-x patterns `globs`, the command line's argument rules (-e/-x filters, --kill,
 * --stop: t->opts->rules) and the policy's `rules` into the kernel, switched to at once. A
 * policy rule the event-name filter can enforce (log or drop an event name, with a rate) goes
 * there (rulenames.h); one with conditions, process selectors, kill, stop or count goes to the
 * kernel's rule evaluation (rulek.h, bpf/rules.bpf.h). Action records then name the rules in
 * force (t->rec.rules). 0, or a negative errno with `why` saying which rule cannot be applied
 * (nothing changed).
 */
int st_rules_apply(struct tracer *t, const struct st_globset *globs, const struct st_rule *rules,
		   int n, char *why, size_t len);

/* The policy in force said and recorded: a `policy` record with status "applied". */
void st_policy_applied(struct tracer *t);

/*
 * The argument rules (bpf/rules.bpf.h) into the set st_filters_set() fills next. Call it
 * first, then st_filters_set(), whose switch of generation makes both take effect.
 */
struct st_krules;
void st_rules_set(struct tracer *t, const struct st_krules *k);
/* After load: the rules' @cgroup directories into their map. 0, or -1 after saying why. */
int st_rules_cgroups(struct tracer *t, const struct st_krules *k);
/* The kernel rules st_rules_apply() put in force last. */
const struct st_krules *st_rules_current(void);

/* Reopens `sink` (when there is one), re-reads t->opts->config and policy. Says what it did. */
void st_reload(struct tracer *t, struct st_sink *sink);

#endif
