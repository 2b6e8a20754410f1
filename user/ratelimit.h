/* SPDX-License-Identifier: MIT */
/*
 * The rate limits' drops (bpf/ratelimit.bpf.h) reported as `lost` records with reason
 * "rate-limited", per process and event (or rule), from the kernel's buckets (loader).
 */
#ifndef SEATRACE_RATELIMIT_H
#define SEATRACE_RATELIMIT_H

#include "tracer.h"

/* The rate limits' settings into the BPF object, before it is loaded. */
void st_ratelimit_setup(struct tracer *t);

/*
 * When the kernel dropped events over a limit since the last call: a record per bucket with
 * new drops, and one without a process for drops no bucket accounts for (a bucket the LRU
 * map forgot), so the records add up to the kernel's count. Cheap when nothing was dropped.
 */
void st_ratelimit_report(struct tracer *t);

/* Events dropped by the rate limits in all (reported or not). */
__u64 st_ratelimit_dropped(struct tracer *t);

void st_ratelimit_free(struct tracer *t);

#endif
