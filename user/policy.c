// SPDX-License-Identifier: MIT
/*
 * The policy file (policy.h): libyaml's document tree walked key by key, every value checked
 * against what the rule model can hold, each mistake said with the line and column libyaml
 * marked. Nothing is kept from a file with a mistake.
 */
#include "say.h"
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "events.h"
#include "glob.h"
#include "rulenames.h"

/* A policy file larger than this is a mistake (a log file given by error). */
#define POLICY_MAX_BYTES (1 << 20)

struct pctx {
	yaml_document_t *doc;
	struct st_policy *p;
	unsigned flags; /* enum st_policy_flags */
	unsigned too_many; /* rules past ST_RULE_MAX seen */
};

static void perr(struct pctx *c, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void perr(struct pctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	struct st_policy *p = c->p;
	struct st_policy_err *e;
	va_list ap;

	if (p->nerrors++ >= ST_POLICY_MAX_ERRORS)
		return;
	e = &p->errs[p->nerrors - 1];
	e->line = m ? (unsigned)m->line + 1 : 0;
	e->col = m ? (unsigned)m->column + 1 : 0;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

static int err_cmp(const void *a, const void *b)
{
	const struct st_policy_err *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/* The errors in file order, on `err`; the first kept apart. */
static void say_errors(struct st_policy *p, FILE *err)
{
	unsigned n = p->nerrors < ST_POLICY_MAX_ERRORS ? p->nerrors : ST_POLICY_MAX_ERRORS;

	qsort(p->errs, n, sizeof(p->errs[0]), err_cmp);
	if (n)
		p->first = p->errs[0];
	for (unsigned i = 0; err && i < n; i++) {
		if (p->errs[i].line)
			fprintf(err, "%s:%u:%u: %s\n", p->path, p->errs[i].line, p->errs[i].col,
				p->errs[i].reason);
		else
			fprintf(err, "%s: %s\n", p->path, p->errs[i].reason);
	}
	if (err && p->nerrors > n)
		fprintf(err, "%s: %u more errors, not shown: fix these first\n", p->path,
			p->nerrors - n);
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool plain(yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static const char *kind_name(yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

/* A scalar's text, or an error saying what was expected. */
static const char *want_scalar(struct pctx *c, yaml_node_t *n, const char *key, const char *what)
{
	if (n->type == YAML_SCALAR_NODE)
		return scalar(n);
	perr(c, &n->start_mark, "'%s' takes %s, not %s", key, what, kind_name(n));
	return NULL;
}

/* A string of at most max - 1 bytes with no NUL (libyaml would cut at one). */
static bool fits(struct pctx *c, yaml_node_t *n, const char *key, size_t max)
{
	if (n->data.scalar.length < max && strlen(scalar(n)) == n->data.scalar.length)
		return true;
	perr(c, &n->start_mark, "'%s' is too long (at most %zu bytes)", key, max - 1);
	return false;
}

/* Each key of mapping `m` once, and only the `allowed` ones (NULL-terminated). */
static bool check_keys(struct pctx *c, yaml_node_t *m, const char *const *allowed,
		       const char *where)
{
	bool ok = true;

	for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top;
	     a++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, a->key);
		const char *ks = scalar(k);
		bool known = false;

		if (!ks) {
			perr(c, &k->start_mark, "a key in %s must be a plain name, not %s", where,
			     kind_name(k));
			ok = false;
			continue;
		}
		for (const char *const *w = allowed; *w && !known; w++)
			known = !strcmp(*w, ks);
		if (!known) {
			char list[256] = "";

			for (const char *const *w = allowed; *w; w++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 w == allowed ? "" : ", ", *w);
			perr(c, &k->start_mark, "unknown key '%s' in %s (the keys are: %s)", ks,
			     where, list);
			ok = false;
		}
		for (yaml_node_pair_t *b = m->data.mapping.pairs.start; b < a; b++) {
			const char *bs = scalar(yaml_document_get_node(c->doc, b->key));

			if (bs && !strcmp(bs, ks)) {
				perr(c, &k->start_mark, "'%s' given twice in %s", ks, where);
				ok = false;
				break;
			}
		}
	}
	return ok;
}

static yaml_node_t *get(struct pctx *c, yaml_node_t *m, const char *key)
{
	for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top;
	     a++) {
		const char *ks = scalar(yaml_document_get_node(c->doc, a->key));

		if (ks && !strcmp(ks, key))
			return yaml_document_get_node(c->doc, a->value);
	}
	return NULL;
}

/* A whole decimal, 0x hex or 0o/0 octal integer with an optional sign; false if not one. */
static bool parse_int(const char *s, int64_t *v)
{
	char *end;
	const char *d = s + (*s == '-' || *s == '+');

	if (!isdigit((unsigned char)*d))
		return false;
	errno = 0;
	if (d[0] == '0' && (d[1] == 'o' || d[1] == 'O')) {
		*v = strtoll(d + 2, &end, 8);
		if (*s == '-')
			*v = -*v;
	} else {
		*v = strtoll(s, &end, 0);
	}
	return !errno && !*end && end != s;
}

static bool glob_ok(struct pctx *c, yaml_node_t *n, const char *what, const char *g)
{
	static struct st_globset set; /* one at a time: only to run the compiler */
	const char *why = NULL;

	memset(&set, 0, sizeof(set));
	if (!st_globset_add(&set, g, false, &why))
		return true;
	perr(c, &n->start_mark, "bad pattern '%s' for %s: %s", g, what, why);
	return false;
}

int st_rate_parse(const char *s, uint32_t *per_s, const char **why)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || errno || strcmp(end, "/s")) {
		*why = "give a rate as N/s, such as 100/s (events a second)";
		return -EINVAL;
	}
	if (v < 1 || v > 1000000) {
		*why = "give a rate from 1/s to 1000000/s";
		return -EINVAL;
	}
	*per_s = (uint32_t)v;
	return 0;
}

/* ---- rules ----------------------------------------------------------------------------- */

static const struct {
	const char *text;
	enum st_cond_op op;
} ops[] = {
    {"=", ST_OP_EQ}, {"!=", ST_OP_NE}, {"<", ST_OP_LT},	  {"<=", ST_OP_LE},
    {">", ST_OP_GT}, {">=", ST_OP_GE}, {"&", ST_OP_BITS}, {"range", ST_OP_RANGE},
};

static const char *op_text(enum st_cond_op op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return ops[i].text;
	return "?";
}

static const char *const actions[] = {
    [ST_ACT_LOG] = "log",   [ST_ACT_COUNT] = "count", [ST_ACT_DROP] = "drop",
    [ST_ACT_KILL] = "kill", [ST_ACT_STOP] = "stop",
};

/* The rule as the file says it, before each event pattern becomes an st_rule of its own. */
struct prule {
	struct st_rule r;
	yaml_node_t *events[ST_RULE_MAX];
	unsigned nevents;
	yaml_node_t *args_node, *action_node, *process_node, *rate_node;
	/* Argument names as written, resolved per event pattern afterwards. */
	struct {
		yaml_node_t *node;
		char name[64];
		long pos; /* -1: by name */
	} argref[ST_RULE_CONDS];
};

static bool has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* `value:` of a condition, by the operator: its kind and bounds, or a glob. */
static void cond_value(struct pctx *c, struct st_cond *k, yaml_node_t *v)
{
	const char *s = scalar(v);
	int64_t x;

	if (k->op == ST_OP_RANGE) {
		yaml_node_item_t *it;
		int64_t b[2];
		int n = 0;

		if (v->type != YAML_SEQUENCE_NODE ||
		    v->data.sequence.items.top - v->data.sequence.items.start != 2) {
			perr(c, &v->start_mark,
			     "op 'range' takes a value [LOW, HIGH] of two integers");
			return;
		}
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
		     it++, n++) {
			yaml_node_t *e = yaml_document_get_node(c->doc, *it);

			if (!plain(e) || !parse_int(scalar(e), &b[n])) {
				perr(c, &e->start_mark,
				     "op 'range' compares integers: '%s' is not one",
				     scalar(e) ? scalar(e) : kind_name(e));
				return;
			}
		}
		if (b[0] > b[1]) {
			perr(c, &v->start_mark,
			     "range [%" PRId64 ", %" PRId64 "] is empty: give the "
			     "lower bound first",
			     b[0], b[1]);
			return;
		}
		k->kind = ST_CK_INT;
		k->lo = b[0];
		k->hi = b[1];
		return;
	}
	if (!s) {
		perr(c, &v->start_mark,
		     "'value' takes a number, a string, None, True or False, "
		     "not %s",
		     kind_name(v));
		return;
	}
	if (plain(v) && parse_int(s, &x)) {
		k->kind = ST_CK_INT;
		k->lo = k->hi = x;
	} else if (plain(v) &&
		   (!strcmp(s, "None") || !strcmp(s, "null") || !strcmp(s, "~") || !*s)) {
		k->kind = ST_CK_NONE;
	} else if (plain(v) && (!strcmp(s, "True") || !strcmp(s, "true"))) {
		k->kind = ST_CK_TRUE;
	} else if (plain(v) && (!strcmp(s, "False") || !strcmp(s, "false"))) {
		k->kind = ST_CK_FALSE;
	} else {
		k->kind = ST_CK_GLOB;
	}
	switch (k->op) {
	case ST_OP_LT:
	case ST_OP_LE:
	case ST_OP_GT:
	case ST_OP_GE:
	case ST_OP_BITS:
		if (k->kind != ST_CK_INT) {
			perr(c, &v->start_mark, "op '%s' %s integers: '%s' is %s", op_text(k->op),
			     k->op == ST_OP_BITS ? "tests the bits of" : "compares", s,
			     k->kind == ST_CK_GLOB ? "a string" : "not an integer");
			return;
		}
		if (k->op == ST_OP_BITS && k->len) {
			perr(c, &v->start_mark, "op '&' tests bits of an integer, not a length");
			return;
		}
		break;
	default:
		if (k->len && k->kind != ST_CK_INT) {
			perr(c, &v->start_mark,
			     "a length compares with an integer: '%s' is not one", s);
			return;
		}
	}
	if (k->kind == ST_CK_GLOB) {
		if (!fits(c, v, "value", sizeof(k->glob)))
			return;
		if (!*s) {
			perr(c, &v->start_mark,
			     "an empty string value matches nothing: write '\"\"' "
			     "only with a pattern such as '*'");
			return;
		}
		if (glob_ok(c, v, "a string value", s))
			strcpy(k->glob, s);
	}
}

/* One item of `args:`. */
static void parse_cond(struct pctx *c, struct prule *pr, yaml_node_t *n)
{
	static const char *const keys[] = {"arg", "index", "len", "op", "value", NULL};
	int i = pr->r.nconds;
	struct st_cond *k = &pr->r.conds[i];
	yaml_node_t *arg, *op, *val, *idx, *len;
	const char *s;

	if (n->type != YAML_MAPPING_NODE) {
		perr(c, &n->start_mark,
		     "each condition is a mapping such as {arg: path, op: \"=\", "
		     "value: \"/etc/*\"}, not %s",
		     kind_name(n));
		return;
	}
	if (i >= ST_RULE_CONDS) {
		perr(c, &n->start_mark, "too many conditions in rule '%s' (at most %d)", pr->r.name,
		     ST_RULE_CONDS);
		return;
	}
	check_keys(c, n, keys, "a condition");
	arg = get(c, n, "arg");
	op = get(c, n, "op");
	val = get(c, n, "value");
	idx = get(c, n, "index");
	len = get(c, n, "len");
	if (!arg || !op || !val) {
		perr(c, &n->start_mark, "a condition needs 'arg', 'op' and 'value'");
		return;
	}
	memset(k, 0, sizeof(*k));
	k->index = -1;
	pr->argref[i].node = arg;
	pr->argref[i].pos = -1;
	s = want_scalar(c, arg, "arg", "an argument name or position (#N)");
	if (!s)
		return;
	/* A position: "#N" (quoted: a plain # starts a comment), or N. */
	if (s[0] == '#' || (plain(arg) && isdigit((unsigned char)*s))) {
		const char *d = s + (s[0] == '#');
		char *end;
		long v;

		errno = 0;
		v = strtol(d, &end, 10);
		if (!isdigit((unsigned char)*d) || *end || errno || v < 0 ||
		    v >= ST_MAX_VALUES - 1) {
			perr(c, &arg->start_mark, "bad argument position '%s': give #0 to #%d", s,
			     ST_MAX_VALUES - 2);
			return;
		}
		pr->argref[i].pos = v;
	} else if (!*s || strlen(s) >= sizeof(pr->argref[i].name)) {
		perr(c, &arg->start_mark, "bad argument name '%s'", s);
		return;
	} else {
		strcpy(pr->argref[i].name, s);
	}
	if (idx) {
		int64_t v;

		if (!plain(idx) || !parse_int(scalar(idx), &v) || v < 0 || v >= ST_MAX_ITEMS) {
			perr(c, &idx->start_mark, "'index' takes an element's position, 0 to %d",
			     ST_MAX_ITEMS - 1);
			return;
		}
		k->index = (int)v;
	}
	if (len) {
		const char *ls = scalar(len);

		if (!ls || !plain(len) || (strcmp(ls, "true") && strcmp(ls, "false"))) {
			perr(c, &len->start_mark, "'len' takes true (compare the length) or false");
			return;
		}
		k->len = !strcmp(ls, "true");
	}
	s = want_scalar(c, op, "op", "an operator");
	if (!s)
		return;
	for (size_t j = 0; j < sizeof(ops) / sizeof(ops[0]); j++)
		if (!strcmp(ops[j].text, s))
			k->op = ops[j].op;
	if (!k->op) {
		perr(c, &op->start_mark,
		     "unknown op '%s' (the ops are =, !=, <, <=, >, >=, &, range)", s);
		return;
	}
	cond_value(c, k, val);
	pr->r.nconds++;
}

static bool cgroup_ok(struct pctx *c, yaml_node_t *n, const char *path)
{
	const char *why = path[0] != '/' ? "give an absolute path" : st_cgroup_dir_why(path);

	if (!why)
		return true;
	perr(c, &n->start_mark,
	     "bad cgroup '%s': %s (give a cgroup v2 directory, such as "
	     "/sys/fs/cgroup/system.slice/docker-ID.scope)",
	     path, why);
	return false;
}

static void parse_process(struct pctx *c, struct prule *pr, yaml_node_t *n)
{
	static const char *const keys[] = {"uid", "comm", "exe", "cgroup", NULL};
	struct st_proc_sel *ps = &pr->r.proc;
	yaml_node_t *v;
	const char *s;

	if (n->type != YAML_MAPPING_NODE) {
		perr(c, &n->start_mark, "'process' takes a mapping of uid, comm, exe, cgroup");
		return;
	}
	check_keys(c, n, keys, "'process'");
	if ((v = get(c, n, "uid")) && (s = want_scalar(c, v, "uid", "a user name or uid"))) {
		int64_t u;
		struct passwd *pw;

		if (plain(v) && parse_int(s, &u)) {
			if (u < 0 || u >= UINT32_MAX)
				perr(c, &v->start_mark, "bad uid %s", s);
			ps->uid = (uid_t)u;
			ps->have_uid = true;
		} else if ((pw = getpwnam(s))) {
			ps->uid = pw->pw_uid;
			ps->have_uid = true;
		} else {
			perr(c, &v->start_mark, "unknown user '%s': give a user name or a uid", s);
		}
	}
	if ((v = get(c, n, "comm")) && (s = want_scalar(c, v, "comm", "a pattern"))) {
		if (fits(c, v, "comm", sizeof(ps->comm)) && glob_ok(c, v, "comm", s))
			strcpy(ps->comm, s);
	}
	if ((v = get(c, n, "exe")) && (s = want_scalar(c, v, "exe", "a path pattern"))) {
		if (s[0] != '/' && s[0] != '*')
			perr(c, &v->start_mark,
			     "'exe' is matched against the executable's absolute "
			     "path: start it with '/' or '*'");
		else if (fits(c, v, "exe", sizeof(ps->exe)) && glob_ok(c, v, "exe", s))
			strcpy(ps->exe, s);
	}
	if ((v = get(c, n, "cgroup")) && (s = want_scalar(c, v, "cgroup", "a path"))) {
		if (fits(c, v, "cgroup", sizeof(ps->cgroup)) && cgroup_ok(c, v, s))
			strcpy(ps->cgroup, s);
	}
}

static void parse_events(struct pctx *c, struct prule *pr, yaml_node_t *n, const char *key)
{
	yaml_node_item_t *it, *start, *top, one;

	if (n->type == YAML_SCALAR_NODE) {
		/* `event: GLOB`, or `events: GLOB` for one: the node's own id (ids count from 1) */
		one = (yaml_node_item_t)(n - c->doc->nodes.start) + 1;
		start = &one;
		top = start + 1;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		start = n->data.sequence.items.start;
		top = n->data.sequence.items.top;
		if (start == top)
			perr(c, &n->start_mark,
			     "'%s' is empty: give at least one event name or "
			     "pattern",
			     key);
	} else {
		perr(c, &n->start_mark, "'%s' takes an event name or pattern, or a list of them",
		     key);
		return;
	}
	for (it = start; it < top; it++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *it);
		const char *s = e ? want_scalar(c, e, key, "event names or patterns") : NULL;

		if (!s)
			continue;
		if (!*s) {
			perr(c, &e->start_mark, "empty event pattern");
			continue;
		}
		if (!fits(c, e, "event", ST_RULE_TEXT_MAX) || !glob_ok(c, e, "an event", s))
			continue;
		if (pr->nevents >= ST_RULE_MAX) {
			perr(c, &e->start_mark, "too many event patterns in one rule (at most %d)",
			     ST_RULE_MAX);
			return;
		}
		pr->events[pr->nevents++] = e;
	}
}

static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._:-", *s))
			return false;
	return true;
}

static void parse_rule(struct pctx *c, struct prule *pr, yaml_node_t *n)
{
	static const char *const keys[] = {"name",    "description", "event", "events", "args",
					   "process", "action",	     "rate",  NULL};
	yaml_node_t *v, *ev = NULL;
	const char *s;

	memset(pr, 0, sizeof(*pr));
	pr->r.src = c->p->path;
	pr->r.line = (unsigned)n->start_mark.line + 1;
	if (n->type != YAML_MAPPING_NODE) {
		perr(c, &n->start_mark,
		     "each rule is a mapping (name, events, args, process, "
		     "action, rate), not %s",
		     kind_name(n));
		return;
	}
	check_keys(c, n, keys, "a rule");
	if (!(v = get(c, n, "name"))) {
		perr(c, &n->start_mark, "a rule needs a 'name'");
	} else if ((s = want_scalar(c, v, "name", "a name"))) {
		if (!name_ok(s) || strlen(s) >= ST_RULE_NAME_MAX)
			perr(c, &v->start_mark,
			     "bad rule name '%s': give 1 to %d letters, digits, "
			     "'.', '_', ':' or '-'",
			     s, ST_RULE_NAME_MAX - 1);
		else
			strcpy(pr->r.name, s);
	}
	if ((v = get(c, n, "description")))
		want_scalar(c, v, "description", "a string");
	if ((v = get(c, n, "event")) && get(c, n, "events"))
		perr(c, &v->start_mark, "give 'event' or 'events', not both");
	else if ((ev = get(c, n, "events") ?: get(c, n, "event")))
		parse_events(c, pr, ev, get(c, n, "events") ? "events" : "event");
	else
		perr(c, &n->start_mark,
		     "rule '%s' needs 'events': the event names or patterns it "
		     "applies to ('*' for all)",
		     pr->r.name);
	if ((v = get(c, n, "action")) && (s = want_scalar(c, v, "action", "an action"))) {
		bool found = false;

		for (size_t j = 0; j < sizeof(actions) / sizeof(actions[0]); j++)
			if (!strcmp(actions[j], s)) {
				pr->r.action = (enum st_action)j;
				found = true;
			}
		if (!found)
			perr(c, &v->start_mark,
			     "unknown action '%s' (the actions are log, count, "
			     "drop, kill, stop)",
			     s);
		pr->action_node = v;
	}
	pr->r.exclude = pr->r.action == ST_ACT_DROP;
	if ((v = get(c, n, "args"))) {
		pr->args_node = v;
		if (v->type != YAML_SEQUENCE_NODE) {
			perr(c, &v->start_mark, "'args' takes a list of conditions");
		} else {
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++)
				parse_cond(c, pr, yaml_document_get_node(c->doc, *it));
		}
	}
	if ((v = get(c, n, "process"))) {
		pr->process_node = v;
		parse_process(c, pr, v);
	}
	if ((v = get(c, n, "rate")) && (s = want_scalar(c, v, "rate", "a rate such as 100/s"))) {
		const char *why;

		pr->rate_node = v;
		if (st_rate_parse(s, &pr->r.rate_per_s, &why))
			perr(c, &v->start_mark, "bad rate '%s': %s", s, why);
		else if (pr->r.action != ST_ACT_LOG)
			perr(c, &v->start_mark,
			     "'rate' limits what a log rule shows: rule '%s' "
			     "is '%s'",
			     pr->r.name, actions[pr->r.action]);
	}
}

/* An argument name for event pattern `ev`: its position, or -1 after saying why not. */
static long resolve_arg(struct pctx *c, yaml_node_t *node, const char *name, yaml_node_t *evn)
{
	const char *ev = scalar(evn);
	const struct st_known_event *k;

	if (has_glob_chars(ev)) {
		perr(c, &node->start_mark,
		     "argument '%s' is named, but event pattern '%s' may "
		     "match several events: give its position ('#N') or exact event names",
		     name, ev);
		return -1;
	}
	k = st_event_lookup(ev, strlen(ev));
	if (!k) {
		perr(c, &node->start_mark,
		     "argument '%s': event '%s' is not in the events table "
		     "(seatrace --list-events): give the argument's position, as '#0'",
		     name, ev);
		return -1;
	}
	for (unsigned i = 0; i < k->nargs; i++)
		if (!strcmp(k->argnames[i], name))
			return (long)i;
	{
		char list[256] = "";

		for (unsigned i = 0; i < k->nargs; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", k->argnames[i]);
		perr(c, &node->start_mark, "unknown argument '%s' of %s (its arguments: %s)", name,
		     ev, k->nargs ? list : "none");
	}
	return -1;
}

/* The file's rule, one st_rule per event pattern, appended to the policy. */
static void expand(struct pctx *c, struct prule *pr, bool had_errors)
{
	struct st_policy *p = c->p;
	const char *why;
	enum st_rule_part part = st_rule_unsupported(&pr->r, &why);

	if (c->flags & ST_POLICY_ANY_BUILD)
		part = ST_RP_NONE;
	if (part && !had_errors) {
		yaml_node_t *at = part == ST_RP_CONDS  ? pr->args_node
				  : part == ST_RP_PROC ? pr->process_node
						       : pr->action_node;

		perr(c, at ? &at->start_mark : NULL, "rule '%s': %s", pr->r.name, why);
	}
	for (unsigned e = 0; e < pr->nevents; e++) {
		struct st_rule r = pr->r;

		for (int i = 0; i < r.nconds; i++) {
			long pos = pr->argref[i].pos;

			if (pos < 0 && (pos = resolve_arg(c, pr->argref[i].node, pr->argref[i].name,
							  pr->events[e])) < 0)
				continue;
			r.conds[i].arg = (int)pos;
		}
		if (had_errors)
			continue;
		if (p->nrules >= ST_RULE_MAX) {
			/* Once: the rules after it are too many as well. */
			if (c->too_many++)
				return;
			perr(c, &pr->events[e]->start_mark,
			     "too many rules: at most %d (each event "
			     "pattern of a rule counts as one)",
			     ST_RULE_MAX);
			return;
		}
		strcpy(r.event, scalar(pr->events[e]));
		p->rules[p->nrules++] = r;
	}
}

static void parse_root(struct pctx *c, yaml_node_t *root)
{
	static const char *const keys[] = {"version", "description", "rules", NULL};
	static struct prule pr; /* big (the conditions' globs): not on the stack */
	yaml_node_t *v, *rules;

	if (!root) {
		perr(c, NULL, "empty policy: give a 'rules:' list (docs/policy-file.md)");
		return;
	}
	if (root->type != YAML_MAPPING_NODE) {
		perr(c, &root->start_mark, "a policy is a mapping with a 'rules:' list, not %s",
		     kind_name(root));
		return;
	}
	check_keys(c, root, keys, "the policy");
	if ((v = get(c, root, "version"))) {
		const char *s = scalar(v);

		if (!s || strcmp(s, "1"))
			perr(c, &v->start_mark,
			     "unknown policy version '%s': this seatrace reads "
			     "version 1",
			     s ? s : kind_name(v));
	}
	if ((v = get(c, root, "description")))
		want_scalar(c, v, "description", "a string");
	rules = get(c, root, "rules");
	if (!rules) {
		perr(c, &root->start_mark, "no 'rules:' list in the policy");
		return;
	}
	if (rules->type != YAML_SEQUENCE_NODE) {
		if (!(plain(rules) && !*scalar(rules))) /* `rules:` alone: none */
			perr(c, &rules->start_mark, "'rules' takes a list of rules, not %s",
			     kind_name(rules));
		return;
	}
	for (yaml_node_item_t *it = rules->data.sequence.items.start;
	     it < rules->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(c->doc, *it);
		unsigned before = c->p->nerrors;

		parse_rule(c, &pr, n);
		for (int i = 0; i < c->p->nnames && pr.r.name[0]; i++)
			if (!strcmp(c->p->names[i].name, pr.r.name)) {
				perr(c, &get(c, n, "name")->start_mark,
				     "rule name '%s' given twice "
				     "(first at line %u)",
				     pr.r.name, c->p->names[i].line);
				break;
			}
		if (pr.r.name[0] && c->p->nnames < ST_RULE_MAX) {
			strcpy(c->p->names[c->p->nnames].name, pr.r.name);
			c->p->names[c->p->nnames++].line = pr.r.line;
		}
		c->p->npolicy_rules++;
		/* With mistakes too: each unknown argument name is said. */
		expand(c, &pr, c->p->nerrors != before);
	}
}

int st_policy_parse(const char *path, const char *text, size_t len, struct st_policy *p, FILE *err,
		    unsigned flags)
{
	struct pctx c = {.p = p, .flags = flags};
	yaml_parser_t parser;
	yaml_document_t doc;

	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s", path);
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		if (parser.error == YAML_MEMORY_ERROR) {
			yaml_parser_delete(&parser);
			return -ENOMEM;
		}
		perr(&c, &parser.problem_mark, "YAML: %s%s%s", parser.problem ?: "syntax error",
		     parser.context ? " " : "", parser.context ?: "");
		yaml_parser_delete(&parser);
		say_errors(p, err);
		return -EINVAL;
	}
	c.doc = &doc;
	parse_root(&c, yaml_document_get_root_node(&doc));
	/* One document only: a second would be silently ignored otherwise. */
	if (!p->nerrors) {
		yaml_document_t more;

		if (!yaml_parser_load(&parser, &more)) {
			perr(&c, &parser.problem_mark, "YAML: %s",
			     parser.problem ?: "syntax error");
		} else {
			yaml_node_t *r = yaml_document_get_root_node(&more);

			if (r)
				perr(&c, &r->start_mark,
				     "a second YAML document: a policy is one "
				     "document");
			yaml_document_delete(&more);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (p->nerrors) {
		say_errors(p, err);
		p->nrules = 0;
		return -EINVAL;
	}
	return 0;
}

int st_policy_load(const char *path, struct st_policy *p, FILE *err)
{
	struct pctx c = {.p = p};
	FILE *f;
	char *text = NULL;
	size_t n = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s", path);
	f = fopen(path, "re");
	if (!f) {
		perr(&c, NULL, "cannot read the policy: %s", strerror(errno));
		say_errors(p, err);
		return -EINVAL;
	}
	text = malloc(POLICY_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(text, 1, POLICY_MAX_BYTES + 1, f);
	if (ferror(f) || n > POLICY_MAX_BYTES) {
		perr(&c, NULL,
		     ferror(f) ? "cannot read the policy: %s"
			       : "the policy is larger than 1 MiB%s: is it the right file?",
		     ferror(f) ? strerror(errno) : "");
		say_errors(p, err);
		ret = -EINVAL;
	} else {
		ret = st_policy_parse(path, text, n, p, err, 0);
	}
	fclose(f);
	free(text);
	return ret;
}

/* ---- describing rules ------------------------------------------------------------------ */

static void add(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(char *buf, size_t len, const char *fmt, ...)
{
	size_t at = strnlen(buf, len);
	va_list ap;

	if (at + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
}

void st_policy_describe(const struct st_rule *r, char *buf, size_t len)
{
	const struct st_known_event *k =
	    has_glob_chars(r->event) ? NULL : st_event_lookup(r->event, strlen(r->event));

	if (!len)
		return;
	buf[0] = 0;
	add(buf, len, "%s: %s %s", r->name, actions[r->action], r->event);
	for (int i = 0; i < r->nconds; i++) {
		const struct st_cond *c = &r->conds[i];

		add(buf, len, "%s", i ? ", " : " if ");
		if (c->len)
			add(buf, len, "len(");
		if (k && (unsigned)c->arg < k->nargs)
			add(buf, len, "%s", k->argnames[c->arg]);
		else
			add(buf, len, "#%d", c->arg);
		if (c->index >= 0)
			add(buf, len, "[%d]", c->index);
		if (c->len)
			add(buf, len, ")");
		if (c->op == ST_OP_RANGE) {
			add(buf, len, " in %" PRId64 "..%" PRId64, c->lo, c->hi);
			continue;
		}
		add(buf, len, "%s", op_text(c->op));
		switch (c->kind) {
		case ST_CK_INT:
			add(buf, len, "%" PRId64, c->lo);
			break;
		case ST_CK_NONE:
			add(buf, len, "None");
			break;
		case ST_CK_TRUE:
			add(buf, len, "True");
			break;
		case ST_CK_FALSE:
			add(buf, len, "False");
			break;
		default:
			add(buf, len, "'%s'", c->glob);
		}
	}
	if (r->proc.have_uid)
		add(buf, len, "; uid=%u", (unsigned)r->proc.uid);
	if (r->proc.comm[0])
		add(buf, len, "; comm=%s", r->proc.comm);
	if (r->proc.exe[0])
		add(buf, len, "; exe=%s", r->proc.exe);
	if (r->proc.cgroup[0])
		add(buf, len, "; cgroup=%s", r->proc.cgroup);
	if (r->rate_per_s)
		add(buf, len, "; rate %u/s", r->rate_per_s);
	add(buf, len, " (line %u)", r->line);
}

int st_policy_check(const char *path, FILE *out, FILE *err)
{
	struct st_policy *p = malloc(sizeof(*p));
	char line[1024];
	int ret;

	if (!p) {
		fprintf(err, "seatrace: %s\n", strerror(ENOMEM));
		return 1;
	}
	ret = st_policy_load(path, p, err);
	if (ret == -ENOMEM)
		fprintf(err, "seatrace: %s: %s\n", path, strerror(ENOMEM));
	if (!ret) {
		/* What the kernel side holds, alone (the -e/-x patterns of a run add to it). */
		static struct st_rule_names rn;
		static const struct st_globset none;
		char why[512];

		if (st_rules_names(&none, p->rules, p->nrules, &rn, why, sizeof(why))) {
			fprintf(err, "%s\n", why);
			free(p);
			return 1;
		}
	}
	if (!ret) {
		for (int i = 0; i < p->nrules; i++) {
			st_policy_describe(&p->rules[i], line, sizeof(line));
			fprintf(out, "%s\n", line);
		}
		fprintf(out, "%s: %d rule%s OK (%d event pattern%s)\n", path, p->npolicy_rules,
			p->npolicy_rules == 1 ? "" : "s", p->nrules, p->nrules == 1 ? "" : "s");
	}
	free(p);
	return ret ? 1 : 0;
}
