// SPDX-License-Identifier: MIT
/* The kernel side's counters (kstats.h). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <string.h>
#include <sys/resource.h>
#include "health.h"
#include "kstats.h"
#include "output.h"
#include "rulecount.h"
#include "strbuf.h"
#include "tracer.h"
#include "wire.h"
#include "seatrace.skel.h" /* after wire.h: its types */

__u64 st_kstat(struct seatrace_bpf *skel, __u32 idx)
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

__u64 st_kstat_prog_misses(struct seatrace_bpf *skel)
{
	/* The probe program and the uprobe fallback's: both deliver events. */
	struct bpf_program *progs[] = { skel->progs.audit, skel->progs.audit_floor,
					skel->progs.audit_fallback,
					skel->progs.audit_fallback_floor };
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

__u64 st_kstat_lost(struct seatrace_bpf *skel)
{
	return st_kstat(skel, ST_STAT_LOST) + st_kstat(skel, ST_STAT_SYS_LOST) +
	       st_kstat(skel, ST_STAT_BUSY) + st_kstat(skel, ST_STAT_OVERSIZE) +
	       st_kstat_prog_misses(skel);
}

__u64 st_kstat_notices_lost(struct seatrace_bpf *skel)
{
	return st_kstat(skel, ST_STAT_EXEC_LOST) + st_kstat(skel, ST_STAT_EXIT_LOST) +
	       st_kstat(skel, ST_STAT_FORK_LOST);
}

void st_kstat_print(FILE *f, struct seatrace_bpf *skel, __u64 received, __u64 invalid,
		    __u64 execs, __u64 exits)
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
		[ST_STAT_EXIT_LOST] = "exit notices lost",
		[ST_STAT_FORK_LOST] = "fork notices lost",
		[ST_STAT_OVERSIZE] = "events lost (record too large)",
		[ST_STAT_COUNT_FULL] = "events not counted (map full)",
		[ST_STAT_COUNT_NONAME] = "counted names not kept (map full)",
		[ST_STAT_COUNT_SYS_FULL] = "syscalls not counted (map full)",
		[ST_STAT_RATE_LIMITED] = "events rate-limited",
		[ST_STAT_RATE_NOSLOT] = "events not rate-limited (no slot)",
		[ST_STAT_ACT_KILL] = "kill rules fired",
		[ST_STAT_ACT_STOP] = "stop rules fired",
		[ST_STAT_ACT_LOST] = "action records lost",
		[ST_STAT_NAME_FROM_FILE] = "event names from the file",
	};
	struct rusage ru;

	fprintf(f, "seatrace: %-32s %llu\n", "records received", (unsigned long long)received);
	fprintf(f, "seatrace: %-32s %llu\n", "records invalid", (unsigned long long)invalid);
	fprintf(f, "seatrace: %-32s %llu\n", "exec notices received", (unsigned long long)execs);
	fprintf(f, "seatrace: %-32s %llu\n", "exit notices received", (unsigned long long)exits);
	fprintf(f, "seatrace: %-32s %llu\n", "probe runs missed (CPU busy)",
		(unsigned long long)st_kstat_prog_misses(skel));
	for (__u32 i = 0; i < ST_STAT_MAX; i++)
		fprintf(f, "seatrace: %-32s %llu\n", names[i], (unsigned long long)st_kstat(skel, i));
	/* The reader's own cost, apart from the traced command's. */
	if (!getrusage(RUSAGE_SELF, &ru))
		fprintf(f, "seatrace: %-32s %.3f s user, %.3f s system\n", "reader CPU time",
			ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
			ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

/* Interpreter files attached now, and the processes known to map them. */
static void count_attached(const struct st_attach *a, struct st_health *h)
{
	for (unsigned i = 0; a->slots && i < a->max_files; i++) {
		if (!a->slots[i].used)
			continue;
		h->files++;
		h->processes += a->slots[i].nprocs;
	}
}

void st_kstat_health_fill(struct tracer *t, __u64 uptime_ns, struct st_health *h)
{
	struct seatrace_bpf *skel = t->skel;
	struct rusage ru;

	memset(h, 0, sizeof(*h));
	h->uptime_ns = uptime_ns;
	h->delivered = t->rec.events;
	h->filtered_name = st_kstat(skel, ST_STAT_FILTERED);
	h->filtered_process = st_kstat(skel, ST_STAT_PROC_FILTERED);
	h->rate_limited = st_kstat(skel, ST_STAT_RATE_LIMITED);
	h->lost[ST_LOST_RING_FULL] = st_kstat(skel, ST_STAT_LOST);
	h->lost[ST_LOST_PROBE_PREEMPTED] = st_kstat(skel, ST_STAT_BUSY);
	h->lost[ST_LOST_PROBE_MISSED] = st_kstat_prog_misses(skel);
	h->syscalls = t->rec.syscalls;
	h->syscalls_lost = st_kstat(skel, ST_STAT_SYS_LOST);
	h->syscalls_untracked = st_kstat(skel, ST_STAT_SYS_NOSLOT);
	h->notices[ST_NOTICE_EXEC] = t->rec.execs;
	h->notices[ST_NOTICE_EXIT] = t->rec.exits;
	h->notices_lost[ST_NOTICE_EXEC] = st_kstat(skel, ST_STAT_EXEC_LOST);
	h->notices_lost[ST_NOTICE_EXIT] = st_kstat(skel, ST_STAT_EXIT_LOST);
	h->notices_lost[ST_NOTICE_FORK] = st_kstat(skel, ST_STAT_FORK_LOST);
	h->invalid = t->rec.invalid;
	h->name_faults = st_kstat(skel, ST_STAT_NAME_FAULT);
	h->names_from_file = st_kstat(skel, ST_STAT_NAME_FROM_FILE);
	h->actions_kill = st_kstat(skel, ST_STAT_ACT_KILL);
	h->actions_stop = st_kstat(skel, ST_STAT_ACT_STOP);
	h->actions_lost = st_kstat(skel, ST_STAT_ACT_LOST);
	h->rules = st_rulecount_read(t, &h->nrules);
	count_attached(&t->att, h);
	h->links = t->att.nlinks;
	h->files_attached = t->att.attached_total;
	h->files_released = t->att.released_total;
	h->limit_files = t->att.limit_files;
	h->limit_processes = t->att.limit_procs;
	if (!getrusage(RUSAGE_SELF, &ru)) {
		h->cpu_user_us = (__u64)ru.ru_utime.tv_sec * 1000000 + (__u64)ru.ru_utime.tv_usec;
		h->cpu_system_us = (__u64)ru.ru_stime.tv_sec * 1000000 + (__u64)ru.ru_stime.tv_usec;
	}
	st_output_sinks_health(t->rec.out, h);
}

int st_kstat_health(struct tracer *t, __u64 now_ns, __u64 start_ns, bool record)
{
	static int metrics_err; /* the last failure, said once until it changes */
	struct st_health h;
	int err = 0;

	st_kstat_health_fill(t, now_ns - start_ns, &h);
	if (record && t->rec.out) {
		err = st_output_stats(t->rec.out, now_ns, &h);
		/* As for any record: the first write error stops tracing (main.c). */
		if (err && !t->rec.out_err)
			t->rec.out_err = err;
	}
	if (t->opts->metrics) {
		struct strbuf sb;

		strbuf_init(&sb);
		err = st_health_prom(&sb, &h);
		if (!err)
			err = st_health_write_file(t->opts->metrics, sb.buf, sb.len);
		strbuf_release(&sb);
		if (err && err != metrics_err)
			st_say("cannot write the metrics file %s: %s (seatrace goes on, and tries "
			       "again at the next interval)",
			       t->opts->metrics, strerror(-err));
		else if (!err && metrics_err)
			st_say("metrics file %s written again", t->opts->metrics);
		metrics_err = err;
	}
	return err;
}
