// SPDX-License-Identifier: MIT
/* -c / -C summaries: merged per name across keys and processes, sorted, formatted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "strbuf.h"
#include "summary.h"

/* One name under two keys in one process (two layouts), another in three processes. */
static void fill(struct st_summary *s)
{
	assert_int_equal(st_summary_add(s, "st.b", 4, 10, 5, 100, 200), 0);
	assert_int_equal(st_summary_add(s, "st.axx", 4, 10, 7, 50, 300), 0); /* cut to "st.a" */
	assert_int_equal(st_summary_add(s, "st.a", 4, 10, 1, 0, 0), 0);    /* times unknown */
	assert_int_equal(st_summary_add(s, "st.b", 4, 11, 2, 90, 150), 0);
	assert_int_equal(st_summary_add(s, "st.b", 4, 12, 1, 400, 400), 0);
	assert_int_equal(st_summary_add(s, "z\n", 2, 12, 8, 10, 20), 0);
	assert_int_equal(st_summary_add_sys(s, 84, 2, 3), 0); /* rmdir ENOENT */
	assert_int_equal(st_summary_add_sys(s, 84, 0, 1), 0);
	assert_int_equal(st_summary_add_sys(s, 84, 1, 4), 0); /* EPERM */
	assert_int_equal(st_summary_add_sys(s, 257, 0, 9), 0);
	assert_int_equal(st_summary_finish(s), 0);
}

static void test_merge(void **state)
{
	struct st_summary s = { .syscalls = true };

	(void)state;
	fill(&s);
	assert_int_equal(s.nevents, 3);
	/* By count, most first; ties by name. */
	assert_string_equal(s.events[0].name, "st.a");
	assert_int_equal(s.events[0].count, 8);
	assert_int_equal(s.events[0].processes, 1);
	assert_int_equal(s.events[0].first_ns, 50);
	assert_int_equal(s.events[0].last_ns, 300);
	assert_string_equal(s.events[1].name, "st.b");
	assert_int_equal(s.events[1].count, 8);
	assert_int_equal(s.events[1].processes, 3);
	assert_int_equal(s.events[1].first_ns, 90);
	assert_int_equal(s.events[1].last_ns, 400);
	assert_int_equal(s.total, 24);
	assert_int_equal(s.processes, 3);
	assert_int_equal(s.ncalls, 2);
	assert_int_equal(s.calls[0].nr, 257);
	assert_int_equal(s.calls[1].nr, 84);
	assert_int_equal(s.calls[1].count, 8);
	assert_int_equal(s.calls[1].errors, 7);
	assert_int_equal(s.calls[1].nerrs, 2);
	assert_int_equal(s.calls[1].errs[0].err, 1); /* 4 EPERM before 3 ENOENT */
	assert_int_equal(s.sys_total, 17);
	st_summary_free(&s);
	assert_null(s.rows);
}

static void test_json(void **state)
{
	struct st_summary s = { .syscalls = true };
	struct strbuf sb;
	struct jsonw w;

	(void)state;
	fill(&s);
	strbuf_init(&sb);
	jsonw_init(&w, &sb);
	jsonw_start_object(&w);
	st_summary_json(&w, &s, 1000000000);
	jsonw_end_object(&w);
	assert_int_equal(jsonw_error(&w), 0);
	assert_non_null(strstr(strbuf_str(&sb),
			       "{\"events\":[{\"event\":\"st.a\",\"count\":8,\"processes\":1,"
			       "\"first\":1.000000050,\"first_ns\":1000000050,"));
	assert_non_null(strstr(strbuf_str(&sb), "{\"event\":\"z\\n\",\"count\":8,"));
	assert_non_null(strstr(strbuf_str(&sb), "\"total\":24,\"processes\":3,\"uncounted\":0"));
	assert_non_null(strstr(strbuf_str(&sb),
			       "{\"syscall\":\"rmdir\",\"nr\":84,\"count\":8,\"errors\":7,"
			       "\"errnos\":{\"EPERM\":4,\"ENOENT\":3}}"));
	/* No count rule: no rules member. */
	assert_null(strstr(strbuf_str(&sb), "\"rules\""));
	strbuf_release(&sb);
	st_summary_free(&s);
}

static void test_rules(void **state)
{
	static const struct st_rule_count rc[] = { { "quiet", 12 }, { "x\n", 0 } };
	struct st_summary s = { .rules = rc, .nrules = 2 };
	struct strbuf sb;
	struct jsonw w;

	(void)state;
	fill(&s);
	strbuf_init(&sb);
	jsonw_init(&w, &sb);
	jsonw_start_object(&w);
	st_summary_json(&w, &s, 0);
	jsonw_end_object(&w);
	assert_int_equal(jsonw_error(&w), 0);
	assert_non_null(strstr(strbuf_str(&sb), "\"rules\":[{\"rule\":\"quiet\",\"count\":12},"
						"{\"rule\":\"x\\n\",\"count\":0}]"));
	strbuf_release(&sb);
	strbuf_init(&sb);
	st_summary_text(&sb, &s, 0);
	/* Their own section, after the events' total; the events table does not hold them. */
	assert_non_null(strstr(strbuf_str(&sb), " total\n\n      count rule (counted, not shown)\n"
						"----------- ----------------\n"
						"         12 quiet\n"
						"          0 x?\n"));
	strbuf_release(&sb);
	st_summary_free(&s);
}

static void test_text(void **state)
{
	struct st_summary s = { .syscalls = true, .uncounted = 2 };
	struct strbuf sb;
	const char *t;

	(void)state;
	fill(&s);
	strbuf_init(&sb);
	st_summary_text(&sb, &s, 0);
	t = strbuf_str(&sb);
	/* Shares of the total, the name's control character shown as '?', one line each. */
	assert_non_null(strstr(t, " 33.33           8         1 "));
	assert_non_null(strstr(t, " z?\n"));
	assert_non_null(strstr(t, "100.00          24         3 "));
	assert_non_null(strstr(t, "not counted: 2 events (count map full)"));
	assert_non_null(strstr(t, "          8         7 rmdir            EPERM:4 ENOENT:3\n"));
	assert_non_null(strstr(t, "          9         0 openat\n"));
	strbuf_release(&sb);
	st_summary_free(&s);
}

static void test_empty(void **state)
{
	struct st_summary s = {};
	struct strbuf sb;

	(void)state;
	assert_int_equal(st_summary_finish(&s), 0);
	assert_int_equal(s.nevents, 0);
	strbuf_init(&sb);
	st_summary_text(&sb, &s, 0);
	assert_non_null(strstr(strbuf_str(&sb), "  0.00           0         0"));
	strbuf_release(&sb);
	st_summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
