/* SPDX-License-Identifier: MIT */
/* One run's state, shared by the loader (main.c) and what it traces (targets.c). */
#ifndef SEATRACE_TRACER_H
#define SEATRACE_TRACER_H

#include <limits.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/types.h>
#include <linux/types.h>
#include "attach.h"
#include "cli.h"
#include "exechold.h"
#include "procscan.h"
#include "records.h"
#include "say.h"
#include "tamper.h"

struct seatrace_bpf;
struct st_ring;
struct st_ratelog;

struct tracer {
	struct st_opts *opts;
	struct seatrace_bpf *skel;
	struct st_attach att;
	struct st_records rec;
	struct st_tamper tamper;
	struct st_procscan scan;
	struct st_ring *rb;
	__u64 lost_reported;
	__u64 notices_lost_reported; /* exec/exit notices */
	/* Rate limits (ratelimit.c): what the buckets' records said, and the last walk. */
	struct st_ratelog *rl;
	__u64 rl_reported;
	__u32 rl_epoch;
	__u64 execs;
	bool watch_exec; /* attach to new interpreters as processes exec them */
	struct st_exechold *hold; /* execs held until judged (NULL: exec notices only) */
	bool started;		  /* the first scan is done: a late attach is reported */
	char last_file[PATH_MAX]; /* the file attached last, for reports */
	/*
	 * -p and a command without --follow: the files attached for each target, so that an
	 * exec of one already attached (its uprobes follow the process) attaches nothing twice.
	 */
	struct {
		pid_t pid;
		dev_t dev;
		ino_t ino;
	} pidfile[ST_MAX_PIDS * 4];
	unsigned npidfile;
	bool detached; /* st_targets_let_go(): nothing is attached any more */
};

/* Prints "seatrace: " and the message on stderr. */

/* Before anything is attached: what attaching a file sets going. */
void st_targets_init(struct tracer *t);

/*
 * -p: attaches to each of opts->pids, whose interpreters `pys` describes, and says so.
 * 0, or a negative errno after saying why.
 */
int st_targets_pids(struct tracer *t, const struct st_pyelf *pys);

/*
 * Command mode: starts opts->cmd stopped at its exec, attaches, lets it run (*child).
 * 1 then; 0 when it ended without running a Python (its wait status in *status); 126
 * or 127 when it could not be started, as a shell would exit; -1 when attaching failed
 * (it was killed). Said why, each time.
 */
int st_targets_command(struct tracer *t, const sigset_t *child_mask, pid_t *child, int *status);

/* System-wide: every process now. The interpreter files attached, or a negative errno. */
int st_targets_all(struct tracer *t, int *nproc);

/* System-wide: every process whose size changed since the last look, when one is due. */
void st_targets_rescan(struct tracer *t, __u64 now_ns);

/*
 * System-wide and --follow: holds every exec until its file is judged (user/exechold.h), or
 * says once that the first events of a new interpreter may be missed.
 */
void st_targets_hold(struct tracer *t);

/* A process exec'd (struct st_records' on_exec): attach to its interpreter if it is new. */
void st_targets_exec(pid_t pid, void *tracer);

/*
 * -p and a command without --follow: a target exec'd (struct st_records' on_exec). It is
 * followed, as strace follows a process through execve: a new interpreter is attached for
 * it, late (a coverage record says so), and an interpreter file attached already needs nothing.
 */
void st_targets_exec_pid(pid_t pid, void *tracer);

/* The same, for struct st_records' on_exec; a command's process, stopped there, resumed. */
void st_targets_exec_go(pid_t pid, void *tracer);

/* -p and a command without --follow: a target ended (struct st_records' on_exit). */
void st_targets_exit_pid(pid_t pid, void *tracer);

/*
 * Everything detached (the output failed, or seatrace is leaving): no exec is followed any
 * more, and a command's process stopped at an exec whose notice was not handled goes on.
 */
void st_targets_let_go(struct tracer *t, pid_t child);

/*
 * Exec notices were lost (the notice ring was full): every process is looked at again, and
 * the interpreters the lost notices would have named attached. How many were attached.
 */
int st_targets_notices_lost(struct tracer *t);

/* A process ended (struct st_records' on_exit): the files it mapped may be released. */
void st_targets_exit(pid_t pid, void *tracer);

/*
 * Releases the interpreter files no process maps any more, then retries the processes a
 * limit left untraced. Cheap when nothing is due.
 */
void st_targets_reap(struct tracer *t);

#endif
