// SPDX-License-Identifier: MIT
/* CLOCK_MONOTONIC to wall clock, re-derived periodically (wallclock.h). */
#include "wallclock.h"

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* Monotonic, real, monotonic: the real reading is paired with the midpoint of the two. */
static void derive(struct st_wallclock *w)
{
	struct timespec m1, r, m2;
	int64_t mid;

	if (w->gettime(CLOCK_MONOTONIC, &m1) || w->gettime(CLOCK_REALTIME, &r) ||
	    w->gettime(CLOCK_MONOTONIC, &m2))
		return; /* keep the last offset */
	mid = ns_of(&m1) + (ns_of(&m2) - ns_of(&m1)) / 2;
	w->offset = ns_of(&r) - mid;
	w->next_ns = ns_of(&m2) + ST_WALLCLOCK_PERIOD_NS;
}

void st_wallclock_init(struct st_wallclock *w, st_gettime_fn gettime)
{
	w->gettime = gettime ? gettime : clock_gettime;
	w->offset = 0;
	w->next_ns = 0;
	derive(w);
}

int64_t st_wallclock_update(struct st_wallclock *w, int force)
{
	struct timespec m;

	if (force || (!w->gettime(CLOCK_MONOTONIC, &m) && ns_of(&m) >= w->next_ns))
		derive(w);
	return w->offset;
}
