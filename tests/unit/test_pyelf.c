// SPDX-License-Identifier: MIT
/*
 * Reading an interpreter binary: the read-only span the BPF name cache relies
 * on. Checked on Debian's /usr/bin/python3.11 against the file's own bytes: the
 * literal an event name is raised with must lie in the span, a writable
 * variable must not.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "pyelf.h"

#define PY "/usr/bin/python3.11"

/* The link-time address of file offset `off`, from the program headers. */
static uint64_t vaddr_of(const char *path, uint64_t off)
{
	uint64_t at = 0;
	size_t n = 0;
	int fd = open(path, O_RDONLY);
	Elf *elf;

	assert_true(fd >= 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getphdrnum(elf, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		assert_non_null(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type == PT_LOAD && off >= ph.p_offset && off < ph.p_offset + ph.p_filesz)
			at = ph.p_vaddr + (off - ph.p_offset);
	}
	elf_end(elf);
	close(fd);
	return at;
}

/* The file offset of the NUL-terminated string `s`, preceded by a NUL. */
static uint64_t offset_of_literal(const char *path, const char *s)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	const char *map, *hit;
	size_t len = strlen(s) + 2;
	char *needle = calloc(1, len);
	uint64_t off;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(map != MAP_FAILED);
	memcpy(needle + 1, s, len - 2);
	hit = memmem(map, (size_t)st.st_size, needle, len);
	assert_non_null(hit);
	off = (uint64_t)(hit + 1 - map);
	munmap((void *)map, (size_t)st.st_size);
	close(fd);
	free(needle);
	return off;
}

static void test_read_only_span(void **state)
{
	struct st_pyelf *py = calloc(1, sizeof(*py));
	uint64_t lit;

	(void)state;
	if (access(PY, R_OK))
		skip();
	assert_int_equal(st_pyelf_read(PY, py), 0);
	assert_true(py->is_python);
	assert_true(py->ro_lo < py->ro_hi);
	/* builtins.id is raised with a literal: the cache may keep it. */
	lit = vaddr_of(PY, offset_of_literal(PY, "builtins.id"));
	assert_true(lit != 0);
	assert_true(lit >= py->ro_lo && lit < py->ro_hi);
	/* _PyRuntime is written at run time: never inside. */
	assert_true(py->runtime != 0);
	assert_false(py->runtime >= py->ro_lo && py->runtime < py->ro_hi);
	free(py);
}

static void test_not_elf(void **state)
{
	struct st_pyelf *py = calloc(1, sizeof(*py));
	char path[] = "/tmp/seatrace-pyelf-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	assert_int_equal(st_pyelf_read(path, py), -ENOEXEC);
	assert_int_equal(py->ro_lo, 0);
	assert_int_equal(py->ro_hi, 0);
	unlink(path);
	free(py);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_only_span),
		cmocka_unit_test(test_not_elf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
