// SPDX-License-Identifier: MIT
/*
 * What is traced: -p processes, a command, or every process on the host;
 * each one's interpreter attached (attach.c), and the kernel's maps that
 * select processes (--follow targets, -S) filled.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "launch.h"
#include "output.h"
#include "tracer.h"
#include "seatrace.skel.h" /* after wire.h, which tracer.h brings */


/* Syscalls are recorded for processes in the `traced` map (and, from the kernel, their children). */
static int trace_syscalls_of(struct tracer *t, pid_t pid)
{
	__u32 key = (__u32)pid, mode = ST_TRACE_ALL;

	if (!t->opts->syscalls)
		return 0;
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.traced), &key, &mode, BPF_ANY)) {
		int err = -errno;

		st_say("cannot mark PID %d for syscall tracing: %s", pid, strerror(errno));
		return err;
	}
	return 0;
}

/* --follow: the process and, from the kernel, its descendants are targets. */
static int add_target(struct tracer *t, pid_t pid)
{
	__u32 key = (__u32)pid, one = 1;

	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.targets), &key, &one, BPF_ANY)) {
		int err = -errno;

		st_say("cannot add PID %d to the traced processes: %s", pid, strerror(errno));
		return err;
	}
	return 0;
}

/* -p and a command without --follow: pid's file `py` is attached; its execs are followed. */
static int note_pidfile(struct tracer *t, pid_t pid, const struct st_pyelf *py)
{
	if (t->opts->follow)
		return 0;
	if (t->npidfile >= sizeof(t->pidfile) / sizeof(t->pidfile[0])) {
		st_say("PID %d: too many interpreter files attached for the traced processes; "
		       "use --follow, which attaches per file",
		       pid);
		return -E2BIG;
	}
	t->pidfile[t->npidfile].pid = pid;
	t->pidfile[t->npidfile].dev = py->dev;
	t->pidfile[t->npidfile].ino = py->ino;
	t->npidfile++;
	return add_target(t, pid); /* its execs come as notices (ST_WATCH_TARGETS) */
}

/* Still a target: the kernel takes a process out of `targets` when it ends (proc_exit). */
static bool is_target(struct tracer *t, pid_t pid)
{
	__u32 key = (__u32)pid, one;

	return !bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.targets), &key, &one);
}

/* Its rows go: a process that reuses the pid is not this one. */
static void forget_pidfile(struct tracer *t, pid_t pid)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->npidfile; i++)
		if (t->pidfile[i].pid != pid)
			t->pidfile[n++] = t->pidfile[i];
	t->npidfile = n;
}

static bool pidfile_known(const struct tracer *t, pid_t pid, const struct st_pyelf *py)
{
	for (unsigned i = 0; i < t->npidfile; i++)
		if (t->pidfile[i].pid == pid && t->pidfile[i].dev == py->dev &&
		    t->pidfile[i].ino == py->ino)
			return true;
	return false;
}

int st_targets_pids(struct tracer *t, const struct st_pyelf *pys)
{
	const struct st_opts *o = t->opts;

	for (int i = 0; i < o->npids; i++) {
		char msg[PATH_MAX + 256];
		int err;

		/* With --follow, children may run any interpreter: attach per file, filter by target. */
		err = o->follow ? st_attach_system(&t->att, o->pids[i], false, msg, sizeof(msg))
				: st_attach_pid(&t->att, o->pids[i], &pys[i], msg, sizeof(msg));
		if (err < 0) {
			st_say("%s", msg);
			return err;
		}
		if (o->follow && (err = add_target(t, o->pids[i])))
			return err;
		if ((err = note_pidfile(t, o->pids[i], &pys[i])))
			return err;
		if ((err = trace_syscalls_of(t, o->pids[i])))
			return err;
		st_tamper_add_file(&t->tamper, &pys[i], pys[i].nsites);
		st_tamper_watch(&t->tamper, o->pids[i], &pys[i]);
		fprintf(stderr, "seatrace: attached: PID %d, %s (CPython %s)\n", o->pids[i],
			pys[i].file[0] ? pys[i].file : pys[i].path,
			pys[i].version[0] ? pys[i].version : "?");
	}
	return 0;
}

struct exec_ctx {
	struct tracer *t;
	int attached;
};

/* at_exec: stopped right after an exec, when what it links is not mapped yet. */
static int attach_command(pid_t pid, struct exec_ctx *x, bool at_exec)
{
	struct tracer *t = x->t;
	struct st_pyelf py;
	char err[PATH_MAX + 256];
	int ret = st_find_python(pid, at_exec ? ST_FIND_NEEDED : 0, &py, err, sizeof(err));

	if (ret == -ENOENT)
		return 0; /* not Python yet: a wrapper such as env or a shell */
	if (ret == 0 && t->opts->follow) {
		ret = st_attach_system(&t->att, pid, at_exec, err, sizeof(err));
		ret = ret < 0 ? ret : add_target(t, pid);
	} else if (ret == 0) {
		ret = st_attach_pid(&t->att, pid, &py, err, sizeof(err));
		if (ret == 0 && (ret = note_pidfile(t, pid, &py)))
			snprintf(err, sizeof(err), "cannot follow PID %d through its execs", pid);
	}
	if (ret == 0)
		ret = trace_syscalls_of(t, pid);
	if (ret == 0) {
		st_tamper_add_file(&t->tamper, &py, py.nsites);
		st_tamper_watch(&t->tamper, pid, &py);
	}
	if (ret) {
		st_say("%s", err);
		return ret;
	}
	x->attached = 1;
	fprintf(stderr, "seatrace: attached: PID %d, %s (CPython %s)\n", pid, t->opts->cmd[0],
		py.version[0] ? py.version : "?");
	return 1;
}

static int at_exec(pid_t pid, void *data)
{
	return attach_command(pid, data, true);
}

/* While the command runs without a Python: it may load one with dlopen(). */
static int at_poll(pid_t pid, void *data)
{
	return attach_command(pid, data, false);
}

int st_targets_command(struct tracer *t, const sigset_t *child_mask, pid_t *child, int *status)
{
	struct exec_ctx x = { .t = t };
	int err;

	*child = st_launch(t->opts->cmd, child_mask);
	if (*child < 0) {
		err = *child;
		*child = 0;
		return err == -ENOENT ? 127 : 126; /* as a shell says it */
	}
	err = st_launch_release(*child, at_exec, at_poll, &x, status);
	if (err <= 0)
		*child = 0; /* ended, or killed by st_launch_release() */
	if (err < 0)
		return -1;
	if (err == 0) {
		st_say("'%s' ended without running a Python that has the audit probe",
		       t->opts->cmd[0]);
		return 0;
	}
	return 1;
}

/*
 * A process ran an interpreter before it was attached (found at its exec notice rather than
 * held, or loaded after exec): say so, never silently.
 */
static void report_late(struct tracer *t, pid_t pid, const char *reason)
{
	char comm[ST_COMM_LEN];
	int err;

	st_proc_comm(pid, comm, sizeof(comm));
	err = st_output_coverage(t->rec.out, st_mono_ns(), (__u32)pid, comm, t->last_file, reason);
	if (err && !t->rec.out_err)
		t->rec.out_err = err;
}


/*
 * st_attach_system()'s -E2BIG: a process not traced because --max-files or --max-links is
 * reached, said as an alert record (once per file) rather than on stderr only.
 */
static void limit_alert(struct tracer *t, pid_t pid, const char *why)
{
	char comm[ST_COMM_LEN];

	st_proc_comm(pid, comm, sizeof(comm));
	st_output_alert_kind(t->rec.out, st_mono_ns(), (__u32)pid, (__u32)pid, comm, "limit",
			     t->att.limit_file, why);
	if (t->opts->verbose)
		st_say("not tracing PID %d: %s", pid, why);
}

/* What st_attach_system() returned for pid, said; the semaphore of an attached one watched. */
static int attached(struct tracer *t, pid_t pid, int ret, const char *msg)
{
	if (ret == -E2BIG)
		limit_alert(t, pid, msg);
	else if (ret < 0)
		st_say("not tracing PID %d: %s", pid, msg);
	else if (st_attach_known(&t->att, pid))
		st_tamper_watch_pid(&t->tamper, pid);
	return ret == -E2BIG ? 0 : ret;
}

static int attach_one(pid_t pid, void *data)
{
	struct tracer *t = data;
	char msg[PATH_MAX + 256];
	int ret;

	st_exechold_add_ns(t->hold, pid);
	ret = attached(t, pid, st_attach_system(&t->att, pid, false, msg, sizeof(msg)), msg);
	if (ret > 0 && t->started)
		report_late(t, pid, "mapped");
	return ret;
}

/* A file attached system-wide: the semaphores of its processes are watched. */
static void on_file(const struct st_plan *plan, void *data)
{
	struct tracer *t = data;

	snprintf(t->last_file, sizeof(t->last_file), "%s",
		 plan->py.file[0] ? plan->py.file : plan->py.path);
	if (plan->kind == ST_PLAN_PROBE)
		st_tamper_add_file(&t->tamper, &plan->py, plan->npoints);
}

/* --follow: a process that is no target is filtered out in the kernel; it needs nothing here. */
static bool not_followed(struct tracer *t, pid_t pid)
{
	__u32 key = (__u32)pid, one;

	return t->opts->follow &&
	       bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.targets), &key, &one) != 0;
}

/*
 * A file about to run in pid, the exec waiting (user/exechold.h): attached now if it is an
 * interpreter, or if it links one (DT_NEEDED). 1 for a Python, 0 for a file that is not.
 */
static int on_hold(const char *path, const char *file, pid_t pid, const char *ldlp, bool late,
		   void *data)
{
	struct tracer *t = data;
	char msg[PATH_MAX + 256];
	struct st_pyelf *lib;
	int ret;

	/*
	 * --follow: a process that is no target is filtered out, so its file takes no slot (it
	 * would never be released: no target counts it). A file that is not Python is still
	 * said so, for its ignore mark; a Python is asked about again at its next exec.
	 */
	if (not_followed(t, pid)) {
		struct st_plan *plan = malloc(sizeof(*plan));

		ret = plan ? st_discover_file(path, file, plan, msg, sizeof(msg)) : -ENOMEM;
		free(plan);
		return ret == -ENOENT ? 0 : 1;
	}
	ret = st_attach_file(&t->att, path, file, msg, sizeof(msg));

	if (ret == -ENOENT) {
		/* Not a CPython itself: what it links may be. The executable is not asked again. */
		lib = malloc(sizeof(*lib));
		if (lib && st_needed_python(pid, path, file, ldlp, lib))
			ret = st_attach_file(&t->att, lib->path, lib->file, msg, sizeof(msg));
		free(lib);
		if (ret >= 0 || ret == -ENOENT || ret == -EALREADY) {
			if (ret > 0 && t->opts->verbose)
				st_say("attached to %s, linked by %s, before PID %d runs it",
				       t->last_file, file, pid);
			if (ret > 0 && late)
				report_late(t, pid, "held too long");
			return 0;
		}
	}
	if (ret > 0 && t->opts->verbose)
		st_say("attached to %s before PID %d runs it", t->last_file, pid);
	if (ret > 0 && late)
		report_late(t, pid, "held too long"); /* the reader was busy: it ran a while */
	if (ret == -EALREADY)
		return 1;
	if (ret < 0 && ret != -ENOENT && ret != -E2BIG) /* a limit: its alert comes at the exec */
		st_say("not tracing PID %d: %s", pid, msg);
	return ret < 0 && ret != -ENOTSUP && ret != -EPROTONOSUPPORT ? ret : 1;
}

void st_targets_hold(struct tracer *t)
{
	char err[256];

	t->hold = st_exechold_open(on_hold, t, err, sizeof(err));
	if (!t->hold)
		st_say("cannot hold new processes at exec (%s; needs CAP_SYS_ADMIN in the initial "
		       "user namespace and a kernel with fanotify permission events): the first "
		       "events of an interpreter binary not seen before may be missed, and are "
		       "reported as coverage records",
		       err);
	else if (t->opts->verbose)
		st_say("new processes are held at exec until their file is judged");
}

/* A file released: its semaphore is no longer looked for. */
static void on_release(dev_t dev, ino_t ino, void *data)
{
	struct tracer *t = data;

	st_tamper_forget_file(&t->tamper, dev, ino);
}

void st_targets_init(struct tracer *t)
{
	t->att.on_file = on_file;
	t->att.on_release = on_release;
	t->att.on_file_ctx = t;
}

void st_targets_exit(pid_t pid, void *data)
{
	struct tracer *t = data;

	st_attach_process_gone(&t->att, pid);
}

void st_targets_reap(struct tracer *t)
{
	int n = st_attach_reap(&t->att, attach_one, t);

	if (n > 0 && t->opts->verbose > 1)
		st_say("released %d interpreter file%s no process maps any more", n,
		       n == 1 ? "" : "s");
}

int st_targets_all(struct tracer *t, int *nproc)
{
	int ret = st_procscan_walk(&t->scan, false, attach_one, t, nproc);

	t->started = true;
	return ret;
}

/*
 * An embedder may load libpython with dlopen() long after its exec, and nothing tells the
 * reader when: every process not yet known to run an attached interpreter is looked at
 * again if its size changed (procscan.h paces it).
 */
void st_targets_rescan(struct tracer *t, __u64 now_ns)
{
	if (st_procscan_rescan(&t->scan, now_ns, attach_one, t) > 0 && t->opts->verbose)
		st_say("attached to an interpreter loaded after its process started");
}

void st_targets_exec(pid_t pid, void *data)
{
	struct tracer *t = data;
	char msg[PATH_MAX + 256];
	int ret;

	t->execs++;
	/* Its old image, and what that mapped, is gone. */
	st_attach_process_gone(&t->att, pid);
	st_exechold_add_ns(t->hold, pid);
	if (not_followed(t, pid)) /* its files need no slot */
		return;
	ret = st_attach_system(&t->att, pid, true, msg, sizeof(msg));
	if (ret > 0 && t->opts->verbose)
		st_say("attached to a new interpreter, first run by PID %d", pid);
	/* Held execs are attached before they run: one found here ran unseen for a while. */
	if (ret > 0)
		report_late(t, pid, "exec");
	attached(t, pid, ret, msg);
}

void st_targets_exec_pid(pid_t pid, void *data)
{
	struct tracer *t = data;
	struct st_pyelf *py;
	char msg[PATH_MAX + 256];
	bool held;
	int ret;

	t->execs++;
	/* A notice handled after its process ended: its pid may be another process's by now. */
	if (t->detached || !is_target(t, pid))
		return;
	held = t->skel->rodata->cfg_exec_stop && st_proc_stopped(pid);
	py = malloc(sizeof(*py));
	ret = py ? st_find_python(pid, ST_FIND_NEEDED, py, msg, sizeof(msg)) : -ENOMEM;
	if (ret == 0 && pidfile_known(t, pid, py)) {
		/* Attached already: its uprobes follow the process; its semaphore is watched anew. */
		st_tamper_watch(&t->tamper, pid, py);
		free(py);
		return;
	}
	if (ret == -ENOENT) {
		free(py); /* not a Python: its next exec is told too */
		return;
	}
	if (ret == 0 && t->npidfile >= sizeof(t->pidfile) / sizeof(t->pidfile[0])) {
		snprintf(msg, sizeof(msg), "too many interpreter files attached for the traced "
					   "processes; use --follow, which attaches per file");
		ret = -E2BIG;
	}
	if (ret == 0)
		ret = st_attach_pid(&t->att, pid, py, msg, sizeof(msg));
	if (ret == 0)
		ret = note_pidfile(t, pid, py);
	if (ret == 0)
		ret = trace_syscalls_of(t, pid);
	if (ret) {
		st_say("PID %d exec'd an interpreter it cannot be traced in: %s", pid, msg);
		free(py);
		return;
	}
	st_tamper_add_file(&t->tamper, py, py->nsites);
	st_tamper_watch(&t->tamper, pid, py);
	snprintf(t->last_file, sizeof(t->last_file), "%s", py->file[0] ? py->file : py->path);
	fprintf(stderr, "seatrace: attached: PID %d, %s (CPython %s), after its exec\n", pid,
		t->last_file, py->version[0] ? py->version : "?");
	/*
	 * Not held at its exec (-p; or the stop was refused or overtaken): it ran unseen until
	 * now, its first events may be missing.
	 */
	if (!held)
		report_late(t, pid, "exec");
	free(py);
}

/* A command's process, stopped at its exec (cfg_exec_stop): attached, it goes on. */
static void exec_pid_go(struct tracer *t, pid_t pid)
{
	st_targets_exec_pid(pid, t);
	if (t->skel->rodata->cfg_exec_stop && kill(pid, SIGCONT) && errno != ESRCH)
		st_say("cannot resume PID %d after its exec: %s (kill -CONT %d)", pid,
		       strerror(errno), pid);
}

void st_targets_exec_go(pid_t pid, void *data)
{
	exec_pid_go(data, pid);
}

void st_targets_exit_pid(pid_t pid, void *data)
{
	forget_pidfile(data, pid);
}

void st_targets_let_go(struct tracer *t, pid_t child)
{
	t->detached = true;
	if (child > 0 && t->skel->rodata->cfg_exec_stop)
		kill(child, SIGCONT);
}

/* The notice rescan's callback: with --follow, only targets matter (the rest is filtered). */
static int attach_lost(pid_t pid, void *data)
{
	if (not_followed(data, pid))
		return 0;
	return attach_one(pid, data) > 0;
}

int st_targets_notices_lost(struct tracer *t)
{
	struct st_procscan scan = {};
	int nproc, ret;

	if (!t->watch_exec) {
		/* -p, a command: a lost notice was a target's exec (its process may be stopped). */
		for (unsigned i = 0; i < t->npidfile; i++) {
			bool first = true;

			for (unsigned j = 0; j < i; j++)
				first &= t->pidfile[j].pid != t->pidfile[i].pid;
			/* Ended (its exit notice may be the one lost): not followed any more. */
			if (first && !is_target(t, t->pidfile[i].pid)) {
				forget_pidfile(t, t->pidfile[i].pid);
				i = (unsigned)-1; /* the table moved: from the start again */
				continue;
			}
			if (first)
				exec_pid_go(t, t->pidfile[i].pid);
		}
		return 0;
	}
	/* A walk of its own: every process, whether or not it changed since the paced rescan. */
	ret = st_procscan_walk(&scan, false, attach_lost, t, &nproc);
	st_procscan_free(&scan);
	if (ret > 0 && t->opts->verbose)
		st_say("exec notices lost: attached to %d interpreter%s found by a rescan", ret,
		       ret == 1 ? "" : "s");
	return ret;
}
