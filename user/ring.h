/* SPDX-License-Identifier: MIT */
/*
 * The reading end of the BPF ring buffer. libbpf's consumer (1.1) publishes
 * its position after every record; this one does so once per stretch of
 * the ring, so the traced process's CPU does not fetch that cache line back
 * from the reader's on every event (see ring.c).
 */
#ifndef SEATRACE_RING_H
#define SEATRACE_RING_H

#include <stddef.h>

/* Called for each record; a non-zero return ends the drain after this record (it stays consumed). */
typedef int (*st_ring_fn)(void *ctx, void *data, size_t size);

struct st_ring;

/* Maps the ring of BPF_MAP_TYPE_RINGBUF `map_fd`. NULL and errno on failure. */
struct st_ring *st_ring_new(int map_fd, st_ring_fn fn, void *ctx);

/*
 * A second, small ring of notices (exec, exit), read before the main one at
 * every st_ring_consume(), in full: `fn` sees each notice at once. When fn
 * returns ST_RING_LATER, a copy of the notice goes to `late` once the main
 * ring has been read past every record committed before the notice was read
 * (an exit is handled after the process's last events). 0 or -errno.
 */
#define ST_RING_LATER 1
int st_ring_add_notices(struct st_ring *r, int map_fd, st_ring_fn fn, st_ring_fn late);

/*
 * Hands every record committed so far to the callback, notices first: how
 * many records of the main ring, or -EIO when a record's header is
 * impossible (no record after it can be found).
 */
long st_ring_consume(struct st_ring *r);

/* Hands every notice still held for later to `late` now (at the end of the run). */
void st_ring_flush_late(struct st_ring *r);

void st_ring_free(struct st_ring *r);

#endif
