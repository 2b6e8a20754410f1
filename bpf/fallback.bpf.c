// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Uprobe fallback, for interpreters built without the python:audit probe
 * (pyenv, python-build-standalone, official Docker images). It reuses the
 * probe's decoder and record helpers (decode.bpf.h, record.bpf.h).
 *
 * Without the probe there is no arguments tuple to walk: the uprobes sit in
 * the functions that would build it, and this program builds its record the
 * way Py_BuildValue would build the tuple, from the format string and the
 * variadic arguments. The record is the one the probe path writes for the
 * same event: the first value is the arguments tuple, objects ('O') are
 * decoded by the same code, C values are written as the objects
 * Py_BuildValue makes of them (ints as 30-bit digits, C strings as the
 * str's canonical 1-, 2- or 4-byte code units).
 *
 * Attach points (user/fallback.c chooses them per binary, cookie in wire.h):
 *  - ST_FB_TSTATE, sys_audit_tstate(ts, event, fmt, va_list *) (3.9+), the
 *    funnel of every C-level event (PySys_Audit and _PySys_Audit call it);
 *  - ST_FB_VARIADIC, PySys_Audit(event, fmt, ...): the funnel on 3.8, and
 *    on builds whose sys_audit_tstate is not in the symbol tables;
 *  - ST_FB_VARIADIC_TS, _PySys_Audit(ts, event, fmt, ...), with it there;
 *  - ST_FB_SYS_AUDIT, the static sys_audit(self, args, nargs) behind
 *    Python-level sys.audit(): it returns early when no hook is installed
 *    (a build without the probe has no semaphore to ask for events), so
 *    its events never reach the funnel. When hooks are installed it passes
 *    the event on to the funnel with format "O": the funnel skips that call
 *    (fb_pending), so each event is written once.
 */
#include "common.bpf.h"
#include "filter.bpf.h"
#include "decode.bpf.h"
#include "record.bpf.h"

/* Format characters read; a longer format is decoded up to its last whole item there, cut. */
#define FB_FMT_MAX 128
#define FB_FMT_BUF 256		    /* room for a mask, and the byte after FB_FMT_MAX */
#define FB_LEVELS  8		    /* open brackets in a format, the top level included */
#define FB_RAW_MAX (4 * ST_STR_MAX) /* bytes of a C string read: -s code points at 4 bytes each */

/* One open bracket of the format (or the top level, closed by the end of the string). */
struct fb_level {
	__u8 close; /* the character that ends it: ')', ']', '}', or 0 */
	__u8 depth; /* nesting depth of its items (the arguments tuple's are at 1) */
	__u8 skip;  /* its items are consumed, not written */
	__u8 _pad;
	__u16 kept; /* items written; the others are only consumed */
	__u16 seen; /* items met so far */
};

/*
 * State of one run, in map memory like the decoder's (see struct dec_state):
 * the format, the variadic arguments (a va_list, or registers and stack),
 * and the string being converted.
 */
/* x86-64's va_list, as PySys_Audit's callee receives it. */
struct fb_va_list {
	__u32 gp_off, fp_off;
	__u64 overflow, save;
};

struct fb_state {
	char fmt[FB_FMT_BUF];
	__u8 cnt[FB_FMT_BUF]; /* items inside the bracket opening at each position */
	__u32 pos;	      /* next format character */
	__u32 nlev;	      /* levels open; 0: done */
	__u32 top;	      /* items at the top level */
	__u32 bad;	      /* the format could not be parsed */
	__u32 end;	      /* where the items stop: the NUL, or where a long format is cut */
	__u32 fmt_cut;	      /* the format goes on past FB_FMT_MAX: items from `end` on are left out */
	__u32 last_top;	      /* count pass: items at the top level before the last one began */
	__u32 last_pos;	      /* count pass: where that last top-level item began */
	__u32 csp;	      /* count pass: brackets open */
	__u32 cstack[FB_LEVELS];
	struct fb_level lev[FB_LEVELS];
	/* The variadic arguments, as a va_list: general registers from gp_off
	 * (below 48, in gpr[]: the save area's copy, or the registers
	 * themselves), doubles from fp_off (below 176: the save area, unless
	 * va_regs: in xmm registers, which a uprobe cannot read), then the
	 * overflow area (the caller's stack). */
	__u64 gpr[8];
	struct fb_va_list vl; /* the va_list as read, for an ST_FB_TSTATE site */
	__u64 overflow;
	__u64 save;
	__u32 gp_off;
	__u32 fp_off;
	__u32 va_regs;
	/* string conversion */
	__u64 src;	/* user address of a wchar_t string */
	__u32 len;	/* bytes in raw[] (UTF-8) or code units (wchar_t) */
	__u32 rpos;	/* read position */
	__u32 ncp;	/* code points */
	__u32 maxcp;	/* the largest one */
	__u32 wout;	/* payload bytes written */
	__u32 wmax;	/* payload bytes that may be written */
	__u32 kind;	/* bytes per code unit written */
	__u32 nonascii; /* 1: a byte >= 0x80 seen; 2: not valid UTF-8 (or UCS-4) */
	__u32 wterm;	/* wchar_t string without a length: stop at its terminator */
	__u32 cut;	/* raw[] holds only the start of the string */
};

struct fb_scratch {
	struct fb_state st;
	__u8 raw[FB_RAW_MAX + 16]; /* a C string, copied to be scanned */
};

/* Per-CPU, used only while rec_scratch()'s mark on the CPU's scratch is held. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fb_scratch);
} fb_scratch_map SEC(".maps");

/*
 * Thread (pid_tgid) -> the str object of the sys.audit() call it is in,
 * for events the filters keep: the funnel's uprobe skips the "O" call
 * sys_audit makes with that name, written already from sys_audit's own
 * uprobe. Left behind when no hook is installed (no funnel call follows);
 * the thread's next sys.audit() replaces it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} fb_pending SEC(".maps");

/* What the callbacks get; the decoder's context first, so dec_cb() can take it too. */
struct fb_ctx {
	struct dec_ctx d;
	struct fb_scratch *fb;
};

/* ---- the variadic arguments ------------------------------------------- */

static __always_inline __u64 va_gp(struct fb_state *f)
{
	return va_next_gp(&f->gp_off, &f->overflow, f->gpr);
}

/* A double; 0 when it is in an xmm register, which a uprobe cannot read. */
static __always_inline int va_fp(struct fb_state *f, __u64 *v)
{
	int ok;

	if (f->fp_off < 176) {
		ok = !f->va_regs && !bpf_probe_read_user(v, 8, (const void *)(f->save + f->fp_off));
		f->fp_off += 16;
		return ok;
	}
	ok = !bpf_probe_read_user(v, 8, (const void *)f->overflow);
	f->overflow += 8;
	return ok;
}

/* ---- values Py_BuildValue makes of C arguments ------------------------- */

/* A value with no payload; `nchild` children promised. */
static __always_inline void fb_hdr(struct dec_ctx *d, __u8 tag, __u8 flags, __u32 nchild,
				   __u64 total)
{
	d->s->owed--;
	finish(d, val_hdr(d), tag, flags, 0, nchild, total);
}

/* An int of magnitude `mag`, as emit_int() writes a PyLong: 30-bit digits. */
static __always_inline void fb_int(struct dec_ctx *d, __u64 mag, int neg)
{
	struct st_value *v = val_hdr(d);
	__u32 nd = !mag ? 0 : mag < (1ULL << 30) ? 1 : mag < (1ULL << 60) ? 2 : 3;
	__u32 off = (d->s->off + VAL_SZ) & (ST_REC_MAX - 1), n = nd * 4, r;
	__u8 flags = neg ? ST_VF_NEG : 0;

	d->s->owed--;
	r = room(d) & ~3u;
	if (n > r) {
		n = r;
		d->s->rec_full = 1;
		flags |= ST_VF_TRUNC;
	}
	*(__u32 *)&d->sc->buf[off] = (__u32)(mag & 0x3fffffff);
	*(__u32 *)&d->sc->buf[off + 4] = (__u32)((mag >> 30) & 0x3fffffff);
	*(__u32 *)&d->sc->buf[off + 8] = (__u32)(mag >> 60);
	finish(d, v, ST_V_INT, flags, n, 0, nd);
}

static __always_inline void fb_sint(struct dec_ctx *d, __s64 x)
{
	fb_int(d, x < 0 ? 0 - (__u64)x : (__u64)x, x < 0);
}

static __always_inline void fb_float(struct dec_ctx *d, __u64 bits, int ok)
{
	struct st_value *v = val_hdr(d);

	d->s->owed--;
	if (ok && room(d) >= 8) {
		*(__u64 *)&d->sc->buf[(d->s->off + VAL_SZ) & (ST_REC_MAX - 1)] = bits;
		finish(d, v, ST_V_FLOAT, 0, 8, 0, 0);
		return;
	}
	if (ok)
		d->s->rec_full = 1;
	finish(d, v, ST_V_FAULT, 0, 0, 0, 0);
}

/* 'D': a complex, which the probe path shows by its type name, as any type it does not decode. */
static __always_inline void fb_complex(struct dec_ctx *d)
{
	struct st_value *v = val_hdr(d);
	__u32 off = (d->s->off + VAL_SZ) & (ST_REC_MAX - 1);

	d->s->owed--;
	if (room(d) < ST_TYPE_NAME_MAX) {
		/* No room for the name: an empty one, cut, as emit_other() writes it. */
		d->s->rec_full = 1;
		finish(d, v, ST_V_OTHER, ST_VF_TRUNC, 0, 0, 0);
		return;
	}
	*(__u64 *)&d->sc->buf[off] = 0x78656c706d6f63ULL; /* "complex\0" */
	finish(d, v, ST_V_OTHER, 0, 7, 0, 7);
}

/* One code point as a str of length 1 ('C'). */
static __always_inline void fb_char(struct dec_ctx *d, __s32 cp)
{
	struct st_value *v = val_hdr(d);
	__u32 off = (d->s->off + VAL_SZ) & (ST_REC_MAX - 1);
	__u32 kind = cp < 0x100 ? 1 : cp < 0x10000 ? 2 : 4;

	d->s->owed--;
	if (cp < 0 || cp > 0x10ffff) {
		finish(d, v, ST_V_FAULT, 0, 0, 0, 0);
		return;
	}
	if (room(d) < kind) {
		d->s->rec_full = 1;
		finish(d, v, ST_V_STR, ST_VF_TRUNC | (kind << ST_VF_KIND_SHIFT), 0, 0, 1);
		return;
	}
	*(__u32 *)&d->sc->buf[off] = (__u32)cp;
	finish(d, v, ST_V_STR, kind << ST_VF_KIND_SHIFT, kind, 0, 1);
}

/* 'c': one byte as bytes of length 1. */
static __always_inline void fb_byte(struct dec_ctx *d, __u8 c)
{
	struct st_value *v = val_hdr(d);

	d->s->owed--;
	if (room(d) < 1) {
		d->s->rec_full = 1;
		finish(d, v, ST_V_BYTES, ST_VF_TRUNC, 0, 0, 1);
		return;
	}
	d->sc->buf[(d->s->off + VAL_SZ) & (ST_REC_MAX - 1)] = c;
	finish(d, v, ST_V_BYTES, 0, 1, 0, 1);
}

/*
 * A C string's length, copied into raw[]: `len` when given ('#'), else up
 * to its NUL. *cut: the string goes on past what raw[] holds. -1: unreadable.
 */
static __always_inline long fb_raw(struct fb_scratch *fb, __u64 src, __s64 len, int *cut)
{
	long n;

	*cut = 0;
	if (len >= 0) {
		n = len > FB_RAW_MAX ? FB_RAW_MAX : len;
		*cut = len > FB_RAW_MAX;
		/* Hide n from clang so the bound survives for the verifier. */
		barrier_var(n);
		if (n > FB_RAW_MAX)
			n = FB_RAW_MAX;
		if (n > 0 && bpf_probe_read_user(fb->raw, n, (const void *)src))
			return -1;
		return n;
	}
	n = bpf_probe_read_user_str(fb->raw, FB_RAW_MAX, (const void *)src);
	if (n <= 0)
		return -1;
	if (n == FB_RAW_MAX) {
		char c = 0;

		bpf_probe_read_user(&c, 1, (const void *)(src + FB_RAW_MAX - 1));
		*cut = c != 0;
	}
	return n - 1;
}

/* bytes ('y'): the first -s bytes, total = the length. */
static __always_inline void fb_bytes(struct fb_ctx *c, __u64 src, __s64 len)
{
	struct dec_ctx *d = &c->d;
	struct st_value *v = val_hdr(d);
	__u8 flags = 0;
	int cut;
	long n;
	__u32 kept;

	d->s->owed--;
	if (!src) {
		finish(d, v, ST_V_NONE, 0, 0, 0, 0);
		return;
	}
	/* With '#' the length is known: no need to look for a NUL. */
	n = len >= 0 ? len : fb_raw(c->fb, src, -1, &cut);
	if (n < 0) {
		finish(d, v, ST_V_FAULT, 0, 0, 0, 0);
		return;
	}
	if (len < 0 && cut)
		flags |= ST_VF_TRUNC; /* longer than raw[]: the total is a lower bound */
	kept = copy_payload(d, src, (__u64)n > cfg_str_max ? cfg_str_max : (__u64)n);
	if (kept < (__u64)n)
		flags |= ST_VF_TRUNC;
	finish(d, v, ST_V_BYTES, flags, kept, 0, (__u64)n);
}

/* Any byte with its top bit set in raw[0, len): 64 bytes per iteration. */
static long fb_ascii_cb(__u32 i, void *data)
{
	struct fb_ctx *c = data;
	struct fb_state *f = &c->fb->st;
	__u32 base = i * 64;

	if (base >= f->len)
		return 1;
	for (__u32 k = 0; k < 8; k++) {
		__u32 o = base + k * 8, left;
		__u64 w, mask;

		if (o >= f->len)
			break;
		w = *(__u64 *)&c->fb->raw[o & (FB_RAW_MAX - 1)];
		left = f->len - o;
		mask = left >= 8 ? ~0ULL : (1ULL << (left * 8)) - 1;
		if (w & mask & 0x8080808080808080ULL) {
			f->nonascii = 1;
			return 1;
		}
	}
	return 0;
}

/*
 * The code point at raw[rpos], advancing rpos; -1 for a sequence
 * PyUnicode_DecodeUTF8 rejects (strict: no overlong forms, surrogates or
 * values past U+10FFFF), -2 for one that runs past len.
 */
static __always_inline __s32 fb_utf8_next(struct fb_scratch *fb)
{
	struct fb_state *f = &fb->st;
	__u32 p = f->rpos, left = f->len - p, need, cp, min;
	__u8 b0 = fb->raw[p & (FB_RAW_MAX - 1)], b;

	if (b0 < 0x80) {
		f->rpos = p + 1;
		return b0;
	}
	if ((b0 & 0xe0) == 0xc0) {
		need = 1;
		cp = b0 & 0x1f;
		min = 0x80;
	} else if ((b0 & 0xf0) == 0xe0) {
		need = 2;
		cp = b0 & 0x0f;
		min = 0x800;
	} else if ((b0 & 0xf8) == 0xf0) {
		need = 3;
		cp = b0 & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (left <= need)
		return -2;
	for (__u32 k = 1; k <= 3; k++) {
		if (k > need)
			break;
		b = fb->raw[(p + k) & (FB_RAW_MAX - 1)];
		if ((b & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (b & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	f->rpos = p + 1 + need;
	return (__s32)cp;
}

/* Counts the code points of raw[0, len) and finds the largest. */
static long fb_scan_cb(__u32 i, void *data)
{
	struct fb_ctx *c = data;
	struct fb_state *f = &c->fb->st;
	__s32 cp;

	if (f->rpos >= f->len)
		return 1;
	cp = fb_utf8_next(c->fb);
	if (cp == -2 && f->cut) {
		f->len = f->rpos; /* raw[] cut the last character: the string goes on anyway */
		return 1;
	}
	if (cp < 0) {
		f->nonascii = 2; /* invalid */
		return 1;
	}
	f->ncp++;
	if ((__u32)cp > f->maxcp)
		f->maxcp = cp;
	return 0;
}

/* Writes one code unit of `kind` bytes for cp; 1 once the payload is full. */
static __always_inline long fb_put_unit(struct dec_ctx *d, struct fb_state *f, __u32 cp)
{
	__u32 off = (d->s->off + VAL_SZ + f->wout) & (ST_REC_MAX - 1);

	if (f->wout + f->kind > f->wmax)
		return 1;
	if (f->kind == 1)
		d->sc->buf[off] = (__u8)cp;
	else if (f->kind == 2)
		*(__u16 *)&d->sc->buf[off] = (__u16)cp;
	else
		*(__u32 *)&d->sc->buf[off] = cp;
	f->wout += f->kind;
	return 0;
}

/* Writes raw[]'s code points as code units of f->kind bytes. */
static long fb_write_cb(__u32 i, void *data)
{
	struct fb_ctx *c = data;
	struct fb_state *f = &c->fb->st;
	__s32 cp;

	if (f->rpos >= f->len)
		return 1;
	cp = fb_utf8_next(c->fb);
	if (cp < 0)
		return 1;
	return fb_put_unit(&c->d, f, (__u32)cp);
}

static __always_inline __u32 fb_kind(__u32 maxcp)
{
	return maxcp < 0x100 ? 1 : maxcp < 0x10000 ? 2 : 4;
}

/*
 * Payload bytes a str of `ncp` code points of `kind` bytes may use: -s code
 * points, as emit_str() keeps, within the record's room.
 */
static __always_inline __u32 fb_str_room(struct dec_ctx *d, __u32 ncp, __u32 kind)
{
	__u64 want = (__u64)(ncp > cfg_str_max ? cfg_str_max : ncp) * kind;
	__u32 r = room(d);

	if (want > ST_VALUE_MAX)
		want = ST_VALUE_MAX;
	if (want > r) {
		want = r;
		d->s->rec_full = 1;
	}
	return (__u32)want - (__u32)want % kind;
}

/* 's', 'z', 'U': a UTF-8 C string, as the str PyUnicode_FromString(AndSize) makes of it. */
static __always_inline void fb_str(struct fb_ctx *c, __u64 src, __s64 len)
{
	struct dec_ctx *d = &c->d;
	struct fb_state *f = &c->fb->st;
	struct st_value *v = val_hdr(d);
	__u8 flags = 0;
	__u32 n;
	int cut;
	long nraw;

	d->s->owed--;
	if (!src) {
		finish(d, v, ST_V_NONE, 0, 0, 0, 0);
		return;
	}
	nraw = fb_raw(c->fb, src, len, &cut);
	if (nraw < 0) {
		finish(d, v, ST_V_FAULT, 0, 0, 0, 0);
		return;
	}
	if (cut)
		flags |= ST_VF_TRUNC; /* longer than raw[]: the length is a lower bound */
	f->len = (__u32)nraw;
	f->cut = cut;
	f->nonascii = 0;
	bpf_loop(FB_RAW_MAX / 64 + 1, fb_ascii_cb, c, 0);
	if (!f->nonascii) {
		/* ASCII: the bytes are the code units; copied from the string itself. */
		n = copy_payload(d, src, (__u64)nraw > cfg_str_max ? cfg_str_max : (__u64)nraw);
		if (n < (__u64)nraw)
			flags |= ST_VF_TRUNC;
		finish(d, v, ST_V_STR, flags | (1 << ST_VF_KIND_SHIFT), n, 0, (__u64)nraw);
		return;
	}
	f->rpos = 0;
	f->ncp = 0;
	f->maxcp = 0;
	f->nonascii = 1;
	bpf_loop(FB_RAW_MAX, fb_scan_cb, c, 0);
	if (f->nonascii == 2) {
		/* Not UTF-8: Py_BuildValue fails (the event is not raised, or raised without it). */
		finish(d, v, ST_V_FAULT, 0, 0, 0, 0);
		return;
	}
	f->kind = fb_kind(f->maxcp);
	f->wmax = fb_str_room(d, f->ncp, f->kind);
	f->wout = 0;
	f->rpos = 0;
	bpf_loop(ST_STR_MAX, fb_write_cb, c, 0);
	n = f->wout;
	if (n < (__u64)f->ncp * f->kind)
		flags |= ST_VF_TRUNC;
	finish(d, v, ST_V_STR, flags | (f->kind << ST_VF_KIND_SHIFT), n, 0, f->ncp);
}

/* wchar_t (UCS-4 on Linux) strings, read one unit at a time: rare ('u' in early open events). */
static __always_inline __u32 fb_wunit(struct fb_state *f, __u32 i)
{
	__u32 u = 0;

	bpf_probe_read_user(&u, 4, (const void *)(f->src + (__u64)i * 4));
	return u;
}

static long fb_wscan_cb(__u32 i, void *data)
{
	struct fb_ctx *c = data;
	struct fb_state *f = &c->fb->st;
	__u32 u;

	if (i >= f->len)
		return 1;
	u = fb_wunit(f, i);
	if (f->wterm && !u) {
		f->len = i;
		return 1;
	}
	if (u > 0x10ffff) {
		f->nonascii = 2;
		return 1;
	}
	f->ncp++;
	if (u > f->maxcp)
		f->maxcp = u;
	return 0;
}

static long fb_wwrite_cb(__u32 i, void *data)
{
	struct fb_ctx *c = data;
	struct fb_state *f = &c->fb->st;

	if (i >= f->len)
		return 1;
	return fb_put_unit(&c->d, f, fb_wunit(f, i));
}

/* 'u', 'Z': a wchar_t string, as PyUnicode_FromWideChar makes it. */
static __always_inline void fb_wstr(struct fb_ctx *c, __u64 src, __s64 len)
{
	struct dec_ctx *d = &c->d;
	struct fb_state *f = &c->fb->st;
	struct st_value *v = val_hdr(d);
	__u8 flags = 0;

	d->s->owed--;
	if (!src) {
		finish(d, v, ST_V_NONE, 0, 0, 0, 0);
		return;
	}
	f->src = src;
	f->nonascii = 0;
	f->wterm = len < 0;
	f->len = len < 0 || len > FB_RAW_MAX / 4 ? FB_RAW_MAX / 4 : (__u32)len;
	if (len > FB_RAW_MAX / 4)
		flags |= ST_VF_TRUNC;
	f->ncp = 0;
	f->maxcp = 0;
	bpf_loop(FB_RAW_MAX / 4, fb_wscan_cb, c, 0);
	if (f->nonascii == 2) {
		finish(d, v, ST_V_FAULT, 0, 0, 0, 0);
		return;
	}
	if (len < 0 && f->ncp == FB_RAW_MAX / 4)
		flags |= ST_VF_TRUNC;
	f->kind = fb_kind(f->maxcp);
	f->wmax = fb_str_room(d, f->ncp, f->kind);
	f->wout = 0;
	f->len = f->ncp;
	bpf_loop(ST_STR_MAX, fb_wwrite_cb, c, 0);
	if (f->wout < (__u64)f->ncp * f->kind)
		flags |= ST_VF_TRUNC;
	finish(d, v, ST_V_STR, flags | (f->kind << ST_VF_KIND_SHIFT), f->wout, 0, f->ncp);
}

/* ---- the format ---------------------------------------------------------- */

/*
 * Counts items per bracket as CPython's countformat() does: every
 * character but the separators, '#' and '&' starts an item at its level.
 */
static long fb_count_cb(__u32 i, void *data)
{
	struct fb_ctx *c = data;
	struct fb_state *f = &c->fb->st;
	__u32 p = f->pos, sp = f->csp;
	char ch;

	ch = f->fmt[p & (FB_FMT_BUF - 1)];
	if (p >= FB_FMT_MAX && ch) {
		/*
		 * Longer than is read: the items end before the last top-level one,
		 * which may be unfinished (an open bracket, a '#' not read).
		 */
		f->fmt_cut = 1;
		f->top = f->last_top;
		f->end = f->last_pos;
		return 1;
	}
	f->pos = p + 1;
	switch (ch) {
	case 0:
		if (sp)
			f->bad = 1; /* unmatched bracket */
		return 1;
	case ')':
	case ']':
	case '}':
		if (!sp) {
			f->bad = 1;
			return 1;
		}
		f->csp = sp - 1;
		return 0;
	case '#':
	case '&':
	case ',':
	case ':':
	case ' ':
	case '\t':
		return 0;
	}
	if (!sp) {
		f->last_top = f->top;
		f->last_pos = p;
		f->top++;
	} else
		f->cnt[f->cstack[(sp - 1) & (FB_LEVELS - 1)] & (FB_FMT_BUF - 1)]++;
	if (ch == '(' || ch == '[' || ch == '{') {
		if (sp >= FB_LEVELS - 1) {
			f->bad = 1;
			return 1;
		}
		f->cstack[sp & (FB_LEVELS - 1)] = p;
		f->cnt[p & (FB_FMT_BUF - 1)] = 0;
		f->csp = sp + 1;
	}
	return 0;
}

static __always_inline void fb_push_level(struct fb_state *f, __u8 close, __u8 depth, __u8 skip,
					  __u32 kept)
{
	__u32 l = f->nlev;
	struct fb_level *lv;

	if (l >= FB_LEVELS)
		return;
	lv = &f->lev[l];
	lv->close = close;
	lv->depth = depth;
	lv->skip = skip;
	lv->kept = (__u16)kept;
	lv->seen = 0;
	f->nlev = l + 1;
}

/* '(' '[' '{': the container's header, then a level for its items. */
static __always_inline void fb_open(struct fb_ctx *c, char ch, __u32 p, __u8 depth, int write)
{
	struct dec_ctx *d = &c->d;
	struct fb_state *f = &c->fb->st;
	__u32 items = f->cnt[p & (FB_FMT_BUF - 1)], n, total;
	__u8 tag = ch == '(' ? ST_V_TUPLE : ch == '[' ? ST_V_LIST : ST_V_DICT;
	__u8 close = ch == '(' ? ')' : ch == '[' ? ']' : '}';
	__u8 flags = 0;

	if (!write) {
		fb_push_level(f, close, depth + 1, 1, 0);
		return;
	}
	total = tag == ST_V_DICT ? items / 2 : items;
	if (depth > ST_MAX_DEPTH) {
		/* Too deep: summarised, as emit_seq() and emit_dict() do. */
		fb_hdr(d, tag, total ? ST_VF_TRUNC | ST_VF_DEPTH : 0, 0, total);
		fb_push_level(f, close, depth + 1, 1, 0);
		return;
	}
	n = take(d, total, tag == ST_V_DICT ? 2 : 1);
	if (n < total)
		flags |= ST_VF_TRUNC;
	fb_hdr(d, tag, flags, tag == ST_V_DICT ? n * 2 : n, total);
	fb_push_level(f, close, depth + 1, 0, tag == ST_V_DICT ? n * 2 : n);
}

/*
 * One step: a value of the object being decoded, if any, else the next
 * format character. Returns 1 when the format is done.
 */
static long fb_cb(__u32 i, void *data)
{
	struct fb_ctx *c = data;
	struct dec_ctx *d = &c->d;
	struct fb_state *f = &c->fb->st;
	struct fb_level *lv;
	__u32 p, l;
	__u64 a;
	__s64 len = -1;
	int write;
	char ch, nx;

	if (d->s->fsp)
		return dec_cb(i, d);
	l = f->nlev;
	if (!l || l > FB_LEVELS)
		return 1;
	lv = &f->lev[(l - 1) & (FB_LEVELS - 1)];
	p = f->pos;
	if (p >= f->end || p >= FB_FMT_MAX) {
		f->nlev = 0;
		return 1;
	}
	ch = f->fmt[p & (FB_FMT_BUF - 1)];
	nx = f->fmt[(p + 1) & (FB_FMT_BUF - 1)];
	if (ch == (char)lv->close) {
		f->nlev = l - 1;
		f->pos = p + 1;
		return 0;
	}
	f->pos = p + 1;
	switch (ch) {
	case 0: /* the end inside a bracket: Py_BuildValue fails */
	case ')':
	case ']':
	case '}':
		f->nlev = 0;
		return 1;
	case ',':
	case ':':
	case ' ':
	case '\t':
	case '#':
	case '&':
		return 0;
	}
	write = !lv->skip && lv->seen < lv->kept;
	lv->seen++;
	/* '#' after a string: its length follows it (Py_ssize_t: these calls are PY_SSIZE_T_CLEAN). */
	if (nx == '#' &&
	    (ch == 's' || ch == 'z' || ch == 'U' || ch == 'y' || ch == 'u' || ch == 'Z')) {
		a = va_gp(f);
		len = (__s64)va_gp(f);
		f->pos = p + 2;
	} else if (ch == 'd' || ch == 'f') {
		a = 0;
	} else if (ch == '(' || ch == '[' || ch == '{') {
		fb_open(c, ch, p, lv->depth, write);
		return 0;
	} else {
		a = va_gp(f);
	}
	if (ch == 'O' && nx == '&') {
		/* O&: a converter and its argument; what it makes cannot be known. */
		va_gp(f);
		f->pos = p + 2;
		if (write)
			fb_hdr(d, ST_V_FAULT, 0, 0, 0);
		return 0;
	}
	if (!write) {
		if (ch == 'd' || ch == 'f')
			va_fp(f, &a);
		return 0;
	}
	switch (ch) {
	case 'O':
	case 'S':
	case 'N':
		/* An object: the decoder writes it over the next iterations. */
		push_frame(d, FR_OBJ, a, 0, 1, 0, 0, lv->depth);
		if (!d->s->fsp) /* no frame left: keep the record whole */
			fb_hdr(d, ST_V_FAULT, 0, 0, 0);
		break;
	case 's':
	case 'z':
	case 'U':
		fb_str(c, a, len);
		break;
	case 'y':
		fb_bytes(c, a, len);
		break;
	case 'u':
	case 'Z':
		fb_wstr(c, a, len);
		break;
	case 'i':
	case 'b':
	case 'h':
	case 'B':
		fb_sint(d, (__s32)a);
		break;
	case 'H':
	case 'I':
		fb_int(d, (__u32)a, 0);
		break;
	case 'l':
	case 'n':
	case 'L':
		fb_sint(d, (__s64)a);
		break;
	case 'k':
	case 'K':
		fb_int(d, a, 0);
		break;
	case 'c':
		fb_byte(d, (__u8)a);
		break;
	case 'C':
		fb_char(d, (__s32)a);
		break;
	case 'p':
		fb_hdr(d, (__s32)a ? ST_V_TRUE : ST_V_FALSE, 0, 0, 0);
		break;
	case 'd':
	case 'f': {
		int ok = va_fp(f, &a);

		fb_float(d, a, ok);
		break;
	}
	case 'D':
		fb_complex(d);
		break;
	default:
		/* Not a format character: Py_BuildValue fails. Nothing after it can be trusted. */
		fb_hdr(d, ST_V_FAULT, 0, 0, 0);
		f->nlev = 0;
		return 1;
	}
	return 0;
}

/* 1 when obj is a tuple (PyTuple_Check: subclasses too). */
static __always_inline int fb_is_tuple(struct dec_ctx *d, __u64 obj)
{
	struct st_layout *lo = d->lo;
	__u64 b = d->bias, type;

	if (obj == lo->addr[ST_T_NONE_OBJ] + b || obj == lo->addr[ST_T_TRUE_OBJ] + b ||
	    obj == lo->addr[ST_T_FALSE_OBJ] + b)
		return 0;
	type = rd64(obj + lo->ob_type);
	if (type == lo->addr[ST_T_TUPLE] + b)
		return 1;
	/* The common exact types: no need to read their flags. */
	if (type == lo->addr[ST_T_LONG] + b || type == lo->addr[ST_T_STR] + b ||
	    type == lo->addr[ST_T_BYTES] + b || type == lo->addr[ST_T_LIST] + b ||
	    type == lo->addr[ST_T_DICT] + b || type == lo->addr[ST_T_CODE] + b ||
	    type == lo->addr[ST_T_FLOAT] + b)
		return 0;
	return !!(rd64(type + lo->tp_flags) & TPF_TUPLE);
}

/*
 * The arguments tuple as sys_audit_tstate() builds it: an empty format
 * gives (); a single item is the tuple itself when it is one (a lone 'O'
 * holding a tuple, or a bracketed '(...)'), else it is wrapped in a
 * 1-tuple; several items make the tuple.
 */
static __always_inline void fb_args(struct fb_ctx *c)
{
	struct dec_ctx *d = &c->d;
	struct fb_state *f = &c->fb->st;
	__u32 first = 0, n;
	char ch = 0;

	f->pos = 0;
	f->nlev = 0;
	if (!f->fmt[0]) {
		fb_hdr(d, ST_V_TUPLE, 0, 0, 0);
		return;
	}
	f->top = 0;
	f->bad = 0;
	f->csp = 0;
	f->end = FB_FMT_MAX;
	f->fmt_cut = 0;
	f->last_top = 0;
	f->last_pos = 0;
	bpf_loop(FB_FMT_MAX + 1, fb_count_cb, c, 0);
	f->pos = 0;
	if (f->fmt_cut) {
		/* The items before the cut, in a tuple marked cut: at least one more followed. */
		n = take(d, f->top, 1);
		fb_hdr(d, ST_V_TUPLE, ST_VF_TRUNC, n, (__u64)f->top + 1);
		fb_push_level(f, 0, 1, 0, n);
		return;
	}
	if (f->bad) {
		/* Not a format this program reads: the arguments are unknown. */
		d->s->owed = 0;
		((struct st_event *)d->sc->buf)->flags |= ST_EF_ARGS_FAULT;
		return;
	}
	if (f->top == 0) {
		/* Only separators: Py_BuildValue gives None, wrapped. */
		fb_hdr(d, ST_V_TUPLE, 0, 1, 1);
		fb_hdr(d, ST_V_NONE, 0, 0, 0);
		return;
	}
	if (f->top == 1) {
		for (__u32 k = 0; k < 8; k++) {
			ch = f->fmt[k];
			if (ch != ' ' && ch != ',' && ch != ':' && ch != '\t') {
				first = k;
				break;
			}
		}
		if (ch == '(') {
			/* The bracketed tuple is the arguments tuple. */
			f->pos = first + 1;
			n = take(d, f->cnt[first & (FB_FMT_BUF - 1)], 1);
			fb_hdr(d, ST_V_TUPLE,
			       n < f->cnt[first & (FB_FMT_BUF - 1)] ? ST_VF_TRUNC : 0, n,
			       f->cnt[first & (FB_FMT_BUF - 1)]);
			fb_push_level(f, ')', 1, 0, n);
			return;
		}
		if ((ch == 'O' || ch == 'S' || ch == 'N') &&
		    f->fmt[(first + 1) & (FB_FMT_BUF - 1)] != '&') {
			__u64 obj = va_gp(f);

			if (obj && fb_is_tuple(d, obj)) {
				/* Python-level hooks' "O" with the tuple: written as the probe path does. */
				push_frame(d, FR_OBJ, obj, 0, 1, 0, 0, 0);
				return;
			}
			n = take(d, 1, 1);
			fb_hdr(d, ST_V_TUPLE, 0, n, 1);
			push_frame(d, FR_OBJ, obj, 0, n, 0, 0, 1);
			return;
		}
	}
	n = take(d, f->top, 1);
	fb_hdr(d, ST_V_TUPLE, n < f->top ? ST_VF_TRUNC : 0, n, f->top);
	fb_push_level(f, 0, 1, 0, n);
}

/* ---- the event name of a Python-level sys.audit() ------------------------ */

/* Code point k of a str's data (kind 1, 2 or 4). */
static __always_inline __u32 fb_str_unit(__u64 data, __u32 kind, __u32 k)
{
	__u64 u = 0;

	bpf_probe_read_user(&u, kind & 7, (const void *)(data + (__u64)k * kind));
	return (__u32)u;
}

struct fb_name_ctx {
	struct st_event *e;
	__u64 data;
	__u32 kind;
	__u32 len; /* code points */
	__u32 out; /* bytes written */
	__u32 bad; /* a surrogate: PyUnicode_AsUTF8 fails */
};

/*
 * Code point i as UTF-8 in the name; bytes past ST_NAME_MAX - 1 are
 * dropped, as the probe path cuts.
 */
static long fb_name_cb(__u32 i, void *data)
{
	struct fb_name_ctx *n = data;
	__u32 cp, k, nb;
	__u8 b[4];

	if (i >= n->len)
		return 1;
	cp = fb_str_unit(n->data, n->kind, i);
	if (cp >= 0xd800 && cp <= 0xdfff) {
		n->bad = 1;
		return 1;
	}
	if (cp < 0x80) {
		b[0] = cp;
		nb = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		nb = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		nb = 3;
	} else {
		b[0] = 0xf0 | cp >> 18;
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		nb = 4;
	}
	for (k = 0; k < 4; k++) {
		if (k >= nb)
			break;
		if (n->out >= ST_NAME_MAX - 1) {
			n->e->flags |= ST_EF_NAME_TRUNC;
			return 1;
		}
		n->e->tail[n->out & (ST_NAME_MAX - 1)] = b[k];
		n->out++;
	}
	return 0;
}

/*
 * The name sys_audit() passes on: PyUnicode_AsUTF8() of args[0], a str.
 * Returns the address the funnel will get for it (to recognise the call), 0
 * when the event is not raised (not a str, or not encodable).
 */
static __always_inline __u64 fb_name_from_str(struct dec_ctx *d, struct st_event *e, __u64 obj)
{
	struct st_layout *lo = d->lo;
	__u64 type, len, state, utf8;
	__u32 kind;

	/* The type, length and state in one read, as emit() reads an object's head. */
	d->s = &d->sc->st;
	d->s->head_ok = obj && !bpf_probe_read_user(d->s->head, sizeof(d->s->head), (void *)obj);
	if (!obj)
		return 0;
	type = field(d, obj, lo->ob_type);
	if (type != lo->addr[ST_T_STR] + d->bias && !(rd64(type + lo->tp_flags) & TPF_UNICODE))
		return 0; /* TypeError */
	state = field(d, obj, lo->str_state) & 0xffffffff;
	if ((state & lo->str_compact_bit) && (state & lo->str_ascii_bit)) {
		/* Compact ASCII: the data is UTF-8 already, NUL-terminated. */
		rec_name(e, (const char *)(obj + lo->str_ascii_data), 0);
		return obj + lo->str_ascii_data;
	}
	/* Its cached UTF-8 (utf8 follows utf8_length, right after the PyASCIIObject part). */
	utf8 = rd64(obj + lo->str_ascii_data + 8);
	if (utf8) {
		rec_name(e, (const char *)utf8, 0);
		return utf8;
	}
	/* Not encoded yet: encode it here, as the probe path would read it. */
	len = field(d, obj, lo->str_length);
	kind = (state >> lo->str_kind_shift) & 7;
	if (kind != 1 && kind != 2 && kind != 4)
		return 0;

	struct fb_name_ctx n = {
	    .e = e,
	    .data = (state & lo->str_compact_bit) ? obj + lo->str_compact_data
						  : rd64(obj + lo->str_legacy_data),
	    .kind = kind,
	    .len = len > ST_NAME_MAX ? ST_NAME_MAX : (__u32)len,
	};

	e->flags = 0;
	bpf_loop(ST_NAME_MAX, fb_name_cb, &n, 0);
	if (n.bad)
		return 0;
	e->tail[n.out & (ST_NAME_MAX - 1)] = 0;
	e->name_len = (__u16)n.out;
	/* Encoded in the process only once a hook asks for it: -1 matches no funnel call. */
	return (__u64)-1;
}

/* ---- the programs --------------------------------------------------------- */

/*
 * sys_audit(self, args, nargs): the event is args[0], the arguments tuple
 * is args[1:], written as emit_seq() writes a tuple: no tuple exists yet.
 */
static __always_inline int fb_sys_audit(struct pt_regs *ctx, struct scratch *sc,
					struct st_layout *lo, __u64 id, __u32 slot, __u32 site)
{
	struct st_event *e = (struct st_event *)sc->buf;
	__u64 args = PT_REGS_PARM2(ctx), nargs = PT_REGS_PARM3(ctx), obj, utf8;
	struct dec_ctx dd, *d = &dd;
	__u32 n;

	if ((__s64)nargs < 1)
		return 0;
	obj = rd64(args);
	d->sc = sc;
	d->lo = lo;
	d->bias = site_bias(lo, site, PT_REGS_IP(ctx));
	utf8 = fb_name_from_str(d, e, obj);
	if (!utf8)
		return 0;

	/* A name from a str object: on the heap, never in the name cache. */
	__u8 pair = 0, verdict = rec_verdict(sc, e, &pair, cfg_filter_gen);

	if (cfg_rules && sc->rmask && (__s64)nargs > 1)
		verdict = rules_objv(sc, lo, d->bias, args + 8, nargs - 1, verdict);
	else if (cfg_rules && sc->rmask)
		verdict = rules_objv(sc, lo, d->bias, 0, 0, verdict);
	/* -c: counted; the funnel's call for it must still be known as this one. */
	if (rec_counted(sc, lo, id, slot, d->bias, NULL, verdict)) {
		bpf_map_update_elem(&fb_pending, &id, &obj, BPF_ANY);
		return 0;
	}
	if (!rec_begin(d, sc, lo, id, slot, d->bias, verdict, pair))
		return 0;
	/*
	 * Kept: the funnel must not write it again. (Filtered out, its funnel
	 * call carries the same name and is filtered out too.) Over a rate limit,
	 * it is counted once, here: the funnel call is skipped as well.
	 */
	bpf_map_update_elem(&fb_pending, &id, &obj, BPF_ANY);
	if (!rec_rate_ok(sc))
		return 0;
	nargs--;
	n = take(d, nargs, 1);
	fb_hdr(d, ST_V_TUPLE, n < nargs ? ST_VF_TRUNC : 0, n, nargs);
	push_frame(d, FR_SEQ, args + 8, 0, n, 0, 8, 1);
	bpf_loop(DEC_ITERS, dec_cb, d, 0);
	rec_end(d);
	return 0;
}

/* 1 when this funnel call is sys_audit()'s own, already written (see fb_pending). */
static __always_inline int fb_seen_already(struct st_layout *lo, __u64 id, struct fb_state *f,
					   const char *event)
{
	__u64 *obj, ev = (__u64)event;

	if (f->fmt[0] != 'O' || f->fmt[1])
		return 0;
	obj = bpf_map_lookup_elem(&fb_pending, &id);
	if (!obj)
		return 0;
	if (ev != *obj + lo->str_ascii_data && ev != rd64(*obj + lo->str_ascii_data + 8))
		return 0;
	bpf_map_delete_elem(&fb_pending, &id);
	return 1;
}

/*
 * -c, -C: fb_seen_already() before the format is in the fallback's scratch: 1 when this funnel
 * call is sys_audit()'s own, counted there.
 */
static __always_inline int fb_count_seen(struct scratch *sc, struct st_layout *lo, __u64 id,
					 const char *event, const char *fmt)
{
	__u64 *obj = bpf_map_lookup_elem(&fb_pending, &id), ev = (__u64)event;
	/* Past the record's room, as count_tmp: this program is short of stack. */
	__u8 *f = &sc->buf[ST_REC_MAX + sizeof(struct count_tmp)];

	if (!obj)
		return 0;
	if (ev != *obj + lo->str_ascii_data && ev != rd64(*obj + lo->str_ascii_data + 8))
		return 0;
	if (!fmt || bpf_probe_read_user(f, 2, fmt) || f[0] != 'O' || f[1])
		return 0;
	/* -C: fb_seen_already() takes it, the record's turn. */
	if (cfg_count == ST_COUNT_ONLY)
		bpf_map_delete_elem(&fb_pending, &id);
	return 1;
}

/* One event from a fallback uprobe, into the scratch rec_scratch() handed out. */
static __always_inline int fb_event(struct pt_regs *ctx, struct scratch *sc, struct st_layout *lo,
				    __u64 id, __u64 cookie)
{
	__u32 slot = ST_COOKIE_SLOT(cookie), site = ST_COOKIE_SITE(cookie), kind = ST_FB_KIND(cookie);
	struct fb_scratch *fb;
	struct fb_state *f;
	const char *event, *fmt;
	__u32 zero = 0;
	if (kind == ST_FB_SYS_AUDIT)
		return fb_sys_audit(ctx, sc, lo, id, slot, site);
	/* sys_audit_tstate() drops events raised without a thread state (early start-up). */
	if ((kind == ST_FB_TSTATE || kind == ST_FB_VARIADIC_TS) && !PT_REGS_PARM1(ctx))
		return 0;
	/* Loaded one by one: clang must not turn the choice into arithmetic on ctx. */
	__u64 r1 = PT_REGS_PARM1(ctx), r2 = PT_REGS_PARM2(ctx), r3 = PT_REGS_PARM3(ctx);

	barrier_var(r1);
	barrier_var(r2);
	barrier_var(r3);
	event = (const char *)(kind == ST_FB_VARIADIC ? r1 : r2);
	fmt = (const char *)(kind == ST_FB_VARIADIC ? r2 : r3);
	__u64 bias = site_bias(lo, site, PT_REGS_IP(ctx));
	__u8 pair = 0, verdict = rec_name_cached(sc, lo, slot, bias, event, &pair);

	struct fb_ctx cc = {}, *c = &cc;
	/* Argument rules read the format and the va_list before the name's verdict is final. */
	int early = cfg_rules && sc->rmask;

	/*
	 * -c, -C: counted here, before any record (the stack has no room for it later); with
	 * argument rules, once their verdict is known, below.
	 */
	if (cfg_count && verdict == NC_KEEP && !early) {
		if (!fb_count_seen(sc, lo, id, event, fmt))
			rec_counted(sc, lo, id, slot, bias, event, verdict);
		if (cfg_count == ST_COUNT_ONLY)
			return 0;
	}
	/* The name filter first: an event filtered out costs no more reads. */
	if (!early && !rec_begin(&c->d, sc, lo, id, slot, bias, verdict, pair))
		return 0;
	fb = bpf_map_lookup_elem(&fb_scratch_map, &zero);
	if (!fb)
		return 0;
	c->fb = fb;
	f = &fb->st;
	f->fmt[0] = 0;
	/*
	 * NULL: no arguments. Unreadable: refused by the count pass. One byte
	 * past FB_FMT_MAX tells a format cut there from one that ends there.
	 */
	if (fmt && bpf_probe_read_user_str(f->fmt, FB_FMT_MAX + 2, fmt) < 0) {
		f->fmt[0] = '('; /* an unmatched bracket */
		f->fmt[1] = 0;
	}
	/* With rules, the rate waits for their verdict and the record's header, below. */
	if (fb_seen_already(lo, id, f, event) || (!early && !rec_rate_ok(sc)))
		return 0;
	if (kind == ST_FB_TSTATE) {
		/* Read into the scratch, not the stack: with -S, the stack of this program and
		 * its two nested callbacks is at its 512-byte limit. */
		struct fb_va_list *vl = &f->vl;

		__builtin_memset(vl, 0, sizeof(*vl));
		bpf_probe_read_user(vl, sizeof(*vl), (const void *)PT_REGS_PARM4(ctx));
		f->va_regs = 0;
		f->gp_off = vl->gp_off;
		f->fp_off = vl->fp_off;
		f->overflow = vl->overflow;
		f->save = vl->save;
		/* The general registers' save area in one read: va_gp() takes them from gpr[]. */
		if (vl->gp_off < 48)
			bpf_probe_read_user(f->gpr, 48, (const void *)vl->save);
	} else {
		/* Variadic: the registers the uprobe sees, then the caller's stack. */
		f->va_regs = 1;
		f->gpr[0] = PT_REGS_PARM1(ctx);
		f->gpr[1] = PT_REGS_PARM2(ctx);
		f->gpr[2] = PT_REGS_PARM3(ctx);
		f->gpr[3] = PT_REGS_PARM4(ctx);
		f->gpr[4] = PT_REGS_PARM5(ctx);
		f->gpr[5] = ctx->r9;
		f->fp_off = 48;
		f->overflow = PT_REGS_SP(ctx) + ST_FB_SPADJ(cookie) + 8;
		f->gp_off = kind == ST_FB_VARIADIC ? 16 : 24;
	}
	if (early) {
		verdict = rules_fmt(sc, lo, bias, f->fmt, f->gp_off, f->fp_off, f->overflow, f->gpr,
				    verdict);
		if (!rec_begin(&c->d, sc, lo, id, slot, bias, verdict, pair) ||
		    rec_counted(sc, lo, id, slot, bias, NULL, verdict) || !rec_rate_ok(sc))
			return 0;
	}
	fb_args(c);
	bpf_loop(FB_FMT_MAX * 2 + DEC_ITERS, fb_cb, c, 0);
	rec_end(&c->d);
	return 0;
}

SEC("uprobe")
int audit_fallback(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), cookie = bpf_get_attach_cookie(ctx);
	struct st_layout *lo = NULL;
	struct scratch *sc = rec_scratch(id, ST_COOKIE_SLOT(cookie), &lo);

	if (!sc || !lo)
		return 0;
	fb_event(ctx, sc, lo, id, cookie);
	rec_release(sc);
	return 0;
}

/* The benchmark's floor for the fallback: the same uprobes with nothing done. */
SEC("uprobe")
int audit_fallback_floor(struct pt_regs *ctx)
{
	return 0;
}
