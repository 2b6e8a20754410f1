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
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "ring.h"

/* Space handed back to the producer at least this often (a fraction of the ring). */
#define RELEASE_DIV 16

struct st_ring {
	st_ring_fn fn;
	void *ctx;
	unsigned long *consumer_pos;
	const unsigned long *producer_pos;
	const unsigned char *data;
	size_t mask; /* data size - 1; the size is a power of two */
	size_t page;
	size_t release; /* bytes consumed between position stores */
};

struct st_ring *st_ring_new(int map_fd, st_ring_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct st_ring *r;
	void *p;
	int err;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1))) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fn = fn;
	r->ctx = ctx;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->mask = info.max_entries - 1;
	r->release = info.max_entries / RELEASE_DIV;

	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->consumer_pos = p;
	/* The producer page, then the data twice over: read-only for user space. */
	p = mmap(NULL, r->page + 2 * (size_t)info.max_entries, PROT_READ, MAP_SHARED, map_fd,
		 (off_t)r->page);
	if (p == MAP_FAILED)
		goto fail;
	r->producer_pos = p;
	r->data = (const unsigned char *)p + r->page;
	return r;
fail:
	err = errno;
	st_ring_free(r);
	errno = err;
	return NULL;
}

long st_ring_consume(struct st_ring *r)
{
	unsigned long cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	unsigned long stored = cons, prod;
	long n = 0;
	int stop = 0, bad = 0;

	do {
		prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
		while (cons < prod && !stop) {
			const __u32 *hdr = (const __u32 *)(r->data + (cons & r->mask));
			__u32 word = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			__u32 size = word & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);

			/* Reserved but not committed yet: the records after it wait too. */
			if (word & BPF_RINGBUF_BUSY_BIT)
				goto out;
			/* Never from a sound kernel; nothing after it could be found. */
			if (size > r->mask + 1 - BPF_RINGBUF_HDR_SZ) {
				bad = 1;
				goto out;
			}
			if (!(word & BPF_RINGBUF_DISCARD_BIT)) {
				stop = r->fn(r->ctx, (void *)(hdr + 2), size);
				n++;
			}
			cons += (BPF_RINGBUF_HDR_SZ + size + 7) & ~7UL;
			if (cons - stored >= r->release) {
				__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
				stored = cons;
			}
		}
	} while (cons == prod && !stop &&
		 prod != __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE));
out:
	if (cons != stored)
		__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
	return bad ? -EIO : n;
}

void st_ring_free(struct st_ring *r)
{
	if (!r)
		return;
	if (r->consumer_pos)
		munmap(r->consumer_pos, r->page);
	if (r->producer_pos)
		munmap((void *)r->producer_pos, r->page + 2 * (r->mask + 1));
	free(r);
}
