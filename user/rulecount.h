/* SPDX-License-Identifier: MIT */
/*
 * Count rules (issue 14: a policy's `action: count`, --count FILTER): the kernel counts the
 * events each one matches (bpf/rules.bpf.h, rule_counts) and shows none of them; read here
 * into totals since start, per rule name, for the -c summary, the stats record, --metrics
 * and the exit line. A reload's new rules are written into the set of two not in use: that
 * set's counts, from two reloads ago, are folded into the totals first, so none is lost.
 * Loader: reads BPF maps.
 */
#ifndef SEATRACE_RULECOUNT_H
#define SEATRACE_RULECOUNT_H

#include <stdbool.h>
#include <stdio.h>
#include "rule.h"

struct seatrace_bpf;
struct tracer;
struct st_krules;

/* Before load: rule_counts takes one entry when no rules are loaded. */
void st_rulecount_setup(struct seatrace_bpf *skel, bool rules);

/*
 * Before the kernel rules `k` (compiled from `src`) are written into kernel set `set`: that
 * set's counts so far into the totals, its map entries zeroed (after load), its count rules'
 * names taken from `src`.
 */
void st_rulecount_switch(struct tracer *t, unsigned set, const struct st_krules *k,
			 const struct st_rule *src);

/*
 * Every count rule's events since start, per name, in the order the rules came: the current
 * rules' (0 included) and those of rules a reload removed. *n of them; valid until the next
 * call. NULL and *n = 0 when there is none.
 */
const struct st_rule_count *st_rulecount_read(struct tracer *t, unsigned *n);

/* The exit line: each count rule's total, on stderr. */
void st_rulecount_say(struct tracer *t);

#endif
