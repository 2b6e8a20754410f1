/* SPDX-License-Identifier: MIT */
/*
 * Output lines of the tracer: audit events, syscalls, spans, alerts, lost and invalid
 * records, as text lines (strace-like, Python repr values: repr.h) or JSON Lines (jsonval.h).
 * Each line is built in memory and handed whole to a sink (sink.h), which batches lines and
 * writes them with one fwrite() once the batch is big enough (64 KiB), and at every
 * st_output_flush(): the stream only ever gets whole lines, never half of one.
 */
#ifndef SEATRACE_OUTPUT_H
#define SEATRACE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "decode.h"
#include "timefmt.h"

struct strbuf;
struct st_proctx;
struct st_sink;
struct st_stacks;

/* The JSON schema's version (docs/json-schema.md), in the header record. */
#define ST_JSON_SCHEMA 2

/* ST_FMT_TEXT_JSON: each record as its text line, then its JSON line (the journal sink). */
enum st_format { ST_FMT_TEXT, ST_FMT_JSON, ST_FMT_TEXT_JSON };

/* Several sinks at once (-o FILE, --journal, --syslog): each record goes to every lane. */
#define ST_OUTPUT_LANES 4
struct st_output_lane {
	enum st_format fmt;
	struct st_sink *sink;
};

struct st_output_opts {
	enum st_format fmt; /* out's or sink's: text or JSON */
	FILE *out; /* NULL with no sink: only the `more` lanes */
	struct st_sink *sink; /* if set, lines go there (taken on success) instead of to out */
	struct st_output_lane more[ST_OUTPUT_LANES - 1]; /* further lanes, taken on success */
	unsigned nmore;
	int64_t mono_to_real_ns; /* add to hdr->ts_ns to get CLOCK_REALTIME ns */
	/* Re-derive mono_to_real_ns from the clocks at start and at most once a second after. */
	bool live_clock;
	/* Process context for event, span and syscall records (JSON); NULL: none. Not owned. */
	struct st_proctx *proctx;
	/* Text lines' time flags (-t, -r, -T: timefmt.h); NULL: the default. Copied. */
	const struct st_timefmt *timefmt;
	/* -k: resolves the Python stacks events carry (stack.h); NULL: none shown. Not owned. */
	struct st_stacks *stacks;
};

struct st_output;

/*
 * NULL and errno (EINVAL, ENOMEM) on failure. The output does its own buffering, in whole
 * lines: a stream on a file descriptor is made unbuffered (setvbuf _IONBF), so each batch is
 * one write(2). Give it a stream nothing else has written to yet.
 */
struct st_output *st_output_new(const struct st_output_opts *opts);
/*
 * One line for the event, added to the batch. 0, -ENOMEM (nothing added), -EINTR (the line
 * is in the batch, which waits: see st_output_set_intr()), or the negative errno of a failed
 * write (ENOSPC, EPIPE, ...: then the lines of that batch are dropped and counted).
 */
int st_output_event(struct st_output *o, const struct st_view *v);
/*
 * argfilt: a rule acted on the event v: JSON {"type":"action","action":"kill"|"stop","rule":
 * RULE,"dry_run":B,...the event's fields}; a text line "!! KILL name(args) by rule ...". `flags`:
 * ST_AF_*. Written at once.
 */
int st_output_action(struct st_output *o, const struct st_view *v, const char *action,
		     const char *rule, uint16_t flags);
/*
 * Records lost in the ring buffer: JSON {"type":"lost","ts":..,"count":N}; a text line.
 * Written at once, with the batch before it. 0, -ENOMEM, -EINTR or a write's negative errno.
 */
int st_output_lost(struct st_output *o, uint64_t mono_ts_ns, uint64_t count);
/* The same, with exec/exit notices lost too: JSON adds "notices":M when M > 0. */
int st_output_lost_notices(struct st_output *o, uint64_t mono_ts_ns, uint64_t count,
			   uint64_t notices);
/*
 * Events a rate limit left out (issue 14): JSON {"type":"lost","reason":"rate-limited","pid":
 * P,"event":NAME or "rule":NAME,"count":N}, "event_cut":true when NAME is the first
 * ST_RL_NAME bytes of a longer one; without pid and name (NULL) for what no bucket accounts
 * for. A text line. Written at once. 0, -ENOMEM, -EINTR or a write's negative errno.
 */
int st_output_lost_rate(struct st_output *o, uint64_t mono_ts_ns, uint32_t pid, bool rule,
			const char *name, bool cut, uint64_t count);
/*
 * The policy file was applied or refused (issue 14): JSON {"type":"policy","status":STATUS,
 * "file":FILE, then "rules":N when applied; when refused "line","col" (when known),
 * "reason" (the first mistake) and "errors" (how many)}. `reason` NULL: applied.
 */
int st_output_policy(struct st_output *o, uint64_t mono_ts_ns, const char *status,
		     const char *file, int nrules, unsigned line, unsigned col, const char *reason,
		     unsigned nerrors);
/*
 * A malformed record, never dropped silently: JSON {"type":"invalid","size":N}; a text line.
 * Written at once, with the batch before it. 0, -ENOMEM, -EINTR or a write's negative errno.
 */
int st_output_invalid(struct st_output *o, size_t size, int err);
/*
 * Write the batched lines and fflush() the stream: call it whenever the reader goes idle (after
 * each drain of the ring buffer) so lines show up promptly. 0, -EINTR, or a negative errno.
 */
int st_output_flush(struct st_output *o);
/* Flushes (as st_output_flush(), whose result a caller that cares checks first), then frees. */
void st_output_free(struct st_output *o);

/*
 * A full output (a pipe nobody reads) is waited for, but a write returns -EINTR, its lines
 * kept for later, as soon as `fd` is readable (the reader's signalfd): see sink.h.
 */
void st_output_set_intr(struct st_output *o, int fd);
/* Stopping: from now on, give up on a full output after `ms` milliseconds in all. */
void st_output_give_up_after(struct st_output *o, int ms);
/* Lines of -o FILE or stdout not written: failed writes, or given up on. */
unsigned long long st_output_dropped(const struct st_output *o);
/* The sinks, in lane order (for counters: struct st_sink's dropped, errors). Their number. */
unsigned st_output_sinks(const struct st_output *o, struct st_sink **sinks, unsigned max);

/*
 * The header record, JSON only (nothing for text): {"type":"header","seq":N,"ts":..,"ts_ns":..,
 * "schema":ST_JSON_SCHEMA,"seatrace":VERSION,"host":..,"boot_id":..}. st_output_header() has
 * the output's own stream start with it: it is written before the next record (a run that
 * writes no record writes no header either). st_output_format_header() appends it (with its
 * newline) to sb at once, for a sink that starts a new file (rotation): call it with the
 * sink's batch when the file is new, before any other line goes into it. Either takes the
 * next seq. 0 or -errno.
 */
int st_output_header(struct st_output *o);
int st_output_format_header(struct st_output *o, struct strbuf *sb);

/*
 * The line st_output_event() would write, without the parts that belong to a run (seq and
 * the process context), appended to sb with its newline, for tests and for
 * callers with their own buffering. 0 or -errno.
 */
int st_format_event(struct strbuf *sb, const struct st_view *v, enum st_format fmt,
		    int64_t mono_to_real_ns);

struct st_sys_view;
struct st_span;
/* A syscall record, marked by how it relates to the audit event before it. */
int st_output_syscall(struct st_output *o, const struct st_sys_view *v);
/* A sign of tampering with auditing; written at once. */
int st_output_alert(struct st_output *o, uint64_t mono_ts_ns, uint32_t pid, uint32_t tid,
		    const char *comm, const char *reason);
/*
 * Process pid ran interpreter `file` before seatrace attached to it (`reason`: "exec", seen
 * after the new process started; "mapped", loaded after exec, as by dlopen()): events raised
 * before now may be missing. JSON {"type":"coverage","ts","pid","tid","comm","file","reason"};
 * a text line. Written at once. 0, -ENOMEM or -EIO.
 */
int st_output_coverage(struct st_output *o, uint64_t mono_ts_ns, uint32_t pid, const char *comm,
		       const char *file, const char *reason);
struct st_health;
/*
 * A stats record (health.h): JSON {"type":"stats","ts",...counters}; a text line. Written at
 * once, with the batch before it. 0, -ENOMEM, -EINTR or a write's negative errno.
 */
int st_output_stats(struct st_output *o, uint64_t mono_ts_ns, const struct st_health *h);
struct st_summary;
/*
 * -c / -C: the summary (summary.h): JSON one {"type":"summary",...} record; text the table's
 * lines. Written at once, with the batch before it. 0, -ENOMEM, -EINTR or a write's errno.
 */
int st_output_summary(struct st_output *o, uint64_t mono_ts_ns, const struct st_summary *s);
/* Each sink's failures (lines dropped, write errors) added to h, under the sink's name. */
void st_output_sinks_health(const struct st_output *o, struct st_health *h);
/*
 * An alert of a kind ("limit": a process not traced) about a file (NULL: none): JSON adds
 * "alert" and "file" to st_output_alert()'s fields.
 */
int st_output_alert_kind(struct st_output *o, uint64_t mono_ts_ns, uint32_t pid, uint32_t tid,
			 const char *comm, const char *kind, const char *file, const char *reason);
/* A paired call: prehook and posthook events (or what is known of them) as one record. */
int st_output_span(struct st_output *o, const struct st_span *s);

/*
 * Process pid ended and its last records are out: with -ff, its file is written and closed
 * (sink.h, st_sink_end()). Nothing otherwise.
 */
void st_output_process_end(struct st_output *o, uint32_t pid);

#endif /* SEATRACE_OUTPUT_H */
