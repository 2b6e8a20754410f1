// SPDX-License-Identifier: MIT
/*
 * Pairing engine. Event records are built byte by byte into one buffer that is scribbled over
 * after every st_pairer_event() call, as the ring buffer slot would be, so a span that kept a
 * pointer into it instead of a copy shows the wrong call id (or trips ASan).
 *
 * Each record carries a call id, the first int of its arguments: prehooks have the Seagrass
 * shape ((id,), {}), posthooks (id,). A span paired right has the same id on both sides.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "pair.h"

#include "recbuild.h"

/* ---- record builder ---------------------------------------------------------------------- */

/* One record buffer for every event, as the ring buffer slot. */
static struct rec rec;

enum args_shape {
	A_PRE,	 /* ((id,), {}) as Seagrass's prehook */
	A_POST,	 /* (id,) as a posthook */
	A_NONE,	 /* (None,): a call that raised, the app passed None */
	A_PAD,	 /* (id, b'...' x pad): a large record */
};

struct evspec {
	const char *name;
	uint32_t pid, tid;
	uint64_t frame, ts;
	int64_t id;
	enum args_shape shape;
	uint16_t flags; /* st_event.flags */
	uint16_t pad;
	/* The callers of frame (ST_EF_CHAIN) when chain is not NULL; cut: ST_CF_CUT */
	const uint64_t *chain;
	unsigned nchain;
	bool cut;
};

static struct st_view build(const struct evspec *e)
{
	static uint8_t padding[ST_REC_MAX];
	const struct rec_hdr h = { .flags = (uint16_t)(e->flags | (e->chain ? ST_EF_CHAIN : 0)),
				   .ts_ns = e->ts,
				   .frame = e->frame,
				   .pid = e->pid,
				   .tid = e->tid,
				   .comm = "python3",
				   .comm_len = 7 };
	struct st_view v;

	rec_begin_hdr(&rec, e->name, strlen(e->name), &h);
	switch (e->shape) {
	case A_PRE:
		v_tuple(&rec, 2);
		v_tuple(&rec, 1);
		v_int(&rec, e->id);
		v_cont(&rec, ST_V_DICT, 0, 0);
		break;
	case A_POST:
		v_tuple(&rec, 1);
		v_int(&rec, e->id);
		break;
	case A_NONE:
		v_tuple(&rec, 1);
		v_leaf(&rec, ST_V_NONE);
		break;
	case A_PAD:
		v_tuple(&rec, 2);
		v_int(&rec, e->id);
		rec_val(&rec, ST_V_BYTES, 0, padding, e->pad, 0, e->pad);
		break;
	}
	if (e->chain) {
		struct st_chain_tail t = { .nchain = (uint16_t)e->nchain,
					   .flags = e->cut ? ST_CF_CUT : 0 };

		memcpy(rec.buf + rec.len, e->chain, 8 * e->nchain);
		rec.len += 8 * e->nchain;
		memcpy(rec.buf + rec.len, &t, sizeof(t));
		rec.len += sizeof(t);
	}
	rec_end(&rec);
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), 0);
	return v;
}

/* The first int of a view's values, pre-order: the call id. -1 when there is none. */
static int64_t view_id(const struct st_view *v)
{
	struct st_cursor c;
	struct st_val val;
	uint64_t mag;

	assert_non_null(v->hdr);
	/* Never the caller's buffer: the span must own a copy. */
	assert_true((const uint8_t *)v->hdr < rec.buf ||
		    (const uint8_t *)v->hdr >= rec.buf + sizeof(rec.buf));
	st_cursor_init(&c, v);
	while (st_value_next(&c, &val) == 1) {
		if (val.tag != ST_V_INT)
			continue;
		assert_true(st_int_small(&val, &mag));
		return val.flags & ST_VF_NEG ? -(int64_t)mag : (int64_t)mag;
	}
	return -1;
}

/* ---- collecting spans -------------------------------------------------------------------- */

struct sink {
	struct st_span *s;
	size_t n, cap;
};

static void sink_push(struct sink *k, const struct st_span *s)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 16;
		k->s = realloc(k->s, k->cap * sizeof(*k->s));
		assert_non_null(k->s);
	}
	k->s[k->n++] = *s;
}

static void sink_free(struct sink *k)
{
	for (size_t i = 0; i < k->n; i++)
		st_span_release(&k->s[i]);
	free(k->s);
	memset(k, 0, sizeof(*k));
}

/* Feeds one event, collects what it readies; returns how many spans that was. */
static size_t feed(struct st_pairer *p, struct sink *k, const struct evspec *e)
{
	struct st_view v = build(e);
	struct st_span s;
	size_t n = 0;
	int rc;

	rc = st_pairer_event(p, &v, &s);
	assert_true(rc == 0 || rc == 1);
	memset(rec.buf, 0x5a, sizeof(rec.buf)); /* the ring buffer slot is gone */
	if (rc == 1) {
		do {
			sink_push(k, &s);
			n++;
		} while (st_pairer_next(p, &s) == 1);
	}
	assert_int_equal(st_pairer_next(p, &s), 0);
	return n;
}

/* Shorthands: a Seagrass pre or post of NAME. */
static size_t pre(struct st_pairer *p, struct sink *k, const char *fn, uint32_t tid, uint64_t frame,
		  uint64_t ts, int64_t id)
{
	char name[64];
	struct evspec e = { .name = name, .pid = 100, .tid = tid, .frame = frame, .ts = ts,
			    .id = id, .shape = A_PRE };

	snprintf(name, sizeof(name), "prehook:%s", fn);
	return feed(p, k, &e);
}

static size_t post(struct st_pairer *p, struct sink *k, const char *fn, uint32_t tid,
		   uint64_t frame, uint64_t ts, int64_t id)
{
	char name[64];
	struct evspec e = { .name = name, .pid = 100, .tid = tid, .frame = frame, .ts = ts,
			    .id = id, .shape = A_POST };

	snprintf(name, sizeof(name), "posthook:%s", fn);
	return feed(p, k, &e);
}

static size_t drain_all(struct st_pairer *p, struct sink *k, uint32_t pid)
{
	struct st_span s;
	size_t n = 0;

	while (st_pairer_drain(p, pid, &s) == 1) {
		sink_push(k, &s);
		n++;
	}
	return n;
}

static struct st_pairer *new_default(void)
{
	struct st_pairer *p = st_pairer_new();

	assert_non_null(p);
	assert_int_equal(st_pairer_add_defaults(p), 0);
	return p;
}

/* A span closed by its post: both sides carry `id`, no flags unless `flags`. */
static void assert_pair(const struct st_span *s, const char *name, int64_t id, unsigned flags,
			unsigned depth)
{
	assert_string_equal(s->name, name);
	assert_int_equal(s->name_len, strlen(name));
	assert_int_equal(s->flags, flags);
	assert_int_equal(view_id(&s->pre), id);
	assert_int_equal(view_id(&s->post), id);
	assert_int_equal(s->depth, depth);
	assert_int_equal(s->start_ns, s->pre.hdr->ts_ns);
	assert_int_equal(s->end_ns, s->post.hdr->ts_ns);
	assert_int_equal(s->dur_ns, s->end_ns - s->start_ns);
}

/* ---- rules ------------------------------------------------------------------------------- */

static void test_rule_specs(void **state)
{
	static const char *const good[] = {
		"prehook:*=posthook:*", "enter:*=exit:*", "begin.*=end.*", "*.start=*.stop",
		"a=b",			"*=*.done",	  "x.y=x.y/result",
	};
	static const struct {
		const char *spec, *why;
	} bad[] = {
		{ "nope", "expected PRE=POST" },
		{ "=b", "empty PRE side" },
		{ "a=", "empty POST side" },
		{ "=", "empty PRE side" },
		{ "a**=b*", "more than one '*' on a side" },
		{ "a*=b**", "more than one '*' on a side" },
		{ "a*=b", "'*' on one side only: use it on both sides, or on neither" },
		{ "a=*b", "'*' on one side only: use it on both sides, or on neither" },
		{ "a=b=c", "more than one '=' (event names with '=' cannot be paired)" },
		{ "p:*=p:*", "PRE and POST are the same" },
	};
	struct st_pairer *p = st_pairer_new();
	char longspec[2 * ST_NAME_MAX + 8];
	const char *why;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = NULL;
		assert_int_equal(st_pairer_add_rule(p, good[i], &why), 0);
		assert_null(why);
	}
	assert_int_equal(st_pairer_nrules(p), i);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(st_pairer_add_rule(p, bad[i].spec, &why), -EINVAL);
		assert_non_null(why);
		assert_string_equal(why, bad[i].why);
	}
	assert_int_equal(st_pairer_add_rule(p, NULL, &why), -EINVAL);
	assert_int_equal(st_pairer_add_rule(p, "nope", NULL), -EINVAL);

	/* 511 bytes is the longest event name kept whole: one more cannot match. */
	memset(longspec, 'a', ST_NAME_MAX - 1);
	strcpy(longspec + ST_NAME_MAX - 1, "=b");
	assert_int_equal(st_pairer_add_rule(p, longspec, &why), 0);
	memset(longspec, 'a', ST_NAME_MAX);
	strcpy(longspec + ST_NAME_MAX, "=b");
	assert_int_equal(st_pairer_add_rule(p, longspec, &why), -EINVAL);
	assert_string_equal(why, "a side is longer than event names are kept (511 bytes)");
	/* The '*' does not count. */
	memset(longspec, 'a', ST_NAME_MAX);
	longspec[5] = '*';
	strcpy(longspec + ST_NAME_MAX, "=*b");
	assert_int_equal(st_pairer_add_rule(p, longspec, &why), 0);

	assert_int_equal(st_pairer_nrules(p), sizeof(good) / sizeof(good[0]) + 2);
	assert_int_equal(st_pairer_add_defaults(p), 0);
	assert_int_equal(st_pairer_nrules(p), sizeof(good) / sizeof(good[0]) + 6);
	assert_int_equal(st_pairer_set_limits(p, 0, ST_PAIR_MAX_BYTES), -EINVAL);
	assert_int_equal(st_pairer_set_limits(p, 10, ST_REC_MAX - 1), -EINVAL);
	assert_int_equal(st_pairer_set_limits(p, 10, ST_REC_MAX), 0);
	st_pairer_free(p);
	st_pairer_free(NULL);
}

static void test_default_rules(void **state)
{
	static const struct {
		const char *pre, *post, *name;
		unsigned rule;
	} cases[] = {
		{ "prehook:my.func", "posthook:my.func", "my.func", 0 },
		{ "builtins.input", "builtins.input/result", "builtins.input", 1 },
		{ "winreg.OpenKey", "winreg.OpenKey/result", "winreg.OpenKey", 2 },
		{ "sqlite3.connect", "sqlite3.connect/handle", "sqlite3.connect", 3 },
		{ "prehook:", "posthook:", "", 0 }, /* an empty NAME is still a NAME */
	};
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct evspec a = { .name = cases[i].pre, .pid = 7, .tid = 8, .frame = 0x1000,
				    .ts = 1000 + i, .id = (int64_t)i + 1, .shape = A_PRE };
		struct evspec b = a;

		b.name = cases[i].post;
		b.ts = 5000 + 10 * i;
		b.shape = A_POST;
		assert_int_equal(feed(p, &k, &a), 0);
		assert_int_equal(st_pairer_open_count(p), 1);
		assert_int_equal(feed(p, &k, &b), 1);
		assert_int_equal(st_pairer_open_count(p), 0);
		assert_pair(&k.s[i], cases[i].name, (int64_t)i + 1, 0, 0);
		assert_int_equal(k.s[i].rule, cases[i].rule);
		assert_int_equal(k.s[i].pid, 7);
		assert_int_equal(k.s[i].tid, 8);
		assert_int_equal(k.s[i].start_ns, 1000 + i);
		assert_int_equal(k.s[i].dur_ns, 5000 + 10 * i - 1000 - i);
	}

	/* Other events neither open nor close anything. */
	{
		static const char *const others[] = {
			"open", "os.system", "prehook", "posthook", "builtins.input/resul",
			"xbuiltins.input", "sqlite3.connect/handles", "builtins.input/handle",
		};
		for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
			struct evspec e = { .name = others[i], .pid = 7, .tid = 8, .frame = 0x1000,
					    .ts = 9000, .id = 99, .shape = A_POST };
			assert_int_equal(feed(p, &k, &e), 0);
		}
		assert_int_equal(st_pairer_open_count(p), 0);
	}
	sink_free(&k);
	st_pairer_free(p);
}

static void test_user_rules_and_precedence(void **state)
{
	struct st_pairer *p = st_pairer_new();
	struct sink k = { 0 };
	struct evspec e = { .pid = 1, .tid = 1, .frame = 0x10, .ts = 100, .shape = A_PRE };

	assert_non_null(p);
	assert_int_equal(st_pairer_add_rule(p, "prehook:*=done:*", NULL), 0); /* overrides */
	assert_int_equal(st_pairer_add_rule(p, "enter:*=exit:*", NULL), 0);
	assert_int_equal(st_pairer_add_rule(p, "*.start=*.stop", NULL), 0);
	assert_int_equal(st_pairer_add_rule(p, "begin.*=end.*", NULL), 0);
	assert_int_equal(st_pairer_add_rule(p, "a:*=b:*", NULL), 0);
	assert_int_equal(st_pairer_add_rule(p, "c:*=d:*", NULL), 0);
	assert_int_equal(st_pairer_add_rule(p, "call=ret", NULL), 0);
	assert_int_equal(st_pairer_add_rule(p, "*=*.done", NULL), 0);
	assert_int_equal(st_pairer_add_defaults(p), 0);

#define PRE(n, i) (e.name = (n), e.id = (i), e.shape = A_PRE, e.ts += 10, feed(p, &k, &e))
#define POST(n, i) (e.name = (n), e.id = (i), e.shape = A_POST, e.ts += 10, feed(p, &k, &e))
	assert_int_equal(PRE("enter:a", 1), 0);
	assert_int_equal(POST("exit:a", 1), 1);
	assert_pair(&k.s[0], "a", 1, 0, 0);
	assert_int_equal(k.s[0].rule, 1);

	assert_int_equal(PRE("job.start", 2), 0);
	assert_int_equal(POST("job.stop", 2), 1);
	assert_pair(&k.s[1], "job", 2, 0, 0);
	assert_int_equal(k.s[1].rule, 2);

	assert_int_equal(PRE("begin.x.y", 3), 0);
	assert_int_equal(POST("end.x.y", 3), 1);
	assert_pair(&k.s[2], "x.y", 3, 0, 0);

	/* Exact names: NAME is the PRE name. */
	assert_int_equal(PRE("call", 4), 0);
	assert_int_equal(POST("ret", 4), 1);
	assert_pair(&k.s[3], "call", 4, 0, 0);
	assert_int_equal(k.s[3].rule, 6);

	/* `*=*.done`: "task" opens; "task.done" matches both sides and is a POST. */
	assert_int_equal(PRE("task", 5), 0);
	assert_int_equal(st_pairer_open_count(p), 1);
	assert_int_equal(POST("task.done", 5), 1);
	assert_pair(&k.s[4], "task", 5, 0, 0);
	assert_int_equal(st_pairer_open_count(p), 0);
	assert_int_equal(POST("other.done", 6), 1);
	assert_int_equal(k.s[5].flags, ST_SPAN_NO_PRE);
	assert_string_equal(k.s[5].name, "other");
	assert_int_equal(st_pairer_open_count(p), 0);

	/* The rule is part of the key: a:x never pairs with d:x. */
	assert_int_equal(PRE("a:x", 7), 0);
	assert_int_equal(POST("d:x", 7), 1);
	assert_int_equal(k.s[6].flags, ST_SPAN_NO_PRE);
	assert_int_equal(k.s[6].rule, 5);
	assert_int_equal(st_pairer_open_count(p), 1);
	assert_int_equal(POST("b:x", 7), 1);
	assert_pair(&k.s[7], "x", 7, 0, 0);

	/* A user rule added first takes prehook: over the default one. */
	assert_int_equal(PRE("prehook:f", 8), 0);
	assert_int_equal(POST("posthook:f", 8), 1);
	assert_int_equal(k.s[8].flags, ST_SPAN_NO_PRE);
	assert_int_equal(k.s[8].rule, 8);
	assert_int_equal(POST("done:f", 8), 1);
	assert_pair(&k.s[9], "f", 8, 0, 0);
	assert_int_equal(k.s[9].rule, 0);
#undef PRE
#undef POST
	assert_int_equal(st_pairer_open_count(p), 0);
	sink_free(&k);
	st_pairer_free(p);
}

/* ---- matching ---------------------------------------------------------------------------- */

static void test_nesting(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };

	/* f calls g calls h. */
	assert_int_equal(pre(p, &k, "f", 1, 0x100, 1000, 1), 0);
	assert_int_equal(pre(p, &k, "g", 1, 0x200, 1100, 2), 0);
	assert_int_equal(pre(p, &k, "h", 1, 0x300, 1200, 3), 0);
	assert_int_equal(post(p, &k, "h", 1, 0x300, 1250, 3), 1);
	assert_int_equal(post(p, &k, "g", 1, 0x200, 1400, 2), 1);
	/* g again, after h: depth 1 again. */
	assert_int_equal(pre(p, &k, "g", 1, 0x200, 1500, 4), 0);
	assert_int_equal(post(p, &k, "g", 1, 0x200, 1600, 4), 1);
	assert_int_equal(post(p, &k, "f", 1, 0x100, 2000, 1), 1);
	assert_int_equal(k.n, 4);
	assert_pair(&k.s[0], "h", 3, 0, 2);
	assert_int_equal(k.s[0].dur_ns, 50);
	assert_pair(&k.s[1], "g", 2, 0, 1);
	assert_int_equal(k.s[1].dur_ns, 300);
	assert_pair(&k.s[2], "g", 4, 0, 1);
	assert_pair(&k.s[3], "f", 1, 0, 0);
	assert_int_equal(k.s[3].dur_ns, 1000);
	assert_int_equal(st_pairer_open_count(p), 0);
	/* Nothing open on the thread any more: a new call is outermost. */
	assert_int_equal(pre(p, &k, "z", 1, 0x100, 3000, 5), 0);
	assert_int_equal(post(p, &k, "z", 1, 0x100, 3001, 5), 1);
	assert_pair(&k.s[4], "z", 5, 0, 0);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_recursion(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	int i;

	/* With frames: each level its own frame, exact. */
	for (i = 0; i < 4; i++)
		assert_int_equal(pre(p, &k, "fact", 1, 0x100 * (uint64_t)(i + 1), 100 + i, i), 0);
	for (i = 3; i >= 0; i--)
		assert_int_equal(post(p, &k, "fact", 1, 0x100 * (uint64_t)(i + 1), 200 - i, i), 1);
	for (i = 0; i < 4; i++)
		assert_pair(&k.s[i], "fact", 3 - i, 0, (unsigned)(3 - i));

	/* Without frames: last in, first out, right for synchronous code but flagged while
	 * another call of the same key is open. */
	for (i = 0; i < 4; i++)
		assert_int_equal(pre(p, &k, "fact", 1, 0, 100 + i, 10 + i), 0);
	for (i = 3; i >= 0; i--)
		assert_int_equal(post(p, &k, "fact", 1, 0, 200 - i, 10 + i), 1);
	for (i = 0; i < 4; i++)
		assert_pair(&k.s[4 + i], "fact", 13 - i, i < 3 ? ST_SPAN_AMBIGUOUS : 0,
			    (unsigned)(3 - i));
	assert_int_equal(st_pairer_open_count(p), 0);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_threads(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };

	/* Thread 11 runs f calling g; thread 12 runs f meanwhile. */
	assert_int_equal(pre(p, &k, "f", 11, 0x1100, 10, 1), 0);
	assert_int_equal(pre(p, &k, "f", 12, 0x2100, 11, 2), 0);
	assert_int_equal(pre(p, &k, "g", 11, 0x1200, 12, 3), 0);
	assert_int_equal(post(p, &k, "f", 12, 0x2100, 13, 2), 1);
	assert_int_equal(pre(p, &k, "g", 12, 0x2100, 14, 4), 0);
	assert_int_equal(post(p, &k, "g", 11, 0x1200, 15, 3), 1);
	assert_int_equal(post(p, &k, "g", 12, 0x2100, 16, 4), 1);
	assert_int_equal(post(p, &k, "f", 11, 0x1100, 17, 1), 1);
	assert_pair(&k.s[0], "f", 2, 0, 0);
	assert_int_equal(k.s[0].tid, 12);
	assert_pair(&k.s[1], "g", 3, 0, 1);
	assert_int_equal(k.s[1].tid, 11);
	assert_pair(&k.s[2], "g", 4, 0, 0);
	assert_pair(&k.s[3], "f", 1, 0, 0);

	/* Without frames the stacks are per thread: still exact, one open per key. */
	assert_int_equal(pre(p, &k, "f", 11, 0, 20, 5), 0);
	assert_int_equal(pre(p, &k, "f", 12, 0, 21, 6), 0);
	assert_int_equal(post(p, &k, "f", 11, 0, 22, 5), 1);
	assert_int_equal(post(p, &k, "f", 12, 0, 23, 6), 1);
	assert_pair(&k.s[4], "f", 5, 0, 0);
	assert_pair(&k.s[5], "f", 6, 0, 0);

	/* Same frame address in two processes: two calls. */
	{
		struct evspec a = { .name = "prehook:f", .pid = 1, .tid = 1, .frame = 0x42,
				    .ts = 30, .id = 7, .shape = A_PRE };
		struct evspec b = a;

		b.pid = 2;
		b.tid = 2;
		b.id = 8;
		assert_int_equal(feed(p, &k, &a), 0);
		assert_int_equal(feed(p, &k, &b), 0);
		a.name = b.name = "posthook:f";
		a.shape = b.shape = A_POST;
		assert_int_equal(feed(p, &k, &b), 1);
		assert_int_equal(feed(p, &k, &a), 1);
		assert_pair(&k.s[6], "f", 8, 0, 0);
		assert_int_equal(k.s[6].pid, 2);
		assert_pair(&k.s[7], "f", 7, 0, 0);
		assert_int_equal(k.s[7].pid, 1);
	}

	/* A frame identifies the call even if its end is reported by another thread. */
	assert_int_equal(pre(p, &k, "f", 11, 0x77, 40, 9), 0);
	assert_int_equal(post(p, &k, "f", 12, 0x77, 45, 9), 1);
	assert_pair(&k.s[8], "f", 9, 0, 0);
	assert_int_equal(k.s[8].tid, 11);
	assert_int_equal(k.s[8].post.hdr->tid, 12);
	assert_int_equal(st_pairer_open_count(p), 0);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_exceptions(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	struct evspec e = { .name = "posthook:f", .pid = 100, .tid = 1, .frame = 0x100,
			    .ts = 50, .shape = A_NONE };
	struct st_cursor c;
	struct st_val val;

	/* The call raised; the posthook still came (finally) with what the app passed. */
	assert_int_equal(pre(p, &k, "f", 1, 0x100, 10, 1), 0);
	assert_int_equal(feed(p, &k, &e), 1);
	assert_int_equal(k.s[0].flags, 0);
	assert_int_equal(view_id(&k.s[0].pre), 1);
	st_cursor_init(&c, &k.s[0].post);
	assert_int_equal(st_value_next(&c, &val), 1);
	assert_int_equal(val.tag, ST_V_TUPLE);
	assert_int_equal(st_value_next(&c, &val), 1);
	assert_int_equal(val.tag, ST_V_NONE);
	assert_int_equal(k.s[0].dur_ns, 40);

	/*
	 * A posthook that does not come on error (Seagrass raising it after the call, not in a
	 * finally): g raised, f caught it. f still pairs by its frame; g stays open until its
	 * frame is reused by the next g, which closes it as unfinished.
	 */
	assert_int_equal(pre(p, &k, "f", 1, 0x100, 100, 2), 0);
	assert_int_equal(pre(p, &k, "g", 1, 0x200, 110, 3), 0);
	assert_int_equal(post(p, &k, "f", 1, 0x100, 130, 2), 1);
	assert_pair(&k.s[1], "f", 2, 0, 0);
	assert_int_equal(st_pairer_open_count(p), 1);
	assert_int_equal(pre(p, &k, "g", 1, 0x200, 140, 4), 1);
	assert_int_equal(k.s[2].flags, ST_SPAN_UNFINISHED);
	assert_int_equal(view_id(&k.s[2].pre), 3);
	assert_int_equal(post(p, &k, "g", 1, 0x200, 150, 4), 1);
	/* Nothing else is open on the thread now (f returned). */
	assert_pair(&k.s[3], "g", 4, ST_SPAN_AMBIGUOUS, 0);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_asyncio(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };

	/* Tasks A and B on one thread: preA preB postA postB, each in its coroutine frame. */
	assert_int_equal(pre(p, &k, "fetch", 1, 0xa000, 10, 1), 0);
	assert_int_equal(pre(p, &k, "fetch", 1, 0xb000, 20, 2), 0);
	assert_int_equal(post(p, &k, "fetch", 1, 0xa000, 30, 1), 1);
	assert_int_equal(post(p, &k, "fetch", 1, 0xb000, 45, 2), 1);
	/* Depth counts what is open on the thread, whichever task. */
	assert_pair(&k.s[0], "fetch", 1, 0, 0);
	assert_int_equal(k.s[0].dur_ns, 20);
	assert_pair(&k.s[1], "fetch", 2, 0, 1);
	assert_int_equal(k.s[1].dur_ns, 25);

	/* Without frames the guess is wrong and says so; the last one closed is sure. */
	assert_int_equal(pre(p, &k, "fetch", 1, 0, 10, 3), 0);
	assert_int_equal(pre(p, &k, "fetch", 1, 0, 20, 4), 0);
	assert_int_equal(post(p, &k, "fetch", 1, 0, 30, 3), 1);
	assert_int_equal(post(p, &k, "fetch", 1, 0, 45, 4), 1);
	assert_int_equal(k.s[2].flags, ST_SPAN_AMBIGUOUS);
	assert_int_equal(view_id(&k.s[2].pre), 4);
	assert_int_equal(view_id(&k.s[2].post), 3);
	assert_int_equal(k.s[3].flags, 0);
	sink_free(&k);
	st_pairer_free(p);
}

/* A pre with its call chain (callers of frame, innermost first). */
static size_t pre_chain(struct st_pairer *p, struct sink *k, const char *fn, uint64_t frame,
			int64_t id, const uint64_t *chain, unsigned nchain, bool cut)
{
	char name[64];
	struct evspec e = { .name = name, .pid = 100, .tid = 1, .frame = frame, .ts = 10 * id,
			    .id = id, .shape = A_PRE, .chain = chain, .nchain = nchain,
			    .cut = cut };

	snprintf(name, sizeof(name), "prehook:%s", fn);
	return feed(p, k, &e);
}

static void test_depth_from_call_chain(void **state)
{
	/* Three tasks resumed by one event loop (frames 0x500, 0x400); task 2 nests a call. */
	static const uint64_t loop[] = { 0x500, 0x400 };
	static const uint64_t in_b[] = { 0xb100, 0xb000, 0x500, 0x400 };
	static const uint64_t deep[ST_CHAIN_MAX] = { 0xb000 };
	struct st_pairer *p = new_default();
	struct sink k = { 0 };

	(void)state;
	assert_int_equal(pre_chain(p, &k, "top", 0xa000, 1, loop, 2, false), 0);
	assert_int_equal(pre_chain(p, &k, "top", 0xb000, 2, loop, 2, false), 0);
	assert_int_equal(pre_chain(p, &k, "top", 0xc000, 3, loop, 2, false), 0);
	/* task 2's own callee: its span and the raising frame's own open spans count */
	assert_int_equal(pre_chain(p, &k, "inner", 0xb200, 4, in_b, 4, false), 0);
	assert_int_equal(pre_chain(p, &k, "again", 0xb200, 5, in_b, 4, false), 0);
	/* a cut chain: every span open on the thread, as without a chain */
	assert_int_equal(pre_chain(p, &k, "cut", 0xe000, 6, deep, ST_CHAIN_MAX, true), 0);
	assert_int_equal(post(p, &k, "cut", 1, 0xe000, 100, 6), 1);
	assert_int_equal(post(p, &k, "again", 1, 0xb200, 100, 5), 1);
	assert_int_equal(post(p, &k, "inner", 1, 0xb200, 100, 4), 1);
	for (int64_t id = 1; id <= 3; id++)
		assert_int_equal(post(p, &k, "top", 1, (uint64_t)(0x9000 + id * 0x1000), 100, id), 1);
	assert_pair(&k.s[0], "cut", 6, 0, 5);
	assert_pair(&k.s[1], "again", 5, 0, 2);
	assert_pair(&k.s[2], "inner", 4, 0, 1);
	for (int i = 3; i < 6; i++)
		assert_pair(&k.s[i], "top", i - 2, 0, 0);
	assert_int_equal(st_pairer_open_count(p), 0);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_chain_tail_validated(void **state)
{
	static const uint64_t chain[2] = { 1, 2 };
	struct evspec e = { .name = "prehook:x", .pid = 1, .tid = 1, .frame = 9, .id = 1,
			    .shape = A_PRE, .chain = chain, .nchain = 2 };
	struct st_chain_tail t;
	struct st_view v = build(&e);

	(void)state;
	assert_true(v.has_chain && !v.chain_cut);
	assert_int_equal(v.nchain, 2);
	assert_int_equal(st_view_chain(&v, 1), 2);
	/* A count past the record, or past the limit, or an unknown flag: invalid. */
	memcpy(&t, rec.buf + rec.len - sizeof(t), sizeof(t));
	t.nchain = 3;
	memcpy(rec.buf + rec.len - sizeof(t), &t, sizeof(t));
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), -EINVAL);
	t.nchain = 2;
	t.flags = 2;
	memcpy(rec.buf + rec.len - sizeof(t), &t, sizeof(t));
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), -EINVAL);
	t.flags = 0;
	t.nchain = ST_CHAIN_MAX + 1;
	memcpy(rec.buf + rec.len - sizeof(t), &t, sizeof(t));
	assert_int_equal(st_decode_event(rec.buf, rec.len, &v), -EINVAL);
}

static void test_fork_copies_the_threads_open_spans(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	struct st_span sp;
	struct evspec e = { .name = "posthook:inner", .pid = 300, .tid = 300, .frame = 0x20,
			    .ts = 50, .id = 2, .shape = A_POST };

	(void)state;
	assert_int_equal(pre(p, &k, "outer", 1, 0x10, 10, 1), 0);
	assert_int_equal(pre(p, &k, "inner", 1, 0x20, 20, 2), 0);
	assert_int_equal(pre(p, &k, "other", 2, 0x30, 30, 3), 0);
	/* Thread 1 of pid 100 forks pid 300: its two calls go on in the child. */
	assert_int_equal(st_pairer_fork(p, 100, 1, 300, &sp), 0);
	assert_int_equal(st_pairer_open_count(p), 5);
	assert_int_equal(feed(p, &k, &e), 1);
	e.name = "posthook:outer";
	e.frame = 0x10;
	e.id = 1;
	e.ts = 60;
	assert_int_equal(feed(p, &k, &e), 1);
	assert_string_equal(k.s[0].name, "inner");
	assert_int_equal(k.s[0].flags, 0);
	assert_int_equal(k.s[0].pid, 300);
	assert_int_equal(k.s[0].tid, 300);
	assert_int_equal(k.s[0].depth, 1);
	assert_int_equal(view_id(&k.s[0].pre), 2);
	assert_int_equal(k.s[0].start_ns, 20);
	assert_int_equal(k.s[0].dur_ns, 30);
	assert_string_equal(k.s[1].name, "outer");
	assert_int_equal(k.s[1].depth, 0);
	assert_int_equal(k.s[1].pid, 300);
	/* The parent's own calls are still open and close as before. */
	assert_int_equal(st_pairer_open_count(p), 3);
	assert_int_equal(post(p, &k, "inner", 1, 0x20, 70, 2), 1);
	assert_int_equal(k.s[2].pid, 100);
	assert_int_equal(k.s[2].depth, 1);
	assert_int_equal(st_pairer_fork(p, 100, 1, 100, &sp), -EINVAL);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_mixed_frames(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };

	/* The pre's frame could not be read, the post's was: LIFO fallback. */
	assert_int_equal(pre(p, &k, "f", 1, 0, 10, 1), 0);
	assert_int_equal(post(p, &k, "f", 1, 0x100, 20, 1), 1);
	assert_pair(&k.s[0], "f", 1, 0, 0);

	/* And the other way round. */
	assert_int_equal(pre(p, &k, "f", 1, 0x100, 30, 2), 0);
	assert_int_equal(post(p, &k, "f", 1, 0, 40, 2), 1);
	assert_pair(&k.s[1], "f", 2, 0, 0);

	/* A post with a frame skips pres that have a (different) frame. */
	assert_int_equal(pre(p, &k, "f", 1, 0, 50, 3), 0);
	assert_int_equal(pre(p, &k, "f", 1, 0x300, 60, 4), 0);
	assert_int_equal(post(p, &k, "f", 1, 0x999, 70, 3), 1);
	assert_pair(&k.s[2], "f", 3, ST_SPAN_AMBIGUOUS, 0);
	assert_int_equal(post(p, &k, "f", 1, 0x999, 80, 5), 1); /* nothing without a frame left */
	assert_int_equal(k.s[3].flags, ST_SPAN_NO_PRE);
	assert_int_equal(post(p, &k, "f", 1, 0x300, 90, 4), 1);
	assert_pair(&k.s[4], "f", 4, 0, 1);
	assert_int_equal(st_pairer_open_count(p), 0);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_no_pre(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	struct evspec e = { .name = "builtins.input/result", .pid = 3, .tid = 4, .frame = 0x10,
			    .ts = 777, .id = 5, .shape = A_POST };

	/* Both started before tracing. */
	assert_int_equal(post(p, &k, "main", 9, 0x100, 500, 1), 1);
	assert_int_equal(feed(p, &k, &e), 1);
	assert_int_equal(k.s[0].flags, ST_SPAN_NO_PRE);
	assert_string_equal(k.s[0].name, "main");
	assert_null(k.s[0].pre.hdr);
	assert_int_equal(view_id(&k.s[0].post), 1);
	assert_int_equal(k.s[0].start_ns, 0);
	assert_int_equal(k.s[0].end_ns, 500);
	assert_int_equal(k.s[0].dur_ns, 0);
	assert_int_equal(k.s[0].depth, 0);
	assert_int_equal(k.s[0].pid, 100);
	assert_int_equal(k.s[0].tid, 9);
	assert_int_equal(k.s[1].flags, ST_SPAN_NO_PRE);
	assert_string_equal(k.s[1].name, "builtins.input");
	assert_int_equal(k.s[1].pid, 3);
	assert_int_equal(view_id(&k.s[1].post), 5);
	assert_int_equal(st_pairer_open_count(p), 0);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_drain(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	static const uint32_t pids[] = { 1, 2, 1, 3, 1, 2 };
	struct evspec e = { .name = "prehook:f", .tid = 9, .shape = A_PRE };
	struct st_span s;
	size_t i;

	for (i = 0; i < 6; i++) {
		e.pid = pids[i];
		e.frame = 0x100 * (i + 1);
		e.ts = 10 * (i + 1);
		e.id = (int64_t)i;
		assert_int_equal(feed(p, &k, &e), 0);
	}
	assert_int_equal(drain_all(p, &k, 2), 2);
	assert_int_equal(view_id(&k.s[0].pre), 1);
	assert_int_equal(view_id(&k.s[1].pre), 5);
	for (i = 0; i < 2; i++) {
		assert_int_equal(k.s[i].flags, ST_SPAN_UNFINISHED);
		assert_int_equal(k.s[i].pid, 2);
		assert_null(k.s[i].post.hdr);
		assert_int_equal(k.s[i].end_ns, 0);
		assert_int_equal(k.s[i].dur_ns, 0);
		assert_string_equal(k.s[i].name, "f");
	}
	assert_int_equal(k.s[1].start_ns, 60);

	/* One, then an event in between, then the rest: nothing lost or repeated. */
	assert_int_equal(st_pairer_drain(p, 1, &s), 1);
	sink_push(&k, &s);
	assert_int_equal(view_id(&s.pre), 0);
	e.pid = 1;
	e.frame = 0x900;
	e.id = 6;
	assert_int_equal(feed(p, &k, &e), 0);
	assert_int_equal(drain_all(p, &k, 1), 3);
	assert_int_equal(view_id(&k.s[3].pre), 2);
	assert_int_equal(view_id(&k.s[4].pre), 4);
	assert_int_equal(view_id(&k.s[5].pre), 6);
	/* The rest (pid 3), as at the end of a trace. */
	assert_int_equal(st_pairer_open_count(p), 1);
	assert_int_equal(drain_all(p, &k, 0), 1);
	assert_int_equal(view_id(&k.s[6].pre), 3);
	assert_int_equal(drain_all(p, &k, 0), 0);
	assert_int_equal(st_pairer_open_count(p), 0);
	/* A post of a drained call has no pre any more. */
	assert_int_equal(post(p, &k, "f", 9, 0x400, 100, 3), 1);
	assert_int_equal(k.s[7].flags, ST_SPAN_NO_PRE);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_replaced_frame(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };

	assert_int_equal(pre(p, &k, "f", 1, 0x100, 10, 1), 0);
	/* Only the close of the old one is emitted; the new one is open. */
	assert_int_equal(pre(p, &k, "f", 1, 0x100, 20, 2), 1);
	assert_int_equal(k.s[0].flags, ST_SPAN_UNFINISHED);
	assert_int_equal(view_id(&k.s[0].pre), 1);
	assert_int_equal(k.s[0].depth, 0);
	assert_int_equal(st_pairer_open_count(p), 1);
	/* Another NAME in the same frame is another key. */
	assert_int_equal(pre(p, &k, "g", 1, 0x100, 25, 3), 0);
	assert_int_equal(post(p, &k, "g", 1, 0x100, 26, 3), 1);
	assert_pair(&k.s[1], "g", 3, 0, 1);
	assert_int_equal(post(p, &k, "f", 1, 0x100, 30, 2), 1);
	/* The replaced one was gone: the new one is outermost. */
	assert_pair(&k.s[2], "f", 2, ST_SPAN_AMBIGUOUS, 0);
	assert_int_equal(st_pairer_open_count(p), 0);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_evict_count(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	int i;

	assert_int_equal(st_pairer_set_limits(p, 3, ST_PAIR_MAX_BYTES), 0);
	for (i = 1; i <= 3; i++)
		assert_int_equal(pre(p, &k, "f", 1, 0x100 * (uint64_t)i, (uint64_t)i, i), 0);
	assert_int_equal(pre(p, &k, "f", 1, 0x400, 4, 4), 1);
	assert_int_equal(pre(p, &k, "f", 2, 0x500, 5, 5), 1);
	assert_int_equal(st_pairer_open_count(p), 3);
	assert_int_equal(k.s[0].flags, ST_SPAN_UNFINISHED);
	assert_int_equal(view_id(&k.s[0].pre), 1);
	assert_int_equal(view_id(&k.s[1].pre), 2);
	assert_int_equal(k.s[1].depth, 1);
	/* The evicted ones' posts have no pre; the others pair. */
	assert_int_equal(post(p, &k, "f", 2, 0x500, 9, 5), 1);
	assert_pair(&k.s[2], "f", 5, 0, 0);
	assert_int_equal(post(p, &k, "f", 1, 0x100, 10, 1), 1);
	assert_int_equal(k.s[3].flags, ST_SPAN_NO_PRE);
	assert_int_equal(post(p, &k, "f", 1, 0x400, 11, 4), 1);
	/* Its depth counts the one evicted to make room: that call was still running. */
	assert_pair(&k.s[4], "f", 4, 0, 3);
	assert_int_equal(drain_all(p, &k, 0), 1);
	assert_int_equal(view_id(&k.s[5].pre), 3);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_evict_default_limit(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	uint64_t i, n = ST_PAIR_MAX_OPEN + 10;

	for (i = 0; i < n; i++)
		pre(p, &k, "f", 1 + (uint32_t)(i % 7), 16 * (i + 1), i + 1, (int64_t)i);
	assert_int_equal(k.n, 10);
	assert_int_equal(st_pairer_open_count(p), ST_PAIR_MAX_OPEN);
	for (i = 0; i < 10; i++) {
		assert_int_equal(k.s[i].flags, ST_SPAN_UNFINISHED);
		assert_int_equal(view_id(&k.s[i].pre), (int64_t)i);
	}
	/* Close the rest in reverse, checking each pair. */
	for (i = n; i-- > 10;) {
		assert_int_equal(post(p, &k, "f", 1 + (uint32_t)(i % 7), 16 * (i + 1), n + i, (int64_t)i),
				 1);
		assert_int_equal(k.s[k.n - 1].flags, 0);
		assert_int_equal(view_id(&k.s[k.n - 1].pre), (int64_t)i);
		assert_int_equal(view_id(&k.s[k.n - 1].post), (int64_t)i);
		st_span_release(&k.s[--k.n]);
	}
	assert_int_equal(st_pairer_open_count(p), 0);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_evict_bytes(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	struct evspec e = { .name = "prehook:big", .pid = 1, .tid = 1, .shape = A_PAD };
	int i;

	assert_int_equal(st_pairer_set_limits(p, 1000, ST_REC_MAX), 0);
	/* Small ones, then big ones: one big one evicts several small ones at once. */
	for (i = 0; i < 3; i++)
		assert_int_equal(pre(p, &k, "s", 1, 0x100 * (uint64_t)(i + 1), (uint64_t)i, i), 0);
	e.pad = 15000;
	for (i = 0; i < 2; i++) {
		e.frame = 0x1000 * (uint64_t)(i + 1);
		e.id = 10 + i;
		assert_int_equal(feed(p, &k, &e), 0);
	}
	assert_int_equal(st_pairer_open_count(p), 5);
	/* A third big one does not fit: the small ones and the first big one go, in order. */
	e.frame = 0x3000;
	e.id = 12;
	assert_int_equal(feed(p, &k, &e), 4);
	for (i = 0; i < 3; i++)
		assert_int_equal(view_id(&k.s[i].pre), i);
	assert_int_equal(view_id(&k.s[3].pre), 10);
	for (i = 0; i < 4; i++)
		assert_int_equal(k.s[i].flags, ST_SPAN_UNFINISHED);
	assert_int_equal(st_pairer_open_count(p), 2);
	sink_free(&k);
	st_pairer_free(p);
}

/* Several spans from one event; spans left uncollected stay in order, or are freed. */
static void test_queue(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	struct evspec big = { .name = "prehook:big", .pid = 100, .tid = 1, .frame = 0x9000,
			      .ts = 10, .id = 10, .shape = A_PAD, .pad = 32600 };
	struct evspec nopre = { .name = "posthook:x", .pid = 100, .tid = 1, .frame = 0x1,
				.ts = 11, .id = 11, .shape = A_POST };
	struct st_span s;
	struct st_view v;
	int i;

	assert_int_equal(st_pairer_set_limits(p, 100, ST_REC_MAX), 0);
	for (i = 1; i <= 3; i++)
		assert_int_equal(pre(p, &k, "f", 1, 0x100 * (uint64_t)i, (uint64_t)i, i), 0);
	/* The big one evicts the three: the event gives the first... */
	v = build(&big);
	assert_int_equal(st_pairer_event(p, &v, &s), 1);
	assert_int_equal(view_id(&s.pre), 1);
	st_span_release(&s);
	assert_null(s.owned);
	st_span_release(&s); /* a released span is zeroed: releasing again is fine */
	/* ...and, if the caller feeds on without st_pairer_next(), the queue keeps the order. */
	v = build(&nopre);
	assert_int_equal(st_pairer_event(p, &v, &s), 1);
	memset(rec.buf, 0x5a, sizeof(rec.buf));
	sink_push(&k, &s);
	while (st_pairer_next(p, &s) == 1)
		sink_push(&k, &s);
	assert_int_equal(k.n, 3);
	assert_int_equal(view_id(&k.s[0].pre), 2);
	assert_int_equal(view_id(&k.s[1].pre), 3);
	assert_int_equal(k.s[2].flags, ST_SPAN_NO_PRE);
	assert_int_equal(view_id(&k.s[2].post), 11);
	assert_int_equal(st_pairer_open_count(p), 1);

	/* Lowered limits apply from the next pre; leave spans queued and open for
	 * st_pairer_free() (ASan checks for leaks). */
	assert_int_equal(st_pairer_set_limits(p, 3, ST_PAIR_MAX_BYTES), 0);
	for (i = 4; i <= 5; i++)
		assert_int_equal(pre(p, &k, "f", 1, 0x100 * (uint64_t)i, (uint64_t)i, i), 0);
	assert_int_equal(st_pairer_set_limits(p, 1, ST_PAIR_MAX_BYTES), 0);
	assert_int_equal(st_pairer_open_count(p), 3);
	{
		struct evspec e = { .name = "prehook:f", .pid = 100, .tid = 1, .frame = 0x600,
				    .ts = 6, .id = 6, .shape = A_PRE };
		v = build(&e);
	}
	assert_int_equal(st_pairer_event(p, &v, &s), 1);
	assert_int_equal(view_id(&s.pre), 10);
	assert_int_equal(st_pairer_open_count(p), 1);
	st_span_release(&s);
	sink_free(&k);
	st_pairer_free(p);
}

static void test_ignored(void **state)
{
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	struct evspec e = { .name = "prehook:a_very_long_name_cut_by_the_probe", .pid = 1,
			    .tid = 1, .frame = 0x10, .ts = 1, .id = 1, .shape = A_PRE,
			    .flags = ST_EF_NAME_TRUNC };
	struct st_pairer *empty = st_pairer_new();

	/* A cut name does not give a reliable NAME. */
	assert_int_equal(feed(p, &k, &e), 0);
	e.name = "posthook:a_very_long_name_cut_by_the_probe";
	assert_int_equal(feed(p, &k, &e), 0);
	assert_int_equal(st_pairer_open_count(p), 0);
	/* A pairer without rules pairs nothing. */
	assert_non_null(empty);
	e.flags = 0;
	e.name = "prehook:f";
	assert_int_equal(feed(empty, &k, &e), 0);
	assert_int_equal(st_pairer_open_count(empty), 0);
	assert_int_equal(st_pairer_drain(empty, 0, &(struct st_span){ 0 }), 0);
	st_pairer_free(empty);
	sink_free(&k);
	st_pairer_free(p);
}

/* ---- randomized -------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

#define R_PROCS 3
#define R_THREADS 4 /* per process */
#define R_TASKS 3   /* coroutines per thread */
#define R_DEPTH 12
#define R_CALLS 6000

static const char *const r_names[] = { "f", "g", "h", "mod.Class.method" };

struct r_call {
	uint32_t pid, tid;
	uint64_t frame;
	unsigned name, depth;
	bool open, spanned;
};

struct r_task {
	int64_t stack[R_DEPTH]; /* call ids */
	unsigned n;
};

struct r_world {
	struct r_call calls[R_CALLS];
	struct r_task tasks[R_PROCS][R_THREADS][R_TASKS];
	unsigned open_on_thread[R_PROCS][R_THREADS];
	/* Frames are reused once free, as the interpreter does. */
	uint64_t free_frames[R_PROCS][R_CALLS];
	unsigned nfree[R_PROCS];
	uint64_t next_frame;
	int64_t ncalls;
	uint64_t ts;
};

static void r_check_span(struct r_world *w, const struct st_span *s, unsigned want_flags)
{
	int64_t id = view_id(&s->pre);
	struct r_call *c;

	assert_true(id >= 0 && id < w->ncalls);
	c = &w->calls[id];
	assert_false(c->spanned);
	c->spanned = true;
	assert_int_equal(s->flags, want_flags);
	if (!(want_flags & ST_SPAN_UNFINISHED))
		assert_int_equal(view_id(&s->post), id);
	assert_string_equal(s->name, r_names[c->name]);
	assert_int_equal(s->pid, c->pid);
	assert_int_equal(s->tid, c->tid);
	assert_int_equal(s->depth, c->depth);
}

/*
 * Interleaved calls across processes, threads, and coroutines of a thread, each call in its
 * own frame (reused after the call ends). With frames every span must pair exactly.
 */
static void test_random_frames(void **state)
{
	struct r_world *w = calloc(1, sizeof(*w));
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	unsigned step, closed = 0;

	assert_non_null(w);
	rng_state = 0x9e3779b97f4a7c15ULL;
	w->next_frame = 0x7f0000001000ULL;
	for (step = 0; closed < R_CALLS; step++) {
		unsigned pi = rnd(R_PROCS), ti = rnd(R_THREADS), ki = rnd(R_TASKS);
		struct r_task *t = &w->tasks[pi][ti][ki];
		uint32_t pid = 1000 + pi, tid = pid * 10 + ti;
		bool start = t->n == 0 || (t->n < R_DEPTH && w->ncalls < R_CALLS && rnd(2));
		char name[64];
		struct evspec e = { .name = name, .pid = pid, .tid = tid, .ts = ++w->ts };

		if (start && w->ncalls < R_CALLS) {
			int64_t id = w->ncalls++;
			struct r_call *c = &w->calls[id];

			c->pid = pid;
			c->tid = tid;
			c->name = rnd(4);
			c->depth = w->open_on_thread[pi][ti]++;
			c->frame = w->nfree[pi] ? w->free_frames[pi][--w->nfree[pi]]
						: (w->next_frame += 0x40);
			c->open = true;
			t->stack[t->n++] = id;
			snprintf(name, sizeof(name), "prehook:%s", r_names[c->name]);
			e.frame = c->frame;
			e.id = id;
			e.shape = A_PRE;
			assert_int_equal(feed(p, &k, &e), 0);
		} else if (t->n) {
			int64_t id = t->stack[--t->n];
			struct r_call *c = &w->calls[id];

			snprintf(name, sizeof(name), "posthook:%s", r_names[c->name]);
			e.frame = c->frame;
			e.id = id;
			e.shape = A_POST;
			assert_int_equal(feed(p, &k, &e), 1);
			r_check_span(w, &k.s[k.n - 1], 0);
			st_span_release(&k.s[--k.n]);
			c->open = false;
			w->open_on_thread[pi][ti]--;
			w->free_frames[pi][w->nfree[pi]++] = c->frame;
			closed++;
		}
		/* Noise: events that are not pairs. */
		if (!rnd(8)) {
			e.name = "os.listdir";
			e.frame = 0;
			e.shape = A_POST;
			assert_int_equal(feed(p, &k, &e), 0);
		}
	}
	assert_int_equal(w->ncalls, R_CALLS);
	assert_int_equal(st_pairer_open_count(p), 0);
	for (int64_t i = 0; i < w->ncalls; i++)
		assert_true(w->calls[i].spanned);
	sink_free(&k);
	st_pairer_free(p);
	free(w);
}

/*
 * Synchronous threads (one stack each) without frames: LIFO pairs right; a span is flagged
 * exactly when another call of its key was open on its thread.
 */
static void test_random_sync_no_frames(void **state)
{
	struct r_world *w = calloc(1, sizeof(*w));
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	unsigned closed = 0, flagged = 0;

	assert_non_null(w);
	rng_state = 0x0123456789abcdefULL;
	while (closed < R_CALLS) {
		unsigned pi = rnd(R_PROCS), ti = rnd(R_THREADS);
		struct r_task *t = &w->tasks[pi][ti][0];
		uint32_t pid = 1000 + pi, tid = pid * 10 + ti;
		bool start = t->n == 0 || (t->n < R_DEPTH && w->ncalls < R_CALLS && rnd(2));
		char name[64];
		struct evspec e = { .name = name, .pid = pid, .tid = tid, .ts = ++w->ts };

		if (start && w->ncalls < R_CALLS) {
			int64_t id = w->ncalls++;
			struct r_call *c = &w->calls[id];

			c->pid = pid;
			c->tid = tid;
			c->name = rnd(2); /* few names: recursion is common */
			c->depth = t->n;
			c->open = true;
			t->stack[t->n++] = id;
			snprintf(name, sizeof(name), "prehook:%s", r_names[c->name]);
			e.id = id;
			e.shape = A_PRE;
			assert_int_equal(feed(p, &k, &e), 0);
		} else if (t->n) {
			int64_t id = t->stack[--t->n];
			struct r_call *c = &w->calls[id];
			unsigned same = 0;

			for (unsigned i = 0; i < t->n; i++)
				same += w->calls[t->stack[i]].name == c->name;
			snprintf(name, sizeof(name), "posthook:%s", r_names[c->name]);
			e.id = id;
			e.shape = A_POST;
			assert_int_equal(feed(p, &k, &e), 1);
			r_check_span(w, &k.s[k.n - 1], same ? ST_SPAN_AMBIGUOUS : 0);
			flagged += same != 0;
			st_span_release(&k.s[--k.n]);
			c->open = false;
			closed++;
		}
	}
	assert_true(flagged > 0 && flagged < R_CALLS);
	assert_int_equal(st_pairer_open_count(p), 0);
	sink_free(&k);
	st_pairer_free(p);
	free(w);
}

/*
 * A small limit, calls whose posthook never comes, tracing that starts late: whatever
 * happens, every pre and every post shows up in exactly one span, and a span with both
 * carries one call.
 */
static void test_random_nothing_lost(void **state)
{
	struct r_world *w = calloc(1, sizeof(*w));
	struct st_pairer *p = new_default();
	struct sink k = { 0 };
	uint8_t *pre_seen = calloc(R_CALLS, 1), *post_seen = calloc(R_CALLS, 1);
	uint8_t *pre_fed = calloc(R_CALLS, 1), *post_fed = calloc(R_CALLS, 1);
	size_t j, nflag[8] = { 0 };
	int64_t i;

	assert_non_null(w);
	assert_true(pre_seen && post_seen && pre_fed && post_fed);
	assert_int_equal(st_pairer_set_limits(p, 48, ST_PAIR_MAX_BYTES), 0);
	rng_state = 0xfeedfacecafebeefULL;
	w->next_frame = 0x1000;
	while (w->ncalls < R_CALLS) {
		unsigned pi = rnd(R_PROCS), ti = rnd(R_THREADS), ki = rnd(R_TASKS);
		struct r_task *t = &w->tasks[pi][ti][ki];
		uint32_t pid = 1000 + pi, tid = pid * 10 + ti;
		bool start = t->n == 0 || (t->n < R_DEPTH && rnd(2));
		char name[64];
		struct evspec e = { .name = name, .pid = pid, .tid = tid, .ts = ++w->ts };

		if (start) {
			int64_t id = w->ncalls++;
			struct r_call *c = &w->calls[id];

			c->name = rnd(4);
			c->frame = w->nfree[pi] ? w->free_frames[pi][--w->nfree[pi]]
						: (w->next_frame += 0x40);
			t->stack[t->n++] = id;
			/* The first calls started before tracing: no pre. */
			if (id < 200)
				continue;
			snprintf(name, sizeof(name), "prehook:%s", r_names[c->name]);
			e.frame = c->frame;
			e.id = id;
			e.shape = A_PRE;
			pre_fed[id] = 1;
			feed(p, &k, &e);
		} else {
			int64_t id = t->stack[--t->n];
			struct r_call *c = &w->calls[id];

			w->free_frames[pi][w->nfree[pi]++] = c->frame;
			if (!rnd(10))
				continue; /* raised: no posthook */
			snprintf(name, sizeof(name), "posthook:%s", r_names[c->name]);
			e.frame = c->frame;
			e.id = id;
			e.shape = A_POST;
			post_fed[id] = 1;
			assert_int_equal(feed(p, &k, &e), 1);
		}
	}
	/* Process 1000 exits, then the trace ends. */
	j = k.n;
	assert_true(drain_all(p, &k, 1000) > 0);
	for (; j < k.n; j++) {
		assert_int_equal(k.s[j].pid, 1000);
		assert_int_equal(k.s[j].flags & ST_SPAN_UNFINISHED, ST_SPAN_UNFINISHED);
	}
	assert_true(drain_all(p, &k, 0) > 0);
	assert_int_equal(st_pairer_open_count(p), 0);
	for (j = 0; j < k.n; j++) {
		const struct st_span *s = &k.s[j];
		int64_t a = s->flags & ST_SPAN_NO_PRE ? -1 : view_id(&s->pre);
		int64_t b = s->flags & ST_SPAN_UNFINISHED ? -1 : view_id(&s->post);

		assert_false((s->flags & ST_SPAN_NO_PRE) && (s->flags & ST_SPAN_UNFINISHED));
		if (a >= 0) {
			assert_false(pre_seen[a]);
			pre_seen[a] = 1;
		}
		if (b >= 0) {
			assert_false(post_seen[b]);
			post_seen[b] = 1;
		}
		if (a >= 0 && b >= 0)
			assert_int_equal(a, b);
		nflag[s->flags & 7]++;
	}
	/* Every path was taken: paired, no pre, evicted or drained, replaced frame. */
	assert_true(nflag[0] > 0);
	assert_true(nflag[ST_SPAN_NO_PRE] > 0);
	assert_true(nflag[ST_SPAN_UNFINISHED] > 0);
	assert_true(nflag[ST_SPAN_AMBIGUOUS] > 0);
	assert_true(nflag[ST_SPAN_AMBIGUOUS | ST_SPAN_UNFINISHED] > 0);
	for (i = 0; i < R_CALLS; i++) {
		assert_int_equal(pre_seen[i], pre_fed[i]);
		assert_int_equal(post_seen[i], post_fed[i]);
	}
	sink_free(&k);
	st_pairer_free(p);
	free(pre_seen);
	free(post_seen);
	free(pre_fed);
	free(post_fed);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_specs),
		cmocka_unit_test(test_default_rules),
		cmocka_unit_test(test_user_rules_and_precedence),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_exceptions),
		cmocka_unit_test(test_asyncio),
		cmocka_unit_test(test_depth_from_call_chain),
		cmocka_unit_test(test_chain_tail_validated),
		cmocka_unit_test(test_fork_copies_the_threads_open_spans),
		cmocka_unit_test(test_mixed_frames),
		cmocka_unit_test(test_no_pre),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_replaced_frame),
		cmocka_unit_test(test_evict_count),
		cmocka_unit_test(test_evict_default_limit),
		cmocka_unit_test(test_evict_bytes),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_random_frames),
		cmocka_unit_test(test_random_sync_no_frames),
		cmocka_unit_test(test_random_nothing_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
