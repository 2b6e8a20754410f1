/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * -c / -C (issue 13): events counted in the kernel, per CPU, per (name, process), so that with
 * -c nothing per event crosses the ring. Called after the process filter and the name's
 * verdict (record.bpf.h), with the name already in the record's tail. Off (cfg_count == 0),
 * the verifier drops all of it.
 *
 * A name is known by its link-time address when it lies in the interpreter's read-only
 * segments (the name cache's key: a repeated event reads no string), else by a hash of its
 * bytes (sys.audit()'s names, on the heap, are read anyway). Its bytes are kept once per key
 * in count_names for the reader. A key whose address now holds another name (a layout slot
 * taken by another build once the first was released) falls back to the hash: the reader
 * merges by name, so the counts stay right. A full map is counted, never silent.
 */
#ifndef SEATRACE_COUNT_BPF_H
#define SEATRACE_COUNT_BPF_H

#include "common.bpf.h"
#include "decode.bpf.h"

/* enum st_count_mode: off, -c (counted, no record), -C (counted and written). */
ST_SHARED const volatile __u32 cfg_count;
/* -c with nothing else to judge an event by (no argument rules, no -S): count_fast(). */
ST_SHARED const volatile __u32 cfg_count_fast;
/*
 * Bumped by every task's exit and every exec on the host (bpf/syscalls.bpf.c), and when a
 * layout slot takes another file (user/attach.c), so the probe's program can tell a task it
 * remembers from a new one on the same kernel stack, or the same task running a new program
 * (probe.bpf.c, task_site()).
 */
ST_SHARED volatile __u64 cfg_task_gen;

/* Sized by user space: one entry each when not counting. */
ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, ST_COUNT_MAX_KEYS);
	__type(key, struct st_count_key);
	__type(value, struct st_count_val);
} counts SEC(".maps");

struct count_name {
	__u8 name[ST_NAME_MAX]; /* NUL-terminated, bytes after the NUL undefined */
};

ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ST_COUNT_MAX_NAMES);
	__type(key, __u64);
	__type(value, struct count_name);
} count_names SEC(".maps");

struct count_hash_ctx {
	const __u8 *s;
	__u32 len;
	__u64 h;
};

/* One word of the name per iteration; the last one masked to the name's length. */
static long count_hash_cb(__u32 i, void *data)
{
	struct count_hash_ctx *c = data;
	__u32 off = i * 8, rem;
	__u64 w;

	if (off >= c->len || off > ST_NAME_MAX - 8)
		return 1;
	w = *(const __u64 *)(c->s + (off & (ST_NAME_MAX - 8)));
	rem = c->len - off;
	if (rem < 8)
		w &= (1ULL << (rem * 8)) - 1;
	c->h = (c->h ^ w) * 0x9E3779B97F4A7C15ULL;
	c->h ^= c->h >> 29;
	return 0;
}

static __always_inline __u64 count_hash(const __u8 *s, __u32 len)
{
	struct count_hash_ctx c = { .s = s, .len = len, .h = 0xcbf29ce484222325ULL ^ len };

	bpf_loop(ST_NAME_MAX / 8, count_hash_cb, &c, 0);
	c.h *= 0xff51afd7ed558ccdULL;
	c.h ^= c.h >> 33;
	return c.h | ST_COUNT_HASHED;
}

/* Whether the kept name (NUL-terminated) is `s` (len bytes): its first 64 bytes compared. */
static __always_inline int count_same_name(const struct count_name *kept, const __u8 *s, __u32 len)
{
	const __u64 *a = (const __u64 *)kept->name, *b = (const __u64 *)s;

#pragma unroll
	for (int i = 0; i < 8; i++) {
		__u32 off = i * 8, rem;
		__u64 mask = ~0ULL;

		if (off > len)
			break;
		rem = len + 1 - off; /* the NUL included */
		if (rem < 8)
			mask = (1ULL << (rem * 8)) - 1;
		if ((a[i] ^ b[i]) & mask)
			return 0;
	}
	return 1;
}

_Static_assert(__builtin_offsetof(struct scratch, cc) == 0,
	       "the reader finds the count cache at the start of each CPU's scratch");

/*
 * The key and a new entry's value live in the CPU's scratch, past the record's room (unused
 * until a record is built, after counting): the fallback's program is short of stack.
 */
struct count_tmp {
	struct st_count_key k;
	struct st_count_val nv;
};

static __always_inline void count_stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
}

/* A cache slot's counts into the hash: another key takes its place. */
static __always_inline void count_flush(struct count_tmp *t, const struct st_count_slot *sl)
{
	struct st_count_val *v;

	t->k.name = sl->name;
	t->k.tgid = sl->tgid;
	t->k._pad = 0;
	v = bpf_map_lookup_elem(&counts, &t->k);
	if (v) {
		/* This CPU's share: one program run at a time on it (rec_scratch()'s mark). */
		v->count += sl->count;
		if (!v->first_ns || sl->first_ns < v->first_ns)
			v->first_ns = sl->first_ns;
		if (sl->last_ns > v->last_ns)
			v->last_ns = sl->last_ns;
		return;
	}
	t->nv.count = sl->count;
	t->nv.first_ns = sl->first_ns;
	t->nv.last_ns = sl->last_ns;
	if (bpf_map_update_elem(&counts, &t->k, &t->nv, BPF_ANY))
		count_stat_add(ST_STAT_COUNT_FULL, sl->count);
}

/*
 * The key a name is counted under, its bytes kept once: `key` unless another name is kept
 * under that address (then the hash of the bytes). On a cache miss only.
 */
static __always_inline __u64 count_key_kept(__u64 key, const __u8 *name, __u32 len)
{
	struct count_name *kept = bpf_map_lookup_elem(&count_names, &key);
	long err;

	if (kept) {
		if ((key & ST_COUNT_HASHED) || count_same_name(kept, name, len))
			return key;
		key = count_hash(name, len);
		if (bpf_map_lookup_elem(&count_names, &key))
			return key;
	}
	err = bpf_map_update_elem(&count_names, &key, name, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU's, meanwhile */)
		stat_inc(ST_STAT_COUNT_NONAME);
	return key;
}

static __always_inline struct st_count_slot *count_slot(struct st_count_cache *c, __u64 key,
							__u32 tgid)
{
	__u64 h = (key ^ ((__u64)tgid << 32)) * 0x9E3779B97F4A7C15ULL;

	return &c->s[(h >> 58) & (ST_COUNT_CACHE - 1)];
}

/* One more event for a slot of the cache; the clock read once a tick per key. */
static __always_inline void count_slot_hit(struct st_count_slot *sl, __u64 tick)
{
	sl->count++;
	/* The clock costs more than the rest of the count (~35 ns a read, kernel-ab.py). */
	if (sl->last_tick != tick) {
		sl->last_tick = tick;
		sl->last_ns = bpf_ktime_get_ns();
	}
}

/*
 * -c alone, in the probe's program, before anything else is done with the event: when its
 * (name, process) holds a slot of this CPU's cache taken or last counted under the filters in
 * force, the filters kept that name then (a slot is only ever taken for a kept event) and
 * keep it now: counted at once, without the name cache or a verdict. 1 when counted. `at`
 * is the name's link-time address.
 */
static __always_inline int count_fast(struct scratch *sc, struct st_layout *lo, __u32 slot,
				      __u64 at, __u32 tgid)
{
	struct st_count_slot *sl;
	__u64 key;

	if (at < lo->ro_lo || at >= lo->ro_hi || at >= (1ULL << 48))
		return 0;
	key = (__u64)(slot + 1) << 48 | at;
	sl = count_slot(&sc->cc, key, tgid);
	if (!sl->count || sl->name != key || sl->tgid != tgid || sl->gen != cfg_filter_gen)
		return 0;
	count_slot_hit(sl, bpf_jiffies64());
	return 1;
}

/*
 * One event kept by the filters, counted: `at` is the link-time address of its name in the
 * process (~0 when it has none there, as a name built from a str object), the name is in
 * the record in the scratch.
 */
static __always_inline void count_event_body(struct scratch *sc, struct st_layout *lo, __u32 slot,
					     __u64 at, __u64 id)
{
	struct st_event *e = (struct st_event *)sc->buf;
	__u32 len = e->name_len & (ST_NAME_MAX - 1), tgid = id >> 32;
	__u64 tick = bpf_jiffies64(), key;
	struct st_count_cache *c = &sc->cc;
	struct st_count_slot *sl;
	int ro = at >= lo->ro_lo && at < lo->ro_hi && at < (1ULL << 48);

	if (!c)
		goto out;
	if (ro)
		key = (__u64)(slot + 1) << 48 | at;
	else
		key = count_hash(e->tail, len);
	sl = count_slot(c, key, tgid);
	if (sl->count && sl->name == key && sl->tgid == tgid)
		goto hit;
	/* Owed by the name cache (record.bpf.h) for this event's name: only ever one from it. */
	if (cfg_count == ST_COUNT_ONLY && ro && sc->name_owed) {
		__u32 i = (sc->name_owed - 1) & (NC_SLOTS - 1);

		__builtin_memcpy(e->tail, sc->nc[i].name, NC_NAME);
		sc->name_owed = 0;
	}
	key = count_key_kept(key, e->tail, len);
	sl = count_slot(c, key, tgid);
	if (sl->count && sl->name == key && sl->tgid == tgid)
		goto hit;
	if (sl->count)
		count_flush((struct count_tmp *)&sc->buf[ST_REC_MAX], sl);
	sl->name = key;
	sl->tgid = tgid;
	sl->count = 1;
	sl->first_ns = sl->last_ns = bpf_ktime_get_ns();
	sl->last_tick = tick;
	goto arm;
hit:
	/* `last` is the first event of the last tick the key was seen in. */
	count_slot_hit(sl, tick);
arm:
	/*
	 * count_fast() may count the key's next events without a verdict only when this one's
	 * was made on its name as read (not left empty by a fault). ~0: not armed (a filter
	 * generation reaches it only after 2^32 reloads).
	 */
	if (cfg_count_fast)
		sl->gen = ro && sc->vok ? sc->vgen : ~0u;
out:
	/* -c -S: this process's syscalls are counted from its first event on, as recorded. */
	if (cfg_count == ST_COUNT_ONLY && cfg_syscalls)
		trace_syscalls_here(tgid);
}

/*
 * The probe's program has stack to spare and inlines the body (a call and its return cost
 * about as much as the count itself on a kernel with return thunks); the fallback's, which
 * has none, calls it as a function of its own.
 */
#ifdef ST_COUNT_INLINE
#define count_event count_event_body
#else
static __noinline __attribute__((unused)) void count_event(struct scratch *sc, struct st_layout *lo,
							   __u32 slot, __u64 at, __u64 id)
{
	count_event_body(sc, lo, slot, at, id);
}
#endif

#endif /* SEATRACE_COUNT_BPF_H */
