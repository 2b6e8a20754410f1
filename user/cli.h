/* SPDX-License-Identifier: MIT */
/* Command line: what the user asked for, parsed and checked, nothing done yet. */
#ifndef SEATRACE_CLI_H
#define SEATRACE_CLI_H

#include <stdbool.h>
#include <sys/types.h>
#include "glob.h"

#define ST_MAX_PIDS 64

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
};

/*
 * Parses argv into *o. Returns 0 to go on, 1 when a request was fully served
 * (--help, --version), or a negative errno after printing a message that
 * says what to fix. `argp_flags` lets tests stop argp from exiting.
 */
int st_cli_parse(int argc, char **argv, struct st_opts *o, unsigned argp_flags);

#endif
