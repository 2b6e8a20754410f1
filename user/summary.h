/* SPDX-License-Identifier: MIT */
/*
 * -c / -C summaries (issue 13): counts per (event name, process) and per (syscall, errno), as
 * the kernel kept them (user/kcount.c reads its maps), merged per name across CPUs, layouts
 * and processes, then shown as a strace -c like table or as one JSON `summary` record. No BPF
 * here: unit-tested alone.
 */
#ifndef SEATRACE_SUMMARY_H
#define SEATRACE_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rule.h"

struct strbuf;
struct jsonw;

/* One count as read: a name in one process (the sum over CPUs). */
struct st_summary_row {
	char *name;
	uint32_t tgid;
	uint64_t count, first_ns, last_ns; /* CLOCK_MONOTONIC; first 0: unknown */
};

/* One event name, merged. */
struct st_summary_event {
	const char *name; /* the first row's */
	uint64_t count, processes, first_ns, last_ns;
};

struct st_summary_errno {
	uint32_t err;
	uint64_t count;
};

/* One syscall's count for one result, as read. */
struct st_summary_sysrow {
	uint32_t nr, err; /* err: 0, or the errno of a failure */
	uint64_t count;
};

/* One syscall, merged over its results. */
struct st_summary_syscall {
	uint32_t nr;
	uint64_t count, errors;
	unsigned nerrs;
	struct st_summary_errno *errs; /* by count, most first */
};

struct st_summary {
	struct st_summary_row *rows;
	size_t nrows, rows_cap;
	struct st_summary_sysrow *sys; /* as read */
	size_t nsys, sys_cap;
	bool syscalls; /* -S: the syscall table is shown */
	/* Not counted: a map was full (events, names, syscalls), or the probe did not run. */
	uint64_t uncounted, names_missing, sys_uncounted, lost;
	/* Count rules (--count, `action: count`): their own section, when there are any. */
	const struct st_rule_count *rules; /* not owned */
	unsigned nrules;
	/* st_summary_finish(): */
	struct st_summary_event *events; /* by count, most first */
	size_t nevents;
	struct st_summary_syscall *calls; /* by count, most first */
	size_t ncalls;
	uint64_t total, processes, sys_total;
};

/* Adds a row (name: len bytes, copied). 0 or -ENOMEM. */
int st_summary_add(struct st_summary *s, const char *name, size_t len, uint32_t tgid,
		   uint64_t count, uint64_t first_ns, uint64_t last_ns);
/* Adds a syscall's count for one result (err 0: success). 0 or -ENOMEM. */
int st_summary_add_sys(struct st_summary *s, uint32_t nr, uint32_t err, uint64_t count);
/* Merges the rows added: per name, per syscall; sorted by count. 0 or -ENOMEM. */
int st_summary_finish(struct st_summary *s);
/* Frees everything; *s is then empty, ready for another round. */
void st_summary_free(struct st_summary *s);

/* The table as text lines, each ending in '\n'; times as local time of day. */
void st_summary_text(struct strbuf *sb, const struct st_summary *s, int64_t mono_to_real_ns);
/* The record's members after "type", "seq", "ts": into an open JSON object. */
void st_summary_json(struct jsonw *w, const struct st_summary *s, int64_t mono_to_real_ns);

#endif
