// SPDX-License-Identifier: MIT
#include "strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char st_digits2[200] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
			     "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
			     "8081828384858687888990919293949596979899";

const uint64_t st_pow10[20] = {
	1ull,
	10ull,
	100ull,
	1000ull,
	10000ull,
	100000ull,
	1000000ull,
	10000000ull,
	100000000ull,
	1000000000ull,
	10000000000ull,
	100000000000ull,
	1000000000000ull,
	10000000000000ull,
	100000000000000ull,
	1000000000000000ull,
	10000000000000000ull,
	100000000000000000ull,
	1000000000000000000ull,
	10000000000000000000ull,
};

void strbuf_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

int strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->err)
		return sb->err;
	if (extra > SIZE_MAX - sb->len - 1)
		goto nomem;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(sb->buf, cap);
	if (!p)
		goto nomem;
	sb->buf = p;
	sb->cap = cap;
	return 0;
nomem:
	sb->err = -ENOMEM;
	return sb->err;
}

int strbuf_add_slow(struct strbuf *sb, const void *data, size_t n)
{
	int err = strbuf_grow(sb, n);

	if (err)
		return err;
	if (n)
		memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_add_u64(struct strbuf *sb, uint64_t v)
{
	unsigned n = st_dec_len(v);
	char *p = strbuf_reserve(sb, n);

	if (!p)
		return sb->err;
	st_dec_put(p, v, n);
	strbuf_commit(sb, n);
	return 0;
}

int strbuf_add_i64(struct strbuf *sb, int64_t v)
{
	if (v < 0) {
		strbuf_addch(sb, '-');
		return strbuf_add_u64(sb, -(uint64_t)v);
	}
	return strbuf_add_u64(sb, (uint64_t)v);
}

int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, err;

	if (sb->err)
		return sb->err;
	/* Try in the space we have first: most appends are short. */
	err = strbuf_grow(sb, 64);
	if (err)
		return err;
	va_copy(ap2, ap);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		sb->buf[sb->len] = '\0';
		sb->err = -EINVAL;
		return sb->err;
	}
	if ((size_t)n >= sb->cap - sb->len) {
		err = strbuf_grow(sb, (size_t)n);
		if (err) {
			sb->buf[sb->len] = '\0';
			return err;
		}
		vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
	return 0;
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return err;
}

void strbuf_truncate(struct strbuf *sb, size_t len)
{
	if (len >= sb->len)
		return;
	sb->len = len;
	sb->buf[len] = '\0';
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->err = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	strbuf_init(sb);
}

const char *strbuf_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}
