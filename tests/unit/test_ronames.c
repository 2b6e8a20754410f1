// SPDX-License-Identifier: MIT
/*
 * Known event names in an interpreter file's read-only segments (user/ronames.c): found in
 * Debian's /usr/bin/python3.11, and each place checked against the file's own bytes there.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "pyelf.h"
#include "ronames.h"

#define PY "/usr/bin/python3.11"

struct found {
	unsigned n, id, system, open;
	size_t longest;
	uint64_t lo, hi;
	int fail_at; /* the callback's call that fails, 0 for none */
};

/* The file offset of a link-time address in a loaded segment, or -1. */
static off_t file_offset(const char *path, uint64_t vaddr)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	size_t n = 0;
	off_t off = -1;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getphdrnum(elf, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz)
			off = (off_t)(ph.p_offset + (vaddr - ph.p_vaddr));
	}
	elf_end(elf);
	close(fd);
	return off;
}

static int collect(void *arg, uint64_t vaddr, const char *name, size_t len)
{
	struct found *f = arg;
	char buf[80] = "";
	off_t off = file_offset(PY, vaddr);
	int fd = open(PY, O_RDONLY);

	if (f->fail_at && ++f->n == (unsigned)f->fail_at)
		return -EIO;
	if (!f->fail_at)
		f->n++;
	/* The bytes at the place are exactly the name and its NUL. */
	assert_true(len == strlen(name) && len + 1 < sizeof(buf));
	assert_true(vaddr >= f->lo && vaddr + len < f->hi);
	assert_true(off >= 0);
	assert_int_equal(pread(fd, buf, len + 1, off), (ssize_t)(len + 1));
	close(fd);
	assert_memory_equal(buf, name, len + 1);
	f->id += !strcmp(name, "builtins.id");
	f->system += !strcmp(name, "os.system");
	f->open += !strcmp(name, "open");
	if (len > f->longest)
		f->longest = len;
	return 0;
}

static void read_py(struct st_pyelf *py)
{
	assert_int_equal(st_pyelf_read(PY, py), 0);
	assert_true(py->ro_lo < py->ro_hi);
}

static void test_known_names_found_where_the_file_has_them(void **state)
{
	static struct st_pyelf py;
	struct found f = {};
	int n;

	(void)state;
	read_py(&py);
	f.lo = py.ro_lo;
	f.hi = py.ro_hi;
	n = st_ronames_find(PY, py.ro_lo, py.ro_hi, 64, collect, &f);
	assert_int_equal(n, (int)f.n);
	assert_true(f.id >= 1 && f.system >= 1 && f.open >= 1);
	assert_true(f.longest < 64);
}

static void test_long_names_left_out(void **state)
{
	static struct st_pyelf py;
	struct found f = {};

	(void)state;
	read_py(&py);
	f.lo = py.ro_lo;
	f.hi = py.ro_hi;
	/* "open" is 4 bytes: kept below 5; builtins.id (11) left out. */
	assert_true(st_ronames_find(PY, py.ro_lo, py.ro_hi, 5, collect, &f) > 0);
	assert_true(f.open >= 1 && !f.id && f.longest < 5);
}

static void test_outside_the_span_left_out(void **state)
{
	static struct st_pyelf py;
	struct found f = {};

	(void)state;
	read_py(&py);
	f.lo = py.ro_lo;
	f.hi = py.ro_lo + 1;
	assert_int_equal(st_ronames_find(PY, py.ro_lo, py.ro_lo + 1, 64, collect, &f), 0);
}

static void test_callback_error_stops(void **state)
{
	static struct st_pyelf py;
	struct found f = { .fail_at = 2 };

	(void)state;
	read_py(&py);
	f.lo = py.ro_lo;
	f.hi = py.ro_hi;
	assert_int_equal(st_ronames_find(PY, py.ro_lo, py.ro_hi, 64, collect, &f), -EIO);
	assert_int_equal(f.n, 2);
}

static void test_bad_files(void **state)
{
	char path[] = "/tmp/seatrace-ronames-XXXXXX";
	int fd = mkstemp(path);
	struct found f = {};

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
	close(fd);
	assert_int_equal(st_ronames_find(path, 0, ~0ULL, 64, collect, &f), -ENOEXEC);
	unlink(path);
	assert_int_equal(st_ronames_find("/nonexistent/python", 0, ~0ULL, 64, collect, &f),
			 -ENOENT);
	assert_int_equal(f.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_names_found_where_the_file_has_them),
		cmocka_unit_test(test_long_names_left_out),
		cmocka_unit_test(test_outside_the_span_left_out),
		cmocka_unit_test(test_callback_error_stops),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
