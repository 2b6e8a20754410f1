/* SPDX-License-Identifier: MIT */
/*
 * Tamper alerts, in one place: audit events that weaken auditing itself
 * (sys.addaudithook, ctypes), and the probe's semaphore cleared by the
 * traced process, which silences its own python:audit probe. A cleared
 * semaphore is set again from here, in every mode, and each clear is said.
 */
#ifndef SEATRACE_TAMPER_H
#define SEATRACE_TAMPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "pyelf.h"

struct st_output;
struct st_view;

/* An interpreter file attached with its semaphore: what a process mapping it must show. */
struct st_tamper_file {
	dev_t dev;
	ino_t ino;
	__u64 sem;	/* the semaphore's link-time address */
	bool dynamic;	/* at the load bias of the file's first mapping */
	unsigned nsites; /* the kernel adds 1 per probe site */
};

/* A process whose semaphore is watched. */
struct st_tamper_proc {
	pid_t pid;
	__u64 addr;	/* 0: not found yet (its interpreter not mapped yet) */
	unsigned armed; /* the value it had while intact, written back when cleared */
	unsigned nsites; /* what the kernel set it to, if it was never seen intact */
	unsigned tries; /* looks that did not find it, or found it 0 at the start */
	bool done;	/* not a process of an attached file: not looked at again */
};

struct st_tamper {
	struct st_tamper_file *files;
	size_t nfiles, capfiles;
	struct st_tamper_proc *procs; /* by increasing pid */
	size_t nprocs, capprocs;
	pid_t last_pid; /* the last pid st_tamper_seen() found watched */
	__u32 ctypes_alerted[64]; /* recent processes already warned about ctypes */
	unsigned nctypes;
	__u64 clears;	/* semaphores found cleared */
};

/* Audit events that are signs of tampering with auditing itself, or NULL. */
const char *st_tamper_reason(const char *event, size_t len);

/*
 * The alert the event `v` calls for, or NULL: ctypes raises several events per
 * foreign call, so one alert per process says it all.
 */
const char *st_tamper_event(struct st_tamper *tp, const struct st_view *v);

/* A file attached with the probe (`nsites` sites): its processes can be watched by pid. */
int st_tamper_add_file(struct st_tamper *tp, const struct st_pyelf *py, unsigned nsites);

/* The file was released (no process maps it any more): forget it. */
void st_tamper_forget_file(struct st_tamper *tp, dev_t dev, ino_t ino);

/* Watch the semaphore of `pid`, which runs `py`. 0 or a negative errno. */
int st_tamper_watch(struct st_tamper *tp, pid_t pid, const struct st_pyelf *py);

/*
 * Watch `pid`, which may run a file st_tamper_add_file() gave: its semaphore is
 * looked for at the next checks (after an exec, its libpython may not be mapped yet).
 * Nothing when it is watched already. 0 or -ENOMEM.
 */
int st_tamper_watch_pid(struct st_tamper *tp, pid_t pid);

/* Whether `pid` is watched or was looked at already: cheap, for every event. */
bool st_tamper_seen(struct st_tamper *tp, pid_t pid);

/* The process ended (or exec'd another image): forget it. */
void st_tamper_forget(struct st_tamper *tp, pid_t pid);

/*
 * Looks at every watched semaphore: one found cleared is set again to what it
 * was, with an alert each time.
 */
void st_tamper_check(struct st_tamper *tp, struct st_output *out, __u64 mono_ns);

void st_tamper_free(struct st_tamper *tp);

/*
 * Where, in process `pid`, the semaphore of `sem` (link-time, in the file dev/ino,
 * at a load bias if `dynamic`) lives. 0 with *addr set, or a negative errno.
 */
int st_semaphore_find(pid_t pid, dev_t dev, ino_t ino, __u64 sem, bool dynamic, __u64 *addr);

/* Reads the semaphore's current value (unsigned short). 0 or a negative errno. */
int st_semaphore_read(pid_t pid, __u64 addr, unsigned *value);

/* Writes it. 0 or a negative errno. */
int st_semaphore_write(pid_t pid, __u64 addr, unsigned value);

#endif
