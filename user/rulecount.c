// SPDX-License-Identifier: MIT
/* The kernel's per-rule counts, read (rulecount.h). */
#include "rulecount.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include "rulek.h"
#include "say.h"
#include "tracer.h"
#include "wire.h"
#include "seatrace.skel.h" /* after wire.h: its types */

/* The count rules written into each kernel set: their names, by position. */
static char set_name[2][ST_KRULE_MAX][ST_RULE_NAME_MAX];
static bool set_used[2][ST_KRULE_MAX];

/* Totals folded away from reused sets, and the last read: by name, grown as needed. */
static struct st_rule_count *folded, *report;
static unsigned nfolded, cap_folded, cap_report;

void st_rulecount_setup(struct seatrace_bpf *skel, bool rules)
{
	if (!rules)
		bpf_map__set_max_entries(skel->maps.rule_counts, 1);
}

/* `n` more events for `name` in v (*len entries, *cap room). -1 when out of memory. */
static int add(struct st_rule_count **v, unsigned *len, unsigned *cap, const char *name,
	       uint64_t n)
{
	for (unsigned i = 0; i < *len; i++)
		if (!strcmp((*v)[i].name, name)) {
			(*v)[i].count += n;
			return 0;
		}
	if (*len == *cap) {
		unsigned c = *cap ? 2 * *cap : 16;
		struct st_rule_count *g = realloc(*v, c * sizeof(*g));

		if (!g)
			return -1;
		*v = g;
		*cap = c;
	}
	snprintf((*v)[*len].name, sizeof((*v)[*len].name), "%s", name);
	(*v)[(*len)++].count = n;
	return 0;
}

/* Entry `idx` of rule_counts, summed over the CPUs (0 before load); zeroed when `clear`. */
static uint64_t map_sum(struct tracer *t, __u32 idx, bool clear)
{
	int fd = bpf_map__fd(t->skel->maps.rule_counts), ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0;

	if (fd < 0 || ncpu <= 0)
		return 0;
	__u64 vals[ncpu];

	if (bpf_map_lookup_elem(fd, &idx, vals))
		return 0;
	for (int c = 0; c < ncpu; c++)
		sum += vals[c];
	if (clear) {
		memset(vals, 0, sizeof(vals));
		bpf_map_update_elem(fd, &idx, vals, BPF_ANY);
	}
	return sum;
}

void st_rulecount_switch(struct tracer *t, unsigned set, const struct st_krules *k,
			 const struct st_rule *src)
{
	set &= 1;
	for (unsigned r = 0; r < ST_KRULE_MAX; r++) {
		if (set_used[set][r]) {
			uint64_t n = map_sum(t, ST_KRULE_COUNT_IDX(set, r), true);

			if (add(&folded, &nfolded, &cap_folded, set_name[set][r], n))
				st_say("cannot keep rule %s's count (%llu events): out of memory",
				       set_name[set][r], (unsigned long long)n);
		}
		set_used[set][r] = r < k->nrules && (k->rules[r].flags & ST_KR_COUNT);
		if (set_used[set][r])
			snprintf(set_name[set][r], sizeof(set_name[set][r]), "%s",
				 src[k->rules[r].id].name);
	}
}

const struct st_rule_count *st_rulecount_read(struct tracer *t, unsigned *n)
{
	unsigned len = 0;
	int err = 0;

	for (unsigned i = 0; i < nfolded && !err; i++)
		err = add(&report, &len, &cap_report, folded[i].name, folded[i].count);
	/* The older set first: its rules came before the current ones. */
	for (unsigned s = 0; s < 2 && !err; s++) {
		unsigned set = (t->skel->bss->cfg_filter_gen + 1 + s) & 1;

		for (unsigned r = 0; r < ST_KRULE_MAX && !err; r++)
			if (set_used[set][r])
				err = add(&report, &len, &cap_report, set_name[set][r],
					  map_sum(t, ST_KRULE_COUNT_IDX(set, r), false));
	}
	if (err) {
		st_say("cannot read the count rules' counts: out of memory");
		len = 0;
	}
	*n = len;
	return len ? report : NULL;
}

void st_rulecount_say(struct tracer *t)
{
	unsigned n;
	const struct st_rule_count *c = st_rulecount_read(t, &n);

	for (unsigned i = 0; i < n; i++)
		st_say("rule %s: %llu events counted, not shown", c[i].name,
		       (unsigned long long)c[i].count);
}
