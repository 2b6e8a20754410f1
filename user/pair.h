/* SPDX-License-Identifier: MIT */
/*
 * Pairing engine: turns a "before" audit event and its "after" event into one span.
 *
 * Seagrass raises `prehook:NAME` (args, kwargs) before an audited call and `posthook:NAME`
 * (result,) after it; CPython pairs a few of its own events (builtins.input and
 * builtins.input/result, ...). A rule names the two sides; NAME is the part they share.
 *
 * Rules. A spec is `PRE=POST`. Each side is either a pattern with exactly one `*`, standing
 * for NAME (`prehook:*`, `begin.*`, `*.start`), or, on both sides, an exact event name with
 * no `*` (then NAME is the PRE name). No escaping: a spec has exactly one `=`, and an event
 * name holding `=` or `*` cannot be written. The defaults (st_pairer_add_defaults) are
 *   prehook:*=posthook:*   builtins.input=builtins.input/result
 *   winreg.OpenKey=winreg.OpenKey/result   sqlite3.connect=sqlite3.connect/handle
 *
 * Precedence. An event's role is decided by its name alone, never by what is open:
 *   1. POST before PRE: if any rule's POST side matches, the event is a POST (so an end marker
 *      such as `x.done` under `*=*.done` never opens a span of its own);
 *   2. among rules, the first added wins (add user rules before the defaults so that they
 *      override them).
 * The rule is part of the key: two rules yielding the same NAME never pair with each other.
 * Events whose name the probe cut (ST_EF_NAME_TRUNC) are not paired: NAME is not reliable.
 *
 * Matching a POST to its PRE, with key (pid, rule, NAME):
 *   - frame != 0 in the post: the open pre with the same frame (st_event.frame, the Python
 *     frame that raised it) in the same process. Exact whatever the interleaving (threads,
 *     asyncio tasks, generators, recursion); the post may come from another thread.
 *   - otherwise (frame == 0, or no pre with that frame but some pre of the key on this
 *     thread was opened with frame == 0, i.e. unknown): last-in first-out per (pid, tid,
 *     rule, NAME). Right for synchronous code; the span is flagged ST_SPAN_AMBIGUOUS when
 *     more than one span of that key was open when the post came.
 *   - nothing: a span flagged ST_SPAN_NO_PRE (the pre came before tracing started).
 * A second pre with the key (pid, frame, rule, NAME) of one still open closes the old one as
 * ST_SPAN_UNFINISHED (its call never reported its end: the frame was reused) and the new one
 * is flagged ST_SPAN_AMBIGUOUS.
 *
 * Memory is bounded: at most `max_open` open spans and `max_bytes` bytes of pre records
 * copies (defaults below); opening one more evicts the oldest ones as ST_SPAN_UNFINISHED.
 *
 * Depth: the call nesting when the span started: the open spans (of the process) whose frame
 * is the pre's own frame or one of its callers, from the call chain the record carries
 * (ST_EF_CHAIN). Concurrent asyncio tasks or generators on one thread do not nest: a suspended
 * one's frame is on no other's chain. Without a whole chain (no frame, a cut chain, an older
 * record), the spans open on the same (pid, tid). 0 for an outermost call, and for NO_PRE
 * spans (unknown).
 *
 * Not thread-safe: one pairer per reader thread.
 */
#ifndef SEATRACE_PAIR_H
#define SEATRACE_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#define ST_PAIR_MAX_OPEN  65536
#define ST_PAIR_MAX_BYTES (64u << 20)

struct st_pairer;

enum st_span_flags {
	ST_SPAN_NO_PRE = 1,	/* no pre seen: pre invalid, start and duration unknown */
	ST_SPAN_UNFINISHED = 2, /* no post: evicted, replaced, or drained; post invalid */
	ST_SPAN_AMBIGUOUS = 4,	/* the pairing is a guess (see above) */
};

struct st_span {
	struct st_view pre, post; /* pre valid unless NO_PRE; post valid unless UNFINISHED */
	char name[ST_NAME_MAX + 1]; /* the shared NAME, NUL-terminated */
	size_t name_len;
	unsigned depth;
	unsigned flags;	   /* enum st_span_flags */
	unsigned rule;	   /* index of the rule, in the order added */
	uint64_t start_ns; /* the pre's ts_ns; 0 when NO_PRE */
	uint64_t end_ns;   /* the post's ts_ns; 0 when UNFINISHED */
	uint64_t dur_ns;   /* end - start; 0 when either is unknown */
	uint32_t pid, tid; /* of the pre (of the post when NO_PRE) */
	void *owned;	   /* record copies the views point into: st_span_release() */
};

/* A pairer with no rules. NULL and errno on failure. */
struct st_pairer *st_pairer_new(void);

/*
 * Checks one `PRE=POST` spec as st_pairer_add_rule() would, without a pairer (the command
 * line checks --pair before loading anything). 0, or -EINVAL with *why (if why) set to a
 * static message for the user.
 */
int st_pair_rule_check(const char *spec, const char **why);

/*
 * Adds one `PRE=POST` rule. 0, or -EINVAL with *why (if why) set to a static message for the
 * user (see st_pair_rule_check()); -ENOMEM.
 */
int st_pairer_add_rule(struct st_pairer *p, const char *spec, const char **why);

/* Adds the default rules (after any added so far). 0 or -ENOMEM. */
int st_pairer_add_defaults(struct st_pairer *p);

unsigned st_pairer_nrules(const struct st_pairer *p);

/*
 * Bounds on what is kept open: max_open spans (>= 1) and max_bytes of pre record copies
 * (>= ST_REC_MAX). 0 or -EINVAL. Applies from the next pre on.
 */
int st_pairer_set_limits(struct st_pairer *p, size_t max_open, size_t max_bytes);

/* Spans currently open. */
size_t st_pairer_open_count(const struct st_pairer *p);

/*
 * Feeds one validated event. The record (v->hdr) may be reused by the caller after the call:
 * whatever is kept is copied. Returns 1 with *out filled when a span is ready (a post closed
 * one, or a pre evicted or replaced one), 0 when there is nothing to emit, or a negative errno:
 * -ENOMEM, -EINVAL (bad arguments, or a record that does not validate again). After an error
 * the event is not taken into account, but spans it readied before failing (evictions) are
 * queued. One event may ready several spans: call st_pairer_next() until it returns 0, also
 * after an error, before the next event (spans left queued come first next time, in order).
 */
int st_pairer_event(struct st_pairer *p, const struct st_view *v, struct st_span *out);

/*
 * Process `pid` was forked by thread `ptid` of process `ppid`: the child goes on with that
 * thread's calls, so each span open there is opened in the child too (pid and tid = pid,
 * same frame, same depth, a copy of the pre record), to be closed by the child's post. Returns
 * as st_pairer_event() (spans the copies evicted are readied).
 */
int st_pairer_fork(struct st_pairer *p, uint32_t ppid, uint32_t ptid, uint32_t pid,
		   struct st_span *out);

/* The next span readied by the last events: 1 with *out filled, 0 when none. */
int st_pairer_next(struct st_pairer *p, struct st_span *out);

/*
 * Closes the spans still open for pid (0: every process), oldest first, one per call,
 * flagged ST_SPAN_UNFINISHED: 1 with *out filled, 0 when none is left. Call it when a
 * process exits (its pid may be reused) and at the end of the trace.
 */
int st_pairer_drain(struct st_pairer *p, uint32_t pid, struct st_span *out);

/* Frees what a span owns; the span is zeroed. Safe on a zeroed span. */
void st_span_release(struct st_span *s);

/* Frees the pairer with its open spans and any queued ones. NULL is fine. */
void st_pairer_free(struct st_pairer *p);

#endif /* SEATRACE_PAIR_H */
