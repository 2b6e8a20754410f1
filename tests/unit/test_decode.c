// SPDX-License-Identifier: MIT
/*
 * Record validation and value helpers. Records are built byte by byte, then copied into a
 * heap block of exactly their size, so that ASan reports any read past the end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "output.h"
#include "strbuf.h"

#include "recbuild.h"

/* ---- records (built with recbuild.h) ----------------------------------------------------- */

/* The record in a heap block of exactly its size (ASan's redzone starts right after). */
static void *exact_copy(const void *data, size_t size)
{
	void *p = malloc(size ? size : 1);

	assert_non_null(p);
	memcpy(p, data, size);
	return p;
}

static int decode_exact(const void *data, size_t size, struct st_view *v)
{
	void *p = exact_copy(data, size);
	int err = st_decode_event(p, size, v);

	free(p);
	return err;
}

/* A record using every tag, nested: used by several tests and by the fuzz loops. */
static void build_rich(struct rec *r)
{
	static const uint32_t ucs2[] = { 0xe9, 0x20ac, 0xdc80 };
	static const uint32_t ucs4[] = { 0x1f600 };
	static const uint32_t two_100[] = { 0, 0, 0, 1 << 10 };
	int32_t line = 42;

	rec_begin(r, "open", 0);
	v_cont(r, ST_V_TUPLE, 14, 14);
	v_str(r, "/tmp/x");
	v_ucsn(r, 2, ucs2, 3, 3);
	v_ucsn(r, 4, ucs4, 1, 1);
	v_digits(r, two_100, 4, true);
	v_float(r, 0.1);
	v_leaf(r, ST_V_NONE);
	v_leaf(r, ST_V_TRUE);
	rec_val(r, ST_V_BYTES, ST_VF_TRUNC, "ab\0'", 4, 0, 10);
	v_cont(r, ST_V_LIST, 2, 5); /* [False, {'k': (...)}, ...] */
	v_leaf(r, ST_V_FALSE);
	v_cont(r, ST_V_DICT, 2, 1);
	v_str(r, "k");
	rec_val(r, ST_V_TUPLE, ST_VF_TRUNC | ST_VF_DEPTH, NULL, 0, 0, 3);
	rec_val(r, ST_V_CODE, 0, &line, 4, 2, 0);
	v_str(r, "/tmp/m.py");
	v_str(r, "<module>");
	rec_val(r, ST_V_OTHER, 0, "socket", 6, 0, 6);
	v_leaf(r, ST_V_FAULT);
	rec_val(r, ST_V_BYTEARRAY, 0, "\xff", 1, 0, 1);
	rec_val(r, 200, 0, "??", 2, 0, 0); /* unknown tag: kept */
	rec_end(r);
}

/* ---- valid records ---------------------------------------------------------------------- */

static void test_minimal_record(void **state)
{
	struct rec r;
	struct st_view v;

	rec_begin(&r, "os.fork", 0);
	v_cont(&r, ST_V_TUPLE, 0, 0);
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), 0);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	assert_ptr_equal(v.hdr, (const void *)r.buf);
	assert_int_equal(v.name_len, 7);
	assert_memory_equal(v.name, "os.fork", 7);
	assert_int_equal(v.nvalues, 1);
	assert_int_equal(v.values_len, sizeof(struct st_value));
	assert_false(v.truncated);
	assert_int_equal(v.hdr->pid, 1234);
}

static void test_no_values(void **state)
{
	struct rec r;
	struct st_view v;

	rec_begin(&r, "x", ST_EF_ARGS_FAULT);
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), 0);
	assert_int_equal(v.nvalues, 0);
	assert_int_equal(v.values_len, 0);
}

static void test_every_tag_walks_in_order(void **state)
{
	static const uint8_t want[] = {
		ST_V_TUPLE, ST_V_STR,	ST_V_STR,   ST_V_STR,  ST_V_INT,   ST_V_FLOAT,
		ST_V_NONE,  ST_V_TRUE,	ST_V_BYTES, ST_V_LIST, ST_V_FALSE, ST_V_DICT,
		ST_V_STR,   ST_V_TUPLE, ST_V_CODE,  ST_V_STR,  ST_V_STR,   ST_V_OTHER,
		ST_V_FAULT, ST_V_BYTEARRAY, 200,
	};
	struct rec r;
	struct st_view v;
	struct st_cursor c;
	struct st_val val;
	size_t i = 0;
	void *p;

	build_rich(&r);
	p = exact_copy(r.buf, r.len);
	assert_int_equal(st_decode_event(p, r.len, &v), 0);
	assert_int_equal(v.nvalues, sizeof(want));
	/* The cut bytes, the cut list and the depth-limited tuple make the event truncated. */
	assert_true(v.truncated);
	st_cursor_init(&c, &v);
	while (st_value_next(&c, &val) == 1) {
		assert_true(i < sizeof(want));
		assert_int_equal(val.tag, want[i]);
		i++;
	}
	assert_int_equal(i, sizeof(want));
	assert_int_equal(st_value_next(&c, &val), 0);
	assert_ptr_equal(c.pos, c.end);
	free(p);
}

static void test_skip_children(void **state)
{
	struct rec r;
	struct st_view v;
	struct st_cursor c;
	struct st_val val;

	build_rich(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	st_cursor_init(&c, &v);
	assert_int_equal(st_value_next(&c, &val), 1);
	/* The arguments tuple holds everything: skipping it ends the stream. */
	assert_int_equal(st_value_skip_children(&c, &val), 0);
	assert_int_equal(c.left, 0);
	assert_ptr_equal(c.pos, c.end);
}

static void test_truncation_flags(void **state)
{
	struct rec r;
	struct st_view v;

	/* Nothing cut. */
	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	v_str(&r, "abc");
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), 0);
	assert_false(v.truncated);

	/* A str shorter than its length, even without the TRUNC flag. */
	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	rec_val(&r, ST_V_STR, 1 << ST_VF_KIND_SHIFT, "ab", 2, 0, 3);
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), 0);
	assert_true(v.truncated);

	/* A cut name. */
	rec_begin(&r, "e", ST_EF_NAME_TRUNC);
	v_cont(&r, ST_V_TUPLE, 0, 0);
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), 0);
	assert_true(v.truncated);

	/* A cut int. */
	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	rec_val(&r, ST_V_INT, ST_VF_TRUNC, "\0\0\0\0", 4, 0, 100);
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), 0);
	assert_true(v.truncated);
}

static void test_unknown_tags_kept(void **state)
{
	struct rec r;
	struct st_view v;

	/* A newer probe's tag, with a payload and children of its own: still delimited. */
	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 2, 2);
	rec_val(&r, 0, 0, NULL, 0, 0, 0);
	rec_val(&r, ST_V_TAG_MAX, 0, "xyz", 3, 2, 0);
	v_leaf(&r, ST_V_NONE);
	v_str(&r, "a");
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), 0);
	assert_false(v.truncated);
}

static void test_code_without_line_or_children(void **state)
{
	struct rec r;
	struct st_view v;

	/* The probe had no room for the line, nor budget for filename and name. */
	rec_begin(&r, "exec", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	rec_val(&r, ST_V_CODE, ST_VF_TRUNC, NULL, 0, 0, 0);
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), 0);
	assert_true(v.truncated);
}

static void test_deepest_allowed_nesting(void **state)
{
	struct rec r;
	struct st_view v;
	int i;

	/* Containers with children at depths 0..ST_MAX_DEPTH, then a summarised one. */
	rec_begin(&r, "e", 0);
	for (i = 0; i <= ST_MAX_DEPTH; i++)
		v_cont(&r, ST_V_TUPLE, 1, 1);
	rec_val(&r, ST_V_LIST, ST_VF_TRUNC | ST_VF_DEPTH, NULL, 0, 0, 7);
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), 0);
	assert_true(v.truncated);
}

/* ---- malformed records ------------------------------------------------------------------- */

static void expect_invalid(struct rec *r)
{
	struct st_view v;

	rec_end(r);
	assert_int_equal(decode_exact(r->buf, r->len, &v), -EINVAL);
}

static void test_short_buffers(void **state)
{
	struct rec r;
	struct st_view v;
	size_t n;

	build_rich(&r);
	/* Every cut of a valid record: the size field no longer matches, or nothing is there. */
	for (n = 0; n < r.len; n++)
		assert_int_equal(decode_exact(r.buf, n, &v), -EINVAL);
	/* Header-only prefixes whose size field does match are still too short for a header. */
	for (n = offsetof(struct st_event, ts_ns); n < sizeof(struct st_event); n++) {
		uint32_t size = (uint32_t)n;

		memcpy(r.buf + offsetof(struct st_event, size), &size, sizeof(size));
		assert_int_equal(decode_exact(r.buf, n, &v), -EINVAL);
	}
	assert_int_equal(st_decode_event(NULL, 0, &v), -EINVAL);
	assert_int_equal(st_decode_event(r.buf, 0, &v), -EINVAL);
}

static void test_size_field_mismatch(void **state)
{
	struct rec r;
	struct st_view v;
	uint32_t size;

	build_rich(&r);
	size = (uint32_t)r.len + 1;
	memcpy(r.buf + offsetof(struct st_event, size), &size, sizeof(size));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EINVAL);
	size = (uint32_t)r.len - 1;
	memcpy(r.buf + offsetof(struct st_event, size), &size, sizeof(size));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EINVAL);
	/* Received bytes beyond what the record says it has. */
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len + 8, &v), -EINVAL);
}

static void test_unknown_record_type(void **state)
{
	struct rec r;
	struct st_view v;
	uint16_t type = 77;

	build_rich(&r);
	memcpy(r.buf, &type, sizeof(type));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EPROTO);
	/* The type is known from the common prefix alone, whatever follows. */
	assert_int_equal(decode_exact(r.buf, 8, &v), -EPROTO);
	type = 0;
	memcpy(r.buf, &type, sizeof(type));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EPROTO);
}

static void test_name_len_past_end(void **state)
{
	struct rec r;
	struct st_view v;
	uint16_t nl;

	rec_begin(&r, "open", 0);
	rec_end(&r);
	nl = 5;
	memcpy(r.buf + offsetof(struct st_event, name_len), &nl, sizeof(nl));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EINVAL);
	nl = 0xffff;
	memcpy(r.buf + offsetof(struct st_event, name_len), &nl, sizeof(nl));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EINVAL);
}

static void test_name_longer_than_probe_keeps(void **state)
{
	char name[ST_NAME_MAX + 2];
	struct rec r;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	rec_begin(&r, name, 0);
	expect_invalid(&r);
}

static void test_nvalues_mismatch(void **state)
{
	struct rec r;
	struct st_view v;
	uint16_t nv;

	build_rich(&r);
	/* More values promised than present: the walk runs out of bytes. */
	nv = (uint16_t)(r.nvalues + 1);
	memcpy(r.buf + offsetof(struct st_event, nvalues), &nv, sizeof(nv));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EINVAL);
	/* Fewer: the last value's bytes are trailing garbage. */
	nv = (uint16_t)(r.nvalues - 1);
	memcpy(r.buf + offsetof(struct st_event, nvalues), &nv, sizeof(nv));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EINVAL);
	/* More than the probe can ever write. */
	nv = ST_MAX_VALUES + 1;
	memcpy(r.buf + offsetof(struct st_event, nvalues), &nv, sizeof(nv));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EINVAL);
}

static void test_trailing_garbage(void **state)
{
	struct rec r;

	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 0, 0);
	r.buf[r.len++] = 0;
	expect_invalid(&r);
}

static void test_nchild_overflow(void **state)
{
	struct rec r;

	/* A tuple promising 5 children with 2 there. */
	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 5, 5);
	v_leaf(&r, ST_V_NONE);
	v_leaf(&r, ST_V_NONE);
	expect_invalid(&r);

	/* A nested container whose children run past its parent's last value. */
	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	v_cont(&r, ST_V_LIST, 0xffffffff, 0xffffffff);
	v_leaf(&r, ST_V_NONE);
	expect_invalid(&r);
}

static void test_len_past_end(void **state)
{
	struct rec r;
	struct st_view v;
	uint16_t len = 100;

	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	v_str(&r, "abcd");
	rec_end(&r);
	/* The str's len field (after tag and flags) claims more than the record holds. */
	memcpy(r.buf + r.len - 4 - sizeof(struct st_value) + 2, &len, sizeof(len));
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EINVAL);
}

static void test_header_past_end(void **state)
{
	struct rec r;
	struct st_view v;

	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	v_leaf(&r, ST_V_NONE);
	rec_end(&r);
	/* The last header cut in half, size field adjusted: it does not fit. */
	r.len -= 8;
	rec_end(&r);
	assert_int_equal(decode_exact(r.buf, r.len, &v), -EINVAL);
}

static void test_nesting_too_deep(void **state)
{
	struct rec r;
	int i;

	rec_begin(&r, "e", 0);
	for (i = 0; i <= ST_MAX_DEPTH + 1; i++)
		v_cont(&r, ST_V_TUPLE, 1, 1);
	v_leaf(&r, ST_V_NONE);
	expect_invalid(&r);

	/* Unknown tags are bounded too. */
	rec_begin(&r, "e", 0);
	for (i = 0; i <= ST_MAX_DEPTH + 2; i++)
		rec_val(&r, 99, 0, NULL, 0, 1, 0);
	v_leaf(&r, ST_V_NONE);
	expect_invalid(&r);
}

static void test_str_payload_multiple(void **state)
{
	struct rec r;

	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	rec_val(&r, ST_V_STR, 2 << ST_VF_KIND_SHIFT, "abc", 3, 0, 3);
	expect_invalid(&r);

	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	rec_val(&r, ST_V_STR, 4 << ST_VF_KIND_SHIFT, "abcdef", 6, 0, 3);
	expect_invalid(&r);

	/* Kinds other than 1, 2, 4. */
	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	rec_val(&r, ST_V_STR, 3 << ST_VF_KIND_SHIFT, "abc", 3, 0, 1);
	expect_invalid(&r);

	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	rec_val(&r, ST_V_STR, 0, "", 0, 0, 0);
	expect_invalid(&r);

	/* More code points kept than the str has. */
	rec_begin(&r, "e", 0);
	v_cont(&r, ST_V_TUPLE, 1, 1);
	rec_val(&r, ST_V_STR, 1 << ST_VF_KIND_SHIFT, "abc", 3, 0, 2);
	expect_invalid(&r);
}

static void test_bad_payload_sizes(void **state)
{
	static const struct {
		uint8_t tag, flags;
		uint16_t len;
		uint32_t nchild;
		uint64_t total;
	} bad[] = {
		{ ST_V_INT, 0, 3, 0, 1 },	      /* not whole digits */
		{ ST_V_INT, 0, 4 * (ST_MAX_DIGITS + 1), 0, ST_MAX_DIGITS + 1 },
		{ ST_V_FLOAT, 0, 4, 0, 0 },
		{ ST_V_FLOAT, 0, 0, 0, 0 },
		{ ST_V_CODE, 0, 2, 0, 0 },
		{ ST_V_CODE, 0, 4, 3, 0 },
		{ ST_V_NONE, 0, 1, 0, 0 },	      /* singletons have no payload */
		{ ST_V_FAULT, 0, 1, 0, 0 },
		{ ST_V_BYTES, 0, 5, 0, 4 },	      /* more kept than the whole */
		{ ST_V_OTHER, 0, 5, 0, 4 },
		{ ST_V_TUPLE, 0, 1, 0, 0 },	      /* containers have no payload */
		{ ST_V_TUPLE, 0, 0, 2, 1 },	      /* more children than items */
		{ ST_V_DICT, 0, 0, 1, 1 },	      /* half a pair */
		{ ST_V_DICT, 0, 0, 4, 1 },	      /* more pairs than the dict has */
		{ ST_V_LIST, ST_VF_DEPTH, 0, 1, 1 },  /* summarised, yet children follow */
		{ ST_V_NONE, 0, 0, 1, 0 },	      /* a leaf with children */
		{ ST_V_STR, 1 << ST_VF_KIND_SHIFT, 0, 1, 0 },
	};
	static uint8_t zeros[4 * (ST_MAX_DIGITS + 1)];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec r;
		uint32_t k;

		rec_begin(&r, "e", 0);
		v_cont(&r, ST_V_TUPLE, 1, 1);
		rec_val(&r, bad[i].tag, bad[i].flags, zeros, bad[i].len, bad[i].nchild,
			bad[i].total);
		for (k = 0; k < bad[i].nchild && k < 8; k++)
			v_leaf(&r, ST_V_NONE);
		expect_invalid(&r);
	}
}

static void test_misaligned_buffer(void **state)
{
	struct rec r;
	struct st_view v;
	uint8_t *p;

	build_rich(&r);
	p = malloc(r.len + 1);
	assert_non_null(p);
	memcpy(p + 1, r.buf, r.len);
	assert_int_equal(st_decode_event(p + 1, r.len, &v), -EINVAL);
	free(p);
}

/* ---- value helpers ------------------------------------------------------------------------ */

static const char *decimal(const uint32_t *d, size_t n, bool neg)
{
	static char out[700];
	struct strbuf sb = STRBUF_INIT;
	struct rec r;
	struct st_view v;
	struct st_cursor c;
	struct st_val val;

	rec_begin(&r, "e", 0);
	v_digits(&r, d, n, neg);
	rec_end(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	st_cursor_init(&c, &v);
	assert_int_equal(st_value_next(&c, &val), 1);
	assert_int_equal(st_int_to_decimal(&val, &sb), 0);
	snprintf(out, sizeof(out), "%s", strbuf_str(&sb));
	strbuf_release(&sb);
	return out;
}

static void test_int_decimal(void **state)
{
	static const uint32_t one[] = { 1 }, two30[] = { 0, 1 }, two_100[] = { 0, 0, 0, 1 << 10 },
			      two_200[] = { 0, 0, 0, 0, 0, 0, 1 << 20 },
			      /* 2**64 - 1 = 15 * 2**60 + (2**60 - 1) */
			      u64max[] = { 0x3fffffff, 0x3fffffff, 15 },
			      /* 10**18 in 30-bit digits, with a zero top digit kept */
			      e18[] = { 0x27640000, 0x3782dace, 0 };
	static uint32_t all[ST_MAX_DIGITS];
	const char *s;

	/* Expected values from python3: 2**100, -(2**200), 2**64-1, 10**18, 2**1920-1. */
	assert_string_equal(decimal(NULL, 0, false), "0");
	assert_string_equal(decimal(NULL, 0, true), "0");
	assert_string_equal(decimal(one, 1, false), "1");
	assert_string_equal(decimal(one, 1, true), "-1");
	assert_string_equal(decimal(two30, 2, false), "1073741824");
	assert_string_equal(decimal(two_100, 4, false), "1267650600228229401496703205376");
	assert_string_equal(decimal(two_200, 7, true),
			    "-1606938044258990275541962092341162602522202993782792835301376");
	assert_string_equal(decimal(u64max, 3, false), "18446744073709551615");
	assert_string_equal(decimal(e18, 3, false), "1000000000000000000");
	for (size_t i = 0; i < ST_MAX_DIGITS; i++)
		all[i] = 0x3fffffff;
	s = decimal(all, ST_MAX_DIGITS, false);
	assert_int_equal(strlen(s), 578);
	assert_memory_equal(s, "94971145180789141405", 20);
	assert_string_equal(s + 558, "04589281308443672575");
}

/* Decimal text of a 128-bit value, written the slow way, for reference. */
static void u128_text(unsigned __int128 x, bool neg, char *out)
{
	char tmp[64];
	size_t n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + (int)(x % 10));
		x /= 10;
	} while (x);
	if (neg && !(n == 1 && tmp[0] == '0'))
		out[i++] = '-';
	while (n)
		out[i++] = tmp[--n];
	out[i] = '\0';
}

/* Ints of 0 to 4 digits (the 64-bit fast path and the general one) against a reference. */
static void test_int_decimal_random(void **state)
{
	uint64_t seed = 0x243f6a8885a308d3ull;
	uint32_t d[4];
	char want[64];

	for (int iter = 0; iter < 200000; iter++) {
		size_t n = (size_t)(iter % 5), i;
		unsigned __int128 x = 0;
		bool neg = iter & 8;

		for (i = 0; i < n; i++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			switch (seed >> 62) {
			case 0:
				d[i] = 0;
				break;
			case 1:
				d[i] = 0x3fffffff;
				break;
			default:
				d[i] = (uint32_t)seed & 0x3fffffff;
				if (seed & (1ull << 40))
					d[i] &= 0x3ff;
			}
		}
		for (i = n; i-- > 0;)
			x = x << 30 | d[i];
		u128_text(x, neg, want);
		assert_string_equal(decimal(d, n, neg), want);
	}
}

static void test_int_small(void **state)
{
	static const uint8_t two[8] = { 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, 0xff, 0x3f };
	static const uint8_t bad[8] = { 1, 0, 0, 0x40, 0, 0, 0, 0 };
	struct st_val v = { .tag = ST_V_INT };
	uint64_t mag = 12345;

	v.payload = two;
	v.len = 0;
	assert_true(st_int_small(&v, &mag));
	assert_int_equal(mag, 0);
	v.len = 4;
	assert_true(st_int_small(&v, &mag));
	assert_int_equal(mag, 0x3fffffff);
	v.len = 8;
	assert_true(st_int_small(&v, &mag));
	assert_int_equal(mag, (1ull << 60) - 1);
	/* Three digits, or a digit of more than 30 bits: not small. */
	v.len = 12;
	assert_false(st_int_small(&v, &mag));
	v.payload = bad;
	v.len = 4;
	assert_false(st_int_small(&v, &mag));
}

static void test_int_bad_digit(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct rec r;
	struct st_view v;
	struct st_cursor c;
	struct st_val val;
	static const uint32_t d[] = { 1, 0x40000000, 0x80000000, 5 };
	static const struct {
		size_t off, n;
	} cases[] = { { 0, 2 }, { 1, 1 }, { 2, 1 }, { 0, 3 }, { 1, 3 } };

	/* Not a 30-bit digit: the record is fine, the number cannot be shown. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rec_begin(&r, "e", 0);
		v_digits(&r, d + cases[i].off, cases[i].n, true);
		rec_end(&r);
		assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
		st_cursor_init(&c, &v);
		assert_int_equal(st_value_next(&c, &val), 1);
		assert_int_equal(st_int_to_decimal(&val, &sb), -ERANGE);
		assert_int_equal(sb.len, 0);
	}
	strbuf_release(&sb);
}

static const char *wtf8(unsigned kind, const uint32_t *cu, size_t n)
{
	static char out[256];
	struct strbuf sb = STRBUF_INIT;
	struct rec r;
	struct st_view v;
	struct st_cursor c;
	struct st_val val;

	rec_begin(&r, "e", 0);
	v_ucsn(&r, kind, cu, n, n);
	rec_end(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	st_cursor_init(&c, &v);
	assert_int_equal(st_value_next(&c, &val), 1);
	assert_int_equal(st_str_len(&val), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(st_str_char(&val, i), kind == 2 ? (cu[i] & 0xffff) : cu[i]);
	assert_int_equal(st_str_to_wtf8(&val, &sb), 0);
	snprintf(out, sizeof(out), "%s", strbuf_str(&sb));
	strbuf_release(&sb);
	return out;
}

static void test_str_to_wtf8(void **state)
{
	static const uint32_t ucs2[] = { 0xe9, 0x20ac, 0xdc80 },
			      ucs4[] = { 0x1f600, 'x' }, pair[] = { 0xd83d, 0xde00 },
			      rev[] = { 0xde00, 0xd83d }, huge[] = { 0x110000 };
	struct rec r;
	struct st_view v;
	struct st_cursor c;
	struct st_val val;
	struct strbuf sb = STRBUF_INIT;

	rec_begin(&r, "e", 0);
	rec_val(&r, ST_V_STR, 1 << ST_VF_KIND_SHIFT, "a\xe9\xff", 3, 0, 3);
	rec_end(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	st_cursor_init(&c, &v);
	assert_int_equal(st_value_next(&c, &val), 1);
	st_str_to_wtf8(&val, &sb);
	assert_string_equal(strbuf_str(&sb), "a\xc3\xa9\xc3\xbf");
	strbuf_release(&sb);

	assert_string_equal(wtf8(2, ucs2, 3), "\xc3\xa9\xe2\x82\xac\xed\xb2\x80");
	assert_string_equal(wtf8(4, ucs4, 2), "\xf0\x9f\x98\x80x");
	/* A surrogate pair is one code point in WTF-8; reversed, two lone surrogates. */
	assert_string_equal(wtf8(2, pair, 2), "\xf0\x9f\x98\x80");
	assert_string_equal(wtf8(2, rev, 2), "\xed\xb8\x80\xed\xa0\xbd");
	assert_string_equal(wtf8(4, huge, 1), "\xef\xbf\xbd");
}

static void test_tag_names(void **state)
{
	assert_string_equal(st_value_tag_name(ST_V_TUPLE), "tuple");
	assert_string_equal(st_value_tag_name(ST_V_LIST), "list");
	assert_string_equal(st_value_tag_name(ST_V_DICT), "dict");
	assert_null(st_value_tag_name(0));
	assert_null(st_value_tag_name(ST_V_TAG_MAX));
	assert_true(st_value_tag_known(ST_V_FAULT));
	assert_false(st_value_tag_known(ST_V_TAG_MAX));
}

/* ---- fuzz-style loops ---------------------------------------------------------------------- */

/* Decode, and when a record passes, format it both ways: neither may misbehave. */
static void decode_and_format(const uint8_t *data, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	struct st_view v;
	void *p = exact_copy(data, size);

	if (st_decode_event(p, size, &v) == 0) {
		assert_int_equal(st_format_event(&sb, &v, ST_FMT_TEXT, 0), 0);
		assert_int_equal(st_format_event(&sb, &v, ST_FMT_JSON, 0), 0);
	}
	strbuf_release(&sb);
	free(p);
}

static void test_fuzz_flip_every_byte(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x02, 0x10, 0x80, 0xff };
	struct rec r;
	static uint8_t m[ST_REC_MAX] __attribute__((aligned(8)));
	size_t pos, k;

	build_rich(&r);
	for (pos = 0; pos < r.len; pos++) {
		for (k = 0; k < sizeof(masks); k++) {
			memcpy(m, r.buf, r.len);
			m[pos] ^= masks[k];
			decode_and_format(m, r.len);
		}
		memcpy(m, r.buf, r.len);
		m[pos] = 0;
		decode_and_format(m, r.len);
	}
}

static void test_fuzz_trim_with_fixed_size(void **state)
{
	struct rec r;
	static uint8_t m[ST_REC_MAX] __attribute__((aligned(8)));
	size_t n;

	build_rich(&r);
	/* Cut at every length, with the size field (and the value count) made to agree. */
	for (n = 0; n <= r.len; n++) {
		for (uint16_t nv = 0; nv <= r.nvalues; nv += 5) {
			memcpy(m, r.buf, r.len);
			if (n >= sizeof(struct st_event)) {
				uint32_t size = (uint32_t)n;

				memcpy(m + offsetof(struct st_event, size), &size, sizeof(size));
				memcpy(m + offsetof(struct st_event, nvalues), &nv, sizeof(nv));
			}
			decode_and_format(m, n);
		}
	}
}

static void test_fuzz_random_mutations(void **state)
{
	struct rec r;
	static uint8_t m[ST_REC_MAX] __attribute__((aligned(8)));
	uint64_t x = 88172645463325252ull;
	unsigned accepted = 0;

	build_rich(&r);
	for (int iter = 0; iter < 30000; iter++) {
		size_t len = r.len;
		int flips;

		memcpy(m, r.buf, r.len);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		flips = 1 + (int)(x % 4);
		for (int f = 0; f < flips; f++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* Mostly the value stream, where the interesting structure is. */
			size_t pos = (x >> 8) % len;

			m[pos] = (uint8_t)(x >> 40);
		}
		if (iter % 3 == 0) {
			uint32_t size;

			len = sizeof(struct st_event) +
			      (size_t)(x >> 20) % (r.len - sizeof(struct st_event));
			size = (uint32_t)len;
			memcpy(m + offsetof(struct st_event, size), &size, sizeof(size));
		}
		{
			struct st_view v;
			void *p = exact_copy(m, len);

			accepted += st_decode_event(p, len, &v) == 0;
			free(p);
		}
		decode_and_format(m, len);
	}
	/* Some mutations (payload bytes) keep the record valid: formatting ran on those. */
	assert_true(accepted > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_record),
		cmocka_unit_test(test_no_values),
		cmocka_unit_test(test_every_tag_walks_in_order),
		cmocka_unit_test(test_skip_children),
		cmocka_unit_test(test_truncation_flags),
		cmocka_unit_test(test_unknown_tags_kept),
		cmocka_unit_test(test_code_without_line_or_children),
		cmocka_unit_test(test_deepest_allowed_nesting),
		cmocka_unit_test(test_short_buffers),
		cmocka_unit_test(test_size_field_mismatch),
		cmocka_unit_test(test_unknown_record_type),
		cmocka_unit_test(test_name_len_past_end),
		cmocka_unit_test(test_name_longer_than_probe_keeps),
		cmocka_unit_test(test_nvalues_mismatch),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_nchild_overflow),
		cmocka_unit_test(test_len_past_end),
		cmocka_unit_test(test_header_past_end),
		cmocka_unit_test(test_nesting_too_deep),
		cmocka_unit_test(test_str_payload_multiple),
		cmocka_unit_test(test_bad_payload_sizes),
		cmocka_unit_test(test_misaligned_buffer),
		cmocka_unit_test(test_int_decimal),
		cmocka_unit_test(test_int_decimal_random),
		cmocka_unit_test(test_int_small),
		cmocka_unit_test(test_int_bad_digit),
		cmocka_unit_test(test_str_to_wtf8),
		cmocka_unit_test(test_tag_names),
		cmocka_unit_test(test_fuzz_flip_every_byte),
		cmocka_unit_test(test_fuzz_trim_with_fixed_size),
		cmocka_unit_test(test_fuzz_random_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
