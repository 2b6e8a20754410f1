// SPDX-License-Identifier: MIT
/* SIGHUP: reopen the output, re-read the configuration's filters and the policy (reload.h). */
#include "reload.h"

#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "policy.h"
#include "seatrace.skel.h" /* after wire.h, which tracer.h brings */

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
	/* The set is complete before any program can see it in use. */
	__atomic_store_n(&b->cfg_filter_gen, gen + 1, __ATOMIC_RELEASE);
}

void st_filters_set(struct tracer *t, const struct st_globset *g)
{
	static struct st_rule_names rn;

	memset(&rn, 0, sizeof(rn));
	rn.globs = *g;
	st_filters_set_names(t, &rn);
}

int st_rules_apply(struct tracer *t, const struct st_globset *globs, const struct st_rule *rules,
		   int n, char *why, size_t len)
{
	static struct st_rule_names rn;
	int err = st_rules_names(globs, rules, n, &rn, why, len);

	if (err)
		return err;
	st_filters_set_names(t, &rn);
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
