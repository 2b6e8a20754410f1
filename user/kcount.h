/* SPDX-License-Identifier: MIT */
/* -c / -C (issue 13): the kernel's count maps, set up before load and read into a summary. */
#ifndef SEATRACE_KCOUNT_H
#define SEATRACE_KCOUNT_H

#include <linux/types.h>

struct seatrace_bpf;
struct st_opts;
struct tracer;

/* Before load: the mode, and maps of one entry for what this run does not count. */
void st_kcount_setup(struct seatrace_bpf *skel, const struct st_opts *o);

/*
 * Reads the counts as they are now (tracing goes on), merges them and writes the summary
 * record to the output. 0, or a negative errno (said on stderr).
 */
int st_kcount_report(struct tracer *t, __u64 now_mono_ns);

#endif
