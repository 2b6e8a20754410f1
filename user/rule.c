// SPDX-License-Identifier: MIT
/*
 * The filter syntax of -e, -x, --kill and --stop (docs/policy.md): NAMEGLOB(COND,...) into
 * struct st_rule. Only parsing and checking here; user/rulek.c makes the kernel's form.
 */
#include "rule.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "glob.h"

/* The parser's cursor: the whole text, for columns, and where it is. */
struct cur {
	const char *text;
	const char *p;
	struct st_rule_err *err;
};

static int fail(struct cur *c, const char *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	c->err->col = (int)(at - c->text);
	return -EINVAL;
}

static int is_ident(int ch, int first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	       (!first && ((ch >= '0' && ch <= '9') || ch == '-'));
}

/*
 * Length of the text up to the first comma (or, with `paren`, closing parenthesis) that ends
 * it: not one escaped with a backslash, inside a [...] class, or inside parentheses.
 */
static size_t scan(const char *s, int paren)
{
	const char *p = s;
	int depth = 0;

	while (*p) {
		if (*p == '\\' && p[1]) {
			p += 2;
			continue;
		}
		if (*p == '[') {
			/* A class: ']' right after '[' or '[!' is a member. */
			const char *q = p + 1;

			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']') {
				if (*q == '\\' && q[1])
					q++;
				q++;
			}
			if (*q == ']') {
				p = q + 1;
				continue;
			}
		}
		if (*p == '(')
			depth++;
		else if (*p == ')') {
			if (!depth && paren)
				break;
			if (depth)
				depth--;
		} else if (*p == ',' && !depth) {
			break;
		}
		p++;
	}
	return (size_t)(p - s);
}

size_t st_rule_token_len(const char *s)
{
	return scan(s, 0);
}

bool st_rule_is_filter(const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '(')
			return true;
	}
	return false;
}

/* A glob as the event-name filters take it: checked by compiling it. */
static int check_glob(struct cur *c, const char *at, const char *glob)
{
	static struct st_globset set; /* big: kept off the stack */
	const char *why = NULL;

	memset(&set, 0, sizeof(set));
	if (st_globset_add(&set, glob, false, &why))
		return fail(c, at, "bad glob '%s': %s", glob, why);
	return 0;
}

/* An integer: decimal, 0x hexadecimal, maybe negative; the whole of [s, s + n). */
static int parse_int(const char *s, size_t n, int64_t *out)
{
	char buf[32], *end;
	long long v;

	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (!((buf[0] >= '0' && buf[0] <= '9') || (buf[0] == '-' && buf[1] >= '0' && buf[1] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 0);
	if (*end)
		return -1;
	if (errno)
		return -2;
	*out = v;
	return 0;
}

/* The argument's position from its name in the table, the same in every event NAMEGLOB names. */
static int resolve_name(struct cur *c, const char *at, const struct st_rule *r, const char *name)
{
	static struct st_globset set;
	const struct st_known_event *tab, *first = NULL, *without = NULL;
	size_t n, matched = 0;
	const char *why = NULL;
	int pos = -1;

	memset(&set, 0, sizeof(set));
	if (st_globset_add(&set, r->event, false, &why))
		return fail(c, c->text, "bad event glob '%s': %s", r->event, why);
	tab = st_events_table(&n);
	for (size_t i = 0; i < n; i++) {
		int k = -1;

		if (!st_glob_match(&set, 0, tab[i].name, strlen(tab[i].name)))
			continue;
		matched++;
		for (unsigned a = 0; a < tab[i].nargs; a++)
			if (!strcmp(tab[i].argnames[a], name))
				k = (int)a;
		if (k < 0) {
			without = without ? without : &tab[i];
			continue;
		}
		if (pos >= 0 && k != pos)
			return fail(c, at, "argument '%s' is #%d of %s but #%d of %s: name it by "
					   "position (#N) or narrow the event glob",
				    name, pos, first->name, k, tab[i].name);
		if (pos < 0) {
			pos = k;
			first = &tab[i];
		}
	}
	if (!matched)
		return fail(c, at, "'%s' matches no event of the table (seatrace --list-events): "
				   "name the argument by position, as #0",
			    r->event);
	if (pos < 0) {
		char list[96] = "";
		size_t len = 0;

		for (unsigned a = 0; a < without->nargs && len < sizeof(list) - 1; a++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", a ? ", " : "",
						without->argnames[a]);
		return fail(c, at, "unknown argument '%s' of %s (its arguments: %s)", name,
			    without->name, without->nargs ? list : "none");
	}
	if (without)
		return fail(c, at, "argument '%s' is #%d of %s but %s has none of that name: "
				   "name it by position (#N) or narrow the event glob",
			    name, pos, first->name, without->name);
	return pos;
}

/* A selector: @uid=N, @comm=GLOB, @exe=GLOB, @cgroup=PATH. */
static int parse_selector(struct cur *c, struct st_rule *r, const char *end)
{
	const char *start = c->p, *p = c->p + 1, *name = p;
	size_t nlen, vlen;
	char val[ST_RULE_TEXT_MAX];

	while (p < end && is_ident((unsigned char)*p, p == name))
		p++;
	nlen = (size_t)(p - name);
	if (p >= end || *p != '=')
		return fail(c, p, "a selector is @NAME=VALUE (@uid, @comm, @exe, @cgroup): "
				  "expected '='");
	p++;
	vlen = (size_t)(end - p);
	if (!vlen)
		return fail(c, p, "a value is missing after '='");
	if (vlen >= sizeof(val))
		return fail(c, p, "value too long (at most %d bytes)", ST_RULE_TEXT_MAX - 1);
	memcpy(val, p, vlen);
	val[vlen] = 0;
	if (nlen == 3 && !strncmp(name, "uid", 3)) {
		int64_t v;

		if (parse_int(p, vlen, &v) || v < 0 || v > UINT32_MAX - 1)
			return fail(c, p, "@uid takes a number (a uid)");
		r->proc.have_uid = true;
		r->proc.uid = (uid_t)v;
	} else if (nlen == 4 && !strncmp(name, "comm", 4)) {
		if (check_glob(c, p, val))
			return -EINVAL;
		strcpy(r->proc.comm, val);
	} else if (nlen == 3 && !strncmp(name, "exe", 3)) {
		if (check_glob(c, p, val))
			return -EINVAL;
		strcpy(r->proc.exe, val);
	} else if (nlen == 6 && !strncmp(name, "cgroup", 6)) {
		strcpy(r->proc.cgroup, val);
	} else {
		return fail(c, start, "unknown selector '@%.*s': give @uid, @comm, @exe or @cgroup",
			    (int)nlen, name);
	}
	return 0;
}

/* ARG: a name or #N, then maybe [I]. */
static int parse_arg(struct cur *c, struct st_rule *r, struct st_cond *k)
{
	const char *p = c->p, *start = p;
	char name[64];

	if (*p == '#') {
		char *end;
		long v;

		p++;
		if (*p < '0' || *p > '9')
			return fail(c, p, "'#' takes an argument position, from 0: #0, #1, ...");
		v = strtol(p, &end, 10);
		if (v > ST_RULE_ARGPOS_MAX)
			return fail(c, p, "argument position %ld is too high (at most #%d)", v,
				    ST_RULE_ARGPOS_MAX);
		k->arg = (int)v;
		p = end;
	} else if (is_ident((unsigned char)*p, 1)) {
		size_t n;
		int pos;

		while (is_ident((unsigned char)*p, 0))
			p++;
		n = (size_t)(p - start);
		if (n >= sizeof(name))
			return fail(c, start, "argument name too long");
		memcpy(name, start, n);
		name[n] = 0;
		pos = resolve_name(c, start, r, name);
		if (pos < 0)
			return pos;
		if (pos > ST_RULE_ARGPOS_MAX)
			return fail(c, start, "argument '%s' is #%d: at most #%d can be compared",
				    name, pos, ST_RULE_ARGPOS_MAX);
		k->arg = pos;
	} else {
		return fail(c, p, "expected an argument: a name from the events table, #N, "
				  "len(ARG) or a selector (@uid=...)");
	}
	k->index = -1;
	if (*p == '[') {
		char *end;
		long v;

		p++;
		if (*p < '0' || *p > '9')
			return fail(c, p, "'[' takes an element index, from 0: [0], [1], ...");
		v = strtol(p, &end, 10);
		if (v > 65535)
			return fail(c, p, "element index %ld is too high (at most 65535)", v);
		p = end;
		if (*p != ']')
			return fail(c, p, "expected ']' after the element index");
		p++;
		k->index = (int)v;
	}
	c->p = p;
	return 0;
}

/* COND, ending at `end`. */
static int parse_cond(struct cur *c, struct st_rule *r, const char *end)
{
	struct st_cond *k;
	const char *p, *opat, *val;
	size_t vlen;
	int err;

	if (*c->p == '@')
		return parse_selector(c, r, end);
	if (r->nconds >= ST_RULE_CONDS)
		return fail(c, c->p, "too many conditions (at most %d per filter)", ST_RULE_CONDS);
	k = &r->conds[r->nconds];
	memset(k, 0, sizeof(*k));
	if (!strncmp(c->p, "len(", 4)) {
		c->p += 4;
		k->len = true;
		err = parse_arg(c, r, k);
		if (err)
			return err;
		if (*c->p != ')')
			return fail(c, c->p, "expected ')' to close len(");
		c->p++;
	} else {
		err = parse_arg(c, r, k);
		if (err)
			return err;
	}
	p = opat = c->p;
	if (p >= end)
		return fail(c, p, "expected an operator: = != < <= > >= &");
	if (p[0] == '!' && p[1] == '=') {
		k->op = ST_OP_NE;
		p += 2;
	} else if (p[0] == '<' && p[1] == '=') {
		k->op = ST_OP_LE;
		p += 2;
	} else if (p[0] == '>' && p[1] == '=') {
		k->op = ST_OP_GE;
		p += 2;
	} else if (p[0] == '=') {
		k->op = ST_OP_EQ;
		p++;
	} else if (p[0] == '<') {
		k->op = ST_OP_LT;
		p++;
	} else if (p[0] == '>') {
		k->op = ST_OP_GT;
		p++;
	} else if (p[0] == '&') {
		k->op = ST_OP_BITS;
		p++;
	} else {
		return fail(c, p, "expected an operator: = != < <= > >= &");
	}
	val = p;
	vlen = (size_t)(end - p);
	if (!vlen)
		return fail(c, p, "a value is missing after the operator");
	if (vlen >= sizeof(k->glob))
		return fail(c, p, "value too long (at most %d bytes)", ST_RULE_TEXT_MAX - 1);
	/* None, True, False */
	if ((vlen == 4 && !strncmp(val, "None", 4)) || (vlen == 4 && !strncmp(val, "True", 4)) ||
	    (vlen == 5 && !strncmp(val, "False", 5))) {
		if (k->op != ST_OP_EQ && k->op != ST_OP_NE)
			return fail(c, opat, "None, True and False compare with = or != only");
		if (k->len)
			return fail(c, val, "len() is compared with a number, not %.*s", (int)vlen,
				    val);
		k->kind = val[0] == 'N' ? ST_CK_NONE : val[0] == 'T' ? ST_CK_TRUE : ST_CK_FALSE;
		goto done;
	}
	/* A range, LO..HI */
	{
		const char *dots = NULL;

		for (const char *q = val; q + 1 < end; q++)
			if (q[0] == '.' && q[1] == '.') {
				dots = q;
				break;
			}
		if (dots) {
			int64_t lo, hi;

			if (!parse_int(val, (size_t)(dots - val), &lo) &&
			    !parse_int(dots + 2, (size_t)(end - dots - 2), &hi)) {
				if (k->op != ST_OP_EQ)
					return fail(c, opat, "a range LO..HI goes with '=' only");
				if (hi < lo)
					return fail(c, val, "empty range: %lld is above %lld",
						    (long long)lo, (long long)hi);
				k->op = ST_OP_RANGE;
				k->kind = ST_CK_INT;
				k->lo = lo;
				k->hi = hi;
				goto done;
			}
		}
	}
	{
		int64_t v;
		int e = parse_int(val, vlen, &v);

		if (e == -2)
			return fail(c, val, "integer out of range (64 bits, signed)");
		if (!e) {
			k->kind = ST_CK_INT;
			k->lo = v;
			goto done;
		}
	}
	/* A glob, for str and bytes */
	if (k->op != ST_OP_EQ && k->op != ST_OP_NE)
		return fail(c, val, "'%.*s' is not an integer: %s compares integers", (int)vlen,
			    val, k->op == ST_OP_BITS ? "&" : "this operator");
	if (k->len)
		return fail(c, val, "len() is compared with a number, not '%.*s'", (int)vlen, val);
	memcpy(k->glob, val, vlen);
	k->glob[vlen] = 0;
	err = check_glob(c, val, k->glob);
	if (err)
		return err;
	k->kind = ST_CK_GLOB;
done:
	r->nconds++;
	c->p = end;
	return 0;
}

int st_rule_parse(const char *text, struct st_rule *r, struct st_rule_err *err)
{
	struct cur c = { .text = text, .p = text, .err = err };
	const char *open = NULL, *p;
	size_t n;

	memset(r, 0, sizeof(*r));
	memset(err, 0, sizeof(*err));
	snprintf(r->name, sizeof(r->name), "%s", text);
	for (p = text; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '(') {
			open = p;
			break;
		}
		if (*p == ')')
			return fail(&c, p, "')' without '(': a filter is NAMEGLOB(COND,...)");
	}
	n = open ? (size_t)(open - text) : strlen(text);
	if (!n)
		return fail(&c, text, "an event glob is missing before '('");
	if (n >= sizeof(r->event))
		return fail(&c, text, "event glob too long (at most %d bytes)",
			    ST_RULE_TEXT_MAX - 1);
	memcpy(r->event, text, n);
	r->event[n] = 0;
	if (check_glob(&c, text, r->event))
		return -EINVAL;
	if (!open)
		return 0;
	c.p = open + 1;
	if (*c.p == ')') {
		c.p++;
	} else {
		for (;;) {
			const char *end = c.p + scan(c.p, 1);
			int e;

			if (end == c.p)
				return fail(&c, c.p, "empty condition");
			e = parse_cond(&c, r, end);
			if (e)
				return e;
			c.p = end;
			if (*c.p == ',') {
				c.p++;
				continue;
			}
			if (*c.p == ')') {
				c.p++;
				break;
			}
			return fail(&c, c.p, "expected ',' or ')' to close the filter (write '\\)' "
					     "or '\\,' inside a value)");
		}
	}
	if (*c.p)
		return fail(&c, c.p, "unexpected text after ')'");
	return 0;
}

void st_rule_err_format(char *buf, size_t len, const char *text, const struct st_rule_err *e)
{
	int col = e->col < 0 ? 0 : e->col;

	snprintf(buf, len, "%s\n    %s\n    %*s^", e->msg, text, col, "");
}
