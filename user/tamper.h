/* SPDX-License-Identifier: MIT */
/*
 * Tamper alerts, in one place: audit events that weaken auditing itself
 * (sys.addaudithook, ctypes), and the probe's semaphore cleared by the
 * traced process, which silences its own python:audit probe.
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

#define ST_TAMPER_MAX_SEMS 64

struct st_tamper {
	/* Semaphores watched, one per traced process. */
	struct {
		pid_t pid;
		__u64 addr;
		bool alerted;
	} sems[ST_TAMPER_MAX_SEMS];
	int nsems;
	__u32 ctypes_alerted[64]; /* recent processes already warned about ctypes */
	unsigned nctypes;
};

/* Audit events that are signs of tampering with auditing itself, or NULL. */
const char *st_tamper_reason(const char *event, size_t len);

/*
 * The alert the event `v` calls for, or NULL: ctypes raises several events per
 * foreign call, so one alert per process says it all.
 */
const char *st_tamper_event(struct st_tamper *tp, const struct st_view *v);

/* Watch the semaphore of `pid`, which runs `py`. 0 or a negative errno. */
int st_tamper_watch(struct st_tamper *tp, pid_t pid, const struct st_pyelf *py);

/* An alert, once per process, for each watched semaphore found cleared. */
void st_tamper_check(struct st_tamper *tp, struct st_output *out, __u64 mono_ns);

/*
 * Where, in process `pid`, the probe's semaphore lives: the kernel counts
 * attached probes there, and CPython skips the probe when it reads 0.
 * Returns 0 with *addr set, or a negative errno.
 */
int st_semaphore_addr(pid_t pid, const struct st_pyelf *py, __u64 *addr);

/* Reads the semaphore's current value (unsigned short). 0 or a negative errno. */
int st_semaphore_read(pid_t pid, __u64 addr, unsigned *value);

#endif
