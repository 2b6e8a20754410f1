/* SPDX-License-Identifier: MIT */
/*
 * strace's time flags on text lines (issue 13): the absolute stamp (-t HH:MM:SS, -tt with
 * microseconds, -ttt seconds since the epoch, --timestamps=FORMAT,PRECISION), the time
 * since the previous record (-r, --relative-timestamps) and a span's or syscall's duration at
 * the end of its line (-T, --syscall-times), printed as strace 6 prints them. JSON records
 * keep their own ts, ts_ns and duration_ns fields whatever these say.
 */
#ifndef SEATRACE_TIMEFMT_H
#define SEATRACE_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

struct strbuf;

enum st_ts_kind {
	ST_TS_TIME, /* time of day, local: HH:MM:SS[.fff] (seatrace's default, as -tt) */
	ST_TS_UNIX, /* seconds since the epoch: 1700000000[.fff] (-ttt) */
	ST_TS_NONE, /* no absolute stamp (-r alone, --timestamps=none) */
};

struct st_timefmt {
	enum st_ts_kind kind;
	uint8_t digits;	    /* fraction digits of the stamp: 0, 3, 6 or 9 */
	bool relative;	    /* -r: the time since the previous record of the same file */
	uint8_t rel_digits; /* its fraction digits */
	bool durations;	    /* -T: ` <S.ffffff>` at the end of span and syscall lines */
	uint8_t dur_digits; /* its fraction digits */
};

/* seatrace's text lines as they always were: HH:MM:SS.uuuuuu, no -r, no -T. */
#define ST_TIMEFMT_DEFAULT ((struct st_timefmt){ ST_TS_TIME, 6, false, 6, false, 6 })

/* True for the default stamp (output.c keeps its cached fast path for it). */
bool st_timefmt_is_default(const struct st_timefmt *f);

/*
 * The line's leading stamp and its space, appended to sb: `real_ns` the record's wall-clock
 * time (ns since the epoch), `mono_ns` its CLOCK_MONOTONIC time, used for -r against *prev
 * (the previous record's, in the same file: updated; *have_prev false for the first record,
 * whose delta is 0). A delta can be negative (a span's line, written when it closes, carries
 * the time it began): then it is printed with a '-' before its seconds. 0 or -ENOMEM.
 */
int st_timefmt_prefix(struct strbuf *sb, const struct st_timefmt *f, int64_t real_ns,
		      uint64_t mono_ns, uint64_t *prev, bool *have_prev);

/* ` <S.ffffff>`, as strace -T: the duration, cut (not rounded) to f->dur_digits. */
int st_timefmt_duration(struct strbuf *sb, const struct st_timefmt *f, uint64_t dur_ns);

/*
 * The precision names of strace's --timestamps, --relative-timestamps and --syscall-times:
 * "s", "ms", "us" or "ns" -> 0, 3, 6 or 9 digits. -1 for anything else.
 */
int st_timefmt_precision(const char *s);

/*
 * --timestamps=[[format:]FORMAT][,[precision:]PRECISION] (strace's syntax): FORMAT time,
 * unix or none; PRECISION as above. Applied to f; 0, or -EINVAL with *why set.
 */
int st_timefmt_parse_timestamps(struct st_timefmt *f, const char *arg, const char **why);

#endif /* SEATRACE_TIMEFMT_H */
