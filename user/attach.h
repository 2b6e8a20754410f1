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

#define ST_MAX_LINKS 256

struct st_attach {
	struct seatrace_bpf *skel;
	bool floor; /* attach the empty benchmark program instead */
	struct {
		dev_t dev;
		ino_t ino;
	} slots[ST_MAX_LAYOUTS];
	unsigned nslots;
	struct bpf_link *links[ST_MAX_LINKS];
	unsigned nlinks;
};

/*
 * Finds the object that carries python:audit in process `pid` (its
 * executable, or a libpython it maps). Returns 0 with *py filled; otherwise
 * a negative errno with a one-line explanation in err: -ESRCH no such
 * process, -ENOENT not a Python, -ENOTSUP a Python without the probe.
 */
int st_find_python(pid_t pid, struct st_pyelf *py, char *err, size_t errlen);

/* Attaches to `py` for `pid`; the layout slot is shared by every process of the same file. */
int st_attach_pid(struct st_attach *a, pid_t pid, const struct st_pyelf *py, char *err,
		  size_t errlen);

void st_attach_detach_all(struct st_attach *a);

#endif
