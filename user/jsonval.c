// SPDX-License-Identifier: MIT
/*
 * JSON of decoded values (see jsonval.h).
 *
 * Values are read with a cursor in wire order. Records were validated by st_decode_event(),
 * so recursion is bounded by its nesting limit (below JSONW_MAX_DEPTH); the cursor still
 * checks bounds, and a failure there is returned instead of writing the rest.
 */
#include "jsonval.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "json.h"
#include "repr.h"
#include "strbuf.h"

/*
 * `tmp` is scratch for one leaf at a time, never held across a recursion: one buffer serves
 * the whole value.
 */
int st_json_value(struct jsonw *w, struct strbuf *tmp, struct st_cursor *c)
{
	struct st_val v;

	if (st_value_next(c, &v) != 1)
		return -EINVAL;
	return st_json_val(w, tmp, c, &v);
}

/* {"type":"<what>"} plus the cut marker: values shown by their type only. */
static void json_type_only(struct jsonw *w, const char *s, size_t n, bool cut)
{
	jsonw_start_object(w);
	jsonw_name_lit(w, "type");
	jsonw_string_len(w, s, n);
	if (cut) {
		jsonw_name_lit(w, "truncated");
		jsonw_bool(w, true);
	}
	jsonw_end_object(w);
}

static void json_cut_tail(struct jsonw *w, uint64_t total)
{
	jsonw_name_lit(w, "length");
	jsonw_uint(w, total);
	jsonw_name_lit(w, "truncated");
	jsonw_bool(w, true);
	jsonw_end_object(w);
}

/*
 * A dict can be a JSON object when every key is a whole str: Python keeps its str keys
 * distinct, so their names are too. A subclass instance may compare equal to another key
 * as it likes, and a cut str may equal another's start: neither is taken for a name.
 */
static bool json_dict_as_object(const struct st_cursor *c, const struct st_val *v)
{
	struct st_cursor k = *c;
	struct st_val key, val;
	uint32_t i;

	for (i = 0; i < v->nchild; i += 2) {
		if (st_value_next(&k, &key) != 1)
			return false;
		if (key.tag != ST_V_STR || (key.flags & ST_VF_SUBCLASS) || st_value_truncated(&key))
			return false;
		if (st_value_next(&k, &val) != 1 || st_value_skip_children(&k, &val))
			return false;
	}
	return true;
}

static int json_children(struct jsonw *w, struct strbuf *tmp, struct st_cursor *c,
			 const struct st_val *v, bool pairs)
{
	struct st_val k;
	uint32_t i;
	int err;

	if (v->tag != ST_V_DICT || pairs) {
		/* Sequences, and dicts as an array of [key, value] arrays. */
		jsonw_start_array(w);
		for (i = 0; i < v->nchild; i++) {
			if (pairs && !(i & 1))
				jsonw_start_array(w);
			err = st_json_value(w, tmp, c);
			if (err)
				return err;
			if (pairs && (i & 1))
				jsonw_end_array(w);
		}
		jsonw_end_array(w);
		return 0;
	}
	jsonw_start_object(w);
	for (i = 0; i < v->nchild; i += 2) {
		if (st_value_next(c, &k) != 1 || k.tag != ST_V_STR)
			return -EINVAL;
		strbuf_reset(tmp);
		st_str_to_wtf8(&k, tmp);
		jsonw_name_wtf8(w, strbuf_str(tmp), tmp->len);
		err = st_json_value(w, tmp, c);
		if (err)
			return err;
	}
	jsonw_end_object(w);
	return 0;
}

static int json_container(struct jsonw *w, struct strbuf *tmp, struct st_cursor *c,
			  const struct st_val *v)
{
	bool pairs;
	int err;

	if (v->flags & ST_VF_DEPTH) {
		jsonw_start_object(w);
		jsonw_string_field(w, "type", st_value_tag_name(v->tag));
		json_cut_tail(w, v->total);
		return 0;
	}
	/* A dict with other keys: {"pairs": [[key, value], ...]}, each key a value. */
	pairs = v->tag == ST_V_DICT && !json_dict_as_object(c, v);
	if (!st_value_truncated(v) && !pairs)
		return json_children(w, tmp, c, v, false);
	jsonw_start_object(w);
	jsonw_name(w, pairs ? "pairs" : v->tag == ST_V_DICT ? "dict" : "items");
	err = json_children(w, tmp, c, v, pairs);
	if (err)
		return err;
	if (!st_value_truncated(v)) {
		jsonw_end_object(w);
		return 0;
	}
	json_cut_tail(w, v->total);
	return 0;
}

static int json_code(struct jsonw *w, struct strbuf *tmp, struct st_cursor *c,
		     const struct st_val *v)
{
	static const char *const part[2] = { "filename", "name" };
	int32_t line;
	unsigned i;
	int err;

	jsonw_start_object(w);
	jsonw_name(w, "code");
	jsonw_start_object(w);
	for (i = 0; i < 2; i++) {
		jsonw_name(w, part[i]);
		if (i < v->nchild) {
			err = st_json_value(w, tmp, c);
			if (err)
				return err;
		} else {
			jsonw_null(w);
		}
	}
	if (st_code_firstlineno(v, &line))
		jsonw_int_field(w, "firstlineno", line);
	else
		jsonw_null_field(w, "firstlineno");
	jsonw_end_object(w);
	/* No room was left for the filename and name: say so. */
	if (st_value_truncated(v))
		jsonw_bool_field(w, "truncated", true);
	jsonw_end_object(w);
	return 0;
}

int st_json_val(struct jsonw *w, struct strbuf *tmp, struct st_cursor *c, const struct st_val *v)
{
	bool cut = st_value_truncated(v);
	uint64_t mag;
	char buf[40];
	int n;

	switch (v->tag) {
	case ST_V_NONE:
		jsonw_null(w);
		return 0;
	case ST_V_TRUE:
	case ST_V_FALSE:
		jsonw_bool(w, v->tag == ST_V_TRUE);
		return 0;
	case ST_V_INT:
		if (v->flags & ST_VF_TRUNC) {
			jsonw_start_object(w);
			jsonw_null_field(w, "int");
			jsonw_uint_field(w, "digits30", st_int_ndigits(v));
			jsonw_bool_field(w, "truncated", true);
			jsonw_end_object(w);
			return 0;
		}
		if (st_int_small(v, &mag)) {
			if (v->flags & ST_VF_NEG)
				jsonw_int(w, -(int64_t)mag);
			else
				jsonw_uint(w, mag);
			return 0;
		}
		strbuf_reset(tmp);
		if (st_int_to_decimal(v, tmp) == -ERANGE)
			json_type_only(w, "<invalid int>", strlen("<invalid int>"), false);
		else
			jsonw_number_raw(w, strbuf_str(tmp), tmp->len);
		return 0;
	case ST_V_FLOAT:
		jsonw_double(w, st_float_value(v));
		return 0;
	case ST_V_STR:
		if (cut) {
			jsonw_start_object(w);
			jsonw_name_lit(w, "str");
		}
		if (ST_VF_KIND(v->flags) == 1) {
			/* Latin-1 straight from the record, no UTF-8 copy first. */
			jsonw_string_latin1(w, v->payload, v->len);
		} else {
			strbuf_reset(tmp);
			st_str_to_wtf8(v, tmp);
			jsonw_string_wtf8(w, strbuf_str(tmp), tmp->len);
		}
		if (cut)
			json_cut_tail(w, v->total);
		return 0;
	case ST_V_BYTES:
	case ST_V_BYTEARRAY:
		jsonw_start_object(w);
		jsonw_name(w, v->tag == ST_V_BYTES ? "bytes" : "bytearray");
		jsonw_base64(w, v->payload, v->len);
		if (cut) {
			json_cut_tail(w, v->total);
			return 0;
		}
		jsonw_end_object(w);
		return 0;
	case ST_V_TUPLE:
	case ST_V_LIST:
	case ST_V_DICT:
		return json_container(w, tmp, c, v);
	case ST_V_CODE:
		return json_code(w, tmp, c, v);
	case ST_V_OTHER:
		json_type_only(w, (const char *)v->payload, v->len, cut);
		return 0;
	case ST_V_FAULT:
		json_type_only(w, "<unreadable>", strlen("<unreadable>"), false);
		return 0;
	default:
		n = snprintf(buf, sizeof(buf), "<unknown tag %u>", v->tag);
		json_type_only(w, buf, (size_t)n, false);
		return st_value_skip_children(c, v);
	}
}

