/* SPDX-License-Identifier: MIT */
/*
 * JSON of decoded values, written with a jsonw: the facts of the text format's repr() in
 * machine-readable form. Scalars map to JSON scalars, str to strings (lone surrogates as
 * \udXXX), bytes to base64, containers to arrays and objects (other dict keys by their
 * repr()); what the probe cut becomes an object saying so ("truncated":true, "length").
 */
#ifndef SEATRACE_JSONVAL_H
#define SEATRACE_JSONVAL_H

struct jsonw;
struct strbuf;
struct st_cursor;
struct st_val;

/*
 * The JSON of one value (and its children) read from c. tmp is scratch memory, reset and
 * reused for one leaf at a time: keep it between calls to save allocations. 0, or -EINVAL
 * when the cursor fails; the writer's own errors are in jsonw_error().
 */
int st_json_value(struct jsonw *w, struct strbuf *tmp, struct st_cursor *c);
/* The same for v, already read from c (its children, if any, are next in c). */
int st_json_val(struct jsonw *w, struct strbuf *tmp, struct st_cursor *c, const struct st_val *v);

#endif /* SEATRACE_JSONVAL_H */
