/* SPDX-License-Identifier: MIT */
/* Finding the interpreter a process runs, and attaching the probe program to it. */
#ifndef SEATRACE_ATTACH_H
#define SEATRACE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "pyelf.h"

struct seatrace_bpf;
struct bpf_link;
struct bpf_program;

#define ST_MAX_LINKS 256

#define ST_MAX_SEEN 1024

/* What a process's executable file leads to, remembered so each file is read once. */
enum st_seen_state {
	ST_SEEN_NOT_PYTHON = 1,
	ST_SEEN_ATTACHED,
	ST_SEEN_REFUSED, /* a Python seatrace cannot trace: reason said once */
};

struct st_attach {
	struct seatrace_bpf *skel;
	bool floor; /* attach the empty benchmark program instead */
	struct {
		dev_t dev;
		ino_t ino;
		int state;
	} seen[ST_MAX_SEEN]; /* executables, and the probe files they lead to */
	unsigned nseen;
	unsigned nfiles; /* distinct interpreter files attached system-wide */
	struct {
		dev_t dev;
		ino_t ino;
	} slots[ST_MAX_LAYOUTS];
	unsigned nslots;
	struct bpf_link *links[ST_MAX_LINKS];
	unsigned nlinks;
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

/* Attaches to `py` for `pid`; the layout slot is shared by every process of the same file. */
int st_attach_pid(struct st_attach *a, pid_t pid, const struct st_pyelf *py, char *err,
		  size_t errlen);

void st_attach_detach_all(struct st_attach *a);

/*
 * Uprobes running `prog` at the file offsets `off` of `path`, for `pid` (-1: every
 * process), each with its cookie, and the semaphore's counter at `ref_ctr` (0: none).
 * All or none: 0, or a negative errno with the ones made destroyed and *failed the index
 * that failed (n when there is no room for them all: -E2BIG).
 */
int st_attach_uprobes(struct st_attach *a, struct bpf_program *prog, pid_t pid, const char *path,
		      const __u64 *off, const __u64 *cookie, unsigned n, __u64 ref_ctr,
		      unsigned *failed);

/*
 * The layout slot of py's file, filled on first use: shared by every attachment of that
 * file, probe or uprobe. The slot index, or a negative errno with err set.
 */
int st_attach_slot(struct st_attach *a, const struct st_pyelf *py, char *err, size_t errlen);

/*
 * System-wide: attaches, for every process, to the interpreter file of
 * `pid` unless that file is attached already. One attachment per file
 * (device, inode), whatever the number of processes running it. at_exec:
 * the process has just exec'd, so an executable already found not to be
 * Python is skipped at once (a process that has run for a while may have
 * loaded one with dlopen() since: it is looked at again). Returns 1 when it
 * attached now, 0 when there was nothing to do, or a negative errno with err
 * set when the process runs a Python seatrace cannot trace (said once per
 * file).
 */
int st_attach_system(struct st_attach *a, pid_t pid, bool at_exec, char *err, size_t errlen);

/* One line for `seatrace --list`: the process if it is a Python, else nothing. */
int st_list_process(pid_t pid, char *line, size_t len);

/*
 * Where, in process `pid`, the probe's semaphore lives: the kernel counts
 * attached probes there, and CPython skips the probe when it reads 0.
 * Returns 0 with *addr set, or a negative errno.
 */
int st_semaphore_addr(pid_t pid, const struct st_pyelf *py, __u64 *addr);

/* Reads the semaphore's current value (unsigned short). 0 or a negative errno. */
int st_semaphore_read(pid_t pid, __u64 addr, unsigned *value);

#endif
