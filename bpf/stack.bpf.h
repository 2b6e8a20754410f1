/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * -k: the Python stack that raised the event, a tail section after the values (wire.h, struct
 * st_stack_tail). Per Python frame, innermost first: the code object's address, the offset of
 * the instruction running and co_firstlineno; the reader makes lines of them. Off unless
 * cfg_stack_depth is set: the verifier then drops all of it.
 */
#ifndef SEATRACE_STACK_BPF_H
#define SEATRACE_STACK_BPF_H

/* Included by record.bpf.h once current_frame() is defined. */

/* -k: Python frames kept per event (--stack-depth); 0: no stacks. */
ST_SHARED const volatile __u32 cfg_stack_depth;

/* Bytes read of a frame (its fields used are within: f_lasti at 104 in 3.8) and of a code
 * object's head (ob_type, co_firstlineno at 72 at most). */
#define STK_FRAME_READ 112
#define STK_CODE_READ 80
/* Where they are read to: the scratch's spare room past the record, a map value, so that
 * fields at offsets from the layout can be loaded. */
#define STK_FRAME_AT ST_REC_MAX
#define STK_CODE_AT (ST_REC_MAX + 128)

struct stack_ctx {
	__u8 *buf;		/* the scratch */
	struct st_layout *lo;
	__u64 fr;		/* the frame looked at next */
	__u64 code_type;	/* PyCode_Type's address in this process */
	__u64 last_code;	/* the code object of the last frame kept, and its first line: */
	__s32 last_first;	/* a recursion reads it once */
	__u32 pos;		/* where the next frame goes */
	__u16 n, max;		/* frames written; frames wanted */
	__u16 cut;
};

static __always_inline __u64 stk_word(__u8 *buf, __u32 at, __u16 off)
{
	return *(__u64 *)&buf[at + (off & 127)];
}

static __attribute__((unused)) long stack_cb(__u32 i, void *data)
{
	struct stack_ctx *c = data;
	struct st_layout *lo = c->lo;
	__u8 *fb = &c->buf[STK_FRAME_AT];
	__u64 fr = c->fr, code, instr;
	struct st_stack_frame *f;
	__s32 off;

	if (!fr)
		return 1;
	if (bpf_probe_read_user(fb, STK_FRAME_READ, (const void *)fr)) {
		c->cut = 1; /* a frame that cannot be read: what is above it is unknown */
		return 1;
	}
	c->fr = lo->fr_back ? stk_word(c->buf, STK_FRAME_AT, lo->fr_back) : 0;
	/* Frames of the C stack (3.12+ entry shims) and the interpreter's own: no Python code. */
	if (lo->fr_owner && lo->fr_owner_skip &&
	    c->buf[STK_FRAME_AT + (lo->fr_owner & 127)] >= lo->fr_owner_skip)
		return 0;
	code = stk_word(c->buf, STK_FRAME_AT, lo->fr_code) & ~(__u64)lo->fr_tag_bits;
	if (!code)
		return 0;
	/* Both frames hold the object: the same address in one walk is the same code. */
	if (code != c->last_code) {
		if (bpf_probe_read_user(&c->buf[STK_CODE_AT], STK_CODE_READ, (const void *)code) ||
		    stk_word(c->buf, STK_CODE_AT, lo->ob_type) != c->code_type)
			return 0;
		c->last_code = code;
		c->last_first = (__s32)stk_word(c->buf, STK_CODE_AT, lo->co_firstlineno);
	}
	if (c->n >= c->max) {
		c->cut = 1;
		return 1;
	}
	instr = stk_word(c->buf, STK_FRAME_AT, lo->fr_instr);
	if (lo->fr_lasti_mul)
		off = (__s32)instr * (__s32)lo->fr_lasti_mul;
	else
		off = (__s32)(instr - (code + lo->co_code_adaptive));
	f = (struct st_stack_frame *)&c->buf[c->pos & (ST_REC_MAX - 1)];
	f->code = code;
	f->offset = off;
	f->firstline = c->last_first;
	c->pos += sizeof(*f);
	c->n++;
	return 0;
}

/*
 * After the values: the frames, then struct st_stack_tail, with room left for the chain
 * (rec_chain). A stack longer than --stack-depth, or than the record has room for, is cut
 * and marked; frames skipped (not Python's) do not count, but every look costs an iteration,
 * so a walk that runs out of them is marked cut too.
 */
static __always_inline void rec_stack(struct dec_ctx *d)
{
	struct st_event *e = (struct st_event *)d->sc->buf;
	struct st_layout *lo = d->lo;
	struct stack_ctx c = { .buf = d->sc->buf, .lo = lo };
	__u32 room, depth = cfg_stack_depth;
	struct st_stack_tail *t;
	__u16 flags = 0;

	if (depth > ST_STACK_MAX)
		depth = ST_STACK_MAX;
	c.pos = d->s->off;
	/* A record full of values still says its stack was cut: the tail always fits. */
	if (c.pos > ST_REC_MAX - sizeof(*t)) {
		e->flags |= ST_EF_NO_STACK;
		return;
	}
	/* The chain may follow: its room is kept. */
	room = ST_REC_MAX - sizeof(*t) - ST_CHAIN_MAX * 8 - sizeof(struct st_chain_tail);
	room = c.pos < room ? (room - c.pos) / sizeof(struct st_stack_frame) : 0;
	c.max = depth < room ? depth : room;
	c.fr = e->frame ? e->frame : current_frame(lo, d->bias, e->tid);
	c.code_type = lo->addr[ST_T_CODE] + d->bias;
	if (!c.fr || !lo->fr_instr)
		flags |= ST_SKF_UNKNOWN;
	else if (bpf_loop(2 * ST_STACK_MAX + 8, stack_cb, &c, 0) == 2 * ST_STACK_MAX + 8 && c.fr)
		c.cut = 1;
	if (c.cut)
		flags |= ST_SKF_CUT;
	t = (struct st_stack_tail *)&d->sc->buf[c.pos & (ST_REC_MAX - 1)];
	t->nframes = c.n;
	t->flags = flags;
	t->_pad = 0;
	d->s->off = c.pos + sizeof(*t);
	e->flags |= ST_EF_STACK;
}

#endif /* SEATRACE_STACK_BPF_H */
