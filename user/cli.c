// SPDX-License-Identifier: MIT
/* argp command line, in the manner of libbpf-tools: options, then examples. */
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <stdint.h>
#include "say.h"
#include "cli.h"
#include "pair.h"
#include "policy.h"
#include "rulek.h"

const char *argp_program_version = "seatrace 0.1";
const char *argp_program_bug_address = "the project's issue tracker";

static const char doc[] =
	"Trace CPython's runtime audit events (PEP 578) with eBPF, arguments decoded.\n"
	"\n"
	"USAGE: seatrace [OPTION...]                      every Python on the host\n"
	"       seatrace [OPTION...] -p PID [-p PID...]\n"
	"       seatrace [OPTION...] -- COMMAND [ARG...]\n"
	"\v"
	"EXAMPLES:\n"
	"  What to trace:\n"
	"    seatrace                           # every Python process on the host\n"
	"    seatrace -p 1234                   # every audit event of process 1234\n"
	"    seatrace -- python3 app.py         # a command, from its first event\n"
	"    seatrace -f -- python3 app.py      # a command and the processes it starts\n"
	"    seatrace -u www-data -e 'socket.*' # one user's processes, sockets only\n"
	"    seatrace -S -- python3 app.py      # with the syscalls behind the events\n"
	"  Filters:\n"
	"    seatrace -e 'socket.*' -e open -p 1234   # only sockets and open()\n"
	"    seatrace -x 'object.__*' -j -o ev.jsonl -- python3 app.py\n"
	"  Output and time (as strace):\n"
	"    seatrace -ttt -T -- python3 app.py # epoch stamps, each call's duration\n"
	"    seatrace -r -p 1234                # time since the previous line\n"
	"    seatrace -ff -o trace -- python3 app.py  # trace.PID, one file per process\n"
	"    seatrace -c -S -- python3 app.py   # counts per event and syscall, no events\n"
	"  Information:\n"
	"    seatrace --list                    # Python processes, how each can be traced\n"
	"    seatrace --list-events             # known events and their arguments\n"
	"\n"
	"Patterns use fnmatch syntax (*, ?, [...]); commas separate several. An event\n"
	"is shown when it matches an -e pattern (or none was given) and no -x pattern.\n"
	"Filtering happens in the kernel: excluded events are never copied out.";

enum {
	OPT_LIST_EVENTS = 0x100,
	OPT_BUFFER_SIZE,
	OPT_STATS,
	OPT_FLOOR,
	OPT_COMM,
	OPT_CGROUP,
	OPT_LIST,
	OPT_PAIR,
	OPT_NO_PAIR,
	/* the daemon's files */
	OPT_CONFIG,
	OPT_ROTATE_SIZE,
	OPT_ROTATE_AGE,
	OPT_ROTATE_KEEP,
	OPT_NO_COMPRESS,
	OPT_MAX_FILES,
	OPT_MAX_LINKS,
	/* health */
	OPT_STATS_INTERVAL,
	OPT_METRICS,
	/* more sinks */
	OPT_JOURNAL,
	OPT_SYSLOG,
	OPT_SYSLOG_PROTO,
	/* issue 13, -c / -C: keys of their own (-c, -C) */
	/* time, files, and other strace flags (issue 13, cli13) */
	OPT_SEPARATE,
	OPT_TIMESTAMPS,
	OPT_RELATIVE,
	OPT_DURATIONS,
	/* policies (issue 14: policy file, rate limits) */
	OPT_POLICY,
	OPT_CHECK_POLICY,
	OPT_RATE_LIMIT,
	/* -k, Python stacks (issue 13, stack) */
	OPT_STACK_DEPTH,
	/* argfilt: actions on argument filters */
	OPT_KILL,
	OPT_STOP,
	OPT_DRY_RUN,
	/* countact: count rules */
	OPT_COUNT_RULE,
};

/*
 * Options in groups, as in strace's and bpftool's help: argp lists the groups in the order of
 * their numbers (a header entry starts each). Options of work in progress slot into these:
 *   G_TRACE   -k/--stack-depth (Python stacks)
 *   G_FILTER  argument filters written in -e
 *   G_OUTPUT  -c/-C (summaries)
 *   G_ENFORCE --kill, --stop, --rate-limit, --policy, --dry-run, --check-policy
 * Each entry names its group explicitly, so an option added anywhere lands in its group.
 */
enum { G_TRACE = 1, G_FILTER, G_OUTPUT, G_TIME, G_ENFORCE, G_SERVICE, G_INFO, G_TUNING };

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "What to trace (default: every Python process on the host):", G_TRACE },
	{ "pid", 'p', "PID", 0, "Trace this running process (repeatable)", G_TRACE },
	{ "follow", 'f', NULL, 0,
	  "With -p or a command, also trace the processes they start. -ff (as strace's): and "
	  "write each process to its own file, -o FILE.PID (see --output-separately)",
	  G_TRACE },
	{ "user", 'u', "USER", 0,
	  "Only processes of USER (name or uid). Not strace's -u, which runs the command as USER: "
	  "run it under sudo -u USER instead",
	  G_TRACE },
	{ "comm", OPT_COMM, "NAME", 0, "Only processes whose command name is NAME", G_TRACE },
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "Only processes in the cgroup at PATH (e.g. /sys/fs/cgroup/system.slice/x.service) or "
	  "below it: a container",
	  G_TRACE },
	/* -k, Python stacks (issue 13, stack) */
	{ "stack", 'k', NULL, 0,
	  "Show the Python stack that raised each event, innermost first (file, line, function)",
	  G_TRACE },
	{ "stack-depth", OPT_STACK_DEPTH, "N", 0,
	  "With -k, keep at most N frames per stack, 1 to 256 (default 32); deeper stacks are "
	  "marked cut. Implies -k",
	  G_TRACE },
	{ "syscalls", 'S', NULL, 0,
	  "Also record the syscalls that carry out audited operations (open, connect, execve, "
	  "unlink, ...), each linked to the audit event before it; flag those no audit event "
	  "accounts for",
	  G_TRACE },
	{ "pair", OPT_PAIR, "PRE=POST", 0,
	  "Also pair events PRE and POST into spans; '*' stands for the name they share, as in "
	  "the default 'prehook:*=posthook:*' (repeatable)",
	  G_TRACE },
	{ "no-pair", OPT_NO_PAIR, NULL, 0, "Do not pair events into spans", G_TRACE },

	{ NULL, 0, NULL, 0, "Filters (applied in the kernel):", G_FILTER },
	{ "event", 'e', "GLOB", 0, "Show only events matching GLOB (repeatable, comma lists)",
	  G_FILTER },
	{ "exclude", 'x', "GLOB", 0, "Drop events matching GLOB (repeatable, comma lists)",
	  G_FILTER },

	{ NULL, 0, NULL, 0, "Output:", G_OUTPUT },
	{ "json", 'j', NULL, 0, "Write JSON Lines instead of text", G_OUTPUT },
	{ "output", 'o', "FILE", 0, "Write events to FILE instead of standard output", G_OUTPUT },
	{ "output-separately", OPT_SEPARATE, NULL, 0,
	  "(-ff) With -o FILE, each process's records go to FILE.PID, complete when the process "
	  "ends; records of no process (lost, stats) to FILE",
	  G_OUTPUT },
	{ "string-size", 's', "N", 0,
	  "Keep at most N characters of each str and N bytes of each bytes value (default 256, "
	  "max 4096); longer values are marked truncated",
	  G_OUTPUT },
	{ "rotate-size", OPT_ROTATE_SIZE, "BYTES", 0,
	  "With -o, rotate FILE to FILE.1.gz when it would grow past BYTES (K, M, G suffixes)",
	  G_OUTPUT },
	{ "rotate-age", OPT_ROTATE_AGE, "SECONDS", 0,
	  "With -o, rotate FILE once it has been written for SECONDS", G_OUTPUT },
	{ "rotate-keep", OPT_ROTATE_KEEP, "N", 0,
	  "Keep N rotated files, FILE.1.gz (newest) to FILE.N.gz (default 10)", G_OUTPUT },
	{ "no-compress", OPT_NO_COMPRESS, NULL, 0,
	  "Rotated files stay plain text (FILE.1, ...) instead of gzip", G_OUTPUT },
	/* issue 13, -c / -C: summaries counted in the kernel (user/summary.c, bpf/count.bpf.h). */
	{ "summary-only", 'c', NULL, 0,
	  "Count events per name in the kernel and print only a summary (count, share, "
	  "processes, first and last seen; with -S, syscalls and their errors) at exit and on "
	  "SIGUSR1",
	  G_OUTPUT },
	{ "summary", 'C', NULL, 0, "Print events as usual and the summary at exit (and on SIGUSR1)",
	  G_OUTPUT },

	/* Time, files, and other strace flags (issue 13, cli13): text lines only. */
	{ NULL, 0, NULL, 0,
	  "Time on text lines (as strace; JSON records keep their ts, ts_ns, duration_ns):",
	  G_TIME },
	{ NULL, 't', NULL, 0,
	  "Time of day, HH:MM:SS; -tt with microseconds (the default); -ttt seconds since the "
	  "epoch with microseconds",
	  G_TIME },
	{ "timestamps", OPT_TIMESTAMPS, "FORMAT,PRECISION", OPTION_ARG_OPTIONAL,
	  "The stamp: FORMAT time, unix or none; PRECISION s, ms, us or ns (strace's syntax)",
	  G_TIME },
	{ NULL, 'r', NULL, 0,
	  "Time since the previous record of the same file (strace's '     0.000123 ')", G_TIME },
	{ "relative-timestamps", OPT_RELATIVE, "PRECISION", OPTION_ARG_OPTIONAL,
	  "-r with PRECISION s, ms, us (default) or ns", G_TIME },
	{ NULL, 'T', NULL, 0,
	  "Each span's and syscall's duration at the end of its line, ' <0.000123>'", G_TIME },
	{ "syscall-times", OPT_DURATIONS, "PRECISION", OPTION_ARG_OPTIONAL,
	  "-T with PRECISION s, ms, us (default) or ns", G_TIME },

	{ NULL, 0, NULL, 0, "Enforcement:", G_ENFORCE },
	/* Policies (issue 14: the policy file and rate limits; docs/policy-file.md). */
	{ "policy", OPT_POLICY, "FILE", 0,
	  "Apply the rules of the YAML policy FILE (docs/policy-file.md); SIGHUP reads it "
	  "again, and a policy with a mistake is refused, the running one kept",
	  G_ENFORCE },
	{ "check-policy", OPT_CHECK_POLICY, "FILE", 0,
	  "Check the policy FILE, print its rules, and exit: 0 when it is valid, 1 when not "
	  "(each mistake as FILE:LINE:COL); loads nothing, needs no privileges",
	  G_ENFORCE },
	/* argfilt (issue 14): argument filters' actions, decided in the kernel (docs/policy.md). */
	{ "kill", OPT_KILL, "FILTER", 0,
	  "Kill (SIGKILL, from the kernel, before the audited operation runs) a process that "
	  "raises an event matching FILTER, as NAMEGLOB(COND,...) (repeatable)",
	  G_ENFORCE },
	{ "stop", OPT_STOP, "FILTER", 0,
	  "Stop (SIGSTOP) a process that raises an event matching FILTER; resume it with "
	  "kill -CONT PID (repeatable)",
	  G_ENFORCE },
	/* countact (issue 14): a rule that counts what it matches, in the kernel, and shows none. */
	{ "count", OPT_COUNT_RULE, "FILTER", 0,
	  "Count the events matching FILTER (NAMEGLOB or NAMEGLOB(COND,...)) per filter, in the "
	  "kernel, and show none of them; the counts go to -c's summary, the stats record, "
	  "--metrics and the exit line (repeatable)",
	  G_ENFORCE },
	{ "dry-run", OPT_DRY_RUN, NULL, 0,
	  "With --kill/--stop: report what would be done (\"dry_run\": true), signal nothing",
	  G_ENFORCE },
	{ "rate-limit", OPT_RATE_LIMIT, "N/s", 0,
	  "Show at most N events a second (bursts of N) per process and event name; what is "
	  "left out is counted in 'lost' records with reason 'rate-limited'",
	  G_ENFORCE },

	{ NULL, 0, NULL, 0, "Service (daemon; docs/daemon.md):", G_SERVICE },
	{ "config", OPT_CONFIG, "FILE", 0,
	  "Read settings from FILE first: 'key = value' lines, the keys being these long "
	  "option names; the command line takes precedence",
	  G_SERVICE },
	{ "stats-interval", OPT_STATS_INTERVAL, "SECONDS", 0,
	  "Every SECONDS, write a stats record (counters since start: events seen, delivered, "
	  "filtered, lost by cause; CPU time; output failures)",
	  G_SERVICE },
	{ "metrics", OPT_METRICS, "FILE", 0,
	  "Write the same counters to FILE in Prometheus text format (for node_exporter's "
	  "textfile collector), replaced atomically at each stats interval (default 10 s) and "
	  "at exit",
	  G_SERVICE },
	{ "journal", OPT_JOURNAL, NULL, 0,
	  "Also send each record to journald as a structured entry (MESSAGE the text line, "
	  "SEATRACE_* fields, SEATRACE_JSON the JSON record)",
	  G_SERVICE },
	{ "syslog", OPT_SYSLOG, "HOST:PORT", OPTION_ARG_OPTIONAL,
	  "Also send each JSON record as an RFC 5424 message: to /dev/log, or to the collector "
	  "at HOST:PORT (in a configuration file: 'syslog = local' or 'syslog = HOST:PORT')",
	  G_SERVICE },
	{ "syslog-proto", OPT_SYSLOG_PROTO, "udp|tcp", 0,
	  "With --syslog=HOST:PORT, send over UDP (default) or TCP (octet-counted frames)",
	  G_SERVICE },

	{ NULL, 0, NULL, 0, "Information:", G_INFO },
	{ "list", OPT_LIST, NULL, 0, "List the Python processes on the host and how each can be traced",
	  G_INFO },
	{ "list-events", OPT_LIST_EVENTS, NULL, 0, "List the known events and their arguments",
	  G_INFO },
	{ "stats", OPT_STATS, NULL, 0, "At exit, print the kernel-side counters on stderr", G_INFO },
	{ "verbose", 'v', NULL, 0,
	  "Show libbpf's diagnostics. Not strace's -v (unabbreviated structures): seatrace "
	  "always shows arguments whole, up to -s",
	  G_INFO },

	{ NULL, 0, NULL, 0, "Tuning:", G_TUNING },
	{ "buffer-size", OPT_BUFFER_SIZE, "BYTES", 0,
	  "Ring buffer size, a power of two >= 4096 (default 8388608); K and M suffixes",
	  G_TUNING },
	{ "max-files", OPT_MAX_FILES, "N", 0,
	  "Interpreter files attached at once, 1 to 256 (default 64); more are reported", G_TUNING },
	{ "max-links", OPT_MAX_LINKS, "N", 0,
	  "Uprobes attached at once, 1 to 65536 (default 256); more are reported", G_TUNING },
	{ "bench-floor", OPT_FLOOR, NULL, OPTION_HIDDEN, "Attach an empty program (benchmark)",
	  G_TUNING },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", G_TUNING },
	{},
};

static int parse_ulong(const char *s, unsigned long *out, bool suffixes)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (suffixes && *end) {
		const char *units = "KMG", *u = strchr(units, toupper((unsigned char)*end));
		unsigned shift = u ? 10 * (unsigned)(u - units + 1) : 0;

		if (!u || v > (ULONG_MAX >> shift))
			return -EINVAL;
		v <<= shift;
		end++;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * argfilt: one filter of -e, -x, --kill or --stop into o->rules. 0, or an errno after saying
 * what is wrong and where (the text, a caret under the column).
 */
static int add_rule(struct argp_state *state, struct st_opts *o, const char *text, const char *opt,
		    bool exclude, enum st_action action)
{
	struct st_rule_err e;
	struct st_rule *r;
	char msg[1024];

	if (!o->rules) {
		o->rules = calloc(ST_RULE_MAX, sizeof(*o->rules));
		if (!o->rules)
			return ENOMEM;
	}
	if (o->nrules >= ST_RULE_MAX) {
		argp_error(state, "too many filters with conditions and actions (at most %d)",
			   ST_RULE_MAX);
		return EINVAL;
	}
	r = &o->rules[o->nrules];
	if (st_rule_parse(text, r, &e)) {
		st_rule_err_format(msg, sizeof(msg), text, &e);
		argp_error(state, "invalid %s filter: %s", opt, msg);
		return EINVAL;
	}
	r->exclude = exclude;
	r->action = action;
	r->src = opt;
	o->nrules++;
	if (!exclude && action == ST_ACT_LOG)
		o->globs.have_include = true; /* an -e filter: other names are not shown */
	return 0;
}

static int add_globs(struct argp_state *state, struct st_opts *o, const char *arg, bool exclude)
{
	char *copy = strdup(arg), *tok, *next;
	int err = 0, n = 0;

	if (!copy)
		return ENOMEM;
	/* Commas separate patterns, but not inside a filter's parentheses (argfilt). */
	for (tok = copy; tok && !err; tok = next) {
		const char *why = NULL;
		size_t len = st_rule_token_len(tok);

		next = tok[len] ? tok + len + 1 : NULL;
		tok[len] = 0;
		if (!*tok)
			continue;
		n++;
		if (st_rule_is_filter(tok))
			err = add_rule(state, o, tok, exclude ? "-x" : "-e", exclude, ST_ACT_LOG);
		else if (st_globset_add(&o->globs, tok, exclude, &why)) {
			argp_error(state, "invalid pattern '%s': %s", tok, why);
			err = EINVAL;
		}
	}
	if (!err && !n) {
		argp_error(state, "empty pattern after -%c", exclude ? 'x' : 'e');
		err = EINVAL;
	}
	free(copy);
	return err;
}

/* The BPF side filters on a cgroup v2 directory; anything else is a mistake worth no load. */
static int check_cgroup(struct argp_state *state, const char *path)
{
	const char *why = st_cgroup_dir_why(path);

	if (!why)
		return 0;
	argp_error(state, "invalid --cgroup '%s': %s (give a cgroup v2 directory, such as "
			  "/sys/fs/cgroup/system.slice/docker-ID.scope)",
		   path, why);
	return EINVAL;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct st_opts *o = state->input;
	unsigned long v;

	/* The last option argument: a final "--" may be one (-o --), then it starts nothing. */
	if (arg && key != ARGP_KEY_ARG)
		state->hook = arg;
	switch (key) {
	case ARGP_KEY_INIT:
		state->hook = NULL;
		o->fcount = 0; /* -ff counts within one source (a line of --config is one) */
		/* A configuration line's errors are caught, to be said with the file and line. */
		if (o->err_stream)
			state->err_stream = o->err_stream;
		break;
	case 'p':
		if (parse_ulong(arg, &v, false) || v == 0 || v > INT_MAX) {
			argp_error(state, "invalid PID '%s': give a process id number", arg);
			return EINVAL;
		}
		/* A pid given twice is one target: attached twice, it would show each event twice. */
		for (int i = 0; i < o->npids; i++)
			if (o->pids[i] == (pid_t)v)
				return 0;
		if (o->npids >= ST_MAX_PIDS) {
			argp_error(state, "too many -p (at most %d)", ST_MAX_PIDS);
			return EINVAL;
		}
		o->pids[o->npids++] = (pid_t)v;
		break;
	case 'e':
	case 'x':
		return add_globs(state, o, arg, key == 'x');
	case 'j':
		o->json = true;
		break;
	case 'o':
		o->output = arg;
		break;
	case 's':
		if (parse_ulong(arg, &v, false) || v > ST_STR_MAX) {
			argp_error(state, "invalid -s '%s': give a size from 0 to %d", arg, ST_STR_MAX);
			return EINVAL;
		}
		o->str_max = (unsigned)v;
		break;
	case 'S':
		o->syscalls = true;
		break;
	case 'f':
		/* -ff, as strace's: follow, and one file per process. */
		if (++o->fcount >= 2)
			o->separate = true;
		o->follow = true;
		break;
	/* Time, files, and other strace flags (issue 13, cli13). */
	case OPT_SEPARATE:
		o->separate = true;
		break;
	case 't':
		/* -t HH:MM:SS, -tt with microseconds, -ttt seconds since the epoch. */
		o->tflag++;
		o->ts_given = true;
		o->timefmt.kind = o->tflag >= 3 ? ST_TS_UNIX : ST_TS_TIME;
		o->timefmt.digits = o->tflag >= 2 ? 6 : 0;
		break;
	case OPT_TIMESTAMPS: {
		const char *why = NULL;

		if (st_timefmt_parse_timestamps(&o->timefmt, arg && strcmp(arg, "true") ? arg : "",
						&why)) {
			argp_error(state, "invalid --timestamps '%s': %s", arg, why);
			return EINVAL;
		}
		o->ts_given = true;
		break;
	}
	case 'r':
	case OPT_RELATIVE:
	case 'T':
	case OPT_DURATIONS: {
		int d = 6;
		bool rel = key == 'r' || key == OPT_RELATIVE;

		if (arg && strcmp(arg, "true") && (d = st_timefmt_precision(arg)) < 0) {
			argp_error(state, "invalid --%s '%s': give s, ms, us or ns",
				   rel ? "relative-timestamps" : "syscall-times", arg);
			return EINVAL;
		}
		if (rel) {
			o->timefmt.relative = true;
			o->timefmt.rel_digits = (uint8_t)d;
		} else {
			o->timefmt.durations = true;
			o->timefmt.dur_digits = (uint8_t)d;
		}
		break;
	}
	case 'u': {
		struct passwd *pw = getpwnam(arg);

		if (pw) {
			o->uid = pw->pw_uid;
		} else if (!parse_ulong(arg, &v, false) && v < UINT32_MAX) {
			o->uid = (uid_t)v;
		} else {
			argp_error(state, "unknown user '%s': give a user name or a uid", arg);
			return EINVAL;
		}
		o->have_uid = true;
		break;
	}
	case OPT_COMM:
		if (!*arg || strlen(arg) >= 16) {
			argp_error(state, "invalid --comm '%s': give 1 to 15 characters, as in "
					  "/proc/PID/comm",
				   arg);
			return EINVAL;
		}
		o->comm = arg;
		break;
	case OPT_CGROUP:
		if (check_cgroup(state, arg))
			return EINVAL;
		o->cgroup = arg;
		break;
	case OPT_LIST:
		o->list = true;
		break;
	case OPT_PAIR: {
		const char *why = NULL;

		if (st_pair_rule_check(arg, &why)) {
			argp_error(state, "invalid --pair '%s': %s", arg, why);
			return EINVAL;
		}
		if (o->npairs >= 16) {
			argp_error(state, "too many --pair rules (at most 16)");
			return EINVAL;
		}
		o->pairs[o->npairs++] = arg;
		break;
	}
	case OPT_NO_PAIR:
		o->no_pair = true;
		break;
	case 'v':
		o->verbose++;
		break;
	case OPT_LIST_EVENTS:
		o->list_events = true;
		break;
	case OPT_BUFFER_SIZE:
		if (parse_ulong(arg, &v, true) || v < 4096 || v > (1UL << 30) || (v & (v - 1))) {
			argp_error(state,
				   "invalid --buffer-size '%s': give a power of two from 4096 to 1G",
				   arg);
			return EINVAL;
		}
		o->ring_size = v;
		break;
	case OPT_MAX_FILES:
		if (parse_ulong(arg, &v, false) || v < 1 || v > ST_FILES_MAX) {
			argp_error(state, "invalid --max-files '%s': give a number from 1 to %d", arg,
				   ST_FILES_MAX);
			return EINVAL;
		}
		o->max_files = (unsigned)v;
		break;
	case OPT_MAX_LINKS:
		if (parse_ulong(arg, &v, false) || v < 1 || v > ST_LINKS_MAX) {
			argp_error(state, "invalid --max-links '%s': give a number from 1 to %d", arg,
				   ST_LINKS_MAX);
			return EINVAL;
		}
		o->max_links = (unsigned)v;
		break;
	case OPT_STATS:
		o->stats = true;
		break;
	/* -k, Python stacks (issue 13, stack) */
	case 'k':
		if (!o->stack_depth)
			o->stack_depth = ST_STACK_DEFAULT;
		break;
	case OPT_STACK_DEPTH:
		if (parse_ulong(arg, &v, false) || v < 1 || v > ST_STACK_MAX) {
			argp_error(state, "invalid --stack-depth '%s': give a number of frames from 1 "
					  "to %d",
				   arg, ST_STACK_MAX);
			return EINVAL;
		}
		o->stack_depth = (unsigned)v;
		break;
	case OPT_FLOOR:
		o->floor = true;
		break;
	case OPT_CONFIG:
		o->config = arg;
		break;
	case OPT_ROTATE_SIZE:
		if (parse_ulong(arg, &v, true) || v < 1024) {
			argp_error(state, "invalid --rotate-size '%s': give a size of at least 1K, "
					  "such as 64M (K, M and G suffixes)",
				   arg);
			return EINVAL;
		}
		o->rotate_size = v;
		break;
	case OPT_ROTATE_AGE:
		if (parse_ulong(arg, &v, false) || v == 0 || v > 10UL * 366 * 86400) {
			argp_error(state, "invalid --rotate-age '%s': give a number of seconds, "
					  "such as 86400 for a day",
				   arg);
			return EINVAL;
		}
		o->rotate_age = v;
		break;
	case OPT_ROTATE_KEEP:
		if (parse_ulong(arg, &v, false) || v == 0 || v > 1000) {
			argp_error(state, "invalid --rotate-keep '%s': give a number of files from "
					  "1 to 1000",
				   arg);
			return EINVAL;
		}
		o->rotate_keep = (unsigned)v;
		break;
	case OPT_NO_COMPRESS:
		o->no_compress = true;
		break;
	case OPT_STATS_INTERVAL:
		if (parse_ulong(arg, &v, false) || v == 0 || v > 86400) {
			argp_error(state, "invalid --stats-interval '%s': give a number of seconds "
					  "from 1 to 86400, such as 60",
				   arg);
			return EINVAL;
		}
		o->stats_interval = (unsigned)v;
		break;
	case OPT_METRICS:
		if (!*arg) {
			argp_error(state, "--metrics needs a file name, such as "
					  "/var/lib/prometheus/node-exporter/seatrace.prom");
			return EINVAL;
		}
		o->metrics = arg;
		break;
	case OPT_JOURNAL:
		o->journal = true;
		break;
	case OPT_SYSLOG:
		o->syslog = true;
		/* "local" (or "true", as a configuration file writes a flag): /dev/log */
		o->syslog_target = arg && strcmp(arg, "local") && strcmp(arg, "true") ? arg : NULL;
		if (o->syslog_target && !strrchr(arg, ':')) {
			argp_error(state, "invalid --syslog '%s': give HOST:PORT, as in "
					  "--syslog=logs.example.org:514, or no value for /dev/log",
				   arg);
			return EINVAL;
		}
		break;
	case OPT_SYSLOG_PROTO:
		if (strcmp(arg, "udp") && strcmp(arg, "tcp")) {
			argp_error(state, "invalid --syslog-proto '%s': give udp or tcp", arg);
			return EINVAL;
		}
		o->syslog_tcp = !strcmp(arg, "tcp");
		o->syslog_proto_set = true;
		break;
	/* issue 13, -c / -C: the later one wins, as strace's -C after -c */
	case 'c':
		o->count = 1;
		break;
	case 'C':
		o->count = 2;
		break;
	/* Policies (issue 14: the policy file and rate limits). */
	case OPT_POLICY:
		if (!*arg) {
			argp_error(state, "--policy needs a file name");
			return EINVAL;
		}
		o->policy = arg;
		break;
	case OPT_CHECK_POLICY:
		o->check_policy = arg;
		break;
	case OPT_RATE_LIMIT: {
		const char *why = NULL;

		if (st_rate_parse(arg, &o->rate_per_s, &why)) {
			argp_error(state, "invalid --rate-limit '%s': %s", arg, why);
			return EINVAL;
		}
		break;
	}
	/* argfilt */
	case OPT_KILL:
	case OPT_STOP:
		return add_rule(state, o, arg, key == OPT_KILL ? "--kill" : "--stop", false,
				key == OPT_KILL ? ST_ACT_KILL : ST_ACT_STOP);
	case OPT_DRY_RUN:
		o->dry_run = true;
		break;
	/* countact */
	case OPT_COUNT_RULE:
		return add_rule(state, o, arg, "--count", false, ST_ACT_COUNT);
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		/* The first operand starts the command; argp stops at "--" or here. */
		o->cmd = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		/* A bare "--" would otherwise mean "no command": every Python on the host. */
		if (!o->cmd && state->argc > 1 && !strcmp(state->argv[state->argc - 1], "--") &&
		    state->hook != state->argv[state->argc - 1]) {
			argp_error(state, "'--' must be followed by a command (-- COMMAND "
					  "[ARG...]); leave it out to trace every Python on "
					  "the host");
			return EINVAL;
		}
		if (o->partial || o->list_events || o->list || o->check_policy)
			break;
		/* strace's -r alone prints the delta alone; with -t/--timestamps, both. */
		if (o->timefmt.relative && !o->ts_given)
			o->timefmt.kind = ST_TS_NONE;
		if (o->separate && !o->output) {
			argp_error(state, "-ff writes each process to its own file, FILE.PID: give "
					  "-o FILE");
			return EINVAL;
		}
		if (o->separate && (o->rotate_size || o->rotate_age)) {
			argp_error(state, "-ff files end with their process: --rotate-size and "
					  "--rotate-age are for a single -o FILE");
			return EINVAL;
		}
		/* -ff system-wide: every process is traced anyway; one file each. */
		if (o->separate && !o->npids && !o->cmd)
			o->follow = false;
		if ((o->rotate_size || o->rotate_age) && !o->output) {
			argp_error(state, "--rotate-size and --rotate-age rotate the -o FILE: give one");
			return EINVAL;
		}
		if (o->syslog_proto_set && !o->syslog_target) {
			argp_error(state, "--syslog-proto is for a remote collector: give "
					  "--syslog=HOST:PORT");
			return EINVAL;
		}
		if (o->npids && o->cmd) {
			argp_error(state, "give either -p PID or a command, not both");
			return EINVAL;
		}
		if (o->follow && !o->npids && !o->cmd) {
			argp_error(state, "-f follows the children of -p PID or of a command: give one");
			return EINVAL;
		}
		/* argfilt: what the kernel cannot take is refused before anything is loaded. */
		if (o->nrules) {
			static struct st_krules k;
			char why[256];

			if (st_rules_compile(o->rules, o->nrules, &k, why, sizeof(why))) {
				argp_error(state, "cannot load the filters: %s", why);
				return EINVAL;
			}
			for (unsigned i = 0; i < o->nrules; i++)
				if (o->rules[i].proc.cgroup[0] &&
				    check_cgroup(state, o->rules[i].proc.cgroup))
					return EINVAL;
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };

static void opts_init(struct st_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->str_max = ST_STR_DEFAULT;
	o->ring_size = 8UL << 20;
	o->max_files = ST_FILES_DEFAULT;
	o->max_links = ST_LINKS_DEFAULT;
	o->rotate_keep = 10;
	o->timefmt = ST_TIMEFMT_DEFAULT;
}

void st_cli_release(struct st_opts *o)
{
	for (size_t i = 0; i < o->ncfg_args; i++)
		free(o->cfg_args[i]);
	free(o->cfg_args);
	o->cfg_args = NULL;
	o->ncfg_args = 0;
	st_config_release(&o->cfg);
	free(o->pol);
	o->pol = NULL;
	free(o->rules);
	o->rules = NULL;
	o->nrules = 0;
}

/* Settings a configuration file may not hold: they are actions, or read the file itself. */
static bool file_key_allowed(const struct argp_option *opt)
{
	return !(opt->flags & OPTION_HIDDEN) && opt->key != OPT_CONFIG && opt->key != OPT_LIST &&
	       opt->key != OPT_LIST_EVENTS && opt->key != OPT_CHECK_POLICY;
}

static const struct argp_option *option_named(const char *name)
{
	for (const struct argp_option *opt = options; opt->name || opt->key || opt->doc; opt++)
		if (opt->name && !strcmp(opt->name, name))
			return opt;
	return NULL;
}

/*
 * One line of the configuration file, applied as --key=value through the same parser as the
 * command line. 0, or -EINVAL after saying "FILE:LINE: what is wrong"; -ENOMEM.
 */
static int apply_entry(struct st_opts *o, const struct st_config_entry *e)
{
	const struct argp_option *opt = option_named(e->key);
	char *arg = NULL, *msg = NULL, **grown;
	char *argv[3] = { "seatrace", NULL, NULL };
	size_t msglen = 0;
	int err;

	if (!opt || !file_key_allowed(opt)) {
		fprintf(stderr, "%s:%u: %s key '%s' (the keys are seatrace's long option names, "
				"as in seatrace --help)\n",
			o->cfg.path, e->line, opt ? "not a configuration" : "unknown", e->key);
		return -EINVAL;
	}
	if (!opt->arg) {
		if (strcmp(e->value, "true") && strcmp(e->value, "false")) {
			fprintf(stderr, "%s:%u: '%s' is a flag: give '%s = true' or '%s = false', "
					"not '%s'\n",
				o->cfg.path, e->line, e->key, e->key, e->key, e->value);
			return -EINVAL;
		}
		if (!strcmp(e->value, "false"))
			return 0;
	} else if (!*e->value) {
		fprintf(stderr, "%s:%u: '%s' needs a value (%s)\n", o->cfg.path, e->line, e->key,
			opt->arg);
		return -EINVAL;
	}
	if (asprintf(&arg, opt->arg ? "--%s=%s" : "--%s", e->key, e->value) < 0)
		return -ENOMEM;
	/* Kept for the run: options point into their argument. */
	grown = realloc(o->cfg_args, (o->ncfg_args + 1) * sizeof(*grown));
	if (!grown) {
		free(arg);
		return -ENOMEM;
	}
	o->cfg_args = grown;
	o->cfg_args[o->ncfg_args++] = arg;
	argv[1] = arg;

	o->err_stream = open_memstream(&msg, &msglen);
	if (!o->err_stream)
		return -ENOMEM;
	err = argp_parse(&argp, 2, argv, ARGP_IN_ORDER | ARGP_NO_EXIT | ARGP_NO_HELP, NULL, o);
	fclose(o->err_stream);
	o->err_stream = NULL;
	if (err) {
		/* argp said "seatrace: what is wrong\n" and a hint to --help: keep the first. */
		char *what = msg ? msg : "";
		char *nl = strchr(what, '\n');

		if (nl)
			*nl = 0;
		char *colon = strstr(what, ": ");

		/* The program's name first, as argp says it. */
		if (colon && !memchr(what, ' ', (size_t)(colon - what)))
			what = colon + 2;
		fprintf(stderr, "%s:%u: %s\n", o->cfg.path, e->line,
			*what ? what : "invalid value");
		err = -EINVAL;
	}
	free(msg);
	return err;
}

static bool has_globs(const struct st_globset *g, bool exclude)
{
	for (unsigned i = 0; i < g->nglobs; i++)
		if (g->globs[i].exclude == exclude)
			return true;
	return false;
}

/* The file's settings into o, those the command line `cl` repeats itself left out. */
static int apply_file(struct st_opts *o, const struct st_opts *cl)
{
	char err[512];
	int ret = st_config_read(cl->config, &o->cfg, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "%s\n", err);
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	o->partial = true;
	for (size_t i = 0; i < o->cfg.n && !ret; i++) {
		const char *k = o->cfg.v[i].key;

		if ((!strcmp(k, "pid") && cl->npids) ||
		    (!strcmp(k, "event") && (has_globs(&cl->globs, false) || cl->globs.have_include)) ||
		    (!strcmp(k, "exclude") && has_globs(&cl->globs, true)) ||
		    (!strcmp(k, "pair") && cl->npairs))
			continue;
		ret = apply_entry(o, &o->cfg.v[i]);
	}
	o->partial = false;
	return ret;
}

/* --policy's rules read and checked with the options: a mistake costs nothing loaded. */
static int load_policy(struct st_opts *o)
{
	int err;

	if (!o->policy || o->check_policy || o->list || o->list_events)
		return 0;
	o->pol = malloc(sizeof(*o->pol));
	if (!o->pol)
		return -ENOMEM;
	err = st_policy_load(o->policy, o->pol, stderr);
	return err == -ENOMEM ? err : err ? -EINVAL : 0;
}

int st_cli_parse(int argc, char **argv, struct st_opts *o, unsigned argp_flags)
{
	struct st_opts cl;
	int err;

	opts_init(o);
	o->argc = argc;
	o->argv = argv;
	/* Usage errors exit with EX_USAGE, as main() returns for them (argp's default). */
	argp_err_exit_status = ST_EXIT_USAGE;
	/*
	 * The command line alone first, its cross-option checks left for later: it names the
	 * file, and says which repeatable options replace the file's. ARGP_IN_ORDER makes the
	 * first operand end option parsing, like "--".
	 */
	opts_init(&cl);
	cl.partial = true;
	err = argp_parse(&argp, argc, argv, ARGP_IN_ORDER | argp_flags, NULL, &cl);
	free(cl.rules); /* only which options the command line gives is wanted of it */
	cl.rules = NULL;
	if (err)
		return -err;
	if (cl.config) {
		err = apply_file(o, &cl);
		if (err)
			return err;
	}
	/* Then over the file's settings, with every check: what the run will use. */
	err = argp_parse(&argp, argc, argv, ARGP_IN_ORDER | argp_flags, NULL, o);
	if (err)
		return -err;
	return load_policy(o);
}

static void add_name(char *buf, size_t len, int *n, const char *name)
{
	size_t at = strnlen(buf, len);

	if (at + 1 < len)
		snprintf(buf + at, len - at, "%s%s", (*n)++ ? ", " : "", name);
	else
		(*n)++;
}

static bool str_differ(const char *a, const char *b)
{
	return (a || b) && (!a || !b || strcmp(a, b));
}

int st_cli_restart_needed(const struct st_opts *a, const struct st_opts *b, char *buf,
			  size_t len)
{
	int n = 0;

	if (len)
		buf[0] = 0;
#define DIFF(cond, name)                          \
	do {                                      \
		if (cond)                         \
			add_name(buf, len, &n, name); \
	} while (0)
	DIFF(a->npids != b->npids || memcmp(a->pids, b->pids, sizeof(a->pids[0]) * a->npids),
	     "pid");
	DIFF(a->have_uid != b->have_uid || a->uid != b->uid, "user");
	DIFF(str_differ(a->comm, b->comm), "comm");
	DIFF(str_differ(a->cgroup, b->cgroup), "cgroup");
	DIFF(a->follow != b->follow, "follow");
	DIFF(a->syscalls != b->syscalls, "syscalls");
	DIFF(a->count != b->count, "summary");
	bool pairs = a->no_pair != b->no_pair || a->npairs != b->npairs;

	for (int i = 0; i < a->npairs && !pairs; i++)
		pairs = strcmp(a->pairs[i], b->pairs[i]) != 0;
	DIFF(pairs, "pair");
	DIFF(a->json != b->json, "json");
	DIFF(str_differ(a->output, b->output), "output");
	DIFF(a->str_max != b->str_max, "string-size");
	DIFF(a->ring_size != b->ring_size, "buffer-size");
	DIFF(a->stats != b->stats, "stats");
	DIFF(a->verbose != b->verbose, "verbose");
	DIFF(a->rotate_size != b->rotate_size, "rotate-size");
	DIFF(a->rotate_age != b->rotate_age, "rotate-age");
	DIFF(a->rotate_keep != b->rotate_keep, "rotate-keep");
	DIFF(a->no_compress != b->no_compress, "no-compress");
	DIFF(a->stats_interval != b->stats_interval, "stats-interval");
	DIFF(str_differ(a->metrics, b->metrics), "metrics");
	DIFF(a->journal != b->journal, "journal");
	DIFF(a->syslog != b->syslog || str_differ(a->syslog_target, b->syslog_target), "syslog");
	DIFF(a->syslog_tcp != b->syslog_tcp, "syslog-proto");
	DIFF(a->separate != b->separate, "output-separately");
	const struct st_timefmt *ta = &a->timefmt, *tb = &b->timefmt;

	DIFF(ta->kind != tb->kind || ta->digits != tb->digits || ta->relative != tb->relative ||
		     ta->rel_digits != tb->rel_digits || ta->durations != tb->durations ||
		     ta->dur_digits != tb->dur_digits,
	     "timestamps");
	/* The rate limit's code is in the BPF programs or not; a policy's rules can change. */
	DIFF(a->rate_per_s != b->rate_per_s, "rate-limit");
	DIFF(!a->policy != !b->policy, "policy");
	DIFF(a->stack_depth != b->stack_depth, "stack");
	/* argfilt: the rules are the run's (a SIGHUP keeps them, reload.c). */
	bool rules = a->nrules != b->nrules || a->dry_run != b->dry_run;

	for (unsigned i = 0; i < a->nrules && !rules; i++)
		rules = strcmp(a->rules[i].name, b->rules[i].name) ||
			a->rules[i].action != b->rules[i].action ||
			a->rules[i].exclude != b->rules[i].exclude;
	DIFF(rules, "argument filters, kill, stop, count or dry-run");
#undef DIFF
	return n;
}
