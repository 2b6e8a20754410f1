/* SPDX-License-Identifier: MIT */
/* Small helpers every layer shares: messages to the user, the clock, a process's name. */
#ifndef SEATRACE_SAY_H
#define SEATRACE_SAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* "seatrace: " + the message + a newline, on stderr. */
void st_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in nanoseconds: the clock the kernel stamps records with. */
uint64_t st_mono_ns(void);

/* The process's name from /proc/PID/comm into comm (len bytes); "" when it is gone. */
void st_proc_comm(pid_t pid, char *comm, size_t len);

#endif
