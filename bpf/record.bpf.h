/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Record building, shared by the probe and the uprobe fallback: the
 * process filter and the scratch, the event name and the filters' verdict
 * on it, the header and the raising frame, then the ring buffer.
 */
#ifndef SEATRACE_RECORD_BPF_H
#define SEATRACE_RECORD_BPF_H

#include "common.bpf.h"
#include "filter.bpf.h"
#include "decode.bpf.h"
#include "rules.bpf.h"
#include "count.bpf.h"

/* Capture the raising frame of every event (user-defined pairing rules), not only likely pairs. */
ST_SHARED const volatile __u32 cfg_frames_all;

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
 * The thread's real uid and gid, as bpf_get_current_uid_gid() gives them (its credentials' ids
 * in the initial user namespace, where the kernel keeps them), read straight from its
 * credentials: the helper call cost ~25 ns an event in tools/kernel-ab.py, these loads ~10 ns.
 */
static __always_inline void cur_ids(struct st_event *e)
{
	struct task_struct *t = bpf_get_current_task_btf();
	const struct cred *c = t->cred;

	e->uid = c->uid.val;
	e->gid = c->gid.val;
}

/*
 * The steps, for the USDT program (probe.bpf.c) and the uprobe fallback
 * (fallback.bpf.c): the process filter and the scratch and layout lookups
 * (rec_scratch), the name and the filters' verdict on it (rec_name_cached),
 * the header (rec_begin), then the values, then the ring buffer (rec_end).
 * All inlined: the USDT path runs the same instructions it ran as one function.
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
	if (cfg_rules)
		sc->act = 0;
	*lop = lo;
	return sc;
}

static __always_inline void rec_release(struct scratch *sc)
{
	*(volatile __u64 *)&sc->busy = 0;
}

/*
 * Known event names in each interpreter file's read-only segments, from the file (wire.h,
 * struct st_ro_name; user/ronames.c). A forked child shares its parent's pages but maps
 * them only as it touches them: a name the child never touched cannot be read from it, and
 * without this table its event would pass every rule and filter nameless.
 */
ST_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, ST_RO_NAMES_PER_FILE); /* times --max-files, by the reader */
	__type(key, __u64);
	__type(value, struct st_ro_name);
} ro_names SEC(".maps");

/*
 * The event name, a C string in the traced process, at the start of the tail. `key`: the
 * name cache's key for a name in the interpreter's read-only segments, else 0.
 */
static __always_inline void rec_name(struct st_event *e, const char *event, __u64 key)
{
	struct st_ro_name *known;
	long n;

	n = bpf_probe_read_user_str(e->tail, ST_NAME_MAX, event);
	if (n <= 0 && key && (known = bpf_map_lookup_elem(&ro_names, &key))) {
		__builtin_memcpy(e->tail, known->name, ST_RO_NAME_MAX);
		n = (known->len & (ST_RO_NAME_MAX - 1)) + 1;
		e->tail[n - 1] = 0;
		stat_inc(ST_STAT_NAME_FROM_FILE);
	} else if (n <= 0) {
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
static __always_inline __u8 rec_verdict(struct scratch *sc, struct st_event *e, __u8 *pair,
					__u32 gen)
{
	__u32 len = e->name_len & (ST_NAME_MAX - 1);
	__u8 v = NC_KEEP;

	if (cfg_rate_limit & ST_RLF_RULES) {
		sc->gs.rule = ~0u;
		sc->gs.rule_gen = gen;
	}
	*pair = (__u8)may_pair(e->tail, len);
	if ((cfg_filter_live ? cfg_nglobs[gen & 1] : cfg_nglobs_fixed) &&
	    !name_wanted(&sc->gs, e->tail, len, gen))
		v = tamper_sign(e->tail, e->name_len) ? NC_ALERT : NC_DROP;
	if (cfg_rules)
		v = rules_name(sc, e, gen, v);
	return v;
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
	__u32 gen = cfg_filter_gen;
	__u8 verdict;

	if (cfg_count == ST_COUNT_ONLY) {
		sc->name_owed = 0;
		sc->vgen = gen;
		sc->vok = 0;
	}
	if (at >= lo->ro_lo && at < lo->ro_hi && at < (1ULL << 48)) {
		key = (__u64)(slot + 1) << 48 | at;
		ne = &sc->nc[((at * 0x9E3779B97F4A7C15ULL) >> 58) & (NC_SLOTS - 1)];
		if (ne->key == key && ne->gen == gen) {
			*pair = ne->pair;
			if (cfg_rate_limit & ST_RLF_RULES) {
				sc->gs.rule = ne->rule == 0xff ? ~0u : ne->rule;
				sc->gs.rule_gen = gen;
			}
			if (cfg_rules)
				sc->rmask = ne->rules, sc->rset = gen & 1;
			/* -c alone: the count needs the name on a miss only (count.bpf.h). */
			if (cfg_count == ST_COUNT_ONLY && ne->verdict == NC_KEEP &&
			    !(cfg_rules && ne->rules))
				sc->name_owed = ((at * 0x9E3779B97F4A7C15ULL) >> 58) + 1;
			else if (ne->verdict != NC_DROP || cfg_syscalls || (cfg_rules && ne->rules))
				__builtin_memcpy(e->tail, ne->name, NC_NAME);
			e->flags = 0;
			e->name_len = ne->len;
			if (cfg_count == ST_COUNT_ONLY)
				sc->vok = 1;
			return ne->verdict;
		}
	}
	rec_name(e, event, key);
	verdict = rec_verdict(sc, e, pair, gen);
	if (ne && e->name_len && e->name_len < NC_NAME && !(e->flags & ST_EF_NAME_TRUNC)) {
		__builtin_memcpy(ne->name, e->tail, NC_NAME);
		ne->len = (__u8)e->name_len;
		if (cfg_rate_limit & ST_RLF_RULES)
			ne->rule = sc->gs.rule < 0xff ? (__u8)sc->gs.rule : 0xff;
		ne->verdict = verdict;
		ne->pair = *pair;
		ne->gen = gen;
		ne->key = key;
		if (cfg_rules)
			ne->rules = sc->rmask;
		/* A name the cache keeps: read, whole, what the address holds. */
		if (cfg_count == ST_COUNT_ONLY)
			sc->vok = 1;
	}
	return verdict;
}

/*
 * -c/-C: an event the filters keep is counted (count.bpf.h); `event` is its name's address in
 * the process, or NULL. 1 when that is all there is to do (-c): no record.
 */
static __always_inline int rec_counted(struct scratch *sc, struct st_layout *lo, __u64 id,
				       __u32 slot, __u64 bias, const char *event, __u8 verdict)
{
	if (!cfg_count || verdict != NC_KEEP)
		return 0;
	count_event(sc, lo, slot, event ? (__u64)event - bias : ~0ULL, id);
	return cfg_count == ST_COUNT_ONLY;
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
		note_audit(&sc->la, (__u32)id, e->ts_ns, e->tail);
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
	cur_ids(e);
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
	d->s->skip = DICT_SKIP;
	return 1;
}

/*
 * After rec_begin(), before the values: 1 when the rate limits let the event through
 * (bpf/ratelimit.bpf.h); else it is counted there and goes no further. Alert-only records
 * (a sign of tampering) and events a kill or stop rule acted on are never limited.
 */
static __always_inline int rec_rate_ok(struct scratch *sc)
{
	struct st_event *e = (struct st_event *)sc->buf;

	/* An action's record too: the rule acted, the record says so. */
	if (!cfg_rate_limit || (e->flags & ST_EF_ALERT_ONLY) || (cfg_rules && sc->act))
		return 1;
	return rl_admit(e->pid, e->ts_ns, e->tail, e->name_len, sc->gs.rule, sc->gs.rule_gen,
			&sc->rl_key, &sc->rl_val);
}

/* ---- the raising frame's callers, for span depth (a tail section of its own) ---------- */

struct chain_ctx {
	__u8 *buf;  /* the record, in the scratch */
	__u64 fr;   /* the frame whose caller is read next */
	__u32 pos;  /* where the next address goes */
	__u16 n;    /* addresses written */
	__u16 back; /* st_layout.fr_back */
	__u16 cut;
};

static __attribute__((unused)) long chain_cb(__u32 i, void *data)
{
	struct chain_ctx *c = data;
	__u64 next = rd64(c->fr + c->back);

	if (!next)
		return 1;
	if (c->n >= ST_CHAIN_MAX) {
		c->cut = 1;
		return 1;
	}
	*(__u64 *)&c->buf[c->pos & (ST_REC_MAX - 1)] = next;
	c->pos += 8;
	c->n++;
	c->fr = next;
	return 0;
}

/*
 * After the values of an event that may open a span: the addresses of the frames that called
 * the raising one, then struct st_chain_tail (wire.h). Skipped, and not flagged, when the
 * layout has no way up or the record has no room left: the reader then counts depth per
 * thread.
 */
static __always_inline void rec_chain(struct dec_ctx *d)
{
	struct st_event *e = (struct st_event *)d->sc->buf;
	struct chain_ctx c = { .buf = d->sc->buf, .fr = e->frame, .back = d->lo->fr_back };
	struct st_chain_tail *t;

	if (!c.fr || !c.back ||
	    d->s->off + ST_CHAIN_MAX * 8 + sizeof(struct st_chain_tail) > ST_REC_MAX)
		return;
	c.pos = d->s->off;
	bpf_loop(ST_CHAIN_MAX + 1, chain_cb, &c, 0);
	t = (struct st_chain_tail *)&d->sc->buf[c.pos & (ST_REC_MAX - 1)];
	t->nchain = c.n;
	t->flags = c.cut ? ST_CF_CUT : 0;
	t->_pad = 0;
	d->s->off = c.pos + sizeof(*t);
	e->flags |= ST_EF_CHAIN;
}

#include "stack.bpf.h"

/* Placeholders for values promised but not written, then the record onto the ring. */
static __always_inline void rec_end(struct dec_ctx *d)
{
	struct st_event *e = (struct st_event *)d->sc->buf;

	if (d->s->owed)
		bpf_loop(ST_MAX_VALUES, fill_cb, d, 0);
	if (cfg_stack_depth) /* -k */
		rec_stack(d);
	rec_chain(d);

	if (d->s->rec_full)
		e->flags |= ST_EF_REC_FULL;
	e->nvalues = (__u16)d->s->nvalues;
	__u32 size = d->s->off;
	/* take() and room() keep every record within the limit: this is a bug, counted. */
	if (size > ST_REC_MAX) {
		stat_inc(ST_STAT_OVERSIZE);
		return;
	}
	e->size = size;

	if (cfg_rules && d->sc->act ? rules_out(d->sc, size) : ring_out(d->sc->buf, size))
		stat_inc(ST_STAT_LOST);
}

#endif /* SEATRACE_RECORD_BPF_H */
