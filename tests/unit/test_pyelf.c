// SPDX-License-Identifier: MIT
/*
 * Reading an interpreter binary: the read-only span the BPF name cache relies
 * on, and the probe's sites and argument locations. Checked on Debian's /usr/bin/python3.11 against the file's own bytes: the
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
#define LIBPY "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"

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

static void parses(const char *s, int kind, int reg, int32_t off, int shift, int is_signed)
{
	struct st_usdt_arg a;

	print_message("%s\n", s);
	assert_int_equal(st_usdt_parse_arg(s, strlen(s), &a), 0);
	assert_int_equal(a.kind, kind);
	assert_int_equal(a.reg, reg);
	assert_int_equal(a.off, off);
	assert_int_equal(a.shift, shift);
	assert_int_equal(a.is_signed, is_signed);
}

static void refuses(const char *s)
{
	struct st_usdt_arg a;

	print_message("%s\n", s);
	assert_int_equal(st_usdt_parse_arg(s, strlen(s), &a), -EINVAL);
}

static void test_usdt_args(void **state)
{
	(void)state;
	parses("8@%rbx", ST_UA_REG, ST_PREG_BX, 0, 0, 0);
	parses("8@%r15", ST_UA_REG, ST_PREG_R15, 0, 0, 0);
	parses("-4@%r8d", ST_UA_REG, ST_PREG_R8, 0, 32, 1);
	parses("1@%sil", ST_UA_REG, ST_PREG_SI, 0, 56, 0);
	parses("-2@%ax", ST_UA_REG, ST_PREG_AX, 0, 48, 1);
	parses("-4@-20(%rbp)", ST_UA_DEREF, ST_PREG_BP, -20, 32, 1);
	parses("8@(%rsp)", ST_UA_DEREF, ST_PREG_SP, 0, 0, 0);
	parses("8@0x18(%rdi)", ST_UA_DEREF, ST_PREG_DI, 24, 0, 0);
	parses("8@$0x10", ST_UA_CONST, 0, 16, 0, 0);
	parses("-1@$-3", ST_UA_CONST, 0, -3, 56, 1);
	/* Length-bounded: what follows the token is not read. */
	{
		struct st_usdt_arg a;

		assert_int_equal(st_usdt_parse_arg("8@%rbx 8@%r15", 6, &a), 0);
		assert_int_equal(a.reg, ST_PREG_BX);
	}
	refuses("8@%rip");
	refuses("8@foo(%rip)");
	refuses("8@8(%rip)");
	refuses("3@%rax");
	refuses("16@%rax");
	refuses("8@%xmm0");
	refuses("8@");
	refuses("@%rax");
	refuses("8%rax");
	refuses("8@$");
	refuses("8@$12abc");
	refuses("8@-20(%rbp");
	refuses("8@-20()");
	refuses("8@x(%rbp)");
	refuses("8@$99999999999");
}

/*
 * The probe in Debian's interpreter and libpython: one site each, on a nop,
 * its two arguments in registers, and file offsets that map back to the
 * note's addresses.
 */
static void check_probe(const char *path)
{
	struct st_pyelf *py = calloc(1, sizeof(*py));
	unsigned char byte = 0;
	int fd;

	print_message("%s\n", path);
	assert_int_equal(st_pyelf_read(path, py), 0);
	assert_int_equal(py->nsites, 1);
	assert_int_equal(py->bad_args[0], 0);
	assert_int_equal(py->site_arg[0][0].kind, ST_UA_REG);
	assert_int_equal(py->site_arg[0][1].kind, ST_UA_REG);
	assert_int_not_equal(py->site_arg[0][0].reg, py->site_arg[0][1].reg);
	assert_int_equal(vaddr_of(path, py->site_off[0]), py->sites[0]);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, (off_t)py->site_off[0]), 1);
	close(fd);
	assert_int_equal(byte, 0x90); /* sys/sdt.h's nop */
	assert_true(py->semaphore != 0);
	assert_int_equal(vaddr_of(path, py->sem_off), py->semaphore);
	free(py);
}

static void test_probe_sites(void **state)
{
	(void)state;
	if (access(PY, R_OK))
		skip();
	check_probe(PY);
	if (!access(LIBPY, R_OK))
		check_probe(LIBPY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_only_span),
	    cmocka_unit_test(test_not_elf),
	    cmocka_unit_test(test_usdt_args),
	    cmocka_unit_test(test_probe_sites),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
