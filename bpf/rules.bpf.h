/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Argument filters and actions (issue 14): -e/-x NAME(COND,...), --kill, --stop, --count. Off
 * unless cfg_rules: then the verifier drops all of this and the default path is today's.
 *
 * Cost model. Which rules an event name concerns is decided once per name and kept in the
 * name cache with the filters' verdict (name_ent.rules): an event whose name no rule mentions
 * pays one load. For the others, only the arguments the conditions name are read, straight
 * from the process (the arguments tuple's items; for the uprobe fallback, the va_list the
 * format describes), before any decoding or ring buffer work: a kill or stop is decided and
 * signalled from the event's own bytes, whatever becomes of its record.
 */
#ifndef SEATRACE_RULES_BPF_H
#define SEATRACE_RULES_BPF_H

#include "common.bpf.h"
#include "filter.bpf.h"
#include "decode.bpf.h"

/* Set before load: rules are loaded (this file's code is kept), --dry-run. */
ST_SHARED const volatile __u32 cfg_rules;
ST_SHARED const volatile __u32 cfg_dry_run;
/* Two sets, as the name filters (filter.bpf.h): cfg_filter_gen's low bit picks one. */
ST_SHARED volatile __u32 cfg_nrules[2];
ST_SHARED volatile __u32 cfg_rule_include[2]; /* some -e rule exists: includes apply */
/* Which rules are which (bit r: rule r), so no loop over the rules needs to look. */
ST_SHARED volatile __u64 cfg_rmask_kill[2], cfg_rmask_stop[2], cfg_rmask_inc[2], cfg_rmask_exc[2];
ST_SHARED volatile __u64 cfg_rmask_count[2];
/* Log rules with a rate (bpf/ratelimit.bpf.h): judged even for names shown anyway. */
ST_SHARED volatile __u64 cfg_rmask_rated[2];
ST_SHARED volatile struct st_krule cfg_krules[2][ST_KRULE_MAX];
ST_SHARED volatile struct st_glob cfg_rglobs[2][ST_KRULE_GLOBS];
ST_SHARED volatile struct st_class cfg_rclasses[2][ST_MAX_CLASSES];

#define RARGS 16	/* arguments a condition may name (#0 to #15) */
#define RRAW 2048	/* bytes of a 2- or 4-byte str read, to be narrowed */

/* One argument, located but not read: an object, or a C value of the fallback's format. */
struct rarg {
	__u64 v;   /* object address, C string address, or the C value */
	__s64 len; /* with '#': its length, else -1 */
	__u8 fc;   /* 'O' an object, else the format character */
	__u8 _pad[7];
};

/* A run's state, in map memory: the loops' counters must not be tracked exactly. */
struct rule_scratch {
	struct st_glob_state gst;
	__u32 set, nrules, r, c;
	__u32 matching; /* a glob runs over vbuf */
	__u32 g;	/* its index */
	__u32 neg;	/* its result inverted */
	__u32 narrow;	/* code units of raw[] left to narrow into vbuf */
	__u32 ni, kind;
	__u32 vlen;
	__u32 nargs;
	__u64 mask; /* rules to evaluate */
	__u64 hit;  /* rules whose every condition held */
	__u32 name_kept; /* the name is shown anyway: only rated -e rules judged, on past them */
	__u64 head[HEAD_WORDS];
	__u64 hobj; /* the object head[] holds, and its kind: conditions on one argument read it once */
	__u32 hkind;
	__s32 hovf; /* an int's value, decoded once too */
	__s64 hx;
	struct rarg a[RARGS];
	__u64 items[RARGS];
	/* fallback: the format walk */
	__u32 pos, depth, ntop, ninner, first_open;
	__u32 gp_off, fp_off;
	__u64 overflow;
	__u64 gpr[8];
	struct rarg inner[RARGS];
	__u8 vbuf[ST_NAME_MAX];
	__u8 raw[RRAW + 8];
	/* @exe (rexe_*): the walk up the executable's dentries and mounts, one step an iteration */
	__u64 wdent, wmnt; /* struct dentry *, struct mount * */
	__u32 wpos;	   /* the path so far is ebuf[wpos, ST_KRULE_STR) */
	__u32 wsteps;
	__u32 walking;
	__u32 exe_slot;	   /* the condition's @exe slot */
	__u32 exe_pend;	   /* the glob over vbuf is an @exe one: its result goes to the cache */
	__u32 exe_cache;   /* the set is the current one: the cache's bits may be used */
	__u8 ebuf[ST_NAME_MAX + 256]; /* a name (at most 255 bytes) is read at wpos < 512 */
	/* the prefilter (rulepre.bpf.h) */
	__u64 pcand; /* rules worth evaluating */
	__u32 pleft; /* arguments left to test */
	__u32 _ppad;
	__u64 pw[4]; /* a value's first bytes */
	__u64 pv, pn; /* a str's first bytes as a glob sees them, and its length (up to 8) */
};

ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rule_scratch);
} rule_scratch_map SEC(".maps");

/* @cgroup=PATH selectors: slot r holds rule r's cgroup (user/reload.c fills it after load). */
ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, ST_KRULE_MAX);
	__type(key, __u32);
	__type(value, __u32);
} rule_cgroups SEC(".maps");

/*
 * Count rules: the events each matched (wire.h, ST_KRULE_COUNT_IDX). One entry when no rules
 * are loaded (user/rulecount.c sizes it).
 */
ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * ST_KRULE_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rule_counts SEC(".maps");

/*
 * @exe: per thread, its executable's path (built once per exec) and the @exe globs' results
 * for it (bit s: slot s, st_kcond.lo), valid while the thread's exe_file and self_exec_id are
 * those below; the bits only while cfg_filter_gen is `gen` (slots are numbered per rule set).
 */
struct rexe {
	__u64 file;	/* mm->exe_file */
	__u64 exec_id;	/* task->self_exec_id: changes at each exec */
	__u64 known;	/* slots decided */
	__u64 hit;	/* slots whose glob matched */
	__u32 gen;	/* cfg_filter_gen of known/hit */
	__u32 state;	/* REXE_* */
	__u32 len;
	__u32 _pad;
	__u8 path[ST_NAME_MAX];
};

enum { REXE_NONE, REXE_PATH, REXE_UNKNOWN };

ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rexe);
} rule_exe SEC(".maps");

struct rules_ctx {
	struct rule_scratch *rs;
	struct st_layout *lo;
	struct st_event *e;
	__u64 bias;
};

static __always_inline struct rule_scratch *rules_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&rule_scratch_map, &zero);
}

/* ---- which rules a name concerns (once per name: the name cache keeps it) ---------- */

static __attribute__((unused)) long rules_name_cb(__u32 i, void *data)
{
	struct rules_ctx *c = data;
	struct rule_scratch *rs = c->rs;
	__u32 r = rs->r, set = rs->set & 1, g;

	if (r >= rs->nrules || r >= ST_KRULE_MAX)
		return 1;
	g = cfg_krules[set][r].event_glob & (ST_KRULE_GLOBS - 1);
	if (!st_glob_step(&rs->gst, &cfg_rglobs[set][g], cfg_rclasses[set], c->e->tail,
			  c->e->name_len & (ST_NAME_MAX - 1)))
		return 0;
	if (rs->gst.result)
		rs->mask |= 1ULL << r;
	rs->r = r + 1;
	st_glob_init(&rs->gst);
	return 0;
}

/*
 * The name's verdict with the rules, and in sc->rmask the rules its events must be judged by:
 * actions always; -e rules when the name is not shown otherwise (and not excluded by an -x
 * glob); -x rules when it is. `v` is the verdict of the plain globs.
 */
static __always_inline __u8 rules_name_body(struct scratch *sc, struct st_event *e, __u32 gen,
					     __u8 v)
{
	struct rule_scratch *rs = rules_scratch();
	__u32 set = gen & 1, n = cfg_nrules[set], ng = cfg_nglobs[set];
	struct rules_ctx c = { .e = e };
	__u64 keep;
	int excluded = 0;

	sc->rmask = 0;
	if (!rs || !n)
		return v;
	if (n > ST_KRULE_MAX)
		n = ST_KRULE_MAX;
	/* name_wanted() stops on the -x glob that matched, or runs past the last one. */
	if (v != NC_KEEP && ng && sc->gs.g < ng)
		excluded = 1;
	/* -e rules alone (no -e glob): a name is not shown unless a rule says so. */
	if (v == NC_KEEP && !ng && cfg_rule_include[set])
		v = tamper_sign(e->tail, e->name_len) ? NC_ALERT : NC_DROP;
	c.rs = rs;
	rs->set = set;
	sc->rset = set;
	rs->nrules = n;
	rs->r = 0;
	rs->mask = 0;
	st_glob_init(&rs->gst);
	bpf_loop(n * (st_glob_max_steps(e->name_len & (ST_NAME_MAX - 1), ST_GLOB_TOKENS) + 1) + 1,
		 rules_name_cb, &c, 0);
	/* Actions and counts judge every event of their names, shown or not. */
	keep = cfg_rmask_kill[set] | cfg_rmask_stop[set] | cfg_rmask_count[set];
	if (v != NC_KEEP && !excluded)
		keep |= cfg_rmask_inc[set];
	if (v == NC_KEEP)
		keep |= cfg_rmask_exc[set];
	/*
	 * With rated rules, the -e rules judge even a name shown anyway: the first that holds
	 * gives the event its rate (or, unrated, none).
	 */
	if ((cfg_rate_limit & ST_RLF_RULES) && !excluded && cfg_rmask_rated[set])
		keep |= cfg_rmask_inc[set];
	sc->rmask = rs->mask & keep;
	return v;
}

/*
 * The two steps with loops are functions of their own, verified once (global functions)
 * rather than once per place they are called from: the fallback calls each from two. Defined
 * by the unit that defines the shared maps, declared by the others.
 */
#ifdef ST_BPF_DEFINE
__noinline int rules_name_g(struct scratch *sc, __u32 gen, __u32 v)
{
	if (!sc)
		return v;
	return rules_name_body(sc, (struct st_event *)sc->buf, gen, (__u8)v);
}
#else
extern int rules_name_g(struct scratch *sc, __u32 gen, __u32 v);
#endif

static __always_inline __u8 rules_name(struct scratch *sc, struct st_event *e, __u32 gen, __u8 v)
{
	return (__u8)rules_name_g(sc, gen, v);
}

/* ---- reading one argument ---------------------------------------------------------- */

static __always_inline __u64 rhw(struct rule_scratch *rs, __u64 obj, __u16 off)
{
	if (!(off & 7) && (off >> 3) < HEAD_WORDS)
		return rs->head[(off >> 3) & 7];
	return rd64(obj + off);
}

static __always_inline __u8 robj_classify(struct rules_ctx *c, __u64 obj);
static __always_inline void rint(struct rules_ctx *c, __u64 obj, __s64 *x, int *ovf);

/*
 * What an object is, for comparing: one of ST_V_*, 0 for a type not compared. Its head stays
 * in rs->head for the caller; read once for all the conditions on it.
 */
static __always_inline __u8 robj_kind(struct rules_ctx *c, __u64 obj)
{
	struct rule_scratch *rs = c->rs;
	__u8 tag = singleton_tag(c->lo, c->bias, obj);

	if (tag)
		return tag;
	if (obj && obj == rs->hobj)
		return (__u8)rs->hkind;
	rs->hobj = 0;
	if (!obj || bpf_probe_read_user(rs->head, sizeof(rs->head), (void *)obj))
		return 0;
	rs->hobj = obj;
	rs->hkind = robj_classify(c, obj);
	if (rs->hkind == ST_V_INT) {
		int ovf = 0;

		rint(c, obj, &rs->hx, &ovf);
		rs->hovf = ovf;
	}
	return (__u8)rs->hkind;
}

/* The kind of the object whose head is in rs->head. */
static __always_inline __u8 robj_classify(struct rules_ctx *c, __u64 obj)
{
	struct st_layout *lo = c->lo;
	struct rule_scratch *rs = c->rs;
	__u64 b = c->bias, type, tpf;

	type = rhw(rs, obj, lo->ob_type);
	if (type == lo->addr[ST_T_STR] + b)
		return ST_V_STR;
	if (type == lo->addr[ST_T_LONG] + b)
		return ST_V_INT;
	if (type == lo->addr[ST_T_TUPLE] + b)
		return ST_V_TUPLE;
	if (type == lo->addr[ST_T_BYTES] + b)
		return ST_V_BYTES;
	if (type == lo->addr[ST_T_LIST] + b)
		return ST_V_LIST;
	if (type == lo->addr[ST_T_DICT] + b)
		return ST_V_DICT;
	if (type == lo->addr[ST_T_BYTEARRAY] + b)
		return ST_V_BYTEARRAY;
	if (type == lo->addr[ST_T_FLOAT] + b || type == lo->addr[ST_T_CODE] + b)
		return 0;
	tpf = rd64(type + lo->tp_flags);
	if (tpf & TPF_UNICODE)
		return ST_V_STR;
	if (tpf & TPF_LONG)
		return ST_V_INT;
	if (tpf & TPF_TUPLE)
		return ST_V_TUPLE;
	if (tpf & TPF_LIST)
		return ST_V_LIST;
	if (tpf & TPF_BYTES)
		return ST_V_BYTES;
	if (tpf & TPF_DICT)
		return ST_V_DICT;
	return 0;
}

/* A PyLong whose head is in rs->head: *x, and *ovf +1/-1 when it is beyond 64 bits. */
static __always_inline void rint(struct rules_ctx *c, __u64 obj, __s64 *x, int *ovf)
{
	struct st_layout *lo = c->lo;
	__u64 word = rhw(c->rs, obj, lo->long_size), ndig, mag;
	__u32 dg[4] = {};
	int neg = 0;

	if (lo->flags & ST_LF_LONG_TAG) {
		ndig = (word & 3) == 1 ? 0 : word >> 3;
		neg = (word & 3) == 2;
	} else {
		ndig = (__s64)word < 0 ? -(__s64)word : word;
		neg = (__s64)word < 0;
	}
	if (ndig && ndig <= 2 && !(lo->long_digits & 7) && lo->long_digits + 8 <= HEAD_WORDS * 8) {
		/* Up to 60 bits: the digits are in the head already. */
		__u64 w = rhw(c->rs, obj, lo->long_digits);

		dg[0] = (__u32)w;
		dg[1] = ndig == 2 ? (__u32)(w >> 32) : 0;
	} else if (ndig) {
		bpf_probe_read_user(dg, ndig >= 3 ? 12 : ndig * 4, (void *)(obj + lo->long_digits));
	}
	mag = (__u64)dg[0] | (__u64)dg[1] << 30 | (__u64)dg[2] << 60;
	*ovf = 0;
	if (ndig > 3 || (ndig == 3 && dg[2] >= 8))
		*ovf = neg ? -1 : 1;
	*x = neg ? -(__s64)mag : (__s64)mag;
}

/*
 * A C value of the fallback's format as the int Py_BuildValue would make of it: *x, and *ovf
 * +1 beyond 64 signed bits. 0 for a format character that makes no int. rcond() and the
 * prefilter (rulepre.bpf.h) must agree on it.
 */
static __always_inline int rcval(__u8 fc, __u64 v, __s64 *x, int *ovf)
{
	switch (fc) {
	case 'i':
	case 'b':
	case 'h':
	case 'B':
		*x = (__s32)v;
		return 1;
	case 'H':
	case 'I':
		*x = (__u32)v;
		return 1;
	case 'l':
	case 'n':
	case 'L':
		*x = (__s64)v;
		return 1;
	case 'k':
	case 'K':
		*x = (__s64)v;
		*ovf = *x < 0;
		return 1;
	case 'p':
		*x = (__s32)v != 0;
		return 1;
	}
	return 0;
}

static __always_inline int rcmp(const volatile struct st_kcond *k, __s64 x, int ovf)
{
	__s64 lo = k->lo;

	switch (k->op) {
	case ST_KO_EQ:
		return !ovf && x == lo;
	case ST_KO_LT:
		return ovf < 0 || (!ovf && x < lo);
	case ST_KO_LE:
		return ovf < 0 || (!ovf && x <= lo);
	case ST_KO_GT:
		return ovf > 0 || (!ovf && x > lo);
	case ST_KO_GE:
		return ovf > 0 || (!ovf && x >= lo);
	case ST_KO_BITS:
		return (x & lo) != 0;
	case ST_KO_RANGE:
		return !ovf && x >= lo && x <= k->hi;
	}
	return 0;
}

/* Element `idx` of the tuple or list `obj`, or 0. */
static __always_inline __u64 ritem(struct rules_ctx *c, __u64 obj, __u32 idx)
{
	struct st_layout *lo = c->lo;
	__u8 kind = robj_kind(c, obj);
	__u64 n, items;

	if (kind != ST_V_TUPLE && kind != ST_V_LIST)
		return 0;
	n = rhw(c->rs, obj, lo->ob_size);
	if (idx >= n)
		return 0;
	items = kind == ST_V_TUPLE ? obj + lo->tuple_items : rhw(c->rs, obj, lo->list_items);
	return rd64(items + (__u64)idx * 8);
}

/* A C string or bytes of the fallback into vbuf (UTF-8 already: the matcher's own form). */
static __always_inline void rcstr(struct rule_scratch *rs, __u64 src, __s64 len)
{
	long n;

	if (len >= 0) {
		n = len > ST_KRULE_STR ? ST_KRULE_STR : len;
		barrier_var(n);
		if (n > ST_KRULE_STR)
			n = ST_KRULE_STR;
		if (n > 0 && bpf_probe_read_user(rs->vbuf, n, (void *)src))
			n = 0;
	} else {
		n = bpf_probe_read_user_str(rs->vbuf, ST_KRULE_STR + 1, (void *)src);
		n = n > 0 ? n - 1 : 0;
	}
	rs->vlen = (__u32)n;
}

/*
 * A str object into vbuf for a glob: compact ASCII as it is; other kinds read into raw[],
 * then narrowed one code unit per iteration (non-ASCII ones become 0x80, which only '*',
 * '?' and negated classes match). 1: vbuf ready; 2: narrowing started.
 */
/*
 * A str whose head is in rs->head: where its code units are (*data), how many (*len), and
 * their size (1, 2 or 4; 0 for a kind not compared); *ascii when compact ASCII, bytes as they
 * are. rstr() and the prefilter (rulepre.bpf.h) must read a str alike.
 */
static __always_inline __u32 rstr_at(struct rule_scratch *rs, struct st_layout *lo, __u64 obj,
				     __u64 *data, __u64 *len, int *ascii)
{
	__u32 state = (__u32)rhw(rs, obj, lo->str_state);
	__u32 kind = (state >> lo->str_kind_shift) & 7;

	*len = rhw(rs, obj, lo->str_length);
	*ascii = (state & lo->str_compact_bit) && (state & lo->str_ascii_bit);
	if (kind != 1 && kind != 2 && kind != 4)
		return 0;
	if (state & lo->str_compact_bit)
		*data = obj + (*ascii ? lo->str_ascii_data : lo->str_compact_data);
	else
		*data = rhw(rs, obj, lo->str_legacy_data);
	return *ascii ? 1 : kind;
}

static __always_inline int rstr(struct rules_ctx *c, __u64 obj)
{
	struct st_layout *lo = c->lo;
	struct rule_scratch *rs = c->rs;
	__u64 len = 0, data = 0;
	int ascii;
	__u32 kind = rstr_at(rs, lo, obj, &data, &len, &ascii), n;

	if (!kind)
		return 0;
	n = len > ST_KRULE_STR ? ST_KRULE_STR : (__u32)len;
	if (ascii) {
		barrier_var(n);
		if (n > ST_KRULE_STR)
			n = ST_KRULE_STR;
		if (n && bpf_probe_read_user(rs->vbuf, n, (void *)data))
			return 0;
		rs->vlen = n;
		return 1;
	}
	if (n * kind > RRAW)
		n = RRAW / kind;
	{
		__u32 bytes = n * kind;

		barrier_var(bytes);
		if (bytes > RRAW)
			bytes = RRAW;
		if (bytes && bpf_probe_read_user(rs->raw, bytes, (void *)data))
			return 0;
	}
	rs->kind = kind;
	rs->narrow = n;
	rs->ni = 0;
	rs->vlen = 0;
	return 2;
}

/* bytes or bytearray into vbuf. */
static __always_inline void rbytes(struct rules_ctx *c, __u64 obj, __u8 kind)
{
	struct st_layout *lo = c->lo;
	__u64 size = rhw(c->rs, obj, lo->ob_size);
	__u64 data = kind == ST_V_BYTES ? obj + lo->bytes_sval : rhw(c->rs, obj, lo->bytearray_start);

	rcstr(c->rs, data, (__s64)size);
}

/* ---- @exe: the executable's path ----------------------------------------------------- */

static __always_inline void rdone(struct rule_scratch *rs, int ok);

/*
 * A path the kernel cannot give (no exe_file, a walk that fails, longer than ST_KRULE_STR
 * bytes) decides a condition on the side that does not let a process slip through: a kill,
 * stop or -e rule holds (acted on, shown), an -x or count rule does not (shown).
 */
static __always_inline int rexe_safe(struct rule_scratch *rs)
{
	__u32 f = cfg_krules[rs->set & 1][rs->r & (ST_KRULE_MAX - 1)].flags;

	/* An -e rule on a name shown anyway would only give the event its rate: it does not. */
	if ((f & ST_KR_INCLUDE) && rs->name_kept)
		return 0;
	return !!(f & (ST_KR_KILL | ST_KR_STOP | ST_KR_INCLUDE));
}

/* The path in vbuf, ready for the glob; its result goes to the cache (rexe_note). */
static __always_inline void rexe_vbuf(struct rule_scratch *rs, const void *src, __u32 len)
{
	/* len bytes only: ebuf's path ends less than ST_NAME_MAX bytes before rule_scratch does. */
	len &= ST_NAME_MAX - 1;
	bpf_probe_read_kernel(rs->vbuf, len, src);
	rs->vlen = len;
	rs->exe_pend = 1;
}

static __always_inline struct rexe *rexe_get(void)
{
	return bpf_task_storage_get(&rule_exe, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
}

/* The glob of slot rs->exe_slot gave `res`: kept for the thread's next events. */
static __always_inline void rexe_note(struct rule_scratch *rs, int res)
{
	struct rexe *x;

	rs->exe_pend = 0;
	if (!rs->exe_cache || !(x = rexe_get()))
		return;
	x->known |= 1ULL << (rs->exe_slot & 63);
	if (res)
		x->hit |= 1ULL << (rs->exe_slot & 63);
}

/* Walk steps: a component or a mount crossed each; a 511-byte path has at most 255 names. */
#define REXE_STEPS 320

/* The walk is over: the path kept and matched, or the condition decided (rexe_safe). */
static __always_inline void rexe_end(struct rule_scratch *rs, int ok)
{
	struct rexe *x = rexe_get();
	__u32 pos = rs->wpos, len = ST_KRULE_STR - pos;

	rs->walking = 0;
	if (ok && !len) {
		/* The executable is a root itself: "/". */
		pos = --rs->wpos;
		rs->ebuf[pos & (ST_NAME_MAX - 1)] = '/';
		len = 1;
	}
	if (!ok || pos > ST_KRULE_STR) {
		if (x)
			x->state = REXE_UNKNOWN;
		rdone(rs, rexe_safe(rs));
		return;
	}
	len &= ST_NAME_MAX - 1;
	if (x) {
		bpf_probe_read_kernel(x->path, len, &rs->ebuf[pos & (ST_NAME_MAX - 1)]);
		x->len = len;
		x->state = REXE_PATH;
	}
	rexe_vbuf(rs, &rs->ebuf[pos & (ST_NAME_MAX - 1)], len);
	rs->matching = 1;
	st_glob_init(&rs->gst);
}

/*
 * One step up from rs->wdent in mount rs->wmnt, as the kernel's d_path() goes: at a mount's
 * root, on to where it is mounted; at the root of the topmost mount (the host's root, or a
 * container's own: what the host's /proc/PID/exe shows too), done. Each name is put before
 * the path so far, with its '/'.
 */
static __always_inline void rexe_step(struct rule_scratch *rs)
{
	struct dentry *d = (struct dentry *)rs->wdent, *up;
	struct mount *m = (struct mount *)rs->wmnt, *mp;
	const unsigned char *name;
	__u32 len, pos = rs->wpos;
	int end = -1; /* -1: on; 1: the path is whole; 0: it cannot be had */

	if (++rs->wsteps > REXE_STEPS || !d || !m) {
		end = 0;
	} else if (d == BPF_CORE_READ(m, mnt.mnt_root)) {
		mp = BPF_CORE_READ(m, mnt_parent);
		if (!mp || mp == m) {
			end = 1;
		} else {
			rs->wdent = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
			rs->wmnt = (__u64)mp;
		}
	} else {
		up = BPF_CORE_READ(d, d_parent);
		len = BPF_CORE_READ(d, d_name.len);
		name = BPF_CORE_READ(d, d_name.name);
		if (!up || up == d) {
			end = 1; /* a root that is no mount's: the path as far as it goes */
		} else if (!len || len > 255 || len + 1 > pos) {
			end = 0; /* too long for the matcher */
		} else {
			pos -= len;
			barrier_var(len);
			if (bpf_probe_read_kernel(&rs->ebuf[pos & (ST_NAME_MAX - 1)], len & 255,
						  name)) {
				end = 0;
			} else {
				pos--;
				rs->ebuf[pos & (ST_NAME_MAX - 1)] = '/';
				rs->wpos = pos;
				rs->wdent = (__u64)up;
			}
		}
	}
	if (end >= 0)
		rexe_end(rs, end);
}

/*
 * An @exe condition: 0 or 1 from the thread's cache, 2 with the cached path in vbuf, 4 when
 * the path is to be walked first (rexe_step, one iteration each, then the glob).
 */
static __always_inline int rexe_cond(struct rules_ctx *c, const volatile struct st_kcond *k)
{
	struct rule_scratch *rs = c->rs;
	struct task_struct *t = bpf_get_current_task_btf();
	struct rexe *x = rexe_get();
	__u32 slot = (__u32)k->lo & 63, gen = cfg_filter_gen;
	/* Plain loads through the task's BTF pointers (faults read as 0): no helper calls. */
	struct mm_struct *mm = t->mm;
	struct file *f = mm ? mm->exe_file : 0;
	__u64 id = t->self_exec_id;

	rs->exe_slot = slot;
	rs->exe_cache = (gen & 1) == rs->set;
	if (x) {
		if (x->file != (__u64)f || x->exec_id != id) {
			x->file = (__u64)f;
			x->exec_id = id;
			x->state = REXE_NONE;
			x->known = x->hit = 0;
			x->gen = gen;
		}
		if (rs->exe_cache && x->gen != gen) {
			x->known = x->hit = 0;
			x->gen = gen;
		}
		if (rs->exe_cache && ((x->known >> slot) & 1))
			return (x->hit >> slot) & 1;
		if (x->state == REXE_UNKNOWN)
			return rexe_safe(rs);
		if (x->state == REXE_PATH) {
			rexe_vbuf(rs, x->path, x->len);
			return 2;
		}
	}
	if (!f)
		return rexe_safe(rs);
	rs->wdent = (__u64)BPF_CORE_READ(f, f_path.dentry);
	rs->wmnt = (__u64)BPF_CORE_READ(f, f_path.mnt) - bpf_core_field_offset(struct mount, mnt);
	rs->wpos = ST_KRULE_STR;
	rs->wsteps = 0;
	rs->walking = 1;
	return 4;
}

/*
 * One condition: 0 or 1 decided, 2 when a glob is to run over vbuf (rs->matching set by the
 * caller), 3 when a str must be narrowed first, 4 when a walk (@exe) comes first.
 */
static __always_inline int rcond(struct rules_ctx *c, const volatile struct st_kcond *k)
{
	struct rule_scratch *rs = c->rs;
	struct st_layout *lo = c->lo;
	__u32 arg = k->arg;
	__u64 v, obj;
	__s64 x = 0;
	int ovf = 0;
	__u8 fc, kind;

	if (arg == ST_KA_UID)
		return (__u32)bpf_get_current_uid_gid() == (__u32)k->lo;
	if (arg == ST_KA_CGROUP)
		return bpf_current_task_under_cgroup(&rule_cgroups, (__u32)k->lo & (ST_KRULE_MAX - 1)) ==
		       1;
	if (arg == ST_KA_EXE)
		return rexe_cond(c, k);
	if (arg == ST_KA_COMM) {
		bpf_get_current_comm(rs->vbuf, ST_COMM_LEN);
		rs->vlen = 0;
		for (__u32 i = 0; i < ST_COMM_LEN; i++) {
			if (!rs->vbuf[i])
				break;
			rs->vlen = i + 1;
		}
		return 2;
	}
	if (arg >= rs->nargs || arg >= RARGS)
		return 0;
	fc = rs->a[arg & (RARGS - 1)].fc;
	v = rs->a[arg & (RARGS - 1)].v;
	if (k->flags & ST_KC_INDEX) {
		if (fc != 'O')
			return 0;
		v = ritem(c, v, k->index);
		if (!v)
			return 0;
		fc = 'O';
	}
	if (fc != 'O') {
		/* A C value of the fallback's format, as Py_BuildValue would make it. */
		__s64 len = rs->a[arg & (RARGS - 1)].len;

		switch (fc) {
		case 's':
		case 'z':
		case 'U':
		case 'y':
			if (!v)
				return k->op == ST_KO_NONE;
			if (k->op == ST_KO_GLOB || (k->flags & ST_KC_LEN)) {
				rcstr(rs, v, len);
				if (k->flags & ST_KC_LEN)
					return rcmp(k, rs->vlen, 0);
				return 2;
			}
			return 0;
		case 'p':
			if (k->op == ST_KO_TRUE)
				return (__s32)v != 0;
			if (k->op == ST_KO_FALSE)
				return (__s32)v == 0;
			/* fall through: else 0 or 1 */
		default:
			if (!rcval(fc, v, &x, &ovf))
				return 0;
		}
		if (k->flags & ST_KC_LEN)
			return 0;
		return rcmp(k, x, ovf);
	}
	obj = v;
	kind = robj_kind(c, obj);
	if (k->op == ST_KO_NONE)
		return kind == ST_V_NONE;
	if (k->op == ST_KO_TRUE)
		return kind == ST_V_TRUE;
	if (k->op == ST_KO_FALSE)
		return kind == ST_V_FALSE;
	if (k->flags & ST_KC_LEN) {
		if (kind == ST_V_STR)
			x = rhw(rs, obj, lo->str_length);
		else if (kind == ST_V_BYTES || kind == ST_V_BYTEARRAY || kind == ST_V_TUPLE ||
			 kind == ST_V_LIST)
			x = rhw(rs, obj, lo->ob_size);
		else if (kind == ST_V_DICT)
			x = rhw(rs, obj, lo->dict_used);
		else
			return 0;
		return rcmp(k, x, 0);
	}
	if (k->op == ST_KO_GLOB) {
		if (kind == ST_V_STR) {
			int got = rstr(c, obj);

			return got == 2 ? 3 : got == 1 ? 2 : 0;
		}
		if (kind == ST_V_BYTES || kind == ST_V_BYTEARRAY) {
			rbytes(c, obj, kind);
			return 2;
		}
		return 0;
	}
	if (kind == ST_V_TRUE || kind == ST_V_FALSE)
		x = kind == ST_V_TRUE;
	else if (kind == ST_V_INT) {
		x = rs->hx; /* decoded by robj_kind() */
		ovf = rs->hovf;
	} else
		return 0;
	return rcmp(k, x, ovf);
}

/* The lowest bit set of x (not 0), by de Bruijn: BPF has no count-trailing-zeros. */
static __always_inline __u32 rlowest(__u64 x)
{
	static const __u8 tab[64] = {
		0,  1,	2,  53, 3,  7,	54, 27, 4,  38, 41, 8,	34, 55, 48, 28,
		62, 5,	39, 46, 44, 42, 22, 9,	24, 35, 59, 56, 49, 18, 29, 11,
		63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
		51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12,
	};

	return tab[(((x & -x) * 0x022fdd63cc95386dULL) >> 58) & 63];
}

/* The condition decided: on to the next, or the rule fails. */
static __always_inline void rdone(struct rule_scratch *rs, int ok)
{
	if (ok) {
		rs->c++;
	} else {
		rs->r++;
		rs->c = 0;
	}
}

static __attribute__((unused)) long rules_eval_cb(__u32 i, void *data)
{
	struct rules_ctx *c = data;
	struct rule_scratch *rs = c->rs;
	__u32 set = rs->set & 1, r, cc;
	const volatile struct st_kcond *k;
	int res;

	if (rs->narrow) {
		/* One code unit of a 1-, 2- or 4-byte str into vbuf. */
		__u32 ni = rs->ni, u;

		if (rs->kind == 1)
			u = rs->raw[ni & (RRAW - 1)];
		else if (rs->kind == 2)
			u = *(__u16 *)&rs->raw[(ni * 2) & (RRAW - 2)];
		else
			u = *(__u32 *)&rs->raw[(ni * 4) & (RRAW - 4)];
		rs->vbuf[ni & (ST_NAME_MAX - 1)] = u < 0x80 ? (__u8)u : 0x80;
		rs->ni = ni + 1;
		rs->vlen = ni + 1;
		if (--rs->narrow == 0) {
			rs->matching = 1;
			st_glob_init(&rs->gst);
		}
		return 0;
	}
	if (rs->walking) {
		rexe_step(rs);
		return 0;
	}
	if (rs->matching) {
		if (!st_glob_step(&rs->gst, &cfg_rglobs[set][rs->g & (ST_KRULE_GLOBS - 1)],
				  cfg_rclasses[set], rs->vbuf, rs->vlen & (ST_NAME_MAX - 1)))
			return 0;
		rs->matching = 0;
		if (rs->exe_pend)
			rexe_note(rs, rs->gst.result);
		rdone(rs, rs->gst.result ^ rs->neg);
		return 0;
	}
	r = rs->r;
	if (r >= rs->nrules || r >= ST_KRULE_MAX)
		return 1;
	if (!((rs->mask >> r) & 1)) {
		/* Straight to the next rule to evaluate. */
		__u64 left = rs->mask & ~((2ULL << r) - 1);

		if (!left)
			return 1;
		rs->r = rlowest(left);
		rs->c = 0;
		return 0;
	}
	cc = rs->c;
	if (cc >= cfg_krules[set][r].nconds || cc >= ST_KRULE_CONDS) {
		rs->hit |= 1ULL << r;
		rs->r = r + 1;
		rs->c = 0;
		if (cfg_krules[set][r].flags & ST_KR_COUNT) {
			__u32 idx = ST_KRULE_COUNT_IDX(set, r);
			__u64 *n = bpf_map_lookup_elem(&rule_counts, &idx);

			/* Atomic: a preempted run on this CPU must not lose an increment. */
			if (n)
				__sync_fetch_and_add(n, 1);
		}
		/*
		 * A filter that holds decides the event: the actions and counts, laid out
		 * first, are decided already, and no other filter of the mask can change the
		 * verdict.
		 */
		if (cfg_krules[set][r].flags & ST_KR_EXCLUDE)
			return 1;
		if ((cfg_krules[set][r].flags & ST_KR_INCLUDE) && !rs->name_kept)
			return 1;
		return 0;
	}
	k = &cfg_krules[set][r].conds[cc];
	res = rcond(c, k);
	rs->neg = !!(k->flags & ST_KC_NEG);
	if (res >= 2) {
		rs->g = k->glob;
		if (res == 4)
			return 0; /* rexe_step() first */
		if (res == 3 && rs->narrow)
			return 0;
		rs->matching = 1;
		st_glob_init(&rs->gst);
		return 0;
	}
	rdone(rs, res ^ rs->neg);
	return 0;
}

/* Iterations: every condition, plus each glob's steps over a value (bounded, see glob_match.h). */
#define RULES_ITERS (1 << 20)

#include "rulepre.bpf.h"

/*
 * With the arguments located in rs->a[]: evaluates the rules in sc->rmask, signals the
 * process on a kill or stop (before anything else happens to the event), notes the action for
 * rec_end(), and returns the event's verdict under the -e/-x rules.
 */
static __always_inline __u8 rules_decide_body(struct scratch *sc, struct rules_ctx *c,
					       __u8 verdict)
{
	struct rule_scratch *rs = c->rs;
	__u64 hit, kill, stop;
	__u32 set = sc->rset & 1;

	rs->r = 0;
	rs->c = 0;
	rs->hit = 0;
	rs->matching = 0;
	rs->narrow = 0;
	rs->walking = rs->exe_pend = 0;
	rs->set = set;
	rs->mask = sc->rmask;
	rs->hobj = 0;
	rs->name_kept = verdict == NC_KEEP;
	rs->nrules = cfg_nrules[set] > ST_KRULE_MAX ? ST_KRULE_MAX : cfg_nrules[set];
	/* Rules whose key condition the arguments cannot satisfy are not evaluated. */
	rs->mask = rules_pre(c);
	if (rs->mask)
		bpf_loop(RULES_ITERS, rules_eval_cb, c, 0);
	hit = rs->hit;
	kill = hit & cfg_rmask_kill[set];
	stop = hit & cfg_rmask_stop[set];
	if (kill || stop) {
		/* First of all: nothing that follows (a full ring, a cut value) may prevent it. */
		sc->act = kill ? ST_KR_KILL : ST_KR_STOP;
		sc->act_rule = cfg_krules[set][rlowest(kill ? kill : stop) & (ST_KRULE_MAX - 1)].id;
		sc->act_flags = 0;
		if (cfg_dry_run)
			sc->act_flags |= ST_AF_DRY_RUN;
		else if (bpf_send_signal(kill ? 9 : 19))
			sc->act_flags |= ST_AF_SIG_FAIL;
		stat_inc(kill ? ST_STAT_ACT_KILL : ST_STAT_ACT_STOP);
	}
	/* A count rule's events are counted (rules_eval_cb), not shown, whatever -e says. */
	if ((hit & cfg_rmask_inc[set]) && !(hit & cfg_rmask_count[set]) && verdict != NC_KEEP)
		verdict = NC_KEEP;
	else if ((hit & (cfg_rmask_exc[set] | cfg_rmask_count[set])) && verdict == NC_KEEP)
		verdict = tamper_sign(c->e->tail, c->e->name_len) ? NC_ALERT : NC_DROP;
	if ((cfg_rate_limit & ST_RLF_RULES) && verdict == NC_KEEP && (hit & cfg_rmask_inc[set])) {
		/* The first -e rule that holds gives the rate, over the name's; unrated, none. */
		__u32 r = rlowest(hit & cfg_rmask_inc[set]);

		sc->gs.rule = (cfg_rmask_rated[set] >> r) & 1 ? ST_RL_SLOTS + r : ~0u;
		sc->gs.rule_gen = set;
	}
	sc->act_only = 0;
	if (sc->act && verdict == NC_DROP) {
		/* Decoded for the action record alone. */
		sc->act_only = 1;
		verdict = NC_ALERT;
	}
	return verdict;
}

#ifdef ST_BPF_DEFINE
__noinline int rules_decide_g(struct scratch *sc, struct st_layout *lo, __u64 bias, __u32 verdict)
{
	struct rules_ctx c = { .lo = lo, .bias = bias };

	if (!sc || !lo)
		return verdict;
	c.rs = rules_scratch();
	c.e = (struct st_event *)sc->buf;
	if (!c.rs)
		return verdict;
	return rules_decide_body(sc, &c, (__u8)verdict);
}
#else
extern int rules_decide_g(struct scratch *sc, struct st_layout *lo, __u64 bias, __u32 verdict);
#endif

/* With the arguments located in the CPU's rule_scratch (the callers below). */
static __always_inline __u8 rules_decide(struct scratch *sc, struct rules_ctx *c, __u8 verdict)
{
	return (__u8)rules_decide_g(sc, c->lo, c->bias, verdict);
}

/* The first n (<= RARGS) of rs->items[] are the arguments, objects. */
static __always_inline void rargs_objects(struct rule_scratch *rs, __u64 n)
{
	for (__u32 k = 0; k < RARGS; k++) {
		if (k >= n)
			break;
		rs->a[k].v = rs->items[k];
		rs->a[k].fc = 'O';
		rs->a[k].len = -1;
	}
	rs->nargs = n;
}

/* The probe: the arguments are the tuple's items. */
static __always_inline __u8 rules_probe(struct scratch *sc, struct st_layout *lo, __u64 bias,
					__u64 args, __u8 verdict)
{
	struct rule_scratch *rs = rules_scratch();
	struct rules_ctx c = { .lo = lo, .bias = bias, .e = (struct st_event *)sc->buf };
	__u64 n;

	if (!rs)
		return verdict;
	c.rs = rs;
	rs->nargs = 0;
	if (args && !bpf_probe_read_user(rs->head, sizeof(rs->head), (void *)args) &&
	    rhw(rs, args, lo->ob_type) == lo->addr[ST_T_TUPLE] + bias) {
		__u64 *items = rs->items;

		__u32 w = lo->tuple_items >> 3, inhead = 0;

		n = rhw(rs, args, lo->ob_size);
		n = n > RARGS ? RARGS : n;
		barrier_var(n);
		if (n > RARGS)
			n = RARGS;
		/* Most events have few arguments: their pointers came with the tuple's head. */
		if (!(lo->tuple_items & 7) && w < HEAD_WORDS && n <= HEAD_WORDS - w) {
			for (__u32 k = 0; k < HEAD_WORDS; k++) {
				if (k >= n || w + k >= HEAD_WORDS)
					break;
				items[k] = rs->head[(w + k) & 7];
			}
			inhead = 1;
		}
		if (n && (inhead ||
			  !bpf_probe_read_user(items, n * 8, (void *)(args + lo->tuple_items)))) {
			rargs_objects(rs, n);
		}
	}
	return rules_decide(sc, &c, verdict);
}

/* The fallback's sys.audit(): the arguments are args[1:], objects. */
static __always_inline __u8 rules_objv(struct scratch *sc, struct st_layout *lo, __u64 bias,
				       __u64 argv, __u64 n, __u8 verdict)
{
	struct rule_scratch *rs = rules_scratch();
	struct rules_ctx c = { .lo = lo, .bias = bias, .e = (struct st_event *)sc->buf };
	__u64 *items;

	if (!rs)
		return verdict;
	items = rs->items;
	c.rs = rs;
	rs->nargs = 0;
	n = n > RARGS ? RARGS : n;
	barrier_var(n);
	if (n > RARGS)
		n = RARGS;
	if (n && !bpf_probe_read_user(items, n * 8, (void *)argv)) {
		rargs_objects(rs, n);
	}
	return rules_decide(sc, &c, verdict);
}

/* ---- the fallback's C calls: arguments from the format and the va_list --------------- */

static __always_inline __u64 rva_gp(struct rule_scratch *rs)
{
	return va_next_gp(&rs->gp_off, &rs->overflow, rs->gpr);
}

struct rfmt_ctx {
	struct rule_scratch *rs;
	const char *fmt; /* FB_FMT_BUF bytes, in map memory */
};

/* One format character: the va_list consumed as fb_cb() consumes it; items located. */
static __attribute__((unused)) long rules_fmt_cb(__u32 i, void *data)
{
	struct rfmt_ctx *x = data;
	struct rule_scratch *rs = x->rs;
	__u32 p = rs->pos, d = rs->depth;
	char ch = x->fmt[p & 255], nx = x->fmt[(p + 1) & 255];
	struct rarg a = { .len = -1, .fc = (__u8)ch };

	if (!ch || p >= 128)
		return 1;
	rs->pos = p + 1;
	switch (ch) {
	case ',':
	case ':':
	case ' ':
	case '\t':
	case '#':
	case '&':
		return 0;
	case ')':
	case ']':
	case '}':
		if (d)
			rs->depth = d - 1;
		return 0;
	case 'd':
	case 'f':
		if (rs->fp_off < 176)
			rs->fp_off += 16;
		else
			rs->overflow += 8;
		break;
	case '(':
	case '[':
	case '{':
		rs->depth = d + 1;
		if (d == 0 && rs->ntop == 0)
			rs->first_open = 1;
		break;
	default:
		if (nx == '#' && (ch == 's' || ch == 'z' || ch == 'U' || ch == 'y' || ch == 'u' ||
				  ch == 'Z')) {
			a.v = rva_gp(rs);
			a.len = (__s64)rva_gp(rs);
			rs->pos = p + 2;
		} else {
			a.v = rva_gp(rs);
			if (ch == 'O' && nx == '&') {
				rva_gp(rs);
				rs->pos = p + 2;
				a.fc = '&';
			}
		}
		if (ch == 'S' || ch == 'N')
			a.fc = 'O';
	}
	if (d == 0) {
		if (rs->ntop < RARGS)
			rs->a[rs->ntop & (RARGS - 1)] = a;
		rs->ntop++;
	} else if (d == 1 && rs->first_open && rs->ntop == 1) {
		if (rs->ninner < RARGS)
			rs->inner[rs->ninner & (RARGS - 1)] = a;
		rs->ninner++;
	}
	return 0;
}

/*
 * The funnel (sys_audit_tstate and the variadic forms): the arguments tuple Py_BuildValue
 * would make of `fmt`, located in the va_list (gp_off, overflow and the general registers as
 * fb_event() set them up), without reading any of it yet.
 */
static __always_inline __u8 rules_fmt(struct scratch *sc, struct st_layout *lo, __u64 bias,
				      const char *fmt, __u32 gp_off, __u32 fp_off, __u64 overflow,
				      const __u64 *gpr, __u8 verdict)
{
	struct rule_scratch *rs = rules_scratch();
	struct rules_ctx c = { .lo = lo, .bias = bias, .e = (struct st_event *)sc->buf };
	struct rfmt_ctx x = { .fmt = fmt };

	if (!rs)
		return verdict;
	c.rs = rs;
	x.rs = rs;
	rs->pos = 0;
	rs->depth = 0;
	rs->ntop = 0;
	rs->ninner = 0;
	rs->first_open = 0;
	rs->gp_off = gp_off;
	rs->fp_off = fp_off;
	rs->overflow = overflow;
	for (int k = 0; k < 6; k++)
		rs->gpr[k] = gpr[k];
	bpf_loop(129, rules_fmt_cb, &x, 0);
	rs->nargs = rs->ntop > RARGS ? RARGS : rs->ntop;
	if (rs->ntop == 1 && rs->first_open) {
		/* "(...)": the bracket is the arguments tuple. */
		rs->nargs = rs->ninner > RARGS ? RARGS : rs->ninner;
		for (int k = 0; k < RARGS; k++)
			rs->a[k] = rs->inner[k];
	} else if (rs->ntop == 1 && rs->a[0].fc == 'O' &&
		   robj_kind(&c, rs->a[0].v) == ST_V_TUPLE) {
		/* A lone "O" holding a tuple: that tuple is the arguments tuple. */
		__u64 t = rs->a[0].v, *items = rs->items, n = rhw(rs, t, lo->ob_size);

		rs->nargs = 0;
		n = n > RARGS ? RARGS : n;
		barrier_var(n);
		if (n > RARGS)
			n = RARGS;
		if (n && !bpf_probe_read_user(items, n * 8, (void *)(t + lo->tuple_items))) {
			rargs_objects(rs, n);
		}
	}
	return rules_decide(sc, &c, verdict);
}

/* ---- the action record -------------------------------------------------------------- */

/*
 * The event's record is built (size bytes): onto the events ring unless it was decoded for an
 * action alone, then, for an action, onto the notice ring as the event record typed
 * ST_REC_ACTION followed by struct st_action_tail; with the values if they fit, else the name
 * alone; a loss counted. Returns the ring_out() result for the event (0 when not sent).
 */
static __always_inline long rules_out(struct scratch *sc, __u32 size)
{
	struct st_event *e = (struct st_event *)sc->buf;
	struct st_action_tail *t;
	__u32 rule = sc->act_rule, act = sc->act, flags = sc->act_flags, small;
	long err = 0;

	if (!sc->act_only)
		err = ring_out(sc->buf, size);
	else
		stat_inc(ST_STAT_FILTERED);
	sc->act = 0;
	sc->act_only = 0;
	e->type = ST_REC_ACTION;
	t = (struct st_action_tail *)&sc->buf[size & (ST_REC_MAX - 1)];
	t->rule = rule;
	t->action = (__u16)act;
	t->flags = (__u16)flags;
	if (!bpf_ringbuf_output(&notices, sc->buf, (size & (ST_REC_MAX - 1)) + sizeof(*t),
				BPF_RB_FORCE_WAKEUP))
		goto out;
	/* No room for the values: the name alone, which a small ring still takes. */
	small = HDR_SZ + (e->name_len & (ST_NAME_MAX - 1));
	e->nvalues = 0;
	e->flags = (e->flags & ~ST_EF_CHAIN) | ST_EF_ARGS_FAULT;
	e->size = small;
	t = (struct st_action_tail *)&sc->buf[small & (ST_REC_MAX - 1)];
	t->rule = rule;
	t->action = (__u16)act;
	t->flags = (__u16)(flags | ST_AF_NO_ARGS);
	if (bpf_ringbuf_output(&notices, sc->buf, (small & (ST_REC_MAX - 1)) + sizeof(*t),
			       BPF_RB_FORCE_WAKEUP))
		stat_inc(ST_STAT_ACT_LOST);
out:
	e->type = ST_REC_EVENT;
	return err;
}

#endif /* SEATRACE_RULES_BPF_H */
