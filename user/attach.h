/* SPDX-License-Identifier: MIT */
/*
 * Attach: an attach plan (user/discover.h) -> uprobe links, in a layout slot
 * per interpreter file (device, inode) that every process of that file
 * shares. A slot and its links can be released again.
 */
#ifndef SEATRACE_ATTACH_H
#define SEATRACE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "discover.h"

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

/* Links that belong to no slot: the tracepoint programs'. */
#define ST_NO_SLOT (-1)

struct st_attach {
	struct seatrace_bpf *skel;
	bool floor; /* attach the empty benchmark programs instead */
	struct {
		dev_t dev;
		ino_t ino;
		int state;
		int slot; /* ST_SEEN_ATTACHED: the slot it leads to */
	} seen[ST_MAX_SEEN]; /* executables, and the interpreter files they lead to */
	unsigned nseen;
	unsigned nfiles; /* distinct interpreter files attached system-wide */
	struct {
		dev_t dev;
		ino_t ino;
		bool used;
	} slots[ST_MAX_LAYOUTS];
	struct {
		struct bpf_link *link;
		int slot;
	} links[ST_MAX_LINKS];
	unsigned nlinks;
	/* Called when st_attach_system() attaches a file (NULL: nothing to do). */
	void (*on_file)(const struct st_plan *plan, void *ctx);
	void *on_file_ctx;
};

/*
 * Attaches `plan` for `pid` (-1: every process running its file): the file's
 * slot, filled on first use, then one uprobe per point, all or none. The slot
 * index, or a negative errno with err set.
 */
int st_attach_plan(struct st_attach *a, pid_t pid, const struct st_plan *plan, char *err,
		   size_t errlen);

/* st_plan_make() then st_attach_plan() for one process: 0 or a negative errno, err set. */
int st_attach_pid(struct st_attach *a, pid_t pid, const struct st_pyelf *py, char *err,
		  size_t errlen);

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

/* Attaches a program that needs no target (a tracepoint). 0 or a negative errno. */
int st_attach_prog(struct st_attach *a, struct bpf_program *prog);

/* Destroys the links of `slot` and frees it for another file, which is judged again. */
void st_attach_release(struct st_attach *a, int slot);

void st_attach_detach_all(struct st_attach *a);

#endif
