// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Syscall correlation and process tracking. Raw tracepoints on
 * sys_enter/sys_exit need no tracefs and see every syscall on the host, so
 * the cost for everyone else is one bitmap test on the syscall number and,
 * for the interesting numbers, one hash lookup on the process.
 *
 * Entry stashes the arguments (and the path or socket address they point
 * to, which may be gone by exit) per thread; exit writes one record with
 * the result and the thread's last audit event, kept by the audit program.
 */
#include "common.bpf.h"
#include "count.bpf.h"

/* Interesting syscall numbers, a bitmap set by userspace before load. */
const volatile __u64 cfg_sys_bits[8];
const volatile __u32 cfg_follow;

/* Whose execs and exits are told to the reader: enum st_watch. */
const volatile __u32 cfg_watch_exec;
/*
 * A command's process without --follow: stopped at each exec until the reader has attached to
 * what it runs (user/targets.c sends SIGCONT). Its parent is seatrace, which waits without
 * WUNTRACED: no job control sees the stop.
 */
const volatile __u32 cfg_exec_stop;

/* x86_64 numbers of the syscalls whose arguments point to strings or addresses. */
enum {
	NR_open = 2, NR_connect = 42, NR_sendto = 44, NR_sendmsg = 46, NR_bind = 49,
	NR_execve = 59, NR_truncate = 76, NR_chdir = 80, NR_rename = 82, NR_mkdir = 83,
	NR_rmdir = 84, NR_creat = 85, NR_link = 86, NR_unlink = 87, NR_symlink = 88,
	NR_chmod = 90, NR_chown = 92, NR_openat = 257, NR_mkdirat = 258, NR_fchownat = 260,
	NR_unlinkat = 263, NR_renameat = 264, NR_linkat = 265, NR_symlinkat = 266,
	NR_fchmodat = 268, NR_renameat2 = 316, NR_memfd_create = 319, NR_execveat = 322,
	NR_openat2 = 437,
};


struct pending {
	__u64 ts;
	__u64 args[6];
	__u32 nr;
	__u16 str_len[2];
	__u16 flags;
	__u16 _pad[3];
	__u8 str[2][ST_SYS_STR_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* syscalls in flight at once */
	__type(key, __u32);	   /* tid */
	__type(value, struct pending);
} pending SEC(".maps");

/* Where an entry is put together before it is stored: too big for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending);
} pending_build SEC(".maps");

/*
 * Records of the raw-tracepoint programs are built in buffers of their own. Those programs
 * are kept from re-entering only by a per-program guard, not by the one that keeps the
 * probe programs apart, so a syscall exit on a CPU where a preempted audit event is half
 * built must not write into the probe's scratch. One buffer per program and CPU.
 */
struct rec_buf {
	__u8 buf[2048];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_buf);
} sys_exit_buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_buf);
} exec_buf SEC(".maps");

/* -c/-C with -S: each syscall's exits counted by (number, errno), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, ST_COUNT_MAX_SYS); /* 1 when not counting (set before load) */
	__type(key, struct st_sys_count_key);
	__type(value, __u64);
} sys_counts SEC(".maps");

/* -c: the number of each syscall in flight, all its exit needs (no record is built). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* 1 when not counting */
	__type(key, __u32);	   /* tid */
	__type(value, __u32);	   /* nr */
} sys_count_nr SEC(".maps");

static __always_inline void sys_count(__u32 nr, __s64 ret)
{
	struct st_sys_count_key k = { .nr = nr, .err = ret < 0 && ret >= -4095 ? (__u32)-ret : 0 };
	__u64 one = 1, *v = bpf_map_lookup_elem(&sys_counts, &k);

	if (v)
		*v += 1;
	else if (bpf_map_update_elem(&sys_counts, &k, &one, BPF_ANY))
		stat_inc(ST_STAT_COUNT_SYS_FULL);
}

static __always_inline int sys_wanted(__u32 nr)
{
	__u32 w = nr >> 6;

	if (nr >= 512)
		return 0;
	/* Keep clang from folding the bound into the shift: the verifier needs it as is. */
	barrier_var(w);
	w &= 7;
	return (cfg_sys_bits[w] >> (nr & 63)) & 1;
}

/* Which arguments point to paths (or a socket address), by syscall. */
static __always_inline void str_args(__u32 nr, int *a0, int *a1, int *sock)
{
	*a0 = -1;
	*a1 = -1;
	*sock = 0;
	switch (nr) {
	case NR_open: case NR_creat: case NR_truncate: case NR_chmod: case NR_chown:
	case NR_mkdir: case NR_rmdir: case NR_unlink: case NR_chdir: case NR_execve:
	case NR_memfd_create:
		*a0 = 0;
		break;
	case NR_openat: case NR_openat2: case NR_mkdirat: case NR_unlinkat: case NR_fchmodat:
	case NR_fchownat: case NR_execveat:
		*a0 = 1;
		break;
	case NR_rename: case NR_link: case NR_symlink:
		*a0 = 0;
		*a1 = 1;
		break;
	case NR_renameat: case NR_renameat2: case NR_linkat:
		*a0 = 1;
		*a1 = 3;
		break;
	case NR_symlinkat:
		*a0 = 0;
		*a1 = 2;
		break;
	case NR_connect: case NR_bind: case NR_sendto: case NR_sendmsg:
		*sock = 1;
		break;
	}
}

static __always_inline void read_path(struct pending *p, int slot, __u64 uptr)
{
	long n;

	if (!uptr)
		return;
	n = bpf_probe_read_user_str(p->str[slot & 1], ST_SYS_STR_MAX, (const void *)uptr);
	if (n <= 0)
		return;
	p->str_len[slot & 1] = (__u16)(n - 1);
	if (n == ST_SYS_STR_MAX)
		p->flags |= slot ? ST_SF_STR1_TRUNC : ST_SF_STR0_TRUNC;
}

static __always_inline void read_sockaddr(struct pending *p, __u64 uptr, __u64 len)
{
	if (!uptr || !len)
		return;
	if (len > 128)
		len = 128;
	if (!bpf_probe_read_user(p->str[0], len & 255, (const void *)uptr))
		p->str_len[0] = (__u16)len;
	p->flags |= ST_SF_SOCKADDR;
}

SEC("raw_tp/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 nr = (__u32)ctx->args[1], zero = 0;
	__u64 id, a[6];
	struct pt_regs *regs, saved;
	struct pending *p;
	__u32 *mode, tgid, tid;
	int s0, s1, sock;

	if (!sys_wanted(nr))
		return 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	tid = (__u32)id;
	mode = bpf_map_lookup_elem(&traced, &tgid);
	if (!mode)
		return 0;
	if (*mode == ST_TRACE_EXEC && nr != NR_execve && nr != NR_execveat)
		return 0;
	if (cfg_count == ST_COUNT_ONLY) {
		if (bpf_map_update_elem(&sys_count_nr, &tid, &nr, BPF_ANY))
			stat_inc(ST_STAT_SYS_NOSLOT);
		return 0;
	}
	/* One read of the saved registers rather than one per argument. */
	regs = (struct pt_regs *)ctx->args[0];
	if (bpf_probe_read_kernel(&saved, sizeof(saved), regs))
		return 0;
	a[0] = saved.di;
	a[1] = saved.si;
	a[2] = saved.dx;
	a[3] = saved.r10;
	a[4] = saved.r8;
	a[5] = saved.r9;
	/* sendto/sendmsg on a connected socket name no address: nothing audited to match. */
	if (nr == NR_sendto && !a[4])
		return 0;
	p = bpf_map_lookup_elem(&pending_build, &zero);
	if (!p)
		return 0;
	__builtin_memset(p, 0, sizeof(*p) - sizeof(p->str));
	p->ts = bpf_ktime_get_ns();
	p->nr = nr;
	for (int i = 0; i < 6; i++)
		p->args[i] = a[i];
	str_args(nr, &s0, &s1, &sock);
	if (sock) {
		if (nr == NR_sendmsg) {
			/* struct msghdr: msg_name at 0, msg_namelen at 8 */
			__u64 name = 0;
			__u32 namelen = 0;

			bpf_probe_read_user(&name, 8, (const void *)a[1]);
			bpf_probe_read_user(&namelen, 4, (const void *)(a[1] + 8));
			if (!name)
				return 0;
			read_sockaddr(p, name, namelen);
		} else if (nr == NR_sendto) {
			read_sockaddr(p, a[4], a[5]);
		} else {
			read_sockaddr(p, a[1], a[2]);
		}
	}
	if (s0 >= 0)
		read_path(p, 0, a[s0 & 7]);
	if (s1 >= 0)
		read_path(p, 1, a[s1 & 7]);
	if (bpf_map_update_elem(&pending, &tid, p, BPF_ANY))
		stat_inc(ST_STAT_SYS_NOSLOT);
	return 0;
}

SEC("raw_tp/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct pending *p;
	struct last_audit *la;
	struct st_syscall *r;
	struct rec_buf *sc;
	__u32 off, n0, n1;

	if (cfg_count == ST_COUNT_ONLY) {
		__u32 *nr = bpf_map_lookup_elem(&sys_count_nr, &tid);

		if (nr) {
			sys_count(*nr, (__s64)ctx->args[1]);
			bpf_map_delete_elem(&sys_count_nr, &tid);
		}
		return 0;
	}
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p)
		return 0;
	if (cfg_count)
		sys_count(p->nr, (__s64)ctx->args[1]);
	sc = bpf_map_lookup_elem(&sys_exit_buf, &zero);
	if (!sc)
		goto out;
	r = (struct st_syscall *)sc->buf;
	r->type = ST_REC_SYSCALL;
	r->flags = p->flags;
	r->ts_ns = p->ts;
	r->dur_ns = bpf_ktime_get_ns() - p->ts;
	r->ret = (__s64)ctx->args[1];
	for (int i = 0; i < 6; i++)
		r->args[i] = p->args[i];
	r->pid = id >> 32;
	r->tid = tid;
	r->nr = p->nr;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	la = bpf_map_lookup_elem(&last_audit, &tid);
	if (la) {
		r->audit_ts = la->ts;
		r->flags |= la->flags;
		__builtin_memcpy(r->audit_name, la->name, sizeof(r->audit_name));
	} else {
		r->audit_ts = 0;
		r->flags |= ST_SF_NO_AUDIT;
		__builtin_memset(r->audit_name, 0, sizeof(r->audit_name));
	}
	off = sizeof(*r);
	n0 = p->str_len[0] & (ST_SYS_STR_MAX - 1);
	n1 = p->str_len[1] & (ST_SYS_STR_MAX - 1);
	r->str_len[0] = (__u16)n0;
	r->str_len[1] = (__u16)n1;
	bpf_probe_read_kernel(&sc->buf[off], n0, p->str[0]);
	off += n0;
	bpf_probe_read_kernel(&sc->buf[off & 1023], n1, p->str[1]);
	off += n1;
	r->size = off;
	if (ring_out(sc->buf, off & 2047))
		stat_inc(ST_STAT_SYS_LOST);
out:
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

/*
 * A new process of a traced one inherits the thread's last audit event, so
 * the child's execve is tied to the subprocess.Popen or os.system that made
 * it; the child is watched for its execs, or fully with --follow.
 */
SEC("raw_tp/sched_process_fork")
int proc_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ptid = BPF_CORE_READ(parent, pid);
	__u32 ctgid = BPF_CORE_READ(child, tgid), ctid = BPF_CORE_READ(child, pid);
	__u32 *mode, m;
	struct last_audit *la;

	if (ctgid == ptgid)
		return 0; /* a new thread */
	/* --follow: the child of a target is a target. */
	if (cfg_follow && bpf_map_lookup_elem(&targets, &ptgid)) {
		__u32 one = 1;
		struct st_fork f = { .type = ST_REC_FORK, .size = sizeof(f), .pid = ctgid,
				     .ppid = ptgid, .ptid = ptid };

		bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY);
		/* The child inherits the forking thread's open calls (user/pair.h). */
		f.ts_ns = bpf_ktime_get_ns();
		if (ring_out(&f, sizeof(f)))
			stat_inc(ST_STAT_FORK_LOST);
	}
	if (!cfg_syscalls)
		return 0;
	mode = bpf_map_lookup_elem(&traced, &ptgid);
	if (!mode)
		return 0;
	m = cfg_follow ? ST_TRACE_ALL : ST_TRACE_EXEC;
	bpf_map_update_elem(&traced, &ctgid, &m, BPF_ANY);
	la = bpf_map_lookup_elem(&last_audit, &ptid);
	if (la) {
		struct last_audit copy = *la;

		copy.flags |= ST_SF_INHERITED;
		bpf_map_update_elem(&last_audit, &ctid, &copy, BPF_ANY);
	}
	return 0;
}

SEC("raw_tp/sched_process_exit")
int proc_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	bool target = false;

	/* Every task, before its kernel stack can go to another (probe.bpf.c). */
	__sync_fetch_and_add(&cfg_task_gen, 1);

	/* Gone before its pid can be reused: a new process under that pid is no target. */
	if (cfg_watch_exec == ST_WATCH_TARGETS && tid == tgid) {
		target = bpf_map_lookup_elem(&targets, &tgid) != NULL;
		if (target)
			bpf_map_delete_elem(&targets, &tgid);
	}
	/*
	 * Say when a watched process ends, so its open spans are closed then, and a new process
	 * that reuses its pid is not taken for it.
	 */
	if (tid == tgid && (cfg_watch_exec == ST_WATCH_ALL ||
			    (cfg_watch_exec == ST_WATCH_TARGETS && target))) {
		struct st_exec x = { .type = ST_REC_EXIT, .size = sizeof(x), .pid = tgid };

		x.ts_ns = bpf_ktime_get_ns();
		notice_out(&x, sizeof(x), ST_STAT_EXIT_LOST);
	}
	if (!cfg_syscalls)
		return 0;
	/*
	 * Unconditionally: a thread may have noted an audit event in a process that has left
	 * `traced` since (an exec dropped its ST_TRACE_AUTO mark). A miss costs one lookup.
	 */
	bpf_map_delete_elem(&last_audit, &tid);
	bpf_map_delete_elem(&pending, &tid);
	if (tid == tgid)
		bpf_map_delete_elem(&traced, &tgid);
	return 0;
}

/*
 * A process marked at its first audit event (ST_TRACE_AUTO) that execs may no longer run
 * Python: it is marked again when the new program raises an event (its execve itself is
 * still recorded: the entry is kept per thread in `pending`).
 */
static __always_inline void untrace_at_exec(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, *mode;

	mode = bpf_map_lookup_elem(&traced, &tgid);
	if (mode && *mode == ST_TRACE_AUTO)
		bpf_map_delete_elem(&traced, &tgid);
}

/*
 * Every exec on the host, when watching for new interpreters: the reader
 * attaches to a binary it has not seen. A binary already attached needs
 * nothing: its probe is on the file, so the new process is traced from its
 * first event.
 */
SEC("raw_tp/sched_process_exec")
int proc_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	struct rec_buf *sc;
	struct st_exec *r;
	const char *fn;
	long n;

	/* A new program: its sites are not the ones remembered (probe.bpf.c). */
	__sync_fetch_and_add(&cfg_task_gen, 1);
	if (cfg_syscalls)
		untrace_at_exec();
	/* --follow: only a target's exec matters (the others' events are filtered out anyway). */
	if (cfg_watch_exec == ST_WATCH_TARGETS && !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	/* Before its new image runs a single instruction: on the way back to user space. */
	if (cfg_exec_stop)
		bpf_send_signal(19 /* SIGSTOP */);
	sc = bpf_map_lookup_elem(&exec_buf, &zero);
	if (!sc)
		return 0;
	r = (struct st_exec *)sc->buf;
	r->type = ST_REC_EXEC;
	r->ts_ns = bpf_ktime_get_ns();
	r->pid = tgid;
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	fn = BPF_CORE_READ(bprm, filename);
	n = bpf_probe_read_kernel_str(r->tail, ST_SYS_STR_MAX, fn);
	if (n <= 0)
		n = 1;
	r->filename_len = (__u16)(n - 1);
	r->size = sizeof(*r) + (__u32)(n - 1);
	/* On the notice ring, not behind a flood of events; the reader is woken at once. */
	notice_out(sc->buf, r->size & 1023, ST_STAT_EXEC_LOST);
	return 0;
}
