// SPDX-License-Identifier: MIT
/* SIGHUP: reopen the output, re-read the configuration's filters (see reload.h). */
#include "reload.h"

#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <stdlib.h>
#include <string.h>
#include "rulek.h"
#include "seatrace.skel.h" /* after wire.h, which tracer.h brings */

void st_rules_set(struct tracer *t, const struct st_krules *k)
{
	struct seatrace_bpf__bss *b = t->skel->bss;
	__u32 gen = __atomic_load_n(&b->cfg_filter_gen, __ATOMIC_RELAXED), set = (gen + 1) & 1;

	b->cfg_nrules[set] = k->nrules;
	b->cfg_rule_include[set] = k->have_include;
	b->cfg_rmask_kill[set] = b->cfg_rmask_stop[set] = 0;
	b->cfg_rmask_inc[set] = b->cfg_rmask_exc[set] = 0;
	for (unsigned r = 0; r < k->nrules && r < ST_KRULE_MAX; r++) {
		__u32 f = k->rules[r].flags;

		b->cfg_rmask_kill[set] |= (__u64)!!(f & ST_KR_KILL) << r;
		b->cfg_rmask_stop[set] |= (__u64)!!(f & ST_KR_STOP) << r;
		b->cfg_rmask_inc[set] |= (__u64)!!(f & ST_KR_INCLUDE) << r;
		b->cfg_rmask_exc[set] |= (__u64)!!(f & ST_KR_EXCLUDE) << r;
	}
	memcpy((void *)b->cfg_krules[set], k->rules, sizeof(k->rules));
	memcpy((void *)b->cfg_rglobs[set], k->globs, sizeof(k->globs));
	memcpy((void *)b->cfg_rclasses[set], k->classes, sizeof(k->classes));
}

void st_filters_set(struct tracer *t, const struct st_globset *g)
{
	struct seatrace_bpf__bss *b = t->skel->bss;
	__u32 gen = __atomic_load_n(&b->cfg_filter_gen, __ATOMIC_RELAXED), set = (gen + 1) & 1;

	b->cfg_nglobs[set] = g->nglobs;
	b->cfg_have_include[set] = g->have_include;
	memcpy((void *)b->cfg_globs[set], g->globs, sizeof(g->globs));
	memcpy((void *)b->cfg_classes[set], g->classes, sizeof(g->classes));
	/* The set is complete before any program can see it in use. */
	__atomic_store_n(&b->cfg_filter_gen, gen + 1, __ATOMIC_RELEASE);
}

int st_rules_cgroups(struct tracer *t, const struct st_krules *k)
{
	int mfd = bpf_map__fd(t->skel->maps.rule_cgroups);

	for (__u32 i = 0; i < k->nrules && i < ST_KRULE_MAX; i++) {
		int fd;

		if (!k->cgroup[i])
			continue;
		fd = open(k->cgroup[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || bpf_map_update_elem(mfd, &i, &fd, BPF_ANY)) {
			st_say("cannot use @cgroup=%s: %s (give a cgroup v2 directory, such as "
			       "/sys/fs/cgroup/system.slice/docker-ID.scope)",
			       k->cgroup[i], strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

void st_reload(struct tracer *t, struct st_sink *sink)
{
	struct st_opts *cur = t->opts, *n;
	char changed[512];
	int err;

	if (sink) {
		err = st_sink_reopen(sink);
		if (err)
			st_say("SIGHUP: cannot reopen %s: %s", cur->output, strerror(-err));
		else
			st_say("SIGHUP: %s reopened", cur->output);
	}
	if (!cur->config)
		return;
	n = malloc(sizeof(*n));
	if (!n) {
		st_say("SIGHUP: cannot re-read %s: %s", cur->config, strerror(ENOMEM));
		return;
	}
	/* The same command line over the file as it is now: checked exactly as at start. */
	err = st_cli_parse(cur->argc, cur->argv, n, ARGP_NO_EXIT);
	if (err) {
		st_say("SIGHUP: %s not applied (nothing changed): fix it and send SIGHUP again",
		       cur->config);
		goto out;
	}
	if (memcmp(&n->globs, &cur->globs, sizeof(n->globs))) {
		/*
		 * argfilt: the switch to the other set takes the rules with it: the run's rules
		 * go there first (they are fixed for the run: a kill rule never lapses).
		 */
		if (cur->nrules) {
			static struct st_krules k;
			char why[256];

			if (!st_rules_compile(cur->rules, cur->nrules, &k, why, sizeof(why)))
				st_rules_set(t, &k);
		}
		st_filters_set(t, &n->globs);
		cur->globs = n->globs;
		st_say("SIGHUP: event filters of %s applied (%u pattern%s)", cur->config,
		       n->globs.nglobs, n->globs.nglobs == 1 ? "" : "s");
	} else {
		st_say("SIGHUP: %s re-read: event filters unchanged", cur->config);
	}
	if (st_cli_restart_needed(cur, n, changed, sizeof(changed)))
		st_say("SIGHUP: %s changed in %s, which takes a restart of seatrace: kept as "
		       "it was",
		       changed, cur->config);
out:
	st_cli_release(n);
	free(n);
}
