// SPDX-License-Identifier: MIT
/* strace's time flags on text lines (timefmt.h). */
#include "timefmt.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"

static const uint32_t pow10[10] = { 1,	    10,	     100,      1000,	  10000,
				    100000, 1000000, 10000000, 100000000, 1000000000 };

bool st_timefmt_is_default(const struct st_timefmt *f)
{
	return f->kind == ST_TS_TIME && f->digits == 6 && !f->relative;
}

/* '.' and the first `digits` digits of ns (< 1e9), cut; nothing for 0 digits. */
static void put_frac(struct strbuf *sb, uint32_t ns, unsigned digits)
{
	char buf[10];

	if (!digits)
		return;
	if (digits > 9)
		digits = 9;
	ns /= pow10[9 - digits];
	buf[0] = '.';
	for (unsigned i = digits; i > 0; i--) {
		buf[i] = (char)('0' + ns % 10);
		ns /= 10;
	}
	strbuf_add(sb, buf, digits + 1);
}

/* Whole seconds and nanoseconds of ns, flooring (a time before the epoch stays in order). */
static void split(int64_t ns, int64_t *sec, uint32_t *rem)
{
	int64_t s = ns / 1000000000, r = ns % 1000000000;

	if (r < 0) {
		s--;
		r += 1000000000;
	}
	*sec = s;
	*rem = (uint32_t)r;
}

/*
 * Local time of day of one second, remembered: lines come in bursts within a second and
 * localtime_r() costs more than a line.
 */
static __thread struct {
	bool valid;
	int64_t sec;
	char hms[8];
} hms_cache;

static void put_hms(struct strbuf *sb, int64_t sec)
{
	if (!hms_cache.valid || hms_cache.sec != sec) {
		time_t t = (time_t)sec;
		struct tm tm;

		if (!localtime_r(&t, &tm))
			memset(&tm, 0, sizeof(tm));
		memcpy(hms_cache.hms, st_digits2 + 2 * (tm.tm_hour % 100), 2);
		hms_cache.hms[2] = ':';
		memcpy(hms_cache.hms + 3, st_digits2 + 2 * (tm.tm_min % 100), 2);
		hms_cache.hms[5] = ':';
		memcpy(hms_cache.hms + 6, st_digits2 + 2 * (tm.tm_sec % 100), 2);
		hms_cache.sec = sec;
		hms_cache.valid = true;
	}
	strbuf_add(sb, hms_cache.hms, 8);
}

/* strace's "%6ld.%06ld" of a delta, '-' before the seconds when negative. */
static void put_delta(struct strbuf *sb, int64_t d, unsigned digits)
{
	uint64_t mag = d < 0 ? -(uint64_t)d : (uint64_t)d;
	char num[ST_U64_DEC_MAX + 1];
	unsigned n = 0, width;

	if (d < 0)
		num[n++] = '-';
	n += st_u64_dec(num + n, mag / 1000000000);
	for (width = n; width < 6; width++)
		strbuf_addch(sb, ' ');
	strbuf_add(sb, num, n);
	put_frac(sb, (uint32_t)(mag % 1000000000), digits);
}

int st_timefmt_prefix(struct strbuf *sb, const struct st_timefmt *f, int64_t real_ns,
		      uint64_t mono_ns, uint64_t *prev, bool *have_prev)
{
	int64_t sec;
	uint32_t rem;

	split(real_ns, &sec, &rem);
	switch (f->kind) {
	case ST_TS_TIME:
		put_hms(sb, sec);
		put_frac(sb, rem, f->digits);
		break;
	case ST_TS_UNIX:
		if (sec < 0) {
			strbuf_addch(sb, '-');
			strbuf_add_u64(sb, -(uint64_t)sec);
		} else {
			strbuf_add_u64(sb, (uint64_t)sec);
		}
		put_frac(sb, rem, f->digits);
		break;
	case ST_TS_NONE:
		break;
	}
	if (f->relative) {
		int64_t d = 0;

		/* Wrapping subtraction, then signed: mono times are far below 2^63. */
		if (*have_prev)
			d = (int64_t)(mono_ns - *prev);
		*prev = mono_ns;
		*have_prev = true;
		/* strace: "HH:MM:SS (+     0.000123) " with a stamp, "     0.000123 " alone. */
		if (f->kind != ST_TS_NONE)
			strbuf_addstr(sb, " (+");
		put_delta(sb, d, f->rel_digits);
		if (f->kind != ST_TS_NONE)
			strbuf_addch(sb, ')');
	}
	if (f->kind != ST_TS_NONE || f->relative)
		strbuf_addch(sb, ' ');
	return sb->err;
}

int st_timefmt_duration(struct strbuf *sb, const struct st_timefmt *f, uint64_t dur_ns)
{
	strbuf_addstr(sb, " <");
	strbuf_add_u64(sb, dur_ns / 1000000000);
	put_frac(sb, (uint32_t)(dur_ns % 1000000000), f->dur_digits);
	strbuf_addch(sb, '>');
	return sb->err;
}

int st_timefmt_precision(const char *s)
{
	static const char *const names[] = { "s", "ms", "us", "ns" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return 3 * i;
	return -1;
}

/* "key:value" or "value": the value if the key, when there is one, is `key`; else NULL. */
static const char *keyed(const char *item, const char *key)
{
	size_t n = strlen(key);

	if (!strncmp(item, key, n) && item[n] == ':')
		return item + n + 1;
	return strchr(item, ':') ? NULL : item;
}

int st_timefmt_parse_timestamps(struct st_timefmt *f, const char *arg, const char **why)
{
	char buf[64], *comma;
	const char *fmt, *prec = NULL;
	struct st_timefmt n = *f;

	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	comma = strchr(buf, ',');
	if (comma) {
		*comma = 0;
		prec = keyed(comma + 1, "precision");
		if (!prec)
			goto bad;
	}
	fmt = *buf ? keyed(buf, "format") : "time";
	if (!fmt)
		goto bad;
	/* strace: a bare precision in the first place ("--timestamps=ms") is one too. */
	if (!prec && st_timefmt_precision(fmt) >= 0) {
		prec = fmt;
		fmt = "time";
	}
	if (!strcmp(fmt, "time"))
		n.kind = ST_TS_TIME;
	else if (!strcmp(fmt, "unix"))
		n.kind = ST_TS_UNIX;
	else if (!strcmp(fmt, "none"))
		n.kind = ST_TS_NONE;
	else
		goto bad;
	n.digits = 0;
	if (prec) {
		int d = st_timefmt_precision(prec);

		if (d < 0)
			goto bad;
		n.digits = (uint8_t)d;
	}
	*f = n;
	return 0;
bad:
	*why = "give [format:]time|unix|none and/or [precision:]s|ms|us|ns, as in "
	       "--timestamps=unix,us";
	return -EINVAL;
}
