/* SPDX-License-Identifier: MIT */
/*
 * The wall clock of records stamped with CLOCK_MONOTONIC: the offset to CLOCK_REALTIME,
 * re-derived at most every ST_WALLCLOCK_PERIOD_NS when asked, so that an NTP step, a date(1)
 * or a suspend (CLOCK_MONOTONIC stops while suspended, the wall clock does not) shows in the
 * timestamps of the records read after it instead of skewing every later one.
 */
#ifndef SEATRACE_WALLCLOCK_H
#define SEATRACE_WALLCLOCK_H

#include <stdint.h>
#include <time.h>

#define ST_WALLCLOCK_PERIOD_NS 1000000000LL

typedef int (*st_gettime_fn)(clockid_t clk, struct timespec *ts);

struct st_wallclock {
	int64_t offset;	 /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	int64_t next_ns; /* CLOCK_MONOTONIC time of the next re-derivation */
	st_gettime_fn gettime;
};

/* Derives the offset now; gettime NULL: clock_gettime(). */
void st_wallclock_init(struct st_wallclock *w, st_gettime_fn gettime);
/* Re-derives the offset when the period has passed (or force); the offset. */
int64_t st_wallclock_update(struct st_wallclock *w, int force);

#endif /* SEATRACE_WALLCLOCK_H */
