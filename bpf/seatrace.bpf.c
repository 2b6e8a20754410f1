// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * seatrace's BPF side: on CPython's python:audit probe, filter the event by
 * name, then walk the arguments tuple and write typed values into one
 * variable-length record (bpf/wire.h) on the ring buffer.
 *
 * Nothing about CPython's object layout is compiled in: every offset and
 * every type address comes from the `layouts` map slot named by the probe's
 * cookie, which userspace fills for each attached interpreter binary.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "wire.h"
#include "glob_match.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by userspace before load. */
const volatile __u32 cfg_str_max = ST_STR_DEFAULT;
/* Wake the reader only once this much is waiting: a wake-up per event
 * would cost the traced process more than the probe itself. */
const volatile __u64 cfg_wakeup_bytes = 1 << 20;
const volatile __u32 cfg_nglobs;
const volatile __u32 cfg_have_include;
/* Process filters (enum st_proc_filter) and their values. */
const volatile __u32 cfg_proc_filter;
const volatile __u32 cfg_uid;
const volatile char cfg_comm[ST_COMM_LEN];
/* Send an exec notice for every exec on the host (system-wide discovery). */
const volatile __u32 cfg_watch_exec;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);   /* tgid */
	__type(value, __u32); /* 1 */
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/* Capture the raising frame of every event (user-defined pairing rules), not only likely pairs. */
const volatile __u32 cfg_frames_all;
const volatile struct st_glob cfg_globs[ST_MAX_GLOBS];
const volatile struct st_class cfg_classes[ST_MAX_CLASSES];

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_MAX_LAYOUTS);
	__type(key, __u32);
	__type(value, struct st_layout);
} layouts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

#define HDR_SZ ((__u32)sizeof(struct st_event))
#define VAL_SZ ((__u32)sizeof(struct st_value))

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

/* ---- event-name filtering -------------------------------------------- */

/*
 * All patterns are tried in one bpf_loop(): one call site, one callback,
 * whatever the number of patterns. The matcher's state lives in map memory
 * so the verifier does not try to follow each position exactly.
 */
struct glob_state_all {
	struct st_glob_state st;
	__u32 g;	/* pattern being matched */
	__u32 included; /* an include pattern matched, or none exists */
	__u32 verdict;	/* 0 undecided, 1 keep, 2 drop */
};

struct glob_ctx {
	const __u8 *name;
	struct glob_state_all *gs;
	__u32 name_len;
};

static long glob_cb(__u32 i, void *data)
{
	struct glob_ctx *c = data;
	struct glob_state_all *gs = c->gs;
	__u32 g = gs->g;

	if (g >= cfg_nglobs || g >= ST_MAX_GLOBS) {
		gs->verdict = gs->included ? 1 : 2;
		return 1;
	}
	/* Once included, only excludes can change the verdict: skip includes. */
	if (!cfg_globs[g].exclude && gs->included) {
		gs->g = g + 1;
		st_glob_init(&gs->st);
		return 0;
	}
	if (!st_glob_step(&gs->st, &cfg_globs[g], cfg_classes, c->name, c->name_len))
		return 0;
	if (gs->st.result) {
		if (cfg_globs[g].exclude) {
			gs->verdict = 2;
			return 1;
		}
		gs->included = 1;
	}
	gs->g = g + 1;
	st_glob_init(&gs->st);
	return 0;
}

/* 1 to keep the event. Excludes win over includes, as in strace -e. */
static __always_inline int name_wanted(struct glob_state_all *gs, const __u8 *name,
				       __u32 name_len)
{
	struct glob_ctx c = { .name = name, .gs = gs, .name_len = name_len };

	gs->g = 0;
	gs->included = !cfg_have_include;
	gs->verdict = 0;
	st_glob_init(&gs->st);
	/* Each pattern needs at most st_glob_max_steps(), plus one step to move on. */
	bpf_loop(cfg_nglobs * (st_glob_max_steps(name_len, ST_GLOB_TOKENS) + 1) + 1, glob_cb, &c,
		 0);
	return gs->verdict == 1;
}

/* ---- argument decoding ------------------------------------------------ */

/*
 * Decoding is a pre-order walk with an explicit stack of frames, one frame
 * per container being expanded. Each bpf_loop() iteration writes at most
 * one value and has no inner loop, which keeps the verifier's work linear.
 */
enum frame_kind {
	FR_OBJ,	 /* one object: `base` is the object itself */
	FR_SEQ,	 /* `left` object pointers in user memory from `base`, `stride` apart */
	FR_DICT, /* dict entries from `base`, `stride` bytes each; key, then value */
};

/* Containers at depths 0 to ST_MAX_DEPTH are expanded, plus a code object's two names. */
#define MAX_FRAMES (ST_MAX_DEPTH + 2)
/*
 * Each object's first 48 bytes are read at once: type, size, str length and
 * state, small ints' digits and float values all sit there, so most values
 * cost one read instead of three or four.
 */
#define HEAD_WORDS 6

struct frame {
	__u64 base;
	__u64 vals;   /* split dict: its values array, else 0 */
	__u32 left;   /* children still to write */
	__u32 scan;   /* dict: entries looked at */
	__u32 nscan;  /* dict: entries that exist */
	__u16 stride;
	__u8 depth;   /* depth of the children */
	__u8 kind;
	__u8 phase;   /* dict: 0 key next, 1 value next */
	__u8 ninl;    /* seq: leading items already copied into inl[] */
	__u8 idx;     /* seq: items taken */
	__u64 inl[4]; /* a tuple's first items, from the head read: no read of their own */
};

/*
 * Decoder state. The counters live in map memory on purpose: the verifier
 * checks a bpf_loop() callback until its states converge, and counters it
 * could track exactly (on the stack) would differ at every iteration.
 */
struct dec_state {
	__u32 off;     /* bytes of the record written so far */
	__u32 fsp;     /* frames in use */
	__u32 owed;    /* values promised (headers written or root) but not yet written */
	__u32 budget;  /* values that may still be promised */
	__u32 nvalues; /* values written */
	__u32 rec_full;
	__u32 head_ok;
	__u64 head_of; /* the object head[] was read from, when it was read ahead (args_fast) */
	__u64 head[HEAD_WORDS]; /* the first bytes of the object being written */
	struct frame fr[MAX_FRAMES];
};

/*
 * Event names CPython's C code raises are literals in the interpreter's
 * read-only segments: the same address always holds the same name. Each CPU
 * remembers the last NC_SLOTS such names with what the filters decided, so a
 * repeated event costs no read of its name and no pattern matching. Names
 * raised from Python (sys.audit) live on the heap and are never kept.
 */
#define NC_SLOTS 64
#define NC_NAME 64 /* longer names are not kept */

enum nc_verdict {
	NC_KEEP = 1,
	NC_DROP,  /* filtered out */
	NC_ALERT, /* filtered out, but a tampering sign: kept, flagged */
};

struct name_ent {
	__u64 key; /* (slot + 1) << 48 | link-time address; 0: empty */
	__u16 len;
	__u8 verdict; /* enum nc_verdict */
	__u8 pair;    /* may_pair() */
	__u32 _pad;
	__u8 name[NC_NAME];
};

/*
 * Scratch, one slot per CPU: the record is built here, then copied to the
 * ring with only the bytes used. A plain array indexed by CPU rather than a
 * per-CPU array, whose values are limited to 32 KiB. A uprobe's programs
 * run with migration, not preemption, disabled: where the kernel preempts
 * them (preempt=full, RT), another thread's run may come between, so
 * rec_scratch() hands the slot to one run at a time.
 * The slack after ST_REC_MAX lets the verifier accept a masked offset plus
 * a bounded copy length.
 */
struct scratch {
	__u8 buf[ST_REC_MAX + 2 * ST_VALUE_MAX];
	struct dec_state st;
	struct glob_state_all gs;
	struct name_ent nc[NC_SLOTS];
	__u64 busy; /* a run is building a record here (rec_scratch); 64 bits: exchanged */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of possible CPUs before load */
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* What the callbacks get: pointers must stay on the stack to stay pointers. */
struct dec_ctx {
	struct scratch *sc;
	struct dec_state *s;
	struct st_layout *lo;
	__u64 bias;
};

static __always_inline __u64 rd64(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (const void *)addr);
	return v;
}

/* A word of the object's head when it was read whole, else a read of its own. */
static __always_inline __u64 field(struct dec_ctx *d, __u64 obj, __u16 off)
{
	__u32 i = off >> 3;

	if (d->s->head_ok && !(off & 7) && i < HEAD_WORDS)
		return d->s->head[i];
	return rd64(obj + off);
}

static __always_inline struct st_value *val_hdr(struct dec_ctx *d)
{
	return (struct st_value *)&d->sc->buf[d->s->off & (ST_REC_MAX - 1)];
}

/*
 * Payload bytes the value being written may use: what is left of the
 * record once its own header and one header per value still owed are set
 * aside, so a full record still closes every container it opened.
 */
static __always_inline __u32 room(struct dec_ctx *d)
{
	__u32 reserved = d->s->off + VAL_SZ + d->s->owed * VAL_SZ;

	if (reserved >= ST_REC_MAX)
		return 0;
	return ST_REC_MAX - reserved;
}

/* Copy `want` bytes of user memory after the header being written; returns bytes kept. */
static __always_inline __u32 copy_payload(struct dec_ctx *d, __u64 src, __u64 want)
{
	__u32 r = room(d), n;

	n = want > ST_VALUE_MAX ? ST_VALUE_MAX : (__u32)want;
	if (n > r) {
		n = r;
		d->s->rec_full = 1;
	}
	if (n == 0)
		return 0;
	/* Hide n from clang so the mask survives: the verifier needs it to bound the copy. */
	barrier_var(n);
	if (bpf_probe_read_user(&d->sc->buf[(d->s->off + VAL_SZ) & (ST_REC_MAX - 1)],
				n & (2 * ST_VALUE_MAX - 1), (const void *)src))
		return 0;
	return n;
}

static __always_inline void finish(struct dec_ctx *d, struct st_value *v, __u8 tag, __u8 flags,
				   __u32 len, __u32 nchild, __u64 total)
{
	v->tag = tag;
	v->flags = flags;
	v->len = (__u16)len;
	v->nchild = nchild;
	v->total = total;
	d->s->off += VAL_SZ + len;
	d->s->nvalues++;
	d->s->owed += nchild;
}

/* A frame for `n` children just promised by the value written last. */
static __always_inline void push_frame(struct dec_ctx *d, __u8 kind, __u64 base, __u64 vals,
				       __u32 n, __u32 nscan, __u16 stride, __u8 depth)
{
	__u32 i = d->s->fsp;
	struct frame *f;

	if (!n || i >= MAX_FRAMES)
		return;
	f = &d->s->fr[i];
	f->base = base;
	f->vals = vals;
	f->left = n;
	f->scan = 0;
	f->nscan = nscan;
	f->stride = stride;
	f->depth = depth;
	f->kind = kind;
	f->phase = 0;
	f->ninl = 0;
	f->idx = 0;
	d->s->fsp = i + 1;
}

/* Items (dict: pairs) a container may promise, given the value budget: `per` values each. */
static __always_inline __u32 take(struct dec_ctx *d, __u64 len, __u32 per)
{
	__u64 n = len > ST_MAX_ITEMS ? ST_MAX_ITEMS : len;

	if (n * per > d->s->budget)
		n = d->s->budget / per;
	d->s->budget -= n * per;
	return (__u32)n;
}

static __always_inline void emit_int(struct dec_ctx *d, __u64 obj, __u8 flags)
{
	struct st_layout *lo = d->lo;
	struct st_value *v = val_hdr(d);
	__u64 word = field(d, obj, lo->long_size), ndig;

	if (lo->flags & ST_LF_LONG_TAG) {
		/* lv_tag: bits 0-1 sign (0 +, 1 zero, 2 -), bit 2 immortal (3.14), size above. */
		ndig = word >> 3;
		if ((word & 3) == 2)
			flags |= ST_VF_NEG;
		if ((word & 3) == 1)
			ndig = 0;
	} else {
		__s64 size = (__s64)word;

		ndig = size < 0 ? -size : size;
		if (size < 0)
			flags |= ST_VF_NEG;
	}
	__u64 keep = ndig > ST_MAX_DIGITS ? ST_MAX_DIGITS : ndig;
	__u32 n;

	if (keep <= 2 && d->s->head_ok && lo->long_digits + 8 <= HEAD_WORDS * 8 && room(d) >= 8) {
		/* Up to 60 bits: the digits are in the head already. */
		*(__u64 *)&d->sc->buf[(d->s->off + VAL_SZ) & (ST_REC_MAX - 1)] =
			field(d, obj, lo->long_digits);
		n = (__u32)keep * 4;
	} else {
		n = copy_payload(d, obj + lo->long_digits, keep * 4) & ~3u;
	}

	if (n < ndig * 4)
		flags |= ST_VF_TRUNC;
	finish(d, v, ST_V_INT, flags, n, 0, ndig);
}

static __always_inline void emit_str(struct dec_ctx *d, __u64 obj, __u8 flags)
{
	struct st_layout *lo = d->lo;
	struct st_value *v = val_hdr(d);
	__u64 len = field(d, obj, lo->str_length);
	__u32 state = (__u32)field(d, obj, lo->str_state);
	__u32 kind = (state >> lo->str_kind_shift) & 7;
	__u64 data;

	if (kind != 1 && kind != 2 && kind != 4) {
		/* A <=3.11 string not made ready yet (wstr only): no canonical data. */
		finish(d, v, ST_V_FAULT, flags, 0, 0, 0);
		return;
	}
	if (state & lo->str_compact_bit)
		data = obj + ((state & lo->str_ascii_bit) ? lo->str_ascii_data : lo->str_compact_data);
	else
		data = field(d, obj, lo->str_legacy_data);

	__u64 keep = len > cfg_str_max ? cfg_str_max : len;
	__u32 n = copy_payload(d, data, keep * kind);

	n -= n % kind;
	if (n < len * kind)
		flags |= ST_VF_TRUNC;
	finish(d, v, ST_V_STR, flags | (kind << ST_VF_KIND_SHIFT), n, 0, len);
}

static __always_inline void emit_bytes(struct dec_ctx *d, __u64 obj, __u8 tag, __u8 flags)
{
	struct st_layout *lo = d->lo;
	struct st_value *v = val_hdr(d);
	__u64 size = field(d, obj, lo->ob_size);
	__u64 data = tag == ST_V_BYTES ? obj + lo->bytes_sval : field(d, obj, lo->bytearray_start);
	__u64 keep = size > cfg_str_max ? cfg_str_max : size;
	__u32 n = copy_payload(d, data, keep);

	if (n < size)
		flags |= ST_VF_TRUNC;
	finish(d, v, tag, flags, n, 0, size);
}

static __always_inline void emit_float(struct dec_ctx *d, __u64 obj, __u8 flags)
{
	struct st_value *v = val_hdr(d);
	__u32 n = 0;

	if (d->s->head_ok && d->lo->float_val + 8 <= HEAD_WORDS * 8 && room(d) >= 8) {
		*(__u64 *)&d->sc->buf[(d->s->off + VAL_SZ) & (ST_REC_MAX - 1)] =
			field(d, obj, d->lo->float_val);
		n = 8;
	} else {
		n = copy_payload(d, obj + d->lo->float_val, 8);
	}

	finish(d, v, n == 8 ? ST_V_FLOAT : ST_V_FAULT, flags, n == 8 ? 8 : 0, 0, 0);
}

static __always_inline void emit_seq(struct dec_ctx *d, __u64 obj, __u8 tag, __u8 flags,
				     __u8 depth)
{
	struct st_layout *lo = d->lo;
	struct st_value *v = val_hdr(d);
	__u64 len = field(d, obj, lo->ob_size), items;
	__u32 n;

	if (depth > ST_MAX_DEPTH) {
		finish(d, v, tag, flags | (len ? ST_VF_TRUNC | ST_VF_DEPTH : 0), 0, 0, len);
		return;
	}
	n = take(d, len, 1);
	items = tag == ST_V_TUPLE ? obj + lo->tuple_items : field(d, obj, lo->list_items);
	if (n < len)
		flags |= ST_VF_TRUNC;
	finish(d, v, tag, flags, 0, n, len);
	push_frame(d, FR_SEQ, items, 0, n, 0, 8, depth + 1);
	/* The tuple's head read already holds its first item pointers. */
	if (n && tag == ST_V_TUPLE && d->s->head_ok && d->s->fsp > 0 && d->s->fsp <= MAX_FRAMES) {
		struct frame *f = &d->s->fr[d->s->fsp - 1];
		__u32 w = lo->tuple_items >> 3;

		for (__u32 k = 0; k < 4; k++) {
			if (w + k >= HEAD_WORDS || k >= n)
				break;
			f->inl[k] = d->s->head[(w + k) & 7];
			f->ninl = k + 1;
		}
	}
}

static __always_inline void emit_dict(struct dec_ctx *d, __u64 obj, __u8 flags, __u8 depth)
{
	struct st_layout *lo = d->lo;
	struct st_value *v = val_hdr(d);
	__u64 used = field(d, obj, lo->dict_used);
	__u64 keys = field(d, obj, lo->dict_keys);
	__u64 values = field(d, obj, lo->dict_values);
	__u64 nentries = rd64(keys + lo->dk_nentries), entries;
	__u16 esize = 24;
	__u32 n;

	if (depth > ST_MAX_DEPTH) {
		finish(d, v, ST_V_DICT, flags | (used ? ST_VF_TRUNC | ST_VF_DEPTH : 0), 0, 0, used);
		return;
	}
	if (lo->flags & ST_LF_DICT_LOG2) {
		/* 3.11+: dk_log2_size, dk_log2_index_bytes, dk_kind are bytes 8-10. */
		__u64 w = rd64(keys + lo->dk_size);

		entries = keys + lo->dk_indices + (1ULL << ((w >> 8) & 63));
		if ((w >> 16) & 0xff) /* unicode or split keys: {key, value} entries */
			esize = 16;
	} else {
		/* 3.8-3.10: the index width follows dk_size. */
		__u64 size = rd64(keys + lo->dk_size);
		__u64 w = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffULL ? 4 : 8;

		entries = keys + lo->dk_indices + size * w;
	}
	n = take(d, used, 2);
	if (n < used)
		flags |= ST_VF_TRUNC;
	finish(d, v, ST_V_DICT, flags, 0, n * 2, used);
	if (values)
		values += lo->dict_values_items;
	push_frame(d, FR_DICT, entries, values, n * 2, nentries > 4096 ? 4096 : (__u32)nentries,
		   esize, depth + 1);
}

static __always_inline void emit_code(struct dec_ctx *d, __u64 obj, __u8 flags, __u8 depth)
{
	struct st_layout *lo = d->lo;
	struct st_value *v = val_hdr(d);
	__s32 line = 0;
	__u32 n = 0;

	if (room(d) >= 4 &&
	    !bpf_probe_read_user(&line, 4, (const void *)(obj + lo->co_firstlineno))) {
		*(__s32 *)&d->sc->buf[(d->s->off + VAL_SZ) & (ST_REC_MAX - 1)] = line;
		n = 4;
	}
	if (d->s->budget >= 2 && depth <= ST_MAX_DEPTH) {
		d->s->budget -= 2;
		finish(d, v, ST_V_CODE, flags, n, 2, 0);
		/* filename, then the (qualified) name, read as a two-pointer sequence. */
		push_frame(d, FR_SEQ, obj + lo->co_filename, 0, 2, 0,
			   lo->co_name - lo->co_filename, depth + 1);
	} else {
		finish(d, v, ST_V_CODE, flags | ST_VF_TRUNC, n, 0, 0);
	}
}

static __always_inline void emit_other(struct dec_ctx *d, __u64 type, __u8 flags)
{
	struct st_value *v = val_hdr(d);
	__u64 name = rd64(type + d->lo->tp_name);
	long n = 0;

	if (room(d) >= ST_TYPE_NAME_MAX)
		n = bpf_probe_read_user_str(&d->sc->buf[(d->s->off + VAL_SZ) & (ST_REC_MAX - 1)],
					    ST_TYPE_NAME_MAX, (const void *)name);
	if (n <= 0) {
		finish(d, v, ST_V_FAULT, flags, 0, 0, 0);
		return;
	}
	/* A full buffer means the name may have been cut. */
	if (n == ST_TYPE_NAME_MAX)
		flags |= ST_VF_TRUNC;
	finish(d, v, ST_V_OTHER, flags, (__u32)(n - 1), 0, (__u64)(n - 1));
}

/* Types with a tp_flags "subclass of" bit. */
#define TPF_LONG (1UL << 24)
#define TPF_LIST (1UL << 25)
#define TPF_TUPLE (1UL << 26)
#define TPF_BYTES (1UL << 27)
#define TPF_UNICODE (1UL << 28)
#define TPF_DICT (1UL << 29)

/* None, True and False are known by address, with no read: the value's tag, or 0. */
static __always_inline __u8 singleton_tag(const struct st_layout *lo, __u64 b, __u64 obj)
{
	if (obj == lo->addr[ST_T_NONE_OBJ] + b)
		return ST_V_NONE;
	if (obj == lo->addr[ST_T_TRUE_OBJ] + b)
		return ST_V_TRUE;
	if (obj == lo->addr[ST_T_FALSE_OBJ] + b)
		return ST_V_FALSE;
	return 0;
}

static __always_inline void emit(struct dec_ctx *d, __u64 obj, __u8 depth)
{
	struct st_layout *lo = d->lo;
	__u64 type, b = d->bias;
	__u8 tag;

	d->s->owed--;
	tag = singleton_tag(lo, b, obj);
	if (tag) {
		finish(d, val_hdr(d), tag, 0, 0, 0, 0);
		return;
	}
	/* An object near the end of a mapping may be shorter than the head: read the type alone. */
	if (!d->s->head_ok || d->s->head_of != obj || !obj)
		d->s->head_ok =
		    obj && !bpf_probe_read_user(d->s->head, sizeof(d->s->head), (void *)obj);
	d->s->head_of = 0;
	if (d->s->head_ok)
		type = field(d, obj, lo->ob_type);
	else if (!obj || bpf_probe_read_user(&type, 8, (const void *)(obj + lo->ob_type))) {
		finish(d, val_hdr(d), ST_V_FAULT, 0, 0, 0, 0);
		return;
	}
	/*
	 * Which emitter, then one call of it: each is inlined once, not once
	 * per way of getting there (exact type, subclass), which keeps the
	 * decoder's code small.
	 */
	__u8 kind, flags = 0;

	/* Exact built-in types by address, the common case. */
	if (type == lo->addr[ST_T_STR] + b)
		kind = ST_V_STR;
	else if (type == lo->addr[ST_T_LONG] + b)
		kind = ST_V_INT;
	else if (type == lo->addr[ST_T_TUPLE] + b)
		kind = ST_V_TUPLE;
	else if (type == lo->addr[ST_T_BYTES] + b)
		kind = ST_V_BYTES;
	else if (type == lo->addr[ST_T_LIST] + b)
		kind = ST_V_LIST;
	else if (type == lo->addr[ST_T_DICT] + b)
		kind = ST_V_DICT;
	else if (type == lo->addr[ST_T_FLOAT] + b)
		kind = ST_V_FLOAT;
	else if (type == lo->addr[ST_T_CODE] + b)
		kind = ST_V_CODE;
	else if (type == lo->addr[ST_T_BYTEARRAY] + b)
		kind = ST_V_BYTEARRAY;
	else {
		/* Subclasses share their base's layout; anything else is named by type. */
		__u64 tpf = rd64(type + lo->tp_flags);

		flags = ST_VF_SUBCLASS;
		if (tpf & TPF_UNICODE)
			kind = ST_V_STR;
		else if (tpf & TPF_LONG)
			kind = ST_V_INT;
		else if (tpf & TPF_TUPLE)
			kind = ST_V_TUPLE;
		else if (tpf & TPF_LIST)
			kind = ST_V_LIST;
		else if (tpf & TPF_BYTES)
			kind = ST_V_BYTES;
		else if (tpf & TPF_DICT)
			kind = ST_V_DICT;
		else
			kind = ST_V_OTHER, flags = 0;
	}
	switch (kind) {
	case ST_V_STR:
		emit_str(d, obj, flags);
		break;
	case ST_V_INT:
		emit_int(d, obj, flags);
		break;
	case ST_V_TUPLE:
	case ST_V_LIST:
		emit_seq(d, obj, kind, flags, depth);
		break;
	case ST_V_BYTES:
	case ST_V_BYTEARRAY:
		emit_bytes(d, obj, kind, flags);
		break;
	case ST_V_DICT:
		emit_dict(d, obj, flags, depth);
		break;
	case ST_V_FLOAT:
		emit_float(d, obj, flags);
		break;
	case ST_V_CODE:
		emit_code(d, obj, flags, depth);
		break;
	default:
		emit_other(d, type, flags);
	}
}

/*
 * The arguments tuple, and its leading items while they are None, bools,
 * ints, floats or strings, written without the loop: most events carry only
 * such values, and the loop's general dispatch costs more than their
 * decoding. The first item of another type is left, its head already read,
 * to the loop, which goes on from there with the tuple's frame.
 */
static __always_inline int args_fast(struct dec_ctx *d, __u64 args)
{
	struct st_layout *lo = d->lo;
	__u64 b = d->bias, type;

	d->s->head_ok = args && !bpf_probe_read_user(d->s->head, sizeof(d->s->head), (void *)args);
	if (!d->s->head_ok || field(d, args, lo->ob_type) != lo->addr[ST_T_TUPLE] + b) {
		/* Not a tuple: the loop's emit() takes the head read here. */
		d->s->head_of = d->s->head_ok ? args : 0;
		return 0;
	}
	d->s->owed--;
	emit_seq(d, args, ST_V_TUPLE, 0, 0);
	for (int k = 0; k < 4; k++) {
		struct frame *f = &d->s->fr[0];
		__u64 obj;
		__u8 kind = 0; /* ST_V_*, 0: left to the loop */

		if (d->s->fsp != 1 || f->idx >= f->ninl)
			break;
		obj = f->inl[f->idx & 3];
		if (!obj)
			break; /* the loop writes the fault */
		kind = singleton_tag(lo, b, obj);
		if (!kind) {
			d->s->head_ok =
			    !bpf_probe_read_user(d->s->head, sizeof(d->s->head), (void *)obj);
			if (!d->s->head_ok)
				break;
			type = field(d, obj, lo->ob_type);
			if (type == lo->addr[ST_T_LONG] + b)
				kind = ST_V_INT;
			else if (type == lo->addr[ST_T_STR] + b)
				kind = ST_V_STR;
			else if (type == lo->addr[ST_T_FLOAT] + b)
				kind = ST_V_FLOAT;
			if (!kind) {
				d->s->head_of = obj; /* the loop starts with it: no second read */
				break;
			}
		}
		f->idx++;
		f->base += f->stride;
		if (--f->left == 0)
			d->s->fsp = 0;
		d->s->owed--;
		if (kind == ST_V_INT)
			emit_int(d, obj, 0);
		else if (kind == ST_V_STR)
			emit_str(d, obj, 0);
		else if (kind == ST_V_FLOAT)
			emit_float(d, obj, 0);
		else
			finish(d, val_hdr(d), kind, 0, 0, 0, 0);
	}
	return 1;
}

static long dec_cb(__u32 i, void *data)
{
	struct dec_ctx *d = data;
	__u32 top = d->s->fsp;
	struct frame *f;
	__u64 obj;
	__u8 depth;

	if (top == 0 || top > MAX_FRAMES)
		return 1;
	f = &d->s->fr[top - 1];
	depth = f->depth;
	if (f->kind == FR_OBJ) {
		obj = f->base;
		f->left = 0;
	} else if (f->kind == FR_SEQ) {
		obj = f->idx < f->ninl ? f->inl[f->idx & 3] : rd64(f->base);
		f->idx++;
		f->base += f->stride;
		f->left--;
	} else {
		__u64 entry, key, val;
		__u32 koff = f->stride == 24 ? 8 : 0;

		if (f->scan >= f->nscan) {
			/* The dict changed under us: fewer live entries than it counted. */
			d->s->owed--;
			finish(d, val_hdr(d), ST_V_FAULT, 0, 0, 0, 0);
			if (--f->left == 0)
				d->s->fsp = top - 1;
			return 0;
		}
		entry = f->base + (__u64)f->scan * f->stride;
		key = rd64(entry + koff);
		val = f->vals ? rd64(f->vals + (__u64)f->scan * 8) : rd64(entry + koff + 8);
		if (!key || !val) {
			f->scan++; /* a deleted entry: costs an iteration, writes nothing */
			return 0;
		}
		if (f->phase == 0) {
			obj = key;
			f->phase = 1;
		} else {
			obj = val;
			f->phase = 0;
			f->scan++;
		}
		f->left--;
	}
	if (f->left == 0)
		d->s->fsp = top - 1;
	emit(d, obj, depth);
	return 0;
}

/* Values promised but never written (out of iterations): placeholders keep the record whole. */
static long fill_cb(__u32 i, void *data)
{
	struct dec_ctx *d = data;

	if (!d->s->owed || d->s->off + VAL_SZ > ST_REC_MAX)
		return 1;
	d->s->owed--;
	finish(d, val_hdr(d), ST_V_FAULT, 0, 0, 0, 0);
	return 0;
}

/*
 * Records that come in floods (events, syscalls) onto the ring. The reader
 * is woken when the backlog crosses the threshold, not on every record above
 * it: a reader that is already behind would otherwise be woken once per
 * record, at the traced process's expense. Between wake-ups it sleeps (it
 * waits edge-triggered) up to its timeout, so every such producer must wake
 * it so, or a flood of its records alone could fill the ring in between.
 */
static __always_inline long ring_out(void *data, __u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = avail < cfg_wakeup_bytes && avail + size >= cfg_wakeup_bytes
			      ? BPF_RB_FORCE_WAKEUP
			      : BPF_RB_NO_WAKEUP;

	return bpf_ringbuf_output(&events, data, size, flags);
}

#include "syscalls.bpf.h"

/*
 * Pairing needs the raising frame of events that may open or close a span:
 * Seagrass's prehook:/posthook:, and CPython's own pairs (builtins.input
 * and builtins.input/result, sqlite3.connect and .../handle, winreg.OpenKey
 * and .../result). Other events skip the three reads.
 */
static __always_inline int may_pair(const __u8 *n, __u32 len)
{
	if (cfg_frames_all)
		return 1;
	if (len >= 8 && n[0] == 'p' && n[1] == 'r' && n[2] == 'e' && n[3] == 'h' && n[4] == 'o' &&
	    n[5] == 'o' && n[6] == 'k' && n[7] == ':')
		return 1;
	if (len >= 9 && n[0] == 'p' && n[1] == 'o' && n[2] == 's' && n[3] == 't' && n[4] == 'h' &&
	    n[5] == 'o' && n[6] == 'o' && n[7] == 'k' && n[8] == ':')
		return 1;
	if (len == 14 && n[0] == 'b' && n[8] == '.' && n[9] == 'i' && n[13] == 't') /* builtins.input */
		return 1;
	if (len == 15 && n[0] == 's' && n[7] == '.' && n[8] == 'c' && n[14] == 't') /* sqlite3.connect */
		return 1;
	if (len == 14 && n[0] == 'w' && n[6] == '.' && n[7] == 'O' && n[13] == 'y') /* winreg.OpenKey */
		return 1;
	if (len > 7 && n[(len - 7) & (ST_NAME_MAX - 1)] == '/' && n[(len - 6) & (ST_NAME_MAX - 1)] == 'r' &&
	    n[(len - 1) & (ST_NAME_MAX - 1)] == 't') /* .../result */
		return 1;
	if (len > 7 && n[(len - 7) & (ST_NAME_MAX - 1)] == '/' && n[(len - 6) & (ST_NAME_MAX - 1)] == 'h' &&
	    n[(len - 1) & (ST_NAME_MAX - 1)] == 'e') /* .../handle */
		return 1;
	return 0;
}

/* Threads of the main interpreter looked at to find the current one (3.12+). */
#define MAX_THREAD_WALK 32

/* The frame executing when the event was raised, or 0 when this layout cannot tell. */
static __always_inline __u64 current_frame(struct st_layout *lo, __u64 bias, __u32 tid)
{
	__u64 ts = 0, fr;

	if (!lo->runtime)
		return 0;
	if (lo->flags & ST_LF_TSTATE_GLOBAL) {
		ts = rd64(lo->runtime + bias + lo->rt_tstate);
	} else if (lo->flags & ST_LF_TSTATE_WALK) {
		/* The current thread state is thread-local now: find ours in the list. */
		__u64 t = rd64(rd64(lo->runtime + bias + lo->rt_interp_head) + lo->interp_threads);

		for (int i = 0; i < MAX_THREAD_WALK && t; i++) {
			__u32 native = 0;

			bpf_probe_read_user(&native, 4, (const void *)(t + lo->ts_native_tid));
			if (native == tid) {
				ts = t;
				break;
			}
			t = rd64(t + lo->ts_next);
		}
	}
	if (!ts)
		return 0;
	fr = rd64(ts + lo->ts_frame);
	if (fr && (lo->flags & ST_LF_CFRAME))
		fr = rd64(fr + lo->cf_frame);
	return fr;
}

/*
 * 1 when the current process is one the user asked for. First thing on
 * every probe hit, so a process no filter selects costs only this.
 */
static __always_inline int proc_wanted(__u32 tgid)
{
	if (!cfg_proc_filter)
		return 1;
	if ((cfg_proc_filter & ST_PF_TARGETS) && !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	if ((cfg_proc_filter & ST_PF_UID) && (__u32)bpf_get_current_uid_gid() != cfg_uid)
		return 0;
	if (cfg_proc_filter & ST_PF_COMM) {
		char comm[ST_COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		for (int i = 0; i < ST_COMM_LEN; i++) {
			if (comm[i] != cfg_comm[i])
				return 0;
			if (!comm[i])
				break;
		}
	}
	if ((cfg_proc_filter & ST_PF_CGROUP) && bpf_current_task_under_cgroup(&cgroup_filter, 0) != 1)
		return 0;
	return 1;
}

/* sys.addaudithook and ctypes.* events warrant an alert even when filtered out. */
static __always_inline int tamper_sign(const __u8 *n, __u32 len)
{
	if (len > 7 && n[0] == 'c' && n[1] == 't' && n[2] == 'y' && n[3] == 'p' && n[4] == 'e' &&
	    n[5] == 's' && n[6] == '.')
		return 1;
	return len == 16 && n[0] == 's' && n[3] == '.' && n[4] == 'a' && n[7] == 'a' &&
	       n[12] == 'h' && n[15] == 'k'; /* sys.addaudithook */
}

/*
 * The load bias of the object the probe is in: the instruction pointer minus
 * the link-time address of the site that fired, which the cookie names (the
 * probe's sites and the uprobe fallback's alike). Some kernels report the
 * address after the trap instruction: the bias is page aligned either way.
 */
static __always_inline __u64 site_bias(struct st_layout *lo, __u32 site, __u64 ip)
{
	__u64 diff = ip - lo->site[site & (ST_MAX_SITES - 1)];

	return ((diff - 1) & 0xfff) == 0 ? diff - 1 : diff;
}

/*
 * The thread's name, straight from its task: two loads instead of a helper
 * call. The kernel keeps comm NUL-padded (strscpy_pad), so the bytes are
 * those bpf_get_current_comm() would copy.
 */
static __always_inline void cur_comm(char *dst)
{
	struct task_struct *t = bpf_get_current_task_btf();

	((__u64 *)dst)[0] = *(__u64 *)&t->comm[0];
	((__u64 *)dst)[1] = *(__u64 *)&t->comm[8];
}

/*
 * Record building, shared by the USDT program and the uprobe fallback
 * (bpf/fallback.bpf.h): the process filter and the scratch and layout
 * lookups (rec_scratch), the name and the filters' verdict on it
 * (rec_name_cached), the header (rec_begin), then the values, then the ring
 * buffer (rec_end). All
 * inlined: the USDT path runs the same instructions it ran as one function.
 */
static __always_inline struct scratch *rec_scratch(__u64 id, __u32 slot, struct st_layout **lop)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct st_layout *lo;
	struct scratch *sc;

	if (!proc_wanted(id >> 32)) {
		stat_inc(ST_STAT_PROC_FILTERED);
		return NULL;
	}
	sc = bpf_map_lookup_elem(&scratch_map, &cpu);
	lo = bpf_map_lookup_elem(&layouts, &slot);
	if (!sc || !lo)
		return NULL;
	if (!(lo->flags & ST_LF_VALID)) {
		stat_inc(ST_STAT_NO_LAYOUT);
		return NULL;
	}
	/*
	 * A kernel that preempts tracing programs (preempt=full, RT) may run
	 * this program for another thread on this CPU while a record is half
	 * built here. That event is dropped and counted as lost, never mixed
	 * into the other. The caller clears the mark (rec_release). Test and
	 * set in one exchange: between a separate test and set, the other run
	 * could take the scratch and be preempted in turn.
	 */
	if (__sync_lock_test_and_set(&sc->busy, 1)) {
		stat_inc(ST_STAT_BUSY);
		return NULL;
	}
	*lop = lo;
	return sc;
}

static __always_inline void rec_release(struct scratch *sc)
{
	*(volatile __u64 *)&sc->busy = 0;
}

/* The event name, a C string in the traced process, at the start of the tail. */
static __always_inline void rec_name(struct st_event *e, const char *event)
{
	long n;

	n = bpf_probe_read_user_str(e->tail, ST_NAME_MAX, event);
	if (n <= 0) {
		stat_inc(ST_STAT_NAME_FAULT);
		n = 1;
		e->tail[0] = 0;
	}
	e->flags = 0;
	if (n == ST_NAME_MAX) {
		char c = 0;

		bpf_probe_read_user(&c, 1, event + ST_NAME_MAX - 1);
		if (c)
			e->flags |= ST_EF_NAME_TRUNC;
	}
	e->name_len = (__u16)(n - 1);
}

/* What becomes of an event, from its name in the record: enum nc_verdict, and may_pair(). */
static __always_inline __u8 rec_verdict(struct scratch *sc, struct st_event *e, __u8 *pair)
{
	__u32 len = e->name_len & (ST_NAME_MAX - 1);

	*pair = (__u8)may_pair(e->tail, len);
	if (cfg_nglobs && !name_wanted(&sc->gs, e->tail, len))
		return tamper_sign(e->tail, e->name_len) ? NC_ALERT : NC_DROP;
	return NC_KEEP;
}

/*
 * The event name into the record, and its verdict: from the name cache
 * when `event` lies in the interpreter's read-only segments and was seen
 * before on this CPU, else read and decided (rec_name, rec_verdict), and
 * remembered when it may be. A dropped name is not even copied, unless
 * syscall correlation needs it. The cache lives in the CPU's scratch, which
 * rec_scratch() hands to one program at a time: no entry is ever seen half
 * written.
 */
static __always_inline __u8 rec_name_cached(struct scratch *sc, struct st_layout *lo, __u32 slot,
					    __u64 bias, const char *event, __u8 *pair)
{
	struct st_event *e = (struct st_event *)sc->buf;
	__u64 at = (__u64)event - bias, key = 0;
	struct name_ent *ne = NULL;
	__u8 verdict;

	if (at >= lo->ro_lo && at < lo->ro_hi && at < (1ULL << 48)) {
		key = (__u64)(slot + 1) << 48 | at;
		ne = &sc->nc[((at * 0x9E3779B97F4A7C15ULL) >> 58) & (NC_SLOTS - 1)];
		if (ne->key == key) {
			*pair = ne->pair;
			if (ne->verdict != NC_DROP || cfg_syscalls)
				__builtin_memcpy(e->tail, ne->name, NC_NAME);
			e->flags = 0;
			e->name_len = ne->len;
			return ne->verdict;
		}
	}
	rec_name(e, event);
	verdict = rec_verdict(sc, e, pair);
	if (ne && e->name_len && e->name_len < NC_NAME && !(e->flags & ST_EF_NAME_TRUNC)) {
		__builtin_memcpy(ne->name, e->tail, NC_NAME);
		ne->len = e->name_len;
		ne->verdict = verdict;
		ne->pair = *pair;
		ne->key = key;
	}
	return verdict;
}

/*
 * With the name in place and its verdict known: fills the header and
 * readies the decoder for the first value, the arguments tuple (owed, not
 * yet written). Returns 0 when the event is filtered out.
 */
static __always_inline int rec_begin(struct dec_ctx *d, struct scratch *sc, struct st_layout *lo,
				     __u64 id, __u32 slot, __u64 bias, __u8 verdict, __u8 pair)
{
	struct st_event *e = (struct st_event *)sc->buf;

	/* Before the filter: an event not shown still explains the syscalls that follow. */
	if (cfg_syscalls) {
		e->ts_ns = bpf_ktime_get_ns();
		note_audit((__u32)id, e->ts_ns, e->tail);
	}
	if (verdict == NC_DROP) {
		stat_inc(ST_STAT_FILTERED);
		return 0;
	}
	if (verdict == NC_ALERT)
		e->flags |= ST_EF_ALERT_ONLY;

	e->type = ST_REC_EVENT;
	if (!cfg_syscalls) /* read after the filter: excluded events skip the clock */
		e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->layout = slot;
	cur_comm(e->comm);
	e->frame = pair ? current_frame(lo, bias, (__u32)id) : 0;

	d->sc = sc;
	d->s = &sc->st;
	d->lo = lo;
	d->bias = bias;
	d->s->off = HDR_SZ + e->name_len;
	d->s->budget = ST_MAX_VALUES - 1;
	d->s->nvalues = 0;
	d->s->rec_full = 0;
	d->s->owed = 1;
	d->s->fsp = 0;
	d->s->head_of = 0;
	return 1;
}

/* Placeholders for values promised but not written, then the record onto the ring. */
static __always_inline void rec_end(struct dec_ctx *d)
{
	struct st_event *e = (struct st_event *)d->sc->buf;

	if (d->s->owed)
		bpf_loop(ST_MAX_VALUES, fill_cb, d, 0);

	if (d->s->rec_full)
		e->flags |= ST_EF_REC_FULL;
	e->nvalues = (__u16)d->s->nvalues;
	__u32 size = d->s->off;
	if (size > ST_REC_MAX)
		return;
	e->size = size;

	if (ring_out(d->sc->buf, size))
		stat_inc(ST_STAT_LOST);
}

/* One event from the probe, into the scratch rec_scratch() handed out. */
static __always_inline void audit_event(struct scratch *sc, struct st_layout *lo, __u64 id,
					__u32 slot, __u64 bias, const char *event, void *args)
{
	__u8 pair = 0, verdict = rec_name_cached(sc, lo, slot, bias, event, &pair);

	/* On the stack: bpf_loop() wants its context there, and map memory cannot hold pointers. */
	struct dec_ctx dd, *d = &dd;

	if (!rec_begin(d, sc, lo, id, slot, bias, verdict, pair))
		return;
	if (!args_fast(d, (__u64)args))
		push_frame(d, FR_OBJ, (__u64)args, 0, 1, 0, 0, 0);
	/* Deleted dict entries cost iterations too, hence the margin. */
	if (d->s->fsp)
		bpf_loop(ST_MAX_VALUES * 2, dec_cb, d, 0);
	rec_end(d);
}

/* A register of the trap's, by enum st_preg: constant offsets, as the verifier wants. */
static __always_inline __u64 usdt_reg(struct pt_regs *ctx, __u8 reg)
{
	__u64 v = 0;

	/*
	 * barrier_var() keeps each case's load its own: merged, the loads
	 * become one at a computed offset, which the verifier refuses.
	 */
#define REG_CASE(r, field)      \
	case r:                 \
		v = ctx->field; \
		barrier_var(v); \
		break
	switch (reg) {
		REG_CASE(ST_PREG_AX, ax);
		REG_CASE(ST_PREG_BX, bx);
		REG_CASE(ST_PREG_CX, cx);
		REG_CASE(ST_PREG_DX, dx);
		REG_CASE(ST_PREG_SI, si);
		REG_CASE(ST_PREG_DI, di);
		REG_CASE(ST_PREG_BP, bp);
		REG_CASE(ST_PREG_SP, sp);
		REG_CASE(ST_PREG_R8, r8);
		REG_CASE(ST_PREG_R9, r9);
		REG_CASE(ST_PREG_R10, r10);
		REG_CASE(ST_PREG_R11, r11);
		REG_CASE(ST_PREG_R12, r12);
		REG_CASE(ST_PREG_R13, r13);
		REG_CASE(ST_PREG_R14, r14);
		REG_CASE(ST_PREG_R15, r15);
	}
#undef REG_CASE
	return v;
}

/* One probe argument where the note says it is (user/pyelf.c, st_usdt_parse_arg()). */
static __always_inline __u64 usdt_arg(struct pt_regs *ctx, const struct st_usdt_arg *a)
{
	__u64 v = 0;

	if (a->kind == ST_UA_REG)
		v = usdt_reg(ctx, a->reg);
	else if (a->kind == ST_UA_DEREF)
		bpf_probe_read_user(&v, sizeof(v), (const void *)(usdt_reg(ctx, a->reg) + a->off));
	else if (a->kind == ST_UA_CONST)
		v = (__u64)(__s64)a->off;
	if (a->shift < 64) {
		v <<= a->shift;
		v = a->is_signed ? (__u64)((__s64)v >> a->shift) : v >> a->shift;
	}
	return v;
}

/*
 * The python:audit probe, one uprobe per site (user/attach.c): the cookie
 * names the layout slot and the site, which gives the load bias and where
 * the site keeps the event name and the arguments tuple.
 */
SEC("uprobe")
int audit(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = ST_COOKIE_SLOT(cookie), site = ST_COOKIE_SITE(cookie) & (ST_MAX_SITES - 1);
	struct st_layout *lo = NULL;
	struct scratch *sc = rec_scratch(id, slot, &lo);

	if (!sc || !lo)
		return 0;
	audit_event(sc, lo, id, slot, site_bias(lo, site, PT_REGS_IP(ctx)),
		    (const char *)usdt_arg(ctx, &lo->site_arg[site][0]),
		    (void *)usdt_arg(ctx, &lo->site_arg[site][1]));
	rec_release(sc);
	return 0;
}

/* Interpreters built without the probe: uprobes on the audit functions instead. */
#include "fallback.bpf.h"

/* The benchmark's floor: the same uprobes with nothing done. */
SEC("uprobe")
int audit_floor(struct pt_regs *ctx)
{
	return 0;
}
