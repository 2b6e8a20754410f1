/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The argument decoder, shared by the probe (probe.bpf.c) and the uprobe
 * fallback (fallback.bpf.c), which decodes objects into the same records:
 * the per-CPU scratch a record is built in, and the walk that writes
 * CPython objects as typed values (bpf/wire.h).
 *
 * Nothing about CPython's object layout is compiled in: every offset and
 * every type address comes from the `layouts` map slot named by the probe's
 * cookie, which userspace fills for each attached interpreter binary.
 */
#ifndef SEATRACE_DECODE_BPF_H
#define SEATRACE_DECODE_BPF_H

#include "common.bpf.h"
#include "filter.bpf.h"

ST_SHARED const volatile __u32 cfg_str_max ST_INIT(ST_STR_DEFAULT);

ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_MAX_LAYOUTS);
	__type(key, __u32);
	__type(value, struct st_layout);
} layouts SEC(".maps");

#define HDR_SZ ((__u32)sizeof(struct st_event))
#define VAL_SZ ((__u32)sizeof(struct st_value))

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

/*
 * Deleted dict entries stepped over per event, one loop iteration each: a
 * dict whose live entries lie further is cut there, and the iterations the
 * values after it need stay free (DEC_ITERS).
 */
#define DICT_SKIP 256
/* Iterations of the decoding loop: one per value, plus the deleted entries. */
#define DEC_ITERS (ST_MAX_VALUES + DICT_SKIP + 8)

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
	__u32 hdr;    /* dict: offset of its header, patched when the scan gives up */
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
	__u32 skip;    /* deleted dict entries that may still be stepped over */
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
	__u8 len;     /* < NC_NAME */
	__u8 rule;    /* the rate slot of the pattern that kept it (0xff: none), see filter.bpf.h */
	__u8 verdict; /* enum nc_verdict */
	__u8 pair;    /* may_pair() */
	__u32 gen;    /* cfg_filter_gen the verdict was made under */
	__u8 name[NC_NAME];
	__u64 rules;  /* rules its events are judged by (bpf/rules.bpf.h), with cfg_rules */
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
	/*
	 * -c: the keys this CPU counted last (count.bpf.h). Here, not in a map of its own, as
	 * reaching another map's value cost -c about 15 ns an event (kernel-ab.py); first, where
	 * the reader finds it (user/kcount.c).
	 */
	struct st_count_cache cc;
	__u8 buf[ST_REC_MAX + 2 * ST_VALUE_MAX];
	struct dec_state st;
	struct glob_state_all gs;
	struct name_ent nc[NC_SLOTS];
	/* A rate-limit bucket's key and first value (bpf/ratelimit.bpf.h): off the stack. */
	struct st_rl_key rl_key;
	struct st_rl_val rl_val;
	__u64 busy; /* a run is building a record here (rec_scratch); 64 bits: exchanged */
	struct last_audit la; /* -S: the event a thread raised last, as note_audit() stores it */
	/* Argument rules (bpf/rules.bpf.h): this event's rules, the action taken on it. */
	__u64 rmask;
	__u32 rset; /* the rule set rmask is of (cfg_filter_gen & 1 at the event) */
	__u32 act, act_rule, act_flags, act_only;
	/* -c: 1 + the name cache slot whose name the record's tail lacks (count.bpf.h), or 0. */
	__u32 name_owed;
	__u32 vgen; /* -c: the filter generation the event's verdict was made under */
	/*
	 * No process filter: the task whose event this CPU handled last (probe.bpf.c,
	 * task_site()): its saved registers' address, the site's address, cfg_task_gen then, its
	 * pid and tgid, the probe's attach cookie.
	 */
	__u64 fc_regs, fc_ip, fc_gen, fc_id, fc_cookie;
	/* -c: the event's name was read (or known from the file), not left empty by a fault. */
	__u32 vok;
};

ST_SHARED struct {
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

/*
 * The next general-register value of an x86-64 va_list: from gpr[] (the register save area's
 * copy) below offset 48, then from the overflow area. The fallback's decoder and the rules'
 * argument locator walk the same va_list.
 */
static __always_inline __u64 va_next_gp(__u32 *gp_off, __u64 *overflow, const __u64 *gpr)
{
	__u32 off = *gp_off, idx = off >> 3;
	__u64 v;

	if (off < 48) {
		/* Hide idx from clang so the mask stays for the verifier. */
		barrier_var(idx);
		v = gpr[idx & 7];
		*gp_off = off + 8;
		return v;
	}
	v = rd64(*overflow);
	*overflow += 8;
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

/*
 * Items (dict: pairs) a container may promise, given the value budget and
 * the record's room: `per` values each, every one owed a header. A
 * container cut by the room marks the record full.
 */
static __always_inline __u32 take(struct dec_ctx *d, __u64 len, __u32 per)
{
	__u64 n = len > ST_MAX_ITEMS ? ST_MAX_ITEMS : len;
	__u32 fit = room(d) / (per * VAL_SZ);

	if (n * per > d->s->budget)
		n = d->s->budget / per;
	if (n > fit) {
		n = fit;
		d->s->rec_full = 1;
	}
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
	__u32 at = d->s->off;

	finish(d, v, ST_V_DICT, flags, 0, n * 2, used);
	if (values)
		values += lo->dict_values_items;
	push_frame(d, FR_DICT, entries, values, n * 2, nentries > 4096 ? 4096 : (__u32)nentries,
		   esize, depth + 1);
	if (n && d->s->fsp > 0 && d->s->fsp <= MAX_FRAMES)
		d->s->fr[d->s->fsp - 1].hdr = at;
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
	/* Its two names are owed headers too: without room for them, it is cut. */
	if (d->s->budget >= 2 && depth <= ST_MAX_DEPTH && room(d) >= n + 2 * VAL_SZ) {
		d->s->budget -= 2;
		finish(d, v, ST_V_CODE, flags, n, 2, 0);
		/* filename, then the (qualified) name, read as a two-pointer sequence. */
		push_frame(d, FR_SEQ, obj + lo->co_filename, 0, 2, 0,
			   lo->co_name - lo->co_filename, depth + 1);
	} else {
		if (room(d) < n + 2 * VAL_SZ)
			d->s->rec_full = 1;
		finish(d, v, ST_V_CODE, flags | ST_VF_TRUNC, n, 0, 0);
	}
}

static __always_inline void emit_other(struct dec_ctx *d, __u64 type, __u8 flags)
{
	struct st_value *v = val_hdr(d);
	__u64 name = rd64(type + d->lo->tp_name);
	long n = 0;

	if (room(d) < ST_TYPE_NAME_MAX) {
		/* No room for the name: an empty one, cut, in a record marked full. */
		d->s->rec_full = 1;
		finish(d, v, ST_V_OTHER, flags | ST_VF_TRUNC, 0, 0, 0);
		return;
	}
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

static __attribute__((unused)) long dec_cb(__u32 i, void *data)
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
		__u64 entry, kv[2] = {};
		__u32 koff = f->stride == 24 ? 8 : 0;

		if (f->scan < f->nscan) {
			entry = f->base + (__u64)f->scan * f->stride;
			/* Key and value in one read, unless the values are apart (split table). */
			if (f->vals) {
				kv[0] = rd64(entry + koff);
				kv[1] = rd64(f->vals + (__u64)f->scan * 8);
			} else {
				bpf_probe_read_user(kv, sizeof(kv), (const void *)(entry + koff));
			}
			if ((!kv[0] || !kv[1]) && d->s->skip) {
				/* A deleted entry: costs an iteration, writes nothing. */
				f->scan++;
				d->s->skip--;
				return 0;
			}
		}
		if (!kv[0] || !kv[1]) {
			/*
			 * Out of entries (the dict changed under us) or of deleted ones
			 * to step over. Between pairs, the dict ends here, cut: its
			 * header gives up the children it promised and not written.
			 */
			if (f->phase == 0) {
				struct st_value *v =
				    (struct st_value *)&d->sc->buf[f->hdr & (ST_REC_MAX - 1)];

				v->nchild -= f->left;
				v->flags |= ST_VF_TRUNC;
				d->s->owed -= f->left;
				d->s->budget += f->left;
				d->s->fsp = top - 1;
				return 0;
			}
			d->s->owed--;
			finish(d, val_hdr(d), ST_V_FAULT, 0, 0, 0, 0);
			f->phase = 0;
			f->scan++;
			if (--f->left == 0)
				d->s->fsp = top - 1;
			return 0;
		}
		if (f->phase == 0) {
			obj = kv[0];
			f->phase = 1;
		} else {
			obj = kv[1];
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
static __attribute__((unused)) long fill_cb(__u32 i, void *data)
{
	struct dec_ctx *d = data;

	if (!d->s->owed || d->s->off + VAL_SZ > ST_REC_MAX)
		return 1;
	d->s->owed--;
	finish(d, val_hdr(d), ST_V_FAULT, 0, 0, 0, 0);
	return 0;
}

#endif /* SEATRACE_DECODE_BPF_H */
