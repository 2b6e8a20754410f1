// SPDX-License-Identifier: MIT
/*
 * Byte offsets of the CPython objects seatrace decodes, per minor version
 * (x86_64, GIL builds). They change between minor versions, not within
 * one, for every field used here; the end-to-end tests check each version
 * against a real interpreter.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "layout.h"

struct ver_layout {
	unsigned minor;
	__u16 str_ascii_data, str_compact_data;
	__u16 tuple_items;
	__u16 co_firstlineno, co_filename, co_name; /* co_name: co_qualname where present */
	__u16 dict_values_items;
	bool long_tag, dict_log2, qualname;
	/* the raising frame; rt_tstate 0: no global current thread state (3.12+) */
	__u16 rt_tstate, ts_frame, cf_frame;
	bool cframe;
	/* 3.12+: interpreters.head in _PyRuntime, threads.head in the interpreter,
	 * native_thread_id in the thread state */
	__u16 interp_head, threads_head, native_tid;
};

static const struct ver_layout versions[] = {
	/*minor ascii compact tuple line file name dvals tag  log2  qualname rt_ts ts_fr cf_fr cframe */
	{ 8, 48, 72, 24, 40, 104, 112, 0, false, false, false, 1368, 24, 0, false, 0, 0, 0 },
	{ 9, 48, 72, 24, 40, 104, 112, 0, false, false, false, 568, 24, 0, false, 0, 0, 0 },
	{ 10, 48, 72, 24, 40, 104, 112, 0, false, false, false, 568, 24, 0, false, 0, 0, 0 },
	{ 11, 48, 72, 24, 72, 112, 128, 0, false, true, true, 576, 56, 8, true, 0, 0, 0 },
	{ 12, 40, 56, 24, 68, 112, 128, 0, true, true, true, 0, 56, 0, true, 40, 72, 144 },
	{ 13, 40, 56, 24, 68, 112, 128, 8, true, true, true, 0, 72, 0, false, 632, 7344, 160 },
	{ 14, 40, 56, 32, 68, 112, 128, 8, true, true, true, 0, 72, 0, false, 808, 7344, 160 },
};

/*
 * Where, inside _Py_DebugOffsets, CPython 3.13 and 3.14 store the offsets seatrace uses
 * (Include/internal/pycore_debug_offsets.h; each a u64). The binary's own block is preferred
 * to the table: internal layouts may change within a minor version, the block follows them.
 */
struct dbg_field {
	size_t at13, at14; /* byte position in the block, 3.13 and 3.14 */
	size_t field;	   /* offsetof(struct st_layout, ...) */
};

#define F(a13, a14, name) { a13, a14, offsetof(struct st_layout, name) }
static const struct dbg_field dbg_fields[] = {
	F(360, 408, ob_type),	      F(376, 424, tp_name),	   F(392, 440, tp_flags),
	F(408, 456, tuple_items),     F(416, 464, ob_size),	   F(432, 480, list_items),
	F(456, 536, dict_keys),	      F(464, 544, dict_values),	   F(480, 560, float_val),
	F(496, 576, long_size),	      F(504, 584, long_digits),	   F(528, 608, bytes_sval),
	F(544, 624, str_state),	      F(552, 632, str_length),	   F(560, 640, str_ascii_data),
	F(280, 320, co_filename),     F(296, 336, co_name),	   F(312, 352, co_firstlineno),
};
#undef F

/* Applies the binary's _Py_DebugOffsets; 0, or -EINVAL when the block is short or implausible. */
static int apply_debug_offsets(const struct st_pyelf *py, unsigned minor, struct st_layout *lo)
{
	struct st_layout tmp = *lo;

	if (minor != 13 && minor != 14)
		return 0;
	for (size_t i = 0; i < sizeof(dbg_fields) / sizeof(dbg_fields[0]); i++) {
		size_t at = minor == 13 ? dbg_fields[i].at13 : dbg_fields[i].at14;
		__u64 v;

		if (at + 8 > py->debug_len)
			return -EINVAL;
		memcpy(&v, py->debug + at, 8);
		/* Offsets into small objects: anything large means a block of another shape. */
		if (v >= 1024)
			return -EINVAL;
		memcpy((char *)&tmp + dbg_fields[i].field, &(__u16){ (__u16)v }, sizeof(__u16));
	}
	/* unicode_object.size is sizeof(PyUnicodeObject): compact data ends 8 bytes before it. */
	{
		size_t at = minor == 13 ? 536 : 616;
		__u64 size;

		memcpy(&size, py->debug + at, 8);
		if (size < 16 || size >= 1024)
			return -EINVAL;
		tmp.str_compact_data = (__u16)(size - 8);
		tmp.str_legacy_data = (__u16)(size - 8);
	}
	*lo = tmp;
	return 0;
}

int st_layout_fill(const struct st_pyelf *py, struct st_layout *lo, const char **why)
{
	unsigned major = py->version_hex >> 24, minor = (py->version_hex >> 16) & 0xff;
	const struct ver_layout *v = NULL;

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
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (major == 3 && versions[i].minor == minor)
			v = &versions[i];
	if (!v) {
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
	for (unsigned i = 0; i < py->nsites && !py->fallback; i++) {
		if (py->site_arg[i][0].kind == ST_UA_NONE ||
		    py->site_arg[i][1].kind == ST_UA_NONE) {
			*why = "its python:audit probe describes where its arguments are in a form "
			       "seatrace does not read (see `readelf -n` on the file); please "
			       "report it";
			return -ENOTSUP;
		}
		if (py->site_off[i] == (__u64)-1 || py->sem_off == (__u64)-1) {
			*why =
			    "its python:audit probe lies outside the file's loaded segments; the "
			    "file may be damaged: reinstall the interpreter";
			return -ENOTSUP;
		}
		memcpy(lo->site_arg[i], py->site_arg[i], sizeof(lo->site_arg[i]));
	}
	lo->ro_lo = py->ro_lo;
	lo->ro_hi = py->ro_hi;
	lo->version = py->version_hex;
	lo->flags = ST_LF_VALID | (v->long_tag ? ST_LF_LONG_TAG : 0) |
		    (v->dict_log2 ? ST_LF_DICT_LOG2 : 0) | (v->qualname ? ST_LF_HAS_QUALNAME : 0);

	/* Same in every supported version. */
	lo->ob_type = 8;
	lo->ob_size = 16;
	lo->tp_name = 24;
	lo->tp_flags = 168;
	lo->str_length = 16;
	lo->str_state = 32;
	lo->str_kind_shift = 2;
	lo->str_compact_bit = 1 << 5;
	lo->str_ascii_bit = 1 << 6;
	lo->list_items = 24;
	lo->bytes_sval = 32;
	lo->bytearray_start = 40;
	lo->float_val = 16;
	lo->long_size = 16;
	lo->long_digits = 24;
	lo->dict_used = 16;
	lo->dict_keys = 32;
	lo->dict_values = 40;
	lo->dk_size = 8;
	/* dk_nentries and the index table move when 3.11 drops dk_lookup. */
	lo->dk_nentries = v->dict_log2 ? 24 : 32;
	lo->dk_indices = v->dict_log2 ? 32 : 40;

	lo->str_ascii_data = v->str_ascii_data;
	lo->str_compact_data = v->str_compact_data;
	lo->str_legacy_data = v->str_compact_data;
	lo->tuple_items = v->tuple_items;
	lo->dict_values_items = v->dict_values_items;
	lo->co_firstlineno = v->co_firstlineno;
	lo->co_filename = v->co_filename;
	lo->co_name = v->co_name;
	if (py->has_debug_offsets && apply_debug_offsets(py, minor, lo)) {
		*why = "its _Py_DebugOffsets block is not of the expected shape, and seatrace "
		       "does not guess object layouts; use a CPython 3.8 to 3.14 built from an "
		       "unmodified source tree";
		return -ENOTSUP;
	}
	/* Frames for pairing: 3.8-3.11 keep the current thread state in _PyRuntime. */
	if (py->runtime && (v->rt_tstate || v->interp_head)) {
		lo->flags |= (v->rt_tstate ? ST_LF_TSTATE_GLOBAL : ST_LF_TSTATE_WALK) |
			     (v->cframe ? ST_LF_CFRAME : 0);
		lo->runtime = py->runtime;
		lo->rt_tstate = v->rt_tstate;
		lo->ts_frame = v->ts_frame;
		lo->cf_frame = v->cf_frame;
		lo->rt_interp_head = v->interp_head;
		lo->interp_threads = v->threads_head;
		lo->ts_next = 8;
		lo->ts_native_tid = v->native_tid;
	}
	return 0;
}
