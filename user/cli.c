// SPDX-License-Identifier: MIT
/* argp command line, in the manner of libbpf-tools: options, then examples. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "cli.h"
#include "pair.h"

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
	"    seatrace                           # every Python process on the host\n"
	"    seatrace -u www-data -e 'socket.*' # one user's processes, sockets only\n"
	"    seatrace --list                    # Python processes and how they can be traced\n"
	"    seatrace -p 1234                   # every audit event of process 1234\n"
	"    seatrace -f -- python3 app.py      # a command and the processes it starts\n"
	"    seatrace -- python3 app.py         # a command, from its first event\n"
	"    seatrace -e 'socket.*' -e open -p 1234   # only sockets and open()\n"
	"    seatrace -x 'object.__*' -j -o ev.jsonl -- python3 app.py\n"
	"    seatrace -S -- python3 app.py      # with the syscalls behind the events\n"
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
	OPT_MAX_FILES,
	OPT_MAX_LINKS,
};

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Trace this running process (repeatable)", 0 },
	{ "event", 'e', "GLOB", 0, "Show only events matching GLOB (repeatable, comma lists)", 0 },
	{ "exclude", 'x', "GLOB", 0, "Drop events matching GLOB (repeatable, comma lists)", 0 },
	{ "json", 'j', NULL, 0, "Write JSON Lines instead of text", 0 },
	{ "output", 'o', "FILE", 0, "Write events to FILE instead of standard output", 0 },
	{ "string-size", 's', "N", 0,
	  "Keep at most N characters of each str and N bytes of each bytes value (default 256, "
	  "max 4096); longer values are marked truncated",
	  0 },
	{ "syscalls", 'S', NULL, 0,
	  "Also record the syscalls that carry out audited operations (open, connect, execve, "
	  "unlink, ...), each linked to the audit event before it; flag those no audit event "
	  "accounts for",
	  0 },
	{ "pair", OPT_PAIR, "PRE=POST", 0,
	  "Also pair events PRE and POST into spans; '*' stands for the name they share, as in "
	  "the default 'prehook:*=posthook:*' (repeatable)",
	  0 },
	{ "no-pair", OPT_NO_PAIR, NULL, 0, "Do not pair events into spans", 0 },
	{ "follow", 'f', NULL, 0, "With -p or a command, also trace the processes they start", 0 },
	{ "user", 'u', "USER", 0, "Only processes of USER (name or uid)", 0 },
	{ "comm", OPT_COMM, "NAME", 0, "Only processes whose command name is NAME", 0 },
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "Only processes in the cgroup at PATH (e.g. /sys/fs/cgroup/system.slice/x.service) or "
	  "below it: a container",
	  0 },
	{ "list", OPT_LIST, NULL, 0, "List the Python processes on the host and how each can be traced", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's diagnostics", 0 },
	{ "list-events", OPT_LIST_EVENTS, NULL, 0, "List the known events and their arguments", 0 },
	{ "buffer-size", OPT_BUFFER_SIZE, "BYTES", 0,
	  "Ring buffer size, a power of two >= 4096 (default 8388608); K and M suffixes", 0 },
	{ "max-files", OPT_MAX_FILES, "N", 0,
	  "Interpreter files attached at once, 1 to 256 (default 64); more are reported", 0 },
	{ "max-links", OPT_MAX_LINKS, "N", 0,
	  "Uprobes attached at once, 1 to 65536 (default 256); more are reported", 0 },
	{ "stats", OPT_STATS, NULL, 0, "At exit, print the kernel-side counters on stderr", 0 },
	{ "bench-floor", OPT_FLOOR, NULL, OPTION_HIDDEN, "Attach an empty program (benchmark)", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 0 },
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
	if (suffixes && (*end == 'K' || *end == 'k')) {
		v <<= 10;
		end++;
	} else if (suffixes && (*end == 'M' || *end == 'm')) {
		v <<= 20;
		end++;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int add_globs(struct argp_state *state, struct st_opts *o, const char *arg, bool exclude)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	int err = 0, n = 0;

	if (!copy)
		return ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		const char *why = NULL;

		n++;
		if (st_globset_add(&o->globs, tok, exclude, &why)) {
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
	struct statfs sfs;
	struct stat st;
	const char *why = NULL;

	if (stat(path, &st) || statfs(path, &sfs))
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		why = "not in a cgroup v2 hierarchy";
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
		o->follow = true;
		break;
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
	case OPT_FLOOR:
		o->floor = true;
		break;
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
		if (o->list_events || o->list)
			break;
		if (o->npids && o->cmd) {
			argp_error(state, "give either -p PID or a command, not both");
			return EINVAL;
		}
		if (o->follow && !o->npids && !o->cmd) {
			argp_error(state, "-f follows the children of -p PID or of a command: give one");
			return EINVAL;
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int st_cli_parse(int argc, char **argv, struct st_opts *o, unsigned argp_flags)
{
	static const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };
	int err;

	memset(o, 0, sizeof(*o));
	o->str_max = ST_STR_DEFAULT;
	o->ring_size = 8UL << 20;
	o->max_files = ST_FILES_DEFAULT;
	o->max_links = ST_LINKS_DEFAULT;
	/* Usage errors exit with EX_USAGE, as main() returns for them (argp's default). */
	argp_err_exit_status = ST_EXIT_USAGE;
	/* ARGP_IN_ORDER makes the first operand end option parsing, like "--". */
	err = argp_parse(&argp, argc, argv, ARGP_IN_ORDER | argp_flags, NULL, o);
	return err ? -err : 0;
}
