// SPDX-License-Identifier: MIT
/* The rate limits' drops as `lost` records (ratelimit.h). */
#include "ratelimit.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <string.h>
#include "kstats.h"
#include "output.h"
#include "ratelog.h"
#include "rulenames.h"
#include "seatrace.skel.h" /* after wire.h, which tracer.h brings */

void st_ratelimit_setup(struct tracer *t)
{
	const struct st_opts *o = t->opts;

	/* Rules' rates can come with a policy re-read: their code is in whenever one is given. */
	t->skel->rodata->cfg_rate_limit =
	    (o->rate_per_s ? ST_RLF_GLOBAL : 0) | (o->policy ? ST_RLF_RULES : 0);
	t->skel->rodata->cfg_rl_ns = st_rate_interval_ns(o->rate_per_s);
	/* An LRU hash is allocated whole at load: none of it when nothing is limited. */
	if (!t->skel->rodata->cfg_rate_limit)
		bpf_map__set_max_entries(t->skel->maps.rl_buckets, 1);
}

__u64 st_ratelimit_dropped(struct tracer *t)
{
	return st_kstat(t->skel, ST_STAT_RATE_LIMITED);
}

void st_ratelimit_report(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.rl_buckets);
	struct st_rl_key key, next, *prev = NULL;
	struct st_rl_val val;
	__u64 total = st_ratelimit_dropped(t), now = st_mono_ns(), sum = 0;

	if (!t->skel->rodata->cfg_rate_limit || total <= t->rl_reported)
		return;
	if (!t->rl) {
		t->rl = st_ratelog_new(bpf_map__max_entries(t->skel->maps.rl_buckets));
		if (!t->rl)
			goto rest;
	}
	t->rl_epoch++;
	/* Bounded: a key evicted under the walk makes the kernel start it over from the first. */
	__u32 left = 2 * bpf_map__max_entries(t->skel->maps.rl_buckets);
	bool complete = false;

	while (!complete && left--) {
		if (bpf_map_get_next_key(fd, prev, &next)) {
			complete = true; /* the last key */
			break;
		}
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue; /* gone in between */
		__u64 d = st_ratelog_delta(t->rl, &key, val.dropped, t->rl_epoch);
		char name[ST_RL_NAME + 1];

		if (!d)
			continue;
		memcpy(name, key.name, ST_RL_NAME);
		name[ST_RL_NAME] = 0;
		st_output_lost_rate(t->rec.out, now, key.tgid, (key.kind & 0xff) == ST_RL_RULE,
				    name, key.kind & ST_RL_CUT, d);
		sum += d;
	}
	/* Only a whole walk tells which buckets are gone. */
	if (complete)
		st_ratelog_sweep(t->rl, t->rl_epoch);
rest:
	t->rl_reported += sum;
	/* Buckets forgotten, or counted here before the kernel's total: the rest, once. */
	if (total > t->rl_reported) {
		st_output_lost_rate(t->rec.out, now, 0, false, NULL, false, total - t->rl_reported);
		t->rl_reported = total;
	}
}

void st_ratelimit_free(struct tracer *t)
{
	st_ratelog_free(t->rl);
	t->rl = NULL;
}
