// SPDX-License-Identifier: MIT
/*
 * Byte offsets of the CPython objects seatrace decodes, per minor version: the tables are
 * built from layout.def, which tools/layout-check.py reads too, and measures against real
 * interpreters.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "layout.h"

/* Each use of layout.def below defines the records it wants; the others expand to nothing. */
#define MINORS(...)
#define OBJ(field, ...)
#define FLAG(name, bit, ...)
#define FRAME(field, ...)
#define FRAME_FLAG(name, bit, ...)
#define BPF(name, ...)
#define DEBUG_HEAD(...)
#define DEBUG_STRUCT(minor, st, ...)
#define DEBUG_FIELD(field, st, member)
#define DEBUG_SIZE(field, st, member, back)
#define DEBUG_CHECK(key, st, member)

#undef MINORS
#define MINORS(...) static const unsigned minors[] = { __VA_ARGS__ };
#include "layout.def"
#undef MINORS
#define MINORS(...)

#define NV (sizeof(minors) / sizeof(minors[0]))

/* A value column per minor version: a row with one too few or too many does not build. */
#define ROW_CHECK(name, ...)                                                                       \
	_Static_assert(sizeof((int[]){ __VA_ARGS__ }) == sizeof(int) * NV,                         \
		       #name ": one value per version of MINORS");
#undef OBJ
#undef FLAG
#undef FRAME
#undef FRAME_FLAG
#define OBJ(field, ...) ROW_CHECK(field, __VA_ARGS__)
#define FLAG(name, bit, ...) ROW_CHECK(name, __VA_ARGS__)
#define FRAME(field, ...) ROW_CHECK(field, __VA_ARGS__)
#define FRAME_FLAG(name, bit, ...) ROW_CHECK(name, __VA_ARGS__)
/* The block's values are stored as __u16 (apply_debug_offsets). */
#define U16_CHECK(field)                                                                           \
	_Static_assert(sizeof(((struct st_layout *)0)->field) == sizeof(__u16),                    \
		       #field ": a __u16 of struct st_layout");
#undef DEBUG_FIELD
#undef DEBUG_SIZE
#define DEBUG_FIELD(field, st, member) U16_CHECK(field)
#define DEBUG_SIZE(field, st, member, back) U16_CHECK(field)
#include "layout.def"
#undef DEBUG_FIELD
#undef DEBUG_SIZE
#define DEBUG_FIELD(field, st, member)
#define DEBUG_SIZE(field, st, member, back)

/* Column i of every row: the layout of 3.minors[i]. */
struct ver_table {
#undef OBJ
#undef FLAG
#undef FRAME
#undef FRAME_FLAG
#define OBJ(field, ...) __u16 field[NV];
#define FLAG(name, bit, ...) bool name[NV];
#define FRAME(field, ...) __u16 field[NV];
#define FRAME_FLAG(name, bit, ...) bool name[NV];
#include "layout.def"
};

static const struct ver_table tab = {
#undef OBJ
#undef FLAG
#undef FRAME
#undef FRAME_FLAG
#define OBJ(field, ...) .field = { __VA_ARGS__ },
#define FLAG(name, bit, ...) .name = { __VA_ARGS__ },
#define FRAME(field, ...) .field = { __VA_ARGS__ },
#define FRAME_FLAG(name, bit, ...) .name = { __VA_ARGS__ },
#include "layout.def"
};
#undef OBJ
#undef FLAG
#undef FRAME
#undef FRAME_FLAG
#define OBJ(field, ...)
#define FLAG(name, bit, ...)
#define FRAME(field, ...)
#define FRAME_FLAG(name, bit, ...)

/*
 * _Py_DebugOffsets (3.13+): the words that open the block, the members of each version's
 * block in order (as one string, "a, b, c"), and which st_layout fields they give.
 */
#undef DEBUG_HEAD
#define DEBUG_HEAD(...) static const char dbg_head[] = #__VA_ARGS__;
#include "layout.def"
#undef DEBUG_HEAD
#define DEBUG_HEAD(...)

struct dbg_struct {
	unsigned minor;
	const char *name, *members;
};

static const struct dbg_struct dbg_structs[] = {
#undef DEBUG_STRUCT
#define DEBUG_STRUCT(minor, st, ...) { minor, #st, #__VA_ARGS__ },
#include "layout.def"
#undef DEBUG_STRUCT
#define DEBUG_STRUCT(minor, st, ...)
};

struct dbg_field {
	size_t field; /* offsetof(struct st_layout, ...) */
	const char *st, *member;
	unsigned back; /* the field is the member's value minus this: a size */
};

static const struct dbg_field dbg_fields[] = {
#undef DEBUG_FIELD
#undef DEBUG_SIZE
#define DEBUG_FIELD(field, st, member) { offsetof(struct st_layout, field), #st, #member, 0 },
#define DEBUG_SIZE(field, st, member, back)                                                        \
	{ offsetof(struct st_layout, field), #st, #member, back },
#include "layout.def"
#undef DEBUG_FIELD
#undef DEBUG_SIZE
#define DEBUG_FIELD(field, st, member)
#define DEBUG_SIZE(field, st, member, back)
};

/* The index of `name` in a stringized list "a, b, c", or the list's length when it is absent. */
static size_t list_index(const char *list, const char *name)
{
	size_t i = 0, len = strlen(name);

	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");

		if (n == len && !memcmp(p, name, len))
			return i;
		i++;
		if (!p[n])
			return i;
		p += n + 1;
		p += strspn(p, " ");
	}
}

static size_t list_len(const char *list)
{
	size_t n = 1;

	for (; *list; list++)
		n += *list == ',';
	return n;
}

/* Byte position of st.member in 3.minor's block, or (size_t)-1 when it has none. */
static size_t dbg_position(unsigned minor, const char *st, const char *member)
{
	size_t words = list_len(dbg_head);

	for (size_t i = 0; i < sizeof(dbg_structs) / sizeof(dbg_structs[0]); i++) {
		const struct dbg_struct *s = &dbg_structs[i];
		size_t n = list_len(s->members);

		if (s->minor != minor)
			continue;
		if (!strcmp(s->name, st)) {
			size_t k = list_index(s->members, member);

			return k < n ? (words + k) * 8 : (size_t)-1;
		}
		words += n;
	}
	return (size_t)-1;
}

static bool has_debug_structs(unsigned minor)
{
	for (size_t i = 0; i < sizeof(dbg_structs) / sizeof(dbg_structs[0]); i++)
		if (dbg_structs[i].minor == minor)
			return true;
	return false;
}

int st_layout_debug_head(const void *buf, size_t len, __u32 *version, bool *free_threaded)
{
	size_t cookie = list_index(dbg_head, "cookie") * 8;
	size_t ver = list_index(dbg_head, "version") * 8;
	size_t ft = list_index(dbg_head, "free_threaded") * 8;
	__u64 v;

	if (len < list_len(dbg_head) * 8 || memcmp((const char *)buf + cookie, "xdebugpy", 8))
		return -EINVAL;
	memcpy(&v, (const char *)buf + ver, 8);
	*version = (__u32)v;
	*free_threaded = ((const char *)buf)[ft] != 0;
	return 0;
}

/*
 * Applies the binary's _Py_DebugOffsets: 0 (also when layout.def describes no block for this
 * version), or -EINVAL when the block is short or implausible.
 */
static int apply_debug_offsets(const struct st_pyelf *py, unsigned minor, struct st_layout *lo)
{
	struct st_layout tmp = *lo;

	if (!has_debug_structs(minor))
		return 0;
	for (size_t i = 0; i < sizeof(dbg_fields) / sizeof(dbg_fields[0]); i++) {
		const struct dbg_field *f = &dbg_fields[i];
		size_t at = dbg_position(minor, f->st, f->member);
		__u64 v;

		if (at == (size_t)-1 || at + 8 > py->debug_len)
			return -EINVAL;
		memcpy(&v, py->debug + at, 8);
		/* Offsets into small objects: anything large means a block of another shape. */
		if (v >= 1024)
			return -EINVAL;
		/* A size: at least a PyObject header (refcount, type) before what it ends with. */
		if (f->back && v < 16)
			return -EINVAL;
		memcpy((char *)&tmp + f->field, &(__u16){ (__u16)(v - f->back) }, sizeof(__u16));
	}
	*lo = tmp;
	return 0;
}

int st_layout_fill(const struct st_pyelf *py, struct st_layout *lo, const char **why)
{
	unsigned major = py->version_hex >> 24, minor = (py->version_hex >> 16) & 0xff;
	size_t i = NV;

	memset(lo, 0, sizeof(*lo));
	if (!py->version_hex) {
		*why = "its CPython version could not be read from the file, and seatrace does "
		       "not guess object layouts; use a CPython 3.8 to 3.14 built from an "
		       "unmodified source tree";
		return -ENOTSUP;
	}
	if (py->free_threaded) {
		/* Its objects differ from the GIL build's (ob_tid, ob_ref_local...): never decode them so. */
		*why = "it is a free-threaded build (3.13t/3.14t), whose object layout seatrace "
		       "does not decode yet; run the program with a build that has the GIL "
		       "(python3.X, not python3.Xt)";
		return -ENOTSUP;
	}
	for (size_t k = 0; k < NV; k++)
		if (major == 3 && minors[k] == minor)
			i = k;
	if (i == NV) {
		*why = "seatrace knows the object layouts of CPython 3.8 to 3.14 only; run the "
		       "program with one of those";
		return -ENOTSUP;
	}
	for (int t = 0; t < ST_T_MAX; t++) {
		if (!py->sym[t]) {
			*why = "a core symbol (such as PyTuple_Type or _Py_NoneStruct) is missing "
			       "from its symbol tables; use an interpreter whose symbols were not "
			       "stripped";
			return -ENOTSUP;
		}
		lo->addr[t] = py->sym[t];
	}
	if (py->nsites > ST_MAX_SITES || !py->nsites) {
		*why = "it has no python:audit probe site";
		return -ENOTSUP;
	}
	lo->nsites = py->nsites;
	memcpy(lo->site, py->sites, sizeof(lo->site[0]) * py->nsites);
	/* The uprobe fallback's sites are functions, not the probe's: no arguments to locate. */
	for (unsigned s = 0; s < py->nsites && !py->fallback; s++) {
		if (py->site_arg[s][0].kind == ST_UA_NONE ||
		    py->site_arg[s][1].kind == ST_UA_NONE) {
			*why = "its python:audit probe describes where its arguments are in a form "
			       "seatrace does not read (see `readelf -n` on the file); please "
			       "report it";
			return -ENOTSUP;
		}
		if (py->site_off[s] == (__u64)-1 || py->sem_off == (__u64)-1) {
			*why =
			    "its python:audit probe lies outside the file's loaded segments; the "
			    "file may be damaged: reinstall the interpreter";
			return -ENOTSUP;
		}
		memcpy(lo->site_arg[s], py->site_arg[s], sizeof(lo->site_arg[s]));
	}
	lo->ro_lo = py->ro_lo;
	lo->ro_hi = py->ro_hi;
	lo->version = py->version_hex;
	lo->flags = ST_LF_VALID;
#undef OBJ
#undef FLAG
#define OBJ(field, ...) lo->field = tab.field[i];
#define FLAG(name, bit, ...) lo->flags |= tab.name[i] ? bit : 0;
#include "layout.def"
#undef OBJ
#undef FLAG
#define OBJ(field, ...)
#define FLAG(name, bit, ...)
	if (py->has_debug_offsets && apply_debug_offsets(py, minor, lo)) {
		*why = "its _Py_DebugOffsets block is not of the expected shape, and seatrace "
		       "does not guess object layouts; use a CPython 3.8 to 3.14 built from an "
		       "unmodified source tree";
		return -ENOTSUP;
	}
	/* Frames for pairing, when this version has a way to the current thread state. */
	if (py->runtime && (tab.rt_tstate[i] || tab.rt_interp_head[i])) {
		lo->flags |= tab.rt_tstate[i] ? ST_LF_TSTATE_GLOBAL : ST_LF_TSTATE_WALK;
		lo->runtime = py->runtime;
#undef FRAME
#undef FRAME_FLAG
#define FRAME(field, ...) lo->field = tab.field[i];
#define FRAME_FLAG(name, bit, ...) lo->flags |= tab.name[i] ? bit : 0;
#include "layout.def"
#undef FRAME
#undef FRAME_FLAG
	}
	return 0;
}
