/* SPDX-License-Identifier: MIT */
/*
 * Validation of one event record from the ring buffer, and iteration over its values.
 *
 * st_decode_event() checks the whole record before anything looks at it, so the formatters
 * can walk it without bounds worries. Value headers are not aligned on the wire (payloads
 * have any length), so they are always copied out, never cast.
 *
 * `nvalues` counts every value header in the record, children included: the BPF side spends
 * one of its ST_MAX_VALUES slots per value it writes. The first value is the arguments tuple.
 */
#ifndef SEATRACE_DECODE_H
#define SEATRACE_DECODE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

struct strbuf;

struct st_view {		    /* a validated event record */
	const struct st_event *hdr; /* points into the caller's buffer */
	const char *name;
	size_t name_len;
	const uint8_t *values;
	size_t values_len;
	unsigned nvalues;
	bool truncated; /* anything was cut: the name, a payload, a container, depth */
	/* ST_EF_CHAIN: the raising frame's callers, innermost first (st_view_chain()) */
	const uint8_t *chain;
	unsigned nchain;
	bool has_chain, chain_cut;
	/* ST_EF_STACK (-k): the Python stack, innermost first (st_view_stack_frame()) */
	const uint8_t *stack;
	unsigned nstack;
	uint16_t stack_flags; /* ST_SKF_* */
	bool has_stack; /* also set, with no frames and ST_SKF_CUT, for ST_EF_NO_STACK */
};

/* Frame i (< v->nstack) of the stack. */
static inline void st_view_stack_frame(const struct st_view *v, unsigned i,
				       struct st_stack_frame *f)
{
	memcpy(f, v->stack + sizeof(*f) * (size_t)i, sizeof(*f));
}

/* Caller i (< v->nchain) of the raising frame. */
static inline uint64_t st_view_chain(const struct st_view *v, unsigned i)
{
	uint64_t a;

	memcpy(&a, v->chain + 8 * (size_t)i, sizeof(a));
	return a;
}

/* One value as read from the stream; payload points into the record. */
struct st_val {
	uint8_t tag;	 /* enum st_value_tag; anything else is an unknown tag */
	uint8_t flags;	 /* enum st_value_flags */
	uint16_t len;	 /* payload bytes */
	uint32_t nchild; /* children following, each a complete value */
	uint64_t total;	 /* full length: see the tags in wire.h */
	const uint8_t *payload;
};

/* Walks the values of a view in wire (pre-)order. */
struct st_cursor {
	const uint8_t *pos, *end;
	unsigned left; /* value headers not read yet */
};

/*
 * Validates everything: type tag, size field equals the received size and is >= header,
 * name_len fits, the value stream parses exactly into nvalues values (each header fits, len
 * fits, container nchild children follow completely, tag known or reported as unknown,
 * payload sizes right for the tag, nesting bounded), no trailing garbage. `data` must be
 * aligned for struct st_event, as ring buffer samples are. Returns 0 or -EINVAL (-EPROTO for
 * an unknown record type). Never reads outside [data, data+size).
 */
int st_decode_event(const void *data, size_t size, struct st_view *out);

void st_cursor_init(struct st_cursor *c, const struct st_view *v);

/* Read the next value header. 1: *out filled; 0: no values left; -EINVAL: malformed. */
static inline int st_value_next(struct st_cursor *c, struct st_val *out)
{
	struct st_value h;
	size_t avail;

	if (!c->left)
		return 0;
	avail = (size_t)(c->end - c->pos);
	if (avail < sizeof(h))
		return -EINVAL;
	memcpy(&h, c->pos, sizeof(h));
	if (h.len > avail - sizeof(h))
		return -EINVAL;
	out->tag = h.tag;
	out->flags = h.flags;
	out->len = h.len;
	out->nchild = h.nchild;
	out->total = h.total;
	out->payload = c->pos + sizeof(h);
	c->pos += sizeof(h) + h.len;
	c->left--;
	return 1;
}

/* Skip the children of v (all its descendants), which must be next in c. 0 or -EINVAL. */
int st_value_skip_children(struct st_cursor *c, const struct st_val *v);

bool st_value_tag_known(unsigned tag);
/* "tuple", "list", ... for the known tags, NULL otherwise. */
const char *st_value_tag_name(unsigned tag);
/* ST_V_STR: bytes per code unit, 1, 2 or 4; 0 when the flags say none of these. */
static inline unsigned st_str_kind(const struct st_val *v)
{
	unsigned kind = ST_VF_KIND(v->flags);

	return kind == 1 || kind == 2 || kind == 4 ? kind : 0;
}

/* ST_V_STR: code points kept, and code point i of them (kind 1/2/4, little-endian). */
static inline size_t st_str_len(const struct st_val *v)
{
	unsigned kind = st_str_kind(v);

	return kind ? v->len / kind : 0;
}

uint32_t st_str_char(const struct st_val *v, size_t i);

/* The value itself was cut: a short payload, fewer children than total, or not expanded. */
static inline bool st_value_truncated(const struct st_val *v)
{
	if (v->flags & (ST_VF_TRUNC | ST_VF_DEPTH))
		return true;
	switch (v->tag) {
	case ST_V_STR:
		return st_str_len(v) < v->total;
	case ST_V_BYTES:
	case ST_V_BYTEARRAY:
	case ST_V_OTHER:
		return v->len < v->total;
	case ST_V_TUPLE:
	case ST_V_LIST:
		return v->nchild < v->total;
	case ST_V_DICT:
		return v->nchild / 2 < v->total;
	default:
		return false;
	}
}
/*
 * ST_V_STR as UTF-8. A CPython str may hold lone surrogates (U+D800..U+DFFF): they keep their
 * 3-byte generalized encoding (WTF-8), which jsonw_string_wtf8() writes as \udXXX escapes.
 * A high surrogate followed by a low one is encoded as the pair's code point, as WTF-8
 * requires (JSON readers would join the two escapes anyway). Code units above U+10FFFF,
 * which no str holds, become U+FFFD.
 */
int st_str_to_wtf8(const struct st_val *v, struct strbuf *sb);

/*
 * ST_V_INT: exact decimal text of the kept digits, with '-' if ST_VF_NEG. 0, or -ERANGE (and
 * nothing appended) when a digit does not fit in 30 bits, or -ENOMEM.
 */
int st_int_to_decimal(const struct st_val *v, struct strbuf *sb);
/*
 * ST_V_INT of at most two kept 30-bit digits, all valid (|n| < 2^60, as nearly every int an
 * audit hook sees): true and the magnitude in *mag (the sign is ST_VF_NEG). False otherwise:
 * use st_int_to_decimal().
 */
static inline bool st_int_small(const struct st_val *v, uint64_t *mag)
{
	const uint8_t *p = v->payload;
	uint64_t d0 = 0, d1 = 0;

	switch (v->len) {
	case 8:
		d1 = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
		     (uint32_t)p[7] << 24;
		/* fall through */
	case 4:
		d0 = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 24;
		/* fall through */
	case 0:
		break;
	default:
		return false;
	}
	if ((d0 | d1) >> 30)
		return false;
	*mag = d1 << 30 | d0;
	return true;
}

/* ST_V_INT: number of 30-bit digits of the full value (kept ones if total says less). */
uint64_t st_int_ndigits(const struct st_val *v);
/* ST_V_FLOAT payload. */
double st_float_value(const struct st_val *v);
/* ST_V_CODE payload: the first line number; false when the probe could not read it. */
bool st_code_firstlineno(const struct st_val *v, int32_t *line);

#endif /* SEATRACE_DECODE_H */
