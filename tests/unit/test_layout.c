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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_by_version),
		cmocka_unit_test(test_debug_offsets_win),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests_name("layout", tests, NULL, NULL);
}
