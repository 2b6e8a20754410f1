// SPDX-License-Identifier: MIT
/*
 * -k stacks: line tables of every version against the lines CPython itself gives (vectors
 * taken from real interpreters: co_lines(), dis.findlinestarts()), the stack section of a
 * record (valid and malformed), and frames resolved from a fake process's memory, exact,
 * approximate when the code object cannot be read or is another one now.
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
#include "stack.h"
#include "strbuf.h"

#include "recbuild.h"

/*
 * def sample(a, b):          # line 2
 *     x = a + 1
 *     if x > b:
 *         y = [i
 *              for i in range(3)]
 *         return y
 *     for i in range(2):
 *         x += i
 *
 *         b = x * 2
 *     try:
 *         1 / 0
 *     except ZeroDivisionError:
 *         pass
 *     return x
 *
 * Per version: minor, co_firstlineno, the line table, its length, then the line of each code
 * unit (byte offset 2 * i), -1 where it has none.
 */
struct vec {
	unsigned minor;
	int first;
	const char *tab;
	size_t n;
	int lines[128];
};

static const struct vec vecs[] = {
	{ 8, 2,
	  "\x00\x01\x08\x01\x08\x01\x06\x01\x06\xff\x06\x02\x04\x01\x0c\x01\x08\x02\x0a\x01"
	  "\x02\x01\x0c\x01\x0e\x01\x06\x01",
	  28,
	  { 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 6, 6, 5, 5, 5, 7, 7, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9,
	    11, 11, 11, 11, 11, 12, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15,
	    16, 16 } },
	{ 9, 2,
	  "\x00\x01\x08\x01\x08\x01\x06\x01\x06\xff\x06\x02\x04\x01\x0c\x01\x08\x02\x0a\x01"
	  "\x02\x01\x0c\x01\x0c\x01\x06\x01",
	  28,
	  { 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 6, 6, 5, 5, 5, 7, 7, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9,
	    11, 11, 11, 11, 11, 12, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 15, 15, 15, 16,
	    16 } },
	{ 10, 2,
	  "\x08\x01\x08\x01\x06\x01\x06\x01\x06\xff\x04\x02\x0c\x01\x08\x01\x0a\x02\x02\x01"
	  "\x0a\x01\x04\x03\x0c\xfe\x02\x01\x04\x01\x02\xfe",
	  32,
	  { 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 6, 6, 5, 5, 5, 7, 7, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9,
	    11, 11, 11, 11, 11, 12, 13, 13, 13, 13, 13, 16, 16, 14, 14, 14, 14, 14, 14, 15, 16, 16,
	    14 } },
	{ 11, 2,
	  "\x80\x00\xd8\x08\x09\x88\x41\x89\x05\x80\x41\xd8\x07\x08\x88\x31\x82\x75\x80\x75"
	  "\xf0\x02\x01\x0d\x20\xf0\x00\x01\x0d\x20\xdd\x16\x1b\x98\x41\x91\x68\x94\x68\xf0"
	  "\x03\x01\x0d\x20\xf1\x00\x01\x0d\x20\xf4\x00\x01\x0d\x20\x88\x01\xe0\x0f\x10\x88"
	  "\x08\xdd\x0d\x12\x90\x31\x89\x58\x8c\x58\xf0\x00\x03\x05\x12\xf0\x00\x03\x05\x12"
	  "\x88\x01\xd8\x08\x09\x88\x51\x89\x06\x88\x01\xe0\x0c\x0d\x90\x01\x89\x45\x88\x01"
	  "\x88\x01\xf0\x02\x03\x05\x0d\xd8\x08\x09\x88\x41\x89\x05\x88\x05\x88\x05\xf8\xdd"
	  "\x0b\x1c\xf0\x00\x01\x05\x0d\xf0\x00\x01\x05\x0d\xf0\x00\x01\x05\x0d\xd8\x08\x0c"
	  "\x88\x04\xf0\x03\x01\x05\x0d\xf8\xf8\xf8\xe0\x0b\x0c\x80\x48",
	  155,
	  { 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5,
	    5, 5, 5, 5, 5, 5, 5, 5, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9,
	    9, 9, 9, 11, 11, 11, 11, 11, 11, 12, 13, 13, 13, 13, 13, 13, -1, 14, 14, 14, 14, 14, 14,
	    14, 14, 14, 15, 15, 14, -1, -1, -1, 16, 16 } },
	{ 12, 2,
	  "\x80\x00\xd8\x08\x09\x88\x41\x89\x05\x80\x41\xd8\x07\x08\x88\x31\x82\x75\xe4\x16"
	  "\x1b\x98\x41\x93\x68\xf6\x03\x01\x0d\x20\xd8\x11\x12\xf2\x03\x00\x0e\x0f\xf0\x00"
	  "\x01\x0d\x20\x88\x01\xf0\x00\x01\x0d\x20\xe0\x0f\x10\x88\x08\xdc\x0d\x12\x90\x31"
	  "\x8b\x58\xf2\x00\x03\x05\x12\x88\x01\xd8\x08\x09\x88\x51\x89\x06\x88\x01\xe0\x0c"
	  "\x0d\x90\x01\x89\x45\x89\x01\xf0\x07\x03\x05\x12\xf0\x08\x03\x05\x0d\xd8\x08\x09"
	  "\x88\x41\x8a\x05\xf0\x06\x00\x0c\x0d\x80\x48\xf9\xf2\x17\x01\x0d\x20\xf8\xf4\x12"
	  "\x00\x0c\x1d\xf2\x00\x01\x05\x0d\xd8\x08\x0c\xd8\x0b\x0c\x80\x48\xf0\x05\x01\x05"
	  "\x0d\xfa",
	  142,
	  { 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 5, 5, 6,
	    5, 5, 5, 5, 5, 5, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 11, 11,
	    11, 11, 11, 11, 8, 12, 13, 13, 13, 13, 13, 16, 16, -1, -1, 5, 5, 5, -1, 14, 14, 14, 14,
	    14, 14, 14, 14, 15, 16, 16, 14, -1, -1, -1 } },
	{ 13, 2,
	  "\x80\x00\xd8\x08\x09\x88\x41\x89\x05\x80\x41\xd8\x07\x08\x83\x75\xe4\x16\x1b\x98"
	  "\x41\x94\x68\xf3\x03\x01\x0d\x20\xda\x16\x1e\x90\x11\xf3\x03\x00\x0e\x0f\xd9\x16"
	  "\x1e\xf0\x03\x00\x09\x0a\xf0\x00\x01\x0d\x20\xe0\x0f\x10\x88\x08\xdc\x0d\x12\x90"
	  "\x31\x8e\x58\x88\x01\xd8\x08\x09\x89\x06\x88\x01\xe0\x0c\x0d\x90\x01\x89\x45\x8a"
	  "\x01\xf1\x07\x00\x0e\x16\xf0\x08\x03\x05\x0d\xd8\x08\x09\x88\x41\x8a\x05\xf0\x06"
	  "\x00\x0c\x0d\x80\x48\xf9\xf2\x17\x01\x0d\x20\xf8\xf4\x12\x00\x0c\x1d\xf3\x00\x01"
	  "\x05\x0d\xd8\x08\x0c\xd8\x0b\x0c\x80\x48\xf0\x05\x01\x05\x0d\xfa",
	  136,
	  { 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5, 5, 5, 5, 6, 6, 6,
	    6, 5, 5, 5, 5, 6, 6, 5, 5, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9,
	    11, 11, 11, 11, 11, 11, 11, 8, 8, 12, 13, 13, 13, 13, 13, 16, 16, -1, -1, 5, 5, 5, -1,
	    14, 14, 14, 14, 14, 14, 14, 14, 14, 15, 16, 16, 14, -1, -1, -1 } },
	{ 14, 2,
	  "\x80\x00\xd8\x08\x09\x88\x41\x8d\x05\x80\x41\xd8\x07\x08\x84\x75\xe4\x16\x1b\x98"
	  "\x41\x94\x68\xf3\x03\x01\x0d\x20\xd9\x16\x1e\x90\x11\xf3\x03\x00\x0e\x0f\xd9\x16"
	  "\x1e\xf0\x03\x00\x09\x0a\xf0\x00\x01\x0d\x20\xe0\x0f\x10\x88\x08\xdc\x0d\x12\x90"
	  "\x31\x8e\x58\x88\x01\xd8\x08\x09\x8d\x06\x88\x01\xe0\x0c\x0d\x90\x01\x8d\x45\x8a"
	  "\x01\xf1\x07\x00\x0e\x16\xf0\x08\x03\x05\x0d\xd8\x08\x09\x88\x41\x8e\x05\xf0\x06"
	  "\x00\x0c\x0d\x80\x48\xf9\xf2\x17\x01\x0d\x20\xf8\xf4\x12\x00\x0c\x1d\xf4\x00\x01"
	  "\x05\x0d\xd8\x08\x0c\xd8\x0b\x0c\x80\x48\xf0\x05\x01\x05\x0d\xfa",
	  136,
	  { 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5, 5,
	    5, 5, 6, 6, 6, 5, 5, 5, 5, 6, 6, 5, 5, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
	    9, 9, 9, 9, 9, 9, 9, 9, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 8, 8, 12, 13, 13,
	    13, 13, 13, 13, 13, 13, 13, 16, 16, -1, -1, 5, 5, 5, -1, 14, 14, 14, 14, 14, 14, 14, 14,
	    14, 14, 15, 16, 16, 14, -1, -1, -1 } },
};

static void test_line_tables(void **state)
{
	(void)state;
	for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
		const struct vec *t = &vecs[v];
		size_t n = 0;

		while (n < 128 && t->lines[n])
			n++;
		assert_true(n > 20);
		for (size_t i = 0; i < n; i++) {
			int got = st_stack_line(t->minor, (const uint8_t *)t->tab, t->n, t->first,
						(int)(2 * i));

			if (got != t->lines[i])
				fail_msg("3.%u offset %zu: line %d, CPython says %d", t->minor,
					 2 * i, got, t->lines[i]);
		}
		/* Before the first instruction (a frame not started): its first line. */
		if (t->minor >= 10)
			assert_int_equal(st_stack_line(t->minor, (const uint8_t *)t->tab, t->n,
						       t->first, -2),
					 t->first);
		/* Past the end, and an empty or cut table: no line, never a read past it. */
		if (t->minor >= 10) {
			assert_int_equal(st_stack_line(t->minor, (const uint8_t *)t->tab, t->n,
						       t->first, 100000),
					 -1);
			assert_int_equal(st_stack_line(t->minor, NULL, 0, t->first, 4), -1);
		}
		for (size_t cut = 0; cut < t->n; cut++)
			(void)st_stack_line(t->minor, (const uint8_t *)t->tab, cut, t->first, 40);
	}
}

/* ---- records with a stack section --------------------------------------------------------- */

static struct rec rec;

static void stack_record(const struct st_stack_frame *f, unsigned n, uint16_t flags,
			 bool chain)
{
	struct st_stack_tail t = { .nframes = (uint16_t)n, .flags = flags };

	rec_begin(&rec, "stk.ev", ST_EF_STACK | (chain ? ST_EF_CHAIN : 0));
	v_tuple(&rec, 1);
	v_int(&rec, 7);
	memcpy(rec.buf + rec.len, f, sizeof(*f) * n);
	rec.len += sizeof(*f) * n;
	memcpy(rec.buf + rec.len, &t, sizeof(t));
	rec.len += sizeof(t);
	if (chain) {
		struct st_chain_tail c = { .nchain = 1 };
		uint64_t caller = 0x1000;

		memcpy(rec.buf + rec.len, &caller, 8);
		rec.len += 8;
		memcpy(rec.buf + rec.len, &c, sizeof(c));
		rec.len += sizeof(c);
	}
	rec_end(&rec);
}

static void test_stack_section(void **state)
{
	const struct st_stack_frame f[2] = { { 0x7f0000001000, 10, 3 }, { 0x7f0000002000, -2, 1 } };
	struct st_stack_frame g;
	struct st_view v;

	(void)state;
	for (int chain = 0; chain < 2; chain++) {
		stack_record(f, 2, ST_SKF_CUT, chain);
		assert_int_equal(st_decode_event(rec.buf, rec.len, &v), 0);
		assert_true(v.has_stack);
		assert_int_equal(v.nstack, 2);
		assert_int_equal(v.stack_flags, ST_SKF_CUT);
		assert_int_equal(v.nvalues, 2);
		assert_int_equal(v.has_chain, chain);
		st_view_stack_frame(&v, 1, &g);
		assert_int_equal(g.code, f[1].code);
		assert_int_equal(g.offset, -2);
	}
	stack_record(f, 0, ST_SKF_UNKNOWN, false);
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), 0);
	assert_int_equal(v.nstack, 0);
	/* Malformed: unknown flags, more frames than the record holds or than may be kept. */
	stack_record(f, 2, 0x80, false);
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), -EINVAL);
	stack_record(f, 2, 0, false);
	memcpy(rec.buf + rec.len - sizeof(struct st_stack_tail), &(uint16_t){ 3 }, 2);
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), -EINVAL);
	memcpy(rec.buf + rec.len - sizeof(struct st_stack_tail), &(uint16_t){ 60000 }, 2);
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), -EINVAL);
	/* No room left for the stack: none follows, and it shows as cut before its first frame. */
	rec_begin(&rec, "stk.ev", ST_EF_NO_STACK);
	v_tuple(&rec, 0);
	rec_end(&rec);
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), 0);
	assert_true(v.has_stack && v.nstack == 0 && v.stack_flags == ST_SKF_CUT);
	/* A record too short for its tail. */
	rec_begin(&rec, "", ST_EF_STACK);
	rec_end(&rec);
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), -EINVAL);
}

/* ---- frames resolved from a fake process ---------------------------------------------------- */

/* 3.11's layout for what the reader reads: code, str, bytes. */
static struct st_layout lo311 = {
	.flags = ST_LF_VALID, .version = 0x030b02f0, .ob_size = 16, .bytes_sval = 32,
	.str_length = 16, .str_state = 32, .str_ascii_data = 48, .str_compact_data = 72,
	.str_legacy_data = 72, .str_kind_shift = 2, .str_compact_bit = 0x20, .str_ascii_bit = 0x40,
	.co_firstlineno = 72, .co_filename = 112, .co_name = 128, .co_linetable = 136,
};

#define MEM_BASE 0x10000
static uint8_t mem[4096];
static int reads;

static ssize_t fake_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	reads++;
	if (pid != 42 || addr < MEM_BASE || addr + len > MEM_BASE + sizeof(mem)) {
		errno = ESRCH;
		return -1;
	}
	memcpy(buf, mem + (addr - MEM_BASE), len);
	return (ssize_t)len;
}

static int fake_layout(unsigned slot, struct st_layout *out, void *ctx)
{
	(void)ctx;
	if (slot != 3)
		return -ENOENT;
	*out = lo311;
	return 0;
}

static void put64(size_t at, uint64_t v)
{
	memcpy(mem + at, &v, 8);
}

/* A compact ASCII str at mem+at. */
static void put_str(size_t at, const char *s)
{
	put64(at + 16, strlen(s));
	put64(at + 32, 0x20 | 0x40 | 1 << 2);
	memcpy(mem + at + 48, s, strlen(s));
}

static void test_resolve(void **state)
{
	struct st_stacks *s = st_stacks_new(fake_layout, fake_read, NULL);
	const struct vec *t = &vecs[3]; /* 3.11 */
	struct st_stack_frame f[3] = { { MEM_BASE + 0, 8, 2 }, { MEM_BASE + 0, 8, 5 },
				       { MEM_BASE + 2048, 0, 9 } };
	struct strbuf sb = STRBUF_INIT;
	struct st_event *h;

	(void)state;
	assert_non_null(s);
	assert_int_equal(t->minor, 11);
	/* a code object at 0: first line 2, file, qualified name, line table */
	memset(mem, 0, sizeof(mem));
	memcpy(mem + 72, &(int32_t){ 2 }, 4);
	put64(112, MEM_BASE + 512);
	put64(128, MEM_BASE + 768);
	put64(136, MEM_BASE + 1024);
	put_str(512, "/x/\"m\".py");
	put_str(768, "C.f");
	put64(1024 + 16, t->n);
	memcpy(mem + 1024 + 32, t->tab, t->n);

	stack_record(f, 3, ST_SKF_CUT, false);
	h = (struct st_event *)rec.buf;
	h->pid = 42;
	h->layout = 3;
	{
		struct st_view v;

		assert_int_equal(st_decode_event(rec.buf, rec.len, &v), 0);
		char want[512];

		assert_int_equal(st_stack_json(s, &sb, &v), 0);
		/* frame 2: the first line recorded is not the object's now; 3: nothing there */
		snprintf(want, sizeof(want),
			 ",\"stack\":[{\"file\":\"/x/\\\"m\\\".py\",\"line\":%d,"
			 "\"function\":\"C.f\"},",
			 t->lines[4]);
		assert_true(strncmp(strbuf_str(&sb), want, strlen(want)) == 0);
		assert_string_equal(strbuf_str(&sb) + strlen(want),
			"{\"file\":null,\"line\":5,\"function\":null,\"approximate\":true},"
			"{\"file\":null,\"line\":9,\"function\":null,\"approximate\":true}],"
			"\"stack_truncated\":true");
		strbuf_reset(&sb);
		assert_int_equal(st_stack_text(s, &sb, &v), 0);
		snprintf(want, sizeof(want), " > /x/\"m\".py:%d C.f\n", t->lines[4]);
		assert_true(strncmp(strbuf_str(&sb), want, strlen(want)) == 0);
		assert_string_equal(strbuf_str(&sb) + strlen(want),
				    " > ?:5 ? (approximate: its code object is gone)\n"
				    " > ?:9 ? (approximate: its code object is gone)\n"
			" > ... (more frames not kept: --stack-depth, or the record is full)\n");
		/* Kept: the process gone, the first frame still resolves, from the cache. */
		reads = 0;
		h->pid = 43;
		assert_int_equal(st_decode_event(rec.buf, rec.len, &v), 0);
		strbuf_reset(&sb);
		st_stack_text(s, &sb, &v);
		assert_true(strstr(strbuf_str(&sb), "?:2 ? (approximate") != NULL);
		h->pid = 42;
		assert_int_equal(st_decode_event(rec.buf, rec.len, &v), 0);
		reads = 0;
		strbuf_reset(&sb);
		st_stack_text(s, &sb, &v);
		assert_true(strncmp(strbuf_str(&sb), want, strlen(want)) == 0);
		assert_int_equal(reads, 2); /* the first frame kept: only the other two read */
	}
	/* A stack not known. */
	stack_record(f, 0, ST_SKF_UNKNOWN, false);
	{
		struct st_view v;

		assert_int_equal(st_decode_event(rec.buf, rec.len, &v), 0);
		strbuf_reset(&sb);
		st_stack_json(s, &sb, &v);
		assert_string_equal(strbuf_str(&sb), ",\"stack\":null");
	}
	strbuf_release(&sb);
	st_stacks_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_tables),
		cmocka_unit_test(test_stack_section),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
