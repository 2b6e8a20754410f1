/* SPDX-License-Identifier: MIT */
/*
 * The rules' prefilter (wire.h, struct st_kpre; tested by bpf/rulepre.bpf.h): a key condition
 * per rule, and per argument a summary of the values that could satisfy the key condition of
 * any rule keyed on it. Made from the rules' kernel form, so it describes exactly what the
 * kernel evaluates.
 */
#ifndef SEATRACE_RULEPRE_H
#define SEATRACE_RULEPRE_H

#include <linux/types.h>
#include "wire.h"

/*
 * The condition of `r` the prefilter keys it on (its index in r->conds), or -1 when none can
 * be: a condition on a whole argument #0 to #15 (no [I], no len(), not !=), the most selective.
 */
int st_kpre_key(const struct st_krule *r, const struct st_glob *globs);

/* The summary of n rules (globs: their glob table) into *p. */
void st_kpre_build(const struct st_krule *rules, unsigned n, const struct st_glob *globs,
		   struct st_kpre *p);

#endif
