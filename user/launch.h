/* SPDX-License-Identifier: MIT */
/* Command mode: start a command stopped at its exec, so tracing starts before its first event. */
#ifndef SEATRACE_LAUNCH_H
#define SEATRACE_LAUNCH_H

#include <signal.h>
#include <sys/types.h>

/*
 * Forks and execs argv under ptrace; returns the child's pid, stopped right
 * after its first successful exec, or a negative errno after printing why
 * (-ENOENT: command not found, -EACCES: not executable). The child runs
 * with `child_mask` as its signal mask.
 */
pid_t st_launch(char **argv, const sigset_t *child_mask);

/*
 * Called at each exec of the child: return 1 once tracing is in place (the
 * child is then released), 0 to wait for a later exec (a wrapper such as
 * env), or a negative errno to give up.
 */
typedef int (*st_exec_cb)(pid_t pid, void *ctx);

/*
 * Runs the stopped child until `cb` accepts one of its execs, or, while it
 * runs, `poll` (if not NULL, same returns, called every ST_LAUNCH_POLL_MS)
 * accepts it: an embedder may load libpython with dlopen() at any time. The
 * caller blocks SIGCHLD, so that the child's stops are handled as they come
 * between two polls (else each waits for the next poll).
 * Returns 1 when released, 0 when the child ended first (its wait status in
 * *status), or the callback's error (the child is then killed).
 */
int st_launch_release(pid_t pid, st_exec_cb cb, st_exec_cb poll, void *ctx, int *status);

#define ST_LAUNCH_POLL_MS 10

#endif
