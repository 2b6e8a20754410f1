/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP, for a daemon: the output file reopened (logrotate moved it away), and the
 * configuration file's event-name filters re-read and applied without detaching anything.
 * What cannot change while tracing is said, and kept as it was (loader: writes the BPF
 * object's filter settings).
 */
#ifndef SEATRACE_RELOAD_H
#define SEATRACE_RELOAD_H

#include "glob.h"
#include "sink.h"
#include "tracer.h"

/*
 * The event-name filters the BPF programs use from now on: written into the set not in use,
 * then switched to (see bpf/filter.bpf.h). Before or after the object is loaded.
 */
void st_filters_set(struct tracer *t, const struct st_globset *g);

/*
 * argfilt: the argument rules (bpf/rules.bpf.h) into the set st_filters_set() fills next.
 * Call it first, then st_filters_set(), whose switch of generation makes both take effect.
 */
struct st_krules;
void st_rules_set(struct tracer *t, const struct st_krules *k);
/* After load: the rules' @cgroup directories into their map. 0, or -1 after saying why. */
int st_rules_cgroups(struct tracer *t, const struct st_krules *k);

/* Reopens `sink` (when there is one), re-reads t->opts->config (when given). Says what it did. */
void st_reload(struct tracer *t, struct st_sink *sink);

#endif
