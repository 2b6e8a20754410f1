// SPDX-License-Identifier: MIT
/* Batching of whole lines, and the sink that writes them to a FILE (see sink.h). */
#include "sink.h"
#include "say.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>


int st_sink_init(struct st_sink *s, const struct st_sink_ops *ops, size_t line_max)
{
	s->ops = ops;
	s->intr_fd = -1;
	s->deadline_ns = 0;
	s->dropped = 0;
	s->errors = 0;
	s->name = "file";
	s->rel_prev_ns = 0;
	s->rel_have = false;
	strbuf_init(&s->batch);
	return strbuf_grow(&s->batch, ST_SINK_BATCH_BYTES + line_max);
}


void st_sink_release(struct st_sink *s)
{
	strbuf_release(&s->batch);
}

void st_sink_give_up_after(struct st_sink *s, int ms)
{
	unsigned long long d = st_mono_ns() + (unsigned long long)ms * 1000000ULL;

	if (s && (!s->deadline_ns || d < s->deadline_ns))
		s->deadline_ns = d;
}

static unsigned long long count_lines(const char *buf, size_t len)
{
	unsigned long long n = 0;

	for (const char *p = buf; (p = memchr(p, '\n', len - (size_t)(p - buf))); p++)
		n++;
	return n;
}

/*
 * Write the complete lines batched so far. Interrupted, the rest stays for the next write;
 * otherwise they are dropped from the batch, written or not (those not written counted).
 */
static int write_batch(struct st_sink *s)
{
	size_t len = s->batch.len, done = 0;
	int err;

	if (!len)
		return 0;
	err = s->ops->write(s, s->batch.buf, len, &done);
	if (done > len)
		done = len;
	if (err == -EINTR) {
		memmove(s->batch.buf, s->batch.buf + done, len - done);
		strbuf_truncate(&s->batch, len - done);
		return err;
	}
	if (err)
		s->dropped += count_lines(s->batch.buf + done, len - done);
	if (err && err != -ETIMEDOUT)
		s->errors++;
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
	int fd;	     /* where batches go: -1, through stdio (a memory stream) */
	bool own_fd; /* fd is a description of our own, closed on free */
	bool sock;   /* fd is a socket: send() with MSG_DONTWAIT */
};

/*
 * Until the destination takes more: 0, or -EINTR (intr_fd readable), -ETIMEDOUT (past the
 * deadline). An error condition on fd is left for the next write(2) to report.
 */
static int wait_writable(struct st_sink *s, int fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLOUT },
			       { .fd = s->intr_fd, .events = POLLIN } };

	for (;;) {
		int timeout = -1, n;

		if (s->deadline_ns) {
			unsigned long long now = st_mono_ns();

			if (now >= s->deadline_ns)
				return -ETIMEDOUT;
			timeout = (int)((s->deadline_ns - now + 999999) / 1000000);
		}
		n = poll(p, s->intr_fd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		if (p[0].revents)
			return 0;
		if (p[1].revents)
			return -EINTR;
	}
}

static int file_write(struct st_sink *s, const char *buf, size_t len, size_t *done)
{
	struct file_sink *f = (struct file_sink *)s;

	*done = 0;
	if (f->fd < 0) {
		errno = 0;
		*done = fwrite(buf, 1, len, f->out);
		return *done == len ? 0 : -(errno ? errno : EIO);
	}
	while (*done < len) {
		ssize_t n = f->sock ? send(f->fd, buf + *done, len - *done,
					   MSG_DONTWAIT | MSG_NOSIGNAL)
				    : write(f->fd, buf + *done, len - *done);
		int err;

		if (n > 0) {
			*done += (size_t)n;
			continue;
		}
		if (n == 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		err = wait_writable(s, f->fd);
		if (err)
			return err;
	}
	return 0;
}

static int file_flush(struct st_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;

	if (f->fd >= 0)
		return 0; /* write(2) has nothing of ours to push */
	errno = 0;
	return fflush(f->out) ? -(errno ? errno : EIO) : 0;
}

static void file_free(struct st_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;

	if (f->own_fd)
		close(f->fd);
	st_sink_release(s);
	free(s);
}

static const struct st_sink_ops file_ops = {
	.write = file_write,
	.flush = file_flush,
	.free = file_free,
};

/*
 * Where a stream's batches go. A pipe or terminal that nobody empties would block write(2)
 * for ever, deaf to signals (the reader takes them through a signalfd): it is written
 * through a non-blocking open file description of its own, reopened through /proc, so the
 * flag does not reach the others sharing the original (the traced command's terminal).
 */
static void file_target(struct file_sink *f, int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	char path[64];

	f->fd = fd;
	/* Already non-blocking, or not open for writing (the write says so): as it is. */
	if (fl < 0 || fstat(fd, &st) || (fl & O_NONBLOCK) || (fl & O_ACCMODE) == O_RDONLY)
		return;
	if (S_ISSOCK(st.st_mode)) {
		f->sock = true;
		return;
	}
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return; /* a file: the disk always takes it, or fails */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (fl & O_APPEND));
	if (fd >= 0) {
		f->fd = fd;
		f->own_fd = true;
	}
}

struct st_sink *st_sink_file_new(FILE *out, size_t line_max)
{
	struct file_sink *f;
	int fd;

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
	f->fd = -1;
	/*
	 * The batch is the buffer: with stdio's on top, each batch would cost a copy and two
	 * or three write(2)s (stdio's buffer is a few KiB); with write(2), a batch is one
	 * write(2) of whole lines. Only for streams on a file descriptor: a memory stream
	 * (open_memstream) keeps its own buffer.
	 */
	fd = fileno(out);
	if (fd >= 0) {
		fflush(out);
		file_target(f, fd);
	}
	return &f->sink;
}
