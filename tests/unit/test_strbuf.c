// SPDX-License-Identifier: MIT
/*
 * strbuf: the inline appends (room checks, sticky errors), direct writes with
 * strbuf_reserve()/strbuf_commit(), and the integer formatting that replaced printf on the
 * output path, checked against snprintf().
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strbuf.h"

static void check_u64(uint64_t v)
{
	struct strbuf sb = STRBUF_INIT;
	char want[32], got[ST_U64_DEC_MAX];
	unsigned n;

	snprintf(want, sizeof(want), "%" PRIu64, v);
	n = st_u64_dec(got, v);
	assert_int_equal(n, strlen(want));
	assert_int_equal(st_dec_len(v), n);
	assert_memory_equal(got, want, n);
	assert_int_equal(strbuf_add_u64(&sb, v), 0);
	assert_string_equal(strbuf_str(&sb), want);
	strbuf_release(&sb);
}

static void check_i64(int64_t v)
{
	struct strbuf sb = STRBUF_INIT;
	char want[32];

	snprintf(want, sizeof(want), "%" PRId64, v);
	assert_int_equal(strbuf_add_i64(&sb, v), 0);
	assert_string_equal(strbuf_str(&sb), want);
	strbuf_release(&sb);
}

static void test_integers(void **state)
{
	uint64_t p = 1, x = 0x9e3779b97f4a7c15ull;

	for (uint64_t v = 0; v < 20000; v++)
		check_u64(v);
	/* Around every power of ten and of two, where the digit count changes. */
	for (int k = 0; k < 20; k++) {
		for (int d = -2; d <= 2; d++)
			check_u64(p + (uint64_t)d);
		if (k < 19)
			p *= 10;
	}
	for (int b = 0; b < 64; b++) {
		check_u64(1ull << b);
		check_u64((1ull << b) - 1);
		check_u64((1ull << b) + 1);
	}
	check_u64(UINT64_MAX);
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_u64(x >> (x & 63));
		check_i64((int64_t)x);
	}
	check_i64(0);
	check_i64(-1);
	check_i64(INT64_MIN);
	check_i64(INT64_MAX);
}

static void test_appends_grow_and_stay_terminated(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char want[5000];
	size_t n = 0;

	for (int i = 0; i < 1000; i++) {
		strbuf_addch(&sb, (char)('a' + i % 26));
		want[n++] = (char)('a' + i % 26);
		strbuf_add(&sb, "xy", 2);
		want[n++] = 'x';
		want[n++] = 'y';
		strbuf_addstr(&sb, "z");
		want[n++] = 'z';
		assert_int_equal(sb.len, n);
		assert_int_equal(sb.buf[sb.len], '\0');
		assert_true(sb.cap > sb.len);
	}
	assert_memory_equal(sb.buf, want, n);
	strbuf_release(&sb);
}

static void test_reserve_commit(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *p;

	strbuf_addstr(&sb, "ab");
	p = strbuf_reserve(&sb, 100);
	assert_non_null(p);
	assert_true(sb.cap - sb.len > 100);
	assert_int_equal(sb.len, 2); /* nothing counted yet */
	memcpy(p, "cdef", 4);
	strbuf_commit(&sb, 3); /* fewer than reserved */
	assert_string_equal(strbuf_str(&sb), "abcde");
	strbuf_release(&sb);
}

/* After an error every append is a no-op, the inline fast paths included. */
static void test_errors_are_sticky(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "ok");
	sb.err = -ENOMEM; /* as a failed grow leaves it; the room is still there */
	assert_int_equal(strbuf_addch(&sb, 'x'), -ENOMEM);
	assert_int_equal(strbuf_add(&sb, "yz", 2), -ENOMEM);
	assert_int_equal(strbuf_addstr(&sb, "w"), -ENOMEM);
	assert_int_equal(strbuf_add_u64(&sb, 12), -ENOMEM);
	assert_int_equal(strbuf_add_i64(&sb, -12), -ENOMEM);
	assert_null(strbuf_reserve(&sb, 1));
	assert_string_equal(strbuf_str(&sb), "ok");
	strbuf_reset(&sb);
	assert_int_equal(strbuf_addch(&sb, 'x'), 0);
	assert_string_equal(strbuf_str(&sb), "x");
	/* A size that cannot be allocated sets the error. */
	assert_int_equal(strbuf_grow(&sb, SIZE_MAX - 1), -ENOMEM);
	assert_int_equal(strbuf_addch(&sb, 'y'), -ENOMEM);
	assert_string_equal(strbuf_str(&sb), "x");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_appends_grow_and_stay_terminated),
		cmocka_unit_test(test_reserve_commit),
		cmocka_unit_test(test_errors_are_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
