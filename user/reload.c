// SPDX-License-Identifier: MIT
/* SIGHUP: reopen the output, re-read the configuration's filters and the policy (reload.h). */
#include "reload.h"

#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "policy.h"
#include "rulek.h"
#include "rulenames.h"
#include "rulecount.h"
#include "seatrace.skel.h" /* after wire.h, which tracer.h brings */

void st_rules_set(struct tracer *t, const struct st_krules *k)
{
	struct seatrace_bpf__bss *b = t->skel->bss;
	__u32 gen = __atomic_load_n(&b->cfg_filter_gen, __ATOMIC_RELAXED), set = (gen + 1) & 1;

	b->cfg_nrules[set] = k->nrules;
	b->cfg_rule_include[set] = k->have_include;
	b->cfg_rmask_kill[set] = b->cfg_rmask_stop[set] = 0;
	b->cfg_rmask_inc[set] = b->cfg_rmask_exc[set] = 0;
	b->cfg_rmask_count[set] = 0;
	b->cfg_rmask_rated[set] = 0;
	for (unsigned r = 0; r < k->nrules && r < ST_KRULE_MAX; r++) {
		__u32 f = k->rules[r].flags;

		b->cfg_rmask_rated[set] |= (__u64)!!k->rate_ns[r] << r;

		b->cfg_rmask_kill[set] |= (__u64)!!(f & ST_KR_KILL) << r;
		b->cfg_rmask_stop[set] |= (__u64)!!(f & ST_KR_STOP) << r;
		b->cfg_rmask_inc[set] |= (__u64)!!(f & ST_KR_INCLUDE) << r;
		b->cfg_rmask_exc[set] |= (__u64)!!(f & ST_KR_EXCLUDE) << r;
		b->cfg_rmask_count[set] |= (__u64)!!(f & ST_KR_COUNT) << r;
	}
	_Static_assert(sizeof(b->cfg_krule_rate_ns[0]) == sizeof(k->rate_ns), "rule rates");
	_Static_assert(sizeof(b->cfg_krule_rate_name[0]) == sizeof(k->rate_name), "rule names");
	memcpy((void *)b->cfg_krule_rate_ns[set], k->rate_ns, sizeof(k->rate_ns));
	memcpy((void *)b->cfg_krule_rate_name[set], k->rate_name, sizeof(k->rate_name));
	memcpy((void *)b->cfg_krules[set], k->rules, sizeof(k->rules));
	memcpy((void *)b->cfg_rglobs[set], k->globs, sizeof(k->globs));
	memcpy((void *)b->cfg_rclasses[set], k->classes, sizeof(k->classes));
	/* The prefilter of these rules (user/rulepre.c). */
	_Static_assert(sizeof(b->cfg_kpre[0]) == sizeof(k->pre), "prefilter");
	memcpy((void *)&b->cfg_kpre[set], &k->pre, sizeof(k->pre));
}

void st_filters_set_names(struct tracer *t, const struct st_rule_names *rn)
{
	struct seatrace_bpf__bss *b = t->skel->bss;
	__u32 gen = __atomic_load_n(&b->cfg_filter_gen, __ATOMIC_RELAXED), set = (gen + 1) & 1;
	const struct st_globset *g = &rn->globs;

	b->cfg_nglobs[set] = g->nglobs;
	b->cfg_have_include[set] = g->have_include;
	memcpy((void *)b->cfg_globs[set], g->globs, sizeof(g->globs));
	memcpy((void *)b->cfg_classes[set], g->classes, sizeof(g->classes));
	_Static_assert(sizeof(b->cfg_rl_rule_ns[0]) == sizeof(rn->rate_ns), "rate slots");
	_Static_assert(sizeof(b->cfg_rl_rule_name[0]) == sizeof(rn->rule), "rate names");
	memcpy((void *)b->cfg_rl_rule_ns[set], rn->rate_ns, sizeof(rn->rate_ns));
	memcpy((void *)b->cfg_rl_rule_name[set], rn->rule, sizeof(rn->rule));
	/*
	 * The set is complete before any program can see it in use. An add, not a store: the
	 * attacher adds 2 (a new file in a slot, user/attach.c) and may do so meanwhile.
	 */
	__atomic_fetch_add(&b->cfg_filter_gen, 1, __ATOMIC_RELEASE);
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

void st_filters_set(struct tracer *t, const struct st_globset *g)
{
	static struct st_rule_names rn;

	memset(&rn, 0, sizeof(rn));
	rn.globs = *g;
	st_filters_set_names(t, &rn);
}

/* Whether a rule needs the kernel's rule evaluation, not just the event-name filter. */
static bool rule_in_kernel(const struct st_rule *r)
{
	const struct st_proc_sel *p = &r->proc;

	return r->nconds || p->have_uid || p->cgroup[0] || p->exe[0] || p->comm[0] ||
	       r->action == ST_ACT_KILL || r->action == ST_ACT_STOP || r->action == ST_ACT_COUNT;
}

/*
 * The kernel rules in force and the ones being made, in turn: action records keep pointing at
 * the rules that were in force when the action was taken, until the next apply.
 */
static struct st_rule ksrc[2][ST_RULE_MAX];
static struct st_krules kcomp[2];
static int kcur = -1;

const struct st_krules *st_rules_current(void)
{
	return kcur < 0 ? NULL : &kcomp[kcur];
}

int st_rules_apply(struct tracer *t, const struct st_globset *globs, const struct st_rule *rules,
		   int n, char *why, size_t len)
{
	static struct st_rule names[ST_RULE_MAX];
	static struct st_rule_names rn;
	const struct st_opts *o = t->opts;
	int next = kcur < 0 ? 0 : kcur ^ 1, nn = 0, nk = 0, err;
	struct st_rule *ks = ksrc[next];
	struct st_krules *k = &kcomp[next];

	for (unsigned i = 0; i < o->nrules && nk < ST_RULE_MAX; i++)
		ks[nk++] = o->rules[i];
	for (int i = 0; i < n; i++) {
		if (!rule_in_kernel(&rules[i])) {
			if (nn < ST_RULE_MAX)
				names[nn++] = rules[i];
			continue;
		}
		if (rules[i].rate_per_s && rules[i].action != ST_ACT_LOG) {
			/* policy.c refuses it already: this guards other sources of rules. */
			snprintf(why, len, "%s:%u: rule '%s': 'rate' limits what a log rule shows",
				 rules[i].src ? rules[i].src : "-", rules[i].line, rules[i].name);
			return -EINVAL;
		}
		if (nk >= ST_RULE_MAX) {
			snprintf(why, len,
				 "too many rules with conditions, selectors or actions: at most %d, "
				 "the command line's included",
				 ST_RULE_MAX);
			return -E2BIG;
		}
		ks[nk] = rules[i];
		/* The kernel's filters: a drop rule hides what it matches, as -x does. */
		ks[nk].exclude = rules[i].action == ST_ACT_DROP;
		nk++;
	}
	err = st_rules_names(globs, names, nn, &rn, why, len);
	if (err)
		return err;
	memset(k, 0, sizeof(*k));
	if (nk) {
		if (!t->skel->rodata->cfg_rules) {
			snprintf(why, len, "rules with conditions, selectors or actions were not "
					   "loaded at start: restart seatrace to add them");
			return -EINVAL;
		}
		err = st_rules_compile(ks, (unsigned)nk, k, why, len);
		if (err)
			return err;
	}
	if (t->skel->rodata->cfg_rules) {
		/* The set st_rules_set() writes: its count rules' counts kept first. */
		st_rulecount_switch(t, (t->skel->bss->cfg_filter_gen + 1) & 1, k, ks);
		st_rules_set(t, k);
	}
	st_filters_set_names(t, &rn);
	t->rec.rules = ks;
	t->rec.nrules = (unsigned)nk;
	kcur = next;
	return 0;
}

void st_policy_applied(struct tracer *t)
{
	const struct st_policy *p = t->opts->pol;

	if (!p)
		return;
	st_say("policy %s applied: %d rule%s (%d event pattern%s)", p->path, p->npolicy_rules,
	       p->npolicy_rules == 1 ? "" : "s", p->nrules, p->nrules == 1 ? "" : "s");
	if (t->rec.out)
		st_output_policy(t->rec.out, st_mono_ns(), "applied", p->path, p->npolicy_rules, 0,
				 0, NULL, 0);
}

/* A policy not applied: said on stderr and as a record; the one in force stays. */
static void policy_refused(struct tracer *t, const char *path, const struct st_policy_err *e,
			   unsigned nerrors)
{
	if (e->line)
		st_say("SIGHUP: policy %s refused (%s:%u:%u: %s%s): the running policy stays in "
		       "force; fix it and send SIGHUP again",
		       path, path, e->line, e->col, e->reason,
		       nerrors > 1 ? ", and more: see above" : "");
	else
		st_say("SIGHUP: policy %s refused (%s): the running policy stays in force; fix it "
		       "and send SIGHUP again",
		       path, e->reason);
	if (t->rec.out)
		st_output_policy(t->rec.out, st_mono_ns(), "refused", path, 0, e->line, e->col,
				 e->reason, nerrors);
}

static bool policy_same(const struct st_policy *a, const struct st_policy *b)
{
	if (!a || !b)
		return a == b;
	if (a->nrules != b->nrules || strcmp(a->path, b->path))
		return false;
	for (int i = 0; i < a->nrules; i++) {
		struct st_rule x = a->rules[i], y = b->rules[i];

		x.src = y.src = NULL;
		if (memcmp(&x, &y, sizeof(x)))
			return false;
	}
	return true;
}

void st_reload(struct tracer *t, struct st_sink *sink)
{
	struct st_opts *cur = t->opts, *n;
	const char *what = cur->config ? cur->config : cur->policy;
	char changed[512], why[256];
	int err;

	if (sink) {
		err = st_sink_reopen(sink);
		if (err)
			st_say("SIGHUP: cannot reopen %s: %s", cur->output, strerror(-err));
		else
			st_say("SIGHUP: %s reopened", cur->output);
	}
	if (!cur->config && !cur->policy)
		return;
	n = malloc(sizeof(*n));
	if (!n) {
		st_say("SIGHUP: cannot re-read %s: %s", what, strerror(ENOMEM));
		return;
	}
	/* The same command line over the files as they are now: checked exactly as at start. */
	err = st_cli_parse(cur->argc, cur->argv, n, ARGP_NO_EXIT);
	if (err && n->pol && n->pol->nerrors) {
		policy_refused(t, n->pol->path, &n->pol->first, n->pol->nerrors);
		goto out;
	}
	if (err) {
		st_say("SIGHUP: %s not applied (nothing changed): fix it and send SIGHUP again",
		       what);
		goto out;
	}
	if (st_cli_restart_needed(cur, n, changed, sizeof(changed))) {
		st_say("SIGHUP: %s changed in %s, which takes a restart of seatrace: kept as "
		       "it was",
		       changed, what);
		/* A policy added or removed is one of them: the rest is applied as usual. */
		if (!cur->policy != !n->policy)
			goto out;
	}
	if (!memcmp(&n->globs, &cur->globs, sizeof(n->globs)) && policy_same(cur->pol, n->pol)) {
		st_say("SIGHUP: %s re-read: event filters%s unchanged", what,
		       cur->policy ? " and policy" : "");
		goto out;
	}
	err = st_rules_apply(t, &n->globs, n->pol ? n->pol->rules : NULL,
			     n->pol ? n->pol->nrules : 0, why, sizeof(why));
	if (err) {
		struct st_policy_err e = {0};

		snprintf(e.reason, sizeof(e.reason), "%s", why);
		if (n->pol)
			policy_refused(t, n->pol->path, &e, 1);
		else
			st_say("SIGHUP: %s not applied (nothing changed): %s", what, why);
		goto out;
	}
	/* The @cgroup slots are not in two sets: refilled as soon as the rules switch. */
	if (st_rules_current())
		st_rules_cgroups(t, st_rules_current());
	cur->globs = n->globs;
	if (cur->config)
		st_say("SIGHUP: event filters of %s applied (%u pattern%s)", cur->config,
		       n->globs.nglobs, n->globs.nglobs == 1 ? "" : "s");
	if (n->pol) {
		/* The new policy is the running one: its rules (and their names) are kept. */
		struct st_policy *old = cur->pol;
		bool same = policy_same(old, n->pol);

		cur->pol = n->pol;
		n->pol = old;
		if (!same)
			st_policy_applied(t);
	}
out:
	st_cli_release(n);
	free(n);
}
