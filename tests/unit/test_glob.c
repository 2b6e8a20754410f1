// SPDX-License-Identifier: MIT
/*
 * The glob compiler and the kernel's matcher (bpf/glob_match.h, run here
 * step by step as bpf_loop() runs it) must agree with fnmatch(3) without
 * flags, which is the syntax seatrace documents.
 */
#include <errno.h>
#include <fnmatch.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "glob.h"

static bool match1(const char *pat, const char *name)
{
	struct st_globset set = { 0 };
	const char *why = NULL;

	assert_int_equal(st_globset_add(&set, pat, false, &why), 0);
	return st_glob_match(&set, 0, name, strlen(name));
}

static const char *const patterns[] = {
	"open",	      "socket.*",   "*",	 "*.*",		"s?cket.connect", "[so]*",
	"[!o]*",      "[^o]*",	    "os.[a-m]*", "*connect",	"*.__*",	  "a*b*c",
	"**",	      "*?",	    "?*?",	 "[]]x",	"[!]]*",	  "[a-]*",
	"\\*lit",     "x\\?y",	    "[.]*",	 "*[0-9]",	"builtins.id",	  "prehook:*",
	"*/result",   "c*o*m*p*e", "[a-c][d-f]?", "?v?nement", "caf?", "?uro", "??", "?!",
	"*?", "*??", "caf*", "[\xc3\xa9]v\xc3\xa9nement", "[!\xc3\xa9]*", "caf[\xc3\xa0-\xc3\xbf]",
	"[\xe2\x82\xac$]uro", "[^a-z\xc3\xa9]*",
};

static const char *const names[] = {
	"open",
	"socket.connect",
	"socket.__new__",
	"os.chdir",
	"os.rename",
	"object.__setattr__",
	"builtins.id",
	"builtins.input/result",
	"prehook:foo_event",
	"compile",
	"abc",
	"aXbYc",
	"ab",
	"]x",
	"*lit",
	"x?y",
	"xzy",
	".hidden",
	"glob.glob/2",
	"a-",
	"",
	"x",
	"cadence",
	"bdz",
	"sys.audit.with.many.dots.and.a.long.name.that.goes.on.and.on.to.make.backtracking.work.hard",
	"\xc3\xa9v\xc3\xa9nement",	/* événement: '?' takes a whole character */
	"caf\xc3\xa9",
	"\xe2\x82\xacuro",		/* €uro */
	"\xf0\x9f\x98\x80!",		/* 😀! */
};

static void test_agrees_with_fnmatch(void **state)
{
	(void)state;
	for (size_t p = 0; p < sizeof(patterns) / sizeof(*patterns); p++)
		for (size_t n = 0; n < sizeof(names) / sizeof(*names); n++) {
			bool want = fnmatch(patterns[p], names[n], 0) == 0;
			bool got = match1(patterns[p], names[n]);

			if (want != got)
				fail_msg("pattern '%s' name '%s': fnmatch %d, seatrace %d",
					 patterns[p], names[n], want, got);
		}
}

static void test_specific(void **state)
{
	(void)state;
	assert_true(match1("socket.*", "socket.connect"));
	assert_false(match1("socket.*", "socket"));
	assert_true(match1("s?cket.connect", "socket.connect"));
	assert_false(match1("open", "opens"));
	assert_false(match1("open", "ope"));
	assert_true(match1("*", ""));
	assert_true(match1("[!a]pen", "open"));
	assert_false(match1("[!o]pen", "open"));
}

static void test_invalid(void **state)
{
	struct st_globset set = { 0 };
	const char *why = NULL;
	char longpat[200];

	(void)state;
	assert_int_equal(st_globset_add(&set, "foo[", false, &why), -EINVAL);
	assert_non_null(strstr(why, "unterminated"));
	assert_int_equal(st_globset_add(&set, "", false, &why), -EINVAL);
	assert_int_equal(st_globset_add(&set, "ab\\", false, &why), -EINVAL);
	assert_int_equal(st_globset_add(&set, "[z-a]", false, &why), -EINVAL);
	memset(longpat, 'a', sizeof(longpat) - 1);
	longpat[sizeof(longpat) - 1] = 0;
	assert_int_equal(st_globset_add(&set, longpat, false, &why), -E2BIG);
	assert_int_equal(set.nglobs, 0);
	/* Stars fold, so a long run of them still fits. */
	memset(longpat, '*', sizeof(longpat) - 1);
	assert_int_equal(st_globset_add(&set, longpat, false, &why), 0);
	assert_int_equal(set.globs[0].ntok, 1);
}

/* The one-step shapes are recognised, and only when they apply. */
static void test_shapes(void **state)
{
	struct st_globset set = { 0 };
	const char *why = NULL;

	(void)state;
	assert_int_equal(st_globset_add(&set, "open", false, &why), 0);
	assert_int_equal(st_globset_add(&set, "socket.*", false, &why), 0);
	assert_int_equal(st_globset_add(&set, "a*b", false, &why), 0);
	assert_int_equal(st_globset_add(&set, "x?", false, &why), 0);
	assert_int_equal(st_globset_add(&set, "*", false, &why), 0);
	assert_int_equal(set.globs[0].shape, ST_GS_LITERAL);
	assert_int_equal(set.globs[0].nlit, 4);
	assert_int_equal(set.globs[1].shape, ST_GS_PREFIX_STAR);
	assert_int_equal(set.globs[1].nlit, 7);
	assert_int_equal(set.globs[2].shape, ST_GS_GENERAL);
	assert_int_equal(set.globs[3].shape, ST_GS_GENERAL);
	assert_int_equal(set.globs[4].shape, ST_GS_PREFIX_STAR);
	assert_true(st_glob_match(&set, 4, "", 0));
	assert_false(st_glob_match(&set, 0, "ope", 3));
	assert_false(st_glob_match(&set, 1, "socket", 6));
	assert_true(st_glob_match(&set, 1, "socket.", 7));
}

static void test_set_semantics(void **state)
{
	struct st_globset set = { 0 };
	const char *why = NULL;

	(void)state;
	/* No pattern: everything. */
	assert_true(st_globset_wants(&set, "open", 4));
	assert_int_equal(st_globset_add(&set, "socket.*", false, &why), 0);
	assert_int_equal(st_globset_add(&set, "open", false, &why), 0);
	assert_int_equal(st_globset_add(&set, "socket.__*", true, &why), 0);
	assert_true(st_globset_wants(&set, "open", 4));
	assert_true(st_globset_wants(&set, "socket.connect", 14));
	assert_false(st_globset_wants(&set, "socket.__new__", 14));
	assert_false(st_globset_wants(&set, "os.chdir", 8));

	/* Only excludes: everything else. */
	struct st_globset ex = { 0 };

	assert_int_equal(st_globset_add(&ex, "object.__*", true, &why), 0);
	assert_true(st_globset_wants(&ex, "open", 4));
	assert_false(st_globset_wants(&ex, "object.__getattr__", 18));
}

static void test_classes_shared(void **state)
{
	struct st_globset set = { 0 };
	const char *why = NULL;

	(void)state;
	assert_int_equal(st_globset_add(&set, "[ab]x", false, &why), 0);
	assert_int_equal(st_globset_add(&set, "[ab]y", false, &why), 0);
	assert_int_equal(set.nclasses, 1);
	for (int i = 0; i < ST_MAX_CLASSES - 1; i++) {
		char pat[8];

		/* Distinct one-letter classes: letters and digits only. */
		snprintf(pat, sizeof(pat), "[%c]", i < 26 ? 'A' + i : '0' + i - 26);
		if (set.nglobs < ST_MAX_GLOBS)
			assert_int_equal(st_globset_add(&set, pat, false, &why), 0);
	}
	assert_int_equal(set.nglobs, ST_MAX_GLOBS);
	assert_int_equal(st_globset_add(&set, "x", false, &why), -E2BIG);
}

int main(void)
{
	/* seatrace's '?' is one UTF-8 character: compare with fnmatch(3) in a UTF-8 locale. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agrees_with_fnmatch), cmocka_unit_test(test_specific),
		cmocka_unit_test(test_invalid),		    cmocka_unit_test(test_set_semantics),
		cmocka_unit_test(test_classes_shared),
		cmocka_unit_test(test_shapes),
	};

	return cmocka_run_group_tests_name("glob", tests, NULL, NULL);
}
