/* SPDX-License-Identifier: MIT */
/*
 * Discovery: a process or a file -> an attach plan. Which file holds the
 * interpreter, whether it has the python:audit probe or takes the uprobe
 * fallback, where the uprobes go and which object layout decodes it. Reads
 * files and /proc only: no skeleton, no BPF (user/attach.c carries a plan out).
 */
#ifndef SEATRACE_DISCOVER_H
#define SEATRACE_DISCOVER_H

#include <stddef.h>
#include <sys/types.h>
#include "pyelf.h"
#include "wire.h"

enum st_plan_kind {
	ST_PLAN_PROBE = 1, /* the python:audit probe's sites */
	ST_PLAN_FALLBACK,  /* uprobes on the audit functions (user/fallback.c) */
};

/* What attaching to one interpreter file takes: the same for every process running it. */
struct st_plan {
	struct st_pyelf py; /* the file, as discovery judged it */
	enum st_plan_kind kind;
	/* The decoder's offsets; its sites are where the program derives the load bias from. */
	struct st_layout layout;
	unsigned npoints;
	__u64 off[ST_MAX_SITES];    /* uprobe offsets in py.path */
	__u64 cookie[ST_MAX_SITES]; /* each uprobe's cookie, the slot's bits left 0 */
	char what[ST_MAX_SITES][48]; /* each point, for messages: "sys_audit_tstate+3" */
	__u64 ref_ctr;		     /* the semaphore's offset in the file, 0: none */
};

/* st_find_python() flags. */
#define ST_FIND_NEEDED 1u /* just exec'd: look at what the executable links (DT_NEEDED) too */

/*
 * Finds the CPython in process `pid`, whatever its files are named: the
 * object that carries python:audit (its executable, or a library it maps),
 * else a CPython without the probe that the uprobe fallback can trace.
 * Returns 0 with *py filled; otherwise a negative errno with a one-line
 * explanation in err: -ESRCH no such process, -ENOENT not a Python,
 * -ENOTSUP a Python seatrace cannot trace (*py then describes it, for its
 * version), -EPROTONOSUPPORT a Python whose objects seatrace cannot decode
 * (a free-threaded build, a version it does not know): *py is filled then,
 * with py->refusal saying why.
 */
int st_find_python(pid_t pid, unsigned flags, struct st_pyelf *py, char *err, size_t errlen);

/*
 * The plan for `py`, an interpreter st_find_python() or st_discover_file() accepted.
 * 0, or a negative errno with err set.
 */
int st_plan_make(const struct st_pyelf *py, struct st_plan *plan, char *err, size_t errlen);

/* st_find_python() then st_plan_make(): the same returns. */
int st_discover(pid_t pid, unsigned flags, struct st_plan *plan, char *err, size_t errlen);

/*
 * The plan for the interpreter file `path` (named `file` in messages), judged alone:
 * -ENOENT when it is no CPython, -ENOTSUP / -EPROTONOSUPPORT as st_find_python().
 */
int st_discover_file(const char *path, const char *file, struct st_plan *plan, char *err,
		     size_t errlen);

/*
 * The first CPython among the libraries the executable `exe_path` (named `exe_file` in pid's
 * mount namespace, for $ORIGIN) names in DT_NEEDED, found as ld.so would with LD_LIBRARY_PATH
 * `ldlp` (NULL: none) in pid's mount namespace. 1 with *py filled, or 0.
 */
int st_needed_python(pid_t pid, const char *exe_path, const char *exe_file, const char *ldlp,
		     struct st_pyelf *py);

/* One line for `seatrace --list`: 1 when the process is a Python, else 0. */
int st_list_process(pid_t pid, char *line, size_t len);

#endif
