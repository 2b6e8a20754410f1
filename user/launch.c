// SPDX-License-Identifier: MIT
/*
 * The child asks to be traced and execs; the kernel stops it right after
 * the exec, before any of its instructions run. That is the moment the
 * interpreter's file is known and nothing has been audited yet: attach,
 * then let it go. ptrace is held only across those stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "launch.h"

pid_t st_launch(char **argv, const sigset_t *child_mask)
{
	int pfd[2], child_err = 0, status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (pid == 0) {
		close(pfd[0]);
		sigprocmask(SIG_SETMASK, child_mask, NULL);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
			execvp(argv[0], argv);
		/* Only reached on failure: tell the parent why, through the pipe. */
		child_err = errno;
		if (write(pfd[1], &child_err, sizeof(child_err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == sizeof(child_err)) {
		waitpid(pid, &status, 0);
		fprintf(stderr, "seatrace: cannot run '%s': %s\n", argv[0], strerror(child_err));
		return -child_err;
	}
	/* exec succeeded: the child is (or will be) in its post-exec SIGTRAP stop. */
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		fprintf(stderr, "seatrace: '%s' did not stop after exec as expected\n", argv[0]);
		return -ECHILD;
	}
	/* Later execs (a wrapper such as env) stop too; if seatrace dies, so does the child. */
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
	return pid;
}

/*
 * Detaches from a child that runs: ptrace lets go only of a stopped tracee, so
 * stop it (SIGSTOP, then dropped at the detach). Stops for anything else on
 * the way are passed on. If it ends meanwhile it is left unreaped, for the
 * caller to wait for as for a released child. 0, or a negative errno.
 */
static int detach_running(pid_t pid)
{
	if (kill(pid, SIGSTOP))
		return -errno;
	for (;;) {
		siginfo_t si = { 0 };
		int st, sig;

		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WSTOPPED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
			return 0;
		if (waitpid(pid, &st, 0) < 0)
			return -errno;
		if (!WIFSTOPPED(st))
			continue;
		if (WSTOPSIG(st) == SIGSTOP && !(st >> 16)) {
			ptrace(PTRACE_DETACH, pid, NULL, NULL);
			return 0;
		}
		sig = st >> 16 || WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st);
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
	}
}

static long long ts_ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* The command must not run on untraced: killed, then reaped. */
static int abandon(pid_t pid, int err)
{
	int st;

	kill(pid, SIGKILL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	waitpid(pid, &st, 0);
	return err;
}

int st_launch_release(pid_t pid, st_exec_cb cb, st_exec_cb poll, void *ctx, int *status)
{
	struct timespec now, next_poll = {0, 0};
	int ret = cb(pid, ctx);
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);

	for (;;) {
		int st, sig = 0;

		if (ret < 0)
			return abandon(pid, ret);
		if (ret > 0) {
			ptrace(PTRACE_DETACH, pid, NULL, NULL);
			return 1;
		}
		if (ptrace(PTRACE_CONT, pid, NULL, NULL) && errno != ESRCH)
			return -errno;
		for (;;) {
			pid_t w = waitpid(pid, &st, poll ? WNOHANG : 0);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (w == 0) {
				struct timespec left;

				/* Running, no Python yet: it may load one with dlopen(). */
				clock_gettime(CLOCK_MONOTONIC, &now);
				if (ts_ns(&now) >= ts_ns(&next_poll)) {
					ret = poll(pid, ctx);
					if (ret < 0)
						return abandon(pid, ret);
					if (ret > 0) {
						ret = detach_running(pid);
						return ret < 0 ? ret : 1;
					}
					next_poll = now;
					next_poll.tv_nsec += ST_LAUNCH_POLL_MS * 1000000L;
					if (next_poll.tv_nsec >= 1000000000L) {
						next_poll.tv_sec++;
						next_poll.tv_nsec -= 1000000000L;
					}
				}
				/*
				 * Until the child stops or ends (SIGCHLD, blocked by the caller, so
				 * its stops are handled at once) or the next look is due.
				 */
				left.tv_sec = 0;
				left.tv_nsec = (long)(ts_ns(&next_poll) - ts_ns(&now));
				if (left.tv_nsec > 0)
					sigtimedwait(&chld, NULL, &left);
				continue;
			}
			if (WIFEXITED(st) || WIFSIGNALED(st)) {
				*status = st;
				return 0;
			}
			if (!WIFSTOPPED(st))
				continue;
			if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
				break;
			/* Any other stop is a signal for the child: hand it over. */
			sig = WSTOPSIG(st);
			if (sig == SIGTRAP)
				sig = 0;
			ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
		}
		ret = cb(pid, ctx);
	}
}
