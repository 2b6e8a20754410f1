// SPDX-License-Identifier: MIT
/*
 * -ff (--output-separately): each process's lines in FILE.PID, as strace -ff -o FILE writes
 * them (sink.h). The output asks st_sink_route() for the sink of each record's process; the
 * reader calls st_sink_end() once a process's exit notice has been handled, after its last
 * records, so the file is complete (written, closed) while seatrace goes on.
 *
 * Each process's file is a plain -o sink of its own (sink_file.c: appended, whole lines).
 * Open ones are bounded (fds and batch memory): past the bound, the one idle longest is
 * closed, and opened again, appending, if its process has more to say.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "say.h"
#include "sink.h"

#define SPLIT_OPEN_MAX 256

struct child {
	uint32_t pid;
	uint64_t used; /* a counter of routes: the smallest is the one idle longest */
	struct st_sink *s;
};

struct split_sink {
	struct st_sink sink; /* first: the ops get this one's address; lines of no process */
	char *path;
	size_t line_max;
	struct st_sink *main; /* FILE, at the first line of no process */
	struct child *kids;
	unsigned nkids, max_kids;
	uint64_t clock;
	struct child *last; /* the last routed: records come in runs of one process */
	unsigned long long gone_dropped, gone_errors; /* of files closed */
	bool open_said;
};

static const struct st_sink_ops split_ops;

/* A new file of the output's (a JSON one starts with a header record). */
static struct st_sink *open_file(struct split_sink *p, const char *path)
{
	struct st_file_sink_opts fo = { .path = path, .keep = 1 };
	char why[512];
	struct stat st;
	bool fresh = stat(path, &st) || !st.st_size;
	struct st_sink *s = st_sink_path_new(&fo, p->line_max, why, sizeof(why));

	if (!s) {
		if (!p->open_said)
			st_say("%s (its lines go to %s)", why, p->path);
		p->open_said = true;
		p->sink.errors++;
		return NULL;
	}
	s->file_start = p->sink.file_start;
	s->file_start_ctx = p->sink.file_start_ctx;
	if (fresh && s->file_start)
		s->file_start(s->file_start_ctx, &s->batch);
	return s;
}

static void close_kid(struct split_sink *p, struct child *k)
{
	st_sink_flush(k->s);
	p->gone_dropped += k->s->dropped;
	p->gone_errors += k->s->errors;
	st_sink_free(k->s);
	if (p->last == k)
		p->last = NULL;
	else if (p->last == &p->kids[p->nkids - 1])
		p->last = k; /* moved there */
	*k = p->kids[--p->nkids];
}

static struct st_sink *split_route(struct st_sink *s, uint32_t pid)
{
	struct split_sink *p = (struct split_sink *)s;
	struct child *k = p->last;
	char *path;

	if (!k || k->pid != pid) {
		k = NULL;
		for (unsigned i = 0; i < p->nkids && !k; i++)
			if (p->kids[i].pid == pid)
				k = &p->kids[i];
	}
	if (!k) {
		if (p->nkids == p->max_kids) {
			struct child *old = &p->kids[0];

			for (unsigned i = 1; i < p->nkids; i++)
				if (p->kids[i].used < old->used)
					old = &p->kids[i];
			close_kid(p, old);
		}
		if (asprintf(&path, "%s.%u", p->path, pid) < 0)
			return NULL;
		k = &p->kids[p->nkids];
		k->s = open_file(p, path);
		free(path);
		if (!k->s)
			return NULL;
		k->pid = pid;
		p->nkids++;
	}
	k->used = ++p->clock;
	/* The output waits for, and gives up on, the process's file as on the whole output. */
	k->s->intr_fd = s->intr_fd;
	k->s->deadline_ns = s->deadline_ns;
	p->last = k;
	return k->s;
}

static void split_end(struct st_sink *s, uint32_t pid)
{
	struct split_sink *p = (struct split_sink *)s;

	for (unsigned i = 0; i < p->nkids; i++) {
		if (p->kids[i].pid == pid) {
			close_kid(p, &p->kids[i]);
			return;
		}
	}
}

/* Lines of no process (lost, invalid, stats): to FILE. */
static int split_write(struct st_sink *s, const char *buf, size_t len, size_t *done)
{
	struct split_sink *p = (struct split_sink *)s;

	*done = 0;
	if (!p->main) {
		p->main = open_file(p, p->path);
		if (!p->main)
			return -EIO;
	}
	return p->main->ops->write(p->main, buf, len, done);
}

/* The counters of every file, closed or open, as this sink's (stats, metrics, exit). */
static void sum_up(struct split_sink *p)
{
	unsigned long long d = p->gone_dropped, e = p->gone_errors;

	for (unsigned i = 0; i < p->nkids; i++) {
		d += p->kids[i].s->dropped;
		e += p->kids[i].s->errors;
	}
	if (d > p->sink.dropped)
		p->sink.dropped = d;
	if (e > p->sink.errors)
		p->sink.errors = e;
}

static int split_flush(struct st_sink *s)
{
	struct split_sink *p = (struct split_sink *)s;
	int ret = 0;

	for (unsigned i = 0; i < p->nkids; i++) {
		int err = st_sink_flush(p->kids[i].s);

		if (err && !ret)
			ret = err;
	}
	sum_up(p);
	return ret;
}

static int split_reopen(struct st_sink *s)
{
	struct split_sink *p = (struct split_sink *)s;
	int ret = p->main ? st_sink_reopen(p->main) : 0;

	for (unsigned i = 0; i < p->nkids; i++) {
		int err = st_sink_reopen(p->kids[i].s);

		if (err && !ret)
			ret = err;
	}
	return ret;
}

static void split_free(struct st_sink *s)
{
	struct split_sink *p = (struct split_sink *)s;

	while (p->nkids)
		close_kid(p, &p->kids[p->nkids - 1]);
	st_sink_free(p->main);
	free(p->kids);
	free(p->path);
	st_sink_release(s);
	free(p);
}

static const struct st_sink_ops split_ops = {
    .write = split_write,
    .flush = split_flush,
    .free = split_free,
    .reopen = split_reopen,
    .route = split_route,
    .end = split_end,
};

struct st_sink *st_sink_split_new(const char *path, size_t line_max, char *why, size_t whylen)
{
	struct split_sink *p;
	struct rlimit rl;
	struct stat st;
	char *copy, *dir;
	int ok;

	if (!path || !*path) {
		snprintf(why, whylen, "invalid output settings");
		errno = EINVAL;
		return NULL;
	}
	/* Nothing is created before a process has a line: check now that files can be. */
	copy = strdup(path);
	if (!copy) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	dir = dirname(copy);
	ok = !access(dir, W_OK | X_OK);
	if (!ok)
		snprintf(why, whylen, "cannot write files in %s (-ff -o %s): %s", dir, path,
			 strerror(errno));
	free(copy);
	if (ok && !stat(path, &st) && S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "-o %s is a directory: give a file name prefix", path);
		errno = EISDIR;
		ok = 0;
	}
	if (!ok)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(path)) || st_sink_init(&p->sink, &split_ops, 0)) {
		if (p)
			free(p->path);
		free(p);
		snprintf(why, whylen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	p->line_max = line_max;
	/* A quarter of the fds seatrace may open, at most SPLIT_OPEN_MAX files at once. */
	p->max_kids = SPLIT_OPEN_MAX;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur / 4 < p->max_kids)
		p->max_kids = rl.rlim_cur / 4 > 1 ? (unsigned)(rl.rlim_cur / 4) : 1;
	p->kids = calloc(p->max_kids, sizeof(*p->kids));
	if (!p->kids) {
		split_free(&p->sink);
		snprintf(why, whylen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	return &p->sink;
}
