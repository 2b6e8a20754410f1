// SPDX-License-Identifier: MIT
/*
 * Health: a counter set as a stats record (JSON, text) and as Prometheus text, the metrics
 * file's atomic replacement, and the interval timer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "health.h"
#include "json.h"
#include "strbuf.h"

/* Every counter a value of its own, so a counter shown under another's name is caught. */
static void sample(struct st_health *h)
{
	memset(h, 0, sizeof(*h));
	h->uptime_ns = 12345678901ULL; /* 12.345 s */
	h->delivered = 101;
	h->filtered_name = 102;
	h->filtered_process = 103;
	h->lost[ST_LOST_RING_FULL] = 104;
	h->lost[ST_LOST_PROBE_PREEMPTED] = 105;
	h->lost[ST_LOST_PROBE_MISSED] = 106;
	h->syscalls = 107;
	h->syscalls_lost = 108;
	h->syscalls_untracked = 109;
	h->notices[ST_NOTICE_EXEC] = 110;
	h->notices[ST_NOTICE_EXIT] = 111;
	h->notices_lost[ST_NOTICE_EXEC] = 112;
	h->notices_lost[ST_NOTICE_EXIT] = 113;
	h->notices_lost[ST_NOTICE_FORK] = 114;
	h->invalid = 115;
	h->name_faults = 116;
	h->names_from_file = 126;
	h->files = 3;
	h->links = 17;
	h->processes = 9;
	h->files_attached = 5;
	h->files_released = 2;
	h->limit_files = 1;
	h->limit_processes = 4;
	h->cpu_user_us = 1500000;  /* 1.5 s */
	h->cpu_system_us = 250001; /* 0.250001 s */
	st_health_add_sink(h, "file", 7, 2);
}

static void test_seen_is_the_sum(void **state)
{
	struct st_health h;

	(void)state;
	sample(&h);
	assert_int_equal(st_health_lost_total(&h), 104 + 105 + 106);
	assert_int_equal(st_health_seen(&h), 101 + 102 + 103 + 104 + 105 + 106);
}

static void test_sinks_bounded(void **state)
{
	struct st_health h = {};

	(void)state;
	for (int i = 0; i < ST_HEALTH_SINKS; i++)
		assert_int_equal(st_health_add_sink(&h, "a-name-much-longer-than-the-room", 1, 1),
				 0);
	assert_int_equal(st_health_add_sink(&h, "x", 1, 1), -ENOSPC);
	assert_int_equal(h.nsinks, ST_HEALTH_SINKS);
	assert_int_equal(strlen(h.sinks[0].name), sizeof(h.sinks[0].name) - 1);
}

static void test_json(void **state)
{
	struct st_health h;
	struct strbuf sb;
	struct jsonw w;

	(void)state;
	sample(&h);
	strbuf_init(&sb);
	jsonw_init(&w, &sb);
	jsonw_start_object(&w);
	st_health_json(&w, &h);
	jsonw_end_object(&w);
	assert_true(jsonw_complete(&w));
	assert_int_equal(jsonw_error(&w), 0);
	assert_string_equal(
	    strbuf_str(&sb),
	    "{\"uptime_s\":12.345,"
	    "\"events\":{\"seen\":621,\"delivered\":101,\"filtered_name\":102,"
	    "\"filtered_process\":103,\"rate_limited\":0,\"lost\":315},"
	    "\"lost\":{\"ring_full\":104,\"probe_preempted\":105,\"probe_missed\":106},"
	    "\"syscalls\":{\"delivered\":107,\"lost\":108,\"untracked\":109},"
	    "\"notices\":{\"exec\":110,\"exit\":111},"
	    "\"notices_lost\":{\"exec\":112,\"exit\":113,\"fork\":114},"
	    "\"invalid\":115,\"name_faults\":116,\"names_from_file\":126,"
	    "\"attached\":{\"files\":3,\"processes\":9,\"links\":17,\"files_total\":5,"
	    "\"released_total\":2},"
	    "\"not_traced\":{\"files\":1,\"processes\":4},"
	    "\"cpu_s\":{\"user\":1.500000,\"system\":0.250001},"
	    "\"sinks\":[{\"name\":\"file\",\"lines_dropped\":7,\"errors\":2}]}");
	strbuf_release(&sb);
}

static void test_text(void **state)
{
	struct st_health h;
	struct strbuf sb;

	(void)state;
	sample(&h);
	strbuf_init(&sb);
	st_health_text(&sb, &h);
	assert_int_equal(sb.err, 0);
	assert_null(strchr(strbuf_str(&sb), '\n'));
	assert_string_equal(
	    strbuf_str(&sb),
	    "--- stats uptime=12.345s seen=621 delivered=101 filtered_name=102 "
	    "filtered_process=103 rate_limited=0 lost_ring_full=104 lost_probe_preempted=105 "
	    "lost_probe_missed=106 syscalls=107 syscalls_lost=108 syscalls_untracked=109 "
	    "notices_lost_exec=112 notices_lost_exit=113 notices_lost_fork=114 invalid=115 "
	    "name_faults=116 names_from_file=126 files=3 processes=9 links=17 files_total=5 released_total=2 "
	    "not_traced_files=1 not_traced_processes=4 cpu_user=1.500000s cpu_system=0.250001s "
	    "file_dropped=7 file_errors=2 ---");
	strbuf_release(&sb);
}

/* The value of the sample line `series` (name and labels, exactly), or NULL. */
static const char *prom_value(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return p + n + 1;
	return NULL;
}

static void assert_prom(const char *text, const char *series, const char *value)
{
	const char *v = prom_value(text, series);

	if (!v)
		fail_msg("no sample %s", series);
	assert_memory_equal(v, value, strlen(value));
	assert_int_equal(v[strlen(value)], '\n'); /* no timestamp: textfile refuses them */
}

static void test_prom_values(void **state)
{
	struct st_health h;
	struct strbuf sb;

	(void)state;
	sample(&h);
	strbuf_init(&sb);
	assert_int_equal(st_health_prom(&sb, &h), 0);
	const char *t = strbuf_str(&sb);

	assert_prom(t, "seatrace_uptime_seconds", "12.345");
	assert_prom(t, "seatrace_events_seen_total", "621");
	assert_prom(t, "seatrace_events_delivered_total", "101");
	assert_prom(t, "seatrace_events_filtered_total{by=\"name\"}", "102");
	assert_prom(t, "seatrace_events_filtered_total{by=\"process\"}", "103");
	assert_prom(t, "seatrace_events_filtered_total{by=\"rate\"}", "0");
	assert_prom(t, "seatrace_events_lost_total{cause=\"ring_full\"}", "104");
	assert_prom(t, "seatrace_events_lost_total{cause=\"probe_preempted\"}", "105");
	assert_prom(t, "seatrace_events_lost_total{cause=\"probe_missed\"}", "106");
	assert_prom(t, "seatrace_syscall_records_total", "107");
	assert_prom(t, "seatrace_syscall_records_lost_total{cause=\"ring_full\"}", "108");
	assert_prom(t, "seatrace_syscall_records_lost_total{cause=\"untracked\"}", "109");
	assert_prom(t, "seatrace_notices_total{kind=\"exec\"}", "110");
	assert_prom(t, "seatrace_notices_total{kind=\"exit\"}", "111");
	assert_prom(t, "seatrace_notices_lost_total{kind=\"exec\"}", "112");
	assert_prom(t, "seatrace_notices_lost_total{kind=\"exit\"}", "113");
	assert_prom(t, "seatrace_notices_lost_total{kind=\"fork\"}", "114");
	assert_prom(t, "seatrace_records_invalid_total", "115");
	assert_prom(t, "seatrace_event_name_faults_total", "116");
	assert_prom(t, "seatrace_event_names_from_file_total", "126");
	assert_prom(t, "seatrace_attached_files", "3");
	assert_prom(t, "seatrace_attached_links", "17");
	assert_prom(t, "seatrace_attached_processes", "9");
	assert_prom(t, "seatrace_files_attached_total", "5");
	assert_prom(t, "seatrace_files_released_total", "2");
	assert_prom(t, "seatrace_not_traced_total{what=\"files\"}", "1");
	assert_prom(t, "seatrace_not_traced_total{what=\"processes\"}", "4");
	assert_prom(t, "seatrace_cpu_seconds_total{mode=\"user\"}", "1.500000");
	assert_prom(t, "seatrace_cpu_seconds_total{mode=\"system\"}", "0.250001");
	assert_prom(t, "seatrace_output_lines_dropped_total{sink=\"file\"}", "7");
	assert_prom(t, "seatrace_sink_errors_total{sink=\"file\"}", "2");
	strbuf_release(&sb);
}

/*
 * The exposition format's rules, line by line: every sample's family has one HELP and one
 * TYPE, before its samples; a family's samples are contiguous; no series twice; counters end
 * in _total; every name has the seatrace_ prefix.
 */
static void test_prom_shape(void **state)
{
	struct st_health h;
	struct strbuf sb;
	char *copy, *save = NULL, *fam = NULL;
	char *seen_fams[64], *seen_series[128];
	int nfams = 0, nseries = 0;
	bool help = false, type = false, counter = false;

	(void)state;
	sample(&h);
	st_health_add_sink(&h, "journal", 0, 0);
	strbuf_init(&sb);
	assert_int_equal(st_health_prom(&sb, &h), 0);
	assert_int_equal(sb.buf[sb.len - 1], '\n');
	copy = strdup(strbuf_str(&sb));
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7)) {
			sscanf(l + 7, "%127s", name);
			if (!fam || strcmp(fam, name)) {
				/* A new family: not one seen before. */
				for (int i = 0; i < nfams; i++)
					assert_string_not_equal(seen_fams[i], name);
				fam = seen_fams[nfams++] = strdup(name);
				help = type = false;
			}
			if (l[2] == 'H') {
				assert_false(help);
				help = true;
			} else {
				assert_false(type);
				type = true;
				counter = strstr(l, " counter") != NULL;
				assert_true(counter || strstr(l, " gauge"));
			}
			continue;
		}
		/* A sample: of the current family, after its HELP and TYPE. */
		assert_non_null(fam);
		assert_true(help && type);
		size_t n = strcspn(l, "{ ");

		assert_int_equal(n, strlen(fam));
		assert_memory_equal(l, fam, n);
		assert_memory_equal(l, "seatrace_", 9);
		if (counter)
			assert_string_equal(fam + strlen(fam) - 6, "_total");
		char *sp = strrchr(l, ' ');

		*sp = 0;
		for (int i = 0; i < nseries; i++)
			assert_string_not_equal(seen_series[i], l);
		seen_series[nseries++] = strdup(l);
	}
	assert_true(nfams >= 15);
	assert_prom(strbuf_str(&sb), "seatrace_sink_errors_total{sink=\"journal\"}", "0");
	for (int i = 0; i < nfams; i++)
		free(seen_fams[i]);
	for (int i = 0; i < nseries; i++)
		free(seen_series[i]);
	free(copy);
	strbuf_release(&sb);
}

static void test_prom_label_escapes(void **state)
{
	struct st_health h = {};
	struct strbuf sb;

	(void)state;
	st_health_add_sink(&h, "a\"b\\c\nd", 1, 0);
	strbuf_init(&sb);
	assert_int_equal(st_health_prom(&sb, &h), 0);
	assert_prom(strbuf_str(&sb),
		    "seatrace_output_lines_dropped_total{sink=\"a\\\"b\\\\c\\nd\"}", "1");
	strbuf_release(&sb);
}

static void test_prom_no_sinks(void **state)
{
	struct st_health h = {};
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb);
	assert_int_equal(st_health_prom(&sb, &h), 0);
	/* A family with no sample is left out whole, HELP and TYPE too. */
	assert_null(strstr(strbuf_str(&sb), "sink_errors"));
	assert_prom(strbuf_str(&sb), "seatrace_events_seen_total", "0");
	strbuf_release(&sb);
}

static void test_write_file(void **state)
{
	char dir[] = "/tmp/st-health-XXXXXX", path[64], tmp[80], buf[64];
	struct stat st;
	FILE *f;
	mode_t old = umask(077);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/seatrace.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(st_health_write_file(path, "a 1\n", 4), 0);
	assert_int_equal(st_health_write_file(path, "b 2\n", 4), 0);
	umask(old);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_string_equal(buf, "b 2\n");
	assert_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644); /* readable by node_exporter, umask or not */
	assert_int_equal(access(tmp, F_OK), -1);   /* nothing left behind */
	/* A directory that does not exist: the errno, and the old file untouched. */
	char bad[96];

	snprintf(bad, sizeof(bad), "%s/nope/seatrace.prom", dir);
	assert_int_equal(st_health_write_file(bad, "c 3\n", 4), -ENOENT);
	unlink(path);
	rmdir(dir);
}

static void test_timer(void **state)
{
	struct st_health_timer t;

	(void)state;
	st_health_timer_init(&t, 1000, 0);
	assert_false(st_health_timer_due(&t, UINT64_MAX)); /* off */
	st_health_timer_init(&t, 1000, 100);
	assert_false(st_health_timer_due(&t, 1099));
	assert_true(st_health_timer_due(&t, 1100));
	assert_false(st_health_timer_due(&t, 1150));
	assert_true(st_health_timer_due(&t, 1210)); /* late: the pace stays */
	assert_int_equal(t.next_ns, 1300);
	assert_true(st_health_timer_due(&t, 5000)); /* far behind: one, then from now */
	assert_int_equal(t.next_ns, 5100);
	assert_false(st_health_timer_due(&t, 5050));
}

/* Count rules: a `rules` array, rule=NAME:N words, one labelled sample each. */
static void test_rules(void **state)
{
	static const struct st_rule_count rc[] = { { "quiet-imports", 42 },
						   { "a(#0=x y)", 0 } };
	struct st_health h;
	struct strbuf sb;
	struct jsonw w;

	(void)state;
	sample(&h);
	h.rules = rc;
	h.nrules = 2;
	strbuf_init(&sb);
	jsonw_init(&w, &sb);
	jsonw_start_object(&w);
	st_health_json(&w, &h);
	jsonw_end_object(&w);
	assert_int_equal(jsonw_error(&w), 0);
	assert_non_null(strstr(strbuf_str(&sb), "\"rules\":[{\"rule\":\"quiet-imports\","
						"\"count\":42},{\"rule\":\"a(#0=x y)\","
						"\"count\":0}],\"sinks\":"));
	strbuf_release(&sb);
	strbuf_init(&sb);
	st_health_text(&sb, &h);
	assert_non_null(strstr(strbuf_str(&sb), " rule=quiet-imports:42 rule=\"a(#0=x y)\":0 ---"));
	strbuf_release(&sb);
	strbuf_init(&sb);
	assert_int_equal(st_health_prom(&sb, &h), 0);
	assert_prom(strbuf_str(&sb), "seatrace_rule_matches_total{rule=\"quiet-imports\"}", "42");
	assert_prom(strbuf_str(&sb), "seatrace_rule_matches_total{rule=\"a(#0=x y)\"}", "0");
	strbuf_release(&sb);
	/* None: no family at all. */
	h.nrules = 0;
	strbuf_init(&sb);
	assert_int_equal(st_health_prom(&sb, &h), 0);
	assert_null(strstr(strbuf_str(&sb), "seatrace_rule_matches_total"));
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seen_is_the_sum),
	    cmocka_unit_test(test_sinks_bounded),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_prom_values),
	    cmocka_unit_test(test_prom_shape),
	    cmocka_unit_test(test_prom_label_escapes),
	    cmocka_unit_test(test_prom_no_sinks),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_write_file),
	    cmocka_unit_test(test_timer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
