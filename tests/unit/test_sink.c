// SPDX-License-Identifier: MIT
/*
 * Sinks: whole lines only, batched until big or asked for, failed lines taken back; the
 * generic part through a sink kind of the test's own, then the FILE sink.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sink.h"
#include "strbuf.h"

/* A sink kind that keeps what it is given, and counts the calls. */
struct mem_sink {
	struct st_sink sink;
	struct strbuf out;
	int writes, flushes, *freed;
	int write_err, flush_err;
};

static int mem_write(struct st_sink *s, const char *buf, size_t len, size_t *done)
{
	struct mem_sink *m = (struct mem_sink *)s;

	m->writes++;
	assert_true(len > 0 && buf[len - 1] == '\n'); /* whole lines */
	*done = 0;
	if (m->write_err)
		return m->write_err;
	*done = len;
	return strbuf_add(&m->out, buf, len);
}

static int mem_flush(struct st_sink *s)
{
	struct mem_sink *m = (struct mem_sink *)s;

	m->flushes++;
	return m->flush_err;
}

static void mem_free(struct st_sink *s)
{
	struct mem_sink *m = (struct mem_sink *)s;

	(*m->freed)++;
	strbuf_release(&m->out);
	st_sink_release(s);
	free(m);
}

static const struct st_sink_ops mem_ops = {
	.write = mem_write,
	.flush = mem_flush,
	.free = mem_free,
};

static struct mem_sink *mem_new(int *freed)
{
	struct mem_sink *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	assert_int_equal(st_sink_init(&m->sink, &mem_ops, 1000), 0);
	strbuf_init(&m->out);
	m->freed = freed;
	return m;
}

/* Append one line and end it. */
static int line(struct mem_sink *m, const char *text, bool now)
{
	struct strbuf *sb = st_sink_buf(&m->sink);
	size_t start = sb->len;

	strbuf_addstr(sb, text);
	return st_sink_line_end(&m->sink, start, 0, now);
}

static void test_batches_until_big(void **state)
{
	static const char l[] = "0123456789012345678901234567890123456789012345678901234567890\n";
	int freed = 0;
	struct mem_sink *m = mem_new(&freed);
	size_t n = 0;

	/* Below ST_SINK_BATCH_BYTES, lines wait. */
	while ((n + 1) * strlen(l) < ST_SINK_BATCH_BYTES) {
		assert_int_equal(line(m, l, false), 0);
		n++;
	}
	assert_int_equal(m->writes, 0);
	assert_int_equal(m->out.len, 0);
	/* The line that reaches it sends the whole batch, in one write. */
	assert_int_equal(line(m, l, false), 0);
	n++;
	assert_int_equal(m->writes, 1);
	assert_int_equal(m->out.len, n * strlen(l));
	assert_int_equal(st_sink_buf(&m->sink)->len, 0);
	/* A line asking for it goes out at once, behind the ones before it. */
	assert_int_equal(line(m, "a\n", false), 0);
	assert_int_equal(line(m, "b\n", true), 0);
	assert_int_equal(m->writes, 2);
	assert_memory_equal(m->out.buf + n * strlen(l), "a\nb\n", 4);
	assert_int_equal(m->flushes, 0);
	/* A flush writes what waits, then flushes the destination; an empty batch: no write. */
	assert_int_equal(line(m, "c\n", false), 0);
	assert_int_equal(st_sink_flush(&m->sink), 0);
	assert_int_equal(m->writes, 3);
	assert_int_equal(m->flushes, 1);
	assert_int_equal(st_sink_flush(&m->sink), 0);
	assert_int_equal(m->writes, 3);
	assert_int_equal(m->flushes, 2);
	assert_string_equal(strbuf_str(&m->out) + n * strlen(l), "a\nb\nc\n");
	st_sink_free(&m->sink);
	assert_int_equal(freed, 1);
}

static void test_failed_line_taken_back(void **state)
{
	int freed = 0;
	struct mem_sink *m = mem_new(&freed);
	struct strbuf *sb = st_sink_buf(&m->sink);
	size_t start;

	assert_int_equal(line(m, "kept\n", false), 0);
	/* The formatter failed half-way: the half line goes. */
	start = sb->len;
	strbuf_addstr(sb, "half a li");
	assert_int_equal(st_sink_line_end(&m->sink, start, -EINVAL, false), -EINVAL);
	assert_int_equal(sb->len, start);
	/* The batch ran out of memory: the line goes, and the next line starts afresh. */
	strbuf_addstr(sb, "no room");
	sb->err = -ENOMEM;
	assert_int_equal(st_sink_line_end(&m->sink, start, 0, true), -ENOMEM);
	assert_int_equal(sb->len, start);
	assert_int_equal(sb->err, 0);
	assert_int_equal(m->writes, 0);
	assert_int_equal(line(m, "next\n", true), 0);
	assert_string_equal(strbuf_str(&m->out), "kept\nnext\n");
	st_sink_free(&m->sink);
	assert_int_equal(freed, 1);
}

static void test_write_errors(void **state)
{
	int freed = 0;
	struct mem_sink *m = mem_new(&freed);

	/* A failed write says so; its lines are dropped, later ones go out. */
	m->write_err = -EIO;
	assert_int_equal(line(m, "a\n", false), 0);
	assert_int_equal(line(m, "b\n", true), -EIO);
	assert_int_equal(st_sink_buf(&m->sink)->len, 0);
	m->write_err = 0;
	assert_int_equal(line(m, "c\n", true), 0);
	assert_string_equal(strbuf_str(&m->out), "c\n");
	/* Flush: a write error first, else the destination's. */
	m->flush_err = -EIO;
	assert_int_equal(st_sink_flush(&m->sink), -EIO);
	m->flush_err = 0;
	m->write_err = -EIO;
	assert_int_equal(line(m, "d\n", false), 0);
	assert_int_equal(st_sink_flush(&m->sink), -EIO);
	assert_int_equal(st_sink_flush(&m->sink), 0);
	/* Freeing flushes first. */
	m->write_err = 0;
	assert_int_equal(line(m, "e\n", false), 0);
	assert_int_equal(m->flushes, 3);
	st_sink_free(&m->sink);
	assert_int_equal(freed, 1);
	assert_int_equal(st_sink_flush(NULL), 0);
	st_sink_free(NULL);
}

static void test_file_sink(void **state)
{
	struct st_sink *s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	errno = 0;
	assert_null(st_sink_file_new(NULL, 0));
	assert_int_equal(errno, EINVAL);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	s = st_sink_file_new(f, 100);
	assert_non_null(s);
	strbuf_addstr(st_sink_buf(s), "x\n");
	assert_int_equal(st_sink_line_end(s, 0, 0, false), 0);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(len, 0);
	assert_int_equal(st_sink_flush(s), 0);
	assert_string_equal(buf, "x\n");
	strbuf_addstr(st_sink_buf(s), "y\n");
	assert_int_equal(st_sink_line_end(s, 0, 0, false), 0);
	st_sink_free(s); /* flushes; the stream stays the caller's */
	assert_string_equal(buf, "x\ny\n");
	fclose(f);
	free(buf);
	/* A stream that cannot be written: the write's own errno, the line counted. */
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	s = st_sink_file_new(f, 100);
	assert_non_null(s);
	strbuf_addstr(st_sink_buf(s), "z\n");
	assert_int_equal(st_sink_line_end(s, 0, 0, true), -EBADF);
	assert_int_equal(s->dropped, 1);
	st_sink_free(s);
	fclose(f);
	/* /dev/full: ENOSPC, not a generic EIO. */
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	s = st_sink_file_new(f, 100);
	assert_non_null(s);
	strbuf_addstr(st_sink_buf(s), "a\nb\n");
	assert_int_equal(st_sink_line_end(s, 0, 0, true), -ENOSPC);
	assert_int_equal(s->dropped, 2);
	st_sink_free(s);
	fclose(f);
}

/*
 * A pipe nobody reads: the write waits, and returns -EINTR, the rest kept, once the
 * interrupting descriptor is readable; past the deadline, the lines are dropped and counted.
 */
static void test_file_sink_full_pipe(void **state)
{
	int out[2], intr[2];
	struct st_sink *s;
	char line[1000];
	FILE *f;
	size_t n = 0;
	int err = 0;

	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(intr), 0);
	f = fdopen(out[1], "w");
	assert_non_null(f);
	s = st_sink_file_new(f, sizeof(line));
	assert_non_null(s);
	s->intr_fd = intr[0];
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(write(intr[1], "!", 1), 1); /* "a signal is waiting" */
	/* Fill the pipe (64 KiB) and more: the write that cannot finish is interrupted. */
	while (!err && n < 1000) {
		size_t start = st_sink_buf(s)->len;

		strbuf_add(st_sink_buf(s), line, sizeof(line));
		err = st_sink_line_end(s, start, 0, true);
		n++;
	}
	assert_int_equal(err, -EINTR);
	assert_true(st_sink_buf(s)->len > 0); /* kept */
	assert_int_equal(s->dropped, 0);
	/* Stopping: given up on, not waited for. */
	s->intr_fd = -1;
	st_sink_give_up_after(s, 10);
	assert_int_equal(st_sink_flush(s), -ETIMEDOUT);
	assert_true(s->dropped > 0);
	assert_int_equal(st_sink_buf(s)->len, 0);
	st_sink_free(s);
	fclose(f);
	close(out[0]);
	close(intr[0]);
	close(intr[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches_until_big),
		cmocka_unit_test(test_failed_line_taken_back),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_file_sink),
		cmocka_unit_test(test_file_sink_full_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
