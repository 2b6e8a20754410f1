/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every layer shares: messages to the user, the clock, a process's name and
 * state, whether a path is a cgroup v2 directory.
 */
#ifndef SEATRACE_SAY_H
#define SEATRACE_SAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* "seatrace: " + the message + a newline, on stderr. */
void st_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in nanoseconds: the clock the kernel stamps records with. */
uint64_t st_mono_ns(void);

/* The process's name from /proc/PID/comm into comm (len bytes); "" when it is gone. */
void st_proc_comm(pid_t pid, char *comm, size_t len);

/* The process is stopped (SIGSTOP, job control: T) or at a debugger's stop (t). */
bool st_proc_stopped(pid_t pid);

/* NULL when path is a directory of a cgroup v2 hierarchy; else why it is not. */
const char *st_cgroup_dir_why(const char *path);

#endif
