/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Rate limits (issue 14): --rate-limit N/s per process and event name, and a policy rule's
 * `rate:` per process and rule. A token bucket per key in `rl_buckets`, kept as the time its
 * next event is due (GCRA: the same decisions as a bucket of N tokens refilled at N a second,
 * in one word and without a division). Applied after the filters, before the record is
 * built: an event over the limit costs a lookup, and is counted per bucket and in
 * ST_STAT_RATE_LIMITED, for the reader's `lost` records. Each limit is a code path of its own,
 * which the verifier drops when cfg_rate_limit does not have it.
 */
#ifndef SEATRACE_RATELIMIT_BPF_H
#define SEATRACE_RATELIMIT_BPF_H

#include "common.bpf.h"

ST_SHARED const volatile __u32 cfg_rate_limit; /* enum st_rl_flags */
ST_SHARED const volatile __u64 cfg_rl_ns;      /* --rate-limit: ns between events */
/* Per rate slot (a name pattern: bpf/filter.bpf.h), in the filter's two sets. 0: no limit. */
ST_SHARED volatile __u64 cfg_rl_rule_ns[2][ST_RL_SLOTS];
ST_SHARED volatile __u64 cfg_rl_rule_name[2][ST_RL_SLOTS][ST_RL_NAME / 8];
/*
 * A kernel rule's rate (a log rule with conditions or selectors: bpf/rules.bpf.h), by its
 * position in cfg_krules[set]; the slot given to rl_admit() is then ST_RL_SLOTS + position.
 */
ST_SHARED volatile __u64 cfg_krule_rate_ns[2][ST_KRULE_MAX];
ST_SHARED volatile __u64 cfg_krule_rate_name[2][ST_KRULE_MAX][ST_RL_NAME / 8];

/*
 * LRU: a host with more process and event pairs than this forgets the quiet ones' buckets
 * (a forgotten bucket starts full again); what they dropped is in ST_STAT_RATE_LIMITED.
 */
ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct st_rl_key);
	__type(value, struct st_rl_val);
} rl_buckets SEC(".maps");

#define RL_SECOND 1000000000ULL

/* 1: one event of the bucket `k` goes (its burst is a second's worth); 0: it is dropped. */
static __always_inline int rl_take(struct st_rl_key *k, struct st_rl_val *nv, __u64 now, __u64 ns)
{
	struct st_rl_val *v = bpf_map_lookup_elem(&rl_buckets, k);
	__u64 tat;

	if (!v) {
		nv->tat = now + ns;
		nv->dropped = 0;
		if (!bpf_map_update_elem(&rl_buckets, k, nv, BPF_NOEXIST))
			return 1;
		/* Made by another CPU in between, or no room at all. */
		v = bpf_map_lookup_elem(&rl_buckets, k);
		if (!v) {
			stat_inc(ST_STAT_RATE_NOSLOT);
			return 1;
		}
	}
	tat = v->tat > now ? v->tat : now;
	if (tat - now > RL_SECOND - ns) {
		__sync_fetch_and_add(&v->dropped, 1);
		stat_inc(ST_STAT_RATE_LIMITED);
		return 0;
	}
	/* Not atomic: two CPUs on one bucket at once may both take the last token. */
	v->tat = tat + ns;
	return 1;
}

/*
 * The event (its process, time, name) against its rule's rate (slot, in the filter set `gen`
 * chose) and the run's: 1 when it goes on. The name is read in words from the record: bytes
 * past `len` are masked off. The key and a value are built in `k` and `nv` (the CPU's
 * scratch: the fallback's stack has no room for them).
 */
static __always_inline int rl_admit(__u32 tgid, __u64 now, const __u8 *name, __u32 len, __u32 slot,
				    __u32 gen, struct st_rl_key *k, struct st_rl_val *nv)
{
	k->tgid = tgid;
	if ((cfg_rate_limit & ST_RLF_RULES) && slot >= ST_RL_SLOTS &&
	    slot < ST_RL_SLOTS + ST_KRULE_MAX) {
		__u32 r = (slot - ST_RL_SLOTS) & (ST_KRULE_MAX - 1);
		__u64 ns = cfg_krule_rate_ns[gen & 1][r];

		if (ns) {
			k->kind = ST_RL_RULE;
			for (int w = 0; w < ST_RL_NAME / 8; w++)
				((__u64 *)k->name)[w] = cfg_krule_rate_name[gen & 1][r][w];
			if (!rl_take(k, nv, now, ns))
				return 0;
		}
	} else if ((cfg_rate_limit & ST_RLF_RULES) && slot < ST_RL_SLOTS) {
		__u64 ns = cfg_rl_rule_ns[gen & 1][slot];

		if (ns) {
			k->kind = ST_RL_RULE;
			for (int w = 0; w < ST_RL_NAME / 8; w++)
				((__u64 *)k->name)[w] = cfg_rl_rule_name[gen & 1][slot][w];
			if (!rl_take(k, nv, now, ns))
				return 0;
		}
	}
	if (cfg_rate_limit & ST_RLF_GLOBAL) {
		k->kind = ST_RL_EVENT | (len > ST_RL_NAME ? ST_RL_CUT : 0);
		for (__u32 w = 0; w < ST_RL_NAME / 8; w++) {
			__u64 x = ((const __u64 *)name)[w];
			__u32 at = w * 8;

			if (len <= at)
				x = 0;
			else if (len < at + 8)
				x &= (1ULL << ((len - at) * 8)) - 1;
			((__u64 *)k->name)[w] = x;
		}
		return rl_take(k, nv, now, cfg_rl_ns);
	}
	return 1;
}

#endif /* SEATRACE_RATELIMIT_BPF_H */
