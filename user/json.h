/* SPDX-License-Identifier: MIT */
/*
 * A JSON writer with bpftool's json_writer discipline: the caller opens and closes objects
 * and arrays, names every member of an object, and the writer tracks on a stack where a
 * comma is due. It writes compact JSON into a strbuf (one JSON Lines record at a time).
 *
 * Strings are always written as valid JSON: quote, backslash and control characters are
 * escaped, valid UTF-8 is copied as is, and every byte that is not part of valid UTF-8 is
 * written as the escape \udcXX (Python's surrogateescape convention: a reader can recover
 * the original bytes). The _wtf8 variants also accept the 3-byte encoding of a lone
 * surrogate code point (U+D800..U+DFFF, which a CPython str may hold) and write it as the
 * escape \udXXX. A misuse (a value where a name is due, closing the wrong kind of container,
 * nesting deeper than JSONW_MAX_DEPTH) is recorded in jsonw_error() and the call ignored,
 * so the text written stays well-formed as far as the writer can help it.
 */
#ifndef SEATRACE_JSON_H
#define SEATRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define JSONW_MAX_DEPTH 48

struct jsonw {
	struct strbuf *sb;
	unsigned depth;			 /* open containers */
	bool after_name;		 /* a member name was written: its value is due */
	bool is_object[JSONW_MAX_DEPTH]; /* per open container: object or array */
	bool has_items[JSONW_MAX_DEPTH]; /* per open container: a comma goes before the next */
	bool has_root;			 /* a top-level value was written */
	int err;			 /* first misuse, -EINVAL; 0 when none */
};

/* Start writing into sb (appending). The writer owns no memory: nothing to free. */
void jsonw_init(struct jsonw *w, struct strbuf *sb);
/* 0, or -EINVAL after a misuse, or the strbuf's -ENOMEM. */
int jsonw_error(const struct jsonw *w);
/* True once every container is closed and a value was written. */
bool jsonw_complete(const struct jsonw *w);

void jsonw_start_object(struct jsonw *w);
void jsonw_end_object(struct jsonw *w);
void jsonw_start_array(struct jsonw *w);
void jsonw_end_array(struct jsonw *w);

/* Member names, only inside an object; the next call writes the member's value. */
void jsonw_name(struct jsonw *w, const char *name);
void jsonw_name_len(struct jsonw *w, const char *name, size_t len);
void jsonw_name_wtf8(struct jsonw *w, const char *name, size_t len);
/*
 * A name the caller knows needs no escaping (printable ASCII without '"' and '\\'), copied
 * as is: the fixed member names of the formats. jsonw_name_lit() takes a string literal.
 */
void jsonw_name_plain(struct jsonw *w, const char *name, size_t len);
#define jsonw_name_lit(w, lit) jsonw_name_plain((w), "" lit, sizeof(lit) - 1)

void jsonw_string(struct jsonw *w, const char *s);
void jsonw_string_len(struct jsonw *w, const char *s, size_t len);
void jsonw_string_wtf8(struct jsonw *w, const char *s, size_t len);
/* A string of Latin-1 code units (a CPython str of kind 1): each unit is its code point. */
void jsonw_string_latin1(struct jsonw *w, const uint8_t *s, size_t len);
/* A string holding the standard base64 (RFC 4648, padded) of the bytes. */
void jsonw_base64(struct jsonw *w, const void *data, size_t len);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_uint(struct jsonw *w, uint64_t v);
/*
 * A double as the shortest text that reads back as the same double (Python's repr digits).
 * JSON has no inf or nan: those are written as the strings "inf", "-inf", "nan".
 */
void jsonw_double(struct jsonw *w, double v);
/*
 * A number given as text, e.g. an integer of any size. Text that is not a JSON number is a
 * misuse: null is written instead so the output stays valid.
 */
void jsonw_number_raw(struct jsonw *w, const char *text, size_t len);
/*
 * Text the caller vouches is one complete JSON value (say a number it formatted itself),
 * written as is: jsonw_number_raw() without the check.
 */
void jsonw_raw(struct jsonw *w, const char *text, size_t len);

/* Shorthands for a member: name then value. */
void jsonw_string_field(struct jsonw *w, const char *name, const char *v);
void jsonw_uint_field(struct jsonw *w, const char *name, uint64_t v);
void jsonw_int_field(struct jsonw *w, const char *name, int64_t v);
void jsonw_bool_field(struct jsonw *w, const char *name, bool v);
void jsonw_null_field(struct jsonw *w, const char *name);

/* Helpers shared with the text format. */

/* Append Python's repr() of a double: shortest round-trip digits, "1.0", "1e+100", "inf". */
int st_format_double(struct strbuf *sb, double v);
/*
 * Length of the well-formed UTF-8 sequence at s (1..4), or 0 if the bytes there are not one.
 * With `surrogates`, the 3-byte encodings of U+D800..U+DFFF are accepted too (WTF-8).
 * The code point goes to *cp.
 */
size_t st_utf8_next(const unsigned char *s, size_t n, bool surrogates, uint32_t *cp);
/* Append the UTF-8 (WTF-8 for surrogates) encoding of cp; cp above U+10FFFF gives U+FFFD. */
int st_utf8_put(struct strbuf *sb, uint32_t cp);
/*
 * Append s as a JSON string, exactly as jsonw_string_len() writes it, but with no writer:
 * for callers that write the fixed frame of a line themselves.
 */
void st_json_string(struct strbuf *sb, const char *s, size_t n);

#endif /* SEATRACE_JSON_H */
