// SPDX-License-Identifier: MIT
/*
 * -o FILE: appended, rotated at line boundaries, rotated files gzip-compressed on a thread of
 * their own (see sink.h and docs/daemon.md).
 *
 * Names, and why each step is safe if seatrace is killed at any moment:
 *   FILE            the current file: whole lines only (each batch is one write(2); a short
 *                   write is taken back with ftruncate).
 *   FILE.pending-N  a rotated file waiting for compression (N grows): plain whole lines.
 *   FILE.pending-N.gz.tmp  being compressed; fsync'd, then the pending file is deleted, then
 *                   it is renamed into place. At start, a .tmp whose pending file still exists
 *                   is unfinished (deleted, the pending file compressed again); one whose
 *                   pending file is gone is complete (renamed into place).
 *   FILE.1.gz ...   compressed, newest first; FILE.<keep>.gz is deleted to make room.
 * Without compression, FILE becomes FILE.1 at once (FILE.1 ... FILE.<keep>).
 * Only the reader thread touches FILE; only the compressor touches the .gz names (when
 * compressing), so the two share nothing but the queue of pending numbers.
 */
#include "say.h"
#include "sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define PENDING	   ".pending-"
#define TMP_SUFFIX ".gz.tmp"
#define ZCHUNK	   (64 * 1024)

struct path_sink {
	struct st_sink sink; /* first: the ops get this one's address */
	struct st_file_sink_opts o;
	char *path;
	int fd;
	unsigned long long head; /* bytes the file started with (its header): still "empty" */
	unsigned long long size; /* bytes in the current file */
	uint64_t started_ns;	 /* CLOCK_BOOTTIME when the current file was begun */
	bool rotate_said;	 /* a failed rotation was reported (once) */

	/* The compressor: pending numbers to compress, oldest first. */
	pthread_t thread;
	bool have_thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned long long *queue;
	size_t qhead, qlen, qcap;
	bool stopping;
	unsigned long long next_pending;
};

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}


static char *name_of(const struct path_sink *p, const char *fmt, unsigned long long n)
{
	char *s = NULL;

	if (asprintf(&s, fmt, p->path, n) < 0)
		return NULL;
	return s;
}

/* The directory entry of a rename or unlink made durable: a crash cannot undo it. */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/*
 * Makes room for a new FILE.1<ext>: FILE.i<ext> -> FILE.i+1<ext> for the run of names from
 * FILE.1 up to the first one missing (so a rotation costs the files there are, not `keep`),
 * FILE.keep<ext> deleted when the run reaches it.
 */
static int shift(const struct path_sink *p, const char *ext)
{
	unsigned long long top = 1;
	char fmt[32];
	int err = 0;

	snprintf(fmt, sizeof(fmt), "%%s.%%llu%s", ext);
	for (; top <= p->o.keep; top++) {
		char *n = name_of(p, fmt, top);
		bool there = n && access(n, F_OK) == 0;

		free(n);
		if (!n)
			return -ENOMEM;
		if (!there)
			break;
	}
	if (top > p->o.keep) {
		char *last = name_of(p, fmt, p->o.keep);

		if (!last)
			return -ENOMEM;
		if (unlink(last) && errno != ENOENT)
			err = -errno;
		free(last);
		top = p->o.keep;
	}
	/* FILE.top is free now: move each one up, the highest first. */
	for (unsigned long long i = top - 1; i >= 1 && !err; i--) {
		char *from = name_of(p, fmt, i), *to = name_of(p, fmt, i + 1);

		if (!from || !to)
			err = -ENOMEM;
		else if (rename(from, to) && errno != ENOENT)
			err = -errno;
		free(from);
		free(to);
	}
	return err;
}

/* ---- the compressor ---------------------------------------------------------------- */

/* src (plain) into dst as one gzip member, fsync'd. 0 or -errno. */
static int gzip_fd(int src, int dst)
{
	unsigned char *in = malloc(ZCHUNK), *out = malloc(ZCHUNK);
	z_stream z = {};
	int err = 0, flush = Z_NO_FLUSH, zret;

	if (!in || !out ||
	    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		Z_OK) {
		free(in);
		free(out);
		return -ENOMEM;
	}
	do {
		ssize_t n = read(src, in, ZCHUNK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
		z.next_in = in;
		z.avail_in = (uInt)n;
		do {
			size_t have, off = 0;

			z.next_out = out;
			z.avail_out = ZCHUNK;
			zret = deflate(&z, flush);
			if (zret == Z_STREAM_ERROR) {
				err = -EIO;
				break;
			}
			have = ZCHUNK - z.avail_out;
			while (off < have && !err) {
				ssize_t w = write(dst, out + off, have - off);

				if (w < 0 && errno != EINTR)
					err = -errno;
				else if (w > 0)
					off += (size_t)w;
			}
		} while (!err && z.avail_out == 0);
	} while (!err && flush != Z_FINISH);
	deflateEnd(&z);
	free(in);
	free(out);
	if (!err && fsync(dst))
		err = -errno;
	return err;
}

/* The tmp file is complete and its pending file gone: shift the others, put it in place. */
static int install(const struct path_sink *p, const char *tmp)
{
	char *to = name_of(p, "%s.%llu.gz", 1);
	int err = shift(p, ".gz");

	if (!to)
		return -ENOMEM;
	if (!err && rename(tmp, to))
		err = -errno;
	if (!err)
		sync_dir(to);
	free(to);
	return err;
}

/* FILE.pending-N -> FILE.1.gz, in the order that keeps every name readable (top comment). */
static int compress_one(struct path_sink *p, unsigned long long n)
{
	char *src = name_of(p, "%s" PENDING "%llu", n);
	char *tmp = name_of(p, "%s" PENDING "%llu" TMP_SUFFIX, n);
	int sfd = -1, dfd = -1, err = 0;
	struct stat st;

	if (!src || !tmp) {
		err = -ENOMEM;
		goto out;
	}
	sfd = open(src, O_RDONLY | O_CLOEXEC);
	if (sfd < 0 || fstat(sfd, &st)) {
		err = -errno;
		goto out;
	}
	dfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);
	if (dfd < 0) {
		err = -errno;
		goto out;
	}
	err = gzip_fd(sfd, dfd);
	if (close(dfd) && !err)
		err = -errno;
	dfd = -1;
	if (err) {
		unlink(tmp);
		goto out;
	}
	/* Complete and durable: the plain copy goes, then the .gz takes its place. */
	if (unlink(src)) {
		err = -errno;
		unlink(tmp);
		goto out;
	}
	err = install(p, tmp);
out:
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	if (err)
		st_say("cannot compress %s: %s (it stays as it is)", src ? src : p->path,
		    strerror(-err));
	free(src);
	free(tmp);
	return err;
}

static void *compressor(void *arg)
{
	struct path_sink *p = arg;

	/* Compression is background work: the reader, and the traced processes, come first. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		unsigned long long n;

		while (!p->qlen && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!p->qlen)
			break; /* stopping, and nothing left */
		n = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qlen--;
		pthread_mutex_unlock(&p->mu);
		compress_one(p, n);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int enqueue(struct path_sink *p, unsigned long long n)
{
	int err = 0;

	pthread_mutex_lock(&p->mu);
	if (p->qlen == p->qcap) {
		size_t ncap = p->qcap ? p->qcap * 2 : 8;
		unsigned long long *q = malloc(ncap * sizeof(*q));

		if (!q) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < p->qlen; i++)
			q[i] = p->queue[(p->qhead + i) % p->qcap];
		free(p->queue);
		p->queue = q;
		p->qhead = 0;
		p->qcap = ncap;
	}
	p->queue[(p->qhead + p->qlen) % p->qcap] = n;
	p->qlen++;
	pthread_cond_signal(&p->cv);
out:
	pthread_mutex_unlock(&p->mu);
	return err;
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * What an earlier run left (killed, or stopped with work queued): finished .tmp files are
 * put in place, unfinished ones deleted, pending files queued, oldest first.
 */
static int recover(struct path_sink *p)
{
	char *copy = strdup(p->path), *dir, *base;
	unsigned long long *found = NULL, *tmps = NULL;
	size_t nfound = 0, ntmps = 0, cap = 0, tcap = 0;
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	base = strrchr(copy, '/');
	if (base) {
		*base++ = 0;
		dir = *copy ? copy : "/";
	} else {
		base = copy;
		dir = ".";
	}
	d = opendir(dir);
	if (!d) {
		free(copy);
		return 0; /* the open of FILE says what is wrong with its directory */
	}
	size_t blen = strlen(base);

	while ((de = readdir(d))) {
		const char *s = de->d_name, *rest;
		char *end;
		unsigned long long n;

		if (strncmp(s, base, blen) || strncmp(s + blen, PENDING, strlen(PENDING)))
			continue;
		rest = s + blen + strlen(PENDING);
		if (*rest < '0' || *rest > '9')
			continue;
		n = strtoull(rest, &end, 10);
		if (*end && strcmp(end, TMP_SUFFIX))
			continue;
		if (n >= p->next_pending)
			p->next_pending = n + 1;
		unsigned long long **arr = *end ? &tmps : &found;
		size_t *len = *end ? &ntmps : &nfound, *c = *end ? &tcap : &cap;

		if (*len == *c) {
			size_t ncap = *c ? *c * 2 : 8;
			unsigned long long *g = realloc(*arr, ncap * sizeof(**arr));

			if (!g) {
				err = -ENOMEM;
				break;
			}
			*arr = g;
			*c = ncap;
		}
		(*arr)[(*len)++] = n;
	}
	closedir(d);
	if (nfound)
		qsort(found, nfound, sizeof(*found), cmp_ull);
	if (ntmps)
		qsort(tmps, ntmps, sizeof(*tmps), cmp_ull);
	for (size_t i = 0; i < ntmps && !err; i++) {
		char *tmp = name_of(p, "%s" PENDING "%llu" TMP_SUFFIX, tmps[i]);
		bool unfinished =
		    nfound && bsearch(&tmps[i], found, nfound, sizeof(*found), cmp_ull);

		if (!tmp)
			err = -ENOMEM;
		else if (unfinished)
			unlink(tmp);
		else
			install(p, tmp); /* complete: its pending file was deleted */
		free(tmp);
	}
	for (size_t i = 0; i < nfound && !err && p->o.compress; i++)
		err = enqueue(p, found[i]);
	free(found);
	free(tmps);
	free(copy);
	return err;
}

/* ---- the current file ----------------------------------------------------------------- */

static int open_current(struct path_sink *p)
{
	struct stat st;
	int fd = open(p->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if ((p->o.rotate_size || p->o.rotate_age) && !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOTSUP;
	}
	if (p->fd >= 0)
		close(p->fd);
	p->fd = fd;
	p->size = S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0;
	p->head = 0;
	p->started_ns = boot_ns();
	return 0;
}

static int write_lines(struct path_sink *p, const char *buf, size_t len);

/* A new, empty FILE starts with what the sink's owner puts first (the header record). */
static void start_file(struct path_sink *p)
{
	struct strbuf sb;

	if (!p->sink.file_start || p->size)
		return;
	strbuf_init(&sb);
	if (!p->sink.file_start(p->sink.file_start_ctx, &sb) && !sb.err && sb.len &&
	    !write_lines(p, sb.buf, sb.len))
		p->head = p->size;
	strbuf_release(&sb);
}

/* FILE -> FILE.pending-N (or FILE.1), a new FILE. On failure FILE goes on growing. */
static int rotate(struct path_sink *p)
{
	char *to;
	int err = 0;

	if (p->o.compress) {
		to = name_of(p, "%s" PENDING "%llu", p->next_pending);
	} else {
		to = name_of(p, "%s.%llu", 1);
		if (to)
			err = shift(p, "");
	}
	if (!to)
		return -ENOMEM;
	if (!err && rename(p->path, to) && errno != ENOENT)
		err = -errno;
	if (!err)
		err = open_current(p);
	if (!err)
		start_file(p);
	if (!err && p->o.compress)
		err = enqueue(p, p->next_pending++);
	if (err) /* in the stats records and metrics as this sink's errors */
		p->sink.errors++;
	if (err && !p->rotate_said) {
		p->rotate_said = true;
		st_say("cannot rotate %s: %s (writing on to it)", p->path, strerror(-err));
	} else if (!err) {
		p->rotate_said = false;
	}
	if (err) /* the size or age that asked for it waits for the next chance */
		p->started_ns = boot_ns();
	free(to);
	return err;
}

static bool too_old(const struct path_sink *p)
{
	return p->o.rotate_age && p->size > p->head &&
	       boot_ns() - p->started_ns >= p->o.rotate_age * 1000000000ULL;
}

/* One write(2) of whole lines; a short one is taken back, the file keeps whole lines. */
static int write_lines(struct path_sink *p, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(p->fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? -errno : -ENOSPC;

			if (off && ftruncate(p->fd, (off_t)p->size) == 0)
				off = 0;
			p->size += off;
			return err;
		}
		off += (size_t)w;
	}
	p->size += len;
	return 0;
}

/* A regular file never blocks: s->intr_fd and the deadline have nothing to interrupt. */
static int path_write(struct st_sink *s, const char *buf, size_t len, size_t *done)
{
	struct path_sink *p = (struct path_sink *)s;
	unsigned long long max = p->o.rotate_size;
	int err = 0;

	*done = 0;
	if (too_old(p))
		rotate(p);
	while (len && !err) {
		size_t chunk = len;

		if (max && p->size + len > max) {
			size_t room = p->size < max ? (size_t)(max - p->size) : 0;
			const char *nl = room ? memrchr(buf, '\n', room) : NULL;

			if (nl) {
				chunk = (size_t)(nl - buf) + 1;
			} else if (p->size > p->head) {
				/* Not one whole line fits: the next file gets it. */
				if (rotate(p) == 0 && p->size == p->head)
					continue;
			} else {
				/* An empty file and a line longer than the limit: it alone. */
				nl = memchr(buf, '\n', len);
				chunk = nl ? (size_t)(nl - buf) + 1 : len;
			}
		}
		err = write_lines(p, buf, chunk);
		if (!err)
			*done += chunk;
		buf += chunk;
		len -= chunk;
	}
	return err;
}

static int path_flush(struct st_sink *s)
{
	struct path_sink *p = (struct path_sink *)s;

	/* The reader flushes whenever it goes idle: age is checked here too. */
	if (too_old(p))
		rotate(p);
	return 0;
}

static int path_reopen(struct st_sink *s)
{
	int err = open_current((struct path_sink *)s);

	if (!err)
		start_file((struct path_sink *)s);
	return err;
}

static void path_free(struct st_sink *s)
{
	struct path_sink *p = (struct path_sink *)s;

	if (p->have_thread) {
		pthread_mutex_lock(&p->mu);
		p->stopping = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	if (p->fd >= 0)
		close(p->fd);
	free(p->queue);
	free(p->path);
	st_sink_release(s);
	free(p);
}

static const struct st_sink_ops path_ops = {
    .write = path_write,
    .flush = path_flush,
    .free = path_free,
    .reopen = path_reopen,
};

struct st_sink *st_sink_path_new(const struct st_file_sink_opts *opts, size_t line_max, char *why,
				 size_t whylen)
{
	struct path_sink *p;
	int err;

	if (!opts || !opts->path || !*opts->path || !opts->keep) {
		snprintf(why, whylen, "invalid output settings");
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(opts->path))) {
		free(p);
		snprintf(why, whylen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	p->o = *opts;
	p->o.path = p->path;
	if (!p->o.rotate_size && !p->o.rotate_age)
		p->o.compress = false; /* nothing is rotated: nothing to compress */
	p->fd = -1;
	p->next_pending = 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (st_sink_init(&p->sink, &path_ops, line_max)) {
		err = -ENOMEM;
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	err = open_current(p);
	if (err) {
		snprintf(why, whylen, "cannot write %s: %s", p->path,
			 err == -ENOTSUP ? "not a regular file, which --rotate-size and "
					   "--rotate-age need"
					 : strerror(-err));
		goto fail;
	}
	if (p->o.rotate_size || p->o.rotate_age) {
		err = recover(p);
		if (!err && p->o.compress) {
			sigset_t all, old;

			/*
			 * Born with every signal blocked: the reader takes SIGTERM and SIGHUP
			 * through its signalfd, which blocks them only after this runs; a thread
			 * that could take them would end the process undrained.
			 */
			sigfillset(&all);
			pthread_sigmask(SIG_BLOCK, &all, &old);
			err = -pthread_create(&p->thread, NULL, compressor, p);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			p->have_thread = !err;
		}
		if (err) {
			snprintf(why, whylen, "cannot set up rotation of %s: %s", p->path,
				 strerror(-err));
			goto fail;
		}
	}
	return &p->sink;
fail:
	path_free(&p->sink);
	errno = -err;
	return NULL;
}
