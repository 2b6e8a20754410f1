// SPDX-License-Identifier: MIT
/*
 * The policy file (policy.c) into rules, with each mistake at its line and column; what the
 * name filter takes of the rules (rulenames.c); the rate-limit drops reported once (ratelog.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"
#include "ratelog.h"
#include "rulenames.h"

static struct st_policy pol;

static int parse(const char *text, unsigned flags, char *errs, size_t len)
{
	FILE *f = fmemopen(errs, len, "w");
	int ret;

	assert_non_null(f);
	memset(errs, 0, len);
	ret = st_policy_parse("p.yaml", text, strlen(text), &pol, f, flags);
	fclose(f);
	return ret;
}

static void test_rules_and_conditions(void **state)
{
	char errs[2048];

	(void)state;
	assert_int_equal(parse("version: 1\n"
			       "rules:\n"
			       "  - name: conn\n"
			       "    events: [socket.connect, \"x*\"]\n"
			       "    args:\n"
			       "      - {arg: address, index: 1, op: \"=\", value: 22}\n"
			       "      - {arg: \"#0\", op: \"!=\", value: None}\n"
			       "      - {arg: 1, len: true, op: \">\", value: 0x10}\n"
			       "      - {arg: \"#1\", op: range, value: [1, 1024]}\n"
			       "      - {arg: \"#1\", op: \"&\", value: 0o644}\n"
			       "      - {arg: \"#1\", op: \"=\", value: \"22\"}\n"
			       "      - {arg: \"#1\", op: \"=\", value: false}\n"
			       "    process: {uid: 0, comm: \"py*\", exe: \"/usr/*\"}\n"
			       "    action: stop\n",
			       ST_POLICY_ANY_BUILD, errs, sizeof(errs)),
			 -EINVAL);
	/* "#x" is a pattern, so a named argument cannot be resolved there. */
	assert_non_null(strstr(errs, "p.yaml:6:15: argument 'address' is named, but event "
				     "pattern 'x*'"));

	assert_int_equal(parse("rules:\n"
			       "  - name: conn\n"
			       "    events: [socket.connect]\n"
			       "    args:\n"
			       "      - {arg: address, index: 1, op: \"=\", value: 22}\n"
			       "      - {arg: \"#0\", op: \"!=\", value: None}\n"
			       "      - {arg: 1, len: true, op: \">\", value: 0x10}\n"
			       "      - {arg: \"#1\", op: range, value: [1, 1024]}\n"
			       "      - {arg: \"#1\", op: \"&\", value: 0o644}\n"
			       "      - {arg: \"#1\", op: \"=\", value: \"22\"}\n"
			       "      - {arg: \"#1\", op: \"=\", value: false}\n"
			       "    process: {uid: 0, comm: \"py*\", exe: \"/usr/*\"}\n"
			       "    action: stop\n"
			       "  - {name: two, events: [a, \"b*\"], rate: 7/s}\n",
			       ST_POLICY_ANY_BUILD, errs, sizeof(errs)),
			 0);
	assert_string_equal(errs, "");
	assert_int_equal(pol.nrules, 3);
	assert_int_equal(pol.npolicy_rules, 2);
	const struct st_rule *r = &pol.rules[0];

	assert_string_equal(r->name, "conn");
	assert_string_equal(r->event, "socket.connect");
	assert_string_equal(r->src, pol.path);
	assert_int_equal(r->line, 2);
	assert_int_equal(r->action, ST_ACT_STOP);
	assert_int_equal(r->nconds, 7);
	assert_int_equal(r->conds[0].arg, 1); /* address */
	assert_int_equal(r->conds[0].index, 1);
	assert_int_equal(r->conds[0].op, ST_OP_EQ);
	assert_int_equal(r->conds[0].kind, ST_CK_INT);
	assert_int_equal(r->conds[0].lo, 22);
	assert_int_equal(r->conds[1].arg, 0);
	assert_int_equal(r->conds[1].index, -1);
	assert_int_equal(r->conds[1].op, ST_OP_NE);
	assert_int_equal(r->conds[1].kind, ST_CK_NONE);
	assert_true(r->conds[2].len);
	assert_int_equal(r->conds[2].op, ST_OP_GT);
	assert_int_equal(r->conds[2].lo, 16);
	assert_int_equal(r->conds[3].op, ST_OP_RANGE);
	assert_int_equal(r->conds[3].lo, 1);
	assert_int_equal(r->conds[3].hi, 1024);
	assert_int_equal(r->conds[4].op, ST_OP_BITS);
	assert_int_equal(r->conds[4].lo, 0644);
	/* Quoted: a string, so a pattern. */
	assert_int_equal(r->conds[5].kind, ST_CK_GLOB);
	assert_string_equal(r->conds[5].glob, "22");
	assert_int_equal(r->conds[6].kind, ST_CK_FALSE);
	assert_true(r->proc.have_uid);
	assert_int_equal(r->proc.uid, 0);
	assert_string_equal(r->proc.comm, "py*");
	assert_string_equal(r->proc.exe, "/usr/*");
	assert_string_equal(pol.rules[1].event, "a");
	assert_string_equal(pol.rules[2].event, "b*");
	assert_int_equal(pol.rules[2].rate_per_s, 7);
	assert_int_equal(pol.rules[2].action, ST_ACT_LOG);
	assert_int_equal(pol.rules[2].line, 14);

	/* Without the flag too: exe is checked in the kernel (bpf/rules.bpf.h). */
	assert_int_equal(parse("rules:\n  - name: k\n    events: [x]\n"
			       "    process: {exe: \"/usr/*\"}\n",
			       0, errs, sizeof(errs)),
			 0);
	assert_string_equal(errs, "");
	assert_int_equal(pol.nrules, 1);
	assert_string_equal(pol.rules[0].proc.exe, "/usr/*");
	/* A bad exe pattern is refused where it is. */
	assert_int_equal(parse("rules:\n  - name: k\n    events: [x]\n"
			       "    process: {exe: \"/usr/[b\"}\n",
			       0, errs, sizeof(errs)),
			 -EINVAL);
	assert_non_null(strstr(errs, "p.yaml:4:20: bad pattern '/usr/[b' for exe"));
	/* count is enforced (the kernel's rules count and hide). */
	assert_int_equal(parse("rules:\n  - name: k\n    events: [x]\n    action: count\n", 0,
			       errs, sizeof(errs)),
			 0);
	assert_string_equal(errs, "");
	assert_int_equal(pol.nrules, 1);
	assert_int_equal(pol.rules[0].action, ST_ACT_COUNT);
}

static void test_errors_in_file_order(void **state)
{
	char errs[2048];

	(void)state;
	assert_int_equal(parse("rules:\n"
			       "  - name: a\n"
			       "    events: [x]\n"
			       "    action: nope\n"
			       "    colour: red\n"
			       "  - name: a\n"
			       "    events: []\n",
			       0, errs, sizeof(errs)),
			 -EINVAL);
	assert_string_equal(
	    errs, "p.yaml:4:13: unknown action 'nope' (the actions are log, count, drop, "
		  "kill, stop)\n"
		  "p.yaml:5:5: unknown key 'colour' in a rule (the keys are: name, "
		  "description, event, events, args, process, action, rate)\n"
		  "p.yaml:6:11: rule name 'a' given twice (first at line 2)\n"
		  "p.yaml:7:13: 'events' is empty: give at least one event name or pattern\n");
	assert_int_equal(pol.nerrors, 4);
	assert_int_equal(pol.first.line, 4);
	assert_int_equal(pol.first.col, 13);
	assert_int_equal(pol.nrules, 0);

	/* Empty, not a mapping, a second document, an empty list of rules. */
	assert_int_equal(parse("", 0, errs, sizeof(errs)), -EINVAL);
	assert_string_equal(errs, "p.yaml: empty policy: give a 'rules:' list "
				  "(docs/policy-file.md)\n");
	assert_int_equal(parse("- a\n", 0, errs, sizeof(errs)), -EINVAL);
	assert_non_null(strstr(errs, "p.yaml:1:1: a policy is a mapping"));
	assert_int_equal(parse("rules: []\n---\nrules: []\n", 0, errs, sizeof(errs)), -EINVAL);
	assert_non_null(strstr(errs, "p.yaml:3:1: a second YAML document"));
	assert_int_equal(parse("rules: []\n", 0, errs, sizeof(errs)), 0);
	assert_int_equal(pol.nrules, 0);
}

static void test_rates(void **state)
{
	uint32_t v = 0;
	const char *why;

	(void)state;
	assert_int_equal(st_rate_parse("100/s", &v, &why), 0);
	assert_int_equal(v, 100);
	assert_int_equal(st_rate_parse("1000000/s", &v, &why), 0);
	for (const char *const *b = (const char *const[]){"0/s", "1000001/s", "-1/s", "1/m", "1",
							  "/s", "x/s", " 1/s", NULL};
	     *b; b++)
		assert_int_equal(st_rate_parse(*b, &v, &why), -EINVAL);
	assert_int_equal(st_rate_interval_ns(1), 1000000000);
	assert_int_equal(st_rate_interval_ns(3), 333333333);
	assert_int_equal(st_rate_interval_ns(0), 0);
}

static void test_rule_names(void **state)
{
	static struct st_rule_names rn;
	struct st_globset base = {0};
	struct st_rule r[2] = {0};
	const char *why;
	char msg[256];

	(void)state;
	assert_int_equal(st_globset_add(&base, "[ab]*", false, &why), 0);
	strcpy(r[0].name, "capped");
	strcpy(r[0].event, "x[yz]");
	r[0].rate_per_s = 4;
	strcpy(r[1].name, "quiet");
	strcpy(r[1].event, "b");
	r[1].action = ST_ACT_DROP;
	assert_int_equal(st_rules_names(&base, r, 2, &rn, msg, sizeof(msg)), 0);
	/* The rules first (their rates win the first include), then -e/-x, classes moved. */
	assert_int_equal(rn.globs.nglobs, 3);
	assert_int_equal(rn.rate_ns[0], 250000000);
	assert_string_equal(rn.rule[0], "capped");
	assert_int_equal(rn.rate_ns[1], 0);
	assert_true(rn.globs.globs[1].exclude);
	assert_true(st_globset_wants(&rn.globs, "xz", 2));
	assert_true(st_globset_wants(&rn.globs, "abc", 3));
	assert_false(st_globset_wants(&rn.globs, "b", 1));
	assert_false(st_globset_wants(&rn.globs, "xa", 2));
	assert_true(st_glob_match(&rn.globs, 2, "bz", 2));
	assert_false(st_glob_match(&rn.globs, 2, "cz", 2));

	strcpy(r[1].proc.exe, "/usr/*");
	r[1].line = 9;
	r[1].src = "f.yaml";
	/* No part of a rule is refused by this build today. */
	assert_int_equal(st_rules_names(&base, r, 2, &rn, msg, sizeof(msg)), 0);
}

static void test_ratelog(void **state)
{
	struct st_ratelog *l = st_ratelog_new(4);
	struct st_rl_key a = {.tgid = 1, .kind = ST_RL_EVENT}, b = a;

	(void)state;
	assert_non_null(l);
	strcpy(a.name, "x");
	strcpy(b.name, "y");
	assert_int_equal(st_ratelog_delta(l, &a, 0, 1), 0);
	assert_int_equal(st_ratelog_delta(l, &a, 10, 1), 10);
	assert_int_equal(st_ratelog_delta(l, &a, 10, 2), 0);
	assert_int_equal(st_ratelog_delta(l, &a, 15, 2), 5);
	assert_int_equal(st_ratelog_delta(l, &b, 3, 2), 3);
	/* A bucket made again counts from 0. */
	assert_int_equal(st_ratelog_delta(l, &a, 4, 3), 4);
	/* b, not seen in epoch 3, is forgotten: its count is new again. */
	st_ratelog_sweep(l, 3);
	assert_int_equal(st_ratelog_delta(l, &b, 3, 4), 3);
	assert_int_equal(st_ratelog_delta(l, &a, 6, 4), 2);
	st_ratelog_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_and_conditions),
	    cmocka_unit_test(test_errors_in_file_order),
	    cmocka_unit_test(test_rates),
	    cmocka_unit_test(test_rule_names),
	    cmocka_unit_test(test_ratelog),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
