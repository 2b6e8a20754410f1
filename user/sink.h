/* SPDX-License-Identifier: MIT */
/*
 * Where output lines go. Formatters append each line straight into the sink's batch, then
 * end it with st_sink_line_end(): a complete line is kept, a failed one taken back, so the
 * destination only ever gets whole lines. The batch is written when it passes
 * ST_SINK_BATCH_BYTES, when a line asks for it (rare, important ones), and at every
 * st_sink_flush().
 *
 * A kind of sink is a set of ops: the file sink here writes batches to a FILE with one
 * fwrite() each. Others (a rotating file, journald, syslog) supply their own ops.
 */
#ifndef SEATRACE_SINK_H
#define SEATRACE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "strbuf.h"

#define ST_SINK_BATCH_BYTES (64 * 1024)

struct st_sink;

struct st_sink_ops {
	/*
	 * Take buf[0..len), one or more whole lines; *done: the bytes taken. 0 (all of them),
	 * -EINTR when s->intr_fd became readable while the destination was full (the rest is
	 * kept for later), -ETIMEDOUT when the destination stayed full past s->deadline_ns, or
	 * another negative errno (the write failed: ENOSPC, EPIPE, ...). Lines not taken, but
	 * for -EINTR, are lost.
	 */
	int (*write)(struct st_sink *s, const char *buf, size_t len, size_t *done);
	/* Push what write() took to its destination now. 0 or a negative errno. */
	int (*flush)(struct st_sink *s);
	/* Release what the kind of sink holds, and the sink (after a last flush). */
	void (*free)(struct st_sink *s);
	/* Optional: close and open the destination again (SIGHUP, for logrotate). 0 or -errno. */
	int (*reopen)(struct st_sink *s);
	/*
	 * Optional (-ff, sink_split.c): the sink that takes process pid's lines (NULL: this
	 * one), and the end of process pid (its lines written, its file closed).
	 */
	struct st_sink *(*route)(struct st_sink *s, uint32_t pid);
	void (*end)(struct st_sink *s, uint32_t pid);
};

struct st_sink {
	const struct st_sink_ops *ops;
	struct strbuf batch; /* complete lines not written yet, then the line being built */
	/*
	 * A destination that does not take more (a pipe nobody reads) is waited for, but not
	 * past these: intr_fd readable (the reader's signalfd: -EINTR, so it can act on the
	 * signal), or CLOCK_MONOTONIC deadline_ns (0: none), after which lines are dropped.
	 */
	int intr_fd;
	unsigned long long deadline_ns;
	unsigned long long dropped; /* lines not written: failed writes, or given up on */
	unsigned long long errors;  /* failed writes (not counting a wait given up on); for
				       journal and syslog, failures of journald or the collector */
	const char *name;	    /* for messages and counters: "file", "journal", "syslog" */
	/*
	 * A sink that starts a new file (rotation, a reopen after mv) puts these bytes first:
	 * the output's header record (NULL: nothing). 0 or -errno.
	 */
	int (*file_start)(void *ctx, struct strbuf *sb);
	void *file_start_ctx;
	/* -r (timefmt.h): the CLOCK_MONOTONIC time of the last text line, once there is one. */
	uint64_t rel_prev_ns;
	bool rel_have;
};

/*
 * From now on, a full destination is waited for up to `ms` milliseconds in all, then lines
 * are dropped (and counted): once the reader is stopping, it must not hang on its output.
 */
void st_sink_give_up_after(struct st_sink *s, int ms);

/*
 * For the ops' constructors: set up s, with room for a full batch and a line of up to
 * `line_max` bytes so the batch does not grow in the common case. 0 or -ENOMEM.
 */
int st_sink_init(struct st_sink *s, const struct st_sink_ops *ops, size_t line_max);
/* The other half, for the ops' free(): releases the batch. */
void st_sink_release(struct st_sink *s);

/*
 * A sink writing to `out`, which it does not own (nor close). A stream on a file descriptor
 * is written with write(2), not stdio: the batch is the buffer, each batch one write(2); a
 * pipe, terminal or socket through a non-blocking description of its own, so a full one is
 * waited for with poll(), which intr_fd and the deadline can end. Give it a stream nothing
 * else has written to yet. NULL and errno (ENOMEM) on failure.
 */
struct st_sink *st_sink_file_new(FILE *out, size_t line_max);

/*
 * -o FILE: lines appended to `path` (never truncated), each batch one write(2) of whole
 * lines, so the file holds whole lines only whenever seatrace stops, even killed. With
 * rotate_size or rotate_age, FILE is rotated at a line boundary to FILE.1.gz (FILE.1 without
 * compress), the older ones shifted up to FILE.<keep>.gz; compression runs on a thread of its
 * own, so the reader never waits for it (sink_file.c). NULL and errno on failure, with a
 * message for the user in why.
 */
struct st_file_sink_opts {
	const char *path;
	unsigned long long rotate_size; /* bytes; 0: not by size */
	unsigned long rotate_age;	/* seconds; 0: not by age */
	unsigned keep;			/* rotated files kept, >= 1 */
	bool compress;
};
struct st_sink *st_sink_path_new(const struct st_file_sink_opts *opts, size_t line_max,
				 char *why, size_t whylen);

/*
 * --journal: each record a native journald entry (sd_journal_sendv), its text line as
 * MESSAGE and its JSON record's top-level fields as SEATRACE_<NAME> fields (docs/daemon.md).
 * Its lines come in pairs, the text line then the JSON line (ST_FMT_TEXT_JSON). Entries that
 * journald refuses are counted (dropped, errors), never retried. sink_journal.c; NULL and
 * errno on failure.
 */
struct st_sink *st_sink_journal_new(size_t line_max);

/*
 * --syslog[=HOST:PORT]: each JSON line an RFC 5424 message (MSGID the record type), to the
 * local /dev/log (target NULL), or to HOST:PORT over UDP or TCP (octet-counting framing,
 * RFC 6587). The target is resolved here: NULL, errno and a message in why if it does not.
 * Never blocks the reader: a bounded queue in front of a non-blocking socket; what does not
 * fit is dropped and counted, a failed connection retried with backoff (sink_syslog.c).
 */
struct st_sink *st_sink_syslog_new(const char *target, bool tcp, size_t line_max, char *why,
				   size_t whylen);

/*
 * One RFC 5424 message for the JSON record json[0..len) (no newline), appended to sb, with its
 * octet count in front for TCP framing (RFC 6587). 0 or -errno.
 */
int st_syslog_format(struct strbuf *sb, const char *json, size_t len, const char *host,
		     const char *procid, bool octet_count);


/*
 * -ff: lines of each process to FILE.PID (opened at its first line, appended as -o is;
 * flushed and closed at st_sink_end(pid), or when more than a few hundred are open at once,
 * the one idle longest, to be opened again if it has more), lines of no process to FILE
 * (opened at the first). Sinks of its own kind, without rotation (cli.c refuses it).
 * NULL and errno, with a message in why, when FILE's directory cannot take files.
 */
struct st_sink *st_sink_split_new(const char *path, size_t line_max, char *why, size_t whylen);

/* The sink of process pid's lines: s itself unless s splits them (-ff). */
static inline struct st_sink *st_sink_route(struct st_sink *s, uint32_t pid)
{
	struct st_sink *r = s && pid && s->ops->route ? s->ops->route(s, pid) : NULL;

	return r ? r : s;
}

/* Process pid ended: a splitting sink completes and closes its file. */
static inline void st_sink_end(struct st_sink *s, uint32_t pid)
{
	if (s && s->ops->end)
		s->ops->end(s, pid);
}

/* Writes the batch, then reopens the destination if its kind can (SIGHUP). 0 or -errno. */
int st_sink_reopen(struct st_sink *s);

/* Where the next line is appended. */
static inline struct strbuf *st_sink_buf(struct st_sink *s)
{
	return &s->batch;
}

/*
 * The line appended since the batch was `start` bytes long is complete, unless err (or an
 * allocation failure in the batch) says otherwise: then it is taken back and the error
 * returned (-ENOMEM, or the formatter's). A complete line stays in the batch, which is
 * written if it is big enough or `now` is true (then the line goes out at once, with the
 * lines before it). 0, -EINTR (the batch waits for a later write: see intr_fd), or the
 * write's negative errno (the batch's lines are dropped and counted).
 */
int st_sink_line_end(struct st_sink *s, size_t start, int err, bool now);
/* Write the batch and flush the destination. 0 or as above. A NULL sink is fine. */
int st_sink_flush(struct st_sink *s);
/* Flushes (as st_sink_flush(), whose result a caller that cares checks first), then frees. */
void st_sink_free(struct st_sink *s);

#endif /* SEATRACE_SINK_H */
