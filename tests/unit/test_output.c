// SPDX-License-Identifier: MIT
/*
 * Text and JSON formatting of event records built byte by byte. Expected texts follow
 * Python's repr() (checked with python3 while writing them). Every JSON line produced is
 * also collected and, at the end, parsed by python3's strict json loader when python3 is
 * there.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode.h"
#include "events.h"
#include "output.h"
#include "sink.h"
#include "strbuf.h"

#include "recbuild.h"

/* ts_ns 1 s + this = 1700000642.123456789 s since the epoch: 22:24:02.123456 UTC. */
#define MONO_TO_REAL 1700000641123456789LL
#define PFX "22:24:02.123456 1234/1235 python3.11 "
#define JPFX                                                                               \
	"{\"type\":\"event\",\"ts\":1700000642.123456789,\"ts_ns\":1700000642123456789," \
	"\"pid\":1234,\"tid\":1235,\"comm\":\"python3.11\",\"event\":"

/* ---- formatting helpers ------------------------------------------------------------------ */

static FILE *all_json;
static char json_path[] = "/tmp/seatrace-test-output-XXXXXX";
static char line[8192];

static const char *fmt(struct rec *r, enum st_format f)
{
	struct strbuf sb = STRBUF_INIT;
	struct st_view v;
	void *p;

	rec_end(r);
	/* An exact-size heap copy: ASan catches any read past the record. */
	p = malloc(r->len);
	assert_non_null(p);
	memcpy(p, r->buf, r->len);
	assert_int_equal(st_decode_event(p, r->len, &v), 0);
	assert_int_equal(st_format_event(&sb, &v, f, MONO_TO_REAL), 0);
	assert_true(sb.len > 0 && sb.buf[sb.len - 1] == '\n');
	assert_null(memchr(sb.buf, '\n', sb.len - 1)); /* one line */
	assert_true(sb.len < sizeof(line));
	memcpy(line, sb.buf, sb.len + 1);
	if (f == ST_FMT_JSON)
		fputs(line, all_json);
	strbuf_release(&sb);
	free(p);
	return line;
}

#define assert_text(r, want) assert_string_equal(fmt(r, ST_FMT_TEXT), want)
#define assert_json(r, want) assert_string_equal(fmt(r, ST_FMT_JSON), want)

/* ---- events and arguments ------------------------------------------------------------------ */

static void test_open_event(void **state)
{
	struct rec r;

	rec_begin(&r, "open", 0);
	v_tuple(&r, 3);
	v_str(&r, "/tmp/x");
	v_str(&r, "w");
	v_int(&r, 524865);
	assert_text(&r, PFX "open(path='/tmp/x', mode='w', flags=524865)\n");
	assert_json(&r, JPFX "\"open\",\"args\":[\"/tmp/x\",\"w\",524865],"
			     "\"argnames\":[\"path\",\"mode\",\"flags\"]}\n");
}

static void test_unknown_event_positional(void **state)
{
	struct rec r;

	rec_begin(&r, "myapp.event", 0);
	v_tuple(&r, 2);
	v_int(&r, 1);
	v_str(&r, "x");
	assert_text(&r, PFX "myapp.event(1, 'x')\n");
	assert_json(&r, JPFX "\"myapp.event\",\"args\":[1,\"x\"]}\n");
}

static void test_extra_and_missing_args(void **state)
{
	struct rec r;

	rec_begin(&r, "os.kill", 0);
	v_tuple(&r, 3);
	v_int(&r, 1);
	v_int(&r, 9);
	v_leaf(&r, ST_V_NONE);
	/* Another count than the table's: the names may belong to others, so none is shown. */
	assert_text(&r, PFX "os.kill(1, 9, None)\n");
	assert_json(&r, JPFX "\"os.kill\",\"args\":[1,9,null]}\n");

	rec_begin(&r, "open", 0);
	v_tuple(&r, 1);
	v_str(&r, "a");
	assert_text(&r, PFX "open('a')\n");
	assert_json(&r, JPFX "\"open\",\"args\":[\"a\"]}\n");

	rec_begin(&r, "os.fork", 0);
	v_tuple(&r, 0);
	assert_text(&r, PFX "os.fork()\n");
	assert_json(&r, JPFX "\"os.fork\",\"args\":[],\"argnames\":[]}\n");
}

static void test_args_missing(void **state)
{
	struct rec r;

	/* The probe could not read the arguments tuple at all. */
	rec_begin(&r, "e", ST_EF_ARGS_FAULT);
	assert_text(&r, PFX "e(<unreadable>)\n");
	assert_json(&r, JPFX "\"e\",\"args\":null,\"truncated\":true}\n");

	rec_begin(&r, "e", 0);
	v_leaf(&r, ST_V_FAULT);
	assert_text(&r, PFX "e(<unreadable>)\n");
	assert_json(&r, JPFX "\"e\",\"args\":null,\"truncated\":true}\n");

	rec_begin(&r, "e", 0);
	assert_text(&r, PFX "e()\n");
	assert_json(&r, JPFX "\"e\",\"args\":[]}\n");
}

static void test_values_after_args_ignored(void **state)
{
	struct rec r;

	rec_begin(&r, "e", 0);
	v_tuple(&r, 1);
	v_int(&r, 1);
	v_tuple(&r, 1); /* a second top-level value: not part of the call */
	v_int(&r, 2);
	assert_text(&r, PFX "e(1)\n");
	assert_json(&r, JPFX "\"e\",\"args\":[1]}\n");
}

/* ---- values ------------------------------------------------------------------------------- */

static void test_scalars(void **state)
{
	struct rec r;

	rec_begin(&r, "e", 0);
	v_tuple(&r, 13);
	v_leaf(&r, ST_V_NONE);
	v_leaf(&r, ST_V_TRUE);
	v_leaf(&r, ST_V_FALSE);
	v_int(&r, 0);
	v_int(&r, -5);
	v_float(&r, 0.1);
	v_float(&r, 1e100);
	v_float(&r, -0.0);
	v_float(&r, INFINITY);
	v_float(&r, -INFINITY);
	v_float(&r, NAN);
	v_float(&r, 1.5);
	v_float(&r, 1e-5);
	assert_text(&r, PFX "e(None, True, False, 0, -5, 0.1, 1e+100, -0.0, inf, -inf, nan, 1.5, "
			    "1e-05)\n");
	assert_json(&r, JPFX "\"e\",\"args\":[null,true,false,0,-5,0.1,1e+100,-0.0,\"inf\","
			     "\"-inf\",\"nan\",1.5,1e-05]}\n");
}

static void test_big_ints(void **state)
{
	static const uint32_t two_100[] = { 0, 0, 0, 1 << 10 };
	static const uint32_t two_200[] = { 0, 0, 0, 0, 0, 0, 1 << 20 };
	struct rec r;

	/* python3: 2**100 and -(2**200) */
	rec_begin(&r, "e", 0);
	v_tuple(&r, 2);
	v_digits(&r, two_100, 4, false);
	v_digits(&r, two_200, 7, true);
	assert_text(&r, PFX "e(1267650600228229401496703205376, "
			    "-1606938044258990275541962092341162602522202993782792835301376)\n");
	assert_json(&r, JPFX "\"e\",\"args\":[1267650600228229401496703205376,"
			     "-1606938044258990275541962092341162602522202993782792835301376]}\n");
}

static void test_int_bad_digit(void **state)
{
	static const uint32_t d[] = { 0xffffffff };
	struct rec r;

	rec_begin(&r, "e", 0);
	v_tuple(&r, 1);
	v_digits(&r, d, 1, false);
	assert_text(&r, PFX "e(<invalid int>)\n");
	assert_json(&r, JPFX "\"e\",\"args\":[{\"type\":\"<invalid int>\"}]}\n");
}

static void test_str_quoting(void **state)
{
	static const char ctl[] = "a\\b\n\r\t\0\x7f\x1b";
	struct rec r;

	rec_begin(&r, "e", 0);
	v_tuple(&r, 7);
	v_str(&r, "abc");
	v_str(&r, "it's");
	v_str(&r, "both ' and \"");
	v_strn(&r, ctl, sizeof(ctl) - 1, sizeof(ctl) - 1);
	v_str(&r, "\"");
	v_str(&r, "");
	v_str(&r, "'");
	/* python3: repr() of each */
	assert_text(&r, PFX "e('abc', \"it's\", 'both \\' and \"', "
			    "'a\\\\b\\n\\r\\t\\x00\\x7f\\x1b', '\"', '', \"'\")\n");
	assert_json(&r, JPFX "\"e\",\"args\":[\"abc\",\"it's\",\"both ' and \\\"\","
			     "\"a\\\\b\\n\\r\\t\\u0000\x7f\\u001b\",\"\\\"\",\"\",\"'\"]}\n");
}

static void test_str_unicode(void **state)
{
	static const uint32_t ucs2[] = { 0xe9, 0x20ac, 0xdc80 }, emoji[] = { 0x1f600 },
			      nonprint[] = { 0xa0, 0xad, 0x2028, 0xe000, 0xe0001 },
			      pair[] = { 0xd83d, 0xde00 };
	struct rec r;

	rec_begin(&r, "e", 0);
	v_tuple(&r, 5);
	v_ucs(&r, 2, ucs2, 3);
	v_ucs(&r, 4, emoji, 1);
	v_ucs(&r, 4, nonprint, 5);
	v_ucs(&r, 2, pair, 2);
	v_str(&r, "\xe9"); /* Latin-1 é */
	/* python3: repr('é€\udc80'), repr('😀'), repr('\xa0\xad\u2028\ue000\U000e0001'), ... */
	assert_text(&r, PFX "e('\xc3\xa9\xe2\x82\xac\\udc80', '\xf0\x9f\x98\x80', "
			    "'\\xa0\\xad\\u2028\\ue000\\U000e0001', '\\ud83d\\ude00', "
			    "'\xc3\xa9')\n");
	/* JSON keeps valid UTF-8 as is; the lone surrogate is an escape. */
	assert_json(&r, JPFX "\"e\",\"args\":[\"\xc3\xa9\xe2\x82\xac\\udc80\",\"\xf0\x9f\x98\x80\","
			     "\"\xc2\xa0\xc2\xad\xe2\x80\xa8\xee\x80\x80\xf3\xa0\x80\x81\","
			     "\"\xf0\x9f\x98\x80\",\"\xc3\xa9\"]}\n");
}

static void test_bytes(void **state)
{
	static const char b[] = "a'b\"\0\xff\\\t";
	struct rec r;

	rec_begin(&r, "e", 0);
	v_tuple(&r, 3);
	rec_val(&r, ST_V_BYTES, 0, b, sizeof(b) - 1, 0, sizeof(b) - 1);
	rec_val(&r, ST_V_BYTEARRAY, 0, "x", 1, 0, 1);
	rec_val(&r, ST_V_BYTES, 0, NULL, 0, 0, 0);
	/* python3: repr(b'a\'b"\x00\xff\\\t'), base64 b'YSdiIgD/XAk=' */
	assert_text(&r, PFX "e(b'a\\'b\"\\x00\\xff\\\\\\t', bytearray(b'x'), b'')\n");
	assert_json(&r, JPFX "\"e\",\"args\":[{\"bytes\":\"YSdiIgD/XAk=\"},"
			     "{\"bytearray\":\"eA==\"},{\"bytes\":\"\"}]}\n");
}

static void test_nested_containers(void **state)
{
	struct rec r;

	/* ([1, ('x',)], {'a': [None]}, (), [], {}) */
	rec_begin(&r, "e", 0);
	v_tuple(&r, 5);
	v_cont(&r, ST_V_LIST, 2, 2);
	v_int(&r, 1);
	v_tuple(&r, 1);
	v_str(&r, "x");
	v_cont(&r, ST_V_DICT, 2, 1);
	v_str(&r, "a");
	v_cont(&r, ST_V_LIST, 1, 1);
	v_leaf(&r, ST_V_NONE);
	v_tuple(&r, 0);
	v_cont(&r, ST_V_LIST, 0, 0);
	v_cont(&r, ST_V_DICT, 0, 0);
	assert_text(&r, PFX "e([1, ('x',)], {'a': [None]}, (), [], {})\n");
	assert_json(&r, JPFX "\"e\",\"args\":[[1,[\"x\"]],{\"a\":[null]},[],[],{}]}\n");
}

static void test_dict_keys(void **state)
{
	struct rec r;

	/* {1: 'a', (1, 2): None, 'ab'...: 1.5}: keys other than whole strs make a list of pairs. */
	rec_begin(&r, "e", 0);
	v_tuple(&r, 1);
	v_cont(&r, ST_V_DICT, 6, 3);
	v_int(&r, 1);
	v_str(&r, "a");
	v_tuple(&r, 2);
	v_int(&r, 1);
	v_int(&r, 2);
	v_leaf(&r, ST_V_NONE);
	v_strn(&r, "ab", 2, 9);
	v_float(&r, 1.5);
	assert_text(&r, PFX "e({1: 'a', (1, 2): None, 'ab'...: 1.5})\n");
	assert_json(&r, JPFX "\"e\",\"args\":[{\"pairs\":[[1,\"a\"],[[1,2],null],"
			     "[{\"str\":\"ab\",\"length\":9,\"truncated\":true},1.5]]}],"
			     "\"truncated\":true}\n");

	/* {1: 'x', '1': 'y'}: as an object, the name "1" would come twice. */
	rec_begin(&r, "e", 0);
	v_tuple(&r, 1);
	v_cont(&r, ST_V_DICT, 4, 2);
	v_int(&r, 1);
	v_str(&r, "x");
	v_str(&r, "1");
	v_str(&r, "y");
	assert_json(&r, JPFX "\"e\",\"args\":[{\"pairs\":[[1,\"x\"],[\"1\",\"y\"]]}]}\n");
}

static void test_code_objects(void **state)
{
	int32_t line = 42;
	struct rec r;

	rec_begin(&r, "exec", 0);
	v_tuple(&r, 1);
	rec_val(&r, ST_V_CODE, 0, &line, 4, 2, 0);
	v_str(&r, "/tmp/m.py");
	v_str(&r, "<module>");
	assert_text(&r, PFX "exec(code_object=<code object <module>, file \"/tmp/m.py\", "
			    "line 42>)\n");
	assert_json(&r, JPFX "\"exec\",\"args\":[{\"code\":{\"filename\":\"/tmp/m.py\","
			     "\"name\":\"<module>\",\"firstlineno\":42}}],"
			     "\"argnames\":[\"code_object\"]}\n");

	/* No room for the line, no budget for the children. */
	rec_begin(&r, "exec", 0);
	v_tuple(&r, 1);
	rec_val(&r, ST_V_CODE, ST_VF_TRUNC, NULL, 0, 0, 0);
	assert_text(&r, PFX "exec(code_object=<code object ?, file \"?\", line ?>)\n");
	assert_json(&r, JPFX "\"exec\",\"args\":[{\"code\":{\"filename\":null,\"name\":null,"
			     "\"firstlineno\":null},\"truncated\":true}],"
			     "\"argnames\":[\"code_object\"],\"truncated\":true}\n");

	/* A name the probe could not read, and a filename with a newline. */
	rec_begin(&r, "e", 0);
	v_tuple(&r, 1);
	line = -1;
	rec_val(&r, ST_V_CODE, 0, &line, 4, 2, 0);
	v_str(&r, "a\nb");
	v_leaf(&r, ST_V_FAULT);
	assert_text(&r, PFX "e(<code object <unreadable>, file \"a\\nb\", line -1>)\n");
	assert_json(&r, JPFX "\"e\",\"args\":[{\"code\":{\"filename\":\"a\\nb\","
			     "\"name\":{\"type\":\"<unreadable>\"},\"firstlineno\":-1}}]}\n");
}

static void test_other_fault_unknown(void **state)
{
	struct rec r;

	rec_begin(&r, "e", 0);
	v_tuple(&r, 5);
	rec_val(&r, ST_V_OTHER, 0, "socket", 6, 0, 6);
	rec_val(&r, ST_V_OTHER, ST_VF_TRUNC, "very_long", 9, 0, 9);
	v_leaf(&r, ST_V_FAULT);
	rec_val(&r, 200, 0, "xy", 2, 0, 0);
	rec_val(&r, 99, 0, NULL, 0, 1, 0); /* unknown, with a child to skip */
	v_leaf(&r, ST_V_NONE);
	assert_text(&r, PFX "e(<socket object>, <very_long... object>, <unreadable>, "
			    "<unknown value tag 200>, <unknown value tag 99>)\n");
	assert_json(&r, JPFX "\"e\",\"args\":[{\"type\":\"socket\"},"
			     "{\"type\":\"very_long\",\"truncated\":true},"
			     "{\"type\":\"<unreadable>\"},"
			     "{\"type\":\"<unknown tag 200>\"},{\"type\":\"<unknown tag 99>\"}],"
			     "\"truncated\":true}\n");
}

/* ---- truncation ------------------------------------------------------------------------------ */

static void test_truncation_markers(void **state)
{
	struct rec r;

	rec_begin(&r, "e", 0);
	v_tuple(&r, 10);
	v_strn(&r, "abc", 3, 10);
	rec_val(&r, ST_V_BYTES, ST_VF_TRUNC, "ab", 2, 0, 5);
	rec_val(&r, ST_V_BYTEARRAY, ST_VF_TRUNC, "ab", 2, 0, 5);
	v_cont(&r, ST_V_LIST, 2, 100);
	v_int(&r, 1);
	v_int(&r, 2);
	v_cont(&r, ST_V_TUPLE, 0, 3);
	v_cont(&r, ST_V_DICT, 2, 4);
	v_str(&r, "a");
	v_int(&r, 1);
	rec_val(&r, ST_V_TUPLE, ST_VF_TRUNC | ST_VF_DEPTH, NULL, 0, 0, 3);
	rec_val(&r, ST_V_LIST, ST_VF_TRUNC | ST_VF_DEPTH, NULL, 0, 0, 1);
	rec_val(&r, ST_V_DICT, ST_VF_TRUNC | ST_VF_DEPTH, NULL, 0, 0, 2);
	rec_val(&r, ST_V_INT, ST_VF_TRUNC, NULL, 0, 0, 100);
	assert_text(&r, PFX "e('abc'..., b'ab'..., bytearray(b'ab'...), [1, 2, ... (100 items)], "
			    "(... (3 items)), {'a': 1, ... (4 items)}, (...), [...], {...}, "
			    "<int of about 903 digits, truncated>)\n");
	assert_json(&r, JPFX "\"e\",\"args\":["
			     "{\"str\":\"abc\",\"length\":10,\"truncated\":true},"
			     "{\"bytes\":\"YWI=\",\"length\":5,\"truncated\":true},"
			     "{\"bytearray\":\"YWI=\",\"length\":5,\"truncated\":true},"
			     "{\"items\":[1,2],\"length\":100,\"truncated\":true},"
			     "{\"items\":[],\"length\":3,\"truncated\":true},"
			     "{\"dict\":{\"a\":1},\"length\":4,\"truncated\":true},"
			     "{\"type\":\"tuple\",\"length\":3,\"truncated\":true},"
			     "{\"type\":\"list\",\"length\":1,\"truncated\":true},"
			     "{\"type\":\"dict\",\"length\":2,\"truncated\":true},"
			     "{\"int\":null,\"digits30\":100,\"truncated\":true}],"
			     "\"truncated\":true}\n");
}

static void test_one_item_cut(void **state)
{
	struct rec r;

	/* A cut tuple of one kept item has no trailing comma; one item of one: singular. */
	rec_begin(&r, "e", 0);
	v_tuple(&r, 2);
	v_cont(&r, ST_V_TUPLE, 1, 5);
	v_int(&r, 7);
	v_cont(&r, ST_V_LIST, 0, 1);
	assert_text(&r, PFX "e((7, ... (5 items)), [... (1 item)])\n");
}

static void test_name_truncated(void **state)
{
	struct rec r;

	/* A cut name is never looked up: "open" here is only the start of a longer name. */
	rec_begin(&r, "open", ST_EF_NAME_TRUNC);
	v_tuple(&r, 1);
	v_str(&r, "/x");
	assert_text(&r, PFX "open...('/x')\n");
	assert_json(&r, JPFX "\"open\",\"args\":[\"/x\"],\"truncated\":true}\n");
}

static void test_args_tuple_cut(void **state)
{
	struct rec r;

	rec_begin(&r, "open", 0);
	v_cont(&r, ST_V_TUPLE, 2, 20);
	v_str(&r, "a");
	v_str(&r, "r");
	/* 20 arguments where the table has 3: none is named. */
	assert_text(&r, PFX "open('a', 'r', ... (20 items))\n");
	assert_json(&r, JPFX "\"open\",\"args\":[\"a\",\"r\"],\"nargs\":20,"
			     "\"truncated\":true}\n");

	/* 3 arguments, 2 kept: named, as the table has 3. */
	rec_begin(&r, "open", 0);
	v_cont(&r, ST_V_TUPLE, 2, 3);
	v_str(&r, "a");
	v_str(&r, "r");
	assert_text(&r, PFX "open(path='a', mode='r', ... (3 items))\n");
	assert_json(&r, JPFX "\"open\",\"args\":[\"a\",\"r\"],"
			     "\"argnames\":[\"path\",\"mode\",\"flags\"],\"nargs\":3,"
			     "\"truncated\":true}\n");
}

static void test_record_full_flag(void **state)
{
	struct rec r;

	rec_begin(&r, "e", ST_EF_REC_FULL);
	v_tuple(&r, 0);
	assert_json(&r, JPFX "\"e\",\"args\":[],\"truncated\":true}\n");
}

/* ---- names and comm ------------------------------------------------------------------------- */

static void test_name_and_comm_escaping(void **state)
{
	static const char name[] = "\xff\n\\\xc3\xa9x y";
	struct rec r;

	rec_begin_n(&r, name, sizeof(name) - 1, 0);
	memcpy(r.buf + offsetof(struct st_event, comm), "py\xfe\0", 4);
	v_tuple(&r, 0);
	assert_string_equal(fmt(&r, ST_FMT_TEXT),
			    "22:24:02.123456 1234/1235 py\\udcfe \\udcff\\n\\\\\xc3\xa9x y()\n");
	assert_string_equal(fmt(&r, ST_FMT_JSON),
			    "{\"type\":\"event\",\"ts\":1700000642.123456789,"
			    "\"ts_ns\":1700000642123456789,\"pid\":1234,"
			    "\"tid\":1235,\"comm\":\"py\\udcfe\","
			    "\"event\":\"\\udcff\\n\\\\\xc3\xa9x y\","
			    "\"args\":[]}\n");
}

static void test_comm_full_length(void **state)
{
	struct rec r;

	/* comm fills all 16 bytes with no NUL: no byte past it is read. */
	rec_begin(&r, "e", 0);
	memcpy(r.buf + offsetof(struct st_event, comm), "0123456789abcdef", 16);
	v_tuple(&r, 0);
	assert_text(&r, "22:24:02.123456 1234/1235 0123456789abcdef e()\n");
}

/* ---- remembered line parts ------------------------------------------------------------ */

/* The formatter remembers per-name and per-thread parts of lines: lookalikes never mix up. */
static void test_name_cache_lookalikes(void **state)
{
	/*
	 * Same length, same first and last 8 bytes as a known event, different middle: they
	 * fall on the same cache slot; alternating them must keep each one's own rendering.
	 */
	static const char *const pairs[][2] = {
		{ "capellambse.getattr", "capellamXXX.getattr" },
		{ "open", "opeN" },
		{ "builtins.id", "builtinX.id" },
		{ "os.system", "os.systeM" },
		{ "exec", "exeC" },
	};
	struct rec r;
	char want[512];

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
			for (int k = 0; k < 2; k++) {
				const char *name = pairs[i][k];
				const struct st_known_event *ke =
					st_event_lookup(name, strlen(name));

				assert_true(k == 0 ? ke != NULL : ke == NULL);
				/* One argument: named only for events the table gives one. */
				if (ke && ke->nargs != 1)
					ke = NULL;
				rec_begin(&r, name, 0);
				v_tuple(&r, 1);
				v_int(&r, 7);
				snprintf(want, sizeof(want), PFX "%s(%s%s7)\n", name,
					 ke ? ke->argnames[0] : "", ke ? "=" : "");
				assert_text(&r, want);
				snprintf(want, sizeof(want), JPFX "\"%s\",\"args\":[7]", name);
				if (ke) {
					strcat(want, ",\"argnames\":[");
					for (unsigned a = 0; a < ke->nargs; a++) {
						strcat(want, a ? ",\"" : "\"");
						strcat(want, ke->argnames[a]);
						strcat(want, "\"");
					}
					strcat(want, "]");
				}
				strcat(want, "}\n");
				assert_json(&r, want);
				/* The same name cut: never the known event's argnames. */
				rec_begin(&r, name, ST_EF_NAME_TRUNC);
				v_tuple(&r, 1);
				v_int(&r, 7);
				snprintf(want, sizeof(want), PFX "%s...(7)\n", name);
				assert_text(&r, want);
				snprintf(want, sizeof(want),
					 JPFX "\"%s\",\"args\":[7],\"truncated\":true}\n", name);
				assert_json(&r, want);
			}
		}
	}
}

/* Names longer than 16 bytes differing only in the middle; and names too long to remember. */
static void test_name_cache_long_names(void **state)
{
	char a[ST_NAME_MAX + 1], b[ST_NAME_MAX + 1], want[1024];
	struct rec r;

	memset(a, 'n', ST_NAME_MAX);
	memcpy(b, a, ST_NAME_MAX);
	b[ST_NAME_MAX / 2] = 'm';
	a[ST_NAME_MAX] = b[ST_NAME_MAX] = '\0';
	for (int round = 0; round < 3; round++) {
		for (size_t len = 17; len <= ST_NAME_MAX; len += 37) {
			rec_begin_n(&r, a, len, 0);
			v_tuple(&r, 0);
			snprintf(want, sizeof(want), PFX "%.*s()\n", (int)len, a);
			assert_text(&r, want);
			snprintf(want, sizeof(want), JPFX "\"%.*s\",\"args\":[]}\n", (int)len, a);
			assert_json(&r, want);
			rec_begin_n(&r, b, len, 0);
			v_tuple(&r, 0);
			snprintf(want, sizeof(want), PFX "%.*s()\n", (int)len, b);
			assert_text(&r, want);
		}
	}
	/* Every byte escaped: too long a rendering to remember, made each time. */
	memset(a, '\x01', ST_NAME_MAX);
	for (int round = 0; round < 2; round++) {
		rec_begin_n(&r, a, ST_NAME_MAX, 0);
		v_tuple(&r, 0);
		fmt(&r, ST_FMT_TEXT);
		assert_int_equal(strlen(line), strlen(PFX) + 4 * ST_NAME_MAX + 3);
		assert_memory_equal(line + strlen(PFX), "\\x01\\x01", 8);
		fmt(&r, ST_FMT_JSON);
		assert_non_null(strstr(line, "\"event\":\"\\u0001\\u0001"));
		assert_non_null(strstr(line, "\\u0001\",\"args\":[]}\n"));
	}
}

static void set_ids(struct rec *r, uint32_t pid, uint32_t tid, const char *comm)
{
	char c[ST_COMM_LEN] = { 0 };

	memcpy(r->buf + offsetof(struct st_event, pid), &pid, 4);
	memcpy(r->buf + offsetof(struct st_event, tid), &tid, 4);
	strncpy(c, comm, sizeof(c));
	memcpy(r->buf + offsetof(struct st_event, comm), c, sizeof(c));
}

/* Threads: the same tid with another pid or comm (exec, prctl) shows the new ones. */
static void test_thread_cache(void **state)
{
	static const struct {
		uint32_t pid, tid;
		const char *comm;
	} ids[] = {
		{ 1, 1, "a" },	     { 1, 1, "b" },	{ 2, 1, "b" },
		{ 2, 17, "b" },	     { 4294967295u, 4294967295u, "0123456789abcdef" },
		{ 1, 1, "a" },	     { 3, 1, "a\"\\\n" },
	};
	struct rec r;
	char want[512], comm[64];

	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			rec_begin(&r, "e", 0);
			set_ids(&r, ids[i].pid, ids[i].tid, ids[i].comm);
			v_tuple(&r, 0);
			snprintf(comm, sizeof(comm), "%s",
				 strcmp(ids[i].comm, "a\"\\\n") ? ids[i].comm : "a\"\\\\\\n");
			snprintf(want, sizeof(want), "22:24:02.123456 %u/%u %s e()\n", ids[i].pid,
				 ids[i].tid, comm);
			assert_text(&r, want);
			snprintf(comm, sizeof(comm), "%s",
				 strcmp(ids[i].comm, "a\"\\\n") ? ids[i].comm : "a\\\"\\\\\\n");
			snprintf(want, sizeof(want),
				 "{\"type\":\"event\",\"ts\":1700000642.123456789,"
				 "\"ts_ns\":1700000642123456789,\"pid\":%u,"
				 "\"tid\":%u,\"comm\":\"%s\",\"event\":\"e\",\"args\":[]}\n",
				 ids[i].pid, ids[i].tid, comm);
			assert_json(&r, want);
		}
	}
}

/* The remembered second of the clock: back and forth across seconds and days. */
static void test_clock_cache(void **state)
{
	static const struct {
		uint64_t ts;
		const char *text, *json;
	} t[] = {
		{ 1000000000, "22:24:02.123456", "1700000642.123456789" },
		{ 1999999999, "22:24:03.123456", "1700000643.123456788" },
		{ 1000000001, "22:24:02.123456", "1700000642.123456790" },
		{ 1876543210, "22:24:02.999999", "1700000642.999999999" },
		{ 1876543211, "22:24:03.000000", "1700000643.000000000" },
		{ 86400000000000, "22:24:01.123456", "1700087041.123456789" },
		{ 1000000000, "22:24:02.123456", "1700000642.123456789" },
	};
	struct rec r;
	char want[512];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rec_begin(&r, "e", 0);
		memcpy(r.buf + offsetof(struct st_event, ts_ns), &t[i].ts, 8);
		v_tuple(&r, 0);
		snprintf(want, sizeof(want), "%s 1234/1235 python3.11 e()\n", t[i].text);
		assert_text(&r, want);
		snprintf(want, sizeof(want), "\"ts\":%s,", t[i].json);
		assert_non_null(strstr(fmt(&r, ST_FMT_JSON), want));
	}
}

static void test_timestamps(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct rec r;
	struct st_view v;
	uint64_t ts = UINT64_MAX;

	/* A corrupt timestamp saturates instead of overflowing. */
	rec_begin(&r, "e", 0);
	memcpy(r.buf + offsetof(struct st_event, ts_ns), &ts, sizeof(ts));
	v_tuple(&r, 0);
	rec_end(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	assert_int_equal(st_format_event(&sb, &v, ST_FMT_JSON, INT64_MAX), 0);
	assert_non_null(strstr(strbuf_str(&sb), "\"ts\":9223372036.854775807,"));
	strbuf_reset(&sb);
	assert_int_equal(st_format_event(&sb, &v, ST_FMT_TEXT, INT64_MIN), 0);
	strbuf_reset(&sb);
	ts = 0;
	memcpy(r.buf + offsetof(struct st_event, ts_ns), &ts, sizeof(ts));
	assert_int_equal(st_format_event(&sb, &v, ST_FMT_JSON, -1500000000), 0);
	assert_non_null(strstr(strbuf_str(&sb), "\"ts\":-1.500000000,"));
	strbuf_reset(&sb);
	/* Before the epoch, the text clock still counts forward within the second. */
	assert_int_equal(st_format_event(&sb, &v, ST_FMT_TEXT, -1500000000), 0);
	assert_memory_equal(strbuf_str(&sb), "23:59:58.500000 ", 16);
	strbuf_release(&sb);
}

/* ---- st_output API ------------------------------------------------------------------------ */

static char *run_output(enum st_format f)
{
	struct st_output_opts o = { .fmt = f, .mono_to_real_ns = MONO_TO_REAL };
	struct st_output *out;
	struct st_view v;
	struct rec r;
	char *buf = NULL;
	size_t len = 0;

	o.out = open_memstream(&buf, &len);
	assert_non_null(o.out);
	out = st_output_new(&o);
	assert_non_null(out);
	rec_begin(&r, "os.chdir", 0);
	v_tuple(&r, 1);
	v_str(&r, "/");
	rec_end(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	assert_int_equal(st_output_event(out, &v), 0);
	assert_int_equal(st_output_lost(out, 2000000000, 3), 0);
	assert_int_equal(st_output_invalid(out, 100, -EINVAL), 0);
	assert_int_equal(st_output_event(out, &v), 0);
	st_output_free(out);
	fclose(o.out);
	return buf;
}

static void test_output_text_stream(void **state)
{
	char *s = run_output(ST_FMT_TEXT);

	assert_string_equal(s, PFX "os.chdir(path='/')\n"
				   "--- lost 3 events (ring buffer full) ---\n"
				   "--- invalid record (100 bytes) ---\n"
				   PFX "os.chdir(path='/')\n");
	free(s);
}

/* `{"type":"event","seq":N,` and the rest of JPFX. */
#define JSEQ(n)                                                                            \
	"{\"type\":\"event\",\"seq\":" #n ",\"ts\":1700000642.123456789,"                   \
	"\"ts_ns\":1700000642123456789,\"pid\":1234,\"tid\":1235,\"comm\":\"python3.11\","  \
	"\"event\":"

/* seq counts every record of the stream, whatever its type, from 1, with no gaps. */
static void test_output_json_stream(void **state)
{
	char *s = run_output(ST_FMT_JSON), *inv, *end;

	/* The invalid record's time is when it was read: checked for shape only. */
	inv = strstr(s, "{\"type\":\"invalid\",\"seq\":3,\"ts_ns\":");
	assert_non_null(inv);
	end = strstr(inv, ",\"size\":100}\n");
	assert_non_null(end);
	memmove(inv + strlen("{\"type\":\"invalid\",\"seq\":3"), end, strlen(end) + 1);
	assert_string_equal(s, JSEQ(1) "\"os.chdir\",\"args\":[\"/\"],\"argnames\":[\"path\"]}\n"
				    "{\"type\":\"lost\",\"seq\":2,\"ts\":1700000643.123456789,"
				    "\"ts_ns\":1700000643123456789,\"count\":3}\n"
				    "{\"type\":\"invalid\",\"seq\":3,\"size\":100}\n" JSEQ(4)
				    "\"os.chdir\",\"args\":[\"/\"],\"argnames\":[\"path\"]}\n");
	fputs(s, all_json);
	free(s);
}

/* The header: first, seq 1, this host's name and boot id; the next record is seq 2. */
static void test_output_header(void **state)
{
	struct st_output_opts o = { .fmt = ST_FMT_JSON, .mono_to_real_ns = MONO_TO_REAL };
	char *buf = NULL, host[256] = "", want[512], boot[64] = "";
	struct st_output *out;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	f = fopen("/proc/sys/kernel/random/boot_id", "r");
	assert_non_null(f);
	assert_non_null(fgets(boot, sizeof(boot), f));
	fclose(f);
	boot[strcspn(boot, "\n")] = '\0';
	o.out = open_memstream(&buf, &len);
	assert_non_null(o.out);
	out = st_output_new(&o);
	assert_non_null(out);
	assert_int_equal(st_output_header(out), 0);
	assert_int_equal(st_output_lost(out, 2000000000, 1), 0);
	st_output_free(out);
	fclose(o.out);
	assert_true(!strncmp(buf, "{\"type\":\"header\",\"seq\":1,\"ts\":", 30));
	snprintf(want, sizeof(want), ",\"schema\":%d,\"seatrace\":\"", ST_JSON_SCHEMA);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), ",\"host\":\"%s\",\"boot_id\":\"%s\"}\n{\"type\":\"lost\",\"seq\":2,",
		 host, boot);
	assert_non_null(strstr(buf, want));
	free(buf);

	/* A run with nothing to say (a command that could not start) writes nothing at all. */
	buf = NULL;
	o.out = open_memstream(&buf, &len);
	assert_non_null(o.out);
	out = st_output_new(&o);
	assert_non_null(out);
	assert_int_equal(st_output_header(out), 0);
	assert_int_equal(st_output_flush(out), 0);
	st_output_free(out);
	fclose(o.out);
	assert_int_equal(len, 0);
	free(buf);
}

static void test_output_new_errors(void **state)
{
	struct st_output_opts o = { .fmt = ST_FMT_TEXT, .out = NULL };

	errno = 0;
	assert_null(st_output_new(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(st_output_new(&o));
	assert_int_equal(errno, EINVAL);
	o.out = stdout;
	o.fmt = (enum st_format)7;
	assert_null(st_output_new(&o));
	st_output_free(NULL);
}

static void test_output_write_error(void **state)
{
	struct st_output_opts o = { .fmt = ST_FMT_TEXT };
	struct st_output *out;

	/* A stream opened for reading: the write fails and says why. */
	o.out = fopen("/dev/null", "r");
	assert_non_null(o.out);
	out = st_output_new(&o);
	assert_non_null(out);
	assert_int_equal(st_output_lost(out, 0, 1), -EBADF);
	st_output_free(out);
	fclose(o.out);
}

/* Lines wait in the batch until it is big or flushed, and reach the stream whole. */
static void test_output_batches_whole_lines(void **state)
{
	struct st_output_opts o = { .fmt = ST_FMT_TEXT, .mono_to_real_ns = MONO_TO_REAL };
	struct st_output *out;
	struct st_view v;
	struct rec r;
	char *buf = NULL, *want;
	size_t len = 0, one, n, i;

	o.out = open_memstream(&buf, &len);
	assert_non_null(o.out);
	out = st_output_new(&o);
	assert_non_null(out);
	rec_begin(&r, "os.chdir", 0);
	v_tuple(&r, 1);
	v_str(&r, "/");
	rec_end(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	want = PFX "os.chdir(path='/')\n";
	one = strlen(want);

	assert_int_equal(st_output_event(out, &v), 0);
	assert_int_equal(fflush(o.out), 0);
	assert_int_equal(len, 0); /* batched */
	assert_int_equal(st_output_flush(out), 0);
	assert_int_equal(len, one);
	assert_string_equal(buf, want);
	assert_int_equal(st_output_flush(out), 0); /* nothing more */
	assert_int_equal(len, one);

	/* Enough lines to fill batches: the stream only ever sees whole lines. */
	for (i = 0; i < 5000; i++) {
		assert_int_equal(st_output_event(out, &v), 0);
		assert_int_equal(fflush(o.out), 0);
		assert_int_equal(len % one, 0);
	}
	assert_true(len > one); /* a batch went out on its own */
	/* A rare line goes out at once, behind the events before it. */
	assert_int_equal(st_output_lost(out, 2000000000, 3), 0);
	assert_int_equal(fflush(o.out), 0);
	n = len;
	assert_int_equal(n, 5001 * one + strlen("--- lost 3 events (ring buffer full) ---\n"));
	for (i = 0; i < 5001; i++)
		assert_memory_equal(buf + i * one, want, one);
	assert_int_equal(st_output_event(out, &v), 0);
	/* Freeing flushes. */
	st_output_free(out);
	assert_int_equal(fflush(o.out), 0);
	assert_int_equal(len, n + one);
	fclose(o.out);
	free(buf);
}

/* Several lanes: one record, each sink in its own format (TEXT_JSON: text then JSON). */
static void test_output_fans_out(void **state)
{
	struct st_output_opts o = { .fmt = ST_FMT_JSON, .mono_to_real_ns = MONO_TO_REAL };
	char *b[3] = { NULL, NULL, NULL };
	size_t l[3] = { 0, 0, 0 };
	FILE *f[3];
	struct st_output *out;
	struct st_view v;
	struct rec r;

	for (int i = 0; i < 3; i++) {
		f[i] = open_memstream(&b[i], &l[i]);
		assert_non_null(f[i]);
	}
	o.out = f[0];
	o.more[0] = (struct st_output_lane){ ST_FMT_TEXT, st_sink_file_new(f[1], 4096) };
	o.more[1] = (struct st_output_lane){ ST_FMT_TEXT_JSON, st_sink_file_new(f[2], 4096) };
	o.nmore = 2;
	out = st_output_new(&o);
	assert_non_null(out);
	rec_begin(&r, "os.chdir", 0);
	v_tuple(&r, 1);
	v_str(&r, "/");
	rec_end(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	assert_int_equal(st_output_event(out, &v), 0);
	assert_int_equal(st_output_alert(out, 0, 1, 2, "x", "why"), 0);
	st_output_free(out);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fclose(f[i]), 0);
	assert_non_null(strstr(b[0], "{\"type\":\"event\""));
	assert_null(strstr(b[0], PFX));
	assert_non_null(strstr(b[0], "{\"type\":\"alert\""));
	assert_non_null(strstr(b[1], PFX "os.chdir(path='/')\n"));
	assert_null(strstr(b[1], "{\"type\""));
	assert_non_null(strstr(b[1], "!! ALERT: why\n"));
	/* The text line, then the JSON line, record by record. */
	assert_true(!strncmp(b[2], PFX "os.chdir(path='/')\n{\"type\":\"event\"", strlen(PFX) + 30));
	assert_non_null(strstr(b[2], "!! ALERT: why\n{\"type\":\"alert\""));
	for (int i = 0; i < 3; i++)
		free(b[i]);
}

/* A failed batch write says so, and later lines start a fresh batch. */
static void test_output_flush_error(void **state)
{
	struct st_output_opts o = { .fmt = ST_FMT_JSON };
	struct st_output *out;
	struct st_view v;
	struct rec r;

	o.out = fopen("/dev/null", "r");
	assert_non_null(o.out);
	out = st_output_new(&o);
	assert_non_null(out);
	rec_begin(&r, "e", 0);
	v_tuple(&r, 0);
	rec_end(&r);
	assert_int_equal(st_decode_event(r.buf, r.len, &v), 0);
	assert_int_equal(st_output_event(out, &v), 0);
	assert_int_equal(st_output_flush(out), -EBADF);
	assert_int_equal(st_output_flush(out), 0); /* the failed lines are gone */
	assert_int_equal(st_output_invalid(out, 10, -EINVAL), -EBADF);
	assert_int_equal(st_output_dropped(out), 2);
	st_output_free(out);
	fclose(o.out);
	assert_int_equal(st_output_flush(NULL), 0);
}

/* ---- JSON validity ------------------------------------------------------------------------ */

static bool have_python3(void)
{
	return system("command -v python3 >/dev/null 2>&1") == 0;
}

/* Last: every JSON line written above through python3's strict parser. */
static void test_all_json_parses_in_python(void **state)
{
	char cmd[1024];

	fflush(all_json);
	if (!have_python3())
		skip();
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json, sys\n"
		 "def const(x): raise ValueError(\"non-standard constant \" + x)\n"
		 "n = 0\n"
		 "for line in open(sys.argv[1], \"rb\"):\n"
		 "    d = json.loads(line.decode(\"utf-8\"), parse_constant=const); n += 1\n"
		 "    assert isinstance(d, dict)\n"
		 "    assert d[\"type\"] in (\"event\", \"lost\", \"invalid\")\n"
		 "sys.exit(0 if n > 20 else 1)' %s",
		 json_path);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_event),
		cmocka_unit_test(test_unknown_event_positional),
		cmocka_unit_test(test_extra_and_missing_args),
		cmocka_unit_test(test_args_missing),
		cmocka_unit_test(test_values_after_args_ignored),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_big_ints),
		cmocka_unit_test(test_int_bad_digit),
		cmocka_unit_test(test_str_quoting),
		cmocka_unit_test(test_str_unicode),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_nested_containers),
		cmocka_unit_test(test_dict_keys),
		cmocka_unit_test(test_code_objects),
		cmocka_unit_test(test_other_fault_unknown),
		cmocka_unit_test(test_truncation_markers),
		cmocka_unit_test(test_one_item_cut),
		cmocka_unit_test(test_name_truncated),
		cmocka_unit_test(test_args_tuple_cut),
		cmocka_unit_test(test_record_full_flag),
		cmocka_unit_test(test_name_and_comm_escaping),
		cmocka_unit_test(test_comm_full_length),
		cmocka_unit_test(test_name_cache_lookalikes),
		cmocka_unit_test(test_name_cache_long_names),
		cmocka_unit_test(test_thread_cache),
		cmocka_unit_test(test_clock_cache),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_output_text_stream),
		cmocka_unit_test(test_output_json_stream),
		cmocka_unit_test(test_output_header),
		cmocka_unit_test(test_output_new_errors),
		cmocka_unit_test(test_output_fans_out),
		cmocka_unit_test(test_output_write_error),
		cmocka_unit_test(test_output_batches_whole_lines),
		cmocka_unit_test(test_output_flush_error),
		cmocka_unit_test(test_all_json_parses_in_python),
	};
	int fd, rc;

	/* Text timestamps are local time: pin the zone so the expected lines hold anywhere. */
	setenv("TZ", "UTC", 1);
	tzset();
	fd = mkstemp(json_path);
	if (fd < 0 || !(all_json = fdopen(fd, "w"))) {
		perror("temp file");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	fclose(all_json);
	unlink(json_path);
	return rc;
}
