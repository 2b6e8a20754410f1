/* SPDX-License-Identifier: MIT */
/*
 * What the rate limits' buckets (bpf/ratelimit.bpf.h) dropped, reported once: the kernel
 * keeps a running count per bucket; this remembers how much of each count was reported, so
 * each `lost` record says what is new. Pure bookkeeping, no BPF (the loader's ratelimit.c
 * reads the map).
 */
#ifndef SEATRACE_RATELOG_H
#define SEATRACE_RATELOG_H

#include <stdint.h>
#include <linux/types.h>
#include "wire.h"

struct st_ratelog;

/* Room for `max` buckets with drops. NULL and errno on failure. */
struct st_ratelog *st_ratelog_new(unsigned max);
void st_ratelog_free(struct st_ratelog *l);

/*
 * Bucket `k` has dropped `dropped` events since it was made: the number not reported yet
 * (remembered as reported now). A bucket made again (an LRU map forgot it) counts from 0:
 * a count below the one remembered is all new. Marks `k` as seen in `epoch`. 0 for a bucket
 * there is no room for: the caller reports it with what no bucket accounts for.
 */
uint64_t st_ratelog_delta(struct st_ratelog *l, const struct st_rl_key *k, uint64_t dropped,
			  uint32_t epoch);

/* Forgets the buckets not seen in `epoch` (gone from the map). */
void st_ratelog_sweep(struct st_ratelog *l, uint32_t epoch);

#endif
