// SPDX-License-Identifier: MIT
/*
 * Glob compilation. Classes become 256-bit maps so the kernel tests a byte
 * with one shift; consecutive stars fold into one, which keeps the token
 * count, and so the kernel's step bound, small.
 */
#include <errno.h>
#include <string.h>
#include "glob.h"
#include "glob_match.h"

/* One character of a pattern: its code point; *pp moves past it. Invalid UTF-8: the byte. */
static __u32 next_char(const char **pp)
{
	const unsigned char *p = (const unsigned char *)*pp;
	__u32 w, cp = st_utf8_at(p, 0, (__u32)strnlen((const char *)p, 4), &w);

	*pp += w;
	return cp;
}

static int add_range(struct st_class *k, unsigned *nr, __u32 lo, __u32 hi, const char **why)
{
	/* ASCII members go to the bitmap, the rest to code point ranges. */
	for (__u32 c = lo; c <= hi && c < 0x80; c++)
		k->bits[c >> 3] |= (__u8)(1u << (c & 7));
	if (hi < 0x80)
		return 0;
	if (lo < 0x80)
		lo = 0x80;
	if (*nr >= ST_CLASS_RANGES) {
		*why = "too many non-ASCII characters or ranges in one '[...]' (at most 4)";
		return -E2BIG;
	}
	k->range[*nr][0] = lo;
	k->range[*nr][1] = hi;
	(*nr)++;
	return 0;
}

static int add_class(struct st_globset *set, const char **pp, bool *negated, const char **why)
{
	const char *p = *pp; /* just past '[' */
	struct st_class k;
	unsigned nr = 0;
	bool first = true;
	int err;

	memset(&k, 0, sizeof(k));
	for (int i = 0; i < ST_CLASS_RANGES; i++) {
		k.range[i][0] = 1; /* lo > hi: unused */
		k.range[i][1] = 0;
	}
	*negated = false;
	if (*p == '!' || *p == '^') {
		*negated = true;
		p++;
	}
	for (;; first = false) {
		__u32 lo, hi;

		if (*p == '\0') {
			*why = "unterminated '[' (write '\\[' for a literal bracket)";
			return -EINVAL;
		}
		if (*p == ']' && !first)
			break;
		if (*p == '\\' && p[1])
			p++;
		lo = next_char(&p);
		hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			if (*p == '\\' && p[1])
				p++;
			hi = next_char(&p);
			if (hi < lo) {
				*why = "reversed range in '[...]'";
				return -EINVAL;
			}
		}
		err = add_range(&k, &nr, lo, hi, why);
		if (err)
			return err;
	}
	*pp = p + 1;
	for (unsigned i = 0; i < set->nclasses; i++)
		if (!memcmp(&set->classes[i], &k, sizeof(k)))
			return (int)i;
	if (set->nclasses >= ST_MAX_CLASSES) {
		*why = "too many '[...]' classes across all patterns";
		return -E2BIG;
	}
	set->classes[set->nclasses] = k;
	return (int)set->nclasses++;
}

int st_globset_add(struct st_globset *set, const char *pattern, bool exclude, const char **why)
{
	struct st_glob g = { .exclude = exclude };
	const char *p = pattern;

	if (set->nglobs >= ST_MAX_GLOBS) {
		*why = "too many patterns (at most 32)";
		return -E2BIG;
	}
	if (!*p) {
		*why = "empty pattern";
		return -EINVAL;
	}
	while (*p) {
		__u8 op, arg = 0;

		if (*p == '*') {
			p++;
			if (g.ntok && g.op[g.ntok - 1] == ST_G_STAR)
				continue;
			op = ST_G_STAR;
		} else if (*p == '?') {
			p++;
			op = ST_G_ANY;
		} else if (*p == '[') {
			bool neg;
			int idx;

			p++;
			idx = add_class(set, &p, &neg, why);
			if (idx < 0)
				return idx;
			op = neg ? ST_G_NCLASS : ST_G_CLASS;
			arg = (__u8)idx;
		} else {
			if (*p == '\\') {
				if (!p[1]) {
					*why = "pattern ends with a lone '\\'";
					return -EINVAL;
				}
				p++;
			}
			op = ST_G_LIT;
			arg = (__u8)*p++;
		}
		if (g.ntok >= ST_GLOB_TOKENS) {
			*why = "pattern too long (at most 64 characters or classes)";
			return -E2BIG;
		}
		g.op[g.ntok] = op;
		g.arg[g.ntok] = arg;
		g.ntok++;
	}
	/* Literal bytes first: if that is the whole pattern, or all but a final '*', say so. */
	while (g.nlit < g.ntok && g.op[g.nlit] == ST_G_LIT)
		g.nlit++;
	if (g.nlit == g.ntok)
		g.shape = ST_GS_LITERAL;
	else if (g.nlit + 1 == g.ntok && g.op[g.nlit] == ST_G_STAR)
		g.shape = ST_GS_PREFIX_STAR;
	set->globs[set->nglobs++] = g;
	if (!exclude)
		set->have_include = true;
	return 0;
}

bool st_glob_match(const struct st_globset *set, unsigned idx, const char *name, size_t len)
{
	const struct st_glob *g = &set->globs[idx];
	struct st_glob_state st;
	__u32 steps;

	/* The kernel sees at most ST_NAME_MAX - 1 bytes of a name. */
	if (len > ST_NAME_MAX - 1)
		len = ST_NAME_MAX - 1;
	steps = st_glob_max_steps((__u32)len, g->ntok);
	st_glob_init(&st);
	for (__u32 i = 0; i < steps; i++)
		if (st_glob_step(&st, g, set->classes, (const __u8 *)name, (__u32)len))
			return st.result;
	return false;
}

bool st_globset_wants(const struct st_globset *set, const char *name, size_t len)
{
	bool included = !set->have_include;

	for (unsigned i = 0; i < set->nglobs; i++) {
		if (set->globs[i].exclude) {
			if (st_glob_match(set, i, name, len))
				return false;
		} else if (!included && st_glob_match(set, i, name, len)) {
			included = true;
		}
	}
	return included;
}
