// SPDX-License-Identifier: MIT
/*
 * Record validation and value iteration (see decode.h).
 *
 * Records come from a BPF program that reads another process's memory, so a bug there (or a
 * version skew between the two sides) shows up here as a record that does not add up. Every
 * length is checked against the bytes actually received before it is used, and everything
 * the formatters rely on (payload sizes per tag, children complete, bounded nesting) is
 * checked once here, so output.c never sees an inconsistent record.
 */
#include "decode.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "json.h"
#include "strbuf.h"

/*
 * Open containers at once: tuples, lists and dicts have children down to depth ST_MAX_DEPTH
 * (the args tuple is depth 0); a code object's filename and name may sit one level lower.
 */
#define NEST_MAX (ST_MAX_DEPTH + 2)

_Static_assert(sizeof(struct st_value) == 16, "st_value is 16 bytes on the wire");

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void st_cursor_init(struct st_cursor *c, const struct st_view *v)
{
	c->pos = v->values;
	c->end = v->values + v->values_len;
	c->left = v->nvalues;
}

int st_value_skip_children(struct st_cursor *c, const struct st_val *v)
{
	uint64_t pending = v->nchild;
	struct st_val child;
	int err;

	/* Each value read settles one pending child and adds its own children. */
	while (pending) {
		err = st_value_next(c, &child);
		if (err <= 0)
			return -EINVAL;
		pending += (uint64_t)child.nchild - 1;
	}
	return 0;
}

bool st_value_tag_known(unsigned tag)
{
	return tag >= ST_V_NONE && tag < ST_V_TAG_MAX;
}

const char *st_value_tag_name(unsigned tag)
{
	static const char *const names[ST_V_TAG_MAX] = {
		[ST_V_NONE] = "NoneType",
		[ST_V_TRUE] = "bool",
		[ST_V_FALSE] = "bool",
		[ST_V_INT] = "int",
		[ST_V_FLOAT] = "float",
		[ST_V_STR] = "str",
		[ST_V_BYTES] = "bytes",
		[ST_V_BYTEARRAY] = "bytearray",
		[ST_V_TUPLE] = "tuple",
		[ST_V_LIST] = "list",
		[ST_V_DICT] = "dict",
		[ST_V_CODE] = "code",
		[ST_V_OTHER] = "object",
		[ST_V_FAULT] = "unreadable",
	};

	return st_value_tag_known(tag) ? names[tag] : NULL;
}

uint32_t st_str_char(const struct st_val *v, size_t i)
{
	const uint8_t *p;

	if (i >= st_str_len(v))
		return 0;
	switch (st_str_kind(v)) {
	case 1:
		return v->payload[i];
	case 2:
		p = v->payload + 2 * i;
		return le16(p);
	default:
		p = v->payload + 4 * i;
		return le32(p);
	}
}

/* Per-tag consistency of one value at `depth` (the args tuple is at depth 0). */
static int check_value(const struct st_val *v, unsigned depth)
{
	unsigned kind;

	switch (v->tag) {
	case ST_V_NONE:
	case ST_V_TRUE:
	case ST_V_FALSE:
	case ST_V_FAULT:
		return v->len == 0 && v->nchild == 0 ? 0 : -EINVAL;
	case ST_V_INT:
		/* Digits with their top bits set are a content problem: st_int_to_decimal(). */
		return v->len % 4 || v->len / 4 > ST_MAX_DIGITS || v->nchild ? -EINVAL : 0;
	case ST_V_FLOAT:
		return v->len == 8 && v->nchild == 0 ? 0 : -EINVAL;
	case ST_V_STR:
		kind = st_str_kind(v);
		if (!kind || v->len % kind || v->nchild || v->len / kind > v->total)
			return -EINVAL;
		return 0;
	case ST_V_BYTES:
	case ST_V_BYTEARRAY:
	case ST_V_OTHER:
		return v->nchild == 0 && v->len <= v->total ? 0 : -EINVAL;
	case ST_V_TUPLE:
	case ST_V_LIST:
	case ST_V_DICT:
		if (v->len)
			return -EINVAL;
		if (v->tag == ST_V_DICT ? (v->nchild % 2 || v->nchild / 2 > v->total)
					: v->nchild > v->total)
			return -EINVAL;
		/* Not expanded because of depth: nothing may follow as children. */
		if ((v->flags & ST_VF_DEPTH) && v->nchild)
			return -EINVAL;
		if (v->nchild && depth > ST_MAX_DEPTH)
			return -EINVAL;
		return 0;
	case ST_V_CODE:
		/*
		 * Payload: the first line, or nothing when the probe could not read it or had no
		 * room. Children: filename, then name; none when the value budget ran out.
		 */
		if ((v->len != 0 && v->len != 4) || v->nchild > 2)
			return -EINVAL;
		return v->nchild && depth > ST_MAX_DEPTH + 1 ? -EINVAL : 0;
	default:
		/*
		 * A tag this reader does not know (a newer probe): its payload and children are
		 * still delimited, so the record is kept and the value shown as unknown.
		 */
		return v->nchild && depth > ST_MAX_DEPTH + 1 ? -EINVAL : 0;
	}
}

int st_decode_event(const void *data, size_t size, struct st_view *out)
{
	const uint8_t *base = data;
	struct st_event h;
	struct st_cursor c;
	struct st_val v;
	uint32_t pending[NEST_MAX]; /* children still due, per open container */
	unsigned sp = 0, i;
	uint16_t type;
	uint32_t rec_size;
	bool truncated;

	if (!data || !out)
		return -EINVAL;
	/* The common prefix (type, flags, size) comes first, whatever the record type. */
	if (size < offsetof(struct st_event, ts_ns))
		return -EINVAL;
	memcpy(&type, base + offsetof(struct st_event, type), sizeof(type));
	memcpy(&rec_size, base + offsetof(struct st_event, size), sizeof(rec_size));
	if (type != ST_REC_EVENT)
		return -EPROTO;
	if (rec_size != size || size < sizeof(struct st_event))
		return -EINVAL;
	/* out->hdr is dereferenced by the formatters; ring buffer samples are 8-aligned. */
	if ((uintptr_t)data % _Alignof(struct st_event))
		return -EINVAL;
	memcpy(&h, base, sizeof(h));
	if (h.name_len > ST_NAME_MAX || h.name_len > size - sizeof(h))
		return -EINVAL;
	if (h.nvalues > ST_MAX_VALUES)
		return -EINVAL;

	/* Arguments that could not be read are lost to the reader: marked as cut too. */
	truncated = h.flags & (ST_EF_NAME_TRUNC | ST_EF_REC_FULL | ST_EF_ARGS_FAULT);
	c.pos = base + sizeof(h) + h.name_len;
	c.end = base + size;
	memset(out, 0, sizeof(*out));
	if (h.flags & ST_EF_CHAIN) {
		/* The frame chain closes the record: take it off the end before the values. */
		struct st_chain_tail t;
		size_t avail = (size_t)(c.end - c.pos);

		if (avail < sizeof(t))
			return -EINVAL;
		memcpy(&t, c.end - sizeof(t), sizeof(t));
		if (t.nchain > ST_CHAIN_MAX || t.flags & ~ST_CF_CUT ||
		    8 * (size_t)t.nchain > avail - sizeof(t))
			return -EINVAL;
		c.end -= sizeof(t) + 8 * (size_t)t.nchain;
		out->chain = c.end;
		out->nchain = t.nchain;
		out->has_chain = true;
		out->chain_cut = t.flags & ST_CF_CUT;
	}
	if ((h.flags & (ST_EF_STACK | ST_EF_NO_STACK)) == ST_EF_NO_STACK) {
		/* -k, but the values took the whole record: a stack cut before its first frame. */
		out->has_stack = true;
		out->stack_flags = ST_SKF_CUT;
	}
	if (h.flags & ST_EF_STACK) {
		/* The stack comes before the chain: now the last bytes left. */
		struct st_stack_tail t;
		size_t avail = (size_t)(c.end - c.pos);

		if (avail < sizeof(t))
			return -EINVAL;
		memcpy(&t, c.end - sizeof(t), sizeof(t));
		if (t.nframes > ST_STACK_MAX || t.flags & ~(ST_SKF_CUT | ST_SKF_UNKNOWN) ||
		    sizeof(struct st_stack_frame) * (size_t)t.nframes > avail - sizeof(t))
			return -EINVAL;
		c.end -= sizeof(t) + sizeof(struct st_stack_frame) * (size_t)t.nframes;
		out->stack = c.end;
		out->nstack = t.nframes;
		out->stack_flags = t.flags;
		out->has_stack = true;
	}
	c.left = h.nvalues;
	for (i = 0; i < h.nvalues; i++) {
		if (st_value_next(&c, &v) != 1)
			return -EINVAL;
		if (check_value(&v, sp))
			return -EINVAL;
		/* Children promised must fit in the headers the record says it has. */
		if (v.nchild > c.left)
			return -EINVAL;
		truncated |= st_value_truncated(&v);
		/* No arguments tuple to show (args null): marked, never silently empty. */
		if (i == 0 && v.tag != ST_V_TUPLE)
			truncated = true;
		if (sp)
			pending[sp - 1]--;
		if (v.nchild) {
			/* check_value() bounded the depth, so this cannot overflow. */
			if (sp == NEST_MAX)
				return -EINVAL;
			pending[sp++] = v.nchild;
		}
		while (sp && !pending[sp - 1])
			sp--;
	}
	/* A container whose children did not all arrive, or bytes nobody accounted for. */
	if (sp || c.pos != c.end)
		return -EINVAL;

	out->hdr = data;
	out->name = (const char *)base + sizeof(h);
	out->name_len = h.name_len;
	out->values = base + sizeof(h) + h.name_len;
	out->values_len = (size_t)(c.end - out->values);
	out->nvalues = h.nvalues;
	out->truncated = truncated;
	return 0;
}

int st_str_to_wtf8(const struct st_val *v, struct strbuf *sb)
{
	size_t i, n = st_str_len(v);
	uint32_t cp, lo;

	for (i = 0; i < n; i++) {
		cp = st_str_char(v, i);
		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
			lo = st_str_char(v, i + 1);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		}
		st_utf8_put(sb, cp);
	}
	return sb->err;
}

/* Write the 9 digits of a limb < 10^9, zero-padded, at p. */
static void put_limb9(char *p, uint32_t x)
{
	uint32_t hi = x / 10000, lo = x % 10000;

	p[0] = (char)('0' + hi / 10000);
	hi %= 10000;
	memcpy(p + 1, st_digits2 + 2 * (hi / 100), 2);
	memcpy(p + 3, st_digits2 + 2 * (hi % 100), 2);
	memcpy(p + 5, st_digits2 + 2 * (lo / 100), 2);
	memcpy(p + 7, st_digits2 + 2 * (lo % 100), 2);
}

int st_int_to_decimal(const struct st_val *v, struct strbuf *sb)
{
	/* Base 10^9 limbs, least significant first; 30 bits add at most 1.004 limbs. */
	uint32_t limb[ST_MAX_DIGITS + ST_MAX_DIGITS / 64 + 3];
	size_t nd = v->len / 4, nl = 0, i, j;
	uint64_t mag;
	unsigned n;
	char *p;

	if (v->tag != ST_V_INT)
		return -EINVAL;
	if (nd > ST_MAX_DIGITS)
		return -E2BIG;
	/* Up to 60 bits: plain 64-bit arithmetic. */
	if (st_int_small(v, &mag)) {
		if (mag && (v->flags & ST_VF_NEG))
			strbuf_addch(sb, '-');
		return strbuf_add_u64(sb, mag);
	}
	/* Horner's rule from the most significant 30-bit digit: n = n * 2^30 + d. */
	for (i = nd; i-- > 0;) {
		uint64_t carry = le32(v->payload + 4 * i);

		/* Not a 30-bit digit: the probe read something that is not this int. */
		if (carry >> 30)
			return -ERANGE;

		for (j = 0; j < nl; j++) {
			uint64_t t = ((uint64_t)limb[j] << 30) + carry;

			limb[j] = (uint32_t)(t % 1000000000u);
			carry = t / 1000000000u;
		}
		while (carry) {
			if (nl == sizeof(limb) / sizeof(limb[0]))
				return -E2BIG;
			limb[nl++] = (uint32_t)(carry % 1000000000u);
			carry /= 1000000000u;
		}
	}
	if (!nl)
		return strbuf_addch(sb, '0');
	if (v->flags & ST_VF_NEG)
		strbuf_addch(sb, '-');
	strbuf_add_u64(sb, limb[nl - 1]);
	p = strbuf_reserve(sb, 9 * (nl - 1));
	if (!p)
		return sb->err;
	for (i = nl - 1, n = 0; i-- > 0; n += 9)
		put_limb9(p + n, limb[i]);
	strbuf_commit(sb, n);
	return sb->err;
}

uint64_t st_int_ndigits(const struct st_val *v)
{
	uint64_t kept = v->len / 4;

	return v->total > kept ? v->total : kept;
}

double st_float_value(const struct st_val *v)
{
	double d;

	if (v->len != sizeof(d))
		return NAN;
	memcpy(&d, v->payload, sizeof(d));
	return d;
}

bool st_code_firstlineno(const struct st_val *v, int32_t *line)
{
	if (v->tag != ST_V_CODE || v->len != 4)
		return false;
	*line = (int32_t)le32(v->payload);
	return true;
}
