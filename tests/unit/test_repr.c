// SPDX-License-Identifier: MIT
/*
 * Python's repr() of decoded values called directly, and the str.isprintable() table it
 * escapes by (the values' texts in whole lines are in test_output.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode.h"
#include "repr.h"
#include "strbuf.h"

#include "recbuild.h"

static bool have_python3(void)
{
	return system("command -v python3 >/dev/null 2>&1") == 0;
}

static void test_repr_value(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct st_cursor c;
	struct st_view v;
	struct rec r;

	rec_begin(&r, "e", 0);
	v_tuple(&r, 2);
	v_str(&r, "a");
	v_tuple(&r, 1);
	v_int(&r, 1);
	rec_end(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	st_cursor_init(&c, &v);
	assert_int_equal(st_repr_value(&sb, &c), 0);
	assert_string_equal(strbuf_str(&sb), "('a', (1,))");
	assert_int_equal(c.left, 0);
	assert_int_equal(st_repr_value(&sb, &c), -EINVAL); /* nothing left */
	strbuf_release(&sb);
}

/* ---- str.isprintable() ---------------------------------------------------------------- */

static void test_printable_spot_checks(void **state)
{
	static const uint32_t yes[] = { ' ', 'a', '~', 0xe9, 0x20ac, 0x1f600, 0x4e2d };
	static const uint32_t no[] = { 0,      0x1f,   0x7f,    0x85,	0xa0,	    0xad,
				       0x2028, 0xd800, 0xdc80,	0xe000, 0xe0001, 0x10ffff,
				       0x110000 };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(st_unicode_printable(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(st_unicode_printable(no[i]));
}

static void test_printable_matches_python(void **state)
{
	char path[] = "/tmp/seatrace-test-uni-XXXXXX", cmd[1024];
	int fd, rc;
	FILE *f;

	if (!have_python3())
		skip();
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (uint32_t cp = 0; cp < 0x110000; cp++)
		fputc(st_unicode_printable(cp) ? '1' : '0', f);
	fclose(f);
	/* The table is Unicode 14 (CPython 3.11): compare only with a python3 of that version. */
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import sys, unicodedata\n"
		 "if unicodedata.unidata_version != \"14.0.0\": sys.exit(77)\n"
		 "got = open(sys.argv[1]).read()\n"
		 "bad = [c for c in range(0x110000) if (got[c] == \"1\") != chr(c).isprintable()]\n"
		 "print(\"mismatches:\", [hex(c) for c in bad[:10]]) if bad else None\n"
		 "sys.exit(1 if bad else 0)' %s",
		 path);
	rc = system(cmd);
	unlink(path);
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77)
		skip();
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repr_value),
		cmocka_unit_test(test_printable_spot_checks),
		cmocka_unit_test(test_printable_matches_python),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
