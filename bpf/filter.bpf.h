/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Which events are wanted, for the probe and the uprobe fallback alike:
 * the process filter (-p, -u, --comm, --cgroup, -f), the event-name globs
 * (-e), and the tampering signs kept even when filtered out.
 */
#ifndef SEATRACE_FILTER_BPF_H
#define SEATRACE_FILTER_BPF_H

#include "common.bpf.h"
#include "glob_match.h"
#include "ratelimit.bpf.h"

/*
 * The event-name filters, in two sets, writable while tracing (SIGHUP re-reads them): user
 * space fills the set not in use, then bumps cfg_filter_gen, whose low bit names the set in
 * use. An event reads the generation once and uses that set throughout; the name cache keeps
 * the generation with each verdict, so a new filter is never judged by an old verdict.
 */
ST_SHARED volatile __u32 cfg_filter_gen;
/*
 * Whether those sets can change while tracing (with --config, SIGHUP re-reads them). When
 * they cannot, cfg_nglobs_fixed is their number for good, which the verifier knows: without
 * -e/-x it drops the matcher altogether, loading the programs about 2.5 times faster.
 */
ST_SHARED const volatile __u32 cfg_filter_live;
ST_SHARED const volatile __u32 cfg_nglobs_fixed;
ST_SHARED volatile __u32 cfg_nglobs[2];
ST_SHARED volatile __u32 cfg_have_include[2];
ST_SHARED volatile struct st_glob cfg_globs[2][ST_MAX_GLOBS];
ST_SHARED volatile struct st_class cfg_classes[2][ST_MAX_CLASSES];
/* Process filters (enum st_proc_filter) and their values. */
ST_SHARED const volatile __u32 cfg_proc_filter;
ST_SHARED const volatile __u32 cfg_uid;
ST_SHARED const volatile char cfg_comm[ST_COMM_LEN];

ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/* ---- event-name filtering -------------------------------------------- */

/*
 * All patterns are tried in one bpf_loop(): one call site, one callback,
 * whatever the number of patterns. The matcher's state lives in map memory
 * so the verifier does not try to follow each position exactly.
 */
struct glob_state_all {
	struct st_glob_state st;
	__u32 g;	/* pattern being matched */
	__u32 included; /* an include pattern matched, or none exists */
	__u32 verdict;	/* 0 undecided, 1 keep, 2 drop */
	/* With rules' rates (ST_RLF_RULES): the include pattern that kept the event, its rate
	 * slot (~0: none), and the filter generation it was judged under. */
	__u32 rule;
	__u32 rule_gen;
};

struct glob_ctx {
	const __u8 *name;
	struct glob_state_all *gs;
	__u32 name_len;
	__u32 set; /* cfg_filter_gen & 1 when the event began */
};

static __attribute__((unused)) long glob_cb(__u32 i, void *data)
{
	struct glob_ctx *c = data;
	struct glob_state_all *gs = c->gs;
	__u32 g = gs->g, set = c->set & 1;

	if (g >= cfg_nglobs[set] || g >= ST_MAX_GLOBS) {
		gs->verdict = gs->included ? 1 : 2;
		return 1;
	}
	/* Once included, only excludes can change the verdict: skip includes. */
	if (!cfg_globs[set][g].exclude && gs->included) {
		gs->g = g + 1;
		st_glob_init(&gs->st);
		return 0;
	}
	if (!st_glob_step(&gs->st, &cfg_globs[set][g], cfg_classes[set], c->name, c->name_len))
		return 0;
	if (gs->st.result) {
		if (cfg_globs[set][g].exclude) {
			gs->verdict = 2;
			return 1;
		}
		gs->included = 1;
		if (cfg_rate_limit & ST_RLF_RULES)
			gs->rule = g;
	}
	gs->g = g + 1;
	st_glob_init(&gs->st);
	return 0;
}

/* 1 to keep the event. Excludes win over includes, as in strace -e. */
static __always_inline int name_wanted(struct glob_state_all *gs, const __u8 *name,
				       __u32 name_len, __u32 gen)
{
	struct glob_ctx c = { .name = name, .gs = gs, .name_len = name_len, .set = gen & 1 };
	__u32 n = cfg_nglobs[gen & 1];

	if (n > ST_MAX_GLOBS)
		n = ST_MAX_GLOBS;
	gs->g = 0;
	gs->included = !cfg_have_include[gen & 1];
	gs->verdict = 0;
	st_glob_init(&gs->st);
	/* Each pattern needs at most st_glob_max_steps(), plus one step to move on. */
	bpf_loop(n * (st_glob_max_steps(name_len, ST_GLOB_TOKENS) + 1) + 1, glob_cb, &c,
		 0);
	return gs->verdict == 1;
}

/*
 * 1 when the current process is one the user asked for. First thing on
 * every probe hit, so a process no filter selects costs only this.
 */
static __always_inline int proc_wanted(__u32 tgid)
{
	if (!cfg_proc_filter)
		return 1;
	if ((cfg_proc_filter & ST_PF_TARGETS) && !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	if ((cfg_proc_filter & ST_PF_UID) && (__u32)bpf_get_current_uid_gid() != cfg_uid)
		return 0;
	if (cfg_proc_filter & ST_PF_COMM) {
		char comm[ST_COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		for (int i = 0; i < ST_COMM_LEN; i++) {
			if (comm[i] != cfg_comm[i])
				return 0;
			if (!comm[i])
				break;
		}
	}
	if ((cfg_proc_filter & ST_PF_CGROUP) && bpf_current_task_under_cgroup(&cgroup_filter, 0) != 1)
		return 0;
	return 1;
}

/* sys.addaudithook and ctypes.* events warrant an alert even when filtered out. */
static __always_inline int tamper_sign(const __u8 *n, __u32 len)
{
	if (len > 7 && n[0] == 'c' && n[1] == 't' && n[2] == 'y' && n[3] == 'p' && n[4] == 'e' &&
	    n[5] == 's' && n[6] == '.')
		return 1;
	return len == 16 && n[0] == 's' && n[3] == '.' && n[4] == 'a' && n[7] == 'a' &&
	       n[12] == 'h' && n[15] == 'k'; /* sys.addaudithook */
}

#endif /* SEATRACE_FILTER_BPF_H */
