// SPDX-License-Identifier: MIT
/* Batching of whole lines, and the sink that writes them to a FILE (see sink.h). */
#include "sink.h"

#include <errno.h>
#include <stdlib.h>

int st_sink_init(struct st_sink *s, const struct st_sink_ops *ops, size_t line_max)
{
	s->ops = ops;
	strbuf_init(&s->batch);
	return strbuf_grow(&s->batch, ST_SINK_BATCH_BYTES + line_max);
}

void st_sink_release(struct st_sink *s)
{
	strbuf_release(&s->batch);
}

/* Write the complete lines batched so far; they are dropped from the batch either way. */
static int write_batch(struct st_sink *s)
{
	size_t len = s->batch.len;
	int err;

	if (!len)
		return 0;
	err = s->ops->write(s, s->batch.buf, len);
	strbuf_reset(&s->batch);
	return err;
}

int st_sink_line_end(struct st_sink *s, size_t start, int err, bool now)
{
	if (!err)
		err = s->batch.err;
	if (err) {
		/* The batch holds only whole lines: take the part back and start afresh. */
		strbuf_truncate(&s->batch, start);
		s->batch.err = 0;
		return err;
	}
	return now || s->batch.len >= ST_SINK_BATCH_BYTES ? write_batch(s) : 0;
}

int st_sink_flush(struct st_sink *s)
{
	int err, ferr;

	if (!s)
		return 0;
	err = write_batch(s);
	ferr = s->ops->flush(s);
	return err ? err : ferr;
}

int st_sink_reopen(struct st_sink *s)
{
	int err;

	if (!s)
		return 0;
	err = write_batch(s);
	if (s->ops->reopen) {
		int rerr = s->ops->reopen(s);

		if (!err)
			err = rerr;
	}
	return err;
}

void st_sink_free(struct st_sink *s)
{
	if (!s)
		return;
	st_sink_flush(s);
	s->ops->free(s);
}

/* ---- a FILE ---------------------------------------------------------------------------- */

struct file_sink {
	struct st_sink sink; /* first: the ops get this one's address */
	FILE *out;
};

static int file_write(struct st_sink *s, const char *buf, size_t len)
{
	struct file_sink *f = (struct file_sink *)s;

	return fwrite(buf, 1, len, f->out) == len ? 0 : -EIO;
}

static int file_flush(struct st_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;

	return fflush(f->out) ? -EIO : 0;
}

static void file_free(struct st_sink *s)
{
	st_sink_release(s);
	free(s);
}

static const struct st_sink_ops file_ops = {
	.write = file_write,
	.flush = file_flush,
	.free = file_free,
};

struct st_sink *st_sink_file_new(FILE *out, size_t line_max)
{
	struct file_sink *f;

	if (!out) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	if (st_sink_init(&f->sink, &file_ops, line_max)) {
		st_sink_release(&f->sink);
		free(f);
		errno = ENOMEM;
		return NULL;
	}
	f->out = out;
	/*
	 * The batch is the buffer: with stdio's on top, each batch would cost a copy and two
	 * or three write(2)s (stdio's buffer is a few KiB); unbuffered, fwrite() of a batch is
	 * one write(2) of whole lines. Only for streams on a file descriptor: a memory stream
	 * (open_memstream) keeps its own buffer.
	 */
	if (fileno(out) >= 0)
		setvbuf(out, NULL, _IONBF, 0);
	return &f->sink;
}
