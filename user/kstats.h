/* SPDX-License-Identifier: MIT */
/* The kernel side's counters: what it filtered, and every event it could not deliver. */
#ifndef SEATRACE_KSTATS_H
#define SEATRACE_KSTATS_H

#include <stdio.h>
#include <linux/types.h>

struct seatrace_bpf;

/* One counter of the `stats` map (ST_STAT_*), summed over the CPUs. */
__u64 st_kstat(struct seatrace_bpf *skel, __u32 idx);

/*
 * Events the kernel skipped because a BPF program was already running on
 * that CPU (the traced thread was preempted inside the probe): counted by
 * the kernel per program, not by ours.
 */
__u64 st_kstat_prog_misses(struct seatrace_bpf *skel);

/* Every event not delivered, whatever the cause. */
__u64 st_kstat_lost(struct seatrace_bpf *skel);

/* Exec and exit notices not delivered (their own ring was full). */
__u64 st_kstat_notices_lost(struct seatrace_bpf *skel);

/* --stats: the kernel's counters, the reader's (records, notices) and its CPU time, on `f`. */
void st_kstat_print(FILE *f, struct seatrace_bpf *skel, __u64 received, __u64 invalid,
		    __u64 execs, __u64 exits);

#endif
