// SPDX-License-Identifier: MIT
/*
 * Whole output lines (see output.h): audit events, syscalls, spans, alerts, lost and invalid
 * records, in text and JSON Lines, built on repr.c (values as text), jsonval.c (values as
 * JSON) and sink.c (where the lines go).
 *
 * A line is appended to the sink's batch, and taken back whole if anything fails: the
 * output never holds half a line.
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "health.h"
#include "json.h"
#include "jsonval.h"
#include "pair.h"
#include "proctx.h"
#include "repr.h"
#include "sink.h"
#include "stack.h"
#include "strbuf.h"
#include "summary.h"
#include "syscalls.h"
#include "wallclock.h"

struct st_output {
	struct st_output_opts opts; /* opts.fmt: the lane being written */
	struct st_sink *sink;	    /* the lane being written */
	struct strbuf tmp; /* scratch of the JSON formatter, memory kept */
	struct st_output_lane lanes[ST_OUTPUT_LANES]; /* where each record goes, and how */
	unsigned nlanes;
	/*
	 * The last record's number: one count per run, whatever the record's type, taken by
	 * each line that was formed whole (written, or lost to a write error: a gap then says
	 * so). A line taken back (no memory, a malformed record) does not take a number.
	 */
	uint64_t seq;
	bool header_owed; /* st_output_header(): the header goes before the next record */
	struct st_wallclock clock; /* opts.live_clock */
	struct st_timefmt tf;	   /* opts.timefmt's, or the default */
	bool tf_default;
	char host[256];
	char boot_id[40];
};

static void owed_header(struct st_output *o);
static void text_time(struct strbuf *sb, int64_t ns);

/*
 * The header, owed, into every lane that takes JSON, with one number: the record after it
 * gets the next, in every lane alike.
 */
static void owed_headers(struct st_output *o)
{
	uint64_t base = o->seq, seq = base;

	for (unsigned i = 0; i < o->nlanes; i++) {
		/* journald has its own _HOSTNAME and _BOOT_ID: JSON streams only. */
		if (o->lanes[i].fmt != ST_FMT_JSON || o->lanes[i].sink->ops->route)
			continue;
		o->sink = o->lanes[i].sink;
		o->opts.fmt = ST_FMT_JSON;
		o->seq = base;
		o->header_owed = true;
		owed_header(o);
		if (o->seq > seq)
			seq = o->seq;
	}
	o->seq = seq;
	o->header_owed = false;
}

/*
 * Each record is formatted once per lane, in the lane's format, into the lane's sink (both
 * formats, text line then JSON line, for ST_FMT_TEXT_JSON). One lane, the usual case, is a
 * plain call. Every lane's line carries the same `seq`. The first lane's error is the one
 * returned.
 */
static int fan_out_pid(struct st_output *o, uint32_t pid,
		       int (*one)(struct st_output *o, const void *arg), const void *arg)
{
	uint64_t base, seq;
	int ret = 0;

	if (o->nlanes == 1 && o->lanes[0].fmt != ST_FMT_TEXT_JSON) {
		o->sink = st_sink_route(o->lanes[0].sink, pid);
		return one(o, arg);
	}
	if (o->header_owed)
		owed_headers(o);
	base = seq = o->seq;
	for (unsigned i = 0; i < o->nlanes; i++) {
		int err;

		/* -ff: the process's own file (sink_split.c); other sinks take every line. */
		o->sink = st_sink_route(o->lanes[i].sink, pid);
		o->seq = base;
		if (o->lanes[i].fmt == ST_FMT_TEXT_JSON) {
			o->opts.fmt = ST_FMT_TEXT;
			err = one(o, arg);
			o->opts.fmt = ST_FMT_JSON;
			o->seq = base;
			if (!err)
				err = one(o, arg);
		} else {
			o->opts.fmt = o->lanes[i].fmt;
			err = one(o, arg);
		}
		if (o->seq > seq)
			seq = o->seq;
		if (err && !ret)
			ret = err;
	}
	o->seq = seq;
	o->sink = o->lanes[0].sink;
	o->opts.fmt = o->lanes[0].fmt == ST_FMT_TEXT_JSON ? ST_FMT_TEXT : o->lanes[0].fmt;
	return ret;
}

/* A record of no process (lost, invalid, stats): to -o FILE itself, even with -ff. */
static int fan_out(struct st_output *o, int (*one)(struct st_output *o, const void *arg),
		   const void *arg)
{
	return fan_out_pid(o, 0, one, arg);
}

void st_output_process_end(struct st_output *o, uint32_t pid)
{
	for (unsigned i = 0; o && pid && i < o->nlanes; i++)
		st_sink_end(o->lanes[i].sink, pid);
}

/*
 * The line's leading time (-t, -tt, -ttt, -r: timefmt.h); `mono` is the record's own
 * CLOCK_MONOTONIC time, for -r against the previous line of the same file. The default keeps
 * its cached fast path.
 */
static void text_stamp(struct st_output *o, struct strbuf *sb, int64_t real, uint64_t mono)
{
	struct st_sink *s = o ? o->sink : NULL;

	if (!o || o->tf_default || !s) {
		text_time(sb, real);
		return;
	}
	st_timefmt_prefix(sb, &o->tf, real, mono, &s->rel_prev_ns, &s->rel_have);
}

/* -T: ` <0.000123>` at the end of a line with a duration. */
static bool text_durations(const struct st_output *o)
{
	return o && o->tf.durations;
}

/* The number the line being formed gets; taken only if the line is complete. */
static uint64_t next_seq(const struct st_output *o)
{
	return o->seq + 1;
}

static int line_end(struct st_output *o, size_t start, int err, bool now)
{
	/* Whole (kept, whatever becomes of the write) unless the formatter or memory failed. */
	if (!err && !st_sink_buf(o->sink)->err)
		o->seq++;
	return st_sink_line_end(o->sink, start, err, now);
}

/* ------------------------------------------------------------------ timestamps */

static int64_t real_ns(uint64_t mono_ns, int64_t mono_to_real_ns)
{
	int64_t r;

	/* Saturate: a corrupt timestamp must not overflow (UB) on its way to the clock. */
	if (mono_ns > INT64_MAX)
		mono_ns = INT64_MAX;
	if (__builtin_add_overflow((int64_t)mono_ns, mono_to_real_ns, &r))
		r = mono_to_real_ns < 0 ? INT64_MIN : INT64_MAX;
	return r;
}

/* Two decimal digits of 0 <= v < 100 (a struct tm field) at p, as %02d. */
static void put2(char *p, int v)
{
	if (v < 0 || v > 99)
		v = 0; /* localtime_r() gives none of these */
	memcpy(p, st_digits2 + 2 * v, 2);
}

/*
 * The local time of day of one second, "HH:MM:SS", remembered: events come in bursts within
 * the same second, and localtime_r() costs far more than a line. Zone rules change only on
 * whole seconds, so the text of a second never goes stale (unless TZ changes under a running
 * reader, which seatrace never does). Without it a text line took ~31 ns more (bench_output).
 */
static __thread struct {
	bool valid;
	int64_t sec;
	char hms[8];
} hms_cache;

static void text_time(struct strbuf *sb, int64_t ns)
{
	int64_t sec = ns / 1000000000, rem = ns % 1000000000;
	uint32_t us;
	struct tm tm;
	time_t t;
	char *p;

	if (rem < 0) {
		sec--;
		rem += 1000000000;
	}
	if (!hms_cache.valid || hms_cache.sec != sec) {
		t = (time_t)sec;
		if (!localtime_r(&t, &tm))
			memset(&tm, 0, sizeof(tm));
		put2(hms_cache.hms, tm.tm_hour);
		hms_cache.hms[2] = ':';
		put2(hms_cache.hms + 3, tm.tm_min);
		hms_cache.hms[5] = ':';
		put2(hms_cache.hms + 6, tm.tm_sec);
		hms_cache.sec = sec;
		hms_cache.valid = true;
	}
	/* HH:MM:SS.uuuuuu and a space */
	p = strbuf_reserve(sb, 16);
	if (!p)
		return;
	us = (uint32_t)(rem / 1000);
	memcpy(p, hms_cache.hms, 8);
	p[8] = '.';
	memcpy(p + 9, st_digits2 + 2 * (us / 10000), 2);
	memcpy(p + 11, st_digits2 + 2 * (us / 100 % 100), 2);
	memcpy(p + 13, st_digits2 + 2 * (us % 100), 2);
	p[15] = ' ';
	strbuf_commit(sb, 16);
}

/*
 * The text "[-]<seconds>." of the last JSON timestamp's whole seconds, remembered: ~5 ns of a
 * JSON line (bench_output).
 */
static __thread struct {
	bool valid, neg;
	uint64_t sec;
	unsigned len;
	char text[ST_U64_DEC_MAX + 2];
} ts_cache;

/* Room ts_text() needs at buf: '-', the seconds, '.' and nine digits. */
#define TS_TEXT_MAX (ST_U64_DEC_MAX + 11)

/* The JSON timestamp of ns: [-]seconds.nnnnnnnnn, at buf; its length. */
static unsigned ts_text(char *buf, int64_t ns)
{
	uint64_t mag = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	uint64_t sec = mag / 1000000000;
	uint32_t frac = (uint32_t)(mag % 1000000000), hi;
	unsigned n;

	/* From integer nanoseconds: a double would lose the last digits. */
	if (!ts_cache.valid || ts_cache.sec != sec || ts_cache.neg != (ns < 0)) {
		n = 0;
		if (ns < 0)
			ts_cache.text[n++] = '-';
		n += st_u64_dec(ts_cache.text + n, sec);
		ts_cache.text[n++] = '.';
		ts_cache.len = n;
		ts_cache.sec = sec;
		ts_cache.neg = ns < 0;
		ts_cache.valid = true;
	}
	n = ts_cache.len;
	memcpy(buf, ts_cache.text, n);
	/* Nine digits, zero-padded. */
	hi = frac / 10000000;
	frac %= 10000000;
	memcpy(buf + n, st_digits2 + 2 * hi, 2);
	buf[n + 2] = (char)('0' + frac / 1000000);
	frac %= 1000000;
	memcpy(buf + n + 3, st_digits2 + 2 * (frac / 10000), 2);
	memcpy(buf + n + 5, st_digits2 + 2 * (frac / 100 % 100), 2);
	memcpy(buf + n + 7, st_digits2 + 2 * (frac % 100), 2);
	return n + 9;
}

static void json_ts(struct jsonw *w, int64_t ns)
{
	char buf[TS_TEXT_MAX];

	jsonw_raw(w, buf, ts_text(buf, ns));
}

/* `,"ts_ns":N`: the same time as integer nanoseconds, which a float64 reader cannot lose. */
static void put_ts_ns(struct strbuf *sb, int64_t ns)
{
	strbuf_addstr(sb, ",\"ts_ns\":");
	if (ns < 0) {
		strbuf_addch(sb, '-');
		strbuf_add_u64(sb, -(uint64_t)ns);
	} else {
		strbuf_add_u64(sb, (uint64_t)ns);
	}
}

/* `,"seq":N`, or nothing for 0 (a line formatted outside a run). */
static void put_seq(struct strbuf *sb, uint64_t seq)
{
	if (!seq)
		return;
	strbuf_addstr(sb, ",\"seq\":");
	strbuf_add_u64(sb, seq);
}

/*
 * The process context of an event, span or syscall record: `,"uid":U,"gid":G` (ids != NULL:
 * exact, from the kernel at the event; else from /proc), then what /proc/PID told:
 * loginuid (when set), ppid, exe, cgroup, container_id, and nspid when it differs from pid.
 * Nothing from /proc when the process was gone before its first record was read.
 */
static void json_context(struct st_output *o, struct strbuf *sb, uint32_t pid,
			 const uint32_t *ids, uint64_t mono_ns)
{
	const struct st_proc_info *pi;

	if (!o || !o->opts.proctx)
		return;
	pi = st_proctx_get(o->opts.proctx, pid, mono_ns);
	if (ids || pi->valid) {
		strbuf_addstr(sb, ",\"uid\":");
		strbuf_add_u64(sb, ids ? ids[0] : pi->uid);
		strbuf_addstr(sb, ",\"gid\":");
		strbuf_add_u64(sb, ids ? ids[1] : pi->gid);
	}
	if (!pi->valid)
		return;
	if (pi->has_loginuid) {
		strbuf_addstr(sb, ",\"loginuid\":");
		strbuf_add_u64(sb, pi->loginuid);
	}
	strbuf_addstr(sb, ",\"ppid\":");
	strbuf_add_u64(sb, pi->ppid);
	if (pi->exe) {
		strbuf_addstr(sb, ",\"exe\":");
		st_json_string(sb, pi->exe, strlen(pi->exe));
	}
	if (pi->cgroup) {
		strbuf_addstr(sb, ",\"cgroup\":");
		st_json_string(sb, pi->cgroup, strlen(pi->cgroup));
	}
	if (pi->container_id[0]) {
		strbuf_addstr(sb, ",\"container_id\":");
		st_json_string(sb, pi->container_id, strlen(pi->container_id));
	}
	if (pi->nspid && pi->nspid != pid) {
		strbuf_addstr(sb, ",\"nspid\":");
		strbuf_add_u64(sb, pi->nspid);
	}
}

/* ------------------------------------------------------------------ remembered line parts */

/*
 * The parts of a line that repeat from event to event are rendered once and remembered, per
 * thread of the reader, in small direct-mapped caches:
 *
 *  - per traced thread (pid, tid, comm): text `PID/TID COMM ` and JSON
 *    `,"pid":PID,"tid":TID,"comm":"COMM","event":`;
 *  - per event name: its st_event_lookup() result, text `NAME(`, JSON `"NAME","args":` and,
 *    for a known event, JSON `,"argnames":[...]`.
 *
 * A rendering is made the usual way, into the line, and then copied into its slot when it
 * fits; one that does not fit (a name full of escapes) is simply made again each time.
 * Known-events entries are static, so the remembered pointers stay good. Measured with
 * bench_output, a line without the thread cache took 17-26 ns more, without the name cache
 * 36-59 ns more (of 55-115 ns).
 */
#define IDS_SLOTS 16
#define IDS_TEXT_MAX 64
#define IDS_JSON_MAX 96
#define NAME_SLOTS 64
#define NAME_TEXT_MAX 96
#define NAME_JSON_MAX 112
#define ARGNAMES_JSON_MAX 160
_Static_assert(IDS_TEXT_MAX % 16 == 0 && IDS_JSON_MAX % 16 == 0 && NAME_TEXT_MAX % 16 == 0 &&
		       NAME_JSON_MAX % 16 == 0 && ARGNAMES_JSON_MAX % 16 == 0,
	       "put_slot() reads slot buffers in 16-byte chunks");

static __thread struct ids_slot {
	bool used;
	uint8_t text_len, json_len; /* 0: not rendered (yet) */
	uint32_t pid, tid;
	uint64_t comm[2]; /* the 16 bytes of comm, as two words to compare */
	char text[IDS_TEXT_MAX];
	char json[IDS_JSON_MAX];
} ids_cache[IDS_SLOTS];

static __thread struct name_slot {
	bool used;
	uint8_t text_len, json_len, argn_len; /* 0: not rendered (yet) */
	uint16_t len;
	uint64_t key[2]; /* name_key() */
	const struct st_known_event *ke;
	uint8_t arglen[ST_EVENT_MAX_ARGS]; /* strlen() of ke's argnames; 0: too long to keep */
	char name[ST_NAME_MAX];
	char text[NAME_TEXT_MAX];
	char json[NAME_JSON_MAX];
	char argn[ARGNAMES_JSON_MAX];
} name_cache[NAME_SLOTS];

/*
 * Append a remembered rendering, in 16-byte chunks (slot buffers are multiples of 16 long):
 * for a short copy of bounded size, compilers pick string instructions that start slowly
 * (a plain copy cost a line 4-14 ns in bench_output).
 */
static void put_slot(struct strbuf *sb, const char *buf, size_t len)
{
	char *p = strbuf_reserve(sb, (len + 15) & ~(size_t)15);
	size_t i;

	if (!p)
		return;
	for (i = 0; i < len; i += 16)
		memcpy(p + i, buf + i, 16);
	strbuf_commit(sb, len);
}

/* Keep sb[start..] in a slot's buffer if it fits; *len = its length, or 0. */
static void remember(const struct strbuf *sb, size_t start, char *buf, size_t cap, uint8_t *len)
{
	size_t n = sb->len - start;

	if (sb->err || n == 0 || n > cap || n > UINT8_MAX)
		return;
	memcpy(buf, sb->buf + start, n);
	*len = (uint8_t)n;
}

static struct ids_slot *ids_slot(const struct st_event *h)
{
	struct ids_slot *k = &ids_cache[(h->tid * 0x9e3779b9u) >> 28];
	uint64_t comm[2];

	memcpy(comm, h->comm, sizeof(comm));
	if (k->used && k->tid == h->tid && k->pid == h->pid && k->comm[0] == comm[0] &&
	    k->comm[1] == comm[1])
		return k;
	k->used = true;
	k->pid = h->pid;
	k->tid = h->tid;
	k->comm[0] = comm[0];
	k->comm[1] = comm[1];
	k->text_len = k->json_len = 0;
	return k;
}

static uint64_t load32(const char *s)
{
	uint32_t x;

	memcpy(&x, s, 4);
	return x;
}

/*
 * Two words that, with the length, identify a name of up to 16 bytes exactly: its first and
 * last 8 bytes (overlapping when shorter), or for shorter names the same with 4 bytes, or
 * for 1 to 3 bytes its first, middle and last byte. Longer names also compare their middle.
 */
static void name_key(const char *s, size_t n, uint64_t key[2])
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 8) {
		memcpy(&key[0], s, 8);
		memcpy(&key[1], s + n - 8, 8);
	} else if (n >= 4) {
		key[0] = load32(s);
		key[1] = load32(s + n - 4);
	} else if (n) {
		key[0] = (uint64_t)u[0] | (uint64_t)u[n / 2] << 8 | (uint64_t)u[n - 1] << 16;
		key[1] = 0;
	} else {
		key[0] = key[1] = 0;
	}
}

/* The slot of a name that was not cut (a cut one only looks like a known name by accident). */
static struct name_slot *name_slot(const struct st_view *v)
{
	size_t n = v->name_len;
	struct name_slot *k;
	uint64_t key[2], h;
	unsigned i;

	name_key(v->name, n, key);
	h = (n * 0x9e3779b97f4a7c15ull) ^ key[0];
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= key[1] + (h >> 29);
	h *= 0x94d049bb133111ebull;
	k = &name_cache[h >> 58 & (NAME_SLOTS - 1)];
	if (k->used && k->len == n && k->key[0] == key[0] && k->key[1] == key[1] &&
	    (n <= 16 || !memcmp(k->name + 8, v->name + 8, n - 16)))
		return k;
	k->used = true;
	k->ke = st_event_lookup(v->name, n);
	for (i = 0; k->ke && i < k->ke->nargs && i < ST_EVENT_MAX_ARGS; i++) {
		size_t l = strlen(k->ke->argnames[i]);

		k->arglen[i] = l > UINT8_MAX ? 0 : (uint8_t)l;
	}
	k->len = (uint16_t)n;
	k->key[0] = key[0];
	k->key[1] = key[1];
	memcpy(k->name, v->name, n);
	k->text_len = k->json_len = k->argn_len = 0;
	return k;
}

/* ------------------------------------------------------------------ audit events, text */

/* The arguments tuple as the call's arguments, named from the events table when known. */
static int text_args(struct strbuf *sb, struct st_cursor *c, const struct st_known_event *ke,
		     const uint8_t *arglen, uint16_t ev_flags)
{
	struct st_val a, v;
	uint32_t i;
	int err;

	if (!c->left) {
		if (ev_flags & ST_EF_ARGS_FAULT)
			strbuf_addstr(sb, "<unreadable>");
		return 0;
	}
	if (st_value_next(c, &a) != 1)
		return -EINVAL;
	if (a.tag != ST_V_TUPLE || (a.flags & ST_VF_DEPTH))
		return st_repr_val(sb, c, &a);
	/* Names only when the table's count is the call's: else they would label the wrong ones. */
	if (ke && a.total != ke->nargs)
		ke = NULL;
	for (i = 0; i < a.nchild; i++) {
		if (i)
			strbuf_addstr(sb, ", ");
		if (ke && i < ke->nargs) {
			if (arglen[i])
				strbuf_add(sb, ke->argnames[i], arglen[i]);
			else
				strbuf_addstr(sb, ke->argnames[i]);
			strbuf_addch(sb, '=');
		}
		if (st_value_next(c, &v) != 1)
			return -EINVAL;
		err = st_repr_val(sb, c, &v);
		if (err)
			return err;
	}
	if (st_value_truncated(&a))
		st_repr_items_cut(sb, a.nchild, a.total);
	return 0;
}

/* `PID/TID COMM ` */
static void text_ids(struct strbuf *sb, const struct st_event *h)
{
	struct ids_slot *k = ids_slot(h);
	size_t start = sb->len;
	unsigned n;
	char *p;

	if (k->text_len) {
		put_slot(sb, k->text, k->text_len);
		return;
	}
	p = strbuf_reserve(sb, 2 * ST_U64_DEC_MAX + 2);
	if (p) {
		n = st_u64_dec(p, h->pid);
		p[n++] = '/';
		n += st_u64_dec(p + n, h->tid);
		p[n++] = ' ';
		strbuf_commit(sb, n);
	}
	st_repr_utf8(sb, h->comm, strnlen(h->comm, sizeof(h->comm)));
	strbuf_addch(sb, ' ');
	remember(sb, start, k->text, sizeof(k->text), &k->text_len);
}

/* `NAME(`, `NAME...(` for a cut name; the name's slot (NULL for a cut name). */
static const struct name_slot *text_name(struct strbuf *sb, const struct st_view *v)
{
	struct name_slot *k = NULL;
	size_t start = sb->len;

	if (!(v->hdr->flags & ST_EF_NAME_TRUNC)) {
		k = name_slot(v);
		if (k->text_len) {
			put_slot(sb, k->text, k->text_len);
			return k;
		}
	}
	st_repr_utf8(sb, v->name, v->name_len);
	if (!k) {
		strbuf_addstr(sb, "...(");
		return NULL;
	}
	strbuf_addch(sb, '(');
	remember(sb, start, k->text, sizeof(k->text), &k->text_len);
	return k;
}

/* argfilt: what a rule did to the event (an action record), NULL for a plain event. */
struct act_info {
	const char *action; /* "kill", "stop" */
	const char *rule;
	uint16_t flags;	    /* ST_AF_* */
};

static int text_event(struct st_output *o, struct strbuf *sb, const struct st_view *v,
		      int64_t mono_to_real_ns, const struct act_info *act)
{
	const struct st_event *h = v->hdr;
	const struct name_slot *k;
	struct st_cursor c;
	int err;

	text_stamp(o, sb, real_ns(h->ts_ns, mono_to_real_ns), h->ts_ns);
	text_ids(sb, h);
	if (act) {
		strbuf_addstr(sb, act->flags & ST_AF_DRY_RUN ? "!! WOULD " : "!! ");
		strbuf_addstr(sb, !strcmp(act->action, "kill") ? "KILL " : "STOP ");
	}
	k = text_name(sb, v);
	st_cursor_init(&c, v);
	err = text_args(sb, &c, k ? k->ke : NULL, k ? k->arglen : NULL, h->flags);
	if (err)
		return err;
	if (act) {
		strbuf_addstr(sb, ") by rule ");
		st_repr_utf8(sb, act->rule, strlen(act->rule));
		if (act->flags & ST_AF_DRY_RUN)
			strbuf_addstr(sb, " (dry run: no signal sent)");
		else if (act->flags & ST_AF_SIG_FAIL)
			strbuf_addstr(sb, " (the signal could not be sent)");
		else if (strcmp(act->action, "kill")) {
			strbuf_addstr(sb, "; process ");
			strbuf_add_u64(sb, h->pid);
			strbuf_addstr(sb, " stopped: resume it with kill -CONT ");
			strbuf_add_u64(sb, h->pid);
		}
		return strbuf_addstr(sb, "\n");
	}
	/* Values after the arguments tuple are not part of the call: not shown. */
	return strbuf_addstr(sb, ")\n");
}

/* ------------------------------------------------------------------ audit events, JSON */

/*
 * The arguments tuple as a JSON array (null when there is none to list); *cut_total is its
 * full length when the probe cut it, UINT64_MAX otherwise; *total its full length (0: none).
 */
static int json_args(struct jsonw *w, struct strbuf *tmp, struct st_cursor *c, uint16_t ev_flags,
		     uint64_t *cut_total, uint64_t *total)
{
	struct st_val a, v;
	uint32_t i;
	int err;

	*cut_total = UINT64_MAX;
	*total = 0;
	if (!c->left) {
		if (ev_flags & ST_EF_ARGS_FAULT) {
			jsonw_null(w);
		} else {
			jsonw_start_array(w);
			jsonw_end_array(w);
		}
		return 0;
	}
	if (st_value_next(c, &a) != 1)
		return -EINVAL;
	if (a.tag != ST_V_TUPLE || (a.flags & ST_VF_DEPTH)) {
		/* No tuple to list (the probe could not read it): null, the line says why. */
		jsonw_null(w);
		return st_value_skip_children(c, &a);
	}
	*total = a.total;
	jsonw_start_array(w);
	for (i = 0; i < a.nchild; i++) {
		if (st_value_next(c, &v) != 1)
			return -EINVAL;
		err = st_json_val(w, tmp, c, &v);
		if (err)
			return err;
	}
	jsonw_end_array(w);
	if (st_value_truncated(&a))
		*cut_total = a.total;
	return 0;
}

/* `,"pid":PID,"tid":TID,"comm":"COMM","event":` */
static void json_ids(struct strbuf *sb, const struct st_event *h)
{
	struct ids_slot *k = ids_slot(h);
	size_t start = sb->len;

	if (k->json_len) {
		put_slot(sb, k->json, k->json_len);
		return;
	}
	strbuf_addstr(sb, ",\"pid\":");
	strbuf_add_u64(sb, h->pid);
	strbuf_addstr(sb, ",\"tid\":");
	strbuf_add_u64(sb, h->tid);
	strbuf_addstr(sb, ",\"comm\":");
	st_json_string(sb, h->comm, strnlen(h->comm, sizeof(h->comm)));
	strbuf_addstr(sb, ",\"event\":");
	remember(sb, start, k->json, sizeof(k->json), &k->json_len);
}

/* `"NAME","args":`; the name's slot, NULL for a cut name. */
static struct name_slot *json_name(struct strbuf *sb, const struct st_view *v)
{
	struct name_slot *k = NULL;
	size_t start = sb->len;

	if (!(v->hdr->flags & ST_EF_NAME_TRUNC)) {
		k = name_slot(v);
		if (k->json_len) {
			put_slot(sb, k->json, k->json_len);
			return k;
		}
	}
	st_json_string(sb, v->name, v->name_len);
	strbuf_addstr(sb, ",\"args\":");
	if (k)
		remember(sb, start, k->json, sizeof(k->json), &k->json_len);
	return k;
}

/* `,"argnames":["a","b"]` of a known event. */
static void json_argnames(struct strbuf *sb, struct name_slot *k)
{
	const struct st_known_event *ke = k->ke;
	size_t start = sb->len;
	unsigned i;

	if (k->argn_len) {
		put_slot(sb, k->argn, k->argn_len);
		return;
	}
	strbuf_addstr(sb, ",\"argnames\":[");
	for (i = 0; i < ke->nargs; i++) {
		if (i)
			strbuf_addch(sb, ',');
		st_json_string(sb, ke->argnames[i], strlen(ke->argnames[i]));
	}
	strbuf_addch(sb, ']');
	remember(sb, start, k->argn, sizeof(k->argn), &k->argn_len);
}

/*
 * The frame of the line (type, ts, pid, tid, comm, event, and the members after "args") has
 * a fixed shape and is written directly; the writer does the "args" value, the one part whose
 * shape comes from the record.
 */
static int json_event(struct st_output *o, struct jsonw *w, struct strbuf *tmp,
		      const struct st_view *v, int64_t mono_to_real_ns, uint64_t seq,
		      const struct act_info *act)
{
	const struct st_event *h = v->hdr;
	struct strbuf *sb = w->sb;
	struct name_slot *k;
	struct st_cursor c;
	uint64_t cut_total, nargs;
	int64_t real = real_ns(h->ts_ns, mono_to_real_ns);
	char *p;
	int err;

	strbuf_addstr(sb, act ? "{\"type\":\"action\"" : "{\"type\":\"event\"");
	put_seq(sb, seq);
	strbuf_addstr(sb, ",\"ts\":");
	p = strbuf_reserve(sb, TS_TEXT_MAX);
	if (p)
		strbuf_commit(sb, ts_text(p, real));
	put_ts_ns(sb, real);
	if (act) {
		strbuf_addstr(sb, ",\"action\":");
		st_json_string(sb, act->action, strlen(act->action));
		strbuf_addstr(sb, ",\"rule\":");
		st_json_string(sb, act->rule, strlen(act->rule));
		strbuf_addstr(sb, act->flags & ST_AF_DRY_RUN ? ",\"dry_run\":true" : ",\"dry_run\":false");
		if (act->flags & ST_AF_SIG_FAIL)
			strbuf_addstr(sb, ",\"signal_failed\":true");
		if (act->flags & ST_AF_NO_ARGS)
			strbuf_addstr(sb, ",\"args_lost\":true");
	}
	json_ids(sb, h);
	k = json_name(sb, v);
	st_cursor_init(&c, v);
	err = json_args(w, tmp, &c, h->flags, &cut_total, &nargs);
	if (err)
		return err;
	err = jsonw_error(w);
	if (err)
		return err;
	if (!jsonw_complete(w))
		return -EINVAL;
	/* As in the text: no names for a call with another count of arguments than the table's. */
	if (k && k->ke && nargs == k->ke->nargs)
		json_argnames(sb, k);
	/* The arguments tuple itself was cut: "args" holds the first ones, this says how many. */
	if (cut_total != UINT64_MAX) {
		strbuf_addstr(sb, ",\"nargs\":");
		strbuf_add_u64(sb, cut_total);
	}
	if (v->truncated)
		strbuf_addstr(sb, ",\"truncated\":true");
	if (o && o->opts.stacks)
		st_stack_json(o->opts.stacks, sb, v);
	{
		const uint32_t ids[2] = { h->uid, h->gid };

		json_context(o, sb, h->pid, ids, h->ts_ns);
	}
	return strbuf_addch(sb, '}');
}

/* ------------------------------------------------------------------ events, lost, invalid */

static int format_event(struct st_output *o, struct strbuf *sb, struct strbuf *tmp,
			const struct st_view *v, enum st_format fmt, int64_t mono_to_real_ns,
			uint64_t seq, const struct act_info *act)
{
	size_t start = sb->len;
	struct jsonw w;
	int err;

	if (!v || !v->hdr)
		return -EINVAL;
	if (fmt == ST_FMT_TEXT) {
		err = text_event(o, sb, v, mono_to_real_ns, act);
		if (!err && o && o->opts.stacks)
			err = st_stack_text(o->opts.stacks, sb, v);
	} else {
		jsonw_init(&w, sb);
		err = json_event(o, &w, tmp, v, mono_to_real_ns, seq, act);
		strbuf_addch(sb, '\n');
	}
	if (!err)
		err = sb->err;
	/* Never leave half a line behind. */
	if (err)
		strbuf_truncate(sb, start);
	return err;
}

int st_format_event(struct strbuf *sb, const struct st_view *v, enum st_format fmt,
		    int64_t mono_to_real_ns)
{
	struct strbuf tmp = STRBUF_INIT;
	int err = format_event(NULL, sb, &tmp, v, fmt, mono_to_real_ns, 0, NULL);

	strbuf_release(&tmp);
	return err;
}

/* /proc/sys/kernel/random/boot_id without its newline; "" when unreadable. */
static void read_boot_id(char *buf, size_t cap)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, cap - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static int format_header(struct st_output *o, struct strbuf *sb, bool numbered);

static int header_for_file(void *ctx, struct strbuf *sb)
{
	struct st_output *o = ctx;
	enum st_format fmt = o->opts.fmt;
	int err;

	o->opts.fmt = ST_FMT_JSON;
	err = format_header(o, sb, false);
	o->opts.fmt = fmt;
	return err;
}

struct st_output *st_output_new(const struct st_output_opts *opts)
{
	struct st_output *o;

	if (!opts || (!opts->out && !opts->sink && !opts->nmore) ||
	    opts->nmore > ST_OUTPUT_LANES - 1 ||
	    (opts->fmt != ST_FMT_TEXT && opts->fmt != ST_FMT_JSON)) {
		errno = EINVAL;
		return NULL;
	}
	for (unsigned i = 0; i < opts->nmore; i++) {
		if (!opts->more[i].sink || opts->more[i].fmt > ST_FMT_TEXT_JSON) {
			errno = EINVAL;
			return NULL;
		}
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->opts = *opts;
	strbuf_init(&o->tmp);
	o->tf = opts->timefmt ? *opts->timefmt : ST_TIMEFMT_DEFAULT;
	o->tf_default = st_timefmt_is_default(&o->tf);
	o->opts.timefmt = NULL; /* copied */
	if (opts->live_clock) {
		st_wallclock_init(&o->clock, NULL);
		o->opts.mono_to_real_ns = o->clock.offset;
	}
	if (gethostname(o->host, sizeof(o->host) - 1))
		o->host[0] = '\0';
	read_boot_id(o->boot_id, sizeof(o->boot_id));
	if (opts->out || opts->sink) {
		/* Room for a long line: the batch does not grow in the common case. */
		o->sink = opts->sink ? opts->sink : st_sink_file_new(opts->out, ST_REC_MAX);
		if (!o->sink) {
			free(o);
			return NULL;
		}
		o->lanes[o->nlanes++] = (struct st_output_lane){ opts->fmt, o->sink };
		/* A rotated or reopened JSON file starts with a header record of its own. */
		if (opts->sink && opts->fmt == ST_FMT_JSON) {
			o->sink->file_start = header_for_file;
			o->sink->file_start_ctx = o;
		}
	}
	for (unsigned i = 0; i < opts->nmore; i++)
		o->lanes[o->nlanes++] = opts->more[i];
	o->sink = o->lanes[0].sink;
	o->opts.fmt = o->lanes[0].fmt == ST_FMT_TEXT_JSON ? ST_FMT_TEXT : o->lanes[0].fmt;
	return o;
}

/* An event's line, or with `act` its action record's (written at once). */
static int lane_event_line(struct st_output *o, const struct st_view *v,
			   const struct act_info *act)
{
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start;

	owed_header(o);
	start = sb->len;
	return line_end(o, start,
			format_event(o, sb, &o->tmp, v, o->opts.fmt, o->opts.mono_to_real_ns,
				     next_seq(o), act),
			act != NULL);
}

static int lane_event(struct st_output *o, const void *arg)
{
	return lane_event_line(o, arg, NULL);
}

int st_output_event(struct st_output *o, const struct st_view *v)
{
	return fan_out_pid(o, v && v->hdr ? v->hdr->pid : 0, lane_event, v);
}

/* argfilt: an action record, the event with what was done to it; written at once. */
struct action_args {
	const struct st_view *v;
	struct act_info act;
};

static int lane_action(struct st_output *o, const void *arg)
{
	const struct action_args *a = arg;

	return lane_event_line(o, a->v, &a->act);
}

int st_output_action(struct st_output *o, const struct st_view *v, const char *action,
		     const char *rule, uint16_t flags)
{
	struct action_args a = { v, { action, rule, flags } };

	return fan_out(o, lane_action, &a);
}

int st_output_flush(struct st_output *o)
{
	int ret = 0;

	if (!o)
		return 0;
	/* Between drains: the next records get the wall clock as it is now. */
	if (o->opts.live_clock)
		o->opts.mono_to_real_ns = st_wallclock_update(&o->clock, 0);
	for (unsigned i = 0; i < o->nlanes; i++) {
		int err = st_sink_flush(o->lanes[i].sink);

		if (err && !ret)
			ret = err;
	}
	return ret;
}

/* The time now, in nanoseconds since the epoch, for records that have no time of their own. */
static int64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

extern const char *argp_program_version; /* cli.c: "seatrace VERSION" */

/*
 * numbered: the run's header, record 1 of the stream. Not numbered: the same facts first in a
 * file the sink starts (rotation, reopen), which is the file's, not a record of the stream:
 * it takes no number, so `seq` stays +1 from record to record across files.
 */
static int format_header(struct st_output *o, struct strbuf *sb, bool numbered)
{
	const char *ver = argp_program_version;
	int64_t now = now_real_ns();
	size_t start = sb->len;
	struct jsonw w;

	if (o->opts.fmt != ST_FMT_JSON)
		return 0;
	if (!strncmp(ver, "seatrace ", 9))
		ver += 9;
	jsonw_init(&w, sb);
	jsonw_start_object(&w);
	jsonw_string_field(&w, "type", "header");
	if (numbered)
		jsonw_uint_field(&w, "seq", next_seq(o));
	else
		jsonw_bool_field(&w, "continued", true);
	jsonw_name(&w, "ts");
	json_ts(&w, now);
	put_ts_ns(sb, now);
	jsonw_uint_field(&w, "schema", ST_JSON_SCHEMA);
	jsonw_string_field(&w, "seatrace", ver);
	jsonw_string_field(&w, "host", o->host);
	jsonw_string_field(&w, "boot_id", o->boot_id);
	jsonw_end_object(&w);
	strbuf_addch(sb, '\n');
	if (sb->err) {
		strbuf_truncate(sb, start);
		return -ENOMEM;
	}
	if (numbered)
		o->seq++;
	return 0;
}

int st_output_format_header(struct st_output *o, struct strbuf *sb)
{
	return format_header(o, sb, true);
}


int st_output_header(struct st_output *o)
{
	o->header_owed = false;
	/* -ff files each start with a header of their own (sink_split.c), not the run's. */
	for (unsigned i = 0; i < o->nlanes; i++)
		if (o->lanes[i].fmt == ST_FMT_JSON && !o->lanes[i].sink->ops->route)
			o->header_owed = true;
	return 0;
}

/*
 * The header, if owed, before the record about to be formed: a run that ends before it has
 * anything to say (a command that cannot start) leaves its output empty.
 */
static void owed_header(struct st_output *o)
{
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start = sb->len;

	if (!o->header_owed)
		return;
	if (st_output_format_header(o, sb))
		return; /* no memory: tried again before the next record */
	o->seq--; /* taken again by line_end() */
	o->header_owed = false;
	line_end(o, start, 0, false);
}

void st_output_set_intr(struct st_output *o, int fd)
{
	for (unsigned i = 0; i < o->nlanes; i++)
		o->lanes[i].sink->intr_fd = fd;
}

void st_output_give_up_after(struct st_output *o, int ms)
{
	for (unsigned i = 0; i < o->nlanes; i++)
		st_sink_give_up_after(o->lanes[i].sink, ms);
}

unsigned long long st_output_dropped(const struct st_output *o)
{
	/* --journal and --syslog say their own losses (sink.h): only -o's or stdout's here. */
	return o && (o->opts.out || o->opts.sink) ? o->lanes[0].sink->dropped : 0;
}

unsigned st_output_sinks(const struct st_output *o, struct st_sink **sinks, unsigned max)
{
	unsigned n = 0;

	for (; o && n < o->nlanes && n < max; n++)
		sinks[n] = o->lanes[n].sink;
	return n;
}

void st_output_free(struct st_output *o)
{
	if (!o)
		return;
	for (unsigned i = 0; i < o->nlanes; i++)
		st_sink_free(o->lanes[i].sink);
	strbuf_release(&o->tmp);
	free(o);
}

int st_output_lost(struct st_output *o, uint64_t mono_ts_ns, uint64_t count)
{
	return st_output_lost_notices(o, mono_ts_ns, count, 0);
}

struct lost_args {
	uint64_t mono_ts_ns, count, notices;
};

static int lane_lost(struct st_output *o, const void *arg)
{
	const struct lost_args *a = arg;
	uint64_t mono_ts_ns = a->mono_ts_ns, count = a->count, notices = a->notices;
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start;
	struct jsonw w;

	owed_header(o);
	start = sb->len;

	if (o->opts.fmt == ST_FMT_TEXT) {
		strbuf_addstr(sb, "--- lost ");
		strbuf_add_u64(sb, count);
		strbuf_addstr(sb, " events (ring buffer full)");
		if (notices) {
			strbuf_addstr(sb, ", ");
			strbuf_add_u64(sb, notices);
			strbuf_addstr(sb, " exec/exit notices (processes rescanned)");
		}
		strbuf_addstr(sb, " ---\n");
	} else {
		jsonw_init(&w, sb);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "type", "lost");
		jsonw_uint_field(&w, "seq", next_seq(o));
		jsonw_name(&w, "ts");
		json_ts(&w, real_ns(mono_ts_ns, o->opts.mono_to_real_ns));
		put_ts_ns(sb, real_ns(mono_ts_ns, o->opts.mono_to_real_ns));
		jsonw_uint_field(&w, "count", count);
		if (notices)
			jsonw_uint_field(&w, "notices", notices);
		jsonw_end_object(&w);
		strbuf_addch(sb, '\n');
	}
	/* Rare lines (lost, invalid, alerts) go out at once. */
	return line_end(o, start, 0, true);
}

int st_output_lost_notices(struct st_output *o, uint64_t mono_ts_ns, uint64_t count,
			   uint64_t notices)
{
	struct lost_args a = { mono_ts_ns, count, notices };

	return fan_out(o, lane_lost, &a);
}

/* ---- policies (issue 14: rate limits, the policy file) ---------------------------------- */

struct rate_args {
	uint64_t mono_ts_ns, count;
	uint32_t pid;
	bool rule, cut;
	const char *name; /* NULL: not attributed to a bucket */
};

static int lane_lost_rate(struct st_output *o, const void *arg)
{
	const struct rate_args *a = arg;
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start, nlen = a->name ? strnlen(a->name, ST_RL_NAME) : 0;
	struct jsonw w;

	owed_header(o);
	start = sb->len;
	if (o->opts.fmt == ST_FMT_TEXT) {
		strbuf_addstr(sb, "--- rate-limited ");
		strbuf_add_u64(sb, a->count);
		strbuf_addstr(sb, " events");
		if (a->name) {
			strbuf_addstr(sb, " of pid ");
			strbuf_add_u64(sb, a->pid);
			strbuf_addstr(sb, a->rule ? ", rule " : ", event ");
			st_repr_utf8(sb, a->name, nlen);
			if (a->cut)
				strbuf_addstr(sb, "...");
		}
		strbuf_addstr(sb, " ---\n");
	} else {
		jsonw_init(&w, sb);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "type", "lost");
		jsonw_uint_field(&w, "seq", next_seq(o));
		jsonw_name(&w, "ts");
		json_ts(&w, real_ns(a->mono_ts_ns, o->opts.mono_to_real_ns));
		put_ts_ns(sb, real_ns(a->mono_ts_ns, o->opts.mono_to_real_ns));
		jsonw_string_field(&w, "reason", "rate-limited");
		if (a->name) {
			jsonw_uint_field(&w, "pid", a->pid);
			jsonw_name(&w, a->rule ? "rule" : "event");
			jsonw_string_len(&w, a->name, nlen);
			if (a->cut)
				jsonw_bool_field(&w, "event_cut", true);
		}
		jsonw_uint_field(&w, "count", a->count);
		jsonw_end_object(&w);
		strbuf_addch(sb, '\n');
	}
	return line_end(o, start, 0, true);
}

int st_output_lost_rate(struct st_output *o, uint64_t mono_ts_ns, uint32_t pid, bool rule,
			const char *name, bool cut, uint64_t count)
{
	struct rate_args a = { mono_ts_ns, count, pid, rule, cut, name };

	return fan_out(o, lane_lost_rate, &a);
}

struct policy_args {
	uint64_t mono_ts_ns;
	const char *status, *file;
	int nrules;
	unsigned line, col, nerrors;
	const char *reason;
};

static int lane_policy(struct st_output *o, const void *arg)
{
	const struct policy_args *a = arg;
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start;
	struct jsonw w;

	owed_header(o);
	start = sb->len;
	if (o->opts.fmt == ST_FMT_TEXT) {
		strbuf_addstr(sb, "--- policy ");
		st_repr_utf8(sb, a->file, strlen(a->file));
		strbuf_addch(sb, ' ');
		strbuf_addstr(sb, a->status);
		if (a->reason) {
			strbuf_addstr(sb, ": ");
			if (a->line) {
				strbuf_addstr(sb, "line ");
				strbuf_add_u64(sb, a->line);
				strbuf_addstr(sb, ", column ");
				strbuf_add_u64(sb, a->col);
				strbuf_addstr(sb, ": ");
			}
			strbuf_addstr(sb, a->reason);
			strbuf_addstr(sb, " (the running policy stays in force)");
		} else {
			strbuf_addstr(sb, ": ");
			strbuf_add_u64(sb, (uint64_t)a->nrules);
			strbuf_addstr(sb, a->nrules == 1 ? " rule" : " rules");
		}
		strbuf_addstr(sb, " ---\n");
	} else {
		jsonw_init(&w, sb);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "type", "policy");
		jsonw_uint_field(&w, "seq", next_seq(o));
		jsonw_name(&w, "ts");
		json_ts(&w, real_ns(a->mono_ts_ns, o->opts.mono_to_real_ns));
		put_ts_ns(sb, real_ns(a->mono_ts_ns, o->opts.mono_to_real_ns));
		jsonw_string_field(&w, "status", a->status);
		jsonw_string_field(&w, "file", a->file);
		if (a->reason) {
			if (a->line) {
				jsonw_uint_field(&w, "line", a->line);
				jsonw_uint_field(&w, "col", a->col);
			}
			jsonw_string_field(&w, "reason", a->reason);
			jsonw_uint_field(&w, "errors", a->nerrors);
		} else {
			jsonw_uint_field(&w, "rules", (uint64_t)a->nrules);
		}
		jsonw_end_object(&w);
		strbuf_addch(sb, '\n');
	}
	return line_end(o, start, 0, true);
}

int st_output_policy(struct st_output *o, uint64_t mono_ts_ns, const char *status,
		     const char *file, int nrules, unsigned line, unsigned col, const char *reason,
		     unsigned nerrors)
{
	struct policy_args a = { mono_ts_ns, status, file, nrules, line, col, nerrors, reason };

	return fan_out(o, lane_policy, &a);
}

/*
 * A record of the whole run, not of one event (stats, summary): written at once with the
 * batch before it, so a reader sees exactly the event lines counted before it. The text form
 * is the module's own; the JSON form a head like every record's, then the module's fields.
 */
struct report_args {
	const char *type;
	uint64_t mono_ts_ns;
	const void *data;
	void (*text)(struct strbuf *sb, const void *data, int64_t mono_to_real_ns);
	void (*json)(struct jsonw *w, const void *data, int64_t mono_to_real_ns);
};

static int lane_report(struct st_output *o, const void *arg)
{
	const struct report_args *a = arg;
	struct strbuf *sb = st_sink_buf(o->sink);
	int64_t m2r = o->opts.mono_to_real_ns;
	size_t start;
	struct jsonw w;

	owed_header(o);
	start = sb->len;
	if (o->opts.fmt == ST_FMT_TEXT) {
		a->text(sb, a->data, m2r);
	} else {
		jsonw_init(&w, sb);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "type", a->type);
		jsonw_uint_field(&w, "seq", next_seq(o));
		jsonw_name(&w, "ts");
		json_ts(&w, real_ns(a->mono_ts_ns, m2r));
		put_ts_ns(sb, real_ns(a->mono_ts_ns, m2r));
		a->json(&w, a->data, m2r);
		jsonw_end_object(&w);
	}
	if (!sb->len || sb->buf[sb->len - 1] != '\n')
		strbuf_addch(sb, '\n');
	return line_end(o, start, 0, true);
}

static void stats_text(struct strbuf *sb, const void *h, int64_t m2r)
{
	(void)m2r;
	st_health_text(sb, h);
}

static void stats_json(struct jsonw *w, const void *h, int64_t m2r)
{
	(void)m2r;
	st_health_json(w, h);
}

int st_output_stats(struct st_output *o, uint64_t mono_ts_ns, const struct st_health *h)
{
	struct report_args a = { "stats", mono_ts_ns, h, stats_text, stats_json };

	return fan_out(o, lane_report, &a);
}

/* -c / -C (summary.h): the summary, one record. */
static void summary_text(struct strbuf *sb, const void *s, int64_t m2r)
{
	st_summary_text(sb, s, m2r);
}

static void summary_json(struct jsonw *w, const void *s, int64_t m2r)
{
	st_summary_json(w, s, m2r);
}

int st_output_summary(struct st_output *o, uint64_t mono_ts_ns, const struct st_summary *s)
{
	struct report_args a = { "summary", mono_ts_ns, s, summary_text, summary_json };

	return fan_out(o, lane_report, &a);
}

/* The sinks' failures, for stats and metrics: each sink under its own name. */
void st_output_sinks_health(const struct st_output *o, struct st_health *h)
{
	for (unsigned i = 0; o && i < o->nlanes; i++) {
		const struct st_sink *s = o->lanes[i].sink;
		const char *name = s->name;

		if (!i && (o->opts.out || o->opts.sink))
			name = o->opts.sink ? "file" : "stdout";
		st_health_add_sink(h, name, s->dropped, s->errors);
	}
}

static int lane_invalid(struct st_output *o, const void *arg)
{
	size_t size = *(const size_t *)arg;
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start;
	struct jsonw w;

	owed_header(o);
	start = sb->len;

	if (o->opts.fmt == ST_FMT_TEXT) {
		strbuf_addstr(sb, "--- invalid record (");
		strbuf_add_u64(sb, size);
		strbuf_addstr(sb, " bytes) ---\n");
	} else {
		jsonw_init(&w, sb);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "type", "invalid");
		jsonw_uint_field(&w, "seq", next_seq(o));
		put_ts_ns(sb, now_real_ns());
		jsonw_uint_field(&w, "size", size);
		jsonw_end_object(&w);
		strbuf_addch(sb, '\n');
	}
	return line_end(o, start, 0, true);
}

int st_output_invalid(struct st_output *o, size_t size, int err)
{
	return fan_out(o, lane_invalid, &size);
}

/* ------------------------------------------------------------------ syscalls, alerts, spans */

/* The line's head for records that have no st_event: time, pid/tid, comm. */
static void text_head(struct st_output *o, struct strbuf *sb, int64_t real, uint64_t mono,
		      uint32_t pid, uint32_t tid, const char *comm)
{
	text_stamp(o, sb, real, mono);
	strbuf_add_u64(sb, pid);
	strbuf_addch(sb, '/');
	strbuf_add_u64(sb, tid);
	strbuf_addch(sb, ' ');
	st_repr_utf8(sb, comm, strnlen(comm, ST_COMM_LEN));
	strbuf_addch(sb, ' ');
}

static void json_head(struct jsonw *w, const char *type, uint64_t seq, int64_t real, uint32_t pid,
		      uint32_t tid, const char *comm)
{
	jsonw_start_object(w);
	jsonw_string_field(w, "type", type);
	jsonw_uint_field(w, "seq", seq);
	jsonw_name(w, "ts");
	json_ts(w, real);
	put_ts_ns(w->sb, real);
	jsonw_uint_field(w, "pid", pid);
	jsonw_uint_field(w, "tid", tid);
	jsonw_name(w, "comm");
	jsonw_string_len(w, comm, strnlen(comm, ST_COMM_LEN));
}

static int lane_syscall(struct st_output *o, const void *arg)
{
	const struct st_sys_view *v = arg;
	const struct st_syscall *r = v->rec;
	enum st_sys_verdict verdict = st_sys_verdict(v);
	int64_t real = real_ns(r->ts_ns, o->opts.mono_to_real_ns);
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start;
	struct jsonw w;

	owed_header(o);
	start = sb->len;

	if (o->opts.fmt == ST_FMT_TEXT) {
		text_head(o, sb, real, r->ts_ns, r->pid, r->tid, r->comm);
		/* strace's form, marked by how it relates to the audit events before it. */
		if (verdict == ST_SYS_UNAUDITED)
			strbuf_addstr(sb, "!! UNAUDITED ");
		else
			strbuf_addstr(sb, "-> ");
		st_sys_format_text(sb, v);
		if (verdict == ST_SYS_STARTUP) {
			strbuf_addstr(sb, " (start-up, before any audit event)");
		} else {
			strbuf_addstr(sb, verdict == ST_SYS_UNAUDITED ? " (last event: " : " (");
			st_repr_utf8(sb, v->audit_name, strlen(v->audit_name));
			if (r->flags & ST_SF_INHERITED)
				strbuf_addstr(sb, ", in the parent");
			strbuf_addch(sb, ')');
		}
		if (text_durations(o))
			st_timefmt_duration(sb, &o->tf, r->dur_ns);
		strbuf_addch(sb, '\n');
	} else {
		jsonw_init(&w, sb);
		json_head(&w, "syscall", next_seq(o), real, r->pid, r->tid, r->comm);
		st_sys_format_json(&w, v);
		json_context(o, sb, r->pid, NULL, r->ts_ns);
		jsonw_end_object(&w);
		strbuf_addch(sb, '\n');
	}
	return line_end(o, start, 0, false);
}

int st_output_syscall(struct st_output *o, const struct st_sys_view *v)
{
	return fan_out_pid(o, v->rec->pid, lane_syscall, v);
}

struct alert_args {
	uint64_t mono_ts_ns;
	uint32_t pid, tid;
	const char *comm, *kind, *file, *reason;
};

static int lane_alert(struct st_output *o, const void *arg)
{
	const struct alert_args *a = arg;
	uint64_t mono_ts_ns = a->mono_ts_ns;
	uint32_t pid = a->pid, tid = a->tid;
	const char *comm = a->comm, *kind = a->kind, *file = a->file, *reason = a->reason;
	int64_t real = real_ns(mono_ts_ns, o->opts.mono_to_real_ns);
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start;
	struct jsonw w;

	owed_header(o);
	start = sb->len;

	if (o->opts.fmt == ST_FMT_TEXT) {
		text_head(o, sb, real, mono_ts_ns, pid, tid, comm);
		strbuf_addstr(sb, "!! ALERT: ");
		strbuf_addstr(sb, reason);
		strbuf_addch(sb, '\n');
	} else {
		jsonw_init(&w, sb);
		json_head(&w, "alert", next_seq(o), real, pid, tid, comm);
		if (kind)
			jsonw_string_field(&w, "alert", kind);
		jsonw_string_field(&w, "reason", reason);
		if (file)
			jsonw_string_field(&w, "file", file);
		jsonw_end_object(&w);
		strbuf_addch(sb, '\n');
	}
	/* Rare and important: written at once. */
	return line_end(o, start, 0, true);
}

int st_output_alert(struct st_output *o, uint64_t mono_ts_ns, uint32_t pid, uint32_t tid,
		    const char *comm, const char *reason)
{
	return st_output_alert_kind(o, mono_ts_ns, pid, tid, comm, NULL, NULL, reason);
}

int st_output_alert_kind(struct st_output *o, uint64_t mono_ts_ns, uint32_t pid, uint32_t tid,
			 const char *comm, const char *kind, const char *file, const char *reason)
{
	struct alert_args a = { .mono_ts_ns = mono_ts_ns, .pid = pid, .tid = tid, .comm = comm,
				.kind = kind, .file = file, .reason = reason };

	return fan_out_pid(o, pid, lane_alert, &a);
}

static int lane_coverage(struct st_output *o, const void *arg)
{
	const struct alert_args *a = arg;
	uint64_t mono_ts_ns = a->mono_ts_ns;
	uint32_t pid = a->pid;
	const char *comm = a->comm, *file = a->file, *reason = a->reason;
	int64_t real = real_ns(mono_ts_ns, o->opts.mono_to_real_ns);
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start;
	struct jsonw w;

	owed_header(o);
	start = sb->len;
	if (o->opts.fmt == ST_FMT_TEXT) {
		text_head(o, sb, real, mono_ts_ns, pid, pid, comm);
		strbuf_addstr(sb, "--- coverage: ");
		st_repr_utf8(sb, file, strlen(file));
		strbuf_addstr(sb, " ran before seatrace attached to it (");
		strbuf_addstr(sb, reason);
		strbuf_addstr(sb, "): events it raised before now may be missing ---\n");
	} else {
		jsonw_init(&w, sb);
		json_head(&w, "coverage", next_seq(o), real, pid, pid, comm);
		jsonw_string_field(&w, "file", file);
		jsonw_string_field(&w, "reason", reason);
		jsonw_end_object(&w);
		strbuf_addch(sb, '\n');
	}
	return line_end(o, start, 0, true);
}

int st_output_coverage(struct st_output *o, uint64_t mono_ts_ns, uint32_t pid, const char *comm,
		       const char *file, const char *reason)
{
	struct alert_args a = { .mono_ts_ns = mono_ts_ns, .pid = pid, .tid = pid, .comm = comm,
				.file = file, .reason = reason };

	return fan_out_pid(o, pid, lane_coverage, &a);
}

/* The items of a view's arguments tuple, as a call's arguments: `(1, 'x')`. */
static int text_span_args(struct strbuf *sb, const struct st_view *v)
{
	struct st_cursor c;
	struct st_val a;
	int err;

	st_cursor_init(&c, v);
	if (st_value_next(&c, &a) != 1 || a.tag != ST_V_TUPLE)
		return strbuf_addstr(sb, "<unreadable>");
	for (uint32_t i = 0; i < a.nchild; i++) {
		if (i)
			strbuf_addstr(sb, ", ");
		err = st_repr_value(sb, &c);
		if (err)
			return err;
	}
	if (st_value_truncated(&a))
		strbuf_addstr(sb, ", ...");
	return 0;
}

static int json_span_args(struct st_output *o, struct jsonw *w, const char *name,
			  const struct st_view *v)
{
	struct st_cursor c;
	uint64_t cut, total;

	jsonw_name(w, name);
	if (!v) {
		jsonw_null(w);
		return 0;
	}
	st_cursor_init(&c, v);
	return json_args(w, &o->tmp, &c, v->hdr->flags, &cut, &total);
}

static int lane_span(struct st_output *o, const void *arg)
{
	const struct st_span *s = arg;
	const struct st_view *pre = (s->flags & ST_SPAN_NO_PRE) ? NULL : &s->pre;
	const struct st_view *post = (s->flags & ST_SPAN_UNFINISHED) ? NULL : &s->post;
	const struct st_view *any = pre ? pre : post;
	int64_t real = real_ns(pre ? s->start_ns : s->end_ns, o->opts.mono_to_real_ns);
	struct strbuf *sb = st_sink_buf(o->sink);
	size_t start;
	struct jsonw w;
	int err = 0;

	if (!any)
		return 0;
	owed_header(o);
	start = sb->len;
	if (o->opts.fmt == ST_FMT_TEXT) {
		text_head(o, sb, real, pre ? s->start_ns : s->end_ns, s->pid, s->tid,
			  any->hdr->comm);
		strbuf_addstr(sb, "== ");
		for (unsigned i = 0; i < s->depth && i < 32; i++)
			strbuf_addstr(sb, "  ");
		st_repr_utf8(sb, s->name, s->name_len);
		strbuf_addch(sb, '(');
		err = pre ? text_span_args(sb, pre) : strbuf_addstr(sb, "?");
		strbuf_addch(sb, ')');
		if (post) {
			strbuf_addstr(sb, " -> ");
			err = err ? err : text_span_args(sb, post);
		}
		if (s->flags & ST_SPAN_UNFINISHED)
			strbuf_addstr(sb, " <unfinished>");
		else if (s->flags & ST_SPAN_NO_PRE)
			strbuf_addstr(sb, " <began before tracing>");
		else if (!text_durations(o)) {
			char buf[32];

			snprintf(buf, sizeof(buf), " <%.6fs>", s->dur_ns / 1e9);
			strbuf_addstr(sb, buf);
		}
		if (s->flags & ST_SPAN_AMBIGUOUS)
			strbuf_addstr(sb, " [ambiguous]");
		/* -T: strace's ` <0.000123>`, last on the line, for a call seen whole. */
		if (text_durations(o) && pre && post)
			st_timefmt_duration(sb, &o->tf, s->dur_ns);
		strbuf_addch(sb, '\n');
		/* -k: the stack that made the call, the prehook's */
		if (!err && pre && o->opts.stacks)
			err = st_stack_text(o->opts.stacks, sb, pre);
	} else {
		jsonw_init(&w, sb);
		json_head(&w, "span", next_seq(o), real, s->pid, s->tid, any->hdr->comm);
		jsonw_name(&w, "name");
		jsonw_string_wtf8(&w, s->name, s->name_len);
		jsonw_name(&w, "pre_event");
		if (pre)
			jsonw_string_wtf8(&w, pre->name, pre->name_len);
		else
			jsonw_null(&w);
		jsonw_name(&w, "post_event");
		if (post)
			jsonw_string_wtf8(&w, post->name, post->name_len);
		else
			jsonw_null(&w);
		err = json_span_args(o, &w, "pre_args", pre);
		if (!err)
			err = json_span_args(o, &w, "post_args", post);
		jsonw_name(&w, "start_ts");
		if (pre)
			json_ts(&w, real_ns(s->start_ns, o->opts.mono_to_real_ns));
		else
			jsonw_null(&w);
		jsonw_name(&w, "duration_ns");
		if (pre && post)
			jsonw_uint(&w, s->dur_ns);
		else
			jsonw_null(&w);
		jsonw_uint_field(&w, "depth", s->depth);
		jsonw_bool_field(&w, "unfinished", s->flags & ST_SPAN_UNFINISHED);
		jsonw_bool_field(&w, "no_pre", s->flags & ST_SPAN_NO_PRE);
		jsonw_bool_field(&w, "ambiguous", s->flags & ST_SPAN_AMBIGUOUS);
		if (pre && o->opts.stacks)
			st_stack_json(o->opts.stacks, sb, pre);
		{
			const uint32_t ids[2] = { any->hdr->uid, any->hdr->gid };

			json_context(o, sb, s->pid, ids, any->hdr->ts_ns);
		}
		jsonw_end_object(&w);
		strbuf_addch(sb, '\n');
	}
	return line_end(o, start, err, false);
}

int st_output_span(struct st_output *o, const struct st_span *s)
{
	return fan_out_pid(o, s->pid, lane_span, s);
}
