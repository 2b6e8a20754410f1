/* SPDX-License-Identifier: MIT */
/*
 * The process scan: every process under /proc, at start-up and again now
 * and then (a library may be dlopen()ed long after exec, and nothing tells
 * the reader when), and `seatrace --list`.
 */
#ifndef SEATRACE_PROCSCAN_H
#define SEATRACE_PROCSCAN_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

/* A process as seen at the last look: a dlopen() maps the library, and the size changes. */
struct st_proc_sig {
	pid_t pid;
	unsigned long long start; /* start time: a pid reused is another process */
	unsigned long vsize;	  /* address-space size */
};

struct st_procscan {
	struct st_proc_sig *sigs; /* the processes at the last look, by increasing pid */
	size_t nsigs;
	__u64 next_rescan; /* CLOCK_MONOTONIC ns */
};

/* Called for each process; a negative return is passed on, else the returns are summed. */
typedef int (*st_proc_fn)(pid_t pid, void *ctx);

/*
 * Calls fn for every process but this one. With `rescan`, a process that has
 * neither ended nor changed its size since the last walk is skipped. *nproc:
 * the processes seen. Returns the sum of fn's non-negative returns, or a
 * negative errno when /proc cannot be read.
 */
int st_procscan_walk(struct st_procscan *s, bool rescan, st_proc_fn fn, void *ctx, int *nproc);

/*
 * A rescan, when one is due at `now_ns`: they are spaced out by at least 50
 * times a walk's own duration, so they take at most 2% of a CPU however many
 * processes there are, and by 1 s at least. -EAGAIN when not due.
 */
int st_procscan_rescan(struct st_procscan *s, __u64 now_ns, st_proc_fn fn, void *ctx);

/* The first rescan comes a whole period after `now_ns`. */
void st_procscan_started(struct st_procscan *s, __u64 now_ns);

void st_procscan_free(struct st_procscan *s);

/* `seatrace --list`: a line per Python process. 0, or a negative errno. */
int st_list_processes(FILE *out);

#endif
