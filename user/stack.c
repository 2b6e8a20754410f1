// SPDX-License-Identifier: MIT
/* -k: Python stacks as files, lines and functions (stack.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "json.h"
#include "stack.h"
#include "strbuf.h"

/* Code objects kept: a direct-mapped cache, an entry replaced by the next one hashing there. */
#define CODE_SLOTS 4096
/* Bounds of what is read of a traced process: code points of a name, bytes of a line table. */
#define NAME_MAX_CP 1024
#define TABLE_MAX (256 << 10)
/* Bytes read of a code object's head: every field used lies within (co_linetable 136). */
#define CODE_HEAD 256
#define STR_HEAD 80

struct code_ent {
	uint32_t pid;
	uint64_t code;
	int32_t firstline;
	unsigned minor;
	char *file, *func; /* UTF-8 */
	uint8_t *tab;	   /* the line table */
	size_t ntab;
	int last_off, last_line; /* the last offset looked up (a hot frame repeats), its line */
};

struct st_stacks {
	st_stack_layout_fn layout;
	st_stack_read_fn read;
	void *ctx;
	struct code_ent ent[CODE_SLOTS];
};

static ssize_t vm_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(pid, &l, 1, &r, 1, 0);
}

struct st_stacks *st_stacks_new(st_stack_layout_fn layout, st_stack_read_fn read, void *ctx)
{
	struct st_stacks *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->layout = layout;
	s->read = read ? read : vm_read;
	s->ctx = ctx;
	return s;
}

static void ent_clear(struct code_ent *e)
{
	free(e->file);
	free(e->func);
	free(e->tab);
	memset(e, 0, sizeof(*e));
}

void st_stacks_free(struct st_stacks *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < CODE_SLOTS; i++)
		ent_clear(&s->ent[i]);
	free(s);
}

/* ---------------------------------------------------------------- line tables */

/* 3.8, 3.9: co_lnotab, (bytecode increment, signed line increment) pairs. */
static int line_lnotab(const uint8_t *t, size_t n, int line, int addrq)
{
	int addr = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		addr += t[i];
		if (addr > addrq)
			break;
		line += (int8_t)t[i + 1];
	}
	return line;
}

/* An address range of a line table being walked, as CPython's PyCodeAddressRange. */
struct range {
	const uint8_t *p, *end;
	int start, stop, line, computed;
	unsigned minor;
};

static unsigned varint(const uint8_t **p, const uint8_t *end)
{
	unsigned v = 0, shift = 0;
	uint8_t b;

	do {
		if (*p >= end || shift > 28)
			return v;
		b = *(*p)++;
		v |= (unsigned)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return v;
}

static int svarint(const uint8_t **p, const uint8_t *end)
{
	unsigned u = varint(p, end);

	return u & 1 ? -(int)(u >> 1) : (int)(u >> 1);
}

/* The next entry: false at the end of the table. */
static bool advance(struct range *r)
{
	if (r->p >= r->end)
		return false;
	r->start = r->stop;
	if (r->minor == 10) {
		int8_t ld;

		if (r->end - r->p < 2)
			return false;
		r->stop += r->p[0];
		ld = (int8_t)r->p[1];
		r->p += 2;
		if (ld == -128) {
			r->line = -1;
		} else {
			r->computed += ld;
			r->line = r->computed;
		}
		return true;
	}
	/* 3.11+: a first byte with bit 7, the code in bits 3-6, code units - 1 in bits 0-2. */
	uint8_t b = r->p[0];
	unsigned code = (b >> 3) & 15;
	const uint8_t *q = r->p + 1;
	int delta = 0;

	if (!(b & 128))
		return false;
	r->stop += ((b & 7) + 1) * 2;
	if (code == 13 || code == 14)
		delta = svarint(&q, r->end);
	else if (code >= 10 && code <= 12)
		delta = (int)code - 10;
	if (code == 15) {
		r->line = -1;
	} else {
		r->computed += delta;
		r->line = r->computed;
	}
	do
		r->p++;
	while (r->p < r->end && !(*r->p & 128));
	return true;
}

int st_stack_line(unsigned minor, const uint8_t *tab, size_t n, int firstline, int offset)
{
	struct range r = { tab, tab + n, -1, 0, -1, firstline, minor };

	if (minor <= 9)
		return line_lnotab(tab, n, firstline, offset);
	if (offset < 0)
		return firstline;
	/* PyCode_Addr2Line(): the first non-empty range that ends past the offset. */
	while (r.stop <= offset || r.start == r.stop) {
		if (!advance(&r))
			return -1;
	}
	return r.line;
}

/* ---------------------------------------------------------------- reading code objects */

static uint64_t word(const uint8_t *b, size_t len, unsigned off, unsigned size)
{
	uint64_t v = 0;

	if (off + size <= len)
		memcpy(&v, b + off, size);
	return v;
}

/* A str object of the process as a new UTF-8 string, or NULL. */
static char *read_str(struct st_stacks *s, pid_t pid, const struct st_layout *lo, uint64_t at)
{
	uint8_t h[STR_HEAD], *data = NULL;
	uint64_t len, src;
	uint32_t state;
	unsigned kind;
	struct strbuf sb = STRBUF_INIT;
	char *out = NULL;

	if (!at || s->read(pid, at, h, sizeof(h)) != (ssize_t)sizeof(h))
		return NULL;
	len = word(h, sizeof(h), lo->str_length, 8);
	state = (uint32_t)word(h, sizeof(h), lo->str_state, 4);
	kind = (state >> lo->str_kind_shift) & 7;
	if (len > NAME_MAX_CP || (kind != 1 && kind != 2 && kind != 4))
		return NULL;
	if (!(state & lo->str_compact_bit))
		src = word(h, sizeof(h), lo->str_legacy_data, 8);
	else
		src = at + ((state & lo->str_ascii_bit) ? lo->str_ascii_data
							: lo->str_compact_data);
	data = malloc(len * kind + 1);
	if (!data || (len && s->read(pid, src, data, len * kind) != (ssize_t)(len * kind)))
		goto out;
	for (uint64_t i = 0; i < len; i++) {
		uint32_t cp = kind == 1 ? data[i]
			      : kind == 2 ? (uint32_t)data[2 * i] | (uint32_t)data[2 * i + 1] << 8
					  : (uint32_t)data[4 * i] | (uint32_t)data[4 * i + 1] << 8 |
						(uint32_t)data[4 * i + 2] << 16 |
						(uint32_t)data[4 * i + 3] << 24;

		if ((cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
			cp = 0xfffd;
		st_utf8_put(&sb, cp);
	}
	strbuf_addch(&sb, 0);
	if (!sb.err)
		out = strdup(sb.buf);
out:
	strbuf_release(&sb);
	free(data);
	return out;
}

/* A bytes object's contents, or NULL. */
static uint8_t *read_bytes(struct st_stacks *s, pid_t pid, const struct st_layout *lo,
			   uint64_t at, size_t *n)
{
	uint8_t h[48], *out;
	uint64_t size;

	if (!at || s->read(pid, at, h, sizeof(h)) != (ssize_t)sizeof(h))
		return NULL;
	size = word(h, sizeof(h), lo->ob_size, 8);
	if (size > TABLE_MAX)
		return NULL;
	out = malloc(size + 1);
	if (!out)
		return NULL;
	if (size && s->read(pid, at + lo->bytes_sval, out, size) != (ssize_t)size) {
		free(out);
		return NULL;
	}
	*n = size;
	return out;
}

/* The entry of (pid, code), read now if it is not kept; NULL when it cannot be read. */
static struct code_ent *code_ent(struct st_stacks *s, pid_t pid, unsigned slot,
				 const struct st_stack_frame *f)
{
	uint64_t h = (f->code >> 4) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)pid * 0xC2B2AE3D27D4EB4FULL;
	struct code_ent *e = &s->ent[(h >> 40) % CODE_SLOTS];
	struct st_layout lo;
	uint8_t head[CODE_HEAD];

	/* A code object freed and another made at its address differs in its first line, mostly. */
	if (e->code == f->code && e->pid == (uint32_t)pid && e->firstline == f->firstline)
		return e;
	if (!s->layout || s->layout(slot, &lo, s->ctx) || !(lo.flags & ST_LF_VALID) ||
	    !lo.co_linetable)
		return NULL;
	if (s->read(pid, f->code, head, sizeof(head)) != (ssize_t)sizeof(head))
		return NULL;
	/*
	 * Read late, the address may hold another code object now (the one recorded was freed):
	 * its first line tells, mostly. Then the recorded one is gone, as if its process were.
	 */
	if ((int32_t)word(head, sizeof(head), lo.co_firstlineno, 4) != f->firstline)
		return NULL;
	ent_clear(e);
	e->pid = (uint32_t)pid;
	e->code = f->code;
	e->firstline = f->firstline;
	e->minor = (lo.version >> 16) & 0xff;
	e->last_off = INT32_MIN; /* no offset looked up yet */
	e->file = read_str(s, pid, &lo, word(head, sizeof(head), lo.co_filename, 8));
	e->func = read_str(s, pid, &lo, word(head, sizeof(head), lo.co_name, 8));
	e->tab = read_bytes(s, pid, &lo, word(head, sizeof(head), lo.co_linetable, 8), &e->ntab);
	if (!e->file || !e->func || !e->tab) {
		ent_clear(e);
		return NULL;
	}
	return e;
}

/* One frame: its file and function (NULL: unknown), its line (-1: none); false: approximate. */
static bool resolve(struct st_stacks *s, const struct st_view *v, unsigned i, const char **file,
		    const char **func, int *line)
{
	struct st_stack_frame f;
	struct code_ent *e;

	st_view_stack_frame(v, i, &f);
	e = code_ent(s, (pid_t)v->hdr->pid, v->hdr->layout, &f);
	if (!e) {
		*file = *func = NULL;
		*line = f.firstline;
		return false;
	}
	*file = e->file;
	*func = e->func;
	if (f.offset != e->last_off) {
		e->last_line = st_stack_line(e->minor, e->tab, e->ntab, e->firstline, f.offset);
		e->last_off = f.offset;
	}
	*line = e->last_line;
	return true;
}

/* A name in a text line: control characters (a newline in an exec'd file name) escaped. */
static void text_put(struct strbuf *sb, const char *s)
{
	if (!s) {
		strbuf_addch(sb, '?');
		return;
	}
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			strbuf_addf(sb, "\\x%02x", (unsigned char)*s);
		else
			strbuf_addch(sb, *s);
	}
}

int st_stack_text(struct st_stacks *s, struct strbuf *sb, const struct st_view *v)
{
	if (!v->has_stack)
		return 0;
	if (v->stack_flags & ST_SKF_UNKNOWN)
		strbuf_addstr(sb, " > (stack not known: no current Python frame found)\n");
	for (unsigned i = 0; i < v->nstack; i++) {
		const char *file, *func;
		int line;
		bool exact = resolve(s, v, i, &file, &func, &line);

		strbuf_addstr(sb, " > ");
		text_put(sb, file);
		strbuf_addch(sb, ':');
		if (line >= 0)
			strbuf_add_i64(sb, line);
		else
			strbuf_addch(sb, '?');
		strbuf_addch(sb, ' ');
		text_put(sb, func);
		if (!exact)
			strbuf_addstr(sb, " (approximate: its code object is gone)");
		strbuf_addch(sb, '\n');
	}
	if (v->stack_flags & ST_SKF_CUT)
		strbuf_addstr(sb, " > ... (more frames not kept: --stack-depth, or the record "
				  "is full)\n");
	return sb->err;
}

static void json_str_or_null(struct strbuf *sb, const char *s)
{
	if (s)
		st_json_string(sb, s, strlen(s));
	else
		strbuf_addstr(sb, "null");
}

int st_stack_json(struct st_stacks *s, struct strbuf *sb, const struct st_view *v)
{
	if (!v->has_stack)
		return 0;
	if (v->stack_flags & ST_SKF_UNKNOWN) {
		strbuf_addstr(sb, ",\"stack\":null");
		return sb->err;
	}
	strbuf_addstr(sb, ",\"stack\":[");
	for (unsigned i = 0; i < v->nstack; i++) {
		const char *file, *func;
		int line;
		bool exact = resolve(s, v, i, &file, &func, &line);

		strbuf_addstr(sb, i ? ",{\"file\":" : "{\"file\":");
		json_str_or_null(sb, file);
		strbuf_addstr(sb, ",\"line\":");
		if (line >= 0)
			strbuf_add_i64(sb, line);
		else
			strbuf_addstr(sb, "null");
		strbuf_addstr(sb, ",\"function\":");
		json_str_or_null(sb, func);
		if (!exact)
			strbuf_addstr(sb, ",\"approximate\":true");
		strbuf_addch(sb, '}');
	}
	strbuf_addch(sb, ']');
	if (v->stack_flags & ST_SKF_CUT)
		strbuf_addstr(sb, ",\"stack_truncated\":true");
	return sb->err;
}
