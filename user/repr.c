// SPDX-License-Identifier: MIT
/*
 * Python's repr() of decoded values (see repr.h).
 *
 * Values are read with a cursor in wire order. Records were validated by st_decode_event(),
 * so recursion is bounded by its nesting limit; the cursor still checks bounds, and a
 * failure there is returned instead of printing the rest.
 */
#include "repr.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "decode.h"
#include "json.h"
#include "strbuf.h"
#include "unicode_table.h"

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

/* Raw UTF-8 with repr()'s escapes, bad bytes as \udcXX (see repr.h). */
void st_repr_utf8(struct strbuf *sb, const char *s, size_t n)
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

/* Read the next value from c and repr() it. */
static int repr_next(struct strbuf *sb, struct st_cursor *c)
{
	struct st_val v;

	if (st_value_next(c, &v) != 1)
		return -EINVAL;
	return st_repr_val(sb, c, &v);
}

void st_repr_items_cut(struct strbuf *sb, uint64_t kept, uint64_t total)
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
		st_repr_items_cut(sb, v->nchild, v->total);
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
	return st_repr_val(sb, c, v);
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

int st_repr_val(struct strbuf *sb, struct st_cursor *c, const struct st_val *v)
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
		st_repr_utf8(sb, (const char *)v->payload, v->len);
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

/* A binary search of the generated table of non-printable ranges. */
bool st_unicode_printable(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(st_nonprintable) / sizeof(st_nonprintable[0]);

	if (cp > 0x10ffff)
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < st_nonprintable[mid].lo)
			hi = mid;
		else if (cp > st_nonprintable[mid].hi)
			lo = mid + 1;
		else
			return false;
	}
	return true;
}
