// SPDX-License-Identifier: MIT
/*
 * The JSON writer: comma placement, string escaping (control characters, invalid UTF-8 as
 * \udcXX, WTF-8 surrogates), numbers (Python repr digits for doubles), base64, misuse.
 * Every document written is also checked by a strict parser written here, independent of the
 * writer, and the whole lot once more by python3's json module when python3 is there.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>

#include "json.h"
#include "strbuf.h"

/* ---- a strict RFC 8259 parser, to check the writer's output ------------------------- */

struct jp {
	const unsigned char *s;
	size_t n, i;
	int depth;
};

static void jp_ws(struct jp *p)
{
	while (p->i < p->n && strchr(" \t\n\r", p->s[p->i]) && p->s[p->i])
		p->i++;
}

static bool jp_lit(struct jp *p, const char *lit)
{
	size_t l = strlen(lit);

	if (p->n - p->i < l || memcmp(p->s + p->i, lit, l))
		return false;
	p->i += l;
	return true;
}

/* One well-formed UTF-8 sequence (no surrogates, no overlongs, <= U+10FFFF). */
static bool jp_utf8(struct jp *p)
{
	unsigned char c = p->s[p->i];
	unsigned need, k;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		need = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, cp = c & 0x07;
	else
		return false;
	if (p->n - p->i <= need)
		return false;
	for (k = 1; k <= need; k++) {
		if ((p->s[p->i + k] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (p->s[p->i + k] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	p->i += need + 1;
	return true;
}

static bool jp_string(struct jp *p)
{
	p->i++; /* the opening quote */
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];

		if (c == '"') {
			p->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++p->i >= p->n)
				return false;
			c = p->s[p->i];
			if (c == 'u') {
				for (int k = 1; k <= 4; k++) {
					unsigned char h = p->i + k < p->n ? p->s[p->i + k] : 0;

					if (!h || !strchr("0123456789abcdefABCDEF", h))
						return false;
				}
				p->i += 5;
			} else if (c && strchr("\"\\/bfnrt", c)) {
				p->i++;
			} else {
				return false;
			}
		} else if (c >= 0x80) {
			if (!jp_utf8(p))
				return false;
		} else {
			p->i++;
		}
	}
	return false;
}

static bool jp_digits(struct jp *p)
{
	size_t start = p->i;

	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	return p->i > start;
}

static bool jp_number(struct jp *p)
{
	if (p->s[p->i] == '-')
		p->i++;
	if (p->i < p->n && p->s[p->i] == '0')
		p->i++;
	else if (p->i >= p->n || p->s[p->i] < '1' || p->s[p->i] > '9' || !jp_digits(p))
		return false;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (!jp_digits(p))
			return false;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!jp_digits(p))
			return false;
	}
	return true;
}

static bool jp_value(struct jp *p);

static bool jp_members(struct jp *p, bool object)
{
	char close = object ? '}' : ']';

	if (++p->depth > 200)
		return false;
	p->i++;
	jp_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		p->depth--;
		return true;
	}
	for (;;) {
		jp_ws(p);
		if (object) {
			if (p->i >= p->n || p->s[p->i] != '"' || !jp_string(p))
				return false;
			jp_ws(p);
			if (p->i >= p->n || p->s[p->i] != ':')
				return false;
			p->i++;
		}
		if (!jp_value(p))
			return false;
		jp_ws(p);
		if (p->i >= p->n)
			return false;
		if (p->s[p->i] == close) {
			p->i++;
			p->depth--;
			return true;
		}
		if (p->s[p->i] != ',')
			return false;
		p->i++;
	}
}

static bool jp_value(struct jp *p)
{
	jp_ws(p);
	if (p->i >= p->n)
		return false;
	switch (p->s[p->i]) {
	case '{':
		return jp_members(p, true);
	case '[':
		return jp_members(p, false);
	case '"':
		return jp_string(p);
	case 't':
		return jp_lit(p, "true");
	case 'f':
		return jp_lit(p, "false");
	case 'n':
		return jp_lit(p, "null");
	default:
		return jp_number(p);
	}
}

/* Exactly one JSON value and nothing else. */
static bool json_valid(const char *s, size_t n)
{
	struct jp p = { .s = (const unsigned char *)s, .n = n };

	if (!jp_value(&p))
		return false;
	jp_ws(&p);
	return p.i == p.n;
}

/* ---- fixtures -------------------------------------------------------------------------- */

/* Every document a test writes also goes here, one per line, for python3's check. */
static FILE *all_docs;
static char docs_path[] = "/tmp/seatrace-test-json-XXXXXX";

static struct strbuf sb;
static struct jsonw w;

static int setup(void **state)
{
	strbuf_init(&sb);
	jsonw_init(&w, &sb);
	return 0;
}

static int teardown(void **state)
{
	strbuf_release(&sb);
	return 0;
}

/* The document must be complete, error-free, valid, and exactly `want`. */
#define assert_doc(want)                                                                   \
	do {                                                                               \
		assert_int_equal(jsonw_error(&w), 0);                                      \
		assert_true(jsonw_complete(&w));                                           \
		assert_string_equal(strbuf_str(&sb), want);                                \
		assert_true(json_valid(sb.buf, sb.len));                                   \
		fprintf(all_docs, "%s\n", strbuf_str(&sb));                                \
	} while (0)

/* ---- tests ----------------------------------------------------------------------------- */

static void test_nesting_and_commas(void **state)
{
	jsonw_start_object(&w);
	jsonw_uint_field(&w, "a", 1);
	jsonw_name(&w, "b");
	jsonw_start_array(&w);
	jsonw_int(&w, 1);
	jsonw_int(&w, -2);
	jsonw_start_object(&w);
	jsonw_null_field(&w, "c");
	jsonw_end_object(&w);
	jsonw_start_array(&w);
	jsonw_end_array(&w);
	jsonw_start_object(&w);
	jsonw_end_object(&w);
	jsonw_end_array(&w);
	jsonw_bool_field(&w, "d", true);
	jsonw_bool_field(&w, "e", false);
	jsonw_string_field(&w, "f", "x");
	jsonw_end_object(&w);
	assert_doc("{\"a\":1,\"b\":[1,-2,{\"c\":null},[],{}],\"d\":true,\"e\":false,\"f\":\"x\"}");
}

static void test_top_level_scalar(void **state)
{
	jsonw_string(&w, "just a string");
	assert_doc("\"just a string\"");
}

static void test_string_escapes(void **state)
{
	static const char s[] = "q\" b\\ s/ \b\f\n\r\t \x01\x1f \x7f end";

	jsonw_string_len(&w, s, sizeof(s) - 1);
	assert_doc("\"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0001\\u001f \x7f end\"");
}

static void test_string_nul_inside(void **state)
{
	jsonw_string_len(&w, "a\0b", 3);
	assert_doc("\"a\\u0000b\"");
}

static void test_string_utf8_kept(void **state)
{
	/* é € 😀: valid UTF-8 passes through unescaped. */
	jsonw_string(&w, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_doc("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
}

static void test_string_invalid_utf8(void **state)
{
	/*
	 * Each byte that is not part of valid UTF-8 becomes \udcXX: a lone 0xff, a cut
	 * sequence, an overlong '/', an encoded surrogate, a code point above U+10FFFF, a stray
	 * continuation byte; valid text around them is kept.
	 */
	static const char s[] = "a\xff" "b\xe2\x82" "c\xc0\xaf" "d\xed\xa0\x80" "e\xf4\x90\x80\x80"
				"f\x80" "g\xe2\x82";

	jsonw_string_len(&w, s, sizeof(s) - 1);
	assert_doc("\"a\\udcffb\\udce2\\udc82c\\udcc0\\udcafd\\udced\\udca0\\udc80"
		   "e\\udcf4\\udc90\\udc80\\udc80f\\udc80g\\udce2\\udc82\"");
}

static void test_string_wtf8_surrogates(void **state)
{
	/* U+DC80 and U+D800 in their 3-byte form, then an invalid byte, then U+10FFFF. */
	static const char s[] = "\xed\xb2\x80\xed\xa0\x80\xff\xf4\x8f\xbf\xbf";

	jsonw_start_array(&w);
	jsonw_string_wtf8(&w, s, sizeof(s) - 1);
	jsonw_string_len(&w, s, 3);
	jsonw_end_array(&w);
	assert_doc("[\"\\udc80\\ud800\\udcff\xf4\x8f\xbf\xbf\",\"\\udced\\udcb2\\udc80\"]");
}

static void test_names_escaped(void **state)
{
	jsonw_start_object(&w);
	jsonw_name_len(&w, "a\"\n\xff", 4);
	jsonw_null(&w);
	jsonw_name_wtf8(&w, "\xed\xb2\x80", 3);
	jsonw_int(&w, 0);
	jsonw_name(&w, "");
	jsonw_int(&w, 1);
	jsonw_end_object(&w);
	assert_doc("{\"a\\\"\\n\\udcff\":null,\"\\udc80\":0,\"\":1}");
}

static void test_integers(void **state)
{
	jsonw_start_array(&w);
	jsonw_int(&w, INT64_MIN);
	jsonw_int(&w, INT64_MAX);
	jsonw_uint(&w, UINT64_MAX);
	jsonw_uint(&w, 0);
	jsonw_end_array(&w);
	assert_doc("[-9223372036854775808,9223372036854775807,18446744073709551615,0]");
}

static void test_doubles(void **state)
{
	/* Expected texts are Python's repr() of the same doubles. */
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0.1, "0.1" },
		{ 1e100, "1e+100" },
		{ -0.0, "-0.0" },
		{ 0.0, "0.0" },
		{ 1.5, "1.5" },
		{ 1e16, "1e+16" },
		{ 1e15, "1000000000000000.0" },
		{ 1e-5, "1e-05" },
		{ 0.0001, "0.0001" },
		{ 123.456, "123.456" },
		{ 5e-324, "5e-324" },
		{ 1.5e-323, "1.5e-323" },
		{ 1.7976931348623157e+308, "1.7976931348623157e+308" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 1e22, "1e+22" },
		{ 123456789012345678.0, "1.2345678901234568e+17" },
		{ 2.5e-5, "2.5e-05" },
		{ 100.0, "100.0" },
		{ -7.0, "-7.0" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf_reset(&sb);
		jsonw_init(&w, &sb);
		jsonw_double(&w, cases[i].v);
		assert_doc(cases[i].text);
	}
}

static void test_doubles_nonfinite(void **state)
{
	jsonw_start_array(&w);
	jsonw_double(&w, INFINITY);
	jsonw_double(&w, -INFINITY);
	jsonw_double(&w, NAN);
	jsonw_double(&w, -NAN);
	jsonw_end_array(&w);
	assert_doc("[\"inf\",\"-inf\",\"nan\",\"nan\"]");
}

static void test_number_raw(void **state)
{
	static const char big[] = "-1606938044258990275541962092341162602522202993782792835301376";

	jsonw_start_array(&w);
	jsonw_number_raw(&w, big, strlen(big));
	jsonw_number_raw(&w, "0", 1);
	jsonw_number_raw(&w, "1.5e-3", 6);
	jsonw_end_array(&w);
	assert_doc("[-1606938044258990275541962092341162602522202993782792835301376,0,1.5e-3]");
}

static void test_number_raw_rejects_non_numbers(void **state)
{
	static const char *const bad[] = {
		"", "-", "01", "1.", ".5", "1e", "+1", "nan", "1 ", "0x1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strbuf_reset(&sb);
		jsonw_init(&w, &sb);
		jsonw_number_raw(&w, bad[i], strlen(bad[i]));
		/* null keeps the document valid; the misuse is reported. */
		assert_string_equal(strbuf_str(&sb), "null");
		assert_int_equal(jsonw_error(&w), -EINVAL);
	}
}

static void test_base64(void **state)
{
	/* RFC 4648 section 10 vectors, and all byte values. */
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	unsigned char all[3] = { 0x00, 0xff, 0x80 };

	jsonw_start_array(&w);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		jsonw_base64(&w, in[i], strlen(in[i]));
	jsonw_base64(&w, all, 3);
	jsonw_end_array(&w);
	assert_doc("[\"\",\"Zg==\",\"Zm8=\",\"Zm9v\",\"Zm9vYg==\",\"Zm9vYmE=\",\"Zm9vYmFy\","
		   "\"AP+A\"]");
}

static void test_misuse_value_without_name(void **state)
{
	jsonw_start_object(&w);
	jsonw_int(&w, 1); /* no name: dropped */
	jsonw_end_object(&w);
	assert_int_equal(jsonw_error(&w), -EINVAL);
	assert_string_equal(strbuf_str(&sb), "{}");
	assert_true(json_valid(sb.buf, sb.len));
}

static void test_misuse_name_in_array_and_wrong_end(void **state)
{
	jsonw_start_array(&w);
	jsonw_name(&w, "x"); /* ignored */
	jsonw_end_object(&w); /* ignored: an array is open */
	jsonw_int(&w, 1);
	jsonw_end_array(&w);
	assert_int_equal(jsonw_error(&w), -EINVAL);
	assert_string_equal(strbuf_str(&sb), "[1]");
	assert_true(jsonw_complete(&w));
}

static void test_misuse_second_root_and_dangling_name(void **state)
{
	jsonw_int(&w, 1);
	jsonw_int(&w, 2);
	assert_string_equal(strbuf_str(&sb), "1");
	assert_int_equal(jsonw_error(&w), -EINVAL);

	strbuf_reset(&sb);
	jsonw_init(&w, &sb);
	jsonw_start_object(&w);
	jsonw_name(&w, "a");
	jsonw_end_object(&w); /* a value is due */
	assert_int_equal(jsonw_error(&w), -EINVAL);
	assert_false(jsonw_complete(&w));
}

static void test_depth_overflow_stays_valid(void **state)
{
	int i;

	/* Deeper than the stack: the innermost levels collapse to null, the rest balances. */
	for (i = 0; i < JSONW_MAX_DEPTH + 5; i++)
		jsonw_start_array(&w);
	jsonw_int(&w, 7);
	for (i = 0; i < JSONW_MAX_DEPTH + 5; i++)
		jsonw_end_array(&w);
	assert_int_equal(jsonw_error(&w), -EINVAL);
	assert_true(jsonw_complete(&w));
	assert_true(json_valid(sb.buf, sb.len));
	assert_non_null(strstr(strbuf_str(&sb), "[null]"));
	assert_null(strstr(strbuf_str(&sb), "7"));
}

static void test_utf8_next(void **state)
{
	uint32_t cp = 0;

	assert_int_equal(st_utf8_next((const unsigned char *)"A", 1, false, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(st_utf8_next((const unsigned char *)"\xc3\xa9", 2, false, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(st_utf8_next((const unsigned char *)"\xc3\xa9", 1, false, &cp), 0);
	assert_int_equal(st_utf8_next((const unsigned char *)"\xf0\x9f\x98\x80", 4, false, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(st_utf8_next((const unsigned char *)"\xed\xb2\x80", 3, false, &cp), 0);
	assert_int_equal(st_utf8_next((const unsigned char *)"\xed\xb2\x80", 3, true, &cp), 3);
	assert_int_equal(cp, 0xdc80);
	assert_int_equal(st_utf8_next((const unsigned char *)"\xe0\x80\x80", 3, true, &cp), 0);
	assert_int_equal(st_utf8_next((const unsigned char *)"\xf0\x80\x80\x80", 4, true, &cp), 0);
	assert_int_equal(st_utf8_next((const unsigned char *)"\xf4\x90\x80\x80", 4, true, &cp), 0);
	assert_int_equal(st_utf8_next((const unsigned char *)"\xc1\xbf", 2, true, &cp), 0);
	assert_int_equal(st_utf8_next((const unsigned char *)"\xc2\x41", 2, true, &cp), 0);
}

static void test_utf8_put(void **state)
{
	st_utf8_put(&sb, 'a');
	st_utf8_put(&sb, 0xe9);
	st_utf8_put(&sb, 0x20ac);
	st_utf8_put(&sb, 0x1f600);
	st_utf8_put(&sb, 0xdc80);	/* WTF-8 */
	st_utf8_put(&sb, 0x110000); /* no such code point: U+FFFD */
	assert_string_equal(strbuf_str(&sb),
			    "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xb2\x80\xef\xbf\xbd");
}

/* The fast-path writers: plain names, raw values, Latin-1 strings, writerless strings. */
static void test_plain_names_and_raw(void **state)
{
	jsonw_start_object(&w);
	jsonw_name_lit(&w, "a");
	jsonw_raw(&w, "1.50", 4);
	jsonw_name_plain(&w, "bc", 2);
	jsonw_start_array(&w);
	jsonw_raw(&w, "\"x\"", 3);
	jsonw_raw(&w, "{}", 2);
	jsonw_end_array(&w);
	jsonw_end_object(&w);
	assert_doc("{\"a\":1.50,\"bc\":[\"x\",{}]}");
}

static void test_plain_name_misuse(void **state)
{
	jsonw_start_array(&w);
	jsonw_name_lit(&w, "a"); /* no names in an array */
	jsonw_int(&w, 1);
	jsonw_end_array(&w);
	assert_int_equal(jsonw_error(&w), -EINVAL);
	assert_string_equal(strbuf_str(&sb), "[1]");
}

static void test_string_latin1(void **state)
{
	struct strbuf u = STRBUF_INIT, want = STRBUF_INIT;
	struct jsonw w2;
	uint8_t all[256];

	/* Each code unit is its code point: the same text as the UTF-8 of the same str. */
	for (int i = 0; i < 256; i++) {
		all[i] = (uint8_t)i;
		st_utf8_put(&u, (uint32_t)i);
	}
	jsonw_init(&w2, &want);
	jsonw_string_wtf8(&w2, strbuf_str(&u), u.len);
	jsonw_string_latin1(&w, all, sizeof(all));
	assert_doc(strbuf_str(&want));
	strbuf_release(&u);
	strbuf_release(&want);
}

static void test_json_string_writerless(void **state)
{
	static const char s[] = "a\"\\\n\x01\xff\xc3\xa9 \xed\xa0\x80 end";
	struct strbuf b = STRBUF_INIT;

	jsonw_string_len(&w, s, sizeof(s) - 1);
	st_json_string(&b, s, sizeof(s) - 1);
	assert_string_equal(strbuf_str(&b), strbuf_str(&sb));
	strbuf_release(&b);
	assert_doc("\"a\\\"\\\\\\n\\u0001\\udcff\xc3\xa9 \\udced\\udca0\\udc80 end\"");
}

/* A writer set up again after any state (deep, misused, overflowed) starts clean. */
static void test_writer_reuse(void **state)
{
	for (int i = 0; i < JSONW_MAX_DEPTH + 3; i++)
		jsonw_start_array(&w);
	jsonw_name(&w, "x"); /* misuse */
	strbuf_reset(&sb);
	jsonw_init(&w, &sb);
	jsonw_start_object(&w);
	jsonw_name_lit(&w, "k");
	jsonw_start_array(&w);
	jsonw_uint(&w, 1);
	jsonw_start_object(&w);
	jsonw_end_object(&w);
	jsonw_end_array(&w);
	jsonw_end_object(&w);
	assert_doc("{\"k\":[1,{}]}");
}

static void test_strbuf(void **state)
{
	struct strbuf b = STRBUF_INIT;
	char big[1000];

	assert_string_equal(strbuf_str(&b), "");
	memset(big, 'x', sizeof(big));
	strbuf_add(&b, big, sizeof(big));
	strbuf_addf(&b, "%d-%s", 42, "y");
	assert_int_equal(b.len, 1004);
	assert_string_equal(strbuf_str(&b) + 1000, "42-y");
	/* A printf longer than the spare room takes the grow-and-retry path. */
	strbuf_reset(&b);
	strbuf_addf(&b, "%.*s|", 900, big);
	assert_int_equal(b.len, 901);
	strbuf_truncate(&b, 3);
	assert_string_equal(strbuf_str(&b), "xxx");
	strbuf_truncate(&b, 10);
	assert_int_equal(b.len, 3);
	strbuf_release(&b);
	assert_null(b.buf);
}

/* ---- python3 cross-checks ---------------------------------------------------------------- */

/* 0: passed, 1: failed, -1: no python3 here. */
static int run_python(const char *script, const char *arg)
{
	char cmd[4096];
	int rc;

	if (system("command -v python3 >/dev/null 2>&1") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "python3 -c '%s' %s", script, arg);
	rc = system(cmd);
	return rc == 0 ? 0 : 1;
}

/*
 * st_format_double() against Python's repr() for many doubles: random bit patterns (every
 * exponent) and random "nice" decimals.
 */
static void test_doubles_match_python_repr(void **state)
{
	static const char script[] =
		"import struct,sys\n"
		"f = open(sys.argv[1])\n"
		"bad = 0\n"
		"for line in f:\n"
		"    h, text = line.split()\n"
		"    v = struct.unpack(\"<d\", struct.pack(\"<Q\", int(h, 16)))[0]\n"
		"    if repr(v) != text:\n"
		"        print(\"mismatch\", h, repr(v), text); bad += 1\n"
		"sys.exit(1 if bad else 0)\n";
	char path[] = "/tmp/seatrace-test-dbl-XXXXXX";
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct strbuf t = STRBUF_INIT;
	int fd = mkstemp(path), rc;
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (int i = 0; i < 20000; i++) {
		uint64_t bits;
		double d;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (i & 1) {
			bits = x;
			memcpy(&d, &bits, sizeof(d));
		} else {
			/* Short decimals like 12.5 or 3e-7, where shortest-digits matters most. */
			d = (double)(x % 100000) * pow(10.0, (double)((int)(x >> 32) % 40 - 20));
			memcpy(&bits, &d, sizeof(d));
		}
		if (isnan(d) || isinf(d))
			continue;
		strbuf_reset(&t);
		st_format_double(&t, d);
		fprintf(f, "%016llx %s\n", (unsigned long long)bits, strbuf_str(&t));
	}
	fclose(f);
	strbuf_release(&t);
	rc = run_python(script, path);
	unlink(path);
	if (rc < 0)
		skip();
	assert_int_equal(rc, 0);
}

/* Last: every document written above, through python3's strict json.loads. */
static void test_all_docs_parse_in_python(void **state)
{
	static const char script[] =
		"import json,sys\n"
		"def const(x): raise ValueError(\"non-standard constant \" + x)\n"
		"n = 0\n"
		"for line in open(sys.argv[1], \"rb\"):\n"
		"    json.loads(line.decode(\"utf-8\"), parse_constant=const); n += 1\n"
		"sys.exit(0 if n > 20 else 1)\n";
	int rc;

	fflush(all_docs);
	rc = run_python(script, docs_path);
	if (rc < 0)
		skip();
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nesting_and_commas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_top_level_scalar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_nul_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_utf8_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_invalid_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_wtf8_surrogates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doubles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doubles_nonfinite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_number_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_number_raw_rejects_non_numbers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_base64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misuse_value_without_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misuse_name_in_array_and_wrong_end, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_misuse_second_root_and_dangling_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_depth_overflow_stays_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf8_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf8_put, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_names_and_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_name_misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_latin1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_string_writerless, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_reuse, setup, teardown),
		cmocka_unit_test(test_strbuf),
		cmocka_unit_test(test_doubles_match_python_repr),
		cmocka_unit_test(test_all_docs_parse_in_python),
	};
	int fd = mkstemp(docs_path), rc;

	if (fd < 0 || !(all_docs = fdopen(fd, "w"))) {
		perror("temp file");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	fclose(all_docs);
	unlink(docs_path);
	return rc;
}
