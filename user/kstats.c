// SPDX-License-Identifier: MIT
/* The kernel side's counters (kstats.h). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/resource.h>
#include "kstats.h"
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
