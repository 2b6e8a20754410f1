// SPDX-License-Identifier: MIT
/*
 * The filter parser (user/rule.c) and the rules' kernel form (user/rulek.c): what each
 * condition becomes, how names resolve through the events table, and every error, with the
 * column it points at.
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
#include "rule.h"
#include "rulek.h"

static struct st_rule r;
static struct st_rule_err e;

static void ok(const char *text)
{
	int err = st_rule_parse(text, &r, &e);

	if (err)
		fail_msg("'%s': %s (col %d)", text, e.msg, e.col);
}

/* The text fails, pointing at `col`, with `needle` in the message. */
static void bad(const char *text, int col, const char *needle)
{
	assert_int_equal(st_rule_parse(text, &r, &e), -EINVAL);
	if (!strstr(e.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", text, e.msg, needle);
	if (e.col != col)
		fail_msg("'%s': column %d, expected %d (%s)", text, e.col, col, e.msg);
}

static void test_plain_and_names(void **state)
{
	(void)state;
	ok("open");
	assert_string_equal(r.event, "open");
	assert_int_equal(r.nconds, 0);
	ok("open(path=/etc/*)");
	assert_string_equal(r.event, "open");
	assert_int_equal(r.nconds, 1);
	assert_int_equal(r.conds[0].arg, 0);
	assert_int_equal(r.conds[0].index, -1);
	assert_int_equal(r.conds[0].op, ST_OP_EQ);
	assert_int_equal(r.conds[0].kind, ST_CK_GLOB);
	assert_string_equal(r.conds[0].glob, "/etc/*");
	ok("open(mode=r*,flags&0x40)");
	assert_int_equal(r.nconds, 2);
	assert_int_equal(r.conds[0].arg, 1);
	assert_int_equal(r.conds[1].arg, 2);
	assert_int_equal(r.conds[1].op, ST_OP_BITS);
	assert_int_equal(r.conds[1].kind, ST_CK_INT);
	assert_int_equal(r.conds[1].lo, 0x40);
	/* A glob over several events: the name is the same position in each. */
	ok("socket.connect(address[1]=22)");
	assert_int_equal(r.conds[0].arg, 1);
	assert_int_equal(r.conds[0].index, 1);
	assert_int_equal(r.conds[0].lo, 22);
	ok("subprocess.Popen(executable=*/sh)");
	assert_int_equal(r.conds[0].arg, 0);
	/* By position, for events the table does not know. */
	ok("capellambse.setattr(#1=name)");
	assert_int_equal(r.conds[0].arg, 1);
	ok("my.event(#15[3]!=x*)");
	assert_int_equal(r.conds[0].arg, 15);
	assert_int_equal(r.conds[0].index, 3);
	assert_int_equal(r.conds[0].op, ST_OP_NE);
	/* Argument names with a dash (cpython.run_module's module-name). */
	ok("cpython.run_module(module-name=os*)");
	assert_int_equal(r.conds[0].arg, 0);
	/* socket.* : "address" is #1 of connect, bind, sendto, sendmsg alike? No: sendmsg too. */
	ok("socket.[cb]*(address[0]=127.*)");
	assert_int_equal(r.conds[0].arg, 1);
}

static void test_values(void **state)
{
	(void)state;
	ok("x.y(#0=None,#1!=True,#2=False)");
	assert_int_equal(r.conds[0].kind, ST_CK_NONE);
	assert_int_equal(r.conds[1].kind, ST_CK_TRUE);
	assert_int_equal(r.conds[1].op, ST_OP_NE);
	assert_int_equal(r.conds[2].kind, ST_CK_FALSE);
	ok("x.y(#0=-5,#1<=0x7fffffffffffffff,#2>-9223372036854775808,#3>=0,#4<1)");
	assert_int_equal(r.conds[0].lo, -5);
	assert_int_equal(r.conds[1].op, ST_OP_LE);
	assert_int_equal(r.conds[1].lo, INT64_MAX);
	assert_int_equal(r.conds[2].op, ST_OP_GT);
	assert_true(r.conds[2].lo == INT64_MIN);
	assert_int_equal(r.conds[3].op, ST_OP_GE);
	assert_int_equal(r.conds[4].op, ST_OP_LT);
	ok("x.y(#0=1..10,#1=-3..-1)");
	assert_int_equal(r.conds[0].op, ST_OP_RANGE);
	assert_int_equal(r.conds[0].lo, 1);
	assert_int_equal(r.conds[0].hi, 10);
	assert_int_equal(r.conds[1].lo, -3);
	assert_int_equal(r.conds[1].hi, -1);
	ok("x.y(len(#0)>3,len(#1[2])=0..4)");
	assert_true(r.conds[0].len);
	assert_int_equal(r.conds[0].op, ST_OP_GT);
	assert_true(r.conds[1].len);
	assert_int_equal(r.conds[1].index, 2);
	assert_int_equal(r.conds[1].op, ST_OP_RANGE);
	/* Escapes: commas and parentheses inside a value, and a class holding them. */
	ok("x.y(#0=a\\,b,#1=f\\(x\\),#2=[,)]*)");
	assert_string_equal(r.conds[0].glob, "a\\,b");
	assert_string_equal(r.conds[1].glob, "f\\(x\\)");
	assert_string_equal(r.conds[2].glob, "[,)]*");
	/* A number written to be a glob. */
	ok("x.y(#0=\\123)");
	assert_int_equal(r.conds[0].kind, ST_CK_GLOB);
	/* Dots that are no range. */
	ok("x.y(#0=/tmp/../x)");
	assert_int_equal(r.conds[0].kind, ST_CK_GLOB);
	ok("x.y()");
	assert_int_equal(r.nconds, 0);
}

static void test_selectors(void **state)
{
	(void)state;
	ok("open(@uid=0,@comm=python*,path=/x)");
	assert_true(r.proc.have_uid);
	assert_int_equal(r.proc.uid, 0);
	assert_string_equal(r.proc.comm, "python*");
	assert_int_equal(r.nconds, 1);
	ok("open(@exe=/usr/bin/*,@cgroup=/sys/fs/cgroup/x)");
	assert_string_equal(r.proc.exe, "/usr/bin/*");
	assert_string_equal(r.proc.cgroup, "/sys/fs/cgroup/x");
}

static void test_errors(void **state)
{
	(void)state;
	bad("open(pth=/etc/*)", 5, "unknown argument 'pth' of open");
	bad("open(path=/etc/*", 16, "expected ',' or ')'");
	bad("open(path)", 9, "expected an operator");
	bad("open(path=)", 10, "value is missing");
	bad("open(path<abc)", 10, "not an integer");
	bad("open(flags&abc)", 11, "not an integer");
	bad("open(path=[abc)", 10, "bad glob");
	bad("[abc(path=x)", 0, "bad glob");
	bad("(path=x)", 0, "event glob is missing");
	bad("open(flags<1..x)", 11, "not an integer");
	bad("open(path<=None)", 9, "None, True and False");
	bad("open(flags>1..2)", 10, "goes with '=' only");
	bad("open(flags=5..1)", 11, "empty range");
	bad("open(len(path)=abc)", 15, "len() is compared with a number");
	bad("open(len(path)=None)", 15, "len() is compared with a number");
	bad("open(len(path=3)", 13, "expected ')' to close len(");
	bad("open(path[x]=1)", 10, "element index");
	bad("open(path[1=1)", 11, "expected ']'");
	bad("open(#=1)", 6, "argument position");
	bad("open(#16=1)", 6, "too high");
	bad("open(=1)", 5, "expected an argument");
	bad("open(path=1,)", 12, "empty condition");
	bad("open(path=1)x", 12, "unexpected text after ')'");
	bad("open)", 4, "')' without '('");
	bad("open(flags=99999999999999999999)", 11, "out of range");
	bad("nosuch.event(path=x)", 13, "matches no event of the table");
	bad("socket.*(address=x)", 9, "but socket.__new__ has none");
	bad("*(path=x)", 2, "argument 'path' is #");
	bad("open(@user=0)", 5, "unknown selector '@user'");
	bad("open(@uid=root)", 10, "@uid takes a number");
	bad("open(@uid)", 9, "expected '='");
	bad("open(@comm=[x)", 11, "bad glob");
	bad("x.y(#0=1,#1=1,#2=1,#3=1,#4=1,#5=1,#6=1,#7=1,#8=1)", 44, "too many conditions");
}

static void test_caret(void **state)
{
	char buf[512];

	(void)state;
	bad("open(pth=/etc/*)", 5, "pth");
	st_rule_err_format(buf, sizeof(buf), "open(pth=/etc/*)", &e);
	assert_non_null(strstr(buf, "\n    open(pth=/etc/*)\n         ^"));
}

static void test_split(void **state)
{
	const char *s = "open(path=a\\,b,mode=r*),socket.*,x.y(#0=[,]),z";

	(void)state;
	assert_int_equal(st_rule_token_len(s), strlen("open(path=a\\,b,mode=r*)"));
	s += st_rule_token_len(s) + 1;
	assert_int_equal(st_rule_token_len(s), strlen("socket.*"));
	s += st_rule_token_len(s) + 1;
	assert_int_equal(st_rule_token_len(s), strlen("x.y(#0=[,])"));
	assert_true(st_rule_is_filter("open(path=x)"));
	assert_false(st_rule_is_filter("open"));
	assert_false(st_rule_is_filter("odd\\(name"));
}

static void test_compile(void **state)
{
	static struct st_rule rs[3];
	static struct st_krules k;
	char why[256];

	(void)state;
	assert_int_equal(st_rule_parse("open(path=/etc/*,flags&64,@uid=0,@comm=py*)", &rs[0], &e),
			 0);
	assert_int_equal(st_rule_parse("socket.connect(address[1]!=22)", &rs[1], &e), 0);
	rs[1].exclude = true;
	assert_int_equal(st_rule_parse("ctypes.dlopen", &rs[2], &e), 0);
	rs[2].action = ST_ACT_STOP;
	assert_int_equal(st_rules_compile(rs, 3, &k, why, sizeof(why)), 0);
	assert_int_equal(k.nrules, 3);
	assert_true(k.have_include);
	assert_true(k.have_action);
	/* Actions first in the kernel's table; each keeps its place as given (id). */
	assert_int_equal(k.rules[0].flags, ST_KR_STOP);
	assert_int_equal(k.rules[0].id, 2);
	assert_int_equal(k.rules[0].nconds, 0);
	memmove(&k.rules[0], &k.rules[1], 2 * sizeof(k.rules[0]));
	assert_int_equal(k.rules[0].flags, ST_KR_INCLUDE);
	assert_int_equal(k.rules[0].id, 0);
	assert_int_equal(k.rules[1].flags, ST_KR_EXCLUDE);
	assert_int_equal(k.rules[1].id, 1);
	/* Selectors first, then the arguments in order. */
	assert_int_equal(k.rules[0].nconds, 4);
	assert_int_equal(k.rules[0].conds[0].arg, ST_KA_UID);
	assert_int_equal(k.rules[0].conds[1].arg, ST_KA_COMM);
	assert_int_equal(k.rules[0].conds[1].op, ST_KO_GLOB);
	assert_int_equal(k.rules[0].conds[2].op, ST_KO_GLOB);
	assert_int_equal(k.rules[0].conds[3].op, ST_KO_BITS);
	assert_int_equal(k.rules[1].conds[0].flags, ST_KC_INDEX | ST_KC_NEG);
	assert_int_equal(k.rules[1].conds[0].op, ST_KO_EQ);
	assert_int_equal(k.rules[1].conds[0].index, 1);
	/* Globs: the three event globs, comm, path. */
	assert_int_equal(k.nglobs, 5);
	assert_int_equal(k.globs[k.rules[0].conds[2].glob].shape, ST_GS_PREFIX_STAR);
	/* @cgroup: a condition naming the rule's own slot of the cgroup map. */
	assert_int_equal(st_rule_parse("open(@cgroup=/sys/fs/cgroup/x)", &rs[1], &e), 0);
	assert_int_equal(st_rules_compile(rs, 2, &k, why, sizeof(why)), 0);
	assert_int_equal(k.rules[1].id, 1);
	assert_int_equal(k.rules[1].conds[0].arg, ST_KA_CGROUP);
	assert_int_equal(k.rules[1].conds[0].lo, 1);
	assert_string_equal(k.cgroup[1], "/sys/fs/cgroup/x");
	assert_null(k.cgroup[0]);
	/* @exe: a glob, a slot per distinct glob (the first rule's place), after uid and comm. */
	assert_int_equal(st_rule_parse("open(@exe=/usr/bin/*)", &rs[0], &e), 0);
	assert_int_equal(st_rule_parse("b(@uid=0,@exe=*/py*,#0=1)", &rs[1], &e), 0);
	assert_int_equal(st_rule_parse("c(@exe=/usr/bin/*)", &rs[2], &e), 0);
	assert_int_equal(st_rules_compile(rs, 3, &k, why, sizeof(why)), 0);
	assert_int_equal(k.rules[0].conds[0].arg, ST_KA_EXE);
	assert_int_equal(k.rules[0].conds[0].op, ST_KO_GLOB);
	assert_int_equal(k.rules[0].conds[0].lo, 0);
	assert_int_equal(k.globs[k.rules[0].conds[0].glob].shape, ST_GS_PREFIX_STAR);
	assert_int_equal(k.rules[1].conds[0].arg, ST_KA_UID);
	assert_int_equal(k.rules[1].conds[1].arg, ST_KA_EXE);
	assert_int_equal(k.rules[1].conds[1].lo, 1);
	assert_int_equal(k.rules[1].conds[2].arg, 0);
	assert_int_equal(k.rules[2].conds[0].lo, 0);
	assert_int_equal(st_rules_compile(rs, ST_KRULE_MAX + 1, &k, why, sizeof(why)), -E2BIG);
	/* Counts after kills and stops, before filters: the kernel evaluates them all. */
	assert_int_equal(st_rule_parse("a(#0=1)", &rs[0], &e), 0);
	assert_int_equal(st_rule_parse("b", &rs[1], &e), 0);
	rs[1].exclude = false;
	rs[1].action = ST_ACT_COUNT;
	assert_int_equal(st_rule_parse("c", &rs[2], &e), 0);
	rs[2].action = ST_ACT_KILL;
	assert_int_equal(st_rules_compile(rs, 3, &k, why, sizeof(why)), 0);
	assert_int_equal(k.rules[0].flags, ST_KR_KILL);
	assert_int_equal(k.rules[1].flags, ST_KR_COUNT);
	assert_int_equal(k.rules[1].id, 1);
	assert_int_equal(k.rules[2].flags, ST_KR_INCLUDE);
	assert_int_equal(k.rules[2].id, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_names), cmocka_unit_test(test_values),
		cmocka_unit_test(test_selectors),	cmocka_unit_test(test_errors),
		cmocka_unit_test(test_caret),		cmocka_unit_test(test_split),
		cmocka_unit_test(test_compile),
	};

	return cmocka_run_group_tests_name("rule", tests, NULL, NULL);
}
