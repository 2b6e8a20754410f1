/* SPDX-License-Identifier: MIT */
/*
 * Holding new processes at exec: a fanotify group with FAN_OPEN_EXEC_PERM on every
 * filesystem makes each exec wait, before its first instruction, until the reader has
 * judged the file (and attached to it, if it is an interpreter). Every exec is allowed,
 * whatever happens: seatrace never denies one. No BPF here; the caller attaches.
 */
#ifndef SEATRACE_EXECHOLD_H
#define SEATRACE_EXECHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct st_exechold;

/*
 * A file about to run in process `pid`: `path` opens it (/proc/self/fd/N), `file` names it;
 * `ldlp` is the LD_LIBRARY_PATH the exec passes (NULL: none or unknown); `late`: the exec was
 * let go before the reader got to it (it was busy for a second). Returns 1 when it
 * is a Python (attached, or attached before), 0 when it is not (it is not asked about again
 * until it changes), or a negative errno (asked again next time).
 */
typedef int (*st_exechold_fn)(const char *path, const char *file, pid_t pid, const char *ldlp,
			      bool late, void *ctx);

/*
 * Opens the group and marks every filesystem this process sees. NULL and errno when the
 * kernel refuses (EPERM: no CAP_SYS_ADMIN in the initial user namespace; EINVAL or ENOSYS:
 * no permission events), with a line in err.
 */
struct st_exechold *st_exechold_open(st_exechold_fn fn, void *ctx, char *err, size_t errlen);

/* One descriptor to poll for reading: exec events and mount table changes. */
int st_exechold_fd(const struct st_exechold *h);

/*
 * Answers every pending exec (always allowing it) and follows mount changes. A watchdog
 * process (a child, killed with the caller) answers the execs waiting when the reader has
 * taken none for a second, stopped or not; SIGTSTP, SIGTTIN and SIGTTOU are ignored while
 * the group is open. If the watchdog ends, the group is closed with a line on stderr.
 */
void st_exechold_handle(struct st_exechold *h);

/* Marks the filesystems of pid's mount namespace too, if it is one not seen yet. */
void st_exechold_add_ns(struct st_exechold *h, pid_t pid);

/* Execs held and filesystems marked so far, for -v. */
void st_exechold_counts(const struct st_exechold *h, unsigned long *execs, unsigned *fs);

/* Ends the watchdog and closes the group: the kernel allows whatever exec still waits. */
void st_exechold_free(struct st_exechold *h);

#endif
