/* SPDX-License-Identifier: MIT */
/* Command line: what the user asked for, parsed and checked, nothing done yet. */
#ifndef SEATRACE_CLI_H
#define SEATRACE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "config.h"
#include "glob.h"
#include "timefmt.h"
#include "rule.h"

#define ST_MAX_PIDS 64
/* Exit status of a usage error (sysexits.h's EX_USAGE), as argp exits with. */
#define ST_EXIT_USAGE 64
/*
 * Interpreter files attached at once (--max-files): the uprobe cookie has 8
 * bits for the layout slot (bpf/wire.h). Uprobe links at once (--max-links).
 */
#define ST_FILES_DEFAULT 64
#define ST_FILES_MAX 256
#define ST_LINKS_DEFAULT 256
#define ST_LINKS_MAX 65536

struct st_opts {
	pid_t pids[ST_MAX_PIDS];
	int npids;
	char **cmd; /* NULL-terminated, or NULL */
	struct st_globset globs;
	bool json;
	const char *output;
	unsigned str_max;
	int verbose;
	bool list_events;
	bool stats;
	bool floor; /* benchmark only: attach the empty program */
	bool syscalls;
	bool no_pair;
	const char *pairs[16]; /* --pair PRE=POST */
	int npairs;
	bool follow;
	bool list;
	bool have_uid;
	uid_t uid;
	const char *comm;
	const char *cgroup;
	unsigned long ring_size;

	/* The daemon's files (docs/daemon.md). */
	const char *config;		/* --config FILE, read before the command line */
	unsigned long long rotate_size; /* --rotate-size BYTES; 0: not by size */
	unsigned long rotate_age;	/* --rotate-age SECONDS; 0: not by age */
	unsigned rotate_keep;		/* --rotate-keep N (default 10) */
	bool no_compress;		/* --no-compress: rotated files stay plain text */
	/* Health (docs/daemon.md). */
	unsigned stats_interval; /* --stats-interval SECONDS; 0: no stats records */
	const char *metrics;	 /* --metrics FILE, Prometheus text; NULL: none */
	/* More sinks (docs/daemon.md). */
	bool journal;		   /* --journal */
	bool syslog;		   /* --syslog[=HOST:PORT] */
	const char *syslog_target; /* HOST:PORT, or NULL: /dev/log */
	bool syslog_tcp;	   /* --syslog-proto tcp */
	bool syslog_proto_set;
	/* Internal to cli.c: the command line (for a re-read), the file and its options. */
	int argc;
	char **argv;
	struct st_config cfg;
	char **cfg_args;
	size_t ncfg_args;
	FILE *err_stream; /* where argp_error() goes, while a file line is parsed */
	bool partial; /* parsing one source of several: the checks across options wait */
	/* Policies (issue 14: the policy file and rate limits; docs/policy-file.md). */
	const char *policy;	  /* --policy FILE */
	const char *check_policy; /* --check-policy FILE: check it, load nothing */
	uint32_t rate_per_s;	  /* --rate-limit N/s per process and event name; 0: none */
	struct st_policy *pol;	  /* --policy's rules, read and checked by st_cli_parse() */
	unsigned max_files; /* interpreter files attached at once */
	unsigned max_links; /* uprobe links at once */
	/* issue 13, -c / -C: enum st_count_mode (wire.h): 0, 1 (-c), 2 (-C) */
	int count;
	/* Time, files, and other strace flags (issue 13, cli13). */
	struct st_timefmt timefmt; /* -t, -tt, -ttt, -r, -T, --timestamps: text lines */
	unsigned tflag;		   /* -t given this many times */
	bool ts_given;		   /* -t or --timestamps: an absolute stamp asked for */
	bool separate;		   /* -ff, --output-separately: -o FILE.PID per process */
	unsigned fcount;	   /* -f given this many times in one source */
	unsigned stack_depth; /* -k, --stack-depth: Python frames per event; 0: no stacks */
	/* argfilt (issue 14): -e/-x NAME(COND,...), --kill, --stop, --dry-run (docs/policy.md). */
	struct st_rule *rules; /* ST_RULE_MAX of them, allocated with the first; in order given */
	unsigned nrules;
	bool dry_run;
};

/*
 * Parses and checks argv into *o, so that a mistake costs nothing: every option
 * is checked here, before anything is loaded. Returns 0 to go on, -EINVAL
 * after printing a message that says what to fix (a usage error: exit with
 * ST_EXIT_USAGE), or another negative errno (-ENOMEM). Unless `argp_flags` has ARGP_NO_EXIT (as
 * tests do), argp itself exits: 0 for --help, ST_EXIT_USAGE on a usage error.
 */
int st_cli_parse(int argc, char **argv, struct st_opts *o, unsigned argp_flags);

/*
 * With --config FILE, st_cli_parse() reads FILE first: each `key = value` line is applied as
 * the long option --key=value (a flag as `key = true`; `key = false` leaves it unset), checked
 * as on the command line, then the command line is applied over it. Repeatable options
 * (pid, event, exclude, pair) given on the command line replace the file's. A bad file is a
 * usage error (-EINVAL) after one line on stderr: "FILE:LINE: what is wrong".
 */

/*
 * --policy FILE is read and checked by st_cli_parse() too, after every option: its errors are
 * said on stderr as "FILE:LINE:COL: what is wrong" and are a usage error (-EINVAL); o->pol
 * then holds the first (o->pol->nerrors > 0, no rules). See policy.h.
 */

/* Frees what st_cli_parse() allocated (the configuration file's contents, the policy). */
void st_cli_release(struct st_opts *o);

/*
 * The settings that differ between `a` and `b` other than the event-name filters (which
 * can change while tracing): their option names, comma separated, into buf. The count.
 */
int st_cli_restart_needed(const struct st_opts *a, const struct st_opts *b, char *buf,
			  size_t len);

#endif
