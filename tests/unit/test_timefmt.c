// SPDX-License-Identifier: MIT
/*
 * strace's time flags (timefmt.c) as strace 6.1 prints them, on whole output lines
 * (output.c), and -ff's files (sink_split.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "output.h"
#include "pair.h"
#include "sink.h"
#include "strbuf.h"
#include "timefmt.h"
#include "recbuild.h"

/* 2023-11-14 22:13:20.123456789 UTC */
#define REAL 1700000000123456789LL

static char *prefix(const struct st_timefmt *f, int64_t real, uint64_t mono, uint64_t *prev,
		    bool *have)
{
	static struct strbuf sb = STRBUF_INIT;

	strbuf_reset(&sb);
	assert_int_equal(st_timefmt_prefix(&sb, f, real, mono, prev, have), 0);
	strbuf_addch(&sb, 0);
	return sb.buf;
}

static void test_absolute(void **state)
{
	struct st_timefmt f = ST_TIMEFMT_DEFAULT;
	uint64_t prev = 0;
	bool have = false;

	(void)state;
	assert_true(st_timefmt_is_default(&f));
	assert_string_equal(prefix(&f, REAL, 5, &prev, &have), "22:13:20.123456 ");
	f.digits = 0; /* -t */
	assert_string_equal(prefix(&f, REAL, 5, &prev, &have), "22:13:20 ");
	f.digits = 3;
	assert_string_equal(prefix(&f, REAL, 5, &prev, &have), "22:13:20.123 ");
	f.digits = 9;
	assert_string_equal(prefix(&f, REAL, 5, &prev, &have), "22:13:20.123456789 ");
	f.kind = ST_TS_UNIX; /* -ttt */
	f.digits = 6;
	assert_string_equal(prefix(&f, REAL, 5, &prev, &have), "1700000000.123456 ");
	f.digits = 0;
	assert_string_equal(prefix(&f, REAL, 5, &prev, &have), "1700000000 ");
	/* Cut, not rounded, as strace: .999999999 stays in its second. */
	f.digits = 6;
	assert_string_equal(prefix(&f, 1999999999, 5, &prev, &have), "1.999999 ");
	f.kind = ST_TS_NONE;
	assert_string_equal(prefix(&f, REAL, 5, &prev, &have), "");
	assert_false(have); /* -r not asked: nothing remembered */
}

/* strace -r: "%6ld.%06ld ", the first 0; with a stamp "(+%6ld.%06ld)". */
static void test_relative(void **state)
{
	struct st_timefmt f = ST_TIMEFMT_DEFAULT;
	uint64_t prev = 0;
	bool have = false;

	(void)state;
	f.kind = ST_TS_NONE;
	f.relative = true;
	assert_string_equal(prefix(&f, REAL, 1000, &prev, &have), "     0.000000 ");
	assert_string_equal(prefix(&f, REAL, 1000 + 123456, &prev, &have), "     0.000123 ");
	assert_string_equal(prefix(&f, REAL, 1000 + 123456 + 12000000000ULL, &prev, &have),
			    "    12.000000 ");
	/* A span's line carries its start: earlier than the line before it. */
	assert_string_equal(prefix(&f, REAL, 1000 + 123456, &prev, &have), "   -12.000000 ");
	assert_string_equal(prefix(&f, REAL, 1000 + 123456 + 1234567000000000ULL, &prev, &have),
			    "1234567.000000 ");
	f.rel_digits = 9;
	assert_string_equal(prefix(&f, REAL, 1000 + 123456 + 1234567000000000ULL + 7, &prev, &have),
			    "     0.000000007 ");
	f.rel_digits = 0;
	assert_string_equal(prefix(&f, REAL, 1000 + 123456 + 1234568000000000ULL, &prev, &have),
			    "     0 ");
	f.kind = ST_TS_TIME;
	f.digits = 0;
	f.rel_digits = 6;
	have = false;
	assert_string_equal(prefix(&f, REAL, 50, &prev, &have), "22:13:20 (+     0.000000) ");
	assert_string_equal(prefix(&f, REAL, 3758050, &prev, &have), "22:13:20 (+     0.003758) ");
}

static void test_duration(void **state)
{
	struct st_timefmt f = ST_TIMEFMT_DEFAULT;
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	st_timefmt_duration(&sb, &f, 66000);
	st_timefmt_duration(&sb, &f, 1999999999);
	f.dur_digits = 9;
	st_timefmt_duration(&sb, &f, 3);
	f.dur_digits = 0;
	st_timefmt_duration(&sb, &f, 2500000000ULL);
	strbuf_addch(&sb, 0);
	assert_string_equal(sb.buf, " <0.000066> <1.999999> <0.000000003> <2>");
	strbuf_release(&sb);
}

static void test_parse(void **state)
{
	struct st_timefmt f = ST_TIMEFMT_DEFAULT;
	const char *why = NULL;

	(void)state;
	assert_int_equal(st_timefmt_precision("s"), 0);
	assert_int_equal(st_timefmt_precision("ms"), 3);
	assert_int_equal(st_timefmt_precision("us"), 6);
	assert_int_equal(st_timefmt_precision("ns"), 9);
	assert_int_equal(st_timefmt_precision("ps"), -1);
	assert_int_equal(st_timefmt_parse_timestamps(&f, "unix,us", &why), 0);
	assert_int_equal(f.kind, ST_TS_UNIX);
	assert_int_equal(f.digits, 6);
	assert_int_equal(st_timefmt_parse_timestamps(&f, "format:time,precision:ns", &why), 0);
	assert_int_equal(f.kind, ST_TS_TIME);
	assert_int_equal(f.digits, 9);
	assert_int_equal(st_timefmt_parse_timestamps(&f, "", &why), 0); /* --timestamps */
	assert_int_equal(f.kind, ST_TS_TIME);
	assert_int_equal(f.digits, 0);
	assert_int_equal(st_timefmt_parse_timestamps(&f, "ms", &why), 0);
	assert_int_equal(f.kind, ST_TS_TIME);
	assert_int_equal(f.digits, 3);
	assert_int_equal(st_timefmt_parse_timestamps(&f, "none", &why), 0);
	assert_int_equal(f.kind, ST_TS_NONE);
	f = ST_TIMEFMT_DEFAULT;
	assert_int_equal(st_timefmt_parse_timestamps(&f, "iso", &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(st_timefmt_parse_timestamps(&f, "unix,fs", &why), -EINVAL);
	assert_int_equal(st_timefmt_parse_timestamps(&f, "precision:us,unix", &why), -EINVAL);
	assert_true(st_timefmt_is_default(&f)); /* a refused one changes nothing */
}

/* ---- whole lines -------------------------------------------------------------------------- */

static void event_at(struct st_view *v, struct rec *r, const char *name, uint64_t ts, long arg)
{
	struct rec_hdr h = REC_HDR_DEFAULT;

	h.ts_ns = ts;
	rec_begin_hdr(r, name, strlen(name), &h);
	v_tuple(r, 1);
	v_int(r, arg);
	rec_end(r);
	assert_int_equal(st_decode_event(r->buf, r->len, v), 0);
}

static struct st_output *text_output(FILE *f, const struct st_timefmt *tf)
{
	struct st_output_opts o = { .fmt = ST_FMT_TEXT, .out = f, .timefmt = tf };

	/* 1 s after boot is REAL's second. */
	o.mono_to_real_ns = REAL - 123456789 - 1000000000;
	return st_output_new(&o);
}

/* -ttt -r -T on events and a span: the stamps, deltas and duration of each line. */
static void test_lines(void **state)
{
	struct st_timefmt tf = ST_TIMEFMT_DEFAULT;
	struct st_output *out;
	struct rec r1, r2;
	struct st_span s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	tf.kind = ST_TS_UNIX;
	tf.relative = true;
	tf.durations = true;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	out = text_output(f, &tf);
	assert_non_null(out);
	memset(&s, 0, sizeof(s));
	event_at(&s.pre, &r1, "prehook:x", 1000000000, 1);
	event_at(&s.post, &r2, "posthook:x", 1000250000, 2);
	assert_int_equal(st_output_event(out, &s.pre), 0);
	assert_int_equal(st_output_event(out, &s.post), 0);
	strcpy(s.name, "x");
	s.name_len = 1;
	s.start_ns = 1000000000;
	s.end_ns = 1000250000;
	s.dur_ns = 250000;
	s.pid = 1234;
	s.tid = 1235;
	assert_int_equal(st_output_span(out, &s), 0);
	st_output_free(out);
	fclose(f);
	assert_string_equal(buf, "1700000000.000000 (+     0.000000) 1234/1235 python3.11 "
				 "prehook:x(1)\n"
				 "1700000000.000250 (+     0.000250) 1234/1235 python3.11 "
				 "posthook:x(2)\n"
				 "1700000000.000000 (+    -0.000250) 1234/1235 python3.11 "
				 "== x(1) -> 2 <0.000250>\n");
	free(buf);

	/* Without -T a span keeps its own `<0.000250s>`; the default stamp is -tt's. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	out = text_output(f, NULL);
	assert_int_equal(st_output_span(out, &s), 0);
	st_output_free(out);
	fclose(f);
	assert_string_equal(buf, "22:13:20.000000 1234/1235 python3.11 == x(1) -> 2 <0.000250s>\n");
	free(buf);
}

/* ---- -ff ---------------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, 0, f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

/* Whether this process has path open. */
static bool is_open(const char *path)
{
	char link[300], target[4096];
	struct dirent *d;
	bool found = false;
	DIR *dir = opendir("/proc/self/fd");

	while (dir && (d = readdir(dir)) && !found) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			found = !strcmp(target, path);
		}
	}
	if (dir)
		closedir(dir);
	return found;
}

static void test_split(void **state)
{
	char dir[] = "/tmp/seatrace-ffXXXXXX", base[300], p1[320], p2[320], why[256];
	struct st_output_opts o = { .fmt = ST_FMT_TEXT };
	struct st_timefmt tf = ST_TIMEFMT_DEFAULT;
	struct st_output *out;
	struct st_view v;
	struct rec r;
	char *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/tr", dir);
	snprintf(p1, sizeof(p1), "%s.1234", base);
	snprintf(p2, sizeof(p2), "%s.77", base);
	tf.kind = ST_TS_NONE;
	tf.relative = true;
	o.timefmt = &tf;
	o.sink = st_sink_split_new(base, ST_REC_MAX, why, sizeof(why));
	assert_non_null(o.sink);
	out = st_output_new(&o);
	assert_non_null(out);

	event_at(&v, &r, "a", 1000000000, 1);
	assert_int_equal(st_output_event(out, &v), 0);
	{
		struct rec_hdr h = REC_HDR_DEFAULT;

		h.pid = h.tid = 77;
		h.ts_ns = 1500000000;
		rec_begin_hdr(&r, "b", 1, &h);
		v_tuple(&r, 0);
		rec_end(&r);
		assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
		assert_int_equal(st_output_event(out, &v), 0);
	}
	event_at(&v, &r, "a", 3000000000, 2);
	assert_int_equal(st_output_event(out, &v), 0);
	/* Nothing of no process yet: FILE itself is not made. */
	assert_int_equal(access(base, F_OK), -1);
	assert_true(is_open(p1));
	assert_true(is_open(p2));

	/* Process 77 ends: its file is written and closed; 1234's stays open. */
	st_output_process_end(out, 77);
	assert_false(is_open(p2));
	assert_true(is_open(p1));
	s = slurp(p2);
	assert_string_equal(s, "     0.000000 77/77 python3.11 b()\n");
	free(s);
	assert_int_equal(st_output_lost(out, 4000000000, 3), 0);
	st_output_free(out);
	/* -r counts from the previous line of the same file. */
	s = slurp(p1);
	assert_string_equal(s, "     0.000000 1234/1235 python3.11 a(1)\n"
			       "     2.000000 1234/1235 python3.11 a(2)\n");
	free(s);
	s = slurp(base);
	assert_string_equal(s, "--- lost 3 events (ring buffer full) ---\n");
	free(s);
	unlink(p1);
	unlink(p2);
	unlink(base);

	/* JSON: each file starts with a header. */
	o = (struct st_output_opts){ .fmt = ST_FMT_JSON };
	o.sink = st_sink_split_new(base, ST_REC_MAX, why, sizeof(why));
	out = st_output_new(&o);
	assert_int_equal(st_output_header(out), 0);
	event_at(&v, &r, "a", 1000000000, 1);
	assert_int_equal(st_output_event(out, &v), 0);
	st_output_free(out);
	s = slurp(p1);
	assert_non_null(strstr(s, "{\"type\":\"header\",\"continued\":true,"));
	assert_ptr_equal(strstr(s, "{\"type\":\"header\""), s);
	assert_non_null(strstr(s, "\n{\"type\":\"event\",\"seq\":1,"));
	free(s);
	unlink(p1);
	rmdir(dir);

	/* A directory that cannot take files: said at once. */
	assert_null(st_sink_split_new("/nonexistent-dir/tr", ST_REC_MAX, why, sizeof(why)));
	assert_non_null(strstr(why, "/nonexistent-dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absolute), cmocka_unit_test(test_relative),
		cmocka_unit_test(test_duration), cmocka_unit_test(test_parse),
		cmocka_unit_test(test_lines),	 cmocka_unit_test(test_split),
	};

	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
