/* SPDX-License-Identifier: MIT */
/*
 * Health: seatrace's own counters, cumulative since start, as one set (struct st_health), and
 * that set formatted as a `stats` record (JSON or a text line) and as Prometheus text for
 * node_exporter's textfile collector (docs/daemon.md, "Health"). Filling the set from the
 * kernel's counters is the loader's job (kstats.c); nothing here touches BPF.
 */
#ifndef SEATRACE_HEALTH_H
#define SEATRACE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include "rule.h"

struct strbuf;
struct jsonw;

/* Events not delivered, by cause: the `lost` object's members and the metric's labels. */
enum st_health_lost {
	ST_LOST_RING_FULL,	 /* the ring buffer was full */
	ST_LOST_PROBE_PREEMPTED, /* the probe was preempted mid-record on its CPU */
	ST_LOST_PROBE_MISSED,	 /* the probe did not run: another BPF program ran on that CPU */
	ST_LOST_MAX,
};

/* Notices (exec, exit, fork) not delivered: their ring was full. */
enum st_health_notice {
	ST_NOTICE_EXEC,
	ST_NOTICE_EXIT,
	ST_NOTICE_FORK,
	ST_NOTICE_MAX,
};

/*
 * One output destination's failures. A kind of sink that counts more (journald, syslog)
 * reports them here: the hook is st_output_each_sink() (output.h).
 */
struct st_health_sink {
	char name[24];		/* "stdout", "file", "journal", "syslog"... */
	uint64_t lines_dropped; /* lines not written: failed writes, or given up on */
	uint64_t errors;	/* failed writes */
};

#define ST_HEALTH_SINKS 8

struct st_health {
	uint64_t uptime_ns;
	/* Audit events, each counted once, where it ended. */
	uint64_t delivered;	   /* event records read from the ring */
	uint64_t filtered_name;	   /* left out in the kernel by -e/-x */
	uint64_t filtered_process; /* left out in the kernel by -p/-u/--comm/--cgroup */
	uint64_t rate_limited;	   /* left out in the kernel by a rate limit (issue 14) */
	uint64_t lost[ST_LOST_MAX];
	/* Syscall records (--syscalls). */
	uint64_t syscalls;		 /* read */
	uint64_t syscalls_lost;		 /* ring full */
	uint64_t syscalls_untracked;	 /* too many in flight at once */
	uint64_t notices[ST_NOTICE_MAX]; /* received (fork: 0, they come as records) */
	uint64_t notices_lost[ST_NOTICE_MAX];
	uint64_t invalid;     /* malformed records, reported as `invalid` records */
	uint64_t name_faults; /* event names that could not be read (record still sent) */
	uint64_t names_from_file; /* unreadable in the process, known from the file (forked children) */
	/* argfilt: --kill and --stop rules that fired; action records lost (--metrics only). */
	uint64_t actions_kill, actions_stop, actions_lost;
	/* Count rules (--count, `action: count`): events each matched; shown when nrules > 0. */
	const struct st_rule_count *rules; /* not owned */
	unsigned nrules;
	/* Attachments now. */
	uint64_t files;	    /* interpreter files with probes attached */
	uint64_t processes; /* processes known to map them */
	uint64_t links;	    /* probe links (uprobes, tracepoints) */
	/* Attachments since start. */
	uint64_t files_attached, files_released;
	uint64_t limit_files, limit_processes; /* not traced: --max-files/--max-links reached */
	/* The reader's own CPU time (getrusage), microseconds. */
	uint64_t cpu_user_us, cpu_system_us;
	unsigned nsinks;
	struct st_health_sink sinks[ST_HEALTH_SINKS];
};

/* Events the probe saw: delivered + filtered + lost, whatever the cause. */
uint64_t st_health_seen(const struct st_health *h);
/* Events lost, all causes. */
uint64_t st_health_lost_total(const struct st_health *h);

/* Adds a sink's counters (a name cut to fit). -ENOSPC past ST_HEALTH_SINKS. */
int st_health_add_sink(struct st_health *h, const char *name, uint64_t lines_dropped,
		       uint64_t errors);

/*
 * The stats record's members, into the JSON object w has open (the writer of the record puts
 * "type" and "ts" first, as on every record); or its text line, without the newline.
 */
void st_health_json(struct jsonw *w, const struct st_health *h);
void st_health_text(struct strbuf *sb, const struct st_health *h);

/* The Prometheus text exposition of h (HELP, TYPE, samples; no timestamps). 0 or -ENOMEM. */
int st_health_prom(struct strbuf *sb, const struct st_health *h);

/*
 * Writes text[0..len) to `path` atomically: `path`.tmp in the same directory, fsync'd, then
 * renamed over `path` (mode 0644: node_exporter runs as another user). 0 or a negative errno.
 */
int st_health_write_file(const char *path, const char *text, size_t len);

/* When the counters are due: every interval_ns from start (0: never). */
struct st_health_timer {
	uint64_t start_ns, next_ns, interval_ns;
};
void st_health_timer_init(struct st_health_timer *t, uint64_t now_ns, uint64_t interval_ns);
/* Whether they are due at now_ns; if so, the next time is set. */
bool st_health_timer_due(struct st_health_timer *t, uint64_t now_ns);

#endif
