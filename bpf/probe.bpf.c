// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * seatrace's probe program: on CPython's python:audit probe, filter the
 * event by name, then walk the arguments tuple and write typed values into
 * one variable-length record (bpf/wire.h) on the ring buffer.
 *
 * This unit defines the maps and settings the units share (common.bpf.h).
 */
#define ST_BPF_DEFINE
/* Inlined here (count.bpf.h): the probe's program has the stack for it. */
#define ST_COUNT_INLINE
#include "common.bpf.h"
#include "filter.bpf.h"
#include "decode.bpf.h"
#include "record.bpf.h"

/* The license of the whole linked object, every unit's programs included. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* One event from the probe, into the scratch rec_scratch() handed out. */
static __always_inline void audit_event(struct scratch *sc, struct st_layout *lo, __u64 id,
					__u32 slot, __u64 bias, const char *event, void *args)
{
	__u8 pair = 0, verdict = rec_name_cached(sc, lo, slot, bias, event, &pair);

	/* Argument rules: only for names some rule mentions (the name cache knows). */
	if (cfg_rules && sc->rmask)
		verdict = rules_probe(sc, lo, bias, (__u64)args, verdict);

	/* On the stack: bpf_loop() wants its context there, and map memory cannot hold pointers. */
	struct dec_ctx dd, *d = &dd;

	if (rec_counted(sc, lo, id, slot, bias, event, verdict))
		return;
	if (!rec_begin(d, sc, lo, id, slot, bias, verdict, pair) || !rec_rate_ok(sc))
		return;
	if (!args_fast(d, (__u64)args))
		push_frame(d, FR_OBJ, (__u64)args, 0, 1, 0, 0, 0);
	/* Deleted dict entries cost iterations too, hence the margin. */
	if (d->s->fsp)
		bpf_loop(DEC_ITERS, dec_cb, d, 0);
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
 * With no process filter: who raised the event and at which site, without a helper call when
 * this CPU's last event was the same task's at the same site. A helper call costs the traced
 * program more than its run in the kernel shows (docs/benchmarks.md), and the two every event
 * made (who, and which site) were most of the cost of -c and of an event filtered out. A
 * uprobe's context is the user registers saved on the task's own kernel stack: no two live
 * tasks share that address.
 * cfg_task_gen, bumped by every exit and exec, tells a stack since given to a new task, or a
 * task running a new program, from the one remembered. Under the scratch's mark, so no run
 * preempted on this CPU is halfway through writing them.
 */
static __always_inline void task_site(struct pt_regs *ctx, struct scratch *sc, __u64 ip,
				      __u64 gen, __u64 *id, __u64 *cookie)
{
	if (sc->fc_regs == (__u64)ctx && sc->fc_ip == ip && sc->fc_gen == gen) {
		*id = sc->fc_id;
		*cookie = sc->fc_cookie;
		return;
	}
	*id = bpf_get_current_pid_tgid();
	*cookie = bpf_get_attach_cookie(ctx);
	sc->fc_regs = (__u64)ctx;
	sc->fc_ip = ip;
	sc->fc_gen = gen;
	sc->fc_id = *id;
	sc->fc_cookie = *cookie;
}

/*
 * The python:audit probe, one uprobe per site (user/attach.c): the cookie
 * names the layout slot and the site, which gives the load bias and where
 * the site keeps the event name and the arguments tuple.
 */
SEC("uprobe")
int audit(struct pt_regs *ctx)
{
	__u64 ip = PT_REGS_IP(ctx), id, cookie, bias, event;
	struct st_layout *lo = NULL;
	struct scratch *sc;
	__u32 slot, site;

	/* One load: the verifier refuses a context pointer clang has moved. */
	barrier_var(ip);
	if (!cfg_proc_filter) {
		/* No process to filter: the scratch's mark first, then who and where. */
		__u32 cpu = bpf_get_smp_processor_id();
		__u64 gen = cfg_task_gen;

		sc = bpf_map_lookup_elem(&scratch_map, &cpu);
		if (!sc)
			return 0;
		if (__sync_lock_test_and_set(&sc->busy, 1)) {
			stat_inc(ST_STAT_BUSY);
			return 0;
		}
		task_site(ctx, sc, ip, gen, &id, &cookie);
		slot = ST_COOKIE_SLOT(cookie);
		lo = bpf_map_lookup_elem(&layouts, &slot);
		if (!lo || !(lo->flags & ST_LF_VALID)) {
			if (lo)
				stat_inc(ST_STAT_NO_LAYOUT);
			rec_release(sc);
			return 0;
		}
		if (cfg_rules)
			sc->act = 0;
	} else {
		id = bpf_get_current_pid_tgid();
		cookie = bpf_get_attach_cookie(ctx);
		slot = ST_COOKIE_SLOT(cookie);
		sc = rec_scratch(id, slot, &lo);
		if (!sc || !lo)
			return 0;
	}
	site = ST_COOKIE_SITE(cookie) & (ST_MAX_SITES - 1);
	bias = site_bias(lo, site, ip);
	event = usdt_arg(ctx, &lo->site_arg[site][0]);
	if (!cfg_count_fast || !count_fast(sc, lo, slot, event - bias, id >> 32))
		audit_event(sc, lo, id, slot, bias, (const char *)event,
			    (void *)usdt_arg(ctx, &lo->site_arg[site][1]));
	rec_release(sc);
	return 0;
}

/* The benchmark's floor: the same uprobes with nothing done. */
SEC("uprobe")
int audit_floor(struct pt_regs *ctx)
{
	return 0;
}
