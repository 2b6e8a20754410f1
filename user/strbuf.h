/* SPDX-License-Identifier: MIT */
/*
 * A small growable byte buffer. Output formats lines into one of these and writes them with
 * fwrite() in whole lines, so a line is never half-printed when two writers share a stream.
 *
 * Errors are sticky: after an allocation failure every later append is a no-op returning
 * -ENOMEM, so callers can append a whole line and check once at the end.
 *
 * The appends used per byte of output (add, addch, addstr) are inline: when the room is
 * there, which is the rule once a buffer is reused, they are a compare and a copy.
 */
#ifndef SEATRACE_STRBUF_H
#define SEATRACE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
/* The out-of-line half of strbuf_add(): grows, then appends. */
int strbuf_add_slow(struct strbuf *sb, const void *data, size_t n);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Decimal text of an integer, as printf's %llu / %lld would write it. */
int strbuf_add_u64(struct strbuf *sb, uint64_t v);
int strbuf_add_i64(struct strbuf *sb, int64_t v);
/* Shorten the contents to `len` bytes; a no-op when they are not longer. */
void strbuf_truncate(struct strbuf *sb, size_t len);
/* Empty the buffer and clear the error; the memory is kept for the next line. */
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
/* The contents as a C string: "" when nothing was appended yet. */
const char *strbuf_str(const struct strbuf *sb);

/* True when n more bytes and the NUL fit without growing, and no error is pending. */
static inline int strbuf_has_room(const struct strbuf *sb, size_t n)
{
	return __builtin_expect(sb->cap - sb->len > n && !sb->err, 1);
}

static inline int strbuf_add(struct strbuf *sb, const void *data, size_t n)
{
	if (strbuf_has_room(sb, n)) {
		memcpy(sb->buf + sb->len, data, n);
		sb->len += n;
		sb->buf[sb->len] = '\0';
		return 0;
	}
	return strbuf_add_slow(sb, data, n);
}

static inline int strbuf_addch(struct strbuf *sb, char c)
{
	if (strbuf_has_room(sb, 1)) {
		sb->buf[sb->len++] = c;
		sb->buf[sb->len] = '\0';
		return 0;
	}
	return strbuf_add_slow(sb, &c, 1);
}

static inline int strbuf_addstr(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

/*
 * Direct writes: strbuf_reserve() makes room for n bytes and returns where they go (NULL
 * after an error); strbuf_commit() then counts the k <= n bytes actually written.
 */
static inline char *strbuf_reserve(struct strbuf *sb, size_t n)
{
	if (!strbuf_has_room(sb, n) && strbuf_grow(sb, n))
		return NULL;
	return sb->buf + sb->len;
}

static inline void strbuf_commit(struct strbuf *sb, size_t k)
{
	sb->len += k;
	sb->buf[sb->len] = '\0';
}

/* Bytes st_u64_dec() writes at most. */
#define ST_U64_DEC_MAX 20

extern const char st_digits2[200];
extern const uint64_t st_pow10[20];

/* Decimal digits of v. */
static inline unsigned st_dec_len(uint64_t v)
{
	/* v | 1 has the same number of digits, and a bit length for 0 too. */
	uint64_t x = v | 1;
	/* log10(2) ~ 1233/4096: digits from the bit length, then one compare to settle it. */
	unsigned t = (unsigned)(64 - __builtin_clzll(x)) * 1233 >> 12;

	return t + 1 - (x < st_pow10[t]);
}

/* Write the n = st_dec_len(v) decimal digits of v at out[0..n). */
static inline void st_dec_put(char *out, uint64_t v, unsigned n)
{
	char *p = out + n;

	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);

		v /= 100;
		p -= 2;
		memcpy(p, st_digits2 + 2 * r, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, st_digits2 + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
}

/* Decimal text of v at out (room for ST_U64_DEC_MAX bytes, no NUL written); its length. */
static inline unsigned st_u64_dec(char *out, uint64_t v)
{
	unsigned n = st_dec_len(v);

	st_dec_put(out, v, n);
	return n;
}

#endif /* SEATRACE_STRBUF_H */
