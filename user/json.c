// SPDX-License-Identifier: MIT
/*
 * JSON writer (see json.h). The stack keeps, per open container, whether it is an object
 * and whether it already holds an item: that is all it takes to place commas, and to catch
 * the usual misuses (a value without a name inside an object, a name inside an array).
 */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

void jsonw_init(struct jsonw *w, struct strbuf *sb)
{
	/*
	 * Once per line: no memset of the stacks. An entry of is_object[] and has_items[] is
	 * only read below `depth`, and start() writes both before it counts a level.
	 */
	w->sb = sb;
	w->depth = 0;
	w->after_name = false;
	w->has_root = false;
	w->err = 0;
}

int jsonw_error(const struct jsonw *w)
{
	return w->err ? w->err : w->sb->err;
}

bool jsonw_complete(const struct jsonw *w)
{
	return w->has_root && w->depth == 0 && !w->after_name;
}

static void misuse(struct jsonw *w)
{
	if (!w->err)
		w->err = -EINVAL;
}

/*
 * A container opened at JSONW_MAX_DEPTH is written as null and everything inside it is
 * dropped. `depth` keeps counting past the stack so the matching end calls find their level:
 * the excess is the number of such dropped levels still open.
 */
static unsigned overflow_of(const struct jsonw *w)
{
	return w->depth > JSONW_MAX_DEPTH ? w->depth - JSONW_MAX_DEPTH : 0;
}

/* Place a comma if one is due and check a value may go here. False: write nothing. */
static bool value_begin(struct jsonw *w)
{
	unsigned top;

	if (overflow_of(w))
		return false;
	if (w->depth == 0) {
		/* One JSON text per writer: a second top-level value would not parse. */
		if (w->has_root) {
			misuse(w);
			return false;
		}
		w->has_root = true;
		return true;
	}
	top = w->depth - 1;
	if (w->is_object[top]) {
		if (!w->after_name) {
			misuse(w);
			return false;
		}
		w->after_name = false;
		return true;
	}
	if (w->has_items[top])
		strbuf_addch(w->sb, ',');
	w->has_items[top] = true;
	return true;
}

static void start(struct jsonw *w, bool object)
{
	if (overflow_of(w)) {
		w->depth++;
		return;
	}
	if (!value_begin(w))
		return;
	if (w->depth == JSONW_MAX_DEPTH) {
		misuse(w);
		strbuf_addstr(w->sb, "null");
		w->depth++;
		return;
	}
	strbuf_addch(w->sb, object ? '{' : '[');
	w->is_object[w->depth] = object;
	w->has_items[w->depth] = false;
	w->depth++;
}

static void end(struct jsonw *w, bool object)
{
	if (overflow_of(w)) {
		w->depth--;
		return;
	}
	if (w->depth == 0 || w->is_object[w->depth - 1] != object || w->after_name) {
		misuse(w);
		return;
	}
	strbuf_addch(w->sb, object ? '}' : ']');
	w->depth--;
}

void jsonw_start_object(struct jsonw *w)
{
	start(w, true);
}

void jsonw_end_object(struct jsonw *w)
{
	end(w, true);
}

void jsonw_start_array(struct jsonw *w)
{
	start(w, false);
}

void jsonw_end_array(struct jsonw *w)
{
	end(w, false);
}

size_t st_utf8_next(const unsigned char *s, size_t n, bool surrogates, uint32_t *cp)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed && !surrogates)
			hi = 0x9f; /* U+D800..U+DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	/* Only the second byte has a narrowed range; the others are plain continuations. */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	*cp = v;
	return len;
}

int st_utf8_put(struct strbuf *sb, uint32_t cp)
{
	char b[4];

	if (cp < 0x80)
		return strbuf_addch(sb, (char)cp);
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		return strbuf_add(sb, b, 2);
	}
	if (cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return strbuf_add(sb, b, 3);
	}
	b[0] = (char)(0xf0 | (cp >> 18));
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return strbuf_add(sb, b, 4);
}

/* 1: the byte goes into a JSON string as it is (printable ASCII but '"' and '\\'). */
static const uint8_t json_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x80 and up: the caller checks UTF-8 */
};

static const char hexdig[] = "0123456789abcdef";

/* "\u" and the 4 lowercase hex digits of u (as printf's \\u%04x). */
static void put_u_escape(struct strbuf *sb, uint32_t u)
{
	char b[6] = { '\\', 'u', hexdig[(u >> 12) & 15], hexdig[(u >> 8) & 15],
		      hexdig[(u >> 4) & 15], hexdig[u & 15] };

	strbuf_add(sb, b, sizeof(b));
}

/* The escape of an ASCII byte that is not json_plain: quote, backslash or control. */
static void put_ascii_escape(struct strbuf *sb, unsigned char c)
{
	switch (c) {
	case '"':
		strbuf_addstr(sb, "\\\"");
		break;
	case '\\':
		strbuf_addstr(sb, "\\\\");
		break;
	case '\b':
		strbuf_addstr(sb, "\\b");
		break;
	case '\f':
		strbuf_addstr(sb, "\\f");
		break;
	case '\n':
		strbuf_addstr(sb, "\\n");
		break;
	case '\r':
		strbuf_addstr(sb, "\\r");
		break;
	case '\t':
		strbuf_addstr(sb, "\\t");
		break;
	default:
		put_u_escape(sb, c);
		break;
	}
}

/*
 * Runs of bytes that need no escape (printable ASCII and valid UTF-8) are found first and
 * copied with one append each; only the bytes between runs are looked at one by one.
 */
static void put_string(struct strbuf *sb, const char *str, size_t n, bool wtf8)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, len;
	uint32_t cp;

	/* Enough for the usual string, which has nothing to escape. */
	if (!strbuf_has_room(sb, n + 2))
		strbuf_grow(sb, n + 2);
	strbuf_addch(sb, '"');
	for (;;) {
		unsigned char c;

		while (i < n && json_plain[s[i]])
			i++;
		if (i == n)
			break;
		c = s[i];
		len = 0;
		if (c >= 0x80) {
			len = st_utf8_next(s + i, n - i, wtf8, &cp);
			if (len && (cp < 0xd800 || cp > 0xdfff)) {
				i += len;
				continue;
			}
		}
		strbuf_add(sb, s + run, i - run);
		if (c < 0x80) {
			put_ascii_escape(sb, c);
		} else if (len) {
			/* A surrogate code point, accepted only in WTF-8 mode. */
			put_u_escape(sb, cp);
			i += len - 1;
		} else {
			/* Not UTF-8: keep the byte recoverable (surrogateescape). */
			put_u_escape(sb, 0xdc00 | c);
		}
		i++;
		run = i;
	}
	strbuf_add(sb, s + run, i - run);
	strbuf_addch(sb, '"');
}

/* Latin-1 code units: ASCII as in put_string(), U+0080..U+00FF as their 2-byte UTF-8. */
static void put_latin1(struct strbuf *sb, const uint8_t *s, size_t n)
{
	size_t i = 0, run = 0;

	if (!strbuf_has_room(sb, n + 2))
		strbuf_grow(sb, n + 2);
	strbuf_addch(sb, '"');
	for (;;) {
		unsigned char c;

		while (i < n && json_plain[s[i]])
			i++;
		if (i == n)
			break;
		c = s[i];
		strbuf_add(sb, s + run, i - run);
		if (c < 0x80) {
			put_ascii_escape(sb, c);
		} else {
			char b[2] = { (char)(0xc0 | (c >> 6)), (char)(0x80 | (c & 0x3f)) };

			strbuf_add(sb, b, 2);
		}
		i++;
		run = i;
	}
	strbuf_add(sb, s + run, i - run);
	strbuf_addch(sb, '"');
}

void st_json_string(struct strbuf *sb, const char *s, size_t n)
{
	put_string(sb, s, n, false);
}

static void name(struct jsonw *w, const char *s, size_t n, bool wtf8)
{
	unsigned top;

	if (overflow_of(w))
		return;
	if (w->depth == 0 || !w->is_object[w->depth - 1] || w->after_name) {
		misuse(w);
		return;
	}
	top = w->depth - 1;
	if (w->has_items[top])
		strbuf_addch(w->sb, ',');
	w->has_items[top] = true;
	put_string(w->sb, s, n, wtf8);
	strbuf_addch(w->sb, ':');
	w->after_name = true;
}

void jsonw_name(struct jsonw *w, const char *s)
{
	name(w, s, strlen(s), false);
}

void jsonw_name_len(struct jsonw *w, const char *s, size_t len)
{
	name(w, s, len, false);
}

void jsonw_name_wtf8(struct jsonw *w, const char *s, size_t len)
{
	name(w, s, len, true);
}

void jsonw_name_plain(struct jsonw *w, const char *s, size_t len)
{
	unsigned top;
	char *p;

	if (overflow_of(w))
		return;
	if (w->depth == 0 || !w->is_object[w->depth - 1] || w->after_name) {
		misuse(w);
		return;
	}
	top = w->depth - 1;
	/* ,"name": */
	p = strbuf_reserve(w->sb, len + 4);
	if (p) {
		size_t k = 0;

		if (w->has_items[top])
			p[k++] = ',';
		p[k++] = '"';
		memcpy(p + k, s, len);
		k += len;
		p[k++] = '"';
		p[k++] = ':';
		strbuf_commit(w->sb, k);
	}
	w->has_items[top] = true;
	w->after_name = true;
}

void jsonw_string(struct jsonw *w, const char *s)
{
	jsonw_string_len(w, s, strlen(s));
}

void jsonw_string_len(struct jsonw *w, const char *s, size_t len)
{
	if (value_begin(w))
		put_string(w->sb, s, len, false);
}

void jsonw_string_wtf8(struct jsonw *w, const char *s, size_t len)
{
	if (value_begin(w))
		put_string(w->sb, s, len, true);
}

void jsonw_string_latin1(struct jsonw *w, const uint8_t *s, size_t len)
{
	if (value_begin(w))
		put_latin1(w->sb, s, len);
}

void jsonw_raw(struct jsonw *w, const char *text, size_t len)
{
	if (value_begin(w))
		strbuf_add(w->sb, text, len);
}

void jsonw_base64(struct jsonw *w, const void *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char q[4];
	size_t i;

	if (!value_begin(w))
		return;
	strbuf_addch(w->sb, '"');
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63];
		q[3] = tab[v & 63];
		strbuf_add(w->sb, q, 4);
	}
	if (len - i == 1) {
		q[0] = tab[p[i] >> 2];
		q[1] = tab[(p[i] & 3) << 4];
		q[2] = q[3] = '=';
		strbuf_add(w->sb, q, 4);
	} else if (len - i == 2) {
		q[0] = tab[p[i] >> 2];
		q[1] = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		q[2] = tab[(p[i + 1] & 15) << 2];
		q[3] = '=';
		strbuf_add(w->sb, q, 4);
	}
	strbuf_addch(w->sb, '"');
}

void jsonw_bool(struct jsonw *w, bool v)
{
	if (value_begin(w)) {
		if (v)
			strbuf_addstr(w->sb, "true");
		else
			strbuf_addstr(w->sb, "false");
	}
}

void jsonw_null(struct jsonw *w)
{
	if (value_begin(w))
		strbuf_addstr(w->sb, "null");
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	if (value_begin(w))
		strbuf_add_i64(w->sb, v);
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
	if (value_begin(w))
		strbuf_add_u64(w->sb, v);
}

int st_format_double(struct strbuf *sb, double v)
{
	char buf[48], digits[24];
	int prec, exp10, decpt, nd = 0, i;
	const char *p;

	if (isnan(v))
		return strbuf_addstr(sb, "nan");
	if (isinf(v))
		return strbuf_addstr(sb, v < 0 ? "-inf" : "inf");
	if (v == 0)
		return strbuf_addstr(sb, signbit(v) ? "-0.0" : "0.0");

	/* The shortest %e that reads back as v gives Python's repr digits (17 always does). */
	for (prec = 0; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/*
	 * Take the digits and the exponent apart; whatever separates the digits is skipped,
	 * so a locale with a decimal comma does no harm.
	 */
	p = buf;
	if (*p == '-')
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && nd < (int)sizeof(digits) - 1)
			digits[nd++] = *p;
	exp10 = *p == 'e' ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	decpt = exp10 + 1; /* v = 0.digits x 10^decpt */

	if (v < 0)
		strbuf_addch(sb, '-');
	/* Python's float_repr_style 'short': positional for 1e-4 <= |v| < 1e16. */
	if (decpt <= -4 || decpt > 16) {
		strbuf_addch(sb, digits[0]);
		if (nd > 1) {
			strbuf_addch(sb, '.');
			strbuf_add(sb, digits + 1, (size_t)nd - 1);
		}
		return strbuf_addf(sb, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	}
	if (decpt <= 0) {
		strbuf_addstr(sb, "0.");
		for (i = decpt; i < 0; i++)
			strbuf_addch(sb, '0');
		return strbuf_add(sb, digits, (size_t)nd);
	}
	if (decpt >= nd) {
		strbuf_add(sb, digits, (size_t)nd);
		for (i = nd; i < decpt; i++)
			strbuf_addch(sb, '0');
		return strbuf_addstr(sb, ".0");
	}
	strbuf_add(sb, digits, (size_t)decpt);
	strbuf_addch(sb, '.');
	return strbuf_add(sb, digits + decpt, (size_t)(nd - decpt));
}

void jsonw_double(struct jsonw *w, double v)
{
	if (isnan(v) || isinf(v)) {
		jsonw_string(w, isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
		return;
	}
	if (value_begin(w))
		st_format_double(w->sb, v);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and nothing else. */
static bool is_json_number(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else {
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d || s[d] == '0')
			return false;
	}
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	return i == n;
}

void jsonw_number_raw(struct jsonw *w, const char *text, size_t len)
{
	if (!value_begin(w))
		return;
	if (!is_json_number(text, len)) {
		misuse(w);
		strbuf_addstr(w->sb, "null");
		return;
	}
	strbuf_add(w->sb, text, len);
}

void jsonw_string_field(struct jsonw *w, const char *n, const char *v)
{
	jsonw_name(w, n);
	jsonw_string(w, v);
}

void jsonw_uint_field(struct jsonw *w, const char *n, uint64_t v)
{
	jsonw_name(w, n);
	jsonw_uint(w, v);
}

void jsonw_int_field(struct jsonw *w, const char *n, int64_t v)
{
	jsonw_name(w, n);
	jsonw_int(w, v);
}

void jsonw_bool_field(struct jsonw *w, const char *n, bool v)
{
	jsonw_name(w, n);
	jsonw_bool(w, v);
}

void jsonw_null_field(struct jsonw *w, const char *n)
{
	jsonw_name(w, n);
	jsonw_null(w);
}
