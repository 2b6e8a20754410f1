/* SPDX-License-Identifier: MIT */
/*
 * A small growable byte buffer. Output formats a whole line into one of these and writes it
 * with a single fwrite(), so a line is never half-printed when two writers share a stream.
 *
 * Errors are sticky: after an allocation failure every later append is a no-op returning
 * -ENOMEM, so callers can append a whole line and check once at the end.
 */
#ifndef SEATRACE_STRBUF_H
#define SEATRACE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;  /* NUL-terminated once anything was appended; NULL before */
	size_t len; /* bytes used, the NUL not counted */
	size_t cap; /* bytes allocated */
	int err;    /* 0 or -ENOMEM, sticky until strbuf_reset() */
};

#define STRBUF_INIT { 0 }

void strbuf_init(struct strbuf *sb);
/* Make room for `extra` more bytes (plus the NUL). 0 or -ENOMEM. */
int strbuf_grow(struct strbuf *sb, size_t extra);
int strbuf_add(struct strbuf *sb, const void *data, size_t n);
int strbuf_addch(struct strbuf *sb, char c);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Shorten the contents to `len` bytes; a no-op when they are not longer. */
void strbuf_truncate(struct strbuf *sb, size_t len);
/* Empty the buffer and clear the error; the memory is kept for the next line. */
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
/* The contents as a C string: "" when nothing was appended yet. */
const char *strbuf_str(const struct strbuf *sb);

#endif /* SEATRACE_STRBUF_H */
