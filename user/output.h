/* SPDX-License-Identifier: MIT */
/*
 * Formatting of validated event records as text lines (strace-like, Python repr values) or
 * JSON Lines. Every line is built in memory and written with a single fwrite(), so a line is
 * never half-printed.
 */
#ifndef SEATRACE_OUTPUT_H
#define SEATRACE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "decode.h"

struct strbuf;

enum st_format { ST_FMT_TEXT, ST_FMT_JSON };

struct st_output_opts {
	enum st_format fmt;
	FILE *out;
	int64_t mono_to_real_ns; /* add to hdr->ts_ns to get CLOCK_REALTIME ns */
};

struct st_output;

/* NULL and errno (EINVAL, ENOMEM) on failure. */
struct st_output *st_output_new(const struct st_output_opts *opts);
/* One line for the event. 0, -ENOMEM, or -EIO when the write failed. */
int st_output_event(struct st_output *o, const struct st_view *v);
/* Records lost in the ring buffer: JSON {"type":"lost","ts":..,"count":N}; a text line. */
int st_output_lost(struct st_output *o, uint64_t mono_ts_ns, uint64_t count);
/* A malformed record, never dropped silently: JSON {"type":"invalid","size":N}; a text line. */
int st_output_invalid(struct st_output *o, size_t size, int err);
void st_output_free(struct st_output *o);

/*
 * The line st_output_event() would write, appended to sb with its newline, for tests and for
 * callers with their own buffering. 0 or -errno.
 */
int st_format_event(struct strbuf *sb, const struct st_view *v, enum st_format fmt,
		    int64_t mono_to_real_ns);

/* Python's repr() of one value (and its children) read from c, appended to sb. */
int st_repr_value(struct strbuf *sb, struct st_cursor *c);
/* Python's str.isprintable() for one code point (Unicode 14, as in CPython 3.11). */
bool st_unicode_printable(uint32_t cp);

#endif /* SEATRACE_OUTPUT_H */
