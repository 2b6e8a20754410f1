// SPDX-License-Identifier: MIT
/*
 * seatrace: open, load, attach, poll, with one cleanup path (the shape of
 * libbpf-bootstrap). Checks that can fail for a reason the user can fix run
 * before anything is loaded, and each prints one line saying what to do.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "attach.h"
#include "cli.h"
#include "decode.h"
#include "events.h"
#include "launch.h"
#include "output.h"
#include "seatrace.skel.h"
#include "pair.h"
#include "ring.h"
#include "syscalls.h"

static int verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void die_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("seatrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
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
		die_msg("permission denied: run seatrace --list as root, or grant it "
			"CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE (or "
			"CAP_SYS_ADMIN)");
		return -EPERM;
	}
	if ((eff & admin) && (o->cmd || (eff & others) == others))
		return 0;
	die_msg("permission denied: run seatrace as root (sudo seatrace ...), or grant it "
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
	die_msg("this kernel has no BTF type information (%s: %s); seatrace needs a kernel "
		"built with CONFIG_DEBUG_INFO_BTF=y (5.8 or later)",
		path, strerror(errno));
	return -ENOTSUP;
}

static __u64 sum_stat(struct seatrace_bpf *skel, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 total = 0;

	if (ncpu <= 0)
		return 0;
	__u64 vals[ncpu];

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &idx, vals))
		return 0;
	for (int i = 0; i < ncpu; i++)
		total += vals[i];
	return total;
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

struct tracer {
	struct st_opts *opts;
	struct seatrace_bpf *skel;
	struct st_attach att;
	struct st_output *out;
	struct st_ring *rb;
	__u64 lost_reported;
	/* Semaphores watched for tampering, one per traced process. */
	struct {
		pid_t pid;
		__u64 addr;
		bool alerted;
	} sems[ST_MAX_PIDS];
	int nsems;
	__u64 received;
	__u64 invalid;
	/* Records left to handle in this drain: a producer faster than the reader must not
	 * keep it from seeing signals and exits. */
	int budget;
	int out_err;
	bool watch_exec; /* attach to new interpreters as processes exec them */
	__u32 ctypes_alerted[64]; /* recent processes already warned about ctypes */
	unsigned nctypes;
	struct st_pairer *pairer;
	__u64 execs;
	__u64 next_rescan; /* system-wide: when to look at the processes again */
	struct proc_sig *sigs; /* the processes at the last look, by increasing pid */
	size_t nsigs;
};

static void on_exec(struct tracer *t, pid_t pid);

/* Spans the pairer has ready, written in order; the first comes from st_pairer_event(). */
static int flush_spans(struct tracer *t, int ready, struct st_span *span)
{
	int err = 0;

	while (ready > 0) {
		int e = st_output_span(t->out, span);

		err = err ? err : e;
		st_span_release(span);
		ready = st_pairer_next(t->pairer, span);
	}
	return err;
}

static int pair_event(struct tracer *t, const struct st_view *v)
{
	struct st_span span;
	int ready;

	if (!t->pairer)
		return 0;
	ready = st_pairer_event(t->pairer, v, &span);
	if (ready < 0) /* the event was not paired; spans queued before still go out */
		ready = st_pairer_next(t->pairer, &span);
	return flush_spans(t, ready, &span);
}

/* Spans still open in process pid (0: all): they will not close now. */
static void drain_spans(struct tracer *t, __u32 pid)
{
	struct st_span span;

	while (t->pairer && st_pairer_drain(t->pairer, pid, &span) > 0) {
		st_output_span(t->out, &span);
		st_span_release(&span);
	}
}

/* ctypes raises several events per foreign call: one alert per process says it all. */
static bool repeated_alert(struct tracer *t, const struct st_view *v)
{
	if (v->name_len < 7 || memcmp(v->name, "ctypes.", 7))
		return false;
	for (unsigned i = 0; i < 64 && i < t->nctypes; i++)
		if (t->ctypes_alerted[i] == v->hdr->pid)
			return true;
	t->ctypes_alerted[t->nctypes++ % 64] = v->hdr->pid;
	return false;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	struct st_view v;
	struct st_sys_view sv;
	int err;

	t->received++;
	/* The type tag comes first in every record; each decoder checks the rest. */
	if (size >= sizeof(struct st_exec) && *(const __u16 *)data == ST_REC_EXEC) {
		const struct st_exec *x = data;

		/* A new image: spans its old one left open will not close. */
		drain_spans(t, x->pid);
		if (t->watch_exec)
			on_exec(t, (pid_t)x->pid);
		return 0;
	}
	if (size >= sizeof(struct st_exec) && *(const __u16 *)data == ST_REC_EXIT) {
		drain_spans(t, ((const struct st_exec *)data)->pid);
		return 0;
	}
	if (size >= sizeof(__u16) && *(const __u16 *)data == ST_REC_SYSCALL) {
		err = st_sys_decode(data, size, &sv);
		if (!err)
			err = st_output_syscall(t->out, &sv);
	} else {
		err = st_decode_event(data, size, &v);
		if (!err) {
			const char *why = st_tamper_reason(v.name, v.name_len);

			err = v.hdr->flags & ST_EF_ALERT_ONLY ? 0 : st_output_event(t->out, &v);
			if (!err && !(v.hdr->flags & ST_EF_ALERT_ONLY))
				err = pair_event(t, &v);
			if (!err && why && !repeated_alert(t, &v))
				err = st_output_alert(t->out, v.hdr->ts_ns, v.hdr->pid, v.hdr->tid,
						      v.hdr->comm, why);
		}
	}
	if (err == -EINVAL || err == -EPROTO) {
		t->invalid++;
		err = st_output_invalid(t->out, size, err);
	}
	/* The ring has consumed this record already; a negative return only ends the drain. */
	if (--t->budget <= 0 && !err)
		return -EAGAIN;
	/*
	 * Writing may block (a slow reader of our output): look for a pending signal now and
	 * then, so a Ctrl-C is seen within one batch, not after a whole drain.
	 */
	if (!(t->received & 1023) && !err) {
		sigset_t pend;

		if (!sigpending(&pend) && (sigismember(&pend, SIGINT) ||
					   sigismember(&pend, SIGTERM) || sigismember(&pend, SIGHUP)))
			return -EAGAIN;
	}
	if (err && !t->out_err)
		t->out_err = err;
	return 0;
}

/*
 * Events the kernel skipped because a BPF program was already running on
 * that CPU (the traced thread was preempted inside the probe): counted by
 * the kernel per program, not by ours.
 */
static __u64 prog_misses(struct tracer *t)
{
	/* The probe program and the uprobe fallback's: both deliver events. */
	struct bpf_program *progs[] = { t->skel->progs.audit, t->skel->progs.audit_floor,
					t->skel->progs.audit_fallback,
					t->skel->progs.audit_fallback_floor };
	__u64 total = 0;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(progs[i]);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			total += info.recursion_misses;
	}
	return total;
}

/* A lost-events record whenever the kernel's counts have grown since the last one. */
static void report_lost(struct tracer *t)
{
	__u64 lost = sum_stat(t->skel, ST_STAT_LOST) + sum_stat(t->skel, ST_STAT_SYS_LOST) +
		     sum_stat(t->skel, ST_STAT_BUSY) + prog_misses(t);

	if (lost > t->lost_reported) {
		st_output_lost(t->out, now_mono_ns(), lost - t->lost_reported);
		t->lost_reported = lost;
	}
}

/* Syscalls are recorded for processes in the `traced` map (and, from the kernel, their children). */
static int trace_syscalls_of(struct tracer *t, pid_t pid)
{
	__u32 key = (__u32)pid, mode = ST_TRACE_ALL;

	if (!t->opts->syscalls)
		return 0;
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.traced), &key, &mode, BPF_ANY)) {
		int err = -errno;

		die_msg("cannot mark PID %d for syscall tracing: %s", pid, strerror(errno));
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

		die_msg("cannot add PID %d to the traced processes: %s", pid, strerror(errno));
		return err;
	}
	return 0;
}

/* A process exec'd: attach to its interpreter if it is a new one. */
static void on_exec(struct tracer *t, pid_t pid)
{
	char msg[PATH_MAX + 256];
	int ret;

	t->execs++;
	ret = st_attach_system(&t->att, pid, true, msg, sizeof(msg));
	if (ret < 0)
		die_msg("not tracing PID %d: %s", pid, msg);
	else if (ret > 0 && t->opts->verbose)
		die_msg("attached to a new interpreter, first run by PID %d", pid);
}

/* A process as seen at the last look: a dlopen() maps the library, and the size changes. */
struct proc_sig {
	pid_t pid;
	unsigned long long start; /* start time: a pid reused is another process */
	unsigned long vsize;	  /* address-space size */
};

/* Start time and size from /proc/PID/stat (fields 22 and 23): much cheaper than its maps. */
static int read_proc_sig(pid_t pid, struct proc_sig *sig)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/* The command name may hold anything, ')' included: the fields follow the last one. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1,
			 " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s"
			 " %*s %llu %lu",
			 &sig->start, &sig->vsize) != 2)
		return -EIO;
	sig->pid = pid;
	return 0;
}

/*
 * Every process on the host: once at start-up, then again now and then (rescan_processes()),
 * when a process that has neither ended nor changed its size since the last look is skipped.
 * Returns the number of interpreter files attached, or a negative errno.
 */
static int attach_existing(struct tracer *t, int *nproc, bool rescan)
{
	DIR *d = opendir("/proc");
	struct proc_sig *fresh = NULL;
	size_t nfresh = 0, cap = 0, j = 0;
	struct dirent *de;
	int files = 0;

	*nproc = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end, msg[PATH_MAX + 256];
		long pid = strtol(de->d_name, &end, 10);
		struct proc_sig sig;
		bool have;
		int ret;

		if (*end || pid <= 0 || pid == getpid())
			continue;
		(*nproc)++;
		/* Before its maps are read: a library mapped after this is seen next time. */
		have = !read_proc_sig((pid_t)pid, &sig);
		if (have && nfresh == cap) {
			struct proc_sig *more = realloc(fresh, (cap ? 2 * cap : 512) * sizeof(*more));

			if (more) {
				fresh = more;
				cap = cap ? 2 * cap : 512;
			}
		}
		if (have && nfresh < cap)
			fresh[nfresh++] = sig;
		/* /proc lists pids in increasing order: the last look's list is walked along. */
		while (j < t->nsigs && t->sigs[j].pid < pid)
			j++;
		if (rescan && have && j < t->nsigs && t->sigs[j].pid == pid &&
		    t->sigs[j].start == sig.start && t->sigs[j].vsize == sig.vsize)
			continue;
		ret = st_attach_system(&t->att, (pid_t)pid, false, msg, sizeof(msg));
		if (ret < 0)
			die_msg("not tracing PID %ld: %s", pid, msg);
		else
			files += ret;
	}
	closedir(d);
	free(t->sigs);
	t->sigs = fresh;
	t->nsigs = nfresh;
	return files;
}

/*
 * An embedder may load libpython with dlopen() long after its exec, and nothing tells the
 * reader when. System-wide, every process not yet known to run an attached interpreter is
 * looked at again if its size changed: a read of its maps, each mapped file judged once per
 * run (user/pyelf.c). The pass is spaced out by at least 50 times its own duration, so it
 * takes at most 2% of a CPU however many processes there are, and by 1 s at least.
 */
#define RESCAN_MIN_NS 1000000000ULL
#define RESCAN_SPACING 50

static void rescan_processes(struct tracer *t)
{
	__u64 start = now_mono_ns(), took;
	int nproc;

	if (start < t->next_rescan)
		return;
	if (attach_existing(t, &nproc, true) > 0 && t->opts->verbose)
		die_msg("attached to an interpreter loaded after its process started");
	took = now_mono_ns() - start;
	t->next_rescan = now_mono_ns() + (took * RESCAN_SPACING > RESCAN_MIN_NS
						  ? took * RESCAN_SPACING
						  : RESCAN_MIN_NS);
}

static int list_processes(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d) {
		die_msg("cannot read /proc: %s", strerror(errno));
		return 1;
	}
	printf("%-8s %-12s %-10s %-40s %s\n", "PID", "USER", "VERSION", "TRACE", "EXECUTABLE");
	while ((de = readdir(d))) {
		char *end, line[PATH_MAX + 512];
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (st_list_process((pid_t)pid, line, sizeof(line)) > 0)
			printf("%s\n", line);
	}
	closedir(d);
	return 0;
}

static void watch_semaphore(struct tracer *t, pid_t pid, const struct st_pyelf *py)
{
	__u64 addr;

	if (t->nsems < ST_MAX_PIDS && !st_semaphore_addr(pid, py, &addr)) {
		t->sems[t->nsems].pid = pid;
		t->sems[t->nsems].addr = addr;
		t->sems[t->nsems].alerted = false;
		t->nsems++;
	}
}

/*
 * The kernel raises the semaphore while the probe is attached; a process
 * that writes it back to 0 silences its own audit events. Say so, once.
 */
static void check_semaphores(struct tracer *t)
{
	for (int i = 0; i < t->nsems; i++) {
		unsigned v;
		char path[64], comm[ST_COMM_LEN] = "";
		FILE *f;

		if (t->sems[i].alerted || st_semaphore_read(t->sems[i].pid, t->sems[i].addr, &v) ||
		    v)
			continue;
		t->sems[i].alerted = true;
		snprintf(path, sizeof(path), "/proc/%d/comm", t->sems[i].pid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		st_output_alert(t->out, now_mono_ns(), (__u32)t->sems[i].pid, (__u32)t->sems[i].pid,
				comm,
				"the python:audit probe's semaphore was cleared in the process: its "
				"audit events are no longer reported");
	}
}

struct exec_ctx {
	struct tracer *t;
	char **cmd;
	int attached;
};

/* at_exec: stopped right after an exec, when what it links is not mapped yet. */
static int attach_command(pid_t pid, struct exec_ctx *x, bool at_exec)
{
	struct st_pyelf py;
	char err[PATH_MAX + 256];
	int ret = st_find_python(pid, at_exec ? ST_FIND_NEEDED : 0, &py, err, sizeof(err));

	if (ret == -ENOENT)
		return 0; /* not Python yet: a wrapper such as env or a shell */
	if (ret == 0 && x->t->opts->follow) {
		ret = st_attach_system(&x->t->att, pid, at_exec, err, sizeof(err));
		ret = ret < 0 ? ret : add_target(x->t, pid);
	} else if (ret == 0) {
		ret = st_attach_pid(&x->t->att, pid, &py, err, sizeof(err));
	}
	if (ret == 0)
		ret = trace_syscalls_of(x->t, pid);
	if (ret == 0)
		watch_semaphore(x->t, pid, &py);
	if (ret) {
		die_msg("%s", err);
		return ret;
	}
	x->attached = 1;
	fprintf(stderr, "seatrace: attached: PID %d, %s (CPython %s)\n", pid, x->cmd[0],
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

static void print_stats(struct tracer *t)
{
	static const char *const names[ST_STAT_MAX] = {
		[ST_STAT_FILTERED] = "filtered out in kernel",
		[ST_STAT_LOST] = "records lost (ring buffer full)",
		[ST_STAT_NAME_FAULT] = "unreadable event names",
		[ST_STAT_NO_LAYOUT] = "hits with no layout",
		[ST_STAT_SYS_LOST] = "syscall records lost",
		[ST_STAT_SYS_NOSLOT] = "syscalls not tracked (too many)",
		[ST_STAT_PROC_FILTERED] = "events of processes filtered out",
		[ST_STAT_EXEC_LOST] = "exec notices lost",
		[ST_STAT_BUSY] = "events lost (probe preempted)",
	};

	struct rusage ru;

	fprintf(stderr, "seatrace: %-32s %llu\n", "records received",
		(unsigned long long)t->received);
	fprintf(stderr, "seatrace: %-32s %llu\n", "records invalid", (unsigned long long)t->invalid);
	fprintf(stderr, "seatrace: %-32s %llu\n", "probe runs missed (CPU busy)",
		(unsigned long long)prog_misses(t));
	for (__u32 i = 0; i < ST_STAT_MAX; i++)
		fprintf(stderr, "seatrace: %-32s %llu\n", names[i],
			(unsigned long long)sum_stat(t->skel, i));
	/* The reader's own cost, apart from the traced command's. */
	if (!getrusage(RUSAGE_SELF, &ru))
		fprintf(stderr, "seatrace: %-32s %.3f s user, %.3f s system\n", "reader CPU time",
			ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
			ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
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
		die_msg("cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	t->skel->rodata->cfg_str_max = o->str_max;
	t->skel->rodata->cfg_wakeup_bytes = o->ring_size / 4;
	t->skel->rodata->cfg_nglobs = o->globs.nglobs;
	t->skel->rodata->cfg_have_include = o->globs.have_include;
	memcpy((void *)t->skel->rodata->cfg_globs, o->globs.globs, sizeof(o->globs.globs));
	memcpy((void *)t->skel->rodata->cfg_classes, o->globs.classes,
	       sizeof(o->globs.classes));
	bpf_map__set_max_entries(t->skel->maps.events, (__u32)o->ring_size);
	bpf_map__set_max_entries(t->skel->maps.scratch_map, (__u32)libbpf_num_possible_cpus());
	bpf_program__set_autoload(o->floor ? t->skel->progs.audit : t->skel->progs.audit_floor,
				  false);
	t->skel->rodata->cfg_syscalls = o->syscalls;
	st_syscalls_bits((__u64 *)t->skel->rodata->cfg_sys_bits);
	t->skel->rodata->cfg_follow = o->follow;
	/* The kernel knows the default pairs' names; user rules need frames for every event. */
	t->skel->rodata->cfg_frames_all = o->npairs > 0 && !o->no_pair;
	t->watch_exec = system_wide || o->follow;
	t->skel->rodata->cfg_watch_exec = t->watch_exec;
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
	bpf_program__set_autoload(t->skel->progs.proc_exit,
				  o->syscalls || o->follow || t->watch_exec);
	bpf_program__set_autoload(t->skel->progs.proc_exec, t->watch_exec);
	err = seatrace_bpf__load(t->skel);
	if (err) {
		die_msg("cannot load the BPF programs: %s (run with -v for the verifier's log)",
			strerror(-err));
		return -1;
	}
	t->att.skel = t->skel;
	t->att.floor = o->floor;
	if (o->cgroup) {
		__u32 zero = 0;
		int cfd = open(o->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (cfd < 0 || bpf_map_update_elem(bpf_map__fd(t->skel->maps.cgroup_filter), &zero,
						   &cfd, BPF_ANY)) {
			die_msg("cannot use cgroup %s: %s (give a cgroup v2 directory, such as "
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
			struct bpf_link *l;

			if (!bpf_program__autoload(progs[i]))
				continue;
			l = bpf_program__attach(progs[i]);

			if (!l || t->att.nlinks >= ST_MAX_LINKS) {
				die_msg("cannot attach %s: %s", bpf_program__name(progs[i]),
					strerror(errno));
				bpf_link__destroy(l);
				return -1;
			}
			t->att.links[t->att.nlinks++] = l;
		}
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
	int child_status = 0, exit_code = 1, err, stopping = 0, sig_seen = 0;
	FILE *outf = stdout;

	for (int i = 0; i < ST_MAX_PIDS; i++)
		pidfds[i] = -1;
	err = st_cli_parse(argc, argv, &opts, 0);
	if (err)
		return err > 0 ? 0 : err == -EINVAL ? ST_EXIT_USAGE : 1;
	if (opts.list_events) {
		st_events_list(stdout, opts.json);
		return 0;
	}
	bool system_wide = !opts.npids && !opts.cmd && !opts.list;
	verbose = opts.verbose;
	libbpf_set_print(libbpf_print);

	if (check_privileges(&opts))
		return 1;
	if (opts.list)
		return list_processes();
	if (check_btf())
		return 1;
	if (opts.output) {
		outf = fopen(opts.output, "we");
		if (!outf) {
			die_msg("cannot write %s: %s", opts.output, strerror(errno));
			return 1;
		}
	}
	/* Check -p targets before loading anything, so a typo costs nothing. */
	struct st_pyelf pys[ST_MAX_PIDS];

	for (int i = 0; i < opts.npids; i++) {
		char msg[PATH_MAX + 256];

		if (st_find_python(opts.pids[i], ST_FIND_NEEDED, &pys[i], msg, sizeof(msg))) {
			die_msg("%s", msg);
			goto cleanup;
		}
		pidfds[i] = (int)syscall(SYS_pidfd_open, opts.pids[i], 0);
		if (pidfds[i] < 0) {
			die_msg("PID %d: %s", opts.pids[i], strerror(errno));
			goto cleanup;
		}
		npidfds++;
	}

	if (load_bpf(&t, system_wide))
		goto cleanup;

	oo.fmt = opts.json ? ST_FMT_JSON : ST_FMT_TEXT;
	oo.out = outf;
	oo.mono_to_real_ns = mono_to_real_ns();
	t.out = st_output_new(&oo);
	if (!t.out) {
		die_msg("cannot set up output: %s", strerror(errno));
		goto cleanup;
	}
	if (!opts.no_pair) {
		t.pairer = st_pairer_new();
		if (!t.pairer) {
			die_msg("cannot set up pairing: %s", strerror(errno));
			goto cleanup;
		}
		/* User rules first: they take precedence over the defaults (checked by the cli). */
		for (int i = 0; i < opts.npairs; i++) {
			err = st_pairer_add_rule(t.pairer, opts.pairs[i], NULL);
			if (err) {
				die_msg("cannot set up pairing: %s", strerror(-err));
				goto cleanup;
			}
		}
		st_pairer_add_defaults(t.pairer);
	}
	t.rb = st_ring_new(bpf_map__fd(t.skel->maps.events), on_record, &t);
	if (!t.rb) {
		die_msg("cannot open the ring buffer: %s", strerror(errno));
		goto cleanup;
	}

	/* Signals arrive through a signalfd; the command gets the mask it would have had. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		die_msg("signalfd: %s", strerror(errno));
		goto cleanup;
	}

	for (int i = 0; i < opts.npids; i++) {
		char msg[PATH_MAX + 256];

		/* With --follow, children may run any interpreter: attach per file, filter by target. */
		err = opts.follow ? st_attach_system(&t.att, opts.pids[i], false, msg, sizeof(msg))
				  : st_attach_pid(&t.att, opts.pids[i], &pys[i], msg, sizeof(msg));
		if (err < 0 || (opts.follow && add_target(&t, opts.pids[i]))) {
			if (err < 0)
				die_msg("%s", msg);
			goto cleanup;
		}
		if (trace_syscalls_of(&t, opts.pids[i]))
			goto cleanup;
		watch_semaphore(&t, opts.pids[i], &pys[i]);
		fprintf(stderr, "seatrace: attached: PID %d, %s (CPython %s)\n", opts.pids[i],
			pys[i].file[0] ? pys[i].file : pys[i].path,
			pys[i].version[0] ? pys[i].version : "?");
	}
	if (opts.cmd) {
		struct exec_ctx x = { .t = &t, .cmd = opts.cmd };

		child = st_launch(opts.cmd, &oldmask);
		if (child < 0) {
			exit_code = child == -ENOENT ? 127 : 126;
			child = 0;
			goto cleanup;
		}
		err = st_launch_release(child, at_exec, at_poll, &x, &child_status);
		if (err < 0) {
			child = 0;
			goto cleanup;
		}
		if (err == 0) {
			die_msg("'%s' ended without running a Python that has the audit probe",
				opts.cmd[0]);
			child = 0;
			exit_code = WIFEXITED(child_status) ? WEXITSTATUS(child_status)
							    : 128 + WTERMSIG(child_status);
			goto cleanup;
		}
		pidfds[0] = (int)syscall(SYS_pidfd_open, child, 0);
		npidfds = pidfds[0] >= 0;
	}
	if (system_wide) {
		int nproc, files = attach_existing(&t, &nproc, false);

		if (files < 0) {
			die_msg("cannot scan /proc: %s", strerror(-files));
			goto cleanup;
		}
		fprintf(stderr,
			"seatrace: attached: %d interpreter file%s, %d processes scanned; new "
			"processes are traced as they start (Ctrl-C to stop)\n",
			files, files == 1 ? "" : "s", nproc);
		t.next_rescan = now_mono_ns() + RESCAN_MIN_NS;
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
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	for (int i = 0; i < npidfds; i++) {
		ev.data.fd = pidfds[i];
		epoll_ctl(epfd, EPOLL_CTL_ADD, pidfds[i], &ev);
	}

	/* System-wide, nothing ends the run but a signal. */
	live = system_wide ? 1 : npidfds;
	exit_code = 0;
	bool more = false; /* the last drain stopped on its budget: records are waiting */
	__u64 next_chores = 0;

	while (live > 0 && !stopping) {
		struct epoll_event evs[8];
		int n = epoll_wait(epfd, evs, 8, more ? 0 : WAIT_MS);

		if (n < 0 && errno != EINTR) {
			die_msg("epoll_wait: %s", strerror(errno));
			exit_code = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGCHLD)
						continue;
					/*
					 * With a command, the first signal is the command's to act
					 * on: Ctrl-C reached it through the terminal, others are
					 * passed on. Tracing goes on until it ends, or until a
					 * second signal.
					 */
					if (child && !sig_seen) {
						sig_seen = 1;
						if (si.ssi_signo != SIGINT)
							kill(child, (int)si.ssi_signo);
					} else {
						stopping = 1;
					}
				}
			} else if (fd != rbfd) {
				/* A traced process ended: its events are all in the ring by now. */
				epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
				t.budget = INT_MAX;
				st_ring_consume(t.rb);
				for (int k = 0; k < npidfds; k++)
					if (pidfds[k] == fd)
						drain_spans(&t, (__u32)(opts.cmd ? child : opts.pids[k]));
				live--;
			}
		}
		/* Stopping: detach first, then drain; the process may still be producing. */
		if (stopping)
			break;
		/* Wake-ups are batched in the kernel: always drain, whatever woke us. */
		t.budget = 65536;
		if (st_ring_consume(t.rb) == -EIO) {
			die_msg("the ring buffer holds a record longer than the ring: this "
				"kernel's ring layout is not the one seatrace reads; please "
				"report it with `uname -r`");
			exit_code = 1;
			break;
		}
		more = t.budget <= 0;
		/* Each chore costs system calls: once per wait period, not once per drain. */
		__u64 now = now_mono_ns();

		if (now >= next_chores) {
			next_chores = now + WAIT_MS * 1000000ULL;
			report_lost(&t);
			check_semaphores(&t);
		}
		if (system_wide)
			rescan_processes(&t);
		/* Lines are batched while records stream in; out they go whenever the ring is dry. */
		if (!t.out_err)
			t.out_err = st_output_flush(t.out);
		if (t.out_err) {
			die_msg("cannot write events: %s", strerror(-t.out_err));
			exit_code = 1;
			break;
		}
	}
	st_attach_detach_all(&t.att);
	/* Nothing new arrives once detached: drain all of it. */
	t.budget = INT_MAX;
	st_ring_consume(t.rb);
	report_lost(&t);
	drain_spans(&t, 0);
	if (st_output_flush(t.out) && exit_code == 0) {
		die_msg("cannot write events: %s", strerror(errno));
		exit_code = 1;
	}
	if (child) {
		if (stopping) {
			exit_code = 128 + SIGINT;
		} else if (waitpid(child, &child_status, 0) == child) {
			exit_code = WIFEXITED(child_status) ? WEXITSTATUS(child_status)
							    : 128 + WTERMSIG(child_status);
		}
		child = 0;
	}
	if (t.lost_reported)
		die_msg("%llu events lost (ring buffer full, or probe busy on a CPU): raise "
			"--buffer-size or narrow the events with -e/-x",
			(unsigned long long)t.lost_reported);
	if (opts.stats)
		print_stats(&t);

cleanup:
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	st_attach_detach_all(&t.att);
	st_ring_free(t.rb);
	if (t.out)
		st_output_free(t.out);
	st_pairer_free(t.pairer);
	free(t.sigs);
	seatrace_bpf__destroy(t.skel);
	for (int i = 0; i < ST_MAX_PIDS; i++)
		if (pidfds[i] >= 0)
			close(pidfds[i]);
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	if (outf && outf != stdout && fclose(outf) && !exit_code) {
		die_msg("cannot write %s: %s", opts.output, strerror(errno));
		exit_code = 1;
	}
	if (outf == stdout && fflush(stdout) && !exit_code)
		exit_code = 1;
	return exit_code;
}
