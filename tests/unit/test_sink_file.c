// SPDX-License-Identifier: MIT
/*
 * -o FILE's sink: appends, rotates at line boundaries, keeps N files, gzip that zlib reads
 * back, reopen after a rename, what a killed run left behind, a short write taken back.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>
#include "sink.h"
#include "strbuf.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/seatrace-sink-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ev.jsonl", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static char *name(const char *suffix)
{
	static char buf[4][160];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", path, suffix);
	return buf[i];
}

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* The whole file, plain or gzip (gzread reads both), into sb. */
static void slurp(const char *p, struct strbuf *sb)
{
	gzFile g = gzopen(p, "rb");
	char buf[4096];
	int n;

	assert_non_null(g);
	while ((n = gzread(g, buf, sizeof(buf))) > 0)
		assert_int_equal(strbuf_add(sb, buf, (size_t)n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(gzclose(g), Z_OK);
}

static bool is_gzip(const char *p)
{
	unsigned char m[2] = {};
	FILE *f = fopen(p, "rb");

	assert_non_null(f);
	assert_int_equal(fread(m, 1, 2, f), 2);
	fclose(f);
	return m[0] == 0x1f && m[1] == 0x8b;
}

/* One line, "line N <pad>\n", through the sink as the output does, written at once. */
static void put(struct st_sink *s, int n, int pad)
{
	struct strbuf *sb = st_sink_buf(s);
	size_t start = sb->len;

	strbuf_addf(sb, "line %06d %.*s\n", n, pad,
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	assert_int_equal(st_sink_line_end(s, start, 0, true), 0);
}

/* The numbers of the lines in text, checking each is whole and well formed. */
static int lines_of(const char *text, size_t len, int *out, int max)
{
	int n = 0;

	assert_true(len == 0 || text[len - 1] == '\n');
	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));

		assert_non_null(nl);
		assert_int_equal(strncmp(p, "line ", 5), 0);
		assert_true(n < max);
		out[n++] = atoi(p + 5);
		p = nl + 1;
	}
	return n;
}

static struct st_sink *open_sink(unsigned long long size, unsigned keep, bool compress)
{
	struct st_file_sink_opts o = {
	    .path = path,
	    .rotate_size = size,
	    .keep = keep,
	    .compress = compress,
	};
	char why[256] = "";
	struct st_sink *s = st_sink_path_new(&o, 4096, why, sizeof(why));

	if (!s)
		fail_msg("st_sink_path_new: %s", why);
	return s;
}

static void test_appends(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct st_sink *s;
	FILE *f = fopen(path, "w");

	(void)state;
	fputs("line 000000 from before\n", f);
	fclose(f);
	s = open_sink(0, 1, true);
	put(s, 1, 3);
	st_sink_free(s);
	slurp(path, &sb);
	assert_string_equal(sb.buf, "line 000000 from before\nline 000001 xxx\n");
	/* Nothing rotates without a size or an age: nothing else was made. */
	assert_false(exists(name(".1.gz")));
	strbuf_release(&sb);
}

/* Rotated every ~1 KB, 4 kept: the newest lines, each once, in order, files whole. */
static void rotates(bool compress)
{
	const char *ext = compress ? ".gz" : "";
	int got[2000], n = 0, total = 400;
	struct st_sink *s = open_sink(1024, 4, compress);
	char suffix[16];

	for (int i = 0; i < total; i++)
		put(s, i, i % 60);
	st_sink_free(s); /* joins the compressor: its work is done */
	snprintf(suffix, sizeof(suffix), ".5%s", ext);
	assert_false(exists(name(suffix)));
	for (int k = 4; k >= 0; k--) {
		struct strbuf sb = STRBUF_INIT;
		const char *p = path;
		struct stat st;

		if (k) {
			snprintf(suffix, sizeof(suffix), ".%d%s", k, ext);
			p = name(suffix);
			assert_int_equal(is_gzip(p), compress);
		}
		assert_int_equal(stat(p, &st), 0);
		slurp(p, &sb);
		/* Never beyond the size asked for; a rotated one full but for a line (<= 73). */
		assert_true(sb.len <= 1024 && (!k || sb.len > 1024 - 73));
		n += lines_of(sb.buf, sb.len, got + n, 2000 - n);
		strbuf_release(&sb);
	}
	/* The last n lines written, each once, in order. */
	assert_true(n > 4 * 10);
	for (int i = 0; i < n; i++)
		assert_int_equal(got[i], total - n + i);
	assert_false(exists(name(".pending-1")));
}

static void test_rotates_compressed(void **state)
{
	(void)state;
	rotates(true);
}

static void test_rotates_plain(void **state)
{
	(void)state;
	rotates(false);
}

static void test_long_line_alone(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct st_sink *s = open_sink(1024, 3, false);
	struct strbuf *b = st_sink_buf(s);
	size_t start;

	(void)state;
	put(s, 1, 0);
	start = b->len;
	strbuf_addf(b, "line 000002 ");
	for (int i = 0; i < 2000; i++)
		strbuf_addch(b, 'y');
	strbuf_addch(b, '\n');
	assert_int_equal(st_sink_line_end(s, start, 0, false), 0);
	put(s, 3, 0);
	st_sink_free(s);
	slurp(name(".2"), &sb);
	assert_string_equal(sb.buf, "line 000001 \n");
	strbuf_reset(&sb);
	slurp(name(".1"), &sb);
	assert_int_equal(sb.len, 12 + 2000 + 1);
	strbuf_reset(&sb);
	slurp(path, &sb);
	assert_string_equal(sb.buf, "line 000003 \n");
	strbuf_release(&sb);
}

static void test_reopen_after_rename(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct st_sink *s = open_sink(0, 1, true);
	char old[160];

	(void)state;
	put(s, 1, 0);
	/* Batched, not yet written: reopen writes it to the file it belongs to. */
	{
		struct strbuf *b = st_sink_buf(s);
		size_t start = b->len;

		strbuf_addf(b, "line 000002 \n");
		assert_int_equal(st_sink_line_end(s, start, 0, false), 0);
	}
	snprintf(old, sizeof(old), "%s", name(".old"));
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(st_sink_reopen(s), 0);
	put(s, 3, 0);
	st_sink_free(s);
	slurp(old, &sb);
	assert_string_equal(sb.buf, "line 000001 \nline 000002 \n");
	strbuf_reset(&sb);
	slurp(path, &sb);
	assert_string_equal(sb.buf, "line 000003 \n");
	strbuf_release(&sb);
}

static void write_file(const char *p, const char *text, bool gz)
{
	if (gz) {
		gzFile g = gzopen(p, "wb");

		assert_non_null(g);
		gzputs(g, text);
		gzclose(g);
	} else {
		FILE *f = fopen(p, "w");

		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
}

/* What a killed run leaves: each file ends up once, in order, complete. */
static void test_recovers_a_killed_run(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct st_sink *s;

	(void)state;
	/* 3 was compressed and its plain copy deleted, not yet renamed into place. */
	write_file(name(".pending-3.gz.tmp"), "line 000003 \n", true);
	/* 5 was being compressed: the .tmp is unfinished. */
	write_file(name(".pending-5"), "line 000005 \n", false);
	write_file(name(".pending-5.gz.tmp"), "\x1f\x8b garbage", false);
	write_file(name(".pending-6"), "line 000006 \n", false);
	s = open_sink(1024, 10, true);
	put(s, 7, 0);
	st_sink_free(s);
	for (int k = 1; k <= 3; k++) {
		char suffix[16];

		snprintf(suffix, sizeof(suffix), ".%d.gz", k);
		strbuf_reset(&sb);
		slurp(name(suffix), &sb);
		assert_int_equal(atoi(sb.buf + 5), k == 1 ? 6 : k == 2 ? 5 : 3);
	}
	assert_false(exists(name(".4.gz")));
	assert_false(exists(name(".pending-5.gz.tmp")));
	assert_false(exists(name(".pending-5")));
	strbuf_release(&sb);
}

static void test_rotates_by_age(void **state)
{
	struct st_file_sink_opts o = {.path = path, .rotate_age = 1, .keep = 2, .compress = true};
	struct strbuf sb = STRBUF_INIT;
	char why[256];
	struct st_sink *s = st_sink_path_new(&o, 4096, why, sizeof(why));

	(void)state;
	assert_non_null(s);
	put(s, 1, 0);
	assert_int_equal(st_sink_flush(s), 0);
	assert_false(exists(name(".pending-1")));
	usleep(1100 * 1000); /* the age asked for, waited out; not a timing assertion */
	assert_int_equal(st_sink_flush(s), 0);
	put(s, 2, 0);
	st_sink_free(s);
	slurp(name(".1.gz"), &sb);
	assert_string_equal(sb.buf, "line 000001 \n");
	strbuf_reset(&sb);
	slurp(path, &sb);
	assert_string_equal(sb.buf, "line 000002 \n");
	strbuf_release(&sb);
}

/* A write cut short (file size limit, as a full disk would) is taken back: whole lines. */
static void test_short_write_taken_back(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {100, 100};
		struct st_sink *s = open_sink(0, 1, false);
		struct strbuf *b = st_sink_buf(s);
		size_t start = b->len;

		signal(SIGXFSZ, SIG_IGN);
		put(s, 1, 40); /* 53 bytes, fits */
		setrlimit(RLIMIT_FSIZE, &rl);
		for (int i = 2; i < 5; i++)
			strbuf_addf(b, "line %06d %040d\n", i, 0);
		_exit(st_sink_line_end(s, start, 0, true) == -EFBIG ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	{
		struct strbuf sb = STRBUF_INIT;
		int got[8];

		slurp(path, &sb);
		assert_int_equal(lines_of(sb.buf, sb.len, got, 8), 1);
		strbuf_release(&sb);
	}
}

static void test_refuses(void **state)
{
	struct st_file_sink_opts o = {.path = "/no/such/dir/x", .keep = 1};
	char why[256];

	(void)state;
	assert_null(st_sink_path_new(&o, 4096, why, sizeof(why)));
	assert_string_equal(why, "cannot write /no/such/dir/x: No such file or directory");
	o.path = "/dev/null";
	o.rotate_size = 4096;
	assert_null(st_sink_path_new(&o, 4096, why, sizeof(why)));
	assert_non_null(strstr(why, "not a regular file"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_appends),	     T(test_rotates_compressed),     T(test_rotates_plain),
	    T(test_long_line_alone), T(test_reopen_after_rename),    T(test_recovers_a_killed_run),
	    T(test_rotates_by_age),  T(test_short_write_taken_back), T(test_refuses),
	};

	return cmocka_run_group_tests_name("sink_file", tests, NULL, NULL);
}
