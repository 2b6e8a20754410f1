/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * What every BPF unit of seatrace shares: the ring buffer the records go
 * to, the statistics, the target processes, and the thread's last audit
 * event that syscall records name.
 *
 * The units (probe.bpf.c, fallback.bpf.c, syscalls.bpf.c) are compiled one
 * by one and linked into one object (bpftool gen object). A map or setting
 * more than one of them uses is declared once, in a header, with
 * ST_SHARED: the unit that defines ST_BPF_DEFINE before its includes
 * (probe.bpf.c) gets the definitions, the others extern declarations,
 * which the static linker resolves to them. The linked object is then laid
 * out as if it had been one file.
 */
#ifndef SEATRACE_COMMON_BPF_H
#define SEATRACE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "wire.h"

#ifdef ST_BPF_DEFINE
#define ST_SHARED
#define ST_INIT(...) = __VA_ARGS__
#else
#define ST_SHARED extern
#define ST_INIT(...)
#endif

/* Settings (cfg_*) are set by userspace before load. */

/* Wake the reader only once this much is waiting: a wake-up per event
 * would cost the traced process more than the probe itself. */
ST_SHARED const volatile __u64 cfg_wakeup_bytes ST_INIT(1 << 20);
/* Syscall correlation (-S) is on: the audit programs keep each thread's last event. */
ST_SHARED const volatile __u32 cfg_syscalls;

ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);   /* tgid */
	__type(value, __u32); /* 1 */
} targets SEC(".maps");

ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/*
 * Exec and exit notices have a ring of their own: a flood of events filling `events` must not
 * take them with it (a lost exec notice is an interpreter never attached). Sized by user space.
 */
ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} notices SEC(".maps");

ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct last_audit {
	__u64 ts;
	__u32 flags; /* ST_SF_INHERITED */
	__u32 _pad;
	char name[ST_SYS_AUDIT_NAME];
};

ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tid */
	__type(value, struct last_audit);
} last_audit SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

/*
 * Records that come in floods (events, syscalls) onto the ring. The reader
 * is woken when the backlog crosses the threshold, not on every record above
 * it: a reader that is already behind would otherwise be woken once per
 * record, at the traced process's expense. Between wake-ups it sleeps (it
 * waits edge-triggered) up to its timeout, so every such producer must wake
 * it so, or a flood of its records alone could fill the ring in between.
 */
static __always_inline long ring_out(void *data, __u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = avail < cfg_wakeup_bytes && avail + size >= cfg_wakeup_bytes
			      ? BPF_RB_FORCE_WAKEUP
			      : BPF_RB_NO_WAKEUP;

	return bpf_ringbuf_output(&events, data, size, flags);
}

/* Processes whose syscalls -S records (enum st_trace_mode); bpf/syscalls.bpf.c keeps it. */
ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);   /* tgid */
	__type(value, __u32); /* enum st_trace_mode */
} traced SEC(".maps");

/*
 * A process that raises an audit event the process filters let through runs an attached
 * interpreter: from then on its syscalls are recorded, whatever the mode (system-wide, -u,
 * --comm, --cgroup have no list of pids to start from). proc_exit() removes it.
 */
static __always_inline void trace_syscalls_here(__u32 tgid)
{
	__u32 *mode = bpf_map_lookup_elem(&traced, &tgid), m = ST_TRACE_AUTO;

	if (!mode || *mode == ST_TRACE_EXEC)
		bpf_map_update_elem(&traced, &tgid, &m, BPF_ANY);
}

/*
 * A notice onto its own ring, the reader woken at once (it must attach before the new process
 * raises its first events); a loss counted under `lost_stat`.
 */
static __always_inline void notice_out(void *data, __u64 size, __u32 lost_stat)
{
	if (bpf_ringbuf_output(&notices, data, size, BPF_RB_FORCE_WAKEUP))
		stat_inc(lost_stat);
}

/* Called by the audit program for every event of a traced thread, filtered or not. */
static __always_inline void note_audit(struct last_audit *la, __u32 tid, __u64 ts,
				       const __u8 *name)
{
	/* Built in the caller's scratch, not on the stack: the fallback's stack is full. */
	la->ts = ts;
	la->flags = 0;
	la->_pad = 0;
	__builtin_memcpy(la->name, name, sizeof(la->name) - 1);
	la->name[sizeof(la->name) - 1] = 0;
	bpf_map_update_elem(&last_audit, &tid, la, BPF_ANY);
	trace_syscalls_here(bpf_get_current_pid_tgid() >> 32);
}

#endif /* SEATRACE_COMMON_BPF_H */
