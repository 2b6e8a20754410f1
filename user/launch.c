// SPDX-License-Identifier: MIT
/*
 * The child asks to be traced and execs; the kernel stops it right after
 * the exec, before any of its instructions run. That is the moment the
 * interpreter's file is known and nothing has been audited yet: attach,
 * then let it go. ptrace is held only across those stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
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

int st_launch_release(pid_t pid, st_exec_cb cb, void *ctx, int *status)
{
	int ret = cb(pid, ctx);

	for (;;) {
		int st, sig = 0;

		if (ret < 0) {
			kill(pid, SIGKILL);
			ptrace(PTRACE_DETACH, pid, NULL, NULL);
			waitpid(pid, &st, 0);
			return ret;
		}
		if (ret > 0) {
			ptrace(PTRACE_DETACH, pid, NULL, NULL);
			return 1;
		}
		if (ptrace(PTRACE_CONT, pid, NULL, NULL) && errno != ESRCH)
			return -errno;
		for (;;) {
			if (waitpid(pid, &st, 0) < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
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
