// SPDX-License-Identifier: MIT
/*
 * seatrace: open, load, attach, poll, with one cleanup path (the shape of
 * libbpf-bootstrap). Checks that can fail for a reason the user can fix run
 * before anything is loaded, and each prints one line saying what to do.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "events.h"
#include "health.h"
#include "kcount.h"
#include "kstats.h"
#include "notify.h"
#include "output.h"
#include "pair.h"
#include "policy.h"
#include "proctx.h"
#include "ratelimit.h"
#include "stack.h"
#include "reload.h"
#include "rulecount.h"
#include "rulek.h"
#include "ring.h"
#include "syscalls.h"
#include "tracer.h"
#include "seatrace.skel.h" /* after wire.h, which tracer.h brings */

static int verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/*
 * The capabilities each mode needs, found by running seatrace as a non-root user with exactly
 * these (tests/e2e/test_privileges.py); euid 0 is no shortcut: a container's root may lack them.
 *   CAP_SYS_ADMIN: perf_event_open() of a uprobe needs it again, CAP_PERFMON no longer does
 *     (the fix for CVE-2025-38466: Linux 6.16, and stable kernels since July 2025); it also
 *     stands for CAP_BPF and CAP_PERFMON, and opens /proc/PID/map_files.
 *   CAP_SYS_PTRACE: another user's /proc/PID/exe, maps, root, and its memory (ptrace checks).
 *   CAP_DAC_READ_SEARCH: another user's /proc/PID/map_files (mode 0500) and environ (0400),
 *     which find a libpython, and interpreters in directories the user cannot search.
 * A command is our own child: CAP_SYS_ADMIN is enough. --list loads nothing: map_files takes
 * CAP_CHECKPOINT_RESTORE as well as CAP_SYS_ADMIN.
 */
static int check_privileges(const struct st_opts *o)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	const __u64 others = 1ULL << CAP_SYS_PTRACE | 1ULL << CAP_DAC_READ_SEARCH;
	const __u64 admin = 1ULL << CAP_SYS_ADMIN;
	__u64 eff;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	eff = (__u64)data[1].effective << 32 | data[0].effective;
	if (o->list) {
		if ((eff & others) == others && (eff & (admin | 1ULL << CAP_CHECKPOINT_RESTORE)))
			return 0;
		st_say("permission denied: run seatrace --list as root, or grant it "
			"CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE (or "
			"CAP_SYS_ADMIN)");
		return -EPERM;
	}
	if ((eff & admin) && (o->cmd || (eff & others) == others))
		return 0;
	st_say("permission denied: run seatrace as root (sudo seatrace ...), or grant it "
		"CAP_SYS_ADMIN, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (a command needs only "
		"CAP_SYS_ADMIN)");
	return -EPERM;
}

static int check_btf(void)
{
	const char *path = getenv("SEATRACE_KERNEL_BTF");

	if (!path || !*path)
		path = "/sys/kernel/btf/vmlinux";
	if (access(path, R_OK) == 0)
		return 0;
	st_say("this kernel has no BTF type information (%s: %s); seatrace needs a kernel "
		"built with CONFIG_DEBUG_INFO_BTF=y (5.8 or later)",
		path, strerror(errno));
	return -ENOTSUP;
}

/*
 * The longest the reader sleeps: an event in a quiet process waits at most
 * this long to be shown (a busy one wakes the reader sooner, see rec_end()).
 */
#define WAIT_MS 100

static __u64 now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static int64_t mono_to_real_ns(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000LL + (r.tv_nsec - m.tv_nsec);
}

/*
 * A lost-events record whenever the kernel's counts have grown since the last one. Exec
 * notices lost mean interpreters perhaps not attached: every process is looked at again.
 */
static void report_lost(struct tracer *t)
{
	__u64 lost = st_kstat_lost(t->skel), notices = st_kstat_notices_lost(t->skel);

	if (lost > t->lost_reported || notices > t->notices_lost_reported) {
		if (notices > t->notices_lost_reported)
			st_targets_notices_lost(t);
		st_output_lost_notices(t->rec.out, now_mono_ns(), lost - t->lost_reported,
				       notices - t->notices_lost_reported);
		t->lost_reported = lost;
		t->notices_lost_reported = notices;
	}
	st_ratelimit_report(t); /* issue 14: what the rate limits left out */
}

/* The notice ring: a sixteenth of the main one, within these bounds (powers of two). */
#define NOTICES_MIN 4096
#define NOTICES_MAX (256 << 10)

static __u32 notice_ring_size(const struct st_opts *o, bool watching)
{
	__u64 n = o->ring_size / 16;
	/* argfilt: action records (an event's record each) travel here, whatever --buffer-size. */
	__u32 min = o->nrules || o->policy ? 64 << 10 : NOTICES_MIN;

	if (!watching || n < min)
		return min;
	return n > NOTICES_MAX ? NOTICES_MAX : (__u32)n;
}

/* --metrics without --stats-interval: the file is replaced this often (seconds). */
#define METRICS_DEFAULT_S 10

/* How long a full output may hold seatrace up once it was asked to stop. */
#define GIVE_UP_MS 1000

/*
 * The signals waiting on sfd: 1 when one asks to stop now. With a command, the first signal
 * is the command's to act on: Ctrl-C reached it through the terminal, others are passed on;
 * tracing goes on until it ends, or until a second signal. Either way, from the first one on,
 * a full output (a pipe nobody reads) is given up on after GIVE_UP_MS: seatrace must stop.
 */
static int take_signals(int sfd, pid_t child, int *sig_seen, struct tracer *t,
			struct st_sink *sink)
{
	struct st_output *out = t->rec.out;
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		/* A daemon's SIGHUP, in every mode: reopen -o, re-read --config (reload.c). */
		if (si.ssi_signo == SIGHUP) {
			st_reload(t, sink);
			continue;
		}
		/* -c / -C: the summary so far; tracing goes on. */
		if (si.ssi_signo == SIGUSR1) {
			st_kcount_report(t, st_mono_ns());
			continue;
		}
		st_output_give_up_after(out, GIVE_UP_MS);
		if (child && !*sig_seen) {
			*sig_seen = 1;
			if (si.ssi_signo != SIGINT)
				kill(child, (int)si.ssi_signo);
		} else {
			stop = 1;
		}
	}
	return stop;
}

/* Once, at the first failed write (err: negative errno): tracing stops. */
static void say_write_failed(int err, char **cmd)
{
	if (cmd)
		st_say("cannot write events: %s; stopped tracing, '%s' runs on untraced and "
		       "seatrace waits for it to end",
		       strerror(-err), cmd[0]);
	else
		st_say("cannot write events: %s; stopped tracing", strerror(-err));
}

/* -k: the layout the reader needs to read a traced process's code objects (stack.h). */
static int stack_layout(unsigned slot, struct st_layout *out, void *ctx)
{
	struct tracer *t = ctx;

	return bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.layouts), &slot, out) ? -errno : 0;
}

/*
 * Opens the BPF object, configures it for this run (only the programs it needs are loaded:
 * each has a cost on the host), loads it and attaches the tracepoint programs. The probe
 * programs are attached per interpreter later. 0, or -1 after saying why.
 */
static int load_bpf(struct tracer *t, bool system_wide)
{
	const struct st_opts *o = t->opts;
	int err;

	t->skel = seatrace_bpf__open();
	if (!t->skel) {
		st_say("cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	t->skel->rodata->cfg_str_max = o->str_max;
	/*
	 * -k: the reader reads each stack's code objects from the process, which must still be
	 * alive: woken by the first record into an empty ring, not after a quarter of it.
	 */
	t->skel->rodata->cfg_wakeup_bytes = o->stack_depth ? 1 : o->ring_size / 4;
	/* Argument rules and actions (issue 14): from the command line, or a policy, whose
	 * reload may bring some. */
	if (o->nrules || o->policy) {
		t->skel->rodata->cfg_rules = 1;
		t->skel->rodata->cfg_dry_run = o->dry_run;
	}
	{
		/* -e/-x and the policy's rules (issue 14), in the kernel's filter. */
		char why[512];

		if (st_rules_apply(t, &o->globs, o->pol ? o->pol->rules : NULL,
				   o->pol ? o->pol->nrules : 0, why, sizeof(why))) {
			st_say("%s", why);
			return -1;
		}
	}
	t->skel->rodata->cfg_filter_live = o->config || o->policy;
	t->skel->rodata->cfg_nglobs_fixed = t->skel->bss->cfg_nglobs[t->skel->bss->cfg_filter_gen & 1];
	st_ratelimit_setup(t);
	bpf_map__set_max_entries(t->skel->maps.events, (__u32)o->ring_size);
	bpf_map__set_max_entries(t->skel->maps.notices,
				 notice_ring_size(o, system_wide || o->follow));
	bpf_map__set_max_entries(t->skel->maps.scratch_map, (__u32)libbpf_num_possible_cpus());
	bpf_map__set_max_entries(t->skel->maps.layouts, o->max_files);
	bpf_map__set_max_entries(t->skel->maps.ro_names, o->max_files * ST_RO_NAMES_PER_FILE);
	bpf_program__set_autoload(o->floor ? t->skel->progs.audit : t->skel->progs.audit_floor,
				  false);
	t->skel->rodata->cfg_syscalls = o->syscalls;
	st_syscalls_bits((__u64 *)t->skel->rodata->cfg_sys_bits);
	t->skel->rodata->cfg_follow = o->follow;
	st_kcount_setup(t->skel, o);
	st_rulecount_setup(t->skel, t->skel->rodata->cfg_rules);
	/* The kernel knows the default pairs' names; user rules need frames for every event. */
	t->skel->rodata->cfg_frames_all = o->npairs > 0 && !o->no_pair;
	t->skel->rodata->cfg_stack_depth = o->stack_depth; /* -k */
	t->watch_exec = system_wide || o->follow;
	/*
	 * --follow: only targets' execs and exits are worth a notice. -p and a command: the
	 * targets' execs too, to follow them into another interpreter.
	 */
	t->skel->rodata->cfg_watch_exec = system_wide ? ST_WATCH_ALL : ST_WATCH_TARGETS;
	t->skel->rodata->cfg_exec_stop = o->cmd && !o->follow;
	t->skel->rodata->cfg_proc_filter = (o->follow ? ST_PF_TARGETS : 0) |
					  (o->have_uid ? ST_PF_UID : 0) |
					  (o->comm ? ST_PF_COMM : 0) | (o->cgroup ? ST_PF_CGROUP : 0);
	t->skel->rodata->cfg_uid = o->uid;
	if (o->comm)
		strncpy((char *)t->skel->rodata->cfg_comm, o->comm, ST_COMM_LEN - 1);
	/* Only what this run needs is loaded: each program has a cost on the host. */
	bpf_program__set_autoload(t->skel->progs.sys_enter, o->syscalls);
	bpf_program__set_autoload(t->skel->progs.sys_exit, o->syscalls);
	bpf_program__set_autoload(t->skel->progs.proc_fork, o->syscalls || o->follow);
	/* Always: it takes a target that ends out of `targets` (proc_exec watches them). */
	bpf_program__set_autoload(t->skel->progs.proc_exit, true);
	bpf_program__set_autoload(t->skel->progs.proc_exec, true);
	err = seatrace_bpf__load(t->skel);
	if (err) {
		st_say("cannot load the BPF programs: %s (run with -v for the verifier's log)",
			strerror(-err));
		return -1;
	}
	t->att.skel = t->skel;
	t->att.floor = o->floor;
	if (st_rules_current() && st_rules_cgroups(t, st_rules_current()))
		return -1;
	if (o->cgroup) {
		__u32 zero = 0;
		int cfd = open(o->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (cfd < 0 || bpf_map_update_elem(bpf_map__fd(t->skel->maps.cgroup_filter), &zero,
						   &cfd, BPF_ANY)) {
			st_say("cannot use cgroup %s: %s (give a cgroup v2 directory, such as "
				"/sys/fs/cgroup/system.slice/docker-ID.scope)",
				o->cgroup, strerror(errno));
			if (cfd >= 0)
				close(cfd);
			return -1;
		}
		close(cfd);
	}
	{
		struct bpf_program *progs[] = { t->skel->progs.sys_enter, t->skel->progs.sys_exit,
						t->skel->progs.proc_fork, t->skel->progs.proc_exit,
						t->skel->progs.proc_exec };

		for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
			if (!bpf_program__autoload(progs[i]))
				continue;
			err = st_attach_prog(&t->att, progs[i]);
			if (err) {
				st_say("cannot attach %s: %s", bpf_program__name(progs[i]),
				       strerror(-err));
				return -1;
			}
		}
	}
	return 0;
}

/*
 * --journal and --syslog: lanes of their own beside -o's or standard output's (which they
 * replace when there is no -o). The journal gets each record's text line and JSON line, syslog
 * the JSON. 0, or -1 after saying why (an unresolvable target) before anything is attached.
 */
static int open_more_sinks(const struct st_opts *opts, struct st_output_opts *oo)
{
	char why[512];
	struct st_sink *s;

	if (opts->journal) {
		s = st_sink_journal_new(ST_REC_MAX);
		if (!s) {
			st_say("cannot set up --journal: %s", strerror(errno));
			return -1;
		}
		oo->more[oo->nmore++] = (struct st_output_lane){ ST_FMT_TEXT_JSON, s };
	}
	if (opts->syslog) {
		s = st_sink_syslog_new(opts->syslog_target, opts->syslog_tcp, ST_REC_MAX, why,
				       sizeof(why));
		if (!s) {
			st_say("%s", why);
			return -1;
		}
		oo->more[oo->nmore++] = (struct st_output_lane){ ST_FMT_JSON, s };
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct st_opts opts;
	struct tracer t = { .opts = &opts };
	struct st_output_opts oo = {};
	sigset_t mask, oldmask;
	int sfd = -1, epfd = -1, pidfds[ST_MAX_PIDS], npidfds = 0, live;
	pid_t child = 0;
	int child_status = 0, exit_code = 1, err, stopping = 0, sig_seen = 0, out_failed = 0;
	int files = 0, nproc = 0;
	struct st_sink *sink = NULL; /* -o FILE's; the output owns it once made */

	for (int i = 0; i < ST_MAX_PIDS; i++)
		pidfds[i] = -1;
	err = st_cli_parse(argc, argv, &opts, 0);
	if (err)
		return err > 0 ? 0 : err == -EINVAL ? ST_EXIT_USAGE : 1;
	if (opts.list_events) {
		st_events_list(stdout, opts.json);
		return 0;
	}
	if (opts.check_policy) /* loads nothing, needs no privileges */
		return st_policy_check(opts.check_policy, stdout, stderr);
	bool system_wide = !opts.npids && !opts.cmd && !opts.list;
	verbose = opts.verbose;
	libbpf_set_print(libbpf_print);

	if (check_privileges(&opts))
		return 1;
	if (opts.list) {
		err = st_list_processes(stdout);
		if (err)
			st_say("cannot read /proc: %s", strerror(-err));
		return err ? 1 : 0;
	}
	if (check_btf())
		return 1;
	if (opts.output) {
		struct st_file_sink_opts fo = {
			.path = opts.output,
			.rotate_size = opts.rotate_size,
			.rotate_age = opts.rotate_age,
			.keep = opts.rotate_keep,
			.compress = !opts.no_compress,
		};
		char why[PATH_MAX + 128];

		/* -ff: FILE.PID per process (sink_split.c). */
		sink = opts.separate ? st_sink_split_new(opts.output, ST_REC_MAX, why, sizeof(why))
				     : st_sink_path_new(&fo, ST_REC_MAX, why, sizeof(why));
		if (!sink) {
			st_say("%s", why);
			return 1;
		}
	}
	if (open_more_sinks(&opts, &oo))
		goto cleanup;
	/* Check -p targets before loading anything, so a typo costs nothing. */
	struct st_pyelf pys[ST_MAX_PIDS];

	for (int i = 0; i < opts.npids; i++) {
		char msg[PATH_MAX + 256];

		if (st_find_python(opts.pids[i], ST_FIND_NEEDED, &pys[i], msg, sizeof(msg))) {
			st_say("%s", msg);
			goto cleanup;
		}
		pidfds[i] = (int)syscall(SYS_pidfd_open, opts.pids[i], 0);
		if (pidfds[i] < 0) {
			st_say("PID %d: %s", opts.pids[i], strerror(errno));
			goto cleanup;
		}
		npidfds++;
	}

	st_notify_status("loading the BPF programs");
	if (st_attach_init(&t.att, opts.max_files, opts.max_links)) {
		st_say("out of memory");
		goto cleanup;
	}
	if (load_bpf(&t, system_wide))
		goto cleanup;

	oo.fmt = opts.json ? ST_FMT_JSON : ST_FMT_TEXT;
	oo.out = opts.output || oo.nmore ? NULL : stdout;
	oo.sink = sink;
	oo.mono_to_real_ns = mono_to_real_ns();
	oo.live_clock = true;
	oo.timefmt = &opts.timefmt;
	if (opts.json) {
		/* Process context (JSON): a few hundred bytes per process, 4096 at most. */
		oo.proctx = st_proctx_new("/proc", 4096);
		if (!oo.proctx) {
			st_say("cannot set up output: %s", strerror(errno));
			goto cleanup;
		}
		t.rec.proctx = oo.proctx;
	}
	if (opts.stack_depth) {
		oo.stacks = st_stacks_new(stack_layout, NULL, &t);
		if (!oo.stacks) {
			st_say("cannot set up output: %s", strerror(errno));
			goto cleanup;
		}
	}
	t.rec.out = st_output_new(&oo);
	if (t.rec.out && (err = st_output_header(t.rec.out))) {
		st_say("cannot write the header record: %s", strerror(-err));
		goto cleanup;
	}
	st_policy_applied(&t);
	t.rec.tamper = &t.tamper;
	if (t.watch_exec) {
		t.rec.on_exec = st_targets_exec;
		t.rec.on_exit = st_targets_exit;
		t.rec.ctx = &t;
	} else {
		t.rec.on_exec = st_targets_exec_go;
		t.rec.on_exit = st_targets_exit_pid;
		t.rec.ctx = &t;
	}
	if (!t.rec.out) {
		st_say("cannot set up output: %s", strerror(errno));
		goto cleanup;
	}
	if (!opts.no_pair) {
		t.rec.pairer = st_pairer_new();
		if (!t.rec.pairer) {
			st_say("cannot set up pairing: %s", strerror(errno));
			goto cleanup;
		}
		/* User rules first: they take precedence over the defaults (checked by the cli). */
		for (int i = 0; i < opts.npairs; i++) {
			err = st_pairer_add_rule(t.rec.pairer, opts.pairs[i], NULL);
			if (err) {
				st_say("cannot set up pairing: %s", strerror(-err));
				goto cleanup;
			}
		}
		st_pairer_add_defaults(t.rec.pairer);
	}
	t.rb = st_ring_new(bpf_map__fd(t.skel->maps.events), st_records_handle, &t.rec);
	if (!t.rb) {
		st_say("cannot open the ring buffer: %s", strerror(errno));
		goto cleanup;
	}
	_Static_assert(ST_RECORDS_LATER == ST_RING_LATER, "records.h and ring.h disagree");
	err = st_ring_add_notices(t.rb, bpf_map__fd(t.skel->maps.notices), st_records_notice,
				  st_records_notice_late);
	if (err) {
		st_say("cannot open the notice ring buffer: %s", strerror(-err));
		goto cleanup;
	}

	/* Signals arrive through a signalfd; the command gets the mask it would have had. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (opts.count)
		sigaddset(&mask, SIGUSR1);
	{
		/*
		 * SIGPIPE blocked, not taken: a write to a pipe whose reader left fails with
		 * EPIPE, which is reported, instead of killing seatrace with its command left
		 * running untraced. The command gets the mask it would have had.
		 */
		sigset_t block = mask;

		sigaddset(&block, SIGPIPE);
		sigprocmask(SIG_BLOCK, &block, &oldmask);
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		st_say("signalfd: %s", strerror(errno));
		goto cleanup;
	}
	/* A full output is waited for, but never so long that a signal goes unread. */
	st_output_set_intr(t.rec.out, sfd);

	st_targets_init(&t);
	if (st_targets_pids(&t, pys))
		goto cleanup;
	if (opts.cmd) {
		err = st_targets_command(&t, &oldmask, &child, &child_status);
		if (err == 0)
			exit_code = WIFEXITED(child_status) ? WEXITSTATUS(child_status)
							    : 128 + WTERMSIG(child_status);
		else if (err > 1)
			exit_code = err;
		if (err != 1)
			goto cleanup;
		pidfds[0] = (int)syscall(SYS_pidfd_open, child, 0);
		npidfds = pidfds[0] >= 0;
	}
	/* After a command is let go: until then the reader waits for it, not for execs. */
	if (t.watch_exec)
		st_targets_hold(&t);
	if (system_wide) {
		files = st_targets_all(&t, &nproc);
		if (files < 0) {
			st_say("cannot scan /proc: %s", strerror(-files));
			goto cleanup;
		}
		fprintf(stderr,
			"seatrace: attached: %d interpreter file%s, %d processes scanned; new "
			"processes are traced as they start (Ctrl-C to stop)\n",
			files, files == 1 ? "" : "s", nproc);
		st_procscan_started(&t.scan, now_mono_ns());
	}
	fflush(stderr);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	/*
	 * The ring is watched edge-triggered: a level-triggered watch reports it
	 * ready whenever one record is unread, so the reader would spin on a busy
	 * ring, a few records per pass, competing with the traced process for the
	 * machine. Edge-triggered, it sleeps until the kernel's batched wake-up
	 * (a quarter of the ring, see rec_end()) or the timeout.
	 */
	int rbfd = bpf_map__fd(t.skel->maps.events);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = rbfd};

	epoll_ctl(epfd, EPOLL_CTL_ADD, rbfd, &ev);
	/* Notices wake the reader each (level-triggered: each drain reads them all). */
	ev.events = EPOLLIN;
	ev.data.fd = bpf_map__fd(t.skel->maps.notices);
	epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	int holdfd = t.hold ? st_exechold_fd(t.hold) : -1;

	if (holdfd >= 0) {
		ev.data.fd = holdfd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, holdfd, &ev);
	}
	for (int i = 0; i < npidfds; i++) {
		ev.data.fd = pidfds[i];
		epoll_ctl(epfd, EPOLL_CTL_ADD, pidfds[i], &ev);
	}

	/* Attached, and the first scan done: an event raised from now on is recorded. */
	if (system_wide)
		st_notify_ready("tracing every Python: %d interpreter file%s attached", files,
				files == 1 ? "" : "s");
	else
		st_notify_ready("tracing %s", opts.cmd ? "a command" : "the given processes");

	/* System-wide, nothing ends the run but a signal. */
	live = system_wide ? 1 : npidfds;
	exit_code = 0;
	bool more = false; /* the last drain stopped on its budget: records are waiting */
	__u64 next_chores = 0;
	struct st_health_timer health;
	bool want_health = opts.stats_interval || opts.metrics;

	st_health_timer_init(&health, now_mono_ns(),
			     want_health ? (opts.stats_interval ?: METRICS_DEFAULT_S) * 1000000000ULL
					 : 0);
	if (opts.metrics) /* at once: a path that cannot be written is said now */
		st_kstat_health(&t, health.start_ns, health.start_ns, false);

	while (live > 0 && !stopping) {
		struct epoll_event evs[8];
		int n = epoll_wait(epfd, evs, 8, more ? 0 : WAIT_MS);

		if (n < 0 && errno != EINTR) {
			st_say("epoll_wait: %s", strerror(errno));
			exit_code = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				if (take_signals(sfd, child, &sig_seen, &t, sink))
					stopping = 1;
			} else if (fd == holdfd) {
				st_exechold_handle(t.hold); /* an exec waits for this */
			} else if (fd != rbfd && fd != bpf_map__fd(t.skel->maps.notices)) {
				/* A traced process ended: its events are all in the ring by now. */
				epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
				t.rec.budget = INT_MAX;
				st_ring_consume(t.rb);
				for (int k = 0; k < npidfds; k++)
					if (pidfds[k] == fd)
						st_records_drain_spans(
						    &t.rec, (__u32)(opts.cmd ? child : opts.pids[k]));
				live--;
			}
		}
		/* Stopping: detach first, then drain; the process may still be producing. */
		if (stopping)
			break;
		/* Wake-ups are batched in the kernel: always drain, whatever woke us. */
		t.rec.budget = 65536;
		if (st_ring_consume(t.rb) == -EIO) {
			st_say("the ring buffer holds a record longer than the ring: this "
				"kernel's ring layout is not the one seatrace reads; please "
				"report it with `uname -r`");
			exit_code = 1;
			break;
		}
		more = t.rec.budget <= 0;
		/* Each chore costs system calls: once per wait period, not once per drain. */
		__u64 now = now_mono_ns();

		if (now >= next_chores && !out_failed) {
			next_chores = now + WAIT_MS * 1000000ULL;
			report_lost(&t);
			st_tamper_check(&t.tamper, t.rec.out, now);
		}
		/* Files whose last process ended in this drain: released now (cheap when none). */
		st_targets_reap(&t);
		if (st_health_timer_due(&health, now) && !out_failed)
			st_kstat_health(&t, now, health.start_ns, opts.stats_interval);
		if (system_wide)
			st_targets_rescan(&t, now);
		/* Lines are batched while records stream in; out they go whenever the ring is dry. */
		if (!t.rec.out_err)
			t.rec.out_err = st_output_flush(t.rec.out);
		/* Full, with a signal waiting (read it first), or given up on (counted): go on. */
		if (t.rec.out_err == -EINTR || t.rec.out_err == -ETIMEDOUT)
			t.rec.out_err = 0;
		if (t.rec.out_err && !out_failed) {
			out_failed = t.rec.out_err;
			say_write_failed(out_failed, opts.cmd);
			/* Detached, the command runs on untraced: waited for, signals passed on. */
			st_attach_detach_all(&t.att);
			st_targets_let_go(&t, child);
			if (!child)
				break;
		}
	}
	st_notify_stopping("stopping: writing what the kernel has buffered");
	/* No exec waits on a reader that is leaving. */
	st_exechold_free(t.hold);
	t.hold = NULL;
	st_attach_detach_all(&t.att);
	st_targets_let_go(&t, child);
	/*
	 * Nothing new arrives once detached: drain all of it. A drain ends early when the
	 * output is full and a signal waits: the signal is taken (a stopping one gives up on the
	 * output), then on it goes.
	 */
	t.rec.budget = INT_MAX;
	while (st_ring_consume(t.rb) > 0) {
		take_signals(sfd, 0, &sig_seen, &t, sink);
		t.rec.budget = INT_MAX;
	}
	st_ring_flush_late(t.rb);
	if (!out_failed)
		report_lost(&t);
	st_records_drain_spans(&t.rec, 0);
	if (opts.count && !out_failed)
		st_kcount_report(&t, now_mono_ns());
	/* The last counters, everything drained: a stats record, then (what the last flush
	 * dropped counted too) the metrics file. */
	if (opts.stats_interval && !out_failed)
		st_kstat_health(&t, now_mono_ns(), health.start_ns, true);
	while ((err = st_output_flush(t.rec.out)) == -EINTR)
		take_signals(sfd, 0, &sig_seen, &t, sink);
	if (opts.metrics)
		st_kstat_health(&t, now_mono_ns(), health.start_ns, false);
	if (err && err != -ETIMEDOUT && !out_failed) {
		out_failed = err;
		say_write_failed(out_failed, NULL);
	}
	if (st_output_dropped(t.rec.out))
		st_say("%llu output lines not written: %s",
		       (unsigned long long)st_output_dropped(t.rec.out),
		       out_failed ? strerror(-out_failed)
				  : "the output was not being read when seatrace was stopped");
	if (child) {
		if (stopping) {
			exit_code = 128 + SIGINT;
		} else if (waitpid(child, &child_status, 0) == child) {
			exit_code = WIFEXITED(child_status) ? WEXITSTATUS(child_status)
							    : 128 + WTERMSIG(child_status);
		}
		child = 0;
	}
	/* Events were not all written: seatrace failed, whatever the command's status. */
	if (out_failed)
		exit_code = 1;
	if (t.lost_reported)
		st_say("%llu events lost (ring buffer full, or probe busy on a CPU): raise "
			"--buffer-size or narrow the events with -e/-x",
			(unsigned long long)t.lost_reported);
	st_rulecount_say(&t); /* count rules: what they counted, at exit */
	if (st_ratelimit_dropped(&t))
		st_say("%llu events left out by rate limits (--rate-limit, a policy's rate:): "
		       "see the 'lost' records",
		       (unsigned long long)st_ratelimit_dropped(&t));
	if (t.notices_lost_reported)
		st_say("%llu exec/exit notices lost (their ring was full): processes were "
		       "rescanned; raise --buffer-size (the notice ring is a sixteenth of it)",
		       (unsigned long long)t.notices_lost_reported);
	st_attach_say_limits(&t.att, stderr);
	if (opts.stats) {
		st_kstat_print(stderr, t.skel, t.rec.received, t.rec.invalid, t.rec.execs,
			       t.rec.exits);
		st_attach_print_stats(&t.att, stderr);
	}

cleanup:
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	st_exechold_free(t.hold); /* whatever exec still waits goes on */
	st_attach_detach_all(&t.att);
	st_attach_free(&t.att);
	st_ring_free(t.rb);
	if (t.rec.out)
		st_output_free(t.rec.out);
	st_pairer_free(t.rec.pairer);
	st_proctx_free(t.rec.proctx);
	st_stacks_free(oo.stacks);
	st_procscan_free(&t.scan);
	st_tamper_free(&t.tamper);
	st_ratelimit_free(&t);
	seatrace_bpf__destroy(t.skel);
	for (int i = 0; i < ST_MAX_PIDS; i++)
		if (pidfds[i] >= 0)
			close(pidfds[i]);
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	if (!t.rec.out) {
		st_sink_free(sink); /* not handed over yet */
		for (unsigned i = 0; i < oo.nmore; i++)
			st_sink_free(oo.more[i].sink);
	}
	if (!opts.output && fflush(stdout) && !exit_code)
		exit_code = 1;
	return exit_code;
}
