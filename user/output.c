// SPDX-License-Identifier: MIT
/*
 * Text and JSON Lines formatting of validated event records (see output.h).
 *
 * The text format mimics Python's repr() of each value so a reader sees what the traced
 * program saw; everything the probe had to cut is marked (`'abc'...`, `, ... (N items)`),
 * never silently shortened. The JSON format keeps the same facts in machine-readable form.
 *
 * Both walk the record with a cursor in wire order. Records were validated by
 * st_decode_event(), so recursion is bounded by its nesting limit; the cursor still checks
 * bounds, and a failure there aborts the line instead of printing half of it.
 */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "json.h"
#include "strbuf.h"
#include "pair.h"
#include "syscalls.h"

/*
 * Lines go into `batch` and reach the stream in whole lines, many per fwrite(): when the
 * batch passes BATCH_BYTES, and at every st_output_flush().
 */
#define BATCH_BYTES (64 * 1024)

struct st_output {
	struct st_output_opts opts;
	struct strbuf batch; /* complete lines not written yet; memory kept */
	struct strbuf tmp;   /* scratch of the JSON formatter, memory kept */
};

/* ------------------------------------------------------------------ text */

static const char hexdig[] = "0123456789abcdef";

/* A backslash, `esc`, and the `width` lowercase hex digits of c: \xNN, \uNNNN, \UNNNNNNNN. */
static void put_hex_escape(struct strbuf *sb, char esc, uint32_t c, unsigned width)
{
	char b[10];
	unsigned i;

	b[0] = '\\';
	b[1] = esc;
	for (i = 0; i < width; i++)
		b[2 + i] = hexdig[(c >> (4 * (width - 1 - i))) & 15];
	strbuf_add(sb, b, 2 + width);
}

/* How one code point shows inside a repr()'d str, quote handled by the caller. */
static void put_cp_escaped(struct strbuf *sb, uint32_t c)
{
	switch (c) {
	case '\t':
		strbuf_addstr(sb, "\\t");
		return;
	case '\n':
		strbuf_addstr(sb, "\\n");
		return;
	case '\r':
		strbuf_addstr(sb, "\\r");
		return;
	}
	if (c < 0x20 || c == 0x7f)
		put_hex_escape(sb, 'x', c, 2);
	else if (c < 0x7f || st_unicode_printable(c))
		st_utf8_put(sb, c);
	else if (c <= 0xff)
		put_hex_escape(sb, 'x', c, 2);
	else if (c <= 0xffff)
		put_hex_escape(sb, 'u', c, 4);
	else
		put_hex_escape(sb, 'U', c, 8);
}

/*
 * 1: the byte shows as itself in every repr() text: printable ASCII but the quotes and the
 * backslash, which depend on the context.
 */
static const uint8_t repr_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
	/* 0x80 and up: 0 */
};

/* Python's quote choice: single quotes unless the text has ' and no ". */
static char pick_quote(bool has_single, bool has_double)
{
	return has_single && !has_double ? '"' : '\'';
}

/* One code point of a repr()'d str or bytes that is not repr_plain. */
static void repr_cp_slow(struct strbuf *sb, uint32_t c, char q)
{
	if (c == (uint32_t)(unsigned char)q || c == '\\') {
		char b[2] = { '\\', (char)c };

		strbuf_add(sb, b, 2);
	} else {
		put_cp_escaped(sb, c);
	}
}

/* A str of kind 1 (Latin-1): runs of plain ASCII are copied in one go. */
static void repr_str_latin1(struct strbuf *sb, const uint8_t *p, size_t n)
{
	size_t i = 0, run;
	char q, *o;

	/* The usual str is all plain: quoted as it is. */
	while (i < n && repr_plain[p[i]])
		i++;
	if (i == n) {
		o = strbuf_reserve(sb, n + 2);
		if (o) {
			o[0] = '\'';
			memcpy(o + 1, p, n);
			o[n + 1] = '\'';
			strbuf_commit(sb, n + 2);
		}
		return;
	}
	q = pick_quote(memchr(p + i, '\'', n - i), memchr(p + i, '"', n - i));
	strbuf_addch(sb, q);
	i = 0;
	for (;;) {
		run = i;
		while (i < n && repr_plain[p[i]])
			i++;
		strbuf_add(sb, p + run, i - run);
		if (i == n)
			break;
		repr_cp_slow(sb, p[i], q);
		i++;
	}
	strbuf_addch(sb, q);
}

static void repr_str(struct strbuf *sb, const struct st_val *v)
{
	size_t i, n = st_str_len(v);
	bool sq = false, dq = false;
	uint32_t c;
	char q;

	if (ST_VF_KIND(v->flags) == 1) {
		repr_str_latin1(sb, v->payload, n);
	} else {
		for (i = 0; i < n; i++) {
			c = st_str_char(v, i);
			sq |= c == '\'';
			dq |= c == '"';
		}
		q = pick_quote(sq, dq);
		strbuf_addch(sb, q);
		for (i = 0; i < n; i++) {
			c = st_str_char(v, i);
			if (c < 0x80 && repr_plain[c])
				strbuf_addch(sb, (char)c);
			else
				repr_cp_slow(sb, c, q);
		}
		strbuf_addch(sb, q);
	}
	if (st_value_truncated(v))
		strbuf_addstr(sb, "...");
}

/* A str shown bare (code object names), as Python's code repr does, non-printables escaped. */
static void raw_str(struct strbuf *sb, const struct st_val *v)
{
	size_t i, n = st_str_len(v);

	for (i = 0; i < n; i++)
		put_cp_escaped(sb, st_str_char(v, i));
	if (st_value_truncated(v))
		strbuf_addstr(sb, "...");
}

/*
 * Raw bytes meant as UTF-8 (event names, comm, type names): printable text as is, other code
 * points escaped as repr() would, and bytes that are not UTF-8 as \udcXX, the code point
 * Python's surrogateescape decoding gives them (the JSON output uses the same convention).
 */
static void raw_utf8(struct strbuf *sb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		size_t run = i;

		/* Printable ASCII but the backslash is itself: copy the run. */
		while (i < n && (repr_plain[p[i]] || p[i] == '\'' || p[i] == '"'))
			i++;
		strbuf_add(sb, p + run, i - run);
		if (i == n)
			break;
		len = st_utf8_next(p + i, n - i, false, &cp);
		if (!len) {
			put_hex_escape(sb, 'u', 0xdc00 | p[i], 4);
			i++;
			continue;
		}
		if (cp == '\\')
			strbuf_addstr(sb, "\\\\");
		else
			put_cp_escaped(sb, cp);
		i += len;
	}
}

static void repr_bytes(struct strbuf *sb, const struct st_val *v)
{
	bool sq = memchr(v->payload, '\'', v->len), dq = memchr(v->payload, '"', v->len);
	bool ba = v->tag == ST_V_BYTEARRAY;
	char q = pick_quote(sq, dq);
	size_t i;

	strbuf_addstr(sb, ba ? "bytearray(b" : "b");
	strbuf_addch(sb, q);
	for (i = 0; i < v->len;) {
		size_t run = i;
		uint8_t c;

		while (i < v->len && repr_plain[v->payload[i]])
			i++;
		strbuf_add(sb, v->payload + run, i - run);
		if (i == v->len)
			break;
		c = v->payload[i++];
		if (c == (uint8_t)q || c == '\\') {
			char b[2] = { '\\', (char)c };

			strbuf_add(sb, b, 2);
		} else if (c == '\t') {
			strbuf_addstr(sb, "\\t");
		} else if (c == '\n') {
			strbuf_addstr(sb, "\\n");
		} else if (c == '\r') {
			strbuf_addstr(sb, "\\r");
		} else if (c < 0x20 || c >= 0x7f) {
			put_hex_escape(sb, 'x', c, 2);
		} else {
			strbuf_addch(sb, (char)c); /* the other quote */
		}
	}
	strbuf_addch(sb, q);
	if (st_value_truncated(v))
		strbuf_addstr(sb, "...");
	if (ba)
		strbuf_addch(sb, ')');
}

/* Decimal digits of an int of n 30-bit digits: n * 30 * log10(2), rounded. */
static uint64_t approx_decimal_digits(uint64_t n)
{
	if (n > UINT64_MAX / 1000000)
		return n / 100000 * 903090;
	return (n * 903090 + 50000) / 100000;
}

static int repr_val(struct strbuf *sb, struct st_cursor *c, const struct st_val *v);

/* Read the next value from c and repr() it. */
static int repr_next(struct strbuf *sb, struct st_cursor *c)
{
	struct st_val v;

	if (st_value_next(c, &v) != 1)
		return -EINVAL;
	return repr_val(sb, c, &v);
}

static void items_cut(struct strbuf *sb, uint64_t kept, uint64_t total)
{
	if (kept)
		strbuf_addstr(sb, ", ");
	strbuf_addstr(sb, "... (");
	strbuf_add_u64(sb, total);
	if (total == 1)
		strbuf_addstr(sb, " item)");
	else
		strbuf_addstr(sb, " items)");
}

static int repr_container(struct strbuf *sb, struct st_cursor *c, const struct st_val *v)
{
	const char *br = v->tag == ST_V_TUPLE ? "()" : v->tag == ST_V_LIST ? "[]" : "{}";
	bool dict = v->tag == ST_V_DICT;
	uint32_t i;
	int err;

	strbuf_addch(sb, br[0]);
	if (v->flags & ST_VF_DEPTH) {
		/* Not expanded: nesting limit. Validation made sure no children follow. */
		strbuf_addstr(sb, "...");
		strbuf_addch(sb, br[1]);
		return 0;
	}
	for (i = 0; i < v->nchild; i++) {
		if (i)
			strbuf_add(sb, dict && (i & 1) ? ": " : ", ", 2);
		err = repr_next(sb, c);
		if (err)
			return err;
	}
	if (st_value_truncated(v))
		items_cut(sb, v->nchild, v->total);
	else if (v->tag == ST_V_TUPLE && v->nchild == 1)
		strbuf_addch(sb, ',');
	strbuf_addch(sb, br[1]);
	return 0;
}

/* A code object's filename or name: bare text when it is a str, repr() otherwise. */
static int code_part(struct strbuf *sb, struct st_cursor *c, const struct st_val *v)
{
	if (v->tag == ST_V_STR) {
		raw_str(sb, v);
		return 0;
	}
	return repr_val(sb, c, v);
}

static int repr_code(struct strbuf *sb, struct st_cursor *c, const struct st_val *v)
{
	struct st_cursor at_filename = *c;
	struct st_val fn, nm;
	int32_t line;
	int err;

	/*
	 * The wire has filename then name; the repr wants name first. Skip over the filename,
	 * print the name, then go back for the filename with a copy of the cursor.
	 */
	if (v->nchild >= 1) {
		if (st_value_next(c, &fn) != 1 || st_value_skip_children(c, &fn))
			return -EINVAL;
	}
	strbuf_addstr(sb, "<code object ");
	if (v->nchild >= 2) {
		if (st_value_next(c, &nm) != 1)
			return -EINVAL;
		err = code_part(sb, c, &nm);
		if (err)
			return err;
	} else {
		strbuf_addch(sb, '?');
	}
	strbuf_addstr(sb, ", file \"");
	if (v->nchild >= 1) {
		if (st_value_next(&at_filename, &fn) != 1)
			return -EINVAL;
		err = code_part(sb, &at_filename, &fn);
		if (err)
			return err;
	} else {
		strbuf_addch(sb, '?');
	}
	if (st_code_firstlineno(v, &line)) {
		strbuf_addstr(sb, "\", line ");
		strbuf_add_i64(sb, line);
		strbuf_addch(sb, '>');
	} else {
		strbuf_addstr(sb, "\", line ?>");
	}
	return 0;
}

static int repr_val(struct strbuf *sb, struct st_cursor *c, const struct st_val *v)
{
	switch (v->tag) {
	case ST_V_NONE:
		return strbuf_addstr(sb, "None");
	case ST_V_TRUE:
		return strbuf_addstr(sb, "True");
	case ST_V_FALSE:
		return strbuf_addstr(sb, "False");
	case ST_V_INT:
		if (v->flags & ST_VF_TRUNC)
			return strbuf_addf(sb, "<int of about %" PRIu64 " digits, truncated>",
					   approx_decimal_digits(st_int_ndigits(v)));
		if (st_int_to_decimal(v, sb) == -ERANGE)
			return strbuf_addstr(sb, "<invalid int>");
		return sb->err;
	case ST_V_FLOAT:
		return st_format_double(sb, st_float_value(v));
	case ST_V_STR:
		repr_str(sb, v);
		return 0;
	case ST_V_BYTES:
	case ST_V_BYTEARRAY:
		repr_bytes(sb, v);
		return 0;
	case ST_V_TUPLE:
	case ST_V_LIST:
	case ST_V_DICT:
		return repr_container(sb, c, v);
	case ST_V_CODE:
		return repr_code(sb, c, v);
	case ST_V_OTHER:
		strbuf_addch(sb, '<');
		raw_utf8(sb, (const char *)v->payload, v->len);
		if (st_value_truncated(v))
			strbuf_addstr(sb, "...");
		return strbuf_addstr(sb, " object>");
	case ST_V_FAULT:
		return strbuf_addstr(sb, "<unreadable>");
	default:
		strbuf_addf(sb, "<unknown value tag %u>", v->tag);
		return st_value_skip_children(c, v);
	}
}

int st_repr_value(struct strbuf *sb, struct st_cursor *c)
{
	int err = repr_next(sb, c);

	return err ? err : sb->err;
}

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
 * reader, which seatrace never does).
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

/* The arguments tuple as the call's arguments, named from the events table when known. */
static int text_args(struct strbuf *sb, struct st_cursor *c, const struct st_known_event *ke,
		     const uint8_t *arglen, uint16_t ev_flags)
{
	struct st_val a;
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
		return repr_val(sb, c, &a);
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
		err = repr_next(sb, c);
		if (err)
			return err;
	}
	if (st_value_truncated(&a))
		items_cut(sb, a.nchild, a.total);
	return 0;
}

/* ------------------------------------------------------------------ line frames */

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
 * Known-events entries are static, so the remembered pointers stay good.
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
 * for a short copy of bounded size, compilers pick string instructions that start slowly.
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
	raw_utf8(sb, h->comm, strnlen(h->comm, sizeof(h->comm)));
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
	raw_utf8(sb, v->name, v->name_len);
	if (!k) {
		strbuf_addstr(sb, "...(");
		return NULL;
	}
	strbuf_addch(sb, '(');
	remember(sb, start, k->text, sizeof(k->text), &k->text_len);
	return k;
}

static int text_event(struct strbuf *sb, const struct st_view *v, int64_t mono_to_real_ns)
{
	const struct st_event *h = v->hdr;
	const struct name_slot *k;
	struct st_cursor c;
	int err;

	text_time(sb, real_ns(h->ts_ns, mono_to_real_ns));
	text_ids(sb, h);
	k = text_name(sb, v);
	st_cursor_init(&c, v);
	err = text_args(sb, &c, k ? k->ke : NULL, k ? k->arglen : NULL, h->flags);
	if (err)
		return err;
	/* Values after the arguments tuple are not part of the call: not shown. */
	return strbuf_addstr(sb, ")\n");
}

/* ------------------------------------------------------------------ JSON */

struct jctx {
	struct jsonw w;
	struct strbuf *tmp; /* scratch for one leaf at a time: never held across a recursion */
};

static int json_val(struct jctx *j, struct st_cursor *c, const struct st_val *v);

static int json_next(struct jctx *j, struct st_cursor *c)
{
	struct st_val v;

	if (st_value_next(c, &v) != 1)
		return -EINVAL;
	return json_val(j, c, &v);
}

/* {"type":"<what>"} plus the cut marker: values shown by their type only. */
static void json_type_only(struct jsonw *w, const char *s, size_t n, bool cut)
{
	jsonw_start_object(w);
	jsonw_name_lit(w, "type");
	jsonw_string_len(w, s, n);
	if (cut) {
		jsonw_name_lit(w, "truncated");
		jsonw_bool(w, true);
	}
	jsonw_end_object(w);
}

static void json_cut_tail(struct jsonw *w, uint64_t total)
{
	jsonw_name_lit(w, "length");
	jsonw_uint(w, total);
	jsonw_name_lit(w, "truncated");
	jsonw_bool(w, true);
	jsonw_end_object(w);
}

static int json_children(struct jctx *j, struct st_cursor *c, const struct st_val *v)
{
	struct st_val k;
	uint32_t i;
	int err;

	if (v->tag != ST_V_DICT) {
		jsonw_start_array(&j->w);
		for (i = 0; i < v->nchild; i++) {
			err = json_next(j, c);
			if (err)
				return err;
		}
		jsonw_end_array(&j->w);
		return 0;
	}
	jsonw_start_object(&j->w);
	for (i = 0; i < v->nchild; i += 2) {
		if (st_value_next(c, &k) != 1)
			return -EINVAL;
		strbuf_reset(j->tmp);
		if (k.tag == ST_V_STR && !st_value_truncated(&k)) {
			st_str_to_wtf8(&k, j->tmp);
			jsonw_name_wtf8(&j->w, strbuf_str(j->tmp), j->tmp->len);
		} else {
			/* JSON names are strings: other keys go by their text repr. */
			err = repr_val(j->tmp, c, &k);
			if (err)
				return err;
			jsonw_name_len(&j->w, strbuf_str(j->tmp), j->tmp->len);
		}
		err = json_next(j, c);
		if (err)
			return err;
	}
	jsonw_end_object(&j->w);
	return 0;
}

static int json_container(struct jctx *j, struct st_cursor *c, const struct st_val *v)
{
	struct jsonw *w = &j->w;
	int err;

	if (v->flags & ST_VF_DEPTH) {
		jsonw_start_object(w);
		jsonw_string_field(w, "type", st_value_tag_name(v->tag));
		json_cut_tail(w, v->total);
		return 0;
	}
	if (!st_value_truncated(v))
		return json_children(j, c, v);
	jsonw_start_object(w);
	jsonw_name(w, v->tag == ST_V_DICT ? "dict" : "items");
	err = json_children(j, c, v);
	if (err)
		return err;
	json_cut_tail(w, v->total);
	return 0;
}

static int json_code(struct jctx *j, struct st_cursor *c, const struct st_val *v)
{
	static const char *const part[2] = { "filename", "name" };
	struct jsonw *w = &j->w;
	int32_t line;
	unsigned i;
	int err;

	jsonw_start_object(w);
	jsonw_name(w, "code");
	jsonw_start_object(w);
	for (i = 0; i < 2; i++) {
		jsonw_name(w, part[i]);
		if (i < v->nchild) {
			err = json_next(j, c);
			if (err)
				return err;
		} else {
			jsonw_null(w);
		}
	}
	if (st_code_firstlineno(v, &line))
		jsonw_int_field(w, "firstlineno", line);
	else
		jsonw_null_field(w, "firstlineno");
	jsonw_end_object(w);
	/* No room was left for the filename and name: say so. */
	if (st_value_truncated(v))
		jsonw_bool_field(w, "truncated", true);
	jsonw_end_object(w);
	return 0;
}

static int json_val(struct jctx *j, struct st_cursor *c, const struct st_val *v)
{
	struct jsonw *w = &j->w;
	bool cut = st_value_truncated(v);
	uint64_t mag;
	char buf[40];
	int n;

	switch (v->tag) {
	case ST_V_NONE:
		jsonw_null(w);
		return 0;
	case ST_V_TRUE:
	case ST_V_FALSE:
		jsonw_bool(w, v->tag == ST_V_TRUE);
		return 0;
	case ST_V_INT:
		if (v->flags & ST_VF_TRUNC) {
			jsonw_start_object(w);
			jsonw_null_field(w, "int");
			jsonw_uint_field(w, "digits30", st_int_ndigits(v));
			jsonw_bool_field(w, "truncated", true);
			jsonw_end_object(w);
			return 0;
		}
		if (st_int_small(v, &mag)) {
			if (v->flags & ST_VF_NEG)
				jsonw_int(w, -(int64_t)mag);
			else
				jsonw_uint(w, mag);
			return 0;
		}
		strbuf_reset(j->tmp);
		if (st_int_to_decimal(v, j->tmp) == -ERANGE)
			json_type_only(w, "<invalid int>", strlen("<invalid int>"), false);
		else
			jsonw_number_raw(w, strbuf_str(j->tmp), j->tmp->len);
		return 0;
	case ST_V_FLOAT:
		jsonw_double(w, st_float_value(v));
		return 0;
	case ST_V_STR:
		if (cut) {
			jsonw_start_object(w);
			jsonw_name_lit(w, "str");
		}
		if (ST_VF_KIND(v->flags) == 1) {
			/* Latin-1 straight from the record, no UTF-8 copy first. */
			jsonw_string_latin1(w, v->payload, v->len);
		} else {
			strbuf_reset(j->tmp);
			st_str_to_wtf8(v, j->tmp);
			jsonw_string_wtf8(w, strbuf_str(j->tmp), j->tmp->len);
		}
		if (cut)
			json_cut_tail(w, v->total);
		return 0;
	case ST_V_BYTES:
	case ST_V_BYTEARRAY:
		jsonw_start_object(w);
		jsonw_name(w, v->tag == ST_V_BYTES ? "bytes" : "bytearray");
		jsonw_base64(w, v->payload, v->len);
		if (cut) {
			json_cut_tail(w, v->total);
			return 0;
		}
		jsonw_end_object(w);
		return 0;
	case ST_V_TUPLE:
	case ST_V_LIST:
	case ST_V_DICT:
		return json_container(j, c, v);
	case ST_V_CODE:
		return json_code(j, c, v);
	case ST_V_OTHER:
		json_type_only(w, (const char *)v->payload, v->len, cut);
		return 0;
	case ST_V_FAULT:
		json_type_only(w, "<unreadable>", strlen("<unreadable>"), false);
		return 0;
	default:
		n = snprintf(buf, sizeof(buf), "<unknown tag %u>", v->tag);
		json_type_only(w, buf, (size_t)n, false);
		return st_value_skip_children(c, v);
	}
}

/* The text "[-]<seconds>." of the last JSON timestamp's whole seconds, remembered. */
static __thread struct {
	bool valid, neg;
	uint64_t sec;
	unsigned len;
	char text[32]; /* read in 16-byte chunks */
} ts_cache;

/* Room ts_text() needs at buf: the text is at most 31 bytes, copied in 16-byte chunks. */
#define TS_TEXT_MAX 32

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
	memcpy(buf, ts_cache.text, 16);
	if (n > 16)
		memcpy(buf + 16, ts_cache.text + 16, 16);
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

static int json_args(struct jctx *j, struct st_cursor *c, uint16_t ev_flags, uint64_t *cut_total)
{
	struct st_val a;
	uint32_t i;
	int err;

	*cut_total = UINT64_MAX;
	if (!c->left) {
		if (ev_flags & ST_EF_ARGS_FAULT) {
			jsonw_null(&j->w);
		} else {
			jsonw_start_array(&j->w);
			jsonw_end_array(&j->w);
		}
		return 0;
	}
	if (st_value_next(c, &a) != 1)
		return -EINVAL;
	if (a.tag != ST_V_TUPLE || (a.flags & ST_VF_DEPTH)) {
		/* No tuple to list (the probe could not read it): null, the line says why. */
		jsonw_null(&j->w);
		return st_value_skip_children(c, &a);
	}
	jsonw_start_array(&j->w);
	for (i = 0; i < a.nchild; i++) {
		err = json_next(j, c);
		if (err)
			return err;
	}
	jsonw_end_array(&j->w);
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
static int json_event(struct jctx *j, const struct st_view *v, int64_t mono_to_real_ns)
{
	const struct st_event *h = v->hdr;
	struct strbuf *sb = j->w.sb;
	struct name_slot *k;
	struct st_cursor c;
	uint64_t cut_total;
	char *p;
	int err;

	strbuf_addstr(sb, "{\"type\":\"event\",\"ts\":");
	p = strbuf_reserve(sb, TS_TEXT_MAX);
	if (p)
		strbuf_commit(sb, ts_text(p, real_ns(h->ts_ns, mono_to_real_ns)));
	json_ids(sb, h);
	k = json_name(sb, v);
	st_cursor_init(&c, v);
	err = json_args(j, &c, h->flags, &cut_total);
	if (err)
		return err;
	err = jsonw_error(&j->w);
	if (err)
		return err;
	if (!jsonw_complete(&j->w))
		return -EINVAL;
	if (k && k->ke)
		json_argnames(sb, k);
	/* The arguments tuple itself was cut: "args" holds the first ones, this says how many. */
	if (cut_total != UINT64_MAX) {
		strbuf_addstr(sb, ",\"nargs\":");
		strbuf_add_u64(sb, cut_total);
	}
	if (v->truncated)
		strbuf_addstr(sb, ",\"truncated\":true");
	return strbuf_addch(sb, '}');
}

/* ------------------------------------------------------------------ API */

static int format_event(struct strbuf *sb, struct strbuf *tmp, const struct st_view *v,
			enum st_format fmt, int64_t mono_to_real_ns)
{
	size_t start = sb->len;
	struct jctx j;
	int err;

	if (!v || !v->hdr)
		return -EINVAL;
	if (fmt == ST_FMT_TEXT) {
		err = text_event(sb, v, mono_to_real_ns);
	} else {
		j.tmp = tmp;
		jsonw_init(&j.w, sb);
		err = json_event(&j, v, mono_to_real_ns);
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
	int err = format_event(sb, &tmp, v, fmt, mono_to_real_ns);

	strbuf_release(&tmp);
	return err;
}

struct st_output *st_output_new(const struct st_output_opts *opts)
{
	struct st_output *o;

	if (!opts || !opts->out || (opts->fmt != ST_FMT_TEXT && opts->fmt != ST_FMT_JSON)) {
		errno = EINVAL;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->opts = *opts;
	strbuf_init(&o->batch);
	strbuf_init(&o->tmp);
	/* Room for a full batch and a long line: the buffer does not grow in the common case. */
	if (strbuf_grow(&o->batch, BATCH_BYTES + ST_REC_MAX)) {
		free(o);
		errno = ENOMEM;
		return NULL;
	}
	/*
	 * The batch is the buffer: with stdio's on top, each batch would cost a copy and two
	 * or three write(2)s (stdio's buffer is a few KiB); unbuffered, fwrite() of a batch is
	 * one write(2) of whole lines. Only for streams on a file descriptor: a memory stream
	 * (open_memstream) keeps its own buffer.
	 */
	if (fileno(opts->out) >= 0)
		setvbuf(opts->out, NULL, _IONBF, 0);
	return o;
}

/* Write the complete lines batched so far; they are dropped from the batch either way. */
static int write_batch(struct st_output *o)
{
	size_t len = o->batch.len;
	size_t n;

	if (!len)
		return 0;
	n = fwrite(o->batch.buf, 1, len, o->opts.out);
	strbuf_reset(&o->batch);
	return n == len ? 0 : -EIO;
}

/*
 * A line was appended to the batch (or failed, and st_format_event() took its part back):
 * write the batch once it is big enough.
 */
static int line_done(struct st_output *o, int err)
{
	if (err) {
		/* The batch holds only whole lines: start the next one afresh. */
		o->batch.err = 0;
		return err;
	}
	return o->batch.len >= BATCH_BYTES ? write_batch(o) : 0;
}

int st_output_event(struct st_output *o, const struct st_view *v)
{
	return line_done(o, format_event(&o->batch, &o->tmp, v, o->opts.fmt,
					 o->opts.mono_to_real_ns));
}

int st_output_flush(struct st_output *o)
{
	int err;

	if (!o)
		return 0;
	err = write_batch(o);
	if (fflush(o->opts.out) && !err)
		err = -EIO;
	return err;
}

/* Rare lines (lost, invalid) append to the batch and write it out at once. */
static int rare_line_done(struct st_output *o, size_t start)
{
	if (o->batch.err) {
		strbuf_truncate(&o->batch, start);
		return line_done(o, o->batch.err);
	}
	return write_batch(o);
}

int st_output_lost(struct st_output *o, uint64_t mono_ts_ns, uint64_t count)
{
	size_t start = o->batch.len;
	struct jsonw w;

	if (o->opts.fmt == ST_FMT_TEXT) {
		strbuf_addstr(&o->batch, "--- lost ");
		strbuf_add_u64(&o->batch, count);
		strbuf_addstr(&o->batch, " events (ring buffer full) ---\n");
	} else {
		jsonw_init(&w, &o->batch);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "type", "lost");
		jsonw_name(&w, "ts");
		json_ts(&w, real_ns(mono_ts_ns, o->opts.mono_to_real_ns));
		jsonw_uint_field(&w, "count", count);
		jsonw_end_object(&w);
		strbuf_addch(&o->batch, '\n');
	}
	return rare_line_done(o, start);
}

int st_output_invalid(struct st_output *o, size_t size, int err)
{
	size_t start = o->batch.len;
	struct jsonw w;

	if (o->opts.fmt == ST_FMT_TEXT) {
		strbuf_addstr(&o->batch, "--- invalid record (");
		strbuf_add_u64(&o->batch, size);
		strbuf_addstr(&o->batch, " bytes) ---\n");
	} else {
		jsonw_init(&w, &o->batch);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "type", "invalid");
		jsonw_uint_field(&w, "size", size);
		jsonw_end_object(&w);
		strbuf_addch(&o->batch, '\n');
	}
	return rare_line_done(o, start);
}

void st_output_free(struct st_output *o)
{
	if (!o)
		return;
	st_output_flush(o);
	strbuf_release(&o->batch);
	strbuf_release(&o->tmp);
	free(o);
}

/* ------------------------------------------------------------------ Unicode */

/*
 * Code points for which Python's str.isprintable() is false (categories Cc, Cf, Cs, Co, Cn,
 * Zl, Zp, and Zs but the space), as sorted inclusive ranges: the maximal runs of
 * c in range(0x110000) with not chr(c).isprintable(), taken from CPython 3.11 (Unicode 14.0).
 * test_output checks the table against the running python3 when its Unicode version matches.
 */
static const struct {
	uint32_t lo, hi;
} nonprintable[] = {
	{ 0x0, 0x1f }, { 0x7f, 0xa0 }, { 0xad, 0xad }, { 0x378, 0x379 }, { 0x380, 0x383 },
	{ 0x38b, 0x38b }, { 0x38d, 0x38d }, { 0x3a2, 0x3a2 }, { 0x530, 0x530 }, { 0x557, 0x558 },
	{ 0x58b, 0x58c }, { 0x590, 0x590 }, { 0x5c8, 0x5cf }, { 0x5eb, 0x5ee }, { 0x5f5, 0x605 },
	{ 0x61c, 0x61c }, { 0x6dd, 0x6dd }, { 0x70e, 0x70f }, { 0x74b, 0x74c }, { 0x7b2, 0x7bf },
	{ 0x7fb, 0x7fc }, { 0x82e, 0x82f }, { 0x83f, 0x83f }, { 0x85c, 0x85d }, { 0x85f, 0x85f },
	{ 0x86b, 0x86f }, { 0x88f, 0x897 }, { 0x8e2, 0x8e2 }, { 0x984, 0x984 }, { 0x98d, 0x98e },
	{ 0x991, 0x992 }, { 0x9a9, 0x9a9 }, { 0x9b1, 0x9b1 }, { 0x9b3, 0x9b5 }, { 0x9ba, 0x9bb },
	{ 0x9c5, 0x9c6 }, { 0x9c9, 0x9ca }, { 0x9cf, 0x9d6 }, { 0x9d8, 0x9db }, { 0x9de, 0x9de },
	{ 0x9e4, 0x9e5 }, { 0x9ff, 0xa00 }, { 0xa04, 0xa04 }, { 0xa0b, 0xa0e }, { 0xa11, 0xa12 },
	{ 0xa29, 0xa29 }, { 0xa31, 0xa31 }, { 0xa34, 0xa34 }, { 0xa37, 0xa37 }, { 0xa3a, 0xa3b },
	{ 0xa3d, 0xa3d }, { 0xa43, 0xa46 }, { 0xa49, 0xa4a }, { 0xa4e, 0xa50 }, { 0xa52, 0xa58 },
	{ 0xa5d, 0xa5d }, { 0xa5f, 0xa65 }, { 0xa77, 0xa80 }, { 0xa84, 0xa84 }, { 0xa8e, 0xa8e },
	{ 0xa92, 0xa92 }, { 0xaa9, 0xaa9 }, { 0xab1, 0xab1 }, { 0xab4, 0xab4 }, { 0xaba, 0xabb },
	{ 0xac6, 0xac6 }, { 0xaca, 0xaca }, { 0xace, 0xacf }, { 0xad1, 0xadf }, { 0xae4, 0xae5 },
	{ 0xaf2, 0xaf8 }, { 0xb00, 0xb00 }, { 0xb04, 0xb04 }, { 0xb0d, 0xb0e }, { 0xb11, 0xb12 },
	{ 0xb29, 0xb29 }, { 0xb31, 0xb31 }, { 0xb34, 0xb34 }, { 0xb3a, 0xb3b }, { 0xb45, 0xb46 },
	{ 0xb49, 0xb4a }, { 0xb4e, 0xb54 }, { 0xb58, 0xb5b }, { 0xb5e, 0xb5e }, { 0xb64, 0xb65 },
	{ 0xb78, 0xb81 }, { 0xb84, 0xb84 }, { 0xb8b, 0xb8d }, { 0xb91, 0xb91 }, { 0xb96, 0xb98 },
	{ 0xb9b, 0xb9b }, { 0xb9d, 0xb9d }, { 0xba0, 0xba2 }, { 0xba5, 0xba7 }, { 0xbab, 0xbad },
	{ 0xbba, 0xbbd }, { 0xbc3, 0xbc5 }, { 0xbc9, 0xbc9 }, { 0xbce, 0xbcf }, { 0xbd1, 0xbd6 },
	{ 0xbd8, 0xbe5 }, { 0xbfb, 0xbff }, { 0xc0d, 0xc0d }, { 0xc11, 0xc11 }, { 0xc29, 0xc29 },
	{ 0xc3a, 0xc3b }, { 0xc45, 0xc45 }, { 0xc49, 0xc49 }, { 0xc4e, 0xc54 }, { 0xc57, 0xc57 },
	{ 0xc5b, 0xc5c }, { 0xc5e, 0xc5f }, { 0xc64, 0xc65 }, { 0xc70, 0xc76 }, { 0xc8d, 0xc8d },
	{ 0xc91, 0xc91 }, { 0xca9, 0xca9 }, { 0xcb4, 0xcb4 }, { 0xcba, 0xcbb }, { 0xcc5, 0xcc5 },
	{ 0xcc9, 0xcc9 }, { 0xcce, 0xcd4 }, { 0xcd7, 0xcdc }, { 0xcdf, 0xcdf }, { 0xce4, 0xce5 },
	{ 0xcf0, 0xcf0 }, { 0xcf3, 0xcff }, { 0xd0d, 0xd0d }, { 0xd11, 0xd11 }, { 0xd45, 0xd45 },
	{ 0xd49, 0xd49 }, { 0xd50, 0xd53 }, { 0xd64, 0xd65 }, { 0xd80, 0xd80 }, { 0xd84, 0xd84 },
	{ 0xd97, 0xd99 }, { 0xdb2, 0xdb2 }, { 0xdbc, 0xdbc }, { 0xdbe, 0xdbf }, { 0xdc7, 0xdc9 },
	{ 0xdcb, 0xdce }, { 0xdd5, 0xdd5 }, { 0xdd7, 0xdd7 }, { 0xde0, 0xde5 }, { 0xdf0, 0xdf1 },
	{ 0xdf5, 0xe00 }, { 0xe3b, 0xe3e }, { 0xe5c, 0xe80 }, { 0xe83, 0xe83 }, { 0xe85, 0xe85 },
	{ 0xe8b, 0xe8b }, { 0xea4, 0xea4 }, { 0xea6, 0xea6 }, { 0xebe, 0xebf }, { 0xec5, 0xec5 },
	{ 0xec7, 0xec7 }, { 0xece, 0xecf }, { 0xeda, 0xedb }, { 0xee0, 0xeff }, { 0xf48, 0xf48 },
	{ 0xf6d, 0xf70 }, { 0xf98, 0xf98 }, { 0xfbd, 0xfbd }, { 0xfcd, 0xfcd }, { 0xfdb, 0xfff },
	{ 0x10c6, 0x10c6 }, { 0x10c8, 0x10cc }, { 0x10ce, 0x10cf }, { 0x1249, 0x1249 },
	{ 0x124e, 0x124f }, { 0x1257, 0x1257 }, { 0x1259, 0x1259 }, { 0x125e, 0x125f },
	{ 0x1289, 0x1289 }, { 0x128e, 0x128f }, { 0x12b1, 0x12b1 }, { 0x12b6, 0x12b7 },
	{ 0x12bf, 0x12bf }, { 0x12c1, 0x12c1 }, { 0x12c6, 0x12c7 }, { 0x12d7, 0x12d7 },
	{ 0x1311, 0x1311 }, { 0x1316, 0x1317 }, { 0x135b, 0x135c }, { 0x137d, 0x137f },
	{ 0x139a, 0x139f }, { 0x13f6, 0x13f7 }, { 0x13fe, 0x13ff }, { 0x1680, 0x1680 },
	{ 0x169d, 0x169f }, { 0x16f9, 0x16ff }, { 0x1716, 0x171e }, { 0x1737, 0x173f },
	{ 0x1754, 0x175f }, { 0x176d, 0x176d }, { 0x1771, 0x1771 }, { 0x1774, 0x177f },
	{ 0x17de, 0x17df }, { 0x17ea, 0x17ef }, { 0x17fa, 0x17ff }, { 0x180e, 0x180e },
	{ 0x181a, 0x181f }, { 0x1879, 0x187f }, { 0x18ab, 0x18af }, { 0x18f6, 0x18ff },
	{ 0x191f, 0x191f }, { 0x192c, 0x192f }, { 0x193c, 0x193f }, { 0x1941, 0x1943 },
	{ 0x196e, 0x196f }, { 0x1975, 0x197f }, { 0x19ac, 0x19af }, { 0x19ca, 0x19cf },
	{ 0x19db, 0x19dd }, { 0x1a1c, 0x1a1d }, { 0x1a5f, 0x1a5f }, { 0x1a7d, 0x1a7e },
	{ 0x1a8a, 0x1a8f }, { 0x1a9a, 0x1a9f }, { 0x1aae, 0x1aaf }, { 0x1acf, 0x1aff },
	{ 0x1b4d, 0x1b4f }, { 0x1b7f, 0x1b7f }, { 0x1bf4, 0x1bfb }, { 0x1c38, 0x1c3a },
	{ 0x1c4a, 0x1c4c }, { 0x1c89, 0x1c8f }, { 0x1cbb, 0x1cbc }, { 0x1cc8, 0x1ccf },
	{ 0x1cfb, 0x1cff }, { 0x1f16, 0x1f17 }, { 0x1f1e, 0x1f1f }, { 0x1f46, 0x1f47 },
	{ 0x1f4e, 0x1f4f }, { 0x1f58, 0x1f58 }, { 0x1f5a, 0x1f5a }, { 0x1f5c, 0x1f5c },
	{ 0x1f5e, 0x1f5e }, { 0x1f7e, 0x1f7f }, { 0x1fb5, 0x1fb5 }, { 0x1fc5, 0x1fc5 },
	{ 0x1fd4, 0x1fd5 }, { 0x1fdc, 0x1fdc }, { 0x1ff0, 0x1ff1 }, { 0x1ff5, 0x1ff5 },
	{ 0x1fff, 0x200f }, { 0x2028, 0x202f }, { 0x205f, 0x206f }, { 0x2072, 0x2073 },
	{ 0x208f, 0x208f }, { 0x209d, 0x209f }, { 0x20c1, 0x20cf }, { 0x20f1, 0x20ff },
	{ 0x218c, 0x218f }, { 0x2427, 0x243f }, { 0x244b, 0x245f }, { 0x2b74, 0x2b75 },
	{ 0x2b96, 0x2b96 }, { 0x2cf4, 0x2cf8 }, { 0x2d26, 0x2d26 }, { 0x2d28, 0x2d2c },
	{ 0x2d2e, 0x2d2f }, { 0x2d68, 0x2d6e }, { 0x2d71, 0x2d7e }, { 0x2d97, 0x2d9f },
	{ 0x2da7, 0x2da7 }, { 0x2daf, 0x2daf }, { 0x2db7, 0x2db7 }, { 0x2dbf, 0x2dbf },
	{ 0x2dc7, 0x2dc7 }, { 0x2dcf, 0x2dcf }, { 0x2dd7, 0x2dd7 }, { 0x2ddf, 0x2ddf },
	{ 0x2e5e, 0x2e7f }, { 0x2e9a, 0x2e9a }, { 0x2ef4, 0x2eff }, { 0x2fd6, 0x2fef },
	{ 0x2ffc, 0x3000 }, { 0x3040, 0x3040 }, { 0x3097, 0x3098 }, { 0x3100, 0x3104 },
	{ 0x3130, 0x3130 }, { 0x318f, 0x318f }, { 0x31e4, 0x31ef }, { 0x321f, 0x321f },
	{ 0xa48d, 0xa48f }, { 0xa4c7, 0xa4cf }, { 0xa62c, 0xa63f }, { 0xa6f8, 0xa6ff },
	{ 0xa7cb, 0xa7cf }, { 0xa7d2, 0xa7d2 }, { 0xa7d4, 0xa7d4 }, { 0xa7da, 0xa7f1 },
	{ 0xa82d, 0xa82f }, { 0xa83a, 0xa83f }, { 0xa878, 0xa87f }, { 0xa8c6, 0xa8cd },
	{ 0xa8da, 0xa8df }, { 0xa954, 0xa95e }, { 0xa97d, 0xa97f }, { 0xa9ce, 0xa9ce },
	{ 0xa9da, 0xa9dd }, { 0xa9ff, 0xa9ff }, { 0xaa37, 0xaa3f }, { 0xaa4e, 0xaa4f },
	{ 0xaa5a, 0xaa5b }, { 0xaac3, 0xaada }, { 0xaaf7, 0xab00 }, { 0xab07, 0xab08 },
	{ 0xab0f, 0xab10 }, { 0xab17, 0xab1f }, { 0xab27, 0xab27 }, { 0xab2f, 0xab2f },
	{ 0xab6c, 0xab6f }, { 0xabee, 0xabef }, { 0xabfa, 0xabff }, { 0xd7a4, 0xd7af },
	{ 0xd7c7, 0xd7ca }, { 0xd7fc, 0xf8ff }, { 0xfa6e, 0xfa6f }, { 0xfada, 0xfaff },
	{ 0xfb07, 0xfb12 }, { 0xfb18, 0xfb1c }, { 0xfb37, 0xfb37 }, { 0xfb3d, 0xfb3d },
	{ 0xfb3f, 0xfb3f }, { 0xfb42, 0xfb42 }, { 0xfb45, 0xfb45 }, { 0xfbc3, 0xfbd2 },
	{ 0xfd90, 0xfd91 }, { 0xfdc8, 0xfdce }, { 0xfdd0, 0xfdef }, { 0xfe1a, 0xfe1f },
	{ 0xfe53, 0xfe53 }, { 0xfe67, 0xfe67 }, { 0xfe6c, 0xfe6f }, { 0xfe75, 0xfe75 },
	{ 0xfefd, 0xff00 }, { 0xffbf, 0xffc1 }, { 0xffc8, 0xffc9 }, { 0xffd0, 0xffd1 },
	{ 0xffd8, 0xffd9 }, { 0xffdd, 0xffdf }, { 0xffe7, 0xffe7 }, { 0xffef, 0xfffb },
	{ 0xfffe, 0xffff }, { 0x1000c, 0x1000c }, { 0x10027, 0x10027 }, { 0x1003b, 0x1003b },
	{ 0x1003e, 0x1003e }, { 0x1004e, 0x1004f }, { 0x1005e, 0x1007f }, { 0x100fb, 0x100ff },
	{ 0x10103, 0x10106 }, { 0x10134, 0x10136 }, { 0x1018f, 0x1018f }, { 0x1019d, 0x1019f },
	{ 0x101a1, 0x101cf }, { 0x101fe, 0x1027f }, { 0x1029d, 0x1029f }, { 0x102d1, 0x102df },
	{ 0x102fc, 0x102ff }, { 0x10324, 0x1032c }, { 0x1034b, 0x1034f }, { 0x1037b, 0x1037f },
	{ 0x1039e, 0x1039e }, { 0x103c4, 0x103c7 }, { 0x103d6, 0x103ff }, { 0x1049e, 0x1049f },
	{ 0x104aa, 0x104af }, { 0x104d4, 0x104d7 }, { 0x104fc, 0x104ff }, { 0x10528, 0x1052f },
	{ 0x10564, 0x1056e }, { 0x1057b, 0x1057b }, { 0x1058b, 0x1058b }, { 0x10593, 0x10593 },
	{ 0x10596, 0x10596 }, { 0x105a2, 0x105a2 }, { 0x105b2, 0x105b2 }, { 0x105ba, 0x105ba },
	{ 0x105bd, 0x105ff }, { 0x10737, 0x1073f }, { 0x10756, 0x1075f }, { 0x10768, 0x1077f },
	{ 0x10786, 0x10786 }, { 0x107b1, 0x107b1 }, { 0x107bb, 0x107ff }, { 0x10806, 0x10807 },
	{ 0x10809, 0x10809 }, { 0x10836, 0x10836 }, { 0x10839, 0x1083b }, { 0x1083d, 0x1083e },
	{ 0x10856, 0x10856 }, { 0x1089f, 0x108a6 }, { 0x108b0, 0x108df }, { 0x108f3, 0x108f3 },
	{ 0x108f6, 0x108fa }, { 0x1091c, 0x1091e }, { 0x1093a, 0x1093e }, { 0x10940, 0x1097f },
	{ 0x109b8, 0x109bb }, { 0x109d0, 0x109d1 }, { 0x10a04, 0x10a04 }, { 0x10a07, 0x10a0b },
	{ 0x10a14, 0x10a14 }, { 0x10a18, 0x10a18 }, { 0x10a36, 0x10a37 }, { 0x10a3b, 0x10a3e },
	{ 0x10a49, 0x10a4f }, { 0x10a59, 0x10a5f }, { 0x10aa0, 0x10abf }, { 0x10ae7, 0x10aea },
	{ 0x10af7, 0x10aff }, { 0x10b36, 0x10b38 }, { 0x10b56, 0x10b57 }, { 0x10b73, 0x10b77 },
	{ 0x10b92, 0x10b98 }, { 0x10b9d, 0x10ba8 }, { 0x10bb0, 0x10bff }, { 0x10c49, 0x10c7f },
	{ 0x10cb3, 0x10cbf }, { 0x10cf3, 0x10cf9 }, { 0x10d28, 0x10d2f }, { 0x10d3a, 0x10e5f },
	{ 0x10e7f, 0x10e7f }, { 0x10eaa, 0x10eaa }, { 0x10eae, 0x10eaf }, { 0x10eb2, 0x10eff },
	{ 0x10f28, 0x10f2f }, { 0x10f5a, 0x10f6f }, { 0x10f8a, 0x10faf }, { 0x10fcc, 0x10fdf },
	{ 0x10ff7, 0x10fff }, { 0x1104e, 0x11051 }, { 0x11076, 0x1107e }, { 0x110bd, 0x110bd },
	{ 0x110c3, 0x110cf }, { 0x110e9, 0x110ef }, { 0x110fa, 0x110ff }, { 0x11135, 0x11135 },
	{ 0x11148, 0x1114f }, { 0x11177, 0x1117f }, { 0x111e0, 0x111e0 }, { 0x111f5, 0x111ff },
	{ 0x11212, 0x11212 }, { 0x1123f, 0x1127f }, { 0x11287, 0x11287 }, { 0x11289, 0x11289 },
	{ 0x1128e, 0x1128e }, { 0x1129e, 0x1129e }, { 0x112aa, 0x112af }, { 0x112eb, 0x112ef },
	{ 0x112fa, 0x112ff }, { 0x11304, 0x11304 }, { 0x1130d, 0x1130e }, { 0x11311, 0x11312 },
	{ 0x11329, 0x11329 }, { 0x11331, 0x11331 }, { 0x11334, 0x11334 }, { 0x1133a, 0x1133a },
	{ 0x11345, 0x11346 }, { 0x11349, 0x1134a }, { 0x1134e, 0x1134f }, { 0x11351, 0x11356 },
	{ 0x11358, 0x1135c }, { 0x11364, 0x11365 }, { 0x1136d, 0x1136f }, { 0x11375, 0x113ff },
	{ 0x1145c, 0x1145c }, { 0x11462, 0x1147f }, { 0x114c8, 0x114cf }, { 0x114da, 0x1157f },
	{ 0x115b6, 0x115b7 }, { 0x115de, 0x115ff }, { 0x11645, 0x1164f }, { 0x1165a, 0x1165f },
	{ 0x1166d, 0x1167f }, { 0x116ba, 0x116bf }, { 0x116ca, 0x116ff }, { 0x1171b, 0x1171c },
	{ 0x1172c, 0x1172f }, { 0x11747, 0x117ff }, { 0x1183c, 0x1189f }, { 0x118f3, 0x118fe },
	{ 0x11907, 0x11908 }, { 0x1190a, 0x1190b }, { 0x11914, 0x11914 }, { 0x11917, 0x11917 },
	{ 0x11936, 0x11936 }, { 0x11939, 0x1193a }, { 0x11947, 0x1194f }, { 0x1195a, 0x1199f },
	{ 0x119a8, 0x119a9 }, { 0x119d8, 0x119d9 }, { 0x119e5, 0x119ff }, { 0x11a48, 0x11a4f },
	{ 0x11aa3, 0x11aaf }, { 0x11af9, 0x11bff }, { 0x11c09, 0x11c09 }, { 0x11c37, 0x11c37 },
	{ 0x11c46, 0x11c4f }, { 0x11c6d, 0x11c6f }, { 0x11c90, 0x11c91 }, { 0x11ca8, 0x11ca8 },
	{ 0x11cb7, 0x11cff }, { 0x11d07, 0x11d07 }, { 0x11d0a, 0x11d0a }, { 0x11d37, 0x11d39 },
	{ 0x11d3b, 0x11d3b }, { 0x11d3e, 0x11d3e }, { 0x11d48, 0x11d4f }, { 0x11d5a, 0x11d5f },
	{ 0x11d66, 0x11d66 }, { 0x11d69, 0x11d69 }, { 0x11d8f, 0x11d8f }, { 0x11d92, 0x11d92 },
	{ 0x11d99, 0x11d9f }, { 0x11daa, 0x11edf }, { 0x11ef9, 0x11faf }, { 0x11fb1, 0x11fbf },
	{ 0x11ff2, 0x11ffe }, { 0x1239a, 0x123ff }, { 0x1246f, 0x1246f }, { 0x12475, 0x1247f },
	{ 0x12544, 0x12f8f }, { 0x12ff3, 0x12fff }, { 0x1342f, 0x143ff }, { 0x14647, 0x167ff },
	{ 0x16a39, 0x16a3f }, { 0x16a5f, 0x16a5f }, { 0x16a6a, 0x16a6d }, { 0x16abf, 0x16abf },
	{ 0x16aca, 0x16acf }, { 0x16aee, 0x16aef }, { 0x16af6, 0x16aff }, { 0x16b46, 0x16b4f },
	{ 0x16b5a, 0x16b5a }, { 0x16b62, 0x16b62 }, { 0x16b78, 0x16b7c }, { 0x16b90, 0x16e3f },
	{ 0x16e9b, 0x16eff }, { 0x16f4b, 0x16f4e }, { 0x16f88, 0x16f8e }, { 0x16fa0, 0x16fdf },
	{ 0x16fe5, 0x16fef }, { 0x16ff2, 0x16fff }, { 0x187f8, 0x187ff }, { 0x18cd6, 0x18cff },
	{ 0x18d09, 0x1afef }, { 0x1aff4, 0x1aff4 }, { 0x1affc, 0x1affc }, { 0x1afff, 0x1afff },
	{ 0x1b123, 0x1b14f }, { 0x1b153, 0x1b163 }, { 0x1b168, 0x1b16f }, { 0x1b2fc, 0x1bbff },
	{ 0x1bc6b, 0x1bc6f }, { 0x1bc7d, 0x1bc7f }, { 0x1bc89, 0x1bc8f }, { 0x1bc9a, 0x1bc9b },
	{ 0x1bca0, 0x1ceff }, { 0x1cf2e, 0x1cf2f }, { 0x1cf47, 0x1cf4f }, { 0x1cfc4, 0x1cfff },
	{ 0x1d0f6, 0x1d0ff }, { 0x1d127, 0x1d128 }, { 0x1d173, 0x1d17a }, { 0x1d1eb, 0x1d1ff },
	{ 0x1d246, 0x1d2df }, { 0x1d2f4, 0x1d2ff }, { 0x1d357, 0x1d35f }, { 0x1d379, 0x1d3ff },
	{ 0x1d455, 0x1d455 }, { 0x1d49d, 0x1d49d }, { 0x1d4a0, 0x1d4a1 }, { 0x1d4a3, 0x1d4a4 },
	{ 0x1d4a7, 0x1d4a8 }, { 0x1d4ad, 0x1d4ad }, { 0x1d4ba, 0x1d4ba }, { 0x1d4bc, 0x1d4bc },
	{ 0x1d4c4, 0x1d4c4 }, { 0x1d506, 0x1d506 }, { 0x1d50b, 0x1d50c }, { 0x1d515, 0x1d515 },
	{ 0x1d51d, 0x1d51d }, { 0x1d53a, 0x1d53a }, { 0x1d53f, 0x1d53f }, { 0x1d545, 0x1d545 },
	{ 0x1d547, 0x1d549 }, { 0x1d551, 0x1d551 }, { 0x1d6a6, 0x1d6a7 }, { 0x1d7cc, 0x1d7cd },
	{ 0x1da8c, 0x1da9a }, { 0x1daa0, 0x1daa0 }, { 0x1dab0, 0x1deff }, { 0x1df1f, 0x1dfff },
	{ 0x1e007, 0x1e007 }, { 0x1e019, 0x1e01a }, { 0x1e022, 0x1e022 }, { 0x1e025, 0x1e025 },
	{ 0x1e02b, 0x1e0ff }, { 0x1e12d, 0x1e12f }, { 0x1e13e, 0x1e13f }, { 0x1e14a, 0x1e14d },
	{ 0x1e150, 0x1e28f }, { 0x1e2af, 0x1e2bf }, { 0x1e2fa, 0x1e2fe }, { 0x1e300, 0x1e7df },
	{ 0x1e7e7, 0x1e7e7 }, { 0x1e7ec, 0x1e7ec }, { 0x1e7ef, 0x1e7ef }, { 0x1e7ff, 0x1e7ff },
	{ 0x1e8c5, 0x1e8c6 }, { 0x1e8d7, 0x1e8ff }, { 0x1e94c, 0x1e94f }, { 0x1e95a, 0x1e95d },
	{ 0x1e960, 0x1ec70 }, { 0x1ecb5, 0x1ed00 }, { 0x1ed3e, 0x1edff }, { 0x1ee04, 0x1ee04 },
	{ 0x1ee20, 0x1ee20 }, { 0x1ee23, 0x1ee23 }, { 0x1ee25, 0x1ee26 }, { 0x1ee28, 0x1ee28 },
	{ 0x1ee33, 0x1ee33 }, { 0x1ee38, 0x1ee38 }, { 0x1ee3a, 0x1ee3a }, { 0x1ee3c, 0x1ee41 },
	{ 0x1ee43, 0x1ee46 }, { 0x1ee48, 0x1ee48 }, { 0x1ee4a, 0x1ee4a }, { 0x1ee4c, 0x1ee4c },
	{ 0x1ee50, 0x1ee50 }, { 0x1ee53, 0x1ee53 }, { 0x1ee55, 0x1ee56 }, { 0x1ee58, 0x1ee58 },
	{ 0x1ee5a, 0x1ee5a }, { 0x1ee5c, 0x1ee5c }, { 0x1ee5e, 0x1ee5e }, { 0x1ee60, 0x1ee60 },
	{ 0x1ee63, 0x1ee63 }, { 0x1ee65, 0x1ee66 }, { 0x1ee6b, 0x1ee6b }, { 0x1ee73, 0x1ee73 },
	{ 0x1ee78, 0x1ee78 }, { 0x1ee7d, 0x1ee7d }, { 0x1ee7f, 0x1ee7f }, { 0x1ee8a, 0x1ee8a },
	{ 0x1ee9c, 0x1eea0 }, { 0x1eea4, 0x1eea4 }, { 0x1eeaa, 0x1eeaa }, { 0x1eebc, 0x1eeef },
	{ 0x1eef2, 0x1efff }, { 0x1f02c, 0x1f02f }, { 0x1f094, 0x1f09f }, { 0x1f0af, 0x1f0b0 },
	{ 0x1f0c0, 0x1f0c0 }, { 0x1f0d0, 0x1f0d0 }, { 0x1f0f6, 0x1f0ff }, { 0x1f1ae, 0x1f1e5 },
	{ 0x1f203, 0x1f20f }, { 0x1f23c, 0x1f23f }, { 0x1f249, 0x1f24f }, { 0x1f252, 0x1f25f },
	{ 0x1f266, 0x1f2ff }, { 0x1f6d8, 0x1f6dc }, { 0x1f6ed, 0x1f6ef }, { 0x1f6fd, 0x1f6ff },
	{ 0x1f774, 0x1f77f }, { 0x1f7d9, 0x1f7df }, { 0x1f7ec, 0x1f7ef }, { 0x1f7f1, 0x1f7ff },
	{ 0x1f80c, 0x1f80f }, { 0x1f848, 0x1f84f }, { 0x1f85a, 0x1f85f }, { 0x1f888, 0x1f88f },
	{ 0x1f8ae, 0x1f8af }, { 0x1f8b2, 0x1f8ff }, { 0x1fa54, 0x1fa5f }, { 0x1fa6e, 0x1fa6f },
	{ 0x1fa75, 0x1fa77 }, { 0x1fa7d, 0x1fa7f }, { 0x1fa87, 0x1fa8f }, { 0x1faad, 0x1faaf },
	{ 0x1fabb, 0x1fabf }, { 0x1fac6, 0x1facf }, { 0x1fada, 0x1fadf }, { 0x1fae8, 0x1faef },
	{ 0x1faf7, 0x1faff }, { 0x1fb93, 0x1fb93 }, { 0x1fbcb, 0x1fbef }, { 0x1fbfa, 0x1ffff },
	{ 0x2a6e0, 0x2a6ff }, { 0x2b739, 0x2b73f }, { 0x2b81e, 0x2b81f }, { 0x2cea2, 0x2ceaf },
	{ 0x2ebe1, 0x2f7ff }, { 0x2fa1e, 0x2ffff }, { 0x3134b, 0xe00ff }, { 0xe01f0, 0x10ffff },
};

bool st_unicode_printable(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(nonprintable) / sizeof(nonprintable[0]);

	if (cp > 0x10ffff)
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < nonprintable[mid].lo)
			hi = mid;
		else if (cp > nonprintable[mid].hi)
			lo = mid + 1;
		else
			return false;
	}
	return true;
}

/* ---- records other than audit events: syscalls, alerts, spans ---------- */

/* The line's head for records that have no st_event: time, pid/tid, comm. */
static void text_head(struct strbuf *sb, int64_t real, uint32_t pid, uint32_t tid, const char *comm)
{
	text_time(sb, real);
	strbuf_add_u64(sb, pid);
	strbuf_addch(sb, '/');
	strbuf_add_u64(sb, tid);
	strbuf_addch(sb, ' ');
	raw_utf8(sb, comm, strnlen(comm, ST_COMM_LEN));
	strbuf_addch(sb, ' ');
}

static void json_head(struct jsonw *w, const char *type, int64_t real, uint32_t pid, uint32_t tid,
		      const char *comm)
{
	jsonw_start_object(w);
	jsonw_string_field(w, "type", type);
	jsonw_name(w, "ts");
	json_ts(w, real);
	jsonw_uint_field(w, "pid", pid);
	jsonw_uint_field(w, "tid", tid);
	jsonw_name(w, "comm");
	jsonw_string_len(w, comm, strnlen(comm, ST_COMM_LEN));
}

/* A line built from `start`: kept whole in the batch, or dropped whole on error. */
static int other_line_done(struct st_output *o, size_t start)
{
	if (o->batch.err) {
		int err = o->batch.err;

		strbuf_truncate(&o->batch, start);
		return line_done(o, err);
	}
	return line_done(o, 0);
}

int st_output_syscall(struct st_output *o, const struct st_sys_view *v)
{
	const struct st_syscall *r = v->rec;
	enum st_sys_verdict verdict = st_sys_verdict(v);
	int64_t real = real_ns(r->ts_ns, o->opts.mono_to_real_ns);
	size_t start = o->batch.len;
	struct jsonw w;

	if (o->opts.fmt == ST_FMT_TEXT) {
		text_head(&o->batch, real, r->pid, r->tid, r->comm);
		/* strace's form, marked by how it relates to the audit events before it. */
		if (verdict == ST_SYS_UNAUDITED)
			strbuf_addstr(&o->batch, "!! UNAUDITED ");
		else
			strbuf_addstr(&o->batch, "-> ");
		st_sys_format_text(&o->batch, v);
		if (verdict == ST_SYS_STARTUP) {
			strbuf_addstr(&o->batch, " (start-up, before any audit event)");
		} else {
			strbuf_addstr(&o->batch, verdict == ST_SYS_UNAUDITED ? " (last event: " : " (");
			raw_utf8(&o->batch, v->audit_name, strlen(v->audit_name));
			if (r->flags & ST_SF_INHERITED)
				strbuf_addstr(&o->batch, ", in the parent");
			strbuf_addch(&o->batch, ')');
		}
		strbuf_addch(&o->batch, '\n');
	} else {
		jsonw_init(&w, &o->batch);
		json_head(&w, "syscall", real, r->pid, r->tid, r->comm);
		st_sys_format_json(&w, v);
		jsonw_end_object(&w);
		strbuf_addch(&o->batch, '\n');
	}
	return other_line_done(o, start);
}

int st_output_alert(struct st_output *o, uint64_t mono_ts_ns, uint32_t pid, uint32_t tid,
		    const char *comm, const char *reason)
{
	int64_t real = real_ns(mono_ts_ns, o->opts.mono_to_real_ns);
	size_t start = o->batch.len;
	struct jsonw w;

	if (o->opts.fmt == ST_FMT_TEXT) {
		text_head(&o->batch, real, pid, tid, comm);
		strbuf_addstr(&o->batch, "!! ALERT: ");
		strbuf_addstr(&o->batch, reason);
		strbuf_addch(&o->batch, '\n');
	} else {
		jsonw_init(&w, &o->batch);
		json_head(&w, "alert", real, pid, tid, comm);
		jsonw_string_field(&w, "reason", reason);
		jsonw_end_object(&w);
		strbuf_addch(&o->batch, '\n');
	}
	/* Rare and important: written at once. */
	return rare_line_done(o, start);
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
	struct jctx j = { .tmp = &o->tmp };
	struct st_cursor c;
	uint64_t cut;
	int err;

	jsonw_name(w, name);
	if (!v) {
		jsonw_null(w);
		return 0;
	}
	j.w = *w;
	st_cursor_init(&c, v);
	err = json_args(&j, &c, v->hdr->flags, &cut);
	*w = j.w;
	return err;
}

int st_output_span(struct st_output *o, const struct st_span *s)
{
	const struct st_view *pre = (s->flags & ST_SPAN_NO_PRE) ? NULL : &s->pre;
	const struct st_view *post = (s->flags & ST_SPAN_UNFINISHED) ? NULL : &s->post;
	const struct st_view *any = pre ? pre : post;
	int64_t real = real_ns(pre ? s->start_ns : s->end_ns, o->opts.mono_to_real_ns);
	size_t start = o->batch.len;
	struct jsonw w;
	int err = 0;

	if (!any)
		return 0;
	if (o->opts.fmt == ST_FMT_TEXT) {
		struct strbuf *sb = &o->batch;

		text_head(sb, real, s->pid, s->tid, any->hdr->comm);
		strbuf_addstr(sb, "== ");
		for (unsigned i = 0; i < s->depth && i < 32; i++)
			strbuf_addstr(sb, "  ");
		raw_utf8(sb, s->name, s->name_len);
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
		else {
			char buf[32];

			snprintf(buf, sizeof(buf), " <%.6fs>", s->dur_ns / 1e9);
			strbuf_addstr(sb, buf);
		}
		if (s->flags & ST_SPAN_AMBIGUOUS)
			strbuf_addstr(sb, " [ambiguous]");
		strbuf_addch(sb, '\n');
	} else {
		jsonw_init(&w, &o->batch);
		json_head(&w, "span", real, s->pid, s->tid, any->hdr->comm);
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
		jsonw_end_object(&w);
		strbuf_addch(&o->batch, '\n');
	}
	if (err) {
		strbuf_truncate(&o->batch, start);
		return line_done(o, err);
	}
	return other_line_done(o, start);
}
