/* SPDX-License-Identifier: MIT */
/*
 * Wire records for the tests, built byte by byte (bpf/wire.h):
 *
 *   struct st_event | name bytes | nvalues x (struct st_value | payload)
 *
 *   struct rec r;
 *   rec_begin(&r, "open", 0);      header with the defaults below, then the name
 *   v_tuple(&r, 2);                values in pre-order: a container, then its children
 *   v_str(&r, "/tmp/x");
 *   v_int(&r, 1);
 *   rec_end(&r);                   fills in size and nvalues: r.buf, r.len is the record
 *
 * Header only, static inline, so that the benchmark built by hand needs no extra source.
 * Include it after <cmocka.h>: a value that does not fit then fails the test; without
 * cmocka (the benchmark) it aborts. rec_try_val() returns -1 instead, for callers that
 * stop when the record is full.
 */
#ifndef SEATRACE_TESTS_RECBUILD_H
#define SEATRACE_TESTS_RECBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#ifdef assert_true
#define REC_CHECK(cond) assert_true(cond)
#else
#define REC_CHECK(cond)                                                                    \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);         \
			abort();                                                           \
		}                                                                          \
	} while (0)
#endif

struct rec {
	_Alignas(8) uint8_t buf[ST_REC_MAX];
	size_t len;	  /* bytes written to buf */
	unsigned nvalues; /* value headers appended */
};

/* The st_event fields a record starts with (type, size, name_len and nvalues are the builder's). */
struct rec_hdr {
	uint16_t flags; /* ST_EF_* */
	uint64_t ts_ns;
	uint64_t frame;
	uint32_t pid, tid;
	const char *comm; /* comm_len bytes, ST_COMM_LEN at most kept; no NUL needed */
	size_t comm_len;
};

/* What the tests' expected texts assume: 1234/1235 python3.11, 1 s after boot. */
#define REC_HDR_DEFAULT                                                                    \
	{                                                                                  \
		.ts_ns = 1000000000, .pid = 1234, .tid = 1235, .comm = "python3.11",       \
		.comm_len = 10,                                                            \
	}

/*
 * Starts a record: the whole of *r zeroed (bytes past the record included), then the header
 * and name_len bytes of name (any bytes, NULs included).
 */
static inline void rec_begin_hdr(struct rec *r, const char *name, size_t name_len,
				 const struct rec_hdr *hdr)
{
	struct st_event h;

	REC_CHECK(sizeof(h) + name_len <= sizeof(r->buf));
	memset(r, 0, sizeof(*r));
	memset(&h, 0, sizeof(h));
	h.type = ST_REC_EVENT;
	h.flags = hdr->flags;
	h.ts_ns = hdr->ts_ns;
	h.frame = hdr->frame;
	h.pid = hdr->pid;
	h.tid = hdr->tid;
	h.name_len = (uint16_t)name_len;
	memcpy(h.comm, hdr->comm, hdr->comm_len > ST_COMM_LEN ? ST_COMM_LEN : hdr->comm_len);
	memcpy(r->buf, &h, sizeof(h));
	memcpy(r->buf + sizeof(h), name, name_len);
	r->len = sizeof(h) + name_len;
}

/* The default header with these flags. */
static inline void rec_begin_n(struct rec *r, const char *name, size_t name_len, uint16_t flags)
{
	struct rec_hdr h = REC_HDR_DEFAULT;

	h.flags = flags;
	rec_begin_hdr(r, name, name_len, &h);
}

static inline void rec_begin(struct rec *r, const char *name, uint16_t flags)
{
	rec_begin_n(r, name, strlen(name), flags);
}

/* Appends one value header and its len payload bytes; -1 (nothing appended) if they do not fit. */
static inline int rec_try_val(struct rec *r, uint8_t tag, uint8_t flags, const void *payload,
			      uint16_t len, uint32_t nchild, uint64_t total)
{
	struct st_value v = {
		.tag = tag, .flags = flags, .len = len, .nchild = nchild, .total = total
	};

	if (r->len + sizeof(v) + len > sizeof(r->buf))
		return -1;
	memcpy(r->buf + r->len, &v, sizeof(v));
	r->len += sizeof(v);
	if (len)
		memcpy(r->buf + r->len, payload, len);
	r->len += len;
	r->nvalues++;
	return 0;
}

/* As rec_try_val(), for values that must fit. */
static inline void rec_val(struct rec *r, uint8_t tag, uint8_t flags, const void *payload,
			   uint16_t len, uint32_t nchild, uint64_t total)
{
	REC_CHECK(rec_try_val(r, tag, flags, payload, len, nchild, total) == 0);
}

/* Fills in size and nvalues from what was appended. */
static inline void rec_end(struct rec *r)
{
	uint32_t size = (uint32_t)r->len;
	uint16_t nv = (uint16_t)r->nvalues;

	memcpy(r->buf + offsetof(struct st_event, size), &size, sizeof(size));
	memcpy(r->buf + offsetof(struct st_event, nvalues), &nv, sizeof(nv));
}

/* ---- values ------------------------------------------------------------------------------ */

/* A value with no payload and no children: None, True, False, a fault. */
static inline void v_leaf(struct rec *r, uint8_t tag)
{
	rec_val(r, tag, 0, NULL, 0, 0, 0);
}

/* A tuple, list or dict with nchild children kept of total (pairs for a dict). */
static inline void v_cont(struct rec *r, uint8_t tag, uint32_t nchild, uint64_t total)
{
	uint64_t kept = tag == ST_V_DICT ? nchild / 2 : nchild;

	rec_val(r, tag, kept < total ? ST_VF_TRUNC : 0, NULL, 0, nchild, total);
}

static inline void v_tuple(struct rec *r, uint32_t n)
{
	v_cont(r, ST_V_TUPLE, n, n);
}

/* A 1-byte-kind str: n bytes kept of total code points. */
static inline void v_strn(struct rec *r, const char *latin1, size_t n, uint64_t total)
{
	rec_val(r, ST_V_STR, (uint8_t)((1 << ST_VF_KIND_SHIFT) | (n < total ? ST_VF_TRUNC : 0)),
		latin1, (uint16_t)n, 0, total);
}

static inline void v_str(struct rec *r, const char *latin1)
{
	v_strn(r, latin1, strlen(latin1), strlen(latin1));
}

/* A str of kind 2 or 4: n code units, little-endian, kept of total. */
static inline void v_ucsn(struct rec *r, unsigned kind, const uint32_t *cu, size_t n,
			  uint64_t total)
{
	uint8_t p[256];

	REC_CHECK(n * kind <= sizeof(p));
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < kind; k++)
			p[i * kind + k] = (uint8_t)(cu[i] >> (8 * k));
	rec_val(r, ST_V_STR, (uint8_t)((kind << ST_VF_KIND_SHIFT) | (n < total ? ST_VF_TRUNC : 0)),
		p, (uint16_t)(n * kind), 0, total);
}

static inline void v_ucs(struct rec *r, unsigned kind, const uint32_t *cu, size_t n)
{
	v_ucsn(r, kind, cu, n, n);
}

/* An int from its n 30-bit digits, least significant first. */
static inline void v_digits(struct rec *r, const uint32_t *d, size_t n, bool neg)
{
	uint8_t p[4 * ST_MAX_DIGITS];

	REC_CHECK(n <= ST_MAX_DIGITS);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 4; k++)
			p[4 * i + k] = (uint8_t)(d[i] >> (8 * k));
	rec_val(r, ST_V_INT, neg ? ST_VF_NEG : 0, p, (uint16_t)(4 * n), 0, n);
}

/* An int as the interpreter stores it: no digit for 0. */
static inline void v_int(struct rec *r, int64_t x)
{
	uint64_t m = x < 0 ? -(uint64_t)x : (uint64_t)x;
	uint32_t d[3];
	size_t n = 0;

	for (; m; m >>= 30)
		d[n++] = (uint32_t)(m & 0x3fffffff);
	v_digits(r, d, n, x < 0);
}

static inline void v_float(struct rec *r, double d)
{
	rec_val(r, ST_V_FLOAT, 0, &d, 8, 0, 0);
}

#endif /* SEATRACE_TESTS_RECBUILD_H */
