/* SPDX-License-Identifier: MIT */
/* Command line: what the user asked for, parsed and checked, nothing done yet. */
#ifndef SEATRACE_CLI_H
#define SEATRACE_CLI_H

#include <stdbool.h>
#include <sys/types.h>
#include "glob.h"

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
	unsigned max_files; /* interpreter files attached at once */
	unsigned max_links; /* uprobe links at once */
};

/*
 * Parses and checks argv into *o, so that a mistake costs nothing: every option
 * is checked here, before anything is loaded. Returns 0 to go on, -EINVAL
 * after printing a message that says what to fix (a usage error: exit with
 * ST_EXIT_USAGE), or another negative errno (-ENOMEM). Unless `argp_flags` has ARGP_NO_EXIT (as
 * tests do), argp itself exits: 0 for --help, ST_EXIT_USAGE on a usage error.
 */
int st_cli_parse(int argc, char **argv, struct st_opts *o, unsigned argp_flags);

#endif
