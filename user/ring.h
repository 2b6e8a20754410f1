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
 * Hands every record committed so far to the callback: how many, or -EIO
 * when a record's header is impossible (no record after it can be found).
 */
long st_ring_consume(struct st_ring *r);

void st_ring_free(struct st_ring *r);

#endif
