/* SPDX-License-Identifier: MIT */
/*
 * Attach: an attach plan (user/discover.h) -> uprobe links, in a layout slot
 * per interpreter file (device, inode) that every process of that file
 * shares. The processes known to map each file are counted; when the last
 * one is gone (and /proc confirms no other maps it: a fork maps it without
 * an exec), the file's links, slot and per-file state are released.
 */
#ifndef SEATRACE_ATTACH_H
#define SEATRACE_ATTACH_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>
#include "discover.h"

struct seatrace_bpf;
struct bpf_link;
struct bpf_program;

#define ST_MAX_SEEN 1024
/* Files the limit alert was raised for, remembered so it is raised once per file. */
#define ST_MAX_LIMITED 4096

/* What a process's executable file leads to, remembered so each file is read once. */
enum st_seen_state {
	ST_SEEN_NOT_PYTHON = 1,
	ST_SEEN_ATTACHED,
	ST_SEEN_REFUSED, /* a Python seatrace cannot trace: reason said once */
	ST_SEEN_LIMIT,	 /* not attached: --max-files/--max-links reached; retried on a release */
};

/* Links that belong to no slot: the tracepoint programs'. */
#define ST_NO_SLOT (-1)
/* A process not traced because a limit was reached (struct st_attach_proc). */
#define ST_SLOT_LIMIT (-2)

/* A process known to map an attached file (or refused for a limit). */
struct st_attach_proc {
	pid_t pid;
	int slot;
};

struct st_attach_slot {
	dev_t dev;
	ino_t ino;
	bool used;
	bool named; /* its known event names are in the kernel's table (ronames.h) */
	bool check;	 /* its last known process is gone: look in /proc before releasing */
	unsigned nprocs; /* processes known to map it */
	unsigned draining; /* released links the closer has not destroyed yet (atomic) */
};

/*
 * Destroying a uprobe link waits for the kernel's grace period (about 0.1 s
 * here): threads of their own do it, so the reader goes on handling execs,
 * several at once, so that their waits overlap and slots come free soon.
 */
#define ST_CLOSERS 8
struct st_closer {
	pthread_t thread[ST_CLOSERS];
	unsigned nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct {
		struct bpf_link *link;
		int slot;
	} *q;
	size_t n, cap;
	bool started, stop;
};

struct st_attach {
	struct seatrace_bpf *skel;
	bool floor; /* attach the empty benchmark programs instead */
	unsigned max_files; /* slots usable (--max-files), at most the `layouts` map's size */
	unsigned max_links; /* uprobe links at once (--max-links) */
	struct {
		dev_t dev;
		ino_t ino;
		int state;
		int slot; /* ST_SEEN_ATTACHED: the slot it leads to */
	} seen[ST_MAX_SEEN]; /* executables, and the interpreter files they lead to */
	unsigned nseen;
	unsigned nfiles; /* distinct interpreter files attached system-wide */
	struct st_attach_slot *slots; /* max_files of them */
	struct {
		struct bpf_link *link;
		int slot;
	} *links;
	unsigned nlinks, caplinks;
	unsigned nuprobes; /* links with a slot: what --max-links bounds */
	struct st_attach_proc *procs; /* by increasing pid, then slot */
	size_t nprocs, capprocs;
	unsigned ncheck;  /* slots with `check` set */
	unsigned nlimit;  /* procs entries with ST_SLOT_LIMIT */
	bool retry;	  /* a slot was released: processes refused for a limit may fit now */
	bool retrying;	  /* in st_attach_reap()'s retries: a refused process is counted once */
	struct {
		dev_t dev;
		ino_t ino;
	} limited[ST_MAX_LIMITED]; /* files the limit alert was raised for */
	unsigned nlimited;
	char limit_file[PATH_MAX]; /* st_attach_system()'s -E2BIG: the file not attached */
	/* Counters for --stats and the exit line. */
	__u64 attached_total, released_total, limit_files, limit_procs;
	unsigned exit_files, exit_uprobes; /* in use when st_attach_detach_all() ran */
	/* Called when st_attach_system() attaches a file (NULL: nothing to do). */
	void (*on_file)(const struct st_plan *plan, void *ctx);
	/* Called when a file is released: forget what is kept about it (NULL: nothing). */
	void (*on_release)(dev_t dev, ino_t ino, void *ctx);
	void *on_file_ctx;
	struct st_closer closer;
};

/* Sizes the tables for opts' limits. 0 or -ENOMEM. */
int st_attach_init(struct st_attach *a, unsigned max_files, unsigned max_links);

/*
 * Attaches `plan` for `pid` (-1: every process running its file): the file's
 * slot, filled on first use, then one uprobe per point, all or none. The slot
 * index, or a negative errno with err set (-E2BIG: a limit was reached).
 */
int st_attach_plan(struct st_attach *a, pid_t pid, const struct st_plan *plan, char *err,
		   size_t errlen);

/* st_plan_make() then st_attach_plan() for one process: 0 or a negative errno, err set. */
int st_attach_pid(struct st_attach *a, pid_t pid, const struct st_pyelf *py, char *err,
		  size_t errlen);

/*
 * System-wide: attaches, for every process, to the interpreter file of
 * `pid` unless that file is attached already, and counts `pid` as one of
 * its processes. One attachment per file (device, inode), whatever the
 * number of processes running it. at_exec: the process has just exec'd, so
 * an executable already found not to be Python is skipped at once (a
 * process that has run for a while may have loaded one with dlopen()
 * since: it is looked at again). Returns 1 when it attached now, 0 when
 * there was nothing to do, or a negative errno with err set when the
 * process runs a Python seatrace cannot trace (said once per file).
 * -E2BIG: --max-files or --max-links is reached; a->limit_file names the
 * file, returned once per file (0 for its other processes).
 */
int st_attach_system(struct st_attach *a, pid_t pid, bool at_exec, char *err, size_t errlen);

/*
 * System-wide: attaches, for every process, to the interpreter file at `path` (named `file`
 * in messages), judged alone, unless it is attached already. 1 when it attached now, 0 when
 * it was attached before, -ENOENT when it is no CPython (not remembered), or another negative
 * errno with err set (a Python seatrace cannot trace: remembered, and -EALREADY next time).
 */
int st_attach_file(struct st_attach *a, const char *path, const char *file, char *err,
		   size_t errlen);

/* Whether pid's executable leads to a file attached by st_attach_system(). */
bool st_attach_known(struct st_attach *a, pid_t pid);

/*
 * The process ended, or exec'd another image: it no longer maps what it
 * mapped. A file left with no known process is checked by st_attach_reap().
 */
void st_attach_process_gone(struct st_attach *a, pid_t pid);

/*
 * Releases the files whose last known process is gone, once /proc shows
 * that no process maps them (forks, processes never seen exec). Then,
 * when a file was released, calls retry(pid, ctx) for each process that a
 * limit left untraced. Cheap when nothing is due. The files released.
 */
int st_attach_reap(struct st_attach *a, int (*retry)(pid_t pid, void *ctx), void *ctx);

/* Attaches a program that needs no target (a tracepoint). 0 or a negative errno. */
int st_attach_prog(struct st_attach *a, struct bpf_program *prog);

/* Destroys the links of `slot`, clears its layout and frees it for another file. */
void st_attach_release(struct st_attach *a, int slot);

/* Layout slots whose entry in the BPF `layouts` map is in use (read from the map). */
unsigned st_attach_layouts_in_use(struct st_attach *a);

/* --stats: the attach counters. */
void st_attach_print_stats(struct st_attach *a, FILE *f);

/* At exit: says, once, how many files and processes a limit left untraced. */
void st_attach_say_limits(struct st_attach *a, FILE *f);

void st_attach_detach_all(struct st_attach *a);

/* Frees the tables (after st_attach_detach_all()). */
void st_attach_free(struct st_attach *a);

#endif
