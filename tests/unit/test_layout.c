// SPDX-License-Identifier: MIT
/* Layout selection: by version from the table, overridden by the binary's _Py_DebugOffsets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "layout.h"

static void fake_python(struct st_pyelf *py, unsigned minor)
{
	memset(py, 0, sizeof(*py));
	py->version_hex = 3u << 24 | minor << 16 | 0xf0;
	for (int t = 0; t < ST_T_MAX; t++)
		py->sym[t] = 0x400000 + 0x100 * (unsigned)t;
	py->nsites = 1;
	py->sites[0] = 0x401234;
	py->site_off[0] = 0x1234;
	py->site_arg[0][0] = (struct st_usdt_arg){.kind = ST_UA_REG, .reg = ST_PREG_BX};
	py->site_arg[0][1] =
	    (struct st_usdt_arg){.kind = ST_UA_DEREF, .reg = ST_PREG_BP, .off = -8};
}

static void put(struct st_pyelf *py, size_t at, uint64_t v)
{
	memcpy(py->debug + at, &v, 8);
	if (py->debug_len < at + 8)
		py->debug_len = at + 8;
}

static void test_table_by_version(void **state)
{
	struct st_pyelf py;
	struct st_layout lo;
	const char *why = NULL;

	(void)state;
	fake_python(&py, 11);
	assert_int_equal(st_layout_fill(&py, &lo, &why), 0);
	assert_int_equal(lo.str_ascii_data, 48);
	assert_int_equal(lo.co_firstlineno, 72);
	assert_false(lo.flags & ST_LF_LONG_TAG);
	fake_python(&py, 14);
	assert_int_equal(st_layout_fill(&py, &lo, &why), 0);
	assert_int_equal(lo.tuple_items, 32);
	assert_true(lo.flags & ST_LF_LONG_TAG);
	fake_python(&py, 7);
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	assert_non_null(strstr(why, "3.8 to 3.14"));
}

static void test_debug_offsets_win(void **state)
{
	struct st_pyelf py;
	struct st_layout lo;
	const char *why = NULL;

	(void)state;
	fake_python(&py, 13);
	py.has_debug_offsets = true;
	/* A 3.13 block saying what the table says, but for the tuple items and code names. */
	const size_t at[] = { 360, 376, 392, 408, 416, 432, 456, 464, 480, 496, 504, 528,
			      544, 552, 560, 280, 296, 312 };
	const uint64_t v[] = { 8, 24, 168, 40, 16, 24, 32, 40, 16, 16, 24, 32,
			       32, 16, 40, 200, 216, 68 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		put(&py, at[i], v[i]);
	put(&py, 536, 64); /* sizeof(PyUnicodeObject) */
	assert_int_equal(st_layout_fill(&py, &lo, &why), 0);
	assert_int_equal(lo.tuple_items, 40);
	assert_int_equal(lo.co_filename, 200);
	assert_int_equal(lo.co_name, 216);
	assert_int_equal(lo.str_compact_data, 56);
	/* Not in the block: still from the table. */
	assert_int_equal(lo.dict_values_items, 8);

	/* A block of another shape is refused, not half applied. */
	put(&py, 408, 5000);
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	assert_non_null(strstr(why, "_Py_DebugOffsets"));
	py.debug_len = 300;
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
}

/* The same for 3.14, whose block is longer: the same fields, at other places. */
static void test_debug_offsets_314(void **state)
{
	struct st_pyelf py;
	struct st_layout lo;
	const char *why = NULL;

	(void)state;
	fake_python(&py, 14);
	py.has_debug_offsets = true;
	const size_t at[] = { 408, 424, 440, 456, 464, 480, 536, 544, 560, 576, 584, 608,
			      624, 632, 640, 320, 336, 352 };
	const uint64_t v[] = { 8, 24, 168, 48, 16, 24, 32, 40, 16, 16, 24, 32,
			       32, 16, 40, 200, 216, 68 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		put(&py, at[i], v[i]);
	put(&py, 616, 72); /* sizeof(PyUnicodeObject) */
	assert_int_equal(st_layout_fill(&py, &lo, &why), 0);
	assert_int_equal(lo.tuple_items, 48);
	assert_int_equal(lo.co_filename, 200);
	assert_int_equal(lo.co_name, 216);
	assert_int_equal(lo.str_compact_data, 64);
	assert_int_equal(lo.str_legacy_data, 64);
	assert_int_equal(lo.dict_values_items, 8);

	/* A size too small for an object is refused. */
	put(&py, 616, 8);
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	put(&py, 616, 72);
	put(&py, 640, 1024);
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	/* 3.13's places in a 3.14 block: too short for 3.14's. */
	py.debug_len = 568;
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
}

static void test_refusals(void **state)
{
	struct st_pyelf py;
	struct st_layout lo;
	const char *why = NULL;

	(void)state;
	fake_python(&py, 13);
	py.free_threaded = true;
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	assert_non_null(strstr(why, "free-threaded"));
	fake_python(&py, 12);
	py.version_hex = 0;
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	fake_python(&py, 12);
	py.sym[ST_T_TUPLE] = 0;
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	fake_python(&py, 12);
	py.nsites = 0;
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
}

/* Where each site keeps the probe's arguments reaches the program; a site not understood is refused. */
static void test_site_args(void **state)
{
	struct st_pyelf py;
	struct st_layout lo;
	const char *why = NULL;

	(void)state;
	fake_python(&py, 11);
	assert_int_equal(st_layout_fill(&py, &lo, &why), 0);
	assert_int_equal(lo.site_arg[0][0].kind, ST_UA_REG);
	assert_int_equal(lo.site_arg[0][0].reg, ST_PREG_BX);
	assert_int_equal(lo.site_arg[0][1].kind, ST_UA_DEREF);
	assert_int_equal(lo.site_arg[0][1].off, -8);
	py.site_arg[0][1].kind = ST_UA_NONE;
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	assert_non_null(strstr(why, "arguments"));
	/* The uprobe fallback's sites are functions: they have no argument notes. */
	py.fallback = true;
	assert_int_equal(st_layout_fill(&py, &lo, &why), 0);
	fake_python(&py, 11);
	py.site_off[0] = (__u64)-1;
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
}

/* "reason; what to do": --list shows the reason alone, the messages both (layout.h). */
static void assert_reason_and_hint(const char *why, const char *needle)
{
	const char *semi = strchr(why, ';');

	assert_non_null(strstr(why, needle));
	assert_non_null(semi);
	assert_true(semi > why && semi - why < 100);
	assert_true(strstr(why, needle) < semi); /* the reason names the problem */
	assert_true(strlen(semi + 1) > 10);
	assert_null(strchr(why, '\n'));
}

/*
 * Interpreters that look decodable in every other respect (symbols, a probe, a
 * _Py_DebugOffsets block whose values are plausible) are still refused: a
 * free-threaded build of any version, and a version newer than the table.
 */
static void test_refused_whatever_else(void **state)
{
	struct st_pyelf py;
	struct st_layout lo;
	const char *why = NULL;

	(void)state;
	for (unsigned minor = 13; minor <= 15; minor++) {
		fake_python(&py, minor);
		py.has_debug_offsets = true;
		for (size_t at = 24; at + 8 <= 700; at += 8)
			put(&py, at, 64);
		py.free_threaded = true;
		memset(&lo, 0xaa, sizeof(lo));
		why = NULL;
		assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
		assert_reason_and_hint(why, "free-threaded");
		/* Nothing a caller could use by mistake. */
		assert_int_equal(lo.flags & ST_LF_VALID, 0);
	}
	fake_python(&py, 15);
	py.has_debug_offsets = true;
	for (size_t at = 24; at + 8 <= 700; at += 8)
		put(&py, at, 64);
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	assert_reason_and_hint(why, "3.8 to 3.14");
	assert_int_equal(lo.flags & ST_LF_VALID, 0);
	fake_python(&py, 7);
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	assert_reason_and_hint(why, "3.8 to 3.14");
	fake_python(&py, 14);
	py.version_hex = 0;
	assert_int_equal(st_layout_fill(&py, &lo, &why), -ENOTSUP);
	assert_reason_and_hint(why, "version could not be read");
}

/* The block's opening words, as pyelf.c would read them from .PyRuntime. */
static void test_debug_head(void **state)
{
	unsigned char buf[32] = "xdebugpy";
	uint64_t ver = 0x030e0af0;
	__u32 version = 0;
	bool ft = true;

	(void)state;
	memcpy(buf + 8, &ver, 8);
	assert_int_equal(st_layout_debug_head(buf, sizeof(buf), &version, &ft), 0);
	assert_int_equal(version, 0x030e0af0);
	assert_false(ft);
	buf[16] = 1;
	assert_int_equal(st_layout_debug_head(buf, 24, &version, &ft), 0);
	assert_true(ft);
	assert_int_equal(st_layout_debug_head(buf, 23, &version, &ft), -EINVAL);
	buf[0] = 'X';
	assert_int_equal(st_layout_debug_head(buf, sizeof(buf), &version, &ft), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_by_version),	  cmocka_unit_test(test_site_args),
	    cmocka_unit_test(test_debug_offsets_win),	  cmocka_unit_test(test_debug_offsets_314),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_refused_whatever_else), cmocka_unit_test(test_debug_head),
	};

	return cmocka_run_group_tests_name("layout", tests, NULL, NULL);
}
