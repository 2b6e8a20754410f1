// SPDX-License-Identifier: MIT
/*
 * The ring buffer's consumer, by the kernel's layout (kernel/bpf/ringbuf.c,
 * uapi BPF_RINGBUF_*): one writable page holding the consumer position, then
 * a read-only page holding the producer position, then the data pages,
 * mapped twice in a row so that a record wrapping past the end reads as one
 * piece. Each record starts with an 8-byte header whose first word is its
 * length, with a busy bit while the producer writes it and a discard bit
 * when it was dropped; records are 8-byte aligned.
 *
 * Why not libbpf's ring_buffer: it stores the consumer position after every
 * record. Every BPF program that reserves space reads that position, so
 * with the reader draining on one CPU while the traced process fires on
 * another, that line moved between the two CPUs once per event. Here it is
 * stored once per RELEASE_DIV-th of the ring, and at the end of a drain.
 *
 * A second, small ring carries the exec and exit notices, so that a flood
 * of events cannot crowd them out; it is read first, at every drain.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "ring.h"

/* Space handed back to the producer at least this often (a fraction of the ring). */
#define RELEASE_DIV 16
/* A long drain of the main ring looks at the notices this often (records). */
#define NOTICE_EVERY 64

/* One mapped ring. */
struct ring_map {
	unsigned long *consumer_pos;
	const unsigned long *producer_pos;
	const unsigned char *data;
	size_t mask; /* data size - 1; the size is a power of two */
	size_t release; /* bytes consumed between position stores */
};

/* A notice held until the main ring has been read up to `mark`. */
struct late_notice {
	unsigned long mark;
	size_t size;
	void *data;
};

struct st_ring {
	st_ring_fn fn;
	void *ctx;
	size_t page;
	struct ring_map main;
	/* The notices' ring (optional). */
	struct ring_map notices;
	st_ring_fn notice_fn, late_fn;
	struct late_notice *late; /* in the order read, so by increasing mark */
	size_t nlate, late_cap;
};

static int ring_map(struct ring_map *m, int map_fd, size_t page)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	void *p;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1)))
		return -EINVAL;
	m->mask = info.max_entries - 1;
	m->release = info.max_entries / RELEASE_DIV;
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	m->consumer_pos = p;
	/* The producer page, then the data twice over: read-only for user space. */
	p = mmap(NULL, page + 2 * (size_t)info.max_entries, PROT_READ, MAP_SHARED, map_fd,
		 (off_t)page);
	if (p == MAP_FAILED)
		return -errno;
	m->producer_pos = p;
	m->data = (const unsigned char *)p + page;
	return 0;
}

static void ring_unmap(struct ring_map *m, size_t page)
{
	if (m->consumer_pos)
		munmap(m->consumer_pos, page);
	if (m->producer_pos)
		munmap((void *)m->producer_pos, page + 2 * (m->mask + 1));
}

struct st_ring *st_ring_new(int map_fd, st_ring_fn fn, void *ctx)
{
	struct st_ring *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	r->fn = fn;
	r->ctx = ctx;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	err = ring_map(&r->main, map_fd, r->page);
	if (err) {
		st_ring_free(r);
		errno = -err;
		return NULL;
	}
	return r;
}

int st_ring_add_notices(struct st_ring *r, int map_fd, st_ring_fn fn, st_ring_fn late)
{
	int err = ring_map(&r->notices, map_fd, r->page);

	if (err) {
		ring_unmap(&r->notices, r->page);
		memset(&r->notices, 0, sizeof(r->notices));
		return err;
	}
	r->notice_fn = fn;
	r->late_fn = late;
	return 0;
}

/*
 * Reads ring m from its consumer position: every committed record to fn until it returns
 * non-zero (that record stays consumed). -EIO on an impossible header, else the records read.
 */
static long notice_record(struct st_ring *r, void *data, size_t size);

static long drain(struct ring_map *m, long (*fn)(struct st_ring *r, void *data, size_t size),
		  struct st_ring *r)
{
	/* The main ring, with notices to look at while a flood keeps it busy. */
	bool check = m == &r->main && r->notice_fn;
	unsigned long cons = __atomic_load_n(m->consumer_pos, __ATOMIC_ACQUIRE);
	unsigned long stored = cons, prod;
	long n = 0;
	int stop = 0, bad = 0;

	do {
		prod = __atomic_load_n(m->producer_pos, __ATOMIC_ACQUIRE);
		while (cons < prod && !stop) {
			const __u32 *hdr = (const __u32 *)(m->data + (cons & m->mask));
			__u32 word = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			__u32 size = word & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);

			/* Reserved but not committed yet: the records after it wait too. */
			if (word & BPF_RINGBUF_BUSY_BIT)
				goto out;
			/* Never from a sound kernel; nothing after it could be found. */
			if (size > m->mask + 1 - BPF_RINGBUF_HDR_SZ) {
				bad = 1;
				goto out;
			}
			if (!(word & BPF_RINGBUF_DISCARD_BIT)) {
				stop = fn(r, (void *)(hdr + 2), size) != 0;
				n++;
				/* An exec's interpreter is attached early, not after the flood. */
				if (check && !(n % NOTICE_EVERY))
					drain(&r->notices, notice_record, r);
			}
			cons += (BPF_RINGBUF_HDR_SZ + size + 7) & ~7UL;
			if (cons - stored >= m->release) {
				__atomic_store_n(m->consumer_pos, cons, __ATOMIC_RELEASE);
				stored = cons;
			}
		}
	} while (cons == prod && !stop &&
		 prod != __atomic_load_n(m->producer_pos, __ATOMIC_ACQUIRE));
out:
	if (cons != stored)
		__atomic_store_n(m->consumer_pos, cons, __ATOMIC_RELEASE);
	return bad ? -EIO : n;
}

static long main_record(struct st_ring *r, void *data, size_t size)
{
	return r->fn(r->ctx, data, size);
}

static long notice_record(struct st_ring *r, void *data, size_t size)
{
	struct late_notice *l;

	if (r->notice_fn(r->ctx, data, size) != ST_RING_LATER)
		return 0;
	if (r->nlate == r->late_cap) {
		size_t cap = r->late_cap ? 2 * r->late_cap : 64;
		struct late_notice *more = realloc(r->late, cap * sizeof(*more));

		if (!more)
			goto now;
		r->late = more;
		r->late_cap = cap;
	}
	l = &r->late[r->nlate];
	l->data = malloc(size);
	if (!l->data)
		goto now;
	memcpy(l->data, data, size);
	l->size = size;
	/* Every record committed before this notice was is below this position. */
	l->mark = __atomic_load_n(r->main.producer_pos, __ATOMIC_ACQUIRE);
	r->nlate++;
	return 0;
now:
	/* No memory to hold it: handled now rather than not at all. */
	r->late_fn(r->ctx, data, size);
	return 0;
}

/* The held notices whose mark the main ring's reader has passed (all of them: upto ~0). */
static void run_late(struct st_ring *r, unsigned long upto)
{
	size_t i = 0;

	while (i < r->nlate && r->late[i].mark <= upto) {
		r->late_fn(r->ctx, r->late[i].data, r->late[i].size);
		free(r->late[i].data);
		i++;
	}
	if (i) {
		memmove(r->late, r->late + i, (r->nlate - i) * sizeof(*r->late));
		r->nlate -= i;
	}
}

long st_ring_consume(struct st_ring *r)
{
	long n;

	/* Notices first: an exec's interpreter is attached before its events are read. */
	if (r->notice_fn && drain(&r->notices, notice_record, r) == -EIO)
		return -EIO;
	n = drain(&r->main, main_record, r);
	if (r->nlate)
		run_late(r, __atomic_load_n(r->main.consumer_pos, __ATOMIC_ACQUIRE));
	return n;
}

void st_ring_flush_late(struct st_ring *r)
{
	if (r && r->nlate)
		run_late(r, ~0UL);
}

void st_ring_free(struct st_ring *r)
{
	if (!r)
		return;
	ring_unmap(&r->main, r->page);
	ring_unmap(&r->notices, r->page);
	for (size_t i = 0; i < r->nlate; i++)
		free(r->late[i].data);
	free(r->late);
	free(r);
}
